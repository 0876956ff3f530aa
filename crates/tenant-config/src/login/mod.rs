//! Login orchestration: start a SAML or OIDC login for a connection, finish it once, and
//! return one normalized [`SsoProfile`] for both protocols.
//!
//! [`LoginService::start`] checks the post-login redirect target with the
//! [`RedirectPolicy`], builds the protocol's request (a SAML AuthnRequest or an OIDC
//! authorization URL), stores a [`LoginState`] under a random id (the SAML `RelayState` or
//! the OIDC `state`) and returns what the HTTP layer sends the browser, with a browser
//! binding value for a cookie. [`LoginService::finish_saml`] and
//! [`LoginService::finish_oidc`] take that state from the [`LoginStateStore`] (at most
//! once, also across nodes with `gatehouse-store-sql`), check the browser binding, let the
//! protocol crate validate the response (SAML assertion ids go through the tenant
//! [`ReplayCache`]), map the attributes or claims by the connection's mapping, enforce the
//! organization's verified domains on the email, and publish `LoginSucceeded` or
//! `LoginFailed`.
//!
//! The protocol adapters are the modules `saml` and `oidc`: each is the only place that
//! touches its protocol crate.

mod logout;
mod oidc;
pub mod saml;

pub use logout::{IdpLogout, LogoutFinished, LogoutStart, SamlLogout, SamlMessage};

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use time::{Duration, OffsetDateTime};

use crate::error::TenantError;
use crate::events::{Event, EventPublisher};
use crate::id::{ConnectionId, OrganizationId};
use crate::model::{Connection, Organization, Protocol};
use crate::redirect::RedirectPolicy;
use crate::secret::{EncryptionKey, SecretString};
use crate::service::Tenants;
use crate::store::{LoginState, LoginStateStore, ReplayCache};

/// The protocol a login used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SsoProtocol {
    /// SAML 2.0 Web Browser SSO.
    Saml,
    /// OpenID Connect authorization code flow.
    Oidc,
}

/// The user a finished login names, the same shape for SAML and OIDC.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct SsoProfile {
    /// The organization of the connection.
    pub organization: OrganizationId,
    /// The connection used.
    pub connection: ConnectionId,
    /// The protocol used.
    pub protocol: SsoProtocol,
    /// The stable subject: the SAML NameID value or the OIDC `sub`.
    pub subject: String,
    /// The NameID Format (SAML); `None` for OIDC (`sub` is always a public or pairwise id).
    pub subject_format: Option<String>,
    /// Who asserted the subject: the IdP entity id (SAML) or `iss` (OIDC).
    pub issuer: String,
    /// The email, by the connection's mapping.
    pub email: Option<String>,
    /// Whether the provider says the email is verified: `email_verified` of OIDC (the ID
    /// token's, else userinfo's); `None` for SAML, which has no such statement.
    pub email_verified: Option<bool>,
    /// The given name, by the mapping.
    pub given_name: Option<String>,
    /// The family name, by the mapping.
    pub family_name: Option<String>,
    /// The display name: the attribute mapped as `extra.display_name` (SAML), the `name`
    /// claim (OIDC).
    pub display_name: Option<String>,
    /// The groups, by the mapping (empty when none is mapped or sent).
    pub groups: Vec<String>,
    /// The further fields of the SAML mapping's `extra`: field name to all its values.
    pub extra: BTreeMap<String, Vec<String>>,
    /// Every attribute or claim as sent: a SAML attribute's name to the array of all its
    /// values (as strings); an OIDC claim's name to its JSON value (ID token claims, then
    /// userinfo claims the ID token does not have).
    pub raw: BTreeMap<String, Value>,
    /// The SAML SessionIndex or the OIDC `sid`, for logout.
    pub session_index: Option<String>,
    /// When the user authenticated: the SAML AuthnInstant or the OIDC `auth_time`.
    pub authn_instant: Option<OffsetDateTime>,
}

/// What [`LoginService::start`] hands the HTTP layer.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LoginStart {
    /// The login state id (the SAML `RelayState`, the OIDC `state`).
    pub state: String,
    /// How to send the browser to the identity provider.
    pub action: BrowserAction,
    /// A random value to set in a cookie (`HttpOnly`, `Secure`, and for SAML's cross-site
    /// POST `SameSite=None`) and present again to `finish_*`: the login can only be finished
    /// in the browser that started it. Only its SHA-256 is stored.
    pub browser_binding: SecretString,
    /// When the login state expires.
    pub expires_at: OffsetDateTime,
}

