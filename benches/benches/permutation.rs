//! What walking a scan costs before any packet: the keyed permutation, the probe it maps to,
//! target parsing and lookup, and the pacer's fast path. Nothing here touches the network.

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use sonde_scanner::{Pacer, Permutation, PortList, ScanPlan, TargetSet, default_excludes};

/// Indexes per measured iteration, so loop overhead and timer reads stay out of the figure.
const BATCH: u64 = 4096;

/// The two domains the figures are quoted for: (name, targets, ports).
const DOMAINS: [(&str, &str, &str); 2] =
    [("slash8_x3", "10.0.0.0/8", "22,80,443"), ("slash16_x1000", "10.20.0.0/16", "top1000")];

fn plan(targets: &str, ports: &str) -> ScanPlan {
    let targets = TargetSet::parse(&[targets.to_string()]).expect("valid targets");
    let ports = match ports {
        "top1000" => PortList::top(1000),
        spec => PortList::parse(spec),
    }
    .expect("valid ports");
    ScanPlan::new(targets, ports, 0x5eed)
}

fn permutation(c: &mut Criterion) {
    let mut group = c.benchmark_group("permutation");
    group.throughput(Throughput::Elements(BATCH));
    for (name, targets, ports) in DOMAINS {
        let plan = plan(targets, ports);
        let perm = Permutation::new(plan.len(), 0x5eed);
        // Start mid-walk: nothing special happens at index 0, but be fair anyway.
        let start = plan.len() / 3;
        group.bench_with_input(BenchmarkId::new("nth", name), &perm, |b, perm| {
            b.iter(|| (start..start + BATCH).fold(0, |acc, i| acc ^ perm.nth(black_box(i))))
        });
        group.bench_with_input(BenchmarkId::new("probe", name), &plan, |b, plan| {
            b.iter(|| {
                (start..start + BATCH).fold(0u32, |acc, i| {
                    let probe = plan.probe(black_box(i));
                    acc ^ u32::from(probe.ip) ^ u32::from(probe.port)
                })
            })
        });
    }
    group.finish();
}

fn targets(c: &mut Criterion) {
    // A realistic operator list: big blocks, a few hundred /24s, ranges and single hosts,
    // minus reserved space.
    let mut specs = vec!["10.0.0.0/8".to_string(), "172.16.0.0/12".to_string()];
    specs.extend((0..=255).map(|i| format!("192.168.{i}.0/24")));
    specs.extend((0..64).map(|i| format!("198.51.{i}.10-200")));
    specs.extend((0..64).map(|i| format!("203.0.113.{i}")));
    let parsed = TargetSet::parse(&specs).expect("valid targets");
    let excludes = default_excludes();

    let mut group = c.benchmark_group("targets");
    group.throughput(Throughput::Elements(specs.len() as u64));
    group.bench_function("parse_and_exclude", |b| {
        b.iter(|| TargetSet::parse(black_box(&specs)).expect("valid").exclude(&excludes))
    });

    let scattered = TargetSet::parse(
        &(0..1024).map(|i| format!("10.{}.{}.1-9", i / 256, i % 256)).collect::<Vec<_>>(),
    )
    .expect("valid targets");
    group.throughput(Throughput::Elements(BATCH));
    for (name, set) in [("operator_list", &parsed), ("1024_ranges", &scattered)] {
        let step = (set.len() / BATCH).max(1);
        group.bench_with_input(BenchmarkId::new("nth", name), set, |b, set| {
            b.iter(|| {
                (0..BATCH)
                    .fold(0u32, |acc, i| acc ^ set.nth(black_box(i * step)).map_or(0, u32::from))
            })
        });
    }
    group.finish();
}

fn pacer(c: &mut Criterion) {
    let unlimited = Pacer::new(0);
    let mut cx = Context::from_waker(Waker::noop());
    let mut group = c.benchmark_group("pacer");
    group.throughput(Throughput::Elements(BATCH));
    group.bench_function("acquire_unlimited", |b| {
        b.iter(|| {
            for _ in 0..BATCH {
                // An unlimited pacer is ready at the first poll, so no runtime is needed.
                let ready = pin!(black_box(&unlimited).acquire()).poll(&mut cx);
                assert_eq!(ready, Poll::Ready(()));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, permutation, targets, pacer);
criterion_main!(benches);
