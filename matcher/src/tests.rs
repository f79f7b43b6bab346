//! Tests over the whole built-in set and the loader.

use crate::{Identifier, LoadErrorKind, Response, SignatureSet};

#[test]
fn every_builtin_example_matches_and_every_negative_does_not() {
    let set = SignatureSet::builtin().unwrap();
    let failures = set.check_examples();
    for f in &failures {
        eprintln!("{}: {}: {:?}: {}", f.file, f.id, f.input, f.problem);
    }
    assert!(failures.is_empty(), "{} example failures", failures.len());
}
