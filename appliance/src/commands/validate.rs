//! `sonde validate`: check a config file without starting anything.

use crate::cli::ValidateArgs;
use crate::config::{Config, Overrides};

/// Parses and validates the file and compiles the signature directories it names; prints a
/// one-line verdict.
pub fn run(args: &ValidateArgs) -> anyhow::Result<()> {
    let settings = Config::load(&args.config)?.validate(&Overrides::default())?;
    let identifier = crate::signature_dirs::identifier(&settings.signatures_dirs)?;
    println!(
        "{}: valid (listen {}, data dir {}, {} signatures, {} Recog pattern(s) untranslatable)",
        args.config.display(),
        settings.listen,
        settings.data_dir.display(),
        identifier.signatures().len(),
        identifier.signatures().untranslatable().len()
    );
    Ok(())
}
