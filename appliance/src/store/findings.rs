//! Writing what scans found: one transaction per batch.

use std::net::Ipv4Addr;

use sonde_scanner::{Proto, TlsInfo};
use sonde_web::api::{CertView, Hostname, TlsView};

use super::backend::now;
use super::hosts::source_name;
use super::machines::machine_for;
use super::rows::{rows_per_statement, values};
use super::{Store, StoreError};
use crate::service_names::service_hostnames;

/// An open port with what the prober and matcher learned about it.
#[derive(Debug, Clone, PartialEq)]
pub struct PortRecord {
    /// Address.
    pub ip: Ipv4Addr,
    /// Port.
    pub port: u16,
    /// `tcp`, or `udp` when a datagram came back.
    pub proto: Proto,
    /// Round-trip time of the probe that found it.
    pub rtt_ms: f64,
    /// What the service sent first, bounded by the prober.
    pub banner: Option<Vec<u8>>,
    /// Service name.
    pub service: Option<String>,
    /// Product.
    pub product: Option<String>,
    /// Version.
    pub version: Option<String>,
    /// Who makes the product.
    pub vendor: Option<String>,
    /// More detail (distribution, device model...).
    pub info: Option<String>,
    /// CPE 2.3 name.
    pub cpe: Option<String>,
    /// Id of the signature that matched.
    pub signature: Option<String>,
    /// 0..=100.
    pub confidence: Option<u8>,
    /// What the `tls` probe's handshake showed.
    pub tls: Option<TlsInfo>,
}

/// The API's view of a handshake.
pub fn tls_view(info: &TlsInfo) -> TlsView {
    TlsView {
        version: info.version.clone(),
        alpn: info.alpn.clone(),
        cipher: info.cipher.clone(),
        cert: info.cert.as_ref().map(|c| CertView {
            subject: c.subject.clone(),
            issuer: c.issuer.clone(),
            san: c.san.clone(),
            not_before: c.not_before.clone(),
            not_after: c.not_after.clone(),
            serial: c.serial.clone(),
            sha256: c.sha256.clone(),
            key_type: c.key_type.clone(),
            self_signed: c.self_signed,
        }),
    }
}

/// An on-link host that answered ARP, whether or not it has open ports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostRecord {
    /// Address.
    pub ip: Ipv4Addr,
    /// Its MAC, `02:5d:6c:00:00:02`.
    pub mac: String,
    /// The organisation behind the MAC's prefix.
    pub vendor: Option<String>,
}

/// What a batch changed, for the event stream.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct PersistOutcome {
    /// Hosts this scan had not stored before this batch.
    pub new_hosts: Vec<Ipv4Addr>,
    /// When the batch was stored (RFC 3339).
    pub stored_at: String,
}

