//! The HTTP server.

use std::net::SocketAddr;
use std::sync::Arc;

use actix_web::dev::Server;

use crate::Backend;

/// Binds `listen` now (so a taken port is reported at once) and returns the server to await.
pub fn server<B: Backend + Send + Sync>(backend: Arc<B>, listen: SocketAddr) -> std::io::Result<Server> {
    let _ = (backend, listen);
    todo!("server")
}
