//! The configuration records: organizations, email domains, SAML and OIDC connections, and
//! SCIM directories, each with the checks that run when it is saved.

use std::collections::BTreeMap;

use openssl::asn1::Asn1Time;
use openssl::hash::MessageDigest;
use openssl::x509::X509;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::TenantError;
use crate::id::{ConnectionId, DirectoryId, DomainName, OrganizationId};
use crate::login::SamlBinding;
use crate::secret::EncryptedSecret;

/// The longest free-text field (names, entity ids, URLs) accepted.
pub const MAX_TEXT_LEN: usize = 2048;
/// The most trusted certificates one SAML connection may hold.
pub const MAX_CERTIFICATES: usize = 8;

/// A customer organization: the tenant that owns domains, connections and directories.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organization {
    /// The organization's id.
    pub id: OrganizationId,
    /// Its display name.
    pub name: String,
    /// Whether a verified domain also covers its subdomains in home-realm discovery.
    #[serde(default)]
    pub allow_subdomains: bool,
    /// Whether a login must end with an email address in one of the organization's verified
    /// domains.
    #[serde(default)]
    pub enforce_email_domains: bool,
    /// The connection home-realm discovery leads to; without it, the first enabled one.
    #[serde(default)]
    pub default_connection: Option<ConnectionId>,
}

impl Organization {
    /// A new organization with a generated id and the defaults (no subdomains, domain
    /// enforcement on).
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            id: OrganizationId::generate(),
            name: name.into(),
            allow_subdomains: false,
            enforce_email_domains: true,
            default_connection: None,
        }
    }

    /// The checks run on save.
    pub fn validate(&self) -> Result<(), TenantError> {
        check_text("organization.name", &self.name, true)
    }
}

/// An email domain claimed by an organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Domain {
    /// The domain.
    pub name: DomainName,
    /// The organization that claims it.
    pub organization: OrganizationId,
    /// The DNS TXT challenge value the organization must publish.
    pub challenge: String,
    /// Whether, and when, the challenge was found in DNS.
    pub verification: Verification,
}

/// The verification state of a [`Domain`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Verification {
    /// Claimed, the challenge not yet found.
    Pending,
    /// The challenge was found at this time.
    Verified {
        /// When.
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
}

impl Domain {
    /// Whether the domain is verified.
    pub fn is_verified(&self) -> bool {
        matches!(self.verification, Verification::Verified { .. })
    }

    /// The DNS name where the challenge TXT record goes: `_gatehouse-challenge.<domain>`.
    pub fn challenge_record(&self) -> String {
        format!("_gatehouse-challenge.{}", self.name)
    }
}

/// A SAML or OIDC connection of an organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connection {
    /// The connection's id.
    pub id: ConnectionId,
    /// The organization it belongs to.
    pub organization: OrganizationId,
    /// Its display name.
    pub name: String,
    /// Whether logins may use it.
    pub enabled: bool,
    /// The protocol and its settings.
    pub protocol: Protocol,
}

/// The protocol of a [`Connection`] and its settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Protocol {
    /// SAML 2.0.
    Saml(SamlConnection),
    /// OpenID Connect.
    Oidc(OidcConnection),
}

impl Connection {
    /// The checks run on save; `now` is used for certificate validity.
    pub fn validate(&self, now: OffsetDateTime) -> Result<(), TenantError> {
        check_text("connection.name", &self.name, true)?;
        match &self.protocol {
            Protocol::Saml(saml) => saml.validate(now),
            Protocol::Oidc(oidc) => oidc.validate(),
        }
    }

    /// The associated data an encrypted secret of this connection is bound to, such as
    /// `oidc.client_secret:conn_1`.
    pub fn secret_context(&self, field: &str) -> String {
        format!("{field}:{}", self.id)
    }
}

