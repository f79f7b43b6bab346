//! `sonde user`: console accounts, managed offline on the store.

use std::io::BufRead as _;

use sonde_web::api::Role;

use crate::cli::{RoleArg, StoreArgs, UserAddArgs, UserCommand, UserPasswdArgs};
use crate::config::Overrides;
use crate::error::UsageError;
use crate::store::{MIN_PASSWORD_CHARS, Store, StoreError, check_name, check_password};

/// Runs a user subcommand.
pub fn run(command: &UserCommand) -> anyhow::Result<()> {
    match command {
        UserCommand::Add(args) => add(args),
        UserCommand::List(args) => list(args),
        UserCommand::Passwd(args) => passwd(args),
    }
}

impl From<RoleArg> for Role {
    fn from(role: RoleArg) -> Self {
        match role {
            RoleArg::Admin => Role::Admin,
            RoleArg::Operator => Role::Operator,
            RoleArg::Viewer => Role::Viewer,
        }
    }
}

/// Runs `work` on the store of `args` in a small runtime.
pub(crate) fn with_store<T>(
    args: &StoreArgs,
    work: impl AsyncFnOnce(&Store) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let settings = super::serve::load_settings(
        args.config.as_deref(),
        &Overrides { data_dir: args.data_dir.clone(), ..Overrides::default() },
    )?;
    crate::data_dir::prepare(&settings.data_dir)?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let store =
            Store::open_configured(settings.database_url.as_deref(), &settings.data_dir).await?;
        let result = work(&store).await;
        store.close().await;
        result
    })
}

fn add(args: &UserAddArgs) -> anyhow::Result<()> {
    check_name(&args.name).map_err(usage)?;
    let password = read_password(args.password_stdin)?;
    let role = Role::from(args.role);
    let user = with_store(&args.store, async |store| {
        store.add_user(&args.name, role, &password).await.map_err(usage)
    })?;
    println!("Created {} `{}` (id {}).", user.role.as_str(), user.name, user.id);
    Ok(())
}

fn list(args: &StoreArgs) -> anyhow::Result<()> {
    let users = with_store(args, async |store| Ok(store.users().await?))?;
    if users.is_empty() {
        println!("No users yet: create an admin with `sonde user add --role admin NAME`.");
    }
    for user in users {
        println!("{:>5}  {:<8}  {}", user.id, user.role.as_str(), user.name);
    }
    Ok(())
}

fn passwd(args: &UserPasswdArgs) -> anyhow::Result<()> {
    let password = read_password(args.password_stdin)?;
    with_store(&args.store, async |store| {
        let user = store.user_by_name(&args.name).await?.ok_or_else(|| {
            UsageError::new(format!("no user `{}`; see `sonde user list`", args.name))
        })?;
        store.set_password(user.id, &password).await.map_err(usage)?;
        Ok(())
    })?;
    println!("Password of `{}` changed; their sessions are closed.", args.name);
    Ok(())
}

/// A store refusal the operator can fix is a usage error (exit 2).
fn usage(e: StoreError) -> anyhow::Error {
    match e {
        StoreError::Invalid(m) | StoreError::Conflict(m) | StoreError::NotFound(m) => {
            UsageError::new(m).into()
        }
        e => e.into(),
    }
}

/// The new password: the first line of stdin, or typed twice at a prompt without echo.
fn read_password(from_stdin: bool) -> anyhow::Result<String> {
    let password = if from_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    } else {
        let prompt = format!("Password (at least {MIN_PASSWORD_CHARS} characters): ");
        let first = rpassword::prompt_password(prompt).map_err(|e| {
            UsageError::new(format!(
                "cannot read a password from the terminal ({e}); pipe it with --password-stdin"
            ))
        })?;
        let second = rpassword::prompt_password("Again: ")?;
        if first != second {
            return Err(UsageError::new("the two passwords differ; nothing was changed").into());
        }
        first
    };
    check_password(&password).map_err(usage)?;
    Ok(password)
}
