//! Validation of a `samlp:Response` posted to the AssertionConsumerService (Web Browser SSO
//! profile, HTTP-POST binding) into a [`VerifiedAssertion`].
//!
//! The document is parsed once; signatures are verified on that tree and every value is
//! read from the element a verified signature covers: the Response, or the one Assertion it
//! carries.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use openssl::x509::X509;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use crate::dsig::{IdMap, SigningKey, VerifiedSignature, VerifyOptions, verify_enveloped};
use crate::encryption::decrypt_assertion;
use crate::error::{Result, SamlError};
use crate::store::{Clock, ReplayCache, RequestStore, SystemClock};
use crate::xml::XML_WHITESPACE;
use crate::xml::{Document, NodeId, XmlLimits};
use crate::{SAML_ASSERTION_NS as SAML, SAML_PROTOCOL_NS as SAMLP};

const STATUS_SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";
const BEARER: &str = "urn:oasis:names:tc:SAML:2.0:cm:bearer";
const ENTITY_FORMAT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:entity";

/// The identity provider of one connection, as configured (usually from its metadata).
#[derive(Debug, Clone)]
pub struct IdentityProvider {
    /// The IdP's entity ID, which must be the Issuer of its messages.
    pub entity_id: String,
    /// Certificates whose keys may sign (several during a key rollover). Empty means no
    /// login is possible.
    pub certificates: Vec<X509>,
}

/// This service provider, as one connection sees it.
#[derive(Debug, Clone)]
pub struct ServiceProvider {
    /// The SP's entity ID, which must be an Audience.
    pub entity_id: String,
    /// The AssertionConsumerService URL, which must be the Destination and the Recipient.
    pub acs_url: String,
}

/// Which elements must carry a valid signature.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignaturePolicy {
    /// The Response or the Assertion (or both); either covers the assertion used.
    #[default]
    ResponseOrAssertion,
    /// The Assertion (what ADFS and Entra ID sign by default).
    Assertion,
    /// The Response.
    Response,
    /// Both.
    Both,
}

/// Per-connection validation settings; the defaults are the safe ones.
#[derive(Debug, Clone, Copy)]
pub struct ValidationOptions {
    /// Tolerated clock difference with the IdP (default 3 minutes).
    pub clock_skew: Duration,
    /// Where signatures are required.
    pub signatures: SignaturePolicy,
    /// Accept responses without InResponseTo (IdP-initiated login). Off by default.
    pub allow_idp_initiated: bool,
    /// Accept RSA-SHA1 and SHA-1 digests. Off by default.
    pub allow_sha1_insecure: bool,
    /// Accept RSA PKCS#1 v1.5 key transport in EncryptedAssertion (open to padding-oracle
    /// attacks). Off by default.
    pub dangerous_allow_rsa1_5_key_transport: bool,
    /// Parser limits.
    pub xml_limits: XmlLimits,
    /// How long after its IssueInstant an IdP LogoutRequest without NotOnOrAfter is
    /// accepted (default 5 minutes); its ID is remembered by the replay cache that long.
    pub logout_request_lifetime: Duration,
}

impl Default for ValidationOptions {
    fn default() -> Self {
        Self {
            clock_skew: Duration::minutes(3),
            signatures: SignaturePolicy::default(),
            allow_idp_initiated: false,
            allow_sha1_insecure: false,
            dangerous_allow_rsa1_5_key_transport: false,
            xml_limits: XmlLimits::default(),
            logout_request_lifetime: Duration::minutes(5),
        }
    }
}

/// A NameID with its format and qualifiers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameId {
    /// The identifier.
    pub value: String,
    /// The Format attribute, if given.
    pub format: Option<String>,
    /// NameQualifier.
    pub name_qualifier: Option<String>,
    /// SPNameQualifier.
    pub sp_name_qualifier: Option<String>,
}