/// The settings of a SAML 2.0 connection (this service is the SP).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SamlConnection {
    /// The IdP's entity id (the expected `Issuer`).
    pub idp_entity_id: String,
    /// The IdP's single sign-on URL (HTTP-Redirect or HTTP-POST binding).
    pub sso_url: String,
    /// Where the IdP metadata can be refreshed from, if anywhere.
    #[serde(default)]
    pub metadata_url: Option<String>,
    /// The IdP signing certificates trusted for this connection (several during rollover).
    pub trusted_certificates: Vec<TrustedCertificate>,
    /// This SP's entity id for the connection (the expected `Audience`).
    pub sp_entity_id: String,
    /// This SP's assertion consumer service URL for the connection.
    pub acs_url: String,
    /// Which SAML attributes hold the profile fields.
    pub attribute_mapping: AttributeMapping,
    /// Whether unsolicited (IdP-initiated) responses are accepted. Off by default.
    #[serde(default)]
    pub allow_idp_initiated: bool,
    /// Whether AuthnRequests are signed with the SP key.
    #[serde(default)]
    pub sign_authn_requests: bool,
    /// Whether assertions must arrive encrypted to the SP key.
    #[serde(default)]
    pub require_encrypted_assertions: bool,
    /// Accept RSA-SHA1 and SHA-1 digests. Insecure; off by default.
    #[serde(default)]
    pub allow_sha1_insecure: bool,
    /// The SP key pair, needed to sign requests or decrypt assertions.
    #[serde(default)]
    pub sp_key: Option<SpKeyPair>,
    /// This SP's single logout URL for the connection (the `/saml/{connection}/slo` route),
    /// published in SP metadata; where the IdP sends LogoutRequests and LogoutResponses.
    #[serde(default)]
    pub slo_url: Option<String>,
    /// The IdP's single logout URL; `None` means no Single Logout with this IdP.
    #[serde(default)]
    pub idp_slo_url: Option<String>,
    /// The binding of the IdP's single logout URL (default HTTP-Redirect).
    #[serde(default)]
    pub idp_slo_binding: SamlBinding,
}

/// The SP's certificate and its private key, encrypted at rest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpKeyPair {
    /// The SP certificate published in SP metadata.
    pub certificate: TrustedCertificate,
    /// The PEM private key, encrypted with the host key under the context
    /// `saml.sp_private_key:<connection id>`.
    pub private_key: EncryptedSecret,
}

/// Which SAML attributes (by `Name`) hold the fields of a profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttributeMapping {
    /// The email attribute; `None` takes the NameID when it has the email format.
    #[serde(default)]
    pub email: Option<String>,
    /// The given-name attribute.
    #[serde(default)]
    pub given_name: Option<String>,
    /// The family-name attribute.
    #[serde(default)]
    pub family_name: Option<String>,
    /// The groups attribute.
    #[serde(default)]
    pub groups: Option<String>,
    /// Further profile fields: field name to attribute name.
    #[serde(default)]
    pub extra: BTreeMap<String, String>,
}

impl Default for AttributeMapping {
    /// The claim URIs that Entra ID, ADFS and others send.
    fn default() -> Self {
        Self {
            email: Some(
                "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress".into(),
            ),
            given_name: Some(
                "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname".into(),
            ),
            family_name: Some(
                "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname".into(),
            ),
            groups: None,
            extra: BTreeMap::new(),
        }
    }
}

impl SamlConnection {
    /// The checks run on save.
    pub fn validate(&self, now: OffsetDateTime) -> Result<(), TenantError> {
        check_text("saml.idp_entity_id", &self.idp_entity_id, true)?;
        check_https_url("saml.sso_url", &self.sso_url)?;
        if let Some(url) = &self.metadata_url {
            check_https_url("saml.metadata_url", url)?;
        }
        check_text("saml.sp_entity_id", &self.sp_entity_id, true)?;
        check_https_url("saml.acs_url", &self.acs_url)?;
        if self.trusted_certificates.is_empty() {
            return Err(TenantError::invalid(
                "saml.trusted_certificates",
                "at least one IdP signing certificate is required",
            ));
        }
        if self.trusted_certificates.len() > MAX_CERTIFICATES {
            return Err(TenantError::invalid(
                "saml.trusted_certificates",
                format!(
                    "at most {MAX_CERTIFICATES} certificates, got {}",
                    self.trusted_certificates.len()
                ),
            ));
        }
        for (i, cert) in self.trusted_certificates.iter().enumerate() {
            cert.validate(&format!("saml.trusted_certificates[{i}]"), now)?;
        }
        if let Some(key) = &self.sp_key {
            key.certificate.validate("saml.sp_key.certificate", now)?;
        }
        if let Some(url) = &self.slo_url {
            check_https_url("saml.slo_url", url)?;
        }
        if let Some(url) = &self.idp_slo_url {
            check_https_url("saml.idp_slo_url", url)?;
            // Logout messages are signed both ways, and the IdP answers at the SP's URL.
            if self.sp_key.is_none() {
                return Err(TenantError::invalid(
                    "saml.sp_key",
                    "required when idp_slo_url is set (logout messages are signed)",
                ));
            }
            if self.slo_url.is_none() {
                return Err(TenantError::invalid(
                    "saml.slo_url",
                    "required when idp_slo_url is set",
                ));
            }
        }
        if self.sign_authn_requests && self.sp_key.is_none() {
            return Err(TenantError::invalid(
                "saml.sp_key",
                "required when sign_authn_requests is on",
            ));
        }
        if self.require_encrypted_assertions && self.sp_key.is_none() {
            return Err(TenantError::invalid(
                "saml.sp_key",
                "required when require_encrypted_assertions is on",
            ));
        }
        let m = &self.attribute_mapping;
        for (field, value) in [
            ("email", &m.email),
            ("given_name", &m.given_name),
            ("family_name", &m.family_name),
            ("groups", &m.groups),
        ] {
            if let Some(v) = value {
                check_text(&format!("saml.attribute_mapping.{field}"), v, true)?;
            }
        }
        for (k, v) in &m.extra {
            check_text(&format!("saml.attribute_mapping.extra.{k}"), v, true)?;
        }
        Ok(())
    }
}

