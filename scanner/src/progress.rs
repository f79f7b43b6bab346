//! Lock-free scan counters, written by engines, read by reporters.

use std::sync::atomic::{AtomicU64, Ordering};

/// Counters an engine updates as it goes. Reporters read a [`ProgressSnapshot`].
#[derive(Debug, Default)]
pub struct Progress {
    /// Probes sent, retries included.
    pub sent: AtomicU64,
    /// (address, port) pairs whose outcome is known.
    pub done: AtomicU64,
    /// Replies (open or closed).
    pub replies: AtomicU64,
    /// Open ports found.
    pub open: AtomicU64,
    /// The plan index below which every pair of the running range is settled and its open
    /// port, if any, handed to the findings channel: the low-water mark a checkpoint saves.
    /// Engines store it with `Release` after the findings it covers were sent.
    pub settled_below: AtomicU64,
}

/// A copy of [`Progress`] at one instant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProgressSnapshot {
    /// Probes sent, retries included.
    pub sent: u64,
    /// Pairs whose outcome is known.
    pub done: u64,
    /// Replies.
    pub replies: u64,
    /// Open ports.
    pub open: u64,
}

impl Progress {
    /// Reads every counter.
    pub fn snapshot(&self) -> ProgressSnapshot {
        ProgressSnapshot {
            sent: self.sent.load(Ordering::Relaxed),
            done: self.done.load(Ordering::Relaxed),
            replies: self.replies.load(Ordering::Relaxed),
            open: self.open.load(Ordering::Relaxed),
        }
    }
}
