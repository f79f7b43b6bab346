//! `sonde scan`: a one-shot scan from the command line, no daemon needed.

use std::collections::VecDeque;
use std::io::{BufWriter, IsTerminal};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sonde_matcher::Identifier;
use sonde_scanner::{
    ArpConfig, ConnectBackend, ConnectConfig, Engine, EngineKind, Ipv4Range,
    MAX_ADDRESSES_WITHOUT_CONFIRMATION, MAX_CONNECT_THREADS, MacAddr, PathOverrides, PortList,
    Progress, ScanPlan, SendPath, SynConfig, TargetSet, default_excludes, read_target_file,
};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::scan_identify::{Identified, ScanIdentifier};
use super::scan_names::{ScanNamer, parse_servers};
use super::scan_udp::{UdpSweep, sweep as udp_sweep};
use crate::checkpoint::{Checkpoint, ScanIdentity};
use crate::cli::{ConnectBackendArg, EngineArg, ScanArgs, SendPathArg};
use crate::config::{Config, PACKAGED_CONFIG, validate_signatures_dirs};
use crate::error::UsageError;
use crate::output::{Printer, ScanSummary, human_duration};

/// Exit code after an interrupt, as shells expect for SIGINT.
const INTERRUPTED: i32 = 130;

/// A scan checked and ready to run.
#[derive(Debug)]
struct ValidScan {
    specs: Vec<String>,
    plan: ScanPlan,
    kind: EngineKind,
    connect: ConnectConfig,
    syn: SynConfig,
    /// `(I, N)`: this run walks shard I of N of the plan.
    shard: (u64, u64),
    /// The resume file and what it held when the scan started.
    resume: Option<(PathBuf, Option<Checkpoint>)>,
    /// UDP ports probed after the TCP scan, and how.
    udp: Option<UdpSweep>,
    /// The compiled signatures; `None` with `--no-identify`.
    identifier: Option<Identifier>,
}

