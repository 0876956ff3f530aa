//! The OIDC side of the orchestration: a `oidc_rp::RelyingParty` per login from a
//! connection's settings, with `oidc_rp::LoginStateStore` bridged to the tenant store.
//!
//! `oidc-rp` saves and takes its pending login through its own trait. Here that trait is a
//! hand-over slot: at start the RP's `save` puts the pending login in the slot and the
//! orchestration stores it in the tenant [`crate::LoginStateStore`] (with the organization,
//! connection, redirect target and browser binding); at the callback the orchestration
//! takes the tenant state first (once, across nodes with `gatehouse-store-sql`) and the RP's
//! `take` gets the pending login from the slot. Providers (metadata and JWKS caches) are
//! kept per connection.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use oidc_rp::{
    AuthorizationOptions, CallbackParams, ClientAuth, ClientConfig, HttpClient, PendingLogin,
    Provider, ProviderConfig, RelyingParty, ResponseMode, Secret, ValidationConfig,
};
use serde_json::{Map, Value};
use time::OffsetDateTime;

use super::{
    BrowserAction, Known, LoginError, LoginFinished, LoginRequest, LoginService, OneShot, Pending,
    SsoProfile, SsoProtocol, StateData,
};
use crate::id::ConnectionId;
use crate::model::{Connection, OidcConnection, Protocol, ProviderProfile};

/// The OIDC providers of the connections, and the HTTP client they fetch with.
#[derive(Default)]
pub(crate) struct OidcProviders {
    pub(crate) http: Option<Arc<dyn HttpClient>>,
    cache: Mutex<HashMap<ConnectionId, Arc<Provider>>>,
}

