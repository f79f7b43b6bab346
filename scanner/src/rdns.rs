//! Reverse DNS: PTR names for live hosts, optionally forward-confirmed.
//!
//! Lookups run beside the scan, never in its path: each has its own timeout, at most
//! `rate` start per second and at most `concurrency` are in flight, so a slow or dead
//! resolver costs the scan nothing; its hosts simply get their names later, or none.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::RData;
use hickory_resolver::{Resolver, TokioResolver};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// How reverse lookups are made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RdnsConfig {
    /// Resolvers to ask (address and port); the system's (`/etc/resolv.conf`) when empty.
    pub servers: Vec<SocketAddr>,
    /// How long one lookup may take before the host is left without a name.
    pub timeout: Duration,
    /// Lookups started per second at most.
    pub rate: u32,
    /// Lookups in flight at most.
    pub concurrency: usize,
    /// Keep a PTR name only when it resolves back to the address.
    pub forward_confirm: bool,
}

impl Default for RdnsConfig {
    fn default() -> Self {
        Self {
            servers: Vec::new(),
            timeout: Duration::from_secs(2),
            rate: 200,
            concurrency: 64,
            forward_confirm: false,
        }
    }
}

/// A resolver that cannot be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RdnsError {
    /// The system's resolver configuration cannot be read.
    #[error(
        "cannot read the system's resolver configuration ({0}); name DNS servers in [dns] servers or set [dns] enabled = false"
    )]
    SystemConfig(String),
    /// The resolver cannot be built from the configuration.
    #[error("cannot set up the DNS resolver: {0}")]
    Build(String),
}

/// Looks up the names of addresses.
#[derive(Debug, Clone)]
pub struct ReverseResolver {
    resolver: Arc<TokioResolver>,
    config: RdnsConfig,
}

impl ReverseResolver {
    /// A resolver asking `config.servers` (or the system's resolvers). Needs a Tokio runtime.
    pub fn new(config: RdnsConfig) -> Result<Self, RdnsError> {
        let mut builder = if config.servers.is_empty() {
            Resolver::builder_tokio().map_err(|e| RdnsError::SystemConfig(e.to_string()))?
        } else {
            let servers = config
                .servers
                .iter()
                .map(|server| {
                    let mut udp = ConnectionConfig::udp();
                    udp.port = server.port();
                    NameServerConfig::new(server.ip(), true, vec![udp])
                })
                .collect();
            let mut builder = Resolver::builder_with_config(
                ResolverConfig::from_parts(None, vec![], servers),
                TokioRuntimeProvider::default(),
            );
            // Named servers are the only source: /etc/hosts would answer for some addresses.
            builder.options_mut().use_hosts_file = ResolveHosts::Never;
            builder
        };
        let options = builder.options_mut();
        options.timeout = config.timeout;
        // One attempt: a lost reply costs one name, not a multiple of the budget.
        options.attempts = 1;
        let resolver = builder.build().map_err(|e| RdnsError::Build(e.to_string()))?;
        Ok(Self { resolver: Arc::new(resolver), config })
    }

    /// The names of each address that has any, lower-case without the trailing dot, in no
    /// particular order. Failures and timeouts leave an address out.
    pub async fn names(&self, addresses: &[Ipv4Addr]) -> Vec<(Ipv4Addr, Vec<String>)> {
        let slots = Arc::new(Semaphore::new(self.config.concurrency.max(1)));
        let gap = Duration::from_secs(1) / self.config.rate.max(1);
        let mut tasks = JoinSet::new();
        let mut pace = tokio::time::interval(gap);
        pace.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        for &ip in addresses {
            pace.tick().await;
            let Ok(permit) = slots.clone().acquire_owned().await else { break };
            let (resolver, config) = (self.resolver.clone(), self.config.clone());
            tasks.spawn(async move {
                let _permit = permit;
                // The resolver's own timeout covers each exchange; this bounds the whole
                // lookup, confirmation included.
                let budget = config.timeout * if config.forward_confirm { 2 } else { 1 };
                let names =
                    tokio::time::timeout(budget, lookup(&resolver, ip, config.forward_confirm))
                        .await
                        .unwrap_or_default();
                (ip, names)
            });
        }
        let mut found = Vec::new();
        while let Some(done) = tasks.join_next().await {
            if let Ok((ip, names)) = done
                && !names.is_empty()
            {
                found.push((ip, names));
            }
        }
        found
    }
}

async fn lookup(resolver: &TokioResolver, ip: Ipv4Addr, confirm: bool) -> Vec<String> {
    let Ok(answer) = resolver.reverse_lookup(IpAddr::V4(ip)).await else { return Vec::new() };
    let mut names: Vec<String> = answer
        .answers()
        .iter()
        .filter_map(|record| match &record.data {
            RData::PTR(ptr) => Some(ptr.0.to_utf8().trim_end_matches('.').to_ascii_lowercase()),
            _ => None,
        })
        .filter(|name| !name.is_empty())
        .collect();
    names.sort();
    names.dedup();
    if !confirm {
        return names;
    }
    let mut confirmed = Vec::new();
    for name in names {
        let Ok(forward) = resolver.ipv4_lookup(format!("{name}.")).await else { continue };
        let back = forward.answers().iter().any(|r| matches!(&r.data, RData::A(a) if a.0 == ip));
        if back {
            confirmed.push(name);
        }
    }
    confirmed
}
