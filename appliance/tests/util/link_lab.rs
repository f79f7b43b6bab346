//! A sealed on-link lab: one Ethernet segment (a bridge in its own namespace) joining a
//! scanning namespace and several host namespaces, each host with a MAC of the test's choosing.
//!
//! ```text
//!   NAME-s (scanner) sl0 10.79.1.1/24 ─┐
//!   NAME-1 (host)   eth0 10.79.1.10/24 ├── br0 in NAME-b
//!   NAME-2 ...                         ┘
//! ```
//!
//! The scanning namespace holds `lo` and `sl0` only, its one route is the segment's own
//! prefix and it has no default route: `benches/lab/sonde_lab.py check` proves it before each
//! command, as `sonde-lab exec` does for the routed lab. Hosts run the lab's listener
//! (`sonde_lab.py serve`) on their open ports; every other port resets.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use super::sonde::{Outcome, run};

/// The segment's prefix; the scanner is `.1`.
pub(crate) const PREFIX: &str = "10.79.1.0/24";
const SCANNER: &str = "10.79.1.1/24";
/// Locally administered, so it names no vendor.
const SCANNER_MAC: &str = "02:5d:6c:00:01:01";
const HELPER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../benches/lab/sonde_lab.py");
/// Every process the lab starts dies by then, even if this test process is killed.
const LIFETIME_SECS: &str = "900";

static LABS: AtomicU32 = AtomicU32::new(0);

/// One host on the segment.
#[derive(Debug, Clone)]
pub(crate) struct LinkHost {
    /// Last octet of its address in [`PREFIX`].
    pub(crate) octet: u8,
    /// Its MAC.
    pub(crate) mac: &'static str,
    /// Ports it listens on.
    pub(crate) open: &'static [u16],
}

/// A running lab; dropping it stops its listeners and deletes its namespaces.
#[derive(Debug)]
pub(crate) struct LinkLab {
    name: String,
    namespaces: Vec<String>,
    listeners: Vec<Child>,
    state: tempfile::TempDir,
}

impl LinkLab {
    /// Builds the segment with `hosts` on it.
    pub(crate) fn up(hosts: &[LinkHost]) -> LinkLab {
        let n = LABS.fetch_add(1, Ordering::Relaxed);
        let name = format!("l{:x}-{n}", std::process::id());
        let mut lab = LinkLab {
            namespaces: Vec::new(),
            listeners: Vec::new(),
            state: tempfile::tempdir().expect("a temporary directory"),
            name,
        };
        let (scan, bridge) = (lab.ns("s"), lab.ns("b"));
        for ns in [&scan, &bridge] {
            lab.add_namespace(ns);
        }
        ip(&["-n", &bridge, "link", "add", "br0", "type", "bridge"]);
        ip(&["-n", &bridge, "link", "set", "br0", "up"]);
        lab.attach(&scan, "p0", "sl0", SCANNER_MAC, SCANNER);
        for (i, host) in hosts.iter().enumerate() {
            let ns = lab.ns(&(i + 1).to_string());
            lab.add_namespace(&ns);
            lab.attach(
                &ns,
                &format!("p{}", i + 1),
                "eth0",
                host.mac,
                &format!("10.79.1.{}/24", host.octet),
            );
            if !host.open.is_empty() {
                lab.listen(&ns, host.open);
            }
        }
        lab
    }

    /// Runs `command` in the scanning namespace after the route check, like `sonde-lab exec`.
    pub(crate) fn exec(&self, command: &[&str]) -> Outcome {
        self.check();
        let scan = self.ns("s");
        let mut args = vec!["netns", "exec", &scan];
        args.extend_from_slice(command);
        run("ip", &args)
    }

    /// A command for the scanning namespace, started without waiting, after the route check.
    pub(crate) fn spawn(&self, command: &[&str], stdout: Stdio) -> Child {
        self.check();
        Command::new("ip")
            .args(["netns", "exec", &self.ns("s")])
            .args(command)
            .env_remove("SONDE_LOG")
            .stdout(stdout)
            .stderr(Stdio::null())
            .spawn()
            .expect("start a command in the scanning namespace")
    }

