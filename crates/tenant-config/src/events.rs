//! Provisioning and SSO events, delivered in order to a host-supplied async sink.

use std::sync::Arc;

use async_trait::async_trait;
use scim_core::ResourceKind;
use scim_core::store::{GroupRef, ResourceStore, StoreError, StorePage, StoreQuery, UniqueKey};
use serde_json::Value;
use time::{Duration, OffsetDateTime};

use crate::id::{ConnectionId, DirectoryId, OrganizationId};
use crate::model::{Connection, Protocol};

/// Something that happened in a directory or a login.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A user was provisioned.
    UserCreated {
        /// The directory.
        directory: DirectoryId,
        /// The user's SCIM id.
        user_id: String,
        /// Its `userName`.
        user_name: Option<String>,
    },
    /// A user was changed (other than deactivated).
    UserUpdated {
        /// The directory.
        directory: DirectoryId,
        /// The user's SCIM id.
        user_id: String,
    },
    /// A user's `active` went from true (or absent) to false.
    UserDeactivated {
        /// The directory.
        directory: DirectoryId,
        /// The user's SCIM id.
        user_id: String,
    },
    /// A user was deleted.
    UserDeleted {
        /// The directory.
        directory: DirectoryId,
        /// The user's SCIM id.
        user_id: String,
    },
    /// A group was provisioned.
    GroupCreated {
        /// The directory.
        directory: DirectoryId,
        /// The group's SCIM id.
        group_id: String,
        /// Its `displayName`.
        display_name: Option<String>,
    },
    /// A group was changed.
    GroupUpdated {
        /// The directory.
        directory: DirectoryId,
        /// The group's SCIM id.
        group_id: String,
    },
    /// A group was deleted.
    GroupDeleted {
        /// The directory.
        directory: DirectoryId,
        /// The group's SCIM id.
        group_id: String,
    },
    /// A member joined a group.
    MemberAdded {
        /// The directory.
        directory: DirectoryId,
        /// The group's SCIM id.
        group_id: String,
        /// The member's SCIM id.
        member_id: String,
    },
    /// A member left a group (also when the member was deleted).
    MemberRemoved {
        /// The directory.
        directory: DirectoryId,
        /// The group's SCIM id.
        group_id: String,
        /// The member's SCIM id.
        member_id: String,
    },
    /// A login finished.
    LoginSucceeded {
        /// The organization.
        organization: OrganizationId,
        /// The connection.
        connection: ConnectionId,
        /// The stable subject (NameID or `sub`).
        subject: String,
        /// The email, if any.
        email: Option<String>,
    },
    /// A login was rejected.
    LoginFailed {
        /// The organization, when known.
        organization: Option<OrganizationId>,
        /// The connection, when known.
        connection: Option<ConnectionId>,
        /// The failed check, as the protocol crate's error names it.
        reason: String,
    },
    /// A SAML Single Logout step passed every check: the IdP's LogoutResponse to the SP's
    /// LogoutRequest, or a LogoutRequest from the IdP (then `subject` is its NameID).
    LogoutSucceeded {
        /// The organization.
        organization: OrganizationId,
        /// The connection.
        connection: ConnectionId,
        /// The NameID logged out by an IdP LogoutRequest; `None` for a LogoutResponse.
        subject: Option<String>,
    },
    /// A SAML Single Logout message was rejected.
    LogoutFailed {
        /// The organization, when known.
        organization: Option<OrganizationId>,
        /// The connection, when known.
        connection: Option<ConnectionId>,
        /// The failed check.
        reason: String,
    },
    /// A metadata refresh changed a connection's trusted certificates.
    CertificatesChanged {
        /// The connection.
        connection: ConnectionId,
        /// SHA-256 fingerprints of the certificates now trusted that were not before.
        added: Vec<String>,
        /// SHA-256 fingerprints of the certificates no longer trusted.
        removed: Vec<String>,
    },
    /// A trusted certificate of a connection expires soon (or has expired).
    CertificateExpiring {
        /// The connection.
        connection: ConnectionId,
        /// The certificate's SHA-256 fingerprint.
        fingerprint: String,
        /// Its `notAfter`.
        not_after: OffsetDateTime,
    },
}

/// An event with its place in the sequence and the time it was published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRecord {
    /// 1 for the first event of a publisher, then 2, 3, ...
    pub sequence: u64,
    /// When it was published.
    pub at: OffsetDateTime,
    /// The event.
    pub event: Event,
}

/// Where events go: a queue, a webhook dispatcher, an audit log. Implemented by the host.
#[async_trait]
pub trait EventSink: Send + Sync {
    /// Takes one event. Calls never overlap for one [`EventPublisher`], and come in the order
    /// the events happened.
    async fn deliver(&self, record: EventRecord);
}

/// Numbers events and hands them to the sink one at a time, in the order `publish` was
/// called.
pub struct EventPublisher {
    sink: Arc<dyn EventSink>,
    // The fair async lock queues publishers first come, first served, and is held across
    // delivery so that deliveries never overlap or reorder.
    next: tokio::sync::Mutex<u64>,
}

