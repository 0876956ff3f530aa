//! JWS compact serialization (RFC 7515): bounded parsing, the algorithm allow-list and the
//! OpenSSL signature primitives.
//!
//! Parsing never trusts the header for key material: `jwk`, `jku`, `x5u` and `x5c` are not
//! even read. Keys come from the issuer's JWKS ([`crate::jwk`]) or, for HMAC, the client
//! secret.

use std::borrow::Cow;
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openssl::bn::BigNum;
use openssl::ecdsa::EcdsaSig;
use openssl::hash::MessageDigest;
use openssl::pkey::{Id, PKey, Private, Public};
use openssl::rsa::Padding;
use openssl::sign::{RsaPssSaltlen, Signer, Verifier};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::error::{Error, Result};

/// The default maximum length of a compact token, checked before any decoding.
pub const DEFAULT_MAX_TOKEN_LEN: usize = 64 * 1024;

/// The maximum length of the base64url protected header.
pub const MAX_HEADER_LEN: usize = 4 * 1024;

/// The smallest RSA modulus accepted, in bits.
pub const MIN_RSA_BITS: u32 = 2048;

/// The largest RSA modulus accepted, in bits (bounds the cost of a verification).
pub const MAX_RSA_BITS: u32 = 8192;

/// A JWS signature algorithm this crate implements. `none` is not one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Algorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    RS384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    RS512,
    /// RSASSA-PSS with SHA-256 and MGF1 with SHA-256.
    PS256,
    /// RSASSA-PSS with SHA-384 and MGF1 with SHA-384.
    PS384,
    /// RSASSA-PSS with SHA-512 and MGF1 with SHA-512.
    PS512,
    /// ECDSA with P-256 and SHA-256.
    ES256,
    /// ECDSA with P-384 and SHA-384.
    ES384,
    /// ECDSA with P-521 and SHA-512.
    ES512,
    /// EdDSA (Ed25519 or Ed448).
    EdDSA,
    /// HMAC with SHA-256, keyed with the client secret.
    HS256,
    /// HMAC with SHA-384, keyed with the client secret.
    HS384,
    /// HMAC with SHA-512, keyed with the client secret.
    HS512,
}

/// The asymmetric algorithms, the default allow-list of a connection.
pub const ASYMMETRIC_ALGORITHMS: &[Algorithm] = &[
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::ES512,
    Algorithm::EdDSA,
];

impl Algorithm {
    /// Parses a JOSE `alg` name; `none` and unknown names are errors.
    pub fn from_name(name: &str) -> Result<Self> {
        Ok(match name {
            "RS256" => Self::RS256,
            "RS384" => Self::RS384,
            "RS512" => Self::RS512,
            "PS256" => Self::PS256,
            "PS384" => Self::PS384,
            "PS512" => Self::PS512,
            "ES256" => Self::ES256,
            "ES384" => Self::ES384,
            "ES512" => Self::ES512,
            "EdDSA" => Self::EdDSA,
            "HS256" => Self::HS256,
            "HS384" => Self::HS384,
            "HS512" => Self::HS512,
            n if n.eq_ignore_ascii_case("none") => return Err(Error::AlgNone),
            other => {
                return Err(Error::UnsupportedAlg {
                    alg: crate::error::sanitize(other, 32),
                });
            }
        })
    }

