//! The SCIM filter parser and evaluator on arbitrary text.
//!
//! Properties: parsing never panics; a parsed filter's canonical form, when it fits within
//! `MAX_FILTER_LEN` (canonical numbers and escapes can be longer than the input's), parses
//! again to the same filter; evaluating it against a User and a Group never panics.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use scim_core::filter::{MAX_FILTER_LEN, parse_filter};
use scim_core::schema::ResourceSchema;
use serde_json::{Value, json};

static USER: LazyLock<Value> = LazyLock::new(|| {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "id": "2819c223", "userName": "bjensen", "active": true, "title": "",
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true},
                   {"value": "b@example.org"}],
        "phoneNumbers": [],
        "meta": {"created": "2011-05-13T04:42:34Z", "lastModified": "2011-05-13T06:42:34+02:00"},
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":
            {"employeeNumber": "701984", "manager": {"value": "26118915"}}
    })
});
static GROUP: LazyLock<Value> = LazyLock::new(|| {
    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": "g1",
           "displayName": "Tour Guides", "members": [{"value": "2819c223", "type": "User"}]})
});
static USER_SCHEMA: LazyLock<ResourceSchema> = LazyLock::new(ResourceSchema::user);
static GROUP_SCHEMA: LazyLock<ResourceSchema> = LazyLock::new(ResourceSchema::group);

fuzz_target!(|text: &str| {
    let Ok(filter) = parse_filter(text) else {
        return;
    };
    let canonical = filter.to_string();
    if canonical.len() <= MAX_FILTER_LEN {
        match parse_filter(&canonical) {
            Ok(again) => assert_eq!(again, filter, "canonical form {canonical:?} of {text:?}"),
            Err(e) => panic!("canonical form {canonical:?} of {text:?} does not parse: {e}"),
        }
    }
    let _ = filter.matches(&USER, &USER_SCHEMA);
    let _ = filter.matches(&GROUP, &GROUP_SCHEMA);
});
