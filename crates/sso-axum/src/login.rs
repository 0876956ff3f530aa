//! The sign-in routes: SAML and OpenID Connect per connection, and home-realm discovery,
//! over tenant-config's [`LoginService`].

use std::sync::Arc;

use async_trait::async_trait;
use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{Path, Query, Request, State};
use axum::middleware::Next;
use axum::routing::get;
use axum_core::response::{IntoResponse, Response};
use http::header::{CACHE_CONTROL, CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use http::{HeaderMap, HeaderValue, StatusCode};
use saml_sp::SpMetadata;
use saml_sp::dsig::certificate_from_pem;
use tenant_config::{
    BrowserAction, Connection, ConnectionId, Discovery, IdpLogout, LoginError, LoginFinished,
    LoginRequest, LoginService, LogoutFinished, Protocol, SamlLogout, SamlMessage, TenantError,
    Tenants,
};
use tracing::Instrument as _;
use uuid::Uuid;

use crate::scim::CORRELATION_ID_HEADER;

/// The cookie holding the browser binding of a SAML login (`SameSite=None`: the IdP posts
/// the Response cross-site).
pub const SAML_BINDING_COOKIE: &str = "gatehouse_saml_login";
/// The cookie holding the browser binding of an OIDC login (`SameSite=Lax` for the query
/// response mode, whose callback is a top-level GET; `SameSite=None; Secure` with
/// [`SsoRouterConfig::oidc_form_post`], whose callback is a cross-site POST).
pub const OIDC_BINDING_COOKIE: &str = "gatehouse_oidc_login";

/// The largest ACS or callback body read (a SAML Response with certificates and an
/// encrypted assertion stays far below).
pub const MAX_LOGIN_BODY: usize = 512 * 1024;

/// What the host does with a finished login: typically it sets its own session cookie and
/// redirects to [`LoginFinished::return_to`]. The router adds the removal of its binding
/// cookie to the response.
#[async_trait]
pub trait LoginHandler: Send + Sync {
    /// Answers the browser for a login that passed every check.
    async fn logged_in(&self, finished: LoginFinished) -> Response;

    /// Ends the host's sessions that a verified SAML LogoutRequest from the IdP names:
    /// those of `logout.subject` at `logout.connection` whose
    /// [`SsoProfile::session_index`](tenant_config::SsoProfile::session_index) is one of
    /// `logout.session_indexes` (all of the subject's sessions there when that is empty).
    /// Returns whether it did; the route then sends the IdP the Success LogoutResponse.
    ///
    /// The default ends nothing and returns `false`: the route then answers with the
    /// failure page `logout.not_handled` rather than tell the IdP the user is logged out.
    async fn logout(&self, logout: &IdpLogout) -> bool {
        let _ = logout;
        false
    }

    /// Answers the browser when the IdP confirmed an SP-initiated logout (its
    /// LogoutResponse passed every check). The default redirects to
    /// [`LogoutFinished::return_to`], else to `/`.
    async fn logged_out(&self, finished: LogoutFinished) -> Response {
        see_other(finished.return_to.as_deref().unwrap_or("/"))
    }
}

/// A [`LoginHandler`] from an async closure (with the default logout methods: it does
/// not serve IdP-initiated logout).
pub struct FnLoginHandler<F>(pub F);

impl<F> std::fmt::Debug for FnLoginHandler<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FnLoginHandler")
    }
}

#[async_trait]
impl<F, Fut> LoginHandler for FnLoginHandler<F>
where
    F: Fn(LoginFinished) -> Fut + Send + Sync,
    Fut: std::future::Future<Output = Response> + Send,
{
    async fn logged_in(&self, finished: LoginFinished) -> Response {
        (self.0)(finished).await
    }
}

