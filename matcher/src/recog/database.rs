//! A Recog database: Recog's own semantics, and its fingerprints as Sonde signatures.

use super::ruby::{self, Flags};
use super::xml::{self, RawExample, RawParam};
use crate::error::{LoadError, LoadErrorKind};
use crate::fields::is_known_field;
use crate::lazy_regex::LazyRegex;
use crate::set::ExampleFailure;
use crate::signature::{Example, Signature, extracted_anchors};
use crate::template::Template;

/// Confidence of a Recog fingerprint: below Sonde's default (80), so that a curated
/// signature wins where both match, and above a port-number guess.
const RECOG_CONFIDENCE: u8 = 70;

/// A parsed and compiled Recog database (one XML file).
#[derive(Debug)]
pub struct RecogDatabase {
    file: String,
    /// The `matches` attribute (`ssh.banner`, `http_header.server`...).
    matches: String,
    service: String,
    /// Fingerprints whose pattern compiled, in file order.
    fingerprints: Vec<Fingerprint>,
    untranslatable: Vec<Untranslatable>,
    /// Examples of untranslatable fingerprints, which cannot be run.
    unrun_examples: usize,
}

/// A fingerprint whose Ruby pattern has no equivalent here; left out of matching.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Untranslatable {
    /// Source file.
    pub file: String,
    /// Line of the `<fingerprint>` element.
    pub line: usize,
    /// Its `<description>`.
    pub description: String,
    /// The pattern as written.
    pub pattern: String,
    /// Why it cannot be used.
    pub problem: String,
}

/// What running a database's examples with Recog's semantics found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecogReport {
    /// Fingerprints in the file.
    pub fingerprints: usize,
    /// Fingerprints compiled (the others are untranslatable).
    pub loaded: usize,
    /// Examples run.
    pub examples: usize,
    /// Examples that matched with every expected param.
    pub passed: usize,
    /// Examples not run: their input is in a separate file, or their fingerprint is
    /// untranslatable.
    pub not_run: usize,
    /// What did not behave as written.
    pub failures: Vec<ExampleFailure>,
}

#[derive(Debug)]
struct Fingerprint {
    line: usize,
    description: String,
    regex: LazyRegex,
    params: Vec<RawParam>,
    examples: Vec<RawExample>,
}

impl RecogDatabase {
    /// Parses `text` (the XML of file `file`) and compiles its patterns. Errors name the file,
    /// the fingerprint (line and description) and the problem; patterns that cannot be
    /// translated are not errors but listed by [`untranslatable`](Self::untranslatable).
    pub fn parse(file: &str, text: &str) -> Result<Self, LoadError> {
        let raw = xml::parse(text).map_err(|e| LoadError {
            file: file.to_string(),
            id: None,
            kind: LoadErrorKind::Syntax(format!("line {}: {}", e.line, e.problem)),
        })?;
        let service = raw
            .protocol
            .as_deref()
            .filter(|p| !p.trim().is_empty())
            .unwrap_or_else(|| raw.matches.split(['.', '_']).next().unwrap_or_default())
            .trim()
            .to_ascii_lowercase();
        let mut db = Self {
            file: file.to_string(),
            matches: raw.matches,
            service,
            fingerprints: Vec::new(),
            untranslatable: Vec::new(),
            unrun_examples: 0,
        };
        for fp in raw.fingerprints {
            let named = |problem: String| LoadError {
                file: file.to_string(),
                id: Some(fingerprint_name(fp.line, &fp.description)),
                kind: LoadErrorKind::Attribute { attribute: "fingerprint", problem },
            };
            let flags = Flags::parse(fp.flags.as_deref().unwrap_or("")).map_err(&named)?;
            let (regex, groups) = match ruby::compile(&fp.pattern, flags) {
                Ok(compiled) => compiled,
                Err(problem) => {
                    db.unrun_examples += fp.examples.len();
                    db.untranslatable.push(Untranslatable {
                        file: file.to_string(),
                        line: fp.line,
                        description: fp.description,
                        pattern: fp.pattern,
                        problem,
                    });
                    continue;
                }
            };
            if let Some(p) = fp.params.iter().find(|p| p.pos > groups) {
                return Err(named(format!(
                    "param `{}` takes group {} but the pattern has {groups}",
                    p.name, p.pos
                )));
            }
            db.fingerprints.push(Fingerprint {
                line: fp.line,
                description: fp.description,
                regex,
                params: fp.params,
                examples: fp.examples,
            });
        }
        Ok(db)
    }

    /// Fingerprints compiled.
    pub fn len(&self) -> usize {
        self.fingerprints.len()
    }

    /// Whether no fingerprint compiled.
    pub fn is_empty(&self) -> bool {
        self.fingerprints.is_empty()
    }

    /// Fingerprints left out because their pattern cannot be translated.
    pub fn untranslatable(&self) -> &[Untranslatable] {
        &self.untranslatable
    }

