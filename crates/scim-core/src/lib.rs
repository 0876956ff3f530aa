//! # gatehouse-scim-core
//!
//! A SCIM 2.0 service provider (RFC 7643, RFC 7644) that a Rust backend embeds so that its
//! customers' identity providers (Entra ID, Okta, OneLogin, JumpCloud, Google Workspace) can
//! create, update and deactivate users and groups in it.
//!
//! See `README.md` of this crate for the quick start, design notes and limitations.

pub mod bulk;
pub mod compat;
pub mod discovery;
pub mod error;
pub mod filter;
pub mod patch;
pub mod path;
pub mod resource;
pub mod schema;
pub mod service;
pub mod store;

pub use compat::CompatProfile;
pub use error::{ErrorKind, ScimError};
pub use filter::{AttrPath, Filter, parse_filter};
pub use schema::{ResourceKind, ResourceSchema};
pub use service::{ScimConfig, ScimService};
pub use store::{InMemoryStore, ResourceStore, StoreError};