/// Settings of [`sso_router`].
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct SsoRouterConfig {
    /// Where home-realm discovery sends an address without SSO (unknown, unverified or
    /// consumer domain, or no enabled connection); `None` answers with a short page. The
    /// same answer for all, so that it reveals nothing about other tenants.
    pub no_sso_location: Option<String>,
    /// Set the binding cookies without `Secure` so that a browser keeps them over plain
    /// `http://127.0.0.1`, except those that must travel on a cross-site POST: the SAML
    /// binding cookie (the IdP posts to the ACS) and the OIDC one with
    /// [`oidc_form_post`](Self::oidc_form_post) stay `SameSite=None; Secure`, since a
    /// `SameSite=Lax` cookie stays behind on that POST and browsers drop `SameSite=None`
    /// without `Secure`; Chromium keeps and sends `Secure` cookies of `http://127.0.0.1`
    /// and `http://localhost` (loopback counts as a secure context), other browsers may
    /// not. For loopback development only: on any other origin the cookies travel in clear.
    pub dangerous_insecure_cookies_for_http_loopback: bool,
    /// `Max-Age` of the binding cookies in seconds (default 600, the default login state
    /// lifetime).
    pub binding_cookie_max_age: Option<u32>,
    /// Ask the OIDC providers for `response_mode=form_post`: the provider's page posts the
    /// authorization response to the callback instead of redirecting with it in the query
    /// (off by default). That POST is cross-site, so the OIDC binding cookie is then
    /// `SameSite=None; Secure` — also with
    /// [`dangerous_insecure_cookies_for_http_loopback`](Self::dangerous_insecure_cookies_for_http_loopback),
    /// since browsers drop `SameSite=None` without `Secure`; Chromium keeps and sends
    /// `Secure` cookies of `http://127.0.0.1` and `http://localhost` (loopback counts as
    /// a secure context), other browsers may not.
    pub oidc_form_post: bool,
}

struct Shared {
    login: Arc<LoginService>,
    tenants: Tenants,
    handler: Arc<dyn LoginHandler>,
    config: SsoRouterConfig,
}

/// The sign-in routes, to be nested under the host's prefix (`Router::nest("/sso", ..)`):
///
/// - `GET  /login?email=..&return_to=..`: home-realm discovery, a 303 to the connection's
///   login route (relative, so it stays under the prefix);
/// - `GET  /saml/{connection}/metadata`: the SP metadata for the IdP administrator;
/// - `GET  /saml/{connection}/login?return_to=..&force_authn=true`: the AuthnRequest, by
///   the binding of the service's settings (a 303, or an auto-posting form);
/// - `POST /saml/{connection}/acs`: the Response (HTTP-POST binding);
/// - `GET|POST /saml/{connection}/slo`: Single Logout from the IdP: a LogoutRequest
///   (HTTP-Redirect with its query signature, or HTTP-POST) goes to
///   [`LoginHandler::logout`] and is answered with the signed LogoutResponse; a
///   LogoutResponse to the SP's own LogoutRequest (see [`start_saml_logout`]) goes to
///   [`LoginHandler::logged_out`];
/// - `GET  /oidc/{connection}/login?return_to=..&login_hint=..`: the authorization request;
/// - `GET|POST /oidc/{connection}/callback`: the callback (query or `form_post`).
///
/// A finished login goes to `handler`; a failed one is answered with a short HTML page
/// naming the failed check and a correlation id, and logged at `warn` under the target
/// `gatehouse::login` with the same id.
pub fn sso_router(
    login: Arc<LoginService>,
    tenants: Tenants,
    handler: Arc<dyn LoginHandler>,
    config: SsoRouterConfig,
) -> Router {
    let shared = Arc::new(Shared {
        login,
        tenants,
        handler,
        config,
    });
    Router::new()
        .route("/login", get(discover))
        .route("/saml/{connection}/metadata", get(saml_metadata))
        .route("/saml/{connection}/login", get(saml_login))
        .route("/saml/{connection}/acs", axum::routing::post(saml_acs))
        .route(
            "/saml/{connection}/slo",
            get(saml_slo_get).post(saml_slo_post),
        )
        .route("/oidc/{connection}/login", get(oidc_login))
        .route(
            "/oidc/{connection}/callback",
            get(oidc_callback_get).post(oidc_callback_post),
        )
        .with_state(shared)
        .layer(axum::middleware::from_fn(correlate))
}

/// Query parameters of the login routes.
#[derive(Debug, Default, serde::Deserialize)]
struct StartQuery {
    email: Option<String>,
    return_to: Option<String>,
    login_hint: Option<String>,
    #[serde(default)]
    force_authn: bool,
}

