//! Nmap's XML output (`nmaprun`, as `nmap -oX` writes it and `nmap.dtd` describes it), so that
//! tools that read nmap's results read Sonde's.

use std::io;

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesText, Event};
use sonde_web::api::{ExportHost, ExportPort, HostnameSource, QueryExport, ScanExport};

use super::ExportError;
use crate::store::ScanTimes;

/// The nmap XML format version the output follows.
const XML_OUTPUT_VERSION: &str = "1.05";

/// What the `nmaprun` element says about the run, apart from its hosts.
struct Run<'a> {
    /// The command line nmap would show.
    args: String,
    /// The port list probed (`services` of `scaininfo`).
    ports: String,
    /// The UDP port list probed, empty when none: a second `scaninfo`, as `nmap -sS -sU`
    /// writes.
    udp_ports: String,
    /// Start and end, Unix seconds.
    times: ScanTimes,
    /// Start and end as text.
    startstr: &'a str,
    endstr: &'a str,
    /// One sentence for `finished`.
    summary: String,
    /// Whether the run ended without error.
    ok: bool,
    /// The hosts.
    hosts: &'a [ExportHost],
}

pub(super) fn render(export: &ScanExport, times: ScanTimes) -> Result<Vec<u8>, ExportError> {
    let scan = &export.scan;
    let run = Run {
        args: match scan.udp_ports.as_str() {
            "" => format!("sonde scan {} -p {}", scan.targets.join(" "), scan.ports),
            udp => {
                format!("sonde scan {} -p {} --udp-ports {udp}", scan.targets.join(" "), scan.ports)
            }
        },
        ports: scan.ports.clone(),
        udp_ports: scan.udp_ports.clone(),
        times,
        startstr: scan.started_at.as_deref().unwrap_or(&scan.created_at),
        endstr: scan.finished_at.as_deref().unwrap_or(""),
        summary: format!(
            "Sonde scan {} done; {} hosts with open ports",
            scan.id,
            export.hosts.len()
        ),
        ok: scan.error.is_none(),
        hosts: &export.hosts,
    };
    document(&run)
}

/// A query export: no scan ran, so the run is the moment of the export, and the port list is
/// the ports the matching hosts have open.
pub(super) fn render_query(export: &QueryExport, times: ScanTimes) -> Result<Vec<u8>, ExportError> {
    let list = |proto: &str| {
        let ports: std::collections::BTreeSet<u16> = export
            .hosts
            .iter()
            .flat_map(|h| h.ports.iter().filter(|p| p.proto == proto).map(|p| p.port))
            .collect();
        ports.iter().map(ToString::to_string).collect::<Vec<_>>().join(",")
    };
    let f = &export.filter;
    let mut args = String::from("sonde export --query");
    for (key, value) in [
        ("subnet", f.subnet.clone()),
        ("port", f.port.map(|p| p.to_string())),
        ("service", f.service.clone()),
        ("product", f.product.clone()),
        ("q", f.q.clone()),
    ] {
        if let Some(value) = value {
            args.push_str(&format!(" {key}={value}"));
        }
    }
    let run = Run {
        args,
        ports: list("tcp"),
        udp_ports: list("udp"),
        times,
        startstr: &export.generated_at,
        endstr: &export.generated_at,
        summary: format!("Sonde query export; {} hosts with open ports", export.hosts.len()),
        ok: true,
        hosts: &export.hosts,
    };
    document(&run)
}

fn document(run: &Run<'_>) -> Result<Vec<u8>, ExportError> {
    let mut out = Writer::new_with_indent(Vec::new(), b' ', 2);
    write(&mut out, run)
        .map_err(|e| ExportError::Write { format: "Nmap XML", detail: e.to_string() })?;
    let mut bytes = out.into_inner();
    bytes.push(b'\n');
    Ok(bytes)
}

