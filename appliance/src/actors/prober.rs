//! The Prober: follow-up connections on open ports. The NULL probe waits for a banner; then
//! the answers so far pick the next probe (see [`crate::probing::next_probe`]): a soft match narrows to the
//! probes of its service, a silent port gets the probes that suit its number, a TLS port its
//! handshake, and a named product ends probing.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use actix::dev::SendError;
use actix::prelude::*;
use sonde_matcher::Identifier;
use sonde_scanner::{BannerConfig, Finding, HostLimiter, ProbeRegistry, Response};
use tokio::sync::Semaphore;

use super::matcher::IdentifyPorts;
use super::persister::FinishScan;
use super::{BATCH, PROBER_MAILBOX};
use crate::probing::examine;

/// How often partial batches and a full Matcher mailbox are retried.
const TICK: Duration = Duration::from_millis(100);
/// Exchanges in flight with one host, at most: a host with hundreds of open ports is probed
/// a few ports at a time, whatever room the global bound has.
const PER_HOST: usize = 4;

/// Open ports found by a subnet scanner.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct ProbePorts {
    /// Scan id.
    pub scan_id: i64,
    /// The open ports, to probe.
    pub findings: Vec<Finding>,
    /// Open ports whose exchange is already done (UDP: the sweep's probe and the datagram
    /// that came back): they go straight to identification.
    pub answered: Vec<(Finding, Response)>,
}

/// An open port and what it said.
#[derive(Debug, Clone)]
pub struct Observed {
    /// The open port.
    pub finding: Finding,
    /// The start of the first answer, bounded by the banner limit, for the store.
    pub banner: Option<Vec<u8>>,
    /// Every answer, by probe, for the Matcher.
    pub responses: Vec<Response>,
}

impl Observed {
    /// `finding` and what the probes got back; the stored banner is the first answer, cut to
    /// `banner_bytes`.
    pub fn new(finding: Finding, responses: Vec<Response>, banner_bytes: usize) -> Self {
        let banner = responses.first().map(|r| r.data[..r.data.len().min(banner_bytes)].to_vec());
        Self { finding, banner, responses }
    }
}

/// A port's probes finished (sent by the Prober's own tasks).
#[derive(Debug, Message)]
#[rtype(result = "()")]
struct PortProbed {
    scan_id: i64,
    observed: Observed,
}

/// The Prober's bookkeeping, free of actix: what is in flight per scan, what is ready, and
/// what must go to the Matcher in which order.
#[derive(Debug, Default)]
pub(crate) struct ProberState {
    scans: HashMap<i64, ScanProbes>,
    /// Messages for the Matcher, in the order they must arrive.
    outbox: VecDeque<ToMatcher>,
}

#[derive(Debug, Default)]
struct ScanProbes {
    in_flight: usize,
    ready: Vec<Observed>,
    /// Ends (and chunk checkpoints) waiting for the reads in flight; several may wait when
    /// chunks of one scan follow each other on this appliance.
    finish: Vec<FinishScan>,
}

/// What the Prober sends to the Matcher.
#[derive(Debug)]
pub(crate) enum ToMatcher {
    /// A batch to identify.
    Identify(IdentifyPorts),
    /// The end of a scan, after its last batch.
    Finish(FinishScan),
}

impl ProberState {
    /// `n` reads of `scan_id` started.
    pub(crate) fn started(&mut self, scan_id: i64, n: usize) {
        self.scans.entry(scan_id).or_default().in_flight += n;
    }

    /// A read finished; a full batch moves to the outbox.
    pub(crate) fn finished(&mut self, scan_id: i64, observed: Observed) {
        let scan = self.scans.entry(scan_id).or_default();
        scan.in_flight = scan.in_flight.saturating_sub(1);
        scan.ready.push(observed);
        if scan.ready.len() >= BATCH {
            let batch = std::mem::take(&mut scan.ready);
            self.outbox.push_back(ToMatcher::Identify(IdentifyPorts { scan_id, observed: batch }));
        }
        self.settle(scan_id);
    }

    /// The scan will send nothing more; its end follows its last results.
    pub(crate) fn finish(&mut self, msg: FinishScan) {
        let scan_id = msg.scan_id;
        self.scans.entry(scan_id).or_default().finish.push(msg);
        self.settle(scan_id);
    }

