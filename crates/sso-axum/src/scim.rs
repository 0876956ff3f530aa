//! The SCIM 2.0 routes: bearer authentication, body limits, and the hand-over to
//! [`ScimService::handle`](scim_core::ScimService::handle).

use std::sync::Arc;

use axum::Router;
use axum::extract::{OriginalUri, Request, State};
use axum::routing::any;
use axum_core::body::Body;
use axum_core::response::Response;
use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::{StatusCode, Uri};
use http_body_util::{BodyExt as _, LengthLimitError, Limited};
use scim_core::ScimError;
use scim_core::error::ErrorKind;
use scim_core::service::error_response;
use uuid::Uuid;

use crate::directory::{DirectoryResolver, ResolvedDirectory};
use crate::token::ScimToken;

/// The path at which hosts usually nest [`scim_router`].
pub const DEFAULT_MOUNT_PATH: &str = "/scim/v2";

/// The response header that carries the correlation id logged for a request.
pub const CORRELATION_ID_HEADER: &str = "x-correlation-id";

/// How the SCIM routes compute the absolute URLs they return in `meta.location`.
#[derive(Debug, Clone)]
pub struct ScimRouterConfig {
    /// The public absolute URL of the SCIM root, such as `https://app.example.com/scim/v2`.
    /// Set it when the application runs behind a proxy; without it the URL is built from the
    /// request's `Host` header, plain `http`, and the path the router is nested at.
    pub public_base_url: Option<String>,
    /// The path the router is nested at, used when the original request path is not
    /// available to derive it.
    pub mount_path: String,
}

impl Default for ScimRouterConfig {
    fn default() -> Self {
        Self {
            public_base_url: None,
            mount_path: DEFAULT_MOUNT_PATH.to_owned(),
        }
    }
}

/// The SCIM routes for the directories that `directories` resolves, with the default
/// [`ScimRouterConfig`]. Nest it at [`DEFAULT_MOUNT_PATH`]:
///
/// ```
/// # use std::sync::Arc;
/// # use sso_axum::{StaticDirectories, scim_router};
/// let app: axum::Router = axum::Router::new()
///     .nest("/scim/v2", scim_router(Arc::new(StaticDirectories::new())));
/// ```
pub fn scim_router(directories: Arc<dyn DirectoryResolver>) -> Router {
    scim_router_with(directories, ScimRouterConfig::default())
}

/// The SCIM routes with an explicit configuration, to nest at `config.mount_path`.
///
/// axum's `Router::nest` does not route `{mount}/` (the root with a trailing slash) into the
/// nested router, so such a request gets the host's fallback (axum's empty 404).
/// [`scim_router_at`] serves it too.
pub fn scim_router_with(
    directories: Arc<dyn DirectoryResolver>,
    config: ScimRouterConfig,
) -> Router {
    let state = Arc::new(RouterState {
        directories,
        config,
        mounted_at: None,
    });
    Router::new()
        .route("/", any(handle_scim))
        .route("/{*path}", any(handle_scim))
        .with_state(state)
}

/// The SCIM routes already placed at `config.mount_path` (such as `/scim/v2`): merge them
/// into the host's router instead of nesting. Every path under the mount path is served,
/// including the root with a trailing slash (`/scim/v2/` is answered as `/scim/v2`, after
/// authentication).
///
/// ```
/// # use std::sync::Arc;
/// # use sso_axum::{ScimRouterConfig, StaticDirectories, scim_router_at};
/// let app: axum::Router = axum::Router::new().merge(scim_router_at(
///     Arc::new(StaticDirectories::new()),
///     ScimRouterConfig::default(),
/// ));
/// ```
pub fn scim_router_at(directories: Arc<dyn DirectoryResolver>, config: ScimRouterConfig) -> Router {
    let mount = format!("/{}", config.mount_path.trim_matches('/'));
    let state = Arc::new(RouterState {
        directories,
        config,
        mounted_at: Some(mount.clone()),
    });
    let root_routes = if mount == "/" {
        vec!["/".to_owned()]
    } else {
        vec![mount.clone(), format!("{mount}/")]
    };
    let mut router = Router::new();
    for path in root_routes {
        router = router.route(&path, any(handle_scim));
    }
    router
        .route(
            &format!("{}/{{*path}}", mount.trim_end_matches('/')),
            any(handle_scim),
        )
        .with_state(state)
}

struct RouterState {
    directories: Arc<dyn DirectoryResolver>,
    config: ScimRouterConfig,
    /// The mount path when the routes are merged at it ([`scim_router_at`]); `None` when
    /// they are nested, where axum has stripped the prefix already.
    mounted_at: Option<String>,
}

async fn handle_scim(State(state): State<Arc<RouterState>>, request: Request) -> Response {
    // The host's id when its middleware set one, so that its request log and this line
    // share it.
    let correlation_id = request
        .extensions()
        .get::<crate::CorrelationId>()
        .map_or_else(Uuid::new_v4, |c| c.0);
    let method = request.method().clone();
    let path = request.uri().path().to_owned();

    let (directory_id, mut response) = match dispatch(&state, request).await {
        Ok((dir, response)) => (Some(dir), response),
        Err(response) => (None, response),
    };

    if let Ok(v) = HeaderValue::from_str(&correlation_id.to_string()) {
        response.headers_mut().insert(CORRELATION_ID_HEADER, v);
    }
    tracing::info!(
        target: "gatehouse::scim",
        correlation_id = %correlation_id,
        method = %method,
        path = %path,
        status = response.status().as_u16(),
        directory = %directory_id.as_deref().unwrap_or("-"),
        "scim request"
    );
    response
}

