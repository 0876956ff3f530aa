//! SAML Single Logout through the router, with pysaml2 as the IdP reading the SP's own
//! metadata (tenant-config's tests/python/pysaml2_slo.py): SP-initiated logout on both
//! bindings, IdP-initiated logout answered to pysaml2, and the refusals.

#[path = "common/pysaml2.rs"]
mod pysaml2;
#[path = "../../saml-sp/tests/common/mod.rs"]
mod saml_common;

use std::process::Command;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use axum::Router;
use axum::body::Body;
use axum_core::response::{IntoResponse as _, Response};
use http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt as _;
use saml_common::Identity;
use serde_json::{Value, json};
use sso_axum::{FnLoginHandler, LoginHandler, SsoRouterConfig, sso_router, start_saml_logout};
use tenant_config::{
    AttributeMapping, Connection, ConnectionId, EncryptionKey, Event, EventPublisher, EventSink,
    IdpLogout, InMemoryTenantStore, LoginFinished, LoginService, Organization, Protocol,
    RedirectPolicy, SamlBinding, SamlConnection, SamlLogout, SecretString, SpKeyPair, Tenants,
    TrustedCertificate,
};
use tower::ServiceExt as _;

const IDP: &str = "https://idp.example.com/saml";
const IDP_SLO: &str = "https://idp.example.com/slo";
const SP: &str = "https://app.example.com/sso/saml/metadata";
const USER: &str = "bjensen@example.com";

/// What the host's `logout` hook was called with.
type Calls = Arc<Mutex<Vec<(String, String, Vec<String>)>>>;

struct Host {
    calls: Calls,
}

#[async_trait]
impl LoginHandler for Host {
    async fn logged_in(&self, _finished: LoginFinished) -> Response {
        StatusCode::OK.into_response()
    }

    async fn logout(&self, logout: &IdpLogout) -> bool {
        self.calls.lock().unwrap().push((
            logout.connection.to_string(),
            logout.subject.clone(),
            logout.session_indexes.clone(),
        ));
        true
    }
}

#[derive(Default)]
struct Events(Mutex<Vec<Event>>);

#[async_trait]
impl EventSink for Events {
    async fn deliver(&self, record: tenant_config::EventRecord) {
        self.0.lock().unwrap().push(record.event);
    }
}

struct Setup {
    app: Router,
    login: Arc<LoginService>,
    idp: Identity,
    sp: Identity,
    connection: ConnectionId,
    slo: String,
    calls: Calls,
    events: Arc<Events>,
}

async fn setup(binding: SamlBinding, host_handles_logout: bool) -> Setup {
    let store = Arc::new(InMemoryTenantStore::new());
    let tenants = Tenants::new(store.clone());
    let org = Organization::new("Acme");
    tenants.save_organization(&org).await.unwrap();
    let idp = Identity::rsa(2048, "pysaml2 idp");
    let sp = Identity::rsa(2048, "gatehouse sp");
    let key = EncryptionKey::new("test-key", [7; 32]).unwrap();
    let id = ConnectionId::generate();
    let slo = format!("https://app.example.com/sso/saml/{id}/slo");
    let mut connection = Connection {
        id: id.clone(),
        organization: org.id.clone(),
        name: "pysaml2".into(),
        enabled: true,
        protocol: Protocol::Saml(SamlConnection {
            idp_entity_id: IDP.into(),
            sso_url: format!("{IDP_SLO}/sso"),
            metadata_url: None,
            trusted_certificates: vec![TrustedCertificate::from_pem(&idp.cert_pem()).unwrap()],
            sp_entity_id: SP.into(),
            acs_url: format!("https://app.example.com/sso/saml/{id}/acs"),
            attribute_mapping: AttributeMapping::default(),
            allow_idp_initiated: false,
            sign_authn_requests: false,
            require_encrypted_assertions: false,
            allow_sha1_insecure: false,
            sp_key: None,
            slo_url: Some(slo.clone()),
            idp_slo_url: Some(IDP_SLO.into()),
            idp_slo_binding: binding,
        }),
    };
    let pem = String::from_utf8(sp.key.private_key_to_pem_pkcs8().unwrap()).unwrap();
    let context = connection.secret_context("saml.sp_private_key");
    if let Protocol::Saml(saml) = &mut connection.protocol {
        saml.sp_key = Some(SpKeyPair {
            certificate: TrustedCertificate::from_pem(&sp.cert_pem()).unwrap(),
            private_key: key.encrypt(&SecretString::new(pem), &context),
        });
    }
    tenants
        .save_connection(&connection, time::OffsetDateTime::now_utc())
        .await
        .unwrap();
    let events = Arc::new(Events::default());
    let publisher = EventPublisher::new(events.clone());
    let login = Arc::new(
        LoginService::new(
            tenants.clone(),
            store.clone(),
            store.clone(),
            RedirectPolicy::relative_only(),
            key,
        )
        .with_events(Arc::new(publisher)),
    );
    let calls = Calls::default();
    let handler: Arc<dyn LoginHandler> = if host_handles_logout {
        Arc::new(Host {
            calls: calls.clone(),
        })
    } else {
        Arc::new(FnLoginHandler(|_: LoginFinished| async {
            StatusCode::OK.into_response()
        }))
    };
    let app = Router::new().nest(
        "/sso",
        sso_router(login.clone(), tenants, handler, SsoRouterConfig::default()),
    );
    Setup {
        app,
        login,
        idp,
        sp,
        connection: id,
        slo,
        calls,
        events,
    }
}

