//! `sonde scan --resume`: a connect scan of 127.0.0.1 killed with SIGKILL continues from its
//! checkpoint, and together the two runs report exactly the open ports.

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, TcpListener};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::sonde::{
    Pair, SONDE, loopback_listeners, open_pair_from_result, open_pairs_from_ndjson, sonde,
};

const LOOPBACK: Ipv4Addr = Ipv4Addr::LOCALHOST;
/// Pairs in the plan; at `RATE` probes per second the scan lasts several seconds.
const PORTS: usize = 40;
const RATE: &str = "10";

#[test]
fn a_killed_scan_resumes_from_its_checkpoint() {
    let (listeners, open) = loopback_listeners(5);
    let mut ports: BTreeSet<u16> = open.iter().map(|&(_, port)| port).collect();
    while ports.len() < PORTS {
        // Closed now: bound by the kernel's choice, then released.
        let closed = TcpListener::bind((LOOPBACK, 0)).unwrap().local_addr().unwrap().port();
        ports.insert(closed);
    }
    let ports = ports.iter().map(u16::to_string).collect::<Vec<_>>().join(",");
    let dir = tempfile::tempdir().unwrap();
    let resume = dir.path().join("scan.resume");
    let resume_arg = resume.to_str().unwrap().to_string();
    let scan = |output: &str| {
        [
            "scan",
            "127.0.0.1",
            "-p",
            &ports,
            "--engine",
            "connect",
            "--rate",
            RATE,
            "--seed",
            "7",
            "--timeout",
            "500",
            "--resume",
            &resume_arg,
            "-o",
            output,
        ]
        .map(str::to_string)
    };

    let first_out = dir.path().join("first.ndjson");
    let mut first = Command::new(SONDE)
        .args(scan("ndjson"))
        .env_remove("SONDE_LOG")
        .stdout(Stdio::from(std::fs::File::create(&first_out).unwrap()))
        .stderr(Stdio::null())
        .spawn()
        .expect("start sonde");
    let deadline = Instant::now() + Duration::from_secs(30);
    let settled = loop {
        let saved = std::fs::read_to_string(&resume)
            .ok()
            .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
            .and_then(|doc| doc["settled_below"].as_u64());
        if let Some(n) = saved.filter(|&n| n >= 5) {
            break n;
        }
        assert!(first.try_wait().unwrap().is_none(), "the first run ended before a checkpoint");
        assert!(Instant::now() < deadline, "no checkpoint past 5 probes within 30 s");
        std::thread::sleep(Duration::from_millis(50));
    };
    first.kill().expect("SIGKILL the first run");
    first.wait().unwrap();
    assert!(settled < PORTS as u64, "the first run settled everything before the kill");
    let first_found = open_pairs_from_ndjson(&std::fs::read_to_string(&first_out).unwrap());

    // Another scan must not take over this file.
    let mut other = scan("ndjson");
    other[9] = "8".into();
    let refused = sonde(&other.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(refused.code, Some(2), "{}", refused.transcript());
    assert!(refused.stderr.contains("another scan"), "{}", refused.transcript());

    let second = sonde(&scan("json").iter().map(String::as_str).collect::<Vec<_>>());
    second.assert_success();
    let doc: serde_json::Value = serde_json::from_str(&second.stdout).unwrap();
    let second_found: BTreeSet<Pair> =
        doc["results"].as_array().unwrap().iter().filter_map(open_pair_from_result).collect();
    let sent = doc["scan"]["sent"].as_u64().unwrap();
    assert!(sent < PORTS as u64, "the resumed run sent {sent} probes, the whole plan is {PORTS}");
    let union: BTreeSet<Pair> = first_found.union(&second_found).copied().collect();
    assert_eq!(union, open, "{}", second.transcript());
    assert!(!resume.exists(), "a finished scan leaves its resume file behind");
    drop(listeners);
}
