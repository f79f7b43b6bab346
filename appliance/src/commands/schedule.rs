//! `sonde schedule`: recurring scans, written to the data directory. A running `sonde serve`
//! reads the schedules every few seconds, so it picks changes up without a restart.

use sonde_web::api::ScheduleRequest;

use crate::cli::{ScheduleAddArgs, ScheduleCommand};
use crate::config::Overrides;
use crate::error::UsageError;
use crate::schedule::spec;
use crate::store::Store;

/// Runs a schedule subcommand.
pub fn run(command: &ScheduleCommand) -> anyhow::Result<()> {
    let store_args = match command {
        ScheduleCommand::List(a) => a,
        ScheduleCommand::Add(a) => &a.store,
        ScheduleCommand::Rm(a) => &a.store,
    };
    let settings = super::serve::load_settings(
        store_args.config.as_deref(),
        &Overrides { data_dir: store_args.data_dir.clone(), ..Overrides::default() },
    )?;
    crate::data_dir::prepare(&settings.data_dir)?;
    // Validation may resolve hostnames; it runs before the runtime starts.
    let new_row = match command {
        ScheduleCommand::Add(args) => {
            let row = spec::from_request(request(args));
            spec::validate(&row).map_err(|e| UsageError::new(e.to_string()))?;
            Some(row)
        }
        _ => None,
    };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let store =
            Store::open_configured(settings.database_url.as_deref(), &settings.data_dir).await?;
        let result = match command {
            ScheduleCommand::List(_) => list(&store).await,
            ScheduleCommand::Add(_) => match &new_row {
                Some(row) => {
                    let id = store.insert_schedule(row).await?;
                    println!("Added schedule {id} `{}`.", row.name);
                    Ok(())
                }
                None => Ok(()),
            },
            ScheduleCommand::Rm(args) => {
                if store.delete_schedule(args.id).await? {
                    println!("Removed schedule {}.", args.id);
                    Ok(())
                } else {
                    Err(UsageError::new(format!(
                        "no schedule {}; `sonde schedule list` shows them",
                        args.id
                    ))
                    .into())
                }
            }
        };
        store.close().await;
        result
    })
}

fn request(args: &ScheduleAddArgs) -> ScheduleRequest {
    ScheduleRequest {
        name: args.name.clone(),
        targets: args.targets.clone(),
        exclude: args.exclude.clone(),
        ports: args.ports.clone(),
        udp_ports: args.udp_ports.clone(),
        rate: args.rate,
        cron: args.cron.clone(),
        every_hours: args.every_hours,
        timezone: Some(args.timezone.clone()),
        enabled: Some(true),
    }
}

async fn list(store: &Store) -> anyhow::Result<()> {
    let rows = store.schedules().await?;
    if rows.is_empty() {
        println!("No schedules. Add one with `sonde schedule add`.");
        return Ok(());
    }
    println!("{:>4}  {:<20}  {:<28}  {:<20}  TARGETS", "ID", "NAME", "RULE", "NEXT RUN (UTC)");
    for row in &rows {
        let view = spec::view(row);
        let rule = match (&view.cron, view.every_hours) {
            (Some(cron), _) => format!("{cron} ({})", view.timezone),
            (None, Some(hours)) => format!("every {hours} h"),
            (None, None) => "-".to_owned(),
        };
        let next = if view.enabled {
            view.next_run_at.unwrap_or_else(|| "never".into())
        } else {
            "paused".into()
        };
        println!(
            "{:>4}  {:<20}  {:<28}  {:<20}  {}",
            view.id,
            view.name.escape_debug().to_string(),
            rule,
            next,
            view.targets.join(" ")
        );
    }
    Ok(())
}
