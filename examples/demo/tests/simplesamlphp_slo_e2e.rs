//! SAML Single Logout between the demo and a real SimpleSAMLphp IdP (tests/peers), both
//! directions, through the demo's own routes: "Sign out" (`POST /logout`) sends a signed
//! LogoutRequest to SimpleSAMLphp's SingleLogoutService.php, whose signed LogoutResponse
//! comes back to `/sso/saml/{connection}/slo`; and a logout started at SimpleSAMLphp sends
//! a signed LogoutRequest to the same route, which the demo answers with a signed
//! LogoutResponse that SimpleSAMLphp validates against the certificate of the demo's SP
//! metadata. SimpleSAMLphp is configured to sign (`sign.logout`, `redirect.sign`) and to
//! check (`validate.logout`, `redirect.validate`) logout messages; with another certificate
//! in its entry for the SP it refuses the demo's LogoutRequest. A missing peer fails.

#[path = "peers/simplesamlphp.rs"]
mod simplesamlphp;

use gatehouse_demo::DemoConfig;
use reqwest::StatusCode;
use serde_json::json;
use simplesamlphp::SimpleSamlPhp;
use tokio::sync::oneshot;

const EMAIL_FORMAT: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";

/// The demo served in-process on a loopback port, with one SAML connection `ssp`.
struct Demo {
    base: String,
    _dir: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Demo {
    async fn start(connection: &str) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let toml = format!(
            "[[organizations]]\nid = \"acme\"\nname = \"Acme Corporation\"\ndomains = [\"acme.test\"]\n[organizations.scim]\ndirectory_id = \"acme-directory\"\ntoken = \"e2e-acme-scim-token\"\n[[organizations.connections]]\n{connection}\n"
        );
        let config = DemoConfig::from_toml(&toml).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let store = gatehouse_demo::open_database(&format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("demo.db").display()
        ))
        .await
        .unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(gatehouse_demo::serve_with_shutdown(
            config,
            store,
            listener,
            async move {
                let _ = stopped.await;
            },
        ));
        Self {
            base,
            _dir: dir,
            stop: Some(stop),
            task: Some(task),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            t.await.unwrap().unwrap();
        }
    }
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The `value` of `<input ... name="{name}" ... value="...">` in `html`.
fn input_value(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("name=\"{name}\""))?;
    let tag_start = html[..at].rfind('<')?;
    let tag_end = at + html[at..].find('>')?;
    let tag = &html[tag_start..tag_end];
    let v = tag.find("value=\"")? + "value=\"".len();
    let len = tag[v..].find('"')?;
    Some(
        tag[v..v + len]
            .replace("&quot;", "\"")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

/// The `action` of the first form in `html`.
fn form_action(html: &str) -> Option<String> {
    let start = html.find("<form")?;
    let tag = &html[start..start + html[start..].find('>')?];
    let a = tag.find("action=\"")? + "action=\"".len();
    let len = tag[a..].find('"')?;
    Some(tag[a..a + len].replace("&amp;", "&"))
}

/// Follows redirects (GETs), recording every URL visited; returns the final response.
async fn follow(
    client: &reqwest::Client,
    mut response: reqwest::Response,
    visited: &mut Vec<String>,
) -> reqwest::Response {
    for _ in 0..15 {
        visited.push(response.url().to_string());
        if !response.status().is_redirection() {
            return response;
        }
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        let next = response.url().join(&location).unwrap();
        response = client.get(next).send().await.unwrap();
    }
    panic!("too many redirects: {visited:?}");
}

/// SimpleSAMLphp and the demo, configured from each other's metadata, with Single Logout
/// on: the demo's connection names SimpleSAMLphp's SingleLogoutService.php as
/// `idp_slo_url` and has its own SP key pair (its certificate in the SP metadata, where
/// SimpleSAMLphp's metadata parser picks it up to check our logout signatures).
/// `wrong_sp_certificate` replaces that certificate in SimpleSAMLphp's entry with another
/// key's.
async fn slo_pair(wrong_sp_certificate: bool) -> (SimpleSamlPhp, Demo) {
    let idp = SimpleSamlPhp::start(&json!({
        "mail": ["bjensen@acme.test"],
        "givenName": ["Barbara"],
        "sn": ["Jensen"],
    }));
    let idp_metadata = reqwest::get(idp.entity_id()).await.unwrap();
    assert_eq!(
        idp_metadata.status(),
        StatusCode::OK,
        "{}",
        idp.server_log()
    );
    let idp_metadata = idp_metadata.text().await.unwrap();
    // The hosted IdP publishes its SingleLogoutService.
    assert!(
        idp_metadata.contains(&format!("Location=\"{}\"", idp.slo_url())),
        "{idp_metadata}"
    );
    let (cert, key) = simplesamlphp::key_pair("gatehouse demo sp");
    let demo = Demo::start(&format!(
        "id = \"ssp\"\nname = \"Acme SimpleSAMLphp\"\nprotocol = \"saml\"\nidp_metadata = '''{idp_metadata}'''\nidp_slo_url = \"{}\"\nsp_certificate = '''{cert}'''\nsp_private_key = '''{key}'''\nattributes = {{ email = \"mail\", given_name = \"givenName\", family_name = \"sn\" }}\n",
        idp.slo_url()
    ))
    .await;
    let sp_metadata = reqwest::get(demo.url("/sso/saml/ssp/metadata"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let pem_body =
        |pem: &str| -> String { pem.lines().filter(|l| !l.starts_with("-----")).collect() };
    let mut extra = json!({
        "NameIDFormat": EMAIL_FORMAT,
        "simplesaml.nameidattribute": "mail",
        "saml20.sign.assertion": true,
        "sign.logout": true,
        "redirect.sign": true,
        "validate.logout": true,
        "redirect.validate": true,
    });
    if wrong_sp_certificate {
        let (other_cert, _) = simplesamlphp::key_pair("not the demo sp");
        extra["keys"] = json!([{
            "type": "X509Certificate",
            "signing": true,
            "encryption": false,
            "X509Certificate": pem_body(&other_cert),
        }]);
    }
    let converted = idp.register_sp(&sp_metadata, &extra);
    // SimpleSAMLphp learned our SLO endpoint and our signing certificate from the metadata.
    assert!(
        converted.contains(&demo.url("/sso/saml/ssp/slo")),
        "{converted}"
    );
    assert_eq!(
        converted.contains(&pem_body(&cert)),
        !wrong_sp_certificate,
        "{converted}"
    );
    (idp, demo)
}

/// Logs in at SimpleSAMLphp through the demo; `expect_password` says whether SimpleSAMLphp
/// must ask for the password (no IdP session) or answer at once (an IdP session).
async fn login(client: &reqwest::Client, idp: &SimpleSamlPhp, demo: &Demo, expect_password: bool) {
    let start = client
        .get(demo.url("/sso/saml/ssp/login?return_to=%2Fprofile"))
        .send()
        .await
        .unwrap();
    let mut visited = Vec::new();
    let page = follow(client, start, &mut visited).await;
    let page_url = page.url().clone();
    let mut html = page.text().await.unwrap();
    let at_login_page = page_url
        .as_str()
        .starts_with(&format!("{}module.php/core/loginuserpass.php", idp.base));
    assert_eq!(
        at_login_page,
        expect_password,
        "{page_url}: {html}\n{}",
        idp.server_log()
    );
    if at_login_page {
        let auth_state = input_value(&html, "AuthState").expect("AuthState");
        let mut post_to = page_url.clone();
        post_to.set_query(None);
        let answer = client
            .post(post_to)
            .form(&[
                ("username", simplesamlphp::USERNAME),
                ("password", idp.password.as_str()),
                ("AuthState", auth_state.as_str()),
            ])
            .send()
            .await
            .unwrap();
        html = follow(client, answer, &mut visited)
            .await
            .text()
            .await
            .unwrap();
    }
    let saml_response = input_value(&html, "SAMLResponse")
        .unwrap_or_else(|| panic!("no SAMLResponse: {html}\n{}", idp.server_log()));
    assert_eq!(
        form_action(&html).as_deref(),
        Some(demo.url("/sso/saml/ssp/acs").as_str())
    );
    let mut fields = vec![("SAMLResponse", saml_response)];
    if let Some(relay) = input_value(&html, "RelayState") {
        fields.push(("RelayState", relay));
    }
    let done = client
        .post(demo.url("/sso/saml/ssp/acs"))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_eq!(done.headers()["location"], "/profile");
    let profile = client.get(demo.url("/profile")).send().await.unwrap();
    assert_eq!(profile.status(), StatusCode::OK);
    let profile = profile.text().await.unwrap();
    assert!(
        profile.contains("&quot;subject&quot;: &quot;bjensen@acme.test&quot;"),
        "{profile}"
    );
}

async fn assert_signed_out(client: &reqwest::Client, demo: &Demo) {
    let profile = client.get(demo.url("/profile")).send().await.unwrap();
    assert_eq!(profile.status(), StatusCode::SEE_OTHER);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simplesamlphp_sp_initiated_single_logout_ends_both_sessions() {
    let (idp, demo) = slo_pair(false).await;
    let client = browser();
    login(&client, &idp, &demo, true).await;
    // A second login while SimpleSAMLphp's session lives: no password asked.
    login(&client, &idp, &demo, false).await;

    let signed_out = client.post(demo.url("/logout")).send().await.unwrap();
    assert_eq!(signed_out.status(), StatusCode::SEE_OTHER);
    let to_idp = signed_out.headers()["location"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        to_idp.starts_with(&format!("{}?SAMLRequest=", idp.slo_url())),
        "{to_idp}"
    );
    // The Redirect binding's query signature.
    assert!(to_idp.contains("&Signature="), "{to_idp}");
    let mut visited = Vec::new();
    let start = client.get(&to_idp).send().await.unwrap();
    let end = follow(&client, start, &mut visited).await;
    // SimpleSAMLphp accepted the request and answered at our SLO endpoint, signed; the
    // demo took the LogoutResponse and sent the browser home.
    let response_at_slo = visited
        .iter()
        .find(|u| u.starts_with(&demo.url("/sso/saml/ssp/slo?SAMLResponse=")))
        .unwrap_or_else(|| panic!("{visited:?}\n{}", idp.server_log()));
    assert!(response_at_slo.contains("&Signature="), "{response_at_slo}");
    assert_eq!(end.status(), StatusCode::OK, "{visited:?}");
    assert_eq!(end.url().as_str(), demo.url("/"), "{visited:?}");
    assert_signed_out(&client, &demo).await;
    // SimpleSAMLphp's session ended too: the next login asks for the password again.
    login(&client, &idp, &demo, true).await;
    demo.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simplesamlphp_idp_initiated_single_logout_ends_the_demo_session() {
    let (idp, demo) = slo_pair(false).await;
    let client = browser();
    login(&client, &idp, &demo, true).await;

    let return_to = demo.url("/");
    idp.trust_host(demo.base.trim_start_matches("http://"));
    let mut start = url::Url::parse(&idp.slo_url()).unwrap();
    start.query_pairs_mut().append_pair("ReturnTo", &return_to);
    let mut visited = Vec::new();
    let first = client.get(start).send().await.unwrap();
    let end = follow(&client, first, &mut visited).await;
    // SimpleSAMLphp sent a signed LogoutRequest to our SLO endpoint ...
    let request_at_slo = visited
        .iter()
        .find(|u| u.starts_with(&demo.url("/sso/saml/ssp/slo?SAMLRequest=")))
        .unwrap_or_else(|| panic!("{visited:?}\n{}", idp.server_log()));
    assert!(request_at_slo.contains("&Signature="), "{request_at_slo}");
    // ... the demo answered with a signed LogoutResponse to SimpleSAMLphp's service ...
    let response_at_idp = visited
        .iter()
        .find(|u| u.starts_with(&format!("{}?SAMLResponse=", idp.slo_url())))
        .unwrap_or_else(|| panic!("{visited:?}"));
    assert!(response_at_idp.contains("&Signature="), "{response_at_idp}");
    // ... which SimpleSAMLphp accepted, finishing at ReturnTo.
    assert_eq!(
        end.url().as_str(),
        return_to,
        "{visited:?}\n{}",
        idp.server_log()
    );
    assert_eq!(end.status(), StatusCode::OK);
    assert_signed_out(&client, &demo).await;
    let log = idp.server_log();
    assert!(!log.contains("Unable to validate"), "{log}");
    // Both sessions are gone: a new login asks for the password.
    login(&client, &idp, &demo, true).await;
    demo.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simplesamlphp_refuses_a_logout_request_signed_by_another_key() {
    // SimpleSAMLphp knows the SP by another certificate: the demo's signed LogoutRequest
    // fails its signature check, and no LogoutResponse comes back.
    let (idp, demo) = slo_pair(true).await;
    let client = browser();
    login(&client, &idp, &demo, true).await;
    let signed_out = client.post(demo.url("/logout")).send().await.unwrap();
    assert_eq!(signed_out.status(), StatusCode::SEE_OTHER);
    let to_idp = signed_out.headers()["location"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        to_idp.starts_with(&format!("{}?SAMLRequest=", idp.slo_url())),
        "{to_idp}"
    );
    // The demo's own session ends at "Sign out" whatever the IdP does.
    assert_signed_out(&client, &demo).await;
    let mut visited = Vec::new();
    let start = client.get(&to_idp).send().await.unwrap();
    let end = follow(&client, start, &mut visited).await;
    assert!(
        !visited.iter().any(|u| u.starts_with(&demo.url("/"))),
        "{visited:?}"
    );
    // SimpleSAMLphp's error page (served with 200), for the failed signature check.
    assert_eq!(visited.len(), 1, "{visited:?}");
    let page = end.text().await.unwrap();
    assert!(page.contains("Unhandled exception"), "{page}");
    let log = idp.server_log();
    assert!(
        log.contains("Unable to validate signature on query string"),
        "{log}"
    );
    // SimpleSAMLphp's session lives on: a new login asks no password.
    login(&client, &idp, &demo, false).await;
    demo.stop().await;
}