async fn call(app: &Router, request: Request<Body>) -> (StatusCode, HeaderMap, String) {
    let response = match app.clone().oneshot(request).await {
        Ok(r) => r,
        Err(e) => match e {},
    };
    into_parts(response).await
}

async fn into_parts(response: Response) -> (StatusCode, HeaderMap, String) {
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, headers, String::from_utf8(body.to_vec()).unwrap())
}

fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

fn post(uri: &str, fields: &[(&str, &str)]) -> Request<Body> {
    let mut body = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in fields {
        body.append_pair(k, v);
    }
    Request::post(uri)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body.finish()))
        .unwrap()
}

/// The value of hidden field `name` in an auto-posting form page.
fn form_value(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page
        .find(&marker)
        .unwrap_or_else(|| panic!("{name} in {page}"))
        + marker.len();
    let end = start + page[start..].find('"').unwrap();
    page[start..end]
        .replace("&#43;", "+")
        .replace("&#x2B;", "+")
}

fn slo_path(s: &Setup) -> String {
    format!("/sso/saml/{}/slo", s.connection)
}

/// The router path and query of a URL to the SP's SLO endpoint.
fn local(s: &Setup, url: &str) -> String {
    let query = url
        .strip_prefix(&format!("{}?", s.slo))
        .unwrap_or_else(|| panic!("{url} goes to {}", s.slo));
    format!("{}?{query}", slo_path(s))
}

async fn sp_metadata(s: &Setup) -> String {
    let (status, _, xml) = call(&s.app, get(&format!("/sso/saml/{}/metadata", s.connection))).await;
    assert_eq!(status, StatusCode::OK);
    xml
}

