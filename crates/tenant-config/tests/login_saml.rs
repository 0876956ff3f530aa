//! SAML logins through the orchestration, answered by pysaml2 acting as the IdP
//! (tests/python/pysaml2_sso.py, run from the project venv; it signs with xmlsec1). pysaml2
//! reads the AuthnRequest from the URL `LoginService::start` returned, so the request id,
//! ACS URL and SP entity id it answers are the ones the service sent.

mod common;
#[path = "../../saml-sp/tests/common/mod.rs"]
mod saml_common;

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::Fixture;
use saml_common::{Identity, python_script};
use serde_json::{Value, json};
use tenant_config::events::Event;
use tenant_config::{
    AttributeMapping, BrowserAction, Connection, ConnectionId, LoginError, LoginFinished,
    LoginRequest, LoginService, LoginSettings, LoginStart, Protocol, RedirectPolicy, SamlBinding,
    SamlConnection, SecretString, SpKeyPair, SsoProtocol, TenantError, TrustedCertificate,
};

const IDP: &str = "https://idp.example.com/saml";
const SSO: &str = "https://idp.example.com/sso";
const SP: &str = "https://app.example.com/saml/metadata";
const ACS: &str = "https://app.example.com/saml/acs";
const MAIL: &str = "urn:oid:0.9.2342.19200300.100.1.3";
const GIVEN: &str = "urn:oid:2.5.4.42";
const SURNAME: &str = "urn:oid:2.5.4.4";
const DISPLAY: &str = "urn:oid:2.16.840.1.113730.3.1.241";
const AFFILIATION: &str = "urn:oid:1.3.6.1.4.1.5923.1.1.1.1";

fn saml_connection(fx: &Fixture, idp: &Identity) -> Connection {
    let mut mapping = AttributeMapping {
        email: Some(MAIL.into()),
        given_name: Some(GIVEN.into()),
        family_name: Some(SURNAME.into()),
        groups: Some(AFFILIATION.into()),
        ..AttributeMapping::default()
    };
    mapping.extra.insert("display_name".into(), DISPLAY.into());
    Connection {
        id: ConnectionId::generate(),
        organization: fx.org.id.clone(),
        name: "pysaml2".into(),
        enabled: true,
        protocol: Protocol::Saml(SamlConnection {
            idp_entity_id: IDP.into(),
            sso_url: SSO.into(),
            metadata_url: None,
            trusted_certificates: vec![TrustedCertificate::from_pem(&idp.cert_pem()).unwrap()],
            sp_entity_id: SP.into(),
            acs_url: ACS.into(),
            attribute_mapping: mapping,
            allow_idp_initiated: false,
            sign_authn_requests: false,
            require_encrypted_assertions: false,
            allow_sha1_insecure: false,
            sp_key: None,
            slo_url: None,
            idp_slo_url: None,
            idp_slo_binding: Default::default(),
        }),
    }
}

fn saml_mut(c: &mut Connection) -> &mut SamlConnection {
    match &mut c.protocol {
        Protocol::Saml(s) => s,
        _ => unreachable!("a SAML connection"),
    }
}

fn identity(email: &str) -> Value {
    json!({
        "mail": [email],
        "givenName": ["Barbara"],
        "sn": ["Jensen"],
        "displayName": ["Barbara Jensen"],
        "eduPersonAffiliation": ["staff", "member"],
    })
}

/// pysaml2 answers the AuthnRequest in `redirect_url` (or, with `None`, sends an
/// IdP-initiated Response); returns (request id, base64 Response for the POST body).
fn pysaml2(
    idp: &Identity,
    redirect_url: Option<&str>,
    sp_cert: Option<&Identity>,
    email: &str,
) -> (Option<String>, String) {
    pysaml2_with(
        idp,
        redirect_url,
        json!({
            "sp_cert": sp_cert.map(|s| &s.cert_path),
            "name_id": email,
            "identity": identity(email),
        }),
    )
}

