//! [`SynEngine`]: paces probes onto the wire in batches, collects validated replies, retries
//! silent pairs and waits for late answers.

use std::collections::{HashMap, HashSet};
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::cookie::ReplyKey;
use super::frame::{FrameAddrs, ProbeFields, ProbeTemplate};
use super::route::{NetPath, PathOverrides};
use super::schedule::{Schedule, Step, first_in_share};
use super::socket::{MAX_BATCH, PacketReceiver, PacketSender, SendPath, check_raw_sockets};
use super::validate::{Reply, ReplyValidator};
use crate::{
    ArpConfig, ArpSweep, Finding, Ipv4Range, MacAddr, Neighbour, Pacer, PortState, Progress, Proto,
    ScanError, ScanPlan, TargetSet,
};

/// Source ports are drawn above Linux's default ephemeral range (32768-60999), so replies to
/// probes never land on a port a local program is using.
const SOURCE_PORT_BASE: u16 = 61_000;
const SOURCE_PORTS: u16 = 4_000;
/// Largest echoed-timestamp age taken as a round-trip time; anything older is not ours.
const MAX_RTT_MS: u32 = 600_000;
/// How often the senders' counters are folded into the caller's progress.
const PROGRESS_EVERY: Duration = Duration::from_millis(100);
/// Windows of the plan a sender retries and settles as a unit (see `schedule`): about a tenth
/// of a second of probes, so a killed scan loses little, and enough for whole batches.
const WINDOWS_PER_SECOND: u64 = 10;
const UNPACED_WINDOW: u64 = 1 << 16;
/// How long a sleeping sender may take to notice that the scan stopped.
const STOP_CHECK_EVERY: Duration = Duration::from_millis(5);

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
    /// Sending tasks (at least 1), each with its own socket and an interleaved share of the
    /// plan. Nearly all the cost of a probe is the kernel delivering it, which runs on the
    /// sending thread, so a second sender on a second core adds most of a core's worth of
    /// probes (see `benches/RESULTS.md`).
    pub senders: usize,
    /// How on-link targets are resolved: an ARP sweep before the first probe, after which
    /// only the addresses that answered are probed, each at its own MAC.
    pub arp: ArpConfig,
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
            senders: 1,
            arp: ArpConfig::default(),
        }
    }
}

/// Raw-socket SYN probing. Clones share the rate budget and the reply key; each run (a
/// subnet of the appliance's scan, a shard) sends from a source port of its own, so that the
/// kernel's filter hands each run's receiver its own replies only.
#[derive(Debug, Clone)]
pub struct SynEngine {
    config: SynConfig,
    path: NetPath,
    pacer: Arc<Pacer>,
    key: ReplyKey,
    /// Where this engine's source ports start in the range `SOURCE_PORT_BASE..+SOURCE_PORTS`,
    /// and how many runs have drawn one: run `n` sends from `first + n` (wrapping).
    first_port: u16,
    runs: Arc<AtomicU16>,
    /// On-link targets' MACs, shared by clones (the subnets of one scan), so an address is
    /// swept once per engine. The async mutex makes a second subnet wait for a sweep in
    /// progress rather than start an overlapping one.
    on_link: Arc<tokio::sync::Mutex<OnLink>>,
}

/// What ARP has said so far.
#[derive(Debug, Default)]
struct OnLink {
    /// Addresses asked (whether or not they answered).
    swept: TargetSet,
    /// Addresses that answered, with their MAC.
    macs: HashMap<Ipv4Addr, MacAddr>,
}

/// The source port of run `n` of an engine whose ports start at offset `first`.
fn source_port(first: u16, n: u16) -> u16 {
    SOURCE_PORT_BASE + ((u32::from(first) + u32::from(n)) % u32::from(SOURCE_PORTS)) as u16
}

