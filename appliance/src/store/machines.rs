//! Machines: one per device, whatever its addresses.
//!
//! A machine is known by its MAC when ARP gave one, else by its address. Each host row (an
//! address) links to its machine, and each scan records where it saw each machine
//! (`machine_sightings`), so two scans can be compared machine by machine:
//!
//! - a MAC seen at a new address is the same machine: when a later scan sees it only at
//!   addresses the earlier one did not ([`moves`]), it *moved*; its old host row hands its
//!   operator edits to the new one and is removed, its history follows it (changes carry the
//!   machine), and the change log says "moved from A to B" instead of "vanished + appeared";
//! - a MAC seen under several addresses at once is one machine with several addresses;
//! - a host without a MAC is its own machine, known by its address.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use sonde_web::api::{HostMove, MachineView};
use sqlx::AnyConnection;
use sqlx::Row;

use super::backend::now;
use super::findings::HostRecord;
use super::hosts::ip_from;
use super::{Store, StoreError};

/// Where one scan saw one machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Sighting {
    /// The machine.
    pub machine_id: i64,
    /// The address it answered at.
    pub ip: Ipv4Addr,
    /// Whether the machine is known by its MAC (only those can move).
    pub by_mac: bool,
}

/// The machines known by their MAC that `after` saw only at addresses `before` did not see
/// them at. Each old address is paired with a new one in ascending order; a machine that
/// kept any of its addresses did not move (a multi-homed machine gaining or losing one).
pub fn moves(before: &[Sighting], after: &[Sighting]) -> Vec<HostMove> {
    let by_machine = |seen: &[Sighting]| {
        let mut map: BTreeMap<i64, BTreeSet<Ipv4Addr>> = BTreeMap::new();
        for s in seen.iter().filter(|s| s.by_mac) {
            map.entry(s.machine_id).or_default().insert(s.ip);
        }
        map
    };
    let (old, new) = (by_machine(before), by_machine(after));
    let mut moves = Vec::new();
    for (machine_id, now_at) in &new {
        let Some(was_at) = old.get(machine_id) else { continue };
        if was_at.is_disjoint(now_at) {
            moves.extend(was_at.iter().zip(now_at).map(|(&from, &to)| HostMove {
                machine_id: *machine_id,
                from,
                to,
            }));
        }
    }
    moves.sort_by_key(|m| (m.to, m.from));
    moves
}

impl Store {
    /// Links every host `scan_id` saw to a machine (a new one known by its address for hosts
    /// without a MAC) and records where the scan saw each machine. Run when the scan ends.
    pub async fn link_machines(&self, scan_id: i64) -> Result<(), StoreError> {
        let mut tx = self.pool.begin_with(self.backend.begin_write()).await?;
        sqlx::query(
            "INSERT INTO machines (ip, first_seen, last_seen) \
             SELECT ip, first_seen, last_seen FROM hosts \
             WHERE machine_id IS NULL AND last_scan_id = $1 ON CONFLICT (ip) DO NOTHING",
        )
        .bind(scan_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE hosts SET machine_id = (SELECT m.id FROM machines m WHERE m.ip = hosts.ip) \
             WHERE machine_id IS NULL AND last_scan_id = $1",
        )
        .bind(scan_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE machines SET last_seen = \
             (SELECT MAX(h.last_seen) FROM hosts h WHERE h.machine_id = machines.id) \
             WHERE id IN (SELECT machine_id FROM hosts WHERE last_scan_id = $1)",
        )
        .bind(scan_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO machine_sightings (scan_id, machine_id, ip) \
             SELECT $1, machine_id, ip FROM hosts \
             WHERE last_scan_id = $1 AND machine_id IS NOT NULL ON CONFLICT DO NOTHING",
        )
        .bind(scan_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Where scan `scan_id` saw each machine.
    pub async fn sightings(&self, scan_id: i64) -> Result<Vec<Sighting>, StoreError> {
        let rows = sqlx::query(
            "SELECT s.machine_id, s.ip, CASE WHEN m.mac IS NULL THEN 0 ELSE 1 END AS by_mac \
             FROM machine_sightings s JOIN machines m ON m.id = s.machine_id \
             WHERE s.scan_id = $1 ORDER BY s.machine_id, s.ip",
        )
        .bind(scan_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Sighting {
                    machine_id: row.try_get("machine_id")?,
                    ip: ip_from(row.try_get("ip")?)?,
                    by_mac: row.try_get::<i64, _>("by_mac")? == 1,
                })
            })
            .collect()
    }

