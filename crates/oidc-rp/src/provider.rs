//! One OpenID provider as seen by the relying party: its metadata (discovered with a TTL, or
//! configured statically) and its JWKS (cached, refetched on an unknown `kid` at most once
//! per minute).

use std::sync::{Arc, Mutex, PoisonError};

use serde::{Deserialize, Serialize};
use url::Url;

use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::http::{HttpClient, get_json_body};
use crate::id_token::{Expectations, IdTokenClaims, ValidationConfig, validate_id_token};
use crate::jwk::{JwkSet, MAX_JWKS_LEN};
use crate::logout::{LogoutTokenClaims, validate_logout_token};

/// The maximum size of a discovery document.
pub const MAX_METADATA_LEN: usize = 256 * 1024;

/// The well-known path of the discovery document (OpenID Connect Discovery 1.0, section 4).
pub const WELL_KNOWN_PATH: &str = "/.well-known/openid-configuration";

/// The provider metadata this crate uses (OpenID Connect Discovery 1.0, section 3, RFC 8414,
/// RFC 9207, RP-Initiated and Back-Channel Logout).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ProviderMetadata {
    /// `issuer`.
    pub issuer: String,
    /// `authorization_endpoint`.
    pub authorization_endpoint: String,
    /// `token_endpoint`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint: Option<String>,
    /// `jwks_uri`.
    pub jwks_uri: String,
    /// `userinfo_endpoint`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userinfo_endpoint: Option<String>,
    /// `end_session_endpoint`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_session_endpoint: Option<String>,
    /// `response_types_supported`.
    #[serde(default)]
    pub response_types_supported: Vec<String>,
    /// `response_modes_supported`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_modes_supported: Option<Vec<String>>,
    /// `scopes_supported`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes_supported: Option<Vec<String>>,
    /// `id_token_signing_alg_values_supported`.
    #[serde(default)]
    pub id_token_signing_alg_values_supported: Vec<String>,
    /// `token_endpoint_auth_methods_supported`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint_auth_methods_supported: Option<Vec<String>>,
    /// `code_challenge_methods_supported`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_challenge_methods_supported: Option<Vec<String>>,
    /// RFC 9207 `authorization_response_iss_parameter_supported`.
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
    /// `backchannel_logout_supported`.
    #[serde(default)]
    pub backchannel_logout_supported: bool,
    /// `backchannel_logout_session_supported`.
    #[serde(default)]
    pub backchannel_logout_session_supported: bool,
}

impl ProviderMetadata {
    /// Parses a discovery document and checks it against the configured issuer: `issuer`
    /// must be equal, character for character, and every endpoint must be an `https` URL
    /// (`http` is accepted for loopback hosts only).
    pub fn from_json(bytes: &[u8], expected_issuer: &str) -> Result<Self> {
        if bytes.len() > MAX_METADATA_LEN {
            return Err(Error::ResponseTooLarge {
                max: MAX_METADATA_LEN,
            });
        }
        let metadata: Self = serde_json::from_slice(bytes).map_err(|e| Error::InvalidDocument {
            document: "provider metadata",
            reason: e.to_string(),
        })?;
        metadata.check(expected_issuer)?;
        Ok(metadata)
    }

    /// The checks of [`ProviderMetadata::from_json`], for statically configured metadata too.
    pub fn check(&self, expected_issuer: &str) -> Result<()> {
        if self.issuer != expected_issuer {
            return Err(Error::DiscoveryIssuerMismatch {
                expected: expected_issuer.into(),
                actual: self.issuer.clone(),
            });
        }
        check_endpoint("issuer", &self.issuer)?;
        check_endpoint("authorization_endpoint", &self.authorization_endpoint)?;
        check_endpoint("jwks_uri", &self.jwks_uri)?;
        for (what, url) in [
            ("token_endpoint", &self.token_endpoint),
            ("userinfo_endpoint", &self.userinfo_endpoint),
            ("end_session_endpoint", &self.end_session_endpoint),
        ] {
            if let Some(url) = url {
                check_endpoint(what, url)?;
            }
        }
        Ok(())
    }
}