    /// Moves partial batches to the outbox (on each tick, so results flow while a scan runs).
    pub(crate) fn flush_partial(&mut self) {
        for (&scan_id, scan) in &mut self.scans {
            if !scan.ready.is_empty() {
                let batch = std::mem::take(&mut scan.ready);
                self.outbox
                    .push_back(ToMatcher::Identify(IdentifyPorts { scan_id, observed: batch }));
            }
        }
    }

    /// The next message for the Matcher.
    pub(crate) fn pop(&mut self) -> Option<ToMatcher> {
        self.outbox.pop_front()
    }

    /// Puts back a message the Matcher had no room for; it stays first.
    pub(crate) fn unpop(&mut self, msg: ToMatcher) {
        self.outbox.push_front(msg);
    }

    /// When a finished scan has nothing in flight, its rest and its end go out.
    fn settle(&mut self, scan_id: i64) {
        let Some(scan) = self.scans.get(&scan_id) else { return };
        if scan.in_flight > 0 || scan.finish.is_empty() {
            return;
        }
        let Some(mut scan) = self.scans.remove(&scan_id) else { return };
        if !scan.ready.is_empty() {
            let batch = std::mem::take(&mut scan.ready);
            self.outbox.push_back(ToMatcher::Identify(IdentifyPorts { scan_id, observed: batch }));
        }
        for finish in scan.finish.drain(..) {
            self.outbox.push_back(ToMatcher::Finish(finish));
        }
    }
}

/// Probes open ports with a global and a per-host bound on exchanges in flight.
#[derive(Debug)]
pub struct Prober {
    banner: BannerConfig,
    registry: Arc<ProbeRegistry>,
    /// Picks the next probe from the answers so far (soft matches narrow it).
    identifier: Identifier,
    /// Bounds ports being probed across all scans; `ProbePorts` waits for permits, which is
    /// how a busy prober slows the scanners.
    limit: Arc<Semaphore>,
    /// Bounds exchanges per host; taken inside each port's task, after the global permit.
    hosts: Arc<HostLimiter>,
    identify: Recipient<IdentifyPorts>,
    finish: Recipient<FinishScan>,
    state: ProberState,
}

impl Prober {
    /// A prober with at most `concurrency` ports being probed at once, feeding the Matcher.
    /// `identifier` is the one the Matcher uses: its soft matches choose the next probes.
    pub fn new(
        banner: BannerConfig,
        concurrency: usize,
        identifier: Identifier,
        identify: Recipient<IdentifyPorts>,
        finish: Recipient<FinishScan>,
    ) -> Self {
        Self {
            banner,
            registry: Arc::new(ProbeRegistry::builtin()),
            identifier,
            limit: Arc::new(Semaphore::new(concurrency)),
            hosts: HostLimiter::new(PER_HOST),
            identify,
            finish,
            state: ProberState::default(),
        }
    }

    /// Sends what the Matcher has room for, in order.
    fn drain(&mut self) {
        while let Some(msg) = self.state.pop() {
            let full = match msg {
                ToMatcher::Identify(m) => match self.identify.try_send(m) {
                    Err(SendError::Full(m)) => Some(ToMatcher::Identify(m)),
                    Err(SendError::Closed(_)) => {
                        tracing::error!("The matcher is gone; results are lost.");
                        None
                    }
                    Ok(()) => None,
                },
                ToMatcher::Finish(m) => match self.finish.try_send(m) {
                    Err(SendError::Full(m)) => Some(ToMatcher::Finish(m)),
                    Err(SendError::Closed(_)) => {
                        tracing::error!("The matcher is gone; a scan's end is lost.");
                        None
                    }
                    Ok(()) => None,
                },
            };
            if let Some(msg) = full {
                self.state.unpop(msg);
                return;
            }
        }
    }
}

impl Actor for Prober {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(PROBER_MAILBOX);
        ctx.run_interval(TICK, |act, _| {
            act.state.flush_partial();
            act.drain();
        });
    }
}

impl Handler<ProbePorts> for Prober {
    type Result = ResponseFuture<()>;

