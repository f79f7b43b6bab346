//! Helpers shared by the integration tests.

pub(crate) mod lab;
pub(crate) mod link_lab;
pub(crate) mod podman;
pub(crate) mod serve;
pub(crate) mod sonde;
pub(crate) mod store;
