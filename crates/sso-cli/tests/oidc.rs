//! End-to-end tests of `gatehouse oidc`: exit codes, stdout and stderr. Keys and tokens are
//! made per run; `discover` runs against a small HTTP server in the test.

use std::io::{Read as _, Write as _};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use oidc_rp::jws::sign_compact;
use oidc_rp::{Algorithm, Jwk};
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use serde_json::{Value, json};

const ISS: &str = "https://op.example.com";
const NOW: &str = "2027-01-15T08:00:00Z";
const NOW_UNIX: i64 = 1_800_000_000;

struct Fixture {
    dir: PathBuf,
    key: PKey<Private>,
}

impl Fixture {
    fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("gatehouse-cli-oidc-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let key = PKey::from_rsa(Rsa::generate(2048).expect("rsa")).expect("pkey");
        let public =
            PKey::public_key_from_der(&key.public_key_to_der().expect("der")).expect("public");
        let jwk = Jwk::from_public_key(&public, Some("k1"), Some(Algorithm::RS256)).expect("jwk");
        std::fs::write(dir.join("jwks.json"), json!({ "keys": [jwk] }).to_string())
            .expect("write jwks");
        Self { dir, key }
    }

    fn jwks(&self) -> String {
        self.dir.join("jwks.json").to_string_lossy().into_owned()
    }

    fn token(&self, name: &str, claims: &Value) -> String {
        let token = sign_compact(Algorithm::RS256, &self.key, Some("k1"), claims).expect("sign");
        let path = self.dir.join(name);
        std::fs::write(&path, format!("{token}\n")).expect("write token");
        path.to_string_lossy().into_owned()
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn claims() -> Value {
    json!({
        "iss": ISS,
        "sub": "user-42",
        "aud": "client-1",
        "iat": NOW_UNIX - 30,
        "exp": NOW_UNIX + 300,
        "nonce": "n-1",
        "email": "user42@example.com",
        "email_verified": true,
    })
}

fn gatehouse(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run gatehouse");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write stdin");
    } else {
        drop(child.stdin.take());
    }
    child.wait_with_output().expect("gatehouse output")
}

fn verify(f: &Fixture, token: &str, extra: &[&str]) -> Output {
    let jwks = f.jwks();
    let mut args = vec![
        "oidc",
        "verify-id-token",
        "--jwks",
        &jwks,
        "--issuer",
        ISS,
        "--client-id",
        "client-1",
        "--now",
        NOW,
    ];
    args.extend_from_slice(extra);
    args.push(token);
    gatehouse(&args, None)
}

fn single_stderr_line(o: &Output) -> String {
    let text = String::from_utf8_lossy(&o.stderr).into_owned();
    let lines: Vec<_> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "expected one stderr line, got: {text:?}");
    lines[0].to_owned()
}

#[test]
fn now_constant_is_the_documented_instant() {
    let parsed = time::OffsetDateTime::parse(NOW, &time::format_description::well_known::Rfc3339)
        .expect("rfc3339");
    assert_eq!(parsed.unix_timestamp(), NOW_UNIX);
}

