//! Reading one scan's results whole, for exports.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use sonde_web::api::{ExportHost, ExportPort, ScanExport};
use sqlx::Row;

use super::backend::{unix_now, unix_of};
use super::hosts::ip_from;
use super::{Store, StoreError};

/// When a scan ran, in Unix seconds (what nmap's XML carries).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanTimes {
    /// When it started running (or was created, if it never ran).
    pub start: i64,
    /// When it ended (or now, if it has not).
    pub end: i64,
}

impl Store {
    /// Scan `id` with the open ports it found and what is known of their hosts; `None` when
    /// there is no such scan.
    pub async fn scan_export(
        &self,
        id: i64,
    ) -> Result<Option<(ScanExport, ScanTimes)>, StoreError> {
        let Some(scan) = self.scan(id).await? else {
            return Ok(None);
        };
        let (start, end): (String, Option<String>) = sqlx::query_as(
            "SELECT COALESCE(started_at, created_at), finished_at FROM scans WHERE id = $1",
        )
        .bind(id)
        .fetch_one(&self.pool)
        .await?;
        let unix = |t: &str| {
            unix_of(t).ok_or_else(|| StoreError::Corrupt(format!("scan {id} has the time `{t}`")))
        };
        let start = unix(&start)?;
        let end = match end {
            Some(end) => unix(&end)?,
            None => unix_now(),
        };
        let rows = sqlx::query(
            "SELECT r.ip, r.port, r.proto, r.service, r.product, r.version, r.info, r.cpe, h.name \
             FROM scan_results r LEFT JOIN hosts h ON h.ip = r.ip WHERE r.scan_id = $1 \
             ORDER BY r.ip, r.port, r.proto",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        let mut hosts: BTreeMap<Ipv4Addr, ExportHost> = BTreeMap::new();
        for row in &rows {
            let ip = ip_from(row.try_get("ip")?)?;
            let port: i64 = row.try_get("port")?;
            let host = match hosts.entry(ip) {
                std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::btree_map::Entry::Vacant(e) => e.insert(ExportHost {
                    ip,
                    hostnames: Vec::new(),
                    name: row.try_get("name")?,
                    ports: Vec::new(),
                }),
            };
            host.ports.push(ExportPort {
                port: u16::try_from(port)
                    .map_err(|e| StoreError::Corrupt(format!("port {port}: {e}")))?,
                proto: row.try_get("proto")?,
                state: "open".to_owned(),
                service: row.try_get("service")?,
                product: row.try_get("product")?,
                version: row.try_get("version")?,
                info: row.try_get("info")?,
                cpe: row.try_get("cpe")?,
            });
        }
        for host in hosts.values_mut() {
            host.hostnames = self.hostnames(host.ip).await?;
        }
        Ok(Some((
            ScanExport { scan, hosts: hosts.into_values().collect() },
            ScanTimes { start, end },
        )))
    }
}
