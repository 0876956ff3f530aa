//! Differential tests against libxmlsec1 (the Debian `xmlsec1` tool): documents signed by
//! xmlsec1 with keys made at test time, plus tampered and harmlessly rewritten copies.
//! For each, our verification and `xmlsec1 --verify` must agree, and our canonical bytes
//! (the referenced element after the enveloped-signature transform, and SignedInfo) must
//! equal the pre-digest and pre-signature buffers xmlsec1 prints.

mod common;

use std::path::Path;
use std::process::Command;

use common::{Identity, run};
use openssl::nid::Nid;
use saml_sp::SamlError;
use saml_sp::c14n::{C14nOptions, canonicalize};
use saml_sp::dsig::{DSIG_NS, IdMap, VerifyOptions, verify_enveloped};
use saml_sp::xml::{Document, XmlLimits};

const RESPONSE_ID_ATTR: &str = "urn:oasis:names:tc:SAML:2.0:protocol:Response";
const ASSERTION_ID_ATTR: &str = "urn:oasis:names:tc:SAML:2.0:assertion:Assertion";

/// A signature template; `{SIG}` is the signature algorithm, `{DIG}` the digest, `{C14N}`
/// SignedInfo's canonicalization, `{TRANSFORM}` the reference's c14n transform element.
fn signature_template(reference: &str) -> String {
    format!(
        r##"<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#">
  <ds:SignedInfo>
    <ds:CanonicalizationMethod Algorithm="{{C14N}}"/>
    <ds:SignatureMethod Algorithm="{{SIG}}"/>
    <ds:Reference URI="#{reference}">
      <ds:Transforms>
        <ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>
        {{TRANSFORM}}
      </ds:Transforms>
      <ds:DigestMethod Algorithm="{{DIG}}"/>
      <ds:DigestValue/>
    </ds:Reference>
  </ds:SignedInfo>
  <ds:SignatureValue/>
  <ds:KeyInfo><ds:X509Data/></ds:KeyInfo>
</ds:Signature>"##
    )
}

/// Documents covering the canonicalization rules: namespaces declared above and below the
/// signed element, default namespaces and their undeclaration, attribute ordering across
/// namespaces, escapes in text and attributes, CDATA, comments, xml:lang.
fn corpus() -> Vec<(&'static str, String, &'static str, &'static str)> {
    let response_signed = format!(
        r##"<?xml version="1.0" encoding="UTF-8"?>
<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:unused="urn:unused" ID="_resp1" Version="2.0" IssueInstant="2026-12-04T07:00:00Z" Destination="https://sp.example.com/acs"><saml:Issuer>https://idp.example.com</saml:Issuer>{}
  <samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>
  <saml:Assertion ID="_a1" Version="2.0" IssueInstant="2026-12-04T07:00:00Z" xml:lang="en">
    <saml:Issuer>https://idp.example.com</saml:Issuer>
    <!-- a comment that c14n without comments drops -->
    <saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">a&amp;b&lt;c&gt;d&#13;@example.com</saml:NameID></saml:Subject>
    <saml:AttributeStatement>
      <saml:Attribute Name="groups" z="&#9;tab&#10;nl" a="&quot;q&quot; &amp; &lt;"><saml:AttributeValue xsi:type="xs:string"><![CDATA[<admins> & "ops"]]></saml:AttributeValue></saml:Attribute>
      <Extra xmlns="urn:default" xmlns:p="urn:p" p:b="2" b="1" xsi:nil="false"><Inner xmlns="">x</Inner></Extra>
    </saml:AttributeStatement>
  </saml:Assertion>
</samlp:Response>"##,
        signature_template("_resp1")
    );
    let assertion_signed = format!(
        r##"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_resp2" Version="2.0" IssueInstant="2026-12-04T07:00:00Z"><saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">https://idp.example.com</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status><Assertion xmlns="urn:oasis:names:tc:SAML:2.0:assertion" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ID="_a2" Version="2.0" IssueInstant="2026-12-04T07:00:00Z"><Issuer>https://idp.example.com</Issuer>{}<Subject><NameID>user@example.com</NameID></Subject><AttributeStatement><Attribute Name="n"><AttributeValue xsi:type="xs:string">v</AttributeValue></Attribute></AttributeStatement></Assertion></samlp:Response>"##,
        signature_template("_a2")
    );
    vec![
        ("response", response_signed, RESPONSE_ID_ATTR, "_resp1"),
        ("assertion", assertion_signed, ASSERTION_ID_ATTR, "_a2"),
    ]
}

