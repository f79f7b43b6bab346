//! Output formats of `sonde scan`: streaming ones write each open port as it is found, the
//! others at the end.
//!
//! On-link hosts found by ARP carry their MAC and its vendor: rows of their open ports gain
//! `mac` and `vendor` fields (CSV: two more columns, present when the scan found any such
//! host), and a host that answered ARP but has no open port is reported too: a `hosts` entry
//! with `open_ports: 0` in JSON, a line with `state: "up"` and no port in NDJSON, a row with
//! an empty port and state `up` in CSV, and a section of its own in the table.
//!
//! With reverse DNS on, hosts carry a `hostname` (CSV: a last column, `hostname`). Names are
//! looked up beside the scan: the table and JSON, written at the end, hold every name found;
//! the streaming formats hold a name when it was known as the row was written.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};
use std::net::Ipv4Addr;
use std::time::Duration;

use serde::Serialize;
use sonde_matcher::{Identifier, Observation, ServiceMatch};
use sonde_scanner::{Finding, MacAddr, Neighbour, PortState, Proto};

use crate::cli::OutputFormat;

/// One open port as printed.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// Address.
    pub ip: Ipv4Addr,
    /// Port.
    pub port: u16,
    /// `tcp` or `udp`.
    pub proto: Proto,
    /// `open`.
    pub state: PortState,
    /// Round-trip time in milliseconds, rounded to microseconds.
    pub rtt_ms: f64,
    /// Service name, when identified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// Product, when identified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    /// Version, when identified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// More detail (distribution, device model...), when identified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub info: Option<String>,
    /// The host's MAC, for on-link hosts that answered ARP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
    /// The organisation behind the MAC's prefix.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor: Option<&'static str>,
    /// The host's name from reverse DNS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
}

/// An on-link host as printed: found by ARP, with or without open ports.
#[derive(Debug, Clone, Serialize)]
pub struct HostRow {
    /// Address.
    pub ip: Ipv4Addr,
    /// `up`: it answered ARP.
    pub state: &'static str,
    /// Its MAC.
    pub mac: String,
    /// The organisation behind the MAC's prefix.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor: Option<&'static str>,
    /// Open ports found on it (JSON only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub open_ports: Option<u64>,
    /// Its name from reverse DNS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
}

impl Row {
    /// An open port with what identification made of it, if it ran, and the host's MAC when
    /// it is on-link.
    pub fn new(f: &Finding, service: Option<&ServiceMatch>, mac: Option<MacAddr>) -> Self {
        Self {
            ip: f.ip,
            port: f.port,
            proto: f.proto,
            state: f.state,
            rtt_ms: (f.rtt.as_secs_f64() * 1_000_000.0).round() / 1000.0,
            service: service.map(|m| m.service.clone()),
            product: service.and_then(|m| m.product.clone()),
            version: service.and_then(|m| m.version.clone()),
            info: service.and_then(|m| m.info.clone()),
            mac: mac.map(|m| m.to_string()),
            vendor: mac.and_then(|m| m.vendor()),
            hostname: None,
        }
    }
}

/// What the JSON document says about the scan itself.
#[derive(Debug, Clone, Serialize)]
pub struct ScanSummary {
    /// Targets as given.
    pub targets: Vec<String>,
    /// Canonical port list.
    pub ports: String,
    /// Engine used.
    pub engine: &'static str,
    /// Seed of the order.
    pub seed: u64,
    /// Addresses probed (after exclusions).
    pub addresses: u64,
    /// (address, port) pairs.
    pub probes: u64,
    /// Probes sent, retries included.
    pub sent: u64,
    /// Wall time in seconds.
    pub duration_s: f64,
    /// False when the scan was interrupted.
    pub complete: bool,
}

