//! Response validation: the accepted shapes, every profile check, and the attack classes
//! known from other SAML libraries' advisories, each rejected with the variant naming it.
//!
//! The responses are signed here with the crate's signer (its output is checked against
//! xmlsec1 in `xmlsec1_differential.rs`); responses from real IdP software are in
//! `python_idp.rs`.

mod common;

use common::saml::{ACS, IDP, NOW, SP, Shape, sign};

use std::sync::Arc;

use base64::Engine as _;
use common::Identity;
use openssl::nid::Nid;
use saml_sp::dsig::{DigestAlgorithm, SignatureAlgorithm, sign_enveloped};
use saml_sp::{
    FixedClock, IdentityProvider, InMemoryReplayCache, InMemoryRequestStore, RequestStore,
    ResponseValidator, SamlError, ServiceProvider, SignaturePolicy, ValidationOptions,
};
use time::Duration;
use time::macros::datetime;

struct Setup {
    validator: ResponseValidator,
    requests: Arc<InMemoryRequestStore>,
}

async fn setup_with(certs: &[&Identity], options: ValidationOptions) -> Setup {
    let requests = Arc::new(InMemoryRequestStore::new());
    requests
        .insert("_req1", NOW + Duration::minutes(10))
        .await
        .unwrap();
    let validator = ResponseValidator::new(
        ServiceProvider {
            entity_id: SP.into(),
            acs_url: ACS.into(),
        },
        IdentityProvider {
            entity_id: IDP.into(),
            certificates: certs.iter().map(|i| i.cert.clone()).collect(),
        },
        requests.clone(),
        Arc::new(InMemoryReplayCache::new()),
    )
    .with_options(options)
    .with_clock(Arc::new(FixedClock(NOW)));
    Setup {
        validator,
        requests,
    }
}

async fn setup(idp: &Identity) -> Setup {
    setup_with(&[idp], ValidationOptions::default()).await
}

async fn validate(idp: &Identity, xml: &str) -> Result<saml_sp::VerifiedAssertion, SamlError> {
    setup(idp)
        .await
        .validator
        .validate_xml(xml.as_bytes())
        .await
}

fn idp() -> Identity {
    Identity::rsa(2048, "test idp")
}

// --- accepted shapes ------------------------------------------------------------------

#[tokio::test]
async fn accepts_a_signed_assertion_and_reads_every_field() {
    let idp = idp();
    let a = validate(&idp, &Shape::default().assertion_signed(&idp))
        .await
        .unwrap();
    assert_eq!(a.issuer, IDP);
    assert_eq!(a.assertion_id, "_assert1");
    assert_eq!(a.response_id, "_resp1");
    assert_eq!(a.name_id.value, "bjensen@example.com");
    assert_eq!(
        a.name_id.format.as_deref(),
        Some("urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress")
    );
    assert_eq!(a.name_id.sp_name_qualifier.as_deref(), Some(SP));
    assert_eq!(a.in_response_to.as_deref(), Some("_req1"));
    assert_eq!(a.session_index.as_deref(), Some("_session1"));
    assert_eq!(
        a.session_not_on_or_after,
        Some(datetime!(2026-12-04 16:00:00 UTC))
    );
    assert_eq!(a.authn_instant, datetime!(2026-12-04 07:59:20 UTC));
    assert_eq!(
        a.authn_context_class.as_deref(),
        Some("urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport")
    );
    assert_eq!(a.not_before, Some(datetime!(2026-12-04 07:59:00 UTC)));
    assert_eq!(a.not_on_or_after, datetime!(2026-12-04 08:05:00 UTC));
    assert!(!a.one_time_use);
    assert_eq!(
        a.attribute("email"),
        Some(&["bjensen@example.com".to_owned()][..])
    );
    assert_eq!(
        a.attribute("groups"),
        Some(&["admins".to_owned(), "ops & dev".to_owned()][..])
    );
    assert_eq!(a.attributes[0].friendly_name.as_deref(), Some("mail"));
    assert!(a.response_signature.is_none());
    assert_eq!(
        a.assertion_signature.unwrap().signature_algorithm,
        SignatureAlgorithm::RsaSha256
    );
}

#[tokio::test]
async fn accepts_response_only_and_both_signed() {
    let idp = idp();
    let a = validate(&idp, &Shape::default().response_signed(&idp))
        .await
        .unwrap();
    assert!(a.response_signature.is_some() && a.assertion_signature.is_none());
    let a = validate(&idp, &Shape::default().both_signed(&idp))
        .await
        .unwrap();
    assert!(a.response_signature.is_some() && a.assertion_signature.is_some());
}

