//! The engine's containers and networks in Sonde's terms.

use std::collections::BTreeMap;
use std::net::IpAddr;

use bollard::Docker;
use bollard::query_parameters::{ListContainersOptionsBuilder, ListNetworksOptions};
use serde::Serialize;

use super::endpoint::DockerEndpoint;
use super::error::DockerError;

/// Everything one endpoint reported, sorted by name so that two reads compare equal (engines
/// do not keep a stable list order).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DockerInventory {
    /// The endpoint, as `unix:///…` or `tcp://…`.
    pub endpoint: String,
    /// What the engine says about itself.
    pub engine: DockerEngine,
    /// Containers, running or not, by name.
    pub containers: Vec<DockerContainer>,
    /// Networks, by name.
    pub networks: Vec<DockerNetwork>,
}

/// The engine behind an endpoint.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DockerEngine {
    /// Product name from the version's first component (`Engine`, `Podman Engine`).
    pub product: String,
    /// Its version.
    pub version: String,
    /// The API version agreed with it.
    pub api_version: String,
    /// Operating system and architecture, e.g. `linux/amd64`.
    pub platform: String,
}

/// One container.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DockerContainer {
    /// Full container id.
    pub id: String,
    /// Name without the leading `/`.
    pub name: String,
    /// Image reference as the engine reports it.
    pub image: String,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// `running`, `exited`, `created`, …
    pub state: String,
    /// Ports published on the Docker host.
    pub ports: Vec<PublishedPort>,
    /// Networks the container is attached to (none for `--network none` or `host`).
    pub networks: Vec<ContainerAttachment>,
}

/// A container port reachable on the Docker host.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct PublishedPort {
    /// The host address it is bound to; `None` for all addresses.
    pub host_ip: Option<IpAddr>,
    /// The port on the host.
    pub host_port: u16,
    /// The port inside the container.
    pub container_port: u16,
    /// `tcp`, `udp` or `sctp`.
    pub proto: String,
}

/// A container's place on one network.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct ContainerAttachment {
    /// The network's name.
    pub network: String,
    /// The container's IPv4 address there, if it has one.
    pub address: Option<IpAddr>,
    /// Its prefix length.
    pub prefix_len: Option<u8>,
    /// Its MAC address.
    pub mac: Option<String>,
}

/// One network.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DockerNetwork {
    /// Network id.
    pub id: String,
    /// Name (Podman's default is `podman`, Docker's `bridge`).
    pub name: String,
    /// Driver, e.g. `bridge`, `macvlan`, `host`, `null`.
    pub driver: String,
    /// Subnets in CIDR form.
    pub subnets: Vec<ipnet::IpNet>,
    /// Whether the network has no way out of the host.
    pub internal: bool,
}

impl DockerInventory {
    /// Reads the engine, its containers (all states) and its networks.
    pub async fn fetch(endpoint: &DockerEndpoint) -> Result<DockerInventory, DockerError> {
        let docker = endpoint.connect().await?;
        let name = endpoint.to_string();
        let engine = read_engine(&docker, &name).await?;
        let options = ListContainersOptionsBuilder::default().all(true).build();
        let containers = docker
            .list_containers(Some(options))
            .await
            .map_err(|e| DockerError::from_client(&name, "GET /containers/json", e))?;
        let networks = docker
            .list_networks(None::<ListNetworksOptions>)
            .await
            .map_err(|e| DockerError::from_client(&name, "GET /networks", e))?;
        Ok(DockerInventory::assemble(name, engine, containers, networks))
    }

    /// Builds the inventory from the engine's raw lists, in a stable order.
    fn assemble(
        endpoint: String,
        engine: DockerEngine,
        containers: Vec<bollard::models::ContainerSummary>,
        networks: Vec<bollard::models::Network>,
    ) -> DockerInventory {
        let mut containers: Vec<DockerContainer> =
            containers.into_iter().map(DockerContainer::from_summary).collect();
        containers.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.id.cmp(&b.id)));
        let mut networks: Vec<DockerNetwork> =
            networks.into_iter().map(DockerNetwork::from_api).collect();
        networks.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.id.cmp(&b.id)));
        DockerInventory { endpoint, engine, containers, networks }
    }
}

async fn read_engine(docker: &Docker, endpoint: &str) -> Result<DockerEngine, DockerError> {
    let v = docker
        .version()
        .await
        .map_err(|e| DockerError::from_client(endpoint, "GET /version", e))?;
    let product = v
        .components
        .as_ref()
        .and_then(|c| c.first())
        .map(|c| c.name.clone())
        .or_else(|| v.platform.as_ref().map(|p| p.name.clone()))
        .unwrap_or_else(|| "Docker Engine".into());
    let platform = match (&v.os, &v.arch) {
        (Some(os), Some(arch)) => format!("{os}/{arch}"),
        (Some(os), None) => os.clone(),
        _ => String::new(),
    };
    Ok(DockerEngine {
        product,
        version: v.version.unwrap_or_default(),
        api_version: docker.client_version().to_string(),
        platform,
    })
}

