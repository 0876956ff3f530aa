//! Regressions for the defects an outside tester reported (issue 2, letters A to J).
#![allow(missing_docs)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use common::tapped::{Call, Tap, Tapped};
use common::{BASE, Client, GROUP_SCHEMA, PATCH_OP, USER_SCHEMA};
use http::{Method, Request};
use scim_core::store::{StorePage, StoreQuery};
use scim_core::{
    InMemoryStore, ResourceKind, ResourceSchema, ResourceStore, ScimConfig, ScimService,
    StoreError, parse_filter,
};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------
// A: no filter evaluation under the store lock
// ---------------------------------------------------------------------------------------

/// While one thread lists with a filter that has to scan 20 MB of strings, another thread
/// keeps reading the same store. With the filter evaluated under the lock, one of those
/// reads waited for nearly the whole list; now no read waits for the filter.
#[test]
fn a_slow_filter_does_not_block_other_requests_of_the_directory() {
    let store = Arc::new(InMemoryStore::new());
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let long = "x".repeat(4_000);
    rt.block_on(async {
        for i in 0..5_000 {
            let user = json!({
                "schemas": [USER_SCHEMA], "id": format!("u{i}"), "userName": format!("{long}{i}"),
                "meta": { "resourceType": "User", "version": "W/\"1\"" }
            });
            store
                .insert(&ResourceKind::User, user, Vec::new())
                .await
                .expect("insert");
        }
    });
    let started = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicBool::new(false));
    let lister = {
        let (store, started, done) = (store.clone(), started.clone(), done.clone());
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .build()
                .expect("runtime");
            let schema = ResourceSchema::user();
            let filter = parse_filter("userName co \"no such text\"").expect("filter");
            let query = StoreQuery {
                schema: &schema,
                filter: Some(&filter),
                sort_by: None,
                descending: false,
                start_index: 1,
                count: 10,
            };
            started.store(true, Ordering::SeqCst);
            let t0 = Instant::now();
            let page = rt
                .block_on(store.list(&ResourceKind::User, &query))
                .expect("list");
            let took = t0.elapsed();
            done.store(true, Ordering::SeqCst);
            (page.total_results, took)
        })
    };
    while !started.load(Ordering::SeqCst) {
        std::thread::yield_now();
    }
    let mut longest_read = Duration::ZERO;
    while !done.load(Ordering::SeqCst) {
        let t0 = Instant::now();
        let got = rt
            .block_on(store.get(&ResourceKind::User, "u7"))
            .expect("get");
        longest_read = longest_read.max(t0.elapsed());
        assert_eq!(got.expect("u7")["id"], json!("u7"));
    }
    let (total, list_took) = lister.join().expect("lister");
    assert_eq!(total, 0);
    assert!(
        longest_read < list_took / 4,
        "a read waited {longest_read:?} during a list of {list_took:?}: the list holds the lock"
    );
}

// ---------------------------------------------------------------------------------------
// B: member check and group write in one atomic step
// ---------------------------------------------------------------------------------------

/// Read latency (each `get` answers, then yields `get_delay` times) and a `delete` that
/// yields `delete_delay` times before it runs, so that a DELETE lands at every point of a
/// concurrent PATCH.
struct Latency {
    get_delay: usize,
    delete_delay: usize,
}

async fn yields(n: usize) {
    for _ in 0..n {
        tokio::task::yield_now().await;
    }
}

#[async_trait]
impl Tap for Latency {
    async fn before(&self, call: Call) {
        if call == Call::Delete {
            yields(self.delete_delay).await;
        }
    }
    async fn got(&self, _kind: &ResourceKind, _id: &str, found: Option<Value>) -> Option<Value> {
        yields(self.get_delay).await;
        found
    }
}

fn client_over(store: Arc<dyn ResourceStore>) -> Client {
    Client {
        service: ScimService::new(ScimConfig::default(), store),
    }
}

