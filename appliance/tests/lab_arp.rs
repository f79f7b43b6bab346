//! On-link scanning: ARP finds the hosts of a lab Ethernet segment with their MACs and
//! vendors, the SYN engine probes each at its own MAC, and a killed on-link SYN scan resumes
//! near where it stopped.

use std::collections::BTreeSet;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::util::lab::require_root_netns;
use crate::util::link_lab::{LinkHost, LinkLab, PREFIX};
use crate::util::sonde::{Pair, SONDE, open_pair_from_result, open_pairs_from_ndjson};

/// Hosts whose MACs come from four registries' assignments (as listed in Debian's
/// ieee-data), one of them with no open port.
const HOSTS: [LinkHost; 4] = [
    LinkHost { octet: 10, mac: "00:00:0c:aa:00:0a", open: &[22, 80] },
    LinkHost { octet: 20, mac: "00:1b:21:aa:00:14", open: &[80] },
    LinkHost { octet: 30, mac: "20:85:93:d0:00:1e", open: &[] },
    LinkHost { octet: 40, mac: "70:b3:d5:f2:f0:28", open: &[443] },
];
/// What the IEEE registries say of each host's MAC, in `HOSTS` order.
const VENDORS: [&str; 4] = [
    "Cisco Systems, Inc",
    "Intel Corporate",
    "Shanghai Kenmyond Industrial Network Equipment Co.,Ltd",
    "TELEPLATFORMS",
];

fn truth(hosts: &[LinkHost]) -> BTreeSet<Pair> {
    hosts
        .iter()
        .flat_map(|h| h.open.iter().map(move |&port| ([10, 79, 1, h.octet].into(), port)))
        .collect()
}

#[test]
fn lab_arp_finds_on_link_hosts_and_vendors_needs_root_netns() {
    require_root_netns("lab_arp_finds_on_link_hosts_and_vendors_needs_root_netns");
    let lab = LinkLab::up(&HOSTS);
    let out = lab.exec(&[
        SONDE,
        "scan",
        PREFIX,
        "-p",
        "22,80,443",
        "--engine",
        "syn",
        "-o",
        "json",
        "--retries",
        "1",
        "--wait",
        "300",
        "--rate",
        "2000",
        "--seed",
        "1",
        "--senders",
        "1",
    ]);
    out.assert_success();
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).expect("one JSON document");
    assert_eq!(doc["scan"]["engine"], "syn", "{}", out.stdout);

    // ARP found every host, with its MAC and the vendor the registries name, and counted
    // the one without open ports.
    let hosts = doc["hosts"].as_array().unwrap_or_else(|| panic!("no hosts: {}", out.stdout));
    assert_eq!(hosts.len(), HOSTS.len(), "{}", out.stdout);
    for ((host, vendor), got) in HOSTS.iter().zip(VENDORS).zip(hosts) {
        assert_eq!(got["ip"], format!("10.79.1.{}", host.octet), "{got}");
        assert_eq!(got["mac"], host.mac, "{got}");
        assert_eq!(got["vendor"], vendor, "{got}");
        assert_eq!(got["open_ports"], host.open.len(), "{got}");
    }

    // SYN probes reached each host at its own MAC: exactly the open ports, each result
    // with its host's MAC.
    let results = doc["results"].as_array().expect("results");
    let found: BTreeSet<Pair> = results.iter().filter_map(open_pair_from_result).collect();
    assert_eq!(found, truth(&HOSTS), "{}", out.transcript());
    for r in results {
        let host = HOSTS.iter().find(|h| r["ip"] == format!("10.79.1.{}", h.octet));
        assert_eq!(r["mac"], host.expect("a lab host").mac, "{r}");
    }

    // The same hosts in the streaming and table formats; the silent one as `up`.
    let ndjson = lab.exec(&[
        SONDE,
        "scan",
        PREFIX,
        "-p",
        "22,80,443",
        "--engine",
        "syn",
        "-o",
        "ndjson",
        "--wait",
        "300",
        "--senders",
        "1",
    ]);
    ndjson.assert_success();
    let silent: Vec<serde_json::Value> = ndjson
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON lines"))
        .filter(|v: &serde_json::Value| v["state"] == "up")
        .collect();
    assert_eq!(silent.len(), 1, "{}", ndjson.stdout);
    assert_eq!(
        (&silent[0]["ip"], &silent[0]["vendor"]),
        (&"10.79.1.30".into(), &VENDORS[2].into())
    );
    let table =
        lab.exec(&[SONDE, "scan", PREFIX, "-p", "22,80,443", "--engine", "syn", "--wait", "300"]);
    table.assert_success();
    for vendor in VENDORS {
        assert!(table.stdout.contains(vendor), "{vendor} missing\n{}", table.stdout);
    }
}

