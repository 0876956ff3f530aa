//! SCIM list with a `userName eq` filter over a large directory, on SQLite and Postgres,
//! with the filter pushed down to SQL versus evaluated in the engine over every row.
//!
//! `cargo bench --bench scim_store_list` loads 100,000 users (`GATEHOUSE_BENCH_USERS`
//! overrides); in test mode (`cargo test --benches`) it loads 1,000 and runs each case once.
//! Postgres comes from `GATEHOUSE_POSTGRES_URL` (`eval "$(scripts/postgres start)"`).

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use http::{Method, Request};
use scim_core::store::ResourceStore;
use scim_core::{ResourceKind, ScimConfig, ScimService};
use store_sql::{ListOptions, SqlResourceStore, SqlStore};
use tenant_config::DirectoryId;
use tokio::runtime::Runtime;

fn users() -> usize {
    let full = std::env::args().any(|a| a == "--bench");
    std::env::var("GATEHOUSE_BENCH_USERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if full { 100_000 } else { 1_000 })
}

/// Loads `n` users into a new directory of `store`, from several tasks at once.
async fn load(store: &SqlStore, n: usize) -> SqlResourceStore {
    let scim = store.resource_store(&DirectoryId::generate());
    let tasks = 8;
    let mut handles = Vec::new();
    for t in 0..tasks {
        let scim = scim.clone();
        handles.push(tokio::spawn(async move {
            for i in (t..n).step_by(tasks) {
                let id = format!("{:08}-0000-4000-8000-000000000000", i);
                let name = format!("user{i:06}@bench.example");
                let (mut user, keys) = tenant_config::conformance::user(&id, &name, 1);
                user["displayName"] = serde_json::json!(format!("User {i}"));
                user["externalId"] = serde_json::json!(format!("ext-{i}"));
                scim.insert(&ResourceKind::User, user, keys)
                    .await
                    .unwrap_or_else(|e| panic!("load: {e}"));
            }
        }));
    }
    for h in handles {
        h.await.unwrap_or_else(|e| panic!("load: {e}"));
    }
    store
        .analyze()
        .await
        .unwrap_or_else(|e| panic!("analyze: {e}"));
    scim
}

fn list_request(n: usize) -> Request<Bytes> {
    // A user in the middle of the directory.
    let target = format!("user{:06}@bench.example", n / 2);
    let uri = format!("/Users?filter=userName%20eq%20%22{target}%22");
    Request::builder()
        .method(Method::GET)
        .uri(uri)
        .body(Bytes::new())
        .unwrap_or_else(|e| panic!("{e}"))
}

async fn list_once(service: &ScimService, n: usize) {
    let resp = service
        .handle("https://sp.example/scim/v2", list_request(n))
        .await;
    let body: serde_json::Value =
        serde_json::from_slice(resp.body()).unwrap_or(serde_json::Value::Null);
    assert_eq!(body["totalResults"], serde_json::json!(1), "{body}");
    black_box(body);
}

fn bench_backend(c: &mut Criterion, rt: &Runtime, name: &str, store: SqlStore, n: usize) {
    let scim = rt.block_on(load(&store, n));
    let pushed = ScimService::new(ScimConfig::default(), Arc::new(scim.clone()));
    let engine = ScimService::new(
        ScimConfig::default(),
        Arc::new(scim.with_list_options(ListOptions {
            pushdown: false,
            max_scan: n + 1,
        })),
    );

    let mut g = c.benchmark_group(format!("scim_list_username_eq_{n}"));
    g.bench_function(format!("{name}/pushdown"), |b| {
        b.iter(|| rt.block_on(list_once(&pushed, n)))
    });
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    g.bench_function(format!("{name}/engine"), |b| {
        b.iter(|| rt.block_on(list_once(&engine, n)))
    });
    g.finish();
}

fn scim_store_list(c: &mut Criterion) {
    let rt = Runtime::new().unwrap_or_else(|e| panic!("{e}"));
    let n = users();

    let sqlite = rt
        .block_on(SqlStore::sqlite_in_memory())
        .unwrap_or_else(|e| panic!("sqlite: {e}"));
    bench_backend(c, &rt, "sqlite", sqlite, n);

    let url = std::env::var("GATEHOUSE_POSTGRES_URL").unwrap_or_else(|_| {
        panic!("GATEHOUSE_POSTGRES_URL is not set: eval \"$(scripts/postgres start)\" first")
    });
    let postgres = rt
        .block_on(SqlStore::connect(&url))
        .unwrap_or_else(|e| panic!("postgres: {e}"));
    bench_backend(c, &rt, "postgres", postgres, n);
}

criterion_group!(benches, scim_store_list);
criterion_main!(benches);
