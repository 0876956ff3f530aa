//! RFC 7643 / RFC 7644 examples and rules, end to end through the handler.
#![allow(missing_docs)]

mod common;

use common::{
    Client, ENTERPRISE, ERROR, GROUP_SCHEMA, LIST_RESPONSE, PATCH_OP, USER_SCHEMA, sorted,
    values_of,
};
use serde_json::{Map, Value, json};

const BULK_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
const BULK_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";
const SEARCH_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

/// RFC 7643 section 8.2, "Full User Representation" (server-assigned `id`, `meta`, and the
/// read-only `groups` included as a client might echo them).
fn rfc_full_user() -> Value {
    json!({
        "schemas": [USER_SCHEMA],
        "id": "2819c223-7f76-453a-919d-413861904646",
        "externalId": "701984",
        "userName": "bjensen@example.com",
        "name": {
            "formatted": "Ms. Barbara J Jensen, III",
            "familyName": "Jensen",
            "givenName": "Barbara",
            "middleName": "Jane",
            "honorificPrefix": "Ms.",
            "honorificSuffix": "III"
        },
        "displayName": "Babs Jensen",
        "nickName": "Babs",
        "profileUrl": "https://login.example.com/bjensen",
        "emails": [
            { "value": "bjensen@example.com", "type": "work", "primary": true },
            { "value": "babs@jensen.org", "type": "home" }
        ],
        "addresses": [
            {
                "type": "work",
                "streetAddress": "100 Universal City Plaza",
                "locality": "Hollywood",
                "region": "CA",
                "postalCode": "91608",
                "country": "USA",
                "formatted": "100 Universal City Plaza\nHollywood, CA 91608 USA",
                "primary": true
            },
            {
                "type": "home",
                "streetAddress": "456 Hollywood Blvd",
                "locality": "Hollywood",
                "region": "CA",
                "postalCode": "91608",
                "country": "USA",
                "formatted": "456 Hollywood Blvd\nHollywood, CA 91608 USA"
            }
        ],
        "phoneNumbers": [
            { "value": "555-555-5555", "type": "work" },
            { "value": "555-555-4444", "type": "mobile" }
        ],
        "ims": [{ "value": "someaimhandle", "type": "aim" }],
        "photos": [
            { "value": "https://photos.example.com/profilephoto/72930000000Ccne/F", "type": "photo" },
            { "value": "https://photos.example.com/profilephoto/72930000000Ccne/T", "type": "thumbnail" }
        ],
        "userType": "Employee",
        "title": "Tour Guide",
        "preferredLanguage": "en-US",
        "locale": "en-US",
        "timezone": "America/Los_Angeles",
        "active": true,
        "password": "t1meMa$heen",
        "groups": [
            {
                "value": "e9e30dba-f08f-4109-8486-d5c6a331660a",
                "$ref": "https://example.com/v2/Groups/e9e30dba-f08f-4109-8486-d5c6a331660a",
                "display": "Tour Guides"
            }
        ],
        "x509Certificates": [{ "value": "MIIDQzCCAqygAwIBAgICEAAwDQYJKoZIhvcNAQEFBQAw" }],
        "meta": {
            "resourceType": "User",
            "created": "2010-01-23T04:56:22Z",
            "lastModified": "2011-05-13T04:42:34Z",
            "version": "W/\"a330bc54f0671c9\"",
            "location": "https://example.com/v2/Users/2819c223-7f76-453a-919d-413861904646"
        }
    })
}

/// The attributes a client may set: the example without id, meta, password, groups.
fn settable(v: &Value) -> Map<String, Value> {
    let mut m = v.as_object().cloned().unwrap_or_default();
    for k in ["id", "meta", "password", "groups", "schemas"] {
        m.remove(k);
    }
    m
}

#[tokio::test]
async fn rfc7643_full_user_round_trips() {
    let c = Client::new();
    let sent = rfc_full_user();
    let r = c.post("/Users", &sent).await;
    assert_eq!(r.status, 201, "{}", r.json);
    let id = r.id();
    // The client's id, meta and groups are read-only: ignored.
    assert_ne!(id, "2819c223-7f76-453a-919d-413861904646");
    assert_eq!(r.json["meta"]["version"], json!("W/\"1\""));
    assert_ne!(r.json["meta"]["created"], json!("2010-01-23T04:56:22Z"));
    assert_eq!(
        r.json["meta"]["location"],
        json!(format!("https://example.com/scim/v2/Users/{id}"))
    );
    assert!(r.json.get("groups").is_none(), "{}", r.json);
    assert!(r.json.get("password").is_none(), "{}", r.json);
    assert_eq!(r.json["schemas"], json!([USER_SCHEMA]));

    let g = c.get(&format!("/Users/{id}")).await;
    assert_eq!(g.status, 200);
    for (key, expected) in settable(&sent) {
        assert_eq!(g.json[&key], expected, "attribute {key}: {}", g.json);
        assert_eq!(r.json[&key], expected, "POST response attribute {key}");
    }
    // Nothing else than the settable attributes, schemas, id and meta.
    let mut keys: Vec<&String> = g.json.as_object().unwrap().keys().collect();
    keys.sort();
    let mut want: Vec<String> = settable(&sent).keys().cloned().collect();
    want.extend(["id".into(), "meta".into(), "schemas".into()]);
    want.sort();
    assert_eq!(keys, want.iter().collect::<Vec<_>>());
}

#[tokio::test]
async fn rfc7643_enterprise_user_example() {
    let c = Client::new();
    let mut user = rfc_full_user();
    user["schemas"] = json!([USER_SCHEMA, ENTERPRISE]);
    user[ENTERPRISE] = json!({
        "employeeNumber": "701984",
        "costCenter": "4130",
        "organization": "Universal Studios",
        "division": "Theme Park",
        "department": "Tour Operations",
        "manager": {
            "value": "26118915-6090-4610-87e4-49d8ca9f808d",
            "$ref": "../Users/26118915-6090-4610-87e4-49d8ca9f808d",
            "displayName": "John Smith"
        }
    });
    let r = c.post("/Users", &user).await;
    assert_eq!(r.status, 201, "{}", r.json);
    let id = r.id();
    let g = c.get(&format!("/Users/{id}")).await;
    let ext = &g.json[ENTERPRISE];
    assert_eq!(ext["employeeNumber"], json!("701984"));
    assert_eq!(ext["costCenter"], json!("4130"));
    assert_eq!(ext["organization"], json!("Universal Studios"));
    assert_eq!(ext["division"], json!("Theme Park"));
    assert_eq!(ext["department"], json!("Tour Operations"));
    assert_eq!(
        ext["manager"]["value"],
        json!("26118915-6090-4610-87e4-49d8ca9f808d")
    );
    assert_eq!(
        ext["manager"]["$ref"],
        json!("../Users/26118915-6090-4610-87e4-49d8ca9f808d")
    );
    // manager.displayName is readOnly (RFC 7643 section 4.3): the client's value is ignored.
    assert!(ext["manager"].get("displayName").is_none(), "{}", ext);
    let schemas = g.json["schemas"].as_array().unwrap();
    assert_eq!(schemas, &vec![json!(USER_SCHEMA), json!(ENTERPRISE)]);
    assert_eq!(g.json["userName"], json!("bjensen@example.com"));

    // Filter on an extension attribute.
    let r = c
        .get("/Users?filter=urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq \"701984\"")
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["totalResults"], json!(1));
    assert_eq!(r.json["Resources"][0]["id"], json!(id));
}

/// Two users as in RFC 7643 section 8.4, returning their ids (Babs, Mandy).
async fn babs_and_mandy(c: &Client) -> (String, String) {
    (
        c.create_user("bjensen@example.com").await,
        c.create_user("mandy@example.com").await,
    )
}

