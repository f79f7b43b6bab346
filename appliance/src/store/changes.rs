//! Host history: comparing what two scans saw, and the change log each completed scan records.
//!
//! A scan's results (`scan_results`) keep the identification it saw on each open port, so any
//! two scans can be compared after the fact. When a scan completes, its changes against the
//! previous completed scan of the same targets and ports are also written to `changes`: that
//! log is the hosts' history and does not depend on older results being kept.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use sonde_web::api::{
    HISTORY_LIMIT, HistoryEntry, HostMove, PortChange, ScanChanges, ServiceChange, ServiceInfo,
};
use sqlx::Row;

use super::hosts::ip_from;
use super::machines::moves;
use super::{Store, StoreError};

/// An open port as one scan saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenPort {
    /// Address.
    pub ip: Ipv4Addr,
    /// Port.
    pub port: u16,
    /// `tcp`.
    pub proto: String,
    /// Identification by that scan.
    pub service: ServiceInfo,
}

/// What changed from `before` (scan `against`) to `after` (scan `scan_id`), given the
/// machines that `moved` in between (see [`super::moves`]). Pure, so that the rules are
/// tested without a store: a host appears when it has open ports after and none before; a
/// port opens when it is open after and not before; a service changes when a port open in
/// both carries a different service, product or version. A moved machine's ports are
/// compared across its move, and its two addresses neither vanish nor appear.
pub fn compare(
    scan_id: i64,
    against: Option<i64>,
    before: &[SeenPort],
    after: &[SeenPort],
    moved: &[HostMove],
) -> ScanChanges {
    let to: BTreeMap<Ipv4Addr, Ipv4Addr> = moved.iter().map(|m| (m.from, m.to)).collect();
    let index = |ports: &[SeenPort], rename: bool| {
        ports
            .iter()
            .map(|p| {
                let ip = if rename { to.get(&p.ip).copied().unwrap_or(p.ip) } else { p.ip };
                ((ip, p.port, p.proto.clone()), p.service.clone())
            })
            .collect::<BTreeMap<(Ipv4Addr, u16, String), ServiceInfo>>()
    };
    let (old, new) = (index(before, true), index(after, false));
    let moved_to: BTreeSet<Ipv4Addr> = moved.iter().map(|m| m.to).collect();
    let hosts = |m: &BTreeMap<(Ipv4Addr, u16, String), ServiceInfo>| -> BTreeSet<Ipv4Addr> {
        m.keys().map(|(ip, _, _)| *ip).collect()
    };
    let (old_hosts, new_hosts) = (hosts(&old), hosts(&new));
    let change = |(ip, port, proto): &(Ipv4Addr, u16, String), s: &ServiceInfo| PortChange {
        ip: *ip,
        port: *port,
        proto: proto.clone(),
        service: s.service.clone(),
        product: s.product.clone(),
        version: s.version.clone(),
    };
    let mut changes = ScanChanges {
        scan_id,
        against,
        hosts_appeared: new_hosts
            .difference(&old_hosts)
            .filter(|ip| !moved_to.contains(ip))
            .copied()
            .collect(),
        hosts_vanished: old_hosts
            .difference(&new_hosts)
            .filter(|ip| !moved_to.contains(ip))
            .copied()
            .collect(),
        hosts_moved: moved.to_vec(),
        ..ScanChanges::default()
    };
    for (key, service) in &new {
        match old.get(key) {
            None => changes.ports_opened.push(change(key, service)),
            Some(previous) if previous != service => {
                changes.services_changed.push(ServiceChange {
                    ip: key.0,
                    port: key.1,
                    proto: key.2.clone(),
                    before: previous.clone(),
                    after: service.clone(),
                });
            }
            Some(_) => {}
        }
    }
    for (key, service) in &old {
        if !new.contains_key(key) {
            changes.ports_closed.push(change(key, service));
        }
    }
    changes
}

