//! Process limits a scanner needs.

/// Raises the open-file limit toward what `wanted` sockets need (plus headroom), up to the
/// hard limit; says so when it falls short so the operator knows why the rate is low.
pub fn raise_open_files(wanted: usize) {
    let wanted = wanted as u64 + 256;
    match rlimit::increase_nofile_limit(wanted) {
        Ok(got) if got < wanted => tracing::warn!(
            limit = got,
            wanted,
            "The open-file limit is below what the configured concurrency needs; raise it (LimitNOFILE=) or lower the concurrency."
        ),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "Cannot raise the open-file limit."),
    }
}
