//! SAML Single Logout over the tenant stores: the SP's LogoutRequest and the IdP's answer
//! to it, and LogoutRequests from the IdP answered with a LogoutResponse.
//!
//! An SP-initiated logout is recorded like a login state: a [`LoginState`] stored under
//! the SHA-256 of the LogoutRequest id (with a `saml-logout` prefix), holding the request
//! id, the connection and the return target. The IdP's LogoutResponse is matched by its
//! `InResponseTo` once its signature, Issuer and Destination have been checked, and the
//! record is taken at most once (across nodes with `gatehouse-store-sql`). The record is
//! not bound to the browser: a LogoutResponse only concludes a logout the SP asked for.
//!
//! A LogoutRequest from the IdP goes through `saml-sp` (signature for its binding,
//! freshness, Destination), and its id through the tenant [`ReplayCache`] in the scope
//! `saml-logout:<IdP entity id>`.
//!
//! [`ReplayCache`]: crate::store::ReplayCache

use async_trait::async_trait;
use saml_sp::dsig::{SignatureAlgorithm, certificate_from_pem};
use saml_sp::logout::{
    LogoutRequest, LogoutResponse, ReceivedMessage, validate_logout_request,
    validate_logout_response,
};
use saml_sp::{IdentityProvider, NameId, SamlError, ValidationOptions};
use time::OffsetDateTime;

use super::saml::{TenantReplayCache, sp_key};
use super::{
    BrowserAction, LoginError, LoginService, OneShot, SamlBinding, SsoProfile, StateData,
    sha256_hex,
};
use crate::error::TenantError;
use crate::id::{ConnectionId, OrganizationId};
use crate::model::{Connection, Protocol, SamlConnection};
use crate::secret::SecretString;
use crate::store::LoginState;

/// How a SAML logout message from the IdP arrived at the SP's single logout URL.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum SamlMessage<'a> {
    /// HTTP-Redirect: the raw query string as received (the query signature covers it).
    Redirect(&'a str),
    /// HTTP-POST: the `SAMLRequest` or `SAMLResponse` form field (base64).
    Post(&'a str),
}

impl<'a> SamlMessage<'a> {
    fn received(self) -> ReceivedMessage<'a> {
        match self {
            Self::Redirect(query) => ReceivedMessage::Redirect(query),
            Self::Post(field) => ReceivedMessage::Post(field),
        }
    }
}

/// Whom an SP-initiated logout names: the SAML subject of the host's session.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct SamlLogout {
    /// The NameID value the IdP asserted ([`SsoProfile::subject`]).
    pub subject: String,
    /// Its Format ([`SsoProfile::subject_format`]).
    pub subject_format: Option<String>,
    /// The assertion's SessionIndex ([`SsoProfile::session_index`]).
    pub session_index: Option<String>,
    /// Where to send the browser once the IdP has answered; checked by the
    /// [`RedirectPolicy`](crate::RedirectPolicy).
    pub return_to: Option<String>,
}

impl SamlLogout {
    /// A logout of `subject` in the session `session_index`.
    pub fn new(subject: impl Into<String>, session_index: Option<String>) -> Self {
        Self {
            subject: subject.into(),
            session_index,
            ..Self::default()
        }
    }

    /// A logout of the session a SAML login produced.
    pub fn for_profile(profile: &SsoProfile) -> Self {
        Self {
            subject: profile.subject.clone(),
            subject_format: profile.subject_format.clone(),
            session_index: profile.session_index.clone(),
            return_to: None,
        }
    }

    /// The same logout returning to `return_to` afterwards.
    #[must_use]
    pub fn returning_to(mut self, return_to: impl Into<String>) -> Self {
        self.return_to = Some(return_to.into());
        self
    }
}

/// What [`LoginService::start_saml_logout`] hands the HTTP layer.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LogoutStart {
    /// The LogoutRequest id (the IdP's LogoutResponse answers it).
    pub request_id: String,
    /// How to send the browser to the IdP's single logout URL.
    pub action: BrowserAction,
    /// When the logout record expires.
    pub expires_at: OffsetDateTime,
}

/// An SP-initiated logout the IdP confirmed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LogoutFinished {
    /// The organization of the connection.
    pub organization: OrganizationId,
    /// The connection.
    pub connection: ConnectionId,
    /// The LogoutRequest the IdP answered.
    pub request_id: String,
    /// The return target given to `start_saml_logout` (checked then).
    pub return_to: Option<String>,
}

