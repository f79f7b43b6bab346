//! Docker engines, their containers and networks, as the last read of each endpoint found
//! them.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use sonde_scanner::{DockerContainer, DockerInventory};
use sonde_web::api::{DockerContainerView, DockerHostView, DockerNetworkView, DockerView};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::backend::now;
use super::{Store, StoreError};

/// A container as an appearance or vanishing names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerRef {
    /// Container id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Image.
    pub image: String,
}

/// What one read of an engine changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DockerChanges {
    /// The engine's row.
    pub docker_host_id: i64,
    /// Containers the previous read did not have.
    pub appeared: Vec<ContainerRef>,
    /// Containers the previous read had and this one does not.
    pub vanished: Vec<ContainerRef>,
}

impl Store {
    /// Stores what a read of `inventory.endpoint` found, replacing the previous read (first
    /// sightings are kept), and says which containers appeared and vanished. `ip` is the
    /// engine host's address when known.
    pub async fn record_docker(
        &self,
        inventory: &DockerInventory,
        ip: Option<Ipv4Addr>,
    ) -> Result<DockerChanges, StoreError> {
        let at = now();
        let mut tx = self.pool.begin_with(self.backend.begin_write()).await?;
        let engine = &inventory.engine;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO docker_hosts (endpoint, ip, product, version, api_version, platform, \
             error, first_seen, last_seen, last_read) VALUES ($1, $2, $3, $4, $5, $6, NULL, $7, \
             $7, $7) ON CONFLICT (endpoint) DO UPDATE SET ip = excluded.ip, \
             product = excluded.product, version = excluded.version, \
             api_version = excluded.api_version, platform = excluded.platform, error = NULL, \
             last_seen = excluded.last_seen, last_read = excluded.last_read RETURNING id",
        )
        .bind(&inventory.endpoint)
        .bind(ip.map(|ip| i64::from(u32::from(ip))))
        .bind(&engine.product)
        .bind(&engine.version)
        .bind(&engine.api_version)
        .bind(&engine.platform)
        .bind(&at)
        .fetch_one(&mut *tx)
        .await?;

