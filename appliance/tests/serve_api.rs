//! `sonde serve` end to end on loopback: a token, a scan over REST, its progress and end on the
//! event stream, the results over REST, a restart, the results still there.

#![allow(clippy::unwrap_used)] // A failed unwrap is a failed test, with its location.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::util::store::config_for;

pub(crate) const SONDE: &str = env!("CARGO_BIN_EXE_sonde");

/// A running `sonde serve`, stopped with SIGTERM when dropped.
pub(crate) struct Serve {
    child: Child,
    pub(crate) base: String,
}

impl Serve {
    pub(crate) fn start(data_dir: &Path) -> Serve {
        let port = free_port();
        let child = Command::new(SONDE)
            .args(["serve", "--config"])
            .arg(config_for(data_dir))
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("sonde serve starts");
        let serve = Serve { child, base: format!("http://127.0.0.1:{port}") };
        let deadline = Instant::now() + Duration::from_secs(20);
        while get(&serve.base, "/api/v1/health", None).0 != 200 {
            assert!(Instant::now() < deadline, "sonde serve did not answer /health within 20 s");
            thread::sleep(Duration::from_millis(100));
        }
        serve
    }

    pub(crate) fn stop(mut self) {
        terminate(&mut self.child);
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        terminate(&mut self.child);
    }
}

fn terminate(child: &mut Child) {
    if child.try_wait().ok().flatten().is_some() {
        return;
    }
    let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
    let deadline = Instant::now() + Duration::from_secs(10);
    while child.try_wait().ok().flatten().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            break;
        }
        thread::sleep(Duration::from_millis(50));
    }
    let _ = child.wait();
}

pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub(crate) fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(20)))
        .build()
        .into()
}

pub(crate) fn get(base: &str, path: &str, token: Option<&str>) -> (u16, Value) {
    let mut req = agent().get(format!("{base}{path}"));
    if let Some(t) = token {
        req = req.header("Authorization", format!("Bearer {t}"));
    }
    match req.call() {
        Ok(mut resp) => {
            let status = resp.status().as_u16();
            let text = resp.body_mut().read_to_string().unwrap_or_default();
            (status, serde_json::from_str(&text).unwrap_or(Value::Null))
        }
        Err(_) => (0, Value::Null),
    }
}

