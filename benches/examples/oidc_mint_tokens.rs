//! Writes `inputs/oidc_tokens.json`: fresh RSA-2048 and P-256 keys, their JWKS, and one
//! RS256 and one ES256 ID token with the same claims. Run once; the benches and
//! `compare/oidc_jose.mjs` read the file.

use gatehouse_benches::{OIDC_CLIENT_ID, OIDC_ISSUER, OIDC_NOW};
use oidc_rp::jws::sign_compact;
use oidc_rp::{Algorithm, Jwk};
use openssl::ec::{EcGroup, EcKey};
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private, Public};
use openssl::rsa::Rsa;
use serde_json::json;

fn public(key: &PKey<Private>) -> PKey<Public> {
    PKey::public_key_from_der(&key.public_key_to_der().expect("der")).expect("public")
}

fn main() {
    let rsa = PKey::from_rsa(Rsa::generate(2048).expect("rsa")).expect("pkey");
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).expect("group");
    let ec = PKey::from_ec_key(EcKey::generate(&group).expect("ec")).expect("pkey");
    let claims = json!({
        "iss": OIDC_ISSUER,
        "sub": "00u1a2b3c4d5e6f7g8h9",
        "aud": OIDC_CLIENT_ID,
        "iat": OIDC_NOW - 10,
        "exp": OIDC_NOW + 3600,
        "auth_time": OIDC_NOW - 20,
        "nonce": "bench-nonce-0123456789",
        "email": "jane.doe@example.com",
        "email_verified": true,
        "name": "Jane Doe",
    });
    let jwks = json!({ "keys": [
        Jwk::from_public_key(&public(&rsa), Some("rsa-1"), Some(Algorithm::RS256)).expect("jwk"),
        Jwk::from_public_key(&public(&ec), Some("ec-1"), Some(Algorithm::ES256)).expect("jwk"),
    ]});
    let out = json!({
        "issuer": OIDC_ISSUER,
        "client_id": OIDC_CLIENT_ID,
        "now": OIDC_NOW,
        "nonce": "bench-nonce-0123456789",
        "jwks": jwks,
        "rs256": sign_compact(Algorithm::RS256, &rsa, Some("rsa-1"), &claims).expect("sign"),
        "es256": sign_compact(Algorithm::ES256, &ec, Some("ec-1"), &claims).expect("sign"),
    });
    println!("{out:#}");
}
