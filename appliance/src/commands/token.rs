//! `sonde token`: API tokens.

use crate::cli::{TokenCommand, TokenCreateArgs};
use crate::config::Overrides;
use crate::store::Store;

/// Runs a token subcommand.
pub fn run(command: &TokenCommand) -> anyhow::Result<()> {
    match command {
        TokenCommand::Create(args) => create(args),
    }
}

fn create(args: &TokenCreateArgs) -> anyhow::Result<()> {
    let name = args.name.trim();
    if name.is_empty() || name.len() > 100 {
        return Err(crate::error::UsageError::new("--name must be 1 to 100 characters").into());
    }
    let settings = super::serve::load_settings(
        args.config.as_deref(),
        &Overrides { data_dir: args.data_dir.clone(), ..Overrides::default() },
    )?;
    crate::data_dir::prepare(&settings.data_dir)?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let token = runtime.block_on(async {
        let store =
            Store::open_configured(settings.database_url.as_deref(), &settings.data_dir).await?;
        let token = store.create_token(name).await;
        store.close().await;
        token
    })?;
    println!("Created API token `{name}`. It is shown once; only its hash is stored:");
    println!("{token}");
    Ok(())
}
