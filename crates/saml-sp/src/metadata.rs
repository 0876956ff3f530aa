//! SAML 2.0 metadata: reading an IdP's EntityDescriptor (optionally signed, possibly inside
//! an EntitiesDescriptor) and writing this SP's EntityDescriptor.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use openssl::x509::{X509, X509NameBuilder};

use crate::SAML_METADATA_NS as MD;
use crate::dsig::{
    DSIG_NS, IdMap, SigningKey, VerifyOptions, certificate_from_base64, verify_enveloped,
};
use crate::error::{Result, SamlError};
use crate::response::IdentityProvider;
use crate::xml::XML_WHITESPACE;
use crate::xml::{Document, NodeId, XmlLimits};

/// The HTTP-Redirect binding.
pub const BINDING_REDIRECT: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";
/// The HTTP-POST binding.
pub const BINDING_POST: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";
const PROTOCOL: &str = "urn:oasis:names:tc:SAML:2.0:protocol";

/// A protocol endpoint of an entity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The binding URI.
    pub binding: String,
    /// Location (always http or https).
    pub location: String,
    /// ResponseLocation, if given (always http or https).
    pub response_location: Option<String>,
}

/// What this SP needs from an IdP's metadata.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct IdpMetadata {
    /// The entityID.
    pub entity_id: String,
    /// Certificates of KeyDescriptors for signing (or without `use`), in document order.
    pub signing_certificates: Vec<X509>,
    /// SingleSignOnService endpoints.
    pub single_sign_on_services: Vec<Endpoint>,
    /// SingleLogoutService endpoints.
    pub single_logout_services: Vec<Endpoint>,
    /// NameIDFormat values.
    pub name_id_formats: Vec<String>,
    /// WantAuthnRequestsSigned.
    pub want_authn_requests_signed: bool,
    /// Whether the metadata's signature was verified with a trust certificate.
    pub signature_verified: bool,
}

impl IdpMetadata {
    /// Parses IdP metadata. With an EntitiesDescriptor, `entity_id` chooses the entity (it
    /// may be omitted when there is exactly one). With `trust` certificates, the root
    /// element must carry a valid enveloped signature by one of them.
    ///
    /// # Errors
    /// Parse and signature errors, [`SamlError::Metadata`] for a missing entity or IdP role,
    /// and [`SamlError::BindingUrl`] for an endpoint that is not http(s).
    pub fn parse(xml: &[u8], entity_id: Option<&str>, trust: Option<&[X509]>) -> Result<Self> {
        let doc = Document::parse(xml, &XmlLimits::default())?;
        let ids = IdMap::build(&doc)?;
        let root = doc.root();
        let root_name = if doc.element(root).is(MD, "EntityDescriptor") {
            "EntityDescriptor"
        } else if doc.element(root).is(MD, "EntitiesDescriptor") {
            "EntitiesDescriptor"
        } else {
            return Err(SamlError::UnexpectedRoot {
                expected: "{urn:oasis:names:tc:SAML:2.0:metadata}EntityDescriptor or EntitiesDescriptor",
                found: doc.element(root).expanded_name(),
            });
        };

        let mut signature_verified = false;
        if let Some(trust) = trust {
            let verified =
                verify_enveloped(&doc, &ids, root, root_name, trust, VerifyOptions::default())?;
            if verified.is_none() {
                return Err(SamlError::SignatureMissing { element: root_name });
            }
            signature_verified = true;
        }

        let entity = choose_entity(&doc, root, entity_id)?;
        let found_id = doc
            .element(entity)
            .attr("entityID")
            .unwrap_or_default()
            .to_owned();
        if found_id.is_empty() {
            return Err(SamlError::Metadata(
                "EntityDescriptor has no entityID".into(),
            ));
        }
        let idp = doc
            .children_named(entity, MD, "IDPSSODescriptor")
            .find(|d| {
                doc.element(*d)
                    .attr("protocolSupportEnumeration")
                    .is_some_and(|p| p.split_ascii_whitespace().any(|x| x == PROTOCOL))
            })
            .ok_or_else(|| {
                SamlError::Metadata(format!(
                    "entity {found_id:?} has no IDPSSODescriptor for SAML 2.0"
                ))
            })?;

        let mut signing_certificates = Vec::new();
        for key in doc.children_named(idp, MD, "KeyDescriptor") {
            if doc.element(key).attr("use").is_some_and(|u| u != "signing") {
                continue;
            }
            for info in doc.children_named(key, DSIG_NS, "KeyInfo") {
                for data in doc.children_named(info, DSIG_NS, "X509Data") {
                    for cert in doc.children_named(data, DSIG_NS, "X509Certificate") {
                        signing_certificates.push(certificate_from_base64(&doc.text(cert))?);
                    }
                }
            }
        }

        Ok(Self {
            entity_id: found_id,
            signing_certificates,
            single_sign_on_services: endpoints(&doc, idp, "SingleSignOnService")?,
            single_logout_services: endpoints(&doc, idp, "SingleLogoutService")?,
            name_id_formats: doc
                .children_named(idp, MD, "NameIDFormat")
                .map(|n| doc.text(n).trim_matches(XML_WHITESPACE).to_owned())
                .collect(),
            want_authn_requests_signed: matches!(
                doc.element(idp).attr("WantAuthnRequestsSigned"),
                Some("true" | "1")
            ),
            signature_verified,
        })
    }