    /// The JOSE name.
    pub fn name(self) -> &'static str {
        match self {
            Self::RS256 => "RS256",
            Self::RS384 => "RS384",
            Self::RS512 => "RS512",
            Self::PS256 => "PS256",
            Self::PS384 => "PS384",
            Self::PS512 => "PS512",
            Self::ES256 => "ES256",
            Self::ES384 => "ES384",
            Self::ES512 => "ES512",
            Self::EdDSA => "EdDSA",
            Self::HS256 => "HS256",
            Self::HS384 => "HS384",
            Self::HS512 => "HS512",
        }
    }

    /// Whether this is an HMAC algorithm (keyed with the client secret).
    pub fn is_hmac(self) -> bool {
        matches!(self, Self::HS256 | Self::HS384 | Self::HS512)
    }

    /// The shortest HMAC key RFC 7518 section 3.2 allows for an HS algorithm: the size of the
    /// hash output (32, 48 or 64 bytes); `None` for other algorithms.
    pub fn hmac_min_key_len(self) -> Option<usize> {
        match self {
            Self::HS256 => Some(32),
            Self::HS384 => Some(48),
            Self::HS512 => Some(64),
            _ => None,
        }
    }

    /// The JWK `kty` a key for this algorithm has.
    pub fn key_type(self) -> &'static str {
        match self {
            Self::RS256 | Self::RS384 | Self::RS512 | Self::PS256 | Self::PS384 | Self::PS512 => {
                "RSA"
            }
            Self::ES256 | Self::ES384 | Self::ES512 => "EC",
            Self::EdDSA => "OKP",
            Self::HS256 | Self::HS384 | Self::HS512 => "oct",
        }
    }

    /// The digest of the signature of the RS, PS, ES and HS algorithms, and of `at_hash` /
    /// `c_hash`; SHA-512 for EdDSA, which is right for Ed25519 only (EdDSA signatures are
    /// one-shot PureEdDSA with no digest here; an Ed448 key's token hashes use SHAKE256, see
    /// [`left_half_hash_for_key`]).
    pub(crate) fn digest(self) -> MessageDigest {
        match self {
            Self::RS256 | Self::PS256 | Self::ES256 | Self::HS256 => MessageDigest::sha256(),
            Self::RS384 | Self::PS384 | Self::ES384 | Self::HS384 => MessageDigest::sha384(),
            Self::RS512 | Self::PS512 | Self::ES512 | Self::HS512 | Self::EdDSA => {
                MessageDigest::sha512()
            }
        }
    }

    /// The byte length of one ECDSA coordinate for the ES algorithms.
    fn ec_coordinate_len(self) -> Option<usize> {
        match self {
            Self::ES256 => Some(32),
            Self::ES384 => Some(48),
            Self::ES512 => Some(66),
            _ => None,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The protected header fields this crate reads. Key-carrying fields are deliberately absent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// `alg`.
    pub alg: Algorithm,
    /// `kid`, if present.
    pub kid: Option<String>,
    /// `typ`, if present.
    pub typ: Option<String>,
}

/// The header members read, borrowed; any other member (`jwk`, `jku`, `x5u`, `x5c`...) is
/// skipped without being decoded.
#[derive(Default)]
struct RawHeader<'a> {
    alg: Option<&'a RawValue>,
    kid: Option<&'a RawValue>,
    typ: Option<&'a RawValue>,
    crit: Option<&'a RawValue>,
}

impl<'a> RawHeader<'a> {
    /// Parses the header: a JSON object (an array or any other value is an error) with no
    /// member name twice.
    fn parse(bytes: &'a [u8]) -> Result<Self> {
        let json_error = |reason: String| Error::Json {
            segment: "header",
            reason,
        };
        let mut header = Self::default();
        for (name, value) in crate::json::object_members(bytes).map_err(json_error)? {
            let slot = match name.as_ref() {
                "alg" => &mut header.alg,
                "kid" => &mut header.kid,
                "typ" => &mut header.typ,
                "crit" => &mut header.crit,
                _ => continue,
            };
            // `object_members` has rejected duplicate names.
            *slot = Some(value);
        }
        Ok(header)
    }
}

/// A compact JWS split and decoded, its signature not yet checked.
pub struct CompactJws<'a> {
    /// The decoded protected header.
    pub header: Header,
    /// The decoded payload: JSON text, not yet parsed.
    pub payload: String,
    signing_input: &'a str,
    signature: SmallBytes<512>,
}

/// A decoded segment: on the stack when the base64 fits `N` bytes (the header of a real
/// token, and a signature of up to RSA-4096), else on the heap.
enum SmallBytes<const N: usize> {
    Inline([u8; N], usize),
    Heap(Vec<u8>),
}

impl<const N: usize> SmallBytes<N> {
    fn decode(segment: &str, name: &'static str) -> Result<Self> {
        // The estimate may exceed the exact length by up to 2 bytes; it only decides where
        // the bytes go.
        if base64::decoded_len_estimate(segment.len()) <= N {
            let mut bytes = [0u8; N];
            let len = URL_SAFE_NO_PAD
                .decode_slice(segment, &mut bytes)
                .map_err(|_| Error::Base64 { segment: name })?;
            Ok(Self::Inline(bytes, len))
        } else {
            Ok(Self::Heap(b64(segment, name)?))
        }
    }

    fn as_slice(&self) -> &[u8] {
        match self {
            Self::Inline(bytes, len) => bytes.get(..*len).unwrap_or_default(),
            Self::Heap(bytes) => bytes,
        }
    }
}

