//! Shared inputs for the Gatehouse benches, so the Rust benches and the side-by-side
//! comparison scripts measure the same things.

pub mod saml;

/// The single filter of the headline parse bench (`inputs/scim_filter_simple.txt`).
pub const SIMPLE_FILTER: &str = r#"userName eq "bjensen""#;

/// A fixed mix of realistic filters, one a line: value paths, `and`/`or`, `not`, dateTimes,
/// URN-qualified paths and the form Entra ID sends. `compare/scim_filter.py` reads the same
/// file, so both sides parse the same text.
pub const FILTER_MIX_TEXT: &str = include_str!("../inputs/scim_filter_mix.txt");

/// The filters of [`FILTER_MIX_TEXT`], in order.
pub fn filter_mix() -> Vec<&'static str> {
    FILTER_MIX_TEXT.lines().filter(|l| !l.is_empty()).collect()
}

/// A PATCH request of the shape Entra ID sends when a user's attributes change: replaces
/// by path, a value-path filter, an extension attribute, and a path-less replace.
pub fn sample_patch() -> serde_json::Value {
    serde_json::json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {"op": "Replace", "path": "displayName", "value": "Barbara Jensen"},
            {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "babs@example.com"},
            {"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "Tours"},
            {"op": "Replace", "value": {"active": "False", "name.givenName": "Babs"}},
            {"op": "Remove", "path": "ims[type eq \"xmpp\"]"}
        ]
    })
}

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

/// The ID tokens and JWKS of the OIDC benches (`inputs/oidc_tokens.json`, made by the
/// `oidc_mint_tokens` example): an RS256 (RSA-2048) and an ES256 token of the same claims,
/// valid at [`OIDC_NOW`]. `compare/oidc_jose.mjs` verifies the same tokens with `jose`.
pub const OIDC_TOKENS_JSON: &str = include_str!("../inputs/oidc_tokens.json");

/// The instant the bench tokens are validated at (seconds since the epoch).
pub const OIDC_NOW: i64 = 1_800_000_000;

/// The issuer of the bench tokens.
pub const OIDC_ISSUER: &str = "https://login.example.com";

/// The client id of the bench tokens.
pub const OIDC_CLIENT_ID: &str = "bench-client";
