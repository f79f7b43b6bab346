//! Running the `sonde` binary and reading what it prints.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::net::{Ipv4Addr, TcpListener};
use std::process::{Command, Output};

/// The binary under test, built by Cargo for this test run.
pub(crate) const SONDE: &str = env!("CARGO_BIN_EXE_sonde");

/// Seconds any single run of the binary may take before it is killed: a hung `sonde` fails
/// the test instead of hanging CI.
const RUN_LIMIT_SECS: u32 = 120;

/// What a finished process left behind.
#[derive(Debug)]
pub(crate) struct Outcome {
    /// Exit code; `None` when a signal ended it.
    pub(crate) code: Option<i32>,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
    /// The command line, for failure messages.
    pub(crate) command: String,
}

impl Outcome {
    /// Panics with everything the process said unless it exited 0.
    pub(crate) fn assert_success(&self) -> &Self {
        assert_eq!(self.code, Some(0), "`{}` failed\n{}", self.command, self.transcript());
        self
    }

    /// Exit code, output and error streams, for failure messages.
    pub(crate) fn transcript(&self) -> String {
        format!(
            "exit code: {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Runs `program args...` to completion under coreutils `timeout` and collects its output.
pub(crate) fn run<S: AsRef<OsStr>>(program: &str, args: &[S]) -> Outcome {
    let mut command = Command::new("timeout");
    command
        .arg("--kill-after=5")
        .arg(RUN_LIMIT_SECS.to_string())
        .arg(program)
        .args(args)
        // The tests choose the log level; an operator's setting must not change stderr.
        .env_remove("SONDE_LOG");
    let line = std::iter::once(program.to_owned())
        .chain(args.iter().map(|a| a.as_ref().to_string_lossy().into_owned()))
        .collect::<Vec<_>>()
        .join(" ");
    let output = command.output().unwrap_or_else(|e| {
        panic!("cannot start `{line}` (is coreutils `timeout` installed?): {e}")
    });
    outcome(line, &output)
}

/// Runs the `sonde` binary with `args`.
pub(crate) fn sonde(args: &[&str]) -> Outcome {
    run(SONDE, args)
}

/// Turns a finished process into an [`Outcome`]; exit 124 is coreutils' "timed out".
fn outcome(command: String, output: &Output) -> Outcome {
    let outcome = Outcome {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        command,
    };
    assert_ne!(
        outcome.code,
        Some(124),
        "`{}` timed out\n{}",
        outcome.command,
        outcome.transcript()
    );
    outcome
}

/// An open port as `sonde` reports it.
pub(crate) type Pair = (Ipv4Addr, u16);

/// Open (address, port) pairs from `-o ndjson`, checking that every line is a well-formed
/// result object: `{"ip","port","proto":"tcp","state","rtt_ms"}`.
pub(crate) fn open_pairs_from_ndjson(stdout: &str) -> BTreeSet<Pair> {
    stdout
        .lines()
        .filter(|line| !line.trim().is_empty())
        .filter_map(|line| {
            let value: serde_json::Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("ndjson line is not JSON ({e}): {line}"));
            open_pair_from_result(&value)
        })
        .collect()
}

/// Checks one result object and returns its pair when its state is `open`.
pub(crate) fn open_pair_from_result(value: &serde_json::Value) -> Option<Pair> {
    let ip = value["ip"]
        .as_str()
        .and_then(|s| s.parse::<Ipv4Addr>().ok())
        .unwrap_or_else(|| panic!("result without an IPv4 `ip`: {value}"));
    let port = value["port"]
        .as_u64()
        .and_then(|p| u16::try_from(p).ok())
        .unwrap_or_else(|| panic!("result without a `port` in 0..=65535: {value}"));
    assert_eq!(value["proto"], "tcp", "result with an unexpected `proto`: {value}");
    let rtt = value["rtt_ms"]
        .as_f64()
        .unwrap_or_else(|| panic!("result without a numeric `rtt_ms`: {value}"));
    assert!(rtt >= 0.0, "negative rtt_ms: {value}");
    let state =
        value["state"].as_str().unwrap_or_else(|| panic!("result without a `state`: {value}"));
    (state == "open").then_some((ip, port))
}

/// `a.b.c.d:port` for messages and for comparing with the lab's ground truth.
pub(crate) fn show(pairs: &BTreeSet<Pair>) -> BTreeSet<String> {
    pairs.iter().map(|(ip, port)| format!("{ip}:{port}")).collect()
}

/// `n` listeners on 127.0.0.1 at ports the kernel picks, and the open pairs they make. The
/// ports stay open while the listeners live.
pub(crate) fn loopback_listeners(n: usize) -> (Vec<TcpListener>, BTreeSet<Pair>) {
    let listeners: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1:0"))
        .collect();
    let open = listeners
        .iter()
        .map(|l| (Ipv4Addr::LOCALHOST, l.local_addr().expect("a bound address").port()))
        .collect();
    (listeners, open)
}
