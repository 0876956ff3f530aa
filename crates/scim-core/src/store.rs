//! Storage of SCIM resources: the async, object-safe [`ResourceStore`] trait and the
//! [`InMemoryStore`] that ships with the crate.
//!
//! A store holds the resources of one directory (one tenant). The handler validates every
//! resource against its schema before it reaches the store; the store keeps resources as
//! SCIM JSON and enforces what must hold across concurrent requests: uniqueness keys,
//! compare-and-swap on `meta.version`, group members that exist, and membership cleanup on
//! delete. Each method is one atomic step: it either happens whole or leaves the store as it
//! was.
//!
//! [`InMemoryStore`] holds its lock only to read or swap shared (`Arc`) resources: filters
//! and sorting run on a snapshot after the lock is released, so a slow filter delays only
//! its own request.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde_json::Value;

use crate::filter::{AttrPath, Filter};
use crate::schema::{ResourceKind, ResourceSchema};

/// A value that must be unique among the resources of one kind, already normalized (lower
/// case where the attribute is not `caseExact`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UniqueKey {
    /// The attribute name, as in the schema (such as `userName`).
    pub attribute: String,
    /// The normalized value.
    pub value: String,
}

/// What went wrong in a store.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// No resource with that id.
    #[error("no resource with that id")]
    NotFound,
    /// A uniqueness key is already held by another resource.
    #[error("{attribute} \"{value}\" is already in use")]
    Conflict {
        /// The attribute.
        attribute: String,
        /// The value in use.
        value: String,
    },
    /// The stored version differs from the expected one.
    #[error("version mismatch: expected {expected}, current {current}")]
    VersionMismatch {
        /// The version the caller expected.
        expected: String,
        /// The version in the store.
        current: String,
    },
    /// A group's `members` names a resource that is neither a user nor a group of the
    /// directory (it may have been deleted by a concurrent request).
    #[error("member \"{value}\" is not a user or group of this directory")]
    MissingMember {
        /// The member's `value`.
        value: String,
    },
    /// The backend failed; the text is safe to log.
    #[error("storage backend failed: {0}")]
    Backend(String),
    /// A list's filter would look at more values than the store is willing to evaluate
    /// (answered 400 `tooMany`).
    #[error("the filter looks at more than {limit} values")]
    TooMany {
        /// The store's budget of values per list.
        limit: u64,
    },
}

/// One page of a list query.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StorePage {
    /// How many resources matched in all.
    pub total_results: usize,
    /// The resources of this page.
    pub resources: Vec<Value>,
}

/// A list query: filter, order and page, for one resource type.
#[derive(Debug, Clone, Copy)]
pub struct StoreQuery<'a> {
    /// The schema of the resource type listed; filters and sorting follow it.
    pub schema: &'a ResourceSchema,
    /// Only resources matching this filter.
    pub filter: Option<&'a Filter>,
    /// Order by this attribute (absent values last); `None` orders by creation.
    pub sort_by: Option<&'a AttrPath>,
    /// Descending instead of ascending.
    pub descending: bool,
    /// The 1-based index of the first resource of the page.
    pub start_index: usize,
    /// The page size; 0 asks for the total only.
    pub count: usize,
}

/// A group that a resource is a direct member of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRef {
    /// The group's id.
    pub id: String,
    /// The group's `displayName`.
    pub display: Option<String>,
}

/// Storage for the resources of one SCIM directory.
///
/// Implementations must pass the same behaviour as [`InMemoryStore`]: resources are keyed by
/// kind and `id`; `insert` and `replace` fail with [`StoreError::Conflict`] when another
/// resource of the same kind holds one of the given uniqueness keys; `replace` and `delete`
/// compare `meta.version` when asked; `insert` and `replace` of a group fail with
/// [`StoreError::MissingMember`] when one of its `members` is not a stored user or group, checked
/// in the same atomic step as the write (so that a concurrent delete of that member either
/// happens before, and the write fails, or after, and the delete removes the membership);
/// `delete` also removes the deleted resource from every group's `members` (bumping those
/// groups' versions) in the same step.
#[async_trait]
pub trait ResourceStore: Send + Sync {
    /// Inserts a new resource (it carries `id` and `meta`).
    async fn insert(
        &self,
        kind: &ResourceKind,
        resource: Value,
        unique: Vec<UniqueKey>,
    ) -> Result<(), StoreError>;

