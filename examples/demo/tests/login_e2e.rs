//! End to end through the demo's own routes, served in-process on a loopback port: SAML
//! SP-initiated login with pysaml2 as the IdP (HTTP-Redirect binding), an IdP-initiated
//! Response refused, "Sign out" with SAML Single Logout answered by pysaml2 (and local for
//! OIDC), OpenID Connect login against the real oidc-provider, and Entra- and
//! Okta-shaped SCIM provisioning shown on the admin page. A cookie-keeping HTTP client plays
//! the browser.

mod common;
#[path = "../../../crates/oidc-rp/tests/common/mod.rs"]
mod oidc_common;
#[path = "../../../crates/sso-axum/tests/common/pysaml2.rs"]
mod pysaml2;
#[path = "../../../crates/saml-sp/tests/common/mod.rs"]
mod saml_common;

use base64::Engine as _;
use common::{Served, browser, provider_kids};
use oidc_common::{Browser, Landing, OpenIdProvider};
use reqwest::StatusCode;
use saml_common::Identity;
use serde_json::{Value, json};

const IDP: &str = "https://idp.acme.test/saml";
const SSO: &str = "https://idp.acme.test/sso";
const IDP_SLO: &str = "https://idp.acme.test/slo";
const SCIM_TOKEN: &str = "e2e-acme-scim-token";
const OIDC_SECRET: &str = "a-client-secret-long-enough-for-hs256-0123456789abcdef0123456789";

struct Demo {
    served: Served,
    idp: Identity,
    _op: Option<OpenIdProvider>,
}

impl Demo {
    /// The demo with acme (SAML via pysaml2, domain acme.test) and, with `oidc`, globex (the
    /// oidc-provider, domain example.com).
    async fn start(oidc: bool) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let idp = Identity::rsa(2048, "pysaml2 idp");
        let op = oidc.then(|| {
            OpenIdProvider::start(
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
            )
        });
        let mut toml = format!(
            r#"
[[organizations]]
id = "acme"
name = "Acme Corporation"
domains = ["acme.test"]
[organizations.scim]
directory_id = "acme-directory"
token = "{SCIM_TOKEN}"
[[organizations.connections]]
id = "acme-saml"
name = "Acme pysaml2"
protocol = "saml"
idp_entity_id = "{IDP}"
sso_url = "{SSO}"
idp_slo_url = "{IDP_SLO}"
idp_certificate = '''{pem}'''
attributes = {{ email = "urn:oid:0.9.2342.19200300.100.1.3", given_name = "urn:oid:2.5.4.42", family_name = "urn:oid:2.5.4.4", groups = "urn:oid:1.3.6.1.4.1.5923.1.1.1.1", display_name = "urn:oid:2.16.840.1.113730.3.1.241" }}
"#,
            pem = idp.cert_pem()
        );
        if let Some(op) = &op {
            toml.push_str(&format!(
                r#"
[[organizations]]
id = "globex"
name = "Globex Corporation"
domains = ["example.com"]
[organizations.scim]
directory_id = "globex-directory"
token = "e2e-globex-scim-token"
[[organizations.connections]]
id = "globex-oidc"
name = "Globex oidc-provider"
protocol = "oidc"
issuer = "{}"
client_id = "gatehouse-demo"
client_secret = "{OIDC_SECRET}"
"#,
                op.issuer
            ));
        }
        Self {
            served: Served::start(listener, base, &toml).await,
            idp,
            _op: op,
        }
    }

    async fn stop(self) {
        self.served.stop().await;
    }

    fn idp_config(&self, redirect_url: Option<&str>, email: &str) -> Value {
        json!({
            "key": self.idp.key_path, "cert": self.idp.cert_path, "idp": IDP, "sso_url": SSO,
            "sp": format!("{}/sso/saml/acme-saml/metadata", self.served.base),
            "acs": format!("{}/sso/saml/acme-saml/acs", self.served.base),
            "sp_cert": null, "redirect_url": redirect_url,
            "name_id": email, "identity": pysaml2::identity(email), "place": "assertion",
        })
    }
}

/// GETs `url` and returns the absolute target of its 303.
async fn follow(client: &reqwest::Client, url: &str) -> String {
    let response = client.get(url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "GET {url}");
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    response.url().join(&location).unwrap().to_string()
}

async fn post_acs(
    client: &reqwest::Client,
    demo: &Demo,
    xml: &str,
    relay: &str,
) -> reqwest::Response {
    client
        .post(format!("{}/sso/saml/acme-saml/acs", demo.served.base))
        .form(&[
            (
                "SAMLResponse",
                base64::engine::general_purpose::STANDARD.encode(xml),
            ),
            ("RelayState", relay.to_owned()),
        ])
        .send()
        .await
        .unwrap()
}

