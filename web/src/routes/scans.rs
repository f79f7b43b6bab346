//! Scans, hosts, services, events and health.

use std::net::Ipv4Addr;

use actix_web::http::header::LOCATION;
use actix_web::{HttpRequest, HttpResponse, web};

use super::accounts::audit_as;
use crate::api::{
    ErrorBody, Event, Health, HostDetail, HostQuery, HostSummary, MachineView, Page, ScanCreated,
    ScanRequest, ScanView, ServiceCount,
};
use crate::{ApiError, Backend, Caller, sse};

/// The largest page `GET /api/v1/hosts` serves.
const MAX_HOSTS_LIMIT: u32 = 1000;

#[utoipa::path(
    get, path = "/api/v1/health", tag = "meta", security(()),
    responses((status = 200, description = "The appliance and its store answer", body = Health))
)]
pub(super) async fn health<B: Backend>(backend: web::Data<B>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(backend.health().await?))
}

#[utoipa::path(
    post, path = "/api/v1/scans", tag = "scans",
    request_body(
        content = ScanRequest,
        example = json!({
            "targets": ["127.0.0.1"],
            "ports": "22,80,443",
            "udp_ports": "53,123,161",
            "engine": "connect"
        })
    ),
    responses(
        (status = 201, description = "Queued; `Location` names the new scan", body = ScanCreated),
        (status = 503, description = "The scan queue is full; retry later", body = ErrorBody),
    )
)]
pub(super) async fn start_scan<B: Backend>(
    req: HttpRequest,
    caller: Caller,
    backend: web::Data<B>,
    request: web::Json<ScanRequest>,
) -> Result<HttpResponse, ApiError> {
    let created = backend.start_scan(&caller, request.into_inner()).await?;
    audit_as(&**backend, &req, &caller, "scan_start", Some(format!("scan {}", created.id))).await;
    Ok(HttpResponse::Created()
        .insert_header((LOCATION, format!("/api/v1/scans/{}", created.id)))
        .json(created))
}

#[utoipa::path(
    get, path = "/api/v1/scans", tag = "scans",
    responses((status = 200, description = "Every scan, newest first", body = Vec<ScanView>))
)]
pub(super) async fn scans<B: Backend>(
    _: Caller,
    backend: web::Data<B>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(backend.scans().await?))
}

#[utoipa::path(
    get, path = "/api/v1/scans/{id}", tag = "scans",
    params(("id" = i64, Path, description = "Scan id", example = 1)),
    responses(
        (status = 200, description = "The scan", body = ScanView),
        (status = 404, description = "No such scan", body = ErrorBody),
    )
)]
pub(super) async fn scan<B: Backend>(
    _: Caller,
    backend: web::Data<B>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(backend.scan(id.into_inner()).await?))
}

#[utoipa::path(
    post, path = "/api/v1/scans/{id}/cancel", tag = "scans",
    params(("id" = i64, Path, description = "Scan id", example = 1)),
    responses(
        (status = 200, description = "Cancelled; what it found so far is kept", body = ScanView),
        (status = 404, description = "No such scan", body = ErrorBody),
        (status = 409, description = "The scan already ended", body = ErrorBody),
    )
)]
pub(super) async fn cancel_scan<B: Backend>(
    req: HttpRequest,
    caller: Caller,
    backend: web::Data<B>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let scan = backend.cancel_scan(&caller, id).await?;
    audit_as(&**backend, &req, &caller, "scan_cancel", Some(format!("scan {id}"))).await;
    Ok(HttpResponse::Ok().json(scan))
}

#[utoipa::path(
    get, path = "/api/v1/hosts", tag = "hosts", params(HostQuery),
    responses((status = 200, description = "A page of hosts", body = Page<HostSummary>))
)]
pub(super) async fn hosts<B: Backend>(
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

#[utoipa::path(
    get, path = "/api/v1/hosts/{ip}", tag = "hosts",
    params((
        "ip" = String, Path, format = Ipv4, description = "IPv4 address", example = "127.0.0.1"
    )),
    responses(
        (status = 200, description = "The host with its ports and history", body = HostDetail),
        (status = 404, description = "Nothing was ever found open on it", body = ErrorBody),
    )
)]
pub(super) async fn host<B: Backend>(
    _: Caller,
    backend: web::Data<B>,
    ip: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let ip: Ipv4Addr =
        ip.parse().map_err(|_| ApiError::BadRequest(format!("`{ip}` is not an IPv4 address")))?;
    Ok(HttpResponse::Ok().json(backend.host(ip).await?))
}

#[utoipa::path(
    get, path = "/api/v1/machines/{id}", tag = "hosts",
    params(("id" = i64, Path, description = "Machine id, as hosts carry it in `machine_id`")),
    responses(
        (status = 200, description = "The machine with its addresses now and before", body = MachineView),
        (status = 404, description = "No such machine", body = ErrorBody),
    )
)]
pub(super) async fn machine<B: Backend>(
    _: Caller,
    backend: web::Data<B>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(backend.machine(id.into_inner()).await?))
}

#[utoipa::path(
    get, path = "/api/v1/services", tag = "hosts",
    responses((status = 200, description = "Open ports by service, most common first", body = Vec<ServiceCount>))
)]
pub(super) async fn services<B: Backend>(
    _: Caller,
    backend: web::Data<B>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(backend.services().await?))
}

#[utoipa::path(
    get, path = "/api/v1/events", tag = "events",
    params((
        "Last-Event-ID" = Option<String>, Header,
        description = "The `id` of the last event received: the stream replays what followed it"
    )),
    responses((
        status = 200,
        description = "Server-sent events that never end. Each event's `event:` is the `type` of its \
            JSON `data:` (`scan_status`, `scan_progress`, `host_found`, `port_found`, \
            `host_changed`, `port_changed`, `container_changed`, `scan_finished`) and its `id:` the `id` field.",
        body = Event, content_type = "text/event-stream"
    ))
)]
pub(super) async fn events<B: Backend>(
    _: Caller,
    backend: web::Data<B>,
    req: HttpRequest,
) -> HttpResponse {
    sse::response(backend.subscribe(sse::last_event_id(&req)))
}
