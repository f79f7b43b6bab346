//! Reverse DNS beside `sonde scan`: each host with an open port is looked up once, while the
//! scan goes on; the scan never waits for a name, and at its end waits at most one lookup
//! timeout for the names still on their way, so a slow or silent resolver costs that much
//! and no more.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use sonde_scanner::{RdnsConfig, ReverseResolver};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::error::UsageError;

/// Past the lookup timeout, what the end of the scan grants the last names to arrive.
const GRACE: Duration = Duration::from_millis(250);

/// Lookups of the hosts a scan finds.
#[derive(Debug)]
pub(super) struct ScanNamer {
    /// Hosts to look up; closing it lets the task end once its lookups are done.
    ask: mpsc::UnboundedSender<Ipv4Addr>,
    /// The first name of each host that has one.
    answers: mpsc::UnboundedReceiver<(Ipv4Addr, String)>,
    task: JoinHandle<()>,
    timeout: Duration,
}

/// Resolvers given with `--dns-server`, checked: port 53 unless one is given.
pub(super) fn parse_servers(texts: &[String]) -> Result<Vec<SocketAddr>, UsageError> {
    texts
        .iter()
        .map(|text| {
            text.parse::<SocketAddr>()
                .or_else(|_| text.parse::<IpAddr>().map(|ip| SocketAddr::new(ip, 53)))
                .map_err(|_| {
                    UsageError::new(format!(
                        "--dns-server `{text}` is not ADDRESS or ADDRESS:PORT (e.g. 192.0.2.53 or 127.0.0.1:5353)"
                    ))
                })
        })
        .collect()
}

impl ScanNamer {
    /// Starts the lookup task on the current runtime.
    pub(super) fn start(servers: Vec<SocketAddr>) -> anyhow::Result<Self> {
        let config = RdnsConfig { servers, ..RdnsConfig::default() };
        let timeout = config.timeout;
        let resolver = ReverseResolver::new(config)?;
        let (ask, mut asked) = mpsc::unbounded_channel::<Ipv4Addr>();
        let (answer, answers) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            while let Some(first) = asked.recv().await {
                // Hosts found meanwhile go in the same batch.
                let mut batch = vec![first];
                while let Ok(ip) = asked.try_recv() {
                    batch.push(ip);
                }
                for (ip, names) in resolver.names(&batch).await {
                    if let Some(name) = names.into_iter().next() {
                        // The scan may have stopped listening; the name is then not needed.
                        let _ = answer.send((ip, name));
                    }
                }
            }
        });
        Ok(Self { ask, answers, task, timeout })
    }

    /// Looks `ip` up (call once per host).
    pub(super) fn ask(&self, ip: Ipv4Addr) {
        // The task only ends when this sender is dropped, so sending cannot fail.
        let _ = self.ask.send(ip);
    }

    /// The next name found.
    pub(super) async fn next(&mut self) -> Option<(Ipv4Addr, String)> {
        self.answers.recv().await
    }

    /// Every name still to come, waiting at most one lookup timeout (and a little more).
    pub(super) async fn finish(self) -> Vec<(Ipv4Addr, String)> {
        let Self { ask, mut answers, task, timeout } = self;
        drop(ask);
        let mut names = Vec::new();
        let collect = async {
            while let Some(found) = answers.recv().await {
                names.push(found);
            }
        };
        if tokio::time::timeout(timeout + GRACE, collect).await.is_err() {
            task.abort();
        }
        names
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_servers_are_addresses_with_an_optional_port() {
        let ok = parse_servers(&["192.0.2.53".into(), "127.0.0.1:5353".into()]).unwrap();
        assert_eq!(ok, vec!["192.0.2.53:53".parse().unwrap(), "127.0.0.1:5353".parse().unwrap()]);
        let err = parse_servers(&["dns.example".into()]).unwrap_err().to_string();
        assert!(err.contains("--dns-server `dns.example`"), "{err}");
    }

    #[tokio::test]
    async fn a_silent_resolver_costs_one_timeout_at_most() {
        // A bound UDP socket that never answers: lookups can only time out.
        let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut namer = ScanNamer::start(vec![silent.local_addr().unwrap()]).unwrap();
        namer.timeout = Duration::from_millis(300);
        namer.ask(Ipv4Addr::new(192, 0, 2, 1));
        let started = std::time::Instant::now();
        let names = namer.finish().await;
        assert!(names.is_empty());
        assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());
    }
}
