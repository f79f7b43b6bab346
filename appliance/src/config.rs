//! The appliance's configuration: parsed from TOML, then validated once into [`Settings`],
//! values that cannot be invalid.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use sonde_scanner::{
    BannerConfig, ConnectBackend, DockerEndpoint, DockerTls, EngineKind, MAX_CONNECT_THREADS,
    PortList, RdnsConfig, TargetSet, default_excludes,
};

use crate::error::UsageError;

/// Where packaged installs keep their configuration.
pub const PACKAGED_CONFIG: &str = "/etc/sonde/sonde.toml";

/// The file as written by the operator. Every field is optional; absent ones take defaults.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The HTTP server and the state directory.
    #[serde(default)]
    pub server: ServerConfig,
    /// Defaults for scans started from the API.
    #[serde(default)]
    pub scan: ScanConfig,
    /// Follow-up probes on open ports.
    #[serde(default)]
    pub probe: ProbeConfig,
    /// Service identification.
    #[serde(default)]
    pub identify: IdentifyConfig,
    /// Reverse DNS of live hosts.
    #[serde(default)]
    pub dns: DnsConfig,
    /// Docker engines whose containers and networks become hosts and subnets.
    #[serde(default)]
    pub docker: DockerConfig,
    /// This appliance among others sharing a PostgreSQL store.
    #[serde(default)]
    pub cluster: crate::fleet::ClusterConfig,
}

/// `[docker]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DockerConfig {
    /// Engine API endpoints: `unix:///var/run/docker.sock`, `tcp://host:2376` (default none).
    #[serde(default)]
    pub endpoints: Vec<String>,
    /// Seconds between two reads of every endpoint (default 60).
    pub interval_secs: Option<u64>,
    /// CA certificate (PEM) that signed the engines' certificates, for `tcp://` endpoints.
    pub tls_ca: Option<PathBuf>,
    /// Client certificate (PEM) Sonde presents to `tcp://` endpoints.
    pub tls_cert: Option<PathBuf>,
    /// Its private key (PEM).
    pub tls_key: Option<PathBuf>,
}

/// Validated `[docker]`.
#[derive(Debug, Clone, Default)]
pub struct DockerSettings {
    /// Endpoints to read, in the order given.
    pub endpoints: Vec<DockerEndpoint>,
    /// Time between two reads.
    pub interval: Duration,
}

/// `[dns]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DnsConfig {
    /// Look up the names of live hosts (default true).
    pub enabled: Option<bool>,
    /// Resolvers as `ADDRESS` or `ADDRESS:PORT` (default: the system's, from /etc/resolv.conf).
    #[serde(default)]
    pub servers: Vec<String>,
    /// Milliseconds one lookup may take (default 2000).
    pub timeout_ms: Option<u64>,
    /// Lookups started per second at most (default 200).
    pub rate: Option<u32>,
    /// Keep a PTR name only when it resolves back to the address (default false).
    pub forward_confirm: Option<bool>,
}

/// `[server]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Address and port of the console and API (default `127.0.0.1:8080`).
    pub listen: Option<String>,
    /// Directory of the SQLite store and the lock file.
    pub data_dir: Option<PathBuf>,
    /// Serve HTTPS (default: off when `listen` is a loopback address, on otherwise).
    pub tls: Option<bool>,
    /// PEM certificate chain; without it (and `tls_key`) a self-signed certificate is made at
    /// first start under `<data_dir>/tls/` and reused.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of `tls_cert`.
    pub tls_key: Option<PathBuf>,
    /// The store's database: `postgres://USER@HOST/DATABASE` (several appliances, one store)
    /// or `sqlite://PATH`; absent, the SQLite file `sonde.db` in the data directory.
    pub database_url: Option<String>,
}

/// `[scan]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScanConfig {
    /// Probes per second for scans that do not set their own rate (default 10000).
    pub rate: Option<u64>,
    /// Milliseconds one connect attempt may wait (default 1000).
    pub timeout_ms: Option<u64>,
    /// Extra attempts for silent ports (default 1).
    pub retries: Option<u8>,
    /// Connections in flight per scan at most (default 1024).
    pub concurrency: Option<usize>,
    /// Ports of scans that do not name any (default: the top 100).
    pub ports: Option<String>,
    /// Addresses no scan may touch, on top of the default exclusions.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Whether multicast, reserved space and 0.0.0.0/8 are excluded (default true).
    pub default_excludes: Option<bool>,
    /// Size of the subnets scans are split into, one scanner each (default 24).
    pub subnet_prefix: Option<u8>,
    /// Subnet scanners running at once per scan (default 16).
    pub parallel_subnets: Option<usize>,
    /// Probing engine: `auto` (default: SYN where raw sockets may be opened and the targets
    /// are not loopback, connect otherwise), `connect` or `syn`.
    pub engine: Option<String>,
    /// Path of the connect engine: `auto` (default: io_uring where this kernel and sandbox
    /// allow it, epoll otherwise), `uring` or `epoll`.
    pub connect_backend: Option<String>,
    /// io_uring rings of the connect engine, one thread each (default 0: one per CPU).
    pub connect_threads: Option<usize>,
}