fn member_values(group: &Value) -> Vec<String> {
    group["members"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|m| m["value"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// PATCH add member and DELETE of that user, concurrently, with the DELETE landing at each
/// point of the PATCH: the group never keeps the deleted user, and later writes of the
/// group that keep its members succeed.
#[tokio::test]
async fn b_concurrent_member_add_and_user_delete_leave_no_dangling_member() {
    for delete_delay in 0..12 {
        let c = client_over(Arc::new(Tapped::new(
            Arc::new(InMemoryStore::new()),
            Latency {
                get_delay: 3,
                delete_delay,
            },
        )));
        let keep = c.create_user("keep").await;
        let gid = c.create_group("g", &[&keep]).await;
        let doomed = c.create_user("doomed").await;
        let add = json!({ "schemas": [PATCH_OP], "Operations": [
            { "op": "add", "path": "members", "value": [{ "value": doomed }] }
        ]});
        let (gpath, upath) = (format!("/Groups/{gid}"), format!("/Users/{doomed}"));
        let (patched, deleted) = tokio::join!(c.patch(&gpath, &add), c.delete(&upath));
        assert_eq!(
            deleted.status, 204,
            "delay {delete_delay}: {}",
            deleted.json
        );
        assert!(
            patched.status == 200 || patched.status == 400,
            "delay {delete_delay}: {} {}",
            patched.status,
            patched.json
        );
        if patched.status == 400 {
            patched.assert_error(400, Some("invalidValue"));
        }
        let g = c.get(&format!("/Groups/{gid}")).await;
        assert_eq!(
            member_values(&g.json),
            [keep.as_str()],
            "delay {delete_delay}"
        );
        // A later PATCH that keeps the members is not wedged.
        let rename = json!({ "schemas": [PATCH_OP], "Operations": [
            { "op": "replace", "path": "displayName", "value": "renamed" }
        ]});
        let r = c.patch(&format!("/Groups/{gid}"), &rename).await;
        assert_eq!(r.status, 200, "delay {delete_delay}: {}", r.json);
        assert_eq!(member_values(&r.json), [keep.as_str()]);
    }
}

/// A store written by an older version (or another backend) holds a group with a member
/// that no longer exists. Such a store shows the dangling member on every read.
struct Dangling {
    ghost_in: String,
}

#[async_trait]
impl Tap for Dangling {
    async fn got(&self, _kind: &ResourceKind, id: &str, found: Option<Value>) -> Option<Value> {
        let mut r = found;
        if let Some(g) = r.as_mut()
            && id == self.ghost_in
        {
            let members = g
                .as_object_mut()
                .expect("object")
                .entry("members")
                .or_insert_with(|| json!([]));
            members
                .as_array_mut()
                .expect("array")
                .push(json!({ "value": "ghost", "type": "User" }));
        }
        r
    }
}

#[tokio::test]
async fn b_a_stored_dangling_member_is_dropped_not_wedging_put_and_patch() {
    let store = Arc::new(InMemoryStore::new());
    let plain = client_over(store.clone());
    let alice = plain.create_user("alice").await;
    let gid = plain.create_group("g", &[&alice]).await;
    let c = client_over(Arc::new(Tapped::new(
        store,
        Dangling {
            ghost_in: gid.clone(),
        },
    )));
    let rename = json!({ "schemas": [PATCH_OP], "Operations": [
        { "op": "replace", "path": "displayName", "value": "renamed" }
    ]});
    let r = c.patch(&format!("/Groups/{gid}"), &rename).await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(member_values(&r.json), [alice.as_str()]);
    let put = json!({ "schemas": [GROUP_SCHEMA], "displayName": "again",
        "members": [{ "value": alice }, { "value": "ghost" }] });
    let r = c.put(&format!("/Groups/{gid}"), &put).await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(member_values(&r.json), [alice.as_str()]);
    // A member the request adds that does not exist is still a 400.
    let add = json!({ "schemas": [PATCH_OP], "Operations": [
        { "op": "add", "path": "members", "value": [{ "value": "nobody" }] }
    ]});
    c.patch(&format!("/Groups/{gid}"), &add)
        .await
        .assert_error(400, Some("invalidValue"));
}

#[tokio::test]
async fn b_the_store_refuses_a_group_with_a_missing_member() {
    let store = InMemoryStore::new();
    let group = json!({ "schemas": [GROUP_SCHEMA], "id": "g1", "displayName": "g",
        "members": [{ "value": "nobody" }], "meta": { "version": "W/\"1\"" } });
    let e = store
        .insert(&ResourceKind::Group, group, Vec::new())
        .await
        .expect_err("missing member");
    assert_eq!(
        e,
        StoreError::MissingMember {
            value: "nobody".into()
        }
    );
    assert_eq!(store.get(&ResourceKind::Group, "g1").await, Ok(None));
}

// ---------------------------------------------------------------------------------------
// C, D, E: sorting and the root search
// ---------------------------------------------------------------------------------------

fn names(r: &common::Resp) -> Vec<String> {
    r.json["Resources"]
        .as_array()
        .expect("Resources")
        .iter()
        .map(|x| {
            x.get("userName")
                .or_else(|| x.get("displayName"))
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_owned()
        })
        .collect()
}

#[tokio::test]
async fn c_root_search_honours_sort_by_and_sort_order() {
    let c = Client::new();
    for n in ["carol", "alice", "bob"] {
        c.create_user(n).await;
    }
    let body = json!({ "schemas": [common::LIST_RESPONSE.replace("ListResponse", "SearchRequest")],
        "sortBy": "userName" });
    let r = c.post("/.search", &body).await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(names(&r), ["alice", "bob", "carol"]);
    let body = json!({ "sortBy": "userName", "sortOrder": "descending" });
    let r = c.post("/.search", &body).await;
    assert_eq!(names(&r), ["carol", "bob", "alice"]);
    // Across types: displayName is in both User and Group.
    c.create_group("beta", &[]).await;
    let r = c
        .post("/.search", &json!({ "sortBy": "displayName" }))
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["totalResults"], json!(4));
    assert_eq!(names(&r)[0], "beta", "{}", r.json);
}

#[tokio::test]
async fn c_unknown_sort_by_is_invalid_filter_everywhere() {
    let c = Client::new();
    c.create_user("alice").await;
    c.post("/.search", &json!({ "sortBy": "nonexistentAttr" }))
        .await
        .assert_error(400, Some("invalidFilter"));
    c.post("/Users/.search", &json!({ "sortBy": "nonexistentAttr" }))
        .await
        .assert_error(400, Some("invalidFilter"));
    c.get("/Groups?sortBy=nonexistentAttr")
        .await
        .assert_error(400, Some("invalidFilter"));
}

/// Records the largest page a list asked the store for.
struct LargestPage(AtomicUsize);

impl Tap for LargestPage {
    fn listed(&self, page: &StorePage) {
        self.0.fetch_max(page.resources.len(), Ordering::SeqCst);
    }
}

#[tokio::test]
async fn d_root_search_pages_through_the_store() {
    let store = Arc::new(Tapped::new(
        Arc::new(InMemoryStore::new()),
        LargestPage(AtomicUsize::new(0)),
    ));
    let c = client_over(store.clone());
    for i in 0..30 {
        c.create_user(&format!("user{i:02}")).await;
    }
    for i in 0..5 {
        c.create_group(&format!("group{i}"), &[]).await;
    }
    store.tap.0.store(0, Ordering::SeqCst);
    let r = c
        .post("/.search", &json!({ "startIndex": 29, "count": 4 }))
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["totalResults"], json!(35));
    assert_eq!(names(&r), ["user28", "user29", "group0", "group1"]);
    let largest = store.tap.0.load(Ordering::SeqCst);
    assert!(
        largest <= 4,
        "the store returned {largest} resources for a page of 4"
    );
    // A sorted root search deeper than the limit is refused before collecting.
    c.post(
        "/.search",
        &json!({ "sortBy": "userName", "startIndex": 10_000, "count": 10 }),
    )
    .await
    .assert_error(400, Some("tooMany"));
}

#[tokio::test]
async fn e_sort_by_complex_or_computed_attributes() {
    let c = Client::new();
    // `name` is a single-valued complex attribute: no order; name.familyName has one.
    c.get("/Users?sortBy=name")
        .await
        .assert_error(400, Some("invalidFilter"));
    c.get("/Users?sortBy=password")
        .await
        .assert_error(400, Some("invalidFilter"));
    let mut ids = Vec::new();
    for (u, family) in [("u1", "Young"), ("u2", "Adams"), ("u3", "Miller")] {
        let r = c
            .post(
                "/Users",
                &json!({ "schemas": [USER_SCHEMA], "userName": u, "name": { "familyName": family } }),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.json);
        ids.push(r.id());
    }
    let r = c.get("/Users?sortBy=name.familyName").await;
    assert_eq!(names(&r), ["u2", "u3", "u1"]);
    // `groups` is computed from the groups' members; sorting by it uses the computed value.
    c.create_group("zeta", &[&ids[0]]).await;
    c.create_group("alpha", &[&ids[2]]).await;
    let r = c.get("/Users?sortBy=groups.display").await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(names(&r), ["u3", "u1", "u2"], "{}", r.json);
    let r = c
        .get("/Users?sortBy=groups.display&sortOrder=descending")
        .await;
    assert_eq!(names(&r), ["u1", "u3", "u2"], "{}", r.json);
}

// ---------------------------------------------------------------------------------------
// F: ETags are opaque strings
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn f_etags_are_compared_as_strings_not_numbers() {
    let c = Client::new();
    let id = c.create_user("etag").await;
    let path = format!("/Users/{id}");
    let patch = json!({ "schemas": [PATCH_OP], "Operations": [
        { "op": "replace", "path": "title", "value": "T" }
    ]});
    for wrong in ["W/\"+01\"", "W/\"01\"", "\"1.0\"", "W/\" 1\"", "1"] {
        c.patch_with(&path, &patch, &[("if-match", wrong)])
            .await
            .assert_error(412, None);
    }
    let r = c
        .patch_with(&path, &patch, &[("if-match", "W/\"1\"")])
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.version(), "W/\"2\"");
    let r = c.get_with(&path, &[("if-none-match", "\"0002\"")]).await;
    assert_eq!(r.status, 200);
    let r = c.get_with(&path, &[("if-none-match", "W/\"2\"")]).await;
    assert_eq!(r.status, 304);
    let r = c
        .get_with(&path, &[("if-none-match", "\"x\", \"2\"")])
        .await;
    assert_eq!(r.status, 304);
    let r = c.delete_with(&path, &[("if-match", "*")]).await;
    assert_eq!(r.status, 204);
}

