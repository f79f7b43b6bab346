//! Holding a probe rate.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

/// Schedule times are kept in 1/16 ns, so intervals like 1/7,000,000 s keep their fraction
/// (within 0.03%); a `u64` of them lasts 36 years from the pacer's creation, longer than any
/// appliance stays up.
const FRACTION_BITS: u32 = 4;

/// A token bucket shared by every task that sends probes for one budget. Refills continuously;
/// bursts are capped at a small batch so the rate stays smooth.
///
/// It is kept as a GCRA schedule (the "virtual scheduling" form of a token bucket): one atomic
/// holds the time the next probe is due, and each caller reserves its slot with a
/// compare-and-swap, so no lock is taken and waiters are served in the order they arrived.
#[derive(Debug)]
pub struct Pacer {
    rate: u64,
    /// Time between two probes, in schedule units.
    interval: u64,
    /// How far the schedule may trail the clock, in schedule units: this is the burst. It
    /// spans at least 4 ms of probes, because tokio's timer wakes sleepers on whole
    /// milliseconds and a smaller allowance would lose the remainder of every late wake-up.
    tolerance: u64,
    /// When the next probe is due, in schedule units since `epoch`.
    next: AtomicU64,
    epoch: Instant,
}

impl Pacer {
    /// A pacer for `rate` probes per second; `0` means unlimited.
    pub fn new(rate: u64) -> Self {
        let interval = if rate == 0 {
            0
        } else {
            let per_second = 1_000_000_000u128 << FRACTION_BITS;
            u64::try_from(per_second / u128::from(rate)).unwrap_or(u64::MAX).max(1)
        };
        Self {
            rate,
            interval,
            tolerance: (Self::burst_for(rate) - 1).saturating_mul(interval),
            next: AtomicU64::new(0),
            epoch: Instant::now(),
        }
    }
    /// The configured rate (0 = unlimited).
    pub fn rate(&self) -> u64 {
        self.rate
    }
    /// Probes that may leave back to back after an idle spell: 4 ms worth, at least one.
    pub fn burst(&self) -> u64 {
        Self::burst_for(self.rate)
    }
    /// Waits until one probe may be sent.
    pub async fn acquire(&self) {
        self.acquire_many(1).await;
    }
    /// Waits until a batch of `n` probes may be sent back to back: the batch takes `n` slots
    /// of the schedule, so batches hold the rate as well as single probes do. Keep `n` at or
    /// below [`burst`](Self::burst) for a smooth rate.
    pub async fn acquire_many(&self, n: u64) {
        if let Some(due) = self.reserve(n) {
            tokio::time::sleep_until(due).await;
        }
    }
    /// Reserves a batch of `n` probes like [`acquire_many`](Self::acquire_many) without
    /// waiting: the batch may leave at the returned instant (`None`: at once). For callers on
    /// their own thread, such as the io_uring connect path, which sleep themselves.
    pub fn reserve(&self, n: u64) -> Option<Instant> {
        if self.rate == 0 || n == 0 {
            return None;
        }
        let now = self.units_since_epoch(Instant::now());
        let floor = now.saturating_sub(self.tolerance);
        let cost = self.interval.saturating_mul(n);
        let (Ok(due) | Err(due)) =
            self.next.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |due| {
                Some(due.max(floor).saturating_add(cost))
            });
        let slot = due.max(floor);
        (slot > now).then(|| self.epoch + Duration::from_nanos(slot >> FRACTION_BITS))
    }

    fn burst_for(rate: u64) -> u64 {
        (rate / 250).max(1)
    }
    fn units_since_epoch(&self, now: Instant) -> u64 {
        let nanos = now.saturating_duration_since(self.epoch).as_nanos();
        u64::try_from(nanos).unwrap_or(u64::MAX).saturating_mul(1 << FRACTION_BITS)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    /// Virtual seconds that `count` acquires take, `tasks` tasks sharing the pacer.
    async fn seconds_for(rate: u64, count: u64, tasks: u64) -> f64 {
        let pacer = Arc::new(Pacer::new(rate));
        let start = Instant::now();
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..tasks {
            let pacer = Arc::clone(&pacer);
            set.spawn(async move {
                for _ in 0..count / tasks {
                    pacer.acquire().await;
                }
            });
        }
        set.join_all().await;
        start.elapsed().as_secs_f64()
    }

    #[tokio::test(start_paused = true)]
    async fn holds_the_rate() {
        // (rate, acquires, tasks): the burst goes at once, the rest at the rate.
        let cases = [
            (1, 4, 1),
            (2, 5, 1),
            (10, 50, 1),
            (300, 900, 1),
            (1_000, 3_000, 1),
            (1_000, 3_000, 3),
            (7_777, 20_000, 4),
            (10_000, 30_000, 1),
            (1_000_000, 300_000, 2),
        ];
        for (rate, count, tasks) in cases {
            let burst = Pacer::new(rate).burst();
            let want = (count - burst) as f64 / rate as f64;
            let got = seconds_for(rate, count, tasks).await;
            assert!(
                (got - want).abs() <= want * 0.02 + 0.002,
                "rate {rate}, {count} acquires in {tasks} tasks: {got:.4}s, want {want:.4}s"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn batches_hold_the_rate() {
        let pacer = Pacer::new(100_000);
        let start = Instant::now();
        for _ in 0..1_000 {
            pacer.acquire_many(50).await;
        }
        // 50,000 probes at 100,000/s, less the initial burst.
        let elapsed = start.elapsed().as_secs_f64();
        assert!((0.49..=0.51).contains(&elapsed), "{elapsed}s");
    }

    #[tokio::test(start_paused = true)]
    async fn unlimited_never_waits() {
        assert_eq!(seconds_for(0, 100_000, 2).await, 0.0);
        assert_eq!(Pacer::new(0).rate(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_pacer_allows_one_burst_only() {
        let pacer = Pacer::new(10_000);
        assert_eq!(pacer.burst(), 40);
        tokio::time::sleep(Duration::from_secs(5)).await;
        let start = Instant::now();
        for _ in 0..pacer.burst() {
            pacer.acquire().await;
        }
        assert_eq!(start.elapsed(), Duration::ZERO, "the burst waits for nothing");
        for _ in 0..100 {
            pacer.acquire().await;
        }
        let elapsed = start.elapsed().as_secs_f64();
        assert!((0.0095..=0.0115).contains(&elapsed), "100 more took {elapsed}s, want 10 ms");
    }

    /// The appliance's subnets share their scan's pacer (`SynEngine` and `ConnectEngine`
    /// clones): the scan's budget is divided among the subnets that are sending, and a
    /// subnet that finishes leaves its share to the others.
    #[tokio::test(start_paused = true)]
    async fn a_shared_budget_is_divided_among_the_running_and_redivided_when_one_ends() {
        let pacer = Arc::new(Pacer::new(30_000));
        let start = Instant::now();
        let sent = |stop_after: Duration| {
            let pacer = Arc::clone(&pacer);
            tokio::spawn(async move {
                let mut probes = 0u64;
                while start.elapsed() < stop_after {
                    pacer.acquire_many(30).await;
                    probes += 30;
                }
                probes
            })
        };
        // Three subnets for 1 s, then one of them alone for 1 s more.
        let short = [sent(Duration::from_secs(1)), sent(Duration::from_secs(1))];
        let long = sent(Duration::from_secs(2));
        let mut first_second = Vec::new();
        for task in short {
            first_second.push(task.await.unwrap());
        }
        let long = long.await.unwrap();
        let burst = pacer.burst();
        for probes in &first_second {
            // A third of 30,000 each, give or take the initial burst and one batch.
            assert!(probes.abs_diff(10_000) <= burst + 30, "a short subnet sent {probes}");
        }
        // A third during the first second, the whole budget during the second.
        assert!(long.abs_diff(40_000) <= burst + 60, "the long subnet sent {long}");
    }

    #[test]
    fn bursts_scale_with_the_rate() {
        let cases = [(1, 1), (249, 1), (250, 1), (1_000, 4), (10_000, 40), (1_000_000, 4_000)];
        for (rate, burst) in cases {
            assert_eq!(Pacer::new(rate).burst(), burst, "rate {rate}");
        }
        assert_eq!(Pacer::new(u64::MAX).interval, 1, "absurd rates still pace");
    }
}
