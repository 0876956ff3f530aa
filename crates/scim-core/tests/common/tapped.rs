//! A `ResourceStore` that hands every call to an inner store and lets a test's [`Tap`] watch
//! or delay the calls and change what `get` answers: the one delegating wrapper the
//! counting, latency and stale-data tests share.

use std::sync::Arc;

use async_trait::async_trait;
use scim_core::store::{GroupRef, StorePage, StoreQuery, UniqueKey};
use scim_core::{ResourceKind, ResourceStore, StoreError};
use serde_json::Value;

/// The store call a [`Tap`] is told about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    Insert,
    Get,
    Exists,
    Replace,
    Delete,
    List,
    GroupsOf,
}

/// What a test adds around the inner store's calls; each hook does nothing by default.
#[async_trait]
pub trait Tap: Send + Sync {
    /// Runs before `call` reaches the inner store.
    async fn before(&self, _call: Call) {}
    /// Runs after the inner `get` answered `found`; what it returns is the answer.
    async fn got(&self, _kind: &ResourceKind, _id: &str, found: Option<Value>) -> Option<Value> {
        found
    }
    /// Sees the page the inner `list` answered.
    fn listed(&self, _page: &StorePage) {}
    /// Whether `exists` goes to the inner store's own `exists` (true) or is answered by
    /// this store's `get`, as the trait's default `exists` is (false).
    fn own_exists(&self) -> bool {
        false
    }
}

/// `inner`, with `tap` around each call.
pub struct Tapped<T> {
    pub inner: Arc<dyn ResourceStore>,
    pub tap: T,
}

impl<T> Tapped<T> {
    pub fn new(inner: Arc<dyn ResourceStore>, tap: T) -> Self {
        Self { inner, tap }
    }
}

#[async_trait]
impl<T: Tap> ResourceStore for Tapped<T> {
    async fn insert(
        &self,
        kind: &ResourceKind,
        resource: Value,
        unique: Vec<UniqueKey>,
    ) -> Result<(), StoreError> {
        self.tap.before(Call::Insert).await;
        self.inner.insert(kind, resource, unique).await
    }

    async fn get(&self, kind: &ResourceKind, id: &str) -> Result<Option<Value>, StoreError> {
        self.tap.before(Call::Get).await;
        let found = self.inner.get(kind, id).await?;
        Ok(self.tap.got(kind, id, found).await)
    }

    async fn exists(&self, kind: &ResourceKind, id: &str) -> Result<bool, StoreError> {
        if self.tap.own_exists() {
            self.tap.before(Call::Exists).await;
            self.inner.exists(kind, id).await
        } else {
            Ok(self.get(kind, id).await?.is_some())
        }
    }

    async fn replace(
        &self,
        kind: &ResourceKind,
        resource: Value,
        unique: Vec<UniqueKey>,
        expected_version: &str,
    ) -> Result<(), StoreError> {
        self.tap.before(Call::Replace).await;
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
        self.tap.before(Call::Delete).await;
        self.inner.delete(kind, id, expected_version).await
    }

    async fn list(
        &self,
        kind: &ResourceKind,
        query: &StoreQuery<'_>,
    ) -> Result<StorePage, StoreError> {
        self.tap.before(Call::List).await;
        let page = self.inner.list(kind, query).await?;
        self.tap.listed(&page);
        Ok(page)
    }

    async fn groups_of(&self, member_id: &str) -> Result<Vec<GroupRef>, StoreError> {
        self.tap.before(Call::GroupsOf).await;
        self.inner.groups_of(member_id).await
    }
}
