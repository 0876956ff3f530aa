//! ID token validation (OpenID Connect Core 1.0 section 3.1.3.7, with the design rules):
//! signature with a key from the issuer's JWKS, exact issuer, audience and `azp`, `exp`,
//! `iat` and `nbf` with one leeway, `nonce`, `at_hash`, `c_hash`, `auth_time` with
//! `max_age`.

use serde::Serialize;
use serde_json::value::RawValue;
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

/// Which Entra ID tenants may sign in through a multi-tenant (`{tenantid}` template)
/// connection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum EntraTenants {
    /// Any Entra ID tenant in the world can sign in, as with Entra's `common` and
    /// `organizations` endpoints: the token is checked against the issuer of the tenant it
    /// names, but any tenant qualifies. The host must then authorize by `tid` itself.
    #[default]
    AnyTenantCanSignIn,
    /// Only these tenant ids (GUIDs, compared case-insensitively); a token of another tenant
    /// is [`Error::TenantNotAllowed`].
    Only(Vec<String>),
}

/// How a connection validates ID tokens. Build with [`ValidationConfig::new`]; every check is
/// on by default.
#[derive(Debug, Clone)]
pub struct ValidationConfig {
    /// The issuer, compared exactly. With [`ValidationConfig::issuer_is_entra_template`] it
    /// may contain `{tenantid}`.
    pub issuer: String,
    /// Fill `{tenantid}` in the issuer from the token's `tid` claim (Entra ID multi-tenant
    /// applications); `tid` must be a canonical GUID. Off by default. Which tenants qualify
    /// is [`ValidationConfig::entra_tenants`]: by default **any** tenant can sign in.
    pub issuer_is_entra_template: bool,
    /// With [`ValidationConfig::issuer_is_entra_template`], the tenants allowed to sign in
    /// (default [`EntraTenants::AnyTenantCanSignIn`]).
    pub entra_tenants: EntraTenants,
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
            entra_tenants: EntraTenants::AnyTenantCanSignIn,
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

    /// The issuer a token must carry, template filled from `tid` when so configured: `tid`
    /// must then be a canonical GUID (8-4-4-4-12 hex digits) and, with
    /// [`EntraTenants::Only`], one of the allowed tenants.
    pub fn expected_issuer(&self, tid: Option<&str>) -> Result<String> {
        if !self.issuer_is_entra_template {
            return Ok(self.issuer.clone());
        }
        let tid = tid.ok_or(Error::MissingClaim { claim: "tid" })?;
        // A tenant id is a GUID; anything else could smuggle another issuer in.
        if !is_canonical_guid(tid) {
            return Err(Error::InvalidClaim {
                claim: "tid",
                reason: format!(
                    "{:?} is not a tenant GUID (8-4-4-4-12 hex digits)",
                    crate::error::sanitize(tid, 64)
                ),
            });
        }
        if let EntraTenants::Only(allowed) = &self.entra_tenants
            && !allowed.iter().any(|a| a.eq_ignore_ascii_case(tid))
        {
            return Err(Error::TenantNotAllowed {
                tid: tid.to_owned(),
            });
        }
        Ok(self.issuer.replace(TENANT_PLACEHOLDER, tid))
    }
}

/// Whether `s` is a GUID in its canonical text form: 36 characters, hex digits in groups of
/// 8, 4, 4, 4 and 12 separated by hyphens (either case).
pub fn is_canonical_guid(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
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
    /// The payload as sent (JSON text); [`IdTokenClaims::all`] parses it.
    #[serde(skip)]
    pub raw: String,
}

impl IdTokenClaims {
    /// Every claim of the token as sent, for mapping custom claims.
    pub fn all(&self) -> Map<String, Value> {
        // The payload parsed as a JSON object during validation, so this cannot fail; an
        // empty map would be the answer if it somehow did.
        serde_json::from_str(&self.raw).unwrap_or_default()
    }
}

