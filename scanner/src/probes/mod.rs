//! Follow-up probes: the exchanges that identification needs once a port is known open.
//!
//! - [`registry`](ProbeRegistry): which probes exist, what they send, which ports they go
//!   to first and how long they wait. It is data: adding a probe is adding an entry.
//! - [`exchange`](probe): one connection, one payload, a bounded read.
//! - [`host_limit`](HostLimiter): at most a few exchanges in flight per host.
//! - [`tls`](TlsInfo): the TLS handshake of the `tls` probe and the certificate it records.

mod exchange;
mod host_limit;
mod registry;
#[cfg(test)]
mod tests;
mod tls;

pub use exchange::{ProbeLimits, Response, probe};
pub use host_limit::{HostLimiter, HostPermit};
pub use registry::{Payload, ProbeRegistry, ServiceProbe};
pub use tls::{CertSummary, TlsInfo, summarize as summarize_certificate};