/// One `saml:Attribute` with all its values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SamlAttribute {
    /// Name.
    pub name: String,
    /// FriendlyName, if given.
    pub friendly_name: Option<String>,
    /// NameFormat, if given.
    pub name_format: Option<String>,
    /// The text of each AttributeValue (an `xsi:nil` value is left out).
    pub values: Vec<String>,
}

/// An assertion that passed every check: the only way to obtain one is
/// [`ResponseValidator::validate_xml`] or [`ResponseValidator::validate_post`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifiedAssertion {
    /// The IdP's entity ID.
    pub issuer: String,
    /// The Assertion's ID (recorded in the replay cache).
    pub assertion_id: String,
    /// The Response's ID.
    pub response_id: String,
    /// The subject.
    pub name_id: NameId,
    /// The AuthnRequest this answers (`None` for an IdP-initiated login).
    pub in_response_to: Option<String>,
    /// AuthnStatement SessionIndex (needed for Single Logout).
    pub session_index: Option<String>,
    /// AuthnStatement SessionNotOnOrAfter.
    pub session_not_on_or_after: Option<OffsetDateTime>,
    /// AuthnStatement AuthnInstant.
    pub authn_instant: OffsetDateTime,
    /// AuthnContextClassRef, if given.
    pub authn_context_class: Option<String>,
    /// Attributes in document order.
    pub attributes: Vec<SamlAttribute>,
    /// Conditions NotBefore.
    pub not_before: Option<OffsetDateTime>,
    /// The earliest of Conditions NotOnOrAfter and the bearer confirmation's NotOnOrAfter.
    pub not_on_or_after: OffsetDateTime,
    /// Whether Conditions carried OneTimeUse.
    pub one_time_use: bool,
    /// The Response signature, if it had one.
    pub response_signature: Option<VerifiedSignature>,
    /// The Assertion signature, if it had one.
    pub assertion_signature: Option<VerifiedSignature>,
}

impl VerifiedAssertion {
    /// The values of the attribute named `name`.
    #[must_use]
    pub fn attribute(&self, name: &str) -> Option<&[String]> {
        self.attributes
            .iter()
            .find(|a| a.name == name)
            .map(|a| a.values.as_slice())
    }
}

/// Validates Responses for one connection.
#[derive(Clone)]
pub struct ResponseValidator {
    sp: ServiceProvider,
    idp: IdentityProvider,
    options: ValidationOptions,
    clock: Arc<dyn Clock>,
    requests: Arc<dyn RequestStore>,
    replay: Arc<dyn ReplayCache>,
    decryption_keys: Arc<Vec<SigningKey>>,
}

