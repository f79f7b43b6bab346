//! SYN scans of a sealed lab compared with its ground truth: the same lab as `lab_scan`, scanned
//! with raw frames from inside the scanning namespace.

use std::collections::BTreeSet;

use crate::lab_scan::{
    ADDRESSES, EXCLUDED, PORTS, PREFIX, SCAN_LIMIT_SECS, assert_same_pairs, in_excluded,
    open_pairs, standard_lab,
};
use crate::util::lab::{delta, require_root_netns};
use crate::util::sonde::{SONDE, open_pairs_from_ndjson, show};

/// `sonde scan --engine syn -o FORMAT` of the whole lab, with `extra` flags.
fn scan_command<'a>(format: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut command = vec![
        SONDE,
        "scan",
        PREFIX,
        "-p",
        "22,80,443",
        "--engine",
        "syn",
        "-o",
        format,
        "--retries",
        "1",
        "--wait",
        "500",
        "--rate",
        "20000",
        "--seed",
        "1",
        // Discovery against the ground truth; identification has its own lab test.
        "--no-identify",
    ];
    command.extend_from_slice(extra);
    command
}

#[test]
fn lab_syn_scan_matches_ground_truth_needs_root_netns() {
    require_root_netns("lab_syn_scan_matches_ground_truth_needs_root_netns");
    let (lab, truth) = standard_lab();
    let pairs = open_pairs();

    // The whole lab: exactly the open pairs, every pair probed, and the JSON summary names
    // the engine that ran.
    let before = lab.counters();
    let out = lab.exec(SCAN_LIMIT_SECS, &scan_command("ndjson", &[]));
    out.assert_success();
    let seen = delta(&before, &lab.counters());
    assert_same_pairs("syn scan of the lab", &show(&open_pairs_from_ndjson(&out.stdout)), &truth);
    let probes = ADDRESSES * PORTS.len() as u64;
    assert!(
        seen["syn"] >= probes,
        "the target saw {} SYNs for {probes} (address, port) pairs: not every pair was probed \
         (counters {seen:?})",
        seen["syn"]
    );
    assert!(seen["closed"] > 0 && seen["dead"] > 0, "closed and silent pairs unprobed: {seen:?}");
    // The other send paths, with one sender and with two: the same pairs.
    for (path, senders) in
        [("tx-ring", "1"), ("tx-ring", "2"), ("io-uring", "1"), ("io-uring", "2")]
    {
        let extra = ["--send-path", path, "--senders", senders];
        let out = lab.exec(SCAN_LIMIT_SECS, &scan_command("ndjson", &extra));
        out.assert_success();
        let what = format!("syn scan through {path} with {senders} sender(s)");
        assert_same_pairs(&what, &show(&open_pairs_from_ndjson(&out.stdout)), &truth);
    }
    let json = lab.exec(SCAN_LIMIT_SECS, &scan_command("json", &[]));
    json.assert_success();
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).expect("one JSON document");
    assert_eq!(doc["scan"]["engine"], "syn", "{}", json.stdout);

    // Excluding a /24 that holds live hosts: not one frame reaches it, nothing of it is
    // reported, the rest is unchanged.
    let want: BTreeSet<String> = pairs
        .iter()
        .filter(|(ip, _)| !in_excluded(*ip))
        .map(|(ip, port)| format!("{ip}:{port}"))
        .collect();
    let before = lab.counters();
    let out = lab.exec(SCAN_LIMIT_SECS, &scan_command("ndjson", &["--exclude", EXCLUDED]));
    out.assert_success();
    let seen = delta(&before, &lab.counters());
    assert_eq!(seen["excluded"], 0, "frames reached the excluded range {EXCLUDED}: {seen:?}");
    let found = open_pairs_from_ndjson(&out.stdout);
    let leaked: Vec<_> = found.iter().filter(|(ip, _)| in_excluded(*ip)).collect();
    assert!(leaked.is_empty(), "excluded hosts reported: {leaked:?}");
    assert_same_pairs("syn scan with --exclude", &show(&found), &want);

    // Without CAP_NET_RAW: `--engine syn` refuses and says how to grant the capability;
    // `auto` falls back to connect, says so once, and still finds the open port.
    let (ip, port) = *pairs.iter().next().expect("the lab has open pairs");
    let (target, port) = (ip.to_string(), port.to_string());
    let unprivileged = |engine: &'static str| -> Vec<String> {
        [UNPRIVILEGED, &[SONDE, "scan", &target, "-p", &port, "--engine", engine, "-o", "json"]]
            .concat()
            .into_iter()
            .map(str::to_owned)
            .collect()
    };
    let refused = lab.exec(SCAN_LIMIT_SECS, &borrow(&unprivileged("syn")));
    assert_eq!(refused.code, Some(1), "{}", refused.transcript());
    assert!(
        refused.stderr.contains("CAP_NET_RAW") && refused.stderr.contains("setcap"),
        "the refusal should name the capability and how to grant it\n{}",
        refused.transcript()
    );
    let fallback = lab.exec(SCAN_LIMIT_SECS, &borrow(&unprivileged("auto")));
    fallback.assert_success();
    assert_eq!(
        fallback.stderr.matches("using the connect engine").count(),
        1,
        "auto should say once why it uses connect\n{}",
        fallback.transcript()
    );
    let doc: serde_json::Value = serde_json::from_str(&fallback.stdout).expect("one JSON document");
    assert_eq!(doc["scan"]["engine"], "connect", "{}", fallback.stdout);
    assert_eq!(doc["results"].as_array().map(Vec::len), Some(1), "{}", fallback.stdout);
}

/// Runs what follows as `nobody`, with no capabilities at all.
const UNPRIVILEGED: &[&str] =
    &["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all"];

fn borrow(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}
