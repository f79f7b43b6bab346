//! `sonde export`: a stored scan, or the hosts a query matches, as JSON, CSV or Nmap XML, read
//! from the store of the data directory, or the configured `database_url` (a running `sonde
//! serve` may hold it: reads do not need its lock).

use std::io::Write;

use sonde_web::api::{ExportFormat, HostExportQuery};

use crate::cli::{ExportArgs, ExportFormatArg};
use crate::config::Overrides;
use crate::error::UsageError;
use crate::store::{HostFilter, Store};

/// Runs `sonde export`.
pub fn run(args: &ExportArgs) -> anyhow::Result<()> {
    let settings = super::serve::load_settings(
        args.config.as_deref(),
        &Overrides { data_dir: args.data_dir.clone(), ..Overrides::default() },
    )?;
    // The SQLite file must already be there (an export never creates a store); a PostgreSQL
    // store is checked by connecting to it.
    if settings.database_url.is_none()
        && !settings.data_dir.join(crate::store::DATABASE_FILE).exists()
    {
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
    let bytes = match (&args.query, args.scan) {
        (Some(query), _) => {
            let query = parse_query(query, format)?;
            let filter = HostFilter {
                range: query
                    .subnet
                    .as_deref()
                    .map(crate::backend::parse_subnet)
                    .transpose()
                    .map_err(|e| UsageError::new(format!("--query: {e}")))?,
                port: query.port,
                service: query.service.clone(),
                product: query.product.clone(),
                text: query.q.clone(),
            };
            let export = runtime.block_on(async {
                let store =
                    Store::open_configured(settings.database_url.as_deref(), &settings.data_dir)
                        .await?;
                let export = crate::export::query_export(&store, &filter, query.filter()).await;
                store.close().await;
                export
            })?;
            crate::export::render_query(format, &export, crate::export::query_times())?
        }
        (None, Some(scan)) => {
            let found = runtime.block_on(async {
                let store =
                    Store::open_configured(settings.database_url.as_deref(), &settings.data_dir)
                        .await?;
                let found = store.scan_export(scan).await;
                store.close().await;
                found
            })?;
            let Some((export, times)) = found else {
                return Err(UsageError::new(format!(
                    "no scan {scan} in {}; `GET /api/v1/scans` lists them",
                    settings.data_dir.display()
                ))
                .into());
            };
            crate::export::render(format, &export, times)?
        }
        // clap requires one of them.
        (None, None) => {
            return Err(UsageError::new("give --scan ID or --query FILTERS").into());
        }
    };
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

/// Parses `subnet=10.0.0.0/24&port=22` into the hosts API's filters.
fn parse_query(text: &str, format: ExportFormat) -> Result<HostExportQuery, UsageError> {
    let mut query =
        HostExportQuery { format, subnet: None, port: None, service: None, product: None, q: None };
    for pair in text.split('&').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((key, value)) = pair.split_once('=') else {
            return Err(UsageError::new(format!(
                "--query: `{pair}` is not key=value; e.g. --query 'subnet=10.0.0.0/24&port=22'"
            )));
        };
        let value = Some(value.trim().to_owned()).filter(|v| !v.is_empty());
        match key.trim() {
            "subnet" => query.subnet = value,
            "port" => {
                query.port = value
                    .map(|v| v.parse::<u16>().ok().filter(|p| *p > 0).ok_or(v))
                    .transpose()
                    .map_err(|v| {
                        UsageError::new(format!("--query: port `{v}` is not a port in 1..=65535"))
                    })?;
            }
            "service" => query.service = value,
            "product" => query.product = value,
            "q" => query.q = value,
            other => {
                return Err(UsageError::new(format!(
                    "--query: unknown filter `{other}`; use subnet, port, service, product or q"
                )));
            }
        }
    }
    Ok(query)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_parse_or_say_why() {
        let q = parse_query("subnet=10.0.0.0/24&port=22&q=open ssh", ExportFormat::Csv).unwrap();
        assert_eq!(q.subnet.as_deref(), Some("10.0.0.0/24"));
        assert_eq!((q.port, q.q.as_deref()), (Some(22), Some("open ssh")));
        assert_eq!(parse_query("", ExportFormat::Json).unwrap().filter(), Default::default());
        for (bad, says) in [
            ("port=0", "1..=65535"),
            ("port=ssh", "port `ssh`"),
            ("color=red", "unknown filter"),
            ("subnet", "key=value"),
        ] {
            let err = parse_query(bad, ExportFormat::Json).unwrap_err().to_string();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }
}
