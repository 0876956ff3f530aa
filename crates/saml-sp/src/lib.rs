#![doc = include_str!("../README.md")]

pub mod c14n;
pub mod dsig;
pub mod error;
pub mod xml;

pub use error::{Result, SamlError};

/// The SAML 2.0 assertion namespace.
pub const SAML_ASSERTION_NS: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
/// The SAML 2.0 protocol namespace.
pub const SAML_PROTOCOL_NS: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
/// The SAML 2.0 metadata namespace.
pub const SAML_METADATA_NS: &str = "urn:oasis:names:tc:SAML:2.0:metadata";
