//! The SCIM PATCH path parser on arbitrary text, with and without a schema.
//!
//! Properties: parsing never panics, and a parsed path's display form, when it fits within
//! `MAX_FILTER_LEN`, parses again to the same path.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use scim_core::filter::MAX_FILTER_LEN;
use scim_core::path::{parse_patch_path, parse_patch_path_for};
use scim_core::schema::ResourceSchema;

static USER_SCHEMA: LazyLock<ResourceSchema> = LazyLock::new(ResourceSchema::user);

fuzz_target!(|text: &str| {
    if let Ok(path) = parse_patch_path(text) {
        let shown = path.to_string();
        if shown.len() <= MAX_FILTER_LEN {
            match parse_patch_path(&shown) {
                Ok(again) => assert_eq!(again, path, "display form {shown:?} of {text:?}"),
                Err(e) => panic!("display form {shown:?} of {text:?} does not parse: {e}"),
            }
        }
    }
    let _ = parse_patch_path_for(text, &USER_SCHEMA);
});