/// A LogoutRequest from the IdP that passed every check, with the answer to send back.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct IdpLogout {
    /// The organization of the connection.
    pub organization: OrganizationId,
    /// The connection.
    pub connection: ConnectionId,
    /// The IdP's LogoutRequest id.
    pub request_id: String,
    /// The NameID value to log out ([`SsoProfile::subject`] of its sessions).
    pub subject: String,
    /// The NameID Format, if given.
    pub subject_format: Option<String>,
    /// The sessions to end ([`SsoProfile::session_index`]); empty means all of the
    /// subject's sessions at this connection.
    pub session_indexes: Vec<String>,
    /// The signed LogoutResponse (Success) to the IdP's single logout URL, by its binding.
    pub response: BrowserAction,
}

impl LoginService {
    /// Starts an SP-initiated SAML logout at `connection`: a LogoutRequest signed with the
    /// SP key, to the IdP's single logout URL by its binding; the request id is recorded
    /// (until the login state lifetime ends) so that the IdP's LogoutResponse is accepted
    /// once. The host ends its own session before or after, as it sees fit.
    ///
    /// # Errors
    /// [`TenantError::Redirect`] for a refused target; unknown, disabled or non-SAML
    /// connections; [`LoginError::LogoutNotConfigured`]; store and signing failures.
    /// `LogoutFailed` is published with the error.
    pub async fn start_saml_logout(
        &self,
        connection: &ConnectionId,
        logout: &SamlLogout,
    ) -> Result<LogoutStart, LoginError> {
        let mut known = (None, Some(connection.clone()));
        let result = self
            .start_logout_inner(&mut known, connection, logout)
            .await;
        if let Err(e) = &result {
            self.logout_failed(known, e).await;
        }
        result
    }

    async fn start_logout_inner(
        &self,
        known: &mut (Option<OrganizationId>, Option<ConnectionId>),
        connection: &ConnectionId,
        logout: &SamlLogout,
    ) -> Result<LogoutStart, LoginError> {
        let return_to = logout
            .return_to
            .as_deref()
            .map(|t| self.redirects.check(t).map(str::to_owned))
            .transpose()?;
        if logout.subject.is_empty() {
            return Err(LoginError::MissingParameter("NameID"));
        }
        let connection = self.enabled_connection(connection).await?;
        known.0 = Some(connection.organization.clone());
        let saml = saml_of(&connection)?;
        let (idp_slo_url, _) = slo_urls(&connection, saml)?;
        let key = logout_key(self, &connection, saml)?;
        let now = self.clock.now();
        let request = LogoutRequest::new(
            &saml.sp_entity_id,
            idp_slo_url,
            NameId {
                value: logout.subject.clone(),
                format: logout.subject_format.clone(),
                name_qualifier: None,
                sp_name_qualifier: None,
            },
            logout.session_index.clone(),
            now,
        )?;
        let data = serde_json::to_string(&StateData::SamlLogout {
            request_id: request.id.clone(),
        })
        .map_err(|e| TenantError::Backend(format!("logout state encoding: {e}")))?;
        let expires_at = now + self.settings.state_ttl;
        self.states
            .put_login_state(&LoginState {
                id: logout_record_key(&request.id),
                organization: connection.organization.clone(),
                connection: connection.id.clone(),
                return_to,
                protocol_data: SecretString::new(data),
                expires_at,
            })
            .await?;
        let signing = Some((&key, SignatureAlgorithm::RsaSha256));
        let action = match saml.idp_slo_binding {
            SamlBinding::Post => BrowserAction::PostForm(request.post_form(None, signing)?),
            _ => BrowserAction::Redirect(request.redirect_url(None, signing)?),
        };
        tracing::debug!(connection = %connection.id, "SAML logout started");
        Ok(LogoutStart {
            request_id: request.id,
            action,
            expires_at,
        })
    }

    /// Finishes an SP-initiated logout with the IdP's LogoutResponse received at the SP's
    /// single logout URL of `connection`: its signature, Issuer, Destination and status are
    /// checked, and the logout record its `InResponseTo` names is taken (once).
    ///
    /// # Errors
    /// The [`LoginError`] of the first failed check (an unsolicited or replayed response is
    /// `saml.profile.unknown_request`); `LogoutFailed` is published with it.
    pub async fn finish_saml_logout_response(
        &self,
        connection: &ConnectionId,
        message: SamlMessage<'_>,
    ) -> Result<LogoutFinished, LoginError> {
        let mut known = (None, Some(connection.clone()));
        let result = self
            .finish_logout_inner(&mut known, connection, message)
            .await;
        match &result {
            Ok(done) => {
                self.logout_succeeded(&done.organization, &done.connection, None)
                    .await;
            }
            Err(e) => self.logout_failed(known, e).await,
        }
        result
    }

