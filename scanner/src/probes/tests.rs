//! Probes against loopback services started by the tests themselves.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

use super::*;

/// A loopback service: `respond` gets what the client sent (up to a blank line or 1 KiB, or
/// nothing for services that speak first) and the stream to answer on.
async fn service<F, Fut>(speaks_first: bool, respond: F) -> SocketAddr
where
    F: Fn(Vec<u8>, TcpStream) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let respond = std::sync::Arc::new(respond);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let respond = respond.clone();
            tokio::spawn(async move {
                let mut request = Vec::new();
                if !speaks_first {
                    let mut buf = [0; 1024];
                    while let Ok(n @ 1..) = stream.read(&mut buf).await {
                        request.extend_from_slice(&buf[..n]);
                        if request.ends_with(b"\r\n\r\n")
                            || request.ends_with(b"\r\n") && !request.starts_with(b"GET")
                        {
                            break;
                        }
                    }
                }
                respond(request, stream).await;
            });
        }
    });
    addr
}

fn registry_probe(name: &str) -> ServiceProbe {
    *ProbeRegistry::builtin().probes().iter().find(|p| p.name == name).unwrap()
}

#[tokio::test]
async fn http_probe_sends_a_get_with_host_and_reads_to_the_close() {
    let addr = service(false, |request, mut stream| async move {
        let text = String::from_utf8_lossy(&request).into_owned();
        let ok = text.starts_with("GET / HTTP/1.0\r\n") && text.contains("\r\nHost: 127.0.0.1:");
        let status = if ok { "200 OK" } else { "400 Bad Request" };
        let body = "<html><title>Pi-hole</title></html>";
        let reply = format!("HTTP/1.1 {status}\r\nServer: lighttpd/1.4.69\r\n\r\n{body}");
        let _ = stream.write_all(reply.as_bytes()).await;
    })
    .await;
    let http = registry_probe("http");
    let got = probe(addr, &http, ProbeLimits::for_probe(&http)).await.unwrap();
    assert_eq!(got.probe, "http");
    let text = String::from_utf8(got.data).unwrap();
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(text.ends_with("</html>"));
}

#[tokio::test]
async fn redis_probe_gets_pong_and_info() {
    let addr = service(false, |request, mut stream| async move {
        if request.starts_with(b"PING\r\n") {
            let _ = stream.write_all(b"+PONG\r\n").await;
            tokio::time::sleep(Duration::from_millis(20)).await;
            let _ = stream.write_all(b"$40\r\n# Server\r\nredis_version:7.0.15\r\n\r\n").await;
        }
        // A real server keeps the connection open; the idle pause ends the read.
        tokio::time::sleep(Duration::from_secs(5)).await;
    })
    .await;
    let redis = registry_probe("redis");
    let start = Instant::now();
    let got = probe(addr, &redis, ProbeLimits::for_probe(&redis)).await.unwrap();
    assert!(start.elapsed() < Duration::from_millis(1000), "{:?}", start.elapsed());
    let text = String::from_utf8(got.data).unwrap();
    assert!(text.starts_with("+PONG\r\n") && text.contains("redis_version:7.0.15"), "{text}");
}

