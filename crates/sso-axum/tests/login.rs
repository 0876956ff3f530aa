//! The sign-in routes driven in-process through `tower::ServiceExt::oneshot`, with pysaml2
//! as the IdP: metadata, SP-initiated login with the browser-binding cookie, the ACS, the
//! failure page, and home-realm discovery.

#[path = "common/pysaml2.rs"]
mod pysaml2;
#[path = "../../saml-sp/tests/common/mod.rs"]
mod saml_common;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum_core::response::IntoResponse as _;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt as _;
use saml_common::Identity;
use serde_json::json;
use sso_axum::{
    CORRELATION_ID_HEADER, CorrelationId, FnLoginHandler, SAML_BINDING_COOKIE, SsoRouterConfig,
    sso_router,
};
use tenant_config::{
    AttributeMapping, Connection, ConnectionId, Domain, EncryptionKey, InMemoryTenantStore,
    LoginFinished, LoginService, LoginSettings, Organization, Protocol, RedirectPolicy,
    SamlBinding, SamlConnection, TenantStore as _, Tenants, TrustedCertificate, Verification,
};
use tower::ServiceExt as _;

const IDP: &str = "https://idp.example.com/saml";
const SSO: &str = "https://idp.example.com/sso";
const SP: &str = "https://app.example.com/sso/saml/metadata";
const MAIL: &str = "urn:oid:0.9.2342.19200300.100.1.3";

struct Setup {
    app: Router,
    idp: Identity,
    connection: ConnectionId,
    acs: String,
}

async fn setup(config: SsoRouterConfig) -> Setup {
    setup_with(config, LoginSettings::default()).await
}