#[tokio::test]
async fn accepts_the_base64_post_form() {
    let idp = idp();
    let xml = Shape::default().assertion_signed(&idp);
    let encoded = base64::engine::general_purpose::STANDARD.encode(xml);
    let wrapped: String = encoded
        .as_bytes()
        .chunks(76)
        .map(|c| format!("{}\r\n", std::str::from_utf8(c).unwrap()))
        .collect();
    let a = setup(&idp)
        .await
        .validator
        .validate_post(&wrapped)
        .await
        .unwrap();
    assert_eq!(a.name_id.value, "bjensen@example.com");
}

#[tokio::test]
async fn accepts_ecdsa_and_pss_signatures_and_rolled_over_keys() {
    let old = idp();
    for (alg, new) in [
        (
            SignatureAlgorithm::EcdsaSha256,
            Identity::ec(Nid::X9_62_PRIME256V1, "ec"),
        ),
        (
            SignatureAlgorithm::EcdsaSha512,
            Identity::ec(Nid::SECP521R1, "ec"),
        ),
        (SignatureAlgorithm::RsaPssSha256, Identity::rsa(2048, "pss")),
        (SignatureAlgorithm::RsaPssSha512, Identity::rsa(2048, "pss")),
        (SignatureAlgorithm::RsaSha384, Identity::rsa(2048, "rsa384")),
    ] {
        let shape = Shape::default();
        let assertion = sign_enveloped(
            &shape.assertion(),
            "_assert1",
            &new.signing_key(),
            alg,
            DigestAlgorithm::Sha512,
        )
        .unwrap();
        let setup = setup_with(&[&old, &new], ValidationOptions::default()).await;
        let a = setup
            .validator
            .validate_xml(shape.response(&assertion).as_bytes())
            .await
            .unwrap();
        let sig = a.assertion_signature.unwrap();
        assert_eq!(sig.signature_algorithm, alg);
        assert_eq!(sig.digest_algorithm, DigestAlgorithm::Sha512);
        assert_eq!(sig.certificate_index, 1);
    }
}

// --- storage-backed checks ------------------------------------------------------------

#[tokio::test]
async fn a_request_is_consumed_once() {
    let idp = idp();
    let s = setup(&idp).await;
    let xml = Shape::default().assertion_signed(&idp);
    s.validator.validate_xml(xml.as_bytes()).await.unwrap();
    let again = Shape {
        assertion_id: "_assert2".into(),
        ..Shape::default()
    }
    .assertion_signed(&idp);
    assert_eq!(
        s.validator
            .validate_xml(again.as_bytes())
            .await
            .unwrap_err(),
        SamlError::UnknownRequest("_req1".into())
    );
    assert!(!s.requests.take("_req1", NOW).await.unwrap());
}

#[tokio::test]
async fn an_unknown_request_is_refused() {
    let idp = idp();
    let shape = Shape {
        in_response_to: Some("_forged".into()),
        scd_in_response_to: Some("_forged".into()),
        ..Shape::default()
    };
    assert_eq!(
        validate(&idp, &shape.assertion_signed(&idp))
            .await
            .unwrap_err(),
        SamlError::UnknownRequest("_forged".into())
    );
}

#[tokio::test]
async fn idp_initiated_only_when_allowed_and_replay_refused() {
    let idp = idp();
    let shape = Shape {
        in_response_to: None,
        scd_in_response_to: None,
        ..Shape::default()
    };
    let xml = shape.assertion_signed(&idp);
    assert_eq!(
        validate(&idp, &xml).await.unwrap_err(),
        SamlError::UnsolicitedNotAllowed
    );

    let allowing = setup_with(
        &[&idp],
        ValidationOptions {
            allow_idp_initiated: true,
            ..ValidationOptions::default()
        },
    )
    .await;
    let a = allowing
        .validator
        .validate_xml(xml.as_bytes())
        .await
        .unwrap();
    assert_eq!(a.in_response_to, None);
    assert_eq!(
        allowing
            .validator
            .validate_xml(xml.as_bytes())
            .await
            .unwrap_err(),
        SamlError::Replay("_assert1".into())
    );
}

// --- signature attacks ----------------------------------------------------------------

/// The signature element of `xml` (the first one).
fn signature_of(xml: &str) -> &str {
    let start = xml.find("<ds:Signature").unwrap();
    let end = xml.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
    &xml[start..end]
}

