//! A throwaway PostgreSQL server for tests and benchmarks: `initdb` and `postgres` from
//! Debian's `postgresql` package in a temporary folder, listening on a unix socket only (no
//! TCP port, so nothing outside this machine can reach it, nor can it be reached by mistake).
//!
//! PostgreSQL refuses to run as root, so under root it runs as `nobody`, owning its folder.
//! [`PgServer::shared`] starts one server per process; each test then takes a database of its
//! own with [`PgServer::fresh_database`]. `SONDE_TEST_DATABASE_URL`, when set, names an
//! existing server to use instead (its user must be allowed to create databases).

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use sqlx::{Connection, Executor};

/// Environment variable naming an existing PostgreSQL server for the tests.
pub const TEST_DATABASE_URL: &str = "SONDE_TEST_DATABASE_URL";

/// Why a test server could not be started or used.
#[derive(Debug, thiserror::Error)]
#[error("test PostgreSQL server: {0}")]
pub struct PgServerError(String);

/// A running PostgreSQL server, stopped (and its folder removed) on drop.
#[derive(Debug)]
pub struct PgServer {
    /// `postgres://` URL of the `postgres` database, as the superuser.
    admin_url: String,
    /// The postmaster; `None` for a server named by `SONDE_TEST_DATABASE_URL`.
    child: Option<Child>,
    /// Its folder: data and socket.
    dir: Option<PathBuf>,
    bin: PathBuf,
    run_as: Option<User>,
}

/// The unprivileged account the server runs as when the tests run as root.
#[derive(Debug, Clone)]
struct User {
    uid: u32,
    gid: u32,
}