/// What the senders and the receiver of one `run` share. Senders run as tasks of their own,
/// so it holds no borrows: counters are folded into the caller's [`Progress`] by `run`.
#[derive(Debug)]
struct Shared {
    plan: ScanPlan,
    /// The plan indexes this run walks.
    range: std::ops::Range<u64>,
    /// Fired when the scan is over: all sent and waited for, cancelled, or failed.
    stop: CancellationToken,
    /// Pairs (`address << 16 | port`) that answered: retries skip them and duplicates of
    /// their replies are dropped. It grows with the replies, not with the targets.
    answered: Mutex<HashSet<u64>>,
    /// Clock of the TCP timestamps, so an echoed value gives the round-trip time.
    epoch: Instant,
    /// Probes handed to the kernel by every sender.
    sent: AtomicU64,
    /// Indexes walked in the last pass by every sender: each is settled or had its last probe.
    last_walked: AtomicU64,
    /// For on-link targets, the MAC of each address that answered ARP; the others are not
    /// probed. `None` when the targets are reached through a router.
    macs: Option<HashMap<Ipv4Addr, MacAddr>>,
    /// Per sender, the plan index below which its share has settled (`Schedule`).
    settled_to: Vec<AtomicU64>,
    /// Open ports validated by the receiver and not yet handed to the findings channel: the
    /// low-water mark is published only when none is, so a checkpoint never skips one.
    in_flight: AtomicU64,
    /// This run's source port: replies to it are this run's.
    src_port: u16,
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
        let first_port = u16::from_le_bytes([seed[16], seed[17]]) % SOURCE_PORTS;
        let pacer = Arc::new(Pacer::new(config.rate));
        Ok(Self {
            config,
            path,
            pacer,
            key,
            first_port,
            runs: Arc::default(),
            on_link: Arc::default(),
        })
    }
    /// The settings.
    pub fn config(&self) -> &SynConfig {
        &self.config
    }

    /// The source port of the next run of this engine or of a clone: each run gets the next
    /// one of the engine's range, so concurrent runs never share one.
    fn next_source_port(&self) -> u16 {
        source_port(self.first_port, self.runs.fetch_add(1, Ordering::Relaxed))
    }
    /// Where the probes leave.
    pub fn path(&self) -> &NetPath {
        &self.path
    }

    /// The hosts of `targets` that answer ARP, with their MACs, when the targets are on-link
    /// (empty when they are reached through a router). Addresses are swept once per engine:
    /// a later call, or [`run`](Self::run), reuses the answers.
    pub async fn neighbours(
        &self,
        targets: &TargetSet,
        cancel: &CancellationToken,
    ) -> Result<Vec<Neighbour>, ScanError> {
        Ok(self.on_link_macs(targets, cancel).await?.map_or_else(Vec::new, |macs| {
            let mut found: Vec<Neighbour> = macs
                .into_iter()
                .filter(|(ip, _)| targets.contains(*ip))
                .map(|(ip, mac)| Neighbour { ip, mac })
                .collect();
            found.sort();
            found
        }))
    }

    /// For on-link targets, sweeps what was not swept yet and returns every MAC known.
    async fn on_link_macs(
        &self,
        targets: &TargetSet,
        cancel: &CancellationToken,
    ) -> Result<Option<HashMap<Ipv4Addr, MacAddr>>, ScanError> {
        if self.path.next_hop_mac.is_some() {
            return Ok(None);
        }
        let mut on_link = self.on_link.lock().await;
        let missing = targets.exclude(&on_link.swept);
        if !missing.is_empty() {
            let sweep = ArpSweep::new(self.config.arp.clone(), &self.path);
            let found = sweep.run(&missing, cancel.clone()).await?;
            tracing::info!(
                interface = %self.path.interface,
                asked = missing.len(),
                answered = found.len(),
                "On-link targets resolved by ARP; only those that answered are probed."
            );
            on_link.macs.extend(found.iter().map(|n| (n.ip, n.mac)));
            if !cancel.is_cancelled() {
                on_link.swept = on_link.swept.union(&missing);
            }
        }
        Ok(Some(on_link.macs.clone()))
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
        self.run_range(plan, 0..plan.len(), progress, findings, cancel).await
    }

    /// [`run`](Self::run) over the plan indexes `range` only (clamped to the plan): a shard,
    /// or what is left of a resumed scan. The range is sent in windows of about a tenth of a
    /// second of probes, each retried and then waited for as a unit, and windows settle in
    /// order: `progress.settled_below` follows the oldest unsettled window, so a killed SYN
    /// scan resumes about `(1 + retries) x wait` behind where it stopped.
    ///
    /// On-link targets are first resolved by ARP ([`neighbours`](Self::neighbours)); only
    /// those that answered are probed, each framed to its own MAC.
    pub async fn run_range(
        &self,
        plan: &ScanPlan,
        range: std::ops::Range<u64>,
        progress: &Progress,
        findings: mpsc::Sender<Finding>,
        cancel: CancellationToken,
    ) -> Result<(), ScanError> {
        let end = range.end.min(plan.len());
        let range = range.start.min(end)..end;
        progress.settled_below.store(range.start, Ordering::Release);
        let macs = self.on_link_macs(plan.targets(), &cancel).await?;
        let senders = (0..self.config.senders.max(1))
            .map(|_| PacketSender::open(&self.path, self.config.send_path))
            .collect::<Result<Vec<_>, _>>()?;
        let src_port = self.next_source_port();
        let receiver = PacketReceiver::open(&self.path, src_port)?;
        // SAFETY: the receiver owns its descriptor and closes it only when dropped, which
        // happens with the AsyncFd that now owns it.
        let receiver = unsafe { AsyncFd::register_with_interest(receiver, Interest::READABLE) }
            .map_err(|e| ScanError::Socket {
                operation: "register the receiver".into(),
                source: e.into(),
            })?;
        let shared = Arc::new(Shared {
            plan: plan.clone(),
            range: range.clone(),
            stop: cancel.child_token(),
            answered: Mutex::new(HashSet::new()),
            epoch: Instant::now(),
            sent: AtomicU64::new(0),
            last_walked: AtomicU64::new(0),
            macs,
            settled_to: (0..senders.len()).map(|_| AtomicU64::new(range.start)).collect(),
            in_flight: AtomicU64::new(0),
            src_port,
        });
        let validator = ReplyValidator::new(self.key, self.path.src_ip, src_port);
        let shares = senders.len();
        let mut tasks = JoinSet::new();
        for (share, sender) in senders.into_iter().enumerate() {
            let (engine, shared) = (self.clone(), Arc::clone(&shared));
            tasks.spawn_blocking(move || engine.send_share(&shared, sender, share, shares));
        }
        let mut folded = 0;
        let (sent, received, ()) = tokio::join!(
            self.send_all(&shared, tasks),
            receive(&shared, &receiver, &validator, progress, &findings),
            async {
                while !shared.stop.is_cancelled() {
                    fold_progress(&shared, progress, &mut folded);
                    tokio::select! {
                        () = shared.stop.cancelled() => {}
                        () = tokio::time::sleep(PROGRESS_EVERY) => {}
                    }
                }
            },
        );
        fold_progress(&shared, progress, &mut folded);
        if sent.is_ok() && received.is_ok() && !cancel.is_cancelled() && !findings.is_closed() {
            progress.done.store(range.end - range.start, Ordering::Relaxed);
            progress.settled_below.store(range.end, Ordering::Release);
        }
        sent.and(received)
    }

    /// Waits for every sender (each ends once its last window has settled); fires
    /// `shared.stop` when it ends.
    async fn send_all(
        &self,
        shared: &Shared,
        mut tasks: JoinSet<Result<u64, ScanError>>,
    ) -> Result<(), ScanError> {
        let mut result = Ok(());
        let mut full_queue_waits = 0;
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok(Ok(waits)) => full_queue_waits += waits,
                Ok(Err(error)) => {
                    // One sender failing means the interface is gone: stop the others.
                    shared.stop.cancel();
                    result = Err(error);
                }
                Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
                Err(_) => {}
            }
        }
        if full_queue_waits > 0 {
            tracing::debug!(
                waits = full_queue_waits,
                "The interface's queue was full at times; the senders waited."
            );
        }
        // Each sender's schedule has already waited for the replies to its last window.
        shared.stop.cancel();
        result
    }

    /// One sender: walks the indexes `share, share + shares, ...` of the range along its
    /// [`Schedule`], each window `1 + retries` times, skipping pairs that have answered and
    /// on-link addresses that did not answer ARP. Returns how often the kernel's queue was
    /// full.
    ///
    /// It runs on a thread of its own, like the bare sender it is measured against
    /// (`benches/RESULTS.md`): nearly all of a probe's cost is the kernel delivering it on
    /// the sending thread, and as an async task each batch also went through the runtime's
    /// scheduler (a yield, a readiness poll, a cancellation waiter) and shared its worker
    /// with the receiver. It sleeps on its own clock for the pacer and the schedule.
    fn send_share(
        self,
        shared: &Shared,
        mut sender: PacketSender,
        share: usize,
        shares: usize,
    ) -> Result<u64, ScanError> {
        let template = ProbeTemplate::new(&FrameAddrs {
            src_mac: self.path.src_mac.0,
            // On-link, each frame's destination is written per probe below.
            dst_mac: self.path.next_hop_mac.map_or([0; 6], |mac| mac.0),
            src_ip: self.path.src_ip,
        });
        let plan = &shared.plan;
        // The cap is per run, shared by its senders like the global budget.
        let host_pacer = self
            .config
            .per_host_rate
            .map(|cap| Pacer::new(host_cap_rate(plan.targets().len(), cap) / shares as u64 + 1));
        let burst =
            host_pacer.as_ref().map_or(self.pacer.burst(), |p| p.burst().min(self.pacer.burst()));
        let batch = usize::try_from(burst).unwrap_or(MAX_BATCH).clamp(1, MAX_BATCH);
        let window = match self.pacer.rate() {
            0 => UNPACED_WINDOW,
            rate => (rate / WINDOWS_PER_SECOND).max((MAX_BATCH * shares) as u64),
        };
        let mut schedule =
            Schedule::new(shared.range.clone(), window, self.config.retries, self.config.wait);
        // IP IDs come from a xorshift generator: unpredictable enough to hide the sender's
        // count, and free.
        let mut id_state =
            u64::from(self.key.cookie(Ipv4Addr::UNSPECIFIED, Ipv4Addr::BROADCAST, share as u16, 0))
                | 1;
        loop {
            let (indexes, pass, last) = match schedule.next(Instant::now()) {
                Step::Done => break,
                Step::Sleep(until) => {
                    if !sleep_until(&shared.stop, until) {
                        return Ok(sender.full_queue_waits);
                    }
                    shared.settled_to[share].store(schedule.settled_below(), Ordering::Release);
                    continue;
                }
                Step::Send { indexes, pass, last } => (indexes, pass, last),
            };
            let mut next = first_in_share(indexes.start, share as u64, shares as u64);
            while next < indexes.end {
                let tsval = shared.epoch.elapsed().as_millis() as u32;
                let mut count = 0;
                let mut walked = 0;
                {
                    // The first pass skips nothing, so it takes no lock.
                    let answered = (pass > 0)
                        .then(|| shared.answered.lock().unwrap_or_else(PoisonError::into_inner));
                    while count < batch && next < indexes.end {
                        let probe = plan.probe(next);
                        next += shares as u64;
                        walked += 1;
                        if answered
                            .as_ref()
                            .is_some_and(|a| a.contains(&pair(probe.ip, probe.port)))
                        {
                            continue;
                        }
                        let dst_mac = match &shared.macs {
                            None => None,
                            Some(macs) => match macs.get(&probe.ip) {
                                Some(mac) => Some(*mac),
                                // Silent to ARP: no frame could reach it.
                                None => continue,
                            },
                        };
                        id_state ^= id_state << 13;
                        id_state ^= id_state >> 7;
                        id_state ^= id_state << 17;
                        let fields = ProbeFields {
                            dst_ip: probe.ip,
                            dst_port: probe.port,
                            src_port: shared.src_port,
                            seq: self.key.cookie(
                                self.path.src_ip,
                                probe.ip,
                                shared.src_port,
                                probe.port,
                            ),
                            ip_id: id_state as u16,
                            tsval,
                        };
                        let frame = &mut sender.frames[count];
                        template.write(&fields, frame);
                        // The Ethernet header is outside both checksums.
                        if let Some(MacAddr(mac)) = dst_mac {
                            frame[..6].copy_from_slice(&mac);
                        }
                        count += 1;
                    }
                }
                if count > 0 {
                    let pacers = host_pacer.iter().chain([&*self.pacer]);
                    for pacer in pacers {
                        if let Some(due) = pacer.reserve(count as u64)
                            && !sleep_until(&shared.stop, due)
                        {
                            return Ok(sender.full_queue_waits);
                        }
                    }
                    if shared.stop.is_cancelled() {
                        return Ok(sender.full_queue_waits);
                    }
                    sender.send(count).map_err(|source| ScanError::Socket {
                        operation: format!("send on {}", self.path.interface),
                        source,
                    })?;
                    shared.sent.fetch_add(count as u64, Ordering::Relaxed);
                }
                if last {
                    shared.last_walked.fetch_add(walked, Ordering::Relaxed);
                }
            }
            schedule.sent(indexes, pass, Instant::now());
            shared.settled_to[share].store(schedule.settled_below(), Ordering::Release);
        }
        shared.settled_to[share].store(schedule.settled_below(), Ordering::Release);
        Ok(sender.full_queue_waits)
    }
}