/// How the browser goes to the identity provider.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BrowserAction {
    /// Answer with a 302 (or 303) to this URL.
    Redirect(String),
    /// Answer with this HTML page, which posts a form to the identity provider on load
    /// (the SAML HTTP-POST binding).
    PostForm(String),
}

/// A finished login.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct LoginFinished {
    /// The user.
    pub profile: SsoProfile,
    /// Where to send the browser now: the target given to `start` (checked then), or for an
    /// IdP-initiated SAML login the `RelayState` if the redirect policy allows it.
    pub return_to: Option<String>,
}

/// What a login start asks for.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct LoginRequest {
    /// Where to send the browser after the login; checked by the [`RedirectPolicy`].
    pub return_to: Option<String>,
    /// A login hint (OIDC `login_hint`); ignored by SAML.
    pub login_hint: Option<String>,
    /// Ask the IdP to authenticate again (SAML `ForceAuthn`, OIDC `prompt=login`).
    pub force_authn: bool,
    /// OIDC `max_age` in seconds: the ID token must then carry an `auth_time` no older;
    /// ignored by SAML.
    pub max_age: Option<i64>,
    /// Ask the OIDC provider to return the authorization response as an auto-submitted
    /// form POST (`response_mode=form_post`) instead of in the redirect's query; ignored by
    /// SAML. The callback is then a cross-site POST: the browser binding cookie must be
    /// `SameSite=None; Secure` to travel with it.
    pub oidc_form_post: bool,
}

impl LoginRequest {
    /// A request returning to `return_to` afterwards.
    pub fn returning_to(return_to: impl Into<String>) -> Self {
        Self {
            return_to: Some(return_to.into()),
            ..Self::default()
        }
    }
}

/// A SAML binding: the one AuthnRequests travel on ([`LoginSettings::saml_binding`]), or
/// the one of an IdP's single logout URL (`SamlConnection::idp_slo_binding`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SamlBinding {
    /// HTTP-Redirect (query signature when the connection signs requests).
    #[default]
    Redirect,
    /// HTTP-POST (enveloped signature when the connection signs requests).
    Post,
}

/// Settings of a [`LoginService`]; the defaults are the safe ones.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LoginSettings {
    /// How long a started login may wait for its response (default 10 minutes).
    pub state_ttl: Duration,
    /// Clock difference tolerated with SAML IdPs (default 3 minutes).
    pub saml_clock_skew: Duration,
    /// The SAML binding of AuthnRequests (default HTTP-Redirect).
    pub saml_binding: SamlBinding,
    /// Fetch OIDC userinfo after the code exchange and add its claims to the ID token's
    /// (default on).
    pub oidc_userinfo: bool,
    /// Finish logins without checking the browser binding. Opens login CSRF (an attacker
    /// makes a victim's browser finish the attacker's login); off by default.
    pub dangerous_skip_browser_binding: bool,
}

impl Default for LoginSettings {
    fn default() -> Self {
        Self {
            state_ttl: Duration::minutes(10),
            saml_clock_skew: Duration::minutes(3),
            saml_binding: SamlBinding::Redirect,
            oidc_userinfo: true,
            dangerous_skip_browser_binding: false,
        }
    }
}

