//! The JSON types of the REST API and of the event stream: the contract with API clients.

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// The lifecycle of a scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ScanStatus {
    /// Accepted, waiting for the supervisor.
    Queued,
    /// Probes are being sent.
    Running,
    /// Every probe was sent and every result stored.
    Completed,
    /// Stopped by an operator; what was found until then is stored.
    Cancelled,
    /// Stopped by an error (or by a restart of the appliance while it ran).
    Failed,
}

impl ScanStatus {
    /// The name used in the API and in the store.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Completed => "completed",
            Self::Cancelled => "cancelled",
            Self::Failed => "failed",
        }
    }

    /// Parses the name used in the API and in the store.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "queued" => Self::Queued,
            "running" => Self::Running,
            "completed" => Self::Completed,
            "cancelled" => Self::Cancelled,
            "failed" => Self::Failed,
            _ => return None,
        })
    }

    /// True once the scan will change no more.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Completed | Self::Cancelled | Self::Failed)
    }
}

/// `POST /api/v1/scans`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScanRequest {
    /// Addresses, CIDRs, ranges (`a.b.c.d-e.f.g.h`) or hostnames.
    pub targets: Vec<String>,
    /// Port list such as `22,80,8000-8100`, or `top:N` for the `N` most common ports (N up
    /// to 1000); defaults to the top 100 ports.
    #[serde(default)]
    pub ports: Option<String>,
    /// UDP ports such as `53,123,161`, probed over the same targets after the TCP ports (none
    /// when absent). Any port from 1 to 65535 is accepted; those with a built-in UDP probe
    /// (DNS 53, NTP 123, SNMP 161, ...) get their protocol's request, the others an empty
    /// datagram, which many services ignore. `top:N` is refused: it ranks TCP services. A
    /// port that answers is stored as `udp`; a closed or silent one stores nothing. To scan
    /// only UDP, send `"ports": ""`. Appliances sharing a store do not split a scan with UDP
    /// ports into chunks: the one that receives it runs it.
    #[serde(default)]
    pub udp_ports: Option<String>,
    /// Probes per second; defaults to the appliance's configured rate.
    #[serde(default)]
    pub rate: Option<u64>,
    /// Extra exclusions on top of the appliance's exclude list.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Seed of the probe order; random when absent.
    #[serde(default)]
    pub seed: Option<u64>,
    /// Which engine probes this scan; the appliance's configured engine when absent.
    #[serde(default)]
    pub engine: Option<ScanEngine>,
}

/// The engine of one scan, overriding the appliance's configured one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ScanEngine {
    /// SYN where the appliance may open raw sockets and the target is not local; connect
    /// otherwise.
    Auto,
    /// TCP connect: works everywhere, slower.
    Connect,
    /// Raw-socket SYN: needs `CAP_NET_RAW`; the scan fails if the appliance lacks it.
    Syn,
}

/// The answer to `POST /api/v1/scans`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ScanCreated {
    /// The new scan's id.
    pub id: i64,
    /// Always `queued` on creation.
    pub status: ScanStatus,
}

/// Counters of a scan, as stored and as sent in progress events.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ScanCounters {
    /// (address, port) pairs the scan will probe.
    pub probes_total: u64,
    /// Probes sent so far, retries included.
    pub probes_sent: u64,
    /// (address, port) pairs whose outcome is known.
    pub probes_done: u64,
    /// Replies received (open or closed).
    pub replies: u64,
    /// Open ports found.
    pub open_ports: u64,
    /// Distinct hosts with at least one open port.
    pub hosts_up: u64,
    /// Current rate in probes per second.
    pub rate_pps: f64,
    /// Estimated seconds to completion, when known.
    pub eta_seconds: Option<f64>,
}

/// A scan as listed by `GET /api/v1/scans` and `GET /api/v1/scans/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ScanView {
    /// Scan id.
    pub id: i64,
    /// Current status.
    pub status: ScanStatus,
    /// Targets as requested.
    pub targets: Vec<String>,
    /// Port list as resolved (canonical form).
    pub ports: String,
    /// UDP port list (canonical form); empty when the scan probed no UDP port.
    #[serde(default)]
    pub udp_ports: String,
    /// Rate in probes per second.
    pub rate: u64,
    /// Seed of the probe order.
    pub seed: u64,
    /// Counters at the last update.
    pub counters: ScanCounters,
    /// Why the scan failed, when it did.
    pub error: Option<String>,
    /// Creation time, RFC 3339 (UTC).
    pub created_at: String,
    /// When it started running.
    pub started_at: Option<String>,
    /// When it reached a final status.
    pub finished_at: Option<String>,
}

