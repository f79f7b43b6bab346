//! `sonde validate`: check a config file without starting anything.

use crate::cli::ValidateArgs;
use crate::config::{Config, Overrides};

/// Parses and validates the file; prints a one-line verdict.
pub fn run(args: &ValidateArgs) -> anyhow::Result<()> {
    let settings = Config::load(&args.config)?.validate(&Overrides::default())?;
    println!(
        "{}: valid (listen {}, data dir {})",
        args.config.display(),
        settings.listen,
        settings.data_dir.display()
    );
    Ok(())
}
