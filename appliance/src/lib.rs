//! `sonde`: the appliance. The binary (`main.rs`) only calls [`run`]; everything else is here
//! so that it is tested beside the code.
//!
//! # Layout
//! - [`cli`]: what each subcommand accepts.
//! - [`config`]: the TOML file, parsed then validated into settings.
//! - [`commands`]: one module per subcommand (`scan`, `serve`, `validate`, `token`, `user`,
//!   `doctor`, `schedule`, `export`, `db`).
//! - [`actors`]: the actor system of `sonde serve`.
//! - [`backend`]: the appliance behind the web layer's `Backend` trait.
//! - [`store`]: SQLite or PostgreSQL through sqlx, migrations embedded; users, sessions,
//!   tokens, audit.
//! - [`pg_server`]: a throwaway PostgreSQL server for tests and benchmarks.
//! - [`tls`]: the console's certificate, the operator's or a self-signed one.
//! - [`output`]: output formats of `sonde scan`.
//! - [`probing`]: which probes an open port gets, in which order (soft matches narrow them).
//! - [`signature_dirs`]: the operator's signature directories, compiled with the built-ins.
//! - [`schedule`]: recurring scans: rules, the policy for missed runs, the runner.
//! - [`naming`]: reverse DNS of live hosts, beside the scan.
//! - [`docker`]: Docker engines read by `sonde serve`; their containers go to identification.
//! - [`service_names`]: host names services give about themselves (certificates, greetings).
//! - [`export`]: a stored scan or hosts query as JSON, CSV or Nmap XML (`sonde export`, the
//!   API).
//! - [`udp_sweep`]: UDP probes over a scan's targets, shared by `sonde scan` and `serve`.
//! - [`checkpoint`]: the resume file of `sonde scan --resume`.
//! - [`error`]: which errors are the operator's to fix (exit 2) and which are not (exit 1).
#![forbid(unsafe_code)]

pub mod actors;
pub mod backend;
pub mod checkpoint;
pub mod cli;
pub mod commands;
pub mod config;
pub mod data_dir;
pub mod docker;
pub mod error;
pub mod export;
pub mod fleet;
pub mod limits;
pub mod naming;
pub mod output;
pub mod pg_server;
pub mod probing;
pub mod schedule;
pub mod service_names;
pub mod signature_dirs;
pub mod store;
pub mod tls;
pub mod udp_sweep;

use clap::Parser;
use tracing_subscriber::EnvFilter;

use crate::cli::{Cli, Command};

/// Runs the command line and exits with its code: 0 success, 1 failure, 2 bad input.
pub fn run() -> ! {
    let cli = Cli::parse_from(cli::normalize_args(std::env::args_os()));
    init_logging(&cli);
    stop_on_panic();
    let result = match &cli.command {
        Command::Scan(args) => commands::scan::run(args),
        Command::Serve(args) => commands::serve::run(args).map(|()| 0),
        Command::Validate(args) => commands::validate::run(args).map(|()| 0),
        Command::Doctor(args) => commands::doctor::run(args),
        Command::Token(command) => commands::token::run(command).map(|()| 0),
        Command::User(command) => commands::user::run(command).map(|()| 0),
        Command::Schedule(command) => commands::schedule::run(command).map(|()| 0),
        Command::Export(args) => commands::export::run(args).map(|()| 0),
        Command::Signatures(command) => commands::signatures::run(command),
        Command::Db(command) => commands::db::run(command).map(|()| 0),
        Command::Docker(command) => commands::docker::run(command),
    };
    match result {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("sonde: error: {}", error::one_line(&e));
            std::process::exit(error::exit_code(&e));
        }
    }
}

/// Logs go to stderr as readable lines; `sonde scan` keeps them to warnings so its own
/// output stays clean unless asked.
fn init_logging(cli: &Cli) {
    let default = match cli.command {
        Command::Scan(_) if cli.log == "info" => "warn",
        _ => cli.log.as_str(),
    };
    let filter = EnvFilter::try_new(default).unwrap_or_else(|e| {
        eprintln!("sonde: error: invalid --log filter `{default}`: {e}");
        std::process::exit(2)
    });
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .init();
}

/// A panic anywhere stops the process with a non-zero code: actix restarts stopped actors,
/// not panicked ones, so a clean restart by systemd is the safe recovery.
fn stop_on_panic() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        default(info);
        eprintln!(
            "sonde: internal error: a component panicked; stopping (exit 101). Please report this."
        );
        std::process::exit(101);
    }));
}