/// [`pysaml2`] with the script's configuration keys of `overrides` replaced.
fn pysaml2_with(
    idp: &Identity,
    redirect_url: Option<&str>,
    overrides: Value,
) -> (Option<String>, String) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.json");
    let mut c = json!({
        "key": idp.key_path, "cert": idp.cert_path, "idp": IDP, "sso_url": SSO, "sp": SP,
        "acs": ACS, "sp_cert": null, "redirect_url": redirect_url,
        "name_id": "bjensen@example.com", "identity": identity("bjensen@example.com"),
        "place": "assertion",
    });
    for (k, v) in overrides.as_object().unwrap() {
        c[k] = v.clone();
    }
    std::fs::write(&config, c.to_string()).unwrap();
    let out: Value = serde_json::from_str(&python_script(
        "pysaml2_sso.py",
        &[config.to_str().unwrap()],
    ))
    .unwrap();
    (
        out["request_id"].as_str().map(str::to_owned),
        STANDARD.encode(out["response"].as_str().unwrap()),
    )
}

fn redirect_url(start: &LoginStart) -> &str {
    match &start.action {
        BrowserAction::Redirect(url) => url,
        other => panic!("expected a redirect, got {other:?}"),
    }
}

fn query_param(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Starts a login at `connection` (no return target) and has pysaml2 answer its
/// AuthnRequest for `email`; returns the start and the base64 Response.
async fn start_answered(
    service: &LoginService,
    connection: &Connection,
    idp: &Identity,
    email: &str,
) -> (LoginStart, String) {
    let start = service
        .start(&connection.id, &LoginRequest::default())
        .await
        .unwrap();
    let (_, response) = pysaml2(idp, Some(redirect_url(&start)), None, email);
    (start, response)
}

/// Finishes the login `start` with `response` at `connection`, in the browser that started
/// it (its state and browser binding).
async fn finish_in_browser(
    service: &LoginService,
    connection: &ConnectionId,
    response: &str,
    start: &LoginStart,
) -> Result<LoginFinished, LoginError> {
    service
        .finish_saml(
            connection,
            response,
            Some(&start.state),
            Some(start.browser_binding.expose_secret()),
        )
        .await
}

async fn setup() -> (Fixture, Identity, Connection, LoginService) {
    let fx = Fixture::new("example.com").await;
    let idp = Identity::rsa(2048, "pysaml2 idp");
    let connection = saml_connection(&fx, &idp);
    fx.tenants
        .save_connection(&connection, time::OffsetDateTime::now_utc())
        .await
        .unwrap();
    let service = fx.service(
        RedirectPolicy::relative_only()
            .allow_origin("https://app.example.com")
            .unwrap(),
    );
    (fx, idp, connection, service)
}

#[tokio::test]
async fn sp_initiated_login_maps_the_profile_and_uses_its_state_once() {
    let (fx, idp, connection, service) = setup().await;
    let start = service
        .start(
            &connection.id,
            &LoginRequest::returning_to("/dashboard?tab=2"),
        )
        .await
        .unwrap();
    let url = redirect_url(&start);
    assert!(url.starts_with(&format!("{SSO}?SAMLRequest=")), "{url}");
    assert_eq!(
        query_param(url, "RelayState").as_deref(),
        Some(start.state.as_str())
    );
    assert_eq!(start.state.len(), 43);

    let (request_id, response) = pysaml2(&idp, Some(url), None, "bjensen@example.com");
    let binding = start.browser_binding.expose_secret().to_owned();
    let done = service
        .finish_saml(
            &connection.id,
            &response,
            Some(&start.state),
            Some(&binding),
        )
        .await
        .unwrap();
    assert_eq!(done.return_to.as_deref(), Some("/dashboard?tab=2"));
    let p = &done.profile;
    assert_eq!(p.organization, fx.org.id);
    assert_eq!(p.connection, connection.id);
    assert_eq!(p.protocol, SsoProtocol::Saml);
    assert_eq!(p.subject, "bjensen@example.com");
    assert_eq!(
        p.subject_format.as_deref(),
        Some("urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress")
    );
    assert_eq!(p.issuer, IDP);
    assert_eq!(p.email.as_deref(), Some("bjensen@example.com"));
    assert_eq!(p.email_verified, None);
    assert_eq!(p.given_name.as_deref(), Some("Barbara"));
    assert_eq!(p.family_name.as_deref(), Some("Jensen"));
    assert_eq!(p.display_name.as_deref(), Some("Barbara Jensen"));
    assert_eq!(p.groups, ["staff", "member"]);
    assert_eq!(p.extra["display_name"], ["Barbara Jensen"]);
    assert_eq!(p.raw[MAIL], json!(["bjensen@example.com"]));
    assert_eq!(p.raw[AFFILIATION], json!(["staff", "member"]));
    assert!(p.session_index.as_deref().is_some_and(|s| !s.is_empty()));
    let instant = p.authn_instant.unwrap();
    assert!((time::OffsetDateTime::now_utc() - instant).abs() < time::Duration::minutes(2));
    assert!(request_id.is_some_and(|id| id.starts_with('_')));

    // The same state (and response) again: the state was taken.
    let again = service
        .finish_saml(
            &connection.id,
            &response,
            Some(&start.state),
            Some(&binding),
        )
        .await
        .unwrap_err();
    assert!(matches!(again, LoginError::UnknownState), "{again:?}");

    let events = fx.events.events();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].sequence, 1);
    assert_eq!(
        events[0].event,
        Event::LoginSucceeded {
            organization: fx.org.id.clone(),
            connection: connection.id.clone(),
            subject: "bjensen@example.com".into(),
            email: Some("bjensen@example.com".into()),
        }
    );
    assert_eq!(events[1].sequence, 2);
    assert_eq!(
        events[1].event,
        Event::LoginFailed {
            organization: Some(fx.org.id.clone()),
            connection: Some(connection.id.clone()),
            reason: "login.unknown_state".into(),
        }
    );
}

