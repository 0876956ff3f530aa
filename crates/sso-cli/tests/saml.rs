//! End-to-end tests of `gatehouse saml validate` and `gatehouse saml sp-metadata`: exit
//! codes, stdout JSON or XML, and the one stderr line naming the failed check.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use saml_sp::dsig::{DigestAlgorithm, SignatureAlgorithm, SigningKey, sign_enveloped};
use saml_sp::metadata::generate_sp_credentials;
use serde_json::{Value, json};

const IDP: &str = "https://idp.example.com/saml";
const SP: &str = "https://app.example.com/saml/metadata";
const ACS: &str = "https://app.example.com/saml/acs";
const NOW: &str = "2026-12-04T08:00:00Z";

struct Fixture {
    dir: tempfile::TempDir,
    key: SigningKey,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let key = generate_sp_credentials("cli test idp", 2).unwrap();
        let der = key.certificate().unwrap().to_der().unwrap();
        let metadata = format!(
            r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{IDP}"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor><md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.com/sso"/></md:IDPSSODescriptor></md:EntityDescriptor>"#,
            STANDARD.encode(der)
        );
        std::fs::write(dir.path().join("idp.xml"), metadata).unwrap();
        std::fs::write(
            dir.path().join("sp-cert.pem"),
            key.certificate().unwrap().to_pem().unwrap(),
        )
        .unwrap();
        Self { dir, key }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A response to `_req1` with the assertion signed; `audience` and `in_response_to`
    /// vary per test.
    fn response(
        &self,
        audience: &str,
        in_response_to: Option<&str>,
        alg: SignatureAlgorithm,
    ) -> String {
        let irt = in_response_to.map_or_else(String::new, |i| format!(r#" InResponseTo="{i}""#));
        let assertion = format!(
            r#"<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_a1" Version="2.0" IssueInstant="2026-12-04T07:59:30Z"><saml:Issuer>{IDP}</saml:Issuer><saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">bjensen@example.com</saml:NameID><saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData Recipient="{ACS}" NotOnOrAfter="2026-12-04T08:05:00Z"{irt}/></saml:SubjectConfirmation></saml:Subject><saml:Conditions NotBefore="2026-12-04T07:59:00Z" NotOnOrAfter="2026-12-04T08:05:00Z"><saml:AudienceRestriction><saml:Audience>{audience}</saml:Audience></saml:AudienceRestriction></saml:Conditions><saml:AuthnStatement AuthnInstant="2026-12-04T07:59:20Z" SessionIndex="_s1"/><saml:AttributeStatement><saml:Attribute Name="groups"><saml:AttributeValue>admins</saml:AttributeValue><saml:AttributeValue>ops</saml:AttributeValue></saml:Attribute></saml:AttributeStatement></saml:Assertion>"#
        );
        let signed =
            sign_enveloped(&assertion, "_a1", &self.key, alg, DigestAlgorithm::Sha256).unwrap();
        format!(
            r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_r1" Version="2.0" IssueInstant="2026-12-04T07:59:30Z" Destination="{ACS}"{irt}><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>{signed}</samlp:Response>"#
        )
    }

    fn write(&self, name: &str, content: &str) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, content).unwrap();
        p
    }

    fn validate(&self, response: &Path, extra: &[&str]) -> Output {
        self.validate_at(response, NOW, extra)
    }

    fn validate_at(&self, response: &Path, now: &str, extra: &[&str]) -> Output {
        let mut args = vec![
            "saml".to_owned(),
            "validate".into(),
            "--idp-metadata".into(),
            self.path("idp.xml").to_string_lossy().into_owned(),
            "--sp-entity-id".into(),
            SP.into(),
            "--acs-url".into(),
            ACS.into(),
            "--now".into(),
            now.into(),
        ];
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        args.push(response.to_string_lossy().into_owned());
        gatehouse(&args, None)
    }
}

