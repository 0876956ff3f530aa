//! ID token validation (OpenID Connect Core 1.0 section 3.1.3.7, with the design rules):
//! signature with a key from the issuer's JWKS, exact issuer, audience and `azp`, `exp`,
//! `iat` and `nbf` with one leeway, `nonce`, `at_hash`, `c_hash`, `auth_time` with
//! `max_age`.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::jwk::JwkSet;
use crate::jws::{ASYMMETRIC_ALGORITHMS, Algorithm, CompactJws, DEFAULT_MAX_TOKEN_LEN, Header};
use crate::secret::Secret;

/// The placeholder of Entra ID's multi-tenant issuer template.
pub const TENANT_PLACEHOLDER: &str = "{tenantid}";

/// The longest `sub` accepted (OpenID Connect Core 1.0 section 2: at most 255 ASCII
/// characters).
pub const MAX_SUB_LEN: usize = 255;

/// The default leeway for `exp`, `iat` and `nbf`, in seconds.
pub const DEFAULT_LEEWAY_SECS: i64 = 60;

/// Deviations from the standard that a provider needs, each off unless its profile is used.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProviderProfile {
    /// Accept `email_verified` sent as the string `"true"` or `"false"` (Amazon Cognito and
    /// some older ADFS and Okta custom claims do this).
    pub email_verified_as_string: bool,
}

impl ProviderProfile {
    /// The standard behaviour: no deviation accepted.
    pub const STANDARD: Self = Self {
        email_verified_as_string: false,
    };

    /// Providers that send `email_verified` as a string (Amazon Cognito, some ADFS and Okta
    /// custom claim mappings).
    pub const EMAIL_VERIFIED_AS_STRING: Self = Self {
        email_verified_as_string: true,
    };
}

/// How a connection validates ID tokens. Build with [`ValidationConfig::new`]; every check is
/// on by default.
#[derive(Debug, Clone)]
pub struct ValidationConfig {
    /// The issuer, compared exactly. With [`ValidationConfig::issuer_is_entra_template`] it
    /// may contain `{tenantid}`.
    pub issuer: String,
    /// Fill `{tenantid}` in the issuer from the token's `tid` claim (Entra ID multi-tenant
    /// applications). Off by default.
    pub issuer_is_entra_template: bool,
    /// The client id that must be in `aud`.
    pub client_id: String,
    /// Other audiences the client trusts alongside its own (empty by default: a token for
    /// several audiences is rejected unless they are all listed here).
    pub trusted_audiences: Vec<String>,
    /// The client secret, the only HMAC key.
    pub client_secret: Option<Secret>,
    /// Accept HS256/384/512 tokens keyed with the client secret. Off by default.
    pub allow_hmac_with_client_secret: bool,
    /// The asymmetric algorithms accepted.
    pub allowed_algorithms: Vec<Algorithm>,
    /// The one leeway for `exp`, `iat` and `nbf`, in seconds.
    pub leeway_secs: i64,
    /// The maximum token length, checked before decoding.
    pub max_token_len: usize,
    /// Provider deviations accepted.
    pub profile: ProviderProfile,
}

impl ValidationConfig {
    /// All checks on: exact issuer, asymmetric algorithms only, 60 s leeway, 64 KiB tokens.
    pub fn new(issuer: impl Into<String>, client_id: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            issuer_is_entra_template: false,
            client_id: client_id.into(),
            trusted_audiences: Vec::new(),
            client_secret: None,
            allow_hmac_with_client_secret: false,
            allowed_algorithms: ASYMMETRIC_ALGORITHMS.to_vec(),
            leeway_secs: DEFAULT_LEEWAY_SECS,
            max_token_len: DEFAULT_MAX_TOKEN_LEN,
            profile: ProviderProfile::STANDARD,
        }
    }

    /// The issuer a token must carry, template filled from `tid` when so configured.
    pub fn expected_issuer(&self, claims: &Map<String, Value>) -> Result<String> {
        if !self.issuer_is_entra_template {
            return Ok(self.issuer.clone());
        }
        let tid = match claims.get("tid") {
            Some(Value::String(t)) => t,
            Some(_) => {
                return Err(Error::InvalidClaim {
                    claim: "tid",
                    reason: "not a string".into(),
                });
            }
            None => return Err(Error::MissingClaim { claim: "tid" }),
        };
        // A tenant id is a GUID; anything else could smuggle another issuer in.
        if tid.is_empty()
            || tid.len() > 36
            || !tid.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
        {
            return Err(Error::InvalidClaim {
                claim: "tid",
                reason: format!("{tid:?} is not a tenant GUID"),
            });
        }
        Ok(self.issuer.replace(TENANT_PLACEHOLDER, tid))
    }
}

