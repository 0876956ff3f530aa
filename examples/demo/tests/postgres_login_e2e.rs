//! The demo's sign-in flows on Postgres (`GATEHOUSE_POSTGRES_URL`, started by `scripts/test`
//! through `scripts/postgres`; a missing server fails the test): a SAML login with pysaml2 as
//! the IdP and an OpenID Connect login against the real oidc-provider, each shown on the
//! profile page, then a restart of the demo on the same database, where the SCIM-provisioned
//! user, the rotated SCIM token and both connections are still there. Every run uses a new
//! database of its own on that server.

mod common;
#[path = "../../../crates/oidc-rp/tests/common/mod.rs"]
mod oidc_common;
#[path = "../../../crates/sso-axum/tests/common/pysaml2.rs"]
mod pysaml2;
#[path = "../../../crates/saml-sp/tests/common/mod.rs"]
mod saml_common;

use std::net::SocketAddr;

use base64::Engine as _;
use common::{Served, browser};
use gatehouse_demo::DemoConfig;
use oidc_common::{Browser, Landing, OpenIdProvider};
use reqwest::StatusCode;
use saml_common::Identity;
use serde_json::{Value, json};

const IDP: &str = "https://idp.acme.test/saml";
const SSO: &str = "https://idp.acme.test/sso";
const SCIM_TOKEN: &str = "pg-e2e-acme-scim-token";
const OIDC_SECRET: &str = "a-client-secret-long-enough-for-hs256-0123456789abcdef0123456789";

/// A new, empty database on the server of `GATEHOUSE_POSTGRES_URL`, and its URL.
async fn fresh_postgres_url() -> String {
    let url = std::env::var("GATEHOUSE_POSTGRES_URL").unwrap_or_else(|_| {
        panic!(
            "GATEHOUSE_POSTGRES_URL must point to a Postgres server: run the tests through \
             scripts/test, or `eval \"$(scripts/postgres start)\"` first"
        )
    });
    let name = format!("gh_demo_{}", uuid::Uuid::new_v4().simple());
    let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("connect to {url}: {e}"));
    sqlx::Executor::execute(&mut admin, format!("CREATE DATABASE {name}").as_str())
        .await
        .unwrap_or_else(|e| panic!("create database {name}: {e}"));
    let base = url.rsplit_once('/').map_or(url.as_str(), |(b, _)| b);
    format!("{base}/{name}")
}

/// The demo configuration: acme (SAML via pysaml2, domain acme.test, a SCIM directory) and
/// globex (the oidc-provider at `issuer`, domain example.com).
fn config(idp: &Identity, issuer: &str) -> DemoConfig {
    let toml = format!(
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
idp_certificate = '''{pem}'''
attributes = {{ email = "urn:oid:0.9.2342.19200300.100.1.3", given_name = "urn:oid:2.5.4.42", family_name = "urn:oid:2.5.4.4", groups = "urn:oid:1.3.6.1.4.1.5923.1.1.1.1", display_name = "urn:oid:2.16.840.1.113730.3.1.241" }}

[[organizations]]
id = "globex"
name = "Globex Corporation"
domains = ["example.com"]
[organizations.scim]
directory_id = "globex-directory"
token = "pg-e2e-globex-scim-token"
[[organizations.connections]]
id = "globex-oidc"
name = "Globex oidc-provider"
protocol = "oidc"
issuer = "{issuer}"
client_id = "gatehouse-demo"
client_secret = "{OIDC_SECRET}"
"#,
        pem = idp.cert_pem()
    );
    DemoConfig::from_toml(&toml).unwrap_or_else(|e| panic!("demo configuration: {e}"))
}

/// The demo served in-process on `addr` over the database at `url`.
async fn serve(addr: SocketAddr, config: DemoConfig, url: &str) -> Served {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .unwrap_or_else(|e| panic!("bind {addr}: {e}"));
    Served::start_on(listener, format!("http://{addr}"), config, url).await
}

