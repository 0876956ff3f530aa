//! What the login tests share: an organization with a verified domain in an in-memory
//! store, the host key, and an event sink that records what it is given.

#![allow(dead_code, unreachable_pub)]

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tenant_config::{
    Connection, Domain, EncryptionKey, EventPublisher, EventRecord, EventSink, InMemoryTenantStore,
    LoginService, Organization, RedirectPolicy, TenantStore as _, Tenants, Verification,
};

/// Records every delivered event.
#[derive(Default)]
pub struct Recorder(pub Mutex<Vec<EventRecord>>);

#[async_trait]
impl EventSink for Recorder {
    async fn deliver(&self, record: EventRecord) {
        self.0.lock().unwrap().push(record);
    }
}

impl Recorder {
    pub fn events(&self) -> Vec<EventRecord> {
        self.0.lock().unwrap().clone()
    }
}

pub struct Fixture {
    pub store: Arc<InMemoryTenantStore>,
    pub tenants: Tenants,
    pub org: Organization,
    pub key: EncryptionKey,
    pub events: Arc<Recorder>,
}

impl Fixture {
    /// An organization that enforces its one verified domain, `domain`.
    pub async fn new(domain: &str) -> Self {
        let store = Arc::new(InMemoryTenantStore::new());
        let tenants = Tenants::new(store.clone());
        let org = Organization::new("Acme");
        tenants.save_organization(&org).await.unwrap();
        let claimed: Domain = tenants.claim_domain(&org.id, domain).await.unwrap();
        store
            .update_domain(&Domain {
                verification: Verification::Verified {
                    at: time::OffsetDateTime::now_utc(),
                },
                ..claimed
            })
            .await
            .unwrap();
        Self {
            store,
            tenants,
            org,
            key: EncryptionKey::new("test-key", [7; 32]).unwrap(),
            events: Arc::new(Recorder::default()),
        }
    }

    /// Saves a connection without `Tenants::save_connection`'s checks (the OIDC peer runs on
    /// plain-HTTP loopback, which those refuse).
    pub async fn save_unchecked(&self, connection: &Connection) {
        self.store.save_connection(connection).await.unwrap();
    }

    pub fn service(&self, redirects: RedirectPolicy) -> LoginService {
        LoginService::new(
            self.tenants.clone(),
            self.store.clone(),
            self.store.clone(),
            redirects,
            self.key.clone(),
        )
        .with_events(Arc::new(EventPublisher::new(self.events.clone())))
    }
}
