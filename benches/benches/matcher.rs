//! Identification throughput with the built-in signatures loaded: the compiled set (anchor
//! automata, then regexes to confirm) side by side with the plain loop over the same
//! signatures' regexes, on short banners and on ~1.5 KB HTTP responses; and how long the
//! database takes to compile. Inputs are built before measuring; nothing touches the network.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use sonde_matcher::{Fields, Response, SignatureSet};

/// Synthetic signatures added to the built-in ones for the "2000+" figures: plausible
/// Server-header and greeting signatures with distinct anchors, none of which matches the
/// inputs, so they cost what unrelated signatures cost.
const SYNTHETIC: usize = 1600;

/// Banners of at most 100 bytes, as the NULL probe and the small protocol probes get them:
/// known products, generic greetings and junk.
const BANNERS: &[(&str, u16, &[u8])] = &[
    ("null", 22, b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n"),
    ("null", 22, b"SSH-2.0-dropbear_2022.83\r\n"),
    ("null", 2222, b"SSH-2.0-Go\r\n"),
    ("null", 21, b"220 (vsFTPd 3.0.3)\r\n"),
    ("null", 21, b"220 ProFTPD 1.3.8 Server (Debian) [::ffff:10.0.0.5]\r\n"),
    ("null", 25, b"220 mail.example.com ESMTP Postfix (Debian/GNU)\r\n"),
    ("null", 25, b"220 mx.example.com ESMTP Exim 4.96 Mon, 13 Nov 2023 10:00:00 +0000\r\n"),
    ("null", 110, b"+OK Dovecot (Debian) ready.\r\n"),
    ("null", 143, b"* OK [CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN] Dovecot (Debian) ready.\r\n"),
    ("null", 5900, b"RFB 003.008\n"),
    ("null", 873, b"@RSYNCD: 31.0\n"),
    ("null", 4222, b"INFO {\"server_id\":\"NDJW\",\"version\":\"2.10.7\",\"proto\":1,\"go\":\"go1.21.5\"}\r\n"),
    ("redis", 6379, b"-NOAUTH Authentication required.\r\n"),
    ("memcached", 11211, b"VERSION 1.6.21\r\n"),
    ("null", 3306, b"J\x00\x00\x00\x0a8.0.35\x00\x08\x00\x00\x00\x10w\x18\x1f\x06Q\x1a`\x00\xff\xff\xff\x02\x00\xff\xdf\x15caching_sha2_password\x00"),
    ("null", 40000, b"hello from a custom daemon v1\r\n"),
    ("null", 40001, b"\x00\x01\x02\x03\xff\xfe\xfd binary junk \x80\x81"),
    ("null", 23, b"\xff\xfd\x18\xff\xfd\x20\xff\xfd\x23\xff\xfd\x27"),
];

/// Builds an HTTP response of about 1.5 KB: status, the given headers, a body with `title`
/// padded with ordinary markup.
fn http_response(headers: &str, title: &str) -> Vec<u8> {
    let mut body = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<link rel=\"stylesheet\" href=\"/static/css/main.css\">\n\
         <script src=\"/static/js/app.js\" defer></script>\n</head>\n<body>\n<div id=\"app\">\n"
    );
    while body.len() < 1200 {
        body.push_str(
            "<div class=\"row\"><span class=\"label\">Status</span><span>ok</span></div>\n",
        );
    }
    body.push_str("</div>\n</body>\n</html>\n");
    format!(
        "HTTP/1.1 200 OK\r\n{headers}Content-Type: text/html; charset=utf-8\r\n\
         Content-Length: {}\r\nCache-Control: no-cache\r\nDate: Mon, 13 Nov 2023 10:00:00 GMT\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn http_inputs() -> Vec<(u16, Vec<u8>)> {
    vec![
        (80, http_response("Server: nginx/1.22.1\r\n", "Welcome")),
        (
            8006,
            http_response("Server: pve-api-daemon/3.0\r\n", "pve1 - Proxmox Virtual Environment"),
        ),
        (3000, http_response("X-Frame-Options: deny\r\n", "Grafana")),
        (
            8080,
            http_response("Server: Apache/2.4.57 (Debian)\r\nX-Powered-By: PHP/8.2.7\r\n", "Login"),
        ),
        (8123, http_response("", "Home Assistant")),
        (9000, http_response("Server: Caddy\r\n", "Portainer")),
        (
            80,
            http_response(
                "Server: lighttpd/1.4.69\r\nX-Pi-hole: The Pi-hole Web interface is working!\r\n",
                "Pi-hole - raspberrypi",
            ),
        ),
        (8081, http_response("X-Request-Id: 1f2e3d\r\n", "Internal dashboard")),
    ]
}

fn synthetic_sources() -> String {
    let mut text = String::new();
    for i in 0..SYNTHETIC {
        let (field, probe, regex, example) = if i % 2 == 0 {
            (
                "http.header.server",
                "http",
                format!("^Acme{i}Server/([0-9.]+)"),
                format!("Acme{i}Server/1.0"),
            )
        } else {
            (
                "banner",
                "null",
                format!("^220 acme{i}-mta ESMTP ([0-9.]+)"),
                format!("220 acme{i}-mta ESMTP 2.1"),
            )
        };
        text.push_str(&format!(
            "[[signature]]\nid = \"synthetic.{i}\"\nservice = \"x\"\nproduct = \"Acme {i}\"\n\
             probe = \"{probe}\"\nfield = \"{field}\"\nregex = '{regex}'\nversion = \"$1\"\n\
             confidence = 90\nexamples = [{{ input = \"{example}\" }}]\n\n"
        ));
    }
    text
}

fn sets() -> Vec<(&'static str, SignatureSet)> {
    let builtin = SignatureSet::builtin().expect("built-in signatures compile");
    let synthetic = synthetic_sources();
    let mut sources: Vec<(&str, &str)> = sonde_matcher_sources();
    sources.push(("synthetic.toml", synthetic.as_str()));
    let large = SignatureSet::from_sources(sources).expect("synthetic signatures compile");
    vec![("builtin", builtin), ("builtin_plus_synthetic", large)]
}

/// The built-in sources, through the public loader: the same text `builtin()` compiles.
fn sonde_matcher_sources() -> Vec<(&'static str, &'static str)> {
    SignatureSet::builtin_sources().to_vec()
}

fn identify(c: &mut Criterion) {
    let http = http_inputs();
    for (name, set) in sets() {
        eprintln!("{name}: {} signatures, {} without a usable anchor", set.len(), set.unanchored());
        let mut group = c.benchmark_group(format!("identify/{name}"));
        group.throughput(Throughput::Elements(BANNERS.len() as u64));
        group.bench_function(BenchmarkId::new("indexed", "banners"), |b| {
            b.iter(|| {
                BANNERS
                    .iter()
                    .filter(|(probe, port, data)| {
                        set.identify(*port, &[Response { probe, data: black_box(data) }]).is_some()
                    })
                    .count()
            })
        });
        group.bench_function(BenchmarkId::new("regex_loop", "banners"), |b| {
            b.iter(|| {
                BANNERS
                    .iter()
                    .filter(|(probe, port, data)| {
                        set.identify_exhaustive(*port, &[Response { probe, data: black_box(data) }])
                            .is_some()
                    })
                    .count()
            })
        });
        group.throughput(Throughput::Elements(http.len() as u64));
        group.bench_function(BenchmarkId::new("indexed", "http_1500b"), |b| {
            b.iter(|| {
                http.iter()
                    .filter(|(port, data)| {
                        set.identify(*port, &[Response { probe: "http", data: black_box(data) }])
                            .is_some()
                    })
                    .count()
            })
        });
        group.bench_function(BenchmarkId::new("regex_loop", "http_1500b"), |b| {
            b.iter(|| {
                http.iter()
                    .filter(|(port, data)| {
                        set.identify_exhaustive(
                            *port,
                            &[Response { probe: "http", data: black_box(data) }],
                        )
                        .is_some()
                    })
                    .count()
            })
        });
        group.finish();
    }
}

/// The share of an identification spent splitting responses into fields.
fn parse(c: &mut Criterion) {
    let http = http_inputs();
    let mut group = c.benchmark_group("fields");
    group.throughput(Throughput::Elements(http.len() as u64));
    group.bench_function("parse/http_1500b", |b| {
        b.iter(|| {
            http.iter()
                .map(|(_, data)| Fields::parse(black_box(data)).iter().count())
                .sum::<usize>()
        })
    });
    group.finish();
}

fn compile(c: &mut Criterion) {
    let synthetic = synthetic_sources();
    let mut group = c.benchmark_group("compile");
    group.sample_size(10);
    group.bench_function("builtin", |b| b.iter(|| SignatureSet::builtin().map(|s| s.len())));
    group.bench_function("builtin_plus_synthetic", |b| {
        b.iter(|| {
            let mut sources = sonde_matcher_sources();
            sources.push(("synthetic.toml", synthetic.as_str()));
            SignatureSet::from_sources(sources).map(|s| s.len())
        })
    });
    group.finish();
}

criterion_group!(benches, identify, parse, compile);
criterion_main!(benches);
