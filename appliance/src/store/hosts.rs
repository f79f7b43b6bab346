//! Reading hosts, ports and services for the API.

use std::net::Ipv4Addr;

use sonde_web::api::{HostDetail, HostQuery, HostSummary, Page, PortView, ServiceCount};
use sqlx::Row;
use sqlx::any::AnyArguments;
use sqlx::query::Query;

use super::{Store, StoreError};

/// Page size when the query names none.
const DEFAULT_LIMIT: u32 = 100;
/// Largest page served.
const MAX_LIMIT: u32 = 1000;
/// Banner bytes shown in the API; the rest stays in the store.
const BANNER_SHOWN: usize = 512;

/// A host filter with its subnet already parsed.
#[derive(Debug, Clone, Default)]
pub struct HostFilter {
    /// Inclusive address range.
    pub range: Option<(Ipv4Addr, Ipv4Addr)>,
    /// Port that must be open.
    pub port: Option<u16>,
    /// Service that must run.
    pub service: Option<String>,
}

impl Store {
    /// Hosts matching `filter`, ascending by address, paged as `query` says.
    pub async fn hosts(
        &self,
        filter: &HostFilter,
        query: &HostQuery,
    ) -> Result<Page<HostSummary>, StoreError> {
        let limit = query.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
        let offset = query.offset.unwrap_or(0);

        let mut params = Params::default();
        let conditions = filter_sql(filter, &mut params);
        let total: i64 = params
            .bind_scalar(sqlx::query_scalar(&format!(
                "SELECT COUNT(*) FROM hosts h WHERE 1 = 1{conditions}"
            )))
            .fetch_one(&self.pool)
            .await?;

        let open_ports = self.backend.comma_list("port");
        let limit_at = params.push(Param::Int(i64::from(limit)));
        let offset_at = params.push(Param::Int(i64::try_from(offset).unwrap_or(i64::MAX)));
        let select = format!(
            "SELECT h.ip, h.first_seen, h.last_seen, h.mac, h.vendor, \
             (SELECT {open_ports} FROM (SELECT port FROM ports p WHERE p.ip = h.ip \
              AND p.state = 'open' ORDER BY port) AS o) AS open_ports \
             FROM hosts h WHERE 1 = 1{conditions} ORDER BY h.ip LIMIT ${limit_at} OFFSET ${offset_at}"
        );
        let rows = params.bind(sqlx::query(&select)).fetch_all(&self.pool).await?;
        let items = rows
            .iter()
            .map(|row| {
                let ports: Option<String> = row.try_get("open_ports")?;
                Ok(HostSummary {
                    ip: ip_from(row.try_get("ip")?)?,
                    open_ports: ports
                        .unwrap_or_default()
                        .split(',')
                        .filter_map(|p| p.parse().ok())
                        .collect(),
                    first_seen: row.try_get("first_seen")?,
                    last_seen: row.try_get("last_seen")?,
                    mac: row.try_get("mac")?,
                    vendor: row.try_get("vendor")?,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(Page { total: total as u64, offset, limit, items })
    }

    /// One host with its ports, or `None`.
    pub async fn host(&self, ip: Ipv4Addr) -> Result<Option<HostDetail>, StoreError> {
        let key = i64::from(u32::from(ip));
        let Some(host) =
            sqlx::query("SELECT first_seen, last_seen, mac, vendor FROM hosts WHERE ip = $1")
                .bind(key)
                .fetch_optional(&self.pool)
                .await?
        else {
            return Ok(None);
        };
        let rows = sqlx::query(
            "SELECT port, proto, state, service, product, version, vendor, info, cpe, signature, \
             confidence, banner, rtt_ms, last_scan_id, first_seen, last_seen \
             FROM ports WHERE ip = $1 ORDER BY port",
        )
        .bind(key)
        .fetch_all(&self.pool)
        .await?;
        let ports = rows
            .iter()
            .map(|row| {
                let banner: Option<Vec<u8>> = row.try_get("banner")?;
                let confidence: Option<i64> = row.try_get("confidence")?;
                Ok(PortView {
                    port: u16::try_from(row.try_get::<i64, _>("port")?)
                        .map_err(|e| StoreError::Corrupt(format!("port: {e}")))?,
                    proto: row.try_get("proto")?,
                    state: row.try_get("state")?,
                    service: row.try_get("service")?,
                    product: row.try_get("product")?,
                    version: row.try_get("version")?,
                    vendor: row.try_get("vendor")?,
                    info: row.try_get("info")?,
                    cpe: row.try_get("cpe")?,
                    signature: row.try_get("signature")?,
                    confidence: confidence.and_then(|c| u8::try_from(c).ok()),
                    banner: banner.as_deref().map(printable_banner),
                    rtt_ms: row.try_get("rtt_ms")?,
                    last_scan_id: row.try_get("last_scan_id")?,
                    first_seen: row.try_get("first_seen")?,
                    last_seen: row.try_get("last_seen")?,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(Some(HostDetail {
            ip,
            first_seen: host.try_get("first_seen")?,
            last_seen: host.try_get("last_seen")?,
            mac: host.try_get("mac")?,
            vendor: host.try_get("vendor")?,
            ports,
        }))
    }

    /// Open ports counted by service, most common first.
    pub async fn services(&self) -> Result<Vec<ServiceCount>, StoreError> {
        let rows: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT COALESCE(service, 'unknown') AS s, COUNT(*), COUNT(DISTINCT ip) FROM ports \
             WHERE state = 'open' GROUP BY s ORDER BY 2 DESC, s",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(service, ports, hosts)| ServiceCount {
                service,
                ports: ports as u64,
                hosts: hosts as u64,
            })
            .collect())
    }
}

/// A value bound to a `$N` placeholder of a query built at run time. The Any driver's
/// `QueryBuilder` writes `?` placeholders, which PostgreSQL rejects, hence this.
#[derive(Debug, Clone)]
enum Param {
    Int(i64),
    Text(String),
}

/// The parameters of a query built at run time, in placeholder order.
#[derive(Debug, Default)]
struct Params(Vec<Param>);

impl Params {
    /// Adds `p` and returns its placeholder number.
    fn push(&mut self, p: Param) -> usize {
        self.0.push(p);
        self.0.len()
    }

    fn bind<'q>(
        &self,
        mut q: Query<'q, sqlx::Any, AnyArguments<'q>>,
    ) -> Query<'q, sqlx::Any, AnyArguments<'q>> {
        for p in &self.0 {
            q = match p {
                Param::Int(i) => q.bind(*i),
                Param::Text(t) => q.bind(t.clone()),
            };
        }
        q
    }

    fn bind_scalar<'q, O>(
        &self,
        mut q: sqlx::query::QueryScalar<'q, sqlx::Any, O, AnyArguments<'q>>,
    ) -> sqlx::query::QueryScalar<'q, sqlx::Any, O, AnyArguments<'q>> {
        for p in &self.0 {
            q = match p {
                Param::Int(i) => q.bind(*i),
                Param::Text(t) => q.bind(t.clone()),
            };
        }
        q
    }
}

/// The `AND ...` conditions of `filter` on hosts `h`, their values pushed to `params`.
fn filter_sql(filter: &HostFilter, params: &mut Params) -> String {
    let mut sql = String::new();
    if let Some((first, last)) = filter.range {
        let a = params.push(Param::Int(i64::from(u32::from(first))));
        let b = params.push(Param::Int(i64::from(u32::from(last))));
        sql.push_str(&format!(" AND h.ip BETWEEN ${a} AND ${b}"));
    }
    if let Some(port) = filter.port {
        let n = params.push(Param::Int(i64::from(port)));
        sql.push_str(&format!(
            " AND EXISTS (SELECT 1 FROM ports p WHERE p.ip = h.ip AND p.state = 'open' AND p.port = ${n})"
        ));
    }
    if let Some(service) = &filter.service {
        let n = params.push(Param::Text(service.clone()));
        sql.push_str(&format!(
            " AND EXISTS (SELECT 1 FROM ports p WHERE p.ip = h.ip AND p.state = 'open' AND p.service = ${n})"
        ));
    }
    sql
}

fn ip_from(value: i64) -> Result<Ipv4Addr, StoreError> {
    u32::try_from(value)
        .map(Ipv4Addr::from)
        .map_err(|_| StoreError::Corrupt(format!("address {value} is not IPv4")))
}

/// Banners are attacker-controlled: decode lossily and escape every control character except
/// line breaks and tabs, so nothing can drive a terminal or hide text.
pub fn printable_banner(bytes: &[u8]) -> String {
    let shown = &bytes[..bytes.len().min(BANNER_SHOWN)];
    String::from_utf8_lossy(shown)
        .chars()
        .flat_map(|c| match c {
            '\n' | '\t' => vec![c],
            c if c.is_control()
                || ('\u{202a}'..='\u{202e}').contains(&c)
                || ('\u{2066}'..='\u{2069}').contains(&c) =>
            {
                c.escape_unicode().collect()
            }
            c => vec![c],
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::findings::tests::{record, scan};
    use super::super::store_tests;
    use super::*;

    #[test]
    fn banners_are_made_harmless() {
        assert_eq!(printable_banner(b"ok\r\nnext"), "ok\\u{d}\nnext");
        assert_eq!(printable_banner("a\u{202e}b".as_bytes()), "a\\u{202e}b");
        assert_eq!(printable_banner(&[0xff, b'a']), "\u{fffd}a");
        assert_eq!(printable_banner(&[b'x'; 2000]).len(), BANNER_SHOWN);
    }

    store_tests! {
        async fn hosts_filter_and_page(store) {
            let id = scan(store).await;
            let mut ssh = record([10, 0, 1, 5], 22);
            ssh.service = Some("ssh".into());
            store
                .persist(
                    id,
                    &[
                        ssh,
                        record([10, 0, 0, 1], 80),
                        record([10, 0, 0, 1], 22),
                        record([10, 0, 0, 9], 443),
                    ],
                )
                .await
                .unwrap();
            let all = store.hosts(&HostFilter::default(), &HostQuery::default()).await.unwrap();
            assert_eq!(all.total, 3);
            assert_eq!(all.items[0].ip, Ipv4Addr::new(10, 0, 0, 1));
            assert_eq!(all.items[0].open_ports, vec![22, 80]);

            let subnet = HostFilter {
                range: Some((Ipv4Addr::new(10, 0, 0, 0), Ipv4Addr::new(10, 0, 0, 255))),
                ..Default::default()
            };
            assert_eq!(store.hosts(&subnet, &HostQuery::default()).await.unwrap().total, 2);
            let port = HostFilter { port: Some(22), ..Default::default() };
            assert_eq!(store.hosts(&port, &HostQuery::default()).await.unwrap().total, 2);
            let service = HostFilter { service: Some("ssh".into()), ..Default::default() };
            let page = store.hosts(&service, &HostQuery::default()).await.unwrap();
            assert_eq!(
                page.items.iter().map(|h| h.ip).collect::<Vec<_>>(),
                vec![Ipv4Addr::new(10, 0, 1, 5)]
            );

            let second = HostQuery { limit: Some(2), offset: Some(2), ..Default::default() };
            let page = store.hosts(&HostFilter::default(), &second).await.unwrap();
            assert_eq!((page.total, page.items.len()), (3, 1));
            assert_eq!(page.items[0].ip, Ipv4Addr::new(10, 0, 1, 5));
        }

        async fn on_link_hosts_keep_their_mac_and_vendor(store) {
            use crate::store::HostRecord;
            let id = scan(store).await;
            store.persist(id, &[record([10, 0, 0, 1], 22)]).await.unwrap();
            let hosts = [
                HostRecord {
                    ip: Ipv4Addr::new(10, 0, 0, 1),
                    mac: "00:00:0c:01:02:03".into(),
                    vendor: Some("Cisco Systems, Inc".into()),
                },
                // Answers ARP and nothing else: listed all the same.
                HostRecord {
                    ip: Ipv4Addr::new(10, 0, 0, 2),
                    mac: "02:00:00:00:00:02".into(),
                    vendor: None,
                },
            ];
            store.persist_hosts(id, &hosts).await.unwrap();
            let page = store.hosts(&HostFilter::default(), &HostQuery::default()).await.unwrap();
            assert_eq!(page.total, 2);
            assert_eq!(page.items[0].mac.as_deref(), Some("00:00:0c:01:02:03"));
            assert_eq!(page.items[0].vendor.as_deref(), Some("Cisco Systems, Inc"));
            assert_eq!(page.items[0].open_ports, vec![22]);
            assert_eq!(
                (page.items[1].mac.as_deref(), page.items[1].vendor.as_deref()),
                (Some("02:00:00:00:00:02"), None)
            );
            assert!(page.items[1].open_ports.is_empty());
            let detail = store.host(Ipv4Addr::new(10, 0, 0, 1)).await.unwrap().unwrap();
            assert_eq!(detail.vendor.as_deref(), Some("Cisco Systems, Inc"));
            assert_eq!(detail.ports.len(), 1);
            // A later batch of ports keeps what ARP said.
            store.persist(id, &[record([10, 0, 0, 1], 80)]).await.unwrap();
            let detail = store.host(Ipv4Addr::new(10, 0, 0, 1)).await.unwrap().unwrap();
            assert_eq!(detail.mac.as_deref(), Some("00:00:0c:01:02:03"));
        }

        async fn host_detail_and_services(store) {
            let id = scan(store).await;
            let mut r = record([10, 0, 0, 1], 22);
            r.service = Some("ssh".into());
            r.banner = Some(b"SSH-2.0-x\r\n\x1b[31m".to_vec());
            store.persist(id, &[r, record([10, 0, 0, 1], 9999)]).await.unwrap();
            let host = store.host(Ipv4Addr::new(10, 0, 0, 1)).await.unwrap().unwrap();
            assert_eq!(host.ports.len(), 2);
            let banner = host.ports[0].banner.as_deref().unwrap();
            assert!(!banner.contains('\x1b') && banner.contains("\\u{1b}"), "{banner}");
            assert!(store.host(Ipv4Addr::new(10, 0, 0, 2)).await.unwrap().is_none());
            let services = store.services().await.unwrap();
            assert_eq!(services.len(), 2);
            assert!(services.iter().any(|s| s.service == "unknown" && s.ports == 1));
        }
    }
}
