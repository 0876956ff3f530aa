//! AuthnRequest and the two bindings that carry it: HTTP-Redirect (DEFLATE, base64, query
//! signature) and HTTP-POST (an auto-submitting form, optionally with an enveloped XML
//! signature). Also the bounded decoding of Redirect-binding messages.

use std::io::{Read as _, Write as _};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use flate2::Compression;
use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use openssl::x509::X509;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::dsig::{DigestAlgorithm, SignatureAlgorithm, SigningKey, sign_enveloped, verify_bytes};
use crate::error::{Result, SamlError};
use crate::metadata::{BINDING_POST, escape};
use crate::xml::XML_WHITESPACE;
use crate::{SAML_ASSERTION_NS, SAML_PROTOCOL_NS};

/// Longest RelayState the bindings allow (SAML bindings 3.4.3 and 3.5.3: 80 bytes).
pub const MAX_RELAY_STATE: usize = 80;

/// RequestedAuthnContext.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestedAuthnContext {
    /// Comparison: `exact`, `minimum`, `maximum` or `better`.
    pub comparison: String,
    /// AuthnContextClassRef values.
    pub class_refs: Vec<String>,
}

/// An AuthnRequest from this SP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthnRequest {
    /// The request ID (store it in the [`crate::RequestStore`] to match InResponseTo).
    pub id: String,
    /// IssueInstant.
    pub issue_instant: OffsetDateTime,
    /// The IdP's SingleSignOnService URL for the chosen binding.
    pub destination: String,
    /// This SP's entity ID (the Issuer).
    pub sp_entity_id: String,
    /// Where the IdP posts the Response.
    pub acs_url: String,
    /// ForceAuthn.
    pub force_authn: bool,
    /// IsPassive.
    pub is_passive: bool,
    /// NameIDPolicy Format (left out when `None`, never empty).
    pub name_id_format: Option<String>,
    /// NameIDPolicy AllowCreate.
    pub allow_create: bool,
    /// RequestedAuthnContext.
    pub requested_authn_context: Option<RequestedAuthnContext>,
}

impl AuthnRequest {
    /// A request with a fresh random ID issued at `now`.
    ///
    /// # Errors
    /// [`SamlError::Crypto`] when the random generator fails.
    pub fn new(
        sp_entity_id: &str,
        acs_url: &str,
        destination: &str,
        now: OffsetDateTime,
    ) -> Result<Self> {
        let mut random = [0u8; 20];
        openssl::rand::rand_bytes(&mut random).map_err(|e| SamlError::Crypto(e.to_string()))?;
        let id: String = std::iter::once("_".to_owned())
            .chain(random.iter().map(|b| format!("{b:02x}")))
            .collect();
        Ok(Self {
            id,
            issue_instant: now,
            destination: destination.to_owned(),
            sp_entity_id: sp_entity_id.to_owned(),
            acs_url: acs_url.to_owned(),
            force_authn: false,
            is_passive: false,
            name_id_format: None,
            allow_create: true,
            requested_authn_context: None,
        })
    }

