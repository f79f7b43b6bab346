//! `sonde serve` over HTTPS with the self-signed certificate it makes at first start.

#![allow(clippy::unwrap_used)] // A failed unwrap is a failed test, with its location.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use ureq::tls::{Certificate, RootCerts, TlsConfig};

use crate::util::sonde::SONDE;

/// Stops the server with SIGTERM when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg("-TERM").arg(self.0.id().to_string()).status();
        let _ = self.0.wait();
    }
}

fn start(config: &Path, data_dir: &Path, port: u16) -> Running {
    Running(
        Command::new(SONDE)
            .arg("serve")
            .arg("--config")
            .arg(config)
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("sonde serve starts"),
    )
}

/// An agent that trusts only `cert_pem`.
fn agent_trusting(cert_pem: &[u8]) -> ureq::Agent {
    let cert = Certificate::from_pem(cert_pem).unwrap().to_owned();
    ureq::Agent::config_builder()
        .tls_config(
            TlsConfig::builder().root_certs(RootCerts::Specific(Arc::new(vec![cert]))).build(),
        )
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into()
}

/// The first successful `GET url` within 20 s: (status, body).
fn wait_for(agent: &ureq::Agent, url: &str) -> (u16, String) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(mut response) = agent.get(url).call() {
            let status = response.status().as_u16();
            return (status, response.body_mut().read_to_string().unwrap_or_default());
        }
        assert!(Instant::now() < deadline, "no answer from {url} within 20 s");
        thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn serve_answers_https_with_its_own_certificate_and_refuses_plain_http() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("sonde.toml");
    std::fs::write(&config, "[server]\ntls = true\n").unwrap();
    let data = dir.path().join("data");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let cert_path = data.join("tls/cert.pem");

    let running = start(&config, &data, port);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !(cert_path.exists() && data.join("tls/key.pem").exists()) {
        assert!(Instant::now() < deadline, "no certificate at {}", cert_path.display());
        thread::sleep(Duration::from_millis(100));
    }
    let cert = std::fs::read(&cert_path).unwrap();
    let agent = agent_trusting(&cert);
    for host in ["localhost", "127.0.0.1"] {
        let (status, body) = wait_for(&agent, &format!("https://{host}:{port}/api/v1/health"));
        assert_eq!(status, 200, "{host}: {body}");
        assert!(body.contains(r#""status":"ok""#), "{body}");
    }
    let plain = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(5)))
        .build()
        .new_agent()
        .get(&format!("http://127.0.0.1:{port}/api/v1/health"))
        .call();
    assert!(plain.is_err(), "plain HTTP is refused on a TLS listener: {plain:?}");
    // A client that does not trust the certificate gets no answer either.
    let untrusting = ureq::Agent::config_builder().build().new_agent();
    assert!(untrusting.get(&format!("https://localhost:{port}/api/v1/health")).call().is_err());
    drop(running);

    // The certificate is reused on restart, so browsers that trusted it keep trusting it.
    let _running = start(&config, &data, port);
    let (status, _) = wait_for(&agent, &format!("https://localhost:{port}/api/v1/health"));
    assert_eq!(status, 200);
    assert_eq!(std::fs::read(&cert_path).unwrap(), cert);
}
