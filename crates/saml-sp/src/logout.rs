//! Single Logout: the SP's LogoutRequest (Redirect and POST bindings), validating a
//! LogoutRequest from the IdP and answering it with a LogoutResponse, and validating the
//! IdP's LogoutResponse to the SP's request. Signatures are required as for login: a query
//! signature on the Redirect binding, an enveloped XML signature on the POST binding.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::authn::{
    decode_redirect_message, post_binding_form, redirect_binding_url, url_decode,
    verify_redirect_signature,
};
use crate::dsig::{
    DigestAlgorithm, IdMap, SignatureAlgorithm, SigningKey, VerifyOptions, sign_enveloped,
    verify_enveloped,
};
use crate::error::{Result, SamlError};
use crate::metadata::escape;
use crate::response::{IdentityProvider, NameId, ValidationOptions};
use crate::store::{ReplayCache, RequestStore};
use crate::xml::XML_WHITESPACE;
use crate::xml::{Document, NodeId};
use crate::{SAML_ASSERTION_NS as SAML, SAML_PROTOCOL_NS as SAMLP};

const STATUS_SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";

/// A LogoutRequest (from the SP to the IdP, or built by tests as the IdP).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoutRequest {
    /// The request ID (store it to match the LogoutResponse's InResponseTo).
    pub id: String,
    /// IssueInstant.
    pub issue_instant: OffsetDateTime,
    /// The receiver's SingleLogoutService URL.
    pub destination: String,
    /// The sender's entity ID.
    pub issuer: String,
    /// The subject to log out, as the assertion named it.
    pub name_id: NameId,
    /// The sessions to end (the assertion's SessionIndex).
    pub session_indexes: Vec<String>,
}

impl LogoutRequest {
    /// A request with a fresh random ID issued at `now`.
    ///
    /// # Errors
    /// [`SamlError::Crypto`] when the random generator fails.
    pub fn new(
        issuer: &str,
        destination: &str,
        name_id: NameId,
        session_index: Option<String>,
        now: OffsetDateTime,
    ) -> Result<Self> {
        Ok(Self {
            id: random_id()?,
            issue_instant: now,
            destination: destination.to_owned(),
            issuer: issuer.to_owned(),
            name_id,
            session_indexes: session_index.into_iter().collect(),
        })
    }

