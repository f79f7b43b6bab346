//! `sonde signatures test`: run every signature's examples, built-in and the operator's.

use std::io::{self, Write};
use std::path::Path;

use anyhow::Context;
use sonde_matcher::SignatureSet;

use crate::cli::{SignaturesCommand, SignaturesTestArgs};
use crate::error::UsageError;

/// Runs a `sonde signatures` subcommand; returns the exit code.
pub fn run(command: &SignaturesCommand) -> anyhow::Result<i32> {
    match command {
        SignaturesCommand::Test(args) => test(args, &mut io::stdout().lock()),
    }
}

/// Compiles the built-in signatures with those in `args.dirs`, runs every example, writes one
/// line per failure and a summary. 0 when all pass, 1 when some fail; a file that does not
/// load is a usage error naming the file and the signature.
fn test(args: &SignaturesTestArgs, out: &mut impl Write) -> anyhow::Result<i32> {
    let mut files = Vec::new();
    for dir in &args.dirs {
        files.extend(read_dir(dir)?);
    }
    let sources = SignatureSet::builtin_sources()
        .iter()
        .copied()
        .chain(files.iter().map(|(name, text)| (name.as_str(), text.as_str())));
    let set = SignatureSet::from_sources(sources).map_err(|e| UsageError::new(e.to_string()))?;
    let failures = set.check_examples();
    for f in &failures {
        // Examples may hold control characters and binary protocol bytes: escape them.
        writeln!(
            out,
            "FAIL {}: {}: {}: input \"{}\"",
            f.file.escape_debug(),
            f.id,
            f.problem.escape_debug(),
            f.input.escape_debug()
        )?;
    }
    writeln!(
        out,
        "{} signatures from {} extra file(s), {} without a usable anchor: {} failure(s)",
        set.len(),
        files.len(),
        set.unanchored(),
        failures.len()
    )?;
    Ok(if failures.is_empty() { 0 } else { 1 })
}

/// The `*.toml` files of `dir`, sorted by name, as (path, text).
fn read_dir(dir: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| UsageError::new(format!("cannot read {}: {e}", dir.display())))?;
    let mut paths = Vec::new();
    for entry in entries {
        let path = entry.with_context(|| format!("listing {}", dir.display()))?.path();
        if path.extension().is_some_and(|e| e == "toml") && path.is_file() {
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

    const GOOD: &str = "[[signature]]\nid = \"local.acme\"\nservice = \"acme\"\n\
        field = \"banner\"\nregex = '^ACME v([0-9.]+)'\nversion = \"$1\"\n\
        examples = [{ input = \"ACME v2.1\", version = \"2.1\" }]\n";

    fn run_in(files: &[(&str, &str)]) -> (anyhow::Result<i32>, String) {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        let mut out = Vec::new();
        let args = SignaturesTestArgs { dirs: vec![dir.path().to_path_buf()] };
        let code = test(&args, &mut out);
        (code, String::from_utf8(out).unwrap())
    }

    #[test]
    fn passing_and_failing_examples_set_the_exit_code() {
        let (code, out) = run_in(&[("local.toml", GOOD), ("notes.txt", "ignored")]);
        assert_eq!(code.unwrap(), 0, "{out}");
        assert!(out.contains("from 1 extra file(s)") && out.ends_with(": 0 failure(s)\n"), "{out}");

        let wrong = GOOD
            .replace("version = \"2.1\"", "version = \"9.9\"")
            .replace("ACME v2.1\"", "ACME v2.1\\u0007\"");
        let (code, out) = run_in(&[("local.toml", &wrong)]);
        assert_eq!(code.unwrap(), 1, "{out}");
        assert!(
            out.contains("FAIL ") && out.contains("local.acme") && out.contains("\\u{7}"),
            "{out}"
        );
    }

    #[test]
    fn a_file_that_does_not_load_is_a_usage_error_naming_it() {
        let (code, _) = run_in(&[("bad.toml", &GOOD.replace("'^ACME v([0-9.]+)'", "'^ACME v(['"))]);
        let err = code.unwrap_err();
        assert!(err.is::<UsageError>());
        let message = err.to_string();
        assert!(message.contains("bad.toml") && message.contains("local.acme"), "{message}");
        let missing = SignaturesTestArgs { dirs: vec!["/nonexistent/sonde-signatures".into()] };
        assert!(test(&missing, &mut Vec::new()).unwrap_err().is::<UsageError>());
    }
}