/// Why a login could not start or finish. Each variant names the failed check;
/// [`LoginError::reason`] is its stable name for events and logs.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoginError {
    /// The tenant store failed, a stored secret could not be decrypted, or the redirect
    /// target was refused ([`TenantError::Redirect`]).
    #[error(transparent)]
    Tenant(#[from] TenantError),
    /// No connection with this id.
    #[error("connection {0} not found")]
    UnknownConnection(String),
    /// The connection is disabled.
    #[error("connection {0} is disabled")]
    ConnectionDisabled(ConnectionId),
    /// The connection uses the other protocol.
    #[error("connection {connection} is not a {expected} connection")]
    WrongProtocol {
        /// The connection.
        connection: ConnectionId,
        /// The protocol the route expected (`SAML` or `OIDC`).
        expected: &'static str,
    },
    /// The connection's settings cannot be used for a login (such as a certificate that
    /// does not parse, or OIDC without an HTTP client).
    #[error("connection {connection} cannot be used: {reason}")]
    Config {
        /// The connection.
        connection: ConnectionId,
        /// What is wrong.
        reason: String,
    },
    /// The login state is absent, already used, expired, or was started in a browser
    /// other than the one presenting the binding.
    #[error("login state unknown, already used, expired, or started in another browser")]
    UnknownState,
    /// The login state belongs to another connection or protocol than the response.
    #[error("login state was started for {expected}, not for this response")]
    StateMismatch {
        /// The connection and protocol the state was started for.
        expected: String,
    },
    /// The browser binding was not presented or does not match the state's.
    #[error("browser binding missing or not the one of the browser that started the login")]
    BrowserBinding,
    /// A required request parameter is missing.
    #[error("{0} is missing")]
    MissingParameter(&'static str),
    /// The SAML response failed a check.
    #[error("SAML: {0}")]
    Saml(#[from] saml_sp::SamlError),
    /// Single Logout is not set up for the connection: `missing` names the setting
    /// (`idp_slo_url`, `slo_url` or `sp_key`).
    #[error("connection {connection} has no SAML single logout: {missing} is not set")]
    LogoutNotConfigured {
        /// The connection.
        connection: ConnectionId,
        /// The missing setting.
        missing: &'static str,
    },
    /// The connection requires encrypted assertions and the response's assertion was not
    /// encrypted.
    #[error("SAML: the connection requires an EncryptedAssertion")]
    AssertionNotEncrypted,
    /// The OIDC callback, token response or ID token failed a check.
    #[error("OIDC: {0}")]
    Oidc(#[from] oidc_rp::Error),
    /// A mapped attribute has several different values where the profile holds one.
    #[error("attribute {attribute:?} mapped to {field} has {count} different values")]
    AmbiguousAttribute {
        /// The profile field.
        field: &'static str,
        /// The attribute or claim name.
        attribute: String,
        /// How many distinct values it has.
        count: usize,
    },
    /// The organization enforces its domains and the login carries no email.
    #[error("organization {organization} enforces its email domains and the login has no email")]
    MissingEmail {
        /// The organization.
        organization: OrganizationId,
    },
    /// The organization enforces its domains and the provider says the email is not
    /// verified.
    #[error("organization {organization} enforces its email domains and the email is not verified")]
    EmailNotVerified {
        /// The organization.
        organization: OrganizationId,
    },
    /// The organization enforces its domains and the email's domain is not one of its
    /// verified domains.
    #[error("email domain {domain} is not a verified domain of organization {organization}")]
    EmailDomainNotAllowed {
        /// The email's domain (lower case).
        domain: String,
        /// The organization.
        organization: OrganizationId,
    },
}

impl LoginError {
    /// A short stable name of the failed check: `login.unknown_state`,
    /// `login.email_domain`, `saml.profile.replay` (the SAML crate's check), `oidc` for the
    /// OIDC crate's errors, and so on.
    pub fn reason(&self) -> String {
        match self {
            Self::Tenant(TenantError::Redirect { .. }) => "login.redirect".into(),
            Self::Tenant(_) => "login.tenant".into(),
            Self::UnknownConnection(_) => "login.unknown_connection".into(),
            Self::ConnectionDisabled(_) => "login.connection_disabled".into(),
            Self::WrongProtocol { .. } => "login.wrong_protocol".into(),
            Self::Config { .. } => "login.config".into(),
            Self::UnknownState => "login.unknown_state".into(),
            Self::StateMismatch { .. } => "login.state_mismatch".into(),
            Self::BrowserBinding => "login.browser_binding".into(),
            Self::MissingParameter(_) => "login.missing_parameter".into(),
            Self::Saml(e) => format!("saml.{}", e.check()),
            Self::LogoutNotConfigured { .. } => "logout.not_configured".into(),
            Self::AssertionNotEncrypted => "saml.encryption.required".into(),
            Self::Oidc(e) => oidc::reason(e),
            Self::AmbiguousAttribute { .. } => "login.ambiguous_attribute".into(),
            Self::MissingEmail { .. } => "login.missing_email".into(),
            Self::EmailNotVerified { .. } => "login.email_not_verified".into(),
            Self::EmailDomainNotAllowed { .. } => "login.email_domain".into(),
        }
    }
}

/// The protocol data of a login state, kept in [`LoginState::protocol_data`] as JSON.
#[derive(Serialize, Deserialize)]
#[serde(tag = "protocol", rename_all = "snake_case")]
pub(crate) enum StateData {
    // The browser binding is not kept here: the state is stored under a key derived from
    // it (`LoginService::state_key`), so finding the state is the check.
    Saml {
        request_id: String,
    },
    Oidc {
        pending: oidc_rp::PendingLogin,
        /// The binding `oidc-rp` issued with its pending login, handed back to it at the
        /// callback once the browser's own binding has found the state here.
        rp_binding: String,
    },
    /// An SP-initiated SAML logout awaiting the IdP's LogoutResponse.
    SamlLogout {
        request_id: String,
    },
}

/// Starts and finishes SAML and OIDC logins of the organizations in a tenant store.
pub struct LoginService {
    pub(crate) tenants: Tenants,
    pub(crate) states: Arc<dyn LoginStateStore>,
    pub(crate) replay: Arc<dyn ReplayCache>,
    pub(crate) redirects: RedirectPolicy,
    pub(crate) key: EncryptionKey,
    pub(crate) settings: LoginSettings,
    pub(crate) events: Option<Arc<EventPublisher>>,
    pub(crate) clock: Arc<dyn saml_sp::Clock>,
    pub(crate) oidc: oidc::OidcProviders,
}

impl std::fmt::Debug for LoginService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginService")
            .field("redirects", &self.redirects)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl LoginService {
    /// A login service over `tenants`, keeping login states in `states` and SAML assertion
    /// ids in `replay`; `key` decrypts the connections' client secrets and SP keys. The
    /// default settings, the system clock, no events, no OIDC HTTP client.
    pub fn new(
        tenants: Tenants,
        states: Arc<dyn LoginStateStore>,
        replay: Arc<dyn ReplayCache>,
        redirects: RedirectPolicy,
        key: EncryptionKey,
    ) -> Self {
        Self {
            tenants,
            states,
            replay,
            redirects,
            key,
            settings: LoginSettings::default(),
            events: None,
            clock: Arc::new(saml_sp::SystemClock),
            oidc: oidc::OidcProviders::default(),
        }
    }

    /// Publishes `LoginSucceeded` and `LoginFailed` through `events`.
    #[must_use]
    pub fn with_events(mut self, events: Arc<EventPublisher>) -> Self {
        self.events = Some(events);
        self
    }

    /// Replaces the settings.
    #[must_use]
    pub fn with_settings(mut self, settings: LoginSettings) -> Self {
        self.settings = settings;
        self
    }

    /// Replaces the clock (also used by the OIDC providers built afterwards).
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn saml_sp::Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The HTTP client OIDC discovery, JWKS, token and userinfo requests go through;
    /// needed for OIDC connections.
    #[must_use]
    pub fn with_oidc_http(mut self, http: Arc<dyn oidc_rp::HttpClient>) -> Self {
        self.oidc.http = Some(http);
        self
    }

    /// Starts a login through `connection`: the redirect target is checked, the protocol
    /// request built, and the login state stored.
    ///
    /// # Errors
    /// [`TenantError::Redirect`] (in [`LoginError::Tenant`]) for a refused target; unknown,
    /// disabled or unusable connections; store failures.
    pub async fn start(
        &self,
        connection: &ConnectionId,
        request: &LoginRequest,
    ) -> Result<LoginStart, LoginError> {
        let return_to = request
            .return_to
            .as_deref()
            .map(|t| self.redirects.check(t).map(str::to_owned))
            .transpose()?;
        let connection = self.enabled_connection(connection).await?;
        let now = self.clock.now();
        let binding = SecretString::new(random_token());
        let pending = Pending {
            connection: &connection,
            return_to,
            binding_sha256: sha256_hex(binding.expose_secret()),
            expires_at: now + self.settings.state_ttl,
        };
        let (state, action) = match &connection.protocol {
            Protocol::Saml(saml) => saml::start(self, &pending, saml, request, now).await?,
            Protocol::Oidc(oidc) => oidc::start(self, &pending, oidc, request).await?,
        };
        Ok(LoginStart {
            state,
            action,
            browser_binding: binding,
            expires_at: pending.expires_at,
        })
    }

    /// Finishes a SAML login at the ACS of `connection`: `saml_response` is the posted
    /// `SAMLResponse` (base64), `relay_state` the posted `RelayState`, `browser_binding` the
    /// cookie set at start.
    ///
    /// The login state named by `relay_state` is taken (once); without one the response is
    /// accepted only when the connection allows IdP-initiated login, and then only without
    /// `InResponseTo`.
    ///
    /// # Errors
    /// The [`LoginError`] of the first failed check; `LoginFailed` is published with it.
    pub async fn finish_saml(
        &self,
        connection: &ConnectionId,
        saml_response: &str,
        relay_state: Option<&str>,
        browser_binding: Option<&str>,
    ) -> Result<LoginFinished, LoginError> {
        let mut known = Known::default();
        let result = saml::finish(
            self,
            &mut known,
            connection,
            saml_response,
            relay_state,
            browser_binding,
        )
        .await;
        self.conclude(known, result).await
    }

    /// Finishes an OIDC login from the callback's parameters (the query string or the
    /// `form_post` body, undecoded) and the browser binding cookie set at start.
    ///
    /// `connection` is the connection whose redirect URI received the callback, when the
    /// host routes callbacks per connection: the state must then have been started for it
    /// (with a redirect URI per connection, this stops a code from one provider being
    /// redeemed at another). `None` takes the connection from the state.
    ///
    /// # Errors
    /// The [`LoginError`] of the first failed check; `LoginFailed` is published with it.
    pub async fn finish_oidc(
        &self,
        connection: Option<&ConnectionId>,
        callback: &[u8],
        browser_binding: Option<&str>,
    ) -> Result<LoginFinished, LoginError> {
        let mut known = Known {
            organization: None,
            connection: connection.cloned(),
        };
        let result = oidc::finish(self, &mut known, connection, callback, browser_binding).await;
        self.conclude(known, result).await
    }

    /// Deletes expired login states (the replay cache has its own purge on the store).
    ///
    /// # Errors
    /// Store failures.
    pub async fn purge_expired(&self) -> Result<u64, LoginError> {
        Ok(self.states.purge_login_states(self.clock.now()).await?)
    }

    pub(crate) async fn enabled_connection(
        &self,
        id: &ConnectionId,
    ) -> Result<Connection, LoginError> {
        let connection = self
            .tenants
            .store()
            .connection(id)
            .await?
            .ok_or_else(|| LoginError::UnknownConnection(id.to_string()))?;
        if !connection.enabled {
            return Err(LoginError::ConnectionDisabled(connection.id));
        }
        Ok(connection)
    }

    /// Stores the state of a started login.
    pub(crate) async fn put_state(
        &self,
        pending: &Pending<'_>,
        id: &str,
        data: &StateData,
    ) -> Result<(), LoginError> {
        let json = serde_json::to_string(data)
            .map_err(|e| TenantError::Backend(format!("login state encoding: {e}")))?;
        self.states
            .put_login_state(&LoginState {
                id: self.state_key(id, &pending.binding_sha256),
                organization: pending.connection.organization.clone(),
                connection: pending.connection.id.clone(),
                return_to: pending.return_to.clone(),
                protocol_data: SecretString::new(json),
                expires_at: pending.expires_at,
            })
            .await?;
        Ok(())
    }

    /// The key a state is stored under: the `state` value and the browser binding's hash
    /// together, so that whoever learns a `state` (from a log or a Referer) but not the
    /// binding cookie cannot take, and so burn, the login of the browser that started it.
    /// With `dangerous_skip_browser_binding`, the `state` value alone.
    fn state_key(&self, id: &str, binding_sha256: &str) -> String {
        if self.settings.dangerous_skip_browser_binding {
            id.to_owned()
        } else {
            sha256_hex(&format!("{id}\n{binding_sha256}"))
        }
    }

    /// Takes the state `id` started in the browser that presents `browser_binding` (once)
    /// and decodes its protocol data. A missing binding is refused before the store is
    /// read; a state started in another browser is not found, and stays for its own.
    pub(crate) async fn take_state(
        &self,
        id: &str,
        browser_binding: Option<&str>,
    ) -> Result<Option<(LoginState, StateData)>, LoginError> {
        if id.is_empty() || id.len() > crate::store::MAX_STATE_ID_LEN {
            return Ok(None);
        }
        let key = if self.settings.dangerous_skip_browser_binding {
            id.to_owned()
        } else {
            let presented = browser_binding.ok_or(LoginError::BrowserBinding)?;
            self.state_key(id, &sha256_hex(presented))
        };
        let Some(state) = self.states.take_login_state(&key, self.clock.now()).await? else {
            return Ok(None);
        };
        let data: StateData = serde_json::from_str(state.protocol_data.expose_secret())
            .map_err(|e| TenantError::Backend(format!("login state decoding: {e}")))?;
        Ok(Some((state, data)))
    }

    /// The organization's domain rule on a profile's email.
    pub(crate) async fn enforce_domains(
        &self,
        org: &Organization,
        profile: &SsoProfile,
    ) -> Result<(), LoginError> {
        if !org.enforce_email_domains {
            return Ok(());
        }
        let email = profile
            .email
            .as_deref()
            .ok_or_else(|| LoginError::MissingEmail {
                organization: org.id.clone(),
            })?;
        if profile.email_verified == Some(false) {
            return Err(LoginError::EmailNotVerified {
                organization: org.id.clone(),
            });
        }
        let domain = email
            .rsplit_once('@')
            .map(|(_, d)| d.to_ascii_lowercase())
            .unwrap_or_default();
        let inside = match self.tenants.email_in_organization(org, email).await {
            Ok(inside) => inside,
            // A malformed address is in no domain.
            Err(TenantError::Invalid { .. }) => false,
            Err(e) => return Err(e.into()),
        };
        if inside {
            Ok(())
        } else {
            Err(LoginError::EmailDomainNotAllowed {
                domain,
                organization: org.id.clone(),
            })
        }
    }

    /// Finds the organization of a connection, which must exist.
    pub(crate) async fn organization(
        &self,
        id: &OrganizationId,
    ) -> Result<Organization, LoginError> {
        self.tenants.store().organization(id).await?.ok_or_else(|| {
            LoginError::Tenant(TenantError::NotFound {
                what: "organization",
                id: id.to_string(),
            })
        })
    }

    async fn conclude(
        &self,
        known: Known,
        result: Result<LoginFinished, LoginError>,
    ) -> Result<LoginFinished, LoginError> {
        let event = match &result {
            Ok(done) => {
                tracing::debug!(
                    organization = %done.profile.organization,
                    connection = %done.profile.connection,
                    "login accepted"
                );
                Event::LoginSucceeded {
                    organization: done.profile.organization.clone(),
                    connection: done.profile.connection.clone(),
                    subject: done.profile.subject.clone(),
                    email: done.profile.email.clone(),
                }
            }
            Err(e) => {
                tracing::warn!(
                    organization = ?known.organization,
                    connection = ?known.connection,
                    reason = %e.reason(),
                    "login rejected"
                );
                Event::LoginFailed {
                    organization: known.organization,
                    connection: known.connection,
                    reason: e.reason(),
                }
            }
        };
        if let Some(events) = &self.events {
            events.publish(event).await;
        }
        result
    }
}

/// What a finishing login has learned so far, for its `LoginFailed` event.
#[derive(Debug, Default)]
pub(crate) struct Known {
    pub(crate) organization: Option<OrganizationId>,
    pub(crate) connection: Option<ConnectionId>,
}

impl Known {
    pub(crate) fn connection(&mut self, connection: &Connection) {
        self.organization = Some(connection.organization.clone());
        self.connection = Some(connection.id.clone());
    }
}

/// A login being started: its connection and what its state will hold.
pub(crate) struct Pending<'a> {
    pub(crate) connection: &'a Connection,
    pub(crate) return_to: Option<String>,
    pub(crate) binding_sha256: String,
    pub(crate) expires_at: OffsetDateTime,
}

/// 32 random bytes, unpadded base64url (43 characters).
pub(crate) fn random_token() -> String {
    let mut random = [0u8; 32];
    rand::rng().fill_bytes(&mut random);
    URL_SAFE_NO_PAD.encode(random)
}

pub(crate) fn sha256_hex(value: &str) -> String {
    hex::encode(Sha256::digest(value.as_bytes()))
}

/// One value of a mapped attribute or claim: `None` when absent, an error when it has
/// several different values.
pub(crate) fn single<'a>(
    field: &'static str,
    attribute: &str,
    values: &'a [String],
) -> Result<Option<&'a String>, LoginError> {
    let distinct: std::collections::BTreeSet<&String> = values.iter().collect();
    let distinct: Vec<&String> = distinct.into_iter().collect();
    match distinct.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(*one)),
        many => Err(LoginError::AmbiguousAttribute {
            field,
            attribute: attribute.to_owned(),
            count: many.len(),
        }),
    }
}

/// A slot for one value handed from the orchestration to a protocol crate's store trait
/// and taken by it at most once.
#[derive(Debug)]
pub(crate) struct OneShot<T>(Mutex<Option<T>>);

impl<T> Default for OneShot<T> {
    fn default() -> Self {
        Self(Mutex::new(None))
    }
}

impl<T> OneShot<T> {
    pub(crate) fn new(value: Option<T>) -> Self {
        Self(Mutex::new(value))
    }

    pub(crate) fn put(&self, value: T) {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(value);
    }

    pub(crate) fn take(&self) -> Option<T> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
    }
}