    async fn finish_logout_inner(
        &self,
        known: &mut (Option<OrganizationId>, Option<ConnectionId>),
        connection: &ConnectionId,
        message: SamlMessage<'_>,
    ) -> Result<LogoutFinished, LoginError> {
        let connection = self.enabled_connection(connection).await?;
        known.0 = Some(connection.organization.clone());
        let saml = saml_of(&connection)?;
        let (_, slo_url) = slo_urls(&connection, saml)?;
        let idp = identity_provider(&connection, saml)?;
        let records = LogoutRecords {
            service: self,
            connection: connection.id.clone(),
            return_to: OneShot::default(),
        };
        let verified = validate_logout_response(
            message.received(),
            &idp,
            slo_url,
            &self.logout_options(saml),
            &records,
            self.clock.now(),
        )
        .await?;
        Ok(LogoutFinished {
            organization: connection.organization.clone(),
            connection: connection.id.clone(),
            request_id: verified.in_response_to,
            return_to: records.return_to.take().flatten(),
        })
    }

    /// Handles a LogoutRequest from the IdP received at the SP's single logout URL of
    /// `connection` (`relay_state` is the message's `RelayState`, echoed in the answer):
    /// its signature for the binding, Issuer, Destination and freshness are checked and
    /// its id is accepted once. Returns whom to log out and the signed Success
    /// LogoutResponse; the host ends the named sessions, then sends the response.
    ///
    /// # Errors
    /// The [`LoginError`] of the first failed check (a replayed request is
    /// `saml.profile.replay`); `LogoutFailed` is published with it.
    pub async fn handle_idp_logout_request(
        &self,
        connection: &ConnectionId,
        message: SamlMessage<'_>,
        relay_state: Option<&str>,
    ) -> Result<IdpLogout, LoginError> {
        let mut known = (None, Some(connection.clone()));
        let result = self
            .idp_logout_inner(&mut known, connection, message, relay_state)
            .await;
        match &result {
            Ok(done) => {
                self.logout_succeeded(
                    &done.organization,
                    &done.connection,
                    Some(done.subject.clone()),
                )
                .await;
            }
            Err(e) => self.logout_failed(known, e).await,
        }
        result
    }

    async fn idp_logout_inner(
        &self,
        known: &mut (Option<OrganizationId>, Option<ConnectionId>),
        connection: &ConnectionId,
        message: SamlMessage<'_>,
        relay_state: Option<&str>,
    ) -> Result<IdpLogout, LoginError> {
        let connection = self.enabled_connection(connection).await?;
        known.0 = Some(connection.organization.clone());
        let saml = saml_of(&connection)?;
        let (idp_slo_url, slo_url) = slo_urls(&connection, saml)?;
        let idp = identity_provider(&connection, saml)?;
        let key = logout_key(self, &connection, saml)?;
        let replay = TenantReplayCache::new(
            self.replay.clone(),
            format!("saml-logout:{}", saml.idp_entity_id),
        );
        let now = self.clock.now();
        let verified = validate_logout_request(
            message.received(),
            &idp,
            slo_url,
            &self.logout_options(saml),
            &replay,
            now,
        )
        .await?;
        let answer = LogoutResponse::success(&saml.sp_entity_id, idp_slo_url, &verified.id, now)?;
        let signing = Some((&key, SignatureAlgorithm::RsaSha256));
        let relay_state = relay_state.filter(|r| !r.is_empty());
        let response = match saml.idp_slo_binding {
            SamlBinding::Post => BrowserAction::PostForm(answer.post_form(relay_state, signing)?),
            _ => BrowserAction::Redirect(answer.redirect_url(relay_state, signing)?),
        };
        Ok(IdpLogout {
            organization: connection.organization.clone(),
            connection: connection.id.clone(),
            request_id: verified.id,
            subject: verified.name_id.value,
            subject_format: verified.name_id.format,
            session_indexes: verified.session_indexes,
            response,
        })
    }

    fn logout_options(&self, saml: &SamlConnection) -> ValidationOptions {
        ValidationOptions {
            clock_skew: self.settings.saml_clock_skew,
            allow_sha1_insecure: saml.allow_sha1_insecure,
            ..ValidationOptions::default()
        }
    }