/// The `reason` of an OIDC error: `oidc.` and the error's variant in snake case.
pub(super) fn reason(e: &oidc_rp::Error) -> String {
    let debug = format!("{e:?}");
    let variant: String = debug
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect();
    let mut out = String::from("oidc.");
    for (i, c) in variant.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Builds the authorization URL through the RP and stores the state.
pub(super) async fn start(
    service: &LoginService,
    pending: &Pending<'_>,
    oidc: &OidcConnection,
    request: &LoginRequest,
) -> Result<(String, BrowserAction), LoginError> {
    let slot = Arc::new(Handover::default());
    let response_mode = if request.oidc_form_post {
        ResponseMode::FormPost
    } else {
        ResponseMode::Query
    };
    let rp = relying_party(
        service,
        pending.connection,
        oidc,
        response_mode,
        slot.clone(),
    )?;
    let options = AuthorizationOptions {
        login_hint: request.login_hint.clone(),
        prompt: request.force_authn.then(|| "login".to_owned()),
        max_age: request.max_age,
        ..AuthorizationOptions::default()
    };
    let authorization = rp.authorization_request(&options).await?;
    let (state, login) = slot
        .saved
        .take()
        .filter(|(state, _)| *state == authorization.state)
        .ok_or_else(|| LoginError::Config {
            connection: pending.connection.id.clone(),
            reason: "the relying party saved no pending login".into(),
        })?;
    service
        .put_state(
            pending,
            &state,
            &StateData::Oidc {
                pending: login,
                rp_binding: authorization.browser_binding.expose().to_owned(),
            },
        )
        .await?;
    Ok((
        state,
        BrowserAction::Redirect(authorization.url.to_string()),
    ))
}

/// Takes the state, runs the RP's callback handling and builds the profile.
pub(super) async fn finish(
    service: &LoginService,
    known: &mut Known,
    expected: Option<&ConnectionId>,
    callback: &[u8],
    browser_binding: Option<&str>,
) -> Result<LoginFinished, LoginError> {
    let params = CallbackParams::parse(callback)?;
    let state_id = params
        .get("state")
        .ok_or(LoginError::MissingParameter("state"))?;
    let (state, data) = service
        .take_state(state_id, browser_binding)
        .await?
        .ok_or(LoginError::UnknownState)?;
    known.organization = Some(state.organization.clone());
    known.connection = Some(state.connection.clone());
    let StateData::Oidc {
        pending,
        rp_binding,
    } = data
    else {
        return Err(LoginError::StateMismatch {
            expected: format!("SAML connection {}", state.connection),
        });
    };
    if expected.is_some_and(|c| *c != state.connection) {
        return Err(LoginError::StateMismatch {
            expected: format!("OIDC connection {}", state.connection),
        });
    }
    let connection = service.enabled_connection(&state.connection).await?;
    let Protocol::Oidc(oidc) = &connection.protocol else {
        return Err(LoginError::WrongProtocol {
            connection: connection.id.clone(),
            expected: "OIDC",
        });
    };

    let slot = Arc::new(Handover {
        taken: OneShot::new(Some((state_id.to_owned(), pending))),
        ..Handover::default()
    });
    // The callback's parameters come from the query or the body alike; the mode matters
    // only for the authorization request.
    let rp = relying_party(service, &connection, oidc, ResponseMode::Query, slot)?;
    let login = rp.handle_callback(&params, Some(&rp_binding)).await?;
    let mut claims = login.claims.all();
    if service.settings.oidc_userinfo && rp.provider().metadata().await?.userinfo_endpoint.is_some()
    {
        claims = rp
            .userinfo(&login.tokens.access_token, &login.claims)
            .await?
            .merged;
    }
    let profile = profile(&connection, oidc, &login.claims, claims)?;
    let org = service.organization(&connection.organization).await?;
    service.enforce_domains(&org, &profile).await?;
    Ok(LoginFinished {
        profile,
        return_to: state.return_to,
    })
}

fn relying_party(
    service: &LoginService,
    connection: &Connection,
    oidc: &OidcConnection,
    response_mode: ResponseMode,
    slot: Arc<Handover>,
) -> Result<RelyingParty, LoginError> {
    let config_error = |reason: &str| LoginError::Config {
        connection: connection.id.clone(),
        reason: reason.to_owned(),
    };
    if matches!(
        oidc.profile,
        ProviderProfile::EntraId { multi_tenant: true }
    ) {
        return Err(config_error(
            "multi-tenant Entra ID issuers are not supported by the login service",
        ));
    }
    let auth = match &oidc.client_secret {
        Some(secret) => {
            let plain = service
                .key
                .decrypt(secret, &connection.secret_context("oidc.client_secret"))?;
            ClientAuth::ClientSecretBasic(Secret::new(plain.expose_secret()))
        }
        None => ClientAuth::None,
    };
    let mut client = ClientConfig::new(&oidc.client_id, auth, &oidc.redirect_uri);
    client.scopes = oidc.scopes.clone();
    client.response_mode = response_mode;
    client.login_ttl_secs = service.settings.state_ttl.whole_seconds();
    let provider = provider(service, connection, oidc)?;
    let mut validation = ValidationConfig::new(&oidc.issuer, &oidc.client_id);
    if oidc.accept_email_verified_as_string {
        validation.profile = oidc_rp::ProviderProfile::EMAIL_VERIFIED_AS_STRING;
    }
    Ok(RelyingParty::new(provider, client, validation, slot)?)
}

fn provider(
    service: &LoginService,
    connection: &Connection,
    oidc: &OidcConnection,
) -> Result<Arc<Provider>, LoginError> {
    let http = service
        .oidc
        .http
        .clone()
        .ok_or_else(|| LoginError::Config {
            connection: connection.id.clone(),
            reason: "no HTTP client for OIDC (LoginService::with_oidc_http)".into(),
        })?;
    let mut cache = service
        .oidc
        .cache
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some(p) = cache.get(&connection.id)
        && p.issuer() == oidc.issuer
    {
        return Ok(p.clone());
    }
    let provider = Arc::new(Provider::new(
        ProviderConfig::discover(&oidc.issuer),
        http,
        Arc::new(ClockBridge(service.clock.clone())),
    )?);
    cache.insert(connection.id.clone(), provider.clone());
    Ok(provider)
}

/// The profile of a validated login, by the connection's claim mapping.
fn profile(
    connection: &Connection,
    oidc: &OidcConnection,
    id_token: &oidc_rp::IdTokenClaims,
    claims: Map<String, Value>,
) -> Result<SsoProfile, LoginError> {
    let m = &oidc.claim_mapping;
    let text = |name: &str| claims.get(name).and_then(Value::as_str).map(str::to_owned);
    // `email_verified` speaks of the `email` claim only. The ID token's was checked by
    // `oidc-rp`; one from userinfo gets the same check here.
    let email_verified = if m.email == "email" {
        match id_token.email_verified {
            Some(b) => Some(b),
            None => userinfo_email_verified(
                claims.get("email_verified"),
                oidc.accept_email_verified_as_string,
            )?,
        }
    } else {
        None
    };
    let groups = match m.groups.as_deref().and_then(|g| claims.get(g)) {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        Some(Value::String(one)) => vec![one.clone()],
        _ => Vec::new(),
    };
    Ok(SsoProfile {
        organization: connection.organization.clone(),
        connection: connection.id.clone(),
        protocol: SsoProtocol::Oidc,
        subject: id_token.sub.clone(),
        subject_format: None,
        issuer: id_token.iss.clone(),
        email: text(&m.email),
        email_verified,
        given_name: text(&m.given_name),
        family_name: text(&m.family_name),
        display_name: text("name"),
        groups,
        extra: BTreeMap::new(),
        session_index: id_token.sid.clone(),
        authn_instant: id_token
            .auth_time
            .and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok()),
        raw: claims.into_iter().collect(),
    })
}

