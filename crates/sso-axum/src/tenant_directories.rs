//! A [`DirectoryResolver`] over tenant-config: tokens are checked against the hashes in a
//! `TenantStore`, and each directory's resources live in the store the host's factory gives
//! (such as `store_sql::SqlStore::resource_store`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use scim_core::store::ResourceStore;
use scim_core::{ScimConfig, ScimService};
use tenant_config::{DirectoryId, Tenants};

use crate::directory::{DirectoryResolver, ResolvedDirectory};
use crate::token::ScimToken;

/// Gives the resource store of a directory.
pub type ResourceStoreFactory = dyn Fn(&DirectoryId) -> Arc<dyn ResourceStore> + Send + Sync;

/// Directories and their tokens kept by tenant-config.
pub struct TenantDirectories {
    tenants: Tenants,
    stores: Arc<ResourceStoreFactory>,
    config: ScimConfig,
    services: Mutex<HashMap<DirectoryId, ScimService>>,
}

impl std::fmt::Debug for TenantDirectories {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TenantDirectories")
    }
}

impl TenantDirectories {
    /// Resolves tokens through `tenants`; a directory's SCIM service uses `config` and the
    /// store `stores` gives for it.
    pub fn new(tenants: Tenants, config: ScimConfig, stores: Arc<ResourceStoreFactory>) -> Self {
        Self {
            tenants,
            stores,
            config,
            services: Mutex::new(HashMap::new()),
        }
    }

    fn service(&self, directory: &DirectoryId) -> ScimService {
        // The map only caches services; a poisoned lock still holds usable entries.
        let mut services = self.services.lock().unwrap_or_else(|e| e.into_inner());
        services
            .entry(directory.clone())
            .or_insert_with(|| ScimService::new(self.config.clone(), (self.stores)(directory)))
            .clone()
    }
}

#[async_trait]
impl DirectoryResolver for TenantDirectories {
    async fn resolve(&self, token: &ScimToken) -> Option<ResolvedDirectory> {
        let now = time::OffsetDateTime::now_utc();
        let directory = match self.tenants.authenticate_token(token, now).await {
            Ok(found) => found?,
            Err(e) => {
                tracing::warn!(target: "gatehouse::scim", error = %e, "token lookup failed");
                return None;
            }
        };
        Some(ResolvedDirectory {
            directory_id: directory.to_string(),
            service: self.service(&directory),
        })
    }
}
