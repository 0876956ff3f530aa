//! The demo clicked through in a real browser: Debian's headless Chromium, driven by the
//! playwright-core npm package (`tests/browser/sign_in.mjs`), against the demo served
//! in-process and the real oidc-provider with its own HTML sign-in and consent pages.
//!
//! The demo is reached as `http://localhost:PORT` and the provider as
//! `http://127.0.0.1:PORT`: two sites, so the callback is a cross-site navigation as with a
//! real identity provider, and the cookies' `SameSite` and `Secure` attributes decide as
//! they would in production. A missing Chromium, `node` or npm package fails the test with
//! the reason; nothing is skipped. `GATEHOUSE_CHROMIUM` names another Chromium binary.

mod common;
#[path = "../../../crates/oidc-rp/tests/common/mod.rs"]
mod oidc_common;

use common::browser::{artifacts_dir, png_size};
use common::{Served, provider_kids};
use oidc_common::OpenIdProvider;
use reqwest::StatusCode;
use serde_json::{Value, json};

const OIDC_SECRET: &str = "a-client-secret-long-enough-for-hs256-0123456789abcdef0123456789";
const SCIM_TOKEN: &str = "browser-globex-scim-token";

struct Demo {
    served: Served,
    op: OpenIdProvider,
}

impl Demo {
    /// The demo at `http://localhost:PORT` with globex (domain example.com) signing in at
    /// the oidc-provider's pages, by the query or the `form_post` response mode.
    async fn start(form_post: bool) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://localhost:{}", listener.local_addr().unwrap().port());
        let op = OpenIdProvider::start_with(
            json!([{
                "client_id": "gatehouse-demo",
                "client_secret": OIDC_SECRET,
                "redirect_uris": [format!("{base}/sso/oidc/globex-oidc/callback")],
                "grant_types": ["authorization_code"],
                "response_types": ["code"],
                "token_endpoint_auth_method": "client_secret_basic",
                "id_token_signed_response_alg": "RS256",
            }]),
            0,
            json!({ "pages": true }),
        );
        let toml = format!(
            r#"
public_url = "{base}"
oidc_response_mode = "{mode}"
[[organizations]]
id = "globex"
name = "Globex Corporation"
domains = ["example.com"]
[organizations.scim]
directory_id = "globex-directory"
token = "{SCIM_TOKEN}"
[[organizations.connections]]
id = "globex-oidc"
name = "Globex oidc-provider"
protocol = "oidc"
issuer = "{issuer}"
client_id = "gatehouse-demo"
client_secret = "{OIDC_SECRET}"
"#,
            mode = if form_post { "form_post" } else { "query" },
            issuer = op.issuer,
        );
        Self {
            served: Served::start(listener, base, &toml).await,
            op,
        }
    }

    async fn stop(self) {
        self.served.stop().await;
    }
}

/// Runs `tests/browser/sign_in.mjs` with `scenario` and returns what the browser saw.
async fn browse(scenario: Value) -> Value {
    common::browser::browse("sign_in.mjs", scenario).await
}

fn cookie<'a>(result: &'a Value, name: &str) -> Option<&'a Value> {
    result["context_cookies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
}