/// The correlation id of a request: taken from the request's extensions when the host's
/// middleware put one there (so that its request log and the sign-in routes' logs and
/// failure pages share it), otherwise generated. Every response of [`sso_router`] carries
/// it in the `x-correlation-id` header; every log line of the routes carries it as the
/// span field `correlation_id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CorrelationId(pub Uuid);

/// A failed request as the browser sees it; the page is rendered by [`correlate`], which
/// knows the request's correlation id.
struct Failure {
    status: StatusCode,
    reason: String,
}

/// Marks a response as a failure page still to be rendered.
#[derive(Clone)]
struct FailurePage(String);

impl Failure {
    fn new(status: StatusCode, reason: impl Into<String>) -> Self {
        Self {
            status,
            reason: reason.into(),
        }
    }

    /// Logs `error` at `warn` and answers with its reason.
    fn login(connection: Option<&str>, error: &LoginError) -> Self {
        let status = match error {
            LoginError::UnknownConnection(_) => StatusCode::NOT_FOUND,
            LoginError::Tenant(TenantError::Redirect { .. }) | LoginError::MissingParameter(_) => {
                StatusCode::BAD_REQUEST
            }
            LoginError::Tenant(_) | LoginError::Config { .. } => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::FORBIDDEN,
        };
        let failure = Self::new(status, error.reason());
        // The error's text names the failed check and the values compared (ids, domains,
        // instants); the login crates keep assertions, codes, tokens and keys out of it.
        tracing::warn!(
            target: "gatehouse::login",
            connection = connection.unwrap_or("-"),
            reason = %failure.reason,
            error = %error,
            "login failed"
        );
        failure
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let mut response = self.status.into_response();
        response.extensions_mut().insert(FailurePage(self.reason));
        response
    }
}

fn failure_page(status: StatusCode, reason: &str, correlation_id: Uuid) -> Response {
    let page = format!(
        "<!doctype html>\n<html><head><title>Sign-in failed</title></head><body>\n\
         <h1>Sign-in failed</h1>\n<p>Reason: <code>{}</code></p>\n\
         <p>Correlation id: <code>{correlation_id}</code></p>\n\
         <p>Give your administrator the correlation id; the server log has the details.</p>\n\
         </body></html>\n",
        escape_html(reason),
    );
    (status, html_headers(), page).into_response()
}

/// Gives each request its [`CorrelationId`], runs it in a span with that id, renders
/// failure pages with it and returns it in the `x-correlation-id` header.
async fn correlate(mut request: Request, next: Next) -> Response {
    let id = match request.extensions().get::<CorrelationId>() {
        Some(id) => *id,
        None => {
            let id = CorrelationId(Uuid::new_v4());
            request.extensions_mut().insert(id);
            id
        }
    };
    let span = tracing::info_span!("sso", correlation_id = %id.0);
    let mut response = next.run(request).instrument(span).await;
    if let Some(FailurePage(reason)) = response.extensions_mut().remove::<FailurePage>() {
        let cookies: Vec<HeaderValue> = response
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .cloned()
            .collect();
        response = failure_page(response.status(), &reason, id.0);
        for c in cookies {
            response.headers_mut().append(SET_COOKIE, c);
        }
    }
    if let Ok(v) = HeaderValue::from_str(&id.0.to_string()) {
        response.headers_mut().insert(CORRELATION_ID_HEADER, v);
    }
    response
}

