//! # gatehouse-demo
//!
//! A runnable Gatehouse server for the organizations of a TOML file: sign-in with a work
//! email (home-realm discovery to the organization's SAML or OpenID Connect connection), a
//! profile page with what the login asserted, an admin page per organization (what the
//! IdP administrator enters, the SCIM URL and token rotation, the provisioned users and
//! groups), and SCIM 2.0 per directory. Everything lives in one SQL database
//! (`gatehouse-store-sql`): an SQLite file by default, so that what is provisioned survives
//! a restart, or Postgres. `cargo run -p gatehouse-demo` serves the shipped
//! `examples/demo/demo.toml` at `http://127.0.0.1:8080/` with the SQLite file
//! `gatehouse-demo.db`.
//!
//! The library target lets tests start the same server in-process with [`serve`].
//!
//! ## Quick start
//!
//! ```text
//! cargo run -p gatehouse-demo                                  # SQLite ./gatehouse-demo.db
//! cargo run -p gatehouse-demo -- --config my.toml --listen 127.0.0.1:8080 \
//!     --database postgres://user@127.0.0.1:5432/gatehouse       # or Postgres
//! ```
//!
//! Then open `http://127.0.0.1:8080/`, sign in with a work email of a configured domain,
//! and point an IdP's SCIM client at `http://127.0.0.1:8080/scim/v2` with the directory's
//! token. In-process (as the tests do): [`open_database`] then [`serve_with_shutdown`]
//! on a bound listener. The configuration file is described in the workspace README
//! ("The demo").
//!
//! ## Design
//!
//! - One [`app`] router: the demo's pages (`/`, `/profile`, `/logout`, `/admin/{org}`),
//!   `gatehouse-sso-axum`'s sign-in routes nested at [`SSO_PREFIX`], and its SCIM routes
//!   merged at `/scim/v2` with tenant-config's token lookup (`TenantDirectories`).
//! - At every start the organizations, domains, connections and SCIM directories of the
//!   TOML file are saved into the store (the connections again each time; a directory's
//!   configured token only when it has none); users, groups and rotated tokens are the
//!   store's and survive a restart, on SQLite as on Postgres.
//! - A finished login becomes an in-memory session (its id, two random UUIDs, in
//!   [`SESSION_COOKIE`]) whose profile page shows what the login asserted; an IdP
//!   LogoutRequest ends the sessions it names (by NameID and session index).
//! - Every request runs under one correlation id, handed to the sign-in routes so that a
//!   failure page and the log line show the same id.
//!
//! ## Security checks
//!
//! The protocol checks are the libraries' (see `gatehouse-sso-axum`, `gatehouse-saml-sp`,
//! `gatehouse-oidc-rp`, `gatehouse-tenant-config`); the demo keeps their defaults and adds:
//!
//! - `return_to` after a login is checked with `RedirectPolicy::relative_only()`: only
//!   paths on the demo itself.
//! - The session cookie is `HttpOnly; SameSite=Lax`, `Secure` whenever the public URL is
//!   not `http://`; "Sign out" is a POST, so another site cannot sign the user out. The
//!   sign-in routes' loopback cookie option
//!   (`dangerous_insecure_cookies_for_http_loopback`) is set only for an `http://` public
//!   URL.
//! - OIDC client secrets and SP private keys are stored encrypted (tenant-config's
//!   `EncryptionKey`, bound to the connection and field); SCIM tokens are stored only as
//!   SHA-256 hashes (the configuration may give just `token_sha256`), and a rotated token
//!   is shown once on the admin page.
//! - The pages HTML-escape what they print from the configuration, the login and the
//!   directory.
//! - Logs name organizations, connections and subjects, never tokens, secrets or SAML
//!   messages.
//!
//! ## Limitations
//!
//! - The admin pages have no sign-in of their own and the token rotation button no CSRF
//!   token: the demo is meant for loopback only.
//! - Sessions are held in memory and lost on restart; the binding and session cookies are
//!   not `Secure` when the public URL is `http://` (loopback development), except the SAML
//!   binding cookie and the OIDC one with `oidc_response_mode = "form_post"`, which must be
//!   `SameSite=None; Secure` to come back with the IdP's cross-site POST: Chromium keeps
//!   such a cookie on `http://localhost` and `http://127.0.0.1` (the browser tests show it,
//!   with oidc-provider and SimpleSAMLphp), browsers that do not count loopback as secure
//!   drop it and the login fails with `login.browser_binding`.
//! - The OIDC response mode is one for all connections of the file.
//! - Domains in the configuration are taken as verified without a DNS check, and connections
//!   are saved without the URL checks of `Tenants::save_connection` (which refuse the
//!   plain-HTTP loopback identity providers of a local demo).
//! - Single Logout is SAML only, on connections with an `idp_slo_url` (HTTP-Redirect), with an
//!   SP key made at every start (so the IdP must re-read the SP metadata after a restart);
//!   "Sign out" of an OIDC session, or of a SAML one without it, ends the local session only.
//! - `idp_metadata` is read once at start-up, inline only (no file or URL, no refresh), its
//!   signature is not checked, and only its first signing certificate is trusted. The SP key
//!   pair (`sp_private_key`) is read inline from the configuration file.
//! - The encryption key of stored secrets (OIDC client secrets) is random per process; the
//!   connections are saved again from the configuration at every start.
//! - A SCIM token from the configuration seeds a directory that has no token yet; after a
//!   rotation on the admin page the configured token no longer opens it.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, Request, State};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use http::header::{COOKIE, LOCATION, SET_COOKIE};
use http::{HeaderValue, StatusCode};
use scim_core::{ScimConfig, ScimService};
use serde_json::Value;
use sso_axum::{
    DEFAULT_MOUNT_PATH, LoginHandler, ScimRouterConfig, SsoRouterConfig, TenantDirectories,
    scim_router_at, sso_router, start_saml_logout,
};
use store_sql::SqlStore;
use tenant_config::{
    AttributeMapping, ClaimMapping, Connection, ConnectionId, DirectoryId, Domain, DomainName,
    EncryptionKey, IdpLogout, LoginFinished, LoginService, LoginSettings, OidcConnection,
    OrganizationId, Protocol, ProviderProfile, RedirectPolicy, SamlConnection, SamlLogout,
    ScimDirectory, SecretString, SpKeyPair, SsoProtocol, StoredToken, TenantStore, Tenants,
    TokenId, TrustedCertificate, Verification,
};
use tokio::net::TcpListener;
use uuid::Uuid;

