//! A private Podman engine serving the Docker Engine API, for one test, torn down on drop.
//!
//! The engine runs inside a network namespace this guard creates, holding only `lo` and the
//! engine's own bridges: containers can reach each other and published ports on the
//! namespace's 127.0.0.1, and nothing else. Storage, run root and network configuration live
//! in a temporary directory, apart from any other engine on the machine. The service runs in
//! its own mount namespace where cgroup v2 is unmounted when the host mixes v1 and v2
//! (crun refuses such hybrids), and a `containers.conf` caps open files and processes at
//! values this kind of VM can grant.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::sonde::{Outcome, run};

/// The image every container runs: busybox-static imported as a one-layer rootfs.
pub(crate) const IMAGE: &str = "localhost/sonde-busybox:test";

/// A running private engine.
#[derive(Debug)]
pub(crate) struct Podman {
    /// The namespace holding the engine's network.
    pub(crate) netns: String,
    /// Storage, run root, configuration and the API socket.
    dir: tempfile::TempDir,
    /// `podman system service`; killed on drop.
    service: Option<Child>,
}

impl Podman {
    /// Starts the engine and imports [`IMAGE`]; panics with the reason when it cannot.
    pub(crate) fn start(test: &str) -> Podman {
        for tool in ["podman", "nsenter", "unshare", "tar"] {
            assert!(
                run("sh", &["-c", &format!("command -v {tool}")]).code == Some(0),
                "{test} needs `{tool}` (apt-get install podman netavark busybox-static util-linux; \
                 .ci/run does)"
            );
        }
        assert!(Path::new("/bin/busybox").is_file(), "{test} needs /bin/busybox (busybox-static)");
        let dir = tempfile::Builder::new().prefix("sonde-podman-").tempdir().expect("temp dir");
        // Tests of one binary run in parallel: each engine gets its own namespace.
        static ENGINES: AtomicUsize = AtomicUsize::new(0);
        let n = ENGINES.fetch_add(1, Ordering::Relaxed);
        let netns = format!("sonde-dk-{}-{n}", std::process::id());
        let mut engine = Podman { netns, dir, service: None };
        run("ip", &["netns", "add", &engine.netns]).assert_success();
        run("ip", &["-n", &engine.netns, "link", "set", "lo", "up"]).assert_success();
        engine.assert_sealed();
        engine.write_config();
        engine.start_service();
        engine.import_image();
        engine
    }

    /// The API endpoint, `unix:///…/api.sock`.
    pub(crate) fn endpoint(&self) -> String {
        format!("unix://{}", self.socket().display())
    }

    fn socket(&self) -> PathBuf {
        self.dir.path().join("api.sock")
    }

    /// Runs `podman --remote` against this engine: every container operation goes through
    /// the service, inside its namespaces.
    pub(crate) fn remote(&self, args: &[&str]) -> Outcome {
        let url = format!("--url={}", self.endpoint());
        let mut all = vec!["--remote", url.as_str()];
        all.extend_from_slice(args);
        run("podman", &all)
    }

    /// Runs a command in the engine's network namespace.
    pub(crate) fn in_netns(&self, program: &str, args: &[&str]) -> Outcome {
        let net = format!("--net=/run/netns/{}", self.netns);
        let mut all = vec![net.as_str(), program];
        all.extend_from_slice(args);
        run("nsenter", &all)
    }

    /// Panics unless the namespace has no default route: nothing can leave it.
    pub(crate) fn assert_sealed(&self) {
        let routes = run("ip", &["-n", &self.netns, "route", "show", "default"]);
        routes.assert_success();
        assert!(
            routes.stdout.trim().is_empty(),
            "namespace {} has a way out: {}",
            self.netns,
            routes.stdout
        );
    }