async fn get_text(client: &reqwest::Client, url: &str) -> (StatusCode, String) {
    let response = client
        .get(url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let status = response.status();
    (status, response.text().await.unwrap_or_default())
}

/// GETs `url` and returns the absolute target of its 303.
async fn follow(client: &reqwest::Client, url: &str) -> String {
    let response = client
        .get(url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "GET {url}");
    let location = response.headers()["location"]
        .to_str()
        .unwrap_or_default()
        .to_owned();
    response
        .url()
        .join(&location)
        .unwrap_or_else(|e| panic!("{location}: {e}"))
        .to_string()
}

/// An SP-initiated SAML login of `email` through discovery, answered by pysaml2; returns the
/// profile page.
async fn saml_login(demo: &Served, idp: &Identity, email: &str) -> String {
    let client = browser();
    let login = follow(
        &client,
        &format!(
            "{}/sso/login?email={}&return_to=%2Fprofile",
            demo.base,
            email.replace('@', "%40")
        ),
    )
    .await;
    assert!(
        login.starts_with(&format!("{}/sso/saml/acme-saml/login?", demo.base)),
        "{login}"
    );
    let idp_url = follow(&client, &login).await;
    assert!(
        idp_url.starts_with(&format!("{SSO}?SAMLRequest=")),
        "{idp_url}"
    );
    let relay = url::Url::parse(&idp_url)
        .unwrap_or_else(|e| panic!("{idp_url}: {e}"))
        .query_pairs()
        .find(|(k, _)| k == "RelayState")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("no RelayState in {idp_url}"));
    let answer = pysaml2::pysaml2(&json!({
        "key": idp.key_path, "cert": idp.cert_path, "idp": IDP, "sso_url": SSO,
        "sp": format!("{}/sso/saml/acme-saml/metadata", demo.base),
        "acs": format!("{}/sso/saml/acme-saml/acs", demo.base),
        "sp_cert": null, "redirect_url": idp_url,
        "name_id": email, "identity": pysaml2::identity(email), "place": "assertion",
    }));
    let response = client
        .post(format!("{}/sso/saml/acme-saml/acs", demo.base))
        .form(&[
            (
                "SAMLResponse",
                base64::engine::general_purpose::STANDARD.encode(&answer.response_xml),
            ),
            ("RelayState", relay),
        ])
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST ACS: {e}"));
    let status = response.status();
    let location = response
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap_or_default().to_owned());
    assert_eq!(
        status,
        StatusCode::SEE_OTHER,
        "{}",
        response.text().await.unwrap_or_default()
    );
    assert_eq!(location.as_deref(), Some("/profile"));
    let (status, page) = get_text(&client, &format!("{}/profile", demo.base)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page
}

/// An OIDC login of `account` at the oidc-provider through discovery; returns the profile
/// page.
async fn oidc_login(demo: &Served, account: &str) -> String {
    let client = browser();
    let login = follow(
        &client,
        &format!(
            "{}/sso/login?email={account}%40example.com&return_to=%2Fprofile",
            demo.base
        ),
    )
    .await;
    assert!(
        login.starts_with(&format!("{}/sso/oidc/globex-oidc/login?", demo.base)),
        "{login}"
    );
    // The provider signs in the account named by login_hint.
    let authorize = follow(
        &client,
        &format!(
            "{}/sso/oidc/globex-oidc/login?login_hint={account}&return_to=%2Fprofile",
            demo.base
        ),
    )
    .await;
    let redirect_uri = format!("{}/sso/oidc/globex-oidc/callback", demo.base);
    let callback = match Browser::new().navigate(&authorize, &redirect_uri).await {
        Landing::Redirect(url) => url.to_string(),
        Landing::Form(form) => panic!("unexpected form {form:?}"),
    };
    let done = client
        .get(&callback)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {callback}: {e}"));
    let status = done.status();
    let location = done
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap_or_default().to_owned());
    assert_eq!(
        status,
        StatusCode::SEE_OTHER,
        "{}",
        done.text().await.unwrap_or_default()
    );
    assert_eq!(location.as_deref(), Some("/profile"));
    let (status, page) = get_text(&client, &format!("{}/profile", demo.base)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page
}