/// A SYN scan of the segment, killed once its checkpoint is past a quarter of the plan, then
/// resumed: the second run sends only part of the probes and together they find every port.
#[test]
fn lab_syn_scan_resumes_after_sigkill_needs_root_netns() {
    require_root_netns("lab_syn_scan_resumes_after_sigkill_needs_root_netns");
    const PORTS: u64 = 300;
    let hosts = [
        LinkHost { octet: 10, mac: "00:00:0c:aa:00:0a", open: &[22, 80] },
        LinkHost { octet: 20, mac: "00:1b:21:aa:00:14", open: &[250, 299] },
    ];
    let lab = LinkLab::up(&hosts);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let resume = dir.path().join("scan.resume");
    let resume_arg = resume.to_str().expect("a UTF-8 path").to_owned();
    // Two live hosts x 300 ports at 200 probes/s: three seconds of probes, over a plan of
    // 254 addresses x 300 ports.
    let target = "10.79.1.0/24";
    let command = |output: &'static str| {
        vec![
            SONDE,
            "scan",
            target,
            "-p",
            "1-300",
            "--engine",
            "syn",
            "--rate",
            "200",
            "--seed",
            "5",
            "--retries",
            "1",
            "--wait",
            "300",
            "--senders",
            "1",
            "--resume",
            &resume_arg,
            "-o",
            output,
        ]
    };
    let first_out = dir.path().join("first.ndjson");
    let mut first = lab.spawn(
        &command("ndjson"),
        Stdio::from(std::fs::File::create(&first_out).expect("an output file")),
    );
    let plan = 254 * PORTS;
    let deadline = Instant::now() + Duration::from_secs(60);
    let settled = loop {
        let saved = std::fs::read_to_string(&resume)
            .ok()
            .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
            .and_then(|doc| doc["settled_below"].as_u64());
        if let Some(n) = saved.filter(|&n| n >= plan / 4) {
            break n;
        }
        assert!(
            first.try_wait().expect("wait").is_none(),
            "the first run ended before a checkpoint"
        );
        assert!(Instant::now() < deadline, "no checkpoint past a quarter of the plan in 60 s");
        std::thread::sleep(Duration::from_millis(50));
    };
    first.kill().expect("SIGKILL the first run");
    first.wait().expect("reap the first run");
    assert!(settled < plan, "the first run settled everything before the kill");
    let first_found = open_pairs_from_ndjson(&std::fs::read_to_string(&first_out).expect("output"));

    let second = lab.exec(&command("json"));
    second.assert_success();
    assert!(second.stderr.contains("resuming from"), "{}", second.transcript());
    let doc: serde_json::Value = serde_json::from_str(&second.stdout).expect("one JSON document");
    let second_found: BTreeSet<Pair> = doc["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter_map(open_pair_from_result)
        .collect();
    let sent = doc["scan"]["sent"].as_u64().expect("sent");
    // The whole scan probes every port of both hosts at least once.
    let whole = hosts.len() as u64 * PORTS;
    assert!(
        sent < whole,
        "the resumed run sent {sent} probes; the whole scan sends {whole} or more"
    );
    let union: BTreeSet<Pair> = first_found.union(&second_found).copied().collect();
    assert_eq!(union, truth(&hosts), "{}", second.transcript());
    assert!(!resume.exists(), "a finished scan leaves its resume file behind");
}