    fn handle(&mut self, msg: ProbePorts, ctx: &mut Self::Context) -> Self::Result {
        self.state.started(msg.scan_id, msg.findings.len() + msg.answered.len());
        for (finding, response) in msg.answered {
            let observed = Observed::new(finding, vec![response], self.banner.max_bytes);
            self.state.finished(msg.scan_id, observed);
        }
        self.drain();
        let me = ctx.address();
        let limit = self.limit.clone();
        let hosts = self.hosts.clone();
        let registry = self.registry.clone();
        let identifier = self.identifier.clone();
        let config = self.banner;
        Box::pin(async move {
            for finding in msg.findings {
                // A closed semaphore only happens at shutdown; dropping the read is then fine.
                let Ok(permit) = limit.clone().acquire_owned().await else { return };
                let (me, hosts, registry) = (me.clone(), hosts.clone(), registry.clone());
                let identifier = identifier.clone();
                let scan_id = msg.scan_id;
                tokio::spawn(async move {
                    let addr = SocketAddr::from((finding.ip, finding.port));
                    let host = hosts.acquire(addr.ip()).await;
                    let responses = examine(addr, &registry, &identifier, config).await;
                    drop((host, permit));
                    let observed = Observed::new(finding, responses, config.max_bytes);
                    me.do_send(PortProbed { scan_id, observed });
                });
            }
        })
    }
}

impl Handler<PortProbed> for Prober {
    type Result = ();

    fn handle(&mut self, msg: PortProbed, _: &mut Self::Context) {
        self.state.finished(msg.scan_id, msg.observed);
        self.drain();
    }
}

impl Handler<FinishScan> for Prober {
    type Result = ();

    fn handle(&mut self, msg: FinishScan, _: &mut Self::Context) {
        self.state.finish(msg);
        self.drain();
    }
}

#[cfg(test)]
mod tests {
    use sonde_scanner::{PortState, Proto};
    use sonde_web::api::{ScanCounters, ScanStatus};

    use super::*;

    fn observed(port: u16) -> Observed {
        Observed {
            finding: Finding {
                ip: [10, 0, 0, 1].into(),
                port,
                proto: Proto::Tcp,
                state: PortState::Open,
                rtt: Duration::ZERO,
            },
            banner: None,
            responses: Vec::new(),
        }
    }

    fn finish(scan_id: i64) -> FinishScan {
        FinishScan {
            scan_id,
            status: ScanStatus::Completed,
            counters: ScanCounters::default(),
            error: None,
            chunk: None,
        }
    }

    fn drain(state: &mut ProberState) -> Vec<String> {
        std::iter::from_fn(|| state.pop())
            .map(|m| match m {
                ToMatcher::Identify(b) => format!("batch {} x{}", b.scan_id, b.observed.len()),
                ToMatcher::Finish(f) => format!("finish {}", f.scan_id),
            })
            .collect()
    }

    #[test]
    fn the_end_of_a_scan_waits_for_its_reads() {
        let mut s = ProberState::default();
        s.started(1, 2);
        s.finished(1, observed(22));
        s.finish(finish(1));
        assert!(drain(&mut s).is_empty(), "one read still in flight");
        s.finished(1, observed(80));
        assert_eq!(drain(&mut s), ["batch 1 x2", "finish 1"]);
    }

    #[test]
    fn full_batches_leave_at_once_and_partial_ones_on_tick() {
        let mut s = ProberState::default();
        s.started(7, BATCH + 1);
        for p in 0..=BATCH as u16 {
            s.finished(7, observed(p + 1));
        }
        assert_eq!(drain(&mut s), [format!("batch 7 x{BATCH}")]);
        s.flush_partial();
        assert_eq!(drain(&mut s), ["batch 7 x1"]);
    }

    #[test]
    fn a_scan_with_nothing_open_ends_at_once_and_unpop_keeps_order() {
        let mut s = ProberState::default();
        s.finish(finish(3));
        let first = s.pop().unwrap();
        s.unpop(first);
        assert_eq!(drain(&mut s), ["finish 3"]);
    }

    #[test]
    fn the_stored_banner_is_the_first_answer_cut_to_the_banner_limit() {
        let http = Response { probe: "http", data: b"HTTP/1.0 200 OK\r\n".to_vec(), tls: None };
        let observed = Observed::new(observed(80).finding, vec![http], 8);
        assert_eq!(observed.banner.as_deref(), Some(&b"HTTP/1.0"[..]));
    }
}
