//! The demo's stores: what is provisioned survives a restart on its default SQLite file, and
//! the same server runs on a real Postgres server (`GATEHOUSE_POSTGRES_URL`, started by
//! `scripts/test` through `scripts/postgres`).

use gatehouse_tests::{ACME_TOKEN, DemoServer, GLOBEX_TOKEN};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

async fn create_user(server: &DemoServer, token: &str, user_name: &str) -> String {
    let response = Client::new()
        .post(format!("{}/Users", server.scim_url()))
        .bearer_auth(token)
        .header("content-type", "application/scim+json")
        .json(&json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": user_name,
            "active": true
        }))
        .send()
        .await
        .expect("POST /Users");
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.expect("JSON body");
    body["id"].as_str().expect("id").to_owned()
}

async fn find_user(server: &DemoServer, token: &str, user_name: &str) -> Vec<String> {
    let response = Client::new()
        .get(format!("{}/Users", server.scim_url()))
        .query(&[("filter", format!("userName eq \"{user_name}\""))])
        .bearer_auth(token)
        .send()
        .await
        .expect("GET /Users");
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.expect("JSON body");
    body["Resources"]
        .as_array()
        .expect("Resources")
        .iter()
        .map(|r| r["id"].as_str().expect("id").to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provisioned_users_survive_a_restart_on_the_sqlite_file() {
    let dir = tempfile::tempdir().expect("temporary directory");

    let server = DemoServer::start_in(dir.path());
    let id = create_user(&server, ACME_TOKEN, "persistent@acme.example").await;
    drop(server);
    assert!(dir.path().join("demo.db").exists());

    let server = DemoServer::start_in(dir.path());
    assert_eq!(
        find_user(&server, ACME_TOKEN, "persistent@acme.example").await,
        vec![id]
    );
    // The other organization's directory lives in the same file and still sees nothing.
    assert!(
        find_user(&server, GLOBEX_TOKEN, "persistent@acme.example")
            .await
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_serves_scim_on_postgres() {
    let url = std::env::var("GATEHOUSE_POSTGRES_URL")
        .expect("GATEHOUSE_POSTGRES_URL must point to a Postgres server (scripts/test starts one)");
    let user_name = format!("pg-{}@acme.example", std::process::id());

    let server = DemoServer::start_with_database(url.clone());
    let id = create_user(&server, ACME_TOKEN, &user_name).await;
    assert_eq!(
        find_user(&server, ACME_TOKEN, &user_name).await,
        vec![id.clone()]
    );
    assert!(
        find_user(&server, GLOBEX_TOKEN, &user_name)
            .await
            .is_empty()
    );
    drop(server);

    let server = DemoServer::start_with_database(url);
    assert_eq!(find_user(&server, ACME_TOKEN, &user_name).await, vec![id]);
}
