//! Parses the bench filters in a tight loop, for profiling with `perf stat` / `perf record`
//! on a busy machine where wall-clock benches are noisy.

use std::hint::black_box;
use std::time::Instant;

use gatehouse_benches::{SIMPLE_FILTER, filter_mix};
use scim_core::filter::parse_filter;

fn main() {
    let which = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "simple".to_owned());
    let n: u64 = std::env::args()
        .nth(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or(5_000_000);
    let inputs: Vec<&str> = if which == "mix" {
        filter_mix()
    } else {
        vec![SIMPLE_FILTER]
    };
    let start = Instant::now();
    for _ in 0..n {
        for f in &inputs {
            let _ = black_box(parse_filter(black_box(f)));
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let parses = n as f64 * inputs.len() as f64;
    println!("{which}: {:.0} parses/s wall-clock", parses / secs);
}