/// An endpoint must be an absolute `https` URL, or `http` on a loopback host.
pub(crate) fn check_endpoint(what: &'static str, value: &str) -> Result<Url> {
    let url = Url::parse(value).map_err(|e| Error::InvalidUrl {
        what,
        reason: e.to_string(),
    })?;
    let loopback = matches!(url.host(), Some(url::Host::Domain("localhost")))
        || matches!(url.host(), Some(url::Host::Ipv4(ip)) if ip.is_loopback())
        || matches!(url.host(), Some(url::Host::Ipv6(ip)) if ip.is_loopback());
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback => Ok(url),
        other => Err(Error::InvalidUrl {
            what,
            reason: format!("scheme {other:?} (https required outside loopback)"),
        }),
    }
}

/// Where the provider's metadata comes from.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum MetadataSource {
    /// Fetched from `{issuer}/.well-known/openid-configuration`, cached for the TTL.
    Discover,
    /// Configured by the host; never fetched.
    Static(Box<ProviderMetadata>),
}

/// How a [`Provider`] fetches and caches.
#[derive(Debug, Clone)]
pub struct ProviderConfig {
    /// The issuer, exactly as the provider writes it in `iss`.
    pub issuer: String,
    /// Discovery or static metadata.
    pub metadata: MetadataSource,
    /// How long discovered metadata is kept, in seconds (default one hour).
    pub metadata_ttl_secs: i64,
    /// How long a fetched JWKS is kept, in seconds (default one hour).
    pub jwks_ttl_secs: i64,
    /// The minimum interval between refetches caused by an unknown `kid`, in seconds
    /// (default 60).
    pub unknown_kid_refetch_secs: i64,
}

impl ProviderConfig {
    /// Discovery with the default TTLs.
    pub fn discover(issuer: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            metadata: MetadataSource::Discover,
            metadata_ttl_secs: 3600,
            jwks_ttl_secs: 3600,
            unknown_kid_refetch_secs: 60,
        }
    }

    /// Static metadata (checked against the issuer when the provider is built).
    pub fn with_static_metadata(metadata: ProviderMetadata) -> Self {
        Self {
            metadata: MetadataSource::Static(Box::new(metadata.clone())),
            ..Self::discover(metadata.issuer)
        }
    }
}

#[derive(Default)]
struct Cache {
    metadata: Option<(Arc<ProviderMetadata>, i64)>,
    jwks: Option<(Arc<JwkSet>, i64)>,
    last_unknown_kid_refetch: Option<i64>,
    jwks_fetches: u64,
}

/// A provider's metadata and keys, shared by every login of its connections.
pub struct Provider {
    config: ProviderConfig,
    http: Arc<dyn HttpClient>,
    clock: Arc<dyn Clock>,
    cache: Mutex<Cache>,
}

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provider")
            .field("issuer", &self.config.issuer)
            .finish_non_exhaustive()
    }
}

