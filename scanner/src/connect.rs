//! The TCP-connect engine: no privilege needed, works on loopback, used as the fallback.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::{Finding, Pacer, Progress, ScanPlan};

/// Settings of the connect engine.
#[derive(Debug, Clone)]
pub struct ConnectConfig {
    /// Connections in flight at most.
    pub concurrency: usize,
    /// How long one attempt may wait for the handshake.
    pub timeout: Duration,
    /// Extra attempts after a timeout (a reset is an answer and is not retried).
    pub retries: u8,
    /// Probes per second (0 = unlimited).
    pub rate: u64,
}

impl Default for ConnectConfig {
    fn default() -> Self {
        Self { concurrency: 1024, timeout: Duration::from_millis(1000), retries: 1, rate: 10_000 }
    }
}

/// TCP-connect probing. Clones share the rate budget and the concurrency limit, so several
/// subnet scanners can draw from one global budget.
#[derive(Debug, Clone)]
pub struct ConnectEngine {
    config: ConnectConfig,
    pacer: Arc<Pacer>,
}

impl ConnectEngine {
    /// An engine with its own budget.
    pub fn new(config: ConnectConfig) -> Self {
        let pacer = Arc::new(Pacer::new(config.rate));
        Self { config, pacer }
    }
    /// The settings.
    pub fn config(&self) -> &ConnectConfig {
        &self.config
    }
    /// Probes every pair of `plan` in order, sends each open port to `findings` as soon as it
    /// is found, and returns when all are done or `cancel` fires. Counters go to `progress`.
    /// A closed `findings` channel stops the scan like a cancel.
    pub async fn run(
        &self,
        plan: &ScanPlan,
        progress: &Progress,
        findings: mpsc::Sender<Finding>,
        cancel: CancellationToken,
    ) {
        let _ = (plan, progress, findings, cancel);
        todo!()
    }
}