impl Store {
    /// Stores the on-link hosts `scan_id` found by ARP in one transaction: each becomes a host
    /// (seen now) with its MAC and vendor, so hosts that answer nothing but ARP are listed,
    /// linked to the machine its MAC names (see `machines.rs`).
    pub async fn persist_hosts(
        &self,
        scan_id: i64,
        hosts: &[HostRecord],
    ) -> Result<(), StoreError> {
        if hosts.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin_with(self.backend.begin_write()).await?;
        let now = now();
        for h in hosts {
            let machine = machine_for(&mut tx, h).await?;
            sqlx::query(
                "INSERT INTO hosts (ip, first_seen, last_seen, last_scan_id, mac, vendor, \
                 machine_id) VALUES ($1, $2, $2, $3, $4, $5, $6) \
                 ON CONFLICT (ip) DO UPDATE SET last_seen = excluded.last_seen, \
                 last_scan_id = excluded.last_scan_id, mac = excluded.mac, \
                 vendor = excluded.vendor, machine_id = excluded.machine_id",
            )
            .bind(i64::from(u32::from(h.ip)))
            .bind(&now)
            .bind(scan_id)
            .bind(&h.mac)
            .bind(&h.vendor)
            .bind(machine)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Stores a batch of open ports found by `scan_id` in one transaction: all or nothing.
    ///
    /// One multi-row statement per table (more when the batch outgrows the backend's bind
    /// limit) rather than four per port: writes are bound by statements per second. The rows
    /// are the ones a statement per port, in batch order, would leave (a port twice in a
    /// batch is one row, its banner kept).
    pub async fn persist(
        &self,
        scan_id: i64,
        records: &[PortRecord],
    ) -> Result<PersistOutcome, StoreError> {
        let mut outcome = PersistOutcome::default();
        if records.is_empty() {
            return Ok(outcome);
        }
        let now = now();
        let b = self.backend;
        let p1 = b.param(1);
        let ips = distinct_ips(records);
        let ports = merge_ports(records);
        let names = said_names(records);
        let results = merge_results(records);
        let mut tx = self.pool.begin_with(self.backend.begin_write()).await?;

        // Hosts this scan had not stored before this batch, in batch order.
        let mut seen = std::collections::HashSet::new();
        for part in ips.chunks(rows_per_statement(b, 1, 1)) {
            let sql = format!(
                "SELECT DISTINCT ip FROM scan_results WHERE scan_id = {p1} AND ip IN ({})",
                values(b, "?", part.len(), 2)
            );
            let mut query = sqlx::query_scalar::<_, i64>(&sql).bind(scan_id);
            for &(ip, _) in part {
                query = query.bind(ip);
            }
            seen.extend(query.fetch_all(&mut *tx).await?);
        }
        outcome.new_hosts =
            ips.iter().filter(|(ip, _)| !seen.contains(ip)).map(|&(_, addr)| addr).collect();

        for part in ips.chunks(rows_per_statement(b, 0, 4)) {
            let sql = format!(
                "INSERT INTO hosts (ip, first_seen, last_seen, last_scan_id) VALUES {} \
                 ON CONFLICT (ip) DO UPDATE SET last_seen = excluded.last_seen, \
                 last_scan_id = excluded.last_scan_id",
                values(b, "(?, ?, ?, ?)", part.len(), 1)
            );
            let mut query = sqlx::query(&sql);
            for &(ip, _) in part {
                query = query.bind(ip).bind(&now).bind(&now).bind(scan_id);
            }
            query.execute(&mut *tx).await?;
        }

        for part in ports.chunks(rows_per_statement(b, 0, 17)) {
            let sql = format!(
                "INSERT INTO ports (ip, port, proto, state, service, product, version, confidence, \
                 banner, rtt_ms, first_seen, last_seen, last_scan_id, vendor, info, cpe, signature, \
                 tls_cert) VALUES {} \
                 ON CONFLICT (ip, port, proto) DO UPDATE SET state = 'open', \
                 service = excluded.service, product = excluded.product, version = excluded.version, \
                 vendor = excluded.vendor, info = excluded.info, cpe = excluded.cpe, \
                 signature = excluded.signature, \
                 confidence = excluded.confidence, banner = COALESCE(excluded.banner, ports.banner), \
                 tls_cert = COALESCE(excluded.tls_cert, ports.tls_cert), \
                 rtt_ms = excluded.rtt_ms, last_seen = excluded.last_seen, \
                 last_scan_id = excluded.last_scan_id",
                values(
                    b,
                    "(?, ?, ?, 'open', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    part.len(),
                    1
                )
            );
            let mut query = sqlx::query(&sql);
            for p in part {
                let r = p.record;
                query = query
                    .bind(i64::from(u32::from(r.ip)))
                    .bind(i64::from(r.port))
                    .bind(r.proto.as_str())
                    .bind(&r.service)
                    .bind(&r.product)
                    .bind(&r.version)
                    .bind(r.confidence.map(i64::from))
                    .bind(p.banner)
                    .bind(r.rtt_ms)
                    .bind(&now)
                    .bind(&now)
                    .bind(scan_id)
                    .bind(&r.vendor)
                    .bind(&r.info)
                    .bind(&r.cpe)
                    .bind(&r.signature)
                    .bind(p.tls_json.clone());
            }
            query.execute(&mut *tx).await?;
        }

        // Names the services gave about their hosts land with the ports, in the same
        // transaction; the trust order decides later which one is shown.
        for part in names.chunks(rows_per_statement(b, 0, 5)) {
            let sql = format!(
                "INSERT INTO hostnames (ip, name, source, scan_id, seen_at) VALUES {} \
                 ON CONFLICT (ip, name, source) DO UPDATE SET scan_id = excluded.scan_id, \
                 seen_at = excluded.seen_at",
                values(b, "(?, ?, ?, ?, ?)", part.len(), 1)
            );
            let mut query = sqlx::query(&sql);
            for (ip, name) in part {
                query = query
                    .bind(*ip)
                    .bind(&name.name)
                    .bind(source_name(name.source))
                    .bind(scan_id)
                    .bind(&now);
            }
            query.execute(&mut *tx).await?;
        }

        for part in results.chunks(rows_per_statement(b, 0, 9)) {
            let sql = format!(
                "INSERT INTO scan_results (scan_id, ip, port, proto, service, product, version, \
                 info, cpe) VALUES {} \
                 ON CONFLICT (scan_id, ip, port, proto) DO UPDATE SET service = excluded.service, \
                 product = excluded.product, version = excluded.version, info = excluded.info, \
                 cpe = excluded.cpe",
                values(b, "(?, ?, ?, ?, ?, ?, ?, ?, ?)", part.len(), 1)
            );
            let mut query = sqlx::query(&sql);
            for r in part {
                query = query
                    .bind(scan_id)
                    .bind(i64::from(u32::from(r.ip)))
                    .bind(i64::from(r.port))
                    .bind(r.proto.as_str())
                    .bind(&r.service)
                    .bind(&r.product)
                    .bind(&r.version)
                    .bind(&r.info)
                    .bind(&r.cpe);
            }
            query.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        outcome.stored_at = now;
        Ok(outcome)
    }
}

/// A port row to write: the batch's last record of its (address, port, protocol), with the
/// banner and certificate of the last record that had one, as successive upserts would keep
/// them (`COALESCE(excluded.banner, ports.banner)`).
#[derive(Debug)]
struct MergedPort<'a> {
    record: &'a PortRecord,
    banner: Option<&'a [u8]>,
    tls_json: Option<String>,
}

/// The batch's addresses, each once, in order of first appearance, with their integer form.
fn distinct_ips(records: &[PortRecord]) -> Vec<(i64, Ipv4Addr)> {
    let mut seen = std::collections::HashSet::new();
    records
        .iter()
        .filter(|r| seen.insert(r.ip))
        .map(|r| (i64::from(u32::from(r.ip)), r.ip))
        .collect()
}

/// One row per (address, port, protocol). PostgreSQL refuses a statement that upserts one
/// row twice ("ON CONFLICT DO UPDATE command cannot affect row a second time"), and the
/// merged row is the one per-record upserts would have left.
fn merge_ports(records: &[PortRecord]) -> Vec<MergedPort<'_>> {
    let mut at: std::collections::HashMap<(Ipv4Addr, u16, &str), usize> =
        std::collections::HashMap::new();
    let mut out: Vec<MergedPort<'_>> = Vec::with_capacity(records.len());
    for r in records {
        // Serializing plain strings and a bool cannot fail; `ok()` keeps that panic-free.
        let tls_json = r.tls.as_ref().and_then(|t| serde_json::to_string(t).ok());
        let merged = MergedPort { record: r, banner: r.banner.as_deref(), tls_json };
        match at.get(&(r.ip, r.port, r.proto.as_str())) {
            Some(&i) => {
                let earlier = std::mem::replace(&mut out[i], merged);
                let kept = &mut out[i];
                kept.banner = kept.banner.or(earlier.banner);
                kept.tls_json = kept.tls_json.take().or(earlier.tls_json);
            }
            None => {
                at.insert((r.ip, r.port, r.proto.as_str()), out.len());
                out.push(merged);
            }
        }
    }
    out
}

/// One result per (address, port, protocol): the batch's last record of it.
fn merge_results(records: &[PortRecord]) -> Vec<&PortRecord> {
    let mut at: std::collections::HashMap<(Ipv4Addr, u16, &str), usize> =
        std::collections::HashMap::new();
    let mut out: Vec<&PortRecord> = Vec::with_capacity(records.len());
    for r in records {
        match at.get(&(r.ip, r.port, r.proto.as_str())) {
            Some(&i) => out[i] = r,
            None => {
                at.insert((r.ip, r.port, r.proto.as_str()), out.len());
                out.push(r);
            }
        }
    }
    out
}

/// The names the batch's services gave about their hosts, each (address, name, source) once.
fn said_names(records: &[PortRecord]) -> Vec<(i64, Hostname)> {
    let mut seen = std::collections::HashSet::new();
    records
        .iter()
        .flat_map(|r| {
            let ip = i64::from(u32::from(r.ip));
            service_hostnames(r.service.as_deref(), r.banner.as_deref(), r.tls.as_ref())
                .into_iter()
                .map(move |name| (ip, name))
        })
        .filter(|(ip, name)| seen.insert((*ip, name.name.clone(), source_name(name.source))))
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::{NewScan, store_tests};
    use super::*;

    pub(crate) fn record(ip: [u8; 4], port: u16) -> PortRecord {
        PortRecord {
            ip: ip.into(),
            port,
            proto: Proto::Tcp,
            rtt_ms: 0.5,
            banner: None,
            service: None,
            product: None,
            version: None,
            vendor: None,
            info: None,
            cpe: None,
            signature: None,
            confidence: None,
            tls: None,
        }
    }

    pub(crate) async fn scan(store: &Store) -> i64 {
        store
            .create_scan(&NewScan {
                targets: vec!["10.0.0.0/24".into()],
                exclude: vec![],
                ports: "22".into(),
                udp_ports: String::new(),
                rate: 1,
                seed: 1,
                probes_total: 256,
                created_by: None,
            })
            .await
            .unwrap()
    }

    store_tests! {
        async fn udp_and_tcp_on_one_port_are_two_rows(store) {
            let id = scan(store).await;
            let udp = PortRecord {
                proto: Proto::Udp,
                service: Some("domain".into()),
                product: Some("dnsmasq".into()),
                banner: Some(b"dns.version: dnsmasq-2.90\n".to_vec()),
                ..record([10, 0, 0, 1], 53)
            };
            store.persist(id, &[record([10, 0, 0, 1], 53), udp]).await.unwrap();
            let rows: Vec<(String, Option<String>)> = sqlx::query_as(
                "SELECT proto, product FROM ports WHERE port = $1 ORDER BY proto",
            )
            .bind(53i64)
            .fetch_all(&store.pool)
            .await
            .unwrap();
            assert_eq!(rows, [("tcp".to_string(), None), ("udp".to_string(), Some("dnsmasq".to_string()))]);
            let results: Vec<String> =
                sqlx::query_scalar("SELECT proto FROM scan_results WHERE scan_id = $1 ORDER BY proto")
                    .bind(id)
                    .fetch_all(&store.pool)
                    .await
                    .unwrap();
            assert_eq!(results, ["tcp", "udp"]);
        }

        async fn new_hosts_are_reported_once_per_scan(store) {
            let first = scan(store).await;
            let out = store
                .persist(first, &[record([10, 0, 0, 1], 22), record([10, 0, 0, 1], 80)])
                .await
                .unwrap();
            assert_eq!(out.new_hosts, vec![Ipv4Addr::new(10, 0, 0, 1)]);
            assert!(out.stored_at.ends_with('Z'));
            let out = store
                .persist(first, &[record([10, 0, 0, 1], 443), record([10, 0, 0, 2], 22)])
                .await
                .unwrap();
            assert_eq!(out.new_hosts, vec![Ipv4Addr::new(10, 0, 0, 2)]);
            let second = scan(store).await;
            let out = store.persist(second, &[record([10, 0, 0, 1], 22)]).await.unwrap();
            assert_eq!(out.new_hosts, vec![Ipv4Addr::new(10, 0, 0, 1)], "new to the second scan");
        }

        async fn a_failed_batch_leaves_nothing_behind(store) {
            let id = scan(store).await;
            // Port 0 violates the ports CHECK constraint half-way through the batch.
            let err = store.persist(id, &[record([10, 0, 0, 1], 22), record([10, 0, 0, 2], 0)]).await;
            assert!(err.is_err());
            let hosts: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM hosts").fetch_one(&store.pool).await.unwrap();
            let results: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM scan_results")
                .fetch_one(&store.pool)
                .await
                .unwrap();
            assert_eq!((hosts, results), (0, 0));
        }

        async fn a_port_twice_in_a_batch_is_one_row_keeping_its_banner(store) {
            let id = scan(store).await;
            let first = PortRecord {
                service: Some("ssh".into()),
                banner: Some(b"SSH-2.0-OpenSSH_9.2\r\n".to_vec()),
                ..record([10, 0, 0, 1], 22)
            };
            let second = PortRecord { product: Some("OpenSSH".into()), ..record([10, 0, 0, 1], 22) };
            let out = store.persist(id, &[first, second]).await.unwrap();
            assert_eq!(out.new_hosts, vec![Ipv4Addr::new(10, 0, 0, 1)]);
            let rows: Vec<(Option<Vec<u8>>, Option<String>)> =
                sqlx::query_as("SELECT banner, product FROM ports").fetch_all(&store.pool).await.unwrap();
            assert_eq!(rows, [(Some(b"SSH-2.0-OpenSSH_9.2\r\n".to_vec()), Some("OpenSSH".into()))]);
            let results: Vec<Option<String>> =
                sqlx::query_scalar("SELECT product FROM scan_results").fetch_all(&store.pool).await.unwrap();
            assert_eq!(results, [Some("OpenSSH".to_string())]);
        }

        async fn a_batch_larger_than_one_statement_is_stored_whole(store) {
            // 10,000 ports: more rows than one statement carries on either backend (3,855
            // ports or 7,281 results on PostgreSQL), so each table takes several statements.
            let id = scan(store).await;
            let batch: Vec<PortRecord> =
                (0..10_000u32).map(|n| record([10, 0, 1, (n / 100) as u8], 1 + (n % 100) as u16)).collect();
            let out = store.persist(id, &batch).await.unwrap();
            let expected: Vec<Ipv4Addr> = (0..100u8).map(|h| Ipv4Addr::new(10, 0, 1, h)).collect();
            assert_eq!(out.new_hosts, expected, "every host once, in batch order");
            let count = |table: &'static str| {
                let pool = store.pool.clone();
                async move {
                    sqlx::query_scalar::<_, i64>(&format!("SELECT COUNT(*) FROM {table}"))
                        .fetch_one(&pool)
                        .await
                        .unwrap()
                }
            };
            assert_eq!((count("hosts").await, count("ports").await, count("scan_results").await), (100, 10_000, 10_000));
            // The same batch again changes no count and reports no new host.
            assert!(store.persist(id, &batch).await.unwrap().new_hosts.is_empty());
            assert_eq!(count("ports").await, 10_000);
        }

        async fn identification_details_are_stored_and_read_back(store) {
            let id = scan(store).await;
            let r = PortRecord {
                service: Some("http".into()),
                product: Some("nginx".into()),
                version: Some("1.22.1".into()),
                vendor: Some("F5".into()),
                info: Some("Ubuntu".into()),
                cpe: Some("cpe:2.3:a:f5:nginx:1.22.1:*:*:*:*:*:*:*".into()),
                signature: Some("http.nginx".into()),
                confidence: Some(90),
                ..record([10, 0, 0, 1], 80)
            };
            store.persist(id, &[r]).await.unwrap();
            let host = store.host(Ipv4Addr::new(10, 0, 0, 1)).await.unwrap().unwrap();
            let port = &host.ports[0];
            assert_eq!(port.vendor.as_deref(), Some("F5"));
            assert_eq!(port.info.as_deref(), Some("Ubuntu"));
            assert_eq!(port.cpe.as_deref(), Some("cpe:2.3:a:f5:nginx:1.22.1:*:*:*:*:*:*:*"));
            assert_eq!(port.signature.as_deref(), Some("http.nginx"));
        }
    }

    #[tokio::test]
    async fn greeting_names_are_stored_after_dns_names() {
        use sonde_web::api::{Hostname, HostnameSource};
        let (store, _dir) = crate::store::test_store().await;
        let id = scan(&store).await;
        let ip = Ipv4Addr::new(10, 0, 0, 1);
        let smtp = PortRecord {
            service: Some("smtp".into()),
            banner: Some(b"220 mx.lab.example ESMTP Exim 4.96\r\n".to_vec()),
            ..record([10, 0, 0, 1], 25)
        };
        store.persist(id, std::slice::from_ref(&smtp)).await.unwrap();
        // A rescan marks the name seen again rather than storing it twice.
        store.persist(id, &[smtp]).await.unwrap();
        let dns = Hostname { name: "b.lab.example".into(), source: HostnameSource::Dns };
        store.add_hostnames(id, &[(ip, dns.clone())]).await.unwrap();
        let names = store.host(ip).await.unwrap().unwrap().hostnames;
        assert_eq!(
            names,
            vec![dns, Hostname { name: "mx.lab.example".into(), source: HostnameSource::Smtp }]
        );
    }
}
