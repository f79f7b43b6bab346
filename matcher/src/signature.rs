//! The signature file format and its validation into compiled signatures.
//!
//! A file holds `[[signature]]` tables:
//!
//! ```toml
//! [[signature]]
//! id = "ssh.openssh"                 # unique across all sources
//! service = "ssh"
//! product = "OpenSSH"                # may use $1.. like the templates below
//! vendor = "OpenBSD"
//! probe = "null"                     # whose response: null (banner), http, redis...
//! field = "ssh.ident"                # which field of it
//! anchors = ["OpenSSH_"]             # literals; taken from the regex's prefix when absent
//! regex = '^SSH-[\d.]+-OpenSSH_(\S+)(?:\s+(.+))?'
//! version = "$1"
//! info = "$2"
//! cpe = "cpe:2.3:a:openbsd:openssh:$1:*:*:*:*:*:*:*"
//! confidence = 95
//! ports = [22]
//! examples = [{ input = "SSH-2.0-OpenSSH_9.2p1 Debian-2", version = "9.2p1", info = "Debian-2" }]
//! negative_examples = ["SSH-2.0-dropbear_2022.83"]
//! ```

use std::cmp::Reverse;

use regex_syntax::hir::literal::{ExtractKind, Extractor};
use regex_syntax::hir::{Hir, HirKind};
use serde::Deserialize;

use crate::error::{LoadError, LoadErrorKind};
use crate::fields::is_known_field;
use crate::lazy_regex::{LazyRegex, SIZE_LIMIT};
use crate::template::Template;

/// Anchors shorter than this name too many responses to be worth indexing.
const MIN_ANCHOR: usize = 3;
/// A regex prefix that expands to more literals than this is not used as anchors.
const MAX_EXTRACTED: usize = 16;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSpec {
    #[serde(default)]
    signature: Vec<SignatureSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SignatureSpec {
    id: String,
    service: String,
    product: Option<String>,
    vendor: Option<String>,
    #[serde(default = "null_probe")]
    probe: String,
    field: String,
    anchors: Option<Vec<String>>,
    regex: Option<String>,
    version: Option<String>,
    info: Option<String>,
    cpe: Option<String>,
    #[serde(default = "default_confidence")]
    confidence: u8,
    #[serde(default)]
    ports: Vec<u16>,
    #[serde(default)]
    examples: Vec<Example>,
    #[serde(default)]
    negative_examples: Vec<String>,
}

fn null_probe() -> String {
    "null".into()
}

fn default_confidence() -> u8 {
    80
}

/// An input a signature must match, with what it must extract from it. Attributes left out
/// are not checked.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Example {
    /// The value of the signature's field.
    pub(crate) input: String,
    pub(crate) product: Option<String>,
    pub(crate) version: Option<String>,
    pub(crate) info: Option<String>,
    pub(crate) cpe: Option<String>,
}

/// A validated signature, ready to index.
#[derive(Debug)]
pub(crate) struct Signature {
    pub(crate) id: String,
    pub(crate) file: String,
    pub(crate) service: String,
    pub(crate) product: Option<Template>,
    pub(crate) vendor: Option<String>,
    pub(crate) probe: String,
    pub(crate) field: String,
    /// Literals, lowercase, one of which every matching value contains (ASCII case aside).
    /// Empty when the signature is tried on every value of its field.
    pub(crate) anchors: Vec<String>,
    pub(crate) regex: Option<LazyRegex>,
    pub(crate) version: Option<Template>,
    pub(crate) info: Option<Template>,
    pub(crate) cpe: Option<Template>,
    pub(crate) confidence: u8,
    pub(crate) ports: Vec<u16>,
    pub(crate) examples: Vec<Example>,
    pub(crate) negative_examples: Vec<String>,
    /// From a Recog database. Recog databases overlap by design (a specific fingerprint
    /// before a generic one) and Recog checks an example against its own fingerprint only,
    /// so these examples are not required to win across the whole set.
    pub(crate) recog: bool,
}

