//! XML Signature: verification of an enveloped signature on one element, and signing.
//!
//! Only the shape SAML uses is accepted: a `ds:Signature` child of the signed element, one
//! `ds:SignedInfo`, one `ds:Reference` whose URI is `#` and the ID of that same element, the
//! enveloped-signature transform followed by exclusive c14n, and algorithms from the
//! allow-list. Keys come only from the configured certificates; `ds:KeyInfo` may select one
//! of them, never add one. Canonicalization is ours ([`crate::c14n`]); digests and signature
//! primitives are OpenSSL's.

use std::collections::HashMap;
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use openssl::bn::BigNum;
use openssl::ecdsa::EcdsaSig;
use openssl::hash::MessageDigest;
use openssl::pkey::{Id, PKey, Private, Public};
use openssl::rsa::Padding;
use openssl::sign::{RsaPssSaltlen, Signer, Verifier};
use openssl::x509::X509;

use crate::c14n::{C14nOptions, canonicalize, parse_prefix_list};
use crate::error::{Result, SamlError};
use crate::xml::{Document, NodeId};

/// The XML Signature namespace.
pub const DSIG_NS: &str = "http://www.w3.org/2000/09/xmldsig#";
/// Exclusive c14n without comments.
pub const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
/// Exclusive c14n with comments.
pub const EXC_C14N_WITH_COMMENTS: &str = "http://www.w3.org/2001/10/xml-exc-c14n#WithComments";
/// The enveloped-signature transform.
pub const ENVELOPED_SIGNATURE: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";

/// Signature algorithms of the allow-list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignatureAlgorithm {
    /// RSA PKCS#1 v1.5 with SHA-1 (only with `allow_sha1_insecure`).
    RsaSha1,
    /// RSA PKCS#1 v1.5 with SHA-256.
    RsaSha256,
    /// RSA PKCS#1 v1.5 with SHA-384.
    RsaSha384,
    /// RSA PKCS#1 v1.5 with SHA-512.
    RsaSha512,
    /// RSASSA-PSS with SHA-256 and MGF1-SHA-256 (RFC 6931).
    RsaPssSha256,
    /// RSASSA-PSS with SHA-384 and MGF1-SHA-384.
    RsaPssSha384,
    /// RSASSA-PSS with SHA-512 and MGF1-SHA-512.
    RsaPssSha512,
    /// ECDSA with SHA-256.
    EcdsaSha256,
    /// ECDSA with SHA-384.
    EcdsaSha384,
    /// ECDSA with SHA-512.
    EcdsaSha512,
}

const ALGORITHMS: [(SignatureAlgorithm, &str); 10] = [
    (
        SignatureAlgorithm::RsaSha1,
        "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
    ),
    (
        SignatureAlgorithm::RsaSha256,
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
    ),
    (
        SignatureAlgorithm::RsaSha384,
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384",
    ),
    (
        SignatureAlgorithm::RsaSha512,
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
    ),
    (
        SignatureAlgorithm::RsaPssSha256,
        "http://www.w3.org/2007/05/xmldsig-more#sha256-rsa-MGF1",
    ),
    (
        SignatureAlgorithm::RsaPssSha384,
        "http://www.w3.org/2007/05/xmldsig-more#sha384-rsa-MGF1",
    ),
    (
        SignatureAlgorithm::RsaPssSha512,
        "http://www.w3.org/2007/05/xmldsig-more#sha512-rsa-MGF1",
    ),
    (
        SignatureAlgorithm::EcdsaSha256,
        "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
    ),
    (
        SignatureAlgorithm::EcdsaSha384,
        "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384",
    ),
    (
        SignatureAlgorithm::EcdsaSha512,
        "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512",
    ),
];

/// URIs of SHA-1 based algorithms we recognise only to refuse them by name.
const SHA1_SIGNATURE_URIS: [&str; 2] = [
    "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha1",
];