/// Sleeps this (sender) thread until `until`, looking at `stop` at least every
/// [`STOP_CHECK_EVERY`]; false when the scan stopped first.
fn sleep_until(stop: &CancellationToken, until: Instant) -> bool {
    loop {
        if stop.is_cancelled() {
            return false;
        }
        let now = Instant::now();
        if now >= until {
            return true;
        }
        std::thread::sleep((until - now).min(STOP_CHECK_EVERY));
    }
}

/// Adds what the senders did since the last call to `progress`. Before the last pass only
/// answers settle pairs; in it, every pair walked is settled or has had its last probe.
fn fold_progress(shared: &Shared, progress: &Progress, folded: &mut u64) {
    let sent = shared.sent.load(Ordering::Relaxed);
    progress.sent.fetch_add(sent - *folded, Ordering::Relaxed);
    *folded = sent;
    let answered = shared.answered.lock().unwrap_or_else(PoisonError::into_inner).len() as u64;
    let settled = answered.max(shared.last_walked.load(Ordering::Relaxed));
    let len = shared.range.end - shared.range.start;
    progress.done.fetch_max(settled.min(len), Ordering::Relaxed);
    // The receiver runs in the caller's task, like this function: nothing it validated can
    // be between the socket and the channel unless it is counted in `in_flight`.
    if shared.in_flight.load(Ordering::Acquire) == 0
        && let Some(mark) = shared.settled_to.iter().map(|s| s.load(Ordering::Acquire)).min()
    {
        progress.settled_below.fetch_max(mark, Ordering::Release);
    }
}

