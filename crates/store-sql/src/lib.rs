#![doc = include_str!("../README.md")]

mod db;
mod error;
mod migrations;
mod scim;
mod tenant;

pub use db::{Backend, SqlOptions, SqlStore};
pub use error::SqlError;
pub use scim::{DEFAULT_MAX_SCAN, ListOptions, SqlResourceStore};
