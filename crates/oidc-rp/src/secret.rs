//! Redacting newtypes for secrets: they never show in `Debug` or logs.

use std::fmt;

/// A secret string (client secret, token). `Debug` prints `[redacted]`; there is no
/// `Display` and no `PartialEq`.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret value, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Constant-time comparison with another value.
    pub fn ct_eq(&self, other: &str) -> bool {
        self.0.len() == other.len() && openssl::memcmp::eq(self.0.as_bytes(), other.as_bytes())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}