/// Authenticates, reads the body within the limit and runs the directory's service. The
/// error side carries the finished error response.
async fn dispatch(state: &RouterState, request: Request) -> Result<(String, Response), Response> {
    let Some(token) = bearer_token(request.headers()) else {
        return Err(unauthorized(
            "the request has no Authorization: Bearer token",
        ));
    };
    let Some(ResolvedDirectory {
        directory_id,
        service,
    }) = state.directories.resolve(&token).await
    else {
        return Err(unauthorized(
            "the bearer token is not valid for any SCIM directory",
        ));
    };

    let base_url = match base_url(state, &request) {
        Ok(b) => b,
        Err(e) => return Err(into_axum(error_response(&e))),
    };

    // One byte over the service's limit passes through so that the service itself answers
    // 413 with its own message; anything longer is cut off here without reading it all.
    let limit = service.config().max_payload_size.saturating_add(1);
    let (parts, body) = request.into_parts();
    if declared_length(&parts.headers).is_some_and(|n| n > limit as u64) {
        return Err(into_axum(error_response(&too_large(limit - 1))));
    }
    let body = match Limited::new(body, limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => {
            return Err(into_axum(error_response(&too_large(limit - 1))));
        }
        Err(_) => {
            return Err(into_axum(error_response(&ScimError::new(
                ErrorKind::InvalidSyntax,
                "the request body could not be read",
            ))));
        }
    };

    let mut scim_request = http::Request::new(body);
    *scim_request.method_mut() = parts.method;
    *scim_request.uri_mut() = relative_uri(&parts.uri, state.mounted_at.as_deref());
    *scim_request.headers_mut() = parts.headers;
    let response = service.handle(&base_url, scim_request).await;
    Ok((directory_id, into_axum(response)))
}

/// The token of an `Authorization: Bearer <token>` header. The scheme is case-insensitive
/// (RFC 7235); the token is taken byte for byte.
fn bearer_token(headers: &HeaderMap) -> Option<ScimToken> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return None;
    }
    Some(ScimToken::new(token))
}

fn unauthorized(detail: &str) -> Response {
    let mut response = into_axum(error_response(&ScimError::new(
        ErrorKind::Unauthorized,
        detail,
    )));
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

fn too_large(max: usize) -> ScimError {
    ScimError::new(
        ErrorKind::PayloadTooLarge,
        format!("the request body is larger than the maximum of {max} bytes"),
    )
}

fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// The path and query of the request below the SCIM root, which is what the service
/// expects: the mount path is removed when the routes were merged rather than nested.
fn relative_uri(uri: &Uri, mounted_at: Option<&str>) -> Uri {
    let Some(pq) = uri.path_and_query() else {
        return Uri::from_static("/");
    };
    let Some(mount) = mounted_at.map(|m| m.trim_end_matches('/')) else {
        return Uri::from(pq.clone());
    };
    let rest = pq.path().strip_prefix(mount).unwrap_or(pq.path());
    let path = if rest.is_empty() { "/" } else { rest };
    let text = match pq.query() {
        Some(q) => format!("{path}?{q}"),
        None => path.to_owned(),
    };
    text.parse().unwrap_or_else(|_| Uri::from_static("/"))
}

/// The absolute URL of the SCIM root for this request.
fn base_url(state: &RouterState, request: &Request) -> Result<String, ScimError> {
    if let Some(public) = &state.config.public_base_url {
        return Ok(public.trim_end_matches('/').to_owned());
    }

    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| request.uri().authority().map(|a| a.as_str()))
        .ok_or_else(|| {
            ScimError::new(ErrorKind::InvalidSyntax, "the request has no Host header")
        })?;
    // The Host header ends up in every meta.location, so only a plain host[:port] is taken.
    let host_ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
    if !host_ok {
        return Err(ScimError::new(
            ErrorKind::InvalidSyntax,
            "the Host header is not a valid host name",
        ));
    }

    // Merged routes know their mount path; for nested ones axum records the path before
    // nesting stripped the prefix.
    let mount = match &state.mounted_at {
        Some(m) => m.clone(),
        None => request
            .extensions()
            .get::<OriginalUri>()
            .and_then(|o| mount_prefix(o.0.path(), request.uri().path()))
            .unwrap_or_else(|| state.config.mount_path.clone()),
    };
    Ok(format!("http://{host}{}", mount.trim_end_matches('/')))
}

/// The prefix the router was nested at: the original path minus the path the router saw.
fn mount_prefix(original: &str, inner: &str) -> Option<String> {
    if inner == "/" {
        return Some(original.trim_end_matches('/').to_owned());
    }
    original.strip_suffix(inner).map(str::to_owned)
}

fn into_axum(response: http::Response<Bytes>) -> Response {
    let mut r = response.map(Body::from);
    if r.status() == StatusCode::UNAUTHORIZED && !r.headers().contains_key(header::WWW_AUTHENTICATE)
    {
        r.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_scheme_is_case_insensitive_but_token_is_exact() {
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("bearer Abc"),
        );
        assert_eq!(
            bearer_token(&h)
                .map(|t| t.expose_secret().to_owned())
                .as_deref(),
            Some("Abc")
        );
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic Abc"));
        assert!(bearer_token(&h).is_none());
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer "));
        assert!(bearer_token(&h).is_none());
    }

    #[test]
    fn mount_prefix_is_derived_from_the_original_path() {
        assert_eq!(
            mount_prefix("/scim/v2/Users/1", "/Users/1").as_deref(),
            Some("/scim/v2")
        );
        assert_eq!(mount_prefix("/scim/v2", "/").as_deref(), Some("/scim/v2"));
        assert_eq!(mount_prefix("/scim/v2/", "/").as_deref(), Some("/scim/v2"));
        assert_eq!(mount_prefix("/a", "/b"), None);
    }
}
