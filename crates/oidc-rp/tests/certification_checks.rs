//! One test per relying-party check of the OpenID certification plans (Basic, Config, Form
//! Post ID token checks, back-channel logout token defects), plus the malformed-token cases.
//! Tokens a real provider would never mint are minted here with keys generated per test run.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use oidc_rp::jws::{left_half_hash, left_half_hash_for_key, sign_hmac, sign_with_header};
use oidc_rp::{
    Algorithm, EntraTenants, Error, Expectations, IdTokenClaims, Jwk, JwkSet, ProviderProfile,
    Secret, ValidationConfig, VerifyingKey, end_session_url, validate_id_token,
    validate_logout_token,
};
use openssl::ec::{EcGroup, EcKey};
use openssl::nid::Nid;
use openssl::pkey::{Id, PKey, Private, Public};
use openssl::rsa::Rsa;
use serde_json::{Value, json};

const ISS: &str = "https://op.example.com";
const CLIENT: &str = "client-1";
const NOW: i64 = 1_800_000_000;
const NONCE: &str = "n-0S6_WzA2Mj";

struct TestKey {
    private: PKey<Private>,
    kid: &'static str,
}

fn public(key: &PKey<Private>) -> PKey<Public> {
    let der = key.public_key_to_der().expect("public key DER");
    PKey::public_key_from_der(&der).expect("public key")
}

fn rsa_key(kid: &'static str) -> TestKey {
    TestKey {
        private: PKey::from_rsa(Rsa::generate(2048).expect("rsa")).expect("pkey"),
        kid,
    }
}

fn ec_key(nid: Nid, kid: &'static str) -> TestKey {
    let group = EcGroup::from_curve_name(nid).expect("group");
    TestKey {
        private: PKey::from_ec_key(EcKey::generate(&group).expect("ec")).expect("pkey"),
        kid,
    }
}

fn ed_key(kid: &'static str) -> TestKey {
    TestKey {
        private: PKey::generate_ed25519().expect("ed25519"),
        kid,
    }
}

fn jwks(keys: &[(&TestKey, Option<&str>)]) -> JwkSet {
    let converted = keys
        .iter()
        .map(|(k, kid)| {
            let jwk = Jwk::from_public_key(&public(&k.private), *kid, None).expect("jwk");
            VerifyingKey::from_jwk(jwk).expect("verifying key")
        })
        .collect();
    JwkSet::from_keys(converted)
}

fn claims() -> Value {
    json!({
        "iss": ISS,
        "sub": "248289761001",
        "aud": CLIENT,
        "exp": NOW + 300,
        "iat": NOW - 10,
        "nonce": NONCE,
        "email": "jane@example.com",
        "email_verified": true,
    })
}

fn mint(alg: Algorithm, key: &TestKey, kid: Option<&str>, claims: &Value) -> String {
    let mut header = json!({ "alg": alg.name(), "typ": "JWT" });
    if let Some(kid) = kid {
        header["kid"] = json!(kid);
    }
    sign_with_header(alg, &key.private, &header, claims).expect("sign")
}

fn config() -> ValidationConfig {
    ValidationConfig::new(ISS, CLIENT)
}

fn expect_nonce() -> Expectations<'static> {
    Expectations {
        nonce: Some(NONCE),
        ..Expectations::default()
    }
}

fn validate(token: &str, keys: &JwkSet) -> Result<IdTokenClaims, Error> {
    validate_id_token(token, keys, &config(), &expect_nonce(), NOW)
}

/// Standard RS256 fixture: one key with kid "k1".
fn rs256() -> (TestKey, JwkSet) {
    let key = rsa_key("k1");
    let set = jwks(&[(&key, Some("k1"))]);
    (key, set)
}

fn with(mut base: Value, f: impl FnOnce(&mut serde_json::Map<String, Value>)) -> Value {
    if let Some(obj) = base.as_object_mut() {
        f(obj);
    }
    base
}

// --- signatures and algorithms --------------------------------------------------------

#[test]
fn every_asymmetric_algorithm_verifies() {
    let rsa = rsa_key("rsa");
    let p256 = ec_key(Nid::X9_62_PRIME256V1, "p256");
    let p384 = ec_key(Nid::SECP384R1, "p384");
    let p521 = ec_key(Nid::SECP521R1, "p521");
    let ed = ed_key("ed");
    let set = jwks(&[
        (&rsa, Some("rsa")),
        (&p256, Some("p256")),
        (&p384, Some("p384")),
        (&p521, Some("p521")),
        (&ed, Some("ed")),
    ]);
    let cases = [
        (Algorithm::RS256, &rsa),
        (Algorithm::RS384, &rsa),
        (Algorithm::RS512, &rsa),
        (Algorithm::PS256, &rsa),
        (Algorithm::PS384, &rsa),
        (Algorithm::PS512, &rsa),
        (Algorithm::ES256, &p256),
        (Algorithm::ES384, &p384),
        (Algorithm::ES512, &p521),
        (Algorithm::EdDSA, &ed),
    ];
    for (alg, key) in cases {
        let token = mint(alg, key, Some(key.kid), &claims());
        let verified = validate(&token, &set).unwrap_or_else(|e| panic!("{alg}: {e}"));
        assert_eq!(verified.sub, "248289761001", "{alg}");
        assert_eq!(verified.email_verified, Some(true), "{alg}");
    }
}

#[test]
fn bad_signature_is_rejected() {
    let (key, set) = rs256();
    let token = mint(Algorithm::RS256, &key, Some("k1"), &claims());
    // Swap the payload for another one, keeping the signature.
    let other = URL_SAFE_NO_PAD.encode(
        with(claims(), |c| {
            c.insert("sub".into(), json!("attacker"));
        })
        .to_string(),
    );
    let parts: Vec<&str> = token.split('.').collect();
    let forged = format!("{}.{}.{}", parts[0], other, parts[2]);
    assert!(matches!(
        validate(&forged, &set),
        Err(Error::BadSignature { ref alg, ref kid }) if alg == "RS256" && kid.as_deref() == Some("k1")
    ));
}

#[test]
fn signature_by_another_key_with_the_same_kid_is_rejected() {
    let (_, set) = rs256();
    let attacker = rsa_key("k1");
    let token = mint(Algorithm::RS256, &attacker, Some("k1"), &claims());
    assert!(matches!(
        validate(&token, &set),
        Err(Error::BadSignature { .. })
    ));
}

#[test]
fn ps_token_does_not_verify_as_rs_and_es_curve_must_match() {
    let rsa = rsa_key("k1");
    let set = jwks(&[(&rsa, Some("k1"))]);
    let token = mint(Algorithm::PS256, &rsa, Some("k1"), &claims());
    let parts: Vec<&str> = token.split('.').collect();
    let header = URL_SAFE_NO_PAD.encode(json!({"alg": "RS256", "kid": "k1"}).to_string());
    let relabelled = format!("{header}.{}.{}", parts[1], parts[2]);
    assert!(matches!(
        validate(&relabelled, &set),
        Err(Error::BadSignature { .. })
    ));

    let p384 = ec_key(Nid::SECP384R1, "ec");
    let set = jwks(&[(&p384, Some("ec"))]);
    let token = mint(Algorithm::ES384, &p384, Some("ec"), &claims());
    let parts: Vec<&str> = token.split('.').collect();
    let header = URL_SAFE_NO_PAD.encode(json!({"alg": "ES256", "kid": "ec"}).to_string());
    let relabelled = format!("{header}.{}.{}", parts[1], parts[2]);
    assert!(matches!(
        validate(&relabelled, &set),
        Err(Error::KeyTypeMismatch { ref kid, ref alg, .. }) if kid == "ec" && alg == "ES256"
    ));
}

