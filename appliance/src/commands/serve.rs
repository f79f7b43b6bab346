//! `sonde serve`: the actor system and the console server in one process.

use std::path::Path;
use std::sync::Arc;

use actix::prelude::*;
use anyhow::Context as _;
use sonde_matcher::Identifier;
use sonde_scanner::{ConnectConfig, SynConfig};
use tracing::info;

use crate::actors::{EventBus, Matcher, Persister, Prober, Supervisor, SupervisorConfig};
use crate::backend::ApplianceBackend;
use crate::cli::ServeArgs;
use crate::config::{Config, Overrides, PACKAGED_CONFIG, Settings};
use crate::fleet::relay;
use crate::fleet::worker::Worker;
use crate::store::{Backend, Store};

/// Loads `config` (or the packaged file when it exists, or defaults) and validates it with
/// the command-line overrides.
pub fn load_settings(config: Option<&Path>, overrides: &Overrides) -> anyhow::Result<Settings> {
    let file = match config {
        Some(path) => Config::load(path)?,
        None if Path::new(PACKAGED_CONFIG).exists() => Config::load(Path::new(PACKAGED_CONFIG))?,
        None => Config::default(),
    };
    Ok(file.validate(overrides)?)
}

/// Runs until SIGINT or SIGTERM.
pub fn run(args: &ServeArgs) -> anyhow::Result<()> {
    let settings = load_settings(
        args.config.as_deref(),
        &Overrides { listen: args.listen.clone(), data_dir: args.data_dir.clone() },
    )?;
    // The data directory first: an unusable one is the likelier mistake, and says so alone.
    let lock = crate::data_dir::lock(&settings.data_dir)?;
    // Compiled before anything starts: a broken operator signature file stops start-up
    // with its name, instead of a server that silently identifies less.
    let identifier = crate::signature_dirs::identifier(&settings.signatures_dirs)?;
    let untranslatable = identifier.signatures().untranslatable().len();
    tracing::info!(
        signatures = identifier.signatures().len(),
        untranslatable,
        dirs = settings.signatures_dirs.len(),
        "Signatures compiled."
    );
    crate::limits::raise_open_files(settings.scan.concurrency + settings.probe.concurrency);

    let system = actix_rt::System::with_tokio_rt(|| {
        // Scan engines run on this multi-threaded runtime; actors live on the system's
        // local set within it.
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .thread_name("sonde-engine")
            .build()
            .unwrap_or_else(|e| {
                eprintln!("sonde: error: cannot start the runtime: {e}");
                std::process::exit(1)
            })
    });
    system.block_on(serve(settings, identifier, lock.path()))
}

