//! Exports the matcher benchmark's patterns and inputs for another engine, and measures
//! Sonde on them in the same run, one thread: the Rust half of `benches/hyperscan_compare.py`.
//!
//! `cargo run --release -p sonde-benches --bin matcher-export -- OUT.json [SECONDS]`
//! writes `{ "patterns": [{probe, field, regex}] (priority order), "banners"/"http": [[{probe,
//! field, value}] per input], "sonde": {set, signatures, banners_per_s, http_per_s} }`.
//! Inputs are exported already split into fields, so the other engine is not charged for
//! parsing; Sonde's figure includes it.

use std::hint::black_box;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sonde_benches::matcher_inputs::{BANNERS, http_inputs, large_sources};
use sonde_matcher::{Fields, Response, SignatureSet};

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(out) = args.next() else {
        eprintln!("usage: matcher-export OUT.json [SECONDS]");
        std::process::exit(2);
    };
    let seconds: f64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(3.0);
    let sources = large_sources();
    let started = Instant::now();
    let cpu_started = thread_cpu_s();
    let set = SignatureSet::from_sources(sources.iter().map(|(f, t)| (f.as_str(), t.as_str())))
        .unwrap_or_else(|e| {
            eprintln!("matcher-export: {e}");
            std::process::exit(1)
        });
    let compile_s = started.elapsed().as_secs_f64();
    let compile_cpu_s = thread_cpu_s() - cpu_started;

    let banners: Vec<(&str, u16, Vec<u8>)> =
        BANNERS.iter().map(|(p, port, d)| (*p, *port, d.to_vec())).collect();
    let http: Vec<(&str, u16, Vec<u8>)> =
        http_inputs().into_iter().map(|(port, d)| ("http", port, d)).collect();
    let budget = Duration::from_secs_f64(seconds);
    let banners_per_s = rate(&set, &banners, budget);
    let http_per_s = rate(&set, &http, budget);

    let patterns: Vec<Value> = set
        .patterns()
        .map(|(probe, field, regex)| json!({ "probe": probe, "field": field, "regex": regex }))
        .collect();
    let doc = json!({
        "patterns": patterns,
        "banners": fields(&banners),
        "http": fields(&http),
        "sonde": {
            "set": "builtin_synthetic_recog",
            "signatures": set.len(),
            "untranslatable_recog": set.untranslatable().len(),
            "compile_s": compile_s,
            "compile_cpu_s": compile_cpu_s,
            "banners_per_s": banners_per_s,
            "http_per_s": http_per_s,
        },
    });
    if let Err(e) = std::fs::write(&out, doc.to_string()) {
        eprintln!("matcher-export: cannot write {out}: {e}");
        std::process::exit(1);
    }
}

/// Identifications per second of this thread's CPU time over `inputs`, repeated for at least
/// `budget` of wall time. CPU time rather than wall time, so that other processes on a shared
/// machine do not count against either engine (the Python side measures the same way).
fn rate(set: &SignatureSet, inputs: &[(&str, u16, Vec<u8>)], budget: Duration) -> f64 {
    let started = Instant::now();
    let cpu_started = thread_cpu_s();
    let mut done = 0u64;
    while started.elapsed() < budget {
        for (probe, port, data) in inputs {
            black_box(set.identify(*port, &[Response { probe, data: black_box(data) }]));
        }
        done += inputs.len() as u64;
    }
    done as f64 / (thread_cpu_s() - cpu_started).max(1e-9)
}

/// CPU seconds used by this thread (user + system), from `/proc/thread-self/stat`; 0 where
/// that file cannot be read.
fn thread_cpu_s() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/thread-self/stat") else { return 0.0 };
    // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 =
        fields.get(11..13).map_or(0.0, |f| f.iter().filter_map(|t| t.parse::<f64>().ok()).sum());
    // USER_HZ is 100 on every Linux ABI Sonde runs on.
    ticks / 100.0
}

/// Each input split into fields, as the matcher sees it.
fn fields(inputs: &[(&str, u16, Vec<u8>)]) -> Vec<Value> {
    inputs
        .iter()
        .map(|(probe, port, data)| {
            let values: Vec<Value> = Fields::parse(data)
                .iter()
                .map(|(field, value)| json!({ "probe": probe, "field": field, "value": value }))
                .collect();
            json!({ "port": port, "fields": values })
        })
        .collect()
}