/// The registered claims, each kept as raw JSON until its type is checked; other claims are
/// skipped without being decoded. A claim that appears twice rejects the token.
#[derive(Default)]
pub(crate) struct RawClaims<'a> {
    pub(crate) iss: Option<&'a RawValue>,
    pub(crate) sub: Option<&'a RawValue>,
    pub(crate) aud: Option<&'a RawValue>,
    pub(crate) azp: Option<&'a RawValue>,
    pub(crate) exp: Option<&'a RawValue>,
    pub(crate) iat: Option<&'a RawValue>,
    pub(crate) nbf: Option<&'a RawValue>,
    pub(crate) auth_time: Option<&'a RawValue>,
    pub(crate) nonce: Option<&'a RawValue>,
    pub(crate) at_hash: Option<&'a RawValue>,
    pub(crate) c_hash: Option<&'a RawValue>,
    pub(crate) acr: Option<&'a RawValue>,
    pub(crate) amr: Option<&'a RawValue>,
    pub(crate) sid: Option<&'a RawValue>,
    pub(crate) email: Option<&'a RawValue>,
    pub(crate) email_verified: Option<&'a RawValue>,
    pub(crate) name: Option<&'a RawValue>,
    pub(crate) given_name: Option<&'a RawValue>,
    pub(crate) family_name: Option<&'a RawValue>,
    pub(crate) preferred_username: Option<&'a RawValue>,
    pub(crate) tid: Option<&'a RawValue>,
    pub(crate) jti: Option<&'a RawValue>,
    pub(crate) events: Option<&'a RawValue>,
}

impl<'a> RawClaims<'a> {
    /// Parses the payload: it must be a JSON object (an array or any other value is an
    /// error), with no claim name twice.
    pub(crate) fn parse(payload: &'a str) -> Result<Self> {
        let json_error = |reason: String| Error::Json {
            segment: "payload",
            reason,
        };
        let mut c = Self::default();
        for (name, value) in crate::json::object_members(payload.as_bytes()).map_err(json_error)? {
            let slot = match name.as_ref() {
                "iss" => &mut c.iss,
                "sub" => &mut c.sub,
                "aud" => &mut c.aud,
                "azp" => &mut c.azp,
                "exp" => &mut c.exp,
                "iat" => &mut c.iat,
                "nbf" => &mut c.nbf,
                "auth_time" => &mut c.auth_time,
                "nonce" => &mut c.nonce,
                "at_hash" => &mut c.at_hash,
                "c_hash" => &mut c.c_hash,
                "acr" => &mut c.acr,
                "amr" => &mut c.amr,
                "sid" => &mut c.sid,
                "email" => &mut c.email,
                "email_verified" => &mut c.email_verified,
                "name" => &mut c.name,
                "given_name" => &mut c.given_name,
                "family_name" => &mut c.family_name,
                "preferred_username" => &mut c.preferred_username,
                "tid" => &mut c.tid,
                "jti" => &mut c.jti,
                "events" => &mut c.events,
                _ => continue,
            };
            // `object_members` has rejected duplicate names.
            *slot = Some(value);
        }
        Ok(c)
    }
}

/// A token whose signature verified, claims not yet checked. `Debug` shows the header only.
pub(crate) struct VerifiedJws {
    pub(crate) header: Header,
    pub(crate) payload: String,
    /// The type of the key that verified the signature (`None` for HMAC): EdDSA's token
    /// hashes depend on the curve.
    pub(crate) key_type: Option<openssl::pkey::Id>,
}

