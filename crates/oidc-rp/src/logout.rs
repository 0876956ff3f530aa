//! Back-channel logout tokens (OpenID Connect Back-Channel Logout 1.0, section 2.6) and the
//! RP-initiated logout URL (OpenID Connect RP-Initiated Logout 1.0).

use serde::Serialize;
use serde_json::Value;
use url::Url;

use crate::error::{Error, Result};
use crate::id_token::{RawClaims, ValidationConfig, check_common, opt_str, verify_jws};
use crate::jwk::JwkSet;

/// The `events` member that marks a logout token.
pub const BACKCHANNEL_LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// The claims of a validated logout token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct LogoutTokenClaims {
    /// `iss`.
    pub iss: String,
    /// `sub`, when the provider identifies the user.
    pub sub: Option<String>,
    /// `sid`, when the provider identifies the session.
    pub sid: Option<String>,
    /// `jti`: the host should reject a `jti` seen before (replay).
    pub jti: String,
    /// `iat`.
    pub iat: i64,
}

/// Validates a logout token posted to the back-channel logout URI: signature, `iss`, `aud`,
/// `iat`, `exp` when present, `typ` when present, `jti`, the `events` member, no `nonce`, and
/// `sub` or `sid`.
pub fn validate_logout_token(
    token: &str,
    keys: &JwkSet,
    config: &ValidationConfig,
    now: i64,
) -> Result<LogoutTokenClaims> {
    let verified = verify_jws(token, keys, config)?;
    // Back-Channel Logout 1.0 section 2.4 recommends `logout+jwt`; a plain `JWT` (in either
    // spelling) or no `typ` is accepted, any other token kind is not.
    crate::jws::check_typ(
        verified.header.typ.as_deref(),
        &["logout+jwt", "jwt"],
        "logout+jwt",
    )?;
    let c = RawClaims::parse(&verified.payload)?;
    let common = check_common(&c, config, now)?;

    let events = c
        .events
        .map(|raw| serde_json::from_str::<Value>(raw.get()).unwrap_or(Value::Null));
    match events {
        Some(Value::Object(events)) => match events.get(BACKCHANNEL_LOGOUT_EVENT) {
            Some(Value::Object(_)) => {}
            Some(_) => {
                return Err(Error::LogoutToken(
                    "the logout event member is not a JSON object",
                ));
            }
            None => {
                return Err(Error::LogoutToken(
                    "events has no back-channel logout member",
                ));
            }
        },
        Some(_) => return Err(Error::LogoutToken("events is not a JSON object")),
        None => return Err(Error::LogoutToken("events claim is missing")),
    }
    if c.nonce.is_some() {
        return Err(Error::LogoutToken("a logout token must not carry a nonce"));
    }
    let sid = opt_str(c.sid, "sid")?;
    if common.sub.is_none() && sid.is_none() {
        return Err(Error::LogoutToken("neither sub nor sid is present"));
    }
    let jti = opt_str(c.jti, "jti")?.ok_or(Error::MissingClaim { claim: "jti" })?;

    Ok(LogoutTokenClaims {
        iss: common.iss,
        sub: common.sub,
        sid,
        jti,
        iat: common.iat,
    })
}

/// Builds the RP-initiated logout URL: `id_token_hint`, `client_id`, and a
/// `post_logout_redirect_uri` that must be one of `registered` (plus `state` if given).
pub fn end_session_url(
    end_session_endpoint: &Url,
    client_id: &str,
    id_token_hint: Option<&str>,
    post_logout_redirect_uri: Option<&str>,
    registered: &[String],
    state: Option<&str>,
) -> Result<Url> {
    let mut url = end_session_endpoint.clone();
    {
        let mut q = url.query_pairs_mut();
        if let Some(hint) = id_token_hint {
            q.append_pair("id_token_hint", hint);
        }
        q.append_pair("client_id", client_id);
        if let Some(uri) = post_logout_redirect_uri {
            if !registered.iter().any(|r| r == uri) {
                return Err(Error::UnregisteredPostLogoutRedirect(uri.into()));
            }
            q.append_pair("post_logout_redirect_uri", uri);
            if let Some(state) = state {
                q.append_pair("state", state);
            }
        }
    }
    Ok(url)
}
