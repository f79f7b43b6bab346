//! Recog databases: the checked-in corpus under `matcher/tests/recog/`, Recog's semantics,
//! and the errors a broken database gets.

use std::path::Path;

use crate::{LoadErrorKind, RecogDatabase, Response, SignatureSet};

/// Every `*.xml` file of `matcher/tests/recog/`, sorted, as (path, text).
fn corpus() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/recog");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "xml"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| (p.display().to_string(), std::fs::read_to_string(&p).unwrap()))
        .collect()
}

#[test]
fn every_corpus_example_passes_with_recog_semantics() {
    let corpus = corpus();
    assert!(corpus.len() >= 5, "ssh, http, ftp, smtp and html title databases");
    let (mut loaded, mut untranslatable, mut examples, mut passed, mut not_run) = (0, 0, 0, 0, 0);
    for (file, text) in &corpus {
        let db = RecogDatabase::parse(file, text).unwrap_or_else(|e| panic!("{e}"));
        let report = db.check_examples();
        for f in &report.failures {
            eprintln!("{}: {}: {:?}: {}", f.file, f.id, f.input, f.problem);
        }
        for u in db.untranslatable() {
            eprintln!("untranslatable {}:{} ({}): {}", u.file, u.line, u.description, u.problem);
        }
        assert!(report.failures.is_empty(), "{file}: {} failures", report.failures.len());
        assert_eq!(report.fingerprints, report.loaded + db.untranslatable().len());
        loaded += report.loaded;
        untranslatable += db.untranslatable().len();
        examples += report.examples;
        passed += report.passed;
        not_run += report.not_run;
    }
    eprintln!(
        "recog corpus: {} files, {loaded} fingerprints loaded, {untranslatable} untranslatable, \
         {passed}/{examples} examples passed, {not_run} not run",
        corpus.len()
    );
    assert_eq!(passed, examples);
    assert!(loaded >= 20 && examples >= 35, "{loaded} fingerprints, {examples} examples");
    // The lookahead fingerprint is counted, not fatal; its example and the one kept in a
    // separate file are not run.
    assert_eq!((untranslatable, not_run), (1, 2));
}

#[test]
fn the_corpus_compiles_with_the_builtins_and_identifies_through_the_set() {
    let corpus = corpus();
    let sources = SignatureSet::builtin_sources()
        .iter()
        .copied()
        .chain(corpus.iter().map(|(f, t)| (f.as_str(), t.as_str())));
    let set = SignatureSet::from_sources(sources).unwrap();
    assert_eq!(set.untranslatable().len(), 1);
    let failures = set.check_examples();
    assert!(failures.is_empty(), "{failures:#?}");

    // Recog's parameters become Sonde's: product, version, vendor, info, CPE 2.3.
    let recog_only =
        SignatureSet::from_sources(corpus.iter().map(|(f, t)| (f.as_str(), t.as_str()))).unwrap();
    let ssh = b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n";
    let m = recog_only.identify(22, &[Response { probe: "null", data: ssh }]).unwrap();
    assert_eq!(m.service, "ssh");
    assert_eq!(m.product.as_deref(), Some("OpenSSH"));
    assert_eq!(m.version.as_deref(), Some("9.2p1"));
    assert_eq!(m.vendor.as_deref(), Some("OpenBSD"));
    assert_eq!(m.info.as_deref(), Some("Debian Linux 12"));
    assert_eq!(m.cpe.as_deref(), Some("cpe:2.3:a:openbsd:openssh:9.2p1:*:*:*:*:*:*:*"));
    assert!(m.signature.as_deref().unwrap().starts_with("recog.ssh_banners."), "{m:?}");

    let http = b"HTTP/1.1 200 OK\r\nServer: Microsoft-IIS/10.0\r\n\r\n<p>";
    let m = recog_only.identify(80, &[Response { probe: "http", data: http }]).unwrap();
    assert_eq!((m.product.as_deref(), m.version.as_deref()), (Some("IIS"), Some("10.0")));
    assert_eq!(m.info.as_deref(), Some("Microsoft Windows"));

    // FTP and SMTP greetings share a field; each database ranks first on its own ports.
    let ftp = b"220 (vsFTPd 3.0.3)\r\n";
    let m = recog_only.identify(21, &[Response { probe: "null", data: ftp }]).unwrap();
    assert_eq!((m.service.as_str(), m.version.as_deref()), ("ftp", Some("3.0.3")));
    let smtp = b"220 mx.lan ESMTP Exim 4.96 Sun, 01 Sep 2024 10:00:00 +0000\r\n";
    let m = recog_only.identify(25, &[Response { probe: "null", data: smtp }]).unwrap();
    assert_eq!((m.product.as_deref(), m.version.as_deref()), (Some("Exim"), Some("4.96")));
}