#[tokio::test]
async fn wrapping_a_signed_response_inside_an_unsigned_one_is_refused() {
    // XSW1/XSW2: the original signed Response goes into the copied Signature (Object) or
    // next to it; a forged Response with another ID is the root.
    let idp = idp();
    let genuine = Shape::default().response_signed(&idp);
    let signature = signature_of(&genuine);
    let forged = Shape {
        response_id: "_evil".into(),
        assertion_id: "_evil_assertion".into(),
        name_id: "admin@example.com".into(),
        ..Shape::default()
    };
    for placement in ["object", "sibling"] {
        let wrapped_signature = match placement {
            "object" => signature.replace(
                "</ds:Signature>",
                &format!("<ds:Object>{genuine}</ds:Object></ds:Signature>"),
            ),
            _ => format!("{signature}{genuine}"),
        };
        let xml = forged.response(&forged.assertion()).replacen(
            &format!("{IDP}</saml:Issuer>"),
            &format!("{IDP}</saml:Issuer>{wrapped_signature}"),
            1,
        );
        let err = validate(&idp, &xml).await.unwrap_err();
        let expected = SamlError::ReferenceMismatch {
            expected: "#_evil".into(),
            found: "#_resp1".into(),
        };
        assert_eq!(err, expected, "{placement}");
    }
}

#[tokio::test]
async fn wrapping_a_signed_assertion_is_refused_in_each_placement() {
    let idp = idp();
    let shape = Shape::default();
    let signed_assertion = sign(&shape.assertion(), "_assert1", &idp);
    let evil = Shape {
        assertion_id: "_evil".into(),
        name_id: "admin@example.com".into(),
        ..Shape::default()
    };
    let evil_assertion = evil.assertion();
    let issuer_end = format!("{IDP}</saml:Issuer>");

    // XSW3: the forged assertion before the signed one.
    let xsw3 = shape.response(&format!("{evil_assertion}{signed_assertion}"));
    assert_eq!(
        validate(&idp, &xsw3).await.unwrap_err(),
        SamlError::AssertionCount { count: 2 }
    );

    // XSW4: the signed assertion inside the forged one.
    let xsw4 = shape.response(&evil_assertion.replacen(
        "</saml:Assertion>",
        &format!("{signed_assertion}</saml:Assertion>"),
        1,
    ));
    assert_eq!(
        validate(&idp, &xsw4).await.unwrap_err(),
        SamlError::SignatureMissing {
            element: "Response or Assertion"
        }
    );

    // XSW5/XSW6/XSW8: the signature moved into the forged assertion, the signed assertion
    // inside the signature's Object or inside the forged assertion.
    let signature = signature_of(&signed_assertion);
    let unsigned_original = signed_assertion.replacen(signature, "", 1);
    for inner in [
        signature.replace(
            "</ds:Signature>",
            &format!("<ds:Object>{unsigned_original}</ds:Object></ds:Signature>"),
        ),
        signature.replace(
            "</ds:Signature>",
            &format!("<ds:Object>{signed_assertion}</ds:Object></ds:Signature>"),
        ),
        format!("{signature}{unsigned_original}"),
    ] {
        let forged = evil_assertion.replacen(&issuer_end, &format!("{issuer_end}{inner}"), 1);
        assert_eq!(
            validate(&idp, &shape.response(&forged)).await.unwrap_err(),
            SamlError::ReferenceMismatch {
                expected: "#_evil".into(),
                found: "#_assert1".into()
            }
        );
    }

    // The same with the forged assertion taking the signed one's ID.
    let same_id = Shape {
        assertion_id: "_assert1".into(),
        ..evil.clone()
    }
    .assertion()
    .replacen(
        &issuer_end,
        &format!(
            "{issuer_end}{}",
            signature.replace(
                "</ds:Signature>",
                &format!("<ds:Object>{unsigned_original}</ds:Object></ds:Signature>")
            )
        ),
        1,
    );
    assert_eq!(
        validate(&idp, &shape.response(&same_id)).await.unwrap_err(),
        SamlError::DuplicateId("_assert1".into())
    );

    // XSW7: the signed assertion in Extensions, the forged one used.
    let xsw7 = shape.response(&evil_assertion).replacen(
        "<samlp:Status>",
        &format!("<samlp:Extensions>{signed_assertion}</samlp:Extensions><samlp:Status>"),
        1,
    );
    assert_eq!(
        validate(&idp, &xsw7).await.unwrap_err(),
        SamlError::SignatureMissing {
            element: "Response or Assertion"
        }
    );
}