/// The receiving half: validates every frame the filter lets through until `shared.stop`.
async fn receive(
    shared: &Shared,
    receiver: &AsyncFd<PacketReceiver>,
    validator: &ReplyValidator,
    progress: &Progress,
    findings: &mpsc::Sender<Finding>,
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
            if let Some(finding) = shared.settle(reply, progress) {
                shared.in_flight.fetch_add(1, Ordering::AcqRel);
                let sent = findings.send(finding).await;
                shared.in_flight.fetch_sub(1, Ordering::AcqRel);
                if sent.is_err() {
                    shared.stop.cancel();
                    return Ok(());
                }
            }
        }
    }
}

impl Shared {
    /// Counts a validated reply; the finding to report when it is a new open port.
    fn settle(&self, reply: Reply, progress: &Progress) -> Option<Finding> {
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
    fn concurrent_runs_send_from_distinct_source_ports_in_range() {
        for first in [0, 1234, SOURCE_PORTS - 1] {
            let ports: HashSet<u16> = (0..SOURCE_PORTS).map(|n| source_port(first, n)).collect();
            assert_eq!(ports.len(), usize::from(SOURCE_PORTS), "a port repeats from {first}");
            assert!(
                ports
                    .iter()
                    .all(|p| (SOURCE_PORT_BASE..SOURCE_PORT_BASE + SOURCE_PORTS).contains(p)),
                "a port outside the engine's range from {first}"
            );
        }
        assert_eq!(source_port(5, 0), SOURCE_PORT_BASE + 5);
        assert_eq!(source_port(SOURCE_PORTS - 1, 1), SOURCE_PORT_BASE, "wraps within the range");
    }

    #[test]
    fn replies_are_settled_once_and_only_for_the_plan() {
        let plan = ScanPlan::new(
            TargetSet::parse(&["192.0.2.0/28".into()]).unwrap(),
            PortList::parse("22,80").unwrap(),
            1,
        );
        let progress = Progress::default();
        let shared = Shared {
            range: 0..plan.len(),
            plan,
            stop: CancellationToken::new(),
            answered: Mutex::new(HashSet::new()),
            epoch: Instant::now(),
            sent: AtomicU64::new(0),
            last_walked: AtomicU64::new(0),
            macs: None,
            settled_to: vec![AtomicU64::new(0)],
            in_flight: AtomicU64::new(0),
            src_port: 61_000,
        };
        let ip = Ipv4Addr::new(192, 0, 2, 3);
        let open = Reply::Open { ip, port: 80, echoed: None };
        let found = shared.settle(open, &progress).expect("a new open port");
        assert_eq!((found.ip, found.port, found.state), (ip, 80, PortState::Open));
        assert_eq!(shared.settle(open, &progress), None, "a duplicate SYN-ACK");
        assert_eq!(shared.settle(Reply::Closed { ip, port: 22 }, &progress), None);
        assert_eq!(
            shared.settle(Reply::Open { ip, port: 443, echoed: None }, &progress),
            None,
            "not a plan port"
        );
        let outside = Ipv4Addr::new(192, 0, 2, 99);
        assert_eq!(
            shared.settle(Reply::Open { ip: outside, port: 80, echoed: None }, &progress),
            None
        );
        let snapshot = progress.snapshot();
        assert_eq!((snapshot.replies, snapshot.open), (2, 1));
        assert_eq!(shared.answered.lock().unwrap().len(), 2);
    }
}
