//! The conformance suite on the in-memory stores.

use std::sync::Arc;

use scim_core::InMemoryStore;
use tenant_config::InMemoryTenantStore;
use tenant_config::conformance;

#[tokio::test]
async fn in_memory_store_passes_the_suite() {
    let store = InMemoryTenantStore::new();
    conformance::run_all(&store, &InMemoryStore::new()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn in_memory_store_races_have_one_winner() {
    let store = Arc::new(InMemoryTenantStore::new());
    conformance::races(store.clone(), store, Arc::new(InMemoryStore::new()), 32).await;
}
