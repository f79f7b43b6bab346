//! UDP sweeps, shared by `sonde scan --udp-ports` and the scans of `sonde serve`: every
//! target address gets one probe per UDP port (the port's own probe from the registry, DNS,
//! NTP or SNMP, else an empty datagram), paced at the scan's rate, bounded globally and per
//! host. A port is open when a datagram comes back; ICMP port unreachable (closed) and
//! silence (open|filtered) are counted, not reported.
//!
//! Which ports may be asked for: any port from 1 to 65535. Ports the registry has a probe for
//! get that protocol's request; the others get an empty datagram, which many services ignore
//! (they then count as open|filtered, as in nmap). `top:N` is refused for UDP: the top-ports
//! table ranks TCP services.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use sonde_scanner::{
    Finding, HostLimiter, Pacer, PortList, PortState, ProbeRegistry, Progress, Proto, Response,
    TargetSet, UdpOutcome, probe_udp,
};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// Sends per probe: UDP loses datagrams, and one resend costs little next to a missed port.
pub const ATTEMPTS: u32 = 2;
/// Probes in flight with one host at most, as for the Prober's TCP exchanges.
pub const PER_HOST: usize = 4;

/// How a UDP sweep runs.
#[derive(Debug, Clone)]
pub struct UdpSweep {
    /// The UDP ports.
    pub ports: PortList,
    /// Probes per second, all ports together (0 = unlimited).
    pub rate: u64,
    /// Probes in flight at most.
    pub concurrency: usize,
    /// Probes in flight with one address at most.
    pub per_host: usize,
}

/// An open UDP port and the datagram it answered with.
#[derive(Debug)]
pub struct UdpOpen {
    /// The port, as a UDP finding.
    pub finding: Finding,
    /// What came back, decoded by the probe's decoder when it recognised it.
    pub response: Response,
}

/// What a sweep counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UdpCounts {
    /// (address, port) pairs probed.
    pub sent: u64,
    /// Ports that answered.
    pub open: u64,
    /// Ports that answered ICMP port unreachable.
    pub closed: u64,
    /// Ports that stayed silent.
    pub open_filtered: u64,
}

/// A UDP port list from a request: a port list such as `53,123,161,5000-5010`, without
/// `top:N` (which ranks TCP services).
pub fn parse_ports(spec: &str) -> Result<PortList, String> {
    if spec.trim().to_ascii_lowercase().starts_with("top:") {
        return Err(format!(
            "`{spec}`: top:N ranks TCP services and is not accepted for UDP; list the UDP ports \
             (for example 53,123,161)"
        ));
    }
    PortList::parse(spec).map_err(|e| e.to_string())
}

/// Probes every (address, port) of `targets` x `sweep.ports`, in address then port order;
/// stops early on `cancel`. Open ports go to `open` as they answer (awaiting its room, so a
/// slow receiver slows the sweep); `progress` counts as the engines' counters do.
pub async fn sweep(
    targets: &TargetSet,
    sweep: &UdpSweep,
    progress: &Progress,
    cancel: &CancellationToken,
    open: mpsc::Sender<UdpOpen>,
) -> UdpCounts {
    let registry = Arc::new(ProbeRegistry::builtin());
    let pacer = Arc::new(Pacer::new(sweep.rate));
    let limit = Arc::new(Semaphore::new(sweep.concurrency.max(1)));
    let hosts = HostLimiter::new(sweep.per_host);
    let mut tasks = JoinSet::new();
    let mut counts = UdpCounts::default();
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
            counts.sent += 1;
            progress.sent.fetch_add(1, Ordering::Relaxed);
            let (registry, hosts) = (registry.clone(), hosts.clone());
            tasks.spawn(async move {
                let host = hosts.acquire(ip.into()).await;
                let probe = registry.udp_probe(port);
                let started = Instant::now();
                let outcome = probe_udp(SocketAddr::from((ip, port)), probe, ATTEMPTS).await;
                drop((host, permit));
                (ip, port, started.elapsed(), outcome)
            });
            while let Some(done) = tasks.try_join_next() {
                record(&mut counts, progress, &open, done).await;
            }
        }
    }
    while let Some(done) = tasks.join_next().await {
        record(&mut counts, progress, &open, done).await;
    }
    counts
}

