//! Bad input: exit code 2 and one line on stderr that names the problem, nothing on stdout.
//!
//! Every target here is invalid or absent, so nothing can be sent; a valid target outside
//! 127.0.0.0/8 must never appear in a test that runs outside a lab.

use crate::util::sonde::{Outcome, sonde};

/// Asserts the usage-error contract and that the message names `names` (case-insensitive).
fn assert_usage_error(out: &Outcome, names: &str) {
    assert_eq!(out.code, Some(2), "`{}` should exit 2\n{}", out.command, out.transcript());
    let lines: Vec<&str> = out.stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(
        lines.len(),
        1,
        "`{}` should explain itself in one line on stderr\n{}",
        out.command,
        out.transcript()
    );
    assert!(
        lines[0].to_lowercase().contains(&names.to_lowercase()),
        "`{}`: the message should name `{names}`: {}",
        out.command,
        lines[0]
    );
    assert!(
        out.stdout.trim().is_empty(),
        "`{}` printed results for bad input\n{}",
        out.command,
        out.transcript()
    );
}

#[test]
fn cidr_prefix_longer_than_32_is_a_usage_error() {
    assert_usage_error(&sonde(&["scan", "10.0.0.0/33", "-p", "80"]), "10.0.0.0/33");
}

#[test]
fn port_above_65535_is_a_usage_error() {
    assert_usage_error(&sonde(&["scan", "127.0.0.1", "-p", "70000"]), "70000");
}

#[test]
fn syn_scan_of_loopback_is_a_usage_error_pointing_to_connect() {
    assert_usage_error(
        &sonde(&["scan", "127.0.0.1", "-p", "80", "--engine", "syn"]),
        "--engine connect",
    );
}

#[test]
fn scan_without_targets_is_a_usage_error() {
    assert_usage_error(&sonde(&["scan", "-p", "80"]), "target");
}

#[test]
fn unknown_config_key_is_a_usage_error() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let config = dir.path().join("sonde.toml");
    std::fs::write(&config, "[server]\nlisten = \"127.0.0.1:8080\"\nbogus = 1\n")
        .expect("write the config");
    let path = config.to_str().expect("UTF-8 temporary path");
    assert_usage_error(&sonde(&["validate", "--config", path]), "bogus");
}

#[test]
fn unwritable_data_dir_is_a_usage_error() {
    assert_usage_error(&sonde(&["serve", "--data-dir", "/proc/sonde-nope"]), "/proc/sonde-nope");
}
