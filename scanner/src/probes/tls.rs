//! The TLS side of the `tls` probe: a client that completes a handshake with any server and a
//! summary of the certificate it presented.
//!
//! Sonde records certificates, it does not trust them: the verifier accepts every chain and
//! every handshake signature, because a self-signed console certificate (Proxmox, ESXi,
//! UniFi...) is exactly what identification wants to read, and nothing secret is sent over the
//! connection. Crypto is rustls with the `ring` provider.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};
use x509_parser::public_key::PublicKey;
use x509_parser::time::ASN1Time;

/// SANs kept per certificate; a certificate naming thousands of hosts costs no more.
const MAX_SANS: usize = 64;
/// Longest subject, issuer or SAN kept, in bytes; certificates are attacker-controlled.
const MAX_NAME: usize = 512;

/// What a TLS handshake showed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TlsInfo {
    /// Negotiated protocol version: `TLSv1.2` or `TLSv1.3`.
    pub version: String,
    /// Negotiated ALPN protocol, when the server picked one.
    pub alpn: Option<String>,
    /// Negotiated cipher suite, e.g. `TLS13_AES_256_GCM_SHA384`.
    pub cipher: String,
    /// The server's own (leaf) certificate; `None` when it sent none or it does not parse.
    pub cert: Option<CertSummary>,
}

/// The facts of one X.509 certificate that identification and operators look at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertSummary {
    /// Subject distinguished name, RFC 4514 style (`CN=pve1.lan, O=PVE Cluster Node`).
    pub subject: String,
    /// Issuer distinguished name.
    pub issuer: String,
    /// Subject alternative names: DNS names, IP addresses, e-mail addresses and URIs as text.
    pub san: Vec<String>,
    /// Start of validity, RFC 3339 UTC.
    pub not_before: String,
    /// End of validity, RFC 3339 UTC.
    pub not_after: String,
    /// Serial number, colon-separated hex.
    pub serial: String,
    /// SHA-256 of the DER certificate, lowercase hex: the certificate's identity.
    pub sha256: String,
    /// Public key: `RSA 2048`, `EC 256`, `Ed25519`...
    pub key_type: String,
    /// Whether the issuer is the subject.
    pub self_signed: bool,
}

/// Accepts every certificate and every handshake signature: see the module documentation.
#[derive(Debug)]
struct RecordOnly {
    schemes: Vec<SignatureScheme>,
}

impl ServerCertVerifier for RecordOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn verify_tls13_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.schemes.clone()
    }
}

/// The client configuration, built once per process. `None` when the ring provider refuses
/// the protocol versions, which would be a build defect; the probe then finds nothing.
fn connector() -> Option<TlsConnector> {
    static CONFIG: OnceLock<Option<Arc<ClientConfig>>> = OnceLock::new();
    let config = CONFIG.get_or_init(|| {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let schemes = provider.signature_verification_algorithms.supported_schemes();
        let mut config = ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .ok()?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(RecordOnly { schemes }))
            .with_no_client_auth();
        // Only HTTP/1.1: the probe speaks HTTP/1.0 inside, and offering h2 would invite a
        // server to pick a protocol the probe cannot speak.
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Some(Arc::new(config))
    });
    config.clone().map(TlsConnector::from)
}

/// Completes a TLS handshake over `tcp`; `None` when the peer does not speak TLS.
pub(crate) async fn handshake(
    addr: SocketAddr,
    tcp: TcpStream,
) -> Option<(TlsStream<TcpStream>, TlsInfo)> {
    let connector = connector()?;
    // An address as the server name: rustls sends no SNI for it, as for a scan by address.
    let name = ServerName::IpAddress(addr.ip().into());
    let stream = connector.connect(name, tcp).await.ok()?;
    let (_, session) = stream.get_ref();
    let version = match session.protocol_version() {
        Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3".to_string(),
        Some(rustls::ProtocolVersion::TLSv1_2) => "TLSv1.2".to_string(),
        Some(other) => format!("{other:?}"),
        None => "unknown".to_string(),
    };
    let info = TlsInfo {
        version,
        alpn: session.alpn_protocol().map(|p| String::from_utf8_lossy(p).into_owned()),
        cipher: session
            .negotiated_cipher_suite()
            .map_or_else(|| "unknown".to_string(), |s| format!("{:?}", s.suite())),
        cert: session.peer_certificates().and_then(|c| c.first()).and_then(|c| summarize(c)),
    };
    Some((stream, info))
}

/// The summary of a DER certificate, or `None` when it does not parse.
pub fn summarize(der: &[u8]) -> Option<CertSummary> {
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    let san = match cert.subject_alternative_name() {
        Ok(Some(ext)) => {
            ext.value.general_names.iter().filter_map(general_name).take(MAX_SANS).collect()
        }
        _ => Vec::new(),
    };
    let subject = bounded(cert.subject().to_string());
    let issuer = bounded(cert.issuer().to_string());
    let validity = cert.validity();
    Some(CertSummary {
        self_signed: cert.subject().as_raw() == cert.issuer().as_raw(),
        subject,
        issuer,
        san,
        not_before: rfc3339(&validity.not_before),
        not_after: rfc3339(&validity.not_after),
        serial: cert.raw_serial_as_string(),
        sha256: hex(&Sha256::digest(der)),
        key_type: key_type(&cert),
    })
}

fn general_name(name: &GeneralName<'_>) -> Option<String> {
    let text = match name {
        GeneralName::DNSName(s) | GeneralName::RFC822Name(s) | GeneralName::URI(s) => {
            (*s).to_string()
        }
        GeneralName::IPAddress(b) => match b.len() {
            4 => std::net::Ipv4Addr::from(<[u8; 4]>::try_from(*b).ok()?).to_string(),
            16 => std::net::Ipv6Addr::from(<[u8; 16]>::try_from(*b).ok()?).to_string(),
            _ => return None,
        },
        _ => return None,
    };
    Some(bounded(text))
}

fn key_type(cert: &X509Certificate<'_>) -> String {
    let spki = cert.public_key();
    match spki.parsed() {
        Ok(PublicKey::RSA(k)) => format!("RSA {}", k.key_size()),
        Ok(PublicKey::EC(k)) => format!("EC {}", k.key_size()),
        Ok(PublicKey::DSA(_)) => "DSA".to_string(),
        _ => match spki.algorithm.algorithm.to_id_string().as_str() {
            "1.3.101.112" => "Ed25519".to_string(),
            "1.3.101.113" => "Ed448".to_string(),
            oid => format!("OID {oid}"),
        },
    }
}

/// `2026-11-26T09:54:16Z`.
fn rfc3339(t: &ASN1Time) -> String {
    let t = t.to_datetime();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `text` cut to [`MAX_NAME`] bytes on a character boundary.
fn bounded(mut text: String) -> String {
    if text.len() > MAX_NAME {
        let mut end = MAX_NAME;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}
