//! The transport and the caches against a small HTTP server written for the tests: it serves
//! what a real provider will not (redirects to another host, oversized bodies, a userinfo
//! response for another user) and counts the requests.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use common::TestClock;
use oidc_rp::http::{HttpClient, ReqwestHttpClient};
use oidc_rp::jws::sign_compact;
use oidc_rp::{
    Algorithm, ClientAuth, ClientConfig, Error, Expectations, InMemoryLoginStateStore, Jwk, JwkSet,
    Provider, ProviderConfig, RelyingParty, Secret, ValidationConfig, VerifyingKey,
    validate_id_token,
};
use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

type Route = (u16, Vec<(String, String)>, Vec<u8>);

/// A loopback HTTP/1.1 server answering from a path-to-response table; one request per
/// connection.
struct TestServer {
    port: u16,
    routes: Arc<Mutex<HashMap<String, Route>>>,
    hits: Arc<Mutex<HashMap<String, usize>>>,
}

impl TestServer {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let routes: Arc<Mutex<HashMap<String, Route>>> = Arc::default();
        let hits: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
        let (r, h) = (routes.clone(), hits.clone());
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let (r, h) = (r.clone(), h.clone());
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                        match socket.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&buf).into_owned();
                    let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
                    *h.lock().expect("hits").entry(path.clone()).or_default() += 1;
                    let route = r.lock().expect("routes").get(&path).cloned();
                    let (status, headers, body) =
                        route.unwrap_or((404, Vec::new(), b"not found".to_vec()));
                    let mut response = format!("HTTP/1.1 {status} X\r\nconnection: close\r\n");
                    let chunked = headers.iter().any(|(k, _)| k == "transfer-encoding");
                    for (k, v) in &headers {
                        response.push_str(&format!("{k}: {v}\r\n"));
                    }
                    if chunked {
                        response.push_str("\r\n");
                        let _ = socket.write_all(response.as_bytes()).await;
                        for part in body.chunks(64 * 1024) {
                            let _ = socket
                                .write_all(format!("{:x}\r\n", part.len()).as_bytes())
                                .await;
                            let _ = socket.write_all(part).await;
                            let _ = socket.write_all(b"\r\n").await;
                        }
                        let _ = socket.write_all(b"0\r\n\r\n").await;
                    } else {
                        response.push_str(&format!("content-length: {}\r\n\r\n", body.len()));
                        let _ = socket.write_all(response.as_bytes()).await;
                        let _ = socket.write_all(&body).await;
                    }
                    let _ = socket.shutdown().await;
                });
            }
        });
        Self { port, routes, hits }
    }

    fn issuer(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn route(&self, path: &str, status: u16, headers: &[(&str, &str)], body: impl Into<Vec<u8>>) {
        self.routes.lock().expect("routes").insert(
            path.into(),
            (
                status,
                headers
                    .iter()
                    .map(|(k, v)| ((*k).into(), (*v).into()))
                    .collect(),
                body.into(),
            ),
        );
    }

    fn json(&self, path: &str, body: &serde_json::Value) {
        self.route(
            path,
            200,
            &[("content-type", "application/json")],
            body.to_string(),
        );
    }

    fn hits(&self, path: &str) -> usize {
        self.hits
            .lock()
            .expect("hits")
            .get(path)
            .copied()
            .unwrap_or(0)
    }

    fn metadata(&self) -> serde_json::Value {
        let iss = self.issuer();
        json!({
            "issuer": iss,
            "authorization_endpoint": format!("{iss}/auth"),
            "token_endpoint": format!("{iss}/token"),
            "jwks_uri": format!("{iss}/jwks"),
            "userinfo_endpoint": format!("{iss}/userinfo"),
            "response_types_supported": ["code"],
            "id_token_signing_alg_values_supported": ["RS256"],
        })
    }
}

fn reqwest_client() -> Arc<ReqwestHttpClient> {
    Arc::new(ReqwestHttpClient::new().expect("client"))
}

