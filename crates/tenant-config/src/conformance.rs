//! The conformance suite every storage implementation runs: call these functions from a
//! test with a fresh store. Each function panics, naming the failed expectation, when the
//! store behaves differently from the contract in [`crate::store`] (and, for SCIM resources,
//! from `scim_core`'s `InMemoryStore` on the same data).
//!
//! Ids are random, so the functions may run one after another on one database.

use std::sync::Arc;

use openssl::asn1::Asn1Time;
use openssl::bn::BigNum;
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use openssl::x509::{X509Builder, X509NameBuilder};
use scim_core::filter::AttrPath;
use scim_core::store::{ResourceStore, StoreError, StoreQuery, UniqueKey};
use scim_core::{InMemoryStore, ResourceKind, ResourceSchema, parse_filter};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use crate::error::TenantError;
use crate::id::{ConnectionId, DirectoryId, DomainName, OrganizationId, TokenId};
use crate::model::{
    AttributeMapping, ClaimMapping, Connection, Domain, OidcConnection, Organization, Protocol,
    ProviderProfile, SamlConnection, ScimDirectory, TrustedCertificate, Verification,
};
use crate::secret::{EncryptionKey, SecretString};
use crate::store::{LoginState, LoginStateStore, ReplayCache, TenantStore};
use crate::token::{ScimToken, StoredToken};

/// A self-signed RSA certificate valid from `not_before_days` to `not_after_days` (days from
/// now, negative for the past), for tests.
pub fn test_certificate(not_before_days: i64, not_after_days: i64) -> TrustedCertificate {
    let pem = test_certificate_pem(not_before_days, not_after_days);
    TrustedCertificate::from_pem(&pem).unwrap_or_else(|e| panic!("test certificate: {e}"))
}

/// The PEM of [`test_certificate`].
pub fn test_certificate_pem(not_before_days: i64, not_after_days: i64) -> String {
    let build = || -> Result<String, openssl::error::ErrorStack> {
        let key = PKey::from_rsa(Rsa::generate(2048)?)?;
        let mut name = X509NameBuilder::new()?;
        name.append_entry_by_text("CN", "gatehouse test idp")?;
        let name = name.build();
        let mut b = X509Builder::new()?;
        b.set_version(2)?;
        let serial = BigNum::from_u32(rand::random::<u32>() >> 1)?.to_asn1_integer()?;
        b.set_serial_number(&serial)?;
        b.set_subject_name(&name)?;
        b.set_issuer_name(&name)?;
        b.set_pubkey(&key)?;
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let not_before = Asn1Time::from_unix(now + not_before_days * 86_400)?;
        let not_after = Asn1Time::from_unix(now + not_after_days * 86_400)?;
        b.set_not_before(&not_before)?;
        b.set_not_after(&not_after)?;
        b.sign(&key, MessageDigest::sha256())?;
        let pem = b.build().to_pem()?;
        Ok(String::from_utf8_lossy(&pem).into_owned())
    };
    build().unwrap_or_else(|e| panic!("test certificate: {e}"))
}

/// A valid SAML connection of `org`, for tests.
pub fn saml_connection(org: &OrganizationId) -> Connection {
    Connection {
        id: ConnectionId::generate(),
        organization: org.clone(),
        name: "Okta SAML".into(),
        enabled: true,
        protocol: Protocol::Saml(SamlConnection {
            idp_entity_id: "http://www.okta.com/exk1".into(),
            sso_url: "https://acme.okta.com/app/sso/saml".into(),
            metadata_url: None,
            trusted_certificates: vec![test_certificate(-1, 365), test_certificate(-1, 30)],
            sp_entity_id: "https://sp.example.com/saml".into(),
            acs_url: "https://sp.example.com/saml/acs".into(),
            attribute_mapping: AttributeMapping::default(),
            allow_idp_initiated: false,
            sign_authn_requests: false,
            require_encrypted_assertions: false,
            allow_sha1_insecure: false,
            sp_key: None,
            slo_url: None,
            idp_slo_url: None,
            idp_slo_binding: Default::default(),
        }),
    }
}

/// A valid OIDC connection of `org` with a client secret encrypted by `key`, for tests.
pub fn oidc_connection(org: &OrganizationId, key: &EncryptionKey) -> Connection {
    let id = ConnectionId::generate();
    let secret = key.encrypt(
        &SecretString::new("client-secret-value"),
        &format!("oidc.client_secret:{id}"),
    );
    Connection {
        id,
        organization: org.clone(),
        name: "Entra ID".into(),
        enabled: true,
        protocol: Protocol::Oidc(OidcConnection {
            issuer: "https://login.microsoftonline.com/tid/v2.0".into(),
            client_id: "client-1".into(),
            client_secret: Some(secret),
            redirect_uri: "https://sp.example.com/oidc/callback".into(),
            scopes: vec!["openid".into(), "email".into(), "profile".into()],
            claim_mapping: ClaimMapping::default(),
            profile: ProviderProfile::EntraId {
                multi_tenant: false,
            },
            accept_email_verified_as_string: true,
        }),
    }
}

