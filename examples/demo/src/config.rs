//! The demo's TOML configuration: organizations, their verified domains, sign-in
//! connections and SCIM directories.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sso_axum::{ScimToken, TokenHash, TokenHashError};

/// The loaded configuration. Plaintext tokens from the file are hashed while loading and
/// not kept.
#[derive(Debug, Clone)]
pub struct DemoConfig {
    /// The public URL of the SCIM root, when the demo runs behind a proxy; otherwise it is
    /// built from each request's `Host` header.
    pub public_base_url: Option<String>,
    /// The demo's own public URL (such as `http://127.0.0.1:8080`), from which the SAML ACS
    /// URLs, SP entity ids and OIDC redirect URIs are built; by default `http://` and the
    /// listening address.
    pub public_url: Option<String>,
    /// Whether the OIDC connections ask for `response_mode=form_post` (the file's
    /// `oidc_response_mode = "form_post"`; default `"query"`).
    pub oidc_form_post: bool,
    /// The organizations served, each with its own SCIM directory.
    pub organizations: Vec<Organization>,
    /// The binding AuthnRequests travel on (`saml_binding = "redirect"`, the default, or
    /// `"post"`); with metadata, the IdP's SSO endpoint of this binding is used.
    pub saml_binding: SamlBinding,
}

/// The binding of SAML AuthnRequests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SamlBinding {
    /// HTTP-Redirect.
    #[default]
    Redirect,
    /// HTTP-POST (an auto-submitting form).
    Post,
}

impl SamlBinding {
    fn uri(self) -> &'static str {
        match self {
            Self::Redirect => saml_sp::metadata::BINDING_REDIRECT,
            Self::Post => saml_sp::metadata::BINDING_POST,
        }
    }
}

/// One customer organization.
#[derive(Debug, Clone)]
pub struct Organization {
    /// A short, stable identifier such as `acme`.
    pub id: String,
    /// The display name.
    pub name: String,
    /// The organization's SCIM directory.
    pub scim: DirectoryConfig,
    /// Email domains the organization owns, taken as verified (a demo has no DNS check).
    pub domains: Vec<String>,
    /// Whether a login must carry an email in one of `domains` (default on).
    pub enforce_email_domains: bool,
    /// The organization's sign-in connections; home-realm discovery uses the first enabled.
    pub connections: Vec<ConnectionConfig>,
}

/// A sign-in connection of an organization.
#[derive(Clone)]
pub struct ConnectionConfig {
    /// The connection id, part of its URLs (`/sso/saml/{id}/acs`).
    pub id: String,
    /// A display name.
    pub name: String,
    /// Whether logins may use it (default on).
    pub enabled: bool,
    /// The protocol and its settings.
    pub protocol: ConnectionProtocol,
}

impl std::fmt::Debug for ConnectionConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionConfig")
            .field("id", &self.id)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

fn yes() -> bool {
    true
}

fn default_scopes() -> Vec<String> {
    ["openid", "email", "profile"].map(String::from).to_vec()
}

/// The protocol of a connection, by `protocol = "saml"` or `"oidc"`.
#[derive(Clone)]
pub enum ConnectionProtocol {
    /// SAML 2.0: the IdP's entity id, SSO URL and signing certificate, written out or read
    /// from the IdP's metadata (`idp_metadata`, an EntityDescriptor).
    Saml {
        /// The IdP entity id.
        idp_entity_id: String,
        /// The IdP's SSO URL (HTTP-Redirect binding).
        sso_url: String,
        /// The IdP's signing certificate (PEM), inline.
        idp_certificate: Option<String>,
        /// The IdP's signing certificate (PEM), a file relative to the configuration file.
        idp_certificate_file: Option<PathBuf>,
        /// Accept IdP-initiated Responses (off by default).
        allow_idp_initiated: bool,
        /// The SP certificate (PEM), published in the SP metadata for encryption.
        sp_certificate: Option<String>,
        /// The SP private key (PEM) of `sp_certificate`, which decrypts assertions.
        sp_private_key: Option<String>,
        /// Refuse assertions that are not encrypted to the SP key (off by default).
        require_encrypted_assertions: bool,
        /// The IdP's Single Logout URL (HTTP-Redirect binding); when set, the demo makes an
        /// SP key for the connection (published in the SP metadata) and serves Single Logout.
        idp_slo_url: Option<String>,
        /// Attribute names: `email`, `given_name`, `family_name`, `groups`, `display_name`.
        attributes: std::collections::BTreeMap<String, String>,
    },
    /// OpenID Connect: the issuer and the client registered there.
    Oidc {
        /// The issuer URL (discovery at `{issuer}/.well-known/openid-configuration`).
        issuer: String,
        /// The client id.
        client_id: String,
        /// The client secret (kept encrypted in the database).
        client_secret: Option<String>,
        /// Scopes (default `openid email profile`).
        scopes: Vec<String>,
    },
}

