//! Regressions for defects an outside review found: write-only attributes, immutable
//! sub-attributes in PATCH, member removal by value list, undefined attributes in PATCH,
//! `schemas` in filters, case folding for uniqueness, blank required values and canonical
//! spellings.
#![allow(missing_docs)]

mod common;

use common::{Client, ENTERPRISE, GROUP_SCHEMA, USER_SCHEMA};
use serde_json::{Value, json};

fn user_names(list: &Value) -> Vec<String> {
    list["Resources"]
        .as_array()
        .expect("Resources")
        .iter()
        .map(|r| r["userName"].as_str().expect("userName").to_owned())
        .collect()
}

#[tokio::test]
async fn passwords_are_checked_then_discarded_so_no_filter_or_sort_can_probe_them() {
    let c = Client::new();
    for (name, password) in [("alice", "S3cret!"), ("bob", "Aaa")] {
        let r = c
            .post(
                "/Users",
                &json!({ "schemas": [USER_SCHEMA], "userName": name, "password": password }),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.json);
        assert!(r.json.get("password").is_none());
    }
    // A password of the wrong type is still rejected, so the value was checked.
    let r = c
        .post(
            "/Users",
            &json!({ "schemas": [USER_SCHEMA], "userName": "carol", "password": 42 }),
        )
        .await;
    r.assert_error(400, Some("invalidValue"));

    for filter in [
        r#"password eq "S3cret!""#,
        r#"password sw "S3""#,
        "password pr",
    ] {
        let r = c.post("/Users/.search", &json!({ "filter": filter })).await;
        assert_eq!(r.status, 200, "{filter}: {}", r.json);
        assert_eq!(r.json["totalResults"], json!(0), "{filter}");
    }
    // Sorting by a never-returned attribute is refused outright.
    let r = c
        .get("/Users?sortBy=password&sortOrder=ascending&attributes=userName")
        .await;
    r.assert_error(400, Some("invalidFilter"));
}

#[tokio::test]
async fn member_value_is_immutable_through_patch() {
    let c = Client::new();
    let u1 = c.create_user("u1").await;
    let u2 = c.create_user("u2").await;
    let g = c.create_group("g", &[&u1, &u2]).await;
    let before = c.get(&format!("/Groups/{g}")).await;

    let r = c
        .patch_ops(
            &format!("/Groups/{g}"),
            json!([{ "op": "add", "path": "members.value", "value": u1 }]),
        )
        .await;
    r.assert_error(400, Some("mutability"));

    let r = c
        .patch_ops(
            &format!("/Groups/{g}"),
            json!([{ "op": "replace", "path": format!("members[value eq \"{u1}\"].value"), "value": u2 }]),
        )
        .await;
    r.assert_error(400, Some("mutability"));

    let after = c.get(&format!("/Groups/{g}")).await;
    assert_eq!(after.json, before.json);
}