mod config;

pub use config::{
    ConfigError, ConnectionConfig, ConnectionProtocol, DemoConfig, DirectoryConfig, Organization,
    SamlBinding,
};

/// The default database of `cargo run -p gatehouse-demo`: an SQLite file in the current
/// directory, created on first use.
pub const DEFAULT_DATABASE: &str = "sqlite://gatehouse-demo.db?mode=rwc";

/// Where the sign-in routes are mounted.
pub const SSO_PREFIX: &str = "/sso";

/// The demo's session cookie.
pub const SESSION_COOKIE: &str = "gatehouse_demo_session";

/// Opens the demo's database: an `sqlite:` or `postgres:` URL. Migrations run on open.
pub async fn open_database(url: &str) -> std::io::Result<SqlStore> {
    SqlStore::connect(url)
        .await
        .map_err(|e| std::io::Error::other(format!("cannot open the database: {e}")))
}

fn invalid(what: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidInput, what.to_string())
}

struct App {
    tenants: Tenants,
    store: SqlStore,
    config: DemoConfig,
    base: String,
    sessions: Arc<Mutex<HashMap<String, LoginFinished>>>,
    login: Arc<LoginService>,
    secure_cookies: bool,
}

/// The demo application at `public_url` (such as `http://127.0.0.1:8080`): the
/// organizations, domains, connections and directories of `config` are saved into `store`,
/// then the pages, the sign-in routes at [`SSO_PREFIX`] and SCIM at `/scim/v2` are served.
pub async fn app(
    config: &DemoConfig,
    store: &SqlStore,
    public_url: &str,
) -> std::io::Result<Router> {
    let base = public_url.trim_end_matches('/').to_owned();
    let tenants = Tenants::new(Arc::new(store.clone()));
    let mut key = [0u8; 32];
    key[..16].copy_from_slice(Uuid::new_v4().as_bytes());
    key[16..].copy_from_slice(Uuid::new_v4().as_bytes());
    let key = EncryptionKey::new("demo-process-key", key).map_err(invalid)?;
    seed(config, store, &key, &base).await?;

    let http = oidc_rp::http::ReqwestHttpClient::new().map_err(std::io::Error::other)?;
    let login = LoginService::new(
        tenants.clone(),
        Arc::new(store.clone()),
        Arc::new(store.clone()),
        RedirectPolicy::relative_only(),
        key,
    )
    .with_oidc_http(Arc::new(http))
    .with_settings({
        let mut settings = LoginSettings::default();
        settings.saml_binding = match config.saml_binding {
            SamlBinding::Redirect => tenant_config::SamlBinding::Redirect,
            SamlBinding::Post => tenant_config::SamlBinding::Post,
        };
        settings
    });

    let secure_cookies = !base.starts_with("http://");
    let sessions: Arc<Mutex<HashMap<String, LoginFinished>>> = Arc::default();
    let handler = DemoHandler {
        sessions: sessions.clone(),
        secure: secure_cookies,
    };
    let login = Arc::new(login);
    let mut sso_config = SsoRouterConfig::default();
    sso_config.dangerous_insecure_cookies_for_http_loopback = !secure_cookies;
    sso_config.oidc_form_post = config.oidc_form_post;

    let stores = store.clone();
    let directories = TenantDirectories::new(
        tenants.clone(),
        ScimConfig::default(),
        Arc::new(move |d: &DirectoryId| {
            Arc::new(stores.resource_store(d)) as Arc<dyn scim_core::store::ResourceStore>
        }),
    );
    let scim_config = ScimRouterConfig {
        public_base_url: config.public_base_url.clone(),
        mount_path: DEFAULT_MOUNT_PATH.to_owned(),
    };
    let state = Arc::new(App {
        tenants: tenants.clone(),
        store: store.clone(),
        config: config.clone(),
        base,
        sessions,
        login: login.clone(),
        secure_cookies,
    });

    Ok(Router::new()
        .route("/", get(index))
        .route("/profile", get(profile))
        .route("/logout", post(logout))
        .route("/admin/{org}", get(admin))
        .route("/admin/{org}/scim-token", post(rotate_token))
        .with_state(state)
        .nest(
            SSO_PREFIX,
            sso_router(login, tenants, Arc::new(handler), sso_config),
        )
        // Merged, not nested, so that `/scim/v2/` reaches the SCIM routes too.
        .merge(scim_router_at(Arc::new(directories), scim_config))
        .layer(middleware::from_fn(log_request)))
}

