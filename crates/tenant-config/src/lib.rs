#![doc = include_str!("../README.md")]

pub mod conformance;
pub mod domain;
pub mod error;
pub mod events;
pub mod id;
pub mod login;
pub mod memory;
pub mod metadata;
pub mod model;
pub mod redirect;
pub mod secret;
pub mod service;
pub mod store;
pub mod token;

pub use domain::DnsTxtResolver;
pub use error::TenantError;
pub use events::{Event, EventPublisher, EventRecord, EventSink, EventingStore};
pub use id::{ConnectionId, DirectoryId, DomainName, OrganizationId, TokenId};
pub use login::{
    BrowserAction, IdpLogout, LoginError, LoginFinished, LoginRequest, LoginService, LoginSettings,
    LoginStart, LogoutFinished, LogoutStart, SamlBinding, SamlLogout, SamlMessage, SsoProfile,
    SsoProtocol,
};
pub use memory::InMemoryTenantStore;
pub use metadata::{HttpResponse, HttpTransport, MetadataRefresher};
pub use model::{
    AttributeMapping, ClaimMapping, Connection, Domain, OidcConnection, Organization, Protocol,
    ProviderProfile, SamlConnection, ScimDirectory, SpKeyPair, TrustedCertificate, Verification,
};
pub use redirect::RedirectPolicy;
pub use secret::{EncryptedSecret, EncryptionKey, SecretString};
pub use service::{Discovery, Tenants};
pub use store::{LoginState, LoginStateStore, ReplayCache, TenantStore};
pub use token::{ScimToken, StoredToken, TokenHash, TokenHashError};
