//! Docker discovery against a real Docker-API engine: a private Podman service with three
//! containers (a published web server on a bridge, one on an internal network, one with no
//! network), read by `sonde docker ls`, and by `sonde serve`, which stores the engine, its
//! containers and networks, identifies what the containers publish, and announces containers
//! that come and go.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::serve_api::{SONDE, token};
use crate::util::lab::require_root_netns;
use crate::util::podman::{IMAGE, Podman};
use crate::util::sonde::sonde;
use crate::util::store::config_for;

/// Needs root (network and mount namespaces, podman as root); fails, never skips, without.
#[test]
fn docker_ls_reads_a_podman_engine_needs_root_netns() {
    require_root_netns("docker_ls_reads_a_podman_engine_needs_root_netns");
    let engine = Podman::start("docker_ls_reads_a_podman_engine_needs_root_netns");
    engine
        .remote(&["network", "create", "--subnet", "10.213.7.0/24", "sonde-lab-pub"])
        .assert_success();
    engine
        .remote(&["network", "create", "--internal", "--subnet", "10.213.8.0/24", "sonde-lab-int"])
        .assert_success();
    engine
        .remote(&[
            "run",
            "-d",
            "--name",
            "web",
            "--label",
            "app=web",
            "--label",
            "tier=front",
            "--network",
            "sonde-lab-pub",
            "-p",
            "127.0.0.1:18080:80",
            IMAGE,
            "/bin/httpd",
            "-f",
            "-p",
            "80",
            "-h",
            "/www",
        ])
        .assert_success();
    engine
        .remote(&[
            "run",
            "-d",
            "--name",
            "db",
            "--label",
            "tier=back",
            "--network",
            "sonde-lab-int",
            IMAGE,
            "/bin/sleep",
            "600",
        ])
        .assert_success();
    engine
        .remote(&[
            "run",
            "-d",
            "--name",
            "loner",
            "--label",
            "role=alone",
            "--network",
            "none",
            IMAGE,
            "/bin/sleep",
            "600",
        ])
        .assert_success();
    // The bridges are up now: the namespace must still have no way out.
    engine.assert_sealed();

    // The published port really serves: what identification will be fed is there.
    let page = engine.in_netns("busybox", &["wget", "-q", "-O", "-", "http://127.0.0.1:18080/"]);
    page.assert_success();
    assert!(page.stdout.contains("Sonde Docker lab"), "{}", page.transcript());

    let endpoint = engine.endpoint();
    let out = sonde(&["docker", "ls", "--endpoint", &endpoint, "--format", "json"]);
    out.assert_success();
    let all: Value = serde_json::from_str(&out.stdout).expect("docker ls prints JSON");
    let inv = &all[0];
    assert_eq!(inv["endpoint"], endpoint.as_str());
    assert_eq!(inv["engine"]["product"], "Podman Engine", "{}", out.stdout);
    let api = inv["engine"]["api_version"].as_str().expect("api version");
    assert!(api.starts_with("1."), "agreed API {api}");

    let containers = inv["containers"].as_array().expect("containers");
    let names: Vec<&str> = containers.iter().filter_map(|c| c["name"].as_str()).collect();
    assert_eq!(names, ["db", "loner", "web"], "sorted by name\n{}", out.stdout);
    let by_name = |n: &str| containers.iter().find(|c| c["name"] == n).expect("container");
    let (db, loner, web) = (by_name("db"), by_name("loner"), by_name("web"));
    for c in [db, loner, web] {
        assert_eq!(c["image"], IMAGE);
        assert_eq!(c["state"], "running", "{c}");
    }
    assert_eq!(web["labels"]["app"], "web");
    assert_eq!(web["labels"]["tier"], "front");
    assert_eq!(db["labels"]["tier"], "back");
    assert_eq!(loner["labels"]["role"], "alone");
    assert_eq!(
        web["ports"],
        serde_json::json!([{"host_ip": "127.0.0.1", "host_port": 18080, "container_port": 80, "proto": "tcp"}])
    );
    assert_eq!(db["ports"], serde_json::json!([]));
    assert_eq!(web["networks"][0]["network"], "sonde-lab-pub");
    let web_ip = web["networks"][0]["address"].as_str().expect("web address");
    assert!(web_ip.starts_with("10.213.7."), "{web_ip}");
    assert_eq!(web["networks"][0]["prefix_len"], 24);
    assert_eq!(db["networks"][0]["network"], "sonde-lab-int");
    assert!(db["networks"][0]["address"].as_str().is_some_and(|a| a.starts_with("10.213.8.")));
    assert_eq!(loner["networks"], serde_json::json!([]), "--network none has no networks");

    let networks = inv["networks"].as_array().expect("networks");
    let net = |n: &str| networks.iter().find(|x| x["name"] == n);
    let pub_net = net("sonde-lab-pub").expect("sonde-lab-pub listed");
    assert_eq!(pub_net["subnets"], serde_json::json!(["10.213.7.0/24"]));
    assert_eq!(pub_net["internal"], false);
    assert_eq!(pub_net["driver"], "bridge");
    let int_net = net("sonde-lab-int").expect("sonde-lab-int listed");
    assert_eq!(int_net["internal"], true);

    // The table names the same things.
    let table = sonde(&["docker", "ls", "--endpoint", &endpoint]);
    table.assert_success();
    for needle in ["web", "127.0.0.1:18080->80/tcp", "sonde-lab-int", "role=alone"] {
        assert!(table.stdout.contains(needle), "table lacks {needle}\n{}", table.stdout);
    }
    drop(engine);
}

