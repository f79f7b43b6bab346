//! Per probe, the anchors of every field its signatures target, searched once over a whole
//! response.
//!
//! Every field of a response is a range of one text (see [`Fields`](crate::Fields)), so a
//! hit names a candidate for each value of the anchor's field whose range contains it. An
//! automaton per (probe, field) scans the same bytes several times instead: the raw response
//! (`banner`), then the body (`http.body`), then each header, about 2.7 KB walked for a
//! 1.5 KB HTTP response. The candidates are the same either way, since a value contains an
//! anchor exactly when one of the hits over the whole text lies inside the value's range.
//!
//! Most bytes of an HTTP response are its body, and only the few anchors of the wide fields
//! (`banner`, `http.body`: 64 of about 3,900 for `http`) can hit there. So the anchors are split:
//! those of the narrow fields (headers, status, title...) go into one DFA run only over the
//! spans that narrow values cover, and those of the wide fields into a small dense DFA of
//! their own ([`WideDfa`]) whose loop costs about 8 instructions per byte against about 19
//! for aho-corasick's overlapping loop, and which walks a long span as four parts side by
//! side (the lookups of one walk each wait on the previous one; independent walks keep the
//! core busy). Probes without a body field (greetings, whose narrow values cover nearly
//! the whole response), and wide anchors that would make too large a table, keep one DFA over
//! every anchor across the whole response.
//!
//! A packed (Teddy) searcher over a lowercased copy of the body was measured instead of the
//! dense DFA: on HTML its fingerprints of 64 anchors leave a candidate at about one byte in
//! four, and verifying them cost more than the DFA it replaced. Putting the `banner` anchors
//! in the narrow automaton as well, so that the dense DFA could start at the body, was
//! measured too: the narrow automaton's cost over the header block grew by more than the
//! dense DFA saved.

use std::ops::Range;

use aho_corasick::automaton::Automaton;
use aho_corasick::{AhoCorasick, AhoCorasickKind, Anchored, Input, MatchKind};
// foldhash rather than SipHash: field names are looked up once per value of every response.
use foldhash::{HashMap, HashSet};

/// Fields whose values span most of a response.
const WIDE_FIELDS: &[&str] = &["banner", BODY_FIELD];
/// The field whose presence makes the split search pay: a body is most of a response.
const BODY_FIELD: &str = "http.body";

/// Narrow values closer than this are scanned as one span: walking the header names between
/// two header values costs less than restarting the automaton.
const SPAN_GAP: usize = 48;

/// The anchors of one probe, all fields together.
#[derive(Debug)]
pub(crate) struct ProbeIndex {
    search: Search,
    /// Field name -> id, for the fields that have anchors.
    fields: HashMap<String, u16>,
    /// Per field id, whether it is one of [`WIDE_FIELDS`].
    wide: Vec<bool>,
}

/// How a probe's anchors are searched.
#[derive(Debug)]
enum Search {
    /// One DFA over every anchor, run over the whole response.
    Whole(Anchors),
    /// The narrow fields' anchors over the narrow spans, the wide fields' through their own
    /// dense DFA over the wide span.
    Split { narrow: Option<Anchors>, wide: Box<WideDfa> },
}

/// An ASCII-case-insensitive DFA and, per pattern, the (field id, signature) pairs it names.
#[derive(Debug)]
struct Anchors {
    automaton: AhoCorasick,
    by_pattern: Vec<Box<[(u16, u32)]>>,
}

