//! Group members must be stored users or groups: refused writes, the foreign key in the
//! schema, a delete racing group writes across two pools, and the SCIM service's membership
//! flow, on SQLite and on a real Postgres server.

mod common;

use std::sync::Arc;

use http::Method;
use scim_core::store::{ResourceStore, UniqueKey};
use scim_core::{ResourceKind, StoreError};
use serde_json::{Value, json};
use sqlx::{AnyConnection, Connection as _, Row as _};
use store_sql::{SqlResourceStore, SqlStore};
use tenant_config::{DirectoryId, conformance};

use common::{call, fresh_postgres_url};

/// A new, empty SQLite file database and its URL (a file, so that a second connection can
/// read what the store wrote).
fn fresh_sqlite_url() -> String {
    let dir = std::env::temp_dir().join(format!("gatehouse-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    format!("sqlite://{}?mode=rwc", dir.join("members.db").display())
}

/// One fresh database of each backend, by URL.
async fn fresh_urls() -> Vec<String> {
    vec![fresh_sqlite_url(), fresh_postgres_url().await]
}

async fn connect(url: &str) -> SqlStore {
    SqlStore::connect(url)
        .await
        .unwrap_or_else(|e| panic!("connect {url}: {e}"))
}

/// Two application nodes on `url`: two pools on Postgres; on SQLite, which serves one
/// process, one pool shared by both.
async fn nodes(url: &str) -> (SqlStore, SqlStore) {
    let a = connect(url).await;
    let b = if url.starts_with("sqlite:") {
        a.clone()
    } else {
        connect(url).await
    };
    (a, b)
}

async fn raw(url: &str) -> AnyConnection {
    AnyConnection::connect(url)
        .await
        .unwrap_or_else(|e| panic!("raw connect {url}: {e}"))
}

fn group(id: &str, members: &[&str], version: u64) -> (Value, Vec<UniqueKey>) {
    let members: Vec<Value> = members.iter().map(|m| json!({"value": m})).collect();
    let resource = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "id": id,
        "displayName": format!("Group {id}"),
        "members": members,
        "meta": {"resourceType": "Group", "version": scim_core::resource::format_version(version)},
    });
    let key = UniqueKey {
        attribute: "displayName".into(),
        value: format!("group {id}"),
    };
    (resource, vec![key])
}

fn listed(group: &Value) -> Vec<String> {
    let mut ids: Vec<String> = group["members"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["value"].as_str().map(str::to_owned))
        .collect();
    ids.sort();
    ids
}

/// The member ids of the membership rows of `group_id`, read past the store.
async fn membership_rows(conn: &mut AnyConnection, directory: &str, group_id: &str) -> Vec<String> {
    let rows = sqlx::query(
        "SELECT member_id FROM scim_members WHERE directory_id = $1 AND group_id = $2 ORDER BY member_id",
    )
    .bind(directory.to_owned())
    .bind(group_id.to_owned())
    .fetch_all(conn)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    rows.iter()
        .map(|r| r.try_get::<String, _>(0).unwrap_or_else(|e| panic!("{e}")))
        .collect()
}

async fn get(store: &SqlResourceStore, kind: &ResourceKind, id: &str) -> Option<Value> {
    store
        .get(kind, id)
        .await
        .unwrap_or_else(|e| panic!("get {id}: {e}"))
}

