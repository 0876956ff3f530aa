//! SAML end to end through the demo's own routes with two real IdPs started on loopback by
//! the test: SimpleSAMLphp (PHP's built-in server, its login form filled in by a
//! cookie-keeping HTTP client) and pysaml2. Metadata goes both ways: the IdP learns the SP
//! from `GET /sso/saml/{connection}/metadata` (SimpleSAMLphp through its own metadata
//! parser, pysaml2 by loading the XML) and the demo's connection is configured from the
//! IdP's metadata XML (`idp_metadata`). Both bindings of the AuthnRequest, signed and
//! encrypted assertions, a Response altered after signing, and IdP-initiated logins allowed
//! and refused. A missing peer (PHP, SimpleSAMLphp, the venv) fails the test.

mod common;
#[path = "../../../crates/sso-axum/tests/common/pysaml2.rs"]
mod pysaml2;
#[path = "peers/simplesamlphp.rs"]
mod simplesamlphp;

use base64::Engine as _;
use common::{Served, browser};
use reqwest::StatusCode;
use serde_json::{Value, json};
use simplesamlphp::SimpleSamlPhp;

const EMAIL_FORMAT: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";

/// The demo served in-process on a loopback port. Binds the port first, so that `connection`
/// (a TOML connection table of the `acme` organization, given the demo's base URL) can name
/// the demo's own URLs.
async fn start_demo(binding: &str, connection: impl FnOnce(&str) -> String) -> Served {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let toml = format!(
        r#"
saml_binding = "{binding}"
[[organizations]]
id = "acme"
name = "Acme Corporation"
domains = ["acme.test"]
[organizations.scim]
directory_id = "acme-directory"
token = "e2e-acme-scim-token"
[[organizations.connections]]
{}
"#,
        connection(&base)
    );
    Served::start(listener, base, &toml).await
}

/// Undoes the HTML escaping of an attribute value.
fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#039;", "'")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The value of `name="..."` inside one tag.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let needle = format!(" {name}=\"");
    let start = tag.find(&needle)? + needle.len();
    let len = tag[start..].find('"')?;
    Some(unescape(&tag[start..start + len]))
}

/// A page's first form: its action and its hidden inputs.
#[derive(Debug)]
struct Form {
    action: String,
    fields: Vec<(String, String)>,
}

impl Form {
    fn parse(html: &str) -> Option<Self> {
        let start = html.find("<form")?;
        let tag_end = start + html[start..].find('>')?;
        let action = attribute(&html[start..tag_end], "action").unwrap_or_default();
        let end = html[start..]
            .find("</form>")
            .map_or(html.len(), |e| start + e);
        let mut fields = Vec::new();
        let mut rest = &html[tag_end..end];
        while let Some(i) = rest.find("<input") {
            let tag_len = rest[i..].find('>').unwrap_or(rest.len() - i);
            let tag = rest[i..i + tag_len].replace('\n', " ");
            if attribute(&tag, "type").as_deref() == Some("hidden")
                && let Some(name) = attribute(&tag, "name")
            {
                fields.push((name, attribute(&tag, "value").unwrap_or_default()));
            }
            rest = &rest[i + tag_len..];
        }
        Some(Self { action, fields })
    }

    fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Follows redirects from `response` (GETs) until a page, returning its URL and body.
async fn settle(client: &reqwest::Client, mut response: reqwest::Response) -> (String, String) {
    for _ in 0..10 {
        if !response.status().is_redirection() {
            let url = response.url().to_string();
            let status = response.status();
            let body = response.text().await.unwrap();
            assert_eq!(status, StatusCode::OK, "{url}: {body}");
            return (url, body);
        }
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        let next = response.url().join(&location).unwrap();
        response = client.get(next).send().await.unwrap();
    }
    panic!("too many redirects");
}

/// At SimpleSAMLphp's login page (after `response`): signs in and returns the form the IdP
/// answers with (the SAMLResponse to post to the SP).
async fn sign_in_at_simplesamlphp(
    client: &reqwest::Client,
    idp: &SimpleSamlPhp,
    response: reqwest::Response,
) -> Form {
    let (page_url, page) = settle(client, response).await;
    assert!(
        page_url.starts_with(&format!("{}module.php/core/loginuserpass.php", idp.base)),
        "{page_url}: {page}\n{}",
        idp.server_log()
    );
    let login = Form::parse(&page).expect("the login form");
    let auth_state = login.field("AuthState").expect("AuthState").to_owned();
    let mut post_to = url::Url::parse(&page_url).unwrap();
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
    let (_, page) = settle(client, answer).await;
    let form = Form::parse(&page).unwrap_or_else(|| panic!("no form: {page}"));
    assert!(
        form.field("SAMLResponse").is_some(),
        "{page}\n{}",
        idp.server_log()
    );
    form
}

/// Posts an IdP's answer form to its action (the demo's ACS).
async fn post_form(client: &reqwest::Client, form: &Form) -> reqwest::Response {
    client
        .post(&form.action)
        .form(&form.fields)
        .send()
        .await
        .unwrap()
}

fn response_xml(form: &Form) -> String {
    String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(form.field("SAMLResponse").unwrap())
            .unwrap(),
    )
    .unwrap()
}

