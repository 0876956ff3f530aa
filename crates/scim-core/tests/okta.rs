//! The request sequence of Okta's SCIM 2.0 provisioning, in the shapes its developer docs show
//! ("Okta and SCIM Version 2.0" reference, "Build a SCIM provisioning integration").
#![allow(missing_docs)]

mod common;

use common::{Client, GROUP_SCHEMA, LIST_RESPONSE, USER_SCHEMA, sorted, values_of};
use serde_json::{Value, json};

const USER_NAME: &str = "test.user@okta.local";

fn okta_user(user_name: &str, given: &str) -> Value {
    json!({
        "schemas": [USER_SCHEMA],
        "userName": user_name,
        "name": { "givenName": given, "familyName": "User" },
        "emails": [{ "primary": true, "value": user_name, "type": "work" }],
        "displayName": format!("{given} User"),
        "locale": "en-US",
        "externalId": "00ujl29u0le5T6Aj10h7",
        "groups": [],
        "password": "1mz050nq",
        "active": true
    })
}

#[track_caller]
fn assert_no_password(v: &Value) {
    let text = v.to_string();
    assert!(v.get("password").is_none(), "password returned: {text}");
    assert!(!text.contains("1mz050nq"), "password value leaked: {text}");
}

#[tokio::test]
async fn user_lifecycle_as_okta_sends_it() {
    let c = Client::new();

    // Import / existence check.
    let r = c.get("/Users?startIndex=1&count=2").await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["schemas"], json!([LIST_RESPONSE]));
    assert_eq!(r.json["totalResults"], json!(0));
    let r = c
        .get(&format!(
            "/Users?filter=userName eq \"{USER_NAME}\"&startIndex=1&count=100"
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["totalResults"], json!(0));
    assert_eq!(r.json["startIndex"], json!(1));
    assert_eq!(r.json["itemsPerPage"], json!(0));
    assert_eq!(r.json["Resources"], json!([]));

    // Create.
    let r = c.post("/Users", &okta_user(USER_NAME, "Test")).await;
    assert_eq!(r.status, 201, "{}", r.json);
    let id = r.id();
    assert_no_password(&r.json);
    assert_eq!(r.json["userName"], json!(USER_NAME));
    assert_eq!(
        r.json["name"],
        json!({ "givenName": "Test", "familyName": "User" })
    );
    assert_eq!(
        r.json["emails"],
        json!([{ "primary": true, "value": USER_NAME, "type": "work" }])
    );
    assert_eq!(r.json["displayName"], json!("Test User"));
    assert_eq!(r.json["locale"], json!("en-US"));
    assert_eq!(r.json["externalId"], json!("00ujl29u0le5T6Aj10h7"));
    assert_eq!(r.json["active"], json!(true));
    // "groups" is read-only: the sent empty list is ignored, and no group is invented.
    assert!(r.json.get("groups").is_none(), "{}", r.json);
    let version1 = r.version();

    // Lookup: one result, no password.
    let r = c
        .get(&format!(
            "/Users?filter=userName eq \"{USER_NAME}\"&startIndex=1&count=100"
        ))
        .await;
    assert_eq!(r.json["totalResults"], json!(1));
    assert_eq!(r.json["Resources"][0]["id"], json!(id));
    assert_no_password(&r.json);

    // Get by id.
    let r = c.get(&format!("/Users/{id}")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["id"], json!(id));
    assert_eq!(r.json["meta"]["version"], json!(version1));
    assert_no_password(&r.json);
    // Not even when asked for by name.
    let r = c
        .get(&format!("/Users/{id}?attributes=password,userName"))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["userName"], json!(USER_NAME));
    assert_no_password(&r.json);

    // PUT: Okta sends the whole user, with id and a changed name.
    let mut put = okta_user(USER_NAME, "Another");
    put["id"] = json!(id);
    put["meta"] = json!({ "resourceType": "User" });
    put.as_object_mut().expect("obj").remove("locale");
    let r = c.put(&format!("/Users/{id}"), &put).await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["id"], json!(id));
    assert_eq!(
        r.json["name"],
        json!({ "givenName": "Another", "familyName": "User" })
    );
    assert_eq!(r.json["displayName"], json!("Another User"));
    // PUT replaces: the attribute left out is gone.
    assert!(r.json.get("locale").is_none(), "{}", r.json);
    assert_ne!(r.json["meta"]["version"], json!(version1));
    assert_no_password(&r.json);
    let r = c.get(&format!("/Users/{id}")).await;
    assert_eq!(r.json["name"]["givenName"], json!("Another"));
    assert!(r.json.get("locale").is_none(), "{}", r.json);

    // Deactivate: path-less replace.
    let r = c
        .patch_ops(
            &format!("/Users/{id}"),
            json!([{ "op": "replace", "value": { "active": false } }]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["active"], json!(false));
    assert_eq!(r.json["name"]["givenName"], json!("Another"));
    assert_no_password(&r.json);
    let r = c
        .get(&format!(
            "/Users?filter=userName eq \"{USER_NAME}\"&startIndex=1&count=100"
        ))
        .await;
    assert_eq!(r.json["Resources"][0]["active"], json!(false));

    // Reactivate.
    let r = c
        .patch_ops(
            &format!("/Users/{id}"),
            json!([{ "op": "replace", "value": { "active": true } }]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["active"], json!(true));

    // Password change by PATCH: accepted, never shown.
    let r = c
        .patch_ops(
            &format!("/Users/{id}"),
            json!([{ "op": "replace", "value": { "password": "newPassword1" } }]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert!(r.json.get("password").is_none(), "{}", r.json);
    assert!(!r.json.to_string().contains("newPassword1"), "{}", r.json);
}

#[tokio::test]
async fn user_name_filter_is_case_insensitive() {
    // userName is caseExact false (RFC 7643 section 4.1.1): Okta's lookup must find the
    // user whatever case the login has.
    let c = Client::new();
    let id = c.create_user("Test.User@Okta.Local").await;
    let r = c
        .get("/Users?filter=userName eq \"test.user@okta.local\"&startIndex=1&count=100")
        .await;
    assert_eq!(r.json["totalResults"], json!(1));
    assert_eq!(r.json["Resources"][0]["id"], json!(id));
}

#[tokio::test]
async fn put_with_other_id_in_body_is_rejected() {
    let c = Client::new();
    let id = c.create_user(USER_NAME).await;
    let mut put = okta_user(USER_NAME, "X");
    put["id"] = json!("some-other-id");
    let r = c.put(&format!("/Users/{id}"), &put).await;
    r.assert_error(400, Some("mutability"));
}

#[tokio::test]
async fn group_lifecycle_as_okta_sends_it() {
    let c = Client::new();
    let u1 = c.create_user("u1@okta.local").await;
    let u2 = c.create_user("u2@okta.local").await;
    let u3 = c.create_user("u3@okta.local").await;

    // Existence check and import.
    let r = c
        .get("/Groups?filter=displayName eq \"Test SCIMv2\"&startIndex=1&count=100")
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["totalResults"], json!(0));

    // Create.
    let r = c
        .post(
            "/Groups",
            &json!({ "schemas": [GROUP_SCHEMA], "displayName": "Test SCIMv2", "members": [] }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.json);
    let gid = r.id();
    assert_eq!(r.json["displayName"], json!("Test SCIMv2"));
    let r = c.get("/Groups?startIndex=1&count=100").await;
    assert_eq!(r.json["totalResults"], json!(1));
    assert_eq!(r.json["Resources"][0]["id"], json!(gid));

    // Add members.
    let r = c
        .patch_ops(
            &format!("/Groups/{gid}"),
            json!([{ "op": "add", "path": "members", "value": [
                { "value": u1, "display": "u1@okta.local" },
                { "value": u2, "display": "u2@okta.local" }
            ]}]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(values_of(&r.json["members"]), sorted(&[&u1, &u2]));

    // Replace members: the new list is the whole membership.
    let r = c
        .patch_ops(
            &format!("/Groups/{gid}"),
            json!([{ "op": "replace", "path": "members", "value": [
                { "value": u2, "display": "u2@okta.local" },
                { "value": u3, "display": "u3@okta.local" }
            ]}]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(values_of(&r.json["members"]), sorted(&[&u2, &u3]));
    let g = c.get(&format!("/Users/{u1}")).await;
    assert!(g.json.get("groups").is_none(), "{}", g.json);
    let g = c.get(&format!("/Users/{u3}")).await;
    assert_eq!(values_of(&g.json["groups"]), vec![gid.clone()]);

    // Remove one member by filter.
    let r = c
        .patch_ops(
            &format!("/Groups/{gid}"),
            json!([{ "op": "remove", "path": format!("members[value eq \"{u2}\"]") }]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(values_of(&r.json["members"]), sorted(&[&u3]));

    // Rename: Okta echoes the id in the value; it is ignored.
    let r = c
        .patch_ops(
            &format!("/Groups/{gid}"),
            json!([{ "op": "replace", "value": { "id": gid, "displayName": "Test SCIMv2 renamed" } }]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["id"], json!(gid));
    assert_eq!(r.json["displayName"], json!("Test SCIMv2 renamed"));
    assert_eq!(values_of(&r.json["members"]), sorted(&[&u3]));
    let r = c
        .get("/Groups?filter=displayName eq \"Test SCIMv2 renamed\"&startIndex=1&count=100")
        .await;
    assert_eq!(r.json["totalResults"], json!(1));

    // Replace members with an empty list removes everyone.
    let r = c
        .patch_ops(
            &format!("/Groups/{gid}"),
            json!([{ "op": "replace", "path": "members", "value": [] }]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(values_of(&r.json["members"]), Vec::<String>::new());

    // Delete.
    let r = c.delete(&format!("/Groups/{gid}")).await;
    assert_eq!(r.status, 204);
    c.get(&format!("/Groups/{gid}"))
        .await
        .assert_error(404, None);
    let r = c.get("/Groups?startIndex=1&count=100").await;
    assert_eq!(r.json["totalResults"], json!(0));
}

#[tokio::test]
async fn pathless_replace_echoing_meta_and_schemas_is_ignored() {
    // Okta's full-object PATCH values may carry schemas and meta alongside the changes.
    let c = Client::new();
    let gid = c.create_group("G", &[]).await;
    let r = c
        .patch_ops(
            &format!("/Groups/{gid}"),
            json!([{ "op": "replace", "value": {
                "schemas": [GROUP_SCHEMA],
                "id": gid,
                "meta": { "resourceType": "Group" },
                "displayName": "G2"
            }}]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["displayName"], json!("G2"));
    assert_eq!(r.json["meta"]["resourceType"], json!("Group"));
    assert_eq!(r.json["meta"]["version"], json!("W/\"2\""));
}