/// An X.509 certificate in PEM with the validity and fingerprint read from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustedCertificate {
    /// The certificate in PEM.
    pub pem: String,
    /// Its `notBefore`.
    #[serde(with = "time::serde::rfc3339")]
    pub not_before: OffsetDateTime,
    /// Its `notAfter`.
    #[serde(with = "time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
    /// The SHA-256 fingerprint of its DER form, lower-case hex.
    pub sha256_fingerprint: String,
}

impl TrustedCertificate {
    /// Parses one PEM certificate and reads its validity and fingerprint.
    pub fn from_pem(pem: &str) -> Result<Self, TenantError> {
        Self::parse("certificate", pem)
    }

    /// Whether it is within its validity at `now`.
    pub fn is_valid_at(&self, now: OffsetDateTime) -> bool {
        self.not_before <= now && now <= self.not_after
    }

    fn parse(field: &str, pem: &str) -> Result<Self, TenantError> {
        if pem.len() > 64 * 1024 {
            return Err(TenantError::invalid(field, "PEM longer than 64 KiB"));
        }
        let cert = X509::from_pem(pem.as_bytes())
            .map_err(|_| TenantError::invalid(field, "not a PEM X.509 certificate"))?;
        let der = cert
            .digest(MessageDigest::sha256())
            .map_err(|e| TenantError::invalid(field, format!("cannot hash: {e}")))?;
        Ok(Self {
            pem: pem.trim().to_owned(),
            not_before: asn1_to_time(field, cert.not_before())?,
            not_after: asn1_to_time(field, cert.not_after())?,
            sha256_fingerprint: hex::encode(der),
        })
    }

    fn validate(&self, field: &str, now: OffsetDateTime) -> Result<(), TenantError> {
        let parsed = Self::parse(field, &self.pem)?;
        if parsed != *self {
            return Err(TenantError::invalid(
                field,
                "validity or fingerprint do not match the PEM; build it with TrustedCertificate::from_pem",
            ));
        }
        if now > self.not_after {
            return Err(TenantError::invalid(
                field,
                format!(
                    "certificate {} expired at {}",
                    self.sha256_fingerprint, self.not_after
                ),
            ));
        }
        Ok(())
    }
}

fn asn1_to_time(
    field: &str,
    t: &openssl::asn1::Asn1TimeRef,
) -> Result<OffsetDateTime, TenantError> {
    let epoch =
        Asn1Time::from_unix(0).map_err(|e| TenantError::invalid(field, format!("time: {e}")))?;
    let diff = epoch
        .diff(t)
        .map_err(|e| TenantError::invalid(field, format!("time: {e}")))?;
    let secs = i64::from(diff.days) * 86_400 + i64::from(diff.secs);
    OffsetDateTime::from_unix_timestamp(secs)
        .map_err(|_| TenantError::invalid(field, "validity out of range"))
}

/// The settings of an OpenID Connect connection (this service is the RP).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OidcConnection {
    /// The issuer identifier; discovery reads `<issuer>/.well-known/openid-configuration`.
    pub issuer: String,
    /// The client id registered at the provider.
    pub client_id: String,
    /// The client secret, encrypted at rest under the context
    /// `oidc.client_secret:<connection id>`; `None` for a public client (PKCE only).
    #[serde(default)]
    pub client_secret: Option<EncryptedSecret>,
    /// The redirect URI registered at the provider.
    pub redirect_uri: String,
    /// The scopes requested; must include `openid`.
    pub scopes: Vec<String>,
    /// Which claims hold the profile fields.
    #[serde(default)]
    pub claim_mapping: ClaimMapping,
    /// The provider's known deviations.
    #[serde(default)]
    pub profile: ProviderProfile,
    /// Accept `email_verified` sent as the string `"true"` or `"false"` (Amazon Cognito and
    /// some custom claim mappings of ADFS and Okta do this). Off by default: a string is then
    /// a failed login (`oidc.claim_type`), not an unverified address.
    #[serde(default)]
    pub accept_email_verified_as_string: bool,
}

