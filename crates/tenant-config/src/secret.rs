//! Secrets at rest: client secrets and SP private keys encrypted with a host-supplied
//! AES-256-GCM key, and the redacting [`SecretString`] their plaintext lives in.

use std::fmt;

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rand::RngCore as _;
use serde::{Deserialize, Serialize};

use crate::error::TenantError;

/// The format tag of an [`EncryptedSecret`]: AES-256-GCM, 96-bit random nonce.
const FORMAT_V1: &str = "v1";
const NONCE_LEN: usize = 12;

/// A secret in plaintext: its `Debug` is redacted and it has no `PartialEq` or `Display`.
#[derive(Clone)]
pub struct SecretString(String);

impl SecretString {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The plaintext, for the one place that needs it (a token request, a signing call).
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretString(<redacted>)")
    }
}

/// The host's AES-256-GCM key that encrypts secrets at rest, with an id naming it so that
/// keys can be rotated.
#[derive(Clone)]
pub struct EncryptionKey {
    id: String,
    cipher: Aes256Gcm,
}

impl EncryptionKey {
    /// A key from its 32 raw bytes. `id` (such as `2026-01`) is stored beside every
    /// ciphertext; it must be 1 to 32 characters without `:`.
    pub fn new(id: &str, key: [u8; 32]) -> Result<Self, TenantError> {
        if id.is_empty() || id.len() > 32 || id.contains(':') {
            return Err(TenantError::invalid(
                "encryption_key.id",
                "must be 1 to 32 characters without ':'",
            ));
        }
        Ok(Self {
            id: id.to_owned(),
            cipher: Aes256Gcm::new(&key.into()),
        })
    }

    /// The key's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Encrypts `secret`, bound to `context` (such as `oidc.client_secret:conn_1`): the
    /// ciphertext only decrypts with the same context, so it cannot be moved to another
    /// field or connection.
    pub fn encrypt(&self, secret: &SecretString, context: &str) -> EncryptedSecret {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let aad = self.aad(context);
        // Encryption with a valid key and nonce size cannot fail for inputs under 64 GiB.
        let ciphertext = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: secret.0.as_bytes(),
                    aad: aad.as_bytes(),
                },
            )
            .unwrap_or_default();
        let mut blob = nonce.to_vec();
        blob.extend_from_slice(&ciphertext);
        EncryptedSecret(format!("{FORMAT_V1}:{}:{}", self.id, STANDARD.encode(blob)))
    }

    /// Decrypts a secret that [`EncryptionKey::encrypt`] made with this key and `context`.
    pub fn decrypt(
        &self,
        secret: &EncryptedSecret,
        context: &str,
    ) -> Result<SecretString, TenantError> {
        let fail = |reason| TenantError::Decrypt {
            context: context.to_owned(),
            reason,
        };
        let mut parts = secret.0.splitn(3, ':');
        if parts.next() != Some(FORMAT_V1) {
            return Err(fail("unknown format"));
        }
        if parts.next() != Some(self.id.as_str()) {
            return Err(fail("encrypted with another key id"));
        }
        let blob = STANDARD
            .decode(parts.next().unwrap_or_default())
            .map_err(|_| fail("not base64"))?;
        if blob.len() < NONCE_LEN + 16 {
            return Err(fail("too short"));
        }
        let (nonce, ciphertext) = blob.split_at(NONCE_LEN);
        let aad = self.aad(context);
        let plain = self
            .cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| fail("authentication tag mismatch"))?;
        String::from_utf8(plain)
            .map(SecretString)
            .map_err(|_| fail("plaintext is not UTF-8"))
    }

    fn aad(&self, context: &str) -> String {
        format!("gatehouse:{FORMAT_V1}:{}:{context}", self.id)
    }
}

impl fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EncryptionKey({}, <redacted>)", self.id)
    }
}

/// A secret encrypted at rest: `v1:<key id>:<base64 of nonce and ciphertext>`.
///
/// This is what configuration records hold and what stores persist; its `Debug` shows only
/// the key id.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EncryptedSecret(String);

impl EncryptedSecret {
    /// The stored text, for a store that persists it.
    pub fn as_stored(&self) -> &str {
        &self.0
    }

    /// The id of the key it was encrypted with, if the format is known.
    pub fn key_id(&self) -> Option<&str> {
        let mut parts = self.0.splitn(3, ':');
        (parts.next() == Some(FORMAT_V1))
            .then(|| parts.next())
            .flatten()
    }
}

impl fmt::Debug for EncryptedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "EncryptedSecret(key {}, <redacted>)",
            self.key_id().unwrap_or("?")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: &str, byte: u8) -> EncryptionKey {
        EncryptionKey::new(id, [byte; 32]).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn round_trip_and_binding() {
        let k = key("k1", 7);
        let secret = SecretString::new("s3cr3t-value");
        let sealed = k.encrypt(&secret, "oidc.client_secret:conn_a");
        assert!(!sealed.as_stored().contains("s3cr3t"));
        assert_eq!(sealed.key_id(), Some("k1"));
        let opened = k.decrypt(&sealed, "oidc.client_secret:conn_a");
        assert_eq!(opened.map(|s| s.0), Ok("s3cr3t-value".to_owned()));

        // Another context, another key with the same id, another key id: all rejected.
        let wrong_ctx = k.decrypt(&sealed, "oidc.client_secret:conn_b");
        assert!(matches!(
            wrong_ctx,
            Err(TenantError::Decrypt {
                reason: "authentication tag mismatch",
                ..
            })
        ));
        let wrong_key = key("k1", 8).decrypt(&sealed, "oidc.client_secret:conn_a");
        assert!(matches!(
            wrong_key,
            Err(TenantError::Decrypt {
                reason: "authentication tag mismatch",
                ..
            })
        ));
        let other_id = key("k2", 7).decrypt(&sealed, "oidc.client_secret:conn_a");
        assert!(matches!(
            other_id,
            Err(TenantError::Decrypt {
                reason: "encrypted with another key id",
                ..
            })
        ));

        // A flipped ciphertext bit is detected.
        let mut text = sealed.as_stored().to_owned();
        let last = text.pop().map(|c| if c == 'A' { 'B' } else { 'A' });
        text.extend(last);
        let tampered = EncryptedSecret(text);
        assert!(k.decrypt(&tampered, "oidc.client_secret:conn_a").is_err());

        // Two encryptions of one secret differ (random nonce).
        assert_ne!(
            k.encrypt(&secret, "c").as_stored(),
            k.encrypt(&secret, "c").as_stored()
        );
    }

    #[test]
    fn debug_is_redacted() {
        let k = key("k1", 1);
        let secret = SecretString::new("hunter2");
        let sealed = k.encrypt(&secret, "ctx");
        assert_eq!(format!("{secret:?}"), "SecretString(<redacted>)");
        assert_eq!(format!("{sealed:?}"), "EncryptedSecret(key k1, <redacted>)");
        assert_eq!(format!("{k:?}"), "EncryptionKey(k1, <redacted>)");
        assert!(EncryptionKey::new("a:b", [0; 32]).is_err());
    }
}