const EXC: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
const EXC_COMMENTS: &str = "http://www.w3.org/2001/10/xml-exc-c14n#WithComments";

/// (name, signature URI, digest URI, key kind).
fn algorithms() -> Vec<(&'static str, &'static str, &'static str, Key)> {
    vec![
        (
            "rsa-sha256",
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
            "http://www.w3.org/2001/04/xmlenc#sha256",
            Key::Rsa,
        ),
        (
            "rsa-sha384",
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384",
            "http://www.w3.org/2001/04/xmldsig-more#sha384",
            Key::Rsa,
        ),
        (
            "rsa-sha512",
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
            "http://www.w3.org/2001/04/xmlenc#sha512",
            Key::Rsa,
        ),
        (
            "ecdsa-sha256",
            "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
            "http://www.w3.org/2001/04/xmlenc#sha256",
            Key::P256,
        ),
        (
            "ecdsa-sha384",
            "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384",
            "http://www.w3.org/2001/04/xmldsig-more#sha384",
            Key::P384,
        ),
        (
            "ecdsa-sha512",
            "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512",
            "http://www.w3.org/2001/04/xmlenc#sha512",
            Key::P521,
        ),
    ]
}

#[derive(Clone, Copy)]
enum Key {
    Rsa,
    P256,
    P384,
    P521,
}

struct Signed {
    xml: String,
    id_attr: &'static str,
    id: &'static str,
    prefixes: Vec<String>,
}

