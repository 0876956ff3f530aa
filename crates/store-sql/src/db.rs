//! The connection pool, the backend it talks to, and the migrations run on start.

use std::path::Path;
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, Row};

use crate::error::SqlError;
use crate::migrations::MIGRATIONS;

/// Which database a [`SqlStore`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Backend {
    /// SQLite: a file or memory, in process.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// Tuning of a [`SqlStore`].
#[derive(Debug, Clone)]
pub struct SqlOptions {
    /// Connections to Postgres (SQLite always uses one, so writes never contend).
    pub max_connections: u32,
    /// How long to wait for a free connection.
    pub acquire_timeout: Duration,
}

impl Default for SqlOptions {
    fn default() -> Self {
        Self {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(30),
        }
    }
}

/// A database holding tenant configuration, login state, the replay cache and SCIM
/// resources. Cheap to clone: clones share the pool.
#[derive(Debug, Clone)]
pub struct SqlStore {
    pub(crate) pool: AnyPool,
    pub(crate) backend: Backend,
}

impl SqlStore {
    /// Connects to `url` (`sqlite://path?mode=rwc`, `sqlite::memory:`, `postgres://...`)
    /// and runs the migrations that have not run yet.
    pub async fn connect(url: &str) -> Result<Self, SqlError> {
        Self::connect_with(url, &SqlOptions::default()).await
    }

    /// [`SqlStore::connect`] with options.
    pub async fn connect_with(url: &str, options: &SqlOptions) -> Result<Self, SqlError> {
        install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            return Err(SqlError::UnsupportedUrl {
                scheme: url.split(':').next().unwrap_or_default().to_owned(),
            });
        };
        let pool_options = AnyPoolOptions::new().acquire_timeout(options.acquire_timeout);
        let pool_options = match backend {
            // One connection: an in-memory database lives as long as its connection, and a
            // single writer never meets SQLITE_BUSY.
            Backend::Sqlite => pool_options
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None),
            Backend::Postgres => pool_options.max_connections(options.max_connections.max(1)),
        };
        let pool = pool_options
            .connect(url)
            .await
            .map_err(|e| SqlError::Connect {
                backend,
                reason: e.to_string(),
            })?;
        let store = Self { pool, backend };
        store.migrate().await?;
        Ok(store)
    }

    /// An SQLite database in the file at `path`, created if missing.
    pub async fn sqlite_file(path: &Path) -> Result<Self, SqlError> {
        let url = format!("sqlite://{}?mode=rwc", path.display());
        Self::connect(&url).await
    }

    /// A new, empty SQLite database in memory.
    pub async fn sqlite_in_memory() -> Result<Self, SqlError> {
        Self::connect("sqlite::memory:").await
    }

    /// The backend.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The versions of the migrations applied, in order.
    pub async fn applied_migrations(&self) -> Result<Vec<i64>, SqlError> {
        let rows = sqlx::query("SELECT version FROM gatehouse_migrations ORDER BY version")
            .fetch_all(&self.pool)
            .await
            .map_err(SqlError::backend)?;
        rows.iter()
            .map(|r| r.try_get::<i64, _>(0).map_err(SqlError::backend))
            .collect()
    }

    /// Refreshes the query planner's statistics. Call it after a bulk load (such as a first
    /// SCIM sync of a large directory); Postgres' autovacuum also does it, later.
    pub async fn analyze(&self) -> Result<(), SqlError> {
        sqlx::query("ANALYZE")
            .execute(&self.pool)
            .await
            .map_err(SqlError::backend)?;
        Ok(())
    }

    /// Closes the pool.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Applies the migrations not yet applied, each in its own transaction. On Postgres an
    /// advisory lock serializes nodes that start at the same time.
    async fn migrate(&self) -> Result<(), SqlError> {
        let fail = |version: i64| {
            move |e: sqlx::Error| SqlError::Migration {
                version,
                reason: e.to_string(),
            }
        };
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS gatehouse_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL)",
        )
        .execute(&self.pool)
        .await
        .map_err(fail(0))?;
        for m in MIGRATIONS {
            let mut tx = self.pool.begin().await.map_err(fail(m.version))?;
            if self.backend == Backend::Postgres {
                sqlx::query("SELECT pg_advisory_xact_lock(7406) ::TEXT")
                    .execute(&mut *tx)
                    .await
                    .map_err(fail(m.version))?;
            }
            let done = sqlx::query("SELECT COUNT(*) FROM gatehouse_migrations WHERE version = $1")
                .bind(m.version)
                .fetch_one(&mut *tx)
                .await
                .and_then(|r| r.try_get::<i64, _>(0))
                .map_err(fail(m.version))?;
            if done > 0 {
                continue;
            }
            let script = match self.backend {
                Backend::Sqlite => m.sqlite,
                Backend::Postgres => m.postgres,
            };
            for statement in script.split(';').map(str::trim).filter(|s| !s.is_empty()) {
                sqlx::query(statement)
                    .execute(&mut *tx)
                    .await
                    .map_err(fail(m.version))?;
            }
            sqlx::query("INSERT INTO gatehouse_migrations (version, name) VALUES ($1, $2)")
                .bind(m.version)
                .bind(m.name)
                .execute(&mut *tx)
                .await
                .map_err(fail(m.version))?;
            tx.commit().await.map_err(fail(m.version))?;
            tracing::debug!(
                version = m.version,
                name = m.name,
                "gatehouse migration applied"
            );
        }
        Ok(())
    }
}

/// Whether `e` is a unique or primary-key violation.
pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .is_some_and(|d| d.is_unique_violation())
}

/// Nanoseconds since the Unix epoch, saturating.
pub(crate) fn nanos(t: time::OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos()).unwrap_or(if t.year() < 1970 {
        i64::MIN
    } else {
        i64::MAX
    })
}

/// The instant of [`nanos`].
pub(crate) fn from_nanos(n: i64) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(n))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
}

/// Whether `e` is a foreign-key violation.
pub(crate) fn is_foreign_key_violation(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .is_some_and(|d| d.is_foreign_key_violation())
}