#[tokio::test]
async fn a_second_unsigned_assertion_is_refused() {
    let idp = idp();
    let shape = Shape::default();
    let extra = Shape {
        assertion_id: "_extra".into(),
        name_id: "admin@example.com".into(),
        ..Shape::default()
    }
    .assertion();
    let signed = sign(&shape.assertion(), "_assert1", &idp);
    let xml = shape.response(&format!("{signed}{extra}"));
    assert_eq!(
        validate(&idp, &xml).await.unwrap_err(),
        SamlError::AssertionCount { count: 2 }
    );
    // Also when the whole Response is signed.
    let xml = sign(
        &shape.response(&format!("{}{extra}", shape.assertion())),
        "_resp1",
        &idp,
    );
    assert_eq!(
        validate(&idp, &xml).await.unwrap_err(),
        SamlError::AssertionCount { count: 2 }
    );
}

#[tokio::test]
async fn a_comment_cannot_truncate_the_name_id() {
    let idp = idp();
    let shape = Shape {
        name_id: "user@evil.com.attacker.example".into(),
        ..Shape::default()
    };
    let xml = shape
        .assertion_signed(&idp)
        .replacen("user@evil.com", "user@evil.com<!---->", 1);
    assert!(xml.contains("<!---->"));
    let a = validate(&idp, &xml).await.unwrap();
    assert_eq!(a.name_id.value, "user@evil.com.attacker.example");
}

#[tokio::test]
async fn duplicate_ids_are_refused() {
    let idp = idp();
    let xml = Shape::default().assertion_signed(&idp).replacen(
        "<samlp:Status>",
        r#"<samlp:Extensions><x:Marker xmlns:x="urn:x" ID="_assert1"/></samlp:Extensions><samlp:Status>"#,
        1,
    );
    assert_eq!(
        validate(&idp, &xml).await.unwrap_err(),
        SamlError::DuplicateId("_assert1".into())
    );
}

#[tokio::test]
async fn a_reference_to_another_element_is_refused() {
    // A valid signature over the Response, moved into the Assertion.
    let idp = idp();
    let genuine = Shape::default().response_signed(&idp);
    let signature = signature_of(&genuine).to_owned();
    let xml = genuine.replacen(&signature, "", 1).replacen(
        &format!("{IDP}</saml:Issuer><saml:Subject>"),
        &format!("{IDP}</saml:Issuer>{signature}<saml:Subject>"),
        1,
    );
    assert_eq!(
        validate(&idp, &xml).await.unwrap_err(),
        SamlError::ReferenceMismatch {
            expected: "#_assert1".into(),
            found: "#_resp1".into()
        }
    );
}

#[tokio::test]
async fn a_key_carried_in_key_info_is_not_trusted() {
    let idp = idp();
    let attacker = Identity::rsa(2048, "attacker");
    let xml = Shape::default().assertion_signed(&attacker);
    assert_eq!(
        validate(&idp, &xml).await.unwrap_err(),
        SamlError::UntrustedKeyInfo {
            subject: "attacker".into()
        }
    );
    // Without KeyInfo the configured key is tried and fails.
    let start = xml.find("<ds:KeyInfo>").unwrap();
    let end = xml.find("</ds:KeyInfo>").unwrap() + "</ds:KeyInfo>".len();
    let stripped = format!("{}{}", &xml[..start], &xml[end..]);
    assert_eq!(
        validate(&idp, &stripped).await.unwrap_err(),
        SamlError::SignatureInvalid { tried: 1 }
    );
}

#[tokio::test]
async fn several_signed_info_elements_are_refused() {
    let idp = idp();
    let xml = Shape::default().assertion_signed(&idp);
    let start = xml.find("<ds:SignedInfo>").unwrap();
    let end = xml.find("</ds:SignedInfo>").unwrap() + "</ds:SignedInfo>".len();
    let signed_info = &xml[start..end];
    let doubled = xml.replacen(signed_info, &format!("{signed_info}{signed_info}"), 1);
    assert_eq!(
        validate(&idp, &doubled).await.unwrap_err(),
        SamlError::SignedInfoCount { count: 2 }
    );
    let two_signatures = {
        let sig = signature_of(&xml);
        xml.replacen(sig, &format!("{sig}{sig}"), 1)
    };
    assert_eq!(
        validate(&idp, &two_signatures).await.unwrap_err(),
        SamlError::MultipleSignatures {
            element: "Assertion",
            count: 2
        }
    );
}

