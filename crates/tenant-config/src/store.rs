//! The storage traits: tenant configuration, login state and the replay cache.
//!
//! All three are async and object-safe: hosts hold `Arc<dyn TenantStore>` and so on. Every
//! implementation must pass the suite in [`crate::conformance`]. Each method is one atomic
//! step: it happens whole or leaves the store as it was.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::error::TenantError;
use crate::id::{ConnectionId, DirectoryId, DomainName, OrganizationId, TokenId};
use crate::model::{Connection, Domain, Organization, ScimDirectory};
use crate::secret::SecretString;
use crate::token::StoredToken;

/// The longest login state id accepted.
pub const MAX_STATE_ID_LEN: usize = 128;

/// Storage of organizations, their domains, connections, SCIM directories and token hashes.
///
/// Records are validated by [`crate::Tenants`] before they reach a store; a store enforces
/// what must hold across concurrent callers: a domain belongs to one organization, a token
/// hash is stored once, and children exist only under an existing parent.
#[async_trait]
pub trait TenantStore: Send + Sync {
    /// Creates or replaces an organization.
    async fn save_organization(&self, org: &Organization) -> Result<(), TenantError>;
    /// The organization with `id`.
    async fn organization(&self, id: &OrganizationId) -> Result<Option<Organization>, TenantError>;
    /// All organizations, by id.
    async fn organizations(&self) -> Result<Vec<Organization>, TenantError>;
    /// Deletes an organization with its domains, connections, directories and tokens.
    /// [`TenantError::NotFound`] when absent.
    async fn delete_organization(&self, id: &OrganizationId) -> Result<(), TenantError>;

    /// Adds a domain. [`TenantError::Conflict`] when any organization holds it already,
    /// [`TenantError::NotFound`] when its organization does not exist.
    async fn insert_domain(&self, domain: &Domain) -> Result<(), TenantError>;
    /// Replaces a domain of the same name and organization. [`TenantError::NotFound`] when
    /// there is none.
    async fn update_domain(&self, domain: &Domain) -> Result<(), TenantError>;
    /// The domain called `name`.
    async fn domain(&self, name: &DomainName) -> Result<Option<Domain>, TenantError>;
    /// The domains of an organization, by name.
    async fn domains_of(&self, org: &OrganizationId) -> Result<Vec<Domain>, TenantError>;
    /// Removes a domain. [`TenantError::NotFound`] when absent.
    async fn delete_domain(&self, name: &DomainName) -> Result<(), TenantError>;

    /// Creates or replaces a connection. [`TenantError::NotFound`] when its organization does
    /// not exist; [`TenantError::Conflict`] when the id belongs to another organization.
    async fn save_connection(&self, connection: &Connection) -> Result<(), TenantError>;
    /// The connection with `id`.
    async fn connection(&self, id: &ConnectionId) -> Result<Option<Connection>, TenantError>;
    /// The connections of an organization, by id.
    async fn connections_of(&self, org: &OrganizationId) -> Result<Vec<Connection>, TenantError>;
    /// Deletes a connection. [`TenantError::NotFound`] when absent.
    async fn delete_connection(&self, id: &ConnectionId) -> Result<(), TenantError>;

    /// Creates or replaces a directory, with the same rules as
    /// [`TenantStore::save_connection`].
    async fn save_directory(&self, directory: &ScimDirectory) -> Result<(), TenantError>;
    /// The directory with `id`.
    async fn directory(&self, id: &DirectoryId) -> Result<Option<ScimDirectory>, TenantError>;
    /// The directories of an organization, by id.
    async fn directories_of(&self, org: &OrganizationId)
    -> Result<Vec<ScimDirectory>, TenantError>;
    /// Deletes a directory and its tokens. [`TenantError::NotFound`] when absent.
    async fn delete_directory(&self, id: &DirectoryId) -> Result<(), TenantError>;

    /// Stores a token hash. [`TenantError::NotFound`] when its directory does not exist;
    /// [`TenantError::Conflict`] when the id or the hash is stored already.
    async fn insert_token(&self, token: &StoredToken) -> Result<(), TenantError>;
    /// Replaces a stored token (to set its expiry). [`TenantError::NotFound`] when absent.
    async fn update_token(&self, token: &StoredToken) -> Result<(), TenantError>;
    /// The tokens whose hash has this [`crate::TokenHash::lookup_key`]; the caller compares
    /// the full hash in constant time.
    async fn tokens_by_lookup_key(&self, key: &str) -> Result<Vec<StoredToken>, TenantError>;
    /// The tokens of a directory, oldest first.
    async fn tokens_of(&self, directory: &DirectoryId) -> Result<Vec<StoredToken>, TenantError>;
    /// Deletes a token. [`TenantError::NotFound`] when absent.
    async fn delete_token(&self, id: &TokenId) -> Result<(), TenantError>;
}

/// What a login remembers between its start and its callback.
#[derive(Debug, Clone)]
pub struct LoginState {
    /// The random value that travels as `state` or `RelayState`; 1 to 128 characters.
    pub id: String,
    /// The organization logging in.
    pub organization: OrganizationId,
    /// The connection used.
    pub connection: ConnectionId,
    /// Where to send the browser afterwards, already checked.
    pub return_to: Option<String>,
    /// The protocol's own data (a SAML request id, an OIDC nonce and PKCE verifier), opaque
    /// to the store and redacted from `Debug`.
    pub protocol_data: SecretString,
    /// When the state stops being accepted.
    pub expires_at: OffsetDateTime,
}

/// One-time login state.
#[async_trait]
pub trait LoginStateStore: Send + Sync {
    /// Stores a state. [`TenantError::Conflict`] when the id exists.
    async fn put_login_state(&self, state: &LoginState) -> Result<(), TenantError>;
    /// Removes and returns the state with `id`; `None` when absent, already taken, or
    /// expired at `now`. Of concurrent callers with one id, at most one gets it.
    async fn take_login_state(
        &self,
        id: &str,
        now: OffsetDateTime,
    ) -> Result<Option<LoginState>, TenantError>;
    /// Deletes the states expired at `now`; returns how many.
    async fn purge_login_states(&self, now: OffsetDateTime) -> Result<u64, TenantError>;
}

/// The replay cache: an id (a SAML assertion ID, a JWT `jti`) is accepted once per scope
/// until it expires.
#[async_trait]
pub trait ReplayCache: Send + Sync {
    /// Records `id` in `scope` until `expires_at`. `true` when it was not recorded (or its
    /// record had expired at `now`); `false` for a replay. Of concurrent callers with one
    /// id, exactly one gets `true`.
    async fn accept_once(
        &self,
        scope: &str,
        id: &str,
        expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<bool, TenantError>;
    /// Deletes the records expired at `now`; returns how many.
    async fn purge_replay_cache(&self, now: OffsetDateTime) -> Result<u64, TenantError>;
}

/// Checks a login state id's length, for stores to call.
pub fn check_state_id(id: &str) -> Result<(), TenantError> {
    if id.is_empty() || id.len() > MAX_STATE_ID_LEN {
        return Err(TenantError::invalid(
            "login_state.id",
            format!("must be 1 to {MAX_STATE_ID_LEN} bytes, got {}", id.len()),
        ));
    }
    Ok(())
}
