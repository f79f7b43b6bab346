//! Reading hosts, ports and services for the API.

use std::net::Ipv4Addr;

use sonde_web::api::{
    ExportHost, ExportPort, HostDetail, HostEdit, HostQuery, HostSort, HostSummary, Hostname,
    HostnameSource, Page, PortView, ServiceCount,
};
use sqlx::Row;
use sqlx::any::AnyArguments;
use sqlx::query::Query;

use super::backend::now;
use super::{Backend, Store, StoreError};

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
    /// Product that must run, ignoring case.
    pub product: Option<String>,
    /// Address prefix, or text in a service, product, detail or banner.
    pub text: Option<String>,
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
        let conditions = filter_sql(filter, self.backend, &mut params);
        let total: i64 = params
            .bind_scalar(sqlx::query_scalar(&format!(
                "SELECT COUNT(*) FROM hosts h WHERE 1 = 1{conditions}"
            )))
            .fetch_one(&self.pool)
            .await?;

        let open_ports = self.backend.comma_list("port");
        let also = self.backend.comma_list("ip");
        let limit_at = params.push(Param::Int(i64::from(limit)));
        let offset_at = params.push(Param::Int(i64::try_from(offset).unwrap_or(i64::MAX)));
        let select = format!(
            "SELECT h.ip, h.first_seen, h.last_seen, h.mac, h.vendor, h.machine_id, \
             (SELECT {open_ports} FROM (SELECT port FROM ports p WHERE p.ip = h.ip \
              AND p.state = 'open' ORDER BY port) AS o) AS open_ports, \
             (SELECT {also} FROM (SELECT a.ip FROM hosts a WHERE a.machine_id = h.machine_id \
              AND a.ip <> h.ip ORDER BY a.ip) AS x) AS also_seen_at \
             FROM hosts h WHERE 1 = 1{conditions}{order} LIMIT ${limit_at} OFFSET ${offset_at}",
            order = order_by(query.sort.unwrap_or_default())
        );
        let rows = params.bind(sqlx::query(&select)).fetch_all(&self.pool).await?;
        let items = rows
            .iter()
            .map(|row| {
                let ports: Option<String> = row.try_get("open_ports")?;
                let also: Option<String> = row.try_get("also_seen_at")?;
                Ok(HostSummary {
                    machine_id: row.try_get("machine_id")?,
                    also_seen_at: also
                        .unwrap_or_default()
                        .split(',')
                        .filter_map(|ip| ip.parse::<i64>().ok())
                        .map(ip_from)
                        .collect::<Result<_, _>>()?,
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

    /// Every host matching `filter`, ascending by address, with all its open ports: the
    /// hosts API's filters, unpaged, for query exports.
    pub async fn hosts_export(&self, filter: &HostFilter) -> Result<Vec<ExportHost>, StoreError> {
        let mut params = Params::default();
        let conditions = filter_sql(filter, self.backend, &mut params);
        let select = format!(
            "SELECT h.ip, h.name, p.port, p.proto, p.service, p.product, p.version, p.info, p.cpe \
             FROM hosts h JOIN ports p ON p.ip = h.ip AND p.state = 'open' \
             WHERE 1 = 1{conditions} ORDER BY h.ip, p.port, p.proto"
        );
        let rows = params.bind(sqlx::query(&select)).fetch_all(&self.pool).await?;
        let mut hosts: Vec<ExportHost> = Vec::new();
        for row in &rows {
            let ip = ip_from(row.try_get("ip")?)?;
            if hosts.last().is_none_or(|h| h.ip != ip) {
                hosts.push(ExportHost {
                    ip,
                    hostnames: self.hostnames(ip).await?,
                    name: row.try_get("name")?,
                    ports: Vec::new(),
                });
            }
            let port: i64 = row.try_get("port")?;
            let port = ExportPort {
                port: u16::try_from(port)
                    .map_err(|e| StoreError::Corrupt(format!("port {port}: {e}")))?,
                proto: row.try_get("proto")?,
                state: "open".to_owned(),
                service: row.try_get("service")?,
                product: row.try_get("product")?,
                version: row.try_get("version")?,
                info: row.try_get("info")?,
                cpe: row.try_get("cpe")?,
            };
            if let Some(host) = hosts.last_mut() {
                host.ports.push(port);
            }
        }
        Ok(hosts)
    }

    /// One host with its ports, or `None`.
    pub async fn host(&self, ip: Ipv4Addr) -> Result<Option<HostDetail>, StoreError> {
        let key = i64::from(u32::from(ip));
        let Some(host) = sqlx::query(
            "SELECT first_seen, last_seen, mac, vendor, name, note, tags, machine_id FROM hosts \
             WHERE ip = $1",
        )
        .bind(key)
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        let rows = sqlx::query(
            "SELECT port, proto, state, service, product, version, vendor, info, cpe, signature, \
             confidence, banner, rtt_ms, tls_cert, last_scan_id, first_seen, last_seen \
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
                let tls: Option<String> = row.try_get("tls_cert")?;
                let tls = tls
                    .map(|json| serde_json::from_str(&json))
                    .transpose()
                    .map_err(|e| StoreError::Corrupt(format!("tls_cert: {e}")))?;
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
                    tls,
                    last_scan_id: row.try_get("last_scan_id")?,
                    first_seen: row.try_get("first_seen")?,
                    last_seen: row.try_get("last_seen")?,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        let tags: String = host.try_get("tags")?;
        let machine_id: Option<i64> = host.try_get("machine_id")?;
        let (mut also_seen_at, previously_at) = match machine_id {
            Some(id) => self.machine_addresses(id).await?,
            None => (Vec::new(), Vec::new()),
        };
        also_seen_at.retain(|a| *a != ip);
        Ok(Some(HostDetail {
            machine_id,
            also_seen_at,
            previously_at,
            ip,
            first_seen: host.try_get("first_seen")?,
            last_seen: host.try_get("last_seen")?,
            mac: host.try_get("mac")?,
            vendor: host.try_get("vendor")?,
            ports,
            hostnames: self.hostnames(ip).await?,
            name: host.try_get("name")?,
            note: host.try_get("note")?,
            tags: serde_json::from_str(&tags)
                .map_err(|e| StoreError::Corrupt(format!("host tags: {e}")))?,
            history: self.host_history(ip, machine_id).await?,
        }))
    }

    /// Applies an operator's edits (already validated) to a known host. Returns false when
    /// the host is unknown. Scans never write these columns, so edits survive rescans.
    pub async fn edit_host(&self, ip: Ipv4Addr, edit: &HostEdit) -> Result<bool, StoreError> {
        let blank_is_none = |v: &Option<String>| {
            v.as_deref().map(str::trim).map(|t| (!t.is_empty()).then(|| t.to_owned()))
        };
        let done = sqlx::query(
            "UPDATE hosts SET name = CASE WHEN $1 THEN $2 ELSE name END, \
             note = CASE WHEN $3 THEN $4 ELSE note END, tags = COALESCE($5, tags) WHERE ip = $6",
        )
        .bind(edit.name.is_some())
        .bind(blank_is_none(&edit.name).flatten())
        .bind(edit.note.is_some())
        .bind(blank_is_none(&edit.note).flatten())
        .bind(edit.tags.as_ref().map(|t| serde_json::to_string(t).unwrap_or_else(|_| "[]".into())))
        .bind(i64::from(u32::from(ip)))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Stores names of a host learnt by `scan_id`; a name already known from the same source
    /// is only marked seen again.
    pub async fn add_hostnames(
        &self,
        scan_id: i64,
        names: &[(Ipv4Addr, Hostname)],
    ) -> Result<(), StoreError> {
        if names.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin_with(self.backend.begin_write()).await?;
        for (ip, name) in names {
            sqlx::query(
                "INSERT INTO hostnames (ip, name, source, scan_id, seen_at) \
                 VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (ip, name, source) DO UPDATE SET scan_id = excluded.scan_id, \
                 seen_at = excluded.seen_at",
            )
            .bind(i64::from(u32::from(*ip)))
            .bind(&name.name)
            .bind(source_name(name.source))
            .bind(scan_id)
            .bind(now())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Names of a host, most trusted first (DNS, then what services said), then by name.
    pub async fn hostnames(&self, ip: Ipv4Addr) -> Result<Vec<Hostname>, StoreError> {
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT name, source FROM hostnames WHERE ip = $1")
                .bind(i64::from(u32::from(ip)))
                .fetch_all(&self.pool)
                .await?;
        let mut names = rows
            .into_iter()
            .map(|(name, source)| {
                let source = parse_source(&source)
                    .ok_or_else(|| StoreError::Corrupt(format!("hostname source `{source}`")))?;
                Ok(Hostname { name, source })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        names.sort_by(|a, b| a.source.cmp(&b.source).then_with(|| a.name.cmp(&b.name)));
        Ok(names)
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
fn filter_sql(filter: &HostFilter, backend: Backend, params: &mut Params) -> String {
    let mut sql = String::new();
    if let Some((first, last)) = filter.range {
        let a = params.push(Param::Int(i64::from(u32::from(first))));
        let b = params.push(Param::Int(i64::from(u32::from(last))));
        sql.push_str(&format!(" AND h.ip BETWEEN ${a} AND ${b}"));
    }
    // `IN (SELECT ip ...)` rather than a correlated `EXISTS`: SQLite builds the set of
    // addresses once (through `ports_by_port` or `ports_by_service`) instead of probing the
    // ports table once per host.
    if let Some(port) = filter.port {
        let n = params.push(Param::Int(i64::from(port)));
        sql.push_str(&format!(
            " AND h.ip IN (SELECT p.ip FROM ports p WHERE p.state = 'open' AND p.port = ${n})"
        ));
    }
    if let Some(service) = &filter.service {
        let n = params.push(Param::Text(service.clone()));
        sql.push_str(&format!(
            " AND h.ip IN (SELECT p.ip FROM ports p WHERE p.state = 'open' AND p.service = ${n})"
        ));
    }
    if let Some(product) = &filter.product {
        let n = params.push(Param::Text(product.to_lowercase()));
        // lower() on both sides: SQLite's NOCASE and PostgreSQL's ILIKE differ, lower() does not.
        sql.push_str(&format!(
            " AND h.ip IN (SELECT p.ip FROM ports p WHERE p.state = 'open' \
             AND lower(p.product) = ${n})"
        ));
    }
    if let Some(text) = filter.text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        // Digits and dots are an address prefix, matched on the dotted form; anything else
        // is looked for in what identified the ports and in their banners.
        if text.chars().all(|c| c.is_ascii_digit() || c == '.') {
            let n = params.push(Param::Text(format!("{text}%")));
            sql.push_str(&format!(
                " AND (CAST(h.ip / 16777216 AS TEXT) || '.' || CAST((h.ip / 65536) % 256 AS TEXT) \
                 || '.' || CAST((h.ip / 256) % 256 AS TEXT) || '.' || CAST(h.ip % 256 AS TEXT)) \
                 LIKE ${n} ESCAPE '\\'"
            ));
        } else {
            let n = params.push(Param::Text(contains_pattern(&text.to_lowercase())));
            let banner = backend.blob_text("p.banner");
            let columns = ["p.service", "p.product", "p.info", banner.as_str()]
                .map(|c| format!("lower({c}) LIKE ${n} ESCAPE '\\'"))
                .join(" OR ");
            sql.push_str(&format!(
                " AND EXISTS (SELECT 1 FROM ports p WHERE p.ip = h.ip AND p.state = 'open' \
                 AND ({columns}))"
            ));
        }
    }
    sql
}

/// The `ORDER BY` of a sort; ties go by address so pages do not overlap.
fn order_by(sort: HostSort) -> &'static str {
    match sort {
        HostSort::Ip => " ORDER BY h.ip",
        HostSort::IpDesc => " ORDER BY h.ip DESC",
        HostSort::Ports => {
            " ORDER BY (SELECT COUNT(*) FROM ports p WHERE p.ip = h.ip AND p.state = 'open'), h.ip"
        }
        HostSort::PortsDesc => {
            " ORDER BY (SELECT COUNT(*) FROM ports p WHERE p.ip = h.ip AND p.state = 'open') DESC, h.ip"
        }
        HostSort::FirstSeen => " ORDER BY h.first_seen, h.ip",
        HostSort::FirstSeenDesc => " ORDER BY h.first_seen DESC, h.ip",
        HostSort::LastSeen => " ORDER BY h.last_seen, h.ip",
        HostSort::LastSeenDesc => " ORDER BY h.last_seen DESC, h.ip",
    }
}

/// `text` as a `LIKE` pattern matching it anywhere, its own `%`, `_` and `\` taken literally.
fn contains_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

pub(super) fn source_name(source: HostnameSource) -> &'static str {
    match source {
        HostnameSource::Dns => "dns",
        HostnameSource::Tls => "tls",
        HostnameSource::Smb => "smb",
        HostnameSource::Ssh => "ssh",
        HostnameSource::Smtp => "smtp",
        HostnameSource::Ftp => "ftp",
        HostnameSource::Pop3 => "pop3",
        HostnameSource::Imap => "imap",
        HostnameSource::Http => "http",
    }
}

fn parse_source(text: &str) -> Option<HostnameSource> {
    Some(match text {
        "dns" => HostnameSource::Dns,
        "tls" => HostnameSource::Tls,
        "smb" => HostnameSource::Smb,
        "ssh" => HostnameSource::Ssh,
        "smtp" => HostnameSource::Smtp,
        "ftp" => HostnameSource::Ftp,
        "pop3" => HostnameSource::Pop3,
        "imap" => HostnameSource::Imap,
        "http" => HostnameSource::Http,
        _ => return None,
    })
}

pub(super) fn ip_from(value: i64) -> Result<Ipv4Addr, StoreError> {
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
    }

    store_tests! {
        async fn query_exports_hold_every_open_port_of_the_matching_hosts(store) {
            let id = scan(store).await;
            let mut ssh = record([10, 0, 1, 5], 22);
            ssh.service = Some("ssh".into());
            ssh.product = Some("OpenSSH".into());
            store
                .persist(id, &[ssh, record([10, 0, 1, 5], 80), record([10, 0, 0, 1], 80), record([10, 0, 0, 9], 443)])
                .await
                .unwrap();
            let all = store.hosts_export(&HostFilter::default()).await.unwrap();
            let summary: Vec<(Ipv4Addr, Vec<u16>)> =
                all.iter().map(|h| (h.ip, h.ports.iter().map(|p| p.port).collect())).collect();
            assert_eq!(
                summary,
                [
                    (Ipv4Addr::new(10, 0, 0, 1), vec![80]),
                    (Ipv4Addr::new(10, 0, 0, 9), vec![443]),
                    (Ipv4Addr::new(10, 0, 1, 5), vec![22, 80]),
                ]
            );
            // The filter picks hosts; a picked host comes with all its open ports.
            let openssh = HostFilter { product: Some("openssh".into()), ..Default::default() };
            let found = store.hosts_export(&openssh).await.unwrap();
            assert_eq!(found.len(), 1);
            assert_eq!(found[0].ports.iter().map(|p| p.port).collect::<Vec<_>>(), [22, 80]);
            assert_eq!(found[0].ports[0].product.as_deref(), Some("OpenSSH"));
            let none = HostFilter { port: Some(25), ..Default::default() };
            assert!(store.hosts_export(&none).await.unwrap().is_empty());
        }
    }

    store_tests! {
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
    }

    store_tests! {
        async fn hosts_search_by_product_text_and_sort(store) {
        let id = scan(store).await;
        let mut ssh = record([10, 0, 1, 5], 22);
        ssh.product = Some("OpenSSH".into());
        let mut web = record([10, 0, 0, 9], 80);
        web.banner = Some(b"HTTP/1.0 200 OK\r\nServer: lab_100%\r\n".to_vec());
        let records = [ssh, web, record([10, 0, 0, 9], 81), record([10, 2, 0, 1], 443)];
        store.persist(id, &records).await.unwrap();
        let ips = |page: Page<HostSummary>| {
            page.items.iter().map(|h| h.ip.to_string()).collect::<Vec<_>>()
        };
        let with = |filter: HostFilter| {
            let store = &store;
            async move { store.hosts(&filter, &HostQuery::default()).await.unwrap() }
        };

        let product = HostFilter { product: Some("openssh".into()), ..Default::default() };
        assert_eq!(ips(with(product).await), ["10.0.1.5"]);
        let table = [
            ("10.0.", vec!["10.0.0.9", "10.0.1.5"]),
            ("10.2", vec!["10.2.0.1"]),
            ("LAB_100%", vec!["10.0.0.9"]),
            ("lab_1000", vec![]),
            ("penss", vec!["10.0.1.5"]),
            ("  ", vec!["10.0.0.9", "10.0.1.5", "10.2.0.1"]),
        ];
        for (text, expected) in table {
            let filter = HostFilter { text: Some(text.into()), ..Default::default() };
            assert_eq!(ips(with(filter).await), expected, "{text:?}");
        }

        let sorted = |sort| {
            let query = HostQuery { sort: Some(sort), ..Default::default() };
            let store = &store;
            async move { ips(store.hosts(&HostFilter::default(), &query).await.unwrap()) }
        };
        assert_eq!(sorted(HostSort::IpDesc).await, ["10.2.0.1", "10.0.1.5", "10.0.0.9"]);
        assert_eq!(sorted(HostSort::PortsDesc).await, ["10.0.0.9", "10.0.1.5", "10.2.0.1"]);
        assert_eq!(sorted(HostSort::Ports).await[2], "10.0.0.9");
            }
    }

    /// Fills the store with 25,000 hosts in 10.1.0.0/16 and 10.2.0.0/16 with 4 open ports each
    /// (100,000 ports), straight in SQL so the fill takes a second, not minutes.
    pub(crate) async fn fill_100k_ports(store: &Store) {
        let id = scan(store).await;
        sqlx::query(
            "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 24999) \
             INSERT INTO hosts (ip, first_seen, last_seen, last_scan_id) \
             SELECT (10 * 16777216) + (1 * 65536) + i * 5 + (i % 3), $1, $1, $2 FROM n",
        )
        .bind(now())
        .bind(id)
        .execute(&store.pool)
        .await
        .unwrap();
        let banner = store.backend.text_blob("s.banner || ' host ' || CAST(h.ip AS TEXT)");
        sqlx::query(&format!(
            "INSERT INTO ports (ip, port, proto, state, service, product, version, banner, \
             rtt_ms, first_seen, last_seen, last_scan_id) \
             WITH s(port, service, product, version, banner) AS (VALUES \
               (22, 'ssh', 'OpenSSH', '9.2p1', 'SSH-2.0-OpenSSH_9.2p1 Debian-2'), \
               (80, 'http', 'nginx', '1.22.1', 'HTTP/1.1 200 OK Server: nginx/1.22.1'), \
               (443, 'https', 'nginx', '1.22.1', 'HTTP/1.1 200 OK Server: nginx/1.22.1'), \
               (3306, 'mysql', 'MySQL', '8.0.36', '8.0.36-0+deb12u1 mysql_native_password')) \
             SELECT h.ip, s.port + (h.ip % 7) * (CASE WHEN s.port > 1000 THEN 1 ELSE 0 END), \
                    'tcp', 'open', s.service, \
                    CASE WHEN h.ip % 4 = 0 THEN NULL ELSE s.product END, s.version, \
                    {banner}, 0.4, h.first_seen, h.last_seen, $1 \
             FROM hosts h CROSS JOIN s"
        ))
        .bind(id)
        .execute(&store.pool)
        .await
        .unwrap();
    }

    // The hosts page's queries answer with 100,000 ports in the store. The time each takes is
    // printed, not asserted (a loaded machine is no verdict); the figures are in
    // web/ui/README.md (`cargo test -p sonde --release --lib hosts_page -- --nocapture`).
    store_tests! {
        async fn hosts_page_answers_with_100k_ports(store) {
        let started = std::time::Instant::now();
        fill_100k_ports(store).await;
        let ports: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM ports").fetch_one(&store.pool).await.unwrap();
        assert_eq!(ports, 100_000);
        println!("filled 100,000 ports in {:?}", started.elapsed());

        let subnet = Some((Ipv4Addr::new(10, 1, 128, 0), Ipv4Addr::new(10, 1, 255, 255)));
        let cases: [(&str, HostFilter, HostQuery); 9] = [
            ("first page", HostFilter::default(), HostQuery::default()),
            (
                "last page",
                HostFilter::default(),
                HostQuery { offset: Some(24_900), ..Default::default() },
            ),
            (
                "subnet /17",
                HostFilter { range: subnet, ..Default::default() },
                HostQuery::default(),
            ),
            ("port 22", HostFilter { port: Some(22), ..Default::default() }, HostQuery::default()),
            (
                "service mysql",
                HostFilter { service: Some("mysql".into()), ..Default::default() },
                HostQuery::default(),
            ),
            (
                "product nginx",
                HostFilter { product: Some("nginx".into()), ..Default::default() },
                HostQuery::default(),
            ),
            (
                "text in banners",
                HostFilter { text: Some("native_pass".into()), ..Default::default() },
                HostQuery::default(),
            ),
            (
                "address prefix",
                HostFilter { text: Some("10.1.20".into()), ..Default::default() },
                HostQuery::default(),
            ),
            (
                "sorted by open ports",
                HostFilter::default(),
                HostQuery { sort: Some(HostSort::PortsDesc), ..Default::default() },
            ),
        ];
        for (name, filter, query) in cases {
            let started = std::time::Instant::now();
            let page = store.hosts(&filter, &query).await.unwrap();
            let took = started.elapsed();
            println!("{name}: {} of {} hosts in {took:?}", page.items.len(), page.total);
            assert!(!page.items.is_empty(), "{name}: no host");
        }
        let started = std::time::Instant::now();
        let (top, subnets) =
            (store.port_counts(20).await.unwrap(), store.subnet_counts().await.unwrap());
        let took = started.elapsed();
        println!("chart counts: {} ports, {} subnets in {took:?}", top.len(), subnets.len());
        assert!(!top.is_empty() && subnets.len() > 100, "chart counts cover the 100k ports");
            }
    }

    store_tests! {
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

    store_tests! {
        async fn certificates_are_stored_and_kept_when_a_later_scan_has_none(store) {
        let id = scan(store).await;
        let cert = sonde_scanner::CertSummary {
            subject: "CN=lab.sonde.invalid, O=Sonde Lab".into(),
            issuer: "CN=lab.sonde.invalid, O=Sonde Lab".into(),
            san: vec!["lab.sonde.invalid".into(), "10.77.41.10".into()],
            not_before: "2026-11-26T00:00:00Z".into(),
            not_after: "2027-11-26T00:00:00Z".into(),
            serial: "01:02".into(),
            sha256: "ab".repeat(32),
            key_type: "RSA 2048".into(),
            self_signed: true,
        };
        let mut r = record([10, 0, 0, 1], 443);
        r.tls = Some(sonde_scanner::TlsInfo {
            version: "TLSv1.3".into(),
            alpn: Some("http/1.1".into()),
            cipher: "TLS13_AES_256_GCM_SHA384".into(),
            cert: Some(cert),
        });
        store.persist(id, &[r.clone()]).await.unwrap();
        store.persist(id, &[record([10, 0, 0, 1], 443)]).await.unwrap();
        let host = store.host(Ipv4Addr::new(10, 0, 0, 1)).await.unwrap().unwrap();
        let want = r.tls.as_ref().map(crate::store::tls_view);
        assert_eq!(host.ports[0].tls, want);
        let json = serde_json::to_value(&host).unwrap();
        assert_eq!(json["ports"][0]["tls"]["cert"]["san"][1], "10.77.41.10");
            }
    }

    store_tests! {
        async fn operator_edits_survive_rescans_and_names_are_ordered_by_trust(store) {
        let ip = Ipv4Addr::new(10, 0, 0, 1);
        let edit = HostEdit {
            name: Some(" gateway ".into()),
            note: Some("rack 4".into()),
            tags: Some(vec!["core".into(), "prod".into()]),
        };
        assert!(!store.edit_host(ip, &edit).await.unwrap(), "unknown hosts are not created");
        let first = scan(store).await;
        store.persist(first, &[record([10, 0, 0, 1], 22)]).await.unwrap();
        assert!(store.edit_host(ip, &edit).await.unwrap());
        let second = scan(store).await;
        store.persist(second, &[record([10, 0, 0, 1], 22)]).await.unwrap();
        let host = store.host(ip).await.unwrap().unwrap();
        assert_eq!(host.name.as_deref(), Some("gateway"));
        assert_eq!(host.note.as_deref(), Some("rack 4"));
        assert_eq!(host.tags, ["core", "prod"]);

        let clear = HostEdit { note: Some(String::new()), ..HostEdit::default() };
        store.edit_host(ip, &clear).await.unwrap();
        let host = store.host(ip).await.unwrap().unwrap();
        assert_eq!((host.name.as_deref(), host.note), (Some("gateway"), None));
        assert_eq!(host.tags.len(), 2, "absent fields are left alone");

        let name = |name: &str, source| (ip, Hostname { name: name.into(), source });
        store
            .add_hostnames(
                second,
                &[
                    name("web.example", HostnameSource::Http),
                    name("gw.lab.example", HostnameSource::Dns),
                    name("gw.lab.example", HostnameSource::Dns),
                ],
            )
            .await
            .unwrap();
        let names = store.host(ip).await.unwrap().unwrap().hostnames;
        let names: Vec<&str> = names.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["gw.lab.example", "web.example"]);
            }
    }

    #[test]
    fn banners_are_made_harmless() {
        assert_eq!(printable_banner(b"ok\r\nnext"), "ok\\u{d}\nnext");
        assert_eq!(printable_banner("a\u{202e}b".as_bytes()), "a\\u{202e}b");
        assert_eq!(printable_banner(&[0xff, b'a']), "\u{fffd}a");
        assert_eq!(printable_banner(&[b'x'; 2000]).len(), BANNER_SHOWN);
    }
}
