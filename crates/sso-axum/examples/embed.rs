//! The embedding example of the workspace README: SCIM for one directory at `/scim/v2`.

use std::sync::Arc;

use scim_core::{InMemoryStore, ScimConfig, ScimService};
use sso_axum::{ScimRouterConfig, ScimToken, StaticDirectories, TokenHash, scim_router_at};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    // Generate a token once, show it to the customer's administrator, keep only its hash.
    let token = ScimToken::generate("gh_scim_");
    let hash: TokenHash = token.hash();

    let service = ScimService::new(ScimConfig::default(), Arc::new(InMemoryStore::new()));
    let directories = StaticDirectories::new().with("acme", hash, service);

    // Routes at /scim/v2 (ScimRouterConfig's default mount path), including /scim/v2/.
    let routes = scim_router_at(Arc::new(directories), ScimRouterConfig::default());
    let app = axum::Router::new().merge(routes);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
    axum::serve(listener, app).await
}
