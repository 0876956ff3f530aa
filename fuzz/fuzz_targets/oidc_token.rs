//! The OpenID Connect token parser and validator, the JWKS and discovery parsers, and the
//! callback parser on arbitrary bytes.
//!
//! The first byte picks what the rest is:
//! - 0: a compact token, validated against a JWKS of one RSA, one P-256 and one Ed25519 key;
//! - 1: an ID token payload, HMAC-signed with the client secret so that every claim check
//!   runs;
//! - 2: a protected header, HMAC-signed over a valid payload;
//! - 3: a logout token payload, HMAC-signed;
//! - 4: a JWKS document; 5: a discovery document; 6: callback parameters.
//!
//! Properties: nothing panics; an accepted ID token has the configured issuer, the client
//! id in `aud`, a `sub`, and an `exp` after the validation instant minus the leeway.
#![no_main]

use std::sync::LazyLock;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use libfuzzer_sys::fuzz_target;
use oidc_rp::{
    Algorithm, CallbackParams, Expectations, Jwk, JwkSet, ProviderMetadata, Secret,
    ValidationConfig, VerifyingKey, validate_id_token, validate_logout_token,
};
use openssl::ec::{EcGroup, EcKey};
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use serde_json::{Value, json};

const ISS: &str = "https://op.example.com";
const CLIENT: &str = "client-1";
const SECRET: &str = "fuzz-client-secret-0123456789abcdef";
const NOW: i64 = 1_800_000_000;

fn jwk(key: &PKey<Private>, kid: &str) -> VerifyingKey {
    let public = PKey::public_key_from_der(&key.public_key_to_der().expect("der")).expect("public");
    VerifyingKey::from_jwk(Jwk::from_public_key(&public, Some(kid), None).expect("jwk"))
        .expect("key")
}

static KEYS: LazyLock<JwkSet> = LazyLock::new(|| {
    let rsa = PKey::from_rsa(Rsa::generate(2048).expect("rsa")).expect("pkey");
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).expect("group");
    let ec = PKey::from_ec_key(EcKey::generate(&group).expect("ec")).expect("pkey");
    let ed = PKey::generate_ed25519().expect("ed25519");
    JwkSet::from_keys(vec![jwk(&rsa, "rsa"), jwk(&ec, "ec"), jwk(&ed, "ed")])
});

static CONFIG: LazyLock<ValidationConfig> = LazyLock::new(|| {
    let mut config = ValidationConfig::new(ISS, CLIENT);
    config.allow_hmac_with_client_secret = true;
    config.client_secret = Some(Secret::new(SECRET));
    config
});

fn check_accepted(token: &str) {
    let expect = Expectations {
        nonce: Some("n-1"),
        max_age: Some(600),
        access_token: Some("at"),
        code: Some("code"),
    };
    if let Ok(claims) = validate_id_token(token, &KEYS, &CONFIG, &expect, NOW) {
        assert_eq!(claims.iss, ISS);
        assert!(claims.aud.iter().any(|a| a == CLIENT));
        assert!(!claims.sub.is_empty());
        assert!(claims.exp + CONFIG.leeway_secs > NOW);
    }
    let _ = validate_id_token(token, &KEYS, &CONFIG, &Expectations::default(), NOW);
}

fn hmac_token(header: &[u8], payload: &[u8]) -> String {
    // sign_hmac takes JSON values; build the signing input by hand for raw bytes.
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let key = PKey::hmac(SECRET.as_bytes()).expect("hmac key");
    let mut signer =
        openssl::sign::Signer::new(openssl::hash::MessageDigest::sha256(), &key).expect("signer");
    signer.update(input.as_bytes()).expect("update");
    let signature = signer.sign_to_vec().expect("sign");
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 7 {
        0 => check_accepted(&String::from_utf8_lossy(rest)),
        1 => check_accepted(&hmac_token(br#"{"alg":"HS256"}"#, rest)),
        2 => {
            let payload = json!({"iss": ISS, "aud": CLIENT, "sub": "s", "iat": NOW, "exp": NOW + 60, "nonce": "n-1", "auth_time": NOW});
            check_accepted(&hmac_token(rest, payload.to_string().as_bytes()));
        }
        3 => {
            let token = hmac_token(br#"{"alg":"HS256","typ":"logout+jwt"}"#, rest);
            if let Ok(claims) = validate_logout_token(&token, &KEYS, &CONFIG, NOW) {
                assert_eq!(claims.iss, ISS);
                assert!(claims.sub.is_some() || claims.sid.is_some());
                let payload: Value = serde_json::from_slice(rest).expect("accepted JSON");
                assert!(payload.get("nonce").is_none());
            }
        }
        4 => {
            if let Ok(set) = JwkSet::from_json(rest) {
                for alg in [
                    Algorithm::RS256,
                    Algorithm::ES256,
                    Algorithm::EdDSA,
                    Algorithm::PS512,
                ] {
                    let _ = set.candidates(None, alg);
                    let _ = set.candidates(Some("k"), alg);
                }
            }
        }
        5 => {
            if let Ok(metadata) = ProviderMetadata::from_json(rest, ISS) {
                assert_eq!(metadata.issuer, ISS);
            }
        }
        _ => {
            let _ = CallbackParams::parse(rest);
        }
    }
});
