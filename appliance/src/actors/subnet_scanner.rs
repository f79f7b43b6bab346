//! A SubnetScanner: drives the engine over one subnet and batches what it finds; or, for a
//! scan's UDP ports, runs the UDP sweep over its targets and hands the answers (already the
//! probes' exchanges) to the Prober for identification.

use std::collections::HashSet;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use actix::prelude::*;
use sonde_scanner::{Engine, Finding, Progress, ScanPlan};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::BATCH;
use super::persister::{ChunkMark, FinishScan, PersistHosts};
use super::prober::ProbePorts;
use crate::store::HostRecord;
use crate::udp_sweep::{self, PER_HOST, UdpOpen, UdpSweep};

/// Longest time a found port waits in a partial batch.
const BATCH_WINDOW: Duration = Duration::from_millis(100);
/// How often a leased chunk sends its checkpoint down the pipeline to the store.
const MARK_EVERY: Duration = Duration::from_secs(1);

/// Counters of one subnet, shared with the Supervisor that aggregates them.
#[derive(Debug, Default)]
pub(crate) struct SubnetProgress {
    /// The engine's counters.
    pub probes: Progress,
    /// Distinct hosts with an open port (subnets are disjoint, so sums are exact).
    pub hosts_up: AtomicU64,
    /// Why the engine stopped before the end, when it failed: the job then ends failed
    /// (a leased chunk counts a failed attempt) instead of completed with pairs unprobed.
    pub failure: std::sync::Mutex<Option<String>>,
}

/// This subnet is done (all sent, all found ports handed to the Prober).
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct SubnetDone {
    /// The Supervisor's key of the job (the scan, or a leased chunk of it).
    pub job: i64,
    /// Which subnet of the scan.
    pub subnet: usize,
}

/// Everything a SubnetScanner needs; a struct so the constructor stays readable.
#[derive(Debug)]
pub(crate) struct SubnetTask {
    /// Scan id.
    pub scan_id: i64,
    /// The Supervisor's key of the job this subnet belongs to.
    pub job: i64,
    /// Index of the subnet in its scan.
    pub subnet: usize,
    /// The subnet's targets x ports in scan order.
    pub plan: ScanPlan,
    /// The scan's engine; clones share its rate (and the connect engine's concurrency) budget.
    pub engine: Engine,
    /// Counters read by the Supervisor.
    pub progress: Arc<SubnetProgress>,
    /// Fired by a cancel.
    pub cancel: CancellationToken,
    /// Plan index to start from (a leased chunk's checkpoint; 0 otherwise).
    pub start: u64,
    /// The chunk id when this subnet is a leased chunk: its checkpoints follow its results.
    pub chunk: Option<i64>,
    /// TCP through the engine, or the scan's UDP sweep.
    pub kind: SubnetKind,
}

/// What a SubnetScanner runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SubnetKind {
    /// The plan's (address, port) pairs through the engine, as TCP.
    Tcp,
    /// The plan's ports as UDP, over all its targets.
    Udp {
        /// Probes per second (the scan's rate).
        rate: u64,
        /// Probes in flight at most.
        concurrency: usize,
        /// Whether hosts that answer count as up (not when TCP subnets counted them).
        count_hosts: bool,
    },
}

/// Scans one subnet, then stops.
#[derive(Debug)]
pub(crate) struct SubnetScanner {
    task: Option<SubnetTask>,
    prober: Recipient<ProbePorts>,
    /// The same Prober, for a chunk's checkpoints: they travel behind its results.
    marks: Recipient<FinishScan>,
    hosts: Recipient<PersistHosts>,
    done: Recipient<SubnetDone>,
}

impl SubnetScanner {
    /// A scanner for `task`, sending open ports to `prober`, a chunk's checkpoints to
    /// `marks`, on-link hosts found by ARP to `hosts`, and its end to `done`.
    pub(crate) fn new(
        task: SubnetTask,
        prober: Recipient<ProbePorts>,
        marks: Recipient<FinishScan>,
        hosts: Recipient<PersistHosts>,
        done: Recipient<SubnetDone>,
    ) -> Self {
        Self { task: Some(task), prober, marks, hosts, done }
    }
}

impl Actor for SubnetScanner {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let Some(task) = self.task.take() else { return };
        let prober = self.prober.clone();
        let marks = self.marks.clone();
        let hosts = self.hosts.clone();
        let done = self.done.clone();
        let (job, subnet) = (task.job, task.subnet);
        ctx.spawn(
            async move {
                match task.kind {
                    SubnetKind::Tcp => scan_subnet(task, prober, marks, hosts).await,
                    SubnetKind::Udp { .. } => sweep_udp(task, prober).await,
                }
                done.do_send(SubnetDone { job, subnet });
            }
            .into_actor(self)
            .map(|_, _, ctx| ctx.stop()),
        );
    }
}