pub(crate) fn post(base: &str, path: &str, token: &str, body: &Value) -> (u16, Value) {
    let mut resp = agent()
        .post(format!("{base}{path}"))
        .header("Authorization", format!("Bearer {token}"))
        .header("Content-Type", "application/json")
        .send(body.to_string())
        .expect("POST answers");
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Reads the event stream on a thread and hands over `(id, event, data)` triples.
pub(crate) fn events(
    base: &str,
    token: &str,
    last_event_id: Option<u64>,
) -> mpsc::Receiver<(u64, String, Value)> {
    let (tx, rx) = mpsc::channel();
    let mut req = agent()
        .get(format!("{base}/api/v1/events"))
        .config()
        .timeout_global(None)
        .build()
        .header("Authorization", format!("Bearer {token}"));
    if let Some(id) = last_event_id {
        req = req.header("Last-Event-ID", id.to_string());
    }
    let resp = req.call().expect("the event stream opens");
    assert_eq!(resp.status().as_u16(), 200);
    thread::spawn(move || {
        let reader = BufReader::new(resp.into_body().into_reader());
        let (mut id, mut event) = (0u64, String::new());
        for line in reader.lines() {
            let Ok(line) = line else { return };
            if let Some(v) = line.strip_prefix("id: ") {
                id = v.parse().unwrap_or(0);
            } else if let Some(v) = line.strip_prefix("event: ") {
                event = v.to_string();
            } else if let Some(v) = line.strip_prefix("data: ") {
                let data = serde_json::from_str(v).expect("event data is JSON");
                if tx.send((id, event.clone(), data)).is_err() {
                    return;
                }
            }
        }
    });
    rx
}

/// Listeners on 127.0.0.1: one that greets like OpenSSH, one silent; and a closed port.
fn listeners() -> (u16, u16, u16) {
    let ssh = TcpListener::bind("127.0.0.1:0").unwrap();
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = free_port();
    let (ssh_port, silent_port) =
        (ssh.local_addr().unwrap().port(), silent.local_addr().unwrap().port());
    thread::spawn(move || {
        for mut conn in ssh.incoming().flatten() {
            let _ = conn.write_all(b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n");
        }
    });
    thread::spawn(move || {
        let mut held = Vec::new();
        for conn in silent.incoming().flatten() {
            held.push(conn);
        }
    });
    (ssh_port, silent_port, closed)
}

/// A token of a fresh admin: tokens act as a user, so the store gets one first.
pub(crate) fn token(data_dir: &Path) -> String {
    let mut add = Command::new(SONDE)
        .args(["user", "add", "--role", "admin", "itest", "--password-stdin", "--config"])
        .arg(config_for(data_dir))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    add.stdin.take().unwrap().write_all(b"itest-password\n").unwrap();
    assert!(add.wait().unwrap().success(), "sonde user add succeeds");
    let out = Command::new(SONDE)
        .args(["token", "create", "--name", "itest", "--config"])
        .arg(config_for(data_dir))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    stdout.lines().last().expect("the token is on the last line").trim().to_string()
}

#[test]
fn serve_scans_over_rest_streams_events_and_keeps_results_across_restart() {
    let dir = tempfile::tempdir().unwrap();
    let token = token(dir.path());
    let (ssh, silent, closed) = listeners();
    let serve = Serve::start(dir.path());
    let base = serve.base.clone();

    assert_eq!(get(&base, "/api/v1/scans", None).0, 401, "the API wants a token");
    assert_eq!(get(&base, "/api/v1/scans", Some("sonde_wrong")).0, 401);

    // A store of its own (SQLite; PostgreSQL in the second CI pass, where it registers): the
    // appliance lists itself, alive, holding no chunk.
    let (status, appliances) = get(&base, "/api/v1/appliances", Some(&token));
    assert_eq!(status, 200, "{appliances}");
    let list = appliances.as_array().expect("a list of appliances");
    assert_eq!(list.len(), 1, "{appliances}");
    assert_eq!(
        (&list[0]["alive"], &list[0]["leased_chunks"]),
        (&Value::Bool(true), &Value::from(0))
    );
    assert!(list[0]["name"].as_str().is_some_and(|n| !n.is_empty()), "{appliances}");

    let stream = events(&base, &token, None);
    // 127.0.0.0/24 x 3 ports at 300 probes/s lasts long enough for progress events; only
    // 127.0.0.1 listens, every other address answers with a reset.
    let (status, created) = post(
        &base,
        "/api/v1/scans",
        &token,
        &json!({"targets": ["127.0.0.0/24"], "ports": format!("{ssh},{silent},{closed}"), "rate": 300}),
    );
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["status"], "queued");
    let id = created["id"].as_i64().unwrap();

    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let (event_id, name, data) = stream.recv_timeout(left).expect("scan_finished within 60 s");
        assert_eq!(data["scan_id"].as_i64(), Some(id));
        seen.push((event_id, name.clone(), data.clone()));
        if name == "scan_finished" {
            assert_eq!(data["status"], "completed", "{data}");
            assert_eq!(data["counters"]["open_ports"], 2, "{data}");
            assert_eq!(data["counters"]["hosts_up"], 1, "{data}");
            assert_eq!(data["counters"]["probes_done"], 256 * 3, "{data}");
            break;
        }
    }
    let names: Vec<&str> = seen.iter().map(|(_, n, _)| n.as_str()).collect();
    assert_eq!(&names[..2], ["scan_status", "scan_status"], "queued then running: {names:?}");
    assert!(names.contains(&"scan_progress"), "progress was streamed: {names:?}");
    assert_eq!(names.iter().filter(|n| **n == "host_found").count(), 1, "{names:?}");
    let mut ports: Vec<u64> = seen
        .iter()
        .filter(|(_, n, _)| n == "port_found")
        .map(|(_, _, d)| d["port"]["port"].as_u64().unwrap())
        .collect();
    ports.sort_unstable();
    let mut expected = vec![u64::from(ssh), u64::from(silent)];
    expected.sort_unstable();
    assert_eq!(ports, expected);
    assert!(seen.windows(2).all(|w| w[0].0 + 1 == w[1].0), "ids grow by one");
    let progress = seen.iter().filter(|(_, n, _)| n == "scan_progress").count();
    assert!(progress <= 2 * 10 + 2, "a few progress events per second at most, got {progress}");

    // Resuming after the first event replays from the second.
    let first = seen[0].0;
    let replay = events(&base, &token, Some(first));
    let (next, _, _) = replay.recv_timeout(Duration::from_secs(5)).expect("replayed event");
    assert_eq!(next, first + 1);

    let check_results = |base: &str| {
        let (status, hosts) = get(base, "/api/v1/hosts", Some(&token));
        assert_eq!(status, 200);
        assert_eq!(hosts["total"], 1, "{hosts}");
        assert_eq!(hosts["items"][0]["ip"], "127.0.0.1");
        let (_, host) = get(base, "/api/v1/hosts/127.0.0.1", Some(&token));
        let ssh_port = host["ports"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["port"] == u64::from(ssh))
            .expect("the ssh port is stored")
            .clone();
        assert_eq!(ssh_port["service"], "ssh", "{ssh_port}");
        assert_eq!(ssh_port["product"], "OpenSSH");
        assert_eq!(ssh_port["version"], "9.2p1");
        assert!(ssh_port["banner"].as_str().unwrap().starts_with("SSH-2.0-OpenSSH_9.2p1"));
        let (_, filtered) = get(base, &format!("/api/v1/hosts?port={closed}"), Some(&token));
        assert_eq!(filtered["total"], 0);
        let (_, scan) = get(base, &format!("/api/v1/scans/{id}"), Some(&token));
        assert_eq!(scan["status"], "completed");
        assert_eq!(scan["counters"]["open_ports"], 2);
    };
    check_results(&base);

    // A second appliance on the same data directory refuses.
    let second = Command::new(SONDE)
        .args(["serve", "--listen", &format!("127.0.0.1:{}", free_port()), "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(second.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(stderr.contains("already using"), "{stderr}");

    serve.stop();
    let serve = Serve::start(dir.path());
    check_results(&serve.base);
    let (status, body) =
        post(&serve.base, &format!("/api/v1/scans/{id}/cancel"), &token, &json!({}));
    assert_eq!(status, 409, "a completed scan cannot be cancelled: {body}");
}

#[test]
fn serve_cancels_a_running_scan() {
    let dir = tempfile::tempdir().unwrap();
    let token = token(dir.path());
    let serve = Serve::start(dir.path());
    let stream = events(&serve.base, &token, None);
    // 127.0.0.0/22 x 2 ports at 100 probes/s would take 80 s.
    let (status, created) = post(
        &serve.base,
        "/api/v1/scans",
        &token,
        &json!({"targets": ["127.0.0.0/22"], "ports": format!("{},{}", free_port(), free_port()), "rate": 100}),
    );
    assert_eq!(status, 201);
    let id = created["id"].as_i64().unwrap();
    thread::sleep(Duration::from_millis(700));
    let (status, _) = post(&serve.base, &format!("/api/v1/scans/{id}/cancel"), &token, &json!({}));
    assert_eq!(status, 200);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, name, data) = stream
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("the cancelled scan finishes within 20 s");
        if name == "scan_finished" {
            assert_eq!(data["status"], "cancelled");
            assert!(data["counters"]["probes_done"].as_u64().unwrap() < 2048);
            break;
        }
    }
    let (_, scan) = get(&serve.base, &format!("/api/v1/scans/{id}"), Some(&token));
    assert_eq!(scan["status"], "cancelled");
}