fn xmlsec1_sign(identity: &Identity, template: &str, id_attr: &str, dir: &Path) -> String {
    let input = dir.join("template.xml");
    let output = dir.join("signed.xml");
    std::fs::write(&input, template).unwrap();
    let key_arg = format!(
        "{},{}",
        identity.key_path.display(),
        identity.cert_path.display()
    );
    let o = run(Command::new("xmlsec1")
        .args(["--sign", "--privkey-pem", &key_arg, "--id-attr:ID", id_attr])
        .arg("--output")
        .arg(&output)
        .arg(&input));
    assert!(
        o.status.success(),
        "xmlsec1 --sign failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    std::fs::read_to_string(&output).unwrap()
}

/// xmlsec1's verdict, and its pre-digest and pre-signature buffers when it got that far.
struct Oracle {
    ok: bool,
    pre_digest: Option<Vec<u8>>,
    pre_signed: Option<Vec<u8>>,
}

fn xmlsec1_verify(identity: &Identity, xml: &str, id_attr: &str, dir: &Path) -> Oracle {
    let input = dir.join("verify.xml");
    std::fs::write(&input, xml).unwrap();
    let o = run(Command::new("xmlsec1")
        .args(["--verify", "--store-references", "--store-signatures"])
        .arg("--pubkey-cert-pem")
        .arg(&identity.cert_path)
        .args(["--id-attr:ID", id_attr])
        .arg(&input));
    let stdout = o.stdout;
    Oracle {
        ok: o.status.success(),
        pre_digest: buffer(
            &stdout,
            "== PreDigest data - start buffer:\n",
            "\n== PreDigest data - end buffer",
        ),
        pre_signed: buffer(
            &stdout,
            "== PreSigned data - start buffer:\n",
            "\n== PreSigned data - end buffer",
        ),
    }
}

fn buffer(out: &[u8], start: &str, end: &str) -> Option<Vec<u8>> {
    let from = find(out, start.as_bytes())? + start.len();
    let len = find(&out[from..], end.as_bytes())?;
    Some(out[from..from + len].to_vec())
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn ours(identity: &Identity, xml: &str, id: &str, sha1: bool) -> Result<(), SamlError> {
    let doc = Document::parse(xml.as_bytes(), &XmlLimits::default())?;
    let ids = IdMap::build(&doc)?;
    let signed = ids.get(id).expect("signed element present");
    verify_enveloped(
        &doc,
        &ids,
        signed,
        "test element",
        std::slice::from_ref(&identity.cert),
        VerifyOptions {
            allow_sha1_insecure: sha1,
        },
    )
    .map(|v| assert!(v.is_some(), "signature expected"))
}

/// Our canonical bytes for the referenced element and for SignedInfo.
fn our_buffers(xml: &str, id: &str, prefixes: &[String]) -> (Vec<u8>, Vec<u8>) {
    let doc = Document::parse(xml.as_bytes(), &XmlLimits::default()).unwrap();
    let ids = IdMap::build(&doc).unwrap();
    let signed = ids.get(id).unwrap();
    let signature = doc.first_child_named(signed, DSIG_NS, "Signature").unwrap();
    let signed_info = doc
        .first_child_named(signature, DSIG_NS, "SignedInfo")
        .unwrap();
    let method = doc
        .first_child_named(signed_info, DSIG_NS, "CanonicalizationMethod")
        .unwrap();
    let with_comments = doc.element(method).attr("Algorithm") == Some(EXC_COMMENTS);
    let referenced = canonicalize(
        &doc,
        signed,
        &C14nOptions {
            with_comments: false,
            inclusive_prefixes: prefixes,
            exclude: Some(signature),
        },
    )
    .unwrap();
    let info = canonicalize(
        &doc,
        signed_info,
        &C14nOptions {
            with_comments,
            inclusive_prefixes: &[],
            exclude: None,
        },
    )
    .unwrap();
    (referenced, info)
}

fn identity_for(key: Key) -> Identity {
    match key {
        Key::Rsa => Identity::rsa(2048, "xmlsec1 rsa"),
        Key::P256 => Identity::ec(Nid::X9_62_PRIME256V1, "xmlsec1 p256"),
        Key::P384 => Identity::ec(Nid::SECP384R1, "xmlsec1 p384"),
        Key::P521 => Identity::ec(Nid::SECP521R1, "xmlsec1 p521"),
    }
}

fn sign_corpus(identity: &Identity, sig: &str, dig: &str, dir: &Path) -> Vec<Signed> {
    let mut out = Vec::new();
    for (_, doc, id_attr, id) in corpus() {
        for (c14n, transform, prefixes) in [
            (EXC, format!(r#"<ds:Transform Algorithm="{EXC}"/>"#), vec![]),
            (
                EXC_COMMENTS,
                format!(
                    r#"<ds:Transform Algorithm="{EXC}"><ec:InclusiveNamespaces xmlns:ec="{EXC}" PrefixList="xs xsi #default"/></ds:Transform>"#
                ),
                vec!["xs".to_owned(), "xsi".to_owned(), "#default".to_owned()],
            ),
        ] {
            let template = doc
                .replace("{SIG}", sig)
                .replace("{DIG}", dig)
                .replace("{C14N}", c14n)
                .replace("{TRANSFORM}", &transform);
            out.push(Signed {
                xml: xmlsec1_sign(identity, &template, id_attr, dir),
                id_attr,
                id,
                prefixes,
            });
        }
    }
    out
}

fn check_agreement(identity: &Identity, doc: &Signed, xml: &str, dir: &Path, expect_ok: bool) {
    let oracle = xmlsec1_verify(identity, xml, doc.id_attr, dir);
    let our = ours(identity, xml, doc.id, false);
    assert_eq!(oracle.ok, expect_ok, "xmlsec1 verdict on:\n{xml}");
    assert_eq!(our.is_ok(), expect_ok, "our verdict {our:?} on:\n{xml}");
    if let Some(pre_digest) = oracle.pre_digest {
        let (referenced, signed_info) = our_buffers(xml, doc.id, &doc.prefixes);
        assert_eq!(
            String::from_utf8_lossy(&referenced),
            String::from_utf8_lossy(&pre_digest),
            "canonical referenced element differs from xmlsec1's"
        );
        if let Some(pre_signed) = oracle.pre_signed {
            assert_eq!(
                String::from_utf8_lossy(&signed_info),
                String::from_utf8_lossy(&pre_signed),
                "canonical SignedInfo differs from xmlsec1's"
            );
        }
    } else {
        panic!("xmlsec1 printed no pre-digest buffer");
    }
}

#[test]
fn agrees_with_xmlsec1_on_signed_tampered_and_rewritten_documents() {
    let dir = tempfile::tempdir().unwrap();
    for (name, sig, dig, key) in algorithms() {
        let identity = identity_for(key);
        for doc in sign_corpus(&identity, sig, dig, dir.path()) {
            eprintln!("{name} {}", doc.id);
            check_agreement(&identity, &doc, &doc.xml, dir.path(), true);

            // Harmless rewrites that c14n removes: both still accept.
            let comment = doc.xml.replacen(
                "https://idp.example.com</",
                "https://idp.example.com<!-- injected --></",
                2,
            );
            check_agreement(&identity, &doc, &comment, dir.path(), true);
            let unused_ns = doc.xml.replacen(
                &format!(r#"ID="{}""#, doc.id),
                &format!(r#"xmlns:zz="urn:zz" ID='{}'"#, doc.id),
                1,
            );
            check_agreement(&identity, &doc, &unused_ns, dir.path(), true);

            // Tampered content: both reject, ours as a digest mismatch.
            let tampered = doc.xml.replacen("example.com", "evil.example", 2);
            check_agreement(&identity, &doc, &tampered, dir.path(), false);
            assert!(matches!(
                ours(&identity, &tampered, doc.id, false),
                Err(SamlError::DigestMismatch { .. })
            ));

            // Tampered SignedInfo: text added inside it changes its canonical form.
            let bad_info = doc
                .xml
                .replacen("<ds:SignatureMethod", "x<ds:SignatureMethod", 1);
            check_agreement(&identity, &doc, &bad_info, dir.path(), false);
            assert!(matches!(
                ours(&identity, &bad_info, doc.id, false),
                Err(SamlError::SignatureInvalid { tried: 1 })
            ));
        }
    }
}

#[test]
fn sha1_agrees_with_xmlsec1_only_when_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let identity = Identity::rsa(2048, "xmlsec1 sha1");
    let docs = sign_corpus(
        &identity,
        "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
        "http://www.w3.org/2000/09/xmldsig#sha1",
        dir.path(),
    );
    for doc in docs {
        let oracle = xmlsec1_verify(&identity, &doc.xml, doc.id_attr, dir.path());
        assert!(oracle.ok, "xmlsec1 accepts RSA-SHA1");
        assert_eq!(ours(&identity, &doc.xml, doc.id, true), Ok(()));
        assert_eq!(
            ours(&identity, &doc.xml, doc.id, false),
            Err(SamlError::Sha1NotAllowed {
                kind: "signature",
                uri: "http://www.w3.org/2000/09/xmldsig#rsa-sha1".into()
            })
        );
    }
}

#[test]
fn a_wrong_certificate_fails_in_both() {
    let dir = tempfile::tempdir().unwrap();
    let signer = Identity::rsa(2048, "signer");
    let other = Identity::rsa(2048, "other");
    let docs = sign_corpus(
        &signer,
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
        "http://www.w3.org/2001/04/xmlenc#sha256",
        dir.path(),
    );
    for doc in docs {
        // Strip KeyInfo so xmlsec1 must use the given (wrong) key, as we do.
        let start = doc.xml.find("<ds:KeyInfo>").unwrap();
        let end = doc.xml.find("</ds:KeyInfo>").unwrap() + "</ds:KeyInfo>".len();
        let stripped = format!("{}{}", &doc.xml[..start], &doc.xml[end..]);
        assert!(!xmlsec1_verify(&other, &stripped, doc.id_attr, dir.path()).ok);
        assert_eq!(
            ours(&other, &stripped, doc.id, false),
            Err(SamlError::SignatureInvalid { tried: 1 })
        );
        // With the signer's certificate in KeyInfo we refuse it by name.
        assert!(matches!(
            ours(&other, &doc.xml, doc.id, false),
            Err(SamlError::UntrustedKeyInfo { subject }) if subject == "signer"
        ));
    }
}

#[test]
fn xmlsec1_verifies_what_we_sign() {
    use saml_sp::dsig::{DigestAlgorithm, SignatureAlgorithm, sign_enveloped};
    let dir = tempfile::tempdir().unwrap();
    for (alg, identity) in [
        (
            SignatureAlgorithm::RsaSha256,
            Identity::rsa(2048, "ours rsa"),
        ),
        (
            SignatureAlgorithm::RsaSha512,
            Identity::rsa(3072, "ours rsa"),
        ),
        (
            SignatureAlgorithm::EcdsaSha256,
            Identity::ec(Nid::X9_62_PRIME256V1, "ours ec"),
        ),
        (
            SignatureAlgorithm::EcdsaSha384,
            Identity::ec(Nid::SECP384R1, "ours ec"),
        ),
    ] {
        let xml = r#"<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_req1" Version="2.0" IssueInstant="2026-12-04T07:00:00Z"><saml:Issuer>https://sp.example.com</saml:Issuer><samlp:NameIDPolicy Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress" AllowCreate="true"/></samlp:AuthnRequest>"#;
        let signed = sign_enveloped(
            xml,
            "_req1",
            &identity.signing_key(),
            alg,
            DigestAlgorithm::Sha256,
        )
        .unwrap();
        let oracle = xmlsec1_verify(
            &identity,
            &signed,
            "urn:oasis:names:tc:SAML:2.0:protocol:AuthnRequest",
            dir.path(),
        );
        assert!(
            oracle.ok,
            "xmlsec1 rejects our {alg:?} signature:\n{signed}"
        );
        assert_eq!(ours(&identity, &signed, "_req1", false), Ok(()));
    }
}