fn ok<T>(what: &str, r: Result<T, TenantError>) -> T {
    r.unwrap_or_else(|e| panic!("{what}: unexpected error {e}"))
}

fn domain_name(s: &str) -> DomainName {
    ok("domain name", DomainName::new(s))
}

/// Runs [`tenant_store`], [`login_states`], [`replay_cache`] and [`scim_resources`].
pub async fn run_all<S>(store: &S, scim: &dyn ResourceStore)
where
    S: TenantStore + LoginStateStore + ReplayCache,
{
    tenant_store(store).await;
    login_states(store).await;
    replay_cache(store).await;
    scim_resources(scim).await;
}

/// Organizations, domains, connections, directories and tokens.
pub async fn tenant_store(store: &dyn TenantStore) {
    let key = ok("key", EncryptionKey::new("test", [9; 32]));
    let mut org = Organization::new("Acme");
    let other = Organization::new("Globex");
    ok("save org", store.save_organization(&org).await);
    ok("save other org", store.save_organization(&other).await);
    assert_eq!(
        ok("get org", store.organization(&org.id).await),
        Some(org.clone())
    );
    org.allow_subdomains = true;
    ok("update org", store.save_organization(&org).await);
    assert_eq!(
        ok("get updated org", store.organization(&org.id).await).map(|o| o.allow_subdomains),
        Some(true),
        "saving an organization again replaces it"
    );
    let listed = ok("list orgs", store.organizations().await);
    assert!(
        listed.contains(&org) && listed.contains(&other),
        "organizations() lists both"
    );
    let ids: Vec<&OrganizationId> = listed.iter().map(|o| &o.id).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted, "organizations() is ordered by id");
    let ghost = OrganizationId::generate();
    assert_eq!(ok("missing org", store.organization(&ghost).await), None);

    // Domains: one organization per domain, children need a parent.
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let dn = domain_name(&format!("acme-{}.example", &suffix[..12]));
    let mut domain = Domain {
        name: dn.clone(),
        organization: org.id.clone(),
        challenge: "gatehouse-domain-verification=abc".into(),
        verification: Verification::Pending,
    };
    ok("insert domain", store.insert_domain(&domain).await);
    let stolen = Domain {
        organization: other.id.clone(),
        ..domain.clone()
    };
    assert!(
        matches!(
            store.insert_domain(&stolen).await,
            Err(TenantError::Conflict { what: "domain", .. })
        ),
        "a domain held by one organization cannot be inserted for another"
    );
    assert!(
        matches!(
            store.insert_domain(&domain).await,
            Err(TenantError::Conflict { .. })
        ),
        "inserting a domain twice conflicts"
    );
    let orphan = Domain {
        name: domain_name(&format!("orphan-{}.example", &suffix[..12])),
        organization: ghost.clone(),
        ..domain.clone()
    };
    assert!(
        matches!(
            store.insert_domain(&orphan).await,
            Err(TenantError::NotFound {
                what: "organization",
                ..
            })
        ),
        "a domain needs an existing organization"
    );
    assert!(
        matches!(
            store.update_domain(&stolen).await,
            Err(TenantError::NotFound { .. })
        ),
        "update_domain cannot move a domain to another organization"
    );
    let at =
        OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    domain.verification = Verification::Verified { at };
    ok("update domain", store.update_domain(&domain).await);
    assert_eq!(
        ok("get domain", store.domain(&dn).await),
        Some(domain.clone())
    );
    let dn2 = domain_name(&format!("a-{}.example", &suffix[..12]));
    let domain2 = Domain {
        name: dn2.clone(),
        ..domain.clone()
    };
    ok("insert second domain", store.insert_domain(&domain2).await);
    assert_eq!(
        ok("domains_of", store.domains_of(&org.id).await),
        vec![domain2.clone(), domain.clone()],
        "domains_of lists an organization's domains by name"
    );
    assert_eq!(
        ok("domains_of other", store.domains_of(&other.id).await),
        vec![]
    );
    ok("delete domain", store.delete_domain(&dn2).await);
    assert_eq!(ok("deleted domain", store.domain(&dn2).await), None);
    assert!(matches!(
        store.delete_domain(&dn2).await,
        Err(TenantError::NotFound { .. })
    ));

    // Connections round-trip whole, secrets stay encrypted.
    let saml = saml_connection(&org.id);
    let oidc = oidc_connection(&org.id, &key);
    ok("save saml", store.save_connection(&saml).await);
    ok("save oidc", store.save_connection(&oidc).await);
    assert_eq!(
        ok("get saml", store.connection(&saml.id).await),
        Some(saml.clone())
    );
    let loaded = ok("get oidc", store.connection(&oidc.id).await);
    assert_eq!(
        loaded.as_ref(),
        Some(&oidc),
        "an OIDC connection round-trips"
    );
    if let Some(Connection {
        protocol: Protocol::Oidc(o),
        id,
        ..
    }) = &loaded
    {
        let secret = o
            .client_secret
            .as_ref()
            .map(|s| key.decrypt(s, &format!("oidc.client_secret:{id}")));
        assert_eq!(
            secret
                .and_then(Result::ok)
                .map(|s| s.expose_secret().to_owned())
                .as_deref(),
            Some("client-secret-value"),
            "the stored client secret decrypts"
        );
    }
    let mut expected = vec![saml.clone(), oidc.clone()];
    expected.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(
        ok("connections_of", store.connections_of(&org.id).await),
        expected
    );
    let moved = Connection {
        organization: other.id.clone(),
        ..saml.clone()
    };
    assert!(
        matches!(
            store.save_connection(&moved).await,
            Err(TenantError::Conflict { .. })
        ),
        "a connection cannot move to another organization"
    );
    let orphan_conn = Connection {
        id: ConnectionId::generate(),
        organization: ghost.clone(),
        ..saml.clone()
    };
    assert!(matches!(
        store.save_connection(&orphan_conn).await,
        Err(TenantError::NotFound {
            what: "organization",
            ..
        })
    ));
    let mut disabled = oidc.clone();
    disabled.enabled = false;
    ok("update oidc", store.save_connection(&disabled).await);
    assert_eq!(
        ok("get disabled", store.connection(&oidc.id).await).map(|c| c.enabled),
        Some(false)
    );
    ok("delete oidc", store.delete_connection(&oidc.id).await);
    assert_eq!(ok("deleted oidc", store.connection(&oidc.id).await), None);
    assert!(matches!(
        store.delete_connection(&oidc.id).await,
        Err(TenantError::NotFound { .. })
    ));

    // Directories and tokens.
    let dir = ScimDirectory {
        id: DirectoryId::generate(),
        organization: org.id.clone(),
        name: "Okta provisioning".into(),
        enabled: true,
    };
    ok("save directory", store.save_directory(&dir).await);
    assert_eq!(
        ok("get directory", store.directory(&dir.id).await),
        Some(dir.clone())
    );
    assert_eq!(
        ok("directories_of", store.directories_of(&org.id).await),
        vec![dir.clone()]
    );
    let moved_dir = ScimDirectory {
        organization: other.id.clone(),
        ..dir.clone()
    };
    assert!(matches!(
        store.save_directory(&moved_dir).await,
        Err(TenantError::Conflict { .. })
    ));

    let t0 =
        OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let secret_a = ScimToken::generate("gh_scim_");
    let token_a = StoredToken {
        id: TokenId::generate(),
        directory: dir.id.clone(),
        hash: secret_a.hash(),
        created_at: t0,
        expires_at: None,
    };
    ok("insert token", store.insert_token(&token_a).await);
    let same_hash = StoredToken {
        id: TokenId::generate(),
        ..token_a.clone()
    };
    assert!(
        matches!(
            store.insert_token(&same_hash).await,
            Err(TenantError::Conflict { .. })
        ),
        "a token hash is stored once"
    );
    let orphan_token = StoredToken {
        id: TokenId::generate(),
        directory: DirectoryId::generate(),
        hash: ScimToken::generate("gh_scim_").hash(),
        created_at: t0,
        expires_at: None,
    };
    assert!(matches!(
        store.insert_token(&orphan_token).await,
        Err(TenantError::NotFound {
            what: "directory",
            ..
        })
    ));
    let secret_b = ScimToken::generate("gh_scim_");
    let mut token_b = StoredToken {
        id: TokenId::generate(),
        directory: dir.id.clone(),
        hash: secret_b.hash(),
        created_at: t0 + Duration::seconds(5),
        expires_at: None,
    };
    ok("insert token b", store.insert_token(&token_b).await);
    let found = ok(
        "lookup",
        store
            .tokens_by_lookup_key(&secret_a.hash().lookup_key())
            .await,
    );
    assert_eq!(
        found
            .iter()
            .map(|t| (t.id.clone(), t.hash.to_hex()))
            .collect::<Vec<_>>(),
        vec![(token_a.id.clone(), token_a.hash.to_hex())],
        "tokens_by_lookup_key finds exactly the token with that key"
    );
    assert!(
        ok(
            "lookup none",
            store.tokens_by_lookup_key("0000000000000000").await
        )
        .is_empty()
    );
    token_b.expires_at = Some(t0 + Duration::hours(1));
    ok("update token", store.update_token(&token_b).await);
    let listed: Vec<(TokenId, Option<OffsetDateTime>)> =
        ok("tokens_of", store.tokens_of(&dir.id).await)
            .into_iter()
            .map(|t| (t.id, t.expires_at))
            .collect();
    assert_eq!(
        listed,
        vec![
            (token_a.id.clone(), None),
            (token_b.id.clone(), token_b.expires_at)
        ],
        "tokens_of lists oldest first with their expiry"
    );
    ok("delete token", store.delete_token(&token_b.id).await);
    assert!(matches!(
        store.delete_token(&token_b.id).await,
        Err(TenantError::NotFound { .. })
    ));

    // Deleting the organization takes everything of it along, and nothing else.
    let other_dir = ScimDirectory {
        id: DirectoryId::generate(),
        organization: other.id.clone(),
        name: "Globex".into(),
        enabled: true,
    };
    ok(
        "save other directory",
        store.save_directory(&other_dir).await,
    );
    ok("delete org", store.delete_organization(&org.id).await);
    assert_eq!(ok("org gone", store.organization(&org.id).await), None);
    assert_eq!(ok("domain gone", store.domain(&dn).await), None);
    assert_eq!(
        ok("connection gone", store.connection(&saml.id).await),
        None
    );
    assert_eq!(ok("directory gone", store.directory(&dir.id).await), None);
    assert!(
        ok(
            "token gone",
            store
                .tokens_by_lookup_key(&secret_a.hash().lookup_key())
                .await
        )
        .is_empty()
    );
    assert_eq!(
        ok("other dir kept", store.directory(&other_dir.id).await),
        Some(other_dir.clone())
    );
    assert!(matches!(
        store.delete_organization(&org.id).await,
        Err(TenantError::NotFound { .. })
    ));
    ok(
        "delete other directory",
        store.delete_directory(&other_dir.id).await,
    );
    ok(
        "delete other org",
        store.delete_organization(&other.id).await,
    );
}

