//! The store: SQLite through sqlx, migrations embedded and run at open.
//!
//! The Persister actor is its only writer during a scan; the web layer reads through the
//! query methods. Addresses are stored as integers so that subnet filters are range scans.

mod backend;
mod copy;
mod findings;
mod hosts;
mod scans;
mod tokens;

use std::path::Path;

use sqlx::AnyPool;

pub use backend::{Backend, redact, sqlite_url};
pub use copy::{CopyError, TableSummary};
pub use findings::{HostRecord, PortRecord};
pub use hosts::{HostFilter, printable_banner};
pub use scans::NewScan;

/// File name of the SQLite database inside the data directory.
pub const DATABASE_FILE: &str = "sonde.db";

/// Store failures, classified so the operator knows what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database URL is not one the store understands.
    #[error("database URL: {0}")]
    Url(String),
    /// The database cannot be opened or created.
    #[error("cannot open the store at {location}: {source}")]
    Open {
        /// Database URL, password redacted.
        location: String,
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
    /// A stored value cannot be read back (corruption or a newer schema).
    #[error("unreadable value in the store: {0}")]
    Corrupt(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        // A full disk surfaces as a database error; name it so the operator can act.
        let full =
            e.as_database_error().and_then(|d| d.code()).is_some_and(|c| Backend::disk_full(&c));
        if full { Self::DiskFull } else { Self::Database(e) }
    }
}

/// A handle on the store; cheap to clone (a connection pool).
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

impl Store {
    /// Opens (creating if needed) the SQLite database in `data_dir` and runs pending migrations.
    pub async fn open(data_dir: &Path) -> Result<Self, StoreError> {
        Self::connect(&sqlite_url(&data_dir.join(DATABASE_FILE))).await
    }

    /// Opens the store `database_url` names when there is one, the SQLite file in `data_dir`
    /// otherwise, and runs pending migrations.
    pub async fn open_configured(
        database_url: Option<&str>,
        data_dir: &Path,
    ) -> Result<Self, StoreError> {
        match database_url {
            Some(url) => Self::connect(url).await,
            None => Self::open(data_dir).await,
        }
    }

    /// Opens the store at `url` (`sqlite://PATH?mode=rwc` or `postgres://...`) and runs
    /// pending migrations.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let store = Self::connect_unmigrated(url).await?;
        backend::migrate(&store.pool, store.backend).await?;
        Ok(store)
    }

    /// Opens the store at `url` without touching its schema.
    pub(crate) async fn connect_unmigrated(url: &str) -> Result<Self, StoreError> {
        let backend = Backend::of_url(url)?;
        let pool = backend::connect(url, backend)
            .await
            .map_err(|source| StoreError::Open { location: redact(url), source })?;
        Ok(Self { pool, backend })
    }

    /// Which database this store runs on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Checks the store answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Closes every connection, checkpointing the WAL on SQLite.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// A store in a new temporary SQLite file.
#[cfg(test)]
pub(crate) async fn test_store() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = Store::open(dir.path()).await.expect("store opens");
    (store, dir)
}

/// A store in a new database of the test PostgreSQL server.
#[cfg(test)]
pub(crate) async fn test_store_pg() -> Store {
    let server = crate::pg_server::PgServer::shared().expect("test PostgreSQL server");
    let url = server.fresh_database().await.expect("a fresh database");
    Store::connect(&url).await.expect("store opens on PostgreSQL")
}

/// Defines each store test twice, as `NAME::sqlite` and `NAME::postgres`, so the whole suite
/// runs on both backends: `store_tests! { async fn name(store) { ... } }` with `store: &Store`.
#[cfg(test)]
macro_rules! store_tests {
    ($(async fn $name:ident($store:ident) $body:block)*) => {$(
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test]
            async fn sqlite() {
                let (store, _dir) = $crate::store::test_store().await;
                let $store = &store;
                $body
            }

            #[tokio::test]
            async fn postgres() {
                let store = $crate::store::test_store_pg().await;
                let $store = &store;
                $body
            }
        }
    )*};
}
#[cfg(test)]
pub(crate) use store_tests;
