//! Host edits, scan comparison and export, and schedules.

use std::net::Ipv4Addr;

use actix_web::http::header::{CONTENT_DISPOSITION, LOCATION};
use actix_web::{HttpRequest, HttpResponse, web};

use super::accounts::audit_as;
use crate::api::{
    ChangesQuery, ErrorBody, ExportQuery, HostDetail, HostEdit, HostExportQuery, QueryExport,
    ScanChanges, ScanExport, SchedulePatch, ScheduleRequest, ScheduleView,
};
use crate::{ApiError, Backend, Caller};

#[utoipa::path(
    patch, path = "/api/v1/hosts/{ip}", tag = "hosts",
    request_body(
        content = HostEdit,
        example = json!({"name": "gateway", "note": "rack B2", "tags": ["infra"]})
    ),
    params((
        "ip" = String, Path, format = Ipv4, description = "IPv4 address", example = "127.0.0.1"
    )),
    responses(
        (status = 200, description = "The host as edited", body = HostDetail),
        (status = 404, description = "Nothing was ever found open on it", body = ErrorBody),
    )
)]
pub(super) async fn edit_host<B: Backend>(
    req: HttpRequest,
    caller: Caller,
    backend: web::Data<B>,
    ip: web::Path<String>,
    edit: web::Json<HostEdit>,
) -> Result<HttpResponse, ApiError> {
    let ip: Ipv4Addr =
        ip.parse().map_err(|_| ApiError::BadRequest(format!("`{ip}` is not an IPv4 address")))?;
    let host = backend.edit_host(&caller, ip, edit.into_inner()).await?;
    audit_as(&**backend, &req, &caller, "host_edit", Some(format!("host {ip}"))).await;
    Ok(HttpResponse::Ok().json(host))
}

#[utoipa::path(
    get, path = "/api/v1/scans/{id}/changes", tag = "scans",
    params(("id" = i64, Path, description = "Scan id", example = 1), ChangesQuery),
    responses(
        (status = 200, description = "What changed since the scan compared with", body = ScanChanges),
        (status = 404, description = "No such scan", body = ErrorBody),
    )
)]
pub(super) async fn changes<B: Backend>(
    _: Caller,
    backend: web::Data<B>,
    id: web::Path<i64>,
    query: web::Query<ChangesQuery>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(backend.changes(id.into_inner(), query.against).await?))
}

#[utoipa::path(
    get, path = "/api/v1/scans/{id}/export", tag = "scans",
    params(("id" = i64, Path, description = "Scan id", example = 1), ExportQuery),
    responses(
        (status = 200, description = "The scan and what it found, as an attachment", content(
            (ScanExport = "application/json"),
            (String = "text/csv"),
            (String = "application/xml"),
        )),
        (status = 404, description = "No such scan", body = ErrorBody),
    )
)]
pub(super) async fn export<B: Backend>(
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

#[utoipa::path(
    get, path = "/api/v1/hosts/export", tag = "hosts",
    params(HostExportQuery),
    responses(
        (status = 200, description = "The matching hosts and their open ports, as an attachment", content(
            (QueryExport = "application/json"),
            (String = "text/csv"),
            (String = "application/xml"),
        )),
        (status = 400, description = "A filter is malformed", body = ErrorBody),
    )
)]
pub(super) async fn export_hosts<B: Backend>(
    _: Caller,
    backend: web::Data<B>,
    query: web::Query<HostExportQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let format = query.format;
    let body = backend.export_hosts(query).await?;
    Ok(HttpResponse::Ok()
        .content_type(format.content_type())
        .insert_header((
            CONTENT_DISPOSITION,
            format!("attachment; filename=\"sonde-hosts.{}\"", format.extension()),
        ))
        .body(body))
}

#[utoipa::path(
    get, path = "/api/v1/schedules", tag = "schedules",
    responses((status = 200, description = "Every schedule", body = Vec<ScheduleView>))
)]
pub(super) async fn schedules<B: Backend>(
    _: Caller,
    backend: web::Data<B>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(backend.schedules().await?))
}

#[utoipa::path(
    post, path = "/api/v1/schedules", tag = "schedules",
    request_body(
        content = ScheduleRequest,
        example = json!({
            "name": "nightly", "targets": ["127.0.0.1"], "ports": "22,80,443",
            "udp_ports": "53,161", "cron": "0 3 * * *"
        })
    ),
    responses((status = 201, description = "Created; `Location` names it", body = ScheduleView))
)]
pub(super) async fn create_schedule<B: Backend>(
    req: HttpRequest,
    caller: Caller,
    backend: web::Data<B>,
    request: web::Json<ScheduleRequest>,
) -> Result<HttpResponse, ApiError> {
    let created = backend.create_schedule(&caller, request.into_inner()).await?;
    let target = Some(format!("schedule {}", created.id));
    audit_as(&**backend, &req, &caller, "schedule_create", target).await;
    Ok(HttpResponse::Created()
        .insert_header((LOCATION, format!("/api/v1/schedules/{}", created.id)))
        .json(created))
}

#[utoipa::path(
    patch, path = "/api/v1/schedules/{id}", tag = "schedules",
    request_body(
        content = SchedulePatch,
        example = json!({"enabled": false})
    ),
    params(("id" = i64, Path, description = "Schedule id", example = 1)),
    responses(
        (status = 200, description = "The schedule as changed", body = ScheduleView),
        (status = 404, description = "No such schedule", body = ErrorBody),
    )
)]
pub(super) async fn update_schedule<B: Backend>(
    req: HttpRequest,
    caller: Caller,
    backend: web::Data<B>,
    id: web::Path<i64>,
    patch: web::Json<SchedulePatch>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let schedule = backend.update_schedule(&caller, id, patch.into_inner()).await?;
    audit_as(&**backend, &req, &caller, "schedule_update", Some(format!("schedule {id}"))).await;
    Ok(HttpResponse::Ok().json(schedule))
}

#[utoipa::path(
    delete, path = "/api/v1/schedules/{id}", tag = "schedules",
    params(("id" = i64, Path, description = "Schedule id", example = 1)),
    responses(
        (status = 204, description = "Deleted; its past scans stay"),
        (status = 404, description = "No such schedule", body = ErrorBody),
    )
)]
pub(super) async fn delete_schedule<B: Backend>(
    req: HttpRequest,
    caller: Caller,
    backend: web::Data<B>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    backend.delete_schedule(&caller, id).await?;
    audit_as(&**backend, &req, &caller, "schedule_delete", Some(format!("schedule {id}"))).await;
    Ok(HttpResponse::NoContent().finish())
}
