//! XML Encryption for `saml:EncryptedAssertion`: RSA-OAEP key transport (SHA-1 or SHA-256
//! digest and MGF1) and AES-CBC or AES-GCM content encryption, with the SP's keys (several
//! for rollover). RSA PKCS#1 v1.5 key transport is refused unless explicitly enabled.
//!
//! Every failure after the algorithms are known (wrong key, bad padding, bad tag, a
//! plaintext that is not an assertion) is the one [`SamlError::Decryption`], so the error
//! reveals nothing an attacker could use as a padding oracle.

use openssl::encrypt::Decrypter;
use openssl::hash::MessageDigest;
use openssl::rsa::Padding;
use openssl::symm::{Cipher, Crypter, Mode};

use crate::dsig::{DSIG_NS, SigningKey, decode_base64};
use crate::error::{Result, SamlError};
use crate::xml::XML_WHITESPACE;
use crate::xml::{Document, NodeId, XmlLimits};

/// The XML Encryption 1.0 namespace.
pub const XENC_NS: &str = "http://www.w3.org/2001/04/xmlenc#";
/// The XML Encryption 1.1 namespace.
pub const XENC11_NS: &str = "http://www.w3.org/2009/xmlenc11#";

/// Most EncryptedKey elements tried for one EncryptedAssertion (one per SP key rollover
/// step is plenty).
pub const MAX_ENCRYPTED_KEYS: usize = 4;

const RSA_OAEP_MGF1P: &str = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p";
const RSA_OAEP: &str = "http://www.w3.org/2009/xmlenc11#rsa-oaep";
const RSA_1_5: &str = "http://www.w3.org/2001/04/xmlenc#rsa-1_5";

/// Decrypts the EncryptedData of `encrypted_assertion` (an `EncryptedAssertion` element of
/// `doc`) and returns the decrypted document, parsed with the in-scope namespace
/// declarations of the EncryptedAssertion as its context, and the Assertion element in it.
///
/// # Errors
/// [`SamlError::AlgorithmNotAllowed`] for algorithms outside the list (RSA PKCS#1 v1.5
/// unless `allow_rsa1_5`), [`SamlError::SignatureStructure`]-like
/// [`SamlError::Missing`] for absent parts, and [`SamlError::Decryption`] for everything
/// that depends on the key or the ciphertext.
pub(crate) fn decrypt_assertion(
    doc: &Document,
    encrypted_assertion: NodeId,
    keys: &[SigningKey],
    allow_rsa1_5: bool,
    limits: &XmlLimits,
) -> Result<(Document, NodeId)> {
    if keys.is_empty() {
        return Err(SamlError::Missing(
            "SP decryption key for EncryptedAssertion",
        ));
    }
    let data = doc
        .first_child_named(encrypted_assertion, XENC_NS, "EncryptedData")
        .ok_or(SamlError::Missing("EncryptedAssertion EncryptedData"))?;
    let content_method = doc
        .first_child_named(data, XENC_NS, "EncryptionMethod")
        .and_then(|m| doc.element(m).attr("Algorithm"))
        .ok_or(SamlError::Missing("EncryptedData EncryptionMethod"))?;
    let content = ContentAlgorithm::from_uri(content_method)?;

    // The EncryptedKey sits in EncryptedData's KeyInfo or next to EncryptedData.
    let encrypted_keys: Vec<NodeId> = doc
        .first_child_named(data, DSIG_NS, "KeyInfo")
        .map(|ki| {
            doc.children_named(ki, XENC_NS, "EncryptedKey")
                .collect::<Vec<_>>()
        })
        .unwrap_or_default()
        .into_iter()
        .chain(doc.children_named(encrypted_assertion, XENC_NS, "EncryptedKey"))
        .collect();
    if encrypted_keys.is_empty() {
        return Err(SamlError::Missing("EncryptedKey"));
    }
    // Each EncryptedKey costs an RSA private-key operation per SP key: bounded before any.
    if encrypted_keys.len() > MAX_ENCRYPTED_KEYS {
        return Err(SamlError::TooManyEncryptedKeys {
            count: encrypted_keys.len(),
            max: MAX_ENCRYPTED_KEYS,
        });
    }
    let ciphertext = cipher_value(doc, data)?;

    // Try every EncryptedKey with every SP key; any failure stays indistinguishable.
    let mut transports = Vec::new();
    for &ek in &encrypted_keys {
        transports.push((
            KeyTransport::from_element(doc, ek, allow_rsa1_5)?,
            cipher_value(doc, ek)?,
        ));
    }
    let mut plaintext = None;
    'keys: for (transport, wrapped) in &transports {
        for key in keys {
            if let Some(content_key) = transport.unwrap(key, wrapped)
                && content_key.len() == content.key_len()
                && let Some(p) = content.decrypt(&content_key, &ciphertext)
            {
                plaintext = Some(p);
                break 'keys;
            }
        }
    }
    let plaintext = plaintext.ok_or(SamlError::Decryption)?;

    // Parse the plaintext in the namespace context of the EncryptedAssertion.
    let mut declarations = Vec::new();
    let mut cur = Some(encrypted_assertion);
    while let Some(n) = cur {
        let e = doc.element(n);
        for (prefix, uri) in e.namespace_declarations() {
            if !declarations
                .iter()
                .any(|(p, _): &(Option<&str>, &str)| *p == prefix)
            {
                declarations.push((prefix, uri));
            }
        }
        cur = e.parent();
    }
    let mut wrapped = String::from("<gatehouse-decrypted");
    for (prefix, uri) in &declarations {
        match prefix {
            Some(p) => {
                wrapped.push_str(&format!(" xmlns:{p}=\"{}\"", crate::metadata::escape(uri)))
            }
            None => wrapped.push_str(&format!(" xmlns=\"{}\"", crate::metadata::escape(uri))),
        }
    }
    wrapped.push('>');
    let text = std::str::from_utf8(&plaintext).map_err(|_| SamlError::Decryption)?;
    // An XML declaration may lead the plaintext; it cannot appear inside the wrapper.
    let text = match text
        .trim_start_matches(XML_WHITESPACE)
        .strip_prefix("<?xml")
    {
        Some(rest) => rest.split_once("?>").map_or("", |(_, body)| body),
        None => text,
    };
    wrapped.push_str(text);
    wrapped.push_str("</gatehouse-decrypted>");

    let decrypted =
        Document::parse(wrapped.as_bytes(), limits).map_err(|_| SamlError::Decryption)?;
    let children: Vec<NodeId> = decrypted.child_elements(decrypted.root()).collect();
    let [assertion] = children.as_slice() else {
        return Err(SamlError::Decryption);
    };
    if !decrypted
        .element(*assertion)
        .is(crate::SAML_ASSERTION_NS, "Assertion")
    {
        return Err(SamlError::Decryption);
    }
    let assertion = *assertion;
    Ok((decrypted, assertion))
}