#[tokio::test]
async fn digest_values_outside_signed_info_are_ignored() {
    // The name is changed and a Reference with the matching digest is put in an Object:
    // only SignedInfo's DigestValue counts.
    let idp = idp();
    let xml = Shape::default().assertion_signed(&idp);
    let start = xml.find("<ds:Reference").unwrap();
    let end = xml.find("</ds:Reference>").unwrap() + "</ds:Reference>".len();
    let reference = xml[start..end].to_owned();
    let forged = xml
        .replacen(
            "bjensen@example.com</saml:NameID>",
            "admin@example.com</saml:NameID>",
            1,
        )
        .replacen(
            "</ds:Signature>",
            &format!("<ds:Object>{reference}</ds:Object></ds:Signature>"),
            1,
        );
    assert_eq!(
        validate(&idp, &forged).await.unwrap_err(),
        SamlError::DigestMismatch {
            uri: "#_assert1".into()
        }
    );
}

#[tokio::test]
async fn sha1_is_refused_unless_allowed() {
    let idp = idp();
    let shape = Shape::default();
    let rsa_sha1 = shape.response(
        &sign_enveloped(
            &shape.assertion(),
            "_assert1",
            &idp.signing_key(),
            SignatureAlgorithm::RsaSha1,
            DigestAlgorithm::Sha256,
        )
        .unwrap(),
    );
    assert_eq!(
        validate(&idp, &rsa_sha1).await.unwrap_err(),
        SamlError::Sha1NotAllowed {
            kind: "signature",
            uri: "http://www.w3.org/2000/09/xmldsig#rsa-sha1".into()
        }
    );
    let sha1_digest = shape.response(
        &sign_enveloped(
            &shape.assertion(),
            "_assert1",
            &idp.signing_key(),
            SignatureAlgorithm::RsaSha256,
            DigestAlgorithm::Sha1,
        )
        .unwrap(),
    );
    assert_eq!(
        validate(&idp, &sha1_digest).await.unwrap_err(),
        SamlError::Sha1NotAllowed {
            kind: "digest",
            uri: "http://www.w3.org/2000/09/xmldsig#sha1".into()
        }
    );
    let allowing = setup_with(
        &[&idp],
        ValidationOptions {
            allow_sha1_insecure: true,
            ..ValidationOptions::default()
        },
    )
    .await;
    let a = allowing
        .validator
        .validate_xml(rsa_sha1.as_bytes())
        .await
        .unwrap();
    assert_eq!(
        a.assertion_signature.unwrap().signature_algorithm,
        SignatureAlgorithm::RsaSha1
    );
}

#[tokio::test]
async fn unsigned_responses_are_refused_with_and_without_certificates() {
    let idp = idp();
    let shape = Shape::default();
    let unsigned = shape.response(&shape.assertion());
    let none = setup_with(&[], ValidationOptions::default()).await;
    assert_eq!(
        none.validator
            .validate_xml(unsigned.as_bytes())
            .await
            .unwrap_err(),
        SamlError::NoTrustedCertificate
    );
    // A signed one neither, when no certificate is configured.
    let signed = shape.assertion_signed(&idp);
    assert_eq!(
        none.validator
            .validate_xml(signed.as_bytes())
            .await
            .unwrap_err(),
        SamlError::NoTrustedCertificate
    );
    assert_eq!(
        validate(&idp, &unsigned).await.unwrap_err(),
        SamlError::SignatureMissing {
            element: "Response or Assertion"
        }
    );
}

#[tokio::test]
async fn signature_policy_is_enforced() {
    let idp = idp();
    let only_assertion = setup_with(
        &[&idp],
        ValidationOptions {
            signatures: SignaturePolicy::Assertion,
            ..ValidationOptions::default()
        },
    )
    .await;
    let xml = Shape::default().response_signed(&idp);
    assert_eq!(
        only_assertion
            .validator
            .validate_xml(xml.as_bytes())
            .await
            .unwrap_err(),
        SamlError::SignatureMissing {
            element: "Assertion"
        }
    );
    let both = setup_with(
        &[&idp],
        ValidationOptions {
            signatures: SignaturePolicy::Both,
            ..ValidationOptions::default()
        },
    )
    .await;
    let xml = Shape::default().assertion_signed(&idp);
    assert_eq!(
        both.validator
            .validate_xml(xml.as_bytes())
            .await
            .unwrap_err(),
        SamlError::SignatureMissing {
            element: "Response"
        }
    );
}

// --- profile checks -------------------------------------------------------------------

async fn rejects(shape: Shape, expected: SamlError) {
    let idp = idp();
    let xml = shape.assertion_signed(&idp);
    assert_eq!(validate(&idp, &xml).await.unwrap_err(), expected);
}

