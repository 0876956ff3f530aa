//! JSON Web Keys (RFC 7517, RFC 7518, RFC 8037): parsing an issuer's JWKS into OpenSSL keys
//! once, and selecting the candidate keys for a token by `kid` and `alg`.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openssl::bn::{BigNum, BigNumContext};
use openssl::ec::{EcGroup, EcKey};
use openssl::nid::Nid;
use openssl::pkey::{Id, PKey, Public};
use openssl::rsa::Rsa;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::jws::{Algorithm, MAX_RSA_BITS, MIN_RSA_BITS};

/// The maximum size of a JWKS document accepted.
pub const MAX_JWKS_LEN: usize = 256 * 1024;

/// The maximum number of keys taken from a JWKS.
pub const MAX_KEYS: usize = 100;

/// One JWK as published, with the fields this crate reads.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    /// Key type: `RSA`, `EC` or `OKP`.
    pub kty: String,
    /// Key id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// Intended algorithm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// Intended use: `sig` or `enc`.
    #[serde(rename = "use", default, skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
    /// Permitted operations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_ops: Option<Vec<String>>,
    /// Curve of an `EC` or `OKP` key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    /// RSA modulus.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    /// RSA public exponent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
    /// EC x coordinate, or the OKP public key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// EC y coordinate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
}

impl Jwk {
    /// The JWK of an OpenSSL public key (RSA, P-256/384/521, Ed25519/Ed448).
    pub fn from_public_key(
        key: &PKey<Public>,
        kid: Option<&str>,
        alg: Option<Algorithm>,
    ) -> Result<Self> {
        let mut jwk = Jwk {
            kid: kid.map(str::to_owned),
            alg: alg.map(|a| a.name().to_owned()),
            use_: Some("sig".into()),
            ..Jwk::default()
        };
        match key.id() {
            Id::RSA => {
                let rsa = key.rsa()?;
                jwk.kty = "RSA".into();
                jwk.n = Some(URL_SAFE_NO_PAD.encode(rsa.n().to_vec()));
                jwk.e = Some(URL_SAFE_NO_PAD.encode(rsa.e().to_vec()));
            }
            Id::EC => {
                let ec = key.ec_key()?;
                let (crv, len) = match ec.group().curve_name() {
                    Some(Nid::X9_62_PRIME256V1) => ("P-256", 32),
                    Some(Nid::SECP384R1) => ("P-384", 48),
                    Some(Nid::SECP521R1) => ("P-521", 66),
                    _ => return Err(Error::Crypto("unsupported EC curve".into())),
                };
                let mut x = BigNum::new()?;
                let mut y = BigNum::new()?;
                let mut ctx = BigNumContext::new()?;
                ec.public_key()
                    .affine_coordinates(ec.group(), &mut x, &mut y, &mut ctx)?;
                jwk.kty = "EC".into();
                jwk.crv = Some(crv.into());
                jwk.x = Some(URL_SAFE_NO_PAD.encode(x.to_vec_padded(len)?));
                jwk.y = Some(URL_SAFE_NO_PAD.encode(y.to_vec_padded(len)?));
            }
            Id::ED25519 | Id::ED448 => {
                jwk.kty = "OKP".into();
                jwk.crv = Some(
                    if key.id() == Id::ED25519 {
                        "Ed25519"
                    } else {
                        "Ed448"
                    }
                    .into(),
                );
                jwk.x = Some(URL_SAFE_NO_PAD.encode(key.raw_public_key()?));
            }
            _ => return Err(Error::Crypto("unsupported key type".into())),
        }
        Ok(jwk)
    }
}

/// A usable verification key from a JWKS.
#[derive(Clone)]
pub struct VerifyingKey {
    /// The JWK it came from.
    pub jwk: Jwk,
    key: PKey<Public>,
    alg: Option<Algorithm>,
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("kty", &self.jwk.kty)
            .field("kid", &self.jwk.kid)
            .field("alg", &self.jwk.alg)
            .finish()
    }
}