/// Rapid7's own databases, committed unchanged beside `LICENSE-recog`.
const UPSTREAM: &[&str] =
    &["nntp_banners.xml", "http_xpoweredby.xml", "http_header.x-fortisandbox-version.xml"];

#[test]
fn rapid7_databases_load_unchanged_and_identify_through_the_set() {
    let corpus = corpus();
    let upstream: Vec<_> = corpus
        .iter()
        .filter(|(f, _)| UPSTREAM.iter().any(|u| f.ends_with(&format!("/{u}"))))
        .collect();
    assert_eq!(upstream.len(), UPSTREAM.len(), "every upstream file is in the corpus");
    let mut examples = 0;
    for (file, text) in &upstream {
        let db = RecogDatabase::parse(file, text).unwrap_or_else(|e| panic!("{e}"));
        let report = db.check_examples();
        assert!(report.failures.is_empty(), "{file}: {:#?}", report.failures);
        assert!(db.untranslatable().is_empty(), "{file}: {:?}", db.untranslatable());
        assert_eq!(report.passed, report.examples, "{file}");
        examples += report.examples;
    }
    assert_eq!(examples, 9, "7 NNTP, 1 X-Powered-By, 1 X-FortiSandbox-Version");

    let set =
        SignatureSet::from_sources(upstream.iter().map(|(f, t)| (f.as_str(), t.as_str()))).unwrap();
    let nntp = b"200 NNTP Service 6.0.3790.3959 Version: 6.0.3790.3959 Posting Allowed\r\n";
    let m = set.identify(119, &[Response { probe: "null", data: nntp }]).unwrap();
    assert_eq!(m.service, "nntp");
    assert_eq!((m.product.as_deref(), m.version.as_deref()), (Some("IIS"), Some("6.0.3790.3959")));
    assert_eq!(m.vendor.as_deref(), Some("Microsoft"));
    let http = b"HTTP/1.1 200 OK\r\nX-Powered-By: PHP/8.2.14\r\n\
        X-FortiSandbox-Version: 5.0.5\r\n\r\n";
    let m = set.identify(80, &[Response { probe: "http", data: http }]).unwrap();
    assert!(
        matches!(
            (m.product.as_deref(), m.version.as_deref()),
            (Some("PHP"), Some("8.2.14")) | (Some("FortiSandbox"), Some("5.0.5"))
        ),
        "{m:?}"
    );
    let php = b"HTTP/1.1 200 OK\r\nX-Powered-By: PHP/8.2.14\r\n\r\n";
    let m = set.identify(80, &[Response { probe: "http", data: php }]).unwrap();
    assert_eq!(m.cpe.as_deref(), Some("cpe:2.3:a:php:php:8.2.14:*:*:*:*:*:*:*"));
}

