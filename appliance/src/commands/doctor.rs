//! `sonde doctor`: what this machine lets Sonde do, one line per check with what to do.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::cli::DoctorArgs;
use crate::config::Overrides;

/// Open files the default connect concurrency (1024) needs, with headroom.
const WANTED_OPEN_FILES: u64 = 1024 + 256;

/// How one check went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Usable.
    Ok,
    /// Sonde works, but slower or with less: the line says what to change.
    Warn,
    /// Sonde cannot work this way until the operator fixes it.
    Fail,
}

/// The result of one check: a line of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// How it went.
    pub status: Status,
    /// What was checked.
    pub name: &'static str,
    /// What was found and, unless all is well, what to do.
    pub detail: String,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `pad`, so that `{:<4}` lines the names up.
        f.pad(match self {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Fail => "fail",
        })
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:<4} {}: {}", self.status, self.name, self.detail)
    }
}

impl Check {
    fn new(status: Status, name: &'static str, detail: impl Into<String>) -> Self {
        Self { status, name, detail: detail.into() }
    }
}

/// Runs every check and prints one line each; exits 1 when one fails, 0 otherwise.
pub fn run(args: &DoctorArgs) -> anyhow::Result<i32> {
    let checks = [
        raw_sockets(),
        io_uring(),
        open_files(),
        default_route(&read_or_empty("/proc/net/route")),
        data_dir(args),
    ];
    for check in &checks {
        println!("{check}");
    }
    Ok(if checks.iter().any(|c| c.status == Status::Fail) { 1 } else { 0 })
}

fn raw_sockets() -> Check {
    const NAME: &str = "raw sockets";
    match sonde_scanner::check_raw_sockets() {
        Ok(()) => Check::new(Status::Ok, NAME, "an AF_PACKET socket opens: the syn engine can run"),
        Err(why) => {
            Check::new(Status::Warn, NAME, format!("{why}; scans fall back to the connect engine"))
        }
    }
}

fn io_uring() -> Check {
    const NAME: &str = "io_uring";
    let allow = "allow it with sysctl kernel.io_uring_disabled=0 or in the sandbox's seccomp \
                 profile";
    match sonde_scanner::check_io_uring_connect() {
        Ok(()) => Check::new(
            Status::Ok,
            NAME,
            "connects, linked timeouts and cancels are supported: the connect engine uses \
             io_uring (--connect-backend auto)",
        ),
        Err(error) => Check::new(
            Status::Warn,
            NAME,
            format!("{error}; the connect engine runs on epoll instead ({allow})"),
        ),
    }
}

fn open_files() -> Check {
    const NAME: &str = "open-file limit";
    match rlimit::getrlimit(rlimit::Resource::NOFILE) {
        Ok((soft, _)) if soft >= WANTED_OPEN_FILES => {
            Check::new(Status::Ok, NAME, format!("{soft} descriptors"))
        }
        Ok((soft, hard)) if hard >= WANTED_OPEN_FILES => Check::new(
            Status::Ok,
            NAME,
            format!(
                "{soft} descriptors, raised toward {WANTED_OPEN_FILES} at scan start (hard limit {hard})"
            ),
        ),
        Ok((soft, hard)) => Check::new(
            Status::Warn,
            NAME,
            format!(
                "{soft} descriptors (hard limit {hard}), below the {WANTED_OPEN_FILES} the \
                 default --concurrency needs: raise LimitNOFILE= or `ulimit -Hn`, or lower \
                 --concurrency"
            ),
        ),
        Err(error) => Check::new(Status::Warn, NAME, format!("cannot read it: {error}")),
    }
}

/// Finds the default route in the text of `/proc/net/route`.
fn default_route(table: &str) -> Check {
    const NAME: &str = "default route";
    let interface = table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        // Iface, Destination, Gateway, Flags, RefCnt, Use, Metric, Mask...
        (fields.len() >= 8 && fields[1] == "00000000" && fields[7] == "00000000")
            .then(|| fields[0].to_string())
    });
    match interface {
        Some(name) => Check::new(Status::Ok, NAME, format!("via interface {name}")),
        None => Check::new(
            Status::Warn,
            NAME,
            "none found: only on-link targets can be scanned with the syn engine; add a \
             route or pass --interface, --source-ip and --router-mac",
        ),
    }
}

fn data_dir(args: &DoctorArgs) -> Check {
    const NAME: &str = "data directory";
    let overrides = Overrides { data_dir: args.data_dir.clone(), ..Overrides::default() };
    let settings = match super::serve::load_settings(args.config.as_deref(), &overrides) {
        Ok(settings) => settings,
        Err(error) => {
            return Check::new(
                Status::Fail,
                NAME,
                format!("the configuration does not load: {}", crate::error::one_line(&error)),
            );
        }
    };
    writable(&settings.data_dir)
}

/// Whether `dir`, or the nearest existing directory above it, takes a new file.
fn writable(dir: &Path) -> Check {
    const NAME: &str = "data directory";
    let existing: PathBuf =
        dir.ancestors().find(|a| a.exists()).map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    if !existing.is_dir() {
        return Check::new(
            Status::Fail,
            NAME,
            format!(
                "{} is in the way of {}: it is not a directory; choose another with --data-dir",
                existing.display(),
                dir.display()
            ),
        );
    }
    let probe = existing.join(format!(".sonde-doctor-{}", std::process::id()));
    let result = std::fs::write(&probe, b"");
    let _ = std::fs::remove_file(&probe);
    match result {
        Ok(()) if existing == dir => {
            Check::new(Status::Ok, NAME, format!("{} is writable", dir.display()))
        }
        Ok(()) => Check::new(
            Status::Ok,
            NAME,
            format!("{} will be created in {}", dir.display(), existing.display()),
        ),
        Err(error) => Check::new(
            Status::Fail,
            NAME,
            format!(
                "{} is not writable ({error}): fix its owner or choose another with --data-dir",
                existing.display()
            ),
        ),
    }
}

fn read_or_empty(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_route_is_read_from_the_table() {
        let table = "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\n\
                     eth1\t0002000A\t00000000\t0001\t0\t0\t0\t00FFFFFF\n\
                     eth0\t00000000\t0102000A\t0003\t0\t0\t0\t00000000\n";
        assert_eq!(default_route(table).detail, "via interface eth0");
        assert_eq!(default_route(table).status, Status::Ok);
        assert_eq!(default_route("Iface\tDestination\n").status, Status::Warn);
    }

    #[test]
    fn data_directories_are_probed() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(writable(dir.path()).status, Status::Ok);
        let later = writable(&dir.path().join("a/b"));
        assert_eq!(later.status, Status::Ok);
        assert!(later.detail.contains("will be created"), "{}", later.detail);
        let file = dir.path().join("file");
        std::fs::write(&file, "").unwrap();
        assert_eq!(writable(&file.join("sub")).status, Status::Fail);
        std::fs::remove_file(&file).unwrap();
        // Nothing is left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn lines_read_status_name_detail() {
        let line = Check::new(Status::Warn, "io_uring", "off").to_string();
        assert_eq!(line, "warn io_uring: off");
        assert_eq!(Check::new(Status::Ok, "x", "y").to_string(), "ok   x: y");
    }
}