    /// Completes the moves scan `scan_id` saw: each old host row hands its operator edits to
    /// the new one (a field the old row does not set keeps the new row's value) and goes,
    /// with its ports and names, unless the scan saw it again (then it belongs to another
    /// machine, and only loses the edits, which were not that machine's). Edits are read
    /// before anything is written, so machines that swapped addresses swap their edits.
    pub async fn apply_moves(&self, scan_id: i64, moves: &[HostMove]) -> Result<(), StoreError> {
        if moves.is_empty() {
            return Ok(());
        }
        let key = |ip: Ipv4Addr| i64::from(u32::from(ip));
        let mut tx = self.pool.begin_with(self.backend.begin_write()).await?;
        let mut edits = Vec::with_capacity(moves.len());
        for m in moves {
            let row = sqlx::query(
                "SELECT name, note, tags, machine_id, last_scan_id FROM hosts WHERE ip = $1",
            )
            .bind(key(m.from))
            .fetch_optional(&mut *tx)
            .await?;
            let Some(row) = row else { continue };
            let (name, note, tags): (Option<String>, Option<String>, String) =
                (row.try_get("name")?, row.try_get("note")?, row.try_get("tags")?);
            let machine: Option<i64> = row.try_get("machine_id")?;
            let stale =
                machine == Some(m.machine_id) && row.try_get::<i64, _>("last_scan_id")? != scan_id;
            edits.push((m.to, name, note, (tags != "[]").then_some(tags)));
            if stale {
                for table in ["ports", "hostnames", "hosts"] {
                    sqlx::query(&format!("DELETE FROM {table} WHERE ip = $1"))
                        .bind(key(m.from))
                        .execute(&mut *tx)
                        .await?;
                }
            } else {
                sqlx::query("UPDATE hosts SET name = NULL, note = NULL, tags = '[]' WHERE ip = $1")
                    .bind(key(m.from))
                    .execute(&mut *tx)
                    .await?;
            }
        }
        for (to, name, note, tags) in edits {
            sqlx::query(
                "UPDATE hosts SET name = COALESCE($1, name), note = COALESCE($2, note), \
                 tags = COALESCE($3, tags) WHERE ip = $4",
            )
            .bind(name)
            .bind(note)
            .bind(tags)
            .bind(key(to))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// One machine with its addresses now and before, or `None`.
    pub async fn machine(&self, id: i64) -> Result<Option<MachineView>, StoreError> {
        let Some(row) =
            sqlx::query("SELECT mac, vendor, first_seen, last_seen FROM machines WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?
        else {
            return Ok(None);
        };
        let (addresses, previously_at) = self.machine_addresses(id).await?;
        Ok(Some(MachineView {
            id,
            mac: row.try_get("mac")?,
            vendor: row.try_get("vendor")?,
            first_seen: row.try_get("first_seen")?,
            last_seen: row.try_get("last_seen")?,
            addresses,
            previously_at,
        }))
    }

    /// A machine's addresses now (its host rows, ascending) and before (addresses scans saw
    /// it at that are no longer its own, most recently seen first).
    pub(super) async fn machine_addresses(
        &self,
        id: i64,
    ) -> Result<(Vec<Ipv4Addr>, Vec<Ipv4Addr>), StoreError> {
        let now: Vec<i64> =
            sqlx::query_scalar("SELECT ip FROM hosts WHERE machine_id = $1 ORDER BY ip")
                .bind(id)
                .fetch_all(&self.pool)
                .await?;
        let before: Vec<i64> = sqlx::query_scalar(
            "SELECT s.ip FROM machine_sightings s WHERE s.machine_id = $1 AND NOT EXISTS \
             (SELECT 1 FROM hosts h WHERE h.ip = s.ip AND h.machine_id = $1) \
             GROUP BY s.ip ORDER BY MAX(s.scan_id) DESC, s.ip",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        let ips = |v: Vec<i64>| v.into_iter().map(ip_from).collect::<Result<Vec<_>, _>>();
        Ok((ips(now)?, ips(before)?))
    }
}

/// Links on-link host `h` to the machine its MAC names, inside the caller's transaction: the
/// machine that already has the MAC, else the machine known until now by `h`'s address
/// (which gains the MAC and keeps its id), else a new one. Answers the machine's id.
pub(super) async fn machine_for(
    conn: &mut AnyConnection,
    h: &HostRecord,
) -> Result<i64, StoreError> {
    let at = now();
    let known: Option<i64> = sqlx::query_scalar("SELECT id FROM machines WHERE mac = $1")
        .bind(&h.mac)
        .fetch_optional(&mut *conn)
        .await?;
    if let Some(id) = known {
        sqlx::query(
            "UPDATE machines SET vendor = COALESCE($1, vendor), last_seen = $2 WHERE id = $3",
        )
        .bind(&h.vendor)
        .bind(&at)
        .bind(id)
        .execute(&mut *conn)
        .await?;
        return Ok(id);
    }
    let by_address: Option<i64> = sqlx::query_scalar(
        "SELECT m.id FROM hosts h JOIN machines m ON m.id = h.machine_id \
         WHERE h.ip = $1 AND m.mac IS NULL",
    )
    .bind(i64::from(u32::from(h.ip)))
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(id) = by_address {
        sqlx::query(
            "UPDATE machines SET mac = $1, ip = NULL, vendor = $2, last_seen = $3 WHERE id = $4",
        )
        .bind(&h.mac)
        .bind(&h.vendor)
        .bind(&at)
        .bind(id)
        .execute(&mut *conn)
        .await?;
        return Ok(id);
    }
    Ok(sqlx::query_scalar(
        "INSERT INTO machines (mac, vendor, first_seen, last_seen) VALUES ($1, $2, $3, $3) \
         RETURNING id",
    )
    .bind(&h.mac)
    .bind(&h.vendor)
    .bind(&at)
    .fetch_one(&mut *conn)
    .await?)
}

#[cfg(test)]
mod tests;