/// The wide fields' anchors as a dense DFA: the transitions of aho-corasick's DFA copied into
/// one table indexed by state and byte class, so that the per-byte loop is a class lookup, a
/// table lookup and one comparison. aho-corasick's own overlapping loop checks for special
/// states and calls back per hit, about 19 instructions per byte under callgrind.
#[derive(Debug)]
struct WideDfa {
    /// Byte -> class; ASCII letters share a class with their other case.
    classes: [u8; 256],
    /// Number of classes: the stride of `table`.
    stride: usize,
    /// Per (state, class): the next state's id, premultiplied by `stride` so that it indexes
    /// its own row directly. The start state is 0; match states come after every other
    /// state, so one comparison with `first_match` tells whether a byte entered one. Padded
    /// to a power of two entries.
    table: Vec<u32>,
    /// The premultiplied id of the first match state.
    first_match: u32,
    /// Per match state (id minus the first match state's): the (pattern length, pairs) of
    /// every anchor that ends there.
    matches: Vec<Box<[AnchorEnd]>>,
    /// The longest anchor's length: how far the second half of a two-lane walk starts
    /// before the middle, so that no hit across the middle is missed.
    longest: usize,
}

/// An anchor ending at a state: its length and the (field id, signature) pairs it names.
type AnchorEnd = (usize, Box<[(u16, u32)]>);

/// How many parts of a long span [`WideDfa`] walks side by side.
const LANES: usize = 4;
/// Shortest share of a part (beyond the overlap between parts) for a span to be walked in
/// [`LANES`] parts; shorter spans are walked in one.
const LANE_MIN: usize = 64;

/// Largest [`WideDfa`] table, in entries; beyond it the whole-response DFA is used.
const MAX_WIDE_TABLE: usize = 1 << 20;

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

    /// The automata; the error is aho-corasick's, for the caller to wrap.
    pub(crate) fn build(self) -> Result<ProbeIndex, aho_corasick::BuildError> {
        self.build_with(true)
    }

    /// As [`build`](Self::build); `split: false` keeps the whole-response DFA (the reference
    /// the split search is tested against).
    fn build_with(self, split_wide: bool) -> Result<ProbeIndex, aho_corasick::BuildError> {
        let mut wide = vec![false; self.fields.len()];
        for (name, &id) in &self.fields {
            wide[usize::from(id)] = WIDE_FIELDS.contains(&name.as_str());
        }
        let has_body = self.fields.contains_key(BODY_FIELD);
        let split = if split_wide {
            split(&self.patterns, &self.by_pattern, &wide, has_body)?
        } else {
            None
        };
        let search = match split {
            Some(split) => split,
            None => Search::Whole(Anchors::build(self.patterns, self.by_pattern)?),
        };
        Ok(ProbeIndex { search, fields: self.fields, wide })
    }
}

/// The split search, or `None` when it does not apply: no wide anchor or no body field (the
/// whole-response DFA then costs less) or too many wide anchors for a dense table.
fn split(
    patterns: &[String],
    by_pattern: &[Vec<(u16, u32)>],
    wide: &[bool],
    has_body: bool,
) -> Result<Option<Search>, aho_corasick::BuildError> {
    let (mut narrow_patterns, mut narrow_by) = (Vec::new(), Vec::new());
    let (mut wide_patterns, mut wide_by) = (Vec::new(), Vec::new());
    for (pattern, pairs) in patterns.iter().zip(by_pattern) {
        let (w, n): (Vec<_>, Vec<_>) = pairs.iter().partition(|(f, _)| wide[usize::from(*f)]);
        if !w.is_empty() {
            wide_patterns.push(pattern.clone());
            wide_by.push(w);
        }
        if !n.is_empty() {
            narrow_patterns.push(pattern.clone());
            narrow_by.push(n);
        }
    }
    // Only where a body is scanned: in a greeting the narrow values (`banner.line1`,
    // `banner.reply`...) cover most of the response, and a split would scan it twice (banner
    // identifications measured 20% slower that way).
    if wide_patterns.is_empty() || !has_body {
        return Ok(None);
    }
    // Leftmost-first: the searcher reports the leftmost position where some anchor starts,
    // and the caller then checks every anchor at that position itself.
    let Some(wide) = WideDfa::build(&wide_patterns, wide_by)? else { return Ok(None) };
    let narrow = if narrow_patterns.is_empty() {
        None
    } else {
        Some(Anchors::build(narrow_patterns, narrow_by)?)
    };
    Ok(Some(Search::Split { narrow, wide: Box::new(wide) }))
}

