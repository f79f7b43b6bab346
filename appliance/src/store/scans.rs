//! Scans: creation, status changes, counters, listing.

use sonde_web::api::{ScanCounters, ScanStatus, ScanView};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::backend::now;
use super::{Store, StoreError};

/// A scan to record before it is queued.
#[derive(Debug, Clone)]
pub struct NewScan {
    /// Target specs as requested.
    pub targets: Vec<String>,
    /// Extra exclusions as requested.
    pub exclude: Vec<String>,
    /// Canonical port list.
    pub ports: String,
    /// Canonical UDP port list; empty for none.
    pub udp_ports: String,
    /// Probes per second.
    pub rate: u64,
    /// Seed of the order.
    pub seed: u64,
    /// Pairs to probe.
    pub probes_total: u64,
    /// Token that asked for it.
    pub created_by: Option<i64>,
}

const SCAN_COLUMNS: &str = "id, status, targets, ports, rate, seed, probes_total, probes_sent, \
    probes_done, replies, open_ports, hosts_up, error, created_at, started_at, finished_at, \
    udp_ports";

impl Store {
    /// Records a new scan as `queued` and returns its id.
    pub async fn create_scan(&self, scan: &NewScan) -> Result<i64, StoreError> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO scans (status, targets, exclude, ports, rate, seed, probes_total, created_by, \
             created_at, udp_ports) VALUES ('queued', $1, $2, $3, $4, $5, $6, $7, $8, $9) \
             RETURNING id",
        )
        .bind(json_list(&scan.targets))
        .bind(json_list(&scan.exclude))
        .bind(&scan.ports)
        .bind(i64::try_from(scan.rate).unwrap_or(i64::MAX))
        .bind(scan.seed as i64)
        .bind(i64::try_from(scan.probes_total).unwrap_or(i64::MAX))
        .bind(scan.created_by)
        .bind(now())
        .bind(&scan.udp_ports)
        .fetch_one(&self.pool)
        .await?;
        Ok(id)
    }

    /// Marks a queued scan as running.
    pub async fn mark_running(&self, id: i64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE scans SET status = 'running', started_at = $1 WHERE id = $2 AND status = 'queued'",
        )
        .bind(now())
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Stores the progress counters of a running scan.
    pub async fn update_counters(&self, id: i64, c: &ScanCounters) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE scans SET probes_sent = $1, probes_done = $2, replies = $3 \
             WHERE id = $4 AND status = 'running'",
        )
        .bind(c.probes_sent as i64)
        .bind(c.probes_done as i64)
        .bind(c.replies as i64)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Puts a scan in its final status. Open ports and hosts are counted from what was stored,
    /// so the counters match the results exactly. Returns the scan as stored.
    pub async fn finish_scan(
        &self,
        id: i64,
        status: ScanStatus,
        counters: &ScanCounters,
        error: Option<&str>,
    ) -> Result<ScanView, StoreError> {
        debug_assert!(status.is_final());
        sqlx::query(
            "UPDATE scans SET status = $1, error = $2, finished_at = $7, \
             started_at = COALESCE(started_at, $7), \
             probes_sent = $3, probes_done = $4, replies = $5, \
             open_ports = (SELECT COUNT(*) FROM scan_results WHERE scan_id = $6), \
             hosts_up = (SELECT COUNT(DISTINCT ip) FROM scan_results WHERE scan_id = $6) \
             WHERE id = $6",
        )
        .bind(status.as_str())
        .bind(error)
        .bind(counters.probes_sent as i64)
        .bind(counters.probes_done as i64)
        .bind(counters.replies as i64)
        .bind(id)
        .bind(now())
        .execute(&self.pool)
        .await?;
        self.scan(id).await?.ok_or_else(|| StoreError::Corrupt(format!("scan {id} vanished")))
    }

    /// Fails the scans a previous process left queued or running (it was killed or stopped);
    /// their results so far stay stored. Returns how many. Scans shared between appliances
    /// (cut into chunks) are left alone: their chunks are leased again when their leases pass.
    pub async fn fail_interrupted_scans(&self) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE scans SET status = 'failed', \
             error = 'the appliance stopped while this scan was queued or running; start it again', \
             finished_at = $1, \
             open_ports = (SELECT COUNT(*) FROM scan_results WHERE scan_id = scans.id), \
             hosts_up = (SELECT COUNT(DISTINCT ip) FROM scan_results WHERE scan_id = scans.id) \
             WHERE status IN ('queued', 'running') \
             AND NOT EXISTS (SELECT 1 FROM scan_chunks WHERE scan_chunks.scan_id = scans.id)",
        )
        .bind(now())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// Every scan, newest first.
    pub async fn scans(&self) -> Result<Vec<ScanView>, StoreError> {
        let rows = sqlx::query(&format!("SELECT {SCAN_COLUMNS} FROM scans ORDER BY id DESC"))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(scan_view).collect()
    }

    /// One scan.
    pub async fn scan(&self, id: i64) -> Result<Option<ScanView>, StoreError> {
        let row = sqlx::query(&format!("SELECT {SCAN_COLUMNS} FROM scans WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(scan_view).transpose()
    }
}

fn json_list(items: &[String]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".to_string())
}

fn scan_view(row: &AnyRow) -> Result<ScanView, StoreError> {
    let status: String = row.try_get("status")?;
    let status = ScanStatus::parse(&status)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown scan status `{status}`")))?;
    let targets: String = row.try_get("targets")?;
    let targets = serde_json::from_str(&targets)
        .map_err(|e| StoreError::Corrupt(format!("scan targets: {e}")))?;
    let count = |name: &str| -> Result<u64, StoreError> {
        Ok(u64::try_from(row.try_get::<i64, _>(name)?).unwrap_or(0))
    };
    Ok(ScanView {
        id: row.try_get("id")?,
        status,
        targets,
        ports: row.try_get("ports")?,
        udp_ports: row.try_get("udp_ports")?,
        rate: count("rate")?,
        seed: row.try_get::<i64, _>("seed")? as u64,
        counters: ScanCounters {
            probes_total: count("probes_total")?,
            probes_sent: count("probes_sent")?,
            probes_done: count("probes_done")?,
            replies: count("replies")?,
            open_ports: count("open_ports")?,
            hosts_up: count("hosts_up")?,
            rate_pps: 0.0,
            eta_seconds: None,
        },
        error: row.try_get("error")?,
        created_at: row.try_get("created_at")?,
        started_at: row.try_get("started_at")?,
        finished_at: row.try_get("finished_at")?,
    })
}

#[cfg(test)]
mod tests {
    use super::super::store_tests;
    use super::*;

    fn new_scan() -> NewScan {
        NewScan {
            targets: vec!["127.0.0.1".into()],
            exclude: vec![],
            ports: "22,80".into(),
            udp_ports: String::new(),
            rate: 100,
            seed: u64::MAX,
            probes_total: 2,
            created_by: None,
        }
    }

    store_tests! {
        async fn a_scan_goes_from_queued_to_completed(store) {
            let id = store.create_scan(&new_scan()).await.unwrap();
            let scan = store.scan(id).await.unwrap().unwrap();
            assert_eq!(scan.status, ScanStatus::Queued);
            assert_eq!(scan.seed, u64::MAX, "the seed's 64 bits survive the signed column");
            store.mark_running(id).await.unwrap();
            assert!(store.scan(id).await.unwrap().unwrap().started_at.is_some());
            let counters =
                ScanCounters { probes_sent: 2, probes_done: 2, replies: 1, ..Default::default() };
            let done = store.finish_scan(id, ScanStatus::Completed, &counters, None).await.unwrap();
            assert_eq!(done.status, ScanStatus::Completed);
            assert_eq!(done.counters.probes_done, 2);
            assert!(done.finished_at.is_some());
            assert_eq!(store.scans().await.unwrap().len(), 1);
        }

        async fn interrupted_scans_fail_on_restart(store) {
            let running = store.create_scan(&new_scan()).await.unwrap();
            store.mark_running(running).await.unwrap();
            let finished = store.create_scan(&new_scan()).await.unwrap();
            store
                .finish_scan(finished, ScanStatus::Completed, &ScanCounters::default(), None)
                .await
                .unwrap();
            assert_eq!(store.fail_interrupted_scans().await.unwrap(), 1);
            let scan = store.scan(running).await.unwrap().unwrap();
            assert_eq!(scan.status, ScanStatus::Failed);
            assert!(scan.error.unwrap().contains("start it again"));
            assert_eq!(store.scan(finished).await.unwrap().unwrap().status, ScanStatus::Completed);
        }
    }
}
