//! The SCIM router driven in-process through `tower::ServiceExt::oneshot`.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use http::{Request, StatusCode, header};
use http_body_util::BodyExt as _;
use scim_core::{InMemoryStore, ScimConfig, ScimService};
use serde_json::{Value, json};
use sso_axum::{
    CORRELATION_ID_HEADER, ScimRouterConfig, ScimToken, StaticDirectories, scim_router,
    scim_router_with,
};
use tower::ServiceExt as _;

const TOKEN: &str = "router-test-token";

fn directories(max_payload_size: usize) -> Arc<StaticDirectories> {
    let config = ScimConfig {
        max_payload_size,
        ..ScimConfig::default()
    };
    let service = ScimService::new(config, Arc::new(InMemoryStore::new()));
    Arc::new(StaticDirectories::new().with("dir", ScimToken::new(TOKEN).hash(), service))
}

fn app() -> Router {
    Router::new().nest("/scim/v2", scim_router(directories(1024)))
}

async fn call(app: Router, request: Request<Body>) -> (StatusCode, http::HeaderMap, Value) {
    let response = match app.oneshot(request).await {
        Ok(r) => r,
        Err(e) => match e {},
    };
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = match response.into_body().collect().await {
        Ok(c) => c.to_bytes(),
        Err(e) => panic!("body: {e}"),
    };
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, headers, json)
}

fn create_user(user_name: &str) -> Request<Body> {
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name
    });
    build(
        Request::post("/scim/v2/Users")
            .header(header::HOST, "app.example.com:8443")
            .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
            .header(header::CONTENT_TYPE, "application/scim+json"),
        Body::from(body.to_string()),
    )
}

fn build(builder: http::request::Builder, body: Body) -> Request<Body> {
    match builder.body(body) {
        Ok(r) => r,
        Err(e) => panic!("request: {e}"),
    }
}

#[tokio::test]
async fn missing_token_is_401_with_bearer_challenge_and_scim_body() {
    let request = build(Request::get("/scim/v2/Users"), Body::empty());
    let (status, headers, body) = call(app(), request).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        headers.get(header::WWW_AUTHENTICATE).map(|v| v.as_bytes()),
        Some(&b"Bearer"[..])
    );
    assert!(headers.contains_key(CORRELATION_ID_HEADER));
    assert_eq!(body["status"], json!("401"));
    assert_eq!(
        body["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:Error"])
    );
}

#[tokio::test]
async fn location_is_built_from_host_and_mount_path() {
    let (status, _, body) = call(app(), create_user("bjensen")).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = body["id"].as_str().unwrap_or_default();
    assert_eq!(
        body["meta"]["location"],
        json!(format!("http://app.example.com:8443/scim/v2/Users/{id}"))
    );
}

#[tokio::test]
async fn public_base_url_overrides_the_host_header() {
    let config = ScimRouterConfig {
        public_base_url: Some("https://public.example.com/idp/scim/v2/".into()),
        ..ScimRouterConfig::default()
    };
    let app = Router::new().nest("/scim/v2", scim_router_with(directories(1024), config));
    let (status, _, body) = call(app, create_user("bjensen")).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = body["id"].as_str().unwrap_or_default();
    assert_eq!(
        body["meta"]["location"],
        json!(format!("https://public.example.com/idp/scim/v2/Users/{id}"))
    );
}

#[tokio::test]
async fn a_host_header_with_a_path_is_rejected() {
    let request = build(
        Request::get("/scim/v2/Users")
            .header(header::HOST, "evil.example.com/x")
            .header(header::AUTHORIZATION, format!("Bearer {TOKEN}")),
        Body::empty(),
    );
    let (status, _, body) = call(app(), request).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

#[tokio::test]
async fn bodies_over_the_limit_get_413() {
    // Declared too large: rejected before reading.
    let big = "x".repeat(4096);
    let request = build(
        Request::post("/scim/v2/Users")
            .header(header::HOST, "localhost")
            .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
            .header(header::CONTENT_LENGTH, big.len()),
        Body::from(big.clone()),
    );
    let (status, _, body) = call(app(), request).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body["status"], json!("413"));

    // Streamed without a length: cut off while reading.
    let stream = futures_stream(big);
    let request = build(
        Request::post("/scim/v2/Users")
            .header(header::HOST, "localhost")
            .header(header::AUTHORIZATION, format!("Bearer {TOKEN}")),
        stream,
    );
    let (status, _, body) = call(app(), request).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body["status"], json!("413"));

    // Exactly one byte over the service's limit: the service answers 413 itself.
    let request = build(
        Request::post("/scim/v2/Users")
            .header(header::HOST, "localhost")
            .header(header::AUTHORIZATION, format!("Bearer {TOKEN}")),
        Body::from("x".repeat(1025)),
    );
    let (status, _, body) = call(app(), request).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body["status"], json!("413"));
}

/// A body of unknown length, delivered in small frames.
fn futures_stream(text: String) -> Body {
    let chunks: Vec<Result<bytes::Bytes, std::io::Error>> = text
        .into_bytes()
        .chunks(100)
        .map(|c| Ok(bytes::Bytes::copy_from_slice(c)))
        .collect();
    Body::from_stream(IterStream(chunks.into_iter()))
}

struct IterStream<I>(I);

impl<I: Iterator + Unpin> futures_core::Stream for IterStream<I> {
    type Item = I::Item;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        std::task::Poll::Ready(self.0.next())
    }
}
