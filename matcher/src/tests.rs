//! Tests over the whole built-in set and the loader.

use crate::{Evidence, Identifier, LoadErrorKind, Response, SignatureSet, TlsFacts};

#[test]
fn every_builtin_example_matches_and_every_negative_does_not() {
    let set = SignatureSet::builtin().unwrap();
    let failures = set.check_examples();
    for f in &failures {
        eprintln!("{}: {}: {:?}: {}", f.file, f.id, f.input, f.problem);
    }
    assert!(failures.is_empty(), "{} example failures", failures.len());
    assert!(set.len() >= 300, "the issue asks for at least 300 signatures, have {}", set.len());
}

/// A minimal valid signature with `extra` lines appended.
fn source(id: &str, extra: &str) -> String {
    format!(
        "[[signature]]\nid = \"{id}\"\nservice = \"x\"\nfield = \"banner\"\nregex = '^X (\\d+)'\n\
         examples = [{{ input = \"X 1\" }}]\n{extra}"
    )
}

/// name, sources as (file, text), the file and the signature id the error must name.
type ErrorCase = (&'static str, Vec<(&'static str, String)>, &'static str, Option<&'static str>);

#[test]
fn load_errors_name_the_file_the_signature_and_the_problem() {
    let missing_example =
        "[[signature]]\nid = \"a.b\"\nservice = \"x\"\nfield = \"banner\"\nregex = 'X'\n";
    let cases: Vec<ErrorCase> = vec![
        (
            "bad regex",
            vec![("f.toml", source("a.b", "").replace("^X (\\d+)", "^X ((\\d+)"))],
            "f.toml",
            Some("a.b"),
        ),
        ("no example", vec![("g.toml", missing_example.to_string())], "g.toml", Some("a.b")),
        (
            "duplicate id",
            vec![("one.toml", source("dup", "")), ("two.toml", source("dup", ""))],
            "two.toml",
            Some("dup"),
        ),
        (
            "unknown field",
            vec![("h.toml", source("a.b", "").replace("\"banner\"", "\"http.footer\""))],
            "h.toml",
            Some("a.b"),
        ),
        (
            "template past the groups",
            vec![("i.toml", source("a.b", "version = \"$2\"\n"))],
            "i.toml",
            Some("a.b"),
        ),
        (
            "bad cpe",
            vec![("j.toml", source("a.b", "cpe = \"cpe:/a:x:y\"\n"))],
            "j.toml",
            Some("a.b"),
        ),
        (
            "short anchor",
            vec![("k.toml", source("a.b", "anchors = [\"X\"]\n"))],
            "k.toml",
            Some("a.b"),
        ),
        (
            "unknown attribute",
            vec![("l.toml", source("a.b", "colour = \"red\"\n"))],
            "l.toml",
            None,
        ),
        ("not toml", vec![("m.toml", "[[signature]\n".to_string())], "m.toml", None),
    ];
    for (name, sources, file, id) in cases {
        let err = SignatureSet::from_sources(sources.iter().map(|(f, t)| (*f, t.as_str())))
            .expect_err(name);
        assert_eq!(err.file, file, "{name}");
        assert_eq!(err.id.as_deref(), id, "{name}");
        let message = err.to_string();
        assert!(message.starts_with(file), "{name}: {message}");
        if let Some(id) = id {
            assert!(message.contains(id), "{name}: {message}");
        }
    }
    let err = SignatureSet::from_sources([(
        "f.toml",
        source("a", "").replace("regex = '^X (\\d+)'\n", "").as_str(),
    )])
    .expect_err("neither regex nor anchor");
    assert!(matches!(err.kind, LoadErrorKind::Unconstrained), "{err}");
}

#[test]
fn signatures_without_anchors_are_counted_and_still_match() {
    let text = source("a", "").replace("X ", "XY ");
    let set = SignatureSet::from_sources([("f.toml", text.as_str())]).unwrap();
    assert_eq!((set.len(), set.unanchored()), (1, 0), "`XY ` is taken from the regex");
    let text = source("a", "").replace("'^X (\\d+)'", "'^(?:X|Y) (\\d+)'");
    let set = SignatureSet::from_sources([("f.toml", text.as_str())]).unwrap();
    assert_eq!(set.unanchored(), 1, "single-letter prefixes are too short to index");
    let m = set.identify(1, &[Response { probe: "null", data: b"Y 7" }]).unwrap();
    assert_eq!(m.signature.as_deref(), Some("a"));
    assert!(set.check_examples().is_empty());
}

