//! The demo served in-process on a loopback port, shared by the demo's end-to-end tests.
#![allow(dead_code, unreachable_pub)]

pub mod browser;

use gatehouse_demo::DemoConfig;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// A running demo: its base URL, its SQLite database in a temporary directory (none when
/// it runs on a database of the caller's), and the server task with the sender that stops it.
pub struct Served {
    pub base: String,
    _dir: Option<tempfile::TempDir>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Served {
    /// Serves the demo configured by `toml` on `listener` (bound by the caller, so that the
    /// configuration can name the demo's own URLs), reached at `base`, over a new SQLite
    /// database in a temporary directory.
    pub async fn start(listener: TcpListener, base: String, toml: &str) -> Self {
        let config = DemoConfig::from_toml(toml).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("demo.db").display());
        let mut served = Self::start_on(listener, base, config, &url).await;
        served._dir = Some(dir);
        served
    }

    /// Serves the demo configured by `config` on `listener`, reached at `base`, over the
    /// database at `database_url` (SQLite or Postgres).
    pub async fn start_on(
        listener: TcpListener,
        base: String,
        config: DemoConfig,
        database_url: &str,
    ) -> Self {
        let store = gatehouse_demo::open_database(database_url)
            .await
            .unwrap_or_else(|e| panic!("open {database_url}: {e}"));
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(gatehouse_demo::serve_with_shutdown(
            config,
            store,
            listener,
            async move {
                let _ = stopped.await;
            },
        ));
        Self {
            base,
            _dir: None,
            stop: Some(stop),
            task: Some(task),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Stops the server and asserts that it shut down without an error.
    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            t.await.unwrap().unwrap();
        }
    }
}

/// A cookie-keeping client that does not follow redirects: the tests follow them.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The `kid`s of the provider's JWKS.
pub async fn provider_kids(issuer: &str) -> Vec<String> {
    let jwks: Value = reqwest::get(format!("{issuer}/jwks"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}