    fn write_config(&self) {
        let d = self.dir.path();
        let conf = format!(
            "[containers]\n\
             default_ulimits = [\"nofile=1024:1024\", \"nproc=512:512\"]\n\
             pids_limit = 0\n\
             cgroups = \"disabled\"\n\
             [engine]\n\
             cgroup_manager = \"cgroupfs\"\n\
             events_logger = \"file\"\n\
             [network]\n\
             network_backend = \"netavark\"\n\
             network_config_dir = \"{}/networks\"\n",
            d.display()
        );
        std::fs::write(d.join("containers.conf"), conf).expect("containers.conf");
        let storage = format!(
            "[storage]\ndriver = \"vfs\"\ngraphroot = \"{0}/root\"\nrunroot = \"{0}/run\"\n",
            d.display()
        );
        std::fs::write(d.join("storage.conf"), storage).expect("storage.conf");
        std::fs::create_dir_all(d.join("networks")).expect("networks dir");
    }

    fn podman_env(&self, cmd: &mut Command) {
        let d = self.dir.path();
        cmd.env("CONTAINERS_CONF", d.join("containers.conf"))
            .env("CONTAINERS_STORAGE_CONF", d.join("storage.conf"));
    }

    fn start_service(&mut self) {
        let d = self.dir.path();
        let script = format!(
            "if mountpoint -q /sys/fs/cgroup/unified; then umount /sys/fs/cgroup/unified; fi; \
             exec podman --root {0}/root --runroot {0}/run --storage-driver vfs --tmpdir {0}/tmp \
             system service --time=0 unix://{0}/api.sock",
            d.display()
        );
        let log = std::fs::File::create(d.join("service.log")).expect("service log");
        let mut cmd = Command::new("nsenter");
        cmd.arg(format!("--net=/run/netns/{}", self.netns))
            .args(["unshare", "-m", "--propagation", "slave", "sh", "-c", &script])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log);
        self.podman_env(&mut cmd);
        self.service = Some(cmd.spawn().expect("start podman system service"));
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self.socket().exists() {
            assert!(
                Instant::now() < deadline,
                "podman system service did not create its socket in 20 s:\n{}",
                self.service_log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// What the service logged, for failure messages.
    pub(crate) fn service_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("service.log")).unwrap_or_default()
    }

    fn import_image(&self) {
        let rootfs = self.dir.path().join("rootfs");
        let bin = rootfs.join("bin");
        let www = rootfs.join("www");
        std::fs::create_dir_all(&bin).expect("rootfs");
        std::fs::create_dir_all(&www).expect("www");
        std::fs::copy("/bin/busybox", bin.join("busybox")).expect("copy busybox");
        for applet in ["sh", "httpd", "sleep", "cat", "ip"] {
            std::os::unix::fs::symlink("busybox", bin.join(applet)).expect("applet link");
        }
        std::fs::write(
            www.join("index.html"),
            "<html><head><title>Sonde Docker lab</title></head><body>lab</body></html>\n",
        )
        .expect("index.html");
        let tar = self.dir.path().join("rootfs.tar");
        run("tar", &["-C", &rootfs.to_string_lossy(), "-cf", &tar.to_string_lossy(), "."])
            .assert_success();
        self.remote(&["import", &tar.to_string_lossy(), IMAGE]).assert_success();
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        // Containers first, through the engine, so conmon and the runtime clean up; then
        // whatever still runs in the namespace, the service, and the namespace itself, which
        // takes the bridges and the engine's nftables/iptables rules with it.
        if self.socket().exists() {
            let _ = self.remote(&["rm", "--all", "--force", "--time", "0"]);
        }
        if let Some(mut service) = self.service.take() {
            let _ = service.kill();
            let _ = service.wait();
        }
        let pids = run("ip", &["netns", "pids", &self.netns]);
        for pid in pids.stdout.split_whitespace() {
            let _ = run("kill", &["-9", pid]);
        }
        let _ = run("ip", &["netns", "del", &self.netns]);
        // The temp dir goes with `self.dir`.
    }
}
