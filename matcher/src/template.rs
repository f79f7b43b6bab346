//! Version, info, product and CPE templates: literal text with `$1`..`$9` standing for the
//! confirming regex's capture groups.

use regex::Captures;

/// A parsed template.
#[derive(Debug, Clone)]
pub(crate) struct Template {
    pieces: Vec<Piece>,
}

#[derive(Debug, Clone)]
enum Piece {
    Text(String),
    Group(usize),
}

impl Template {
    /// Parses `text`; `$$` is a literal `$`. Errors say what is wrong in a sentence.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut chars = text.chars();
        while let Some(c) = chars.next() {
            if c != '$' {
                literal.push(c);
                continue;
            }
            match chars.next() {
                Some('$') => literal.push('$'),
                Some(d @ '1'..='9') => {
                    if !literal.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut literal)));
                    }
                    pieces.push(Piece::Group(d as usize - '0' as usize));
                }
                _ => return Err("`$` must be followed by a group number 1-9 or another `$`".into()),
            }
        }
        if !literal.is_empty() {
            pieces.push(Piece::Text(literal));
        }
        Ok(Self { pieces })
    }

    /// The highest group number used, 0 when none.
    pub(crate) fn max_group(&self) -> usize {
        self.pieces
            .iter()
            .filter_map(|p| match p {
                Piece::Group(g) => Some(*g),
                Piece::Text(_) => None,
            })
            .max()
            .unwrap_or(0)
    }

    /// Fills the template; groups that did not participate are empty. `None` when the result
    /// is empty, or when it uses groups and all of them are empty (a missing version is better
    /// than a CPE with a blank version).
    pub(crate) fn render(&self, caps: Option<&Captures<'_>>, cpe: bool) -> Option<String> {
        let mut out = String::new();
        let mut groups = 0;
        let mut filled = 0;
        for piece in &self.pieces {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Group(g) => {
                    groups += 1;
                    let value = caps.and_then(|c| c.get(*g)).map_or("", |m| m.as_str().trim());
                    if !value.is_empty() {
                        filled += 1;
                    }
                    if cpe {
                        escape_cpe(value, &mut out);
                    } else {
                        out.push_str(value);
                    }
                }
            }
        }
        let out = out.trim();
        (!out.is_empty() && (groups == 0 || filled > 0)).then(|| out.to_string())
    }
}

/// CPE 2.3 formatted strings quote everything but letters, digits, `_`, `.` and `-` with a
/// backslash; a capture must not be able to add components.
fn escape_cpe(value: &str, out: &mut String) {
    for c in value.chars() {
        match c {
            'a'..='z' | '0'..='9' | '_' | '.' | '-' => out.push(c),
            'A'..='Z' => out.push(c.to_ascii_lowercase()),
            ' ' => out.push('_'),
            c if c.is_ascii_punctuation() => {
                out.push('\\');
                out.push(c);
            }
            // Control characters and non-ASCII have no place in a CPE.
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use regex::Regex;

    use super::*;

    #[test]
    fn renders_captures_and_literals() {
        let re = Regex::new(r"(\w+)/([\d.]+)(?: \((\w+)\))?").unwrap();
        let caps = re.captures("nginx/1.22.1").unwrap();
        let t = Template::parse("$1 v$2$$").unwrap();
        assert_eq!(t.render(Some(&caps), false).as_deref(), Some("nginx v1.22.1$"));
        assert_eq!(t.max_group(), 2);
        assert_eq!(Template::parse("$3").unwrap().render(Some(&caps), false), None);
        let caps = re.captures("Apache/2.4 (Debian)").unwrap();
        let cpe = Template::parse("cpe:2.3:a:x:$1:$2_$3:*").unwrap();
        assert_eq!(
            cpe.render(Some(&caps), true).as_deref(),
            Some("cpe:2.3:a:x:apache:2.4_debian:*")
        );
    }

    #[test]
    fn cpe_captures_cannot_add_components() {
        let re = Regex::new(r"v=(.*)").unwrap();
        let caps = re.captures("v=1:2:*\u{7}é").unwrap();
        let t = Template::parse("cpe:2.3:a:x:y:$1").unwrap();
        assert_eq!(t.render(Some(&caps), true).as_deref(), Some(r"cpe:2.3:a:x:y:1\:2\:\*"));
    }

    #[test]
    fn bad_templates_are_refused() {
        assert!(Template::parse("$").is_err());
        assert!(Template::parse("$x").is_err());
        assert!(Template::parse("$0").is_err());
    }
}