fn state(id: &str, expires_at: OffsetDateTime) -> LoginState {
    LoginState {
        id: id.to_owned(),
        organization: OrganizationId::generate(),
        connection: ConnectionId::generate(),
        return_to: Some("/after".into()),
        protocol_data: SecretString::new("{\"nonce\":\"n-1\"}"),
        expires_at,
    }
}

/// One-time login state.
pub async fn login_states(store: &dyn LoginStateStore) {
    let now =
        OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let id = format!("st-{}", uuid::Uuid::new_v4().simple());
    let s = state(&id, now + Duration::minutes(10));
    ok("put state", store.put_login_state(&s).await);
    assert!(
        matches!(
            store.put_login_state(&s).await,
            Err(TenantError::Conflict { .. })
        ),
        "a state id is stored once"
    );
    let taken = ok("take", store.take_login_state(&id, now).await);
    let taken = taken.unwrap_or_else(|| panic!("a fresh state is taken"));
    assert_eq!(
        (
            taken.organization,
            taken.connection,
            taken.return_to,
            taken.protocol_data.expose_secret().to_owned(),
            taken.expires_at
        ),
        (
            s.organization.clone(),
            s.connection.clone(),
            s.return_to.clone(),
            s.protocol_data.expose_secret().to_owned(),
            s.expires_at
        ),
        "a taken state carries what was stored"
    );
    assert!(
        ok("take twice", store.take_login_state(&id, now).await).is_none(),
        "a state is consumed once"
    );

    let expired_id = format!("st-{}", uuid::Uuid::new_v4().simple());
    ok(
        "put expiring",
        store
            .put_login_state(&state(&expired_id, now + Duration::minutes(1)))
            .await,
    );
    assert!(
        ok(
            "take expired",
            store
                .take_login_state(&expired_id, now + Duration::minutes(1))
                .await
        )
        .is_none(),
        "a state is refused at its expiry"
    );
    assert!(
        ok(
            "take unknown",
            store.take_login_state("no-such-state", now).await
        )
        .is_none()
    );

    let purge_id = format!("st-{}", uuid::Uuid::new_v4().simple());
    let keep_id = format!("st-{}", uuid::Uuid::new_v4().simple());
    let far = now + Duration::days(3650);
    ok(
        "put purge",
        store
            .put_login_state(&state(&purge_id, now - Duration::seconds(1)))
            .await,
    );
    ok(
        "put keep",
        store.put_login_state(&state(&keep_id, far)).await,
    );
    let purged = ok("purge", store.purge_login_states(now).await);
    assert!(
        purged >= 1,
        "purge removed the expired state (removed {purged})"
    );
    assert!(
        ok("take kept", store.take_login_state(&keep_id, now).await).is_some(),
        "purge keeps live states"
    );
    assert!(
        store.put_login_state(&state("", far)).await.is_err(),
        "an empty state id is refused"
    );
    assert!(
        store
            .put_login_state(&state(&"x".repeat(129), far))
            .await
            .is_err(),
        "a long state id is refused"
    );
}

