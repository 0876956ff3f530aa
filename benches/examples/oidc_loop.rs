//! Validates one bench ID token in a tight loop, for counting instructions with
//! `valgrind --tool=callgrind` (argument 1: `rs256` or `es256`, argument 2: iterations),
//! where wall-clock rates on a busy machine are noisy.

use std::hint::black_box;

use gatehouse_benches::{OIDC_CLIENT_ID, OIDC_ISSUER, OIDC_NOW, OIDC_TOKENS_JSON};
use oidc_rp::{Expectations, JwkSet, ValidationConfig, validate_id_token};
use serde_json::Value;

fn main() {
    let alg = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "rs256".to_owned());
    let n: u64 = std::env::args()
        .nth(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000);
    let doc: Value = serde_json::from_str(OIDC_TOKENS_JSON).expect("tokens file");
    let jwks = JwkSet::from_json(doc["jwks"].to_string().as_bytes()).expect("jwks");
    let config = ValidationConfig::new(OIDC_ISSUER, OIDC_CLIENT_ID);
    let expect = Expectations {
        nonce: Some(doc["nonce"].as_str().expect("nonce")),
        ..Expectations::default()
    };
    let token = doc[alg.as_str()].as_str().expect("token");
    for _ in 0..n {
        validate_id_token(black_box(token), &jwks, &config, &expect, OIDC_NOW)
            .expect("valid token");
    }
}
