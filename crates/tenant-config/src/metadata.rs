//! Refreshing a SAML connection's IdP certificates from its metadata URL, through the host's
//! HTTP transport, with the checks that keep a tenant-supplied URL from reaching inside the
//! host's network.
//!
//! Parsing the metadata XML belongs to the SAML crate: [`MetadataRefresher::refresh`] takes
//! the parser as a function from the fetched bytes to the signing certificates' PEMs.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use async_trait::async_trait;
use time::{Duration, OffsetDateTime};

use crate::error::TenantError;
use crate::events::{Event, expiring_certificates};
use crate::model::{Connection, Protocol, TrustedCertificate};

/// The default bound on a metadata document.
pub const DEFAULT_MAX_METADATA_BYTES: usize = 1024 * 1024;

/// Reads the IdP signing certificates (PEM) out of a metadata document, or says why the
/// document is refused.
pub type MetadataParser = dyn Fn(&[u8]) -> Result<Vec<String>, String> + Send + Sync;

/// A response of the host's HTTP client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// The body, at most the limit the request gave plus one byte.
    pub body: Vec<u8>,
}

/// The host's HTTP client, as the metadata refresh uses it.
#[async_trait]
pub trait HttpTransport: Send + Sync {
    /// The addresses of `host`.
    async fn resolve(&self, host: &str, port: u16) -> Result<Vec<IpAddr>, String>;

    /// GETs `url` over TLS (verifying the certificate for the URL's host) from exactly
    /// `addr`, following no redirects, and reads at most `limit + 1` bytes of the body.
    async fn get(&self, url: &str, addr: SocketAddr, limit: usize) -> Result<HttpResponse, String>;
}

/// Fetches IdP metadata under the refresh policy.
#[derive(Debug, Clone)]
pub struct MetadataRefresher {
    max_bytes: usize,
    dangerous_allow_private_addresses: bool,
    expiry_window: Duration,
}

impl Default for MetadataRefresher {
    fn default() -> Self {
        Self {
            max_bytes: DEFAULT_MAX_METADATA_BYTES,
            dangerous_allow_private_addresses: false,
            expiry_window: Duration::days(30),
        }
    }
}

/// What a refresh found.
#[derive(Debug, Clone)]
pub struct Refreshed {
    /// The connection with the certificates from the metadata (save it with
    /// [`crate::Tenants::save_connection`]).
    pub connection: Connection,
    /// Certificate changes and certificates near expiry, to publish.
    pub events: Vec<Event>,
}

impl MetadataRefresher {
    /// The default policy: HTTPS, public addresses only, at most 1 MiB, expiry events for
    /// certificates ending within 30 days.
    pub fn new() -> Self {
        Self::default()
    }

    /// Bounds the metadata size.
    pub fn max_bytes(mut self, max_bytes: usize) -> Self {
        self.max_bytes = max_bytes;
        self
    }

    /// How far ahead an expiring certificate is reported.
    pub fn expiry_window(mut self, window: Duration) -> Self {
        self.expiry_window = window;
        self
    }

    /// Allows loopback and private addresses. For tests against a local IdP only: with it,
    /// a tenant's metadata URL can reach services inside the host's network.
    pub fn dangerous_allow_private_addresses(mut self) -> Self {
        self.dangerous_allow_private_addresses = true;
        self
    }

