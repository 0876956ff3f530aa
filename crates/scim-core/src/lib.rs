//! SCIM 2.0 service-provider engine.
#![doc = "See the crate README for the quick start, design notes and limitations."]

pub mod error;
pub mod filter;
pub mod path;
pub mod schema;

pub use error::{ErrorKind, ScimError};
