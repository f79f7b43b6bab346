//! `sonde export`: a stored scan as JSON, CSV or Nmap XML, read from the data directory (a
//! running `sonde serve` may hold it: reads do not need its lock).

use std::io::Write;

use sonde_web::api::ExportFormat;

use crate::cli::{ExportArgs, ExportFormatArg};
use crate::config::Overrides;
use crate::error::UsageError;
use crate::store::Store;

/// Runs `sonde export`.
pub fn run(args: &ExportArgs) -> anyhow::Result<()> {
    let settings = super::serve::load_settings(
        args.config.as_deref(),
        &Overrides { data_dir: args.data_dir.clone(), ..Overrides::default() },
    )?;
    if !settings.data_dir.join(crate::store::DATABASE_FILE).exists() {
        return Err(UsageError::new(format!(
            "no store in {}: give the data directory of the appliance with --data-dir",
            settings.data_dir.display()
        ))
        .into());
    }
    let format = match args.format {
        ExportFormatArg::Json => ExportFormat::Json,
        ExportFormatArg::Csv => ExportFormat::Csv,
        ExportFormatArg::NmapXml => ExportFormat::NmapXml,
    };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let found = runtime.block_on(async {
        let store =
            Store::open_configured(settings.database_url.as_deref(), &settings.data_dir).await?;
        let found = store.scan_export(args.scan).await;
        store.close().await;
        found
    })?;
    let Some((export, times)) = found else {
        return Err(UsageError::new(format!(
            "no scan {} in {}; `GET /api/v1/scans` lists them",
            args.scan,
            settings.data_dir.display()
        ))
        .into());
    };
    let bytes = crate::export::render(format, &export, times)?;
    match &args.output {
        Some(path) => std::fs::write(path, &bytes)
            .map_err(|e| UsageError::new(format!("cannot write {}: {e}", path.display())))?,
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(&bytes)?;
            stdout.flush()?;
        }
    }
    Ok(())
}