fn write(out: &mut Writer<Vec<u8>>, run: &Run<'_>) -> io::Result<()> {
    let times = run.times;
    out.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    out.write_event(Event::DocType(BytesText::from_escaped("nmaprun")))?;
    let start = times.start.to_string();
    let version = format!("sonde {}", env!("CARGO_PKG_VERSION"));
    // `scanner` must be `nmap` for the DTD and for readers such as python-nmap; the version
    // says who really wrote it.
    out.create_element("nmaprun")
        .with_attributes([
            ("scanner", "nmap"),
            ("args", run.args.as_str()),
            ("start", start.as_str()),
            ("startstr", run.startstr),
            ("version", version.as_str()),
            ("xmloutputversion", XML_OUTPUT_VERSION),
        ])
        .write_inner_content(|out| {
            let ports = run.ports.as_str();
            let count = count_ports(ports).to_string();
            out.create_element("scaninfo")
                .with_attributes([
                    ("type", "connect"),
                    ("protocol", "tcp"),
                    ("numservices", count.as_str()),
                    ("services", ports),
                ])
                .write_empty()?;
            if !run.udp_ports.is_empty() {
                let count = count_ports(&run.udp_ports).to_string();
                out.create_element("scaninfo")
                    .with_attributes([
                        ("type", "udp"),
                        ("protocol", "udp"),
                        ("numservices", count.as_str()),
                        ("services", run.udp_ports.as_str()),
                    ])
                    .write_empty()?;
            }
            out.create_element("verbose").with_attribute(("level", "0")).write_empty()?;
            out.create_element("debugging").with_attribute(("level", "0")).write_empty()?;
            for host in run.hosts {
                let (start, end) = (times.start.to_string(), times.end.to_string());
                out.create_element("host")
                    .with_attributes([("starttime", start.as_str()), ("endtime", end.as_str())])
                    .write_inner_content(|out| {
                        // Sonde stores hosts with an open port: they answered a connection.
                        out.create_element("status")
                            .with_attributes([
                                ("state", "up"),
                                ("reason", "syn-ack"),
                                ("reason_ttl", "0"),
                            ])
                            .write_empty()?;
                        let ip = host.ip.to_string();
                        out.create_element("address")
                            .with_attributes([("addr", ip.as_str()), ("addrtype", "ipv4")])
                            .write_empty()?;
                        out.create_element("hostnames").write_inner_content(|out| {
                            let given = host.name.iter().map(|n| (n.as_str(), "user"));
                            let found = host.hostnames.iter().map(|h| {
                                let kind =
                                    if h.source == HostnameSource::Dns { "PTR" } else { "user" };
                                (h.name.as_str(), kind)
                            });
                            for (name, kind) in given.chain(found) {
                                out.create_element("hostname")
                                    .with_attributes([("name", name), ("type", kind)])
                                    .write_empty()?;
                            }
                            Ok(())
                        })?;
                        out.create_element("ports").write_inner_content(|out| {
                            for port in &host.ports {
                                write_port(out, port)?;
                            }
                            Ok(())
                        })?;
                        Ok(())
                    })?;
            }
            let (end, elapsed) =
                (times.end.to_string(), (times.end - times.start).max(0).to_string());
            let up = run.hosts.len().to_string();
            out.create_element("runstats").write_inner_content(|out| {
                out.create_element("finished")
                    .with_attributes([
                        ("time", end.as_str()),
                        ("timestr", run.endstr),
                        ("elapsed", elapsed.as_str()),
                        ("summary", run.summary.as_str()),
                        ("exit", if run.ok { "success" } else { "error" }),
                    ])
                    .write_empty()?;
                // Hosts without open ports are not stored, so none is reported down.
                out.create_element("hosts")
                    .with_attributes([("up", up.as_str()), ("down", "0"), ("total", up.as_str())])
                    .write_empty()?;
                Ok(())
            })?;
            Ok(())
        })?;
    Ok(())
}

fn write_port(out: &mut Writer<Vec<u8>>, port: &ExportPort) -> io::Result<()> {
    let number = port.port.to_string();
    out.create_element("port")
        .with_attributes([("protocol", port.proto.as_str()), ("portid", number.as_str())])
        .write_inner_content(|out| {
            out.create_element("state")
                .with_attributes([
                    ("state", port.state.as_str()),
                    ("reason", "syn-ack"),
                    ("reason_ttl", "0"),
                ])
                .write_empty()?;
            let Some(name) = &port.service else { return Ok(()) };
            // nmap's convention: a service named from the port table is `table` with
            // confidence 3; one a probe identified is `probed` with 10.
            let probed = port.product.is_some();
            let mut service = out.create_element("service").with_attributes([
                ("name", name.as_str()),
                ("method", if probed { "probed" } else { "table" }),
                ("conf", if probed { "10" } else { "3" }),
            ]);
            for (key, value) in
                [("product", &port.product), ("version", &port.version), ("extrainfo", &port.info)]
            {
                if let Some(value) = value {
                    service = service.with_attribute((key, value.as_str()));
                }
            }
            match port.cpe.as_deref().map(cpe_uri) {
                Some(cpe) => {
                    service.write_inner_content(|out| {
                        out.create_element("cpe").write_text_content(BytesText::new(&cpe))?;
                        Ok(())
                    })?;
                }
                None => {
                    service.write_empty()?;
                }
            }
            Ok(())
        })?;
    Ok(())
}