/// Parses and validates one source file.
pub(crate) fn load_file(file: &str, text: &str) -> Result<Vec<Signature>, LoadError> {
    let spec: FileSpec = toml::from_str(text).map_err(|e| LoadError {
        file: file.to_string(),
        id: None,
        kind: LoadErrorKind::Syntax(e.to_string()),
    })?;
    spec.signature
        .into_iter()
        .map(|s| {
            let id = s.id.clone();
            validate(file, s).map_err(|kind| LoadError {
                file: file.to_string(),
                id: Some(id),
                kind,
            })
        })
        .collect()
}

fn attribute(attribute: &'static str, problem: &str) -> LoadErrorKind {
    LoadErrorKind::Attribute { attribute, problem: problem.to_string() }
}

fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-/".contains(&b))
}

fn validate(file: &str, s: SignatureSpec) -> Result<Signature, LoadErrorKind> {
    if !is_name(&s.id) {
        return Err(attribute("id", "must be lowercase letters, digits and . _ - /"));
    }
    if !is_name(&s.service) {
        return Err(attribute("service", "must be lowercase letters, digits and . _ - /"));
    }
    if !is_name(&s.probe) {
        return Err(attribute("probe", "must be lowercase letters, digits and . _ - /"));
    }
    if !is_known_field(&s.field) {
        return Err(attribute("field", "is not a field the parsers produce"));
    }
    if s.confidence > 100 {
        return Err(attribute("confidence", "must be 0..=100"));
    }
    if s.examples.is_empty() {
        return Err(LoadErrorKind::NoExample);
    }
    let regex = s
        .regex
        .as_deref()
        .map(|r| {
            regex::RegexBuilder::new(r)
                .size_limit(SIZE_LIMIT)
                .build()
                .map_err(|e| LoadErrorKind::Regex(e.to_string()))
        })
        .transpose()?;
    let groups = regex.as_ref().map_or(0, |r| r.captures_len() - 1);
    let template = |t: Option<String>| -> Result<Option<Template>, LoadErrorKind> {
        let Some(t) = t else { return Ok(None) };
        let parsed = Template::parse(&t)
            .map_err(|problem| LoadErrorKind::Template { template: t.clone(), problem })?;
        if parsed.max_group() > groups {
            let problem =
                format!("uses ${} but the regex has {groups} group(s)", parsed.max_group());
            return Err(LoadErrorKind::Template { template: t, problem });
        }
        Ok(Some(parsed))
    };
    if let Some(cpe) = &s.cpe
        && (!cpe.starts_with("cpe:2.3:") || cpe.split(':').count() != 13)
    {
        return Err(attribute("cpe", "must be a CPE 2.3 formatted string of 13 components"));
    }
    let anchors = match (s.anchors, &s.regex) {
        (Some(anchors), _) => {
            if let Some(short) = anchors.iter().find(|a| a.len() < MIN_ANCHOR) {
                return Err(attribute(
                    "anchors",
                    &format!("`{short}` is shorter than {MIN_ANCHOR} bytes"),
                ));
            }
            anchors.iter().map(|a| a.to_ascii_lowercase()).collect()
        }
        (None, Some(r)) => extracted_anchors(r),
        (None, None) => Vec::new(),
    };
    if anchors.is_empty() && regex.is_none() {
        return Err(LoadErrorKind::Unconstrained);
    }
    Ok(Signature {
        product: template(s.product)?,
        version: template(s.version)?,
        info: template(s.info)?,
        cpe: template(s.cpe)?,
        id: s.id,
        file: file.to_string(),
        service: s.service,
        vendor: s.vendor,
        probe: s.probe,
        field: s.field,
        anchors,
        regex: regex.map(LazyRegex::compiled),
        confidence: s.confidence,
        ports: s.ports,
        examples: s.examples,
        negative_examples: s.negative_examples,
        recog: false,
    })
}