/// Logs every request with a correlation id (also sent back in `x-correlation-id` unless
/// the SCIM routes set their own).
async fn log_request(mut request: Request, next: Next) -> Response {
    let correlation_id = Uuid::new_v4();
    // The sign-in routes log and show the same id.
    request
        .extensions_mut()
        .insert(sso_axum::CorrelationId(correlation_id));
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let span = tracing::info_span!("request", %correlation_id, %method, %path);
    let mut response = tracing::Instrument::instrument(next.run(request), span.clone()).await;
    span.in_scope(|| tracing::info!(status = response.status().as_u16(), "request served"));
    if !response
        .headers()
        .contains_key(sso_axum::CORRELATION_ID_HEADER)
        && let Ok(v) = HeaderValue::from_str(&correlation_id.to_string())
    {
        response
            .headers_mut()
            .insert(sso_axum::CORRELATION_ID_HEADER, v);
    }
    response
}

/// Saves the configuration's tenants into the store.
async fn seed(
    config: &DemoConfig,
    store: &SqlStore,
    key: &EncryptionKey,
    base: &str,
) -> std::io::Result<()> {
    let err = |e: tenant_config::TenantError| std::io::Error::other(e.to_string());
    let now = time::OffsetDateTime::now_utc();
    for org in &config.organizations {
        let org_id = OrganizationId::new(org.id.clone()).map_err(invalid)?;
        let mut record = tenant_config::Organization::new(org.name.clone());
        record.id = org_id.clone();
        record.enforce_email_domains = org.enforce_email_domains;
        store.save_organization(&record).await.map_err(err)?;
        for domain in &org.domains {
            let name = DomainName::new(domain.clone()).map_err(invalid)?;
            let verified = Domain {
                name: name.clone(),
                organization: org_id.clone(),
                challenge: "configured".into(),
                verification: Verification::Verified { at: now },
            };
            match store.domain(&name).await.map_err(err)? {
                Some(_) => store.update_domain(&verified).await.map_err(err)?,
                None => store.insert_domain(&verified).await.map_err(err)?,
            }
        }
        for c in &org.connections {
            let connection = connection(org_id.clone(), c, key, base)?;
            // Saved without `Tenants::save_connection`'s URL checks, which refuse the
            // plain-HTTP loopback identity providers a local demo runs against.
            store.save_connection(&connection).await.map_err(err)?;
        }
        let directory_id = DirectoryId::new(org.scim.directory_id.clone()).map_err(invalid)?;
        store
            .save_directory(&ScimDirectory {
                id: directory_id.clone(),
                organization: org_id.clone(),
                name: format!("{} directory", org.name),
                enabled: true,
            })
            .await
            .map_err(err)?;
        if store
            .tokens_of(&directory_id)
            .await
            .map_err(err)?
            .is_empty()
        {
            store
                .insert_token(&StoredToken {
                    id: TokenId::generate(),
                    directory: directory_id,
                    hash: org.scim.token_hash,
                    created_at: now,
                    expires_at: None,
                })
                .await
                .map_err(err)?;
        }
    }
    Ok(())
}

