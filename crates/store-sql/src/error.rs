//! The one error type of the crate (the storage traits keep their own error types).

use crate::db::Backend;

/// Why opening or migrating a database failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SqlError {
    /// The URL names no supported database.
    #[error("unsupported database URL scheme {scheme:?} (expected sqlite: or postgres://)")]
    UnsupportedUrl {
        /// The scheme found.
        scheme: String,
    },
    /// The pool could not connect.
    #[error("cannot connect to {backend:?}: {reason}")]
    Connect {
        /// The backend.
        backend: Backend,
        /// The driver's message.
        reason: String,
    },
    /// A migration failed; its transaction was rolled back.
    #[error("migration {version} failed: {reason}")]
    Migration {
        /// The migration's version.
        version: i64,
        /// The driver's message.
        reason: String,
    },
    /// Another database error.
    #[error("database error: {0}")]
    Backend(String),
}

impl SqlError {
    pub(crate) fn backend(e: sqlx::Error) -> Self {
        Self::Backend(e.to_string())
    }
}
