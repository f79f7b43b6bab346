//! The task that reads every Docker endpoint, stores what it found, and queues identification.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use sonde_scanner::{DockerEndpoint, DockerInventory};
use sonde_web::api::{EventPayload, ScanRequest};
use tokio::sync::{mpsc, oneshot};
use tracing::{info, warn};

use super::targets::{IdentificationScan, identification_scan};
use crate::actors::EventBus;
use crate::backend::ApplianceBackend;
use crate::store::{DockerChanges, Store};

/// Refresh requests waiting at most; more callers wait for a free slot.
const REFRESH_QUEUE: usize = 8;

/// How the web layer asks for a read now: each request is answered once every endpoint has
/// been read.
#[derive(Debug, Clone)]
pub struct DockerRefresh {
    requests: mpsc::Sender<oneshot::Sender<()>>,
}

impl DockerRefresh {
    /// A handle and the receiving end that [`run`] takes.
    pub fn channel() -> (DockerRefresh, mpsc::Receiver<oneshot::Sender<()>>) {
        let (requests, receiver) = mpsc::channel(REFRESH_QUEUE);
        (DockerRefresh { requests }, receiver)
    }

    /// Reads every endpoint now; returns when done, or `false` when the poller has stopped.
    pub async fn refresh(&self) -> bool {
        let (done, wait) = oneshot::channel();
        if self.requests.send(done).await.is_err() {
            return false;
        }
        wait.await.is_ok()
    }
}

/// Everything the poller writes to.
#[derive(Debug)]
pub struct Sinks {
    /// The store.
    pub store: Store,
    /// Events for SSE clients.
    pub bus: Arc<EventBus>,
    /// Queues identification scans.
    pub backend: Arc<ApplianceBackend>,
}

/// Reads `endpoints` now, every `interval` and on each refresh request, until the refresh
/// handle is dropped.
pub async fn run(
    endpoints: Vec<DockerEndpoint>,
    interval: Duration,
    sinks: Sinks,
    mut requests: mpsc::Receiver<oneshot::Sender<()>>,
) {
    // The last identification queued per endpoint, so a steady engine is scanned once.
    let mut identified: HashMap<String, IdentificationScan> = HashMap::new();
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let reply = tokio::select! {
            _ = tick.tick() => None,
            request = requests.recv() => match request {
                Some(reply) => Some(reply),
                None => return,
            },
        };
        for endpoint in &endpoints {
            read(endpoint, &sinks, &mut identified).await;
        }
        if let Some(reply) = reply {
            let _ = reply.send(());
        }
    }
}

/// Reads one endpoint; failures are logged and stored, never fatal.
async fn read(
    endpoint: &DockerEndpoint,
    sinks: &Sinks,
    identified: &mut HashMap<String, IdentificationScan>,
) {
    let name = endpoint.to_string();
    let address = engine_address(endpoint).await;
    let inventory = match DockerInventory::fetch(endpoint).await {
        Ok(inventory) => inventory,
        Err(e) => {
            warn!(endpoint = %name, error = %e, "Docker endpoint could not be read; keeping what it last reported.");
            if let Err(e) = sinks.store.record_docker_failure(&name, address, &e.to_string()).await
            {
                warn!(endpoint = %name, error = %e, "Docker read failure could not be stored.");
            }
            return;
        }
    };
    let changes = match sinks.store.record_docker(&inventory, address).await {
        Ok(changes) => changes,
        Err(e) => {
            warn!(endpoint = %name, error = %e, "Docker inventory could not be stored.");
            return;
        }
    };
    if !changes.appeared.is_empty() || !changes.vanished.is_empty() {
        info!(
            endpoint = %name,
            appeared = changes.appeared.len(),
            vanished = changes.vanished.len(),
            containers = inventory.containers.len(),
            "Docker containers changed."
        );
    }
    sinks.bus.publish(events(&name, &changes));

    let local = matches!(endpoint, DockerEndpoint::Unix(_));
    let Some(scan) = identification_scan(&inventory, address, local) else { return };
    if identified.get(&name) == Some(&scan) {
        return;
    }
    let request = ScanRequest {
        targets: scan.target_specs(),
        ports: Some(scan.port_spec()),
        udp_ports: None,
        rate: None,
        exclude: Vec::new(),
        seed: None,
        engine: None,
    };
    match sinks.backend.queue_scan(request, None).await {
        Ok(created) => {
            info!(
                endpoint = %name,
                scan_id = created.id,
                targets = %scan.target_specs().join(" "),
                ports = %scan.port_spec(),
                "Identification of Docker containers queued."
            );
            identified.insert(name, scan);
        }
        Err(e) => {
            warn!(endpoint = %name, error = %e, "Identification of Docker containers could not be queued.");
        }
    }
}

/// `container_changed` events of one read.
fn events(endpoint: &str, changes: &DockerChanges) -> Vec<EventPayload> {
    let event = |c: &crate::store::ContainerRef, change: &str| EventPayload::ContainerChanged {
        docker_host_id: changes.docker_host_id,
        endpoint: endpoint.to_owned(),
        container_id: c.id.clone(),
        name: c.name.clone(),
        image: c.image.clone(),
        change: change.to_owned(),
    };
    let appeared = changes.appeared.iter().map(|c| event(c, "appeared"));
    appeared.chain(changes.vanished.iter().map(|c| event(c, "vanished"))).collect()
}

/// The engine host's IPv4 address: this machine's loopback for a unix socket, the address
/// (or the first IPv4 address of the name) of a `tcp://` endpoint; `None` when the name does
/// not resolve.
pub async fn engine_address(endpoint: &DockerEndpoint) -> Option<Ipv4Addr> {
    match endpoint {
        DockerEndpoint::Unix(_) => Some(Ipv4Addr::LOCALHOST),
        DockerEndpoint::Tcp { authority, .. } => {
            let (host, _) = authority.rsplit_once(':')?;
            if let Ok(ip) = host.parse::<Ipv4Addr>() {
                return Some(ip);
            }
            let found = tokio::net::lookup_host(authority.as_str()).await.ok()?;
            found
                .map(|a| a.ip())
                .find_map(|ip| if let IpAddr::V4(v4) = ip { Some(v4) } else { None })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::ContainerRef;

    #[tokio::test]
    async fn engine_addresses() {
        let unix = DockerEndpoint::Unix("/run/docker.sock".into());
        assert_eq!(engine_address(&unix).await, Some(Ipv4Addr::LOCALHOST));
        let tcp = DockerEndpoint::parse("tcp://192.0.2.7:2376", None).unwrap();
        assert_eq!(engine_address(&tcp).await, Some(Ipv4Addr::new(192, 0, 2, 7)));
        let local = DockerEndpoint::parse("tcp://localhost:2375", None).unwrap();
        assert_eq!(engine_address(&local).await, Some(Ipv4Addr::LOCALHOST));
    }

    #[test]
    fn appearances_and_vanishings_become_events() {
        let c = |name: &str| ContainerRef {
            id: format!("{name}-id"),
            name: name.into(),
            image: "i".into(),
        };
        let changes =
            DockerChanges { docker_host_id: 3, appeared: vec![c("web")], vanished: vec![c("db")] };
        let events = events("unix:///x.sock", &changes);
        let seen: Vec<(String, String)> = events
            .iter()
            .map(|e| match e {
                EventPayload::ContainerChanged { name, change, docker_host_id: 3, .. } => {
                    (name.clone(), change.clone())
                }
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert_eq!(seen, [("web".into(), "appeared".into()), ("db".into(), "vanished".into())]);
        assert_eq!(events[0].name(), "container_changed");
    }
}