impl SignatureAlgorithm {
    /// The algorithm URI.
    #[must_use]
    pub fn uri(self) -> &'static str {
        ALGORITHMS
            .iter()
            .find(|(a, _)| *a == self)
            .map_or("", |(_, u)| u)
    }

    /// The algorithm named by `uri`, if it is on the list.
    #[must_use]
    pub fn from_uri(uri: &str) -> Option<Self> {
        ALGORITHMS.iter().find(|(_, u)| *u == uri).map(|(a, _)| *a)
    }

    fn digest(self) -> MessageDigest {
        match self {
            Self::RsaSha1 => MessageDigest::sha1(),
            Self::RsaSha256 | Self::RsaPssSha256 | Self::EcdsaSha256 => MessageDigest::sha256(),
            Self::RsaSha384 | Self::RsaPssSha384 | Self::EcdsaSha384 => MessageDigest::sha384(),
            Self::RsaSha512 | Self::RsaPssSha512 | Self::EcdsaSha512 => MessageDigest::sha512(),
        }
    }

    fn is_ecdsa(self) -> bool {
        matches!(
            self,
            Self::EcdsaSha256 | Self::EcdsaSha384 | Self::EcdsaSha512
        )
    }

    /// The digest of an RSA PKCS #1 v1.5 algorithm (`None` for PSS and ECDSA).
    fn pkcs1_digest(self) -> Option<DigestAlgorithm> {
        match self {
            Self::RsaSha1 => Some(DigestAlgorithm::Sha1),
            Self::RsaSha256 => Some(DigestAlgorithm::Sha256),
            Self::RsaSha384 => Some(DigestAlgorithm::Sha384),
            Self::RsaSha512 => Some(DigestAlgorithm::Sha512),
            _ => None,
        }
    }

    fn is_pss(self) -> bool {
        matches!(
            self,
            Self::RsaPssSha256 | Self::RsaPssSha384 | Self::RsaPssSha512
        )
    }
}

/// Digest algorithms of the allow-list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DigestAlgorithm {
    /// SHA-1 (only with `allow_sha1_insecure`).
    Sha1,
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

const DIGESTS: [(DigestAlgorithm, &str); 4] = [
    (
        DigestAlgorithm::Sha1,
        "http://www.w3.org/2000/09/xmldsig#sha1",
    ),
    (
        DigestAlgorithm::Sha256,
        "http://www.w3.org/2001/04/xmlenc#sha256",
    ),
    (
        DigestAlgorithm::Sha384,
        "http://www.w3.org/2001/04/xmldsig-more#sha384",
    ),
    (
        DigestAlgorithm::Sha512,
        "http://www.w3.org/2001/04/xmlenc#sha512",
    ),
];

impl DigestAlgorithm {
    /// The algorithm URI.
    #[must_use]
    pub fn uri(self) -> &'static str {
        DIGESTS
            .iter()
            .find(|(a, _)| *a == self)
            .map_or("", |(_, u)| u)
    }

    /// The algorithm named by `uri`, if it is on the list.
    #[must_use]
    pub fn from_uri(uri: &str) -> Option<Self> {
        DIGESTS.iter().find(|(_, u)| *u == uri).map(|(a, _)| *a)
    }

    /// The digest of `data`, computed with OpenSSL's SHA functions on a stack context (no
    /// EVP context or algorithm fetch per call).
    fn digest(self, data: &[u8]) -> Digest {
        let mut out = Digest {
            bytes: [0; 64],
            len: 0,
        };
        let mut put = |d: &[u8]| {
            out.bytes[..d.len()].copy_from_slice(d);
            out.len = d.len();
        };
        // The hasher objects rather than the one-shot functions, which fetch the algorithm
        // on every call in OpenSSL 3.
        match self {
            Self::Sha1 => {
                let mut h = openssl::sha::Sha1::new();
                h.update(data);
                put(&h.finish());
            }
            Self::Sha256 => {
                let mut h = openssl::sha::Sha256::new();
                h.update(data);
                put(&h.finish());
            }
            Self::Sha384 => {
                let mut h = openssl::sha::Sha384::new();
                h.update(data);
                put(&h.finish());
            }
            Self::Sha512 => {
                let mut h = openssl::sha::Sha512::new();
                h.update(data);
                put(&h.finish());
            }
        }
        out
    }
}

