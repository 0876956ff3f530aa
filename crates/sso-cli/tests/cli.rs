//! End-to-end tests of the `gatehouse` binary: exit codes, stdout and stderr.
//!
//! The `scim filter` tests expect the real RFC 7644 filter parser; they fail while
//! `scim-core` carries its filter stub (parse always fails, matching always succeeds).

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::{Value, json};

fn fixture(name: &str) -> String {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests", "fixtures", name]
        .iter()
        .collect();
    path.to_string_lossy().into_owned()
}

fn gatehouse(args: &[&str]) -> Output {
    match Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .args(args)
        .output()
    {
        Ok(o) => o,
        Err(e) => panic!("cannot run gatehouse: {e}"),
    }
}

fn stdout_json(o: &Output) -> Value {
    match serde_json::from_slice(&o.stdout) {
        Ok(v) => v,
        Err(e) => panic!(
            "stdout is not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
    }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Exactly one non-empty line on stderr, returned.
fn single_stderr_line(o: &Output) -> String {
    let text = stderr(o);
    let lines: Vec<_> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "expected one stderr line, got: {text:?}");
    lines[0].to_owned()
}

// --- scim filter ---------------------------------------------------------------------

#[test]
fn filter_prints_canonical_form() {
    let o = gatehouse(&["scim", "filter", r#"userName eq "bjensen""#]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    assert_eq!(stdout_json(&o), json!(r#"userName eq "bjensen""#));
}

#[test]
fn filter_presence_prints_canonical_form() {
    let o = gatehouse(&["scim", "filter", "title pr"]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    assert_eq!(stdout_json(&o), json!("title pr"));
}

#[test]
fn filter_syntax_error_exits_1_with_scim_error_body() {
    let o = gatehouse(&["scim", "filter", "userName eq"]);
    assert_eq!(o.status.code(), Some(1));
    let body = stdout_json(&o);
    assert_eq!(body["scimType"], "invalidFilter");
    assert_eq!(body["status"], "400");
    assert_eq!(
        body["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:Error"])
    );
    assert!(single_stderr_line(&o).contains("invalidFilter"));
}

#[test]
fn filter_match_prints_matching_user_ids() {
    let resources = fixture("resources.json");
    let o = gatehouse(&[
        "scim",
        "filter",
        r#"userName eq "BJENSEN""#,
        "--match",
        &resources,
    ]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    // userName is not caseExact, so the comparison ignores case.
    assert_eq!(stdout_json(&o), json!(["u-bjensen"]));
}

#[test]
fn filter_match_uses_the_group_schema_for_groups() {
    let resources = fixture("resources.json");
    let o = gatehouse(&[
        "scim",
        "filter",
        r#"displayName sw "Tour""#,
        "--match",
        &resources,
    ]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    assert_eq!(stdout_json(&o), json!(["g-guides"]));
}

#[test]
fn filter_match_with_no_match_prints_empty_array() {
    let resources = fixture("resources.json");
    let o = gatehouse(&[
        "scim",
        "filter",
        r#"userName eq "nobody""#,
        "--match",
        &resources,
    ]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    assert_eq!(stdout_json(&o), json!([]));
}

#[test]
fn filter_match_rejects_a_file_that_is_not_an_array() {
    let file = fixture("not-an-array.json");
    let o = gatehouse(&[
        "scim",
        "filter",
        r#"userName eq "bjensen""#,
        "--match",
        &file,
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(single_stderr_line(&o).contains("expected a JSON array"));
    assert!(o.stdout.is_empty());
}

#[test]
fn filter_without_argument_is_bad_usage() {
    let o = gatehouse(&["scim", "filter"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("FILTER"));
}

// --- scim patch ----------------------------------------------------------------------

#[test]
fn patch_prints_patched_user_keeping_id_meta_and_groups() {
    let o = gatehouse(&[
        "scim",
        "patch",
        "--resource",
        &fixture("user.json"),
        "--request",
        &fixture("patch-deactivate.json"),
    ]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    let out = stdout_json(&o);
    assert_eq!(out["active"], json!(false));
    assert_eq!(out["displayName"], json!("Babs"));
    assert_eq!(out["userName"], json!("bjensen"));
    assert_eq!(out["id"], json!("2819c223"));
    assert_eq!(out["meta"]["version"], json!("W/\"1\""));
    assert_eq!(out["groups"][0]["value"], json!("g1"));
    assert_eq!(
        out["schemas"],
        json!(["urn:ietf:params:scim:schemas:core:2.0:User"])
    );
}

#[test]
fn patch_group_adds_member() {
    let o = gatehouse(&[
        "scim",
        "patch",
        "--resource",
        &fixture("group.json"),
        "--request",
        &fixture("patch-add-member.json"),
        "--resource-type",
        "Group",
    ]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    let out = stdout_json(&o);
    let members: Vec<_> = out["members"]
        .as_array()
        .map(|m| m.iter().map(|v| v["value"].clone()).collect())
        .unwrap_or_default();
    assert_eq!(members, [json!("2819c223"), json!("902c246b")]);
    assert_eq!(out["displayName"], json!("Tour Guides"));
}

#[test]
fn patch_of_read_only_attribute_exits_1_with_mutability_error() {
    let o = gatehouse(&[
        "scim",
        "patch",
        "--resource",
        &fixture("user.json"),
        "--request",
        &fixture("patch-readonly-id.json"),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let body = stdout_json(&o);
    assert_eq!(body["scimType"], json!("mutability"));
    assert_eq!(body["status"], json!("400"));
    let line = single_stderr_line(&o);
    assert!(line.contains("mutability"), "{line}");
}

#[test]
fn patch_with_user_attribute_on_group_is_ignored_as_the_server_ignores_it() {
    // The compatibility profile skips operations on attributes the schema does not define,
    // as a server with the default configuration does (Entra ID custom mappings).
    let o = gatehouse(&[
        "scim",
        "patch",
        "--resource",
        &fixture("group.json"),
        "--request",
        &fixture("patch-deactivate.json"),
        "--resource-type",
        "Group",
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let group: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("group.json")).expect("fixture"))
            .expect("group.json");
    let out = stdout_json(&o);
    assert!(out.get("active").is_none(), "{out}");
    // The defined attribute in the same request is applied.
    assert_eq!(out["displayName"], json!("Babs"));
    assert_eq!(out["members"], group["members"]);
}

#[test]
fn patch_with_unreadable_or_broken_files_exits_1() {
    let missing = fixture("does-not-exist.json");
    let o = gatehouse(&[
        "scim",
        "patch",
        "--resource",
        &missing,
        "--request",
        &fixture("patch-deactivate.json"),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(single_stderr_line(&o).contains("does-not-exist.json"));
    assert!(o.stdout.is_empty());

    let o = gatehouse(&[
        "scim",
        "patch",
        "--resource",
        &fixture("user.json"),
        "--request",
        &fixture("broken.json"),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(single_stderr_line(&o).contains("not valid JSON"));
}

#[test]
fn patch_usage_errors_exit_2() {
    let o = gatehouse(&["scim", "patch", "--resource", &fixture("user.json")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--request"));

    let o = gatehouse(&[
        "scim",
        "patch",
        "--resource",
        &fixture("user.json"),
        "--request",
        &fixture("patch-deactivate.json"),
        "--resource-type",
        "Computer",
    ]);
    assert_eq!(o.status.code(), Some(2));
}
