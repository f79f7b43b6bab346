//! Ruby regex syntax to the `regex` crate's.
//!
//! Recog compiles its patterns with Ruby's `Regexp`, where `^` and `$` always match at line
//! ends, `\Z` allows one final newline, `\h` is a hex digit and `\<` is a plain `<`. The
//! `regex` crate reads those differently or not at all, and its `\d`, `\w`, `\s` are Unicode
//! where Ruby's are ASCII, so they are rewritten here; the rest
//! of the syntax is shared. What has no equivalent in a linear-time engine (backreferences,
//! lookaround, atomic groups, possessive quantifiers, `\G`, `\K`) is refused with a reason.

use crate::lazy_regex::LazyRegex;

/// Recog's `flags` attribute: `REG_ICASE|REG_MULTILINE|REG_DOT_NEWLINE` (any order).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Flags {
    pub(crate) icase: bool,
    /// Ruby's `MULTILINE`, which `REG_MULTILINE` and `REG_DOT_NEWLINE` both select: `.`
    /// matches a newline (the `regex` crate's `s` flag, not its `m`).
    pub(crate) dot_newline: bool,
}

impl Flags {
    /// Parses the attribute; unknown flag names are an error naming them.
    pub(crate) fn parse(attr: &str) -> Result<Self, String> {
        let mut flags = Self::default();
        for name in attr.split('|').map(str::trim).filter(|n| !n.is_empty()) {
            match name {
                "REG_ICASE" => flags.icase = true,
                "REG_MULTILINE" | "REG_DOT_NEWLINE" => flags.dot_newline = true,
                "REG_LINE_ANY_CRLF" => {}
                other => {
                    return Err(format!(
                        "unknown flag `{other}`: use REG_ICASE, REG_MULTILINE or REG_DOT_NEWLINE"
                    ));
                }
            }
        }
        Ok(flags)
    }
}

/// `pattern` with `flags`, rewritten for the `regex` crate: the text to compile.
pub(crate) fn translate(pattern: &str, flags: Flags) -> Result<String, String> {
    // Ruby's `^`/`$` are always line anchors: the `m` flag gives the `regex` crate the same.
    let mut out = String::from("(?m");
    if flags.icase {
        out.push('i');
    }
    if flags.dot_newline {
        out.push('s');
    }
    out.push(')');
    let mut chars = pattern.chars().peekable();
    // Inside `[...]`: escapes expand differently there.
    let mut in_class = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let Some(e) = chars.next() else {
                    return Err("ends with a lone backslash".into());
                };
                match (e, in_class) {
                    ('Z', false) => out.push_str(r"(?:\n?\z)"),
                    ('h', false) => out.push_str("[0-9a-fA-F]"),
                    ('h', true) => out.push_str("0-9a-fA-F"),
                    ('H', false) => out.push_str("[^0-9a-fA-F]"),
                    ('e', _) => out.push_str(r"\x1B"),
                    // Ruby's `\d`, `\w` and `\s` are ASCII; ASCII classes also compile to
                    // far smaller automata than Unicode ones.
                    ('d', false) => out.push_str("[0-9]"),
                    ('d', true) => out.push_str("0-9"),
                    ('D', false) => out.push_str("[^0-9]"),
                    ('w', false) => out.push_str("[0-9A-Za-z_]"),
                    ('w', true) => out.push_str("0-9A-Za-z_"),
                    ('W', false) => out.push_str("[^0-9A-Za-z_]"),
                    ('s', false) => out.push_str(r"[\t\n\x0B\x0C\r ]"),
                    ('s', true) => out.push_str(r"\t\n\x0B\x0C\r "),
                    ('S', false) => out.push_str(r"[^\t\n\x0B\x0C\r ]"),
                    ('<' | '>' | '/' | '"' | '\'' | '%' | '@' | '=' | '!' | ',' | ';' | ':', _) => {
                        // Plain punctuation in Ruby; `\<`/`\>` are word boundaries here.
                        out.push_str(&regex::escape(&e.to_string()));
                    }
                    ('G', _) => return Err(r"`\G` (match start anchor) has no equivalent".into()),
                    ('K', _) => return Err(r"`\K` (keep out) has no equivalent".into()),
                    ('1'..='9', false) => {
                        return Err(format!("backreference `\\{e}` needs backtracking"));
                    }
                    ('k', _) if chars.peek() == Some(&'<') => {
                        return Err(r"named backreference `\k<...>` needs backtracking".into());
                    }
                    _ => {
                        out.push('\\');
                        out.push(e);
                    }
                }
            }
            '[' if !in_class => {
                in_class = true;
                out.push('[');
                // A `]` or `^]` right after the opening bracket is a literal.
                if chars.peek() == Some(&'^') {
                    out.push(chars.next().unwrap_or('^'));
                }
                if chars.peek() == Some(&']') {
                    chars.next();
                    out.push_str(r"\]");
                }
            }
            '[' => {
                // Ruby allows a bare `[` inside a class (and nested classes, which Recog does
                // not use); the `regex` crate reads `[` there as a nested class.
                if chars.peek() == Some(&':') {
                    out.push('[');
                } else {
                    out.push_str(r"\[");
                }
            }
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            '(' if !in_class && chars.peek() == Some(&'?') => {
                let rest: String = chars.clone().take(4).collect();
                if ["?=", "?!", "?<=", "?<!"].iter().any(|p| rest.starts_with(p)) {
                    return Err("lookaround needs backtracking".into());
                }
                if rest.starts_with("?>") {
                    return Err("atomic group `(?>...)` needs backtracking".into());
                }
                out.push('(');
            }
            '+' if !in_class && ends_with_quantifier(&out) => {
                return Err("possessive quantifier needs backtracking".into());
            }
            _ => out.push(c),
        }
    }
    Ok(out)
}