#[test]
fn first_match_in_file_order_wins() {
    let (file, text) = corpus().into_iter().find(|(f, _)| f.ends_with("ssh_banners.xml")).unwrap();
    let db = RecogDatabase::parse(&file, &text).unwrap();
    let get = |params: &[(String, String)], name: &str| {
        params.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone())
    };
    // Both the Debian and the generic OpenSSH fingerprint match; the Debian one comes first.
    let params = db.recognize("OpenSSH_9.2p1 Debian-2+deb12u3").unwrap();
    assert_eq!(get(&params, "os.version").as_deref(), Some("12"));
    assert_eq!(
        get(&params, "service.cpe23").as_deref(),
        Some("cpe:/a:openbsd:openssh:9.2p1"),
        "fixed values interpolate captured params"
    );
    let params = db.recognize("OpenSSH_9.2p1 Debian-2").unwrap();
    assert_eq!(get(&params, "os.version"), None);
    assert_eq!(get(&params, "openssh.comment").as_deref(), Some("Debian-2"));
    assert!(db.recognize("SSH-2.0-nothing").is_none());
    // The same order through the compiled set.
    let set = SignatureSet::from_sources([(file.as_str(), text.as_str())]).unwrap();
    let m = set
        .identify(
            22,
            &[Response { probe: "null", data: b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3" }],
        )
        .unwrap();
    assert_eq!(m.info.as_deref(), Some("Debian Linux 12"));
}

#[test]
fn broken_databases_are_refused_naming_file_fingerprint_and_problem() {
    let fp = |body: &str| {
        format!(
            "<fingerprints matches=\"ssh.banner\">\n<fingerprint pattern=\"^a(b)$\">\n\
             <description>Broken one</description>\n{body}\n</fingerprint>\n</fingerprints>"
        )
    };
    let cases = [
        ("not xml", "<fingerprints matches=\"ssh.banner\"><fingerprint>".to_string(), "line 1"),
        ("no root", "<other/>".to_string(), "no <fingerprints>"),
        ("no matches", "<fingerprints></fingerprints>".to_string(), "matches"),
        ("param past groups", fp("<param pos=\"2\" name=\"service.version\"/>"), "group 2"),
        ("bad pos", fp("<param pos=\"x\" name=\"service.version\"/>"), "numeric `pos`"),
        ("bad base64", fp("<example _encoding=\"base64\">!!!</example>"), "base64"),
        (
            "bad flag",
            fp("").replace("pattern=\"^a(b)$\"", "pattern=\"a\" flags=\"REG_NOPE\""),
            "REG_NOPE",
        ),
        (
            "unsupported matches",
            fp("").replace("ssh.banner", "snmp.sys_description"),
            "snmp.sys_description",
        ),
    ];
    for (name, text, needle) in cases {
        let err =
            SignatureSet::from_sources([("local/broken.xml", text.as_str())]).expect_err(name);
        let message = err.to_string();
        assert!(message.starts_with("local/broken.xml: "), "{name}: {message}");
        assert!(message.contains(needle), "{name}: {message}");
        if name.starts_with("param") || name == "bad flag" {
            assert!(message.contains("line 2 (Broken one)"), "{name}: {message}");
        }
        if name.starts_with("bad pos") || name == "bad base64" {
            assert!(message.contains("line 4: "), "{name}: {message}");
        }
        if name == "not xml" {
            assert!(matches!(err.kind, LoadErrorKind::Syntax(_)), "{name}");
        }
    }
}

#[test]
fn hostile_patterns_and_inputs_never_panic() {
    for pattern in ["(", "[", "\\", "(?<n>a)(?<n>b)", ")", "(?P<1>a)"] {
        let text = format!(
            "<fingerprints matches=\"ssh.banner\"><fingerprint pattern=\"{}\">\
             <example>x</example></fingerprint></fingerprints>",
            pattern.replace('<', "&lt;").replace('>', "&gt;")
        );
        let db = RecogDatabase::parse("h.xml", &text).unwrap();
        assert_eq!(db.untranslatable().len(), 1, "{pattern}");
        assert_eq!(db.check_examples().not_run, 1);
    }
    let db = RecogDatabase::parse(
        "h.xml",
        "<fingerprints matches=\"ssh.banner\"><fingerprint pattern=\"^(a+)+$\"/></fingerprints>",
    )
    .unwrap();
    let junk = format!("{}!", "a".repeat(100_000));
    assert!(db.recognize(&junk).is_none(), "linear time, no catastrophic backtracking");
}