/// Runs pysaml2_slo.py with `config` (plus the IdP's keys and the SP metadata).
fn pysaml2_slo(
    s: &Setup,
    idp: &Identity,
    metadata: &str,
    mut config: Value,
) -> Result<Value, String> {
    let root = pysaml2::workspace_root();
    let venv = std::env::var_os("GATEHOUSE_VENV")
        .map_or_else(|| root.join(".venv"), std::path::PathBuf::from);
    let c = config.as_object_mut().unwrap();
    c.insert("key".into(), json!(idp.key_path));
    c.insert("cert".into(), json!(idp.cert_path));
    c.insert("idp".into(), json!(IDP));
    c.insert("idp_slo_url".into(), json!(IDP_SLO));
    c.insert("sp_metadata".into(), json!(metadata));
    let _ = s;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.json");
    std::fs::write(&path, config.to_string()).unwrap();
    let out = Command::new(venv.join("bin/python"))
        .arg(root.join("crates/tenant-config/tests/python/pysaml2_slo.py"))
        .arg(&path)
        .output()
        .unwrap();
    if out.status.success() {
        Ok(serde_json::from_slice(&out.stdout).unwrap())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

fn reasons(s: &Setup) -> Vec<String> {
    s.events
        .0
        .lock()
        .unwrap()
        .iter()
        .map(|e| match e {
            Event::LogoutSucceeded { subject, .. } => {
                format!("ok:{}", subject.as_deref().unwrap_or("-"))
            }
            Event::LogoutFailed { reason, .. } => format!("failed:{reason}"),
            other => format!("{other:?}"),
        })
        .collect()
}

#[tokio::test]
async fn metadata_lists_the_slo_endpoint_and_the_signing_certificate() {
    let s = setup(SamlBinding::Redirect, true).await;
    let xml = sp_metadata(&s).await;
    assert!(
        xml.contains(&format!(
            "<md:SingleLogoutService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect\" Location=\"{}\"/>",
            s.slo
        )),
        "{xml}"
    );
    assert!(xml.contains("use=\"signing\""), "{xml}");
}

#[tokio::test]
async fn sp_initiated_logout_redirect_is_accepted_by_pysaml2_and_its_answer_once() {
    let s = setup(SamlBinding::Redirect, true).await;
    let metadata = sp_metadata(&s).await;
    let logout = SamlLogout::new(USER, Some("_session-1".into())).returning_to("/signed-out");
    let response = start_saml_logout(&s.login, &s.connection, &logout)
        .await
        .unwrap();
    let (status, headers, _) = into_parts(response).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let location = headers[header::LOCATION].to_str().unwrap().to_owned();
    assert!(
        location.starts_with(&format!("{IDP_SLO}?SAMLRequest=")),
        "{location}"
    );
    assert!(location.contains("&Signature="), "{location}");

    // pysaml2 verifies the query signature with the certificate of the SP metadata.
    let answer = pysaml2_slo(
        &s,
        &s.idp,
        &metadata,
        json!({"mode": "answer", "request_url": location, "binding": "redirect"}),
    )
    .unwrap();
    assert_eq!(answer["name_id"], USER);
    assert_eq!(answer["session_indexes"], json!(["_session-1"]));
    let response_url = answer["response_url"].as_str().unwrap();

    let (status, headers, body) = call(&s.app, get(&local(&s, response_url))).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(headers[header::LOCATION], "/signed-out");

    // The same LogoutResponse again: its record was taken.
    let (status, _, page) = call(&s.app, get(&local(&s, response_url))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        page.contains("<code>saml.profile.unknown_request</code>"),
        "{page}"
    );
    assert_eq!(reasons(&s), ["ok:-", "failed:saml.profile.unknown_request"]);
}

#[tokio::test]
async fn sp_initiated_logout_post_round_trip_and_unsolicited_answer_refused() {
    let s = setup(SamlBinding::Post, true).await;
    let metadata = sp_metadata(&s).await;
    let logout = SamlLogout::new(USER, Some("_session-2".into()));
    let response = start_saml_logout(&s.login, &s.connection, &logout)
        .await
        .unwrap();
    let (status, _, page) = into_parts(response).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(&format!("action=\"{IDP_SLO}\"")), "{page}");
    let request = form_value(&page, "SAMLRequest");

    // pysaml2 verifies the enveloped signature and answers by POST, signed.
    let answer = pysaml2_slo(
        &s,
        &s.idp,
        &metadata,
        json!({"mode": "answer", "request_form": request, "binding": "post"}),
    )
    .unwrap();
    assert_eq!(answer["session_indexes"], json!(["_session-2"]));
    let form = answer["response_form"].as_str().unwrap();
    let (status, headers, body) =
        call(&s.app, post(&slo_path(&s), &[("SAMLResponse", form)])).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(headers[header::LOCATION], "/");

    // A LogoutResponse to a request this SP never recorded (signed by the SP key, so that
    // pysaml2 answers it) is refused.
    let key = saml_sp::dsig::SigningKey::from_pem(
        &s.sp.key.private_key_to_pem_pkcs8().unwrap(),
        Some(s.sp.cert_pem().as_bytes()),
    )
    .unwrap();
    let stray = saml_sp::logout::LogoutRequest::new(
        SP,
        IDP_SLO,
        saml_sp::NameId {
            value: USER.into(),
            format: None,
            name_qualifier: None,
            sp_name_qualifier: None,
        },
        None,
        time::OffsetDateTime::now_utc(),
    )
    .unwrap();
    let page = stray
        .post_form(
            None,
            Some((&key, saml_sp::dsig::SignatureAlgorithm::RsaSha256)),
        )
        .unwrap();
    let answer = pysaml2_slo(
        &s,
        &s.idp,
        &metadata,
        json!({"mode": "answer", "request_form": form_value(&page, "SAMLRequest"), "binding": "post"}),
    )
    .unwrap();
    let form = answer["response_form"].as_str().unwrap();
    let (status, _, page) = call(&s.app, post(&slo_path(&s), &[("SAMLResponse", form)])).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        page.contains("<code>saml.profile.unknown_request</code>"),
        "{page}"
    );
}