/// Asserts that `done` finished a login with a 303 to `/profile`.
async fn assert_sent_to_profile(done: reqwest::Response) {
    assert_eq!(
        done.status(),
        StatusCode::SEE_OTHER,
        "{}",
        done.text().await.unwrap()
    );
    assert_eq!(done.headers()["location"], "/profile");
}

/// Asserts that `done` is the 403 page naming `reason`, and that `client` got no session.
async fn assert_refused(
    client: &reqwest::Client,
    demo: &Served,
    done: reqwest::Response,
    reason: &str,
) {
    assert_eq!(done.status(), StatusCode::FORBIDDEN);
    let page = done.text().await.unwrap();
    assert!(page.contains(&format!("<code>{reason}</code>")), "{page}");
    let profile = client.get(demo.url("/profile")).send().await.unwrap();
    assert_eq!(profile.status(), StatusCode::SEE_OTHER);
}

/// The profile page after a finished login, with the organization, the connection, the
/// issuer and the user checked.
async fn assert_profile(client: &reqwest::Client, demo: &Served, connection: &str, issuer: &str) {
    let page = client.get(demo.url("/profile")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.unwrap();
    for expected in [
        "(<code id=\"organization\">acme</code>)".to_owned(),
        format!("(<code id=\"connection\">{connection}</code>)"),
        format!("&quot;issuer&quot;: &quot;{issuer}&quot;"),
        "&quot;subject&quot;: &quot;bjensen@acme.test&quot;".to_owned(),
        format!("&quot;subject_format&quot;: &quot;{EMAIL_FORMAT}&quot;"),
        "&quot;email&quot;: &quot;bjensen@acme.test&quot;".to_owned(),
        "&quot;given_name&quot;: &quot;Barbara&quot;".to_owned(),
        "&quot;family_name&quot;: &quot;Jensen&quot;".to_owned(),
        "&quot;display_name&quot;: &quot;Barbara Jensen&quot;".to_owned(),
        "&quot;staff&quot;".to_owned(),
    ] {
        assert!(page.contains(&expected), "{expected} not in {page}");
    }
}

/// The attributes both IdPs release for bjensen.
fn attributes() -> Value {
    json!({
        "mail": ["bjensen@acme.test"],
        "givenName": ["Barbara"],
        "sn": ["Jensen"],
        "displayName": ["Barbara Jensen"],
        "eduPersonAffiliation": ["staff", "member"],
    })
}

const SSP_MAPPING: &str = r#"attributes = { email = "mail", given_name = "givenName", family_name = "sn", groups = "eduPersonAffiliation", display_name = "displayName" }"#;

/// The connection options of an SP key pair (a fresh one) that requires encrypted
/// assertions, or none.
fn sp_keys(encrypted: bool) -> String {
    if encrypted {
        let (cert, key) = simplesamlphp::key_pair("gatehouse demo sp");
        format!(
            "sp_certificate = '''{cert}'''\nsp_private_key = '''{key}'''\nrequire_encrypted_assertions = true\n"
        )
    } else {
        String::new()
    }
}

/// The demo's SP metadata of `connection`, asserting that it offers an encryption key
/// exactly when `encrypted`.
async fn sp_metadata(demo: &Served, connection: &str, encrypted: bool) -> String {
    let response = reqwest::get(demo.url(&format!("/sso/saml/{connection}/metadata")))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let metadata = response.text().await.unwrap();
    assert_eq!(metadata.contains("use=\"encryption\""), encrypted);
    metadata
}

/// SimpleSAMLphp and the demo, each configured from the other's metadata. `encrypted`
/// gives the demo's connection an SP key pair (published in its metadata) and requires
/// encrypted assertions, and has SimpleSAMLphp encrypt them.
async fn simplesamlphp_pair(
    binding: &str,
    encrypted: bool,
    allow_idp_initiated: bool,
) -> (SimpleSamlPhp, Served, String) {
    let idp = SimpleSamlPhp::start(&attributes());
    let metadata = reqwest::get(idp.entity_id()).await.unwrap();
    assert_eq!(metadata.status(), StatusCode::OK, "{}", idp.server_log());
    let idp_metadata = metadata.text().await.unwrap();
    assert!(idp_metadata.contains("IDPSSODescriptor"), "{idp_metadata}");
    let sp_keys = sp_keys(encrypted);
    let demo = start_demo(binding, |_| {
        format!(
            "id = \"ssp\"\nname = \"Acme SimpleSAMLphp\"\nprotocol = \"saml\"\nidp_metadata = '''{idp_metadata}'''\nallow_idp_initiated = {allow_idp_initiated}\n{sp_keys}{SSP_MAPPING}\n"
        )
    })
    .await;
    let sp_metadata = sp_metadata(&demo, "ssp", encrypted).await;
    let converted = idp.register_sp(
        &sp_metadata,
        &json!({
            "NameIDFormat": EMAIL_FORMAT,
            "simplesaml.nameidattribute": "mail",
            "assertion.encryption": encrypted,
            "saml20.sign.assertion": true,
        }),
    );
    // SimpleSAMLphp read our ACS URL and entity id out of the metadata.
    assert!(
        converted.contains(&demo.url("/sso/saml/ssp/acs")),
        "{converted}"
    );
    assert!(
        converted.contains(&format!(
            "$metadata['{}']",
            demo.url("/sso/saml/ssp/metadata")
        )),
        "{converted}"
    );
    let sp_entity = demo.url("/sso/saml/ssp/metadata");
    (idp, demo, sp_entity)
}

/// An SP-initiated login at SimpleSAMLphp with `binding`; returns the Response XML.
async fn simplesamlphp_sp_initiated(
    client: &reqwest::Client,
    idp: &SimpleSamlPhp,
    demo: &Served,
    binding: &str,
) -> String {
    let start = client
        .get(demo.url("/sso/saml/ssp/login?return_to=%2Fprofile"))
        .send()
        .await
        .unwrap();
    let at_idp = match binding {
        "redirect" => {
            assert_eq!(start.status(), StatusCode::SEE_OTHER);
            let location = start.headers()["location"].to_str().unwrap().to_owned();
            assert!(
                location.starts_with(&format!("{}?SAMLRequest=", idp.sso_url())),
                "{location}"
            );
            client.get(location).send().await.unwrap()
        }
        _ => {
            assert_eq!(start.status(), StatusCode::OK);
            let form = Form::parse(&start.text().await.unwrap()).unwrap();
            assert_eq!(form.action, idp.sso_url());
            assert!(form.field("SAMLRequest").is_some(), "{form:?}");
            assert!(form.field("RelayState").is_some(), "{form:?}");
            post_form(client, &form).await
        }
    };
    let answer = sign_in_at_simplesamlphp(client, idp, at_idp).await;
    assert_eq!(answer.action, demo.url("/sso/saml/ssp/acs"));
    let xml = response_xml(&answer);
    assert!(xml.contains("InResponseTo=\""), "{xml}");
    let done = post_form(client, &answer).await;
    assert_sent_to_profile(done).await;
    xml
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simplesamlphp_redirect_binding_signed_assertion_from_exchanged_metadata() {
    let (idp, demo, _) = simplesamlphp_pair("redirect", false, false).await;
    let client = browser();
    let xml = simplesamlphp_sp_initiated(&client, &idp, &demo, "redirect").await;
    // A signed, unencrypted assertion.
    assert!(xml.contains(":Assertion "), "{xml}");
    assert!(!xml.contains("EncryptedAssertion"), "{xml}");
    assert!(xml.contains("SignatureValue"), "{xml}");
    assert_profile(&client, &demo, "ssp", &idp.entity_id()).await;
    demo.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simplesamlphp_post_binding_encrypted_assertion() {
    let (idp, demo, _) = simplesamlphp_pair("post", true, false).await;
    let client = browser();
    let xml = simplesamlphp_sp_initiated(&client, &idp, &demo, "post").await;
    // SimpleSAMLphp encrypted the assertion to the certificate of our metadata.
    assert!(xml.contains("EncryptedAssertion"), "{xml}");
    assert!(!xml.contains(":Assertion "), "{xml}");
    assert_profile(&client, &demo, "ssp", &idp.entity_id()).await;
    demo.stop().await;
}

/// An IdP-initiated login at SimpleSAMLphp; returns the demo's answer to the posted form.
async fn simplesamlphp_idp_initiated(
    client: &reqwest::Client,
    idp: &SimpleSamlPhp,
    sp_entity: &str,
) -> reqwest::Response {
    let mut start = url::Url::parse(&idp.sso_url()).unwrap();
    start
        .query_pairs_mut()
        .append_pair("spentityid", sp_entity)
        .append_pair("RelayState", "/profile");
    let at_idp = client.get(start).send().await.unwrap();
    let answer = sign_in_at_simplesamlphp(client, idp, at_idp).await;
    let xml = response_xml(&answer);
    assert!(!xml.contains("InResponseTo"), "{xml}");
    assert_eq!(answer.field("RelayState"), Some("/profile"));
    post_form(client, &answer).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simplesamlphp_idp_initiated_login_accepted_when_allowed() {
    let (idp, demo, sp_entity) = simplesamlphp_pair("redirect", false, true).await;
    let client = browser();
    let done = simplesamlphp_idp_initiated(&client, &idp, &sp_entity).await;
    assert_sent_to_profile(done).await;
    assert_profile(&client, &demo, "ssp", &idp.entity_id()).await;
    demo.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simplesamlphp_idp_initiated_login_refused_when_not_allowed() {
    let (idp, demo, sp_entity) = simplesamlphp_pair("redirect", false, false).await;
    let client = browser();
    let done = simplesamlphp_idp_initiated(&client, &idp, &sp_entity).await;
    // No login was started in this browser: the RelayState is no state of ours, and the
    // connection does not take it as an IdP's.
    assert_refused(&client, &demo, done, "login.browser_binding").await;
    demo.stop().await;
}

const PYSAML2_IDP: &str = "https://idp.pysaml2.test/saml";
const PYSAML2_SSO: &str = "https://idp.pysaml2.test/sso";
const PYSAML2_MAPPING: &str = r#"attributes = { email = "urn:oid:0.9.2342.19200300.100.1.3", given_name = "urn:oid:2.5.4.42", family_name = "urn:oid:2.5.4.4", groups = "urn:oid:1.3.6.1.4.1.5923.1.1.1.1", display_name = "urn:oid:2.16.840.1.113730.3.1.241" }"#;

/// pysaml2's IdP: a fresh key pair in a temporary directory.
struct Pysaml2Idp {
    dir: tempfile::TempDir,
}

impl Pysaml2Idp {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = simplesamlphp::key_pair("pysaml2 idp");
        std::fs::write(dir.path().join("idp.crt"), cert).unwrap();
        std::fs::write(dir.path().join("idp.key"), key).unwrap();
        Self { dir }
    }

    /// The script's configuration; `sp_metadata` is the SP's metadata XML as served.
    fn config(&self, sp_metadata: &str, acs: &str, sp: &str) -> Value {
        json!({
            "key": self.dir.path().join("idp.key"), "cert": self.dir.path().join("idp.crt"),
            "idp": PYSAML2_IDP, "sso_url": PYSAML2_SSO, "sp": sp, "acs": acs,
            "sp_cert": null, "redirect_url": null, "sp_metadata": sp_metadata,
            "name_id": "bjensen@acme.test", "identity": pysaml2::identity("bjensen@acme.test"),
            "place": "assertion",
        })
    }

    /// The IdP's metadata XML as pysaml2 writes it.
    fn metadata(&self) -> String {
        let root = pysaml2::workspace_root();
        let python = std::env::var_os("GATEHOUSE_VENV")
            .map_or_else(|| root.join(".venv"), std::path::PathBuf::from)
            .join("bin/python");
        assert!(
            python.exists(),
            "{} is missing; run scripts/setup",
            python.display()
        );
        let mut config = self.config("", "https://sp.invalid/acs", "https://sp.invalid/sp");
        config["sp_metadata"] = Value::Null;
        config["metadata_only"] = json!(true);
        let path = self.dir.path().join("metadata-config.json");
        std::fs::write(&path, config.to_string()).unwrap();
        let out = std::process::Command::new(python)
            .arg(root.join("crates/tenant-config/tests/python/pysaml2_sso.py"))
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        v["metadata"].as_str().unwrap().to_owned()
    }
}

async fn post_acs(
    client: &reqwest::Client,
    demo: &Served,
    xml: &str,
    relay: &str,
) -> reqwest::Response {
    client
        .post(demo.url("/sso/saml/py/acs"))
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

/// pysaml2 and the demo, each configured from the other's metadata; with `encrypted` the
/// demo's connection has an SP key pair and requires encrypted assertions.
async fn pysaml2_pair(
    binding: &str,
    encrypted: bool,
    allow_idp_initiated: bool,
) -> (Pysaml2Idp, Served, String) {
    let idp = Pysaml2Idp::new();
    let idp_metadata = idp.metadata();
    let sp_keys = sp_keys(encrypted);
    let demo = start_demo(binding, |_| {
        format!(
            "id = \"py\"\nname = \"Acme pysaml2\"\nprotocol = \"saml\"\nidp_metadata = '''{idp_metadata}'''\nallow_idp_initiated = {allow_idp_initiated}\n{sp_keys}{PYSAML2_MAPPING}\n"
        )
    })
    .await;
    let sp_metadata = sp_metadata(&demo, "py", encrypted).await;
    (idp, demo, sp_metadata)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pysaml2_post_binding_encrypted_assertion_from_exchanged_metadata() {
    let (idp, demo, sp_metadata) = pysaml2_pair("post", true, false).await;
    let client = browser();
    let start = client
        .get(demo.url("/sso/saml/py/login?return_to=%2Fprofile"))
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), StatusCode::OK);
    let form = Form::parse(&start.text().await.unwrap()).unwrap();
    // The POST endpoint of pysaml2's metadata.
    assert_eq!(form.action, PYSAML2_SSO);
    let relay = form.field("RelayState").unwrap().to_owned();
    let mut config = idp.config(
        &sp_metadata,
        &demo.url("/sso/saml/py/acs"),
        &demo.url("/sso/saml/py/metadata"),
    );
    config["post_request"] = json!({
        "SAMLRequest": form.field("SAMLRequest").unwrap(),
        "RelayState": relay,
    });
    config["encrypt"] = json!(true);
    let answer = pysaml2::pysaml2(&config);
    assert!(answer.request_id.is_some());
    let xml = &answer.response_xml;
    assert!(xml.contains("EncryptedAssertion"), "{xml}");
    assert!(!xml.contains(":Assertion "), "{xml}");
    let done = post_acs(&client, &demo, xml, &relay).await;
    assert_sent_to_profile(done).await;
    assert_profile(&client, &demo, "py", PYSAML2_IDP).await;
    demo.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pysaml2_unencrypted_assertion_refused_when_encryption_is_required() {
    let (idp, demo, sp_metadata) = pysaml2_pair("redirect", true, false).await;
    let client = browser();
    let start = client
        .get(demo.url("/sso/saml/py/login?return_to=%2Fprofile"))
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), StatusCode::SEE_OTHER);
    let location = start.headers()["location"].to_str().unwrap().to_owned();
    let relay = url::Url::parse(&location)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "RelayState")
        .unwrap()
        .1
        .into_owned();
    let mut config = idp.config(
        &sp_metadata,
        &demo.url("/sso/saml/py/acs"),
        &demo.url("/sso/saml/py/metadata"),
    );
    config["redirect_url"] = json!(location);
    let answer = pysaml2::pysaml2(&config);
    assert!(!answer.response_xml.contains("EncryptedAssertion"));
    let done = post_acs(&client, &demo, &answer.response_xml, &relay).await;
    assert_refused(&client, &demo, done, "saml.encryption.required").await;
    demo.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pysaml2_idp_initiated_login_accepted_when_allowed() {
    let (idp, demo, sp_metadata) = pysaml2_pair("redirect", false, true).await;
    let client = browser();
    let answer = pysaml2::pysaml2(&idp.config(
        &sp_metadata,
        &demo.url("/sso/saml/py/acs"),
        &demo.url("/sso/saml/py/metadata"),
    ));
    assert!(answer.request_id.is_none());
    assert!(!answer.response_xml.contains("InResponseTo"));
    let done = post_acs(&client, &demo, &answer.response_xml, "/profile").await;
    assert_sent_to_profile(done).await;
    assert_profile(&client, &demo, "py", PYSAML2_IDP).await;
    demo.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simplesamlphp_response_altered_after_signing_is_refused() {
    let (idp, demo, _) = simplesamlphp_pair("redirect", false, false).await;
    let client = browser();
    let start = client
        .get(demo.url("/sso/saml/ssp/login?return_to=%2Fprofile"))
        .send()
        .await
        .unwrap();
    let location = start.headers()["location"].to_str().unwrap().to_owned();
    let at_idp = client.get(location).send().await.unwrap();
    let mut answer = sign_in_at_simplesamlphp(&client, &idp, at_idp).await;
    // Another user's address in the signed assertion.
    let xml = response_xml(&answer).replace("bjensen@acme.test", "mallory@acme.test");
    assert!(xml.contains("mallory@acme.test"));
    for (name, value) in &mut answer.fields {
        if name == "SAMLResponse" {
            *value = base64::engine::general_purpose::STANDARD.encode(&xml);
        }
    }
    let done = post_form(&client, &answer).await;
    assert_refused(&client, &demo, done, "saml.signature.digest").await;
    demo.stop().await;
}
