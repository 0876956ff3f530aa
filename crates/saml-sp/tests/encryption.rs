//! EncryptedAssertion: assertions encrypted by the xmlsec1 tool (RSA-OAEP-MGF1P, RSA 1.5,
//! AES-CBC and AES-GCM), by Python `cryptography` for the OAEP variants xmlsec1 lacks
//! (SHA-256 digest, MGF1-SHA-256), and by pysaml2 as the IdP; then decrypted and put
//! through every check.

mod common;

use std::process::Command;
use std::sync::Arc;

use common::saml::{ACS, IDP, NOW, SP, Shape, sign};
use common::{Identity, python_script, run};
use saml_sp::{
    FixedClock, IdentityProvider, InMemoryReplayCache, InMemoryRequestStore, RequestStore,
    ResponseValidator, SamlError, ServiceProvider, ValidationOptions, VerifiedAssertion,
};
use time::Duration;

const XENC: &str = "http://www.w3.org/2001/04/xmlenc#";
const XENC11: &str = "http://www.w3.org/2009/xmlenc11#";

/// EncryptedData for `element` made by `xmlsec1 --encrypt` for `sp`'s certificate.
fn xmlsec1_encrypt(
    sp: &Identity,
    element: &str,
    content: &str,
    session: &str,
    transport: &str,
) -> String {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data.xml");
    let template = dir.path().join("template.xml");
    let output = dir.path().join("out.xml");
    std::fs::write(&data, element).unwrap();
    std::fs::write(
        &template,
        format!(
            r#"<xenc:EncryptedData xmlns:xenc="{XENC}" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" Type="{XENC}Element"><xenc:EncryptionMethod Algorithm="{content}"/><ds:KeyInfo><xenc:EncryptedKey><xenc:EncryptionMethod Algorithm="{transport}"/><xenc:CipherData><xenc:CipherValue/></xenc:CipherData></xenc:EncryptedKey></ds:KeyInfo><xenc:CipherData><xenc:CipherValue/></xenc:CipherData></xenc:EncryptedData>"#
        ),
    )
    .unwrap();
    let o = run(Command::new("xmlsec1")
        .args(["--encrypt", "--pubkey-cert-pem"])
        .arg(&sp.cert_path)
        .args(["--session-key", session, "--xml-data"])
        .arg(&data)
        .arg("--output")
        .arg(&output)
        .arg(&template));
    assert!(
        o.status.success(),
        "xmlsec1 --encrypt failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let text = std::fs::read_to_string(&output).unwrap();
    text.trim_start()
        .strip_prefix("<?xml version=\"1.0\"?>")
        .unwrap_or(&text)
        .trim()
        .to_owned()
}

fn encrypted_response(shape: &Shape, encrypted_data: &str) -> String {
    shape.response(&format!(
        "<saml:EncryptedAssertion>{encrypted_data}</saml:EncryptedAssertion>"
    ))
}

async fn validate(
    idp: &Identity,
    sp_keys: &[&Identity],
    options: ValidationOptions,
    xml: &str,
) -> Result<VerifiedAssertion, SamlError> {
    let requests = Arc::new(InMemoryRequestStore::new());
    requests
        .insert("_req1", NOW + Duration::minutes(10))
        .await
        .unwrap();
    ResponseValidator::new(
        ServiceProvider {
            entity_id: SP.into(),
            acs_url: ACS.into(),
        },
        IdentityProvider {
            entity_id: IDP.into(),
            certificates: vec![idp.cert.clone()],
        },
        requests,
        Arc::new(InMemoryReplayCache::new()),
    )
    .with_options(options)
    .with_decryption_keys(sp_keys.iter().map(|k| k.signing_key()).collect())
    .with_clock(Arc::new(FixedClock(NOW)))
    .validate_xml(xml.as_bytes())
    .await
}

#[tokio::test]
async fn xmlsec1_encrypted_assertions_decrypt_for_each_content_algorithm() {
    let idp = Identity::rsa(2048, "idp");
    let old_sp = Identity::rsa(2048, "sp old");
    let sp = Identity::rsa(2048, "sp");
    let shape = Shape::default();
    let signed_assertion = sign(&shape.assertion(), "_assert1", &idp);
    for (content, session) in [
        ("aes128-cbc", "aes-128"),
        ("aes192-cbc", "aes-192"),
        ("aes256-cbc", "aes-256"),
        ("aes128-gcm", "aes-128"),
        ("aes256-gcm", "aes-256"),
    ] {
        let uri = if content.ends_with("gcm") {
            format!("{XENC11}{content}")
        } else {
            format!("{XENC}{content}")
        };
        let data = xmlsec1_encrypt(
            &sp,
            &signed_assertion,
            &uri,
            session,
            &format!("{XENC}rsa-oaep-mgf1p"),
        );
        let xml = encrypted_response(&shape, &data);
        // The SP key that decrypts is the second one (rollover).
        let a = validate(&idp, &[&old_sp, &sp], ValidationOptions::default(), &xml)
            .await
            .unwrap_or_else(|e| panic!("{content}: {e}"));
        assert_eq!(a.name_id.value, "bjensen@example.com");
        assert_eq!(a.assertion_id, "_assert1");
        assert!(a.assertion_signature.is_some());

        // The wrong SP key, and a flipped ciphertext byte: one indistinguishable error.
        assert_eq!(
            validate(&idp, &[&old_sp], ValidationOptions::default(), &xml)
                .await
                .unwrap_err(),
            SamlError::Decryption,
            "{content}"
        );
        let marker = "</xenc:CipherValue></xenc:CipherData></xenc:EncryptedData>";
        let at = xml.rfind(marker).unwrap() - 30;
        let mut bytes = xml.clone().into_bytes();
        bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
        let flipped = String::from_utf8(bytes).unwrap();
        assert_eq!(
            validate(&idp, &[&sp], ValidationOptions::default(), &flipped)
                .await
                .unwrap_err(),
            SamlError::Decryption,
            "{content}"
        );
    }
}

#[tokio::test]
async fn encryption_does_not_replace_a_signature() {
    // An encrypted but unsigned assertion in an unsigned response.
    let idp = Identity::rsa(2048, "idp");
    let sp = Identity::rsa(2048, "sp");
    let shape = Shape::default();
    let data = xmlsec1_encrypt(
        &sp,
        &shape.assertion(),
        &format!("{XENC11}aes256-gcm"),
        "aes-256",
        &format!("{XENC}rsa-oaep-mgf1p"),
    );
    let unsigned = encrypted_response(&shape, &data);
    // Nothing authenticates the plaintext, so the missing signature is reported as the one
    // decryption error (no oracle on the plaintext).
    assert_eq!(
        validate(&idp, &[&sp], ValidationOptions::default(), &unsigned)
            .await
            .unwrap_err(),
        SamlError::Decryption
    );
    // A policy that requires the Response signature refuses before decrypting.
    assert_eq!(
        validate(
            &idp,
            &[&sp],
            ValidationOptions {
                signatures: saml_sp::SignaturePolicy::Response,
                ..ValidationOptions::default()
            },
            &unsigned
        )
        .await
        .unwrap_err(),
        SamlError::SignatureMissing {
            element: "Response"
        }
    );
    // The same with the Response signed over the EncryptedAssertion: accepted.
    let signed = sign(&unsigned, "_resp1", &idp);
    let a = validate(&idp, &[&sp], ValidationOptions::default(), &signed)
        .await
        .unwrap();
    assert!(a.response_signature.is_some() && a.assertion_signature.is_none());
    // And every profile check still applies to the decrypted assertion.
    let wrong_audience = Shape {
        audience: "https://other.example".into(),
        ..Shape::default()
    };
    let data = xmlsec1_encrypt(
        &sp,
        &sign(&wrong_audience.assertion(), "_assert1", &idp),
        &format!("{XENC}aes128-cbc"),
        "aes-128",
        &format!("{XENC}rsa-oaep-mgf1p"),
    );
    assert!(matches!(
        validate(
            &idp,
            &[&sp],
            ValidationOptions::default(),
            &encrypted_response(&shape, &data)
        )
        .await
        .unwrap_err(),
        SamlError::Audience { .. }
    ));
}

#[tokio::test]
async fn rsa_1_5_key_transport_only_when_dangerously_allowed() {
    let idp = Identity::rsa(2048, "idp");
    let sp = Identity::rsa(2048, "sp");
    let shape = Shape::default();
    let data = xmlsec1_encrypt(
        &sp,
        &sign(&shape.assertion(), "_assert1", &idp),
        &format!("{XENC}aes128-cbc"),
        "aes-128",
        &format!("{XENC}rsa-1_5"),
    );
    let xml = encrypted_response(&shape, &data);
    assert_eq!(
        validate(&idp, &[&sp], ValidationOptions::default(), &xml)
            .await
            .unwrap_err(),
        SamlError::AlgorithmNotAllowed {
            kind: "key transport",
            uri: format!("{XENC}rsa-1_5")
        }
    );
    let dangerous = ValidationOptions {
        dangerous_allow_rsa1_5_key_transport: true,
        ..ValidationOptions::default()
    };
    let a = validate(&idp, &[&sp], dangerous, &xml).await.unwrap();
    assert_eq!(a.name_id.value, "bjensen@example.com");
    // Without any SP key configured.
    assert_eq!(
        validate(&idp, &[], dangerous, &xml).await.unwrap_err(),
        SamlError::Missing("SP decryption key for EncryptedAssertion")
    );
}

#[tokio::test]
async fn oaep_with_sha256_digest_and_mgf1_decrypts() {
    let idp = Identity::rsa(2048, "idp");
    let sp = Identity::rsa(2048, "sp");
    let shape = Shape::default();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("assertion.xml");
    std::fs::write(&path, sign(&shape.assertion(), "_assert1", &idp)).unwrap();
    for transport in ["oaep-mgf1p-sha256", "oaep11-sha256-mgf1sha256"] {
        for content in ["aes128-cbc", "aes256-cbc", "aes128-gcm", "aes256-gcm"] {
            let data = python_script(
                "xmlenc_encrypt.py",
                &[
                    sp.cert_path.to_str().unwrap(),
                    transport,
                    content,
                    path.to_str().unwrap(),
                ],
            );
            let xml = encrypted_response(&shape, &data);
            let a = validate(&idp, &[&sp], ValidationOptions::default(), &xml)
                .await
                .unwrap_or_else(|e| panic!("{transport} {content}: {e}"));
            assert_eq!(a.name_id.value, "bjensen@example.com");
        }
    }
}

#[tokio::test]
async fn encrypted_keys_are_capped_before_any_rsa_operation() {
    let idp = Identity::rsa(2048, "test idp");
    let sp = Identity::rsa(2048, "test sp");
    let key = format!(
        r#"<xenc:EncryptedKey xmlns:xenc="{XENC}"><xenc:EncryptionMethod Algorithm="{XENC}rsa-oaep-mgf1p"/><xenc:CipherData><xenc:CipherValue>AQ==</xenc:CipherValue></xenc:CipherData></xenc:EncryptedKey>"#
    );
    let response = |keys: usize| {
        Shape::default().response(&format!(
            r#"<saml:EncryptedAssertion><xenc:EncryptedData xmlns:xenc="{XENC}"><xenc:EncryptionMethod Algorithm="{XENC}aes128-cbc"/><xenc:CipherData><xenc:CipherValue>AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=</xenc:CipherValue></xenc:CipherData></xenc:EncryptedData>{}</saml:EncryptedAssertion>"#,
            key.repeat(keys)
        ))
    };
    let err = validate(&idp, &[&sp], ValidationOptions::default(), &response(5))
        .await
        .unwrap_err();
    assert_eq!(err, SamlError::TooManyEncryptedKeys { count: 5, max: 4 });
    assert_eq!(err.check(), "encryption.key_count");
    // Four are tried (and fail like any wrong key).
    assert_eq!(
        validate(&idp, &[&sp], ValidationOptions::default(), &response(4))
            .await
            .unwrap_err(),
        SamlError::Decryption
    );
}

#[tokio::test]
async fn cbc_tampering_of_an_unsigned_response_gives_one_error() {
    // Flipping bits of the IV changes the first plaintext block at will; if a well-formed
    // but unsigned plaintext were reported differently from a malformed one, the error
    // would be a plaintext oracle.
    use base64::Engine as _;
    let engine = base64::engine::general_purpose::STANDARD;
    let idp = Identity::rsa(2048, "idp");
    let sp = Identity::rsa(2048, "sp");
    let shape = Shape::default();
    let data = xmlsec1_encrypt(
        &sp,
        &shape.assertion(),
        &format!("{XENC}aes128-cbc"),
        "aes-128",
        &format!("{XENC}rsa-oaep-mgf1p"),
    );
    let open = data.rfind("<xenc:CipherValue>").unwrap() + "<xenc:CipherValue>".len();
    let close = open + data[open..].find("</xenc:CipherValue>").unwrap();
    let compact: String = data[open..close]
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    let original = engine.decode(compact).unwrap();
    let mut errors = std::collections::BTreeSet::new();
    for mask in 0..=255u8 {
        let mut tampered = original.clone();
        tampered[15] ^= mask;
        let data = format!(
            "{}{}{}",
            &data[..open],
            engine.encode(&tampered),
            &data[close..]
        );
        let err = validate(
            &idp,
            &[&sp],
            ValidationOptions::default(),
            &encrypted_response(&shape, &data),
        )
        .await
        .unwrap_err();
        errors.insert(err.check());
    }
    assert_eq!(
        errors.into_iter().collect::<Vec<_>>(),
        ["encryption.decrypt"]
    );
}