async fn serve(settings: Settings, identifier: Identifier, data_dir: &Path) -> anyhow::Result<()> {
    // Bound before any actor starts, so a taken address is reported before anything runs.
    let listener = std::net::TcpListener::bind(settings.listen).map_err(|e| {
        crate::error::UsageError::new(format!(
            "cannot listen on {}: {e}; choose another address with --listen",
            settings.listen
        ))
    })?;
    let store = Store::open_configured(settings.database_url.as_deref(), data_dir)
        .await
        .context("opening the store")?;
    tracing::info!(
        backend = ?store.backend(),
        database = settings.database_url.as_deref().map(crate::store::redact).as_deref(),
        "Store open."
    );
    let interrupted = store.fail_interrupted_scans().await?;
    if interrupted > 0 {
        tracing::warn!(
            scans = interrupted,
            "Scans left running by a previous process are marked failed; their results so far are kept."
        );
    }
    let bus = Arc::new(EventBus::new());

    // On PostgreSQL this appliance may share the store with others: it registers, and events
    // travel between them.
    let cluster = (store.backend() == Backend::Postgres).then(|| settings.cluster.clone());
    let mut persister = Persister::new(store.clone(), bus.clone());
    // Fleet tasks run on the engine runtime and are stopped before it goes: a database
    // connection must close inside a runtime, which the actors' local set no longer is at
    // shutdown.
    let mut fleet_tasks = Vec::new();
    if let (Some(cluster), Some(url)) = (&cluster, settings.database_url.clone()) {
        store.register_appliance(&Worker::record(cluster)).await?;
        tracing::info!(
            name = %cluster.name,
            reach = ?cluster.reach,
            exclusive = ?cluster.exclusive,
            "Appliance registered; it takes its share of scans from the store."
        );
        persister = persister
            .with_lease_owner(cluster.name.clone())
            .with_chunk_attempts(cluster.chunk_attempts);
        let (relay, outgoing) = tokio::sync::mpsc::channel(relay::RELAY_QUEUE);
        bus.relay_to(relay);
        fleet_tasks.push(tokio::spawn(relay::send(store.clone(), cluster.name.clone(), outgoing)));
        fleet_tasks.push(tokio::spawn(relay::listen(url, cluster.name.clone(), bus.clone())));
    }
    if let Some(dns) = settings.dns.clone() {
        let resolver = sonde_scanner::ReverseResolver::new(dns)?;
        let (naming, queue) = tokio::sync::mpsc::channel(crate::naming::NAMING_QUEUE);
        actix_rt::spawn(crate::naming::run(resolver, store.clone(), queue));
        persister = persister.with_naming(naming);
    }
    let persister = persister.start();
    let (persist, finish) = (persister.clone().recipient(), persister.clone().recipient());
    let matcher = Matcher::new(identifier.clone(), persist, finish).start();
    let prober = Prober::new(
        settings.probe.banner,
        settings.probe.concurrency,
        identifier,
        matcher.clone().recipient(),
        matcher.recipient(),
    )
    .start();
    let supervisor = Supervisor::new(
        SupervisorConfig {
            subnet_prefix: settings.scan.subnet_prefix,
            parallel_subnets: settings.scan.parallel_subnets,
            engine: settings.scan.engine,
            connect: ConnectConfig {
                concurrency: settings.scan.concurrency,
                timeout: settings.scan.timeout,
                retries: settings.scan.retries,
                rate: settings.scan.rate,
                backend: settings.scan.connect_backend,
                threads: settings.scan.connect_threads,
            },
            syn: SynConfig {
                rate: settings.scan.rate,
                retries: settings.scan.retries,
                ..SynConfig::default()
            },
        },
        prober.clone().recipient(),
        prober.recipient(),
        persister.clone().recipient(),
        persister.clone().recipient(),
        persister.clone().recipient(),
        bus.clone(),
    )
    .start();

    let mut backend = ApplianceBackend::new(
        store.clone(),
        supervisor.clone(),
        persister,
        bus.clone(),
        settings.scan.clone(),
    )
    .with_signature_dirs(settings.signatures_dirs.clone())
    .with_identity(&settings.cluster);
    // Docker discovery runs only when an endpoint is configured.
    let docker = if settings.docker.endpoints.is_empty() {
        None
    } else {
        let (refresh, requests) = crate::docker::DockerRefresh::channel();
        backend = backend.with_docker(refresh);
        Some(requests)
    };
    if let Some(cluster) = cluster {
        backend = backend.with_cluster(cluster.clone());
        let worker = Worker::new(
            store.clone(),
            cluster,
            supervisor,
            bus.clone(),
            settings.scan.parallel_subnets,
        );
        fleet_tasks.push(tokio::spawn(worker.run()));
    }
    let backend = Arc::new(backend);
    if let Some(requests) = docker {
        info!(
            endpoints = settings.docker.endpoints.len(),
            interval_secs = settings.docker.interval.as_secs(),
            "Reading Docker endpoints."
        );
        let sinks = crate::docker::Sinks { store: store.clone(), bus, backend: backend.clone() };
        actix_rt::spawn(crate::docker::run(
            settings.docker.endpoints.clone(),
            settings.docker.interval,
            sinks,
            requests,
        ));
    }
    // The runner lives as long as the process; it holds no state a stop could lose (the
    // store has each schedule's last run).
    actix_rt::spawn(crate::schedule::runner::run(
        store.clone(),
        backend.clone(),
        backend.schedule_wake(),
    ));
    let tls = settings
        .tls
        .as_ref()
        .map(|tls| crate::tls::server_config(tls, data_dir, settings.listen))
        .transpose()
        .context("setting up TLS")?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let base = format!("{scheme}://{}", console_authority(settings.listen));
    if store.user_count().await? == 0 {
        let token = crate::store::random_secret()?;
        // The link is the way in for whoever reads the log; it dies with the first admin.
        info!(
            "No user exists yet. Create the first admin at {base}/setup#token={token} \
             (one use), or with `sonde user add --role admin NAME`."
        );
        backend.arm_setup(token);
    }
    let server = sonde_web::server(backend, listener, tls).context("starting the HTTP server")?;
    let handle = server.handle();
    info!(
        listen = %settings.listen,
        data_dir = %data_dir.display(),
        "Sonde is serving the console at {base}/ (API under /api/v1; create a token with `sonde token create`)."
    );
    tokio::select! {
        result = server => result.context("the HTTP server stopped")?,
        signal = shutdown_signal() => {
            info!(signal, "Stopping: no new requests; scans in progress will show as failed after a restart.");
            handle.stop(true).await;
        }
    }
    for task in fleet_tasks {
        task.abort();
        let _ = task.await;
    }
    store.close().await;
    System::current().stop();
    Ok(())
}

/// How a browser reaches a server listening on `listen`: an unspecified address (`0.0.0.0`)
/// is reached through the machine's name.
fn console_authority(listen: std::net::SocketAddr) -> String {
    if listen.ip().is_unspecified() {
        format!("{}:{}", hostname(), listen.port())
    } else {
        listen.to_string()
    }
}

/// The machine's name, or `localhost` when it has none.
pub(crate) fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_owned())
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

async fn shutdown_signal() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) =
        (signal(SignalKind::terminate()), signal(SignalKind::interrupt()))
    else {
        // Without signal handlers the process still stops on the default action.
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    }
}
