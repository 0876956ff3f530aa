//! The authorization code flow (OpenID Connect Core 1.0 section 3.1) on the `oauth2` crate:
//! PKCE S256, `state` and `nonce` from OpenSSL's random generator, stored through an async
//! login-state trait and consumed once; the callback (query or `form_post`), the code
//! exchange with `client_secret_basic`, `client_secret_post` or `private_key_jwt`, userinfo,
//! refresh and logout.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
    BasicTokenType,
};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet,
    EndpointSet, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RefreshToken, RequestTokenError,
    Scope, StandardRevocableToken, StandardTokenResponse, TokenResponse as _, TokenUrl,
};
use openssl::pkey::{PKey, Private};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use url::Url;

use crate::error::{Error, Result, sanitize};
use crate::http::{OAuth2Http, get_json_body};
use crate::id_token::{Expectations, IdTokenClaims, ValidationConfig};
use crate::jws::{Algorithm, sign_compact};
use crate::login_state::REDACTED;
pub use crate::login_state::{InMemoryLoginStateStore, LoginStateStore, PendingLogin, TakeCheck};
use crate::logout::{LogoutTokenClaims, end_session_url};
use crate::provider::Provider;
use crate::secret::Secret;

/// The maximum size of a callback's query string or form body.
pub const MAX_CALLBACK_LEN: usize = 16 * 1024;

/// The maximum size of a userinfo response.
pub const MAX_USERINFO_LEN: usize = 256 * 1024;

/// The longest provider-supplied text (`error_description`, a callback `iss`) kept in an
/// error, in characters.
const MAX_PROVIDER_TEXT: usize = 256;

/// The longest provider-supplied error code kept in an error, in characters.
const MAX_ERROR_CODE: usize = 64;

/// How long a pending login may wait for its callback, by default (10 minutes).
pub const DEFAULT_LOGIN_TTL_SECS: i64 = 600;

/// A private key for `private_key_jwt`; `Debug` shows only its type.
#[derive(Clone)]
pub struct SigningKey(pub PKey<Private>);

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey({:?}, [redacted])", self.0.id())
    }
}

/// How the client authenticates at the token endpoint.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ClientAuth {
    /// `client_secret_basic`: HTTP Basic with the client id and secret.
    ClientSecretBasic(Secret),
    /// `client_secret_post`: the client id and secret in the form body.
    ClientSecretPost(Secret),
    /// `private_key_jwt`: a JWT signed with the client's private key (RFC 7523).
    PrivateKeyJwt {
        /// The private key.
        key: SigningKey,
        /// The signing algorithm.
        alg: Algorithm,
        /// The `kid` the provider knows the key by.
        kid: Option<String>,
    },
    /// A public client: PKCE only.
    None,
}

impl ClientAuth {
    fn secret(&self) -> Option<&Secret> {
        match self {
            Self::ClientSecretBasic(s) | Self::ClientSecretPost(s) => Some(s),
            _ => None,
        }
    }
}

/// How the provider returns the authorization response.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResponseMode {
    /// In the redirect's query string (the default for `code`).
    #[default]
    Query,
    /// As an auto-submitted form POST (OAuth 2.0 Form Post Response Mode).
    FormPost,
}

/// A connection's client registration.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The client id.
    pub client_id: String,
    /// Token endpoint authentication.
    pub auth: ClientAuth,
    /// The registered redirect URI of the callback.
    pub redirect_uri: String,
    /// Scopes besides `openid` (which is always sent).
    pub scopes: Vec<String>,
    /// Query or `form_post`.
    pub response_mode: ResponseMode,
    /// Registered post-logout redirect URIs.
    pub post_logout_redirect_uris: Vec<String>,
    /// How long a pending login may wait for its callback, in seconds.
    pub login_ttl_secs: i64,
}

impl ClientConfig {
    /// A client with `openid` only, query response mode, and a 10 minute login window.
    pub fn new(
        client_id: impl Into<String>,
        auth: ClientAuth,
        redirect_uri: impl Into<String>,
    ) -> Self {
        Self {
            client_id: client_id.into(),
            auth,
            redirect_uri: redirect_uri.into(),
            scopes: Vec::new(),
            response_mode: ResponseMode::Query,
            post_logout_redirect_uris: Vec::new(),
            login_ttl_secs: DEFAULT_LOGIN_TTL_SECS,
        }
    }
}

