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
    scim_router_at, scim_router_with,
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

fn authed(method: http::Method, uri: &str, host: &str, body: Option<Value>) -> Request<Body> {
    let mut b = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::HOST, host)
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"));
    if body.is_some() {
        b = b.header(header::CONTENT_TYPE, "application/scim+json");
    }
    build(
        b,
        body.map(|v| Body::from(v.to_string()))
            .unwrap_or_else(Body::empty),
    )
}

/// `GET /scim/v2/` is the SCIM root like `GET /scim/v2`: authenticated first, then a SCIM
/// error body, never axum's empty 404.
#[tokio::test]
async fn the_root_with_a_trailing_slash_is_served_like_the_root() {
    let app = Router::new().merge(scim_router_at(
        directories(1024),
        ScimRouterConfig::default(),
    ));
    for uri in ["/scim/v2", "/scim/v2/"] {
        let (status, _, body) = call(
            app.clone(),
            build(
                Request::get(uri).header(header::HOST, "a.example"),
                Body::empty(),
            ),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{uri}");
        assert_eq!(body["status"], json!("401"), "{uri}");
        let (status, _, body) = call(
            app.clone(),
            authed(http::Method::GET, uri, "a.example", None),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
        assert_eq!(
            body["schemas"],
            json!(["urn:ietf:params:scim:api:messages:2.0:Error"]),
            "{uri}"
        );
        assert_eq!(body["status"], json!("404"), "{uri}");
    }
    // Other paths with a trailing slash reach the service too.
    let (status, _, body) = call(
        app.clone(),
        authed(
            http::Method::GET,
            "/scim/v2/ServiceProviderConfig/",
            "a.example",
            None,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["patch"]["supported"], json!(true));
    // Merged routes strip the mount path, keep the query, and build locations under it.
    let (status, headers, user) = call(
        app.clone(),
        authed(
            http::Method::POST,
            "/scim/v2/Users",
            "a.example",
            Some(json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "m" })),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    let id = user["id"].as_str().expect("id");
    assert_eq!(
        headers.get(header::LOCATION).and_then(|v| v.to_str().ok()),
        Some(format!("http://a.example/scim/v2/Users/{id}").as_str())
    );
    let (status, _, list) = call(
        app.clone(),
        authed(
            http::Method::GET,
            "/scim/v2/Users?filter=userName%20eq%20%22nobody%22",
            "a.example",
            None,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["totalResults"], json!(0));
}

/// The Host header of one request never reaches another response: locations and `$ref`
/// come from the current request.
#[tokio::test]
async fn a_forged_host_is_not_persisted_in_locations_or_refs() {
    let app = app();
    let (status, headers, user) = call(
        app.clone(),
        authed(
            http::Method::POST,
            "/scim/v2/Users",
            "evil.example",
            Some(json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "h" })),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    let uid = user["id"].as_str().expect("id").to_owned();
    assert_eq!(
        headers.get(header::LOCATION).and_then(|v| v.to_str().ok()),
        Some(format!("http://evil.example/scim/v2/Users/{uid}").as_str())
    );
    let (status, _, group) = call(
        app.clone(),
        authed(
            http::Method::POST,
            "/scim/v2/Groups",
            "evil.example",
            Some(
                json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                         "displayName": "g", "members": [{ "value": uid }] }),
            ),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{group}");
    let gid = group["id"].as_str().expect("id").to_owned();

    let good = "http://app.example.com/scim/v2";
    let (_, _, u) = call(
        app.clone(),
        authed(
            http::Method::GET,
            &format!("/scim/v2/Users/{uid}"),
            "app.example.com",
            None,
        ),
    )
    .await;
    assert_eq!(u["meta"]["location"], json!(format!("{good}/Users/{uid}")));
    assert_eq!(
        u["groups"][0]["$ref"],
        json!(format!("{good}/Groups/{gid}"))
    );
    let (_, _, g) = call(
        app.clone(),
        authed(
            http::Method::GET,
            &format!("/scim/v2/Groups/{gid}"),
            "app.example.com",
            None,
        ),
    )
    .await;
    assert_eq!(g["meta"]["location"], json!(format!("{good}/Groups/{gid}")));
    assert_eq!(
        g["members"][0]["$ref"],
        json!(format!("{good}/Users/{uid}"))
    );
    assert!(!g.to_string().contains("evil.example"), "{g}");
}

#[tokio::test]
async fn the_hosts_correlation_id_is_returned() {
    let id = uuid::Uuid::new_v4();
    let mut request = build(
        Request::get("/scim/v2/Users")
            .header(header::HOST, "localhost")
            .header(header::AUTHORIZATION, format!("Bearer {TOKEN}")),
        Body::empty(),
    );
    request.extensions_mut().insert(sso_axum::CorrelationId(id));
    let (status, headers, _) = call(app(), request).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        headers[CORRELATION_ID_HEADER].to_str().ok(),
        Some(id.to_string().as_str())
    );
}