/// Filters and paging of `GET /api/v1/hosts`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct HostQuery {
    /// Only hosts inside this CIDR (`10.0.0.0/24`).
    #[serde(default)]
    pub subnet: Option<String>,
    /// Only hosts with this port open.
    #[serde(default)]
    pub port: Option<u16>,
    /// Only hosts running this service (`ssh`, `http`...).
    #[serde(default)]
    pub service: Option<String>,
    /// Only hosts running this product (`OpenSSH`), ignoring case.
    #[serde(default)]
    pub product: Option<String>,
    /// Text search: an address prefix (`10.1.`), or words found in a service, product,
    /// detail or banner, ignoring case.
    #[serde(default)]
    pub q: Option<String>,
    /// Order of the rows; by address when absent.
    #[serde(default)]
    pub sort: Option<HostSort>,
    /// Page size (1..=1000, default 100).
    #[serde(default)]
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// Rows to skip.
    #[serde(default)]
    pub offset: Option<u64>,
}

/// Orders of `GET /api/v1/hosts`; a leading `-` sorts descending. Ties go by address.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum HostSort {
    /// Address, ascending.
    #[default]
    #[serde(rename = "ip")]
    Ip,
    /// Address, descending.
    #[serde(rename = "-ip")]
    IpDesc,
    /// Number of open ports, fewest first.
    #[serde(rename = "ports")]
    Ports,
    /// Number of open ports, most first.
    #[serde(rename = "-ports")]
    PortsDesc,
    /// First seen, oldest first.
    #[serde(rename = "first_seen")]
    FirstSeen,
    /// First seen, newest first.
    #[serde(rename = "-first_seen")]
    FirstSeenDesc,
    /// Last seen, oldest first.
    #[serde(rename = "last_seen")]
    LastSeen,
    /// Last seen, newest first.
    #[serde(rename = "-last_seen")]
    LastSeenDesc,
}

/// A page of results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Page<T> {
    /// Rows matching the filter, in all pages.
    pub total: u64,
    /// Rows skipped.
    pub offset: u64,
    /// Page size used.
    pub limit: u32,
    /// This page.
    pub items: Vec<T>,
}

/// A host in the hosts list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HostSummary {
    /// IPv4 address.
    #[schema(value_type = String, format = Ipv4)]
    pub ip: Ipv4Addr,
    /// Open ports, ascending.
    pub open_ports: Vec<u16>,
    /// First time anything was found open on it, RFC 3339.
    pub first_seen: String,
    /// Last time anything was found open on it, RFC 3339.
    pub last_seen: String,
    /// Its Ethernet address, when it is on a link the appliance sits on and answered ARP.
    #[serde(default)]
    pub mac: Option<String>,
    /// The organisation the IEEE registries assign the MAC's prefix to.
    #[serde(default)]
    pub vendor: Option<String>,
    /// The machine this address belongs to (`/api/v1/machines/{id}`); `null` until the scan
    /// that found it ends, for hosts with no MAC.
    #[serde(default)]
    pub machine_id: Option<i64>,
    /// The machine's other addresses now (a multi-homed machine).
    #[serde(default)]
    #[schema(schema_with = ipv4_list)]
    pub also_seen_at: Vec<Ipv4Addr>,
}

/// One open port of a host with what is known about the service behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PortView {
    /// Port number.
    pub port: u16,
    /// `tcp`, or `udp` when a UDP probe got an answer.
    pub proto: String,
    /// `open`.
    pub state: String,
    /// Service name (`ssh`, `http`...), when identified.
    pub service: Option<String>,
    /// Product (`OpenSSH`), when identified.
    pub product: Option<String>,
    /// Version, when identified.
    pub version: Option<String>,
    /// Who makes the product, when identified.
    #[serde(default)]
    pub vendor: Option<String>,
    /// More detail (distribution, device model...); attacker-controlled text.
    #[serde(default)]
    pub info: Option<String>,
    /// CPE 2.3 name of the product.
    #[serde(default)]
    pub cpe: Option<String>,
    /// Id of the signature that matched; absent for a guess from the port number.
    #[serde(default)]
    pub signature: Option<String>,
    /// How sure the identification is, 0..=100.
    pub confidence: Option<u8>,
    /// The start of the banner, lossily decoded; attacker-controlled text.
    pub banner: Option<String>,
    /// Round-trip time of the probe that found it, milliseconds.
    pub rtt_ms: Option<f64>,
    /// What the port's TLS handshake showed, when it speaks TLS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsView>,
    /// Scan that saw it last.
    pub last_scan_id: i64,
    /// RFC 3339.
    pub first_seen: String,
    /// RFC 3339.
    pub last_seen: String,
}

/// A TLS handshake as the `tls` probe saw it. Names in it are attacker-controlled text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TlsView {
    /// `TLSv1.2` or `TLSv1.3`.
    pub version: String,
    /// ALPN protocol the server picked.
    pub alpn: Option<String>,
    /// Cipher suite, e.g. `TLS13_AES_256_GCM_SHA384`.
    pub cipher: String,
    /// The server's certificate, when it sent one that parses.
    pub cert: Option<CertView>,
}

/// The summary of a server certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CertView {
    /// Subject, `CN=x, O=y` in certificate order.
    pub subject: String,
    /// Issuer, same form.
    pub issuer: String,
    /// Subject alternative names (DNS names, addresses, e-mails, URIs).
    pub san: Vec<String>,
    /// Start of validity, RFC 3339.
    pub not_before: String,
    /// End of validity, RFC 3339.
    pub not_after: String,
    /// Serial number, colon-separated hex.
    pub serial: String,
    /// SHA-256 of the DER certificate, lowercase hex.
    pub sha256: String,
    /// `RSA 2048`, `EC 256`, `Ed25519`...
    pub key_type: String,
    /// Whether the issuer is the subject.
    pub self_signed: bool,
}