    /// Gives host number `index` (in the order `up` got them) the address ending in `to`
    /// instead of the one ending in `from`, keeping its MAC and listeners: a machine that
    /// changed address (a new DHCP lease, a renumbering).
    pub(crate) fn readdress(&self, index: usize, from: u8, to: u8) {
        let ns = self.ns(&(index + 1).to_string());
        ip(&["-n", &ns, "addr", "del", &format!("10.79.1.{from}/24"), "dev", "eth0"]);
        ip(&["-n", &ns, "addr", "add", &format!("10.79.1.{to}/24"), "dev", "eth0"]);
    }

    /// Refuses (panics) unless the scanning namespace can reach the segment and nothing else.
    fn check(&self) {
        let out = run(
            "python3",
            &[
                HELPER,
                "check",
                "--netns",
                &self.ns("s"),
                "--prefix",
                PREFIX,
                "--link-net",
                PREFIX,
                "--veth",
                "sl0",
            ],
        );
        assert_eq!(out.code, Some(0), "the on-link lab is not sealed\n{}", out.transcript());
    }

    fn ns(&self, suffix: &str) -> String {
        format!("{}-{suffix}", self.name)
    }

    fn add_namespace(&mut self, ns: &str) {
        // A leftover of a dead process with the same pid is stale.
        let _ = run("ip", &["netns", "del", ns]);
        ip(&["netns", "add", ns]);
        self.namespaces.push(ns.to_owned());
        // No IPv6: nothing but ARP and IPv4 on the segment.
        let sysctl = ["net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"];
        let out = run("ip", &["netns", "exec", ns, "sysctl", "-qw", sysctl[0], sysctl[1]]);
        assert_eq!(out.code, Some(0), "sysctl in {ns}\n{}", out.transcript());
        ip(&["-n", ns, "link", "set", "lo", "up"]);
    }

    /// A veth from the bridge (`port`) to `ns` (`ifname`, with `mac` and `addr`).
    fn attach(&self, ns: &str, port: &str, ifname: &str, mac: &str, addr: &str) {
        let bridge = self.ns("b");
        ip(&[
            "-n", &bridge, "link", "add", port, "type", "veth", "peer", "name", ifname, "netns", ns,
        ]);
        ip(&["-n", &bridge, "link", "set", port, "master", "br0", "up"]);
        ip(&["-n", ns, "link", "set", ifname, "address", mac]);
        ip(&["-n", ns, "addr", "add", addr, "dev", ifname]);
        ip(&["-n", ns, "link", "set", ifname, "up"]);
    }

    fn listen(&mut self, ns: &str, ports: &[u16]) {
        let ready: PathBuf = self.state.path().join(format!("{ns}.ready"));
        let ports = ports.iter().map(u16::to_string).collect::<Vec<_>>().join(",");
        let child = Command::new("timeout")
            .args([LIFETIME_SECS, "ip", "netns", "exec", ns, "python3", HELPER, "serve"])
            .args(["--ports", &ports, "--ready", ready.to_str().expect("a UTF-8 path")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start a listener");
        self.listeners.push(child);
        wait_for(&ready);
    }
}

impl Drop for LinkLab {
    fn drop(&mut self) {
        for child in &mut self.listeners {
            let _ = child.kill();
            let _ = child.wait();
        }
        // Killing `timeout` leaves its child, the listener, running: whatever still runs in
        // a namespace is stopped before the namespace goes.
        for ns in &self.namespaces {
            let pids = run("ip", &["netns", "pids", ns]);
            for pid in pids.stdout.split_whitespace() {
                let _ = run("kill", &["-KILL", pid]);
            }
        }
        // The bridge's namespace goes first, taking every veth with it.
        for ns in self.namespaces.iter().rev() {
            let out = run("ip", &["netns", "del", ns]);
            if out.code != Some(0) {
                eprintln!("warning: deleting namespace {ns} failed\n{}", out.transcript());
            }
        }
    }
}

fn ip(args: &[&str]) {
    let out = run("ip", args);
    assert_eq!(out.code, Some(0), "`ip {}` failed\n{}", args.join(" "), out.transcript());
}

fn wait_for(ready: &Path) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ready.exists() {
        assert!(Instant::now() < deadline, "the listener never wrote {}", ready.display());
        std::thread::sleep(Duration::from_millis(50));
    }
}
