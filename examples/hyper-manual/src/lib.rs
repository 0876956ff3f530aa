//! # gatehouse-hyper-manual
//!
//! The SAML and OpenID Connect sign-in of Gatehouse wired by hand into a plain hyper 1
//! service, without `gatehouse-sso-axum`: what a host on another framework writes. Three
//! routes for one SAML connection held in tenant-config's in-memory store:
//!
//! - `GET /saml/metadata`: the SP metadata (entity id and ACS URL for the IdP
//!   administrator), built with `saml_sp::SpMetadata` from the connection;
//! - `GET /saml/login?return_to=/x`: `LoginService::start`, answered with a 303 to the IdP
//!   and the browser-binding cookie (`HttpOnly; Secure; SameSite=None`, without `Secure`
//!   when the public URL is `http://`);
//! - `POST /saml/acs`: the form's `SAMLResponse` and `RelayState` and the cookie go to
//!   `LoginService::finish_saml`; success shows who signed in, failure the check's name.
//!
//!
//! and, after [`Manual::with_oidc`], two for one OpenID Connect connection:
//!
//! - `GET /oidc/login?return_to=/x`: `LoginService::start`, a 303 to the provider's
//!   authorization endpoint (code flow, PKCE, nonce) and the browser-binding cookie
//!   (`SameSite=Lax`: the provider redirects back with a top-level GET);
//! - `GET /oidc/callback`: the query and the cookie go to `LoginService::finish_oidc`.
//!
//! ## Limitations
//!
//! - One connection per protocol, in memory; no session is started (a real host would set
//!   its own cookie where the page is written).
//! - No home-realm discovery, no Single Logout and no `form_post` callback (see
//!   `gatehouse-sso-axum` for all three).

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use saml_sp::SpMetadata;
use tenant_config::{
    AttributeMapping, BrowserAction, ClaimMapping, Connection, ConnectionId, Domain, DomainName,
    EncryptionKey, InMemoryTenantStore, LoginRequest, LoginService, OidcConnection, Organization,
    Protocol, ProviderProfile, RedirectPolicy, SamlConnection, SecretString, TenantStore as _,
    Tenants, TrustedCertificate, Verification,
};
use tokio::net::TcpListener;

/// The binding cookie's name.
pub const COOKIE_NAME: &str = "manual_saml_login";
/// The OIDC binding cookie's name.
pub const OIDC_COOKIE_NAME: &str = "manual_oidc_login";
const MAX_BODY: usize = 512 * 1024;

/// The IdP this example trusts and the organization's email domain.
#[derive(Debug, Clone)]
pub struct IdpSettings {
    /// The IdP entity id.
    pub entity_id: String,
    /// The IdP's SSO URL (HTTP-Redirect).
    pub sso_url: String,
    /// The IdP's signing certificate (PEM).
    pub certificate_pem: String,
    /// The organization's verified email domain.
    pub domain: String,
    /// The SAML attribute holding the email.
    pub email_attribute: String,
}

/// The OpenID provider of [`Manual::with_oidc`].
#[derive(Clone)]
pub struct OidcSettings {
    /// The issuer; discovery reads `<issuer>/.well-known/openid-configuration`.
    pub issuer: String,
    /// The client id registered at the provider, with `{public_url}/oidc/callback` as its
    /// redirect URI.
    pub client_id: String,
    /// The client secret (`client_secret_basic`).
    pub client_secret: String,
}

impl std::fmt::Debug for OidcSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcSettings")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// The example's state: the login service and its connections.
pub struct Manual {
    login: LoginService,
    store: Arc<InMemoryTenantStore>,
    key: EncryptionKey,
    connection: Connection,
    oidc: Option<ConnectionId>,
    public_url: String,
}

impl std::fmt::Debug for Manual {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Manual")
            .field("public_url", &self.public_url)
            .finish_non_exhaustive()
    }
}

