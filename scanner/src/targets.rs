//! IPv4 target sets: parsing, exclusion, and index -> address without materializing.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::path::Path;

use crate::TargetError;

/// Scans larger than this many addresses need an explicit confirmation (`--yes`).
pub const MAX_ADDRESSES_WITHOUT_CONFIRMATION: u64 = 1 << 24;

/// An inclusive range of IPv4 addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ipv4Range {
    /// First address.
    pub first: Ipv4Addr,
    /// Last address (inclusive).
    pub last: Ipv4Addr,
}

/// A set of IPv4 addresses as sorted, disjoint, non-adjacent ranges with prefix counts, so
/// `nth` is a binary search and a /8 costs a few bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetSet {
    ranges: Vec<Ipv4Range>,
    /// `starts[i]` = number of addresses in `ranges[..i]`. It holds one entry more than
    /// `ranges` (the total) once the set is built, and is empty in `TargetSet::default()`.
    starts: Vec<u64>,
}

/// What one spec denotes before any resolver is asked.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Spec {
    Range(u32, u32),
    Host(String),
}

impl Ipv4Range {
    /// A range from `first` to `last` inclusive; empty (and ignored by [`TargetSet`]) when
    /// `first > last`.
    pub fn new(first: Ipv4Addr, last: Ipv4Addr) -> Self {
        Self { first, last }
    }
    fn bounds(&self) -> (u32, u32) {
        (u32::from(self.first), u32::from(self.last))
    }
    fn from_bounds((first, last): (u32, u32)) -> Self {
        Self {
            first: Ipv4Addr::from(first),
            last: Ipv4Addr::from(last),
        }
    }
}