#[tokio::test]
async fn redirects_are_followed_only_to_the_same_host() {
    let server = TestServer::start().await;
    let well_known = "/.well-known/openid-configuration";
    server.json(well_known, &server.metadata());

    // Another host (localhost is not 127.0.0.1 by name): not followed.
    let issuer = format!("http://localhost:{}", server.port);
    server.route(
        "/other/.well-known/openid-configuration",
        302,
        &[("location", &format!("{issuer}{well_known}"))],
        "",
    );
    let err = oidc_rp::discover(
        reqwest_client().as_ref(),
        &format!("{}/other", server.issuer()),
    )
    .await
    .expect_err("cross-host redirect");
    assert!(
        matches!(
            err,
            Error::HttpStatus {
                status: 302,
                what: "discovery"
            }
        ),
        "{err}"
    );
    assert_eq!(server.hits(well_known), 0);

    // The same host: followed.
    server.route("/moved", 301, &[("location", well_known)], "");
    let response = reqwest_client()
        .execute(
            http::Request::get(format!("{}/moved", server.issuer()))
                .body(Vec::new())
                .expect("request"),
        )
        .await
        .expect("same-host redirect");
    assert_eq!(response.status(), 200);
    assert_eq!(server.hits(well_known), 1);
}

#[tokio::test]
async fn response_size_is_bounded() {
    let server = TestServer::start().await;
    let big = vec![b'a'; 2 * 1024 * 1024];
    server.route("/big", 200, &[], big.clone());
    server.route(
        "/big-chunked",
        200,
        &[("transfer-encoding", "chunked")],
        big,
    );
    for path in ["/big", "/big-chunked"] {
        let err = reqwest_client()
            .execute(
                http::Request::get(format!("{}{path}", server.issuer()))
                    .body(Vec::new())
                    .expect("request"),
            )
            .await
            .expect_err("too large");
        assert!(
            matches!(err, Error::ResponseTooLarge { max: 1_048_576 }),
            "{path}: {err}"
        );
    }
}

#[tokio::test]
async fn discovery_is_cached_for_its_ttl_and_checked() {
    let server = TestServer::start().await;
    let well_known = "/.well-known/openid-configuration";
    server.json(well_known, &server.metadata());
    let clock = Arc::new(TestClock::default());
    let provider = Provider::new(
        ProviderConfig::discover(server.issuer()),
        reqwest_client(),
        clock.clone(),
    )
    .expect("provider");
    provider.metadata().await.expect("metadata");
    provider.metadata().await.expect("metadata");
    assert_eq!(server.hits(well_known), 1);
    clock.advance(3601);
    provider.metadata().await.expect("metadata");
    assert_eq!(server.hits(well_known), 2);

    // An endpoint that is plain http on a non-loopback host is refused.
    let mut bad = server.metadata();
    bad["token_endpoint"] = json!("http://op.example.com/token");
    server.json(well_known, &bad);
    let err = oidc_rp::discover(reqwest_client().as_ref(), &server.issuer())
        .await
        .expect_err("http");
    assert!(
        matches!(
            err,
            Error::InvalidUrl {
                what: "token_endpoint",
                ..
            }
        ),
        "{err}"
    );

    // A document that is not JSON.
    server.route(well_known, 200, &[], "<html>");
    let err = oidc_rp::discover(reqwest_client().as_ref(), &server.issuer())
        .await
        .expect_err("html");
    assert!(
        matches!(
            err,
            Error::InvalidDocument {
                document: "provider metadata",
                ..
            }
        ),
        "{err}"
    );
}