/// The replay cache.
pub async fn replay_cache(store: &dyn ReplayCache) {
    let now =
        OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let scope = format!("conn_{}", uuid::Uuid::new_v4().simple());
    let until = now + Duration::minutes(5);
    assert!(
        ok("first", store.accept_once(&scope, "_a1", until, now).await),
        "a new id is accepted"
    );
    assert!(
        !ok("replay", store.accept_once(&scope, "_a1", until, now).await),
        "a replay is refused"
    );
    assert!(
        !ok(
            "replay later",
            store
                .accept_once(&scope, "_a1", until, now + Duration::minutes(4))
                .await
        ),
        "a replay before expiry is refused"
    );
    assert!(
        ok(
            "other scope",
            store
                .accept_once(&format!("{scope}-2"), "_a1", until, now)
                .await
        ),
        "scopes are separate"
    );
    assert!(ok(
        "other id",
        store.accept_once(&scope, "_a2", until, now).await
    ));
    assert!(
        ok(
            "after expiry",
            store
                .accept_once(&scope, "_a1", until + Duration::minutes(5), until)
                .await
        ),
        "an id is accepted again once its record expired"
    );
    assert!(
        !ok(
            "replay of renewed",
            store.accept_once(&scope, "_a1", until, until).await
        ),
        "the renewed record refuses replays"
    );
    let purged = ok(
        "purge",
        store.purge_replay_cache(until + Duration::days(1)).await,
    );
    assert!(
        purged >= 2,
        "purge removed the expired records (removed {purged})"
    );
    assert!(ok(
        "after purge",
        store
            .accept_once(
                &scope,
                "_a2",
                until + Duration::days(2),
                until + Duration::days(1)
            )
            .await
    ));
}