impl std::fmt::Debug for ResponseValidator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseValidator")
            .field("sp", &self.sp)
            .field("idp", &self.idp.entity_id)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl ResponseValidator {
    /// A validator with the default options and the system clock.
    #[must_use]
    pub fn new(
        sp: ServiceProvider,
        idp: IdentityProvider,
        requests: Arc<dyn RequestStore>,
        replay: Arc<dyn ReplayCache>,
    ) -> Self {
        Self {
            sp,
            idp,
            options: ValidationOptions::default(),
            clock: Arc::new(SystemClock),
            requests,
            replay,
            decryption_keys: Arc::new(Vec::new()),
        }
    }

    /// The SP private keys that may decrypt an EncryptedAssertion (several for rollover).
    #[must_use]
    pub fn with_decryption_keys(mut self, keys: Vec<SigningKey>) -> Self {
        self.decryption_keys = Arc::new(keys);
        self
    }

    /// Replaces the options.
    #[must_use]
    pub fn with_options(mut self, options: ValidationOptions) -> Self {
        self.options = options;
        self
    }

    /// Replaces the clock.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Validates the `SAMLResponse` form field of the HTTP-POST binding (base64).
    ///
    /// # Errors
    /// [`SamlError::Base64`], [`SamlError::XmlTooLarge`] and everything
    /// [`ResponseValidator::validate_xml`] returns.
    pub async fn validate_post(&self, saml_response: &str) -> Result<VerifiedAssertion> {
        let limit = self.options.xml_limits.max_bytes;
        // Base64 grows by 4/3; refuse before decoding anything larger than the limit allows
        // (with room for line breaks).
        if saml_response.len() / 4 * 3 > limit + limit / 8 + 16 {
            return Err(SamlError::XmlTooLarge {
                size: saml_response.len() / 4 * 3,
                max: limit,
            });
        }
        let compact: Vec<u8> = saml_response
            .bytes()
            .filter(|b| !b.is_ascii_whitespace())
            .collect();
        let xml = STANDARD
            .decode(compact)
            .map_err(|e| SamlError::Base64(e.to_string()))?;
        self.validate_xml(&xml).await
    }

    /// Validates a Response given as XML.
    ///
    /// # Errors
    /// The variant of the first failed check.
    pub async fn validate_xml(&self, xml: &[u8]) -> Result<VerifiedAssertion> {
        let now = self.clock.now();
        let result = self.validate_inner(xml, now).await;
        match &result {
            Ok(a) => tracing::debug!(
                idp = %self.idp.entity_id,
                assertion_id = %a.assertion_id,
                "SAML response accepted"
            ),
            Err(e) => tracing::warn!(
                idp = %self.idp.entity_id,
                check = e.check(),
                reason = %e,
                "SAML response rejected"
            ),
        }
        result
    }

    async fn validate_inner(&self, xml: &[u8], now: OffsetDateTime) -> Result<VerifiedAssertion> {
        let assertion = check_response(
            xml,
            &self.sp,
            &self.idp,
            &self.options,
            &self.decryption_keys,
            now,
        )?;

        match &assertion.in_response_to {
            Some(id) => {
                if !self.requests.take(id, now).await? {
                    return Err(SamlError::UnknownRequest(id.clone()));
                }
            }
            None => {
                if !self.options.allow_idp_initiated {
                    return Err(SamlError::UnsolicitedNotAllowed);
                }
            }
        }

        let remember_until = assertion
            .not_on_or_after
            .saturating_add(self.options.clock_skew);
        if !self
            .replay
            .insert_once(&assertion.assertion_id, remember_until, now)
            .await?
        {
            return Err(SamlError::Replay(assertion.assertion_id));
        }
        Ok(assertion)
    }
}

