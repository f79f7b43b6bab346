//! The data directory: created if needed, and held by one `sonde serve` at a time.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::error::UsageError;

/// Name of the lock file inside the data directory.
const LOCK_FILE: &str = "sonde.lock";

/// Exclusive use of a data directory until dropped (the OS releases the lock even when the
/// process is killed).
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
    path: PathBuf,
}

impl DataDirLock {
    /// The locked directory.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Creates `dir` when missing and checks it can be written.
pub fn prepare(dir: &Path) -> Result<(), UsageError> {
    std::fs::create_dir_all(dir).map_err(|e| {
        UsageError::new(format!(
            "cannot create the data directory {}: {e}; choose a writable one with --data-dir",
            dir.display()
        ))
    })
}

/// Creates `dir` if needed and locks it, or says who holds it.
pub fn lock(dir: &Path) -> Result<DataDirLock, UsageError> {
    prepare(dir)?;
    let path = dir.join(LOCK_FILE);
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| {
            UsageError::new(format!(
                "cannot write in the data directory {}: {e}; choose a writable one with --data-dir",
                dir.display()
            ))
        })?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim();
            let who = if holder.is_empty() { String::new() } else { format!(" (pid {holder})") };
            return Err(UsageError::new(format!(
                "another sonde serve{who} is already using {}; stop it or choose another --data-dir",
                dir.display()
            )));
        }
        Err(TryLockError::Error(e)) => {
            return Err(UsageError::new(format!("cannot lock {}: {e}", path.display())));
        }
    }
    // The pid is only a hint for the message above; a failure to write it changes nothing.
    let _ = file
        .set_len(0)
        .and_then(|()| file.seek(SeekFrom::Start(0)))
        .and_then(|_| write!(file, "{}", std::process::id()));
    Ok(DataDirLock { _file: file, path: dir.to_path_buf() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_with_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let first = lock(dir.path()).unwrap();
        let err = lock(dir.path()).unwrap_err().to_string();
        assert!(err.contains("already using"), "{err}");
        assert!(err.contains(&format!("pid {}", std::process::id())), "{err}");
        drop(first);
        lock(dir.path()).unwrap();
    }

    #[test]
    fn an_unwritable_directory_is_a_usage_error() {
        let err = lock(Path::new("/proc/sonde-cannot-exist")).unwrap_err().to_string();
        assert!(err.contains("--data-dir"), "{err}");
    }
}
