//! The route table: every API route with its method, path and the least role it needs.

use actix_web::http::Method;
use actix_web::http::header::{
    CONTENT_SECURITY_POLICY, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use actix_web::middleware::{DefaultHeaders, from_fn};
use actix_web::{HttpRequest, HttpResponse, web};

use super::access::{self, Access};
use super::{accounts, discovery, docker, fleet, openapi, scans, settings};
use crate::api::Role;
use crate::{ApiError, Backend, LoginLimiter};

/// The largest JSON body accepted; a scan request is a few hundred bytes.
const JSON_LIMIT: usize = 64 * 1024;

/// One API route: what it answers and who may call it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Endpoint {
    /// The HTTP method.
    pub(crate) method: Method,
    /// The path under `/api/v1`, with `{name}` placeholders.
    pub(crate) path: &'static str,
    /// Who may call it.
    pub(crate) access: Access,
}

/// Every API route. A route exists only through an entry here, and an entry cannot leave
/// out its [`Access`]: that is how no route forgets authorization.
pub(crate) fn table<B: Backend>() -> Vec<(Endpoint, actix_web::Route)> {
    use Access::{Public, Role as R};
    use Method as M;
    use Role::{Admin, Operator, Viewer};
    let route = |method: Method, path, access, route: actix_web::Route| {
        (Endpoint { method: method.clone(), path, access }, route.method(method))
    };
    vec![
        route(M::GET, "/health", Public, web::to(scans::health::<B>)),
        route(M::GET, "/openapi.json", Public, web::to(openapi::openapi::<B>)),
        route(M::GET, "/scans", R(Viewer), web::to(scans::scans::<B>)),
        route(M::POST, "/scans", R(Operator), web::to(scans::start_scan::<B>)),
        route(M::GET, "/scans/{id}", R(Viewer), web::to(scans::scan::<B>)),
        route(M::POST, "/scans/{id}/cancel", R(Operator), web::to(scans::cancel_scan::<B>)),
        route(M::GET, "/hosts", R(Viewer), web::to(scans::hosts::<B>)),
        // Before `/hosts/{ip}`, which would otherwise take `export` for an address.
        route(M::GET, "/hosts/export", R(Viewer), web::to(discovery::export_hosts::<B>)),
        route(M::GET, "/hosts/{ip}", R(Viewer), web::to(scans::host::<B>)),
        route(M::PATCH, "/hosts/{ip}", R(Operator), web::to(discovery::edit_host::<B>)),
        route(M::GET, "/machines/{id}", R(Viewer), web::to(scans::machine::<B>)),
        route(M::GET, "/scans/{id}/changes", R(Viewer), web::to(discovery::changes::<B>)),
        route(M::GET, "/scans/{id}/export", R(Viewer), web::to(discovery::export::<B>)),
        route(M::GET, "/schedules", R(Viewer), web::to(discovery::schedules::<B>)),
        route(M::POST, "/schedules", R(Operator), web::to(discovery::create_schedule::<B>)),
        route(M::PATCH, "/schedules/{id}", R(Operator), web::to(discovery::update_schedule::<B>)),
        route(M::DELETE, "/schedules/{id}", R(Operator), web::to(discovery::delete_schedule::<B>)),
        route(M::GET, "/docker", R(Viewer), web::to(docker::docker::<B>)),
        route(M::POST, "/docker/refresh", R(Operator), web::to(docker::refresh::<B>)),
        route(M::GET, "/appliances", R(Viewer), web::to(fleet::appliances::<B>)),
        route(M::GET, "/services", R(Viewer), web::to(scans::services::<B>)),
        route(M::GET, "/stats/ports", R(Viewer), web::to(crate::stats::ports::<B>)),
        route(M::GET, "/stats/subnets", R(Viewer), web::to(crate::stats::subnets::<B>)),
        route(M::GET, "/events", R(Viewer), web::to(scans::events::<B>)),
        route(M::POST, "/session", Public, web::to(accounts::login::<B>)),
        route(M::GET, "/session", R(Viewer), web::to(accounts::session)),
        route(M::DELETE, "/session", R(Viewer), web::to(accounts::logout::<B>)),
        route(M::POST, "/setup", Public, web::to(accounts::setup::<B>)),
        route(M::GET, "/users", R(Admin), web::to(accounts::users::<B>)),
        route(M::POST, "/users", R(Admin), web::to(accounts::create_user::<B>)),
        route(M::PATCH, "/users/{id}", R(Admin), web::to(accounts::update_user::<B>)),
        route(M::DELETE, "/users/{id}", R(Admin), web::to(accounts::delete_user::<B>)),
        route(M::GET, "/tokens", R(Viewer), web::to(accounts::tokens::<B>)),
        route(M::POST, "/tokens", R(Viewer), web::to(accounts::create_token::<B>)),
        route(M::DELETE, "/tokens/{id}", R(Viewer), web::to(accounts::revoke_token::<B>)),
        route(M::GET, "/audit", R(Admin), web::to(accounts::audit_log::<B>)),
        route(M::GET, "/settings", R(Viewer), web::to(settings::settings::<B>)),
        route(M::PUT, "/settings", R(Admin), web::to(settings::update_settings::<B>)),
    ]
}

