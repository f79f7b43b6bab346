//! The Persister: the only writer of scans and results. One transaction per batch.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use sonde_web::api::{
    EventPayload, PortChange, PortView, ScanChanges, ScanCounters, ScanStatus, ServiceInfo,
};
use tokio::sync::mpsc;
use tracing::{error, warn};

use super::{EventBus, PERSISTER_MAILBOX};
use crate::naming::NameHosts;
use crate::store::{
    ChunkFailure, HostRecord, NewScan, PortRecord, Released, Store, StoreError, printable_banner,
    tls_view,
};

/// Failed attempts after which a chunk is given up, unless configured otherwise.
pub const DEFAULT_CHUNK_ATTEMPTS: u32 = 3;

/// How long to wait before writing again to a full disk.
const DISK_FULL_RETRY: Duration = Duration::from_secs(5);

/// Records a new scan as queued; answers its id.
#[derive(Debug, Message)]
#[rtype(result = "Result<i64, StoreError>")]
pub struct CreateScan(pub NewScan);

/// A scan started running.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct MarkRunning {
    /// Scan id.
    pub scan_id: i64,
}

/// Progress counters to keep (a few per minute; the event stream gets them more often).
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct StoreCounters {
    /// Scan id.
    pub scan_id: i64,
    /// Counters now.
    pub counters: ScanCounters,
}

/// A batch of identified open ports.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct PersistPorts {
    /// Scan id.
    pub scan_id: i64,
    /// The ports.
    pub records: Vec<PortRecord>,
}

/// On-link hosts a scan found by ARP, with their MACs. Sent by a SubnetScanner before it
/// probes, so it reaches the Persister ahead of the scan's `FinishScan`.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct PersistHosts {
    /// Scan id.
    pub scan_id: i64,
    /// The hosts.
    pub hosts: Vec<HostRecord>,
}

/// The end of a scan. Travels Prober -> Matcher -> Persister behind the scan's last results.
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct FinishScan {
    /// Scan id.
    pub scan_id: i64,
    /// `Completed`, `Cancelled` or `Failed`.
    pub status: ScanStatus,
    /// Final engine counters (open ports and hosts are recounted from the store).
    pub counters: ScanCounters,
    /// Why it failed, when it did.
    pub error: Option<String>,
    /// Set when this ends or checkpoints one leased chunk of a scan shared by several
    /// appliances, rather than the scan itself.
    pub chunk: Option<Box<ChunkMark>>,
}

/// A position in a leased chunk, behind the results it covers: every pair below
/// `settled_below` has its results stored once the Persister sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkMark {
    /// Chunk id in the store.
    pub chunk_id: i64,
    /// The chunk's checkpoint.
    pub settled_below: u64,
    /// The chunk is finished: release it (and end the scan if it was the last).
    pub done: bool,
}

/// Writes what the pipeline produces and announces it on the bus once it is stored.
#[derive(Debug)]
pub struct Persister {
    store: Store,
    bus: Arc<EventBus>,
    /// Scans whose results could not all be stored: they end `failed` with this reason.
    broken: HashMap<i64, String>,
    /// Where new hosts go to be named, when reverse DNS is on.
    naming: Option<mpsc::Sender<NameHosts>>,
    /// This appliance's name when it shares the store with others: the owner of its leases.
    lease_owner: Option<String>,
    /// Failed attempts after which a chunk is given up (`[cluster] chunk_attempts`).
    chunk_attempts: u32,
}

impl Persister {
    /// A persister writing to `store`.
    pub fn new(store: Store, bus: Arc<EventBus>) -> Self {
        Self {
            store,
            bus,
            broken: HashMap::new(),
            naming: None,
            lease_owner: None,
            chunk_attempts: DEFAULT_CHUNK_ATTEMPTS,
        }
    }

    /// Records the checkpoints and ends of chunks leased under `name`.
    pub fn with_lease_owner(mut self, name: String) -> Self {
        self.lease_owner = Some(name);
        self
    }

    /// Gives a chunk up after `attempts` failed attempts (default [`DEFAULT_CHUNK_ATTEMPTS`]).
    pub fn with_chunk_attempts(mut self, attempts: u32) -> Self {
        self.chunk_attempts = attempts.max(1);
        self
    }