    async fn logout_succeeded(
        &self,
        organization: &OrganizationId,
        connection: &ConnectionId,
        subject: Option<String>,
    ) {
        tracing::debug!(%organization, %connection, "SAML logout accepted");
        if let Some(events) = &self.events {
            events
                .publish(crate::events::Event::LogoutSucceeded {
                    organization: organization.clone(),
                    connection: connection.clone(),
                    subject,
                })
                .await;
        }
    }

    async fn logout_failed(
        &self,
        known: (Option<OrganizationId>, Option<ConnectionId>),
        error: &LoginError,
    ) {
        tracing::warn!(
            organization = ?known.0,
            connection = ?known.1,
            reason = %error.reason(),
            "SAML logout rejected"
        );
        if let Some(events) = &self.events {
            events
                .publish(crate::events::Event::LogoutFailed {
                    organization: known.0,
                    connection: known.1,
                    reason: error.reason(),
                })
                .await;
        }
    }
}

fn saml_of(connection: &Connection) -> Result<&SamlConnection, LoginError> {
    match &connection.protocol {
        Protocol::Saml(saml) => Ok(saml),
        _ => Err(LoginError::WrongProtocol {
            connection: connection.id.clone(),
            expected: "SAML",
        }),
    }
}

/// The IdP's and the SP's single logout URLs.
fn slo_urls<'a>(
    connection: &Connection,
    saml: &'a SamlConnection,
) -> Result<(&'a str, &'a str), LoginError> {
    let missing = |what| LoginError::LogoutNotConfigured {
        connection: connection.id.clone(),
        missing: what,
    };
    Ok((
        saml.idp_slo_url
            .as_deref()
            .ok_or_else(|| missing("idp_slo_url"))?,
        saml.slo_url.as_deref().ok_or_else(|| missing("slo_url"))?,
    ))
}

fn logout_key(
    service: &LoginService,
    connection: &Connection,
    saml: &SamlConnection,
) -> Result<saml_sp::dsig::SigningKey, LoginError> {
    sp_key(service, connection, saml)?.ok_or_else(|| LoginError::LogoutNotConfigured {
        connection: connection.id.clone(),
        missing: "sp_key",
    })
}

fn identity_provider(
    connection: &Connection,
    saml: &SamlConnection,
) -> Result<IdentityProvider, LoginError> {
    let certificates = saml
        .trusted_certificates
        .iter()
        .map(|c| certificate_from_pem(c.pem.as_bytes()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| LoginError::Config {
            connection: connection.id.clone(),
            reason: format!("trusted certificate: {e}"),
        })?;
    Ok(IdentityProvider {
        entity_id: saml.idp_entity_id.clone(),
        certificates,
    })
}

/// The key a logout record is stored under.
fn logout_record_key(request_id: &str) -> String {
    sha256_hex(&format!("saml-logout\n{request_id}"))
}

/// The `saml_sp::RequestStore` of one LogoutResponse: takes the logout record its
/// `InResponseTo` names from the tenant login state store, once, for this connection.
struct LogoutRecords<'a> {
    service: &'a LoginService,
    connection: ConnectionId,
    return_to: OneShot<Option<String>>,
}

#[async_trait]
impl saml_sp::RequestStore for LogoutRecords<'_> {
    async fn insert(&self, _request_id: &str, _expires_at: OffsetDateTime) -> saml_sp::Result<()> {
        Err(SamlError::Store(
            "logout requests are recorded in the tenant login state store".into(),
        ))
    }

    async fn take(&self, request_id: &str, now: OffsetDateTime) -> saml_sp::Result<bool> {
        if request_id.is_empty() || request_id.len() > crate::store::MAX_STATE_ID_LEN {
            return Ok(false);
        }
        let store = |e: TenantError| SamlError::Store(e.to_string());
        let Some(state) = self
            .service
            .states
            .take_login_state(&logout_record_key(request_id), now)
            .await
            .map_err(store)?
        else {
            return Ok(false);
        };
        let data: StateData = serde_json::from_str(state.protocol_data.expose_secret())
            .map_err(|e| SamlError::Store(format!("logout state decoding: {e}")))?;
        let matches = matches!(&data, StateData::SamlLogout { request_id: id } if id == request_id)
            && state.connection == self.connection;
        if matches {
            self.return_to.put(state.return_to);
        }
        Ok(matches)
    }
}
