//! Integration tests of the `sonde` binary: one test binary that indexes its modules (as
//! ripgrep's `tests/tests.rs` does), so the crate links once and helpers live in `util`. Like
//! ripgrep, `appliance/Cargo.toml` turns off test auto-discovery and names this file:
//! `autotests = false` and `[[test]] name = "integration" path = "tests/tests.rs"`.
//!
//! Tests whose names end in `_needs_root_netns` build a sealed lab of network namespaces with
//! `benches/lab/sonde-lab`; they need root and `ip netns`, and fail (never skip) without them.

mod util;

mod accounts;
mod cli_errors;
mod console_e2e;
mod db_copy;
mod docker_engine;
mod doctor;
mod fleet_scan;
mod hostile_services;
mod lab_arp;
mod lab_identify;
mod lab_machines;
mod lab_names;
mod lab_scan;
mod lab_syn_scan;
mod loopback_scan;
mod resume_scan;
mod scan_history;
mod scan_signatures;
mod schedules;
mod serve_api;
mod serve_tls;
mod serve_udp;
mod shard_scan;
