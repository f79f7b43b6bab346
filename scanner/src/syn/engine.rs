//! [`SynEngine`]: paces probes onto the wire in batches, collects validated replies, retries
//! silent pairs and waits for late answers.

use std::collections::HashSet;
use std::net::Ipv4Addr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::cookie::ReplyKey;
use super::frame::{FrameAddrs, ProbeFields, ProbeTemplate};
use super::route::{NetPath, PathOverrides};
use super::socket::{MAX_BATCH, PacketReceiver, PacketSender, SendPath, check_raw_sockets};
use super::validate::{Reply, ReplyValidator};
use crate::{
    Finding, Ipv4Range, Pacer, PortState, Progress, Proto, ScanError, ScanPlan, TargetSet,
};

/// Source ports are drawn above Linux's default ephemeral range (32768-60999), so replies to
/// probes never land on a port a local program is using.
const SOURCE_PORT_BASE: u16 = 61_000;
const SOURCE_PORTS: u16 = 4_000;
/// Largest echoed-timestamp age taken as a round-trip time; anything older is not ours.
const MAX_RTT_MS: u32 = 600_000;

/// Settings of the SYN engine.
#[derive(Debug, Clone)]
pub struct SynConfig {
    /// Probes per second (0 = unlimited).
    pub rate: u64,
    /// Extra passes over the pairs that have not answered yet.
    pub retries: u8,
    /// How long to wait for late replies after the last probe, and at least between a
    /// probe and its retry.
    pub wait: Duration,
    /// Interface, source address and router MAC chosen by the operator.
    pub path: PathOverrides,
    /// How frames are handed to the kernel.
    pub send_path: SendPath,
    /// Probes per second any one host may receive on average (`None`: no cap). The walk
    /// spreads probes evenly over the hosts, so the cap holds by bounding each run's rate to
    /// `hosts x cap`: a few hosts with many ports are scanned gently, a large range at full
    /// speed.
    pub per_host_rate: Option<u64>,
}

impl Default for SynConfig {
    fn default() -> Self {
        Self {
            rate: 10_000,
            retries: 1,
            wait: Duration::from_secs(1),
            path: PathOverrides::default(),
            send_path: SendPath::default(),
            per_host_rate: None,
        }
    }
}

/// Raw-socket SYN probing. Clones share the rate budget, the reply key and the source port.
#[derive(Debug, Clone)]
pub struct SynEngine {
    config: SynConfig,
    path: NetPath,
    pacer: Arc<Pacer>,
    key: ReplyKey,
    src_port: u16,
}

/// What the sending and receiving halves of one `run` share.
#[derive(Debug)]
struct Shared<'a> {
    plan: &'a ScanPlan,
    progress: &'a Progress,
    findings: &'a mpsc::Sender<Finding>,
    /// Fired when the scan is over: all sent and waited for, cancelled, or failed.
    stop: CancellationToken,
    /// Pairs (`address << 16 | port`) that answered: retries skip them and duplicates of
    /// their replies are dropped. It grows with the replies, not with the targets.
    answered: Mutex<HashSet<u64>>,
    /// Clock of the TCP timestamps, so an echoed value gives the round-trip time.
    epoch: Instant,
}

impl SynEngine {
    /// An engine for `targets`: checks the privilege and finds the path now, so that an
    /// operator learns what is wrong before the scan starts.
    pub fn open(config: SynConfig, targets: &TargetSet) -> Result<Self, ScanError> {
        if overlaps_loopback(targets) {
            return Err(ScanError::EngineUnavailable {
                engine: "syn",
                reason: "loopback targets (127.0.0.0/8) cannot be reached with raw frames: scan \
                         them with --engine connect"
                    .into(),
            });
        }
        check_raw_sockets()?;
        let path = NetPath::resolve(targets, &config.path)?;
        let mut seed = [0u8; 18];
        getrandom::fill(&mut seed).map_err(|e| ScanError::Socket {
            operation: "draw the reply key".into(),
            source: std::io::Error::other(e.to_string()),
        })?;
        let key = ReplyKey::from_bytes(seed[..16].try_into().unwrap_or_default());
        let src_port = SOURCE_PORT_BASE + u16::from_le_bytes([seed[16], seed[17]]) % SOURCE_PORTS;
        let pacer = Arc::new(Pacer::new(config.rate));
        Ok(Self { config, path, pacer, key, src_port })
    }
    /// The settings.
    pub fn config(&self) -> &SynConfig {
        &self.config
    }
    /// Where the probes leave.
    pub fn path(&self) -> &NetPath {
        &self.path
    }

