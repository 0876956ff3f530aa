#![doc = include_str!("../README.md")]

pub mod clock;
pub mod error;
pub mod flow;
pub mod http;
pub mod id_token;
mod json;
pub mod jwk;
pub mod jws;
pub mod login_state;
pub mod logout;
pub mod provider;
pub mod secret;

pub use clock::{Clock, FixedClock, SystemClock};
pub use error::{Error, Result};
pub use flow::{
    AuthorizationOptions, AuthorizationRequest, CallbackParams, ClientAuth, ClientConfig,
    InMemoryLoginStateStore, Login, LoginStateStore, PendingLogin, RelyingParty, ResponseMode,
    SigningKey, TakeCheck, TokenSet, UserInfo,
};
pub use http::{HttpClient, HttpRequest, HttpResponse};
pub use id_token::{
    EntraTenants, Expectations, IdTokenClaims, ProviderProfile, ValidationConfig,
    is_canonical_guid, validate_id_token,
};
pub use jwk::{Jwk, JwkSet, VerifyingKey};
pub use jws::Algorithm;
pub use logout::{LogoutTokenClaims, end_session_url, validate_logout_token};
pub use provider::{
    ENTRA_MULTI_TENANT_ISSUER, ENTRA_ORGANIZATIONS_DISCOVERY_URL, MetadataSource, Provider,
    ProviderConfig, ProviderMetadata, discover, discover_at, discover_with,
};
pub use secret::Secret;
