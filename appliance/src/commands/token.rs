//! `sonde token`: API tokens.
//!
//! A token acts as a user. Without `--user` it belongs to the first admin, so that a fresh
//! appliance needs one `sonde user add --role admin NAME` and then scripts can get a token.

use crate::cli::{StoreArgs, TokenCommand, TokenCreateArgs};
use crate::error::UsageError;

/// Runs a token subcommand.
pub fn run(command: &TokenCommand) -> anyhow::Result<()> {
    match command {
        TokenCommand::Create(args) => create(args),
    }
}

fn create(args: &TokenCreateArgs) -> anyhow::Result<()> {
    let name = args.name.trim();
    if name.is_empty() || name.len() > 100 {
        return Err(UsageError::new("--name must be 1 to 100 characters").into());
    }
    let store_args = StoreArgs { config: args.config.clone(), data_dir: args.data_dir.clone() };
    let (user, created) = super::user::with_store(&store_args, async |store| {
        let user = match &args.user {
            Some(user) => store.user_by_name(user).await?.ok_or_else(|| {
                UsageError::new(format!("no user `{user}`; see `sonde user list`"))
            })?,
            None => store.first_admin().await?.ok_or_else(|| {
                UsageError::new(
                    "no admin yet: create one with `sonde user add --role admin NAME`, \
                     or name the token's user with --user",
                )
            })?,
        };
        let created = store.create_token(user.id, name).await?;
        Ok((user, created))
    })?;
    println!(
        "Created API token `{name}` acting as {} `{}`. It is shown once; only its hash is stored:",
        user.role.as_str(),
        user.name
    );
    println!("{}", created.token);
    Ok(())
}
