//! The two databases the store runs on, and the only place where their SQL differs.

use std::path::Path;
use std::sync::Once;
use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Executor};

use super::StoreError;

/// Which database a store runs on, known from its URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file (`sqlite:///var/lib/sonde/sonde.db`): the default, one appliance.
    Sqlite,
    /// A PostgreSQL server (`postgres://user@host/db`): several appliances, one store.
    Postgres,
}

impl Backend {
    /// The backend a database URL names, or an error saying which URLs are understood.
    pub fn of_url(url: &str) -> Result<Self, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres)
        } else {
            Err(StoreError::Url(format!(
                "`{}` is neither sqlite:PATH nor postgres://USER@HOST/DATABASE",
                redact(url)
            )))
        }
    }

    /// The statement that opens a write transaction.
    pub(crate) fn begin_write(self) -> &'static str {
        match self {
            // IMMEDIATE takes the write lock up front, waiting out the busy timeout. A deferred
            // transaction starts as a reader and, if another connection commits meanwhile
            // (scan progress, the next batch), its upgrade to writer fails at once with
            // SQLITE_BUSY_SNAPSHOT ("database is locked", code 517), which no busy timeout
            // retries: the batch was lost.
            Self::Sqlite => "BEGIN IMMEDIATE",
            // Row locks and ON CONFLICT make concurrent writers safe under READ COMMITTED.
            Self::Postgres => "BEGIN",
        }
    }

    /// The clause that ends a `SELECT` taking rows to update without waiting for rows another
    /// transaction holds (leasing chunks). SQLite has no row locks: its write transaction
    /// (`BEGIN IMMEDIATE`) already excludes every other writer.
    pub(crate) fn skip_locked(self) -> &'static str {
        match self {
            Self::Sqlite => "",
            Self::Postgres => " FOR UPDATE SKIP LOCKED",
        }
    }

    /// The clause that ends a `SELECT` of one row to lock it until the transaction ends.
    pub(crate) fn lock_row(self) -> &'static str {
        match self {
            Self::Sqlite => "",
            Self::Postgres => " FOR UPDATE",
        }
    }

    /// `expr` aggregated into one comma-separated text, `NULL` for no rows.
    pub(crate) fn comma_list(self, expr: &str) -> String {
        match self {
            Self::Sqlite => format!("group_concat({expr})"),
            Self::Postgres => format!("string_agg(CAST({expr} AS TEXT), ',')"),
        }
    }

    /// `expr`, a BLOB/BYTEA, as text that `LIKE` can search: the bytes as they are on SQLite,
    /// non-ASCII bytes escaped (`\\ooo`) on PostgreSQL, which refuses invalid UTF-8 in text.
    pub(crate) fn blob_text(self, expr: &str) -> String {
        match self {
            Self::Sqlite => format!("CAST({expr} AS TEXT)"),
            Self::Postgres => format!("encode({expr}, 'escape')"),
        }
    }

    /// `expr`, a text, as the BLOB/BYTEA of its UTF-8 bytes (test fixtures written in SQL).
    #[cfg(test)]
    pub(crate) fn text_blob(self, expr: &str) -> String {
        match self {
            Self::Sqlite => format!("CAST({expr} AS BLOB)"),
            Self::Postgres => format!("convert_to({expr}, 'UTF8')"),
        }
    }

    /// The most bind parameters one statement may carry: SQLite's `SQLITE_MAX_VARIABLE_NUMBER`
    /// (32,766 in the bundled SQLite, 3.32 and later), PostgreSQL's 16-bit parameter count.
    pub(crate) fn max_binds(self) -> usize {
        match self {
            Self::Sqlite => 32_766,
            Self::Postgres => 65_535,
        }
    }

    /// Bind parameter `n` of a statement built with many parameters (multi-row inserts),
    /// whose parameters appear in its text in bind order, each once: `$n` on PostgreSQL, a
    /// bare `?` on SQLite. SQLite keeps numbered and named parameters (`?n`, `$n`) in a list
    /// that sqlx searches once per parameter when binding, which is quadratic in their number
    /// (seconds for a statement of 10,000); bare `?`s are not listed and bind in order.
    pub(crate) fn param(self, n: usize) -> String {
        match self {
            Self::Sqlite => "?".to_owned(),
            Self::Postgres => format!("${n}"),
        }
    }

    /// Whether a database error code means the disk is full.
    pub(crate) fn disk_full(code: &str) -> bool {
        // SQLITE_FULL (13) and SQLITE_IOERR_WRITE (4874); PostgreSQL's disk_full (53100).
        matches!(code, "13" | "4874" | "53100")
    }
}

/// The URL of the SQLite file at `path`, created when missing.
pub fn sqlite_url(path: &Path) -> String {
    // sqlx percent-decodes the path and cuts it at `?` or `#`: escape those three.
    let escaped: String = path
        .display()
        .to_string()
        .chars()
        .map(|c| match c {
            '%' => "%25".to_string(),
            '?' => "%3F".to_string(),
            '#' => "%23".to_string(),
            c => c.to_string(),
        })
        .collect();
    format!("sqlite://{escaped}?mode=rwc")
}

