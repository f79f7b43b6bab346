//! Follow-up probes: the exchanges that identification needs once a port is known open.
//!
//! - [`registry`](ProbeRegistry): which probes exist, what they send, which ports they go
//!   to first and how long they wait. It is data: adding a probe is adding an entry.
//! - [`exchange`](probe): one connection, one payload (or a fixed sequence of requests, each
//!   after the answer before), a bounded read.
//! - [`host_limit`](HostLimiter): at most a few exchanges in flight per host.
//! - [`tls`](TlsInfo): the TLS handshake of the `tls` probe and the certificate it records.
//! - [`decode`](Decoder): binary answers (MongoDB, RDP, SMB, LDAP, DNS, NTP, SNMP) become
//!   `name: value` lines.
//! - [`udp`](probe_udp): one datagram out, one back; open, closed or open|filtered.

mod decode;
mod exchange;
mod host_limit;
mod registry;
#[cfg(test)]
mod tests;
mod tls;
mod udp;

pub use decode::{Decoder, MAX_VALUE as MAX_DECODED_VALUE};
pub use exchange::{ProbeLimits, Response, probe};
pub use host_limit::{HostLimiter, HostPermit};
pub use registry::{Payload, ProbeRegistry, ServiceProbe};
pub use tls::{CertSummary, TlsInfo, summarize as summarize_certificate};
pub use udp::{UdpOutcome, probe_udp};
