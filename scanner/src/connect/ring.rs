//! The io_uring connect path: one ring per thread, by default one thread per CPU. Each thread
//! owns its ring and a [`Stripe`] of the plan, submits connects in batches (each linked to a
//! timeout), reaps completions in batches and sends the outcomes to the async side, which
//! forwards findings and publishes progress exactly as the epoll path does.
//!
//! Several rings because a connect costs the kernel far more than it costs Sonde (socket
//! setup, the SYN's trip through the stack, the timer, the close): one thread's CPU was the
//! ceiling, and rings that share nothing but the rate, the permits and the outcome channel
//! scale with the CPUs.

use std::collections::{BTreeSet, VecDeque};
use std::io;
use std::net::SocketAddrV4;
use std::ops::Range;
use std::os::fd::{AsRawFd, IntoRawFd};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use io_uring::{IoUring, cqueue, opcode, squeue, types};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::stripe::Stripe;
use super::{
    Attempt, ConnectConfig, ConnectEngine, EXHAUSTION_BACKOFF, ExhaustionLog, Job,
    MAX_CONNECT_THREADS, classify,
};
use crate::{Finding, Pacer, PortState, Progress, Proto, ScanPlan};

/// Submission queue entries: two per connect (the connect and its timeout). Submitting is
/// done whenever the queue fills, so this bounds a batch, not the connects in flight.
const SQ_ENTRIES: u32 = 1024;
/// Connects in flight at most on one ring, whatever the configured concurrency.
const MAX_IN_FLIGHT: usize = 32_768;
/// The ring thread wakes at least this often to check for a cancel, pacing and pauses.
const TICK: Duration = Duration::from_millis(5);
/// Outcome batches queued toward the async side before the ring thread waits for it.
const BATCH_QUEUE: usize = 16;
/// `user_data` of the periodic tick; per-connect values are `slot << 2 | kind`.
const TICK_TAG: u64 = u64::MAX;
const KIND_CONNECT: u64 = 0;
const KIND_TIMEOUT: u64 = 1;
const KIND_CANCEL: u64 = 2;
/// `user_data` of a socket's close, queued in the ring so closes cost no syscall of their own.
const CLOSE_TAG: u64 = 3;

/// What the ring thread learned since its last batch, applied by the async side in order:
/// counters, then findings, then the low-water mark, so a checkpoint never covers a finding
/// not yet handed over.
#[derive(Debug, Default)]
struct Batch {
    /// The ring that sent it.
    ring: usize,
    /// Probes submitted, minus those that failed for want of local resources.
    sent: i64,
    done: u64,
    replies: u64,
    found: Vec<Finding>,
    /// The ring's own low-water mark: every index of its stripe below it is settled.
    settled_below: u64,
}

/// One connect in flight. Its socket and address stay put until both completions (the
/// connect's and its timeout's) are in, so the kernel never reads freed memory.
#[derive(Debug)]
struct Slot {
    job: Job,
    socket: Socket,
    addr: SockAddr,
    started: Instant,
    /// Completions still expected for this slot.
    pending: u8,
    outcome: Option<Attempt>,
    /// The engine-wide concurrency permit, released with the socket.
    _permit: OwnedSemaphorePermit,
}

/// Everything the ring thread owns. (Not `Debug`: `IoUring` is not.)
#[allow(missing_debug_implementations)]
struct RingScan {
    // Dropped first, so the kernel is done with the buffers below before they are freed.
    ring: IoUring,
    plan: ScanPlan,
    config: ConnectConfig,
    pacer: Arc<Pacer>,
    permits: Arc<Semaphore>,
    cancel: CancellationToken,
    batches: mpsc::Sender<Batch>,
    slots: Vec<Option<Slot>>,
    free: Vec<usize>,
    /// The linked timeout of every connect and the tick: boxed so their address is stable.
    connect_timeout: Box<types::Timespec>,
    tick: Box<types::Timespec>,
    tick_armed: bool,
    retries: VecDeque<Job>,
    unsettled: BTreeSet<u64>,
    /// The plan indexes this ring probes.
    stripe: Stripe,
    paused_until: Option<Instant>,
    stopping: bool,
    exhaustion: ExhaustionLog,
    batch: Batch,
}

