//! The loop of `sonde serve` that runs schedules: every few seconds, or at once when the API
//! changes a schedule, it reads the schedules from the store (so `sonde schedule add` on a
//! running appliance takes effect too), asks the [`Planner`] which are due, and queues their
//! scans the way the API does.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use sonde_web::api::ScanRequest;
use tokio::sync::Notify;
use tracing::{info, warn};

use super::{Planner, spec};
use crate::backend::ApplianceBackend;
use crate::store::{Store, StoreError};

/// How often the schedules are looked at: a run starts at most this late.
const TICK: Duration = Duration::from_secs(5);

/// Runs schedules until the process stops. `wake` cuts a wait short.
pub async fn run(store: Store, backend: Arc<ApplianceBackend>, wake: Arc<Notify>) {
    let mut planner = Planner::default();
    loop {
        if let Err(e) = tick(&store, &backend, &mut planner).await {
            warn!(error = %e, "Could not check the schedules; trying again shortly.");
        }
        tokio::select! {
            () = tokio::time::sleep(TICK) => {}
            () = wake.notified() => {}
        }
    }
}

async fn tick(
    store: &Store,
    backend: &ApplianceBackend,
    planner: &mut Planner,
) -> Result<(), StoreError> {
    for (schedule, scan) in planner.running() {
        let ended = store.scan(scan).await?.is_none_or(|s| s.status.is_final());
        if ended {
            planner.finished(schedule);
        }
    }
    let rows = store.schedules().await?;
    let states: Vec<_> = rows
        .iter()
        .filter_map(|row| match spec::state(row) {
            Ok(state) => Some(state),
            Err(e) => {
                warn!(schedule_id = row.id, error = %e, "A stored schedule is invalid; it does not run.");
                None
            }
        })
        .collect();
    let now = Utc::now();
    for id in planner.due(&states, now) {
        let Some(row) = rows.iter().find(|r| r.id == id) else { continue };
        let request = ScanRequest {
            targets: row.targets.clone(),
            ports: row.ports.clone(),
            udp_ports: row.udp_ports.clone(),
            rate: row.rate,
            exclude: row.exclude.clone(),
            seed: None,
            engine: None,
        };
        // The run is recorded even when its scan is refused (say, its targets are now all
        // excluded), so that a broken schedule fails once per occurrence, not every tick.
        let scan_id = match backend.queue_scan(request, None).await {
            Ok(created) => {
                planner.started(id, created.id);
                info!(schedule_id = id, scan_id = created.id, name = %row.name, "Scheduled scan queued.");
                Some(created.id)
            }
            Err(e) => {
                warn!(schedule_id = id, name = %row.name, error = %e, "A scheduled scan could not be queued.");
                None
            }
        };
        store.mark_schedule_run(id, now.timestamp(), scan_id).await?;
    }
    Ok(())
}
