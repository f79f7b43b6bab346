//! Where a Docker engine listens, and connecting to it.

use std::path::PathBuf;

use bollard::Docker;

use super::error::DockerError;

/// The oldest Engine API Sonde reads (Docker 1.12; Podman's compatible service speaks 1.41).
pub const MIN_API_VERSION: (usize, usize) = (1, 24);

/// Seconds a single request may take before the engine counts as unreachable.
const REQUEST_TIMEOUT_SECS: u64 = 20;

/// Client certificate, key and CA for a `tcp://` endpoint (Docker's `--tlsverify` set-up).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DockerTls {
    /// The CA that signed the engine's certificate (`ca.pem`).
    pub ca: PathBuf,
    /// Sonde's client certificate (`cert.pem`).
    pub cert: PathBuf,
    /// Its private key (`key.pem`).
    pub key: PathBuf,
}

/// A validated Docker Engine API endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DockerEndpoint {
    /// A unix socket, e.g. `/var/run/docker.sock`.
    Unix(PathBuf),
    /// TCP, with TLS when certificates are given (plain HTTP otherwise: only for a socket proxy
    /// on the same machine).
    Tcp {
        /// `host:port`.
        authority: String,
        /// Client TLS material; `None` speaks plain HTTP.
        tls: Option<DockerTls>,
    },
}

impl DockerEndpoint {
    /// Parses `unix:///path` or `tcp://host:port` (also `http://` for a local socket proxy).
    pub fn parse(url: &str, tls: Option<DockerTls>) -> Result<DockerEndpoint, DockerError> {
        let invalid = |reason: &str| DockerError::InvalidEndpoint {
            endpoint: url.to_string(),
            reason: reason.to_string(),
        };
        if let Some(path) = url.strip_prefix("unix://") {
            if !path.starts_with('/') {
                return Err(invalid("a unix socket path must be absolute"));
            }
            if tls.is_some() {
                return Err(invalid("TLS certificates apply to tcp:// endpoints only"));
            }
            return Ok(DockerEndpoint::Unix(PathBuf::from(path)));
        }
        let authority = url
            .strip_prefix("tcp://")
            .or_else(|| url.strip_prefix("http://"))
            .or_else(|| url.strip_prefix("https://"))
            .ok_or_else(|| invalid("the scheme must be unix:// or tcp://"))?
            .trim_end_matches('/');
        let (host, port) =
            authority.rsplit_once(':').ok_or_else(|| invalid("a tcp endpoint needs a port"))?;
        if host.is_empty() || port.parse::<u16>().map_or(true, |p| p == 0) {
            return Err(invalid("expected host:port with a port in 1..=65535"));
        }
        Ok(DockerEndpoint::Tcp { authority: authority.to_string(), tls })
    }

    /// Connects and agrees on an API version; fails when the engine is older than
    /// [`MIN_API_VERSION`].
    pub async fn connect(&self) -> Result<Docker, DockerError> {
        let name = self.to_string();
        let version = bollard::API_DEFAULT_VERSION;
        let client = match self {
            DockerEndpoint::Unix(path) => {
                Docker::connect_with_socket(&path.to_string_lossy(), REQUEST_TIMEOUT_SECS, version)
            }
            DockerEndpoint::Tcp { authority, tls: None } => {
                Docker::connect_with_http(authority, REQUEST_TIMEOUT_SECS, version)
            }
            DockerEndpoint::Tcp { authority, tls: Some(tls) } => {
                for file in [&tls.ca, &tls.cert, &tls.key] {
                    if let Err(e) = std::fs::metadata(file) {
                        return Err(DockerError::Tls {
                            endpoint: name,
                            reason: format!("cannot read {}: {e}", file.display()),
                        });
                    }
                }
                Docker::connect_with_ssl(
                    authority,
                    &tls.key,
                    &tls.cert,
                    &tls.ca,
                    REQUEST_TIMEOUT_SECS,
                    version,
                )
            }
        }
        .map_err(|e| DockerError::from_client(&name, "connect", e))?;
        let client = client
            .negotiate_version()
            .await
            .map_err(|e| DockerError::from_client(&name, "GET /version", e))?;
        let agreed = client.client_version();
        if (agreed.major_version, agreed.minor_version) < MIN_API_VERSION {
            return Err(DockerError::ApiTooOld {
                endpoint: name,
                found: agreed.to_string(),
                minimum: format!("{}.{}", MIN_API_VERSION.0, MIN_API_VERSION.1),
            });
        }
        Ok(client)
    }
}

impl std::fmt::Display for DockerEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DockerEndpoint::Unix(path) => write!(f, "unix://{}", path.display()),
            DockerEndpoint::Tcp { authority, .. } => write!(f, "tcp://{authority}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_parse_or_say_why() {
        let cases: &[(&str, Option<DockerEndpoint>)] = &[
            (
                "unix:///var/run/docker.sock",
                Some(DockerEndpoint::Unix("/var/run/docker.sock".into())),
            ),
            (
                "tcp://docker.example:2376",
                Some(DockerEndpoint::Tcp { authority: "docker.example:2376".into(), tls: None }),
            ),
            ("unix://relative.sock", None),
            ("tcp://nohost", None),
            ("tcp://:2376", None),
            ("tcp://h:0", None),
            ("ssh://h", None),
        ];
        for (url, want) in cases {
            let got = DockerEndpoint::parse(url, None).ok();
            assert_eq!(&got, want, "{url}");
        }
    }

    #[tokio::test]
    async fn a_missing_socket_is_unreachable() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ep = DockerEndpoint::Unix(dir.path().join("none.sock"));
        let err = ep.connect().await.expect_err("no engine there");
        assert!(matches!(err, DockerError::Unreachable { .. }), "{err}");
        assert!(err.to_string().contains("podman system service"), "{err}");
    }

    #[tokio::test]
    async fn a_socket_nobody_serves_is_unreachable() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("dead.sock");
        drop(std::os::unix::net::UnixListener::bind(&path).expect("bind"));
        let err = DockerEndpoint::Unix(path).connect().await.expect_err("nobody listens");
        assert!(matches!(err, DockerError::Unreachable { .. }), "{err}");
    }
}
