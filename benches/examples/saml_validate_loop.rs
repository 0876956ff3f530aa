//! Validates the bench's signed SAML Response in a loop on one thread and prints the rate;
//! with a folder argument it first writes `response.xml` and `idp-cert.pem` there, so that
//! `compare/saml_response.py` validates the very same response with python3-saml.
//!
//! Usage: `cargo run --release -p gatehouse-benches --example saml_validate_loop [DIR] [SECONDS]`

use std::hint::black_box;
use std::time::{Duration, Instant};

use gatehouse_benches::saml::{NOW, signed_response};
use saml_sp::ValidationOptions;
use saml_sp::response::check_response;

fn main() {
    let (xml, key, sp, idp) = signed_response();
    if let Some(dir) = std::env::args().nth(1) {
        let dir = std::path::Path::new(&dir);
        std::fs::write(dir.join("response.xml"), &xml).expect("write response.xml");
        let pem = key
            .certificate()
            .and_then(|c| c.to_pem().ok())
            .expect("certificate PEM");
        std::fs::write(dir.join("idp-cert.pem"), pem).expect("write idp-cert.pem");
    }
    let seconds: u64 = std::env::args()
        .nth(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let options = ValidationOptions::default();
    check_response(xml.as_bytes(), &sp, &idp, &options, &[], NOW).expect("the response is valid");

    let start = Instant::now();
    let mut rounds = 0u64;
    while start.elapsed() < Duration::from_secs(seconds) {
        for _ in 0..100 {
            let _ = black_box(check_response(
                black_box(xml.as_bytes()),
                &sp,
                &idp,
                &options,
                &[],
                NOW,
            ));
        }
        rounds += 100;
    }
    let rate = rounds as f64 / start.elapsed().as_secs_f64();
    println!(
        "gatehouse-saml-sp: {rate:.0} validations/s ({} bytes)",
        xml.len()
    );
}
