//! # gatehouse-sso-axum
//!
//! The axum adapter of Gatehouse: [`sso_router`] serves SAML and OpenID Connect sign-in
//! per connection and home-realm discovery over tenant-config's `LoginService`;
//! [`scim_router`] answers a customer's identity provider for the directory that the
//! presented bearer token selects.
//!
//! ## Sign-in routes
//!
//! The host nests [`sso_router`] under its own prefix and hands it its stores (through the
//! `LoginService` and `Tenants`) and a [`LoginHandler`] (or an async closure in
//! [`FnLoginHandler`]) that receives the finished login and answers the browser, typically
//! setting the host's session cookie and redirecting to `return_to`:
//!
//! ```no_run
//! # use std::sync::Arc;
//! # use axum_core::response::{IntoResponse as _, Response};
//! # use sso_axum::{FnLoginHandler, SsoRouterConfig, sso_router};
//! # use tenant_config::{LoginFinished, LoginService, Tenants};
//! # fn host(login: Arc<LoginService>, tenants: Tenants) -> axum::Router {
//! let handler = FnLoginHandler(|done: LoginFinished| async move {
//!     // Start the host's session for done.profile here.
//!     let to = done.return_to.unwrap_or_else(|| "/".into());
//!     (http::StatusCode::SEE_OTHER, [(http::header::LOCATION, to)]).into_response()
//! });
//! axum::Router::new().nest(
//!     "/sso",
//!     sso_router(login, tenants, Arc::new(handler), SsoRouterConfig::default()),
//! )
//! # }
//! ```
//!
//! Routes (under the prefix): `GET /login?email=` (discovery), `GET
//! /saml/{connection}/metadata`, `GET /saml/{connection}/login`, `POST
//! /saml/{connection}/acs`, `GET|POST /saml/{connection}/slo` (Single Logout), `GET
//! /oidc/{connection}/login`, `GET|POST /oidc/{connection}/callback`. The browser-binding
//! cookie is set at login start (`HttpOnly`, `Secure`, `SameSite=None` for SAML and for OIDC
//! with `SsoRouterConfig::oidc_form_post`, `Lax` for OIDC's query response mode) and presented to the
//! finish; a failed login is a short HTML page with the failed check's name and a
//! correlation id, logged at `warn` (target `gatehouse::login`) with the same id.
//!
//! ## Quick start
//!
//! ```
//! use std::sync::Arc;
//!
//! use scim_core::{InMemoryStore, ScimConfig, ScimService};
//! use sso_axum::{ScimToken, StaticDirectories, scim_router};
//!
//! let token = ScimToken::generate("gh_scim_");
//! // Show `token.expose_secret()` once to the customer's administrator; keep only the hash.
//! let service = ScimService::new(ScimConfig::default(), Arc::new(InMemoryStore::new()));
//! let directories = StaticDirectories::new().with("acme", token.hash(), service);
//! let app: axum::Router = axum::Router::new().nest("/scim/v2", scim_router(Arc::new(directories)));
//! ```
//!
//! ## Design
//!
//! - Tokens are stored only as SHA-256 hashes ([`TokenHash`]). A presented token is hashed
//!   and compared against every stored hash in constant time, with no early exit.
//! - A token selects exactly one directory ([`DirectoryResolver`]): from a fixed list
//!   ([`StaticDirectories`]) or from tenant-config's store ([`TenantDirectories`], which
//!   honours token rotation and disabled directories); the request then reaches
//!   only that directory's [`ScimService`](scim_core::ScimService).
//! - A missing or unknown token is answered with 401, an RFC 7644 error body and
//!   `WWW-Authenticate: Bearer`, before the body is read.
//! - Bodies are read up to the service's `max_payload_size` plus one byte, so that the
//!   service answers 413 itself; longer bodies are rejected with 413 without being read.
//! - Each request is logged once at `info` under the target `gatehouse::scim`, with a
//!   correlation id (the host's [`CorrelationId`] request extension when present, else a
//!   new one; also returned in the `x-correlation-id` header), never the token.
//!
//! ## Limitations
//!
//! - Without [`ScimRouterConfig::public_base_url`] the `meta.location` URLs use plain
//!   `http` and the request's `Host` header; set the public URL behind a TLS proxy. The Host
//!   header shapes only its own response: nothing derived from it is stored.
//! - Nested with `Router::nest`, the routes do not see `{mount}/` (axum routes the root with a
//!   trailing slash to the host's fallback); [`scim_router_at`], merged instead of nested,
//!   serves it like the root.
//! - SAML Single Logout: [`LoginHandler::logout`] must be implemented for IdP-initiated
//!   logout (the default, and [`FnLoginHandler`], answer `logout.not_handled` with 501 and
//!   send the IdP nothing); SP-initiated logout is started by the host's own handler with
//!   [`start_saml_logout`] (no route takes a NameID from the request). The SLO route needs
//!   no cookie; a failure is the same failure page as a failed login. Only the SAML
//!   front-channel bindings; OIDC logout is the host's, with `oidc-rp`.
//! - The response mode is one for all OIDC connections of a router
//!   (`SsoRouterConfig::oidc_form_post`), not chosen per connection. With the query mode
//!   the OIDC binding cookie is `SameSite=Lax` (the callback is a top-level GET); a
//!   `form_post` response sent anyway by a provider on another site reaches the POST route
//!   without the cookie and fails with `login.browser_binding`.
//! - On plain-HTTP loopback (`dangerous_insecure_cookies_for_http_loopback`) the SAML
//!   binding cookie, and the OIDC one with `oidc_form_post`, are still `Secure`
//!   (`SameSite=None` requires it, and the IdP's POST is cross-site): Chromium accepts
//!   that on `http://127.0.0.1` and `http://localhost` (tested in examples/demo's browser
//!   tests, OIDC and SAML with SimpleSAMLphp); browsers that do not
//!   treat loopback as a secure context drop the cookie and the login fails with
//!   `login.browser_binding`.
//! - Only one login per protocol can be in progress per browser: a second start replaces
//!   the binding cookie of the first, which then fails with `login.browser_binding`.
//! - The discovery redirect is relative (`saml/{id}/login`), so the router must be nested
//!   at a prefix that serves `/login` without a trailing-slash rewrite.

mod directory;
mod login;
mod scim;
mod tenant_directories;
// The token types live in tenant-config, which stores their hashes; re-exported here so that
// `sso_axum::ScimToken` keeps working.
use tenant_config::token;

pub use directory::{DirectoryResolver, ResolvedDirectory, StaticDirectories};
pub use login::{
    CorrelationId, FnLoginHandler, LoginHandler, MAX_LOGIN_BODY, OIDC_BINDING_COOKIE,
    SAML_BINDING_COOKIE, SsoRouterConfig, sso_router, start_saml_logout,
};
pub use scim::{
    CORRELATION_ID_HEADER, DEFAULT_MOUNT_PATH, ScimRouterConfig, scim_router, scim_router_at,
    scim_router_with,
};
pub use tenant_directories::{ResourceStoreFactory, TenantDirectories};
pub use token::{ScimToken, TokenHash, TokenHashError};