async fn scim_users(demo: &Served, token: &str, body: Option<Value>) -> (StatusCode, Value) {
    let client = reqwest::Client::new();
    let url = format!("{}/scim/v2/Users", demo.base);
    let request = match body {
        Some(b) => client
            .post(&url)
            .header("content-type", "application/scim+json")
            .body(b.to_string()),
        None => client.get(&url),
    };
    let response = request
        .bearer_auth(token)
        .send()
        .await
        .unwrap_or_else(|e| panic!("SCIM {url}: {e}"));
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn assert_saml_profile(page: &str, email: &str) {
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
        page.contains(&format!("&quot;email&quot;: &quot;{email}&quot;")),
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
}

fn assert_oidc_profile(page: &str, account: &str) {
    assert!(
        page.contains("(<code id=\"organization\">globex</code>)"),
        "{page}"
    );
    assert!(
        page.contains("(<code id=\"connection\">globex-oidc</code>)"),
        "{page}"
    );
    assert!(
        page.contains(&format!("&quot;subject&quot;: &quot;{account}&quot;")),
        "{page}"
    );
    assert!(
        page.contains(&format!(
            "&quot;email&quot;: &quot;{account}@example.com&quot;"
        )),
        "{page}"
    );
    assert!(
        page.contains("&quot;aud&quot;: &quot;gatehouse-demo&quot;"),
        "{page}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saml_and_oidc_logins_on_postgres_and_provisioning_survives_a_restart() {
    let url = fresh_postgres_url().await;
    assert!(url.starts_with("postgres"), "{url}");
    // The port is fixed for both runs: the provider knows one redirect URI.
    let addr = {
        let probe = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("bind: {e}"));
        probe
            .local_addr()
            .unwrap_or_else(|e| panic!("address: {e}"))
    };
    let idp = Identity::rsa(2048, "pysaml2 idp");
    let op = OpenIdProvider::start(
        json!([{
            "client_id": "gatehouse-demo",
            "client_secret": OIDC_SECRET,
            "redirect_uris": [format!("http://{addr}/sso/oidc/globex-oidc/callback")],
            "grant_types": ["authorization_code"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "client_secret_basic",
            "id_token_signed_response_alg": "RS256",
        }]),
        0,
    );

    let demo = serve(addr, config(&idp, &op.issuer), &url).await;
    assert_saml_profile(
        &saml_login(&demo, &idp, "bjensen@acme.test").await,
        "bjensen@acme.test",
    );
    assert_oidc_profile(&oidc_login(&demo, "alice").await, "alice");

    // SCIM provisioning into acme's directory, then a token rotation.
    let (status, created) = scim_users(
        &demo,
        SCIM_TOKEN,
        Some(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "adele@acme.test", "active": true, "displayName": "Adele Vance",
        })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let adele_id = created["id"].as_str().unwrap_or_default().to_owned();
    assert!(!adele_id.is_empty(), "{created}");
    let rotated = reqwest::Client::new()
        .post(format!("{}/admin/acme/scim-token", demo.base))
        .send()
        .await
        .unwrap_or_else(|e| panic!("rotate: {e}"));
    assert_eq!(rotated.status(), StatusCode::OK);
    let rotated = rotated.text().await.unwrap_or_default();
    let marker = "<code id=\"new-token\">";
    let start = rotated
        .find(marker)
        .unwrap_or_else(|| panic!("no new token in {rotated}"))
        + marker.len();
    let token = rotated[start..start + rotated[start..].find('<').unwrap_or(0)].to_owned();
    assert!(token.len() > 20, "{token}");
    demo.stop().await;

    // The same database, a new process state: sessions are gone, what was stored is not.
    let demo = serve(addr, config(&idp, &op.issuer), &url).await;
    let (status, _) = get_text(&browser(), &format!("{}/profile", demo.base)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, admin) = get_text(&browser(), &format!("{}/admin/acme", demo.base)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        admin.contains("<li><code>adele@acme.test</code></li>"),
        "{admin}"
    );
    assert!(
        admin.contains("<li><b>Acme pysaml2</b> (<code>acme-saml</code>): SAML."),
        "{admin}"
    );
    let (status, admin) = get_text(&browser(), &format!("{}/admin/globex", demo.base)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        admin.contains(&format!(
            "<li><b>Globex oidc-provider</b> (<code>globex-oidc</code>): OpenID Connect, \
             issuer <code>{}</code>",
            op.issuer
        )),
        "{admin}"
    );
    // The rotated token still opens the directory; the configured one, replaced before
    // the restart, does not come back.
    let (status, list) = scim_users(&demo, &token, None).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["totalResults"], 1, "{list}");
    assert_eq!(list["Resources"][0]["id"], adele_id.as_str(), "{list}");
    let (status, _) = scim_users(&demo, SCIM_TOKEN, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Both connections sign in again after the restart.
    assert_saml_profile(
        &saml_login(&demo, &idp, "bjensen@acme.test").await,
        "bjensen@acme.test",
    );
    assert_oidc_profile(&oidc_login(&demo, "bob").await, "bob");
    demo.stop().await;
}
