//! The Supervisor: owns scan jobs, splits them into subnets, runs a bounded number of
//! SubnetScanners per scan, and aggregates their progress.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use actix::prelude::*;
use sonde_scanner::{
    ConnectConfig, Engine, EngineKind, PortList, ScanError, ScanPlan, SynConfig, TargetSet,
};

use sonde_web::api::{EventPayload, ScanCounters, ScanStatus};
use tokio_util::sync::CancellationToken;

use super::EventBus;
use super::persister::{ChunkMark, FinishScan, MarkRunning, PersistHosts, StoreCounters};
use super::prober::ProbePorts;
use super::rate::RateMeter;
use super::subnet_scanner::{SubnetDone, SubnetKind, SubnetProgress, SubnetScanner, SubnetTask};

/// How often progress goes to the event stream (at most a few events per second per scan).
pub(crate) const PROGRESS_EVERY: Duration = Duration::from_millis(500);
/// Progress ticks between two writes of the counters to the store.
const STORE_EVERY_TICKS: u32 = 10;
/// The coarsest split of a SYN scan (the configuration allows no shorter subnet prefix).
const MIN_SPLIT_PREFIX: u8 = 8;

/// A validated scan, ready to run.
#[derive(Debug, Clone)]
pub struct ScanJob {
    /// Scan id in the store.
    pub scan_id: i64,
    /// Targets, exclusions already applied.
    pub targets: TargetSet,
    /// Ports.
    pub ports: PortList,
    /// Seed of the order.
    pub seed: u64,
    /// Probes per second for the whole scan.
    pub rate: u64,
    /// The engine this scan asked for; the configured one when `None`.
    pub engine: Option<EngineKind>,
    /// Set when this job is one leased chunk of a scan shared by several appliances: its
    /// targets are one subnet walked from the chunk's checkpoint, and its end releases the
    /// chunk instead of ending the scan.
    pub chunk: Option<ChunkJob>,
}

/// A leased chunk run as a job, and what the fleet worker watches of it.
#[derive(Debug, Clone)]
pub struct ChunkJob {
    /// Chunk id in the store.
    pub id: i64,
    /// Plan index to start from (the chunk's checkpoint).
    pub start: u64,
    /// The chunk's counters, read to renew its lease.
    pub(crate) progress: Arc<SubnetProgress>,
    /// How the job ended: [`CHUNK_RUNNING`], [`CHUNK_COMPLETED`] or [`CHUNK_STOPPED`].
    pub(crate) outcome: Arc<AtomicU8>,
}

/// The chunk's job is still sending.
pub(crate) const CHUNK_RUNNING: u8 = 0;
/// Everything was sent; its results are on their way to the store, which releases it.
pub(crate) const CHUNK_COMPLETED: u8 = 1;
/// Cancelled or failed: it will not be released by this appliance.
pub(crate) const CHUNK_STOPPED: u8 = 2;

impl ChunkJob {
    /// A job for chunk `id` from plan index `start`.
    pub(crate) fn new(id: i64, start: u64) -> Self {
        Self {
            id,
            start,
            progress: Arc::new(SubnetProgress::default()),
            outcome: Arc::new(AtomicU8::new(CHUNK_RUNNING)),
        }
    }
}

/// Starts a queued scan.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct StartScan(pub ScanJob);

/// Starts a queued scan that also probes UDP ports: they are swept over the scan's targets
/// once its TCP subnets are done, so that the two never add up past the scan's rate.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct StartScanWithUdp {
    /// The scan (its `ports` are the TCP ports, possibly none).
    pub job: ScanJob,
    /// The UDP ports.
    pub udp_ports: PortList,
}

/// Asks a scan to stop.
#[derive(Debug, Message)]
#[rtype(result = "CancelOutcome")]
pub struct CancelScan {
    /// Scan id.
    pub scan_id: i64,
}

/// What a cancel did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, MessageResponse)]
pub enum CancelOutcome {
    /// The scan is stopping; it ends `cancelled` once its results are stored.
    Cancelling,
    /// The supervisor does not run this scan (unknown, or already finished).
    NotRunning,
}

