//! Email domain ownership: the DNS TXT challenge, the host's resolver, and the consumer email
//! domains that no organization may claim.

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;

use crate::id::DomainName;

/// The prefix of every challenge value.
pub const CHALLENGE_PREFIX: &str = "gatehouse-domain-verification=";

/// The most TXT records read from one name.
pub const MAX_TXT_RECORDS: usize = 64;

/// Looks up DNS TXT records; the host implements it over its resolver.
#[async_trait]
pub trait DnsTxtResolver: Send + Sync {
    /// The TXT records at `name`, each as its character strings joined; an empty list when
    /// the name has none.
    async fn txt_records(&self, name: &str) -> Result<Vec<String>, String>;
}

/// A new challenge value: the prefix and 32 random bytes in unpadded base64url.
pub fn new_challenge() -> String {
    let mut random = [0u8; 32];
    rand::rng().fill_bytes(&mut random);
    format!("{CHALLENGE_PREFIX}{}", URL_SAFE_NO_PAD.encode(random))
}

/// Email domains of consumer mail providers. They and their subdomains cannot be claimed.
pub const CONSUMER_DOMAINS: &[&str] = &[
    "163.com",
    "aol.com",
    "fastmail.com",
    "gmail.com",
    "gmx.com",
    "gmx.de",
    "gmx.net",
    "googlemail.com",
    "hey.com",
    "hotmail.com",
    "hotmail.co.uk",
    "icloud.com",
    "live.com",
    "mail.com",
    "mail.ru",
    "me.com",
    "mac.com",
    "msn.com",
    "outlook.com",
    "pm.me",
    "proton.me",
    "protonmail.com",
    "qq.com",
    "tutanota.com",
    "web.de",
    "yahoo.com",
    "yahoo.co.uk",
    "yandex.com",
    "yandex.ru",
    "ymail.com",
    "zoho.com",
];

/// Whether `domain` is a consumer email domain or a subdomain of one.
pub fn is_consumer_domain(domain: &DomainName) -> bool {
    CONSUMER_DOMAINS.iter().any(|c| {
        let d = domain.as_str();
        d == *c || d.strip_suffix(c).is_some_and(|head| head.ends_with('.'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> DomainName {
        DomainName::new(s).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn consumer_domains_and_their_subdomains() {
        assert!(is_consumer_domain(&d("gmail.com")));
        assert!(is_consumer_domain(&d("GMAIL.com")));
        assert!(is_consumer_domain(&d("eu.outlook.com")));
        assert!(!is_consumer_domain(&d("notgmail.com")));
        assert!(!is_consumer_domain(&d("example.com")));
    }

    #[test]
    fn challenges_are_random_and_prefixed() {
        let a = new_challenge();
        assert!(a.starts_with(CHALLENGE_PREFIX));
        assert_eq!(a.len(), CHALLENGE_PREFIX.len() + 43);
        assert_ne!(a, new_challenge());
    }
}
