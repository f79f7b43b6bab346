//! The command line: what each subcommand accepts.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Sonde: a high-throughput network scanning appliance.
///
/// `sonde scan` scans from the command line, like masscan or nmap. `sonde serve` runs the
/// appliance: the scanners, the store and the console.
#[derive(Debug, Parser)]
#[command(name = "sonde", version, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    /// Log filter (`info`, `debug`, `sonde=trace`...); also from SONDE_LOG.
    #[arg(long, global = true, env = "SONDE_LOG", default_value = "info")]
    pub log: String,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// nmap and masscan spell the target-file flag `-iL`, which no single-letter flag can be.
pub fn normalize_args(
    args: impl IntoIterator<Item = std::ffi::OsString>,
) -> Vec<std::ffi::OsString> {
    args.into_iter().map(|a| if a == "-iL" { "--input-list".into() } else { a }).collect()
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan targets once and print the open ports (no daemon needed).
    // Boxed: its flags outweigh every other command's by far.
    Scan(Box<ScanArgs>),
    /// Run the appliance: actors, store, REST API, event stream and console.
    Serve(ServeArgs),
    /// Check a configuration file and say what is wrong with it.
    Validate(ValidateArgs),
    /// Manage console users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Check what this machine lets Sonde do: raw sockets, io_uring, open files, routes and
    /// the data directory. One line each: ok, warn or fail, and what to do. Exits 1 when a
    /// check fails.
    Doctor(DoctorArgs),
    /// Write a stored scan as JSON, CSV or Nmap-compatible XML.
    Export(ExportArgs),
    /// Manage recurring scans in the data directory (a running appliance picks changes up
    /// within seconds).
    #[command(subcommand)]
    Schedule(ScheduleCommand),
    /// Work with the signatures that identify services.
    #[command(subcommand)]
    Signatures(SignaturesCommand),
    /// Manage the store's database: migrate it, copy an installation to another database.
    #[command(subcommand)]
    Db(DbCommand),
    /// Read Docker engines: their containers and networks.
    #[command(subcommand)]
    Docker(DockerCommand),
}

/// `sonde docker ...`.
#[derive(Debug, Subcommand)]
pub enum DockerCommand {
    /// List the containers (name, image, state, published ports, networks, labels) and
    /// networks of each endpoint. Exits 1 when an endpoint cannot be read.
    Ls(DockerLsArgs),
}

/// `sonde docker ls`.
#[derive(Debug, Args)]
pub struct DockerLsArgs {
    /// Engine API endpoint (`unix:///var/run/docker.sock`, `tcp://host:2376`); repeatable.
    /// Default: the `[docker] endpoints` of the config, else the local socket.
    #[arg(long, value_name = "URL")]
    pub endpoint: Vec<String>,
    /// Configuration file, for its `[docker]` endpoints and TLS files.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = DockerFormatArg::Table)]
    pub format: DockerFormatArg,
}

/// `sonde docker ls --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DockerFormatArg {
    /// Aligned columns, one container per line, then the networks.
    Table,
    /// One JSON document: a list of inventories, one per endpoint.
    Json,
}

/// `sonde scan`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  sonde scan 127.0.0.1 -p 22,80,8000-8100\n  \
    sonde scan 10.0.0.0/16 --top-ports 100 --rate 20000 -o ndjson\n  \
    sonde scan -iL targets.txt --exclude 10.0.5.0/24 -p 443 -o csv")]
