//! SCIM PATCH throughput: the engine alone, and a whole PATCH request through the service and
//! the in-memory store (JSON parse, apply, validation, ETag, store, response).

use std::hint::black_box;
use std::sync::Arc;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use gatehouse_benches::{sample_patch, sample_user};
use http::{Method, Request, StatusCode};
use scim_core::patch::apply_patch;
use scim_core::resource::attributes_of;
use scim_core::{CompatProfile, InMemoryStore, ResourceSchema, ScimConfig, ScimService};

fn engine(c: &mut Criterion) {
    let schema = ResourceSchema::user();
    let attributes = attributes_of(&sample_user());
    let request = sample_patch();
    if let Err(e) = apply_patch(&attributes, &request, &schema, CompatProfile::default()) {
        panic!("the bench PATCH is rejected: {e}");
    }

    let mut g = c.benchmark_group("patch_apply");
    g.throughput(Throughput::Elements(1));
    g.bench_function("entra_shaped_5_ops", |b| {
        b.iter(|| {
            apply_patch(
                black_box(&attributes),
                black_box(&request),
                &schema,
                CompatProfile::default(),
            )
        })
    });
    g.finish();
}

fn service(c: &mut Criterion) {
    let runtime = match tokio::runtime::Builder::new_current_thread().build() {
        Ok(r) => r,
        Err(e) => panic!("no tokio runtime: {e}"),
    };
    let base = "https://example.com/scim/v2";
    let service = ScimService::new(ScimConfig::default(), Arc::new(InMemoryStore::new()));
    let mut user = sample_user();
    if let Some(m) = user.as_object_mut() {
        m.remove("id");
        m.remove("meta");
    }
    let created = runtime.block_on(service.handle(base, request(Method::POST, "/Users", &user)));
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: serde_json::Value = match serde_json::from_slice(created.body()) {
        Ok(v) => v,
        Err(e) => panic!("created user is not JSON: {e}"),
    };
    let location = format!("/Users/{}", created["id"].as_str().unwrap_or_default());
    let patch = sample_patch();

    let mut g = c.benchmark_group("patch_request");
    g.throughput(Throughput::Elements(1));
    g.bench_function("entra_shaped_5_ops", |b| {
        b.iter(|| {
            let response =
                runtime.block_on(service.handle(base, request(Method::PATCH, &location, &patch)));
            assert_eq!(response.status(), StatusCode::OK);
            response
        })
    });
    g.finish();
}

fn request(method: Method, path: &str, body: &serde_json::Value) -> Request<Bytes> {
    let built = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/scim+json")
        .body(Bytes::from(body.to_string()));
    match built {
        Ok(r) => r,
        Err(e) => panic!("bench request: {e}"),
    }
}

/// PATCH `add` of many values to a multi-valued attribute that already holds many: each new
/// value is looked up in an index of the existing ones (linear, was quadratic).
fn add_many(c: &mut Criterion) {
    let schema = ResourceSchema::user();
    let emails = |from: usize, n: usize| -> serde_json::Value {
        (from..from + n)
            .map(|i| serde_json::json!({ "value": format!("u{i}@example.com"), "type": "work" }))
            .collect()
    };
    let attributes = serde_json::json!({ "userName": "bench", "emails": emails(0, 5_000) });
    let Some(attributes) = attributes.as_object() else {
        panic!("the bench user is not an object");
    };
    let request = serde_json::json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{ "op": "add", "path": "emails", "value": emails(2_500, 5_000) }]
    });
    let mut g = c.benchmark_group("patch_add_many");
    g.throughput(Throughput::Elements(5_000));
    g.bench_function("emails_5000_onto_5000", |b| {
        b.iter(|| {
            apply_patch(
                black_box(attributes),
                black_box(&request),
                &schema,
                CompatProfile::default(),
            )
        })
    });
    g.finish();
}

criterion_group!(benches, engine, service, add_many);
criterion_main!(benches);