/// What the login that requested the token expects of it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Expectations<'a> {
    /// The `nonce` sent with the authorization request; when set the token must carry it.
    pub nonce: Option<&'a str>,
    /// The `max_age` sent with the request; when set `auth_time` is required and checked.
    pub max_age: Option<i64>,
    /// The access token from the same response, checked against `at_hash` when present.
    pub access_token: Option<&'a str>,
    /// The code from the same response, checked against `c_hash` when present.
    pub code: Option<&'a str>,
}

/// The claims of a validated ID token.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct IdTokenClaims {
    /// `iss`.
    pub iss: String,
    /// `sub`.
    pub sub: String,
    /// `aud`, always as a list.
    pub aud: Vec<String>,
    /// `exp`.
    pub exp: i64,
    /// `iat`.
    pub iat: i64,
    /// `nbf`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// `auth_time`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    /// `nonce`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// `azp`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub azp: Option<String>,
    /// `acr`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
    /// `amr`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amr: Option<Vec<String>>,
    /// `sid`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// `email`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// `email_verified`, a boolean (a string only under the profile that allows it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    /// `name`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `given_name`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    /// `family_name`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    /// `preferred_username`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    /// `tid` (Entra ID tenant).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tid: Option<String>,
    /// Every claim of the token as sent, for mapping custom claims.
    pub all: Map<String, Value>,
}

/// A token whose signature verified, claims not yet checked.
#[derive(Debug)]
pub(crate) struct VerifiedJws {
    pub(crate) header: Header,
    pub(crate) claims: Map<String, Value>,
}

/// Parses `token` and checks its signature: HMAC with the client secret when allowed,
/// otherwise the candidate keys of `keys` for its `kid` and `alg`.
pub(crate) fn verify_jws(
    token: &str,
    keys: &JwkSet,
    config: &ValidationConfig,
) -> Result<VerifiedJws> {
    let jws = CompactJws::parse(token, config.max_token_len)?;
    let alg = jws.header.alg;

    let verified = if alg.is_hmac() {
        if !config.allow_hmac_with_client_secret {
            return Err(Error::AlgNotAllowed {
                alg: alg.name().into(),
                reason: "HMAC is not enabled for this connection",
            });
        }
        let secret = config
            .client_secret
            .as_ref()
            .ok_or_else(|| Error::NoClientSecret {
                alg: alg.name().into(),
            })?;
        jws.verify_hmac(secret.expose().as_bytes())?
    } else {
        if !config.allowed_algorithms.contains(&alg) {
            return Err(Error::AlgNotAllowed {
                alg: alg.name().into(),
                reason: "not in the connection's allow-list",
            });
        }
        let mut ok = false;
        for key in keys.candidates(jws.header.kid.as_deref(), alg)? {
            if jws.verify_with(key.public_key())? {
                ok = true;
                break;
            }
        }
        ok
    };
    if !verified {
        return Err(Error::BadSignature {
            alg: alg.name().into(),
            kid: jws.header.kid.clone(),
        });
    }
    Ok(VerifiedJws {
        header: jws.header,
        claims: jws.payload,
    })
}