/// Every check that needs no storage: parsing, signatures and the profile rules, at `now`.
/// InResponseTo against pending requests, IdP-initiated policy and replay are
/// [`ResponseValidator`]'s. `decryption_keys` are the SP keys for an EncryptedAssertion.
///
/// # Errors
/// The variant of the first failed check.
pub fn check_response(
    xml: &[u8],
    sp: &ServiceProvider,
    idp: &IdentityProvider,
    options: &ValidationOptions,
    decryption_keys: &[SigningKey],
    now: OffsetDateTime,
) -> Result<VerifiedAssertion> {
    if idp.certificates.is_empty() {
        return Err(SamlError::NoTrustedCertificate);
    }
    let doc = Document::parse(xml, &options.xml_limits)?;
    let ids = IdMap::build(&doc)?;
    let verify = VerifyOptions {
        allow_sha1_insecure: options.allow_sha1_insecure,
    };
    let skew = options.clock_skew;

    // The Response.
    let response = doc.root();
    let r = doc.element(response);
    if !r.is(SAMLP, "Response") {
        return Err(SamlError::UnexpectedRoot {
            expected: "{urn:oasis:names:tc:SAML:2.0:protocol}Response",
            found: r.expanded_name(),
        });
    }
    check_version(r.attr("Version"))?;
    let response_id = required_attr(&doc, response, "ID", "Response ID")?;
    let response_signature =
        verify_enveloped(&doc, &ids, response, "Response", &idp.certificates, verify)?;

    match r.attr("Destination") {
        Some(d) if d != sp.acs_url => {
            return Err(SamlError::Destination {
                expected: sp.acs_url.clone(),
                found: d.to_owned(),
            });
        }
        None if response_signature.is_some() => {
            return Err(SamlError::Missing("Destination of a signed Response"));
        }
        _ => {}
    }
    if let Some(issuer) = doc.first_child_named(response, SAML, "Issuer") {
        check_issuer(&doc, issuer, "Response", &idp.entity_id)?;
    }
    check_status(&doc, response)?;
    let in_response_to = r.attr("InResponseTo").map(str::to_owned);

    // Exactly one assertion, a direct child of the Response.
    let assertions: Vec<_> = doc.children_named(response, SAML, "Assertion").collect();
    let encrypted: Vec<_> = doc
        .children_named(response, SAML, "EncryptedAssertion")
        .collect();
    if assertions.len() + encrypted.len() != 1 {
        return Err(SamlError::AssertionCount {
            count: assertions.len() + encrypted.len(),
        });
    }
    // A required Response signature is enforced before anything is decrypted.
    if matches!(
        options.signatures,
        SignaturePolicy::Response | SignaturePolicy::Both
    ) && response_signature.is_none()
    {
        return Err(SamlError::SignatureMissing {
            element: "Response",
        });
    }
    // A decrypted assertion is its own document; the Response signature (checked above)
    // covers its encrypted form.
    let decrypted;
    let (doc, assertion, assertion_signature) = match (assertions.first(), encrypted.first()) {
        (Some(&a), _) => {
            let signature =
                verify_enveloped(&doc, &ids, a, "Assertion", &idp.certificates, verify)?;
            (&doc, a, signature)
        }
        (None, Some(&e)) => {
            let (d, a) = decrypt_assertion(
                &doc,
                e,
                decryption_keys,
                options.dangerous_allow_rsa1_5_key_transport,
                &options.xml_limits,
            )?;
            decrypted = d;
            let checked = IdMap::build(&decrypted).and_then(|decrypted_ids| {
                verify_enveloped(
                    &decrypted,
                    &decrypted_ids,
                    a,
                    "Assertion",
                    &idp.certificates,
                    verify,
                )
            });
            let signature = match checked {
                Ok(ok) => ok,
                // Unsigned Response: nothing has authenticated the ciphertext, so every
                // failure up to a verified assertion signature is the one decryption
                // error (no padding or format oracle on AES-CBC).
                Err(_) if response_signature.is_none() => return Err(SamlError::Decryption),
                Err(e) => return Err(e),
            };
            if response_signature.is_none() && signature.is_none() {
                return Err(SamlError::Decryption);
            }
            (&decrypted, a, signature)
        }
        (None, None) => return Err(SamlError::AssertionCount { count: 0 }),
    };

    match (
        options.signatures,
        response_signature.is_some(),
        assertion_signature.is_some(),
    ) {
        (SignaturePolicy::ResponseOrAssertion, false, false) => {
            return Err(SamlError::SignatureMissing {
                element: "Response or Assertion",
            });
        }
        (SignaturePolicy::Assertion | SignaturePolicy::Both, _, false) => {
            return Err(SamlError::SignatureMissing {
                element: "Assertion",
            });
        }
        (SignaturePolicy::Response | SignaturePolicy::Both, false, _) => {
            return Err(SamlError::SignatureMissing {
                element: "Response",
            });
        }
        _ => {}
    }

    // The Assertion.
    let a = doc.element(assertion);
    check_version(a.attr("Version"))?;
    let assertion_id = required_attr(doc, assertion, "ID", "Assertion ID")?;
    required_attr(doc, assertion, "IssueInstant", "Assertion IssueInstant")?;
    let issuer = doc
        .first_child_named(assertion, SAML, "Issuer")
        .ok_or(SamlError::Missing("Assertion Issuer"))?;
    check_issuer(doc, issuer, "Assertion", &idp.entity_id)?;

    // Subject and its bearer confirmation.
    let subject = doc
        .first_child_named(assertion, SAML, "Subject")
        .ok_or(SamlError::Missing("Assertion Subject"))?;
    let name_id = read_name_id(doc, subject)?;
    let confirmation_end = check_bearer(doc, subject, sp, in_response_to.as_deref(), now, skew)?;

    // Conditions.
    let conditions = doc
        .first_child_named(assertion, SAML, "Conditions")
        .ok_or(SamlError::Missing("Assertion Conditions"))?;
    let (not_before, conditions_end, one_time_use) =
        check_conditions(doc, conditions, sp, now, skew)?;

    // AuthnStatement.
    let authn = doc
        .first_child_named(assertion, SAML, "AuthnStatement")
        .ok_or(SamlError::NoAuthnStatement)?;
    let au = doc.element(authn);
    let authn_instant = parse_instant(
        au.attr("AuthnInstant")
            .ok_or(SamlError::Missing("AuthnStatement AuthnInstant"))?,
        "AuthnStatement AuthnInstant",
    )?;
    let session_not_on_or_after = au
        .attr("SessionNotOnOrAfter")
        .map(|v| parse_instant(v, "AuthnStatement SessionNotOnOrAfter"))
        .transpose()?;
    if let Some(end) = session_not_on_or_after {
        check_not_expired("AuthnStatement SessionNotOnOrAfter", end, now, skew)?;
    }
    let authn_context_class = doc
        .first_child_named(authn, SAML, "AuthnContext")
        .and_then(|c| doc.first_child_named(c, SAML, "AuthnContextClassRef"))
        .map(|c| doc.text(c).trim_matches(XML_WHITESPACE).to_owned());

    let not_on_or_after = match conditions_end {
        Some(c) => c.min(confirmation_end),
        None => confirmation_end,
    };
    Ok(VerifiedAssertion {
        issuer: idp.entity_id.clone(),
        assertion_id,
        response_id,
        name_id,
        in_response_to,
        session_index: au.attr("SessionIndex").map(str::to_owned),
        session_not_on_or_after,
        authn_instant,
        authn_context_class,
        attributes: read_attributes(doc, assertion),
        not_before,
        not_on_or_after,
        one_time_use,
        response_signature,
        assertion_signature,
    })
}

