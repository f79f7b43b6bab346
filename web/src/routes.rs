//! Routes of `/api/v1` and the console page.

use actix_web::web;

use crate::Backend;

/// Mounts every route on an actix `App`, with `backend` as the shared state.
pub fn configure<B: Backend>(cfg: &mut web::ServiceConfig, backend: web::Data<B>) {
    let _ = (cfg, backend);
    todo!("routes")
}