pub struct ScanArgs {
    /// Targets: addresses, CIDRs (10.0.0.0/16), ranges (10.0.0.1-10.0.0.50) or hostnames.
    #[arg(value_name = "TARGETS")]
    pub targets: Vec<String>,
    /// Read more targets from a file (one or more per line, `#` comments); also `-iL FILE`.
    #[arg(long = "input-list", value_name = "FILE")]
    pub input_list: Vec<PathBuf>,
    /// Ports: lists and ranges, e.g. 22,80,8000-8100.
    #[arg(short, long, value_name = "PORTS")]
    pub ports: Option<String>,
    /// Scan the N most common TCP ports (default 100 when no -p is given).
    #[arg(long, value_name = "N", conflicts_with = "ports")]
    pub top_ports: Option<usize>,
    /// UDP ports to probe too, after the TCP ones (e.g. 53,123,161): DNS, NTP and SNMP get
    /// their own probe, other ports an empty datagram. A UDP port is reported open when a
    /// datagram comes back; closed (ICMP unreachable) and silent ports are only counted.
    #[arg(long = "udp-ports", value_name = "PORTS")]
    pub udp_ports: Option<String>,
    /// Never probe these targets (addresses, CIDRs, ranges).
    #[arg(long, value_name = "TARGETS", value_delimiter = ',')]
    pub exclude: Vec<String>,
    /// Never probe the targets listed in this file.
    #[arg(long, value_name = "FILE")]
    pub exclude_file: Vec<PathBuf>,
    /// Also probe multicast, reserved space and 0.0.0.0/8 (excluded by default).
    #[arg(long)]
    pub no_default_excludes: bool,
    /// Probing engine.
    #[arg(long, value_enum, default_value_t = EngineArg::Auto)]
    pub engine: EngineArg,
    /// Probes per second.
    #[arg(long, value_name = "PPS", default_value_t = 10_000)]
    pub rate: u64,
    /// Milliseconds to wait for an answer to one probe.
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    pub timeout: u64,
    /// Extra attempts for ports that stay silent.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub retries: u8,
    /// Connections in flight at most (connect engine).
    #[arg(long, value_name = "N", default_value_t = 1024)]
    pub concurrency: usize,
    /// Path of the connect engine: io_uring where it works (auto), or forced.
    #[arg(long, value_enum, default_value_t = ConnectBackendArg::Auto)]
    pub connect_backend: ConnectBackendArg,
    /// io_uring rings of the connect engine, one thread each (0: one per CPU).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub connect_threads: usize,
    /// Milliseconds to wait for late replies after the last probe (syn engine).
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    pub wait: u64,
    /// Send raw frames on this interface instead of the routed one (syn engine).
    #[arg(long, value_name = "NAME")]
    pub interface: Option<String>,
    /// Source address of raw frames instead of the interface's (syn engine).
    #[arg(long, value_name = "ADDR")]
    pub source_ip: Option<std::net::Ipv4Addr>,
    /// MAC of the next hop instead of the neighbour table's entry (syn engine).
    #[arg(long, value_name = "MAC")]
    pub router_mac: Option<String>,
    /// Probes per second any one host receives on average at most (syn engine).
    #[arg(long, value_name = "PPS")]
    pub max_rate_per_host: Option<u64>,
    /// Sending threads (syn engine; default: one per CPU).
    #[arg(long, value_name = "N")]
    pub senders: Option<usize>,
    /// How raw frames are handed to the kernel (syn engine).
    #[arg(long, value_enum, default_value_t = SendPathArg::Sendmmsg)]
    pub send_path: SendPathArg,
    /// Seed of the probe order; the same seed gives the same order.
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Output format on stdout.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
    /// Confirm a scan of more than 2^24 addresses.
    #[arg(long)]
    pub yes: bool,
    /// Walk only shard I of N (1 <= I <= N): the I-th of N contiguous slices of the probe
    /// order. Shards of the same --seed together probe every pair exactly once.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    /// Save the scan's position to FILE every second and, when FILE exists, continue from it.
    /// Use the same command (and --seed, or the one saved) to resume; the file is removed
    /// when the scan completes. Ports found just before a kill may be reported twice; use
    /// -o ndjson or csv so that a killed run has printed what it found.
    #[arg(long, value_name = "FILE")]
    pub resume: Option<PathBuf>,
    /// Seconds between two saves of the resume file.
    #[arg(long, value_name = "S", default_value_t = 1, requires = "resume")]
    pub checkpoint_every: u64,
    /// Only find open ports: no banner read, no probes, no service identification.
    #[arg(long)]
    pub no_identify: bool,
    /// Open ports being identified at once, at most (each with a few probes in turn).
    #[arg(long, value_name = "N", default_value_t = 256)]
    pub identify_concurrency: usize,
    /// Directory of operator signatures (`*.toml`, Recog `*.xml`) compiled with the built-in
    /// ones, after those of the config's `[identify] signatures_dirs`; repeatable.
    #[arg(long = "signatures-dir", value_name = "DIR", conflicts_with = "no_identify")]
    pub signatures_dirs: Vec<PathBuf>,
    /// Configuration file, for its `[identify] signatures_dirs` (default:
    /// /etc/sonde/sonde.toml when it exists).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Do not look up the names of hosts with open ports (reverse DNS).
    #[arg(long, conflicts_with = "dns_server")]
    pub no_dns: bool,
    /// Ask this resolver (ADDRESS or ADDRESS:PORT) for host names instead of the system's;
    /// repeat for more.
    #[arg(long, value_name = "ADDR")]
    pub dns_server: Vec<String>,
}