#[test]
fn the_index_agrees_with_the_plain_loop_on_every_example() {
    let set = SignatureSet::builtin().unwrap();
    let inputs = [
        ("null", b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n".as_slice()),
        ("null", b"220 (vsFTPd 3.0.3)\r\n"),
        ("null", b"220 mail.example.com ESMTP Postfix (Debian/GNU)\r\n"),
        ("http", b"HTTP/1.1 200 OK\r\nServer: Apache/2.4.57 (Debian)\r\n\r\n<title>Apache2 Debian Default Page: It works</title>"),
        ("http", b"HTTP/1.1 200 OK\r\nServer: nginx\r\n\r\n<html><head><title>pve - Proxmox Virtual Environment</title>"),
        ("http", b"HTTP/1.0 302 Found\r\nLocation: /graph\r\n\r\n<a href=\"/graph\">Found</a>.\n\n"),
        ("redis", b"-NOAUTH Authentication required.\r\n"),
        ("memcached", b"VERSION 1.6.21\r\n"),
        ("null", b"\x00\x01\x02junk\xff\xfe"),
        ("http", b"HTTP/1.1 404 Not Found\r\n\r\n"),
    ];
    for (probe, data) in inputs {
        let responses = [Response { probe, data }];
        for port in [22, 80, 6379, 40000] {
            let indexed = set.identify(port, &responses);
            let exhaustive = set.identify_exhaustive(port, &responses);
            assert_eq!(
                indexed,
                exhaustive,
                "{probe} {:?} on {port}",
                String::from_utf8_lossy(data)
            );
        }
    }
}

#[test]
fn identifications_carry_product_vendor_cpe_and_evidence() {
    let id = Identifier::builtin();
    let http =
        b"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nContent-Type: text/html\r\n\r\n<html></html>";
    let m = id.identify_responses(8080, &[Response { probe: "http", data: http }]).unwrap();
    assert_eq!(m.service, "http");
    assert_eq!(m.product.as_deref(), Some("nginx"));
    assert_eq!(m.vendor.as_deref(), Some("F5"));
    assert_eq!(m.version.as_deref(), Some("1.22.1"));
    assert_eq!(m.cpe.as_deref(), Some("cpe:2.3:a:f5:nginx:1.22.1:*:*:*:*:*:*:*"));
    assert_eq!(m.signature.as_deref(), Some("http.nginx"));
    assert_eq!(
        m.evidence,
        Evidence::Signature {
            probe: "http".into(),
            field: "http.header.server".into(),
            excerpt: "nginx/1.22.1".into()
        }
    );
    let redis = b"+PONG\r\n$100\r\n# Server\r\nredis_version:7.0.15\r\nos:Linux 6.1.0 x86_64\r\n";
    let responses =
        [Response { probe: "null", data: b"" }, Response { probe: "redis", data: redis }];
    let m = id.identify_responses(6379, &responses).unwrap();
    assert_eq!((m.product.as_deref(), m.version.as_deref()), (Some("Redis"), Some("7.0.15")));
}

#[test]
fn hostile_responses_are_bounded_and_never_panic() {
    let id = Identifier::builtin();
    let ten_mb = vec![b'A'; 10 << 20];
    let mut junk: Vec<u8> =
        (0..70_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 7) as u8).collect();
    junk.extend_from_slice(b"SSH-2.0-OpenSSH_9.6\r\n");
    let mut http_flood = b"HTTP/1.1 200 OK\r\n".to_vec();
    for _ in 0..5000 {
        http_flood.extend_from_slice(b"Server: nginx/1.0\r\n");
    }
    let long_version = format!("SSH-2.0-OpenSSH_{}\r\n", "9".repeat(100_000));
    for (name, data) in [
        ("10 MB without a newline", ten_mb.as_slice()),
        ("binary junk", junk.as_slice()),
        ("invalid utf-8", b"\xff\xfe\xfd\xc0\x80SSH-\xe2\x82"),
        ("header flood", http_flood.as_slice()),
        ("huge version", long_version.as_bytes()),
    ] {
        for probe in ["null", "http", "redis"] {
            let m = id.identify_responses(40000, &[Response { probe, data }]);
            if let Some(Evidence::Signature { excerpt, .. }) = m.map(|m| m.evidence) {
                assert!(excerpt.len() <= 256, "{name}: excerpt of {} bytes", excerpt.len());
            }
        }
    }
}

#[test]
fn operator_sources_compile_alongside_the_builtin_ones() {
    let extra = "[[signature]]\nid = \"local.acme\"\nservice = \"acme\"\nproduct = \"Acme Daemon\"\n\
                 field = \"banner\"\nregex = '^ACME ready v([0-9.]+)'\nversion = \"$1\"\n\
                 examples = [{ input = \"ACME ready v2.1\", version = \"2.1\" }]\n";
    let id = Identifier::with_sources([("local.toml", extra)]).unwrap();
    assert_eq!(id.signatures().len(), SignatureSet::builtin().unwrap().len() + 1);
    let m =
        id.identify_responses(4000, &[Response { probe: "null", data: b"ACME ready v2.1\r\n" }]);
    assert_eq!(m.and_then(|m| m.version).as_deref(), Some("2.1"));
    let clash = extra.replace("local.acme", "ssh.openssh");
    let err = Identifier::with_sources([("local.toml", clash.as_str())]).unwrap_err();
    assert!(matches!(err.kind, LoadErrorKind::DuplicateId { .. }), "{err}");
    assert_eq!((err.file.as_str(), err.id.as_deref()), ("local.toml", Some("ssh.openssh")));
}

