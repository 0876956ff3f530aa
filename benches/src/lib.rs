//! Shared inputs for the Gatehouse benches, so the Rust benches and the side-by-side
//! comparison scripts measure the same things.

/// The single filter of the headline parse bench.
pub const SIMPLE_FILTER: &str = r#"userName eq "bjensen""#;

/// A fixed mix of realistic filters: value paths, `and`/`or`, `not`, dateTimes, URN-qualified
/// paths and the form Entra ID sends. `benches/compare/scim_filter_python.py` holds the same
/// list.
pub const FILTER_MIX: [&str; 8] = [
    r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
    r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
    r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
    r#"meta.lastModified gt "2011-05-13T04:42:34Z" and meta.created lt "2011-05-13T04:42:34+02:00""#,
    r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984""#,
    r#"urn:ietf:params:scim:schemas:core:2.0:User:name.familyName co "O'Malley""#,
    r#"emails[type eq "work"].value eq "bjensen@example.com""#,
    r#"title pr and active eq true and (userName sw "bj" or displayName ew "Jensen")"#,
];

/// A sample User resource to evaluate filters against.
pub fn sample_user() -> serde_json::Value {
    serde_json::json!({
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
        ],
        "id": "2819c223-7f76-453a-919d-413861904646",
        "externalId": "bjensen",
        "userName": "bjensen@example.com",
        "name": {"familyName": "O'Malley", "givenName": "Barbara"},
        "displayName": "Babs Jensen",
        "title": "Tour Guide",
        "userType": "Employee",
        "active": true,
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "babs@jensen.org", "type": "home"}
        ],
        "ims": [{"value": "babs@foo.com", "type": "xmpp"}],
        "meta": {
            "resourceType": "User",
            "created": "2010-01-23T04:56:22Z",
            "lastModified": "2011-05-13T04:42:34Z"
        },
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "employeeNumber": "701984",
            "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d"}
        }
    })
}
