//! Names of live hosts from reverse DNS, looked up beside the scan.
//!
//! The Persister hands over each batch's new hosts with `try_send` on a bounded queue: when
//! the resolver falls behind, batches are dropped (and said so in the log) rather than
//! slowing the scan. Names arrive in the store later than the ports, as `dns` hostnames.

use std::net::Ipv4Addr;

use sonde_scanner::ReverseResolver;
use sonde_web::api::{Hostname, HostnameSource};
use tokio::sync::mpsc;
use tracing::{debug, warn};

use crate::store::Store;

/// Batches of hosts waiting for names at most.
pub const NAMING_QUEUE: usize = 256;

/// Hosts a scan found, to be named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameHosts {
    /// The scan that found them.
    pub scan_id: i64,
    /// Their addresses.
    pub hosts: Vec<Ipv4Addr>,
}

/// Names hosts until every sender is gone.
pub async fn run(resolver: ReverseResolver, store: Store, mut queue: mpsc::Receiver<NameHosts>) {
    while let Some(batch) = queue.recv().await {
        let found = resolver.names(&batch.hosts).await;
        let names: Vec<(Ipv4Addr, Hostname)> = found
            .into_iter()
            .flat_map(|(ip, names)| {
                names
                    .into_iter()
                    .map(move |name| (ip, Hostname { name, source: HostnameSource::Dns }))
            })
            .collect();
        debug!(
            scan_id = batch.scan_id,
            hosts = batch.hosts.len(),
            names = names.len(),
            "Reverse DNS batch done."
        );
        if let Err(e) = store.add_hostnames(batch.scan_id, &names).await {
            warn!(scan_id = batch.scan_id, error = %e, "Could not store host names.");
        }
    }
}
