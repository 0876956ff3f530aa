//! The hardened XML parser and exclusive canonicalization on arbitrary bytes.
//!
//! Properties: parsing never panics; for a parsed document, canonicalization (with and
//! without comments) never panics, and the canonical form parses again and canonicalizes
//! to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use saml_sp::c14n::{C14nOptions, canonicalize};
use saml_sp::dsig::IdMap;
use saml_sp::xml::{Document, XmlLimits};

fuzz_target!(|data: &[u8]| {
    let limits = XmlLimits {
        max_bytes: 64 * 1024,
        ..XmlLimits::default()
    };
    let Ok(doc) = Document::parse(data, &limits) else {
        return;
    };
    let _ = IdMap::build(&doc);
    // Canonical forms declare namespaces where they are used and expand empty elements,
    // so they may need more room than the input.
    let relaxed = XmlLimits {
        max_bytes: usize::MAX,
        max_attributes: usize::MAX,
        ..limits
    };
    for with_comments in [false, true] {
        let options = C14nOptions {
            with_comments,
            ..C14nOptions::default()
        };
        // A canonical form over the bound (namespace re-declaration blow-up) is refused.
        let Ok(canonical) = canonicalize(&doc, doc.root(), &options) else {
            continue;
        };
        let again = match Document::parse(&canonical, &relaxed) {
            Ok(d) => d,
            Err(e) => panic!(
                "canonical form does not parse ({e}): {}",
                String::from_utf8_lossy(&canonical)
            ),
        };
        assert_eq!(
            canonicalize(&again, again.root(), &options).ok(),
            Some(canonical),
            "canonicalization is not idempotent"
        );
    }
});
