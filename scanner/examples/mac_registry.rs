//! Regenerates `scanner/src/mac/registry.rs` from the IEEE registries as Debian's
//! `ieee-data` package installs them:
//!
//! ```text
//! apt-get install ieee-data
//! cargo run -p sonde-scanner --example mac_registry -- /usr/share/ieee-data \
//!     scanner/src/mac/registry.rs
//! ```
//!
//! It reads `oui.csv` (MA-L), `mam.csv` (MA-M), `oui36.csv` (MA-S) and `iab.csv` (IAB), and
//! replaces the output file only once the new table is complete (a shell redirection would
//! empty it first, and the crate that holds the generator could no longer build).

use std::path::Path;
use std::process::ExitCode;

use sonde_scanner::{MacAssignment, render_mac_registry};

const FILES: [&str; 4] = ["oui.csv", "mam.csv", "oui36.csv", "iab.csv"];

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (Some(dir), Some(out)) = (args.next(), args.next()) else {
        eprintln!("usage: mac_registry IEEE_DATA_DIR OUTPUT_FILE");
        return ExitCode::FAILURE;
    };
    let written = generate(Path::new(&dir)).and_then(|text| {
        let temporary = format!("{out}.new");
        std::fs::write(&temporary, text)
            .and_then(|()| std::fs::rename(&temporary, &out))
            .map_err(|e| format!("cannot write {out}: {e}"))
    });
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("mac_registry: {message}");
            ExitCode::FAILURE
        }
    }
}

fn generate(dir: &Path) -> Result<String, String> {
    let mut assignments = Vec::new();
    for file in FILES {
        let path = dir.join(file);
        let mut reader = csv::Reader::from_path(&path).map_err(|e| {
            format!("cannot read {}: {e} (install Debian's ieee-data package)", path.display())
        })?;
        for (line, record) in reader.records().enumerate() {
            let record = record.map_err(|e| format!("{}: {e}", path.display()))?;
            let (Some(assignment), Some(organisation)) = (record.get(1), record.get(2)) else {
                return Err(format!("{}: record {} has too few columns", path.display(), line + 2));
            };
            assignments.push(
                MacAssignment::parse(assignment, organisation)
                    .map_err(|e| format!("{}: record {}: {e}", path.display(), line + 2))?,
            );
        }
    }
    let updated = std::fs::read_to_string(dir.join(".lastupdate")).unwrap_or_default();
    let source = match updated.trim() {
        "" => format!("{} in {}", FILES.join(", "), dir.display()),
        stamp => {
            format!("{} in {} (ieee-data, updated at {stamp})", FILES.join(", "), dir.display())
        }
    };
    Ok(render_mac_registry(&assignments, &source))
}
