//! A sealed scan lab for one test: `benches/lab/sonde-lab` behind a guard whose `Drop` tears
//! it down.
//!
//! The lab is two network namespaces: `NAME-tgt` answers for a whole prefix (nftables decides
//! which addresses are live and which ports are open) and `NAME-scan`, whose only route leads
//! there. Commands run in `NAME-scan` through `sonde-lab exec`, which re-checks the routes
//! before every run and refuses if anything could leave the lab.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use super::sonde::{Outcome, run};

/// The harness script.
const HARNESS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../benches/lab/sonde-lab");

/// Where the harness keeps each lab's state (its default).
const RUN_DIR: &str = "/run/sonde-lab";

/// Labs made by this process so far; part of each lab's name.
static LABS: AtomicU32 = AtomicU32::new(0);

/// Panics unless this process can build labs: effective uid 0 and a working `ip netns`.
/// Tests that need a lab call this first, so that they fail with a reason instead of
/// passing silently or failing obscurely.
pub(crate) fn require_root_netns(test: &str) {
    let fail = |why: String| -> ! {
        panic!(
            "{test} needs root and network namespaces: {why}. Run it as root where `ip netns` \
             works (CI does, through .ci/run); it fails rather than skips."
        )
    };
    let status = std::fs::read_to_string("/proc/self/status")
        .unwrap_or_else(|e| fail(format!("cannot read /proc/self/status: {e}")));
    // `Uid:` lists real, effective, saved and filesystem ids.
    let euid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        .unwrap_or_else(|| fail("no Uid line in /proc/self/status".into()));
    if euid != "0" {
        fail(format!("the effective uid is {euid}, not 0"));
    }
    match std::process::Command::new("ip").args(["netns", "list"]).output() {
        Ok(out) if out.status.success() => {}
        Ok(out) => {
            fail(format!("`ip netns list` failed: {}", String::from_utf8_lossy(&out.stderr).trim()))
        }
        Err(e) => fail(format!("cannot run `ip` (apt-get install iproute2): {e}")),
    }
    if !Path::new(HARNESS).is_file() {
        fail(format!("the lab harness {HARNESS} is missing"));
    }
}

/// How to build a lab.
#[derive(Debug)]
pub(crate) struct LabOptions {
    /// The prefix the target answers for, e.g. `10.77.16.0/20`.
    pub(crate) prefix: String,
    /// A file of open `addr:port` lines; the listeners and the ground truth follow from it.
    pub(crate) open_file: PathBuf,
    /// Live hosts in total (hosts beyond those with open ports reset every port).
    pub(crate) live_hosts: Option<usize>,
    /// A range whose own counter proves that nothing was sent to it.
    pub(crate) exclude: Option<String>,
}

/// A running lab; dropping it tears it down (processes, namespaces, state).
#[derive(Debug)]
pub(crate) struct Lab {
    name: String,
    state_dir: PathBuf,
}

impl Lab {
    /// Builds a lab with a name unique to this process and test.
    pub(crate) fn up(options: &LabOptions) -> Lab {
        let lab = Lab::named();
        let mut args = vec!["up".to_owned(), "--name".into(), lab.name.clone()];
        args.extend(["--prefix".into(), options.prefix.clone()]);
        args.extend(["--open-file".into(), options.open_file.display().to_string()]);
        if let Some(m) = options.live_hosts {
            args.extend(["--live-hosts".into(), m.to_string()]);
        }
        if let Some(cidr) = &options.exclude {
            args.extend(["--exclude".into(), cidr.clone()]);
        }
        // A lab outlives no test by much, even if this process is killed before Drop runs.
        args.extend(["--lifetime".into(), "900".into()]);
        lab.harness(&args);
        lab
    }

    /// Builds a lab whose target runs real daemons from Debian packages on `addr`
    /// (`benches/lab/daemons`), with `live_hosts` live addresses in all.
    pub(crate) fn up_with_daemons(prefix: &str, addr: &str, live_hosts: usize) -> Lab {
        let lab = Lab::named();
        let live = live_hosts.to_string();
        lab.harness(&[
            "up",
            "--name",
            &lab.name,
            "--prefix",
            prefix,
            "--daemons",
            addr,
            "--live-hosts",
            &live,
            "--lifetime",
            "900",
        ]);
        lab
    }

    /// A fresh name, with any stale lab of that name torn down.
    fn named() -> Lab {
        // Short on purpose: namespace names derive from it. The pid keeps concurrent test
        // processes apart; a leftover from a dead process with the same pid is stale, and
        // `down` below clears it.
        let n = LABS.fetch_add(1, Ordering::Relaxed);
        let name = format!("t{}-{}", base36(std::process::id()), base36(n));
        assert!(name.len() <= 10, "lab name {name} too long");
        let lab = Lab { state_dir: Path::new(RUN_DIR).join(&name), name };
        lab.harness(&["down", "--name", &lab.name]);
        lab
    }