#[tokio::test]
async fn userinfo_sub_must_match_the_id_token() {
    let server = TestServer::start().await;
    server.json("/.well-known/openid-configuration", &server.metadata());
    server.json(
        "/userinfo",
        &json!({"sub": "someone-else", "email": "x@example.com"}),
    );

    // An ID token for "alice", validated with a key of this test.
    let key = PKey::from_rsa(Rsa::generate(2048).expect("rsa")).expect("pkey");
    let public = PKey::public_key_from_der(&key.public_key_to_der().expect("der")).expect("public");
    let set = JwkSet::from_keys(vec![
        VerifyingKey::from_jwk(Jwk::from_public_key(&public, Some("k"), None).expect("jwk"))
            .expect("key"),
    ]);
    let now = 1_800_000_000;
    let token = sign_compact(
        Algorithm::RS256,
        &key,
        Some("k"),
        &json!({"iss": server.issuer(), "aud": "c", "sub": "alice", "iat": now, "exp": now + 60,
                "email_verified": false}),
    )
    .expect("sign");
    let claims = validate_id_token(
        &token,
        &set,
        &ValidationConfig::new(server.issuer(), "c"),
        &Expectations::default(),
        now,
    )
    .expect("valid");

    let provider = Arc::new(
        Provider::new(
            ProviderConfig::discover(server.issuer()),
            reqwest_client(),
            Arc::new(TestClock::default()),
        )
        .expect("provider"),
    );
    let rp = RelyingParty::new(
        provider,
        ClientConfig::new("c", ClientAuth::None, "http://127.0.0.1:9/cb"),
        ValidationConfig::new(server.issuer(), "c"),
        Arc::new(InMemoryLoginStateStore::default()),
    )
    .expect("rp");
    let err = rp
        .userinfo(&Secret::new("at"), &claims)
        .await
        .expect_err("sub mismatch");
    assert!(matches!(
        err,
        Error::UserinfoSubMismatch { ref expected, ref actual } if expected == "alice" && actual == "someone-else"
    ));

    // Userinfo with the right sub cannot override the ID token's claims.
    server.json(
        "/userinfo",
        &json!({"sub": "alice", "email_verified": true, "email": "a@example.com", "sub_extra": 1}),
    );
    let info = rp
        .userinfo(&Secret::new("at"), &claims)
        .await
        .expect("userinfo");
    assert_eq!(info.merged["email_verified"], json!(false));
    assert_eq!(info.merged["email"], json!("a@example.com"));
    assert_eq!(info.merged["sub"], json!("alice"));

    // A userinfo error status is typed.
    server.route("/userinfo", 401, &[], "");
    let err = rp
        .userinfo(&Secret::new("at"), &claims)
        .await
        .expect_err("401");
    assert!(
        matches!(
            err,
            Error::HttpStatus {
                status: 401,
                what: "userinfo_endpoint"
            }
        ),
        "{err}"
    );
}

#[tokio::test]
async fn jwks_fetch_errors_are_typed() {
    let server = TestServer::start().await;
    server.json("/.well-known/openid-configuration", &server.metadata());
    server.route("/jwks", 500, &[], "");
    let clock = Arc::new(TestClock::default());
    let provider = Provider::new(
        ProviderConfig::discover(server.issuer()),
        reqwest_client(),
        clock.clone(),
    )
    .expect("provider");
    let err = provider.jwks().await.expect_err("500");
    assert!(
        matches!(
            err,
            Error::HttpStatus {
                status: 500,
                what: "jwks_uri"
            }
        ),
        "{err}"
    );
    server.json("/jwks", &json!({"nokeys": []}));
    // Past the back-off of the first failure.
    clock.advance(5);
    let err = provider.jwks().await.expect_err("no keys");
    assert!(
        matches!(
            err,
            Error::InvalidDocument {
                document: "JWKS",
                ..
            }
        ),
        "{err}"
    );
}

