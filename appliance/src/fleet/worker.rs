//! The fleet worker of one appliance: registers it, heartbeats, leases chunks it may reach,
//! runs them through the Supervisor, renews their leases while they run, and publishes the
//! whole of every shared scan's progress on this appliance's event stream.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use actix::Addr;
use sonde_scanner::{EngineKind, PortList};
use sonde_web::api::{EventPayload, ScanCounters};

use super::ClusterSettings;
use super::chunks::{Reach, targets_of};
use crate::actors::{
    CHUNK_COMPLETED, CHUNK_STOPPED, CancelScan, ChunkJob, EventBus, PROGRESS_EVERY, RateMeter,
    ScanJob, StartScan, Supervisor,
};
use crate::store::{ApplianceRecord, LeasedChunk, Store, StoreError};

/// Heartbeats missed before an appliance counts as gone (for reach decisions).
pub const LIVE_HEARTBEATS: u32 = 5;

/// Everything the worker needs.
#[derive(Debug)]
pub struct Worker {
    store: Store,
    settings: ClusterSettings,
    /// Where leased chunks run.
    supervisor: Addr<Supervisor>,
    bus: Arc<EventBus>,
    /// Chunks leased at once (the Supervisor's parallel subnets).
    parallel: usize,
    /// Chunks this appliance holds, by id.
    active: HashMap<i64, Held>,
    /// When shared scans' progress last went to the event stream: rounds come every 100 to
    /// 250 ms, and the stream gets progress no more often than a single appliance's scans.
    published: Option<Instant>,
    /// Rate and ETA of each running shared scan, over all its chunks and appliances.
    rates: ScanRates,
}

/// The rate and ETA of the running shared scans, measured from their summed counters as
/// the store holds them (each holder stores its chunks' counters at every renewal), so every
/// appliance's console shows the whole scan's rate, whoever does the work.
#[derive(Debug, Default)]
pub(crate) struct ScanRates {
    meters: HashMap<i64, RateMeter>,
}

impl ScanRates {
    /// `progress` (scan id, summed counters) with rate and ETA set; scans no longer running
    /// are forgotten.
    pub(crate) fn measure(
        &mut self,
        now: Instant,
        mut progress: Vec<(i64, ScanCounters)>,
    ) -> Vec<(i64, ScanCounters)> {
        self.meters.retain(|id, _| progress.iter().any(|(scan_id, _)| scan_id == id));
        for (scan_id, counters) in &mut progress {
            self.meters
                .entry(*scan_id)
                .or_insert_with(|| RateMeter::new(now, counters.probes_sent))
                .measure(now, counters);
        }
        progress
    }
}

#[derive(Debug)]
struct Held {
    chunk: LeasedChunk,
    job: ChunkJob,
}

impl Worker {
    /// A worker running up to `parallel` chunks at once on `supervisor`.
    pub fn new(
        store: Store,
        settings: ClusterSettings,
        supervisor: Addr<Supervisor>,
        bus: Arc<EventBus>,
        parallel: usize,
    ) -> Self {
        Self {
            store,
            settings,
            supervisor,
            bus,
            parallel: parallel.max(1),
            active: HashMap::new(),
            published: None,
            rates: ScanRates::default(),
        }
    }

    /// How often the worker heartbeats, renews and looks for work: a few times per lease.
    pub fn tick(settings: &ClusterSettings) -> Duration {
        (settings.lease / 4).clamp(Duration::from_millis(100), Duration::from_millis(250))
    }

    /// This appliance as it registers.
    pub fn record(settings: &ClusterSettings) -> ApplianceRecord {
        ApplianceRecord {
            name: settings.name.clone(),
            reach: settings.reach.clone(),
            exclusive: settings.exclusive.clone(),
            raw_sockets: sonde_scanner::check_raw_sockets().is_ok(),
            io_uring: sonde_scanner::check_io_uring().is_ok(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            heartbeat_at: String::new(),
        }
    }

    /// Runs for the life of the process.
    pub async fn run(mut self) {
        let tick = Self::tick(&self.settings);
        let mut interval = tokio::time::interval(tick);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            if let Err(error) = self.round().await {
                tracing::warn!(%error, "The fleet worker's round failed; it tries again.");
            }
        }
    }