fn check_version(version: Option<&str>) -> Result<()> {
    match version {
        Some("2.0") => Ok(()),
        other => Err(SamlError::Version {
            found: other.unwrap_or_default().to_owned(),
        }),
    }
}

fn required_attr(doc: &Document, id: NodeId, attr: &str, what: &'static str) -> Result<String> {
    match doc.element(id).attr(attr) {
        Some(v) if !v.is_empty() => Ok(v.to_owned()),
        _ => Err(SamlError::Missing(what)),
    }
}

fn check_issuer(
    doc: &Document,
    issuer: NodeId,
    element: &'static str,
    expected: &str,
) -> Result<()> {
    if let Some(format) = doc.element(issuer).attr("Format")
        && format != ENTITY_FORMAT
    {
        return Err(SamlError::InvalidValue {
            what: "Issuer Format",
            value: format.to_owned(),
        });
    }
    let found = doc.text(issuer);
    if found.trim_matches(XML_WHITESPACE) != expected {
        return Err(SamlError::Issuer {
            element,
            expected: expected.to_owned(),
            found: found.into_owned(),
        });
    }
    Ok(())
}

fn check_status(doc: &Document, response: NodeId) -> Result<()> {
    let status = doc
        .first_child_named(response, SAMLP, "Status")
        .ok_or(SamlError::Missing("Response Status"))?;
    let mut codes = Vec::new();
    let mut code = doc.first_child_named(status, SAMLP, "StatusCode");
    while let Some(c) = code {
        codes.push(doc.element(c).attr("Value").unwrap_or_default().to_owned());
        // Nesting is bounded by the parser's depth limit.
        code = doc.first_child_named(c, SAMLP, "StatusCode");
    }
    if codes.first().map(String::as_str) == Some(STATUS_SUCCESS) {
        return Ok(());
    }
    let message = doc
        .first_child_named(status, SAMLP, "StatusMessage")
        .map(|m| doc.text(m).into_owned());
    Err(SamlError::Status { codes, message })
}

