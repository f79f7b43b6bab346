//! UDP through `sonde serve`: a scan that asks for `udp_ports` probes them over its targets
//! after its TCP ports, identifies the answers like TCP ones, and stores them as `udp`.
//!
//! The lab test runs the appliance in the scanning namespace of a daemon lab
//! (`benches/lab/daemons`): dnsmasq answers the DNS probe's `version.bind` query on 53/udp
//! (product and the exact version `dpkg -s` reports, as over TCP on 53), Net-SNMP's snmpd
//! answers the SNMP probe on 161/udp (named from its sysObjectID; it announces no version),
//! chrony answers the NTP probe on 123/udp (`ntp`, no product: NTP names none), and nothing
//! listens on 69/udp, which must store nothing, as must every closed or silent port of the
//! /24. The results are read back over the API: the host page, the scan's
//! counters, its JSON, CSV and Nmap XML exports, its changes and the event stream.
//!
//! The validation test needs no lab: what the API refuses in `udp_ports`, and why.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::lab_arp::{HTTP, Stopped};
use crate::serve_api::{Serve, get, post, token};
use crate::util::lab::{Lab, require_root_netns};
use crate::util::sonde::SONDE;

const PREFIX: &str = "10.77.44.0/24";
/// Where the daemons listen.
const DAEMONS: &str = "10.77.44.10";
const LISTEN: &str = "127.0.0.1:18935";

/// (product, version) by `port/proto`.
type Identified = BTreeMap<String, (Option<String>, Option<String>)>;

/// `sonde serve` in a lab's scanning namespace, spoken to over its REST API.
struct Console<'a> {
    lab: &'a Lab,
    token: String,
    serve: Stopped,
}

impl Console<'_> {
    /// Status and raw body of `method path`.
    fn call(&self, method: &str, path: &str, body: &str) -> (u16, String) {
        let url = format!("http://{LISTEN}{path}");
        let out = self.lab.exec(30, &["python3", "-c", HTTP, method, &url, &self.token, body]);
        out.assert_success();
        let (status, text) = out.stdout.split_once('\n').expect("status, then body");
        (status.trim().parse().expect("a status"), text.to_owned())
    }

    fn get_text(&self, path: &str) -> String {
        let (status, text) = self.call("GET", path, "");
        assert_eq!(status, 200, "GET {path}: {text}");
        text
    }

    fn get(&self, path: &str) -> Value {
        let text = self.get_text(path);
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("GET {path} is not JSON ({e}): {text}"))
    }

    fn wait_until_up(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.call("GET", "/api/v1/health", "").0 != 200 {
            assert!(self.serve.0.try_wait().expect("wait").is_none(), "sonde serve exited");
            assert!(Instant::now() < deadline, "sonde serve did not answer within 30 s");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Every event the stream replays, read until it has been quiet a while.
    fn replayed_events(&self) -> Vec<Value> {
        let url = format!("http://{LISTEN}/api/v1/events");
        let out = self.lab.exec(30, &["python3", "-c", ALL_EVENTS, &url, &self.token]);
        out.assert_success();
        out.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("event ({e}): {l}")))
            .collect()
    }
}

/// `port/proto` -> (product, version) of a list of port views.
fn identified(ports: &Value) -> Identified {
    ports
        .as_array()
        .expect("a port list")
        .iter()
        .map(|p| {
            let text = |key: &str| p[key].as_str().map(str::to_owned);
            (
                format!("{}/{}", p["port"], p["proto"].as_str().unwrap_or("?")),
                (text("product"), text("version")),
            )
        })
        .collect()
}