impl Anchors {
    fn build(
        patterns: Vec<String>,
        by_pattern: Vec<Vec<(u16, u32)>>,
    ) -> Result<Self, aho_corasick::BuildError> {
        // A DFA: a probe's automaton holds the anchors of many fields (thousands for `http`),
        // where the default contiguous NFA's failure transitions cost more per byte than the
        // passes it saves; the DFA takes one transition per byte.
        let automaton = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .kind(Some(AhoCorasickKind::DFA))
            .build(&patterns)?;
        let by_pattern = by_pattern.into_iter().map(Vec::into_boxed_slice).collect();
        Ok(Self { automaton, by_pattern })
    }

    /// Every hit inside `span` of `text` as (start, end, pairs).
    fn hits<'a>(
        &'a self,
        text: &'a str,
        span: Range<usize>,
    ) -> impl Iterator<Item = (usize, usize, &'a [(u16, u32)])> + 'a {
        self.automaton
            .find_overlapping_iter(Input::new(text).span(span))
            .map(|hit| (hit.start(), hit.end(), &*self.by_pattern[hit.pattern().as_usize()]))
    }
}

impl WideDfa {
    /// The dense DFA of `patterns` (matched ignoring ASCII case), or `None` when its table
    /// would exceed [`MAX_WIDE_TABLE`].
    fn build(
        patterns: &[String],
        by_pattern: Vec<Vec<(u16, u32)>>,
    ) -> Result<Option<Self>, aho_corasick::BuildError> {
        let dfa = aho_corasick::dfa::DFA::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .prefilter(false)
            .build(patterns)?;
        // Bytes that occur in no anchor (in either case) all lead where any one of them
        // does; the others get a class each, shared by the two cases of a letter.
        let mut classes = [0u8; 256];
        let mut representatives = vec![0u8];
        for b in patterns.iter().flat_map(|p| p.bytes()).map(|b| b.to_ascii_lowercase()) {
            if classes[usize::from(b)] == 0 {
                let Ok(class) = u8::try_from(representatives.len()) else { return Ok(None) };
                classes[usize::from(b)] = class;
                classes[usize::from(b.to_ascii_uppercase())] = class;
                representatives.push(b);
            }
        }
        // A byte that occurs in no anchor stands for class 0.
        let Some(other) = (0..=255u8).find(|&b| classes[usize::from(b)] == 0) else {
            return Ok(None);
        };
        representatives[0] = other;
        let stride = representatives.len();
        let by_pattern: Vec<Box<[(u16, u32)]>> =
            by_pattern.into_iter().map(Vec::into_boxed_slice).collect();

        let Ok(start) = dfa.start_state(Anchored::No) else { return Ok(None) };
        if dfa.is_match(start) {
            return Ok(None);
        }
        // Every state reachable from the start, breadth first.
        let mut seen = HashSet::from_iter([start]);
        let mut order = vec![start];
        let mut i = 0;
        while i < order.len() {
            let sid = order[i];
            i += 1;
            for &rep in &representatives {
                let next = dfa.next_state(Anchored::No, sid, rep);
                if seen.insert(next) {
                    order.push(next);
                }
            }
            if order.len() * stride > MAX_WIDE_TABLE {
                return Ok(None);
            }
        }
        // Renumbered: the other states first (the start state stays 0), match states last.
        let (mut numbered, matching): (Vec<_>, Vec<_>) =
            order.into_iter().partition(|&sid| !dfa.is_match(sid));
        let first_match = numbered.len();
        numbered.extend(matching);
        let Ok(first_match) = u32::try_from(first_match * stride) else { return Ok(None) };
        let ids: HashMap<_, u32> =
            numbered.iter().enumerate().map(|(n, &sid)| (sid, (n * stride) as u32)).collect();
        let mut table: Vec<u32> = numbered
            .iter()
            .flat_map(|&sid| representatives.iter().map(move |&rep| (sid, rep)))
            .map(|(sid, rep)| ids[&dfa.next_state(Anchored::No, sid, rep)])
            .collect();
        // A power of two long, so that the loop can mask its index instead of checking it
        // against the length (one instruction per byte fewer); the padding is never reached.
        table.resize(table.len().next_power_of_two(), 0);
        let matches = numbered
            .iter()
            .filter(|&&sid| dfa.is_match(sid))
            .map(|&sid| {
                (0..dfa.match_len(sid))
                    .map(|k| {
                        let pid = dfa.match_pattern(sid, k);
                        (dfa.pattern_len(pid), by_pattern[pid.as_usize()].clone())
                    })
                    .collect()
            })
            .collect();
        let longest = patterns.iter().map(String::len).max().unwrap_or(0);
        Ok(Some(Self { classes, stride, table, first_match, matches, longest }))
    }

