//! scim-core's [`ResourceStore`] over SQL, with filters pushed down where SQL gives the same
//! answer as the engine.

use std::cmp::Ordering;
use std::collections::{BTreeSet, HashMap};

use async_trait::async_trait;
use scim_core::filter::{AttrPath, CompValue, CompareOp, Filter, compare_values, sort_value};
use scim_core::resource::{get_ci, touch_meta};
use scim_core::schema::AttrType;
use scim_core::store::{
    GroupRef, ResourceStore, StoreError, StorePage, StoreQuery, UniqueKey, groups_value,
    names_attribute,
};
use scim_core::{ResourceKind, ResourceSchema};
use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};
use tenant_config::DirectoryId;

use crate::db::{Backend, SqlStore, is_foreign_key_violation, is_unique_violation};

/// How many member ids one existence check binds (both backends take far more).
const MEMBER_CHUNK: usize = 500;

/// The most rows a list reads to evaluate, in the engine, a filter or sort that SQL cannot
/// answer alone.
pub const DEFAULT_MAX_SCAN: usize = 10_000;

/// How a [`SqlResourceStore`] answers list queries.
#[derive(Debug, Clone)]
pub struct ListOptions {
    /// Translate what SQL answers exactly into the `WHERE` clause. Off evaluates every filter
    /// in the engine (for comparison benches).
    pub pushdown: bool,
    /// The most candidate rows read for evaluation in the engine; a list that would read more
    /// fails instead of scanning without bound.
    pub max_scan: usize,
}

impl Default for ListOptions {
    fn default() -> Self {
        Self {
            pushdown: true,
            max_scan: DEFAULT_MAX_SCAN,
        }
    }
}

/// The SCIM resources of one directory in a [`SqlStore`].
#[derive(Debug, Clone)]
pub struct SqlResourceStore {
    db: SqlStore,
    directory: String,
    options: ListOptions,
}

impl SqlStore {
    /// The SCIM resource store of `directory`.
    pub fn resource_store(&self, directory: &DirectoryId) -> SqlResourceStore {
        SqlResourceStore {
            db: self.clone(),
            directory: directory.as_str().to_owned(),
            options: ListOptions::default(),
        }
    }
}

impl SqlResourceStore {
    /// The same store with other list options.
    pub fn with_list_options(mut self, options: ListOptions) -> Self {
        self.options = options;
        self
    }
}

fn backend(e: sqlx::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// The stored name of a kind; host-defined kinds get a prefix so they never meet the
/// built-in ones.
fn kind_key(kind: &ResourceKind) -> String {
    match kind {
        ResourceKind::User => "User".into(),
        ResourceKind::Group => "Group".into(),
        ResourceKind::Custom(name) => format!("custom:{name}"),
    }
}

/// Case folding as the SCIM engine does it for `eq` and ordering: Unicode lower-casing per
/// character.
fn fold(s: &str) -> String {
    s.chars().flat_map(char::to_lowercase).collect()
}

/// The indexed text columns: the attribute, its raw column and its folded column.
const COLUMNS: &[(&str, &str, &str)] = &[
    ("userName", "user_name", "user_name_fold"),
    ("externalId", "external_id", "external_id_fold"),
    ("displayName", "display_name", "display_name_fold"),
];

/// The raw and folded values of the indexed columns of a resource, in `COLUMNS` order.
fn column_values(resource: &Value) -> Vec<(Option<String>, Option<String>)> {
    COLUMNS
        .iter()
        .map(|(attr, _, _)| match get_ci(resource, attr) {
            Some(Value::String(s)) => (Some(s.clone()), Some(fold(s))),
            _ => (None, None),
        })
        .collect()
}

fn resource_id(resource: &Value) -> Result<String, StoreError> {
    resource
        .get("id")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| StoreError::Backend("resource has no id".into()))
}

fn version_of(resource: &Value) -> String {
    resource
        .pointer("/meta/version")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned()
}

