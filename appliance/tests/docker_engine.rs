//! Docker discovery against a real Docker-API engine: a private Podman service with three
//! containers (a published web server on a bridge, one on an internal network, one with no
//! network), read by `sonde docker ls`.

use serde_json::Value;

use crate::util::lab::require_root_netns;
use crate::util::podman::{IMAGE, Podman};
use crate::util::sonde::sonde;

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