fn other(e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

impl Manual {
    /// An organization with `idp.domain` verified and one SAML connection to `idp`, its SP
    /// at `public_url` (such as `http://127.0.0.1:8090`).
    pub async fn new(idp: &IdpSettings, public_url: &str) -> std::io::Result<Self> {
        let public_url = public_url.trim_end_matches('/').to_owned();
        let store = Arc::new(InMemoryTenantStore::new());
        let tenants = Tenants::new(store.clone());
        let org = Organization::new("Example organization");
        tenants.save_organization(&org).await.map_err(other)?;
        store
            .insert_domain(&Domain {
                name: DomainName::new(idp.domain.clone()).map_err(other)?,
                organization: org.id.clone(),
                challenge: "configured".into(),
                verification: Verification::Verified {
                    at: time::OffsetDateTime::now_utc(),
                },
            })
            .await
            .map_err(other)?;
        let connection = Connection {
            id: ConnectionId::new("manual-saml").map_err(other)?,
            organization: org.id.clone(),
            name: "SAML IdP".into(),
            enabled: true,
            protocol: Protocol::Saml(SamlConnection {
                idp_entity_id: idp.entity_id.clone(),
                sso_url: idp.sso_url.clone(),
                metadata_url: None,
                trusted_certificates: vec![
                    TrustedCertificate::from_pem(&idp.certificate_pem).map_err(other)?,
                ],
                sp_entity_id: format!("{public_url}/saml/metadata"),
                acs_url: format!("{public_url}/saml/acs"),
                attribute_mapping: AttributeMapping {
                    email: Some(idp.email_attribute.clone()),
                    ..AttributeMapping::default()
                },
                allow_idp_initiated: false,
                sign_authn_requests: false,
                require_encrypted_assertions: false,
                allow_sha1_insecure: false,
                sp_key: None,
                slo_url: None,
                idp_slo_url: None,
                idp_slo_binding: Default::default(),
            }),
        };
        // Saved without the URL checks of `Tenants::save_connection`, which refuse the
        // plain-HTTP loopback SP this example runs as.
        store.save_connection(&connection).await.map_err(other)?;
        let key = EncryptionKey::new("manual", [9; 32]).map_err(other)?;
        let login = LoginService::new(
            tenants,
            store.clone(),
            store.clone(),
            RedirectPolicy::relative_only(),
            key.clone(),
        )
        .with_oidc_http(Arc::new(
            oidc_rp::http::ReqwestHttpClient::new().map_err(other)?,
        ));
        Ok(Self {
            login,
            store,
            key,
            connection,
            oidc: None,
            public_url,
        })
    }

    /// Adds an OpenID Connect connection to `provider` for the same organization.
    pub async fn with_oidc(mut self, provider: &OidcSettings) -> std::io::Result<Self> {
        let mut connection = Connection {
            id: ConnectionId::new("manual-oidc").map_err(other)?,
            organization: self.connection.organization.clone(),
            name: "OpenID provider".into(),
            enabled: true,
            protocol: Protocol::Oidc(OidcConnection {
                issuer: provider.issuer.clone(),
                client_id: provider.client_id.clone(),
                client_secret: None,
                redirect_uri: format!("{}/oidc/callback", self.public_url),
                scopes: vec!["openid".into(), "email".into(), "profile".into()],
                claim_mapping: ClaimMapping::default(),
                profile: ProviderProfile::Generic,
                accept_email_verified_as_string: false,
            }),
        };
        // The client secret is stored encrypted, under the connection's own context.
        let secret = self.key.encrypt(
            &SecretString::new(provider.client_secret.clone()),
            &connection.secret_context("oidc.client_secret"),
        );
        if let Protocol::Oidc(o) = &mut connection.protocol {
            o.client_secret = Some(secret);
        }
        // Saved without `Tenants::save_connection`'s https check, for a loopback provider.
        self.store
            .save_connection(&connection)
            .await
            .map_err(other)?;
        self.oidc = Some(connection.id);
        Ok(self)
    }

    /// Answers one request.
    pub async fn handle(&self, request: Request<Incoming>) -> Response<Full<Bytes>> {
        match (request.method(), request.uri().path()) {
            (&Method::GET, "/saml/metadata") => self.metadata(),
            (&Method::GET, "/saml/login") => {
                let id = self.connection.id.clone();
                self.start(&id, COOKIE_NAME, request.uri().query()).await
            }
            (&Method::POST, "/saml/acs") => self.acs(request).await,
            (&Method::GET, "/oidc/login") => match self.oidc.clone() {
                Some(id) => {
                    self.start(&id, OIDC_COOKIE_NAME, request.uri().query())
                        .await
                }
                None => text(StatusCode::NOT_FOUND, "text/plain", "no OIDC".into()),
            },
            (&Method::GET, "/oidc/callback") => self.callback(&request).await,
            _ => text(StatusCode::NOT_FOUND, "text/plain", "not found".into()),
        }
    }

    fn saml(&self) -> Option<&SamlConnection> {
        match &self.connection.protocol {
            Protocol::Saml(s) => Some(s),
            _ => None,
        }
    }

    fn metadata(&self) -> Response<Full<Bytes>> {
        let Some(saml) = self.saml() else {
            return text(StatusCode::NOT_FOUND, "text/plain", "no SAML".into());
        };
        let metadata = SpMetadata {
            entity_id: saml.sp_entity_id.clone(),
            acs_urls: vec![saml.acs_url.clone()],
            slo_url: None,
            name_id_format: None,
            signing_certificate: None,
            encryption_certificate: None,
            authn_requests_signed: false,
            want_assertions_signed: true,
        };
        match metadata.to_xml() {
            Ok(xml) => text(StatusCode::OK, "application/samlmetadata+xml", xml),
            Err(e) => failure(&format!("saml.{}", e.check())),
        }
    }

    async fn start(
        &self,
        connection: &ConnectionId,
        cookie_name: &str,
        query: Option<&str>,
    ) -> Response<Full<Bytes>> {
        let mut request = LoginRequest::default();
        request.return_to = url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
            .find(|(k, _)| k == "return_to")
            .map(|(_, v)| v.into_owned());
        let started = match self.login.start(connection, &request).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(reason = %e.reason(), error = %e, "login start failed");
                return failure(&e.reason());
            }
        };
        let BrowserAction::Redirect(to) = &started.action else {
            return failure("login.action");
        };
        // SAML: the IdP's form POST to the ACS is cross-site, so the cookie must be
        // `SameSite=None` (which needs `Secure`); OIDC: the callback is a top-level GET.
        let secure = match (self.public_url.starts_with("http://"), cookie_name) {
            (true, _) => "SameSite=Lax",
            (false, COOKIE_NAME) => "Secure; SameSite=None",
            (false, _) => "Secure; SameSite=Lax",
        };
        let cookie = format!(
            "{cookie_name}={}; Path=/; Max-Age=600; HttpOnly; {secure}",
            started.browser_binding.expose_secret()
        );
        Response::builder()
            .status(StatusCode::SEE_OTHER)
            .header(LOCATION, to)
            .header(SET_COOKIE, cookie)
            .body(Full::new(Bytes::new()))
            .unwrap_or_else(|_| failure("login.response"))
    }

    async fn callback(&self, request: &Request<Incoming>) -> Response<Full<Bytes>> {
        let Some(id) = &self.oidc else {
            return text(StatusCode::NOT_FOUND, "text/plain", "no OIDC".into());
        };
        let binding = cookie(request, OIDC_COOKIE_NAME);
        let query = request.uri().query().unwrap_or("");
        let finished = self
            .login
            .finish_oidc(Some(id), query.as_bytes(), binding.as_deref())
            .await;
        signed_in(finished)
    }

    async fn acs(&self, request: Request<Incoming>) -> Response<Full<Bytes>> {
        let binding = cookie(&request, COOKIE_NAME);
        let body = match Limited::new(request.into_body(), MAX_BODY).collect().await {
            Ok(b) => b.to_bytes(),
            Err(_) => return failure("login.body_too_large"),
        };
        let mut saml_response = None;
        let mut relay_state = None;
        for (k, v) in url::form_urlencoded::parse(&body) {
            match k.as_ref() {
                "SAMLResponse" => saml_response = Some(v.into_owned()),
                "RelayState" => relay_state = Some(v.into_owned()),
                _ => {}
            }
        }
        let Some(saml_response) = saml_response else {
            return failure("login.missing_parameter");
        };
        let finished = self
            .login
            .finish_saml(
                &self.connection.id,
                &saml_response,
                relay_state.as_deref(),
                binding.as_deref(),
            )
            .await;
        signed_in(finished)
    }
}