    /// Fetches the metadata at `url`: HTTPS only, every resolved address public (unless
    /// allowed), status 200, at most `max_bytes`.
    pub async fn fetch(
        &self,
        transport: &dyn HttpTransport,
        url: &str,
    ) -> Result<Vec<u8>, TenantError> {
        let fail = |reason: String| TenantError::Metadata {
            url: url.to_owned(),
            reason,
        };
        let uri: http::Uri = url.parse().map_err(|_| fail("not a URL".into()))?;
        if uri.scheme_str() != Some("https") {
            return Err(fail("only https is allowed".into()));
        }
        let authority = uri.authority().ok_or_else(|| fail("no host".into()))?;
        if authority.as_str().contains('@') {
            return Err(fail("user info is not allowed".into()));
        }
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        let port = authority.port_u16().unwrap_or(443);
        let addrs = match host.parse::<IpAddr>() {
            Ok(ip) => vec![ip],
            Err(_) => transport
                .resolve(host, port)
                .await
                .map_err(|e| fail(format!("cannot resolve {host}: {e}")))?,
        };
        if addrs.is_empty() {
            return Err(fail(format!("{host} has no address")));
        }
        if !self.dangerous_allow_private_addresses
            && let Some(bad) = addrs.iter().find(|a| !is_public(**a))
        {
            return Err(fail(format!("{host} resolves to non-public address {bad}")));
        }
        // Connect to an address that was checked, so a second resolution cannot swap it.
        let addr = SocketAddr::new(addrs[0], port);
        let resp = transport
            .get(url, addr, self.max_bytes)
            .await
            .map_err(|e| fail(format!("request failed: {e}")))?;
        if resp.status != 200 {
            return Err(fail(format!("status {}", resp.status)));
        }
        if resp.body.len() > self.max_bytes {
            return Err(fail(format!("larger than {} bytes", self.max_bytes)));
        }
        Ok(resp.body)
    }

    /// Fetches the connection's metadata, parses it with `parse` (which returns the IdP
    /// signing certificates as PEM), and replaces the trusted certificates with them.
    /// Reports added and removed certificates and those near expiry.
    pub async fn refresh(
        &self,
        transport: &dyn HttpTransport,
        connection: &Connection,
        parse: &MetadataParser,
        now: OffsetDateTime,
    ) -> Result<Refreshed, TenantError> {
        let Protocol::Saml(saml) = &connection.protocol else {
            return Err(TenantError::invalid(
                "connection.protocol",
                "metadata refresh needs a SAML connection",
            ));
        };
        let url = saml
            .metadata_url
            .as_deref()
            .ok_or_else(|| TenantError::invalid("saml.metadata_url", "not set"))?;
        let bytes = self.fetch(transport, url).await?;
        let pems = parse(&bytes).map_err(|reason| TenantError::Metadata {
            url: url.to_owned(),
            reason: format!("metadata rejected: {reason}"),
        })?;
        let certificates = pems
            .iter()
            .enumerate()
            .map(|(i, pem)| {
                TrustedCertificate::from_pem(pem).map_err(|_| TenantError::Metadata {
                    url: url.to_owned(),
                    reason: format!("signing certificate {i} is not a PEM X.509 certificate"),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;

        let old: Vec<&str> = saml
            .trusted_certificates
            .iter()
            .map(|c| c.sha256_fingerprint.as_str())
            .collect();
        let new: Vec<&str> = certificates
            .iter()
            .map(|c| c.sha256_fingerprint.as_str())
            .collect();
        let added: Vec<String> = new
            .iter()
            .filter(|f| !old.contains(f))
            .map(|f| (*f).to_owned())
            .collect();
        let removed: Vec<String> = old
            .iter()
            .filter(|f| !new.contains(f))
            .map(|f| (*f).to_owned())
            .collect();

        let mut updated = connection.clone();
        if let Protocol::Saml(s) = &mut updated.protocol {
            s.trusted_certificates = certificates;
        }
        updated.validate(now)?;
        let mut events = Vec::new();
        if !added.is_empty() || !removed.is_empty() {
            events.push(Event::CertificatesChanged {
                connection: connection.id.clone(),
                added,
                removed,
            });
        }
        events.extend(expiring_certificates(&updated, now, self.expiry_window));
        Ok(Refreshed {
            connection: updated,
            events,
        })
    }
}

/// Whether `ip` is a globally routable unicast address (not loopback, private, link-local,
/// shared, documentation, benchmarking, multicast, reserved or unspecified).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            let s = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (s[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
                || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation 2001:db8::/32
                || (s[0] == 0x0064 && s[1] == 0xff9b) // NAT64 64:ff9b::/96 reaches IPv4 space
                || v6 == Ipv6Addr::from([0u16, 0, 0, 0, 0, 0, s[6], s[7]])) // IPv4-compatible
        }
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space 100.64/10
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240) // reserved
}
