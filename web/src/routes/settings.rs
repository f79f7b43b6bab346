//! The appliance's settings: read by everyone signed in, changed by admins.

use actix_web::{HttpRequest, HttpResponse, web};

use super::accounts::audit_as;
use crate::api::{ErrorBody, Settings, SettingsUpdate};
use crate::{ApiError, Backend, Caller};

#[utoipa::path(
    get, path = "/api/v1/settings", tag = "settings",
    responses((status = 200, description = "The appliance's settings", body = Settings))
)]
pub(super) async fn settings<B: Backend>(
    _: Caller,
    backend: web::Data<B>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(backend.settings().await?))
}

#[utoipa::path(
    put, path = "/api/v1/settings", tag = "settings",
    request_body(
        content = SettingsUpdate,
        example = json!({"exclude": ["192.0.2.0/24"], "default_rate": 1000, "rate_cap": 10000})
    ),
    responses(
        (status = 200, description = "The settings as stored", body = Settings),
        (status = 400, description = "A value is out of range or unparsable", body = ErrorBody),
    )
)]
pub(super) async fn update_settings<B: Backend>(
    req: HttpRequest,
    caller: Caller,
    backend: web::Data<B>,
    update: web::Json<SettingsUpdate>,
) -> Result<HttpResponse, ApiError> {
    let settings = backend.update_settings(update.into_inner()).await?;
    audit_as(&**backend, &req, &caller, "settings_update", None).await;
    Ok(HttpResponse::Ok().json(settings))
}
