//! Helpers shared by the integration tests.

pub(crate) mod lab;
pub(crate) mod sonde;