/// Per-login options of the authorization request.
#[derive(Debug, Clone, Default)]
pub struct AuthorizationOptions {
    /// `prompt` (`none`, `login`, `consent`, `select_account`).
    pub prompt: Option<String>,
    /// `login_hint`.
    pub login_hint: Option<String>,
    /// `max_age` in seconds; `auth_time` is then required and checked.
    pub max_age: Option<i64>,
    /// `acr_values`.
    pub acr_values: Option<String>,
    /// Scopes added to the client's for this login.
    pub extra_scopes: Vec<String>,
}

/// The redirect that starts a login. `Debug` shows the endpoint without its query (which
/// carries the `state` and `nonce`) and redacts the `state` and the browser binding.
#[derive(Clone)]
pub struct AuthorizationRequest {
    /// Where to send the browser.
    pub url: Url,
    /// The `state` (also in the URL).
    pub state: String,
    /// The browser binding: the host must set it in a cookie of the browser it redirects
    /// (`HttpOnly`, `Secure`; see the crate docs for `SameSite`) and pass it back to
    /// [`RelyingParty::handle_callback`]. Only its hash is stored with the pending login.
    pub browser_binding: Secret,
}

impl fmt::Debug for AuthorizationRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorizationRequest")
            .field("endpoint", &endpoint_without_query(&self.url))
            .field("state", &REDACTED)
            .field("browser_binding", &self.browser_binding)
            .finish()
    }
}

/// The parameters of the callback, from the query string or the `form_post` body. `Debug`
/// shows the parameter names and the values of `iss` and `error` only: `code`, `state` and
/// anything else the provider added are redacted.
#[derive(Clone, Default)]
pub struct CallbackParams {
    params: HashMap<String, String>,
}

impl fmt::Debug for CallbackParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&str> = self.params.keys().map(String::as_str).collect();
        names.sort_unstable();
        let mut map = f.debug_map();
        for name in names {
            match (name, self.params.get(name)) {
                ("iss" | "error", Some(value)) => map.entry(&name, value),
                _ => map.entry(&name, &REDACTED),
            };
        }
        map.finish()
    }
}

impl CallbackParams {
    /// Parses `application/x-www-form-urlencoded` (a query string or a form body). Duplicate
    /// parameters are rejected (RFC 6749 section 3.1).
    pub fn parse(encoded: &[u8]) -> Result<Self> {
        if encoded.len() > MAX_CALLBACK_LEN {
            return Err(Error::ResponseTooLarge {
                max: MAX_CALLBACK_LEN,
            });
        }
        let mut params = HashMap::new();
        for (k, v) in url::form_urlencoded::parse(encoded) {
            if params
                .insert(k.clone().into_owned(), v.into_owned())
                .is_some()
            {
                return Err(Error::InvalidDocument {
                    document: "callback",
                    reason: format!("parameter {:?} appears twice", sanitize(&k, 32)),
                });
            }
        }
        Ok(Self { params })
    }

    /// One parameter.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }
}

/// The tokens of a token response. `Debug` redacts them.
#[derive(Debug, Clone)]
pub struct TokenSet {
    /// The access token.
    pub access_token: Secret,
    /// The refresh token, if issued.
    pub refresh_token: Option<Secret>,
    /// The raw ID token (for `id_token_hint`), if issued.
    pub id_token: Option<Secret>,
    /// Lifetime of the access token in seconds, if given.
    pub expires_in: Option<u64>,
    /// The granted scopes, if the provider said.
    pub scopes: Option<Vec<String>>,
}

/// A completed login.
#[derive(Debug, Clone)]
pub struct Login {
    /// The validated ID token's claims.
    pub claims: IdTokenClaims,
    /// The tokens.
    pub tokens: TokenSet,
}

/// The result of a refresh.
#[derive(Debug, Clone)]
pub struct Refreshed {
    /// The new tokens.
    pub tokens: TokenSet,
    /// The new ID token's claims, when the provider sent one (validated, same `iss` and `sub`).
    pub claims: Option<IdTokenClaims>,
}

