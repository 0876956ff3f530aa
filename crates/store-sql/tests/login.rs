//! Login orchestration over SQL: two `LoginService`s ("nodes") with their own connection
//! pools to one database finish the same login state; exactly one of them takes it. The same
//! for the record of an SP-initiated SAML logout.

mod common;
#[path = "../../saml-sp/tests/common/mod.rs"]
mod saml_common;

use std::sync::Arc;

use store_sql::SqlStore;
use tenant_config::{
    AttributeMapping, Connection, ConnectionId, EncryptionKey, LoginError, LoginRequest,
    LoginService, Organization, Protocol, RedirectPolicy, SamlConnection, SamlLogout, SamlMessage,
    SecretString, SpKeyPair, TenantStore as _, Tenants, TrustedCertificate,
};

use common::fresh_postgres_url;

fn node(store: &Arc<SqlStore>) -> Arc<LoginService> {
    Arc::new(LoginService::new(
        Tenants::new(store.clone()),
        store.clone(),
        store.clone(),
        RedirectPolicy::relative_only(),
        EncryptionKey::new("k", [1; 32]).unwrap_or_else(|e| panic!("{e}")),
    ))
}

async fn one_node_takes_the_state(a: SqlStore, b: SqlStore) {
    let (a, b) = (Arc::new(a), Arc::new(b));
    let org = Organization::new("Acme");
    a.save_organization(&org)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // Saved without validation: the response below fails after the state is taken, before
    // any certificate is needed.
    let connection = Connection {
        id: ConnectionId::generate(),
        organization: org.id.clone(),
        name: "idp".into(),
        enabled: true,
        protocol: Protocol::Saml(SamlConnection {
            idp_entity_id: "https://idp.example.com".into(),
            sso_url: "https://idp.example.com/sso".into(),
            metadata_url: None,
            trusted_certificates: Vec::new(),
            sp_entity_id: "https://app.example.com/saml".into(),
            acs_url: "https://app.example.com/saml/acs".into(),
            attribute_mapping: AttributeMapping::default(),
            allow_idp_initiated: false,
            sign_authn_requests: false,
            require_encrypted_assertions: false,
            allow_sha1_insecure: false,
            sp_key: None,
            slo_url: None,
            idp_slo_url: None,
            idp_slo_binding: Default::default(),
        }),
    };
    a.save_connection(&connection)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let nodes = [node(&a), node(&b)];
    let start = nodes[0]
        .start(&connection.id, &LoginRequest::returning_to("/home"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let binding = start.browser_binding.expose_secret().to_owned();

    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let node = nodes[i % 2].clone();
            let (connection, state, binding) =
                (connection.id.clone(), start.state.clone(), binding.clone());
            tokio::spawn(async move {
                node.finish_saml(&connection, "not base64 !", Some(&state), Some(&binding))
                    .await
            })
        })
        .collect();
    let mut unknown = 0;
    let mut past_the_state = Vec::new();
    for t in tasks {
        match t.await.unwrap_or_else(|e| panic!("{e}")) {
            Err(LoginError::UnknownState) => unknown += 1,
            other => past_the_state.push(other),
        }
    }
    assert_eq!(unknown, 7, "{past_the_state:?}");
    assert_eq!(past_the_state.len(), 1);
    let reason = past_the_state[0].as_ref().map_err(LoginError::reason).err();
    assert_eq!(reason.as_deref(), Some("saml.encoding.base64"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_nodes_take_a_login_state_once() {
    let dir = std::env::temp_dir().join(format!("gatehouse-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let path = dir.join("gatehouse.db");
    let a = SqlStore::sqlite_file(&path)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let b = SqlStore::sqlite_file(&path)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    one_node_takes_the_state(a, b).await;
    std::fs::remove_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_nodes_take_a_login_state_once() {
    let url = fresh_postgres_url().await;
    let a = SqlStore::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let b = SqlStore::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    one_node_takes_the_state(a, b).await;
}

async fn one_node_takes_the_logout_record(a: SqlStore, b: SqlStore) {
    let (a, b) = (Arc::new(a), Arc::new(b));
    let org = Organization::new("Acme");
    a.save_organization(&org)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let idp = saml_common::Identity::rsa(2048, "idp");
    let sp = saml_common::Identity::rsa(2048, "sp");
    let id = ConnectionId::generate();
    let slo = format!("https://app.example.com/sso/saml/{id}/slo");
    let mut connection = Connection {
        id: id.clone(),
        organization: org.id.clone(),
        name: "IdP".into(),
        enabled: true,
        protocol: Protocol::Saml(SamlConnection {
            idp_entity_id: "https://idp.example.com".into(),
            sso_url: "https://idp.example.com/sso".into(),
            metadata_url: None,
            trusted_certificates: vec![
                TrustedCertificate::from_pem(&idp.cert_pem()).unwrap_or_else(|e| panic!("{e}")),
            ],
            sp_entity_id: "https://app.example.com".into(),
            acs_url: format!("https://app.example.com/sso/saml/{id}/acs"),
            attribute_mapping: AttributeMapping::default(),
            allow_idp_initiated: false,
            sign_authn_requests: false,
            require_encrypted_assertions: false,
            allow_sha1_insecure: false,
            sp_key: None,
            slo_url: Some(slo.clone()),
            idp_slo_url: Some("https://idp.example.com/slo".into()),
            idp_slo_binding: Default::default(),
        }),
    };
    let key = EncryptionKey::new("k", [1; 32]).unwrap_or_else(|e| panic!("{e}"));
    let pem = String::from_utf8(sp.key.private_key_to_pem_pkcs8().unwrap_or_default())
        .unwrap_or_default();
    let context = connection.secret_context("saml.sp_private_key");
    if let Protocol::Saml(s) = &mut connection.protocol {
        s.sp_key = Some(SpKeyPair {
            certificate: TrustedCertificate::from_pem(&sp.cert_pem())
                .unwrap_or_else(|e| panic!("{e}")),
            private_key: key.encrypt(&SecretString::new(pem), &context),
        });
    }
    a.save_connection(&connection)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let nodes = [node(&a), node(&b)];
    let start = nodes[0]
        .start_saml_logout(&id, &SamlLogout::new("bjensen", None).returning_to("/bye"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    // The IdP's signed answer (HTTP-POST), presented to both nodes at once.
    let signing = saml_sp::dsig::SigningKey::from_pem(
        &idp.key.private_key_to_pem_pkcs8().unwrap_or_default(),
        Some(idp.cert_pem().as_bytes()),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let page = saml_sp::logout::LogoutResponse::success(
        "https://idp.example.com",
        &slo,
        &start.request_id,
        time::OffsetDateTime::now_utc(),
    )
    .and_then(|r| {
        r.post_form(
            None,
            Some((&signing, saml_sp::dsig::SignatureAlgorithm::RsaSha256)),
        )
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let marker = "name=\"SAMLResponse\" value=\"";
    let field = page
        .split(marker)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("{page}"))
        .to_owned();

    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let node = nodes[i % 2].clone();
            let (id, field) = (id.clone(), field.clone());
            tokio::spawn(async move {
                node.finish_saml_logout_response(&id, SamlMessage::Post(&field))
                    .await
            })
        })
        .collect();
    let mut done = Vec::new();
    let mut refused = Vec::new();
    for t in tasks {
        match t.await.unwrap_or_else(|e| panic!("{e}")) {
            Ok(finished) => done.push(finished),
            Err(e) => refused.push(e.reason()),
        }
    }
    assert_eq!(done.len(), 1, "{refused:?}");
    assert_eq!(done[0].return_to.as_deref(), Some("/bye"));
    assert_eq!(done[0].request_id, start.request_id);
    assert_eq!(refused, vec!["saml.profile.unknown_request"; 7]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_nodes_take_a_saml_logout_record_once() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("gatehouse.db");
    let a = SqlStore::sqlite_file(&path)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let b = SqlStore::sqlite_file(&path)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    one_node_takes_the_logout_record(a, b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_nodes_take_a_saml_logout_record_once() {
    let url = fresh_postgres_url().await;
    let a = SqlStore::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let b = SqlStore::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    one_node_takes_the_logout_record(a, b).await;
}
