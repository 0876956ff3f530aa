//! Logins against a real OpenID provider: the `oidc-provider` npm package, started on
//! loopback by these tests (tests/peers/oidc_provider.mjs).

mod common;

use std::sync::Arc;

use common::{Browser, Landing, OpenIdProvider, TestClock, http, jws_alg};
use oidc_rp::flow::{Login, UserInfo};
use oidc_rp::{
    Algorithm, AuthorizationOptions, ClientAuth, ClientConfig, Error, InMemoryLoginStateStore, Jwk,
    Provider, ProviderConfig, RelyingParty, ResponseMode, Secret, SigningKey, ValidationConfig,
};
use openssl::ec::{EcGroup, EcKey};
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private, Public};
use serde_json::{Value, json};

const REDIRECT: &str = "http://127.0.0.1:9/callback";
const SECRET: &str = "a-client-secret-long-enough-for-hs256-0123456789abcdef0123456789";

fn client_key() -> PKey<Private> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).expect("group");
    PKey::from_ec_key(EcKey::generate(&group).expect("key")).expect("pkey")
}

fn public_jwk(key: &PKey<Private>) -> Value {
    let der = key.public_key_to_der().expect("der");
    let public: PKey<Public> = PKey::public_key_from_der(&der).expect("public");
    serde_json::to_value(
        Jwk::from_public_key(&public, Some("rp-key-1"), Some(Algorithm::ES256)).expect("jwk"),
    )
    .expect("json")
}

fn client(id: &str, auth_method: &str, id_token_alg: &str) -> Value {
    json!({
        "client_id": id,
        "client_secret": SECRET,
        "redirect_uris": [REDIRECT],
        "post_logout_redirect_uris": ["http://127.0.0.1:9/logged-out"],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": auth_method,
        "id_token_signed_response_alg": id_token_alg,
    })
}

fn relying_party(
    op: &OpenIdProvider,
    clock: Arc<TestClock>,
    client_id: &str,
    auth: ClientAuth,
    configure: impl FnOnce(&mut ClientConfig, &mut ValidationConfig),
) -> RelyingParty {
    let provider =
        Provider::new(ProviderConfig::discover(&op.issuer), http(), clock).expect("provider");
    relying_party_at(Arc::new(provider), client_id, auth, configure)
}

fn relying_party_at(
    provider: Arc<Provider>,
    client_id: &str,
    auth: ClientAuth,
    configure: impl FnOnce(&mut ClientConfig, &mut ValidationConfig),
) -> RelyingParty {
    let mut client = ClientConfig::new(client_id, auth, REDIRECT);
    client.post_logout_redirect_uris = vec!["http://127.0.0.1:9/logged-out".into()];
    let mut validation = ValidationConfig::new(provider.issuer(), client_id);
    configure(&mut client, &mut validation);
    RelyingParty::new(
        provider,
        client,
        validation,
        Arc::new(InMemoryLoginStateStore::default()),
    )
    .expect("relying party")
}

async fn login(
    rp: &RelyingParty,
    browser: &Browser,
    options: &AuthorizationOptions,
) -> Result<Login, Error> {
    let request = rp.authorization_request(options).await?;
    let params = browser.authorize(request.url.as_str(), REDIRECT).await;
    rp.handle_callback(&params, Some(request.browser_binding.expose()))
        .await
}

