//! The compiled signature database.
//!
//! Per probe, one Aho-Corasick automaton over the anchors of the signatures that target any
//! field of it, run once over each response; a hit inside a field's range names candidate
//! signatures, which are then confirmed by their regex in priority order. Values that are not
//! ranges of a response (the `tls.*` facts, examples) go through a per (probe, field)
//! automaton instead, with the same candidates. Signatures without a usable anchor are candidates for every value of
//! their field. Priority: higher confidence first; at equal confidence, signatures that list
//! the observed port first; then source order.

use std::cmp::Reverse;

use aho_corasick::{AhoCorasick, MatchKind};
// foldhash rather than SipHash: a response's field names are looked up a dozen times per
// identification, and the maps' keys come from the signatures, not from the network.
use foldhash::HashMap;
use regex::Captures;

use crate::error::{LoadError, LoadErrorKind};
use crate::fields::{Fields, Response, TlsFacts};
use crate::identify::{Evidence, ServiceMatch};
use crate::lazy_regex::LazyRegex;
use crate::recog::{RecogDatabase, Untranslatable};
use crate::response_index::{PendingProbe, ProbeIndex, RangeValue};
use crate::signature::{Signature, load_file};

/// Longest evidence excerpt kept, in bytes.
const MAX_EXCERPT: usize = 256;

/// Signatures compiled for matching. Immutable once built; share it behind an `Arc`.
#[derive(Debug)]
pub struct SignatureSet {
    /// In priority order; candidates are indexes into it.
    signatures: Vec<Signature>,
    /// probe -> field -> index.
    index: HashMap<String, HashMap<String, FieldIndex>>,
    /// probe -> the anchors of all its fields, to scan a response once.
    by_probe: HashMap<String, ProbeIndex>,
    unanchored: usize,
    /// service -> the probes (other than `null`) whose signatures name a product of that
    /// service, best first: what a soft match asks for next.
    by_service: HashMap<String, Vec<String>>,
    /// Recog fingerprints left out, and why.
    untranslatable: Vec<Untranslatable>,
}

/// An example of a signature that does not behave as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExampleFailure {
    /// Source file.
    pub file: String,
    /// Signature id.
    pub id: String,
    /// The example input.
    pub input: String,
    /// What went wrong.
    pub problem: String,
}

#[derive(Debug, Default)]
struct FieldIndex {
    automaton: Option<AhoCorasick>,
    /// Per automaton pattern, the signatures whose anchor it is.
    by_pattern: Vec<Vec<u32>>,
    /// Signatures tried on every value of this field.
    always: Vec<u32>,
}

/// While compiling, per (probe, field): the distinct anchors and, per anchor, the signatures
/// it names.
type PendingAnchors<'a> = HashMap<(&'a str, &'a str), (Vec<String>, Vec<Vec<u32>>)>;

/// A field value to try signatures on.
struct Value<'v> {
    probe: &'v str,
    field: &'v str,
    text: &'v str,
    /// Received inside TLS: an `http` service found there is `https`.
    over_tls: bool,
}

impl SignatureSet {
    /// Loads, validates and compiles `(file name, text)` sources: Sonde TOML files, and Recog
    /// XML databases (names ending in `.xml`). Errors name the file, the signature (or the
    /// Recog fingerprint) and the problem.
    pub fn from_sources<'a>(
        sources: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, LoadError> {
        let mut signatures = Vec::new();
        let mut seen: HashMap<String, String> = HashMap::default();
        let mut untranslatable = Vec::new();
        for (file, text) in sources {
            let loaded = if file.ends_with(".xml") {
                let db = RecogDatabase::parse(file, text)?;
                untranslatable.extend_from_slice(db.untranslatable());
                db.into_signatures()?
            } else {
                load_file(file, text)?
            };
            for sig in loaded {
                if let Some(first) = seen.get(&sig.id) {
                    return Err(LoadError {
                        file: file.to_string(),
                        id: Some(sig.id.clone()),
                        kind: LoadErrorKind::DuplicateId { first_file: first.clone() },
                    });
                }
                seen.insert(sig.id.clone(), file.to_string());
                signatures.push(sig);
            }
        }
        // Stable: equal confidence keeps source order.
        signatures.sort_by_key(|s| Reverse(s.confidence));
        let mut set = Self::compile(signatures)?;
        set.untranslatable = untranslatable;
        Ok(set)
    }