/// The distinct member ids of a group.
fn member_ids(group: &Value) -> BTreeSet<String> {
    group
        .get("members")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|m| m.get("value").and_then(Value::as_str).map(str::to_owned))
        .collect()
}

fn parse_body(row: &AnyRow) -> Result<Value, StoreError> {
    let body: String = row.try_get("body").map_err(backend)?;
    serde_json::from_str(&body).map_err(|e| StoreError::Backend(format!("stored resource: {e}")))
}

/// What [`SqlResourceStore::start_write`] hands to an insert or replace.
struct WriteStart {
    id: String,
    kind: String,
    cols: Vec<(Option<String>, Option<String>)>,
    tx: Transaction<'static, Any>,
    members: Vec<(String, String)>,
}

impl SqlResourceStore {
    async fn begin(&self) -> Result<Transaction<'static, Any>, StoreError> {
        self.db.pool.begin().await.map_err(backend)
    }

    /// Opens the transaction of an insert or replace of `resource`: its id, kind key and
    /// column values, and for a group its checked members. Members come first: a group cannot
    /// list itself before it exists, and every transaction locks members before groups.
    async fn start_write(
        &self,
        kind: &ResourceKind,
        resource: &Value,
    ) -> Result<WriteStart, StoreError> {
        let id = resource_id(resource)?;
        let kind = kind_key(kind);
        let cols = column_values(resource);
        let mut tx = self.begin().await?;
        let members = if kind == "Group" {
            self.stored_members(&mut tx, resource).await?
        } else {
            Vec::new()
        };
        Ok(WriteStart {
            id,
            kind,
            cols,
            tx,
            members,
        })
    }

    /// The members of a group resource with their kinds, all stored users or groups of this
    /// directory; fails with [`StoreError::MissingMember`] naming the first (in id order)
    /// that is not. On Postgres the rows found are locked `FOR KEY SHARE` until `tx` ends, so
    /// a concurrent delete of a member waits for this write and then sees its membership
    /// rows, or deletes first and this check no longer finds the member.
    async fn stored_members(
        &self,
        tx: &mut Transaction<'static, Any>,
        resource: &Value,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let wanted: Vec<String> = member_ids(resource).into_iter().collect();
        let lock = match self.db.backend {
            Backend::Postgres => " FOR KEY SHARE",
            Backend::Sqlite => "",
        };
        let mut found: HashMap<String, String> = HashMap::new();
        for chunk in wanted.chunks(MEMBER_CHUNK) {
            let placeholders = (0..chunk.len())
                .map(|i| format!("${}", i + 2))
                .collect::<Vec<_>>()
                .join(", ");
            // Locks are taken in (kind, id) order, the same in every transaction.
            let sql = format!(
                "SELECT id, kind FROM scim_resources WHERE directory_id = $1 \
                 AND kind IN ('User', 'Group') AND id IN ({placeholders}) ORDER BY kind, id{lock}"
            );
            let mut q = sqlx::query(&sql).bind(self.directory.clone());
            for id in chunk {
                q = q.bind(id.clone());
            }
            for row in q.fetch_all(&mut **tx).await.map_err(backend)? {
                let id: String = row.try_get(0).map_err(backend)?;
                let kind: String = row.try_get(1).map_err(backend)?;
                found.entry(id).or_insert(kind);
            }
        }
        wanted
            .into_iter()
            .map(|id| match found.remove(&id) {
                Some(kind) => Ok((id, kind)),
                None => Err(StoreError::MissingMember { value: id }),
            })
            .collect()
    }

    /// Writes the uniqueness keys and the membership rows (`members`, from
    /// [`Self::stored_members`]) of a resource inside `tx`.
    async fn write_keys(
        &self,
        tx: &mut Transaction<'static, Any>,
        kind: &str,
        id: &str,
        unique: &[UniqueKey],
        members: &[(String, String)],
    ) -> Result<(), StoreError> {
        for key in unique {
            sqlx::query(
                "INSERT INTO scim_unique (directory_id, kind, attribute, value, resource_id) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(self.directory.clone())
            .bind(kind.to_owned())
            .bind(key.attribute.clone())
            .bind(key.value.clone())
            .bind(id.to_owned())
            .execute(&mut **tx)
            .await
            .map_err(|e| {
                if is_unique_violation(&e) {
                    StoreError::Conflict {
                        attribute: key.attribute.clone(),
                        value: key.value.clone(),
                    }
                } else {
                    backend(e)
                }
            })?;
        }
        for (member, member_kind) in members {
            // The foreign key refuses a row whose member is gone (it cannot be after the
            // locked check on Postgres, nor on SQLite's single writer; it is the backstop).
            sqlx::query(
                "INSERT INTO scim_members (directory_id, group_id, member_kind, member_id) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(self.directory.clone())
            .bind(id.to_owned())
            .bind(member_kind.clone())
            .bind(member.clone())
            .execute(&mut **tx)
            .await
            .map_err(|e| {
                if is_foreign_key_violation(&e) {
                    StoreError::MissingMember {
                        value: member.clone(),
                    }
                } else {
                    backend(e)
                }
            })?;
        }
        Ok(())
    }

    async fn clear_keys(
        &self,
        tx: &mut Transaction<'static, Any>,
        kind: &str,
        id: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "DELETE FROM scim_unique WHERE directory_id = $1 AND kind = $2 AND resource_id = $3",
        )
        .bind(self.directory.clone())
        .bind(kind.to_owned())
        .bind(id.to_owned())
        .execute(&mut **tx)
        .await
        .map_err(backend)?;
        if kind == "Group" {
            sqlx::query("DELETE FROM scim_members WHERE directory_id = $1 AND group_id = $2")
                .bind(self.directory.clone())
                .bind(id.to_owned())
                .execute(&mut **tx)
                .await
                .map_err(backend)?;
        }
        Ok(())
    }

    async fn current_version(
        &self,
        tx: &mut Transaction<'static, Any>,
        kind: &str,
        id: &str,
    ) -> Result<Option<String>, StoreError> {
        let row = sqlx::query(
            "SELECT version FROM scim_resources WHERE directory_id = $1 AND kind = $2 AND id = $3",
        )
        .bind(self.directory.clone())
        .bind(kind.to_owned())
        .bind(id.to_owned())
        .fetch_optional(&mut **tx)
        .await
        .map_err(backend)?;
        row.map(|r| r.try_get::<String, _>(0).map_err(backend))
            .transpose()
    }

    /// member id -> the groups it is a direct member of, in group creation order.
    async fn membership_index(&self) -> Result<HashMap<String, Vec<GroupRef>>, StoreError> {
        let rows = sqlx::query(
            "SELECT m.member_id, r.id, r.display_name FROM scim_members m \
             JOIN scim_resources r ON r.directory_id = m.directory_id AND r.kind = 'Group' AND r.id = m.group_id \
             WHERE m.directory_id = $1 ORDER BY r.seq",
        )
        .bind(self.directory.clone())
        .fetch_all(&self.db.pool)
        .await
        .map_err(backend)?;
        let mut index: HashMap<String, Vec<GroupRef>> = HashMap::new();
        for row in rows {
            let member: String = row.try_get(0).map_err(backend)?;
            index.entry(member).or_default().push(GroupRef {
                id: row.try_get(1).map_err(backend)?,
                display: row.try_get(2).map_err(backend)?,
            });
        }
        Ok(index)
    }
}

