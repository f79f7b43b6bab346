//! Accounts end to end: `sonde user`, the setup link of a first start, login with a session
//! cookie, CSRF, roles and the audit log against a real `sonde serve` on loopback.

#![allow(clippy::unwrap_used)] // A failed unwrap is a failed test, with its location.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::json;

use crate::util::serve::{Serve, header};
use crate::util::sonde::{SONDE, sonde};
use crate::util::store::config_for;

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
    let config = config_for(dir.path());
    let data = config.to_str().unwrap();
    let no_user = sonde(&["token", "create", "--name", "ci", "--config", data]);
    assert_eq!(no_user.code, Some(2), "{}", no_user.transcript());
    assert!(no_user.stderr.contains("sonde user add --role admin NAME"), "{}", no_user.stderr);

    let short = sonde_with_stdin(
        &["user", "add", "--role", "admin", "root", "--password-stdin", "--config", data],
        "short\n",
    );
    assert_eq!(short.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&short.stderr).contains("at least")
            || String::from_utf8_lossy(&short.stderr).contains("10 to 1024")
    );

    let added = sonde_with_stdin(
        &["user", "add", "--role", "admin", "root", "--password-stdin", "--config", data],
        "root-password\n",
    );
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));
    let again = sonde_with_stdin(
        &["user", "add", "--role", "viewer", "ROOT", "--password-stdin", "--config", data],
        "root-password\n",
    );
    assert_eq!(again.status.code(), Some(2), "names are unique whatever the case");

    let listed = sonde(&["user", "list", "--config", data]);
    listed.assert_success();
    assert!(listed.stdout.contains("admin") && listed.stdout.contains("root"), "{}", listed.stdout);

    let token = sonde(&["token", "create", "--name", "ci", "--config", data]);
    token.assert_success();
    assert!(token.stdout.contains("acting as admin `root`"), "{}", token.stdout);
    let unknown = sonde(&["token", "create", "--name", "ci", "--user", "nobody", "--config", data]);
    assert_eq!(unknown.code, Some(2));

    let passwd = sonde_with_stdin(
        &["user", "passwd", "root", "--password-stdin", "--config", data],
        "new-root-password\n",
    );
    assert!(passwd.status.success(), "{}", String::from_utf8_lossy(&passwd.stderr));
}

#[test]
fn first_start_setup_then_login_csrf_roles_and_audit() {
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(dir.path());
    let link = serve.setup_link();
    let (_, setup_token) = link.split_once("/setup#token=").unwrap();
    assert_eq!(setup_token.len(), 64, "{link}");

    let setup =
        |token: &str| json!({ "token": token, "username": "root", "password": "root-password" });
    assert_eq!(serve.call("POST", "/api/v1/setup", &[], Some(&setup("guess"))).0, 403);
    let (status, _, user) = serve.call("POST", "/api/v1/setup", &[], Some(&setup(setup_token)));
    assert_eq!(status, 201, "{user}");
    assert_eq!(user["role"], "admin");
    assert_eq!(
        serve.call("POST", "/api/v1/setup", &[], Some(&setup(setup_token))).0,
        403,
        "the link is dead"
    );

    let login = json!({ "username": "root", "password": "root-password" });
    let (status, headers, session) = serve.call("POST", "/api/v1/session", &[], Some(&login));
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
        serve.call("POST", "/api/v1/users", &with_cookie, Some(&viewer)).0,
        403,
        "no CSRF token"
    );
    let console = [("cookie", cookie.as_str()), ("x-csrf-token", csrf.as_str())];
    let (status, _, eve) = serve.call("POST", "/api/v1/users", &console, Some(&viewer));
    assert_eq!(status, 201, "{eve}");

    // Eve gets a token of her own, then cannot start a scan with it.
    let eve = serve.login("eve", "eve-password");
    let (_, _, eve_view) =
        serve.call("GET", "/api/v1/session", &[("cookie", eve.cookie.as_str())], None);
    assert_eq!(eve_view["csrf_token"], eve.csrf.as_str(), "the session repeats its CSRF token");
    let bearer = serve.bearer(&eve, "script");
    let scan = json!({ "targets": ["127.0.0.1"], "ports": "1" });
    let (status, _, refused) =
        serve.call("POST", "/api/v1/scans", &[("authorization", bearer.as_str())], Some(&scan));
    assert_eq!((status, refused["error"]["code"].as_str()), (403, Some("forbidden")));
    assert_eq!(
        serve.call("GET", "/api/v1/scans", &[("authorization", bearer.as_str())], None).0,
        200
    );

    // Failed logins are limited, and everything is in the audit log.
    for _ in 0..5 {
        assert_eq!(
            serve
                .call(
                    "POST",
                    "/api/v1/session",
                    &[],
                    Some(&json!({ "username": "root", "password": "wrong-password" }))
                )
                .0,
            401
        );
    }
    let (status, headers, _) = serve.call("POST", "/api/v1/session", &[], Some(&login));
    assert_eq!(status, 429);
    assert!(header(&headers, "retry-after").is_some());

    let (status, _, audit) = serve.call("GET", "/api/v1/audit?limit=100", &console, None);
    assert_eq!(status, 200, "{audit}");
    let actions: Vec<&str> =
        audit.as_array().unwrap().iter().rev().map(|e| e["action"].as_str().unwrap()).collect();
    for action in ["setup", "login", "user_create", "token_create", "login_failed"] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
    assert!(audit.as_array().unwrap().iter().all(|e| e["source"] == "127.0.0.1"), "{audit}");

    // Logout ends the session.
    assert_eq!(serve.call("DELETE", "/api/v1/session", &console, None).0, 204);
    assert_eq!(serve.call("GET", "/api/v1/session", &with_cookie, None).0, 401);
}
