//! The hand-wired hyper service over loopback, with pysaml2 as the IdP: metadata, login
//! with the binding cookie, ACS.

#[path = "../../../crates/sso-axum/tests/common/pysaml2.rs"]
mod pysaml2;
#[path = "../../../crates/saml-sp/tests/common/mod.rs"]
mod saml_common;

use std::sync::Arc;

use base64::Engine as _;
use hyper_manual::{COOKIE_NAME, IdpSettings, Manual};
use reqwest::StatusCode;
use serde_json::json;

const IDP: &str = "https://idp.acme.test/saml";
const SSO: &str = "https://idp.acme.test/sso";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_login_and_acs_on_plain_hyper() {
    let idp = saml_common::Identity::rsa(2048, "pysaml2 idp");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let settings = IdpSettings {
        entity_id: IDP.into(),
        sso_url: SSO.into(),
        certificate_pem: idp.cert_pem(),
        domain: "acme.test".into(),
        email_attribute: "urn:oid:0.9.2342.19200300.100.1.3".into(),
    };
    let manual = Arc::new(Manual::new(&settings, &base).await.unwrap());
    let server = tokio::spawn(hyper_manual::serve(manual, listener));
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    let metadata = client
        .get(format!("{base}/saml/metadata"))
        .send()
        .await
        .unwrap();
    assert_eq!(metadata.status(), StatusCode::OK);
    let xml = metadata.text().await.unwrap();
    assert!(
        xml.contains(&format!("entityID=\"{base}/saml/metadata\"")),
        "{xml}"
    );
    assert!(
        xml.contains(&format!("Location=\"{base}/saml/acs\"")),
        "{xml}"
    );

    let start = client
        .get(format!("{base}/saml/login?return_to=%2Fhome"))
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), StatusCode::SEE_OTHER);
    let cookie = start.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with(&format!("{COOKIE_NAME}=")), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    let location = start.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with(&format!("{SSO}?SAMLRequest=")),
        "{location}"
    );
    let relay = url::Url::parse(&location)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "RelayState")
        .unwrap()
        .1
        .into_owned();

    let answer = pysaml2::pysaml2(&json!({
        "key": idp.key_path, "cert": idp.cert_path, "idp": IDP, "sso_url": SSO,
        "sp": format!("{base}/saml/metadata"), "acs": format!("{base}/saml/acs"),
        "sp_cert": null, "redirect_url": location, "name_id": "bjensen@acme.test",
        "identity": pysaml2::identity("bjensen@acme.test"), "place": "assertion",
    }));
    let form = [
        (
            "SAMLResponse",
            base64::engine::general_purpose::STANDARD.encode(&answer.response_xml),
        ),
        ("RelayState", relay),
    ];
    // Another browser, without the cookie, is refused.
    let stranger = reqwest::Client::new()
        .post(format!("{base}/saml/acs"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(stranger.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        stranger.text().await.unwrap(),
        "sign-in failed: login.browser_binding"
    );
    // The state was used by that attempt; a new login in the right browser succeeds.
    let start = client
        .get(format!("{base}/saml/login?return_to=%2Fhome"))
        .send()
        .await
        .unwrap();
    let location = start.headers()["location"].to_str().unwrap().to_owned();
    let relay = url::Url::parse(&location)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "RelayState")
        .unwrap()
        .1
        .into_owned();
    let answer = pysaml2::pysaml2(&json!({
        "key": idp.key_path, "cert": idp.cert_path, "idp": IDP, "sso_url": SSO,
        "sp": format!("{base}/saml/metadata"), "acs": format!("{base}/saml/acs"),
        "sp_cert": null, "redirect_url": location, "name_id": "bjensen@acme.test",
        "identity": pysaml2::identity("bjensen@acme.test"), "place": "assertion",
    }));
    let done = client
        .post(format!("{base}/saml/acs"))
        .form(&[
            (
                "SAMLResponse",
                base64::engine::general_purpose::STANDARD.encode(&answer.response_xml),
            ),
            ("RelayState", relay),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), StatusCode::OK);
    assert_eq!(
        done.text().await.unwrap(),
        "signed in: bjensen@acme.test (return to /home)"
    );
    server.abort();
}