    /// Also hands each batch's new hosts to `naming` (never waiting for it).
    pub fn with_naming(mut self, naming: mpsc::Sender<NameHosts>) -> Self {
        self.naming = Some(naming);
        self
    }
}

impl Actor for Persister {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(PERSISTER_MAILBOX);
    }
}

impl Handler<CreateScan> for Persister {
    type Result = AtomicResponse<Self, Result<i64, StoreError>>;

    fn handle(&mut self, msg: CreateScan, _: &mut Self::Context) -> Self::Result {
        let store = self.store.clone();
        let bus = self.bus.clone();
        AtomicResponse::new(Box::pin(
            async move {
                let id = store.create_scan(&msg.0).await?;
                bus.publish([EventPayload::ScanStatus {
                    scan_id: id,
                    status: ScanStatus::Queued,
                    error: None,
                }]);
                Ok(id)
            }
            .into_actor(self),
        ))
    }
}

impl Handler<MarkRunning> for Persister {
    type Result = AtomicResponse<Self, ()>;

    fn handle(&mut self, msg: MarkRunning, _: &mut Self::Context) -> Self::Result {
        let store = self.store.clone();
        let bus = self.bus.clone();
        AtomicResponse::new(Box::pin(
            async move {
                match store.mark_running(msg.scan_id).await {
                    Ok(()) => bus.publish([EventPayload::ScanStatus {
                        scan_id: msg.scan_id,
                        status: ScanStatus::Running,
                        error: None,
                    }]),
                    Err(e) => error!(scan_id = msg.scan_id, error = %e, "Could not mark the scan running."),
                }
            }
            .into_actor(self),
        ))
    }
}

impl Handler<StoreCounters> for Persister {
    type Result = AtomicResponse<Self, ()>;

    fn handle(&mut self, msg: StoreCounters, _: &mut Self::Context) -> Self::Result {
        let store = self.store.clone();
        AtomicResponse::new(Box::pin(
            async move {
                // Counters are advisory until the scan ends; a failed update is retried by the
                // next one.
                if let Err(e) = store.update_counters(msg.scan_id, &msg.counters).await {
                    warn!(scan_id = msg.scan_id, error = %e, "Could not store scan counters.");
                }
            }
            .into_actor(self),
        ))
    }
}

impl Handler<PersistPorts> for Persister {
    type Result = AtomicResponse<Self, ()>;

    fn handle(&mut self, msg: PersistPorts, _: &mut Self::Context) -> Self::Result {
        let store = self.store.clone();
        let bus = self.bus.clone();
        let scan_id = msg.scan_id;
        let naming = self.naming.clone();
        AtomicResponse::new(Box::pin(
            async move { write_with_retry(&store, &bus, naming.as_ref(), &msg).await.err() }
                .into_actor(self)
                .map(move |failure, act, _| {
                    if let Some(reason) = failure {
                        act.broken.entry(scan_id).or_insert(reason);
                    }
                }),
        ))
    }
}

impl Handler<PersistHosts> for Persister {
    type Result = AtomicResponse<Self, ()>;

    fn handle(&mut self, msg: PersistHosts, _: &mut Self::Context) -> Self::Result {
        let store = self.store.clone();
        let scan_id = msg.scan_id;
        AtomicResponse::new(Box::pin(
            async move { store.persist_hosts(msg.scan_id, &msg.hosts).await.err() }
                .into_actor(self)
                .map(move |failure, act, _| {
                    if let Some(error) = failure {
                        error!(scan_id, %error, "On-link hosts could not be stored.");
                        act.broken.entry(scan_id).or_insert_with(|| error.to_string());
                    }
                }),
        ))
    }
}

impl Handler<FinishScan> for Persister {
    type Result = AtomicResponse<Self, ()>;

