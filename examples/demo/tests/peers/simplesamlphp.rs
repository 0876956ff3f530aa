//! SimpleSAMLphp (Debian's `simplesamlphp` package) as a real SAML IdP on a loopback port:
//! PHP's built-in server on its `www` directory, with a configuration directory written to a
//! temporary directory (`SIMPLESAMLPHP_CONFIG_DIR`), a freshly generated signing key and the
//! `exampleauth:UserPass` source with one user. The SP is registered by converting the SP's
//! own metadata XML with SimpleSAMLphp's metadata parser.

#![allow(dead_code, unreachable_pub)]

#[path = "../../../../crates/saml-sp/tests/common/mod.rs"]
mod saml_common;

use std::io::Write as _;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Where Debian installs SimpleSAMLphp.
pub const INSTALL_DIR: &str = "/usr/share/simplesamlphp";
/// The user of the `exampleauth:UserPass` source.
pub const USERNAME: &str = "bjensen";

/// A running SimpleSAMLphp IdP; the PHP server is stopped on drop.
pub struct SimpleSamlPhp {
    /// `http://127.0.0.1:PORT/`.
    pub base: String,
    /// The password of [`USERNAME`] (random per run).
    pub password: String,
    dir: tempfile::TempDir,
    child: Child,
}

fn php() -> &'static str {
    "/usr/bin/php"
}