#[async_trait]
impl ResourceStore for SqlResourceStore {
    async fn insert(
        &self,
        kind: &ResourceKind,
        resource: Value,
        unique: Vec<UniqueKey>,
    ) -> Result<(), StoreError> {
        let WriteStart {
            id,
            kind,
            cols,
            mut tx,
            members,
        } = self.start_write(kind, &resource).await?;
        let body = resource.to_string();
        let mut q = sqlx::query(
            "INSERT INTO scim_resources (directory_id, kind, id, version, body, id_fold, \
             user_name, user_name_fold, external_id, external_id_fold, display_name, display_name_fold) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(self.directory.clone())
        .bind(kind.clone())
        .bind(id.clone())
        .bind(version_of(&resource))
        .bind(body)
        .bind(fold(&id));
        for (raw, folded) in cols {
            q = q.bind(raw).bind(folded);
        }
        q.execute(&mut *tx).await.map_err(|e| {
            if is_unique_violation(&e) {
                StoreError::Conflict {
                    attribute: "id".into(),
                    value: id.clone(),
                }
            } else {
                backend(e)
            }
        })?;
        self.write_keys(&mut tx, &kind, &id, &unique, &members)
            .await?;
        tx.commit().await.map_err(backend)
    }

    async fn get(&self, kind: &ResourceKind, id: &str) -> Result<Option<Value>, StoreError> {
        let row = sqlx::query(
            "SELECT body FROM scim_resources WHERE directory_id = $1 AND kind = $2 AND id = $3",
        )
        .bind(self.directory.clone())
        .bind(kind_key(kind))
        .bind(id.to_owned())
        .fetch_optional(&self.db.pool)
        .await
        .map_err(backend)?;
        row.as_ref().map(parse_body).transpose()
    }

    async fn replace(
        &self,
        kind: &ResourceKind,
        resource: Value,
        unique: Vec<UniqueKey>,
        expected_version: &str,
    ) -> Result<(), StoreError> {
        let WriteStart {
            id,
            kind,
            cols,
            mut tx,
            members,
        } = self.start_write(kind, &resource).await?;
        // Compare-and-swap on the version: the row lock taken by the UPDATE makes a concurrent
        // writer wait and then see the new version.
        let mut q = sqlx::query(
            "UPDATE scim_resources SET version = $1, body = $2, user_name = $3, user_name_fold = $4, \
             external_id = $5, external_id_fold = $6, display_name = $7, display_name_fold = $8 \
             WHERE directory_id = $9 AND kind = $10 AND id = $11 AND version = $12",
        )
        .bind(version_of(&resource))
        .bind(resource.to_string());
        for (raw, folded) in cols {
            q = q.bind(raw).bind(folded);
        }
        let done = q
            .bind(self.directory.clone())
            .bind(kind.clone())
            .bind(id.clone())
            .bind(expected_version.to_owned())
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        if done.rows_affected() == 0 {
            return Err(match self.current_version(&mut tx, &kind, &id).await? {
                None => StoreError::NotFound,
                Some(current) => StoreError::VersionMismatch {
                    expected: expected_version.to_owned(),
                    current,
                },
            });
        }
        self.clear_keys(&mut tx, &kind, &id).await?;
        self.write_keys(&mut tx, &kind, &id, &unique, &members)
            .await?;
        tx.commit().await.map_err(backend)
    }

    async fn delete(
        &self,
        kind: &ResourceKind,
        id: &str,
        expected_version: Option<&str>,
    ) -> Result<(), StoreError> {
        let kind = kind_key(kind);
        let postgres = self.db.backend == Backend::Postgres;
        let mut tx = self.begin().await?;
        // Lock the resource first (Postgres): a group write that checks it as a member waits
        // for this delete and then no longer finds it, and a group write that checked it
        // before makes this lock wait until its membership rows are committed and visible
        // to the statements below.
        let lock_sql = format!(
            "SELECT version FROM scim_resources WHERE directory_id = $1 AND kind = $2 AND id = $3{}",
            if postgres { " FOR UPDATE" } else { "" }
        );
        let current = sqlx::query(&lock_sql)
            .bind(self.directory.clone())
            .bind(kind.clone())
            .bind(id.to_owned())
            .fetch_optional(&mut *tx)
            .await
            .map_err(backend)?
            .map(|r| r.try_get::<String, _>(0).map_err(backend))
            .transpose()?
            .ok_or(StoreError::NotFound)?;
        if let Some(expected) = expected_version
            && expected != current
        {
            return Err(StoreError::VersionMismatch {
                expected: expected.to_owned(),
                current,
            });
        }

        // Remove it from every group that lists it, the groups locked in id order.
        let groups_sql = format!(
            "SELECT id, body FROM scim_resources WHERE directory_id = $1 AND kind = 'Group' AND id IN \
             (SELECT group_id FROM scim_members WHERE directory_id = $1 AND member_kind = $2 AND member_id = $3) \
             ORDER BY id{}",
            if postgres { " FOR UPDATE" } else { "" }
        );
        let groups = sqlx::query(&groups_sql)
            .bind(self.directory.clone())
            .bind(kind.clone())
            .bind(id.to_owned())
            .fetch_all(&mut *tx)
            .await
            .map_err(backend)?;
        for row in groups {
            let group_id: String = row.try_get(0).map_err(backend)?;
            let mut group = parse_body(&row)?;
            let Some(members) = group.get_mut("members").and_then(Value::as_array_mut) else {
                continue;
            };
            let before = members.len();
            members.retain(|m| m.get("value").and_then(Value::as_str) != Some(id));
            if members.len() == before {
                continue;
            }
            touch_meta(&mut group);
            sqlx::query(
                "UPDATE scim_resources SET body = $1, version = $2 \
                 WHERE directory_id = $3 AND kind = 'Group' AND id = $4",
            )
            .bind(group.to_string())
            .bind(version_of(&group))
            .bind(self.directory.clone())
            .bind(group_id)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        }
        sqlx::query(
            "DELETE FROM scim_members WHERE directory_id = $1 AND member_kind = $2 AND member_id = $3",
        )
        .bind(self.directory.clone())
        .bind(kind.clone())
        .bind(id.to_owned())
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        self.clear_keys(&mut tx, &kind, id).await?;
        sqlx::query("DELETE FROM scim_resources WHERE directory_id = $1 AND kind = $2 AND id = $3")
            .bind(self.directory.clone())
            .bind(kind.clone())
            .bind(id.to_owned())
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        tx.commit().await.map_err(backend)
    }

    async fn list(
        &self,
        kind: &ResourceKind,
        query: &StoreQuery<'_>,
    ) -> Result<StorePage, StoreError> {
        let kind_name = kind_key(kind);
        let needs_groups = *kind == ResourceKind::User
            && query.filter.is_some_and(|f| names_attribute(f, "groups"));
        let pushed = match (query.filter, self.options.pushdown) {
            (None, _) => Pushed::exact_true(),
            (Some(f), true) => translate(f, query.schema),
            (Some(_), false) => Pushed::inexact_true(),
        };
        let where_clause = format!(
            "directory_id = $1 AND kind = $2{}",
            pushed
                .sql
                .as_deref()
                .map(|s| format!(" AND ({})", number_placeholders(s, 3)))
                .unwrap_or_default()
        );

        // SQL answers alone: one statement reads the page with the total beside each row; a
        // separate count is needed only when the page is empty.
        if pushed.exact && query.sort_by.is_none() && !needs_groups {
            let skip = query.start_index.saturating_sub(1);
            let mut resources = Vec::new();
            let mut total = None;
            if query.count > 0 {
                let page_sql = format!(
                    "SELECT body, COUNT(*) OVER () AS total FROM scim_resources WHERE {where_clause} \
                     ORDER BY seq LIMIT {} OFFSET {}",
                    sql_int(query.count),
                    sql_int(skip)
                );
                let mut q = sqlx::query(&page_sql)
                    .bind(self.directory.clone())
                    .bind(kind_name.clone());
                for b in &pushed.binds {
                    q = q.bind(b.clone());
                }
                let rows = q.fetch_all(&self.db.pool).await.map_err(backend)?;
                if let Some(first) = rows.first() {
                    total = Some(first.try_get::<i64, _>("total").map_err(backend)?);
                } else if skip == 0 {
                    total = Some(0);
                }
                resources = rows.iter().map(parse_body).collect::<Result<_, _>>()?;
            }
            let total = match total {
                Some(t) => t,
                None => {
                    let count_sql =
                        format!("SELECT COUNT(*) FROM scim_resources WHERE {where_clause}");
                    let mut q = sqlx::query(&count_sql)
                        .bind(self.directory.clone())
                        .bind(kind_name.clone());
                    for b in &pushed.binds {
                        q = q.bind(b.clone());
                    }
                    q.fetch_one(&self.db.pool)
                        .await
                        .and_then(|r| r.try_get(0))
                        .map_err(backend)?
                }
            };
            return Ok(StorePage {
                total_results: usize::try_from(total).unwrap_or(0),
                resources,
            });
        }

        // Otherwise read the candidates (bounded) and finish in the engine.
        let scan_sql = format!(
            "SELECT seq, body FROM scim_resources WHERE {where_clause} ORDER BY seq LIMIT {}",
            sql_int(self.options.max_scan.saturating_add(1))
        );
        let mut q = sqlx::query(&scan_sql)
            .bind(self.directory.clone())
            .bind(kind_name);
        for b in &pushed.binds {
            q = q.bind(b.clone());
        }
        let rows = q.fetch_all(&self.db.pool).await.map_err(backend)?;
        if rows.len() > self.options.max_scan {
            return Err(StoreError::Backend(format!(
                "the filter or sort needs the engine to scan more than {} resources; narrow it with an indexed attribute (userName, externalId, displayName) or raise max_scan",
                self.options.max_scan
            )));
        }
        let index = if needs_groups {
            Some(self.membership_index().await?)
        } else {
            None
        };
        let mut hits: Vec<(i64, Value)> = Vec::new();
        for row in &rows {
            let seq: i64 = row.try_get("seq").map_err(backend)?;
            let resource = parse_body(row)?;
            let keep = match (query.filter, &index) {
                (None, _) => true,
                (Some(f), None) => f.matches(&resource, query.schema),
                (Some(f), Some(index)) => {
                    let mut user = resource.clone();
                    let id = user
                        .get("id")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned();
                    if let (Some(groups), Some(obj)) = (index.get(&id), user.as_object_mut()) {
                        obj.insert("groups".into(), groups_value(groups));
                    }
                    f.matches(&user, query.schema)
                }
            };
            if keep {
                hits.push((seq, resource));
            }
        }
        sort_hits(&mut hits, query);
        let total_results = hits.len();
        let resources = hits
            .into_iter()
            .skip(query.start_index.saturating_sub(1))
            .take(query.count)
            .map(|(_, r)| r)
            .collect();
        Ok(StorePage {
            total_results,
            resources,
        })
    }

    async fn groups_of(&self, member_id: &str) -> Result<Vec<GroupRef>, StoreError> {
        let rows = sqlx::query(
            "SELECT r.id, r.display_name FROM scim_members m \
             JOIN scim_resources r ON r.directory_id = m.directory_id AND r.kind = 'Group' AND r.id = m.group_id \
             WHERE m.directory_id = $1 AND m.member_id = $2 ORDER BY r.seq",
        )
        .bind(self.directory.clone())
        .bind(member_id.to_owned())
        .fetch_all(&self.db.pool)
        .await
        .map_err(backend)?;
        rows.iter()
            .map(|row| {
                Ok(GroupRef {
                    id: row.try_get(0).map_err(backend)?,
                    display: row.try_get(1).map_err(backend)?,
                })
            })
            .collect()
    }
}

/// A count for `LIMIT` or `OFFSET`: both databases take at most `i64::MAX`.
fn sql_int(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Orders hits as scim-core's in-memory store does: by the sort value (absent last in both
/// directions), then by creation.
fn sort_hits(hits: &mut [(i64, Value)], query: &StoreQuery<'_>) {
    let resolved = query
        .sort_by
        .and_then(|p| query.schema.resolve(p).map(|r| (p, r.leaf().clone())));
    hits.sort_by(|(sa, a), (sb, b)| {
        let primary = match &resolved {
            None => Ordering::Equal,
            Some((path, def)) => {
                match (
                    sort_value(a, path, query.schema),
                    sort_value(b, path, query.schema),
                ) {
                    (Some(x), Some(y)) => {
                        let o = compare_values(x, y, def);
                        if query.descending { o.reverse() } else { o }
                    }
                    (Some(_), None) => Ordering::Less,
                    (None, Some(_)) => Ordering::Greater,
                    (None, None) => Ordering::Equal,
                }
            }
        };
        primary.then(sa.cmp(sb))
    });
}

/// A filter translated to SQL: `sql` (`None` for no condition) selects a superset of the
/// matching rows; `exact` says it selects exactly them.
#[derive(Debug)]
pub(crate) struct Pushed {
    pub(crate) sql: Option<String>,
    pub(crate) exact: bool,
    pub(crate) binds: Vec<String>,
}

impl Pushed {
    fn exact_true() -> Self {
        Self {
            sql: None,
            exact: true,
            binds: Vec::new(),
        }
    }

    fn inexact_true() -> Self {
        Self {
            sql: None,
            exact: false,
            binds: Vec::new(),
        }
    }
}

/// Marks a placeholder in translated SQL; [`number_placeholders`] numbers them in order.
const PLACEHOLDER: char = '\u{1}';

/// Replaces the placeholder marks of `sql` with `$first`, `$first + 1`, ...
pub(crate) fn number_placeholders(sql: &str, first: usize) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut n = first;
    for c in sql.chars() {
        if c == PLACEHOLDER {
            out.push_str(&format!("${n}"));
            n += 1;
        } else {
            out.push(c);
        }
    }
    out
}

/// The indexed column an attribute path reads, if the path names a single-valued core string
/// attribute with one: (raw column, folded column, caseExact).
fn indexed_column(
    path: &AttrPath,
    schema: &ResourceSchema,
) -> Option<(&'static str, &'static str, bool)> {
    let r = schema.resolve(path)?;
    if r.extension.is_some()
        || r.sub.is_some()
        || r.attr.multi_valued
        || r.attr.kind != AttrType::String
    {
        return None;
    }
    if r.attr.name.eq_ignore_ascii_case("id") {
        return Some(("id", "id_fold", r.attr.case_exact));
    }
    COLUMNS
        .iter()
        .find(|(attr, _, _)| r.attr.name.eq_ignore_ascii_case(attr))
        .map(|(_, raw, folded)| (*raw, *folded, r.attr.case_exact))
}

/// Translates `filter`. Comparisons on indexed string attributes become exact SQL; anything
/// else becomes "no condition, not exact", which the engine then evaluates.
pub(crate) fn translate(filter: &Filter, schema: &ResourceSchema) -> Pushed {
    match filter {
        Filter::And(a, b) => {
            let (a, b) = (translate(a, schema), translate(b, schema));
            let sql = match (a.sql, b.sql) {
                (Some(x), Some(y)) => Some(format!("({x}) AND ({y})")),
                (x, y) => x.or(y),
            };
            Pushed {
                sql,
                exact: a.exact && b.exact,
                binds: [a.binds, b.binds].concat(),
            }
        }
        Filter::Or(a, b) => {
            let (a, b) = (translate(a, schema), translate(b, schema));
            match (a.sql, b.sql) {
                (Some(x), Some(y)) => Pushed {
                    sql: Some(format!("({x}) OR ({y})")),
                    exact: a.exact && b.exact,
                    binds: [a.binds, b.binds].concat(),
                },
                // One side selects everything, so the disjunction does too.
                _ => Pushed::inexact_true(),
            }
        }
        Filter::Present(path) => match indexed_column(path, schema) {
            Some((raw, _, _)) => Pushed {
                sql: Some(format!("{raw} IS NOT NULL AND {raw} <> ''")),
                exact: true,
                binds: Vec::new(),
            },
            None => Pushed::inexact_true(),
        },
        Filter::Compare {
            path,
            op,
            value: CompValue::String(literal),
        } => {
            let Some((raw, folded, case_exact)) = indexed_column(path, schema) else {
                return Pushed::inexact_true();
            };
            let (column, value) = if case_exact {
                (raw, literal.clone())
            } else {
                (folded, fold(literal))
            };
            let cmp = match op {
                CompareOp::Eq => "=",
                CompareOp::Gt => ">",
                CompareOp::Ge => ">=",
                CompareOp::Lt => "<",
                CompareOp::Le => "<=",
                // The engine lower-cases non-ASCII haystacks for `sw` slightly differently
                // (final sigma), so only ASCII prefixes of folded columns are exact.
                CompareOp::Sw if case_exact || literal.is_ascii() => {
                    let p = PLACEHOLDER;
                    let n = value.chars().count();
                    return Pushed {
                        sql: Some(format!(
                            "{column} >= {p} AND substr({column}, 1, {n}) = {p}"
                        )),
                        exact: true,
                        binds: vec![value.clone(), value],
                    };
                }
                _ => return Pushed::inexact_true(),
            };
            let p = PLACEHOLDER;
            Pushed {
                sql: Some(format!("{column} {cmp} {p}")),
                exact: true,
                binds: vec![value],
            }
        }
        _ => Pushed::inexact_true(),
    }
}

#[cfg(test)]
mod tests {
    use scim_core::parse_filter;