    /// Probes every pair of `plan`, sends each open port to `findings` once, and returns when
    /// all passes are sent and the late replies waited for, or when `cancel` fires or
    /// `findings` closes. Counters go to `progress`; `done` is exact once `run` returns.
    ///
    /// An error means the interface became unusable mid-scan; the findings sent so far stand.
    pub async fn run(
        &self,
        plan: &ScanPlan,
        progress: &Progress,
        findings: mpsc::Sender<Finding>,
        cancel: CancellationToken,
    ) -> Result<(), ScanError> {
        let mut sender = PacketSender::open(&self.path, self.config.send_path)?;
        let receiver = PacketReceiver::open(&self.path, self.src_port)?;
        // SAFETY: the receiver owns its descriptor and closes it only when dropped, which
        // happens with the AsyncFd that now owns it.
        let receiver = unsafe { AsyncFd::register_with_interest(receiver, Interest::READABLE) }
            .map_err(|e| ScanError::Socket {
                operation: "register the receiver".into(),
                source: e.into(),
            })?;
        let shared = Shared {
            plan,
            progress,
            findings: &findings,
            stop: cancel.child_token(),
            answered: Mutex::new(HashSet::new()),
            epoch: Instant::now(),
        };
        let validator = ReplyValidator::new(self.key, self.path.src_ip, self.src_port);
        let (sent, received) =
            tokio::join!(self.send(&shared, &mut sender), receive(&shared, &receiver, &validator));
        if sender.full_queue_waits > 0 {
            tracing::debug!(
                waits = sender.full_queue_waits,
                "The interface's queue was full at times; the sender waited."
            );
        }
        if !cancel.is_cancelled() && !findings.is_closed() {
            progress.done.store(plan.len(), Ordering::Relaxed);
        }
        sent.and(received)
    }

    /// The sending half: `1 + retries` passes over the plan, each skipping pairs that have
    /// answered, then the wait for late replies. Fires `shared.stop` when it ends.
    async fn send(&self, shared: &Shared<'_>, sender: &mut PacketSender) -> Result<(), ScanError> {
        let result = self.send_passes(shared, sender).await;
        shared.stop.cancel();
        result
    }