/// `GET /api/v1/hosts/{ip}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct HostDetail {
    /// IPv4 address.
    #[schema(value_type = String, format = Ipv4)]
    pub ip: Ipv4Addr,
    /// RFC 3339.
    pub first_seen: String,
    /// RFC 3339.
    pub last_seen: String,
    /// Its Ethernet address, when it is on a link the appliance sits on and answered ARP.
    #[serde(default)]
    pub mac: Option<String>,
    /// The organisation the IEEE registries assign the MAC's prefix to.
    #[serde(default)]
    pub vendor: Option<String>,
    /// Open ports, ascending.
    pub ports: Vec<PortView>,
    /// Names of the host, most trusted first (see [`HostnameSource`]).
    #[serde(default)]
    pub hostnames: Vec<Hostname>,
    /// A name the operator gave it; scans never change it.
    #[serde(default)]
    pub name: Option<String>,
    /// The operator's note; scans never change it.
    #[serde(default)]
    pub note: Option<String>,
    /// The operator's tags; scans never change them.
    #[serde(default)]
    pub tags: Vec<String>,
    /// What scans changed on this host, newest first (at most [`HISTORY_LIMIT`] entries).
    /// The history is the machine's: it follows the host across addresses.
    #[serde(default)]
    pub history: Vec<HistoryEntry>,
    /// The machine this address belongs to (`/api/v1/machines/{id}`).
    #[serde(default)]
    pub machine_id: Option<i64>,
    /// The machine's other addresses now (a multi-homed machine).
    #[serde(default)]
    #[schema(schema_with = ipv4_list)]
    pub also_seen_at: Vec<Ipv4Addr>,
    /// Addresses the machine was seen at before and no longer is, most recent first.
    #[serde(default)]
    #[schema(schema_with = ipv4_list)]
    pub previously_at: Vec<Ipv4Addr>,
}

/// `GET /api/v1/machines/{id}`: one machine, known by its MAC when ARP gave one, else by its
/// address, with every address it was seen at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MachineView {
    /// Id, stable across address changes.
    pub id: i64,
    /// Its Ethernet address, when known; machines without one are known by their address.
    pub mac: Option<String>,
    /// The organisation the IEEE registries assign the MAC's prefix to.
    pub vendor: Option<String>,
    /// RFC 3339.
    pub first_seen: String,
    /// RFC 3339.
    pub last_seen: String,
    /// Its addresses now, ascending (several for a multi-homed machine).
    #[schema(schema_with = ipv4_list)]
    pub addresses: Vec<Ipv4Addr>,
    /// Addresses it was seen at before and no longer is, most recent first.
    #[schema(schema_with = ipv4_list)]
    pub previously_at: Vec<Ipv4Addr>,
}

/// Entries of [`HostDetail::history`] served at most.
pub const HISTORY_LIMIT: usize = 200;

/// Who said a host has a name, in the order of trust the appliance uses (most trusted first):
/// a name from DNS (a PTR record) is preferred to one a service gave about itself, which is
/// preferred to the bare address. Among services, a certificate's names (chosen by whoever
/// issued it) come before the names a daemon prints in its greeting, and an HTTP title (free
/// text for people) comes last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum HostnameSource {
    /// A PTR record (forward-confirmed when the appliance is configured so).
    Dns,
    /// A TLS certificate's names.
    Tls,
    /// An SMB or NetBIOS name.
    Smb,
    /// An SSH identification string that carries a host name.
    Ssh,
    /// The host name of an SMTP greeting (`220 mail.example.com ESMTP`).
    Smtp,
    /// The host name of an FTP greeting.
    Ftp,
    /// The host name of a POP3 greeting (`+OK pop.example.com ready`).
    Pop3,
    /// The host name of an IMAP greeting.
    Imap,
    /// An HTTP page title.
    Http,
}

/// A host name and its source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Hostname {
    /// The name; attacker-controlled text when it came from a service.
    pub name: String,
    /// Who said so.
    pub source: HostnameSource,
}

/// `PATCH /api/v1/hosts/{ip}`: the operator's edits. An absent field is left as it is; an empty
/// `name` or `note` clears it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HostEdit {
    /// A name for the host (at most 200 characters).
    #[serde(default)]
    pub name: Option<String>,
    /// A note (at most 4000 characters).
    #[serde(default)]
    pub note: Option<String>,
    /// Tags, replacing the current ones (at most 50, each 1 to 64 characters).
    #[serde(default)]
    pub tags: Option<Vec<String>>,
}

/// What a service was identified as.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ServiceInfo {
    /// Service name.
    pub service: Option<String>,
    /// Product.
    pub product: Option<String>,
    /// Version.
    pub version: Option<String>,
}

