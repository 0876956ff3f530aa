//! The request shapes OneLogin and JumpCloud send, as their public setup guides describe them.
//!
//! - OneLogin's "SCIM Provisioner with SAML" connectors build the user body from an
//!   administrator-edited JSON template whose documented default names the SCIM 1.1 core schema
//!   (`urn:scim:schemas:core:1.0`) even on the SCIM 2.0 connector, with `userName` from the
//!   `scimusername` parameter and `name.givenName`/`familyName`/`formatted`.
//! - JumpCloud changes group membership with `add` and `remove` on `members` carrying a list of
//!   `{"value": id}` objects and no value-path filter, also for removal.

mod common;

use common::{Client, GROUP_SCHEMA, USER_SCHEMA, sorted, values_of};
use serde_json::json;

fn onelogin_user(user_name: &str, given: &str, family: &str) -> serde_json::Value {
    json!({
        "schemas": ["urn:scim:schemas:core:1.0"],
        "userName": user_name,
        "name": {
            "givenName": given,
            "familyName": family,
            "formatted": format!("{given} {family}")
        }
    })
}

#[tokio::test]
async fn onelogin_template_with_the_scim_1_schema_creates_a_core_user() {
    let c = Client::new();
    let r = c
        .post("/Users", &onelogin_user("kim@onelogin.local", "Kim", "Lee"))
        .await;
    assert_eq!(r.status, 201, "{}", r.json);
    assert_eq!(r.json["schemas"], json!([USER_SCHEMA]));
    assert_eq!(r.json["userName"], json!("kim@onelogin.local"));
    assert_eq!(r.json["name"]["formatted"], json!("Kim Lee"));
    let id = r.id();

    // The connector looks the user up by userName before it updates.
    let r = c
        .get("/Users?filter=userName eq \"kim@onelogin.local\"")
        .await;
    assert_eq!(r.json["totalResults"], json!(1), "{}", r.json);
    assert_eq!(r.json["Resources"][0]["id"], json!(id));

    // A template change arrives as a whole-resource PUT with the same template shape.
    let r = c
        .put(
            &format!("/Users/{id}"),
            &onelogin_user("kim@onelogin.local", "Kimberly", "Lee"),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["name"]["givenName"], json!("Kimberly"));
    assert_eq!(r.json["id"], json!(id));

    // The strict profile refuses a body whose only schema is SCIM 1.1's.
    let strict = Client::strict();
    let r = strict
        .post("/Users", &onelogin_user("kim@onelogin.local", "Kim", "Lee"))
        .await;
    r.assert_error(400, Some("invalidValue"));
}

#[tokio::test]
async fn jumpcloud_member_add_and_remove_without_filters() {
    let c = Client::new();
    let a = c.create_user("a@jumpcloud.local").await;
    let b = c.create_user("b@jumpcloud.local").await;
    let d = c.create_user("d@jumpcloud.local").await;
    let r = c
        .post(
            "/Groups",
            &json!({"schemas": [GROUP_SCHEMA], "displayName": "Engineering"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.json);
    let gid = r.id();
    let group = format!("/Groups/{gid}");

    let r = c
        .patch_ops(
            &group,
            json!([{"op": "add", "path": "members",
                    "value": [{"value": a}, {"value": b}, {"value": d}]}]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(values_of(&r.json["members"]), sorted(&[&a, &b, &d]));

    // Removal lists the members to drop; the others stay.
    let r = c
        .patch_ops(
            &group,
            json!([{"op": "remove", "path": "members", "value": [{"value": a}, {"value": d}]}]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(values_of(&r.json["members"]), vec![b.clone()]);
    let r = c.get(&format!("/Users/{a}")).await;
    assert!(r.json.get("groups").is_none(), "{}", r.json);
    let r = c.get(&format!("/Users/{b}")).await;
    assert_eq!(values_of(&r.json["groups"]), vec![gid.clone()]);

    // Removing a member that is no longer there changes nothing and is not an error.
    let r = c
        .patch_ops(
            &group,
            json!([{"op": "remove", "path": "members", "value": [{"value": a}]}]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(values_of(&r.json["members"]), vec![b.clone()]);

    // Under the strict profile the same request is RFC 7644 section 3.5.2.2 to the letter: a
    // `remove` on a multi-valued attribute without a filter removes all of its values.
    let strict = Client::strict();
    let x = strict.create_user("x@jumpcloud.local").await;
    let y = strict.create_user("y@jumpcloud.local").await;
    let sg = strict.create_group("Sales", &[&x, &y]).await;
    let r = strict
        .patch_ops(
            &format!("/Groups/{sg}"),
            json!([{"op": "remove", "path": "members", "value": [{"value": x}]}]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert!(r.json.get("members").is_none(), "{}", r.json);
}

#[tokio::test]
async fn a_single_value_for_a_multi_valued_attribute_is_taken_as_a_one_element_list() {
    let c = Client::new();
    let u = c.create_user("single@example.com").await;
    let gid = c.create_group("Singles", &[]).await;

    let r = c
        .patch_ops(
            &format!("/Groups/{gid}"),
            json!([{"op": "add", "path": "members", "value": {"value": u}}]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(values_of(&r.json["members"]), vec![u.clone()]);

    let r = c
        .post(
            "/Users",
            &json!({"schemas": [USER_SCHEMA], "userName": "one@example.com",
                    "emails": {"value": "one@example.com", "type": "work"}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.json);
    assert_eq!(
        r.json["emails"],
        json!([{"value": "one@example.com", "type": "work"}])
    );

    let strict = Client::strict();
    let r = strict
        .post(
            "/Users",
            &json!({"schemas": [USER_SCHEMA], "userName": "one@example.com",
                    "emails": {"value": "one@example.com"}}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.json);
}
