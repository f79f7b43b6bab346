//! One host per machine: on a lab Ethernet segment, `sonde serve` finds hosts of two vendors
//! by ARP, and a host that changes address between two scans stays one machine, with the
//! operator's edits and its history, reported as moved over the API and the event stream.

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::lab_arp::{HTTP, Stopped};
use crate::util::lab::require_root_netns;
use crate::util::link_lab::{LinkHost, LinkLab, PREFIX};
use crate::util::sonde::SONDE;

const HOSTS: [LinkHost; 2] = [
    LinkHost { octet: 10, mac: "00:00:0c:aa:00:0a", open: &[22] },
    LinkHost { octet: 20, mac: "00:1b:21:aa:00:14", open: &[80] },
];
/// What the IEEE registries say of each host's MAC, in `HOSTS` order.
const VENDORS: [&str; 2] = ["Cisco Systems, Inc", "Intel Corporate"];
const LISTEN: &str = "127.0.0.1:18933";

/// `sonde serve` in the lab's scanning namespace, spoken to over its REST API.
struct Console<'a> {
    lab: &'a LinkLab,
    token: String,
    serve: Stopped,
}

impl Console<'_> {
    fn api(&self, method: &str, path: &str, body: &str) -> (u16, Value) {
        let url = format!("http://{LISTEN}{path}");
        let out = self.lab.exec(&["python3", "-c", HTTP, method, &url, &self.token, body]);
        assert_eq!(out.code, Some(0), "{}", out.transcript());
        let (status, json) = out.stdout.split_once('\n').expect("status, then body");
        (status.trim().parse().expect("a status"), serde_json::from_str(json).unwrap_or_default())
    }

    fn get(&self, path: &str) -> Value {
        let (status, body) = self.api("GET", path, "");
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    fn wait_until_up(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.api("GET", "/api/v1/health", "").0 != 200 {
            assert!(self.serve.0.try_wait().expect("wait").is_none(), "sonde serve exited");
            assert!(Instant::now() < deadline, "sonde serve did not answer within 20 s");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Scans the segment and waits for the scan to complete; answers its id.
    fn scan(&mut self) -> i64 {
        let body = json!({"targets": [PREFIX], "ports": "22,80", "rate": 2000});
        let (status, scan) = self.api("POST", "/api/v1/scans", &body.to_string());
        assert_eq!(status, 201, "{scan}");
        let id = scan["id"].as_i64().expect("an id");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let scan = self.get(&format!("/api/v1/scans/{id}"));
            if scan["status"] == "completed" {
                return id;
            }
            assert!(
                !["failed", "cancelled"].contains(&scan["status"].as_str().unwrap_or("")),
                "{scan}"
            );
            assert!(Instant::now() < deadline, "the scan did not complete within 60 s: {scan}");
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    /// The first event of type `kind` the event stream replays.
    fn replayed_event(&self, kind: &str) -> Value {
        let url = format!("http://{LISTEN}/api/v1/events");
        let out = self.lab.exec(&["python3", "-c", FIRST_EVENT, &url, &self.token, kind]);
        assert_eq!(out.code, Some(0), "no `{kind}` event replayed\n{}", out.transcript());
        serde_json::from_str(out.stdout.trim()).expect("an event")
    }
}

#[test]
fn lab_host_changing_address_stays_one_machine_needs_root_netns() {
    require_root_netns("lab_host_changing_address_stays_one_machine_needs_root_netns");
    let lab = LinkLab::up(&HOSTS);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let config = crate::util::store::config_for(dir.path());
    let data = config.to_str().expect("a UTF-8 path").to_owned();
    let token = crate::serve_api::token(dir.path());
    let serve =
        Stopped(lab.spawn(&[SONDE, "serve", "--config", &data, "--listen", LISTEN], Stdio::null()));
    let mut console = Console { lab: &lab, token, serve };
    console.wait_until_up();

    // ARP finds both hosts, each its own machine, with the vendor of its MAC.
    console.scan();
    let hosts = console.get("/api/v1/hosts");
    let items = hosts["items"].as_array().expect("items");
    assert_eq!(items.len(), HOSTS.len(), "{hosts}");
    for ((host, vendor), got) in HOSTS.iter().zip(VENDORS).zip(items) {
        assert_eq!(got["ip"], format!("10.79.1.{}", host.octet), "{got}");
        assert_eq!((&got["mac"], &got["vendor"]), (&host.mac.into(), &vendor.into()), "{got}");
    }
    let machine = items[0]["machine_id"].as_i64().expect("a machine id");
    assert_ne!(items[1]["machine_id"].as_i64(), Some(machine), "{hosts}");

    let edit = json!({"name": "core switch", "note": "rack 4", "tags": ["network"]});
    let (status, body) = console.api("PATCH", "/api/v1/hosts/10.79.1.10", &edit.to_string());
    assert_eq!(status, 200, "{body}");

    // The Cisco host takes a new address; the second scan finds it there.
    lab.readdress(0, 10, 11);
    let second = console.scan();

    let hosts = console.get("/api/v1/hosts");
    let items = hosts["items"].as_array().expect("items");
    let listed: Vec<(&Value, &Value, &Value)> =
        items.iter().map(|h| (&h["ip"], &h["mac"], &h["vendor"])).collect();
    assert_eq!(
        listed,
        [
            (&"10.79.1.11".into(), &HOSTS[0].mac.into(), &VENDORS[0].into()),
            (&"10.79.1.20".into(), &HOSTS[1].mac.into(), &VENDORS[1].into()),
        ],
        "one host per machine: {hosts}"
    );
    assert_eq!(items[0]["machine_id"].as_i64(), Some(machine), "{hosts}");

    let host = console.get("/api/v1/hosts/10.79.1.11");
    assert_eq!(
        (&host["name"], &host["note"], &host["tags"]),
        (&"core switch".into(), &"rack 4".into(), &json!(["network"])),
        "the operator's edits followed the machine: {host}"
    );
    assert_eq!(host["previously_at"], json!(["10.79.1.10"]), "{host}");
    assert_eq!(host["ports"][0]["port"], 22, "{host}");
    let history = host["history"].as_array().expect("history");
    assert_eq!(
        (&history[0]["kind"], &history[0]["from"], &history[0]["ip"]),
        (&"host_moved".into(), &"10.79.1.10".into(), &"10.79.1.11".into()),
        "{host}"
    );
    assert!(
        history.iter().any(|h| h["kind"] == "host_appeared" && h["ip"] == "10.79.1.10"),
        "the first scan's entries stay in the machine's history: {host}"
    );
    let (status, _) = console.api("GET", "/api/v1/hosts/10.79.1.10", "");
    assert_eq!(status, 404, "the old address is no host any more");

    let changes = console.get(&format!("/api/v1/scans/{second}/changes"));
    assert_eq!(
        changes["hosts_moved"],
        json!([{"machine_id": machine, "from": "10.79.1.10", "to": "10.79.1.11"}]),
        "{changes}"
    );
    for list in ["hosts_appeared", "hosts_vanished", "ports_opened", "ports_closed"] {
        assert_eq!(changes[list], json!([]), "{list}: {changes}");
    }
    let view = console.get(&format!("/api/v1/machines/{machine}"));
    assert_eq!(
        (&view["mac"], &view["addresses"], &view["previously_at"]),
        (&HOSTS[0].mac.into(), &json!(["10.79.1.11"]), &json!(["10.79.1.10"])),
        "{view}"
    );

    let event = console.replayed_event("host_moved");
    assert_eq!(
        (&event["scan_id"], &event["machine_id"], &event["from"], &event["to"]),
        (&second.into(), &machine.into(), &"10.79.1.10".into(), &"10.79.1.11".into()),
        "{event}"
    );
}

/// `python3 -c FIRST_EVENT URL TOKEN KIND`: prints the data of the first `KIND` event the
/// stream replays, or fails after five quiet seconds.
const FIRST_EVENT: &str = r#"
import sys, urllib.request
url, token, kind = sys.argv[1:4]
req = urllib.request.Request(url)
req.add_header("Authorization", "Bearer " + token)
with urllib.request.urlopen(req, timeout=5) as r:
    current = None
    for raw in r:
        line = raw.decode().rstrip("\n")
        if line.startswith("event: "):
            current = line[len("event: "):]
        elif line.startswith("data: ") and current == kind:
            print(line[len("data: "):])
            sys.exit(0)
sys.exit(1)
"#;
