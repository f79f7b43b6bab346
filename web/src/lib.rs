//! `sonde-web`: the HTTP face of Sonde.
//!
//! It serves the REST API under `/api/v1`, the server-sent event stream at `/api/v1/events`
//! and the console at `/`. It knows nothing of actors or of the store: the appliance provides a
//! [`Backend`], and tests provide a fake one.
//!
//! # Layout
//! - [`api`]: the JSON types of requests, responses and events (the API contract).
//! - [`stats`]: the aggregates behind the console's charts.
//! - the console (`web/ui`), built by `build.rs` and compiled in, served at `/`.
//! - [`Backend`]: what the web layer asks of the appliance.
//! - [`ApiError`]: domain errors, mapped to HTTP status and a JSON body in one place.
//! - Every API route is declared once, with the least [`api::Role`] it needs, in a route
//!   table; a middleware authenticates each request (session cookie or API token), checks
//!   CSRF on cookie requests that change state, and checks the role. [`LoginLimiter`] slows
//!   down password guessing.
//! - [`server()`] serves on a bound listener; [`configure`] mounts the routes on any actix `App`.
//!
//! ```no_run
//! # async fn run<B: sonde_web::Backend + Send + Sync>(backend: std::sync::Arc<B>) -> std::io::Result<()> {
//! let listener = std::net::TcpListener::bind("127.0.0.1:8080")?;
//! let server = sonde_web::server(backend, listener, None)?;
//! server.await
//! # }
//! ```

#![forbid(unsafe_code)]

pub mod api;
mod backend;
mod console;
mod error;
mod limiter;
mod routes;
mod server;
mod sse;
pub mod stats;
#[cfg(test)]
mod tests;

pub use backend::{AuditRecord, AuthMethod, Backend, Caller, NewSession, Subscription};
pub use error::ApiError;
pub use limiter::LoginLimiter;
pub use routes::configure;
pub use server::server;
