//! Several appliances on one store: their registry and the leased chunks of shared scans.
//!
//! A chunk is leased with a deadline; its holder renews it while it works, records its
//! checkpoint as its results are stored, and releases it when done. A chunk whose deadline
//! passed is leased again, by anyone allowed to, from its last checkpoint. On PostgreSQL the
//! lease takes the row with `FOR UPDATE SKIP LOCKED`, so appliances racing for work never wait
//! on each other; on SQLite (one appliance) `BEGIN IMMEDIATE` already serializes writers.

use sonde_web::api::{ScanCounters, ScanStatus};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::backend::{now, now_plus};
use super::{Store, StoreError};

/// An appliance as it registers itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplianceRecord {
    /// Unique name (`[cluster] name`).
    pub name: String,
    /// CIDRs it can reach.
    pub reach: Vec<String>,
    /// CIDRs only appliances listing them may scan.
    pub exclusive: Vec<String>,
    /// Whether it may open raw sockets (the SYN engine).
    pub raw_sockets: bool,
    /// Whether io_uring works there (the connect engine's fast path).
    pub io_uring: bool,
    /// Its Sonde version.
    pub version: String,
    /// Its last heartbeat (RFC 3339), as read back.
    pub heartbeat_at: String,
}

/// A chunk to store when a shared scan is queued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewChunk {
    /// Address ranges (inclusive, as integers).
    pub ranges: Vec<(u32, u32)>,
    /// Canonical port list.
    pub ports: String,
    /// The chunk's own seed.
    pub seed: u64,
    /// Probes per second for this chunk's scan.
    pub rate: u64,
    /// `auto`, `connect` or `syn`; `None` for each appliance's configured engine.
    pub engine: Option<String>,
    /// Pairs in the chunk.
    pub probes_total: u64,
}

/// A chunk an appliance holds.
#[derive(Debug, Clone, PartialEq)]
pub struct LeasedChunk {
    /// Chunk id.
    pub id: i64,
    /// Its scan.
    pub scan_id: i64,
    /// Its place in the scan.
    pub idx: i64,
    /// Its addresses.
    pub ranges: Vec<(u32, u32)>,
    /// Ports.
    pub ports: String,
    /// Its seed.
    pub seed: u64,
    /// Probes per second.
    pub rate: u64,
    /// Engine asked for.
    pub engine: Option<String>,
    /// Where to start: every pair of its order below this index is stored.
    pub settled_below: u64,
    /// Counters of earlier leases, which this one adds to.
    pub counters: ScanCounters,
    /// How many times it was leased (1 the first time).
    pub leases: i64,
}

/// Which chunks an appliance may lease: inside one of `allowed`, and touching none of
/// `forbidden` (networks other appliances hold exclusively). Ranges are inclusive integers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeaseFilter {
    /// Ranges one of which must contain the chunk.
    pub allowed: Vec<(u32, u32)>,
    /// Ranges the chunk must not overlap.
    pub forbidden: Vec<(u32, u32)>,
}

/// What releasing a chunk did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Released {
    /// The lease had passed to another appliance (or the scan was cancelled): nothing
    /// changed; the results written stay, being idempotent.
    NotHeld,
    /// Done; other chunks of the scan remain.
    Done,
    /// Done, and it was the scan's last: the caller ends the scan with this status and error
    /// (`Failed`, naming the chunks that failed, when any did).
    Last(ScanStatus, Option<String>),
}

/// What recording a chunk's failed attempt did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChunkFailure {
    /// The lease had passed to another appliance (or the scan was cancelled): nothing changed.
    NotHeld,
    /// The chunk is free again for any appliance, from its checkpoint; `attempts` failed so
    /// far.
    Retry {
        /// Failed attempts so far.
        attempts: i64,
    },
    /// The chunk ran out of attempts and is `failed`; its stored results and checkpoint stay.
    /// What the scan does next, as for a release.
    GaveUp(Released),
}

/// A registered appliance as the console lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplianceStatus {
    /// What it registered.
    pub record: ApplianceRecord,
    /// When it (re)started (RFC 3339).
    pub started_at: String,
    /// Whether its last heartbeat is recent enough to count it as running.
    pub alive: bool,
    /// Chunks it holds a live lease on.
    pub leased_chunks: i64,
}

/// Failed chunks named in a scan's error, the others counted.
const FAILED_NAMED: usize = 3;

const CHUNK_COLUMNS: &str = "id, scan_id, idx, targets, ports, seed, rate, engine, settled_below, \
    probes_total, probes_sent, probes_done, replies, open_ports, hosts_up, leases";

