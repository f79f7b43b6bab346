//! Several appliances on one PostgreSQL store.
//!
//! Each appliance registers itself (name, reachable networks, capabilities) and heartbeats.
//! A scan queued on any of them is cut into chunks stored beside it ([`chunks`]); every
//! appliance's [`worker`] leases chunks it may reach, runs them through its own Supervisor,
//! renews its leases while they run, and its Persister records each chunk's checkpoint and
//! releases it once its results are stored. A chunk whose holder dies is leased again after
//! its deadline, from its checkpoint. Results are idempotent (one row per scan, address and
//! port), so work done twice is stored once. Events travel between appliances over
//! LISTEN/NOTIFY ([`relay`]), so every console shows the whole scan live.
//!
//! On SQLite none of this runs: one appliance scans as it always did.

pub mod chunks;
mod config;
pub mod relay;
pub mod worker;

pub use config::{ClusterConfig, ClusterSettings};