/// Userinfo claims, checked against the ID token.
#[derive(Debug, Clone)]
pub struct UserInfo {
    /// The userinfo response as sent (its `sub` equals the ID token's).
    pub claims: Map<String, Value>,
    /// The ID token's claims with userinfo's added: a claim the ID token has is never
    /// replaced, so `sub` and `email_verified` stay the verified ones.
    pub merged: Map<String, Value>,
}

#[derive(Clone, Serialize, Deserialize)]
struct IdTokenField {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id_token: Option<String>,
}

// `oauth2` requires `Debug` of the token response's extra fields; the raw ID token is a
// bearer credential (an `id_token_hint`), so it is redacted.
impl fmt::Debug for IdTokenField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdTokenField")
            .field("id_token", &self.id_token.as_ref().map(|_| REDACTED))
            .finish()
    }
}

impl oauth2::ExtraTokenFields for IdTokenField {}

type OidcTokenResponse = StandardTokenResponse<IdTokenField, BasicTokenType>;

type OAuthClient = oauth2::Client<
    BasicErrorResponse,
    OidcTokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

/// One connection's relying party: a client registration at a provider.
pub struct RelyingParty {
    provider: Arc<Provider>,
    client: ClientConfig,
    validation: ValidationConfig,
    store: Arc<dyn LoginStateStore>,
}

impl fmt::Debug for RelyingParty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RelyingParty")
            .field("issuer", &self.provider.issuer())
            .field("client_id", &self.client.client_id)
            .finish_non_exhaustive()
    }
}

impl RelyingParty {
    /// A relying party; `validation` must name the provider's issuer and this client id.
    /// The client secret of `client.auth`, if any, becomes the HMAC key of `validation`.
    pub fn new(
        provider: Arc<Provider>,
        client: ClientConfig,
        mut validation: ValidationConfig,
        store: Arc<dyn LoginStateStore>,
    ) -> Result<Self> {
        if validation.client_id != client.client_id {
            return Err(Error::Config(format!(
                "validation client id {:?} is not the client's {:?}",
                validation.client_id, client.client_id
            )));
        }
        if !validation.issuer_is_entra_template && validation.issuer != provider.issuer() {
            return Err(Error::Config(format!(
                "validation issuer {:?} is not the provider's {:?}",
                validation.issuer,
                provider.issuer()
            )));
        }
        if let crate::EntraTenants::Only(allowed) = &validation.entra_tenants
            && let Some(bad) = allowed.iter().find(|t| !crate::is_canonical_guid(t))
        {
            return Err(Error::Config(format!(
                "allowed Entra tenant {bad:?} is not a tenant GUID"
            )));
        }
        if validation.client_secret.is_none() {
            validation.client_secret = client.auth.secret().cloned();
        }
        // HMAC ID tokens with a secret too short for even HS256 could never verify: say so
        // now rather than at the first login.
        if validation.allow_hmac_with_client_secret
            && let Some(secret) = &validation.client_secret
        {
            crate::jws::check_hmac_key(Algorithm::HS256, secret.expose().len())?;
        }
        Ok(Self {
            provider,
            client,
            validation,
            store,
        })
    }

    /// The provider.
    pub fn provider(&self) -> &Arc<Provider> {
        &self.provider
    }

    /// The ID token validation settings.
    pub fn validation(&self) -> &ValidationConfig {
        &self.validation
    }

