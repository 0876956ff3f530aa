//! A SAML Response template with every field a test may change.

use time::OffsetDateTime;
use time::macros::datetime;

use super::Identity;

pub const NOW: OffsetDateTime = datetime!(2026-12-04 08:00:00 UTC);
pub const IDP: &str = "https://idp.example.com/saml";
pub const SP: &str = "https://app.example.com/saml/metadata";
pub const ACS: &str = "https://app.example.com/saml/acs";

/// A Response with every field a test may change.
#[derive(Clone)]
pub struct Shape {
    pub response_id: String,
    pub assertion_id: String,
    pub version: String,
    pub destination: Option<String>,
    pub in_response_to: Option<String>,
    pub response_issuer: String,
    pub status: String,
    pub assertion_issuer: String,
    pub name_id: String,
    pub method: String,
    pub recipient: String,
    pub scd_not_on_or_after: String,
    pub scd_in_response_to: Option<String>,
    pub not_before: String,
    pub not_on_or_after: String,
    pub audience: String,
    pub extra_conditions: String,
    pub session_not_on_or_after: Option<String>,
}

impl Default for Shape {
    fn default() -> Self {
        Self {
            response_id: "_resp1".into(),
            assertion_id: "_assert1".into(),
            version: "2.0".into(),
            destination: Some(ACS.into()),
            in_response_to: Some("_req1".into()),
            response_issuer: IDP.into(),
            status: r#"<samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/>"#
                .into(),
            assertion_issuer: IDP.into(),
            name_id: "bjensen@example.com".into(),
            method: "urn:oasis:names:tc:SAML:2.0:cm:bearer".into(),
            recipient: ACS.into(),
            scd_not_on_or_after: "2026-12-04T08:05:00Z".into(),
            scd_in_response_to: Some("_req1".into()),
            not_before: "2026-12-04T07:59:00Z".into(),
            not_on_or_after: "2026-12-04T08:05:00Z".into(),
            audience: SP.into(),
            extra_conditions: String::new(),
            session_not_on_or_after: Some("2026-12-04T16:00:00Z".into()),
        }
    }
}

fn attr(name: &str, value: Option<&str>) -> String {
    value.map_or_else(String::new, |v| format!(r#" {name}="{v}""#))
}

impl Shape {
    pub fn assertion(&self) -> String {
        format!(
            r#"<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ID="{aid}" Version="2.0" IssueInstant="2026-12-04T07:59:30Z"><saml:Issuer>{issuer}</saml:Issuer><saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress" SPNameQualifier="{SP}">{name_id}</saml:NameID><saml:SubjectConfirmation Method="{method}"><saml:SubjectConfirmationData Recipient="{recipient}" NotOnOrAfter="{scd_end}"{scd_irt}/></saml:SubjectConfirmation></saml:Subject><saml:Conditions NotBefore="{nb}" NotOnOrAfter="{noa}"><saml:AudienceRestriction><saml:Audience>{audience}</saml:Audience></saml:AudienceRestriction>{extra}</saml:Conditions><saml:AuthnStatement AuthnInstant="2026-12-04T07:59:20Z" SessionIndex="_session1"{session}><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement><saml:AttributeStatement><saml:Attribute Name="email" FriendlyName="mail" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic"><saml:AttributeValue xsi:type="xs:string">bjensen@example.com</saml:AttributeValue></saml:Attribute><saml:Attribute Name="groups"><saml:AttributeValue>admins</saml:AttributeValue><saml:AttributeValue>ops &amp; dev</saml:AttributeValue><saml:AttributeValue xsi:nil="true"/></saml:Attribute></saml:AttributeStatement></saml:Assertion>"#,
            aid = self.assertion_id,
            issuer = self.assertion_issuer,
            name_id = self.name_id,
            method = self.method,
            recipient = self.recipient,
            scd_end = self.scd_not_on_or_after,
            scd_irt = attr("InResponseTo", self.scd_in_response_to.as_deref()),
            nb = self.not_before,
            noa = self.not_on_or_after,
            audience = self.audience,
            extra = self.extra_conditions,
            session = attr(
                "SessionNotOnOrAfter",
                self.session_not_on_or_after.as_deref()
            ),
        )
        .replace("Version=\"2.0\"", &format!("Version=\"{}\"", self.version))
    }

    pub fn response(&self, assertion: &str) -> String {
        format!(
            r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{rid}" Version="{version}" IssueInstant="2026-12-04T07:59:30Z"{dest}{irt}><saml:Issuer>{issuer}</saml:Issuer><samlp:Status>{status}</samlp:Status>{assertion}</samlp:Response>"#,
            rid = self.response_id,
            version = self.version,
            dest = attr("Destination", self.destination.as_deref()),
            irt = attr("InResponseTo", self.in_response_to.as_deref()),
            issuer = self.response_issuer,
            status = self.status,
        )
    }

    /// The response with a signed assertion.
    pub fn assertion_signed(&self, idp: &Identity) -> String {
        let assertion = sign(&self.assertion(), &self.assertion_id, idp);
        self.response(&assertion)
    }

    /// The response signed as a whole, the assertion unsigned.
    pub fn response_signed(&self, idp: &Identity) -> String {
        sign(&self.response(&self.assertion()), &self.response_id, idp)
    }

    pub fn both_signed(&self, idp: &Identity) -> String {
        sign(&self.assertion_signed(idp), &self.response_id, idp)
    }
}

pub fn sign(xml: &str, id: &str, idp: &Identity) -> String {
    saml_sp::dsig::sign_enveloped(
        xml,
        id,
        &idp.signing_key(),
        saml_sp::dsig::SignatureAlgorithm::RsaSha256,
        saml_sp::dsig::DigestAlgorithm::Sha256,
    )
    .unwrap()
}
