//! CSV: one row per open port, with a header.

use sonde_web::api::{ExportHost, ScanExport};

use super::ExportError;

/// Columns, in order.
const HEADER: [&str; 10] =
    ["ip", "hostname", "port", "proto", "state", "service", "product", "version", "info", "cpe"];

pub(super) fn render(export: &ScanExport) -> Result<Vec<u8>, ExportError> {
    render_hosts(&export.hosts)
}

/// The rows of `hosts`, as for a scan: a query export has the same columns.
pub(super) fn render_hosts(hosts: &[ExportHost]) -> Result<Vec<u8>, ExportError> {
    let fail = |e: csv::Error| ExportError::Write { format: "CSV", detail: e.to_string() };
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(HEADER).map_err(fail)?;
    for host in hosts {
        let ip = host.ip.to_string();
        let hostname = host.hostnames.first().map(|h| h.name.as_str()).unwrap_or_default();
        for p in &host.ports {
            let port = p.port.to_string();
            let text = |v: &Option<String>| cell(v.as_deref().unwrap_or_default());
            out.write_record([
                ip.clone(),
                cell(hostname),
                port,
                p.proto.clone(),
                p.state.clone(),
                text(&p.service),
                text(&p.product),
                text(&p.version),
                text(&p.info),
                text(&p.cpe),
            ])
            .map_err(fail)?;
        }
    }
    out.into_inner().map_err(|e| ExportError::Write { format: "CSV", detail: e.to_string() })
}

/// Product strings and names come from the scanned services, so they are attacker-controlled;
/// a spreadsheet would run a cell starting with `=`, `+`, `-` or `@` as a formula. A leading
/// `'` keeps it text (OWASP's advice on CSV injection).
fn cell(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::sample;
    use super::*;

    #[test]
    fn one_row_per_port_and_formulas_stay_text() {
        let text = String::from_utf8(render(&sample()).unwrap()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "ip,hostname,port,proto,state,service,product,version,info,cpe");
        assert_eq!(lines.len(), 4);
        assert!(
            lines[1].starts_with("127.0.0.1,localhost,22,tcp,open,ssh,OpenSSH,9.2p1,"),
            "{}",
            lines[1]
        );
        assert!(lines[1].contains("\"Debian <12> & \"\"bookworm\"\"\""), "quoted: {}", lines[1]);
        assert!(lines[2].contains(",'=cmd|"), "{}", lines[2]);
        assert_eq!(lines[3], "127.0.0.2,,80,tcp,open,,,,,");
    }
}
