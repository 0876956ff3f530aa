//! `gatehouse oidc verify-id-token` and `gatehouse oidc discover`.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::Subcommand;
use oidc_rp::http::ReqwestHttpClient;
use oidc_rp::{Expectations, JwkSet, ValidationConfig, discover, validate_id_token};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// OpenID Connect commands.
#[derive(Subcommand)]
pub(crate) enum OidcCommand {
    /// Verify an ID token against a JWKS file and print its claims.
    VerifyIdToken {
        /// The issuer's JWKS, as a JSON file.
        #[arg(long, value_name = "FILE")]
        jwks: PathBuf,
        /// The issuer, compared exactly with `iss`.
        #[arg(long, value_name = "ISS")]
        issuer: String,
        /// The client id that must be in `aud`.
        #[arg(long = "client-id", value_name = "ID")]
        client_id: String,
        /// The nonce sent with the authorization request; the token must carry it.
        #[arg(long, value_name = "N")]
        nonce: Option<String>,
        /// Validate as of this instant instead of now.
        #[arg(long, value_name = "RFC3339", value_parser = parse_rfc3339)]
        now: Option<OffsetDateTime>,
        /// The max_age sent with the request; `auth_time` is then required and checked.
        #[arg(long = "max-age", value_name = "SECONDS")]
        max_age: Option<u32>,
        /// The token, as a file (`-` for stdin).
        #[arg(value_name = "TOKEN")]
        token: PathBuf,
    },
    /// Fetch and check a provider's discovery document and JWKS, and print them.
    Discover {
        /// The issuer, exactly as the provider writes it.
        #[arg(value_name = "ISSUER")]
        issuer: String,
    },
}

fn parse_rfc3339(s: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(s, &Rfc3339).map_err(|e| format!("not an RFC 3339 date-time: {e}"))
}

/// Runs an `oidc` subcommand: JSON on stdout and exit 0, or one stderr line and exit 1.
pub(crate) fn run(command: OidcCommand) -> ExitCode {
    let result = match command {
        OidcCommand::VerifyIdToken {
            jwks,
            issuer,
            client_id,
            nonce,
            now,
            max_age,
            token,
        } => verify_id_token(
            &jwks,
            issuer,
            client_id,
            nonce.as_deref(),
            now,
            max_age,
            &token,
        ),
        OidcCommand::Discover { issuer } => discover_provider(&issuer),
    };
    match result {
        Ok(output) => {
            println!("{output:#}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("{}", one_line(&message));
            ExitCode::from(1)
        }
    }
}

fn verify_id_token(
    jwks_path: &Path,
    issuer: String,
    client_id: String,
    nonce: Option<&str>,
    now: Option<OffsetDateTime>,
    max_age: Option<u32>,
    token_path: &Path,
) -> Result<Value, String> {
    let jwks_bytes = read_input(jwks_path, "JWKS")?;
    let jwks = JwkSet::from_json(&jwks_bytes)
        .map_err(|e| format!("JWKS file {}: {e}", jwks_path.display()))?;
    let token_bytes = read_input(token_path, "token")?;
    let token = String::from_utf8(token_bytes).map_err(|_| "token is not UTF-8".to_owned())?;

    let config = ValidationConfig::new(issuer, client_id);
    let expect = Expectations {
        nonce,
        max_age: max_age.map(i64::from),
        ..Expectations::default()
    };
    let now = now.unwrap_or_else(OffsetDateTime::now_utc).unix_timestamp();
    let claims = validate_id_token(token.trim(), &jwks, &config, &expect, now)
        .map_err(|e| format!("ID token rejected: {e}"))?;
    Ok(Value::Object(claims.all()))
}

fn discover_provider(issuer: &str) -> Result<Value, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    runtime.block_on(async {
        let http = Arc::new(ReqwestHttpClient::new().map_err(|e| e.to_string())?);
        let metadata = discover(http.as_ref(), issuer)
            .await
            .map_err(|e| format!("discovery rejected: {e}"))?;
        let provider = oidc_rp::Provider::new(
            oidc_rp::ProviderConfig::with_static_metadata(metadata.clone()),
            http,
            Arc::new(oidc_rp::SystemClock),
        )
        .map_err(|e| format!("discovery rejected: {e}"))?;
        let jwks = provider
            .jwks()
            .await
            .map_err(|e| format!("JWKS rejected: {e}"))?;
        let keys: Vec<Value> = jwks
            .keys()
            .iter()
            .map(|k| json!({ "kid": k.jwk.kid, "kty": k.jwk.kty, "alg": k.jwk.alg, "crv": k.jwk.crv }))
            .collect();
        Ok(json!({
            "metadata": metadata,
            "jwks": { "keys": keys, "skipped": jwks.skipped() },
        }))
    })
}

fn read_input(path: &Path, what: &str) -> Result<Vec<u8>, String> {
    if path == Path::new("-") {
        let mut buf = Vec::new();
        std::io::stdin()
            .take(1024 * 1024)
            .read_to_end(&mut buf)
            .map_err(|e| format!("cannot read the {what} from stdin: {e}"))?;
        Ok(buf)
    } else {
        std::fs::read(path)
            .map_err(|e| format!("cannot read the {what} file {}: {e}", path.display()))
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
