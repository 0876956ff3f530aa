//! Which SCIM directory a bearer token belongs to.

use async_trait::async_trait;
use scim_core::ScimService;
use subtle::{ConditionallySelectable, ConstantTimeEq};

use crate::token::{ScimToken, TokenHash};

/// The directory a token selected: its identifier (for logs) and its SCIM service.
#[derive(Debug, Clone)]
pub struct ResolvedDirectory {
    /// The directory's identifier, such as `acme`.
    pub directory_id: String,
    /// The service that answers this directory's requests; it reaches only this directory's
    /// store.
    pub service: ScimService,
}

/// Finds the directory of a presented bearer token.
///
/// Implementations must compare token hashes in constant time and must not reveal through
/// their timing which stored hash, if any, came close.
#[async_trait]
pub trait DirectoryResolver: Send + Sync {
    /// The directory whose token is `token`, or `None` for an unknown token.
    async fn resolve(&self, token: &ScimToken) -> Option<ResolvedDirectory>;
}

/// A fixed, in-memory list of directories, each with the hash of its token.
#[derive(Debug, Default, Clone)]
pub struct StaticDirectories {
    entries: Vec<StaticEntry>,
}

#[derive(Debug, Clone)]
struct StaticEntry {
    directory_id: String,
    token_hash: TokenHash,
    service: ScimService,
}

impl StaticDirectories {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a directory that answers to the token with hash `token_hash`. Several hashes
    /// may point to the same directory (for example during a token rotation): add the
    /// directory once per hash with clones of the same service.
    pub fn add(
        &mut self,
        directory_id: impl Into<String>,
        token_hash: TokenHash,
        service: ScimService,
    ) {
        self.entries.push(StaticEntry {
            directory_id: directory_id.into(),
            token_hash,
            service,
        });
    }

    /// [`StaticDirectories::add`] in builder style.
    pub fn with(
        mut self,
        directory_id: impl Into<String>,
        token_hash: TokenHash,
        service: ScimService,
    ) -> Self {
        self.add(directory_id, token_hash, service);
        self
    }

    /// How many (directory, token hash) entries the list holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entry index whose hash equals `presented`. Every stored hash is compared, with no
    /// early exit, and the index is selected without a data-dependent branch.
    fn find(&self, presented: &TokenHash) -> Option<usize> {
        let mut found = subtle::Choice::from(0);
        let mut index = 0u64;
        for (i, entry) in self.entries.iter().enumerate() {
            let eq = entry.token_hash.ct_eq(presented);
            // The first match wins; later equal hashes would be a configuration error.
            let take = eq & !found;
            index = u64::conditional_select(&index, &(i as u64), take);
            found |= eq;
        }
        if bool::from(found) {
            usize::try_from(index).ok()
        } else {
            None
        }
    }
}

#[async_trait]
impl DirectoryResolver for StaticDirectories {
    async fn resolve(&self, token: &ScimToken) -> Option<ResolvedDirectory> {
        let entry = self.entries.get(self.find(&token.hash())?)?;
        Some(ResolvedDirectory {
            directory_id: entry.directory_id.clone(),
            service: entry.service.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use scim_core::{InMemoryStore, ScimConfig};

    use super::*;

    fn service() -> ScimService {
        ScimService::new(ScimConfig::default(), Arc::new(InMemoryStore::new()))
    }

    #[tokio::test]
    async fn resolves_only_the_exact_token() {
        let dirs = StaticDirectories::new()
            .with("acme", ScimToken::new("tok-acme").hash(), service())
            .with("globex", ScimToken::new("tok-globex").hash(), service());

        let acme = dirs.resolve(&ScimToken::new("tok-acme")).await;
        assert_eq!(acme.map(|d| d.directory_id).as_deref(), Some("acme"));
        let globex = dirs.resolve(&ScimToken::new("tok-globex")).await;
        assert_eq!(globex.map(|d| d.directory_id).as_deref(), Some("globex"));

        for wrong in ["TOK-ACME", "tok-acme ", "tok-acm", "", "tok-acmex"] {
            assert!(
                dirs.resolve(&ScimToken::new(wrong)).await.is_none(),
                "{wrong:?}"
            );
        }
    }
}
