//! Port lists.

use crate::PortError;

/// A sorted list of distinct TCP ports (1..=65535).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PortList {
    ports: Vec<u16>,
}

impl PortList {
    /// Parses `22,80,8000-8100` (blanks allowed around items). Port 0, ports above 65535,
    /// reversed ranges and empty lists are errors that say which item is wrong.
    pub fn parse(spec: &str) -> Result<Self, PortError> {
        let _ = spec;
        todo!()
    }
    /// The `n` most common TCP ports (1..=1000), from a built-in list ordered by frequency.
    pub fn top(n: usize) -> Result<Self, PortError> {
        let _ = n;
        todo!()
    }
    /// Builds from any ports (deduplicated, sorted); port 0 is dropped.
    pub fn from_ports(ports: impl IntoIterator<Item = u16>) -> Self {
        let _ = ports;
        todo!()
    }
    /// The union of two lists.
    pub fn union(&self, other: &Self) -> Self {
        let _ = other;
        todo!()
    }
    /// Number of ports.
    pub fn len(&self) -> usize {
        self.ports.len()
    }
    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.ports.is_empty()
    }
    /// The ports, ascending.
    pub fn as_slice(&self) -> &[u16] {
        &self.ports
    }
    /// Canonical text form, ranges compressed: `22,80,8000-8100`.
    pub fn to_spec(&self) -> String {
        todo!()
    }
}
