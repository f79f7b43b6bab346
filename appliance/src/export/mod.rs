//! Exports of a scan or of a hosts query: JSON, CSV and Nmap-compatible XML, for
//! `GET /api/v1/scans/{id}/export`, `GET /api/v1/hosts/export` and `sonde export`.
//!
//! Every format is rendered from one [`ScanExport`] (or [`QueryExport`]) so that they agree:
//! the same hosts, the same ports, the same identification.

mod csv;
mod nmap_xml;

use sonde_web::api::{ExportFormat, HostExportFilter, QueryExport, ScanExport};

use crate::store::{HostFilter, ScanTimes, Store, StoreError};

/// An export that could not be rendered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    /// Writing the document failed (only an I/O error of the underlying writer can cause it).
    #[error("cannot write the {format} export: {detail}")]
    Write {
        /// The format being written.
        format: &'static str,
        /// Cause.
        detail: String,
    },
}

/// Renders `export` (with the scan's times, `times`) in `format`.
pub fn render(
    format: ExportFormat,
    export: &ScanExport,
    times: ScanTimes,
) -> Result<Vec<u8>, ExportError> {
    match format {
        ExportFormat::Json => serde_json::to_vec_pretty(export)
            .map_err(|e| ExportError::Write { format: "JSON", detail: e.to_string() }),
        ExportFormat::Csv => csv::render(export),
        ExportFormat::NmapXml => nmap_xml::render(export, times),
    }
}

/// The hosts `filter` matches, with their open ports, as a query export made now.
pub async fn query_export(
    store: &Store,
    filter: &HostFilter,
    shown: HostExportFilter,
) -> Result<QueryExport, StoreError> {
    let hosts = store.hosts_export(filter).await?;
    let generated_at = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    Ok(QueryExport { generated_at, filter: shown, hosts })
}

/// A query export's run for Nmap XML: it starts and ends now.
pub fn query_times() -> ScanTimes {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    ScanTimes { start: now, end: now }
}

/// Renders a query export in `format`; `times` is the moment it was made (start and end).
pub fn render_query(
    format: ExportFormat,
    export: &QueryExport,
    times: ScanTimes,
) -> Result<Vec<u8>, ExportError> {
    match format {
        ExportFormat::Json => serde_json::to_vec_pretty(export)
            .map_err(|e| ExportError::Write { format: "JSON", detail: e.to_string() }),
        ExportFormat::Csv => csv::render_hosts(&export.hosts),
        ExportFormat::NmapXml => nmap_xml::render_query(export, times),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use sonde_web::api::{
        ExportHost, ExportPort, Hostname, HostnameSource, ScanCounters, ScanStatus, ScanView,
    };

    use super::*;

    /// Two hosts: one with an identified SSH server and a hostile product string, one bare.
    pub(crate) fn sample() -> ScanExport {
        let port = |port: u16| ExportPort {
            port,
            proto: "tcp".into(),
            state: "open".into(),
            service: None,
            product: None,
            version: None,
            info: None,
            cpe: None,
        };
        ScanExport {
            scan: ScanView {
                id: 7,
                status: ScanStatus::Completed,
                targets: vec!["127.0.0.0/30".into()],
                ports: "22,80".into(),
                udp_ports: String::new(),
                rate: 100,
                seed: 1,
                counters: ScanCounters { open_ports: 3, hosts_up: 2, ..ScanCounters::default() },
                error: None,
                created_at: "2026-11-26T10:00:00.000Z".into(),
                started_at: Some("2026-11-26T10:00:00.000Z".into()),
                finished_at: Some("2026-11-26T10:00:05.000Z".into()),
            },
            hosts: vec![
                ExportHost {
                    ip: [127, 0, 0, 1].into(),
                    hostnames: vec![Hostname {
                        name: "localhost".into(),
                        source: HostnameSource::Dns,
                    }],
                    name: None,
                    ports: vec![
                        ExportPort {
                            service: Some("ssh".into()),
                            product: Some("OpenSSH".into()),
                            version: Some("9.2p1".into()),
                            info: Some("Debian <12> & \"bookworm\"".into()),
                            cpe: Some("cpe:2.3:a:openbsd:openssh:9.2p1:*:*:*:*:*:*:*".into()),
                            ..port(22)
                        },
                        ExportPort { product: Some("=cmd|' /C calc'!A0".into()), ..port(80) },
                    ],
                },
                ExportHost {
                    ip: [127, 0, 0, 2].into(),
                    hostnames: vec![],
                    name: None,
                    ports: vec![port(80)],
                },
            ],
        }
    }

    #[test]
    fn a_query_export_agrees_across_formats() {
        let query = QueryExport {
            generated_at: "2026-11-26T10:00:00.000Z".into(),
            filter: sonde_web::api::HostExportFilter { port: Some(80), ..Default::default() },
            hosts: sample().hosts,
        };
        let at = ScanTimes { start: 100, end: 100 };
        let json = render_query(ExportFormat::Json, &query, at).unwrap();
        let back: QueryExport = serde_json::from_slice(&json).unwrap();
        assert_eq!(back, query);
        let csv = String::from_utf8(render_query(ExportFormat::Csv, &query, at).unwrap()).unwrap();
        assert_eq!(csv.lines().count(), 4, "a header and one row per port\n{csv}");
        let xml =
            String::from_utf8(render_query(ExportFormat::NmapXml, &query, at).unwrap()).unwrap();
        assert!(xml.contains("args=\"sonde export --query port=80\""), "{xml}");
        assert!(xml.contains("services=\"22,80\""), "{xml}");
        assert_eq!(xml.matches("<host ").count(), 2, "{xml}");
        assert_eq!(xml.matches("<port ").count(), 3, "{xml}");
        assert!(xml.contains("<hosts up=\"2\" down=\"0\" total=\"2\"/>"), "{xml}");
    }

    #[test]
    fn json_is_the_export_itself() {
        let bytes = render(ExportFormat::Json, &sample(), ScanTimes::default()).unwrap();
        let back: ScanExport = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(back, sample());
    }
}
