//! Per probe, one Aho-Corasick automaton over the anchors of every field its signatures
//! target, run once over a whole response.
//!
//! Every field of a response is a range of one text (see [`Fields`](crate::Fields)), so a
//! hit names a candidate for each value of the anchor's field whose range contains it. An
//! automaton per (probe, field) scans the same bytes several times instead: the raw response
//! (`banner`), then the body (`http.body`), then each header, about 2.7 KB walked for a
//! 1.5 KB HTTP response. The candidates are the same either way, since a value contains an
//! anchor exactly when one of the hits over the whole text lies inside the value's range.

use std::collections::HashMap;
use std::ops::Range;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};

/// The anchors of one probe, all fields together.
#[derive(Debug)]
pub(crate) struct ProbeIndex {
    automaton: AhoCorasick,
    /// Per automaton pattern, (field id, signature) pairs whose anchor it is.
    by_pattern: Vec<Box<[(u16, u32)]>>,
    /// Field name -> id, for the fields that have anchors.
    fields: HashMap<String, u16>,
}

/// One field value of a response, as the index sees it.
pub(crate) struct RangeValue {
    /// The field's id in this probe's index.
    pub(crate) field: u16,
    /// Where the value lies in the response text.
    pub(crate) range: Range<usize>,
    /// The caller's index of the value.
    pub(crate) value: u32,
}

/// While compiling: the distinct anchors of one probe and, per anchor, (field, signature).
#[derive(Default)]
pub(crate) struct PendingProbe {
    patterns: Vec<String>,
    position: HashMap<String, usize>,
    by_pattern: Vec<Vec<(u16, u32)>>,
    fields: HashMap<String, u16>,
}

impl PendingProbe {
    /// Records that signature `sig`, targeting `field`, has `anchor`.
    pub(crate) fn add(&mut self, field: &str, anchor: &str, sig: u32) {
        let next = u16::try_from(self.fields.len()).unwrap_or(u16::MAX);
        let field = *self.fields.entry(field.to_string()).or_insert(next);
        let p = *self.position.entry(anchor.to_string()).or_insert_with(|| {
            self.patterns.push(anchor.to_string());
            self.by_pattern.push(Vec::new());
            self.patterns.len() - 1
        });
        if !self.by_pattern[p].contains(&(field, sig)) {
            self.by_pattern[p].push((field, sig));
        }
    }

    /// The automaton; the error is aho-corasick's, for the caller to wrap.
    pub(crate) fn build(self) -> Result<ProbeIndex, aho_corasick::BuildError> {
        // A DFA: a probe's automaton holds the anchors of every field (thousands for `http`),
        // where the default contiguous NFA's failure transitions cost more per byte than the
        // passes it saves; the DFA takes one transition per byte.
        let automaton = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .kind(Some(AhoCorasickKind::DFA))
            .build(&self.patterns)?;
        let by_pattern = self.by_pattern.into_iter().map(Vec::into_boxed_slice).collect();
        Ok(ProbeIndex { automaton, by_pattern, fields: self.fields })
    }
}

impl ProbeIndex {
    /// The id of `field`, when a signature of this probe anchors on it.
    pub(crate) fn field(&self, field: &str) -> Option<u16> {
        self.fields.get(field).copied()
    }

    /// Pushes (signature, value) for every anchor hit in `text` that lies inside the range of
    /// a value of the anchor's field. `values` are the response's values that have an id.
    pub(crate) fn candidates(&self, text: &str, values: &[RangeValue], out: &mut Vec<(u32, u32)>) {
        if values.is_empty() {
            return;
        }
        for hit in self.automaton.find_overlapping_iter(text) {
            for &(field, sig) in self.by_pattern[hit.pattern().as_usize()].iter() {
                for v in values {
                    if v.field == field && v.range.start <= hit.start() && hit.end() <= v.range.end
                    {
                        out.push((sig, v.value));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(anchors: &[(&str, &str, u32)]) -> ProbeIndex {
        let mut pending = PendingProbe::default();
        for (field, anchor, sig) in anchors {
            pending.add(field, anchor, *sig);
        }
        pending.build().unwrap()
    }

    #[test]
    fn hits_name_only_the_values_that_contain_them() {
        let ix = index(&[("title", "grafana", 0), ("body", "grafana", 1), ("server", "nginx", 2)]);
        // "server: nginx | title: Grafana | body: ... grafana ..."
        let text = "nginx|Grafana|x grafana x";
        let (title, body, server) =
            (ix.field("title").unwrap(), ix.field("body").unwrap(), ix.field("server").unwrap());
        let values = [
            RangeValue { field: server, range: 0..5, value: 10 },
            RangeValue { field: title, range: 6..13, value: 11 },
            RangeValue { field: body, range: 14..25, value: 12 },
        ];
        let mut out = Vec::new();
        ix.candidates(text, &values, &mut out);
        out.sort_unstable();
        // The title's anchor hit in the body names no title candidate, and the reverse.
        assert_eq!(out, vec![(0, 11), (1, 12), (2, 10)]);
        assert_eq!(ix.field("http.header.via"), None);
    }

    #[test]
    fn a_hit_across_a_field_boundary_names_nothing() {
        let ix = index(&[("a", "xy", 0)]);
        let a = ix.field("a").unwrap();
        let values = [
            RangeValue { field: a, range: 0..2, value: 0 },
            RangeValue { field: a, range: 2..4, value: 1 },
        ];
        let mut out = Vec::new();
        ix.candidates("axyb", &values, &mut out);
        assert!(out.is_empty(), "{out:?}");
        ix.candidates("XYab", &values, &mut out);
        assert_eq!(out, vec![(0, 0)], "case is ignored, as in the per-field index");
    }
}