/// Which ID token or userinfo claims hold the fields of a profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimMapping {
    /// The email claim.
    pub email: String,
    /// The given-name claim.
    pub given_name: String,
    /// The family-name claim.
    pub family_name: String,
    /// The groups claim, if the provider sends one.
    #[serde(default)]
    pub groups: Option<String>,
}

impl Default for ClaimMapping {
    /// The standard claims of OpenID Connect Core section 5.1.
    fn default() -> Self {
        Self {
            email: "email".into(),
            given_name: "given_name".into(),
            family_name: "family_name".into(),
            groups: None,
        }
    }
}

/// A provider's known deviations from OpenID Connect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ProviderProfile {
    /// No deviation expected.
    #[default]
    Generic,
    /// Microsoft Entra ID; with `multi_tenant` the issuer holds the `{tenantid}` template.
    EntraId {
        /// Whether the issuer is the multi-tenant template.
        multi_tenant: bool,
    },
    /// Okta.
    Okta,
    /// Google Workspace.
    Google,
    /// Keycloak.
    Keycloak,
}

impl OidcConnection {
    /// The checks run on save.
    pub fn validate(&self) -> Result<(), TenantError> {
        check_https_url("oidc.issuer", &self.issuer)?;
        if self.issuer.contains('?') || self.issuer.contains('#') {
            return Err(TenantError::invalid(
                "oidc.issuer",
                "must not have a query or fragment",
            ));
        }
        let templated = self.issuer.contains("{tenantid}");
        if templated
            && !matches!(
                self.profile,
                ProviderProfile::EntraId { multi_tenant: true }
            )
        {
            return Err(TenantError::invalid(
                "oidc.issuer",
                "the {tenantid} template needs the entra_id profile with multi_tenant",
            ));
        }
        check_text("oidc.client_id", &self.client_id, true)?;
        check_https_url("oidc.redirect_uri", &self.redirect_uri)?;
        if !self.scopes.iter().any(|s| s == "openid") {
            return Err(TenantError::invalid(
                "oidc.scopes",
                "must include \"openid\"",
            ));
        }
        for (i, scope) in self.scopes.iter().enumerate() {
            // RFC 6749 section 3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
            let ok = !scope.is_empty()
                && scope
                    .bytes()
                    .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b));
            if !ok {
                return Err(TenantError::invalid(
                    format!("oidc.scopes[{i}]"),
                    format!("{scope:?} is not an RFC 6749 scope token"),
                ));
            }
        }
        let m = &self.claim_mapping;
        check_text("oidc.claim_mapping.email", &m.email, true)?;
        check_text("oidc.claim_mapping.given_name", &m.given_name, true)?;
        check_text("oidc.claim_mapping.family_name", &m.family_name, true)?;
        if let Some(g) = &m.groups {
            check_text("oidc.claim_mapping.groups", g, true)?;
        }
        Ok(())
    }
}

/// A SCIM directory: the provisioning endpoint of one organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScimDirectory {
    /// The directory's id.
    pub id: DirectoryId,
    /// The organization it provisions.
    pub organization: OrganizationId,
    /// Its display name.
    pub name: String,
    /// Whether requests are served.
    pub enabled: bool,
}

impl ScimDirectory {
    /// The checks run on save.
    pub fn validate(&self) -> Result<(), TenantError> {
        check_text("directory.name", &self.name, true)
    }
}

fn check_text(field: &str, value: &str, required: bool) -> Result<(), TenantError> {
    if required && value.trim().is_empty() {
        return Err(TenantError::invalid(field, "must not be empty"));
    }
    if value.len() > MAX_TEXT_LEN {
        return Err(TenantError::invalid(
            field,
            format!("longer than {MAX_TEXT_LEN} bytes ({})", value.len()),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(TenantError::invalid(field, "contains control characters"));
    }
    Ok(())
}

fn check_https_url(field: &str, value: &str) -> Result<(), TenantError> {
    check_text(field, value, true)?;
    let uri: http::Uri = value
        .parse()
        .map_err(|_| TenantError::invalid(field, format!("{value:?} is not a URL")))?;
    if uri.scheme_str() != Some("https") {
        return Err(TenantError::invalid(
            field,
            format!("{value:?} must use https"),
        ));
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(TenantError::invalid(
            field,
            format!("{value:?} has no host"),
        ));
    }
    Ok(())
}