fn html_headers() -> [(http::HeaderName, &'static str); 2] {
    [
        (CONTENT_TYPE, "text/html; charset=utf-8"),
        (CACHE_CONTROL, "no-store"),
    ]
}

/// The connection named in the path, with the protocol the route serves.
async fn connection_for(
    shared: &Shared,
    id: &str,
    saml: bool,
) -> Result<(ConnectionId, Connection), Failure> {
    let unknown = || Failure::login(Some(id), &LoginError::UnknownConnection(id.to_owned()));
    let connection_id = ConnectionId::new(id).map_err(|_| unknown())?;
    let connection = shared
        .tenants
        .store()
        .connection(&connection_id)
        .await
        .map_err(|e| Failure::login(Some(id), &LoginError::Tenant(e)))?
        .ok_or_else(unknown)?;
    let matches = matches!(
        (&connection.protocol, saml),
        (Protocol::Saml(_), true) | (Protocol::Oidc(_), false)
    );
    if !matches {
        return Err(Failure::login(
            Some(id),
            &LoginError::WrongProtocol {
                connection: connection_id,
                expected: if saml { "SAML" } else { "OIDC" },
            },
        ));
    }
    Ok((connection_id, connection))
}

async fn discover(State(shared): State<Arc<Shared>>, Query(query): Query<StartQuery>) -> Response {
    let email = query.email.unwrap_or_default();
    // A malformed address, like an unknown domain, has no SSO.
    let found = match shared.tenants.discover(&email).await {
        Ok(found) => found,
        Err(TenantError::Invalid { .. }) => Discovery::NoSso,
        Err(e) => {
            return Failure::login(None, &LoginError::Tenant(e)).into_response();
        }
    };
    let target = match found {
        Discovery::Sso { connection, .. } => {
            match shared.tenants.store().connection(&connection).await {
                Ok(Some(c)) => Some(c),
                Ok(None) => None,
                Err(e) => return Failure::login(None, &LoginError::Tenant(e)).into_response(),
            }
        }
        _ => None,
    };
    let Some(connection) = target else {
        tracing::info!(target: "gatehouse::login", "discovery: no SSO");
        return match &shared.config.no_sso_location {
            Some(location) => see_other(location),
            None => (
                StatusCode::OK,
                html_headers(),
                "<!doctype html>\n<html><head><title>No single sign-on</title></head><body>\n\
                 <p>Single sign-on is not available for this address.</p>\n</body></html>\n",
            )
                .into_response(),
        };
    };
    let protocol = match connection.protocol {
        Protocol::Saml(_) => "saml",
        _ => "oidc",
    };
    let mut location = format!("{protocol}/{}/login", connection.id);
    let mut params = url::form_urlencoded::Serializer::new(String::new());
    if let Some(r) = &query.return_to {
        params.append_pair("return_to", r);
    }
    if protocol == "oidc" && !email.is_empty() {
        params.append_pair("login_hint", &email);
    }
    let params = params.finish();
    if !params.is_empty() {
        location.push('?');
        location.push_str(&params);
    }
    tracing::info!(
        target: "gatehouse::login",
        organization = %connection.organization,
        connection = %connection.id,
        "discovery: SSO"
    );
    see_other(&location)
}

async fn saml_metadata(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> Result<Response, Failure> {
    let (_, connection) = connection_for(&shared, &id, true).await?;
    let Protocol::Saml(saml) = &connection.protocol else {
        return Err(Failure::new(StatusCode::NOT_FOUND, "login.wrong_protocol"));
    };
    let certificate = saml
        .sp_key
        .as_ref()
        .map(|k| certificate_from_pem(k.certificate.pem.as_bytes()))
        .transpose()
        .map_err(|e| Failure::login(Some(&id), &LoginError::Saml(e)))?;
    let metadata = SpMetadata {
        entity_id: saml.sp_entity_id.clone(),
        acs_urls: vec![saml.acs_url.clone()],
        slo_url: saml.slo_url.clone(),
        name_id_format: None,
        // The SP key signs AuthnRequests when configured, and always logout messages.
        signing_certificate: certificate
            .clone()
            .filter(|_| saml.sign_authn_requests || saml.idp_slo_url.is_some()),
        encryption_certificate: certificate,
        authn_requests_signed: saml.sign_authn_requests,
        want_assertions_signed: true,
    };
    let xml = metadata
        .to_xml()
        .map_err(|e| Failure::login(Some(&id), &LoginError::Saml(e)))?;
    Ok(([(CONTENT_TYPE, "application/samlmetadata+xml")], xml).into_response())
}

async fn saml_login(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    Query(query): Query<StartQuery>,
) -> Result<Response, Failure> {
    let (connection_id, _) = connection_for(&shared, &id, true).await?;
    start(&shared, &id, &connection_id, query, SAML_BINDING_COOKIE).await
}

async fn oidc_login(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    Query(query): Query<StartQuery>,
) -> Result<Response, Failure> {
    let (connection_id, _) = connection_for(&shared, &id, false).await?;
    start(&shared, &id, &connection_id, query, OIDC_BINDING_COOKIE).await
}

async fn start(
    shared: &Shared,
    id: &str,
    connection: &ConnectionId,
    query: StartQuery,
    cookie: &'static str,
) -> Result<Response, Failure> {
    let mut request = LoginRequest::default();
    request.return_to = query.return_to;
    request.login_hint = query.login_hint;
    request.force_authn = query.force_authn;
    request.oidc_form_post = cookie == OIDC_BINDING_COOKIE && shared.config.oidc_form_post;
    let started = shared
        .login
        .start(connection, &request)
        .await
        .map_err(|e| Failure::login(Some(id), &e))?;
    tracing::info!(
        target: "gatehouse::login",
        connection = %connection,
        "login started"
    );
    let mut response = match started.action {
        BrowserAction::Redirect(url) => see_other(&url),
        BrowserAction::PostForm(page) => (StatusCode::OK, html_headers(), page).into_response(),
        _ => {
            return Err(Failure::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "login.action",
            ));
        }
    };
    let value = binding_cookie(
        &shared.config,
        cookie,
        started.browser_binding.expose_secret(),
    );
    if let Ok(v) = HeaderValue::from_str(&value) {
        response.headers_mut().append(SET_COOKIE, v);
    }
    Ok(response)
}

async fn saml_acs(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    request: Request,
) -> Result<Response, Failure> {
    let (connection_id, _) = connection_for(&shared, &id, true).await?;
    let binding = cookie_value(request.headers(), SAML_BINDING_COOKIE);
    let body = read_body(request.into_body()).await?;
    let mut saml_response = None;
    let mut relay_state = None;
    for (k, v) in url::form_urlencoded::parse(&body) {
        let slot = match k.as_ref() {
            "SAMLResponse" => &mut saml_response,
            "RelayState" => &mut relay_state,
            _ => continue,
        };
        if slot.is_some() {
            return Err(Failure::new(
                StatusCode::BAD_REQUEST,
                "login.duplicate_parameter",
            ));
        }
        *slot = Some(v.into_owned());
    }
    let Some(saml_response) = saml_response else {
        return Err(Failure::login(
            Some(&id),
            &LoginError::MissingParameter("SAMLResponse"),
        ));
    };
    let finished = shared
        .login
        .finish_saml(
            &connection_id,
            &saml_response,
            relay_state.as_deref().filter(|s| !s.is_empty()),
            binding.as_deref(),
        )
        .await
        .map_err(|e| Failure::login(Some(&id), &e))?;
    Ok(finish(&shared, finished, SAML_BINDING_COOKIE).await)
}

/// Starts an SP-initiated SAML logout from the host's own logout handler, for the SAML
/// session it is ending (typically [`SamlLogout::for_profile`] of the session's profile,
/// with a return target): the answer sends the browser to the IdP's single logout URL
/// with the signed LogoutRequest (a 303, or an auto-posting form for the HTTP-POST
/// binding). The IdP answers at `{prefix}/saml/{connection}/slo`, which hands the
/// confirmed logout to [`LoginHandler::logged_out`].
///
/// The subject and session come from the host's session, never from request parameters:
/// a logout route taking a NameID from the query would let anyone end anyone's IdP
/// session.
///
/// # Errors
/// The [`LoginError`] of [`LoginService::start_saml_logout`], such as
/// `logout.not_configured` for a connection without an IdP single logout URL.
pub async fn start_saml_logout(
    login: &LoginService,
    connection: &ConnectionId,
    logout: &SamlLogout,
) -> Result<Response, LoginError> {
    let started = login.start_saml_logout(connection, logout).await?;
    tracing::info!(target: "gatehouse::login", %connection, "SAML logout started");
    Ok(browser_action(started.action))
}

fn browser_action(action: BrowserAction) -> Response {
    match action {
        BrowserAction::Redirect(url) => see_other(&url),
        BrowserAction::PostForm(page) => (StatusCode::OK, html_headers(), page).into_response(),
        _ => Failure::new(StatusCode::INTERNAL_SERVER_ERROR, "login.action").into_response(),
    }
}

/// A logout message at the SLO route: which kind, its `RelayState`.
struct SloMessage {
    request: bool,
    field: String,
    relay_state: Option<String>,
}

/// Reads `SAMLRequest` or `SAMLResponse` (exactly one, once) and `RelayState` from form
/// or query parameters.
fn slo_message(params: &[u8]) -> Result<SloMessage, Failure> {
    let mut request = None;
    let mut response = None;
    let mut relay_state = None;
    for (k, v) in url::form_urlencoded::parse(params) {
        let slot = match k.as_ref() {
            "SAMLRequest" => &mut request,
            "SAMLResponse" => &mut response,
            "RelayState" => &mut relay_state,
            _ => continue,
        };
        if slot.is_some() {
            return Err(Failure::new(
                StatusCode::BAD_REQUEST,
                "login.duplicate_parameter",
            ));
        }
        *slot = Some(v.into_owned());
    }
    match (request, response) {
        (Some(field), None) => Ok(SloMessage {
            request: true,
            field,
            relay_state,
        }),
        (None, Some(field)) => Ok(SloMessage {
            request: false,
            field,
            relay_state,
        }),
        (None, None) => Err(Failure::login(
            None,
            &LoginError::MissingParameter("SAMLRequest or SAMLResponse"),
        )),
        (Some(_), Some(_)) => Err(Failure::new(
            StatusCode::BAD_REQUEST,
            "login.duplicate_parameter",
        )),
    }
}

async fn saml_slo_get(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    request: Request,
) -> Result<Response, Failure> {
    let query = request.uri().query().unwrap_or("").to_owned();
    let message = slo_message(query.as_bytes())?;
    saml_slo(&shared, &id, &message, SamlMessage::Redirect(&query)).await
}

async fn saml_slo_post(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    request: Request,
) -> Result<Response, Failure> {
    let body = read_body(request.into_body()).await?;
    let message = slo_message(&body)?;
    saml_slo(&shared, &id, &message, SamlMessage::Post(&message.field)).await
}

async fn saml_slo(
    shared: &Shared,
    id: &str,
    message: &SloMessage,
    received: SamlMessage<'_>,
) -> Result<Response, Failure> {
    let (connection_id, _) = connection_for(shared, id, true).await?;
    if !message.request {
        let finished = shared
            .login
            .finish_saml_logout_response(&connection_id, received)
            .await
            .map_err(|e| Failure::login(Some(id), &e))?;
        tracing::info!(
            target: "gatehouse::login",
            organization = %finished.organization,
            connection = %finished.connection,
            "SAML logout confirmed by the IdP"
        );
        return Ok(shared.handler.logged_out(finished).await);
    }
    let logout = shared
        .login
        .handle_idp_logout_request(&connection_id, received, message.relay_state.as_deref())
        .await
        .map_err(|e| Failure::login(Some(id), &e))?;
    if !shared.handler.logout(&logout).await {
        tracing::warn!(
            target: "gatehouse::login",
            connection = %logout.connection,
            reason = "logout.not_handled",
            "the host did not end the sessions of an IdP LogoutRequest"
        );
        return Err(Failure::new(
            StatusCode::NOT_IMPLEMENTED,
            "logout.not_handled",
        ));
    }
    tracing::info!(
        target: "gatehouse::login",
        organization = %logout.organization,
        connection = %logout.connection,
        sessions = logout.session_indexes.len(),
        "SAML logout from the IdP"
    );
    Ok(browser_action(logout.response))
}

async fn oidc_callback_get(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    request: Request,
) -> Result<Response, Failure> {
    let query = request.uri().query().unwrap_or("").as_bytes().to_vec();
    oidc_callback(&shared, &id, request.headers(), &query).await
}

async fn oidc_callback_post(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    request: Request,
) -> Result<Response, Failure> {
    let (parts, body) = request.into_parts();
    let body = read_body(body).await?;
    oidc_callback(&shared, &id, &parts.headers, &body).await
}

async fn oidc_callback(
    shared: &Shared,
    id: &str,
    headers: &HeaderMap,
    params: &[u8],
) -> Result<Response, Failure> {
    let (connection_id, _) = connection_for(shared, id, false).await?;
    let binding = cookie_value(headers, OIDC_BINDING_COOKIE);
    let finished = shared
        .login
        .finish_oidc(Some(&connection_id), params, binding.as_deref())
        .await
        .map_err(|e| Failure::login(Some(id), &e))?;
    Ok(finish(shared, finished, OIDC_BINDING_COOKIE).await)
}

async fn finish(shared: &Shared, finished: LoginFinished, cookie: &str) -> Response {
    tracing::info!(
        target: "gatehouse::login",
        organization = %finished.profile.organization,
        connection = %finished.profile.connection,
        "login finished"
    );
    let mut response = shared.handler.logged_in(finished).await;
    // The removal carries the attributes the cookie was set with.
    let expired = format!(
        "{cookie}=; Path=/; Max-Age=0; HttpOnly{}",
        if cross_site_post_cookie(&shared.config, cookie) {
            "; Secure; SameSite=None"
        } else if shared.config.dangerous_insecure_cookies_for_http_loopback {
            ""
        } else {
            "; Secure"
        }
    );
    if let Ok(v) = HeaderValue::from_str(&expired) {
        response.headers_mut().append(SET_COOKIE, v);
    }
    response
}

async fn read_body(body: Body) -> Result<bytes::Bytes, Failure> {
    to_bytes(body, MAX_LOGIN_BODY)
        .await
        .map_err(|_| Failure::new(StatusCode::PAYLOAD_TOO_LARGE, "login.body_too_large"))
}

fn see_other(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(v) => (
            StatusCode::SEE_OTHER,
            [
                (LOCATION, v),
                (CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
        )
            .into_response(),
        Err(_) => Failure::new(StatusCode::INTERNAL_SERVER_ERROR, "login.location").into_response(),
    }
}

/// Whether cookie `name` travels on a cross-site POST: the SAML binding (the IdP's POST to
/// the ACS) and the OIDC binding of a `form_post` login. Such a cookie is
/// `SameSite=None; Secure` in every mode.
fn cross_site_post_cookie(config: &SsoRouterConfig, name: &str) -> bool {
    name == SAML_BINDING_COOKIE || (config.oidc_form_post && name == OIDC_BINDING_COOKIE)
}

fn binding_cookie(config: &SsoRouterConfig, name: &str, value: &str) -> String {
    let max_age = config.binding_cookie_max_age.unwrap_or(600);
    let attributes = if cross_site_post_cookie(config, name) {
        // Also on plain-HTTP loopback: browsers drop `SameSite=None` without `Secure`.
        "Secure; SameSite=None"
    } else if config.dangerous_insecure_cookies_for_http_loopback {
        "SameSite=Lax"
    } else {
        "Secure; SameSite=Lax"
    };
    format!("{name}={value}; Path=/; Max-Age={max_age}; HttpOnly; {attributes}")
}

/// The value of cookie `name` in the request's `Cookie` headers; `None` when absent or
/// present more than once (a second value could be planted by a sibling domain).
pub(crate) fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    let mut found = None;
    for header in headers.get_all(COOKIE) {
        let Ok(text) = header.to_str() else { continue };
        for pair in text.split(';') {
            if let Some((k, v)) = pair.trim().split_once('=')
                && k == name
            {
                if found.is_some() {
                    return None;
                }
                found = Some(v.to_owned());
            }
        }
    }
    found
}

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attributes(config: &SsoRouterConfig, name: &str) -> String {
        binding_cookie(config, name, "v")
            .split_once("HttpOnly; ")
            .map(|(_, a)| a.to_owned())
            .unwrap_or_default()
    }

    #[test]
    fn binding_cookies_are_same_site_none_and_secure_where_they_travel_on_a_cross_site_post() {
        let mut config = SsoRouterConfig::default();
        assert_eq!(
            attributes(&config, OIDC_BINDING_COOKIE),
            "Secure; SameSite=Lax"
        );
        assert_eq!(
            attributes(&config, SAML_BINDING_COOKIE),
            "Secure; SameSite=None"
        );
        config.oidc_form_post = true;
        assert_eq!(
            attributes(&config, OIDC_BINDING_COOKIE),
            "Secure; SameSite=None"
        );
        // Loopback mode drops Secure, except where SameSite=None needs it.
        config.dangerous_insecure_cookies_for_http_loopback = true;
        assert_eq!(
            attributes(&config, OIDC_BINDING_COOKIE),
            "Secure; SameSite=None"
        );
        assert_eq!(
            attributes(&config, SAML_BINDING_COOKIE),
            "Secure; SameSite=None"
        );
        config.oidc_form_post = false;
        assert_eq!(attributes(&config, OIDC_BINDING_COOKIE), "SameSite=Lax");
    }
}