fn read_name_id(doc: &Document, subject: NodeId) -> Result<NameId> {
    let Some(name_id) = doc.first_child_named(subject, SAML, "NameID") else {
        if doc
            .first_child_named(subject, SAML, "EncryptedID")
            .is_some()
        {
            return Err(SamlError::InvalidValue {
                what: "Subject",
                value: "EncryptedID (not supported)".into(),
            });
        }
        return Err(SamlError::Missing("Subject NameID"));
    };
    if doc.has_child_elements(name_id) {
        return Err(SamlError::InvalidValue {
            what: "NameID",
            value: "element content".into(),
        });
    }
    let e = doc.element(name_id);
    let value = doc.text(name_id).trim_matches(XML_WHITESPACE).to_owned();
    if value.is_empty() {
        return Err(SamlError::Missing("NameID value"));
    }
    Ok(NameId {
        value,
        format: e.attr("Format").map(str::to_owned),
        name_qualifier: e.attr("NameQualifier").map(str::to_owned),
        sp_name_qualifier: e.attr("SPNameQualifier").map(str::to_owned),
    })
}

/// Checks the bearer SubjectConfirmations; one that passes every check is enough. Returns
/// its NotOnOrAfter.
fn check_bearer(
    doc: &Document,
    subject: NodeId,
    sp: &ServiceProvider,
    in_response_to: Option<&str>,
    now: OffsetDateTime,
    skew: Duration,
) -> Result<OffsetDateTime> {
    let mut first_error = None;
    for confirmation in doc.children_named(subject, SAML, "SubjectConfirmation") {
        if doc.element(confirmation).attr("Method") != Some(BEARER) {
            continue;
        }
        match check_one_bearer(doc, confirmation, sp, in_response_to, now, skew) {
            Ok(end) => return Ok(end),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    Err(first_error.unwrap_or(SamlError::NoBearerConfirmation))
}

fn check_one_bearer(
    doc: &Document,
    confirmation: NodeId,
    sp: &ServiceProvider,
    in_response_to: Option<&str>,
    now: OffsetDateTime,
    skew: Duration,
) -> Result<OffsetDateTime> {
    let data = doc
        .first_child_named(confirmation, SAML, "SubjectConfirmationData")
        .ok_or(SamlError::Missing("bearer SubjectConfirmationData"))?;
    let d = doc.element(data);

    let recipient = d.attr("Recipient").unwrap_or_default();
    if recipient != sp.acs_url {
        return Err(SamlError::Recipient {
            expected: sp.acs_url.clone(),
            found: recipient.to_owned(),
        });
    }
    let end = parse_instant(
        d.attr("NotOnOrAfter")
            .ok_or(SamlError::Missing("SubjectConfirmationData NotOnOrAfter"))?,
        "SubjectConfirmationData NotOnOrAfter",
    )?;
    check_not_expired("SubjectConfirmationData NotOnOrAfter", end, now, skew)?;
    if let Some(start) = d.attr("NotBefore") {
        let start = parse_instant(start, "SubjectConfirmationData NotBefore")?;
        check_started("SubjectConfirmationData NotBefore", start, now, skew)?;
    }
    let found = d.attr("InResponseTo");
    if found != in_response_to {
        return Err(SamlError::InResponseTo {
            element: "SubjectConfirmationData",
            expected: in_response_to.map(str::to_owned),
            found: found.map(str::to_owned),
        });
    }
    Ok(end)
}

/// Returns (NotBefore, NotOnOrAfter, OneTimeUse).
fn check_conditions(
    doc: &Document,
    conditions: NodeId,
    sp: &ServiceProvider,
    now: OffsetDateTime,
    skew: Duration,
) -> Result<(Option<OffsetDateTime>, Option<OffsetDateTime>, bool)> {
    let c = doc.element(conditions);
    let not_before = c
        .attr("NotBefore")
        .map(|v| parse_instant(v, "Conditions NotBefore"))
        .transpose()?;
    let not_on_or_after = c
        .attr("NotOnOrAfter")
        .map(|v| parse_instant(v, "Conditions NotOnOrAfter"))
        .transpose()?;
    if let Some(start) = not_before {
        check_started("Conditions NotBefore", start, now, skew)?;
    }
    if let Some(end) = not_on_or_after {
        check_not_expired("Conditions NotOnOrAfter", end, now, skew)?;
    }

    let mut audience_restrictions = 0;
    let mut one_time_use = false;
    let mut proxy_restriction = false;
    for condition in doc.child_elements(conditions) {
        let e = doc.element(condition);
        if e.is(SAML, "AudienceRestriction") {
            audience_restrictions += 1;
            let audiences: Vec<String> = doc
                .children_named(condition, SAML, "Audience")
                .map(|a| doc.text(a).trim_matches(XML_WHITESPACE).to_owned())
                .collect();
            if !audiences.contains(&sp.entity_id) {
                return Err(SamlError::Audience {
                    expected: sp.entity_id.clone(),
                    found: audiences,
                });
            }
        } else if e.is(SAML, "OneTimeUse") {
            if one_time_use {
                return Err(SamlError::Conditions("more than one OneTimeUse".into()));
            }
            one_time_use = true;
        } else if e.is(SAML, "ProxyRestriction") {
            if proxy_restriction {
                return Err(SamlError::Conditions(
                    "more than one ProxyRestriction".into(),
                ));
            }
            proxy_restriction = true;
        } else {
            // SAML core 2.5.1.5: an unknown condition makes the assertion indeterminate.
            return Err(SamlError::Conditions(format!(
                "unsupported condition {}",
                e.expanded_name()
            )));
        }
    }
    if audience_restrictions == 0 {
        return Err(SamlError::Missing("Conditions AudienceRestriction"));
    }
    Ok((not_before, not_on_or_after, one_time_use))
}

fn read_attributes(doc: &Document, assertion: NodeId) -> Vec<SamlAttribute> {
    let mut out = Vec::new();
    for statement in doc.children_named(assertion, SAML, "AttributeStatement") {
        for attribute in doc.children_named(statement, SAML, "Attribute") {
            let e = doc.element(attribute);
            let values = doc
                .children_named(attribute, SAML, "AttributeValue")
                .filter(|v| {
                    !doc.element(*v).attributes().any(|a| {
                        a.local == "nil"
                            && a.namespace == Some("http://www.w3.org/2001/XMLSchema-instance")
                            && (a.value == "true" || a.value == "1")
                    })
                })
                .map(|v| doc.text(v).into_owned())
                .collect();
            out.push(SamlAttribute {
                name: e.attr("Name").unwrap_or_default().to_owned(),
                friendly_name: e.attr("FriendlyName").map(str::to_owned),
                name_format: e.attr("NameFormat").map(str::to_owned),
                values,
            });
        }
    }
    out
}

fn parse_instant(value: &str, what: &'static str) -> Result<OffsetDateTime> {
    OffsetDateTime::parse(value.trim_matches(XML_WHITESPACE), &Rfc3339).map_err(|_| {
        SamlError::InvalidValue {
            what,
            value: value.to_owned(),
        }
    })
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

fn check_not_expired(
    what: &'static str,
    end: OffsetDateTime,
    now: OffsetDateTime,
    skew: Duration,
) -> Result<()> {
    if now >= end.saturating_add(skew) {
        return Err(SamlError::Expired {
            what,
            not_on_or_after: rfc3339(end),
            now: rfc3339(now),
            skew_seconds: skew.whole_seconds(),
        });
    }
    Ok(())
}

fn check_started(
    what: &'static str,
    start: OffsetDateTime,
    now: OffsetDateTime,
    skew: Duration,
) -> Result<()> {
    if now.saturating_add(skew) < start {
        return Err(SamlError::NotYetValid {
            what,
            not_before: rfc3339(start),
            now: rfc3339(now),
            skew_seconds: skew.whole_seconds(),
        });
    }
    Ok(())
}