/// Limits of the supervisor.
#[derive(Debug, Clone)]
pub struct SupervisorConfig {
    /// Subnet size, as a prefix length.
    pub subnet_prefix: u8,
    /// SubnetScanners running at once per scan.
    pub parallel_subnets: usize,
    /// Which engine scans: `Auto` takes SYN where the process may open raw sockets and the
    /// targets are not loopback, connect otherwise.
    pub engine: EngineKind,
    /// Connect engine settings; the rate comes from each scan.
    pub connect: ConnectConfig,
    /// SYN engine settings; the rate comes from each scan.
    pub syn: SynConfig,
}

/// The supervisor's bookkeeping, free of actix.
#[derive(Debug)]
pub(crate) struct Jobs {
    config: SupervisorConfig,
    /// Keyed by [`job_key`], so that chunks of one scan run side by side.
    jobs: HashMap<i64, Job>,
}

/// A job's key: its scan id, or for a leased chunk its chunk id negated (scan and chunk ids
/// are positive, so the two never meet).
fn job_key(job: &ScanJob) -> i64 {
    job.chunk.as_ref().map_or(job.scan_id, |c| -c.id)
}

#[derive(Debug)]
struct Job {
    scan_id: i64,
    ports: PortList,
    seed: u64,
    engine: Engine,
    pending: VecDeque<(usize, TargetSet)>,
    /// The UDP ports still to sweep (empty once the sweep started, or when none were asked).
    udp_ports: PortList,
    /// The scan's targets, for the UDP sweep.
    targets: TargetSet,
    /// The scan's rate, for the UDP sweep.
    scan_rate: u64,
    running: HashMap<usize, Arc<SubnetProgress>>,
    finished: ScanCounters,
    cancel: CancellationToken,
    rate: RateMeter,
    chunk: Option<ChunkJob>,
    /// The first engine failure of one of its subnets: the job ends failed with it.
    failure: Option<String>,
}

impl Jobs {
    /// No jobs yet.
    pub(crate) fn new(config: SupervisorConfig) -> Self {
        Self { config, jobs: HashMap::new() }
    }

    /// Registers a scan and returns its first subnet tasks, or its end when it has nothing to
    /// probe.
    pub(crate) fn start(
        &mut self,
        job: ScanJob,
        now: Instant,
    ) -> Result<Vec<SubnetTask>, FinishScan> {
        self.start_with_udp(job, PortList::default(), now)
    }

    /// As [`Jobs::start`], with UDP ports swept after the TCP subnets (a leased chunk never
    /// has any: shared scans are TCP only).
    pub(crate) fn start_with_udp(
        &mut self,
        job: ScanJob,
        udp_ports: PortList,
        now: Instant,
    ) -> Result<Vec<SubnetTask>, FinishScan> {
        let udp_ports = if job.chunk.is_some() { PortList::default() } else { udp_ports };
        let total = job.targets.len() * (job.ports.len() + udp_ports.len()) as u64;
        if total == 0 {
            let end = finish(job.scan_id, ScanStatus::Completed, ScanCounters::default());
            return Err(end_chunk(end, job.chunk.as_ref()));
        }
        let key = job_key(&job);
        let engine = match self.engine_for(&job) {
            Ok(engine) => self.share_chunk_engine(&job, engine),
            Err(error) => {
                tracing::error!(scan_id = job.scan_id, %error, "The scan cannot start.");
                let counters = ScanCounters { probes_total: total, ..ScanCounters::default() };
                let mut end = finish(job.scan_id, ScanStatus::Failed, counters);
                end.error = Some(format!("the scan engine cannot start: {error}"));
                return Err(end_chunk(end, job.chunk.as_ref()));
            }
        };
        let prefix = split_prefix(
            matches!(engine, Engine::Syn(_)),
            &job.targets,
            self.config.subnet_prefix,
            self.config.parallel_subnets,
        );
        // A chunk is already one subnet, walked in its own order from its checkpoint.
        let pending = match job.chunk {
            Some(_) => VecDeque::from([(0, job.targets.clone())]),
            // A UDP-only scan has no TCP subnet to walk.
            None if job.ports.is_empty() => VecDeque::new(),
            None => job.targets.split_by_prefix(prefix).into_iter().enumerate().collect(),
        };
        let entry = Job {
            udp_ports,
            targets: job.targets.clone(),
            scan_rate: job.rate,
            ports: job.ports,
            seed: job.seed,
            engine,
            pending,
            running: HashMap::new(),
            finished: ScanCounters { probes_total: total, ..ScanCounters::default() },
            cancel: CancellationToken::new(),
            rate: RateMeter::new(now, 0),
            chunk: job.chunk.clone(),
            scan_id: job.scan_id,
            failure: None,
        };
        self.jobs.insert(key, entry);
        Ok(self.launch(key))
    }