    /// The signatures built into Sonde.
    pub fn builtin() -> Result<Self, LoadError> {
        Self::from_sources(crate::builtin::SOURCES.iter().copied())
    }

    /// The `(file name, TOML text)` sources built into Sonde, to compile alongside others.
    pub fn builtin_sources() -> &'static [(&'static str, &'static str)] {
        crate::builtin::SOURCES
    }

    fn compile(signatures: Vec<Signature>) -> Result<Self, LoadError> {
        let mut anchors: PendingAnchors<'_> = HashMap::default();
        let mut pending_probes: HashMap<&str, PendingProbe> = HashMap::default();
        let mut always: HashMap<(&str, &str), Vec<u32>> = HashMap::default();
        let mut unanchored = 0;
        for (i, sig) in signatures.iter().enumerate() {
            let key = (sig.probe.as_str(), sig.field.as_str());
            let i = u32::try_from(i).unwrap_or(u32::MAX);
            if sig.anchors.is_empty() {
                unanchored += 1;
                always.entry(key).or_default().push(i);
                continue;
            }
            let (patterns, by_pattern) = anchors.entry(key).or_default();
            let whole = pending_probes.entry(key.0).or_default();
            for anchor in &sig.anchors {
                whole.add(key.1, anchor, i);
                match patterns.iter().position(|p| p == anchor) {
                    Some(p) => by_pattern[p].push(i),
                    None => {
                        patterns.push(anchor.clone());
                        by_pattern.push(vec![i]);
                    }
                }
            }
        }
        let mut index: HashMap<String, HashMap<String, FieldIndex>> = HashMap::default();
        for ((probe, field), (patterns, by_pattern)) in anchors {
            let automaton = AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .match_kind(MatchKind::Standard)
                .build(&patterns)
                .map_err(|e| LoadError {
                    file: "(all sources)".into(),
                    id: None,
                    kind: LoadErrorKind::Syntax(format!("anchors of {probe}/{field}: {e}")),
                })?;
            let entry = index.entry(probe.into()).or_default().entry(field.into()).or_default();
            entry.automaton = Some(automaton);
            entry.by_pattern = by_pattern;
        }
        for ((probe, field), sigs) in always {
            index.entry(probe.into()).or_default().entry(field.into()).or_default().always = sigs;
        }
        let mut by_probe = HashMap::default();
        for (probe, pending) in pending_probes {
            let built = pending.build().map_err(|e| LoadError {
                file: "(all sources)".into(),
                id: None,
                kind: LoadErrorKind::Syntax(format!("anchors of probe {probe}: {e}")),
            })?;
            by_probe.insert(probe.to_string(), built);
        }
        let mut by_service: HashMap<String, Vec<String>> = HashMap::default();
        for sig in signatures.iter().filter(|s| s.product.is_some() && s.probe != "null") {
            let probes = by_service.entry(sig.service.clone()).or_default();
            if !probes.contains(&sig.probe) {
                probes.push(sig.probe.clone());
            }
        }
        Ok(Self { signatures, index, by_probe, unanchored, by_service, untranslatable: Vec::new() })
    }

    /// Number of signatures.
    pub fn len(&self) -> usize {
        self.signatures.len()
    }

    /// Whether the set has no signature.
    pub fn is_empty(&self) -> bool {
        self.signatures.is_empty()
    }

    /// Signatures without a usable anchor, tried on every value of their field.
    pub fn unanchored(&self) -> usize {
        self.unanchored
    }

    /// Every signature in priority order as (probe, field, confirming regex): what another
    /// engine needs to run the same patterns (the benchmark against Hyperscan exports it).
    pub fn patterns(&self) -> impl Iterator<Item = (&str, &str, Option<&str>)> {
        self.signatures
            .iter()
            .map(|s| (s.probe.as_str(), s.field.as_str(), s.regex.as_ref().map(LazyRegex::as_str)))
    }

    /// Recog fingerprints left out because their pattern has no equivalent here.
    pub fn untranslatable(&self) -> &[Untranslatable] {
        &self.untranslatable
    }

    /// The best signature match among `responses` from `port`, through the anchor index.
    pub fn identify(&self, port: u16, responses: &[Response<'_>]) -> Option<ServiceMatch> {
        self.identify_with_tls(port, responses, None)
    }

    /// As [`identify`](Self::identify), with the `tls.*` fields of a handshake as well.
    pub fn identify_with_tls(
        &self,
        port: u16,
        responses: &[Response<'_>],
        tls: Option<&TlsFacts<'_>>,
    ) -> Option<ServiceMatch> {
        let parsed: Vec<Fields<'_>> = responses.iter().map(|r| Fields::parse(r.data)).collect();
        // Sized for an HTTP response (a dozen values or more, a few candidates) so that the
        // hot path does not grow them step by step.
        let mut values = Vec::with_capacity(32);
        let mut candidates = Vec::with_capacity(16);
        let mut ranged = Vec::with_capacity(32);
        for (response, fields) in responses.iter().zip(&parsed) {
            let (probe, over_tls) = probe_of(response);
            let whole = self.by_probe.get(probe);
            // Looked up once per response rather than once per value.
            let probe_fields = self.index.get(probe);
            ranged.clear();
            for (field, range) in fields.ranges() {
                let vi = values.len() as u32;
                if let Some(id) = whole.and_then(|w| w.field(field)) {
                    ranged.push(RangeValue { field: id, range: range.clone(), value: vi });
                }
                if let Some(index) = probe_fields.and_then(|f| f.get(field)) {
                    candidates.extend(index.always.iter().map(|&s| (s, vi)));
                }
                values.push(Value { probe, field, text: &fields.text()[range], over_tls });
            }
            if let Some(whole) = whole {
                whole.candidates(fields.text(), &ranged, &mut candidates);
            }
        }
        for (field, text) in tls.iter().flat_map(|t| t.iter()) {
            let vi = values.len() as u32;
            let value = Value { probe: "tls", field, text, over_tls: true };
            self.field_candidates(vi, &value, &mut candidates);
            self.unanchored_candidates(vi, &value, &mut candidates);
            values.push(value);
        }
        self.pick(port, &values, candidates)
    }

    /// The probes that can name the product of a `service` found without one (a soft match),
    /// best first: those whose signatures name a product of that service, `null` left out
    /// since it always runs first. Empty when no signature of the service needs a probe.
    pub fn probes_for_service(&self, service: &str) -> &[String] {
        self.by_service.get(service).map_or(&[], Vec::as_slice)
    }

    /// The same answer as [`identify`](Self::identify), found by trying every signature's
    /// regex in priority order without the index: the reference the index must agree with,
    /// and the baseline it is measured against.
    pub fn identify_exhaustive(
        &self,
        port: u16,
        responses: &[Response<'_>],
    ) -> Option<ServiceMatch> {
        let parsed: Vec<Fields<'_>> = responses.iter().map(|r| Fields::parse(r.data)).collect();
        let values = values(responses, &parsed);
        let try_one = |i: usize| {
            let sig = &self.signatures[i];
            values
                .iter()
                .filter(|v| v.probe == sig.probe && v.field == sig.field)
                .find_map(|v| self.confirm(i as u32, v, true))
        };
        // Signatures are sorted by confidence; within a run of equal confidence, those that
        // list the port go first, as in `best`.
        let mut start = 0;
        while start < self.signatures.len() {
            let confidence = self.signatures[start].confidence;
            let end = self.signatures[start..]
                .iter()
                .position(|s| s.confidence != confidence)
                .map_or(self.signatures.len(), |n| start + n);
            let hinted = |i: &usize| self.signatures[*i].ports.contains(&port);
            let found = (start..end)
                .filter(hinted)
                .chain((start..end).filter(|i| !hinted(i)))
                .find_map(try_one);
            if found.is_some() {
                return found;
            }
            start = end;
        }
        None
    }

    /// Runs every signature's examples and negative examples, each as the value of the
    /// signature's field alone; returns what did not behave as written. An example must be
    /// matched by its own signature, with the expected attributes, and the whole set must
    /// pick that signature for it (no other one shadows it).
    pub fn check_examples(&self) -> Vec<ExampleFailure> {
        let mut failures = Vec::new();
        for (i, sig) in self.signatures.iter().enumerate() {
            let i = i as u32;
            let fail = |input: &str, problem: String| ExampleFailure {
                file: sig.file.clone(),
                id: sig.id.clone(),
                input: input.to_string(),
                problem,
            };
            for ex in &sig.examples {
                let value = Value {
                    probe: &sig.probe,
                    field: &sig.field,
                    text: &ex.input,
                    over_tls: false,
                };
                let Some(m) = self.confirm(i, &value, true) else {
                    failures.push(fail(&ex.input, "does not match".into()));
                    continue;
                };
                let checks = [
                    ("product", &ex.product, &m.product),
                    ("version", &ex.version, &m.version),
                    ("info", &ex.info, &m.info),
                    ("cpe", &ex.cpe, &m.cpe),
                ];
                for (name, want, got) in checks {
                    if want.is_some() && want != got {
                        failures
                            .push(fail(&ex.input, format!("{name}: want {want:?}, got {got:?}")));
                    }
                }
                if sig.recog {
                    continue;
                }
                let port = sig.ports.first().copied().unwrap_or(0);
                let winner = self.best(port, &[value]).and_then(|m| m.signature);
                if winner.as_deref() != Some(sig.id.as_str()) {
                    failures.push(fail(&ex.input, format!("the set picks {winner:?} instead")));
                }
            }
            for neg in &sig.negative_examples {
                let value =
                    Value { probe: &sig.probe, field: &sig.field, text: neg, over_tls: false };
                if self.confirm(i, &value, true).is_some() {
                    failures.push(fail(neg, "negative example matches".into()));
                }
            }
        }
        failures
    }

    fn rank(&self, i: u32, port: u16) -> (Reverse<u8>, bool, u32) {
        let sig = &self.signatures[i as usize];
        (Reverse(sig.confidence), !sig.ports.contains(&port), i)
    }

    /// The best match among `values`, each searched with its own field's automaton.
    fn best(&self, port: u16, values: &[Value<'_>]) -> Option<ServiceMatch> {
        let mut candidates = Vec::new();
        for (vi, value) in values.iter().enumerate() {
            self.field_candidates(vi as u32, value, &mut candidates);
            self.unanchored_candidates(vi as u32, value, &mut candidates);
        }
        self.pick(port, values, candidates)
    }

    /// Pushes (signature, `vi`) for every anchor of `value`'s field found in it.
    fn field_candidates(&self, vi: u32, value: &Value<'_>, out: &mut Vec<(u32, u32)>) {
        let index = self.index.get(value.probe).and_then(|f| f.get(value.field));
        if let Some(ac) = index.and_then(|i| i.automaton.as_ref().map(|ac| (i, ac))) {
            let (index, ac) = ac;
            for hit in ac.find_overlapping_iter(value.text) {
                out.extend(index.by_pattern[hit.pattern().as_usize()].iter().map(|&s| (s, vi)));
            }
        }
    }

    /// Pushes (signature, `vi`) for the signatures without an anchor that target `value`'s
    /// field.
    fn unanchored_candidates(&self, vi: u32, value: &Value<'_>, out: &mut Vec<(u32, u32)>) {
        if let Some(index) = self.index.get(value.probe).and_then(|f| f.get(value.field)) {
            out.extend(index.always.iter().map(|&s| (s, vi)));
        }
    }

    /// The first candidate, in priority order, whose regex confirms it.
    fn pick(
        &self,
        port: u16,
        values: &[Value<'_>],
        // (signature, value) pairs; small, so a Vec and a sort beat any set.
        candidates: Vec<(u32, u32)>,
    ) -> Option<ServiceMatch> {
        // Each candidate's rank computed once, not at every comparison of the sort.
        let mut ranked: Vec<_> =
            candidates.into_iter().map(|(s, vi)| (self.rank(s, port), vi)).collect();
        ranked.sort_unstable();
        ranked.dedup();
        ranked.into_iter().find_map(|((_, _, s), vi)| self.confirm(s, &values[vi as usize], false))
    }

    /// Signature `i` on `value`: the match, or `None`. `check_anchor` when `value` did not come
    /// through the automaton: without its anchor the signature is not a match either.
    fn confirm(&self, i: u32, value: &Value<'_>, check_anchor: bool) -> Option<ServiceMatch> {
        let sig = &self.signatures[i as usize];
        let caps: Option<Captures<'_>> = match &sig.regex {
            Some(re) => Some(re.captures(value.text)?),
            None => None,
        };
        // After the regex: it rejects most values, and then the anchors need no look.
        if check_anchor
            && !sig.anchors.is_empty()
            && !sig.anchors.iter().any(|a| contains_ascii_ci(value.text, a))
        {
            return None;
        }
        let matched = caps.as_ref().and_then(|c| c.get(0)).map_or(value.text, |m| m.as_str());
        let render = |t: &Option<crate::template::Template>, cpe| {
            t.as_ref().and_then(|t| t.render(caps.as_ref(), cpe))
        };
        let service = match sig.service.as_str() {
            "http" if value.over_tls => "https".to_string(),
            other => other.to_string(),
        };
        Some(ServiceMatch {
            service,
            product: render(&sig.product, false),
            vendor: sig.vendor.clone(),
            version: render(&sig.version, false),
            info: render(&sig.info, false),
            cpe: render(&sig.cpe, true),
            confidence: sig.confidence,
            signature: Some(sig.id.clone()),
            evidence: Evidence::Signature {
                probe: sig.probe.clone(),
                field: sig.field.clone(),
                excerpt: excerpt(matched),
            },
        })
    }
}

/// The field values of every response. What the `tls` probe received inside TLS is matched
/// as what the plain probe would have received: an HTTP answer by `http` signatures, anything
/// else (IMAPS, POP3S, SMTPS greetings) by `null` ones.
fn values<'v>(responses: &'v [Response<'v>], parsed: &'v [Fields<'v>]) -> Vec<Value<'v>> {
    responses
        .iter()
        .zip(parsed)
        .flat_map(|(r, f)| {
            let (probe, over_tls) = probe_of(r);
            f.iter().map(move |(field, text)| Value { probe, field, text, over_tls })
        })
        .collect()
}

/// The probe whose signatures match `response`, and whether it came inside TLS.
fn probe_of<'r>(response: &Response<'r>) -> (&'r str, bool) {
    match response.probe {
        "tls" if response.data.starts_with(b"HTTP/") => ("http", true),
        "tls" => ("null", true),
        other => (other, false),
    }
}

/// Whether `hay` contains `needle` (lowercase ASCII), ignoring ASCII case.
fn contains_ascii_ci(hay: &str, needle: &str) -> bool {
    hay.as_bytes().windows(needle.len()).any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

fn excerpt(text: &str) -> String {
    let mut end = text.len().min(MAX_EXCERPT);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_string()
}