    /// The first SingleSignOnService with `binding`.
    #[must_use]
    pub fn sso_location(&self, binding: &str) -> Option<&str> {
        self.single_sign_on_services
            .iter()
            .find(|e| e.binding == binding)
            .map(|e| e.location.as_str())
    }

    /// The IdP as response validation needs it.
    #[must_use]
    pub fn identity_provider(&self) -> IdentityProvider {
        IdentityProvider {
            entity_id: self.entity_id.clone(),
            certificates: self.signing_certificates.clone(),
        }
    }
}

fn choose_entity(doc: &Document, root: NodeId, entity_id: Option<&str>) -> Result<NodeId> {
    let mut candidates = Vec::new();
    let mut stack = vec![root];
    while let Some(n) = stack.pop() {
        let e = doc.element(n);
        if e.is(MD, "EntityDescriptor") {
            candidates.push(n);
        } else if e.is(MD, "EntitiesDescriptor") {
            stack.extend(doc.child_elements(n));
        }
    }
    match entity_id {
        Some(wanted) => candidates
            .into_iter()
            .find(|c| doc.element(*c).attr("entityID") == Some(wanted))
            .ok_or_else(|| {
                SamlError::Metadata(format!("no EntityDescriptor with entityID {wanted:?}"))
            }),
        None => match candidates.as_slice() {
            [one] => Ok(*one),
            _ => Err(SamlError::Metadata(format!(
                "{} EntityDescriptors; name the entity ID to use",
                candidates.len()
            ))),
        },
    }
}

fn endpoints(doc: &Document, role: NodeId, local: &'static str) -> Result<Vec<Endpoint>> {
    let mut out = Vec::new();
    for e in doc.children_named(role, MD, local) {
        let el = doc.element(e);
        let binding = el.attr("Binding").unwrap_or_default().to_owned();
        let location = el.attr("Location").unwrap_or_default().to_owned();
        check_http_url(local, &location)?;
        let response_location = el.attr("ResponseLocation").map(str::to_owned);
        if let Some(r) = &response_location {
            check_http_url(local, r)?;
        }
        out.push(Endpoint {
            binding,
            location,
            response_location,
        });
    }
    Ok(out)
}

fn check_http_url(element: &str, url: &str) -> Result<()> {
    let lower = url.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"));
    match rest {
        Some(host) if !host.is_empty() && !host.starts_with('/') => Ok(()),
        _ => Err(SamlError::BindingUrl {
            element: element.to_owned(),
            url: url.to_owned(),
        }),
    }
}

/// This SP's metadata for one connection.
#[derive(Debug, Clone, Default)]
pub struct SpMetadata {
    /// The SP entity ID.
    pub entity_id: String,
    /// AssertionConsumerService URLs for the HTTP-POST binding (the first is the default).
    pub acs_urls: Vec<String>,
    /// SingleLogoutService URL (Redirect and POST bindings), if any.
    pub slo_url: Option<String>,
    /// NameIDFormat to ask for, if any.
    pub name_id_format: Option<String>,
    /// Certificate of the key that signs AuthnRequests.
    pub signing_certificate: Option<X509>,
    /// Certificate for EncryptedAssertion.
    pub encryption_certificate: Option<X509>,
    /// AuthnRequestsSigned.
    pub authn_requests_signed: bool,
    /// WantAssertionsSigned.
    pub want_assertions_signed: bool,
}