impl TargetSet {
    /// Parses target specs: `a.b.c.d`, `a.b.c.d/n`, `a.b.c.d-e.f.g.h`, `a.b.c.d-h` (last
    /// octet), or a hostname, resolved once here (all its IPv4 addresses).
    ///
    /// A spec may hold several items separated by blanks or commas. A CIDR with host bits set
    /// is masked (`10.1.2.3/8` is `10.0.0.0/8`). Hostnames block on the system resolver, so
    /// async callers run this on a blocking thread.
    pub fn parse(specs: &[String]) -> Result<Self, TargetError> {
        // Every item is checked before the first lookup, so a typo fails fast and offline.
        let items = specs
            .iter()
            .flat_map(|spec| split_items(spec))
            .map(classify)
            .collect::<Result<Vec<_>, _>>()?;
        if items.is_empty() {
            return Err(TargetError::NoTargets);
        }
        let mut ranges = Vec::with_capacity(items.len());
        for item in items {
            match item {
                Spec::Range(first, last) => ranges.push((first, last)),
                Spec::Host(host) => ranges.extend(
                    resolve(&host)?
                        .into_iter()
                        .map(|ip| (u32::from(ip), u32::from(ip))),
                ),
            }
        }
        Ok(Self::from_bounds(ranges))
    }
    /// Builds a set from arbitrary ranges (overlaps merged).
    pub fn from_ranges(ranges: impl IntoIterator<Item = Ipv4Range>) -> Self {
        Self::from_bounds(ranges.into_iter().map(|r| r.bounds()).collect())
    }
    /// The union of two sets.
    pub fn union(&self, other: &Self) -> Self {
        Self::from_ranges(self.ranges.iter().chain(&other.ranges).copied())
    }
    /// This set minus `other`.
    pub fn exclude(&self, other: &Self) -> Self {
        let cut = &other.ranges;
        let mut out = Vec::with_capacity(self.ranges.len());
        // Both lists are sorted, so one forward sweep over `cut` serves every range of `self`.
        let mut j = 0;
        for range in &self.ranges {
            let (first, last) = range.bounds();
            while j < cut.len() && u32::from(cut[j].last) < first {
                j += 1;
            }
            let mut rest = Some(first);
            let mut k = j;
            while let Some(start) = rest {
                let Some(hole) = cut.get(k).map(Ipv4Range::bounds) else {
                    break;
                };
                if hole.0 > last {
                    break;
                }
                if hole.0 > start {
                    out.push((start, hole.0 - 1));
                }
                // `hole.1 < last` keeps the `+ 1` from overflowing.
                rest = (hole.1 < last).then(|| hole.1 + 1);
                k += 1;
            }
            if let Some(start) = rest {
                out.push((start, last));
            }
        }
        Self::from_normalized(out)
    }
    /// Number of addresses.
    pub fn len(&self) -> u64 {
        self.starts.last().copied().unwrap_or(0)
    }
    /// True when there is no address.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }
    /// The `i`-th address in ascending order; `None` past the end.
    pub fn nth(&self, i: u64) -> Option<Ipv4Addr> {
        (i < self.len()).then(|| self.addr_at(i))
    }
    /// Membership test.
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        let at = self.ranges.partition_point(|r| r.last < ip);
        self.ranges.get(at).is_some_and(|r| r.first <= ip)
    }
    /// The ranges, ascending.
    pub fn ranges(&self) -> &[Ipv4Range] {
        &self.ranges
    }
    /// Splits the set along aligned blocks of `/prefix_len` (e.g. 24): one set per block that
    /// holds at least one address, ascending. A `prefix_len` above 32 counts as 32.
    pub fn split_by_prefix(&self, prefix_len: u8) -> Vec<TargetSet> {
        if self.is_empty() {
            return Vec::new();
        }
        if prefix_len == 0 {
            return vec![self.clone()];
        }
        let host_bits = 32 - u32::from(prefix_len.min(32));
        let host_mask = (1u64 << host_bits) as u32 - 1;
        let mut sets = Vec::new();
        let mut block = None;
        let mut pieces = Vec::new();
        for range in &self.ranges {
            let (mut start, last) = range.bounds();
            loop {
                let end = last.min(start | host_mask);
                let this_block = start >> host_bits;
                if block != Some(this_block) && !pieces.is_empty() {
                    sets.push(Self::from_normalized(std::mem::take(&mut pieces)));
                }
                block = Some(this_block);
                pieces.push((start, end));
                if end == last {
                    break;
                }
                start = end + 1;
            }
        }
        sets.push(Self::from_normalized(pieces));
        sets
    }

    /// The `i`-th address; `i < len()` or this panics.
    pub(crate) fn addr_at(&self, i: u64) -> Ipv4Addr {
        // `starts[0] == 0 <= i`, so the partition point is at least 1.
        let at = self.starts.partition_point(|&s| s <= i) - 1;
        let offset = (i - self.starts[at]) as u32;
        Ipv4Addr::from(u32::from(self.ranges[at].first) + offset)
    }
    /// Sorts, drops empty ranges and merges overlapping or adjacent ones.
    fn from_bounds(mut bounds: Vec<(u32, u32)>) -> Self {
        bounds.retain(|(first, last)| first <= last);
        bounds.sort_unstable();
        let mut merged: Vec<(u32, u32)> = Vec::with_capacity(bounds.len());
        for (first, last) in bounds {
            match merged.last_mut() {
                Some(prev) if u64::from(first) <= u64::from(prev.1) + 1 => {
                    prev.1 = prev.1.max(last);
                }
                _ => merged.push((first, last)),
            }
        }
        Self::from_normalized(merged)
    }
    /// Builds from bounds that are already sorted, disjoint and non-adjacent.
    fn from_normalized(bounds: Vec<(u32, u32)>) -> Self {
        let mut starts = Vec::with_capacity(bounds.len() + 1);
        let mut total = 0u64;
        starts.push(0);
        for &(first, last) in &bounds {
            total += u64::from(last - first) + 1;
            starts.push(total);
        }
        if bounds.is_empty() {
            starts.clear();
        }
        Self {
            ranges: bounds.into_iter().map(Ipv4Range::from_bounds).collect(),
            starts,
        }
    }
}

/// Reserved space no scan should touch unless the operator overrides it: 0.0.0.0/8, multicast
/// 224.0.0.0/4, reserved 240.0.0.0/4 and the limited broadcast address.
pub fn default_excludes() -> TargetSet {
    TargetSet::from_ranges([
        Ipv4Range::new(Ipv4Addr::new(0, 0, 0, 0), Ipv4Addr::new(0, 255, 255, 255)),
        // 224.0.0.0/4 and 240.0.0.0/4 together, which ends with 255.255.255.255.
        Ipv4Range::new(Ipv4Addr::new(224, 0, 0, 0), Ipv4Addr::BROADCAST),
    ])
}

