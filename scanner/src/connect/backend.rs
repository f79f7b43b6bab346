//! Which path the connect engine runs on: io_uring or tokio's epoll reactor.

use std::str::FromStr;
use std::sync::OnceLock;

use crate::ScanError;

/// The operator's choice of connect path (`--connect-backend`, `[scan] connect_backend`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConnectBackend {
    /// io_uring when this kernel and sandbox allow it, epoll otherwise.
    #[default]
    Auto,
    /// io_uring, or an error saying why it cannot run.
    Uring,
    /// tokio's epoll reactor.
    Epoll,
}

/// The connect path an engine runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActiveBackend {
    /// Connects submitted to an io_uring in batches, each with a linked timeout.
    Uring,
    /// One tokio task per connect, driven by epoll.
    Epoll,
}

impl FromStr for ConnectBackend {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(Self::Auto),
            "uring" | "io_uring" => Ok(Self::Uring),
            "epoll" => Ok(Self::Epoll),
            other => Err(format!("unknown connect backend `{other}`: use auto, uring or epoll")),
        }
    }
}

impl ConnectBackend {
    /// The path this choice runs on this host. `Auto` falls back to epoll and logs why, once
    /// per process; a forced `Uring` that cannot run is an error naming the reason.
    pub fn resolve(self) -> Result<ActiveBackend, ScanError> {
        match self {
            Self::Epoll => Ok(ActiveBackend::Epoll),
            Self::Uring => match uring_status() {
                Ok(()) => Ok(ActiveBackend::Uring),
                Err(reason) => Err(ScanError::EngineUnavailable {
                    engine: "io_uring connect",
                    reason: format!(
                        "{reason}; allow io_uring (sysctl kernel.io_uring_disabled=0, or the \
                         sandbox's seccomp profile) or use --connect-backend epoll"
                    ),
                }),
            },
            Self::Auto => {
                let active = match uring_status() {
                    Ok(()) => ActiveBackend::Uring,
                    Err(_) => ActiveBackend::Epoll,
                };
                log_auto_choice_once();
                Ok(active)
            }
        }
    }
}

impl ActiveBackend {
    /// `uring` or `epoll`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Uring => "uring",
            Self::Epoll => "epoll",
        }
    }
}

/// The io_uring check, made once per process: the answer does not change while it runs.
fn uring_status() -> Result<(), &'static str> {
    static STATUS: OnceLock<Result<(), String>> = OnceLock::new();
    STATUS
        .get_or_init(|| crate::uring::check_io_uring_connect().map_err(|e| e.to_string()))
        .as_ref()
        .map(|_| ())
        .map_err(String::as_str)
}

fn log_auto_choice_once() {
    static LOGGED: std::sync::Once = std::sync::Once::new();
    LOGGED.call_once(|| match uring_status() {
        Ok(()) => tracing::info!("The connect engine submits its connects through io_uring."),
        Err(reason) => tracing::info!(
            %reason,
            "io_uring is not usable here; the connect engine runs on epoll."
        ),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_name_and_rejects_others() {
        assert_eq!("auto".parse(), Ok(ConnectBackend::Auto));
        assert_eq!("uring".parse(), Ok(ConnectBackend::Uring));
        assert_eq!("io_uring".parse(), Ok(ConnectBackend::Uring));
        assert_eq!("epoll".parse(), Ok(ConnectBackend::Epoll));
        let error = "kqueue".parse::<ConnectBackend>().unwrap_err();
        assert!(error.contains("auto, uring or epoll"), "{error}");
    }

    #[test]
    fn auto_and_uring_agree_with_the_check() {
        let usable = crate::uring::check_io_uring_connect().is_ok();
        let auto = ConnectBackend::Auto.resolve().unwrap();
        assert_eq!(auto == ActiveBackend::Uring, usable);
        assert_eq!(ConnectBackend::Uring.resolve().is_ok(), usable);
        assert_eq!(ConnectBackend::Epoll.resolve().unwrap(), ActiveBackend::Epoll);
    }
}