/// A port that opened or closed between two scans.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PortChange {
    /// The host.
    #[schema(value_type = String, format = Ipv4)]
    pub ip: Ipv4Addr,
    /// The port.
    pub port: u16,
    /// `tcp` or `udp`.
    pub proto: String,
    /// Service name as identified by the scan that saw it open.
    pub service: Option<String>,
    /// Product, likewise.
    pub product: Option<String>,
    /// Version, likewise.
    pub version: Option<String>,
}

/// A port open in both scans whose identification changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ServiceChange {
    /// The host.
    #[schema(value_type = String, format = Ipv4)]
    pub ip: Ipv4Addr,
    /// The port.
    pub port: u16,
    /// `tcp` or `udp`.
    pub proto: String,
    /// As the earlier scan saw it.
    pub before: ServiceInfo,
    /// As the later scan saw it.
    pub after: ServiceInfo,
}

/// `GET /api/v1/scans/{id}/changes?against=`: what changed from scan `against` to `scan_id`.
/// Every list is sorted by address, then port.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ScanChanges {
    /// The later scan.
    pub scan_id: i64,
    /// The earlier scan; `null` when none covered the same targets, so everything appeared.
    pub against: Option<i64>,
    /// Hosts with open ports now and none before.
    #[schema(schema_with = ipv4_list)]
    #[schema(schema_with = ipv4_list)]
    pub hosts_appeared: Vec<Ipv4Addr>,
    /// Hosts with open ports before and none now.
    #[schema(schema_with = ipv4_list)]
    #[schema(schema_with = ipv4_list)]
    pub hosts_vanished: Vec<Ipv4Addr>,
    /// Ports open now and not before.
    pub ports_opened: Vec<PortChange>,
    /// Ports open before and not now.
    pub ports_closed: Vec<PortChange>,
    /// Ports open in both whose service, product or version changed.
    pub services_changed: Vec<ServiceChange>,
    /// Machines (known by their MAC) seen at other addresses than before. Their old and new
    /// addresses are not listed as vanished and appeared, and their ports are compared
    /// across the move.
    #[serde(default)]
    pub hosts_moved: Vec<HostMove>,
}

/// A machine seen at a new address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HostMove {
    /// The machine.
    pub machine_id: i64,
    /// Its address in the earlier scan.
    #[schema(value_type = String, format = Ipv4)]
    pub from: Ipv4Addr,
    /// Its address in the later scan.
    #[schema(value_type = String, format = Ipv4)]
    pub to: Ipv4Addr,
}

impl ScanChanges {
    /// True when nothing changed.
    pub fn is_empty(&self) -> bool {
        self.hosts_appeared.is_empty()
            && self.hosts_vanished.is_empty()
            && self.ports_opened.is_empty()
            && self.ports_closed.is_empty()
            && self.services_changed.is_empty()
            && self.hosts_moved.is_empty()
    }
}

/// Query of `GET /api/v1/scans/{id}/changes`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ChangesQuery {
    /// The scan to compare with; by default the previous completed scan of the same targets
    /// and ports.
    #[serde(default)]
    pub against: Option<i64>,
}

/// The schema of a list of IPv4 addresses.
fn ipv4_list() -> utoipa::openapi::Array {
    use utoipa::openapi::{ArrayBuilder, KnownFormat, ObjectBuilder, SchemaFormat, Type};
    let address = ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Ipv4)));
    ArrayBuilder::new().items(address).build()
}

/// One entry of a host's history: a change a scan recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HistoryEntry {
    /// The scan that saw the change.
    pub scan_id: i64,
    /// When it was recorded, RFC 3339.
    pub at: String,
    /// `host_appeared`, `host_vanished`, `host_moved`, `port_opened`, `port_closed` or
    /// `service_changed`.
    pub kind: String,
    /// The address the change was seen at (a host's history follows it across addresses).
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Ipv4)]
    pub ip: Option<Ipv4Addr>,
    /// For `host_moved`: the address it moved from (`ip` is where it moved to).
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Ipv4)]
    pub from: Option<Ipv4Addr>,
    /// The port, for port and service changes.
    pub port: Option<u16>,
    /// `tcp` or `udp`, for port and service changes.
    pub proto: Option<String>,
    /// The identification before (closed and changed ports).
    pub before: Option<ServiceInfo>,
    /// The identification after (opened and changed ports).
    pub after: Option<ServiceInfo>,
}

/// Formats of `GET /api/v1/scans/{id}/export` and `sonde export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ExportFormat {
    /// One JSON document: the scan and its hosts with their ports.
    Json,
    /// One row per open port, with a header.
    Csv,
    /// Nmap's XML output format (`nmaprun`), for tools that read nmap's `-oX`.
    NmapXml,
}

impl ExportFormat {
    /// The media type of the document.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Json => "application/json",
            Self::Csv => "text/csv; charset=utf-8",
            Self::NmapXml => "application/xml",
        }
    }

    /// The usual file extension.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Csv => "csv",
            Self::NmapXml => "xml",
        }
    }
}

/// Query of `GET /api/v1/scans/{id}/export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// `json`, `csv` or `nmap-xml`.
    pub format: ExportFormat,
}

