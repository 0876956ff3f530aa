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
//! ## Security checks
//!
//! The protocol checks themselves (signatures, audiences, issuers, lifetimes, replay,
//! state and nonce) are `saml-sp`'s and `oidc-rp`'s, run through tenant-config's
//! `LoginService`; this crate adds the browser and HTTP side:
//!
//! - **Browser binding.** Starting a login sets a binding cookie ([`SAML_BINDING_COOKIE`],
//!   [`OIDC_BINDING_COOKIE`]) holding the login's random browser binding, and the finish
//!   passes the cookie to the `LoginService`, which refuses a Response or callback from a
//!   browser without it (`login.browser_binding`), so a login started in one browser cannot
//!   be finished in another (loosened only by tenant-config's
//!   `LoginSettings::dangerous_skip_browser_binding`). A finished login expires the cookie.
//! - **Cookie attributes.** Binding cookies are `HttpOnly`, `Path=/`, `Max-Age` 600 seconds
//!   by default ([`SsoRouterConfig::binding_cookie_max_age`]) and `Secure`: `SameSite=None`
//!   for SAML (the IdP's cross-site POST to the ACS) and for OIDC with
//!   `oidc_form_post`, `SameSite=Lax` for OIDC's query response mode. Dropping `Secure`
//!   takes the loudly named
//!   [`SsoRouterConfig::dangerous_insecure_cookies_for_http_loopback`].
//! - **Redirect policy.** `return_to` is not followed by this crate: it goes into the
//!   login request, where the `LoginService` checks it against its `RedirectPolicy`
//!   (relative paths, or allow-listed origins); a refused target is a 400 failure page. The
//!   host's [`LoginHandler`] receives only the checked value.
//! - **Discovery reveals nothing.** An unknown, unverified or consumer domain, a malformed
//!   address and a domain without an enabled connection all get the same answer (the
//!   [`SsoRouterConfig::no_sso_location`] redirect or one fixed page), and the email address
//!   is not logged.
//! - **Request shapes.** Form bodies are read up to [`MAX_LOGIN_BODY`] (larger:
//!   413 `login.body_too_large`); a repeated `SAMLResponse`, `SAMLRequest` or `RelayState`
//!   is refused (`login.duplicate_parameter`); an unknown connection id is a 404 failure
//!   page, a connection of the other protocol a 403.
//! - **Failures and correlation ids.** Every route runs under a [`CorrelationId`] (the
//!   host's, or a new random one), returned in `x-correlation-id` and carried by every log
//!   line as the span field `correlation_id`. A failure page shows only the failed check's
//!   name and the correlation id; the details (the error's text, which the login crates
//!   keep free of assertions, codes, tokens and keys) go to the `warn` log under target
//!   `gatehouse::login`. Pages and redirects are sent with `Cache-Control: no-store`.
//! - **No secrets in logs.** Log lines name organizations, connections and reasons; never
//!   binding values, SAML messages, authorization codes, tokens or SCIM bearer tokens.
//! - **Single Logout refuses what it cannot honour.** An IdP's LogoutRequest that passes
//!   the checks is handed to [`LoginHandler::logout`]; unless the host reports the sessions
//!   ended, the answer is a 501 `logout.not_handled` page and the IdP is told nothing, so it
//!   never believes a user logged out who is not. SP-initiated logout is started only by
//!   the host's code ([`start_saml_logout`]), never from a NameID in a request.
//! - **SCIM bearer tokens.** Compared by SHA-256 hash in constant time against every stored
//!   hash; a missing or unknown token is a 401 before the body is read; a token opens
//!   exactly one directory (see Design above).
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
