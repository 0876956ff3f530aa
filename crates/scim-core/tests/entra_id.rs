//! The request sequence of Microsoft Entra ID's provisioning service, in the shapes its public
//! documentation shows ("Tutorial: Develop and plan provisioning for a SCIM endpoint in
//! Microsoft Entra ID", and "Known issues and resolutions with SCIM 2.0 protocol compliance").
#![allow(missing_docs)]

mod common;

use common::{
    Client, ENTERPRISE, GROUP_SCHEMA, LIST_RESPONSE, PATCH_OP, USER_SCHEMA, sorted, values_of,
};
use serde_json::{Value, json};

const USER_NAME: &str = "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1";
const EXTERNAL_ID: &str = "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef";
const EMAIL: &str = "Test_User_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com";

/// The create-user request body from the tutorial (with the enterprise extension).
fn entra_user(user_name: &str, external_id: &str, email: &str) -> Value {
    json!({
        "schemas": [USER_SCHEMA, ENTERPRISE],
        "externalId": external_id,
        "userName": user_name,
        "active": true,
        "emails": [{ "primary": true, "type": "work", "value": email }],
        "meta": { "resourceType": "User" },
        "name": {
            "formatted": "givenName familyName",
            "familyName": "familyName",
            "givenName": "givenName"
        },
        "roles": [],
        ENTERPRISE: { "department": "Engineering", "employeeNumber": "100009" }
    })
}

async fn create_entra_user(c: &Client, user_name: &str, email: &str) -> String {
    let r = c
        .post(
            "/Users",
            &entra_user(user_name, &format!("ext-{user_name}"), email),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.json);
    r.id()
}

