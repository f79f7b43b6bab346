//! The actor system of `sonde serve`.
//!
//! ```text
//! Supervisor ──spawns──> SubnetScanner (one per subnet) ──ProbePorts──> Prober
//!     │                        │ PersistHosts (on-link hosts found by ARP)   │ IdentifyPorts
//!     │ MarkRunning, StoreCounters                                        ▼
//!     └──────────────────────────────> Persister <──PersistPorts── Matcher (rayon pool)
//!                                          │ events
//!                                          ▼
//!                                       EventBus ──> SSE clients
//! ```
//!
//! Each actor is a thin shell over a plain state struct tested without a running system.
//! Hot paths carry batches. A scan ends with a message that travels the same path as
//! its results (`persister::FinishScan`), so it reaches the Persister after every batch of that
//! scan.
//!
//! Mailbox bounds (messages, each a batch):
//! - Prober: [`PROBER_MAILBOX`]; SubnetScanners `send().await` into it, so a slow prober slows
//!   the scan instead of buffering without limit.
//! - Matcher: [`MATCHER_MAILBOX`]; the Prober `try_send`s and keeps what does not fit for its
//!   next tick, in order.
//! - Persister: [`PERSISTER_MAILBOX`]; the Matcher handles one batch at a time and awaits
//!   `send()`, so a slow disk holds the whole pipeline back rather than losing or buffering
//!   results.
//! - Supervisor: actix's default (16); it receives commands and one message per finished
//!   subnet.

mod event_bus;
mod matcher;
mod persister;
mod prober;
mod rate;
mod subnet_scanner;
mod supervisor;

pub use event_bus::EventBus;
pub use matcher::Matcher;
pub use persister::{
    ChunkMark, CreateScan, DEFAULT_CHUNK_ATTEMPTS, FinishScan, PersistHosts, Persister,
};
pub use prober::Prober;
pub(crate) use rate::RateMeter;
pub(crate) use supervisor::{CHUNK_COMPLETED, CHUNK_STOPPED, PROGRESS_EVERY, subnet_seed};
pub use supervisor::{
    CancelOutcome, CancelScan, ChunkJob, ScanJob, StartScan, StartScanWithUdp, Supervisor,
    SupervisorConfig,
};

/// Bound of the Prober's mailbox.
pub const PROBER_MAILBOX: usize = 64;
/// Bound of the Matcher's mailbox.
pub const MATCHER_MAILBOX: usize = 64;
/// Bound of the Persister's mailbox.
pub const PERSISTER_MAILBOX: usize = 64;
/// Open ports per batch on the path to the store.
pub const BATCH: usize = 256;
