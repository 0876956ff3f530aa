//! IdP metadata refresh: the URL and address policy, the size bound, and certificate change
//! and expiry events.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;

use async_trait::async_trait;
use tenant_config::conformance::{saml_connection, test_certificate, test_certificate_pem};
use tenant_config::metadata::is_public;
use tenant_config::{
    Event, HttpResponse, HttpTransport, MetadataRefresher, OrganizationId, Protocol, TenantError,
};
use time::{Duration, OffsetDateTime};

struct Transport {
    dns: HashMap<String, Vec<IpAddr>>,
    status: u16,
    body: Vec<u8>,
    requests: Mutex<Vec<(String, SocketAddr, usize)>>,
}

impl Transport {
    fn new(body: &[u8]) -> Self {
        let mut dns = HashMap::new();
        dns.insert("idp.example.com".to_owned(), vec![ip("93.184.215.14")]);
        dns.insert(
            "mixed.example.com".to_owned(),
            vec![ip("93.184.215.14"), ip("10.1.2.3")],
        );
        dns.insert("inside.example.com".to_owned(), vec![ip("192.168.1.10")]);
        Self {
            dns,
            status: 200,
            body: body.to_vec(),
            requests: Mutex::new(Vec::new()),
        }
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

#[async_trait]
impl HttpTransport for Transport {
    async fn resolve(&self, host: &str, _port: u16) -> Result<Vec<IpAddr>, String> {
        self.dns
            .get(host)
            .cloned()
            .ok_or_else(|| "NXDOMAIN".to_owned())
    }

    async fn get(&self, url: &str, addr: SocketAddr, limit: usize) -> Result<HttpResponse, String> {
        if let Ok(mut r) = self.requests.lock() {
            r.push((url.to_owned(), addr, limit));
        }
        let n = self.body.len().min(limit + 1);
        Ok(HttpResponse {
            status: self.status,
            body: self.body[..n].to_vec(),
        })
    }
}

fn reason(r: Result<Vec<u8>, TenantError>) -> String {
    match r {
        Err(TenantError::Metadata { reason, .. }) => reason,
        other => panic!("expected a metadata error, got {other:?}"),
    }
}

#[tokio::test]
async fn only_https_urls_on_public_addresses_are_fetched() {
    let t = Transport::new(b"<EntityDescriptor/>");
    let r = MetadataRefresher::new();
    assert_eq!(
        r.fetch(&t, "https://idp.example.com/md").await.ok(),
        Some(b"<EntityDescriptor/>".to_vec())
    );
    assert_eq!(
        t.requests.lock().map(|v| v.clone()).unwrap_or_default(),
        vec![(
            "https://idp.example.com/md".to_owned(),
            "93.184.215.14:443"
                .parse()
                .unwrap_or_else(|e| panic!("{e}")),
            1024 * 1024
        )],
        "the request goes to the checked address"
    );
    assert_eq!(
        reason(r.fetch(&t, "http://idp.example.com/md").await),
        "only https is allowed"
    );
    assert_eq!(
        reason(r.fetch(&t, "https://user@idp.example.com/md").await),
        "user info is not allowed"
    );
    assert_eq!(
        reason(r.fetch(&t, "https://127.0.0.1/md").await),
        "127.0.0.1 resolves to non-public address 127.0.0.1"
    );
    assert!(reason(r.fetch(&t, "https://[::1]:8443/md").await).contains("non-public address ::1"));
    assert!(reason(r.fetch(&t, "https://169.254.169.254/latest").await).contains("non-public"));
    assert_eq!(
        reason(r.fetch(&t, "https://mixed.example.com/md").await),
        "mixed.example.com resolves to non-public address 10.1.2.3"
    );
    assert!(reason(r.fetch(&t, "https://nowhere.example.com/md").await).contains("NXDOMAIN"));
    assert_eq!(
        r.clone()
            .dangerous_allow_private_addresses()
            .fetch(&t, "https://inside.example.com/md")
            .await
            .ok(),
        Some(b"<EntityDescriptor/>".to_vec())
    );
    assert_eq!(
        reason(
            r.clone()
                .max_bytes(5)
                .fetch(&t, "https://idp.example.com/md")
                .await
        ),
        "larger than 5 bytes"
    );
    let mut missing = Transport::new(b"");
    missing.status = 404;
    assert_eq!(
        reason(r.fetch(&missing, "https://idp.example.com/md").await),
        "status 404"
    );
}

#[test]
fn public_addresses() {
    for public in [
        "93.184.215.14",
        "8.8.8.8",
        "2606:4700::1111",
        "::ffff:8.8.8.8",
    ] {
        assert!(is_public(ip(public)), "{public}");
    }
    for private in [
        "127.0.0.1",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.0.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "255.255.255.255",
        "224.0.0.1",
        "192.0.2.1",
        "198.18.0.1",
        "240.0.0.1",
        "::1",
        "::",
        "fc00::1",
        "fd12::1",
        "fe80::1",
        "ff02::1",
        "2001:db8::1",
        "::ffff:127.0.0.1",
        "64:ff9b::a00:1",
        "::10.0.0.1",
    ] {
        assert!(!is_public(ip(private)), "{private}");
    }
}

#[tokio::test]
async fn refresh_replaces_certificates_and_reports_changes() {
    let org = OrganizationId::generate();
    let mut conn = saml_connection(&org);
    let Protocol::Saml(saml) = &mut conn.protocol else {
        panic!("saml")
    };
    saml.metadata_url = Some("https://idp.example.com/md".into());
    let kept = saml.trusted_certificates[0].clone();
    let dropped = saml.trusted_certificates[1].clone();
    let new_pem = test_certificate_pem(-1, 10);

    let t = Transport::new(b"metadata bytes");
    let pems = vec![kept.pem.clone(), new_pem];
    let parse = move |bytes: &[u8]| -> Result<Vec<String>, String> {
        assert_eq!(bytes, b"metadata bytes");
        Ok(pems.clone())
    };
    let now = OffsetDateTime::now_utc();
    let refreshed = MetadataRefresher::new()
        .refresh(&t, &conn, &parse, now)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let Protocol::Saml(updated) = &refreshed.connection.protocol else {
        panic!("saml")
    };
    let fingerprints: Vec<&str> = updated
        .trusted_certificates
        .iter()
        .map(|c| c.sha256_fingerprint.as_str())
        .collect();
    let new_fp = updated.trusted_certificates[1].sha256_fingerprint.clone();
    assert_eq!(
        fingerprints,
        vec![kept.sha256_fingerprint.as_str(), new_fp.as_str()]
    );
    assert_eq!(
        refreshed.events,
        vec![
            Event::CertificatesChanged {
                connection: conn.id.clone(),
                added: vec![new_fp.clone()],
                removed: vec![dropped.sha256_fingerprint.clone()],
            },
            Event::CertificateExpiring {
                connection: conn.id.clone(),
                fingerprint: new_fp,
                not_after: updated.trusted_certificates[1].not_after,
            },
        ]
    );

    // Same certificates: no change event; a short window: no expiry event.
    let same = {
        let p = vec![kept.pem.clone()];
        move |_: &[u8]| -> Result<Vec<String>, String> { Ok(p.clone()) }
    };
    let mut only_kept = conn.clone();
    if let Protocol::Saml(s) = &mut only_kept.protocol {
        s.trusted_certificates = vec![kept.clone()];
    }
    let quiet = MetadataRefresher::new()
        .expiry_window(Duration::days(1))
        .refresh(&t, &only_kept, &same, now)
        .await;
    assert_eq!(quiet.map(|r| r.events).ok(), Some(vec![]));

    // Rejected metadata, bad PEMs and expired certificates change nothing.
    let rejecting = |_: &[u8]| -> Result<Vec<String>, String> { Err("signature invalid".into()) };
    assert!(matches!(
        MetadataRefresher::new().refresh(&t, &conn, &rejecting, now).await,
        Err(TenantError::Metadata { reason, .. }) if reason == "metadata rejected: signature invalid"
    ));
    let garbage = |_: &[u8]| -> Result<Vec<String>, String> { Ok(vec!["not a cert".into()]) };
    assert!(matches!(
        MetadataRefresher::new().refresh(&t, &conn, &garbage, now).await,
        Err(TenantError::Metadata { reason, .. }) if reason.contains("signing certificate 0")
    ));
    let expired = {
        let p = vec![test_certificate(-10, -1).pem];
        move |_: &[u8]| -> Result<Vec<String>, String> { Ok(p.clone()) }
    };
    assert!(matches!(
        MetadataRefresher::new().refresh(&t, &conn, &expired, now).await,
        Err(TenantError::Invalid { field, .. }) if field == "saml.trusted_certificates[0]"
    ));
    let none = |_: &[u8]| -> Result<Vec<String>, String> { Ok(vec![]) };
    assert!(matches!(
        MetadataRefresher::new().refresh(&t, &conn, &none, now).await,
        Err(TenantError::Invalid { field, .. }) if field == "saml.trusted_certificates"
    ));
}