/// Runs the UDP sweep and hands what answered to the Prober in batches: the sweep's probe
/// was the port's exchange, so the Prober passes it straight to identification.
async fn sweep_udp(task: SubnetTask, prober: Recipient<ProbePorts>) {
    let SubnetKind::Udp { rate, concurrency, count_hosts } = task.kind else { return };
    let SubnetTask { scan_id, plan, progress, cancel, .. } = task;
    let config = UdpSweep { ports: plan.ports().clone(), rate, concurrency, per_host: PER_HOST };
    let (tx, mut rx) = mpsc::channel::<UdpOpen>(BATCH * 4);
    let sweep_progress = progress.clone();
    let sweep = tokio::spawn(async move {
        udp_sweep::sweep(plan.targets(), &config, &sweep_progress.probes, &cancel, tx).await
    });
    let mut hosts: HashSet<Ipv4Addr> = HashSet::new();
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        let next = tokio::time::timeout(BATCH_WINDOW, rx.recv()).await;
        let closed = matches!(next, Ok(None));
        let window_over = next.is_err();
        if let Ok(Some(open)) = next {
            if count_hosts && hosts.insert(open.finding.ip) {
                progress.hosts_up.fetch_add(1, Ordering::Relaxed);
            }
            batch.push((open.finding, open.response));
        }
        if !batch.is_empty() && (closed || batch.len() >= BATCH || window_over) {
            let answered = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
            let ports = ProbePorts { scan_id, findings: Vec::new(), answered };
            if prober.send(ports).await.is_err() {
                tracing::error!(scan_id, "The prober is gone; UDP results are lost.");
                break;
            }
        }
        if closed {
            break;
        }
    }
    match sweep.await {
        Ok(counts) => tracing::info!(
            scan_id,
            sent = counts.sent,
            open = counts.open,
            closed = counts.closed,
            open_filtered = counts.open_filtered,
            "UDP sweep done."
        ),
        // A panicking task already stops Sonde through the process-wide panic hook.
        Err(e) => tracing::error!(scan_id, error = %e, "The UDP sweep stopped abnormally."),
    }
}

/// Runs the engine on the multi-threaded runtime and hands found ports to the Prober in
/// batches, awaiting each hand-over so a busy Prober slows the scan.
async fn scan_subnet(
    task: SubnetTask,
    prober: Recipient<ProbePorts>,
    marks: Recipient<FinishScan>,
    hosts_to_store: Recipient<PersistHosts>,
) {
    let (tx, mut rx) = mpsc::channel::<Finding>(BATCH * 4);
    let SubnetTask { scan_id, plan, engine, progress, cancel, start, chunk, .. } = task;
    // On-link targets: ARP first; the engine probes only those that answered.
    match engine.neighbours(plan.targets(), &cancel).await {
        Ok(found) if !found.is_empty() => {
            let hosts = found
                .iter()
                .map(|n| HostRecord {
                    ip: n.ip,
                    mac: n.mac.to_string(),
                    vendor: n.vendor().map(str::to_owned),
                })
                .collect();
            if hosts_to_store.send(PersistHosts { scan_id, hosts }).await.is_err() {
                tracing::error!(scan_id, "The persister is gone; on-link hosts are not stored.");
            }
        }
        Ok(_) => {}
        // The engine's run below meets the same failure and reports it.
        Err(error) => tracing::warn!(scan_id, %error, "ARP discovery failed."),
    }
    let engine_progress = progress.clone();
    let engine_cancel = cancel.clone();
    let engine_task = tokio::spawn(async move {
        let run = match chunk {
            Some(_) => {
                let range = start.min(plan.len())..plan.len();
                engine.run_range(&plan, range, &engine_progress.probes, tx, engine_cancel).await
            }
            None => engine.run(&plan, &engine_progress.probes, tx, engine_cancel).await,
        };
        if let Err(error) = run {
            // The ports found so far are already on their way to the Prober.
            tracing::error!(scan_id, %error, "The scan engine failed; this subnet stops here.");
            if let Ok(mut failure) = engine_progress.failure.lock() {
                failure.get_or_insert_with(|| error.to_string());
            }
        }
    });

    let mut hosts: HashSet<Ipv4Addr> = HashSet::new();
    let mut batch = Vec::with_capacity(BATCH);
    let mut last_mark = Instant::now();
    loop {
        let next = tokio::time::timeout(BATCH_WINDOW, rx.recv()).await;
        let mut closed = matches!(next, Ok(None));
        let mut found = |finding: Finding, batch: &mut Vec<Finding>| {
            if hosts.insert(finding.ip) {
                progress.hosts_up.fetch_add(1, Ordering::Relaxed);
            }
            batch.push(finding);
        };
        if let Ok(Some(finding)) = next {
            found(finding, &mut batch);
        }
        // A chunk's checkpoint: the engine's settled mark, read before draining the channel,
        // covers only findings now in `batch`; they reach the Prober before the mark does.
        let mark = match chunk {
            Some(chunk_id) if !closed && last_mark.elapsed() >= MARK_EVERY => {
                last_mark = Instant::now();
                let settled_below = progress.probes.settled_below.load(Ordering::Acquire);
                loop {
                    match rx.try_recv() {
                        Ok(finding) => found(finding, &mut batch),
                        Err(mpsc::error::TryRecvError::Empty) => break,
                        Err(mpsc::error::TryRecvError::Disconnected) => {
                            closed = true;
                            break;
                        }
                    }
                }
                Some(ChunkMark { chunk_id, settled_below, done: false })
            }
            _ => None,
        };
        if !batch.is_empty() && (closed || batch.len() >= BATCH || next.is_err() || mark.is_some())
        {
            let findings = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
            if prober.send(ProbePorts { scan_id, findings, answered: Vec::new() }).await.is_err() {
                tracing::error!(scan_id, "The prober is gone; stopping this subnet.");
                cancel.cancel();
            }
        }
        if let Some(mark) = mark {
            let checkpoint = FinishScan {
                scan_id,
                status: sonde_web::api::ScanStatus::Running,
                counters: Default::default(),
                error: None,
                chunk: Some(Box::new(mark)),
            };
            if marks.send(checkpoint).await.is_err() {
                tracing::error!(scan_id, "The prober is gone; stopping this subnet.");
                cancel.cancel();
            }
        }
        if closed {
            break;
        }
    }
    if let Err(e) = engine_task.await {
        // The engine's task panicked: the process-wide panic hook already stops Sonde.
        tracing::error!(scan_id, error = %e, "The scan engine stopped abnormally.");
    }
}