    fn handle(&mut self, mut msg: FinishScan, _: &mut Self::Context) -> Self::Result {
        let store = self.store.clone();
        let bus = self.bus.clone();
        if let Some(mark) = msg.chunk.as_deref().copied() {
            let owner = self.lease_owner.clone().unwrap_or_default();
            if mark.done
                && let Some(reason) = self.broken.remove(&msg.scan_id)
            {
                // Another appliance may still complete the scan; this chunk's loss is logged.
                error!(scan_id = msg.scan_id, chunk = mark.chunk_id, %reason, "Results of a chunk could not all be stored.");
            }
            // A job that failed (its engine could not start, or stopped with an error) is a
            // failed attempt at the chunk; a cancelled one is not.
            let failure = (msg.status == ScanStatus::Failed).then(|| {
                msg.error.clone().unwrap_or_else(|| "the scan engine stopped with an error".into())
            });
            let attempt = ChunkAttempt { owner, mark, failure, max_attempts: self.chunk_attempts };
            return AtomicResponse::new(Box::pin(
                end_chunk(store, bus, msg.scan_id, attempt).into_actor(self),
            ));
        }
        if let Some(reason) = self.broken.remove(&msg.scan_id) {
            msg.status = ScanStatus::Failed;
            msg.error = Some(reason);
        }
        AtomicResponse::new(Box::pin(end_scan(store, bus, msg).into_actor(self)))
    }
}

/// How one job on a leased chunk ended, for the store.
#[derive(Debug)]
struct ChunkAttempt {
    /// This appliance, the lease's owner.
    owner: String,
    /// Where the chunk stands.
    mark: ChunkMark,
    /// Why the attempt failed, when it did.
    failure: Option<String>,
    /// Failed attempts after which the chunk is given up.
    max_attempts: u32,
}

/// Records a chunk's checkpoint, releases it, or records its failed attempt; the appliance
/// ending a scan's last chunk ends the scan for all.
async fn end_chunk(store: Store, bus: Arc<EventBus>, scan_id: i64, attempt: ChunkAttempt) {
    let ChunkAttempt { owner, mark, failure, max_attempts } = attempt;
    let chunk = mark.chunk_id;
    if let Some(error) = failure {
        // The checkpoint first: what was stored before the failure is not scanned again.
        if let Err(e) = store.checkpoint_chunk(chunk, &owner, mark.settled_below).await {
            warn!(scan_id, chunk, error = %e, "Could not store a chunk's checkpoint.");
        }
        match store.fail_chunk(chunk, &owner, &error, max_attempts).await {
            Ok(ChunkFailure::Retry { attempts }) => warn!(
                scan_id, chunk, attempts, %error,
                "A chunk failed here; it is free again for any appliance."
            ),
            Ok(ChunkFailure::GaveUp(released)) => {
                error!(scan_id, chunk, attempts = max_attempts, %error, "A chunk failed every attempt; it is given up.");
                after_release(store, bus, scan_id, chunk, released).await;
            }
            Ok(ChunkFailure::NotHeld) => {}
            Err(e) => {
                error!(scan_id, chunk, error = %e, "Could not record a chunk's failure; its lease will pass to another appliance.")
            }
        }
        return;
    }
    if !mark.done {
        if let Err(e) = store.checkpoint_chunk(chunk, &owner, mark.settled_below).await {
            warn!(scan_id, chunk, error = %e, "Could not store a chunk's checkpoint.");
        }
        return;
    }
    match store.release_chunk(chunk, &owner).await {
        Ok(released) => after_release(store, bus, scan_id, chunk, released).await,
        Err(e) => {
            error!(scan_id, chunk, error = %e, "Could not release a chunk; its lease will pass to another appliance.")
        }
    }
}

/// Ends the scan when its last chunk was just released or given up.
async fn after_release(
    store: Store,
    bus: Arc<EventBus>,
    scan_id: i64,
    chunk: i64,
    released: Released,
) {
    match released {
        Released::Last(status, error) => {
            let counters = match store.chunk_totals(scan_id).await {
                Ok(counters) => counters,
                Err(e) => {
                    warn!(scan_id, error = %e, "Could not sum the counters of the scan's chunks.");
                    ScanCounters::default()
                }
            };
            tracing::info!(
                scan_id,
                status = status.as_str(),
                "Last chunk of a shared scan ended; the scan ends."
            );
            end_scan(store, bus, FinishScan { scan_id, status, counters, error, chunk: None })
                .await;
        }
        Released::Done => tracing::info!(scan_id, chunk, "Chunk done."),
        Released::NotHeld => warn!(
            scan_id,
            chunk,
            "A chunk finished after its lease passed to another appliance; its results are kept."
        ),
    }
}

