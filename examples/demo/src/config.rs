//! The demo's TOML configuration: organizations and their SCIM directories.

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
    /// The organizations served, each with its own SCIM directory.
    pub organizations: Vec<Organization>,
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
        Self::from_toml(&text)
    }

    /// Parses and checks a configuration.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let raw: RawConfig = toml::from_str(text)?;
        if raw.organizations.is_empty() {
            return Err(ConfigError::NoOrganizations);
        }

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
            organizations.push(Organization {
                id: org.id,
                name: org.name,
                scim: DirectoryConfig {
                    directory_id,
                    token_hash,
                },
            });
        }

        check_unique(&organizations)?;
        Ok(Self {
            public_base_url: raw.public_base_url,
            organizations,
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
    #[serde(default)]
    organizations: Vec<RawOrganization>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOrganization {
    id: String,
    name: String,
    scim: RawDirectory,
}

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
}