impl SpMetadata {
    /// The EntityDescriptor XML.
    ///
    /// # Errors
    /// [`SamlError::Metadata`] without an ACS URL, [`SamlError::BindingUrl`] for a URL that
    /// is not http(s), [`SamlError::Crypto`] when a certificate does not encode.
    pub fn to_xml(&self) -> Result<String> {
        if self.acs_urls.is_empty() {
            return Err(SamlError::Metadata(
                "at least one ACS URL is required".into(),
            ));
        }
        let mut out = String::with_capacity(2048);
        out.push_str(&format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="{MD}" xmlns:ds="{DSIG_NS}" entityID="{}">
  <md:SPSSODescriptor protocolSupportEnumeration="{PROTOCOL}" AuthnRequestsSigned="{}" WantAssertionsSigned="{}">
"#,
            escape(&self.entity_id),
            self.authn_requests_signed,
            self.want_assertions_signed
        ));
        for (usage, cert) in [
            ("signing", &self.signing_certificate),
            ("encryption", &self.encryption_certificate),
        ] {
            if let Some(cert) = cert {
                let der = cert
                    .to_der()
                    .map_err(|e| SamlError::Crypto(e.to_string()))?;
                out.push_str(&format!(
                    "    <md:KeyDescriptor use=\"{usage}\"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>\n",
                    STANDARD.encode(der)
                ));
            }
        }
        if let Some(slo) = &self.slo_url {
            check_http_url("SingleLogoutService", slo)?;
            for binding in [BINDING_REDIRECT, BINDING_POST] {
                out.push_str(&format!(
                    "    <md:SingleLogoutService Binding=\"{binding}\" Location=\"{}\"/>\n",
                    escape(slo)
                ));
            }
        }
        if let Some(format) = &self.name_id_format {
            out.push_str(&format!(
                "    <md:NameIDFormat>{}</md:NameIDFormat>\n",
                escape(format)
            ));
        }
        for (index, acs) in self.acs_urls.iter().enumerate() {
            check_http_url("AssertionConsumerService", acs)?;
            out.push_str(&format!(
                "    <md:AssertionConsumerService Binding=\"{BINDING_POST}\" Location=\"{}\" index=\"{index}\"{}/>\n",
                escape(acs),
                if index == 0 { " isDefault=\"true\"" } else { "" }
            ));
        }
        out.push_str("  </md:SPSSODescriptor>\n</md:EntityDescriptor>\n");
        Ok(out)
    }
}

/// Generates an RSA-2048 key and a self-signed certificate (SHA-256, `CN=common_name`,
/// valid for `days`) for a new connection's SP signing or encryption.
///
/// # Errors
/// [`SamlError::Crypto`] when OpenSSL fails.
pub fn generate_sp_credentials(common_name: &str, days: u32) -> Result<SigningKey> {
    let crypto = |e: openssl::error::ErrorStack| SamlError::Crypto(e.to_string());
    let key = PKey::from_rsa(Rsa::generate(2048).map_err(crypto)?).map_err(crypto)?;
    let mut name = X509NameBuilder::new().map_err(crypto)?;
    name.append_entry_by_text("CN", common_name)
        .map_err(crypto)?;
    let name = name.build();
    let mut builder = X509::builder().map_err(crypto)?;
    builder.set_version(2).map_err(crypto)?;
    let mut serial = BigNum::new().map_err(crypto)?;
    serial
        .rand(127, MsbOption::MAYBE_ZERO, false)
        .map_err(crypto)?;
    let serial = serial.to_asn1_integer().map_err(crypto)?;
    builder.set_serial_number(&serial).map_err(crypto)?;
    builder.set_subject_name(&name).map_err(crypto)?;
    builder.set_issuer_name(&name).map_err(crypto)?;
    builder.set_pubkey(&key).map_err(crypto)?;
    let not_before = Asn1Time::days_from_now(0).map_err(crypto)?;
    let not_after = Asn1Time::days_from_now(days).map_err(crypto)?;
    builder.set_not_before(&not_before).map_err(crypto)?;
    builder.set_not_after(&not_after).map_err(crypto)?;
    builder
        .sign(&key, MessageDigest::sha256())
        .map_err(crypto)?;
    Ok(SigningKey::new(key, Some(builder.build())))
}

