//! The one error type of the crate: every rejection names the check that failed and the
//! values it compared (never key material or the raw message).

use thiserror::Error;

/// Why a SAML message, signature or metadata document was rejected.
///
/// Variants are grouped by check: XML parsing, transport encoding, XML signature, SAML
/// profile checks, stores and metadata. [`SamlError::check`] gives a short stable name for
/// each group member, for logs and the CLI.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SamlError {
    // --- XML parsing -------------------------------------------------------------------
    /// The document is larger than the configured limit.
    #[error("XML document is {size} bytes, more than the limit of {max}")]
    XmlTooLarge {
        /// Size of the input.
        size: usize,
        /// Configured limit.
        max: usize,
    },
    /// Elements are nested deeper than the configured limit.
    #[error("XML nesting deeper than the limit of {max}")]
    XmlTooDeep {
        /// Configured limit.
        max: usize,
    },
    /// An element has more attributes than the configured limit.
    #[error("XML element has more than {max} attributes")]
    TooManyAttributes {
        /// Configured limit.
        max: usize,
    },
    /// The document has more nodes than the configured limit.
    #[error("XML document has more than {max} nodes")]
    TooManyNodes {
        /// Configured limit.
        max: usize,
    },
    /// A document type declaration (and with it any entity declaration) was found.
    #[error("XML DOCTYPE/DTD is forbidden")]
    DtdForbidden,
    /// A processing instruction was found.
    #[error("XML processing instructions are forbidden")]
    ProcessingInstructionForbidden,
    /// An entity reference other than the five predefined ones was found.
    #[error("XML entity reference is not allowed: {0}")]
    EntityForbidden(String),
    /// The XML declaration names an encoding other than UTF-8, or the bytes are not UTF-8.
    #[error("XML encoding is not UTF-8: {0}")]
    UnsupportedEncoding(String),
    /// The document is not well-formed XML.
    #[error("XML is not well-formed: {0}")]
    MalformedXml(String),
    /// A prefix is used without a namespace declaration in scope.
    #[error("XML namespace prefix {0:?} is not declared")]
    UnboundPrefix(String),
    /// The same (namespace, local name) attribute appears twice on one element.
    #[error("XML attribute {0:?} appears twice on one element")]
    DuplicateAttribute(String),

    // --- transport encoding ------------------------------------------------------------
    /// The base64 form of a message does not decode.
    #[error("base64 decoding failed: {0}")]
    Base64(String),
    /// The DEFLATE stream of a Redirect-binding message does not inflate.
    #[error("DEFLATE decoding failed: {0}")]
    Inflate(String),
    /// The inflated message exceeds the size limit (a deflate bomb).
    #[error("inflated message exceeds the limit of {max} bytes")]
    InflatedTooLarge {
        /// Configured limit.
        max: usize,
    },
    /// RelayState is longer than the SAML bindings allow.
    #[error("RelayState is {len} bytes, more than the limit of {max}")]
    RelayStateTooLong {
        /// Length of the given value.
        len: usize,
        /// The limit (80 bytes per SAML bindings 3.4.3).
        max: usize,
    },

    /// The Redirect-binding query does not carry exactly one message parameter of the
    /// expected kind (or repeats a binding parameter).
    #[error("Redirect binding query refused: {0}")]
    RedirectParameters(String),

    /// An EncryptedAssertion carries more EncryptedKey elements than are tried.
    #[error(
        "EncryptedAssertion carries {count} EncryptedKey elements, more than the limit of {max}"
    )]
    TooManyEncryptedKeys {
        /// How many were found.
        count: usize,
        /// The limit.
        max: usize,
    },

    // --- XML signature -----------------------------------------------------------------
    /// No IdP certificate is configured, so no message can be trusted.
    #[error("no trusted IdP certificate is configured; unsigned logins are never accepted")]
    NoTrustedCertificate,
    /// Two elements carry the same ID.
    #[error("duplicate XML ID {0:?}")]
    DuplicateId(String),
    /// The element that must be signed carries no signature.
    #[error("{element} is not signed")]
    SignatureMissing {
        /// The element that had to carry a signature.
        element: &'static str,
    },
    /// An element carries more than one `ds:Signature` child.
    #[error("{element} carries {count} ds:Signature elements, expected one")]
    MultipleSignatures {
        /// The signed element.
        element: &'static str,
        /// How many were found.
        count: usize,
    },
    /// `ds:Signature` must hold exactly one `ds:SignedInfo`.
    #[error("ds:Signature holds {count} ds:SignedInfo elements, expected exactly one")]
    SignedInfoCount {
        /// How many were found.
        count: usize,
    },
    /// `ds:SignedInfo` must hold exactly one `ds:Reference`.
    #[error("ds:SignedInfo holds {count} ds:Reference elements, expected exactly one")]
    ReferenceCount {
        /// How many were found.
        count: usize,
    },
    /// The Reference does not point at the element that carries the signature.
    #[error("ds:Reference URI is {found:?}, expected {expected:?} (the signed element's ID)")]
    ReferenceMismatch {
        /// `#` followed by the ID of the element the signature is enveloped in.
        expected: String,
        /// The URI in the Reference.
        found: String,
    },
    /// The canonical form of a signed element would exceed the bound derived from the
    /// input size (namespace re-declarations can multiply it).
    #[error("canonical XML would exceed the limit of {max} bytes")]
    CanonicalTooLarge {
        /// The limit (4 times the input size plus 64 KiB).
        max: usize,
    },
    /// An InclusiveNamespaces PrefixList names more distinct prefixes than allowed.
    #[error("InclusiveNamespaces PrefixList names {count} prefixes, more than the limit of {max}")]
    TooManyInclusivePrefixes {
        /// Distinct prefixes found.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A required element of the signature is missing or malformed.
    #[error("malformed ds:Signature: {0}")]
    SignatureStructure(String),
    /// An algorithm outside the allow-list.
    #[error("{kind} algorithm {uri:?} is not allowed")]
    AlgorithmNotAllowed {
        /// Which algorithm slot (signature, digest, canonicalization, transform).
        kind: &'static str,
        /// The algorithm URI found.
        uri: String,
    },
    /// SHA-1 was used while `allow_sha1_insecure` is off.
    #[error("SHA-1 {kind} algorithm {uri:?} is refused (allow_sha1_insecure is off)")]
    Sha1NotAllowed {
        /// Signature or digest.
        kind: &'static str,
        /// The algorithm URI found.
        uri: String,
    },
    /// The digest over the referenced element does not match DigestValue.
    #[error("digest of the element referenced by {uri:?} does not match ds:DigestValue")]
    DigestMismatch {
        /// The Reference URI.
        uri: String,
    },
    /// No configured certificate verifies the signature value.
    #[error("ds:SignatureValue does not verify with any of the {tried} trusted certificate(s)")]
    SignatureInvalid {
        /// How many configured certificates were tried.
        tried: usize,
    },
    /// KeyInfo carries a certificate that is not one of the configured ones.
    #[error(
        "ds:KeyInfo carries a certificate that is not configured for this IdP (subject {subject:?})"
    )]
    UntrustedKeyInfo {
        /// The subject of the certificate in KeyInfo, for the support engineer.
        subject: String,
    },

    // --- SAML profile checks -----------------------------------------------------------
    /// The root element is not the one expected.
    #[error("root element is {found}, expected {expected}")]
    UnexpectedRoot {
        /// Expected `{namespace}local`.
        expected: &'static str,
        /// Found `{namespace}local`.
        found: String,
    },
    /// The message is not SAML 2.0.
    #[error("SAML Version is {found:?}, expected \"2.0\"")]
    Version {
        /// Version attribute found.
        found: String,
    },
    /// A required element or attribute is absent or empty.
    #[error("required {0} is missing")]
    Missing(&'static str),
    /// A value is not what the schema allows.
    #[error("{what} has an invalid value {value:?}")]
    InvalidValue {
        /// The element or attribute.
        what: &'static str,
        /// The value found.
        value: String,
    },
    /// The IdP answered with a non-success status.
    #[error("SAML Status is {codes:?} (message: {message:?})")]
    Status {
        /// The top-level status code followed by nested ones.
        codes: Vec<String>,
        /// StatusMessage, if any.
        message: Option<String>,
    },
    /// Issuer differs from the configured IdP entity ID.
    #[error("{element} Issuer is {found:?}, expected {expected:?}")]
    Issuer {
        /// Response or Assertion.
        element: &'static str,
        /// Configured IdP entity ID.
        expected: String,
        /// Issuer in the message.
        found: String,
    },
    /// Destination differs from the ACS URL.
    #[error("Destination is {found:?}, expected {expected:?}")]
    Destination {
        /// Configured ACS URL.
        expected: String,
        /// Destination in the message.
        found: String,
    },
    /// A Response must carry exactly one assertion.
    #[error("Response carries {count} assertions, expected exactly one")]
    AssertionCount {
        /// Number of Assertion and EncryptedAssertion children.
        count: usize,
    },
    /// An EncryptedAssertion could not be decrypted with any SP key. Deliberately says
    /// nothing more (no padding or tag oracle).
    #[error("EncryptedAssertion could not be decrypted with the SP key(s)")]
    Decryption,
    /// No SubjectConfirmation with the bearer method.
    #[error("no bearer SubjectConfirmation in the assertion")]
    NoBearerConfirmation,
    /// Bearer SubjectConfirmationData Recipient differs from the ACS URL.
    #[error("SubjectConfirmationData Recipient is {found:?}, expected {expected:?}")]
    Recipient {
        /// Configured ACS URL.
        expected: String,
        /// Recipient in the message (empty when absent).
        found: String,
    },
    /// A validity window has ended.
    #[error("{what} {not_on_or_after} has passed (now {now}, clock skew {skew_seconds}s)")]
    Expired {
        /// Which NotOnOrAfter.
        what: &'static str,
        /// The instant in the message (RFC 3339).
        not_on_or_after: String,
        /// The validator's clock (RFC 3339).
        now: String,
        /// Allowed clock skew.
        skew_seconds: i64,
    },
    /// A validity window has not started.
    #[error("{what} {not_before} is in the future (now {now}, clock skew {skew_seconds}s)")]
    NotYetValid {
        /// Which NotBefore.
        what: &'static str,
        /// The instant in the message (RFC 3339).
        not_before: String,
        /// The validator's clock (RFC 3339).
        now: String,
        /// Allowed clock skew.
        skew_seconds: i64,
    },
    /// AudienceRestriction does not name the SP.
    #[error("AudienceRestriction {found:?} does not contain {expected:?}")]
    Audience {
        /// SP entity ID.
        expected: String,
        /// Audiences of the failing restriction.
        found: Vec<String>,
    },
    /// A Conditions child that is not understood, or a repeated OneTimeUse.
    #[error("Conditions: {0}")]
    Conditions(String),
    /// InResponseTo in the Response and in SubjectConfirmationData disagree or are missing.
    #[error("{element} InResponseTo is {found:?}, expected {expected:?}")]
    InResponseTo {
        /// Response or SubjectConfirmationData.
        element: &'static str,
        /// What the check expected.
        expected: Option<String>,
        /// What the message says.
        found: Option<String>,
    },
    /// InResponseTo names no pending request (unknown, expired or already used).
    #[error(
        "InResponseTo {0:?} matches no pending AuthnRequest (unknown, expired or already used)"
    )]
    UnknownRequest(String),
    /// A response without InResponseTo while IdP-initiated login is off.
    #[error("IdP-initiated (unsolicited) Response refused: the connection does not allow it")]
    UnsolicitedNotAllowed,
    /// The assertion (or IdP LogoutRequest) ID was seen before.
    #[error("message ID {0:?} was already used (replay)")]
    Replay(String),
    /// The AuthnStatement's session has ended.
    #[error("AuthnStatement is missing")]
    NoAuthnStatement,

    // --- stores, keys and metadata -----------------------------------------------------
    /// A request store or replay cache failed.
    #[error("store error: {0}")]
    Store(String),
    /// A certificate or key could not be read.
    #[error("certificate or key: {0}")]
    Certificate(String),
    /// An OpenSSL operation failed outside signature checking.
    #[error("crypto: {0}")]
    Crypto(String),
    /// Metadata is not usable.
    #[error("metadata: {0}")]
    Metadata(String),
    /// A binding URL is not http(s).
    #[error("metadata {element} Location {url:?} is not an http(s) URL")]
    BindingUrl {
        /// The endpoint element.
        element: String,
        /// The Location found.
        url: String,
    },
}

