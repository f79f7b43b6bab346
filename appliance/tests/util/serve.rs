//! A real `sonde serve` on a free loopback port, and the console's ways in: the setup link of a
//! first start, a login session (cookie and CSRF token), API calls with either.

#![allow(clippy::unwrap_used)] // A failed unwrap is a failed test, with its location.

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::sonde::SONDE;
use super::store::config_for;

/// A running `sonde serve` on 127.0.0.1, stopped with SIGTERM when dropped.
pub(crate) struct Serve {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub(crate) base: String,
    /// Lines of its log (stderr), also echoed to the test's stderr.
    log: mpsc::Receiver<String>,
}

/// A logged-in console session: what a browser would send back.
pub(crate) struct Session {
    /// `sonde_session=...`, the `Cookie` header value.
    pub(crate) cookie: String,
    /// The session's CSRF token, for `X-CSRF-Token`.
    pub(crate) csrf: String,
}

/// The answer to [`Serve::call`]: status (0 when the request failed), headers, JSON body
/// (`null` when there was none).
pub(crate) type Answer = (u16, Vec<(String, String)>, Value);

impl Serve {
    /// Starts `sonde serve` on `data_dir` (and its store, see [`config_for`]) and waits until
    /// it listens.
    pub(crate) fn start(data_dir: &Path) -> Serve {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut child = Command::new(SONDE)
            .args(["serve", "--config"])
            .arg(config_for(data_dir))
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
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "sonde serve did not listen within 20 s");
            thread::sleep(Duration::from_millis(100));
        }
        serve
    }

    /// The one-time setup link (`http://127.0.0.1:PORT/setup#token=...`) `sonde serve` logs
    /// when no user exists.
    pub(crate) fn setup_link(&self) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let line = self
                .log
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .expect("sonde serve logs a setup link within 20 s when no user exists");
            if let Some(at) = line.find(&format!("{}/setup#token=", self.base)) {
                return line[at..].split_whitespace().next().unwrap().to_owned();
            }
        }
    }

    /// `method path` with `headers` and an optional JSON body.
    pub(crate) fn call(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Answer {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(20)))
            .build()
            .into();
        let mut request =
            ureq::http::Request::builder().method(method).uri(format!("{}{path}", self.base));
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

    /// Logs `username` in with `password`, as the console does; panics unless it succeeds.
    pub(crate) fn login(&self, username: &str, password: &str) -> Session {
        let body = json!({ "username": username, "password": password });
        let (status, headers, view) = self.call("POST", "/api/v1/session", &[], Some(&body));
        assert_eq!(status, 200, "login as {username}: {view}");
        let set_cookie = header(&headers, "set-cookie").expect("login sets the session cookie");
        Session {
            cookie: set_cookie.split(';').next().unwrap().to_owned(),
            csrf: view["csrf_token"].as_str().expect("a session has a CSRF token").to_owned(),
        }
    }

    /// Creates an API token named `name` for the session's user, as the console does; returns
    /// the `Authorization` header value that carries it.
    pub(crate) fn bearer(&self, session: &Session, name: &str) -> String {
        let body = json!({ "name": name });
        let (status, _, token) =
            self.call("POST", "/api/v1/tokens", &session.headers(), Some(&body));
        assert_eq!(status, 201, "token {name}: {token}");
        format!("Bearer {}", token["token"].as_str().unwrap())
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.child.try_wait().ok().flatten().is_none() {
            if Instant::now() > deadline {
                let _ = self.child.kill();
                break;
            }
            thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.wait();
    }
}

impl Session {
    /// The headers of a console request that changes state: the cookie and the CSRF token.
    pub(crate) fn headers(&self) -> [(&str, &str); 2] {
        [("cookie", self.cookie.as_str()), ("x-csrf-token", self.csrf.as_str())]
    }
}

/// The value of the header `name` (any case) in `headers`.
pub(crate) fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}