    /// Calls `found(start, end, pairs)` for every occurrence of every anchor inside `span`
    /// of `text`, overlapping ones included. A hit may be reported twice.
    ///
    /// A long span is walked as [`LANES`] parts in one loop, independent chains of table
    /// lookups: each step waits on the previous one's load, so one chain leaves the core
    /// idle most of the time, and several fill it at about the same instruction count. Each
    /// part after the first starts `longest - 1` bytes before its share (from the start
    /// state, which finds every hit that starts there or later), so a hit across a boundary
    /// is found by the part after it, and one that ends in the overlap by both.
    fn each_hit(
        &self,
        text: &[u8],
        span: Range<usize>,
        mut found: impl FnMut(usize, usize, &[(u16, u32)]),
    ) {
        let bytes = &text[span.clone()];
        let mut report = |state: usize, end: usize| {
            let nth = (state - self.first_match as usize) / self.stride;
            for (len, pairs) in self.matches[nth].iter() {
                found(end - len, end, pairs);
            }
        };
        let overlap = self.longest.saturating_sub(1);
        let share = bytes.len() / LANES;
        if share >= LANE_MIN + overlap {
            // Part k walks bytes[starts[k]..ends[k]]; all walk `share` bytes side by side,
            // then each part after the first finishes its overlap (and the last its
            // remainder) alone.
            let starts: [usize; LANES] =
                std::array::from_fn(|k| (k * share).saturating_sub(overlap));
            let ends: [usize; LANES] =
                std::array::from_fn(|k| if k + 1 == LANES { bytes.len() } else { (k + 1) * share });
            let parts: [&[u8]; LANES] = std::array::from_fn(|k| &bytes[starts[k]..ends[k]]);
            let mut states = [0usize; LANES];
            let mut from = 0;
            while let Some(i) = self.next_match_lanes(&parts, share, from, &mut states) {
                for k in 0..LANES {
                    if states[k] >= self.first_match as usize {
                        report(states[k], span.start + starts[k] + i + 1);
                    }
                }
                from = i + 1;
            }
            for k in 1..LANES {
                let mut state = states[k] as u32;
                let mut from = share;
                while let Some(i) = self.next_match(parts[k], from, &mut state) {
                    report(state as usize, span.start + starts[k] + i + 1);
                    from = i + 1;
                }
            }
            return;
        }
        let (mut from, mut state) = (0, 0);
        while let Some(i) = self.next_match(bytes, from, &mut state) {
            report(state as usize, span.start + i + 1);
            from = i + 1;
        }
    }

    /// Runs the DFA over `parts[k][from..len]` for every k side by side, from `states`, up to
    /// the first index where any enters a match state, and returns it. Every part is at least
    /// `len` long.
    #[inline(never)]
    // One index walks every part at once, which an iterator over one of them cannot say.
    #[allow(clippy::needless_range_loop)]
    fn next_match_lanes(
        &self,
        parts: &[&[u8]; LANES],
        len: usize,
        from: usize,
        states: &mut [usize; LANES],
    ) -> Option<usize> {
        let (table, classes) = (&self.table[..], &self.classes);
        if table.is_empty() {
            return None;
        }
        let mask = table.len() - 1;
        let first_match = self.first_match as usize;
        let step =
            |s: usize, b: u8| table[(s + usize::from(classes[usize::from(b)])) & mask] as usize;
        // All the same length, so that indexing them needs no check.
        let mut cut = [&[][..]; LANES];
        for (c, p) in cut.iter_mut().zip(parts) {
            *c = p.get(..len)?;
        }
        let mut s = *states;
        for i in from..len {
            let mut hit = false;
            for k in 0..LANES {
                s[k] = step(s[k], cut[k][i]);
                hit |= s[k] >= first_match;
            }
            if hit {
                *states = s;
                return Some(i);
            }
        }
        *states = s;
        None
    }

