//! The clock, the pending-request store and the replay cache: async, object-safe traits the
//! host implements over its own storage (or takes from `gatehouse-store-sql`), with
//! in-memory implementations here for one process and for tests.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::error::{Result, SamlError};

/// Where validation gets the current time from.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current instant.
    fn now(&self) -> OffsetDateTime;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock stopped at one instant (tests, and the CLI's `--now`).
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub OffsetDateTime);

impl Clock for FixedClock {
    fn now(&self) -> OffsetDateTime {
        self.0
    }
}

/// The AuthnRequests this SP sent and has not yet seen answered. A request is consumed by
/// the first Response that names it in InResponseTo.
#[async_trait]
pub trait RequestStore: Send + Sync {
    /// Records a sent AuthnRequest ID, valid until `expires_at`.
    async fn insert(&self, request_id: &str, expires_at: OffsetDateTime) -> Result<()>;

    /// Removes the request and returns whether it was pending and not expired at `now`.
    /// Two concurrent calls for one ID must not both return `true`.
    async fn take(&self, request_id: &str, now: OffsetDateTime) -> Result<bool>;
}

/// Assertion IDs already accepted, each remembered until its validity ends.
#[async_trait]
pub trait ReplayCache: Send + Sync {
    /// Records `assertion_id` until `expires_at` and returns `true`, or returns `false` when
    /// it is already recorded and not expired at `now`. Two concurrent calls for one ID
    /// must not both return `true`.
    async fn insert_once(
        &self,
        assertion_id: &str,
        expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<bool>;
}

/// A [`RequestStore`] in process memory.
#[derive(Debug, Default)]
pub struct InMemoryRequestStore {
    pending: Mutex<HashMap<String, OffsetDateTime>>,
}

impl InMemoryRequestStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl RequestStore for InMemoryRequestStore {
    async fn insert(&self, request_id: &str, expires_at: OffsetDateTime) -> Result<()> {
        let mut pending = self
            .pending
            .lock()
            .map_err(|_| SamlError::Store("request store lock poisoned".into()))?;
        pending.insert(request_id.to_owned(), expires_at);
        Ok(())
    }

    async fn take(&self, request_id: &str, now: OffsetDateTime) -> Result<bool> {
        let mut pending = self
            .pending
            .lock()
            .map_err(|_| SamlError::Store("request store lock poisoned".into()))?;
        pending.retain(|_, expires| *expires > now);
        Ok(pending.remove(request_id).is_some())
    }
}

/// A [`ReplayCache`] in process memory; expired entries are dropped as new ones arrive.
#[derive(Debug, Default)]
pub struct InMemoryReplayCache {
    seen: Mutex<HashMap<String, OffsetDateTime>>,
}

impl InMemoryReplayCache {
    /// An empty cache.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl ReplayCache for InMemoryReplayCache {
    async fn insert_once(
        &self,
        assertion_id: &str,
        expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<bool> {
        let mut seen = self
            .seen
            .lock()
            .map_err(|_| SamlError::Store("replay cache lock poisoned".into()))?;
        seen.retain(|_, expires| *expires > now);
        if seen.contains_key(assertion_id) {
            return Ok(false);
        }
        seen.insert(assertion_id.to_owned(), expires_at);
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use time::macros::datetime;

    use super::*;

    #[tokio::test]
    async fn requests_are_consumed_once_and_expire() {
        let store: Arc<dyn RequestStore> = Arc::new(InMemoryRequestStore::new());
        let now = datetime!(2026-12-04 08:00 UTC);
        store
            .insert("_r1", now + time::Duration::minutes(5))
            .await
            .unwrap();
        store
            .insert("_r2", now + time::Duration::minutes(5))
            .await
            .unwrap();
        assert!(store.take("_r1", now).await.unwrap());
        assert!(!store.take("_r1", now).await.unwrap());
        assert!(!store.take("_unknown", now).await.unwrap());
        assert!(
            !store
                .take("_r2", now + time::Duration::minutes(6))
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn assertion_ids_are_accepted_once_until_they_expire() {
        let cache: Arc<dyn ReplayCache> = Arc::new(InMemoryReplayCache::new());
        let now = datetime!(2026-12-04 08:00 UTC);
        let until = now + time::Duration::minutes(5);
        assert!(cache.insert_once("_a", until, now).await.unwrap());
        assert!(!cache.insert_once("_a", until, now).await.unwrap());
        assert!(cache.insert_once("_b", until, now).await.unwrap());
        let later = now + time::Duration::minutes(6);
        assert!(
            cache
                .insert_once("_a", later + time::Duration::minutes(5), later)
                .await
                .unwrap()
        );
    }
}
