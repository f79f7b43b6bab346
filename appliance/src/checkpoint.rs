//! The resume file of `sonde scan --resume FILE`: which scan it belongs to and the plan index
//! below which every pair is settled, saved atomically (a temporary file renamed over it).
//!
//! Resuming is at-least-once: open ports found after the last save and before a kill are
//! reported again by the resumed run, never lost.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sonde_scanner::ScanPlan;

use crate::error::UsageError;

/// Version of the file format; a file of another version is refused.
const FORMAT: u32 = 1;

/// What makes two runs the same scan: the same pairs in the same order, the same shard and
/// the same engine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScanIdentity {
    /// Seed of the probe order.
    pub seed: u64,
    /// SHA-256 of the targets after exclusions, the ports, the shard and the engine.
    pub fingerprint: String,
    /// Ports in canonical form, for people reading the file.
    pub ports: String,
    /// Addresses after exclusions.
    pub addresses: u64,
    /// `I/N`.
    pub shard: String,
    /// `connect` or `syn`.
    pub engine: String,
}

/// One saved position of a scan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    /// File format version.
    pub format: u32,
    /// The scan this position belongs to.
    pub scan: ScanIdentity,
    /// Every pair of the shard below this plan index is settled.
    pub settled_below: u64,
}

impl ScanIdentity {
    /// The identity of `plan` run as shard `shard` (`(I, N)`) by `engine`.
    pub fn new(plan: &ScanPlan, shard: (u64, u64), engine: &str) -> Self {
        let shard = format!("{}/{}", shard.0, shard.1);
        let ports = plan.ports().to_spec();
        let mut hash = Sha256::new();
        for range in plan.targets().ranges() {
            hash.update(format!("{}-{},", range.first, range.last));
        }
        hash.update(format!(";ports={ports};shard={shard};engine={engine}"));
        let fingerprint = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
        Self {
            seed: plan.seed(),
            fingerprint,
            ports,
            addresses: plan.targets().len(),
            shard,
            engine: engine.to_string(),
        }
    }
}

impl Checkpoint {
    /// A position of `scan`.
    pub fn new(scan: ScanIdentity, settled_below: u64) -> Self {
        Self { format: FORMAT, scan, settled_below }
    }

    /// Reads `path`; `None` when there is no such file (a scan that starts afresh).
    pub fn load(path: &Path) -> Result<Option<Self>, UsageError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(UsageError::new(format!(
                    "cannot read the resume file {}: {e}",
                    path.display()
                )));
            }
        };
        let checkpoint: Self = serde_json::from_str(&text).map_err(|e| {
            UsageError::new(format!(
                "{} is not a sonde resume file ({e}): remove it or name another file",
                path.display()
            ))
        })?;
        if checkpoint.format != FORMAT {
            return Err(UsageError::new(format!(
                "{} has resume format {}, this sonde reads {FORMAT}: remove it to start afresh",
                path.display(),
                checkpoint.format
            )));
        }
        Ok(Some(checkpoint))
    }

    /// Refuses a checkpoint of another scan, naming what differs.
    pub fn check(&self, path: &Path, scan: &ScanIdentity) -> Result<(), UsageError> {
        let saved = &self.scan;
        let differs = if saved.seed != scan.seed {
            format!("seed {} instead of {}", saved.seed, scan.seed)
        } else if saved.engine != scan.engine {
            format!("engine {} instead of {}", saved.engine, scan.engine)
        } else if saved.shard != scan.shard {
            format!("shard {} instead of {}", saved.shard, scan.shard)
        } else if saved.ports != scan.ports {
            format!("ports {} instead of {}", saved.ports, scan.ports)
        } else if saved.fingerprint != scan.fingerprint {
            "other targets or exclusions".to_string()
        } else {
            return Ok(());
        };
        Err(UsageError::new(format!(
            "the resume file {} belongs to another scan ({differs}): run the same command \
             as the scan that wrote it, or name another file",
            path.display()
        )))
    }

    /// Writes the checkpoint to `path` atomically: to a temporary file beside it, synced,
    /// then renamed over `path`, so a kill at any moment leaves the old or the new position.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let temp = temp_path(path);
        let mut file = std::fs::File::create(&temp)?;
        serde_json::to_writer_pretty(&mut file, self)?;
        file.write_all(b"\n")?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&temp, path)
    }
}

/// `dir/.name.tmp` for `dir/name`: the same directory, so the rename stays atomic.
fn temp_path(path: &Path) -> PathBuf {
    let name = path.file_name().map_or_else(|| "resume".into(), |n| n.to_string_lossy());
    path.with_file_name(format!(".{name}.tmp"))
}

#[cfg(test)]
mod tests {
    use sonde_scanner::{PortList, TargetSet};

    use super::*;

    fn plan(targets: &str, ports: &str, seed: u64) -> ScanPlan {
        let targets = TargetSet::parse(&[targets.to_string()]).unwrap();
        ScanPlan::new(targets, PortList::parse(ports).unwrap(), seed)
    }

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("scan.resume");
        assert_eq!(Checkpoint::load(&path).unwrap(), None);
        let id = ScanIdentity::new(&plan("127.0.0.0/30", "22,80", 5), (2, 3), "connect");
        let checkpoint = Checkpoint::new(id.clone(), 42);
        checkpoint.save(&path).unwrap();
        let loaded = Checkpoint::load(&path).unwrap().unwrap();
        assert_eq!(loaded, checkpoint);
        loaded.check(&path, &id).unwrap();
    }

    #[test]
    fn another_scan_is_refused() {
        let path = Path::new("scan.resume");
        let id = |targets, ports, seed, shard, engine| {
            ScanIdentity::new(&plan(targets, ports, seed), shard, engine)
        };
        let saved = Checkpoint::new(id("127.0.0.0/30", "22,80", 5, (1, 1), "connect"), 3);
        let cases = [
            (id("127.0.0.0/30", "22,80", 6, (1, 1), "connect"), "seed"),
            (id("127.0.0.0/30", "22,80", 5, (1, 1), "syn"), "engine"),
            (id("127.0.0.0/30", "22,80", 5, (1, 2), "connect"), "shard"),
            (id("127.0.0.0/30", "22", 5, (1, 1), "connect"), "ports"),
            (id("127.0.0.0/29", "22,80", 5, (1, 1), "connect"), "targets"),
        ];
        for (other, word) in cases {
            let message = saved.check(path, &other).unwrap_err().to_string();
            assert!(message.contains(word) && message.contains("another scan"), "{message}");
        }
    }

    #[test]
    fn a_damaged_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("scan.resume");
        std::fs::write(&path, "{\"format\": 1").unwrap();
        let message = Checkpoint::load(&path).unwrap_err().to_string();
        assert!(message.contains("not a sonde resume file"), "{message}");
    }

    #[test]
    fn saving_replaces_the_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("scan.resume");
        let id = ScanIdentity::new(&plan("127.0.0.1", "22", 1), (1, 1), "connect");
        Checkpoint::new(id.clone(), 1).save(&path).unwrap();
        // A temporary left by a save that was killed half-way is simply overwritten.
        std::fs::write(temp_path(&path), "half").unwrap();
        Checkpoint::new(id, 2).save(&path).unwrap();
        assert_eq!(Checkpoint::load(&path).unwrap().unwrap().settled_below, 2);
        let names: Vec<_> =
            std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, ["scan.resume"]);
    }
}
