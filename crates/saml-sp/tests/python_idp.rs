//! Responses signed by real IdP-side software, run by the tests from the project venv
//! (scripts/setup installs it): signxml for each algorithm and signing place, and pysaml2
//! acting as the IdP. Keys are generated at test time.

mod common;

use std::sync::Arc;

use common::saml::{ACS, IDP, NOW, SP, Shape};
use common::{Identity, python_script};
use openssl::nid::Nid;
use saml_sp::dsig::SignatureAlgorithm;
use saml_sp::{
    FixedClock, IdentityProvider, InMemoryReplayCache, InMemoryRequestStore, RequestStore,
    ResponseValidator, SamlError, ServiceProvider, ValidationOptions, VerifiedAssertion,
};
use time::Duration;

async fn validate_at(
    idp: &Identity,
    xml: &str,
    now: time::OffsetDateTime,
    request_id: Option<&str>,
) -> Result<VerifiedAssertion, SamlError> {
    let requests = Arc::new(InMemoryRequestStore::new());
    if let Some(id) = request_id {
        requests
            .insert(id, now + Duration::minutes(10))
            .await
            .unwrap();
    }
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
    .with_options(ValidationOptions::default())
    .with_clock(Arc::new(FixedClock(now)))
    .validate_xml(xml.as_bytes())
    .await
}

/// Signs `xml` (its root element) with signxml.
fn signxml(idp: &Identity, xml: &str, method: &str, digest: &str, c14n: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("in.xml");
    std::fs::write(&path, xml).unwrap();
    python_script(
        "signxml_sign.py",
        &[
            idp.key_path.to_str().unwrap(),
            idp.cert_path.to_str().unwrap(),
            method,
            digest,
            c14n,
            path.to_str().unwrap(),
        ],
    )
}

#[tokio::test]
async fn signxml_signatures_verify_for_each_algorithm_and_place() {
    let rsa = Identity::rsa(2048, "signxml rsa");
    let p256 = Identity::ec(Nid::X9_62_PRIME256V1, "signxml p256");
    let p384 = Identity::ec(Nid::SECP384R1, "signxml p384");
    let p521 = Identity::ec(Nid::SECP521R1, "signxml p521");
    let cases = [
        ("RSA_SHA256", "SHA256", &rsa, SignatureAlgorithm::RsaSha256),
        ("RSA_SHA384", "SHA384", &rsa, SignatureAlgorithm::RsaSha384),
        ("RSA_SHA512", "SHA512", &rsa, SignatureAlgorithm::RsaSha512),
        (
            "SHA256_RSA_MGF1",
            "SHA256",
            &rsa,
            SignatureAlgorithm::RsaPssSha256,
        ),
        (
            "SHA384_RSA_MGF1",
            "SHA384",
            &rsa,
            SignatureAlgorithm::RsaPssSha384,
        ),
        (
            "SHA512_RSA_MGF1",
            "SHA512",
            &rsa,
            SignatureAlgorithm::RsaPssSha512,
        ),
        (
            "ECDSA_SHA256",
            "SHA256",
            &p256,
            SignatureAlgorithm::EcdsaSha256,
        ),
        (
            "ECDSA_SHA384",
            "SHA384",
            &p384,
            SignatureAlgorithm::EcdsaSha384,
        ),
        (
            "ECDSA_SHA512",
            "SHA512",
            &p521,
            SignatureAlgorithm::EcdsaSha512,
        ),
    ];
    for (method, digest, idp, expected) in cases {
        for c14n in [
            "EXCLUSIVE_XML_CANONICALIZATION_1_0",
            "EXCLUSIVE_XML_CANONICALIZATION_1_0_WITH_COMMENTS",
        ] {
            let shape = Shape::default();
            let signed_assertion = signxml(idp, &shape.assertion(), method, digest, c14n);

            // Assertion only (ADFS, Entra ID).
            let xml = shape.response(&signed_assertion);
            let a = validate_at(idp, &xml, NOW, Some("_req1")).await.unwrap();
            assert_eq!(a.assertion_signature.unwrap().signature_algorithm, expected);
            assert!(a.response_signature.is_none());
            assert_eq!(a.name_id.value, "bjensen@example.com");

            // Response only (Okta may).
            let xml = signxml(
                idp,
                &shape.response(&shape.assertion()),
                method,
                digest,
                c14n,
            );
            let a = validate_at(idp, &xml, NOW, Some("_req1")).await.unwrap();
            assert_eq!(a.response_signature.unwrap().signature_algorithm, expected);
            assert!(a.assertion_signature.is_none());

            // Both.
            let xml = signxml(
                idp,
                &shape.response(&signed_assertion),
                method,
                digest,
                c14n,
            );
            let a = validate_at(idp, &xml, NOW, Some("_req1")).await.unwrap();
            assert!(a.response_signature.is_some() && a.assertion_signature.is_some());

            // Tampered after signing.
            let tampered = shape.response(&signed_assertion).replacen(
                "bjensen@example.com</saml:NameID>",
                "admin@example.com</saml:NameID>",
                1,
            );
            assert_eq!(
                validate_at(idp, &tampered, NOW, Some("_req1"))
                    .await
                    .unwrap_err(),
                SamlError::DigestMismatch {
                    uri: "#_assert1".into()
                },
                "{method} {c14n}"
            );
        }
    }
}

