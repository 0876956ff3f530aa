//! [`InMemoryTenantStore`]: every storage trait in process memory, for tests, examples and
//! single-process deployments without persistence.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::error::TenantError;
use crate::id::{ConnectionId, DirectoryId, DomainName, OrganizationId, TokenId};
use crate::model::{Connection, Domain, Organization, ScimDirectory};
use crate::store::{LoginState, LoginStateStore, ReplayCache, TenantStore, check_state_id};
use crate::token::StoredToken;

/// Every storage trait of the crate, in memory, behind one lock.
#[derive(Debug, Default)]
pub struct InMemoryTenantStore {
    inner: Mutex<Tables>,
}

#[derive(Debug, Default)]
struct Tables {
    organizations: BTreeMap<OrganizationId, Organization>,
    domains: BTreeMap<DomainName, Domain>,
    connections: BTreeMap<ConnectionId, Connection>,
    directories: BTreeMap<DirectoryId, ScimDirectory>,
    tokens: BTreeMap<TokenId, StoredToken>,
    login_states: HashMap<String, LoginState>,
    replay: HashMap<(String, String), OffsetDateTime>,
}

impl InMemoryTenantStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Tables> {
        // Every mutation below happens after its checks, so a poisoned lock still guards
        // consistent tables.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn not_found(what: &'static str, id: impl ToString) -> TenantError {
    TenantError::NotFound {
        what,
        id: id.to_string(),
    }
}

impl Tables {
    fn require_org(&self, id: &OrganizationId) -> Result<(), TenantError> {
        if self.organizations.contains_key(id) {
            Ok(())
        } else {
            Err(not_found("organization", id))
        }
    }
}

#[async_trait]
impl TenantStore for InMemoryTenantStore {
    async fn save_organization(&self, org: &Organization) -> Result<(), TenantError> {
        self.lock()
            .organizations
            .insert(org.id.clone(), org.clone());
        Ok(())
    }

    async fn organization(&self, id: &OrganizationId) -> Result<Option<Organization>, TenantError> {
        Ok(self.lock().organizations.get(id).cloned())
    }

    async fn organizations(&self) -> Result<Vec<Organization>, TenantError> {
        Ok(self.lock().organizations.values().cloned().collect())
    }

    async fn delete_organization(&self, id: &OrganizationId) -> Result<(), TenantError> {
        let mut t = self.lock();
        t.organizations
            .remove(id)
            .ok_or_else(|| not_found("organization", id))?;
        t.domains.retain(|_, d| d.organization != *id);
        t.connections.retain(|_, c| c.organization != *id);
        let gone: Vec<DirectoryId> = t
            .directories
            .values()
            .filter(|d| d.organization == *id)
            .map(|d| d.id.clone())
            .collect();
        t.directories.retain(|_, d| d.organization != *id);
        t.tokens.retain(|_, tok| !gone.contains(&tok.directory));
        Ok(())
    }

    async fn insert_domain(&self, domain: &Domain) -> Result<(), TenantError> {
        let mut t = self.lock();
        t.require_org(&domain.organization)?;
        if t.domains.contains_key(&domain.name) {
            return Err(TenantError::Conflict {
                what: "domain",
                value: domain.name.to_string(),
            });
        }
        t.domains.insert(domain.name.clone(), domain.clone());
        Ok(())
    }

    async fn update_domain(&self, domain: &Domain) -> Result<(), TenantError> {
        let mut t = self.lock();
        match t.domains.get_mut(&domain.name) {
            Some(d) if d.organization == domain.organization => {
                *d = domain.clone();
                Ok(())
            }
            _ => Err(not_found("domain", &domain.name)),
        }
    }

    async fn domain(&self, name: &DomainName) -> Result<Option<Domain>, TenantError> {
        Ok(self.lock().domains.get(name).cloned())
    }

    async fn domains_of(&self, org: &OrganizationId) -> Result<Vec<Domain>, TenantError> {
        Ok(self
            .lock()
            .domains
            .values()
            .filter(|d| d.organization == *org)
            .cloned()
            .collect())
    }

    async fn delete_domain(&self, name: &DomainName) -> Result<(), TenantError> {
        self.lock()
            .domains
            .remove(name)
            .map(drop)
            .ok_or_else(|| not_found("domain", name))
    }

    async fn save_connection(&self, connection: &Connection) -> Result<(), TenantError> {
        let mut t = self.lock();
        t.require_org(&connection.organization)?;
        if let Some(old) = t.connections.get(&connection.id)
            && old.organization != connection.organization
        {
            return Err(TenantError::Conflict {
                what: "connection",
                value: connection.id.to_string(),
            });
        }
        t.connections
            .insert(connection.id.clone(), connection.clone());
        Ok(())
    }

    async fn connection(&self, id: &ConnectionId) -> Result<Option<Connection>, TenantError> {
        Ok(self.lock().connections.get(id).cloned())
    }

    async fn connections_of(&self, org: &OrganizationId) -> Result<Vec<Connection>, TenantError> {
        Ok(self
            .lock()
            .connections
            .values()
            .filter(|c| c.organization == *org)
            .cloned()
            .collect())
    }