    /// Runs the DFA from `state` over `bytes[from..]` up to the first byte that enters a
    /// match state, and returns that byte's index.
    // Not inlined: alone, the loop keeps its few variables in registers; inlined into the
    // caller it spilled them to the stack and cost three times as many instructions. Four
    // bytes per iteration, so that the loop's own bookkeeping is paid once per four steps.
    #[inline(never)]
    fn next_match(&self, bytes: &[u8], from: usize, state: &mut u32) -> Option<usize> {
        let (table, classes, first_match) = (&self.table[..], &self.classes, self.first_match);
        if table.is_empty() {
            return None;
        }
        let mask = table.len() - 1;
        let step =
            |s: u32, b: u8| table[(s as usize + usize::from(classes[usize::from(b)])) & mask];
        let mut s = *state;
        let rest = bytes.get(from..).unwrap_or_default();
        let mut quads = rest.chunks_exact(4);
        let mut at = from;
        for quad in &mut quads {
            for (k, &b) in quad.iter().enumerate() {
                s = step(s, b);
                if s >= first_match {
                    *state = s;
                    return Some(at + k);
                }
            }
            at += 4;
        }
        for (k, &b) in quads.remainder().iter().enumerate() {
            s = step(s, b);
            if s >= first_match {
                *state = s;
                return Some(at + k);
            }
        }
        *state = s;
        None
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
        let mut name = |start: usize, end: usize, pairs: &[(u16, u32)]| {
            for &(field, sig) in pairs {
                for v in values {
                    if v.field == field && v.range.start <= start && end <= v.range.end {
                        out.push((sig, v.value));
                    }
                }
            }
        };
        match &self.search {
            Search::Whole(anchors) => {
                for (start, end, pairs) in anchors.hits(text, 0..text.len()) {
                    name(start, end, pairs);
                }
            }
            Search::Split { narrow, wide } => {
                if let Some(narrow) = narrow {
                    for span in self.narrow_spans(values) {
                        for (start, end, pairs) in narrow.hits(text, span) {
                            name(start, end, pairs);
                        }
                    }
                }
                let wide_span = values
                    .iter()
                    .filter(|v| self.wide[usize::from(v.field)])
                    .map(|v| v.range.clone())
                    .reduce(|a, b| a.start.min(b.start)..a.end.max(b.end));
                if let Some(span) = wide_span {
                    wide.each_hit(text.as_bytes(), span, &mut name);
                }
            }
        }
    }