/// Writes results in one format.
#[derive(Debug)]
pub struct Printer<W: Write> {
    format: OutputFormat,
    out: W,
    rows: Vec<Row>,
    /// On-link hosts that answered ARP, with their MAC.
    neighbours: BTreeMap<Ipv4Addr, MacAddr>,
    /// Open ports per host, to report ARP hosts without any.
    open_per_host: BTreeMap<Ipv4Addr, u64>,
    /// Whether reverse DNS runs: CSV then has a `hostname` column.
    dns: bool,
    /// Names found so far.
    names: BTreeMap<Ipv4Addr, String>,
}

impl<W: Write> Printer<W> {
    /// A printer for a scan whose on-link hosts are `neighbours` (empty when the targets are
    /// routed, or scanned by the connect engine); CSV writes its header now.
    pub fn new(format: OutputFormat, out: W, neighbours: &[Neighbour]) -> io::Result<Self> {
        Self::with_dns(format, out, neighbours, false)
    }

    /// [`Printer::new`] for a scan that looks host names up when `dns` is true.
    pub fn with_dns(
        format: OutputFormat,
        mut out: W,
        neighbours: &[Neighbour],
        dns: bool,
    ) -> io::Result<Self> {
        if format == OutputFormat::Csv {
            let extra = if neighbours.is_empty() { "" } else { ",mac,vendor" };
            let name = if dns { ",hostname" } else { "" };
            writeln!(out, "ip,port,proto,state,rtt_ms,service,product,version{extra}{name}")?;
        }
        let neighbours = neighbours.iter().map(|n| (n.ip, n.mac)).collect();
        Ok(Self {
            format,
            out,
            rows: Vec::new(),
            neighbours,
            open_per_host: BTreeMap::new(),
            dns,
            names: BTreeMap::new(),
        })
    }

    /// Records the name of `ip`, found by reverse DNS.
    pub fn named(&mut self, ip: Ipv4Addr, name: String) {
        self.names.insert(ip, name);
    }

    /// Records one open port and, when identification ran, what it found; streaming formats
    /// write it now.
    pub fn found(&mut self, finding: &Finding, service: Option<&ServiceMatch>) -> io::Result<()> {
        let mut row = Row::new(finding, service, self.neighbours.get(&finding.ip).copied());
        row.hostname = self.names.get(&finding.ip).cloned();
        *self.open_per_host.entry(finding.ip).or_default() += 1;
        match self.format {
            OutputFormat::Ndjson => {
                serde_json::to_writer(&mut self.out, &row)?;
                writeln!(self.out)?;
            }
            OutputFormat::Csv => {
                let cell = |v: &Option<String>| csv_cell(v.as_deref().unwrap_or(""));
                write!(
                    self.out,
                    "{},{},{},open,{},{},{},{}",
                    row.ip,
                    row.port,
                    row.proto.as_str(),
                    row.rtt_ms,
                    cell(&row.service),
                    cell(&row.product),
                    cell(&row.version)
                )?;
                if !self.neighbours.is_empty() {
                    write_mac_columns(&mut self.out, row.mac.as_deref(), row.vendor)?;
                }
                if self.dns {
                    write!(self.out, ",{}", cell(&row.hostname))?;
                }
                writeln!(self.out)?;
            }
            OutputFormat::Json | OutputFormat::Table => self.rows.push(row),
        }
        Ok(())
    }

    /// Every on-link host, with its open port count.
    fn hosts(&self) -> Vec<HostRow> {
        self.neighbours
            .iter()
            .map(|(&ip, mac)| HostRow {
                ip,
                state: "up",
                mac: mac.to_string(),
                vendor: mac.vendor(),
                open_ports: Some(self.open_per_host.get(&ip).copied().unwrap_or(0)),
                hostname: self.names.get(&ip).cloned(),
            })
            .collect()
    }

    /// On-link hosts that answered ARP and have no open port.
    fn silent_hosts(&self) -> Vec<HostRow> {
        let open: BTreeSet<Ipv4Addr> = self.open_per_host.keys().copied().collect();
        self.hosts()
            .into_iter()
            .filter(|h| !open.contains(&h.ip))
            .map(|h| HostRow { open_ports: None, ..h })
            .collect()
    }