fn pysaml2(idp: &Identity, place: &str, request_id: &str, algorithms: &str) -> String {
    python_script(
        "pysaml2_idp.py",
        &[
            idp.key_path.to_str().unwrap(),
            idp.cert_path.to_str().unwrap(),
            place,
            request_id,
            algorithms,
        ],
    )
}

#[tokio::test]
async fn pysaml2_idp_responses_validate_in_each_signing_place() {
    let idp = Identity::rsa(2048, "pysaml2 idp");
    let now = time::OffsetDateTime::now_utc();
    for place in ["assertion", "response", "both"] {
        let xml = pysaml2(&idp, place, "_req42", "sha256");
        let a = validate_at(&idp, &xml, now, Some("_req42")).await.unwrap();
        assert_eq!(a.issuer, IDP);
        assert_eq!(a.name_id.value, "bjensen@example.com");
        assert_eq!(
            a.name_id.format.as_deref(),
            Some("urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress")
        );
        assert_eq!(a.in_response_to.as_deref(), Some("_req42"));
        assert!(a.session_index.is_some());
        assert_eq!(
            a.authn_context_class.as_deref(),
            Some("urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport")
        );
        // pysaml2 maps "mail" to its OID name under the URI name format.
        let mail = a
            .attributes
            .iter()
            .find(|x| x.friendly_name.as_deref() == Some("mail"))
            .expect("mail attribute");
        assert_eq!(mail.values, ["bjensen@example.com"]);
        assert_eq!(
            a.response_signature.is_some(),
            place != "assertion",
            "{place}"
        );
        assert_eq!(
            a.assertion_signature.is_some(),
            place != "response",
            "{place}"
        );

        // The same response an hour later: expired.
        let later = validate_at(&idp, &xml, now + Duration::hours(1), Some("_req42")).await;
        assert!(matches!(later, Err(SamlError::Expired { .. })), "{later:?}");
        // Answering a request we never sent.
        assert_eq!(
            validate_at(&idp, &xml, now, Some("_other"))
                .await
                .unwrap_err(),
            SamlError::UnknownRequest("_req42".into())
        );
    }
}

#[tokio::test]
async fn pysaml2_sha1_default_is_refused_and_unsolicited_needs_permission() {
    let idp = Identity::rsa(2048, "pysaml2 idp");
    let now = time::OffsetDateTime::now_utc();
    let sha1 = pysaml2(&idp, "assertion", "_req7", "default");
    assert_eq!(
        validate_at(&idp, &sha1, now, Some("_req7"))
            .await
            .unwrap_err(),
        SamlError::Sha1NotAllowed {
            kind: "signature",
            uri: "http://www.w3.org/2000/09/xmldsig#rsa-sha1".into()
        }
    );

    let unsolicited = pysaml2(&idp, "assertion", "-", "sha256");
    assert_eq!(
        validate_at(&idp, &unsolicited, now, None)
            .await
            .unwrap_err(),
        SamlError::UnsolicitedNotAllowed
    );

    // A certificate that did not sign it: the IdP's own certificate in KeyInfo is refused.
    let other = Identity::rsa(2048, "someone else");
    let solicited = pysaml2(&idp, "both", "_req8", "sha256");
    assert!(matches!(
        validate_at(&other, &solicited, now, Some("_req8")).await.unwrap_err(),
        SamlError::UntrustedKeyInfo { subject } if subject == "pysaml2 idp"
    ));
}

