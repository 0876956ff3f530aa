//! Regressions for the CPU and memory amplification defects an outside tester reported
//! (issue 2): each asserts results and counts of store calls, never a duration.
#![allow(missing_docs)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use common::tapped::{Call, Tap, Tapped};
use common::{Client, GROUP_SCHEMA};
use scim_core::{InMemoryStore, ScimConfig, ScimService};
use serde_json::{Value, json};

/// Counts the calls of `get` (each a deep copy of a resource) and `exists`. With
/// `override_exists` false it keeps the trait's default `exists` (built on `get`), as a store
/// written before `exists` existed would.
struct Counting {
    override_exists: bool,
    gets: AtomicUsize,
    exists: AtomicUsize,
}

#[async_trait]
impl Tap for Counting {
    async fn before(&self, call: Call) {
        match call {
            Call::Get => self.gets.fetch_add(1, Ordering::SeqCst),
            Call::Exists => self.exists.fetch_add(1, Ordering::SeqCst),
            _ => 0,
        };
    }
    fn own_exists(&self) -> bool {
        self.override_exists
    }
}

type CountingStore = Tapped<Counting>;

fn counting_store(override_exists: bool) -> CountingStore {
    Tapped::new(
        Arc::new(InMemoryStore::new()),
        Counting {
            override_exists,
            gets: AtomicUsize::new(0),
            exists: AtomicUsize::new(0),
        },
    )
}

fn reset(store: &CountingStore) {
    store.tap.gets.store(0, Ordering::SeqCst);
    store.tap.exists.store(0, Ordering::SeqCst);
}

fn client_over(store: Arc<CountingStore>) -> Client {
    Client {
        service: ScimService::new(ScimConfig::default(), store),
    }
}

