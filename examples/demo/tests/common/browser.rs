//! Headless Chromium driven by playwright-core: the scripts in `tests/browser` take a
//! scenario (a JSON file) and print what the browser saw as one `RESULT {json}` line.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::Value;

/// Where the tests leave their artifacts: `target/test-artifacts` (or under
/// `CARGO_TARGET_DIR`).
pub fn artifacts_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || {
            [env!("CARGO_MANIFEST_DIR"), "..", "..", "target"]
                .iter()
                .collect()
        },
        PathBuf::from,
    );
    let dir = target.join("test-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir.canonicalize().unwrap()
}

/// Runs `tests/browser/{script}` with `scenario` (plus the Chromium binary) and returns what
/// the browser saw. A missing Chromium, `node` or playwright-core fails the test.
pub async fn browse(script: &str, mut scenario: Value) -> Value {
    let chromium =
        std::env::var("GATEHOUSE_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        std::path::Path::new(&chromium).is_file(),
        "Chromium is not installed at {chromium}: run scripts/setup (the Debian package \
         chromium of scripts/deps/apt.txt) or set GATEHOUSE_CHROMIUM"
    );
    let npm: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "..",
        "..",
        "scripts",
        "deps",
        "npm",
    ]
    .iter()
    .collect();
    assert!(
        npm.join("node_modules/playwright-core/package.json")
            .is_file(),
        "the playwright-core npm package is not installed in {}: run scripts/setup",
        npm.display()
    );
    scenario["chromium"] = chromium.into();
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), scenario.to_string()).unwrap();
    let script: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests", "browser", script]
        .iter()
        .collect();
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(&script)
            .arg(file.path())
            .env("GATEHOUSE_NPM_DIR", npm)
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output()
    })
    .await
    .unwrap()
    .expect("cannot start node (install Node.js, see scripts/deps/apt.txt)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let result = stdout
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .unwrap_or_else(|| panic!("the browser script printed no result: {stdout}"));
    let result: Value = serde_json::from_str(result).unwrap();
    assert!(
        result.get("error").is_none(),
        "the browser failed after the steps {}: {}",
        result["steps"],
        result["error"].as_str().unwrap_or_default()
    );
    assert!(output.status.success(), "{result}");
    result
}

/// The width and height of a PNG file, after checking its signature and that its first
/// chunk is the header.
pub fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert!(bytes.len() > 24, "{} bytes", bytes.len());
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    assert_eq!(&bytes[12..16], b"IHDR");
    let word =
        |at: usize| u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    (word(16), word(20))
}