/// Races: `tasks` tasks take one login state, insert one assertion id and create one
/// `userName` at the same time; exactly one wins each race.
pub async fn races(
    login: Arc<dyn LoginStateStore>,
    replay: Arc<dyn ReplayCache>,
    scim: Arc<dyn ResourceStore>,
    tasks: usize,
) {
    let now = OffsetDateTime::now_utc();
    let id = format!("race-{}", uuid::Uuid::new_v4().simple());
    ok(
        "put",
        login
            .put_login_state(&state(&id, now + Duration::minutes(5)))
            .await,
    );
    let taken = race(tasks, |_| {
        let (login, id) = (login.clone(), id.clone());
        async move { login.take_login_state(&id, now).await }
    })
    .await;
    let winners = count_wins(taken, |r| match r {
        Ok(Some(_)) => true,
        Ok(None) => false,
        Err(e) => panic!("take_login_state failed under contention: {e}"),
    });
    assert_eq!(winners, 1, "exactly one task takes the login state");

    let assertion = format!("_{}", uuid::Uuid::new_v4().simple());
    let accepted = race(tasks, |_| {
        let (replay, assertion) = (replay.clone(), assertion.clone());
        async move {
            replay
                .accept_once("race-scope", &assertion, now + Duration::minutes(5), now)
                .await
        }
    })
    .await;
    let winners = count_wins(accepted, |r| match r {
        Ok(fresh) => fresh,
        Err(e) => panic!("accept_once failed under contention: {e}"),
    });
    assert_eq!(winners, 1, "exactly one task records the assertion id");

    let user_name = format!("race-{}@example.com", uuid::Uuid::new_v4().simple());
    let inserted = race(tasks, |i| {
        let (scim, user_name) = (scim.clone(), user_name.clone());
        async move {
            let id = format!("race-user-{i}-{}", uuid::Uuid::new_v4().simple());
            let (resource, unique) = user(&id, &user_name, 1);
            scim.insert(&ResourceKind::User, resource, unique).await
        }
    })
    .await;
    let winners = count_wins(inserted, |r| match r {
        Ok(()) => true,
        Err(StoreError::Conflict { attribute, value }) => {
            assert_eq!(
                (attribute.as_str(), value.as_str()),
                ("userName", user_name.as_str())
            );
            false
        }
        Err(e) => panic!("insert failed under contention: {e}"),
    });
    assert_eq!(winners, 1, "exactly one task creates the userName");
}

/// Spawns `tasks` tasks at once, task `i` running `task(i)`, and returns their results in
/// task order; a task that panics fails the check.
async fn race<T, Fut>(tasks: usize, task: impl Fn(usize) -> Fut) -> Vec<T>
where
    T: Send + 'static,
    Fut: std::future::Future<Output = T> + Send + 'static,
{
    let handles: Vec<_> = (0..tasks).map(|i| tokio::spawn(task(i))).collect();
    let mut results = Vec::with_capacity(tasks);
    for h in handles {
        results.push(h.await.unwrap_or_else(|e| panic!("task: {e}")));
    }
    results
}

