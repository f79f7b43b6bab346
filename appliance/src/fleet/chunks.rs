//! Cutting a shared scan into chunks, and which appliance may lease which.
//!
//! A chunk is one subnet of the scan (`[scan] subnet_prefix`, a /24 by default) walked in its
//! own seeded order, as a single appliance walks its subnets. Subnets rather than ranges of
//! the scan's permutation, for two reasons: a subnet lies inside a network or not, so a chunk
//! goes only to appliances that reach it (a permutation range mixes every network); and a
//! subnet's own order gives a checkpoint that is one index (`settled_below`), so a chunk
//! taken over after its holder died resumes where that holder's stored results end.

use sonde_scanner::{EngineKind, PortList, TargetSet};

use super::config::networks;
use crate::actors::subnet_seed;
use crate::store::{ApplianceRecord, LeaseFilter, NewChunk};

/// What one appliance may scan: inside `reach` or `exclusive`, and nothing another appliance
/// holds exclusively unless it holds it too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reach {
    /// Networks it can reach.
    pub reach: Vec<(u32, u32)>,
    /// Networks only it (and others listing them) may scan.
    pub exclusive: Vec<(u32, u32)>,
}

impl Reach {
    /// The reach an appliance registered; networks that no longer parse count as none.
    pub fn of(record: &ApplianceRecord) -> Self {
        Self {
            reach: networks(&record.reach).unwrap_or_default(),
            exclusive: networks(&record.exclusive).unwrap_or_default(),
        }
    }

    /// The store's filter for this appliance among `others` (itself may be among them).
    pub fn filter(&self, others: &[Reach]) -> LeaseFilter {
        let allowed = self.reach.iter().chain(&self.exclusive).copied().collect();
        let forbidden = others
            .iter()
            .flat_map(|o| o.exclusive.iter().copied())
            .filter(|&e| !self.exclusive.iter().any(|&m| inside(e, m)))
            .collect();
        LeaseFilter { allowed, forbidden }
    }
}

/// Whether `filter` lets its appliance lease a chunk spanning `chunk`: the same test as the
/// store's lease query.
pub fn may_lease(filter: &LeaseFilter, chunk: (u32, u32)) -> bool {
    filter.allowed.iter().any(|&a| inside(chunk, a))
        && !filter.forbidden.iter().any(|&f| chunk.0 <= f.1 && chunk.1 >= f.0)
}

/// The chunks (as address spans) that none of `appliances` may lease.
pub fn unreachable(chunks: &[NewChunk], appliances: &[ApplianceRecord]) -> Vec<(u32, u32)> {
    let reaches: Vec<Reach> = appliances.iter().map(Reach::of).collect();
    let filters: Vec<LeaseFilter> = reaches.iter().map(|r| r.filter(&reaches)).collect();
    chunks.iter().map(span).filter(|&s| !filters.iter().any(|f| may_lease(f, s))).collect()
}

/// The chunks of a scan: one per `/prefix` subnet of `targets`, each with its own seed.
pub fn cut(
    targets: &TargetSet,
    ports: &PortList,
    seed: u64,
    rate: u64,
    engine: Option<EngineKind>,
    prefix: u8,
) -> Vec<NewChunk> {
    targets
        .split_by_prefix(prefix)
        .into_iter()
        .enumerate()
        .map(|(index, subnet)| NewChunk {
            ranges: subnet
                .ranges()
                .iter()
                .map(|r| (u32::from(r.first), u32::from(r.last)))
                .collect(),
            ports: ports.to_spec(),
            seed: subnet_seed(seed, index),
            // Each appliance sends at most the scan's rate: the scan runs faster with more.
            rate,
            engine: engine.map(|kind| engine_name(kind).to_owned()),
            probes_total: subnet.len() * ports.len() as u64,
        })
        .collect()
}

/// The chunk's targets again.
pub fn targets_of(ranges: &[(u32, u32)]) -> TargetSet {
    TargetSet::from_ranges(
        ranges.iter().map(|&(first, last)| sonde_scanner::Ipv4Range {
            first: first.into(),
            last: last.into(),
        }),
    )
}

/// `a-b` for people.
pub fn describe(span: (u32, u32)) -> String {
    let (a, b) = (std::net::Ipv4Addr::from(span.0), std::net::Ipv4Addr::from(span.1));
    if a == b { a.to_string() } else { format!("{a}-{b}") }
}

/// The name `EngineKind::from_str` reads back.
fn engine_name(kind: EngineKind) -> &'static str {
    match kind {
        EngineKind::Auto => "auto",
        EngineKind::Connect => "connect",
        EngineKind::Syn => "syn",
    }
}

fn span(chunk: &NewChunk) -> (u32, u32) {
    (chunk.ranges.first().map_or(0, |r| r.0), chunk.ranges.last().map_or(0, |r| r.1))
}

fn inside(inner: (u32, u32), outer: (u32, u32)) -> bool {
    inner.0 >= outer.0 && inner.1 <= outer.1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn appliance(name: &str, reach: &[&str], exclusive: &[&str]) -> ApplianceRecord {
        ApplianceRecord {
            name: name.into(),
            reach: reach.iter().map(|s| s.to_string()).collect(),
            exclusive: exclusive.iter().map(|s| s.to_string()).collect(),
            raw_sockets: false,
            io_uring: false,
            version: "1".into(),
            heartbeat_at: String::new(),
        }
    }

    fn chunks(spec: &str) -> Vec<NewChunk> {
        let targets = TargetSet::parse(&[spec.to_owned()]).unwrap();
        cut(&targets, &PortList::parse("22,80").unwrap(), 7, 100, None, 24)
    }

    #[test]
    fn a_scan_is_cut_into_subnets_with_their_own_seeds() {
        let c = chunks("10.1.0.0/23");
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].ranges, vec![(0x0a01_0000, 0x0a01_00ff)]);
        assert_eq!(c[1].probes_total, 512);
        assert_ne!(c[0].seed, c[1].seed);
        assert_eq!(targets_of(&c[1].ranges).len(), 256);
    }

    #[test]
    fn exclusive_networks_go_to_their_sensor_only() {
        let central = appliance("central", &["0.0.0.0/0"], &[]);
        let dmz = appliance("dmz", &["192.0.2.0/24"], &["192.0.2.0/24"]);
        let all = [Reach::of(&central), Reach::of(&dmz)];
        let (fc, fd) = (all[0].filter(&all), all[1].filter(&all));
        let dmz_chunk = (0xc000_0200, 0xc000_02ff);
        let inner = (0x0a00_0000, 0x0a00_00ff);
        assert!(!may_lease(&fc, dmz_chunk) && may_lease(&fd, dmz_chunk));
        assert!(may_lease(&fc, inner) && !may_lease(&fd, inner));
        assert!(unreachable(&chunks("192.0.2.0/24"), &[central, dmz]).is_empty());
        // Without the sensor, a central box that cannot reach the DMZ leaves it unscanned.
        let inside_only = appliance("central", &["10.0.0.0/8"], &[]);
        let lost = unreachable(&chunks("192.0.2.0/24"), &[inside_only]);
        assert_eq!(
            lost.iter().map(|&s| describe(s)).collect::<Vec<_>>(),
            ["192.0.2.0-192.0.2.255"]
        );
        assert_eq!(unreachable(&chunks("10.0.0.0/24"), &[]).len(), 1, "no appliance, no reach");
    }
}
