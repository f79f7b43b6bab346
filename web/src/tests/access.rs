//! Authentication, roles, CSRF, sessions, login limits and the audit log, walking the route
//! table so that a route added later is checked without anyone listing it here.

use actix_web::http::header::{COOKIE, ORIGIN, SET_COOKIE};

use super::*;
use crate::routes::{Access, CSRF_HEADER, table};

/// The routes anyone may call. A route that joins this list must be public on purpose.
const PUBLIC: [(Method, &str); 4] = [
    (Method::GET, "/health"),
    (Method::GET, "/openapi.json"),
    (Method::POST, "/session"),
    (Method::POST, "/setup"),
];

/// A concrete request path for a table path: placeholders become existing ids.
fn concrete(path: &str) -> String {
    format!("/api/v1{}", path.replace("{id}", "1").replace("{ip}", "10.0.0.1"))
}

fn changes_state(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// `method path` with a JSON body, so that a handler that reads one gets past extraction.
fn request(method: &Method, path: &str) -> TestRequest {
    let request = TestRequest::default().method(method.clone()).uri(&concrete(path));
    if changes_state(method) { request.set_json(serde_json::json!({})) } else { request }
}

fn with_session(request: TestRequest, session: &str) -> TestRequest {
    request.insert_header((COOKIE, format!("sonde_session={session}")))
}

fn bearer(request: TestRequest, token: &str) -> TestRequest {
    request.insert_header((AUTHORIZATION, format!("Bearer {token}")))
}

/// The status of `request`, and the error code when it failed. A success's body is not
/// read: the event stream's never ends.
async fn probe<S, R, B>(service: &S, request: R) -> (StatusCode, Option<String>)
where
    S: Service<R, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let response = test::call_service(service, request).await;
    let status = response.status();
    if status.is_success() {
        return (status, None);
    }
    let body = test::read_body(response).await;
    let code = serde_json::from_slice::<ErrorBody>(&body).ok().map(|body| body.error.code);
    (status, code)
}

#[actix_rt::test]
async fn every_route_but_the_public_ones_answers_401_without_valid_credentials() {
    let service = test::init_service(app(web::Data::new(Fake::default()), limiter())).await;
    let endpoints: Vec<_> = table::<Fake>().into_iter().map(|(endpoint, _)| endpoint).collect();
    assert!(endpoints.len() >= 20, "the table lists every route");
    for endpoint in endpoints {
        let (method, path) = (&endpoint.method, endpoint.path);
        let public = PUBLIC.iter().any(|(m, p)| m == method && *p == path);
        assert_eq!(endpoint.access == Access::Public, public, "{method} {path} is public");
        if public {
            continue;
        }
        let wrong = [
            None,
            Some((AUTHORIZATION, "Bearer wrong".to_owned())),
            Some((AUTHORIZATION, format!("Basic {TOKEN}"))),
            Some((AUTHORIZATION, format!("Bearer{TOKEN}"))),
            Some((COOKIE, "sonde_session=forged".to_owned())),
            Some((COOKIE, format!("other={TOKEN}"))),
        ];
        for header in wrong {
            let mut req = request(method, path);
            if let Some(header) = &header {
                req = req.insert_header(header.clone());
            }
            let (status, code) = probe(&service, req.to_request()).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path} {header:?}");
            assert_eq!(code.as_deref(), Some("unauthorized"), "{method} {path}");
        }
    }
}

#[actix_rt::test]
async fn every_route_refuses_a_role_below_its_own() {
    let fake = web::Data::new(Fake::default());
    let service = test::init_service(app(fake.clone(), limiter())).await;
    let mut refused = 0;
    for (endpoint, _) in table::<Fake>() {
        let Access::Role(least) = endpoint.access else { continue };
        let (method, path) = (&endpoint.method, endpoint.path);
        if changes_state(method) && least > Role::Viewer {
            // The contract: a viewer changes nothing but their own tokens and session.
            assert!(least >= Role::Operator, "{method} {path}");
        }
        for (token, role) in [(VIEWER_TOKEN, Role::Viewer), (OPERATOR_TOKEN, Role::Operator)] {
            let (status, code) =
                probe(&service, bearer(request(method, path), token).to_request()).await;
            if role < least {
                refused += 1;
                assert_eq!(status, StatusCode::FORBIDDEN, "{role:?} {method} {path}");
                assert_eq!(code.as_deref(), Some("forbidden"), "{method} {path}");
            } else {
                assert!(
                    ![StatusCode::UNAUTHORIZED, StatusCode::FORBIDDEN].contains(&status),
                    "{role:?} {method} {path}: {status} {code:?}"
                );
            }
        }
    }
    assert!(refused >= 10, "roles are refused somewhere ({refused})");
    assert!(
        !fake.audited().iter().any(|(name, ..)| name == "viewer"),
        "a refused request changes nothing: {:?}",
        fake.audited()
    );
}

