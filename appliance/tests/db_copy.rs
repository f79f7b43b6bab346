//! `sonde db migrate` and `sonde db copy` from the command line, from the test store (SQLite,
//! or PostgreSQL in the second pass) to SQLite (the PostgreSQL round trip is tested beside the
//! code, in `store/copy.rs`).

#![allow(clippy::unwrap_used)] // A failed unwrap is a failed test, with its location.

use crate::util::sonde::sonde;

#[test]
fn db_copy_moves_an_installation_and_refuses_to_overwrite() {
    let from = tempfile::tempdir().unwrap();
    let to = tempfile::tempdir().unwrap();
    // An admin and its token: rows in two tables that reference each other.
    crate::serve_api::token(from.path());
    let source = crate::util::store::store_url(from.path());
    let dest = format!("sqlite://{}/copy.db?mode=rwc", to.path().display());
    sonde(&["db", "migrate", "--database-url", &dest]).assert_success();

    let copied = sonde(&["db", "copy", "--from", &source, "--to", &dest]);
    copied.assert_success();
    assert!(copied.stdout.contains("Copied and checked"), "{}", copied.transcript());
    assert!(
        copied.stdout.lines().any(|l| l.starts_with("tokens") && l.contains(" 1 rows")),
        "{}",
        copied.transcript()
    );

    let again = sonde(&["db", "copy", "--from", &source, "--to", &dest]);
    assert_eq!(again.code, Some(1), "{}", again.transcript());
    assert!(again.stderr.contains("--force"), "{}", again.transcript());
    sonde(&["db", "copy", "--from", &source, "--to", &dest, "--force"]).assert_success();

    let bad = sonde(&["db", "copy", "--from", "mysql://h/db", "--to", &dest]);
    assert_eq!(bad.code, Some(2), "{}", bad.transcript());
    assert!(bad.stderr.contains("postgres://"), "{}", bad.transcript());
}
