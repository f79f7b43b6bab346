//! Operator signature directories (`[identify] signatures_dirs`): Sonde TOML files and Rapid7
//! Recog XML databases, compiled with the built-in signatures when `sonde serve` starts, and
//! checked by `sonde validate` and `sonde signatures test`.

use std::path::{Path, PathBuf};

use sonde_matcher::{Identifier, SignatureSet};

use crate::error::UsageError;

/// What a signature directory may hold; other files (notes, backups) are ignored.
const EXTENSIONS: &[&str] = &["toml", "xml"];

/// The `*.toml` and `*.xml` files of every directory, each directory's sorted by name, as
/// (path, text). A directory or file that cannot be read is an error naming it.
pub fn read_sources(dirs: &[PathBuf]) -> Result<Vec<(String, String)>, UsageError> {
    let mut sources = Vec::new();
    for dir in dirs {
        sources.extend(read_dir(dir)?);
    }
    Ok(sources)
}

/// The built-in signatures compiled with those of `dirs`. With no directory, the built-in
/// set shared by the whole process.
pub fn identifier(dirs: &[PathBuf]) -> Result<Identifier, UsageError> {
    if dirs.is_empty() {
        return Ok(Identifier::builtin());
    }
    let files = read_sources(dirs)?;
    compile(&files).map(Identifier::new)
}

/// The built-in signatures compiled with `files`; an error names the file, the signature and
/// the problem.
pub fn compile(files: &[(String, String)]) -> Result<SignatureSet, UsageError> {
    let sources = SignatureSet::builtin_sources()
        .iter()
        .copied()
        .chain(files.iter().map(|(name, text)| (name.as_str(), text.as_str())));
    SignatureSet::from_sources(sources)
        .map_err(|e| UsageError::new(format!("signatures: {e}; fix or remove the file")))
}

fn read_dir(dir: &Path) -> Result<Vec<(String, String)>, UsageError> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        UsageError::new(format!(
            "cannot read signature directory {}: {e}; create it or remove it from \
             identify.signatures_dirs",
            dir.display()
        ))
    })?;
    let mut paths = Vec::new();
    for entry in entries {
        let path =
            entry.map_err(|e| UsageError::new(format!("listing {}: {e}", dir.display())))?.path();
        let wanted =
            path.extension().and_then(|e| e.to_str()).is_some_and(|e| EXTENSIONS.contains(&e));
        if wanted && path.is_file() {
            paths.push(path);
        }
    }
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p)
                .map_err(|e| UsageError::new(format!("cannot read {}: {e}", p.display())))?;
            Ok((p.display().to_string(), text))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const RECOG: &str = "<fingerprints matches=\"ssh.banner\" protocol=\"ssh\">\n\
        <fingerprint pattern=\"^AcmeSSH_([\\d.]+)$\"><description>Acme</description>\n\
        <example service.version=\"2.1\">AcmeSSH_2.1</example>\n\
        <param pos=\"0\" name=\"service.product\" value=\"AcmeSSH\"/>\n\
        <param pos=\"1\" name=\"service.version\"/></fingerprint></fingerprints>\n";

    #[test]
    fn directories_add_toml_and_recog_sources_to_the_builtins() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("acme.xml"), RECOG).unwrap();
        std::fs::write(dir.path().join("README.txt"), "not a source").unwrap();
        let id = identifier(&[dir.path().to_path_buf()]).unwrap();
        assert_eq!(id.signatures().len(), Identifier::builtin().signatures().len() + 1);
        let m = id
            .identify(&sonde_matcher::Observation {
                port: 22,
                banner: Some(b"SSH-2.0-AcmeSSH_2.1\r\n"),
            })
            .unwrap();
        assert_eq!((m.product.as_deref(), m.version.as_deref()), (Some("AcmeSSH"), Some("2.1")));
    }

    #[test]
    fn a_broken_file_or_missing_directory_fails_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("broken.xml"), RECOG.replace("pos=\"1\"", "pos=\"2\""))
            .unwrap();
        let err = identifier(&[dir.path().to_path_buf()]).unwrap_err().to_string();
        assert!(err.contains("broken.xml") && err.contains("line 2 (Acme)"), "{err}");
        let err = identifier(&["/nonexistent/sonde.d".into()]).unwrap_err().to_string();
        assert!(err.contains("/nonexistent/sonde.d"), "{err}");
    }
}
