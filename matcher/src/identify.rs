//! Identification from the port number and the banner.

use crate::port_names;

/// What was seen on one open TCP port.
#[derive(Debug, Clone, Copy)]
pub struct Observation<'a> {
    /// Port number.
    pub port: u16,
    /// Bytes the service sent unprompted, if any.
    pub banner: Option<&'a [u8]>,
}

/// Why an identification was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Evidence {
    /// Only the port number: the service usually found there.
    PortNumber,
    /// The banner starts with the protocol's greeting.
    BannerPrefix,
}

/// A service named for an open port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceMatch {
    /// Service name (`ssh`, `http`...), IANA style.
    pub service: &'static str,
    /// Product, when the evidence names one.
    pub product: Option<String>,
    /// Version, when the evidence names one.
    pub version: Option<String>,
    /// 0..=100.
    pub confidence: u8,
    /// What the identification rests on.
    pub evidence: Evidence,
}

/// A greeting that names its protocol without doubt, whatever the port.
struct Greeting {
    prefix: &'static [u8],
    service: &'static str,
}

const GREETINGS: &[Greeting] = &[
    Greeting { prefix: b"SSH-", service: "ssh" },
    Greeting { prefix: b"HTTP/1.", service: "http" },
    Greeting { prefix: b"-ERR ", service: "redis" },
    Greeting { prefix: b"+OK", service: "pop3" },
    Greeting { prefix: b"* OK", service: "imap" },
    Greeting { prefix: b"RFB ", service: "vnc" },
];

/// The matcher. Immutable once built; share it behind an `Arc`.
#[derive(Debug, Clone, Default)]
pub struct Identifier {
    _private: (),
}

impl Identifier {
    /// The built-in knowledge.
    pub fn builtin() -> Self {
        Self { _private: () }
    }

    /// Names the service on one port, or `None` when neither the banner nor the port says
    /// anything.
    pub fn identify(&self, observation: &Observation<'_>) -> Option<ServiceMatch> {
        if let Some(m) = observation.banner.and_then(identify_banner) {
            return Some(m);
        }
        port_names::name(observation.port).map(|service| ServiceMatch {
            service,
            product: None,
            version: None,
            confidence: 30,
            evidence: Evidence::PortNumber,
        })
    }
}

fn identify_banner(banner: &[u8]) -> Option<ServiceMatch> {
    let greeting = GREETINGS.iter().find(|g| banner.starts_with(g.prefix))?;
    let (product, version) =
        if greeting.service == "ssh" { ssh_software(banner) } else { (None, None) };
    Some(ServiceMatch {
        service: greeting.service,
        product,
        version,
        confidence: 80,
        evidence: Evidence::BannerPrefix,
    })
}

/// `SSH-2.0-OpenSSH_9.2p1 Debian-2` names its software as `OpenSSH` version `9.2p1`.
fn ssh_software(banner: &[u8]) -> (Option<String>, Option<String>) {
    let line = banner.split(|&b| b == b'\r' || b == b'\n').next().unwrap_or_default();
    let Ok(line) = std::str::from_utf8(line) else { return (None, None) };
    let Some(software) = line.splitn(3, '-').nth(2) else { return (None, None) };
    let software = software.split(' ').next().unwrap_or_default();
    match software.split_once('_') {
        Some((product, version)) if !product.is_empty() => {
            (Some(product.to_string()), Some(version.to_string()))
        }
        _ if !software.is_empty() => (Some(software.to_string()), None),
        _ => (None, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// name, port, banner, expected service, product, version.
    type Case = (
        &'static str,
        u16,
        Option<&'static [u8]>,
        Option<&'static str>,
        Option<&'static str>,
        Option<&'static str>,
    );

    #[test]
    fn identifies_from_tables() {
        let id = Identifier::builtin();
        let cases: &[Case] = &[
            (
                "ssh on its port",
                22,
                Some(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"),
                Some("ssh"),
                Some("OpenSSH"),
                Some("9.2p1"),
            ),
            (
                "ssh elsewhere",
                8022,
                Some(b"SSH-2.0-dropbear_2022.83\r\n"),
                Some("ssh"),
                Some("dropbear"),
                Some("2022.83"),
            ),
            ("ssh without version", 22, Some(b"SSH-2.0-Go\r\n"), Some("ssh"), Some("Go"), None),
            ("silent http port", 80, None, Some("http"), None, None),
            (
                "redis error greeting",
                6390,
                Some(b"-ERR unknown command\r\n"),
                Some("redis"),
                None,
                None,
            ),
            ("unknown banner, known port", 25, Some(b"\x00\x01garbage"), Some("smtp"), None, None),
            ("nothing known", 40000, Some(b"hello"), None, None, None),
        ];
        for (name, port, banner, service, product, version) in cases {
            let got = id.identify(&Observation { port: *port, banner: *banner });
            assert_eq!(got.as_ref().map(|m| m.service), *service, "{name}");
            assert_eq!(got.as_ref().and_then(|m| m.product.as_deref()), *product, "{name}");
            assert_eq!(got.as_ref().and_then(|m| m.version.as_deref()), *version, "{name}");
        }
    }

    #[test]
    fn banner_beats_port_number() {
        let m = Identifier::builtin()
            .identify(&Observation { port: 80, banner: Some(b"SSH-2.0-x\r\n") })
            .unwrap();
        assert_eq!(m.service, "ssh");
        assert_eq!(m.evidence, Evidence::BannerPrefix);
    }
}