/// GETs the demo's profile page with `client`'s cookies.
async fn get_profile(client: &reqwest::Client, demo: &Demo) -> reqwest::Response {
    client
        .get(format!("{}/profile", demo.served.base))
        .send()
        .await
        .unwrap()
}

/// The text of the demo's profile page as `client` sees it.
async fn profile_text(client: &reqwest::Client, demo: &Demo) -> String {
    get_profile(client, demo).await.text().await.unwrap()
}

/// Signs in at the oidc-provider from `authorize`, to the URL it sends the browser back to
/// (`redirect_uri` with the callback parameters).
async fn sign_in_at_provider(authorize: &str, redirect_uri: &str) -> url::Url {
    match Browser::new().navigate(authorize, redirect_uri).await {
        Landing::Redirect(url) => url,
        Landing::Form(form) => panic!("unexpected form {form:?}"),
    }
}

/// GETs the OIDC `callback` and asserts that it finishes the login with a 303 to `/profile`.
async fn finish_at_profile(client: &reqwest::Client, callback: &str) {
    let done = client.get(callback).send().await.unwrap();
    assert_eq!(
        done.status(),
        StatusCode::SEE_OTHER,
        "{}",
        done.text().await.unwrap()
    );
    assert_eq!(done.headers()["location"], "/profile");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saml_sp_initiated_login_through_discovery_shows_the_profile_page() {
    let demo = Demo::start(false).await;
    let client = browser();
    let login = follow(
        &client,
        &format!(
            "{}/sso/login?email=bjensen%40acme.test&return_to=%2Fprofile",
            demo.served.base
        ),
    )
    .await;
    assert_eq!(
        login,
        format!(
            "{}/sso/saml/acme-saml/login?return_to=%2Fprofile",
            demo.served.base
        )
    );
    let idp_url = follow(&client, &login).await;
    assert!(
        idp_url.starts_with(&format!("{SSO}?SAMLRequest=")),
        "{idp_url}"
    );
    let relay = url::Url::parse(&idp_url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "RelayState")
        .unwrap()
        .1
        .into_owned();

    let answer = pysaml2::pysaml2(&demo.idp_config(Some(&idp_url), "bjensen@acme.test"));
    let response = post_acs(&client, &demo, &answer.response_xml, &relay).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/profile");

    let page = get_profile(&client, &demo).await;
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.unwrap();
    assert!(
        page.contains(
            "Organization: <b>Acme Corporation</b> (<code id=\"organization\">acme</code>)"
        ),
        "{page}"
    );
    assert!(
        page.contains("Connection: <b>Acme pysaml2</b> (<code id=\"connection\">acme-saml</code>)"),
        "{page}"
    );
    assert!(
        page.contains("&quot;email&quot;: &quot;bjensen@acme.test&quot;"),
        "{page}"
    );
    assert!(
        page.contains("&quot;given_name&quot;: &quot;Barbara&quot;"),
        "{page}"
    );
    assert!(
        page.contains("&quot;display_name&quot;: &quot;Barbara Jensen&quot;"),
        "{page}"
    );
    assert!(
        page.contains(&format!("&quot;issuer&quot;: &quot;{IDP}&quot;")),
        "{page}"
    );
    // The raw attributes, by their names as sent.
    assert!(
        page.contains("&quot;urn:oid:1.3.6.1.4.1.5923.1.1.1.1&quot;: ["),
        "{page}"
    );
    assert!(page.contains("&quot;staff&quot;"), "{page}");

    // Without the session cookie there is no profile.
    let anonymous = get_profile(&browser(), &demo).await;
    assert_eq!(anonymous.status(), StatusCode::SEE_OTHER);

    // "Sign out": the local session ends and the browser goes to the IdP with a signed
    // LogoutRequest, which pysaml2 checks against the demo's SP metadata and answers.
    assert!(page.contains("action=\"/logout\""), "{page}");
    let metadata = client
        .get(format!("{}/sso/saml/acme-saml/metadata", demo.served.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let slo = format!("{}/sso/saml/acme-saml/slo", demo.served.base);
    assert!(
        metadata.contains(&format!("Location=\"{slo}\"")),
        "{metadata}"
    );
    let signed_out = client
        .post(format!("{}/logout", demo.served.base))
        .send()
        .await
        .unwrap();
    assert_eq!(signed_out.status(), StatusCode::SEE_OTHER);
    let to_idp = signed_out.headers()["location"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        to_idp.starts_with(&format!("{IDP_SLO}?SAMLRequest=")),
        "{to_idp}"
    );
    let gone = get_profile(&client, &demo).await;
    assert_eq!(gone.status(), StatusCode::SEE_OTHER);
    let answer = slo_answer(&demo, &metadata, &to_idp);
    assert_eq!(answer["name_id"], "bjensen@acme.test");
    assert_eq!(answer["session_indexes"].as_array().unwrap().len(), 1);
    let response_url = answer["response_url"].as_str().unwrap();
    assert!(
        response_url.starts_with(&format!("{slo}?")),
        "{response_url}"
    );
    let back = client.get(response_url).send().await.unwrap();
    assert_eq!(back.status(), StatusCode::SEE_OTHER);
    assert_eq!(back.headers()["location"], "/");
    demo.stop().await;
}

/// pysaml2 (tenant-config's pysaml2_slo.py) answering the demo's LogoutRequest.
fn slo_answer(demo: &Demo, metadata: &str, request_url: &str) -> Value {
    let root = pysaml2::workspace_root();
    let venv = std::env::var_os("GATEHOUSE_VENV")
        .map_or_else(|| root.join(".venv"), std::path::PathBuf::from);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.json");
    let config = json!({
        "mode": "answer", "key": demo.idp.key_path, "cert": demo.idp.cert_path, "idp": IDP,
        "idp_slo_url": IDP_SLO, "sp_metadata": metadata, "request_url": request_url,
        "binding": "redirect",
    });
    std::fs::write(&path, config.to_string()).unwrap();
    let out = std::process::Command::new(venv.join("bin/python"))
        .arg(root.join("crates/tenant-config/tests/python/pysaml2_slo.py"))
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pysaml2_slo.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idp_initiated_saml_response_is_refused_with_a_reason_page() {
    let demo = Demo::start(false).await;
    let client = browser();
    let answer = pysaml2::pysaml2(&demo.idp_config(None, "bjensen@acme.test"));
    assert!(answer.request_id.is_none());
    let response = post_acs(&client, &demo, &answer.response_xml, "").await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let correlation = response.headers()["x-correlation-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let page = response.text().await.unwrap();
    assert!(page.contains("<code>login.unknown_state</code>"), "{page}");
    assert!(page.contains(&correlation), "{page}");
    let profile = get_profile(&client, &demo).await;
    assert_eq!(profile.status(), StatusCode::SEE_OTHER);
    demo.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidc_login_against_oidc_provider_shows_the_profile_page() {
    let demo = Demo::start(true).await;
    let client = browser();
    // Discovery leads example.com to the OIDC connection.
    let login = follow(
        &client,
        &format!("{}/sso/login?email=alice%40example.com", demo.served.base),
    )
    .await;
    assert!(
        login.starts_with(&format!("{}/sso/oidc/globex-oidc/login?", demo.served.base)),
        "{login}"
    );
    // The provider signs in the account named by login_hint.
    let start = client
        .get(format!(
            "{}/sso/oidc/globex-oidc/login?login_hint=alice&return_to=%2Fprofile",
            demo.served.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), StatusCode::SEE_OTHER);
    let set_cookie = start.headers()["set-cookie"].to_str().unwrap();
    assert!(
        set_cookie.starts_with("gatehouse_oidc_login="),
        "{set_cookie}"
    );
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    // Plain-HTTP loopback: not Secure, and Lax.
    assert!(set_cookie.contains("SameSite=Lax"), "{set_cookie}");
    assert!(!set_cookie.contains("Secure"), "{set_cookie}");
    let authorize = start.headers()["location"].to_str().unwrap().to_owned();
    assert!(authorize.starts_with(&demo_issuer(&demo)), "{authorize}");
    let redirect_uri = format!("{}/sso/oidc/globex-oidc/callback", demo.served.base);
    let callback = sign_in_at_provider(&authorize, &redirect_uri)
        .await
        .to_string();
    finish_at_profile(&client, &callback).await;
    let page = profile_text(&client, &demo).await;
    assert!(
        page.contains("(<code id=\"organization\">globex</code>)"),
        "{page}"
    );
    assert!(
        page.contains("(<code id=\"connection\">globex-oidc</code>)"),
        "{page}"
    );
    assert!(
        page.contains("&quot;subject&quot;: &quot;alice&quot;"),
        "{page}"
    );
    assert!(
        page.contains("&quot;email&quot;: &quot;alice@example.com&quot;"),
        "{page}"
    );
    assert!(page.contains("&quot;email_verified&quot;: true"), "{page}");
    assert!(
        page.contains("&quot;aud&quot;: &quot;gatehouse-demo&quot;"),
        "{page}"
    );

    // The callback again (another tab, a replay): the finished login cleared the binding
    // cookie, and states are looked up under the binding, so the replay is refused there.
    let again = client.get(&callback).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::FORBIDDEN);
    // The finish cleared the binding cookie, and a state is not looked up without one.
    let again = again.text().await.unwrap();
    assert!(
        again.contains("<code>login.browser_binding</code>"),
        "{again}"
    );

    // "Sign out" of an OIDC session is local: back home, and the profile is gone.
    let signed_out = client
        .post(format!("{}/logout", demo.served.base))
        .send()
        .await
        .unwrap();
    assert_eq!(signed_out.status(), StatusCode::SEE_OTHER);
    assert_eq!(signed_out.headers()["location"], "/");
    let gone = get_profile(&client, &demo).await;
    assert_eq!(gone.status(), StatusCode::SEE_OTHER);

    // A second login whose callback parameters arrive as a form POST (the form_post shape)
    // at the same route.
    let authorize = follow(
        &client,
        &format!(
            "{}/sso/oidc/globex-oidc/login?login_hint=bob&return_to=%2Fprofile",
            demo.served.base
        ),
    )
    .await;
    let callback = sign_in_at_provider(&authorize, &redirect_uri).await;
    let done = client
        .post(&redirect_uri)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(callback.query().unwrap_or_default().to_owned())
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    let page = profile_text(&client, &demo).await;
    assert!(
        page.contains("&quot;email&quot;: &quot;bob@example.com&quot;"),
        "{page}"
    );
    demo.stop().await;
}

fn demo_issuer(demo: &Demo) -> String {
    demo._op
        .as_ref()
        .map(|op| op.issuer.clone())
        .unwrap_or_default()
}

async fn scim(
    client: &reqwest::Client,
    demo: &Demo,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = client
        .request(method, format!("{}/scim/v2{path}", demo.served.base))
        .bearer_auth(token)
        .header("content-type", "application/scim+json");
    if let Some(b) = body {
        request = request.body(b.to_string());
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entra_and_okta_shaped_provisioning_shows_on_the_admin_page_and_token_rotates() {
    use reqwest::Method;
    let demo = Demo::start(false).await;
    let client = browser();
    const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
    const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
    const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

    // Entra: probe by filter, create, then PATCH replace with capitalized op names.
    let (status, list) = scim(
        &client,
        &demo,
        SCIM_TOKEN,
        Method::GET,
        "/Users?filter=userName%20eq%20%22adele%40acme.test%22",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["totalResults"], 0);
    let (status, adele) = scim(
        &client,
        &demo,
        SCIM_TOKEN,
        Method::POST,
        "/Users",
        Some(json!({
            "schemas": [USER], "externalId": "entra-1", "userName": "adele@acme.test",
            "active": true, "displayName": "Adele Vance",
            "name": {"givenName": "Adele", "familyName": "Vance"},
            "emails": [{"primary": true, "type": "work", "value": "adele@acme.test"}],
        })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{adele}");
    let adele_id = adele["id"].as_str().unwrap().to_owned();
    let (status, patched) = scim(
        &client,
        &demo,
        SCIM_TOKEN,
        Method::PATCH,
        &format!("/Users/{adele_id}"),
        Some(json!({
            "schemas": [PATCH],
            "Operations": [{"op": "Replace", "path": "displayName", "value": "Adele V."}],
        })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["displayName"], "Adele V.");

    // Okta: create a user, a group with it as member, then deactivate with PATCH active.
    let (status, okta) = scim(
        &client,
        &demo,
        SCIM_TOKEN,
        Method::POST,
        "/Users",
        Some(json!({
            "schemas": [USER], "userName": "isaac@acme.test",
            "name": {"givenName": "Isaac", "familyName": "Brock"},
            "emails": [{"primary": true, "value": "isaac@acme.test", "type": "work"}],
            "active": true,
        })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{okta}");
    let isaac_id = okta["id"].as_str().unwrap().to_owned();
    let (status, group) = scim(
        &client,
        &demo,
        SCIM_TOKEN,
        Method::POST,
        "/Groups",
        Some(json!({
            "schemas": [GROUP], "displayName": "Engineering",
            "members": [{"value": isaac_id}, {"value": adele_id}],
        })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{group}");
    let (status, deactivated) = scim(
        &client,
        &demo,
        SCIM_TOKEN,
        Method::PATCH,
        &format!("/Users/{isaac_id}"),
        Some(json!({
            "schemas": [PATCH],
            "Operations": [{"op": "replace", "value": {"active": false}}],
        })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{deactivated}");
    assert_eq!(deactivated["active"], false);

    let admin = client
        .get(format!("{}/admin/acme", demo.served.base))
        .send()
        .await
        .unwrap();
    assert_eq!(admin.status(), StatusCode::OK);
    let admin = admin.text().await.unwrap();
    assert!(
        admin.contains("<li><code>adele@acme.test</code></li>"),
        "{admin}"
    );
    assert!(
        admin.contains("<li><code>isaac@acme.test</code> (inactive)</li>"),
        "{admin}"
    );
    assert!(
        admin.contains("<li><code>Engineering</code> (2 members)</li>"),
        "{admin}"
    );
    // What the IdP administrator enters.
    assert!(
        admin.contains(&format!(
            "entity ID: <code>{}/sso/saml/acme-saml/metadata</code>",
            demo.served.base
        )),
        "{admin}"
    );
    assert!(
        admin.contains(&format!(
            "ACS URL (HTTP-POST): <code>{}/sso/saml/acme-saml/acs</code>",
            demo.served.base
        )),
        "{admin}"
    );
    assert!(
        admin.contains(&format!(
            "Single Logout URL (Redirect, POST): <code>{}/sso/saml/acme-saml/slo</code>",
            demo.served.base
        )),
        "{admin}"
    );
    assert!(
        admin.contains(&format!(
            "SCIM base URL: <code>{}/scim/v2</code>",
            demo.served.base
        )),
        "{admin}"
    );
    assert!(!admin.contains("new-token"));

    // Rotation: the new token is shown once and works; the old one stops working.
    let rotated = client
        .post(format!("{}/admin/acme/scim-token", demo.served.base))
        .send()
        .await
        .unwrap();
    assert_eq!(rotated.status(), StatusCode::OK);
    let rotated = rotated.text().await.unwrap();
    let start = rotated.find("<code id=\"new-token\">").unwrap() + "<code id=\"new-token\">".len();
    let token = &rotated[start..start + rotated[start..].find('<').unwrap()];
    assert!(token.len() > 20, "{token}");
    let (status, _) = scim(&client, &demo, SCIM_TOKEN, Method::GET, "/Users", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, list) = scim(&client, &demo, token, Method::GET, "/Users", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["totalResults"], 2);
    let again = client
        .get(format!("{}/admin/acme", demo.served.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!again.contains(token));
    demo.stop().await;
}

/// An OIDC login of `account` through the demo's routes, to the subject the profile page
/// shows.
async fn oidc_login(demo: &Demo, account: &str) -> String {
    let client = browser();
    let authorize = follow(
        &client,
        &format!(
            "{}/sso/oidc/globex-oidc/login?login_hint={account}&return_to=%2Fprofile",
            demo.served.base
        ),
    )
    .await;
    let redirect_uri = format!("{}/sso/oidc/globex-oidc/callback", demo.served.base);
    let callback = sign_in_at_provider(&authorize, &redirect_uri)
        .await
        .to_string();
    finish_at_profile(&client, &callback).await;
    let page = profile_text(&client, demo).await;
    let marker = "&quot;subject&quot;: &quot;";
    let start = page.find(marker).unwrap_or_else(|| panic!("{page}")) + marker.len();
    page[start..start + page[start..].find('&').unwrap()].to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidc_login_through_the_demo_still_works_after_the_provider_rotates_its_keys() {
    let mut demo = Demo::start(true).await;
    let issuer = demo_issuer(&demo);
    let before = provider_kids(&issuer).await;
    assert_eq!(oidc_login(&demo, "alice").await, "alice");

    // Same issuer and port, all signing keys new: the demo has the old JWKS cached.
    let op = demo._op.as_mut().unwrap();
    tokio::task::block_in_place(|| op.restart_with_new_keys());
    assert_eq!(demo_issuer(&demo), issuer);
    let after = provider_kids(&issuer).await;
    assert!(!after.is_empty());
    assert!(
        after.iter().all(|k| !before.contains(k)),
        "{before:?} {after:?}"
    );

    // The ID token is now signed with a key the cached JWKS does not have.
    assert_eq!(oidc_login(&demo, "bob").await, "bob");
    demo.stop().await;
}
