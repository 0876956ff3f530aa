//! SCIM bearer tokens: the secret a client presents, the SHA-256 hash that is stored, and the
//! stored record with its expiry for two-phase rotation.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::{Choice, ConstantTimeEq};
use time::OffsetDateTime;

use crate::id::{DirectoryId, TokenId};

/// How many random bytes a generated token carries.
const TOKEN_RANDOM_BYTES: usize = 32;

/// A SCIM bearer token in plaintext.
///
/// Its `Debug` output is redacted, and it has no `PartialEq`: tokens are only ever compared
/// through their [`TokenHash`], in constant time.
#[derive(Clone)]
pub struct ScimToken(String);

impl ScimToken {
    /// Wraps a token, for example one read from configuration or an `Authorization` header.
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    /// A new random token: `prefix` followed by 32 random bytes in unpadded base64url
    /// (43 characters), such as `gh_scim_3q2-7w...`.
    pub fn generate(prefix: &str) -> Self {
        let mut random = [0u8; TOKEN_RANDOM_BYTES];
        rand::rng().fill_bytes(&mut random);
        Self(format!("{prefix}{}", URL_SAFE_NO_PAD.encode(random)))
    }

    /// The SHA-256 hash of the token, which is what a directory stores.
    pub fn hash(&self) -> TokenHash {
        TokenHash(Sha256::digest(self.0.as_bytes()).into())
    }

    /// The plaintext, to show it once to the administrator who created it.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ScimToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ScimToken(<redacted>)")
    }
}

/// The prefix of tokens that [`crate::Tenants`] generates, so that secret scanners and
/// people recognize them.
pub const TOKEN_PREFIX: &str = "gh_scim_";

/// The SHA-256 hash of a [`ScimToken`].
///
/// It serializes as 64 lower-case hex digits.
#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TokenHash([u8; 32]);

impl TryFrom<String> for TokenHash {
    type Error = TokenHashError;
    fn try_from(value: String) -> Result<Self, TokenHashError> {
        Self::from_hex(&value)
    }
}

impl From<TokenHash> for String {
    fn from(h: TokenHash) -> String {
        h.to_hex()
    }
}

impl TokenHash {
    /// A hash from its 32 raw bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// A hash from 64 hexadecimal digits (either case), as `sha256sum` prints it.
    pub fn from_hex(hex_digits: &str) -> Result<Self, TokenHashError> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(hex_digits.trim(), &mut out).map_err(|_| TokenHashError {
            length: hex_digits.trim().len(),
        })?;
        Ok(Self(out))
    }

    /// The hash as 64 lower-case hexadecimal digits.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The first 8 bytes in hex: the index a store looks tokens up by. The full hash is then
    /// compared in constant time.
    pub fn lookup_key(&self) -> String {
        hex::encode(&self.0[..8])
    }
}

/// A stored SCIM token: its hash, never the token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredToken {
    /// The record's id.
    pub id: TokenId,
    /// The directory the token opens.
    pub directory: DirectoryId,
    /// The SHA-256 hash of the token.
    pub hash: TokenHash,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// After this instant the token is refused (set when a rotation begins).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
}

impl StoredToken {
    /// Whether the token is usable at `now`.
    pub fn is_active(&self, now: OffsetDateTime) -> bool {
        self.expires_at.is_none_or(|t| now < t)
    }
}

impl ConstantTimeEq for TokenHash {
    fn ct_eq(&self, other: &Self) -> Choice {
        self.0.ct_eq(&other.0)
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenHash({})", self.to_hex())
    }
}

/// A token hash that is not 64 hexadecimal digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a SHA-256 token hash must be 64 hexadecimal digits, got {length} characters that are not")]
pub struct TokenHashError {
    length: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let t = ScimToken::new("demo-secret");
        assert_eq!(format!("{t:?}"), "ScimToken(<redacted>)");
    }

    #[test]
    fn generated_tokens_are_prefixed_and_distinct() {
        let a = ScimToken::generate("gh_scim_");
        let b = ScimToken::generate("gh_scim_");
        assert!(a.expose_secret().starts_with("gh_scim_"));
        assert_eq!(a.expose_secret().len(), "gh_scim_".len() + 43);
        assert_ne!(a.expose_secret(), b.expose_secret());
    }

    #[test]
    fn hash_is_sha256_hex() {
        // sha256("abc") from FIPS 180-2.
        let h = ScimToken::new("abc").hash();
        assert_eq!(
            h.to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let parsed = TokenHash::from_hex(&h.to_hex().to_uppercase());
        assert!(parsed.is_ok_and(|p| bool::from(p.ct_eq(&h))));
        assert!(TokenHash::from_hex("abcd").is_err());
    }
}