impl std::fmt::Debug for EventPublisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EventPublisher")
    }
}

impl EventPublisher {
    /// A publisher to `sink`.
    pub fn new(sink: Arc<dyn EventSink>) -> Self {
        Self {
            sink,
            next: tokio::sync::Mutex::new(1),
        }
    }

    /// Delivers `event` after every event published before it.
    pub async fn publish(&self, event: Event) {
        let mut next = self.next.lock().await;
        let record = EventRecord {
            sequence: *next,
            at: OffsetDateTime::now_utc(),
            event,
        };
        *next += 1;
        self.sink.deliver(record).await;
    }
}

/// The certificate events of a connection at `now`: one per trusted (or SP) certificate
/// that expires within `window`.
pub fn expiring_certificates(
    connection: &Connection,
    now: OffsetDateTime,
    window: Duration,
) -> Vec<Event> {
    let Protocol::Saml(saml) = &connection.protocol else {
        return Vec::new();
    };
    saml.trusted_certificates
        .iter()
        .chain(saml.sp_key.iter().map(|k| &k.certificate))
        .filter(|c| c.not_after <= now + window)
        .map(|c| Event::CertificateExpiring {
            connection: connection.id.clone(),
            fingerprint: c.sha256_fingerprint.clone(),
            not_after: c.not_after,
        })
        .collect()
}

/// A [`ResourceStore`] that publishes provisioning events for the writes that succeed on the
/// store it wraps. Give it to the directory's `ScimService`.
pub struct EventingStore {
    inner: Arc<dyn ResourceStore>,
    directory: DirectoryId,
    publisher: Arc<EventPublisher>,
}

impl std::fmt::Debug for EventingStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EventingStore({})", self.directory)
    }
}

impl EventingStore {
    /// Wraps `inner`, the store of `directory`.
    pub fn new(
        inner: Arc<dyn ResourceStore>,
        directory: DirectoryId,
        publisher: Arc<EventPublisher>,
    ) -> Self {
        Self {
            inner,
            directory,
            publisher,
        }
    }

    async fn publish_all(&self, events: Vec<Event>) {
        for e in events {
            self.publisher.publish(e).await;
        }
    }

    fn membership_events(&self, group_id: &str, before: &Value, after: &Value) -> Vec<Event> {
        let old = member_ids(before);
        let new = member_ids(after);
        let added = new
            .iter()
            .filter(|m| !old.contains(m))
            .map(|m| Event::MemberAdded {
                directory: self.directory.clone(),
                group_id: group_id.to_owned(),
                member_id: m.clone(),
            });
        let removed = old
            .iter()
            .filter(|m| !new.contains(m))
            .map(|m| Event::MemberRemoved {
                directory: self.directory.clone(),
                group_id: group_id.to_owned(),
                member_id: m.clone(),
            });
        added.chain(removed).collect()
    }
}

