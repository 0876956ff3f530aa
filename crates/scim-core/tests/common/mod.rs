//! Shared helpers for the scim-core integration tests: an in-process SCIM client.
#![allow(missing_docs, dead_code, unreachable_pub)]

pub mod tapped;

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, Method, Request};
use scim_core::{CompatProfile, InMemoryStore, ScimConfig, ScimService};
use serde_json::{Value, json};

/// The SCIM root every test client uses.
pub const BASE: &str = "https://example.com/scim/v2";
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// One response: status, headers and the JSON body (`Value::Null` when the body is empty).
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub json: Value,
}

impl Resp {
    /// A header as a string.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts an RFC 7644 error response with `status` and `scim_type` (`None`: absent).
    #[track_caller]
    pub fn assert_error(&self, status: u16, scim_type: Option<&str>) {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.json
        );
        assert_eq!(self.json["schemas"], json!([ERROR]), "body: {}", self.json);
        assert_eq!(
            self.json["status"],
            json!(status.to_string()),
            "body: {}",
            self.json
        );
        match scim_type {
            Some(t) => assert_eq!(self.json["scimType"], json!(t), "body: {}", self.json),
            None => assert!(self.json.get("scimType").is_none(), "body: {}", self.json),
        }
    }

    /// The `meta.version` of a resource body.
    pub fn version(&self) -> String {
        self.json["meta"]["version"]
            .as_str()
            .expect("meta.version")
            .to_owned()
    }

    /// The `id` of a resource body.
    pub fn id(&self) -> String {
        self.json["id"].as_str().expect("id").to_owned()
    }
}

/// An in-process SCIM client over one `ScimService` with an in-memory store.
#[derive(Clone)]
pub struct Client {
    pub service: ScimService,
}

impl Client {
    /// A client of a service with the default configuration (the identity-provider profile).
    pub fn new() -> Self {
        Self::with_config(ScimConfig::default())
    }

    /// A client of a strict RFC service.
    pub fn strict() -> Self {
        Self::with_config(ScimConfig {
            compat: CompatProfile::Strict,
            ..Default::default()
        })
    }

    pub fn with_config(config: ScimConfig) -> Self {
        Self {
            service: ScimService::new(config, Arc::new(InMemoryStore::new())),
        }
    }

    /// Sends one request. `path` is relative to the SCIM root and may carry a query whose
    /// values are written unencoded (`/Users?filter=userName eq "x"`): they are
    /// percent-encoded here as a client would.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Resp {
        let uri = encode_uri(path);
        let mut builder = Request::builder().method(method).uri(uri.as_str());
        if body.is_some() {
            builder = builder.header("content-type", "application/scim+json");
        }
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        let bytes = body
            .map(|b| Bytes::from(serde_json::to_vec(b).expect("serialize")))
            .unwrap_or_default();
        let req = builder.body(bytes).expect("request");
        let resp = self.service.handle(BASE, req).await;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.into_body();
        let json = if body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&body).unwrap_or_else(|e| {
                panic!(
                    "response body is not JSON ({e}): {}",
                    String::from_utf8_lossy(&body)
                )
            })
        };
        Resp {
            status,
            headers,
            json,
        }
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.send(Method::GET, path, None, &[]).await
    }

    pub async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Resp {
        self.send(Method::GET, path, None, headers).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Resp {
        self.send(Method::POST, path, Some(body), &[]).await
    }

    pub async fn put(&self, path: &str, body: &Value) -> Resp {
        self.send(Method::PUT, path, Some(body), &[]).await
    }

    pub async fn put_with(&self, path: &str, body: &Value, headers: &[(&str, &str)]) -> Resp {
        self.send(Method::PUT, path, Some(body), headers).await
    }

    pub async fn patch(&self, path: &str, body: &Value) -> Resp {
        self.send(Method::PATCH, path, Some(body), &[]).await
    }

    pub async fn patch_with(&self, path: &str, body: &Value, headers: &[(&str, &str)]) -> Resp {
        self.send(Method::PATCH, path, Some(body), headers).await
    }

    /// PATCH with a PatchOp body made of `ops`.
    pub async fn patch_ops(&self, path: &str, ops: Value) -> Resp {
        self.patch(path, &json!({ "schemas": [PATCH_OP], "Operations": ops }))
            .await
    }

    pub async fn delete(&self, path: &str) -> Resp {
        self.send(Method::DELETE, path, None, &[]).await
    }

    pub async fn delete_with(&self, path: &str, headers: &[(&str, &str)]) -> Resp {
        self.send(Method::DELETE, path, None, headers).await
    }

    /// Creates a user with `userName` and returns its id (asserting 201).
    pub async fn create_user(&self, user_name: &str) -> String {
        let r = self
            .post(
                "/Users",
                &json!({ "schemas": [USER_SCHEMA], "userName": user_name }),
            )
            .await;
        assert_eq!(r.status, 201, "create user {user_name}: {}", r.json);
        r.id()
    }

    /// Creates a group with `displayName` and members and returns its id (asserting 201).
    pub async fn create_group(&self, display_name: &str, members: &[&str]) -> String {
        let members: Vec<Value> = members.iter().map(|m| json!({ "value": m })).collect();
        let r = self
            .post(
                "/Groups",
                &json!({ "schemas": [GROUP_SCHEMA], "displayName": display_name, "members": members }),
            )
            .await;
        assert_eq!(r.status, 201, "create group {display_name}: {}", r.json);
        r.id()
    }
}

impl Default for Client {
    fn default() -> Self {
        Self::new()
    }
}

/// Percent-encodes the values of the query of `path` (names and `=`/`&` stay).
pub fn encode_uri(path: &str) -> String {
    let Some((p, q)) = path.split_once('?') else {
        return path.to_owned();
    };
    let parts: Vec<String> = q
        .split('&')
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) => format!("{k}={}", encode_component(v)),
            None => kv.to_owned(),
        })
        .collect();
    format!("{p}?{}", parts.join("&"))
}

/// RFC 3986 percent-encoding of everything but unreserved characters.
pub fn encode_component(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The `value`s of the elements of a multi-valued attribute, sorted.
pub fn values_of(v: &Value) -> Vec<String> {
    let mut out: Vec<String> = v
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|e| e["value"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// Sorted copy of string ids.
pub fn sorted(ids: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = ids.iter().map(|s| (*s).to_owned()).collect();
    v.sort();
    v
}