async fn missing_members_are_refused(url: &str) {
    let db = connect(url).await;
    let dir = DirectoryId::generate();
    let scim = db.resource_store(&dir);
    let mut conn = raw(url).await;
    let (alice, keys) = conformance::user("u-alice", "alice@acme.example", 1);
    assert_eq!(scim.insert(&ResourceKind::User, alice, keys).await, Ok(()));

    // Insert: the missing member is named, nothing is written.
    let (g, keys) = group("g-1", &["u-alice", "u-ghost"], 1);
    assert_eq!(
        scim.insert(&ResourceKind::Group, g, keys).await,
        Err(StoreError::MissingMember {
            value: "u-ghost".into()
        }),
        "{url}"
    );
    assert_eq!(get(&scim, &ResourceKind::Group, "g-1").await, None);
    assert!(
        membership_rows(&mut conn, dir.as_str(), "g-1")
            .await
            .is_empty()
    );

    // A group cannot list itself before it exists, nor a user of another directory.
    let other = db.resource_store(&DirectoryId::generate());
    let (bob, keys) = conformance::user("u-bob", "bob@acme.example", 1);
    assert_eq!(other.insert(&ResourceKind::User, bob, keys).await, Ok(()));
    for (members, missing) in [(&["g-1"][..], "g-1"), (&["u-alice", "u-bob"][..], "u-bob")] {
        let (g, keys) = group("g-1", members, 1);
        assert_eq!(
            scim.insert(&ResourceKind::Group, g, keys).await,
            Err(StoreError::MissingMember {
                value: missing.into()
            }),
            "{url}: {members:?}"
        );
    }

    // Stored users and groups are accepted; then a replace naming a ghost is refused and
    // leaves the group as it was.
    let (g, keys) = group("g-1", &["u-alice"], 1);
    assert_eq!(scim.insert(&ResourceKind::Group, g, keys).await, Ok(()));
    let (g, keys) = group("g-2", &["g-1", "u-alice"], 1);
    assert_eq!(scim.insert(&ResourceKind::Group, g, keys).await, Ok(()));
    let (g, keys) = group("g-1", &["g-1", "u-alice", "u-ghost"], 2);
    assert_eq!(
        scim.replace(&ResourceKind::Group, g, keys, "W/\"1\"").await,
        Err(StoreError::MissingMember {
            value: "u-ghost".into()
        })
    );
    let stored = get(&scim, &ResourceKind::Group, "g-1")
        .await
        .unwrap_or_default();
    assert_eq!(
        (listed(&stored), stored["meta"]["version"].clone()),
        (vec!["u-alice".to_owned()], json!("W/\"1\""))
    );
    assert_eq!(
        membership_rows(&mut conn, dir.as_str(), "g-1").await,
        vec!["u-alice"]
    );

    // The schema itself refuses a membership row for a missing resource.
    let refused = sqlx::query(
        "INSERT INTO scim_members (directory_id, group_id, member_kind, member_id) VALUES ($1, 'g-1', 'User', 'u-ghost')",
    )
    .bind(dir.as_str().to_owned())
    .execute(&mut conn)
    .await
    .err()
    .and_then(|e| e.into_database_error())
    .map(|d| d.is_foreign_key_violation());
    assert_eq!(refused, Some(true), "{url}: the foreign key holds");

    // Deleting a member group removes it from the groups that list it.
    assert_eq!(scim.delete(&ResourceKind::Group, "g-1", None).await, Ok(()));
    let g2 = get(&scim, &ResourceKind::Group, "g-2")
        .await
        .unwrap_or_default();
    assert_eq!(
        (listed(&g2), g2["meta"]["version"].clone()),
        (vec!["u-alice".to_owned()], json!("W/\"2\""))
    );
    assert_eq!(
        membership_rows(&mut conn, dir.as_str(), "g-2").await,
        vec!["u-alice"]
    );
    db.close().await;
}

#[tokio::test]
async fn missing_members_are_refused_on_sqlite_and_postgres() {
    for url in fresh_urls().await {
        missing_members_are_refused(&url).await;
    }
}

