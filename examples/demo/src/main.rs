//! `gatehouse-demo`: sign-in, admin pages and SCIM 2.0 for the organizations of a TOML file.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use gatehouse_demo::DemoConfig;
use tracing_subscriber::EnvFilter;

/// Serve sign-in (SAML, OpenID Connect), admin pages and SCIM 2.0 for the organizations in a
/// configuration file, on SQLite or Postgres.
#[derive(Parser)]
#[command(name = "gatehouse-demo", version)]
struct Args {
    /// The TOML configuration (default: examples/demo/demo.toml).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The address to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// The database: `sqlite://FILE?mode=rwc` or `postgres://USER@HOST:PORT/DB`.
    #[arg(long, value_name = "URL", default_value = gatehouse_demo::DEFAULT_DATABASE)]
    database: String,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();

    let path = args.config.unwrap_or_else(DemoConfig::default_path);
    let config = match DemoConfig::load(&path) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "cannot load the configuration");
            return ExitCode::FAILURE;
        }
    };
    let store = match gatehouse_demo::open_database(&args.database).await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "cannot open the database");
            return ExitCode::FAILURE;
        }
    };
    let listener = match tokio::net::TcpListener::bind(args.listen).await {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(error = %e, addr = %args.listen, "cannot listen");
            return ExitCode::FAILURE;
        }
    };
    let local = listener.local_addr().unwrap_or(args.listen);
    for org in &config.organizations {
        tracing::info!(
            organization = %org.id,
            directory = %org.scim.directory_id,
            "serving SCIM directory"
        );
    }
    tracing::info!(config = %path.display(), "listening on http://{local}/ (sign in at http://{local}/, SCIM at http://{local}/scim/v2)");

    tracing::info!(backend = ?store.backend(), "database open");
    match gatehouse_demo::serve(config, store, listener).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "server failed");
            ExitCode::FAILURE
        }
    }
}