/// `email_verified` from userinfo: a boolean, or (with the connection's option) the string
/// `"true"` or `"false"`; anything else fails the login as the ID token's would.
fn userinfo_email_verified(
    value: Option<&Value>,
    accept_string: bool,
) -> Result<Option<bool>, LoginError> {
    let invalid = |reason: &str| {
        LoginError::Oidc(oidc_rp::Error::InvalidClaim {
            claim: "email_verified",
            reason: reason.to_owned(),
        })
    };
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::String(s)) if accept_string => match s.as_str() {
            "true" => Ok(Some(true)),
            "false" => Ok(Some(false)),
            _ => Err(invalid("a string that is neither \"true\" nor \"false\"")),
        },
        Some(_) => Err(invalid("not a boolean")),
    }
}

/// The RP's login-state store for one start or one callback: `save` hands the pending
/// login to the orchestration, `take` gets the one the orchestration took from the tenant
/// store.
#[derive(Default)]
struct Handover {
    saved: OneShot<(String, PendingLogin)>,
    taken: OneShot<(String, PendingLogin)>,
}

#[async_trait]
impl oidc_rp::LoginStateStore for Handover {
    async fn save(&self, state: &str, login: PendingLogin) -> oidc_rp::Result<()> {
        self.saved.put((state.to_owned(), login));
        Ok(())
    }

    async fn take_if(
        &self,
        state: &str,
        check: oidc_rp::TakeCheck<'_>,
    ) -> oidc_rp::Result<Option<PendingLogin>> {
        let Some((_, login)) = self.taken.take().filter(|(id, _)| id == state) else {
            return Ok(None);
        };
        check(&login)?;
        Ok(Some(login))
    }
}

/// The orchestration's clock as `oidc-rp` reads it.
struct ClockBridge(Arc<dyn saml_sp::Clock>);

impl oidc_rp::Clock for ClockBridge {
    fn now(&self) -> i64 {
        self.0.now().unix_timestamp()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_the_variant_in_snake_case() {
        assert_eq!(reason(&oidc_rp::Error::UnknownState), "oidc.unknown_state");
        assert_eq!(
            reason(&oidc_rp::Error::NonceMismatch),
            "oidc.nonce_mismatch"
        );
        assert_eq!(reason(&oidc_rp::Error::Config("x".into())), "oidc.config");
        assert_eq!(
            reason(&oidc_rp::Error::MissingClaim { claim: "sub" }),
            "oidc.missing_claim"
        );
    }
}
