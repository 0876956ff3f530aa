//! The SAML side of the orchestration: the AuthnRequest from a connection's settings, and
//! the `saml-sp` stores bridged to the tenant stores.
//!
//! - `TakenRequest` is the `saml_sp::RequestStore` of one finishing login: the request id
//!   recorded in the login state that was just taken from the tenant [`LoginStateStore`]
//!   (so one-time use is the tenant store's, across nodes with `gatehouse-store-sql`); a
//!   Response must answer exactly that request.
//! - [`TenantReplayCache`] is `saml_sp::ReplayCache` over the tenant [`ReplayCache`], with
//!   the scope `saml:<IdP entity id>`.
//!
//! [`LoginStateStore`]: crate::store::LoginStateStore

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use saml_sp::dsig::{SignatureAlgorithm, SigningKey, certificate_from_pem};
use saml_sp::xml::Document;
use saml_sp::{
    AuthnRequest, FixedClock, IdentityProvider, ResponseValidator, SamlError, ServiceProvider,
    ValidationOptions, VerifiedAssertion,
};
use serde_json::Value;
use time::OffsetDateTime;

use super::{
    BrowserAction, Known, LoginError, LoginFinished, LoginRequest, LoginService, OneShot, Pending,
    SamlBinding, SsoProfile, SsoProtocol, StateData, random_token, single,
};
use crate::id::ConnectionId;
use crate::model::{Connection, Protocol, SamlConnection};
use crate::store::ReplayCache;

const EMAIL_FORMAT: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";

/// Builds the AuthnRequest, stores the state and returns the browser action.
pub(super) async fn start(
    service: &LoginService,
    pending: &Pending<'_>,
    saml: &SamlConnection,
    request: &LoginRequest,
    now: OffsetDateTime,
) -> Result<(String, BrowserAction), LoginError> {
    let connection = pending.connection;
    let mut authn = AuthnRequest::new(&saml.sp_entity_id, &saml.acs_url, &saml.sso_url, now)?;
    authn.force_authn = request.force_authn;
    let key = if saml.sign_authn_requests {
        Some(
            sp_key(service, connection, saml)?.ok_or_else(|| LoginError::Config {
                connection: connection.id.clone(),
                reason: "sign_authn_requests needs an SP key".into(),
            })?,
        )
    } else {
        None
    };
    let signing = key.as_ref().map(|k| (k, SignatureAlgorithm::RsaSha256));
    let state = random_token();
    service
        .put_state(
            pending,
            &state,
            &StateData::Saml {
                request_id: authn.id.clone(),
            },
        )
        .await?;
    let action = match service.settings.saml_binding {
        SamlBinding::Redirect => {
            BrowserAction::Redirect(authn.redirect_url(Some(&state), signing)?)
        }
        SamlBinding::Post => BrowserAction::PostForm(authn.post_form(Some(&state), signing)?),
    };
    Ok((state, action))
}

/// Takes the state, validates the Response and builds the profile.
pub(super) async fn finish(
    service: &LoginService,
    known: &mut Known,
    connection_id: &ConnectionId,
    saml_response: &str,
    relay_state: Option<&str>,
    browser_binding: Option<&str>,
) -> Result<LoginFinished, LoginError> {
    let connection = service.enabled_connection(connection_id).await?;
    known.connection(&connection);
    let Protocol::Saml(saml) = &connection.protocol else {
        return Err(LoginError::WrongProtocol {
            connection: connection.id.clone(),
            expected: "SAML",
        });
    };

    let taken = match relay_state {
        // Without a browser binding the RelayState is no state of ours: on a connection
        // that allows IdP-initiated logins it is the IdP's RelayState.
        Some(rs) => match service.take_state(rs, browser_binding).await {
            Err(LoginError::BrowserBinding) if saml.allow_idp_initiated => None,
            other => other?,
        },
        None => None,
    };
    let (request_id, return_to) = match taken {
        Some((state, data)) => {
            let StateData::Saml { request_id } = data else {
                return Err(LoginError::StateMismatch {
                    expected: format!("OIDC connection {}", state.connection),
                });
            };
            if state.connection != connection.id {
                return Err(LoginError::StateMismatch {
                    expected: format!("SAML connection {}", state.connection),
                });
            }
            (Some(request_id), state.return_to)
        }
        // IdP-initiated: no state, and saml-sp refuses any InResponseTo (no request is
        // pending). The RelayState is a redirect target only if the policy allows it.
        None if saml.allow_idp_initiated => (
            None,
            relay_state.and_then(|rs| service.redirects.check(rs).ok().map(str::to_owned)),
        ),
        None => return Err(LoginError::UnknownState),
    };

    let xml = decode_post(saml_response, &ValidationOptions::default())?;
    if saml.require_encrypted_assertions && !has_encrypted_assertion(&xml)? {
        return Err(LoginError::AssertionNotEncrypted);
    }
    let validator = validator(service, &connection, saml, request_id)?;
    let assertion = validator.validate_xml(&xml).await?;

    let profile = profile(&connection, saml, &assertion)?;
    let org = service.organization(&connection.organization).await?;
    service.enforce_domains(&org, &profile).await?;
    Ok(LoginFinished { profile, return_to })
}