/// Runs the scan; returns the process exit code.
pub fn run(args: &ScanArgs) -> anyhow::Result<i32> {
    let scan = validate(args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(execute(args, scan))
}

/// Everything that can be wrong with the command line, found before any packet is sent.
fn validate(args: &ScanArgs) -> anyhow::Result<ValidScan> {
    if args.rate == 0 {
        return Err(UsageError::new("--rate must be at least 1 probe per second").into());
    }
    if !(10..=60_000).contains(&args.timeout) {
        return Err(UsageError::new(format!(
            "--timeout {} is out of range: use 10 to 60000 ms",
            args.timeout
        ))
        .into());
    }
    if args.retries > 10 {
        return Err(UsageError::new(format!(
            "--retries {} is too many: use 0 to 10",
            args.retries
        ))
        .into());
    }
    if args.concurrency == 0 {
        return Err(UsageError::new("--concurrency must be at least 1").into());
    }
    if args.connect_threads > MAX_CONNECT_THREADS {
        return Err(UsageError::new(format!(
            "--connect-threads {} is too many: use 0 (one per CPU) to {MAX_CONNECT_THREADS}",
            args.connect_threads
        ))
        .into());
    }
    if args.identify_concurrency == 0 {
        return Err(UsageError::new(
            "--identify-concurrency must be at least 1 (use --no-identify to skip identification)",
        )
        .into());
    }
    if args.wait > 60_000 {
        return Err(UsageError::new(format!(
            "--wait {} is out of range: use 0 to 60000 ms",
            args.wait
        ))
        .into());
    }
    if args.max_rate_per_host == Some(0) {
        return Err(
            UsageError::new("--max-rate-per-host must be at least 1 probe per second").into()
        );
    }
    let senders = match args.senders {
        Some(n @ 1..=64) => n,
        Some(n) => {
            return Err(
                UsageError::new(format!("--senders {n} is out of range: use 1 to 64")).into()
            );
        }
        // The kernel's delivery of each frame runs on the sending thread: one per core.
        None => std::thread::available_parallelism().map_or(1, |n| n.get().min(64)),
    };
    let router_mac = args
        .router_mac
        .as_deref()
        .map(str::parse::<MacAddr>)
        .transpose()
        .map_err(|e| UsageError::new(format!("--router-mac: {e}")))?;
    let ports = match (&args.ports, args.top_ports) {
        (Some(spec), _) => PortList::parse(spec)?,
        (None, Some(n)) => PortList::top(n)?,
        (None, None) => PortList::top(100)?,
    };

    let udp = match &args.udp_ports {
        None => None,
        // A resume file and a shard index cover the TCP plan's order only.
        Some(_) if args.resume.is_some() || args.shard.is_some() => {
            return Err(UsageError::new(
                "--udp-ports cannot be combined with --resume or --shard: run the UDP ports as a scan of their own",
            )
            .into());
        }
        Some(spec) => Some(UdpSweep {
            ports: PortList::parse(spec)
                .map_err(|e| UsageError::new(format!("--udp-ports: {e}")))?,
            rate: args.rate,
            concurrency: args.concurrency,
            // Set once the signatures are compiled, below.
            identifier: None,
        }),
    };

    let mut specs = args.targets.clone();
    for file in &args.input_list {
        specs.extend(read_target_file(file)?);
    }
    if specs.is_empty() {
        return Err(UsageError::new(
            "no targets given: name addresses, CIDRs, ranges or hostnames, or a file with -iL FILE",
        )
        .into());
    }
    let mut exclude_specs = args.exclude.clone();
    for file in &args.exclude_file {
        exclude_specs.extend(read_target_file(file)?);
    }
    let mut excludes = if exclude_specs.is_empty() {
        TargetSet::default()
    } else {
        TargetSet::parse(&exclude_specs)?
    };
    if !args.no_default_excludes {
        excludes = excludes.union(&default_excludes());
    }
    let targets = TargetSet::parse(&specs)?.exclude(&excludes);
    if targets.is_empty() {
        return Err(UsageError::new(
            "every target is excluded (multicast, reserved and 0.0.0.0/8 are excluded unless --no-default-excludes)",
        )
        .into());
    }
    if args.engine == EngineArg::Syn && includes_loopback(&targets) {
        return Err(UsageError::new(
            "the syn engine cannot scan loopback (127.0.0.0/8): raw frames on lo are dropped; \
             use --engine connect",
        )
        .into());
    }
    if targets.len() > MAX_ADDRESSES_WITHOUT_CONFIRMATION && !args.yes {
        return Err(UsageError::new(format!(
            "this scan covers {} addresses, more than 2^24: add --yes to confirm",
            targets.len()
        ))
        .into());
    }
    let shard = args.shard.as_deref().map_or(Ok((1, 1)), parse_shard)?;
    if args.checkpoint_every == 0 {
        return Err(UsageError::new("--checkpoint-every must be at least 1 second").into());
    }
    let resume = match &args.resume {
        Some(path) => Some((path.clone(), Checkpoint::load(path)?)),
        None => None,
    };
    let saved_seed = resume.as_ref().and_then(|(_, saved)| saved.as_ref()).map(|c| c.scan.seed);
    // Resuming without --seed takes the saved one, so "the same command" finds its order.
    let seed = match args.seed.or(saved_seed) {
        Some(seed) => seed,
        None => {
            let mut bytes = [0u8; 8];
            getrandom::fill(&mut bytes)
                .map_err(|e| anyhow::anyhow!("no randomness for the seed: {e}"))?;
            u64::from_le_bytes(bytes)
        }
    };
    let identifier = if args.no_identify { None } else { Some(identifier(args)?) };
    Ok(ValidScan {
        specs,
        plan: ScanPlan::new(targets, ports, seed),
        kind: match args.engine {
            EngineArg::Auto => EngineKind::Auto,
            EngineArg::Connect => EngineKind::Connect,
            EngineArg::Syn => EngineKind::Syn,
        },
        connect: ConnectConfig {
            concurrency: args.concurrency,
            timeout: Duration::from_millis(args.timeout),
            retries: args.retries,
            rate: args.rate,
            backend: match args.connect_backend {
                ConnectBackendArg::Auto => ConnectBackend::Auto,
                ConnectBackendArg::Uring => ConnectBackend::Uring,
                ConnectBackendArg::Epoll => ConnectBackend::Epoll,
            },
            threads: args.connect_threads,
        },
        syn: SynConfig {
            rate: args.rate,
            retries: args.retries,
            wait: Duration::from_millis(args.wait),
            path: PathOverrides {
                interface: args.interface.clone(),
                source_ip: args.source_ip,
                router_mac,
            },
            per_host_rate: args.max_rate_per_host,
            senders,
            // ARP asks each on-link address at the scan's rate, within the sweep's own bound.
            arp: ArpConfig {
                rate: args.rate.min(ArpConfig::default().rate),
                ..ArpConfig::default()
            },
            send_path: match args.send_path {
                SendPathArg::Sendmmsg => SendPath::Sendmmsg,
                SendPathArg::TxRing => SendPath::TxRing,
                SendPathArg::IoUring => SendPath::IoUring,
            },
        },
        shard,
        resume,
        udp: udp.map(|udp| UdpSweep { identifier: identifier.clone(), ..udp }),
        identifier,
    })
}

/// The built-in signatures with those of the config's `[identify] signatures_dirs` and of
/// `--signatures-dir`, compiled before any packet is sent so that a broken file stops the
/// scan with its name.
fn identifier(args: &ScanArgs) -> Result<Identifier, UsageError> {
    let config = match args.config.as_deref() {
        Some(path) => Config::load(path)?,
        None if Path::new(PACKAGED_CONFIG).exists() => Config::load(Path::new(PACKAGED_CONFIG))?,
        None => Config::default(),
    };
    let mut dirs = validate_signatures_dirs(config.identify)?;
    dirs.extend(args.signatures_dirs.iter().cloned());
    crate::signature_dirs::identifier(&dirs)
}

/// `I/N` with `1 <= I <= N`.
fn parse_shard(spec: &str) -> Result<(u64, u64), UsageError> {
    let bad = || {
        UsageError::new(format!(
            "--shard {spec} is not a shard: use I/N with 1 <= I <= N, e.g. --shard 2/4"
        ))
    };
    let (i, n) = spec.split_once('/').ok_or_else(bad)?;
    let (i, n) =
        (i.trim().parse::<u64>().map_err(|_| bad())?, n.trim().parse::<u64>().map_err(|_| bad())?);
    if i == 0 || i > n {
        return Err(bad());
    }
    Ok((i, n))
}

/// Saves the position of a resumable scan; a failure is reported, not fatal: the scan's
/// results matter more than its resume file.
fn save_checkpoint(path: &Path, scan: &ScanIdentity, settled_below: u64) {
    if let Err(error) = Checkpoint::new(scan.clone(), settled_below).save(path) {
        tracing::warn!(path = %path.display(), %error, "The resume file could not be saved.");
    }
}

async fn execute(args: &ScanArgs, scan: ValidScan) -> anyhow::Result<i32> {
    let ValidScan { specs, plan, kind, connect, syn, shard, resume, udp, identifier } = scan;
    let concurrency = connect.concurrency;
    let choice = Engine::choose(kind, plan.targets(), connect, syn)?;
    if let Some(why) = &choice.fallback {
        eprintln!("sonde: using the connect engine: {why}");
    }
    let engine = choice.engine;
    let engine_name = engine.name();
    let identity = ScanIdentity::new(&plan, shard, engine_name);
    let shard_range = plan.shard_range(shard.0, shard.1);
    let mut start = shard_range.start;
    if let Some((path, Some(saved))) = &resume {
        saved.check(path, &identity)?;
        start = saved.settled_below.clamp(shard_range.start, shard_range.end);
        eprintln!(
            "sonde: resuming from {}: {} of {} probes settled",
            path.display(),
            start - shard_range.start,
            shard_range.end - shard_range.start
        );
    }
    let range = start..shard_range.end;
    if let Engine::Connect(_) = engine {
        crate::limits::raise_open_files(concurrency);
    }
    let plan = Arc::new(plan);
    let progress = Arc::new(Progress::default());
    let cancel = CancellationToken::new();
    let (tx, mut rx) = mpsc::channel(4096);
    let started = Instant::now();
    // On-link targets: who answers ARP, before any probe (the engine reuses the answers).
    let neighbours = engine.neighbours(plan.targets(), &cancel).await?;
    if !neighbours.is_empty() {
        eprintln!(
            "sonde: {} answered ARP on the local link",
            plural(neighbours.len() as u64, "host")
        );
    }

    let engine_task = {
        let (plan, progress, cancel) = (plan.clone(), progress.clone(), cancel.clone());
        let range = range.clone();
        tokio::spawn(async move { engine.run_range(&plan, range, &progress, tx, cancel).await })
    };
    let interrupted = Arc::new(std::sync::atomic::AtomicBool::new(false));
    {
        let (cancel, interrupted) = (cancel.clone(), interrupted.clone());
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                interrupted.store(true, std::sync::atomic::Ordering::Relaxed);
                cancel.cancel();
            }
        });
    }
    let bar = progress_bar(range.end - range.start);
    // Open ports whose probes are still running, for the bar.
    let identifying_now = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let ticker = {
        let (bar, progress) = (bar.clone(), progress.clone());
        let identifying_now = identifying_now.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_millis(200));
            loop {
                every.tick().await;
                let s = progress.snapshot();
                let secs = started.elapsed().as_secs_f64().max(1e-3);
                bar.set_position(s.done);
                let identifying = match identifying_now.load(Ordering::Relaxed) {
                    0 => String::new(),
                    n => format!(", identifying {n}"),
                };
                bar.set_message(format!(
                    "{:.0} probes/s, {} sent, {} open{identifying}",
                    s.sent as f64 / secs,
                    s.sent,
                    s.open
                ));
            }
        })
    };

    let mut namer = match args.no_dns {
        true => None,
        false => Some(ScanNamer::start(parse_servers(&args.dns_server)?)?),
    };
    let mut printer = Printer::with_dns(
        args.output,
        BufWriter::new(std::io::stdout().lock()),
        &neighbours,
        namer.is_some(),
    )?;
    let mut found = 0u64;
    let mut hosts = std::collections::HashSet::new();
    let mut save_every = tokio::time::interval(Duration::from_secs(args.checkpoint_every));
    save_every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    // With identification, a port is printed once its probes are done, so each resume mark
    // waits here, with the arrival number of the first finding it does not cover, until every
    // finding before that number is printed.
    let mut pending_marks: VecDeque<(u64, u64)> = VecDeque::new();
    let (mut identify, mut identified) = match identifier {
        None => (None, None),
        Some(identifier) => {
            let (identify, identified) = ScanIdentifier::new(args.identify_concurrency, identifier);
            (Some(identify), Some(identified))
        }
    };
    let mut engine_done = false;
    loop {
        let identifying = identify.as_ref().map_or(0, ScanIdentifier::in_flight);
        if engine_done && identifying == 0 {
            break;
        }
        tokio::select! {
            finding = rx.recv(), if !engine_done => {
                let Some(finding) = finding else {
                    engine_done = true;
                    continue;
                };
                found += 1;
                if hosts.insert(finding.ip) && let Some(namer) = &namer {
                    namer.ask(finding.ip);
                }
                match identify.as_mut() {
                    Some(identify) => {
                        identify.start(finding);
                        identifying_now.store(identify.in_flight(), Ordering::Relaxed);
                    }
                    None => {
                        printer.found(&finding, None)?;
                        // Streaming formats show each port as soon as nothing more is waiting.
                        if rx.is_empty() {
                            printer.flush()?;
                        }
                    }
                }
            }
            Some(done) = recv_identified(&mut identified), if identifying > 0 => {
                let Some(identify) = identify.as_mut() else { continue };
                identify.done(done.seq);
                printer.found(&done.finding, done.service.as_ref())?;
                printer.flush()?;
                identifying_now.store(identify.in_flight(), Ordering::Relaxed);
                if let (Some(mark), Some((path, _))) =
                    (settled_mark(&mut pending_marks, identify), &resume)
                {
                    save_checkpoint(path, &identity, mark);
                }
            }
            _ = save_every.tick(), if resume.is_some() => {
                // Read the mark first: the findings it covers were queued before it was
                // published, so they are all taken in by the drain below.
                let settled_below = progress.settled_below.load(Ordering::Acquire);
                while let Ok(finding) = rx.try_recv() {
                    found += 1;
                    if hosts.insert(finding.ip) && let Some(namer) = &namer {
                        namer.ask(finding.ip);
                    }
                    match identify.as_mut() {
                        Some(identify) => {
                            identify.start(finding);
                        }
                        None => printer.found(&finding, None)?,
                    }
                }
                printer.flush()?;
                match (&resume, identify.as_ref()) {
                    (Some((path, _)), None) => save_checkpoint(path, &identity, settled_below),
                    (Some((path, _)), Some(identify)) => {
                        pending_marks.push_back((settled_below, identify.next_seq()));
                        if let Some(mark) = settled_mark(&mut pending_marks, identify) {
                            save_checkpoint(path, &identity, mark);
                        }
                    }
                    (None, _) => {}
                }
            }
            Some((ip, name)) = next_name(&mut namer) => printer.named(ip, name),
            else => break,
        }
    }
    let mut udp_sent = 0;
    if let Some(udp) = &udp
        && !cancel.is_cancelled()
    {
        bar.set_message(format!("probing {} UDP", plural(udp.ports.len() as u64, "port")));
        let report = udp_sweep(plan.targets(), udp, &cancel).await;
        udp_sent = report.sent;
        eprintln!(
            "sonde: UDP: {} probes, {} open, {} closed, {} open|filtered (silent)",
            report.sent,
            report.open.len(),
            report.closed,
            report.open_filtered
        );
        for (finding, service) in &report.open {
            found += 1;
            if hosts.insert(finding.ip)
                && let Some(namer) = &namer
            {
                namer.ask(finding.ip);
            }
            printer.found(finding, service.as_ref())?;
        }
        printer.flush()?;
    }
    if let Some(namer) = namer {
        for (ip, name) in namer.finish().await {
            printer.named(ip, name);
        }
    }
    let outcome = engine_task.await?;
    ticker.abort();
    bar.finish_and_clear();

    let elapsed = started.elapsed();
    let snapshot = progress.snapshot();
    let was_interrupted = interrupted.load(std::sync::atomic::Ordering::Relaxed);
    let complete = !was_interrupted && outcome.is_ok();
    if let Some((path, _)) = &resume {
        if complete {
            if let Err(error) = std::fs::remove_file(path)
                && error.kind() != std::io::ErrorKind::NotFound
            {
                tracing::warn!(path = %path.display(), %error, "The resume file of a finished scan could not be removed.");
            }
        } else {
            save_checkpoint(path, &identity, progress.settled_below.load(Ordering::Acquire));
        }
    }
    printer.finish(&ScanSummary {
        targets: specs,
        ports: plan.ports().to_spec(),
        engine: engine_name,
        seed: plan.seed(),
        addresses: plan.targets().len(),
        probes: plan.len(),
        sent: snapshot.sent + udp_sent,
        duration_s: elapsed.as_secs_f64(),
        complete,
    })?;
    eprintln!(
        "sonde: {} on {}; {} probes ({} x {}) in {} ({:.0}/s){}",
        plural(found, "open port"),
        plural(hosts.len() as u64, "host"),
        snapshot.done,
        plural(plan.targets().len(), "address"),
        plural(plan.ports().len() as u64, "port"),
        human_duration(elapsed),
        snapshot.sent as f64 / elapsed.as_secs_f64().max(1e-3),
        if was_interrupted { "; interrupted, results are partial" } else { "" },
    );
    // Whatever was found before a failure has been printed above.
    outcome?;
    Ok(if was_interrupted { INTERRUPTED } else { 0 })
}

