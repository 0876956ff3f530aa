//! # gatehouse-sso-axum
//!
//! The axum adapter of Gatehouse. Today it serves SCIM 2.0: [`scim_router`] answers a
//! customer's identity provider for the directory that the presented bearer token selects.
//!
//! ## Quick start
//!
//! ```
//! use std::sync::Arc;
//!
//! use scim_core::{InMemoryStore, ScimConfig, ScimService};
//! use sso_axum::{ScimToken, StaticDirectories, scim_router};
//!
//! let token = ScimToken::generate("gh_scim_");
//! // Show `token.expose_secret()` once to the customer's administrator; keep only the hash.
//! let service = ScimService::new(ScimConfig::default(), Arc::new(InMemoryStore::new()));
//! let directories = StaticDirectories::new().with("acme", token.hash(), service);
//! let app: axum::Router = axum::Router::new().nest("/scim/v2", scim_router(Arc::new(directories)));
//! ```
//!
//! ## Design
//!
//! - Tokens are stored only as SHA-256 hashes ([`TokenHash`]). A presented token is hashed
//!   and compared against every stored hash in constant time, with no early exit.
//! - A token selects exactly one directory ([`DirectoryResolver`]): from a fixed list
//!   ([`StaticDirectories`]) or from tenant-config's store ([`TenantDirectories`], which
//!   honours token rotation and disabled directories); the request then reaches
//!   only that directory's [`ScimService`](scim_core::ScimService).
//! - A missing or unknown token is answered with 401, an RFC 7644 error body and
//!   `WWW-Authenticate: Bearer`, before the body is read.
//! - Bodies are read up to the service's `max_payload_size` plus one byte, so that the
//!   service answers 413 itself; longer bodies are rejected with 413 without being read.
//! - Each request is logged once at `info` under the target `gatehouse::scim`, with a
//!   correlation id (also returned in the `x-correlation-id` header), never the token.
//!
//! ## Limitations
//!
//! - Without [`ScimRouterConfig::public_base_url`] the `meta.location` URLs use plain
//!   `http` and the request's `Host` header; set the public URL behind a TLS proxy. The Host
//!   header shapes only its own response: nothing derived from it is stored.
//! - Nested with `Router::nest`, the routes do not see `{mount}/` (axum routes the root with a
//!   trailing slash to the host's fallback); [`scim_router_at`], merged instead of nested,
//!   serves it like the root.
//! - SAML, OpenID Connect and home-realm discovery routes are planned, not present.

mod directory;
mod scim;
mod tenant_directories;
// The token types live in tenant-config, which stores their hashes; re-exported here so that
// `sso_axum::ScimToken` keeps working.
use tenant_config::token;

pub use directory::{DirectoryResolver, ResolvedDirectory, StaticDirectories};
pub use scim::{
    CORRELATION_ID_HEADER, DEFAULT_MOUNT_PATH, ScimRouterConfig, scim_router, scim_router_at,
    scim_router_with,
};
pub use tenant_directories::{ResourceStoreFactory, TenantDirectories};
pub use token::{ScimToken, TokenHash, TokenHashError};
