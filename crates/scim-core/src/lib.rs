#![doc = include_str!("../README.md")]

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
