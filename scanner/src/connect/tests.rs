//! Tests of the connect engine: real loopback scans, and scripted attempts for what
//! loopback cannot show (silence, exhaustion, cancellation, limits).

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
    let backend = ConnectBackend::Epoll;
    ConnectEngine::new(ConnectConfig { concurrency, timeout, retries, rate, backend, threads: 0 })
}

fn snapshot(sent: u64, done: u64, replies: u64, open: u64) -> ProgressSnapshot {
    ProgressSnapshot { sent, done, replies, open }
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
    engine.run(plan, progress, tx, CancellationToken::new()).await;
    let mut found = collect.await.unwrap();
    found.sort_by_key(|f| (f.ip, f.port));
    found
}

/// Listeners that accept and drop connections until the test ends.
async fn listen(addrs: &[&str]) -> Vec<SocketAddrV4> {
    let mut bound = Vec::new();
    for addr in addrs {
        let listener = TcpListener::bind(format!("{addr}:0")).await.unwrap();
        let SocketAddr::V4(local) = listener.local_addr().unwrap() else { unreachable!() };
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
    TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap().port()
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
        assert_eq!((finding.proto, finding.state), (Proto::Tcp, PortState::Open));
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

    let got: HashSet<SocketAddrV4> =
        found.iter().map(|f| SocketAddrV4::new(f.ip, f.port)).collect();
    assert_eq!(got, open.iter().copied().collect());
    let pairs = plan.len();
    assert_eq!(progress.snapshot(), snapshot(pairs, pairs, pairs, open.len() as u64));
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
    engine.run_with(plan, 0..plan.len(), progress, &tx, &CancellationToken::new(), attempt).await;
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
    assert!(start.elapsed() >= EXHAUSTION_BACKOFF * 3, "paused {:?}", start.elapsed());
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

    tokio::join!(engine.run_with(&plan, 0..plan.len(), &progress, &tx, &cancel, attempt), stop);

    assert_eq!(start.elapsed(), Duration::from_secs(1), "returns as soon as cancelled");
    assert_eq!(progress.snapshot(), snapshot(3, 0, 0, 0));
    assert_eq!(live.load(Ordering::SeqCst), 0, "in-flight attempts were dropped");
    assert_eq!(engine.slots.available_permits(), 3, "and their permits returned");
}

#[tokio::test(start_paused = true)]
async fn a_closed_findings_channel_stops_the_scan() {
    let plan = plan("127.0.0.0/24", &[80]);
    let open = |_addr, _call| Attempt::Open(Duration::ZERO);

    let progress = Progress::default();
    let (tx, rx) = mpsc::channel(8);
    drop(rx);
    engine(1, 0, 0)
        .run_with(&plan, 0..plan.len(), &progress, &tx, &CancellationToken::new(), fake(open))
        .await;
    assert_eq!(progress.snapshot().sent, 0);

    // The receiver goes away after the first finding.
    let progress = Progress::default();
    let (tx, mut rx) = mpsc::channel(1);
    let receive_one = async move {
        rx.recv().await.unwrap();
    };
    let (engine, cancel) = (engine(1, 0, 0), CancellationToken::new());
    let run = engine.run_with(&plan, 0..plan.len(), &progress, &tx, &cancel, fake(open));
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

    tokio::join!(fake_scan(&engine, &a, &pa, attempt()), fake_scan(&clone, &b, &pb, attempt()));

    assert_eq!(peak.load(Ordering::SeqCst), 3);
    assert_eq!(pa.snapshot(), snapshot(32, 32, 32, 0));
    assert_eq!(pb.snapshot(), snapshot(32, 32, 32, 0));
}

#[tokio::test(start_paused = true)]
async fn the_rate_paces_attempts() {
    let plan = plan("127.0.0.0/23", &[22]);
    let progress = Progress::default();
    let start = Instant::now();
    fake_scan(&engine(64, 0, 1_000), &plan, &progress, fake(|_, _| Attempt::Closed)).await;
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
        assert_eq!(classify(&io::Error::from_raw_os_error(errno)), want, "errno {errno}");
    }
    assert_eq!(classify(&io::Error::other("no errno")), Attempt::Silent);
}

#[test]
fn zero_concurrency_means_one() {
    let engine = ConnectEngine::new(ConnectConfig { concurrency: 0, ..Default::default() });
    assert_eq!(engine.slots.available_permits(), 1);
    assert_eq!(engine.config().concurrency, 0);
}