#[test]
fn serve_identifies_udp_services_and_stores_them_as_udp_needs_root_netns() {
    require_root_netns("serve_identifies_udp_services_and_stores_them_as_udp_needs_root_netns");
    // Two live hosts: the daemons' and one whose every port is closed.
    let lab = Lab::up_with_daemons(PREFIX, DAEMONS, 2);
    let dns = lab.daemon_truth()[&format!("{DAEMONS}:53")].clone();
    let dns = (Some(dns.0), (dns.1 != "-").then_some(dns.1));
    assert!(dns.1.is_some(), "dnsmasq announces its version: {dns:?}");

    let dir = tempfile::tempdir().expect("a temporary directory");
    let config = crate::util::store::config_for(dir.path());
    let config = config.to_str().expect("a UTF-8 path").to_owned();
    let token = token(dir.path());
    let log = std::fs::File::create(dir.path().join("serve.log")).expect("a log file");
    let serve =
        Stopped(lab.spawn(300, &[SONDE, "serve", "--config", &config, "--listen", LISTEN], log));
    let mut console = Console { lab: &lab, token, serve };
    console.wait_until_up();
    let serve_log = || std::fs::read_to_string(dir.path().join("serve.log")).unwrap_or_default();

    let request = json!({
        "targets": [PREFIX], "ports": "53", "udp_ports": "53,69,123,161", "rate": 2000,
        "engine": "connect", "seed": 1,
    });
    let (status, created) = console.call("POST", "/api/v1/scans", &request.to_string());
    assert_eq!(status, 201, "{created}\n{}", serve_log());
    let created: Value = serde_json::from_str(&created).expect("JSON");
    let id = created["id"].as_i64().expect("an id");
    let deadline = Instant::now() + Duration::from_secs(120);
    let scan = loop {
        let scan = console.get(&format!("/api/v1/scans/{id}"));
        if scan["status"] == "completed" {
            break scan;
        }
        let status = scan["status"].as_str().unwrap_or("");
        assert!(!["failed", "cancelled"].contains(&status), "{scan}\n{}", serve_log());
        assert!(
            Instant::now() < deadline,
            "the scan did not complete in 120 s: {scan}\n{}",
            serve_log()
        );
        std::thread::sleep(Duration::from_millis(300));
    };

    // The scan says what it probed, and its progress counted the UDP probes.
    assert_eq!(
        (&scan["ports"], &scan["udp_ports"]),
        (&json!("53"), &json!("53,69,123,161")),
        "{scan}"
    );
    let counters = &scan["counters"];
    assert_eq!(counters["probes_total"], 256 * 5, "{scan}");
    assert_eq!(counters["probes_done"], counters["probes_total"], "{scan}");

    // The host page: DNS over both protocols, NTP and SNMP over UDP, nothing on 69/udp.
    let host = console.get(&format!("/api/v1/hosts/{DAEMONS}"));
    let want: Identified = [
        ("53/tcp".to_owned(), dns.clone()),
        ("53/udp".to_owned(), dns.clone()),
        ("123/udp".to_owned(), (None, None)),
        ("161/udp".to_owned(), (Some("Net-SNMP".to_owned()), None)),
    ]
    .into();
    assert_eq!(
        identified(&host["ports"]),
        want,
        "stored (left) differs from the lab (right)\n{host}"
    );
    let snmp = host["ports"].as_array().unwrap().iter().find(|p| p["port"] == 161).unwrap();
    assert_eq!(snmp["service"], "snmp", "{snmp}");
    let ntp = host["ports"].as_array().unwrap().iter().find(|p| p["port"] == 123).unwrap();
    assert_eq!((&ntp["service"], &ntp["proto"]), (&json!("ntp"), &json!("udp")), "{ntp}");

    // The exports: UDP ports only where something answered, with their protocol.
    let csv = console.get_text(&format!("/api/v1/scans/{id}/export?format=csv"));
    let mut udp_rows: Vec<&str> = csv.lines().filter(|l| l.contains(",udp,")).collect();
    udp_rows.sort_unstable();
    assert_eq!(udp_rows.len(), 3, "{csv}");
    assert!(udp_rows.iter().all(|r| r.starts_with(&format!("{DAEMONS},"))), "{csv}");
    assert!(udp_rows[0].contains(",123,udp,"), "{csv}");
    assert!(udp_rows[1].contains(",161,udp,") && udp_rows[2].contains(",53,udp,"), "{csv}");
    let json_export = console.get(&format!("/api/v1/scans/{id}/export?format=json"));
    let exported: Vec<String> =
        json_export["hosts"]
            .as_array()
            .expect("hosts")
            .iter()
            .flat_map(|h| {
                let ip = h["ip"].as_str().unwrap_or("?").to_owned();
                h["ports"].as_array().cloned().unwrap_or_default().into_iter().map(move |p| {
                    format!("{ip}:{}/{}", p["port"], p["proto"].as_str().unwrap_or("?"))
                })
            })
            .filter(|pair| pair.ends_with("/udp"))
            .collect();
    assert_eq!(
        exported,
        [format!("{DAEMONS}:53/udp"), format!("{DAEMONS}:123/udp"), format!("{DAEMONS}:161/udp")],
        "{json_export}"
    );
    let xml = console.get_text(&format!("/api/v1/scans/{id}/export?format=nmap-xml"));
    for needle in [
        "<scaninfo type=\"udp\" protocol=\"udp\" numservices=\"4\" services=\"53,69,123,161\"/>",
        "<port protocol=\"udp\" portid=\"53\">",
        "<port protocol=\"udp\" portid=\"161\">",
    ] {
        assert!(xml.contains(needle), "{needle} missing from\n{xml}");
    }
    assert!(!xml.contains("portid=\"69\""), "{xml}");

    // The first scan's changes open the three UDP ports; the event stream carried them.
    let changes = console.get(&format!("/api/v1/scans/{id}/changes"));
    let opened: Vec<String> = changes["ports_opened"]
        .as_array()
        .expect("ports_opened")
        .iter()
        .filter(|p| p["proto"] == "udp")
        .map(|p| format!("{}:{}", p["ip"].as_str().unwrap_or("?"), p["port"]))
        .collect();
    let want_opened = [53, 123, 161].map(|port| format!("{DAEMONS}:{port}"));
    assert_eq!(opened, want_opened, "{changes}");
    let events = console.replayed_events();
    let found: Vec<String> = events
        .iter()
        .filter(|e| e["type"] == "port_found" && e["scan_id"] == id && e["port"]["proto"] == "udp")
        .map(|e| format!("{}:{}", e["ip"].as_str().unwrap_or("?"), e["port"]["port"]))
        .collect();
    let mut found = found;
    found.sort_unstable();
    let want_found = [123, 161, 53].map(|port| format!("{DAEMONS}:{port}"));
    assert_eq!(found, want_found, "{events:?}");
}

