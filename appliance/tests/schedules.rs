//! Schedules end to end: one created over the API runs for real once, and only once, while
//! the CLI lists, adds and removes schedules in the same data directory.

#![allow(clippy::unwrap_used)] // A failed unwrap is a failed test, with its location.

use std::net::TcpListener;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::serve_api::{SONDE, Serve, agent, get, post, token};
use crate::util::store::config_for;

fn sonde_schedule(args: &[&str], data_dir: &std::path::Path) -> (Option<i32>, String, String) {
    let out = Command::new(SONDE)
        .arg("schedule")
        .args(args)
        .arg("--config")
        .arg(config_for(data_dir))
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_schedule_runs_once_and_the_cli_manages_schedules() {
    let dir = tempfile::tempdir().unwrap();
    let token = token(dir.path());
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let serve = Serve::start(dir.path());
    let base = serve.base.clone();

    let (status, bad) = post(
        &base,
        "/api/v1/schedules",
        &token,
        &json!({"name": "x", "targets": ["127.0.0.1"], "cron": "0 3 * * *", "timezone": "Mars/Olympus"}),
    );
    assert_eq!(status, 400, "{bad}");
    assert!(bad["error"]["message"].as_str().unwrap().contains("Mars/Olympus"), "{bad}");

    // Every 2 hours: the first run is due at once.
    let (status, created) = post(
        &base,
        "/api/v1/schedules",
        &token,
        &json!({"name": "loopback", "targets": ["127.0.0.1"], "ports": port.to_string(), "every_hours": 2}),
    );
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_i64().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let scan_id = loop {
        let (_, list) = get(&base, "/api/v1/schedules", Some(&token));
        if let Some(scan) = list[0]["last_scan_id"].as_i64() {
            assert!(
                list[0]["next_run_at"].as_str().unwrap() > list[0]["last_run_at"].as_str().unwrap(),
                "{list}"
            );
            break scan;
        }
        assert!(Instant::now() < deadline, "the schedule did not run within 30 s: {list}");
        thread::sleep(Duration::from_millis(200));
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, scan) = get(&base, &format!("/api/v1/scans/{scan_id}"), Some(&token));
        if scan["status"] == "completed" {
            assert_eq!(scan["counters"]["open_ports"], 1, "{scan}");
            break;
        }
        assert!(Instant::now() < deadline, "the scheduled scan did not complete: {scan}");
        thread::sleep(Duration::from_millis(200));
    }
    // Two ticks later it has not run again: the next run is two hours away.
    thread::sleep(Duration::from_secs(11));
    let (_, scans) = get(&base, "/api/v1/scans", Some(&token));
    assert_eq!(scans.as_array().unwrap().len(), 1, "{scans}");

    let mut resp = agent()
        .patch(format!("{base}/api/v1/schedules/{id}"))
        .header("Authorization", format!("Bearer {token}"))
        .header("Content-Type", "application/json")
        .send(json!({"enabled": false}).to_string())
        .unwrap();
    let body: serde_json::Value =
        serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(
        (body["enabled"].as_bool(), &body["next_run_at"]),
        (Some(false), &serde_json::Value::Null),
        "{body}"
    );

    let (code, out, err) = sonde_schedule(
        &[
            "add",
            "--name",
            "nightly",
            "--cron",
            "0 3 * * *",
            "--timezone",
            "Europe/Paris",
            "127.0.0.1",
            "-p",
            "22",
        ],
        dir.path(),
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("Added schedule"), "{out}");
    let (code, out, _) = sonde_schedule(&["list"], dir.path());
    assert_eq!(code, Some(0));
    assert!(
        out.contains("nightly")
            && out.contains("0 3 * * * (Europe/Paris)")
            && out.contains("paused"),
        "{out}"
    );
    let (code, _, err) =
        sonde_schedule(&["add", "--name", "bad", "--every-hours", "0", "127.0.0.1"], dir.path());
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("every_hours"), "{err}");
    let (code, _, _) = sonde_schedule(&["rm", &id.to_string()], dir.path());
    assert_eq!(code, Some(0));
    let (code, _, err) = sonde_schedule(&["rm", &id.to_string()], dir.path());
    assert_eq!(code, Some(2));
    assert!(err.contains("no schedule"), "{err}");
    drop(listener);
}
