//! Two appliances sharing one PostgreSQL store scan one lab range: each `sonde serve` runs in
//! its own scanning namespace (two labs built from the same open file and seed, so the same
//! ground truth), both reach the store through its unix socket (a file, so namespaces share
//! it), and the first is killed half-way.

#![allow(clippy::unwrap_used)] // A failed unwrap is a failed test, with its location.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use sonde::pg_server::PgServer;
use sqlx::Row;

use crate::util::lab::{Lab, LabOptions, require_root_netns};
use crate::util::sonde::SONDE;

/// A /16 with two ports: 131,072 pairs, almost all of them silent addresses, so the connect
/// engine spends its time waiting out timeouts and the scan lasts long enough to kill one
/// appliance half-way, yet ends within seconds.
const PREFIX: &str = "10.79.0.0/16";
const OPEN: [&str; 12] = [
    "10.79.0.10:22",
    "10.79.3.7:80",
    "10.79.17.200:22",
    "10.79.17.200:80",
    "10.79.64.1:80",
    "10.79.99.99:22",
    "10.79.128.5:22",
    "10.79.160.33:80",
    "10.79.201.2:22",
    "10.79.230.40:80",
    "10.79.250.250:22",
    "10.79.255.1:80",
];
/// Probes per second of each chunk; each appliance runs eight chunks at once.
const RATE: u64 = 4000;
/// The scan must end within this, takeover included.
const LIMIT: Duration = Duration::from_secs(60);