/// Reads a target file (`-iL`, `--exclude-file`): one spec per line or several separated by
/// blanks or commas; `#` starts a comment. Errors name the file and line.
///
/// Specs are checked for syntax here; hostnames are resolved later, once, by
/// [`TargetSet::parse`].
pub fn read_target_file(path: &Path) -> Result<Vec<String>, TargetError> {
    let name = || path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| TargetError::File {
        path: name(),
        source,
    })?;
    let mut specs = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let content = line.split('#').next().unwrap_or_default();
        for item in split_items(content) {
            classify(item).map_err(|error| TargetError::FileLine {
                path: name(),
                line: index + 1,
                error: Box::new(error),
            })?;
            specs.push(item.to_string());
        }
    }
    Ok(specs)
}

fn split_items(spec: &str) -> impl Iterator<Item = &str> {
    spec.split(|c: char| c.is_whitespace() || c == ',')
        .filter(|item| !item.is_empty())
}

fn invalid(spec: &str, reason: impl Into<String>) -> TargetError {
    TargetError::Invalid {
        spec: spec.to_string(),
        reason: reason.into(),
    }
}

/// Decides what `spec` denotes without resolving anything.
fn classify(spec: &str) -> Result<Spec, TargetError> {
    if spec.contains(':') {
        return Err(classify_colon(spec));
    }
    if let Some((addr, prefix)) = spec.split_once('/') {
        let addr = parse_addr(spec, addr)?;
        if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid(
                spec,
                "the prefix length after `/` must be a number 0 to 32",
            ));
        }
        let prefix = match prefix.parse::<u32>() {
            Ok(prefix) if prefix <= 32 => prefix,
            _ => return Err(invalid(spec, "the prefix length must be 0 to 32")),
        };
        let mask = u32::MAX.checked_shl(32 - prefix).unwrap_or(0);
        let first = addr & mask;
        return Ok(Spec::Range(first, first | !mask));
    }
    // A dotted number before the dash makes a range; `db-1.lan` stays a name.
    if let Some((start, end)) = spec.split_once('-')
        && start.contains('.')
        && is_numeric(start)
    {
        let first = parse_addr(spec, start)?;
        let last = if let Ok(last) = end.parse::<Ipv4Addr>() {
            u32::from(last)
        } else if let Ok(octet) = end.parse::<u8>()
            && end.bytes().all(|b| b.is_ascii_digit())
        {
            first & 0xFFFF_FF00 | u32::from(octet)
        } else {
            return Err(invalid(
                spec,
                "the end of a range must be an address (10.0.0.1-10.0.3.255) or a last octet \
                 0 to 255 (10.0.0.1-20)",
            ));
        };
        if last < first {
            return Err(invalid(
                spec,
                format!(
                    "the range is reversed: {} comes after {}",
                    Ipv4Addr::from(first),
                    Ipv4Addr::from(last)
                ),
            ));
        }
        return Ok(Spec::Range(first, last));
    }
    if let Ok(addr) = spec.parse::<Ipv4Addr>() {
        let addr = u32::from(addr);
        return Ok(Spec::Range(addr, addr));
    }
    if is_numeric(spec) || looks_like_inet_aton(spec) {
        return Err(invalid(spec, NOT_AN_ADDRESS));
    }
    if is_hostname(spec) {
        return Ok(Spec::Host(spec.to_string()));
    }
    Err(invalid(
        spec,
        "not an address, CIDR (192.0.2.0/24), range (192.0.2.1-192.0.2.9 or 192.0.2.1-9) or \
         hostname",
    ))
}

const NOT_AN_ADDRESS: &str =
    "not a valid IPv4 address: use four decimal octets 0 to 255 without leading zeros";

fn parse_addr(spec: &str, text: &str) -> Result<u32, TargetError> {
    text.parse::<Ipv4Addr>()
        .map(u32::from)
        .map_err(|_| invalid(spec, NOT_AN_ADDRESS))
}