impl Store {
    /// Records this appliance, or refreshes its record (a restart keeps its name).
    pub async fn register_appliance(&self, a: &ApplianceRecord) -> Result<(), StoreError> {
        let stamp = now();
        sqlx::query(
            "INSERT INTO appliances (name, reach, exclusive, raw_sockets, io_uring, version, \
             started_at, heartbeat_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
             ON CONFLICT (name) DO UPDATE SET reach = excluded.reach, exclusive = excluded.exclusive, \
             raw_sockets = excluded.raw_sockets, io_uring = excluded.io_uring, \
             version = excluded.version, started_at = excluded.started_at, \
             heartbeat_at = excluded.heartbeat_at",
        )
        .bind(&a.name)
        .bind(json(&a.reach))
        .bind(json(&a.exclusive))
        .bind(i64::from(a.raw_sockets))
        .bind(i64::from(a.io_uring))
        .bind(&a.version)
        .bind(stamp)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Says this appliance is alive.
    pub async fn heartbeat(&self, name: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE appliances SET heartbeat_at = $1 WHERE name = $2")
            .bind(now())
            .bind(name)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Appliances whose last heartbeat is at most `within_secs` old, by name.
    pub async fn live_appliances(
        &self,
        within_secs: i64,
    ) -> Result<Vec<ApplianceRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT name, reach, exclusive, raw_sockets, io_uring, version, heartbeat_at \
             FROM appliances WHERE heartbeat_at >= $1 ORDER BY name",
        )
        .bind(now_plus(-within_secs))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ApplianceRecord {
                    name: r.try_get("name")?,
                    reach: unjson(&r.try_get::<String, _>("reach")?)?,
                    exclusive: unjson(&r.try_get::<String, _>("exclusive")?)?,
                    raw_sockets: r.try_get::<i64, _>("raw_sockets")? != 0,
                    io_uring: r.try_get::<i64, _>("io_uring")? != 0,
                    version: r.try_get("version")?,
                    heartbeat_at: r.try_get("heartbeat_at")?,
                })
            })
            .collect()
    }

    /// Every registered appliance, by name: alive when its last heartbeat is at most
    /// `within_secs` old, with the chunks it holds a live lease on.
    pub async fn appliances(&self, within_secs: i64) -> Result<Vec<ApplianceStatus>, StoreError> {
        let stamp = now();
        let rows = sqlx::query(
            "SELECT a.name, a.reach, a.exclusive, a.raw_sockets, a.io_uring, a.version, \
             a.started_at, a.heartbeat_at, (SELECT COUNT(*) FROM scan_chunks c \
             WHERE c.lease_owner = a.name AND c.status = 'leased' AND c.lease_until >= $1) \
             AS leased FROM appliances a ORDER BY a.name",
        )
        .bind(&stamp)
        .fetch_all(&self.pool)
        .await?;
        let since = now_plus(-within_secs);
        rows.iter()
            .map(|r| {
                let heartbeat_at: String = r.try_get("heartbeat_at")?;
                Ok(ApplianceStatus {
                    alive: heartbeat_at >= since,
                    started_at: r.try_get("started_at")?,
                    leased_chunks: r.try_get("leased")?,
                    record: ApplianceRecord {
                        name: r.try_get("name")?,
                        reach: unjson(&r.try_get::<String, _>("reach")?)?,
                        exclusive: unjson(&r.try_get::<String, _>("exclusive")?)?,
                        raw_sockets: r.try_get::<i64, _>("raw_sockets")? != 0,
                        io_uring: r.try_get::<i64, _>("io_uring")? != 0,
                        version: r.try_get("version")?,
                        heartbeat_at,
                    },
                })
            })
            .collect()
    }

    /// Stores the chunks of a queued scan and marks it running, in one transaction: the scan
    /// is never seen running without its work.
    pub async fn create_chunks(&self, scan_id: i64, chunks: &[NewChunk]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin_with(self.backend.begin_write()).await?;
        for (idx, c) in chunks.iter().enumerate() {
            let first = c.ranges.first().map_or(0, |r| r.0);
            let last = c.ranges.last().map_or(0, |r| r.1);
            sqlx::query(
                "INSERT INTO scan_chunks (scan_id, idx, targets, first_ip, last_ip, ports, seed, \
                 rate, engine, probes_total) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(scan_id)
            .bind(idx as i64)
            .bind(serde_json::to_string(&c.ranges).unwrap_or_else(|_| "[]".into()))
            .bind(i64::from(first))
            .bind(i64::from(last))
            .bind(&c.ports)
            .bind(c.seed as i64)
            .bind(i64::try_from(c.rate).unwrap_or(i64::MAX))
            .bind(c.engine.clone())
            .bind(i64::try_from(c.probes_total).unwrap_or(i64::MAX))
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(
            "UPDATE scans SET status = 'running', started_at = $1 WHERE id = $2 AND status = 'queued'",
        )
        .bind(now())
        .bind(scan_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Leases the first chunk `filter` allows that nobody holds (never leased, or its lease
    /// passed) for `lease_secs`, to `owner`. `None` when there is no such chunk.
    pub async fn lease_chunk(
        &self,
        owner: &str,
        filter: &LeaseFilter,
        lease_secs: i64,
    ) -> Result<Option<LeasedChunk>, StoreError> {
        if filter.allowed.is_empty() {
            return Ok(None);
        }
        let stamp = now();
        // $1 is the time; the ranges follow, two placeholders each, in this order.
        let mut next = 1;
        let mut condition = |inside: bool| {
            let (a, b) = (next + 1, next + 2);
            next += 2;
            if inside {
                format!("(first_ip >= ${a} AND last_ip <= ${b})")
            } else {
                format!("(first_ip <= ${b} AND last_ip >= ${a})")
            }
        };
        let allowed: Vec<String> = filter.allowed.iter().map(|_| condition(true)).collect();
        let forbidden: Vec<String> = filter.forbidden.iter().map(|_| condition(false)).collect();
        let mut sql = format!(
            "SELECT id FROM scan_chunks WHERE (status = 'pending' OR (status = 'leased' AND \
             lease_until < $1)) AND ({})",
            allowed.join(" OR ")
        );
        if !forbidden.is_empty() {
            sql.push_str(&format!(" AND NOT ({})", forbidden.join(" OR ")));
        }
        sql.push_str(" ORDER BY scan_id, idx LIMIT 1");
        sql.push_str(self.backend.skip_locked());
        let mut tx = self.pool.begin_with(self.backend.begin_write()).await?;
        let mut query = sqlx::query_scalar::<_, i64>(&sql).bind(&stamp);
        for &(a, b) in filter.allowed.iter().chain(&filter.forbidden) {
            query = query.bind(i64::from(a)).bind(i64::from(b));
        }
        let Some(id) = query.fetch_optional(&mut *tx).await? else {
            tx.commit().await?;
            return Ok(None);
        };
        let row = sqlx::query(&format!(
            "UPDATE scan_chunks SET status = 'leased', lease_owner = $1, lease_until = $2, \
             leases = leases + 1 WHERE id = $3 RETURNING {CHUNK_COLUMNS}"
        ))
        .bind(owner)
        .bind(now_plus(lease_secs))
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        chunk_of(&row).map(Some)
    }

    /// Extends `owner`'s lease on chunk `id` by `lease_secs` and stores its counters. `false`
    /// when the lease is no longer `owner`'s (it expired and was taken, the chunk is done, or
    /// its scan was cancelled): the caller stops working on it.
    pub async fn renew_chunk(
        &self,
        id: i64,
        owner: &str,
        lease_secs: i64,
        c: &ScanCounters,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE scan_chunks SET lease_until = $1, probes_sent = $2, probes_done = $3, \
             replies = $4, open_ports = $5, hosts_up = $6 \
             WHERE id = $7 AND lease_owner = $8 AND status = 'leased'",
        )
        .bind(now_plus(lease_secs))
        .bind(c.probes_sent as i64)
        .bind(c.probes_done as i64)
        .bind(c.replies as i64)
        .bind(c.open_ports as i64)
        .bind(c.hosts_up as i64)
        .bind(id)
        .bind(owner)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records that every pair of chunk `id` below `settled_below` has its results stored.
    /// Never moves the checkpoint back; `false` when `owner` no longer holds the chunk.
    pub async fn checkpoint_chunk(
        &self,
        id: i64,
        owner: &str,
        settled_below: u64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE scan_chunks SET settled_below = $1 \
             WHERE id = $2 AND lease_owner = $3 AND status = 'leased' AND settled_below < $1",
        )
        .bind(i64::try_from(settled_below).unwrap_or(i64::MAX))
        .bind(id)
        .bind(owner)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The scan of chunk `id` and its status, its row locked for the rest of `tx`: of two
    /// appliances ending the last two chunks of a scan at once, exactly one then sees that no
    /// chunk is left and ends the scan.
    async fn lock_scan_of_chunk(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        id: i64,
    ) -> Result<(i64, String), StoreError> {
        let scan_id: Option<i64> =
            sqlx::query_scalar("SELECT scan_id FROM scan_chunks WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut **tx)
                .await?;
        let Some(scan_id) = scan_id else {
            return Err(StoreError::NotFound(format!("no chunk {id}")));
        };
        let status: String = sqlx::query_scalar(&format!(
            "SELECT status FROM scans WHERE id = $1{}",
            self.backend.lock_row()
        ))
        .bind(scan_id)
        .fetch_one(&mut **tx)
        .await?;
        Ok((scan_id, status))
    }

    /// Marks chunk `id` done by `owner` (every pair settled; the other counters stay as the
    /// last renewal stored them). The scan's row is locked first (see `lock_scan_of_chunk`).
    pub async fn release_chunk(&self, id: i64, owner: &str) -> Result<Released, StoreError> {
        let mut tx = self.pool.begin_with(self.backend.begin_write()).await?;
        let (scan_id, status) = self.lock_scan_of_chunk(&mut tx, id).await?;
        let done = sqlx::query(
            "UPDATE scan_chunks SET status = 'done', settled_below = probes_total, \
             lease_until = NULL, done_by = $1, finished_at = $2, probes_done = probes_total \
             WHERE id = $3 AND lease_owner = $1 AND status = 'leased'",
        )
        .bind(owner)
        .bind(now())
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            tx.commit().await?;
            return Ok(Released::NotHeld);
        }
        let released = scan_end(&mut tx, scan_id, &status).await?;
        tx.commit().await?;
        Ok(released)
    }

    /// Records that `owner`'s attempt at chunk `id` failed with `error`. Below `max_attempts`
    /// failed attempts the chunk is free again at once (not after its lease), for any
    /// appliance, from its checkpoint; at `max_attempts` it is marked `failed`, keeping its
    /// results and checkpoint, and the scan ends (failed, naming it) once no chunk is left.
    pub async fn fail_chunk(
        &self,
        id: i64,
        owner: &str,
        error: &str,
        max_attempts: u32,
    ) -> Result<ChunkFailure, StoreError> {
        let mut tx = self.pool.begin_with(self.backend.begin_write()).await?;
        let (scan_id, status) = self.lock_scan_of_chunk(&mut tx, id).await?;
        let attempts: Option<i64> = sqlx::query_scalar(
            "UPDATE scan_chunks SET attempts = attempts + 1, error = $1, lease_owner = NULL, \
             lease_until = NULL, status = CASE WHEN attempts + 1 >= $2 THEN 'failed' \
             ELSE 'pending' END, finished_at = CASE WHEN attempts + 1 >= $2 THEN $3 ELSE NULL END \
             WHERE id = $4 AND lease_owner = $5 AND status = 'leased' RETURNING attempts",
        )
        .bind(error)
        .bind(i64::from(max_attempts.max(1)))
        .bind(now())
        .bind(id)
        .bind(owner)
        .fetch_optional(&mut *tx)
        .await?;
        let outcome = match attempts {
            None => ChunkFailure::NotHeld,
            Some(attempts) if attempts < i64::from(max_attempts.max(1)) => {
                ChunkFailure::Retry { attempts }
            }
            Some(_) => ChunkFailure::GaveUp(scan_end(&mut tx, scan_id, &status).await?),
        };
        tx.commit().await?;
        Ok(outcome)
    }

    /// Stops handing out the chunks of scan `id`: chunks not yet done become `cancelled`, so
    /// their holders lose their leases at the next renewal. Returns how many.
    pub async fn cancel_chunks(&self, scan_id: i64) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE scan_chunks SET status = 'cancelled', lease_until = NULL \
             WHERE scan_id = $1 AND status IN ('pending', 'leased')",
        )
        .bind(scan_id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// Sends `payload` to the listeners of `channel` (PostgreSQL's NOTIFY).
    pub async fn notify(&self, channel: &str, payload: &str) -> Result<(), StoreError> {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(channel)
            .bind(payload)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Whether scan `id` is split into chunks (a scan shared by appliances).
    pub async fn has_chunks(&self, scan_id: i64) -> Result<bool, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM scan_chunks WHERE scan_id = $1")
            .bind(scan_id)
            .fetch_one(&self.pool)
            .await?;
        Ok(n > 0)
    }

    /// The summed counters of every running shared scan, as its chunks' holders last stored
    /// them: what each appliance's console shows, whoever does the work.
    pub async fn chunk_progress(&self) -> Result<Vec<(i64, ScanCounters)>, StoreError> {
        let rows = sqlx::query(
            "SELECT c.scan_id, CAST(SUM(c.probes_total) AS BIGINT) AS total, CAST(SUM(c.probes_sent) AS BIGINT) AS sent, \
             CAST(SUM(c.probes_done) AS BIGINT) AS done, CAST(SUM(c.replies) AS BIGINT) AS replies, \
             CAST(SUM(c.open_ports) AS BIGINT) AS open, CAST(SUM(c.hosts_up) AS BIGINT) AS hosts \
             FROM scan_chunks c JOIN scans s ON s.id = c.scan_id \
             WHERE s.status = 'running' GROUP BY c.scan_id ORDER BY c.scan_id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let get = |name: &str| -> Result<u64, StoreError> {
                    Ok(r.try_get::<i64, _>(name)?.max(0) as u64)
                };
                Ok((
                    r.try_get("scan_id")?,
                    ScanCounters {
                        probes_total: get("total")?,
                        probes_sent: get("sent")?,
                        probes_done: get("done")?,
                        replies: get("replies")?,
                        open_ports: get("open")?,
                        hosts_up: get("hosts")?,
                        rate_pps: 0.0,
                        eta_seconds: None,
                    },
                ))
            })
            .collect()
    }

    /// The summed counters of scan `id`'s chunks (zero when it has none).
    pub async fn chunk_totals(&self, scan_id: i64) -> Result<ScanCounters, StoreError> {
        let row = sqlx::query(
            "SELECT CAST(COALESCE(SUM(probes_total), 0) AS BIGINT) AS total, CAST(COALESCE(SUM(probes_sent), 0) AS BIGINT) AS sent, \
             CAST(COALESCE(SUM(probes_done), 0) AS BIGINT) AS done, CAST(COALESCE(SUM(replies), 0) AS BIGINT) AS replies \
             FROM scan_chunks WHERE scan_id = $1",
        )
        .bind(scan_id)
        .fetch_one(&self.pool)
        .await?;
        let get = |name: &str| -> Result<u64, StoreError> {
            Ok(row.try_get::<i64, _>(name)?.max(0) as u64)
        };
        Ok(ScanCounters {
            probes_total: get("total")?,
            probes_sent: get("sent")?,
            probes_done: get("done")?,
            replies: get("replies")?,
            ..ScanCounters::default()
        })
    }
}

/// Whether a chunk of scan `scan_id` (whose status is `status`) just ending was its last
/// open one, and if so how the scan ends: completed, or failed naming its failed chunks.
async fn scan_end(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    scan_id: i64,
    status: &str,
) -> Result<Released, StoreError> {
    let open: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM scan_chunks WHERE scan_id = $1 AND status IN ('pending', 'leased')",
    )
    .bind(scan_id)
    .fetch_one(&mut **tx)
    .await?;
    if open > 0 || status != "running" {
        return Ok(Released::Done);
    }
    let failed = sqlx::query(
        "SELECT idx, first_ip, last_ip, attempts, error FROM scan_chunks \
         WHERE scan_id = $1 AND status = 'failed' ORDER BY idx",
    )
    .bind(scan_id)
    .fetch_all(&mut **tx)
    .await?;
    if failed.is_empty() {
        return Ok(Released::Last(ScanStatus::Completed, None));
    }
    let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM scan_chunks WHERE scan_id = $1")
        .bind(scan_id)
        .fetch_one(&mut **tx)
        .await?;
    let mut named = Vec::new();
    for r in failed.iter().take(FAILED_NAMED) {
        let span = (ip_of(r.try_get("first_ip")?), ip_of(r.try_get("last_ip")?));
        named.push(format!(
            "chunk {} ({}) failed {} times: {}",
            r.try_get::<i64, _>("idx")?,
            describe(span),
            r.try_get::<i64, _>("attempts")?,
            r.try_get::<Option<String>, _>("error")?.unwrap_or_else(|| "no error recorded".into())
        ));
    }
    let more = failed.len().saturating_sub(FAILED_NAMED);
    let mut message = format!("{} of {total} chunks could not be scanned: ", failed.len());
    message.push_str(&named.join("; "));
    if more > 0 {
        message.push_str(&format!("; and {more} more"));
    }
    message.push_str(". The other chunks' results are stored; scan the failed ranges again once the cause is fixed");
    Ok(Released::Last(ScanStatus::Failed, Some(message)))
}

/// `a-b` for people.
fn describe(span: (u32, u32)) -> String {
    let (a, b) = (std::net::Ipv4Addr::from(span.0), std::net::Ipv4Addr::from(span.1));
    if a == b { a.to_string() } else { format!("{a}-{b}") }
}

/// A stored address (an integer) as `u32`; out-of-range values (never written) as 0.
fn ip_of(stored: i64) -> u32 {
    u32::try_from(stored).unwrap_or(0)
}

fn chunk_of(r: &AnyRow) -> Result<LeasedChunk, StoreError> {
    let get =
        |name: &str| -> Result<u64, StoreError> { Ok(r.try_get::<i64, _>(name)?.max(0) as u64) };
    let targets: String = r.try_get("targets")?;
    let ranges = serde_json::from_str(&targets)
        .map_err(|e| StoreError::Corrupt(format!("chunk targets `{targets}`: {e}")))?;
    Ok(LeasedChunk {
        id: r.try_get("id")?,
        scan_id: r.try_get("scan_id")?,
        idx: r.try_get("idx")?,
        ranges,
        ports: r.try_get("ports")?,
        seed: r.try_get::<i64, _>("seed")? as u64,
        rate: get("rate")?,
        engine: r.try_get("engine")?,
        settled_below: get("settled_below")?,
        counters: ScanCounters {
            probes_total: get("probes_total")?,
            probes_sent: get("probes_sent")?,
            probes_done: get("probes_done")?,
            replies: get("replies")?,
            open_ports: get("open_ports")?,
            hosts_up: get("hosts_up")?,
            rate_pps: 0.0,
            eta_seconds: None,
        },
        leases: r.try_get("leases")?,
    })
}

fn json(list: &[String]) -> String {
    serde_json::to_string(list).unwrap_or_else(|_| "[]".into())
}

fn unjson(text: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("`{text}`: {e}")))
}

