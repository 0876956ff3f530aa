//! Prints ID token validations per second of CPU time (cached keys, one thread) for the
//! RS256 and ES256 bench tokens, as `rs256 <rate>` and `es256 <rate>` lines;
//! `compare/oidc_rates.sh` sets them beside `openssl speed` and the `jose` npm package.
//!
//! CPU time, not wall time, because that is what `openssl speed` counts (its default user
//! time), so that on a shared machine both rates leave out the time the thread waited.

use std::hint::black_box;
use std::time::{Duration, Instant};

use gatehouse_benches::{OIDC_CLIENT_ID, OIDC_ISSUER, OIDC_NOW, OIDC_TOKENS_JSON};
use oidc_rp::{Expectations, JwkSet, ValidationConfig, validate_id_token};
use serde_json::Value;

fn main() {
    let seconds: f64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(3.0);
    let doc: Value = serde_json::from_str(OIDC_TOKENS_JSON).expect("tokens file");
    let jwks = JwkSet::from_json(doc["jwks"].to_string().as_bytes()).expect("jwks");
    let config = ValidationConfig::new(OIDC_ISSUER, OIDC_CLIENT_ID);
    let nonce = doc["nonce"].as_str().expect("nonce");
    let expect = Expectations {
        nonce: Some(nonce),
        ..Expectations::default()
    };
    for alg in ["rs256", "es256"] {
        let token = doc[alg].as_str().expect("token");
        validate_id_token(token, &jwks, &config, &expect, OIDC_NOW).expect("valid token");
        let budget = Duration::from_secs_f64(seconds);
        let start = Instant::now();
        let cpu_start = thread_cpu_secs();
        let mut n = 0u64;
        while start.elapsed() < budget {
            for _ in 0..64 {
                let _ = black_box(validate_id_token(
                    black_box(token),
                    &jwks,
                    &config,
                    &expect,
                    OIDC_NOW,
                ));
            }
            n += 64;
        }
        let cpu = thread_cpu_secs() - cpu_start;
        println!("{alg} {:.0}", n as f64 / cpu);
    }
}

/// This thread's CPU time in seconds, from `/proc/thread-self/schedstat` (nanoseconds).
fn thread_cpu_secs() -> f64 {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").expect("schedstat (Linux)");
    let ns: u64 = text
        .split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .expect("schedstat CPU time");
    ns as f64 / 1e9
}
