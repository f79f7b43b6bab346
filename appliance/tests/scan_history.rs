//! Host history and exports end to end on loopback: two scans of the same targets with a port
//! closed and a host added in between; the change list, the change events and the host
//! history say exactly that, an operator's edit survives the rescan, and the scan's Nmap XML
//! is valid against nmap's DTD and agrees with its JSON export; hosts queries export the same way.

#![allow(clippy::unwrap_used)] // A failed unwrap is a failed test, with its location.

use std::collections::BTreeSet;
use std::io::Write;
use std::net::TcpListener;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::serve_api::{SONDE, Serve, agent, events, free_port, get, post, token};
use crate::util::store::config_for;

/// nmap's DTD as Debian's `nmap` package installs it.
const NMAP_DTD: &str = "/usr/share/nmap/nmap.dtd";

/// A listener on `addr` that greets like OpenSSH, until dropped... or the test ends.
fn ssh_listener(addr: &str) -> u16 {
    let listener = TcpListener::bind(addr).unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        for mut conn in listener.incoming().flatten() {
            let _ = conn.write_all(b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n");
        }
    });
    port
}

/// Starts a scan and waits until it completes; answers its id.
fn scan(base: &str, token: &str, ports: &str) -> i64 {
    let body = json!({"targets": ["127.0.0.1-127.0.0.3"], "ports": ports, "rate": 300});
    let (status, created) = post(base, "/api/v1/scans", token, &body);
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_i64().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, view) = get(base, &format!("/api/v1/scans/{id}"), Some(token));
        if view["status"] == "completed" {
            return id;
        }
        assert!(
            !view["status"].as_str().is_some_and(|s| s == "failed" || s == "cancelled"),
            "{view}"
        );
        assert!(Instant::now() < deadline, "scan {id} did not complete in 60 s: {view}");
        thread::sleep(Duration::from_millis(100));
    }
}

fn fetch_text(base: &str, path: &str, token: &str) -> (u16, String) {
    let mut resp = agent()
        .get(format!("{base}{path}"))
        .header("Authorization", format!("Bearer {token}"))
        .call()
        .unwrap();
    (resp.status().as_u16(), resp.body_mut().read_to_string().unwrap())
}