#[tokio::test]
async fn rfc7643_group_example() {
    let c = Client::new();
    let (babs, mandy) = babs_and_mandy(&c).await;
    let r = c
        .post(
            "/Groups",
            &json!({
                "schemas": [GROUP_SCHEMA],
                "id": "e9e30dba-f08f-4109-8486-d5c6a331660a",
                "displayName": "Tour Guides",
                "members": [
                    { "value": babs, "$ref": format!("https://example.com/v2/Users/{babs}"), "display": "Babs Jensen" },
                    { "value": mandy, "$ref": format!("https://example.com/v2/Users/{mandy}"), "display": "Mandy Pepperidge" }
                ],
                "meta": { "resourceType": "Group" }
            }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.json);
    let gid = r.id();
    assert_ne!(gid, "e9e30dba-f08f-4109-8486-d5c6a331660a");
    let g = c.get(&format!("/Groups/{gid}")).await;
    assert_eq!(g.json["displayName"], json!("Tour Guides"));
    assert_eq!(g.json["schemas"], json!([GROUP_SCHEMA]));
    assert_eq!(values_of(&g.json["members"]), sorted(&[&babs, &mandy]));
    let members = g.json["members"].as_array().unwrap();
    let babs_m = members.iter().find(|m| m["value"] == json!(babs)).unwrap();
    assert_eq!(babs_m["display"], json!("Babs Jensen"));
    assert_eq!(babs_m["type"], json!("User"));
    let u = c.get(&format!("/Users/{babs}")).await;
    assert_eq!(u.json["groups"][0]["value"], json!(gid));
    assert_eq!(u.json["groups"][0]["display"], json!("Tour Guides"));
    assert_eq!(
        u.json["groups"][0]["$ref"],
        json!(format!("https://example.com/scim/v2/Groups/{gid}"))
    );
}

// ---------------------------------------------------------------------------------------
// RFC 7644 section 3.5.2 PATCH examples
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn patch_add_member() {
    let c = Client::new();
    let (babs, mandy) = babs_and_mandy(&c).await;
    let gid = c.create_group("Tour Guides", &[&mandy]).await;
    let r = c
        .patch_ops(
            &format!("/Groups/{gid}"),
            json!([{ "op": "add", "path": "members", "value": [{
                "display": "Babs Jensen",
                "$ref": format!("https://example.com/v2/Users/{babs}"),
                "value": babs
            }]}]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(values_of(&r.json["members"]), sorted(&[&babs, &mandy]));
    assert_eq!(r.json["meta"]["version"], json!("W/\"2\""));
}

#[tokio::test]
async fn patch_add_without_path() {
    let c = Client::new();
    let id = c.create_user("bjensen@example.com").await;
    let r = c
        .patch_ops(
            &format!("/Users/{id}"),
            json!([{ "op": "add", "value": {
                "emails": [{ "value": "babs@jensen.org", "type": "home" }],
                "nickname": "Babs"
            }}]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(
        r.json["emails"],
        json!([{ "value": "babs@jensen.org", "type": "home" }])
    );
    // Attribute names are case-insensitive: "nickname" is nickName.
    assert_eq!(r.json["nickName"], json!("Babs"));
    assert!(r.json.get("nickname").is_none(), "{}", r.json);
}

#[tokio::test]
async fn patch_add_emails_appends() {
    let c = Client::new();
    let r = c
        .post(
            "/Users",
            &json!({ "schemas": [USER_SCHEMA], "userName": "bjensen",
                     "emails": [{ "value": "bjensen@example.com", "type": "work" }] }),
        )
        .await;
    let id = r.id();
    let r = c
        .patch_ops(
            &format!("/Users/{id}"),
            json!([{ "op": "add", "path": "emails", "value": [{ "value": "babs@jensen.org", "type": "home" }] }]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(
        r.json["emails"],
        json!([
            { "value": "bjensen@example.com", "type": "work" },
            { "value": "babs@jensen.org", "type": "home" }
        ])
    );
}

#[tokio::test]
async fn patch_remove_one_member_by_filter() {
    let c = Client::new();
    let (babs, mandy) = babs_and_mandy(&c).await;
    let gid = c.create_group("Tour Guides", &[&babs, &mandy]).await;
    let r = c
        .patch_ops(
            &format!("/Groups/{gid}"),
            json!([{ "op": "remove", "path": format!("members[value eq \"{babs}\"]") }]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(values_of(&r.json["members"]), sorted(&[&mandy]));
}

#[tokio::test]
async fn patch_remove_all_members() {
    let c = Client::new();
    let (babs, mandy) = babs_and_mandy(&c).await;
    let gid = c.create_group("Tour Guides", &[&babs, &mandy]).await;
    let r = c
        .patch_ops(
            &format!("/Groups/{gid}"),
            json!([{ "op": "remove", "path": "members" }]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert!(r.json.get("members").is_none(), "{}", r.json);
    assert_eq!(r.json["displayName"], json!("Tour Guides"));
    let u = c.get(&format!("/Users/{babs}")).await;
    assert!(u.json.get("groups").is_none(), "{}", u.json);
}

#[tokio::test]
async fn patch_remove_then_add_member_in_one_request() {
    let c = Client::new();
    let (babs, mandy) = babs_and_mandy(&c).await;
    let james = c.create_user("jsmith@example.com").await;
    let gid = c.create_group("Tour Guides", &[&babs, &mandy]).await;
    let r = c
        .patch_ops(
            &format!("/Groups/{gid}"),
            json!([
                { "op": "remove", "path": "members" },
                { "op": "add", "path": "members", "value": [
                    { "display": "James Smith", "value": james }
                ]}
            ]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(values_of(&r.json["members"]), sorted(&[&james]));
}

#[tokio::test]
async fn patch_replace_members() {
    let c = Client::new();
    let (babs, mandy) = babs_and_mandy(&c).await;
    let james = c.create_user("jsmith@example.com").await;
    let gid = c.create_group("Tour Guides", &[&babs, &mandy]).await;
    let r = c
        .patch_ops(
            &format!("/Groups/{gid}"),
            json!([{ "op": "replace", "path": "members", "value": [
                { "display": "Babs Jensen", "value": babs },
                { "display": "James Smith", "value": james }
            ]}]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(values_of(&r.json["members"]), sorted(&[&babs, &james]));
    let m = c.get(&format!("/Users/{mandy}")).await;
    assert!(m.json.get("groups").is_none(), "{}", m.json);
}

async fn user_with_addresses(c: &Client) -> String {
    let r = c.post("/Users", &rfc_full_user()).await;
    assert_eq!(r.status, 201, "{}", r.json);
    r.id()
}

#[tokio::test]
async fn patch_replace_work_street_address() {
    let c = Client::new();
    let id = user_with_addresses(&c).await;
    let r = c
        .patch_ops(
            &format!("/Users/{id}"),
            json!([{ "op": "replace", "path": "addresses[type eq \"work\"].streetAddress", "value": "1010 Broadway Ave" }]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let addrs = r.json["addresses"].as_array().unwrap();
    assert_eq!(addrs.len(), 2);
    assert_eq!(addrs[0]["type"], json!("work"));
    assert_eq!(addrs[0]["streetAddress"], json!("1010 Broadway Ave"));
    assert_eq!(addrs[0]["locality"], json!("Hollywood"));
    assert_eq!(addrs[0]["primary"], json!(true));
    assert_eq!(addrs[1], rfc_full_user()["addresses"][1]);
}

#[tokio::test]
async fn patch_replace_whole_work_address() {
    let c = Client::new();
    let id = user_with_addresses(&c).await;
    let new_work = json!({
        "type": "work",
        "streetAddress": "911 Universal City Plaza",
        "locality": "Hollywood",
        "region": "CA",
        "postalCode": "91608",
        "country": "US",
        "formatted": "911 Universal City Plaza\nHollywood, CA 91608 US",
        "primary": true
    });
    let r = c
        .patch_ops(
            &format!("/Users/{id}"),
            json!([{ "op": "replace", "path": "addresses[type eq \"work\"]", "value": new_work }]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["addresses"][0], new_work);
    assert_eq!(r.json["addresses"][1], rfc_full_user()["addresses"][1]);
}

#[tokio::test]
async fn patch_replace_without_path() {
    let c = Client::new();
    let id = user_with_addresses(&c).await;
    let r = c
        .patch_ops(
            &format!("/Users/{id}"),
            json!([{ "op": "replace", "value": {
                "emails": [{ "value": "bjensen@example.com", "type": "work", "primary": true }],
                "nickname": "Barbie"
            }}]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    // replace of a multi-valued attribute replaces all its values.
    assert_eq!(
        r.json["emails"],
        json!([{ "value": "bjensen@example.com", "type": "work", "primary": true }])
    );
    assert_eq!(r.json["nickName"], json!("Barbie"));
}

#[tokio::test]
async fn patch_remove_emails_by_compound_filter() {
    let c = Client::new();
    let r = c
        .post(
            "/Users",
            &json!({ "schemas": [USER_SCHEMA], "userName": "bjensen", "emails": [
                { "value": "bjensen@example.com", "type": "work" },
                { "value": "babs@jensen.org", "type": "home" },
                { "value": "barbara@jensen.org", "type": "work" },
                { "value": "b2@example.com", "type": "other" }
            ]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.json);
    let id = r.id();
    let r = c
        .patch_ops(
            &format!("/Users/{id}"),
            json!([{ "op": "remove", "path": "emails[type eq \"work\" and value ew \"example.com\"]" }]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(
        r.json["emails"],
        json!([
            { "value": "babs@jensen.org", "type": "home" },
            { "value": "barbara@jensen.org", "type": "work" },
            { "value": "b2@example.com", "type": "other" }
        ])
    );
}

#[tokio::test]
async fn patch_remove_filter_matching_several_members_removes_all() {
    let c = Client::new();
    let a = c.create_user("a").await;
    let b = c.create_user("b").await;
    let d = c.create_user("d").await;
    let sub = c.create_group("sub", &[]).await;
    let gid = c.create_group("parent", &[&a, &b, &d, &sub]).await;
    // All User members go, the Group member stays.
    let r = c
        .patch_ops(
            &format!("/Groups/{gid}"),
            json!([{ "op": "remove", "path": "members[type eq \"User\"]" }]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(values_of(&r.json["members"]), sorted(&[&sub]));

    let gid2 = c.create_group("other", &[&a, &b, &d]).await;
    let r = c
        .patch_ops(
            &format!("/Groups/{gid2}"),
            json!([{ "op": "remove", "path": format!("members[value eq \"{a}\" or value eq \"{d}\"]") }]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(values_of(&r.json["members"]), sorted(&[&b]));
}

#[tokio::test]
async fn replace_with_unmatched_filter_adds_by_default_and_is_no_target_when_strict() {
    for strict in [false, true] {
        let c = if strict {
            Client::strict()
        } else {
            Client::new()
        };
        let r = c
            .post(
                "/Users",
                &json!({ "schemas": [USER_SCHEMA], "userName": "bjensen",
                         "emails": [{ "value": "babs@jensen.org", "type": "home" }] }),
            )
            .await;
        let id = r.id();
        let r = c
            .patch_ops(
                &format!("/Users/{id}"),
                json!([{ "op": "replace", "path": "emails[type eq \"work\"].value", "value": "bjensen@example.com" }]),
            )
            .await;
        if strict {
            r.assert_error(400, Some("noTarget"));
            let g = c.get(&format!("/Users/{id}")).await;
            assert_eq!(
                g.json["emails"],
                json!([{ "value": "babs@jensen.org", "type": "home" }])
            );
            assert_eq!(g.json["meta"]["version"], json!("W/\"1\""));
        } else {
            assert_eq!(r.status, 200, "{}", r.json);
            assert_eq!(
                r.json["emails"],
                json!([
                    { "value": "babs@jensen.org", "type": "home" },
                    { "type": "work", "value": "bjensen@example.com" }
                ])
            );
        }
    }
}

#[tokio::test]
async fn add_primary_email_clears_old_primary() {
    let c = Client::new();
    let r = c
        .post(
            "/Users",
            &json!({ "schemas": [USER_SCHEMA], "userName": "bjensen",
                     "emails": [{ "value": "old@example.com", "type": "work", "primary": true }] }),
        )
        .await;
    let id = r.id();
    let r = c
        .patch_ops(
            &format!("/Users/{id}"),
            json!([{ "op": "add", "path": "emails", "value": [
                { "value": "new@example.com", "type": "home", "primary": true }
            ]}]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(
        r.json["emails"],
        json!([
            { "value": "old@example.com", "type": "work", "primary": false },
            { "value": "new@example.com", "type": "home", "primary": true }
        ])
    );
    // Setting primary by value path also moves it.
    let r = c
        .patch_ops(
            &format!("/Users/{id}"),
            json!([{ "op": "replace", "path": "emails[value eq \"old@example.com\"].primary", "value": true }]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["emails"][0]["primary"], json!(true));
    assert_eq!(r.json["emails"][1]["primary"], json!(false));
    // Two primaries in one POST are rejected.
    let r = c
        .post(
            "/Users",
            &json!({ "schemas": [USER_SCHEMA], "userName": "twoprimaries", "emails": [
                { "value": "a@example.com", "primary": true },
                { "value": "b@example.com", "primary": true }
            ]}),
        )
        .await;
    r.assert_error(400, Some("invalidValue"));
}

#[tokio::test]
async fn patch_is_atomic() {
    let c = Client::new();
    let r = c
        .post(
            "/Users",
            &json!({ "schemas": [USER_SCHEMA], "userName": "atomic", "displayName": "Before",
                     "emails": [{ "value": "a@example.com", "type": "work" }] }),
        )
        .await;
    let id = r.id();
    let before = c.get(&format!("/Users/{id}")).await;
    let r = c
        .patch_ops(
            &format!("/Users/{id}"),
            json!([
                { "op": "replace", "path": "displayName", "value": "After" },
                { "op": "add", "path": "emails", "value": [{ "value": "b@example.com", "type": "bogus" }] },
                { "op": "replace", "path": "title", "value": "Never" }
            ]),
        )
        .await;
    r.assert_error(400, Some("invalidValue"));
    let r2 = c
        .patch_ops(
            &format!("/Users/{id}"),
            json!([
                { "op": "replace", "path": "displayName", "value": "After" },
                { "op": "replace", "path": "emails[type eq \"work\"", "value": "x" }
            ]),
        )
        .await;
    r2.assert_error(400, Some("invalidPath"));
    let after = c.get(&format!("/Users/{id}")).await;
    assert_eq!(after.json, before.json);
    assert_eq!(after.json["meta"]["version"], json!("W/\"1\""));
    assert_eq!(after.json["displayName"], json!("Before"));
}

#[tokio::test]
async fn mutability_rules() {
    let c = Client::new();
    let id = c.create_user("bjensen").await;
    // PATCH id.
    let r = c
        .patch_ops(
            &format!("/Users/{id}"),
            json!([{ "op": "replace", "path": "id", "value": "other" }]),
        )
        .await;
    r.assert_error(400, Some("mutability"));
    // PATCH groups (readOnly).
    let gid = c.create_group("g", &[]).await;
    let r = c
        .patch_ops(
            &format!("/Users/{id}"),
            json!([{ "op": "add", "path": "groups", "value": [{ "value": gid }] }]),
        )
        .await;
    r.assert_error(400, Some("mutability"));
    // PUT with a different id.
    let r = c
        .put(
            &format!("/Users/{id}"),
            &json!({ "schemas": [USER_SCHEMA], "id": "other", "userName": "bjensen" }),
        )
        .await;
    r.assert_error(400, Some("mutability"));
    // groups in a POST/PUT body are ignored, not applied.
    let r = c
        .put(
            &format!("/Users/{id}"),
            &json!({ "schemas": [USER_SCHEMA], "id": id, "userName": "bjensen",
                     "groups": [{ "value": gid }] }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert!(r.json.get("groups").is_none(), "{}", r.json);
    let g = c.get(&format!("/Groups/{gid}")).await;
    assert!(g.json.get("members").is_none(), "{}", g.json);
    // The resource is unchanged: the accepted PUT changed nothing, so not even the version.
    let u = c.get(&format!("/Users/{id}")).await;
    assert_eq!(u.json["id"], json!(id));
    assert_eq!(u.json["meta"]["version"], json!("W/\"1\""));
}

#[tokio::test]
async fn uniqueness_and_required_and_canonical() {
    let c = Client::new();
    c.create_user("bjensen@example.com").await;
    let r = c
        .post(
            "/Users",
            &json!({ "schemas": [USER_SCHEMA], "userName": "BJensen@Example.COM" }),
        )
        .await;
    r.assert_error(409, Some("uniqueness"));
    // A PUT/PATCH renaming another user onto it conflicts too.
    let other = c.create_user("other").await;
    let r = c
        .patch_ops(
            &format!("/Users/{other}"),
            json!([{ "op": "replace", "path": "userName", "value": "BJENSEN@example.com" }]),
        )
        .await;
    r.assert_error(409, Some("uniqueness"));

    let r = c
        .post(
            "/Users",
            &json!({ "schemas": [USER_SCHEMA], "displayName": "No Name" }),
        )
        .await;
    r.assert_error(400, Some("invalidValue"));
    // Removing the required userName.
    let r = c
        .patch_ops(
            &format!("/Users/{other}"),
            json!([{ "op": "remove", "path": "userName" }]),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.json);
    let r = c
        .post(
            "/Users",
            &json!({ "schemas": [USER_SCHEMA], "userName": "bogus",
                     "emails": [{ "value": "x@example.com", "type": "bogus" }] }),
        )
        .await;
    r.assert_error(400, Some("invalidValue"));
    let r = c
        .post("/Groups", &json!({ "schemas": [GROUP_SCHEMA] }))
        .await;
    r.assert_error(400, Some("invalidValue"));
    // Nothing was created by the failed requests.
    let r = c.get("/Users").await;
    assert_eq!(r.json["totalResults"], json!(2));
}

// ---------------------------------------------------------------------------------------
// Listing
// ---------------------------------------------------------------------------------------

async fn numbered_users(c: &Client, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        ids.push(c.create_user(&format!("user{i:03}")).await);
    }
    ids
}

fn ids_of(r: &common::Resp) -> Vec<String> {
    r.json["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_str().unwrap().to_owned())
        .collect()
}

fn user_names(r: &common::Resp) -> Vec<String> {
    r.json["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["userName"].as_str().unwrap_or("").to_owned())
        .collect()
}

#[tokio::test]
async fn pagination() {
    let c = Client::new();
    let ids = numbered_users(&c, 25).await;
    let mut seen = Vec::new();
    for (start, expect_n) in [(1, 10), (11, 10), (21, 5)] {
        let r = c
            .get(&format!(
                "/Users?sortBy=userName&startIndex={start}&count=10"
            ))
            .await;
        assert_eq!(r.status, 200, "{}", r.json);
        assert_eq!(r.json["schemas"], json!([LIST_RESPONSE]));
        assert_eq!(r.json["totalResults"], json!(25));
        assert_eq!(r.json["startIndex"], json!(start));
        assert_eq!(r.json["itemsPerPage"], json!(expect_n));
        assert_eq!(r.json["Resources"].as_array().unwrap().len(), expect_n);
        seen.extend(ids_of(&r));
    }
    assert_eq!(seen, ids);
    // Past the end.
    let r = c.get("/Users?startIndex=26&count=10").await;
    assert_eq!(r.json["totalResults"], json!(25));
    assert_eq!(r.json["itemsPerPage"], json!(0));
    assert_eq!(r.json["Resources"], json!([]));
    // startIndex < 1 is taken as 1 (RFC 7644 section 3.4.2.4).
    let r = c.get("/Users?startIndex=0&count=3").await;
    assert_eq!(r.json["startIndex"], json!(1));
    assert_eq!(ids_of(&r), ids[..3].to_vec());
    // count=0: totalResults only.
    let r = c.get("/Users?count=0").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["totalResults"], json!(25));
    assert_eq!(r.json["itemsPerPage"], json!(0));
    assert_eq!(r.json["Resources"], json!([]));
    // Negative count is 0.
    let r = c.get("/Users?count=-5").await;
    assert_eq!(r.json["totalResults"], json!(25));
    assert_eq!(r.json["itemsPerPage"], json!(0));
}

#[tokio::test]
async fn count_is_clamped_to_max_results() {
    let c = Client::new();
    numbered_users(&c, 150).await;
    let r = c.get("/Users?count=500").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["totalResults"], json!(150));
    assert_eq!(r.json["itemsPerPage"], json!(100));
    assert_eq!(r.json["Resources"].as_array().unwrap().len(), 100);
    // Without count the page is also at most 100.
    let r = c.get("/Users").await;
    assert_eq!(r.json["itemsPerPage"], json!(100));
    let r = c.get("/Users?startIndex=101&count=500").await;
    assert_eq!(r.json["itemsPerPage"], json!(50));
    assert_eq!(r.json["startIndex"], json!(101));
}

#[tokio::test]
async fn sorting() {
    let c = Client::new();
    for (name, title) in [
        ("carol", Some("B")),
        ("alice", None),
        ("Bob", Some("A")),
        ("dave", Some("B")),
        ("erin", None),
        ("frank", Some("a2")),
    ] {
        let mut body = json!({ "schemas": [USER_SCHEMA], "userName": name });
        if let Some(t) = title {
            body["title"] = json!(t);
        }
        assert_eq!(c.post("/Users", &body).await.status, 201);
    }
    // userName is caseExact false: "Bob" sorts between alice and carol.
    let r = c.get("/Users?sortBy=userName").await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(
        user_names(&r),
        ["alice", "Bob", "carol", "dave", "erin", "frank"]
    );
    let r = c.get("/Users?sortBy=userName&sortOrder=ascending").await;
    assert_eq!(
        user_names(&r),
        ["alice", "Bob", "carol", "dave", "erin", "frank"]
    );
    let r = c.get("/Users?sortBy=userName&sortOrder=descending").await;
    assert_eq!(
        user_names(&r),
        ["frank", "erin", "dave", "carol", "Bob", "alice"]
    );
    // Missing values last in both directions; ties keep creation order.
    let r = c.get("/Users?sortBy=title").await;
    assert_eq!(
        user_names(&r),
        ["Bob", "frank", "carol", "dave", "alice", "erin"]
    );
    let r = c.get("/Users?sortBy=title&sortOrder=descending").await;
    assert_eq!(
        user_names(&r),
        ["carol", "dave", "frank", "Bob", "alice", "erin"]
    );
    // Sorting with paging is consistent.
    let r = c.get("/Users?sortBy=title&startIndex=3&count=2").await;
    assert_eq!(user_names(&r), ["carol", "dave"]);
    // Unknown sort attribute: invalidFilter (see the crate docs).
    let r = c.get("/Users?sortBy=noSuchAttr").await;
    r.assert_error(400, Some("invalidFilter"));
    let r = c.get("/Users?sortBy=userName&sortOrder=sideways").await;
    r.assert_error(400, Some("invalidValue"));
}

#[tokio::test]
async fn projection() {
    let c = Client::new();
    let r = c.post("/Users", &rfc_full_user()).await;
    let id = r.id();
    let r = c.get(&format!("/Users/{id}?attributes=userName")).await;
    assert_eq!(r.status, 200);
    let mut keys: Vec<&String> = r.json.as_object().unwrap().keys().collect();
    keys.sort();
    // id and schemas are always returned (RFC 7643 section 3.1, RFC 7644 section 3.9).
    assert_eq!(keys, ["id", "schemas", "userName"]);
    assert_eq!(r.json["userName"], json!("bjensen@example.com"));

    let r = c.get("/Users?attributes=userName,name.givenName").await;
    let u = &r.json["Resources"][0];
    assert_eq!(u["name"], json!({ "givenName": "Barbara" }));
    assert_eq!(u["userName"], json!("bjensen@example.com"));
    assert!(u.get("emails").is_none(), "{u}");

    let r = c
        .get(&format!("/Users/{id}?excludedAttributes=emails"))
        .await;
    assert!(r.json.get("emails").is_none(), "{}", r.json);
    assert_eq!(r.json["userName"], json!("bjensen@example.com"));
    assert_eq!(r.json["phoneNumbers"], rfc_full_user()["phoneNumbers"]);
    assert_eq!(r.json["id"], json!(id));
    // id (returned always) cannot be excluded; userName is returned "default" in
    // RFC 7643 section 8.7.1, so it can.
    let r = c
        .get(&format!(
            "/Users/{id}?excludedAttributes=id,userName,name.familyName"
        ))
        .await;
    assert_eq!(r.json["id"], json!(id));
    assert_eq!(r.json["schemas"], json!([USER_SCHEMA]));
    assert!(r.json.get("userName").is_none(), "{}", r.json);
    assert!(r.json["name"].get("familyName").is_none(), "{}", r.json);
    assert_eq!(r.json["name"]["givenName"], json!("Barbara"));
}

#[tokio::test]
async fn search_via_post_matches_get() {
    let c = Client::new();
    for (n, t) in [("a1", "x"), ("a2", "y"), ("a3", "x"), ("b1", "x")] {
        let body = json!({ "schemas": [USER_SCHEMA], "userName": n, "title": t });
        assert_eq!(c.post("/Users", &body).await.status, 201);
    }
    let g = c
        .get("/Users?filter=userName sw \"a\" and title eq \"x\"&sortBy=userName&sortOrder=descending&attributes=userName&count=5")
        .await;
    assert_eq!(g.status, 200, "{}", g.json);
    assert_eq!(user_names(&g), ["a3", "a1"]);
    let p = c
        .post(
            "/Users/.search",
            &json!({
                "schemas": [SEARCH_REQUEST],
                "filter": "userName sw \"a\" and title eq \"x\"",
                "sortBy": "userName",
                "sortOrder": "descending",
                "attributes": ["userName"],
                "startIndex": 1,
                "count": 5
            }),
        )
        .await;
    assert_eq!(p.status, 200, "{}", p.json);
    assert_eq!(p.json, g.json);
    assert!(p.json["Resources"][0].get("title").is_none());

    // Root search spans resource types.
    c.create_group("a-group", &[]).await;
    let r = c
        .post(
            "/.search",
            &json!({ "schemas": [SEARCH_REQUEST], "filter": "meta.resourceType eq \"Group\"" }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["totalResults"], json!(1));
    assert_eq!(r.json["Resources"][0]["displayName"], json!("a-group"));
}

#[tokio::test]
async fn invalid_filter_is_rejected_never_ignored() {
    let c = Client::new();
    numbered_users(&c, 3).await;
    for f in [
        "userName eq",
        "userName xx \"a\"",
        "(userName eq \"a\"",
        "noSuchAttribute eq \"a\"",
        "userName eq \"a\" and",
        "emails[type eq \"work\"",
    ] {
        let r = c.get(&format!("/Users?filter={f}")).await;
        r.assert_error(400, Some("invalidFilter"));
        assert!(r.json.get("Resources").is_none());
        let r = c
            .post(
                "/Users/.search",
                &json!({ "schemas": [SEARCH_REQUEST], "filter": f }),
            )
            .await;
        r.assert_error(400, Some("invalidFilter"));
    }
    // A valid filter still works.
    let r = c.get("/Users?filter=userName eq \"user001\"").await;
    assert_eq!(r.json["totalResults"], json!(1));
}

// ---------------------------------------------------------------------------------------
// ETags
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn etags_and_preconditions() {
    let c = Client::new();
    let id = c.create_user("etag").await;
    let r = c.get(&format!("/Users/{id}")).await;
    let etag = r.header("etag").expect("ETag header").to_owned();
    assert_eq!(etag, r.version());
    assert_eq!(etag, "W/\"1\"");

    let r = c
        .get_with(&format!("/Users/{id}"), &[("if-none-match", &etag)])
        .await;
    assert_eq!(r.status, 304);
    assert_eq!(r.json, Value::Null);
    assert_eq!(r.header("etag"), Some(etag.as_str()));
    let r = c
        .get_with(&format!("/Users/{id}"), &[("if-none-match", "W/\"999\"")])
        .await;
    assert_eq!(r.status, 200);

    let body = json!({ "schemas": [USER_SCHEMA], "userName": "etag", "title": "T" });
    let wrong = [("if-match", "W/\"7\"")];
    c.put_with(&format!("/Users/{id}"), &body, &wrong)
        .await
        .assert_error(412, None);
    let patch = json!({ "schemas": [PATCH_OP], "Operations": [{ "op": "add", "path": "title", "value": "P" }] });
    c.patch_with(&format!("/Users/{id}"), &patch, &wrong)
        .await
        .assert_error(412, None);
    c.delete_with(&format!("/Users/{id}"), &wrong)
        .await
        .assert_error(412, None);
    // Nothing changed.
    let r = c.get(&format!("/Users/{id}")).await;
    assert_eq!(r.version(), "W/\"1\"");
    assert!(r.json.get("title").is_none());

    let r = c
        .put_with(&format!("/Users/{id}"), &body, &[("if-match", &etag)])
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["title"], json!("T"));
    let v2 = r.header("etag").unwrap().to_owned();
    assert_eq!(v2, "W/\"2\"");
    assert_eq!(r.version(), v2);
    // The old ETag is now stale.
    c.patch_with(&format!("/Users/{id}"), &patch, &[("if-match", &etag)])
        .await
        .assert_error(412, None);
    let r = c
        .patch_with(&format!("/Users/{id}"), &patch, &[("if-match", &v2)])
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["title"], json!("P"));
    let v3 = r.version();
    assert_eq!(r.header("etag"), Some(v3.as_str()));
    // Strong form of the same version and "*" match too.
    let r = c
        .delete_with(&format!("/Users/{id}"), &[("if-match", "\"3\"")])
        .await;
    assert_eq!(r.status, 204);
    let id2 = c.create_user("etag2").await;
    let r = c
        .delete_with(&format!("/Users/{id2}"), &[("if-match", "*")])
        .await;
    assert_eq!(r.status, 204);
}

// ---------------------------------------------------------------------------------------
// Bulk
// ---------------------------------------------------------------------------------------

fn bulk_results(r: &common::Resp) -> &Vec<Value> {
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["schemas"], json!([BULK_RESPONSE]));
    r.json["Operations"].as_array().expect("Operations")
}

#[tokio::test]
async fn bulk_rfc_example_with_bulk_id_reference() {
    let c = Client::new();
    let r = c
        .post(
            "/Bulk",
            &json!({
                "schemas": [BULK_REQUEST],
                "Operations": [
                    { "method": "POST", "path": "/Users", "bulkId": "qwerty", "data": {
                        "schemas": [USER_SCHEMA], "userName": "Alice"
                    }},
                    { "method": "POST", "path": "/Groups", "bulkId": "ytrewq", "data": {
                        "schemas": [GROUP_SCHEMA], "displayName": "Tour Guides",
                        "members": [{ "type": "User", "value": "bulkId:qwerty" }]
                    }}
                ]
            }),
        )
        .await;
    let ops = bulk_results(&r);
    assert_eq!(ops.len(), 2);
    assert_eq!(ops[0]["status"], json!("201"));
    assert_eq!(ops[0]["bulkId"], json!("qwerty"));
    assert_eq!(ops[0]["method"], json!("POST"));
    assert_eq!(ops[1]["status"], json!("201"));
    let user_loc = ops[0]["location"].as_str().unwrap();
    let user_id = user_loc.rsplit('/').next().unwrap();
    let group_id = ops[1]["location"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap();
    assert_eq!(
        user_loc,
        format!("https://example.com/scim/v2/Users/{user_id}")
    );
    let g = c.get(&format!("/Groups/{group_id}")).await;
    assert_eq!(g.json["members"][0]["value"], json!(user_id));
    let u = c.get(&format!("/Users/{user_id}")).await;
    assert_eq!(u.json["userName"], json!("Alice"));
    assert_eq!(u.json["groups"][0]["value"], json!(group_id));
}

#[tokio::test]
async fn bulk_forward_reference() {
    let c = Client::new();
    let r = c
        .post(
            "/Bulk",
            &json!({
                "schemas": [BULK_REQUEST],
                "Operations": [
                    { "method": "POST", "path": "/Groups", "bulkId": "g", "data": {
                        "schemas": [GROUP_SCHEMA], "displayName": "G",
                        "members": [{ "value": "bulkId:u" }]
                    }},
                    { "method": "POST", "path": "/Users", "bulkId": "u", "data": {
                        "schemas": [USER_SCHEMA], "userName": "forward"
                    }}
                ]
            }),
        )
        .await;
    let ops = bulk_results(&r);
    assert_eq!(ops.len(), 2);
    let find = |b: &str| {
        ops.iter()
            .find(|o| o["bulkId"] == json!(b))
            .unwrap()
            .clone()
    };
    assert_eq!(find("g")["status"], json!("201"));
    assert_eq!(find("u")["status"], json!("201"));
    let uid = find("u")["location"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    let gid = find("g")["location"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    let g = c.get(&format!("/Groups/{gid}")).await;
    assert_eq!(values_of(&g.json["members"]), vec![uid]);
}

#[tokio::test]
async fn bulk_cycle_and_unknown_bulk_id() {
    let c = Client::new();
    let r = c
        .post(
            "/Bulk",
            &json!({
                "schemas": [BULK_REQUEST],
                "Operations": [
                    { "method": "POST", "path": "/Groups", "bulkId": "a", "data": {
                        "schemas": [GROUP_SCHEMA], "displayName": "A", "members": [{ "value": "bulkId:b" }]
                    }},
                    { "method": "POST", "path": "/Groups", "bulkId": "b", "data": {
                        "schemas": [GROUP_SCHEMA], "displayName": "B", "members": [{ "value": "bulkId:a" }]
                    }}
                ]
            }),
        )
        .await;
    let ops = bulk_results(&r);
    assert_eq!(ops.len(), 2);
    for o in ops {
        assert_eq!(o["status"], json!("409"), "{o}");
        assert_eq!(o["response"]["scimType"], json!("invalidValue"), "{o}");
        assert_eq!(o["response"]["schemas"], json!([ERROR]), "{o}");
        assert_eq!(o["response"]["status"], json!("409"), "{o}");
    }
    assert_eq!(c.get("/Groups").await.json["totalResults"], json!(0));

    let r = c
        .post(
            "/Bulk",
            &json!({
                "schemas": [BULK_REQUEST],
                "Operations": [
                    { "method": "POST", "path": "/Groups", "bulkId": "g", "data": {
                        "schemas": [GROUP_SCHEMA], "displayName": "G", "members": [{ "value": "bulkId:nope" }]
                    }}
                ]
            }),
        )
        .await;
    let ops = bulk_results(&r);
    assert_eq!(ops[0]["status"], json!("409"));
    assert_eq!(ops[0]["response"]["scimType"], json!("invalidValue"));
    assert_eq!(c.get("/Groups").await.json["totalResults"], json!(0));
}

#[tokio::test]
async fn bulk_fail_on_errors_stops() {
    let c = Client::new();
    c.create_user("taken").await;
    let r = c
        .post(
            "/Bulk",
            &json!({
                "schemas": [BULK_REQUEST],
                "failOnErrors": 1,
                "Operations": [
                    { "method": "POST", "path": "/Users", "bulkId": "1", "data": { "schemas": [USER_SCHEMA], "userName": "first" } },
                    { "method": "POST", "path": "/Users", "bulkId": "2", "data": { "schemas": [USER_SCHEMA], "userName": "taken" } },
                    { "method": "POST", "path": "/Users", "bulkId": "3", "data": { "schemas": [USER_SCHEMA], "userName": "third" } }
                ]
            }),
        )
        .await;
    let ops = bulk_results(&r);
    assert_eq!(ops.len(), 2, "{}", r.json);
    assert_eq!(ops[0]["status"], json!("201"));
    assert_eq!(ops[1]["status"], json!("409"));
    assert_eq!(ops[1]["response"]["scimType"], json!("uniqueness"));
    let r = c.get("/Users?filter=userName eq \"third\"").await;
    assert_eq!(r.json["totalResults"], json!(0));
    let r = c.get("/Users").await;
    assert_eq!(r.json["totalResults"], json!(2));

    // Without failOnErrors every operation runs.
    let r = c
        .post(
            "/Bulk",
            &json!({
                "schemas": [BULK_REQUEST],
                "Operations": [
                    { "method": "POST", "path": "/Users", "bulkId": "1", "data": { "schemas": [USER_SCHEMA], "userName": "taken" } },
                    { "method": "POST", "path": "/Users", "bulkId": "2", "data": { "schemas": [USER_SCHEMA], "userName": "fourth" } }
                ]
            }),
        )
        .await;
    let ops = bulk_results(&r);
    assert_eq!(ops.len(), 2);
    assert_eq!(ops[0]["status"], json!("409"));
    assert_eq!(ops[1]["status"], json!("201"));
}

#[tokio::test]
async fn bulk_too_many_operations() {
    let c = Client::with_config(scim_core::ScimConfig {
        bulk_max_operations: 3,
        ..Default::default()
    });
    let op = |i: usize| {
        json!({ "method": "POST", "path": "/Users", "bulkId": format!("b{i}"),
                "data": { "schemas": [USER_SCHEMA], "userName": format!("u{i}") } })
    };
    let r = c
        .post(
            "/Bulk",
            &json!({ "schemas": [BULK_REQUEST], "Operations": (0..4).map(op).collect::<Vec<_>>() }),
        )
        .await;
    r.assert_error(413, None);
    assert_eq!(c.get("/Users").await.json["totalResults"], json!(0));
    let r = c
        .post(
            "/Bulk",
            &json!({ "schemas": [BULK_REQUEST], "Operations": (0..3).map(op).collect::<Vec<_>>() }),
        )
        .await;
    assert_eq!(bulk_results(&r).len(), 3);
    assert_eq!(c.get("/Users").await.json["totalResults"], json!(3));
}

// ---------------------------------------------------------------------------------------
// Discovery and errors
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn discovery_endpoints() {
    let c = Client::new();
    let r = c.get("/ServiceProviderConfig").await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(
        r.json["schemas"],
        json!(["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"])
    );
    assert_eq!(r.json["filter"]["supported"], json!(true));
    assert_eq!(r.json["filter"]["maxResults"], json!(100));
    assert_eq!(r.json["bulk"]["supported"], json!(true));
    assert_eq!(r.json["bulk"]["maxOperations"], json!(1000));
    assert_eq!(r.json["bulk"]["maxPayloadSize"], json!(1_048_576));
    assert_eq!(r.json["patch"]["supported"], json!(true));
    assert_eq!(r.json["etag"]["supported"], json!(true));
    assert_eq!(r.json["sort"]["supported"], json!(true));

    let r = c.get("/Schemas").await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["schemas"], json!([LIST_RESPONSE]));
    let mut ids: Vec<&str> = r.json["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    ids.sort();
    assert_eq!(ids, [GROUP_SCHEMA, USER_SCHEMA, ENTERPRISE]);
    assert_eq!(r.json["totalResults"], json!(3));

    let r = c.get(&format!("/Schemas/{USER_SCHEMA}")).await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["id"], json!(USER_SCHEMA));
    assert_eq!(r.json["name"], json!("User"));
    let attrs = r.json["attributes"].as_array().unwrap();
    let user_name = attrs
        .iter()
        .find(|a| a["name"] == json!("userName"))
        .unwrap();
    assert_eq!(user_name["uniqueness"], json!("server"));
    assert_eq!(user_name["required"], json!(true));
    let password = attrs
        .iter()
        .find(|a| a["name"] == json!("password"))
        .unwrap();
    assert_eq!(password["returned"], json!("never"));
    let r = c.get(&format!("/Schemas/{ENTERPRISE}")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["id"], json!(ENTERPRISE));
    c.get("/Schemas/urn:nope").await.assert_error(404, None);

    let r = c.get("/ResourceTypes").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["totalResults"], json!(2));
    let r = c.get("/ResourceTypes/User").await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["id"], json!("User"));
    assert_eq!(r.json["endpoint"], json!("/Users"));
    assert_eq!(r.json["schema"], json!(USER_SCHEMA));
    assert_eq!(r.json["schemaExtensions"][0]["schema"], json!(ENTERPRISE));
    assert_eq!(r.json["schemaExtensions"][0]["required"], json!(false));
    let r = c.get("/ResourceTypes/Group").await;
    assert_eq!(r.json["endpoint"], json!("/Groups"));
}

#[tokio::test]
async fn errors_have_the_rfc_shape() {
    let c = Client::new();
    let r = c.get("/Foo").await;
    r.assert_error(404, None);
    assert!(r.json["detail"].is_string());
    assert_eq!(r.header("content-type"), Some("application/scim+json"));
    c.get("/Users/no-such-id").await.assert_error(404, None);
    c.get("/Users/a/b").await.assert_error(404, None);
    // Malformed JSON.
    let req = http::Request::builder()
        .method("POST")
        .uri("/Users")
        .body(bytes::Bytes::from_static(b"{not json"))
        .unwrap();
    let resp = c.service.handle(common::BASE, req).await;
    assert_eq!(resp.status(), 400);
    let body: Value = serde_json::from_slice(resp.body()).unwrap();
    assert_eq!(body["scimType"], json!("invalidSyntax"));
    assert_eq!(body["status"], json!("400"));
    // PATCH with an unknown op.
    let id = c.create_user("e").await;
    let r = c
        .patch_ops(
            &format!("/Users/{id}"),
            json!([{ "op": "move", "path": "title", "value": "x" }]),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json["schemas"], json!([ERROR]));
    assert_eq!(r.json["status"], json!("400"));
    // Remove without a path.
    let r = c
        .patch_ops(&format!("/Users/{id}"), json!([{ "op": "remove" }]))
        .await;
    r.assert_error(400, Some("noTarget"));
}

// ---------------------------------------------------------------------------------------
// More edge cases
// ---------------------------------------------------------------------------------------

/// A user's `groups` is computed from the groups' members, not stored; filters on it must
/// still match (`groups.value eq "..."`, `groups pr`).
#[tokio::test]
async fn filter_on_users_groups() {
    // RFC 7643 section 4.1.2: "groups" is a readOnly attribute of the User; clients may filter
    // on it like any other (RFC 7644 section 3.4.2.2).
    let c = Client::new();
    let a = c.create_user("a").await;
    let b = c.create_user("b").await;
    let gid = c.create_group("G", &[&a]).await;
    let r = c
        .get(&format!("/Users?filter=groups.value eq \"{gid}\""))
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["totalResults"], json!(1), "{}", r.json);
    assert_eq!(r.json["Resources"][0]["id"], json!(a));
    let r = c.get("/Users?filter=groups pr").await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(ids_of(&r), vec![a.clone()]);
    let r = c.get("/Users?filter=not (groups pr)").await;
    assert_eq!(ids_of(&r), vec![b]);
}

#[tokio::test]
async fn bulk_patch_put_delete_with_bulk_id_path_and_version() {
    let c = Client::new();
    let r = c
        .post(
            "/Bulk",
            &json!({
                "schemas": [BULK_REQUEST],
                "Operations": [
                    { "method": "POST", "path": "/Users", "bulkId": "u", "data": {
                        "schemas": [USER_SCHEMA], "userName": "bulkuser" } },
                    { "method": "POST", "path": "/Groups", "bulkId": "g", "data": {
                        "schemas": [GROUP_SCHEMA], "displayName": "BG" } },
                    { "method": "PATCH", "path": "/Groups/bulkId:g", "data": {
                        "schemas": [PATCH_OP],
                        "Operations": [{ "op": "add", "path": "members", "value": [{ "value": "bulkId:u" }] }] } },
                    { "method": "PUT", "path": "/Users/bulkId:u", "version": "W/\"1\"", "data": {
                        "schemas": [USER_SCHEMA], "userName": "bulkuser", "title": "T" } },
                    { "method": "PUT", "path": "/Users/bulkId:u", "version": "W/\"1\"", "data": {
                        "schemas": [USER_SCHEMA], "userName": "bulkuser", "title": "stale" } }
                ]
            }),
        )
        .await;
    let ops = bulk_results(&r);
    assert_eq!(ops.len(), 5, "{}", r.json);
    let statuses: Vec<&str> = ops.iter().map(|o| o["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["201", "201", "200", "200", "412"], "{}", r.json);
    let uid = ops[0]["location"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    let gid = ops[1]["location"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(
        ops[2]["location"],
        json!(format!("https://example.com/scim/v2/Groups/{gid}"))
    );
    let g = c.get(&format!("/Groups/{gid}")).await;
    assert_eq!(values_of(&g.json["members"]), vec![uid.clone()]);
    assert_eq!(
        g.json["members"][0]["$ref"],
        json!(format!("https://example.com/scim/v2/Users/{uid}"))
    );
    let u = c.get(&format!("/Users/{uid}")).await;
    assert_eq!(u.json["title"], json!("T"));

    let r = c
        .post(
            "/Bulk",
            &json!({ "schemas": [BULK_REQUEST], "Operations": [
                { "method": "DELETE", "path": format!("/Users/{uid}") },
                { "method": "DELETE", "path": format!("/Users/{uid}") }
            ]}),
        )
        .await;
    let ops = bulk_results(&r);
    assert_eq!(ops[0]["status"], json!("204"));
    assert_eq!(ops[1]["status"], json!("404"));
    assert_eq!(ops[1]["response"]["status"], json!("404"));
    c.get(&format!("/Users/{uid}"))
        .await
        .assert_error(404, None);
}

#[tokio::test]
async fn binary_must_be_base64() {
    // RFC 7643 section 2.3.6: binary values are base64-encoded.
    let c = Client::new();
    let r = c
        .post(
            "/Users",
            &json!({ "schemas": [USER_SCHEMA], "userName": "x509",
                     "x509Certificates": [{ "value": "not base64 at all!" }] }),
        )
        .await;
    r.assert_error(400, Some("invalidValue"));
}

#[tokio::test]
async fn strict_profile_rejects_unknown_schema_and_attribute() {
    let c = Client::strict();
    let r = c
        .post(
            "/Groups",
            &json!({ "schemas": [GROUP_SCHEMA, "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/Group"],
                     "displayName": "G" }),
        )
        .await;
    r.assert_error(400, Some("invalidValue"));
    let r = c
        .post(
            "/Users",
            &json!({ "schemas": [USER_SCHEMA], "userName": "u", "customThing": "x" }),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.json);
    let r = c.post("/Users", &json!({ "userName": "u" })).await;
    assert_eq!(r.status, 400, "{}", r.json);
    assert_eq!(c.get("/Users").await.json["totalResults"], json!(0));
    assert_eq!(c.get("/Groups").await.json["totalResults"], json!(0));
    // The default profile accepts all three (and ignores the unknown attribute).
    let c = Client::new();
    let r = c
        .post(
            "/Users",
            &json!({ "schemas": [USER_SCHEMA], "userName": "u", "customThing": "x" }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.json);
    assert!(r.json.get("customThing").is_none());
    let r = c.post("/Users", &json!({ "userName": "v" })).await;
    assert_eq!(r.status, 201, "{}", r.json);
    assert_eq!(r.json["schemas"], json!([USER_SCHEMA]));
}

#[tokio::test]
async fn deleted_resource_is_gone_for_every_operation() {
    let c = Client::new();
    let id = c.create_user("gone").await;
    assert_eq!(c.delete(&format!("/Users/{id}")).await.status, 204);
    c.patch_ops(
        &format!("/Users/{id}"),
        json!([{ "op": "add", "path": "title", "value": "x" }]),
    )
    .await
    .assert_error(404, None);
    c.put(
        &format!("/Users/{id}"),
        &json!({ "schemas": [USER_SCHEMA], "userName": "gone" }),
    )
    .await
    .assert_error(404, None);
    // The userName is free again.
    let r = c
        .post(
            "/Users",
            &json!({ "schemas": [USER_SCHEMA], "userName": "GONE" }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.json);
}

#[tokio::test]
async fn filters_with_escapes_and_datetimes() {
    let c = Client::new();
    let id = c.create_user("quote\"and\\slash").await;
    let r = c
        .get("/Users?filter=userName eq \"quote\\\"and\\\\slash\"")
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(ids_of(&r), vec![id.clone()]);
    let r = c
        .get("/Users?filter=meta.created gt \"2000-01-01T00:00:00Z\" and meta.lastModified lt \"2999-01-01T00:00:00+02:00\"")
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(ids_of(&r), vec![id.clone()]);
    let r = c
        .get("/Users?filter=meta.created lt \"2000-01-01T00:00:00Z\"")
        .await;
    assert_eq!(r.json["totalResults"], json!(0));
    let r = c.get("/Users?filter=USERNAME Sw \"QUOTE\"").await;
    assert_eq!(ids_of(&r), vec![id]);
}

#[tokio::test]
async fn patch_paths_sub_attributes_urns_and_case() {
    let c = Client::new();
    let r = c
        .post(
            "/Users",
            &json!({ "schemas": [USER_SCHEMA], "userName": "paths" }),
        )
        .await;
    assert_eq!(r.header("etag"), Some("W/\"1\""));
    let id = r.id();
    let p = format!("/Users/{id}");
    // add a sub-attribute of an absent complex attribute.
    let r = c
        .patch_ops(
            &p,
            json!([{ "op": "add", "path": "name.givenName", "value": "Barbara" }]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["name"], json!({ "givenName": "Barbara" }));
    assert_eq!(r.header("etag"), Some("W/\"2\""));
    // Case-insensitive, URN-qualified core path.
    let r = c
        .patch_ops(
            &p,
            json!([{ "op": "replace", "path": "urn:ietf:params:scim:schemas:core:2.0:User:NAME.FAMILYNAME", "value": "Jensen" }]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(
        r.json["name"],
        json!({ "givenName": "Barbara", "familyName": "Jensen" })
    );
    // replace on a complex attribute merges sub-attributes (RFC 7644 section 3.5.2.3).
    let r = c
        .patch_ops(
            &p,
            json!([{ "op": "replace", "path": "name", "value": { "givenName": "Babs" } }]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(
        r.json["name"],
        json!({ "givenName": "Babs", "familyName": "Jensen" })
    );
    // remove a sub-attribute.
    let r = c
        .patch_ops(&p, json!([{ "op": "remove", "path": "name.givenName" }]))
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["name"], json!({ "familyName": "Jensen" }));
    // A bare extension URN path with an object value.
    let r = c
        .patch_ops(
            &p,
            json!([{ "op": "add", "path": ENTERPRISE, "value": { "department": "D", "costCenter": "C" } }]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(
        r.json[ENTERPRISE],
        json!({ "department": "D", "costCenter": "C" })
    );
    assert_eq!(r.json["schemas"], json!([USER_SCHEMA, ENTERPRISE]));
    // Removing the last extension attribute drops the extension and its schema URN.
    let r = c
        .patch_ops(
            &p,
            json!([
                { "op": "remove", "path": format!("{ENTERPRISE}:department") },
                { "op": "remove", "path": format!("{ENTERPRISE}:costCenter") }
            ]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert!(r.json.get(ENTERPRISE).is_none(), "{}", r.json);
    assert_eq!(r.json["schemas"], json!([USER_SCHEMA]));
    // Unknown sub-attribute and filter on a simple attribute are invalidPath.
    c.patch_ops(
        &p,
        json!([{ "op": "add", "path": "name.nope", "value": "x" }]),
    )
    .await
    .assert_error(400, Some("invalidPath"));
    c.patch_ops(
        &p,
        json!([{ "op": "add", "path": "userName[value eq \"x\"]", "value": "x" }]),
    )
    .await
    .assert_error(400, Some("invalidPath"));
    c.patch_ops(
        &p,
        json!([{ "op": "add", "path": "emails[type eq", "value": "x" }]),
    )
    .await
    .assert_error(400, Some("invalidPath"));
    // Response projection applies to PATCH responses too (RFC 7644 section 3.9).
    let r = c
        .patch(
            &format!("{p}?attributes=title"),
            &json!({ "schemas": [PATCH_OP], "Operations": [{ "op": "add", "path": "title", "value": "T" }] }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let mut keys: Vec<&String> = r.json.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["id", "schemas", "title"]);
}

#[tokio::test]
async fn payload_too_large() {
    let c = Client::with_config(scim_core::ScimConfig {
        max_payload_size: 200,
        ..Default::default()
    });
    let r = c
        .post(
            "/Users",
            &json!({ "schemas": [USER_SCHEMA], "userName": "x".repeat(300) }),
        )
        .await;
    r.assert_error(413, None);
    assert_eq!(c.get("/Users").await.json["totalResults"], json!(0));
    let r = c.get("/ServiceProviderConfig").await;
    assert_eq!(r.json["bulk"]["maxPayloadSize"], json!(200));
}