/// The decrypted SP key of a connection, if it has one.
pub(super) fn sp_key(
    service: &LoginService,
    connection: &Connection,
    saml: &SamlConnection,
) -> Result<Option<SigningKey>, LoginError> {
    let Some(pair) = &saml.sp_key else {
        return Ok(None);
    };
    let pem = service.key.decrypt(
        &pair.private_key,
        &connection.secret_context("saml.sp_private_key"),
    )?;
    SigningKey::from_pem(
        pem.expose_secret().as_bytes(),
        Some(pair.certificate.pem.as_bytes()),
    )
    .map(Some)
    .map_err(|e| LoginError::Config {
        connection: connection.id.clone(),
        reason: format!("SP key: {}", e.check()),
    })
}

fn validator(
    service: &LoginService,
    connection: &Connection,
    saml: &SamlConnection,
    request_id: Option<String>,
) -> Result<ResponseValidator, LoginError> {
    let certificates = saml
        .trusted_certificates
        .iter()
        .map(|c| certificate_from_pem(c.pem.as_bytes()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| LoginError::Config {
            connection: connection.id.clone(),
            reason: format!("trusted certificate: {e}"),
        })?;
    let options = ValidationOptions {
        clock_skew: service.settings.saml_clock_skew,
        allow_idp_initiated: saml.allow_idp_initiated,
        allow_sha1_insecure: saml.allow_sha1_insecure,
        ..ValidationOptions::default()
    };
    let mut validator = ResponseValidator::new(
        ServiceProvider {
            entity_id: saml.sp_entity_id.clone(),
            acs_url: saml.acs_url.clone(),
        },
        IdentityProvider {
            entity_id: saml.idp_entity_id.clone(),
            certificates,
        },
        Arc::new(TakenRequest(OneShot::new(request_id))),
        Arc::new(TenantReplayCache {
            cache: service.replay.clone(),
            scope: format!("saml:{}", saml.idp_entity_id),
        }),
    )
    .with_options(options)
    .with_clock(Arc::new(FixedClock(service.clock.now())));
    if let Some(key) = sp_key(service, connection, saml)? {
        validator = validator.with_decryption_keys(vec![key]);
    }
    Ok(validator)
}

/// The base64 `SAMLResponse` field, decoded within the parser's size limit.
fn decode_post(saml_response: &str, options: &ValidationOptions) -> Result<Vec<u8>, SamlError> {
    let limit = options.xml_limits.max_bytes;
    let decoded_len = saml_response.len() / 4 * 3;
    if decoded_len > limit + limit / 8 + 16 {
        return Err(SamlError::XmlTooLarge {
            size: decoded_len,
            max: limit,
        });
    }
    let compact: Vec<u8> = saml_response
        .bytes()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    STANDARD
        .decode(compact)
        .map_err(|e| SamlError::Base64(e.to_string()))
}

/// Whether the Response carries its assertion as an EncryptedAssertion (and no plain one).
fn has_encrypted_assertion(xml: &[u8]) -> Result<bool, SamlError> {
    let doc = Document::parse(xml, &ValidationOptions::default().xml_limits)?;
    let root = doc.root();
    let plain = doc
        .children_named(root, saml_sp::SAML_ASSERTION_NS, "Assertion")
        .count();
    let encrypted = doc
        .children_named(root, saml_sp::SAML_ASSERTION_NS, "EncryptedAssertion")
        .count();
    Ok(plain == 0 && encrypted > 0)
}

/// The profile of a verified assertion, by the connection's attribute mapping.
fn profile(
    connection: &Connection,
    saml: &SamlConnection,
    assertion: &VerifiedAssertion,
) -> Result<SsoProfile, LoginError> {
    // Attributes by name, the values of repeated names joined, in document order.
    let mut attributes: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for a in &assertion.attributes {
        attributes
            .entry(a.name.clone())
            .or_default()
            .extend(a.values.iter().cloned());
    }
    let values = |name: &Option<String>| -> &[String] {
        name.as_ref()
            .and_then(|n| attributes.get(n))
            .map_or(&[], Vec::as_slice)
    };
    let one = |field: &'static str, name: &Option<String>| -> Result<Option<String>, LoginError> {
        Ok(single(field, name.as_deref().unwrap_or_default(), values(name))?.cloned())
    };
    let m = &saml.attribute_mapping;
    let email = match &m.email {
        Some(_) => one("email", &m.email)?,
        None if assertion.name_id.format.as_deref() == Some(EMAIL_FORMAT) => {
            Some(assertion.name_id.value.clone())
        }
        None => None,
    };
    let mut extra = BTreeMap::new();
    for (field, attribute) in &m.extra {
        if let Some(v) = attributes.get(attribute) {
            extra.insert(field.clone(), v.clone());
        }
    }
    let display_name = match m.extra.get("display_name") {
        Some(attribute) => {
            single("display_name", attribute, values(&Some(attribute.clone())))?.cloned()
        }
        None => None,
    };
    Ok(SsoProfile {
        organization: connection.organization.clone(),
        connection: connection.id.clone(),
        protocol: SsoProtocol::Saml,
        subject: assertion.name_id.value.clone(),
        subject_format: assertion.name_id.format.clone(),
        issuer: assertion.issuer.clone(),
        email,
        email_verified: None,
        given_name: one("given_name", &m.given_name)?,
        family_name: one("family_name", &m.family_name)?,
        display_name,
        groups: values(&m.groups).to_vec(),
        extra,
        raw: attributes
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    Value::Array(v.iter().cloned().map(Value::String).collect()),
                )
            })
            .collect(),
        session_index: assertion.session_index.clone(),
        authn_instant: Some(assertion.authn_instant),
    })
}