/// Engines as named on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EngineArg {
    /// SYN where raw sockets are allowed and the target is not local, connect otherwise.
    Auto,
    /// TCP connect: no privilege needed.
    Connect,
    /// Raw-socket SYN: needs CAP_NET_RAW; cannot scan loopback.
    Syn,
}

/// Paths of the connect engine, as named on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ConnectBackendArg {
    /// io_uring where this kernel and sandbox allow it, epoll otherwise.
    Auto,
    /// io_uring: connects submitted in batches with linked timeouts; fails if unavailable.
    Uring,
    /// tokio's epoll reactor.
    Epoll,
}

/// How the syn engine hands frames to the kernel, as named on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SendPathArg {
    /// One sendmmsg call per batch of frames.
    Sendmmsg,
    /// A PACKET_MMAP TX ring, flushed once per batch.
    TxRing,
    /// io_uring: one SENDMSG per frame, one system call per batch.
    IoUring,
}

/// Output formats of `sonde scan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Aligned columns for people, at the end.
    Table,
    /// One JSON document at the end.
    Json,
    /// One JSON object per open port, as soon as it is found.
    Ndjson,
    /// CSV with a header, one row per open port as found.
    Csv,
}

/// `sonde serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Configuration file (default: /etc/sonde/sonde.toml when it exists).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Directory of the store (overrides the config).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Address and port of the console and API (overrides the config).
    #[arg(long, value_name = "ADDR:PORT")]
    pub listen: Option<String>,
}

/// `sonde doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Configuration file, for its data directory.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Directory of the store to check (overrides the config).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

/// `sonde validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Configuration file to check.
    #[arg(long, value_name = "FILE", default_value = crate::config::PACKAGED_CONFIG)]
    pub config: PathBuf,
}

/// `sonde schedule ...`.
#[derive(Debug, Subcommand)]
pub enum ScheduleCommand {
    /// List the schedules: id, name, rule, next run, targets.
    List(ScheduleStoreArgs),
    /// Add a schedule; prints its id.
    #[command(after_help = "Examples:\n  sonde schedule add --name nightly --cron '0 3 * * *' \
        --timezone Europe/Paris 10.0.0.0/16 -p 22,80,443\n  \
        sonde schedule add --name dmz --every-hours 6 192.0.2.0/24")]
    Add(ScheduleAddArgs),
    /// Remove a schedule (its past scans stay).
    Rm(ScheduleRmArgs),
}