/// An organization's SCIM directory.
#[derive(Debug, Clone)]
pub struct DirectoryConfig {
    /// The directory's identifier, as it appears in logs.
    pub directory_id: String,
    /// The SHA-256 hash of the directory's bearer token.
    pub token_hash: TokenHash,
}

/// Why a configuration was rejected.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read the configuration file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML or does not have the expected fields.
    #[error("the configuration is not valid: {0}")]
    Syntax(#[from] toml::de::Error),
    /// A directory has neither or both of `token` and `token_sha256`.
    #[error(
        "organization \"{organization}\": the scim table needs exactly one of token and token_sha256"
    )]
    TokenSource {
        /// The organization's id.
        organization: String,
    },
    /// `token_sha256` is not 64 hexadecimal digits.
    #[error("organization \"{organization}\": token_sha256: {source}")]
    TokenHash {
        /// The organization's id.
        organization: String,
        /// What was wrong with the hash.
        source: TokenHashError,
    },
    /// Two organizations or two directories share an identifier.
    #[error("the identifier \"{0}\" is used twice")]
    DuplicateId(String),
    /// Two directories have the same token, so a token would not select one directory.
    #[error("organizations \"{first}\" and \"{second}\" have the same SCIM token")]
    DuplicateToken {
        /// The first organization with the token.
        first: String,
        /// The second one.
        second: String,
    },
    /// An empty identifier or token.
    #[error("organization \"{organization}\": {field} must not be empty")]
    Empty {
        /// The organization's id.
        organization: String,
        /// The empty field.
        field: &'static str,
    },
    /// A connection table misses a field of its protocol or has one it must not have.
    #[error("organization \"{organization}\", connection \"{connection}\": {field}")]
    ConnectionField {
        /// The organization's id.
        organization: String,
        /// The connection's id.
        connection: String,
        /// The field (or rule) at fault.
        field: &'static str,
    },
    /// A connection's `idp_metadata` is not usable IdP metadata.
    #[error("organization \"{organization}\", connection \"{connection}\": idp_metadata: {reason}")]
    IdpMetadata {
        /// The organization's id.
        organization: String,
        /// The connection's id.
        connection: String,
        /// Why the metadata was refused.
        reason: String,
    },
    /// No organization is configured.
    #[error("the configuration has no organizations")]
    NoOrganizations,
}

impl DemoConfig {
    /// The example configuration shipped with the demo, `examples/demo/demo.toml`: the path
    /// recorded at compile time if it still exists, otherwise relative to the current
    /// directory.
    pub fn default_path() -> PathBuf {
        let compiled = Path::new(env!("CARGO_MANIFEST_DIR")).join("demo.toml");
        if compiled.is_file() {
            compiled
        } else {
            PathBuf::from("examples/demo/demo.toml")
        }
    }

