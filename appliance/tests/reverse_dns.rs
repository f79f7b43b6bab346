//! Reverse DNS against a real DNS server: dnsmasq on a loopback port holding PTR records for
//! 127.0.0.1 and 127.0.0.2. Names appear on the hosts as `dns` hostnames; with a resolver
//! that never answers, the scan takes no longer (names are looked up beside it).

#![allow(clippy::unwrap_used)] // A failed unwrap is a failed test, with its location.

use std::ffi::OsStr;
use std::net::{TcpListener, UdpSocket};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::serve_api::{Serve, free_port, get, post, token};

/// dnsmasq as Debian's `dnsmasq-base` installs it.
const DNSMASQ: &str = "/usr/sbin/dnsmasq";

/// A dnsmasq answering only from its PTR records, on 127.0.0.1:`port`; killed when dropped.
struct Dnsmasq(Child);

impl Dnsmasq {
    fn start(port: u16) -> Dnsmasq {
        let child = Command::new(DNSMASQ)
            .args([
                "--keep-in-foreground",
                "--conf-file=/dev/null",
                "--no-resolv",
                "--no-hosts",
                "--bind-interfaces",
                "--listen-address=127.0.0.1",
                "--pid-file=",
                &format!("--port={port}"),
                "--ptr-record=1.0.0.127.in-addr.arpa,one.lab.example",
                "--ptr-record=2.0.0.127.in-addr.arpa,two.lab.example",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("dnsmasq starts (Debian package dnsmasq-base; .ci/run installs it)");
        thread::sleep(Duration::from_millis(300));
        Dnsmasq(child)
    }
}

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Serves with reverse DNS asking only `server`; answers the running appliance.
fn serve_with_dns(data_dir: &Path, server: &str) -> Serve {
    let config = data_dir.join("sonde.toml");
    std::fs::write(&config, format!("[dns]\nservers = [\"{server}\"]\ntimeout_ms = 1000\n"))
        .unwrap();
    Serve::start_with(data_dir, &[OsStr::new("--config"), config.as_os_str()])
}

/// Scans 127.0.0.1-2 on `ports`; answers the scan id and how long it took from request to
/// completion.
fn timed_scan(base: &str, token: &str, ports: &str) -> (i64, Duration) {
    let started = Instant::now();
    let body = json!({"targets": ["127.0.0.1-127.0.0.2"], "ports": ports, "rate": 1000});
    let (status, created) = post(base, "/api/v1/scans", token, &body);
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_i64().unwrap();
    loop {
        let (_, scan) = get(base, &format!("/api/v1/scans/{id}"), Some(token));
        if scan["status"] == "completed" {
            return (id, started.elapsed());
        }
        assert!(started.elapsed() < Duration::from_secs(60), "{scan}");
        thread::sleep(Duration::from_millis(20));
    }
}

fn hostnames(base: &str, token: &str, ip: &str) -> serde_json::Value {
    get(base, &format!("/api/v1/hosts/{ip}"), Some(token)).1["hostnames"].clone()
}

#[test]
fn reverse_dns_names_hosts_and_a_silent_resolver_does_not_slow_the_scan() {
    let one = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = one.local_addr().unwrap().port();
    let _two = TcpListener::bind(("127.0.0.2", port)).unwrap();
    let ports = port.to_string();

    let dns_port = free_port();
    let _dnsmasq = Dnsmasq::start(dns_port);
    let dir = tempfile::tempdir().unwrap();
    let token_a = token(dir.path());
    let serve = serve_with_dns(dir.path(), &format!("127.0.0.1:{dns_port}"));
    let (_, answered) = timed_scan(&serve.base, &token_a, &ports);
    let deadline = Instant::now() + Duration::from_secs(15);
    while hostnames(&serve.base, &token_a, "127.0.0.2").as_array().is_none_or(Vec::is_empty) {
        assert!(Instant::now() < deadline, "no name for 127.0.0.2 within 15 s");
        thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        hostnames(&serve.base, &token_a, "127.0.0.1"),
        json!([{"name": "one.lab.example", "source": "dns"}])
    );
    assert_eq!(
        hostnames(&serve.base, &token_a, "127.0.0.2"),
        json!([{"name": "two.lab.example", "source": "dns"}])
    );
    serve.stop();

    // A resolver that reads every query and never answers.
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let silent_addr = silent.local_addr().unwrap();
    thread::spawn(move || {
        let mut buf = [0u8; 1500];
        while silent.recv_from(&mut buf).is_ok() {}
    });
    let dir = tempfile::tempdir().unwrap();
    let token_b = token(dir.path());
    let serve = serve_with_dns(dir.path(), &silent_addr.to_string());
    let (_, unanswered) = timed_scan(&serve.base, &token_b, &ports);
    eprintln!(
        "reverse DNS: scan with an answering resolver {answered:?}, with a silent one {unanswered:?} (lookup timeout 1 s)"
    );
    // The lookup timeout is 1 s: a scan that waited for names would take at least that much
    // longer. Scheduling noise on a loaded machine stays well under half of it.
    assert!(
        unanswered < answered + Duration::from_millis(500),
        "a silent resolver slowed the scan: {answered:?} -> {unanswered:?}"
    );
    assert_eq!(hostnames(&serve.base, &token_b, "127.0.0.1"), json!([]));
}
