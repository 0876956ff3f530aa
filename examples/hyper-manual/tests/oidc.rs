//! The hand-wired hyper service's OpenID Connect routes against the real `oidc-provider` npm
//! package (oidc-rp's harness; its provider script is linked at tests/peers): the provider
//! signs in the account named by `login_hint`, whose email is `<account>@example.com`.

#[path = "../../../crates/oidc-rp/tests/common/mod.rs"]
mod oidc_common;
#[path = "../../../crates/saml-sp/tests/common/mod.rs"]
mod saml_common;

use std::sync::Arc;

use hyper_manual::{IdpSettings, Manual, OIDC_COOKIE_NAME, OidcSettings};
use oidc_common::{Browser, Landing, OpenIdProvider};
use reqwest::StatusCode;
use serde_json::json;

const SECRET: &str = "a-client-secret-long-enough-for-hs256-0123456789abcdef0123456789";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidc_login_and_callback_on_plain_hyper() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let redirect = format!("{base}/oidc/callback");
    let op = OpenIdProvider::start(
        json!([{
            "client_id": "manual-rp",
            "client_secret": SECRET,
            "redirect_uris": [redirect],
            "grant_types": ["authorization_code"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "client_secret_basic",
            "id_token_signed_response_alg": "RS256",
        }]),
        0,
    );
    // The SAML side is configured too (the example always has it); only OIDC is used here.
    let idp = saml_common::Identity::rsa(2048, "unused idp");
    let settings = IdpSettings {
        entity_id: "https://idp.example.com/saml".into(),
        sso_url: "https://idp.example.com/sso".into(),
        certificate_pem: idp.cert_pem(),
        domain: "example.com".into(),
        email_attribute: "mail".into(),
    };
    let manual = Manual::new(&settings, &base)
        .await
        .unwrap()
        .with_oidc(&OidcSettings {
            issuer: op.issuer.clone(),
            client_id: "manual-rp".into(),
            client_secret: SECRET.into(),
        })
        .await
        .unwrap();
    let server = tokio::spawn(hyper_manual::serve(Arc::new(manual), listener));
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    let start = client
        .get(format!("{base}/oidc/login?return_to=%2Fhome"))
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), StatusCode::SEE_OTHER);
    let cookie = start.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.starts_with(&format!("{OIDC_COOKIE_NAME}=")),
        "{cookie}"
    );
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let binding = cookie
        .split(';')
        .next()
        .and_then(|c| c.split_once('='))
        .map(|(_, v)| v.to_owned())
        .unwrap();
    let location = start.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with(&op.issuer), "{location}");
    assert!(
        location.contains("code_challenge_method=S256"),
        "{location}"
    );

    // The provider signs in `alice` (the login hint) and redirects to the callback.
    let authorize = format!("{location}&login_hint=alice");
    let Landing::Redirect(callback) = Browser::new().navigate(&authorize, &redirect).await else {
        panic!("expected a redirect to the callback");
    };

    // Without the binding cookie the callback is refused, and the login is not burnt.
    let refused = client.get(callback.as_str()).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("login.browser_binding")
    );

    let done = client
        .get(callback.as_str())
        .header("cookie", format!("{OIDC_COOKIE_NAME}={binding}"))
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), StatusCode::OK);
    assert_eq!(
        done.text().await.unwrap(),
        "signed in: alice@example.com (return to /home)"
    );

    // The same callback again: the state was used.
    let again = client
        .get(callback.as_str())
        .header("cookie", format!("{OIDC_COOKIE_NAME}={binding}"))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::FORBIDDEN);
    assert!(again.text().await.unwrap().contains("login.unknown_state"));
    server.abort();
}