#[test]
fn two_appliances_share_a_scan_and_one_survives_the_other_needs_root_netns() {
    require_root_netns("two_appliances_share_a_scan_and_one_survives_the_other_needs_root_netns");
    let t0 = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let open_file = dir.path().join("open.txt");
    std::fs::write(&open_file, OPEN.join("\n") + "\n").unwrap();
    let options = LabOptions {
        prefix: PREFIX.into(),
        open_file: open_file.clone(),
        live_hosts: Some(40),
        exclude: None,
    };
    let (lab_a, lab_b) = (Lab::up(&options), Lab::up(&options));
    let truth = lab_a.truth();
    assert_eq!(truth, lab_b.truth(), "both labs answer the same");
    assert_eq!(truth.len(), OPEN.len());

    eprintln!("fleet scan: labs up after {:.1} s", t0.elapsed().as_secs_f64());
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let server = PgServer::shared().expect("a PostgreSQL server for the test");
    let url = runtime.block_on(server.fresh_database()).expect("a fresh database");
    let config_a = config(dir.path(), "alpha", &url);
    let config_b = config(dir.path(), "bravo", &url);
    let token = token(&config_a);

    let log_a = dir.path().join("alpha.log");
    let log_b = dir.path().join("bravo.log");
    let serve = |lab: &Lab, config: &std::path::Path, log: &std::path::Path| {
        let config = config.display().to_string();
        let log = std::fs::File::create(log).unwrap();
        lab.spawn(180, &[SONDE, "serve", "--config", &config], log)
    };
    let mut alpha = serve(&lab_a, &config_a, &log_a);
    let mut bravo = serve(&lab_b, &config_b, &log_b);
    let (ns_a, ns_b) = (lab_a.scan_namespace(), lab_b.scan_namespace());
    let logs = || {
        format!(
            "alpha:\n{}\nbravo:\n{}",
            std::fs::read_to_string(&log_a).unwrap_or_default(),
            std::fs::read_to_string(&log_b).unwrap_or_default()
        )
    };
    for ns in [&ns_a, &ns_b] {
        wait_for(Duration::from_secs(120), || api(ns, &token, "GET", "/api/v1/health", None))
            .unwrap_or_else(|| panic!("the console in {ns} answers\n{}", logs()));
    }
    eprintln!("fleet scan: consoles up after {:.1} s", t0.elapsed().as_secs_f64());
    // Bravo's console stream, read from the start of the scan.
    let events_path = dir.path().join("bravo-events.txt");
    let mut stream = Command::new("ip")
        .args(["netns", "exec", &ns_b, "curl", "-sN", "--max-time", "120", "-H"])
        .arg(format!("Authorization: Bearer {token}"))
        .arg("http://127.0.0.1:8080/api/v1/events")
        .stdout(std::fs::File::create(&events_path).unwrap())
        .spawn()
        .unwrap();

    let request = serde_json::json!({
        "targets": [PREFIX], "ports": "22,80", "rate": RATE, "engine": "connect", "seed": 11,
    });
    let created = api(&ns_a, &token, "POST", "/api/v1/scans", Some(&request))
        .unwrap_or_else(|| panic!("the scan is accepted\n{}", logs()));
    let scan_id = created["id"].as_i64().unwrap_or_else(|| panic!("a scan id in {created}"));
    let started = Instant::now();

    let db = runtime.block_on(sqlx::postgres::PgPool::connect(&url)).unwrap();
    let chunk_count = |sql: &str| -> i64 {
        runtime.block_on(sqlx::query_scalar(sql).bind(scan_id).fetch_one(&db)).unwrap()
    };
    let total = chunk_count("SELECT COUNT(*) FROM scan_chunks WHERE scan_id = $1");
    assert_eq!(total, 64, "a /16 cut into /22 chunks");
    // The ground truth's pairs inside the chunks alpha finished (and so stored).
    let alpha_truth = || -> BTreeSet<String> {
        let by_alpha: Vec<(u32, u32)> = runtime
            .block_on(
                sqlx::query(
                    "SELECT targets FROM scan_chunks WHERE scan_id = $1 AND done_by = 'alpha'",
                )
                .bind(scan_id)
                .fetch_all(&db),
            )
            .unwrap()
            .iter()
            .flat_map(|r| {
                serde_json::from_str::<Vec<(u32, u32)>>(&r.get::<String, _>("targets")).unwrap()
            })
            .collect();
        truth
            .iter()
            .filter(|p| {
                let ip: Ipv4Addr = p.split(':').next().unwrap().parse().unwrap();
                by_alpha.iter().any(|&(a, b)| (a..=b).contains(&u32::from(ip)))
            })
            .cloned()
            .collect()
    };
    // Half-way: a quarter of the chunks done, alpha holding some and having stored some
    // results (the pairs are sparse: a finished chunk may hold none).
    wait_for(LIMIT, || {
        let done =
            chunk_count("SELECT COUNT(*) FROM scan_chunks WHERE scan_id = $1 AND status = 'done'");
        let alpha_holds = chunk_count(
            "SELECT COUNT(*) FROM scan_chunks WHERE scan_id = $1 AND status = 'leased' \
             AND lease_owner = 'alpha'",
        );
        (done * 4 >= total && alpha_holds > 0 && !alpha_truth().is_empty()).then_some(())
    })
    .unwrap_or_else(|| {
        panic!("the scan gets a quarter done, with results of alpha stored\n{}", logs())
    });
    kill_namespace(&ns_a);
    let _ = alpha.wait();
    let killed_at = started.elapsed();

    let status = wait_for(LIMIT, || {
        let status: String = runtime
            .block_on(
                sqlx::query_scalar("SELECT status FROM scans WHERE id = $1")
                    .bind(scan_id)
                    .fetch_one(&db),
            )
            .unwrap();
        (status != "running" && status != "queued").then_some(status)
    })
    .unwrap_or_else(|| panic!("the scan ends after alpha is killed\n{}", logs()));
    let took = started.elapsed();
    assert_eq!(status, "completed", "{}", logs());

    // The union of both appliances' results is the ground truth, each pair once.
    let rows = runtime
        .block_on(
            sqlx::query("SELECT ip, port FROM scan_results WHERE scan_id = $1")
                .bind(scan_id)
                .fetch_all(&db),
        )
        .unwrap();
    let found: Vec<String> = rows
        .iter()
        .map(|r| pair(Ipv4Addr::from(r.get::<i64, _>("ip") as u32), r.get::<i64, _>("port") as u16))
        .collect();
    let unique: BTreeSet<String> = found.iter().cloned().collect();
    assert_eq!(unique.len(), found.len(), "no pair twice: {found:?}");
    assert_eq!(unique, truth, "the union of the results is the ground truth\n{}", logs());
    let ports_rows = chunk_count(
        "SELECT COUNT(*) FROM ports p JOIN scan_results r ON r.ip = p.ip AND r.port = p.port \
         WHERE r.scan_id = $1",
    );
    assert_eq!(ports_rows as usize, truth.len(), "one current row per port");

    // Alpha's chunks were taken over: at least one chunk was leased twice, and bravo did it.
    let taken_over = chunk_count(
        "SELECT COUNT(*) FROM scan_chunks WHERE scan_id = $1 AND leases > 1 AND done_by = 'bravo'",
    );
    assert!(taken_over > 0, "a chunk alpha held was finished by bravo\n{}", logs());

    // Bravo's console showed alpha's results as alpha stored them.
    let alpha_found = alpha_truth();
    std::thread::sleep(Duration::from_millis(500));
    let _ = stream.kill();
    let _ = stream.wait();
    let seen = ports_in_stream(&std::fs::read_to_string(&events_path).unwrap(), scan_id);
    assert!(!alpha_found.is_empty(), "alpha stored some results before it was killed");
    let missing: Vec<_> = alpha_found.difference(&seen).collect();
    assert!(
        missing.is_empty(),
        "bravo's stream lacks alpha's results {missing:?}; it saw {seen:?}"
    );
    assert!(seen.is_superset(&truth), "bravo's stream showed the whole scan: {seen:?}");
    // Bravo's progress covered the whole scan (every chunk, both appliances) with a rate
    // and an ETA, as a single appliance's scan does.
    let progress = progress_in_stream(&std::fs::read_to_string(&events_path).unwrap(), scan_id);
    assert!(!progress.is_empty(), "bravo's stream carried progress");
    assert!(
        progress.iter().all(|c| c["probes_total"] == 131_072),
        "progress counts the whole /16 x 2: {progress:?}"
    );
    assert!(
        progress.iter().any(|c| c["rate_pps"].as_f64().is_some_and(|r| r > 0.0)
            && c["eta_seconds"].as_f64().is_some()),
        "progress had a rate and an ETA: {progress:?}"
    );
    eprintln!(
        "fleet scan: {total} chunks, alpha killed at {:.1} s, completed at {:.1} s; \
         {} of {} results stored by alpha, {taken_over} chunks taken over",
        killed_at.as_secs_f64(),
        took.as_secs_f64(),
        alpha_found.len(),
        truth.len()
    );
    assert!(took < LIMIT, "the scan took {took:?}");
    kill_namespace(&ns_b);
    let _ = bravo.wait();
}