/// A digest of at most 64 bytes, on the stack.
struct Digest {
    bytes: [u8; 64],
    len: usize,
}

impl Digest {
    fn as_slice(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// What signature verification allows beyond the defaults.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VerifyOptions {
    /// Accept RSA-SHA1 signatures and SHA-1 digests. Off by default: SHA-1 is broken for
    /// collision resistance, and an IdP that still uses it should be reconfigured.
    pub allow_sha1_insecure: bool,
}

/// A signature that verified: which algorithms and which configured certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedSignature {
    /// The signature algorithm.
    pub signature_algorithm: SignatureAlgorithm,
    /// The Reference's digest algorithm.
    pub digest_algorithm: DigestAlgorithm,
    /// Index of the configured certificate whose key verified it.
    pub certificate_index: usize,
}

/// A map from ID attribute values to elements, built once per document; duplicate IDs
/// are refused so a Reference can never be ambiguous.
#[derive(Debug, Clone)]
pub struct IdMap(HashMap<String, NodeId>);

impl IdMap {
    /// Indexes the unqualified `ID` attributes of every element (the SAML 2.0 ID type).
    ///
    /// # Errors
    /// [`SamlError::DuplicateId`] when two elements share an ID.
    pub fn build(doc: &Document) -> Result<Self> {
        let mut map = HashMap::new();
        for (id, element) in doc.elements() {
            if let Some(value) = element.attr("ID")
                && map.insert(value.to_owned(), id).is_some()
            {
                return Err(SamlError::DuplicateId(value.to_owned()));
            }
        }
        Ok(Self(map))
    }

    /// The element with this ID.
    #[must_use]
    pub fn get(&self, id: &str) -> Option<NodeId> {
        self.0.get(id).copied()
    }
}

