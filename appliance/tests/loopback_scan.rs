//! Connect scans of 127.0.0.1 in every output format.

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, TcpListener};

use crate::util::sonde::{Pair, open_pair_from_result, open_pairs_from_ndjson, sonde};

const LOOPBACK: Ipv4Addr = Ipv4Addr::LOCALHOST;

/// A port that is closed now: bound by the kernel's choice, then released.
fn closed_port() -> u16 {
    let listener = TcpListener::bind((LOOPBACK, 0)).expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local address").port()
}

fn open_pairs_from_json(stdout: &str) -> BTreeSet<Pair> {
    let doc: serde_json::Value = serde_json::from_str(stdout)
        .unwrap_or_else(|e| panic!("-o json is not one JSON document ({e}):\n{stdout}"));
    doc["results"]
        .as_array()
        .unwrap_or_else(|| panic!("-o json has no `results` array:\n{stdout}"))
        .iter()
        .filter_map(open_pair_from_result)
        .collect()
}

fn open_pairs_from_csv(stdout: &str) -> BTreeSet<Pair> {
    let mut lines = stdout.lines().filter(|l| !l.trim().is_empty());
    assert_eq!(
        lines.next(),
        // Reverse DNS is on by default: the last column is the host's name.
        Some("ip,port,proto,state,rtt_ms,service,product,version,hostname"),
        "-o csv header:\n{stdout}"
    );
    lines
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(',').collect();
            let [ip, port, proto, state, rtt, _service, _product, _version, _hostname] = fields[..]
            else {
                panic!("-o csv row without 9 fields: {line}");
            };
            let ip: Ipv4Addr = ip.parse().unwrap_or_else(|_| panic!("bad ip in csv row: {line}"));
            let port: u16 = port.parse().unwrap_or_else(|_| panic!("bad port in csv row: {line}"));
            assert_eq!(proto, "tcp", "csv row: {line}");
            rtt.parse::<f64>().unwrap_or_else(|_| panic!("bad rtt_ms in csv row: {line}"));
            (state == "open").then_some((ip, port))
        })
        .collect()
}

/// The table is for people: a port counts as reported open when a line names 127.0.0.1 and
/// the port and does not call it closed or filtered.
fn open_pairs_from_table(stdout: &str, ports: &[u16]) -> BTreeSet<Pair> {
    let mut found = BTreeSet::new();
    for line in stdout.lines() {
        let tokens: Vec<&str> =
            line.split(|c: char| !(c.is_ascii_alphanumeric() || c == '.')).collect();
        let lower = line.to_lowercase();
        if !tokens.contains(&"127.0.0.1") || lower.contains("closed") || lower.contains("filtered")
        {
            continue;
        }
        for &port in ports {
            if tokens.contains(&port.to_string().as_str()) {
                found.insert((LOOPBACK, port));
            }
        }
    }
    found
}

#[test]
fn loopback_scan_formats() {
    // Bound listeners complete the handshake from their backlog; no accept loop needed.
    let first = TcpListener::bind((LOOPBACK, 0)).expect("bind 127.0.0.1:0");
    let second = TcpListener::bind((LOOPBACK, 0)).expect("bind 127.0.0.1:0");
    let open =
        [first.local_addr().expect("addr").port(), second.local_addr().expect("addr").port()];
    let closed = closed_port();
    let ports = [open[0], open[1], closed];
    let spec = format!("{},{},{}", ports[0], ports[1], ports[2]);
    let want: BTreeSet<Pair> = open.iter().map(|&p| (LOOPBACK, p)).collect();

    let mut failures = Vec::new();
    for format in ["ndjson", "json", "csv", "table"] {
        let out = sonde(&["scan", "127.0.0.1", "-p", &spec, "--engine", "connect", "-o", format]);
        out.assert_success();
        if format == "json" {
            // 127/8 is named `localhost` by the resolver library itself (RFC 6761): no packet.
            let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap_or_default();
            let named = doc["results"]
                .as_array()
                .is_some_and(|rows| rows.iter().all(|r| r["hostname"] == "localhost"));
            assert!(named, "rows of 127.0.0.1 should be named localhost:\n{}", out.stdout);
        }
        let found = match format {
            "ndjson" => open_pairs_from_ndjson(&out.stdout),
            "json" => open_pairs_from_json(&out.stdout),
            "csv" => open_pairs_from_csv(&out.stdout),
            _ => open_pairs_from_table(&out.stdout, &ports),
        };
        if found != want {
            failures.push(format!(
                "-o {format}: reported open {found:?}, want {want:?} (closed: {closed})\n{}",
                out.stdout
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    drop((first, second));
}

#[test]
fn both_connect_backends_report_the_same_open_ports() {
    let (_listeners, open) = crate::util::sonde::loopback_listeners(4);
    let mut ports: Vec<String> = open.iter().map(|(_, port)| port.to_string()).collect();
    ports.extend((0..4).map(|_| closed_port().to_string()));
    let ports = ports.join(",");
    for backend in ["uring", "epoll"] {
        let run = sonde(&[
            "scan",
            "127.0.0.1",
            "-p",
            &ports,
            "--engine",
            "connect",
            "--connect-backend",
            backend,
            "-o",
            "ndjson",
        ]);
        run.assert_success();
        assert_eq!(open_pairs_from_ndjson(&run.stdout), open, "{backend}: {}", run.transcript());
    }
}

#[test]
fn an_unknown_connect_backend_is_a_usage_error() {
    let run = sonde(&["scan", "127.0.0.1", "-p", "80", "--connect-backend", "kqueue"]);
    assert_eq!(run.code, Some(2), "{}", run.transcript());
}
