//! [`Tenants`]: the operations an admin console or a login route calls, with validation on
//! save, domain claims and verification, home-realm discovery and SCIM token management.

use std::sync::Arc;

use subtle::{ConditionallySelectable, ConstantTimeEq};
use time::{Duration, OffsetDateTime};

use crate::domain::{DnsTxtResolver, MAX_TXT_RECORDS, is_consumer_domain, new_challenge};
use crate::error::TenantError;
use crate::id::{ConnectionId, DirectoryId, DomainName, OrganizationId, TokenId};
use crate::model::{Connection, Domain, Organization, ScimDirectory, Verification};
use crate::store::TenantStore;
use crate::token::{ScimToken, StoredToken, TOKEN_PREFIX};

/// Where home-realm discovery sends an email address.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Discovery {
    /// Sign in through this connection of this organization.
    Sso {
        /// The organization.
        organization: OrganizationId,
        /// The connection.
        connection: ConnectionId,
    },
    /// No SSO for this address: the host uses its own sign-in. Unknown, unverified and
    /// consumer domains all end here, so the answer reveals nothing about other tenants.
    NoSso,
}

/// Tenant configuration over a [`TenantStore`].
#[derive(Clone)]
pub struct Tenants {
    store: Arc<dyn TenantStore>,
}

impl std::fmt::Debug for Tenants {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tenants")
    }
}