    /// A subnet of job `key` finished: its counters join the totals; the next subnets
    /// start, or the scan (or chunk) ends when none is left.
    pub(crate) fn subnet_done(
        &mut self,
        key: i64,
        subnet: usize,
    ) -> Result<Vec<SubnetTask>, FinishScan> {
        let Some(job) = self.jobs.get_mut(&key) else { return Ok(Vec::new()) };
        if let Some(progress) = job.running.remove(&subnet) {
            add_progress(&mut job.finished, &progress);
            if job.failure.is_none() {
                job.failure = progress.failure.lock().ok().and_then(|f| f.clone());
            }
        }
        if job.cancel.is_cancelled() {
            job.pending.clear();
            job.udp_ports = PortList::default();
        }
        if job.running.is_empty() && job.pending.is_empty() && job.udp_ports.is_empty() {
            let Some(job) = self.jobs.remove(&key) else { return Ok(Vec::new()) };
            let status = if job.cancel.is_cancelled() {
                ScanStatus::Cancelled
            } else if job.failure.is_some() {
                ScanStatus::Failed
            } else {
                ScanStatus::Completed
            };
            let mut end = finish(job.scan_id, status, job.finished);
            if status == ScanStatus::Failed {
                end.error = job.failure.map(|e| format!("the scan engine failed: {e}"));
            }
            return Err(end_chunk(end, job.chunk.as_ref()));
        }
        Ok(self.launch(key))
    }

    /// Stops a scan: running subnets stop sending, pending ones never start.
    pub(crate) fn cancel(&mut self, scan_id: i64) -> CancelOutcome {
        let mut outcome = CancelOutcome::NotRunning;
        for job in self.jobs.values().filter(|job| job.scan_id == scan_id) {
            job.cancel.cancel();
            outcome = CancelOutcome::Cancelling;
        }
        outcome
    }

    /// Counters of every running scan, with the rate smoothed since the previous call.
    pub(crate) fn progress(&mut self, now: Instant) -> Vec<(i64, ScanCounters)> {
        let mut out = Vec::with_capacity(self.jobs.len());
        // A chunk's progress reaches the event stream summed over the whole shared scan, by
        // the fleet worker.
        for (&scan_id, job) in self.jobs.iter_mut().filter(|(_, job)| job.chunk.is_none()) {
            let mut c = job.finished;
            for progress in job.running.values() {
                add_progress(&mut c, progress);
            }
            job.rate.measure(now, &mut c);
            out.push((scan_id, c));
        }
        out
    }

    /// The engine of one scan, shared by its subnets (they split its rate). With `auto`, a
    /// scan never fails for want of raw sockets: it uses connect and says why in the log;
    /// an engine the configuration forces must be available.
    fn engine_for(&self, job: &ScanJob) -> Result<Engine, ScanError> {
        let connect = ConnectConfig { rate: job.rate, ..self.config.connect.clone() };
        let syn = SynConfig { rate: job.rate, ..self.config.syn.clone() };
        let kind = job.engine.unwrap_or(self.config.engine);
        let choice = Engine::choose(kind, &job.targets, connect, syn)?;
        match &choice.fallback {
            Some(why) => tracing::info!(
                scan_id = job.scan_id,
                reason = %why,
                "The SYN engine is unavailable for this scan; it uses the connect engine."
            ),
            None => tracing::info!(
                scan_id = job.scan_id,
                engine = choice.engine.name(),
                "Scan engine chosen."
            ),
        }
        Ok(choice.engine)
    }