    async fn delete_connection(&self, id: &ConnectionId) -> Result<(), TenantError> {
        self.lock()
            .connections
            .remove(id)
            .map(drop)
            .ok_or_else(|| not_found("connection", id))
    }

    async fn save_directory(&self, directory: &ScimDirectory) -> Result<(), TenantError> {
        let mut t = self.lock();
        t.require_org(&directory.organization)?;
        if let Some(old) = t.directories.get(&directory.id)
            && old.organization != directory.organization
        {
            return Err(TenantError::Conflict {
                what: "directory",
                value: directory.id.to_string(),
            });
        }
        t.directories
            .insert(directory.id.clone(), directory.clone());
        Ok(())
    }

    async fn directory(&self, id: &DirectoryId) -> Result<Option<ScimDirectory>, TenantError> {
        Ok(self.lock().directories.get(id).cloned())
    }

    async fn directories_of(
        &self,
        org: &OrganizationId,
    ) -> Result<Vec<ScimDirectory>, TenantError> {
        Ok(self
            .lock()
            .directories
            .values()
            .filter(|d| d.organization == *org)
            .cloned()
            .collect())
    }

    async fn delete_directory(&self, id: &DirectoryId) -> Result<(), TenantError> {
        let mut t = self.lock();
        t.directories
            .remove(id)
            .ok_or_else(|| not_found("directory", id))?;
        t.tokens.retain(|_, tok| tok.directory != *id);
        Ok(())
    }

    async fn insert_token(&self, token: &StoredToken) -> Result<(), TenantError> {
        let mut t = self.lock();
        if !t.directories.contains_key(&token.directory) {
            return Err(not_found("directory", &token.directory));
        }
        let hash = token.hash.to_hex();
        if t.tokens.contains_key(&token.id) || t.tokens.values().any(|x| x.hash.to_hex() == hash) {
            return Err(TenantError::Conflict {
                what: "token",
                value: token.id.to_string(),
            });
        }
        t.tokens.insert(token.id.clone(), token.clone());
        Ok(())
    }

    async fn update_token(&self, token: &StoredToken) -> Result<(), TenantError> {
        let mut t = self.lock();
        match t.tokens.get_mut(&token.id) {
            Some(old) if old.hash.to_hex() == token.hash.to_hex() => {
                *old = token.clone();
                Ok(())
            }
            _ => Err(not_found("token", &token.id)),
        }
    }

    async fn tokens_by_lookup_key(&self, key: &str) -> Result<Vec<StoredToken>, TenantError> {
        Ok(self
            .lock()
            .tokens
            .values()
            .filter(|t| t.hash.lookup_key() == key)
            .cloned()
            .collect())
    }

    async fn tokens_of(&self, directory: &DirectoryId) -> Result<Vec<StoredToken>, TenantError> {
        let mut out: Vec<StoredToken> = self
            .lock()
            .tokens
            .values()
            .filter(|t| t.directory == *directory)
            .cloned()
            .collect();
        out.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
        Ok(out)
    }

    async fn delete_token(&self, id: &TokenId) -> Result<(), TenantError> {
        self.lock()
            .tokens
            .remove(id)
            .map(drop)
            .ok_or_else(|| not_found("token", id))
    }
}

#[async_trait]
impl LoginStateStore for InMemoryTenantStore {
    async fn put_login_state(&self, state: &LoginState) -> Result<(), TenantError> {
        check_state_id(&state.id)?;
        let mut t = self.lock();
        if t.login_states.contains_key(&state.id) {
            return Err(TenantError::Conflict {
                what: "login state",
                value: state.id.clone(),
            });
        }
        t.login_states.insert(state.id.clone(), state.clone());
        Ok(())
    }

    async fn take_login_state(
        &self,
        id: &str,
        now: OffsetDateTime,
    ) -> Result<Option<LoginState>, TenantError> {
        let taken = self.lock().login_states.remove(id);
        Ok(taken.filter(|s| now < s.expires_at))
    }

    async fn purge_login_states(&self, now: OffsetDateTime) -> Result<u64, TenantError> {
        let mut t = self.lock();
        let before = t.login_states.len();
        t.login_states.retain(|_, s| now < s.expires_at);
        Ok((before - t.login_states.len()) as u64)
    }
}

#[async_trait]
impl ReplayCache for InMemoryTenantStore {
    async fn accept_once(
        &self,
        scope: &str,
        id: &str,
        expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<bool, TenantError> {
        let mut t = self.lock();
        let key = (scope.to_owned(), id.to_owned());
        match t.replay.get(&key) {
            Some(until) if now < *until => Ok(false),
            _ => {
                t.replay.insert(key, expires_at);
                Ok(true)
            }
        }
    }

    async fn purge_replay_cache(&self, now: OffsetDateTime) -> Result<u64, TenantError> {
        let mut t = self.lock();
        let before = t.replay.len();
        t.replay.retain(|_, until| now < *until);
        Ok((before - t.replay.len()) as u64)
    }
}