    /// The request's XML.
    ///
    /// # Errors
    /// [`SamlError::InvalidValue`] when the instant cannot be formatted.
    pub fn to_xml(&self) -> Result<String> {
        let mut xml = format!(
            r#"<samlp:LogoutRequest xmlns:samlp="{SAMLP}" xmlns:saml="{SAML}" ID="{}" Version="2.0" IssueInstant="{}" Destination="{}"><saml:Issuer>{}</saml:Issuer>"#,
            escape(&self.id),
            instant(self.issue_instant)?,
            escape(&self.destination),
            escape(&self.issuer),
        );
        xml.push_str("<saml:NameID");
        for (name, value) in [
            ("Format", &self.name_id.format),
            ("NameQualifier", &self.name_id.name_qualifier),
            ("SPNameQualifier", &self.name_id.sp_name_qualifier),
        ] {
            if let Some(v) = value {
                xml.push_str(&format!(r#" {name}="{}""#, escape(v)));
            }
        }
        xml.push_str(&format!(">{}</saml:NameID>", escape(&self.name_id.value)));
        for index in &self.session_indexes {
            xml.push_str(&format!(
                "<samlp:SessionIndex>{}</samlp:SessionIndex>",
                escape(index)
            ));
        }
        xml.push_str("</samlp:LogoutRequest>");
        Ok(xml)
    }

    /// The HTTP-Redirect binding URL (`SAMLRequest`), signed in the query with `signing`.
    ///
    /// # Errors
    /// [`SamlError::RelayStateTooLong`] and signing errors.
    pub fn redirect_url(
        &self,
        relay_state: Option<&str>,
        signing: Option<(&SigningKey, SignatureAlgorithm)>,
    ) -> Result<String> {
        redirect_binding_url(
            &self.destination,
            "SAMLRequest",
            &self.to_xml()?,
            relay_state,
            signing,
        )
    }

    /// The HTTP-POST binding page, with an enveloped XML signature when `signing` is given.
    ///
    /// # Errors
    /// [`SamlError::RelayStateTooLong`] and signing errors.
    pub fn post_form(
        &self,
        relay_state: Option<&str>,
        signing: Option<(&SigningKey, SignatureAlgorithm)>,
    ) -> Result<String> {
        let mut xml = self.to_xml()?;
        if let Some((key, algorithm)) = signing {
            xml = sign_enveloped(&xml, &self.id, key, algorithm, DigestAlgorithm::Sha256)?;
        }
        post_binding_form(&self.destination, "SAMLRequest", &xml, relay_state)
    }
}

/// A LogoutResponse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoutResponse {
    /// The response ID.
    pub id: String,
    /// IssueInstant.
    pub issue_instant: OffsetDateTime,
    /// The receiver's SingleLogoutService (response) URL.
    pub destination: String,
    /// The sender's entity ID.
    pub issuer: String,
    /// The LogoutRequest answered.
    pub in_response_to: String,
    /// The top-level status code.
    pub status: String,
}

impl LogoutResponse {
    /// A Success answer to `in_response_to`.
    ///
    /// # Errors
    /// [`SamlError::Crypto`] when the random generator fails.
    pub fn success(
        issuer: &str,
        destination: &str,
        in_response_to: &str,
        now: OffsetDateTime,
    ) -> Result<Self> {
        Ok(Self {
            id: random_id()?,
            issue_instant: now,
            destination: destination.to_owned(),
            issuer: issuer.to_owned(),
            in_response_to: in_response_to.to_owned(),
            status: STATUS_SUCCESS.to_owned(),
        })
    }

    /// The response's XML.
    ///
    /// # Errors
    /// [`SamlError::InvalidValue`] when the instant cannot be formatted.
    pub fn to_xml(&self) -> Result<String> {
        Ok(format!(
            r#"<samlp:LogoutResponse xmlns:samlp="{SAMLP}" xmlns:saml="{SAML}" ID="{}" Version="2.0" IssueInstant="{}" Destination="{}" InResponseTo="{}"><saml:Issuer>{}</saml:Issuer><samlp:Status><samlp:StatusCode Value="{}"/></samlp:Status></samlp:LogoutResponse>"#,
            escape(&self.id),
            instant(self.issue_instant)?,
            escape(&self.destination),
            escape(&self.in_response_to),
            escape(&self.issuer),
            escape(&self.status),
        ))
    }

    /// The HTTP-Redirect binding URL (`SAMLResponse`), signed in the query with `signing`.
    ///
    /// # Errors
    /// [`SamlError::RelayStateTooLong`] and signing errors.
    pub fn redirect_url(
        &self,
        relay_state: Option<&str>,
        signing: Option<(&SigningKey, SignatureAlgorithm)>,
    ) -> Result<String> {
        redirect_binding_url(
            &self.destination,
            "SAMLResponse",
            &self.to_xml()?,
            relay_state,
            signing,
        )
    }