    /// For a leased chunk, the engine of another chunk of the same scan running here when
    /// `opened` goes out the same way, so that this appliance's chunks of one scan draw from
    /// one rate budget (engine clones share their pacer), as a single appliance's subnets
    /// do. An engine that cannot be shared (connect beside SYN, or another interface or
    /// next hop) keeps its own pacer at the scan's rate over the parallel chunks: the sum
    /// then stays under twice the scan's rate instead of `parallel_subnets` times it.
    fn share_chunk_engine(&self, job: &ScanJob, opened: Engine) -> Engine {
        if job.chunk.is_none() {
            return opened;
        }
        let mut siblings =
            self.jobs.values().filter(|j| j.scan_id == job.scan_id && j.chunk.is_some()).peekable();
        if siblings.peek().is_none() {
            return opened;
        }
        for sibling in siblings {
            let same_way = match (&sibling.engine, &opened) {
                (Engine::Connect(_), Engine::Connect(_)) => true,
                (Engine::Syn(a), Engine::Syn(b)) => a.path() == b.path(),
                _ => false,
            };
            if same_way {
                return sibling.engine.clone();
            }
        }
        let share = (job.rate / self.config.parallel_subnets.max(1) as u64).max(1);
        tracing::warn!(
            scan_id = job.scan_id,
            rate = share,
            "This chunk goes out another way than the scan's other chunks here; it gets its \
             own share of the scan's rate."
        );
        let own = ScanJob { rate: share, ..job.clone() };
        self.engine_for(&own).unwrap_or(opened)
    }

    /// Starts subnets until the scan's parallel budget is used.
    fn launch(&mut self, key: i64) -> Vec<SubnetTask> {
        let Some(job) = self.jobs.get_mut(&key) else { return Vec::new() };
        let scan_id = job.scan_id;
        let mut tasks = Vec::new();
        while job.running.len() < self.config.parallel_subnets {
            let Some((subnet, targets)) = job.pending.pop_front() else { break };
            // Each subnet gets its own order, still determined by the scan's seed; a chunk
            // carries the seed of its subnet already.
            let (seed, progress, start, chunk) = match &job.chunk {
                Some(c) => (job.seed, c.progress.clone(), c.start, Some(c.id)),
                None => {
                    (subnet_seed(job.seed, subnet), Arc::new(SubnetProgress::default()), 0, None)
                }
            };
            job.running.insert(subnet, progress.clone());
            tasks.push(SubnetTask {
                scan_id,
                job: key,
                subnet,
                plan: ScanPlan::new(targets, job.ports.clone(), seed),
                engine: job.engine.clone(),
                progress,
                cancel: job.cancel.child_token(),
                start,
                chunk,
                kind: SubnetKind::Tcp,
            });
        }
        // The UDP sweep runs alone once every TCP subnet is done: it paces itself at the
        // scan's rate, which the TCP subnets' shared engine would otherwise also use.
        if tasks.is_empty()
            && job.running.is_empty()
            && job.pending.is_empty()
            && !job.udp_ports.is_empty()
        {
            let udp_ports = std::mem::take(&mut job.udp_ports);
            // After every TCP subnet index, so that its counters are kept apart.
            let subnet = usize::MAX;
            let progress = Arc::new(SubnetProgress::default());
            job.running.insert(subnet, progress.clone());
            tasks.push(SubnetTask {
                scan_id,
                job: key,
                subnet,
                plan: ScanPlan::new(job.targets.clone(), udp_ports, job.seed),
                engine: job.engine.clone(),
                progress,
                cancel: job.cancel.child_token(),
                start: 0,
                chunk: None,
                kind: SubnetKind::Udp {
                    rate: job.scan_rate,
                    concurrency: self.config.connect.concurrency,
                    // Hosts with TCP ports open were counted by their subnets already.
                    count_hosts: job.ports.is_empty(),
                },
            });
        }
        tasks
    }
}

fn add_progress(c: &mut ScanCounters, p: &SubnetProgress) {
    let s = p.probes.snapshot();
    c.probes_sent += s.sent;
    c.probes_done += s.done;
    c.replies += s.replies;
    c.open_ports += s.open;
    c.hosts_up += p.hosts_up.load(Ordering::Relaxed);
}