/// `sonde serve` in the scanning namespace: a scan started over REST stores the on-link
/// hosts ARP found, the silent one included, and the hosts API returns their MACs and vendors.
#[test]
fn lab_serve_stores_on_link_hosts_needs_root_netns() {
    require_root_netns("lab_serve_stores_on_link_hosts_needs_root_netns");
    let lab = LinkLab::up(&HOSTS);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let config = crate::util::store::config_for(dir.path());
    let data = config.to_str().expect("a UTF-8 path").to_owned();
    let token = crate::serve_api::token(dir.path());
    let listen = "127.0.0.1:18931";
    let mut serve =
        Stopped(lab.spawn(&[SONDE, "serve", "--config", &data, "--listen", listen], Stdio::null()));
    let api = |method: &str, path: &str, body: &str| -> (u16, serde_json::Value) {
        let out = lab.exec(&[
            "python3",
            "-c",
            HTTP,
            method,
            &format!("http://{listen}{path}"),
            &token,
            body,
        ]);
        assert_eq!(out.code, Some(0), "{}", out.transcript());
        let (status, json) = out.stdout.split_once('\n').expect("status, then body");
        (status.trim().parse().expect("a status"), serde_json::from_str(json).unwrap_or_default())
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while api("GET", "/api/v1/health", "").0 != 200 {
        assert!(serve.0.try_wait().expect("wait").is_none(), "sonde serve exited");
        assert!(Instant::now() < deadline, "sonde serve did not answer within 20 s");
        std::thread::sleep(Duration::from_millis(200));
    }
    let body = serde_json::json!({"targets": [PREFIX], "ports": "22,80,443", "rate": 2000});
    let (status, scan) = api("POST", "/api/v1/scans", &body.to_string());
    assert_eq!(status, 201, "{scan}");
    let id = scan["id"].as_i64().expect("an id");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, scan) = api("GET", &format!("/api/v1/scans/{id}"), "");
        if scan["status"] == "completed" {
            break;
        }
        assert!(
            !["failed", "cancelled"].contains(&scan["status"].as_str().unwrap_or("")),
            "{scan}"
        );
        assert!(Instant::now() < deadline, "the scan did not complete within 60 s: {scan}");
        std::thread::sleep(Duration::from_millis(300));
    }
    let (status, hosts) = api("GET", "/api/v1/hosts", "");
    assert_eq!(status, 200, "{hosts}");
    let items = hosts["items"].as_array().expect("items");
    assert_eq!(items.len(), HOSTS.len(), "{hosts}");
    for ((host, vendor), got) in HOSTS.iter().zip(VENDORS).zip(items) {
        assert_eq!(got["ip"], format!("10.79.1.{}", host.octet), "{got}");
        assert_eq!((&got["mac"], &got["vendor"]), (&host.mac.into(), &vendor.into()), "{got}");
        assert_eq!(got["open_ports"].as_array().map(Vec::len), Some(host.open.len()), "{got}");
    }
    let (_, detail) = api("GET", "/api/v1/hosts/10.79.1.10", "");
    assert_eq!((&detail["mac"], &detail["vendor"]), (&HOSTS[0].mac.into(), &VENDORS[0].into()));
    assert_eq!(detail["ports"].as_array().map(Vec::len), Some(2), "{detail}");
}

/// A process this test started, killed when the test ends (or fails).
pub(crate) struct Stopped(pub(crate) std::process::Child);

impl Drop for Stopped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `python3 -c HTTP METHOD URL TOKEN BODY`: prints the status, a newline, then the body.
pub(crate) const HTTP: &str = r#"
import sys, urllib.request, urllib.error
method, url, token, body = sys.argv[1:5]
req = urllib.request.Request(url, method=method, data=body.encode() if body else None)
req.add_header("Authorization", "Bearer " + token)
req.add_header("Content-Type", "application/json")
try:
    with urllib.request.urlopen(req, timeout=10) as r:
        print(r.status); print(r.read().decode())
except urllib.error.HTTPError as e:
    print(e.code); print(e.read().decode())
except OSError:
    print(0); print("null")
"#;