fn gatehouse(args: &[String], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(bytes) = stdin {
        input.write_all(bytes).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

fn stdout_json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

fn single_stderr_line(o: &Output) -> String {
    let text = String::from_utf8_lossy(&o.stderr).into_owned();
    let lines: Vec<_> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "expected one stderr line, got: {text:?}");
    lines[0].to_owned()
}

#[test]
fn validate_prints_the_verified_assertion() {
    let f = Fixture::new();
    let response = f.write(
        "r.xml",
        &f.response(SP, Some("_req1"), SignatureAlgorithm::RsaSha256),
    );
    let o = f.validate(&response, &["--request-id", "_req1"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(
        stdout_json(&o),
        json!({
            "issuer": IDP,
            "name_id": "bjensen@example.com",
            "name_id_format": "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
            "session_index": "_s1",
            "assertion_id": "_a1",
            "not_on_or_after": "2026-12-04T08:05:00Z",
            "attributes": {"groups": ["admins", "ops"]},
        })
    );
}

#[test]
fn validate_reads_the_base64_form_from_stdin() {
    let f = Fixture::new();
    let xml = f.response(SP, None, SignatureAlgorithm::RsaSha256);
    let encoded = STANDARD.encode(xml);
    let args: Vec<String> = [
        "saml",
        "validate",
        "--idp-metadata",
        &f.path("idp.xml").to_string_lossy(),
        "--sp-entity-id",
        SP,
        "--acs-url",
        ACS,
        "--now",
        NOW,
        "--allow-unsolicited",
        "-",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    let o = gatehouse(&args, Some(encoded.as_bytes()));
    assert_eq!(
        o.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(stdout_json(&o)["name_id"], "bjensen@example.com");
}

#[test]
fn validate_names_the_failed_check_and_the_compared_values() {
    let f = Fixture::new();
    let wrong_audience = f.write(
        "a.xml",
        &f.response(
            "https://other.example",
            Some("_req1"),
            SignatureAlgorithm::RsaSha256,
        ),
    );
    let o = f.validate(&wrong_audience, &["--request-id", "_req1"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty());
    assert_eq!(
        single_stderr_line(&o),
        r#"response rejected: profile.audience: AudienceRestriction ["https://other.example"] does not contain "https://app.example.com/saml/metadata""#
    );

    let unsolicited = f.write(
        "u.xml",
        &f.response(SP, None, SignatureAlgorithm::RsaSha256),
    );
    let o = f.validate(&unsolicited, &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(single_stderr_line(&o).contains("profile.unsolicited"));
    let o = f.validate(&unsolicited, &["--allow-unsolicited"]);
    assert_eq!(o.status.code(), Some(0));

    let solicited = f.write(
        "s.xml",
        &f.response(SP, Some("_req1"), SignatureAlgorithm::RsaSha256),
    );
    let o = f.validate(&solicited, &["--request-id", "_other"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        single_stderr_line(&o),
        r#"response rejected: profile.unknown_request: InResponseTo "_req1" matches no pending AuthnRequest (unknown, expired or already used)"#
    );

    let o = f.validate_at(
        &solicited,
        "2026-12-04T09:00:00Z",
        &["--request-id", "_req1"],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(single_stderr_line(&o).contains("profile.expired"));

    let tampered = f.write(
        "t.xml",
        &f.response(SP, Some("_req1"), SignatureAlgorithm::RsaSha256)
            .replace("bjensen@", "admin@"),
    );
    let o = f.validate(&tampered, &["--request-id", "_req1"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        single_stderr_line(&o),
        r##"response rejected: signature.digest: digest of the element referenced by "#_a1" does not match ds:DigestValue"##
    );
}

#[test]
fn validate_refuses_sha1_unless_allowed() {
    let f = Fixture::new();
    let sha1 = f.write(
        "sha1.xml",
        &f.response(SP, Some("_req1"), SignatureAlgorithm::RsaSha1),
    );
    let o = f.validate(&sha1, &["--request-id", "_req1"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(single_stderr_line(&o).contains("signature.sha1"));
    let o = f.validate(&sha1, &["--request-id", "_req1", "--allow-sha1"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn validate_rejects_bad_input_and_bad_usage() {
    let f = Fixture::new();
    let garbage = f.write("g.txt", "!!! not base64 !!!");
    let o = f.validate(&garbage, &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(single_stderr_line(&o).contains("encoding.base64"));

    let dtd = f.write("d.xml", r#"<!DOCTYPE x [<!ENTITY a "b">]><x/>"#);
    let o = f.validate(&dtd, &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(single_stderr_line(&o).contains("xml.dtd"));

    let o = f.validate(&f.path("missing.xml"), &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(single_stderr_line(&o).contains("cannot read the response"));

    let o = gatehouse(&["saml".into(), "validate".into(), "x.xml".into()], None);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn sp_metadata_prints_an_entity_descriptor() {
    let f = Fixture::new();
    let o = gatehouse(
        &[
            "saml".into(),
            "sp-metadata".into(),
            "--sp-entity-id".into(),
            SP.into(),
            "--acs-url".into(),
            ACS.into(),
            "--sp-cert".into(),
            f.path("sp-cert.pem").to_string_lossy().into_owned(),
        ],
        None,
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let xml = String::from_utf8(o.stdout).unwrap();
    assert!(xml.contains(&format!(r#"entityID="{SP}""#)));
    assert!(xml.contains(&format!(
        r#"<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="{ACS}" index="0" isDefault="true"/>"#
    )));
    assert!(xml.contains(r#"AuthnRequestsSigned="true""#));
    let der = f.key.certificate().unwrap().to_der().unwrap();
    assert!(xml.contains(&STANDARD.encode(der)));

    let o = gatehouse(
        &[
            "saml".into(),
            "sp-metadata".into(),
            "--sp-entity-id".into(),
            SP.into(),
            "--acs-url".into(),
            "ftp://app.example.com/acs".into(),
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(single_stderr_line(&o).contains("metadata.binding_url"));
}

#[test]
fn validate_decrypts_an_encrypted_assertion_with_the_sp_key() {
    let f = Fixture::new();
    let sp = generate_sp_credentials("cli test sp", 2).unwrap();
    let key_path = f.path("sp-key.pem");
    std::fs::write(
        &key_path,
        sp.private_key().private_key_to_pem_pkcs8().unwrap(),
    )
    .unwrap();
    std::fs::write(
        f.path("sp-enc.pem"),
        sp.certificate().unwrap().to_pem().unwrap(),
    )
    .unwrap();

    // Encrypt the signed assertion with the xmlsec1 tool (AES-256-GCM, RSA-OAEP).
    let plain = f.response(SP, Some("_req1"), SignatureAlgorithm::RsaSha256);
    let start = plain.find("<saml:Assertion").unwrap();
    let end = plain.find("</saml:Assertion>").unwrap() + "</saml:Assertion>".len();
    std::fs::write(f.path("assertion.xml"), &plain[start..end]).unwrap();
    std::fs::write(
        f.path("template.xml"),
        r#"<xenc:EncryptedData xmlns:xenc="http://www.w3.org/2001/04/xmlenc#" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" Type="http://www.w3.org/2001/04/xmlenc#Element"><xenc:EncryptionMethod Algorithm="http://www.w3.org/2009/xmlenc11#aes256-gcm"/><ds:KeyInfo><xenc:EncryptedKey><xenc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"/><xenc:CipherData><xenc:CipherValue/></xenc:CipherData></xenc:EncryptedKey></ds:KeyInfo><xenc:CipherData><xenc:CipherValue/></xenc:CipherData></xenc:EncryptedData>"#,
    )
    .unwrap();
    let o = Command::new("xmlsec1")
        .args(["--encrypt", "--pubkey-cert-pem"])
        .arg(f.path("sp-enc.pem"))
        .args(["--session-key", "aes-256", "--xml-data"])
        .arg(f.path("assertion.xml"))
        .arg("--output")
        .arg(f.path("encrypted.xml"))
        .arg(f.path("template.xml"))
        .output()
        .unwrap_or_else(|e| panic!("cannot run xmlsec1 ({e}); run scripts/setup"));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let encrypted = std::fs::read_to_string(f.path("encrypted.xml")).unwrap();
    let encrypted = encrypted
        .trim_start_matches("<?xml version=\"1.0\"?>")
        .trim();
    let response = f.write(
        "enc-response.xml",
        &format!(
            "{}<saml:EncryptedAssertion xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\">{encrypted}</saml:EncryptedAssertion>{}",
            &plain[..start],
            &plain[end..]
        ),
    );

    let key = key_path.to_string_lossy().into_owned();
    let o = f.validate(&response, &["--request-id", "_req1", "--sp-key", &key]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(stdout_json(&o)["name_id"], "bjensen@example.com");

    let o = f.validate(&response, &["--request-id", "_req1"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        single_stderr_line(&o),
        "response rejected: profile.missing: required SP decryption key for EncryptedAssertion is missing"
    );
}