/// How many of `results` `won` says won their race, in task order.
fn count_wins<T>(results: Vec<T>, won: impl FnMut(T) -> bool) -> usize {
    results.into_iter().map(won).filter(|w| *w).count()
}

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

fn meta(kind: &str, id: &str, version: u64, created: &str) -> Value {
    json!({
        "resourceType": kind,
        "created": created,
        "lastModified": created,
        "location": format!("https://example.com/scim/v2/{kind}s/{id}"),
        "version": scim_core::resource::format_version(version),
    })
}

/// A stored User with `id` and `userName` at `version`, and its uniqueness key.
pub fn user(id: &str, user_name: &str, version: u64) -> (Value, Vec<UniqueKey>) {
    let resource = json!({
        "schemas": [USER],
        "id": id,
        "userName": user_name,
        "active": true,
        "meta": meta("User", id, version, "2026-01-01T00:00:00Z"),
    });
    (resource, vec![user_name_key(user_name)])
}

fn user_name_key(user_name: &str) -> UniqueKey {
    UniqueKey {
        attribute: "userName".into(),
        value: user_name.to_lowercase(),
    }
}

/// The users and groups [`scim_resources`] loads: `n` users with varied attributes and
/// three groups.
pub fn sample_directory(n: usize) -> Vec<(ResourceKind, Value, Vec<UniqueKey>)> {
    let mut out = Vec::new();
    for i in 0..n {
        let id = format!("u-{i:04}");
        let name = match i {
            3 => "Ärger.Åsa".to_owned(),
            4 => "ÄRGER.bo".to_owned(),
            5 => "a%b_c".to_owned(),
            6 => "axbyc".to_owned(),
            _ => format!("{}{i:04}", if i % 2 == 0 { "User" } else { "user" }),
        };
        let created = format!(
            "2026-01-{:02}T{:02}:00:00{}",
            1 + i % 28,
            i % 24,
            if i % 3 == 0 { "Z" } else { "+02:00" }
        );
        let family = ["Johnson", "Smith", "Lee", "Ørsted"][i % 4];
        let mut u = json!({
            "schemas": [USER],
            "id": id,
            "userName": name,
            "externalId": format!("EXT-{}", i % 17),
            "active": i % 5 != 0,
            "name": {"familyName": family, "givenName": format!("G{i}")},
            "emails": [
                {"value": format!("{name}@example.com"), "type": "work", "primary": true},
                {"value": format!("{name}@home.example"), "type": "home"}
            ],
            "meta": meta("User", &id, 1 + (i as u64 % 3), &created),
        });
        if i % 4 == 0 {
            u["displayName"] = json!(format!("Display {}", i % 9));
        }
        if i % 6 == 0 {
            u["title"] = json!("Engineer");
        }
        if i % 7 == 0 {
            u["displayName"] = json!("");
        }
        out.push((ResourceKind::User, u, vec![user_name_key(&name)]));
    }
    for (g, name, members) in [
        ("g-admins", "Admins", vec!["u-0001", "u-0002", "u-0003"]),
        ("g-eng", "Engineering", vec!["u-0002", "u-0010", "g-admins"]),
        ("g-empty", "Nobody", vec![]),
    ] {
        let members: Vec<Value> = members
            .iter()
            .filter(|m| m.starts_with("g-") || m[2..].parse::<usize>().is_ok_and(|i| i < n))
            .map(|m| json!({"value": m, "type": if m.starts_with("g-") {"Group"} else {"User"}}))
            .collect();
        let group = json!({
            "schemas": [GROUP],
            "id": g,
            "displayName": name,
            "members": members,
            "meta": meta("Group", g, 1, "2026-02-01T00:00:00Z"),
        });
        let key = UniqueKey {
            attribute: "displayName".into(),
            value: name.to_lowercase(),
        };
        out.push((ResourceKind::Group, group, vec![key]));
    }
    out
}