    /// The request's XML.
    ///
    /// # Errors
    /// [`SamlError::InvalidValue`] for an empty NameIDPolicy Format.
    pub fn to_xml(&self) -> Result<String> {
        let instant = self
            .issue_instant
            .format(&Rfc3339)
            .map_err(|e| SamlError::InvalidValue {
                what: "IssueInstant",
                value: e.to_string(),
            })?;
        let mut xml = format!(
            r#"<samlp:AuthnRequest xmlns:samlp="{SAML_PROTOCOL_NS}" xmlns:saml="{SAML_ASSERTION_NS}" ID="{}" Version="2.0" IssueInstant="{instant}" Destination="{}" AssertionConsumerServiceURL="{}" ProtocolBinding="{BINDING_POST}"{}{}><saml:Issuer>{}</saml:Issuer>"#,
            escape(&self.id),
            escape(&self.destination),
            escape(&self.acs_url),
            if self.force_authn {
                r#" ForceAuthn="true""#
            } else {
                ""
            },
            if self.is_passive {
                r#" IsPassive="true""#
            } else {
                ""
            },
            escape(&self.sp_entity_id),
        );
        match &self.name_id_format {
            Some(f) if f.trim_matches(XML_WHITESPACE).is_empty() => {
                return Err(SamlError::InvalidValue {
                    what: "NameIDPolicy Format",
                    value: f.clone(),
                });
            }
            Some(f) => xml.push_str(&format!(
                r#"<samlp:NameIDPolicy Format="{}" AllowCreate="{}"/>"#,
                escape(f),
                self.allow_create
            )),
            None => xml.push_str(&format!(
                r#"<samlp:NameIDPolicy AllowCreate="{}"/>"#,
                self.allow_create
            )),
        }
        if let Some(ctx) = &self.requested_authn_context {
            xml.push_str(&format!(
                r#"<samlp:RequestedAuthnContext Comparison="{}">"#,
                escape(&ctx.comparison)
            ));
            for class in &ctx.class_refs {
                xml.push_str(&format!(
                    "<saml:AuthnContextClassRef>{}</saml:AuthnContextClassRef>",
                    escape(class)
                ));
            }
            xml.push_str("</samlp:RequestedAuthnContext>");
        }
        xml.push_str("</samlp:AuthnRequest>");
        Ok(xml)
    }

    /// The HTTP-Redirect binding URL: DEFLATE and base64 in `SAMLRequest`, the RelayState,
    /// and with `signing` the `SigAlg` and `Signature` query parameters (signed over the
    /// encoded `SAMLRequest=..&RelayState=..&SigAlg=..`, as SAML bindings 3.4.4.1 says).
    ///
    /// # Errors
    /// [`SamlError::RelayStateTooLong`], and crypto errors while signing.
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

    /// The HTTP-POST binding: an HTML page whose form posts `SAMLRequest` (and RelayState)
    /// to the destination as soon as it loads; with `signing`, the request carries an
    /// enveloped XML signature (RSA-SHA256 or the key's algorithm, SHA-256 digest).
    ///
    /// # Errors
    /// [`SamlError::RelayStateTooLong`], and crypto errors while signing.
    pub fn post_form(
        &self,
        relay_state: Option<&str>,
        signing: Option<(&SigningKey, SignatureAlgorithm)>,
    ) -> Result<String> {
        check_relay_state(relay_state)?;
        let mut xml = self.to_xml()?;
        if let Some((key, algorithm)) = signing {
            xml = sign_enveloped(&xml, &self.id, key, algorithm, DigestAlgorithm::Sha256)?;
        }
        post_binding_form(&self.destination, "SAMLRequest", &xml, relay_state)
    }
}

/// The HTTP-Redirect binding URL for a message: DEFLATE and base64 in `parameter`, the
/// RelayState, and with `signing` the `SigAlg` and `Signature` query parameters.
pub(crate) fn redirect_binding_url(
    destination: &str,
    parameter: &str,
    xml: &str,
    relay_state: Option<&str>,
    signing: Option<(&SigningKey, SignatureAlgorithm)>,
) -> Result<String> {
    check_relay_state(relay_state)?;
    let mut encoder = DeflateEncoder::new(Vec::new(), Compression::default());
    encoder
        .write_all(xml.as_bytes())
        .and_then(|()| encoder.flush())
        .map_err(|e| SamlError::Inflate(e.to_string()))?;
    let deflated = encoder
        .finish()
        .map_err(|e| SamlError::Inflate(e.to_string()))?;

    let mut query = format!("{parameter}={}", url_encode(&STANDARD.encode(deflated)));
    if let Some(rs) = relay_state {
        query.push_str(&format!("&RelayState={}", url_encode(rs)));
    }
    if let Some((key, algorithm)) = signing {
        query.push_str(&format!("&SigAlg={}", url_encode(algorithm.uri())));
        let signature = key.sign_bytes(algorithm, query.as_bytes())?;
        query.push_str(&format!(
            "&Signature={}",
            url_encode(&STANDARD.encode(signature))
        ));
    }
    let separator = if destination.contains('?') { '&' } else { '?' };
    Ok(format!("{destination}{separator}{query}"))
}

