//! The tenant-config storage traits over SQL.

use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};
use tenant_config::store::check_state_id;
use tenant_config::{
    Connection, ConnectionId, DirectoryId, Domain, DomainName, LoginState, LoginStateStore,
    Organization, OrganizationId, ReplayCache, ScimDirectory, SecretString, StoredToken,
    TenantError, TenantStore, TokenId,
};
use time::OffsetDateTime;

use crate::db::{SqlStore, from_nanos, is_unique_violation, nanos};

fn backend(e: sqlx::Error) -> TenantError {
    TenantError::Backend(e.to_string())
}

/// Maps a unique-key violation to `Conflict` on `what`, any other failure to `Backend`.
fn conflict_or_backend(
    what: &'static str,
    value: impl ToString,
) -> impl FnOnce(sqlx::Error) -> TenantError {
    move |e| {
        if is_unique_violation(&e) {
            TenantError::Conflict {
                what,
                value: value.to_string(),
            }
        } else {
            backend(e)
        }
    }
}

fn to_json<T: Serialize>(value: &T) -> Result<String, TenantError> {
    serde_json::to_string(value).map_err(|e| TenantError::Backend(format!("encode: {e}")))
}

fn from_json<T: DeserializeOwned>(row: &AnyRow) -> Result<T, TenantError> {
    let body: String = row.try_get("body").map_err(backend)?;
    serde_json::from_str(&body).map_err(|e| TenantError::Backend(format!("stored record: {e}")))
}

fn not_found(what: &'static str, id: impl ToString) -> TenantError {
    TenantError::NotFound {
        what,
        id: id.to_string(),
    }
}

impl SqlStore {
    async fn begin(&self) -> Result<Transaction<'static, Any>, TenantError> {
        self.pool.begin().await.map_err(backend)
    }

    async fn bodies<T: DeserializeOwned>(
        &self,
        sql: &str,
        key: &str,
    ) -> Result<Vec<T>, TenantError> {
        let rows = sqlx::query(sql)
            .bind(key.to_owned())
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.iter().map(from_json).collect()
    }

    async fn body<T: DeserializeOwned>(
        &self,
        sql: &str,
        key: &str,
    ) -> Result<Option<T>, TenantError> {
        Ok(self.bodies(sql, key).await?.into_iter().next())
    }

    /// Creates or replaces a child row of an organization, refusing to move it to another
    /// organization.
    async fn save_child(
        &self,
        table: &'static str,
        what: &'static str,
        id: &str,
        org: &OrganizationId,
        body: String,
    ) -> Result<(), TenantError> {
        let mut tx = self.begin().await?;
        org_exists(&mut tx, org).await?;
        // One statement inserts or updates; a row of another organization is left alone and
        // reported, also when two callers race on a new id.
        let done = sqlx::query(&format!(
            "INSERT INTO {table} (id, organization_id, body) VALUES ($1, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET body = excluded.body \
             WHERE {table}.organization_id = excluded.organization_id"
        ))
        .bind(id.to_owned())
        .bind(org.as_str().to_owned())
        .bind(body)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        if done.rows_affected() == 0 {
            return Err(TenantError::Conflict {
                what,
                value: id.to_owned(),
            });
        }
        tx.commit().await.map_err(backend)
    }

    /// Deletes the row `sql` names by `id` in one transaction, first running each statement of
    /// `dependents` (bound to the same `id`) to remove the rows that refer to it; a missing row
    /// is `NotFound` for `what`.
    async fn delete_by_id(
        &self,
        dependents: &[&str],
        sql: &str,
        what: &'static str,
        id: &str,
    ) -> Result<(), TenantError> {
        let mut tx = self.begin().await?;
        for dependent in dependents {
            sqlx::query(dependent)
                .bind(id.to_owned())
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
        }
        let done = sqlx::query(sql)
            .bind(id.to_owned())
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        if done.rows_affected() == 0 {
            return Err(not_found(what, id));
        }
        tx.commit().await.map_err(backend)
    }
}

async fn org_exists(
    tx: &mut Transaction<'static, Any>,
    org: &OrganizationId,
) -> Result<(), TenantError> {
    let found = sqlx::query("SELECT 1 FROM organizations WHERE id = $1")
        .bind(org.as_str().to_owned())
        .fetch_optional(&mut **tx)
        .await
        .map_err(backend)?;
    found
        .map(drop)
        .ok_or_else(|| not_found("organization", org))
}

