//! The console end to end: a real `sonde serve` on 127.0.0.1 with a temporary data dir,
//! loopback listeners as scan targets (one of them greets with markup and terminal escapes),
//! and `web/ui/e2e/run.mjs` driving headless Chromium through first-run setup from the
//! one-time link in the log, a password login, a scan watched to 100% without a reload, the
//! found host, a comparison of two scans, every page, and a viewer who may not scan.
//! Screenshots go to `target/e2e-screenshots/`.
//!
//! Needs Node.js (with `web/ui/node_modules`, which the build installs) and Debian's
//! `chromium` (`.ci/run` installs both); it fails, never skips, without them.

#![allow(clippy::unwrap_used)] // A failed unwrap is a failed test, with its location.

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;

use crate::util::serve::Serve;

/// What the hostile listener sends: markup that would run if a page rendered it as HTML, and
/// escape codes that would recolour a terminal.
const HOSTILE_BANNER: &[u8] = b"<script>window.__sondeXss=1;alert(1)</script> \
    \"><img src=x onerror=\"window.__sondeXss=2;alert(2)\"> \x1b[31mRED\x1b[0m\r\n";

/// Seconds the browser run may take before it is killed.
const RUN_LIMIT_SECS: u32 = 300;

/// A UDP socket that answers every datagram, on a thread, for the test's life.
fn udp_echo() -> u16 {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = socket.local_addr().unwrap().port();
    thread::spawn(move || {
        let mut buf = [0u8; 512];
        while let Ok((_, peer)) = socket.recv_from(&mut buf) {
            let _ = socket.send_to(b"hello from udp\n", peer);
        }
    });
    port
}

/// A listener that answers every connection with `banner`, on a thread, for the test's life.
fn greeter(banner: &'static [u8]) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        for mut conn in listener.incoming().flatten() {
            let _ = conn.write_all(banner);
        }
    });
    port
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

#[test]
fn console_e2e_in_headless_chromium() {
    let root = workspace();
    let script = root.join("web/ui/e2e/run.mjs");
    assert!(
        root.join("web/ui/node_modules/playwright-core").is_dir(),
        "web/ui/node_modules lacks playwright-core: run `npm ci` in web/ui (the build of \
         sonde-web does it when node_modules is missing)"
    );
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&chromium).exists(),
        "{chromium} is missing: install Debian's chromium (apt-get install --no-install-recommends \
         chromium) or set CHROMIUM; .ci/run does it"
    );

    let dir = tempfile::tempdir().unwrap();
    let ssh = greeter(b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n");
    let hostile = greeter(HOSTILE_BANNER);
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    let closed = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let udp = udp_echo();
    let serve = Serve::start(dir.path());
    let setup_link = serve.setup_link();

    let shots = root.join("target/e2e-screenshots");
    let output = Command::new("timeout")
        .arg("--kill-after=5")
        .arg(RUN_LIMIT_SECS.to_string())
        .arg("node")
        .arg(&script)
        .current_dir(root.join("web/ui"))
        .env("SONDE_URL", &serve.base)
        .env("SONDE_SETUP_LINK", &setup_link)
        // 127.0.0.0/24 x 4 ports at 300 probes/s: long enough to watch the bar move.
        .env("SONDE_TARGETS", "127.0.0.0/24")
        .env("SONDE_PORTS", format!("{ssh},{hostile},{silent_port},{closed}"))
        .env("SONDE_XSS_PORT", hostile.to_string())
        .env("SONDE_UDP_PORT", udp.to_string())
        .env("SONDE_SCREENSHOTS", &shots)
        .env("CHROMIUM", &chromium)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run node (install Node.js 20+): {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "the browser run failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    assert!(stdout.contains("all checks passed"), "{stdout}");
    for page in [
        "00-setup",
        "01-login",
        "04-dashboard",
        "05-hosts",
        "06-host",
        "07-scans-compare",
        "08-topology",
        "11-users",
        "15-viewer-scans",
    ] {
        assert!(shots.join(format!("{page}.png")).is_file(), "no screenshot {page}.png");
    }
    drop(silent);
}