fn connection(
    organization: OrganizationId,
    c: &ConnectionConfig,
    key: &EncryptionKey,
    base: &str,
) -> std::io::Result<Connection> {
    let id = ConnectionId::new(c.id.clone()).map_err(invalid)?;
    let protocol = match &c.protocol {
        ConnectionProtocol::Saml {
            idp_entity_id,
            sso_url,
            idp_certificate,
            allow_idp_initiated,
            require_encrypted_assertions,
            attributes,
            idp_slo_url,
            ..
        } => {
            let pem = idp_certificate
                .as_deref()
                .ok_or_else(|| invalid(format!("connection {id}: no idp_certificate")))?;
            let certificate = TrustedCertificate::from_pem(pem)
                .map_err(|e| invalid(format!("connection {id}: {e}")))?;
            let mut mapping = AttributeMapping {
                email: attributes.get("email").cloned(),
                given_name: attributes.get("given_name").cloned(),
                family_name: attributes.get("family_name").cloned(),
                groups: attributes.get("groups").cloned(),
                ..AttributeMapping::default()
            };
            if let Some(display) = attributes.get("display_name") {
                mapping.extra.insert("display_name".into(), display.clone());
            }
            Protocol::Saml(SamlConnection {
                idp_entity_id: idp_entity_id.clone(),
                sso_url: sso_url.clone(),
                metadata_url: None,
                trusted_certificates: vec![certificate],
                sp_entity_id: format!("{base}{SSO_PREFIX}/saml/{id}/metadata"),
                acs_url: format!("{base}{SSO_PREFIX}/saml/{id}/acs"),
                attribute_mapping: mapping,
                allow_idp_initiated: *allow_idp_initiated,
                sign_authn_requests: false,
                require_encrypted_assertions: *require_encrypted_assertions,
                allow_sha1_insecure: false,
                // Set below, once the connection's secret context exists.
                sp_key: None,
                slo_url: idp_slo_url
                    .as_ref()
                    .map(|_| format!("{base}{SSO_PREFIX}/saml/{id}/slo")),
                idp_slo_url: idp_slo_url.clone(),
                idp_slo_binding: tenant_config::SamlBinding::Redirect,
            })
        }
        ConnectionProtocol::Oidc {
            issuer,
            client_id,
            scopes,
            ..
        } => Protocol::Oidc(OidcConnection {
            issuer: issuer.clone(),
            client_id: client_id.clone(),
            client_secret: None,
            redirect_uri: format!("{base}{SSO_PREFIX}/oidc/{id}/callback"),
            scopes: scopes.clone(),
            claim_mapping: ClaimMapping::default(),
            profile: ProviderProfile::Generic,
            accept_email_verified_as_string: false,
        }),
    };
    let mut connection = Connection {
        id,
        organization,
        name: c.name.clone(),
        enabled: c.enabled,
        protocol,
    };
    if let ConnectionProtocol::Saml {
        idp_slo_url: Some(_),
        ..
    } = &c.protocol
    {
        // Logout messages are signed: a fresh SP key, published in the SP metadata.
        let (key_pem, cert_pem) = sp_key_pair(&connection.id)?;
        let private_key = key.encrypt(
            &SecretString::new(key_pem),
            &connection.secret_context("saml.sp_private_key"),
        );
        let certificate = TrustedCertificate::from_pem(&cert_pem).map_err(invalid)?;
        if let Protocol::Saml(s) = &mut connection.protocol {
            s.sp_key = Some(SpKeyPair {
                certificate,
                private_key,
            });
        }
    }
    if let ConnectionProtocol::Oidc {
        client_secret: Some(secret),
        ..
    } = &c.protocol
    {
        let encrypted = key.encrypt(
            &SecretString::new(secret.clone()),
            &connection.secret_context("oidc.client_secret"),
        );
        if let Protocol::Oidc(o) = &mut connection.protocol {
            o.client_secret = Some(encrypted);
        }
    }
    if let ConnectionProtocol::Saml {
        sp_certificate: Some(certificate),
        sp_private_key: Some(private_key),
        ..
    } = &c.protocol
    {
        let certificate = TrustedCertificate::from_pem(certificate)
            .map_err(|e| invalid(format!("connection {}: sp_certificate: {e}", c.id)))?;
        let private_key = key.encrypt(
            &SecretString::new(private_key.clone()),
            &connection.secret_context("saml.sp_private_key"),
        );
        if let Protocol::Saml(s) = &mut connection.protocol {
            s.sp_key = Some(SpKeyPair {
                certificate,
                private_key,
            });
        }
    }
    Ok(connection)
}