#[tokio::test]
async fn a_response_is_bound_to_its_request_and_assertions_are_not_replayed() {
    let (fx, idp, mut connection, service) = setup().await;

    // An answered request's response under a new login: InResponseTo names the old request.
    let (_first, response) =
        start_answered(&service, &connection, &idp, "bjensen@example.com").await;
    let second = service
        .start(&connection.id, &LoginRequest::default())
        .await
        .unwrap();
    let err = finish_in_browser(&service, &connection.id, &response, &second)
        .await
        .unwrap_err();
    assert_eq!(err.reason(), "saml.profile.unknown_request", "{err}");

    // IdP-initiated (allowed on this connection): the first use of an assertion passes,
    // the replay is refused by the tenant replay cache.
    saml_mut(&mut connection).allow_idp_initiated = true;
    fx.tenants
        .save_connection(&connection, time::OffsetDateTime::now_utc())
        .await
        .unwrap();
    let (request_id, unsolicited) = pysaml2(&idp, None, None, "bjensen@example.com");
    assert_eq!(request_id, None);
    let done = service
        .finish_saml(&connection.id, &unsolicited, Some("/welcome"), None)
        .await
        .unwrap();
    assert_eq!(done.profile.subject, "bjensen@example.com");
    // An IdP-initiated RelayState is a redirect target only when the policy allows it.
    assert_eq!(done.return_to.as_deref(), Some("/welcome"));
    let replay = service
        .finish_saml(&connection.id, &unsolicited, None, None)
        .await
        .unwrap_err();
    assert!(
        matches!(&replay, LoginError::Saml(saml_sp::SamlError::Replay(_))),
        "{replay:?}"
    );
    assert_eq!(replay.reason(), "saml.profile.replay");
    let events = fx.events.events();
    let reasons: Vec<_> = events
        .iter()
        .map(|r| match &r.event {
            Event::LoginFailed { reason, .. } => reason.as_str(),
            Event::LoginSucceeded { .. } => "succeeded",
            _ => "other",
        })
        .collect();
    assert_eq!(
        reasons,
        [
            "saml.profile.unknown_request",
            "succeeded",
            "saml.profile.replay"
        ]
    );
    assert!(
        events
            .windows(2)
            .all(|w| w[0].sequence + 1 == w[1].sequence)
    );
}

#[tokio::test]
async fn an_email_outside_the_verified_domains_is_refused_by_name() {
    let (fx, idp, connection, service) = setup().await;
    let (start, response) =
        start_answered(&service, &connection, &idp, "mallory@Elsewhere.example").await;
    let err = finish_in_browser(&service, &connection.id, &response, &start)
        .await
        .unwrap_err();
    match &err {
        LoginError::EmailDomainNotAllowed {
            domain,
            organization,
        } => {
            assert_eq!(domain, "elsewhere.example");
            assert_eq!(organization, &fx.org.id);
        }
        other => panic!("expected EmailDomainNotAllowed, got {other:?}"),
    }
    assert_eq!(
        fx.events.events().last().map(|r| r.event.clone()),
        Some(Event::LoginFailed {
            organization: Some(fx.org.id.clone()),
            connection: Some(connection.id.clone()),
            reason: "login.email_domain".into(),
        })
    );

    // Without enforcement the same kind of login passes.
    let mut org = fx.org.clone();
    org.enforce_email_domains = false;
    fx.tenants.save_organization(&org).await.unwrap();
    let (start, response) =
        start_answered(&service, &connection, &idp, "mallory@elsewhere.example").await;
    let done = finish_in_browser(&service, &connection.id, &response, &start)
        .await
        .unwrap();
    assert_eq!(
        done.profile.email.as_deref(),
        Some("mallory@elsewhere.example")
    );
}

