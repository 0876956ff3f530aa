//! pysaml2 as the IdP of one login (tenant-config's tests/python/pysaml2_sso.py run from the
//! project venv), shared by the sso-axum and the cross-crate demo tests.

#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

/// The workspace root: the nearest ancestor of the including crate with a Cargo.lock.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .find(|p| p.join("Cargo.lock").is_file())
        .expect("a workspace root")
        .to_owned()
}

/// The identity a test IdP sends for `email`.
pub fn identity(email: &str) -> Value {
    json!({
        "mail": [email],
        "givenName": ["Barbara"],
        "sn": ["Jensen"],
        "displayName": ["Barbara Jensen"],
        "eduPersonAffiliation": ["staff", "member"],
    })
}

/// The IdP's answer: the request id it answered (none when IdP-initiated) and the
/// Response's XML.
pub struct IdpAnswer {
    pub request_id: Option<String>,
    pub response_xml: String,
}

/// Runs pysaml2 with the script's configuration `config` (see the script's docs: key,
/// cert, idp, sso_url, sp, acs, sp_cert, redirect_url, name_id, identity, place).
pub fn pysaml2(config: &Value) -> IdpAnswer {
    let root = workspace_root();
    let venv = std::env::var_os("GATEHOUSE_VENV").map_or_else(|| root.join(".venv"), PathBuf::from);
    let python = venv.join("bin/python");
    assert!(
        python.exists(),
        "{} is missing; run scripts/setup",
        python.display()
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.json");
    std::fs::write(&path, config.to_string()).unwrap();
    let out = Command::new(python)
        .arg(root.join("crates/tenant-config/tests/python/pysaml2_sso.py"))
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pysaml2_sso.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    IdpAnswer {
        request_id: v["request_id"].as_str().map(str::to_owned),
        response_xml: v["response"].as_str().unwrap().to_owned(),
    }
}