    /// One round: heartbeat, renew, lease, progress.
    async fn round(&mut self) -> Result<(), StoreError> {
        let name = self.settings.name.clone();
        self.store.heartbeat(&name).await?;
        self.renew().await?;
        while self.active.len() < self.parallel {
            if !self.lease().await? {
                break;
            }
        }
        let now = Instant::now();
        if self.published.is_some_and(|at| now.duration_since(at) < PROGRESS_EVERY) {
            return Ok(());
        }
        self.published = Some(now);
        let progress = self.rates.measure(now, self.store.chunk_progress().await?);
        self.bus.publish(
            progress
                .into_iter()
                .map(|(scan_id, counters)| EventPayload::ScanProgress { scan_id, counters }),
        );
        Ok(())
    }

    /// Renews the leases still worked on; forgets chunks released, lost or stopped.
    async fn renew(&mut self) -> Result<(), StoreError> {
        let lease = lease_secs(&self.settings);
        let mut gone = Vec::new();
        for (&id, held) in &self.active {
            let outcome = held.job.outcome.load(Ordering::Acquire);
            if outcome == CHUNK_STOPPED {
                // Not released here: its lease passes on to another appliance.
                gone.push(id);
                continue;
            }
            let counters = counters(&held.chunk, &held.job);
            if !self.store.renew_chunk(id, &self.settings.name, lease, &counters).await? {
                if outcome != CHUNK_COMPLETED {
                    tracing::warn!(
                        scan_id = held.chunk.scan_id,
                        chunk = id,
                        "The chunk's lease passed to another appliance or its scan was \
                         cancelled; stopping it here."
                    );
                    self.supervisor.do_send(CancelScan { scan_id: held.chunk.scan_id });
                }
                gone.push(id);
            }
        }
        for id in gone {
            self.active.remove(&id);
        }
        Ok(())
    }

    /// Leases one chunk this appliance may reach and starts it; `false` when none is free.
    async fn lease(&mut self) -> Result<bool, StoreError> {
        let within = (self.settings.lease.as_secs() as i64).max(1) * i64::from(LIVE_HEARTBEATS);
        let appliances = self.store.live_appliances(within).await?;
        let others: Vec<Reach> = appliances.iter().map(Reach::of).collect();
        let me = Reach::of(&Self::record_light(&self.settings));
        let filter = me.filter(&others);
        let lease = lease_secs(&self.settings);
        let Some(chunk) = self.store.lease_chunk(&self.settings.name, &filter, lease).await? else {
            return Ok(false);
        };
        let ports = PortList::parse(&chunk.ports)
            .map_err(|e| StoreError::Corrupt(format!("ports of chunk {}: {e}", chunk.id)))?;
        let engine = chunk
            .engine
            .as_deref()
            .map(EngineKind::from_str)
            .transpose()
            .map_err(|e| StoreError::Corrupt(format!("engine of chunk {}: {e}", chunk.id)))?;
        let job = ChunkJob::new(chunk.id, chunk.settled_below);
        tracing::info!(
            scan_id = chunk.scan_id,
            chunk = chunk.id,
            index = chunk.idx,
            from = chunk.settled_below,
            lease = chunk.leases,
            "Chunk leased."
        );
        let start = StartScan(ScanJob {
            scan_id: chunk.scan_id,
            targets: targets_of(&chunk.ranges),
            ports,
            seed: chunk.seed,
            rate: chunk.rate.max(1),
            engine,
            chunk: Some(job.clone()),
        });
        if self.supervisor.send(start).await.is_err() {
            return Err(StoreError::Invalid("the supervisor is gone".into()));
        }
        self.active.insert(chunk.id, Held { chunk, job });
        Ok(true)
    }

    /// The record without probing capabilities (for reach only).
    fn record_light(settings: &ClusterSettings) -> ApplianceRecord {
        ApplianceRecord {
            name: settings.name.clone(),
            reach: settings.reach.clone(),
            exclusive: settings.exclusive.clone(),
            raw_sockets: false,
            io_uring: false,
            version: String::new(),
            heartbeat_at: String::new(),
        }
    }
}

