//! Copying an installation between stores (SQLite to PostgreSQL and back) and proving nothing
//! was lost: row counts and a SHA-256 of every table exported as JSON lines, on both sides.

use futures_util::TryStreamExt;
use sha2::{Digest, Sha256};
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, Row};

use super::{Backend, Store, StoreError};

/// How a column is read and bound; every column may be NULL.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Int,
    Real,
    Text,
    Blob,
}

/// A table the copy moves: its columns in schema order and the key its rows are sorted by.
#[derive(Debug)]
struct Table {
    name: &'static str,
    columns: &'static [(&'static str, Kind)],
    order_by: &'static str,
    /// Column filled by a sequence on PostgreSQL, to move past the copied ids.
    identity: Option<&'static str>,
}

/// Every table of the store, parents before the tables that reference them. A table added by
/// a migration must be added here; `every_table_is_copied` fails until it is.
const TABLES: &[Table] = &[
    Table {
        name: "users",
        columns: &[
            ("id", Kind::Int),
            ("name", Kind::Text),
            ("role", Kind::Text),
            ("password_hash", Kind::Text),
            ("created_at", Kind::Text),
        ],
        order_by: "id",
        identity: Some("id"),
    },
    Table {
        name: "tokens",
        columns: &[
            ("id", Kind::Int),
            ("name", Kind::Text),
            ("hash", Kind::Text),
            ("created_at", Kind::Text),
            ("last_used_at", Kind::Text),
            ("revoked_at", Kind::Text),
            ("user_id", Kind::Int),
        ],
        order_by: "id",
        identity: Some("id"),
    },
    Table {
        name: "scans",
        columns: &[
            ("id", Kind::Int),
            ("status", Kind::Text),
            ("targets", Kind::Text),
            ("exclude", Kind::Text),
            ("ports", Kind::Text),
            ("rate", Kind::Int),
            ("seed", Kind::Int),
            ("probes_total", Kind::Int),
            ("probes_sent", Kind::Int),
            ("probes_done", Kind::Int),
            ("replies", Kind::Int),
            ("open_ports", Kind::Int),
            ("hosts_up", Kind::Int),
            ("error", Kind::Text),
            ("created_by", Kind::Int),
            ("created_at", Kind::Text),
            ("started_at", Kind::Text),
            ("finished_at", Kind::Text),
            ("udp_ports", Kind::Text),
        ],
        order_by: "id",
        identity: Some("id"),
    },
    Table {
        name: "machines",
        columns: &[
            ("id", Kind::Int),
            ("mac", Kind::Text),
            ("ip", Kind::Int),
            ("vendor", Kind::Text),
            ("first_seen", Kind::Text),
            ("last_seen", Kind::Text),
        ],
        order_by: "id",
        identity: Some("id"),
    },
    Table {
        name: "hosts",
        columns: &[
            ("ip", Kind::Int),
            ("first_seen", Kind::Text),
            ("last_seen", Kind::Text),
            ("last_scan_id", Kind::Int),
            ("mac", Kind::Text),
            ("vendor", Kind::Text),
            ("name", Kind::Text),
            ("note", Kind::Text),
            ("tags", Kind::Text),
            ("machine_id", Kind::Int),
        ],
        order_by: "ip",
        identity: None,
    },
    Table {
        name: "machine_sightings",
        columns: &[("scan_id", Kind::Int), ("machine_id", Kind::Int), ("ip", Kind::Int)],
        order_by: "scan_id, machine_id, ip",
        identity: None,
    },
    Table {
        name: "ports",
        columns: &[
            ("ip", Kind::Int),
            ("port", Kind::Int),
            ("proto", Kind::Text),
            ("state", Kind::Text),
            ("service", Kind::Text),
            ("product", Kind::Text),
            ("version", Kind::Text),
            ("confidence", Kind::Int),
            ("banner", Kind::Blob),
            ("rtt_ms", Kind::Real),
            ("first_seen", Kind::Text),
            ("last_seen", Kind::Text),
            ("last_scan_id", Kind::Int),
            ("vendor", Kind::Text),
            ("info", Kind::Text),
            ("cpe", Kind::Text),
            ("signature", Kind::Text),
            ("tls_cert", Kind::Text),
        ],
        order_by: "ip, port, proto",
        identity: None,
    },
    Table {
        name: "scan_results",
        columns: &[
            ("scan_id", Kind::Int),
            ("ip", Kind::Int),
            ("port", Kind::Int),
            ("proto", Kind::Text),
            ("service", Kind::Text),
            ("product", Kind::Text),
            ("version", Kind::Text),
            ("info", Kind::Text),
            ("cpe", Kind::Text),
        ],
        order_by: "scan_id, ip, port, proto",
        identity: None,
    },
    Table {
        name: "sessions",
        columns: &[
            ("hash", Kind::Text),
            ("user_id", Kind::Int),
            ("csrf_token", Kind::Text),
            ("created_at", Kind::Text),
            ("last_seen_at", Kind::Text),
            ("expires_at", Kind::Text),
        ],
        order_by: "hash",
        identity: None,
    },
    Table {
        name: "audit",
        columns: &[
            ("id", Kind::Int),
            ("at", Kind::Text),
            ("user_id", Kind::Int),
            ("username", Kind::Text),
            ("action", Kind::Text),
            ("target", Kind::Text),
            ("source", Kind::Text),
        ],
        order_by: "id",
        identity: Some("id"),
    },
    Table {
        name: "hostnames",
        columns: &[
            ("ip", Kind::Int),
            ("name", Kind::Text),
            ("source", Kind::Text),
            ("scan_id", Kind::Int),
            ("seen_at", Kind::Text),
        ],
        order_by: "ip, name, source",
        identity: None,
    },
    Table {
        name: "changes",
        columns: &[
            ("id", Kind::Int),
            ("scan_id", Kind::Int),
            ("against", Kind::Int),
            ("ip", Kind::Int),
            ("kind", Kind::Text),
            ("port", Kind::Int),
            ("proto", Kind::Text),
            ("before", Kind::Text),
            ("after", Kind::Text),
            ("at", Kind::Text),
            ("machine_id", Kind::Int),
            ("from_ip", Kind::Int),
        ],
        order_by: "id",
        identity: Some("id"),
    },
    Table {
        name: "appliances",
        columns: &[
            ("name", Kind::Text),
            ("reach", Kind::Text),
            ("exclusive", Kind::Text),
            ("raw_sockets", Kind::Int),
            ("io_uring", Kind::Int),
            ("version", Kind::Text),
            ("started_at", Kind::Text),
            ("heartbeat_at", Kind::Text),
        ],
        order_by: "name",
        identity: None,
    },
    Table {
        name: "scan_chunks",
        columns: &[
            ("id", Kind::Int),
            ("scan_id", Kind::Int),
            ("idx", Kind::Int),
            ("targets", Kind::Text),
            ("first_ip", Kind::Int),
            ("last_ip", Kind::Int),
            ("ports", Kind::Text),
            ("seed", Kind::Int),
            ("rate", Kind::Int),
            ("engine", Kind::Text),
            ("status", Kind::Text),
            ("lease_owner", Kind::Text),
            ("lease_until", Kind::Text),
            ("leases", Kind::Int),
            ("settled_below", Kind::Int),
            ("probes_total", Kind::Int),
            ("probes_sent", Kind::Int),
            ("probes_done", Kind::Int),
            ("replies", Kind::Int),
            ("open_ports", Kind::Int),
            ("hosts_up", Kind::Int),
            ("done_by", Kind::Text),
            ("finished_at", Kind::Text),
            ("attempts", Kind::Int),
            ("error", Kind::Text),
        ],
        order_by: "id",
        identity: Some("id"),
    },
    Table {
        name: "settings",
        columns: &[
            ("id", Kind::Int),
            ("exclude", Kind::Text),
            ("default_rate", Kind::Int),
            ("rate_cap", Kind::Int),
        ],
        order_by: "id",
        identity: None,
    },
    Table {
        name: "schedules",
        columns: &[
            ("id", Kind::Int),
            ("name", Kind::Text),
            ("targets", Kind::Text),
            ("exclude", Kind::Text),
            ("ports", Kind::Text),
            ("rate", Kind::Int),
            ("cron", Kind::Text),
            ("every_hours", Kind::Int),
            ("timezone", Kind::Text),
            ("enabled", Kind::Int),
            ("created_at", Kind::Int),
            ("last_run_at", Kind::Int),
            ("last_scan_id", Kind::Int),
            ("udp_ports", Kind::Text),
        ],
        order_by: "id",
        identity: Some("id"),
    },
    Table {
        name: "docker_hosts",
        columns: &[
            ("id", Kind::Int),
            ("endpoint", Kind::Text),
            ("ip", Kind::Int),
            ("product", Kind::Text),
            ("version", Kind::Text),
            ("api_version", Kind::Text),
            ("platform", Kind::Text),
            ("error", Kind::Text),
            ("first_seen", Kind::Text),
            ("last_seen", Kind::Text),
            ("last_read", Kind::Text),
        ],
        order_by: "id",
        identity: Some("id"),
    },
    Table {
        name: "docker_containers",
        columns: &[
            ("docker_host_id", Kind::Int),
            ("id", Kind::Text),
            ("name", Kind::Text),
            ("image", Kind::Text),
            ("state", Kind::Text),
            ("labels", Kind::Text),
            ("ports", Kind::Text),
            ("networks", Kind::Text),
            ("first_seen", Kind::Text),
            ("last_seen", Kind::Text),
        ],
        order_by: "docker_host_id, id",
        identity: None,
    },
    Table {
        name: "docker_networks",
        columns: &[
            ("docker_host_id", Kind::Int),
            ("id", Kind::Text),
            ("name", Kind::Text),
            ("driver", Kind::Text),
            ("subnets", Kind::Text),
            ("internal", Kind::Int),
            ("first_seen", Kind::Text),
            ("last_seen", Kind::Text),
        ],
        order_by: "docker_host_id, id",
        identity: None,
    },
];