impl fmt::Debug for CompactJws<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompactJws")
            .field("header", &self.header)
            .finish_non_exhaustive()
    }
}

impl<'a> CompactJws<'a> {
    /// Splits and decodes a compact JWS with a JSON object payload. The length is checked
    /// against `max_len` before anything is decoded.
    pub fn parse(token: &'a str, max_len: usize) -> Result<Self> {
        let token = token.trim();
        if token.len() > max_len {
            return Err(Error::TokenTooLarge {
                size: token.len(),
                max: max_len,
            });
        }
        // One scan for the two dots; the count is taken only for the error.
        let split = token.split_once('.').and_then(|(h, rest)| {
            let (p, s) = rest.split_once('.')?;
            (!s.contains('.')).then_some((h, p, s))
        });
        let Some((h, p, s)) = split else {
            return Err(Error::SegmentCount {
                segments: token.split('.').count(),
            });
        };
        if h.len() > MAX_HEADER_LEN {
            return Err(Error::HeaderTooLarge {
                size: h.len(),
                max: MAX_HEADER_LEN,
            });
        }

        let header = parse_header(SmallBytes::<256>::decode(h, "header")?.as_slice())?;
        let payload = String::from_utf8(b64(p, "payload")?).map_err(|_| Error::Json {
            segment: "payload",
            reason: "not UTF-8".into(),
        })?;
        let signature = SmallBytes::decode(s, "signature")?;
        let signing_input = &token[..h.len() + 1 + p.len()];
        Ok(Self {
            header,
            payload,
            signing_input,
            signature,
        })
    }

    /// Verifies the signature with one public key.
    pub fn verify_with(&self, key: &PKey<Public>) -> Result<bool> {
        verify_signature(
            self.header.alg,
            key,
            self.signing_input.as_bytes(),
            self.signature.as_slice(),
        )
    }

    /// Verifies an HMAC signature with the client secret. A secret shorter than the hash
    /// output (RFC 7518 section 3.2), or empty, is [`Error::HmacKeyTooShort`].
    pub fn verify_hmac(&self, secret: &[u8]) -> Result<bool> {
        check_hmac_key(self.header.alg, secret.len())?;
        let expected = hmac(self.header.alg, secret, self.signing_input.as_bytes())?;
        let signature = self.signature.as_slice();
        Ok(expected.len() == signature.len() && openssl::memcmp::eq(&expected, signature))
    }
}

fn b64(segment: &str, name: &'static str) -> Result<Vec<u8>> {
    URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| Error::Base64 { segment: name })
}

fn parse_header(bytes: &[u8]) -> Result<Header> {
    let json_error = |reason: String| Error::Json {
        segment: "header",
        reason,
    };
    let raw = RawHeader::parse(bytes)?;
    let alg = match raw.alg {
        Some(v) => {
            // Borrowed when the name has no escapes (always, for a real token).
            let name: Cow<'_, str> = match serde_json::from_str::<&str>(v.get()) {
                Ok(name) => Cow::Borrowed(name),
                Err(_) => Cow::Owned(
                    serde_json::from_str::<String>(v.get())
                        .map_err(|_| json_error("alg is not a string".into()))?,
                ),
            };
            Algorithm::from_name(&name)?
        }
        None => return Err(json_error("alg is missing".into())),
    };
    let kid = opt_string(raw.kid, "kid")?;
    let typ = opt_string(raw.typ, "typ")?;
    // No extension is understood, so any `crit` entry is unknown (RFC 7515 section 4.1.11);
    // an empty or malformed `crit` is also invalid.
    if let Some(crit) = raw.crit {
        let name = match serde_json::from_str::<Value>(crit.get()) {
            Ok(Value::Array(items)) => match items.first() {
                Some(Value::String(s)) => crate::error::sanitize(s, 64),
                _ => String::from("(empty or not a string)"),
            },
            _ => String::from("(not an array)"),
        };
        return Err(Error::UnknownCrit { name });
    }
    Ok(Header { alg, kid, typ })
}

fn opt_string(v: Option<&RawValue>, name: &str) -> Result<Option<String>> {
    match v {
        None => Ok(None),
        Some(raw) => serde_json::from_str::<Option<String>>(raw.get()).map_err(|_| Error::Json {
            segment: "header",
            reason: format!("{name} is not a string"),
        }),
    }
}

