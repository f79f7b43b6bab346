//! Accounts end to end: `sonde user`, the setup link of a first start, login with a session
//! cookie, CSRF, roles and the audit log against a real `sonde serve` on loopback.

#![allow(clippy::unwrap_used)] // A failed unwrap is a failed test, with its location.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::util::sonde::{SONDE, sonde};

/// A `sonde serve` on a free loopback port whose log lines are handed over; stopped when
/// dropped.
struct Serve {
    child: Child,
    base: String,
    log: mpsc::Receiver<String>,
}

impl Serve {
    fn start(data_dir: &Path) -> Serve {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut child = Command::new(SONDE)
            .args(["serve", "--data-dir"])
            .arg(data_dir)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("sonde serve starts");
        let (tx, log) = mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("{line}");
                let _ = tx.send(line);
            }
        });
        let serve = Serve { child, base: format!("http://127.0.0.1:{port}"), log };
        let deadline = Instant::now() + Duration::from_secs(20);
        while call(&serve, "GET", "/api/v1/health", &[], None).0 != 200 {
            assert!(Instant::now() < deadline, "sonde serve did not answer /health within 20 s");
            thread::sleep(Duration::from_millis(100));
        }
        serve
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let _ = self.child.wait();
    }
}

/// `method path` with `headers` and an optional JSON body: (status, headers, JSON body).
fn call(
    serve: &Serve,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> (u16, Vec<(String, String)>, Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(20)))
        .build()
        .into();
    let mut request =
        ureq::http::Request::builder().method(method).uri(format!("{}{path}", serve.base));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let result = match body {
        Some(body) => agent.run(
            request.header("content-type", "application/json").body(body.to_string()).unwrap(),
        ),
        None => agent.run(request.body(()).unwrap()),
    };
    let Ok(mut response) = result else { return (0, Vec::new(), Value::Null) };
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or_default().to_owned()))
        .collect();
    let text = response.body_mut().read_to_string().unwrap_or_default();
    (status, headers, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

/// Runs `sonde args...` with `stdin` fed in.
fn sonde_with_stdin(args: &[&str], stdin: &str) -> std::process::Output {
    let mut child = Command::new(SONDE)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn users_are_managed_offline_and_tokens_need_one() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let no_user = sonde(&["token", "create", "--name", "ci", "--data-dir", data]);
    assert_eq!(no_user.code, Some(2), "{}", no_user.transcript());
    assert!(no_user.stderr.contains("sonde user add --role admin NAME"), "{}", no_user.stderr);

    let short = sonde_with_stdin(
        &["user", "add", "--role", "admin", "root", "--password-stdin", "--data-dir", data],
        "short\n",
    );
    assert_eq!(short.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&short.stderr).contains("at least")
            || String::from_utf8_lossy(&short.stderr).contains("10 to 1024")
    );

    let added = sonde_with_stdin(
        &["user", "add", "--role", "admin", "root", "--password-stdin", "--data-dir", data],
        "root-password\n",
    );
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));
    let again = sonde_with_stdin(
        &["user", "add", "--role", "viewer", "ROOT", "--password-stdin", "--data-dir", data],
        "root-password\n",
    );
    assert_eq!(again.status.code(), Some(2), "names are unique whatever the case");

    let listed = sonde(&["user", "list", "--data-dir", data]);
    listed.assert_success();
    assert!(listed.stdout.contains("admin") && listed.stdout.contains("root"), "{}", listed.stdout);

    let token = sonde(&["token", "create", "--name", "ci", "--data-dir", data]);
    token.assert_success();
    assert!(token.stdout.contains("acting as admin `root`"), "{}", token.stdout);
    let unknown =
        sonde(&["token", "create", "--name", "ci", "--user", "nobody", "--data-dir", data]);
    assert_eq!(unknown.code, Some(2));

    let passwd = sonde_with_stdin(
        &["user", "passwd", "root", "--password-stdin", "--data-dir", data],
        "new-root-password\n",
    );
    assert!(passwd.status.success(), "{}", String::from_utf8_lossy(&passwd.stderr));
}

