//! What of an engine's containers goes to identification.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};

use sonde_scanner::DockerInventory;

/// The addresses and ports of one identification scan of an engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentificationScan {
    /// Addresses, ascending.
    pub targets: BTreeSet<Ipv4Addr>,
    /// TCP ports, ascending.
    pub ports: BTreeSet<u16>,
}

impl IdentificationScan {
    /// The targets as scan specs.
    pub fn target_specs(&self) -> Vec<String> {
        self.targets.iter().map(ToString::to_string).collect()
    }

    /// The ports as a port list (`80,18080`).
    pub fn port_spec(&self) -> String {
        self.ports.iter().map(ToString::to_string).collect::<Vec<_>>().join(",")
    }
}

/// The scan that identifies what `inventory`'s running containers serve over TCP: each
/// published port on the address it is bound to (the engine host's, `engine`, when bound to
/// all addresses), and, when the engine runs on this machine (`local`), each container's own
/// addresses with the container ports it publishes. `None` when nothing is published or no
/// address is known. Containers that publish nothing are left to scans of their networks.
pub fn identification_scan(
    inventory: &DockerInventory,
    engine: Option<Ipv4Addr>,
    local: bool,
) -> Option<IdentificationScan> {
    let mut scan = IdentificationScan { targets: BTreeSet::new(), ports: BTreeSet::new() };
    for container in inventory.containers.iter().filter(|c| c.state == "running") {
        let published: Vec<_> = container.ports.iter().filter(|p| p.proto == "tcp").collect();
        for port in &published {
            let bound = match port.host_ip {
                Some(IpAddr::V4(ip)) if !ip.is_unspecified() => Some(ip),
                Some(IpAddr::V6(_)) => None,
                _ => engine,
            };
            if let Some(ip) = bound {
                scan.targets.insert(ip);
                scan.ports.insert(port.host_port);
            }
        }
        if local && !published.is_empty() {
            for address in container.networks.iter().filter_map(|n| n.address) {
                if let IpAddr::V4(ip) = address {
                    scan.targets.insert(ip);
                    scan.ports.extend(published.iter().map(|p| p.container_port));
                }
            }
        }
    }
    (!scan.targets.is_empty() && !scan.ports.is_empty()).then_some(scan)
}

#[cfg(test)]
mod tests {
    use sonde_scanner::{ContainerAttachment, DockerContainer, DockerEngine, PublishedPort};

    use super::*;

    fn container(state: &str, host_ip: Option<IpAddr>, address: [u8; 4]) -> DockerContainer {
        DockerContainer {
            id: format!("id-{state}"),
            name: state.into(),
            image: "img".into(),
            labels: Default::default(),
            state: state.into(),
            ports: vec![PublishedPort {
                host_ip,
                host_port: 18080,
                container_port: 80,
                proto: "tcp".into(),
            }],
            networks: vec![ContainerAttachment {
                network: "n".into(),
                address: Some(address.into()),
                prefix_len: Some(24),
                mac: None,
            }],
        }
    }

    fn inventory(containers: Vec<DockerContainer>) -> DockerInventory {
        DockerInventory {
            endpoint: "unix:///x.sock".into(),
            engine: DockerEngine {
                product: "Engine".into(),
                version: "1".into(),
                api_version: "1.41".into(),
                platform: "linux/amd64".into(),
            },
            containers,
            networks: vec![],
        }
    }

    #[test]
    fn published_ports_and_local_container_addresses_are_identified() {
        let engine = Some(Ipv4Addr::new(192, 0, 2, 1));
        let loopback = Some(IpAddr::V4(Ipv4Addr::LOCALHOST));
        let inv = inventory(vec![
            container("running", loopback, [10, 213, 7, 2]),
            container("exited", None, [10, 213, 7, 3]),
        ]);
        let local = identification_scan(&inv, engine, true).unwrap();
        assert_eq!(local.target_specs(), ["10.213.7.2", "127.0.0.1"]);
        assert_eq!(local.port_spec(), "80,18080");
        // A remote engine's container addresses are on its bridges, out of reach.
        let remote = identification_scan(&inv, engine, false).unwrap();
        assert_eq!(remote.target_specs(), ["127.0.0.1"]);
        // Bound to every address: the engine host's.
        let all = inventory(vec![container("running", None, [10, 213, 7, 2])]);
        let remote = identification_scan(&all, engine, false).unwrap();
        assert_eq!(remote.target_specs(), ["192.0.2.1"]);
        assert_eq!(identification_scan(&all, None, false), None, "no address known");
        assert_eq!(identification_scan(&inventory(vec![]), engine, true), None);
    }
}