/// Verifies the enveloped signature of `signed` (named `element` in errors).
///
/// Returns `Ok(None)` when `signed` has no `ds:Signature` child, the verified signature
/// when it has one that checks out, and an error naming the failed check otherwise.
///
/// # Errors
/// [`SamlError::NoTrustedCertificate`] with an empty `certificates`, and every signature
/// check's variant.
pub fn verify_enveloped(
    doc: &Document,
    ids: &IdMap,
    signed: NodeId,
    element: &'static str,
    certificates: &[X509],
    options: VerifyOptions,
) -> Result<Option<VerifiedSignature>> {
    let signature = match only_child(doc, signed, "Signature") {
        Ok(one) => one,
        Err(0) => return Ok(None),
        Err(count) => return Err(SamlError::MultipleSignatures { element, count }),
    };
    if certificates.is_empty() {
        return Err(SamlError::NoTrustedCertificate);
    }

    let signed_info = only_child(doc, signature, "SignedInfo")
        .map_err(|count| SamlError::SignedInfoCount { count })?;

    // SignedInfo's own canonicalization.
    let c14n_method = exactly_one(doc, signed_info, "CanonicalizationMethod")?;
    let (si_comments, si_prefixes) = c14n_algorithm(doc, c14n_method, "canonicalization")?;

    let signature_method = exactly_one(doc, signed_info, "SignatureMethod")?;
    let signature_uri = algorithm_attr(doc, signature_method)?;
    let signature_algorithm = match SignatureAlgorithm::from_uri(signature_uri) {
        Some(SignatureAlgorithm::RsaSha1) if !options.allow_sha1_insecure => {
            return Err(SamlError::Sha1NotAllowed {
                kind: "signature",
                uri: signature_uri.to_owned(),
            });
        }
        Some(a) => a,
        None if SHA1_SIGNATURE_URIS.contains(&signature_uri) => {
            return Err(SamlError::Sha1NotAllowed {
                kind: "signature",
                uri: signature_uri.to_owned(),
            });
        }
        None => {
            return Err(SamlError::AlgorithmNotAllowed {
                kind: "signature",
                uri: signature_uri.to_owned(),
            });
        }
    };

    // The one Reference, to the element the signature is enveloped in.
    let reference = only_child(doc, signed_info, "Reference")
        .map_err(|count| SamlError::ReferenceCount { count })?;
    let signed_id = doc.element(signed).attr("ID").unwrap_or_default();
    let uri = doc.element(reference).attr("URI").unwrap_or_default();
    if signed_id.is_empty()
        || uri.strip_prefix('#') != Some(signed_id)
        || ids.get(signed_id) != Some(signed)
    {
        return Err(SamlError::ReferenceMismatch {
            expected: format!("#{signed_id}"),
            found: uri.to_owned(),
        });
    }

    let prefixes = reference_transforms(doc, reference)?;

    let digest_method = exactly_one(doc, reference, "DigestMethod")?;
    let digest_uri = algorithm_attr(doc, digest_method)?;
    let digest_algorithm = match DigestAlgorithm::from_uri(digest_uri) {
        Some(DigestAlgorithm::Sha1) if !options.allow_sha1_insecure => {
            return Err(SamlError::Sha1NotAllowed {
                kind: "digest",
                uri: digest_uri.to_owned(),
            });
        }
        Some(d) => d,
        None => {
            return Err(SamlError::AlgorithmNotAllowed {
                kind: "digest",
                uri: digest_uri.to_owned(),
            });
        }
    };
    let digest_value = exactly_one(doc, reference, "DigestValue")?;
    let expected_digest = decode_base64(&doc.text(digest_value))?;

    // A bare-name `#id` Reference selects the subtree without comments, whichever exclusive
    // c14n variant the transform names.
    let referenced = canonicalize(
        doc,
        signed,
        &C14nOptions {
            with_comments: false,
            inclusive_prefixes: &prefixes,
            exclude: Some(signature),
        },
    )?;
    let actual_digest = digest_algorithm.digest(&referenced);
    let actual_digest = actual_digest.as_slice();
    if actual_digest.len() != expected_digest.len()
        || !openssl::memcmp::eq(actual_digest, &expected_digest)
    {
        return Err(SamlError::DigestMismatch {
            uri: uri.to_owned(),
        });
    }

    // The signature over the canonical SignedInfo, with a configured key.
    let signature_value = exactly_one(doc, signature, "SignatureValue")?;
    let signature_bytes = decode_base64(&doc.text(signature_value))?;
    let canonical_signed_info = canonicalize(
        doc,
        signed_info,
        &C14nOptions {
            with_comments: si_comments,
            inclusive_prefixes: &si_prefixes,
            exclude: None,
        },
    )?;
    let candidates = select_certificates(doc, signature, certificates)?;
    for &index in &candidates {
        let key = certificates[index]
            .public_key()
            .map_err(|e| SamlError::Certificate(e.to_string()))?;
        if verify_bytes(
            &key,
            signature_algorithm,
            &canonical_signed_info,
            &signature_bytes,
        ) {
            return Ok(Some(VerifiedSignature {
                signature_algorithm,
                digest_algorithm,
                certificate_index: index,
            }));
        }
    }
    Err(SamlError::SignatureInvalid {
        tried: candidates.len(),
    })
}

/// A private signing key; its `Debug` never shows the key.
pub struct SigningKey {
    key: PKey<Private>,
    certificate: Option<X509>,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("key", &"<redacted>")
            .field("has_certificate", &self.certificate.is_some())
            .finish()
    }
}

impl SigningKey {
    /// A key and, optionally, the certificate to put into `ds:KeyInfo`.
    #[must_use]
    pub fn new(key: PKey<Private>, certificate: Option<X509>) -> Self {
        Self { key, certificate }
    }

    /// Reads a PEM private key and, optionally, a PEM certificate.
    ///
    /// # Errors
    /// [`SamlError::Certificate`] when either does not parse.
    pub fn from_pem(key_pem: &[u8], certificate_pem: Option<&[u8]>) -> Result<Self> {
        let key = PKey::private_key_from_pem(key_pem)
            .map_err(|e| SamlError::Certificate(format!("private key: {e}")))?;
        let certificate = certificate_pem
            .map(X509::from_pem)
            .transpose()
            .map_err(|e| SamlError::Certificate(format!("certificate: {e}")))?;
        Ok(Self { key, certificate })
    }