#[tokio::test]
async fn failed_fetches_back_off_per_issuer() {
    let server = TestServer::start().await;
    let well_known = "/.well-known/openid-configuration";
    server.route(well_known, 503, &[], "");
    let clock = Arc::new(TestClock::default());
    let provider = Provider::new(
        ProviderConfig::discover(server.issuer()),
        reqwest_client(),
        clock.clone(),
    )
    .expect("provider");
    let backoff = |err: Error| match err {
        Error::FetchBackoff {
            what,
            failures,
            retry_in_secs,
        } => Some((what, failures, retry_in_secs)),
        _ => None,
    };

    // The first failure is fetched and reported as it is.
    let err = provider.metadata().await.expect_err("503");
    assert!(
        matches!(err, Error::HttpStatus { status: 503, .. }),
        "{err}"
    );
    assert_eq!(server.hits(well_known), 1);
    // Within 5 s, many callers: no request reaches the provider.
    for _ in 0..20 {
        let err = provider.metadata().await.expect_err("backing off");
        assert_eq!(backoff(err), Some(("discovery", 1, 5)));
    }
    assert_eq!(server.hits(well_known), 1);
    // After 5 s one attempt; it fails again and the wait doubles to 10 s.
    clock.advance(5);
    provider.metadata().await.expect_err("503 again");
    assert_eq!(server.hits(well_known), 2);
    clock.advance(9);
    let err = provider.metadata().await.expect_err("backing off");
    assert_eq!(backoff(err), Some(("discovery", 2, 1)));
    assert_eq!(server.hits(well_known), 2);
    // The provider recovers: the next allowed attempt succeeds and ends the back-off.
    server.json(well_known, &server.metadata());
    clock.advance(1);
    provider.metadata().await.expect("recovered");
    assert_eq!(server.hits(well_known), 3);

    // The JWKS has its own back-off, capped by the maximum.
    server.route("/jwks", 500, &[], "");
    let mut config = ProviderConfig::discover(server.issuer());
    config.fetch_failure_backoff_secs = 10;
    config.fetch_failure_backoff_max_secs = 15;
    let provider = Provider::new(config, reqwest_client(), clock.clone()).expect("provider");
    for (attempt, wait) in [(1, 10), (2, 15), (3, 15)] {
        provider.jwks().await.expect_err("500");
        assert_eq!(server.hits("/jwks"), attempt);
        let err = provider.jwks().await.expect_err("backing off");
        assert_eq!(backoff(err), Some(("jwks_uri", attempt as u32, wait)));
        assert_eq!(server.hits("/jwks"), attempt);
        clock.advance(wait);
    }
    // Discovery of this provider still worked throughout (one fetch, then cached).
    assert_eq!(server.hits(well_known), 4);
}

#[tokio::test]
async fn provider_error_text_is_sanitized_and_bounded() {
    let server = TestServer::start().await;
    server.json("/.well-known/openid-configuration", &server.metadata());
    let provider = Arc::new(
        Provider::new(
            ProviderConfig::discover(server.issuer()),
            reqwest_client(),
            Arc::new(TestClock::default()),
        )
        .expect("provider"),
    );
    let rp = RelyingParty::new(
        provider,
        ClientConfig::new("c", ClientAuth::None, "http://127.0.0.1:9/cb"),
        ValidationConfig::new(server.issuer(), "c"),
        Arc::new(InMemoryLoginStateStore::default()),
    )
    .expect("rp");
    let hostile = format!(
        "denied\r\n2026-12-04 INFO login ok user=admin\u{1b}[2J\u{202e}{}",
        "x".repeat(5_000)
    );
    let clean = |text: &str| {
        assert!(!text.chars().any(char::is_control), "{text:?}");
        assert!(!text.contains('\u{202e}'), "{text:?}");
        assert!(text.chars().count() < 400, "{} chars", text.chars().count());
    };

    // An error response on the callback.
    let request = rp
        .authorization_request(&Default::default())
        .await
        .expect("request");
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("state", &request.state)
        .append_pair("error", "access_denied\n\u{1b}[31m")
        .append_pair("error_description", &hostile)
        .finish();
    let params = oidc_rp::CallbackParams::parse(query.as_bytes()).expect("params");
    let err = rp
        .handle_callback(&params, Some(request.browser_binding.expose()))
        .await
        .expect_err("error response");
    let Error::Authorization {
        ref error,
        ref description,
    } = err
    else {
        panic!("{err}");
    };
    assert_eq!(error, "access_denied??[31m");
    let description = description.as_deref().expect("description");
    assert!(
        description.starts_with("denied??2026-12-04 INFO"),
        "{description}"
    );
    clean(description);
    clean(&err.to_string());

    // An error from the token endpoint.
    server.route(
        "/token",
        400,
        &[("content-type", "application/json")],
        json!({"error": "invalid_grant\u{1b}[2J", "error_description": hostile}).to_string(),
    );
    let request = rp
        .authorization_request(&Default::default())
        .await
        .expect("request");
    let query = format!("state={}&code=c0de", request.state);
    let params = oidc_rp::CallbackParams::parse(query.as_bytes()).expect("params");
    let err = rp
        .handle_callback(&params, Some(request.browser_binding.expose()))
        .await
        .expect_err("token endpoint error");
    let Error::TokenEndpoint(ref text) = err else {
        panic!("{err}");
    };
    assert!(
        text.starts_with("invalid_grant?[2J: denied??2026"),
        "{text}"
    );
    clean(text);
    clean(&err.to_string());
}
