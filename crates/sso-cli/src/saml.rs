//! `gatehouse saml validate` and `gatehouse saml sp-metadata`.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use clap::Subcommand;
use saml_sp::dsig::{SigningKey, certificate_from_pem};
use saml_sp::{
    FixedClock, IdpMetadata, InMemoryReplayCache, InMemoryRequestStore, RequestStore,
    ResponseValidator, SamlError, ServiceProvider, SpMetadata, ValidationOptions,
    VerifiedAssertion,
};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Largest RESPONSE input read, before any decoding.
const MAX_INPUT: u64 = 4 * 1024 * 1024;

/// SAML 2.0 responses and SP metadata.
#[derive(Subcommand)]
pub(crate) enum SamlCommand {
    /// Validate a SAML Response as the SP would and print the verified assertion.
    Validate {
        /// The IdP's metadata (EntityDescriptor or EntitiesDescriptor).
        #[arg(long, value_name = "FILE")]
        idp_metadata: PathBuf,
        /// This SP's entity ID (the expected Audience).
        #[arg(long, value_name = "ID")]
        sp_entity_id: String,
        /// This SP's AssertionConsumerService URL (Destination and Recipient).
        #[arg(long, value_name = "URL")]
        acs_url: String,
        /// The ID of the AuthnRequest the response answers.
        #[arg(long, value_name = "ID")]
        request_id: Option<String>,
        /// Validate as of this instant instead of now.
        #[arg(long, value_name = "RFC3339")]
        now: Option<String>,
        /// The SP's private key (PEM), to decrypt an EncryptedAssertion.
        #[arg(long, value_name = "PEM")]
        sp_key: Option<PathBuf>,
        /// Accept an IdP-initiated response (no InResponseTo).
        #[arg(long)]
        allow_unsolicited: bool,
        /// Accept RSA-SHA1 signatures and SHA-1 digests.
        #[arg(long)]
        allow_sha1: bool,
        /// The response: a file, or `-` for stdin; raw XML or the base64 form an IdP posts.
        #[arg(value_name = "RESPONSE")]
        response: PathBuf,
    },
    /// Print this SP's metadata (EntityDescriptor).
    SpMetadata {
        /// This SP's entity ID.
        #[arg(long, value_name = "ID")]
        sp_entity_id: String,
        /// The AssertionConsumerService URL (HTTP-POST binding).
        #[arg(long, value_name = "URL")]
        acs_url: String,
        /// The SP's signing certificate (PEM); marks AuthnRequests as signed.
        #[arg(long, value_name = "PEM")]
        sp_cert: Option<PathBuf>,
    },
}

/// Runs a `saml` subcommand: 0 on success, 1 with one stderr line on a rejected input.
pub(crate) fn run(command: SamlCommand) -> ExitCode {
    let result = match command {
        SamlCommand::Validate {
            idp_metadata,
            sp_entity_id,
            acs_url,
            request_id,
            now,
            sp_key,
            allow_unsolicited,
            allow_sha1,
            response,
        } => validate(&ValidateArgs {
            idp_metadata: &idp_metadata,
            sp_entity_id,
            acs_url,
            request_id,
            now: now.as_deref(),
            sp_key: sp_key.as_deref(),
            allow_unsolicited,
            allow_sha1,
            response: &response,
        })
        .map(|v| format!("{v:#}")),
        SamlCommand::SpMetadata {
            sp_entity_id,
            acs_url,
            sp_cert,
        } => sp_metadata(sp_entity_id, acs_url, sp_cert.as_deref()),
    };
    match result {
        Ok(output) => {
            println!("{}", output.trim_end());
            ExitCode::SUCCESS
        }
        Err(line) => {
            eprintln!("{}", one_line(&line));
            ExitCode::from(1)
        }
    }
}

struct ValidateArgs<'a> {
    idp_metadata: &'a Path,
    sp_entity_id: String,
    acs_url: String,
    request_id: Option<String>,
    now: Option<&'a str>,
    sp_key: Option<&'a Path>,
    allow_unsolicited: bool,
    allow_sha1: bool,
    response: &'a Path,
}

fn rejected(step: &str, e: &SamlError) -> String {
    format!("{step} rejected: {}: {e}", e.check())
}