/// `[probe]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbeConfig {
    /// Milliseconds to wait for a banner (default 1500).
    pub banner_timeout_ms: Option<u64>,
    /// Banner reads in flight at most (default 256).
    pub concurrency: Option<usize>,
}

/// `[identify]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentifyConfig {
    /// Directories of operator signatures (`*.toml` in Sonde's format, `*.xml` Rapid7 Recog
    /// databases) compiled with the built-in ones at start-up (default: none).
    #[serde(default)]
    pub signatures_dirs: Vec<PathBuf>,
}

/// Validated settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where the server listens.
    pub listen: SocketAddr,
    /// Where the lock file (and, without `database_url`, the SQLite store) lives.
    pub data_dir: PathBuf,
    /// HTTPS, when on.
    pub tls: Option<TlsSettings>,
    /// The store's database URL; `None` for the SQLite file in `data_dir`.
    pub database_url: Option<String>,
    /// Scan defaults and limits.
    pub scan: ScanSettings,
    /// Prober limits.
    pub probe: ProbeSettings,
    /// Reverse DNS; `None` when turned off.
    pub dns: Option<RdnsConfig>,
    /// Signature directories, in the order given.
    pub signatures_dirs: Vec<PathBuf>,
    /// Docker endpoints and how often to read them.
    pub docker: DockerSettings,
    /// This appliance among others sharing a PostgreSQL store.
    pub cluster: crate::fleet::ClusterSettings,
}

/// Validated TLS settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsSettings {
    /// The operator's certificate chain and key (PEM files).
    Files {
        /// Certificate chain.
        cert: PathBuf,
        /// Private key.
        key: PathBuf,
    },
    /// A self-signed certificate made at first start in `<data_dir>/tls/`.
    SelfSigned,
}

/// Validated `[scan]`.
#[derive(Debug, Clone)]
pub struct ScanSettings {
    /// Default rate, probes per second.
    pub rate: u64,
    /// Per-attempt timeout.
    pub timeout: Duration,
    /// Extra attempts.
    pub retries: u8,
    /// Connections in flight per scan.
    pub concurrency: usize,
    /// Default ports.
    pub ports: PortList,
    /// Everything excluded, defaults included when enabled.
    pub excludes: TargetSet,
    /// Subnet size for the scanners.
    pub subnet_prefix: u8,
    /// Subnet scanners at once per scan.
    pub parallel_subnets: usize,
    /// Which engine scans.
    pub engine: EngineKind,
    /// Which path the connect engine takes.
    pub connect_backend: ConnectBackend,
    /// io_uring rings of the connect engine (0 = one per CPU).
    pub connect_threads: usize,
}

/// Validated `[probe]`.
#[derive(Debug, Clone, Copy)]
pub struct ProbeSettings {
    /// Banner read limits.
    pub banner: BannerConfig,
    /// Reads in flight.
    pub concurrency: usize,
}

/// Overrides from the command line; they win over the file.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    /// `--listen`.
    pub listen: Option<String>,
    /// `--data-dir`.
    pub data_dir: Option<PathBuf>,
}