    /// The HTTP-POST binding page, with an enveloped XML signature when `signing` is given.
    ///
    /// # Errors
    /// [`SamlError::RelayStateTooLong`] and signing errors.
    pub fn post_form(
        &self,
        relay_state: Option<&str>,
        signing: Option<(&SigningKey, SignatureAlgorithm)>,
    ) -> Result<String> {
        let mut xml = self.to_xml()?;
        if let Some((key, algorithm)) = signing {
            xml = sign_enveloped(&xml, &self.id, key, algorithm, DigestAlgorithm::Sha256)?;
        }
        post_binding_form(&self.destination, "SAMLResponse", &xml, relay_state)
    }
}

/// How a logout message from the IdP arrived.
#[derive(Debug, Clone, Copy)]
pub enum ReceivedMessage<'a> {
    /// HTTP-Redirect: the raw query string as received (needed for the query signature).
    Redirect(&'a str),
    /// HTTP-POST: the `SAMLRequest` or `SAMLResponse` form field (base64).
    Post(&'a str),
}

/// A LogoutRequest from the IdP that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifiedLogoutRequest {
    /// The request ID (the LogoutResponse's InResponseTo).
    pub id: String,
    /// The IdP entity ID.
    pub issuer: String,
    /// The subject to log out.
    pub name_id: NameId,
    /// The sessions to end; empty means all of the subject's sessions.
    pub session_indexes: Vec<String>,
}

/// A LogoutResponse from the IdP that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifiedLogoutResponse {
    /// The response ID.
    pub id: String,
    /// The SP's LogoutRequest it answers (consumed from the request store).
    pub in_response_to: String,
}

/// Validates a LogoutRequest from the IdP sent to `sp_slo_url` at `now`.
///
/// # Errors
/// Decoding, signature and profile errors, each naming the failed check.
pub async fn validate_logout_request(
    message: ReceivedMessage<'_>,
    idp: &IdentityProvider,
    sp_slo_url: &str,
    options: &ValidationOptions,
    replay: &dyn ReplayCache,
    now: OffsetDateTime,
) -> Result<VerifiedLogoutRequest> {
    let (doc, root) = checked_message(message, "LogoutRequest", idp, sp_slo_url, options)?;
    let e = doc.element(root);
    let skew = options.clock_skew;
    // A signed message names its recipient (SAML bindings 3.4.5.2 and 3.5.5.2), so it
    // cannot be replayed to another SP; `checked_message` compared it when present.
    if e.attr("Destination").is_none() {
        return Err(SamlError::Missing("Destination of a signed LogoutRequest"));
    }
    let id = e
        .attr("ID")
        .filter(|id| !id.is_empty())
        .ok_or(SamlError::Missing("LogoutRequest ID"))?;
    let instant = |name: &'static str, value: &str| {
        OffsetDateTime::parse(value.trim_matches(XML_WHITESPACE), &Rfc3339).map_err(|_| {
            SamlError::InvalidValue {
                what: name,
                value: value.to_owned(),
            }
        })
    };
    let issued = instant(
        "LogoutRequest IssueInstant",
        e.attr("IssueInstant")
            .ok_or(SamlError::Missing("LogoutRequest IssueInstant"))?,
    )?;
    if now.saturating_add(skew) < issued {
        return Err(SamlError::NotYetValid {
            what: "LogoutRequest IssueInstant",
            not_before: issued.format(&Rfc3339).unwrap_or_default(),
            now: now.format(&Rfc3339).unwrap_or_default(),
            skew_seconds: skew.whole_seconds(),
        });
    }
    // Valid until NotOnOrAfter, or for the configured lifetime after IssueInstant.
    let (what, end) = match e.attr("NotOnOrAfter") {
        Some(end) => (
            "LogoutRequest NotOnOrAfter",
            instant("LogoutRequest NotOnOrAfter", end)?,
        ),
        None => (
            "LogoutRequest IssueInstant + logout_request_lifetime",
            issued.saturating_add(options.logout_request_lifetime),
        ),
    };
    let end_with_skew = end.saturating_add(skew);
    if now >= end_with_skew {
        return Err(SamlError::Expired {
            what,
            not_on_or_after: end.format(&Rfc3339).unwrap_or_default(),
            now: now.format(&Rfc3339).unwrap_or_default(),
            skew_seconds: skew.whole_seconds(),
        });
    }
    let name_id = doc
        .first_child_named(root, SAML, "NameID")
        .ok_or(SamlError::Missing("LogoutRequest NameID"))?;
    let n = doc.element(name_id);
    let value = doc.text(name_id).trim_matches(XML_WHITESPACE).to_owned();
    if value.is_empty() {
        return Err(SamlError::Missing("LogoutRequest NameID value"));
    }
    // Each request is acted on once: its ID is remembered until it expires.
    if !replay.insert_once(id, end_with_skew, now).await? {
        return Err(SamlError::Replay(id.to_owned()));
    }
    Ok(VerifiedLogoutRequest {
        id: id.to_owned(),
        issuer: idp.entity_id.clone(),
        name_id: NameId {
            value,
            format: n.attr("Format").map(str::to_owned),
            name_qualifier: n.attr("NameQualifier").map(str::to_owned),
            sp_name_qualifier: n.attr("SPNameQualifier").map(str::to_owned),
        },
        session_indexes: doc
            .children_named(root, SAMLP, "SessionIndex")
            .map(|s| doc.text(s).trim_matches(XML_WHITESPACE).to_owned())
            .collect(),
    })
}