impl std::fmt::Debug for VerifiedJws {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedJws")
            .field("header", &self.header)
            .finish_non_exhaustive()
    }
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
        jws.verify_hmac(secret.expose().as_bytes())?.then_some(None)
    } else {
        if !config.allowed_algorithms.contains(&alg) {
            return Err(Error::AlgNotAllowed {
                alg: alg.name().into(),
                reason: "not in the connection's allow-list",
            });
        }
        let mut verified_by = None;
        for key in keys.candidates(jws.header.kid.as_deref(), alg)? {
            if jws.verify_with(key.public_key())? {
                verified_by = Some(Some(key.public_key().id()));
                break;
            }
        }
        verified_by
    };
    let Some(key_type) = verified else {
        return Err(Error::BadSignature {
            alg: alg.name().into(),
            kid: jws.header.kid.clone(),
        });
    };
    Ok(VerifiedJws {
        header: jws.header,
        payload: jws.payload,
        key_type,
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
    let VerifiedJws {
        header,
        payload,
        key_type,
    } = verify_jws(token, keys, config)?;
    // OpenID Connect defines no `typ` for ID tokens; RFC 7519 suggests `JWT`. Explicit
    // typing of other JWTs of the provider (logout tokens, access tokens) keeps them from
    // passing as ID tokens.
    crate::jws::check_typ(header.typ.as_deref(), &["jwt"], "JWT")?;
    let c = RawClaims::parse(&payload)?;
    if c.events.is_some() {
        return Err(Error::InvalidClaim {
            claim: "events",
            reason: "an ID token carries no events (this is a logout token)".into(),
        });
    }
    let checked = check_common(&c, config, now)?;

    let nonce = opt_str(c.nonce, "nonce")?;
    if let Some(expected) = expect.nonce {
        let actual = nonce
            .as_deref()
            .ok_or(Error::MissingClaim { claim: "nonce" })?;
        if expected.len() != actual.len()
            || !openssl::memcmp::eq(expected.as_bytes(), actual.as_bytes())
        {
            return Err(Error::NonceMismatch);
        }
    }

    if let Some(token) = expect.access_token
        && let Some(actual) = opt_str(c.at_hash, "at_hash")?
    {
        check_hash("at_hash", header.alg, key_type, token, &actual)?;
    }
    if let Some(code) = expect.code
        && let Some(actual) = opt_str(c.c_hash, "c_hash")?
    {
        check_hash("c_hash", header.alg, key_type, code, &actual)?;
    }

    let auth_time = opt_time(c.auth_time, "auth_time")?;
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

    let email_verified = match c.email_verified {
        None => None,
        Some(raw) => match serde_json::from_str::<Value>(raw.get()) {
            Ok(Value::Bool(b)) => Some(b),
            Ok(Value::String(s)) if config.profile.email_verified_as_string => match s.as_str() {
                "true" => Some(true),
                "false" => Some(false),
                _ => {
                    return Err(Error::InvalidClaim {
                        claim: "email_verified",
                        reason: format!("string {s:?} is neither \"true\" nor \"false\""),
                    });
                }
            },
            _ => {
                return Err(Error::InvalidClaim {
                    claim: "email_verified",
                    reason: "not a boolean".into(),
                });
            }
        },
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
        acr: opt_str(c.acr, "acr")?,
        amr: opt_str_list(c.amr, "amr")?,
        sid: opt_str(c.sid, "sid")?,
        email: opt_str(c.email, "email")?,
        email_verified,
        name: opt_str(c.name, "name")?,
        given_name: opt_str(c.given_name, "given_name")?,
        family_name: opt_str(c.family_name, "family_name")?,
        preferred_username: opt_str(c.preferred_username, "preferred_username")?,
        tid: checked.tid,
        raw: payload,
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
    pub(crate) tid: Option<String>,
}

/// `iss`, `aud`, `azp`, `exp` (required for ID tokens, checked by the caller), `iat`, `nbf`
/// and the shape of `sub`.
pub(crate) fn check_common(
    c: &RawClaims<'_>,
    config: &ValidationConfig,
    now: i64,
) -> Result<CommonClaims> {
    let iss = opt_str(c.iss, "iss")?.ok_or(Error::MissingClaim { claim: "iss" })?;
    let tid = opt_str(c.tid, "tid")?;
    let matches = if config.issuer_is_entra_template {
        iss == config.expected_issuer(tid.as_deref())?
    } else {
        iss == config.issuer
    };
    if !matches {
        return Err(Error::IssuerMismatch {
            expected: config.expected_issuer(tid.as_deref())?,
            actual: crate::error::sanitize(&iss, 256),
        });
    }

    let aud = match c.aud {
        None => return Err(Error::MissingClaim { claim: "aud" }),
        Some(raw) => match serde_json::from_str::<Value>(raw.get()) {
            Ok(Value::String(s)) => vec![s],
            Ok(Value::Array(items)) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    match item {
                        Value::String(s) => out.push(s),
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
            _ => {
                return Err(Error::InvalidClaim {
                    claim: "aud",
                    reason: "neither a string nor an array".into(),
                });
            }
        },
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

    let azp = opt_str(c.azp, "azp")?;
    if (aud.len() > 1 || azp.is_some()) && azp.as_deref() != Some(config.client_id.as_str()) {
        return Err(Error::AzpMismatch {
            client_id: config.client_id.clone(),
            actual: azp,
        });
    }

    let leeway = config.leeway_secs;
    let exp = opt_time(c.exp, "exp")?;
    if let Some(exp) = exp
        && now >= exp.saturating_add(leeway)
    {
        return Err(Error::Expired { exp, now, leeway });
    }
    let iat = opt_time(c.iat, "iat")?.ok_or(Error::MissingClaim { claim: "iat" })?;
    if iat > now.saturating_add(leeway) {
        return Err(Error::IssuedInFuture { iat, now, leeway });
    }
    let nbf = opt_time(c.nbf, "nbf")?;
    if let Some(nbf) = nbf
        && nbf > now.saturating_add(leeway)
    {
        return Err(Error::NotYetValid { nbf, now, leeway });
    }

    let sub = opt_str(c.sub, "sub")?;
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
        tid,
    })
}

fn check_hash(
    claim: &'static str,
    alg: Algorithm,
    key_type: Option<openssl::pkey::Id>,
    value: &str,
    actual: &str,
) -> Result<()> {
    let expected = crate::jws::left_half_hash_for_key(alg, key_type, value)?;
    if expected != actual {
        return Err(Error::HashMismatch {
            claim,
            expected,
            actual: crate::error::sanitize(actual, 128),
        });
    }
    Ok(())
}

/// An optional string claim; null counts as absent, another type is an error.
pub(crate) fn opt_str(raw: Option<&RawValue>, claim: &'static str) -> Result<Option<String>> {
    match raw {
        None => Ok(None),
        Some(raw) => {
            serde_json::from_str::<Option<String>>(raw.get()).map_err(|_| Error::InvalidClaim {
                claim,
                reason: "not a string".into(),
            })
        }
    }
}

fn opt_str_list(raw: Option<&RawValue>, claim: &'static str) -> Result<Option<Vec<String>>> {
    match raw {
        None => Ok(None),
        Some(raw) => serde_json::from_str::<Option<Vec<String>>>(raw.get()).map_err(|_| {
            Error::InvalidClaim {
                claim,
                reason: "not an array of strings".into(),
            }
        }),
    }
}

/// An optional NumericDate claim (seconds, fractions truncated).
pub(crate) fn opt_time(raw: Option<&RawValue>, claim: &'static str) -> Result<Option<i64>> {
    let Some(raw) = raw else {
        return Ok(None);
    };
    let invalid = |reason: &str| Error::InvalidClaim {
        claim,
        reason: reason.into(),
    };
    let number = match serde_json::from_str::<Option<serde_json::Number>>(raw.get()) {
        Ok(Some(n)) => n,
        Ok(None) => return Ok(None),
        Err(_) => return Err(invalid("not a number")),
    };
    if let Some(i) = number.as_i64() {
        return Ok(Some(i));
    }
    match number.as_f64() {
        Some(f) if f.is_finite() && f.abs() < 1e15 => Ok(Some(f.trunc() as i64)),
        _ => Err(invalid("not a NumericDate in range")),
    }
}