#[tokio::test]
async fn a_range_probes_its_indexes_only_and_settles_to_its_end() {
    let plan = plan("127.0.0.0/29", &[22, 80, 443]);
    let range = 5..17;
    let probed = Mutex::new(HashSet::new());
    let attempt = |addr: SocketAddrV4, _timeout| {
        probed.lock().unwrap().insert(addr);
        std::future::ready(Attempt::Closed)
    };
    let (tx, _rx) = mpsc::channel(16);
    let progress = Progress::default();
    let cancel = CancellationToken::new();
    engine(4, 0, 0).run_with(&plan, range.clone(), &progress, &tx, &cancel, attempt).await;
    let want: HashSet<SocketAddrV4> =
        plan.iter(range.clone()).map(|p| SocketAddrV4::new(p.ip, p.port)).collect();
    assert_eq!(*probed.lock().unwrap(), want);
    assert_eq!(progress.settled_below.load(Ordering::Relaxed), range.end);
}

#[tokio::test]
async fn the_low_water_mark_waits_for_retries() {
    let plan = plan("127.0.0.1", &[1, 2, 3, 4]);
    let first = plan.probe(0);
    // The first probe stays silent forever; everything else closes at once.
    let attempt = fake(move |addr, _| {
        if addr == SocketAddrV4::new(first.ip, first.port) {
            Attempt::Silent
        } else {
            Attempt::Closed
        }
    });
    let (tx, _rx) = mpsc::channel(16);
    let progress = Progress::default();
    let cancel = CancellationToken::new();
    let stop = async {
        while progress.done.load(Ordering::Relaxed) < 3 {
            tokio::task::yield_now().await;
        }
        assert_eq!(progress.settled_below.load(Ordering::Relaxed), 0);
        cancel.cancel();
    };
    let never = |addr: SocketAddrV4, timeout| {
        let ready = attempt(addr, timeout);
        async move {
            let outcome = ready.await;
            if outcome == Attempt::Silent {
                std::future::pending::<()>().await;
            }
            outcome
        }
    };
    let engine = engine(4, 3, 0);
    tokio::join!(engine.run_with(&plan, 0..plan.len(), &progress, &tx, &cancel, never), stop);
    assert_eq!(progress.settled_below.load(Ordering::Relaxed), 0);
}

/// The engine on `backend`; io_uring must be usable for the uring runs (fails loudly, not
/// skipped, where it is disabled).
fn engine_on(backend: ConnectBackend, timeout: Duration, retries: u8) -> ConnectEngine {
    let config = ConnectConfig { concurrency: 64, timeout, retries, rate: 0, backend, threads: 0 };
    let engine = ConnectEngine::open(config).unwrap_or_else(|why| {
        panic!("these tests need io_uring (kernel.io_uring_disabled=0, no seccomp ban): {why}")
    });
    let want = match backend {
        ConnectBackend::Uring => ActiveBackend::Uring,
        _ => ActiveBackend::Epoll,
    };
    assert_eq!(engine.backend(), want);
    engine
}

