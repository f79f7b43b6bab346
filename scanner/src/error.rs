//! Errors of target and port parsing and of engines.

/// A target spec or file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TargetError {
    /// The spec list names nothing. An empty *exclude* list is not an error: callers that accept
    /// one use [`TargetSet::default`](crate::TargetSet::default) instead of parsing it.
    #[error(
        "no targets given: name at least one address, CIDR, range or hostname, \
         e.g. 192.0.2.0/24 or 192.0.2.1-20"
    )]
    NoTargets,
    /// A spec is not an address, CIDR, range or resolvable hostname.
    #[error("invalid target `{spec}`: {reason}")]
    Invalid {
        /// The spec as given.
        spec: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A hostname did not resolve to any IPv4 address.
    #[error("cannot resolve `{host}`: {reason}")]
    Resolve {
        /// The hostname.
        host: String,
        /// What the resolver said.
        reason: String,
    },
    /// A target file cannot be read.
    #[error("cannot read target file {path}: {source}")]
    File {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A line of a target file is invalid.
    #[error("{path}:{line}: {error}")]
    FileLine {
        /// The file.
        path: String,
        /// 1-based line number.
        line: usize,
        /// The spec's error.
        error: Box<TargetError>,
    },
}

/// A port spec that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PortError {
    /// An item is not a port or range in 1..=65535.
    #[error("invalid port `{item}`: {reason}")]
    Invalid {
        /// The item as given.
        item: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The list names no port.
    #[error("the port list is empty: give ports like `22,80,8000-8100` or --top-ports N")]
    Empty,
    /// `--top-ports` asks for more than the built-in list holds.
    #[error("--top-ports {asked} is out of range: the built-in list holds 1 to {max} ports")]
    TopOutOfRange {
        /// Requested count.
        asked: usize,
        /// Size of the built-in list.
        max: usize,
    },
}

/// An engine that cannot run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScanError {
    /// The engine is not available in this build or on this host.
    #[error("the {engine} engine is not available: {reason}")]
    EngineUnavailable {
        /// Engine name.
        engine: &'static str,
        /// Why, and what to do.
        reason: String,
    },
    /// The process may not open raw sockets.
    #[error(
        "the syn engine needs the CAP_NET_RAW capability to open raw sockets: grant it with \
         `sudo setcap cap_net_raw+ep $(which sonde)`, run sonde as root, or set \
         AmbientCapabilities=CAP_NET_RAW in its systemd unit; or scan with --engine connect"
    )]
    MissingCapability,
    /// The routing or neighbour tables do not say how to reach the targets.
    #[error("cannot send raw frames to the targets: {reason}")]
    Route {
        /// What is missing, and what to do.
        reason: String,
    },
    /// A raw socket failed: at set-up, or mid-scan when the interface vanished.
    #[error("raw socket: cannot {operation}: {source}")]
    Socket {
        /// What was being done.
        operation: String,
        /// The system's error.
        source: std::io::Error,
    },
}