#[tokio::test]
async fn a_slowloris_drip_is_cut_at_the_timeout() {
    let addr = service(true, |_, mut stream| async move {
        for _ in 0..1000 {
            if stream.write_all(b"x").await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    let null = registry_probe("null");
    let limits = ProbeLimits { timeout: Duration::from_millis(400), max_bytes: 1 << 20 };
    let slow = ServiceProbe { idle: Duration::from_millis(100), ..null };
    let start = Instant::now();
    let got = probe(addr, &slow, limits).await.unwrap();
    let elapsed = start.elapsed();
    assert!(elapsed >= Duration::from_millis(350), "cut early: {elapsed:?}");
    assert!(elapsed < Duration::from_millis(700), "not cut at the timeout: {elapsed:?}");
    assert!(!got.data.is_empty() && got.data.len() < 40, "{} bytes", got.data.len());
}

#[tokio::test]
async fn a_flood_is_cut_at_max_bytes() {
    let addr = service(true, |_, mut stream| async move {
        let chunk = vec![b'A'; 64 * 1024];
        for _ in 0..160 {
            if stream.write_all(&chunk).await.is_err() {
                return;
            }
        }
    })
    .await;
    let null = registry_probe("null");
    let limits = ProbeLimits { timeout: Duration::from_secs(2), max_bytes: 100_000 };
    let got = probe(addr, &null, limits).await.unwrap();
    assert_eq!(got.data.len(), 100_000);
}

#[tokio::test]
async fn silence_refusal_and_zero_limits_give_nothing() {
    let silent = service(true, |_, _stream| async move {
        tokio::time::sleep(Duration::from_secs(5)).await;
    })
    .await;
    let null = registry_probe("null");
    let limits = ProbeLimits { timeout: Duration::from_millis(200), max_bytes: 1024 };
    assert_eq!(probe(silent, &null, limits).await, None);
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
    assert_eq!(probe(closed, &null, limits).await, None);
    let zero = ProbeLimits { max_bytes: 0, ..limits };
    assert_eq!(probe(silent, &null, zero).await, None);
}

#[tokio::test]
async fn host_limits_hold_per_address_and_forget_idle_hosts() {
    let limiter = HostLimiter::new(2);
    let a: IpAddr = [127, 0, 0, 1].into();
    let b: IpAddr = [127, 0, 0, 2].into();
    let p1 = limiter.acquire(a).await;
    let p2 = limiter.acquire(a).await;
    let other = limiter.acquire(b).await;
    let third = tokio::time::timeout(Duration::from_millis(50), limiter.acquire(a)).await;
    assert!(third.is_err(), "a third permit for the same host must wait");
    assert_eq!(limiter.hosts_in_flight(), 2);
    drop(p1);
    let p3 = tokio::time::timeout(Duration::from_millis(50), limiter.acquire(a)).await.unwrap();
    drop((p2, p3, other));
    assert_eq!(limiter.hosts_in_flight(), 0);
}

/// A loopback TLS service with a fresh self-signed certificate for `names`. `greeting` is
/// written right after the handshake when given; otherwise the service reads a request and
/// answers an HTTP response. Returns the address and the certificate's DER.
async fn tls_service(names: &[&str], greeting: Option<&'static [u8]>) -> (SocketAddr, Vec<u8>) {
    use tokio_rustls::rustls;
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(names).unwrap();
    params.distinguished_name.push(rcgen::DnType::CommonName, "pve1.lab.invalid");
    params.distinguished_name.push(rcgen::DnType::OrganizationName, "PVE Cluster Node");
    let cert = params.self_signed(&key).unwrap();
    let der = cert.der().to_vec();
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::try_from(key.serialize_der()).unwrap(),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else { return };
                if let Some(greeting) = greeting {
                    let _ = tls.write_all(greeting).await;
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    return;
                }
                let mut request = Vec::new();
                let mut buf = [0; 1024];
                while let Ok(n @ 1..) = tls.read(&mut buf).await {
                    request.extend_from_slice(&buf[..n]);
                    if request.ends_with(b"\r\n\r\n") {
                        break;
                    }
                }
                if request.starts_with(b"GET / HTTP/1.0\r\n") {
                    let reply = "HTTP/1.1 200 OK\r\nServer: pve-api-daemon/3.0\r\n\r\n\
                        <title>pve1 - Proxmox Virtual Environment</title>";
                    let _ = tls.write_all(reply.as_bytes()).await;
                }
                let _ = tls.shutdown().await;
            });
        }
    });
    (addr, der)
}

#[tokio::test]
async fn tls_probe_records_the_certificate_and_speaks_http_inside() {
    let (addr, der) = tls_service(&["pve1.lab.invalid", "127.0.0.1"], None).await;
    let tls = registry_probe("tls");
    let got = probe(addr, &tls, ProbeLimits::for_probe(&tls)).await.unwrap();
    let text = String::from_utf8(got.data).unwrap();
    assert!(text.starts_with("HTTP/1.1 200 OK") && text.contains("Proxmox"), "{text}");
    let info = got.tls.expect("the handshake's facts");
    assert_eq!(info.version, "TLSv1.3");
    let cert = info.cert.expect("a parsed certificate");
    assert!(cert.subject.contains("CN=pve1.lab.invalid"), "{}", cert.subject);
    assert!(cert.subject.contains("O=PVE Cluster Node"), "{}", cert.subject);
    assert_eq!(cert.san, ["pve1.lab.invalid", "127.0.0.1"]);
    assert!(cert.self_signed);
    assert_eq!(cert.key_type, "EC 256", "rcgen's default key is ECDSA P-256");
    assert_eq!(cert, summarize_certificate(&der).unwrap());
    assert_eq!(cert.sha256.len(), 64);
    assert!(cert.not_before < cert.not_after, "{} .. {}", cert.not_before, cert.not_after);
}