/// The seed of subnet (or chunk) `index` of a scan seeded with `seed`.
pub(crate) fn subnet_seed(seed: u64, index: usize) -> u64 {
    seed ^ (index as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

fn finish(scan_id: i64, status: ScanStatus, counters: ScanCounters) -> FinishScan {
    FinishScan { scan_id, status, counters, error: None, chunk: None }
}

/// A chunk's end releases the chunk when everything was sent; otherwise it is only a
/// checkpoint, and the chunk's lease passes on when it expires.
fn end_chunk(mut end: FinishScan, chunk: Option<&ChunkJob>) -> FinishScan {
    if let Some(c) = chunk {
        let done = end.status == ScanStatus::Completed;
        let outcome = if done { CHUNK_COMPLETED } else { CHUNK_STOPPED };
        c.outcome.store(outcome, Ordering::Release);
        let settled_below = c.progress.probes.settled_below.load(Ordering::Acquire);
        end.chunk = Some(Box::new(ChunkMark { chunk_id: c.id, settled_below, done }));
    }
    end
}

/// The actor around `Jobs`, the bookkeeping it delegates to.
#[derive(Debug)]
pub struct Supervisor {
    jobs: Jobs,
    prober: Recipient<ProbePorts>,
    finish: Recipient<FinishScan>,
    mark_running: Recipient<MarkRunning>,
    store_counters: Recipient<StoreCounters>,
    /// Where SubnetScanners send on-link hosts found by ARP (the Persister).
    persist_hosts: Recipient<PersistHosts>,
    bus: Arc<EventBus>,
    ticks: u32,
}

impl Supervisor {
    /// A supervisor whose scanners feed `prober`; scan ends go to `finish` (the Prober too),
    /// status, counters and on-link hosts to the Persister.
    pub fn new(
        config: SupervisorConfig,
        prober: Recipient<ProbePorts>,
        finish: Recipient<FinishScan>,
        mark_running: Recipient<MarkRunning>,
        store_counters: Recipient<StoreCounters>,
        persist_hosts: Recipient<PersistHosts>,
        bus: Arc<EventBus>,
    ) -> Self {
        Self {
            jobs: Jobs::new(config),
            prober,
            finish,
            mark_running,
            store_counters,
            persist_hosts,
            bus,
            ticks: 0,
        }
    }

    fn spawn_or_finish(&self, next: Result<Vec<SubnetTask>, FinishScan>, ctx: &mut Context<Self>) {
        match next {
            Ok(tasks) => {
                for task in tasks {
                    SubnetScanner::new(
                        task,
                        self.prober.clone(),
                        self.finish.clone(),
                        self.persist_hosts.clone(),
                        ctx.address().recipient(),
                    )
                    .start();
                }
            }
            Err(end) => {
                tracing::info!(
                    scan_id = end.scan_id,
                    status = end.status.as_str(),
                    probes = end.counters.probes_done,
                    "Scan finished sending; storing its last results."
                );
                self.finish.do_send(end);
            }
        }
    }
}

impl Actor for Supervisor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.run_interval(PROGRESS_EVERY, |act, _| {
            act.ticks = act.ticks.wrapping_add(1);
            let progress = act.jobs.progress(Instant::now());
            let store = act.ticks % STORE_EVERY_TICKS == 0;
            for &(scan_id, counters) in &progress {
                // Counters in the store are advisory until the end; skip a write when busy.
                if store {
                    let _ = act.store_counters.try_send(StoreCounters { scan_id, counters });
                }
            }
            act.bus.publish(
                progress
                    .into_iter()
                    .map(|(scan_id, counters)| EventPayload::ScanProgress { scan_id, counters }),
            );
        });
    }
}

impl Handler<StartScan> for Supervisor {
    type Result = ();

    fn handle(&mut self, msg: StartScan, ctx: &mut Self::Context) {
        let scan_id = msg.0.scan_id;
        tracing::info!(
            scan_id,
            addresses = msg.0.targets.len(),
            ports = msg.0.ports.len(),
            rate = msg.0.rate,
            "Scan starting."
        );
        // A shared scan is marked running when its chunks are stored.
        if msg.0.chunk.is_none() {
            self.mark_running.do_send(MarkRunning { scan_id });
        }
        let next = self.jobs.start(msg.0, Instant::now());
        self.spawn_or_finish(next, ctx);
    }
}

impl Handler<StartScanWithUdp> for Supervisor {
    type Result = ();

    fn handle(&mut self, msg: StartScanWithUdp, ctx: &mut Self::Context) {
        let StartScanWithUdp { job, udp_ports } = msg;
        tracing::info!(
            scan_id = job.scan_id,
            addresses = job.targets.len(),
            ports = job.ports.len(),
            udp_ports = udp_ports.len(),
            rate = job.rate,
            "Scan starting."
        );
        self.mark_running.do_send(MarkRunning { scan_id: job.scan_id });
        let next = self.jobs.start_with_udp(job, udp_ports, Instant::now());
        self.spawn_or_finish(next, ctx);
    }
}

