//! Routes of `/api/v1` and the console page.

use std::net::Ipv4Addr;

use actix_web::http::header::{
    CONTENT_DISPOSITION, CONTENT_SECURITY_POLICY, LOCATION, REFERRER_POLICY,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use actix_web::middleware::DefaultHeaders;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::api::{
    ChangesQuery, ExportQuery, HostEdit, HostQuery, ScanRequest, SchedulePatch, ScheduleRequest,
};
use crate::auth::Authenticator;
use crate::{ApiError, Backend, Caller, console, sse, stats};

/// The largest JSON body accepted; a scan request is a few hundred bytes.
const JSON_LIMIT: usize = 64 * 1024;

/// The largest page `GET /api/v1/hosts` serves.
const MAX_HOSTS_LIMIT: u32 = 1000;

/// Mounts every route on an actix `App`, with `backend` as the shared state.
///
/// The routes carry their own security headers and error handling, so they behave the same on
/// any `App`; [`crate::server()`] adds the headers to the app's other responses too.
pub fn configure<B: Backend>(cfg: &mut web::ServiceConfig, backend: web::Data<B>) {
    cfg.service(
        web::scope("/api/v1")
            .app_data(Authenticator::new(backend.clone()))
            .app_data(backend)
            .app_data(
                web::JsonConfig::default()
                    .limit(JSON_LIMIT)
                    .error_handler(|error, _| bad_request(error)),
            )
            .app_data(web::QueryConfig::default().error_handler(|error, _| bad_request(error)))
            .app_data(web::PathConfig::default().error_handler(|error, _| bad_request(error)))
            .wrap(security_headers())
            .service(web::resource("/health").get(health::<B>))
            .service(web::resource("/scans").get(scans::<B>).post(start_scan::<B>))
            .service(web::resource("/scans/{id}").get(scan::<B>))
            .service(web::resource("/scans/{id}/cancel").post(cancel_scan::<B>))
            .service(web::resource("/hosts").get(hosts::<B>))
            .service(web::resource("/scans/{id}/changes").get(changes::<B>))
            .service(web::resource("/scans/{id}/export").get(export::<B>))
            .service(web::resource("/hosts/{ip}").get(host::<B>).patch(edit_host::<B>))
            .service(web::resource("/schedules").get(schedules::<B>).post(create_schedule::<B>))
            .service(
                web::resource("/schedules/{id}")
                    .patch(update_schedule::<B>)
                    .delete(delete_schedule::<B>),
            )
            .service(web::resource("/services").get(services::<B>))
            .service(web::resource("/stats/ports").get(stats::ports::<B>))
            .service(web::resource("/stats/subnets").get(stats::subnets::<B>))
            .service(web::resource("/events").get(events::<B>))
            .default_service(web::to(not_found)),
    )
    // Any other path is the console's: a file of its build, or its index.html.
    .service(web::resource("/{path:.*}").wrap(console::headers()).get(console::serve));
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

async fn health<B: Backend>(backend: web::Data<B>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(backend.health().await?))
}

async fn start_scan<B: Backend>(
    caller: Caller,
    backend: web::Data<B>,
    request: web::Json<ScanRequest>,
) -> Result<HttpResponse, ApiError> {
    let created = backend.start_scan(&caller, request.into_inner()).await?;
    Ok(HttpResponse::Created()
        .insert_header((LOCATION, format!("/api/v1/scans/{}", created.id)))
        .json(created))
}

async fn scans<B: Backend>(_: Caller, backend: web::Data<B>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(backend.scans().await?))
}

async fn scan<B: Backend>(
    _: Caller,
    backend: web::Data<B>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(backend.scan(id.into_inner()).await?))
}

async fn cancel_scan<B: Backend>(
    caller: Caller,
    backend: web::Data<B>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(backend.cancel_scan(&caller, id.into_inner()).await?))
}

async fn hosts<B: Backend>(
    _: Caller,
    backend: web::Data<B>,
    query: web::Query<HostQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    if let Some(limit) = query.limit
        && !(1..=MAX_HOSTS_LIMIT).contains(&limit)
    {
        return Err(ApiError::BadRequest(format!(
            "limit must be between 1 and {MAX_HOSTS_LIMIT}, not {limit}"
        )));
    }
    Ok(HttpResponse::Ok().json(backend.hosts(query).await?))
}

async fn host<B: Backend>(
    _: Caller,
    backend: web::Data<B>,
    ip: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let ip: Ipv4Addr =
        ip.parse().map_err(|_| ApiError::BadRequest(format!("`{ip}` is not an IPv4 address")))?;
    Ok(HttpResponse::Ok().json(backend.host(ip).await?))
}

/// Minimum role: operator.
async fn edit_host<B: Backend>(
    caller: Caller,
    backend: web::Data<B>,
    ip: web::Path<String>,
    edit: web::Json<HostEdit>,
) -> Result<HttpResponse, ApiError> {
    let ip: Ipv4Addr =
        ip.parse().map_err(|_| ApiError::BadRequest(format!("`{ip}` is not an IPv4 address")))?;
    Ok(HttpResponse::Ok().json(backend.edit_host(&caller, ip, edit.into_inner()).await?))
}

/// Minimum role: viewer.
async fn changes<B: Backend>(
    _: Caller,
    backend: web::Data<B>,
    id: web::Path<i64>,
    query: web::Query<ChangesQuery>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(backend.changes(id.into_inner(), query.against).await?))
}

/// Minimum role: viewer.
async fn export<B: Backend>(
    _: Caller,
    backend: web::Data<B>,
    id: web::Path<i64>,
    query: web::Query<ExportQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let body = backend.export(id, query.format).await?;
    Ok(HttpResponse::Ok()
        .content_type(query.format.content_type())
        .insert_header((
            CONTENT_DISPOSITION,
            format!("attachment; filename=\"sonde-scan-{id}.{}\"", query.format.extension()),
        ))
        .body(body))
}

/// Minimum role: viewer.
async fn schedules<B: Backend>(_: Caller, backend: web::Data<B>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(backend.schedules().await?))
}

/// Minimum role: operator.
async fn create_schedule<B: Backend>(
    caller: Caller,
    backend: web::Data<B>,
    request: web::Json<ScheduleRequest>,
) -> Result<HttpResponse, ApiError> {
    let created = backend.create_schedule(&caller, request.into_inner()).await?;
    Ok(HttpResponse::Created()
        .insert_header((LOCATION, format!("/api/v1/schedules/{}", created.id)))
        .json(created))
}

/// Minimum role: operator.
async fn update_schedule<B: Backend>(
    caller: Caller,
    backend: web::Data<B>,
    id: web::Path<i64>,
    patch: web::Json<SchedulePatch>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok()
        .json(backend.update_schedule(&caller, id.into_inner(), patch.into_inner()).await?))
}

/// Minimum role: operator.
async fn delete_schedule<B: Backend>(
    caller: Caller,
    backend: web::Data<B>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    backend.delete_schedule(&caller, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn services<B: Backend>(_: Caller, backend: web::Data<B>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(backend.services().await?))
}

async fn events<B: Backend>(_: Caller, backend: web::Data<B>, req: HttpRequest) -> HttpResponse {
    sse::response(backend.subscribe(sse::last_event_id(&req)))
}

async fn not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound(format!("no route {} {}", req.method(), req.path())))
}