/// Validates the IdP's LogoutResponse to one of the SP's LogoutRequests (consumed from
/// `requests`).
///
/// # Errors
/// Decoding, signature and profile errors, [`SamlError::Status`] for a non-success answer,
/// [`SamlError::UnknownRequest`] when InResponseTo names no pending request.
pub async fn validate_logout_response(
    message: ReceivedMessage<'_>,
    idp: &IdentityProvider,
    sp_slo_url: &str,
    options: &ValidationOptions,
    requests: &dyn RequestStore,
    now: OffsetDateTime,
) -> Result<VerifiedLogoutResponse> {
    let (doc, root) = checked_message(message, "LogoutResponse", idp, sp_slo_url, options)?;
    let e = doc.element(root);
    let id = e.attr("ID").unwrap_or_default().to_owned();
    let in_response_to = e
        .attr("InResponseTo")
        .ok_or(SamlError::Missing("LogoutResponse InResponseTo"))?
        .to_owned();

    let status = doc
        .first_child_named(root, SAMLP, "Status")
        .ok_or(SamlError::Missing("LogoutResponse Status"))?;
    let mut codes = Vec::new();
    let mut code = doc.first_child_named(status, SAMLP, "StatusCode");
    while let Some(c) = code {
        codes.push(doc.element(c).attr("Value").unwrap_or_default().to_owned());
        code = doc.first_child_named(c, SAMLP, "StatusCode");
    }
    if codes.first().map(String::as_str) != Some(STATUS_SUCCESS) {
        return Err(SamlError::Status {
            codes,
            message: doc
                .first_child_named(status, SAMLP, "StatusMessage")
                .map(|m| doc.text(m).into_owned()),
        });
    }

    if !requests.take(&in_response_to, now).await? {
        return Err(SamlError::UnknownRequest(in_response_to));
    }
    Ok(VerifiedLogoutResponse { id, in_response_to })
}