/// Literals one of which every match of `pattern` contains, lowercased (the automaton
/// ignores ASCII case): the literal prefixes, or when those are too short or too many, the
/// prefixes of the best later part of a top-level sequence (`^(\S+) ESMTP Exim` gives
/// ` esmtp exim`). Empty when nothing usable is found.
pub(crate) fn extracted_anchors(pattern: &str) -> Vec<String> {
    // Anchors match ASCII case-insensitively, so Unicode case folding (`s` and `ſ`) is left
    // out of the extraction rather than multiplying the literals. A pattern that byte mode
    // refuses (a non-ASCII character in a class, `[-–]`) is read as Unicode instead: its
    // literals are just as much part of every match.
    let parse = |unicode| {
        regex_syntax::ParserBuilder::new()
            .unicode(unicode)
            .utf8(unicode)
            .build()
            .parse(pattern)
            .ok()
    };
    let Some(hir) = parse(false).or_else(|| parse(true)) else { return Vec::new() };
    let prefix = prefix_anchors(&hir);
    if !prefix.is_empty() {
        return prefix;
    }
    // Every element of a top-level concatenation takes part in every match, so the literal
    // prefixes of any tail of it are anchors too; keep the set whose shortest is longest.
    let HirKind::Concat(parts) = hir.kind() else { return Vec::new() };
    (1..parts.len())
        .map(|start| prefix_anchors(&Hir::concat(parts[start..].to_vec())))
        .filter(|a| !a.is_empty())
        .max_by_key(|a| (a.iter().map(String::len).min().unwrap_or(0), Reverse(a.len())))
        .unwrap_or_default()
}

/// The literal prefixes of `hir`, when usable as anchors.
fn prefix_anchors(hir: &Hir) -> Vec<String> {
    // Classes wider than a case pair (`[0-9]`, `\w`) end the literal rather than multiply it.
    let seq = Extractor::new().kind(ExtractKind::Prefix).limit_class(2).extract(hir);
    let Some(literals) = seq.literals() else { return Vec::new() };
    // A literal that is not UTF-8 cannot be an anchor, and leaving it out would lose matches.
    let Some(mut anchors) = literals
        .iter()
        .map(|l| std::str::from_utf8(l.as_bytes()).ok().map(str::to_ascii_lowercase))
        .collect::<Option<Vec<String>>>()
    else {
        return Vec::new();
    };
    anchors.sort();
    anchors.dedup();
    // Text holding `- nextcloud` holds `nextcloud`: the longer one would only add hits.
    let anchors: Vec<String> = anchors
        .iter()
        .filter(|a| !anchors.iter().any(|b| b.len() < a.len() && a.contains(b.as_str())))
        .cloned()
        .collect();
    let usable = !anchors.is_empty()
        && anchors.len() <= MAX_EXTRACTED
        && anchors.iter().all(|a| a.len() >= MIN_ANCHOR);
    if usable { anchors } else { Vec::new() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_come_from_the_regex_prefix() {
        assert_eq!(extracted_anchors(r"^SSH-[\d.]+-(\S+)"), ["ssh-"]);
        let folded = extracted_anchors(r"(?i)^server: nginx");
        assert!(folded.len() == 1 && "server: nginx".starts_with(&folded[0]), "{folded:?}");
        assert_eq!(extracted_anchors(r"^(?:Foo|Bar)baz (\d+)"), ["barbaz ", "foobaz "]);
        assert!(extracted_anchors(r"^\d+ (\S+)").is_empty(), "no literal");
        assert_eq!(extracted_anchors(r"^(\S+) ESMTP Exim ([\d.]+)"), [" esmtp exim "]);
        assert_eq!(extracted_anchors(r"^\d+ (?:Foo|Bar)ish"), [" barish", " fooish"]);
        assert!(extracted_anchors(r"^ab").is_empty(), "too short");
        assert_eq!(extracted_anchors(r"(?:^|[-–] )Nextcloud$"), ["nextcloud"], "non-ASCII class");
    }
}