/// The latest waiting resume mark whose findings are all printed, taken off the queue with
/// those before it. Marks wait in order, so one that keeps waiting never hides the progress
/// of earlier ones.
fn settled_mark(marks: &mut VecDeque<(u64, u64)>, identify: &ScanIdentifier) -> Option<u64> {
    let mut settled = None;
    while let Some(&(mark, before)) = marks.front() {
        if !identify.settled_before(before) {
            break;
        }
        settled = Some(mark);
        marks.pop_front();
    }
    settled
}

/// The next identification result, or never when identification is off.
/// The next name found, or never when reverse DNS is off.
async fn next_name(namer: &mut Option<ScanNamer>) -> Option<(Ipv4Addr, String)> {
    match namer {
        Some(namer) => namer.next().await,
        None => std::future::pending().await,
    }
}

async fn recv_identified(
    identified: &mut Option<mpsc::UnboundedReceiver<Identified>>,
) -> Option<Identified> {
    match identified {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// True when some target is in 127.0.0.0/8.
fn includes_loopback(targets: &TargetSet) -> bool {
    let loopback = TargetSet::from_ranges([Ipv4Range::new(
        std::net::Ipv4Addr::new(127, 0, 0, 0),
        std::net::Ipv4Addr::new(127, 255, 255, 255),
    )]);
    targets.exclude(&loopback).len() != targets.len()
}

/// `1 host`, `2 hosts`, `3 addresses`.
fn plural(n: u64, noun: &str) -> String {
    match n {
        1 => format!("1 {noun}"),
        _ if noun.ends_with('s') => format!("{n} {noun}es"),
        _ => format!("{n} {noun}s"),
    }
}

/// A bar on stderr when it is a terminal; hidden otherwise so logs and pipes stay clean.
fn progress_bar(total: u64) -> ProgressBar {
    let target = if std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(Some(total), target);
    if let Ok(style) = ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {wide_bar} {percent:>3}% {pos}/{len} pairs, {msg}, ETA {eta}",
    ) {
        bar.set_style(style);
    }
    bar
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

    fn args(line: &[&str]) -> ScanArgs {
        let argv = ["sonde", "scan"].iter().chain(line).map(Into::into);
        match Cli::try_parse_from(crate::cli::normalize_args(argv)).unwrap().command {
            Command::Scan(a) => *a,
            _ => unreachable!("scan parses as scan"),
        }
    }

    fn error(line: &[&str]) -> String {
        let e = validate(&args(line)).unwrap_err();
        assert_eq!(crate::error::exit_code(&e), 2, "{e:#}");
        crate::error::one_line(&e)
    }

    #[test]
    fn bad_input_is_named_and_exits_2() {
        assert!(error(&["10.0.0.0/33", "-p", "80"]).contains("10.0.0.0/33"));
        assert!(error(&["127.0.0.1", "-p", "70000"]).contains("70000"));
        assert!(error(&["-p", "80"]).contains("no targets"));
        // Raw frames cannot reach loopback: the syn engine refuses and points to connect.
        let loopback = error(&["127.0.0.1", "-p", "80", "--engine", "syn"]);
        assert!(
            loopback.contains("loopback") && loopback.contains("--engine connect"),
            "{loopback}"
        );
        assert!(
            error(&["127.0.0.1", "-p", "80", "--router-mac", "02:00"]).contains("--router-mac")
        );
        assert!(error(&["127.0.0.1", "-p", "80", "--wait", "90000"]).contains("--wait"));
        assert!(error(&["127.0.0.1", "-p", "80", "--senders", "0"]).contains("--senders"));
        let cap = error(&["127.0.0.1", "-p", "80", "--max-rate-per-host", "0"]);
        assert!(cap.contains("--max-rate-per-host"), "{cap}");
        assert!(error(&["127.0.0.1", "-p", "80", "--rate", "0"]).contains("--rate"));
        let identify = error(&["127.0.0.1", "-p", "80", "--identify-concurrency", "0"]);
        assert!(identify.contains("--identify-concurrency"), "{identify}");
        assert!(error(&["224.0.0.1", "-p", "80"]).contains("excluded"));
        assert!(error(&["127.0.0.1", "--top-ports", "5000"]).contains("top-ports"));
        for shard in ["0/4", "5/4", "1", "a/b", "1/0", "2/-1"] {
            let message = error(&["127.0.0.1", "-p", "80", "--shard", shard]);
            assert!(message.contains("--shard") && message.contains("1 <= I <= N"), "{message}");
        }
    }

    #[test]
    fn shards_and_resume_files_shape_the_scan() {
        let scan = validate(&args(&["127.0.0.1", "-p", "80", "--shard", "3/4"])).unwrap();
        assert_eq!(scan.shard, (3, 4));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.json");
        let line = ["127.0.0.1", "-p", "80", "--resume", path.to_str().unwrap()];
        let fresh = validate(&args(&line)).unwrap();
        assert!(matches!(&fresh.resume, Some((p, None)) if *p == path));
        // Without --seed, a resumed scan takes the saved seed.
        let identity = ScanIdentity::new(&fresh.plan, (1, 1), "connect");
        let saved = ScanIdentity { seed: 99, ..identity };
        Checkpoint::new(saved, 0).save(&path).unwrap();
        assert_eq!(validate(&args(&line)).unwrap().plan.seed(), 99);
    }

    #[test]
    fn more_than_2_pow_24_addresses_needs_yes() {
        assert!(error(&["10.0.0.0/7", "-p", "80"]).contains("--yes"));
        let ok = validate(&args(&["10.0.0.0/7", "-p", "80", "--yes"])).unwrap();
        assert_eq!(ok.plan.targets().len(), 1 << 25);
    }

    #[test]
    fn excludes_and_files_shape_the_plan() {
        let dir = tempfile::tempdir().unwrap();
        let list = dir.path().join("t.txt");
        std::fs::write(&list, "# lab\n127.0.0.0/30\n").unwrap();
        let ex = dir.path().join("x.txt");
        std::fs::write(&ex, "127.0.0.3\n").unwrap();
        let a = args(&[
            "127.0.0.10",
            "-iL",
            list.to_str().unwrap(),
            "--exclude-file",
            ex.to_str().unwrap(),
            "--exclude",
            "127.0.0.0",
            "-p",
            "22,80",
            "--seed",
            "3",
        ]);
        let scan = validate(&a).unwrap();
        assert_eq!(scan.plan.targets().len(), 3, "127.0.0.1, .2 and .10");
        assert_eq!(scan.plan.len(), 6);
        assert_eq!(scan.plan.seed(), 3);
    }
}