/// The value of the request's cookie `name`.
fn cookie<B>(request: &Request<B>, name: &str) -> Option<String> {
    request
        .headers()
        .get_all(COOKIE)
        .iter()
        .filter_map(|h| h.to_str().ok())
        .flat_map(|h| h.split(';'))
        .filter_map(|p| p.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// The page of a finished login: who signed in, or the failed check's name.
fn signed_in(
    finished: Result<tenant_config::LoginFinished, tenant_config::LoginError>,
) -> Response<Full<Bytes>> {
    match finished {
        Ok(done) => {
            let who = done.profile.email.unwrap_or(done.profile.subject);
            tracing::info!(connection = %done.profile.connection, "login finished");
            text(
                StatusCode::OK,
                "text/plain; charset=utf-8",
                format!(
                    "signed in: {who} (return to {})",
                    done.return_to.as_deref().unwrap_or("/")
                ),
            )
        }
        Err(e) => {
            tracing::warn!(reason = %e.reason(), error = %e, "login failed");
            failure(&e.reason())
        }
    }
}

fn text(status: StatusCode, content_type: &str, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    if let Ok(v) = content_type.parse() {
        response.headers_mut().insert(CONTENT_TYPE, v);
    }
    response
}

fn failure(reason: &str) -> Response<Full<Bytes>> {
    text(
        StatusCode::FORBIDDEN,
        "text/plain; charset=utf-8",
        format!("sign-in failed: {reason}"),
    )
}

/// Serves `manual` on `listener`, one task per connection, until the task is dropped.
pub async fn serve(manual: Arc<Manual>, listener: TcpListener) -> std::io::Result<()> {
    loop {
        let (stream, _) = listener.accept().await?;
        let manual = manual.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let manual = manual.clone();
                async move { Ok::<_, Infallible>(manual.handle(request).await) }
            });
            if let Err(e) = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(error = %e, "connection ended");
            }
        });
    }
}