/// An endpoint nobody serves is an error that says what to do, and exit code 1.
#[test]
fn docker_ls_without_an_engine_says_what_to_do() {
    let dir = tempfile::tempdir().expect("temp dir");
    let endpoint = format!("unix://{}/none.sock", dir.path().display());
    let out = sonde(&["docker", "ls", "--endpoint", &endpoint]);
    assert_eq!(out.code, Some(1), "{}", out.transcript());
    assert!(out.stderr.contains("unreachable"), "{}", out.transcript());
    let bad = sonde(&["docker", "ls", "--endpoint", "ftp://x"]);
    assert_eq!(bad.code, Some(2), "{}", bad.transcript());
    assert!(bad.stderr.contains("unix://"), "{}", bad.transcript());
}

/// `sonde serve` inside the engine's sealed namespace (where the published ports are), asked
/// over HTTP from inside it with busybox's wget; stopped with SIGTERM on drop.
struct NetnsServe<'a> {
    engine: &'a Podman,
    child: Child,
    base: String,
    token: String,
}

impl<'a> NetnsServe<'a> {
    fn start(engine: &'a Podman, data_dir: &Path, token: String) -> NetnsServe<'a> {
        // The namespace has its own port space: any fixed port is free there.
        let listen = "127.0.0.1:18443";
        let child = Command::new("nsenter")
            .arg(format!("--net=/run/netns/{}", engine.netns))
            .args([SONDE, "serve", "--listen", listen, "--config"])
            .arg(config_for(data_dir))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("sonde serve starts in the namespace");
        let serve = NetnsServe { engine, child, base: format!("http://{listen}"), token };
        let deadline = Instant::now() + Duration::from_secs(20);
        while serve.wget(&["-q", "-O", "-", &format!("{}/api/v1/health", serve.base)]).code
            != Some(0)
        {
            assert!(Instant::now() < deadline, "sonde serve did not answer /health within 20 s");
            std::thread::sleep(Duration::from_millis(200));
        }
        serve
    }

    fn wget(&self, args: &[&str]) -> crate::util::sonde::Outcome {
        let mut all = vec!["wget"];
        all.extend_from_slice(args);
        self.engine.in_netns("busybox", &all)
    }

    /// GETs (or POSTs an empty body to) `path` and parses the JSON answer; panics unless 200.
    fn call(&self, path: &str, post: bool) -> Value {
        let auth = format!("Authorization: Bearer {}", self.token);
        let url = format!("{}{path}", self.base);
        let mut args = vec!["-q", "-O", "-", "--header", auth.as_str()];
        if post {
            args.extend(["--header", "Content-Type: application/json", "--post-data", "{}"]);
        }
        args.push(&url);
        let out = self.wget(&args);
        out.assert_success();
        serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{path}: {e}: {}", out.stdout))
    }

    /// The events of the stream so far (kept for replay), read for `secs` seconds.
    fn events(&self, file: &Path, secs: &str) -> String {
        let auth = format!("Authorization: Bearer {}", self.token);
        let url = format!("{}/api/v1/events", self.base);
        let path = file.to_string_lossy();
        // wget writes each read to the file as it comes; the stream never ends, so it is cut.
        let _ = self.engine.in_netns(
            "busybox",
            &["timeout", secs, "busybox", "wget", "-q", "-O", &path, "--header", &auth, &url],
        );
        std::fs::read_to_string(file).unwrap_or_default()
    }
}

impl Drop for NetnsServe<'_> {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Needs root (network and mount namespaces, podman as root); fails, never skips, without.
#[test]
fn serve_discovers_docker_containers_and_identifies_them_needs_root_netns() {
    let test = "serve_discovers_docker_containers_and_identifies_them_needs_root_netns";
    require_root_netns(test);
    let engine = Podman::start(test);
    engine
        .remote(&["network", "create", "--subnet", "10.213.9.0/24", "sonde-serve-pub"])
        .assert_success();
    engine
        .remote(&[
            "run",
            "-d",
            "--name",
            "web",
            "--label",
            "app=web",
            "--network",
            "sonde-serve-pub",
            "-p",
            "127.0.0.1:18080:80",
            IMAGE,
            "/bin/httpd",
            "-f",
            "-p",
            "80",
            "-h",
            "/www",
        ])
        .assert_success();
    engine
        .remote(&[
            "run",
            "-d",
            "--name",
            "db",
            "--label",
            "tier=back",
            "--network",
            "sonde-serve-pub",
            IMAGE,
            "/bin/sleep",
            "600",
        ])
        .assert_success();
    engine.assert_sealed();

    let dir = tempfile::tempdir().expect("temp dir");
    let token = token(dir.path());
    // A long interval: after the read at start, only the refresh action reads again.
    let docker = format!(
        "\n[docker]\nendpoints = [{}]\ninterval_secs = 3600\n",
        serde_json::Value::String(engine.endpoint())
    );
    let config = config_for(dir.path());
    let mut text = std::fs::read_to_string(&config).expect("config");
    text.push_str(&docker);
    std::fs::write(&config, text).expect("config with [docker]");
    let serve = NetnsServe::start(&engine, dir.path(), token);
    engine.assert_sealed();

    // The read at start: the engine, its containers with labels, networks and ports.
    let deadline = Instant::now() + Duration::from_secs(30);
    let view = loop {
        let view = serve.call("/api/v1/docker", false);
        if view["hosts"][0]["containers"].as_array().is_some_and(|c| c.len() == 2) {
            break view;
        }
        assert!(Instant::now() < deadline, "no containers read in 30 s: {view}");
        std::thread::sleep(Duration::from_millis(300));
    };
    let host = &view["hosts"][0];
    assert_eq!(host["endpoint"], engine.endpoint().as_str());
    assert_eq!(host["product"], "Podman Engine", "{host}");
    assert_eq!(host["ip"], "127.0.0.1", "a unix socket is this machine");
    assert_eq!(host["error"], Value::Null);
    let containers = host["containers"].as_array().expect("containers");
    let (db, web) = (&containers[0], &containers[1]);
    assert_eq!((db["name"].as_str(), web["name"].as_str()), (Some("db"), Some("web")));
    assert_eq!(web["image"], IMAGE);
    assert_eq!(web["state"], "running");
    assert_eq!(web["labels"]["app"], "web");
    assert_eq!(db["labels"]["tier"], "back");
    assert_eq!(
        web["ports"],
        serde_json::json!([{"host_ip": "127.0.0.1", "host_port": 18080, "container_port": 80, "proto": "tcp"}])
    );
    assert_eq!(web["networks"][0]["network"], "sonde-serve-pub");
    let web_ip = web["networks"][0]["address"].as_str().expect("web address").to_owned();
    assert!(web_ip.starts_with("10.213.9."), "{web_ip}");
    let networks = host["networks"].as_array().expect("networks");
    let subnet = networks.iter().find(|n| n["name"] == "sonde-serve-pub").expect("network");
    assert_eq!(subnet["subnets"], serde_json::json!(["10.213.9.0/24"]));

    // Identification: a scan of the published port and the container's own address.
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let scans = serve.call("/api/v1/scans", false);
        let list = scans.as_array().expect("scans");
        if list.iter().any(|s| s["status"] == "completed") {
            break;
        }
        assert!(
            !list.iter().any(|s| s["status"] == "failed"),
            "the identification scan failed: {scans}"
        );
        assert!(Instant::now() < deadline, "no identification scan completed in 90 s: {scans}");
        std::thread::sleep(Duration::from_millis(500));
    }
    for (ip, port) in [("127.0.0.1", 18080), (web_ip.as_str(), 80)] {
        let detail = serve.call(&format!("/api/v1/hosts/{ip}"), false);
        let found = detail["ports"].as_array().and_then(|ports| {
            ports.iter().find(|p| p["port"] == port && p["state"] == "open").cloned()
        });
        let found = found.unwrap_or_else(|| panic!("{ip}:{port} open: {detail}"));
        assert_eq!(found["service"], "http", "{ip}:{port} identified: {found}");
    }

    // Containers come and go; a refresh reads them, links the engine to its host, and the
    // event stream says what changed.
    engine
        .remote(&["run", "-d", "--name", "cache", "--network", "none", IMAGE, "/bin/sleep", "600"])
        .assert_success();
    engine.remote(&["rm", "--force", "--time", "0", "db"]).assert_success();
    let view = serve.call("/api/v1/docker/refresh", true);
    let names: Vec<&str> = view["hosts"][0]["containers"]
        .as_array()
        .expect("containers")
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(names, ["cache", "web"], "{view}");
    assert_eq!(view["hosts"][0]["known_host"], true, "127.0.0.1 is a host now: {view}");
    let events = serve.events(&dir.path().join("events.txt"), "3");
    for needle in ["\"name\":\"cache\"", "\"change\":\"appeared\"", "\"change\":\"vanished\""] {
        assert!(events.contains(needle), "events lack {needle}:\n{events}");
    }
    let vanished = events
        .lines()
        .filter(|l| l.contains("container_changed") && l.contains("\"vanished\""))
        .collect::<Vec<_>>();
    assert!(vanished.iter().any(|l| l.contains("\"name\":\"db\"")), "{events}");
    drop(serve);
    drop(engine);
}
