//! A SAML sign-in clicked through in a real browser: Debian's headless Chromium, driven by
//! playwright-core (`tests/browser/sign_in_saml.mjs`), against the demo served in-process
//! and a real SimpleSAMLphp IdP (tests/peers) with its own username/password page.
//!
//! The demo is reached as `http://localhost:PORT` and SimpleSAMLphp as
//! `http://127.0.0.1:PORT`: two sites, so SimpleSAMLphp's auto-submitted POST to the ACS is
//! a cross-site request as with a real IdP, and the binding cookie's `SameSite` and `Secure`
//! attributes decide as in production. A missing Chromium, `node`, npm package, PHP or
//! SimpleSAMLphp fails the test; nothing is skipped. `GATEHOUSE_CHROMIUM` names another
//! Chromium binary.

mod common;
#[path = "peers/simplesamlphp.rs"]
mod simplesamlphp;

use common::Served;
use common::browser::{artifacts_dir, browse, png_size};
use serde_json::json;
use simplesamlphp::SimpleSamlPhp;

/// sso-axum's `SAML_BINDING_COOKIE`.
const SAML_BINDING_COOKIE: &str = "gatehouse_saml_login";
const EMAIL_FORMAT: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_signs_in_at_simplesamlphp_pages_and_sees_the_profile() {
    let idp = SimpleSamlPhp::start(&json!({
        "mail": ["bjensen@acme.test"],
        "givenName": ["Barbara"],
        "sn": ["Jensen"],
    }));
    let idp_metadata = reqwest::get(idp.entity_id())
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(idp_metadata.contains("IDPSSODescriptor"), "{idp_metadata}");

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://localhost:{}", listener.local_addr().unwrap().port());
    let toml = format!(
        r#"
public_url = "{base}"
[[organizations]]
id = "acme"
name = "Acme Corporation"
domains = ["acme.test"]
[organizations.scim]
directory_id = "acme-directory"
token = "browser-acme-scim-token"
[[organizations.connections]]
id = "ssp"
name = "Acme SimpleSAMLphp"
protocol = "saml"
idp_metadata = '''{idp_metadata}'''
attributes = {{ email = "mail", given_name = "givenName", family_name = "sn" }}
"#
    );
    let demo = Served::start(listener, base.clone(), &toml).await;

    let sp_metadata = reqwest::get(format!("{base}/sso/saml/ssp/metadata"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let converted = idp.register_sp(
        &sp_metadata,
        &json!({
            "NameIDFormat": EMAIL_FORMAT,
            "simplesaml.nameidattribute": "mail",
            "saml20.sign.assertion": true,
        }),
    );
    assert!(
        converted.contains(&format!("{base}/sso/saml/ssp/acs")),
        "{converted}"
    );

    let screenshot = artifacts_dir().join("saml-profile.png");
    let _ = std::fs::remove_file(&screenshot);
    let seen = browse(
        "sign_in_saml.mjs",
        json!({
        "base": base,
        "email": "bjensen@acme.test",
        "username": simplesamlphp::USERNAME,
        "password": idp.password,
        "screenshot": screenshot,
        }),
    )
    .await;

    // The browser was at SimpleSAMLphp's own sign-in page, on the other site.
    let login_url = seen["idp_login_url"].as_str().unwrap();
    assert!(
        login_url.starts_with(&format!("{}module.php/core/loginuserpass.php", idp.base)),
        "{seen}"
    );
    // The binding cookie travels on the IdP's cross-site POST: SameSite=None, hence Secure
    // (which Chromium keeps on http://localhost).
    let set_cookie = seen["binding_set_cookie"][0].as_str().unwrap();
    assert!(
        set_cookie.starts_with(&format!("{}=", SAML_BINDING_COOKIE)),
        "{set_cookie}"
    );
    assert!(set_cookie.contains("SameSite=None"), "{set_cookie}");
    assert!(set_cookie.contains("Secure"), "{set_cookie}");
    let posts = seen["acs_posts"].as_array().unwrap();
    assert_eq!(posts.len(), 1, "{seen}");
    assert_eq!(posts[0]["method"], "POST");
    assert_eq!(posts[0]["origin"], base);
    assert_eq!(
        posts[0]["referrer_origin"],
        idp.base.trim_end_matches('/'),
        "{seen}"
    );
    assert!(
        posts[0]["cookie_names"]
            .as_array()
            .unwrap()
            .contains(&json!(SAML_BINDING_COOKIE)),
        "{seen}"
    );

    assert_eq!(seen["profile_url"], format!("{base}/profile"));
    assert_eq!(seen["organization"], "acme");
    assert_eq!(seen["connection"], "ssp");
    assert_eq!(seen["profile"]["subject"], "bjensen@acme.test");
    assert_eq!(seen["profile"]["email"], "bjensen@acme.test");
    assert_eq!(seen["profile"]["given_name"], "Barbara");
    assert_eq!(seen["profile"]["issuer"], idp.entity_id());

    let png = std::fs::read(&screenshot).unwrap();
    let (width, height) = png_size(&png);
    assert_eq!(width, 1000);
    assert!(height > 0);

    demo.stop().await;
}
