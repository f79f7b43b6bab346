//! The JSON types of the REST API and of the event stream: the contract with API clients.

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

/// The lifecycle of a scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScanRequest {
    /// Addresses, CIDRs, ranges (`a.b.c.d-e.f.g.h`) or hostnames.
    pub targets: Vec<String>,
    /// Port list such as `22,80,8000-8100`; defaults to the top 100 ports.
    #[serde(default)]
    pub ports: Option<String>,
    /// Probes per second; defaults to the appliance's configured rate.
    #[serde(default)]
    pub rate: Option<u64>,
    /// Extra exclusions on top of the appliance's exclude list.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Seed of the probe order; random when absent.
    #[serde(default)]
    pub seed: Option<u64>,
}

/// The answer to `POST /api/v1/scans`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanCreated {
    /// The new scan's id.
    pub id: i64,
    /// Always `queued` on creation.
    pub status: ScanStatus,
}

/// Counters of a scan, as stored and as sent in progress events.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScanView {
    /// Scan id.
    pub id: i64,
    /// Current status.
    pub status: ScanStatus,
    /// Targets as requested.
    pub targets: Vec<String>,
    /// Port list as resolved (canonical form).
    pub ports: String,
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
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
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
    pub limit: Option<u32>,
    /// Rows to skip.
    #[serde(default)]
    pub offset: Option<u64>,
}

/// Orders of `GET /api/v1/hosts`; a leading `-` sorts descending. Ties go by address.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostSummary {
    /// IPv4 address.
    pub ip: Ipv4Addr,
    /// Open ports, ascending.
    pub open_ports: Vec<u16>,
    /// First time anything was found open on it, RFC 3339.
    pub first_seen: String,
    /// Last time anything was found open on it, RFC 3339.
    pub last_seen: String,
}

/// One open port of a host with what is known about the service behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PortView {
    /// Port number.
    pub port: u16,
    /// Always `tcp` for now.
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
    /// Scan that saw it last.
    pub last_scan_id: i64,
    /// RFC 3339.
    pub first_seen: String,
    /// RFC 3339.
    pub last_seen: String,
}

/// `GET /api/v1/hosts/{ip}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostDetail {
    /// IPv4 address.
    pub ip: Ipv4Addr,
    /// RFC 3339.
    pub first_seen: String,
    /// RFC 3339.
    pub last_seen: String,
    /// Open ports, ascending.
    pub ports: Vec<PortView>,
}

/// A row of `GET /api/v1/services`: how many open ports run a service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceCount {
    /// Service name, or `unknown`.
    pub service: String,
    /// Open ports identified as this service.
    pub ports: u64,
    /// Distinct hosts running it.
    pub hosts: u64,
}

/// `GET /api/v1/health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// `ok` when the store answers.
    pub status: String,
    /// Version of the running binary.
    pub version: String,
}

/// What the event stream carries; `type` names the SSE event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
        ip: Ipv4Addr,
    },
    /// An open port was stored.
    PortFound {
        /// Scan id.
        scan_id: i64,
        /// The host.
        ip: Ipv4Addr,
        /// The port and its identification; boxed because it dwarfs the other events.
        port: Box<PortView>,
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
            Self::ScanFinished { .. } => "scan_finished",
        }
    }
}

/// An event with its stream position; `id` grows by one per event and is the SSE `id:`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Position in the stream, for `Last-Event-ID`.
    pub id: u64,
    /// What happened.
    #[serde(flatten)]
    pub payload: EventPayload,
}

/// The body of every error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// What went wrong, inside [`ErrorBody`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// `bad_request`, `unauthorized`, `not_found`, `conflict`, `unavailable` or `internal`.
    pub code: String,
    /// A sentence for a person; clients branch on `code`, not on this.
    pub message: String,
}
