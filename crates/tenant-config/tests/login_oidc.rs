//! OIDC logins through the orchestration against the real `oidc-provider` npm package, with
//! the oidc-rp crate's harness (its provider script is linked at tests/peers): the provider
//! signs in the account named by `login_hint`, whose email is `<account>@example.com`.

mod common;
#[path = "../../oidc-rp/tests/common/mod.rs"]
mod oidc_common;

use std::sync::Arc;

use common::Fixture;
use oidc_common::{Browser, Landing, OpenIdProvider};
use serde_json::json;
use tenant_config::events::Event;
use tenant_config::{
    BrowserAction, ClaimMapping, Connection, ConnectionId, LoginError, LoginFinished, LoginRequest,
    LoginService, LoginStart, OidcConnection, Protocol, ProviderProfile, RedirectPolicy,
    SecretString, SsoProtocol,
};

const REDIRECT: &str = "https://app.example.com/oidc/callback";
const SECRET: &str = "a-client-secret-long-enough-for-hs256-0123456789abcdef0123456789";

fn start_provider() -> OpenIdProvider {
    OpenIdProvider::start(
        json!([{
            "client_id": "tenant-rp",
            "client_secret": SECRET,
            "redirect_uris": [REDIRECT],
            "grant_types": ["authorization_code"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "client_secret_basic",
            "id_token_signed_response_alg": "RS256",
        }]),
        0,
    )
}

async fn connection(fx: &Fixture, op: &OpenIdProvider) -> Connection {
    let id = ConnectionId::generate();
    let mut c = Connection {
        id: id.clone(),
        organization: fx.org.id.clone(),
        name: "oidc-provider".into(),
        enabled: true,
        protocol: Protocol::Oidc(OidcConnection {
            issuer: op.issuer.clone(),
            client_id: "tenant-rp".into(),
            client_secret: None,
            redirect_uri: REDIRECT.into(),
            scopes: vec!["openid".into(), "email".into(), "profile".into()],
            claim_mapping: ClaimMapping::default(),
            profile: ProviderProfile::Generic,
            accept_email_verified_as_string: false,
        }),
    };
    let secret = fx.key.encrypt(
        &SecretString::new(SECRET),
        &c.secret_context("oidc.client_secret"),
    );
    if let Protocol::Oidc(o) = &mut c.protocol {
        o.client_secret = Some(secret);
    }
    fx.save_unchecked(&c).await;
    c
}

fn service(fx: &Fixture) -> LoginService {
    fx.service(RedirectPolicy::relative_only())
        .with_oidc_http(Arc::new(
            oidc_rp::http::ReqwestHttpClient::new().expect("http client"),
        ))
}

fn hint(account: &str, return_to: &str) -> LoginRequest {
    let mut r = LoginRequest::returning_to(return_to);
    r.login_hint = Some(account.into());
    r
}

/// Plays the browser from the authorization URL to the callback; returns its query.
async fn authorize(start: &LoginStart) -> String {
    let BrowserAction::Redirect(url) = &start.action else {
        panic!("expected a redirect, got {:?}", start.action);
    };
    match Browser::new().navigate(url, REDIRECT).await {
        Landing::Redirect(callback) => callback.query().unwrap_or_default().to_owned(),
        Landing::Form(form) => panic!("unexpected form {form:?}"),
    }
}

/// Starts a login at `conn` with `request` and plays the browser to the callback; returns
/// the start and the callback's query.
async fn start_and_authorize(
    service: &LoginService,
    conn: &Connection,
    request: &LoginRequest,
) -> (LoginStart, String) {
    let start = service.start(&conn.id, request).await.expect("start");
    let callback = authorize(&start).await;
    (start, callback)
}

/// Finishes the login `start` with the callback parameters `callback` (at `connection`'s
/// route, if any), in the browser that started it.
async fn finish_in_browser(
    service: &LoginService,
    connection: Option<&ConnectionId>,
    callback: &str,
    start: &LoginStart,
) -> Result<LoginFinished, LoginError> {
    service
        .finish_oidc(
            connection,
            callback.as_bytes(),
            Some(start.browser_binding.expose_secret()),
        )
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn code_flow_login_maps_the_claims_and_uses_its_state_once() {
    let op = start_provider();
    let fx = Fixture::new("example.com").await;
    let conn = connection(&fx, &op).await;
    let service = service(&fx);

    let mut request = hint("alice", "/app");
    request.max_age = Some(300);
    let start = service.start(&conn.id, &request).await.expect("start");
    let callback = authorize(&start).await;
    assert!(
        callback.contains(&format!("state={}", start.state)),
        "{callback}"
    );
    let binding = start.browser_binding.expose_secret().to_owned();
    let done = service
        .finish_oidc(Some(&conn.id), callback.as_bytes(), Some(&binding))
        .await
        .expect("finish");
    assert_eq!(done.return_to.as_deref(), Some("/app"));
    let p = &done.profile;
    assert_eq!(p.organization, fx.org.id);
    assert_eq!(p.connection, conn.id);
    assert_eq!(p.protocol, SsoProtocol::Oidc);
    assert_eq!(p.subject, "alice");
    assert_eq!(p.subject_format, None);
    assert_eq!(p.issuer, op.issuer);
    assert_eq!(p.email.as_deref(), Some("alice@example.com"));
    assert_eq!(p.email_verified, Some(true));
    assert_eq!(p.given_name.as_deref(), Some("User"));
    assert_eq!(p.family_name.as_deref(), Some("alice"));
    assert_eq!(p.display_name.as_deref(), Some("User alice"));
    assert!(p.groups.is_empty());
    assert_eq!(p.raw["sub"], "alice");
    assert_eq!(p.raw["email"], "alice@example.com");
    assert_eq!(p.raw["aud"], "tenant-rp");
    // auth_time, required by max_age.
    let auth_time = p.authn_instant.expect("auth_time");
    assert!((time::OffsetDateTime::now_utc() - auth_time).abs() < time::Duration::minutes(2));
    assert_eq!(p.raw["auth_time"], auth_time.unix_timestamp());
    assert_eq!(
        p.session_index.as_deref(),
        p.raw.get("sid").and_then(serde_json::Value::as_str)
    );

    // The same callback again: the state was taken.
    let again = service
        .finish_oidc(Some(&conn.id), callback.as_bytes(), Some(&binding))
        .await
        .unwrap_err();
    assert!(matches!(again, LoginError::UnknownState), "{again:?}");

    let events: Vec<Event> = fx.events.events().into_iter().map(|r| r.event).collect();
    assert_eq!(
        events,
        [
            Event::LoginSucceeded {
                organization: fx.org.id.clone(),
                connection: conn.id.clone(),
                subject: "alice".into(),
                email: Some("alice@example.com".into()),
            },
            // The state is gone, so only the callback's route names the connection.
            Event::LoginFailed {
                organization: None,
                connection: Some(conn.id.clone()),
                reason: "login.unknown_state".into(),
            },
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidc_logins_need_the_browser_binding_and_an_organization_domain() {
    let op = start_provider();
    let fx = Fixture::new("corp.example").await;
    let conn = connection(&fx, &op).await;
    let service = service(&fx);

    // A state started for one connection is refused at another's callback.
    let other = connection(&fx, &op).await;
    let (start, callback) = start_and_authorize(&service, &conn, &hint("bob", "/")).await;
    let err = finish_in_browser(&service, Some(&other.id), &callback, &start)
        .await
        .unwrap_err();
    assert!(matches!(err, LoginError::StateMismatch { .. }), "{err:?}");

    // A callback presented without the starting browser's binding is refused before the
    // code is exchanged.
    let (_start, callback) = start_and_authorize(&service, &conn, &hint("bob", "/")).await;
    let err = service
        .finish_oidc(Some(&conn.id), callback.as_bytes(), Some("another-browser"))
        .await
        .unwrap_err();
    // The state is stored under the state and the starting browser's binding together:
    // another browser's callback does not find it, and cannot burn it.
    assert!(matches!(err, LoginError::UnknownState), "{err:?}");
    let err = service
        .finish_oidc(Some(&conn.id), callback.as_bytes(), None)
        .await
        .unwrap_err();
    assert!(matches!(err, LoginError::BrowserBinding), "{err:?}");

    // bob@example.com is outside the organization's one domain, corp.example.
    let (start, callback) = start_and_authorize(&service, &conn, &hint("bob", "/")).await;
    let err = finish_in_browser(&service, None, &callback, &start)
        .await
        .unwrap_err();
    match &err {
        LoginError::EmailDomainNotAllowed {
            domain,
            organization,
        } => {
            assert_eq!(domain, "example.com");
            assert_eq!(organization, &fx.org.id);
        }
        other => panic!("expected EmailDomainNotAllowed, got {other:?}"),
    }
    let reasons: Vec<String> = fx
        .events
        .events()
        .into_iter()
        .filter_map(|r| match r.event {
            Event::LoginFailed {
                reason, connection, ..
            } => {
                assert!(connection.is_some());
                Some(reason)
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        reasons,
        [
            "login.state_mismatch",
            "login.unknown_state",
            "login.browser_binding",
            "login.email_domain"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_verified_as_a_string_is_read_only_when_the_connection_accepts_it() {
    let op = start_provider();
    let fx = Fixture::new("example.com").await;
    let mut conn = connection(&fx, &op).await;
    let service = service(&fx);

    // The provider sends `email_verified: "true"` for this account. By default a string is
    // not a boolean: the login fails and names the claim.
    let (start, callback) =
        start_and_authorize(&service, &conn, &hint("textverified-ann", "/")).await;
    let err = finish_in_browser(&service, Some(&conn.id), &callback, &start)
        .await
        .unwrap_err();
    assert_eq!(err.reason(), "oidc.invalid_claim", "{err}");
    assert!(err.to_string().contains("email_verified"), "{err}");

    // With the connection's option, the string is read as the boolean it spells.
    if let Protocol::Oidc(o) = &mut conn.protocol {
        o.accept_email_verified_as_string = true;
    }
    fx.save_unchecked(&conn).await;
    let (start, callback) =
        start_and_authorize(&service, &conn, &hint("textverified-ann", "/")).await;
    let done = finish_in_browser(&service, Some(&conn.id), &callback, &start)
        .await
        .expect("finish with the option");
    assert_eq!(
        done.profile.email.as_deref(),
        Some("textverified-ann@example.com")
    );
    assert_eq!(done.profile.email_verified, Some(true));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn form_post_login_asks_for_form_post_and_finishes_from_the_posted_form() {
    let op = start_provider();
    let fx = Fixture::new("example.com").await;
    let conn = connection(&fx, &op).await;
    let service = service(&fx);

    // Without the option the authorization request names no response mode.
    let query = service
        .start(&conn.id, &hint("carol", "/app"))
        .await
        .expect("start");
    let BrowserAction::Redirect(url) = &query.action else {
        panic!("expected a redirect, got {:?}", query.action);
    };
    assert!(!url.contains("response_mode"), "{url}");

    let mut request = hint("carol", "/app");
    request.oidc_form_post = true;
    let start = service.start(&conn.id, &request).await.expect("start");
    let BrowserAction::Redirect(url) = &start.action else {
        panic!("expected a redirect, got {:?}", start.action);
    };
    assert!(url.contains("response_mode=form_post"), "{url}");
    // The provider answers with its auto-posting form instead of a redirect.
    let form = match Browser::new().navigate(url, REDIRECT).await {
        Landing::Form(form) => form,
        Landing::Redirect(callback) => panic!("expected a form, got a redirect to {callback}"),
    };
    assert_eq!(form.action, REDIRECT);
    assert!(
        form.fields
            .iter()
            .any(|(k, v)| k == "state" && *v == start.state),
        "{form:?}"
    );
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&form.fields)
        .finish();
    let done = finish_in_browser(&service, Some(&conn.id), &body, &start)
        .await
        .expect("finish");
    assert_eq!(done.profile.subject, "carol");
    assert_eq!(done.profile.email.as_deref(), Some("carol@example.com"));
    assert_eq!(done.return_to.as_deref(), Some("/app"));
}
