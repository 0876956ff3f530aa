//! Validating a signed SAML Response of about 5 KB (RSA-2048, SHA-256), and its parts:
//! parsing, canonicalization, signature verification.
//!
//! `validate` runs every check that needs no storage (`check_response`); the request store
//! and replay cache are the host's and are measured by their own implementations.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use gatehouse_benches::saml::{NOW, signed_response};
use saml_sp::c14n::{C14nOptions, canonicalize};
use saml_sp::dsig::{DSIG_NS, IdMap, VerifyOptions, verify_enveloped};
use saml_sp::response::check_response;
use saml_sp::xml::{Document, XmlLimits};
use saml_sp::{SAML_ASSERTION_NS, ValidationOptions};

fn saml(c: &mut Criterion) {
    let (xml, _key, sp, idp) = signed_response();
    let options = ValidationOptions::default();
    assert!(check_response(xml.as_bytes(), &sp, &idp, &options, &[], NOW).is_ok());

    let mut g = c.benchmark_group("saml_response");
    g.throughput(Throughput::Elements(1));
    g.bench_function(format!("validate_{}_bytes", xml.len()), |b| {
        b.iter(|| check_response(black_box(xml.as_bytes()), &sp, &idp, &options, &[], NOW))
    });
    g.bench_function("parse", |b| {
        b.iter(|| Document::parse(black_box(xml.as_bytes()), &XmlLimits::default()))
    });

    let doc = Document::parse(xml.as_bytes(), &XmlLimits::default()).expect("parses");
    let ids = IdMap::build(&doc).expect("unique IDs");
    let assertion = doc
        .first_child_named(doc.root(), SAML_ASSERTION_NS, "Assertion")
        .expect("assertion");
    let signature = doc.first_child_named(assertion, DSIG_NS, "Signature");
    g.bench_function("canonicalize_assertion", |b| {
        b.iter(|| {
            canonicalize(
                black_box(&doc),
                assertion,
                &C14nOptions {
                    exclude: signature,
                    ..C14nOptions::default()
                },
            )
            .unwrap()
        })
    });
    g.bench_function("verify_signature", |b| {
        b.iter(|| {
            verify_enveloped(
                black_box(&doc),
                &ids,
                assertion,
                "Assertion",
                &idp.certificates,
                VerifyOptions::default(),
            )
        })
    });
    g.finish();
}

criterion_group!(benches, saml);
criterion_main!(benches);
