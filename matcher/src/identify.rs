//! Identification: the signature database first, the port number as the last resort.

use std::sync::{Arc, OnceLock};

use crate::error::LoadError;
use crate::fields::{Response, TlsFacts};
use crate::port_names;
use crate::set::SignatureSet;

/// Confidence of a name taken from the port number alone.
const PORT_CONFIDENCE: u8 = 30;

/// What was seen on one open TCP port, when only a banner was read.
#[derive(Debug, Clone, Copy)]
pub struct Observation<'a> {
    /// Port number.
    pub port: u16,
    /// Bytes the service sent unprompted, if any.
    pub banner: Option<&'a [u8]>,
}

/// Why an identification was made.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Evidence {
    /// Only the port number: the service usually found there.
    PortNumber,
    /// A signature matched a field of a response.
    Signature {
        /// The probe whose response matched (`null`, `http`...).
        probe: String,
        /// The field that matched (`ssh.ident`, `http.header.server`...).
        field: String,
        /// The matched text, at most 256 bytes; attacker-controlled, escape it to show it.
        excerpt: String,
    },
}

/// A service named for an open port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceMatch {
    /// Service name (`ssh`, `http`...), IANA style.
    pub service: String,
    /// Product, when the evidence names one.
    pub product: Option<String>,
    /// Who makes the product.
    pub vendor: Option<String>,
    /// Version, when the evidence names one.
    pub version: Option<String>,
    /// More detail (distribution, build, device model...).
    pub info: Option<String>,
    /// CPE 2.3 name of the product.
    pub cpe: Option<String>,
    /// 0..=100.
    pub confidence: u8,
    /// Id of the signature that matched; `None` for a port-number guess.
    pub signature: Option<String>,
    /// What the identification rests on.
    pub evidence: Evidence,
}

/// The matcher. Immutable once built; clones share one compiled database.
#[derive(Debug, Clone)]
pub struct Identifier {
    set: Arc<SignatureSet>,
}

impl ServiceMatch {
    /// A soft match: the service is known, the product is not. More probes may name it.
    pub fn is_soft(&self) -> bool {
        self.product.is_none()
    }
}

impl Identifier {
    /// The built-in signatures, compiled once per process.
    ///
    /// # Panics
    /// If the built-in signatures do not compile, which their tests rule out.
    pub fn builtin() -> Self {
        static BUILTIN: OnceLock<Arc<SignatureSet>> = OnceLock::new();
        let set = BUILTIN.get_or_init(|| match SignatureSet::builtin() {
            Ok(set) => Arc::new(set),
            Err(e) => panic!("the built-in signatures are broken: {e}"),
        });
        Self { set: set.clone() }
    }

    /// An identifier over `set`.
    pub fn new(set: SignatureSet) -> Self {
        Self { set: Arc::new(set) }
    }

    /// The built-in signatures plus extra `(file name, TOML text)` sources.
    pub fn with_sources<'a>(
        extra: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, LoadError> {
        let sources = SignatureSet::builtin_sources().iter().copied().chain(extra);
        Ok(Self::new(SignatureSet::from_sources(sources)?))
    }

    /// The probes worth sending after `m`, best first: none after a hard match (the product
    /// is named); after a soft one, those whose signatures can name a product of its service
    /// (see [`SignatureSet::probes_for_service`]).
    pub fn next_probes(&self, m: &ServiceMatch) -> &[String] {
        if m.is_soft() { self.set.probes_for_service(&m.service) } else { &[] }
    }

    /// The compiled database.
    pub fn signatures(&self) -> &SignatureSet {
        &self.set
    }

    /// Names the service on one port from its banner, or `None` when neither the banner nor
    /// the port says anything.
    pub fn identify(&self, observation: &Observation<'_>) -> Option<ServiceMatch> {
        match observation.banner {
            Some(data) => {
                self.identify_responses(observation.port, &[Response { probe: "null", data }])
            }
            None => self.identify_responses(observation.port, &[]),
        }
    }

    /// Names the service on one port from every response its probes got; the port number is
    /// the last resort.
    pub fn identify_responses(
        &self,
        port: u16,
        responses: &[Response<'_>],
    ) -> Option<ServiceMatch> {
        self.identify_with_tls(port, responses, None)
    }

    /// As [`identify_responses`](Self::identify_responses), with the `tls.*` fields of the
    /// port's TLS handshake.
    pub fn identify_with_tls(
        &self,
        port: u16,
        responses: &[Response<'_>],
        tls: Option<&TlsFacts<'_>>,
    ) -> Option<ServiceMatch> {
        if let Some(m) = self.set.identify_with_tls(port, responses, tls) {
            return Some(m);
        }
        port_names::name(port).map(|service| ServiceMatch {
            service: service.to_string(),
            product: None,
            vendor: None,
            version: None,
            info: None,
            cpe: None,
            confidence: PORT_CONFIDENCE,
            signature: None,
            evidence: Evidence::PortNumber,
        })
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
                Some("Dropbear SSH"),
                Some("2022.83"),
            ),
            (
                "ssh without version",
                22,
                Some(b"SSH-2.0-Go\r\n"),
                Some("ssh"),
                Some("Go x/crypto/ssh"),
                None,
            ),
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
            assert_eq!(got.as_ref().map(|m| m.service.as_str()), *service, "{name}");
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
        assert!(matches!(m.evidence, Evidence::Signature { .. }));
    }
}
