//! Harness for the tests against the real `oidc-provider` npm package: starts it on
//! loopback, plays the browser (cookies, redirects, form_post), and gives an adjustable clock.
//! A missing `node` or npm package fails the test with the reason; nothing is skipped.

#![allow(dead_code, unreachable_pub)]

use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use oidc_rp::http::ReqwestHttpClient;
use oidc_rp::{CallbackParams, Clock, SystemClock};
use serde_json::Value;

/// The npm folder where scripts/setup runs `npm ci`.
pub fn npm_dir() -> PathBuf {
    let dir: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "..",
        "..",
        "scripts",
        "deps",
        "npm",
    ]
    .iter()
    .collect();
    let module = dir
        .join("node_modules")
        .join("oidc-provider")
        .join("package.json");
    assert!(
        module.is_file(),
        "the oidc-provider npm package is not installed at {}: run scripts/setup (npm ci in scripts/deps/npm)",
        module.display()
    );
    dir
}

/// A running `oidc-provider`, stopped on drop.
pub struct OpenIdProvider {
    child: Child,
    pub issuer: String,
    pub port: u16,
    clients: Value,
    /// The further settings of the provider's config file (see `start_with`).
    settings: Value,
    config_path: PathBuf,
}

static STARTS: AtomicU64 = AtomicU64::new(0);

impl OpenIdProvider {
    /// Starts the provider with these client registrations on a free port (0) or `port`.
    pub fn start(clients: Value, port: u16) -> Self {
        Self::start_with(clients, port, serde_json::json!({}))
    }

    /// Starts the provider with further settings of `oidc_provider.mjs`'s config file, such
    /// as `{"pages": true}` for its HTML sign-in and consent pages.
    pub fn start_with(clients: Value, port: u16, settings: Value) -> Self {
        let n = STARTS.fetch_add(1, Ordering::Relaxed);
        let config_path = std::env::temp_dir().join(format!(
            "gatehouse-oidc-provider-{}-{n}.json",
            std::process::id()
        ));
        let mut config = settings.clone();
        config["port"] = port.into();
        config["clients"] = clients.clone();
        std::fs::write(&config_path, config.to_string()).expect("write provider config");
        let script: PathBuf = [
            env!("CARGO_MANIFEST_DIR"),
            "tests",
            "peers",
            "oidc_provider.mjs",
        ]
        .iter()
        .collect();
        let mut child = match Command::new("node")
            .arg(&script)
            .arg(&config_path)
            .env("GATEHOUSE_NPM_DIR", npm_dir())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
        {
            Ok(c) => c,
            Err(e) => panic!("cannot start node (install Node.js, see scripts/deps/apt.txt): {e}"),
        };
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(issuer) = line.strip_prefix("READY ") {
                    let _ = tx.send(issuer.to_owned());
                }
            }
        });
        let issuer = match rx.recv_timeout(Duration::from_secs(90)) {
            Ok(i) => i,
            Err(_) => {
                let _ = child.kill();
                panic!("oidc-provider did not start within 90 s");
            }
        };
        let port = url::Url::parse(&issuer)
            .ok()
            .and_then(|u| u.port())
            .expect("issuer has a port");
        Self {
            child,
            issuer,
            port,
            clients,
            settings,
            config_path,
        }
    }

    /// Stops and starts again on the same port: same issuer, new signing keys.
    pub fn restart_with_new_keys(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let deadline = Instant::now() + Duration::from_secs(10);
        let next = loop {
            // The port may take a moment to be free again.
            if std::net::TcpListener::bind(("127.0.0.1", self.port)).is_ok()
                || Instant::now() > deadline
            {
                break Self::start_with(self.clients.clone(), self.port, self.settings.clone());
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        let old = std::mem::replace(self, next);
        drop(old);
    }
}

impl Drop for OpenIdProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.config_path);
    }
}

/// The system clock plus an adjustable offset.
#[derive(Default)]
pub struct TestClock {
    offset: AtomicI64,
}

impl TestClock {
    pub fn advance(&self, secs: i64) {
        self.offset.fetch_add(secs, Ordering::Relaxed);
    }
}

impl Clock for TestClock {
    fn now(&self) -> i64 {
        SystemClock.now() + self.offset.load(Ordering::Relaxed)
    }
}

pub fn http() -> Arc<ReqwestHttpClient> {
    Arc::new(ReqwestHttpClient::new().expect("http client"))
}

/// A scripted browser: follows the provider's redirects with its cookies until it reaches
/// `redirect_uri`, and returns the callback parameters (query, or the `form_post` form).
pub struct Browser {
    client: reqwest::Client,
}