impl Store {
    /// The open ports scan `scan_id` found, with their identification.
    pub async fn scan_ports(&self, scan_id: i64) -> Result<Vec<SeenPort>, StoreError> {
        let rows = sqlx::query(
            "SELECT ip, port, proto, service, product, version FROM scan_results \
             WHERE scan_id = $1 ORDER BY ip, port",
        )
        .bind(scan_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(SeenPort {
                    ip: ip_from(row.try_get("ip")?)?,
                    port: port_from(row.try_get("port")?)?,
                    proto: row.try_get("proto")?,
                    service: ServiceInfo {
                        service: row.try_get("service")?,
                        product: row.try_get("product")?,
                        version: row.try_get("version")?,
                    },
                })
            })
            .collect()
    }

    /// The latest completed scan before `scan_id` with the same targets, exclusions, ports
    /// and UDP ports: the one whose results are comparable. Ports are part of it because a
    /// port one scan did not probe has not closed.
    pub async fn previous_comparable_scan(&self, scan_id: i64) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT p.id FROM scans p JOIN scans s ON s.id = $1 \
             WHERE p.id < s.id AND p.status = 'completed' AND p.targets = s.targets \
             AND p.exclude = s.exclude AND p.ports = s.ports AND p.udp_ports = s.udp_ports \
             ORDER BY p.id DESC LIMIT 1",
        )
        .bind(scan_id)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// What changed from scan `against` to scan `scan_id`; with no `against`, from the
    /// previous comparable scan, or from nothing when there is none.
    pub async fn changes(
        &self,
        scan_id: i64,
        against: Option<i64>,
    ) -> Result<ScanChanges, StoreError> {
        let against = match against {
            Some(id) => Some(id),
            None => self.previous_comparable_scan(scan_id).await?,
        };
        let (before, seen_before) = match against {
            Some(id) => (self.scan_ports(id).await?, self.sightings(id).await?),
            None => (Vec::new(), Vec::new()),
        };
        let after = self.scan_ports(scan_id).await?;
        let moved = moves(&seen_before, &self.sightings(scan_id).await?);
        Ok(compare(scan_id, against, &before, &after, &moved))
    }

    /// Writes `changes` to the change log in one transaction.
    pub async fn record_changes(&self, changes: &ScanChanges) -> Result<(), StoreError> {
        let mut tx = self.pool.begin_with(self.backend.begin_write()).await?;
        let hosts = changes
            .hosts_appeared
            .iter()
            .map(|ip| (*ip, "host_appeared"))
            .chain(changes.hosts_vanished.iter().map(|ip| (*ip, "host_vanished")));
        for (ip, kind) in hosts {
            sqlx::query(
                "INSERT INTO changes (scan_id, against, ip, kind, machine_id) \
                 VALUES ($1, $2, $3, $4, (SELECT machine_id FROM hosts WHERE ip = $3))",
            )
            .bind(changes.scan_id)
            .bind(changes.against)
            .bind(i64::from(u32::from(ip)))
            .bind(kind)
            .execute(&mut *tx)
            .await?;
        }
        for m in &changes.hosts_moved {
            sqlx::query(
                "INSERT INTO changes (scan_id, against, ip, kind, machine_id, from_ip) \
                 VALUES ($1, $2, $3, 'host_moved', $4, $5)",
            )
            .bind(changes.scan_id)
            .bind(changes.against)
            .bind(i64::from(u32::from(m.to)))
            .bind(m.machine_id)
            .bind(i64::from(u32::from(m.from)))
            .execute(&mut *tx)
            .await?;
        }
        let info = |p: &PortChange| ServiceInfo {
            service: p.service.clone(),
            product: p.product.clone(),
            version: p.version.clone(),
        };
        let ports = changes
            .ports_opened
            .iter()
            .map(|p| (p.ip, p.port, &p.proto, "port_opened", None, Some(info(p))))
            .chain(
                changes
                    .ports_closed
                    .iter()
                    .map(|p| (p.ip, p.port, &p.proto, "port_closed", Some(info(p)), None)),
            )
            .chain(changes.services_changed.iter().map(|c| {
                (
                    c.ip,
                    c.port,
                    &c.proto,
                    "service_changed",
                    Some(c.before.clone()),
                    Some(c.after.clone()),
                )
            }));
        for (ip, port, proto, kind, before, after) in ports {
            sqlx::query(
                "INSERT INTO changes (scan_id, against, ip, kind, port, proto, before, after, \
                 machine_id) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, (SELECT machine_id FROM hosts WHERE ip = $3))",
            )
            .bind(changes.scan_id)
            .bind(changes.against)
            .bind(i64::from(u32::from(ip)))
            .bind(kind)
            .bind(i64::from(port))
            .bind(proto)
            .bind(before.map(|b| to_json(&b)))
            .bind(after.map(|a| to_json(&a)))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The recorded changes of one host, newest first: those of its machine, wherever it
    /// was, when it has one; those of its address otherwise.
    pub async fn host_history(
        &self,
        ip: Ipv4Addr,
        machine_id: Option<i64>,
    ) -> Result<Vec<HistoryEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT scan_id, at, kind, ip, port, proto, before, after, from_ip FROM changes \
             WHERE machine_id = $1 OR (ip = $2 AND machine_id IS NULL) \
             ORDER BY id DESC LIMIT $3",
        )
        .bind(machine_id)
        .bind(i64::from(u32::from(ip)))
        .bind(i64::try_from(HISTORY_LIMIT).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let port: Option<i64> = row.try_get("port")?;
                let from: Option<i64> = row.try_get("from_ip")?;
                Ok(HistoryEntry {
                    ip: Some(ip_from(row.try_get("ip")?)?),
                    from: from.map(ip_from).transpose()?,
                    scan_id: row.try_get("scan_id")?,
                    at: row.try_get("at")?,
                    kind: row.try_get("kind")?,
                    port: port.map(port_from).transpose()?,
                    proto: row.try_get("proto")?,
                    before: from_json(row.try_get("before")?)?,
                    after: from_json(row.try_get("after")?)?,
                })
            })
            .collect()
    }
}