    /// Reads and checks a configuration file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let mut config = Self::from_toml(&text)?;
        let dir = path.parent().unwrap_or(Path::new("."));
        for org in &mut config.organizations {
            for c in &mut org.connections {
                if let ConnectionProtocol::Saml {
                    idp_certificate,
                    idp_certificate_file: Some(file),
                    ..
                } = &mut c.protocol
                {
                    let file = dir.join(&*file);
                    let pem =
                        std::fs::read_to_string(&file).map_err(|source| ConfigError::Read {
                            path: file.clone(),
                            source,
                        })?;
                    *idp_certificate = Some(pem);
                }
            }
        }
        Ok(config)
    }

    /// Parses and checks a configuration.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let raw: RawConfig = toml::from_str(text)?;
        if raw.organizations.is_empty() {
            return Err(ConfigError::NoOrganizations);
        }
        let saml_binding = match raw.saml_binding.as_deref() {
            None | Some("redirect") => SamlBinding::Redirect,
            Some("post") => SamlBinding::Post,
            Some(_) => {
                return Err(ConfigError::Syntax(serde::de::Error::custom(
                    "saml_binding: redirect or post",
                )));
            }
        };

        let mut organizations = Vec::with_capacity(raw.organizations.len());
        for org in raw.organizations {
            let token_hash = match (org.scim.token, org.scim.token_sha256) {
                (Some(token), None) if token.is_empty() => {
                    return Err(empty(&org.id, "scim.token"));
                }
                (Some(token), None) => ScimToken::new(token).hash(),
                (None, Some(hex)) => {
                    TokenHash::from_hex(&hex).map_err(|source| ConfigError::TokenHash {
                        organization: org.id.clone(),
                        source,
                    })?
                }
                _ => {
                    return Err(ConfigError::TokenSource {
                        organization: org.id,
                    });
                }
            };
            if org.id.is_empty() {
                return Err(empty("", "id"));
            }
            let directory_id = org.scim.directory_id.unwrap_or_else(|| org.id.clone());
            if directory_id.is_empty() {
                return Err(empty(&org.id, "scim.directory_id"));
            }
            let org_id_for_connections = org.id.clone();
            organizations.push(Organization {
                id: org.id,
                name: org.name,
                scim: DirectoryConfig {
                    directory_id,
                    token_hash,
                },
                domains: org.domains,
                enforce_email_domains: org.enforce_email_domains.unwrap_or(true),
                connections: org
                    .connections
                    .into_iter()
                    .map(|c| c.convert(&org_id_for_connections, saml_binding))
                    .collect::<Result<_, _>>()?,
            });
        }

        check_unique(&organizations)?;
        Ok(Self {
            public_base_url: raw.public_base_url,
            public_url: raw.public_url,
            oidc_form_post: raw.oidc_response_mode == RawResponseMode::FormPost,
            organizations,
            saml_binding,
        })
    }
}

fn empty(organization: &str, field: &'static str) -> ConfigError {
    ConfigError::Empty {
        organization: organization.to_owned(),
        field,
    }
}

fn check_unique(organizations: &[Organization]) -> Result<(), ConfigError> {
    let mut org_ids = HashSet::new();
    let mut dir_ids = HashSet::new();
    for org in organizations {
        if !org_ids.insert(org.id.as_str()) {
            return Err(ConfigError::DuplicateId(org.id.clone()));
        }
        if !dir_ids.insert(org.scim.directory_id.as_str()) {
            return Err(ConfigError::DuplicateId(org.scim.directory_id.clone()));
        }
    }
    for (i, a) in organizations.iter().enumerate() {
        for b in &organizations[i + 1..] {
            if same_hash(&a.scim.token_hash, &b.scim.token_hash) {
                return Err(ConfigError::DuplicateToken {
                    first: a.id.clone(),
                    second: b.id.clone(),
                });
            }
        }
    }
    Ok(())
}

/// Equality of two hashes from the file itself, checked once at load time: no presented
/// token is involved, so the comparison need not be constant-time.
fn same_hash(a: &TokenHash, b: &TokenHash) -> bool {
    a.as_bytes() == b.as_bytes()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    public_base_url: Option<String>,
    public_url: Option<String>,
    saml_binding: Option<String>,
    #[serde(default)]
    oidc_response_mode: RawResponseMode,
    #[serde(default)]
    organizations: Vec<RawOrganization>,
}