    /// The private key.
    #[must_use]
    pub fn private_key(&self) -> &PKey<Private> {
        &self.key
    }

    /// The certificate, if any.
    #[must_use]
    pub fn certificate(&self) -> Option<&X509> {
        self.certificate.as_ref()
    }

    /// Signs `data` with `algorithm` in XML Signature form (raw `r || s` for ECDSA).
    ///
    /// # Errors
    /// [`SamlError::Crypto`] when OpenSSL refuses (for example a key of the wrong type).
    pub fn sign_bytes(&self, algorithm: SignatureAlgorithm, data: &[u8]) -> Result<Vec<u8>> {
        let crypto = |e: openssl::error::ErrorStack| SamlError::Crypto(e.to_string());
        let mut signer = Signer::new(algorithm.digest(), &self.key).map_err(crypto)?;
        if algorithm.is_pss() {
            signer.set_rsa_padding(Padding::PKCS1_PSS).map_err(crypto)?;
            signer.set_rsa_mgf1_md(algorithm.digest()).map_err(crypto)?;
            signer
                .set_rsa_pss_saltlen(RsaPssSaltlen::DIGEST_LENGTH)
                .map_err(crypto)?;
        }
        signer.update(data).map_err(crypto)?;
        let der = signer.sign_to_vec().map_err(crypto)?;
        if !algorithm.is_ecdsa() {
            return Ok(der);
        }
        let sig = EcdsaSig::from_der(&der).map_err(crypto)?;
        let ec = self.key.ec_key().map_err(crypto)?;
        let bits = ec.group().degree();
        let width = usize::try_from(bits.div_ceil(8)).unwrap_or(0);
        let r = sig
            .r()
            .to_vec_padded(i32::try_from(width).unwrap_or(0))
            .map_err(crypto)?;
        let s = sig
            .s()
            .to_vec_padded(i32::try_from(width).unwrap_or(0))
            .map_err(crypto)?;
        Ok([r, s].concat())
    }
}

/// Signs the element whose `ID` is `id` in `xml` with an enveloped signature (exclusive
/// c14n, the given algorithms) and returns the signed document. The `ds:Signature` goes
/// right after the element's `saml:Issuer` child, or first when it has none, as the SAML
/// schemas require.
///
/// # Errors
/// A parse error of `xml`, [`SamlError::Missing`] when no element has that ID, and
/// [`SamlError::Crypto`] when signing fails.
pub fn sign_enveloped(
    xml: &str,
    id: &str,
    key: &SigningKey,
    algorithm: SignatureAlgorithm,
    digest: DigestAlgorithm,
) -> Result<String> {
    let doc = Document::parse(xml.as_bytes(), &crate::xml::XmlLimits::default())?;
    let ids = IdMap::build(&doc)?;
    let target = ids
        .get(id)
        .ok_or(SamlError::Missing("element with the ID to sign"))?;

    let canonical = canonicalize(&doc, target, &C14nOptions::default())?;
    let digest_value = digest.digest(&canonical);
    let signed_info = format!(
        "<ds:SignedInfo xmlns:ds=\"{DSIG_NS}\"><ds:CanonicalizationMethod Algorithm=\"{EXC_C14N}\"></ds:CanonicalizationMethod><ds:SignatureMethod Algorithm=\"{}\"></ds:SignatureMethod><ds:Reference URI=\"#{}\"><ds:Transforms><ds:Transform Algorithm=\"{ENVELOPED_SIGNATURE}\"></ds:Transform><ds:Transform Algorithm=\"{EXC_C14N}\"></ds:Transform></ds:Transforms><ds:DigestMethod Algorithm=\"{}\"></ds:DigestMethod><ds:DigestValue>{}</ds:DigestValue></ds:Reference></ds:SignedInfo>",
        algorithm.uri(),
        escape_attribute_value(id),
        digest.uri(),
        STANDARD.encode(digest_value.as_slice()),
    );
    // `signed_info` is already canonical: exclusive c14n renders xmlns:ds on SignedInfo
    // wherever it sits, and nothing else in it needs rewriting.
    let signature_value = STANDARD.encode(key.sign_bytes(algorithm, signed_info.as_bytes())?);
    let key_info = match &key.certificate {
        Some(cert) => {
            let der = cert
                .to_der()
                .map_err(|e| SamlError::Crypto(e.to_string()))?;
            format!(
                "<ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>",
                STANDARD.encode(der)
            )
        }
        None => String::new(),
    };
    let signature = format!(
        "<ds:Signature xmlns:ds=\"{DSIG_NS}\">{}<ds:SignatureValue>{signature_value}</ds:SignatureValue>{key_info}</ds:Signature>",
        signed_info.replacen(&format!(" xmlns:ds=\"{DSIG_NS}\""), "", 1)
    );

    let issuer = doc
        .child_elements(target)
        .next()
        .filter(|c| doc.element(*c).is(crate::SAML_ASSERTION_NS, "Issuer"));
    let at = match issuer {
        Some(i) => doc.element(i).end(),
        None => {
            let e = doc.element(target);
            if e.start_tag_end() == e.end() {
                return Err(SamlError::Missing("content in the element to sign"));
            }
            e.start_tag_end()
        }
    };
    let mut out = String::with_capacity(xml.len() + signature.len());
    out.push_str(&xml[..at]);
    out.push_str(&signature);
    out.push_str(&xml[at..]);
    Ok(out)
}

