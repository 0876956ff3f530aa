//! The embedding example of the workspace README: SCIM for one directory at `/scim/v2`.

use std::sync::Arc;

use scim_core::{InMemoryStore, ScimConfig, ScimService};
use sso_axum::{ScimToken, StaticDirectories, TokenHash, scim_router};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    // Generate a token once, show it to the customer's administrator, keep only its hash.
    let token = ScimToken::generate("gh_scim_");
    let hash: TokenHash = token.hash();

    let service = ScimService::new(ScimConfig::default(), Arc::new(InMemoryStore::new()));
    let directories = StaticDirectories::new().with("acme", hash, service);

    let app = axum::Router::new().nest("/scim/v2", scim_router(Arc::new(directories)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
    axum::serve(listener, app).await
}