#[test]
fn verify_id_token_prints_the_claims() {
    let f = Fixture::new("ok");
    let token = f.token("t", &claims());
    let o = verify(&f, &token, &["--nonce", "n-1"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let out: Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(out, claims());
}

#[test]
fn verify_id_token_reads_stdin() {
    let f = Fixture::new("stdin");
    let path = f.token("t", &claims());
    let token = std::fs::read_to_string(path).expect("token");
    let jwks = f.jwks();
    let o = gatehouse(
        &[
            "oidc",
            "verify-id-token",
            "--jwks",
            &jwks,
            "--issuer",
            ISS,
            "--client-id",
            "client-1",
            "--now",
            NOW,
            "-",
        ],
        Some(&token),
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let out: Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(out["sub"], "user-42");
}

#[test]
fn verify_id_token_rejections_name_the_check() {
    let f = Fixture::new("reject");
    let ok = f.token("ok", &claims());
    let mut wrong_iss = claims();
    wrong_iss["iss"] = json!("https://evil.example");
    let wrong_iss = f.token("iss", &wrong_iss);
    let mut expired = claims();
    expired["exp"] = json!(NOW_UNIX - 120);
    let expired = f.token("expired", &expired);
    let cases: Vec<(String, Vec<&str>, &str)> = vec![
        (
            wrong_iss,
            vec![],
            "issuer mismatch: expected \"https://op.example.com\", token has \"https://evil.example\"",
        ),
        (ok.clone(), vec!["--nonce", "other"], "nonce mismatch"),
        (
            ok.clone(),
            vec!["--max-age", "60"],
            "claim \"auth_time\" is missing",
        ),
        (
            expired,
            vec![],
            "token expired: exp 1799999880, now 1800000000",
        ),
    ];
    for (token, extra, expected) in cases {
        let o = verify(&f, &token, &extra);
        assert_eq!(o.status.code(), Some(1), "{expected}");
        let line = single_stderr_line(&o);
        assert!(line.starts_with("ID token rejected: "), "{line}");
        assert!(line.contains(expected), "{line} should contain {expected}");
        assert!(o.stdout.is_empty());
    }

    let o = verify(&f, &ok, &[]);
    assert_eq!(o.status.code(), Some(0));
    let o = gatehouse(
        &[
            "oidc",
            "verify-id-token",
            "--jwks",
            &f.jwks(),
            "--issuer",
            ISS,
            "--client-id",
            "other",
            "--now",
            NOW,
            &ok,
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(single_stderr_line(&o).contains("client id not in aud"));

    let garbage = f.dir.join("garbage");
    std::fs::write(&garbage, "a.b").expect("write");
    let o = verify(&f, &garbage.to_string_lossy(), &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(single_stderr_line(&o).contains("token has 2 segments"));
}

#[test]
fn verify_id_token_bad_usage_exits_2() {
    let f = Fixture::new("usage");
    let token = f.token("t", &claims());
    let o = gatehouse(
        &[
            "oidc",
            "verify-id-token",
            "--issuer",
            ISS,
            "--client-id",
            "c",
            &token,
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(2), "missing --jwks");
    let o = verify(&f, &token, &["--now", "yesterday"]);
    assert_eq!(o.status.code(), Some(2), "bad --now");
}

/// Serves the routes (path to JSON body) that `routes` builds for the port, on loopback,
/// until the test process ends; returns the port.
fn serve(routes: impl FnOnce(u16) -> Vec<(String, String)>) -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let routes = routes(port);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 8192];
            let n = stream.read(&mut buf).unwrap_or(0);
            let head = String::from_utf8_lossy(&buf[..n]).into_owned();
            let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
            let response = match routes.iter().find(|(p, _)| *p == path) {
                Some((_, body)) => format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                ),
                None => "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                    .into(),
            };
            let _ = stream.write_all(response.as_bytes());
        }
    });
    port
}

#[test]
fn discover_prints_and_checks_the_configuration() {
    let f = Fixture::new("discover");
    let jwks = std::fs::read_to_string(f.jwks()).expect("jwks");
    // The document names an issuer: the server's own for "/good", another for "/bad".
    let port = serve(|port| {
        let base = format!("http://127.0.0.1:{port}");
        let doc = |iss: &str| {
            json!({
                "issuer": iss,
                "authorization_endpoint": format!("{base}/auth"),
                "token_endpoint": format!("{base}/token"),
                "jwks_uri": format!("{base}/jwks"),
                "response_types_supported": ["code"],
                "id_token_signing_alg_values_supported": ["RS256"],
            })
            .to_string()
        };
        vec![
            (
                "/good/.well-known/openid-configuration".to_owned(),
                doc(&format!("{base}/good")),
            ),
            (
                "/bad/.well-known/openid-configuration".to_owned(),
                doc("https://someone-else.example"),
            ),
            ("/jwks".to_owned(), jwks),
        ]
    });

    let issuer = format!("http://127.0.0.1:{port}/good");
    let o = gatehouse(&["oidc", "discover", &issuer], None);
    assert_eq!(
        o.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let out: Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(out["metadata"]["issuer"], issuer);
    assert_eq!(
        out["jwks"]["keys"],
        json!([{"kid": "k1", "kty": "RSA", "alg": "RS256", "crv": null}])
    );

    let o = gatehouse(
        &["oidc", "discover", &format!("http://127.0.0.1:{port}/bad")],
        None,
    );
    assert_eq!(o.status.code(), Some(1));
    let line = single_stderr_line(&o);
    assert!(line.contains("discovery issuer mismatch"), "{line}");
    assert!(line.contains("someone-else.example"), "{line}");
}
