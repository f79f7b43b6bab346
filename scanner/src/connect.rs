//! The TCP-connect engine: no privilege needed, works on loopback, used as the fallback.

use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::net::{SocketAddr, SocketAddrV4};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::{JoinError, JoinSet};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::{Finding, Pacer, PortState, Probe, Progress, Proto, ScanPlan};

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
}

impl Default for ConnectConfig {
    fn default() -> Self {
        Self {
            concurrency: 1024,
            timeout: Duration::from_millis(1000),
            retries: 1,
            rate: 10_000,
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
    /// An engine with its own budget.
    pub fn new(config: ConnectConfig) -> Self {
        let pacer = Arc::new(Pacer::new(config.rate));
        let slots = Arc::new(Semaphore::new(
            config.concurrency.clamp(1, Semaphore::MAX_PERMITS),
        ));
        Self {
            config,
            pacer,
            slots,
        }
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
        self.run_with(plan, progress, &findings, &cancel, connect_once)
            .await;
    }

    /// [`run`](Self::run) with the attempt as a parameter, so tests can stand in for the
    /// network.
    async fn run_with<A, F>(
        &self,
        plan: &ScanPlan,
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
            inflight: JoinSet::new(),
            paused_until: None,
            exhaustion: ExhaustionLog::default(),
        };
        let mut next = 0;
        'scan: loop {
            while let Some(joined) = scan.inflight.try_join_next() {
                if scan.settle(joined).await == Flow::Stop {
                    break 'scan;
                }
            }
            let job = if let Some(job) = scan.retries.pop_front() {
                job
            } else if next < plan.len() {
                next += 1;
                Job {
                    probe: plan.probe(next - 1),
                    retries_used: 0,
                }
            } else if scan.inflight.is_empty() {
                break;
            } else {
                let joined = tokio::select! {
                    biased;
                    () = cancel.cancelled() => break,
                    joined = scan.inflight.join_next() => joined,
                };
                if let Some(joined) = joined
                    && scan.settle(joined).await == Flow::Stop
                {
                    break;
                }
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
            let attempt = attempt(
                SocketAddrV4::new(job.probe.ip, job.probe.port),
                self.config.timeout,
            );
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
            }
            Attempt::Closed => {
                progress.replies.fetch_add(1, Ordering::Relaxed);
                progress.done.fetch_add(1, Ordering::Relaxed);
            }
            Attempt::Silent if job.retries_used < self.config.retries => {
                self.retries.push_back(Job {
                    retries_used: job.retries_used + 1,
                    ..job
                });
            }
            // Filtered: engines report open ports only, so it shows in the counters alone.
            Attempt::Silent => {
                progress.done.fetch_add(1, Ordering::Relaxed);
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
        if self
            .last_report
            .is_none_or(|at| at.elapsed() >= EXHAUSTION_LOG_PERIOD)
        {
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
async fn connect_once(addr: SocketAddrV4, timeout: Duration) -> Attempt {
    let start = Instant::now();
    match tokio::time::timeout(timeout, connect_reset_on_close(addr.into())).await {
        Ok(Ok(_stream)) => Attempt::Open(start.elapsed()),
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
mod tests {
    use std::collections::{HashMap, HashSet};
    use std::net::Ipv4Addr;
    use std::sync::Mutex;
    use std::sync::atomic::AtomicUsize;

    use tokio::net::TcpListener;

    use super::*;
    use crate::{PortList, ProgressSnapshot, TargetSet};

    fn plan(targets: &str, ports: &[u16]) -> ScanPlan {
        let targets = TargetSet::parse(&[targets.to_string()]).unwrap();
        for range in targets.ranges() {
            // Tests never send outside the loopback range.
            assert!(range.first.is_loopback() && range.last.is_loopback());
        }
        ScanPlan::new(targets, PortList::from_ports(ports.iter().copied()), 17)
    }

    fn engine(concurrency: usize, retries: u8, rate: u64) -> ConnectEngine {
        let timeout = Duration::from_millis(500);
        ConnectEngine::new(ConnectConfig {
            concurrency,
            timeout,
            retries,
            rate,
        })
    }

    fn snapshot(sent: u64, done: u64, replies: u64, open: u64) -> ProgressSnapshot {
        ProgressSnapshot {
            sent,
            done,
            replies,
            open,
        }
    }

    /// Runs a real scan; returns the findings, sorted.
    async fn scan(engine: &ConnectEngine, plan: &ScanPlan, progress: &Progress) -> Vec<Finding> {
        let (tx, mut rx) = mpsc::channel(4);
        let collect = tokio::spawn(async move {
            let mut found = Vec::new();
            while let Some(finding) = rx.recv().await {
                found.push(finding);
            }
            found
        });
        engine
            .run(plan, progress, tx, CancellationToken::new())
            .await;
        let mut found = collect.await.unwrap();
        found.sort_by_key(|f| (f.ip, f.port));
        found
    }

    /// Listeners that accept and drop connections until the test ends.
    async fn listen(addrs: &[&str]) -> Vec<SocketAddrV4> {
        let mut bound = Vec::new();
        for addr in addrs {
            let listener = TcpListener::bind(format!("{addr}:0")).await.unwrap();
            let SocketAddr::V4(local) = listener.local_addr().unwrap() else {
                unreachable!()
            };
            tokio::spawn(async move {
                while let Ok((stream, _)) = listener.accept().await {
                    drop(stream);
                }
            });
            bound.push(local);
        }
        bound
    }

    /// A loopback port nothing listens on (bound, then released).
    async fn closed_port() -> u16 {
        TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }

    #[tokio::test]
    async fn reports_exactly_the_open_loopback_ports() {
        let open = listen(&["127.0.0.1", "127.0.0.1", "127.0.0.1"]).await;
        let mut ports: Vec<u16> = open.iter().map(|a| a.port()).collect();
        ports.push(closed_port().await);
        ports.push(closed_port().await);
        let plan = plan("127.0.0.1", &ports);
        let progress = Progress::default();

        let found = scan(&engine(4, 1, 0), &plan, &progress).await;

        let mut want: Vec<u16> = open.iter().map(|a| a.port()).collect();
        want.sort_unstable();
        assert_eq!(found.iter().map(|f| f.port).collect::<Vec<_>>(), want);
        for finding in &found {
            assert_eq!(finding.ip, Ipv4Addr::LOCALHOST);
            assert_eq!(
                (finding.proto, finding.state),
                (Proto::Tcp, PortState::Open)
            );
            assert!(finding.rtt < Duration::from_millis(500));
        }
        assert_eq!(progress.snapshot(), snapshot(5, 5, 5, 3));
    }

    #[tokio::test]
    async fn scans_several_loopback_hosts() {
        let open = listen(&["127.0.0.2", "127.0.0.3"]).await;
        let ports: Vec<u16> = open.iter().map(|a| a.port()).collect();
        let plan = plan("127.0.0.1-4", &ports);
        let progress = Progress::default();

        let found = scan(&engine(16, 0, 0), &plan, &progress).await;

        let got: HashSet<SocketAddrV4> = found
            .iter()
            .map(|f| SocketAddrV4::new(f.ip, f.port))
            .collect();
        assert_eq!(got, open.iter().copied().collect());
        let pairs = plan.len();
        assert_eq!(
            progress.snapshot(),
            snapshot(pairs, pairs, pairs, open.len() as u64)
        );
    }

    /// Stands in for the network: `script(addr, call)` decides each attempt's outcome (calls
    /// count from 1 per address); silence takes the whole timeout.
    fn fake(
        script: impl Fn(SocketAddrV4, u32) -> Attempt + Send + 'static,
    ) -> impl Fn(SocketAddrV4, Duration) -> std::future::Ready<Attempt> {
        let calls = Mutex::new(HashMap::<SocketAddrV4, u32>::new());
        move |addr, _timeout| {
            let mut calls = calls.lock().unwrap();
            let call = calls.entry(addr).or_default();
            *call += 1;
            std::future::ready(script(addr, *call))
        }
    }

    /// Runs `engine` over `plan` with `attempt`; returns the open ports found.
    async fn fake_scan<A, F>(
        engine: &ConnectEngine,
        plan: &ScanPlan,
        progress: &Progress,
        attempt: A,
    ) -> Vec<u16>
    where
        A: Fn(SocketAddrV4, Duration) -> F,
        F: Future<Output = Attempt> + Send + 'static,
    {
        let (tx, mut rx) = mpsc::channel(1024);
        engine
            .run_with(plan, progress, &tx, &CancellationToken::new(), attempt)
            .await;
        drop(tx);
        let mut ports = Vec::new();
        while let Some(finding) = rx.recv().await {
            ports.push(finding.port);
        }
        ports.sort_unstable();
        ports
    }

    #[tokio::test(start_paused = true)]
    async fn silence_is_retried_then_filtered() {
        // Port 1 never answers, port 2 answers the second attempt, port 3 resets.
        let script = |addr: SocketAddrV4, call| match (addr.port(), call) {
            (2, 2..) => Attempt::Open(Duration::from_millis(3)),
            (3, _) => Attempt::Closed,
            _ => Attempt::Silent,
        };
        let cases = [
            // (retries, open ports, progress)
            (0, vec![], snapshot(3, 3, 1, 0)),
            (1, vec![2], snapshot(5, 3, 2, 1)),
            (3, vec![2], snapshot(7, 3, 2, 1)),
        ];
        for (retries, want, counters) in cases {
            let plan = plan("127.0.0.1", &[1, 2, 3]);
            let progress = Progress::default();
            let found = fake_scan(&engine(8, retries, 0), &plan, &progress, fake(script)).await;
            assert_eq!(found, want, "retries {retries}");
            assert_eq!(progress.snapshot(), counters, "retries {retries}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn exhaustion_pauses_and_retries_at_no_retry_cost() {
        let script = |addr: SocketAddrV4, call| match (addr.port(), call) {
            (1, 1..=3) => Attempt::Exhausted(libc::EMFILE),
            (1, _) => Attempt::Open(Duration::ZERO),
            _ => Attempt::Closed,
        };
        let plan = plan("127.0.0.1", &[1, 2]);
        let progress = Progress::default();
        let start = Instant::now();

        let found = fake_scan(&engine(1, 0, 0), &plan, &progress, fake(script)).await;

        assert_eq!(found, [1]);
        assert_eq!(progress.snapshot(), snapshot(2, 2, 2, 1));
        assert!(
            start.elapsed() >= EXHAUSTION_BACKOFF * 3,
            "paused {:?}",
            start.elapsed()
        );
    }

    /// Counts live attempt futures, to see that a stopped scan drops them.
    struct Live(Arc<AtomicUsize>);

    impl Live {
        fn new(count: &Arc<AtomicUsize>) -> Self {
            count.fetch_add(1, Ordering::SeqCst);
            Self(Arc::clone(count))
        }
    }

    impl Drop for Live {
        fn drop(&mut self) {
            self.0.fetch_sub(1, Ordering::SeqCst);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn cancel_stops_promptly_and_aborts_attempts() {
        let live = Arc::new(AtomicUsize::new(0));
        let attempt = {
            let live = Arc::clone(&live);
            move |_addr, _timeout| {
                let guard = Live::new(&live);
                async move {
                    std::future::pending::<()>().await;
                    drop(guard);
                    Attempt::Closed
                }
            }
        };
        let plan = plan("127.0.0.0/28", &[80]);
        let progress = Progress::default();
        let (tx, _rx) = mpsc::channel(8);
        let cancel = CancellationToken::new();
        let engine = engine(3, 0, 0);
        let stop = {
            let cancel = cancel.clone();
            async move {
                tokio::time::sleep(Duration::from_secs(1)).await;
                cancel.cancel();
            }
        };
        let start = Instant::now();

        tokio::join!(
            engine.run_with(&plan, &progress, &tx, &cancel, attempt),
            stop
        );

        assert_eq!(
            start.elapsed(),
            Duration::from_secs(1),
            "returns as soon as cancelled"
        );
        assert_eq!(progress.snapshot(), snapshot(3, 0, 0, 0));
        assert_eq!(
            live.load(Ordering::SeqCst),
            0,
            "in-flight attempts were dropped"
        );
        assert_eq!(
            engine.slots.available_permits(),
            3,
            "and their permits returned"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_closed_findings_channel_stops_the_scan() {
        let plan = plan("127.0.0.0/24", &[80]);
        let open = |_addr, _call| Attempt::Open(Duration::ZERO);

        let progress = Progress::default();
        let (tx, rx) = mpsc::channel(8);
        drop(rx);
        engine(1, 0, 0)
            .run_with(&plan, &progress, &tx, &CancellationToken::new(), fake(open))
            .await;
        assert_eq!(progress.snapshot().sent, 0);

        // The receiver goes away after the first finding.
        let progress = Progress::default();
        let (tx, mut rx) = mpsc::channel(1);
        let receive_one = async move {
            rx.recv().await.unwrap();
        };
        let (engine, cancel) = (engine(1, 0, 0), CancellationToken::new());
        let run = engine.run_with(&plan, &progress, &tx, &cancel, fake(open));
        tokio::join!(run, receive_one);
        assert!(progress.snapshot().sent < 10, "{:?}", progress.snapshot());
    }

    #[tokio::test(start_paused = true)]
    async fn concurrency_is_bounded_and_shared_by_clones() {
        let inflight = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let attempt = || {
            let (inflight, peak) = (Arc::clone(&inflight), Arc::clone(&peak));
            move |_addr, _timeout| {
                let now = inflight.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                let inflight = Arc::clone(&inflight);
                async move {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    inflight.fetch_sub(1, Ordering::SeqCst);
                    Attempt::Closed
                }
            }
        };
        let engine = engine(3, 0, 0);
        let clone = engine.clone();
        let (a, b) = (plan("127.0.0.0/27", &[22]), plan("127.0.1.0/27", &[22]));
        let (pa, pb) = (Progress::default(), Progress::default());

        tokio::join!(
            fake_scan(&engine, &a, &pa, attempt()),
            fake_scan(&clone, &b, &pb, attempt())
        );

        assert_eq!(peak.load(Ordering::SeqCst), 3);
        assert_eq!(pa.snapshot(), snapshot(32, 32, 32, 0));
        assert_eq!(pb.snapshot(), snapshot(32, 32, 32, 0));
    }

    #[tokio::test(start_paused = true)]
    async fn the_rate_paces_attempts() {
        let plan = plan("127.0.0.0/23", &[22]);
        let progress = Progress::default();
        let start = Instant::now();
        fake_scan(
            &engine(64, 0, 1_000),
            &plan,
            &progress,
            fake(|_, _| Attempt::Closed),
        )
        .await;
        let elapsed = start.elapsed().as_secs_f64();
        // 512 probes at 1000/s, the first 4 as a burst.
        assert!((0.500..=0.515).contains(&elapsed), "{elapsed}s");
        assert_eq!(progress.snapshot(), snapshot(512, 512, 512, 0));
    }

    #[test]
    fn errors_are_sorted_by_what_they_say_about_the_target() {
        let cases = [
            (libc::ECONNREFUSED, Attempt::Closed),
            (libc::ECONNRESET, Attempt::Closed),
            (libc::EHOSTUNREACH, Attempt::Silent),
            (libc::ENETUNREACH, Attempt::Silent),
            (libc::ETIMEDOUT, Attempt::Silent),
            (libc::EACCES, Attempt::Silent),
            (libc::EPERM, Attempt::Silent),
            (libc::EMFILE, Attempt::Exhausted(libc::EMFILE)),
            (libc::ENFILE, Attempt::Exhausted(libc::ENFILE)),
            (libc::EADDRNOTAVAIL, Attempt::Exhausted(libc::EADDRNOTAVAIL)),
            (libc::ENOBUFS, Attempt::Exhausted(libc::ENOBUFS)),
            (libc::ENOMEM, Attempt::Exhausted(libc::ENOMEM)),
        ];
        for (errno, want) in cases {
            assert_eq!(
                classify(&io::Error::from_raw_os_error(errno)),
                want,
                "errno {errno}"
            );
        }
        assert_eq!(classify(&io::Error::other("no errno")), Attempt::Silent);
    }

    #[test]
    fn zero_concurrency_means_one() {
        let engine = ConnectEngine::new(ConnectConfig {
            concurrency: 0,
            ..Default::default()
        });
        assert_eq!(engine.slots.available_permits(), 1);
        assert_eq!(engine.config().concurrency, 0);
    }
}
