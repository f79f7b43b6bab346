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
        Self { first: Ipv4Addr::from(first), last: Ipv4Addr::from(last) }
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
                Spec::Host(host) => ranges
                    .extend(resolve(&host)?.into_iter().map(|ip| (u32::from(ip), u32::from(ip)))),
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
        Self { ranges: bounds.into_iter().map(Ipv4Range::from_bounds).collect(), starts }
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
    let text = std::fs::read_to_string(path)
        .map_err(|source| TargetError::File { path: name(), source })?;
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
    spec.split(|c: char| c.is_whitespace() || c == ',').filter(|item| !item.is_empty())
}

fn invalid(spec: &str, reason: impl Into<String>) -> TargetError {
    TargetError::Invalid { spec: spec.to_string(), reason: reason.into() }
}

/// Decides what `spec` denotes without resolving anything.
fn classify(spec: &str) -> Result<Spec, TargetError> {
    if spec.contains(':') {
        return Err(classify_colon(spec));
    }
    if let Some((addr, prefix)) = spec.split_once('/') {
        let addr = parse_addr(spec, addr)?;
        if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid(spec, "the prefix length after `/` must be a number 0 to 32"));
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
    text.parse::<Ipv4Addr>().map(u32::from).map_err(|_| invalid(spec, NOT_AN_ADDRESS))
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
        // `get`, not indexing: the part may start with a multi-byte character.
        part.get(..2).is_some_and(|prefix| prefix.eq_ignore_ascii_case("0x"))
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
        return invalid(spec, "a target names no port: give ports separately (e.g. -p 80)");
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
            && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    name.split('.').all(label_ok)
        && name.rsplit('.').next().is_some_and(|tld| !tld.bytes().all(|b| b.is_ascii_digit()))
}

/// All IPv4 addresses of `host`, from the system resolver.
// The one sanctioned blocking lookup: targets are resolved once, before any probe is sent.
#[allow(clippy::disallowed_methods)]
fn resolve(host: &str) -> Result<Vec<Ipv4Addr>, TargetError> {
    let error = |reason: String| TargetError::Resolve { host: host.to_string(), reason };
    let addrs = (host, 0).to_socket_addrs().map_err(|e| error(e.to_string()))?;
    let mut v4: Vec<Ipv4Addr> = addrs
        .filter_map(|addr| match addr {
            SocketAddr::V4(addr) => Some(*addr.ip()),
            SocketAddr::V6(_) => None,
        })
        .collect();
    v4.sort_unstable();
    v4.dedup();
    if v4.is_empty() {
        return Err(error("it has no IPv4 address (IPv6 targets are not supported yet)".into()));
    }
    Ok(v4)
}

#[cfg(test)]
mod tests;
