//! Connect scans of a sealed lab compared with its ground truth. The lab's shape and the
//! comparison helpers are shared with `lab_syn_scan`.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use crate::util::lab::{Lab, LabOptions, delta, require_root_netns};
use crate::util::sonde::{SONDE, open_pairs_from_ndjson, show};

/// The lab: a /20, so that a connect scan that waits out every silent address stays short.
pub(crate) const PREFIX: &str = "10.77.16.0/20";
/// Addresses in the prefix.
pub(crate) const ADDRESSES: u64 = 4096;
pub(crate) const PORTS: [u16; 3] = [22, 80, 443];
const OPEN_PAIRS: usize = 40;
const HOSTS_WITH_OPEN_PORTS: usize = 25;
/// Live hosts in total: the extra five have every port closed.
pub(crate) const LIVE_HOSTS: usize = 30;
/// A /24 of the lab holding live hosts; the second scan excludes it.
pub(crate) const EXCLUDED: &str = "10.77.20.0/24";
/// Live hosts placed inside [`EXCLUDED`].
const HOSTS_IN_EXCLUDED: usize = 4;
/// Seconds one scan may take in the lab.
pub(crate) const SCAN_LIMIT_SECS: u32 = 120;

/// Open pairs of the lab: fixed by a seed, spread over the /20, with [`HOSTS_IN_EXCLUDED`]
/// hosts in [`EXCLUDED`] and closed ports on most live hosts.
pub(crate) fn open_pairs() -> BTreeSet<(Ipv4Addr, u16)> {
    let mut rng = SplitMix64(0x5EED_0001);
    let mut hosts: Vec<Ipv4Addr> = Vec::new();
    while hosts.len() < HOSTS_WITH_OPEN_PORTS {
        let third = if hosts.len() < HOSTS_IN_EXCLUDED { 20 } else { 16 + rng.below(16) as u8 };
        // Never .0 or .255: some scanners skip those by default.
        let host = Ipv4Addr::new(10, 77, third, 1 + rng.below(254) as u8);
        if !hosts.contains(&host) {
            hosts.push(host);
        }
    }
    let mut pairs: BTreeSet<(Ipv4Addr, u16)> =
        hosts.iter().enumerate().map(|(i, &h)| (h, PORTS[i % PORTS.len()])).collect();
    while pairs.len() < OPEN_PAIRS {
        let host = hosts[rng.below(hosts.len() as u64) as usize];
        pairs.insert((host, PORTS[rng.below(PORTS.len() as u64) as usize]));
    }
    pairs
}

pub(crate) fn in_excluded(ip: Ipv4Addr) -> bool {
    ip.octets()[..3] == [10, 77, 20]
}

/// `sonde scan` of the whole lab, with `extra` flags.
fn scan_command<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut command = vec![
        SONDE,
        "scan",
        PREFIX,
        "-p",
        "22,80,443",
        "--engine",
        "connect",
        "-o",
        "ndjson",
        "--timeout",
        "300",
        "--retries",
        "1",
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

/// Fails with what is missing and what is extra when `found` is not `want`.
pub(crate) fn assert_same_pairs(what: &str, found: &BTreeSet<String>, want: &BTreeSet<String>) {
    let missing: Vec<_> = want.difference(found).collect();
    let unexpected: Vec<_> = found.difference(want).collect();
    assert!(
        missing.is_empty() && unexpected.is_empty(),
        "{what}: {} found, {} in the ground truth\nmissing (open but not reported): {missing:?}\n\
         unexpected (reported but not open): {unexpected:?}",
        found.len(),
        want.len()
    );
}

/// The lab both engines are checked against: [`open_pairs`] open, [`LIVE_HOSTS`] answering,
/// [`EXCLUDED`] counted. Returns it with its ground truth.
pub(crate) fn standard_lab() -> (Lab, BTreeSet<String>) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let open_file = dir.path().join("open.txt");
    let pairs = open_pairs();
    let lines: String = pairs.iter().map(|(ip, port)| format!("{ip}:{port}\n")).collect();
    std::fs::write(&open_file, lines).expect("write the open pairs");

    let lab = Lab::up(&LabOptions {
        prefix: PREFIX.into(),
        open_file,
        live_hosts: Some(LIVE_HOSTS),
        exclude: Some(EXCLUDED.into()),
    });
    let truth = lab.truth();
    assert_eq!(truth, show(&pairs), "the harness's ground truth differs from the open file");
    (lab, truth)
}

#[test]
fn lab_connect_scan_matches_ground_truth_needs_root_netns() {
    require_root_netns("lab_connect_scan_matches_ground_truth_needs_root_netns");
    let (lab, truth) = standard_lab();
    let pairs = open_pairs();

    // The whole lab: exactly the open pairs, and every pair probed.
    let before = lab.counters();
    let out = lab.exec(SCAN_LIMIT_SECS, &scan_command(&[]));
    out.assert_success();
    let seen = delta(&before, &lab.counters());
    assert_same_pairs(
        "connect scan of the lab",
        &show(&open_pairs_from_ndjson(&out.stdout)),
        &truth,
    );
    let probes = ADDRESSES * PORTS.len() as u64;
    assert!(
        seen["syn"] >= probes,
        "the target saw {} SYNs for {probes} (address, port) pairs: not every pair was probed \
         (counters {seen:?})",
        seen["syn"]
    );
    assert!(
        seen["closed"] > 0 && seen["dead"] > 0,
        "closed ports and silent addresses were not probed: {seen:?}"
    );

    // Excluding a /24 that holds live hosts: not one packet reaches it, nothing of it is
    // reported, the rest is unchanged.
    let want: BTreeSet<String> = pairs
        .iter()
        .filter(|(ip, _)| !in_excluded(*ip))
        .map(|(ip, port)| format!("{ip}:{port}"))
        .collect();
    assert!(want.len() < truth.len(), "the excluded /24 holds no open pairs; fix the test");
    let before = lab.counters();
    let out = lab.exec(SCAN_LIMIT_SECS, &scan_command(&["--exclude", EXCLUDED]));
    out.assert_success();
    let seen = delta(&before, &lab.counters());
    assert_eq!(seen["excluded"], 0, "packets reached the excluded range {EXCLUDED}: {seen:?}");
    let found = open_pairs_from_ndjson(&out.stdout);
    let leaked: Vec<_> = found.iter().filter(|(ip, _)| in_excluded(*ip)).collect();
    assert!(leaked.is_empty(), "excluded hosts reported: {leaked:?}");
    assert_same_pairs("connect scan with --exclude", &show(&found), &want);
}

/// A fixed-seed generator, so that the lab is the same on every run without a dependency.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number below `n` (the modulo bias is irrelevant here).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}
