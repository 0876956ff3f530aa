//! Helpers shared by the integration tests: keys and certificates made at test time, and
//! the external signers (the xmlsec1 tool, the Python venv with signxml and pysaml2).

#![allow(dead_code, unreachable_pub)]

pub mod saml;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::x509::{X509, X509NameBuilder};

/// A key pair with a self-signed certificate, and their PEM files in a temporary folder.
pub struct Identity {
    pub key: PKey<Private>,
    pub cert: X509,
    pub key_path: PathBuf,
    pub cert_path: PathBuf,
    _dir: tempfile::TempDir,
}

impl Identity {
    pub fn rsa(bits: u32, cn: &str) -> Self {
        let key = PKey::from_rsa(Rsa::generate(bits).unwrap()).unwrap();
        Self::with_key(key, cn)
    }

    pub fn ec(curve: Nid, cn: &str) -> Self {
        let group = EcGroup::from_curve_name(curve).unwrap();
        let key = PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap();
        Self::with_key(key, cn)
    }

    fn with_key(key: PKey<Private>, cn: &str) -> Self {
        let mut name = X509NameBuilder::new().unwrap();
        name.append_entry_by_text("CN", cn).unwrap();
        let name = name.build();
        let mut builder = X509::builder().unwrap();
        builder.set_version(2).unwrap();
        let mut serial = BigNum::new().unwrap();
        serial.rand(64, MsbOption::MAYBE_ZERO, false).unwrap();
        builder
            .set_serial_number(&serial.to_asn1_integer().unwrap())
            .unwrap();
        builder.set_subject_name(&name).unwrap();
        builder.set_issuer_name(&name).unwrap();
        builder.set_pubkey(&key).unwrap();
        builder
            .set_not_before(&Asn1Time::days_from_now(0).unwrap())
            .unwrap();
        builder
            .set_not_after(&Asn1Time::days_from_now(30).unwrap())
            .unwrap();
        builder.sign(&key, MessageDigest::sha256()).unwrap();
        let cert = builder.build();

        let dir = tempfile::tempdir().unwrap();
        let key_path = dir.path().join("key.pem");
        let cert_path = dir.path().join("cert.pem");
        std::fs::write(&key_path, key.private_key_to_pem_pkcs8().unwrap()).unwrap();
        std::fs::write(&cert_path, cert.to_pem().unwrap()).unwrap();
        Self {
            key,
            cert,
            key_path,
            cert_path,
            _dir: dir,
        }
    }

    pub fn cert_pem(&self) -> String {
        String::from_utf8(self.cert.to_pem().unwrap()).unwrap()
    }

    pub fn signing_key(&self) -> saml_sp::dsig::SigningKey {
        saml_sp::dsig::SigningKey::new(self.key.clone(), Some(self.cert.clone()))
    }
}

/// Runs a command; a missing program fails the test (never skips it).
pub fn run(cmd: &mut Command) -> Output {
    match cmd.output() {
        Ok(o) => o,
        Err(e) => panic!(
            "cannot run {:?} ({e}); install the test peers with scripts/setup",
            cmd.get_program()
        ),
    }
}

/// The Python of the project venv (GATEHOUSE_VENV, else <root>/.venv).
pub fn python() -> PathBuf {
    let venv = std::env::var_os("GATEHOUSE_VENV").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv"),
        PathBuf::from,
    );
    let python = venv.join("bin/python");
    assert!(
        python.exists(),
        "{} is missing; run scripts/setup to create the venv with signxml and pysaml2",
        python.display()
    );
    python
}

/// Runs a Python script from tests/python with arguments; panics with its stderr on
/// failure and returns stdout.
pub fn python_script(script: &str, args: &[&str]) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/python")
        .join(script);
    let o = run(Command::new(python()).arg(path).args(args));
    assert!(
        o.status.success(),
        "{script} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}