/// Validates an ID token: signature, then every claim check. `now` is seconds since the
/// Unix epoch, from the injected [`crate::Clock`].
pub fn validate_id_token(
    token: &str,
    keys: &JwkSet,
    config: &ValidationConfig,
    expect: &Expectations<'_>,
    now: i64,
) -> Result<IdTokenClaims> {
    let VerifiedJws { header, claims } = verify_jws(token, keys, config)?;
    // Explicit typing keeps other JWTs of the provider (logout tokens, access tokens) from
    // passing as ID tokens.
    if let Some(typ) = &header.typ
        && !typ.eq_ignore_ascii_case("JWT")
        && !typ.eq_ignore_ascii_case("application/jwt")
    {
        return Err(Error::WrongTyp {
            expected: "JWT",
            actual: typ.chars().take(64).collect(),
        });
    }
    if claims.contains_key("events") {
        return Err(Error::InvalidClaim {
            claim: "events",
            reason: "an ID token carries no events (this is a logout token)".into(),
        });
    }
    let checked = check_common(&claims, config, now)?;
    let c = &claims;

    let nonce = opt_str(c, "nonce")?;
    if let Some(expected) = expect.nonce {
        let actual = nonce
            .as_deref()
            .ok_or(Error::MissingClaim { claim: "nonce" })?;
        if !Secret::new(expected).ct_eq(actual) {
            return Err(Error::NonceMismatch);
        }
    }

    let at_hash = opt_str(c, "at_hash")?;
    if let (Some(token), Some(actual)) = (expect.access_token, &at_hash) {
        check_hash("at_hash", header.alg, token, actual)?;
    }
    let c_hash = opt_str(c, "c_hash")?;
    if let (Some(code), Some(actual)) = (expect.code, &c_hash) {
        check_hash("c_hash", header.alg, code, actual)?;
    }

    let auth_time = opt_time(c, "auth_time")?;
    if let Some(max_age) = expect.max_age {
        let auth_time = auth_time.ok_or(Error::MissingClaim { claim: "auth_time" })?;
        if auth_time
            .saturating_add(max_age)
            .saturating_add(config.leeway_secs)
            < now
        {
            return Err(Error::AuthTooOld {
                auth_time,
                max_age,
                now,
            });
        }
    }

    let email_verified = match c.get("email_verified") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(Value::String(s)) if config.profile.email_verified_as_string => match s.as_str() {
            "true" => Some(true),
            "false" => Some(false),
            _ => {
                return Err(Error::InvalidClaim {
                    claim: "email_verified",
                    reason: format!("string {s:?} is neither \"true\" nor \"false\""),
                });
            }
        },
        Some(_) => {
            return Err(Error::InvalidClaim {
                claim: "email_verified",
                reason: "not a boolean".into(),
            });
        }
    };

    Ok(IdTokenClaims {
        iss: checked.iss,
        sub: checked.sub.ok_or(Error::MissingClaim { claim: "sub" })?,
        aud: checked.aud,
        exp: checked.exp.ok_or(Error::MissingClaim { claim: "exp" })?,
        iat: checked.iat,
        nbf: checked.nbf,
        auth_time,
        nonce,
        azp: checked.azp,
        acr: opt_str(c, "acr")?,
        amr: opt_str_list(c, "amr")?,
        sid: opt_str(c, "sid")?,
        email: opt_str(c, "email")?,
        email_verified,
        name: opt_str(c, "name")?,
        given_name: opt_str(c, "given_name")?,
        family_name: opt_str(c, "family_name")?,
        preferred_username: opt_str(c, "preferred_username")?,
        tid: opt_str(c, "tid")?,
        all: claims,
    })
}

/// The claims checked the same way for ID tokens and logout tokens.
pub(crate) struct CommonClaims {
    pub(crate) iss: String,
    pub(crate) sub: Option<String>,
    pub(crate) aud: Vec<String>,
    pub(crate) azp: Option<String>,
    pub(crate) exp: Option<i64>,
    pub(crate) iat: i64,
    pub(crate) nbf: Option<i64>,
}