#[tokio::test]
async fn a_non_success_status_is_a_typed_error() {
    rejects(
        Shape {
            status: r#"<samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Requester"><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:InvalidNameIDPolicy"/></samlp:StatusCode><samlp:StatusMessage>no such format</samlp:StatusMessage>"#.into(),
            ..Shape::default()
        },
        SamlError::Status {
            codes: vec![
                "urn:oasis:names:tc:SAML:2.0:status:Requester".into(),
                "urn:oasis:names:tc:SAML:2.0:status:InvalidNameIDPolicy".into(),
            ],
            message: Some("no such format".into()),
        },
    )
    .await;
}

#[tokio::test]
async fn issuer_destination_and_version_are_checked() {
    rejects(
        Shape {
            assertion_issuer: "https://evil.example".into(),
            ..Shape::default()
        },
        SamlError::Issuer {
            element: "Assertion",
            expected: IDP.into(),
            found: "https://evil.example".into(),
        },
    )
    .await;
    rejects(
        Shape {
            response_issuer: "https://evil.example".into(),
            ..Shape::default()
        },
        SamlError::Issuer {
            element: "Response",
            expected: IDP.into(),
            found: "https://evil.example".into(),
        },
    )
    .await;
    rejects(
        Shape {
            destination: Some("https://other.example/acs".into()),
            ..Shape::default()
        },
        SamlError::Destination {
            expected: ACS.into(),
            found: "https://other.example/acs".into(),
        },
    )
    .await;
    rejects(
        Shape {
            version: "1.1".into(),
            ..Shape::default()
        },
        SamlError::Version {
            found: "1.1".into(),
        },
    )
    .await;

    let idp = idp();
    let no_destination = Shape {
        destination: None,
        ..Shape::default()
    }
    .response_signed(&idp);
    assert_eq!(
        validate(&idp, &no_destination).await.unwrap_err(),
        SamlError::Missing("Destination of a signed Response")
    );
}

#[tokio::test]
async fn exactly_one_plain_assertion_is_required() {
    let idp = idp();
    let shape = Shape::default();
    assert_eq!(
        validate(&idp, &shape.response("")).await.unwrap_err(),
        SamlError::AssertionCount { count: 0 }
    );
    let encrypted = shape.response(
        r#"<saml:EncryptedAssertion><xenc:EncryptedData xmlns:xenc="http://www.w3.org/2001/04/xmlenc#"/></saml:EncryptedAssertion>"#,
    );
    assert_eq!(
        validate(&idp, &encrypted).await.unwrap_err(),
        SamlError::Missing("SP decryption key for EncryptedAssertion")
    );
    let wrong_root = r#"<samlp:LogoutResponse xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_x" Version="2.0"/>"#;
    assert_eq!(
        validate(&idp, wrong_root).await.unwrap_err(),
        SamlError::UnexpectedRoot {
            expected: "{urn:oasis:names:tc:SAML:2.0:protocol}Response",
            found: "{urn:oasis:names:tc:SAML:2.0:protocol}LogoutResponse".into()
        }
    );
}

#[tokio::test]
async fn the_bearer_confirmation_is_checked() {
    rejects(
        Shape {
            method: "urn:oasis:names:tc:SAML:2.0:cm:holder-of-key".into(),
            ..Shape::default()
        },
        SamlError::NoBearerConfirmation,
    )
    .await;
    rejects(
        Shape {
            recipient: "https://other.example/acs".into(),
            ..Shape::default()
        },
        SamlError::Recipient {
            expected: ACS.into(),
            found: "https://other.example/acs".into(),
        },
    )
    .await;
    rejects(
        Shape {
            scd_not_on_or_after: "2026-12-04T07:56:59Z".into(),
            ..Shape::default()
        },
        SamlError::Expired {
            what: "SubjectConfirmationData NotOnOrAfter",
            not_on_or_after: "2026-12-04T07:56:59Z".into(),
            now: "2026-12-04T08:00:00Z".into(),
            skew_seconds: 180,
        },
    )
    .await;
    rejects(
        Shape {
            scd_in_response_to: Some("_other".into()),
            ..Shape::default()
        },
        SamlError::InResponseTo {
            element: "SubjectConfirmationData",
            expected: Some("_req1".into()),
            found: Some("_other".into()),
        },
    )
    .await;
}