#[tokio::test]
async fn redirect_targets_off_the_allow_list_are_refused_at_start() {
    let (_fx, _idp, connection, service) = setup().await;
    for bad in [
        "https://evil.example/",
        "//evil.example/x",
        "https://app.example.com.evil.example/",
        "javascript:alert(1)",
    ] {
        let err = service
            .start(&connection.id, &LoginRequest::returning_to(bad))
            .await
            .unwrap_err();
        assert!(
            matches!(err, LoginError::Tenant(TenantError::Redirect { .. })),
            "{bad}: {err:?}"
        );
        assert_eq!(err.reason(), "login.redirect");
    }
    let ok = service
        .start(
            &connection.id,
            &LoginRequest::returning_to("https://app.example.com/home"),
        )
        .await
        .unwrap();
    assert!(!ok.state.is_empty());
}

#[tokio::test]
async fn the_login_finishes_only_in_the_browser_that_started_it() {
    let (_fx, idp, connection, service) = setup().await;
    let (start, response) =
        start_answered(&service, &connection, &idp, "bjensen@example.com").await;
    let err = service
        .finish_saml(&connection.id, &response, Some(&start.state), None)
        .await
        .unwrap_err();
    assert!(matches!(err, LoginError::BrowserBinding), "{err:?}");
    // Another browser's binding does not find the state (it is stored under the state and
    // the starting browser's binding together), so it cannot burn it ...
    let err = service
        .finish_saml(
            &connection.id,
            &response,
            Some(&start.state),
            Some("not-the-binding"),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, LoginError::UnknownState), "{err:?}");
    // ... and the browser that started the login still finishes it.
    let finished = finish_in_browser(&service, &connection.id, &response, &start)
        .await
        .expect("the starting browser finishes its login");
    assert_eq!(
        finished.profile.email.as_deref(),
        Some("bjensen@example.com")
    );
}

#[tokio::test]
async fn a_state_is_refused_at_another_connection() {
    let (fx, idp, connection, service) = setup().await;
    let mut other = saml_connection(&fx, &idp);
    other.name = "other".into();
    fx.tenants
        .save_connection(&other, time::OffsetDateTime::now_utc())
        .await
        .unwrap();
    let (start, response) =
        start_answered(&service, &connection, &idp, "bjensen@example.com").await;
    let err = finish_in_browser(&service, &other.id, &response, &start)
        .await
        .unwrap_err();
    assert!(matches!(err, LoginError::StateMismatch { .. }), "{err:?}");
}

#[tokio::test]
async fn signed_authn_requests_verify_at_pysaml2() {
    let (fx, idp, mut connection, service) = setup().await;
    let sp = Identity::rsa(2048, "sp");
    with_sp_key(&fx, &mut connection, &sp);
    saml_mut(&mut connection).sign_authn_requests = true;
    fx.tenants
        .save_connection(&connection, time::OffsetDateTime::now_utc())
        .await
        .unwrap();
    let start = service
        .start(&connection.id, &LoginRequest::default())
        .await
        .unwrap();
    let url = redirect_url(&start);
    assert!(query_param(url, "Signature").is_some());
    // pysaml2 refuses the request unless its query signature verifies with the SP's
    // certificate.
    let (_, response) = pysaml2(&idp, Some(url), Some(&sp), "bjensen@example.com");
    let done = finish_in_browser(&service, &connection.id, &response, &start)
        .await
        .unwrap();
    assert_eq!(done.profile.subject, "bjensen@example.com");
}

/// Starts a login, lets pysaml2 answer it with `overrides`, and finishes it.
async fn round_trip(
    service: &LoginService,
    connection: &Connection,
    idp: &Identity,
    overrides: Value,
) -> Result<LoginFinished, LoginError> {
    let start = service
        .start(&connection.id, &LoginRequest::default())
        .await
        .unwrap();
    let (_, response) = pysaml2_with(idp, Some(redirect_url(&start)), overrides);
    finish_in_browser(service, &connection.id, &response, &start).await
}

