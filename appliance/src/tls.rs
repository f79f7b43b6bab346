//! The console's TLS: the operator's certificate, or a self-signed one made at first start
//! and reused after.

use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::config::TlsSettings;

/// Folder of the self-signed certificate inside the data directory.
pub const TLS_DIR: &str = "tls";

/// File names of the self-signed certificate and its key.
pub const CERT_FILE: &str = "cert.pem";
/// See [`CERT_FILE`].
pub const KEY_FILE: &str = "key.pem";

/// Why TLS cannot be set up; each says which file and what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A certificate or key file cannot be read or holds no usable PEM.
    #[error(
        "cannot load {what} from {path}: {message}; give a PEM file (server.tls_cert / server.tls_key)"
    )]
    Load {
        /// `certificate` or `private key`.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// The self-signed certificate cannot be written.
    #[error("cannot write {path}: {source}; check that the data directory is writable")]
    Write {
        /// The file.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// Making the certificate failed.
    #[error("cannot make a self-signed certificate: {0}")]
    Generate(#[from] rcgen::Error),
    /// rustls refused the certificate and key (they do not match, or the key type is not
    /// supported).
    #[error("the certificate and key are not usable together: {0}")]
    Config(#[from] rustls::Error),
}

/// The server's TLS configuration for `settings`, making the self-signed certificate when
/// needed.
pub fn server_config(
    settings: &TlsSettings,
    data_dir: &Path,
    listen: SocketAddr,
) -> Result<rustls::ServerConfig, TlsError> {
    let (cert, key) = match settings {
        TlsSettings::Files { cert, key } => (cert.clone(), key.clone()),
        TlsSettings::SelfSigned => self_signed(data_dir, listen)?,
    };
    let chain = CertificateDer::pem_file_iter(&cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| TlsError::Load {
            what: "certificate",
            path: cert.clone(),
            message: e.to_string(),
        })?;
    if chain.is_empty() {
        return Err(TlsError::Load {
            what: "certificate",
            path: cert,
            message: "no certificate in it".into(),
        });
    }
    let key = PrivateKeyDer::from_pem_file(&key).map_err(|e| TlsError::Load {
        what: "private key",
        path: key.clone(),
        message: e.to_string(),
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// The self-signed certificate and key under `<data_dir>/tls/`, made when either is missing.
fn self_signed(data_dir: &Path, listen: SocketAddr) -> Result<(PathBuf, PathBuf), TlsError> {
    let dir = data_dir.join(TLS_DIR);
    let (cert, key) = (dir.join(CERT_FILE), dir.join(KEY_FILE));
    if cert.exists() && key.exists() {
        return Ok((cert, key));
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
        .map_err(|source| TlsError::Write { path: dir.clone(), source })?;
    let host = crate::commands::serve::hostname();
    let mut names = vec!["localhost".to_owned()];
    if host != "localhost" {
        names.push(host);
    }
    let mut params = rcgen::CertificateParams::new(names)?;
    params.distinguished_name.push(rcgen::DnType::CommonName, "Sonde appliance");
    let mut addresses = vec![IpAddr::V4(Ipv4Addr::LOCALHOST)];
    if !listen.ip().is_unspecified() && !addresses.contains(&listen.ip()) {
        addresses.push(listen.ip());
    }
    for address in addresses {
        params.subject_alt_names.push(rcgen::SanType::IpAddress(address));
    }
    let pair = rcgen::KeyPair::generate()?;
    let made = params.self_signed(&pair)?;
    // The key first: a certificate without its key would be reused and fail.
    write_private(&key, pair.serialize_pem().as_bytes())?;
    write_private(&cert, made.pem().as_bytes())?;
    tracing::info!(cert = %cert.display(), "Made a self-signed TLS certificate; browsers will ask to trust it once.");
    Ok((cert, key))
}

/// Writes `bytes` to `path` readable by the owner only, atomically: a crash leaves the old
/// file or none, never half a key.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), TlsError> {
    let error = |source| TlsError::Write { path: path.to_owned(), source };
    let partial = path.with_extension("pem.partial");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&partial)
        .map_err(error)?;
    file.write_all(bytes).and_then(|()| file.sync_all()).map_err(error)?;
    std::fs::rename(&partial, path).map_err(error)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    #[test]
    fn the_self_signed_certificate_is_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let listen: SocketAddr = "127.0.0.2:8443".parse().unwrap();
        server_config(&TlsSettings::SelfSigned, dir.path(), listen).unwrap();
        let tls = dir.path().join(TLS_DIR);
        for file in [CERT_FILE, KEY_FILE] {
            let mode = std::fs::metadata(tls.join(file)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{file}");
        }
        let first = std::fs::read(tls.join(CERT_FILE)).unwrap();
        server_config(&TlsSettings::SelfSigned, dir.path(), listen).unwrap();
        assert_eq!(std::fs::read(tls.join(CERT_FILE)).unwrap(), first, "reused on restart");
    }

    #[test]
    fn unreadable_or_empty_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "").unwrap();
        let listen: SocketAddr = "127.0.0.1:8443".parse().unwrap();
        for (cert, key) in
            [(dir.path().join("missing.pem"), empty.clone()), (empty.clone(), empty.clone())]
        {
            let settings = TlsSettings::Files { cert: cert.clone(), key };
            let e = server_config(&settings, dir.path(), listen).unwrap_err().to_string();
            assert!(e.contains(&cert.display().to_string()), "{e}");
        }
    }
}
