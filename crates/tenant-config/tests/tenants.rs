//! Tenants: validation on save, domain claims and verification, home-realm discovery,
//! SCIM tokens and their rotation, events.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use http::{Method, Request};
use scim_core::{InMemoryStore, ScimConfig, ScimService};
use serde_json::{Value, json};
use tenant_config::conformance::{oidc_connection, saml_connection, test_certificate};
use tenant_config::{
    Connection, DirectoryId, Discovery, DnsTxtResolver, EncryptionKey, Event, EventPublisher,
    EventRecord, EventSink, EventingStore, InMemoryTenantStore, Organization, Protocol, ScimToken,
    TenantError, Tenants,
};
use time::{Duration, OffsetDateTime};

struct Dns(Mutex<HashMap<String, Vec<String>>>);

#[async_trait]
impl DnsTxtResolver for Dns {
    async fn txt_records(&self, name: &str) -> Result<Vec<String>, String> {
        let map = self.0.lock().map_err(|e| e.to_string())?;
        match name {
            "_gatehouse-challenge.broken.example" => Err("SERVFAIL".into()),
            _ => Ok(map.get(name).cloned().unwrap_or_default()),
        }
    }
}

fn dns() -> Dns {
    Dns(Mutex::new(HashMap::new()))
}

fn publish(dns: &Dns, name: &str, value: &str) {
    if let Ok(mut m) = dns.0.lock() {
        m.entry(name.to_owned()).or_default().push(value.to_owned());
    }
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

async fn org(tenants: &Tenants, allow_subdomains: bool) -> Organization {
    let mut o = Organization::new("Acme");
    o.allow_subdomains = allow_subdomains;
    tenants
        .save_organization(&o)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    o
}

async fn verified(tenants: &Tenants, dns: &Dns, org: &Organization, domain: &str) {
    let d = tenants
        .claim_domain(&org.id, domain)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    publish(dns, &d.challenge_record(), &format!("\"{}\"", d.challenge));
    tenants
        .verify_domain(&d.name, dns, now())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test]
async fn domain_verification_needs_the_published_challenge() {
    let tenants = Tenants::new(Arc::new(InMemoryTenantStore::new()));
    let dns = dns();
    let acme = org(&tenants, false).await;
    let d = tenants
        .claim_domain(&acme.id, "Acme.Example")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(d.name.as_str(), "acme.example");
    assert_eq!(d.challenge_record(), "_gatehouse-challenge.acme.example");
    assert!(!d.is_verified());

    publish(&dns, "_gatehouse-challenge.acme.example", "v=spf1 -all");
    publish(
        &dns,
        "_gatehouse-challenge.acme.example",
        "gatehouse-domain-verification=wrong",
    );
    let err = tenants.verify_domain(&d.name, &dns, now()).await;
    assert_eq!(
        err.err(),
        Some(TenantError::ChallengeNotFound {
            domain: "acme.example".into(),
            record: "_gatehouse-challenge.acme.example".into(),
            found: 2
        })
    );
    publish(&dns, "_gatehouse-challenge.acme.example", &d.challenge);
    let at = now();
    let v = tenants
        .verify_domain(&d.name, &dns, at)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(v.verification, tenant_config::Verification::Verified { at });

    let broken = tenants
        .claim_domain(&acme.id, "broken.example")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(
        tenants.verify_domain(&broken.name, &dns, now()).await,
        Err(TenantError::Dns { reason, .. }) if reason == "SERVFAIL"
    ));
}

#[tokio::test]
async fn consumer_and_taken_domains_cannot_be_claimed() {
    let tenants = Tenants::new(Arc::new(InMemoryTenantStore::new()));
    let acme = org(&tenants, false).await;
    let globex = org(&tenants, false).await;
    for consumer in ["gmail.com", "Outlook.com", "mail.yahoo.com"] {
        assert!(
            matches!(
                tenants.claim_domain(&acme.id, consumer).await,
                Err(TenantError::ConsumerDomain { .. })
            ),
            "{consumer}"
        );
    }
    assert!(matches!(
        tenants.claim_domain(&acme.id, "not a domain").await,
        Err(TenantError::Invalid { field, .. }) if field == "domain"
    ));
    assert!(tenants.claim_domain(&acme.id, "acme.example").await.is_ok());
    assert_eq!(
        tenants.claim_domain(&globex.id, "ACME.example").await.err(),
        Some(TenantError::Conflict {
            what: "domain",
            value: "acme.example".into()
        })
    );
}