#[test]
fn udp_ports_are_validated_over_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let token = token(dir.path());
    let serve = Serve::start(dir.path());
    let base = serve.base.clone();
    for (udp_ports, says) in [
        ("top:10", "top:N ranks TCP services"),
        ("0", "udp_ports"),
        ("53,70000", "udp_ports"),
        ("dns", "udp_ports"),
    ] {
        let body = json!({"targets": ["127.0.0.1"], "ports": "1", "udp_ports": udp_ports});
        let (status, answer) = post(&base, "/api/v1/scans", &token, &body);
        assert_eq!(status, 400, "udp_ports {udp_ports:?}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(says), "udp_ports {udp_ports:?}: {answer}");
        let schedule = json!({
            "name": "udp", "targets": ["127.0.0.1"], "udp_ports": udp_ports, "every_hours": 24,
        });
        let (status, answer) = post(&base, "/api/v1/schedules", &token, &schedule);
        assert_eq!(status, 400, "schedule udp_ports {udp_ports:?}: {answer}");
    }
    // A UDP-only scan of loopback: an empty TCP list and one UDP port nothing listens on.
    let body = json!({"targets": ["127.0.0.1"], "ports": "", "udp_ports": "9", "rate": 100});
    let (status, created) = post(&base, "/api/v1/scans", &token, &body);
    assert_eq!(status, 201, "{created}");
    let path = format!("/api/v1/scans/{}", created["id"]);
    let deadline = Instant::now() + Duration::from_secs(30);
    let scan = loop {
        let (_, scan) = get(&base, &path, Some(&token));
        if scan["status"] == "completed" {
            break scan;
        }
        assert!(Instant::now() < deadline, "the UDP-only scan did not complete: {scan}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!((&scan["ports"], &scan["udp_ports"]), (&json!(""), &json!("9")), "{scan}");
    assert_eq!(
        (&scan["counters"]["probes_total"], &scan["counters"]["probes_done"]),
        (&json!(1), &json!(1)),
        "{scan}"
    );
    assert_eq!(scan["counters"]["open_ports"], 0, "a closed UDP port is not open: {scan}");
    let (_, host) = get(&base, "/api/v1/hosts/127.0.0.1", Some(&token));
    assert!(host["ports"].as_array().is_none_or(Vec::is_empty), "nothing stored: {host}");
    // Schedules keep their UDP ports.
    let schedule = json!({
        "name": "dns", "targets": ["127.0.0.1"], "udp_ports": "53,161", "every_hours": 24,
        "enabled": false,
    });
    let (status, view) = post(&base, "/api/v1/schedules", &token, &schedule);
    assert_eq!((status, &view["udp_ports"]), (201, &json!("53,161")), "{view}");
    drop(serve);
}

/// `python3 -c ALL_EVENTS URL TOKEN`: prints the data of every event the stream replays, one
/// per line, stopping after two quiet seconds.
const ALL_EVENTS: &str = r#"
import sys, socket, urllib.request
url, token = sys.argv[1:3]
req = urllib.request.Request(url)
req.add_header("Authorization", "Bearer " + token)
try:
    with urllib.request.urlopen(req, timeout=2) as r:
        for raw in r:
            line = raw.decode().rstrip("\n")
            if line.startswith("data: "):
                print(line[len("data: "):], flush=True)
except (socket.timeout, TimeoutError):
    pass
"#;