    async fn oauth_client(&self) -> Result<OAuthClient> {
        let metadata = self.provider.metadata().await?;
        let token_endpoint = metadata
            .token_endpoint
            .as_deref()
            .ok_or(Error::MissingEndpoint("token_endpoint"))?;
        let url_error = |what| {
            move |e: url::ParseError| Error::InvalidUrl {
                what,
                reason: e.to_string(),
            }
        };
        let mut client = oauth2::Client::new(ClientId::new(self.client.client_id.clone()))
            .set_auth_uri(
                AuthUrl::new(metadata.authorization_endpoint.clone())
                    .map_err(url_error("authorization_endpoint"))?,
            )
            .set_token_uri(
                TokenUrl::new(token_endpoint.into()).map_err(url_error("token_endpoint"))?,
            )
            .set_redirect_uri(
                RedirectUrl::new(self.client.redirect_uri.clone())
                    .map_err(url_error("redirect_uri"))?,
            );
        client = match &self.client.auth {
            ClientAuth::ClientSecretBasic(secret) => client
                .set_client_secret(ClientSecret::new(secret.expose().into()))
                .set_auth_type(AuthType::BasicAuth),
            ClientAuth::ClientSecretPost(secret) => client
                .set_client_secret(ClientSecret::new(secret.expose().into()))
                .set_auth_type(AuthType::RequestBody),
            ClientAuth::PrivateKeyJwt { .. } | ClientAuth::None => {
                client.set_auth_type(AuthType::RequestBody)
            }
        };
        Ok(client)
    }

    /// The `private_key_jwt` client assertion for the token endpoint, if that is the method.
    fn client_assertion(&self, token_endpoint: &str) -> Result<Option<String>> {
        let ClientAuth::PrivateKeyJwt { key, alg, kid } = &self.client.auth else {
            return Ok(None);
        };
        let now = self.provider.clock().now();
        let claims = json!({
            "iss": self.client.client_id,
            "sub": self.client.client_id,
            "aud": token_endpoint,
            "jti": random_token(16)?,
            "iat": now,
            "exp": now + 60,
        });
        sign_compact(*alg, &key.0, kid.as_deref(), &claims).map(Some)
    }

    /// Starts a login: a fresh `state`, `nonce`, PKCE verifier and browser binding are made,
    /// the pending login is stored under the `state` (with the hash of the binding), and the
    /// URL of the authorization request and the binding value are returned. The host sets the
    /// binding in a cookie and passes it to [`RelyingParty::handle_callback`].
    pub async fn authorization_request(
        &self,
        options: &AuthorizationOptions,
    ) -> Result<AuthorizationRequest> {
        let client = self.oauth_client().await?;
        let state = random_token(32)?;
        let nonce = random_token(32)?;
        let verifier = PkceCodeVerifier::new(random_token(32)?);
        let browser_binding = random_token(32)?;
        let challenge = PkceCodeChallenge::from_code_verifier_sha256(&verifier);

        let state_for_url = state.clone();
        let mut request = client
            .authorize_url(move || CsrfToken::new(state_for_url))
            .add_scope(Scope::new("openid".into()))
            .set_pkce_challenge(challenge)
            .add_extra_param("nonce", nonce.clone());
        for scope in self.client.scopes.iter().chain(&options.extra_scopes) {
            if scope != "openid" {
                request = request.add_scope(Scope::new(scope.clone()));
            }
        }
        if self.client.response_mode == ResponseMode::FormPost {
            request = request.add_extra_param("response_mode", "form_post");
        }
        if let Some(prompt) = &options.prompt {
            request = request.add_extra_param("prompt", prompt.clone());
        }
        if let Some(hint) = &options.login_hint {
            request = request.add_extra_param("login_hint", hint.clone());
        }
        if let Some(max_age) = options.max_age {
            request = request.add_extra_param("max_age", max_age.to_string());
        }
        if let Some(acr) = &options.acr_values {
            request = request.add_extra_param("acr_values", acr.clone());
        }
        let (url, _) = request.url();

        let pending = PendingLogin {
            issuer: self.provider.issuer().to_owned(),
            client_id: self.client.client_id.clone(),
            nonce,
            pkce_verifier: verifier.secret().clone(),
            max_age: options.max_age,
            created_at: self.provider.clock().now(),
            browser_binding_hash: binding_hash(&browser_binding),
        };
        self.store.save(&state, pending).await?;
        tracing::debug!(issuer = %self.provider.issuer(), "authorization request created");
        Ok(AuthorizationRequest {
            url,
            state,
            browser_binding: Secret::new(browser_binding),
        })
    }