/// Parameters per INSERT at most: under SQLite's 32766 and PostgreSQL's 65535.
const MAX_PARAMS: usize = 30_000;

/// One value of a row, as read from either backend.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

/// What a table holds, for comparing two stores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSummary {
    /// Table name.
    pub table: String,
    /// Rows.
    pub rows: u64,
    /// SHA-256 (hex) of the rows exported as JSON lines in key order.
    pub checksum: String,
}

/// Why a copy did not happen or did not check out.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CopyError {
    /// The destination already holds data.
    #[error(
        "the destination is not empty ({rows} rows in `{table}`): copy into an empty database, \
         or pass --force to replace what it holds"
    )]
    NotEmpty {
        /// First non-empty table.
        table: String,
        /// Its rows.
        rows: u64,
    },
    /// After the copy, a table differs between the two stores.
    #[error(
        "table `{table}` differs after the copy: source {source_rows} rows (sha256 {source_sum}), \
         destination {dest_rows} rows (sha256 {dest_sum})"
    )]
    Mismatch {
        /// Table.
        table: String,
        /// Rows in the source.
        source_rows: u64,
        /// Rows in the destination.
        dest_rows: u64,
        /// Checksum of the source.
        source_sum: String,
        /// Checksum of the destination.
        dest_sum: String,
    },
    /// A store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for CopyError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(e.into())
    }
}