/// Digits and dots only: meant as an address, never to be handed to the resolver, which would
/// read `010.0.0.1` as octal or `10.1` as `10.0.0.1`.
fn is_numeric(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit() || b == b'.')
}

/// `0x7f000001`, `0x7f.1` and the like: dotted parts, each decimal or `0x` hex, which the
/// resolver would also read as an address.
fn looks_like_inet_aton(text: &str) -> bool {
    let hex = |part: &str| {
        part.len() >= 2
            && part[..2].eq_ignore_ascii_case("0x")
            && part[2..].bytes().all(|b| b.is_ascii_hexdigit())
    };
    let dec = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    text.split('.').all(|part| dec(part) || hex(part))
}

fn classify_colon(spec: &str) -> TargetError {
    let core = spec.trim_start_matches('[');
    let core = core.split([']', '/', '%', '-']).next().unwrap_or_default();
    if core.parse::<Ipv6Addr>().is_ok() {
        return invalid(spec, "IPv6 targets are not supported yet");
    }
    if let Some((addr, port)) = spec.rsplit_once(':')
        && addr.parse::<Ipv4Addr>().is_ok()
        && port.bytes().all(|b| b.is_ascii_digit())
    {
        return invalid(
            spec,
            "a target names no port: give ports separately (e.g. -p 80)",
        );
    }
    invalid(spec, "not an IPv4 address, CIDR, range or hostname")
}

