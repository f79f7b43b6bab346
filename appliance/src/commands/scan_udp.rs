//! The UDP part of `sonde scan --udp-ports`: every target address gets one probe per UDP
//! port (the port's own probe, DNS, NTP or SNMP, else an empty datagram), paced at the scan's
//! rate and bounded by its concurrency. A port is open when a datagram comes back; ICMP port
//! unreachable (closed) and silence (open|filtered) are counted, not reported.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sonde_matcher::{Identifier, ServiceMatch};
use sonde_scanner::{
    Finding, Pacer, PortList, PortState, ProbeRegistry, Proto, TargetSet, UdpOutcome, probe_udp,
};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::probing::identify_one;

/// Sends per probe: UDP loses datagrams, and one resend costs little next to a missed port.
const ATTEMPTS: u32 = 2;

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

/// Probes every (address, port) of `targets` x `sweep.ports`; stops early on `cancel`.
/// Open ports come back in address, then port order.
pub(crate) async fn sweep(
    targets: &TargetSet,
    sweep: &UdpSweep,
    cancel: &CancellationToken,
) -> UdpReport {
    let registry = Arc::new(ProbeRegistry::builtin());
    let identifier = sweep.identifier.clone();
    let pacer = Arc::new(Pacer::new(sweep.rate));
    let limit = Arc::new(Semaphore::new(sweep.concurrency.max(1)));
    let mut tasks = JoinSet::new();
    let mut report = UdpReport::default();
    'outer: for i in 0..targets.len() {
        let Some(ip) = targets.nth(i) else { break };
        for &port in sweep.ports.as_slice() {
            let permit = tokio::select! {
                permit = limit.clone().acquire_owned() => permit,
                () = cancel.cancelled() => break 'outer,
            };
            // The semaphore is never closed.
            let Ok(permit) = permit else { break 'outer };
            pacer.acquire().await;
            report.sent += 1;
            let (registry, identifier) = (registry.clone(), identifier.clone());
            tasks.spawn(async move {
                let probe = registry.udp_probe(port);
                let started = Instant::now();
                let outcome = probe_udp(SocketAddr::from((ip, port)), probe, ATTEMPTS).await;
                drop(permit);
                let rtt = started.elapsed();
                (ip, port, rtt, outcome, identifier)
            });
            while let Some(done) = tasks.try_join_next() {
                record(&mut report, done);
            }
        }
    }
    while let Some(done) = tasks.join_next().await {
        record(&mut report, done);
    }
    report.open.sort_by_key(|(f, _)| (f.ip, f.port));
    report
}

type Done = (std::net::Ipv4Addr, u16, Duration, UdpOutcome, Option<Identifier>);

fn record(report: &mut UdpReport, done: Result<Done, tokio::task::JoinError>) {
    // A probe task only panics on a bug; its port is then simply not reported.
    let Ok((ip, port, rtt, outcome, identifier)) = done else { return };
    match outcome {
        UdpOutcome::Open(response) => {
            let finding = Finding { ip, port, proto: Proto::Udp, state: PortState::Open, rtt };
            let service = identifier.and_then(|id| identify_one(&id, port, &[*response]));
            report.open.push((finding, service));
        }
        UdpOutcome::Closed => report.closed += 1,
        _ => report.open_filtered += 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A loopback service that answers any datagram, one closed port and one silent one:
    /// only the answering port is reported, as UDP. (Ports with a probe of their own, such as
    /// DNS on 53, are identified in the lab test, which may bind them.)
    #[tokio::test]
    async fn udp_sweep_reports_answering_ports_only() {
        let echo = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let echo_port = echo.local_addr().unwrap().port();
        tokio::spawn(async move {
            let mut buf = [0u8; 512];
            while let Ok((_, peer)) = echo.recv_from(&mut buf).await {
                let _ = echo.send_to(b"hello\n", peer).await;
            }
        });
        let silent = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let silent_port = silent.local_addr().unwrap().port();
        let closed = std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
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
