//! `sonde doctor`: one `ok|warn|fail name: detail` line per check.

use crate::util::sonde::sonde;

const CHECKS: [&str; 5] =
    ["raw sockets", "io_uring", "open-file limit", "default route", "data directory"];

/// Splits `status name: detail`, checking the shape.
fn parse(line: &str) -> (&str, &str, &str) {
    let (status, rest) = line.split_once(' ').unwrap_or_else(|| panic!("no status: {line}"));
    assert!(["ok", "warn", "fail"].contains(&status), "bad status in: {line}");
    let (name, detail) =
        rest.trim_start().split_once(": ").unwrap_or_else(|| panic!("no `name: `: {line}"));
    assert!(!detail.trim().is_empty(), "no detail in: {line}");
    (status, name, detail)
}

#[test]
fn doctor_reports_one_line_per_check() {
    let dir = tempfile::tempdir().unwrap();
    let out = sonde(&["doctor", "--data-dir", dir.path().to_str().unwrap()]);
    out.assert_success();
    let lines: Vec<_> = out.stdout.lines().map(parse).collect();
    let names: Vec<&str> = lines.iter().map(|&(_, name, _)| name).collect();
    assert_eq!(names, CHECKS, "{}", out.transcript());
    assert!(lines.iter().all(|&(status, _, _)| status != "fail"), "{}", out.transcript());
    assert_eq!(lines[4].0, "ok", "{}", out.transcript());
}

#[test]
fn doctor_fails_on_an_unusable_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("file");
    std::fs::write(&file, "").unwrap();
    let out = sonde(&["doctor", "--data-dir", file.join("store").to_str().unwrap()]);
    assert_eq!(out.code, Some(1), "{}", out.transcript());
    let last = out.stdout.lines().last().map(parse).unwrap();
    assert_eq!((last.0, last.1), ("fail", "data directory"), "{}", out.transcript());
}