#[tokio::test]
async fn pysaml2_encrypted_assertions_decrypt_and_validate() {
    let idp = Identity::rsa(2048, "pysaml2 idp");
    let sp = Identity::rsa(2048, "sp encryption");
    let now = time::OffsetDateTime::now_utc();
    for place in ["assertion", "response", "both"] {
        let xml = python_script(
            "pysaml2_idp.py",
            &[
                idp.key_path.to_str().unwrap(),
                idp.cert_path.to_str().unwrap(),
                place,
                "_req9",
                "sha256",
                sp.cert_path.to_str().unwrap(),
            ],
        );
        assert!(
            xml.contains("EncryptedAssertion"),
            "pysaml2 did not encrypt"
        );
        let requests = Arc::new(InMemoryRequestStore::new());
        requests
            .insert("_req9", now + Duration::minutes(10))
            .await
            .unwrap();
        let validator = ResponseValidator::new(
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
        .with_decryption_keys(vec![sp.signing_key()])
        .with_clock(Arc::new(FixedClock(now)));
        let a = validator
            .validate_xml(xml.as_bytes())
            .await
            .unwrap_or_else(|e| panic!("{place}: {e}"));
        assert_eq!(a.name_id.value, "bjensen@example.com");
        assert_eq!(
            a.assertion_signature.is_some(),
            place != "response",
            "{place}"
        );
        assert_eq!(
            a.response_signature.is_some(),
            place != "assertion",
            "{place}"
        );
    }
}

#[tokio::test]
async fn pysaml2_logout_requests_validate_on_both_bindings() {
    use saml_sp::logout::{ReceivedMessage, validate_logout_request};

    let idp = Identity::rsa(2048, "pysaml2 idp");
    let trusted = IdentityProvider {
        entity_id: IDP.into(),
        certificates: vec![idp.cert.clone()],
    };
    let slo = "https://app.example.com/saml/slo";
    let now = time::OffsetDateTime::now_utc();
    let options = ValidationOptions::default();
    let replay = saml_sp::InMemoryReplayCache::new();
    let args = |binding: &'static str| {
        [
            idp.key_path.to_str().unwrap().to_owned(),
            idp.cert_path.to_str().unwrap().to_owned(),
            binding.to_owned(),
        ]
    };

    let url = python_script(
        "pysaml2_logout.py",
        &args("redirect").each_ref().map(String::as_str),
    );
    let query = url.split_once('?').unwrap().1;
    let request = validate_logout_request(
        ReceivedMessage::Redirect(query),
        &trusted,
        slo,
        &options,
        &replay,
        now,
    )
    .await
    .unwrap();
    assert_eq!(request.name_id.value, "bjensen@example.com");
    assert_eq!(request.session_indexes, ["_s1"]);
    // The same signed request again: refused as a replay.
    assert_eq!(
        validate_logout_request(
            ReceivedMessage::Redirect(query),
            &trusted,
            slo,
            &options,
            &replay,
            now,
        )
        .await
        .unwrap_err(),
        SamlError::Replay(request.id.clone())
    );
    let tampered = query.replacen("RelayState=rs", "RelayState=xx", 1);
    assert_eq!(
        validate_logout_request(
            ReceivedMessage::Redirect(&tampered),
            &trusted,
            slo,
            &options,
            &replay,
            now
        )
        .await
        .unwrap_err(),
        SamlError::SignatureInvalid { tried: 1 }
    );

    let form = python_script(
        "pysaml2_logout.py",
        &args("post").each_ref().map(String::as_str),
    );
    let request = validate_logout_request(
        ReceivedMessage::Post(form.trim()),
        &trusted,
        slo,
        &options,
        &replay,
        now,
    )
    .await
    .unwrap();
    assert_eq!(request.session_indexes, ["_s1"]);
    let other = Identity::rsa(2048, "other idp");
    let untrusted = IdentityProvider {
        entity_id: IDP.into(),
        certificates: vec![other.cert.clone()],
    };
    assert!(matches!(
        validate_logout_request(
            ReceivedMessage::Post(form.trim()),
            &untrusted,
            slo,
            &options,
            &replay,
            now
        )
        .await
        .unwrap_err(),
        SamlError::UntrustedKeyInfo { .. }
    ));
}
