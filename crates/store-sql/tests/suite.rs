//! The tenant-config conformance suite and the SCIM behaviour tests on SQLite (memory and
//! file) and on a real Postgres server.

mod common;

use std::sync::Arc;

use http::Method;
use serde_json::json;
use store_sql::{Backend, SqlStore};
use tenant_config::{DirectoryId, conformance};

use common::{call, fresh_postgres, fresh_postgres_url, fresh_sqlite, service};

async fn run_suite(store: &SqlStore) {
    let scim = store.resource_store(&DirectoryId::generate());
    conformance::run_all(store, &scim).await;
}

#[tokio::test]
async fn sqlite_in_memory_passes_the_conformance_suite() {
    let store = fresh_sqlite().await;
    assert_eq!(store.backend(), Backend::Sqlite);
    run_suite(&store).await;
}

#[tokio::test]
async fn postgres_passes_the_conformance_suite() {
    let store = fresh_postgres().await;
    assert_eq!(store.backend(), Backend::Postgres);
    run_suite(&store).await;
}

#[tokio::test]
async fn directories_do_not_see_each_other() {
    for store in [fresh_sqlite().await, fresh_postgres().await] {
        let a = store.resource_store(&DirectoryId::generate());
        let b = store.resource_store(&DirectoryId::generate());
        conformance::scim_resources(&a).await;
        // The same ids and userNames again, in another directory of the same database.
        conformance::scim_resources(&b).await;
    }
}

#[tokio::test]
async fn engine_only_lists_match_the_in_memory_store_too() {
    let options = store_sql::ListOptions {
        pushdown: false,
        max_scan: 100_000,
    };
    for store in [fresh_sqlite().await, fresh_postgres().await] {
        let scim = store
            .resource_store(&DirectoryId::generate())
            .with_list_options(options.clone());
        conformance::scim_resources(&scim).await;
    }
}

#[tokio::test]
async fn sqlite_file_migrates_from_empty_and_keeps_data_across_reopen() {
    let dir = std::env::temp_dir().join(format!("gatehouse-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let path = dir.join("gatehouse.db");
    let directory = DirectoryId::generate();
    {
        let store = SqlStore::sqlite_file(&path)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(store.applied_migrations().await, Ok(vec![1, 2]));
        let svc = scim_core::ScimService::new(
            scim_core::ScimConfig::default(),
            Arc::new(store.resource_store(&directory)),
        );
        let (status, _, _) = call(&svc, Method::POST, "/Users", Some(&json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "kept@acme.example"
        })), None).await;
        assert_eq!(status, 201);
        store.close().await;
    }
    let store = SqlStore::sqlite_file(&path)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        store.applied_migrations().await,
        Ok(vec![1, 2]),
        "reopening applies nothing twice"
    );
    let svc = scim_core::ScimService::new(
        scim_core::ScimConfig::default(),
        Arc::new(store.resource_store(&directory)),
    );
    let (status, _, body) = call(
        &svc,
        Method::GET,
        "/Users?filter=userName%20eq%20%22KEPT@acme.example%22",
        None,
        None,
    )
    .await;
    assert_eq!(
        (status, body["totalResults"].clone()),
        (200, json!(1)),
        "{body}"
    );
    assert_eq!(body["Resources"][0]["userName"], json!("kept@acme.example"));
    run_suite(&store).await;
    assert_eq!(store.analyze().await, Ok(()));
    store.close().await;
    std::fs::remove_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test]
async fn postgres_migrates_from_an_empty_database_once() {
    let url = fresh_postgres_url().await;
    let first = SqlStore::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(first.applied_migrations().await, Ok(vec![1, 2]));
    // A second node starting on the same database finds the schema in place.
    let second = SqlStore::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(second.applied_migrations().await, Ok(vec![1, 2]));
    run_suite(&second).await;
    assert_eq!(second.analyze().await, Ok(()));
}

