//! Login rate limiting: a few free failures per user name and per client address, then an
//! exponentially growing wait.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// Failures allowed before waits start.
const FREE_FAILURES: u32 = 5;

/// The longest wait: long enough to make guessing hopeless, short enough that an attacker
/// who locks out the admin's name does not lock them out for the day.
const MAX_WAIT: Duration = Duration::from_secs(15 * 60);

/// Entries are dropped this long after their last failure once the table is large.
const FORGET_AFTER: Duration = Duration::from_secs(60 * 60);

/// Above this many entries, old ones are pruned, so that a spray of names cannot grow the
/// table without bound.
const PRUNE_ABOVE: usize = 10_000;

/// Counts failed logins per key (a user name or a client address).
///
/// One limiter is shared by every worker of a server, so that more workers do not mean more
/// attempts.
#[derive(Debug, Default)]
pub struct LoginLimiter {
    failures: Mutex<HashMap<String, Failures>>,
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
}

impl Failures {
    /// When the next attempt is allowed.
    fn next_allowed(self) -> Instant {
        if self.count < FREE_FAILURES {
            return self.last;
        }
        let doublings = (self.count - FREE_FAILURES).min(20);
        self.last + Duration::from_secs(1u64 << doublings).min(MAX_WAIT)
    }
}

impl LoginLimiter {
    /// A limiter with no failures recorded.
    pub fn new() -> Self {
        Self::default()
    }

    /// `Err(wait)` when any of `keys` must wait before another attempt.
    pub(crate) fn check(&self, keys: &[String]) -> Result<(), Duration> {
        let now = Instant::now();
        let failures = self.lock();
        let wait = keys
            .iter()
            .filter_map(|key| failures.get(key))
            .map(|f| f.next_allowed().saturating_duration_since(now))
            .max()
            .unwrap_or_default();
        if wait.is_zero() { Ok(()) } else { Err(wait) }
    }

    /// Records a failed attempt under every key.
    pub(crate) fn failed(&self, keys: &[String]) {
        let now = Instant::now();
        let mut failures = self.lock();
        if failures.len() > PRUNE_ABOVE {
            failures.retain(|_, f| now.saturating_duration_since(f.last) < FORGET_AFTER);
        }
        for key in keys {
            let entry = failures.entry(key.clone()).or_insert(Failures { count: 0, last: now });
            entry.count = entry.count.saturating_add(1);
            entry.last = now;
        }
    }

    /// Forgets the failures of a user name after a successful login. The address keeps its
    /// count: one good password must not reset a spray over other names.
    pub(crate) fn succeeded(&self, key: &str) {
        self.lock().remove(key);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Failures>> {
        // A panic while holding the lock leaves counts that are still counts.
        self.failures.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Vec<String> {
        vec!["user:admin".to_owned(), "addr:192.0.2.1".to_owned()]
    }

    #[tokio::test(start_paused = true)]
    async fn five_failures_are_free_then_waits_double() {
        let limiter = LoginLimiter::new();
        for _ in 0..FREE_FAILURES - 1 {
            limiter.failed(&keys());
            assert_eq!(limiter.check(&keys()), Ok(()));
        }
        limiter.failed(&keys());
        assert_eq!(limiter.check(&keys()), Err(Duration::from_secs(1)));
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(limiter.check(&keys()), Ok(()));
        limiter.failed(&keys());
        assert_eq!(limiter.check(&keys()), Err(Duration::from_secs(2)));
        for _ in 0..30 {
            limiter.failed(&keys());
        }
        assert_eq!(limiter.check(&keys()), Err(MAX_WAIT));
        // Another name from another address is not held back.
        assert_eq!(limiter.check(&["user:bob".to_owned(), "addr:192.0.2.2".to_owned()]), Ok(()));
        // The same address under another name is.
        assert!(limiter.check(&["user:bob".to_owned(), "addr:192.0.2.1".to_owned()]).is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn success_forgets_the_name_but_not_the_address() {
        let limiter = LoginLimiter::new();
        for _ in 0..FREE_FAILURES {
            limiter.failed(&keys());
        }
        limiter.succeeded("user:admin");
        assert_eq!(limiter.check(&keys()[..1]), Ok(()));
        assert!(limiter.check(&keys()[1..]).is_err());
    }
}