#[tokio::test]
async fn discovery_follows_verified_domains_only() {
    let tenants = Tenants::new(Arc::new(InMemoryTenantStore::new()));
    let dns = dns();
    let acme = org(&tenants, false).await;
    let globex = org(&tenants, true).await;
    let acme_conn = saml_connection(&acme.id);
    tenants
        .save_connection(&acme_conn, now())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let key = EncryptionKey::new("k", [1; 32]).unwrap_or_else(|e| panic!("{e}"));
    let mut globex_off = oidc_connection(&globex.id, &key);
    globex_off.enabled = false;
    let globex_on = oidc_connection(&globex.id, &key);
    tenants
        .save_connection(&globex_off, now())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    tenants
        .save_connection(&globex_on, now())
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    verified(&tenants, &dns, &acme, "acme.example").await;
    verified(&tenants, &dns, &globex, "globex.example").await;
    tenants
        .claim_domain(&acme.id, "pending.example")
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    let sso = |org: &Organization, conn: &Connection| Discovery::Sso {
        organization: org.id.clone(),
        connection: conn.id.clone(),
    };
    let cases = [
        ("jane@acme.example", sso(&acme, &acme_conn)),
        ("Jane@ACME.example", sso(&acme, &acme_conn)),
        // Acme does not allow subdomains, Globex does.
        ("jane@eu.acme.example", Discovery::NoSso),
        ("jo@eu.west.globex.example", sso(&globex, &globex_on)),
        ("jo@globex.example", sso(&globex, &globex_on)),
        ("jo@pending.example", Discovery::NoSso),
        ("jo@unknown.example", Discovery::NoSso),
        ("jo@gmail.com", Discovery::NoSso),
        ("jo@notacme.example", Discovery::NoSso),
    ];
    for (email, expected) in cases {
        assert_eq!(
            tenants.discover(email).await.ok(),
            Some(expected),
            "{email}"
        );
    }
    assert!(
        matches!(tenants.discover("no-at-sign").await, Err(TenantError::Invalid { field, .. }) if field == "email")
    );

    // The default connection wins while enabled.
    let mut globex = globex;
    globex.default_connection = Some(globex_off.id.clone());
    tenants
        .save_organization(&globex)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        tenants.discover("jo@globex.example").await.ok(),
        Some(sso(&globex, &globex_on))
    );
    globex_off.enabled = true;
    tenants
        .save_connection(&globex_off, now())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        tenants.discover("jo@globex.example").await.ok(),
        Some(sso(&globex, &globex_off))
    );
    // A default connection must be the organization's own.
    let mut bad = globex.clone();
    bad.default_connection = Some(acme_conn.id.clone());
    assert!(matches!(
        tenants.save_organization(&bad).await,
        Err(TenantError::Invalid { field, .. }) if field == "organization.default_connection"
    ));

    // Domain enforcement for logins.
    assert_eq!(
        tenants.email_in_organization(&acme, "a@acme.example").await,
        Ok(true)
    );
    assert_eq!(
        tenants
            .email_in_organization(&acme, "a@sub.acme.example")
            .await,
        Ok(false)
    );
    assert_eq!(
        tenants
            .email_in_organization(&acme, "a@pending.example")
            .await,
        Ok(false)
    );
    assert_eq!(
        tenants
            .email_in_organization(&globex, "a@x.globex.example")
            .await,
        Ok(true)
    );
    assert_eq!(
        tenants
            .email_in_organization(&globex, "a@acme.example")
            .await,
        Ok(false)
    );
}

