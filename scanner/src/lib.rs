//! `sonde-scanner`: what to probe, in which order, how fast, and the engines that probe.
//!
//! It knows nothing of actors, stores or the web. The appliance and `sonde scan` drive it.
//!
//! # Layout
//! - [`TargetSet`]: IPv4 targets parsed from addresses, CIDRs, ranges, hostnames and files,
//!   minus exclusions ([`default_excludes`] covers reserved space).
//! - [`PortList`]: ports parsed from `22,80,8000-8100` or taken from [`PortList::top`].
//! - [`Permutation`]: a keyed pseudo-random bijection over `0..n`, computed, never stored.
//! - [`ScanPlan`]: targets x ports in permuted order; probe `i` is computed on demand.
//! - [`Pacer`]: a token bucket that holds a global probe rate.
//! - [`ConnectEngine`]: TCP-connect probing with bounded concurrency, timeouts and retries,
//!   on io_uring (connects batched with linked timeouts) or epoll ([`ConnectBackend`]).
//! - [`SynEngine`]: raw-socket SYN probing (needs `CAP_NET_RAW`): frames built in place by
//!   [`ProbeTemplate`], replies checked statelessly by [`ReplyValidator`] against a
//!   [`ReplyKey`], the way out found by [`NetPath::resolve`].
//! - [`ArpSweep`]: who answers ARP on an on-link subnet, as [`Neighbour`]s (address, MAC);
//!   [`MacAddr::vendor`] names the organisation behind a MAC from the IEEE registries.
//! - [`DockerInventory::fetch`]: containers (names, images, labels, published ports,
//!   networks), networks and the engine behind a [`DockerEndpoint`] (unix socket or TCP+TLS),
//!   through bollard; [`DockerError`] says what to fix when the engine cannot be read.
//! - [`read_banner`]: the first bytes a service sends after the handshake.
//! - [`ProbeRegistry`], [`probe`]: follow-up exchanges (NULL, HTTP, protocol probes) with
//!   bounded reads and timeouts; [`HostLimiter`] bounds them per host. The `tls` probe
//!   records the certificate ([`TlsInfo`], [`CertSummary`]) and speaks HTTP inside. Binary
//!   answers (MongoDB, RDP, SMB, LDAP, DNS, NTP, SNMP) become `name: value` lines through
//!   their probe's [`Decoder`]; [`probe_udp`] sends the UDP probes ([`UdpOutcome`]).
//! - [`Progress`]: lock-free counters shared with whoever reports progress.
//! - `fuzzing` (feature `fuzzing`): entry points for the fuzz targets in `scanner/fuzz`.
//! - [`check_io_uring`], [`check_io_uring_connect`]: whether io_uring, and the io_uring
//!   connect path, are usable here (reported by `sonde doctor`).
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use sonde_scanner::{ConnectConfig, ConnectEngine, PortList, Progress, ScanPlan, TargetSet};
//! let targets = TargetSet::parse(&["127.0.0.1".to_string()])?;
//! let plan = ScanPlan::new(targets, PortList::parse("22,80")?, 7);
//! let engine = ConnectEngine::new(ConnectConfig::default());
//! let (tx, mut rx) = tokio::sync::mpsc::channel(1024);
//! let progress = Progress::default();
//! let cancel = tokio_util::sync::CancellationToken::new();
//! tokio::spawn(async move { while let Some(f) = rx.recv().await { println!("{f:?}"); } });
//! engine.run(&plan, &progress, tx, cancel).await;
//! # Ok(()) }
//! ```

mod arp;
mod banner;
mod connect;
mod docker;
mod engine;
mod error;
mod finding;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
mod mac;
mod pacing;
mod permutation;
mod plan;
mod ports;
mod probes;
mod progress;
mod rdns;
mod syn;
mod targets;
mod top_ports;
mod uring;

pub use arp::sweep::{ArpConfig, ArpSweep, Neighbour};
pub use banner::{BannerConfig, read_banner};
pub use connect::{
    ActiveBackend, ConnectBackend, ConnectConfig, ConnectEngine, MAX_CONNECT_THREADS,
};
pub use docker::{
    ContainerAttachment, DockerContainer, DockerEndpoint, DockerEngine, DockerError,
    DockerInventory, DockerNetwork, DockerTls, MIN_API_VERSION as MIN_DOCKER_API_VERSION,
    PublishedPort,
};
pub use engine::{Engine, EngineChoice, EngineKind};
pub use error::{PortError, ScanError, TargetError};
pub use finding::{Finding, PortState, Proto};
pub use mac::addr::MacAddr;
pub use mac::render::{
    Assignment as MacAssignment, AssignmentError as MacAssignmentError,
    render as render_mac_registry,
};
pub use pacing::Pacer;
pub use permutation::Permutation;
pub use plan::{Probe, ScanPlan};
pub use ports::PortList;
pub use probes::{
    CertSummary, Decoder, HostLimiter, HostPermit, MAX_DECODED_VALUE, Payload, ProbeLimits,
    ProbeRegistry, Response, ServiceProbe, TlsInfo, UdpOutcome, probe, probe_udp,
    summarize_certificate,
};
pub use progress::{Progress, ProgressSnapshot};
pub use rdns::{RdnsConfig, RdnsError, ReverseResolver};
pub use syn::cookie::ReplyKey;
pub use syn::engine::{SynConfig, SynEngine};
pub use syn::frame::{FRAME_LEN, FrameAddrs, ProbeFields, ProbeTemplate};
pub use syn::route::{NetPath, PathOverrides};
pub use syn::socket::{SendPath, check_raw_sockets};
pub use syn::validate::{Reply, ReplyValidator};
pub use targets::{
    Ipv4Range, MAX_ADDRESSES_WITHOUT_CONFIRMATION, TargetSet, default_excludes, read_target_file,
};
pub use uring::{check_io_uring, check_io_uring_connect};