#[test]
fn pkcs1_signatures_are_checked_by_re_encoding() {
    let (key, set) = rs256();
    let rsa = key.private.rsa().expect("rsa");
    let header = URL_SAFE_NO_PAD.encode(json!({"alg": "RS256", "kid": "k1"}).to_string());
    let payload = URL_SAFE_NO_PAD.encode(claims().to_string());
    let input = format!("{header}.{payload}");
    let digest = openssl::hash::hash(openssl::hash::MessageDigest::sha256(), input.as_bytes())
        .expect("digest");
    let sign_block = |block: &[u8]| {
        let mut out = vec![0u8; rsa.size() as usize];
        let len = rsa
            .private_encrypt(block, &mut out, openssl::rsa::Padding::PKCS1)
            .expect("rsa");
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(&out[..len]))
    };
    let sha256_prefix: &[u8] = &[
        0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
        0x05, 0x00, 0x04, 0x20,
    ];

    // The correct encoding verifies.
    let good = sign_block(&[sha256_prefix, &digest[..]].concat());
    assert_eq!(validate(&good, &set).expect("valid").sub, "248289761001");
    // The bare digest without DigestInfo, a DigestInfo without the NULL parameters, and
    // trailing bytes after the digest are all rejected.
    let bare = sign_block(&digest);
    let no_null = sign_block(
        &[
            &[
                0x30, 0x2f, 0x30, 0x0b, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x01, 0x04, 0x20,
            ][..],
            &digest[..],
        ]
        .concat(),
    );
    let trailing = sign_block(&[sha256_prefix, &digest[..], &[0u8][..]].concat());
    for token in [bare, no_null, trailing] {
        assert!(matches!(
            validate(&token, &set),
            Err(Error::BadSignature { .. })
        ));
    }

    // An RS256 signature relabelled RS384 or RS512 fails.
    let token = mint(Algorithm::RS256, &key, Some("k1"), &claims());
    let (_, rest) = token.split_once('.').expect("token");
    for alg in ["RS384", "RS512"] {
        let header = URL_SAFE_NO_PAD.encode(json!({"alg": alg, "kid": "k1"}).to_string());
        assert!(matches!(
            validate(&format!("{header}.{rest}"), &set),
            Err(Error::BadSignature { .. })
        ));
    }
}

#[test]
fn alg_none_is_never_accepted() {
    let (_, set) = rs256();
    for alg in ["none", "None", "NONE"] {
        let header = URL_SAFE_NO_PAD.encode(json!({"alg": alg}).to_string());
        let payload = URL_SAFE_NO_PAD.encode(claims().to_string());
        let token = format!("{header}.{payload}.");
        assert!(
            matches!(validate(&token, &set), Err(Error::AlgNone)),
            "{alg}"
        );
    }
}

#[test]
fn unknown_alg_is_rejected() {
    let (_, set) = rs256();
    let header = URL_SAFE_NO_PAD.encode(json!({"alg": "RS1"}).to_string());
    let payload = URL_SAFE_NO_PAD.encode(claims().to_string());
    let token = format!("{header}.{payload}.AAAA");
    assert!(
        matches!(validate(&token, &set), Err(Error::UnsupportedAlg { ref alg }) if alg == "RS1")
    );
}

#[test]
fn alg_outside_the_allow_list_is_rejected() {
    let (key, set) = rs256();
    let token = mint(Algorithm::RS512, &key, Some("k1"), &claims());
    let mut cfg = config();
    cfg.allowed_algorithms = vec![Algorithm::RS256];
    assert!(matches!(
        validate_id_token(&token, &set, &cfg, &expect_nonce(), NOW),
        Err(Error::AlgNotAllowed { ref alg, .. }) if alg == "RS512"
    ));
}

#[test]
fn hmac_needs_the_option_and_the_client_secret() {
    let (_, set) = rs256();
    let secret = "a-client-secret-of-64-bytes-long-enough-for-hs512-0123456789abcd";
    assert_eq!(secret.len(), 64);
    let header = json!({"alg": "HS256"});
    let token = sign_hmac(Algorithm::HS256, secret.as_bytes(), &header, &claims()).expect("hmac");

    // Off by default.
    assert!(
        matches!(validate(&token, &set), Err(Error::AlgNotAllowed { ref alg, .. }) if alg == "HS256")
    );

    // On, but no secret configured.
    let mut cfg = config();
    cfg.allow_hmac_with_client_secret = true;
    assert!(matches!(
        validate_id_token(&token, &set, &cfg, &expect_nonce(), NOW),
        Err(Error::NoClientSecret { .. })
    ));

    // On with the secret: accepted for every HS size.
    cfg.client_secret = Some(Secret::new(secret));
    for alg in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
        let token = sign_hmac(
            alg,
            secret.as_bytes(),
            &json!({"alg": alg.name()}),
            &claims(),
        )
        .expect("hmac");
        let verified = validate_id_token(&token, &set, &cfg, &expect_nonce(), NOW)
            .unwrap_or_else(|e| panic!("{alg}: {e}"));
        assert_eq!(verified.sub, "248289761001");
    }

    // A wrong secret fails.
    let forged = sign_hmac(Algorithm::HS256, b"guessed", &header, &claims()).expect("hmac");
    assert!(matches!(
        validate_id_token(&forged, &set, &cfg, &expect_nonce(), NOW),
        Err(Error::BadSignature { .. })
    ));
}

#[test]
fn hmac_secret_shorter_than_the_hash_output_is_rejected() {
    let (_, set) = rs256();
    let mut cfg = config();
    cfg.allow_hmac_with_client_secret = true;
    let check = |cfg: &ValidationConfig, alg: Algorithm, secret: &str| {
        let header = json!({"alg": alg.name()});
        // OpenSSL will not make an HMAC key of zero bytes; any key will do for that token,
        // the length check comes first.
        let key = if secret.is_empty() { "k" } else { secret };
        let token = sign_hmac(alg, key.as_bytes(), &header, &claims()).expect("hmac");
        validate_id_token(&token, &set, cfg, &expect_nonce(), NOW)
    };
    for (alg, min) in [
        (Algorithm::HS256, 32),
        (Algorithm::HS384, 48),
        (Algorithm::HS512, 64),
    ] {
        for len in [0, 1, min - 1] {
            let secret = "s".repeat(len);
            cfg.client_secret = Some(Secret::new(secret.clone()));
            let err = check(&cfg, alg, &secret).expect_err("too short");
            assert!(
                matches!(err, Error::HmacKeyTooShort { alg: a, len: l, min: m }
                    if a == alg.name() && l == len && m == min),
                "{alg} with {len} bytes: {err}"
            );
        }
        let secret = "s".repeat(min);
        cfg.client_secret = Some(Secret::new(secret.clone()));
        let verified = check(&cfg, alg, &secret).unwrap_or_else(|e| panic!("{alg}: {e}"));
        assert_eq!(verified.sub, "248289761001");
    }
    // A 32-byte secret is enough for HS256 but not for HS512.
    let secret = "s".repeat(32);
    cfg.client_secret = Some(Secret::new(secret.clone()));
    assert!(matches!(
        check(&cfg, Algorithm::HS512, &secret),
        Err(Error::HmacKeyTooShort {
            len: 32,
            min: 64,
            ..
        })
    ));
}

