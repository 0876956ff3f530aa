//! Runs the `scim2 test` compliance suite (PyPI `scim2-cli`, which drives `scim2-tester`)
//! against the demo server.
//!
//! The `scim2` binary comes from `GATEHOUSE_SCIM2` or `PATH`; `scripts/test` installs it.

use std::path::PathBuf;
use std::process::Command;

use gatehouse_tests::{ACME_TOKEN, DemoServer, GLOBEX_TOKEN};

fn scim2_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("GATEHOUSE_SCIM2") {
        let p = PathBuf::from(p);
        assert!(
            p.is_file(),
            "GATEHOUSE_SCIM2={} is not a file; run scripts/test, which installs scim2-cli",
            p.display()
        );
        return p;
    }
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("scim2"))
            .find(|candidate| candidate.is_file())
    });
    match on_path {
        Some(p) => p,
        None => panic!(
            "the scim2 command (PyPI scim2-cli) was not found: set GATEHOUSE_SCIM2 or run \
             scripts/test, which installs it into .venv"
        ),
    }
}

/// Runs `scim2 --url URL --header "Authorization: Bearer TOKEN" test` and checks that it
/// exits 0 and that every check it reports is `SUCCESS`.
fn run_compliance_suite(token: &str) {
    let server = DemoServer::start();
    let output = Command::new(scim2_binary())
        .arg("--url")
        .arg(server.scim_url())
        .arg("--header")
        .arg(format!("Authorization: Bearer {token}"))
        .arg("test")
        .env("NO_COLOR", "1")
        .output();
    let output = match output {
        Ok(o) => o,
        Err(e) => panic!("cannot run scim2: {e}"),
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);

    // Every result is one unindented line "STATUS check_name"; the reason follows indented.
    let results: Vec<&str> = stdout
        .lines()
        .filter(|l| !l.starts_with(' ') && !l.is_empty() && !l.starts_with("Performing"))
        .collect();
    let failures: Vec<&str> = results
        .iter()
        .copied()
        .filter(|l| !l.starts_with("SUCCESS "))
        .collect();

    assert!(
        stdout.contains("Performing a SCIM compliance check"),
        "scim2 test did not run:\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(
        results.len() > 20,
        "scim2 test reported only {} checks:\n{stdout}",
        results.len()
    );
    assert!(
        failures.is_empty(),
        "scim2 test reported {} failing checks:\n{}\n\nfull output:\n{stdout}\nstderr:\n{stderr}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(
        output.status.code(),
        Some(0),
        "scim2 test exit status\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
}

#[test]
fn scim2_test_passes_against_acme_directory() {
    run_compliance_suite(ACME_TOKEN);
}

#[test]
fn scim2_test_passes_against_globex_directory_with_prehashed_token() {
    run_compliance_suite(GLOBEX_TOKEN);
}