fn invalid_field(r: Result<(), TenantError>) -> String {
    match r {
        Err(TenantError::Invalid { field, .. }) => field,
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[tokio::test]
async fn connections_are_validated_with_the_field_named() {
    let tenants = Tenants::new(Arc::new(InMemoryTenantStore::new()));
    let acme = org(&tenants, false).await;
    let key = EncryptionKey::new("k", [1; 32]).unwrap_or_else(|e| panic!("{e}"));
    let base = saml_connection(&acme.id);
    let saml = |f: &dyn Fn(&mut tenant_config::SamlConnection)| {
        let mut c = base.clone();
        if let Protocol::Saml(s) = &mut c.protocol {
            f(s);
        }
        c
    };
    let cases: Vec<(Connection, &str)> = vec![
        (
            saml(&|s| s.sso_url = "http://idp.example/sso".into()),
            "saml.sso_url",
        ),
        (saml(&|s| s.acs_url = "not a url".into()), "saml.acs_url"),
        (
            saml(&|s| s.idp_entity_id = " ".into()),
            "saml.idp_entity_id",
        ),
        (
            saml(&|s| s.trusted_certificates.clear()),
            "saml.trusted_certificates",
        ),
        (
            saml(&|s| s.trusted_certificates.push(test_certificate(-30, -1))),
            "saml.trusted_certificates[2]",
        ),
        (
            saml(&|s| s.trusted_certificates[1].not_after += Duration::days(1)),
            "saml.trusted_certificates[1]",
        ),
        (
            saml(&|s| {
                s.trusted_certificates[0].pem =
                    "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----".into()
            }),
            "saml.trusted_certificates[0]",
        ),
        (saml(&|s| s.sign_authn_requests = true), "saml.sp_key"),
        (
            saml(&|s| s.slo_url = Some("http://app.example/slo".into())),
            "saml.slo_url",
        ),
        (
            saml(&|s| s.idp_slo_url = Some("ftp://idp.example/slo".into())),
            "saml.idp_slo_url",
        ),
        (
            saml(&|s| {
                s.idp_slo_url = Some("https://idp.example/slo".into());
                s.slo_url = Some("https://app.example/slo".into());
            }),
            "saml.sp_key",
        ),
        (
            saml(&|s| s.require_encrypted_assertions = true),
            "saml.sp_key",
        ),
        (
            saml(&|s| s.attribute_mapping.email = Some(String::new())),
            "saml.attribute_mapping.email",
        ),
        (
            saml(&|s| s.metadata_url = Some("ftp://idp.example/md".into())),
            "saml.metadata_url",
        ),
    ];
    for (c, field) in cases {
        assert_eq!(
            invalid_field(tenants.save_connection(&c, now()).await),
            field
        );
        assert_eq!(
            tenants.store().connection(&c.id).await,
            Ok(None),
            "an invalid connection is not saved"
        );
    }
    let base = oidc_connection(&acme.id, &key);
    let oidc = |f: &dyn Fn(&mut tenant_config::OidcConnection)| {
        let mut c = base.clone();
        if let Protocol::Oidc(o) = &mut c.protocol {
            f(o);
        }
        c
    };
    let cases: Vec<(Connection, &str)> = vec![
        (
            oidc(&|o| o.issuer = "http://login.example".into()),
            "oidc.issuer",
        ),
        (
            oidc(&|o| o.issuer = "https://login.example/?x=1".into()),
            "oidc.issuer",
        ),
        (
            oidc(&|o| o.issuer = "https://login.microsoftonline.com/{tenantid}/v2.0".into()),
            "oidc.issuer",
        ),
        (oidc(&|o| o.client_id = String::new()), "oidc.client_id"),
        (oidc(&|o| o.scopes = vec!["email".into()]), "oidc.scopes"),
        (
            oidc(&|o| o.scopes = vec!["openid".into(), "bad scope".into()]),
            "oidc.scopes[1]",
        ),
        (
            oidc(&|o| o.redirect_uri = "https://".into()),
            "oidc.redirect_uri",
        ),
        (
            oidc(&|o| o.claim_mapping.email = String::new()),
            "oidc.claim_mapping.email",
        ),
    ];
    for (c, field) in cases {
        assert_eq!(
            invalid_field(tenants.save_connection(&c, now()).await),
            field
        );
    }
    let mut named = base.clone();
    named.name = "\u{7}".into();
    assert_eq!(
        invalid_field(tenants.save_connection(&named, now()).await),
        "connection.name"
    );
    // The multi-tenant Entra template is accepted when the profile says so.
    let entra = oidc(&|o| {
        o.issuer = "https://login.microsoftonline.com/{tenantid}/v2.0".into();
        o.profile = tenant_config::ProviderProfile::EntraId { multi_tenant: true };
    });
    assert_eq!(tenants.save_connection(&entra, now()).await, Ok(()));
    assert_eq!(tenants.save_connection(&base, now()).await, Ok(()));
    // Debug never shows the client secret or its ciphertext.
    let debug = format!("{base:?}");
    if let Protocol::Oidc(o) = &base.protocol {
        let stored = o
            .client_secret
            .as_ref()
            .map(|s| s.as_stored().to_owned())
            .unwrap_or_default();
        let cipher = stored.rsplit(':').next().unwrap_or_default();
        assert!(
            !debug.contains(cipher) && !debug.contains("client-secret-value"),
            "{debug}"
        );
    }
    assert!(
        debug.contains("EncryptedSecret(key k, <redacted>)"),
        "{debug}"
    );
}

#[tokio::test]
async fn scim_tokens_rotate_in_two_phases() {
    let tenants = Tenants::new(Arc::new(InMemoryTenantStore::new()));
    let acme = org(&tenants, false).await;
    let t0 = now();
    let (dir, first) = tenants
        .create_directory(&acme.id, "Okta", t0)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(first.expose_secret().starts_with("gh_scim_"));
    let stored = tenants.store().tokens_of(&dir.id).await.unwrap_or_default();
    assert_eq!(stored.len(), 1);
    assert_eq!(
        stored[0].hash.to_hex(),
        first.hash().to_hex(),
        "only the hash is stored"
    );
    assert_eq!(
        tenants.authenticate_token(&first, t0).await,
        Ok(Some(dir.id.clone()))
    );
    let mut near_miss = first.expose_secret().to_owned();
    near_miss.pop();
    assert_eq!(
        tenants
            .authenticate_token(&ScimToken::new(near_miss), t0)
            .await,
        Ok(None)
    );
    assert_eq!(
        tenants.authenticate_token(&ScimToken::new(""), t0).await,
        Ok(None)
    );

    // Phase one: both tokens work during the overlap.
    let (second_id, second) = tenants
        .begin_rotation(&dir.id, Duration::hours(1), t0)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let during = t0 + Duration::minutes(30);
    assert_eq!(
        tenants.authenticate_token(&first, during).await,
        Ok(Some(dir.id.clone()))
    );
    assert_eq!(
        tenants.authenticate_token(&second, during).await,
        Ok(Some(dir.id.clone()))
    );
    // After the overlap only the new one.
    let after = t0 + Duration::hours(1);
    assert_eq!(tenants.authenticate_token(&first, after).await, Ok(None));
    assert_eq!(
        tenants.authenticate_token(&second, after).await,
        Ok(Some(dir.id.clone()))
    );
    // Phase two ends the overlap early.
    tenants
        .complete_rotation(&dir.id, &second_id)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(tenants.authenticate_token(&first, during).await, Ok(None));
    assert_eq!(
        tenants.store().tokens_of(&dir.id).await.map(|t| t.len()),
        Ok(1)
    );
    assert!(
        tenants
            .complete_rotation(&dir.id, &tenant_config::TokenId::generate())
            .await
            .is_err()
    );

    // A disabled directory opens for no token.
    let mut disabled = dir.clone();
    disabled.enabled = false;
    tenants
        .store()
        .save_directory(&disabled)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(tenants.authenticate_token(&second, during).await, Ok(None));
    let other: DirectoryId = DirectoryId::generate();
    assert!(
        tenants
            .begin_rotation(&other, Duration::hours(-1), t0)
            .await
            .is_err()
    );
}

#[derive(Default)]
struct Collect(Mutex<Vec<EventRecord>>);

#[async_trait]
impl EventSink for Collect {
    async fn deliver(&self, record: EventRecord) {
        // A slow sink: later events must still not overtake earlier ones.
        tokio::time::sleep(std::time::Duration::from_millis(record.sequence % 3)).await;
        if let Ok(mut v) = self.0.lock() {
            v.push(record);
        }
    }
}

async fn call(
    service: &ScimService,
    method: Method,
    path: &str,
    body: Value,
    if_match: Option<&str>,
) -> Value {
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/scim+json");
    if let Some(v) = if_match {
        req = req.header("if-match", v);
    }
    let req = req
        .body(Bytes::from(if body.is_null() {
            Vec::new()
        } else {
            body.to_string().into_bytes()
        }))
        .unwrap_or_else(|e| panic!("{e}"));
    let resp = service.handle("https://sp.example/scim/v2", req).await;
    serde_json::from_slice(resp.body()).unwrap_or(Value::Null)
}

#[tokio::test]
async fn provisioning_events_arrive_in_order() {
    let sink = Arc::new(Collect::default());
    let publisher = Arc::new(EventPublisher::new(sink.clone()));
    let dir = DirectoryId::generate();
    let store = EventingStore::new(
        Arc::new(InMemoryStore::new()),
        dir.clone(),
        publisher.clone(),
    );
    let service = ScimService::new(ScimConfig::default(), Arc::new(store));
    let user = call(&service, Method::POST, "/Users", json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "jane@acme.example"
    }), None).await;
    let uid = user["id"].as_str().unwrap_or_default().to_owned();
    let group = call(
        &service,
        Method::POST,
        "/Groups",
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Admins",
            "members": [{"value": uid}]
        }),
        None,
    )
    .await;
    let gid = group["id"].as_str().unwrap_or_default().to_owned();
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "active", "value": false}]});
    call(
        &service,
        Method::PATCH,
        &format!("/Users/{uid}"),
        patch,
        None,
    )
    .await;
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "displayName", "value": "Jane"}]});
    call(
        &service,
        Method::PATCH,
        &format!("/Users/{uid}"),
        patch,
        None,
    )
    .await;
    call(
        &service,
        Method::DELETE,
        &format!("/Users/{uid}"),
        Value::Null,
        None,
    )
    .await;
    call(
        &service,
        Method::DELETE,
        &format!("/Groups/{gid}"),
        Value::Null,
        None,
    )
    .await;
    publisher
        .publish(Event::LoginFailed {
            organization: None,
            connection: None,
            reason: "Destination mismatch".into(),
        })
        .await;

    let records = sink.0.lock().map(|v| v.clone()).unwrap_or_default();
    let seqs: Vec<u64> = records.iter().map(|r| r.sequence).collect();
    assert_eq!(seqs, (1..=records.len() as u64).collect::<Vec<_>>());
    let d = || dir.clone();
    let events: Vec<Event> = records.into_iter().map(|r| r.event).collect();
    assert_eq!(
        events,
        vec![
            Event::UserCreated {
                directory: d(),
                user_id: uid.clone(),
                user_name: Some("jane@acme.example".into())
            },
            Event::GroupCreated {
                directory: d(),
                group_id: gid.clone(),
                display_name: Some("Admins".into())
            },
            Event::MemberAdded {
                directory: d(),
                group_id: gid.clone(),
                member_id: uid.clone()
            },
            Event::UserDeactivated {
                directory: d(),
                user_id: uid.clone()
            },
            Event::UserUpdated {
                directory: d(),
                user_id: uid.clone()
            },
            Event::MemberRemoved {
                directory: d(),
                group_id: gid.clone(),
                member_id: uid.clone()
            },
            Event::UserDeleted {
                directory: d(),
                user_id: uid.clone()
            },
            Event::GroupDeleted {
                directory: d(),
                group_id: gid.clone()
            },
            Event::LoginFailed {
                organization: None,
                connection: None,
                reason: "Destination mismatch".into()
            },
        ]
    );
}