#[test]
fn hmac_keyed_with_the_providers_public_key_fails() {
    let (key, set) = rs256();
    let public_pem = key.private.public_key_to_pem().expect("pem");
    let jwk_n = Jwk::from_public_key(&public(&key.private), Some("k1"), None)
        .expect("jwk")
        .n
        .expect("n");
    let mut cfg = config();
    cfg.allow_hmac_with_client_secret = true;
    cfg.client_secret = Some(Secret::new("the-real-client-secret-of-more-than-32-bytes"));
    for public_bytes in [public_pem.clone(), jwk_n.into_bytes()] {
        let header = json!({"alg": "HS256", "kid": "k1"});
        let token = sign_hmac(Algorithm::HS256, &public_bytes, &header, &claims()).expect("hmac");
        // Enabled: the secret is the only key, so the signature does not verify.
        assert!(matches!(
            validate_id_token(&token, &set, &cfg, &expect_nonce(), NOW),
            Err(Error::BadSignature { .. })
        ));
        // Not enabled: rejected before any key is touched.
        assert!(matches!(
            validate(&token, &set),
            Err(Error::AlgNotAllowed { .. })
        ));
    }
}

#[test]
fn keys_in_token_headers_are_ignored() {
    let (_, set) = rs256();
    let attacker = rsa_key("evil");
    let attacker_jwk =
        Jwk::from_public_key(&public(&attacker.private), Some("k1"), None).expect("jwk");
    let cert_like = URL_SAFE_NO_PAD.encode(attacker.private.public_key_to_der().expect("der"));
    for (name, value) in [
        ("jwk", serde_json::to_value(&attacker_jwk).expect("json")),
        ("jku", json!("https://attacker.example/jwks.json")),
        ("x5u", json!("https://attacker.example/cert.pem")),
        ("x5c", json!([cert_like])),
    ] {
        let mut header = json!({"alg": "RS256", "kid": "k1"});
        header[name] = value;
        let token = sign_with_header(Algorithm::RS256, &attacker.private, &header, &claims())
            .expect("sign");
        assert!(
            matches!(validate(&token, &set), Err(Error::BadSignature { .. })),
            "{name} header must not supply the key"
        );
    }
}

#[test]
fn unknown_crit_is_rejected() {
    let (key, set) = rs256();
    let header = json!({"alg": "RS256", "kid": "k1", "crit": ["exp"], "exp": 1});
    let token = sign_with_header(Algorithm::RS256, &key.private, &header, &claims()).expect("sign");
    assert!(
        matches!(validate(&token, &set), Err(Error::UnknownCrit { ref name }) if name == "exp")
    );
    let header = json!({"alg": "RS256", "kid": "k1", "crit": []});
    let token = sign_with_header(Algorithm::RS256, &key.private, &header, &claims()).expect("sign");
    assert!(matches!(
        validate(&token, &set),
        Err(Error::UnknownCrit { .. })
    ));
}

// --- malformed tokens ---------------------------------------------------------------

#[test]
fn wrong_segment_counts_are_rejected() {
    let (_, set) = rs256();
    for (token, segments) in [
        ("", 1),
        ("abc", 1),
        ("a.b", 2),
        ("a.b.c.d", 4),
        ("a.b.c.d.e", 5),
    ] {
        assert!(
            matches!(validate(token, &set), Err(Error::SegmentCount { segments: s }) if s == segments),
            "{token:?}"
        );
    }
}

#[test]
fn bad_base64_is_rejected() {
    let (key, set) = rs256();
    let token = mint(Algorithm::RS256, &key, Some("k1"), &claims());
    let parts: Vec<&str> = token.split('.').collect();
    let cases = [
        (format!("{}!.{}.{}", parts[0], parts[1], parts[2]), "header"),
        (
            format!("{}.{}*.{}", parts[0], parts[1], parts[2]),
            "payload",
        ),
        (
            format!("{}.{}.{}=", parts[0], parts[1], parts[2]),
            "signature",
        ),
        (format!("{}.{}.+/", parts[0], parts[1]), "signature"),
    ];
    for (token, segment) in cases {
        assert!(
            matches!(validate(&token, &set), Err(Error::Base64 { segment: s }) if s == segment),
            "{segment}"
        );
    }
}

#[test]
fn huge_header_and_huge_token_are_rejected_before_decoding() {
    let (_, set) = rs256();
    let header = "A".repeat(10_000);
    let token = format!("{header}.e30.AAAA");
    assert!(matches!(
        validate(&token, &set),
        Err(Error::HeaderTooLarge { size: 10_000, .. })
    ));
    let token = format!("e30.{}.AAAA", "A".repeat(70_000));
    assert!(matches!(
        validate(&token, &set),
        Err(Error::TokenTooLarge { max: 65_536, .. })
    ));
}