#[test]
fn a_rescan_lists_exactly_what_changed_and_exports_agree() {
    let dir = tempfile::tempdir().unwrap();
    let token = token(dir.path());
    let ssh = ssh_listener("127.0.0.1:0");
    let closing = TcpListener::bind("127.0.0.1:0").unwrap();
    let closing_port = closing.local_addr().unwrap().port();
    // The port the added host will listen on; nothing listens on it during the first scan.
    let added_port = free_port();
    let ports = format!("{ssh},{closing_port},{added_port}");
    let serve = Serve::start(dir.path());
    let base = serve.base.clone();

    let first = scan(&base, &token, &ports);
    let (status, changes) = get(&base, &format!("/api/v1/scans/{first}/changes"), Some(&token));
    assert_eq!(status, 200, "{changes}");
    assert_eq!(changes["against"], Value::Null, "no earlier scan: {changes}");
    assert_eq!(changes["hosts_appeared"], json!(["127.0.0.1"]));

    // The operator names the host; the rescan must keep it.
    let mut resp = agent()
        .patch(format!("{base}/api/v1/hosts/127.0.0.1"))
        .header("Authorization", format!("Bearer {token}"))
        .header("Content-Type", "application/json")
        .send(json!({"name": "loopback", "tags": ["lab"]}).to_string())
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200, "{}", resp.body_mut().read_to_string().unwrap());

    drop(closing);
    let _added = TcpListener::bind(("127.0.0.2", added_port)).unwrap();
    let stream = events(&base, &token, None);
    let second = scan(&base, &token, &ports);

    let (status, changes) = get(&base, &format!("/api/v1/scans/{second}/changes"), Some(&token));
    assert_eq!(status, 200, "{changes}");
    let port = |ip: &str, port: u16| json!({"ip": ip, "port": port, "proto": "tcp", "service": null, "product": null, "version": null});
    let mut closed = port("127.0.0.1", closing_port);
    let mut opened = port("127.0.0.2", added_port);
    // Identification guesses a service name from the port number; take whatever it said.
    for (entry, ip, p) in
        [(&mut closed, "127.0.0.1", closing_port), (&mut opened, "127.0.0.2", added_port)]
    {
        let listed = changes["ports_closed"]
            .as_array()
            .unwrap()
            .iter()
            .chain(changes["ports_opened"].as_array().unwrap())
            .find(|c| c["ip"] == ip && c["port"] == p)
            .cloned()
            .unwrap_or_else(|| panic!("{ip}:{p} listed: {changes}"));
        entry["service"] = listed["service"].clone();
    }
    assert_eq!(
        changes,
        json!({
            "scan_id": second,
            "against": first,
            "hosts_appeared": ["127.0.0.2"],
            "hosts_vanished": [],
            "ports_opened": [opened],
            "ports_closed": [closed],
            "services_changed": [],
            "hosts_moved": [],
        })
    );
    let (_, explicit) =
        get(&base, &format!("/api/v1/scans/{second}/changes?against={first}"), Some(&token));
    assert_eq!(explicit, changes);
    let (status, _) =
        get(&base, &format!("/api/v1/scans/{second}/changes?against=999"), Some(&token));
    assert_eq!(status, 404);

    // The change events came before the end of the scan.
    let mut changed = BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, name, data) =
            stream.recv_timeout(deadline.saturating_duration_since(Instant::now())).unwrap();
        if data["scan_id"] != second {
            continue;
        }
        match name.as_str() {
            "host_changed" => changed.insert(format!("{} {}", data["change"], data["ip"])),
            "port_changed" => {
                changed.insert(format!("{} {}:{}", data["change"], data["ip"], data["port"]))
            }
            "scan_finished" => break,
            _ => false,
        };
    }
    let expected: BTreeSet<String> = [
        "\"appeared\" \"127.0.0.2\"".to_owned(),
        format!("\"opened\" \"127.0.0.2\":{added_port}"),
        format!("\"closed\" \"127.0.0.1\":{closing_port}"),
    ]
    .into();
    assert_eq!(changed, expected);

    let (_, host) = get(&base, "/api/v1/hosts/127.0.0.1", Some(&token));
    assert_eq!((host["name"].as_str(), &host["tags"]), (Some("loopback"), &json!(["lab"])));
    let history = host["history"].as_array().unwrap();
    assert_eq!(history[0]["kind"], "port_closed", "{host}");
    assert_eq!(
        (history[0]["scan_id"].as_i64(), history[0]["port"].as_u64()),
        (Some(second), Some(u64::from(closing_port)))
    );
    assert_eq!(history.last().unwrap()["kind"], "host_appeared");

    // Exports: Nmap XML valid against nmap's DTD, agreeing with the JSON; the CLI writes the
    // same document as the API.
    let (status, xml) =
        fetch_text(&base, &format!("/api/v1/scans/{second}/export?format=nmap-xml"), &token);
    assert_eq!(status, 200, "{xml}");
    let xml_path = dir.path().join("api.xml");
    std::fs::write(&xml_path, &xml).unwrap();
    let lint = Command::new("xmllint")
        .args(["--noout", "--dtdvalid", NMAP_DTD])
        .arg(&xml_path)
        .output()
        .expect("xmllint runs (Debian package libxml2-utils; .ci/run installs it)");
    assert!(
        lint.status.success(),
        "not valid against {NMAP_DTD}:\n{}\n{xml}",
        String::from_utf8_lossy(&lint.stderr)
    );

    let (_, export) =
        get(&base, &format!("/api/v1/scans/{second}/export?format=json"), Some(&token));
    let from_json: BTreeSet<String> = export["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|h| {
            h["ports"].as_array().unwrap().iter().map(move |p| {
                let text = |v: &Value| v.as_str().unwrap_or("").to_owned();
                format!(
                    "{} {} {} {} {}",
                    text(&h["ip"]),
                    p["port"],
                    text(&p["service"]),
                    text(&p["product"]),
                    text(&p["version"])
                )
            })
        })
        .collect();
    // Python's own XML parser reads what nmap's readers read: address, port, service.
    let script = "import sys, xml.etree.ElementTree as ET\n\
        root = ET.parse(sys.argv[1]).getroot()\n\
        assert root.tag == 'nmaprun' and root.get('scanner') == 'nmap'\n\
        for h in root.iter('host'):\n\
        \x20   ip = h.find('address').get('addr')\n\
        \x20   for p in h.iter('port'):\n\
        \x20       s = p.find('service')\n\
        \x20       g = (lambda k: (s.get(k) or '') if s is not None else '')\n\
        \x20       print(ip, p.get('portid'), g('name'), g('product'), g('version'))\n";
    let parsed = Command::new("python3").arg("-c").arg(script).arg(&xml_path).output().unwrap();
    assert!(parsed.status.success(), "{}", String::from_utf8_lossy(&parsed.stderr));
    let from_xml: BTreeSet<String> =
        String::from_utf8(parsed.stdout).unwrap().lines().map(str::to_owned).collect();
    assert_eq!(from_xml, from_json);
    assert!(from_json.contains(&format!("127.0.0.1 {ssh} ssh OpenSSH 9.2p1")), "{from_json:?}");
    assert_eq!(from_json.len(), 2);

    let cli_path = dir.path().join("cli.xml");
    let out = Command::new(SONDE)
        .args(["export", "--scan", &second.to_string(), "--format", "nmap-xml", "-o"])
        .arg(&cli_path)
        .arg("--config")
        .arg(config_for(dir.path()))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(std::fs::read_to_string(&cli_path).unwrap(), xml);
    let out = Command::new(SONDE)
        .args(["export", "--scan", &second.to_string(), "--format", "csv", "--config"])
        .arg(config_for(dir.path()))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let csv = String::from_utf8(out.stdout).unwrap();
    assert_eq!(csv.lines().count(), 3, "a header and two ports: {csv}");
    let out = Command::new(SONDE)
        .args(["export", "--scan", "999", "--config"])
        .arg(config_for(dir.path()))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no scan 999"));
}