/// An LDH name (underscores tolerated) whose last label is not numeric, so nothing the
/// resolver would read as an address slips through as a name.
fn is_hostname(name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.is_empty() || name.len() > 253 {
        return false;
    }
    let label_ok = |label: &str| {
        (1..=63).contains(&label.len())
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    name.split('.').all(label_ok)
        && name
            .rsplit('.')
            .next()
            .is_some_and(|tld| !tld.bytes().all(|b| b.is_ascii_digit()))
}

/// All IPv4 addresses of `host`, from the system resolver.
// The one sanctioned blocking lookup: targets are resolved once, before any probe is sent.
#[allow(clippy::disallowed_methods)]
fn resolve(host: &str) -> Result<Vec<Ipv4Addr>, TargetError> {
    let error = |reason: String| TargetError::Resolve {
        host: host.to_string(),
        reason,
    };
    let addrs = (host, 0)
        .to_socket_addrs()
        .map_err(|e| error(e.to_string()))?;
    let mut v4: Vec<Ipv4Addr> = addrs
        .filter_map(|addr| match addr {
            SocketAddr::V4(addr) => Some(*addr.ip()),
            SocketAddr::V6(_) => None,
        })
        .collect();
    v4.sort_unstable();
    v4.dedup();
    if v4.is_empty() {
        return Err(error(
            "it has no IPv4 address (IPv6 targets are not supported yet)".into(),
        ));
    }
    Ok(v4)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    /// Ranges as (first, last) text, for tables.
    type Bounds = &'static [(&'static str, &'static str)];

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    fn range(first: &str, last: &str) -> Ipv4Range {
        Ipv4Range::new(ip(first), ip(last))
    }

    fn set(specs: &[&str]) -> TargetSet {
        let specs: Vec<String> = specs.iter().map(|s| s.to_string()).collect();
        TargetSet::parse(&specs).unwrap()
    }

    fn parse_err(spec: &str) -> String {
        TargetSet::parse(&[spec.to_string()])
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn parses_every_spec_form() {
        let cases: &[(&str, Bounds)] = &[
            ("192.0.2.7", &[("192.0.2.7", "192.0.2.7")]),
            ("192.0.2.0/24", &[("192.0.2.0", "192.0.2.255")]),
            ("192.0.2.77/24", &[("192.0.2.0", "192.0.2.255")]),
            ("10.1.2.3/8", &[("10.0.0.0", "10.255.255.255")]),
            ("192.0.2.7/32", &[("192.0.2.7", "192.0.2.7")]),
            ("192.0.2.6/31", &[("192.0.2.6", "192.0.2.7")]),
            ("1.2.3.4/0", &[("0.0.0.0", "255.255.255.255")]),
            ("192.0.2.1-192.0.3.4", &[("192.0.2.1", "192.0.3.4")]),
            ("192.0.2.1-20", &[("192.0.2.1", "192.0.2.20")]),
            ("192.0.2.9-9", &[("192.0.2.9", "192.0.2.9")]),
            ("192.0.2.0-255", &[("192.0.2.0", "192.0.2.255")]),
            ("255.255.255.255", &[("255.255.255.255", "255.255.255.255")]),
            (
                "192.0.2.1,192.0.2.2 192.0.2.3",
                &[("192.0.2.1", "192.0.2.3")],
            ),
            (
                "192.0.2.0/25, 192.0.2.128/25",
                &[("192.0.2.0", "192.0.2.255")],
            ),
            (
                "192.0.2.1 192.0.2.9",
                &[("192.0.2.1", "192.0.2.1"), ("192.0.2.9", "192.0.2.9")],
            ),
        ];
        for (spec, want) in cases {
            let want: Vec<Ipv4Range> = want.iter().map(|(a, b)| range(a, b)).collect();
            assert_eq!(set(&[spec]).ranges(), want, "spec {spec}");
        }
    }

    #[test]
    fn rejects_bad_specs_with_a_reason() {
        let cases = [
            ("192.0.2.0/33", "prefix length must be 0 to 32"),
            ("192.0.2.0/240", "prefix length must be 0 to 32"),
            ("192.0.2.0/", "prefix length after `/` must be a number"),
            ("192.0.2.0/x", "prefix length after `/` must be a number"),
            ("192.0.2.0/99999999999", "prefix length must be 0 to 32"),
            ("host.example/24", "not a valid IPv4 address"),
            (
                "192.0.2.20-192.0.2.1",
                "range is reversed: 192.0.2.20 comes after 192.0.2.1",
            ),
            ("192.0.2.20-3", "range is reversed"),
            ("192.0.2.1-256", "end of a range must be an address"),
            ("192.0.2.1-", "end of a range must be an address"),
            ("192.0.2.1-x", "end of a range must be an address"),
            ("256.0.0.1", "not a valid IPv4 address"),
            ("10.1", "not a valid IPv4 address"),
            ("2130706433", "not a valid IPv4 address"),
            ("010.0.0.1", "not a valid IPv4 address"),
            ("127.0.0.01", "not a valid IPv4 address"),
            ("0x7f000001", "not a valid IPv4 address"),
            ("0x7f.0.0.1", "not a valid IPv4 address"),
            ("1.2.3.4.5", "not a valid IPv4 address"),
            ("::1", "IPv6 targets are not supported yet"),
            ("2001:db8::/32", "IPv6 targets are not supported yet"),
            ("[2001:db8::1]", "IPv6 targets are not supported yet"),
            ("fe80::1%eth0", "IPv6 targets are not supported yet"),
            (
                "2001:db8::1-2001:db8::9",
                "IPv6 targets are not supported yet",
            ),
            ("192.0.2.1:80", "names no port"),
            ("a:b", "not an IPv4 address, CIDR, range or hostname"),
            ("-host", "not an address, CIDR"),
            ("host-.example", "not an address, CIDR"),
            ("0x7f.0x1", "not a valid IPv4 address"),
            ("bad!name", "not an address, CIDR"),
            ("a..b", "not an address, CIDR"),
        ];
        for (spec, want) in cases {
            let got = parse_err(spec);
            assert!(
                got.contains(want),
                "spec {spec:?}: got {got:?}, want {want:?}"
            );
            assert!(got.starts_with("invalid target"), "spec {spec:?}: {got}");
        }
    }

    #[test]
    fn empty_spec_lists_are_an_error() {
        for specs in [
            vec![],
            vec![String::new()],
            vec![" , ".to_string(), "\t".to_string()],
        ] {
            let err = TargetSet::parse(&specs).unwrap_err();
            assert!(matches!(err, TargetError::NoTargets), "{specs:?}");
            assert!(err.to_string().starts_with("no targets given"));
        }
    }

    #[test]
    fn hostname_shapes() {
        let cases = [
            ("localhost", true),
            ("scanme.example.org", true),
            ("scanme.example.org.", true),
            ("my-host_1.lan", true),
            ("a1.b2", true),
            ("1.2.3", false),
            ("host.123", false),
            ("-a.b", false),
            ("a-.b", false),
            ("", false),
            (".", false),
            ("a..b", false),
            ("a.b!", false),
        ];
        for (name, want) in cases {
            assert_eq!(is_hostname(name), want, "{name:?}");
        }
        assert!(!is_hostname(&format!("{}.com", "a".repeat(64))));
        assert!(is_hostname(&format!("{}.com", "a".repeat(63))));
    }

    #[test]
    fn hostnames_resolve_once_to_ipv4() {
        // `localhost` comes from /etc/hosts: no packet leaves the machine.
        let targets = set(&["localhost"]);
        assert!(targets.contains(ip("127.0.0.1")), "{targets:?}");
        assert!(targets.ranges().iter().all(|r| r.first.is_loopback()));
    }

    #[test]
    fn from_ranges_merges_overlapping_and_adjacent_ranges() {
        let cases: &[(Bounds, Bounds)] = &[
            (&[], &[]),
            (&[("10.0.0.5", "10.0.0.1")], &[]),
            (
                &[("10.0.0.1", "10.0.0.5"), ("10.0.0.3", "10.0.0.9")],
                &[("10.0.0.1", "10.0.0.9")],
            ),
            (
                &[("10.0.0.6", "10.0.0.9"), ("10.0.0.1", "10.0.0.5")],
                &[("10.0.0.1", "10.0.0.9")],
            ),
            (
                &[("10.0.0.1", "10.0.0.4"), ("10.0.0.6", "10.0.0.9")],
                &[("10.0.0.1", "10.0.0.4"), ("10.0.0.6", "10.0.0.9")],
            ),
            (
                &[("10.0.0.0", "10.0.0.255"), ("10.0.0.7", "10.0.0.7")],
                &[("10.0.0.0", "10.0.0.255")],
            ),
            (
                &[
                    ("255.255.255.0", "255.255.255.255"),
                    ("255.255.255.255", "255.255.255.255"),
                ],
                &[("255.255.255.0", "255.255.255.255")],
            ),
            (
                &[
                    ("0.0.0.0", "127.255.255.255"),
                    ("128.0.0.0", "255.255.255.255"),
                ],
                &[("0.0.0.0", "255.255.255.255")],
            ),
        ];
        for (input, want) in cases {
            let got = TargetSet::from_ranges(input.iter().map(|(a, b)| range(a, b)));
            let want: Vec<Ipv4Range> = want.iter().map(|(a, b)| range(a, b)).collect();
            assert_eq!(got.ranges(), want, "{input:?}");
        }
    }

    #[test]
    fn len_nth_and_contains_agree() {
        let targets = set(&["10.0.0.250-10.0.1.3", "10.0.2.0/31", "10.9.9.9"]);
        let all: Vec<Ipv4Addr> = (0..targets.len())
            .map(|i| targets.nth(i).unwrap())
            .collect();
        let want: Vec<Ipv4Addr> = [
            "10.0.0.250",
            "10.0.0.251",
            "10.0.0.252",
            "10.0.0.253",
            "10.0.0.254",
            "10.0.0.255",
            "10.0.1.0",
            "10.0.1.1",
            "10.0.1.2",
            "10.0.1.3",
            "10.0.2.0",
            "10.0.2.1",
            "10.9.9.9",
        ]
        .iter()
        .map(|s| ip(s))
        .collect();
        assert_eq!(all, want);
        assert_eq!(targets.len(), 13);
        assert_eq!(targets.nth(13), None);
        assert_eq!(targets.nth(u64::MAX), None);
        for addr in &want {
            assert!(targets.contains(*addr), "{addr}");
        }
        for addr in [
            "10.0.0.249",
            "10.0.1.4",
            "10.0.2.2",
            "10.9.9.8",
            "10.9.9.10",
            "0.0.0.0",
        ] {
            assert!(!targets.contains(ip(addr)), "{addr}");
        }
    }

    #[test]
    fn the_whole_space_counts_2_to_the_32() {
        let all = set(&["0.0.0.0/0"]);
        assert_eq!(all.len(), 1 << 32);
        assert_eq!(all.nth(0), Some(ip("0.0.0.0")));
        assert_eq!(all.nth((1 << 32) - 1), Some(ip("255.255.255.255")));
        assert_eq!(all.nth(1 << 32), None);
        assert!(all.contains(Ipv4Addr::BROADCAST));
    }

    #[test]
    fn empty_sets() {
        let empty = TargetSet::default();
        assert!(empty.is_empty());
        assert_eq!(empty.len(), 0);
        assert_eq!(empty.nth(0), None);
        assert!(!empty.contains(ip("0.0.0.0")));
        assert!(empty.split_by_prefix(24).is_empty());
        assert_eq!(empty, TargetSet::from_ranges([]));
        let a = set(&["10.0.0.0/24"]);
        assert_eq!(a.exclude(&a), empty);
        assert_eq!(a.exclude(&empty), a);
        assert_eq!(empty.exclude(&a), empty);
        assert_eq!(a.union(&empty), a);
    }

    #[test]
    fn exclude_cuts_holes_edges_and_spans() {
        let cases: &[(&[&str], &[&str], Bounds)] = &[
            (
                &["10.0.0.0/24"],
                &["10.0.0.0"],
                &[("10.0.0.1", "10.0.0.255")],
            ),
            (
                &["10.0.0.0/24"],
                &["10.0.0.255"],
                &[("10.0.0.0", "10.0.0.254")],
            ),
            (
                &["10.0.0.0/24"],
                &["10.0.0.10-20", "10.0.0.30-40"],
                &[
                    ("10.0.0.0", "10.0.0.9"),
                    ("10.0.0.21", "10.0.0.29"),
                    ("10.0.0.41", "10.0.0.255"),
                ],
            ),
            (&["10.0.0.0/24"], &["10.0.0.0/16"], &[]),
            (
                &["10.0.0.0/24", "10.0.2.0/24"],
                &["10.0.0.128-10.0.2.127"],
                &[("10.0.0.0", "10.0.0.127"), ("10.0.2.128", "10.0.2.255")],
            ),
            (
                &["10.0.0.0/24"],
                &["9.0.0.0/8", "11.0.0.0/8"],
                &[("10.0.0.0", "10.0.0.255")],
            ),
            (
                &["0.0.0.0/0"],
                &["0.0.0.0/1"],
                &[("128.0.0.0", "255.255.255.255")],
            ),
            (
                &["0.0.0.0/0"],
                &["255.255.255.255"],
                &[("0.0.0.0", "255.255.255.254")],
            ),
            (
                &["10.0.0.1", "10.0.0.3", "10.0.0.5"],
                &["10.0.0.2-4"],
                &[("10.0.0.1", "10.0.0.1"), ("10.0.0.5", "10.0.0.5")],
            ),
        ];
        for (base, cut, want) in cases {
            let got = set(base).exclude(&set(cut));
            let want: Vec<Ipv4Range> = want.iter().map(|(a, b)| range(a, b)).collect();
            assert_eq!(got.ranges(), want, "{base:?} - {cut:?}");
            assert_eq!(
                got.len(),
                want.iter()
                    .map(|r| u64::from(u32::from(r.last) - u32::from(r.first)) + 1)
                    .sum()
            );
        }
    }

    #[test]
    fn exclude_matches_a_brute_force_model() {
        let base = set(&["10.0.0.0-10.0.3.10", "10.0.5.0/25", "10.0.7.7"]);
        let cut = set(&[
            "10.0.0.5-9",
            "10.0.1.0/24",
            "10.0.3.10-10.0.5.3",
            "10.0.7.0/24",
        ]);
        let got = base.exclude(&cut);
        for i in 0..base.len() {
            let addr = base.nth(i).unwrap();
            assert_eq!(got.contains(addr), !cut.contains(addr), "{addr}");
        }
        assert!((0..got.len()).all(|i| !cut.contains(got.nth(i).unwrap())));
    }

    #[test]
    fn union_merges() {
        let got = set(&["10.0.0.0/25"]).union(&set(&["10.0.0.128/25", "10.0.2.1"]));
        assert_eq!(
            got.ranges(),
            [
                range("10.0.0.0", "10.0.0.255"),
                range("10.0.2.1", "10.0.2.1")
            ]
        );
    }

    #[test]
    fn split_by_prefix_follows_aligned_blocks() {
        let targets = set(&["10.0.0.250-10.0.2.5", "10.0.2.9", "10.0.8.0/23"]);
        let blocks: Vec<Vec<Ipv4Range>> = targets
            .split_by_prefix(24)
            .iter()
            .map(|s| s.ranges().to_vec())
            .collect();
        assert_eq!(
            blocks,
            vec![
                vec![range("10.0.0.250", "10.0.0.255")],
                vec![range("10.0.1.0", "10.0.1.255")],
                vec![range("10.0.2.0", "10.0.2.5"), range("10.0.2.9", "10.0.2.9")],
                vec![range("10.0.8.0", "10.0.8.255")],
                vec![range("10.0.9.0", "10.0.9.255")],
            ]
        );
        let total: u64 = targets.split_by_prefix(24).iter().map(TargetSet::len).sum();
        assert_eq!(total, targets.len());

        assert_eq!(targets.split_by_prefix(0), vec![targets.clone()]);
        assert_eq!(targets.split_by_prefix(16), vec![targets.clone()]);
        let singles = set(&["10.0.0.1-3"]).split_by_prefix(40);
        assert_eq!(singles.len(), 3);
        assert!(singles.iter().all(|s| s.len() == 1));
        let top = set(&["255.255.255.254/31"]).split_by_prefix(32);
        assert_eq!(top.len(), 2);
        assert_eq!(set(&["0.0.0.0/0"]).split_by_prefix(1).len(), 2);
    }

    #[test]
    fn default_excludes_cover_reserved_space() {
        let ex = default_excludes();
        for addr in [
            "0.0.0.0",
            "0.255.255.255",
            "224.0.0.1",
            "239.255.255.255",
            "240.0.0.1",
        ] {
            assert!(ex.contains(ip(addr)), "{addr}");
        }
        assert!(ex.contains(Ipv4Addr::BROADCAST));
        for addr in ["1.0.0.0", "127.0.0.1", "223.255.255.255", "10.0.0.1"] {
            assert!(!ex.contains(ip(addr)), "{addr}");
        }
        assert_eq!(ex.len(), (1 << 24) + (1 << 29));
    }

    #[test]
    fn classify_keeps_names_apart_from_numbers() {
        let cases = [
            ("0xdeadbeef.example.com", true),
            ("db-1.internal", true),
            ("10-0-0-1.example", true),
            ("0x7f000001", false),
            ("10.1", false),
            ("10.0.0.1-5", false),
        ];
        for (spec, is_host) in cases {
            let got = classify(spec);
            assert_eq!(
                matches!(got, Ok(Spec::Host(ref h)) if h == spec),
                is_host,
                "{spec}: {got:?}"
            );
        }
    }

    #[test]
    fn target_files_allow_comments_blanks_and_commas() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        writeln!(
            file,
            "# lab\n192.0.2.0/24  # the lab\n\n 192.0.2.1, 192.0.2.5-9\tlocalhost\n"
        )
        .unwrap();
        let specs = read_target_file(file.path()).unwrap();
        assert_eq!(
            specs,
            ["192.0.2.0/24", "192.0.2.1", "192.0.2.5-9", "localhost"]
        );
    }

    #[test]
    fn target_file_errors_name_path_and_line() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        writeln!(file, "192.0.2.1\n# ok\n192.0.2.9-1\n").unwrap();
        let err = read_target_file(file.path()).unwrap_err().to_string();
        let want = format!(
            "{}:3: invalid target `192.0.2.9-1`: the range is reversed",
            file.path().display()
        );
        assert!(err.starts_with(&want), "{err}");

        let missing = file.path().with_extension("missing");
        let err = read_target_file(&missing).unwrap_err();
        assert!(matches!(err, TargetError::File { .. }), "{err}");
        assert!(err.to_string().contains("cannot read target file"));
    }
}