/// Query of `GET /api/v1/hosts/export`: the filters of `GET /api/v1/hosts` and a format.
/// Every matching host is exported, with all its open ports (no paging).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct HostExportQuery {
    /// `json`, `csv` or `nmap-xml`.
    pub format: ExportFormat,
    /// Only hosts inside this CIDR (`10.0.0.0/24`).
    #[serde(default)]
    pub subnet: Option<String>,
    /// Only hosts with this port open.
    #[serde(default)]
    pub port: Option<u16>,
    /// Only hosts running this service (`ssh`, `http`...).
    #[serde(default)]
    pub service: Option<String>,
    /// Only hosts running this product, ignoring case.
    #[serde(default)]
    pub product: Option<String>,
    /// Text search, as in `GET /api/v1/hosts`.
    #[serde(default)]
    pub q: Option<String>,
}

impl HostExportQuery {
    /// The filters alone, as the export document repeats them.
    pub fn filter(&self) -> HostExportFilter {
        HostExportFilter {
            subnet: self.subnet.clone(),
            port: self.port,
            service: self.service.clone(),
            product: self.product.clone(),
            q: self.q.clone(),
        }
    }
}

/// The filters a query export was made with (absent ones are `null`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HostExportFilter {
    /// CIDR.
    pub subnet: Option<String>,
    /// Open port.
    pub port: Option<u16>,
    /// Service.
    pub service: Option<String>,
    /// Product.
    pub product: Option<String>,
    /// Text search.
    pub q: Option<String>,
}

/// The hosts a query matched, with their open ports, as exported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct QueryExport {
    /// When the export was made, RFC 3339 (UTC).
    pub generated_at: String,
    /// The filters.
    pub filter: HostExportFilter,
    /// Matching hosts, ascending by address, with every open port.
    pub hosts: Vec<ExportHost>,
}

/// A host of an export, as the scan saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ExportHost {
    /// IPv4 address.
    #[schema(value_type = String, format = Ipv4)]
    pub ip: Ipv4Addr,
    /// Names, most trusted first.
    pub hostnames: Vec<Hostname>,
    /// The operator's name for it.
    pub name: Option<String>,
    /// Open ports, ascending.
    pub ports: Vec<ExportPort>,
}

/// An open port of an export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ExportPort {
    /// Port number.
    pub port: u16,
    /// `tcp` or `udp`.
    pub proto: String,
    /// `open`.
    pub state: String,
    /// Service name.
    pub service: Option<String>,
    /// Product.
    pub product: Option<String>,
    /// Version.
    pub version: Option<String>,
    /// More detail (nmap's `extrainfo`).
    pub info: Option<String>,
    /// CPE 2.3 name.
    pub cpe: Option<String>,
}

/// A scan with what it found, as exported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ScanExport {
    /// The scan.
    pub scan: ScanView,
    /// Hosts with at least one open port, ascending by address.
    pub hosts: Vec<ExportHost>,
}

/// A row of `GET /api/v1/services`: how many open ports run a service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ServiceCount {
    /// Service name, or `unknown`.
    pub service: String,
    /// Open ports identified as this service.
    pub ports: u64,
    /// Distinct hosts running it.
    pub hosts: u64,
}

/// `POST /api/v1/schedules`: a recurring scan. Exactly one of `cron` and `every_hours`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleRequest {
    /// A name for people.
    pub name: String,
    /// Targets, as for a scan.
    pub targets: Vec<String>,
    /// Extra exclusions, as for a scan.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Ports; the appliance's default at each run when absent.
    #[serde(default)]
    pub ports: Option<String>,
    /// UDP ports, as for a scan; none when absent.
    #[serde(default)]
    pub udp_ports: Option<String>,
    /// Probes per second; the appliance's default at each run when absent.
    #[serde(default)]
    pub rate: Option<u64>,
    /// Cron expression: `minute hour day-of-month month day-of-week` (or with a leading
    /// seconds field), e.g. `0 3 * * Mon-Fri`.
    #[serde(default)]
    pub cron: Option<String>,
    /// Run every N hours (1..=8760), the first run as soon as the schedule is created.
    #[serde(default)]
    pub every_hours: Option<u32>,
    /// IANA time zone of the cron expression (`Europe/Paris`); UTC when absent.
    #[serde(default)]
    pub timezone: Option<String>,
    /// False to keep the schedule without running it; true when absent.
    #[serde(default)]
    pub enabled: Option<bool>,
}

/// `PATCH /api/v1/schedules/{id}`: absent fields are left as they are. Setting `cron` drops
/// `every_hours` and the other way round.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SchedulePatch {
    /// New name.
    #[serde(default)]
    pub name: Option<String>,
    /// New targets.
    #[serde(default)]
    pub targets: Option<Vec<String>>,
    /// New exclusions.
    #[serde(default)]
    pub exclude: Option<Vec<String>>,
    /// New ports.
    #[serde(default)]
    pub ports: Option<String>,
    /// New UDP ports; an empty string for none.
    #[serde(default)]
    pub udp_ports: Option<String>,
    /// New rate.
    #[serde(default)]
    pub rate: Option<u64>,
    /// New cron expression.
    #[serde(default)]
    pub cron: Option<String>,
    /// New period in hours.
    #[serde(default)]
    pub every_hours: Option<u32>,
    /// New time zone.
    #[serde(default)]
    pub timezone: Option<String>,
    /// Pause (false) or resume (true).
    #[serde(default)]
    pub enabled: Option<bool>,
}

