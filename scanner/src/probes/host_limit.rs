//! A per-host bound on exchanges in flight, so that a host with many open ports is not
//! flooded with connections while the global bound still has room.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Hands out at most `per_host` permits per address. Entries exist only while permits are
/// held or awaited, so memory follows the hosts in flight, not the hosts scanned.
#[derive(Debug)]
pub struct HostLimiter {
    per_host: usize,
    hosts: Mutex<HashMap<IpAddr, Arc<Semaphore>>>,
}

/// A slot for one exchange with one host; dropping it frees the slot.
#[derive(Debug)]
pub struct HostPermit {
    permit: Option<OwnedSemaphorePermit>,
    ip: IpAddr,
    limiter: Arc<HostLimiter>,
}

impl HostLimiter {
    /// At most `per_host` (at least one) exchanges per address.
    pub fn new(per_host: usize) -> Arc<Self> {
        Arc::new(Self { per_host: per_host.max(1), hosts: Mutex::default() })
    }

    /// Waits for a slot with `ip`.
    pub async fn acquire(self: &Arc<Self>, ip: IpAddr) -> HostPermit {
        let semaphore = {
            let mut hosts = self.hosts.lock().unwrap_or_else(PoisonError::into_inner);
            hosts.entry(ip).or_insert_with(|| Arc::new(Semaphore::new(self.per_host))).clone()
        };
        // The semaphore is never closed, so acquiring cannot fail; `ok()` keeps that visible
        // without a panic path.
        let permit = semaphore.acquire_owned().await.ok();
        HostPermit { permit, ip, limiter: self.clone() }
    }

    /// Addresses with permits held or awaited.
    pub fn hosts_in_flight(&self) -> usize {
        self.hosts.lock().unwrap_or_else(PoisonError::into_inner).len()
    }
}

impl Drop for HostPermit {
    fn drop(&mut self) {
        drop(self.permit.take());
        let mut hosts = self.limiter.hosts.lock().unwrap_or_else(PoisonError::into_inner);
        // Only the map holds the semaphore: nobody has or awaits a permit for this host.
        if hosts.get(&self.ip).is_some_and(|s| Arc::strong_count(s) == 1) {
            hosts.remove(&self.ip);
        }
    }
}