#[tokio::test]
async fn idp_initiated_logout_redirect_calls_the_host_and_pysaml2_accepts_the_answer() {
    let s = setup(SamlBinding::Redirect, true).await;
    let metadata = sp_metadata(&s).await;
    let request = pysaml2_slo(
        &s,
        &s.idp,
        &metadata,
        json!({"mode": "request", "binding": "redirect", "name_id": USER,
               "session_index": "_session-3", "relay_state": "idp-state-1"}),
    )
    .unwrap();
    let url = request["url"].as_str().unwrap();
    let (status, headers, body) = call(&s.app, get(&local(&s, url))).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(
        *s.calls.lock().unwrap(),
        [(
            s.connection.to_string(),
            USER.to_owned(),
            vec!["_session-3".to_owned()]
        )]
    );
    let location = headers[header::LOCATION].to_str().unwrap();
    assert!(
        location.starts_with(&format!("{IDP_SLO}?SAMLResponse=")),
        "{location}"
    );

    // pysaml2 checks the query signature with the SP metadata's certificate, the
    // InResponseTo and the status.
    let checked = pysaml2_slo(
        &s,
        &s.idp,
        &metadata,
        json!({"mode": "check", "response_url": location, "request_id": request["request_id"]}),
    )
    .unwrap();
    assert_eq!(
        checked["status"],
        "urn:oasis:names:tc:SAML:2.0:status:Success"
    );
    assert_eq!(checked["destination"], IDP_SLO);
    assert_eq!(checked["relay_state"], "idp-state-1");

    // The same LogoutRequest again is a replay; the host is not called again.
    let (status, _, page) = call(&s.app, get(&local(&s, url))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(page.contains("<code>saml.profile.replay</code>"), "{page}");
    assert_eq!(s.calls.lock().unwrap().len(), 1);
    assert_eq!(
        reasons(&s),
        [format!("ok:{USER}"), "failed:saml.profile.replay".into()]
    );
}

#[tokio::test]
async fn idp_initiated_logout_post_is_answered_by_post() {
    let s = setup(SamlBinding::Post, true).await;
    let metadata = sp_metadata(&s).await;
    let request = pysaml2_slo(
        &s,
        &s.idp,
        &metadata,
        json!({"mode": "request", "binding": "post", "name_id": USER, "session_index": "_s4"}),
    )
    .unwrap();
    let form = request["form"].as_str().unwrap();
    let (status, _, page) = call(&s.app, post(&slo_path(&s), &[("SAMLRequest", form)])).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(s.calls.lock().unwrap()[0].2, ["_s4"]);
    assert!(page.contains(&format!("action=\"{IDP_SLO}\"")), "{page}");
    let checked = pysaml2_slo(
        &s,
        &s.idp,
        &metadata,
        json!({"mode": "check", "response_form": form_value(&page, "SAMLResponse"),
               "request_id": request["request_id"]}),
    )
    .unwrap();
    assert_eq!(
        checked["status"],
        "urn:oasis:names:tc:SAML:2.0:status:Success"
    );
}

#[tokio::test]
async fn stale_wrongly_signed_or_unhandled_logout_requests_are_refused() {
    let s = setup(SamlBinding::Redirect, true).await;
    let metadata = sp_metadata(&s).await;

    // NotOnOrAfter in the past.
    let stale = pysaml2_slo(
        &s,
        &s.idp,
        &metadata,
        json!({"mode": "request", "binding": "redirect", "name_id": USER,
               "expire": "2020-01-01T00:00:00Z"}),
    )
    .unwrap();
    let (status, _, page) = call(&s.app, get(&local(&s, stale["url"].as_str().unwrap()))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(page.contains("Sign-in failed"), "{page}");
    assert!(page.contains("<code>saml.profile.expired</code>"), "{page}");

    // Signed by a key the connection does not trust.
    let stranger = Identity::rsa(2048, "another idp");
    let forged = pysaml2_slo(
        &s,
        &stranger,
        &metadata,
        json!({"mode": "request", "binding": "redirect", "name_id": USER}),
    )
    .unwrap();
    let (status, _, page) = call(&s.app, get(&local(&s, forged["url"].as_str().unwrap()))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(page.contains("<code>saml.signature.value</code>"), "{page}");
    assert!(s.calls.lock().unwrap().is_empty());

    // Neither message: a missing parameter.
    let (status, _, page) = call(&s.app, get(&slo_path(&s))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        page.contains("<code>login.missing_parameter</code>"),
        "{page}"
    );

    // A host that does not end sessions: no Success is sent to the IdP.
    let s = setup(SamlBinding::Redirect, false).await;
    let metadata = sp_metadata(&s).await;
    let request = pysaml2_slo(
        &s,
        &s.idp,
        &metadata,
        json!({"mode": "request", "binding": "redirect", "name_id": USER}),
    )
    .unwrap();
    let (status, headers, page) =
        call(&s.app, get(&local(&s, request["url"].as_str().unwrap()))).await;
    assert_eq!(status, StatusCode::NOT_IMPLEMENTED);
    assert!(headers.get(header::LOCATION).is_none());
    assert!(page.contains("<code>logout.not_handled</code>"), "{page}");
}

#[tokio::test]
async fn sp_initiated_logout_refuses_a_foreign_return_target_and_an_empty_name_id() {
    let s = setup(SamlBinding::Redirect, true).await;
    let err = start_saml_logout(
        &s.login,
        &s.connection,
        &SamlLogout::new(USER, None).returning_to("https://evil.example/"),
    )
    .await
    .unwrap_err();
    assert_eq!(err.reason(), "login.redirect");
    let err = start_saml_logout(&s.login, &s.connection, &SamlLogout::new("", None))
        .await
        .unwrap_err();
    assert_eq!(err.reason(), "login.missing_parameter");
}
