//! The HTTP server.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::{App, HttpServer, web};

use crate::{Backend, LoginLimiter, configure, routes};

/// Worker threads: the API is light next to the scan, which needs the cores.
const WORKERS: usize = 2;

/// How long a graceful stop waits for open connections. Event streams only end when the
/// appliance closes its event bus, so this bounds how long they can delay a shutdown.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// Serves on `listener`, bound by the caller before anything else starts (so a taken port is
/// reported before the appliance spins up), and returns the server to await. With `tls` it
/// speaks only HTTPS on that listener; session cookies are then marked `Secure`.
///
/// The server ignores signals: the appliance handles them and stops the server through
/// [`Server::handle`].
pub fn server<B: Backend + Send + Sync>(
    backend: Arc<B>,
    listener: TcpListener,
    tls: Option<rustls::ServerConfig>,
) -> std::io::Result<Server> {
    let backend = web::Data::from(backend);
    let limiter = web::Data::new(LoginLimiter::new());
    let server = HttpServer::new(move || app(backend.clone(), limiter.clone()))
        .workers(WORKERS)
        .shutdown_timeout(SHUTDOWN_TIMEOUT.as_secs())
        .disable_signals();
    let server = match tls {
        Some(config) => server.listen_rustls_0_23(listener, config)?,
        None => server.listen(listener)?,
    };
    Ok(server.run())
}

/// The app every worker runs; tests drive it without a socket.
pub(crate) fn app<B: Backend>(
    backend: web::Data<B>,
    limiter: web::Data<LoginLimiter>,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    // `configure`'s routes carry the headers already; this covers the app's own 404s.
    App::new().wrap(routes::security_headers()).configure(|cfg| configure(cfg, backend, limiter))
}