impl PgServer {
    /// The server every test of this process shares: the one `SONDE_TEST_DATABASE_URL` names,
    /// or one started on first use. A started one stops when the process exits.
    pub fn shared() -> Result<&'static Self, PgServerError> {
        static SHARED: OnceLock<Result<PgServer, String>> = OnceLock::new();
        SHARED
            .get_or_init(|| match std::env::var(TEST_DATABASE_URL) {
                Ok(url) => Ok(Self::existing(url)),
                Err(_) => Self::start_tied_to_process().map_err(|e| e.0),
            })
            .as_ref()
            .map_err(|e| PgServerError(e.clone()))
    }

    /// A server someone else runs.
    pub fn existing(admin_url: String) -> Self {
        Self { admin_url, child: None, dir: None, bin: PathBuf::new(), run_as: None }
    }

    /// Starts a server of its own in a new temporary folder.
    pub fn start() -> Result<Self, PgServerError> {
        Self::launch(false)
    }

    /// Starts a server that dies with this process even though it is never dropped (a
    /// `static`): it gets SIGINT (a fast shutdown) when the thread that started it ends, so it
    /// is started from a thread that lives as long as the process.
    fn start_tied_to_process() -> Result<Self, PgServerError> {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("pg-server".into())
            .spawn(move || {
                let _ = tx.send(Self::launch(true));
                loop {
                    std::thread::park();
                }
            })
            .map_err(|e| PgServerError(format!("cannot start a thread: {e}")))?;
        rx.recv().map_err(|_| PgServerError("the starting thread died".into()))?
    }

    fn launch(tied_to_process: bool) -> Result<Self, PgServerError> {
        let bin = find_bin_dir()?;
        remove_stale_folders();
        let dir = std::env::temp_dir().join(format!(
            "sonde-pg-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir)
            .map_err(|e| PgServerError(format!("cannot create {}: {e}", dir.display())))?;
        let run_as = running_as_root().then(nobody).transpose()?;
        if let Some(user) = &run_as {
            std::os::unix::fs::chown(&dir, Some(user.uid), Some(user.gid)).map_err(|e| {
                PgServerError(format!("cannot give {} to uid {}: {e}", dir.display(), user.uid))
            })?;
        }
        let data = dir.join("data");
        let out = command(&bin, "initdb", run_as.as_ref(), false)
            .current_dir(&dir)
            .args(["-D".as_ref(), data.as_os_str()])
            .args(["-U", "sonde", "--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions"])
            .output()
            .map_err(|e| PgServerError(format!("cannot run initdb: {e}")))?;
        if !out.status.success() {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(PgServerError(format!(
                "initdb failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        let child = command(&bin, "postgres", run_as.as_ref(), tied_to_process)
            .current_dir(&dir)
            .args(["-D".as_ref(), data.as_os_str()])
            .args(["-k".as_ref(), dir.as_os_str()])
            // No TCP at all: the unix socket in the folder is the only way in.
            .args(["-c", "listen_addresses=", "-p", "5432"])
            // A throwaway server: durability only costs test time.
            .args(["-c", "fsync=off", "-c", "synchronous_commit=off"])
            .args(["-c", "full_page_writes=off", "-c", "max_connections=200"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| PgServerError(format!("cannot run postgres: {e}")))?;
        let admin_url =
            format!("postgres://sonde@localhost/postgres?host={}&port=5432", dir.display());
        let server = Self { admin_url, child: Some(child), dir: Some(dir), bin, run_as };
        server.wait_ready()?;
        Ok(server)
    }

    /// URL of the `postgres` database as the superuser.
    pub fn admin_url(&self) -> &str {
        &self.admin_url
    }

    /// Creates an empty database and returns its URL.
    pub async fn fresh_database(&self) -> Result<String, PgServerError> {
        let name = format!("sonde_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        let mut conn = sqlx::PgConnection::connect(&self.admin_url)
            .await
            .map_err(|e| PgServerError(format!("cannot connect to {}: {e}", self.admin_url)))?;
        conn.execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .map_err(|e| PgServerError(format!("cannot create database {name}: {e}")))?;
        let _ = conn.close().await;
        Ok(replace_database(&self.admin_url, &name))
    }

    fn wait_ready(&self) -> Result<(), PgServerError> {
        let dir = self.dir.as_deref().unwrap_or(Path::new("/tmp"));
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready = Command::new(self.bin.join("pg_isready"))
                .args(["-q", "-p", "5432", "-h"])
                .arg(dir)
                .status()
                .is_ok_and(|s| s.success());
            if ready {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(PgServerError("postgres did not accept connections in 30 s".into()));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        let (Some(mut child), Some(dir)) = (self.child.take(), self.dir.take()) else {
            return;
        };
        let stopped = command(&self.bin, "pg_ctl", self.run_as.as_ref(), false)
            .current_dir(&dir)
            .args(["stop", "-m", "fast", "-w", "-D"])
            .arg(dir.join("data"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !stopped {
            let _ = child.kill();
        }
        let _ = child.wait();
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// Numbers folders and databases within this process.
static NEXT: AtomicU32 = AtomicU32::new(0);

/// `program` from PostgreSQL's `bin` folder, run as `user` when there is one.
fn command(bin: &Path, program: &str, user: Option<&User>, tied: bool) -> Command {
    let program = bin.join(program);
    if user.is_none() && !tied {
        return Command::new(program);
    }
    let mut c = Command::new("setpriv");
    if let Some(u) = user {
        c.arg(format!("--reuid={}", u.uid)).arg(format!("--regid={}", u.gid)).arg("--clear-groups");
    }
    if tied {
        c.arg("--pdeathsig=INT");
    }
    c.arg("--").arg(program);
    c
}

/// The newest `/usr/lib/postgresql/N/bin` (Debian's layout), or the folder of `pg_ctl` on the
/// PATH.
fn find_bin_dir() -> Result<PathBuf, PgServerError> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((v, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Ok(bin);
    }
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .find(|d| d.join("initdb").exists() && d.join("postgres").exists())
        .ok_or_else(|| {
            PgServerError(
                "initdb and postgres not found: install Debian's `postgresql` package \
                 (.ci/run does), or set SONDE_TEST_DATABASE_URL to a server"
                    .into(),
            )
        })
}

fn running_as_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

fn nobody() -> Result<User, PgServerError> {
    let id = |flag: &str| -> Result<u32, PgServerError> {
        let out = Command::new("id")
            .args([flag, "nobody"])
            .output()
            .map_err(|e| PgServerError(format!("cannot run id: {e}")))?;
        String::from_utf8_lossy(&out.stdout).trim().parse().map_err(|_| {
            PgServerError("no `nobody` account to run PostgreSQL as (it refuses root)".into())
        })
    };
    Ok(User { uid: id("-u")?, gid: id("-g")? })
}

/// Removes the folders of servers whose process is gone (a shared server is never dropped).
fn remove_stale_folders() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix("sonde-pg-")) else {
            continue;
        };
        let Some(pid) = rest.split('-').next() else { continue };
        if !Path::new("/proc").join(pid).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// `url` with its database path replaced by `name`.
fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[scheme_end..].find('/').map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{name}", &base[..host_end]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_names_are_replaced() {
        assert_eq!(
            replace_database("postgres://u@localhost/postgres?host=/t&port=1", "x"),
            "postgres://u@localhost/x?host=/t&port=1"
        );
        assert_eq!(replace_database("postgres://u:p@h:5/db", "x"), "postgres://u:p@h:5/x");
        assert_eq!(replace_database("postgres://h", "x"), "postgres://h/x");
    }
}