    /// Recog's answer for `text`: the params of the first fingerprint, in file order, that
    /// matches; `None` when none does.
    pub fn recognize(&self, text: &str) -> Option<Vec<(String, String)>> {
        self.fingerprints.iter().find_map(|fp| fp.params_for(text))
    }

    /// Runs every example against its own fingerprint, as Recog's `recog_verify` does: the
    /// pattern must match and yield every param the example names, with that value.
    pub fn check_examples(&self) -> RecogReport {
        let mut report = RecogReport {
            fingerprints: self.fingerprints.len() + self.untranslatable.len(),
            loaded: self.fingerprints.len(),
            not_run: self.unrun_examples,
            ..RecogReport::default()
        };
        for fp in &self.fingerprints {
            let id = fingerprint_name(fp.line, &fp.description);
            for ex in &fp.examples {
                let Some(input) = &ex.input else {
                    report.not_run += 1;
                    continue;
                };
                report.examples += 1;
                let fail = |problem: String| ExampleFailure {
                    file: self.file.clone(),
                    id: id.clone(),
                    input: input.clone(),
                    problem,
                };
                let Some(params) = fp.params_for(input) else {
                    report.failures.push(fail("does not match".into()));
                    continue;
                };
                let mut ok = true;
                for (name, want) in &ex.expected {
                    let got = params.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
                    if got != Some(want.as_str()) {
                        ok = false;
                        report.failures.push(fail(format!("{name}: want {want:?}, got {got:?}")));
                    }
                }
                report.passed += usize::from(ok);
            }
        }
        report
    }

    /// The fingerprints as Sonde signatures, in file order, targeting the field Recog's
    /// `matches` names.
    pub(crate) fn into_signatures(self) -> Result<Vec<Signature>, LoadError> {
        let Some((probe, field, ports)) = target(&self.matches) else {
            return Err(LoadError {
                file: self.file,
                id: None,
                kind: LoadErrorKind::Attribute {
                    attribute: "matches",
                    problem: format!(
                        "`{}` names no field Sonde observes; supported: {}",
                        self.matches, SUPPORTED
                    ),
                },
            });
        };
        let stem = stem(&self.file);
        let mut out = Vec::with_capacity(self.fingerprints.len());
        for fp in self.fingerprints {
            let id = fingerprint_name(fp.line, &fp.description);
            let template = |names: &[&str]| -> Result<Option<Template>, LoadError> {
                let Some(text) = names.iter().find_map(|n| param_template(&fp.params, n)) else {
                    return Ok(None);
                };
                Template::parse(&text).map(Some).map_err(|problem| LoadError {
                    file: self.file.clone(),
                    id: Some(id.clone()),
                    kind: LoadErrorKind::Template { template: text, problem },
                })
            };
            let cpe = ["service.cpe23", "os.cpe23", "hw.cpe23"]
                .iter()
                .find_map(|n| param_template(&fp.params, n))
                .and_then(|t| cpe23(&t))
                .map(|t| Template::parse(&t))
                .transpose()
                .ok()
                .flatten();
            let info = info_template(&fp.params).and_then(|t| Template::parse(&t).ok());
            let vendor = fp
                .params
                .iter()
                .find(|p| p.name == "service.vendor" && p.pos == 0)
                .and_then(|p| p.value.clone());
            let examples = fp
                .examples
                .iter()
                .filter_map(|ex| {
                    let want =
                        |n: &str| ex.expected.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
                    Some(Example {
                        input: ex.input.clone()?,
                        product: want("service.product"),
                        version: want("service.version"),
                        info: None,
                        cpe: None,
                    })
                })
                .collect();
            out.push(Signature {
                id: format!("recog.{stem}.{}", fp.line),
                file: self.file.clone(),
                service: self.service.clone(),
                product: template(&["service.product", "service.family"])?,
                vendor,
                probe: probe.to_string(),
                field: field.clone(),
                anchors: extracted_anchors(fp.regex.as_str()),
                version: template(&["service.version"])?,
                info,
                cpe,
                regex: Some(fp.regex),
                confidence: RECOG_CONFIDENCE,
                ports: ports.to_vec(),
                examples,
                negative_examples: Vec::new(),
                recog: true,
            });
        }
        Ok(out)
    }
}

impl Fingerprint {
    /// Recog's params for `text`: fixed values and captures (groups that did not take part
    /// are left out), then `{name}` in fixed values replaced by that param's value.
    fn params_for(&self, text: &str) -> Option<Vec<(String, String)>> {
        let caps = self.regex.captures(text)?;
        let mut params: Vec<(String, String)> = self
            .params
            .iter()
            .filter_map(|p| {
                let value = if p.pos == 0 {
                    p.value.clone()?
                } else {
                    caps.get(p.pos)?.as_str().to_string()
                };
                Some((p.name.clone(), value))
            })
            .collect();
        let snapshot = params.clone();
        for (name, value) in &mut params {
            let fixed = self.params.iter().any(|p| &p.name == name && p.pos == 0);
            if fixed && value.contains('{') {
                *value = interpolate(value, |key| {
                    snapshot.iter().find(|(n, _)| n == key).map(|(_, v)| v.clone())
                });
            }
        }
        Some(params)
    }
}

