//! Scans, hosts, services, events and health.

use std::net::Ipv4Addr;

use actix_web::http::header::LOCATION;
use actix_web::{HttpRequest, HttpResponse, web};

use super::accounts::audit_as;
use crate::api::{HostQuery, ScanRequest};
use crate::{ApiError, Backend, Caller, sse};

/// The largest page `GET /api/v1/hosts` serves.
const MAX_HOSTS_LIMIT: u32 = 1000;

pub(super) async fn health<B: Backend>(backend: web::Data<B>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(backend.health().await?))
}

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

pub(super) async fn scans<B: Backend>(
    _: Caller,
    backend: web::Data<B>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(backend.scans().await?))
}

pub(super) async fn scan<B: Backend>(
    _: Caller,
    backend: web::Data<B>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(backend.scan(id.into_inner()).await?))
}

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

pub(super) async fn host<B: Backend>(
    _: Caller,
    backend: web::Data<B>,
    ip: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let ip: Ipv4Addr =
        ip.parse().map_err(|_| ApiError::BadRequest(format!("`{ip}` is not an IPv4 address")))?;
    Ok(HttpResponse::Ok().json(backend.host(ip).await?))
}

pub(super) async fn services<B: Backend>(
    _: Caller,
    backend: web::Data<B>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(backend.services().await?))
}

pub(super) async fn events<B: Backend>(
    _: Caller,
    backend: web::Data<B>,
    req: HttpRequest,
) -> HttpResponse {
    sse::response(backend.subscribe(sse::last_event_id(&req)))
}