#[async_trait]
impl TenantStore for SqlStore {
    async fn save_organization(&self, org: &Organization) -> Result<(), TenantError> {
        let body = to_json(org)?;
        sqlx::query(
            "INSERT INTO organizations (id, body) VALUES ($1, $2) \
             ON CONFLICT (id) DO UPDATE SET body = excluded.body",
        )
        .bind(org.id.as_str().to_owned())
        .bind(body)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn organization(&self, id: &OrganizationId) -> Result<Option<Organization>, TenantError> {
        self.body("SELECT body FROM organizations WHERE id = $1", id.as_str())
            .await
    }

    async fn organizations(&self) -> Result<Vec<Organization>, TenantError> {
        let rows = sqlx::query("SELECT body FROM organizations ORDER BY id")
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.iter().map(from_json).collect()
    }

    async fn delete_organization(&self, id: &OrganizationId) -> Result<(), TenantError> {
        self.delete_by_id(
            &[
                "DELETE FROM scim_tokens WHERE directory_id IN (SELECT id FROM directories WHERE organization_id = $1)",
                "DELETE FROM directories WHERE organization_id = $1",
                "DELETE FROM connections WHERE organization_id = $1",
                "DELETE FROM domains WHERE organization_id = $1",
            ],
            "DELETE FROM organizations WHERE id = $1",
            "organization",
            id.as_str(),
        )
        .await
    }

    async fn insert_domain(&self, domain: &Domain) -> Result<(), TenantError> {
        let body = to_json(domain)?;
        let mut tx = self.begin().await?;
        org_exists(&mut tx, &domain.organization).await?;
        sqlx::query("INSERT INTO domains (name, organization_id, body) VALUES ($1, $2, $3)")
            .bind(domain.name.as_str().to_owned())
            .bind(domain.organization.as_str().to_owned())
            .bind(body)
            .execute(&mut *tx)
            .await
            .map_err(conflict_or_backend("domain", &domain.name))?;
        tx.commit().await.map_err(backend)
    }

    async fn update_domain(&self, domain: &Domain) -> Result<(), TenantError> {
        let done =
            sqlx::query("UPDATE domains SET body = $1 WHERE name = $2 AND organization_id = $3")
                .bind(to_json(domain)?)
                .bind(domain.name.as_str().to_owned())
                .bind(domain.organization.as_str().to_owned())
                .execute(&self.pool)
                .await
                .map_err(backend)?;
        if done.rows_affected() == 0 {
            return Err(not_found("domain", &domain.name));
        }
        Ok(())
    }

    async fn domain(&self, name: &DomainName) -> Result<Option<Domain>, TenantError> {
        self.body("SELECT body FROM domains WHERE name = $1", name.as_str())
            .await
    }

    async fn domains_of(&self, org: &OrganizationId) -> Result<Vec<Domain>, TenantError> {
        self.bodies(
            "SELECT body FROM domains WHERE organization_id = $1 ORDER BY name",
            org.as_str(),
        )
        .await
    }

    async fn delete_domain(&self, name: &DomainName) -> Result<(), TenantError> {
        self.delete_by_id(
            &[],
            "DELETE FROM domains WHERE name = $1",
            "domain",
            name.as_str(),
        )
        .await
    }

    async fn save_connection(&self, connection: &Connection) -> Result<(), TenantError> {
        let body = to_json(connection)?;
        self.save_child(
            "connections",
            "connection",
            connection.id.as_str(),
            &connection.organization,
            body,
        )
        .await
    }

    async fn connection(&self, id: &ConnectionId) -> Result<Option<Connection>, TenantError> {
        self.body("SELECT body FROM connections WHERE id = $1", id.as_str())
            .await
    }

    async fn connections_of(&self, org: &OrganizationId) -> Result<Vec<Connection>, TenantError> {
        self.bodies(
            "SELECT body FROM connections WHERE organization_id = $1 ORDER BY id",
            org.as_str(),
        )
        .await
    }

    async fn delete_connection(&self, id: &ConnectionId) -> Result<(), TenantError> {
        self.delete_by_id(
            &[],
            "DELETE FROM connections WHERE id = $1",
            "connection",
            id.as_str(),
        )
        .await
    }

    async fn save_directory(&self, directory: &ScimDirectory) -> Result<(), TenantError> {
        let body = to_json(directory)?;
        self.save_child(
            "directories",
            "directory",
            directory.id.as_str(),
            &directory.organization,
            body,
        )
        .await
    }

    async fn directory(&self, id: &DirectoryId) -> Result<Option<ScimDirectory>, TenantError> {
        self.body("SELECT body FROM directories WHERE id = $1", id.as_str())
            .await
    }

    async fn directories_of(
        &self,
        org: &OrganizationId,
    ) -> Result<Vec<ScimDirectory>, TenantError> {
        self.bodies(
            "SELECT body FROM directories WHERE organization_id = $1 ORDER BY id",
            org.as_str(),
        )
        .await
    }

    async fn delete_directory(&self, id: &DirectoryId) -> Result<(), TenantError> {
        self.delete_by_id(
            &["DELETE FROM scim_tokens WHERE directory_id = $1"],
            "DELETE FROM directories WHERE id = $1",
            "directory",
            id.as_str(),
        )
        .await
    }

    async fn insert_token(&self, token: &StoredToken) -> Result<(), TenantError> {
        let body = to_json(token)?;
        let mut tx = self.begin().await?;
        let dir = sqlx::query("SELECT 1 FROM directories WHERE id = $1")
            .bind(token.directory.as_str().to_owned())
            .fetch_optional(&mut *tx)
            .await
            .map_err(backend)?;
        if dir.is_none() {
            return Err(not_found("directory", &token.directory));
        }
        sqlx::query(
            "INSERT INTO scim_tokens (id, directory_id, hash, lookup_key, created_at, body) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(token.id.as_str().to_owned())
        .bind(token.directory.as_str().to_owned())
        .bind(token.hash.to_hex())
        .bind(token.hash.lookup_key())
        .bind(nanos(token.created_at))
        .bind(body)
        .execute(&mut *tx)
        .await
        .map_err(conflict_or_backend("token", &token.id))?;
        tx.commit().await.map_err(backend)
    }

    async fn update_token(&self, token: &StoredToken) -> Result<(), TenantError> {
        let done = sqlx::query("UPDATE scim_tokens SET body = $1 WHERE id = $2 AND hash = $3")
            .bind(to_json(token)?)
            .bind(token.id.as_str().to_owned())
            .bind(token.hash.to_hex())
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        if done.rows_affected() == 0 {
            return Err(not_found("token", &token.id));
        }
        Ok(())
    }

    async fn tokens_by_lookup_key(&self, key: &str) -> Result<Vec<StoredToken>, TenantError> {
        self.bodies(
            "SELECT body FROM scim_tokens WHERE lookup_key = $1 ORDER BY id",
            key,
        )
        .await
    }

    async fn tokens_of(&self, directory: &DirectoryId) -> Result<Vec<StoredToken>, TenantError> {
        self.bodies(
            "SELECT body FROM scim_tokens WHERE directory_id = $1 ORDER BY created_at, id",
            directory.as_str(),
        )
        .await
    }

    async fn delete_token(&self, id: &TokenId) -> Result<(), TenantError> {
        self.delete_by_id(
            &[],
            "DELETE FROM scim_tokens WHERE id = $1",
            "token",
            id.as_str(),
        )
        .await
    }
}

#[async_trait]
impl LoginStateStore for SqlStore {
    async fn put_login_state(&self, state: &LoginState) -> Result<(), TenantError> {
        check_state_id(&state.id)?;
        sqlx::query(
            "INSERT INTO login_states (id, organization_id, connection_id, return_to, protocol_data, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(state.id.clone())
        .bind(state.organization.as_str().to_owned())
        .bind(state.connection.as_str().to_owned())
        .bind(state.return_to.clone())
        .bind(state.protocol_data.expose_secret().to_owned())
        .bind(nanos(state.expires_at))
        .execute(&self.pool)
        .await
        .map_err(conflict_or_backend("login state", &state.id))?;
        Ok(())
    }

    async fn take_login_state(
        &self,
        id: &str,
        now: OffsetDateTime,
    ) -> Result<Option<LoginState>, TenantError> {
        // One statement deletes and returns the row: of concurrent takers, the database lets
        // exactly one see it.
        let row = sqlx::query(
            "DELETE FROM login_states WHERE id = $1 \
             RETURNING organization_id, connection_id, return_to, protocol_data, expires_at",
        )
        .bind(id.to_owned())
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        let Some(row) = row else { return Ok(None) };
        let expires_at = from_nanos(row.try_get("expires_at").map_err(backend)?);
        if now >= expires_at {
            return Ok(None);
        }
        let org: String = row.try_get("organization_id").map_err(backend)?;
        let conn: String = row.try_get("connection_id").map_err(backend)?;
        let data: String = row.try_get("protocol_data").map_err(backend)?;
        Ok(Some(LoginState {
            id: id.to_owned(),
            organization: OrganizationId::new(org)?,
            connection: ConnectionId::new(conn)?,
            return_to: row.try_get("return_to").map_err(backend)?,
            protocol_data: SecretString::new(data),
            expires_at,
        }))
    }

    async fn purge_login_states(&self, now: OffsetDateTime) -> Result<u64, TenantError> {
        let done = sqlx::query("DELETE FROM login_states WHERE expires_at <= $1")
            .bind(nanos(now))
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(done.rows_affected())
    }
}

#[async_trait]
impl ReplayCache for SqlStore {
    async fn accept_once(
        &self,
        scope: &str,
        id: &str,
        expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<bool, TenantError> {
        // Inserts, or takes over an expired record; a live record makes it touch no row.
        let done = sqlx::query(
            "INSERT INTO replay_cache (scope, id, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (scope, id) DO UPDATE SET expires_at = excluded.expires_at \
             WHERE replay_cache.expires_at <= $4",
        )
        .bind(scope.to_owned())
        .bind(id.to_owned())
        .bind(nanos(expires_at))
        .bind(nanos(now))
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(done.rows_affected() == 1)
    }

    async fn purge_replay_cache(&self, now: OffsetDateTime) -> Result<u64, TenantError> {
        let done = sqlx::query("DELETE FROM replay_cache WHERE expires_at <= $1")
            .bind(nanos(now))
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(done.rows_affected())
    }
}
