//! Criterion benchmarks for Sonde live in `benches/`; this library holds what they share with
//! the comparison scripts.
//!
//! # Layout
//! - [`matcher_inputs`]: inputs and signature sources of the matcher benchmark.

pub mod matcher_inputs;