    async fn send_passes(
        &self,
        shared: &Shared<'_>,
        sender: &mut PacketSender,
    ) -> Result<(), ScanError> {
        let template = ProbeTemplate::new(&FrameAddrs {
            src_mac: self.path.src_mac.0,
            dst_mac: self.path.next_hop_mac.0,
            src_ip: self.path.src_ip,
        });
        let host_pacer = self
            .config
            .per_host_rate
            .map(|cap| Pacer::new(host_cap_rate(shared.plan.targets().len(), cap)));
        let burst =
            host_pacer.as_ref().map_or(self.pacer.burst(), |p| p.burst().min(self.pacer.burst()));
        let batch = usize::try_from(burst).unwrap_or(MAX_BATCH).clamp(1, MAX_BATCH);
        let (plan, progress) = (shared.plan, shared.progress);
        // IP IDs come from a xorshift generator: unpredictable enough to hide the sender's
        // count, and free.
        let mut id_state =
            u64::from(self.key.cookie(Ipv4Addr::UNSPECIFIED, Ipv4Addr::BROADCAST, 0, 0)) | 1;
        for pass in 0..=self.config.retries {
            let last = pass == self.config.retries;
            let pass_started = Instant::now();
            let mut next = 0;
            while next < plan.len() {
                let tsval = shared.epoch.elapsed().as_millis() as u32;
                let mut count = 0;
                {
                    let answered = shared.answered.lock().unwrap_or_else(PoisonError::into_inner);
                    while count < batch && next < plan.len() {
                        let probe = plan.probe(next);
                        next += 1;
                        if pass > 0 && answered.contains(&pair(probe.ip, probe.port)) {
                            continue;
                        }
                        id_state ^= id_state << 13;
                        id_state ^= id_state >> 7;
                        id_state ^= id_state << 17;
                        let fields = ProbeFields {
                            dst_ip: probe.ip,
                            dst_port: probe.port,
                            src_port: self.src_port,
                            seq: self.key.cookie(
                                self.path.src_ip,
                                probe.ip,
                                self.src_port,
                                probe.port,
                            ),
                            ip_id: id_state as u16,
                            tsval,
                        };
                        template.write(&fields, &mut sender.frames[count]);
                        count += 1;
                    }
                    if last {
                        // Every pair walked in the last pass is settled or has had its last
                        // probe; before it, only answers settle pairs.
                        let settled = (answered.len() as u64).max(next);
                        progress.done.fetch_max(settled.min(plan.len()), Ordering::Relaxed);
                    } else {
                        progress.done.fetch_max(answered.len() as u64, Ordering::Relaxed);
                    }
                }
                if count == 0 {
                    continue;
                }
                tokio::select! {
                    biased;
                    () = shared.stop.cancelled() => return Ok(()),
                    () = async {
                        if let Some(host_pacer) = &host_pacer {
                            host_pacer.acquire_many(count as u64).await;
                        }
                        self.pacer.acquire_many(count as u64).await;
                    } => {}
                }
                sender.send(count).map_err(|source| ScanError::Socket {
                    operation: format!("send on {}", self.path.interface),
                    source,
                })?;
                progress.sent.fetch_add(count as u64, Ordering::Relaxed);
                // Unpaced, the loop would never give the receiver a turn.
                tokio::task::yield_now().await;
            }
            // A retry must not overtake the reply to its first probe.
            let wait_until = if last { Instant::now() } else { pass_started } + self.config.wait;
            tokio::select! {
                biased;
                () = shared.stop.cancelled() => return Ok(()),
                () = shared.findings.closed() => return Ok(()),
                () = tokio::time::sleep_until(wait_until) => {}
            }
        }
        Ok(())
    }
}

/// The receiving half: validates every frame the filter lets through until `shared.stop`.
async fn receive(
    shared: &Shared<'_>,
    receiver: &AsyncFd<PacketReceiver>,
    validator: &ReplyValidator,
) -> Result<(), ScanError> {
    let mut buffer = [0u8; 2048];
    loop {
        let mut guard = tokio::select! {
            biased;
            () = shared.stop.cancelled() => return Ok(()),
            ready = receiver.readable() => ready.map_err(|source| ScanError::Socket {
                operation: "wait for replies".into(),
                source,
            })?,
        };
        loop {
            let received = guard.try_io(|inner| inner.get_ref().receive(&mut buffer));
            let Ok(received) = received else { break };
            let len = received.map_err(|source| ScanError::Socket {
                operation: "receive replies".into(),
                source,
            })?;
            let Some(reply) = validator.check(&buffer[..len]) else { continue };
            if let Some(finding) = shared.settle(reply)
                && shared.findings.send(finding).await.is_err()
            {
                shared.stop.cancel();
                return Ok(());
            }
        }
    }
}

impl Shared<'_> {
    /// Counts a validated reply; the finding to report when it is a new open port.
    fn settle(&self, reply: Reply) -> Option<Finding> {
        let (ip, port) = match reply {
            Reply::Open { ip, port, .. }
            | Reply::Closed { ip, port }
            | Reply::Unreachable { ip, port } => (ip, port),
        };
        // A reply for another subnet's run of the same engine, or a stray from the past.
        if !self.plan.targets().contains(ip) || !self.plan.ports().as_slice().contains(&port) {
            return None;
        }
        if !self.answered.lock().unwrap_or_else(PoisonError::into_inner).insert(pair(ip, port)) {
            return None;
        }
        let progress = self.progress;
        match reply {
            Reply::Open { echoed, .. } => {
                progress.replies.fetch_add(1, Ordering::Relaxed);
                progress.open.fetch_add(1, Ordering::Relaxed);
                let now = self.epoch.elapsed().as_millis() as u32;
                let rtt = echoed
                    .map(|sent| now.wrapping_sub(sent))
                    .filter(|&ms| ms <= MAX_RTT_MS)
                    .map_or(Duration::ZERO, |ms| Duration::from_millis(u64::from(ms)));
                Some(Finding { ip, port, proto: Proto::Tcp, state: PortState::Open, rtt })
            }
            Reply::Closed { .. } => {
                progress.replies.fetch_add(1, Ordering::Relaxed);
                None
            }
            // Filtered: engines report open ports only, so it shows in the counters alone.
            Reply::Unreachable { .. } => None,
        }
    }
}

