//! The signed SAML Response of the `saml_response` bench: about 5 KB, the assertion signed
//! with RSA-2048 and SHA-256, as Entra ID and ADFS send it.

use saml_sp::dsig::{DigestAlgorithm, SignatureAlgorithm, SigningKey, sign_enveloped};
use saml_sp::metadata::generate_sp_credentials;
use saml_sp::{IdentityProvider, ServiceProvider};
use time::OffsetDateTime;
use time::macros::datetime;

/// The IdP's entity ID.
pub const IDP: &str = "https://sts.windows.net/4a1c7bd2-0d0b-4b6f-9e38-8d2b0c1f3a77/";
/// The SP's entity ID.
pub const SP: &str = "https://app.example.com/saml/metadata";
/// The SP's ACS URL.
pub const ACS: &str = "https://app.example.com/saml/acs";
/// The instant the response is validated at.
pub const NOW: OffsetDateTime = datetime!(2026-12-04 08:00:00 UTC);

/// A signed Response (XML), the IdP's key, and the SP and IdP settings that accept it.
pub fn signed_response() -> (String, SigningKey, ServiceProvider, IdentityProvider) {
    let key = generate_sp_credentials("bench idp", 30).expect("key generation");
    let mut attributes = String::new();
    for (name, value) in [
        (
            "http://schemas.microsoft.com/identity/claims/tenantid",
            "4a1c7bd2-0d0b-4b6f-9e38-8d2b0c1f3a77",
        ),
        (
            "http://schemas.microsoft.com/identity/claims/objectidentifier",
            "9f8e7d6c-5b4a-4321-9876-0fedcba98765",
        ),
        (
            "http://schemas.microsoft.com/identity/claims/displayname",
            "Barbara Jensen",
        ),
        (
            "http://schemas.microsoft.com/identity/claims/identityprovider",
            IDP,
        ),
        (
            "http://schemas.microsoft.com/claims/authnmethodsreferences",
            "http://schemas.microsoft.com/ws/2008/06/identity/authenticationmethod/password",
        ),
        (
            "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname",
            "Barbara",
        ),
        (
            "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname",
            "Jensen",
        ),
        (
            "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
            "bjensen@example.com",
        ),
        (
            "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name",
            "bjensen@example.com",
        ),
    ] {
        attributes.push_str(&format!(
            r#"<Attribute Name="{name}"><AttributeValue>{value}</AttributeValue></Attribute>"#
        ));
    }
    attributes.push_str(
        r#"<Attribute Name="http://schemas.microsoft.com/ws/2008/06/identity/claims/groups">"#,
    );
    for i in 0..12 {
        attributes.push_str(&format!(
            "<AttributeValue>0c5a{i:04}-1d2e-4f30-8a9b-7c6d5e4f3a2b</AttributeValue>"
        ));
    }
    attributes.push_str("</Attribute>");
    let assertion = format!(
        r#"<Assertion xmlns="urn:oasis:names:tc:SAML:2.0:assertion" ID="_d71a3a8e-9fcc-45c9-9d11-4d5b2f6a8c01" IssueInstant="2026-12-04T07:59:30.123Z" Version="2.0"><Issuer>{IDP}</Issuer><Subject><NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">bjensen@example.com</NameID><SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><SubjectConfirmationData InResponseTo="_req1" NotOnOrAfter="2026-12-04T08:04:30.123Z" Recipient="{ACS}"/></SubjectConfirmation></Subject><Conditions NotBefore="2026-12-04T07:54:30.123Z" NotOnOrAfter="2026-12-04T08:59:30.123Z"><AudienceRestriction><Audience>{SP}</Audience></AudienceRestriction></Conditions><AttributeStatement>{attributes}</AttributeStatement><AuthnStatement AuthnInstant="2026-12-04T07:59:25.000Z" SessionIndex="_d71a3a8e-9fcc-45c9-9d11-4d5b2f6a8c01"><AuthnContext><AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:Password</AuthnContextClassRef></AuthnContext></AuthnStatement></Assertion>"#
    );
    let signed = sign_enveloped(
        &assertion,
        "_d71a3a8e-9fcc-45c9-9d11-4d5b2f6a8c01",
        &key,
        SignatureAlgorithm::RsaSha256,
        DigestAlgorithm::Sha256,
    )
    .expect("signing");
    let response = format!(
        r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_5f2c9a7e-1b3d-4c8e-a6f0-2d4b6c8e0a13" Version="2.0" IssueInstant="2026-12-04T07:59:30.123Z" Destination="{ACS}" InResponseTo="_req1"><Issuer xmlns="urn:oasis:names:tc:SAML:2.0:assertion">{IDP}</Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>{signed}</samlp:Response>"#
    );
    let idp = IdentityProvider {
        entity_id: IDP.into(),
        certificates: vec![key.certificate().expect("certificate").clone()],
    };
    let sp = ServiceProvider {
        entity_id: SP.into(),
        acs_url: ACS.into(),
    };
    (response, key, sp, idp)
}