/// Escapes text for an attribute value or element content.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsig::{DigestAlgorithm, SignatureAlgorithm, sign_enveloped};

    fn idp_metadata(entity: &str, certs: &[&X509], sso: &str) -> String {
        let keys: String = certs
            .iter()
            .map(|c| {
                format!(
                    "<md:KeyDescriptor use=\"signing\"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>\n{}\n</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>",
                    STANDARD.encode(c.to_der().unwrap())
                )
            })
            .collect();
        format!(
            r#"<md:EntityDescriptor xmlns:md="{MD}" xmlns:ds="{DSIG_NS}" ID="_md1" entityID="{entity}"><md:IDPSSODescriptor WantAuthnRequestsSigned="true" protocolSupportEnumeration="{PROTOCOL}">{keys}<md:KeyDescriptor use="encryption"><ds:KeyInfo><ds:KeyName>enc</ds:KeyName></ds:KeyInfo></md:KeyDescriptor><md:SingleLogoutService Binding="{BINDING_REDIRECT}" Location="https://idp.example.com/slo"/><md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat><md:SingleSignOnService Binding="{BINDING_REDIRECT}" Location="{sso}"/><md:SingleSignOnService Binding="{BINDING_POST}" Location="https://idp.example.com/sso/post"/></md:IDPSSODescriptor></md:EntityDescriptor>"#
        )
    }

    #[test]
    fn reads_an_entity_descriptor_with_rollover_certificates() {
        let a = generate_sp_credentials("idp a", 1).unwrap();
        let b = generate_sp_credentials("idp b", 1).unwrap();
        let xml = idp_metadata(
            "https://idp.example.com",
            &[a.certificate().unwrap(), b.certificate().unwrap()],
            "https://idp.example.com/sso",
        );
        let md = IdpMetadata::parse(xml.as_bytes(), None, None).unwrap();
        assert_eq!(md.entity_id, "https://idp.example.com");
        assert_eq!(md.signing_certificates.len(), 2);
        assert_eq!(
            md.signing_certificates[1].to_der().unwrap(),
            b.certificate().unwrap().to_der().unwrap()
        );
        assert_eq!(
            md.sso_location(BINDING_REDIRECT),
            Some("https://idp.example.com/sso")
        );
        assert_eq!(
            md.sso_location(BINDING_POST),
            Some("https://idp.example.com/sso/post")
        );
        assert_eq!(
            md.single_logout_services[0].location,
            "https://idp.example.com/slo"
        );
        assert_eq!(
            md.name_id_formats,
            ["urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"]
        );
        assert!(md.want_authn_requests_signed);
        assert!(!md.signature_verified);
        assert_eq!(md.identity_provider().certificates.len(), 2);
    }

    #[test]
    fn chooses_an_entity_from_an_entities_descriptor() {
        let a = generate_sp_credentials("idp a", 1).unwrap();
        let one = idp_metadata(
            "https://one.example",
            &[a.certificate().unwrap()],
            "https://one.example/sso",
        );
        let two = idp_metadata(
            "https://two.example",
            &[a.certificate().unwrap()],
            "https://two.example/sso",
        )
        .replace("ID=\"_md1\"", "ID=\"_md2\"");
        let strip = |s: &str| s.replacen(&format!(" xmlns:md=\"{MD}\""), "", 1);
        let xml = format!(
            r#"<md:EntitiesDescriptor xmlns:md="{MD}"><md:EntitiesDescriptor>{}</md:EntitiesDescriptor>{}</md:EntitiesDescriptor>"#,
            strip(&one),
            strip(&two)
        );
        let md = IdpMetadata::parse(xml.as_bytes(), Some("https://two.example"), None).unwrap();
        assert_eq!(
            md.sso_location(BINDING_REDIRECT),
            Some("https://two.example/sso")
        );
        let md = IdpMetadata::parse(xml.as_bytes(), Some("https://one.example"), None).unwrap();
        assert_eq!(md.entity_id, "https://one.example");
        assert!(matches!(
            IdpMetadata::parse(xml.as_bytes(), None, None).unwrap_err(),
            SamlError::Metadata(m) if m.contains("2 EntityDescriptors")
        ));
        assert!(matches!(
            IdpMetadata::parse(xml.as_bytes(), Some("https://three.example"), None).unwrap_err(),
            SamlError::Metadata(_)
        ));
    }

    #[test]
    fn refuses_non_http_endpoints() {
        let a = generate_sp_credentials("idp", 1).unwrap();
        for bad in [
            "javascript:alert(1)",
            "file:///etc/passwd",
            "https://",
            "ftp://x",
        ] {
            let xml = idp_metadata("https://idp.example.com", &[a.certificate().unwrap()], bad);
            assert_eq!(
                IdpMetadata::parse(xml.as_bytes(), None, None).unwrap_err(),
                SamlError::BindingUrl {
                    element: "SingleSignOnService".into(),
                    url: bad.into()
                }
            );
        }
    }

    #[test]
    fn verifies_signed_metadata_with_a_trust_certificate() {
        let signer = generate_sp_credentials("federation", 1).unwrap();
        let other = generate_sp_credentials("other", 1).unwrap();
        let idp = generate_sp_credentials("idp", 1).unwrap();
        let xml = idp_metadata(
            "https://idp.example.com",
            &[idp.certificate().unwrap()],
            "https://idp.example.com/sso",
        );
        let signed = sign_enveloped(
            &xml,
            "_md1",
            &SigningKey::new(signer.private_key().clone(), None),
            SignatureAlgorithm::RsaSha256,
            DigestAlgorithm::Sha256,
        )
        .unwrap();
        let trust = [signer.certificate().unwrap().clone()];
        let md = IdpMetadata::parse(signed.as_bytes(), None, Some(&trust)).unwrap();
        assert!(md.signature_verified);

        let wrong = [other.certificate().unwrap().clone()];
        assert_eq!(
            IdpMetadata::parse(signed.as_bytes(), None, Some(&wrong)).unwrap_err(),
            SamlError::SignatureInvalid { tried: 1 }
        );
        let tampered = signed.replace("https://idp.example.com/sso", "https://evil.example/sso");
        assert_eq!(
            IdpMetadata::parse(tampered.as_bytes(), None, Some(&trust)).unwrap_err(),
            SamlError::DigestMismatch {
                uri: "#_md1".into()
            }
        );
        assert_eq!(
            IdpMetadata::parse(xml.as_bytes(), None, Some(&trust)).unwrap_err(),
            SamlError::SignatureMissing {
                element: "EntityDescriptor"
            }
        );
    }

    #[test]
    fn writes_sp_metadata_that_reads_back() {
        let creds = generate_sp_credentials("sp", 1).unwrap();
        let md = SpMetadata {
            entity_id: "https://app.example.com/saml?tenant=a&b".into(),
            acs_urls: vec![
                "https://app.example.com/acs".into(),
                "https://app.example.com/acs2".into(),
            ],
            slo_url: Some("https://app.example.com/slo".into()),
            name_id_format: Some("urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress".into()),
            signing_certificate: creds.certificate().cloned(),
            encryption_certificate: creds.certificate().cloned(),
            authn_requests_signed: true,
            want_assertions_signed: true,
        };
        let xml = md.to_xml().unwrap();
        let doc = Document::parse(xml.as_bytes(), &XmlLimits::default()).unwrap();
        let root = doc.element(doc.root());
        assert_eq!(
            root.attr("entityID"),
            Some("https://app.example.com/saml?tenant=a&b")
        );
        let sp = doc
            .first_child_named(doc.root(), MD, "SPSSODescriptor")
            .unwrap();
        assert_eq!(doc.element(sp).attr("AuthnRequestsSigned"), Some("true"));
        assert_eq!(doc.element(sp).attr("WantAssertionsSigned"), Some("true"));
        let acs: Vec<_> = doc
            .children_named(sp, MD, "AssertionConsumerService")
            .map(|a| doc.element(a).attr("Location").unwrap().to_owned())
            .collect();
        assert_eq!(
            acs,
            [
                "https://app.example.com/acs",
                "https://app.example.com/acs2"
            ]
        );
        assert_eq!(doc.children_named(sp, MD, "KeyDescriptor").count(), 2);
        assert_eq!(doc.children_named(sp, MD, "SingleLogoutService").count(), 2);

        let bad = SpMetadata {
            acs_urls: vec!["javascript:x".into()],
            ..md
        };
        assert!(matches!(
            bad.to_xml().unwrap_err(),
            SamlError::BindingUrl { .. }
        ));
    }
}