fn member_values(group: &Value) -> Vec<(String, Option<String>)> {
    group["members"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|m| {
                    (
                        m["value"].as_str().expect("value").to_owned(),
                        m["display"].as_str().map(str::to_owned),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Item 2: a POST that names the same member many times, with different `display`s,
/// stores it once (the first entry wins) and checks it once, without copying it.
#[tokio::test]
async fn duplicate_members_are_merged_and_checked_once_without_copies() {
    let store = Arc::new(counting_store(true));
    let c = client_over(store.clone());
    let u = c.create_user("alice").await;
    let v = c.create_user("bob").await;
    let mut members: Vec<Value> = (0..200)
        .map(|i| json!({ "value": u, "display": format!("d{i}") }))
        .collect();
    members.push(json!({ "value": v }));
    reset(&store);
    let r = c
        .post(
            "/Groups",
            &json!({ "schemas": [GROUP_SCHEMA], "displayName": "g", "members": members }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.json);
    assert_eq!(
        member_values(&r.json),
        [(u.clone(), Some("d0".to_owned())), (v.clone(), None)]
    );
    assert_eq!(store.tap.gets.load(Ordering::SeqCst), 0);
    assert_eq!(store.tap.exists.load(Ordering::SeqCst), 2);
    let gid = r.id();

    // PUT and PATCH merge the same way.
    reset(&store);
    let r = c
        .put(
            &format!("/Groups/{gid}"),
            &json!({ "schemas": [GROUP_SCHEMA], "displayName": "g", "members": [
                { "value": v, "display": "first" }, { "value": v, "display": "second" },
                { "value": u, "type": "User" }, { "value": u, "type": "user" }
            ] }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(
        member_values(&r.json),
        [(v.clone(), Some("first".to_owned())), (u.clone(), None)]
    );
    assert_eq!(store.tap.exists.load(Ordering::SeqCst), 2);
    let r = c
        .patch_ops(
            &format!("/Groups/{gid}"),
            json!([{ "op": "add", "path": "members", "value": [
                { "value": u, "type": "Group" }, { "value": u, "display": "x" }
            ] }]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let got = member_values(&r.json);
    assert_eq!(got.len(), 2, "{}", r.json);
    assert_eq!(got[1].0, u);
}

/// Item 2: a store that keeps the trait's default `exists` is asked once per distinct
/// member, and an unknown member is still refused.
#[tokio::test]
async fn default_exists_is_called_once_per_distinct_member() {
    let store = Arc::new(counting_store(false));
    let c = client_over(store.clone());
    let u = c.create_user("alice").await;
    let members: Vec<Value> = (0..50).map(|_| json!({ "value": u })).collect();
    reset(&store);
    let r = c
        .post(
            "/Groups",
            &json!({ "schemas": [GROUP_SCHEMA], "displayName": "g", "members": members }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.json);
    assert_eq!(member_values(&r.json), [(u.clone(), None)]);
    assert_eq!(store.tap.gets.load(Ordering::SeqCst), 1);
    c.post(
        "/Groups",
        &json!({ "schemas": [GROUP_SCHEMA], "displayName": "h", "members": [{ "value": "nope" }] }),
    )
    .await
    .assert_error(400, Some("invalidValue"));
}

fn user_names(r: &common::Resp) -> Vec<String> {
    r.json["Resources"]
        .as_array()
        .expect("Resources")
        .iter()
        .map(|u| u["userName"].as_str().expect("userName").to_owned())
        .collect()
}

/// Item 3: filters and sorts on the computed `groups` are evaluated from the membership
/// index (the user is not copied to fill them in) with the same results as before.
#[tokio::test]
async fn filters_and_sorts_on_groups_match_the_memberships() {
    let c = Client::new();
    let a = c.create_user("alice").await;
    let b = c.create_user("bob").await;
    c.create_user("carol").await;
    let g1 = c.create_group("g1", &[&a]).await;
    let g2 = c.create_group("g2", &[&a, &b]).await;

    let r = c.get("/Users?filter=groups pr&sortBy=userName").await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(user_names(&r), ["alice", "bob"]);
    let r = c.get("/Users?filter=groups eq null").await;
    assert_eq!(user_names(&r), ["carol"]);
    let r = c
        .get(&format!("/Users?filter=groups.value eq \"{g1}\""))
        .await;
    assert_eq!(user_names(&r), ["alice"]);
    let r = c
        .get("/Users?filter=groups[display eq \"g2\"] and userName sw \"b\"")
        .await;
    assert_eq!(user_names(&r), ["bob"]);
    let r = c
        .get("/Users?count=0&filter=groups pr or userName pr")
        .await;
    assert_eq!(r.json["totalResults"], json!(3), "{}", r.json);
    // `groups` is filled in on the page, and sorting by it puts users without groups last.
    let r = c
        .get("/Users?filter=groups pr or userName pr&sortBy=groups.display&sortOrder=descending")
        .await;
    let names = user_names(&r);
    assert_eq!(names.last().map(String::as_str), Some("carol"), "{names:?}");
    assert_eq!(names.len(), 3);
    let bob = &r.json["Resources"][names.iter().position(|n| n == "bob").expect("bob")];
    assert_eq!(bob["groups"][0]["value"], json!(g2));
}

/// Item 4: a filter may hold at most `MAX_FILTER_TERMS` comparison terms, counted inside
/// value paths too; one more is a 400 `invalidFilter` naming the limit.
#[tokio::test]
async fn filters_with_too_many_terms_are_refused() {
    let c = Client::new();
    c.create_user("alice").await;
    let max = scim_core::filter::MAX_FILTER_TERMS;
    let terms = |n: usize| -> String {
        (0..n)
            .map(|i| format!("emails co \"~{i}\""))
            .collect::<Vec<_>>()
            .join(" or ")
    };
    let at_limit = format!("{} or userName eq \"alice\"", terms(max - 1));
    let r = c.get(&format!("/Users?filter={at_limit}")).await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["totalResults"], json!(1));

    let over = format!("{} or userName eq \"alice\"", terms(max));
    let r = c.get(&format!("/Users?filter={over}")).await;
    r.assert_error(400, Some("invalidFilter"));
    let detail = r.json["detail"].as_str().expect("detail");
    assert!(
        detail.contains(&format!("{}", max + 1)) && detail.contains(&format!("{max}")),
        "{detail}"
    );

    // Terms inside a value path count too, and POST /.search is bounded the same way.
    let inner = (0..max)
        .map(|i| format!("value eq \"{i}\""))
        .collect::<Vec<_>>()
        .join(" or ");
    let r = c
        .post(
            "/Users/.search",
            &json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                     "filter": format!("emails[{inner}] or userName pr") }),
        )
        .await;
    r.assert_error(400, Some("invalidFilter"));
}

/// Item 4: a multi-valued attribute holds at most `max_values_per_attribute` values after
/// POST, PUT and PATCH; more is a 400 `invalidValue` and nothing is stored.
#[tokio::test]
async fn multi_valued_attributes_are_bounded_on_write() {
    let c = Client::with_config(ScimConfig {
        max_values_per_attribute: 3,
        ..Default::default()
    });
    assert_eq!(ScimConfig::default().max_values_per_attribute, 10_000);
    let emails = |n: usize| -> Vec<Value> {
        (0..n)
            .map(|i| json!({ "value": format!("a{i}@example.com") }))
            .collect()
    };
    let user = |n: usize| json!({ "schemas": [common::USER_SCHEMA], "userName": "alice", "emails": emails(n) });
    c.post("/Users", &user(4))
        .await
        .assert_error(400, Some("invalidValue"));
    let r = c.post("/Users", &user(3)).await;
    assert_eq!(r.status, 201, "{}", r.json);
    let id = r.id();
    c.put(&format!("/Users/{id}"), &user(4))
        .await
        .assert_error(400, Some("invalidValue"));
    let r = c
        .patch_ops(
            &format!("/Users/{id}"),
            json!([{ "op": "add", "path": "emails", "value": [{ "value": "new@example.com" }] }]),
        )
        .await;
    r.assert_error(400, Some("invalidValue"));
    let r = c.get(&format!("/Users/{id}")).await;
    assert_eq!(r.json["emails"].as_array().map(Vec::len), Some(3));
    // An add of a value already held merges and stays within the bound.
    let r = c
        .patch_ops(
            &format!("/Users/{id}"),
            json!([{ "op": "add", "path": "emails", "value": [{ "value": "a0@example.com", "type": "work" }] }]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["emails"].as_array().map(Vec::len), Some(3));

    // Group members count the same way.
    let mut ids = Vec::new();
    for i in 0..4 {
        ids.push(c.create_user(&format!("m{i}")).await);
    }
    let members: Vec<Value> = ids.iter().map(|m| json!({ "value": m })).collect();
    c.post(
        "/Groups",
        &json!({ "schemas": [GROUP_SCHEMA], "displayName": "g", "members": members }),
    )
    .await
    .assert_error(400, Some("invalidValue"));
}

/// Item 5 (RFC 7232): `If-None-Match: *` or the current ETag on a write of an existing
/// resource is 412 and changes nothing; `If-Match` with another ETag on GET is 412.
#[tokio::test]
async fn preconditions_on_get_and_writes() {
    let c = Client::new();
    let id = c.create_user("alice").await;
    let path = format!("/Users/{id}");
    let etag = c.get(&path).await.version();
    let body = json!({ "schemas": [common::USER_SCHEMA], "userName": "alice2" });

    c.put_with(&path, &body, &[("If-None-Match", "*")])
        .await
        .assert_error(412, None);
    c.put_with(&path, &body, &[("If-None-Match", etag.as_str())])
        .await
        .assert_error(412, None);
    c.patch_with(
        &path,
        &json!({ "schemas": [common::PATCH_OP], "Operations": [{ "op": "replace", "path": "userName", "value": "x" }] }),
        &[("If-None-Match", "*")],
    )
    .await
    .assert_error(412, None);
    c.delete_with(&path, &[("If-None-Match", "*")])
        .await
        .assert_error(412, None);
    let r = c.get(&path).await;
    assert_eq!(r.json["userName"], json!("alice"));
    assert_eq!(r.version(), etag);

    // Another ETag in If-None-Match lets the write through.
    let r = c
        .put_with(&path, &body, &[("If-None-Match", "W/\"other\"")])
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let etag2 = r.version();
    // A PUT with If-None-Match: * on a resource that does not exist is 404 (no upsert).
    c.put_with("/Users/missing", &body, &[("If-None-Match", "*")])
        .await
        .assert_error(404, None);

    // GET: If-Match with a stale ETag is 412; with the current one (or *) it is 200.
    c.get_with(&path, &[("If-Match", etag.as_str())])
        .await
        .assert_error(412, None);
    let r = c.get_with(&path, &[("If-Match", etag2.as_str())]).await;
    assert_eq!(r.status, 200, "{}", r.json);
    let r = c.get_with(&path, &[("If-Match", "*")]).await;
    assert_eq!(r.status, 200, "{}", r.json);
    // If-None-Match on GET is still 304.
    let r = c
        .get_with(&path, &[("If-None-Match", etag2.as_str())])
        .await;
    assert_eq!(r.status, 304);
}

/// Item 4: each list request has a budget of attribute values its filter may look at (each
/// term charges the values of the attribute it names); a filter that needs more is a 400
/// `tooMany`. The budget is per request, not spent across requests.
#[tokio::test]
async fn a_list_filter_that_exceeds_the_evaluation_budget_is_too_many() {
    assert_eq!(scim_core::store::DEFAULT_FILTER_BUDGET, 10_000_000);
    let c = Client {
        service: ScimService::new(
            ScimConfig::default(),
            Arc::new(InMemoryStore::with_filter_budget(150)),
        ),
    };
    for u in 0..5 {
        let emails: Vec<Value> = (0..30)
            .map(|i| json!({ "value": format!("u{u}e{i}@example.com") }))
            .collect();
        let r = c
            .post(
                "/Users",
                &json!({ "schemas": [common::USER_SCHEMA], "userName": format!("u{u}"), "emails": emails }),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.json);
    }
    // 5 users x 30 emails = 150 values: exactly the budget, twice in a row.
    for _ in 0..2 {
        let r = c.get("/Users?filter=emails co \"u4e29\"").await;
        assert_eq!(r.status, 200, "{}", r.json);
        assert_eq!(r.json["totalResults"], json!(1));
    }
    // One more term on the last user's userName is over it.
    let r = c
        .get("/Users?filter=emails co \"nothing\" or userName eq \"nobody\"")
        .await;
    r.assert_error(400, Some("tooMany"));
    assert!(
        r.json["detail"].as_str().is_some_and(|d| d.contains("150")),
        "{}",
        r.json
    );
    // The root search and POST /.search are bounded the same way.
    c.post(
        "/.search",
        &json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                 "filter": "emails co \"nothing\" or userName eq \"nobody\"" }),
    )
    .await
    .assert_error(400, Some("tooMany"));
    // Cheap filters are unaffected.
    let r = c.get("/Users?filter=userName eq \"u3\"").await;
    assert_eq!(r.json["totalResults"], json!(1), "{}", r.json);
}