/// A loopback listener that never accepts, its queue filled by idle connections: the kernel
/// drops further handshakes, so a connect to it times out like a filtered port.
fn saturated_listener() -> (socket2::Socket, Vec<std::net::TcpStream>, u16) {
    use socket2::{Domain, Socket, Type};
    let listener = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    listener.bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into()).unwrap();
    listener.listen(0).unwrap();
    let port = listener.local_addr().unwrap().as_socket().unwrap().port();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut fillers = Vec::new();
    // The queue holds backlog + 1 connections; fill until a handshake goes unanswered.
    while let Ok(stream) = std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
        fillers.push(stream);
        assert!(fillers.len() < 8, "the listen queue never filled");
    }
    (listener, fillers, port)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_backends_find_exactly_the_same_open_loopback_ports() {
    let open =
        listen(&["127.0.0.1", "127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.3", "127.0.0.7"])
            .await;
    let mut ports: Vec<u16> = open.iter().map(|a| a.port()).collect();
    for _ in 0..10 {
        ports.push(closed_port().await);
    }
    let plan = plan("127.0.0.1-8", &ports);
    let mut results = Vec::new();
    for backend in [ConnectBackend::Epoll, ConnectBackend::Uring] {
        let progress = Progress::default();
        let engine = engine_on(backend, Duration::from_millis(1000), 1);
        let found = scan(&engine, &plan, &progress).await;
        let got: HashSet<SocketAddrV4> =
            found.iter().map(|f| SocketAddrV4::new(f.ip, f.port)).collect();
        assert_eq!(got, open.iter().copied().collect(), "{backend:?}");
        assert_eq!(found.len(), open.len(), "{backend:?}: each open port once");
        let pairs = plan.len();
        assert_eq!(
            progress.snapshot(),
            snapshot(pairs, pairs, pairs, open.len() as u64),
            "{backend:?}"
        );
        assert_eq!(progress.settled_below.load(Ordering::Acquire), pairs, "{backend:?}");
        results.push(found.iter().map(|f| (f.ip, f.port)).collect::<Vec<_>>());
    }
    assert_eq!(results[0], results[1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_backends_classify_refused_and_timed_out_alike() {
    let open = listen(&["127.0.0.1"]).await;
    let refused = closed_port().await;
    let (_listener, _fillers, silent) = saturated_listener();
    let plan = plan("127.0.0.1", &[open[0].port(), refused, silent]);
    for backend in [ConnectBackend::Epoll, ConnectBackend::Uring] {
        let progress = Progress::default();
        let engine = engine_on(backend, Duration::from_millis(300), 1);
        let started = Instant::now();
        let found = scan(&engine, &plan, &progress).await;
        assert_eq!(found.iter().map(|f| f.port).collect::<Vec<_>>(), vec![open[0].port()]);
        // Three first attempts and one retry of the silent port; two answers, one open.
        assert_eq!(progress.snapshot(), snapshot(4, 3, 2, 1), "{backend:?}");
        // The silent port waited out its timeout twice.
        assert!(started.elapsed() >= Duration::from_millis(600), "{backend:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_uring_backend_honours_ranges_and_the_low_water_mark() {
    let open = listen(&["127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4"]).await;
    let ports: Vec<u16> = open.iter().map(|a| a.port()).collect();
    let plan = plan("127.0.0.1-4", &ports);
    let engine = engine_on(ConnectBackend::Uring, Duration::from_millis(500), 0);
    let mut all = HashSet::new();
    // Two shards cover the plan; each settles to its own end and finds only its pairs.
    let middle = plan.len() / 2;
    for range in [0..middle, middle..plan.len()] {
        let progress = Progress::default();
        let (tx, mut rx) = mpsc::channel(4);
        let collect = tokio::spawn(async move {
            let mut found = Vec::new();
            while let Some(finding) = rx.recv().await {
                found.push(finding);
            }
            found
        });
        engine.run_range(&plan, range.clone(), &progress, tx, CancellationToken::new()).await;
        let found = collect.await.unwrap();
        assert_eq!(progress.settled_below.load(Ordering::Acquire), range.end);
        assert_eq!(progress.snapshot().sent, range.end - range.start);
        for finding in found {
            assert!(all.insert(SocketAddrV4::new(finding.ip, finding.port)), "found twice");
        }
    }
    assert_eq!(all, open.iter().copied().collect());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_uring_backend_stops_promptly_on_cancel() {
    // Every connect would wait out its timeout: the cancel must not.
    let (_listener, _fillers, silent) = saturated_listener();
    let plan = plan("127.0.0.1", &[silent]);
    let engine = engine_on(ConnectBackend::Uring, Duration::from_secs(30), 3);
    let progress = Progress::default();
    let (tx, _rx) = mpsc::channel(4);
    let cancel = CancellationToken::new();
    let canceller = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        canceller.cancel();
    });
    let started = Instant::now();
    engine.run(&plan, &progress, tx, cancel).await;
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
    // The pair was not settled, so a resume probes it again.
    assert_eq!(progress.settled_below.load(Ordering::Acquire), 0);
}

/// Both backends close an open connection with a reset (zero linger, set at close time only):
/// the listener's side of it reads a reset, not an end of stream, and the scanner's side leaves
/// no `TIME_WAIT` behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_backends_reset_open_connections_on_close() {
    use std::io::Read;
    for backend in [ConnectBackend::Epoll, ConnectBackend::Uring] {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let plan = plan("127.0.0.1", &[port]);
        let engine = engine_on(backend, Duration::from_millis(1000), 0);
        let found = scan(&engine, &plan, &Progress::default()).await;
        assert_eq!(found.len(), 1, "{backend:?}");
        // The scan is over, so the connection waiting in the queue is already closed.
        let (mut stream, _) = listener.accept().unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let read = stream.read(&mut [0u8; 16]);
        assert_eq!(
            read.map_err(|e| e.kind()),
            Err(io::ErrorKind::ConnectionReset),
            "{backend:?}: the scanner closed without a reset"
        );
    }
}

/// An engine on io_uring with `threads` rings (fails loudly where io_uring is disabled).
fn engine_with_rings(threads: usize, timeout: Duration, retries: u8) -> ConnectEngine {
    let backend = ConnectBackend::Uring;
    let config = ConnectConfig { concurrency: 64, timeout, retries, rate: 0, backend, threads };
    ConnectEngine::open(config).unwrap_or_else(|why| {
        panic!("these tests need io_uring (kernel.io_uring_disabled=0, no seccomp ban): {why}")
    })
}

/// Runs `range` of `plan`, cancelled after `cancel_after` if given; the findings, sorted.
async fn scan_range(
    engine: &ConnectEngine,
    plan: &ScanPlan,
    range: Range<u64>,
    progress: &Progress,
    cancel_after: Option<Duration>,
) -> Vec<SocketAddrV4> {
    let (tx, mut rx) = mpsc::channel::<Finding>(4);
    let collect = tokio::spawn(async move {
        let mut found = Vec::new();
        while let Some(finding) = rx.recv().await {
            found.push(SocketAddrV4::new(finding.ip, finding.port));
        }
        found
    });
    let cancel = CancellationToken::new();
    if let Some(after) = cancel_after {
        let canceller = cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            canceller.cancel();
        });
    }
    engine.run_range(plan, range, progress, tx, cancel).await;
    let mut found = collect.await.unwrap();
    found.sort();
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_number_of_rings_probes_a_range_exactly_once() {
    let open = listen(&["127.0.0.1", "127.0.0.2", "127.0.0.5", "127.0.0.8", "127.0.0.8"]).await;
    let mut ports: Vec<u16> = open.iter().map(|a| a.port()).collect();
    for _ in 0..20 {
        ports.push(closed_port().await);
    }
    // 200 pairs: several chunks per ring, and a ring with none when there are many.
    let plan = plan("127.0.0.1-8", &ports);
    let range = 3..plan.len() - 5;
    let want: Vec<SocketAddrV4> = {
        let mut want: Vec<SocketAddrV4> = range
            .clone()
            .map(|i| plan.probe(i))
            .map(|p| SocketAddrV4::new(p.ip, p.port))
            .filter(|a| open.contains(a))
            .collect();
        want.sort();
        want
    };
    for threads in [1, 2, 3, 7] {
        let engine = engine_with_rings(threads, Duration::from_millis(1000), 0);
        let progress = Progress::default();
        let found = scan_range(&engine, &plan, range.clone(), &progress, None).await;
        assert_eq!(found, want, "{threads} rings");
        let pairs = range.end - range.start;
        let opened = want.len() as u64;
        assert_eq!(progress.snapshot(), snapshot(pairs, pairs, pairs, opened), "{threads} rings");
        assert_eq!(progress.settled_below.load(Ordering::Acquire), range.end, "{threads} rings");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_low_water_mark_waits_for_the_slowest_ring() {
    // One silent pair among refused ones: whichever ring holds it, the scan's mark must stop
    // exactly there when the scan is cancelled, though every other ring has finished.
    let (_listener, _fillers, silent) = saturated_listener();
    let mut ports = vec![silent];
    for _ in 0..39 {
        ports.push(closed_port().await);
    }
    // The saturated listener is on 127.0.0.1 only: the other hosts refuse its port.
    let plan = plan("127.0.0.1-4", &ports);
    let held = (0..plan.len())
        .find(|&i| plan.probe(i).ip == Ipv4Addr::LOCALHOST && plan.probe(i).port == silent)
        .unwrap();
    for threads in [2, 3] {
        let engine = engine_with_rings(threads, Duration::from_secs(30), 0);
        let progress = Progress::default();
        let cancel_after = Some(Duration::from_millis(800));
        let started = Instant::now();
        let found = scan_range(&engine, &plan, 0..plan.len(), &progress, cancel_after).await;
        assert!(found.is_empty());
        assert!(started.elapsed() < Duration::from_secs(10), "took {:?}", started.elapsed());
        assert_eq!(progress.settled_below.load(Ordering::Acquire), held, "{threads} rings");
        assert_eq!(progress.snapshot().done, plan.len() - 1, "{threads} rings");
    }
}