impl Tenants {
    /// Tenant configuration kept in `store`.
    pub fn new(store: Arc<dyn TenantStore>) -> Self {
        Self { store }
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn TenantStore> {
        &self.store
    }

    /// Validates and saves an organization. Its `default_connection`, if set, must be one of
    /// its connections.
    pub async fn save_organization(&self, org: &Organization) -> Result<(), TenantError> {
        org.validate()?;
        if let Some(conn) = &org.default_connection {
            let owned = self
                .store
                .connection(conn)
                .await?
                .is_some_and(|c| c.organization == org.id);
            if !owned {
                return Err(TenantError::invalid(
                    "organization.default_connection",
                    format!("{conn} is not a connection of {}", org.id),
                ));
            }
        }
        self.store.save_organization(org).await
    }

    /// Claims `domain` for `org`, pending verification. Consumer email domains are refused.
    /// Publish [`Domain::challenge`] as a TXT record at [`Domain::challenge_record`], then
    /// call [`Tenants::verify_domain`].
    pub async fn claim_domain(
        &self,
        org: &OrganizationId,
        domain: &str,
    ) -> Result<Domain, TenantError> {
        let name = DomainName::new(domain)?;
        if is_consumer_domain(&name) {
            return Err(TenantError::ConsumerDomain {
                domain: name.to_string(),
            });
        }
        let record = Domain {
            name,
            organization: org.clone(),
            challenge: new_challenge(),
            verification: Verification::Pending,
        };
        self.store.insert_domain(&record).await?;
        Ok(record)
    }

    /// Looks up the challenge record of a claimed domain through `dns` and marks the domain
    /// verified when one TXT record equals the challenge.
    pub async fn verify_domain(
        &self,
        domain: &DomainName,
        dns: &dyn DnsTxtResolver,
        now: OffsetDateTime,
    ) -> Result<Domain, TenantError> {
        let mut record = self
            .store
            .domain(domain)
            .await?
            .ok_or_else(|| TenantError::NotFound {
                what: "domain",
                id: domain.to_string(),
            })?;
        let name = record.challenge_record();
        let txt = dns
            .txt_records(&name)
            .await
            .map_err(|reason| TenantError::Dns {
                record: name.clone(),
                reason,
            })?;
        let found = txt
            .iter()
            .take(MAX_TXT_RECORDS)
            .any(|t| t.trim().trim_matches('"') == record.challenge);
        if !found {
            return Err(TenantError::ChallengeNotFound {
                domain: domain.to_string(),
                record: name,
                found: txt.len(),
            });
        }
        record.verification = Verification::Verified { at: now };
        self.store.update_domain(&record).await?;
        Ok(record)
    }

    /// Validates (certificates against `now`) and saves a connection.
    pub async fn save_connection(
        &self,
        connection: &Connection,
        now: OffsetDateTime,
    ) -> Result<(), TenantError> {
        connection.validate(now)?;
        self.store.save_connection(connection).await
    }

    /// Creates a SCIM directory for `org` and its first token. The token is returned once,
    /// to show to the administrator; only its hash is stored.
    pub async fn create_directory(
        &self,
        org: &OrganizationId,
        name: &str,
        now: OffsetDateTime,
    ) -> Result<(ScimDirectory, ScimToken), TenantError> {
        let directory = ScimDirectory {
            id: DirectoryId::generate(),
            organization: org.clone(),
            name: name.to_owned(),
            enabled: true,
        };
        directory.validate()?;
        self.store.save_directory(&directory).await?;
        let token = self.issue_token(&directory.id, now).await?;
        Ok((directory, token))
    }

    /// Begins a token rotation: issues a new token and lets the directory's current tokens
    /// live for `overlap` more (or less, if they already expire sooner). Both are valid in
    /// between; [`Tenants::complete_rotation`] ends the overlap early.
    pub async fn begin_rotation(
        &self,
        directory: &DirectoryId,
        overlap: Duration,
        now: OffsetDateTime,
    ) -> Result<(TokenId, ScimToken), TenantError> {
        if overlap.is_negative() {
            return Err(TenantError::invalid(
                "rotation.overlap",
                "must not be negative",
            ));
        }
        let deadline = now + overlap;
        for mut old in self.store.tokens_of(directory).await? {
            if old.expires_at.is_none_or(|t| t > deadline) {
                old.expires_at = Some(deadline);
                self.store.update_token(&old).await?;
            }
        }
        let token = self.issue_token(directory, now).await?;
        let id = self
            .store
            .tokens_by_lookup_key(&token.hash().lookup_key())
            .await?
            .into_iter()
            .find(|t| bool::from(t.hash.ct_eq(&token.hash())))
            .map(|t| t.id)
            .ok_or_else(|| TenantError::Backend("the new token was not stored".into()))?;
        Ok((id, token))
    }

    /// Completes a rotation: deletes every token of the directory but `keep`.
    pub async fn complete_rotation(
        &self,
        directory: &DirectoryId,
        keep: &TokenId,
    ) -> Result<(), TenantError> {
        let tokens = self.store.tokens_of(directory).await?;
        if !tokens.iter().any(|t| t.id == *keep) {
            return Err(TenantError::NotFound {
                what: "token",
                id: keep.to_string(),
            });
        }
        for t in tokens.into_iter().filter(|t| t.id != *keep) {
            self.store.delete_token(&t.id).await?;
        }
        Ok(())
    }

    /// The enabled directory a presented bearer token opens, if any. The stored hashes that
    /// share the token hash's lookup key are all compared in constant time.
    pub async fn authenticate_token(
        &self,
        presented: &ScimToken,
        now: OffsetDateTime,
    ) -> Result<Option<DirectoryId>, TenantError> {
        let hash = presented.hash();
        let candidates = self.store.tokens_by_lookup_key(&hash.lookup_key()).await?;
        let mut found = subtle::Choice::from(0);
        let mut index = 0u64;
        for (i, t) in candidates.iter().enumerate() {
            let eq = t.hash.ct_eq(&hash);
            index = u64::conditional_select(&index, &(i as u64), eq & !found);
            found |= eq;
        }
        if !bool::from(found) {
            return Ok(None);
        }
        let Some(token) = usize::try_from(index).ok().and_then(|i| candidates.get(i)) else {
            return Ok(None);
        };
        if !token.is_active(now) {
            return Ok(None);
        }
        let enabled = self
            .store
            .directory(&token.directory)
            .await?
            .is_some_and(|d| d.enabled);
        Ok(enabled.then(|| token.directory.clone()))
    }

    /// Home-realm discovery: the connection an email address signs in with.
    ///
    /// The most specific verified domain wins: the address's own domain, then (when its
    /// organization allows subdomains) each parent. The organization's default connection
    /// is used if enabled, else its first enabled connection by id.
    pub async fn discover(&self, email: &str) -> Result<Discovery, TenantError> {
        let domain = email_domain(email)?;
        let mut candidate = Some(domain.clone());
        while let Some(name) = candidate {
            if let Some(claim) = self.store.domain(&name).await?
                && claim.is_verified()
                && let Some(org) = self.store.organization(&claim.organization).await?
                && (name == domain || org.allow_subdomains)
            {
                return self.connection_of(&org).await;
            }
            candidate = name.parent();
        }
        Ok(Discovery::NoSso)
    }

    /// Whether `email` lies in one of `org`'s verified domains (or their subdomains, when the
    /// organization allows them): the check a login makes when the organization enforces
    /// its domains.
    pub async fn email_in_organization(
        &self,
        org: &Organization,
        email: &str,
    ) -> Result<bool, TenantError> {
        let domain = email_domain(email)?;
        Ok(self.store.domains_of(&org.id).await?.iter().any(|d| {
            d.is_verified()
                && (d.name == domain || (org.allow_subdomains && domain.is_within(&d.name)))
        }))
    }

    async fn connection_of(&self, org: &Organization) -> Result<Discovery, TenantError> {
        let connections = self.store.connections_of(&org.id).await?;
        let chosen = org
            .default_connection
            .as_ref()
            .and_then(|d| connections.iter().find(|c| c.id == *d && c.enabled))
            .or_else(|| connections.iter().find(|c| c.enabled));
        Ok(match chosen {
            Some(c) => Discovery::Sso {
                organization: org.id.clone(),
                connection: c.id.clone(),
            },
            None => Discovery::NoSso,
        })
    }

    async fn issue_token(
        &self,
        directory: &DirectoryId,
        now: OffsetDateTime,
    ) -> Result<ScimToken, TenantError> {
        let token = ScimToken::generate(TOKEN_PREFIX);
        self.store
            .insert_token(&StoredToken {
                id: TokenId::generate(),
                directory: directory.clone(),
                hash: token.hash(),
                created_at: now,
                expires_at: None,
            })
            .await?;
        Ok(token)
    }
}

/// The domain of an email address (after the last `@`), checked.
fn email_domain(email: &str) -> Result<DomainName, TenantError> {
    let (local, domain) = email
        .trim()
        .rsplit_once('@')
        .ok_or_else(|| TenantError::invalid("email", "has no '@'"))?;
    if local.is_empty() || local.len() > 64 {
        return Err(TenantError::invalid(
            "email",
            "local part must be 1 to 64 bytes",
        ));
    }
    DomainName::new(domain).map_err(|_| TenantError::invalid("email", "domain is not a DNS name"))
}