/// Where the schedules are stored.
#[derive(Debug, Args)]
pub struct ScheduleStoreArgs {
    /// Configuration file, for its data directory.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Directory of the store (overrides the config).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

/// `sonde schedule add`.
#[derive(Debug, Args)]
pub struct ScheduleAddArgs {
    /// Where the schedules are stored.
    #[command(flatten)]
    pub store: ScheduleStoreArgs,
    /// A name for people.
    #[arg(long)]
    pub name: String,
    /// Targets: addresses, CIDRs, ranges or hostnames.
    #[arg(value_name = "TARGETS", required = true)]
    pub targets: Vec<String>,
    /// Ports (default: the appliance's at each run).
    #[arg(short, long, value_name = "PORTS")]
    pub ports: Option<String>,
    /// UDP ports each run probes too, after the TCP ones (e.g. 53,123,161).
    #[arg(long = "udp-ports", value_name = "PORTS")]
    pub udp_ports: Option<String>,
    /// Probes per second (default: the appliance's at each run).
    #[arg(long, value_name = "PPS")]
    pub rate: Option<u64>,
    /// Never probe these targets.
    #[arg(long, value_name = "TARGETS", value_delimiter = ',')]
    pub exclude: Vec<String>,
    /// Cron expression: `minute hour day-of-month month day-of-week`.
    #[arg(
        long,
        value_name = "EXPR",
        required_unless_present = "every_hours",
        conflicts_with = "every_hours"
    )]
    pub cron: Option<String>,
    /// Run every N hours, the first run at once.
    #[arg(long, value_name = "N")]
    pub every_hours: Option<u32>,
    /// IANA time zone of the cron expression.
    #[arg(long, value_name = "ZONE", default_value = "UTC")]
    pub timezone: String,
}

/// `sonde schedule rm`.
#[derive(Debug, Args)]
pub struct ScheduleRmArgs {
    /// Where the schedules are stored.
    #[command(flatten)]
    pub store: ScheduleStoreArgs,
    /// Id of the schedule.
    #[arg(value_name = "ID")]
    pub id: i64,
}

/// `sonde export`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  sonde export --scan 3 --format nmap-xml -o scan3.xml\n  \
    sonde export --scan 3 --format csv --data-dir /var/lib/sonde\n  \
    sonde export --query 'subnet=10.0.0.0/24&port=22' --format nmap-xml\n  \
    sonde export --query 'service=http&q=nginx' --format csv")]
pub struct ExportArgs {
    /// Configuration file, for its data directory.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Directory of the store (overrides the config).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Id of the scan to export.
    #[arg(long, value_name = "ID", required_unless_present = "query", conflicts_with = "query")]
    pub scan: Option<i64>,
    /// Export the hosts matching FILTERS instead of a scan, every open port of each: the
    /// filters of `GET /api/v1/hosts`, as `key=value` pairs joined by `&` (keys `subnet`,
    /// `port`, `service`, `product`, `q`); an empty string exports every host.
    #[arg(long, value_name = "FILTERS")]
    pub query: Option<String>,
    /// Document format.
    #[arg(long, value_enum, default_value_t = ExportFormatArg::Json)]
    pub format: ExportFormatArg,
    /// Write to FILE instead of stdout.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Formats of `sonde export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormatArg {
    /// The scan and its hosts with their ports, as the API's JSON.
    Json,
    /// One row per open port, with a header.
    Csv,
    /// Nmap's XML output format, for tools that read `nmap -oX`.
    NmapXml,
}

/// `sonde signatures ...`.
#[derive(Debug, Subcommand)]
pub enum SignaturesCommand {
    /// Run every example and negative example of the built-in signatures, of the `*.toml`
    /// files and of the Rapid7 Recog `*.xml` databases in DIRs (compiled together); list what
    /// fails. Exits 1 on failures, 2 when a file
    /// does not load.
    Test(SignaturesTestArgs),
}

/// `sonde signatures test`.
#[derive(Debug, Args)]
pub struct SignaturesTestArgs {
    /// Directories of signature files (`*.toml`, Recog `*.xml`) to compile alongside the
    /// built-in ones.
    #[arg(value_name = "DIR")]
    pub dirs: Vec<PathBuf>,
}

/// `sonde token ...`.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an API token; prints it alone on the last line of stdout. Only its hash is
    /// stored: keep it now.
    Create(TokenCreateArgs),
}

/// `sonde token create`.
#[derive(Debug, Args)]
pub struct TokenCreateArgs {
    /// Configuration file, for its data directory.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Directory of the store (overrides the config).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// A name that says who or what uses the token.
    #[arg(long)]
    pub name: String,
    /// The user the token acts as (default: the first admin).
    #[arg(long, value_name = "NAME")]
    pub user: Option<String>,
}

