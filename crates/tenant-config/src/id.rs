//! Identifier newtypes and the checked email domain name.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::TenantError;

/// The longest identifier accepted.
pub const MAX_ID_LEN: usize = 64;

macro_rules! identifier {
    ($(#[$doc:meta])* $name:ident, $what:literal, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Checks `value`: 1 to 64 characters of ASCII letters, digits, `_`, `-` and `.`.
            pub fn new(value: impl Into<String>) -> Result<Self, TenantError> {
                let value = value.into();
                check_identifier($what, &value)?;
                Ok(Self(value))
            }

            /// A new random identifier with the prefix
            #[doc = concat!("`", $prefix, "`.")]
            pub fn generate() -> Self {
                Self(format!(concat!($prefix, "{}"), uuid::Uuid::new_v4().simple()))
            }

            /// The identifier as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = TenantError;
            fn try_from(value: String) -> Result<Self, TenantError> {
                Self::new(value)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self.0)
            }
        }
    };
}

identifier!(
    /// The id of an organization (a customer, a tenant).
    OrganizationId, "organization id", "org_"
);
identifier!(
    /// The id of a SAML or OIDC connection.
    ConnectionId, "connection id", "conn_"
);
identifier!(
    /// The id of a SCIM directory.
    DirectoryId, "directory id", "dir_"
);
identifier!(
    /// The id of a stored SCIM bearer token (not the token itself).
    TokenId, "token id", "tok_"
);

fn check_identifier(what: &str, value: &str) -> Result<(), TenantError> {
    if value.is_empty() || value.len() > MAX_ID_LEN {
        return Err(TenantError::invalid(
            what,
            format!("must be 1 to {MAX_ID_LEN} characters, got {}", value.len()),
        ));
    }
    if let Some(c) = value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
    {
        return Err(TenantError::invalid(
            what,
            format!("character {c:?} is not allowed (ASCII letters, digits, '_', '-', '.')"),
        ));
    }
    Ok(())
}

/// A checked DNS domain name in lower case, such as `example.com`.
///
/// At least two labels; each label 1 to 63 characters of ASCII letters, digits and `-`, not
/// starting or ending with `-`; at most 253 characters. Internationalized names must be given
/// in their `xn--` (punycode) form. A trailing dot is removed.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DomainName(String);

impl DomainName {
    /// Checks and lower-cases `value`.
    pub fn new(value: impl Into<String>) -> Result<Self, TenantError> {
        let mut value = value.into().trim().to_ascii_lowercase();
        if value.ends_with('.') {
            value.pop();
        }
        if value.is_empty() || value.len() > 253 {
            return Err(TenantError::invalid(
                "domain",
                format!("must be 1 to 253 characters, got {}", value.len()),
            ));
        }
        let labels: Vec<&str> = value.split('.').collect();
        if labels.len() < 2 {
            return Err(TenantError::invalid(
                "domain",
                format!("{value:?} needs at least two labels"),
            ));
        }
        for label in &labels {
            let ok = (1..=63).contains(&label.len())
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-');
            if !ok {
                return Err(TenantError::invalid(
                    "domain",
                    format!("label {label:?} of {value:?} is not a DNS label"),
                ));
            }
        }
        if labels
            .last()
            .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(TenantError::invalid(
                "domain",
                format!("{value:?} is an IP address, not a domain"),
            ));
        }
        Ok(Self(value))
    }

    /// The domain as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The parent domain (`a.example.com` -> `example.com`), if it still has two labels.
    pub fn parent(&self) -> Option<DomainName> {
        let (_, rest) = self.0.split_once('.')?;
        rest.contains('.').then(|| DomainName(rest.to_owned()))
    }

    /// Whether this is `other` or a subdomain of it.
    pub fn is_within(&self, other: &DomainName) -> bool {
        self.0 == other.0
            || self
                .0
                .strip_suffix(other.0.as_str())
                .is_some_and(|head| head.ends_with('.'))
    }
}

impl TryFrom<String> for DomainName {
    type Error = TenantError;
    fn try_from(value: String) -> Result<Self, TenantError> {
        Self::new(value)
    }
}

impl From<DomainName> for String {
    fn from(d: DomainName) -> String {
        d.0
    }
}

impl fmt::Display for DomainName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for DomainName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DomainName({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_checked() {
        assert_eq!(
            OrganizationId::new("acme-1").map(|i| i.0),
            Ok("acme-1".into())
        );
        assert!(matches!(
            OrganizationId::new(""),
            Err(TenantError::Invalid { field, .. }) if field == "organization id"
        ));
        assert!(ConnectionId::new("a b").is_err());
        assert!(ConnectionId::new("x".repeat(65)).is_err());
        assert!(DirectoryId::generate().as_str().starts_with("dir_"));
        let parsed: Result<TokenId, _> = serde_json::from_str("\"bad/id\"");
        assert!(parsed.is_err());
    }

    #[test]
    fn domains_are_normalized_and_checked() {
        assert_eq!(
            DomainName::new(" Example.COM. ").map(|d| d.0),
            Ok("example.com".into())
        );
        for bad in [
            "com",
            "",
            "-a.com",
            "a-.com",
            "a..com",
            "a_b.com",
            "10.0.0.1",
            "ex ample.com",
        ] {
            assert!(DomainName::new(bad).is_err(), "{bad}");
        }
        let sub = DomainName::new("eu.mail.example.com").unwrap_or_else(|e| panic!("{e}"));
        let root = DomainName::new("example.com").unwrap_or_else(|e| panic!("{e}"));
        assert!(sub.is_within(&root));
        assert!(!root.is_within(&sub));
        assert!(!DomainName::new("badexample.com").is_ok_and(|d| d.is_within(&root)));
        assert_eq!(sub.parent().map(|d| d.0), Some("mail.example.com".into()));
        assert_eq!(root.parent(), None);
    }
}
