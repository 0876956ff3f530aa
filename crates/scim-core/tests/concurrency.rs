//! Concurrent writes: no lost update without If-Match, 412 with a stale If-Match.
#![allow(missing_docs)]

mod common;

use std::sync::Arc;

use async_trait::async_trait;
use common::tapped::{Call, Tap, Tapped};
use common::{Client, PATCH_OP, USER_SCHEMA};
use scim_core::{InMemoryStore, ScimConfig, ScimService};
use serde_json::json;
use tokio::sync::Barrier;

const TASKS: usize = 50;

/// Yields to the scheduler before every store call, as a database-backed store does at each
/// query: concurrent requests then interleave between their read and their write.
struct Yielding;

#[async_trait]
impl Tap for Yielding {
    async fn before(&self, _call: Call) {
        tokio::task::yield_now().await;
    }
}

fn yielding_store() -> Tapped<Yielding> {
    Tapped::new(Arc::new(InMemoryStore::new()), Yielding)
}

/// 50 tasks, started together, each adding a distinct email without If-Match.
async fn concurrent_email_adds(c: Client) {
    let id = c.create_user("concurrent").await;
    let barrier = Arc::new(Barrier::new(TASKS));
    let mut handles = Vec::new();
    for i in 0..TASKS {
        let c = c.clone();
        let id = id.clone();
        let barrier = barrier.clone();
        handles.push(tokio::spawn(async move {
            barrier.wait().await;
            let r = c
                .patch_ops(
                    &format!("/Users/{id}"),
                    json!([{ "op": "add", "path": "emails", "value": [
                        { "value": format!("user{i}@example.com"), "type": "work" }
                    ]}]),
                )
                .await;
            (i, r.status, r.json)
        }));
    }
    let mut failed = Vec::new();
    for h in handles {
        let (i, status, body) = h.await.expect("task");
        if status != 200 {
            failed.push(format!("task {i}: {status} {body}"));
        }
    }
    assert!(
        failed.is_empty(),
        "PATCHes without If-Match failed:\n{}",
        failed.join("\n")
    );

    let r = c.get(&format!("/Users/{id}")).await;
    let mut got: Vec<String> = r.json["emails"]
        .as_array()
        .expect("emails")
        .iter()
        .map(|e| e["value"].as_str().unwrap().to_owned())
        .collect();
    got.sort();
    let mut want: Vec<String> = (0..TASKS).map(|i| format!("user{i}@example.com")).collect();
    want.sort();
    assert_eq!(got, want, "lost updates");
    // One version step per PATCH.
    assert_eq!(
        r.json["meta"]["version"],
        json!(format!("W/\"{}\"", TASKS + 1))
    );
}

/// With the in-memory store the 50 writers run in parallel on 4 worker threads: every one
/// succeeds and every email is kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_patches_lose_no_update() {
    concurrent_email_adds(Client::new()).await;
}

/// With a store whose calls suspend (as any database store's do), concurrent PATCHes without
/// `If-Match` must all succeed: a 412 answers only a precondition the client sent (RFC 7232
/// section 4.2), and no update may be lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_patches_lose_no_update_with_interleaving_store() {
    let service = ScimService::new(ScimConfig::default(), Arc::new(yielding_store()));
    concurrent_email_adds(Client { service }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn stale_if_match_is_412() {
    let c = Client::new();
    let id = c.create_user("stale").await;
    let v1 = c.get(&format!("/Users/{id}")).await.version();
    let r = c
        .patch_ops(
            &format!("/Users/{id}"),
            json!([{ "op": "replace", "path": "title", "value": "first" }]),
        )
        .await;
    assert_eq!(r.status, 200);
    let body = json!({ "schemas": [PATCH_OP], "Operations": [
        { "op": "replace", "path": "title", "value": "stale" }
    ]});
    let r = c
        .patch_with(&format!("/Users/{id}"), &body, &[("if-match", &v1)])
        .await;
    r.assert_error(412, None);
    let r = c
        .put_with(
            &format!("/Users/{id}"),
            &json!({ "schemas": [USER_SCHEMA], "userName": "stale", "title": "stale" }),
            &[("if-match", &v1)],
        )
        .await;
    r.assert_error(412, None);
    let g = c.get(&format!("/Users/{id}")).await;
    assert_eq!(g.json["title"], json!("first"));
    assert_eq!(g.json["meta"]["version"], json!("W/\"2\""));
}

/// Many writers holding the same version: exactly one wins, every other gets 412, and the
/// stored value is the winner's.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_if_match_has_exactly_one_winner() {
    for store in [false, true] {
        let c = if store {
            Client {
                service: ScimService::new(ScimConfig::default(), Arc::new(yielding_store())),
            }
        } else {
            Client::new()
        };
        let id = c.create_user("race").await;
        let v1 = c.get(&format!("/Users/{id}")).await.version();
        let barrier = Arc::new(Barrier::new(TASKS));
        let mut handles = Vec::new();
        for i in 0..TASKS {
            let (c, id, v1, barrier) = (c.clone(), id.clone(), v1.clone(), barrier.clone());
            handles.push(tokio::spawn(async move {
                barrier.wait().await;
                let body = json!({ "schemas": [PATCH_OP], "Operations": [
                    { "op": "replace", "path": "title", "value": format!("t{i}") }
                ]});
                let r = c
                    .patch_with(&format!("/Users/{id}"), &body, &[("if-match", &v1)])
                    .await;
                (i, r)
            }));
        }
        let mut winners = Vec::new();
        for h in handles {
            let (i, r) = h.await.expect("task");
            match r.status {
                200 => winners.push(i),
                412 => r.assert_error(412, None),
                s => panic!("task {i}: unexpected {s} {}", r.json),
            }
        }
        assert_eq!(winners.len(), 1, "winners: {winners:?}");
        let g = c.get(&format!("/Users/{id}")).await;
        assert_eq!(g.json["title"], json!(format!("t{}", winners[0])));
        assert_eq!(g.json["meta"]["version"], json!("W/\"2\""));
    }
}

/// With as many retries as concurrent writers, the interleaving store loses nothing either:
/// every conflict means another writer succeeded, so each writer succeeds within `TASKS`
/// attempts.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_patches_with_enough_retries() {
    let service = ScimService::new(
        ScimConfig {
            write_retries: TASKS,
            ..Default::default()
        },
        Arc::new(yielding_store()),
    );
    concurrent_email_adds(Client { service }).await;
}