/// Whether `out` ends with a quantifier, so that a following `+` makes it possessive.
fn ends_with_quantifier(out: &str) -> bool {
    let escaped = out.ends_with("\\*") || out.ends_with("\\+") || out.ends_with("\\?");
    !escaped
        && (out.ends_with('*') || out.ends_with('+') || out.ends_with('?'))
        && !out.ends_with("(?")
}

/// Translates `pattern` and checks its syntax; the automaton is built on first use. Returns
/// the regex and its number of capture groups.
pub(crate) fn compile(pattern: &str, flags: Flags) -> Result<(LazyRegex, usize), String> {
    LazyRegex::deferred(translate(pattern, flags)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn re(pattern: &str, flags: Flags) -> regex::Regex {
        let (lazy, _) = compile(pattern, flags).unwrap_or_else(|e| panic!("{pattern}: {e}"));
        lazy.regex().unwrap_or_else(|| panic!("{pattern}: too large")).clone()
    }

    #[test]
    fn ruby_semantics_are_kept() {
        let plain = Flags::default();
        assert!(re(r"^b$", plain).is_match("a\nb\nc"), "Ruby's ^ and $ are line anchors");
        assert!(re(r"\Aab\Z", plain).is_match("ab\n"));
        assert!(!re(r"\Aab\Z", plain).is_match("ab\n\n"));
        assert!(re(r"^\h+[\h-]$", plain).is_match("00fF-"));
        assert!(re(r"\<b\>", plain).is_match("<b>"));
        assert!(re(r"a\/b\e", plain).is_match("a/b\x1b"));
        assert!(re(r"[]a]+", plain).is_match("]]"));
        assert!(re(r"[\w[]+", plain).is_match("a[b"));
        assert!(re(r"[[:digit:]]", plain).is_match("7"));
        assert!(re(r"(?<v>\d+)", plain).captures("x12").is_some_and(|c| &c["v"] == "12"));
        assert!(!re(r"a.b", plain).is_match("a\nb"));
        assert!(re(r"^\w+\s\d[\w.]*$", plain).is_match("ab_1 2x.y"));
        assert!(!re(r"^\w$", plain).is_match("é"), "Ruby's \\w is ASCII");
        assert!(!re(r"^\d$", plain).is_match("٣"), "Ruby's \\d is ASCII");
        let dot = Flags::parse("REG_DOT_NEWLINE|REG_ICASE").unwrap();
        assert!(re(r"a.b", dot).is_match("A\nB"));
    }

    #[test]
    fn what_needs_backtracking_is_refused_with_a_reason() {
        for (pattern, reason) in [
            (r"(a)\1", "backreference"),
            (r"a(?=b)", "lookaround"),
            (r"a(?<!b)", "lookaround"),
            (r"(?>a+)", "atomic"),
            (r"a++", "possessive"),
            (r"\Ga", r"\G"),
            ("a\\", "backslash"),
            (r"a{2", ""),
        ] {
            match compile(pattern, Flags::default()) {
                Ok(_) if pattern == r"a{2" => {}
                Ok(_) => panic!("{pattern} compiled"),
                Err(e) => assert!(e.contains(reason), "{pattern}: {e}"),
            }
        }
        assert!(re(r"a+?b*?\+", Flags::default()).is_match("ab+"), "lazy is not possessive");
        assert!(Flags::parse("REG_ICASE|REG_FOO").unwrap_err().contains("REG_FOO"));
    }
}