fn cipher_value(doc: &Document, parent: NodeId) -> Result<Vec<u8>> {
    let value = doc
        .first_child_named(parent, XENC_NS, "CipherData")
        .and_then(|d| doc.first_child_named(d, XENC_NS, "CipherValue"))
        .ok_or(SamlError::Missing("CipherData CipherValue"))?;
    decode_base64(&doc.text(value))
}

#[derive(Debug, Clone, Copy)]
enum ContentAlgorithm {
    AesCbc(usize),
    AesGcm(usize),
}

impl ContentAlgorithm {
    fn from_uri(uri: &str) -> Result<Self> {
        Ok(match uri {
            "http://www.w3.org/2001/04/xmlenc#aes128-cbc" => Self::AesCbc(16),
            "http://www.w3.org/2001/04/xmlenc#aes192-cbc" => Self::AesCbc(24),
            "http://www.w3.org/2001/04/xmlenc#aes256-cbc" => Self::AesCbc(32),
            "http://www.w3.org/2009/xmlenc11#aes128-gcm" => Self::AesGcm(16),
            "http://www.w3.org/2009/xmlenc11#aes256-gcm" => Self::AesGcm(32),
            other => {
                return Err(SamlError::AlgorithmNotAllowed {
                    kind: "content encryption",
                    uri: other.to_owned(),
                });
            }
        })
    }

    fn key_len(self) -> usize {
        match self {
            Self::AesCbc(n) | Self::AesGcm(n) => n,
        }
    }

