//! Host names in the lab: reverse DNS from a real resolver and names the services give.
//!
//! The daemons lab (`benches/lab/daemons`) runs dnsmasq with a PTR record for the daemons'
//! address, Exim greeting as `220 lab.invalid ESMTP Exim ...`, nginx with a certificate for
//! `lab.sonde.invalid` and Samba as `SONDE-LAB-SMB` (its NTLMSSP challenge). `sonde serve`
//! (with `[dns] servers`) must name the host from all four, each with its source, and
//! `sonde scan --dns-server` from its PTR record. Then the resolver is made silent
//! (nftables drops DNS in the target namespace): names stop coming, and the scan takes no
//! longer than max(2 s, 50 %) more than with the resolver answering.

use std::time::Instant;

use crate::util::lab::{Lab, require_root_netns};
use crate::util::sonde::SONDE;

const PREFIX: &str = "10.77.43.0/24";
/// Where the daemons (dnsmasq among them) listen.
const DAEMONS: &str = "10.77.43.10";
/// The PTR name dnsmasq serves for `DAEMONS`.
const PTR_NAME: &str = "daemons.lab.sonde.invalid";
/// Port 53 stays out: the silent run drops it, and both runs must probe the same thing.
const PORTS: &str = "21,22,25,80,443,445,8080";
const SERVE_SCAN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../benches/lab/serve_scan.py");

/// One `sonde serve` scan with `[dns] servers = [DAEMONS]`: each host's names, and the scan's
/// duration from the API's started and finished times.
fn serve_scan(lab: &Lab) -> (serde_json::Map<String, serde_json::Value>, f64) {
    let wall = tempfile::NamedTempFile::new().expect("a temporary file");
    let wall_path = wall.path().to_str().expect("a UTF-8 temporary path");
    let out = lab.exec(
        120,
        &[SERVE_SCAN, SONDE, PREFIX, PORTS, "2000", "1", "1000", "1", wall_path, "names", DAEMONS],
    );
    out.assert_success();
    let mut hosts = serde_json::Map::new();
    for line in out.stdout.lines().filter(|l| !l.trim().is_empty()) {
        let host: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("host line is not JSON ({e}): {line}"));
        let ip = host["ip"].as_str().unwrap_or("?").to_owned();
        hosts.insert(ip, host["hostnames"].clone());
    }
    let times = std::fs::read_to_string(wall.path()).expect("the wall file");
    let seconds: f64 = times
        .split_whitespace()
        .nth(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no API duration in the wall file: {times:?}"));
    (hosts, seconds)
}

/// One `sonde scan --dns-server DAEMONS -o json`: the document and the run's wall time.
fn cli_scan(lab: &Lab) -> (serde_json::Value, f64) {
    let started = Instant::now();
    let scan = lab.exec(
        120,
        &[
            SONDE,
            "scan",
            PREFIX,
            "-p",
            PORTS,
            "--engine",
            "connect",
            "--seed",
            "1",
            "--dns-server",
            DAEMONS,
            "-o",
            "json",
        ],
    );
    let seconds = started.elapsed().as_secs_f64();
    scan.assert_success();
    let doc = serde_json::from_str(&scan.stdout)
        .unwrap_or_else(|e| panic!("sonde scan -o json is not JSON ({e}):\n{}", scan.stdout));
    (doc, seconds)
}

/// The `hostname` of the first result row of `ip`.
fn cli_name(doc: &serde_json::Value, ip: &str) -> Option<String> {
    doc["results"]
        .as_array()
        .expect("a results array")
        .iter()
        .find(|r| r["ip"] == ip)
        .and_then(|r| r["hostname"].as_str().map(str::to_owned))
}

#[test]
fn names_from_dns_and_services_needs_root_netns() {
    require_root_netns("names_from_dns_and_services_needs_root_netns");
    let lab = Lab::up_with_daemons(PREFIX, DAEMONS, 2);

    // The resolver answers.
    let (hosts, normal) = serve_scan(&lab);
    let names = hosts.get(DAEMONS).unwrap_or_else(|| panic!("{DAEMONS} not stored: {hosts:?}"));
    let has = |name: &str, source: &str| {
        names
            .as_array()
            .is_some_and(|all| all.iter().any(|n| n["name"] == name && n["source"] == source))
    };
    assert!(has(PTR_NAME, "dns"), "no PTR name: {names}");
    assert!(has("lab.invalid", "smtp"), "no name from Exim's greeting: {names}");
    assert!(has("lab.sonde.invalid", "tls"), "no name from nginx's certificate: {names}");
    assert!(has("sonde-lab-smb", "smb"), "no name from Samba's NTLMSSP challenge: {names}");
    // Most trusted first: the PTR name leads.
    assert_eq!(names[0]["source"], "dns", "{names}");
    let (doc, cli_normal) = cli_scan(&lab);
    assert_eq!(cli_name(&doc, DAEMONS).as_deref(), Some(PTR_NAME), "{doc}");

    // The resolver is silent: DNS to it is dropped before dnsmasq sees it.
    for rule in [
        &["nft", "add", "table", "inet", "sonde_dns_silence"][..],
        &[
            "nft",
            "add chain inet sonde_dns_silence input { type filter hook input priority -10 ; }",
        ],
        &["nft", "add rule inet sonde_dns_silence input udp dport 53 drop"],
        &["nft", "add rule inet sonde_dns_silence input tcp dport 53 drop"],
    ] {
        lab.exec_in_target(rule).assert_success();
    }
    let (hosts, silent) = serve_scan(&lab);
    let names = &hosts[DAEMONS];
    assert!(!has_source(names, "dns"), "a DNS name with the resolver silent: {names}");
    let (doc, cli_silent) = cli_scan(&lab);
    assert_eq!(cli_name(&doc, DAEMONS), None, "{doc}");

    eprintln!(
        "scan duration, resolver answering vs silent: sonde serve {normal:.2} s vs {silent:.2} s \
         (API started/finished); sonde scan {cli_normal:.2} s vs {cli_silent:.2} s (wall)"
    );
    let bound = |base: f64| base + (base * 0.5).max(2.0);
    assert!(
        silent <= bound(normal),
        "sonde serve's scan took {silent:.2} s with the resolver silent, {normal:.2} s without"
    );
    // `sonde scan` waits at most one lookup timeout (2 s) for names still on their way.
    assert!(
        cli_silent <= bound(cli_normal) + 0.5,
        "sonde scan took {cli_silent:.2} s with the resolver silent, {cli_normal:.2} s without"
    );
}

fn has_source(names: &serde_json::Value, source: &str) -> bool {
    names.as_array().is_some_and(|all| all.iter().any(|n| n["source"] == source))
}
