//! Identification for `sonde scan`: each open port gets the Prober's probes and the matcher,
//! with a global and a per-host bound on ports in flight. Results come back tagged with the
//! order their findings arrived in, so a resume file is saved only once every port it covers
//! is printed.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;

use sonde_matcher::{Identifier, ServiceMatch};
use sonde_scanner::{BannerConfig, Finding, HostLimiter, ProbeRegistry};
use tokio::sync::{Semaphore, mpsc};

use crate::probing::{examine, identify_one};

/// Exchanges in flight with one host at most, as in the Prober.
const PER_HOST: usize = 4;

/// An open port and what identification made of it.
#[derive(Debug)]
pub(crate) struct Identified {
    /// Arrival order of the finding.
    pub(crate) seq: u64,
    pub(crate) finding: Finding,
    pub(crate) service: Option<ServiceMatch>,
}

/// Starts identifications and tracks which are still running.
#[derive(Debug)]
pub(crate) struct ScanIdentifier {
    registry: Arc<ProbeRegistry>,
    identifier: Identifier,
    /// Bounds ports being identified; a task waits for a permit before its first probe.
    limit: Arc<Semaphore>,
    hosts: Arc<HostLimiter>,
    banner: BannerConfig,
    results: mpsc::UnboundedSender<Identified>,
    next_seq: u64,
    in_flight: BTreeSet<u64>,
}

impl ScanIdentifier {
    /// At most `concurrency` ports at once, named by `identifier`; results arrive on the
    /// returned receiver.
    pub(crate) fn new(
        concurrency: usize,
        identifier: Identifier,
    ) -> (Self, mpsc::UnboundedReceiver<Identified>) {
        let (results, rx) = mpsc::unbounded_channel();
        let this = Self {
            registry: Arc::new(ProbeRegistry::builtin()),
            identifier,
            limit: Arc::new(Semaphore::new(concurrency.max(1))),
            hosts: HostLimiter::new(PER_HOST),
            banner: BannerConfig::default(),
            results,
            next_seq: 0,
            in_flight: BTreeSet::new(),
        };
        (this, rx)
    }

    /// Starts identifying `finding`; returns its arrival number.
    pub(crate) fn start(&mut self, finding: Finding) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.in_flight.insert(seq);
        let (registry, identifier) = (self.registry.clone(), self.identifier.clone());
        let (limit, hosts, banner) = (self.limit.clone(), self.hosts.clone(), self.banner);
        let results = self.results.clone();
        tokio::spawn(async move {
            // The semaphore is never closed; without a permit the port is still reported.
            let permit = limit.acquire_owned().await.ok();
            let addr = SocketAddr::from((finding.ip, finding.port));
            let host = hosts.acquire(addr.ip()).await;
            let responses = examine(addr, &registry, &identifier, banner).await;
            drop((host, permit));
            let service = identify_one(&identifier, finding.port, &responses);
            // The receiver outlives every task unless the scan is failing; nothing to do then.
            let _ = results.send(Identified { seq, finding, service });
        });
        seq
    }

    /// Marks a result as received.
    pub(crate) fn done(&mut self, seq: u64) {
        self.in_flight.remove(&seq);
    }

    /// Identifications running.
    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Whether every finding that arrived before number `seq` has its result.
    pub(crate) fn settled_before(&self, seq: u64) -> bool {
        self.in_flight.first().is_none_or(|&first| first >= seq)
    }

    /// The number the next finding will get.
    pub(crate) fn next_seq(&self) -> u64 {
        self.next_seq
    }
}