    /// Makes what was written visible (streaming formats call it when they go idle).
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// Writes what the end-of-scan formats hold.
    pub fn finish(mut self, summary: &ScanSummary) -> io::Result<()> {
        self.rows.sort_by_key(|r| (r.ip, r.port, r.proto.as_str()));
        for row in &mut self.rows {
            row.hostname = self.names.get(&row.ip).cloned();
        }
        match self.format {
            OutputFormat::Json => {
                #[derive(Serialize)]
                struct Document<'a> {
                    scan: &'a ScanSummary,
                    results: &'a [Row],
                    #[serde(skip_serializing_if = "<[HostRow]>::is_empty")]
                    hosts: &'a [HostRow],
                }
                let hosts = self.hosts();
                serde_json::to_writer_pretty(
                    &mut self.out,
                    &Document { scan: summary, results: &self.rows, hosts: &hosts },
                )?;
                writeln!(self.out)?;
            }
            OutputFormat::Table => {
                write_table(&mut self.out, &self.rows)?;
                let silent = self.silent_hosts();
                write_silent_hosts(&mut self.out, &silent)?;
            }
            OutputFormat::Ndjson => {
                for host in self.silent_hosts() {
                    serde_json::to_writer(&mut self.out, &host)?;
                    writeln!(self.out)?;
                }
            }
            OutputFormat::Csv => {
                for host in self.silent_hosts() {
                    write!(self.out, "{},,,up,,,,", host.ip)?;
                    write_mac_columns(&mut self.out, Some(&host.mac), host.vendor)?;
                    if self.dns {
                        write!(self.out, ",{}", csv_cell(host.hostname.as_deref().unwrap_or("")))?;
                    }
                    writeln!(self.out)?;
                }
            }
        }
        self.out.flush()
    }
}

/// `,MAC,"VENDOR"`: the vendor quoted, since organisation names hold commas.
fn write_mac_columns(
    out: &mut impl Write,
    mac: Option<&str>,
    vendor: Option<&str>,
) -> io::Result<()> {
    let vendor = vendor.map(|v| format!("\"{}\"", v.replace('"', "\"\""))).unwrap_or_default();
    write!(out, ",{},{vendor}", mac.unwrap_or_default())
}

fn write_silent_hosts(out: &mut impl Write, hosts: &[HostRow]) -> io::Result<()> {
    if hosts.is_empty() {
        return Ok(());
    }
    writeln!(out, "\nOn-link hosts that answered ARP, with no open port:")?;
    writeln!(out, "{:<15}  {:<17}  VENDOR", "HOST", "MAC")?;
    for h in hosts {
        writeln!(out, "{:<15}  {:<17}  {}", h.ip, h.mac, h.vendor.unwrap_or("-"))?;
    }
    Ok(())
}

