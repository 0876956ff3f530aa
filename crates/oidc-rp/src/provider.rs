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

/// The issuer Entra ID's multi-tenant (`organizations`, `common`) metadata names: each token's
/// `iss` has the tenant's id in place of `{tenantid}`.
pub const ENTRA_MULTI_TENANT_ISSUER: &str = "https://login.microsoftonline.com/{tenantid}/v2.0";

/// Entra ID's discovery document for work and school accounts of any tenant.
pub const ENTRA_ORGANIZATIONS_DISCOVERY_URL: &str =
    "https://login.microsoftonline.com/organizations/v2.0/.well-known/openid-configuration";

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
    /// Parses a discovery document and checks it against the configured issuer (see
    /// [`ProviderMetadata::check`]).
    pub fn from_json(bytes: &[u8], expected_issuer: &str) -> Result<Self> {
        Self::from_json_with(bytes, expected_issuer, false)
    }

    /// [`ProviderMetadata::from_json`] with the loopback loosening of
    /// [`ProviderConfig::insecure_allow_http_loopback_endpoints`].
    pub fn from_json_with(
        bytes: &[u8],
        expected_issuer: &str,
        insecure_allow_http_loopback_endpoints: bool,
    ) -> Result<Self> {
        if bytes.len() > MAX_METADATA_LEN {
            return Err(Error::ResponseTooLarge {
                max: MAX_METADATA_LEN,
            });
        }
        let metadata: Self = serde_json::from_slice(bytes).map_err(|e| Error::InvalidDocument {
            document: "provider metadata",
            reason: e.to_string(),
        })?;
        metadata.check_with(expected_issuer, insecure_allow_http_loopback_endpoints)?;
        Ok(metadata)
    }

    /// The checks of [`ProviderMetadata::from_json`], for statically configured metadata too:
    /// `issuer` must equal the configured issuer, character for character; the issuer must be
    /// `https`, or plain `http` on a loopback host (a test provider); every endpoint must be
    /// `https` when the issuer is, and may be plain `http` on a loopback host only when the
    /// issuer itself is a loopback `http` issuer. An `https` provider that names a plain-http
    /// endpoint (a server-side request to `http://127.0.0.1:...` on the relying party's
    /// host) is rejected.
    pub fn check(&self, expected_issuer: &str) -> Result<()> {
        self.check_with(expected_issuer, false)
    }

    /// [`ProviderMetadata::check`]; with `insecure_allow_http_loopback_endpoints` an `https`
    /// issuer may also name plain `http` endpoints on loopback hosts.
    pub fn check_with(
        &self,
        expected_issuer: &str,
        insecure_allow_http_loopback_endpoints: bool,
    ) -> Result<()> {
        if self.issuer != expected_issuer {
            return Err(Error::DiscoveryIssuerMismatch {
                expected: expected_issuer.into(),
                actual: crate::error::sanitize(&self.issuer, 256),
            });
        }
        let issuer = check_endpoint("issuer", &self.issuer, HttpLoopback::Allowed)?;
        let endpoints = if issuer.scheme() == "http" || insecure_allow_http_loopback_endpoints {
            HttpLoopback::Allowed
        } else {
            HttpLoopback::Refused
        };
        check_endpoint(
            "authorization_endpoint",
            &self.authorization_endpoint,
            endpoints,
        )?;
        check_endpoint("jwks_uri", &self.jwks_uri, endpoints)?;
        for (what, url) in [
            ("token_endpoint", &self.token_endpoint),
            ("userinfo_endpoint", &self.userinfo_endpoint),
            ("end_session_endpoint", &self.end_session_endpoint),
        ] {
            if let Some(url) = url {
                check_endpoint(what, url, endpoints)?;
            }
        }
        Ok(())
    }
}

/// Whether plain `http` on a loopback host is acceptable for a URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HttpLoopback {
    /// `http` on a loopback host is accepted (the issuer itself, or the endpoints of a
    /// loopback `http` issuer).
    Allowed,
    /// Only `https`.
    Refused,
}