/// Writers on two nodes keep adding a user to groups while a third task deletes the user:
/// afterwards no group, by JSON or by membership row, lists the deleted user; every write
/// either landed before the delete (and the delete removed the member) or was refused with
/// `MissingMember`.
async fn delete_races_group_writes(url: &str, rounds: usize) {
    let (node_a, node_b) = nodes(url).await;
    let mut conn = raw(url).await;
    let (groups, writers_per_group) = (4, 4);
    let (mut landed, mut refused) = (0, 0);
    for round in 0..rounds {
        let dir = DirectoryId::generate();
        let a = node_a.resource_store(&dir);
        let b = node_b.resource_store(&dir);
        let user = format!("u-{round}");
        let (u, keys) = conformance::user(&user, &format!("{user}@acme.example"), 1);
        assert_eq!(a.insert(&ResourceKind::User, u, keys).await, Ok(()));
        let (other, keys) = conformance::user("u-stays", "stays@acme.example", 1);
        assert_eq!(a.insert(&ResourceKind::User, other, keys).await, Ok(()));
        for g in 0..groups {
            let (g, keys) = group(&format!("g-{g}"), &["u-stays"], 1);
            assert_eq!(a.insert(&ResourceKind::Group, g, keys).await, Ok(()));
        }
        let mut handles = Vec::new();
        for w in 0..groups * writers_per_group {
            let store = if w % 2 == 0 { a.clone() } else { b.clone() };
            let (gid, user) = (format!("g-{}", w % groups), user.clone());
            handles.push(tokio::spawn(async move {
                // Read, add the user, write with compare-and-swap; retry on a lost race.
                loop {
                    let current = store
                        .get(&ResourceKind::Group, &gid)
                        .await
                        .unwrap_or_else(|e| panic!("{e}"))
                        .unwrap_or_else(|| panic!("{gid} vanished"));
                    let version = current["meta"]["version"].as_str().unwrap_or_default();
                    let n: u64 = version
                        .trim_start_matches("W/\"")
                        .trim_end_matches('"')
                        .parse()
                        .unwrap_or_else(|e| panic!("{version}: {e}"));
                    let (next, keys) = group(&gid, &["u-stays", &user], n + 1);
                    match store
                        .replace(&ResourceKind::Group, next, keys, version)
                        .await
                    {
                        Ok(()) => return true,
                        Err(StoreError::VersionMismatch { .. }) => {}
                        Err(StoreError::MissingMember { value }) => {
                            assert_eq!(value, user);
                            return false;
                        }
                        Err(e) => panic!("{e}"),
                    }
                }
            }));
        }
        let deleter = {
            let (store, user) = (b.clone(), user.clone());
            tokio::spawn(async move {
                tokio::task::yield_now().await;
                store.delete(&ResourceKind::User, &user, None).await
            })
        };
        for h in handles {
            if h.await.unwrap_or_else(|e| panic!("{e}")) {
                landed += 1;
            } else {
                refused += 1;
            }
        }
        assert_eq!(deleter.await.unwrap_or_else(|e| panic!("{e}")), Ok(()));
        assert_eq!(get(&a, &ResourceKind::User, &user).await, None);
        for g in 0..groups {
            let gid = format!("g-{g}");
            let stored = get(&a, &ResourceKind::Group, &gid)
                .await
                .unwrap_or_else(|| panic!("{gid} vanished"));
            assert_eq!(
                listed(&stored),
                vec!["u-stays".to_owned()],
                "{url} round {round}: {stored}"
            );
            assert_eq!(
                membership_rows(&mut conn, dir.as_str(), &gid).await,
                vec!["u-stays"],
                "{url} round {round}"
            );
        }
        assert_eq!(a.groups_of(&user).await, Ok(Vec::new()));
        assert_eq!(
            a.groups_of("u-stays").await.map(|g| g.len()),
            Ok(groups),
            "{url}"
        );
    }
    assert_eq!(
        landed + refused,
        rounds * groups * writers_per_group,
        "{url}: every writer ended"
    );
    node_a.close().await;
    node_b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_delete_racing_group_writes_leaves_no_dangling_member() {
    delete_races_group_writes(&fresh_postgres_url().await, 8).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_delete_racing_group_writes_leaves_no_dangling_member() {
    delete_races_group_writes(&fresh_sqlite_url(), 4).await;
}

/// One writer adds a user to a group while another node deletes the user (with its current
/// version): whichever commits first, the group ends without the user, by JSON and by
/// membership row, and its version tells which order happened.
async fn conditional_delete_races_group_writes(url: &str, rounds: usize) {
    let (node_a, node_b) = nodes(url).await;
    let mut conn = raw(url).await;
    for round in 0..rounds {
        let dir = DirectoryId::generate();
        let a = node_a.resource_store(&dir);
        let b = node_b.resource_store(&dir);
        let (u, keys) = conformance::user("u-1", "one@acme.example", 1);
        assert_eq!(a.insert(&ResourceKind::User, u, keys).await, Ok(()));
        let (g, keys) = group("g-1", &[], 1);
        assert_eq!(a.insert(&ResourceKind::Group, g, keys).await, Ok(()));
        let writer = tokio::spawn(async move {
            let (g, keys) = group("g-1", &["u-1"], 2);
            b.replace(&ResourceKind::Group, g, keys, "W/\"1\"").await
        });
        let deleted = a.delete(&ResourceKind::User, "u-1", Some("W/\"1\"")).await;
        let written = writer.await.unwrap_or_else(|e| panic!("{e}"));
        assert!(
            matches!(written, Ok(()) | Err(StoreError::MissingMember { .. })),
            "{written:?}"
        );
        assert_eq!(deleted, Ok(()), "the user's own version did not change");
        let user = get(&a, &ResourceKind::User, "u-1").await;
        let stored = get(&a, &ResourceKind::Group, "g-1")
            .await
            .unwrap_or_default();
        let rows = membership_rows(&mut conn, dir.as_str(), "g-1").await;
        assert_eq!(user, None);
        assert_eq!(
            (listed(&stored), rows),
            (Vec::<String>::new(), Vec::<String>::new()),
            "{url} round {round}: {written:?}"
        );
        // The group's version tells which order happened: written then cleaned (3), or
        // refused (1).
        let expected = if written.is_ok() {
            "W/\"3\""
        } else {
            "W/\"1\""
        };
        assert_eq!(stored["meta"]["version"], json!(expected));
    }
    node_a.close().await;
    node_b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_on_one_races_end_in_a_consistent_order() {
    conditional_delete_races_group_writes(&fresh_postgres_url().await, 20).await;
    conditional_delete_races_group_writes(&fresh_sqlite_url(), 10).await;
}

/// The SCIM service over the SQL store: members added and removed by PATCH, a deleted user
/// leaves its groups, a user's `groups` follows.
async fn service_membership_flow(url: &str) {
    let db = connect(url).await;
    let svc = scim_core::ScimService::new(
        scim_core::ScimConfig::default(),
        Arc::new(db.resource_store(&DirectoryId::generate())),
    );
    let mut ids = Vec::new();
    for name in ["ann", "ben"] {
        let (status, _, body) = call(&svc, Method::POST, "/Users", Some(&json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": format!("{name}@acme.example")
        })), None).await;
        assert_eq!(status, 201, "{body}");
        ids.push(body["id"].as_str().unwrap_or_default().to_owned());
    }
    let (ann, ben) = (ids[0].clone(), ids[1].clone());
    let (status, _, body) = call(
        &svc,
        Method::POST,
        "/Groups",
        Some(&json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Ops",
            "members": [{"value": ann}]
        })),
        None,
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let gid = body["id"].as_str().unwrap_or_default().to_owned();
    let patch = |op: &str, value: Value, path: Option<String>| {
        let mut o = json!({"op": op});
        if !value.is_null() {
            o["value"] = value;
        }
        if let Some(p) = path {
            o["path"] = json!(p);
        }
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [o]})
    };
    let (status, _, body) = call(
        &svc,
        Method::PATCH,
        &format!("/Groups/{gid}"),
        Some(&patch(
            "add",
            json!([{"value": ben}]),
            Some("members".into()),
        )),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let mut both = vec![ann.clone(), ben.clone()];
    both.sort();
    assert_eq!(listed(&body), both);

    // Adding a user that does not exist is refused with invalidValue naming it.
    let (status, _, body) = call(
        &svc,
        Method::PATCH,
        &format!("/Groups/{gid}"),
        Some(&patch(
            "add",
            json!([{"value": "no-such-user"}]),
            Some("members".into()),
        )),
        None,
    )
    .await;
    assert_eq!(
        (status, body["scimType"].clone()),
        (400, json!("invalidValue")),
        "{body}"
    );
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("no-such-user"),
        "{body}"
    );

    let (status, _, body) = call(
        &svc,
        Method::PATCH,
        &format!("/Groups/{gid}"),
        Some(&patch(
            "remove",
            Value::Null,
            Some(format!("members[value eq \"{ann}\"]")),
        )),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(listed(&body), vec![ben.clone()]);

    let (_, _, user) = call(&svc, Method::GET, &format!("/Users/{ben}"), None, None).await;
    assert_eq!(user["groups"][0]["value"], json!(gid), "{user}");
    assert_eq!(user["groups"][0]["display"], json!("Ops"), "{user}");
    let (_, _, user) = call(&svc, Method::GET, &format!("/Users/{ann}"), None, None).await;
    assert!(
        user["groups"].as_array().is_none_or(Vec::is_empty),
        "{user}"
    );

    let (status, _, _) = call(&svc, Method::DELETE, &format!("/Users/{ben}"), None, None).await;
    assert_eq!(status, 204);
    let (status, _, group) = call(&svc, Method::GET, &format!("/Groups/{gid}"), None, None).await;
    assert_eq!(status, 200, "{group}");
    assert_eq!(listed(&group), Vec::<String>::new(), "{group}");
    assert_eq!(group["meta"]["version"], json!("W/\"4\""), "{group}");
    let (status, _, _) = call(&svc, Method::GET, &format!("/Users/{ben}"), None, None).await;
    assert_eq!(status, 404);

    // The deleted user cannot come back as a member.
    let (status, _, body) = call(
        &svc,
        Method::PATCH,
        &format!("/Groups/{gid}"),
        Some(&patch(
            "add",
            json!([{"value": ben}]),
            Some("members".into()),
        )),
        None,
    )
    .await;
    assert_eq!(
        (status, body["scimType"].clone()),
        (400, json!("invalidValue")),
        "{body}"
    );
    db.close().await;
}

#[tokio::test]
async fn scim_service_membership_flow_on_sqlite_and_postgres() {
    for url in fresh_urls().await {
        service_membership_flow(&url).await;
    }
}
