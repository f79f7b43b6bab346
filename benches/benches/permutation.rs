//! Placeholder, replaced by the permutation benchmark.
fn main() {}