/// An endpoint must be an absolute `https` URL, or, where `http_loopback` allows it, `http`
/// on a loopback host.
pub(crate) fn check_endpoint(
    what: &'static str,
    value: &str,
    http_loopback: HttpLoopback,
) -> Result<Url> {
    let url = Url::parse(value).map_err(|e| Error::InvalidUrl {
        what,
        reason: e.to_string(),
    })?;
    let loopback = matches!(url.host(), Some(url::Host::Domain("localhost")))
        || matches!(url.host(), Some(url::Host::Ipv4(ip)) if ip.is_loopback())
        || matches!(url.host(), Some(url::Host::Ipv6(ip)) if ip.is_loopback());
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback && http_loopback == HttpLoopback::Allowed => Ok(url),
        "http" if loopback => Err(Error::InvalidUrl {
            what,
            reason: "plain http for an https issuer (only a loopback http issuer, or \
                     insecure_allow_http_loopback_endpoints, allows it)"
                .into(),
        }),
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
    /// Accept plain `http` endpoints on loopback hosts in the metadata of an `https` issuer.
    /// Off by default: such an endpoint makes the relying party send server-side requests
    /// (with the code, the client secret or an access token) to its own host. Only for a
    /// provider deliberately reached through a local proxy.
    pub insecure_allow_http_loopback_endpoints: bool,
    /// After a failed discovery or JWKS fetch, how long the next attempt of that fetch waits,
    /// in seconds (default 5); each further consecutive failure doubles the wait up to
    /// [`ProviderConfig::fetch_failure_backoff_max_secs`]. Meanwhile callers get
    /// [`Error::FetchBackoff`] without a request, so a failing provider is not hammered by
    /// every login.
    pub fetch_failure_backoff_secs: i64,
    /// The longest wait after consecutive failed fetches, in seconds (default 300).
    pub fetch_failure_backoff_max_secs: i64,
    /// Where the discovery document is fetched when it is not at
    /// `{issuer}/.well-known/openid-configuration` (https only). The document's `issuer`
    /// must still equal [`ProviderConfig::issuer`] exactly. Entra ID's multi-tenant
    /// document is the one case: it lives under `organizations` (or `common`) and names the
    /// `{tenantid}` template as its issuer (see [`ProviderConfig::entra_multi_tenant`]).
    pub discovery_url: Option<String>,
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
            insecure_allow_http_loopback_endpoints: false,
            fetch_failure_backoff_secs: 5,
            fetch_failure_backoff_max_secs: 300,
            discovery_url: None,
        }
    }

    /// Entra ID for a multi-tenant application: the issuer is the template
    /// [`ENTRA_MULTI_TENANT_ISSUER`] and the metadata is discovered from
    /// [`ENTRA_ORGANIZATIONS_DISCOVERY_URL`], whose `issuer` is that template. Validate with
    /// [`crate::ValidationConfig::issuer_is_entra_template`] on, and restrict the tenants
    /// with [`crate::ValidationConfig::entra_tenants`].
    pub fn entra_multi_tenant() -> Self {
        Self {
            discovery_url: Some(ENTRA_ORGANIZATIONS_DISCOVERY_URL.to_owned()),
            ..Self::discover(ENTRA_MULTI_TENANT_ISSUER)
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
    metadata_failures: Failures,
    jwks_failures: Failures,
}

/// The consecutive failures of one fetch and when the last one happened.
#[derive(Debug, Default, Clone, Copy)]
struct Failures {
    count: u32,
    last: i64,
}

/// Which fetch a back-off applies to.
#[derive(Debug, Clone, Copy)]
enum Fetch {
    Discovery,
    Jwks,
}

impl Fetch {
    fn name(self) -> &'static str {
        match self {
            Self::Discovery => "discovery",
            Self::Jwks => "jwks_uri",
        }
    }

    fn failures(self, cache: &mut Cache) -> &mut Failures {
        match self {
            Self::Discovery => &mut cache.metadata_failures,
            Self::Jwks => &mut cache.jwks_failures,
        }
    }
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
            metadata.check_with(
                &config.issuer,
                config.insecure_allow_http_loopback_endpoints,
            )?;
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

    /// The provider metadata, from the cache or freshly discovered. After a failed
    /// discovery, [`Error::FetchBackoff`] until the back-off has passed.
    pub async fn metadata(&self) -> Result<Arc<ProviderMetadata>> {
        let now = self.clock.now();
        if let Some((metadata, fetched)) = &self.lock().metadata
            && now.saturating_sub(*fetched) < self.config.metadata_ttl_secs
        {
            return Ok(metadata.clone());
        }
        self.check_backoff(Fetch::Discovery)?;
        let fetched = match &self.config.discovery_url {
            None => {
                discover_with(
                    self.http.as_ref(),
                    &self.config.issuer,
                    self.config.insecure_allow_http_loopback_endpoints,
                )
                .await
            }
            Some(url) => {
                discover_at(
                    self.http.as_ref(),
                    url,
                    &self.config.issuer,
                    self.config.insecure_allow_http_loopback_endpoints,
                )
                .await
            }
        };
        let metadata = Arc::new(self.record(Fetch::Discovery, fetched)?);
        self.lock().metadata = Some((metadata.clone(), now));
        Ok(metadata)
    }

    /// [`Error::FetchBackoff`] while the last failure of `fetch` is more recent than its
    /// back-off.
    fn check_backoff(&self, fetch: Fetch) -> Result<()> {
        let now = self.clock.now();
        let failures = *fetch.failures(&mut self.lock());
        if failures.count == 0 {
            return Ok(());
        }
        // base * 2^(count - 1), capped; the shift is bounded so it cannot overflow.
        let doubling = 1i64 << failures.count.saturating_sub(1).min(30);
        let wait = self
            .config
            .fetch_failure_backoff_secs
            .max(0)
            .saturating_mul(doubling)
            .min(self.config.fetch_failure_backoff_max_secs.max(0));
        let elapsed = now.saturating_sub(failures.last);
        if elapsed < wait {
            return Err(Error::FetchBackoff {
                what: fetch.name(),
                failures: failures.count,
                retry_in_secs: wait - elapsed,
            });
        }
        Ok(())
    }

    /// Records the outcome of a fetch: a failure starts or lengthens the back-off, a success
    /// ends it.
    fn record<T>(&self, fetch: Fetch, outcome: Result<T>) -> Result<T> {
        let now = self.clock.now();
        let mut cache = self.lock();
        let failures = fetch.failures(&mut cache);
        match &outcome {
            Ok(_) => *failures = Failures::default(),
            Err(e) => {
                failures.count = failures.count.saturating_add(1);
                failures.last = now;
                tracing::warn!(issuer = %self.config.issuer, fetch = fetch.name(), failures = failures.count, error = %e, "provider fetch failed, backing off");
            }
        }
        outcome
    }

    /// The JWKS, from the cache or freshly fetched. After a failed fetch,
    /// [`Error::FetchBackoff`] until the back-off has passed.
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
        self.check_backoff(Fetch::Jwks)?;
        let fetched = get_json_body(
            self.http.as_ref(),
            &metadata.jwks_uri,
            "jwks_uri",
            MAX_JWKS_LEN,
            None,
        )
        .await
        .and_then(|body| JwkSet::from_json(&body));
        let jwks = Arc::new(self.record(Fetch::Jwks, fetched)?);
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

/// Fetches and checks `{issuer}/.well-known/openid-configuration` (see
/// [`ProviderMetadata::check`]).
pub async fn discover(http: &dyn HttpClient, issuer: &str) -> Result<ProviderMetadata> {
    discover_with(http, issuer, false).await
}

/// [`discover`] with the loopback loosening of
/// [`ProviderConfig::insecure_allow_http_loopback_endpoints`].
pub async fn discover_with(
    http: &dyn HttpClient,
    issuer: &str,
    insecure_allow_http_loopback_endpoints: bool,
) -> Result<ProviderMetadata> {
    check_endpoint("issuer", issuer, HttpLoopback::Allowed)?;
    let url = format!("{}{WELL_KNOWN_PATH}", issuer.trim_end_matches('/'));
    discover_at(http, &url, issuer, insecure_allow_http_loopback_endpoints).await
}

/// Fetches the discovery document at `url` and checks it against `issuer` (see
/// [`ProviderConfig::discovery_url`]). `url` must be https, or http on loopback when the
/// issuer is a loopback http issuer.
pub async fn discover_at(
    http: &dyn HttpClient,
    url: &str,
    issuer: &str,
    insecure_allow_http_loopback_endpoints: bool,
) -> Result<ProviderMetadata> {
    let loopback = if issuer.starts_with("http://") || insecure_allow_http_loopback_endpoints {
        HttpLoopback::Allowed
    } else {
        HttpLoopback::Refused
    };
    check_endpoint("discovery_url", url, loopback)?;
    let body = get_json_body(http, url, "discovery", MAX_METADATA_LEN, None).await?;
    let metadata =
        ProviderMetadata::from_json_with(&body, issuer, insecure_allow_http_loopback_endpoints)?;
    tracing::debug!(issuer, "provider metadata discovered");
    Ok(metadata)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const ENDPOINTS: [&str; 5] = [
        "authorization_endpoint",
        "token_endpoint",
        "jwks_uri",
        "userinfo_endpoint",
        "end_session_endpoint",
    ];

    fn document(issuer: &str, endpoint_base: &str) -> serde_json::Value {
        json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{endpoint_base}/auth"),
            "token_endpoint": format!("{endpoint_base}/token"),
            "jwks_uri": format!("{endpoint_base}/jwks"),
            "userinfo_endpoint": format!("{endpoint_base}/userinfo"),
            "end_session_endpoint": format!("{endpoint_base}/logout"),
        })
    }

    #[test]
    fn an_https_issuer_cannot_name_plain_http_loopback_endpoints() {
        let issuer = "https://op.example.com";
        for endpoint in ENDPOINTS {
            for target in [
                "http://127.0.0.1:8080/x",
                "http://localhost/x",
                "http://[::1]/x",
            ] {
                let mut doc = document(issuer, issuer);
                doc[endpoint] = json!(target);
                let err = ProviderMetadata::from_json(doc.to_string().as_bytes(), issuer)
                    .expect_err("http endpoint of an https issuer");
                assert!(
                    matches!(err, Error::InvalidUrl { what, ref reason }
                        if what == endpoint && reason.contains("https issuer")),
                    "{endpoint} = {target}: {err}"
                );
                // The explicit option accepts it.
                let metadata =
                    ProviderMetadata::from_json_with(doc.to_string().as_bytes(), issuer, true)
                        .expect("loosened");
                assert_eq!(metadata.issuer, issuer);
            }
        }
        // The option never admits plain http beyond loopback.
        let mut doc = document(issuer, issuer);
        doc["token_endpoint"] = json!("http://10.0.0.1/token");
        assert!(matches!(
            ProviderMetadata::from_json_with(doc.to_string().as_bytes(), issuer, true),
            Err(Error::InvalidUrl {
                what: "token_endpoint",
                ..
            })
        ));
    }

    #[test]
    fn a_loopback_http_issuer_may_name_loopback_http_endpoints() {
        let issuer = "http://127.0.0.1:4000";
        let doc = document(issuer, issuer);
        let metadata =
            ProviderMetadata::from_json(doc.to_string().as_bytes(), issuer).expect("loopback");
        assert_eq!(metadata.jwks_uri, "http://127.0.0.1:4000/jwks");
        let doc = document(issuer, "https://op.example.com");
        ProviderMetadata::from_json(doc.to_string().as_bytes(), issuer).expect("https endpoints");
        let mut doc = document(issuer, issuer);
        doc["jwks_uri"] = json!("http://op.example.com/jwks");
        assert!(matches!(
            ProviderMetadata::from_json(doc.to_string().as_bytes(), issuer),
            Err(Error::InvalidUrl {
                what: "jwks_uri",
                ..
            })
        ));
    }

    #[test]
    fn static_metadata_gets_the_same_check() {
        let issuer = "https://op.example.com";
        let mut doc = document(issuer, issuer);
        doc["userinfo_endpoint"] = json!("http://127.0.0.1/userinfo");
        let metadata: ProviderMetadata = serde_json::from_value(doc).expect("metadata");
        let provider = Provider::new(
            ProviderConfig::with_static_metadata(metadata.clone()),
            Arc::new(NoHttp),
            Arc::new(crate::FixedClock(0)),
        );
        assert!(matches!(
            provider,
            Err(Error::InvalidUrl {
                what: "userinfo_endpoint",
                ..
            })
        ));
        let mut config = ProviderConfig::with_static_metadata(metadata);
        config.insecure_allow_http_loopback_endpoints = true;
        Provider::new(config, Arc::new(NoHttp), Arc::new(crate::FixedClock(0))).expect("loosened");
    }

    /// Answers every GET with one document and records the URLs asked for (Entra ID cannot
    /// run here; the document has the shape of its `organizations` discovery document).
    struct Canned {
        body: serde_json::Value,
        asked: std::sync::Mutex<Vec<String>>,
    }

    #[async_trait::async_trait]
    impl HttpClient for Canned {
        async fn execute(
            &self,
            request: crate::http::HttpRequest,
        ) -> Result<crate::http::HttpResponse> {
            self.asked.lock().unwrap().push(request.uri().to_string());
            Ok(http::Response::new(serde_json::to_vec(&self.body).unwrap()))
        }
    }

    #[tokio::test]
    async fn entra_multi_tenant_metadata_comes_from_organizations_and_names_the_template() {
        let base = "https://login.microsoftonline.com/organizations";
        let http = Arc::new(Canned {
            body: document(ENTRA_MULTI_TENANT_ISSUER, base),
            asked: Default::default(),
        });
        let provider = Provider::new(
            ProviderConfig::entra_multi_tenant(),
            http.clone(),
            Arc::new(crate::FixedClock(0)),
        )
        .unwrap();
        let metadata = provider.metadata().await.expect("discovered");
        assert_eq!(metadata.issuer, ENTRA_MULTI_TENANT_ISSUER);
        assert_eq!(
            *http.asked.lock().unwrap(),
            [ENTRA_ORGANIZATIONS_DISCOVERY_URL]
        );

        // The document must still name the configured issuer.
        let http = Arc::new(Canned {
            body: document("https://login.microsoftonline.com/common/v2.0", base),
            asked: Default::default(),
        });
        let provider = Provider::new(
            ProviderConfig::entra_multi_tenant(),
            http,
            Arc::new(crate::FixedClock(0)),
        )
        .unwrap();
        assert!(matches!(
            provider.metadata().await,
            Err(Error::DiscoveryIssuerMismatch { .. })
        ));

        // A discovery URL of an https issuer is https.
        let mut config = ProviderConfig::entra_multi_tenant();
        config.discovery_url = Some("http://127.0.0.1:9/.well-known/openid-configuration".into());
        let http = Arc::new(Canned {
            body: document(ENTRA_MULTI_TENANT_ISSUER, base),
            asked: Default::default(),
        });
        let provider = Provider::new(config, http.clone(), Arc::new(crate::FixedClock(0))).unwrap();
        assert!(matches!(
            provider.metadata().await,
            Err(Error::InvalidUrl {
                what: "discovery_url",
                ..
            })
        ));
        assert!(http.asked.lock().unwrap().is_empty());
    }

    /// A transport for tests that must not reach the network.
    struct NoHttp;

    #[async_trait::async_trait]
    impl HttpClient for NoHttp {
        async fn execute(&self, _: crate::http::HttpRequest) -> Result<crate::http::HttpResponse> {
            Err(Error::Http("no network in this test".into()))
        }
    }
}
