//! Validates the bench's signed SAML Response in a loop on one thread and prints the rate;
//! with a folder argument it first writes `response.xml` and `idp-cert.pem` there, so that
//! `compare/saml_response.py` validates the very same response with python3-saml.
//!
//! Usage: `cargo run --release -p gatehouse-benches --example saml_validate_loop [DIR] [SECONDS] [COUNT]`
//!
//! `DIR` `-` writes nothing. With `COUNT`, exactly that many validations run (after one
//! warm-up validation) and no time limit applies, so that `valgrind --tool=callgrind` counts
//! the instructions of a known number of validations.

use std::hint::black_box;
use std::time::{Duration, Instant};

use gatehouse_benches::saml::{NOW, signed_response};
use saml_sp::ValidationOptions;
use saml_sp::response::check_response;

fn main() {
    let (xml, key, sp, idp) = signed_response();
    if let Some(dir) = std::env::args().nth(1).filter(|d| d != "-") {
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
    let count: Option<u64> = std::env::args().nth(3).and_then(|s| s.parse().ok());
    let options = ValidationOptions::default();
    check_response(xml.as_bytes(), &sp, &idp, &options, &[], NOW).expect("the response is valid");

    if let Some(count) = count {
        for _ in 0..count {
            black_box(check_response(
                black_box(xml.as_bytes()),
                &sp,
                &idp,
                &options,
                &[],
                NOW,
            ))
            .expect("the response is valid");
        }
        println!(
            "gatehouse-saml-sp: {count} validations ({} bytes)",
            xml.len()
        );
        return;
    }

    let start = Instant::now();
    let cpu_start = thread_cpu_secs();
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
    let cpu_rate = rounds as f64 / (thread_cpu_secs() - cpu_start);
    println!(
        "gatehouse-saml-sp: {rate:.0} validations/s, {cpu_rate:.0} per second of CPU time ({} bytes)",
        xml.len()
    );
}

/// This thread's CPU time in seconds, from `/proc/thread-self/schedstat` (nanoseconds):
/// on a shared machine, time spent waiting for the core is left out, as `openssl speed`
/// leaves it out.
fn thread_cpu_secs() -> f64 {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").expect("schedstat (Linux)");
    let nanos: u64 = text
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .expect("schedstat CPU time");
    nanos as f64 / 1e9
}