    /// The ranges of the narrow values, merged where they overlap or lie close together.
    fn narrow_spans(&self, values: &[RangeValue]) -> Vec<Range<usize>> {
        let mut ranges: Vec<Range<usize>> = values
            .iter()
            .filter(|v| !self.wide[usize::from(v.field)] && !v.range.is_empty())
            .map(|v| v.range.clone())
            .collect();
        ranges.sort_unstable_by_key(|r| r.start);
        let mut spans: Vec<Range<usize>> = Vec::with_capacity(ranges.len());
        for r in ranges {
            match spans.last_mut() {
                Some(last) if r.start <= last.end + SPAN_GAP => last.end = last.end.max(r.end),
                _ => spans.push(r),
            }
        }
        spans
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn index(anchors: &[(&str, &str, u32)]) -> ProbeIndex {
        pending(anchors).build().unwrap()
    }

    fn pending(anchors: &[(&str, &str, u32)]) -> PendingProbe {
        let mut pending = PendingProbe::default();
        for (field, anchor, sig) in anchors {
            pending.add(field, anchor, *sig);
        }
        pending
    }

    #[test]
    fn the_split_search_names_what_the_whole_response_dfa_names() {
        // Overlapping anchors, an anchor shared by a wide and a narrow field, mixed case,
        // a non-ASCII anchor, hits across value boundaries.
        let anchors = [
            ("banner", "nginx", 0),
            ("http.header.server", "nginx", 1),
            ("http.body", "php", 2),
            ("http.body", "phpmyadmin", 3),
            ("http.body", "myadmin", 4),
            ("http.body", "admin", 5),
            ("http.title", "admin", 6),
            ("banner", "http/1.1 200", 7),
            ("http.body", "caf\u{e9}", 8),
            ("http.header.x-powered-by", "php", 9),
            ("http.body", "aaa", 10),
        ];
        let split = pending(&anchors).build().unwrap();
        let whole = pending(&anchors).build_with(false).unwrap();
        assert!(matches!(split.search, Search::Split { .. }));
        assert!(matches!(whole.search, Search::Whole(_)));
        let text = "HTTP/1.1 200 OK\r\nServer: NGINX\r\nX-Powered-By: PHP/8\r\n\r\n\
            <title>phpMyAdmin</title> PhPmYaDmIn caf\u{e9} CAF\u{c9} aaaaa nginx";
        let fields = crate::Fields::parse(text.as_bytes());
        let mut values = Vec::new();
        for (i, (name, range)) in fields.ranges().enumerate() {
            if let Some(field) = split.field(name) {
                assert_eq!(whole.field(name), Some(field));
                values.push(RangeValue { field, range, value: i as u32 });
            }
        }
        let (mut got, mut want) = (Vec::new(), Vec::new());
        split.candidates(fields.text(), &values, &mut got);
        whole.candidates(fields.text(), &values, &mut want);
        // As sets: a hit found twice names the same candidate, which `pick` deduplicates.
        let got: BTreeSet<(u32, u32)> = got.into_iter().collect();
        let want: BTreeSet<(u32, u32)> = want.into_iter().collect();
        assert_eq!(got, want);
        let sigs: BTreeSet<u32> = got.iter().map(|&(s, _)| s).collect();
        assert_eq!(sigs, (0..=10).collect(), "{got:?}");
    }

    #[test]
    fn long_bodies_walked_in_parts_miss_no_hit_across_a_boundary() {
        let anchors = [
            ("http.body", "phpmyadmin", 0),
            ("http.body", "admin", 1),
            ("banner", "zzq", 2),
            ("http.header.server", "nginx", 3),
        ];
        let split = pending(&anchors).build().unwrap();
        let whole = pending(&anchors).build_with(false).unwrap();
        // The hits at every position of a body long enough to be walked in parts, so that
        // each crosses every boundary between parts and lies in every overlap; odd and even
        // lengths.
        for at in 0..400 {
            let body = format!(
                "{}PhpMyAdmin{}zzq{}",
                "z".repeat(at),
                "y".repeat(at % 7),
                "x".repeat(400 - at + at % 2)
            );
            let text = format!("HTTP/1.1 200 OK\r\nServer: nginx\r\n\r\n{body}");
            let fields = crate::Fields::parse(text.as_bytes());
            let values: Vec<RangeValue> = fields
                .ranges()
                .enumerate()
                .filter_map(|(i, (name, range))| {
                    Some(RangeValue { field: split.field(name)?, range, value: i as u32 })
                })
                .collect();
            let (mut got, mut want) = (Vec::new(), Vec::new());
            split.candidates(fields.text(), &values, &mut got);
            whole.candidates(fields.text(), &values, &mut want);
            let got: BTreeSet<(u32, u32)> = got.into_iter().collect();
            let want: BTreeSet<(u32, u32)> = want.into_iter().collect();
            assert_eq!(got, want, "at {at}");
            assert_eq!(got.iter().map(|&(s, _)| s).collect::<BTreeSet<_>>(), (0..=3).collect());
        }
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