#[actix_rt::test]
async fn every_state_changing_route_refuses_cookies_without_csrf_or_from_another_site() {
    let fake = web::Data::new(Fake::default());
    let service = test::init_service(app(fake.clone(), limiter())).await;
    let mut checked = 0;
    for (endpoint, _) in table::<Fake>() {
        let (method, path) = (&endpoint.method, endpoint.path);
        if endpoint.access == Access::Public || !changes_state(method) {
            continue;
        }
        checked += 1;
        // A fresh session each time: the request that passes may be a logout.
        let (session, csrf) = fake.login_as(1);
        let attempts = [
            with_session(request(method, path), &session),
            with_session(request(method, path), &session).insert_header((CSRF_HEADER, "guess")),
            with_session(request(method, path), &session)
                .insert_header((CSRF_HEADER, csrf.as_str()))
                .insert_header((ORIGIN, "https://evil.example")),
        ];
        for attempt in attempts {
            let (status, code) = probe(&service, attempt.to_request()).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}");
            assert_eq!(code.as_deref(), Some("csrf"), "{method} {path}");
        }
        // The same request from the console passes the check.
        let (status, code) = probe(
            &service,
            with_session(request(method, path), &session)
                .insert_header((CSRF_HEADER, csrf.as_str()))
                .insert_header(("host", "sonde:8443"))
                .insert_header((ORIGIN, "https://sonde:8443"))
                .to_request(),
        )
        .await;
        assert_ne!(status, StatusCode::FORBIDDEN, "{method} {path}: {code:?}");
    }
    assert!(checked >= 8, "{checked}");
}