impl DockerContainer {
    fn from_summary(c: bollard::models::ContainerSummary) -> DockerContainer {
        let name = c
            .names
            .as_ref()
            .and_then(|n| n.first())
            .map(|n| n.trim_start_matches('/').to_string())
            .unwrap_or_default();
        let mut ports: Vec<PublishedPort> = c
            .ports
            .unwrap_or_default()
            .into_iter()
            .filter_map(|p| {
                // Exposed but unpublished ports carry no public port: nothing to reach.
                let host_port = p.public_port.filter(|&port| port != 0)?;
                let host_ip =
                    p.ip.as_deref()
                        .filter(|ip| !ip.is_empty())
                        .and_then(|ip| ip.parse::<IpAddr>().ok())
                        .filter(|ip| !ip.is_unspecified());
                let proto = p.typ.map(|t| t.to_string()).filter(|t| !t.is_empty());
                Some(PublishedPort {
                    host_ip,
                    host_port,
                    container_port: p.private_port,
                    proto: proto.unwrap_or_else(|| "tcp".into()),
                })
            })
            .collect();
        ports.sort();
        ports.dedup();
        // Podman reports `null` networks for `none` and `host`, Docker an entry named after
        // them with no address; both mean "not on a network Sonde can map".
        let mut networks: Vec<ContainerAttachment> = c
            .network_settings
            .and_then(|s| s.networks)
            .unwrap_or_default()
            .into_iter()
            .filter(|(name, _)| name != "none" && name != "host")
            .map(|(network, e)| ContainerAttachment {
                network,
                address: e.ip_address.as_deref().and_then(|a| a.parse().ok()),
                prefix_len: e.ip_prefix_len.and_then(|l| u8::try_from(l).ok()).filter(|&l| l > 0),
                mac: e.mac_address.filter(|m| !m.is_empty()),
            })
            .collect();
        networks.sort();
        DockerContainer {
            id: c.id.unwrap_or_default(),
            name,
            image: c.image.unwrap_or_default(),
            labels: c.labels.unwrap_or_default().into_iter().collect(),
            state: c.state.map(|s| s.to_string()).unwrap_or_default(),
            ports,
            networks,
        }
    }
}

impl DockerNetwork {
    fn from_api(n: bollard::models::Network) -> DockerNetwork {
        let mut subnets: Vec<ipnet::IpNet> = n
            .ipam
            .and_then(|i| i.config)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|c| c.subnet.and_then(|s| s.parse().ok()))
            .collect();
        subnets.sort();
        DockerNetwork {
            id: n.id.unwrap_or_default(),
            name: n.name.unwrap_or_default(),
            driver: n.driver.unwrap_or_default(),
            subnets,
            internal: n.internal.unwrap_or(false),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Podman list answer, as its compatible service sends it (null networks for
    /// `--network none`, no host IP for ports published on all addresses).
    const PODMAN_CONTAINERS: &str = r#"[
      {"Id":"b2","Names":["/web"],"Image":"localhost/sonde-busybox:test","Labels":{"app":"web"},
       "State":"running","Ports":[{"IP":"127.0.0.1","PrivatePort":80,"PublicPort":18080,"Type":"tcp"},
       {"IP":"","PrivatePort":81,"PublicPort":0,"Type":"tcp"}],
       "NetworkSettings":{"Networks":{"lab":{"IPAddress":"10.89.2.2","IPPrefixLen":24,
       "MacAddress":"42:d7:e5:17:ea:f7"}}}},
      {"Id":"a1","Names":["/alone"],"Image":"x","Labels":null,"State":"exited","Ports":[],
       "NetworkSettings":{"Networks":null}}
    ]"#;

    #[test]
    fn podman_answers_map_in_a_stable_order() {
        let raw: Vec<bollard::models::ContainerSummary> =
            serde_json::from_str(PODMAN_CONTAINERS).expect("valid API JSON");
        let engine = DockerEngine {
            product: "Podman Engine".into(),
            version: "4.3.1".into(),
            api_version: "1.41".into(),
            platform: "linux/amd64".into(),
        };
        let inv = DockerInventory::assemble("unix:///x".into(), engine, raw, Vec::new());
        let names: Vec<&str> = inv.containers.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["alone", "web"]);
        let web = &inv.containers[1];
        assert_eq!(
            web.ports,
            [PublishedPort {
                host_ip: Some("127.0.0.1".parse().expect("ip")),
                host_port: 18080,
                container_port: 80,
                proto: "tcp".into(),
            }]
        );
        assert_eq!(web.networks[0].address, Some("10.89.2.2".parse().expect("ip")));
        assert_eq!(web.networks[0].prefix_len, Some(24));
        assert_eq!(web.labels.get("app").map(String::as_str), Some("web"));
        assert!(inv.containers[0].networks.is_empty());
        assert_eq!(inv.containers[0].state, "exited");
    }
}