/// A schedule as `GET /api/v1/schedules` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ScheduleView {
    /// Schedule id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Targets.
    pub targets: Vec<String>,
    /// Extra exclusions.
    pub exclude: Vec<String>,
    /// Ports, when not the default.
    pub ports: Option<String>,
    /// UDP ports, when the schedule probes some.
    #[serde(default)]
    pub udp_ports: Option<String>,
    /// Rate, when not the default.
    pub rate: Option<u64>,
    /// Cron expression, when it recurs by one.
    pub cron: Option<String>,
    /// Period in hours, when it recurs by one.
    pub every_hours: Option<u32>,
    /// Time zone of the cron expression.
    pub timezone: String,
    /// False while paused.
    pub enabled: bool,
    /// RFC 3339.
    pub created_at: String,
    /// When the last run started, RFC 3339.
    pub last_run_at: Option<String>,
    /// The scan of the last run.
    pub last_scan_id: Option<i64>,
    /// When the next run is due, RFC 3339; absent when paused or when the expression never
    /// fires again. A due time already past means "at the next check", within seconds.
    pub next_run_at: Option<String>,
}

/// An appliance sharing the store, as `GET /api/v1/appliances` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ApplianceView {
    /// Its unique name (`[cluster] name`, by default the hostname).
    pub name: String,
    /// Networks (CIDRs) it can reach.
    pub reach: Vec<String>,
    /// Networks only appliances listing them may scan (a DMZ sensor's).
    pub exclusive: Vec<String>,
    /// Whether it may open raw sockets (the SYN engine).
    pub raw_sockets: bool,
    /// Whether io_uring works there (the connect engine's fast path).
    pub io_uring: bool,
    /// Its Sonde version.
    pub version: String,
    /// When it last (re)started, RFC 3339.
    pub started_at: String,
    /// Its last heartbeat, RFC 3339.
    pub heartbeat_at: String,
    /// Whether its heartbeat is recent enough to count it as running.
    pub alive: bool,
    /// Chunks of shared scans it holds a live lease on now.
    pub leased_chunks: u64,
}

/// `GET /api/v1/health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// `ok` when the store answers.
    pub status: String,
    /// Version of the running binary.
    pub version: String,
}

/// What the event stream carries; `type` names the SSE event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventPayload {
    /// A scan changed status (queued -> running, ...).
    ScanStatus {
        /// Scan id.
        scan_id: i64,
        /// New status.
        status: ScanStatus,
        /// Why, when it failed.
        error: Option<String>,
    },
    /// Progress of a running scan; a few per second at most.
    ScanProgress {
        /// Scan id.
        scan_id: i64,
        /// Counters now.
        counters: ScanCounters,
    },
    /// A host had its first open port stored.
    HostFound {
        /// Scan id.
        scan_id: i64,
        /// The host.
        #[schema(value_type = String, format = Ipv4)]
        ip: Ipv4Addr,
    },
    /// An open port was stored.
    PortFound {
        /// Scan id.
        scan_id: i64,
        /// The host.
        #[schema(value_type = String, format = Ipv4)]
        ip: Ipv4Addr,
        /// The port and its identification; boxed because it dwarfs the other events.
        port: Box<PortView>,
    },
    /// A host appeared or vanished relative to the scan this one was compared with; sent
    /// when the scan ends.
    HostChanged {
        /// Scan id.
        scan_id: i64,
        /// The scan compared with, when there was one.
        against: Option<i64>,
        /// The host.
        #[schema(value_type = String, format = Ipv4)]
        ip: Ipv4Addr,
        /// `appeared` or `vanished`.
        change: String,
    },
    /// A machine (known by its MAC) was seen at another address than in the scan this one
    /// was compared with; sent when the scan ends, instead of a vanished and an appeared host.
    HostMoved {
        /// Scan id.
        scan_id: i64,
        /// The scan compared with.
        against: Option<i64>,
        /// The machine.
        machine_id: i64,
        /// Its earlier address.
        #[schema(value_type = String, format = Ipv4)]
        from: Ipv4Addr,
        /// Its address now.
        #[schema(value_type = String, format = Ipv4)]
        to: Ipv4Addr,
    },
    /// A port opened, closed or changed service relative to the scan this one was compared
    /// with; sent when the scan ends.
    PortChanged {
        /// Scan id.
        scan_id: i64,
        /// The scan compared with, when there was one.
        against: Option<i64>,
        /// The host.
        #[schema(value_type = String, format = Ipv4)]
        ip: Ipv4Addr,
        /// The port.
        port: u16,
        /// `tcp` or `udp`.
        proto: String,
        /// `opened`, `closed` or `service_changed`.
        change: String,
        /// Identification before (closed and changed ports).
        before: Option<ServiceInfo>,
        /// Identification after (opened and changed ports).
        after: Option<ServiceInfo>,
    },
    /// A container appeared on or vanished from a Docker engine, found by a read of it.
    ContainerChanged {
        /// The engine's id (`GET /api/v1/docker`).
        docker_host_id: i64,
        /// The engine's endpoint.
        endpoint: String,
        /// Container id.
        container_id: String,
        /// Container name.
        name: String,
        /// Image.
        image: String,
        /// `appeared` or `vanished`.
        change: String,
    },
    /// A scan reached a final status with all its results stored.
    ScanFinished {
        /// Scan id.
        scan_id: i64,
        /// Final status.
        status: ScanStatus,
        /// Final counters.
        counters: ScanCounters,
    },
}

