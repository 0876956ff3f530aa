//! SCIM filter parsing and evaluation throughput.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use gatehouse_benches::{SIMPLE_FILTER, filter_mix, sample_user};
use scim_core::filter::parse_filter;
use scim_core::schema::ResourceSchema;

fn parse_simple(c: &mut Criterion) {
    let mut g = c.benchmark_group("filter_parse");
    g.throughput(Throughput::Elements(1));
    g.bench_function("simple", |b| {
        b.iter(|| parse_filter(black_box(SIMPLE_FILTER)))
    });
    g.finish();
}

fn parse_mix(c: &mut Criterion) {
    let mix = filter_mix();
    let mut g = c.benchmark_group("filter_parse_mix");
    g.throughput(Throughput::Elements(mix.len() as u64));
    g.bench_function("all", |b| {
        b.iter(|| {
            for f in &mix {
                let _ = black_box(parse_filter(black_box(f)));
            }
        })
    });
    g.throughput(Throughput::Elements(1));
    for (i, f) in mix.iter().enumerate() {
        g.bench_function(format!("f{i}"), |b| b.iter(|| parse_filter(black_box(f))));
    }
    g.finish();
}

fn evaluate(c: &mut Criterion) {
    let schema = ResourceSchema::user();
    let user = sample_user();
    let mix = filter_mix();
    let mut g = c.benchmark_group("filter_match");
    g.throughput(Throughput::Elements(1));
    for (name, text) in [
        ("simple", SIMPLE_FILTER),
        ("value_path", mix[0]),
        ("not_or", mix[2]),
        ("datetime", mix[3]),
        ("extension", mix[4]),
    ] {
        let Ok(filter) = parse_filter(text) else {
            panic!("bench filter {name} does not parse");
        };
        g.bench_function(name, |b| {
            b.iter(|| black_box(&filter).matches(black_box(&user), &schema))
        });
    }
    g.finish();
}

criterion_group!(benches, parse_simple, parse_mix, evaluate);
criterion_main!(benches);
