//! The appliance's settings: read by everyone signed in, changed by admins.

use actix_web::{HttpRequest, HttpResponse, web};

use super::accounts::audit_as;
use crate::api::SettingsUpdate;
use crate::{ApiError, Backend, Caller};

pub(super) async fn settings<B: Backend>(
    _: Caller,
    backend: web::Data<B>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(backend.settings().await?))
}

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
