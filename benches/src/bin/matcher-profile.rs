//! A fixed amount of matcher work for instruction-count profiling, which stays repeatable on
//! a loaded machine where timings do not:
//!
//! `valgrind --tool=callgrind target/release/matcher-profile http 2000`
//!
//! Loads the 4,667-signature set of the Hyperscan comparison, identifies every input once to
//! compile the regexes it needs, then identifies `http` or `banners` inputs `ROUNDS` times.

use std::hint::black_box;

use sonde_benches::matcher_inputs::{BANNERS, http_inputs, large_sources};
use sonde_matcher::{Response, SignatureSet};

fn main() {
    let mut args = std::env::args().skip(1);
    let which = args.next().unwrap_or_else(|| "http".into());
    let rounds: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(1000);
    let sources = large_sources();
    let set = SignatureSet::from_sources(sources.iter().map(|(f, t)| (f.as_str(), t.as_str())))
        .unwrap_or_else(|e| {
            eprintln!("matcher-profile: {e}");
            std::process::exit(1)
        });
    let inputs: Vec<(&str, u16, Vec<u8>)> = match which.as_str() {
        "banners" => BANNERS.iter().map(|(p, port, d)| (*p, *port, d.to_vec())).collect(),
        "http" => http_inputs().into_iter().map(|(port, d)| ("http", port, d)).collect(),
        other => {
            eprintln!("matcher-profile: unknown input set {other:?}: use http or banners");
            std::process::exit(2)
        }
    };
    let run = |rounds: usize| {
        let mut found = 0usize;
        for _ in 0..rounds {
            for (probe, port, data) in &inputs {
                let m = set.identify(*port, &[Response { probe, data: black_box(data) }]);
                found += usize::from(black_box(m).is_some());
            }
        }
        found
    };
    run(1);
    println!("{} identifications, {} named", rounds * inputs.len(), run(rounds));
}
