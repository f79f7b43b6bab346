//! The TCP-connect engine: no privilege needed, works on loopback, used as the fallback.

use std::collections::{BTreeSet, VecDeque};
use std::future::Future;
use std::io;
use std::net::{SocketAddr, SocketAddrV4};
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::{JoinError, JoinSet};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::{Finding, Pacer, PortState, Probe, Progress, Proto, ScanError, ScanPlan};

mod backend;
mod ring;
mod stripe;

pub use backend::{ActiveBackend, ConnectBackend};

/// io_uring rings at most, whatever the configuration asks: beyond the CPUs they only add
/// threads.
pub const MAX_CONNECT_THREADS: usize = 256;
/// How long the engine pauses when this host runs out of descriptors, ports or buffers.
const EXHAUSTION_BACKOFF: Duration = Duration::from_millis(20);
/// Exhaustion is logged at most once per this period, with the count since the last line.
const EXHAUSTION_LOG_PERIOD: Duration = Duration::from_secs(1);

/// Settings of the connect engine.
#[derive(Debug, Clone)]
pub struct ConnectConfig {
    /// Connections in flight at most (0 counts as 1).
    pub concurrency: usize,
    /// How long one attempt may wait for the handshake.
    pub timeout: Duration,
    /// Extra attempts after a timeout (a reset is an answer and is not retried).
    pub retries: u8,
    /// Probes per second (0 = unlimited).
    pub rate: u64,
    /// io_uring or epoll; `Auto` takes io_uring where it works.
    pub backend: ConnectBackend,
    /// io_uring rings, one thread each, splitting the plan and the concurrency between them
    /// (0 = one per CPU). A connect costs mostly kernel CPU, so one ring tops out at what one
    /// CPU can do. The epoll path spreads over tokio's workers and ignores this.
    pub threads: usize,
}

impl Default for ConnectConfig {
    fn default() -> Self {
        Self {
            concurrency: 1024,
            timeout: Duration::from_millis(1000),
            retries: 1,
            rate: 10_000,
            backend: ConnectBackend::Auto,
            threads: 0,
        }
    }
}

/// TCP-connect probing. Clones share the rate budget and the concurrency limit, so several
/// subnet scanners can draw from one global budget.
#[derive(Debug, Clone)]
pub struct ConnectEngine {
    config: ConnectConfig,
    pacer: Arc<Pacer>,
    /// One permit per connection in flight, across every clone. An attempt holds its permit
    /// until its socket is closed, so the limit bounds open descriptors too.
    slots: Arc<Semaphore>,
    /// The path chosen at construction, for every run.
    backend: ActiveBackend,
}

/// What one connection attempt learned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Attempt {
    /// The handshake completed after this long.
    Open(Duration),
    /// The target answered with a reset.
    Closed,
    /// No usable answer: a timeout or an unreachable error. Retried while retries last.
    Silent,
    /// This host ran out of descriptors, ephemeral ports or buffers (the errno): nothing was
    /// learned about the target, so the probe is retried after a pause at no retry's cost.
    Exhausted(i32),
}

/// A probe and the retries it has used.
#[derive(Debug, Clone, Copy)]
struct Job {
    /// Index of the probe in the plan.
    index: u64,
    probe: Probe,
    retries_used: u8,
}

/// Whether a scan goes on after an outcome.
#[derive(Debug, PartialEq, Eq)]
enum Flow {
    Continue,
    Stop,
}

/// The state of one `run`: the retry queue and the attempts in flight.
#[derive(Debug)]
struct Scan<'a> {
    config: &'a ConnectConfig,
    progress: &'a Progress,
    findings: &'a mpsc::Sender<Finding>,
    cancel: &'a CancellationToken,
    /// Probes to try again, ahead of fresh ones so their pairs settle early.
    retries: VecDeque<Job>,
    /// Plan indexes taken but not settled (in flight or waiting for a retry): the smallest
    /// is the low-water mark a checkpoint may save.
    unsettled: BTreeSet<u64>,
    /// Attempts run as tasks so the multi-threaded runtime spreads their syscalls over its
    /// workers: on loopback with 2 workers this settled ~100k closed-port attempts/s against
    /// ~85k for a `FuturesUnordered` polled by the scan task alone.
    inflight: JoinSet<(Job, Attempt)>,
    /// No attempt starts before this instant, set when local resources ran out.
    paused_until: Option<Instant>,
    exhaustion: ExhaustionLog,
}

/// Rate-limited reporting of local resource exhaustion.
#[derive(Debug, Default)]
struct ExhaustionLog {
    unreported: u64,
    last_report: Option<Instant>,
}

