//! A confirming regex compiled on its first use.
//!
//! Compiling is the dominant cost of loading a large database (Recog patterns with
//! multi-line anchors and Unicode classes take around half a millisecond each), while a scan
//! confirms only the few signatures whose anchors hit. Syntax is still checked at load time,
//! so a broken pattern is reported with its file; only the automaton is built later.

use std::fmt;
use std::sync::OnceLock;

use regex::{Captures, Regex, RegexBuilder};

/// Largest compiled program accepted for one pattern.
pub(crate) const SIZE_LIMIT: usize = 1 << 20;

/// A regex, compiled now or on the first match.
pub(crate) struct LazyRegex {
    pattern: String,
    /// `None` inside when the pattern parsed but its automaton exceeds [`SIZE_LIMIT`]: the
    /// signature then never matches, which `check_examples` reports.
    compiled: OnceLock<Option<Regex>>,
}

impl LazyRegex {
    /// An already compiled regex.
    pub(crate) fn compiled(regex: Regex) -> Self {
        let pattern = regex.as_str().to_string();
        Self { pattern, compiled: OnceLock::from(Some(regex)) }
    }

    /// Checks `pattern`'s syntax now and compiles it on first use; returns it with its
    /// number of capture groups (group 0 aside).
    pub(crate) fn deferred(pattern: String) -> Result<(Self, usize), String> {
        let hir = regex_syntax::ParserBuilder::new()
            .build()
            .parse(&pattern)
            .map_err(|e| e.to_string().lines().last().unwrap_or_default().trim().to_string())?;
        let groups = hir.properties().explicit_captures_len();
        Ok((Self { pattern, compiled: OnceLock::new() }, groups))
    }

    /// The pattern as compiled.
    pub(crate) fn as_str(&self) -> &str {
        &self.pattern
    }

    /// The compiled regex, building it on the first call; `None` past the size limit.
    pub(crate) fn regex(&self) -> Option<&Regex> {
        self.compiled
            .get_or_init(|| RegexBuilder::new(&self.pattern).size_limit(SIZE_LIMIT).build().ok())
            .as_ref()
    }

    /// [`Regex::captures`], compiling first if needed.
    pub(crate) fn captures<'h>(&self, text: &'h str) -> Option<Captures<'h>> {
        self.regex()?.captures(text)
    }
}

impl fmt::Debug for LazyRegex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("LazyRegex").field(&self.pattern).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_is_checked_now_and_size_on_first_use() {
        let (re, groups) = LazyRegex::deferred(r"^a(b)(?:c)(?<d>d)$".into()).unwrap();
        assert_eq!(groups, 2);
        assert!(re.compiled.get().is_none(), "not compiled before use");
        assert_eq!(re.captures("abcd").map(|c| c[2].to_string()).as_deref(), Some("d"));
        assert!(LazyRegex::deferred("a(".into()).is_err());
        let (huge, _) = LazyRegex::deferred(r"\w{1000}\w{1000}\w{1000}".into()).unwrap();
        assert!(huge.captures("x").is_none(), "too large to compile: never matches");
    }
}
