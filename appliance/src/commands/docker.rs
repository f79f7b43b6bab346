//! `sonde docker ls`: what each Docker endpoint runs, read once.

use std::io::{self, Write};
use std::path::Path;

use sonde_scanner::{DockerEndpoint, DockerInventory};

use crate::cli::{DockerCommand, DockerFormatArg, DockerLsArgs};
use crate::config::{Config, DockerConfig, PACKAGED_CONFIG, validate_docker};

/// The endpoint read when neither the command line nor the config names one.
const LOCAL_SOCKET: &str = "unix:///var/run/docker.sock";

/// Runs a `sonde docker` subcommand; returns the exit code.
pub fn run(command: &DockerCommand) -> anyhow::Result<i32> {
    match command {
        DockerCommand::Ls(args) => ls(args),
    }
}

fn ls(args: &DockerLsArgs) -> anyhow::Result<i32> {
    let endpoints = endpoints(args)?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let mut found = Vec::new();
    let mut failed = 0;
    for endpoint in &endpoints {
        match runtime.block_on(DockerInventory::fetch(endpoint)) {
            Ok(inventory) => found.push(inventory),
            Err(e) => {
                failed += 1;
                eprintln!("sonde: {e}");
            }
        }
    }
    let mut out = io::stdout().lock();
    match args.format {
        DockerFormatArg::Json => {
            serde_json::to_writer_pretty(&mut out, &found)?;
            writeln!(out)?;
        }
        DockerFormatArg::Table => write_table(&mut out, &found)?,
    }
    Ok(if failed > 0 { 1 } else { 0 })
}

/// The command line's endpoints, else the config's, else the local socket. TLS files come
/// from the config in every case.
fn endpoints(args: &DockerLsArgs) -> anyhow::Result<Vec<DockerEndpoint>> {
    let file = match args.config.as_deref() {
        Some(path) => Config::load(path)?,
        None if Path::new(PACKAGED_CONFIG).exists() => Config::load(Path::new(PACKAGED_CONFIG))?,
        None => Config::default(),
    };
    let mut docker: DockerConfig = file.docker;
    if !args.endpoint.is_empty() {
        docker.endpoints = args.endpoint.clone();
    } else if docker.endpoints.is_empty() {
        docker.endpoints = vec![LOCAL_SOCKET.to_string()];
    }
    Ok(validate_docker(docker)?.endpoints)
}

/// Containers, then networks, per endpoint. Names, images and labels come from whoever runs
/// containers on the engine: escaped so that they cannot drive the terminal.
fn write_table(out: &mut impl Write, found: &[DockerInventory]) -> io::Result<()> {
    for inv in found {
        let e = &inv.engine;
        writeln!(
            out,
            "# {} ({} {}, API {}, {})",
            inv.endpoint,
            e.product.escape_debug(),
            e.version.escape_debug(),
            e.api_version,
            e.platform.escape_debug()
        )?;
        writeln!(
            out,
            "{:<24} {:<32} {:<8} {:<28} {:<28} LABELS",
            "NAME", "IMAGE", "STATE", "PORTS", "NETWORKS"
        )?;
        for c in &inv.containers {
            let ports: Vec<String> = c
                .ports
                .iter()
                .map(|p| match p.host_ip {
                    Some(ip) => format!("{ip}:{}->{}/{}", p.host_port, p.container_port, p.proto),
                    None => format!("*:{}->{}/{}", p.host_port, p.container_port, p.proto),
                })
                .collect();
            let networks: Vec<String> = c
                .networks
                .iter()
                .map(|n| match n.address {
                    Some(a) => format!("{}={a}", n.network.escape_debug()),
                    None => n.network.escape_debug().to_string(),
                })
                .collect();
            let labels: Vec<String> = c
                .labels
                .iter()
                .map(|(k, v)| format!("{}={}", k.escape_debug(), v.escape_debug()))
                .collect();
            writeln!(
                out,
                "{:<24} {:<32} {:<8} {:<28} {:<28} {}",
                c.name.escape_debug().to_string(),
                c.image.escape_debug().to_string(),
                c.state.escape_debug().to_string(),
                dash(&ports.join(",")),
                dash(&networks.join(",")),
                dash(&labels.join(","))
            )?;
        }
        writeln!(out)?;
        writeln!(out, "{:<24} {:<10} {:<9} SUBNETS", "NETWORK", "DRIVER", "INTERNAL")?;
        for n in &inv.networks {
            let subnets: Vec<String> = n.subnets.iter().map(ToString::to_string).collect();
            writeln!(
                out,
                "{:<24} {:<10} {:<9} {}",
                n.name.escape_debug().to_string(),
                n.driver.escape_debug().to_string(),
                if n.internal { "yes" } else { "no" },
                dash(&subnets.join(","))
            )?;
        }
    }
    Ok(())
}

fn dash(s: &str) -> &str {
    if s.is_empty() { "-" } else { s }
}
