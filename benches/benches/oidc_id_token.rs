//! ID token validation with cached keys (RS256 with RSA-2048, ES256), next to the bare
//! OpenSSL verification of the same signature, so the overhead of parsing and the claim
//! checks shows as the ratio of the two.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use gatehouse_benches::{OIDC_CLIENT_ID, OIDC_ISSUER, OIDC_NOW, OIDC_TOKENS_JSON};
use oidc_rp::jws::{Algorithm, CompactJws, verify_signature};
use oidc_rp::{Expectations, JwkSet, ValidationConfig, validate_id_token};
use serde_json::Value;

fn inputs() -> (Value, JwkSet) {
    let doc: Value = serde_json::from_str(OIDC_TOKENS_JSON).expect("tokens file");
    let jwks = JwkSet::from_json(doc["jwks"].to_string().as_bytes()).expect("jwks");
    (doc, jwks)
}

fn validation(c: &mut Criterion) {
    let (doc, jwks) = inputs();
    let config = ValidationConfig::new(OIDC_ISSUER, OIDC_CLIENT_ID);
    let nonce = doc["nonce"].as_str().expect("nonce").to_owned();
    let expect = Expectations {
        nonce: Some(&nonce),
        ..Expectations::default()
    };
    let mut g = c.benchmark_group("oidc_id_token");
    g.throughput(Throughput::Elements(1));
    for alg in ["rs256", "es256"] {
        let token = doc[alg].as_str().expect("token").to_owned();
        // The bench is only meaningful if the token validates.
        let claims = validate_id_token(&token, &jwks, &config, &expect, OIDC_NOW).expect("valid");
        assert_eq!(claims.sub, "00u1a2b3c4d5e6f7g8h9");
        g.bench_function(format!("validate_{alg}"), |b| {
            b.iter(|| validate_id_token(black_box(&token), &jwks, &config, &expect, OIDC_NOW))
        });
    }
    g.finish();
}

fn bare_openssl(c: &mut Criterion) {
    let (doc, jwks) = inputs();
    let mut g = c.benchmark_group("openssl_verify");
    g.throughput(Throughput::Elements(1));
    for (name, alg, kid) in [
        ("rs256", Algorithm::RS256, "rsa-1"),
        ("es256", Algorithm::ES256, "ec-1"),
    ] {
        let token = doc[name].as_str().expect("token");
        let parsed = CompactJws::parse(token, 1 << 16).expect("parse");
        let key = jwks.candidates(Some(kid), alg).expect("key")[0]
            .public_key()
            .clone();
        assert!(parsed.verify_with(&key).expect("verify"));
        let (input, signature) = token.rsplit_once('.').expect("signature");
        let signature = base64_decode(signature);
        g.bench_function(format!("signature_only_{name}"), |b| {
            b.iter(|| verify_signature(alg, &key, black_box(input.as_bytes()), &signature))
        });
    }
    g.finish();
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .expect("base64")
}

criterion_group!(benches, validation, bare_openssl);
criterion_main!(benches);
