//! Exports of a scan: JSON, CSV and Nmap-compatible XML, for `GET /api/v1/scans/{id}/export`
//! and `sonde export`.
//!
//! Every format is rendered from one [`ScanExport`] so that they agree: the same hosts, the
//! same ports, the same identification.

mod csv;
mod nmap_xml;

use sonde_web::api::{ExportFormat, ScanExport};

use crate::store::ScanTimes;

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
    fn json_is_the_export_itself() {
        let bytes = render(ExportFormat::Json, &sample(), ScanTimes::default()).unwrap();
        let back: ScanExport = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(back, sample());
    }
}