impl ConnectEngine {
    /// An engine with its own budget, on the backend `config` asks for; `Err` when it asks
    /// for io_uring and io_uring cannot run here.
    pub fn open(config: ConnectConfig) -> Result<Self, ScanError> {
        let backend = config.backend.resolve()?;
        Ok(Self::on(config, backend))
    }
    /// [`open`](Self::open), falling back to epoll when io_uring was asked for and cannot run.
    pub fn new(config: ConnectConfig) -> Self {
        let backend = config.backend.resolve().unwrap_or_else(|why| {
            tracing::warn!(%why, "The connect engine runs on epoll instead.");
            ActiveBackend::Epoll
        });
        Self::on(config, backend)
    }
    fn on(config: ConnectConfig, backend: ActiveBackend) -> Self {
        let pacer = Arc::new(Pacer::new(config.rate));
        let slots = Arc::new(Semaphore::new(config.concurrency.clamp(1, Semaphore::MAX_PERMITS)));
        Self { config, pacer, slots, backend }
    }
    /// The path connects take.
    pub fn backend(&self) -> ActiveBackend {
        self.backend
    }
    /// The settings.
    pub fn config(&self) -> &ConnectConfig {
        &self.config
    }
    /// Probes every pair of `plan` in order, sends each open port to `findings` as soon as it
    /// is found, and returns when all are done or `cancel` fires. Counters go to `progress`.
    /// A closed `findings` channel stops the scan like a cancel.
    ///
    /// Attempts still in flight when the scan stops are aborted; otherwise `run` returns once
    /// every pair is settled. Sockets close with a reset, so no `TIME_WAIT` piles up.
    pub async fn run(
        &self,
        plan: &ScanPlan,
        progress: &Progress,
        findings: mpsc::Sender<Finding>,
        cancel: CancellationToken,
    ) {
        self.run_range(plan, 0..plan.len(), progress, findings, cancel).await;
    }

    /// [`run`](Self::run) over the plan indexes `range` only (clamped to the plan): a shard,
    /// or what is left of a scan resumed from a checkpoint. `progress.settled_below` follows
    /// the index below which every pair of `range` is settled; it equals `range.end` once
    /// the range is done.
    pub async fn run_range(
        &self,
        plan: &ScanPlan,
        range: Range<u64>,
        progress: &Progress,
        findings: mpsc::Sender<Finding>,
        cancel: CancellationToken,
    ) {
        if self.backend == ActiveBackend::Uring
            && self.run_ring(plan, range.clone(), progress, &findings, &cancel).await
        {
            return;
        }
        self.run_with(plan, range, progress, &findings, &cancel, connect_once).await;
    }

    /// [`run`](Self::run) with the attempt as a parameter, so tests can stand in for the
    /// network.
    async fn run_with<A, F>(
        &self,
        plan: &ScanPlan,
        range: Range<u64>,
        progress: &Progress,
        findings: &mpsc::Sender<Finding>,
        cancel: &CancellationToken,
        attempt: A,
    ) where
        A: Fn(SocketAddrV4, Duration) -> F,
        F: Future<Output = Attempt> + Send + 'static,
    {
        let mut scan = Scan {
            config: &self.config,
            progress,
            findings,
            cancel,
            retries: VecDeque::new(),
            unsettled: BTreeSet::new(),
            inflight: JoinSet::new(),
            paused_until: None,
            exhaustion: ExhaustionLog::default(),
        };
        let end = range.end.min(plan.len());
        let mut next = range.start.min(end);
        progress.settled_below.store(next, Ordering::Release);
        'scan: loop {
            while let Some(joined) = scan.inflight.try_join_next() {
                if scan.settle(joined).await == Flow::Stop {
                    break 'scan;
                }
            }
            scan.mark_settled(next);
            let job = if let Some(job) = scan.retries.pop_front() {
                job
            } else if next < end {
                next += 1;
                scan.unsettled.insert(next - 1);
                Job { index: next - 1, probe: plan.probe(next - 1), retries_used: 0 }
            } else if scan.inflight.is_empty() {
                break;
            } else {
                let joined = tokio::select! {
                    biased;
                    () = cancel.cancelled() => break,
                    () = findings.closed() => break,
                    joined = scan.inflight.join_next() => joined,
                };
                if let Some(joined) = joined
                    && scan.settle(joined).await == Flow::Stop
                {
                    break;
                }
                scan.mark_settled(next);
                continue;
            };
            if let Some(until) = scan.paused_until.take() {
                tokio::select! {
                    biased;
                    () = cancel.cancelled() => break,
                    () = tokio::time::sleep_until(until) => {}
                }
            }
            let permit = tokio::select! {
                biased;
                () = cancel.cancelled() => break,
                () = findings.closed() => break,
                permit = async {
                    self.pacer.acquire().await;
                    Arc::clone(&self.slots).acquire_owned().await
                } => permit,
            };
            // The semaphore is never closed, so this only guards against a future change.
            let Ok(permit) = permit else { break };
            progress.sent.fetch_add(1, Ordering::Relaxed);
            let attempt =
                attempt(SocketAddrV4::new(job.probe.ip, job.probe.port), self.config.timeout);
            scan.inflight.spawn(async move {
                let outcome = attempt.await;
                drop(permit);
                (job, outcome)
            });
        }
        // Empty unless the scan stopped early; then the attempts are of no use to anyone.
        scan.inflight.shutdown().await;
        scan.exhaustion.flush();
    }
}

