//! Docker discovery inside `sonde serve`: every configured endpoint (`[docker] endpoints`) is
//! read at start, every `[docker] interval_secs`, and on `POST /api/v1/docker/refresh`.
//!
//! - `poller`: the task that reads the engines, stores what they run (the engine host, its
//!   containers, its networks as subnets), publishes `container_changed` events, and hands
//!   [`DockerRefresh`] to the web layer.
//! - `targets`: which addresses and ports of an engine go to identification.
//!
//! Identification queues an ordinary scan of the published ports (and, for an engine on this
//! machine, of the containers' own addresses) rather than feeding the Prober directly: a scan
//! goes through the exclude list and the rate cap, shows in the scan list, can be cancelled,
//! and its results get the same history and change records as any other host's. A scan is
//! queued only when the set to identify changed since the last one of that engine, so a
//! steady engine costs one scan, not one per read.

mod poller;
mod targets;

pub use poller::{DockerRefresh, Sinks, engine_address, run};
pub use targets::{IdentificationScan, identification_scan};
