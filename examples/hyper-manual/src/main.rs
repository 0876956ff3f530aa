//! `gatehouse-hyper-manual IDP_ENTITY_ID SSO_URL IDP_CERT.pem DOMAIN [LISTEN]`: SAML sign-in
//! on a plain hyper server at `http://LISTEN` (default 127.0.0.1:8090).

use std::process::ExitCode;
use std::sync::Arc;

use hyper_manual::{IdpSettings, Manual};

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt().init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [entity_id, sso_url, cert, domain, rest @ ..] = args.as_slice() else {
        eprintln!(
            "usage: gatehouse-hyper-manual IDP_ENTITY_ID SSO_URL IDP_CERT.pem DOMAIN [LISTEN]"
        );
        return ExitCode::FAILURE;
    };
    let listen = rest.first().map_or("127.0.0.1:8090", String::as_str);
    let certificate_pem = match std::fs::read_to_string(cert) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("cannot read {cert}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let idp = IdpSettings {
        entity_id: entity_id.clone(),
        sso_url: sso_url.clone(),
        certificate_pem,
        domain: domain.clone(),
        email_attribute: "urn:oid:0.9.2342.19200300.100.1.3".into(),
    };
    let listener = match tokio::net::TcpListener::bind(listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("cannot listen on {listen}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let manual = match Manual::new(&idp, &format!("http://{listen}")).await {
        Ok(m) => Arc::new(m),
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!("SP metadata at http://{listen}/saml/metadata, login at /saml/login");
    match hyper_manual::serve(manual, listener).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