/// An RSA key (PKCS#8 PEM) and a self-signed certificate (PEM) for a connection's SP,
/// made by `saml_sp::metadata::generate_sp_credentials`.
fn sp_key_pair(id: &ConnectionId) -> std::io::Result<(String, String)> {
    let credentials =
        saml_sp::metadata::generate_sp_credentials(&format!("gatehouse demo SP {id}"), 365)
            .map_err(std::io::Error::other)?;
    let certificate = credentials
        .certificate()
        .ok_or_else(|| std::io::Error::other("generated SP credentials have no certificate"))?;
    let pem = |bytes: Vec<u8>| String::from_utf8_lossy(&bytes).into_owned();
    Ok((
        pem(credentials
            .private_key()
            .private_key_to_pem_pkcs8()
            .map_err(std::io::Error::other)?),
        pem(certificate.to_pem().map_err(std::io::Error::other)?),
    ))
}

/// The demo's [`LoginHandler`]: a finished login starts a session; an IdP LogoutRequest
/// ends the sessions it names.
struct DemoHandler {
    sessions: Arc<Mutex<HashMap<String, LoginFinished>>>,
    secure: bool,
}

#[async_trait::async_trait]
impl LoginHandler for DemoHandler {
    async fn logged_in(&self, finished: LoginFinished) -> Response {
        start_session(&self.sessions, finished, self.secure)
    }

    async fn logout(&self, logout: &IdpLogout) -> bool {
        let mut sessions = self
            .sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let before = sessions.len();
        sessions.retain(|_, f| {
            let p = &f.profile;
            let named = p.connection == logout.connection
                && p.subject == logout.subject
                && (logout.session_indexes.is_empty()
                    || p.session_index
                        .as_ref()
                        .is_some_and(|s| logout.session_indexes.contains(s)));
            !named
        });
        tracing::info!(
            connection = %logout.connection,
            ended = before - sessions.len(),
            "demo sessions ended by the IdP"
        );
        true
    }
}

fn start_session(
    sessions: &Mutex<HashMap<String, LoginFinished>>,
    finished: LoginFinished,
    secure: bool,
) -> Response {
    let id = format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple());
    let to = finished
        .return_to
        .clone()
        .unwrap_or_else(|| "/profile".into());
    tracing::info!(
        organization = %finished.profile.organization,
        connection = %finished.profile.connection,
        subject = %finished.profile.subject,
        "demo session started"
    );
    sessions
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(id.clone(), finished);
    let cookie = format!(
        "{SESSION_COOKIE}={id}; Path=/; HttpOnly; SameSite=Lax{}",
        if secure { "; Secure" } else { "" }
    );
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let (Ok(c), Ok(l)) = (HeaderValue::from_str(&cookie), HeaderValue::from_str(&to)) {
        response.headers_mut().insert(SET_COOKIE, c);
        response.headers_mut().insert(LOCATION, l);
    }
    response
}