/// Decodes the message, checks its signature for the binding, its root, Version, Issuer
/// and Destination.
fn checked_message(
    message: ReceivedMessage<'_>,
    root_name: &'static str,
    idp: &IdentityProvider,
    sp_slo_url: &str,
    options: &ValidationOptions,
) -> Result<(Document, NodeId)> {
    if idp.certificates.is_empty() {
        return Err(SamlError::NoTrustedCertificate);
    }
    let parameter = if root_name == "LogoutRequest" {
        "SAMLRequest"
    } else {
        "SAMLResponse"
    };
    let limit = options.xml_limits.max_bytes;
    let (xml, query_signed) = match message {
        ReceivedMessage::Redirect(query) => {
            // The signature must cover exactly the parameter decoded here.
            let value = verify_redirect_signature(
                query,
                parameter,
                &idp.certificates,
                options.allow_sha1_insecure,
            )?;
            let xml = decode_redirect_message(&url_decode(value), limit)?;
            (xml, true)
        }
        ReceivedMessage::Post(value) => {
            if value.len() / 4 * 3 > limit + limit / 8 + 16 {
                return Err(SamlError::XmlTooLarge {
                    size: value.len() / 4 * 3,
                    max: limit,
                });
            }
            let compact: Vec<u8> = value.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
            let xml = STANDARD
                .decode(compact)
                .map_err(|e| SamlError::Base64(e.to_string()))?;
            (xml, false)
        }
    };

    let doc = Document::parse(&xml, &options.xml_limits)?;
    let ids = IdMap::build(&doc)?;
    let root = doc.root();
    let e = doc.element(root);
    if !e.is(SAMLP, root_name) {
        return Err(SamlError::UnexpectedRoot {
            expected: if root_name == "LogoutRequest" {
                "{urn:oasis:names:tc:SAML:2.0:protocol}LogoutRequest"
            } else {
                "{urn:oasis:names:tc:SAML:2.0:protocol}LogoutResponse"
            },
            found: e.expanded_name(),
        });
    }
    if e.attr("Version") != Some("2.0") {
        return Err(SamlError::Version {
            found: e.attr("Version").unwrap_or_default().to_owned(),
        });
    }
    let xml_signature = verify_enveloped(
        &doc,
        &ids,
        root,
        root_name,
        &idp.certificates,
        VerifyOptions {
            allow_sha1_insecure: options.allow_sha1_insecure,
        },
    )?;
    if !query_signed && xml_signature.is_none() {
        return Err(SamlError::SignatureMissing { element: root_name });
    }
    match e.attr("Destination") {
        Some(d) if d != sp_slo_url => {
            return Err(SamlError::Destination {
                expected: sp_slo_url.to_owned(),
                found: d.to_owned(),
            });
        }
        _ => {}
    }
    let issuer = doc
        .first_child_named(root, SAML, "Issuer")
        .map(|i| doc.text(i).trim_matches(XML_WHITESPACE).to_owned())
        .ok_or(SamlError::Missing("Issuer of the logout message"))?;
    if issuer != idp.entity_id {
        return Err(SamlError::Issuer {
            element: root_name,
            expected: idp.entity_id.clone(),
            found: issuer,
        });
    }
    Ok((doc, root))
}

fn random_id() -> Result<String> {
    let mut random = [0u8; 20];
    openssl::rand::rand_bytes(&mut random).map_err(|e| SamlError::Crypto(e.to_string()))?;
    Ok(std::iter::once("_".to_owned())
        .chain(random.iter().map(|b| format!("{b:02x}")))
        .collect())
}

