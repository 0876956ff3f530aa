//! # gatehouse-demo
//!
//! A runnable Gatehouse server: SCIM 2.0 for each organization of a TOML file, every
//! directory in its own partition of one SQL database (`gatehouse-store-sql`): an SQLite file
//! by default, so that what is provisioned survives a restart, or Postgres. `cargo run -p
//! gatehouse-demo` serves the shipped `examples/demo/demo.toml` at
//! `http://127.0.0.1:8080/scim/v2` with the SQLite file `gatehouse-demo.db`.
//!
//! The library target lets tests start the same server in-process with [`serve`].
//!
//! ## Limitations
//!
//! - Only SCIM is served; SAML and OpenID Connect sign-in are not wired into the demo yet.
//! - Tokens come from the configuration file, not from the database.

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::response::Html;
use axum::routing::get;
use scim_core::{ScimConfig, ScimService};
use sso_axum::{DEFAULT_MOUNT_PATH, ScimRouterConfig, StaticDirectories, scim_router_at};
use store_sql::SqlStore;
use tenant_config::DirectoryId;
use tokio::net::TcpListener;

mod config;

pub use config::{ConfigError, DemoConfig, DirectoryConfig, Organization};

/// The default database of `cargo run -p gatehouse-demo`: an SQLite file in the current
/// directory, created on first use.
pub const DEFAULT_DATABASE: &str = "sqlite://gatehouse-demo.db?mode=rwc";

/// Opens the demo's database: an `sqlite:` or `postgres:` URL. Migrations run on open.
pub async fn open_database(url: &str) -> std::io::Result<SqlStore> {
    SqlStore::connect(url)
        .await
        .map_err(|e| std::io::Error::other(format!("cannot open the database: {e}")))
}

/// The demo application: the SCIM routes at `/scim/v2` and an explanation page at `/`. Each
/// organization's directory keeps its users and groups in `store`, under its directory id.
pub fn app(config: &DemoConfig, store: &SqlStore) -> std::io::Result<Router> {
    let mut directories = StaticDirectories::new();
    for org in &config.organizations {
        let directory = DirectoryId::new(org.scim.directory_id.clone()).map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("organization {}: {e}", org.id),
            )
        })?;
        let service = ScimService::new(
            ScimConfig::default(),
            Arc::new(store.resource_store(&directory)),
        );
        directories.add(org.scim.directory_id.clone(), org.scim.token_hash, service);
    }
    let router_config = ScimRouterConfig {
        public_base_url: config.public_base_url.clone(),
        mount_path: DEFAULT_MOUNT_PATH.to_owned(),
    };
    let page = index_page(config);

    Ok(Router::new()
        .route("/", get(move || async move { Html(page) }))
        // Merged, not nested, so that `/scim/v2/` reaches the SCIM routes too.
        .merge(scim_router_at(Arc::new(directories), router_config)))
}

/// Serves the demo on `listener` until Ctrl-C, then finishes the requests in flight.
pub async fn serve(
    config: DemoConfig,
    store: SqlStore,
    listener: TcpListener,
) -> std::io::Result<()> {
    serve_with_shutdown(config, store, listener, async {
        if tokio::signal::ctrl_c().await.is_err() {
            // Without a signal handler the server runs until the process is killed.
            std::future::pending::<()>().await;
        }
        tracing::info!("shutting down");
    })
    .await
}

/// Serves the demo on `listener` until `shutdown` completes.
pub async fn serve_with_shutdown(
    config: DemoConfig,
    store: SqlStore,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = app(&config, &store)?;
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await;
    store.close().await;
    served
}

fn index_page(config: &DemoConfig) -> String {
    let mut items = String::new();
    for org in &config.organizations {
        items.push_str(&format!(
            "<li>{} (<code>{}</code>): SCIM directory <code>{}</code></li>\n",
            escape_html(&org.name),
            escape_html(&org.id),
            escape_html(&org.scim.directory_id),
        ));
    }
    format!(
        "<!doctype html>\n<html><head><title>Gatehouse demo</title></head><body>\n\
         <h1>Gatehouse demo</h1>\n\
         <p>This server provides SCIM 2.0 (RFC 7643, RFC 7644) at <code>{DEFAULT_MOUNT_PATH}</code> \
         for the organizations below, each with its own directory in the demo's database. Send \
         <code>Authorization: Bearer &lt;token&gt;</code> with the directory's token from the \
         configuration file; the token selects the directory.</p>\n\
         <ul>\n{items}</ul>\n\
         <p>Try <code>curl -H 'Authorization: Bearer demo-acme-scim-token-not-secret' \
         http://127.0.0.1:8080/scim/v2/Users</code>.</p>\n</body></html>\n"
    )
}

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
