//! Docker engines: what `sonde serve` last read of them, and reading them again on demand.

use actix_web::{HttpRequest, HttpResponse, web};

use super::accounts::audit_as;
use crate::api::{DockerView, ErrorBody};
use crate::{ApiError, Backend, Caller};

#[utoipa::path(
    get, path = "/api/v1/docker", tag = "docker",
    responses((
        status = 200,
        description = "Every configured Docker engine with its containers and networks",
        body = DockerView,
    ))
)]
pub(super) async fn docker<B: Backend>(
    _: Caller,
    backend: web::Data<B>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(backend.docker().await?))
}

#[utoipa::path(
    post, path = "/api/v1/docker/refresh", tag = "docker",
    responses(
        (status = 200, description = "Every endpoint was read again; what was read", body = DockerView),
        (status = 409, description = "No Docker endpoint is configured", body = ErrorBody),
    )
)]
pub(super) async fn refresh<B: Backend>(
    req: HttpRequest,
    caller: Caller,
    backend: web::Data<B>,
) -> Result<HttpResponse, ApiError> {
    let view = backend.refresh_docker(&caller).await?;
    audit_as(&**backend, &req, &caller, "docker_refresh", None).await;
    Ok(HttpResponse::Ok().json(view))
}