/// Opens a ring for `in_flight` connects; `Err` when the kernel refuses (then the epoll path
/// runs).
fn open_ring(in_flight: usize) -> io::Result<IoUring> {
    // Each connect completes twice and its socket's close once, plus the tick and cancels:
    // room for all of them keeps the completion queue from overflowing.
    let cq = u32::try_from(in_flight * 3 + 64).unwrap_or(u32::MAX).next_power_of_two();
    IoUring::builder().setup_cqsize(cq.max(SQ_ENTRIES * 2)).build(SQ_ENTRIES)
}

/// Connects in flight at most on each of `rings` rings: their share of the concurrency.
fn in_flight_cap(config: &ConnectConfig, rings: usize) -> usize {
    config.concurrency.max(1).div_ceil(rings.max(1)).clamp(1, MAX_IN_FLIGHT)
}

/// How many rings a run uses: the configured count, or one per CPU when it says 0.
fn ring_count(config: &ConnectConfig) -> usize {
    let wanted = match config.threads {
        0 => std::thread::available_parallelism().map_or(1, usize::from),
        n => n,
    };
    // More rings than permits would leave some without a connect to make.
    wanted.min(config.concurrency.max(1)).clamp(1, MAX_CONNECT_THREADS)
}

impl ConnectEngine {
    /// [`run_range`](Self::run_range) on an io_uring. Returns `false`, having probed nothing,
    /// when the ring cannot be set up, so the caller runs the epoll path instead.
    pub(super) async fn run_ring(
        &self,
        plan: &ScanPlan,
        range: Range<u64>,
        progress: &Progress,
        findings: &mpsc::Sender<Finding>,
        cancel: &CancellationToken,
    ) -> bool {
        let rings = ring_count(&self.config);
        let cap = in_flight_cap(&self.config, rings);
        // Every ring is set up before any connect leaves, so a refusal falls back cleanly.
        let mut opened = Vec::with_capacity(rings);
        for _ in 0..rings {
            match open_ring(cap) {
                Ok(ring) => opened.push(ring),
                Err(error) => {
                    tracing::warn!(
                        %error,
                        rings,
                        "The io_uring for connects could not be set up; this scan runs on epoll."
                    );
                    return false;
                }
            }
        }
        let end = range.end.min(plan.len());
        let start = range.start.min(end);
        progress.settled_below.store(start, Ordering::Release);
        let (tx, mut rx) = mpsc::channel(BATCH_QUEUE * rings);
        // Stops the ring threads when this side stops early, whatever the reason.
        let stop = cancel.child_token();
        let mut threads = Vec::with_capacity(rings);
        for (index, ring) in opened.into_iter().enumerate() {
            let scan = RingScan {
                ring,
                plan: plan.clone(),
                config: self.config.clone(),
                pacer: Arc::clone(&self.pacer),
                permits: Arc::clone(&self.slots),
                cancel: stop.clone(),
                batches: tx.clone(),
                slots: (0..cap).map(|_| None).collect(),
                free: (0..cap).rev().collect(),
                connect_timeout: Box::new(timespec(self.config.timeout)),
                tick: Box::new(timespec(TICK)),
                tick_armed: false,
                retries: VecDeque::new(),
                unsettled: BTreeSet::new(),
                stripe: Stripe::new(start..end, index, rings),
                paused_until: None,
                stopping: false,
                exhaustion: ExhaustionLog::default(),
                batch: Batch { ring: index, ..Batch::default() },
            };
            threads.push(tokio::task::spawn_blocking(move || scan.run()));
        }
        // The channel closes when the last ring thread is done.
        drop(tx);
        // Each ring's own mark; the scan's is the smallest (see `Stripe`).
        let mut marks = vec![start; rings];
        loop {
            let batch = tokio::select! {
                biased;
                () = cancel.cancelled() => break,
                () = findings.closed() => break,
                batch = rx.recv() => batch,
            };
            let Some(batch) = batch else { break };
            if !apply(batch, &mut marks, progress, findings, cancel).await {
                break;
            }
        }
        stop.cancel();
        drop(rx);
        for thread in threads {
            match thread.await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => {
                    tracing::error!(
                        %error,
                        "An io_uring connect thread failed; the scan stopped."
                    );
                }
                Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
                Err(_) => {}
            }
        }
        true
    }
}

