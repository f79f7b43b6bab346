//! The UDP part of `sonde scan --udp-ports`: the shared sweep ([`crate::udp_sweep`]) with
//! each open port identified as it answers, reported in address then port order.

use sonde_matcher::{Identifier, ServiceMatch};
use sonde_scanner::{Finding, PortList, Progress, TargetSet};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::probing::identify_one;
use crate::udp_sweep::{self, PER_HOST};

/// How a UDP sweep runs.
#[derive(Debug, Clone)]
pub(crate) struct UdpSweep {
    /// The UDP ports.
    pub(crate) ports: PortList,
    /// Probes per second, all ports together (0 = unlimited).
    pub(crate) rate: u64,
    /// Probes in flight at most.
    pub(crate) concurrency: usize,
    /// The scan's compiled signatures (built-ins and `signatures_dirs`); `None` with
    /// `--no-identify`.
    pub(crate) identifier: Option<Identifier>,
}

/// What a UDP sweep found: open ports with their identification, and the counts of the rest.
#[derive(Debug, Default)]
pub(crate) struct UdpReport {
    pub(crate) open: Vec<(Finding, Option<ServiceMatch>)>,
    pub(crate) closed: u64,
    pub(crate) open_filtered: u64,
    pub(crate) sent: u64,
}

/// Probes every (address, port) of `targets` x `sweep.ports` through the sweep `sonde serve`
/// uses too; stops early on `cancel`. Open ports come back in address, then port order.
pub(crate) async fn sweep(
    targets: &TargetSet,
    sweep: &UdpSweep,
    cancel: &CancellationToken,
) -> UdpReport {
    let config = udp_sweep::UdpSweep {
        ports: sweep.ports.clone(),
        rate: sweep.rate,
        concurrency: sweep.concurrency,
        per_host: PER_HOST,
    };
    let (tx, mut rx) = mpsc::channel::<udp_sweep::UdpOpen>(256);
    let progress = Progress::default();
    let identifier = sweep.identifier.as_ref();
    let collect = async {
        let mut open = Vec::new();
        while let Some(found) = rx.recv().await {
            let port = found.finding.port;
            let service = identifier.and_then(|id| identify_one(id, port, &[found.response]));
            open.push((found.finding, service));
        }
        open
    };
    let (counts, mut open) =
        tokio::join!(udp_sweep::sweep(targets, &config, &progress, cancel, tx), collect);
    open.sort_by_key(|(f, _)| (f.ip, f.port));
    UdpReport {
        open,
        closed: counts.closed,
        open_filtered: counts.open_filtered,
        sent: counts.sent,
    }
}

#[cfg(test)]
mod tests {
    use sonde_scanner::{PortState, Proto};

    use super::*;
    use crate::udp_sweep::fixture::loopback_ports;

    /// A loopback service that answers any datagram, one closed port and one silent one:
    /// only the answering port is reported, as UDP. (Ports with a probe of their own, such as
    /// DNS on 53, are identified in the lab test, which may bind them.)
    #[tokio::test]
    async fn udp_sweep_reports_answering_ports_only() {
        let (echo_port, closed, silent) = loopback_ports().await;
        let silent_port = silent.local_addr().unwrap().port();
        let targets = TargetSet::parse(&["127.0.0.1".to_string()]).unwrap();
        let ports = PortList::from_ports([echo_port, closed, silent_port]);
        let config =
            UdpSweep { ports, rate: 1000, concurrency: 8, identifier: Some(Identifier::builtin()) };
        let report = sweep(&targets, &config, &CancellationToken::new()).await;
        drop(silent);
        assert_eq!((report.sent, report.closed, report.open_filtered), (3, 1, 1), "{report:?}");
        let [(finding, service)] = report.open.as_slice() else { panic!("{report:?}") };
        assert_eq!(
            (finding.port, finding.proto, finding.state),
            (echo_port, Proto::Udp, PortState::Open)
        );
        assert!(
            service.is_none(),
            "an unknown answer on an unknown port names nothing: {service:?}"
        );
    }
}
