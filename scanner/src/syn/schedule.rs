//! The order in which a sender walks its share of a range: in windows, each window sent
//! `1 + retries` times with at least `wait` between two passes over it, and settled `wait`
//! after its last pass. New windows are sent while older ones wait for their retry, so the
//! wire stays busy, and windows settle in order, so the start of the oldest unsettled window
//! is a low-water mark that a checkpoint can save: a killed scan resumes there instead of at
//! the start of its range.

use std::collections::VecDeque;
use std::ops::Range;
use std::time::Duration;

use tokio::time::Instant;

/// What the sender does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    /// Send pass `pass` over the plan indexes `indexes`; `last` when no retry follows.
    Send {
        /// Plan indexes of the window.
        indexes: Range<u64>,
        /// 0 for the first probes, then 1 for the first retry, and so on.
        pass: u8,
        /// No pass follows this one.
        last: bool,
    },
    /// Nothing to send before this instant.
    Sleep(Instant),
    /// Every window is sent and settled.
    Done,
}

/// A sender's schedule; see the module documentation.
#[derive(Debug)]
pub(crate) struct Schedule {
    /// The first index no window covers yet, and where the range ends.
    next_new: u64,
    end: u64,
    window: u64,
    retries: u8,
    wait: Duration,
    /// Windows waiting for their next pass (or, past the last pass, for settling), in the
    /// order they are due: each is pushed `wait` after the moment it was sent, so the queue
    /// stays sorted by due time.
    waiting: VecDeque<Waiting>,
    settled_below: u64,
}

#[derive(Debug)]
struct Waiting {
    indexes: Range<u64>,
    /// The next pass; `retries + 1` means settling.
    pass: u8,
    due: Instant,
}

impl Schedule {
    /// A schedule over `range` in windows of `window` indexes (at least 1).
    pub(crate) fn new(range: Range<u64>, window: u64, retries: u8, wait: Duration) -> Self {
        Self {
            next_new: range.start,
            end: range.end,
            window: window.max(1),
            retries,
            wait,
            waiting: VecDeque::new(),
            settled_below: range.start,
        }
    }

    /// What to do at `now`: a due retry first, else a new window, else wait for the next
    /// due window.
    pub(crate) fn next(&mut self, now: Instant) -> Step {
        while let Some(front) = self.waiting.front() {
            if front.due > now {
                break;
            }
            let Some(due) = self.waiting.pop_front() else { break };
            if due.pass > self.retries {
                self.settled_below = due.indexes.end;
                continue;
            }
            return Step::Send {
                indexes: due.indexes,
                pass: due.pass,
                last: due.pass == self.retries,
            };
        }
        if self.next_new < self.end {
            let start = self.next_new;
            self.next_new = self.end.min(start.saturating_add(self.window));
            return Step::Send { indexes: start..self.next_new, pass: 0, last: self.retries == 0 };
        }
        match self.waiting.front() {
            Some(front) => Step::Sleep(front.due),
            None => {
                self.settled_below = self.end;
                Step::Done
            }
        }
    }

    /// Records that pass `pass` over `indexes` was sent at `now`.
    pub(crate) fn sent(&mut self, indexes: Range<u64>, pass: u8, now: Instant) {
        self.waiting.push_back(Waiting { indexes, pass: pass + 1, due: now + self.wait });
    }

    /// Every index below this one has had all its passes and its last wait.
    pub(crate) fn settled_below(&self) -> u64 {
        self.settled_below
    }
}

/// The first index at or after `start` in the share `share` of `shares` (indexes
/// `share, share + shares, ...`).
pub(crate) fn first_in_share(start: u64, share: u64, shares: u64) -> u64 {
    let offset = (share + shares - start % shares) % shares;
    start + offset
}

#[cfg(test)]
mod tests {
    use super::*;

    const WAIT: Duration = Duration::from_secs(1);

    fn send(indexes: Range<u64>, pass: u8, last: bool) -> Step {
        Step::Send { indexes, pass, last }
    }

    #[test]
    fn windows_are_retried_after_the_wait_and_settle_in_order() {
        let t0 = Instant::now();
        let mut s = Schedule::new(10..35, 10, 1, WAIT);
        assert_eq!(s.next(t0), send(10..20, 0, false));
        s.sent(10..20, 0, t0);
        let t1 = t0 + Duration::from_millis(400);
        assert_eq!(s.next(t1), send(20..30, 0, false));
        s.sent(20..30, 0, t1);
        assert_eq!(s.next(t1), send(30..35, 0, false));
        s.sent(30..35, 0, t1);
        assert_eq!(s.next(t1), Step::Sleep(t0 + WAIT), "every window sent once: wait");
        assert_eq!(s.settled_below(), 10);
        let t2 = t0 + WAIT;
        assert_eq!(s.next(t2), send(10..20, 1, true), "the first retry is due");
        s.sent(10..20, 1, t2);
        assert_eq!(s.settled_below(), 10, "a retried window settles only after its wait");
        let t3 = t1 + WAIT;
        assert_eq!(s.next(t3), send(20..30, 1, true));
        s.sent(20..30, 1, t3);
        assert_eq!(s.next(t3), send(30..35, 1, true));
        s.sent(30..35, 1, t3);
        assert_eq!(s.next(t3), Step::Sleep(t2 + WAIT));
        assert_eq!(s.next(t2 + WAIT), Step::Sleep(t3 + WAIT));
        assert_eq!(s.settled_below(), 20, "the first window has settled");
        assert_eq!(s.next(t3 + WAIT), Step::Done);
        assert_eq!(s.settled_below(), 35);
    }

    #[test]
    fn without_retries_a_window_settles_one_wait_after_it_was_sent() {
        let t0 = Instant::now();
        let mut s = Schedule::new(0..5, 100, 0, WAIT);
        assert_eq!(s.next(t0), send(0..5, 0, true));
        s.sent(0..5, 0, t0);
        assert_eq!(s.next(t0), Step::Sleep(t0 + WAIT));
        assert_eq!(s.settled_below(), 0);
        assert_eq!(s.next(t0 + WAIT), Step::Done);
        assert_eq!(s.settled_below(), 5);
        let mut empty = Schedule::new(7..7, 10, 3, WAIT);
        assert_eq!(empty.next(t0), Step::Done);
        assert_eq!(empty.settled_below(), 7);
    }

    #[test]
    fn shares_start_at_their_own_residue() {
        assert_eq!(first_in_share(0, 0, 1), 0);
        assert_eq!(first_in_share(10, 0, 3), 12);
        assert_eq!(first_in_share(10, 1, 3), 10);
        assert_eq!(first_in_share(10, 2, 3), 11);
        assert_eq!(first_in_share(12, 0, 3), 12);
    }
}