#[tokio::test]
async fn member_removal_by_value_list_ignores_the_case_of_type() {
    let c = Client::new();
    let u1 = c.create_user("u1").await;
    let u3 = c.create_user("u3").await;
    let g = c.create_group("g", &[&u1, &u3]).await;

    let r = c
        .patch_ops(
            &format!("/Groups/{g}"),
            json!([{ "op": "Remove", "path": "members", "value": [{ "value": u3, "type": "user" }] }]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let g = c.get(&format!("/Groups/{g}")).await;
    let members: Vec<&str> = g.json["members"]
        .as_array()
        .expect("members")
        .iter()
        .map(|m| m["value"].as_str().expect("value"))
        .collect();
    assert_eq!(members, vec![u1.as_str()]);
}

#[tokio::test]
async fn patch_on_an_undefined_attribute_is_ignored_by_the_compat_profile_only() {
    const CUSTOM: &str = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User";
    let ops = [
        json!({ "op": "Add", "path": format!("{CUSTOM}:CustomAttribute"), "value": "v2" }),
        json!({ "op": "Replace", "value": { "customTop": "x" } }),
        json!({ "op": "Replace", "value": { CUSTOM: { "CustomAttribute": "v" } } }),
        json!({ "op": "Remove", "path": format!("{CUSTOM}:CustomAttribute") }),
    ];

    let c = Client::new();
    let id = c.create_user("custom").await;
    let before = c.get(&format!("/Users/{id}")).await;
    for op in &ops {
        let r = c
            .patch_ops(
                &format!("/Users/{id}"),
                json!([op, { "op": "replace", "path": "title", "value": "T" }]),
            )
            .await;
        assert_eq!(r.status, 200, "{op}: {}", r.json);
        assert_eq!(r.json["title"], json!("T"));
        assert!(r.json.get(CUSTOM).is_none() && r.json.get("customTop").is_none());
    }
    assert_ne!(
        before.version(),
        c.get(&format!("/Users/{id}")).await.version()
    );

    let strict = Client::strict();
    let id = strict.create_user("custom").await;
    for op in &ops[..2] {
        let r = strict.patch_ops(&format!("/Users/{id}"), json!([op])).await;
        assert_eq!(r.status, 400, "{op}: {}", r.json);
    }
}

#[tokio::test]
async fn filter_on_schemas_selects_users_with_the_enterprise_extension() {
    let c = Client::new();
    c.create_user("plain").await;
    let r = c
        .post(
            "/Users",
            &json!({ "schemas": [USER_SCHEMA, ENTERPRISE], "userName": "employee",
                     ENTERPRISE: { "employeeNumber": "701984" } }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.json);

    let r = c
        .get(&format!("/Users?filter=schemas eq \"{ENTERPRISE}\""))
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(user_names(&r.json), vec!["employee"]);
    // URNs compare case-insensitively.
    let upper = ENTERPRISE.to_uppercase();
    let r = c
        .get(&format!("/Users?filter=schemas eq \"{upper}\""))
        .await;
    assert_eq!(user_names(&r.json), vec!["employee"]);
}

#[tokio::test]
async fn user_name_uniqueness_folds_case_like_the_eq_filter() {
    let c = Client::new();
    c.create_user("ΟΔΟΣ").await;
    let r = c
        .post(
            "/Users",
            &json!({ "schemas": [USER_SCHEMA], "userName": "οδοσ" }),
        )
        .await;
    r.assert_error(409, Some("uniqueness"));
    let r = c
        .post(
            "/Users",
            &json!({ "schemas": [USER_SCHEMA], "userName": "οδος" }),
        )
        .await;
    assert_eq!(r.status, 201, "final sigma is its own letter: {}", r.json);

    let r = c.get("/Users?filter=userName eq \"ΟΔΟΣ\"").await;
    assert_eq!(r.json["totalResults"], json!(1));
    let r = c.get("/Users?filter=userName co \"ΔΟΣ\"").await;
    assert_eq!(r.json["totalResults"], json!(1));
}

#[tokio::test]
async fn required_attributes_may_not_be_blank() {
    let c = Client::new();
    for user_name in ["", "   "] {
        let r = c
            .post(
                "/Users",
                &json!({ "schemas": [USER_SCHEMA], "userName": user_name }),
            )
            .await;
        r.assert_error(400, Some("invalidValue"));
    }
    let r = c
        .post(
            "/Groups",
            &json!({ "schemas": [GROUP_SCHEMA], "displayName": "" }),
        )
        .await;
    r.assert_error(400, Some("invalidValue"));

    let id = c.create_user("kept").await;
    let r = c
        .put(
            &format!("/Users/{id}"),
            &json!({ "schemas": [USER_SCHEMA], "userName": "" }),
        )
        .await;
    r.assert_error(400, Some("invalidValue"));
    let r = c.get(&format!("/Users/{id}")).await;
    assert_eq!(r.json["userName"], json!("kept"));
}

#[tokio::test]
async fn canonical_values_are_stored_in_the_schema_spelling() {
    let c = Client::new();
    let r = c
        .post(
            "/Users",
            &json!({ "schemas": [USER_SCHEMA], "userName": "spelling",
                     "emails": [{ "value": "s@example.com", "type": "Work" }] }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.json);
    assert_eq!(r.json["emails"][0]["type"], json!("work"));
}

#[tokio::test]
async fn long_contains_needles_match_exactly() {
    let c = Client::new();
    let long = "x".repeat(200_000);
    let r = c
        .post(
            "/Users",
            &json!({ "schemas": [USER_SCHEMA], "userName": "big", "title": format!("{long}Y{long}") }),
        )
        .await;
    assert_eq!(r.status, 201);
    let hit = format!("{}y{}", "X".repeat(3000), "x".repeat(3000));
    let miss = format!("{}y", "x".repeat(6000));
    let filter = |needle: &str| json!({ "filter": format!("title co \"{needle}\""), "attributes": ["userName"] });
    let r = c.post("/Users/.search", &filter(&hit)).await;
    assert_eq!(
        r.json["Resources"].as_array().map(Vec::len),
        Some(1),
        "{}",
        r.json
    );
    assert_eq!(r.json["totalResults"], json!(1));
    let r = c.post("/Users/.search", &filter(&miss)).await;
    assert_eq!(
        r.json["totalResults"],
        json!(1),
        "xxx..y is a substring of xxx..Y"
    );
    let r = c
        .post("/Users/.search", &filter(&format!("{}z", "x".repeat(6000))))
        .await;
    assert_eq!(r.json["totalResults"], json!(0));
}