#[derive(Deserialize, Default, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum RawResponseMode {
    #[default]
    Query,
    FormPost,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOrganization {
    id: String,
    name: String,
    scim: RawDirectory,
    #[serde(default)]
    domains: Vec<String>,
    enforce_email_domains: Option<bool>,
    #[serde(default)]
    connections: Vec<RawConnection>,
}

/// A connection table as written: the fields of both protocols, checked against
/// `protocol` when converted, so that a misspelt or misplaced field is an error.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConnection {
    id: String,
    name: String,
    #[serde(default = "yes")]
    enabled: bool,
    protocol: String,
    idp_entity_id: Option<String>,
    sso_url: Option<String>,
    idp_certificate: Option<String>,
    idp_certificate_file: Option<PathBuf>,
    idp_metadata: Option<String>,
    #[serde(default)]
    allow_idp_initiated: bool,
    sp_certificate: Option<String>,
    sp_private_key: Option<String>,
    #[serde(default)]
    require_encrypted_assertions: bool,
    idp_slo_url: Option<String>,
    #[serde(default)]
    attributes: std::collections::BTreeMap<String, String>,
    issuer: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    scopes: Option<Vec<String>>,
}

impl RawConnection {
    fn convert(
        mut self,
        organization: &str,
        binding: SamlBinding,
    ) -> Result<ConnectionConfig, ConfigError> {
        let wrong = |field: &'static str| ConfigError::ConnectionField {
            organization: organization.to_owned(),
            connection: self.id.clone(),
            field,
        };
        let saml_fields = self.idp_entity_id.is_some()
            || self.sso_url.is_some()
            || self.idp_certificate.is_some()
            || self.idp_certificate_file.is_some()
            || self.idp_metadata.is_some()
            || self.allow_idp_initiated
            || self.sp_certificate.is_some()
            || self.sp_private_key.is_some()
            || self.require_encrypted_assertions
            || self.idp_slo_url.is_some()
            || !self.attributes.is_empty();
        let oidc_fields = self.issuer.is_some()
            || self.client_id.is_some()
            || self.client_secret.is_some()
            || self.scopes.is_some();
        let protocol = match self.protocol.as_str() {
            "saml" => {
                if oidc_fields {
                    return Err(wrong("an OIDC field in a SAML connection"));
                }
                if self
                    .attributes
                    .keys()
                    .any(|k| !ATTRIBUTE_FIELDS.contains(&k.as_str()))
                {
                    return Err(wrong(
                        "attributes: a key other than email, given_name, family_name, groups, display_name",
                    ));
                }
                if let Some(xml) = self.idp_metadata.take() {
                    if self.idp_entity_id.is_some()
                        || self.sso_url.is_some()
                        || self.idp_certificate.is_some()
                        || self.idp_certificate_file.is_some()
                    {
                        return Err(wrong(
                            "idp_metadata replaces idp_entity_id, sso_url and idp_certificate",
                        ));
                    }
                    let (entity_id, sso_url, pem) =
                        from_metadata(&xml, binding).map_err(|reason| {
                            ConfigError::IdpMetadata {
                                organization: organization.to_owned(),
                                connection: self.id.clone(),
                                reason,
                            }
                        })?;
                    self.idp_entity_id = Some(entity_id);
                    self.sso_url = Some(sso_url);
                    self.idp_certificate = Some(pem);
                }
                if self.idp_certificate.is_some() == self.idp_certificate_file.is_some() {
                    return Err(wrong(
                        "exactly one of idp_certificate and idp_certificate_file",
                    ));
                }
                if self.sp_certificate.is_some() != self.sp_private_key.is_some() {
                    return Err(wrong(
                        "both or neither of sp_certificate and sp_private_key",
                    ));
                }
                if self.require_encrypted_assertions && self.sp_private_key.is_none() {
                    return Err(wrong(
                        "require_encrypted_assertions needs sp_certificate and sp_private_key",
                    ));
                }
                ConnectionProtocol::Saml {
                    idp_entity_id: self
                        .idp_entity_id
                        .clone()
                        .ok_or_else(|| wrong("idp_entity_id"))?,
                    sso_url: self.sso_url.clone().ok_or_else(|| wrong("sso_url"))?,
                    idp_certificate: self.idp_certificate.clone(),
                    idp_certificate_file: self.idp_certificate_file.clone(),
                    allow_idp_initiated: self.allow_idp_initiated,
                    sp_certificate: self.sp_certificate.clone(),
                    sp_private_key: self.sp_private_key.clone(),
                    require_encrypted_assertions: self.require_encrypted_assertions,
                    idp_slo_url: self.idp_slo_url.clone(),
                    attributes: self.attributes.clone(),
                }
            }
            "oidc" => {
                if saml_fields {
                    return Err(wrong("a SAML field in an OIDC connection"));
                }
                ConnectionProtocol::Oidc {
                    issuer: self.issuer.clone().ok_or_else(|| wrong("issuer"))?,
                    client_id: self.client_id.clone().ok_or_else(|| wrong("client_id"))?,
                    client_secret: self.client_secret.clone(),
                    scopes: self.scopes.clone().unwrap_or_else(default_scopes),
                }
            }
            _ => return Err(wrong("protocol (saml or oidc)")),
        };
        Ok(ConnectionConfig {
            id: self.id,
            name: self.name,
            enabled: self.enabled,
            protocol,
        })
    }
}

