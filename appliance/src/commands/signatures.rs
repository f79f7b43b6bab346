//! `sonde signatures test`: run every signature's examples, built-in and the operator's.

use std::io::{self, Write};

use sonde_matcher::{ExampleFailure, RecogDatabase, RecogReport};

use crate::cli::{SignaturesCommand, SignaturesTestArgs};
use crate::error::UsageError;
use crate::signature_dirs;

/// Runs a `sonde signatures` subcommand; returns the exit code.
pub fn run(command: &SignaturesCommand) -> anyhow::Result<i32> {
    match command {
        SignaturesCommand::Test(args) => test(args, &mut io::stdout().lock()),
    }
}

/// Compiles the built-in signatures with the `*.toml` and Recog `*.xml` files in
/// `args.dirs`, runs every example, writes one line per failure and a summary. Sonde
/// signatures are checked through the compiled set; Recog examples with Recog's semantics
/// (their own fingerprint must match and yield every param the example names). 0 when all
/// pass, 1 when some fail; a file that does not load is a usage error naming the file and the
/// signature or fingerprint.
fn test(args: &SignaturesTestArgs, out: &mut impl Write) -> anyhow::Result<i32> {
    let files = signature_dirs::read_sources(&args.dirs)?;
    let set = signature_dirs::compile(&files)?;
    let is_recog = |file: &str| file.ends_with(".xml");
    let mut failures: Vec<ExampleFailure> =
        set.check_examples().into_iter().filter(|f| !is_recog(&f.file)).collect();
    let mut recog = RecogReport::default();
    for (file, text) in files.iter().filter(|(f, _)| is_recog(f)) {
        let db = RecogDatabase::parse(file, text).map_err(|e| UsageError::new(e.to_string()))?;
        let report = db.check_examples();
        recog.fingerprints += report.fingerprints;
        recog.loaded += report.loaded;
        recog.examples += report.examples;
        recog.passed += report.passed;
        recog.not_run += report.not_run;
        failures.extend(report.failures);
    }
    for u in set.untranslatable() {
        writeln!(
            out,
            "SKIP {}:{}: {}: pattern cannot be translated: {}",
            u.file.escape_debug(),
            u.line,
            u.description.escape_debug(),
            u.problem.escape_debug()
        )?;
    }
    for f in &failures {
        // Examples may hold control characters and binary protocol bytes: escape them.
        writeln!(
            out,
            "FAIL {}: {}: {}: input \"{}\"",
            f.file.escape_debug(),
            f.id.escape_debug(),
            f.problem.escape_debug(),
            f.input.escape_debug()
        )?;
    }
    if recog.fingerprints > 0 {
        writeln!(
            out,
            "Recog: {} fingerprints, {} loaded, {} untranslatable; {}/{} examples passed, {} not run",
            recog.fingerprints,
            recog.loaded,
            recog.fingerprints - recog.loaded,
            recog.passed,
            recog.examples,
            recog.not_run
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
    fn recog_databases_run_with_recog_semantics() {
        // The checked-in Recog corpus of the matcher crate, as an operator directory.
        let corpus =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../matcher/tests/recog");
        let mut out = Vec::new();
        let args = SignaturesTestArgs { dirs: vec![corpus] };
        let code = test(&args, &mut out).unwrap();
        let out = String::from_utf8(out).unwrap();
        assert_eq!(code, 0, "{out}");
        assert!(out.contains("SKIP ") && out.contains("lookaround"), "{out}");
        assert!(out.contains(", 1 untranslatable; 35/35 examples passed, 2 not run"), "{out}");

        let recog = "<fingerprints matches=\"ftp.banner\" protocol=\"ftp\">\n\
            <fingerprint pattern=\"^AcmeFTP ([\\d.]+)$\"><description>Acme</description>\n\
            <example service.version=\"9\">AcmeFTP 2.1</example>\n\
            <param pos=\"1\" name=\"service.version\"/></fingerprint></fingerprints>\n";
        let (code, out) = run_in(&[("acme.xml", recog)]);
        assert_eq!(code.unwrap(), 1, "{out}");
        assert!(
            out.contains("FAIL ")
                && out.contains("line 2 (Acme)")
                && out.contains("service.version"),
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