/// Whether a JOSE `typ` names the media type `subtype` (lowercase, without `application/`):
/// case-insensitive, and with the `application/` prefix that RFC 7515 section 4.1.9 lets
/// producers omit, so `JWT` and `application/jwt` both name `jwt`.
pub fn typ_is(typ: &str, subtype: &str) -> bool {
    const PREFIX: &str = "application/";
    let bare = match typ.get(..PREFIX.len()) {
        Some(p) if p.eq_ignore_ascii_case(PREFIX) => &typ[PREFIX.len()..],
        _ => typ,
    };
    !bare.contains('/') && bare.eq_ignore_ascii_case(subtype)
}

/// Checks a token's `typ` against the media types its kind may carry (absent is always
/// accepted: explicit typing is recommended, not required). Another kind's type (`at+jwt`,
/// `logout+jwt` for an ID token, `secevent+jwt`...) is [`Error::WrongTyp`].
pub(crate) fn check_typ(
    typ: Option<&str>,
    accepted: &[&str],
    expected: &'static str,
) -> Result<()> {
    match typ {
        Some(typ) if !accepted.iter().any(|subtype| typ_is(typ, subtype)) => Err(Error::WrongTyp {
            expected,
            actual: crate::error::sanitize(typ, 64),
        }),
        _ => Ok(()),
    }
}

/// Verifies `signature` over `input` with an asymmetric algorithm. Returns `Ok(false)` for a
/// signature that does not verify, and an error when the key cannot be used with `alg`.
pub fn verify_signature(
    alg: Algorithm,
    key: &PKey<Public>,
    input: &[u8],
    signature: &[u8],
) -> Result<bool> {
    match alg {
        Algorithm::RS256 | Algorithm::RS384 | Algorithm::RS512 => {
            if key.id() != Id::RSA {
                return Err(key_mismatch(alg, key));
            }
            verify_pkcs1(alg, key, input, signature)
        }
        Algorithm::PS256 | Algorithm::PS384 | Algorithm::PS512 => {
            if key.id() != Id::RSA {
                return Err(key_mismatch(alg, key));
            }
            let mut verifier = Verifier::new(alg.digest(), key)?;
            verifier.set_rsa_padding(Padding::PKCS1_PSS)?;
            verifier.set_rsa_pss_saltlen(RsaPssSaltlen::DIGEST_LENGTH)?;
            verifier.set_rsa_mgf1_md(alg.digest())?;
            verifier.update(input)?;
            // OpenSSL reports a malformed signature as an error; it is a failed check here.
            Ok(verifier.verify(signature).unwrap_or(false))
        }
        Algorithm::ES256 | Algorithm::ES384 | Algorithm::ES512 => {
            let len = alg.ec_coordinate_len().unwrap_or(0);
            let ec = key.ec_key().map_err(|_| key_mismatch(alg, key))?;
            if crate::jwk::curve_for_alg(alg) != ec.group().curve_name() {
                return Err(key_mismatch(alg, key));
            }
            if signature.len() != 2 * len {
                return Ok(false);
            }
            let r = BigNum::from_slice(&signature[..len])?;
            let s = BigNum::from_slice(&signature[len..])?;
            let sig = EcdsaSig::from_private_components(r, s)?;
            let digest = digest(alg, input);
            Ok(sig.verify(digest.as_slice(), &ec).unwrap_or(false))
        }
        Algorithm::EdDSA => {
            if key.id() != Id::ED25519 && key.id() != Id::ED448 {
                return Err(key_mismatch(alg, key));
            }
            let mut verifier = Verifier::new_without_digest(key)?;
            Ok(verifier.verify_oneshot(signature, input).unwrap_or(false))
        }
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => Err(Error::AlgNotAllowed {
            alg: alg.name().into(),
            reason: "HMAC is verified only with the client secret, never a public key",
        }),
    }
}

/// The DER prefix of the PKCS #1 v1.5 `DigestInfo` for SHA-256, SHA-384 and SHA-512
/// (RFC 8017 section 9.2, note 1).
fn digest_info_prefix(alg: Algorithm) -> &'static [u8] {
    match alg {
        Algorithm::RS384 => &[
            0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x02, 0x05, 0x00, 0x04, 0x30,
        ],
        Algorithm::RS512 => &[
            0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x03, 0x05, 0x00, 0x04, 0x40,
        ],
        _ => &[
            0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x01, 0x05, 0x00, 0x04, 0x20,
        ],
    }
}