#[test]
fn applications_outrank_the_web_server_in_front_of_them() {
    let id = Identifier::builtin();
    let cases: &[(&str, &[u8], &str)] = &[
        (
            "grafana behind nginx",
            b"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\n\r\n<html><title>Grafana</title></html>",
            "Grafana",
        ),
        (
            "unknown server with a version",
            b"HTTP/1.1 200 OK\r\nServer: FooServer/2.0\r\n\r\n<html></html>",
            "FooServer",
        ),
        ("plain nginx", b"HTTP/1.1 404 Not Found\r\nServer: nginx\r\n\r\n", "nginx"),
    ];
    for (name, data, product) in cases {
        let m = id.identify_responses(80, &[Response { probe: "http", data }]).unwrap();
        assert_eq!(m.product.as_deref(), Some(*product), "{name}");
    }
}

#[test]
fn certificates_name_appliances_and_http_inside_tls_is_https() {
    let id = Identifier::builtin();
    let san = ["pve1.lan".to_string(), "192.0.2.10".to_string()];
    let facts = TlsFacts {
        version: Some("TLSv1.3"),
        alpn: None,
        subject: Some("OU=PVE Cluster Node, O=Proxmox Virtual Environment, CN=pve1.lan"),
        issuer: Some("CN=Proxmox Virtual Environment, OU=x, O=PVE Cluster Manager CA"),
        san: &san,
    };
    // The certificate alone: the appliance, as https.
    let m = id.identify_with_tls(8006, &[], Some(&facts)).unwrap();
    assert_eq!(
        (m.service.as_str(), m.product.as_deref()),
        ("https", Some("Proxmox Virtual Environment"))
    );
    assert_eq!(m.info.as_deref(), Some("node pve1.lan"));
    assert!(matches!(&m.evidence, Evidence::Signature { probe, field, .. }
        if probe == "tls" && field == "tls.cert.subject"));

    // What came inside TLS is matched by the http signatures; the title outranks the
    // certificate, and the service becomes https.
    let page = b"HTTP/1.1 200 OK\r\nServer: pve-api-daemon/3.0\r\n\r\n<title>pve1 - Proxmox Virtual Environment</title>";
    let inside = [Response { probe: "tls", data: page }];
    let m = id.identify_with_tls(8006, &inside, Some(&facts)).unwrap();
    assert_eq!(m.service, "https");
    assert_eq!(m.signature.as_deref(), Some("proxmox.ve.title"));

    // nginx over TLS with a certificate that names nobody: nginx, https.
    let plain = TlsFacts {
        subject: Some("CN=lab.sonde.invalid"),
        issuer: Some("CN=lab.sonde.invalid"),
        ..facts
    };
    let nginx =
        [Response { probe: "tls", data: b"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\n\r\n" }];
    let m = id.identify_with_tls(443, &nginx, Some(&plain)).unwrap();
    assert_eq!(
        (m.service.as_str(), m.product.as_deref(), m.version.as_deref()),
        ("https", Some("nginx"), Some("1.22.1"))
    );

    // A greeting inside TLS is matched as a banner.
    let imaps = [Response {
        probe: "tls",
        data: b"* OK [CAPABILITY IMAP4rev1] Dovecot (Debian) ready.\r\n",
    }];
    let m = id.identify_with_tls(993, &imaps, Some(&plain)).unwrap();
    assert_eq!(m.product.as_deref(), Some("Dovecot"), "{m:?}");
}

#[test]
fn soft_matches_narrow_the_next_probes_to_their_service() {
    let id = Identifier::builtin();
    let set = id.signatures();
    // Every built-in signature of these services that names a product, outside `null`,
    // targets exactly these probes; the best (highest confidence) first.
    assert_eq!(set.probes_for_service("redis"), ["redis"]);
    assert_eq!(set.probes_for_service("memcache"), ["memcached"]);
    assert_eq!(set.probes_for_service("mqtt"), ["mqtt"]);
    assert!(set.probes_for_service("no-such-service").is_empty());
    let https = set.probes_for_service("https");
    assert_eq!(https, ["tls"], "certificate signatures are the only https ones");
    let http = set.probes_for_service("http");
    assert_eq!(http.first().map(String::as_str), Some("http"), "{http:?}");
    assert!(!http.iter().any(|p| p == "null" || p == "redis"), "{http:?}");

    // A soft match asks for its service's probes; a hard one for nothing.
    let soft = id
        .identify_responses(6379, &[Response { probe: "null", data: b"-ERR unknown command\r\n" }])
        .unwrap();
    assert_eq!((soft.service.as_str(), soft.product.as_deref()), ("redis", None));
    assert!(soft.is_soft());
    assert_eq!(id.next_probes(&soft), ["redis"]);
    let port_guess = id.identify_responses(11211, &[]).unwrap();
    assert_eq!(id.next_probes(&port_guess), ["memcached"]);
    let hard = id
        .identify_responses(22, &[Response { probe: "null", data: b"SSH-2.0-OpenSSH_9.2p1\r\n" }])
        .unwrap();
    assert!(!hard.is_soft());
    assert!(id.next_probes(&hard).is_empty());
}