#[tokio::test]
async fn tls_probe_keeps_a_greeting_and_sends_nothing() {
    let (addr, _) = tls_service(&["mail.lab.invalid"], Some(b"* OK IMAP4rev1 ready\r\n")).await;
    let tls = registry_probe("tls");
    let got = probe(addr, &tls, ProbeLimits::for_probe(&tls)).await.unwrap();
    assert_eq!(got.data, b"* OK IMAP4rev1 ready\r\n");
    assert_eq!(got.tls.unwrap().cert.unwrap().san, ["mail.lab.invalid"]);
}

#[tokio::test]
async fn tls_probe_on_plain_services_finds_nothing_in_time() {
    let plain = service(true, |_, mut stream| async move {
        let _ = stream.write_all(b"SSH-2.0-OpenSSH_9.2p1\r\n").await;
        tokio::time::sleep(Duration::from_secs(5)).await;
    })
    .await;
    let tls = registry_probe("tls");
    let limits = ProbeLimits { timeout: Duration::from_millis(500), max_bytes: 1024 };
    let start = Instant::now();
    assert_eq!(probe(plain, &tls, limits).await, None);
    assert!(start.elapsed() < Duration::from_millis(900), "{:?}", start.elapsed());
}

#[test]
fn tls_records_and_https_complaints_ask_for_tls() {
    let response = |data: &[u8]| Response { probe: "http", data: data.to_vec(), tls: None };
    assert!(response(b"\x15\x03\x01\x00\x02\x02\x46").asks_for_tls(), "a TLS alert");
    let nginx = b"HTTP/1.1 400 Bad Request\r\n\r\n<center>The plain HTTP request was sent to HTTPS port</center>";
    assert!(response(nginx).asks_for_tls());
    assert!(!response(b"HTTP/1.1 200 OK\r\n\r\n").asks_for_tls());
    assert!(!response(b"\x15\x02").asks_for_tls());
}

#[tokio::test]
async fn a_sequence_sends_each_request_after_the_answer_before() {
    // Answers `one` with `A`, then `two` with `B`, each only once its request is in whole;
    // `close_early` closes after the first answer.
    async fn start(close_early: bool) -> SocketAddr {
        service(true, move |_, mut stream| async move {
            for (request, answer) in [(&b"one"[..], &b"A"[..]), (b"two", b"B")] {
                let mut got = vec![0; request.len()];
                if stream.read_exact(&mut got).await.is_err() || got != request {
                    return;
                }
                let _ = stream.write_all(answer).await;
                if close_early {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_secs(5)).await;
        })
        .await
    }
    let sequence = ServiceProbe {
        name: "sequence",
        payload: Payload::Sequence(&[b"one", b"two"]),
        ports: &[],
        fallback: false,
        timeout: Duration::from_millis(1500),
        idle: Duration::from_millis(100),
        decoder: Decoder::Raw,
    };
    let limits = ProbeLimits::for_probe(&sequence);
    let started = Instant::now();
    let got = probe(start(false).await, &sequence, limits).await.unwrap();
    assert_eq!(got.data, b"AB");
    assert!(started.elapsed() < Duration::from_millis(1000), "{:?}", started.elapsed());
    let got = probe(start(true).await, &sequence, limits).await.unwrap();
    assert_eq!(got.data, b"A", "the first answer is kept when the second never comes");
    // The SMB probe is a NEGOTIATE, then a SESSION_SETUP.
    assert!(matches!(registry_probe("smb").payload, Payload::Sequence([_, _])));
}