/// RSASSA-PKCS1-v1_5 verification by re-encoding (RFC 8017 section 8.2.2): OpenSSL's RSA
/// public operation checks the block type 1 padding, and the recovered `DigestInfo` must
/// equal the expected encoding byte for byte, so no ASN.1 is parsed from the signature.
/// (The one-shot RSA operation avoids the per-call set-up cost of an EVP verification
/// context, which is most of the time of a verification in OpenSSL 3.)
fn verify_pkcs1(
    alg: Algorithm,
    key: &PKey<Public>,
    input: &[u8],
    signature: &[u8],
) -> Result<bool> {
    let rsa = key.rsa()?;
    let size = rsa.size() as usize;
    if signature.len() != size {
        return Ok(false);
    }
    // Room for the largest accepted modulus, MAX_RSA_BITS.
    let mut buffer = [0u8; MAX_RSA_BITS as usize / 8];
    let Some(recovered) = buffer.get_mut(..size) else {
        return Ok(false);
    };
    let Ok(len) = rsa.public_decrypt(signature, recovered, Padding::PKCS1) else {
        return Ok(false);
    };
    let digest = digest(alg, input);
    let digest = digest.as_slice();
    let prefix = digest_info_prefix(alg);
    let recovered = &recovered[..len];
    Ok(recovered.len() == prefix.len() + digest.len()
        && recovered[..prefix.len()] == *prefix
        && openssl::memcmp::eq(&recovered[prefix.len()..], digest))
}

fn key_mismatch(alg: Algorithm, key: &PKey<Public>) -> Error {
    Error::KeyTypeMismatch {
        kid: String::new(),
        kty: format!("{:?}", key.id()),
        alg: alg.name().into(),
    }
}

/// RFC 7518 section 3.2: an HMAC key at least as long as the hash output.
pub(crate) fn check_hmac_key(alg: Algorithm, len: usize) -> Result<()> {
    match alg.hmac_min_key_len() {
        Some(min) if len < min => Err(Error::HmacKeyTooShort {
            alg: alg.name(),
            len,
            min,
        }),
        _ => Ok(()),
    }
}

fn hmac(alg: Algorithm, secret: &[u8], input: &[u8]) -> Result<Vec<u8>> {
    if !alg.is_hmac() {
        return Err(Error::AlgNotAllowed {
            alg: alg.name().into(),
            reason: "not an HMAC algorithm",
        });
    }
    let key = PKey::hmac(secret)?;
    let mut signer = Signer::new(alg.digest(), &key)?;
    signer.update(input)?;
    Ok(signer.sign_to_vec()?)
}

/// Signs `claims` as a compact JWS with a private key (used for `private_key_jwt` client
/// authentication, and by the tests to mint tokens).
pub fn sign_compact(
    alg: Algorithm,
    key: &PKey<Private>,
    kid: Option<&str>,
    claims: &Value,
) -> Result<String> {
    let mut header = serde_json::json!({ "alg": alg.name(), "typ": "JWT" });
    if let (Some(kid), Some(obj)) = (kid, header.as_object_mut()) {
        obj.insert("kid".into(), Value::String(kid.into()));
    }
    sign_with_header(alg, key, &header, claims)
}

/// Signs with an explicit header object (the caller sets `alg` consistently).
pub fn sign_with_header(
    alg: Algorithm,
    key: &PKey<Private>,
    header: &Value,
    claims: &Value,
) -> Result<String> {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = raw_sign(alg, key, input.as_bytes())?;
    Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature)))
}

/// Signs with HMAC (a client secret); for tests and `client_secret_jwt`-style uses. The
/// secret's length is not checked here (tests forge tokens with short keys); verification
/// enforces the minimum.
pub fn sign_hmac(alg: Algorithm, secret: &[u8], header: &Value, claims: &Value) -> Result<String> {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = hmac(alg, secret, input.as_bytes())?;
    Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature)))
}

