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
    ///
    /// # Panics
    /// When `i >= len()`.
    #[inline]
    pub fn probe(&self, i: u64) -> Probe {
        let x = self.permutation.nth(i);
        let hosts = self.targets.len();
        // Host-major in the permuted space: consecutive probes land on different hosts, and a
        // host's ports are spread over the whole scan.
        let (host, port) = (x % hosts, x / hosts);
        Probe { ip: self.targets.addr_at(host), port: self.ports.as_slice()[port as usize] }
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
    /// The indexes shard `index` of `count` walks (`1 <= index <= count`): a contiguous range
    /// of the permuted order, so each shard still touches every subnet evenly. The shards of
    /// one seed are disjoint and together cover `0..len()`.
    ///
    /// # Panics
    /// When `index` is 0 or above `count`.
    pub fn shard_range(&self, index: u64, count: u64) -> std::ops::Range<u64> {
        assert!((1..=count).contains(&index), "shard {index}/{count} does not exist");
        let len = u128::from(self.len());
        let bound = |k: u64| (len * u128::from(k) / u128::from(count)) as u64;
        bound(index - 1)..bound(index)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use super::*;

    fn plan(targets: &str, ports: &str, seed: u64) -> ScanPlan {
        let targets = TargetSet::parse(&[targets.to_string()]).unwrap();
        ScanPlan::new(targets, PortList::parse(ports).unwrap(), seed)
    }

    #[test]
    fn covers_every_pair_exactly_once() {
        let cases = [
            ("192.0.2.1", "22"),
            ("192.0.2.1", "22,80,443"),
            ("192.0.2.0/24", "22"),
            ("192.0.2.0/28", "1-100"),
            ("192.0.2.0/30 192.0.2.9 192.0.2.200-210", "22,80,8000-8010"),
        ];
        for (targets, ports) in cases {
            let plan = plan(targets, ports, 11);
            assert_eq!(plan.len(), plan.targets().len() * plan.ports().len() as u64);
            let seen: HashSet<Probe> = plan.iter(0..plan.len()).collect();
            assert_eq!(seen.len() as u64, plan.len(), "{targets} x {ports}");
            for probe in &seen {
                assert!(plan.targets().contains(probe.ip));
                assert!(plan.ports().as_slice().contains(&probe.port));
            }
        }
    }

    #[test]
    fn consecutive_probes_spread_over_hosts() {
        let plan = plan("192.0.2.0/24", "1-1000", 3);
        // No host should see more than a handful of the first 256 probes.
        let mut per_host: HashMap<_, u32> = HashMap::new();
        for probe in plan.iter(0..256) {
            *per_host.entry(probe.ip).or_default() += 1;
        }
        assert!(per_host.values().all(|&n| n <= 6), "{per_host:?}");
        assert!(per_host.len() > 128, "only {} hosts in 256 probes", per_host.len());
    }

    #[test]
    fn the_seed_is_kept_and_orders_the_walk() {
        let a = plan("192.0.2.0/26", "22,80", 1);
        let b = plan("192.0.2.0/26", "22,80", 2);
        assert_eq!(a.seed(), 1);
        let walk = |p: &ScanPlan| p.iter(0..p.len()).collect::<Vec<_>>();
        assert_eq!(walk(&a), walk(&a.clone()));
        assert_ne!(walk(&a), walk(&b));
    }

    #[test]
    fn iter_takes_any_window() {
        let plan = plan("192.0.2.0/29", "22,80", 5);
        let all: Vec<Probe> = plan.iter(0..plan.len()).collect();
        let window: Vec<Probe> = plan.iter(4..9).collect();
        assert_eq!(window, all[4..9]);
        assert_eq!(plan.iter(3..3).count(), 0);
    }

    #[test]
    fn shards_cover_the_plan_exactly_once() {
        for (targets, ports, count) in
            [("192.0.2.0/28", "1-10", 3), ("192.0.2.1", "22", 4), ("192.0.2.0/30", "22,80", 1)]
        {
            let plan = plan(targets, ports, 9);
            let mut seen = HashSet::new();
            let mut total = 0;
            for index in 1..=count {
                for probe in plan.iter(plan.shard_range(index, count)) {
                    total += 1;
                    assert!(seen.insert(probe), "{probe:?} twice");
                }
            }
            assert_eq!(total, plan.len());
            assert_eq!(seen, plan.iter(0..plan.len()).collect::<HashSet<_>>());
        }
    }

    #[test]
    fn empty_plans() {
        let none = ScanPlan::new(TargetSet::default(), PortList::parse("22").unwrap(), 1);
        assert!(none.is_empty());
        assert_eq!(none.iter(0..none.len()).count(), 0);
        let no_ports =
            ScanPlan::new(plan("192.0.2.1", "22", 1).targets().clone(), PortList::default(), 1);
        assert!(no_ports.is_empty());
    }
}
