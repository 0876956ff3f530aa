#![doc = include_str!("../README.md")]

pub mod authn;
pub mod c14n;
pub mod dsig;
pub mod encryption;
pub mod error;
pub mod logout;
pub mod metadata;
pub mod response;
pub mod store;
pub mod xml;

pub use authn::AuthnRequest;
pub use error::{Result, SamlError};
pub use metadata::{IdpMetadata, SpMetadata};
pub use response::{
    IdentityProvider, NameId, ResponseValidator, SamlAttribute, ServiceProvider, SignaturePolicy,
    ValidationOptions, VerifiedAssertion,
};
pub use store::{
    Clock, FixedClock, InMemoryReplayCache, InMemoryRequestStore, ReplayCache, RequestStore,
    SystemClock,
};

/// The SAML 2.0 assertion namespace.
pub const SAML_ASSERTION_NS: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
/// The SAML 2.0 protocol namespace.
pub const SAML_PROTOCOL_NS: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
/// The SAML 2.0 metadata namespace.
pub const SAML_METADATA_NS: &str = "urn:oasis:names:tc:SAML:2.0:metadata";