fn session(app: &App, request: &http::HeaderMap) -> Option<LoginFinished> {
    let id = session_id(request)?;
    app.sessions
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .get(&id)
        .cloned()
}

fn session_id(request: &http::HeaderMap) -> Option<String> {
    request
        .get_all(COOKIE)
        .iter()
        .filter_map(|h| h.to_str().ok())
        .flat_map(|h| h.split(';'))
        .filter_map(|p| p.trim().split_once('='))
        .find(|(k, _)| *k == SESSION_COOKIE)
        .map(|(_, v)| v.to_owned())
}

/// "Sign out": ends the local session, then for a SAML session on a connection with an IdP
/// logout URL sends the browser to the IdP with a LogoutRequest (the IdP's answer comes
/// back to the SLO route, which redirects to `/`); otherwise straight to `/`. A POST with
/// a `SameSite=Lax` session cookie, so another site cannot sign the user out.
async fn logout(State(app): State<Arc<App>>, request: Request) -> Response {
    let removed = session_id(request.headers()).and_then(|id| {
        app.sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&id)
    });
    let mut response = match removed {
        Some(finished) if finished.profile.protocol == SsoProtocol::Saml => {
            let p = &finished.profile;
            let slo = match app.tenants.store().connection(&p.connection).await {
                Ok(Some(Connection {
                    protocol: Protocol::Saml(s),
                    ..
                })) => s.idp_slo_url.is_some(),
                _ => false,
            };
            if slo {
                let request = SamlLogout::for_profile(p).returning_to("/");
                match start_saml_logout(&app.login, &p.connection, &request).await {
                    Ok(r) => r,
                    Err(e) => {
                        tracing::warn!(reason = %e.reason(), error = %e, "SAML logout not started");
                        (StatusCode::SEE_OTHER, [(LOCATION, "/")]).into_response()
                    }
                }
            } else {
                (StatusCode::SEE_OTHER, [(LOCATION, "/")]).into_response()
            }
        }
        _ => (StatusCode::SEE_OTHER, [(LOCATION, "/")]).into_response(),
    };
    let cookie = format!(
        "{SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax{}",
        if app.secure_cookies { "; Secure" } else { "" }
    );
    if let Ok(c) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(SET_COOKIE, c);
    }
    response
}

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html>\n<html><head><title>{t}</title></head><body>\n<h1>{t}</h1>\n{body}\n\
         <p><a href=\"/\">Home</a></p>\n</body></html>\n",
        t = escape_html(title)
    ))
}

async fn index(State(app): State<Arc<App>>) -> Html<String> {
    let mut items = String::new();
    for org in &app.config.organizations {
        items.push_str(&format!(
            "<li>{} (<code>{}</code>): domains {}; SCIM directory <code>{}</code>; \
             <a href=\"/admin/{}\">admin page</a></li>\n",
            escape_html(&org.name),
            escape_html(&org.id),
            escape_html(&org.domains.join(", ")),
            escape_html(&org.scim.directory_id),
            escape_html(&org.id),
        ));
    }
    page(
        "Gatehouse demo",
        &format!(
            "<h2>Sign in</h2>\n\
             <form method=\"get\" action=\"{SSO_PREFIX}/login\">\
             <label>Work email <input type=\"email\" name=\"email\" required></label>\
             <input type=\"hidden\" name=\"return_to\" value=\"/profile\">\
             <button type=\"submit\">Continue</button></form>\n\
             <h2>Organizations</h2>\n<ul>\n{items}</ul>\n\
             <h2>SCIM</h2>\n<p>SCIM 2.0 (RFC 7643, RFC 7644) is served at <code>{scim}</code>; \
             the bearer token selects the organization's directory. Try <code>curl -H \
             'Authorization: Bearer demo-acme-scim-token-not-secret' {scim}/Users</code>.</p>",
            scim = escape_html(&format!("{}{DEFAULT_MOUNT_PATH}", app.base)),
        ),
    )
}