impl Default for Browser {
    fn default() -> Self {
        Self::new()
    }
}

impl Browser {
    pub fn new() -> Self {
        Self {
            client: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("browser"),
        }
    }

    /// Follows redirects from `start`; returns the final URL and, for a `form_post` page,
    /// its action and fields.
    pub async fn navigate(&self, start: &str, redirect_uri: &str) -> Landing {
        let mut url = start.to_owned();
        for _ in 0..15 {
            if url.starts_with(redirect_uri) {
                return Landing::Redirect(url::Url::parse(&url).expect("url"));
            }
            let response = self.client.get(&url).send().await.expect("browser GET");
            let base = response.url().clone();
            if response.status().is_redirection() {
                let location = response
                    .headers()
                    .get("location")
                    .and_then(|l| l.to_str().ok())
                    .expect("location header");
                url = base.join(location).expect("location URL").to_string();
                continue;
            }
            let status = response.status();
            let body = response.text().await.expect("body");
            if let Some(form) = parse_form(&body) {
                return Landing::Form(form);
            }
            panic!("browser stopped at {url} with {status}: {body}");
        }
        panic!("too many redirects");
    }

    /// POSTs a form and follows the redirects that follow.
    pub async fn submit(&self, form: &Form, redirect_uri: &str) -> Landing {
        let response = self
            .client
            .post(&form.action)
            .form(&form.fields)
            .send()
            .await
            .expect("browser POST");
        let base = response.url().clone();
        if response.status().is_redirection() {
            let location = response
                .headers()
                .get("location")
                .and_then(|l| l.to_str().ok())
                .expect("location header");
            let next = base.join(location).expect("location URL").to_string();
            return self.navigate(&next, redirect_uri).await;
        }
        let status = response.status();
        let body = response.text().await.expect("body");
        match parse_form(&body) {
            Some(form) => Landing::Form(form),
            None => panic!("POST {} gave {status}: {body}", form.action),
        }
    }

    /// Runs an authorization request to its callback and returns its parameters.
    pub async fn authorize(&self, auth_url: &str, redirect_uri: &str) -> CallbackParams {
        match self.navigate(auth_url, redirect_uri).await {
            Landing::Redirect(url) => {
                CallbackParams::parse(url.query().unwrap_or_default().as_bytes()).expect("query")
            }
            Landing::Form(form) => {
                assert!(
                    form.action.starts_with(redirect_uri),
                    "form posts to {}",
                    form.action
                );
                let body = url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(&form.fields)
                    .finish();
                CallbackParams::parse(body.as_bytes()).expect("form")
            }
        }
    }
}

pub enum Landing {
    Redirect(url::Url),
    Form(Form),
}

#[derive(Debug, Clone)]
pub struct Form {
    pub action: String,
    pub fields: Vec<(String, String)>,
}

/// The first `<form>` of a page: its action and hidden/named inputs (enough for the pages
/// `oidc-provider` renders).
fn parse_form(body: &str) -> Option<Form> {
    let start = body.find("<form")?;
    let tag_end = start + body[start..].find('>')?;
    let tag = &body[start..tag_end];
    let action = attr(tag, "action")?;
    let mut fields = Vec::new();
    let mut rest = &body[tag_end..];
    while let Some(i) = rest.find("<input") {
        let end = i + rest[i..].find('>')?;
        let input = &rest[i..end];
        if let (Some(name), Some(value)) = (attr(input, "name"), attr(input, "value")) {
            fields.push((name, value));
        }
        rest = &rest[end..];
    }
    Some(Form {
        action: html_unescape(&action),
        fields: fields
            .into_iter()
            .map(|(k, v)| (html_unescape(&k), html_unescape(&v)))
            .collect(),
    })
}

fn attr(tag: &str, name: &str) -> Option<String> {
    let needle = format!("{name}=\"");
    let i = tag.find(&needle)? + needle.len();
    let j = tag[i..].find('"')?;
    Some(tag[i..i + j].to_owned())
}

fn html_unescape(s: &str) -> String {
    s.replace("&#x2F;", "/")
        .replace("&#x3D;", "=")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The `alg` of a compact JWS's header.
pub fn jws_alg(token: &str) -> String {
    use base64::Engine as _;
    let header = token.split('.').next().expect("header");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .expect("base64");
    let v: Value = serde_json::from_slice(&bytes).expect("json");
    v["alg"].as_str().expect("alg").to_owned()
}