fn write_table(out: &mut impl Write, rows: &[Row]) -> io::Result<()> {
    if rows.is_empty() {
        return writeln!(out, "No open ports found.");
    }
    let identifier = Identifier::builtin();
    // MAC and vendor columns only when some host is on-link.
    let on_link = rows.iter().any(|r| r.mac.is_some());
    let mac_header =
        if on_link { format!("{:<17}  {:<24}  ", "MAC", "VENDOR") } else { String::new() };
    // A name column only when some host has a name, as wide as the longest (bounded).
    let name_width =
        rows.iter().filter_map(|r| r.hostname.as_ref()).map(|n| n.chars().count().min(40)).max();
    let name_header = name_width.map(|w| format!("{:<w$}  ", "NAME")).unwrap_or_default();
    writeln!(
        out,
        "{:<15}  {name_header}{:>5}  {:<5}  {:<5}  {:>9}  {:<12}  {mac_header}VERSION",
        "HOST", "PORT", "PROTO", "STATE", "RTT", "SERVICE"
    )?;
    for r in rows {
        // Without identification, the service usually found on the port.
        let service = r.service.clone().or_else(|| {
            identifier.identify(&Observation { port: r.port, banner: None }).map(|m| m.service)
        });
        let version = [&r.product, &r.version]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(" ");
        let version = match &r.info {
            Some(info) if !version.is_empty() => format!("{version} ({info})"),
            _ => version,
        };
        let rtt = format!("{:.1}ms", r.rtt_ms);
        let mac = if on_link {
            let vendor: String = r.vendor.unwrap_or("-").chars().take(24).collect();
            format!("{:<17}  {vendor:<24}  ", r.mac.as_deref().unwrap_or("-"))
        } else {
            String::new()
        };
        let name = match name_width {
            Some(w) => {
                let shown: String =
                    printable(r.hostname.as_deref().unwrap_or("-")).chars().take(w).collect();
                format!("{shown:<w$}  ")
            }
            None => String::new(),
        };
        writeln!(
            out,
            "{:<15}  {name}{:>5}  {:<5}  {:<5}  {:>9}  {:<12}  {mac}{}",
            r.ip,
            r.port,
            r.proto.as_str(),
            "open",
            rtt,
            printable(service.as_deref().unwrap_or("-")),
            printable(if version.is_empty() { "-" } else { &version }),
        )?;
    }
    Ok(())
}

/// What identification found comes from the network: every control character (escape
/// sequences, carriage returns, newlines) and every bidirectional override is shown escaped,
/// so a service cannot drive the terminal, forge rows or hide text.
pub fn printable(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let hostile = c.is_control()
                || ('\u{202a}'..='\u{202e}').contains(&c)
                || ('\u{2066}'..='\u{2069}').contains(&c)
                || c == '\u{200e}'
                || c == '\u{200f}';
            let mut shown = Vec::new();
            if hostile {
                shown.extend(c.escape_unicode());
            } else {
                shown.push(c);
            }
            shown
        })
        .collect()
}

/// A CSV cell (RFC 4180): quoted when it holds a comma, a quote or a line break, quotes
/// doubled; control characters escaped as in the table.
fn csv_cell(value: &str) -> String {
    let value = printable(value);
    if value.contains([',', '"']) { format!("\"{}\"", value.replace('"', "\"\"")) } else { value }
}