#[tokio::test]
async fn conditions_are_checked_with_the_clock_skew() {
    // Inside the 3-minute skew: accepted.
    let idp = idp();
    let within = Shape {
        not_before: "2026-12-04T08:02:59Z".into(),
        not_on_or_after: "2026-12-04T07:57:01Z".into(),
        ..Shape::default()
    };
    let a = validate(&idp, &within.assertion_signed(&idp))
        .await
        .unwrap();
    assert_eq!(a.not_on_or_after, datetime!(2026-12-04 07:57:01 UTC));

    rejects(
        Shape {
            not_before: "2026-12-04T08:03:01Z".into(),
            ..Shape::default()
        },
        SamlError::NotYetValid {
            what: "Conditions NotBefore",
            not_before: "2026-12-04T08:03:01Z".into(),
            now: "2026-12-04T08:00:00Z".into(),
            skew_seconds: 180,
        },
    )
    .await;
    rejects(
        Shape {
            not_on_or_after: "2026-12-04T07:57:00Z".into(),
            ..Shape::default()
        },
        SamlError::Expired {
            what: "Conditions NotOnOrAfter",
            not_on_or_after: "2026-12-04T07:57:00Z".into(),
            now: "2026-12-04T08:00:00Z".into(),
            skew_seconds: 180,
        },
    )
    .await;
    rejects(
        Shape {
            not_before: "yesterday".into(),
            ..Shape::default()
        },
        SamlError::InvalidValue {
            what: "Conditions NotBefore",
            value: "yesterday".into(),
        },
    )
    .await;
}

#[tokio::test]
async fn audience_one_time_use_and_unknown_conditions() {
    rejects(
        Shape {
            audience: "https://other-sp.example".into(),
            ..Shape::default()
        },
        SamlError::Audience {
            expected: SP.into(),
            found: vec!["https://other-sp.example".into()],
        },
    )
    .await;
    rejects(
        Shape {
            extra_conditions: "<saml:OneTimeUse/><saml:OneTimeUse/>".into(),
            ..Shape::default()
        },
        SamlError::Conditions("more than one OneTimeUse".into()),
    )
    .await;
    rejects(
        Shape {
            extra_conditions: r#"<saml:Condition xmlns:x="urn:x" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="x:Custom"/>"#.into(),
            ..Shape::default()
        },
        SamlError::Conditions(
            "unsupported condition {urn:oasis:names:tc:SAML:2.0:assertion}Condition".into(),
        ),
    )
    .await;

    let idp = idp();
    let once = Shape {
        extra_conditions: "<saml:OneTimeUse/>".into(),
        ..Shape::default()
    };
    assert!(
        validate(&idp, &once.assertion_signed(&idp))
            .await
            .unwrap()
            .one_time_use
    );
}

#[tokio::test]
async fn an_ended_session_is_refused() {
    rejects(
        Shape {
            session_not_on_or_after: Some("2026-12-04T07:50:00Z".into()),
            ..Shape::default()
        },
        SamlError::Expired {
            what: "AuthnStatement SessionNotOnOrAfter",
            not_on_or_after: "2026-12-04T07:50:00Z".into(),
            now: "2026-12-04T08:00:00Z".into(),
            skew_seconds: 180,
        },
    )
    .await;
}

// --- bad input ------------------------------------------------------------------------

#[tokio::test]
async fn bad_transport_and_xml_get_typed_errors() {
    let idp = idp();
    let s = setup(&idp).await;
    assert!(matches!(
        s.validator.validate_post("not base64!").await.unwrap_err(),
        SamlError::Base64(_)
    ));
    let huge = "A".repeat(4 * 1024 * 1024);
    assert!(matches!(
        s.validator.validate_post(&huge).await.unwrap_err(),
        SamlError::XmlTooLarge { .. }
    ));
    let dtd = format!(
        r#"<!DOCTYPE r [<!ENTITY e SYSTEM "file:///etc/passwd">]>{}"#,
        Shape::default().assertion_signed(&idp)
    );
    assert_eq!(
        s.validator.validate_xml(dtd.as_bytes()).await.unwrap_err(),
        SamlError::DtdForbidden
    );
    assert!(matches!(
        s.validator
            .validate_xml(b"<samlp:Response")
            .await
            .unwrap_err(),
        SamlError::MalformedXml(_)
    ));
    let wrong_ns = Shape::default().assertion_signed(&idp).replace(
        "urn:oasis:names:tc:SAML:2.0:protocol",
        "urn:oasis:names:tc:SAML:1.0:protocol",
    );
    assert!(matches!(
        s.validator
            .validate_xml(wrong_ns.as_bytes())
            .await
            .unwrap_err(),
        SamlError::UnexpectedRoot { .. }
    ));
}