#[cfg(test)]
mod tests {
    use super::super::findings::tests::scan;
    use super::super::store_tests;
    use super::*;

    /// `n` chunks of one address each (10.0.0.i), 2 pairs apiece.
    fn chunks(n: u32) -> Vec<NewChunk> {
        (0..n)
            .map(|i| NewChunk {
                ranges: vec![(0x0a00_0000 + i, 0x0a00_0000 + i)],
                ports: "22,80".into(),
                seed: u64::MAX - u64::from(i),
                rate: 100,
                engine: None,
                probes_total: 2,
            })
            .collect()
    }

    fn anywhere() -> LeaseFilter {
        LeaseFilter { allowed: vec![(0, u32::MAX)], forbidden: vec![] }
    }

    async fn shared_scan(store: &Store, n: u32) -> i64 {
        let id = scan(store).await;
        store.create_chunks(id, &chunks(n)).await.unwrap();
        id
    }

    store_tests! {
        async fn chunks_are_leased_once_each_in_order(store) {
            let scan_id = shared_scan(store, 3).await;
            assert_eq!(store.scan(scan_id).await.unwrap().unwrap().status, ScanStatus::Running);
            let a = store.lease_chunk("a", &anywhere(), 30).await.unwrap().unwrap();
            let b = store.lease_chunk("b", &anywhere(), 30).await.unwrap().unwrap();
            let c = store.lease_chunk("a", &anywhere(), 30).await.unwrap().unwrap();
            assert_eq!((a.idx, b.idx, c.idx), (0, 1, 2));
            assert_eq!((a.seed, a.leases, a.settled_below), (u64::MAX, 1, 0));
            assert_eq!(a.ranges, vec![(0x0a00_0000, 0x0a00_0000)]);
            assert!(store.lease_chunk("b", &anywhere(), 30).await.unwrap().is_none());
            assert!(store.has_chunks(scan_id).await.unwrap());
        }

        async fn an_expired_lease_is_taken_over_from_its_checkpoint(store) {
            let scan_id = shared_scan(store, 1).await;
            // Leased with a deadline already past: the holder died at once.
            let first = store.lease_chunk("a", &anywhere(), -1).await.unwrap().unwrap();
            assert!(store.checkpoint_chunk(first.id, "a", 1).await.unwrap());
            assert!(!store.checkpoint_chunk(first.id, "a", 0).await.unwrap(), "never back");
            let again = store.lease_chunk("b", &anywhere(), 30).await.unwrap().unwrap();
            assert_eq!((again.id, again.leases, again.settled_below), (first.id, 2, 1));
            // The old holder learns it lost the chunk and cannot release it.
            let c = ScanCounters::default();
            assert!(!store.renew_chunk(first.id, "a", 30, &c).await.unwrap());
            assert!(!store.checkpoint_chunk(first.id, "a", 2).await.unwrap());
            assert_eq!(store.release_chunk(first.id, "a").await.unwrap(), Released::NotHeld);
            let end = store.release_chunk(first.id, "b").await.unwrap();
            assert_eq!(end, Released::Last(ScanStatus::Completed, None));
            let _ = scan_id;
        }

        async fn a_renewed_lease_is_kept(store) {
            shared_scan(store, 1).await;
            let held = store.lease_chunk("a", &anywhere(), -1).await.unwrap().unwrap();
            let c = ScanCounters { probes_sent: 3, probes_done: 1, ..ScanCounters::default() };
            assert!(store.renew_chunk(held.id, "a", 30, &c).await.unwrap());
            assert!(store.lease_chunk("b", &anywhere(), 30).await.unwrap().is_none());
            let progress = store.chunk_progress().await.unwrap();
            assert_eq!(progress.len(), 1);
            assert_eq!((progress[0].1.probes_sent, progress[0].1.probes_total), (3, 2));
        }

        async fn only_the_last_release_ends_the_scan(store) {
            let scan_id = shared_scan(store, 2).await;
            let a = store.lease_chunk("a", &anywhere(), 30).await.unwrap().unwrap();
            let b = store.lease_chunk("b", &anywhere(), 30).await.unwrap().unwrap();
            assert_eq!(store.release_chunk(a.id, "a").await.unwrap(), Released::Done);
            assert_eq!(store.release_chunk(a.id, "a").await.unwrap(), Released::NotHeld);
            assert_eq!(
                store.release_chunk(b.id, "b").await.unwrap(),
                Released::Last(ScanStatus::Completed, None)
            );
            assert_eq!(store.chunk_totals(scan_id).await.unwrap().probes_done, 4);
        }

        async fn reach_decides_who_leases_what(store) {
            shared_scan(store, 3).await;
            let only_second = LeaseFilter {
                allowed: vec![(0x0a00_0001, 0x0a00_0001)],
                forbidden: vec![],
            };
            let got = store.lease_chunk("dmz", &only_second, 30).await.unwrap().unwrap();
            assert_eq!(got.idx, 1);
            assert!(store.lease_chunk("dmz", &only_second, 30).await.unwrap().is_none());
            // The third address is another appliance's exclusive network.
            let central = LeaseFilter {
                allowed: vec![(0, u32::MAX)],
                forbidden: vec![(0x0a00_0002, 0x0a00_00ff)],
            };
            assert_eq!(store.lease_chunk("c", &central, 30).await.unwrap().unwrap().idx, 0);
            assert!(store.lease_chunk("c", &central, 30).await.unwrap().is_none());
            assert!(store.lease_chunk("c", &LeaseFilter::default(), 30).await.unwrap().is_none());
        }

        async fn concurrent_leasers_each_get_a_chunk_without_waiting(store) {
            // Eight appliances racing for eight chunks: with SKIP LOCKED each one skips the
            // rows the others hold instead of waiting and then finding them taken.
            shared_scan(store, 8).await;
            let racers = (0..8).map(|i| {
                let store = store.clone();
                tokio::spawn(async move {
                    store.lease_chunk(&format!("n{i}"), &anywhere(), 30).await.unwrap()
                })
            });
            let mut got: Vec<i64> = Vec::new();
            for racer in racers.collect::<Vec<_>>() {
                let leased = tokio::time::timeout(std::time::Duration::from_secs(20), racer)
                    .await
                    .expect("no leaser waits on another")
                    .unwrap();
                got.push(leased.expect("every racer gets a chunk").idx);
            }
            got.sort_unstable();
            assert_eq!(got, (0..8).collect::<Vec<_>>());
        }

        async fn cancelled_chunks_are_not_leased_and_lose_their_holders(store) {
            let scan_id = shared_scan(store, 2).await;
            let a = store.lease_chunk("a", &anywhere(), 30).await.unwrap().unwrap();
            assert_eq!(store.cancel_chunks(scan_id).await.unwrap(), 2);
            assert!(store.lease_chunk("b", &anywhere(), 30).await.unwrap().is_none());
            assert!(!store.renew_chunk(a.id, "a", 30, &ScanCounters::default()).await.unwrap());
        }

        async fn a_chunk_failing_every_attempt_ends_the_scan_failed_naming_it(store) {
            let scan_id = shared_scan(store, 2).await;
            let first = store.lease_chunk("a", &anywhere(), 30).await.unwrap().unwrap();
            let error = "raw sockets: Operation not permitted";
            let mut outcomes = Vec::new();
            for (attempt, owner) in ["b", "c", "b"].into_iter().enumerate() {
                let chunk = store.lease_chunk(owner, &anywhere(), 30).await.unwrap().unwrap();
                assert_eq!(chunk.idx, 1, "a failed attempt frees the chunk at once");
                assert_eq!(chunk.settled_below, u64::from(attempt > 0), "from its checkpoint");
                if attempt == 0 {
                    assert!(store.checkpoint_chunk(chunk.id, owner, 1).await.unwrap());
                }
                assert_eq!(
                    store.fail_chunk(chunk.id, "someone-else", error, 3).await.unwrap(),
                    ChunkFailure::NotHeld
                );
                outcomes.push(store.fail_chunk(chunk.id, owner, error, 3).await.unwrap());
            }
            assert_eq!(
                outcomes,
                [
                    ChunkFailure::Retry { attempts: 1 },
                    ChunkFailure::Retry { attempts: 2 },
                    ChunkFailure::GaveUp(Released::Done),
                ],
                "the first chunk still runs when the second gives up"
            );
            assert!(store.lease_chunk("d", &anywhere(), 30).await.unwrap().is_none(), "never again");
            let Released::Last(status, Some(message)) = store.release_chunk(first.id, "a").await.unwrap()
            else {
                panic!("the last chunk ends the scan with an error")
            };
            assert_eq!(status, ScanStatus::Failed);
            assert!(
                message.contains("1 of 2 chunks could not be scanned: chunk 1 (10.0.0.1) failed 3 times: raw sockets: Operation not permitted"),
                "{message}"
            );
            // Nothing is lost: the failed chunk keeps its checkpoint, attempts and error.
            let (settled, attempts, stored_error, status): (i64, i64, Option<String>, String) =
                sqlx::query_as(
                    "SELECT settled_below, attempts, error, status FROM scan_chunks \
                     WHERE scan_id = $1 AND idx = 1",
                )
                .bind(scan_id)
                .fetch_one(&store.pool)
                .await
                .unwrap();
            assert_eq!((settled, attempts, stored_error.as_deref(), status.as_str()), (1, 3, Some(error), "failed"));
        }

        async fn the_last_chunk_giving_up_ends_the_scan(store) {
            shared_scan(store, 1).await;
            let chunk = store.lease_chunk("a", &anywhere(), 30).await.unwrap().unwrap();
            let outcome = store.fail_chunk(chunk.id, "a", "no route", 1).await.unwrap();
            let ChunkFailure::GaveUp(Released::Last(ScanStatus::Failed, Some(message))) = outcome else {
                panic!("{outcome:?}")
            };
            assert!(message.contains("chunk 0 (10.0.0.0) failed 1 times: no route"), "{message}");
        }

        async fn appliances_are_listed_with_liveness_and_leases(store) {
            for name in ["a", "b"] {
                let record = ApplianceRecord {
                    name: name.into(),
                    reach: vec!["0.0.0.0/0".into()],
                    exclusive: vec![],
                    raw_sockets: name == "a",
                    io_uring: false,
                    version: "1".into(),
                    heartbeat_at: String::new(),
                };
                store.register_appliance(&record).await.unwrap();
            }
            // `b` last spoke ten minutes ago.
            sqlx::query("UPDATE appliances SET heartbeat_at = $1 WHERE name = $2")
                .bind(now_plus(-600))
                .bind("b")
                .execute(&store.pool)
                .await
                .unwrap();
            shared_scan(store, 3).await;
            store.lease_chunk("a", &anywhere(), 30).await.unwrap().unwrap();
            store.lease_chunk("a", &anywhere(), 30).await.unwrap().unwrap();
            // An expired lease is not held any more.
            store.lease_chunk("b", &anywhere(), -1).await.unwrap().unwrap();
            let list = store.appliances(60).await.unwrap();
            let seen: Vec<(&str, bool, i64, bool)> = list
                .iter()
                .map(|a| (a.record.name.as_str(), a.alive, a.leased_chunks, a.record.raw_sockets))
                .collect();
            assert_eq!(seen, [("a", true, 2, true), ("b", false, 0, false)]);
            assert!(list[0].started_at.ends_with('Z') && list[0].record.heartbeat_at.ends_with('Z'));
        }

        async fn appliances_register_and_heartbeat(store) {
            let record = ApplianceRecord {
                name: "dmz-1".into(),
                reach: vec!["0.0.0.0/0".into()],
                exclusive: vec!["192.0.2.0/24".into()],
                raw_sockets: true,
                io_uring: false,
                version: "1".into(),
                heartbeat_at: String::new(),
            };
            store.register_appliance(&record).await.unwrap();
            store.register_appliance(&record).await.unwrap();
            store.heartbeat("dmz-1").await.unwrap();
            let live = store.live_appliances(60).await.unwrap();
            assert_eq!(live.len(), 1);
            assert_eq!(ApplianceRecord { heartbeat_at: String::new(), ..live[0].clone() }, record);
        }
    }
}
