//! IPv4 target sets: parsing, exclusion, and index -> address without materializing.

use std::net::Ipv4Addr;
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
    /// `starts[i]` = number of addresses in `ranges[..i]`.
    starts: Vec<u64>,
}

impl TargetSet {
    /// Parses target specs: `a.b.c.d`, `a.b.c.d/n`, `a.b.c.d-e.f.g.h`, `a.b.c.d-h` (last
    /// octet), or a hostname, resolved once here (all its IPv4 addresses).
    pub fn parse(specs: &[String]) -> Result<Self, TargetError> {
        let _ = specs;
        todo!()
    }
    /// Builds a set from arbitrary ranges (overlaps merged).
    pub fn from_ranges(ranges: impl IntoIterator<Item = Ipv4Range>) -> Self {
        let _ = ranges;
        todo!()
    }
    /// The union of two sets.
    pub fn union(&self, other: &Self) -> Self {
        let _ = other;
        todo!()
    }
    /// This set minus `other`.
    pub fn exclude(&self, other: &Self) -> Self {
        let _ = other;
        todo!()
    }
    /// Number of addresses.
    pub fn len(&self) -> u64 {
        todo!()
    }
    /// True when there is no address.
    pub fn is_empty(&self) -> bool {
        todo!()
    }
    /// The `i`-th address in ascending order; `None` past the end.
    pub fn nth(&self, i: u64) -> Option<Ipv4Addr> {
        let _ = i;
        todo!()
    }
    /// Membership test.
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        let _ = ip;
        todo!()
    }
    /// The ranges, ascending.
    pub fn ranges(&self) -> &[Ipv4Range] {
        &self.ranges
    }
    /// Splits the set along aligned blocks of `/prefix_len` (e.g. 24): one set per block that
    /// holds at least one address, ascending.
    pub fn split_by_prefix(&self, prefix_len: u8) -> Vec<TargetSet> {
        let _ = prefix_len;
        todo!()
    }
}

/// Reserved space no scan should touch unless the operator overrides it: 0.0.0.0/8, multicast
/// 224.0.0.0/4, reserved 240.0.0.0/4 and the limited broadcast address.
pub fn default_excludes() -> TargetSet {
    todo!()
}

/// Reads a target file (`-iL`, `--exclude-file`): one spec per line or several separated by
/// blanks or commas; `#` starts a comment. Errors name the file and line.
pub fn read_target_file(path: &Path) -> Result<Vec<String>, TargetError> {
    let _ = path;
    todo!()
}
