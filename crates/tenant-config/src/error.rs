//! The one error type of the crate.

/// Why a tenant-configuration operation failed.
///
/// Each variant names the check that failed and the values compared, never a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TenantError {
    /// A configuration field failed validation; `field` is its path, such as
    /// `saml.trusted_certificates[1]` or `oidc.issuer`.
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// The path of the field.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The domain belongs to a consumer email provider and cannot be claimed.
    #[error("domain {domain} belongs to a consumer email provider and cannot be claimed")]
    ConsumerDomain {
        /// The domain.
        domain: String,
    },
    /// No record of that kind with that id.
    #[error("{what} {id} not found")]
    NotFound {
        /// The kind of record, such as `organization`.
        what: &'static str,
        /// Its id.
        id: String,
    },
    /// A record with that unique value exists already.
    #[error("{what} {value} already exists")]
    Conflict {
        /// The kind of record, such as `domain`.
        what: &'static str,
        /// The value that must be unique.
        value: String,
    },
    /// The DNS TXT record of a domain challenge did not hold the expected value.
    #[error(
        "domain {domain}: no TXT record at {record} holds the challenge value ({found} records found)"
    )]
    ChallengeNotFound {
        /// The domain being verified.
        domain: String,
        /// The DNS name queried.
        record: String,
        /// How many TXT records the name had.
        found: usize,
    },
    /// The host's DNS resolver failed.
    #[error("DNS lookup of {record} failed: {reason}")]
    Dns {
        /// The DNS name queried.
        record: String,
        /// The resolver's message.
        reason: String,
    },
    /// An encrypted secret could not be decrypted: wrong key, wrong context or tampering.
    #[error("secret for {context} could not be decrypted: {reason}")]
    Decrypt {
        /// What the secret belongs to (the associated data), such as `oidc.client_secret:conn_1`.
        context: String,
        /// Which check failed.
        reason: &'static str,
    },
    /// A redirect target is neither a relative path nor on the allow-list.
    #[error("redirect target rejected: {reason}")]
    Redirect {
        /// Which check failed.
        reason: String,
    },
    /// IdP metadata could not be fetched or used.
    #[error("metadata from {url}: {reason}")]
    Metadata {
        /// The metadata URL.
        url: String,
        /// Which check failed.
        reason: String,
    },
    /// The storage backend failed; the text is safe to log.
    #[error("storage backend failed: {0}")]
    Backend(String),
}

impl TenantError {
    /// An [`TenantError::Invalid`] for `field`.
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }
}