/// The HTTP-POST binding page for a message: a form that posts `parameter` (base64 of
/// `xml`) and the RelayState to `destination` as soon as it loads.
pub(crate) fn post_binding_form(
    destination: &str,
    parameter: &str,
    xml: &str,
    relay_state: Option<&str>,
) -> Result<String> {
    check_relay_state(relay_state)?;
    let relay = relay_state.map_or_else(String::new, |rs| {
        format!(
            r#"<input type="hidden" name="RelayState" value="{}"/>"#,
            escape(rs)
        )
    });
    Ok(format!(
        r#"<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Continuing</title></head>
<body onload="document.forms[0].submit()">
<form method="post" action="{}">
<input type="hidden" name="{parameter}" value="{}"/>{relay}
<noscript><button type="submit">Continue</button></noscript>
</form>
</body></html>
"#,
        escape(destination),
        STANDARD.encode(xml.as_bytes())
    ))
}

/// Decodes a Redirect-binding message parameter (URL-decoded already): base64, then
/// DEFLATE, refusing anything that inflates beyond `max_bytes` (a deflate bomb) without
/// inflating more than that.
///
/// # Errors
/// [`SamlError::Base64`], [`SamlError::Inflate`], [`SamlError::InflatedTooLarge`].
pub fn decode_redirect_message(value: &str, max_bytes: usize) -> Result<Vec<u8>> {
    if value.len() > max_bytes.saturating_mul(2) {
        return Err(SamlError::XmlTooLarge {
            size: value.len(),
            max: max_bytes,
        });
    }
    let compact: String = value.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let deflated = STANDARD
        .decode(compact.as_bytes())
        .map_err(|e| SamlError::Base64(e.to_string()))?;
    let limit = u64::try_from(max_bytes)
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    let mut out = Vec::new();
    DeflateDecoder::new(deflated.as_slice())
        .take(limit)
        .read_to_end(&mut out)
        .map_err(|e| SamlError::Inflate(e.to_string()))?;
    if out.len() > max_bytes {
        return Err(SamlError::InflatedTooLarge { max: max_bytes });
    }
    Ok(out)
}

/// Verifies the query signature of a Redirect-binding message: `raw_query` is the query
/// string as received, `parameter` the message parameter the caller decodes
/// (`SAMLRequest` or `SAMLResponse`). The signed octets are built from the raw encoded
/// parameters in binding order (`SAMLRequest` or `SAMLResponse`, `RelayState`, `SigAlg`;
/// SAML bindings 3.4.4.1). Returns the raw (still URL-encoded) value of `parameter`: the
/// exact value the signature covers, the only one the caller may decode.
///
/// # Errors
/// [`SamlError::RedirectParameters`] when the query carries both `SAMLRequest` and
/// `SAMLResponse`, lacks `parameter`, or repeats a binding parameter;
/// [`SamlError::SignatureMissing`], algorithm errors, [`SamlError::SignatureInvalid`].
pub fn verify_redirect_signature<'q>(
    raw_query: &'q str,
    parameter: &'static str,
    certificates: &[X509],
    allow_sha1_insecure: bool,
) -> Result<&'q str> {
    if certificates.is_empty() {
        return Err(SamlError::NoTrustedCertificate);
    }
    let other = match parameter {
        "SAMLRequest" => "SAMLResponse",
        "SAMLResponse" => "SAMLRequest",
        _ => {
            return Err(SamlError::RedirectParameters(format!(
                "{parameter:?} is not a message parameter"
            )));
        }
    };
    let mut values: [Option<&str>; 5] = [None; 5];
    let names = [parameter, other, "RelayState", "SigAlg", "Signature"];
    for pair in raw_query.split('&') {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        if let Some(i) = names.iter().position(|n| *n == name) {
            if values[i].is_some() {
                return Err(SamlError::RedirectParameters(format!(
                    "{name} appears more than once"
                )));
            }
            values[i] = Some(value);
        }
    }
    let [message, other_message, relay_state, sig_alg, signature] = values;
    if other_message.is_some() {
        return Err(SamlError::RedirectParameters(format!(
            "both {parameter} and {other} are present"
        )));
    }
    let message =
        message.ok_or_else(|| SamlError::RedirectParameters(format!("{parameter} is missing")))?;
    let sig_alg = sig_alg.ok_or(SamlError::SignatureMissing {
        element: "Redirect binding query",
    })?;
    let signature = signature.ok_or(SamlError::SignatureMissing {
        element: "Redirect binding query",
    })?;
    let sig_alg_uri = url_decode(sig_alg);
    let algorithm = match SignatureAlgorithm::from_uri(&sig_alg_uri) {
        Some(SignatureAlgorithm::RsaSha1) if !allow_sha1_insecure => {
            return Err(SamlError::Sha1NotAllowed {
                kind: "signature",
                uri: sig_alg_uri,
            });
        }
        Some(a) => a,
        None => {
            return Err(SamlError::AlgorithmNotAllowed {
                kind: "signature",
                uri: sig_alg_uri,
            });
        }
    };
    let mut signed = format!("{parameter}={message}");
    if let Some(rs) = relay_state {
        signed.push_str(&format!("&RelayState={rs}"));
    }
    signed.push_str(&format!("&SigAlg={sig_alg}"));
    let signature = crate::dsig::decode_base64(&url_decode(signature))?;
    for cert in certificates {
        let key = cert
            .public_key()
            .map_err(|e| SamlError::Certificate(e.to_string()))?;
        if verify_bytes(&key, algorithm, signed.as_bytes(), &signature) {
            return Ok(message);
        }
    }
    Err(SamlError::SignatureInvalid {
        tried: certificates.len(),
    })
}

