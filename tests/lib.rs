//! Shared helpers of the cross-crate tests: the demo server started in-process with the
//! shipped `examples/demo/demo.toml`, on an SQLite file of its own (the demo's default store).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::mpsc;
use std::thread::JoinHandle;

use gatehouse_demo::DemoConfig;
use tokio::sync::oneshot;

/// The bearer token of the `acme` organization in `examples/demo/demo.toml`.
pub const ACME_TOKEN: &str = "demo-acme-scim-token-not-secret";

/// The bearer token of the `globex` organization in `examples/demo/demo.toml` (stored there
/// only as its SHA-256 hash).
pub const GLOBEX_TOKEN: &str = "demo-globex-scim-token-not-secret";

/// A demo server running on its own runtime thread; it stops when dropped.
pub struct DemoServer {
    addr: SocketAddr,
    /// The database directory of [`DemoServer::start`], removed when the server is dropped.
    _dir: Option<tempfile::TempDir>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl DemoServer {
    /// Starts the demo with the shipped configuration on `127.0.0.1:0`, on an SQLite file in
    /// a new temporary directory.
    pub fn start() -> Self {
        let dir = match tempfile::tempdir() {
            Ok(d) => d,
            Err(e) => panic!("cannot create a temporary directory: {e}"),
        };
        let mut server = Self::start_in(dir.path());
        server._dir = Some(dir);
        server
    }

    /// Starts the demo with the shipped configuration on `127.0.0.1:0`, with its SQLite
    /// database in `dir` (created when missing, reused when present).
    pub fn start_in(dir: &Path) -> Self {
        let url = format!("sqlite://{}?mode=rwc", dir.join("demo.db").display());
        Self::start_with_database(url)
    }

    /// Starts the demo with the shipped configuration on `127.0.0.1:0` over the database at
    /// `url` (`sqlite://...` or `postgres://...`).
    pub fn start_with_database(url: String) -> Self {
        let config = match DemoConfig::load(&DemoConfig::default_path()) {
            Ok(c) => c,
            Err(e) => panic!("the shipped demo.toml must load: {e}"),
        };
        let (addr_tx, addr_rx) = mpsc::channel();
        let (shutdown_tx, shutdown_rx) = oneshot::channel::<()>();

        let thread = std::thread::spawn(move || {
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
            {
                Ok(r) => r,
                Err(e) => panic!("cannot build the demo runtime: {e}"),
            };
            runtime.block_on(async move {
                let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
                    Ok(l) => l,
                    Err(e) => panic!("cannot bind 127.0.0.1:0: {e}"),
                };
                let store = match gatehouse_demo::open_database(&url).await {
                    Ok(s) => s,
                    Err(e) => panic!("cannot open the demo database: {e}"),
                };
                let _ = addr_tx.send(listener.local_addr());
                let shutdown = async move {
                    let _ = shutdown_rx.await;
                };
                if let Err(e) =
                    gatehouse_demo::serve_with_shutdown(config, store, listener, shutdown).await
                {
                    panic!("the demo server failed: {e}");
                }
            });
        });

        let addr = match addr_rx.recv() {
            Ok(Ok(a)) => a,
            Ok(Err(e)) => panic!("the demo listener has no address: {e}"),
            Err(_) => panic!("the demo server thread ended before listening"),
        };
        Self {
            addr,
            _dir: None,
            shutdown: Some(shutdown_tx),
            thread: Some(thread),
        }
    }

    /// The SCIM root, such as `http://127.0.0.1:41234/scim/v2`.
    pub fn scim_url(&self) -> String {
        format!("http://{}/scim/v2", self.addr)
    }

    /// The server's root URL, such as `http://127.0.0.1:41234`.
    pub fn root_url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for DemoServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