/// Publishes one batch. `false` when the scan must stop (cancelled or findings closed).
async fn apply(
    batch: Batch,
    marks: &mut [u64],
    progress: &Progress,
    findings: &mpsc::Sender<Finding>,
    cancel: &CancellationToken,
) -> bool {
    if batch.sent >= 0 {
        progress.sent.fetch_add(batch.sent.unsigned_abs(), Ordering::Relaxed);
    } else {
        progress.sent.fetch_sub(batch.sent.unsigned_abs(), Ordering::Relaxed);
    }
    progress.replies.fetch_add(batch.replies, Ordering::Relaxed);
    progress.open.fetch_add(batch.found.len() as u64, Ordering::Relaxed);
    progress.done.fetch_add(batch.done, Ordering::Relaxed);
    for finding in batch.found {
        let sent = tokio::select! {
            biased;
            () = cancel.cancelled() => return false,
            sent = findings.send(finding) => sent,
        };
        if sent.is_err() {
            return false;
        }
    }
    if let Some(mark) = marks.get_mut(batch.ring) {
        *mark = batch.settled_below;
    }
    if let Some(low) = marks.iter().min() {
        progress.settled_below.store(*low, Ordering::Release);
    }
    true
}

fn timespec(duration: Duration) -> types::Timespec {
    types::Timespec::new().sec(duration.as_secs()).nsec(duration.subsec_nanos())
}

impl RingScan {
    /// The thread's loop: fill the ring, wait for at least one completion (the tick bounds
    /// the wait), reap, hand the batch over; until every pair is settled or the scan stops.
    fn run(mut self) -> io::Result<()> {
        loop {
            if !self.stopping && (self.cancel.is_cancelled() || self.batches.is_closed()) {
                self.begin_stop()?;
            }
            if !self.stopping {
                self.fill()?;
            }
            let in_flight = self.slots.len() - self.free.len();
            let no_work = self.retries.is_empty() && self.stripe.left() == 0;
            if in_flight == 0 && (self.stopping || no_work) {
                break;
            }
            self.arm_tick()?;
            match self.ring.submit_and_wait(1) {
                Ok(_) => {}
                // A signal, or completions the kernel is still flushing: reap and go on.
                Err(error) if matches!(error.raw_os_error(), Some(libc::EINTR | libc::EBUSY)) => {}
                Err(error) => return Err(error),
            }
            self.reap()?;
            self.flush_batch(false);
        }
        // Always sent: a ring whose stripe was empty has sent nothing yet, and the scan's
        // mark waits for every ring's.
        self.flush_batch(true);
        self.exhaustion.flush();
        Ok(())
    }

    /// Submits as many connects as the free slots, the permits, the rate and any pause allow,
    /// for at most one [`TICK`] so completions are reaped and a cancel is seen in time.
    fn fill(&mut self) -> io::Result<()> {
        let deadline = Instant::now() + TICK;
        // An unlimited rate has a burst of one; larger chunks save reservations then.
        let chunk = if self.pacer.rate() == 0 { 256 } else { self.pacer.burst().max(1) };
        loop {
            if let Some(until) = self.paused_until {
                if Instant::now() < until {
                    return Ok(());
                }
                self.paused_until = None;
            }
            let waiting = self.retries.len() as u64 + self.stripe.left();
            let want = (self.free.len() as u64).min(waiting).min(chunk);
            if want == 0 {
                return Ok(());
            }
            // Take the permits first: other clones of the engine share them, and a rate slot
            // reserved for a probe that cannot start would be lost.
            let mut permits = Vec::new();
            while (permits.len() as u64) < want {
                match Arc::clone(&self.permits).try_acquire_owned() {
                    Ok(permit) => permits.push(permit),
                    Err(_) => break,
                }
            }
            if permits.is_empty() {
                return Ok(());
            }
            if let Some(due) = self.pacer.reserve(permits.len() as u64) {
                // What is queued leaves now, not after the pause.
                self.ring.submit()?;
                std::thread::sleep(due.saturating_duration_since(Instant::now()));
            }
            for permit in permits {
                let job = if let Some(job) = self.retries.pop_front() {
                    job
                } else if let Some(index) = self.stripe.take() {
                    self.unsettled.insert(index);
                    Job { index, probe: self.plan.probe(index), retries_used: 0 }
                } else {
                    // `want` counted the stripe's indexes, so this is not reached.
                    break;
                };
                self.start(job, permit)?;
                if self.paused_until.is_some() {
                    break;
                }
            }
            if Instant::now() >= deadline {
                return Ok(());
            }
        }
    }