// ---------------------------------------------------------------------------------------
// H: locations rendered from the current request
// ---------------------------------------------------------------------------------------

async fn send_at(
    service: &ScimService,
    base: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Value {
    let mut b = Request::builder().method(method).uri(path);
    if body.is_some() {
        b = b.header("content-type", "application/scim+json");
    }
    let bytes = body.map(|v| Bytes::from(v.to_string())).unwrap_or_default();
    let resp = service.handle(base, b.body(bytes).expect("request")).await;
    serde_json::from_slice(resp.body()).unwrap_or(Value::Null)
}

#[tokio::test]
async fn h_locations_and_refs_follow_the_current_base_url() {
    let store = Arc::new(InMemoryStore::new());
    let service = ScimService::new(ScimConfig::default(), store.clone());
    let evil = "http://evil.example/scim/v2";
    let user = send_at(
        &service,
        evil,
        Method::POST,
        "/Users",
        Some(json!({ "schemas": [USER_SCHEMA], "userName": "h" })),
    )
    .await;
    let uid = user["id"].as_str().expect("id").to_owned();
    assert_eq!(
        user["meta"]["location"],
        json!(format!("{evil}/Users/{uid}"))
    );
    let group = send_at(
        &service,
        evil,
        Method::POST,
        "/Groups",
        Some(
            json!({ "schemas": [GROUP_SCHEMA], "displayName": "g", "members": [{ "value": uid }] }),
        ),
    )
    .await;
    let gid = group["id"].as_str().expect("id").to_owned();
    // Nothing of the Host is persisted.
    for (kind, id) in [(ResourceKind::User, &uid), (ResourceKind::Group, &gid)] {
        let stored = store.get(&kind, id).await.expect("get").expect("stored");
        assert!(!stored.to_string().contains("evil.example"), "{stored}");
    }
    let u = send_at(&service, BASE, Method::GET, &format!("/Users/{uid}"), None).await;
    assert_eq!(u["meta"]["location"], json!(format!("{BASE}/Users/{uid}")));
    assert_eq!(
        u["groups"][0]["$ref"],
        json!(format!("{BASE}/Groups/{gid}"))
    );
    let g = send_at(&service, BASE, Method::GET, &format!("/Groups/{gid}"), None).await;
    assert_eq!(g["meta"]["location"], json!(format!("{BASE}/Groups/{gid}")));
    assert_eq!(
        g["members"][0]["$ref"],
        json!(format!("{BASE}/Users/{uid}"))
    );
    let l = send_at(&service, BASE, Method::GET, "/Groups", None).await;
    assert_eq!(
        l["Resources"][0]["members"][0]["$ref"],
        json!(format!("{BASE}/Users/{uid}"))
    );
}

// ---------------------------------------------------------------------------------------
// I: discovery filters, no-op PATCH, non-string id
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn i_filter_on_discovery_endpoints_is_403() {
    let c = Client::new();
    for path in ["/Schemas?filter=id pr", "/ResourceTypes?filter=id pr"] {
        c.get(path).await.assert_error(403, None);
    }
}

#[tokio::test]
async fn i_a_patch_that_changes_nothing_keeps_the_version() {
    let c = Client::new();
    let id = c.create_user("same").await;
    let path = format!("/Users/{id}");
    let set = json!({ "schemas": [PATCH_OP], "Operations": [
        { "op": "replace", "path": "title", "value": "T" }
    ]});
    let r = c.patch(&path, &set).await;
    assert_eq!(r.version(), "W/\"2\"");
    let last_modified = r.json["meta"]["lastModified"].clone();
    let r = c.patch(&path, &set).await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.version(), "W/\"2\"");
    assert_eq!(r.header("etag"), Some("W/\"2\""));
    assert_eq!(r.json["meta"]["lastModified"], last_modified);
    assert_eq!(c.get(&path).await.version(), "W/\"2\"");
}

