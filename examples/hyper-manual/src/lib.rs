//! # gatehouse-hyper-manual
//!
//! The SAML sign-in of Gatehouse wired by hand into a plain hyper 1 service, without
//! `gatehouse-sso-axum`: what a host on another framework writes. Three routes for one SAML
//! connection held in tenant-config's in-memory store:
//!
//! - `GET /saml/metadata`: the SP metadata (entity id and ACS URL for the IdP
//!   administrator), built with `saml_sp::SpMetadata` from the connection;
//! - `GET /saml/login?return_to=/x`: `LoginService::start`, answered with a 303 to the IdP
//!   and the browser-binding cookie (`HttpOnly; Secure; SameSite=None`, without `Secure`
//!   when the public URL is `http://`);
//! - `POST /saml/acs`: the form's `SAMLResponse` and `RelayState` and the cookie go to
//!   `LoginService::finish_saml`; success shows who signed in, failure the check's name.
//!
//! ## Limitations
//!
//! - One connection, in memory; no session is started (a real host would set its own
//!   cookie where the page is written).
//! - No OIDC routes and no home-realm discovery (see `gatehouse-sso-axum` for both).

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
    AttributeMapping, BrowserAction, Connection, ConnectionId, Domain, DomainName, EncryptionKey,
    InMemoryTenantStore, LoginRequest, LoginService, Organization, Protocol, RedirectPolicy,
    SamlConnection, TenantStore as _, Tenants, TrustedCertificate, Verification,
};
use tokio::net::TcpListener;

/// The binding cookie's name.
pub const COOKIE_NAME: &str = "manual_saml_login";
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

/// The example's state: the login service and the one connection.
pub struct Manual {
    login: LoginService,
    connection: Connection,
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
            store,
            RedirectPolicy::relative_only(),
            key,
        );
        Ok(Self {
            login,
            connection,
            public_url,
        })
    }

    /// Answers one request.
    pub async fn handle(&self, request: Request<Incoming>) -> Response<Full<Bytes>> {
        match (request.method(), request.uri().path()) {
            (&Method::GET, "/saml/metadata") => self.metadata(),
            (&Method::GET, "/saml/login") => self.start(request.uri().query()).await,
            (&Method::POST, "/saml/acs") => self.acs(request).await,
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

    async fn start(&self, query: Option<&str>) -> Response<Full<Bytes>> {
        let mut request = LoginRequest::default();
        request.return_to = url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
            .find(|(k, _)| k == "return_to")
            .map(|(_, v)| v.into_owned());
        let started = match self.login.start(&self.connection.id, &request).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(reason = %e.reason(), error = %e, "login start failed");
                return failure(&e.reason());
            }
        };
        let BrowserAction::Redirect(to) = &started.action else {
            return failure("login.action");
        };
        let secure = if self.public_url.starts_with("http://") {
            "SameSite=Lax"
        } else {
            "Secure; SameSite=None"
        };
        let cookie = format!(
            "{COOKIE_NAME}={}; Path=/; Max-Age=600; HttpOnly; {secure}",
            started.browser_binding.expose_secret()
        );
        Response::builder()
            .status(StatusCode::SEE_OTHER)
            .header(LOCATION, to)
            .header(SET_COOKIE, cookie)
            .body(Full::new(Bytes::new()))
            .unwrap_or_else(|_| failure("login.response"))
    }

    async fn acs(&self, request: Request<Incoming>) -> Response<Full<Bytes>> {
        let binding = request
            .headers()
            .get_all(COOKIE)
            .iter()
            .filter_map(|h| h.to_str().ok())
            .flat_map(|h| h.split(';'))
            .filter_map(|p| p.trim().split_once('='))
            .find(|(k, _)| *k == COOKIE_NAME)
            .map(|(_, v)| v.to_owned());
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
        match self
            .login
            .finish_saml(
                &self.connection.id,
                &saml_response,
                relay_state.as_deref(),
                binding.as_deref(),
            )
            .await
        {
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