/// The rate that gives each of `hosts` hosts `cap` probes per second; at least 1.
fn host_cap_rate(hosts: u64, cap: u64) -> u64 {
    hosts.saturating_mul(cap).max(1)
}

fn pair(ip: Ipv4Addr, port: u16) -> u64 {
    u64::from(u32::from(ip)) << 16 | u64::from(port)
}

fn overlaps_loopback(targets: &TargetSet) -> bool {
    let loopback = TargetSet::from_ranges([Ipv4Range::new(
        Ipv4Addr::new(127, 0, 0, 0),
        Ipv4Addr::new(127, 255, 255, 255),
    )]);
    targets.exclude(&loopback).len() != targets.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PortList;

    #[test]
    fn loopback_targets_are_refused_before_anything_is_opened() {
        let targets = TargetSet::parse(&["127.0.0.1".to_string()]).unwrap();
        let error = SynEngine::open(SynConfig::default(), &targets).unwrap_err();
        assert!(error.to_string().contains("--engine connect"), "{error}");
        let mixed = TargetSet::parse(&["192.0.2.0/24".into(), "127.0.0.0/30".into()]).unwrap();
        assert!(overlaps_loopback(&mixed));
        assert!(!overlaps_loopback(&TargetSet::parse(&["192.0.2.0/24".into()]).unwrap()));
    }

    #[test]
    fn the_per_host_cap_bounds_the_rate_by_the_host_count() {
        assert_eq!(host_cap_rate(1, 100), 100, "one host with many ports: gently");
        assert_eq!(host_cap_rate(65_536, 100), 6_553_600, "a /16: the global rate decides");
        assert_eq!(host_cap_rate(0, 100), 1);
        assert_eq!(host_cap_rate(u64::MAX, 2), u64::MAX);
    }

    #[test]
    fn replies_are_settled_once_and_only_for_the_plan() {
        let plan = ScanPlan::new(
            TargetSet::parse(&["192.0.2.0/28".into()]).unwrap(),
            PortList::parse("22,80").unwrap(),
            1,
        );
        let progress = Progress::default();
        let (tx, _rx) = mpsc::channel(8);
        let shared = Shared {
            plan: &plan,
            progress: &progress,
            findings: &tx,
            stop: CancellationToken::new(),
            answered: Mutex::new(HashSet::new()),
            epoch: Instant::now(),
        };
        let ip = Ipv4Addr::new(192, 0, 2, 3);
        let open = Reply::Open { ip, port: 80, echoed: None };
        let found = shared.settle(open).expect("a new open port");
        assert_eq!((found.ip, found.port, found.state), (ip, 80, PortState::Open));
        assert_eq!(shared.settle(open), None, "a duplicate SYN-ACK");
        assert_eq!(shared.settle(Reply::Closed { ip, port: 22 }), None);
        assert_eq!(
            shared.settle(Reply::Open { ip, port: 443, echoed: None }),
            None,
            "not a plan port"
        );
        let outside = Ipv4Addr::new(192, 0, 2, 99);
        assert_eq!(shared.settle(Reply::Open { ip: outside, port: 80, echoed: None }), None);
        let snapshot = progress.snapshot();
        assert_eq!((snapshot.replies, snapshot.open), (2, 1));
        assert_eq!(shared.answered.lock().unwrap().len(), 2);
    }
}