    /// Completes a login from the callback's parameters and the browser binding the host
    /// read from the cookie it set ([`AuthorizationRequest::browser_binding`]).
    ///
    /// The checks run in this order: a missing binding is [`Error::MissingBrowserBinding`]
    /// (the store is not touched); a `state` of a login started by another connection is
    /// [`Error::StateForOtherConnection`] and a binding that is not the login's is
    /// [`Error::BrowserBindingMismatch`], and both leave the pending login in place, so a
    /// third party holding someone's `state` cannot burn their login. Once those pass, the
    /// `state` is consumed (exactly once, also when the provider sent an error or a later
    /// check fails), the login's age, the RFC 9207 `iss` and the error response are checked,
    /// the code is exchanged and the ID token validated.
    pub async fn handle_callback(
        &self,
        params: &CallbackParams,
        browser_binding: Option<&str>,
    ) -> Result<Login> {
        let result = self.handle_callback_inner(params, browser_binding).await;
        if let Err(e) = &result {
            tracing::warn!(issuer = %self.provider.issuer(), client_id = %self.client.client_id, error = %e, "OIDC login rejected");
        }
        result
    }

    async fn handle_callback_inner(
        &self,
        params: &CallbackParams,
        browser_binding: Option<&str>,
    ) -> Result<Login> {
        let state = params
            .get("state")
            .ok_or(Error::MissingParameter("state"))?;
        let binding = browser_binding
            .filter(|b| !b.is_empty())
            .ok_or(Error::MissingBrowserBinding)?;
        let presented = binding_hash(binding);
        let issuer = self.provider.issuer();
        let client_id = self.client.client_id.as_str();
        let check = |pending: &PendingLogin| {
            if pending.issuer != issuer || pending.client_id != client_id {
                return Err(Error::StateForOtherConnection {
                    issuer: issuer.to_owned(),
                    client_id: client_id.to_owned(),
                });
            }
            // Both are base64url SHA-256 digests of 43 characters; the length check only
            // guards against a malformed stored value.
            let stored = pending.browser_binding_hash.as_bytes();
            if stored.len() != presented.len() || !openssl::memcmp::eq(stored, presented.as_bytes())
            {
                return Err(Error::BrowserBindingMismatch);
            }
            Ok(())
        };
        let pending = self
            .store
            .take_if(state, &check)
            .await?
            .ok_or(Error::UnknownState)?;
        let now = self.provider.clock().now();
        if now.saturating_sub(pending.created_at) > self.client.login_ttl_secs {
            return Err(Error::UnknownState);
        }

        let metadata = self.provider.metadata().await?;
        match params.get("iss") {
            Some(iss) if iss != metadata.issuer => {
                return Err(Error::CallbackIssuerMismatch {
                    expected: metadata.issuer.clone(),
                    actual: Some(sanitize(iss, MAX_PROVIDER_TEXT)),
                });
            }
            None if metadata.authorization_response_iss_parameter_supported => {
                return Err(Error::CallbackIssuerMismatch {
                    expected: metadata.issuer.clone(),
                    actual: None,
                });
            }
            _ => {}
        }

        if let Some(error) = params.get("error") {
            return Err(Error::Authorization {
                error: sanitize(error, MAX_ERROR_CODE),
                description: params
                    .get("error_description")
                    .map(|d| sanitize(d, MAX_PROVIDER_TEXT)),
            });
        }
        let code = params.get("code").ok_or(Error::MissingParameter("code"))?;

        let client = self.oauth_client().await?;
        let mut request = client
            .exchange_code(AuthorizationCode::new(code.into()))
            .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier.clone()));
        if let Some(assertion) = self.client_assertion(client.token_uri().as_str())? {
            request = request
                .add_extra_param(
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                )
                .add_extra_param("client_assertion", assertion);
        }
        let http = OAuth2Http(self.provider.http().as_ref());
        let response = request.request_async(&http).await.map_err(token_error)?;

        let tokens = token_set(&response);
        let id_token = tokens.id_token.clone().ok_or(Error::NoIdToken)?;
        let expect = Expectations {
            nonce: Some(&pending.nonce),
            max_age: pending.max_age,
            access_token: Some(tokens.access_token.expose()),
            code: Some(code),
        };
        let claims = self
            .provider
            .validate_id_token(id_token.expose(), &self.validation, &expect)
            .await?;
        tracing::debug!(issuer = %claims.iss, "OIDC login completed");
        Ok(Login { claims, tokens })
    }

    /// Fetches userinfo with the access token; its `sub` must be the ID token's.
    pub async fn userinfo(
        &self,
        access_token: &Secret,
        id_claims: &IdTokenClaims,
    ) -> Result<UserInfo> {
        let metadata = self.provider.metadata().await?;
        let endpoint = metadata
            .userinfo_endpoint
            .as_deref()
            .ok_or(Error::MissingEndpoint("userinfo_endpoint"))?;
        let body = get_json_body(
            self.provider.http().as_ref(),
            endpoint,
            "userinfo_endpoint",
            MAX_USERINFO_LEN,
            Some(access_token.expose()),
        )
        .await?;
        let claims: Map<String, Value> =
            serde_json::from_slice(&body).map_err(|e| Error::InvalidDocument {
                document: "userinfo response",
                reason: e.to_string(),
            })?;
        let sub = match claims.get("sub") {
            Some(Value::String(s)) => s.clone(),
            Some(_) => {
                return Err(Error::InvalidClaim {
                    claim: "sub",
                    reason: "not a string".into(),
                });
            }
            None => return Err(Error::MissingClaim { claim: "sub" }),
        };
        if sub != id_claims.sub {
            return Err(Error::UserinfoSubMismatch {
                expected: id_claims.sub.clone(),
                actual: sanitize(&sub, MAX_PROVIDER_TEXT),
            });
        }
        Ok(UserInfo {
            merged: merge_userinfo(&id_claims.all(), &claims),
            claims,
        })
    }

    /// Exchanges a refresh token. A new ID token, if sent, is validated and must have the
    /// original's `iss` and `sub` (OpenID Connect Core 1.0 section 12.2).
    pub async fn refresh(
        &self,
        refresh_token: &Secret,
        previous: &IdTokenClaims,
    ) -> Result<Refreshed> {
        let client = self.oauth_client().await?;
        let token = RefreshToken::new(refresh_token.expose().into());
        let mut request = client.exchange_refresh_token(&token);
        if let Some(assertion) = self.client_assertion(client.token_uri().as_str())? {
            request = request
                .add_extra_param(
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                )
                .add_extra_param("client_assertion", assertion);
        }
        let http = OAuth2Http(self.provider.http().as_ref());
        let response = request.request_async(&http).await.map_err(token_error)?;
        let tokens = token_set(&response);
        let claims = match &tokens.id_token {
            None => None,
            Some(id_token) => {
                let expect = Expectations {
                    access_token: Some(tokens.access_token.expose()),
                    ..Expectations::default()
                };
                let claims = self
                    .provider
                    .validate_id_token(id_token.expose(), &self.validation, &expect)
                    .await?;
                for (claim, was, now) in [
                    ("iss", &previous.iss, &claims.iss),
                    ("sub", &previous.sub, &claims.sub),
                ] {
                    if was != now {
                        return Err(Error::RefreshMismatch {
                            claim,
                            expected: was.clone(),
                            actual: now.clone(),
                        });
                    }
                }
                Some(claims)
            }
        };
        Ok(Refreshed { tokens, claims })
    }

    /// The RP-initiated logout URL; `post_logout_redirect_uri` must be registered.
    pub async fn end_session_url(
        &self,
        id_token_hint: Option<&Secret>,
        post_logout_redirect_uri: Option<&str>,
        state: Option<&str>,
    ) -> Result<Url> {
        let metadata = self.provider.metadata().await?;
        let endpoint = metadata
            .end_session_endpoint
            .as_deref()
            .ok_or(Error::MissingEndpoint("end_session_endpoint"))?;
        let endpoint = Url::parse(endpoint).map_err(|e| Error::InvalidUrl {
            what: "end_session_endpoint",
            reason: e.to_string(),
        })?;
        end_session_url(
            &endpoint,
            &self.client.client_id,
            id_token_hint.map(Secret::expose),
            post_logout_redirect_uri,
            &self.client.post_logout_redirect_uris,
            state,
        )
    }

    /// Validates a back-channel logout token posted by the provider (the `logout_token`
    /// form parameter).
    pub async fn validate_logout_token(&self, token: &str) -> Result<LogoutTokenClaims> {
        self.provider
            .validate_logout_token(token, &self.validation)
            .await
    }
}