fn port_from(value: i64) -> Result<u16, StoreError> {
    u16::try_from(value).map_err(|e| StoreError::Corrupt(format!("port {value}: {e}")))
}

fn to_json(info: &ServiceInfo) -> String {
    serde_json::to_string(info).unwrap_or_else(|_| "{}".to_owned())
}

fn from_json(text: Option<String>) -> Result<Option<ServiceInfo>, StoreError> {
    text.map(|t| {
        serde_json::from_str(&t).map_err(|e| StoreError::Corrupt(format!("change detail: {e}")))
    })
    .transpose()
}

#[cfg(test)]
mod tests {
    use super::super::findings::tests::{record, scan};
    use super::super::store_tests;
    use super::*;
    use sonde_web::api::{ScanCounters, ScanStatus};

    fn seen(ip: [u8; 4], port: u16, product: Option<&str>) -> SeenPort {
        SeenPort {
            ip: ip.into(),
            port,
            proto: "tcp".into(),
            service: ServiceInfo {
                service: product.map(|_| "ssh".to_owned()),
                product: product.map(str::to_owned),
                version: None,
            },
        }
    }

    #[test]
    fn compare_names_every_kind_of_change_once() {
        let before = [
            seen([10, 0, 0, 1], 22, Some("OpenSSH")),
            seen([10, 0, 0, 1], 80, None),
            seen([10, 0, 0, 2], 443, None),
        ];
        let after = [
            seen([10, 0, 0, 1], 22, Some("Dropbear")),
            seen([10, 0, 0, 1], 8080, None),
            seen([10, 0, 0, 3], 25, None),
        ];
        let c = compare(2, Some(1), &before, &after, &[]);
        assert_eq!(c.hosts_appeared, [Ipv4Addr::new(10, 0, 0, 3)]);
        assert_eq!(c.hosts_vanished, [Ipv4Addr::new(10, 0, 0, 2)]);
        let ports = |v: &[PortChange]| v.iter().map(|p| (p.ip, p.port)).collect::<Vec<_>>();
        assert_eq!(
            ports(&c.ports_opened),
            [(Ipv4Addr::new(10, 0, 0, 1), 8080), (Ipv4Addr::new(10, 0, 0, 3), 25)]
        );
        assert_eq!(
            ports(&c.ports_closed),
            [(Ipv4Addr::new(10, 0, 0, 1), 80), (Ipv4Addr::new(10, 0, 0, 2), 443)]
        );
        assert_eq!(c.services_changed.len(), 1);
        assert_eq!(c.services_changed[0].before.product.as_deref(), Some("OpenSSH"));
        assert_eq!(c.services_changed[0].after.product.as_deref(), Some("Dropbear"));
        assert!(compare(3, Some(2), &after, &after, &[]).is_empty());
        let first = compare(1, None, &[], &before, &[]);
        assert_eq!((first.hosts_appeared.len(), first.ports_opened.len()), (2, 3));
    }