impl EventPayload {
    /// The SSE `event:` name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::ScanStatus { .. } => "scan_status",
            Self::ScanProgress { .. } => "scan_progress",
            Self::HostFound { .. } => "host_found",
            Self::PortFound { .. } => "port_found",
            Self::HostChanged { .. } => "host_changed",
            Self::HostMoved { .. } => "host_moved",
            Self::PortChanged { .. } => "port_changed",
            Self::ContainerChanged { .. } => "container_changed",
            Self::ScanFinished { .. } => "scan_finished",
        }
    }
}

/// `GET /api/v1/docker`: every configured Docker engine with its containers and networks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DockerView {
    /// Engines, by endpoint.
    pub hosts: Vec<DockerHostView>,
}

/// A Docker engine and what it runs, as last read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DockerHostView {
    /// Id in the store.
    pub id: i64,
    /// The endpoint, `unix:///…` or `tcp://…`.
    pub endpoint: String,
    /// The engine host's IPv4 address when known (a unix socket is this machine).
    #[schema(value_type = Option<String>, format = Ipv4)]
    pub ip: Option<Ipv4Addr>,
    /// Whether that address is a host of the inventory (`GET /api/v1/hosts/{ip}`).
    pub known_host: bool,
    /// Engine product (`Engine`, `Podman Engine`).
    pub product: Option<String>,
    /// Engine version.
    pub version: Option<String>,
    /// API version agreed with it.
    pub api_version: Option<String>,
    /// `os/arch`.
    pub platform: Option<String>,
    /// Why the last read failed; `null` when it worked.
    pub error: Option<String>,
    /// First successful or failed read, RFC 3339.
    pub first_seen: String,
    /// Last successful read.
    pub last_seen: String,
    /// Last read attempt.
    pub last_read: String,
    /// Containers, by name.
    pub containers: Vec<DockerContainerView>,
    /// Networks, by name.
    pub networks: Vec<DockerNetworkView>,
}

/// A container: a host that lives on a Docker engine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DockerContainerView {
    /// Container id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Image reference.
    pub image: String,
    /// `running`, `exited`, …
    pub state: String,
    /// Labels.
    pub labels: std::collections::BTreeMap<String, String>,
    /// Ports published on the engine host.
    pub ports: Vec<DockerPortView>,
    /// Networks it is attached to, with its addresses there.
    pub networks: Vec<DockerAttachmentView>,
    /// First read that saw it.
    pub first_seen: String,
    /// Last read that saw it.
    pub last_seen: String,
}

/// A port published on the engine host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DockerPortView {
    /// Host address it is bound to; `null` for all.
    pub host_ip: Option<String>,
    /// Port on the engine host.
    pub host_port: u16,
    /// Port inside the container.
    pub container_port: u16,
    /// `tcp`, `udp` or `sctp`.
    pub proto: String,
}

/// A container's place on a network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DockerAttachmentView {
    /// Network name.
    pub network: String,
    /// Its address there.
    pub address: Option<String>,
    /// Prefix length.
    pub prefix_len: Option<u8>,
    /// MAC address.
    pub mac: Option<String>,
}

/// A Docker network: a subnet the engine's containers live on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DockerNetworkView {
    /// Network id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Driver (`bridge`, `macvlan`, …).
    pub driver: String,
    /// Subnets, CIDR.
    pub subnets: Vec<String>,
    /// No way out of the engine host.
    pub internal: bool,
    /// First read that saw it.
    pub first_seen: String,
    /// Last read that saw it.
    pub last_seen: String,
}

/// An event with its stream position; `id` grows by one per event and is the SSE `id:`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Event {
    /// Position in the stream, for `Last-Event-ID`.
    pub id: u64,
    /// What happened.
    #[serde(flatten)]
    pub payload: EventPayload,
}

/// The body of every error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// What went wrong, inside [`ErrorBody`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorDetail {
    /// `bad_request`, `unauthorized`, `forbidden`, `csrf`, `rate_limited`, `not_found`,
    /// `conflict`, `unavailable` or `internal`.
    pub code: String,
    /// A sentence for a person; clients branch on `code`, not on this.
    pub message: String,
}

/// What a user may do. Ordered: each role may do everything the roles before it may.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads everything, changes nothing (but their own API tokens and session).
    Viewer,
    /// Starts, cancels and deletes scans, edits hosts and schedules.
    Operator,
    /// Everything, including users and settings.
    Admin,
}