type Done = (Ipv4Addr, u16, Duration, UdpOutcome);

async fn record(
    counts: &mut UdpCounts,
    progress: &Progress,
    open: &mpsc::Sender<UdpOpen>,
    done: Result<Done, tokio::task::JoinError>,
) {
    // A probe task only panics on a bug; its port is then simply not reported.
    let Ok((ip, port, rtt, outcome)) = done else { return };
    progress.done.fetch_add(1, Ordering::Relaxed);
    match outcome {
        UdpOutcome::Open(response) => {
            counts.open += 1;
            progress.replies.fetch_add(1, Ordering::Relaxed);
            progress.open.fetch_add(1, Ordering::Relaxed);
            let finding = Finding { ip, port, proto: Proto::Udp, state: PortState::Open, rtt };
            // A gone receiver means the caller stopped listening; counting goes on.
            let _ = open.send(UdpOpen { finding, response: *response }).await;
        }
        UdpOutcome::Closed => {
            counts.closed += 1;
            progress.replies.fetch_add(1, Ordering::Relaxed);
        }
        _ => counts.open_filtered += 1,
    }
}

/// Loopback UDP ports for the sweep's tests and `sonde scan --udp-ports`'s.
#[cfg(test)]
pub(crate) mod fixture {
    /// A loopback service answering every datagram with `hello\n`, a closed port, and a
    /// silent socket (bound, never answering, silent while the caller holds it): the
    /// answering and closed ports and the silent socket.
    #[allow(clippy::unwrap_used)] // A test fixture: a failed bind is a failed test.
    pub(crate) async fn loopback_ports() -> (u16, u16, tokio::net::UdpSocket) {
        let echo = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let echo_port = echo.local_addr().unwrap().port();
        tokio::spawn(async move {
            let mut buf = [0u8; 512];
            while let Ok((_, peer)) = echo.recv_from(&mut buf).await {
                let _ = echo.send_to(b"hello\n", peer).await;
            }
        });
        let silent = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let closed = std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        (echo_port, closed, silent)
    }
}

#[cfg(test)]
mod tests {
    use super::fixture::loopback_ports;
    use super::*;

    #[test]
    fn udp_port_lists_refuse_top_n_and_say_why() {
        assert_eq!(parse_ports("53,161").unwrap().as_slice(), [53, 161]);
        let e = parse_ports("top:10").unwrap_err();
        assert!(e.contains("ranks TCP services"), "{e}");
        assert!(parse_ports("0").is_err());
        assert!(parse_ports("70000").is_err());
    }

    /// One answering loopback port, one closed, one silent: only the first is reported, and
    /// the counters (shared with the appliance's progress) say what happened to the others.
    #[tokio::test]
    async fn a_sweep_streams_open_ports_and_counts_the_rest() {
        let (echo_port, closed, silent) = loopback_ports().await;
        let silent_port = silent.local_addr().unwrap().port();
        let targets = TargetSet::parse(&["127.0.0.1".to_string()]).unwrap();
        let config = UdpSweep {
            ports: PortList::from_ports([echo_port, closed, silent_port]),
            rate: 1000,
            concurrency: 8,
            per_host: 1,
        };
        let progress = Progress::default();
        let (tx, mut rx) = mpsc::channel(4);
        let counts = sweep(&targets, &config, &progress, &CancellationToken::new(), tx).await;
        drop(silent);
        assert_eq!(counts, UdpCounts { sent: 3, open: 1, closed: 1, open_filtered: 1 });
        let s = progress.snapshot();
        assert_eq!((s.sent, s.done, s.replies, s.open), (3, 3, 2, 1));
        let found = rx.recv().await.unwrap();
        assert_eq!((found.finding.port, found.finding.proto), (echo_port, Proto::Udp));
        assert_eq!(found.response.data, b"hello\n");
        assert!(rx.recv().await.is_none(), "only the answering port is reported");
    }
}