/// A config for appliance `name` sharing the store at `url`, with its own data directory.
fn config(dir: &std::path::Path, name: &str, url: &str) -> std::path::PathBuf {
    let data = dir.join(name);
    std::fs::create_dir_all(&data).unwrap();
    let quote = |s: &str| Value::String(s.to_owned()).to_string();
    let text = format!(
        "[server]\nlisten = \"127.0.0.1:8080\"\ndata_dir = {}\ndatabase_url = {}\n\n\
         [scan]\nsubnet_prefix = 22\nparallel_subnets = 8\ntimeout_ms = 250\nretries = 0\n\
         concurrency = 512\n\n[cluster]\nname = {}\nlease_secs = 3\n",
        quote(&data.display().to_string()),
        quote(url),
        quote(name)
    );
    let path = data.join("sonde.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// A token of a fresh admin in the shared store.
fn token(config: &std::path::Path) -> String {
    use std::io::Write;
    let mut add = Command::new(SONDE)
        .args(["user", "add", "--role", "admin", "fleet", "--password-stdin", "--config"])
        .arg(config)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    add.stdin.take().unwrap().write_all(b"fleet-password\n").unwrap();
    assert!(add.wait().unwrap().success(), "sonde user add succeeds");
    let out = Command::new(SONDE)
        .args(["token", "create", "--name", "fleet", "--config"])
        .arg(config)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().lines().last().unwrap().trim().to_owned()
}

/// Calls the console inside namespace `ns`; the JSON answer of a 2xx, `None` otherwise.
fn api(ns: &str, token: &str, method: &str, path: &str, body: Option<&Value>) -> Option<Value> {
    let mut command = Command::new("ip");
    command.args(["netns", "exec", ns, "curl", "-sf", "--max-time", "10", "-X", method, "-H"]);
    command.arg(format!("Authorization: Bearer {token}"));
    if let Some(body) = body {
        command.args(["-H", "Content-Type: application/json", "--data"]).arg(body.to_string());
    }
    let out = command.arg(format!("http://127.0.0.1:8080{path}")).output().ok()?;
    if !out.status.success() {
        return None;
    }
    serde_json::from_slice(&out.stdout).ok()
}

/// Polls `check` every 100 ms until it gives a value or `limit` passes.
fn wait_for<T>(limit: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if let Some(value) = check() {
            return Some(value);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}

/// SIGKILLs every process in namespace `ns`: only the test's own `sonde serve` runs there.
fn kill_namespace(ns: &str) {
    let out = Command::new("ip").args(["netns", "pids", ns]).output().unwrap();
    for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
        let _ = Command::new("kill").args(["-KILL", pid]).status();
    }
}

/// The `addr:port` pairs of scan `scan_id` announced by `port_found` events in an SSE stream.
fn ports_in_stream(text: &str, scan_id: i64) -> BTreeSet<String> {
    text.lines()
        .filter_map(|line| line.strip_prefix("data:"))
        .filter_map(|data| serde_json::from_str::<Value>(data.trim()).ok())
        .filter(|e| e["type"] == "port_found" && e["scan_id"] == scan_id)
        .filter_map(|e| {
            let ip: Ipv4Addr = e["ip"].as_str()?.parse().ok()?;
            Some(pair(ip, e["port"]["port"].as_u64()? as u16))
        })
        .collect()
}

/// The counters of scan `scan_id`'s `scan_progress` events in an SSE stream, in order.
fn progress_in_stream(text: &str, scan_id: i64) -> Vec<Value> {
    text.lines()
        .filter_map(|line| line.strip_prefix("data:"))
        .filter_map(|data| serde_json::from_str::<Value>(data.trim()).ok())
        .filter(|e| e["type"] == "scan_progress" && e["scan_id"] == scan_id)
        .map(|e| e["counters"].clone())
        .collect()
}

fn pair(ip: Ipv4Addr, port: u16) -> String {
    format!("{ip}:{port}")
}