impl Config {
    /// Reads and parses a config file. Errors name the file, line and column.
    pub fn load(path: &Path) -> Result<Self, UsageError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| UsageError::new(format!("cannot read config {}: {e}", path.display())))?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses config text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self, UsageError> {
        toml::from_str(text).map_err(|e| {
            let at = e
                .span()
                .map(|span| {
                    let before = &text[..span.start.min(text.len())];
                    let line = before.matches('\n').count() + 1;
                    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
                    format!(":{line}:{column}")
                })
                .unwrap_or_default();
            UsageError::new(format!("{origin}{at}: {}", e.message().trim()))
        })
    }

    /// Checks every value and builds the settings, command-line overrides first.
    pub fn validate(self, overrides: &Overrides) -> Result<Settings, UsageError> {
        let listen_text = overrides
            .listen
            .clone()
            .or(self.server.listen)
            .unwrap_or_else(|| "127.0.0.1:8080".to_string());
        let listen: SocketAddr = listen_text.parse().map_err(|_| {
            UsageError::new(format!(
                "listen address `{listen_text}` is not ADDRESS:PORT (e.g. 127.0.0.1:8080)"
            ))
        })?;
        let data_dir =
            overrides.data_dir.clone().or(self.server.data_dir).unwrap_or_else(default_data_dir);
        // Plain HTTP is for development on loopback; anything reachable from the network
        // carries passwords and session cookies, so it gets TLS unless told otherwise.
        let tls_on = self.server.tls.unwrap_or(!listen.ip().is_loopback());
        let tls = match (tls_on, self.server.tls_cert, self.server.tls_key) {
            (false, None, None) => None,
            (false, _, _) => {
                return Err(UsageError::new(
                    "server.tls_cert and server.tls_key are set but server.tls = false: \
                     remove them or turn TLS on",
                ));
            }
            (true, None, None) => Some(TlsSettings::SelfSigned),
            (true, Some(cert), Some(key)) => Some(TlsSettings::Files { cert, key }),
            (true, _, _) => {
                return Err(UsageError::new(
                    "set both server.tls_cert and server.tls_key, or neither for a \
                     self-signed certificate",
                ));
            }
        };
        let database_url = self.server.database_url;
        if let Some(url) = &database_url {
            crate::store::Backend::of_url(url)
                .map_err(|e| UsageError::new(format!("server.database_url: {e}")))?;
        }

        let s = self.scan;
        let rate = s.rate.unwrap_or(10_000);
        if rate == 0 {
            return Err(UsageError::new("scan.rate must be at least 1 probe per second"));
        }
        let timeout_ms = s.timeout_ms.unwrap_or(1000);
        if !(10..=60_000).contains(&timeout_ms) {
            return Err(UsageError::new(format!(
                "scan.timeout_ms = {timeout_ms} is out of range: use 10 to 60000"
            )));
        }
        let retries = s.retries.unwrap_or(1);
        if retries > 10 {
            return Err(UsageError::new(format!(
                "scan.retries = {retries} is too many: use 0 to 10"
            )));
        }
        let concurrency = s.concurrency.unwrap_or(1024);
        if !(1..=65_536).contains(&concurrency) {
            return Err(UsageError::new(format!(
                "scan.concurrency = {concurrency} is out of range: use 1 to 65536"
            )));
        }
        let ports = match &s.ports {
            Some(spec) => {
                PortList::parse(spec).map_err(|e| UsageError::new(format!("scan.ports: {e}")))?
            }
            None => PortList::top(100).map_err(|e| UsageError::new(e.to_string()))?,
        };
        let mut excludes = if s.exclude.is_empty() {
            TargetSet::default()
        } else {
            TargetSet::parse(&s.exclude)
                .map_err(|e| UsageError::new(format!("scan.exclude: {e}")))?
        };
        if s.default_excludes.unwrap_or(true) {
            excludes = excludes.union(&default_excludes());
        }
        let subnet_prefix = s.subnet_prefix.unwrap_or(24);
        if !(8..=32).contains(&subnet_prefix) {
            return Err(UsageError::new(format!(
                "scan.subnet_prefix = {subnet_prefix} is out of range: use 8 to 32"
            )));
        }
        let parallel_subnets = s.parallel_subnets.unwrap_or(16);
        if !(1..=1024).contains(&parallel_subnets) {
            return Err(UsageError::new(format!(
                "scan.parallel_subnets = {parallel_subnets} is out of range: use 1 to 1024"
            )));
        }
        let engine = match &s.engine {
            Some(name) => name
                .parse::<EngineKind>()
                .map_err(|e| UsageError::new(format!("scan.engine: {e}")))?,
            None => EngineKind::Auto,
        };
        let connect_backend = match &s.connect_backend {
            Some(name) => name
                .parse::<ConnectBackend>()
                .map_err(|e| UsageError::new(format!("scan.connect_backend: {e}")))?,
            None => ConnectBackend::Auto,
        };
        let connect_threads = s.connect_threads.unwrap_or(0);
        if connect_threads > MAX_CONNECT_THREADS {
            return Err(UsageError::new(format!(
                "scan.connect_threads = {connect_threads} is too many: use 0 (one per CPU) to \
                 {MAX_CONNECT_THREADS}"
            )));
        }

        let p = self.probe;
        let banner_timeout_ms = p.banner_timeout_ms.unwrap_or(1500);
        if !(10..=60_000).contains(&banner_timeout_ms) {
            return Err(UsageError::new(format!(
                "probe.banner_timeout_ms = {banner_timeout_ms} is out of range: use 10 to 60000"
            )));
        }
        let probe_concurrency = p.concurrency.unwrap_or(256);
        if !(1..=65_536).contains(&probe_concurrency) {
            return Err(UsageError::new(format!(
                "probe.concurrency = {probe_concurrency} is out of range: use 1 to 65536"
            )));
        }

        let signatures_dirs = validate_signatures_dirs(self.identify)?;
        let dns = validate_dns(self.dns)?;
        let docker = validate_docker(self.docker)?;

        let cluster = self.cluster.validate(&crate::commands::serve::hostname())?;
        Ok(Settings {
            dns,
            docker,
            cluster,
            listen,
            signatures_dirs,
            data_dir,
            tls,
            database_url,
            scan: ScanSettings {
                rate,
                timeout: Duration::from_millis(timeout_ms),
                retries,
                concurrency,
                ports,
                excludes,
                subnet_prefix,
                parallel_subnets,
                engine,
                connect_backend,
                connect_threads,
            },
            probe: ProbeSettings {
                banner: BannerConfig {
                    timeout: Duration::from_millis(banner_timeout_ms),
                    ..BannerConfig::default()
                },
                concurrency: probe_concurrency,
            },
        })
    }
}