/// User filters that [`scim_resources`] lists with.
pub const USER_FILTERS: &[&str] = &[
    "userName eq \"user0011\"",
    "userName eq \"USER0011\"",
    "userName eq \"ärger.åsa\"",
    "urn:ietf:params:scim:schemas:core:2.0:User:userName eq \"user0008\"",
    "userName sw \"user00\"",
    "userName sw \"ÄRGER\"",
    "userName sw \"a%\"",
    "userName sw \"a_b\"",
    "userName gt \"user0030\" and userName le \"user0040\"",
    "userName lt \"b\"",
    "userName ge \"user0040\" or userName eq \"user0001\"",
    "userName ne \"user0001\"",
    "userName ew \"07\"",
    "userName co \"er00\"",
    "userName pr",
    "externalId eq \"EXT-3\"",
    "externalId eq \"ext-3\"",
    "externalId sw \"EXT-1\"",
    "externalId gt \"EXT-5\"",
    "id eq \"u-0012\"",
    "id eq \"U-0012\"",
    "displayName pr",
    "displayName eq \"display 4\"",
    "title pr",
    "active eq false",
    "active eq true and userName sw \"user001\"",
    "not (active eq true)",
    "name.familyName co \"son\"",
    "emails[type eq \"work\" and value co \"user002\"]",
    "emails.value ew \"home.example\"",
    "meta.created gt \"2026-01-10T00:00:00Z\"",
    "meta.lastModified le \"2026-01-05T05:00:00+02:00\"",
    "groups[value eq \"g-admins\"]",
    "groups.display eq \"Engineering\" or userName eq \"user0005\"",
    "userName eq 3",
    "userName eq null",
    "(userName sw \"user\" or externalId eq \"EXT-2\") and not (name.familyName eq \"Lee\")",
];

/// Group filters that [`scim_resources`] lists with.
pub const GROUP_FILTERS: &[&str] = &[
    "displayName eq \"admins\"",
    "displayName sw \"Eng\"",
    "members[value eq \"u-0002\"]",
    "members pr",
    "id gt \"g-b\"",
];