async fn profile(State(app): State<Arc<App>>, request: Request) -> Response {
    let Some(finished) = session(&app, request.headers()) else {
        return (StatusCode::SEE_OTHER, [(LOCATION, "/")]).into_response();
    };
    let p = &finished.profile;
    let org_name = app
        .config
        .organizations
        .iter()
        .find(|o| o.id == p.organization.as_str())
        .map_or("", |o| o.name.as_str());
    let connection = app
        .tenants
        .store()
        .connection(&p.connection)
        .await
        .ok()
        .flatten()
        .map_or_else(String::new, |c| c.name);
    let normalized = serde_json::json!({
        "subject": p.subject,
        "subject_format": p.subject_format,
        "issuer": p.issuer,
        "email": p.email,
        "email_verified": p.email_verified,
        "given_name": p.given_name,
        "family_name": p.family_name,
        "display_name": p.display_name,
        "groups": p.groups,
        "protocol": p.protocol,
    });
    let raw = serde_json::to_string_pretty(&p.raw).unwrap_or_default();
    page(
        "Your profile",
        &format!(
            "<p>Organization: <b>{}</b> (<code id=\"organization\">{}</code>)</p>\n\
             <p>Connection: <b>{}</b> (<code id=\"connection\">{}</code>)</p>\n\
             <h2>Normalized profile</h2>\n<pre id=\"profile\">{}</pre>\n\
             <h2>Raw attributes and claims</h2>\n<pre id=\"raw\">{}</pre>\n\
             <form method=\"post\" action=\"/logout\"><button type=\"submit\">Sign out</button></form>",
            escape_html(org_name),
            escape_html(p.organization.as_str()),
            escape_html(&connection),
            escape_html(p.connection.as_str()),
            escape_html(&serde_json::to_string_pretty(&normalized).unwrap_or_default()),
            escape_html(&raw),
        ),
    )
    .into_response()
}

async fn admin(State(app): State<Arc<App>>, Path(org): Path<String>) -> Response {
    admin_page(&app, &org, None).await
}

async fn rotate_token(State(app): State<Arc<App>>, Path(org): Path<String>) -> Response {
    let Some(config) = app.config.organizations.iter().find(|o| o.id == org) else {
        return not_found();
    };
    let Ok(directory) = DirectoryId::new(config.scim.directory_id.clone()) else {
        return not_found();
    };
    let now = time::OffsetDateTime::now_utc();
    let rotated = async {
        let (id, token) = app
            .tenants
            .begin_rotation(&directory, time::Duration::ZERO, now)
            .await?;
        app.tenants.complete_rotation(&directory, &id).await?;
        Ok::<_, tenant_config::TenantError>(token)
    }
    .await;
    match rotated {
        Ok(token) => {
            tracing::info!(organization = %org, directory = %directory, "SCIM token rotated");
            admin_page(&app, &org, Some(token.expose_secret())).await
        }
        Err(e) => {
            tracing::warn!(organization = %org, error = %e, "SCIM token rotation failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "rotation failed").into_response()
        }
    }
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        page("Not found", "<p>No such organization.</p>"),
    )
        .into_response()
}

