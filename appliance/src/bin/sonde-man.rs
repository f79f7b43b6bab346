//! `sonde-man DIR`: writes the man pages of `sonde` into DIR: `sonde.1` and one page per
//! subcommand (`sonde-scan.1`...). The packages ship them; generating them from the same
//! clap definitions as the binary keeps the pages and `--help` from drifting apart.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

use clap::CommandFactory;

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let (Some(dir), None) = (args.next(), args.next()) else {
        eprintln!("usage: sonde-man DIR (writes sonde.1 and sonde-SUBCOMMAND.1 into DIR)");
        return ExitCode::from(2);
    };
    let dir = PathBuf::from(dir);
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("sonde-man: cannot create {}: {e}", dir.display());
        return ExitCode::FAILURE;
    }
    match clap_mangen::generate_to(sonde::cli::Cli::command(), &dir) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sonde-man: cannot write the man pages into {}: {e}", dir.display());
            ExitCode::FAILURE
        }
    }
}