    store_tests! {
        async fn changes_are_against_the_previous_comparable_completed_scan(store) {
        let done = ScanCounters::default();
        let first = scan(store).await;
        store
            .persist(first, &[record([10, 0, 0, 1], 22), record([10, 0, 0, 1], 80)])
            .await
            .unwrap();
        store.finish_scan(first, ScanStatus::Completed, &done, None).await.unwrap();
        // A cancelled scan in between is no baseline.
        let cancelled = scan(store).await;
        store.finish_scan(cancelled, ScanStatus::Cancelled, &done, None).await.unwrap();
        let second = scan(store).await;
        store
            .persist(second, &[record([10, 0, 0, 1], 22), record([10, 0, 0, 2], 22)])
            .await
            .unwrap();
        store.finish_scan(second, ScanStatus::Completed, &done, None).await.unwrap();

        assert_eq!(store.previous_comparable_scan(second).await.unwrap(), Some(first));
        assert_eq!(store.previous_comparable_scan(first).await.unwrap(), None);
        let c = store.changes(second, None).await.unwrap();
        assert_eq!(c.against, Some(first));
        assert_eq!(c.hosts_appeared, [Ipv4Addr::new(10, 0, 0, 2)]);
        assert!(c.hosts_vanished.is_empty());
        assert_eq!(c.ports_closed.iter().map(|p| p.port).collect::<Vec<_>>(), [80]);
        assert_eq!(c.ports_opened.len(), 1);

        store.record_changes(&c).await.unwrap();
        let history = store.host_history(Ipv4Addr::new(10, 0, 0, 1), None).await.unwrap();
        assert_eq!(history.len(), 1);
        assert_eq!((history[0].kind.as_str(), history[0].port), ("port_closed", Some(80)));
        assert_eq!(history[0].before, Some(ServiceInfo::default()));
        let history = store.host_history(Ipv4Addr::new(10, 0, 0, 2), None).await.unwrap();
        let kinds: Vec<&str> = history.iter().map(|h| h.kind.as_str()).collect();
        assert_eq!(kinds, ["port_opened", "host_appeared"], "newest first");
            }

        async fn udp_ports_are_part_of_what_makes_scans_comparable(store) {
        let done = ScanCounters::default();
        let with_udp = || crate::store::NewScan {
            targets: vec!["10.0.0.0/24".into()],
            exclude: vec![],
            ports: "22".into(),
            udp_ports: "53".into(),
            rate: 1,
            seed: 1,
            probes_total: 512,
            created_by: None,
        };
        let tcp_only = scan(store).await;
        store.finish_scan(tcp_only, ScanStatus::Completed, &done, None).await.unwrap();
        let first = store.create_scan(&with_udp()).await.unwrap();
        let dns = crate::store::PortRecord {
            proto: sonde_scanner::Proto::Udp,
            ..record([10, 0, 0, 1], 53)
        };
        store.persist(first, &[record([10, 0, 0, 1], 22), dns]).await.unwrap();
        store.finish_scan(first, ScanStatus::Completed, &done, None).await.unwrap();
        assert_eq!(
            store.previous_comparable_scan(first).await.unwrap(),
            None,
            "a scan without UDP ports never probed 53/udp"
        );
        let second = store.create_scan(&with_udp()).await.unwrap();
        store.persist(second, &[record([10, 0, 0, 1], 22)]).await.unwrap();
        store.finish_scan(second, ScanStatus::Completed, &done, None).await.unwrap();
        let c = store.changes(second, None).await.unwrap();
        assert_eq!(c.against, Some(first));
        let closed: Vec<(u16, &str)> =
            c.ports_closed.iter().map(|p| (p.port, p.proto.as_str())).collect();
        assert_eq!(closed, [(53, "udp")]);
        assert!(c.ports_opened.is_empty() && c.services_changed.is_empty(), "{c:?}");
            }
    }
}