/// Mounts every route on an actix `App`, with `backend` as the shared state and `limiter`
/// counting failed logins (share one across workers).
///
/// The routes carry their own security headers and error handling, so they behave the same on
/// any `App`; [`crate::server()`] adds the headers to the app's other responses too.
pub fn configure<B: Backend>(
    cfg: &mut web::ServiceConfig,
    backend: web::Data<B>,
    limiter: web::Data<LoginLimiter>,
) {
    // Routes of one path share a resource, so that actix answers 405 for other methods.
    let mut resources: Vec<(&'static str, Vec<actix_web::Route>)> = Vec::new();
    for (endpoint, route) in table::<B>() {
        let access = endpoint.access;
        let route = route.wrap(from_fn(move |req, next| access::check::<B>(access, req, next)));
        match resources.iter_mut().find(|(path, _)| *path == endpoint.path) {
            Some((_, routes)) => routes.push(route),
            None => resources.push((endpoint.path, vec![route])),
        }
    }
    let mut scope = web::scope("/api/v1")
        .app_data(backend)
        .app_data(limiter)
        .app_data(
            web::JsonConfig::default()
                .limit(JSON_LIMIT)
                .error_handler(|error, _| bad_request(error)),
        )
        .app_data(web::QueryConfig::default().error_handler(|error, _| bad_request(error)))
        .app_data(web::PathConfig::default().error_handler(|error, _| bad_request(error)));
    for (path, routes) in resources {
        scope = scope.service(web::resource(path).route_all(routes));
    }
    cfg.service(scope.wrap(security_headers()).default_service(web::to(not_found)))
        // Any other path is the console's: a file of its build, or its index.html.
        .service(
            web::resource("/{path:.*}").wrap(crate::console::headers()).get(crate::console::serve),
        );
}

/// Adds several routes to a resource.
trait RouteAll {
    fn route_all(self, routes: Vec<actix_web::Route>) -> Self;
}

impl RouteAll for actix_web::Resource {
    fn route_all(self, routes: Vec<actix_web::Route>) -> Self {
        routes.into_iter().fold(self, actix_web::Resource::route)
    }
}

/// Headers that keep browsers from sniffing, framing or leaking what the appliance serves.
pub(crate) fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((REFERRER_POLICY, "no-referrer"))
        .add((X_FRAME_OPTIONS, "DENY"))
        // The API serves data, never pages: nothing it answers may run, load or submit
        // anything. The console has its own policy (`console::CONSOLE_CSP`).
        .add((
            CONTENT_SECURITY_POLICY,
            "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        ))
}

/// Turns an extractor's rejection (bad JSON, query or path) into the API's error shape.
fn bad_request(error: impl std::fmt::Display) -> actix_web::Error {
    ApiError::BadRequest(error.to_string()).into()
}

async fn not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound(format!("no route {} {}", req.method(), req.path())))
}