#[test]
fn first_start_setup_then_login_csrf_roles_and_audit() {
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(dir.path());
    let deadline = Instant::now() + Duration::from_secs(20);
    let link = loop {
        let line = serve
            .log
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("a setup link in the log");
        if let Some(at) = line.find("/setup#token=") {
            break line[at..].split_whitespace().next().unwrap().to_owned();
        }
    };
    let setup_token = link.trim_start_matches("/setup#token=");
    assert_eq!(setup_token.len(), 64, "{link}");

    let setup =
        |token: &str| json!({ "token": token, "username": "root", "password": "root-password" });
    assert_eq!(call(&serve, "POST", "/api/v1/setup", &[], Some(&setup("guess"))).0, 403);
    let (status, _, user) = call(&serve, "POST", "/api/v1/setup", &[], Some(&setup(setup_token)));
    assert_eq!(status, 201, "{user}");
    assert_eq!(user["role"], "admin");
    assert_eq!(
        call(&serve, "POST", "/api/v1/setup", &[], Some(&setup(setup_token))).0,
        403,
        "the link is dead"
    );

    let login = json!({ "username": "root", "password": "root-password" });
    let (status, headers, session) = call(&serve, "POST", "/api/v1/session", &[], Some(&login));
    assert_eq!(status, 200, "{session}");
    let set_cookie = header(&headers, "set-cookie").unwrap();
    assert!(
        set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Strict"),
        "{set_cookie}"
    );
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    let csrf = session["csrf_token"].as_str().unwrap().to_owned();

    // A viewer made by the admin, through the console.
    let viewer = json!({ "name": "eve", "password": "eve-password", "role": "viewer" });
    let with_cookie = [("cookie", cookie.as_str())];
    assert_eq!(
        call(&serve, "POST", "/api/v1/users", &with_cookie, Some(&viewer)).0,
        403,
        "no CSRF token"
    );
    let console = [("cookie", cookie.as_str()), ("x-csrf-token", csrf.as_str())];
    let (status, _, eve) = call(&serve, "POST", "/api/v1/users", &console, Some(&viewer));
    assert_eq!(status, 201, "{eve}");

    // Eve gets a token of her own, then cannot start a scan with it.
    let (_, eve_headers, _) = call(
        &serve,
        "POST",
        "/api/v1/session",
        &[],
        Some(&json!({ "username": "eve", "password": "eve-password" })),
    );
    let eve_cookie =
        header(&eve_headers, "set-cookie").unwrap().split(';').next().unwrap().to_owned();
    let (_, _, eve_view) =
        call(&serve, "GET", "/api/v1/session", &[("cookie", eve_cookie.as_str())], None);
    let eve_csrf = eve_view["csrf_token"].as_str().unwrap().to_owned();
    let (status, _, token) = call(
        &serve,
        "POST",
        "/api/v1/tokens",
        &[("cookie", eve_cookie.as_str()), ("x-csrf-token", eve_csrf.as_str())],
        Some(&json!({ "name": "script" })),
    );
    assert_eq!(status, 201, "{token}");
    let bearer = format!("Bearer {}", token["token"].as_str().unwrap());
    let scan = json!({ "targets": ["127.0.0.1"], "ports": "1" });
    let (status, _, refused) =
        call(&serve, "POST", "/api/v1/scans", &[("authorization", bearer.as_str())], Some(&scan));
    assert_eq!((status, refused["error"]["code"].as_str()), (403, Some("forbidden")));
    assert_eq!(
        call(&serve, "GET", "/api/v1/scans", &[("authorization", bearer.as_str())], None).0,
        200
    );

    // Failed logins are limited, and everything is in the audit log.
    for _ in 0..5 {
        assert_eq!(
            call(
                &serve,
                "POST",
                "/api/v1/session",
                &[],
                Some(&json!({ "username": "root", "password": "wrong-password" }))
            )
            .0,
            401
        );
    }
    let (status, headers, _) = call(&serve, "POST", "/api/v1/session", &[], Some(&login));
    assert_eq!(status, 429);
    assert!(header(&headers, "retry-after").is_some());

    let (status, _, audit) = call(&serve, "GET", "/api/v1/audit?limit=100", &console, None);
    assert_eq!(status, 200, "{audit}");
    let actions: Vec<&str> =
        audit.as_array().unwrap().iter().rev().map(|e| e["action"].as_str().unwrap()).collect();
    for action in ["setup", "login", "user_create", "token_create", "login_failed"] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
    assert!(audit.as_array().unwrap().iter().all(|e| e["source"] == "127.0.0.1"), "{audit}");

    // Logout ends the session.
    assert_eq!(call(&serve, "DELETE", "/api/v1/session", &console, None).0, 204);
    assert_eq!(call(&serve, "GET", "/api/v1/session", &with_cookie, None).0, 401);
}