/// The `saml_sp::RequestStore` of one finishing login: it holds the request id of the
/// login state just taken, and answers `take` for that id once.
struct TakenRequest(OneShot<String>);

#[async_trait]
impl saml_sp::RequestStore for TakenRequest {
    async fn insert(&self, _request_id: &str, _expires_at: OffsetDateTime) -> saml_sp::Result<()> {
        // Requests are recorded in the tenant login state when the login starts.
        Err(SamlError::Store(
            "requests are recorded in the tenant login state".into(),
        ))
    }

    async fn take(&self, request_id: &str, _now: OffsetDateTime) -> saml_sp::Result<bool> {
        // The state's expiry was checked when the tenant store gave it out.
        Ok(self.0.take().is_some_and(|id| id == request_id))
    }
}

/// `saml_sp::ReplayCache` over the tenant [`ReplayCache`], in one scope.
pub struct TenantReplayCache {
    cache: Arc<dyn ReplayCache>,
    scope: String,
}

impl std::fmt::Debug for TenantReplayCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TenantReplayCache({})", self.scope)
    }
}

impl TenantReplayCache {
    /// Assertion ids of `scope` (such as `saml:<IdP entity id>`) in `cache`.
    pub fn new(cache: Arc<dyn ReplayCache>, scope: impl Into<String>) -> Self {
        Self {
            cache,
            scope: scope.into(),
        }
    }
}

#[async_trait]
impl saml_sp::ReplayCache for TenantReplayCache {
    async fn insert_once(
        &self,
        assertion_id: &str,
        expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> saml_sp::Result<bool> {
        self.cache
            .accept_once(&self.scope, assertion_id, expires_at, now)
            .await
            .map_err(|e| SamlError::Store(e.to_string()))
    }
}