#[test]
fn non_object_json_is_rejected() {
    let (key, set) = rs256();
    let enc = |s: &str| URL_SAFE_NO_PAD.encode(s);
    let token = format!("{}.{}.AAAA", enc("[1]"), enc("{}"));
    assert!(matches!(
        validate(&token, &set),
        Err(Error::Json {
            segment: "header",
            ..
        })
    ));
    // The payload is parsed only once the signature verified.
    let token = format!("{}.{}.AAAA", enc(r#"{"alg":"RS256"}"#), enc("\"x\""));
    assert!(matches!(
        validate(&token, &set),
        Err(Error::BadSignature { .. })
    ));
    for payload in [json!("x"), json!([1]), json!(null)] {
        let token = mint(Algorithm::RS256, &key, Some("k1"), &payload);
        assert!(
            matches!(
                validate(&token, &set),
                Err(Error::Json {
                    segment: "payload",
                    ..
                })
            ),
            "{payload}"
        );
    }
    // A registered claim that appears twice.
    let header = enc(r#"{"alg":"RS256","kid":"k1"}"#);
    let payload = enc(&format!(
        r#"{{"iss":"{ISS}","sub":"a","sub":"b","aud":"{CLIENT}","iat":{},"exp":{},"nonce":"{NONCE}"}}"#,
        NOW - 1,
        NOW + 60
    ));
    let input = format!("{header}.{payload}");
    let mut signer =
        openssl::sign::Signer::new(openssl::hash::MessageDigest::sha256(), &key.private)
            .expect("signer");
    signer.update(input.as_bytes()).expect("update");
    let token = format!(
        "{input}.{}",
        URL_SAFE_NO_PAD.encode(signer.sign_to_vec().expect("sign"))
    );
    assert!(matches!(
        validate(&token, &set),
        Err(Error::Json {
            segment: "payload",
            ref reason,
        }) if reason.contains("duplicate field")
    ));
    let token = format!(
        "{}.{}.AAAA",
        enc(r#"{"alg":"RS256","alg":"none"}"#),
        enc("{}")
    );
    assert!(matches!(
        validate(&token, &set),
        Err(Error::Json {
            segment: "header",
            ..
        })
    ));
}

/// Signs raw header and payload bytes with RS256 (what `sign_with_header` cannot express:
/// non-object JSON, duplicate members).
fn sign_raw(key: &TestKey, header: &str, payload: &str) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let mut signer =
        openssl::sign::Signer::new(openssl::hash::MessageDigest::sha256(), &key.private)
            .expect("signer");
    signer.update(input.as_bytes()).expect("update");
    format!(
        "{input}.{}",
        URL_SAFE_NO_PAD.encode(signer.sign_to_vec().expect("sign"))
    )
}

#[test]
fn json_arrays_are_neither_headers_nor_claims() {
    let (key, set) = rs256();
    let claims = claims().to_string();
    // A header array in the field order of a struct (alg, kid, typ, crit), validly signed.
    let token = sign_raw(&key, r#"["RS256","k1",null,null]"#, &claims);
    assert!(
        matches!(validate(&token, &set), Err(Error::Json { segment: "header", ref reason })
            if reason.contains("expected a JSON object")),
        "{:?}",
        validate(&token, &set)
    );
    // A claims array in the field order of the registered claims, validly signed.
    let payload = format!(
        r#"["{ISS}","248289761001","{CLIENT}",null,{},{},null,null,"{NONCE}"]"#,
        NOW + 300,
        NOW - 10
    );
    let token = sign_raw(&key, r#"{"alg":"RS256","kid":"k1"}"#, &payload);
    assert!(
        matches!(validate(&token, &set), Err(Error::Json { segment: "payload", ref reason })
            if reason.contains("expected a JSON object")),
        "{:?}",
        validate(&token, &set)
    );
    for not_object in ["true", "1", "\"JWT\"", "null"] {
        let token = sign_raw(&key, not_object, &claims);
        assert!(
            matches!(
                validate(&token, &set),
                Err(Error::Json {
                    segment: "header",
                    ..
                })
            ),
            "{not_object}"
        );
    }
    // The same holds for logout tokens.
    let token = sign_raw(&key, r#"{"alg":"RS256","kid":"k1"}"#, "[1]");
    assert!(matches!(
        validate_logout_token(&token, &set, &config(), NOW),
        Err(Error::Json {
            segment: "payload",
            ..
        })
    ));
}

#[test]
fn duplicate_member_names_are_rejected_in_header_and_claims() {
    let (key, set) = rs256();
    let claims = claims().to_string();
    // Header members this crate does not read still may not repeat.
    for header in [
        r#"{"alg":"RS256","kid":"k1","x5c":["a"],"x5c":["b"]}"#,
        r#"{"alg":"RS256","kid":"k1","typ":"JWT","typ":"at+jwt"}"#,
        r#"{"alg":"RS256","kid":"k1","\u0061lg":"RS256"}"#,
    ] {
        let token = sign_raw(&key, header, &claims);
        assert!(
            matches!(validate(&token, &set), Err(Error::Json { segment: "header", ref reason })
                if reason.starts_with("duplicate field")),
            "{header}: {:?}",
            validate(&token, &set)
        );
    }
    // A custom claim that appears twice: last-wins would hand `all()` one of two answers.
    let payload = format!(
        r#"{{"iss":"{ISS}","sub":"s","aud":"{CLIENT}","iat":{},"exp":{},"nonce":"{NONCE}","groups":["users"],"groups":["admins"]}}"#,
        NOW - 1,
        NOW + 60
    );
    let token = sign_raw(&key, r#"{"alg":"RS256","kid":"k1"}"#, &payload);
    assert!(
        matches!(validate(&token, &set), Err(Error::Json { segment: "payload", ref reason })
            if reason == "duplicate field `groups`"),
        "{:?}",
        validate(&token, &set)
    );
}

// --- key selection --------------------------------------------------------------------

#[test]
fn kid_absent_with_one_key_verifies() {
    let key = rsa_key("k1");
    let set = jwks(&[(&key, None)]);
    let token = mint(Algorithm::RS256, &key, None, &claims());
    assert_eq!(validate(&token, &set).expect("valid").sub, "248289761001");

    // One RSA key among keys of other types is still a single match.
    let ec = ec_key(Nid::X9_62_PRIME256V1, "ec");
    let set = jwks(&[(&key, Some("k1")), (&ec, Some("ec"))]);
    assert_eq!(validate(&token, &set).expect("valid").sub, "248289761001");
}

#[test]
fn kid_absent_with_several_keys_is_rejected() {
    let a = rsa_key("a");
    let b = rsa_key("b");
    let set = jwks(&[(&a, Some("a")), (&b, Some("b"))]);
    let token = mint(Algorithm::RS256, &a, None, &claims());
    assert!(matches!(
        validate(&token, &set),
        Err(Error::AmbiguousKey { ref alg, count: 2 }) if alg == "RS256"
    ));
}

#[test]
fn unknown_kid_is_rejected() {
    let (key, set) = rs256();
    let token = mint(Algorithm::RS256, &key, Some("rotated-away"), &claims());
    assert!(
        matches!(validate(&token, &set), Err(Error::UnknownKid { ref kid }) if kid == "rotated-away")
    );
}

#[test]
fn keys_sharing_a_kid_are_all_tried() {
    let old = rsa_key("shared");
    let new = rsa_key("shared");
    let set = jwks(&[(&old, Some("shared")), (&new, Some("shared"))]);
    let token = mint(Algorithm::RS256, &new, Some("shared"), &claims());
    assert_eq!(validate(&token, &set).expect("valid").sub, "248289761001");
}

#[test]
fn kid_pointing_at_a_key_of_another_type_is_rejected() {
    let rsa = rsa_key("rsa");
    let ec = ec_key(Nid::X9_62_PRIME256V1, "ec");
    let set = jwks(&[(&rsa, Some("rsa")), (&ec, Some("ec"))]);
    let token = mint(Algorithm::RS256, &rsa, Some("ec"), &claims());
    assert!(matches!(
        validate(&token, &set),
        Err(Error::KeyTypeMismatch { ref kid, ref kty, ref alg }) if kid == "ec" && kty == "EC" && alg == "RS256"
    ));
}

#[test]
fn jwk_alg_restricts_use() {
    let key = rsa_key("k1");
    let jwk = Jwk::from_public_key(&public(&key.private), Some("k1"), Some(Algorithm::PS256))
        .expect("jwk");
    let set = JwkSet::from_keys(vec![VerifyingKey::from_jwk(jwk).expect("key")]);
    let token = mint(Algorithm::RS256, &key, Some("k1"), &claims());
    assert!(matches!(
        validate(&token, &set),
        Err(Error::KeyTypeMismatch { .. })
    ));
    let token = mint(Algorithm::PS256, &key, Some("k1"), &claims());
    assert!(validate(&token, &set).is_ok());
}

#[test]
fn jwks_parsing_skips_unusable_keys() {
    let key = rsa_key("k1");
    let good = Jwk::from_public_key(&public(&key.private), Some("k1"), None).expect("jwk");
    let small = PKey::from_rsa(Rsa::generate(1024).expect("rsa")).expect("pkey");
    let small = Jwk::from_public_key(&public(&small), Some("small"), None).expect("jwk");
    let mut enc = good.clone();
    enc.kid = Some("enc".into());
    enc.use_ = Some("enc".into());
    let doc = json!({"keys": [
        good,
        small,
        enc,
        {"kty": "oct", "kid": "sym", "k": "c2VjcmV0"},
        {"kty": "EC", "kid": "offcurve", "crv": "P-256",
         "x": URL_SAFE_NO_PAD.encode([1u8; 32]), "y": URL_SAFE_NO_PAD.encode([2u8; 32])},
        "not an object"
    ]});
    let set = JwkSet::from_json(doc.to_string().as_bytes()).expect("jwks");
    assert_eq!(set.keys().len(), 1);
    assert_eq!(set.keys()[0].jwk.kid.as_deref(), Some("k1"));
    assert_eq!(set.skipped().len(), 5, "{:?}", set.skipped());
    assert!(set.skipped().iter().any(|s| s.contains("1024 bits")));

    assert!(matches!(
        JwkSet::from_json(b"{\"keys\": {}}"),
        Err(Error::InvalidDocument {
            document: "JWKS",
            ..
        })
    ));
}

// --- claims ----------------------------------------------------------------------------

#[test]
fn issuer_mismatch_is_rejected() {
    let (key, set) = rs256();
    for iss in [
        "https://op.example.com/",
        "https://OP.example.com",
        "https://evil.example",
    ] {
        let token = mint(
            Algorithm::RS256,
            &key,
            Some("k1"),
            &with(claims(), |c| {
                c.insert("iss".into(), json!(iss));
            }),
        );
        assert!(matches!(
            validate(&token, &set),
            Err(Error::IssuerMismatch { ref expected, ref actual }) if expected == ISS && actual == iss
        ));
    }
}

#[test]
fn entra_tenant_template_only_when_configured() {
    let (key, set) = rs256();
    let template = "https://login.microsoftonline.com/{tenantid}/v2.0";
    let tid = "9188040d-6c67-4c5b-b112-36a304b66dad";
    let token = mint(
        Algorithm::RS256,
        &key,
        Some("k1"),
        &with(claims(), |c| {
            c.insert(
                "iss".into(),
                json!(format!("https://login.microsoftonline.com/{tid}/v2.0")),
            );
            c.insert("tid".into(), json!(tid));
        }),
    );
    let mut cfg = ValidationConfig::new(template, CLIENT);
    assert!(matches!(
        validate_id_token(&token, &set, &cfg, &expect_nonce(), NOW),
        Err(Error::IssuerMismatch { .. })
    ));
    cfg.issuer_is_entra_template = true;
    let verified = validate_id_token(&token, &set, &cfg, &expect_nonce(), NOW).expect("valid");
    assert_eq!(verified.tid.as_deref(), Some(tid));

    // A tid that does not match the issuer's tenant.
    let token = mint(
        Algorithm::RS256,
        &key,
        Some("k1"),
        &with(claims(), |c| {
            c.insert(
                "iss".into(),
                json!(format!("https://login.microsoftonline.com/{tid}/v2.0")),
            );
            c.insert("tid".into(), json!("00000000-0000-0000-0000-000000000000"));
        }),
    );
    assert!(matches!(
        validate_id_token(&token, &set, &cfg, &expect_nonce(), NOW),
        Err(Error::IssuerMismatch { .. })
    ));
    // A tid that is not a GUID cannot inject a path.
    let token = mint(
        Algorithm::RS256,
        &key,
        Some("k1"),
        &with(claims(), |c| {
            c.insert(
                "iss".into(),
                json!("https://login.microsoftonline.com/x/../v2.0"),
            );
            c.insert("tid".into(), json!("x/.."));
        }),
    );
    assert!(matches!(
        validate_id_token(&token, &set, &cfg, &expect_nonce(), NOW),
        Err(Error::InvalidClaim { claim: "tid", .. })
    ));
}

/// A token for the Entra multi-tenant template whose `iss` names `tid`'s tenant.
fn entra_token(key: &TestKey, tid: &str) -> String {
    mint(
        Algorithm::RS256,
        key,
        Some("k1"),
        &with(claims(), |c| {
            c.insert(
                "iss".into(),
                json!(format!("https://login.microsoftonline.com/{tid}/v2.0")),
            );
            c.insert("tid".into(), json!(tid));
        }),
    )
}

#[test]
fn entra_tid_must_be_a_canonical_guid_and_an_allowed_tenant() {
    let (key, set) = rs256();
    let mut cfg =
        ValidationConfig::new("https://login.microsoftonline.com/{tenantid}/v2.0", CLIENT);
    cfg.issuer_is_entra_template = true;
    let check = |cfg: &ValidationConfig, tid: &str| {
        validate_id_token(&entra_token(&key, tid), &set, cfg, &expect_nonce(), NOW)
    };
    // Hex and hyphens, but not the 8-4-4-4-12 form.
    for tid in [
        "9188040d6c674c5bb11236a304b66dad",
        "9188040d-6c67-4c5b-b11236a304b66-dad",
        "------------------------------------",
        "-",
        "abc",
        "9188040d-6c67-4c5b-b112-36a304b66dag",
    ] {
        assert!(
            matches!(
                check(&cfg, tid),
                Err(Error::InvalidClaim { claim: "tid", .. })
            ),
            "{tid}: {:?}",
            check(&cfg, tid)
        );
    }

    // Without a list any tenant signs in (the documented default).
    let tenant_a = "9188040d-6c67-4c5b-b112-36a304b66dad";
    let tenant_b = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    assert_eq!(cfg.entra_tenants, EntraTenants::AnyTenantCanSignIn);
    for tid in [tenant_a, tenant_b, "9188040D-6C67-4C5B-B112-36A304B66DAD"] {
        assert_eq!(
            check(&cfg, tid).expect("any tenant").tid.as_deref(),
            Some(tid)
        );
    }

    // With a list, another tenant is rejected with its id; case does not matter.
    cfg.entra_tenants = EntraTenants::Only(vec![tenant_a.to_uppercase()]);
    assert_eq!(
        check(&cfg, tenant_a).expect("allowed").tid.as_deref(),
        Some(tenant_a)
    );
    assert!(matches!(
        check(&cfg, tenant_b),
        Err(Error::TenantNotAllowed { ref tid }) if tid == tenant_b
    ));
    // The same rule for logout tokens.
    let logout = mint_logout(
        &key,
        &with(logout_claims(), |c| {
            c.insert(
                "iss".into(),
                json!(format!("https://login.microsoftonline.com/{tenant_b}/v2.0")),
            );
            c.insert("tid".into(), json!(tenant_b));
        }),
    );
    assert!(matches!(
        validate_logout_token(&logout, &set, &cfg, NOW),
        Err(Error::TenantNotAllowed { ref tid }) if tid == tenant_b
    ));
}

#[test]
fn missing_aud_is_rejected() {
    let (key, set) = rs256();
    let token = mint(
        Algorithm::RS256,
        &key,
        Some("k1"),
        &with(claims(), |c| {
            c.remove("aud");
        }),
    );
    assert!(matches!(
        validate(&token, &set),
        Err(Error::MissingClaim { claim: "aud" })
    ));
}

#[test]
fn wrong_aud_is_rejected() {
    let (key, set) = rs256();
    let token = mint(
        Algorithm::RS256,
        &key,
        Some("k1"),
        &with(claims(), |c| {
            c.insert("aud".into(), json!("another-client"));
        }),
    );
    assert!(matches!(
        validate(&token, &set),
        Err(Error::AudienceMismatch { ref actual, reason: "client id not in aud", .. }) if actual == &["another-client"]
    ));
}

#[test]
fn multiple_audiences_need_trust_and_azp() {
    let (key, set) = rs256();
    let multi = with(claims(), |c| {
        c.insert("aud".into(), json!([CLIENT, "api://other"]));
    });
    let token = mint(Algorithm::RS256, &key, Some("k1"), &multi);
    assert!(matches!(
        validate(&token, &set),
        Err(Error::AudienceMismatch {
            reason: "aud holds an untrusted audience",
            ..
        })
    ));

    let mut cfg = config();
    cfg.trusted_audiences = vec!["api://other".into()];
    assert!(matches!(
        validate_id_token(&token, &set, &cfg, &expect_nonce(), NOW),
        Err(Error::AzpMismatch { actual: None, .. })
    ));
    let token = mint(
        Algorithm::RS256,
        &key,
        Some("k1"),
        &with(multi.clone(), |c| {
            c.insert("azp".into(), json!(CLIENT));
        }),
    );
    let verified = validate_id_token(&token, &set, &cfg, &expect_nonce(), NOW).expect("valid");
    assert_eq!(
        verified.aud,
        vec![CLIENT.to_owned(), "api://other".to_owned()]
    );
}

#[test]
fn wrong_azp_is_rejected() {
    let (key, set) = rs256();
    let token = mint(
        Algorithm::RS256,
        &key,
        Some("k1"),
        &with(claims(), |c| {
            c.insert("azp".into(), json!("someone-else"));
        }),
    );
    assert!(matches!(
        validate(&token, &set),
        Err(Error::AzpMismatch { actual: Some(ref a), .. }) if a == "someone-else"
    ));
}

#[test]
fn missing_iat_is_rejected() {
    let (key, set) = rs256();
    let token = mint(
        Algorithm::RS256,
        &key,
        Some("k1"),
        &with(claims(), |c| {
            c.remove("iat");
        }),
    );
    assert!(matches!(
        validate(&token, &set),
        Err(Error::MissingClaim { claim: "iat" })
    ));
}

#[test]
fn missing_sub_is_rejected() {
    let (key, set) = rs256();
    let token = mint(
        Algorithm::RS256,
        &key,
        Some("k1"),
        &with(claims(), |c| {
            c.remove("sub");
        }),
    );
    assert!(matches!(
        validate(&token, &set),
        Err(Error::MissingClaim { claim: "sub" })
    ));
    let token = mint(
        Algorithm::RS256,
        &key,
        Some("k1"),
        &with(claims(), |c| {
            c.insert("sub".into(), json!("x".repeat(256)));
        }),
    );
    assert!(matches!(
        validate(&token, &set),
        Err(Error::InvalidClaim { claim: "sub", .. })
    ));
}

#[test]
fn missing_exp_is_rejected() {
    let (key, set) = rs256();
    let token = mint(
        Algorithm::RS256,
        &key,
        Some("k1"),
        &with(claims(), |c| {
            c.remove("exp");
        }),
    );
    assert!(matches!(
        validate(&token, &set),
        Err(Error::MissingClaim { claim: "exp" })
    ));
}

#[test]
fn expiry_uses_the_leeway() {
    let (key, set) = rs256();
    let token = mint(
        Algorithm::RS256,
        &key,
        Some("k1"),
        &with(claims(), |c| {
            c.insert("exp".into(), json!(NOW - 30));
            c.insert("iat".into(), json!(NOW - 600));
        }),
    );
    assert!(
        validate(&token, &set).is_ok(),
        "30 s past exp is within the 60 s leeway"
    );
    let mut cfg = config();
    cfg.leeway_secs = 10;
    assert!(matches!(
        validate_id_token(&token, &set, &cfg, &expect_nonce(), NOW),
        Err(Error::Expired { exp, now: NOW, leeway: 10 }) if exp == NOW - 30
    ));
}

#[test]
fn iat_and_nbf_in_the_future_are_rejected() {
    let (key, set) = rs256();
    let token = mint(
        Algorithm::RS256,
        &key,
        Some("k1"),
        &with(claims(), |c| {
            c.insert("iat".into(), json!(NOW + 120));
        }),
    );
    assert!(
        matches!(validate(&token, &set), Err(Error::IssuedInFuture { iat, .. }) if iat == NOW + 120)
    );
    let token = mint(
        Algorithm::RS256,
        &key,
        Some("k1"),
        &with(claims(), |c| {
            c.insert("nbf".into(), json!(NOW + 120));
        }),
    );
    assert!(
        matches!(validate(&token, &set), Err(Error::NotYetValid { nbf, .. }) if nbf == NOW + 120)
    );
    let token = mint(
        Algorithm::RS256,
        &key,
        Some("k1"),
        &with(claims(), |c| {
            c.insert("nbf".into(), json!(NOW + 30));
        }),
    );
    assert!(validate(&token, &set).is_ok(), "nbf within the leeway");
}

#[test]
fn claims_of_the_wrong_type_are_rejected() {
    let (key, set) = rs256();
    for (claim, value, name) in [
        ("exp", json!("1800000300"), "exp"),
        ("iss", json!(["https://op.example.com"]), "iss"),
        ("aud", json!(42), "aud"),
        ("nonce", json!(1), "nonce"),
    ] {
        let token = mint(
            Algorithm::RS256,
            &key,
            Some("k1"),
            &with(claims(), |c| {
                c.insert(claim.into(), value);
            }),
        );
        assert!(
            matches!(validate(&token, &set), Err(Error::InvalidClaim { claim: c, .. }) if c == name),
            "{claim}"
        );
    }
}

#[test]
fn missing_nonce_is_rejected() {
    let (key, set) = rs256();
    for nonce in [None, Some(Value::Null)] {
        let token = mint(
            Algorithm::RS256,
            &key,
            Some("k1"),
            &with(claims(), |c| match nonce {
                Some(v) => {
                    c.insert("nonce".into(), v);
                }
                None => {
                    c.remove("nonce");
                }
            }),
        );
        assert!(matches!(
            validate(&token, &set),
            Err(Error::MissingClaim { claim: "nonce" })
        ));
    }
}

#[test]
fn bad_nonce_is_rejected() {
    let (key, set) = rs256();
    let token = mint(
        Algorithm::RS256,
        &key,
        Some("k1"),
        &with(claims(), |c| {
            c.insert("nonce".into(), json!("another-nonce"));
        }),
    );
    assert!(matches!(validate(&token, &set), Err(Error::NonceMismatch)));
}

#[test]
fn claims_cannot_switch_checks_off() {
    let (key, set) = rs256();
    let token = mint(
        Algorithm::RS256,
        &key,
        Some("k1"),
        &with(claims(), |c| {
            c.insert("nonce".into(), json!("wrong"));
            c.insert("alg".into(), json!("none"));
            c.insert("verify_nonce".into(), json!(false));
            c.insert("leeway".into(), json!(1_000_000));
            c.insert("exp".into(), json!(NOW - 3600));
            c.insert("iat".into(), json!(NOW - 7200));
        }),
    );
    assert!(matches!(validate(&token, &set), Err(Error::Expired { .. })));
}

#[test]
fn at_hash_and_c_hash_are_checked() {
    let (key, set) = rs256();
    let access_token = "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y";
    let code = "Qcb0Orv1zh30vL1MPRsbm-diHiMwcLyZvn1arpZv-Jxf_11jnpEX3Tgfvk";
    let at_hash = left_half_hash(Algorithm::RS256, access_token).expect("hash");
    let c_hash = left_half_hash(Algorithm::RS256, code).expect("hash");
    let good = with(claims(), |c| {
        c.insert("at_hash".into(), json!(at_hash));
        c.insert("c_hash".into(), json!(c_hash));
    });
    let token = mint(Algorithm::RS256, &key, Some("k1"), &good);
    let expect = Expectations {
        nonce: Some(NONCE),
        access_token: Some(access_token),
        code: Some(code),
        ..Expectations::default()
    };
    assert!(validate_id_token(&token, &set, &config(), &expect, NOW).is_ok());

    let wrong_at = Expectations {
        access_token: Some("another-access-token"),
        ..expect
    };
    assert!(matches!(
        validate_id_token(&token, &set, &config(), &wrong_at, NOW),
        Err(Error::HashMismatch { claim: "at_hash", ref actual, .. }) if actual == &at_hash
    ));
    let wrong_code = Expectations {
        code: Some("another-code"),
        ..expect
    };
    assert!(matches!(
        validate_id_token(&token, &set, &config(), &wrong_code, NOW),
        Err(Error::HashMismatch {
            claim: "c_hash",
            ..
        })
    ));
}

#[test]
fn at_hash_known_answer() {
    // The at_hash of this access token in OpenID Connect Core 1.0, appendix A.3.
    assert_eq!(
        left_half_hash(
            Algorithm::RS256,
            "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"
        )
        .expect("hash"),
        "77QmUPtjPfzWtF2AnpK9RQ"
    );
}

#[test]
fn eddsa_token_hashes_follow_the_curve() {
    // Known answers from Python's hashlib: SHA-512 for Ed25519, SHAKE256 with 114 bytes of
    // output (left half: 57 bytes) for Ed448.
    let access_token = "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y";
    let ed25519_hash = "q7nS86GgvvFaZkzALLWqJYaJIKw2wCDAVfCAsm5CrBM";
    let ed448_hash = "W6Ie3EoycJT-JESJ2WSAWX7LRP3FuHvmvNycBMeL-NngYGhJXChp7YRUBdOXcrKGZD4qnhCAstjO";
    assert_eq!(
        left_half_hash_for_key(Algorithm::EdDSA, Some(Id::ED448), access_token).expect("hash"),
        ed448_hash
    );
    assert_eq!(
        left_half_hash_for_key(Algorithm::EdDSA, Some(Id::ED25519), access_token).expect("hash"),
        ed25519_hash
    );

    let ed448 = TestKey {
        private: PKey::generate_ed448().expect("ed448"),
        kid: "ed448",
    };
    let ed25519 = ed_key("ed25519");
    let set = jwks(&[(&ed448, Some("ed448")), (&ed25519, Some("ed25519"))]);
    let expect = Expectations {
        nonce: Some(NONCE),
        access_token: Some(access_token),
        ..Expectations::default()
    };
    let token = |key: &TestKey, at_hash: &str| {
        let claims = with(claims(), |c| {
            c.insert("at_hash".into(), json!(at_hash));
        });
        mint(Algorithm::EdDSA, key, Some(key.kid), &claims)
    };
    // Ed448 signatures verify (one-shot PureEdDSA) and the token hash is SHAKE256's.
    let verified = validate_id_token(&token(&ed448, ed448_hash), &set, &config(), &expect, NOW)
        .expect("Ed448 token with the SHAKE256 at_hash");
    assert_eq!(verified.sub, "248289761001");
    assert!(matches!(
        validate_id_token(&token(&ed448, ed25519_hash), &set, &config(), &expect, NOW),
        Err(Error::HashMismatch { claim: "at_hash", ref expected, .. }) if expected == ed448_hash
    ));
    // A tampered Ed448 signature fails.
    let mut tampered = token(&ed448, ed448_hash);
    let last = tampered.pop().expect("char");
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    assert!(matches!(
        validate_id_token(&tampered, &set, &config(), &expect, NOW),
        Err(Error::BadSignature { .. })
    ));
    // Ed25519 keeps SHA-512.
    validate_id_token(
        &token(&ed25519, ed25519_hash),
        &set,
        &config(),
        &expect,
        NOW,
    )
    .expect("Ed25519 token with the SHA-512 at_hash");
    assert!(matches!(
        validate_id_token(&token(&ed25519, ed448_hash), &set, &config(), &expect, NOW),
        Err(Error::HashMismatch {
            claim: "at_hash",
            ..
        })
    ));
}

#[test]
fn auth_time_is_checked_with_max_age() {
    let (key, set) = rs256();
    let expect = Expectations {
        nonce: Some(NONCE),
        max_age: Some(300),
        ..Expectations::default()
    };
    let token = mint(Algorithm::RS256, &key, Some("k1"), &claims());
    assert!(matches!(
        validate_id_token(&token, &set, &config(), &expect, NOW),
        Err(Error::MissingClaim { claim: "auth_time" })
    ));
    let token = mint(
        Algorithm::RS256,
        &key,
        Some("k1"),
        &with(claims(), |c| {
            c.insert("auth_time".into(), json!(NOW - 1000));
        }),
    );
    assert!(matches!(
        validate_id_token(&token, &set, &config(), &expect, NOW),
        Err(Error::AuthTooOld { auth_time, max_age: 300, now: NOW }) if auth_time == NOW - 1000
    ));
    let token = mint(
        Algorithm::RS256,
        &key,
        Some("k1"),
        &with(claims(), |c| {
            c.insert("auth_time".into(), json!(NOW - 100));
        }),
    );
    let verified = validate_id_token(&token, &set, &config(), &expect, NOW).expect("valid");
    assert_eq!(verified.auth_time, Some(NOW - 100));
}

#[test]
fn email_verified_as_string_only_under_its_profile() {
    let (key, set) = rs256();
    let token = mint(
        Algorithm::RS256,
        &key,
        Some("k1"),
        &with(claims(), |c| {
            c.insert("email_verified".into(), json!("true"));
        }),
    );
    assert!(matches!(
        validate(&token, &set),
        Err(Error::InvalidClaim {
            claim: "email_verified",
            ..
        })
    ));
    let mut cfg = config();
    cfg.profile = ProviderProfile::EMAIL_VERIFIED_AS_STRING;
    let verified = validate_id_token(&token, &set, &cfg, &expect_nonce(), NOW).expect("valid");
    assert_eq!(verified.email_verified, Some(true));
    let token = mint(
        Algorithm::RS256,
        &key,
        Some("k1"),
        &with(claims(), |c| {
            c.insert("email_verified".into(), json!("yes"));
        }),
    );
    assert!(matches!(
        validate_id_token(&token, &set, &cfg, &expect_nonce(), NOW),
        Err(Error::InvalidClaim {
            claim: "email_verified",
            ..
        })
    ));
}

// --- back-channel logout tokens --------------------------------------------------------

fn logout_claims() -> Value {
    json!({
        "iss": ISS,
        "aud": CLIENT,
        "iat": NOW - 5,
        "exp": NOW + 120,
        "jti": "bWJq",
        "sid": "08a5019c-17e1-4977-8f42-65a12843ea02",
        "sub": "248289761001",
        "events": { "http://schemas.openid.net/event/backchannel-logout": {} }
    })
}

fn mint_logout(key: &TestKey, claims: &Value) -> String {
    let header = json!({"alg": "RS256", "kid": "k1", "typ": "logout+jwt"});
    sign_with_header(Algorithm::RS256, &key.private, &header, claims).expect("sign")
}

#[test]
fn valid_logout_token_is_accepted() {
    let (key, set) = rs256();
    let verified =
        validate_logout_token(&mint_logout(&key, &logout_claims()), &set, &config(), NOW)
            .expect("valid");
    assert_eq!(
        verified.sid.as_deref(),
        Some("08a5019c-17e1-4977-8f42-65a12843ea02")
    );
    assert_eq!(verified.sub.as_deref(), Some("248289761001"));
    assert_eq!(verified.jti, "bWJq");
}

#[test]
fn each_logout_token_defect_is_rejected() {
    let (key, set) = rs256();
    let check =
        |claims: Value| validate_logout_token(&mint_logout(&key, &claims), &set, &config(), NOW);

    assert!(matches!(
        check(with(logout_claims(), |c| {
            c.remove("events");
        })),
        Err(Error::LogoutToken("events claim is missing"))
    ));
    assert!(matches!(
        check(with(logout_claims(), |c| {
            c.insert(
                "events".into(),
                json!({"http://schemas.openid.net/event/other": {}}),
            );
        })),
        Err(Error::LogoutToken(
            "events has no back-channel logout member"
        ))
    ));
    assert!(matches!(
        check(with(logout_claims(), |c| {
            c.insert(
                "events".into(),
                json!({"http://schemas.openid.net/event/backchannel-logout": "x"}),
            );
        })),
        Err(Error::LogoutToken(
            "the logout event member is not a JSON object"
        ))
    ));
    assert!(matches!(
        check(with(logout_claims(), |c| {
            c.insert("nonce".into(), json!("n"));
        })),
        Err(Error::LogoutToken("a logout token must not carry a nonce"))
    ));
    assert!(matches!(
        check(with(logout_claims(), |c| {
            c.remove("sid");
            c.remove("sub");
        })),
        Err(Error::LogoutToken("neither sub nor sid is present"))
    ));
    assert!(matches!(
        check(with(logout_claims(), |c| {
            c.remove("jti");
        })),
        Err(Error::MissingClaim { claim: "jti" })
    ));
    assert!(matches!(
        check(with(logout_claims(), |c| {
            c.remove("iat");
        })),
        Err(Error::MissingClaim { claim: "iat" })
    ));
    assert!(matches!(
        check(with(logout_claims(), |c| {
            c.insert("iss".into(), json!("https://evil"));
        })),
        Err(Error::IssuerMismatch { .. })
    ));
    assert!(matches!(
        check(with(logout_claims(), |c| {
            c.insert("aud".into(), json!("other"));
        })),
        Err(Error::AudienceMismatch { .. })
    ));
    assert!(matches!(
        check(with(logout_claims(), |c| {
            c.insert("exp".into(), json!(NOW - 600));
        })),
        Err(Error::Expired { .. })
    ));

    // An ID token (typ JWT, with a nonce) is not a logout token.
    let id_token = mint(Algorithm::RS256, &key, Some("k1"), &claims());
    assert!(validate_logout_token(&id_token, &set, &config(), NOW).is_err());

    let wrong_typ = sign_with_header(
        Algorithm::RS256,
        &key.private,
        &json!({"alg": "RS256", "kid": "k1", "typ": "at+jwt"}),
        &logout_claims(),
    )
    .expect("sign");
    assert!(matches!(
        validate_logout_token(&wrong_typ, &set, &config(), NOW),
        Err(Error::WrongTyp { .. })
    ));

    let other_key = rsa_key("k1");
    assert!(matches!(
        validate_logout_token(
            &mint_logout(&other_key, &logout_claims()),
            &set,
            &config(),
            NOW
        ),
        Err(Error::BadSignature { .. })
    ));
    let header = URL_SAFE_NO_PAD.encode(json!({"alg": "none"}).to_string());
    let payload = URL_SAFE_NO_PAD.encode(logout_claims().to_string());
    assert!(matches!(
        validate_logout_token(&format!("{header}.{payload}."), &set, &config(), NOW),
        Err(Error::AlgNone)
    ));
}

#[test]
fn logout_token_is_not_an_id_token() {
    let (key, set) = rs256();
    let no_nonce = Expectations::default();
    let typed = mint_logout(&key, &logout_claims());
    assert!(matches!(
        validate_id_token(&typed, &set, &config(), &no_nonce, NOW),
        Err(Error::WrongTyp { expected: "JWT", ref actual }) if actual == "logout+jwt"
    ));
    let untyped = mint(Algorithm::RS256, &key, Some("k1"), &logout_claims());
    assert!(matches!(
        validate_id_token(&untyped, &set, &config(), &no_nonce, NOW),
        Err(Error::InvalidClaim {
            claim: "events",
            ..
        })
    ));
}

#[test]
fn typ_names_the_token_kind() {
    let (key, set) = rs256();
    let no_nonce = Expectations::default();
    let id_token = |typ: Option<&str>| {
        let mut header = json!({"alg": "RS256", "kid": "k1"});
        if let Some(typ) = typ {
            header["typ"] = json!(typ);
        }
        let token =
            sign_with_header(Algorithm::RS256, &key.private, &header, &claims()).expect("sign");
        validate_id_token(&token, &set, &config(), &no_nonce, NOW)
    };
    let logout_token = |typ: Option<&str>| {
        let mut header = json!({"alg": "RS256", "kid": "k1"});
        if let Some(typ) = typ {
            header["typ"] = json!(typ);
        }
        let token = sign_with_header(Algorithm::RS256, &key.private, &header, &logout_claims())
            .expect("sign");
        validate_logout_token(&token, &set, &config(), NOW)
    };

    // ID tokens: no typ, or JWT in any of its spellings (RFC 7515 4.1.9 drops "application/").
    for typ in [
        None,
        Some("JWT"),
        Some("jwt"),
        Some("application/jwt"),
        Some("application/JWT"),
    ] {
        assert!(id_token(typ).is_ok(), "{typ:?}: {:?}", id_token(typ));
    }
    // Other token kinds, and values that are no JWT type at all.
    for typ in [
        "at+jwt",
        "application/at+jwt",
        "logout+jwt",
        "application/logout+jwt",
        "secevent+jwt",
        "JOSE",
        "",
        "application/jwt; charset=utf-8",
        "text/jwt",
    ] {
        assert!(
            matches!(id_token(Some(typ)), Err(Error::WrongTyp { expected: "JWT", ref actual }) if actual == typ),
            "{typ}: {:?}",
            id_token(Some(typ))
        );
    }

    // Logout tokens: logout+jwt, JWT, either with "application/", or none.
    for typ in [
        None,
        Some("logout+jwt"),
        Some("application/logout+jwt"),
        Some("JWT"),
        Some("application/jwt"),
    ] {
        assert!(
            logout_token(typ).is_ok(),
            "{typ:?}: {:?}",
            logout_token(typ)
        );
    }
    for typ in [
        "at+jwt",
        "secevent+jwt",
        "JOSE",
        "application/foo/logout+jwt",
    ] {
        assert!(
            matches!(
                logout_token(Some(typ)),
                Err(Error::WrongTyp {
                    expected: "logout+jwt",
                    ..
                })
            ),
            "{typ}"
        );
    }
}

// --- RP-initiated logout ---------------------------------------------------------------

#[test]
fn end_session_url_checks_the_post_logout_redirect() {
    let endpoint = url::Url::parse("https://op.example.com/session/end").expect("url");
    let registered = vec!["https://rp.example.com/logged-out".to_owned()];
    let url = end_session_url(
        &endpoint,
        CLIENT,
        Some("eyJhbGciOi.x.y"),
        Some("https://rp.example.com/logged-out"),
        &registered,
        Some("st"),
    )
    .expect("url");
    let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    assert_eq!(
        pairs,
        vec![
            ("id_token_hint".into(), "eyJhbGciOi.x.y".into()),
            ("client_id".into(), CLIENT.into()),
            (
                "post_logout_redirect_uri".into(),
                "https://rp.example.com/logged-out".into()
            ),
            ("state".into(), "st".into()),
        ]
    );
    assert!(matches!(
        end_session_url(&endpoint, CLIENT, None, Some("https://evil.example/"), &registered, None),
        Err(Error::UnregisteredPostLogoutRedirect(ref u)) if u == "https://evil.example/"
    ));
}

#[test]
fn secrets_do_not_show_in_debug() {
    let mut cfg = config();
    cfg.client_secret = Some(Secret::new("s3cr3t-value"));
    let debug = format!("{cfg:?}");
    assert!(!debug.contains("s3cr3t-value"), "{debug}");
    assert!(debug.contains("redacted"));
}