/// `1.5s`, `2m05s`, `1h02m`.
pub fn human_duration(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{:.1}s", d.as_secs_f64()),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(ip: [u8; 4], port: u16) -> Finding {
        Finding {
            ip: ip.into(),
            port,
            proto: Proto::Tcp,
            state: PortState::Open,
            rtt: Duration::from_micros(212),
        }
    }

    fn summary() -> ScanSummary {
        ScanSummary {
            targets: vec!["127.0.0.1".into()],
            ports: "22,80".into(),
            engine: "connect",
            seed: 1,
            addresses: 1,
            probes: 2,
            sent: 2,
            duration_s: 0.1,
            complete: true,
        }
    }

    fn print(format: OutputFormat, findings: &[Finding]) -> String {
        print_on_link(format, findings, &[])
    }

    fn print_on_link(format: OutputFormat, findings: &[Finding], on_link: &[Neighbour]) -> String {
        let mut buf = Vec::new();
        let mut p = Printer::new(format, &mut buf, on_link).unwrap();
        for f in findings {
            p.found(f, None).unwrap();
        }
        p.finish(&summary()).unwrap();
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn ndjson_is_one_object_per_port() {
        let out = print(OutputFormat::Ndjson, &[finding([127, 0, 0, 1], 8080)]);
        assert_eq!(
            out,
            "{\"ip\":\"127.0.0.1\",\"port\":8080,\"proto\":\"tcp\",\"state\":\"open\",\"rtt_ms\":0.212}\n"
        );
    }

    #[test]
    fn csv_has_a_header_and_rows() {
        let out = print(OutputFormat::Csv, &[finding([127, 0, 0, 1], 22)]);
        assert_eq!(
            out,
            "ip,port,proto,state,rtt_ms,service,product,version\n127.0.0.1,22,tcp,open,0.212,,,\n"
        );
    }

    #[test]
    fn json_is_one_sorted_document() {
        let out = print(
            OutputFormat::Json,
            &[finding([10, 0, 0, 2], 80), finding([10, 0, 0, 1], 443), finding([10, 0, 0, 1], 22)],
        );
        let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
        let ports: Vec<_> = doc["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["port"].as_u64().unwrap())
            .collect();
        assert_eq!(ports, vec![22, 443, 80]);
        assert_eq!(doc["scan"]["engine"], "connect");
    }

    #[test]
    fn table_names_services_and_says_when_empty() {
        let out = print(OutputFormat::Table, &[finding([127, 0, 0, 1], 22)]);
        assert!(out.lines().nth(1).unwrap().contains("127.0.0.1") && out.contains("ssh"), "{out}");
        assert_eq!(print(OutputFormat::Table, &[]), "No open ports found.\n");
    }

    fn hostile_match() -> ServiceMatch {
        ServiceMatch {
            service: "http".into(),
            product: Some("evil\x1b[2J\x1b]0;owned\x07".into()),
            vendor: None,
            version: Some("1.0\r\n127.0.0.1  22  tcp  open\u{202e}".into()),
            info: Some("a,\"b\"".into()),
            cpe: None,
            confidence: 90,
            signature: Some("x".into()),
            evidence: sonde_matcher::Evidence::PortNumber,
        }
    }

    #[test]
    fn identified_ports_show_service_product_and_version_in_every_format() {
        let f = finding([127, 0, 0, 1], 22);
        let m = sonde_matcher::Identifier::builtin()
            .identify_responses(
                22,
                &[sonde_matcher::Response {
                    probe: "null",
                    data: b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n",
                }],
            )
            .unwrap();
        let run = |format| {
            let mut buf = Vec::new();
            let mut p = Printer::new(format, &mut buf, &[]).unwrap();
            p.found(&f, Some(&m)).unwrap();
            p.finish(&summary()).unwrap();
            String::from_utf8(buf).unwrap()
        };
        let table = run(OutputFormat::Table);
        assert!(
            table.contains("ssh") && table.contains("OpenSSH 9.2p1 (Debian-2+deb12u3)"),
            "{table}"
        );
        let csv = run(OutputFormat::Csv);
        assert!(csv.ends_with(",ssh,OpenSSH,9.2p1\n"), "{csv}");
        let line: serde_json::Value =
            serde_json::from_str(run(OutputFormat::Ndjson).trim()).unwrap();
        assert_eq!(
            (line["product"].as_str(), line["version"].as_str()),
            (Some("OpenSSH"), Some("9.2p1"))
        );
        let doc: serde_json::Value = serde_json::from_str(&run(OutputFormat::Json)).unwrap();
        assert_eq!(doc["results"][0]["service"], "ssh");
    }

    #[test]
    fn hostile_identifications_are_escaped_in_the_table_and_csv() {
        let f = finding([127, 0, 0, 1], 80);
        let m = hostile_match();
        for format in [OutputFormat::Table, OutputFormat::Csv] {
            let mut buf = Vec::new();
            let mut p = Printer::new(format, &mut buf, &[]).unwrap();
            p.found(&f, Some(&m)).unwrap();
            p.finish(&summary()).unwrap();
            let out = String::from_utf8(buf).unwrap();
            assert!(!out.contains(['\x1b', '\x07', '\r', '\u{202e}']), "{format:?}: {out:?}");
            assert_eq!(out.lines().count(), 2, "{format:?}: a newline forged a row: {out:?}");
            assert!(out.contains("\\u{1b}[2J"), "{out}");
        }
        assert_eq!(csv_cell("a,\"b\""), "\"a,\"\"b\"\"\"");
    }

    #[test]
    fn on_link_hosts_show_mac_and_vendor_even_without_open_ports() {
        let neighbours = [
            Neighbour { ip: [192, 0, 2, 5].into(), mac: "00:00:0c:01:02:03".parse().unwrap() },
            Neighbour { ip: [192, 0, 2, 6].into(), mac: "00:1b:21:00:00:01".parse().unwrap() },
        ];
        let found = [finding([192, 0, 2, 5], 22)];
        let ndjson = print_on_link(OutputFormat::Ndjson, &found, &neighbours);
        assert_eq!(
            ndjson,
            "{\"ip\":\"192.0.2.5\",\"port\":22,\"proto\":\"tcp\",\"state\":\"open\",\"rtt_ms\":0.212,\
             \"mac\":\"00:00:0c:01:02:03\",\"vendor\":\"Cisco Systems, Inc\"}\n\
             {\"ip\":\"192.0.2.6\",\"state\":\"up\",\"mac\":\"00:1b:21:00:00:01\",\
             \"vendor\":\"Intel Corporate\"}\n"
        );
        let csv = print_on_link(OutputFormat::Csv, &found, &neighbours);
        assert_eq!(
            csv,
            "ip,port,proto,state,rtt_ms,service,product,version,mac,vendor\n\
             192.0.2.5,22,tcp,open,0.212,,,,00:00:0c:01:02:03,\"Cisco Systems, Inc\"\n\
             192.0.2.6,,,up,,,,,00:1b:21:00:00:01,\"Intel Corporate\"\n"
        );
        let json = print_on_link(OutputFormat::Json, &found, &neighbours);
        let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(doc["results"][0]["vendor"], "Cisco Systems, Inc");
        assert_eq!(doc["hosts"][0]["open_ports"], 1);
        assert_eq!(doc["hosts"][1]["open_ports"], 0);
        assert_eq!(doc["hosts"][1]["mac"], "00:1b:21:00:00:01");
        let table = print_on_link(OutputFormat::Table, &found, &neighbours);
        assert!(table.lines().nth(1).unwrap().contains("Cisco Systems, Inc"), "{table}");
        assert!(table.contains("answered ARP") && table.contains("Intel Corporate"), "{table}");
        assert!(!print(OutputFormat::Json, &found).contains("hosts"), "routed scans unchanged");
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(human_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(human_duration(Duration::from_secs(125)), "2m05s");
        assert_eq!(human_duration(Duration::from_secs(3720)), "1h02m");
    }

    #[test]
    fn names_found_by_reverse_dns_show_in_every_format() {
        let findings = [finding([10, 0, 0, 1], 22), finding([10, 0, 0, 2], 80)];
        let print = |format| {
            let mut out = Vec::new();
            let mut p = Printer::with_dns(format, &mut out, &[], true).unwrap();
            p.named([10, 0, 0, 1].into(), "a.lab.example".into());
            for f in &findings {
                p.found(f, None).unwrap();
            }
            p.finish(&summary()).unwrap();
            String::from_utf8(out).unwrap()
        };
        let csv = print(OutputFormat::Csv);
        let lines: Vec<&str> = csv.lines().collect();
        assert!(lines[0].ends_with(",version,hostname"), "{csv}");
        assert!(lines[1].starts_with("10.0.0.1,22,") && lines[1].ends_with(",a.lab.example"));
        assert!(lines[2].starts_with("10.0.0.2,80,") && lines[2].ends_with(','), "{csv}");
        let json: serde_json::Value = serde_json::from_str(&print(OutputFormat::Json)).unwrap();
        assert_eq!(json["results"][0]["hostname"], "a.lab.example");
        assert!(json["results"][1].get("hostname").is_none());
        let table = print(OutputFormat::Table);
        assert!(table.lines().next().unwrap().contains("NAME"), "{table}");
        assert!(table.contains("a.lab.example"), "{table}");
        let ndjson = print(OutputFormat::Ndjson);
        assert!(ndjson.lines().next().unwrap().contains("\"hostname\":\"a.lab.example\""));
    }
}
