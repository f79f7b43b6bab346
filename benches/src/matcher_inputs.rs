//! The inputs and signature sources of the matcher benchmark, shared by the criterion bench
//! (`benches/matcher.rs`) and the export for the Hyperscan comparison
//! (`src/bin/matcher-export.rs`), so that both measure the same thing.

use std::path::Path;

use sonde_matcher::SignatureSet;

/// Synthetic Recog fingerprints added to the large set: about what Rapid7's own
/// `http_servers.xml`, `html_title.xml`, `ssh_banners.xml`, `ftp_banners.xml` and
/// `smtp_banners.xml` hold together, in their style (anchored product names, version
/// captures, some case-insensitive), matching none of the inputs.
pub const SYNTHETIC_RECOG: usize = 2500;

/// Synthetic signatures added to the built-in ones for the "2000+" figures: plausible
/// Server-header and greeting signatures with distinct anchors, none of which matches the
/// inputs, so they cost what unrelated signatures cost.
pub const SYNTHETIC: usize = 1600;

/// Banners of at most 100 bytes, as the NULL probe and the small protocol probes get them:
/// known products, generic greetings and junk.
pub const BANNERS: &[(&str, u16, &[u8])] = &[
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
pub fn http_response(headers: &str, title: &str) -> Vec<u8> {
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

/// About 1.5 KB HTTP responses (port, bytes): known apps behind known servers, one unknown.
pub fn http_inputs() -> Vec<(u16, Vec<u8>)> {
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

/// [`SYNTHETIC`] signatures in Sonde's TOML format.
pub fn synthetic_sources() -> String {
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

/// [`SYNTHETIC_RECOG`] fingerprints as Recog XML databases, one per `matches` value.
pub fn synthetic_recog() -> Vec<(String, String)> {
    let kinds = [
        (
            "http_header.server",
            "http",
            "^Acme{i}-httpd(?:/([\\d.]+))?(?: \\(([^)]+)\\))?$",
            "Acme{i}-httpd/2.1 (Unix)",
        ),
        (
            "html_title",
            "http",
            "^Acme {i} (?:Admin|Console)(?: - ([\\w.-]+))?$",
            "Acme {i} Admin - lab",
        ),
        ("ssh.banner", "ssh", "^AcmeSSH{i}_([\\d.]+)(?:\\s+(.+))?$", "AcmeSSH{i}_2.1 build"),
        (
            "ftp.banner",
            "ftp",
            "^Acme{i} FTP server \\(Version ([\\w.-]+)\\) ready\\.?$",
            "Acme{i} FTP server (Version 2.1) ready.",
        ),
        ("smtp.banner", "smtp", "^([^ ]+) ESMTP Acme{i}Mail ([\\d.]+)", "mx ESMTP Acme{i}Mail 2.1"),
    ];
    kinds
        .iter()
        .enumerate()
        .map(|(k, (matches, protocol, pattern, example))| {
            let mut xml = format!(
                "<?xml version=\"1.0\"?>\n<fingerprints matches=\"{matches}\" protocol=\"{protocol}\">\n"
            );
            for i in (k..SYNTHETIC_RECOG).step_by(kinds.len()) {
                let flags = if i % 3 == 0 { " flags=\"REG_ICASE\"" } else { "" };
                xml.push_str(&format!(
                    "<fingerprint pattern=\"{}\"{flags}>\n<description>Acme {i}</description>\n\
                     <example>{}</example>\n\
                     <param pos=\"0\" name=\"service.product\" value=\"Acme {i}\"/>\n\
                     <param pos=\"1\" name=\"service.version\"/>\n</fingerprint>\n",
                    pattern.replace("{i}", &i.to_string()),
                    example.replace("{i}", &i.to_string())
                ));
            }
            xml.push_str("</fingerprints>\n");
            (format!("synthetic_{}.xml", matches.replace('.', "_")), xml)
        })
        .collect()
}

/// The Recog corpus checked in under `matcher/tests/recog/`, as (file, text).
pub fn recog_corpus() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../matcher/tests/recog");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p: &std::path::PathBuf| p.extension().is_some_and(|e| e == "xml"));
    files.sort();
    files
        .into_iter()
        .filter_map(|p| Some((p.display().to_string(), std::fs::read_to_string(&p).ok()?)))
        .collect()
}

/// The large set's sources: built-in, [`SYNTHETIC`] Sonde signatures, the Recog corpus and
/// [`SYNTHETIC_RECOG`] Recog fingerprints.
pub fn large_sources() -> Vec<(String, String)> {
    let mut sources: Vec<(String, String)> = SignatureSet::builtin_sources()
        .iter()
        .map(|(f, t)| (f.to_string(), t.to_string()))
        .collect();
    sources.push(("synthetic.toml".into(), synthetic_sources()));
    sources.extend(recog_corpus());
    sources.extend(synthetic_recog());
    sources
}