/// `iss`, `aud`, `azp`, `exp` (required for ID tokens, checked by the caller), `iat`, `nbf`
/// and the shape of `sub`.
pub(crate) fn check_common(
    c: &Map<String, Value>,
    config: &ValidationConfig,
    now: i64,
) -> Result<CommonClaims> {
    let iss = opt_str(c, "iss")?.ok_or(Error::MissingClaim { claim: "iss" })?;
    let expected_iss = config.expected_issuer(c)?;
    if iss != expected_iss {
        return Err(Error::IssuerMismatch {
            expected: expected_iss,
            actual: iss,
        });
    }

    let aud = match c.get("aud") {
        None | Some(Value::Null) => return Err(Error::MissingClaim { claim: "aud" }),
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                match item {
                    Value::String(s) => out.push(s.clone()),
                    _ => {
                        return Err(Error::InvalidClaim {
                            claim: "aud",
                            reason: "array holds a non-string".into(),
                        });
                    }
                }
            }
            out
        }
        Some(_) => {
            return Err(Error::InvalidClaim {
                claim: "aud",
                reason: "neither a string nor an array".into(),
            });
        }
    };
    let audience_error = |reason| Error::AudienceMismatch {
        client_id: config.client_id.clone(),
        actual: aud.clone(),
        reason,
    };
    if !aud.iter().any(|a| a == &config.client_id) {
        return Err(audience_error("client id not in aud"));
    }
    if aud
        .iter()
        .any(|a| a != &config.client_id && !config.trusted_audiences.contains(a))
    {
        return Err(audience_error("aud holds an untrusted audience"));
    }

    let azp = opt_str(c, "azp")?;
    if (aud.len() > 1 || azp.is_some()) && azp.as_deref() != Some(config.client_id.as_str()) {
        return Err(Error::AzpMismatch {
            client_id: config.client_id.clone(),
            actual: azp,
        });
    }

    let leeway = config.leeway_secs;
    let exp = opt_time(c, "exp")?;
    if let Some(exp) = exp
        && now >= exp.saturating_add(leeway)
    {
        return Err(Error::Expired { exp, now, leeway });
    }
    let iat = opt_time(c, "iat")?.ok_or(Error::MissingClaim { claim: "iat" })?;
    if iat > now.saturating_add(leeway) {
        return Err(Error::IssuedInFuture { iat, now, leeway });
    }
    let nbf = opt_time(c, "nbf")?;
    if let Some(nbf) = nbf
        && nbf > now.saturating_add(leeway)
    {
        return Err(Error::NotYetValid { nbf, now, leeway });
    }

    let sub = opt_str(c, "sub")?;
    if let Some(sub) = &sub
        && (sub.is_empty() || sub.len() > MAX_SUB_LEN)
    {
        return Err(Error::InvalidClaim {
            claim: "sub",
            reason: format!("length {} outside 1..={MAX_SUB_LEN}", sub.len()),
        });
    }

    Ok(CommonClaims {
        iss,
        sub,
        aud,
        azp,
        exp,
        iat,
        nbf,
    })
}

fn check_hash(claim: &'static str, alg: Algorithm, value: &str, actual: &str) -> Result<()> {
    let expected = crate::jws::left_half_hash(alg, value)?;
    if expected != actual {
        return Err(Error::HashMismatch {
            claim,
            expected,
            actual: actual.chars().take(128).collect(),
        });
    }
    Ok(())
}

/// An optional string claim; null counts as absent, another type is an error.
pub(crate) fn opt_str(c: &Map<String, Value>, claim: &'static str) -> Result<Option<String>> {
    match c.get(claim) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(Error::InvalidClaim {
            claim,
            reason: "not a string".into(),
        }),
    }
}

fn opt_str_list(c: &Map<String, Value>, claim: &'static str) -> Result<Option<Vec<String>>> {
    match c.get(claim) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str().map(str::to_owned).ok_or(Error::InvalidClaim {
                    claim,
                    reason: "array holds a non-string".into(),
                })
            })
            .collect::<Result<Vec<_>>>()
            .map(Some),
        Some(_) => Err(Error::InvalidClaim {
            claim,
            reason: "not an array".into(),
        }),
    }
}

/// An optional NumericDate claim (seconds, fractions truncated).
pub(crate) fn opt_time(c: &Map<String, Value>, claim: &'static str) -> Result<Option<i64>> {
    match c.get(claim) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => {
            if let Some(i) = n.as_i64() {
                return Ok(Some(i));
            }
            match n.as_f64() {
                Some(f) if f.is_finite() && f.abs() < 1e15 => Ok(Some(f.trunc() as i64)),
                _ => Err(Error::InvalidClaim {
                    claim,
                    reason: "not a NumericDate in range".into(),
                }),
            }
        }
        Some(_) => Err(Error::InvalidClaim {
            claim,
            reason: "not a number".into(),
        }),
    }
}
