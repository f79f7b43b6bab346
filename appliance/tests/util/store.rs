//! The store the integration tests give `sonde`: the SQLite file in the test's data directory,
//! or, when `SONDE_TEST_DATABASE_URL` names a PostgreSQL server, a fresh database on it (the
//! second pass of `.ci/run`).

use std::path::{Path, PathBuf};

use sonde::pg_server::{PgServer, TEST_DATABASE_URL};

/// Writes `DIR/sonde.toml` with `data_dir = DIR` and, under `SONDE_TEST_DATABASE_URL`, the
/// URL of a new database; returns its path for `--config`. Called again for the same
/// directory, it returns the same file, so every command of a test shares one store.
pub(crate) fn config_for(data_dir: &Path) -> PathBuf {
    let path = data_dir.join("sonde.toml");
    if path.exists() {
        return path;
    }
    let mut text =
        format!("[server]\ndata_dir = {}\n", toml_string(&data_dir.display().to_string()));
    if let Ok(admin) = std::env::var(TEST_DATABASE_URL) {
        let runtime =
            tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
        let url = runtime
            .block_on(PgServer::existing(admin).fresh_database())
            .expect("a fresh database on the SONDE_TEST_DATABASE_URL server");
        text.push_str(&format!("database_url = {}\n", toml_string(&url)));
    }
    std::fs::write(&path, text).expect("config written");
    path
}

/// The URL of the store [`config_for`] gives `data_dir`: its PostgreSQL database, or the
/// SQLite file in the directory.
pub(crate) fn store_url(data_dir: &Path) -> String {
    let text = std::fs::read_to_string(config_for(data_dir)).expect("the test config reads");
    text.lines()
        .find_map(|line| line.strip_prefix("database_url = "))
        .map(|quoted| serde_json::from_str(quoted).expect("a quoted URL"))
        .unwrap_or_else(|| format!("sqlite://{}/sonde.db", data_dir.display()))
}

fn toml_string(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}