impl Provider {
    /// A provider using `http` for fetches and `clock` for the caches and validation.
    pub fn new(
        config: ProviderConfig,
        http: Arc<dyn HttpClient>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self> {
        let mut cache = Cache::default();
        if let MetadataSource::Static(metadata) = &config.metadata {
            metadata.check(&config.issuer)?;
            cache.metadata = Some((Arc::new((**metadata).clone()), i64::MAX));
        }
        Ok(Self {
            config,
            http,
            clock,
            cache: Mutex::new(cache),
        })
    }

    /// The configured issuer.
    pub fn issuer(&self) -> &str {
        &self.config.issuer
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The HTTP client.
    pub fn http(&self) -> &Arc<dyn HttpClient> {
        &self.http
    }

    /// How many times the JWKS was fetched (for monitoring and tests).
    pub fn jwks_fetch_count(&self) -> u64 {
        self.lock().jwks_fetches
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Cache> {
        // The cache holds plain values; a panic elsewhere cannot leave it inconsistent.
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The provider metadata, from the cache or freshly discovered.
    pub async fn metadata(&self) -> Result<Arc<ProviderMetadata>> {
        let now = self.clock.now();
        if let Some((metadata, fetched)) = &self.lock().metadata
            && now.saturating_sub(*fetched) < self.config.metadata_ttl_secs
        {
            return Ok(metadata.clone());
        }
        let metadata = Arc::new(discover(self.http.as_ref(), &self.config.issuer).await?);
        self.lock().metadata = Some((metadata.clone(), now));
        Ok(metadata)
    }

    /// The JWKS, from the cache or freshly fetched.
    pub async fn jwks(&self) -> Result<Arc<JwkSet>> {
        let now = self.clock.now();
        if let Some((jwks, fetched)) = &self.lock().jwks
            && now.saturating_sub(*fetched) < self.config.jwks_ttl_secs
        {
            return Ok(jwks.clone());
        }
        self.fetch_jwks().await
    }

    async fn fetch_jwks(&self) -> Result<Arc<JwkSet>> {
        let metadata = self.metadata().await?;
        let body = get_json_body(
            self.http.as_ref(),
            &metadata.jwks_uri,
            "jwks_uri",
            MAX_JWKS_LEN,
            None,
        )
        .await?;
        let jwks = Arc::new(JwkSet::from_json(&body)?);
        let now = self.clock.now();
        let mut cache = self.lock();
        cache.jwks = Some((jwks.clone(), now));
        cache.jwks_fetches += 1;
        tracing::debug!(issuer = %self.config.issuer, keys = jwks.keys().len(), "JWKS fetched");
        Ok(jwks)
    }

    /// Whether an unknown-`kid` refetch is allowed now; if so it is recorded.
    fn claim_unknown_kid_refetch(&self) -> bool {
        let now = self.clock.now();
        let mut cache = self.lock();
        match cache.last_unknown_kid_refetch {
            Some(last) if now.saturating_sub(last) < self.config.unknown_kid_refetch_secs => false,
            _ => {
                cache.last_unknown_kid_refetch = Some(now);
                true
            }
        }
    }

    /// Runs `check` with the cached keys; on an unknown `kid` (or no usable key without a
    /// `kid`) refetches the JWKS once, if the last such refetch was over a minute ago, and
    /// runs it again.
    async fn with_keys<T>(&self, check: impl Fn(&JwkSet) -> Result<T>) -> Result<T> {
        let jwks = self.jwks().await?;
        match check(&jwks) {
            Err(e @ (Error::UnknownKid { .. } | Error::NoMatchingKey { .. })) => {
                if !self.claim_unknown_kid_refetch() {
                    tracing::warn!(issuer = %self.config.issuer, error = %e, "unknown key, JWKS refetch suppressed (at most one a minute)");
                    return Err(e);
                }
                let jwks = self.fetch_jwks().await?;
                check(&jwks)
            }
            other => other,
        }
    }

    /// Validates an ID token with this provider's keys (see [`validate_id_token`]).
    pub async fn validate_id_token(
        &self,
        token: &str,
        config: &ValidationConfig,
        expect: &Expectations<'_>,
    ) -> Result<IdTokenClaims> {
        let now = self.clock.now();
        self.with_keys(|keys| validate_id_token(token, keys, config, expect, now))
            .await
    }

    /// Validates a back-channel logout token with this provider's keys.
    pub async fn validate_logout_token(
        &self,
        token: &str,
        config: &ValidationConfig,
    ) -> Result<LogoutTokenClaims> {
        let now = self.clock.now();
        self.with_keys(|keys| validate_logout_token(token, keys, config, now))
            .await
    }
}

/// Fetches and checks `{issuer}/.well-known/openid-configuration`.
pub async fn discover(http: &dyn HttpClient, issuer: &str) -> Result<ProviderMetadata> {
    check_endpoint("issuer", issuer)?;
    let url = format!("{}{WELL_KNOWN_PATH}", issuer.trim_end_matches('/'));
    let body = get_json_body(http, &url, "discovery", MAX_METADATA_LEN, None).await?;
    let metadata = ProviderMetadata::from_json(&body, issuer)?;
    tracing::debug!(issuer, "provider metadata discovered");
    Ok(metadata)
}