#[tokio::test]
async fn i_put_with_a_non_string_id_is_invalid_value() {
    let c = Client::new();
    let id = c.create_user("idtype").await;
    for bad in [
        json!(123),
        json!(true),
        json!([id.clone()]),
        json!({ "v": id.clone() }),
    ] {
        c.put(
            &format!("/Users/{id}"),
            &json!({ "schemas": [USER_SCHEMA], "id": bad, "userName": "idtype", "title": "x" }),
        )
        .await
        .assert_error(400, Some("invalidValue"));
    }
    let r = c
        .put(
            &format!("/Users/{id}"),
            &json!({ "schemas": [USER_SCHEMA], "id": id, "userName": "idtype", "title": "x" }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
}

// ---------------------------------------------------------------------------------------
// J: Bulk self-references
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn j_bulk_self_reference_is_409_and_never_stored() {
    let c = Client::new();
    let body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [{
            "method": "POST", "path": "/Users", "bulkId": "me",
            "data": { "schemas": [USER_SCHEMA, common::ENTERPRISE], "userName": "selfref",
                      common::ENTERPRISE: { "manager": { "value": "bulkId:me" } } }
        }]
    });
    let r = c.post("/Bulk", &body).await;
    assert_eq!(r.status, 200, "{}", r.json);
    let op = &r.json["Operations"][0];
    assert_eq!(op["status"], json!("409"), "{}", r.json);
    assert_eq!(op["response"]["scimType"], json!("invalidValue"));
    let l = c.get("/Users?filter=userName eq \"selfref\"").await;
    assert_eq!(l.json["totalResults"], json!(0), "{}", l.json);
    let all = c.get("/Users").await;
    assert!(!all.json.to_string().contains("bulkId:"), "{}", all.json);
}