    use super::*;

    fn pushed(f: &str) -> (Option<String>, bool, Vec<String>) {
        let filter = parse_filter(f).unwrap_or_else(|e| panic!("{f}: {e}"));
        let p = translate(&filter, &ResourceSchema::user());
        (p.sql.map(|s| number_placeholders(&s, 3)), p.exact, p.binds)
    }

    fn some(s: &str) -> Option<String> {
        Some(s.to_owned())
    }

    #[test]
    fn indexed_comparisons_are_pushed_down_exactly() {
        assert_eq!(
            pushed("userName eq \"Jane@Example.COM\""),
            (
                some("user_name_fold = $3"),
                true,
                vec!["jane@example.com".into()]
            )
        );
        assert_eq!(
            pushed("externalId eq \"AbC\""),
            (some("external_id = $3"), true, vec!["AbC".into()])
        );
        assert_eq!(
            pushed("urn:ietf:params:scim:schemas:core:2.0:User:userName gt \"M\""),
            (some("user_name_fold > $3"), true, vec!["m".into()])
        );
        assert_eq!(
            pushed("userName sw \"Jo\" and displayName pr"),
            (
                some(
                    "(user_name_fold >= $3 AND substr(user_name_fold, 1, 2) = $4) AND (display_name IS NOT NULL AND display_name <> '')"
                ),
                true,
                vec!["jo".into(), "jo".into()]
            )
        );
        assert_eq!(
            pushed("id eq \"a\" or userName le \"b\""),
            (
                some("(id = $3) OR (user_name_fold <= $4)"),
                true,
                vec!["a".into(), "b".into()]
            )
        );
    }

    #[test]
    fn the_rest_is_left_to_the_engine() {
        // A conjunction keeps its indexed part as a narrowing condition.
        assert_eq!(
            pushed("userName eq \"a\" and title pr"),
            (some("user_name_fold = $3"), false, vec!["a".into()])
        );
        for f in [
            "title pr",
            "userName co \"a\"",
            "userName ew \"a\"",
            "userName ne \"a\"",
            "not (userName eq \"a\")",
            "userName eq null",
            "userName eq 3",
            "userName sw \"Ä\"",
            "userName eq \"a\" or title pr",
            "emails[type eq \"work\"]",
            "name.familyName eq \"x\"",
            "meta.created gt \"2026-01-01T00:00:00Z\"",
            "active eq true",
        ] {
            let (sql, exact, binds) = pushed(f);
            assert!(!exact, "{f} must not be exact");
            assert!(sql.is_none() && binds.is_empty(), "{f}: {sql:?}");
        }
    }

    #[test]
    fn folding_matches_the_engine() {
        assert_eq!(fold("ÄRGER.Åsa"), "ärger.åsa");
        assert_eq!(fold("İ"), "i\u{307}");
    }
}
