//! Reading what a service says first.

use std::net::SocketAddr;
use std::time::Duration;

/// Limits of a banner read.
#[derive(Debug, Clone, Copy)]
pub struct BannerConfig {
    /// Time for the connection and for the first bytes.
    pub timeout: Duration,
    /// Bytes kept at most.
    pub max_bytes: usize,
}

impl Default for BannerConfig {
    fn default() -> Self {
        Self { timeout: Duration::from_millis(1500), max_bytes: 1024 }
    }
}

/// Connects to `addr` and returns what the service sends unprompted before the timeout, up to
/// `max_bytes`. `None` when it refuses, says nothing, or the connection fails.
pub async fn read_banner(addr: SocketAddr, config: BannerConfig) -> Option<Vec<u8>> {
    let _ = (addr, config);
    todo!()
}