/// `sonde user ...`.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user; asks for the password twice, or reads one line with --password-stdin.
    Add(UserAddArgs),
    /// List users and their roles.
    List(StoreArgs),
    /// Set a user's password (ends their sessions).
    Passwd(UserPasswdArgs),
}

/// Where the store is, for commands that only need it.
#[derive(Debug, Args)]
pub struct StoreArgs {
    /// Configuration file, for its data directory.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Directory of the store (overrides the config).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

/// `sonde user add`.
#[derive(Debug, Args)]
pub struct UserAddArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// What the user may do.
    #[arg(long, value_enum)]
    pub role: RoleArg,
    /// Read the password from the first line of stdin instead of prompting.
    #[arg(long)]
    pub password_stdin: bool,
    /// Login name.
    pub name: String,
}

/// `sonde user passwd`.
#[derive(Debug, Args)]
pub struct UserPasswdArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Read the password from the first line of stdin instead of prompting.
    #[arg(long)]
    pub password_stdin: bool,
    /// Login name.
    pub name: String,
}

/// A role on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RoleArg {
    /// Everything, including users.
    Admin,
    /// Scans and hosts.
    Operator,
    /// Read-only.
    Viewer,
}

/// `sonde db ...`.
#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Create the store's tables, or bring them up to this version's schema.
    Migrate(DbMigrateArgs),
    /// Copy every table of one store into another, empty one, then check both hold the same.
    #[command(
        after_help = "Example:\n  sonde db copy --from sqlite:///var/lib/sonde/sonde.db \\\n    \
        --to postgres://sonde@db.example/sonde"
    )]
    Copy(DbCopyArgs),
}

/// `sonde db migrate`.
#[derive(Debug, Args)]
pub struct DbMigrateArgs {
    /// Configuration file, for its database URL or data directory.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Directory of the SQLite store (overrides the config).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Database to migrate (overrides the config): `sqlite://PATH` or `postgres://...`.
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
}

/// `sonde db copy`.
#[derive(Debug, Args)]
pub struct DbCopyArgs {
    /// Store to read: `sqlite://PATH` or `postgres://...`. It is migrated first.
    #[arg(long, value_name = "URL")]
    pub from: String,
    /// Store to write, migrated first: `sqlite://PATH?mode=rwc` creates a SQLite file.
    #[arg(long, value_name = "URL")]
    pub to: String,
    /// Replace what the destination holds instead of refusing a non-empty one.
    #[arg(long)]
    pub force: bool,
    /// Rows per INSERT batch.
    #[arg(long, default_value_t = 500, value_name = "ROWS")]
    pub batch: usize,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn scan_accepts_the_documented_flags() {
        let cli = Cli::try_parse_from(normalize_args(
            [
                "sonde",
                "scan",
                "10.0.0.0/24",
                "-p",
                "22,80",
                "--exclude",
                "10.0.0.5,10.0.0.6",
                "-iL",
                "t.txt",
                "--engine",
                "connect",
                "--rate",
                "500",
                "--timeout",
                "300",
                "--retries",
                "2",
                "--seed",
                "7",
                "--wait",
                "250",
                "--interface",
                "sl0",
                "--source-ip",
                "169.254.77.1",
                "--router-mac",
                "02:5d:6c:00:00:02",
                "-o",
                "ndjson",
            ]
            .map(Into::into),
        ))
        .unwrap();
        let Command::Scan(a) = cli.command else { panic!("not scan") };
        assert_eq!(a.targets, ["10.0.0.0/24"]);
        assert_eq!(a.exclude, ["10.0.0.5", "10.0.0.6"]);
        assert_eq!(a.input_list, [PathBuf::from("t.txt")]);
        assert_eq!(a.engine, EngineArg::Connect);
        assert_eq!(a.output, OutputFormat::Ndjson);
        assert_eq!(a.seed, Some(7));
        assert_eq!(a.wait, 250);
        assert_eq!(a.interface.as_deref(), Some("sl0"));
        assert_eq!(a.source_ip, Some(std::net::Ipv4Addr::new(169, 254, 77, 1)));
        assert_eq!(a.router_mac.as_deref(), Some("02:5d:6c:00:00:02"));
    }
}
