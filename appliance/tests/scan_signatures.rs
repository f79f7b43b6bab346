//! `sonde scan` compiles operator signature directories with the built-in signatures: from
//! `--signatures-dir` and from the config's `[identify] signatures_dirs`, before any packet
//! is sent.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener};

use crate::util::sonde::{Outcome, sonde};

/// A Recog database naming a product no built-in signature knows.
const ACME: &str = "<fingerprints matches=\"telnet.banner\" protocol=\"telnet\">\n\
    <fingerprint pattern=\"^ACME-WIDGET v([\\d.]+) ready\"><description>Acme</description>\n\
    <example service.version=\"2.1\">ACME-WIDGET v2.1 ready</example>\n\
    <param pos=\"0\" name=\"service.product\" value=\"AcmeWidget\"/>\n\
    <param pos=\"1\" name=\"service.version\"/></fingerprint></fingerprints>\n";

/// A loopback server that greets every connection with `ACME-WIDGET v2.1 ready`.
fn acme_server() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1:0");
    let port = listener.local_addr().expect("local address").port();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let _ = stream.write_all(b"ACME-WIDGET v2.1 ready\r\n");
                let mut sink = [0; 256];
                let _ = stream.read(&mut sink);
            });
        }
    });
    port
}

/// The CSV row of `port`, from a successful scan.
fn row(out: &Outcome, port: u16) -> String {
    out.assert_success();
    let prefix = format!("127.0.0.1,{port},");
    out.stdout
        .lines()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no row for port {port}\n{}", out.transcript()))
        .to_string()
}

#[test]
fn scan_compiles_signature_dirs_from_the_flag_and_the_config() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let sigs = dir.path().join("sigs");
    std::fs::create_dir(&sigs).expect("mkdir");
    std::fs::write(sigs.join("acme.xml"), ACME).expect("write acme.xml");
    let config = dir.path().join("sonde.toml");
    let toml = format!("[identify]\nsignatures_dirs = [{:?}]\n", sigs.display().to_string());
    std::fs::write(&config, toml).expect("write the config");
    let port = acme_server();
    let spec = port.to_string();
    let scan = ["scan", "127.0.0.1", "-p", &spec, "--engine", "connect", "--no-dns", "-o", "csv"];
    let with = |extra: &[&str]| sonde(&[&scan[..], extra].concat());

    let builtin = row(&with(&["--config", "/dev/null"]), port);
    assert!(!builtin.contains("AcmeWidget"), "the built-ins alone do not know it: {builtin}");
    let sigs_arg = sigs.display().to_string();
    let config_arg = config.display().to_string();
    for (how, extra) in [
        ("--signatures-dir", ["--signatures-dir", sigs_arg.as_str()]),
        ("--config", ["--config", config_arg.as_str()]),
    ] {
        let found = row(&with(&extra), port);
        assert!(found.contains(",telnet,AcmeWidget,2.1"), "{how}: {found}");
    }

    // A broken file stops the scan before it starts, naming the file.
    std::fs::write(sigs.join("broken.xml"), ACME.replace("pos=\"1\"", "pos=\"2\"")).expect("write");
    let broken = with(&["--signatures-dir", &sigs_arg]);
    assert_eq!(broken.code, Some(2), "{}", broken.transcript());
    assert!(broken.stderr.contains("broken.xml"), "{}", broken.transcript());
    assert!(broken.stdout.is_empty(), "nothing scanned: {}", broken.transcript());
}