async fn scim_status(demo: &Demo, token: &str) -> StatusCode {
    reqwest::Client::new()
        .get(format!("{}/scim/v2/Users", demo.served.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_signs_in_at_the_provider_pages_sees_the_profile_and_rotates_the_scim_token() {
    let demo = Demo::start(false).await;
    let screenshot = artifacts_dir().join("profile.png");
    let _ = std::fs::remove_file(&screenshot);
    let seen = browse(json!({
        "base": demo.served.base,
        "email": "alice@example.com",
        "account": "alice",
        "screenshot": screenshot,
        "admin_org": "globex",
    }))
    .await;

    // Discovery sent the browser to the provider's own sign-in page, the email as hint.
    assert_eq!(seen["provider_login_origin"], demo.op.issuer, "{seen}");
    assert_eq!(seen["login_hint_prefilled"], "alice@example.com");
    // A first login of this client: the provider asked for consent and got it.
    assert_eq!(seen["consent_shown"], true);
    // The binding cookie of the query mode on plain-HTTP loopback: Lax, not Secure.
    let set_cookie = seen["binding_set_cookie"][0].as_str().unwrap();
    assert!(
        set_cookie.starts_with("gatehouse_oidc_login="),
        "{set_cookie}"
    );
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    assert!(set_cookie.contains("SameSite=Lax"), "{set_cookie}");
    assert!(!set_cookie.contains("Secure"), "{set_cookie}");
    // One callback, a cross-site top-level GET that carried the Lax binding cookie.
    let callbacks = seen["callbacks"].as_array().unwrap();
    assert_eq!(callbacks.len(), 1, "{seen}");
    assert_eq!(callbacks[0]["method"], "GET");
    assert!(
        callbacks[0]["cookie_names"]
            .as_array()
            .unwrap()
            .contains(&json!("gatehouse_oidc_login")),
        "{seen}"
    );

    // The profile page as displayed.
    assert_eq!(seen["profile_url"], format!("{}/profile", demo.served.base));
    assert_eq!(seen["profile_title"], "Your profile");
    assert_eq!(seen["organization"], "globex");
    assert_eq!(seen["connection"], "globex-oidc");
    let profile = &seen["profile"];
    assert_eq!(profile["subject"], "alice", "{profile}");
    assert_eq!(profile["email"], "alice@example.com");
    assert_eq!(profile["email_verified"], true);
    assert_eq!(profile["issuer"], demo.op.issuer);
    assert_eq!(profile["protocol"], "oidc");
    assert_eq!(profile["display_name"], "User alice");
    // The session cookie is the demo's, on its own site; the binding cookie is gone.
    let session = cookie(&seen, gatehouse_demo::SESSION_COOKIE).expect("session cookie");
    assert_eq!(session["domain"], "localhost");
    assert_eq!(session["sameSite"], "Lax");
    assert!(cookie(&seen, "gatehouse_oidc_login").is_none(), "{seen}");

    // The screenshot: a PNG of the viewport's width, at least its height (full page).
    let png = std::fs::read(&screenshot).unwrap();
    let (width, height) = png_size(&png);
    assert_eq!(width, 1000);
    assert!(height >= 900, "{height}");
    // A blank page of that size compresses to far less.
    assert!(png.len() > 10_000, "{} bytes", png.len());
    println!("profile screenshot: {}", screenshot.display());

    // The admin page: no token until the button is clicked, then the new one once.
    assert_eq!(seen["admin_title"], "Globex Corporation administration");
    assert_eq!(seen["token_before_rotation"], 0);
    assert_eq!(
        seen["rotated_url"],
        format!("{}/admin/globex/scim-token", demo.served.base)
    );
    let token = seen["new_token"].as_str().unwrap();
    assert!(token.len() > 20, "{token}");
    assert_eq!(seen["token_after_reload"], 0);
    assert_eq!(seen["token_text_after_reload"], false);
    // The token shown is the directory's token now; the configured one no longer works.
    assert_eq!(scim_status(&demo, token).await, StatusCode::OK);
    assert_eq!(
        scim_status(&demo, SCIM_TOKEN).await,
        StatusCode::UNAUTHORIZED
    );
    demo.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_finishes_a_form_post_login_with_the_same_site_none_binding_cookie() {
    let demo = Demo::start(true).await;
    let screenshot = artifacts_dir().join("profile-form-post.png");
    let seen = browse(json!({
        "base": demo.served.base,
        "email": "bob@example.com",
        "account": "bob",
        "screenshot": screenshot,
        "admin_org": null,
    }))
    .await;

    let set_cookie = seen["binding_set_cookie"][0].as_str().unwrap();
    assert!(
        set_cookie.starts_with("gatehouse_oidc_login="),
        "{set_cookie}"
    );
    assert!(set_cookie.contains("SameSite=None"), "{set_cookie}");
    assert!(set_cookie.contains("Secure"), "{set_cookie}");
    // The provider's page posted the response cross-site, and Chromium sent the binding
    // cookie with that POST (a Lax cookie would have stayed behind).
    let callbacks = seen["callbacks"].as_array().unwrap();
    assert_eq!(callbacks.len(), 1, "{seen}");
    assert_eq!(callbacks[0]["method"], "POST");
    assert_eq!(callbacks[0]["origin"], demo.served.base);
    assert_eq!(callbacks[0]["referrer_origin"], demo.op.issuer);
    assert!(
        callbacks[0]["cookie_names"]
            .as_array()
            .unwrap()
            .contains(&json!("gatehouse_oidc_login")),
        "{seen}"
    );
    assert_eq!(seen["profile_url"], format!("{}/profile", demo.served.base));
    assert_eq!(seen["organization"], "globex");
    assert_eq!(seen["profile"]["subject"], "bob");
    assert_eq!(seen["profile"]["email"], "bob@example.com");
    assert!(
        cookie(&seen, gatehouse_demo::SESSION_COOKIE).is_some(),
        "{seen}"
    );
    assert!(cookie(&seen, "gatehouse_oidc_login").is_none(), "{seen}");
    let (width, _) = png_size(&std::fs::read(&screenshot).unwrap());
    assert_eq!(width, 1000);
    demo.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_signs_in_again_after_the_provider_rotates_its_signing_keys() {
    let mut demo = Demo::start(false).await;
    let issuer = demo.op.issuer.clone();
    let before = provider_kids(&issuer).await;
    let first = browse(json!({
        "base": demo.served.base,
        "email": "alice@example.com",
        "account": "alice",
        "screenshot": artifacts_dir().join("profile-before-rotation.png"),
        "admin_org": null,
    }))
    .await;
    assert_eq!(first["profile"]["subject"], "alice");

    // Same issuer and port, new signing keys; the demo still has the old JWKS cached.
    let op = &mut demo.op;
    tokio::task::block_in_place(|| op.restart_with_new_keys());
    assert_eq!(demo.op.issuer, issuer);
    let after = provider_kids(&issuer).await;
    assert!(!after.is_empty());
    assert!(
        after.iter().all(|k| !before.contains(k)),
        "{before:?} {after:?}"
    );

    let second = browse(json!({
        "base": demo.served.base,
        "email": "bob@example.com",
        "account": "bob",
        "screenshot": artifacts_dir().join("profile-after-rotation.png"),
        "admin_org": null,
    }))
    .await;
    assert_eq!(
        second["profile_url"],
        format!("{}/profile", demo.served.base)
    );
    assert_eq!(second["profile"]["subject"], "bob");
    assert_eq!(second["profile"]["issuer"], issuer);
    demo.stop().await;
}
