//! The aggregates behind the console's charts.

use sonde_web::stats::{PortCount, SubnetCount};

use super::{Store, StoreError};

impl Store {
    /// Hosts per open port, most common first (ties by port), at most `limit` rows.
    pub async fn port_counts(&self, limit: u32) -> Result<Vec<PortCount>, StoreError> {
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT port, COUNT(*) FROM ports WHERE state = 'open' \
             GROUP BY port ORDER BY 2 DESC, port LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(port, hosts)| {
                Ok(PortCount {
                    port: u16::try_from(port)
                        .map_err(|_| StoreError::Corrupt(format!("port {port} out of range")))?,
                    hosts: u64::try_from(hosts).unwrap_or(0),
                })
            })
            .collect()
    }

    /// Every /24 holding a host with an open port, ascending, with its hosts and open ports.
    pub async fn subnet_counts(&self) -> Result<Vec<SubnetCount>, StoreError> {
        // Addresses are integers, so the /24 is `ip >> 8`: one pass over the ports table.
        let rows: Vec<(i64, i64, i64)> = sqlx::query_as(
            "SELECT ip >> 8 AS net, COUNT(DISTINCT ip), COUNT(*) FROM ports \
             WHERE state = 'open' GROUP BY net ORDER BY net",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(net, hosts, ports)| {
                let net = u32::try_from(net)
                    .ok()
                    .filter(|n| *n < 1 << 24)
                    .ok_or_else(|| StoreError::Corrupt(format!("subnet {net} is not a /24")))?;
                let [_, a, b, c] = net.to_be_bytes();
                Ok(SubnetCount {
                    subnet: format!("{a}.{b}.{c}.0/24"),
                    hosts: u64::try_from(hosts).unwrap_or(0),
                    ports: u64::try_from(ports).unwrap_or(0),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::super::findings::tests::{record, scan};
    use super::super::store_tests;

    store_tests! {
        async fn ports_and_subnets_are_counted(store) {
        let id = scan(store).await;
        store
            .persist(
                id,
                &[
                    record([10, 0, 0, 1], 22),
                    record([10, 0, 0, 1], 80),
                    record([10, 0, 0, 2], 22),
                    record([10, 1, 7, 9], 443),
                ],
            )
            .await
            .unwrap();
        let ports = store.port_counts(2).await.unwrap();
        let ports: Vec<(u16, u64)> = ports.iter().map(|p| (p.port, p.hosts)).collect();
        assert_eq!(ports, [(22, 2), (80, 1)]);
        let subnets = store.subnet_counts().await.unwrap();
        let subnets: Vec<(&str, u64, u64)> =
            subnets.iter().map(|s| (s.subnet.as_str(), s.hosts, s.ports)).collect();
        assert_eq!(subnets, [("10.0.0.0/24", 2, 3), ("10.1.7.0/24", 1, 1)]);
            }
    }
}