/// Userinfo claims added to the ID token's; the ID token's own claims are never replaced.
pub fn merge_userinfo(
    id_token: &Map<String, Value>,
    userinfo: &Map<String, Value>,
) -> Map<String, Value> {
    let mut merged = id_token.clone();
    for (k, v) in userinfo {
        if !merged.contains_key(k) {
            merged.insert(k.clone(), v.clone());
        }
    }
    merged
}

fn token_set(response: &OidcTokenResponse) -> TokenSet {
    TokenSet {
        access_token: Secret::new(response.access_token().secret().clone()),
        refresh_token: response
            .refresh_token()
            .map(|t| Secret::new(t.secret().clone())),
        id_token: response.extra_fields().id_token.clone().map(Secret::new),
        expires_in: response.expires_in().map(|d| d.as_secs()),
        scopes: response
            .scopes()
            .map(|s| s.iter().map(|s| s.to_string()).collect()),
    }
}

fn token_error(e: RequestTokenError<Error, BasicErrorResponse>) -> Error {
    match e {
        // Everything here may quote the provider's response: control characters are
        // stripped and the length bounded before it reaches `Display` and the logs.
        RequestTokenError::ServerResponse(r) => Error::TokenEndpoint(format!(
            "{}{}",
            sanitize(r.error().as_ref(), MAX_ERROR_CODE),
            r.error_description()
                .map(|d| format!(": {}", sanitize(d, MAX_PROVIDER_TEXT)))
                .unwrap_or_default()
        )),
        RequestTokenError::Request(e) => e,
        RequestTokenError::Parse(e, _) => Error::TokenEndpoint(format!(
            "unparsable response: {}",
            sanitize(&e.to_string(), MAX_PROVIDER_TEXT)
        )),
        RequestTokenError::Other(s) => Error::TokenEndpoint(sanitize(&s, MAX_PROVIDER_TEXT)),
    }
}