    /// Opens a socket for `job` and queues its connect and linked timeout.
    fn start(&mut self, job: Job, permit: OwnedSemaphorePermit) -> io::Result<()> {
        let socket = match new_socket() {
            Ok(socket) => socket,
            Err(error) => {
                self.batch.sent += 1;
                self.settle(job, classify(&error));
                return Ok(());
            }
        };
        let Some(slot) = self.free.pop() else {
            // fill() never asks for more than the free slots; put the job back regardless.
            self.retries.push_front(job);
            return Ok(());
        };
        let addr = SockAddr::from(SocketAddrV4::new(job.probe.ip, job.probe.port));
        let fd = types::Fd(socket.as_raw_fd());
        let entry = Slot {
            job,
            socket,
            addr,
            started: Instant::now(),
            pending: 2,
            outcome: None,
            _permit: permit,
        };
        let entry = self.slots[slot].insert(entry);
        let tag = (slot as u64) << 2;
        let connect = opcode::Connect::new(fd, entry.addr.as_ptr().cast(), entry.addr.len())
            .build()
            .flags(squeue::Flags::IO_LINK)
            .user_data(tag | KIND_CONNECT);
        let timeout =
            opcode::LinkTimeout::new(&*self.connect_timeout).build().user_data(tag | KIND_TIMEOUT);
        self.push(&[connect, timeout])?;
        self.batch.sent += 1;
        Ok(())
    }

    /// Queues entries that must be adjacent (a link), submitting first if they do not fit.
    fn push(&mut self, entries: &[squeue::Entry]) -> io::Result<()> {
        let free = {
            let sq = self.ring.submission();
            sq.capacity() - sq.len()
        };
        if free < entries.len() {
            self.ring.submit()?;
        }
        // SAFETY: every pointer in these entries (socket address, timespecs) lives in a slot
        // or a box that outlives the operation: a slot is freed only after both of its
        // completions are reaped, and the ring is dropped before the boxes.
        unsafe { self.ring.submission().push_multiple(entries) }
            .map_err(|_| io::Error::other("the io_uring submission queue is full after a submit"))
    }

    /// Keeps one periodic timeout in the ring so a wait never outlasts [`TICK`].
    fn arm_tick(&mut self) -> io::Result<()> {
        if self.tick_armed {
            return Ok(());
        }
        let tick = opcode::Timeout::new(&*self.tick).build().user_data(TICK_TAG);
        self.push(&[tick])?;
        self.tick_armed = true;
        Ok(())
    }

    /// Asks the kernel to cancel every connect in flight; their completions still arrive.
    fn begin_stop(&mut self) -> io::Result<()> {
        self.stopping = true;
        for slot in 0..self.slots.len() {
            if self.slots[slot].is_some() {
                let tag = (slot as u64) << 2;
                let cancel = opcode::AsyncCancel::new(tag | KIND_CONNECT)
                    .build()
                    .user_data(tag | KIND_CANCEL);
                self.push(&[cancel])?;
            }
        }
        Ok(())
    }

    /// Takes every completion available.
    fn reap(&mut self) -> io::Result<()> {
        let done: Vec<cqueue::Entry> = self.ring.completion().collect();
        let mut closing = false;
        for cqe in done {
            let tag = cqe.user_data();
            if tag == TICK_TAG {
                self.tick_armed = false;
                continue;
            }
            if tag == CLOSE_TAG {
                // A failed close still releases the descriptor (close(2)); nothing to retry.
                continue;
            }
            let slot = (tag >> 2) as usize;
            let kind = tag & 3;
            if kind == KIND_CANCEL {
                continue;
            }
            let Some(entry) = self.slots.get_mut(slot).and_then(Option::as_mut) else {
                continue;
            };
            if kind == KIND_CONNECT {
                entry.outcome = Some(connect_outcome(cqe.result(), entry.started));
            }
            entry.pending -= 1;
            if entry.pending == 0
                && let Some(finished) = self.slots[slot].take()
            {
                self.free.push(slot);
                let Slot { job, outcome, socket, _permit, .. } = finished;
                let outcome = outcome.unwrap_or(Attempt::Silent);
                closing |= self.close(socket, outcome);
                // The permit goes once the close is queued: it is submitted below, before the
                // next socket is opened, so the permits still bound the open descriptors.
                drop(_permit);
                self.settle(job, outcome);
            }
        }
        if closing {
            self.ring.submit()?;
        }
        Ok(())
    }

