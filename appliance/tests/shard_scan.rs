//! `sonde scan --shard I/N`: shards of one seed find every open port of 127.0.0.1 once.

use std::collections::BTreeSet;

use crate::util::sonde::{loopback_listeners, open_pairs_from_ndjson, sonde};

#[test]
fn shards_of_one_seed_find_every_open_port_once() {
    let (listeners, open) = loopback_listeners(6);
    let ports = open.iter().map(|(_, port)| port.to_string()).collect::<Vec<_>>().join(",");
    let mut found = Vec::new();
    for shard in ["1/3", "2/3", "3/3"] {
        let out = sonde(&[
            "scan",
            "127.0.0.1",
            "-p",
            &ports,
            "--engine",
            "connect",
            "--seed",
            "11",
            "--shard",
            shard,
            "-o",
            "ndjson",
        ]);
        out.assert_success();
        let pairs = open_pairs_from_ndjson(&out.stdout);
        assert_eq!(out.stdout.lines().count(), pairs.len(), "a pair twice in {shard}");
        found.extend(pairs);
    }
    assert_eq!(found.len(), open.len(), "{found:?}");
    assert_eq!(found.into_iter().collect::<BTreeSet<_>>(), open);
    let bad = sonde(&["scan", "127.0.0.1", "-p", &ports, "--shard", "4/3"]);
    assert_eq!(bad.code, Some(2), "{}", bad.transcript());
    assert!(bad.stderr.contains("--shard"), "{}", bad.transcript());
    drop(listeners);
}