/// A `ds:Signature` over `#_r1` with exclusive c14n (with the given InclusiveNamespaces
/// PrefixList, if any) and bogus digest and signature values.
fn bogus_signature(prefix_list: Option<&str>) -> String {
    let inclusive = prefix_list.map_or(String::new(), |pl| {
        format!(r#"<ec:InclusiveNamespaces xmlns:ec="http://www.w3.org/2001/10/xml-exc-c14n#" PrefixList="{pl}"/>"#)
    });
    format!(
        r##"<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/><ds:Reference URI="#_r1"><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/><ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#">{inclusive}</ds:Transform></ds:Transforms><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue>AAAA</ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue>AAAA</ds:SignatureValue></ds:Signature>"##
    )
}

#[tokio::test]
async fn canonical_form_is_bounded_by_the_input_size() {
    // Exclusive c14n re-declares xmlns:p on each of the 15 000 p:x elements: 200 KB each,
    // 3 GB in all, unless bounded (4 times the input plus 64 KiB).
    let uri = format!("urn:{}", "u".repeat(200_000));
    let xml = format!(
        r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:p="{uri}" ID="_r1" Version="2.0">{}<y>{}</y></samlp:Response>"#,
        bogus_signature(None),
        "<p:x/>".repeat(15_000)
    );
    let err = validate(&idp(), &xml).await.unwrap_err();
    assert_eq!(
        err,
        SamlError::CanonicalTooLarge {
            max: xml.len() * 4 + 64 * 1024
        }
    );
    assert_eq!(err.check(), "c14n.too_large");
}

#[tokio::test]
async fn inclusive_prefix_list_is_deduplicated_and_capped() {
    let kids = format!(
        "{}{}{}",
        "<d>".repeat(40),
        "<x/>".repeat(5_000),
        "</d>".repeat(40)
    );
    let response = |pl: &str| {
        format!(
            r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r1" Version="2.0">{}<saml:y>{kids}</saml:y></samlp:Response>"#,
            bogus_signature(Some(pl))
        )
    };
    // 65 distinct prefixes: refused before any canonicalization.
    let many: Vec<String> = (0..65).map(|i| format!("p{i}")).collect();
    let err = validate(&idp(), &response(&many.join(" ")))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        SamlError::TooManyInclusivePrefixes { count: 65, max: 64 }
    );
    assert_eq!(err.check(), "signature.prefix_list");
    // 100 000 copies of one prefix count as one: the check goes on to the digest.
    let err = validate(&idp(), &response(&"z ".repeat(100_000)))
        .await
        .unwrap_err();
    assert_eq!(err.check(), "signature.digest");
    assert_eq!(
        saml_sp::c14n::parse_prefix_list(&"z ".repeat(100_000)).unwrap(),
        vec!["z".to_owned()]
    );
}

#[tokio::test]
async fn far_future_validity_ends_saturate_instead_of_panicking() {
    // NotOnOrAfter + clock skew is past the largest representable instant.
    let idp = idp();
    let end = "9999-12-31T23:59:59Z";
    let shape = Shape {
        scd_not_on_or_after: end.into(),
        not_on_or_after: end.into(),
        session_not_on_or_after: Some(end.into()),
        in_response_to: None,
        scd_in_response_to: None,
        ..Shape::default()
    };
    let xml = shape.assertion_signed(&idp);
    let setup = setup_with(
        &[&idp],
        ValidationOptions {
            allow_idp_initiated: true,
            ..ValidationOptions::default()
        },
    )
    .await;
    let a = setup.validator.validate_xml(xml.as_bytes()).await.unwrap();
    assert_eq!(a.not_on_or_after, datetime!(9999-12-31 23:59:59 UTC));
    // Remembered by the replay cache until the (saturated) end.
    assert_eq!(
        setup
            .validator
            .validate_xml(xml.as_bytes())
            .await
            .unwrap_err(),
        SamlError::Replay("_assert1".into())
    );
}

#[tokio::test]
async fn name_id_is_trimmed_of_xml_whitespace_only() {
    let idp = idp();
    // U+3000 (ideographic space) is Unicode whitespace but not XML whitespace: kept, so
    // the value never equals the administrator's NameID.
    let shape = Shape {
        name_id: "admin@example.com\u{3000}".into(),
        ..Shape::default()
    };
    let a = validate(&idp, &shape.assertion_signed(&idp)).await.unwrap();
    assert_eq!(a.name_id.value, "admin@example.com\u{3000}");
    assert_ne!(a.name_id.value, "admin@example.com");
    // Space, tab, CR and LF around the value are XML whitespace and go.
    let shape = Shape {
        name_id: " \t\n admin@example.com \n".into(),
        ..Shape::default()
    };
    let a = validate(&idp, &shape.assertion_signed(&idp)).await.unwrap();
    assert_eq!(a.name_id.value, "admin@example.com");
}