fn raw_sign(alg: Algorithm, key: &PKey<Private>, input: &[u8]) -> Result<Vec<u8>> {
    match alg {
        Algorithm::RS256
        | Algorithm::RS384
        | Algorithm::RS512
        | Algorithm::PS256
        | Algorithm::PS384
        | Algorithm::PS512 => {
            let mut signer = Signer::new(alg.digest(), key)?;
            if matches!(alg, Algorithm::PS256 | Algorithm::PS384 | Algorithm::PS512) {
                signer.set_rsa_padding(Padding::PKCS1_PSS)?;
                signer.set_rsa_pss_saltlen(RsaPssSaltlen::DIGEST_LENGTH)?;
                signer.set_rsa_mgf1_md(alg.digest())?;
            }
            signer.update(input)?;
            Ok(signer.sign_to_vec()?)
        }
        Algorithm::ES256 | Algorithm::ES384 | Algorithm::ES512 => {
            let len = alg.ec_coordinate_len().unwrap_or(0);
            let ec = key.ec_key()?;
            let digest = openssl::hash::hash(alg.digest(), input)?;
            let sig = EcdsaSig::sign(&digest, &ec)?;
            let mut out = sig.r().to_vec_padded(len as i32)?;
            out.extend(sig.s().to_vec_padded(len as i32)?);
            Ok(out)
        }
        Algorithm::EdDSA => {
            let mut signer = Signer::new_without_digest(key)?;
            Ok(signer.sign_oneshot_to_vec(input)?)
        }
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => Err(Error::AlgNotAllowed {
            alg: alg.name().into(),
            reason: "HMAC signs with a secret, not a private key",
        }),
    }
}

/// A digest on the stack (SHA-512 at most).
pub(crate) struct DigestBytes {
    bytes: [u8; 64],
    len: usize,
}

impl DigestBytes {
    pub(crate) fn as_slice(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or_default()
    }
}

/// The digest of `input` for `alg` (see [`Algorithm::digest`]), with OpenSSL's SHA-2
/// functions on a stack context: no EVP context is allocated, fetched or freed per call
/// (that set-up was a third of the cost of hashing a token). Not the one-shot `SHA256()`,
/// which in OpenSSL 3 fetches the algorithm on every call.
pub(crate) fn digest(alg: Algorithm, input: &[u8]) -> DigestBytes {
    let mut bytes = [0u8; 64];
    let len = match alg {
        Algorithm::RS256 | Algorithm::PS256 | Algorithm::ES256 | Algorithm::HS256 => {
            bytes[..32].copy_from_slice(&{
                let mut h = openssl::sha::Sha256::new();
                h.update(input);
                h.finish()
            });
            32
        }
        Algorithm::RS384 | Algorithm::PS384 | Algorithm::ES384 | Algorithm::HS384 => {
            bytes[..48].copy_from_slice(&{
                let mut h = openssl::sha::Sha384::new();
                h.update(input);
                h.finish()
            });
            48
        }
        Algorithm::RS512
        | Algorithm::PS512
        | Algorithm::ES512
        | Algorithm::HS512
        | Algorithm::EdDSA => {
            bytes = {
                let mut h = openssl::sha::Sha512::new();
                h.update(input);
                h.finish()
            };
            64
        }
    };
    DigestBytes { bytes, len }
}

/// The `at_hash` / `c_hash` of a value: the left half of its digest, base64url. For EdDSA
/// this is the Ed25519 hash (SHA-512); use [`left_half_hash_for_key`] when the key may be
/// Ed448.
pub fn left_half_hash(alg: Algorithm, value: &str) -> Result<String> {
    let digest = openssl::hash::hash(alg.digest(), value.as_bytes())?;
    Ok(URL_SAFE_NO_PAD.encode(&digest[..digest.len() / 2]))
}

/// The `at_hash` / `c_hash` of a value for a token signed with `alg` by a key of type
/// `key`: EdDSA's hash depends on the curve (the OpenID Connect working group's answer, as
/// implemented by other relying parties): SHA-512 for Ed25519, SHAKE256 with a 114-byte
/// output (the hash inside Ed448) for Ed448, whose left half is 57 bytes.
pub fn left_half_hash_for_key(alg: Algorithm, key: Option<Id>, value: &str) -> Result<String> {
    if alg == Algorithm::EdDSA && key == Some(Id::ED448) {
        let mut hasher = openssl::hash::Hasher::new(MessageDigest::shake_256())?;
        hasher.update(value.as_bytes())?;
        let mut digest = [0u8; 114];
        hasher.finish_xof(&mut digest)?;
        return Ok(URL_SAFE_NO_PAD.encode(&digest[..57]));
    }
    left_half_hash(alg, value)
}