    /// The resource with `id`, if any.
    async fn get(&self, kind: &ResourceKind, id: &str) -> Result<Option<Value>, StoreError>;

    /// Whether a resource of `kind` with `id` is stored. The default calls [`Self::get`];
    /// a store that can answer without loading (and copying) the resource should override
    /// it, since a group write checks every distinct member with it.
    async fn exists(&self, kind: &ResourceKind, id: &str) -> Result<bool, StoreError> {
        Ok(self.get(kind, id).await?.is_some())
    }

    /// Replaces the resource with the same `id`, if its current `meta.version` equals
    /// `expected_version`.
    async fn replace(
        &self,
        kind: &ResourceKind,
        resource: Value,
        unique: Vec<UniqueKey>,
        expected_version: &str,
    ) -> Result<(), StoreError>;

    /// Deletes the resource, if `expected_version` is `None` or equals its version, and
    /// removes it from every group's members.
    async fn delete(
        &self,
        kind: &ResourceKind,
        id: &str,
        expected_version: Option<&str>,
    ) -> Result<(), StoreError>;

    /// Lists the resources of `kind` that match the query.
    async fn list(
        &self,
        kind: &ResourceKind,
        query: &StoreQuery<'_>,
    ) -> Result<StorePage, StoreError>;

    /// The groups whose `members` hold `member_id`.
    async fn groups_of(&self, member_id: &str) -> Result<Vec<GroupRef>, StoreError>;
}

/// A [`ResourceStore`] in process memory, for tests, examples and small deployments.
#[derive(Debug, Default)]
pub struct InMemoryStore {
    inner: Mutex<Tables>,
    /// `None`: [`DEFAULT_FILTER_BUDGET`].
    filter_budget: Option<u64>,
}

/// How many attribute values one list's filter may look at in an [`InMemoryStore`], summed
/// over the resources it scans (each term charges the values of the attribute it names, one
/// at least), unless set with [`InMemoryStore::with_filter_budget`].
pub const DEFAULT_FILTER_BUDGET: u64 = 10_000_000;

#[derive(Debug, Default)]
struct Tables {
    /// kind -> (insertion sequence, id -> resource)
    kinds: HashMap<ResourceKind, Table>,
    next_seq: u64,
}

#[derive(Debug, Default)]
struct Table {
    rows: HashMap<String, Row>,
    unique: HashMap<UniqueKey, String>,
}

#[derive(Debug)]
struct Row {
    seq: u64,
    resource: Arc<Value>,
    unique: Vec<UniqueKey>,
}

