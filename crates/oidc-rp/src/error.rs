//! The one error type of the crate: every rejection names the failed check and the values
//! compared (never a secret, a token or a key).

/// Why a token, a response or a request was rejected.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // --- token format -----------------------------------------------------------------
    /// The compact token is longer than the configured maximum; it was not decoded.
    #[error("token is {size} bytes, more than the maximum of {max}")]
    TokenTooLarge {
        /// The token's length in bytes.
        size: usize,
        /// The configured maximum.
        max: usize,
    },
    /// A compact JWS has three dot-separated segments; a JWE (five) is not accepted.
    #[error("token has {segments} segments, a signed JWT has 3")]
    SegmentCount {
        /// How many segments the token has.
        segments: usize,
    },
    /// A segment is not unpadded base64url.
    #[error("token {segment} is not valid base64url")]
    Base64 {
        /// `header`, `payload` or `signature`.
        segment: &'static str,
    },
    /// The protected header is longer than the maximum; it was not decoded.
    #[error("token header is {size} bytes of base64, more than the maximum of {max}")]
    HeaderTooLarge {
        /// The encoded header's length.
        size: usize,
        /// The maximum.
        max: usize,
    },
    /// A segment is not the JSON object it must be.
    #[error("token {segment} is not a valid JSON object: {reason}")]
    Json {
        /// `header` or `payload`.
        segment: &'static str,
        /// What the JSON parser said.
        reason: String,
    },
    /// The header says `alg: none`: unsigned tokens are never accepted.
    #[error("alg \"none\" is never accepted")]
    AlgNone,
    /// The `alg` is not one this crate implements.
    #[error("unsupported alg {alg:?}")]
    UnsupportedAlg {
        /// The header's `alg`.
        alg: String,
    },
    /// The `alg` is implemented but not allowed for this connection.
    #[error("alg {alg} is not allowed for this connection ({reason})")]
    AlgNotAllowed {
        /// The header's `alg`.
        alg: String,
        /// Why: not in the allow-list, or HMAC not enabled.
        reason: &'static str,
    },
    /// The header lists a `crit` extension this crate does not understand.
    #[error("unsupported critical header parameter {name:?}")]
    UnknownCrit {
        /// The `crit` entry.
        name: String,
    },
    /// The JWT `typ` header is present and not one this check accepts.
    #[error("token typ {actual:?} is not the expected {expected:?}")]
    WrongTyp {
        /// The accepted value.
        expected: &'static str,
        /// The header's value.
        actual: String,
    },

    // --- keys ----------------------------------------------------------------------------
    /// A JWK or JWKS document is malformed or a key cannot be used.
    #[error("invalid JWK{}: {reason}", kid.as_ref().map(|k| format!(" (kid {k:?})")).unwrap_or_default())]
    InvalidJwk {
        /// The key's `kid`, if any.
        kid: Option<String>,
        /// What is wrong with it.
        reason: String,
    },
    /// No key in the issuer's JWKS has the token's `kid`.
    #[error("no key with kid {kid:?} in the issuer's JWKS")]
    UnknownKid {
        /// The token's `kid`.
        kid: String,
    },
    /// Keys with the token's `kid` exist but none is usable with its `alg`.
    #[error("key kid {kid:?} is a {kty} key, unusable with alg {alg}")]
    KeyTypeMismatch {
        /// The token's `kid`.
        kid: String,
        /// The key type found.
        kty: String,
        /// The token's `alg`.
        alg: String,
    },
    /// The token has no `kid` and the JWKS has no key usable with its `alg`.
    #[error("token has no kid and no key in the JWKS is usable with alg {alg}")]
    NoMatchingKey {
        /// The token's `alg`.
        alg: String,
    },
    /// The token has no `kid` and several keys could verify it.
    #[error("token has no kid and {count} keys in the JWKS are usable with alg {alg}")]
    AmbiguousKey {
        /// The token's `alg`.
        alg: String,
        /// How many keys matched.
        count: usize,
    },
    /// The signature does not verify with any candidate key.
    #[error("signature check failed: alg {alg}, kid {kid:?}")]
    BadSignature {
        /// The token's `alg`.
        alg: String,
        /// The token's `kid`.
        kid: Option<String>,
    },
    /// An HMAC token but no client secret is configured.
    #[error("alg {alg} needs the client secret and none is configured")]
    NoClientSecret {
        /// The token's `alg`.
        alg: String,
    },
    /// The client secret is shorter than RFC 7518 section 3.2 requires for the HMAC
    /// algorithm (the hash output: 32, 48 or 64 bytes), or empty.
    #[error(
        "client secret of {len} bytes is too short for {alg} (RFC 7518 section 3.2 requires at least {min})"
    )]
    HmacKeyTooShort {
        /// The HMAC algorithm.
        alg: &'static str,
        /// The secret's length in bytes.
        len: usize,
        /// The minimum for `alg`.
        min: usize,
    },
    /// OpenSSL failed on a key or signature operation.
    #[error("crypto error: {0}")]
    Crypto(String),

    // --- claims --------------------------------------------------------------------------
    /// A required claim is absent.
    #[error("claim {claim:?} is missing")]
    MissingClaim {
        /// The claim's name.
        claim: &'static str,
    },
    /// A claim has the wrong JSON type or an invalid value.
    #[error("claim {claim:?} is invalid: {reason}")]
    InvalidClaim {
        /// The claim's name.
        claim: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// `iss` is not the configured issuer.
    #[error("issuer mismatch: expected {expected:?}, token has {actual:?}")]
    IssuerMismatch {
        /// The configured issuer (template filled in).
        expected: String,
        /// The token's `iss`.
        actual: String,
    },
    /// The token's Entra ID tenant is not in the connection's allowed tenants.
    #[error("Entra ID tenant {tid:?} is not allowed for this connection")]
    TenantNotAllowed {
        /// The token's `tid` (a canonical GUID).
        tid: String,
    },
    /// `aud` does not contain the client id, or holds an untrusted audience.
    #[error("audience check failed: client id {client_id:?}, token aud {actual:?}: {reason}")]
    AudienceMismatch {
        /// The configured client id.
        client_id: String,
        /// The token's audiences.
        actual: Vec<String>,
        /// Which rule failed.
        reason: &'static str,
    },
    /// `azp` is present (or required) and is not the client id.
    #[error("azp check failed: client id {client_id:?}, token azp {actual:?}")]
    AzpMismatch {
        /// The configured client id.
        client_id: String,
        /// The token's `azp`.
        actual: Option<String>,
    },
    /// `exp` is in the past (beyond the leeway).
    #[error("token expired: exp {exp}, now {now}, leeway {leeway}s")]
    Expired {
        /// The token's `exp`.
        exp: i64,
        /// The current time.
        now: i64,
        /// The configured leeway in seconds.
        leeway: i64,
    },
    /// `nbf` is in the future (beyond the leeway).
    #[error("token not yet valid: nbf {nbf}, now {now}, leeway {leeway}s")]
    NotYetValid {
        /// The token's `nbf`.
        nbf: i64,
        /// The current time.
        now: i64,
        /// The configured leeway in seconds.
        leeway: i64,
    },
    /// `iat` is in the future (beyond the leeway).
    #[error("token issued in the future: iat {iat}, now {now}, leeway {leeway}s")]
    IssuedInFuture {
        /// The token's `iat`.
        iat: i64,
        /// The current time.
        now: i64,
        /// The configured leeway in seconds.
        leeway: i64,
    },
    /// `nonce` is not the one sent in the authorization request.
    #[error("nonce mismatch: the token's nonce is not the one sent with the request")]
    NonceMismatch,
    /// `at_hash` or `c_hash` does not match the access token or code.
    #[error("{claim} mismatch: token has {actual:?}, computed {expected:?}")]
    HashMismatch {
        /// `at_hash` or `c_hash`.
        claim: &'static str,
        /// The value computed from the access token or code.
        expected: String,
        /// The token's value.
        actual: String,
    },
    /// `auth_time` is older than `max_age` allows.
    #[error("authentication too old: auth_time {auth_time}, max_age {max_age}s, now {now}")]
    AuthTooOld {
        /// The token's `auth_time`.
        auth_time: i64,
        /// The requested `max_age`.
        max_age: i64,
        /// The current time.
        now: i64,
    },
    /// A refreshed ID token does not belong to the same user as the original.
    #[error("refreshed ID token {claim} changed: was {expected:?}, now {actual:?}")]
    RefreshMismatch {
        /// `iss` or `sub`.
        claim: &'static str,
        /// The original value.
        expected: String,
        /// The new value.
        actual: String,
    },

    // --- flow ----------------------------------------------------------------------------
    /// The provider redirected back with an OAuth 2.0 error response. Both texts come from
    /// the callback: control and bidirectional-formatting characters are replaced by `?` and
    /// they are cut to 64 and 256 characters.
    #[error("authorization error {error:?}{}", description.as_ref().map(|d| format!(": {d}")).unwrap_or_default())]
    Authorization {
        /// The `error` parameter.
        error: String,
        /// The `error_description` parameter.
        description: Option<String>,
    },
    /// The callback is missing a parameter.
    #[error("callback is missing the {0:?} parameter")]
    MissingParameter(&'static str),
    /// The callback's `state` matches no pending login (unknown, expired or already used).
    #[error("unknown, expired or already used state")]
    UnknownState,
    /// The callback came without the browser binding value (the cookie set when the login
    /// started); the pending login was not touched.
    #[error("callback without the browser binding of the login (cookie missing)")]
    MissingBrowserBinding,
    /// The browser binding presented is not the one of the login the `state` names: the
    /// callback comes from another browser. The pending login stays in place.
    #[error("browser binding does not match the login's state (another browser)")]
    BrowserBindingMismatch,
    /// The `state` names a login started by another connection (issuer or client id); the
    /// pending login stays in place for its own connection.
    #[error(
        "state belongs to a login of another connection, not issuer {issuer:?} client {client_id:?}"
    )]
    StateForOtherConnection {
        /// The issuer of the connection that received the callback.
        issuer: String,
        /// The client id of the connection that received the callback.
        client_id: String,
    },
    /// RFC 9207: the callback's `iss` is not the issuer, or is missing though the provider
    /// advertises it.
    #[error("callback iss check failed: expected {expected:?}, got {actual:?}")]
    CallbackIssuerMismatch {
        /// The configured issuer.
        expected: String,
        /// The callback's `iss`.
        actual: Option<String>,
    },
    /// The token endpoint returned an error or an unusable response (the provider's text
    /// sanitized and bounded as for [`Error::Authorization`]).
    #[error("token endpoint: {0}")]
    TokenEndpoint(String),
    /// The token response carries no `id_token`.
    #[error("token response has no id_token")]
    NoIdToken,
    /// Userinfo's `sub` is not the ID token's.
    #[error("userinfo sub {actual:?} is not the ID token's {expected:?}")]
    UserinfoSubMismatch {
        /// The ID token's `sub`.
        expected: String,
        /// Userinfo's `sub`.
        actual: String,
    },
    /// The provider metadata lacks an endpoint this operation needs.
    #[error("provider metadata has no {0}")]
    MissingEndpoint(&'static str),
    /// A post-logout redirect URI that is not registered for the connection.
    #[error("post_logout_redirect_uri {0:?} is not registered for this connection")]
    UnregisteredPostLogoutRedirect(String),
    /// A logout token defect (OpenID Connect Back-Channel Logout 1.0, section 2.6).
    #[error("logout token rejected: {0}")]
    LogoutToken(&'static str),
    /// The login-state store failed.
    #[error("login state store: {0}")]
    Store(String),
    /// Configuration is invalid.
    #[error("configuration: {0}")]
    Config(String),

    // --- discovery and transport ---------------------------------------------------------
    /// The discovery document's `issuer` is not the configured issuer.
    #[error("discovery issuer mismatch: configured {expected:?}, document says {actual:?}")]
    DiscoveryIssuerMismatch {
        /// The configured issuer.
        expected: String,
        /// The document's `issuer`.
        actual: String,
    },
    /// A metadata, JWKS, token or userinfo response is malformed.
    #[error("invalid {document}: {reason}")]
    InvalidDocument {
        /// Which document.
        document: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// An endpoint URL is unusable (not https outside loopback, not a URL).
    #[error("invalid URL for {what}: {reason}")]
    InvalidUrl {
        /// Which endpoint.
        what: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A recent discovery or JWKS fetch of this issuer failed; no request is sent until the
    /// back-off has passed.
    #[error("{what} fetch failed {failures} time(s) in a row; next attempt in {retry_in_secs}s")]
    FetchBackoff {
        /// `discovery` or `jwks_uri`.
        what: &'static str,
        /// Consecutive failures so far.
        failures: u32,
        /// Seconds until the next attempt is allowed.
        retry_in_secs: i64,
    },
    /// The HTTP exchange failed.
    #[error("HTTP: {0}")]
    Http(String),
    /// The response status is not the expected one.
    #[error("HTTP status {status} from {what}")]
    HttpStatus {
        /// The status code.
        status: u16,
        /// Which endpoint.
        what: &'static str,
    },
    /// The response body is larger than the maximum.
    #[error("response body larger than {max} bytes")]
    ResponseTooLarge {
        /// The maximum.
        max: usize,
    },
}

impl From<openssl::error::ErrorStack> for Error {
    fn from(e: openssl::error::ErrorStack) -> Self {
        Self::Crypto(e.to_string())
    }
}

/// A value from the provider or the callback, made safe for logs and `Display`: control
/// characters and Unicode bidirectional or invisible formatting characters are replaced by
/// `?`, and the text is cut to `max` characters (an ellipsis marks the cut).
pub(crate) fn sanitize(value: &str, max: usize) -> String {
    let mut out = String::with_capacity(value.len().min(max * 4));
    for (i, c) in value.chars().enumerate() {
        if i == max {
            out.push('…');
            break;
        }
        let unsafe_char = c.is_control()
            || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{206f}' | '\u{feff}');
        out.push(if unsafe_char { '?' } else { c });
    }
    out
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_strips_control_and_bidi_characters_and_bounds_length() {
        assert_eq!(sanitize("plain text: ok", 64), "plain text: ok");
        assert_eq!(
            sanitize("a\nb\r\tc\u{1b}[31md\u{7f}e\u{85}f", 64),
            "a?b??c?[31md?e?f"
        );
        assert_eq!(
            sanitize("user \u{202e}nimda\u{202c} \u{200b}\u{2066}x\u{feff}", 64),
            "user ?nimda? ??x?"
        );
        assert_eq!(sanitize("ééééé", 3), "ééé…");
        assert_eq!(sanitize(&"x".repeat(10_000), 256).chars().count(), 257);
    }
}
