//! The appliances sharing the store.

use actix_web::{HttpResponse, web};

use crate::api::ApplianceView;
use crate::{ApiError, Backend, Caller};

#[utoipa::path(
    get, path = "/api/v1/appliances", tag = "fleet",
    description = "The appliances sharing this store (PostgreSQL), by name: what they reach, \
        what they can do, whether they are alive and how many chunks of shared scans they hold. \
        An appliance on a store of its own (SQLite) lists itself.",
    responses((
        status = 200,
        description = "Every registered appliance",
        body = Vec<ApplianceView>,
        example = json!([{
            "name": "central",
            "reach": ["0.0.0.0/0"],
            "exclusive": [],
            "raw_sockets": true,
            "io_uring": true,
            "version": "0.1.0",
            "started_at": "2026-11-26T09:00:00.000Z",
            "heartbeat_at": "2026-11-26T10:00:00.250Z",
            "alive": true,
            "leased_chunks": 4
        }, {
            "name": "dmz-1",
            "reach": ["192.0.2.0/24"],
            "exclusive": ["192.0.2.0/24"],
            "raw_sockets": false,
            "io_uring": true,
            "version": "0.1.0",
            "started_at": "2026-11-26T08:00:00.000Z",
            "heartbeat_at": "2026-11-26T09:12:41.000Z",
            "alive": false,
            "leased_chunks": 0
        }]),
    ))
)]
pub(super) async fn appliances<B: Backend>(
    _: Caller,
    backend: web::Data<B>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(backend.appliances().await?))
}