impl VerifyingKey {
    /// Converts a JWK to an OpenSSL public key, checking sizes and curves.
    pub fn from_jwk(jwk: Jwk) -> Result<Self> {
        let invalid = |reason: &str| Error::InvalidJwk {
            kid: jwk.kid.clone(),
            reason: reason.to_owned(),
        };
        if jwk.use_.as_deref().is_some_and(|u| u != "sig") {
            return Err(invalid("use is not \"sig\""));
        }
        if let Some(ops) = &jwk.key_ops
            && !ops.iter().any(|o| o == "verify")
        {
            return Err(invalid("key_ops does not allow verify"));
        }
        let alg = match jwk.alg.as_deref() {
            Some(name) => match Algorithm::from_name(name) {
                Ok(a) => Some(a),
                Err(_) => return Err(invalid("alg is not a supported signature algorithm")),
            },
            None => None,
        };
        let field = |v: &Option<String>, name: &str| -> Result<Vec<u8>> {
            let s = v
                .as_deref()
                .ok_or_else(|| invalid(&format!("{name} is missing")))?;
            URL_SAFE_NO_PAD
                .decode(s)
                .map_err(|_| invalid(&format!("{name} is not base64url")))
        };
        let key = match jwk.kty.as_str() {
            "RSA" => {
                let n = BigNum::from_slice(&field(&jwk.n, "n")?)?;
                let e = BigNum::from_slice(&field(&jwk.e, "e")?)?;
                let bits = n.num_bits().max(0) as u32;
                if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
                    return Err(invalid(&format!(
                        "RSA modulus of {bits} bits, outside {MIN_RSA_BITS}..={MAX_RSA_BITS}"
                    )));
                }
                if e.num_bits() > 64 {
                    return Err(invalid("RSA exponent too large"));
                }
                PKey::from_rsa(Rsa::from_public_components(n, e)?)?
            }
            "EC" => {
                let (nid, len) = match jwk.crv.as_deref() {
                    Some("P-256") => (Nid::X9_62_PRIME256V1, 32),
                    Some("P-384") => (Nid::SECP384R1, 48),
                    Some("P-521") => (Nid::SECP521R1, 66),
                    _ => return Err(invalid("unsupported EC curve")),
                };
                let x = field(&jwk.x, "x")?;
                let y = field(&jwk.y, "y")?;
                if x.len() != len || y.len() != len {
                    return Err(invalid("EC coordinate has the wrong length"));
                }
                let group = EcGroup::from_curve_name(nid)?;
                let bx = BigNum::from_slice(&x)?;
                let by = BigNum::from_slice(&y)?;
                let ec = EcKey::from_public_key_affine_coordinates(&group, &bx, &by)
                    .map_err(|_| invalid("EC point is not on the curve"))?;
                ec.check_key()
                    .map_err(|_| invalid("EC point is not on the curve"))?;
                PKey::from_ec_key(ec)?
            }
            "OKP" => {
                let id = match jwk.crv.as_deref() {
                    Some("Ed25519") => Id::ED25519,
                    Some("Ed448") => Id::ED448,
                    _ => return Err(invalid("unsupported OKP curve")),
                };
                PKey::public_key_from_raw_bytes(&field(&jwk.x, "x")?, id)
                    .map_err(|_| invalid("bad OKP public key"))?
            }
            // Symmetric keys are never taken from a JWKS.
            other => {
                return Err(invalid(&format!("key type {other:?} is not usable")));
            }
        };
        Ok(Self { jwk, key, alg })
    }

    /// The OpenSSL public key.
    pub fn public_key(&self) -> &PKey<Public> {
        &self.key
    }

    /// Whether this key can verify a signature made with `alg`.
    pub fn is_usable_with(&self, alg: Algorithm) -> bool {
        if self.alg.is_some_and(|a| a != alg) {
            return false;
        }
        match alg {
            Algorithm::ES256 | Algorithm::ES384 | Algorithm::ES512 => self
                .key
                .ec_key()
                .is_ok_and(|ec| ec.group().curve_name() == curve_for_alg(alg)),
            Algorithm::EdDSA => matches!(self.key.id(), Id::ED25519 | Id::ED448),
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => false,
            _ => self.key.id() == Id::RSA,
        }
    }
}

/// The curve an ES algorithm requires.
pub(crate) fn curve_for_alg(alg: Algorithm) -> Option<Nid> {
    match alg {
        Algorithm::ES256 => Some(Nid::X9_62_PRIME256V1),
        Algorithm::ES384 => Some(Nid::SECP384R1),
        Algorithm::ES512 => Some(Nid::SECP521R1),
        _ => None,
    }
}

