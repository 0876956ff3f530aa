//! The SCIM router over tenant-config's directories: tokens from `Tenants`, rotation, disabled
//! directories and isolation.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use http::{Request, StatusCode, header};
use http_body_util::BodyExt as _;
use scim_core::store::ResourceStore;
use scim_core::{InMemoryStore, ScimConfig};
use serde_json::{Value, json};
use sso_axum::{ScimToken, TenantDirectories, scim_router};
use tenant_config::{DirectoryId, InMemoryTenantStore, Organization, Tenants};
use tower::ServiceExt as _;

async fn call(
    app: &Router,
    token: &ScimToken,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = Request::builder()
        .method(method)
        .uri(format!("/scim/v2{path}"))
        .header(header::HOST, "sp.example")
        .header(
            header::AUTHORIZATION,
            format!("Bearer {}", token.expose_secret()),
        );
    if body.is_some() {
        req = req.header(header::CONTENT_TYPE, "application/scim+json");
    }
    let req = req
        .body(
            body.map(|b| Body::from(b.to_string()))
                .unwrap_or_else(Body::empty),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let resp = match app.clone().oneshot(req).await {
        Ok(r) => r,
        Err(e) => match e {},
    };
    let status = resp.status();
    let bytes = resp
        .into_body()
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn tokens_from_tenants_open_their_own_directory_only() {
    let tenants = Tenants::new(Arc::new(InMemoryTenantStore::new()));
    let now = time::OffsetDateTime::now_utc();
    let acme = Organization::new("Acme");
    let globex = Organization::new("Globex");
    tenants
        .save_organization(&acme)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    tenants
        .save_organization(&globex)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (acme_dir, acme_token) = tenants
        .create_directory(&acme.id, "Okta", now)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (_, globex_token) = tenants
        .create_directory(&globex.id, "Entra", now)
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    let stores: Arc<Mutex<HashMap<DirectoryId, Arc<InMemoryStore>>>> = Arc::default();
    let factory = {
        let stores = stores.clone();
        move |d: &DirectoryId| -> Arc<dyn ResourceStore> {
            let mut map = stores.lock().unwrap_or_else(|e| e.into_inner());
            map.entry(d.clone()).or_default().clone()
        }
    };
    let resolver =
        TenantDirectories::new(tenants.clone(), ScimConfig::default(), Arc::new(factory));
    let app = Router::new().nest("/scim/v2", scim_router(Arc::new(resolver)));

    let user = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "jane@acme.example"});
    let (status, body) = call(&app, &acme_token, "POST", "/Users", Some(user)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (_, acme_list) = call(&app, &acme_token, "GET", "/Users", None).await;
    assert_eq!(acme_list["totalResults"], json!(1));
    let (_, globex_list) = call(&app, &globex_token, "GET", "/Users", None).await;
    assert_eq!(
        globex_list["totalResults"],
        json!(0),
        "Globex's token does not see Acme's users"
    );
    let (status, _) = call(
        &app,
        &ScimToken::new("gh_scim_guess"),
        "GET",
        "/Users",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Rotation: both tokens work until it completes, then only the new one.
    let (new_id, new_token) = tenants
        .begin_rotation(&acme_dir.id, time::Duration::hours(1), now)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        call(&app, &acme_token, "GET", "/Users", None).await.0,
        StatusCode::OK
    );
    assert_eq!(
        call(&app, &new_token, "GET", "/Users", None).await.1["totalResults"],
        json!(1)
    );
    tenants
        .complete_rotation(&acme_dir.id, &new_id)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        call(&app, &acme_token, "GET", "/Users", None).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        call(&app, &new_token, "GET", "/Users", None).await.0,
        StatusCode::OK
    );

    // A disabled directory answers no token.
    let mut disabled = acme_dir.clone();
    disabled.enabled = false;
    tenants
        .store()
        .save_directory(&disabled)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        call(&app, &new_token, "GET", "/Users", None).await.0,
        StatusCode::UNAUTHORIZED
    );
}