/// Reads a PEM certificate.
///
/// # Errors
/// [`SamlError::Certificate`] when it does not parse.
pub fn certificate_from_pem(pem: &[u8]) -> Result<X509> {
    X509::from_pem(pem).map_err(|e| SamlError::Certificate(e.to_string()))
}

/// Reads a base64 DER certificate as found in `ds:X509Certificate` (whitespace allowed).
///
/// # Errors
/// [`SamlError::Base64`] or [`SamlError::Certificate`].
pub fn certificate_from_base64(text: &str) -> Result<X509> {
    let der = decode_base64(text)?;
    X509::from_der(&der).map_err(|e| SamlError::Certificate(e.to_string()))
}

/// Verifies `signature` (XML Signature form) over `data` with `key`; also used for the
/// Redirect binding's query signatures.
#[must_use]
pub fn verify_bytes(
    key: &PKey<Public>,
    algorithm: SignatureAlgorithm,
    data: &[u8],
    signature: &[u8],
) -> bool {
    let key_fits = if algorithm.is_ecdsa() {
        key.id() == Id::EC
    } else {
        key.id() == Id::RSA
    };
    if !key_fits {
        return false;
    }
    let der;
    let signature = if algorithm.is_ecdsa() {
        // XML Signature carries r and s as two equal-width big-endian integers.
        if signature.is_empty() || !signature.len().is_multiple_of(2) {
            return false;
        }
        let (r, s) = signature.split_at(signature.len() / 2);
        let Ok(sig) = BigNum::from_slice(r).and_then(|r| {
            BigNum::from_slice(s).and_then(|s| EcdsaSig::from_private_components(r, s))
        }) else {
            return false;
        };
        let Ok(encoded) = sig.to_der() else {
            return false;
        };
        der = encoded;
        der.as_slice()
    } else {
        signature
    };
    if let Some(digest) = algorithm.pkcs1_digest() {
        return verify_pkcs1(key, digest, data, signature);
    }
    let check = || -> std::result::Result<bool, openssl::error::ErrorStack> {
        let mut verifier = Verifier::new(algorithm.digest(), key)?;
        if algorithm.is_pss() {
            verifier.set_rsa_padding(Padding::PKCS1_PSS)?;
            verifier.set_rsa_mgf1_md(algorithm.digest())?;
            verifier.set_rsa_pss_saltlen(RsaPssSaltlen::DIGEST_LENGTH)?;
        }
        verifier.update(data)?;
        verifier.verify(signature)
    };
    check().unwrap_or(false)
}

/// The largest RSA modulus a PKCS #1 v1.5 signature is checked with, in bytes (16384
/// bits); larger keys fail verification.
const MAX_RSA_BYTES: usize = 2048;

