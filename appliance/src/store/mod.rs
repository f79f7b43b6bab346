//! The store: SQLite through sqlx, migrations embedded and run at open.
//!
//! The Persister actor is its only writer during a scan; the web layer reads through the
//! query methods. Addresses are stored as integers so that subnet filters are range scans.

mod audit;
mod changes;
mod export;
mod findings;
mod hosts;
mod scans;
mod schedules;
mod sessions;
mod settings;
mod stats;
mod tokens;
mod users;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

pub use changes::{SeenPort, compare};
pub use export::ScanTimes;
pub use findings::{HostRecord, PortRecord, tls_view};
pub use hosts::{HostFilter, printable_banner};
pub use scans::NewScan;
pub use schedules::ScheduleRow;
pub use sessions::{SESSION_IDLE_SECS, SESSION_MAX_SECS};
pub use settings::SettingsRow;
pub use tokens::random_hex as random_secret;
pub use users::{MIN_PASSWORD_CHARS, check_name, check_password};

/// File name of the SQLite database inside the data directory.
pub const DATABASE_FILE: &str = "sonde.db";

/// Store failures, classified so the operator knows what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database cannot be opened or created.
    #[error("cannot open the store at {path}: {source}")]
    Open {
        /// Database file.
        path: PathBuf,
        /// Cause.
        source: sqlx::Error,
    },
    /// A migration failed; the database is left as it was before it.
    #[error("cannot migrate the store: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The disk holding the store is full; the failed batch was rolled back.
    #[error("the disk holding the store is full: free some space; nothing half-written was kept")]
    DiskFull,
    /// Any other database error.
    #[error("store error: {0}")]
    Database(sqlx::Error),
    /// A value given to the store is not acceptable (a bad name or password).
    #[error("{0}")]
    Invalid(String),
    /// The change conflicts with what is stored (a taken name, the last admin).
    #[error("{0}")]
    Conflict(String),
    /// The row to change does not exist.
    #[error("{0}")]
    NotFound(String),
    /// A stored value cannot be read back (corruption or a newer schema).
    #[error("unreadable value in the store: {0}")]
    Corrupt(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        // SQLITE_FULL (13) surfaces as a database error; name it so the operator can act.
        let full = e
            .as_database_error()
            .and_then(|d| d.code())
            .is_some_and(|code| code == "13" || code == "4874");
        if full { Self::DiskFull } else { Self::Database(e) }
    }
}

/// A handle on the store; cheap to clone (a connection pool).
#[derive(Debug, Clone)]
pub struct Store {
    pool: SqlitePool,
}

impl Store {
    /// Opens (creating if needed) the database in `data_dir` and runs pending migrations.
    pub async fn open(data_dir: &Path) -> Result<Self, StoreError> {
        let path = data_dir.join(DATABASE_FILE);
        let options = SqliteConnectOptions::from_str("sqlite:")
            .map_err(|source| StoreError::Open { path: path.clone(), source })?
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // WAL with NORMAL is durable across process crashes; only a power loss can drop
            // the last transactions, never corrupt the file.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(|source| StoreError::Open { path: path.clone(), source })?;
        sqlx::migrate!("../migrations/sqlite").run(&pool).await?;
        Ok(Self { pool })
    }

    /// Checks the store answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Closes every connection, checkpointing the WAL.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// The current time as the store writes it (RFC 3339, UTC, milliseconds).
const NOW: &str = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";

#[cfg(test)]
pub(crate) async fn test_store() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = Store::open(dir.path()).await.expect("store opens");
    (store, dir)
}