/// Recog `matches` values Sonde can apply, for the error message.
const SUPPORTED: &str = "ssh.banner, ftp.banner, smtp.banner, pop.banner, imap.banner, \
    nntp.banner, telnet.banner, html_title, http_header.<name> (server, cookie, wwwauth...)";

/// (probe, field, usual ports) for a Recog `matches` value. The ports rank a database's
/// fingerprints first on its own protocol's ports, since FTP and SMTP greetings look alike.
fn target(matches: &str) -> Option<(&'static str, String, &'static [u16])> {
    let reply = |ports: &'static [u16]| Some(("null", "banner.reply".to_string(), ports));
    match matches {
        "ssh.banner" => Some(("null", "ssh.software".into(), &[22])),
        "ftp.banner" => reply(&[21]),
        "smtp.banner" => reply(&[25, 465, 587]),
        "pop.banner" => reply(&[110, 995]),
        "imap.banner" => reply(&[143, 993]),
        "nntp.banner" => reply(&[119, 563]),
        "telnet.banner" => Some(("null", "banner".into(), &[23])),
        "html_title" => Some(("http", "http.title".into(), &[80, 443, 8080, 8443])),
        "http_header.cookie" => {
            Some(("http", "http.header.set-cookie".into(), &[80, 443, 8080, 8443]))
        }
        "http_header.wwwauth" => {
            Some(("http", "http.header.www-authenticate".into(), &[80, 443, 8080, 8443]))
        }
        other => {
            let header = other.strip_prefix("http_header.")?.to_ascii_lowercase();
            let field = format!("http.header.{header}");
            is_known_field(&field).then_some(("http", field, &[80, 443, 8080, 8443]))
        }
    }
}

/// How errors and reports name a fingerprint: its line and description.
fn fingerprint_name(line: usize, description: &str) -> String {
    if description.is_empty() {
        format!("line {line}")
    } else {
        format!("line {line} ({description})")
    }
}

/// The file name without directories and extension, as an id part.
fn stem(file: &str) -> String {
    let name = file.rsplit(['/', '\\']).next().unwrap_or(file);
    let name = name.strip_suffix(".xml").unwrap_or(name);
    name.chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// `{name}` replaced by `lookup(name)`, empty when it has no value (as Recog does).
fn interpolate(value: &str, lookup: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else { break };
        out.push_str(&rest[..open]);
        out.push_str(&lookup(&rest[open + 1..open + close]).unwrap_or_default());
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    out
}

/// The param `name` as a Sonde template: `$N` for a capture, its text for a fixed value
/// (with `{other}` replaced by the other param's template).
fn param_template(params: &[RawParam], name: &str) -> Option<String> {
    let p = params.iter().find(|p| p.name == name)?;
    if p.pos > 9 {
        return None;
    }
    if p.pos > 0 {
        return Some(format!("${}", p.pos));
    }
    let value = p.value.as_deref()?.replace('$', "$$");
    let text = interpolate(&value, |key| {
        let other = params.iter().find(|o| o.name == key && o.name != name)?;
        if other.pos > 0 && other.pos <= 9 {
            Some(format!("${}", other.pos))
        } else {
            other.value.as_ref().map(|v| v.replace('$', "$$"))
        }
    });
    (!text.is_empty()).then_some(text)
}

/// `os.*` and `hw.*` params as one info template: `Ubuntu Linux 10.04; HP iLO`.
fn info_template(params: &[RawParam]) -> Option<String> {
    let part = |names: &[&str]| {
        let mut words: Vec<String> = Vec::new();
        for n in names {
            if let Some(t) = param_template(params, n)
                && !words.contains(&t)
            {
                words.push(t);
            }
        }
        words.join(" ")
    };
    let parts: Vec<String> = [
        part(&["os.vendor", "os.product", "os.version"]),
        part(&["hw.vendor", "hw.product", "hw.version"]),
    ]
    .into_iter()
    .filter(|p| !p.is_empty())
    .collect();
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// A Recog CPE (2.2 URI `cpe:/a:vendor:product:version` or already 2.3) as a CPE 2.3
/// formatted template of 13 components; `None` when it is neither.
fn cpe23(template: &str) -> Option<String> {
    if template.starts_with("cpe:2.3:") {
        return (template.split(':').count() == 13).then(|| template.to_string());
    }
    let rest = template.strip_prefix("cpe:/")?;
    let mut parts: Vec<&str> =
        rest.split(':').map(|p| if p.is_empty() { "*" } else { p }).collect();
    if parts.len() > 11 || parts.len() < 2 {
        return None;
    }
    parts.resize(11, "*");
    Some(format!("cpe:2.3:{}", parts.join(":")))
}