impl Scan<'_> {
    /// Publishes the low-water mark: the smallest unsettled index, or `next` when every
    /// index taken so far is settled.
    fn mark_settled(&self, next: u64) {
        let low = self.unsettled.first().copied().unwrap_or(next);
        self.progress.settled_below.store(low, Ordering::Release);
    }

    /// Accounts for one finished attempt: counters, findings, retries.
    async fn settle(&mut self, joined: Result<(Job, Attempt), JoinError>) -> Flow {
        let (job, outcome) = match joined {
            Ok(done) => done,
            Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
            Err(_) => return Flow::Continue,
        };
        let progress = self.progress;
        match outcome {
            Attempt::Open(rtt) => {
                progress.replies.fetch_add(1, Ordering::Relaxed);
                progress.open.fetch_add(1, Ordering::Relaxed);
                progress.done.fetch_add(1, Ordering::Relaxed);
                let finding = Finding {
                    ip: job.probe.ip,
                    port: job.probe.port,
                    proto: Proto::Tcp,
                    state: PortState::Open,
                    rtt,
                };
                let sent = tokio::select! {
                    biased;
                    () = self.cancel.cancelled() => return Flow::Stop,
                    sent = self.findings.send(finding) => sent,
                };
                if sent.is_err() {
                    return Flow::Stop;
                }
                self.unsettled.remove(&job.index);
            }
            Attempt::Closed => {
                progress.replies.fetch_add(1, Ordering::Relaxed);
                progress.done.fetch_add(1, Ordering::Relaxed);
                self.unsettled.remove(&job.index);
            }
            Attempt::Silent if job.retries_used < self.config.retries => {
                self.retries.push_back(Job { retries_used: job.retries_used + 1, ..job });
            }
            // Filtered: engines report open ports only, so it shows in the counters alone.
            Attempt::Silent => {
                progress.done.fetch_add(1, Ordering::Relaxed);
                self.unsettled.remove(&job.index);
            }
            Attempt::Exhausted(errno) => {
                // Nothing left this host, so the attempt is not counted as sent.
                progress.sent.fetch_sub(1, Ordering::Relaxed);
                self.retries.push_front(job);
                self.paused_until = Some(Instant::now() + EXHAUSTION_BACKOFF);
                self.exhaustion.record(errno);
            }
        }
        Flow::Continue
    }
}

impl ExhaustionLog {
    fn record(&mut self, errno: i32) {
        self.unreported += 1;
        if self.last_report.is_none_or(|at| at.elapsed() >= EXHAUSTION_LOG_PERIOD) {
            tracing::warn!(
                attempts = self.unreported,
                error = %io::Error::from_raw_os_error(errno),
                "This host ran out of sockets, ports or buffers; the connect engine pauses and \
                 retries those probes. Raise the open-file limit or lower the concurrency."
            );
            self.unreported = 0;
            self.last_report = Some(Instant::now());
        }
    }
    fn flush(&mut self) {
        if self.unreported > 0 {
            tracing::warn!(
                attempts = self.unreported,
                "More probes waited for local resources before the scan ended."
            );
            self.unreported = 0;
        }
    }
}

/// Opens a TCP connection whose close sends a reset: zero linger leaves no `TIME_WAIT` entry
/// behind, so a large scan does not run out of ephemeral ports.
pub(crate) async fn connect_reset_on_close(addr: SocketAddr) -> io::Result<TcpStream> {
    let socket = match addr {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    socket.set_zero_linger()?;
    socket.connect(addr).await
}

/// One connection attempt; the stream, if any, is dropped (reset) at once.
///
/// Zero linger is set on an open connection only: a socket that timed out in `SYN_SENT` or
/// was refused closes without a packet and without `TIME_WAIT` anyway, and skipping the
/// option saves a syscall on nearly every probe of a sparse scan.
async fn connect_once(addr: SocketAddrV4, timeout: Duration) -> Attempt {
    let start = Instant::now();
    let connect = async { TcpSocket::new_v4()?.connect(addr.into()).await };
    match tokio::time::timeout(timeout, connect).await {
        Ok(Ok(stream)) => {
            let rtt = start.elapsed();
            // Without it the connection ends with a FIN instead: still closed, only slower.
            let _ = stream.set_zero_linger();
            Attempt::Open(rtt)
        }
        Ok(Err(error)) => classify(&error),
        Err(_elapsed) => Attempt::Silent,
    }
}

/// Sorts a failed connect by what it says about the target.
fn classify(error: &io::Error) -> Attempt {
    match error.raw_os_error() {
        Some(libc::ECONNREFUSED | libc::ECONNRESET) => Attempt::Closed,
        Some(
            errno @ (libc::EMFILE
            | libc::ENFILE
            | libc::EADDRNOTAVAIL
            | libc::ENOBUFS
            | libc::ENOMEM),
        ) => Attempt::Exhausted(errno),
        // Unreachable, timed out, or refused by a local firewall: all look like silence.
        _ => Attempt::Silent,
    }
}

#[cfg(test)]
mod tests;