async fn setup_with(config: SsoRouterConfig, settings: LoginSettings) -> Setup {
    let store = Arc::new(InMemoryTenantStore::new());
    let tenants = Tenants::new(store.clone());
    let org = Organization::new("Acme");
    tenants.save_organization(&org).await.unwrap();
    let claimed: Domain = tenants.claim_domain(&org.id, "example.com").await.unwrap();
    store
        .update_domain(&Domain {
            verification: Verification::Verified {
                at: time::OffsetDateTime::now_utc(),
            },
            ..claimed
        })
        .await
        .unwrap();
    let idp = Identity::rsa(2048, "pysaml2 idp");
    let id = ConnectionId::generate();
    let acs = format!("https://app.example.com/sso/saml/{id}/acs");
    let connection = Connection {
        id: id.clone(),
        organization: org.id.clone(),
        name: "pysaml2".into(),
        enabled: true,
        protocol: Protocol::Saml(SamlConnection {
            idp_entity_id: IDP.into(),
            sso_url: SSO.into(),
            metadata_url: None,
            trusted_certificates: vec![TrustedCertificate::from_pem(&idp.cert_pem()).unwrap()],
            sp_entity_id: SP.into(),
            acs_url: acs.clone(),
            attribute_mapping: AttributeMapping {
                email: Some(MAIL.into()),
                ..AttributeMapping::default()
            },
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
    tenants
        .save_connection(&connection, time::OffsetDateTime::now_utc())
        .await
        .unwrap();
    let login = LoginService::new(
        tenants.clone(),
        store.clone(),
        store.clone(),
        RedirectPolicy::relative_only(),
        EncryptionKey::new("test-key", [7; 32]).unwrap(),
    )
    .with_settings(settings);
    let handler = FnLoginHandler(|finished: LoginFinished| async move {
        let p = &finished.profile;
        format!(
            "welcome {} ({}) via {} to {}",
            p.email.as_deref().unwrap_or("-"),
            p.subject,
            p.connection,
            finished.return_to.as_deref().unwrap_or("-")
        )
        .into_response()
    });
    let app = Router::new().nest(
        "/sso",
        sso_router(Arc::new(login), tenants, Arc::new(handler), config),
    );
    Setup {
        app,
        idp,
        connection: id,
        acs,
    }
}

async fn call(app: &Router, request: Request<Body>) -> (StatusCode, HeaderMap, String) {
    let response = match app.clone().oneshot(request).await {
        Ok(r) => r,
        Err(e) => match e {},
    };
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, headers, String::from_utf8(body.to_vec()).unwrap())
}

fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

fn acs_post(
    uri: &str,
    response_xml: &str,
    relay_state: &str,
    cookie: Option<&str>,
) -> Request<Body> {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("SAMLResponse", &STANDARD.encode(response_xml))
        .append_pair("RelayState", relay_state)
        .finish();
    let mut request =
        Request::post(uri).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(c) = cookie {
        request = request.header(header::COOKIE, c);
    }
    request.body(Body::from(body)).unwrap()
}

fn query_param(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn idp_config(s: &Setup, redirect_url: Option<&str>) -> serde_json::Value {
    json!({
        "key": s.idp.key_path, "cert": s.idp.cert_path, "idp": IDP, "sso_url": SSO, "sp": SP,
        "acs": s.acs, "sp_cert": null, "redirect_url": redirect_url,
        "name_id": "bjensen@example.com", "identity": pysaml2::identity("bjensen@example.com"),
        "place": "assertion",
    })
}

/// Starts a login at the router and returns (IdP redirect URL, binding cookie pair).
async fn start(s: &Setup) -> (String, String, HeaderMap) {
    let (status, headers, _) = call(
        &s.app,
        get(&format!(
            "/sso/saml/{}/login?return_to=%2Fhome",
            s.connection
        )),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let location = headers[header::LOCATION].to_str().unwrap().to_owned();
    let set_cookie = headers[header::SET_COOKIE].to_str().unwrap().to_owned();
    let pair = set_cookie.split(';').next().unwrap().to_owned();
    (location, pair, headers)
}

#[tokio::test]
async fn saml_metadata_names_the_connections_entity_id_and_acs() {
    let s = setup(SsoRouterConfig::default()).await;
    let (status, headers, xml) =
        call(&s.app, get(&format!("/sso/saml/{}/metadata", s.connection))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        headers[header::CONTENT_TYPE],
        "application/samlmetadata+xml"
    );
    assert!(xml.contains(&format!("entityID=\"{SP}\"")), "{xml}");
    assert!(xml.contains(&format!("Location=\"{}\"", s.acs)), "{xml}");
    assert!(xml.contains("WantAssertionsSigned=\"true\""), "{xml}");

    let (status, _, page) = call(&s.app, get("/sso/saml/conn_unknown/metadata")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(page.contains("login.unknown_connection"), "{page}");
    let (status, _, page) = call(&s.app, get(&format!("/sso/oidc/{}/login", s.connection))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(page.contains("login.wrong_protocol"), "{page}");
}

#[tokio::test]
async fn sp_initiated_saml_login_sets_and_needs_the_binding_cookie() {
    let s = setup(SsoRouterConfig::default()).await;
    let (location, pair, headers) = start(&s).await;
    assert!(
        location.starts_with(&format!("{SSO}?SAMLRequest=")),
        "{location}"
    );
    let set_cookie = headers[header::SET_COOKIE].to_str().unwrap();
    assert!(
        set_cookie.starts_with(&format!("{SAML_BINDING_COOKIE}=")),
        "{set_cookie}"
    );
    for attribute in [
        "HttpOnly",
        "Secure",
        "SameSite=None",
        "Path=/",
        "Max-Age=600",
    ] {
        assert!(
            set_cookie.contains(attribute),
            "{attribute} in {set_cookie}"
        );
    }
    let relay_state = query_param(&location, "RelayState").unwrap();

    let answer = pysaml2::pysaml2(&idp_config(&s, Some(&location)));
    assert!(answer.request_id.is_some());
    let acs_path = format!("/sso/saml/{}/acs", s.connection);

    // Another browser (no cookie) cannot finish it.
    let (status, headers, page) = call(
        &s.app,
        acs_post(&acs_path, &answer.response_xml, &relay_state, None),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        page.contains("<code>login.browser_binding</code>"),
        "{page}"
    );
    let correlation = headers[CORRELATION_ID_HEADER].to_str().unwrap();
    assert!(page.contains(correlation), "{page}");
    assert!(!page.contains("SAMLResponse"));

    // The state was taken by that attempt: a fresh login in the right browser succeeds.
    let (location, pair2, _) = start(&s).await;
    assert_ne!(pair, pair2);
    let relay_state = query_param(&location, "RelayState").unwrap();
    let answer = pysaml2::pysaml2(&idp_config(&s, Some(&location)));
    let (status, headers, body) = call(
        &s.app,
        acs_post(&acs_path, &answer.response_xml, &relay_state, Some(&pair2)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        format!(
            "welcome bjensen@example.com (bjensen@example.com) via {} to /home",
            s.connection
        )
    );
    let cleared = headers[header::SET_COOKIE].to_str().unwrap();
    assert!(
        cleared.starts_with(&format!("{SAML_BINDING_COOKIE}=;")),
        "{cleared}"
    );
    assert!(cleared.contains("Max-Age=0"), "{cleared}");

    // The same Response again: its state is gone.
    let (status, _, page) = call(
        &s.app,
        acs_post(&acs_path, &answer.response_xml, &relay_state, Some(&pair2)),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(page.contains("login.unknown_state"), "{page}");
}

#[tokio::test]
async fn idp_initiated_response_is_refused_when_the_connection_does_not_allow_it() {
    let s = setup(SsoRouterConfig::default()).await;
    let answer = pysaml2::pysaml2(&idp_config(&s, None));
    assert!(answer.request_id.is_none());
    let (status, _, page) = call(
        &s.app,
        acs_post(
            &format!("/sso/saml/{}/acs", s.connection),
            &answer.response_xml,
            "",
            None,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(page.contains("Sign-in failed"), "{page}");
    // No login state names it, and the connection accepts none without one.
    assert!(page.contains("<code>login.unknown_state</code>"), "{page}");
}

#[tokio::test]
async fn login_start_refuses_an_absolute_return_target_without_a_cookie() {
    let s = setup(SsoRouterConfig::default()).await;
    let (status, headers, page) = call(
        &s.app,
        get(&format!(
            "/sso/saml/{}/login?return_to=https%3A%2F%2Fevil.example%2F",
            s.connection
        )),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("<code>login.redirect</code>"), "{page}");
    assert!(headers.get(header::SET_COOKIE).is_none());
    assert!(headers.get(header::LOCATION).is_none());
}

#[tokio::test]
async fn post_binding_login_answers_with_an_auto_posting_form_and_the_cookie() {
    let mut settings = LoginSettings::default();
    settings.saml_binding = SamlBinding::Post;
    let s = setup_with(SsoRouterConfig::default(), settings).await;
    let (status, headers, page) =
        call(&s.app, get(&format!("/sso/saml/{}/login", s.connection))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers.get(header::LOCATION).is_none());
    assert_eq!(headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
    assert!(page.contains(&format!("action=\"{SSO}\"")), "{page}");
    assert!(page.contains("name=\"SAMLRequest\""), "{page}");
    assert!(page.contains("name=\"RelayState\""), "{page}");
    let set_cookie = headers[header::SET_COOKIE].to_str().unwrap();
    assert!(
        set_cookie.starts_with(&format!("{SAML_BINDING_COOKIE}=")),
        "{set_cookie}"
    );
    assert!(set_cookie.contains("SameSite=None"), "{set_cookie}");
}

#[tokio::test]
async fn failure_page_shows_the_hosts_correlation_id() {
    let s = setup(SsoRouterConfig::default()).await;
    let id = uuid::Uuid::new_v4();
    let mut request = acs_post(
        &format!("/sso/saml/{}/acs", s.connection),
        "<x/>",
        "nope",
        None,
    );
    request.extensions_mut().insert(CorrelationId(id));
    let (status, headers, page) = call(&s.app, request).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(headers[CORRELATION_ID_HEADER], id.to_string().as_str());
    assert!(
        page.contains(&format!("Correlation id: <code>{id}</code>")),
        "{page}"
    );
    // No binding cookie came with the POST: refused before any state is looked up.
    assert!(
        page.contains("<code>login.browser_binding</code>"),
        "{page}"
    );
    // Successful responses carry an id too.
    let (_, headers, _) = call(&s.app, get(&format!("/sso/saml/{}/metadata", s.connection))).await;
    assert_eq!(headers[CORRELATION_ID_HEADER].len(), 36);
}

#[tokio::test]
async fn saml_binding_cookie_for_http_loopback_stays_same_site_none_and_secure() {
    let mut config = SsoRouterConfig::default();
    config.dangerous_insecure_cookies_for_http_loopback = true;
    let s = setup(config).await;
    let (_, _, headers) = start(&s).await;
    let set_cookie = headers[header::SET_COOKIE].to_str().unwrap();
    // The IdP's POST to the ACS is cross-site: a Lax cookie would stay behind, and
    // browsers drop SameSite=None without Secure.
    assert!(set_cookie.contains("; Secure;"), "{set_cookie}");
    assert!(set_cookie.contains("SameSite=None"), "{set_cookie}");
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
}

#[tokio::test]
async fn discovery_sends_a_verified_domain_to_its_connection_and_reveals_nothing_else() {
    let s = setup(SsoRouterConfig::default()).await;
    let (status, headers, _) = call(
        &s.app,
        get("/sso/login?email=bjensen%40EXAMPLE.com&return_to=%2Fhome"),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        headers[header::LOCATION],
        format!("saml/{}/login?return_to=%2Fhome", s.connection).as_str()
    );

    let mut pages = Vec::new();
    for email in [
        "someone%40unknown.example",
        "someone%40gmail.com",
        "not-an-email",
        "",
    ] {
        let (status, headers, page) = call(&s.app, get(&format!("/sso/login?email={email}"))).await;
        assert_eq!(status, StatusCode::OK);
        assert!(headers.get(header::LOCATION).is_none());
        pages.push(page);
    }
    assert!(pages[0].contains("Single sign-on is not available"));
    assert!(pages.iter().all(|p| *p == pages[0]));

    let mut config = SsoRouterConfig::default();
    config.no_sso_location = Some("/password-login".into());
    let s = setup(config).await;
    let (status, headers, _) = call(&s.app, get("/sso/login?email=a%40unknown.example")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/password-login");
}