fn validate(args: &ValidateArgs<'_>) -> Result<Value, String> {
    let metadata = read_file(args.idp_metadata, "IdP metadata")?;
    let idp =
        IdpMetadata::parse(&metadata, None, None).map_err(|e| rejected("IdP metadata", &e))?;
    let decryption_keys = match args.sp_key {
        Some(path) => {
            let pem = read_file(path, "SP key")?;
            vec![SigningKey::from_pem(&pem, None).map_err(|e| rejected("SP key", &e))?]
        }
        None => Vec::new(),
    };
    let now = match args.now {
        Some(text) => OffsetDateTime::parse(text, &Rfc3339)
            .map_err(|e| format!("--now {text:?} is not an RFC 3339 instant: {e}"))?,
        None => OffsetDateTime::now_utc(),
    };
    let input = read_file(args.response, "response")?;
    let xml = response_xml(&input).map_err(|e| rejected("response", &e))?;

    let requests = Arc::new(InMemoryRequestStore::new());
    let validator = ResponseValidator::new(
        ServiceProvider {
            entity_id: args.sp_entity_id.clone(),
            acs_url: args.acs_url.clone(),
        },
        idp.identity_provider(),
        requests.clone(),
        Arc::new(InMemoryReplayCache::new()),
    )
    .with_options(ValidationOptions {
        allow_idp_initiated: args.allow_unsolicited,
        allow_sha1_insecure: args.allow_sha1,
        ..ValidationOptions::default()
    })
    .with_decryption_keys(decryption_keys)
    .with_clock(Arc::new(FixedClock(now)));

    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    let assertion = runtime
        .block_on(async {
            if let Some(id) = &args.request_id {
                requests
                    .insert(id, now.saturating_add(time::Duration::hours(1)))
                    .await?;
            }
            validator.validate_xml(&xml).await
        })
        .map_err(|e| rejected("response", &e))?;
    Ok(assertion_json(&assertion))
}

/// Raw XML as is; anything else is taken as the base64 form.
fn response_xml(input: &[u8]) -> Result<Vec<u8>, SamlError> {
    let trimmed = input.trim_ascii();
    if trimmed.starts_with(b"<") {
        return Ok(trimmed.to_vec());
    }
    let compact: Vec<u8> = trimmed
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    STANDARD
        .decode(compact)
        .map_err(|e| SamlError::Base64(e.to_string()))
}

fn assertion_json(a: &VerifiedAssertion) -> Value {
    let mut attributes = Map::new();
    for attribute in &a.attributes {
        let entry = attributes
            .entry(attribute.name.clone())
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(values) = entry {
            values.extend(attribute.values.iter().cloned().map(Value::String));
        }
    }
    json!({
        "issuer": a.issuer,
        "name_id": a.name_id.value,
        "name_id_format": a.name_id.format,
        "session_index": a.session_index,
        "assertion_id": a.assertion_id,
        "not_on_or_after": a.not_on_or_after.format(&Rfc3339).unwrap_or_default(),
        "attributes": attributes,
    })
}

fn sp_metadata(entity_id: String, acs_url: String, cert: Option<&Path>) -> Result<String, String> {
    let certificate = cert
        .map(|path| {
            let pem = read_file(path, "SP certificate")?;
            certificate_from_pem(&pem).map_err(|e| rejected("SP certificate", &e))
        })
        .transpose()?;
    SpMetadata {
        entity_id,
        acs_urls: vec![acs_url],
        authn_requests_signed: certificate.is_some(),
        want_assertions_signed: true,
        signing_certificate: certificate,
        ..SpMetadata::default()
    }
    .to_xml()
    .map_err(|e| rejected("SP metadata", &e))
}

fn read_file(path: &Path, what: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let read = if path == Path::new("-") {
        std::io::stdin().take(MAX_INPUT + 1).read_to_end(&mut out)
    } else {
        std::fs::File::open(path).and_then(|f| f.take(MAX_INPUT + 1).read_to_end(&mut out))
    };
    read.map_err(|e| format!("cannot read the {what} {}: {e}", path.display()))?;
    if out.len() as u64 > MAX_INPUT {
        return Err(format!(
            "the {what} {} is larger than {MAX_INPUT} bytes",
            path.display()
        ));
    }
    Ok(out)
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
