//! Write throughput of the store on each backend: open ports persisted the way the Persister
//! does (`Store::persist`, one transaction per batch of `sonde::actors::BATCH`), into a store
//! that grows by every batch, so the later samples write into a store of about a million rows.
//! SQLite is a file in a temporary folder; PostgreSQL a throwaway server on a unix socket
//! (`sonde::pg_server`), so no packet leaves the machine.

use std::hint::black_box;
use std::net::Ipv4Addr;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use sonde::actors::BATCH;
use sonde::pg_server::PgServer;
use sonde::store::{NewScan, PortRecord, Store};
use sonde_scanner::Proto;
use tokio::runtime::Runtime;

/// Ports per host in the generated results: a busy /16 seen with the top 1000 ports.
const PORTS_PER_HOST: u32 = 1000;

fn persist(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    let mut group = c.benchmark_group("store");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.sample_size(10);

    let dir = tempfile::tempdir().expect("a temporary folder");
    let sqlite = rt.block_on(Store::open(dir.path())).expect("SQLite store");
    let mut next = 0u32;
    bench_backend(&mut group, &rt, &sqlite, "persist_batch/sqlite", &mut next);
    report_rows(&rt, &sqlite, "sqlite");

    let server = PgServer::start().expect("a PostgreSQL server (Debian's postgresql package)");
    let url = rt.block_on(server.fresh_database()).expect("a database");
    let postgres = rt.block_on(Store::connect(&url)).expect("PostgreSQL store");
    let mut next = 0u32;
    bench_backend(&mut group, &rt, &postgres, "persist_batch/postgres", &mut next);
    report_rows(&rt, &postgres, "postgres");
    group.finish();
    rt.block_on(postgres.close());
    drop(server);
}

fn bench_backend(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    rt: &Runtime,
    store: &Store,
    name: &str,
    next: &mut u32,
) {
    let scan = rt.block_on(store.create_scan(&NewScan {
        targets: vec!["10.0.0.0/8".into()],
        exclude: vec![],
        ports: "1-1000".into(),
        udp_ports: String::new(),
        rate: 1_000_000,
        seed: 1,
        probes_total: 1 << 34,
        created_by: None,
    }));
    let scan = scan.expect("a scan");
    group.bench_function(name, |b| {
        b.iter_batched(
            || batch(next),
            |records| rt.block_on(store.persist(scan, black_box(&records))).expect("persisted"),
            BatchSize::SmallInput,
        )
    });
}

/// The next `BATCH` distinct open ports, as the matcher hands them over (no banner).
fn batch(next: &mut u32) -> Vec<PortRecord> {
    (0..BATCH)
        .map(|_| {
            let n = *next;
            *next += 1;
            PortRecord {
                ip: Ipv4Addr::from(0x0a00_0000 + n / PORTS_PER_HOST),
                port: u16::try_from(1 + n % PORTS_PER_HOST).unwrap_or(1),
                proto: Proto::Tcp,
                rtt_ms: 0.4,
                banner: None,
                service: Some("http".into()),
                product: None,
                version: None,
                vendor: None,
                info: None,
                cpe: None,
                signature: None,
                confidence: Some(10),
                tls: None,
            }
        })
        .collect()
}

fn report_rows(rt: &Runtime, store: &Store, backend: &str) {
    if let Ok(counts) = rt.block_on(store.row_counts()) {
        let ports = counts.iter().find(|(t, _)| t == "ports").map_or(0, |(_, n)| *n);
        println!("store/{backend}: {ports} ports stored at the end");
    }
}

criterion_group!(benches, persist);
criterion_main!(benches);