/// RSASSA-PKCS1-v1_5 verification by re-encoding (RFC 8017 section 8.2.2): OpenSSL's RSA
/// public operation checks the block type 1 padding, and the recovered `DigestInfo` must
/// equal the expected encoding byte for byte, so nothing is parsed from the signature. The
/// one-shot RSA operation skips the per-call set-up of an EVP verification context.
fn verify_pkcs1(
    key: &PKey<Public>,
    digest: DigestAlgorithm,
    data: &[u8],
    signature: &[u8],
) -> bool {
    let Ok(rsa) = key.rsa() else {
        return false;
    };
    let size = usize::try_from(rsa.size()).unwrap_or(usize::MAX);
    if signature.len() != size {
        return false;
    }
    let mut buffer = [0u8; MAX_RSA_BYTES];
    let Some(recovered) = buffer.get_mut(..size) else {
        return false;
    };
    let Ok(len) = rsa.public_decrypt(signature, recovered, Padding::PKCS1) else {
        return false;
    };
    let expected = digest.digest(data);
    let expected = expected.as_slice();
    let prefix = digest_info_prefix(digest);
    let recovered = &recovered[..len];
    recovered.len() == prefix.len() + expected.len()
        && recovered[..prefix.len()] == *prefix
        && openssl::memcmp::eq(&recovered[prefix.len()..], expected)
}

/// The DER prefix of the PKCS #1 v1.5 `DigestInfo` for each digest (RFC 8017 section 9.2,
/// note 1).
fn digest_info_prefix(digest: DigestAlgorithm) -> &'static [u8] {
    match digest {
        DigestAlgorithm::Sha1 => &[
            0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04,
            0x14,
        ],
        DigestAlgorithm::Sha256 => &[
            0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x01, 0x05, 0x00, 0x04, 0x20,
        ],
        DigestAlgorithm::Sha384 => &[
            0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x02, 0x05, 0x00, 0x04, 0x30,
        ],
        DigestAlgorithm::Sha512 => &[
            0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x03, 0x05, 0x00, 0x04, 0x40,
        ],
    }
}

/// Base64 with the whitespace XML allows between its characters.
pub(crate) fn decode_base64(text: &str) -> Result<Vec<u8>> {
    let bytes = text.as_bytes();
    let decoded = if bytes.iter().any(u8::is_ascii_whitespace) {
        let compact: Vec<u8> = bytes
            .iter()
            .copied()
            .filter(|b| !b.is_ascii_whitespace())
            .collect();
        STANDARD.decode(compact)
    } else {
        STANDARD.decode(bytes)
    };
    decoded.map_err(|e| SamlError::Base64(e.to_string()))
}

/// The only child of `parent` named `ds:{local}`, or how many there are (without a list).
fn only_child(doc: &Document, parent: NodeId, local: &str) -> std::result::Result<NodeId, usize> {
    let mut found = doc.children_named(parent, DSIG_NS, local);
    match (found.next(), found.next()) {
        (Some(one), None) => Ok(one),
        (None, _) => Err(0),
        (Some(_), Some(_)) => Err(2 + found.count()),
    }
}

fn exactly_one(doc: &Document, parent: NodeId, local: &'static str) -> Result<NodeId> {
    only_child(doc, parent, local).map_err(|count| {
        SamlError::SignatureStructure(format!(
            "expected exactly one ds:{local} in ds:{}, found {count}",
            doc.element(parent).local(),
        ))
    })
}

fn algorithm_attr(doc: &Document, id: NodeId) -> Result<&str> {
    doc.element(id).attr("Algorithm").ok_or_else(|| {
        SamlError::SignatureStructure(format!("ds:{} has no Algorithm", doc.element(id).local()))
    })
}