#[tokio::test]
async fn concurrent_publishers_are_delivered_one_at_a_time() {
    let sink = Arc::new(Collect::default());
    let publisher = Arc::new(EventPublisher::new(sink.clone()));
    let mut handles = Vec::new();
    for i in 0..20 {
        let p = publisher.clone();
        handles.push(tokio::spawn(async move {
            p.publish(Event::LoginFailed {
                organization: None,
                connection: None,
                reason: format!("r{i}"),
            })
            .await;
        }));
    }
    for h in handles {
        h.await.unwrap_or_else(|e| panic!("{e}"));
    }
    let records = sink.0.lock().map(|v| v.clone()).unwrap_or_default();
    assert_eq!(
        records.iter().map(|r| r.sequence).collect::<Vec<_>>(),
        (1..=20).collect::<Vec<u64>>()
    );
}

#[test]
fn expiring_certificates_are_reported() {
    let org = tenant_config::OrganizationId::generate();
    let c = saml_connection(&org);
    let t = now();
    // The sample connection has certificates ending in 365 and 30 days.
    let soon = tenant_config::events::expiring_certificates(&c, t, Duration::days(60));
    let Protocol::Saml(s) = &c.protocol else {
        panic!("saml")
    };
    assert_eq!(
        soon,
        vec![Event::CertificateExpiring {
            connection: c.id.clone(),
            fingerprint: s.trusted_certificates[1].sha256_fingerprint.clone(),
            not_after: s.trusted_certificates[1].not_after,
        }]
    );
    assert_eq!(
        tenant_config::events::expiring_certificates(&c, t, Duration::days(7)),
        vec![]
    );
    assert!(s.trusted_certificates[0].is_valid_at(t));
    assert!(!s.trusted_certificates[0].is_valid_at(t + Duration::days(400)));
}

#[test]
fn saml_connections_stored_before_single_logout_still_load() {
    let org = Organization::new("Acme");
    let connection = saml_connection(&org.id);
    let mut json = serde_json::to_value(&connection).unwrap();
    // Internally tagged: the SAML settings sit in `protocol` next to `"type": "saml"`.
    assert_eq!(json["protocol"]["type"], "saml");
    let saml = json["protocol"].as_object_mut().unwrap();
    for field in ["slo_url", "idp_slo_url", "idp_slo_binding"] {
        assert!(saml.remove(field).is_some(), "{field} in {saml:?}");
    }
    let loaded: Connection = serde_json::from_value(json).unwrap();
    let Protocol::Saml(saml) = &loaded.protocol else {
        panic!("not SAML")
    };
    assert_eq!(saml.slo_url, None);
    assert_eq!(saml.idp_slo_url, None);
    assert_eq!(saml.idp_slo_binding, tenant_config::SamlBinding::Redirect);
    assert_eq!(loaded, connection);
}