#[actix_rt::test]
async fn reads_with_a_cookie_need_no_csrf_token() {
    let fake = web::Data::new(Fake::default());
    let service = test::init_service(app(fake.clone(), limiter())).await;
    let (session, _) = fake.login_as(3);
    let reply = call(
        &service,
        with_session(TestRequest::get().uri("/api/v1/scans"), &session).to_request(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
}

/// The `name=value` of a `Set-Cookie` header, and its attributes lowercased.
fn parse_set_cookie(reply: &Reply) -> (String, Vec<String>) {
    let header = reply.header(SET_COOKIE.as_str()).expect("a Set-Cookie header");
    let mut parts = header.split(';').map(str::trim);
    let pair = parts.next().unwrap().to_owned();
    (pair, parts.map(str::to_lowercase).collect())
}

#[actix_rt::test]
async fn login_sets_a_strict_http_only_cookie_that_works_until_logout() {
    let fake = web::Data::new(Fake::default());
    let service = test::init_service(app(fake.clone(), limiter())).await;
    let login = TestRequest::post()
        .uri("/api/v1/session")
        .set_json(serde_json::json!({ "username": "operator", "password": PASSWORD }));
    let reply = call(&service, login.to_request()).await;
    assert_eq!(reply.status, StatusCode::OK);
    let (pair, attributes) = parse_set_cookie(&reply);
    assert!(pair.starts_with("sonde_session=") && pair.len() > "sonde_session=".len());
    for attribute in ["httponly", "samesite=strict", "path=/"] {
        assert!(attributes.iter().any(|a| a == attribute), "{attribute}: {attributes:?}");
    }
    // No TLS here, so no `Secure` (the browser would drop the cookie).
    assert!(!attributes.iter().any(|a| a == "secure"), "{attributes:?}");
    let body: serde_json::Value = reply.json();
    assert_eq!(
        body["user"],
        serde_json::json!({ "id": 2, "name": "operator", "role": "operator" })
    );
    let csrf = body["csrf_token"].as_str().expect("a CSRF token").to_owned();

    let reply = call(
        &service,
        TestRequest::get()
            .uri("/api/v1/session")
            .insert_header((COOKIE, pair.clone()))
            .to_request(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json::<serde_json::Value>()["csrf_token"], csrf.as_str());

    let start = TestRequest::post()
        .uri("/api/v1/scans")
        .insert_header((COOKIE, pair.clone()))
        .insert_header((CSRF_HEADER, csrf.as_str()))
        .set_json(serde_json::json!({ "targets": ["10.0.0.1"] }));
    assert_eq!(call(&service, start.to_request()).await.status, StatusCode::CREATED);

    let logout = TestRequest::delete()
        .uri("/api/v1/session")
        .insert_header((COOKIE, pair.clone()))
        .insert_header((CSRF_HEADER, csrf.as_str()));
    let reply = call(&service, logout.to_request()).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    let (cleared, attributes) = parse_set_cookie(&reply);
    assert_eq!(cleared, "sonde_session=");
    assert!(attributes.iter().any(|a| a == "max-age=0"), "{attributes:?}");

    let reply = call(
        &service,
        TestRequest::get().uri("/api/v1/session").insert_header((COOKIE, pair)).to_request(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    let actions: Vec<_> =
        fake.audited().into_iter().map(|(name, action, _)| (name, action)).collect();
    assert_eq!(
        actions,
        [
            ("operator".to_owned(), "login"),
            ("operator".to_owned(), "scan_start"),
            ("operator".to_owned(), "logout")
        ]
    );
}

#[actix_rt::test]
async fn a_token_caller_has_a_session_view_without_csrf_token() {
    let service = test::init_service(app(web::Data::new(Fake::default()), limiter())).await;
    let reply =
        call(&service, authed(TestRequest::get().uri("/api/v1/session")).to_request()).await;
    assert_eq!(reply.status, StatusCode::OK);
    let body: serde_json::Value = reply.json();
    assert_eq!(
        (body["user"]["role"].as_str(), &body["csrf_token"]),
        (Some("admin"), &serde_json::Value::Null)
    );
}

#[actix_rt::test]
async fn failed_logins_are_slowed_down_and_audited() {
    let fake = web::Data::new(Fake::default());
    let service = test::init_service(app(fake.clone(), limiter())).await;
    let login = |password: &str| {
        TestRequest::post()
            .uri("/api/v1/session")
            .peer_addr("192.0.2.7:40000".parse().unwrap())
            .set_json(serde_json::json!({ "username": "admin", "password": password }))
            .to_request()
    };
    for _ in 0..5 {
        let reply = call(&service, login("guess")).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        assert_eq!(reply.error().message, "wrong user name or password");
    }
    // Even the right password waits now.
    let reply = call(&service, login(PASSWORD)).await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(reply.header("retry-after"), Some("1"));
    assert_eq!(reply.error().code, "rate_limited");

    let audited = fake.audit.lock().unwrap().clone();
    assert_eq!(audited.len(), 5);
    assert!(audited.iter().all(|r| r.action == "login_failed"
        && r.username == "admin"
        && r.user_id.is_none()
        && r.source.as_deref() == Some("192.0.2.7")));
}

#[actix_rt::test]
async fn setup_needs_the_one_time_token() {
    let fake = web::Data::new(Fake::default());
    let service = test::init_service(app(fake.clone(), limiter())).await;
    let setup = |token: &str| {
        TestRequest::post()
            .uri("/api/v1/setup")
            .set_json(
                serde_json::json!({ "token": token, "username": "root", "password": PASSWORD }),
            )
            .to_request()
    };
    let reply = call(&service, setup("guess")).await;
    assert_eq!((reply.status, reply.error().code.as_str()), (StatusCode::FORBIDDEN, "forbidden"));
    let reply = call(&service, setup(SETUP_TOKEN)).await;
    assert_eq!(reply.status, StatusCode::CREATED);
    assert_eq!(reply.json::<UserView>().role, Role::Admin);
    assert_eq!(fake.audited().last().map(|(n, a, _)| (n.as_str(), *a)), Some(("root", "setup")));
}

#[actix_rt::test]
async fn user_and_token_changes_are_audited_with_who_and_what() {
    let fake = web::Data::new(Fake::default());
    let service = test::init_service(app(fake.clone(), limiter())).await;
    let requests = [
        authed(TestRequest::post().uri("/api/v1/users"))
            .set_json(serde_json::json!({ "name": "eve", "password": PASSWORD, "role": "viewer" })),
        authed(TestRequest::patch().uri("/api/v1/users/4"))
            .set_json(serde_json::json!({ "role": "operator" })),
        authed(TestRequest::delete().uri("/api/v1/users/4")),
        bearer(TestRequest::post().uri("/api/v1/tokens"), VIEWER_TOKEN)
            .set_json(serde_json::json!({ "name": "grafana" })),
        bearer(TestRequest::delete().uri("/api/v1/tokens/3"), VIEWER_TOKEN),
    ];
    for request in requests {
        let reply = call(&service, request.to_request()).await;
        assert!(reply.status.is_success(), "{}", reply.status);
    }
    // A viewer cannot revoke someone else's token.
    let reply = call(
        &service,
        bearer(TestRequest::delete().uri("/api/v1/tokens/1"), VIEWER_TOKEN).to_request(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    let s = |text: &str| Some(text.to_owned());
    assert_eq!(
        fake.audited(),
        [
            ("admin".to_owned(), "user_create", s("user 4 (eve, viewer)")),
            ("admin".to_owned(), "user_update", s("user 4 (eve): role operator")),
            ("admin".to_owned(), "user_delete", s("user 4")),
            ("viewer".to_owned(), "token_create", s("token 9 (grafana)")),
            ("viewer".to_owned(), "token_revoke", s("token 3")),
        ]
    );
    let reply =
        call(&service, authed(TestRequest::get().uri("/api/v1/audit?limit=2")).to_request()).await;
    assert_eq!(reply.status, StatusCode::OK);
    let reply =
        call(&service, authed(TestRequest::get().uri("/api/v1/audit?limit=0")).to_request()).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
}