impl Handler<SubnetDone> for Supervisor {
    type Result = ();

    fn handle(&mut self, msg: SubnetDone, ctx: &mut Self::Context) {
        let next = self.jobs.subnet_done(msg.job, msg.subnet);
        self.spawn_or_finish(next, ctx);
    }
}

impl Handler<CancelScan> for Supervisor {
    type Result = CancelOutcome;

    fn handle(&mut self, msg: CancelScan, _: &mut Self::Context) -> CancelOutcome {
        self.jobs.cancel(msg.scan_id)
    }
}

/// The prefix a scan's targets are split by. A SYN run ends with the wait for late replies
/// (after each retry pass too): subnets run one after another would add their waits up, and a
/// /16 in /24s through 16 parallel subnets would wait 16 times. So a SYN scan is split into at
/// most `parallel` subnets (by the longest prefix, no longer than `configured`, that allows
/// it): they all send at once, sharing the rate, and wait once, together. The connect engine
/// waits per attempt, not per run, and keeps the configured subnets.
fn split_prefix(syn: bool, targets: &TargetSet, configured: u8, parallel: usize) -> u8 {
    if !syn {
        return configured;
    }
    // Subnet counts grow with the prefix length: stop at the first that is too many.
    let mut prefix = MIN_SPLIT_PREFIX.min(configured);
    while prefix < configured && targets.split_by_prefix(prefix + 1).len() <= parallel {
        prefix += 1;
    }
    prefix
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(parallel: usize) -> SupervisorConfig {
        SupervisorConfig {
            subnet_prefix: 24,
            parallel_subnets: parallel,
            // Jobs never run their engine here, and a unit test opens no raw socket.
            engine: EngineKind::Connect,
            connect: ConnectConfig::default(),
            syn: SynConfig::default(),
        }
    }

    fn job(targets: &str) -> ScanJob {
        ScanJob {
            scan_id: 1,
            targets: TargetSet::parse(&[targets.to_string()]).unwrap(),
            ports: PortList::parse("22,80").unwrap(),
            seed: 5,
            rate: 1000,
            engine: None,
            chunk: None,
        }
    }

    #[test]
    fn a_scan_may_override_the_configured_engine() {
        // A forced SYN engine on loopback cannot run; the scan's own choice of connect wins.
        let jobs = Jobs::new(SupervisorConfig { engine: EngineKind::Syn, ..config(1) });
        let own = ScanJob { engine: Some(EngineKind::Connect), ..job("127.0.0.1") };
        assert_eq!(jobs.engine_for(&own).unwrap().name(), "connect");
        let jobs = Jobs::new(config(1));
        assert_eq!(jobs.engine_for(&job("127.0.0.1")).unwrap().name(), "connect");
    }

    #[test]
    fn subnets_run_within_the_parallel_budget_until_all_are_done() {
        let mut jobs = Jobs::new(config(2));
        let now = Instant::now();
        let first = jobs.start(job("10.0.0.0/22"), now).unwrap();
        assert_eq!(first.iter().map(|t| t.subnet).collect::<Vec<_>>(), vec![0, 1]);
        assert_eq!(first[0].plan.len(), 256 * 2);
        let next = jobs.subnet_done(1, 0).unwrap();
        assert_eq!(next.iter().map(|t| t.subnet).collect::<Vec<_>>(), vec![2]);
        let next = jobs.subnet_done(1, 1).unwrap();
        assert_eq!(next.iter().map(|t| t.subnet).collect::<Vec<_>>(), vec![3]);
        assert!(jobs.subnet_done(1, 2).unwrap().is_empty());
        let end = jobs.subnet_done(1, 3).unwrap_err();
        assert_eq!(end.status, ScanStatus::Completed);
        assert_eq!(end.counters.probes_total, 1024 * 2);
        assert_eq!(jobs.cancel(1), CancelOutcome::NotRunning);
    }

    #[test]
    fn a_forced_engine_that_cannot_run_fails_the_scan() {
        // Loopback is refused before any raw socket is opened, so this sends nothing.
        let mut jobs = Jobs::new(SupervisorConfig { engine: EngineKind::Syn, ..config(1) });
        let end = jobs.start(job("127.0.0.0/30"), Instant::now()).unwrap_err();
        assert_eq!(end.status, ScanStatus::Failed);
        let error = end.error.unwrap_or_default();
        assert!(error.starts_with("the scan engine cannot start: "), "{error}");
        assert_eq!(end.counters.probes_total, 8);
        assert_eq!(jobs.cancel(1), CancelOutcome::NotRunning);
    }

    #[test]
    fn a_cancelled_scan_starts_nothing_more_and_ends_cancelled() {
        let mut jobs = Jobs::new(config(1));
        let first = jobs.start(job("10.0.0.0/23"), Instant::now()).unwrap();
        assert_eq!(jobs.cancel(1), CancelOutcome::Cancelling);
        assert!(first[0].cancel.is_cancelled(), "running subnets see the cancel");
        let end = jobs.subnet_done(1, 0).unwrap_err();
        assert_eq!(end.status, ScanStatus::Cancelled);
    }

    #[test]
    fn progress_sums_running_and_finished_subnets() {
        let mut jobs = Jobs::new(config(2));
        let t0 = Instant::now();
        let tasks = jobs.start(job("10.0.0.0/23"), t0).unwrap();
        tasks[0].progress.probes.sent.store(100, Ordering::Relaxed);
        tasks[0].progress.probes.done.store(100, Ordering::Relaxed);
        tasks[1].progress.probes.sent.store(50, Ordering::Relaxed);
        tasks[1].progress.probes.done.store(50, Ordering::Relaxed);
        tasks[1].progress.hosts_up.store(3, Ordering::Relaxed);
        let p = jobs.progress(t0 + Duration::from_secs(1));
        let (_, c) = p[0];
        assert_eq!((c.probes_sent, c.probes_done, c.hosts_up), (150, 150, 3));
        assert!((c.rate_pps - 150.0).abs() < 1e-6);
        let eta = c.eta_seconds.unwrap();
        assert!((eta - (1024.0 - 150.0) / 150.0).abs() < 1e-6, "{eta}");
        assert!(jobs.subnet_done(1, 0).unwrap().is_empty());
        let (_, c) = jobs.progress(t0 + Duration::from_secs(2))[0];
        assert_eq!(c.probes_sent, 150, "a finished subnet's counters are kept");
    }

    #[test]
    fn syn_scans_split_into_no_more_subnets_than_run_at_once() {
        let targets = |t: &[&str]| {
            TargetSet::parse(&t.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
        };
        let slash16 = targets(&["10.77.0.0/16"]);
        assert_eq!(split_prefix(false, &slash16, 24, 16), 24, "connect keeps its subnets");
        assert_eq!(split_prefix(true, &slash16, 24, 16), 20, "16 subnets of a /16");
        assert_eq!(split_prefix(true, &slash16, 24, 1), 16, "one subnet: the /16 itself");
        assert_eq!(split_prefix(true, &slash16, 24, 1000), 24, "never finer than configured");
        assert_eq!(split_prefix(true, &targets(&["10.0.0.0/22"]), 24, 16), 24);
        // Scattered targets: no prefix of 8 or more puts them in fewer subnets.
        let scattered = targets(&["10.0.0.1", "11.0.0.1", "12.0.0.1"]);
        assert_eq!(split_prefix(true, &scattered, 24, 2), 8);
        assert_eq!(split_prefix(true, &scattered, 24, 3), 24);
        for (syn, parallel) in [(true, 16), (true, 1), (false, 16)] {
            let parts = slash16.split_by_prefix(split_prefix(syn, &slash16, 24, parallel));
            assert_eq!(parts.iter().map(TargetSet::len).sum::<u64>(), 65_536, "all of it");
        }
    }

    /// Chunk `id` of scan 1 over `targets`, at the scan's `rate`.
    fn chunk(id: i64, targets: &str, ports: &str, rate: u64) -> ScanJob {
        ScanJob {
            ports: PortList::parse(ports).unwrap(),
            rate,
            chunk: Some(ChunkJob::new(id, 0)),
            ..job(targets)
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_appliances_chunks_of_one_scan_share_the_scans_rate() {
        // Two chunks of one scan run side by side, each over 250 closed loopback ports, at a
        // scan rate of 500/s. One budget: 500 probes take about a second. A budget each (the
        // bug): half a second.
        let mut jobs = Jobs::new(config(2));
        let now = Instant::now();
        let ports = "40000-40249";
        let mut tasks = jobs.start(chunk(1, "127.0.0.2", ports, 500), now).unwrap();
        tasks.extend(jobs.start(chunk(2, "127.0.0.3", ports, 500), now).unwrap());
        assert_eq!(tasks.len(), 2);
        let started = Instant::now();
        let runs = tasks.into_iter().map(|task| {
            tokio::spawn(async move {
                let (tx, mut rx) = tokio::sync::mpsc::channel(1024);
                let drain = tokio::spawn(async move { while rx.recv().await.is_some() {} });
                task.engine.run(&task.plan, &task.progress.probes, tx, task.cancel).await.unwrap();
                drain.await.unwrap();
                task.progress.probes.snapshot().sent
            })
        });
        let mut sent = 0;
        for run in runs.collect::<Vec<_>>() {
            sent += run.await.unwrap();
        }
        let elapsed = started.elapsed();
        assert_eq!(sent, 500);
        assert!(elapsed >= Duration::from_millis(900), "500 probes at 500/s took {elapsed:?}");
    }

    #[test]
    fn chunks_of_other_scans_keep_their_own_rate() {
        let mut jobs = Jobs::new(config(2));
        let now = Instant::now();
        let a = jobs.start(chunk(1, "127.0.0.2", "1", 500), now).unwrap();
        let b = jobs.start(ScanJob { scan_id: 2, ..chunk(2, "127.0.0.3", "1", 300) }, now);
        let (Engine::Connect(a), Engine::Connect(b)) = (&a[0].engine, &b.unwrap()[0].engine) else {
            panic!("loopback chunks use the connect engine")
        };
        assert_eq!((a.config().rate, b.config().rate), (500, 300));
    }

    #[test]
    fn udp_ports_are_swept_once_every_tcp_subnet_is_done() {
        let mut jobs = Jobs::new(config(1));
        let udp = PortList::parse("53,161").unwrap();
        let first = jobs.start_with_udp(job("10.0.0.0/23"), udp.clone(), Instant::now()).unwrap();
        assert_eq!((first.len(), first[0].kind), (1, SubnetKind::Tcp));
        assert!(jobs.subnet_done(1, 0).unwrap().iter().all(|t| t.kind == SubnetKind::Tcp));
        let sweep = jobs.subnet_done(1, 1).unwrap();
        let [task] = sweep.as_slice() else { panic!("one UDP sweep: {sweep:?}") };
        let SubnetKind::Udp { rate, count_hosts, .. } = task.kind else { panic!("{task:?}") };
        assert_eq!((rate, count_hosts), (1000, false), "the scan's rate; TCP counted the hosts");
        assert_eq!(
            (task.plan.targets().len(), task.plan.ports().as_slice()),
            (512, &[53, 161][..])
        );
        let end = jobs.subnet_done(1, task.subnet).unwrap_err();
        assert_eq!(end.status, ScanStatus::Completed);
        assert_eq!(end.counters.probes_total, 512 * 4, "TCP and UDP pairs");

        // UDP only: the sweep starts at once and counts the hosts that answer.
        let only = ScanJob { ports: PortList::default(), ..job("10.0.0.0/24") };
        let tasks = jobs.start_with_udp(only, udp.clone(), Instant::now()).unwrap();
        assert!(matches!(
            tasks[..],
            [SubnetTask { kind: SubnetKind::Udp { count_hosts: true, .. }, .. }]
        ));

        // A cancel before the TCP subnets end drops the sweep.
        let mut jobs = Jobs::new(config(1));
        jobs.start_with_udp(job("10.0.0.0/24"), udp, Instant::now()).unwrap();
        jobs.cancel(1);
        assert_eq!(jobs.subnet_done(1, 0).unwrap_err().status, ScanStatus::Cancelled);
    }

    #[test]
    fn nothing_to_probe_ends_at_once() {
        let mut jobs = Jobs::new(config(2));
        let mut empty = job("10.0.0.1");
        empty.ports = PortList::default();
        assert_eq!(jobs.start(empty, Instant::now()).unwrap_err().status, ScanStatus::Completed);
    }
}