/// The entity id, the SSO URL of `binding` and the first signing certificate (PEM) of an
/// IdP's metadata.
fn from_metadata(xml: &str, binding: SamlBinding) -> Result<(String, String, String), String> {
    let metadata = saml_sp::metadata::IdpMetadata::parse(xml.as_bytes(), None, None)
        .map_err(|e| e.to_string())?;
    let sso = metadata
        .single_sign_on_services
        .iter()
        .find(|e| e.binding == binding.uri())
        .ok_or_else(|| format!("no SingleSignOnService with the binding {}", binding.uri()))?;
    let certificate = metadata
        .signing_certificates
        .first()
        .ok_or("no signing certificate")?;
    let pem = certificate.to_pem().map_err(|e| e.to_string())?;
    let pem = String::from_utf8(pem).map_err(|e| e.to_string())?;
    Ok((metadata.entity_id, sso.location.clone(), pem))
}

/// The keys of a SAML connection's `attributes` table.
const ATTRIBUTE_FIELDS: [&str; 5] = [
    "email",
    "given_name",
    "family_name",
    "groups",
    "display_name",
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDirectory {
    directory_id: Option<String>,
    token: Option<String>,
    token_sha256: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_config_loads_and_hashes_tokens() {
        let config = DemoConfig::load(&DemoConfig::default_path());
        let config = match config {
            Ok(c) => c,
            Err(e) => panic!("demo.toml must load: {e}"),
        };
        let ids: Vec<_> = config.organizations.iter().map(|o| o.id.as_str()).collect();
        assert_eq!(ids, ["acme", "globex"]);
        assert_eq!(
            config.organizations[0].scim.token_hash.to_hex(),
            ScimToken::new("demo-acme-scim-token-not-secret")
                .hash()
                .to_hex()
        );
        assert_eq!(
            config.organizations[1].scim.token_hash.to_hex(),
            ScimToken::new("demo-globex-scim-token-not-secret")
                .hash()
                .to_hex()
        );
        assert!(!format!("{config:?}").contains("demo-acme-scim-token-not-secret"));
        assert_eq!(config.organizations[0].domains, ["acme.test"]);
        let acme = &config.organizations[0].connections;
        assert_eq!(acme.len(), 1);
        assert_eq!(acme[0].id, "acme-saml");
        match &acme[0].protocol {
            ConnectionProtocol::Saml {
                idp_certificate,
                allow_idp_initiated,
                attributes,
                ..
            } => {
                // Read from idp_certificate_file, relative to demo.toml.
                assert!(
                    idp_certificate
                        .as_deref()
                        .is_some_and(|p| p.starts_with("-----BEGIN CERTIFICATE-----"))
                );
                assert!(!allow_idp_initiated);
                assert_eq!(attributes["email"], "urn:oid:0.9.2342.19200300.100.1.3");
            }
            ConnectionProtocol::Oidc { .. } => panic!("acme-saml must be SAML"),
        }
        let globex = &config.organizations[1].connections;
        match &globex[0].protocol {
            ConnectionProtocol::Oidc { scopes, .. } => {
                assert_eq!(scopes, &["openid", "email", "profile"]);
            }
            ConnectionProtocol::Saml { .. } => panic!("globex-oidc must be OIDC"),
        }
        // The client secret stays out of Debug output.
        assert!(!format!("{config:?}").contains("demo-globex-client-secret"));
    }

    #[test]
    fn oidc_response_mode_is_query_by_default_form_post_on_request_and_nothing_else() {
        let org = r#"
            [[organizations]]
            id = "a"
            name = "A"
            scim = { token = "x" }
        "#;
        assert!(!DemoConfig::from_toml(org).unwrap().oidc_form_post);
        let form_post = format!("oidc_response_mode = \"form_post\"\n{org}");
        assert!(DemoConfig::from_toml(&form_post).unwrap().oidc_form_post);
        let query = format!("oidc_response_mode = \"query\"\n{org}");
        assert!(!DemoConfig::from_toml(&query).unwrap().oidc_form_post);
        let fragment = format!("oidc_response_mode = \"fragment\"\n{org}");
        assert!(matches!(
            DemoConfig::from_toml(&fragment),
            Err(ConfigError::Syntax(_))
        ));
    }

    #[test]
    fn rejects_both_token_forms_and_duplicates() {
        let both = r#"
            [[organizations]]
            id = "a"
            name = "A"
            scim = { token = "x", token_sha256 = "00" }
        "#;
        assert!(matches!(
            DemoConfig::from_toml(both),
            Err(ConfigError::TokenSource { .. })
        ));

        let same_token = r#"
            [[organizations]]
            id = "a"
            name = "A"
            scim = { token = "x" }
            [[organizations]]
            id = "b"
            name = "B"
            scim = { token = "x" }
        "#;
        assert!(matches!(
            DemoConfig::from_toml(same_token),
            Err(ConfigError::DuplicateToken { .. })
        ));

        let bad_hash = r#"
            [[organizations]]
            id = "a"
            name = "A"
            scim = { token_sha256 = "zz" }
        "#;
        assert!(matches!(
            DemoConfig::from_toml(bad_hash),
            Err(ConfigError::TokenHash { .. })
        ));
        assert!(matches!(
            DemoConfig::from_toml(""),
            Err(ConfigError::NoOrganizations)
        ));
    }

    #[test]
    fn rejects_connections_with_misspelt_misplaced_or_missing_fields() {
        let org = r#"
            [[organizations]]
            id = "a"
            name = "A"
            scim = { token = "x" }
            [[organizations.connections]]
            id = "c"
            name = "C"
        "#;
        let saml = r#"
            protocol = "saml"
            idp_entity_id = "https://idp"
            sso_url = "https://idp/sso"
            idp_certificate = "PEM"
        "#;
        assert!(DemoConfig::from_toml(&format!("{org}{saml}")).is_ok());
        let misspelt = format!("{org}{saml}allow_idp_initated = true\n");
        assert!(matches!(
            DemoConfig::from_toml(&misspelt),
            Err(ConfigError::Syntax(_))
        ));
        let misplaced = format!("{org}{saml}client_secret = \"s\"\n");
        assert!(
            matches!(
                DemoConfig::from_toml(&misplaced),
                Err(ConfigError::ConnectionField { field, .. })
                    if field.contains("OIDC field")
            ),
            "{:?}",
            DemoConfig::from_toml(&misplaced)
        );
        let bad_attribute = format!("{org}{saml}attributes = {{ mail = \"m\" }}\n");
        assert!(matches!(
            DemoConfig::from_toml(&bad_attribute),
            Err(ConfigError::ConnectionField { .. })
        ));
        let no_issuer = format!("{org}protocol = \"oidc\"\nclient_id = \"x\"\n");
        assert!(matches!(
            DemoConfig::from_toml(&no_issuer),
            Err(ConfigError::ConnectionField {
                field: "issuer",
                ..
            })
        ));
        let no_certificate =
            format!("{org}protocol = \"saml\"\nidp_entity_id = \"i\"\nsso_url = \"s\"\n");
        assert!(matches!(
            DemoConfig::from_toml(&no_certificate),
            Err(ConfigError::ConnectionField { .. })
        ));
    }

    const NOT_A_CERTIFICATE: &str = "MIIBszCCAVmgAwIBAgIUJx8m";

    fn with_metadata(binding: &str, metadata: &str, extra: &str) -> String {
        format!(
            "saml_binding = \"{binding}\"\n[[organizations]]\nid = \"a\"\nname = \"A\"\nscim = {{ token = \"x\" }}\n[[organizations.connections]]\nid = \"c\"\nname = \"C\"\nprotocol = \"saml\"\nidp_metadata = '''{metadata}'''\n{extra}"
        )
    }

    fn idp_metadata(cert_b64: &str) -> String {
        format!(
            r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="https://idp.example/saml">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert_b64}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example/sso/redirect"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>"#
        )
    }

    fn shipped_certificate_b64() -> String {
        let pem = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("acme-idp-cert.pem"),
        )
        .unwrap_or_default();
        pem.lines().filter(|l| !l.starts_with("-----")).collect()
    }

    #[test]
    fn idp_metadata_gives_entity_id_sso_url_of_the_binding_and_certificate() {
        let metadata = idp_metadata(&shipped_certificate_b64());
        let config = match DemoConfig::from_toml(&with_metadata("redirect", &metadata, "")) {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(config.saml_binding, SamlBinding::Redirect);
        let ConnectionProtocol::Saml {
            idp_entity_id,
            sso_url,
            idp_certificate,
            ..
        } = &config.organizations[0].connections[0].protocol
        else {
            panic!("not SAML");
        };
        assert_eq!(idp_entity_id, "https://idp.example/saml");
        assert_eq!(sso_url, "https://idp.example/sso/redirect");
        let pem = idp_certificate.as_deref().unwrap_or_default();
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        assert_eq!(body, shipped_certificate_b64());

        // No SSO endpoint of the POST binding.
        assert!(matches!(
            DemoConfig::from_toml(&with_metadata("post", &metadata, "")),
            Err(ConfigError::IdpMetadata { reason, .. }) if reason.contains("HTTP-POST")
        ));
        // Not a certificate.
        assert!(matches!(
            DemoConfig::from_toml(&with_metadata(
                "redirect",
                &idp_metadata(NOT_A_CERTIFICATE),
                ""
            )),
            Err(ConfigError::IdpMetadata { .. })
        ));
        // Metadata and a field it replaces.
        assert!(matches!(
            DemoConfig::from_toml(&with_metadata(
                "redirect",
                &metadata,
                "sso_url = \"https://x\"\n"
            )),
            Err(ConfigError::ConnectionField { .. })
        ));
        // An unknown binding.
        assert!(matches!(
            DemoConfig::from_toml(&with_metadata("artifact", &metadata, "")),
            Err(ConfigError::Syntax(_))
        ));
    }

    #[test]
    fn sp_key_pair_comes_whole_and_encryption_requires_it() {
        let metadata = idp_metadata(&shipped_certificate_b64());
        for extra in [
            "sp_certificate = \"x\"\n",
            "sp_private_key = \"x\"\n",
            "require_encrypted_assertions = true\n",
        ] {
            assert!(
                matches!(
                    DemoConfig::from_toml(&with_metadata("redirect", &metadata, extra)),
                    Err(ConfigError::ConnectionField { .. })
                ),
                "{extra}"
            );
        }
        let whole =
            "sp_certificate = \"c\"\nsp_private_key = \"k\"\nrequire_encrypted_assertions = true\n";
        assert!(DemoConfig::from_toml(&with_metadata("redirect", &metadata, whole)).is_ok());
    }
}