/// Puts a scan in its final status, compares it with the previous one and announces it.
async fn end_scan(store: Store, bus: Arc<EventBus>, msg: FinishScan) {
    match store.finish_scan(msg.scan_id, msg.status, &msg.counters, msg.error.as_deref()).await {
        Ok(view) => {
            // Every host the scan saw belongs to a machine from now on, whether or not the
            // scan completed.
            if let Err(e) = store.link_machines(msg.scan_id).await {
                error!(scan_id = msg.scan_id, error = %e, "Could not link the scan's hosts to their machines.");
            }
            // Only a completed scan saw everything it was asked to: a cancelled or
            // failed one would report every port it did not reach as closed.
            if view.status == ScanStatus::Completed {
                record_changes(&store, &bus, msg.scan_id).await;
            }
            bus.publish([
                EventPayload::ScanStatus {
                    scan_id: msg.scan_id,
                    status: view.status,
                    error: view.error.clone(),
                },
                EventPayload::ScanFinished {
                    scan_id: msg.scan_id,
                    status: view.status,
                    counters: view.counters,
                },
            ]);
        }
        Err(e) => {
            error!(scan_id = msg.scan_id, error = %e, "Could not record the end of the scan; it will show as failed after a restart.")
        }
    }
}

/// Compares a completed scan with the previous comparable one, keeps the changes in the
/// host history and announces them. A failure loses only the history entry: the results
/// stay and the comparison can still be asked for over the API.
async fn record_changes(store: &Store, bus: &EventBus, scan_id: i64) {
    let changes = match store.changes(scan_id, None).await {
        Ok(changes) => changes,
        Err(e) => {
            error!(scan_id, error = %e, "Could not compare the scan with the previous one.");
            return;
        }
    };
    if let Err(e) = store.record_changes(&changes).await {
        error!(scan_id, error = %e, "Could not record the scan's changes in the host history.");
    }
    // After the change log, which reads the old rows' machines.
    if let Err(e) = store.apply_moves(scan_id, &changes.hosts_moved).await {
        error!(scan_id, error = %e, "Could not carry moved hosts' edits to their new addresses.");
    }
    tracing::info!(
        scan_id,
        against = ?changes.against,
        hosts_appeared = changes.hosts_appeared.len(),
        hosts_vanished = changes.hosts_vanished.len(),
        ports_opened = changes.ports_opened.len(),
        ports_closed = changes.ports_closed.len(),
        services_changed = changes.services_changed.len(),
        hosts_moved = changes.hosts_moved.len(),
        "Scan compared with the previous one."
    );
    bus.publish(change_events(&changes));
}

/// The events that announce `changes`, hosts first.
fn change_events(changes: &ScanChanges) -> Vec<EventPayload> {
    let (scan_id, against) = (changes.scan_id, changes.against);
    let host = |ip, change: &str| EventPayload::HostChanged {
        scan_id,
        against,
        ip,
        change: change.to_owned(),
    };
    let info = |p: &PortChange| ServiceInfo {
        service: p.service.clone(),
        product: p.product.clone(),
        version: p.version.clone(),
    };
    let port = |p: &PortChange, change: &str, before, after| EventPayload::PortChanged {
        scan_id,
        against,
        ip: p.ip,
        port: p.port,
        proto: p.proto.clone(),
        change: change.to_owned(),
        before,
        after,
    };
    let mut events: Vec<EventPayload> = changes
        .hosts_moved
        .iter()
        .map(|m| EventPayload::HostMoved {
            scan_id,
            against,
            machine_id: m.machine_id,
            from: m.from,
            to: m.to,
        })
        .chain(changes.hosts_appeared.iter().map(|ip| host(*ip, "appeared")))
        .chain(changes.hosts_vanished.iter().map(|ip| host(*ip, "vanished")))
        .collect();
    events.extend(changes.ports_opened.iter().map(|p| port(p, "opened", None, Some(info(p)))));
    events.extend(changes.ports_closed.iter().map(|p| port(p, "closed", Some(info(p)), None)));
    events.extend(changes.services_changed.iter().map(|c| EventPayload::PortChanged {
        scan_id,
        against,
        ip: c.ip,
        port: c.port,
        proto: c.proto.clone(),
        change: "service_changed".to_owned(),
        before: Some(c.before.clone()),
        after: Some(c.after.clone()),
    }));
    events
}