#[tokio::test]
async fn unsupported_urls_are_refused() {
    let err = SqlStore::connect("mysql://localhost/db").await.err();
    assert_eq!(
        err,
        Some(store_sql::SqlError::UnsupportedUrl {
            scheme: "mysql".into()
        })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_races_have_exactly_one_winner() {
    let store = fresh_postgres().await;
    let shared = Arc::new(store.clone());
    let scim = Arc::new(store.resource_store(&DirectoryId::generate()));
    for _ in 0..3 {
        conformance::races(shared.clone(), shared.clone(), scim.clone(), 48).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_races_across_two_pools_have_exactly_one_winner() {
    // Two pools on one database: two application nodes.
    let url = fresh_postgres_url().await;
    let node_a = SqlStore::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let node_b = SqlStore::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let dir = DirectoryId::generate();
    let now = time::OffsetDateTime::now_utc();
    let assertion = format!("_{}", uuid::Uuid::new_v4().simple());
    let mut handles = Vec::new();
    for i in 0..40 {
        let node = if i % 2 == 0 {
            node_a.clone()
        } else {
            node_b.clone()
        };
        let assertion = assertion.clone();
        let dir = dir.clone();
        handles.push(tokio::spawn(async move {
            use scim_core::store::ResourceStore as _;
            use tenant_config::ReplayCache as _;
            let fresh = node
                .accept_once("conn", &assertion, now + time::Duration::minutes(5), now)
                .await;
            let (user, keys) = conformance::user(&format!("u-{i}"), "same@acme.example", 1);
            let created = node
                .resource_store(&dir)
                .insert(&scim_core::ResourceKind::User, user, keys)
                .await;
            (fresh, created)
        }));
    }
    let (mut fresh, mut created) = (0, 0);
    for h in handles {
        let (f, c) = h.await.unwrap_or_else(|e| panic!("{e}"));
        fresh += usize::from(f.unwrap_or_else(|e| panic!("{e}")));
        match c {
            Ok(()) => created += 1,
            Err(scim_core::StoreError::Conflict { .. }) => {}
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!((fresh, created), (1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_races_have_exactly_one_winner() {
    let store = fresh_sqlite().await;
    let shared = Arc::new(store.clone());
    let scim = Arc::new(store.resource_store(&DirectoryId::generate()));
    conformance::races(shared.clone(), shared, scim, 32).await;
}

/// Concurrent PATCHes of one user, each retried on 412 with the new ETag: no update is lost.
async fn no_lost_update(store: &SqlStore) {
    let svc = service(store);
    let (status, etag, user) = call(&svc, Method::POST, "/Users", Some(&json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "etag@acme.example"
    })), None).await;
    assert_eq!(status, 201);
    assert!(etag.is_some());
    let id = user["id"].as_str().unwrap_or_default().to_owned();
    let writers = 12;
    let mut handles = Vec::new();
    for i in 0..writers {
        let (svc, id) = (svc.clone(), id.clone());
        handles.push(tokio::spawn(async move {
            let mut conflicts = 0;
            loop {
                let (_, etag, _) = call(&svc, Method::GET, &format!("/Users/{id}"), None, None).await;
                let patch = json!({
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [{"op": "add", "path": "emails", "value": [{"value": format!("w{i}@acme.example"), "type": "work"}]}]
                });
                let (status, _, body) = call(&svc, Method::PATCH, &format!("/Users/{id}"), Some(&patch), etag.as_deref()).await;
                match status {
                    200 => return conflicts,
                    412 => conflicts += 1,
                    other => panic!("PATCH answered {other}: {body}"),
                }
            }
        }));
    }
    let mut conflicts = 0;
    for h in handles {
        conflicts += h.await.unwrap_or_else(|e| panic!("{e}"));
    }
    let (_, _, user) = call(&svc, Method::GET, &format!("/Users/{id}"), None, None).await;
    let mut emails: Vec<String> = user["emails"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["value"].as_str().map(str::to_owned))
        .collect();
    emails.sort();
    let mut expected: Vec<String> = (0..writers).map(|i| format!("w{i}@acme.example")).collect();
    expected.sort();
    assert_eq!(
        emails, expected,
        "every PATCH landed ({conflicts} were retried after 412)"
    );
    assert_eq!(
        user["meta"]["version"],
        json!(scim_core::resource::format_version(1 + writers))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_concurrent_if_match_patches_lose_no_update() {
    no_lost_update(&fresh_postgres().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_concurrent_if_match_patches_lose_no_update() {
    no_lost_update(&fresh_sqlite().await).await;
}

/// A failed write leaves nothing behind: a User whose userName is taken is refused over
/// HTTP, and a Group refused for a uniqueness key keeps neither its row nor its members.
async fn failed_write_leaves_nothing(store: &SqlStore) {
    use scim_core::store::{ResourceStore as _, UniqueKey};
    let svc = service(store);
    let user = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "m@acme.example"});
    let (status, _, _) = call(&svc, Method::POST, "/Users", Some(&user), None).await;
    assert_eq!(status, 201);
    let dup = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "M@ACME.example"});
    let (status, _, body) = call(&svc, Method::POST, "/Users", Some(&dup), None).await;
    assert_eq!(
        (status, body["scimType"].clone()),
        (409, json!("uniqueness")),
        "{body}"
    );
    let (_, _, users) = call(&svc, Method::GET, "/Users", None, None).await;
    assert_eq!(users["totalResults"], json!(1));

    let scim = store.resource_store(&DirectoryId::generate());
    let key = |v: &str| UniqueKey {
        attribute: "displayName".into(),
        value: v.into(),
    };
    let (member, member_keys) = conformance::user("u-1", "member@acme.example", 1);
    assert_eq!(
        scim.insert(&scim_core::ResourceKind::User, member, member_keys)
            .await,
        Ok(())
    );
    let group = |id: &str| {
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": id,
        "displayName": "Ops", "members": [{"value": "u-1"}], "meta": {"version": "W/\"1\""}})
    };
    assert_eq!(
        scim.insert(
            &scim_core::ResourceKind::Group,
            group("g-1"),
            vec![key("ops")]
        )
        .await,
        Ok(())
    );
    assert!(matches!(
        scim.insert(
            &scim_core::ResourceKind::Group,
            group("g-2"),
            vec![key("ops")]
        )
        .await,
        Err(scim_core::StoreError::Conflict { .. })
    ));
    assert_eq!(
        scim.get(&scim_core::ResourceKind::Group, "g-2").await,
        Ok(None)
    );
    let groups: Vec<String> = scim
        .groups_of("u-1")
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|g| g.id)
        .collect();
    assert_eq!(
        groups,
        vec!["g-1".to_owned()],
        "the refused group left no membership behind"
    );
}

#[tokio::test]
async fn failed_writes_leave_nothing_on_sqlite_and_postgres() {
    failed_write_leaves_nothing(&fresh_sqlite().await).await;
    failed_write_leaves_nothing(&fresh_postgres().await).await;
}

#[tokio::test]
async fn engine_scans_are_bounded() {
    for store in [fresh_sqlite().await, fresh_postgres().await] {
        let scim = store
            .resource_store(&DirectoryId::generate())
            .with_list_options(store_sql::ListOptions {
                pushdown: true,
                max_scan: 5,
            });
        use scim_core::store::{ResourceStore as _, StoreQuery};
        for i in 0..8 {
            let (u, k) = conformance::user(&format!("u-{i}"), &format!("user{i}"), 1);
            scim.insert(&scim_core::ResourceKind::User, u, k)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        }
        let schema = scim_core::ResourceSchema::user();
        let run = |f: &'static str| {
            let scim = scim.clone();
            let schema = schema.clone();
            async move {
                let filter = scim_core::parse_filter(f).unwrap_or_else(|e| panic!("{e}"));
                let q = StoreQuery {
                    schema: &schema,
                    filter: Some(&filter),
                    sort_by: None,
                    descending: false,
                    start_index: 1,
                    count: 100,
                };
                scim.list(&scim_core::ResourceKind::User, &q).await
            }
        };
        // Pushed down whole: no scan bound applies.
        assert_eq!(
            run("userName sw \"user\"").await.map(|p| p.total_results),
            Ok(8)
        );
        // Engine over a narrowed candidate set: within the bound.
        assert_eq!(
            run("userName le \"user3\" and title pr")
                .await
                .map(|p| p.total_results),
            Ok(0)
        );
        // Pages far past the end are empty, not errors.
        let filter =
            scim_core::parse_filter("userName sw \"user\"").unwrap_or_else(|e| panic!("{e}"));
        let q = StoreQuery {
            schema: &schema,
            filter: Some(&filter),
            sort_by: None,
            descending: false,
            start_index: usize::MAX,
            count: usize::MAX,
        };
        let page = scim.list(&scim_core::ResourceKind::User, &q).await;
        assert_eq!(
            page.map(|p| (p.total_results, p.resources.len())),
            Ok((8, 0))
        );
        // Engine over every row: refused.
        assert!(
            matches!(run("title pr").await, Err(scim_core::StoreError::Backend(m)) if m.contains("more than 5"))
        );
    }
}
