//! Errors of the binary: which ones are the operator's to fix (exit 2) and which are not.

/// Input the operator must fix: a bad target, port, flag or config value. `main` exits 2.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct UsageError {
    message: String,
}

impl UsageError {
    /// A usage error with a message that says what is wrong and what to do.
    pub fn new(message: impl Into<String>) -> Self {
        Self { message: message.into() }
    }
}

/// Exit code of `sonde` for an error chain: 2 when the input was wrong, 1 otherwise.
pub fn exit_code(error: &anyhow::Error) -> i32 {
    if error.chain().any(|e| {
        e.is::<UsageError>()
            || e.is::<sonde_scanner::TargetError>()
            || e.is::<sonde_scanner::PortError>()
    }) {
        2
    } else {
        1
    }
}

/// The error chain as one line: `outer: inner: root`.
pub fn one_line(error: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in error.chain() {
        let text = cause.to_string().replace('\n', " ");
        // anyhow contexts often repeat their source's text; keep each part once.
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
    }
    parts.join(": ")
}