/// SCIM resources: every operation and every list query gives the same result as
/// `scim_core::InMemoryStore` on the same data. `store` must hold no resources.
pub async fn scim_resources(store: &dyn ResourceStore) {
    let reference = InMemoryStore::new();
    let users = ResourceSchema::user();
    let groups = ResourceSchema::group();
    for (kind, resource, unique) in sample_directory(60) {
        let a = reference
            .insert(&kind, resource.clone(), unique.clone())
            .await;
        let b = store.insert(&kind, resource, unique).await;
        assert_eq!(a, b, "insert");
    }

    let sorts: [Option<AttrPath>; 4] = [
        None,
        Some(AttrPath::simple("userName")),
        Some(AttrPath::simple("meta")).map(|mut p| {
            p.sub = Some("created".into());
            p
        }),
        Some(AttrPath::simple("title")),
    ];
    let pages = [(1, 100), (1, 7), (5, 3), (58, 10), (1, 0), (200, 5)];
    for text in USER_FILTERS.iter().copied().map(Some).chain([None]) {
        let filter = text.map(|t| parse_filter(t).unwrap_or_else(|e| panic!("{t}: {e}")));
        // Every page unsorted; every sort on two pages.
        let unsorted = pages.iter().map(|&p| (&sorts[0], false, p));
        let sorted = sorts[1..].iter().flat_map(|s| {
            [false, true]
                .into_iter()
                .flat_map(move |d| [(s, d, (1, 100)), (s, d, (5, 3))])
        });
        for (sort, descending, (start_index, count)) in unsorted.chain(sorted) {
            let q = StoreQuery {
                schema: &users,
                filter: filter.as_ref(),
                sort_by: sort.as_ref(),
                descending,
                start_index,
                count,
            };
            let a = reference.list(&ResourceKind::User, &q).await;
            let b = store.list(&ResourceKind::User, &q).await;
            assert_eq!(
                a, b,
                "list Users filter {text:?} sort {sort:?} descending {descending} page {start_index}/{count}"
            );
        }
    }
    for text in GROUP_FILTERS {
        let filter = parse_filter(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        let q = StoreQuery {
            schema: &groups,
            filter: Some(&filter),
            sort_by: None,
            descending: false,
            start_index: 1,
            count: 100,
        };
        let a = reference.list(&ResourceKind::Group, &q).await;
        assert_eq!(
            a,
            store.list(&ResourceKind::Group, &q).await,
            "list Groups filter {text}"
        );
    }

    // Gets, uniqueness, versions.
    for id in ["u-0003", "u-9999"] {
        assert_eq!(
            reference.get(&ResourceKind::User, id).await,
            store.get(&ResourceKind::User, id).await,
            "get {id}"
        );
    }
    assert_eq!(
        store.get(&ResourceKind::Group, "u-0003").await,
        Ok(None),
        "kinds are separate"
    );
    let (dup, dup_keys) = user("u-new", "USER0011", 1);
    let conflict = store
        .insert(&ResourceKind::User, dup.clone(), dup_keys.clone())
        .await;
    assert_eq!(
        conflict,
        Err(StoreError::Conflict {
            attribute: "userName".into(),
            value: "user0011".into()
        }),
        "a userName held by another user conflicts, case-insensitively"
    );
    let (same_id, same_id_keys) = user("u-0011", "fresh-name", 1);
    assert!(
        matches!(
            store
                .insert(&ResourceKind::User, same_id, same_id_keys)
                .await,
            Err(StoreError::Conflict { .. })
        ),
        "an id is inserted once"
    );
    assert_eq!(
        store.get(&ResourceKind::User, "u-new").await,
        Ok(None),
        "a failed insert leaves nothing"
    );

    let stored = store
        .get(&ResourceKind::User, "u-0011")
        .await
        .ok()
        .flatten();
    let version = stored
        .as_ref()
        .and_then(|s| s.pointer("/meta/version"))
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_default();
    let (mut renamed, renamed_keys) = user("u-0011", "renamed-11", 7);
    renamed["meta"]["version"] = json!(scim_core::resource::format_version(9));
    assert_eq!(
        store
            .replace(
                &ResourceKind::User,
                renamed.clone(),
                renamed_keys.clone(),
                "W/\"nope\""
            )
            .await,
        Err(StoreError::VersionMismatch {
            expected: "W/\"nope\"".into(),
            current: version.clone()
        }),
        "replace compares the version"
    );
    let (taken, taken_keys) = user("u-0011", "user0012", 7);
    assert_eq!(
        store
            .replace(&ResourceKind::User, taken, taken_keys, &version)
            .await,
        Err(StoreError::Conflict {
            attribute: "userName".into(),
            value: "user0012".into()
        }),
        "replace checks uniqueness"
    );
    assert_eq!(
        store
            .get(&ResourceKind::User, "u-0011")
            .await
            .ok()
            .flatten(),
        stored,
        "a failed replace leaves the resource as it was"
    );
    assert_eq!(
        store
            .replace(
                &ResourceKind::User,
                renamed.clone(),
                renamed_keys.clone(),
                &version
            )
            .await,
        Ok(())
    );
    assert_eq!(
        reference
            .replace(&ResourceKind::User, renamed.clone(), renamed_keys, &version)
            .await,
        Ok(())
    );
    assert_eq!(
        store.get(&ResourceKind::User, "u-0011").await,
        Ok(Some(renamed)),
        "replace stores the new resource"
    );
    let (reuse, reuse_keys) = user("u-new", "user0011", 1);
    assert_eq!(
        store.insert(&ResourceKind::User, reuse, reuse_keys).await,
        Ok(()),
        "a released userName is free again"
    );
    let (ghost, ghost_keys) = user("u-ghost", "ghost", 1);
    assert_eq!(
        store
            .replace(&ResourceKind::User, ghost, ghost_keys, "W/\"1\"")
            .await,
        Err(StoreError::NotFound)
    );

    // groups_of and delete with membership cleanup.
    let a = reference.groups_of("u-0002").await;
    assert_eq!(a, store.groups_of("u-0002").await, "groups_of");
    assert_eq!(a.map(|g| g.len()), Ok(2));
    assert_eq!(
        store
            .groups_of("g-admins")
            .await
            .map(|g| g.into_iter().map(|g| g.id).collect::<Vec<_>>()),
        Ok(vec!["g-eng".to_owned()])
    );
    assert!(matches!(
        store
            .delete(&ResourceKind::User, "u-0002", Some("W/\"nope\""))
            .await,
        Err(StoreError::VersionMismatch { .. })
    ));
    let admins_before = store
        .get(&ResourceKind::Group, "g-admins")
        .await
        .ok()
        .flatten()
        .unwrap_or_default();
    assert_eq!(
        store.delete(&ResourceKind::User, "u-0002", None).await,
        Ok(())
    );
    assert_eq!(store.get(&ResourceKind::User, "u-0002").await, Ok(None));
    assert_eq!(
        store.delete(&ResourceKind::User, "u-0002", None).await,
        Err(StoreError::NotFound)
    );
    assert_eq!(
        store.groups_of("u-0002").await,
        Ok(vec![]),
        "a deleted user is in no group"
    );
    let admins = store
        .get(&ResourceKind::Group, "g-admins")
        .await
        .ok()
        .flatten()
        .unwrap_or_default();
    assert_eq!(
        admins["members"],
        json!([{"value": "u-0001", "type": "User"}, {"value": "u-0003", "type": "User"}]),
        "delete removes the member"
    );
    assert_ne!(
        admins["meta"]["version"], admins_before["meta"]["version"],
        "delete bumps the version of groups it changed"
    );
    let nobody = store
        .get(&ResourceKind::Group, "g-empty")
        .await
        .ok()
        .flatten()
        .unwrap_or_default();
    assert_eq!(
        nobody["meta"]["version"],
        json!("W/\"1\""),
        "groups without the member keep their version"
    );
    let v = store
        .get(&ResourceKind::User, "u-0001")
        .await
        .ok()
        .flatten()
        .and_then(|u| u["meta"]["version"].as_str().map(str::to_owned))
        .unwrap_or_default();
    assert_eq!(
        store.delete(&ResourceKind::User, "u-0001", Some(&v)).await,
        Ok(()),
        "delete with the current version"
    );
}