    /// Queues the close of a finished attempt's socket; `true` when it went to the ring,
    /// `false` when it was closed at once.
    ///
    /// Only an open connection needs zero linger (a reset, no `TIME_WAIT`): a socket still
    /// in `SYN_SENT` or reset by the target closes without sending anything either way, and
    /// skipping the option there saves a syscall on nearly every probe of a sparse scan.
    fn close(&mut self, socket: Socket, outcome: Attempt) -> bool {
        if matches!(outcome, Attempt::Open(_)) {
            // Without it the connection ends with a FIN instead: still closed, only slower.
            let _ = socket.set_linger(Some(Duration::ZERO));
        }
        let close = opcode::Close::new(types::Fd(socket.as_raw_fd())).build().user_data(CLOSE_TAG);
        match self.push(&[close]) {
            Ok(()) => {
                // The ring owns the descriptor now and closes it when the entry is submitted.
                let _ = socket.into_raw_fd();
                true
            }
            // The queue could not take it: close here, as dropping always did.
            Err(_) => false,
        }
    }

    /// Accounts for one finished attempt, as the epoll path's `Scan::settle` does.
    fn settle(&mut self, job: Job, outcome: Attempt) {
        match outcome {
            Attempt::Open(rtt) => {
                self.batch.replies += 1;
                self.batch.done += 1;
                self.batch.found.push(Finding {
                    ip: job.probe.ip,
                    port: job.probe.port,
                    proto: Proto::Tcp,
                    state: PortState::Open,
                    rtt,
                });
                self.unsettled.remove(&job.index);
            }
            Attempt::Closed => {
                self.batch.replies += 1;
                self.batch.done += 1;
                self.unsettled.remove(&job.index);
            }
            // A cancelled scan does not retry; the pair stays unsettled for a resume.
            Attempt::Silent if self.stopping => {}
            Attempt::Silent if job.retries_used < self.config.retries => {
                self.retries.push_back(Job { retries_used: job.retries_used + 1, ..job });
            }
            Attempt::Silent => {
                self.batch.done += 1;
                self.unsettled.remove(&job.index);
            }
            Attempt::Exhausted(errno) => {
                self.batch.sent -= 1;
                self.retries.push_front(job);
                self.paused_until = Some(Instant::now() + EXHAUSTION_BACKOFF);
                self.exhaustion.record(errno);
            }
        }
    }

    /// Hands the batch to the async side, waiting while its queue is full; an empty batch
    /// only when `always`.
    fn flush_batch(&mut self, always: bool) {
        self.batch.settled_below =
            self.unsettled.first().copied().unwrap_or_else(|| self.stripe.floor());
        let ring = self.batch.ring;
        let batch = std::mem::replace(&mut self.batch, Batch { ring, ..Batch::default() });
        if !always && batch.sent == 0 && batch.done == 0 && batch.found.is_empty() {
            // Nothing new but maybe the mark: only worth a message when it moved, and it
            // moves only when something settled.
            return;
        }
        // A closed receiver means the async side stopped; the loop sees it and stops too.
        let _ = self.batches.blocking_send(batch);
    }
}

/// A non-blocking TCP socket. Zero linger is set at close time, on open connections only
/// (see [`RingScan::close`]).
fn new_socket() -> io::Result<Socket> {
    Socket::new(Domain::IPV4, Type::STREAM.nonblocking().cloexec(), Some(Protocol::TCP))
}

/// What a connect completion's result says about the target.
fn connect_outcome(result: i32, started: Instant) -> Attempt {
    match result {
        0 => Attempt::Open(started.elapsed()),
        // The linked timeout fired (or the scan cancelled it): no answer in time.
        error if error == -libc::ECANCELED => Attempt::Silent,
        error => classify(&io::Error::from_raw_os_error(-error)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completion_results_are_classified_like_the_epoll_path() {
        let start = Instant::now();
        assert!(matches!(connect_outcome(0, start), Attempt::Open(_)));
        assert_eq!(connect_outcome(-libc::ECONNREFUSED, start), Attempt::Closed);
        assert_eq!(connect_outcome(-libc::ECANCELED, start), Attempt::Silent);
        assert_eq!(connect_outcome(-libc::EHOSTUNREACH, start), Attempt::Silent);
        assert_eq!(connect_outcome(-libc::ENETUNREACH, start), Attempt::Silent);
        assert_eq!(
            connect_outcome(-libc::EADDRNOTAVAIL, start),
            Attempt::Exhausted(libc::EADDRNOTAVAIL)
        );
    }
}