/// A hosts query exported from the API and from `sonde export --query` in the three formats:
/// only the matching hosts, each with every open port; the Nmap XML is valid against nmap's
/// DTD; the CLI and the API agree.
#[test]
fn a_hosts_query_exports_as_json_csv_and_nmap_xml() {
    let dir = tempfile::tempdir().unwrap();
    let token = token(dir.path());
    let ssh = ssh_listener("127.0.0.1:0");
    let web_listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let web = web_listener.local_addr().unwrap().port();
    let _other = TcpListener::bind(("127.0.0.2", web)).unwrap();
    let serve = Serve::start(dir.path());
    let base = serve.base.clone();
    scan(&base, &token, &format!("{ssh},{web}"));

    // `service=ssh` picks 127.0.0.1 alone, with both its open ports.
    let (status, json) = get(&base, "/api/v1/hosts/export?format=json&service=ssh", Some(&token));
    assert_eq!(status, 200, "{json}");
    assert_eq!(json["filter"]["service"], "ssh");
    let hosts = json["hosts"].as_array().unwrap();
    assert_eq!(hosts.len(), 1, "{json}");
    assert_eq!(hosts[0]["ip"], "127.0.0.1");
    let mut ports: Vec<u64> =
        hosts[0]["ports"].as_array().unwrap().iter().map(|p| p["port"].as_u64().unwrap()).collect();
    ports.sort_unstable();
    let mut want = vec![u64::from(ssh), u64::from(web)];
    want.sort_unstable();
    assert_eq!(ports, want);

    let (status, csv) = fetch_text(&base, "/api/v1/hosts/export?format=csv&service=ssh", &token);
    assert_eq!(status, 200, "{csv}");
    assert_eq!(csv.lines().count(), 3, "a header and two ports: {csv}");
    assert!(csv.lines().skip(1).all(|l| l.starts_with("127.0.0.1,")), "{csv}");
    assert!(csv.contains(&format!(",{ssh},tcp,open,ssh,OpenSSH,9.2p1")), "{csv}");

    // Without a filter both hosts; as Nmap XML valid against the DTD.
    let (status, xml) = fetch_text(&base, "/api/v1/hosts/export?format=nmap-xml", &token);
    assert_eq!(status, 200, "{xml}");
    assert_eq!(xml.matches("<host ").count(), 2, "{xml}");
    let xml_path = dir.path().join("query.xml");
    std::fs::write(&xml_path, &xml).unwrap();
    let lint = Command::new("xmllint")
        .args(["--noout", "--dtdvalid", NMAP_DTD])
        .arg(&xml_path)
        .output()
        .expect("xmllint runs (Debian package libxml2-utils; .ci/run installs it)");
    assert!(lint.status.success(), "{}\n{xml}", String::from_utf8_lossy(&lint.stderr));
    let (status, err) = get(&base, "/api/v1/hosts/export?format=csv&subnet=nonsense", Some(&token));
    assert_eq!((status, err["error"]["code"].as_str()), (400, Some("bad_request")), "{err}");

    let out = Command::new(SONDE)
        .args(["export", "--query", "service=ssh", "--format", "csv", "--config"])
        .arg(config_for(dir.path()))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8(out.stdout).unwrap(), csv, "the CLI writes what the API serves");
    let out = Command::new(SONDE)
        .args(["export", "--query", "subnet=127.0.0.2/32", "--format", "json", "--config"])
        .arg(config_for(dir.path()))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let cli: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(cli["hosts"].as_array().unwrap().len(), 1, "{cli}");
    assert_eq!(cli["hosts"][0]["ip"], "127.0.0.2");
    let out = Command::new(SONDE)
        .args(["export", "--query", "colour=red", "--config"])
        .arg(config_for(dir.path()))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown filter"));
}