fn lease_secs(settings: &ClusterSettings) -> i64 {
    i64::try_from(settings.lease.as_secs()).unwrap_or(i64::MAX)
}

/// The chunk's counters: those of its earlier leases plus this one's.
fn counters(chunk: &LeasedChunk, job: &ChunkJob) -> ScanCounters {
    let live = job.progress.probes.snapshot();
    let before = chunk.counters;
    ScanCounters {
        probes_total: before.probes_total,
        probes_sent: before.probes_sent + live.sent,
        // Pairs below the checkpoint were done by an earlier holder.
        probes_done: (chunk.settled_below + live.done).min(before.probes_total),
        replies: before.replies + live.replies,
        open_ports: before.open_ports + live.open,
        hosts_up: before.hosts_up + job.progress.hosts_up.load(Ordering::Relaxed),
        rate_pps: 0.0,
        eta_seconds: None,
    }
}

#[cfg(test)]
mod tests {
    use sonde_web::api::ScanStatus;

    use super::*;
    use crate::store::{LeaseFilter, NewChunk, NewScan, store_tests};

    store_tests! {
        async fn shared_scan_progress_sums_every_chunk_with_rate_and_eta(store) {
            let scan_id = store
                .create_scan(&NewScan {
                    targets: vec!["10.0.0.0/31".into()],
                    exclude: vec![],
                    ports: "1-500".into(),
                    rate: 1000,
                    seed: 1,
                    probes_total: 1000,
                    created_by: None,
                    udp_ports: String::new(),
                })
                .await
                .unwrap();
            let chunks: Vec<NewChunk> = (0..2u32)
                .map(|i| NewChunk {
                    ranges: vec![(0x0a00_0000 + i, 0x0a00_0000 + i)],
                    ports: "1-500".into(),
                    seed: u64::from(i),
                    rate: 1000,
                    engine: None,
                    probes_total: 500,
                })
                .collect();
            store.create_chunks(scan_id, &chunks).await.unwrap();
            let anywhere = LeaseFilter { allowed: vec![(0, u32::MAX)], forbidden: vec![] };
            // Two appliances, one chunk each, renewing with their counters.
            let a = store.lease_chunk("a", &anywhere, 30).await.unwrap().unwrap();
            let b = store.lease_chunk("b", &anywhere, 30).await.unwrap().unwrap();
            let renew = |id: i64, owner: &'static str, sent: u64| {
                let c = ScanCounters { probes_sent: sent, probes_done: sent, ..Default::default() };
                let store = store.clone();
                async move { assert!(store.renew_chunk(id, owner, 30, &c).await.unwrap()) }
            };
            renew(a.id, "a", 50).await;
            renew(b.id, "b", 50).await;
            let mut rates = ScanRates::default();
            let t0 = Instant::now();
            let first = rates.measure(t0, store.chunk_progress().await.unwrap());
            assert_eq!(first.len(), 1);
            let (id, c) = first[0];
            assert_eq!((id, c.probes_total, c.probes_sent), (scan_id, 1000, 100));
            assert_eq!(c.eta_seconds, None, "no rate from a single reading");
            renew(a.id, "a", 250).await;
            renew(b.id, "b", 150).await;
            let later = t0 + Duration::from_secs(2);
            let (_, c) = rates.measure(later, store.chunk_progress().await.unwrap())[0];
            assert_eq!((c.probes_sent, c.probes_done), (400, 400));
            // 300 probes in 2 s over both appliances; 600 pairs left.
            assert!((c.rate_pps - 150.0).abs() < 1e-9, "{}", c.rate_pps);
            assert!((c.eta_seconds.unwrap() - 4.0).abs() < 1e-9, "{:?}", c.eta_seconds);
            // A scan that ends leaves the progress and its meter.
            store.finish_scan(scan_id, ScanStatus::Completed, &c, None).await.unwrap();
            assert!(rates.measure(later, store.chunk_progress().await.unwrap()).is_empty());
            assert!(rates.meters.is_empty());
        }
    }
}