/// The stored form of a browser binding value: SHA-256, base64url.
fn binding_hash(binding: &str) -> String {
    URL_SAFE_NO_PAD.encode(openssl::sha::sha256(binding.as_bytes()))
}

/// The scheme, host, port and path of a URL: what may be logged of a request URL whose query
/// carries secrets.
fn endpoint_without_query(url: &Url) -> String {
    format!("{}{}", url.origin().ascii_serialization(), url.path())
}

/// `bytes` random bytes from OpenSSL's CSPRNG, base64url.
fn random_token(bytes: usize) -> Result<String> {
    let mut buf = vec![0u8; bytes];
    openssl::rand::rand_bytes(&mut buf)?;
    Ok(URL_SAFE_NO_PAD.encode(buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NONCE: &str = "nonce-value-7f3a";
    const VERIFIER: &str = "pkce-verifier-value-91bc";
    const STATE: &str = "state-value-c04e";
    const CODE: &str = "code-value-5d21";

    fn pending() -> PendingLogin {
        PendingLogin {
            issuer: "https://op.example.com".into(),
            client_id: "client-1".into(),
            nonce: NONCE.into(),
            pkce_verifier: VERIFIER.into(),
            max_age: Some(300),
            created_at: 1_800_000_000,
            browser_binding_hash: binding_hash("binding-value-0d9e"),
        }
    }

    fn assert_hidden(debug: &str, secrets: &[&str]) {
        for secret in secrets {
            assert!(!debug.contains(secret), "{secret} shows in {debug}");
        }
    }

    #[test]
    fn pending_login_debug_hides_nonce_and_verifier() {
        let debug = format!("{:?}", pending());
        assert_hidden(
            &debug,
            &[NONCE, VERIFIER, &binding_hash("binding-value-0d9e")],
        );
        assert!(debug.contains("client-1"), "{debug}");
        assert!(debug.contains("[redacted]"), "{debug}");
    }

    #[tokio::test]
    async fn in_memory_store_debug_hides_states_and_logins() {
        let clock = Arc::new(crate::FixedClock(1_800_000_000));
        let store = InMemoryLoginStateStore::with_ttl(10, 600, clock);
        store.save(STATE, pending()).await.expect("save");
        let debug = format!("{store:?}");
        assert_hidden(&debug, &[STATE, NONCE, VERIFIER]);
        assert!(debug.contains("entries: 1"), "{debug}");
    }

    #[test]
    fn callback_params_debug_hides_code_and_state() {
        let params = CallbackParams::parse(
            format!("code={CODE}&state={STATE}&iss=https%3A%2F%2Fop.example.com").as_bytes(),
        )
        .expect("parse");
        let debug = format!("{params:?}");
        assert_hidden(&debug, &[CODE, STATE]);
        assert!(debug.contains("https://op.example.com"), "{debug}");
        assert!(debug.contains("\"code\""), "{debug}");
    }

    #[test]
    fn authorization_request_debug_hides_state_and_query() {
        let url = Url::parse(&format!(
            "https://op.example.com/authorize?state={STATE}&nonce={NONCE}&code_challenge=cc"
        ))
        .expect("url");
        let request = AuthorizationRequest {
            url,
            state: STATE.into(),
            browser_binding: Secret::new("binding-value-0d9e"),
        };
        let debug = format!("{request:?}");
        assert_hidden(&debug, &[STATE, NONCE, "binding-value-0d9e"]);
        assert!(
            debug.contains("https://op.example.com/authorize"),
            "{debug}"
        );
    }

    struct NoHttp;

    #[async_trait::async_trait]
    impl crate::HttpClient for NoHttp {
        async fn execute(&self, _: crate::HttpRequest) -> Result<crate::HttpResponse> {
            Err(Error::Http("no network in this test".into()))
        }
    }

    #[test]
    fn enabling_hmac_with_a_short_client_secret_is_a_configuration_error() {
        let issuer = "https://op.example.com";
        let metadata: crate::ProviderMetadata = serde_json::from_value(json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{issuer}/auth"),
            "token_endpoint": format!("{issuer}/token"),
            "jwks_uri": format!("{issuer}/jwks"),
        }))
        .expect("metadata");
        let provider = Arc::new(
            Provider::new(
                crate::ProviderConfig::with_static_metadata(metadata),
                Arc::new(NoHttp),
                Arc::new(crate::FixedClock(0)),
            )
            .expect("provider"),
        );
        let relying_party = |secret: &str| {
            let auth = ClientAuth::ClientSecretBasic(Secret::new(secret));
            let client = ClientConfig::new("client-1", auth, "https://rp.example.com/cb");
            let mut validation = ValidationConfig::new(issuer, "client-1");
            validation.allow_hmac_with_client_secret = true;
            RelyingParty::new(
                provider.clone(),
                client,
                validation,
                Arc::new(InMemoryLoginStateStore::default()),
            )
        };
        assert!(matches!(
            relying_party("short-secret"),
            Err(Error::HmacKeyTooShort {
                alg: "HS256",
                len: 12,
                min: 32
            })
        ));
        relying_party(&"s".repeat(32)).expect("32 bytes are enough for HS256");
    }

    #[test]
    fn token_response_and_token_set_debug_hide_tokens() {
        let response: OidcTokenResponse = serde_json::from_str(
            r#"{"access_token":"AT-9d8c","token_type":"Bearer","refresh_token":"RT-77e1",
                "id_token":"IDT-4b2a","expires_in":300}"#,
        )
        .expect("token response");
        let secrets = ["AT-9d8c", "RT-77e1", "IDT-4b2a"];
        assert_hidden(&format!("{response:?}"), &secrets);
        let tokens = token_set(&response);
        assert_eq!(
            tokens.id_token.as_ref().map(Secret::expose),
            Some("IDT-4b2a")
        );
        assert_hidden(&format!("{tokens:?}"), &secrets);
        let auth = ClientAuth::ClientSecretPost(Secret::new("client-secret-31f0"));
        let client = ClientConfig::new("client-1", auth, "https://rp.example.com/cb");
        assert_hidden(&format!("{client:?}"), &["client-secret-31f0"]);
    }
}