impl InMemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty store whose lists refuse, with [`StoreError::TooMany`], a filter that looks
    /// at more than `values` attribute values in all.
    pub fn with_filter_budget(values: u64) -> Self {
        Self {
            filter_budget: Some(values),
            ..Self::default()
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Tables> {
        // Only map look-ups, `Arc` clones and the swap of checked rows run under this lock:
        // no filter, sort, schema code or allocation-heavy copy, so nothing there panics on
        // input. Were the lock poisoned all the same, the tables are still consistent, since
        // every mutation below is applied after all checks pass.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn resource_id(resource: &Value) -> Result<&str, StoreError> {
    resource
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| StoreError::Backend("resource has no id".into()))
}

fn version_of(resource: &Value) -> &str {
    resource
        .pointer("/meta/version")
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// The `value` of every member of a group resource.
fn member_values(resource: &Value) -> impl Iterator<Item = &str> {
    resource
        .get("members")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|m| m.get("value").and_then(Value::as_str))
}

impl Tables {
    /// For a group: every member names a stored user or group.
    fn check_members(&self, kind: &ResourceKind, resource: &Value) -> Result<(), StoreError> {
        if *kind != ResourceKind::Group {
            return Ok(());
        }
        let exists =
            |k: &ResourceKind, id: &str| self.kinds.get(k).is_some_and(|t| t.rows.contains_key(id));
        for value in member_values(resource) {
            if !exists(&ResourceKind::User, value) && !exists(&ResourceKind::Group, value) {
                return Err(StoreError::MissingMember {
                    value: value.to_owned(),
                });
            }
        }
        Ok(())
    }
}

impl Table {
    fn check_unique(&self, id: &str, unique: &[UniqueKey]) -> Result<(), StoreError> {
        for key in unique {
            if let Some(holder) = self.unique.get(key)
                && holder != id
            {
                return Err(StoreError::Conflict {
                    attribute: key.attribute.clone(),
                    value: key.value.clone(),
                });
            }
        }
        Ok(())
    }

    fn put(&mut self, id: String, seq: u64, resource: Value, unique: Vec<UniqueKey>) {
        if let Some(old) = self.rows.remove(&id) {
            for k in old.unique {
                self.unique.remove(&k);
            }
        }
        for k in &unique {
            self.unique.insert(k.clone(), id.clone());
        }
        self.rows.insert(
            id,
            Row {
                seq,
                resource: Arc::new(resource),
                unique,
            },
        );
    }
}

#[async_trait]
impl ResourceStore for InMemoryStore {
    async fn insert(
        &self,
        kind: &ResourceKind,
        resource: Value,
        unique: Vec<UniqueKey>,
    ) -> Result<(), StoreError> {
        let id = resource_id(&resource)?.to_owned();
        let mut t = self.lock();
        t.check_members(kind, &resource)?;
        t.next_seq += 1;
        let seq = t.next_seq;
        let table = t.kinds.entry(kind.clone()).or_default();
        if table.rows.contains_key(&id) {
            return Err(StoreError::Conflict {
                attribute: "id".into(),
                value: id,
            });
        }
        table.check_unique(&id, &unique)?;
        table.put(id, seq, resource, unique);
        Ok(())
    }

    async fn get(&self, kind: &ResourceKind, id: &str) -> Result<Option<Value>, StoreError> {
        let shared = {
            let t = self.lock();
            t.kinds
                .get(kind)
                .and_then(|table| table.rows.get(id))
                .map(|r| Arc::clone(&r.resource))
        };
        // The deep copy happens after the lock is released.
        Ok(shared.map(|r| (*r).clone()))
    }

    async fn exists(&self, kind: &ResourceKind, id: &str) -> Result<bool, StoreError> {
        let t = self.lock();
        Ok(t.kinds
            .get(kind)
            .is_some_and(|table| table.rows.contains_key(id)))
    }

    async fn replace(
        &self,
        kind: &ResourceKind,
        resource: Value,
        unique: Vec<UniqueKey>,
        expected_version: &str,
    ) -> Result<(), StoreError> {
        let id = resource_id(&resource)?.to_owned();
        let mut t = self.lock();
        t.check_members(kind, &resource)?;
        let table = t.kinds.get_mut(kind).ok_or(StoreError::NotFound)?;
        let row = table.rows.get(&id).ok_or(StoreError::NotFound)?;
        let current = version_of(&row.resource);
        if current != expected_version {
            return Err(StoreError::VersionMismatch {
                expected: expected_version.to_owned(),
                current: current.to_owned(),
            });
        }
        let seq = row.seq;
        table.check_unique(&id, &unique)?;
        table.put(id, seq, resource, unique);
        Ok(())
    }

    async fn delete(
        &self,
        kind: &ResourceKind,
        id: &str,
        expected_version: Option<&str>,
    ) -> Result<(), StoreError> {
        let mut t = self.lock();
        let table = t.kinds.get_mut(kind).ok_or(StoreError::NotFound)?;
        let row = table.rows.get(id).ok_or(StoreError::NotFound)?;
        if let Some(expected) = expected_version {
            let current = version_of(&row.resource);
            if current != expected {
                return Err(StoreError::VersionMismatch {
                    expected: expected.to_owned(),
                    current: current.to_owned(),
                });
            }
        }
        if let Some(old) = table.rows.remove(id) {
            for k in old.unique {
                table.unique.remove(&k);
            }
        }
        if let Some(groups) = t.kinds.get_mut(&ResourceKind::Group) {
            for row in groups.rows.values_mut() {
                remove_member(&mut row.resource, id);
            }
        }
        Ok(())
    }

    async fn list(
        &self,
        kind: &ResourceKind,
        query: &StoreQuery<'_>,
    ) -> Result<StorePage, StoreError> {
        // A user's `groups` is not stored: it is computed from the groups' members. A filter
        // or sort that names it sees the user with `groups` filled in.
        let wants_groups = *kind == ResourceKind::User
            && (query.filter.is_some_and(|f| names_attribute(f, "groups"))
                || query.sort_by.is_some_and(|p| names_path(p, "groups")));
        // Under the lock: only cheap `Arc` clones. Filtering and sorting run after it.
        let (rows, groups) = {
            let t = self.lock();
            let snapshot = |k: &ResourceKind| -> Vec<(u64, Arc<Value>)> {
                t.kinds
                    .get(k)
                    .map(|table| {
                        table
                            .rows
                            .values()
                            .map(|r| (r.seq, Arc::clone(&r.resource)))
                            .collect()
                    })
                    .unwrap_or_default()
            };
            let groups = wants_groups.then(|| snapshot(&ResourceKind::Group));
            (snapshot(kind), groups)
        };
        let memberships = groups.as_deref().map(membership_index);
        let sorts_by_groups =
            wants_groups && query.sort_by.is_some_and(|p| names_path(p, "groups"));
        let limit = self.filter_budget.unwrap_or(DEFAULT_FILTER_BUDGET);
        let budget = crate::filter::Budget::new(limit);
        let mut hits: Vec<Hit> = Vec::new();
        for (seq, resource) in rows {
            // The user's groups are computed from the index and matched beside the user,
            // never by copying the user; a hit keeps them only when the sort needs them.
            let groups = memberships.as_ref().map(|index| {
                let id = resource
                    .get("id")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                index.get(id).map(|g| groups_value(g))
            });
            let computed = match &groups {
                Some(Some(g)) => Some(("groups", g)),
                _ => None,
            };
            let matched = query
                .filter
                .is_none_or(|f| f.matches_with(&resource, query.schema, computed, &budget));
            if budget.spent() {
                return Err(StoreError::TooMany { limit });
            }
            if matched {
                let sort_view = groups
                    .flatten()
                    .filter(|_| sorts_by_groups)
                    .map(|g| serde_json::json!({ "groups": g }));
                hits.push(Hit {
                    seq,
                    resource,
                    sort_view,
                });
            }
        }
        sort_hits(&mut hits, query);
        let total_results = hits.len();
        let skip = query.start_index.saturating_sub(1);
        let resources = hits
            .into_iter()
            .skip(skip)
            .take(query.count)
            .map(|h| (*h.resource).clone())
            .collect();
        Ok(StorePage {
            total_results,
            resources,
        })
    }

    async fn groups_of(&self, member_id: &str) -> Result<Vec<GroupRef>, StoreError> {
        // Under the lock: only `Arc` clones; the scan runs after it.
        let groups: Vec<(u64, Arc<Value>)> = {
            let t = self.lock();
            t.kinds
                .get(&ResourceKind::Group)
                .map(|g| {
                    g.rows
                        .values()
                        .map(|r| (r.seq, Arc::clone(&r.resource)))
                        .collect()
                })
                .unwrap_or_default()
        };
        let mut found: BTreeMap<u64, GroupRef> = BTreeMap::new();
        for (seq, resource) in &groups {
            if member_values(resource).any(|v| v == member_id) {
                let id = resource
                    .get("id")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                let display = resource
                    .get("displayName")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                found.insert(*seq, GroupRef { id, display });
            }
        }
        Ok(found.into_values().collect())
    }
}

/// Whether `filter` names the core attribute `name` anywhere.
pub fn names_attribute(filter: &Filter, name: &str) -> bool {
    let hit = |p: &AttrPath| {
        p.name.eq_ignore_ascii_case(name)
            && p.urn
                .as_deref()
                .is_none_or(|u| !u.to_ascii_lowercase().contains(":extension:"))
    };
    match filter {
        Filter::Present(p) | Filter::Compare { path: p, .. } => hit(p),
        Filter::ValuePath { path, .. } => hit(path),
        Filter::Not(f) => names_attribute(f, name),
        Filter::And(a, b) | Filter::Or(a, b) => {
            names_attribute(a, name) || names_attribute(b, name)
        }
    }
}

/// The `groups` value of a user that is a direct member of `groups`, as the handler shows it
/// (without `$ref`, which needs the base URL).
pub fn groups_value(groups: &[GroupRef]) -> Value {
    Value::Array(
        groups
            .iter()
            .map(|g| {
                let mut m = serde_json::Map::new();
                m.insert("value".into(), Value::String(g.id.clone()));
                if let Some(d) = &g.display {
                    m.insert("display".into(), Value::String(d.clone()));
                }
                m.insert("type".into(), Value::String("direct".into()));
                Value::Object(m)
            })
            .collect(),
    )
}

/// Whether `path` names the core attribute `name`.
fn names_path(path: &AttrPath, name: &str) -> bool {
    path.name.eq_ignore_ascii_case(name)
        && path
            .urn
            .as_deref()
            .is_none_or(|u| !u.to_ascii_lowercase().contains(":extension:"))
}

/// A resource that matched a list query; `sort_view` holds only the computed `groups` of a
/// user (`{"groups": [...]}`), when the query sorts by them.
struct Hit {
    seq: u64,
    resource: Arc<Value>,
    sort_view: Option<Value>,
}

impl Hit {
    fn shown(&self) -> &Value {
        self.sort_view.as_ref().unwrap_or(&self.resource)
    }
}

/// member id -> the groups it is a direct member of, in group creation order.
fn membership_index(groups: &[(u64, Arc<Value>)]) -> HashMap<String, Vec<GroupRef>> {
    let mut index: HashMap<String, Vec<(u64, GroupRef)>> = HashMap::new();
    {
        for (seq, resource) in groups {
            let id = resource
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let display = resource
                .get("displayName")
                .and_then(Value::as_str)
                .map(str::to_owned);
            for member in member_values(resource) {
                {
                    index.entry(member.to_owned()).or_default().push((
                        *seq,
                        GroupRef {
                            id: id.to_owned(),
                            display: display.clone(),
                        },
                    ));
                }
            }
        }
    }
    index
        .into_iter()
        .map(|(k, mut v)| {
            v.sort_by_key(|(seq, _)| *seq);
            (k, v.into_iter().map(|(_, g)| g).collect())
        })
        .collect()
}

/// Orders rows by the query's sort attribute (absent values last in either direction), then
/// by creation order, so that paging is stable.
fn sort_hits(rows: &mut [Hit], query: &StoreQuery<'_>) {
    let resolved = query
        .sort_by
        .and_then(|p| query.schema.resolve(p).map(|r| (p, r.leaf().clone())));
    rows.sort_by(|a, b| {
        let primary = match &resolved {
            None => Ordering::Equal,
            Some((path, def)) => {
                let va = crate::filter::sort_value(a.shown(), path, query.schema);
                let vb = crate::filter::sort_value(b.shown(), path, query.schema);
                match (va, vb) {
                    (Some(x), Some(y)) => {
                        let o = crate::filter::compare_values(x, y, def);
                        if query.descending { o.reverse() } else { o }
                    }
                    (Some(_), None) => Ordering::Less,
                    (None, Some(_)) => Ordering::Greater,
                    (None, None) => Ordering::Equal,
                }
            }
        };
        primary.then(a.seq.cmp(&b.seq))
    });
}

/// Removes `member_id` from a group's `members`, bumping its version when it changed.
fn remove_member(group: &mut Arc<Value>, member_id: &str) {
    if member_values(group).all(|v| v != member_id) {
        return;
    }
    let group = Arc::make_mut(group);
    let Some(members) = group.get_mut("members").and_then(Value::as_array_mut) else {
        return;
    };
    let before = members.len();
    members.retain(|m| m.get("value").and_then(Value::as_str) != Some(member_id));
    if members.len() != before {
        crate::resource::touch_meta(group);
    }
}
