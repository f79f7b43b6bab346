//! Criterion benchmarks for Sonde live in `benches/`; this library is empty on purpose.