/// A self-signed RSA certificate and its key, both PEM (made by the saml-sp tests'
/// [`Identity`](saml_common::Identity)).
pub fn key_pair(common_name: &str) -> (String, String) {
    let identity = saml_common::Identity::rsa(2048, common_name);
    (
        identity.cert_pem(),
        String::from_utf8(identity.key.private_key_to_pem_pkcs8().unwrap()).unwrap(),
    )
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    openssl::rand::rand_bytes(&mut buf).unwrap();
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// A PHP single-quoted string literal.
fn php_str(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// The PHP value of a JSON value.
fn php_value(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => php_str(s),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(php_value).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(map) => format!(
            "[{}]",
            map.iter()
                .map(|(k, v)| format!("{} => {}", php_str(k), php_value(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

impl SimpleSamlPhp {
    /// Starts the IdP with `attributes` ({name: [values]}) for [`USERNAME`]. Panics (the test
    /// fails) when PHP or SimpleSAMLphp is not installed: run scripts/setup.
    pub fn start(attributes: &Value) -> Self {
        for path in [php(), INSTALL_DIR] {
            assert!(
                Path::new(path).exists(),
                "{path} is missing; run scripts/setup (Debian packages simplesamlphp and php-cli)"
            );
        }
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for sub in [
            "config", "metadata", "cert", "data", "tmp", "log", "sessions",
        ] {
            std::fs::create_dir(root.join(sub)).unwrap();
        }
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let base = format!("http://127.0.0.1:{port}/");
        let (cert, key) = key_pair("simplesamlphp idp");
        std::fs::write(root.join("cert/idp.crt"), &cert).unwrap();
        std::fs::write(root.join("cert/idp.key"), &key).unwrap();
        let password = random_hex(12);
        let p = |sub: &str| php_str(&format!("{}/{sub}", root.display()));
        let config = format!(
            r#"<?php
$config = [
    'baseurlpath' => {base},
    'certdir' => {cert},
    'loggingdir' => {log},
    'datadir' => {data},
    'tempdir' => {tmp},
    'metadatadir' => {metadata},
    'metadata.sources' => [['type' => 'flatfile', 'directory' => {metadata}]],
    'secretsalt' => {salt},
    'auth.adminpassword' => {admin},
    'admin.protectindexpage' => true,
    'admin.protectmetadata' => false,
    'admin.checkforupdates' => false,
    'technicalcontact_name' => 'Gatehouse tests',
    'technicalcontact_email' => 'na@example.org',
    'timezone' => 'UTC',
    'enable.saml20-idp' => true,
    'enable.shib13-idp' => false,
    'module.enable' => ['exampleauth' => true, 'core' => true, 'saml' => true, 'admin' => true],
    'store.type' => 'phpsession',
    'session.phpsession.savepath' => {sessions},
    'session.cookie.secure' => false,
    'session.cookie.samesite' => null,
    'logging.level' => SimpleSAML\Logger::DEBUG,
    'logging.handler' => 'file',
    'logging.logfile' => 'simplesamlphp.log',
    'showerrors' => true,
    'errorreporting' => false,
    'debug' => ['saml' => false, 'backtraces' => true, 'validatexml' => false],
    'trusted.url.domains' => ['127.0.0.1'],
    'language.available' => ['en'],
    'language.default' => 'en',
];
"#,
            base = php_str(&base),
            cert = p("cert/"),
            log = p("log/"),
            data = p("data/"),
            tmp = p("tmp"),
            metadata = p("metadata/"),
            sessions = p("sessions"),
            salt = php_str(&random_hex(16)),
            admin = php_str(&random_hex(16)),
        );
        std::fs::write(root.join("config/config.php"), config).unwrap();
        let authsources = format!(
            "<?php\n$config = [\n    'admin' => ['core:AdminPassword'],\n    'example-userpass' => ['exampleauth:UserPass', {} => {}],\n];\n",
            php_str(&format!("{USERNAME}:{password}")),
            php_value(attributes),
        );
        std::fs::write(root.join("config/authsources.php"), authsources).unwrap();
        let hosted = "<?php\n$metadata['__DYNAMIC:1__'] = [\n    'host' => '__DEFAULT__',\n    'privatekey' => 'idp.key',\n    'certificate' => 'idp.crt',\n    'auth' => 'example-userpass',\n    'SingleSignOnServiceBinding' => ['urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect', 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST'],\n    'signature.algorithm' => 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',\n];\n";
        std::fs::write(root.join("metadata/saml20-idp-hosted.php"), hosted).unwrap();
        std::fs::write(root.join("metadata/saml20-sp-remote.php"), "<?php\n").unwrap();

        let log = std::fs::File::create(root.join("php-server.log")).unwrap();
        // No opcode cache: configuration and metadata files written while the server runs
        // (`register_sp`, `trust_host`) are read by the next request.
        let child = Command::new(php())
            .arg("-d")
            .arg("opcache.enable=0")
            .arg("-S")
            .arg(format!("127.0.0.1:{port}"))
            .arg("-t")
            .arg(format!("{INSTALL_DIR}/www"))
            .env("SIMPLESAMLPHP_CONFIG_DIR", root.join("config"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let idp = Self {
            base,
            password,
            dir,
            child,
        };
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            assert!(
                Instant::now() < deadline,
                "php -S did not listen: {}",
                idp.server_log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        idp
    }

    /// The IdP's entity id (the URL of its metadata).
    pub fn entity_id(&self) -> String {
        format!("{}saml2/idp/metadata.php", self.base)
    }

    /// The IdP's SSO endpoint (both bindings).
    pub fn sso_url(&self) -> String {
        format!("{}saml2/idp/SSOService.php", self.base)
    }

    /// The IdP's Single Logout endpoint (Redirect binding; also where a logout started at
    /// the IdP begins, with `?ReturnTo=`).
    pub fn slo_url(&self) -> String {
        format!("{}saml2/idp/SingleLogoutService.php", self.base)
    }

    /// Lets SimpleSAMLphp redirect to `host_port` (`127.0.0.1:PORT`; its
    /// `trusted.url.domains` compare the port too), as a logout's `ReturnTo` needs.
    pub fn trust_host(&self, host_port: &str) {
        let path = self.dir.path().join("config/config.php");
        let mut config = std::fs::read_to_string(&path).unwrap();
        config.push_str(&format!(
            "$config['trusted.url.domains'][] = {};\n",
            php_str(host_port)
        ));
        std::fs::write(path, config).unwrap();
    }

    /// What PHP's server and SimpleSAMLphp logged, for failure messages.
    pub fn server_log(&self) -> String {
        let mut out =
            std::fs::read_to_string(self.dir.path().join("php-server.log")).unwrap_or_default();
        out.push_str(
            &std::fs::read_to_string(self.dir.path().join("log/simplesamlphp.log"))
                .unwrap_or_default(),
        );
        out
    }

    /// Registers an SP from its metadata XML, converted by SimpleSAMLphp's own metadata
    /// parser into `saml20-sp-remote.php`, with the `extra` settings ({option: value}, such
    /// as `assertion.encryption`) added. Returns the converted entry as PHP wrote it.
    pub fn register_sp(&self, metadata_xml: &str, extra: &Value) -> String {
        let root = self.dir.path();
        let xml_path = root.join("sp-metadata.xml");
        std::fs::write(&xml_path, metadata_xml).unwrap();
        let script = format!(
            r#"<?php
require {autoload};
$xml = file_get_contents($argv[1]);
$entities = \SimpleSAML\Metadata\SAMLParser::parseDescriptorsString($xml);
$out = "<?php\n";
foreach ($entities as $entityId => $entity) {{
    $md = $entity->getMetadata20SP();
    if ($md === null) {{
        fwrite(STDERR, "not SP metadata\n");
        exit(1);
    }}
    unset($md['entityDescriptor'], $md['expire']);
    $md = array_merge($md, {extra});
    $out .= '$metadata[' . var_export($entityId, true) . '] = ' . var_export($md, true) . ";\n";
}}
file_put_contents($argv[2], $out);
echo $out;
"#,
            autoload = php_str(&format!("{INSTALL_DIR}/lib/_autoload.php")),
            extra = php_value(extra),
        );
        let script_path: PathBuf = root.join("convert.php");
        let mut f = std::fs::File::create(&script_path).unwrap();
        f.write_all(script.as_bytes()).unwrap();
        drop(f);
        let out = Command::new(php())
            .arg(&script_path)
            .arg(&xml_path)
            .arg(root.join("metadata/saml20-sp-remote.php"))
            .env("SIMPLESAMLPHP_CONFIG_DIR", root.join("config"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "metadata conversion failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }
}

impl Drop for SimpleSamlPhp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
