//! Shared helpers of the store-sql tests: fresh databases and an in-process SCIM client.
#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request};
use scim_core::{ScimConfig, ScimService};
use serde_json::Value;
use store_sql::SqlStore;

/// The Postgres server `scripts/postgres start` runs. Its absence fails the test.
pub fn postgres_url() -> String {
    std::env::var("GATEHOUSE_POSTGRES_URL").unwrap_or_else(|_| {
        panic!(
            "GATEHOUSE_POSTGRES_URL is not set: run the tests through scripts/test, or \
             `eval \"$(scripts/postgres start)\"` first"
        )
    })
}

/// A new, empty database on the test server, and its URL.
pub async fn fresh_postgres_url() -> String {
    let url = postgres_url();
    let name = format!("gh_{}", uuid::Uuid::new_v4().simple());
    let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("connect to {url}: {e}"));
    sqlx::Executor::execute(&mut admin, format!("CREATE DATABASE {name}").as_str())
        .await
        .unwrap_or_else(|e| panic!("create database: {e}"));
    let base = url.rsplit_once('/').map(|(b, _)| b).unwrap_or(&url);
    format!("{base}/{name}")
}

/// A migrated store on a new Postgres database.
pub async fn fresh_postgres() -> SqlStore {
    let url = fresh_postgres_url().await;
    SqlStore::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("connect: {e}"))
}

/// A migrated store in memory.
pub async fn fresh_sqlite() -> SqlStore {
    SqlStore::sqlite_in_memory()
        .await
        .unwrap_or_else(|e| panic!("sqlite: {e}"))
}

/// A SCIM service over the resources of a new directory of `store`.
pub fn service(store: &SqlStore) -> ScimService {
    let dir = tenant_config::DirectoryId::generate();
    ScimService::new(ScimConfig::default(), Arc::new(store.resource_store(&dir)))
}

/// Sends one SCIM request; returns the status, the ETag and the JSON body.
pub async fn call(
    service: &ScimService,
    method: Method,
    path: &str,
    body: Option<&Value>,
    if_match: Option<&str>,
) -> (u16, Option<String>, Value) {
    let mut req = Request::builder().method(method).uri(path);
    if body.is_some() {
        req = req.header("content-type", "application/scim+json");
    }
    if let Some(v) = if_match {
        req = req.header("if-match", v);
    }
    let bytes = body.map(|b| Bytes::from(b.to_string())).unwrap_or_default();
    let req = req.body(bytes).unwrap_or_else(|e| panic!("{e}"));
    let resp = service.handle("https://sp.example/scim/v2", req).await;
    let status = resp.status().as_u16();
    let etag = resp
        .headers()
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let json = serde_json::from_slice(resp.body()).unwrap_or(Value::Null);
    (status, etag, json)
}