/// `$XDG_DATA_HOME/sonde`, else `~/.local/share/sonde`, else `./sonde-data`. Packaged installs
/// set `data_dir = "/var/lib/sonde"` in their config.
fn default_data_dir() -> PathBuf {
    if let Some(xdg) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(xdg).join("sonde");
    }
    if let Some(home) = std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(home).join(".local/share/sonde");
    }
    PathBuf::from("sonde-data")
}

/// The `[identify] signatures_dirs`, each a non-empty path (`sonde serve`, `validate`, `scan`).
pub fn validate_signatures_dirs(i: IdentifyConfig) -> Result<Vec<PathBuf>, UsageError> {
    if let Some(empty) = i.signatures_dirs.iter().find(|d| d.as_os_str().is_empty()) {
        return Err(UsageError::new(format!(
            "identify.signatures_dirs has an empty path {empty:?}: name a directory"
        )));
    }
    Ok(i.signatures_dirs)
}

/// Checks `[docker]`: every endpoint parses, TLS files come as a set, the interval is sane.
pub fn validate_docker(d: DockerConfig) -> Result<DockerSettings, UsageError> {
    let tls = match (d.tls_ca, d.tls_cert, d.tls_key) {
        (None, None, None) => None,
        (Some(ca), Some(cert), Some(key)) => Some(DockerTls { ca, cert, key }),
        _ => {
            return Err(UsageError::new(
                "docker: tls_ca, tls_cert and tls_key go together: give all three or none",
            ));
        }
    };
    let endpoints = d
        .endpoints
        .iter()
        .map(|url| {
            // Certificates belong to TCP endpoints; a socket on the same list takes none.
            let tls = if url.starts_with("unix://") { None } else { tls.clone() };
            DockerEndpoint::parse(url, tls)
                .map_err(|e| UsageError::new(format!("docker.endpoints: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let interval_secs = d.interval_secs.unwrap_or(60);
    if !(5..=86_400).contains(&interval_secs) {
        return Err(UsageError::new(format!(
            "docker.interval_secs = {interval_secs} is out of range: use 5 to 86400"
        )));
    }
    Ok(DockerSettings { endpoints, interval: Duration::from_secs(interval_secs) })
}

/// Checks `[dns]`; `None` when it is turned off.
fn validate_dns(d: DnsConfig) -> Result<Option<RdnsConfig>, UsageError> {
    if !d.enabled.unwrap_or(true) {
        return Ok(None);
    }
    let servers = d
        .servers
        .iter()
        .map(|text| {
            text.parse::<SocketAddr>()
                .or_else(|_| text.parse::<std::net::IpAddr>().map(|ip| SocketAddr::new(ip, 53)))
                .map_err(|_| {
                    UsageError::new(format!(
                        "dns.servers: `{text}` is not ADDRESS or ADDRESS:PORT (e.g. 192.0.2.53 or 127.0.0.1:5353)"
                    ))
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let timeout_ms = d.timeout_ms.unwrap_or(2000);
    if !(50..=30_000).contains(&timeout_ms) {
        return Err(UsageError::new(format!(
            "dns.timeout_ms = {timeout_ms} is out of range: use 50 to 30000"
        )));
    }
    let rate = d.rate.unwrap_or(200);
    if !(1..=100_000).contains(&rate) {
        return Err(UsageError::new(format!("dns.rate = {rate} is out of range: use 1 to 100000")));
    }
    Ok(Some(RdnsConfig {
        servers,
        timeout: Duration::from_millis(timeout_ms),
        rate,
        forward_confirm: d.forward_confirm.unwrap_or(false),
        ..RdnsConfig::default()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_config_takes_defaults() {
        let s = Config::parse("", "t").unwrap().validate(&Overrides::default()).unwrap();
        assert_eq!(s.listen, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(s.scan.rate, 10_000);
        assert_eq!(s.scan.ports.len(), 100);
        assert!(s.scan.excludes.contains("224.0.0.1".parse().unwrap()));
        assert!(!s.scan.excludes.contains("127.0.0.1".parse().unwrap()));
    }

    #[test]
    fn overrides_win_over_the_file() {
        let c = Config::parse("[server]\nlisten = \"127.0.0.1:9000\"\ndata_dir = \"/a\"\n", "t")
            .unwrap();
        let s = c
            .validate(&Overrides {
                listen: Some("127.0.0.2:9001".into()),
                data_dir: Some("/b".into()),
            })
            .unwrap();
        assert_eq!(s.listen, "127.0.0.2:9001".parse().unwrap());
        assert_eq!(s.data_dir, PathBuf::from("/b"));
    }

    #[test]
    fn unknown_key_is_named_with_its_position() {
        let e = Config::parse("[server]\nlisten = \"127.0.0.1:8080\"\nbogus = 1\n", "f.toml")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("f.toml:3:1: "), "{e}");
        assert!(e.contains("bogus"), "{e}");
        assert!(!e.contains('\n'), "{e}");
    }

    #[test]
    fn invalid_values_say_what_to_use() {
        let cases = [
            ("[server]\nlisten = \"nope\"", "not ADDRESS:PORT"),
            ("[server]\ndatabase_url = \"mysql://h/db\"", "server.database_url"),
            ("[scan]\nrate = 0", "scan.rate"),
            ("[identify]\nsignatures_dirs = [\"\"]", "identify.signatures_dirs"),
            ("[scan]\ntimeout_ms = 1", "scan.timeout_ms"),
            ("[scan]\nports = \"70000\"", "scan.ports"),
            ("[scan]\nexclude = [\"10.0.0.0/33\"]", "scan.exclude"),
            ("[scan]\nsubnet_prefix = 40", "scan.subnet_prefix"),
            ("[scan]\nengine = \"turbo\"", "scan.engine"),
            ("[scan]\nconnect_backend = \"kqueue\"", "scan.connect_backend"),
            ("[scan]\nconnect_threads = 100000", "scan.connect_threads"),
            ("[probe]\nconcurrency = 0", "probe.concurrency"),
            ("[server]\ntls_cert = \"/c.pem\"", "server.tls_cert and server.tls_key"),
            ("[server]\ntls = true\ntls_key = \"/k.pem\"", "both server.tls_cert"),
        ];
        for (text, expected) in cases {
            let e = Config::parse(text, "t")
                .and_then(|c| c.validate(&Overrides::default()))
                .unwrap_err()
                .to_string();
            assert!(e.contains(expected), "{text}: {e}");
        }
    }

    #[test]
    fn the_packaged_config_is_valid() {
        let text = include_str!("../../packaging/sonde.toml");
        let s = Config::parse(text, "sonde.toml").unwrap().validate(&Overrides::default()).unwrap();
        assert_eq!(s.data_dir, PathBuf::from("/var/lib/sonde"));
    }

    #[test]
    fn tls_is_on_off_loopback_unless_told() {
        let tls = |text: &str| {
            Config::parse(text, "t").unwrap().validate(&Overrides::default()).unwrap().tls
        };
        assert_eq!(tls(""), None, "plain HTTP on 127.0.0.1 for development");
        assert_eq!(tls("[server]\nlisten = \"0.0.0.0:8443\""), Some(TlsSettings::SelfSigned));
        assert_eq!(tls("[server]\nlisten = \"0.0.0.0:8080\"\ntls = false"), None);
        assert_eq!(tls("[server]\ntls = true"), Some(TlsSettings::SelfSigned));
        assert_eq!(
            tls("[server]\ntls_cert = \"/c.pem\"\ntls_key = \"/k.pem\"\nlisten = \"[::]:443\""),
            Some(TlsSettings::Files { cert: "/c.pem".into(), key: "/k.pem".into() })
        );
    }

    #[test]
    fn default_excludes_can_be_turned_off() {
        let s = Config::parse("[scan]\ndefault_excludes = false", "t")
            .unwrap()
            .validate(&Overrides::default())
            .unwrap();
        assert!(s.scan.excludes.is_empty());
    }
}
