//! Hostile services on loopback: `sonde scan` identifies a port whose service floods, drips,
//! sends junk, invalid UTF-8 or terminal escape sequences, within its probe timeouts, and
//! prints nothing that could drive a terminal.
//!
//! Every service here is a real TCP server in this test process on 127.0.0.1, answering
//! every connection the same way.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use crate::util::sonde::sonde;

/// Starts a loopback server that runs `serve` on every connection, each in its own thread.
fn server(serve: fn(TcpStream)) -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1:0");
    let port = listener.local_addr().expect("local address").port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || serve(stream));
        }
    });
    port
}

/// 10 MB without a newline, as fast as the client reads.
fn flood(mut s: TcpStream) {
    let chunk = vec![b'A'; 64 * 1024];
    for _ in 0..160 {
        if s.write_all(&chunk).is_err() {
            return;
        }
    }
}

/// Pseudo-random bytes, a greeting of nothing.
fn junk(mut s: TcpStream) {
    let junk: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let _ = s.write_all(&junk);
    std::thread::sleep(Duration::from_secs(3));
}

/// A byte a second for a minute: the slowloris drip.
fn drip(mut s: TcpStream) {
    for _ in 0..60 {
        if s.write_all(b"x").is_err() {
            return;
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// An SSH identification whose comment carries terminal escapes (clear screen, set title,
/// bell), a bidirectional override, invalid UTF-8 and a forged row.
fn escapes(mut s: TcpStream) {
    let _ = s.write_all(
        b"SSH-2.0-OpenSSH_9.2p1 \x1b[2J\x1b]0;owned\x07\xe2\x80\xae\xff\xfe\rforged 22 tcp open\r\n",
    );
    let mut sink = [0; 256];
    let _ = s.read(&mut sink);
}

#[test]
fn hostile_services_are_bounded_in_time_and_escaped_in_the_table() {
    let ports = [server(flood), server(junk), server(drip), server(escapes)];
    let spec = ports.map(|p| p.to_string()).join(",");
    let start = Instant::now();
    let out = sonde(&["scan", "127.0.0.1", "-p", &spec, "--engine", "connect", "-o", "table"]);
    let took = start.elapsed();
    out.assert_success();
    // Each port: the NULL probe's 1.5 s at most, and at most two unanswered follow-ups of
    // 2.5 s and 3 s; ports are probed side by side. The drip alone would take a minute.
    assert!(took < Duration::from_secs(15), "the scan took {took:?}\n{}", out.transcript());
    let table = &out.stdout;
    assert!(
        !table.contains(['\x1b', '\x07', '\r', '\u{202e}']),
        "a raw control character reached the table: {table:?}"
    );
    assert_eq!(table.lines().count(), 1 + ports.len(), "one header and one row per port:\n{table}");
    let ssh = table.lines().find(|l| l.contains(&ports[3].to_string())).expect("the SSH row");
    assert!(ssh.contains("ssh") && ssh.contains("OpenSSH 9.2p1"), "{ssh}");
    assert!(
        ssh.contains("\\u{1b}[2J") && ssh.contains("\\u{202e}"),
        "escapes shown escaped: {ssh}"
    );
    for (port, name) in [(ports[0], "flood"), (ports[1], "junk"), (ports[2], "drip")] {
        let row = table.lines().find(|l| l.contains(&port.to_string())).expect("a row");
        assert!(row.trim_end().ends_with('-'), "{name}: no product may be claimed: {row}");
    }
}