#[tokio::test]
async fn user_lifecycle_as_entra_sends_it() {
    let c = Client::new();

    // 1. Lookup before create: zero results.
    let r = c
        .get(&format!("/Users?filter=userName eq \"{USER_NAME}\""))
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["schemas"], json!([LIST_RESPONSE]));
    assert_eq!(r.json["totalResults"], json!(0));
    assert_eq!(r.json["Resources"], json!([]));

    // 2. Create.
    let r = c
        .post("/Users", &entra_user(USER_NAME, EXTERNAL_ID, EMAIL))
        .await;
    assert_eq!(r.status, 201, "{}", r.json);
    let id = r.id();
    assert_eq!(r.json["userName"], json!(USER_NAME));
    assert_eq!(r.json["externalId"], json!(EXTERNAL_ID));
    assert_eq!(r.json["active"], json!(true));
    assert_eq!(
        r.json["emails"],
        json!([{ "primary": true, "type": "work", "value": EMAIL }])
    );
    assert_eq!(r.json["name"]["givenName"], json!("givenName"));
    assert_eq!(r.json["name"]["familyName"], json!("familyName"));
    assert_eq!(r.json[ENTERPRISE]["department"], json!("Engineering"));
    assert_eq!(r.json[ENTERPRISE]["employeeNumber"], json!("100009"));
    assert_eq!(r.json["meta"]["resourceType"], json!("User"));
    assert_eq!(
        r.json["meta"]["location"],
        json!(format!("https://example.com/scim/v2/Users/{id}"))
    );
    assert_eq!(
        r.header("location"),
        Some(format!("https://example.com/scim/v2/Users/{id}").as_str())
    );
    let schemas = r.json["schemas"].as_array().expect("schemas");
    assert!(schemas.contains(&json!(USER_SCHEMA)));
    assert!(schemas.contains(&json!(ENTERPRISE)));

    // 3. Lookup again: exactly one result, the created user.
    let r = c
        .get(&format!("/Users?filter=userName eq \"{USER_NAME}\""))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["totalResults"], json!(1));
    assert_eq!(r.json["itemsPerPage"], json!(1));
    assert_eq!(r.json["startIndex"], json!(1));
    assert_eq!(r.json["Resources"][0]["id"], json!(id));
    assert_eq!(r.json["Resources"][0]["userName"], json!(USER_NAME));

    // Entra also matches by externalId.
    let r = c
        .get(&format!("/Users?filter=externalId eq \"{EXTERNAL_ID}\""))
        .await;
    assert_eq!(r.json["totalResults"], json!(1));
    assert_eq!(r.json["Resources"][0]["id"], json!(id));

    // 4. Get by id.
    let r = c.get(&format!("/Users/{id}")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["id"], json!(id));
    assert_eq!(r.json["userName"], json!(USER_NAME));

    // 5. Update: the tutorial's multi-operation PATCH (capitalized op).
    let r = c
        .patch_ops(
            &format!("/Users/{id}"),
            json!([
                { "op": "Replace", "path": "emails[type eq \"work\"].value", "value": "updatedEmail@microsoft.com" },
                { "op": "Replace", "path": "name.familyName", "value": "updatedFamilyName" }
            ]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(
        r.json["emails"],
        json!([{ "primary": true, "type": "work", "value": "updatedEmail@microsoft.com" }])
    );
    assert_eq!(r.json["name"]["familyName"], json!("updatedFamilyName"));
    assert_eq!(r.json["name"]["givenName"], json!("givenName"));

    // 6. Disable with the string boolean "False" (Entra before the compliance flag).
    let r = c
        .patch_ops(
            &format!("/Users/{id}"),
            json!([{ "op": "Replace", "path": "active", "value": "False" }]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["active"], json!(false));
    // ... and back with "True".
    let r = c
        .patch_ops(
            &format!("/Users/{id}"),
            json!([{ "op": "Replace", "path": "active", "value": "True" }]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["active"], json!(true));

    // 7. Deactivate with a JSON boolean, as the compliant Entra sends it; the GET and the
    //    filtered lookup then show active false.
    let r = c
        .patch_ops(
            &format!("/Users/{id}"),
            json!([{ "op": "Replace", "path": "active", "value": false }]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["active"], json!(false));
    let r = c.get(&format!("/Users/{id}")).await;
    assert_eq!(r.json["active"], json!(false));
    let r = c
        .get(&format!("/Users?filter=userName eq \"{USER_NAME}\""))
        .await;
    assert_eq!(r.json["Resources"][0]["active"], json!(false));

    // 8. Delete: 204 and an empty body, then 404 on GET and an empty lookup.
    let r = c.delete(&format!("/Users/{id}")).await;
    assert_eq!(r.status, 204);
    assert_eq!(r.json, Value::Null);
    let r = c.get(&format!("/Users/{id}")).await;
    r.assert_error(404, None);
    let r = c
        .get(&format!("/Users?filter=userName eq \"{USER_NAME}\""))
        .await;
    assert_eq!(r.json["totalResults"], json!(0));
    let r = c.delete(&format!("/Users/{id}")).await;
    r.assert_error(404, None);
}

#[tokio::test]
async fn pathless_replace_with_dotted_and_urn_keys() {
    let c = Client::new();
    let id = create_entra_user(&c, "Test_User_pathless", "pathless@testuser.com").await;
    let r = c
        .patch_ops(
            &format!("/Users/{id}"),
            json!([{
                "op": "replace",
                "value": {
                    "displayName": "Updated Display",
                    "name.givenName": "Updated Given",
                    "name.familyName": "Updated Family",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "Sales",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "200"
                }
            }]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["displayName"], json!("Updated Display"));
    assert_eq!(r.json["name"]["givenName"], json!("Updated Given"));
    assert_eq!(r.json["name"]["familyName"], json!("Updated Family"));
    // name.formatted was not touched.
    assert_eq!(r.json["name"]["formatted"], json!("givenName familyName"));
    assert_eq!(r.json[ENTERPRISE]["department"], json!("Sales"));
    assert_eq!(r.json[ENTERPRISE]["employeeNumber"], json!("200"));
    // No stray top-level keys were stored for the dotted/URN keys.
    let obj = r.json.as_object().expect("object");
    assert!(!obj.contains_key("name.givenName"), "{}", r.json);
    assert!(
        !obj.contains_key("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"),
        "{}",
        r.json
    );
    // The change is stored, not only echoed.
    let g = c.get(&format!("/Users/{id}")).await;
    assert_eq!(g.json["name"]["givenName"], json!("Updated Given"));
    assert_eq!(g.json[ENTERPRISE]["department"], json!("Sales"));

    // With the path-less "Add" and the string boolean in the value object.
    let r = c
        .patch_ops(
            &format!("/Users/{id}"),
            json!([{ "op": "Add", "value": { "active": "False", "title": "Engineer" } }]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["active"], json!(false));
    assert_eq!(r.json["title"], json!("Engineer"));
}

#[tokio::test]
async fn strict_profile_rejects_entra_deviations() {
    let c = Client::strict();
    let id = c.create_user("strict_user").await;
    // Capitalized op.
    let r = c
        .patch_ops(
            &format!("/Users/{id}"),
            json!([{ "op": "Replace", "path": "active", "value": false }]),
        )
        .await;
    r.assert_error(400, Some("invalidSyntax"));
    // String boolean.
    let r = c
        .patch_ops(
            &format!("/Users/{id}"),
            json!([{ "op": "replace", "path": "active", "value": "False" }]),
        )
        .await;
    r.assert_error(400, Some("invalidValue"));
    // Dotted key in a path-less value.
    let r = c
        .patch_ops(
            &format!("/Users/{id}"),
            json!([{ "op": "replace", "value": { "name.givenName": "x" } }]),
        )
        .await;
    r.assert_error(400, Some("invalidPath"));
    // Nothing was changed by the rejected requests.
    let g = c.get(&format!("/Users/{id}")).await;
    assert_eq!(g.json["meta"]["version"], json!("W/\"1\""));
    assert!(g.json.get("active").is_none(), "{}", g.json);
    assert!(g.json.get("name").is_none(), "{}", g.json);
}

#[tokio::test]
async fn replace_work_email_value_by_filter() {
    let c = Client::new();
    let id = c.create_user("Test_User_emails").await;
    let r = c
        .patch_ops(
            &format!("/Users/{id}"),
            json!([{ "op": "Add", "path": "emails", "value": [
                { "type": "work", "value": "old.work@testuser.com", "primary": true },
                { "type": "home", "value": "home@testuser.com" }
            ]}]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let r = c
        .patch_ops(
            &format!("/Users/{id}"),
            json!([{ "op": "Replace", "path": "emails[type eq \"work\"].value", "value": "new.work@testuser.com" }]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(
        r.json["emails"],
        json!([
            { "type": "work", "value": "new.work@testuser.com", "primary": true },
            { "type": "home", "value": "home@testuser.com" }
        ])
    );
}

#[tokio::test]
async fn replace_email_of_user_without_emails_adds_it() {
    // Entra sends `Replace emails[type eq "work"].value` also when the user has no work
    // email; the identity-provider profile adds one.
    let c = Client::new();
    let id = c.create_user("Test_User_noemail").await;
    let r = c
        .patch_ops(
            &format!("/Users/{id}"),
            json!([{ "op": "Replace", "path": "emails[type eq \"work\"].value", "value": "first@testuser.com" }]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(
        r.json["emails"],
        json!([{ "type": "work", "value": "first@testuser.com" }])
    );
}

#[tokio::test]
async fn manager_as_bare_string() {
    let c = Client::new();
    let manager = create_entra_user(&c, "Test_User_manager", "manager@testuser.com").await;
    let id = create_entra_user(&c, "Test_User_report", "report@testuser.com").await;
    let r = c
        .patch_ops(
            &format!("/Users/{id}"),
            json!([{ "op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": manager }]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json[ENTERPRISE]["manager"]["value"], json!(manager));
    // The other extension attributes are untouched.
    assert_eq!(r.json[ENTERPRISE]["department"], json!("Engineering"));
    let g = c.get(&format!("/Users/{id}")).await;
    assert_eq!(g.json[ENTERPRISE]["manager"]["value"], json!(manager));

    // Entra clears the manager with a remove on the same path.
    let r = c
        .patch_ops(
            &format!("/Users/{id}"),
            json!([{ "op": "Remove", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager" }]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert!(r.json[ENTERPRISE].get("manager").is_none(), "{}", r.json);
    assert_eq!(r.json[ENTERPRISE]["department"], json!("Engineering"));
}

/// The tutorial's create-group body, including Entra's extra schema URN.
fn entra_group(display_name: &str) -> Value {
    json!({
        "schemas": [GROUP_SCHEMA, "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/Group"],
        "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
        "displayName": display_name,
        "members": [],
        "meta": { "resourceType": "Group" }
    })
}

#[tokio::test]
async fn group_lifecycle_as_entra_sends_it() {
    let c = Client::new();
    let u1 = create_entra_user(&c, "Test_User_g1", "g1@testuser.com").await;
    let u2 = create_entra_user(&c, "Test_User_g2", "g2@testuser.com").await;
    let u3 = create_entra_user(&c, "Test_User_g3", "g3@testuser.com").await;

    // Lookup by displayName before create: none.
    let r = c
        .get("/Groups?excludedAttributes=members&filter=displayName eq \"displayName\"")
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["totalResults"], json!(0));

    // Create.
    let r = c.post("/Groups", &entra_group("displayName")).await;
    assert_eq!(r.status, 201, "{}", r.json);
    let gid = r.id();
    assert_eq!(r.json["displayName"], json!("displayName"));
    assert_eq!(
        r.json["externalId"],
        json!("8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159")
    );
    assert!(r.json.get("members").is_none(), "{}", r.json);
    assert_eq!(r.json["meta"]["resourceType"], json!("Group"));

    // Lookup by displayName: one.
    let r = c
        .get("/Groups?excludedAttributes=members&filter=displayName eq \"displayName\"")
        .await;
    assert_eq!(r.json["totalResults"], json!(1));
    assert_eq!(r.json["Resources"][0]["id"], json!(gid));

    // Add members (Entra sends "$ref": null).
    let r = c
        .patch_ops(
            &format!("/Groups/{gid}"),
            json!([{ "op": "Add", "path": "members", "value": [
                { "$ref": null, "value": u1 },
                { "$ref": null, "value": u2 },
                { "$ref": null, "value": u3 }
            ]}]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(values_of(&r.json["members"]), sorted(&[&u1, &u2, &u3]));
    for m in r.json["members"].as_array().expect("members") {
        assert_eq!(m["type"], json!("User"), "{m}");
        assert_eq!(
            m["$ref"],
            json!(format!(
                "https://example.com/scim/v2/Users/{}",
                m["value"].as_str().unwrap()
            )),
            "{m}"
        );
    }
    // Adding an existing member again does not duplicate it.
    let r = c
        .patch_ops(
            &format!("/Groups/{gid}"),
            json!([{ "op": "Add", "path": "members", "value": [{ "value": u1 }] }]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(values_of(&r.json["members"]), sorted(&[&u1, &u2, &u3]));

    // The users' groups attribute reflects the memberships.
    for u in [&u1, &u2, &u3] {
        let g = c.get(&format!("/Users/{u}")).await;
        assert_eq!(
            values_of(&g.json["groups"]),
            vec![gid.clone()],
            "{}",
            g.json
        );
        assert_eq!(g.json["groups"][0]["display"], json!("displayName"));
        assert_eq!(g.json["groups"][0]["type"], json!("direct"));
    }

    // GET with excludedAttributes=members.
    let r = c
        .get(&format!("/Groups/{gid}?excludedAttributes=members"))
        .await;
    assert_eq!(r.status, 200);
    assert!(r.json.get("members").is_none(), "{}", r.json);
    assert_eq!(r.json["displayName"], json!("displayName"));
    assert_eq!(r.json["id"], json!(gid));

    // Remove with a value list: only u2 goes.
    let r = c
        .patch_ops(
            &format!("/Groups/{gid}"),
            json!([{ "op": "Remove", "path": "members", "value": [{ "$ref": null, "value": u2 }] }]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(values_of(&r.json["members"]), sorted(&[&u1, &u3]));
    let g = c.get(&format!("/Users/{u2}")).await;
    assert!(g.json.get("groups").is_none(), "{}", g.json);

    // Remove with a filter path.
    let r = c
        .patch_ops(
            &format!("/Groups/{gid}"),
            json!([{ "op": "Remove", "path": format!("members[value eq \"{u1}\"]") }]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(values_of(&r.json["members"]), sorted(&[&u3]));

    // Rename.
    let r = c
        .patch_ops(
            &format!("/Groups/{gid}"),
            json!([{ "op": "Replace", "path": "displayName", "value": "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName" }]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(
        r.json["displayName"],
        json!("1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName")
    );
    assert_eq!(values_of(&r.json["members"]), sorted(&[&u3]));
    let g = c.get(&format!("/Users/{u3}")).await;
    assert_eq!(
        g.json["groups"][0]["display"],
        json!("1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName")
    );

    // Deleting a member user drops it from the group.
    assert_eq!(c.delete(&format!("/Users/{u3}")).await.status, 204);
    // (RFC 7643 section 2.5: an empty array and an absent attribute are the same state.)
    let r = c.get(&format!("/Groups/{gid}")).await;
    assert_eq!(
        values_of(&r.json["members"]),
        Vec::<String>::new(),
        "{}",
        r.json
    );
    assert_eq!(
        r.json["displayName"],
        json!("1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName")
    );

    // Delete the group.
    assert_eq!(c.delete(&format!("/Groups/{gid}")).await.status, 204);
    c.get(&format!("/Groups/{gid}"))
        .await
        .assert_error(404, None);
    let g = c.get(&format!("/Users/{u1}")).await;
    assert!(g.json.get("groups").is_none(), "{}", g.json);
}

#[tokio::test]
async fn add_unknown_member_is_rejected() {
    let c = Client::new();
    let gid = c.create_group("g", &[]).await;
    let r = c
        .patch_ops(
            &format!("/Groups/{gid}"),
            json!([{ "op": "Add", "path": "members", "value": [{ "value": "does-not-exist" }] }]),
        )
        .await;
    r.assert_error(400, Some("invalidValue"));
    let g = c.get(&format!("/Groups/{gid}")).await;
    assert!(g.json.get("members").is_none(), "{}", g.json);
}

#[tokio::test]
async fn patch_without_schemas_is_accepted_by_default() {
    // Entra's PATCH bodies list "schemas"; some versions send the Operations alone.
    let c = Client::new();
    let id = c.create_user("Test_User_noschemas").await;
    let r = c
        .patch(
            &format!("/Users/{id}"),
            &json!({ "Operations": [{ "op": "Replace", "path": "displayName", "value": "D" }] }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["displayName"], json!("D"));
    let _ = PATCH_OP;
}