fn member_ids(group: &Value) -> Vec<String> {
    group
        .get("members")
        .and_then(Value::as_array)
        .map(|m| {
            m.iter()
                .filter_map(|v| v.get("value").and_then(Value::as_str).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn is_active(user: &Value) -> bool {
    user.get("active").and_then(Value::as_bool).unwrap_or(true)
}

#[async_trait]
impl ResourceStore for EventingStore {
    async fn insert(
        &self,
        kind: &ResourceKind,
        resource: Value,
        unique: Vec<UniqueKey>,
    ) -> Result<(), StoreError> {
        let id = text(&resource, "id").unwrap_or_default();
        let events = match kind {
            ResourceKind::User => vec![Event::UserCreated {
                directory: self.directory.clone(),
                user_id: id,
                user_name: text(&resource, "userName"),
            }],
            ResourceKind::Group => {
                let mut e = vec![Event::GroupCreated {
                    directory: self.directory.clone(),
                    group_id: id.clone(),
                    display_name: text(&resource, "displayName"),
                }];
                e.extend(self.membership_events(&id, &Value::Null, &resource));
                e
            }
            ResourceKind::Custom(_) => Vec::new(),
        };
        self.inner.insert(kind, resource, unique).await?;
        self.publish_all(events).await;
        Ok(())
    }

    async fn get(&self, kind: &ResourceKind, id: &str) -> Result<Option<Value>, StoreError> {
        self.inner.get(kind, id).await
    }

    async fn exists(&self, kind: &ResourceKind, id: &str) -> Result<bool, StoreError> {
        self.inner.exists(kind, id).await
    }

    async fn replace(
        &self,
        kind: &ResourceKind,
        resource: Value,
        unique: Vec<UniqueKey>,
        expected_version: &str,
    ) -> Result<(), StoreError> {
        let id = text(&resource, "id").unwrap_or_default();
        // The replace below succeeds only if the stored version is `expected_version`, so a
        // `before` read now is the state it replaces whenever the versions agree.
        let before = self.inner.get(kind, &id).await?.unwrap_or(Value::Null);
        let same_version =
            before.pointer("/meta/version").and_then(Value::as_str) == Some(expected_version);
        let events = match kind {
            ResourceKind::User if same_version && is_active(&before) && !is_active(&resource) => {
                vec![Event::UserDeactivated {
                    directory: self.directory.clone(),
                    user_id: id,
                }]
            }
            ResourceKind::User => vec![Event::UserUpdated {
                directory: self.directory.clone(),
                user_id: id,
            }],
            ResourceKind::Group => {
                let mut e = vec![Event::GroupUpdated {
                    directory: self.directory.clone(),
                    group_id: id.clone(),
                }];
                if same_version {
                    e.extend(self.membership_events(&id, &before, &resource));
                }
                e
            }
            ResourceKind::Custom(_) => Vec::new(),
        };
        self.inner
            .replace(kind, resource, unique, expected_version)
            .await?;
        self.publish_all(events).await;
        Ok(())
    }

    async fn delete(
        &self,
        kind: &ResourceKind,
        id: &str,
        expected_version: Option<&str>,
    ) -> Result<(), StoreError> {
        let groups = self.inner.groups_of(id).await?;
        self.inner.delete(kind, id, expected_version).await?;
        let mut events: Vec<Event> = groups
            .into_iter()
            .map(|g: GroupRef| Event::MemberRemoved {
                directory: self.directory.clone(),
                group_id: g.id,
                member_id: id.to_owned(),
            })
            .collect();
        match kind {
            ResourceKind::User => events.push(Event::UserDeleted {
                directory: self.directory.clone(),
                user_id: id.to_owned(),
            }),
            ResourceKind::Group => events.push(Event::GroupDeleted {
                directory: self.directory.clone(),
                group_id: id.to_owned(),
            }),
            ResourceKind::Custom(_) => {}
        }
        self.publish_all(events).await;
        Ok(())
    }

    async fn list(
        &self,
        kind: &ResourceKind,
        query: &StoreQuery<'_>,
    ) -> Result<StorePage, StoreError> {
        self.inner.list(kind, query).await
    }

    async fn groups_of(&self, member_id: &str) -> Result<Vec<GroupRef>, StoreError> {
        self.inner.groups_of(member_id).await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use scim_core::store::{InMemoryStore, StorePage, StoreQuery};

    use super::*;

    /// Counts the reads that reach it, and answers `exists` without `get`, as SQL stores do.
    #[derive(Default)]
    struct CountingStore {
        inner: InMemoryStore,
        gets: AtomicUsize,
        exists: AtomicUsize,
    }

    #[async_trait]
    impl ResourceStore for CountingStore {
        async fn insert(
            &self,
            kind: &ResourceKind,
            resource: Value,
            unique: Vec<UniqueKey>,
        ) -> Result<(), StoreError> {
            self.inner.insert(kind, resource, unique).await
        }
        async fn get(&self, kind: &ResourceKind, id: &str) -> Result<Option<Value>, StoreError> {
            self.gets.fetch_add(1, Ordering::SeqCst);
            self.inner.get(kind, id).await
        }
        async fn exists(&self, kind: &ResourceKind, id: &str) -> Result<bool, StoreError> {
            self.exists.fetch_add(1, Ordering::SeqCst);
            self.inner.exists(kind, id).await
        }
        async fn replace(
            &self,
            kind: &ResourceKind,
            resource: Value,
            unique: Vec<UniqueKey>,
            expected_version: &str,
        ) -> Result<(), StoreError> {
            self.inner
                .replace(kind, resource, unique, expected_version)
                .await
        }
        async fn delete(
            &self,
            kind: &ResourceKind,
            id: &str,
            expected_version: Option<&str>,
        ) -> Result<(), StoreError> {
            self.inner.delete(kind, id, expected_version).await
        }
        async fn list(
            &self,
            kind: &ResourceKind,
            query: &StoreQuery<'_>,
        ) -> Result<StorePage, StoreError> {
            self.inner.list(kind, query).await
        }
        async fn groups_of(&self, member_id: &str) -> Result<Vec<GroupRef>, StoreError> {
            self.inner.groups_of(member_id).await
        }
    }

    struct Discard;

    #[async_trait]
    impl EventSink for Discard {
        async fn deliver(&self, _: EventRecord) {}
    }

    #[tokio::test]
    async fn exists_reaches_the_wrapped_stores_own_answer() {
        let inner = Arc::new(CountingStore::default());
        let store = EventingStore::new(
            inner.clone(),
            DirectoryId::generate(),
            Arc::new(EventPublisher::new(Arc::new(Discard))),
        );
        let found = store
            .exists(&ResourceKind::User, "no-such-user")
            .await
            .unwrap();
        assert!(!found);
        assert_eq!(inner.exists.load(Ordering::SeqCst), 1);
        assert_eq!(inner.gets.load(Ordering::SeqCst), 0);
    }
}