        let rows =
            sqlx::query("SELECT id, name, image FROM docker_containers WHERE docker_host_id = $1")
                .bind(id)
                .fetch_all(&mut *tx)
                .await?;
        let before = rows
            .iter()
            .map(|row| {
                Ok(ContainerRef {
                    id: row.try_get("id")?,
                    name: row.try_get("name")?,
                    image: row.try_get("image")?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let changes = diff(id, &before, &inventory.containers);

        for c in &inventory.containers {
            sqlx::query(
                "INSERT INTO docker_containers (docker_host_id, id, name, image, state, labels, \
                 ports, networks, first_seen, last_seen) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, \
                 $9, $9) ON CONFLICT (docker_host_id, id) DO UPDATE SET name = excluded.name, \
                 image = excluded.image, state = excluded.state, labels = excluded.labels, \
                 ports = excluded.ports, networks = excluded.networks, \
                 last_seen = excluded.last_seen",
            )
            .bind(id)
            .bind(&c.id)
            .bind(&c.name)
            .bind(&c.image)
            .bind(&c.state)
            .bind(to_json(&c.labels)?)
            .bind(to_json(&c.ports)?)
            .bind(to_json(&c.networks)?)
            .bind(&at)
            .execute(&mut *tx)
            .await?;
        }
        for gone in &changes.vanished {
            sqlx::query("DELETE FROM docker_containers WHERE docker_host_id = $1 AND id = $2")
                .bind(id)
                .bind(&gone.id)
                .execute(&mut *tx)
                .await?;
        }

        let known: Vec<String> =
            sqlx::query_scalar("SELECT id FROM docker_networks WHERE docker_host_id = $1")
                .bind(id)
                .fetch_all(&mut *tx)
                .await?;
        for n in &inventory.networks {
            let subnets: Vec<String> = n.subnets.iter().map(ToString::to_string).collect();
            sqlx::query(
                "INSERT INTO docker_networks (docker_host_id, id, name, driver, subnets, internal, \
                 first_seen, last_seen) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
                 ON CONFLICT (docker_host_id, id) DO UPDATE SET name = excluded.name, \
                 driver = excluded.driver, subnets = excluded.subnets, \
                 internal = excluded.internal, last_seen = excluded.last_seen",
            )
            .bind(id)
            .bind(&n.id)
            .bind(&n.name)
            .bind(&n.driver)
            .bind(to_json(&subnets)?)
            .bind(i64::from(n.internal))
            .bind(&at)
            .execute(&mut *tx)
            .await?;
        }
        let current: BTreeSet<&str> = inventory.networks.iter().map(|n| n.id.as_str()).collect();
        for gone in known.iter().filter(|k| !current.contains(k.as_str())) {
            sqlx::query("DELETE FROM docker_networks WHERE docker_host_id = $1 AND id = $2")
                .bind(id)
                .bind(gone)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(changes)
    }

    /// Records that reading `endpoint` failed with `error`; what the last good read found
    /// stays.
    pub async fn record_docker_failure(
        &self,
        endpoint: &str,
        ip: Option<Ipv4Addr>,
        error: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO docker_hosts (endpoint, ip, error, first_seen, last_seen, last_read) \
             VALUES ($1, $2, $3, $4, $4, $4) ON CONFLICT (endpoint) DO UPDATE SET \
             error = excluded.error, last_read = excluded.last_read",
        )
        .bind(endpoint)
        .bind(ip.map(|ip| i64::from(u32::from(ip))))
        .bind(error)
        .bind(now())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Every engine with its containers and networks, by endpoint then name.
    pub async fn docker_view(&self) -> Result<DockerView, StoreError> {
        let rows = sqlx::query(
            "SELECT d.id, d.endpoint, d.ip, d.product, d.version, d.api_version, d.platform, \
             d.error, d.first_seen, d.last_seen, d.last_read, \
             (SELECT COUNT(*) FROM hosts h WHERE h.ip = d.ip) AS known \
             FROM docker_hosts d ORDER BY d.endpoint",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut hosts = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: i64 = row.try_get("id")?;
            let ip: Option<i64> = row.try_get("ip")?;
            let ip = ip
                .map(|ip| u32::try_from(ip).map(Ipv4Addr::from))
                .transpose()
                .map_err(|e| StoreError::Corrupt(format!("docker host address: {e}")))?;
            let containers = sqlx::query(
                "SELECT id, name, image, state, labels, ports, networks, first_seen, last_seen \
                 FROM docker_containers WHERE docker_host_id = $1 ORDER BY name, id",
            )
            .bind(id)
            .fetch_all(&self.pool)
            .await?;
            let networks = sqlx::query(
                "SELECT id, name, driver, subnets, internal, first_seen, last_seen \
                 FROM docker_networks WHERE docker_host_id = $1 ORDER BY name, id",
            )
            .bind(id)
            .fetch_all(&self.pool)
            .await?;
            hosts.push(DockerHostView {
                id,
                endpoint: row.try_get("endpoint")?,
                ip,
                known_host: row.try_get::<i64, _>("known")? > 0,
                product: row.try_get("product")?,
                version: row.try_get("version")?,
                api_version: row.try_get("api_version")?,
                platform: row.try_get("platform")?,
                error: row.try_get("error")?,
                first_seen: row.try_get("first_seen")?,
                last_seen: row.try_get("last_seen")?,
                last_read: row.try_get("last_read")?,
                containers: containers.iter().map(container_view).collect::<Result<_, _>>()?,
                networks: networks.iter().map(network_view).collect::<Result<_, _>>()?,
            });
        }
        Ok(DockerView { hosts })
    }
}

/// Which containers appeared and vanished between the stored read `before` and `now`.
fn diff(docker_host_id: i64, before: &[ContainerRef], now: &[DockerContainer]) -> DockerChanges {
    let old: BTreeMap<&str, &ContainerRef> = before.iter().map(|c| (c.id.as_str(), c)).collect();
    let new: BTreeSet<&str> = now.iter().map(|c| c.id.as_str()).collect();
    let appeared = now
        .iter()
        .filter(|c| !old.contains_key(c.id.as_str()))
        .map(|c| ContainerRef { id: c.id.clone(), name: c.name.clone(), image: c.image.clone() })
        .collect();
    let vanished =
        old.values().filter(|c| !new.contains(c.id.as_str())).map(|c| (*c).clone()).collect();
    DockerChanges { docker_host_id, appeared, vanished }
}

fn to_json(value: &impl serde::Serialize) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Invalid(format!("docker record: {e}")))
}

fn from_json<T: serde::de::DeserializeOwned>(row: &AnyRow, column: &str) -> Result<T, StoreError> {
    let text: String = row.try_get(column)?;
    serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("docker {column}: {e}")))
}

