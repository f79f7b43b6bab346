//! The routes of `/api/v1` and the console page.
//!
//! [`table`] is the one list of API routes, each with the least role it needs; the
//! [`access`] middleware enforces it, so a route cannot be mounted without saying who may
//! call it. [`openapi`] documents them from the handlers' attributes and the table.

mod access;
mod accounts;
mod discovery;
mod docker;
mod fleet;
mod openapi;
mod scans;
mod settings;
mod table;

pub use table::configure;
pub(crate) use table::security_headers;
#[cfg(test)]
pub(crate) use {
    access::{Access, CSRF_HEADER},
    openapi::{API_PREFIX, document},
    table::table,
};