/// `url` without its password, for messages and logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// Opens a pool on `url` with the session settings each backend needs.
pub(crate) async fn connect(url: &str, backend: Backend) -> Result<AnyPool, sqlx::Error> {
    static DRIVERS: Once = Once::new();
    DRIVERS.call_once(sqlx::any::install_default_drivers);
    let options = AnyPoolOptions::new().max_connections(match backend {
        // One writer at a time anyway; a few readers for the console.
        Backend::Sqlite => 4,
        Backend::Postgres => 8,
    });
    let options = match backend {
        // The Any driver builds SQLite options from the URL alone, so the pragmas SqliteConnectOptions
        // would set are set here, on every new connection.
        Backend::Sqlite => options.after_connect(|conn, _meta| {
            Box::pin(async move {
                // WAL with NORMAL is durable across process crashes; only a power loss can drop
                // the last transactions, never corrupt the file.
                conn.execute("PRAGMA journal_mode = WAL").await?;
                conn.execute("PRAGMA synchronous = NORMAL").await?;
                conn.execute("PRAGMA busy_timeout = 10000").await?;
                conn.execute("PRAGMA foreign_keys = ON").await?;
                Ok(())
            })
        }),
        Backend::Postgres => options.acquire_timeout(Duration::from_secs(30)),
    };
    options.connect(url).await
}

/// Runs the migrations of `backend` that `pool` has not seen yet.
pub(crate) async fn migrate(pool: &AnyPool, backend: Backend) -> Result<(), StoreError> {
    match backend {
        Backend::Sqlite => sqlx::migrate!("../migrations/sqlite").run(pool).await?,
        Backend::Postgres => sqlx::migrate!("../migrations/postgres").run(pool).await?,
    }
    Ok(())
}

/// The current time as the store writes it: RFC 3339, UTC, milliseconds. Computed here rather
/// than by the database so that both backends write the same text.
pub(crate) fn now() -> String {
    stamp(time::OffsetDateTime::now_utc())
}

/// The time `secs` seconds from now (before it when negative), as [`now`] writes it, for
/// comparisons with stored times (session expiry).
pub(crate) fn now_plus(secs: i64) -> String {
    stamp(time::OffsetDateTime::now_utc() + time::Duration::seconds(secs))
}

/// The current Unix time in seconds, for the columns the scheduler computes with.
pub(crate) fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Unix seconds of a time the store wrote (`2026-11-26T10:00:00.000Z`), or `None` when the
/// text is not in that form.
pub(crate) fn unix_of(stamp: &str) -> Option<i64> {
    let num = |range: std::ops::Range<usize>| stamp.get(range)?.parse::<u16>().ok();
    let month = time::Month::try_from(u8::try_from(num(5..7)?).ok()?).ok()?;
    let date = time::Date::from_calendar_date(
        i32::from(num(0..4)?),
        month,
        u8::try_from(num(8..10)?).ok()?,
    )
    .ok()?;
    let clock = time::Time::from_hms(
        u8::try_from(num(11..13)?).ok()?,
        u8::try_from(num(14..16)?).ok()?,
        u8::try_from(num(17..19)?).ok()?,
    )
    .ok()?;
    Some(time::PrimitiveDateTime::new(date, clock).assume_utc().unix_timestamp())
}

fn stamp(t: time::OffsetDateTime) -> String {
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_their_backend() {
        assert_eq!(Backend::of_url("sqlite:///tmp/x.db").unwrap(), Backend::Sqlite);
        assert_eq!(Backend::of_url("postgres://u@h/db").unwrap(), Backend::Postgres);
        assert_eq!(Backend::of_url("postgresql://u@h/db").unwrap(), Backend::Postgres);
        let e = Backend::of_url("mysql://u:secret@h/db").unwrap_err().to_string();
        assert!(e.contains("neither") && !e.contains("secret"), "{e}");
    }

    #[tokio::test]
    async fn sqlite_paths_with_url_characters_open() {
        let dir = tempfile::tempdir().unwrap();
        let odd = dir.path().join("a b?c#d%20e");
        std::fs::create_dir(&odd).unwrap();
        let store = super::super::Store::open(&odd).await.unwrap();
        store.ping().await.unwrap();
        store.close().await;
        assert!(odd.join(super::super::DATABASE_FILE).exists());
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact("postgres://u:pw@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact("sqlite:///a.db"), "sqlite:///a.db");
    }

    #[test]
    fn now_is_rfc3339_utc_with_milliseconds() {
        let t = now();
        assert_eq!(t.len(), "2026-11-26T10:00:00.000Z".len(), "{t}");
        assert!(t.ends_with('Z') && t.as_bytes()[10] == b'T', "{t}");
        assert!(now_plus(-60) < t && t < now_plus(60), "{t}");
        assert_eq!(unix_of("2026-11-26T10:00:00.000Z"), Some(1_795_687_200));
        assert!(unix_of(&t).unwrap().abs_diff(unix_now()) < 2, "{t}");
        assert_eq!(unix_of("yesterday"), None);
    }
}