async fn admin_page(app: &App, org: &str, new_token: Option<&str>) -> Response {
    let Some(config) = app.config.organizations.iter().find(|o| o.id == org) else {
        return not_found();
    };
    let Ok(org_id) = OrganizationId::new(org) else {
        return not_found();
    };
    let connections = app
        .tenants
        .store()
        .connections_of(&org_id)
        .await
        .unwrap_or_default();
    let mut list = String::new();
    for c in &connections {
        let details = match &c.protocol {
            Protocol::Saml(s) => format!(
                "SAML. SP metadata: <a href=\"{m}\"><code>{m}</code></a>; entity ID: \
                 <code>{}</code>; ACS URL (HTTP-POST): <code>{}</code>{}",
                escape_html(&s.sp_entity_id),
                escape_html(&s.acs_url),
                s.slo_url.as_ref().map_or_else(String::new, |u| format!(
                    "; Single Logout URL (Redirect, POST): <code>{}</code>",
                    escape_html(u)
                )),
                m = escape_html(&format!("{}{SSO_PREFIX}/saml/{}/metadata", app.base, c.id)),
            ),
            Protocol::Oidc(o) => format!(
                "OpenID Connect, issuer <code>{}</code>, client <code>{}</code>. Redirect URI: \
                 <code>{}</code>",
                escape_html(&o.issuer),
                escape_html(&o.client_id),
                escape_html(&o.redirect_uri)
            ),
            _ => String::from("other protocol"),
        };
        list.push_str(&format!(
            "<li><b>{}</b> (<code>{}</code>{}): {details}</li>\n",
            escape_html(&c.name),
            escape_html(c.id.as_str()),
            if c.enabled { "" } else { ", disabled" }
        ));
    }
    let token = new_token.map_or_else(String::new, |t| {
        format!(
            "<p><b>New SCIM token</b> (shown once; the previous token no longer works): \
             <code id=\"new-token\">{}</code></p>",
            escape_html(t)
        )
    });
    let (users, groups) = match DirectoryId::new(config.scim.directory_id.clone()) {
        Ok(d) => (
            list_resources(app, &d, "Users", "userName").await,
            list_resources(app, &d, "Groups", "displayName").await,
        ),
        Err(_) => (String::new(), String::new()),
    };
    page(
        &format!("{} administration", config.name),
        &format!(
            "<h2>Connections</h2>\n<ul>\n{list}</ul>\n\
             <h2>SCIM provisioning</h2>\n<p>SCIM base URL: <code>{}</code></p>\n{token}\n\
             <form method=\"post\" action=\"/admin/{}/scim-token\">\
             <button type=\"submit\">Rotate the SCIM token</button></form>\n\
             <h2>Users</h2>\n<ul id=\"users\">\n{users}</ul>\n\
             <h2>Groups</h2>\n<ul id=\"groups\">\n{groups}</ul>",
            escape_html(&format!("{}{DEFAULT_MOUNT_PATH}", app.base)),
            escape_html(org),
        ),
    )
    .into_response()
}

/// The resources of a directory as `<li>` items, through its SCIM service.
async fn list_resources(app: &App, directory: &DirectoryId, kind: &str, name: &str) -> String {
    let service = ScimService::new(
        ScimConfig::default(),
        Arc::new(app.store.resource_store(directory)),
    );
    let mut request = http::Request::new(bytes::Bytes::new());
    let Ok(uri) = format!("/{kind}?count=200").parse() else {
        return String::new();
    };
    *request.uri_mut() = uri;
    let response = service.handle(&app.base, request).await;
    let Ok(body) = serde_json::from_slice::<Value>(response.body()) else {
        return String::new();
    };
    let mut out = String::new();
    for r in body["Resources"].as_array().into_iter().flatten() {
        let members = r["members"].as_array().map_or(0, Vec::len);
        out.push_str(&format!(
            "<li><code>{}</code>{}{}</li>\n",
            escape_html(r[name].as_str().unwrap_or("")),
            if kind == "Users" && r["active"] == Value::Bool(false) {
                " (inactive)"
            } else {
                ""
            },
            if kind == "Groups" {
                format!(" ({members} members)")
            } else {
                String::new()
            }
        ));
    }
    out
}

/// Serves the demo on `listener` until Ctrl-C, then finishes the requests in flight.
pub async fn serve(
    config: DemoConfig,
    store: SqlStore,
    listener: TcpListener,
) -> std::io::Result<()> {
    serve_with_shutdown(config, store, listener, async {
        if tokio::signal::ctrl_c().await.is_err() {
            // Without a signal handler the server runs until the process is killed.
            std::future::pending::<()>().await;
        }
        tracing::info!("shutting down");
    })
    .await
}

/// Serves the demo on `listener` until `shutdown` completes. Its public URL is the
/// configuration's `public_url`, else `http://` and the listening address.
pub async fn serve_with_shutdown(
    config: DemoConfig,
    store: SqlStore,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let public_url = match &config.public_url {
        Some(u) => u.clone(),
        None => format!("http://{}", listener.local_addr()?),
    };
    let app = app(&config, &store, &public_url).await?;
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await;
    store.close().await;
    served
}

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