/// Ports named by a canonical port list (`22,80,8000-8100`).
fn count_ports(spec: &str) -> u64 {
    spec.split(',')
        .filter_map(|part| match part.split_once('-') {
            Some((a, b)) => {
                Some(b.trim().parse::<u64>().ok()?.saturating_sub(a.trim().parse().ok()?) + 1)
            }
            None => part.trim().parse::<u16>().ok().map(|_| 1),
        })
        .sum()
}

/// nmap writes CPE 2.2 URIs (`cpe:/a:openbsd:openssh:9.2p1`); the matcher names products in
/// CPE 2.3 formatted strings. The first seven components carry over; `*` (any) becomes empty
/// and trailing empty components are dropped, as the URI form does.
fn cpe_uri(cpe: &str) -> String {
    let Some(rest) = cpe.strip_prefix("cpe:2.3:") else { return cpe.to_owned() };
    let mut parts: Vec<String> = rest
        .split(':')
        .take(7)
        .map(|p| if p == "*" { String::new() } else { p.replace('\\', "") })
        .collect();
    while parts.last().is_some_and(String::is_empty) {
        parts.pop();
    }
    format!("cpe:/{}", parts.join(":"))
}

#[cfg(test)]
mod tests {
    use super::super::tests::sample;
    use super::*;

    #[test]
    fn cpe_names_become_uris() {
        assert_eq!(
            cpe_uri("cpe:2.3:a:openbsd:openssh:9.2p1:*:*:*:*:*:*:*"),
            "cpe:/a:openbsd:openssh:9.2p1"
        );
        assert_eq!(
            cpe_uri("cpe:2.3:o:linux:linux_kernel:*:*:*:*:*:*:*:*"),
            "cpe:/o:linux:linux_kernel"
        );
        assert_eq!(cpe_uri("cpe:/a:x:y"), "cpe:/a:x:y");
    }

    #[test]
    fn port_lists_are_counted() {
        assert_eq!(count_ports("22,80,8000-8100"), 103);
        assert_eq!(count_ports("1-65535"), 65535);
    }

    #[test]
    fn hosts_ports_and_services_are_written_escaped() {
        let xml = String::from_utf8(render(&sample(), ScanTimes { start: 100, end: 105 }).unwrap())
            .unwrap();
        assert!(
            xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE nmaprun>"),
            "{xml}"
        );
        assert!(xml.contains("<address addr=\"127.0.0.1\" addrtype=\"ipv4\"/>"), "{xml}");
        assert!(xml.contains("<hostname name=\"localhost\" type=\"PTR\"/>"), "{xml}");
        assert!(xml.contains(
            "<service name=\"ssh\" method=\"probed\" conf=\"10\" product=\"OpenSSH\" version=\"9.2p1\" \
             extrainfo=\"Debian &lt;12&gt; &amp; &quot;bookworm&quot;\">"
        ), "{xml}");
        assert!(xml.contains("<cpe>cpe:/a:openbsd:openssh:9.2p1</cpe>"), "{xml}");
        assert!(xml.contains("<finished time=\"105\""), "{xml}");
        assert!(xml.contains("elapsed=\"5\""), "{xml}");
        assert!(xml.contains("<hosts up=\"2\" down=\"0\" total=\"2\"/>"), "{xml}");
        assert_eq!(xml.matches("<port ").count(), 3);
        assert_eq!(xml.matches("<scaninfo").count(), 1, "no UDP scaninfo without UDP ports");
    }

    #[test]
    fn udp_ports_get_their_protocol_and_a_scaninfo_of_their_own() {
        let mut export = sample();
        export.scan.udp_ports = "53,161".into();
        let dns = ExportPort {
            proto: "udp".into(),
            product: Some("dnsmasq".into()),
            ..export.hosts[1].ports[0].clone()
        };
        export.hosts[1].ports.push(ExportPort { port: 53, ..dns });
        let xml = String::from_utf8(render(&export, ScanTimes { start: 100, end: 105 }).unwrap())
            .unwrap();
        assert!(
            xml.contains(
                "<scaninfo type=\"udp\" protocol=\"udp\" numservices=\"2\" services=\"53,161\"/>"
            ),
            "{xml}"
        );
        assert!(xml.contains("<port protocol=\"udp\" portid=\"53\">"), "{xml}");
        assert!(xml.contains("--udp-ports 53,161"), "{xml}");
    }
}
