//! Response validation on arbitrary bytes, as raw XML and as the base64 POST form.
//!
//! Property: validation never panics and returns either a verified assertion or a typed
//! error; with the fuzzer's inputs signed by nobody, it never accepts.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use saml_sp::metadata::generate_sp_credentials;
use saml_sp::response::check_response;
use saml_sp::{IdentityProvider, ServiceProvider, ValidationOptions};
use time::macros::datetime;

static IDP: LazyLock<IdentityProvider> = LazyLock::new(|| {
    let key = generate_sp_credentials("fuzz idp", 30).expect("key");
    IdentityProvider {
        entity_id: "https://idp.example.com/saml".into(),
        certificates: vec![key.certificate().expect("certificate").clone()],
    }
});

fuzz_target!(|data: &[u8]| {
    let sp = ServiceProvider {
        entity_id: "https://app.example.com/saml/metadata".into(),
        acs_url: "https://app.example.com/saml/acs".into(),
    };
    let options = ValidationOptions {
        allow_idp_initiated: true,
        ..ValidationOptions::default()
    };
    let now = datetime!(2026-12-04 08:00:00 UTC);
    let result = check_response(data, &sp, &IDP, &options, &[], now);
    assert!(result.is_err(), "an unsigned fuzz input was accepted");
});
