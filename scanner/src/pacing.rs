//! Holding a probe rate.

/// A token bucket shared by every task that sends probes for one budget. Refills continuously;
/// bursts are capped at a small batch so the rate stays smooth.
#[derive(Debug)]
pub struct Pacer {
    rate: u64,
}

impl Pacer {
    /// A pacer for `rate` probes per second; `0` means unlimited.
    pub fn new(rate: u64) -> Self {
        Self { rate }
    }
    /// The configured rate (0 = unlimited).
    pub fn rate(&self) -> u64 {
        self.rate
    }
    /// Waits until one probe may be sent.
    pub async fn acquire(&self) {
        todo!()
    }
}
