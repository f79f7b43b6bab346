//! `sonde db`: migrating a store, copying an installation to another database.

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::{DbCommand, DbCopyArgs, DbMigrateArgs};
use crate::config::Overrides;
use crate::store::{Backend, Store, redact};

/// Runs a db subcommand.
pub fn run(command: &DbCommand) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    match command {
        DbCommand::Migrate(args) => runtime.block_on(migrate(args)),
        DbCommand::Copy(args) => runtime.block_on(copy(args)),
    }
}

async fn migrate(args: &DbMigrateArgs) -> anyhow::Result<()> {
    let url = match &args.database_url {
        Some(url) => url.clone(),
        None => {
            let settings = super::serve::load_settings(
                args.config.as_deref(),
                &Overrides { data_dir: args.data_dir.clone(), ..Overrides::default() },
            )?;
            match settings.database_url {
                Some(url) => url,
                None => {
                    crate::data_dir::prepare(&settings.data_dir)?;
                    crate::store::sqlite_url(&settings.data_dir.join(crate::store::DATABASE_FILE))
                }
            }
        }
    };
    check_url(&url)?;
    let store =
        Store::connect(&url).await.with_context(|| format!("migrating {}", redact(&url)))?;
    store.close().await;
    println!("{} is up to date.", redact(&url));
    Ok(())
}

async fn copy(args: &DbCopyArgs) -> anyhow::Result<()> {
    check_url(&args.from)?;
    check_url(&args.to)?;
    if args.batch == 0 {
        return Err(crate::error::UsageError::new("--batch must be at least 1 row").into());
    }
    let source = Store::connect(&args.from)
        .await
        .with_context(|| format!("opening the source {}", redact(&args.from)))?;
    let dest = Store::connect(&args.to)
        .await
        .with_context(|| format!("opening the destination {}", redact(&args.to)))?;
    let total: u64 = source.row_counts().await?.iter().map(|(_, n)| n).sum();
    let bar = ProgressBar::new(total).with_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} rows ({per_sec}, {eta} left)")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let copied = source.copy_to(&dest, args.batch, args.force, &|n| bar.set_position(n)).await;
    bar.finish_and_clear();
    let summary = copied
        .with_context(|| format!("copying {} to {}", redact(&args.from), redact(&args.to)))?;
    source.close().await;
    dest.close().await;
    for t in &summary {
        println!("{:<14} {:>10} rows  sha256 {}", t.table, t.rows, t.checksum);
    }
    println!("Copied and checked: both stores hold the same rows.");
    Ok(())
}

/// A URL the store understands, or a usage error (exit 2) saying which ones it does.
fn check_url(url: &str) -> anyhow::Result<()> {
    Backend::of_url(url).map_err(|e| crate::error::UsageError::new(e.to_string()))?;
    Ok(())
}
