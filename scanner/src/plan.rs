//! A scan plan: which (address, port) pairs, in which order.

use std::net::Ipv4Addr;

use crate::{Permutation, PortList, TargetSet};

/// One (address, port) pair to probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Probe {
    /// Target address.
    pub ip: Ipv4Addr,
    /// Target port.
    pub port: u16,
}

/// Targets x ports walked in a keyed random order so that no host or subnet is hit in bursts.
#[derive(Debug, Clone)]
pub struct ScanPlan {
    targets: TargetSet,
    ports: PortList,
    seed: u64,
    permutation: Permutation,
}

impl ScanPlan {
    /// A plan over every pair of `targets` x `ports`, ordered by `seed`.
    pub fn new(targets: TargetSet, ports: PortList, seed: u64) -> Self {
        let permutation = Permutation::new(targets.len() * ports.len() as u64, seed);
        Self { targets, ports, seed, permutation }
    }
    /// Number of probes (pairs).
    pub fn len(&self) -> u64 {
        self.permutation.len()
    }
    /// True when there is nothing to probe.
    pub fn is_empty(&self) -> bool {
        self.permutation.is_empty()
    }
    /// The `i`-th probe in scan order (`i < len()`).
    pub fn probe(&self, i: u64) -> Probe {
        let _ = i;
        todo!()
    }
    /// Probes `range` in scan order, computed lazily.
    pub fn iter(&self, range: std::ops::Range<u64>) -> impl Iterator<Item = Probe> + '_ {
        range.map(|i| self.probe(i))
    }
    /// The targets.
    pub fn targets(&self) -> &TargetSet {
        &self.targets
    }
    /// The ports.
    pub fn ports(&self) -> &PortList {
        &self.ports
    }
    /// The seed of the order.
    pub fn seed(&self) -> u64 {
        self.seed
    }
}