fn container_view(row: &AnyRow) -> Result<DockerContainerView, StoreError> {
    Ok(DockerContainerView {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        image: row.try_get("image")?,
        state: row.try_get("state")?,
        labels: from_json(row, "labels")?,
        ports: from_json(row, "ports")?,
        networks: from_json(row, "networks")?,
        first_seen: row.try_get("first_seen")?,
        last_seen: row.try_get("last_seen")?,
    })
}

fn network_view(row: &AnyRow) -> Result<DockerNetworkView, StoreError> {
    Ok(DockerNetworkView {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        driver: row.try_get("driver")?,
        subnets: from_json(row, "subnets")?,
        internal: row.try_get::<i64, _>("internal")? != 0,
        first_seen: row.try_get("first_seen")?,
        last_seen: row.try_get("last_seen")?,
    })
}

#[cfg(test)]
mod tests {
    use sonde_scanner::{ContainerAttachment, DockerEngine, DockerNetwork, PublishedPort};

    use super::super::store_tests;
    use super::*;

    fn container(id: &str, name: &str) -> DockerContainer {
        DockerContainer {
            id: id.into(),
            name: name.into(),
            image: "localhost/app:1".into(),
            labels: [("tier".to_string(), "front".to_string())].into(),
            state: "running".into(),
            ports: vec![PublishedPort {
                host_ip: Some([127, 0, 0, 1].into()),
                host_port: 18080,
                container_port: 80,
                proto: "tcp".into(),
            }],
            networks: vec![ContainerAttachment {
                network: "front".into(),
                address: Some([10, 213, 7, 2].into()),
                prefix_len: Some(24),
                mac: None,
            }],
        }
    }

    fn inventory(containers: Vec<DockerContainer>) -> DockerInventory {
        DockerInventory {
            endpoint: "unix:///run/test.sock".into(),
            engine: DockerEngine {
                product: "Podman Engine".into(),
                version: "4.3.1".into(),
                api_version: "1.41".into(),
                platform: "linux/amd64".into(),
            },
            containers,
            networks: vec![DockerNetwork {
                id: "n1".into(),
                name: "front".into(),
                driver: "bridge".into(),
                subnets: vec!["10.213.7.0/24".parse().unwrap()],
                internal: false,
            }],
        }
    }

    store_tests! {
        async fn reads_replace_each_other_and_name_what_changed(store) {
            let local = Some(Ipv4Addr::LOCALHOST);
            let first = inventory(vec![container("a1", "web"), container("b2", "db")]);
            let changes = store.record_docker(&first, local).await.unwrap();
            let names: Vec<&str> = changes.appeared.iter().map(|c| c.name.as_str()).collect();
            assert_eq!(names, ["web", "db"]);
            assert!(changes.vanished.is_empty());

            let second = inventory(vec![container("b2", "db"), container("c3", "cache")]);
            let changes = store.record_docker(&second, local).await.unwrap();
            assert_eq!(changes.appeared.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["cache"]);
            assert_eq!(changes.vanished.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["web"]);

            let view = store.docker_view().await.unwrap();
            let host = &view.hosts[0];
            assert_eq!((host.endpoint.as_str(), host.ip, host.known_host), ("unix:///run/test.sock", local, false));
            assert_eq!(host.product.as_deref(), Some("Podman Engine"));
            let names: Vec<&str> = host.containers.iter().map(|c| c.name.as_str()).collect();
            assert_eq!(names, ["cache", "db"]);
            let db = &host.containers[1];
            assert_eq!(db.labels["tier"], "front");
            assert_eq!((db.ports[0].host_ip.as_deref(), db.ports[0].host_port), (Some("127.0.0.1"), 18080));
            assert_eq!(db.networks[0].address.as_deref(), Some("10.213.7.2"));
            assert_eq!(host.networks[0].subnets, ["10.213.7.0/24"]);

            // A failed read keeps what the last good one found, and says why.
            store.record_docker_failure(&first.endpoint, local, "engine gone").await.unwrap();
            let view = store.docker_view().await.unwrap();
            assert_eq!(view.hosts[0].error.as_deref(), Some("engine gone"));
            assert_eq!(view.hosts[0].containers.len(), 2);
            let again = store.record_docker(&second, local).await.unwrap();
            assert!(again.appeared.is_empty() && again.vanished.is_empty());
            assert_eq!(store.docker_view().await.unwrap().hosts[0].error, None);
        }
    }
}
