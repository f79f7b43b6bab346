//! Why a Docker endpoint could not be read.

/// A Docker endpoint that cannot be used, with what to do about it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DockerError {
    /// The endpoint URL is not `unix:///path` or `tcp://host:port`.
    #[error(
        "invalid Docker endpoint `{endpoint}`: {reason}; use unix:///var/run/docker.sock or \
         tcp://host:2376"
    )]
    InvalidEndpoint {
        /// The endpoint as given.
        endpoint: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Nothing answers at the endpoint (no socket file, connection refused, timeout).
    #[error(
        "Docker engine at {endpoint} is unreachable: {reason}; check that the engine runs \
         (systemctl status docker, or `podman system service`) and that the endpoint is right"
    )]
    Unreachable {
        /// The endpoint.
        endpoint: String,
        /// What the connection attempt said.
        reason: String,
    },
    /// The socket exists but this process may not open it.
    #[error(
        "permission denied on the Docker socket {endpoint}; run Sonde as a user in the socket's \
         group (usually `docker`) or put a read-only socket proxy in front of it"
    )]
    PermissionDenied {
        /// The endpoint.
        endpoint: String,
    },
    /// The engine speaks an API older than Sonde reads.
    #[error(
        "Docker engine at {endpoint} speaks API {found}, older than the {minimum} Sonde needs; \
         upgrade the engine"
    )]
    ApiTooOld {
        /// The endpoint.
        endpoint: String,
        /// The engine's API version.
        found: String,
        /// The oldest API version Sonde reads.
        minimum: String,
    },
    /// A TLS certificate or key named in the configuration cannot be used.
    #[error("TLS material for Docker endpoint {endpoint} is unusable: {reason}")]
    Tls {
        /// The endpoint.
        endpoint: String,
        /// What is wrong with the files.
        reason: String,
    },
    /// The engine answered, but with an error or something that is not its API.
    #[error("Docker engine at {endpoint} answered {what} with an error: {reason}")]
    Api {
        /// The endpoint.
        endpoint: String,
        /// The request, e.g. `GET /containers/json`.
        what: &'static str,
        /// The engine's message.
        reason: String,
    },
}

impl DockerError {
    /// Classifies a client error by what the operator must fix: a permission, a missing or
    /// silent engine, or the engine's answer.
    pub(crate) fn from_client(
        endpoint: &str,
        what: &'static str,
        e: bollard::errors::Error,
    ) -> Self {
        use bollard::errors::Error as E;
        let endpoint = endpoint.to_string();
        if let Some(io) = io_source(&e) {
            return match io.kind() {
                std::io::ErrorKind::PermissionDenied => DockerError::PermissionDenied { endpoint },
                _ => DockerError::Unreachable { endpoint, reason: io.to_string() },
            };
        }
        match e {
            E::SocketNotFoundError(path) => {
                DockerError::Unreachable { endpoint, reason: format!("no socket at {path}") }
            }
            E::RequestTimeoutError => {
                DockerError::Unreachable { endpoint, reason: "the request timed out".into() }
            }
            E::HyperLegacyError { .. } | E::HttpClientError { .. } => {
                DockerError::Unreachable { endpoint, reason: chain(&e) }
            }
            E::CertPathError { .. }
            | E::CertMultipleKeys { .. }
            | E::CertParseError { .. }
            | E::NoNativeCertsError { .. }
            | E::LoadNativeCertsErrors { .. } => DockerError::Tls { endpoint, reason: chain(&e) },
            other => DockerError::Api { endpoint, what, reason: chain(&other) },
        }
    }
}

/// The first I/O error in the chain, which says whether the socket was refused or forbidden.
fn io_source<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a std::io::Error> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            return Some(io);
        }
        cur = err.source();
    }
    None
}

/// The error and its causes on one line.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(err) = cur {
        let s = err.to_string();
        if !out.contains(&s) {
            out.push_str(": ");
            out.push_str(&s);
        }
        cur = err.source();
    }
    out
}