#[test]
fn bad_scan_requests_get_json_errors() {
    let dir = tempfile::tempdir().unwrap();
    let token = token(dir.path());
    let serve = Serve::start(dir.path());
    for (body, needle) in [
        (json!({"targets": ["10.0.0.0/33"], "ports": "80"}), "10.0.0.0/33"),
        (json!({"targets": ["127.0.0.1"], "ports": "70000"}), "70000"),
        (json!({"targets": [], "ports": "80"}), "no targets"),
        (json!({"targets": ["224.0.0.1"], "ports": "80"}), "excluded"),
        (json!({"targets": ["127.0.0.1"], "bogus": 1}), "bogus"),
    ] {
        let (status, err) = post(&serve.base, "/api/v1/scans", &token, &body);
        assert_eq!(status, 400, "{body} -> {err}");
        assert_eq!(err["error"]["code"], "bad_request");
        let message = err["error"]["message"].as_str().unwrap();
        assert!(message.contains(needle), "{body} -> {message}");
    }
    let (status, scans) = get(&serve.base, "/api/v1/scans", Some(&token));
    assert_eq!((status, scans), (200, json!([])), "nothing was queued");
    let (status, err) = get(&serve.base, "/api/v1/hosts/not-an-ip", Some(&token));
    assert_eq!((status, err["error"]["code"].as_str()), (400, Some("bad_request")));
    let (status, _) = get(&serve.base, "/api/v1/scans/999", Some(&token));
    assert_eq!(status, 404);
}