/// An issuer's key set, converted once.
#[derive(Debug, Clone, Default)]
pub struct JwkSet {
    keys: Vec<VerifyingKey>,
    skipped: Vec<String>,
}

impl JwkSet {
    /// Parses a JWKS document. Keys that cannot verify signatures (encryption keys,
    /// symmetric keys, unsupported curves, weak RSA) are skipped and listed in
    /// [`JwkSet::skipped`]; a malformed document is an error.
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        if bytes.len() > MAX_JWKS_LEN {
            return Err(Error::ResponseTooLarge { max: MAX_JWKS_LEN });
        }
        let doc: Value = serde_json::from_slice(bytes).map_err(|e| Error::InvalidDocument {
            document: "JWKS",
            reason: e.to_string(),
        })?;
        let Some(Value::Array(keys)) = doc.get("keys") else {
            return Err(Error::InvalidDocument {
                document: "JWKS",
                reason: "no \"keys\" array".into(),
            });
        };
        if keys.len() > MAX_KEYS {
            return Err(Error::InvalidDocument {
                document: "JWKS",
                reason: format!("{} keys, more than {MAX_KEYS}", keys.len()),
            });
        }
        let mut set = JwkSet::default();
        for value in keys {
            let outcome = serde_json::from_value::<Jwk>(value.clone())
                .map_err(|e| Error::InvalidJwk {
                    kid: None,
                    reason: e.to_string(),
                })
                .and_then(VerifyingKey::from_jwk);
            match outcome {
                Ok(k) => set.keys.push(k),
                Err(e) => {
                    tracing::debug!(error = %e, "JWKS key skipped");
                    set.skipped.push(e.to_string());
                }
            }
        }
        Ok(set)
    }

    /// A set of already converted keys.
    pub fn from_keys(keys: Vec<VerifyingKey>) -> Self {
        Self {
            keys,
            skipped: Vec::new(),
        }
    }

    /// The usable keys.
    pub fn keys(&self) -> &[VerifyingKey] {
        &self.keys
    }

    /// Why the skipped keys were skipped.
    pub fn skipped(&self) -> &[String] {
        &self.skipped
    }

    /// Whether a key with this `kid` exists (of any type).
    pub fn has_kid(&self, kid: &str) -> bool {
        self.keys.iter().any(|k| k.jwk.kid.as_deref() == Some(kid))
    }

    /// The keys that may verify a token with this `kid` and `alg`:
    /// - with a `kid`, every key with that `kid` usable with `alg` (keys may share a kid);
    ///   none with that kid is [`Error::UnknownKid`], only keys of another type is
    ///   [`Error::KeyTypeMismatch`];
    /// - without a `kid`, exactly one key usable with `alg`, else [`Error::NoMatchingKey`] or
    ///   [`Error::AmbiguousKey`].
    pub fn candidates(&self, kid: Option<&str>, alg: Algorithm) -> Result<Vec<&VerifyingKey>> {
        match kid {
            Some(kid) => {
                // One pass and one list; the keys with the kid are looked at again only to
                // name the error.
                let usable: Vec<_> = self
                    .keys
                    .iter()
                    .filter(|k| k.jwk.kid.as_deref() == Some(kid) && k.is_usable_with(alg))
                    .collect();
                if usable.is_empty() {
                    let first = self.keys.iter().find(|k| k.jwk.kid.as_deref() == Some(kid));
                    return Err(match first {
                        None => Error::UnknownKid { kid: kid.into() },
                        Some(first) => Error::KeyTypeMismatch {
                            kid: kid.into(),
                            kty: first.jwk.kty.clone(),
                            alg: alg.name().into(),
                        },
                    });
                }
                Ok(usable)
            }
            None => {
                let usable: Vec<_> = self.keys.iter().filter(|k| k.is_usable_with(alg)).collect();
                match usable.len() {
                    0 => Err(Error::NoMatchingKey {
                        alg: alg.name().into(),
                    }),
                    1 => Ok(usable),
                    count => Err(Error::AmbiguousKey {
                        alg: alg.name().into(),
                        count,
                    }),
                }
            }
        }
    }
}