fn check_relay_state(relay_state: Option<&str>) -> Result<()> {
    match relay_state {
        Some(rs) if rs.len() > MAX_RELAY_STATE => Err(SamlError::RelayStateTooLong {
            len: rs.len(),
            max: MAX_RELAY_STATE,
        }),
        _ => Ok(()),
    }
}

fn url_encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

pub(crate) fn url_decode(s: &str) -> String {
    form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::dsig::IdMap;
    use crate::metadata::generate_sp_credentials;
    use crate::xml::{Document, XmlLimits};

    fn request() -> AuthnRequest {
        let mut r = AuthnRequest::new(
            "https://app.example.com/saml/metadata",
            "https://app.example.com/saml/acs",
            "https://idp.example.com/sso?tenant=1",
            datetime!(2026-12-04 08:00 UTC),
        )
        .unwrap();
        r.force_authn = true;
        r.name_id_format = Some("urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress".into());
        r.requested_authn_context = Some(RequestedAuthnContext {
            comparison: "exact".into(),
            class_refs: vec![
                "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport".into(),
            ],
        });
        r
    }

    fn query_param(url: &str, name: &str) -> Option<String> {
        let query = url.split_once('?')?.1;
        form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }

    #[test]
    fn redirect_binding_round_trips_and_verifies() {
        let req = request();
        assert_eq!(req.id.len(), 41);
        let key = generate_sp_credentials("sp", 1).unwrap();
        let url = req
            .redirect_url(
                Some("/after login?x=1"),
                Some((&key, SignatureAlgorithm::RsaSha256)),
            )
            .unwrap();
        assert!(url.starts_with("https://idp.example.com/sso?tenant=1&SAMLRequest="));
        assert_eq!(
            query_param(&url, "RelayState").as_deref(),
            Some("/after login?x=1")
        );

        let xml =
            decode_redirect_message(&query_param(&url, "SAMLRequest").unwrap(), 100_000).unwrap();
        let doc = Document::parse(&xml, &XmlLimits::default()).unwrap();
        let root = doc.element(doc.root());
        assert!(root.is(SAML_PROTOCOL_NS, "AuthnRequest"));
        assert_eq!(root.attr("ID"), Some(req.id.as_str()));
        assert_eq!(root.attr("ForceAuthn"), Some("true"));
        assert_eq!(root.attr("IsPassive"), None);
        assert_eq!(
            root.attr("AssertionConsumerServiceURL"),
            Some("https://app.example.com/saml/acs")
        );
        let policy = doc
            .first_child_named(doc.root(), SAML_PROTOCOL_NS, "NameIDPolicy")
            .unwrap();
        assert_eq!(
            doc.element(policy).attr("Format"),
            Some("urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress")
        );
        assert!(
            doc.first_child_named(doc.root(), SAML_PROTOCOL_NS, "RequestedAuthnContext")
                .is_some()
        );

        let query = url.split_once('?').unwrap().1;
        let query = query.strip_prefix("tenant=1&").unwrap();
        let certs = [key.certificate().unwrap().clone()];
        verify_redirect_signature(query, "SAMLRequest", &certs, false).unwrap();
        let tampered = query.replacen("RelayState=", "RelayState=x", 1);
        assert_eq!(
            verify_redirect_signature(&tampered, "SAMLRequest", &certs, false).unwrap_err(),
            SamlError::SignatureInvalid { tried: 1 }
        );
        let other = generate_sp_credentials("other", 1).unwrap();
        assert_eq!(
            verify_redirect_signature(
                query,
                "SAMLRequest",
                &[other.certificate().unwrap().clone()],
                false
            )
            .unwrap_err(),
            SamlError::SignatureInvalid { tried: 1 }
        );
    }

    #[test]
    fn relay_state_and_name_id_format_are_bounded() {
        let mut req = request();
        let long = "x".repeat(81);
        assert_eq!(
            req.redirect_url(Some(&long), None).unwrap_err(),
            SamlError::RelayStateTooLong { len: 81, max: 80 }
        );
        assert!(req.redirect_url(Some(&long[..80]), None).is_ok());
        req.name_id_format = Some(String::new());
        assert!(matches!(
            req.to_xml().unwrap_err(),
            SamlError::InvalidValue {
                what: "NameIDPolicy Format",
                ..
            }
        ));
    }

    #[test]
    fn post_binding_form_carries_a_signed_request() {
        let req = request();
        let key = generate_sp_credentials("sp", 1).unwrap();
        let html = req
            .post_form(Some("state&1"), Some((&key, SignatureAlgorithm::RsaSha256)))
            .unwrap();
        assert!(html.contains(r#"action="https://idp.example.com/sso?tenant=1""#));
        assert!(html.contains(r#"name="RelayState" value="state&amp;1""#));
        let value = html
            .split(r#"name="SAMLRequest" value=""#)
            .nth(1)
            .and_then(|s| s.split('"').next())
            .unwrap();
        let xml = STANDARD.decode(value).unwrap();
        let doc = Document::parse(&xml, &XmlLimits::default()).unwrap();
        let ids = IdMap::build(&doc).unwrap();
        let verified = crate::dsig::verify_enveloped(
            &doc,
            &ids,
            doc.root(),
            "AuthnRequest",
            &[key.certificate().unwrap().clone()],
            crate::dsig::VerifyOptions::default(),
        )
        .unwrap();
        assert!(verified.is_some());
    }

    #[test]
    fn deflate_bombs_and_bad_encodings_are_refused() {
        let mut encoder = DeflateEncoder::new(Vec::new(), Compression::best());
        encoder.write_all(&vec![b'a'; 50 * 1024 * 1024]).unwrap();
        let bomb = STANDARD.encode(encoder.finish().unwrap());
        assert!(bomb.len() < 200_000);
        assert_eq!(
            decode_redirect_message(&bomb, 1024 * 1024).unwrap_err(),
            SamlError::InflatedTooLarge { max: 1024 * 1024 }
        );
        assert!(matches!(
            decode_redirect_message("%%%", 1000).unwrap_err(),
            SamlError::Base64(_)
        ));
        assert!(matches!(
            decode_redirect_message(&STANDARD.encode(b"not deflate at all, really"), 1000)
                .unwrap_err(),
            SamlError::Inflate(_)
        ));
    }
}