    /// What the daemons announce: `addr:port` -> (product, version), the version being the
    /// upstream part of the package's `dpkg -s` version.
    pub(crate) fn daemon_truth(&self) -> BTreeMap<String, (String, String)> {
        self.state_lines("daemons/truth-daemons.txt")
            .iter()
            .map(|line| {
                let mut words = line.split_whitespace();
                match (words.next(), words.next(), words.next(), words.next()) {
                    (Some(pair), Some(product), Some(version), None) => {
                        (pair.to_owned(), (product.to_owned(), version.to_owned()))
                    }
                    _ => panic!("bad line in truth-daemons.txt: {line}"),
                }
            })
            .collect()
    }

    /// The SHA-256 fingerprint (lowercase hex) of the certificate the lab's nginx serves on
    /// 443, made by `benches/lab/daemons`.
    pub(crate) fn daemon_cert_sha256(&self) -> String {
        self.state_lines("daemons/nginx-cert.sha256").concat()
    }

    /// The lab's live addresses.
    pub(crate) fn live(&self) -> BTreeSet<String> {
        self.state_lines("live.txt").into_iter().collect()
    }

    /// Runs `command` inside the scanning namespace (after the harness's route check), for
    /// at most `timeout_secs`.
    pub(crate) fn exec(&self, timeout_secs: u32, command: &[&str]) -> Outcome {
        let timeout = timeout_secs.to_string();
        let mut args = vec!["exec", "--name", &self.name, "--timeout", &timeout, "--"];
        args.extend_from_slice(command);
        run(HARNESS, &args)
    }

    /// Starts `command` inside the scanning namespace (after the harness's route check)
    /// without waiting for it; it is killed after `timeout_secs` at the latest.
    pub(crate) fn spawn(
        &self,
        timeout_secs: u32,
        command: &[&str],
        log: std::fs::File,
    ) -> std::process::Child {
        let timeout = timeout_secs.to_string();
        let mut args = vec!["exec", "--name", &self.name, "--timeout", &timeout, "--"];
        args.extend_from_slice(command);
        let err = log.try_clone().expect("a log file handle");
        std::process::Command::new(HARNESS)
            .args(&args)
            .stdin(std::process::Stdio::null())
            .stdout(log)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {HARNESS}: {e}"))
    }

    /// The scanning namespace's name, for commands that only talk to processes inside it
    /// (a console on its loopback).
    pub(crate) fn scan_namespace(&self) -> String {
        format!("{}-scan", self.name)
    }

    /// Runs `command` inside the target namespace (where the hosts and daemons are), for
    /// changing what the target answers during a test.
    pub(crate) fn exec_in_target(&self, command: &[&str]) -> Outcome {
        let namespace = format!("{}-tgt", self.name);
        let mut args = vec!["netns", "exec", &namespace];
        args.extend_from_slice(command);
        run("ip", &args)
    }

    /// Packets the target has seen per class: `open`, `closed`, `live_other`, `dead`, `syn`,
    /// `excluded`.
    pub(crate) fn counters(&self) -> BTreeMap<String, u64> {
        let out = self.harness(&["counters", "--name", &self.name]);
        let counters: BTreeMap<String, u64> = out
            .stdout
            .lines()
            .filter_map(|line| {
                let (class, packets) = line.split_once(' ')?;
                Some((class.to_owned(), packets.trim().parse().ok()?))
            })
            .collect();
        assert!(
            counters.contains_key("excluded") && counters.contains_key("syn"),
            "unexpected counters output:\n{}",
            out.stdout
        );
        counters
    }

    /// The ground truth: every open pair as `addr:port`.
    pub(crate) fn truth(&self) -> BTreeSet<String> {
        self.state_lines("truth.txt").into_iter().collect()
    }

    /// The non-empty lines of a file in the lab's state directory.
    fn state_lines(&self, file: &str) -> Vec<String> {
        let path = self.state_dir.join(file);
        std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()
    }

    fn harness<S: AsRef<str>>(&self, args: &[S]) -> Outcome {
        let args: Vec<&str> = args.iter().map(AsRef::as_ref).collect();
        let out = run(HARNESS, &args);
        assert_eq!(
            out.code,
            Some(0),
            "`sonde-lab {}` failed for lab {}\n{}",
            args.join(" "),
            self.name,
            out.transcript()
        );
        out
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        // No panic here: Drop also runs while a failed test unwinds.
        let out = run(HARNESS, &["down", "--name", &self.name]);
        if out.code != Some(0) {
            eprintln!("warning: tearing down lab {} failed\n{}", self.name, out.transcript());
        }
    }
}

/// Counters per class between two readings.
pub(crate) fn delta(
    before: &BTreeMap<String, u64>,
    after: &BTreeMap<String, u64>,
) -> BTreeMap<String, u64> {
    after
        .iter()
        .map(|(class, n)| (class.clone(), n - before.get(class).copied().unwrap_or(0)))
        .collect()
}

fn base36(mut n: u32) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).expect("ASCII digits")
}