impl SamlError {
    /// A short stable name of the failed check, such as `signature.digest` or
    /// `profile.audience`.
    #[must_use]
    pub fn check(&self) -> &'static str {
        match self {
            Self::XmlTooLarge { .. } => "xml.size",
            Self::XmlTooDeep { .. } => "xml.depth",
            Self::TooManyAttributes { .. } => "xml.attributes",
            Self::TooManyNodes { .. } => "xml.nodes",
            Self::DtdForbidden => "xml.dtd",
            Self::ProcessingInstructionForbidden => "xml.processing_instruction",
            Self::EntityForbidden(_) => "xml.entity",
            Self::UnsupportedEncoding(_) => "xml.encoding",
            Self::MalformedXml(_) => "xml.well_formed",
            Self::UnboundPrefix(_) => "xml.namespace",
            Self::DuplicateAttribute(_) => "xml.duplicate_attribute",
            Self::Base64(_) => "encoding.base64",
            Self::Inflate(_) => "encoding.deflate",
            Self::InflatedTooLarge { .. } => "encoding.deflate_size",
            Self::RelayStateTooLong { .. } => "binding.relay_state",
            Self::RedirectParameters(_) => "binding.parameters",
            Self::NoTrustedCertificate => "signature.no_certificate",
            Self::DuplicateId(_) => "signature.duplicate_id",
            Self::SignatureMissing { .. } => "signature.missing",
            Self::MultipleSignatures { .. } => "signature.multiple",
            Self::SignedInfoCount { .. } => "signature.signed_info",
            Self::ReferenceCount { .. } => "signature.reference_count",
            Self::ReferenceMismatch { .. } => "signature.reference",
            Self::CanonicalTooLarge { .. } => "c14n.too_large",
            Self::TooManyInclusivePrefixes { .. } => "signature.prefix_list",
            Self::SignatureStructure(_) => "signature.structure",
            Self::AlgorithmNotAllowed { .. } => "signature.algorithm",
            Self::Sha1NotAllowed { .. } => "signature.sha1",
            Self::DigestMismatch { .. } => "signature.digest",
            Self::SignatureInvalid { .. } => "signature.value",
            Self::UntrustedKeyInfo { .. } => "signature.key_info",
            Self::UnexpectedRoot { .. } => "profile.root",
            Self::Version { .. } => "profile.version",
            Self::Missing(_) => "profile.missing",
            Self::InvalidValue { .. } => "profile.invalid_value",
            Self::Status { .. } => "profile.status",
            Self::Issuer { .. } => "profile.issuer",
            Self::Destination { .. } => "profile.destination",
            Self::AssertionCount { .. } => "profile.assertion_count",
            Self::Decryption => "encryption.decrypt",
            Self::TooManyEncryptedKeys { .. } => "encryption.key_count",
            Self::NoBearerConfirmation => "profile.bearer",
            Self::Recipient { .. } => "profile.recipient",
            Self::Expired { .. } => "profile.expired",
            Self::NotYetValid { .. } => "profile.not_yet_valid",
            Self::Audience { .. } => "profile.audience",
            Self::Conditions(_) => "profile.conditions",
            Self::InResponseTo { .. } => "profile.in_response_to",
            Self::UnknownRequest(_) => "profile.unknown_request",
            Self::UnsolicitedNotAllowed => "profile.unsolicited",
            Self::Replay(_) => "profile.replay",
            Self::NoAuthnStatement => "profile.authn_statement",
            Self::Store(_) => "store",
            Self::Certificate(_) => "config.certificate",
            Self::Crypto(_) => "crypto",
            Self::Metadata(_) => "metadata",
            Self::BindingUrl { .. } => "metadata.binding_url",
        }
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = SamlError> = std::result::Result<T, E>;