fn instant(t: OffsetDateTime) -> Result<String> {
    t.format(&Rfc3339).map_err(|e| SamlError::InvalidValue {
        what: "IssueInstant",
        value: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use time::macros::datetime;

    use super::*;
    use crate::metadata::generate_sp_credentials;
    use crate::store::{InMemoryReplayCache, InMemoryRequestStore};

    const IDP: &str = "https://idp.example.com/saml";
    const SP: &str = "https://app.example.com/saml/metadata";
    const SP_SLO: &str = "https://app.example.com/saml/slo";
    const IDP_SLO: &str = "https://idp.example.com/slo";
    const NOW: OffsetDateTime = datetime!(2026-12-04 08:00 UTC);

    fn name_id() -> NameId {
        NameId {
            value: "bjensen@example.com".into(),
            format: Some("urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress".into()),
            name_qualifier: None,
            sp_name_qualifier: Some(SP.into()),
        }
    }

    fn query(url: &str) -> &str {
        url.split_once('?').unwrap().1
    }

    fn form_value<'a>(html: &'a str, name: &str) -> &'a str {
        html.split(&format!(r#"name="{name}" value=""#))
            .nth(1)
            .and_then(|s| s.split('"').next())
            .unwrap()
    }

    #[tokio::test]
    async fn idp_logout_requests_are_validated_on_both_bindings() {
        let idp_key = generate_sp_credentials("idp", 1).unwrap();
        let idp = IdentityProvider {
            entity_id: IDP.into(),
            certificates: vec![idp_key.certificate().unwrap().clone()],
        };
        let options = ValidationOptions::default();
        let request = LogoutRequest::new(IDP, SP_SLO, name_id(), Some("_s1".into()), NOW).unwrap();

        let url = request
            .redirect_url(Some("rs"), Some((&idp_key, SignatureAlgorithm::RsaSha256)))
            .unwrap();
        let verified = validate_logout_request(
            ReceivedMessage::Redirect(query(&url)),
            &idp,
            SP_SLO,
            &options,
            &InMemoryReplayCache::new(),
            NOW,
        )
        .await
        .unwrap();
        assert_eq!(verified.id, request.id);
        assert_eq!(verified.name_id, name_id());
        assert_eq!(verified.session_indexes, ["_s1"]);

        let html = request
            .post_form(None, Some((&idp_key, SignatureAlgorithm::RsaSha256)))
            .unwrap();
        let verified = validate_logout_request(
            ReceivedMessage::Post(form_value(&html, "SAMLRequest")),
            &idp,
            SP_SLO,
            &options,
            &InMemoryReplayCache::new(),
            NOW,
        )
        .await
        .unwrap();
        assert_eq!(verified.session_indexes, ["_s1"]);

        // Unsigned on either binding, a tampered query, a foreign issuer, a wrong
        // destination.
        let unsigned = request.redirect_url(None, None).unwrap();
        assert_eq!(
            validate_logout_request(
                ReceivedMessage::Redirect(query(&unsigned)),
                &idp,
                SP_SLO,
                &options,
                &InMemoryReplayCache::new(),
                NOW
            )
            .await
            .unwrap_err(),
            SamlError::SignatureMissing {
                element: "Redirect binding query"
            }
        );
        let html = request.post_form(None, None).unwrap();
        assert_eq!(
            validate_logout_request(
                ReceivedMessage::Post(form_value(&html, "SAMLRequest")),
                &idp,
                SP_SLO,
                &options,
                &InMemoryReplayCache::new(),
                NOW
            )
            .await
            .unwrap_err(),
            SamlError::SignatureMissing {
                element: "LogoutRequest"
            }
        );
        let tampered = query(&url).replacen("RelayState=rs", "RelayState=rt", 1);
        assert_eq!(
            validate_logout_request(
                ReceivedMessage::Redirect(&tampered),
                &idp,
                SP_SLO,
                &options,
                &InMemoryReplayCache::new(),
                NOW
            )
            .await
            .unwrap_err(),
            SamlError::SignatureInvalid { tried: 1 }
        );
        let foreign = LogoutRequest {
            issuer: "https://evil.example".into(),
            ..request.clone()
        }
        .redirect_url(None, Some((&idp_key, SignatureAlgorithm::RsaSha256)))
        .unwrap();
        assert!(matches!(
            validate_logout_request(
                ReceivedMessage::Redirect(query(&foreign)),
                &idp,
                SP_SLO,
                &options,
                &InMemoryReplayCache::new(),
                NOW
            )
            .await
            .unwrap_err(),
            SamlError::Issuer { .. }
        ));
        assert!(matches!(
            validate_logout_request(
                ReceivedMessage::Redirect(query(&url)),
                &idp,
                "https://app.example.com/other-slo",
                &options,
                &InMemoryReplayCache::new(),
                NOW
            )
            .await
            .unwrap_err(),
            SamlError::Destination { .. }
        ));
    }

    #[tokio::test]
    async fn sp_initiated_logout_round_trip() {
        let sp_key = generate_sp_credentials("sp", 1).unwrap();
        let idp_key = generate_sp_credentials("idp", 1).unwrap();
        let idp = IdentityProvider {
            entity_id: IDP.into(),
            certificates: vec![idp_key.certificate().unwrap().clone()],
        };
        let requests = Arc::new(InMemoryRequestStore::new());

        // The SP's request, as the IdP would decode it.
        let request = LogoutRequest::new(SP, IDP_SLO, name_id(), Some("_s1".into()), NOW).unwrap();
        requests
            .insert(&request.id, NOW + time::Duration::minutes(5))
            .await
            .unwrap();
        let url = request
            .redirect_url(None, Some((&sp_key, SignatureAlgorithm::RsaSha256)))
            .unwrap();
        assert!(url.starts_with("https://idp.example.com/slo?SAMLRequest="));
        verify_redirect_signature(
            query(&url),
            "SAMLRequest",
            &[sp_key.certificate().unwrap().clone()],
            false,
        )
        .unwrap();

        // The IdP's answer.
        let answer = LogoutResponse::success(IDP, SP_SLO, &request.id, NOW).unwrap();
        let url = answer
            .redirect_url(None, Some((&idp_key, SignatureAlgorithm::RsaSha256)))
            .unwrap();
        let options = ValidationOptions::default();
        let verified = validate_logout_response(
            ReceivedMessage::Redirect(query(&url)),
            &idp,
            SP_SLO,
            &options,
            requests.as_ref(),
            NOW,
        )
        .await
        .unwrap();
        assert_eq!(verified.in_response_to, request.id);
        // Consumed once.
        assert_eq!(
            validate_logout_response(
                ReceivedMessage::Redirect(query(&url)),
                &idp,
                SP_SLO,
                &options,
                requests.as_ref(),
                NOW,
            )
            .await
            .unwrap_err(),
            SamlError::UnknownRequest(request.id.clone())
        );

        // A failed logout is a typed status error.
        let failed = LogoutResponse {
            status: "urn:oasis:names:tc:SAML:2.0:status:Responder".into(),
            ..answer
        };
        let html = failed
            .post_form(None, Some((&idp_key, SignatureAlgorithm::RsaSha256)))
            .unwrap();
        assert_eq!(
            validate_logout_response(
                ReceivedMessage::Post(form_value(&html, "SAMLResponse")),
                &idp,
                SP_SLO,
                &options,
                requests.as_ref(),
                NOW,
            )
            .await
            .unwrap_err(),
            SamlError::Status {
                codes: vec!["urn:oasis:names:tc:SAML:2.0:status:Responder".into()],
                message: None
            }
        );
    }

    #[tokio::test]
    async fn a_signed_request_glued_to_an_unsigned_response_is_refused() {
        let idp_key = generate_sp_credentials("idp", 1).unwrap();
        let idp = IdentityProvider {
            entity_id: IDP.into(),
            certificates: vec![idp_key.certificate().unwrap().clone()],
        };
        let options = ValidationOptions::default();
        let requests = Arc::new(InMemoryRequestStore::new());
        requests
            .insert("_victim", NOW + time::Duration::minutes(5))
            .await
            .unwrap();
        // Any message the IdP signed on the Redirect binding.
        let signed = LogoutRequest::new(IDP, SP_SLO, name_id(), None, NOW)
            .unwrap()
            .redirect_url(None, Some((&idp_key, SignatureAlgorithm::RsaSha256)))
            .unwrap();
        // A forged, unsigned LogoutResponse to the SP's pending request.
        let forged = LogoutResponse::success(IDP, SP_SLO, "_victim", NOW)
            .unwrap()
            .redirect_url(None, None)
            .unwrap();
        for glued in [
            format!("{}&{}", query(&signed), query(&forged)),
            format!("{}&{}", query(&forged), query(&signed)),
        ] {
            let err = validate_logout_response(
                ReceivedMessage::Redirect(&glued),
                &idp,
                SP_SLO,
                &options,
                requests.as_ref(),
                NOW,
            )
            .await
            .unwrap_err();
            assert_eq!(
                err,
                SamlError::RedirectParameters(
                    "both SAMLResponse and SAMLRequest are present".into()
                )
            );
            assert_eq!(err.check(), "binding.parameters");
        }
        // Alone, the forged response is unsigned.
        assert_eq!(
            validate_logout_response(
                ReceivedMessage::Redirect(query(&forged)),
                &idp,
                SP_SLO,
                &options,
                requests.as_ref(),
                NOW,
            )
            .await
            .unwrap_err(),
            SamlError::SignatureMissing {
                element: "Redirect binding query"
            }
        );
        // A repeated message parameter is refused as well.
        let twice = format!("{}&{}", query(&forged), query(&forged));
        assert_eq!(
            verify_redirect_signature(&twice, "SAMLResponse", &idp.certificates, false)
                .unwrap_err(),
            SamlError::RedirectParameters("SAMLResponse appears more than once".into())
        );
        // The pending request is still there: nothing was consumed.
        assert!(requests.take("_victim", NOW).await.unwrap());
    }

    #[tokio::test]
    async fn idp_logout_requests_are_fresh_addressed_and_used_once() {
        use crate::dsig::{DigestAlgorithm, sign_enveloped};
        let idp_key = generate_sp_credentials("idp", 1).unwrap();
        let idp = IdentityProvider {
            entity_id: IDP.into(),
            certificates: vec![idp_key.certificate().unwrap().clone()],
        };
        let options = ValidationOptions::default();
        let replay = InMemoryReplayCache::new();
        // POST binding: the XML `edit`ed, then signed.
        let post = |request: &LogoutRequest, edit: &dyn Fn(String) -> String| {
            let xml = edit(request.to_xml().unwrap());
            let signed = sign_enveloped(
                &xml,
                &request.id,
                &idp_key,
                SignatureAlgorithm::RsaSha256,
                DigestAlgorithm::Sha256,
            )
            .unwrap();
            STANDARD.encode(signed)
        };
        let keep = |xml: String| xml;
        let validate = |form: String, now: OffsetDateTime| {
            let idp = &idp;
            let options = &options;
            let replay = &replay;
            async move {
                validate_logout_request(
                    ReceivedMessage::Post(&form),
                    idp,
                    SP_SLO,
                    options,
                    replay,
                    now,
                )
                .await
            }
        };

        // Issued in 2020, replayed in 2026: past IssueInstant + 5 minutes (+ 3 of skew).
        let old = LogoutRequest::new(
            IDP,
            SP_SLO,
            name_id(),
            None,
            datetime!(2020-01-01 00:00 UTC),
        )
        .unwrap();
        let err = validate(post(&old, &keep), NOW).await.unwrap_err();
        assert_eq!(
            err,
            SamlError::Expired {
                what: "LogoutRequest IssueInstant + logout_request_lifetime",
                not_on_or_after: "2020-01-01T00:05:00Z".into(),
                now: "2026-12-04T08:00:00Z".into(),
                skew_seconds: 180,
            }
        );
        // Issued too far in the future.
        let future = LogoutRequest::new(
            IDP,
            SP_SLO,
            name_id(),
            None,
            datetime!(2026-12-04 08:04 UTC),
        )
        .unwrap();
        assert_eq!(
            validate(post(&future, &keep), NOW)
                .await
                .unwrap_err()
                .check(),
            "profile.not_yet_valid"
        );
        // A NotOnOrAfter in the past ends it before the lifetime would.
        let request = LogoutRequest::new(IDP, SP_SLO, name_id(), None, NOW).unwrap();
        let short = |xml: String| {
            xml.replacen(
                " Destination=",
                r#" NotOnOrAfter="2026-12-04T07:50:00Z" Destination="#,
                1,
            )
        };
        assert_eq!(
            validate(post(&request, &short), NOW)
                .await
                .unwrap_err()
                .check(),
            "profile.expired"
        );
        // A signed request must name its Destination.
        let no_destination =
            |xml: String| xml.replacen(&format!(r#" Destination="{SP_SLO}""#), "", 1);
        assert_eq!(
            validate(post(&request, &no_destination), NOW)
                .await
                .unwrap_err(),
            SamlError::Missing("Destination of a signed LogoutRequest")
        );
        // A fresh request is accepted once, within its lifetime; then it is a replay.
        let form = post(&request, &keep);
        assert_eq!(validate(form.clone(), NOW).await.unwrap().id, request.id);
        assert_eq!(
            validate(form.clone(), NOW + time::Duration::minutes(1))
                .await
                .unwrap_err(),
            SamlError::Replay(request.id.clone())
        );
    }
}