impl Store {
    /// Rows in every table, in copy order.
    pub async fn row_counts(&self) -> Result<Vec<(String, u64)>, StoreError> {
        let mut out = Vec::with_capacity(TABLES.len());
        for t in TABLES {
            let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {}", t.name))
                .fetch_one(&self.pool)
                .await?;
            out.push((t.name.to_string(), u64::try_from(n).unwrap_or(0)));
        }
        Ok(out)
    }

    /// Row count and checksum of every table's JSON export, in copy order.
    pub async fn summary(&self) -> Result<Vec<TableSummary>, StoreError> {
        let mut out = Vec::with_capacity(TABLES.len());
        for t in TABLES {
            let mut hash = Sha256::new();
            let mut rows = 0u64;
            let select = select_all(t);
            let mut stream = sqlx::query(&select).fetch(&self.pool);
            while let Some(row) = stream.try_next().await? {
                let values = read_row(t, &row)?;
                hash.update(json_line(&values).as_bytes());
                hash.update(b"\n");
                rows += 1;
            }
            let checksum = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
            out.push(TableSummary { table: t.name.to_string(), rows, checksum });
        }
        Ok(out)
    }

    /// Copies every row of this store into `dest` in one transaction on `dest`, `batch` rows
    /// per INSERT, then checks both stores hold the same rows. `dest` must be empty unless
    /// `force`, which deletes what it holds first. `progress` is called with rows copied.
    pub async fn copy_to(
        &self,
        dest: &Store,
        batch: usize,
        force: bool,
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<Vec<TableSummary>, CopyError> {
        if !force {
            for (table, rows) in dest.row_counts().await? {
                if rows > 0 {
                    return Err(CopyError::NotEmpty { table, rows });
                }
            }
        }
        let mut tx = dest.pool.begin_with(dest.backend.begin_write()).await?;
        if force {
            for t in TABLES.iter().rev() {
                sqlx::query(&format!("DELETE FROM {}", t.name)).execute(&mut *tx).await?;
            }
        }
        let mut copied = 0u64;
        for t in TABLES {
            let per_insert = batch.clamp(1, MAX_PARAMS / t.columns.len());
            let select = select_all(t);
            let mut stream = sqlx::query(&select).fetch(&self.pool);
            let mut pending: Vec<Vec<Value>> = Vec::with_capacity(per_insert);
            loop {
                let row = stream.try_next().await?;
                if let Some(row) = &row {
                    pending.push(read_row(t, row)?);
                }
                if pending.len() == per_insert || (row.is_none() && !pending.is_empty()) {
                    let sql = insert_sql(t, pending.len());
                    bind_rows(sqlx::query(&sql), t, &pending).execute(&mut *tx).await?;
                    copied += pending.len() as u64;
                    progress(copied);
                    pending.clear();
                }
                if row.is_none() {
                    break;
                }
            }
            if let (Backend::Postgres, Some(id)) = (dest.backend, t.identity) {
                // Copied rows carry their ids; the next one created must come after them.
                sqlx::query(&format!(
                    "SELECT setval(pg_get_serial_sequence('{0}', '{id}'), \
                     COALESCE((SELECT MAX({id}) FROM {0}), 0) + 1, false)",
                    t.name
                ))
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        let (source, copy) = (self.summary().await?, dest.summary().await?);
        for (s, d) in source.iter().zip(&copy) {
            if s != d {
                return Err(CopyError::Mismatch {
                    table: s.table.clone(),
                    source_rows: s.rows,
                    dest_rows: d.rows,
                    source_sum: s.checksum.clone(),
                    dest_sum: d.checksum.clone(),
                });
            }
        }
        Ok(source)
    }
}

fn select_all(t: &Table) -> String {
    let columns: Vec<&str> = t.columns.iter().map(|(c, _)| *c).collect();
    format!("SELECT {} FROM {} ORDER BY {}", columns.join(", "), t.name, t.order_by)
}

fn insert_sql(t: &Table, rows: usize) -> String {
    let columns: Vec<&str> = t.columns.iter().map(|(c, _)| *c).collect();
    let mut sql = format!("INSERT INTO {} ({}) VALUES ", t.name, columns.join(", "));
    let mut n = 0;
    for r in 0..rows {
        if r > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for c in 0..columns.len() {
            n += 1;
            if c > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("${n}"));
        }
        sql.push(')');
    }
    sql
}

fn read_row(t: &Table, row: &AnyRow) -> Result<Vec<Value>, StoreError> {
    t.columns
        .iter()
        .enumerate()
        .map(|(i, (name, kind))| {
            let read = |e: sqlx::Error| StoreError::Corrupt(format!("{}.{name}: {e}", t.name));
            Ok(match kind {
                Kind::Int => row.try_get::<Option<i64>, _>(i).map_err(read)?.map(Value::Int),
                Kind::Real => row.try_get::<Option<f64>, _>(i).map_err(read)?.map(Value::Real),
                Kind::Text => row.try_get::<Option<String>, _>(i).map_err(read)?.map(Value::Text),
                Kind::Blob => row.try_get::<Option<Vec<u8>>, _>(i).map_err(read)?.map(Value::Blob),
            }
            .unwrap_or(Value::Null))
        })
        .collect()
}

fn bind_rows<'q>(
    mut q: Query<'q, Any, AnyArguments<'q>>,
    t: &Table,
    rows: &[Vec<Value>],
) -> Query<'q, Any, AnyArguments<'q>> {
    for row in rows {
        for (value, (_, kind)) in row.iter().zip(t.columns) {
            // A NULL is bound with its column's type so PostgreSQL accepts it.
            q = match (value, kind) {
                (Value::Null, Kind::Int) => q.bind(None::<i64>),
                (Value::Null, Kind::Real) => q.bind(None::<f64>),
                (Value::Null, Kind::Text) => q.bind(None::<String>),
                (Value::Null, Kind::Blob) => q.bind(None::<Vec<u8>>),
                (Value::Int(i), _) => q.bind(*i),
                (Value::Real(f), _) => q.bind(*f),
                (Value::Text(s), _) => q.bind(s.clone()),
                (Value::Blob(b), _) => q.bind(b.clone()),
            };
        }
    }
    q
}

/// A row as a JSON array: the export the checksums are computed over. Blobs are hex.
fn json_line(values: &[Value]) -> String {
    let items: Vec<serde_json::Value> = values
        .iter()
        .map(|v| match v {
            Value::Null => serde_json::Value::Null,
            Value::Int(i) => (*i).into(),
            Value::Real(f) => (*f).into(),
            Value::Text(s) => s.clone().into(),
            Value::Blob(b) => b.iter().map(|x| format!("{x:02x}")).collect::<String>().into(),
        })
        .collect();
    serde_json::Value::Array(items).to_string()
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use sonde_web::api::{ScanCounters, ScanStatus};

    use super::super::findings::tests::{record, scan};
    use super::super::{HostRecord, test_store, test_store_pg};
    use super::*;

    /// A store with two scans, tokens, banners (bytes that are not UTF-8), NULLs, reals and
    /// on-link hosts.
    async fn history(store: &Store) {
        let admin =
            store.add_user("admin", sonde_web::api::Role::Admin, "long enough!").await.unwrap();
        store.create_token(admin.id, "ci").await.unwrap();
        let first = scan(store).await;
        let mut r = record([10, 0, 0, 1], 22);
        r.banner = Some(vec![0, 0xff, b'S', b'S', b'H']);
        r.service = Some("ssh".into());
        r.confidence = Some(90);
        r.rtt_ms = 0.123_456_789;
        let many: Vec<_> = (1..=700u16).map(|p| record([10, 0, 0, 2], p)).collect();
        store.persist(first, &[r]).await.unwrap();
        store.persist(first, &many).await.unwrap();
        store
            .persist_hosts(
                first,
                &[HostRecord {
                    ip: Ipv4Addr::new(10, 0, 0, 3),
                    mac: "02:00:00:00:00:03".into(),
                    vendor: None,
                }],
            )
            .await
            .unwrap();
        store
            .finish_scan(first, ScanStatus::Completed, &ScanCounters::default(), None)
            .await
            .unwrap();
        let second = scan(store).await;
        store.persist(second, &[record([10, 0, 0, 1], 80)]).await.unwrap();
    }

    #[tokio::test]
    async fn sqlite_to_postgres_and_back_loses_nothing() {
        let (source, _dir) = test_store().await;
        history(&source).await;
        let pg = test_store_pg().await;
        let there = source.copy_to(&pg, 100, false, &|_| {}).await.unwrap();
        let (back, _dir2) = test_store().await;
        let again = pg.copy_to(&back, 100, false, &|_| {}).await.unwrap();
        assert_eq!(there, again);
        assert_eq!(back.summary().await.unwrap(), source.summary().await.unwrap());
        let ports = there.iter().find(|s| s.table == "ports").unwrap();
        assert_eq!(ports.rows, 702);
        // Ids continue after the copied ones on PostgreSQL.
        let next = scan(&pg).await;
        assert_eq!(next, 3);
        let host = pg.host(Ipv4Addr::new(10, 0, 0, 1)).await.unwrap().unwrap();
        assert_eq!(host.ports[0].rtt_ms, Some(0.123_456_789));
    }

    #[tokio::test]
    async fn a_non_empty_destination_is_refused_unless_forced() {
        let (source, _dir) = test_store().await;
        history(&source).await;
        let (dest, _dir2) = test_store().await;
        dest.add_user("other", sonde_web::api::Role::Admin, "long enough!").await.unwrap();
        let e = source.copy_to(&dest, 500, false, &|_| {}).await.unwrap_err();
        assert!(matches!(e, CopyError::NotEmpty { ref table, rows: 1 } if table == "users"), "{e}");
        assert!(e.to_string().contains("--force"));
        source.copy_to(&dest, 500, true, &|_| {}).await.unwrap();
        assert_eq!(dest.summary().await.unwrap(), source.summary().await.unwrap());
    }

    #[tokio::test]
    async fn every_table_is_copied() {
        let (store, _dir) = test_store().await;
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'table' \
             AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx_%' ORDER BY name",
        )
        .fetch_all(&store.pool)
        .await
        .unwrap();
        let mut known: Vec<&str> = TABLES.iter().map(|t| t.name).collect();
        known.sort_unstable();
        assert_eq!(tables, known, "add new tables to TABLES in store/copy.rs");
        for t in TABLES {
            let columns: Vec<String> =
                sqlx::query_scalar(&format!("SELECT name FROM pragma_table_info('{}')", t.name))
                    .fetch_all(&store.pool)
                    .await
                    .unwrap();
            let listed: Vec<&str> = t.columns.iter().map(|(c, _)| *c).collect();
            assert_eq!(columns, listed, "columns of {} in TABLES (store/copy.rs)", t.name);
        }
    }
}
