//! Identification throughput with the built-in signatures loaded: the compiled set (anchor
//! automata, then regexes to confirm) side by side with the plain loop over the same
//! signatures' regexes, on short banners and on ~1.5 KB HTTP responses; and how long the
//! database takes to compile. The large set adds synthetic Sonde signatures, the Recog corpus
//! of `matcher/tests/recog/` and synthetic Recog fingerprints (see
//! `sonde_benches::matcher_inputs`). Inputs are built before measuring; nothing touches the network.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use sonde_benches::matcher_inputs::{BANNERS, http_inputs, large_sources};
use sonde_matcher::{Fields, Response, SignatureSet};

fn sets() -> Vec<(&'static str, SignatureSet)> {
    let builtin = SignatureSet::builtin().expect("built-in signatures compile");
    let sources = large_sources();
    let large = SignatureSet::from_sources(sources.iter().map(|(f, t)| (f.as_str(), t.as_str())))
        .expect("the large set compiles");
    vec![("builtin", builtin), ("builtin_synthetic_recog", large)]
}

fn identify(c: &mut Criterion) {
    let http = http_inputs();
    for (name, set) in sets() {
        eprintln!("{name}: {} signatures, {} without a usable anchor", set.len(), set.unanchored());
        let mut group = c.benchmark_group(format!("identify/{name}"));
        group.throughput(Throughput::Elements(BANNERS.len() as u64));
        group.bench_function(BenchmarkId::new("indexed", "banners"), |b| {
            b.iter(|| {
                BANNERS
                    .iter()
                    .filter(|(probe, port, data)| {
                        set.identify(*port, &[Response { probe, data: black_box(data) }]).is_some()
                    })
                    .count()
            })
        });
        group.bench_function(BenchmarkId::new("regex_loop", "banners"), |b| {
            b.iter(|| {
                BANNERS
                    .iter()
                    .filter(|(probe, port, data)| {
                        set.identify_exhaustive(*port, &[Response { probe, data: black_box(data) }])
                            .is_some()
                    })
                    .count()
            })
        });
        group.throughput(Throughput::Elements(http.len() as u64));
        group.bench_function(BenchmarkId::new("indexed", "http_1500b"), |b| {
            b.iter(|| {
                http.iter()
                    .filter(|(port, data)| {
                        set.identify(*port, &[Response { probe: "http", data: black_box(data) }])
                            .is_some()
                    })
                    .count()
            })
        });
        group.bench_function(BenchmarkId::new("regex_loop", "http_1500b"), |b| {
            b.iter(|| {
                http.iter()
                    .filter(|(port, data)| {
                        set.identify_exhaustive(
                            *port,
                            &[Response { probe: "http", data: black_box(data) }],
                        )
                        .is_some()
                    })
                    .count()
            })
        });
        group.finish();
    }
}

/// The share of an identification spent splitting responses into fields.
fn parse(c: &mut Criterion) {
    let http = http_inputs();
    let mut group = c.benchmark_group("fields");
    group.throughput(Throughput::Elements(http.len() as u64));
    group.bench_function("parse/http_1500b", |b| {
        b.iter(|| {
            http.iter()
                .map(|(_, data)| Fields::parse(black_box(data)).iter().count())
                .sum::<usize>()
        })
    });
    group.finish();
}

fn compile(c: &mut Criterion) {
    let sources = large_sources();
    let mut group = c.benchmark_group("compile");
    group.sample_size(10);
    group.bench_function("builtin", |b| b.iter(|| SignatureSet::builtin().map(|s| s.len())));
    group.bench_function("builtin_synthetic_recog", |b| {
        b.iter(|| {
            SignatureSet::from_sources(sources.iter().map(|(f, t)| (f.as_str(), t.as_str())))
                .map(|s| s.len())
        })
    });
    group.finish();
}

criterion_group!(benches, identify, parse, compile);
criterion_main!(benches);