/// Writes one batch; waits out a full disk (the pipeline stalls behind it, nothing is lost),
/// and gives up on other errors with a reason for the scan.
async fn write_with_retry(
    store: &Store,
    bus: &EventBus,
    naming: Option<&mpsc::Sender<NameHosts>>,
    msg: &PersistPorts,
) -> Result<(), String> {
    loop {
        match store.persist(msg.scan_id, &msg.records).await {
            Ok(outcome) => {
                if let Some(naming) = naming
                    && !outcome.new_hosts.is_empty()
                {
                    let batch =
                        NameHosts { scan_id: msg.scan_id, hosts: outcome.new_hosts.clone() };
                    if naming.try_send(batch).is_err() {
                        warn!(
                            scan_id = msg.scan_id,
                            hosts = outcome.new_hosts.len(),
                            "Reverse DNS is behind; these hosts get no name this scan."
                        );
                    }
                }
                let hosts = outcome
                    .new_hosts
                    .into_iter()
                    .map(|ip| EventPayload::HostFound { scan_id: msg.scan_id, ip });
                let stored_at = outcome.stored_at;
                let ports = msg.records.iter().map(|r| EventPayload::PortFound {
                    scan_id: msg.scan_id,
                    ip: r.ip,
                    port: Box::new(port_view(msg.scan_id, r, &stored_at)),
                });
                bus.publish(hosts.chain(ports));
                return Ok(());
            }
            Err(StoreError::DiskFull) => {
                warn!(
                    scan_id = msg.scan_id,
                    ports = msg.records.len(),
                    retry_in_s = DISK_FULL_RETRY.as_secs(),
                    "The disk holding the store is full; holding the results and retrying."
                );
                tokio::time::sleep(DISK_FULL_RETRY).await;
            }
            Err(e) => {
                error!(scan_id = msg.scan_id, ports = msg.records.len(), error = %e, "Could not store results.");
                return Err(format!("results could not be stored: {e}"));
            }
        }
    }
}

/// The port as the event stream announces it; `first_seen` is this sighting, the API has the
/// stored history.
fn port_view(scan_id: i64, r: &PortRecord, stored_at: &str) -> PortView {
    PortView {
        port: r.port,
        proto: r.proto.as_str().to_string(),
        state: "open".to_string(),
        service: r.service.clone(),
        product: r.product.clone(),
        version: r.version.clone(),
        vendor: r.vendor.clone(),
        info: r.info.clone(),
        cpe: r.cpe.clone(),
        signature: r.signature.clone(),
        confidence: r.confidence,
        banner: r.banner.as_deref().map(printable_banner),
        rtt_ms: Some(r.rtt_ms),
        tls: r.tls.as_ref().map(tls_view),
        last_scan_id: scan_id,
        first_seen: stored_at.to_string(),
        last_seen: stored_at.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use sonde_web::api::HostMove;

    use super::*;

    #[test]
    fn a_moved_host_is_announced_first_and_once() {
        let (from, to) = (Ipv4Addr::new(10, 0, 0, 5), Ipv4Addr::new(10, 0, 0, 6));
        let changes = ScanChanges {
            scan_id: 2,
            against: Some(1),
            hosts_appeared: vec![Ipv4Addr::new(10, 0, 0, 9)],
            hosts_moved: vec![HostMove { machine_id: 7, from, to }],
            ..ScanChanges::default()
        };
        let events = change_events(&changes);
        assert_eq!(
            events,
            [
                EventPayload::HostMoved { scan_id: 2, against: Some(1), machine_id: 7, from, to },
                EventPayload::HostChanged {
                    scan_id: 2,
                    against: Some(1),
                    ip: Ipv4Addr::new(10, 0, 0, 9),
                    change: "appeared".into(),
                },
            ]
        );
        assert_eq!(events[0].name(), "host_moved");
    }

    #[test]
    fn a_found_port_is_announced_with_its_protocol() {
        let dns = PortRecord {
            ip: Ipv4Addr::new(10, 0, 0, 1),
            port: 53,
            proto: sonde_scanner::Proto::Udp,
            rtt_ms: 0.5,
            banner: None,
            service: Some("domain".into()),
            product: Some("dnsmasq".into()),
            version: None,
            vendor: None,
            info: None,
            cpe: None,
            signature: None,
            confidence: None,
            tls: None,
        };
        assert_eq!(port_view(1, &dns, "2026-11-26T00:00:00Z").proto, "udp");
    }
}