    /// The plaintext, or `None` on any failure.
    fn decrypt(self, key: &[u8], data: &[u8]) -> Option<Vec<u8>> {
        match self {
            Self::AesCbc(n) => {
                let cipher = match n {
                    16 => Cipher::aes_128_cbc(),
                    24 => Cipher::aes_192_cbc(),
                    _ => Cipher::aes_256_cbc(),
                };
                if data.len() < 32 || !data.len().is_multiple_of(16) {
                    return None;
                }
                let (iv, body) = data.split_at(16);
                let mut crypter = Crypter::new(cipher, Mode::Decrypt, key, Some(iv)).ok()?;
                // XML Encryption uses ISO 10126 padding: only the last byte is meaningful.
                crypter.pad(false);
                let mut out = vec![0; body.len() + 16];
                let mut n = crypter.update(body, &mut out).ok()?;
                n += crypter.finalize(&mut out[n..]).ok()?;
                out.truncate(n);
                let pad = usize::from(*out.last()?);
                if pad == 0 || pad > 16 || pad > out.len() {
                    return None;
                }
                out.truncate(out.len() - pad);
                Some(out)
            }
            Self::AesGcm(n) => {
                let cipher = if n == 16 {
                    Cipher::aes_128_gcm()
                } else {
                    Cipher::aes_256_gcm()
                };
                if data.len() < 12 + 16 {
                    return None;
                }
                let (iv, rest) = data.split_at(12);
                let (body, tag) = rest.split_at(rest.len() - 16);
                let mut crypter = Crypter::new(cipher, Mode::Decrypt, key, Some(iv)).ok()?;
                crypter.set_tag(tag).ok()?;
                let mut out = vec![0; body.len() + 16];
                let mut n = crypter.update(body, &mut out).ok()?;
                n += crypter.finalize(&mut out[n..]).ok()?;
                out.truncate(n);
                Some(out)
            }
        }
    }
}

#[derive(Clone, Copy)]
enum KeyTransport {
    Oaep {
        digest: MessageDigest,
        mgf1: MessageDigest,
    },
    Pkcs1,
}

impl KeyTransport {
    fn from_element(doc: &Document, encrypted_key: NodeId, allow_rsa1_5: bool) -> Result<Self> {
        let method = doc
            .first_child_named(encrypted_key, XENC_NS, "EncryptionMethod")
            .ok_or(SamlError::Missing("EncryptedKey EncryptionMethod"))?;
        let uri = doc.element(method).attr("Algorithm").unwrap_or_default();
        let digest_uri = doc
            .first_child_named(method, DSIG_NS, "DigestMethod")
            .and_then(|d| doc.element(d).attr("Algorithm"));
        let digest = match digest_uri {
            None | Some("http://www.w3.org/2000/09/xmldsig#sha1") => MessageDigest::sha1(),
            Some("http://www.w3.org/2001/04/xmlenc#sha256") => MessageDigest::sha256(),
            Some(other) => {
                return Err(SamlError::AlgorithmNotAllowed {
                    kind: "key transport digest",
                    uri: other.to_owned(),
                });
            }
        };
        match uri {
            RSA_OAEP_MGF1P => Ok(Self::Oaep {
                digest,
                mgf1: MessageDigest::sha1(),
            }),
            RSA_OAEP => {
                let mgf = doc
                    .first_child_named(method, XENC11_NS, "MGF")
                    .and_then(|m| doc.element(m).attr("Algorithm"));
                let mgf1 = match mgf {
                    None | Some("http://www.w3.org/2009/xmlenc11#mgf1sha1") => {
                        MessageDigest::sha1()
                    }
                    Some("http://www.w3.org/2009/xmlenc11#mgf1sha256") => MessageDigest::sha256(),
                    Some(other) => {
                        return Err(SamlError::AlgorithmNotAllowed {
                            kind: "key transport MGF",
                            uri: other.to_owned(),
                        });
                    }
                };
                Ok(Self::Oaep { digest, mgf1 })
            }
            RSA_1_5 if allow_rsa1_5 => Ok(Self::Pkcs1),
            other => Err(SamlError::AlgorithmNotAllowed {
                kind: "key transport",
                uri: other.to_owned(),
            }),
        }
    }

    /// The content key, or `None` on any failure.
    fn unwrap(self, key: &SigningKey, wrapped: &[u8]) -> Option<Vec<u8>> {
        let mut decrypter = Decrypter::new(key.private_key()).ok()?;
        match self {
            Self::Oaep { digest, mgf1 } => {
                decrypter.set_rsa_padding(Padding::PKCS1_OAEP).ok()?;
                decrypter.set_rsa_oaep_md(digest).ok()?;
                decrypter.set_rsa_mgf1_md(mgf1).ok()?;
            }
            Self::Pkcs1 => decrypter.set_rsa_padding(Padding::PKCS1).ok()?,
        }
        let len = decrypter.decrypt_len(wrapped).ok()?;
        let mut out = vec![0; len];
        let n = decrypter.decrypt(wrapped, &mut out).ok()?;
        out.truncate(n);
        Some(out)
    }
}