fn hint(account: &str) -> AuthorizationOptions {
    AuthorizationOptions {
        login_hint: Some(account.into()),
        ..AuthorizationOptions::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn code_flow_with_each_signing_alg_and_client_auth_method() {
    let key = client_key();
    let mut pkjwt = client("es256-private-key-jwt", "private_key_jwt", "ES256");
    pkjwt["jwks"] = json!({ "keys": [public_jwk(&key)] });
    pkjwt["token_endpoint_auth_signing_alg"] = json!("ES256");
    let op = OpenIdProvider::start(
        json!([
            client("rs256-basic", "client_secret_basic", "RS256"),
            client("ps256-post", "client_secret_post", "PS256"),
            pkjwt,
            client("eddsa-basic", "client_secret_basic", "EdDSA"),
            client("hs256-post", "client_secret_post", "HS256"),
        ]),
        0,
    );
    let clock = Arc::new(TestClock::default());
    let cases: Vec<(&str, ClientAuth, &str)> = vec![
        (
            "rs256-basic",
            ClientAuth::ClientSecretBasic(Secret::new(SECRET)),
            "RS256",
        ),
        (
            "ps256-post",
            ClientAuth::ClientSecretPost(Secret::new(SECRET)),
            "PS256",
        ),
        (
            "es256-private-key-jwt",
            ClientAuth::PrivateKeyJwt {
                key: SigningKey(key.clone()),
                alg: Algorithm::ES256,
                kid: Some("rp-key-1".into()),
            },
            "ES256",
        ),
        (
            "eddsa-basic",
            ClientAuth::ClientSecretBasic(Secret::new(SECRET)),
            "EdDSA",
        ),
        (
            "hs256-post",
            ClientAuth::ClientSecretPost(Secret::new(SECRET)),
            "HS256",
        ),
    ];
    for (client_id, auth, alg) in cases {
        let rp = relying_party(&op, clock.clone(), client_id, auth, |_, v| {
            v.allow_hmac_with_client_secret = alg == "HS256";
        });
        let request = rp
            .authorization_request(&hint(&format!("alice-{alg}")))
            .await
            .expect("request");
        let query: Vec<(String, String)> = request.url.query_pairs().into_owned().collect();
        let get = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        assert_eq!(get("code_challenge_method").as_deref(), Some("S256"));
        assert_eq!(get("code_challenge").map(|c| c.len()), Some(43));
        assert_eq!(get("state").as_deref(), Some(request.state.as_str()));
        assert!(get("nonce").is_some_and(|n| n.len() >= 43));
        assert_eq!(get("scope").as_deref(), Some("openid"));

        let params = Browser::new()
            .authorize(request.url.as_str(), REDIRECT)
            .await;
        assert_eq!(
            params.get("iss"),
            Some(op.issuer.as_str()),
            "RFC 9207 iss is sent"
        );
        let login = rp
            .handle_callback(&params, Some(request.browser_binding.expose()))
            .await
            .unwrap_or_else(|e| panic!("{client_id}: {e}"));
        assert_eq!(login.claims.sub, format!("alice-{alg}"));
        assert_eq!(login.claims.iss, op.issuer);
        assert_eq!(login.claims.aud, vec![client_id.to_owned()]);
        let id_token = login.tokens.id_token.as_ref().expect("id_token");
        assert_eq!(jws_alg(id_token.expose()), alg, "{client_id}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hmac_id_token_rejected_unless_enabled() {
    let op = OpenIdProvider::start(
        json!([client("hs256-basic", "client_secret_basic", "HS256")]),
        0,
    );
    let rp = relying_party(
        &op,
        Arc::new(TestClock::default()),
        "hs256-basic",
        ClientAuth::ClientSecretBasic(Secret::new(SECRET)),
        |_, _| {},
    );
    let err = login(&rp, &Browser::new(), &hint("bob"))
        .await
        .expect_err("HS256 not enabled");
    assert!(
        matches!(err, Error::AlgNotAllowed { ref alg, .. } if alg == "HS256"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn form_post_userinfo_refresh_and_request_options() {
    let op = OpenIdProvider::start(
        json!([client("rs256-basic", "client_secret_basic", "RS256")]),
        0,
    );
    let rp = relying_party(
        &op,
        Arc::new(TestClock::default()),
        "rs256-basic",
        ClientAuth::ClientSecretBasic(Secret::new(SECRET)),
        |c, _| {
            c.response_mode = ResponseMode::FormPost;
            c.scopes = vec!["email".into(), "profile".into()];
        },
    );
    let options = AuthorizationOptions {
        login_hint: Some("carol".into()),
        prompt: Some("consent".into()),
        max_age: Some(300),
        acr_values: Some("urn:gatehouse:acr:mfa".into()),
        extra_scopes: vec!["offline_access".into()],
    };
    let request = rp.authorization_request(&options).await.expect("request");
    let query: Vec<(String, String)> = request.url.query_pairs().into_owned().collect();
    assert!(query.contains(&("response_mode".into(), "form_post".into())));
    assert!(query.contains(&("scope".into(), "openid email profile offline_access".into())));

    // form_post: the browser lands on an auto-submitting form, not a redirect.
    let browser = Browser::new();
    let landing = browser.navigate(request.url.as_str(), REDIRECT).await;
    let Landing::Form(form) = landing else {
        panic!("form_post must end in a form");
    };
    assert_eq!(form.action, REDIRECT);
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&form.fields)
        .finish();
    let params = oidc_rp::CallbackParams::parse(body.as_bytes()).expect("form");
    let login = rp
        .handle_callback(&params, Some(request.browser_binding.expose()))
        .await
        .expect("login");
    assert_eq!(login.claims.sub, "carol");
    assert_eq!(login.claims.acr.as_deref(), Some("urn:gatehouse:acr:mfa"));
    let auth_time = login.claims.auth_time.expect("auth_time with max_age");
    assert!((auth_time - login.claims.iat).abs() < 60);

    // Userinfo: sub matches, claims are added, the ID token's own are kept.
    let UserInfo { claims, merged } = rp
        .userinfo(&login.tokens.access_token, &login.claims)
        .await
        .expect("userinfo");
    assert_eq!(claims["sub"], "carol");
    assert_eq!(claims["email"], "carol@example.com");
    assert_eq!(merged["email"], "carol@example.com");
    assert_eq!(merged["email_verified"], true);
    assert_eq!(merged["sub"], "carol");
    assert_eq!(merged["nonce"], login.claims.nonce.clone().expect("nonce"));

    // Refresh: new tokens, and a new ID token for the same user.
    let refresh_token = login
        .tokens
        .refresh_token
        .clone()
        .expect("refresh token with offline_access");
    let refreshed = rp
        .refresh(&refresh_token, &login.claims)
        .await
        .expect("refresh");
    assert!(
        !refreshed
            .tokens
            .access_token
            .ct_eq(login.tokens.access_token.expose())
    );
    let new_claims = refreshed.claims.expect("refreshed id_token");
    assert_eq!(new_claims.sub, "carol");
    assert_eq!(new_claims.iss, op.issuer);

    // A refresh token that is not one fails at the token endpoint.
    let err = rp
        .refresh(&Secret::new("not-a-refresh-token"), &login.claims)
        .await
        .expect_err("bogus refresh token");
    assert!(
        matches!(err, Error::TokenEndpoint(ref m) if m.contains("invalid_grant")),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callback_state_is_single_use_and_checked() {
    let op = OpenIdProvider::start(
        json!([client("rs256-basic", "client_secret_basic", "RS256")]),
        0,
    );
    let clock = Arc::new(TestClock::default());
    let rp = relying_party(
        &op,
        clock.clone(),
        "rs256-basic",
        ClientAuth::ClientSecretBasic(Secret::new(SECRET)),
        |_, _| {},
    );
    let browser = Browser::new();
    let request = rp
        .authorization_request(&hint("dave"))
        .await
        .expect("request");
    let params = browser.authorize(request.url.as_str(), REDIRECT).await;
    assert_eq!(
        rp.handle_callback(&params, Some(request.browser_binding.expose()))
            .await
            .expect("first use")
            .claims
            .sub,
        "dave"
    );
    // The same callback again: the state was consumed.
    assert!(matches!(
        rp.handle_callback(&params, Some(request.browser_binding.expose()))
            .await,
        Err(Error::UnknownState)
    ));

    // A callback whose iss is another issuer (mix-up attack) is rejected, and its state is
    // consumed too.
    let request = rp
        .authorization_request(&hint("dave"))
        .await
        .expect("request");
    let params = browser.authorize(request.url.as_str(), REDIRECT).await;
    let code = params.get("code").expect("code").to_owned();
    let forged = oidc_rp::CallbackParams::parse(
        format!(
            "code={code}&state={}&iss=https%3A%2F%2Fevil.example",
            request.state
        )
        .as_bytes(),
    )
    .expect("params");
    assert!(matches!(
        rp.handle_callback(&forged, Some(request.browser_binding.expose())).await,
        Err(Error::CallbackIssuerMismatch { actual: Some(ref a), .. }) if a == "https://evil.example"
    ));
    assert!(matches!(
        rp.handle_callback(&params, Some(request.browser_binding.expose()))
            .await,
        Err(Error::UnknownState)
    ));

    // The provider advertises RFC 9207, so a callback without iss is rejected.
    let request = rp
        .authorization_request(&hint("dave"))
        .await
        .expect("request");
    let params = browser.authorize(request.url.as_str(), REDIRECT).await;
    let stripped = oidc_rp::CallbackParams::parse(
        format!(
            "code={}&state={}",
            params.get("code").expect("code"),
            request.state
        )
        .as_bytes(),
    )
    .expect("params");
    assert!(matches!(
        rp.handle_callback(&stripped, Some(request.browser_binding.expose()))
            .await,
        Err(Error::CallbackIssuerMismatch { actual: None, .. })
    ));

    // An unknown state.
    let unknown = oidc_rp::CallbackParams::parse(b"code=x&state=never-issued").expect("params");
    assert!(matches!(
        rp.handle_callback(&unknown, Some(request.browser_binding.expose()))
            .await,
        Err(Error::UnknownState)
    ));

    // An error response from the provider: prompt=none without a session.
    let request = rp
        .authorization_request(&AuthorizationOptions {
            prompt: Some("none".into()),
            ..AuthorizationOptions::default()
        })
        .await
        .expect("request");
    let params = Browser::new()
        .authorize(request.url.as_str(), REDIRECT)
        .await;
    assert!(matches!(
        rp.handle_callback(&params, Some(request.browser_binding.expose())).await,
        Err(Error::Authorization { ref error, .. }) if error == "login_required"
    ));
    assert!(matches!(
        rp.handle_callback(&params, Some(request.browser_binding.expose()))
            .await,
        Err(Error::UnknownState)
    ));

    // A callback more than 10 minutes after its request: the pending login has expired.
    let request = rp
        .authorization_request(&hint("dave"))
        .await
        .expect("request");
    let params = browser.authorize(request.url.as_str(), REDIRECT).await;
    clock.advance(601);
    assert!(matches!(
        rp.handle_callback(&params, Some(request.browser_binding.expose()))
            .await,
        Err(Error::UnknownState)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_is_bound_to_the_browser_and_the_connection() {
    let op = OpenIdProvider::start(
        json!([
            client("rs256-basic", "client_secret_basic", "RS256"),
            client("other-client", "client_secret_basic", "RS256"),
        ]),
        0,
    );
    let provider = Arc::new(
        Provider::new(
            ProviderConfig::discover(&op.issuer),
            http(),
            Arc::new(TestClock::default()),
        )
        .expect("provider"),
    );
    // Two connections sharing one store, as a host with one store for all connections has.
    let store = Arc::new(InMemoryLoginStateStore::default());
    let connection = |client_id: &str| {
        RelyingParty::new(
            provider.clone(),
            ClientConfig::new(
                client_id,
                ClientAuth::ClientSecretBasic(Secret::new(SECRET)),
                REDIRECT,
            ),
            ValidationConfig::new(&op.issuer, client_id),
            store.clone(),
        )
        .expect("relying party")
    };
    let rp = connection("rs256-basic");
    let other = connection("other-client");

    let request = rp
        .authorization_request(&hint("heidi"))
        .await
        .expect("request");
    let binding = request.browser_binding.expose();
    assert_eq!(binding.len(), 43, "32 random bytes, base64url");
    let params = Browser::new()
        .authorize(request.url.as_str(), REDIRECT)
        .await;

    // No cookie: rejected before the store is touched.
    assert!(matches!(
        rp.handle_callback(&params, None).await,
        Err(Error::MissingBrowserBinding)
    ));
    assert!(matches!(
        rp.handle_callback(&params, Some("")).await,
        Err(Error::MissingBrowserBinding)
    ));
    // Another browser's cookie (another login's binding): rejected, state kept.
    let elsewhere = rp
        .authorization_request(&hint("mallory"))
        .await
        .expect("request");
    assert!(matches!(
        rp.handle_callback(&params, Some(elsewhere.browser_binding.expose()))
            .await,
        Err(Error::BrowserBindingMismatch)
    ));
    assert!(matches!(
        rp.handle_callback(&params, Some("guessed")).await,
        Err(Error::BrowserBindingMismatch)
    ));
    // The callback delivered to another connection: rejected, state kept.
    assert!(matches!(
        other.handle_callback(&params, Some(binding)).await,
        Err(Error::StateForOtherConnection { ref client_id, .. }) if client_id == "other-client"
    ));

    // None of that burnt the state: the right browser completes the login, once.
    let login = rp
        .handle_callback(&params, Some(binding))
        .await
        .expect("login with the binding");
    assert_eq!(login.claims.sub, "heidi");
    assert!(matches!(
        rp.handle_callback(&params, Some(binding)).await,
        Err(Error::UnknownState)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_rotation_between_logins_refetches_at_most_once_a_minute() {
    let mut op = OpenIdProvider::start(
        json!([client("rs256-basic", "client_secret_basic", "RS256")]),
        0,
    );
    let clock = Arc::new(TestClock::default());
    let rp = relying_party(
        &op,
        clock.clone(),
        "rs256-basic",
        ClientAuth::ClientSecretBasic(Secret::new(SECRET)),
        |_, _| {},
    );
    let provider = rp.provider().clone();

    assert_eq!(
        login(&rp, &Browser::new(), &hint("erin"))
            .await
            .expect("login 1")
            .claims
            .sub,
        "erin"
    );
    assert_eq!(provider.jwks_fetch_count(), 1);
    // A second login uses the cached keys.
    login(&rp, &Browser::new(), &hint("erin"))
        .await
        .expect("login 2");
    assert_eq!(provider.jwks_fetch_count(), 1);

    // Rotation right after the keys were fetched: the unknown kid triggers one refetch.
    op.restart_with_new_keys();
    let after = login(&rp, &Browser::new(), &hint("erin"))
        .await
        .expect("login after rotation");
    assert_eq!(after.claims.sub, "erin");
    assert_eq!(provider.jwks_fetch_count(), 2);

    // A second rotation within the minute: no refetch, the login fails with the kid named.
    op.restart_with_new_keys();
    let err = login(&rp, &Browser::new(), &hint("erin"))
        .await
        .expect_err("refetch suppressed");
    assert!(matches!(err, Error::UnknownKid { .. }), "{err}");
    assert_eq!(provider.jwks_fetch_count(), 2);

    // A minute later the refetch is allowed again.
    clock.advance(61);
    login(&rp, &Browser::new(), &hint("erin"))
        .await
        .expect("login a minute later");
    assert_eq!(provider.jwks_fetch_count(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_issuer_must_match_and_static_metadata_works() {
    let op = OpenIdProvider::start(
        json!([client("rs256-basic", "client_secret_basic", "RS256")]),
        0,
    );
    let clock = Arc::new(TestClock::default());

    let metadata = oidc_rp::discover(http().as_ref(), &op.issuer)
        .await
        .expect("discovery");
    assert_eq!(metadata.issuer, op.issuer);
    assert!(metadata.authorization_response_iss_parameter_supported);
    assert_eq!(
        metadata.token_endpoint.as_deref(),
        Some(format!("{}/token", op.issuer).as_str())
    );

    // The configured issuer with a trailing slash is another issuer.
    let slashed = format!("{}/", op.issuer);
    let err = oidc_rp::discover(http().as_ref(), &slashed)
        .await
        .expect_err("mismatch");
    assert!(matches!(
        err,
        Error::DiscoveryIssuerMismatch { ref expected, ref actual } if expected == &slashed && actual == &op.issuer
    ));

    // Static metadata: no discovery fetch, the login works.
    let provider = Provider::new(
        ProviderConfig::with_static_metadata(metadata),
        http(),
        clock,
    )
    .expect("provider");
    let rp = relying_party_at(
        Arc::new(provider),
        "rs256-basic",
        ClientAuth::ClientSecretBasic(Secret::new(SECRET)),
        |_, _| {},
    );
    assert_eq!(
        login(&rp, &Browser::new(), &hint("frank"))
            .await
            .expect("login")
            .claims
            .sub,
        "frank"
    );
}

/// Receives one back-channel logout POST and returns its form body.
async fn backchannel_receiver() -> (String, tokio::sync::oneshot::Receiver<String>) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let uri = format!(
        "http://127.0.0.1:{}/backchannel",
        listener.local_addr().expect("addr").port()
    );
    let (tx, rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        // Connections that close before a whole request arrived are ignored.
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            while let Ok(n) = socket.read(&mut chunk).await {
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
                let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                    continue;
                };
                let head = String::from_utf8_lossy(&buf[..end]).into_owned();
                let length = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse::<usize>().ok())?
                    })
                    .unwrap_or(0);
                if buf.len() >= end + 4 + length {
                    let body =
                        String::from_utf8_lossy(&buf[end + 4..end + 4 + length]).into_owned();
                    let _ = socket
                        .write_all(
                            b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                        )
                        .await;
                    let _ = tx.send(body);
                    return;
                }
            }
        }
    });
    (uri, rx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rp_initiated_logout_and_back_channel_logout_token() {
    let (backchannel_uri, received) = backchannel_receiver().await;
    let mut registration = client("rs256-basic", "client_secret_basic", "RS256");
    registration["backchannel_logout_uri"] = json!(backchannel_uri);
    registration["backchannel_logout_session_required"] = json!(true);
    let op = OpenIdProvider::start(json!([registration]), 0);
    let rp = relying_party(
        &op,
        Arc::new(TestClock::default()),
        "rs256-basic",
        ClientAuth::ClientSecretBasic(Secret::new(SECRET)),
        |_, _| {},
    );
    let browser = Browser::new();
    let login = login(&rp, &browser, &hint("grace")).await.expect("login");
    let sid = login.claims.sid.clone().expect("sid in the ID token");

    // An unregistered post-logout redirect is refused before any request.
    let err = rp
        .end_session_url(
            login.tokens.id_token.as_ref(),
            Some("https://evil.example/"),
            None,
        )
        .await
        .expect_err("unregistered");
    assert!(matches!(err, Error::UnregisteredPostLogoutRedirect(_)));

    let logged_out = "http://127.0.0.1:9/logged-out";
    let url = rp
        .end_session_url(
            login.tokens.id_token.as_ref(),
            Some(logged_out),
            Some("bye"),
        )
        .await
        .expect("end session url");
    let Landing::Form(mut form) = browser.navigate(url.as_str(), logged_out).await else {
        panic!("the provider asks to confirm the logout");
    };
    form.fields.push(("logout".into(), "yes".into()));
    let Landing::Redirect(back) = browser.submit(&form, logged_out).await else {
        panic!("logout ends with the redirect");
    };
    assert_eq!(back.path(), "/logged-out");
    assert!(back.query_pairs().any(|(k, v)| k == "state" && v == "bye"));

    let body = tokio::time::timeout(std::time::Duration::from_secs(20), received)
        .await
        .expect("back-channel logout within 20 s")
        .expect("body");
    let params = oidc_rp::CallbackParams::parse(body.as_bytes()).expect("form");
    let token = params.get("logout_token").expect("logout_token");
    let claims = rp
        .validate_logout_token(token)
        .await
        .expect("valid logout token");
    assert_eq!(claims.sub.as_deref(), Some("grace"));
    assert_eq!(claims.sid.as_deref(), Some(sid.as_str()));
    assert_eq!(claims.iss, op.issuer);

    // The same token is not an ID token.
    let err = rp
        .provider()
        .validate_id_token(token, rp.validation(), &oidc_rp::Expectations::default())
        .await
        .expect_err("a logout token is not an ID token");
    assert!(
        matches!(
            err,
            Error::WrongTyp { .. }
                | Error::InvalidClaim {
                    claim: "events",
                    ..
                }
        ),
        "{err}"
    );
}