fn with_sp_key(fx: &Fixture, connection: &mut Connection, sp: &Identity) {
    let pem = String::from_utf8(sp.key.private_key_to_pem_pkcs8().unwrap()).unwrap();
    let context = connection.secret_context("saml.sp_private_key");
    saml_mut(connection).sp_key = Some(SpKeyPair {
        certificate: TrustedCertificate::from_pem(&sp.cert_pem()).unwrap(),
        private_key: fx.key.encrypt(&SecretString::new(pem), &context),
    });
}

#[tokio::test]
async fn mapping_edge_cases_and_required_encryption() {
    let (fx, idp, mut connection, service) = setup().await;

    // Two different values in the mapped email attribute: no guessing which one counts.
    let err = round_trip(
        &service,
        &connection,
        &idp,
        json!({"identity": {"mail": ["a@example.com", "b@example.com"]}}),
    )
    .await
    .unwrap_err();
    match err {
        LoginError::AmbiguousAttribute {
            field,
            attribute,
            count,
        } => {
            assert_eq!((field, attribute.as_str(), count), ("email", MAIL, 2));
        }
        other => panic!("expected AmbiguousAttribute, got {other:?}"),
    }

    // No email mapping: the NameID of the email format is the email.
    saml_mut(&mut connection).attribute_mapping = AttributeMapping {
        email: None,
        given_name: None,
        family_name: None,
        groups: None,
        extra: Default::default(),
    };
    fx.tenants
        .save_connection(&connection, time::OffsetDateTime::now_utc())
        .await
        .unwrap();
    let done = round_trip(
        &service,
        &connection,
        &idp,
        json!({"name_id": "nameid@example.com", "identity": {"mail": ["other@example.com"]}}),
    )
    .await
    .unwrap();
    assert_eq!(done.profile.email.as_deref(), Some("nameid@example.com"));
    assert_eq!(done.profile.given_name, None);
    assert!(done.profile.groups.is_empty());
    assert_eq!(done.profile.raw[MAIL], json!(["other@example.com"]));

    // Encryption required: a plain assertion is refused, an encrypted one is decrypted with
    // the SP key stored (encrypted) on the connection.
    let sp = Identity::rsa(2048, "sp");
    with_sp_key(&fx, &mut connection, &sp);
    saml_mut(&mut connection).require_encrypted_assertions = true;
    fx.tenants
        .save_connection(&connection, time::OffsetDateTime::now_utc())
        .await
        .unwrap();
    let err = round_trip(&service, &connection, &idp, json!({}))
        .await
        .unwrap_err();
    assert!(matches!(err, LoginError::AssertionNotEncrypted), "{err:?}");
    let done = round_trip(
        &service,
        &connection,
        &idp,
        json!({"sp_enc_cert": sp.cert_path}),
    )
    .await
    .unwrap();
    assert_eq!(done.profile.email.as_deref(), Some("bjensen@example.com"));
}

#[tokio::test]
async fn post_binding_and_expired_states() {
    let (fx, _idp, connection, _) = setup().await;
    let mut settings = LoginSettings::default();
    settings.saml_binding = SamlBinding::Post;
    let start_at = time::OffsetDateTime::now_utc();
    let service = fx
        .service(RedirectPolicy::relative_only())
        .with_settings(settings)
        .with_clock(Arc::new(saml_sp::FixedClock(start_at)));
    let start = service
        .start(&connection.id, &LoginRequest::default())
        .await
        .unwrap();
    let BrowserAction::PostForm(html) = &start.action else {
        panic!("expected a POST form, got {:?}", start.action);
    };
    assert!(html.contains(&format!(r#"action="{SSO}""#)), "{html}");
    assert!(
        html.contains(&format!(r#"name="RelayState" value="{}""#, start.state)),
        "{html}"
    );
    assert!(html.contains(r#"name="SAMLRequest""#));
    assert_eq!(start.expires_at, start_at + time::Duration::minutes(10));

    // Eleven minutes later the state has expired; the response is not even read.
    let later = fx
        .service(RedirectPolicy::relative_only())
        .with_clock(Arc::new(saml_sp::FixedClock(
            start_at + time::Duration::minutes(11),
        )));
    let err = later
        .finish_saml(
            &connection.id,
            "PHg+",
            Some(&start.state),
            Some(start.browser_binding.expose_secret()),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, LoginError::UnknownState), "{err:?}");
}