impl Role {
    /// The name used in the API, the store and the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Viewer => "viewer",
            Self::Operator => "operator",
            Self::Admin => "admin",
        }
    }

    /// Parses the name used in the API, the store and the command line.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "viewer" => Self::Viewer,
            "operator" => Self::Operator,
            "admin" => Self::Admin,
            _ => return None,
        })
    }
}

/// A user account as the API shows it; never carries a password or its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UserView {
    /// User id.
    pub id: i64,
    /// Login name.
    pub name: String,
    /// What the user may do.
    pub role: Role,
}

/// `POST /api/v1/session`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Login name.
    pub username: String,
    /// Password in clear (the connection is TLS outside loopback).
    pub password: String,
}

/// The answer to `POST` and `GET /api/v1/session`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SessionView {
    /// Who is logged in.
    pub user: UserView,
    /// Send it back as `X-CSRF-Token` on every state-changing request; `null` for a caller
    /// authenticated by an API token, which needs none.
    pub csrf_token: Option<String>,
}

/// `POST /api/v1/setup`: creates the first admin with the one-time token from the log.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetupRequest {
    /// The token of the setup link (`/setup#token=...`).
    pub token: String,
    /// Login name of the first admin.
    pub username: String,
    /// Their password.
    pub password: String,
}

/// `POST /api/v1/users`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    /// Login name: 1 to 64 letters, digits, `.`, `_`, `-` or `@`.
    pub name: String,
    /// Password, 10 to 1024 characters.
    pub password: String,
    /// What the user may do.
    pub role: Role,
}

/// `PATCH /api/v1/users/{id}`: absent fields stay as they are.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    /// New role.
    #[serde(default)]
    pub role: Option<Role>,
    /// New password; ends the user's sessions.
    #[serde(default)]
    pub password: Option<String>,
}

// Passwords stay out of logs and panics.
macro_rules! debug_without_password {
    ($($ty:ident { $($field:ident),* }),*) => {$(
        impl std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($ty))
                    $(.field(stringify!($field), &self.$field))*
                    .finish_non_exhaustive()
            }
        }
    )*};
}
debug_without_password!(
    LoginRequest { username },
    SetupRequest { username },
    NewUser { name, role },
    UserPatch { role }
);

/// An API token as listed; the secret is shown only once, in [`TokenCreated`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TokenView {
    /// Token id.
    pub id: i64,
    /// What the token is for.
    pub name: String,
    /// The user the token acts as.
    pub user_id: i64,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339; `null` when never used.
    pub last_used_at: Option<String>,
}

/// `POST /api/v1/tokens`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// What the token is for, 1 to 100 characters.
    pub name: String,
}

/// The answer to `POST /api/v1/tokens`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TokenCreated {
    /// Token id.
    pub id: i64,
    /// What the token is for.
    pub name: String,
    /// The secret, shown this once: send it as `Authorization: Bearer <token>`.
    pub token: String,
}

/// Paging of `GET /api/v1/audit`, newest first.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema, IntoParams,
)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Entries to return (1..=1000, default 100).
    #[serde(default)]
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// Only entries with an id below this one (the next page).
    #[serde(default)]
    pub before: Option<i64>,
}

/// One line of the audit log: who did what, when, from where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AuditEntry {
    /// Entry id, growing.
    pub id: i64,
    /// RFC 3339.
    pub at: String,
    /// The acting user's id; `null` for a failed login by an unknown name.
    pub user_id: Option<i64>,
    /// The acting user's name (or the name tried, for a failed login).
    pub username: String,
    /// `login`, `login_failed`, `logout`, `setup`, `scan_start`, `scan_cancel`,
    /// `user_create`, `user_update`, `user_delete`, `token_create`, `token_revoke`,
    /// `settings_update`.
    pub action: String,
    /// What it was done to (`scan 7`, `user 3`...).
    pub target: Option<String>,
    /// The client's address.
    pub source: Option<String>,
}

/// `GET /api/v1/settings`: what new scans start from. The exclude list and the rates are
/// stored and changed over the API (admins); the signature directories come from the
/// configuration file and are shown read-only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Settings {
    /// Addresses, CIDRs or ranges no scan may probe, on top of the configuration file's
    /// exclude list.
    pub exclude: Vec<String>,
    /// Probes per second of a scan that names no rate.
    pub default_rate: u64,
    /// True when `default_rate` is the configuration file's (no stored override).
    pub default_rate_from_config: bool,
    /// The highest rate a scan may ask for; `null`: no cap.
    pub rate_cap: Option<u64>,
    /// Directories of operator signatures, from the configuration file.
    pub signature_dirs: Vec<String>,
}

/// `PUT /api/v1/settings`: replaces the stored settings; applies to scans queued after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsUpdate {
    /// Extra exclusions (addresses, CIDRs, ranges); empty for none.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Default rate; `null` goes back to the configuration file's.
    #[serde(default)]
    pub default_rate: Option<u64>,
    /// Rate cap; `null` for none. The default rate may not exceed it.
    #[serde(default)]
    pub rate_cap: Option<u64>,
}