/// An exclusive c14n algorithm element: (with comments, InclusiveNamespaces prefixes).
fn c14n_algorithm(
    doc: &Document,
    method: NodeId,
    kind: &'static str,
) -> Result<(bool, Vec<String>)> {
    let uri = algorithm_attr(doc, method)?;
    let with_comments = match uri {
        EXC_C14N => false,
        EXC_C14N_WITH_COMMENTS => true,
        other => {
            return Err(SamlError::AlgorithmNotAllowed {
                kind,
                uri: other.to_owned(),
            });
        }
    };
    let prefixes = match doc
        .first_child_named(method, EXC_C14N, "InclusiveNamespaces")
        .and_then(|n| doc.element(n).attr("PrefixList"))
    {
        Some(list) => parse_prefix_list(list)?,
        None => Vec::new(),
    };
    Ok((with_comments, prefixes))
}

/// Checks the Reference's transforms are exactly enveloped-signature then exclusive c14n,
/// and returns the c14n's InclusiveNamespaces prefixes.
fn reference_transforms(doc: &Document, reference: NodeId) -> Result<Vec<String>> {
    let transforms = exactly_one(doc, reference, "Transforms")?;
    let list: Vec<_> = doc
        .children_named(transforms, DSIG_NS, "Transform")
        .collect();
    if doc.child_elements(transforms).count() != list.len() {
        return Err(SamlError::SignatureStructure(
            "ds:Transforms holds elements other than ds:Transform".into(),
        ));
    }
    let mut uris = Vec::with_capacity(list.len());
    for &t in &list {
        let uri = algorithm_attr(doc, t)?;
        if uri != ENVELOPED_SIGNATURE && uri != EXC_C14N && uri != EXC_C14N_WITH_COMMENTS {
            return Err(SamlError::AlgorithmNotAllowed {
                kind: "transform",
                uri: uri.to_owned(),
            });
        }
        uris.push(uri);
    }
    match (list.as_slice(), uris.as_slice()) {
        ([_, c14n], [ENVELOPED_SIGNATURE, EXC_C14N | EXC_C14N_WITH_COMMENTS]) => {
            Ok(c14n_algorithm(doc, *c14n, "transform")?.1)
        }
        _ => Err(SamlError::SignatureStructure(format!(
            "transforms must be enveloped-signature then exclusive c14n, found {uris:?}"
        ))),
    }
}

/// The configured certificates KeyInfo selects (all of them when KeyInfo names none).
fn select_certificates(
    doc: &Document,
    signature: NodeId,
    certificates: &[X509],
) -> Result<Vec<usize>> {
    let mut offered = Vec::new();
    if let Some(key_info) = doc.first_child_named(signature, DSIG_NS, "KeyInfo") {
        for data in doc.children_named(key_info, DSIG_NS, "X509Data") {
            for cert in doc.children_named(data, DSIG_NS, "X509Certificate") {
                offered.push(decode_base64(&doc.text(cert))?);
            }
        }
    }
    if offered.is_empty() {
        return Ok((0..certificates.len()).collect());
    }

    // Configured certificates are compared by their SHA-1 fingerprint, which OpenSSL keeps
    // with a parsed certificate (re-encoding each one on every validation costs more than
    // the rest of the selection). The fingerprint only selects among configured
    // certificates: the key that verifies is always a configured one, never KeyInfo's.
    let fingerprints: Vec<_> = offered
        .iter()
        .map(|der| DigestAlgorithm::Sha1.digest(der))
        .collect();
    let mut selected = Vec::new();
    for (i, c) in certificates.iter().enumerate() {
        // Reading an extension makes OpenSSL cache the certificate's extensions and its
        // fingerprint (once per certificate), which `digest` then returns without encoding.
        let _ = c.subject_key_id();
        let Ok(fingerprint) = c.digest(MessageDigest::sha1()) else {
            continue;
        };
        let matches = fingerprints
            .iter()
            .any(|f| f.as_slice() == &fingerprint[..]);
        if matches {
            selected.push(i);
        }
    }
    if selected.is_empty() {
        let subject = X509::from_der(&offered[0])
            .map(|c| {
                c.subject_name()
                    .entries()
                    .filter_map(|e| e.data().to_string().ok())
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_else(|_| "<not a certificate>".to_owned());
        return Err(SamlError::UntrustedKeyInfo { subject });
    }
    Ok(selected)
}

fn escape_attribute_value(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('"', "&quot;")
}
