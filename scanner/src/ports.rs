//! Port lists.

use crate::PortError;
use crate::top_ports::TOP_PORTS;

/// A sorted list of distinct TCP ports (1..=65535).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PortList {
    ports: Vec<u16>,
}

/// One bit per port number, to sort and deduplicate in linear time.
struct PortBits([u64; 1024]);

impl PortList {
    /// Size of the built-in list behind [`PortList::top`].
    pub const TOP_MAX: usize = TOP_PORTS.len();

    /// Parses `22,80,8000-8100` (blanks allowed around items). Port 0, ports above 65535,
    /// reversed ranges and empty lists are errors that say which item is wrong.
    ///
    /// As in nmap, a range may leave out an end: `-1024` starts at 1, `60000-` ends at 65535
    /// and `-` alone is every port.
    pub fn parse(spec: &str) -> Result<Self, PortError> {
        if spec.trim().is_empty() {
            return Err(PortError::Empty);
        }
        let mut bits = PortBits::new();
        for item in spec.split(',') {
            let item = item.trim();
            let invalid =
                |reason: &str| PortError::Invalid { item: item.to_string(), reason: reason.into() };
            if item.is_empty() {
                return Err(invalid("empty item: separate ports with single commas"));
            }
            let (first, last) = match item.split_once('-') {
                Some((first, last)) => {
                    let first = if first.trim().is_empty() { 1 } else { parse_port(first.trim())? };
                    let last =
                        if last.trim().is_empty() { u16::MAX } else { parse_port(last.trim())? };
                    if first > last {
                        return Err(invalid(&format!(
                            "the range is reversed: {first} comes after {last}"
                        )));
                    }
                    (first, last)
                }
                None => {
                    let port = parse_port(item)?;
                    (port, port)
                }
            };
            bits.insert_range(first, last);
        }
        Ok(bits.into_list())
    }
    /// The `n` most common TCP ports (1..=1000), from a built-in list ordered by frequency.
    pub fn top(n: usize) -> Result<Self, PortError> {
        if !(1..=Self::TOP_MAX).contains(&n) {
            return Err(PortError::TopOutOfRange { asked: n, max: Self::TOP_MAX });
        }
        Ok(Self::from_ports(TOP_PORTS[..n].iter().copied()))
    }
    /// Builds from any ports (deduplicated, sorted); port 0 is dropped.
    pub fn from_ports(ports: impl IntoIterator<Item = u16>) -> Self {
        let mut bits = PortBits::new();
        for port in ports {
            bits.insert_range(port, port);
        }
        bits.into_list()
    }
    /// The union of two lists.
    pub fn union(&self, other: &Self) -> Self {
        let (a, b) = (&self.ports, &other.ports);
        let mut ports = Vec::with_capacity(a.len() + b.len());
        let (mut i, mut j) = (0, 0);
        while i < a.len() && j < b.len() {
            let next = a[i].min(b[j]);
            i += usize::from(a[i] == next);
            j += usize::from(b[j] == next);
            ports.push(next);
        }
        ports.extend_from_slice(&a[i..]);
        ports.extend_from_slice(&b[j..]);
        Self { ports }
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
        let mut spec = String::new();
        let mut rest = self.ports.as_slice();
        while let Some((&first, _)) = rest.split_first() {
            // Ports are distinct and sorted, so a run is where value - index stays constant.
            let run = rest
                .iter()
                .zip(u32::from(first)..)
                .take_while(|(port, want)| u32::from(**port) == *want)
                .count();
            let last = rest[run - 1];
            if !spec.is_empty() {
                spec.push(',');
            }
            spec.push_str(&first.to_string());
            if last != first {
                spec.push('-');
                spec.push_str(&last.to_string());
            }
            rest = &rest[run..];
        }
        spec
    }
}

impl PortBits {
    fn new() -> Self {
        Self([0; 1024])
    }
    /// Sets `first..=last`, port 0 excluded.
    fn insert_range(&mut self, first: u16, last: u16) {
        for port in first.max(1)..=last {
            self.0[usize::from(port >> 6)] |= 1 << (port & 63);
        }
    }
    fn into_list(self) -> PortList {
        let mut ports = Vec::new();
        for (word_index, &word) in self.0.iter().enumerate() {
            let mut word = word;
            while word != 0 {
                ports.push((word_index as u16) << 6 | word.trailing_zeros() as u16);
                word &= word - 1;
            }
        }
        PortList { ports }
    }
}

fn parse_port(text: &str) -> Result<u16, PortError> {
    let invalid =
        |reason: &str| PortError::Invalid { item: text.to_string(), reason: reason.into() };
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid("not a port number or range like 8000-8100"));
    }
    // All digits, so the only parse failure left is overflow.
    match text.parse::<u32>() {
        Ok(0) => Err(invalid("port 0 cannot be scanned; ports are 1 to 65535")),
        Ok(port) => u16::try_from(port).map_err(|_| invalid("ports go up to 65535")),
        Err(_) => Err(invalid("ports go up to 65535")),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn parses_lists_and_ranges() {
        let cases: &[(&str, &[u16])] = &[
            ("22", &[22]),
            ("80,22", &[22, 80]),
            (" 22 , 80 ,443 ", &[22, 80, 443]),
            ("8000-8003", &[8000, 8001, 8002, 8003]),
            ("8000 - 8002", &[8000, 8001, 8002]),
            ("5-5", &[5]),
            ("22,20-23,22", &[20, 21, 22, 23]),
            ("65535", &[65535]),
            ("65534-", &[65534, 65535]),
            ("-3", &[1, 2, 3]),
            ("00022", &[22]),
        ];
        for (spec, want) in cases {
            assert_eq!(PortList::parse(spec).unwrap().as_slice(), *want, "{spec:?}");
        }
        assert_eq!(PortList::parse("-").unwrap().len(), 65535);
        assert_eq!(PortList::parse("1-65535").unwrap().len(), 65535);
    }

    #[test]
    fn errors_name_the_item_and_the_reason() {
        let cases = [
            ("0", "invalid port `0`: port 0 cannot be scanned"),
            ("22,0-10", "invalid port `0`: port 0 cannot be scanned"),
            ("65536", "invalid port `65536`: ports go up to 65535"),
            ("99999999999999999999", "invalid port `99999999999999999999`: ports go up to 65535"),
            ("22,100-20", "invalid port `100-20`: the range is reversed: 100 comes after 20"),
            ("http", "invalid port `http`: not a port number"),
            ("22,8o", "invalid port `8o`: not a port number"),
            ("-22-", "invalid port `22-`: not a port number"),
            ("+22", "invalid port `+22`: not a port number"),
            ("22,,80", "invalid port ``: empty item"),
            ("22,", "invalid port ``: empty item"),
        ];
        for (spec, want) in cases {
            let got = PortList::parse(spec).unwrap_err().to_string();
            assert!(got.starts_with(want), "{spec:?}: got {got:?}, want {want:?}");
        }
        for spec in ["", "  ", "\t"] {
            assert!(matches!(PortList::parse(spec), Err(PortError::Empty)), "{spec:?}");
        }
    }

    #[test]
    fn the_top_list_holds_1000_distinct_real_ports() {
        assert_eq!(TOP_PORTS.len(), 1000);
        let distinct: HashSet<u16> = TOP_PORTS.iter().copied().collect();
        assert_eq!(distinct.len(), 1000);
        assert!(!distinct.contains(&0));
        assert_eq!(
            TOP_PORTS[..20],
            [
                80, 23, 443, 21, 22, 25, 3389, 110, 445, 139, 143, 53, 135, 3306, 8080, 1723, 111,
                995, 993, 5900
            ]
        );
    }

    #[test]
    fn top_takes_the_most_frequent() {
        assert_eq!(PortList::top(1).unwrap().as_slice(), [80]);
        assert_eq!(PortList::top(5).unwrap().as_slice(), [21, 22, 23, 80, 443]);
        assert_eq!(PortList::top(1000).unwrap().len(), 1000);
        // The set nmap scans by default begins like this.
        assert!(PortList::top(1000).unwrap().to_spec().starts_with("1,3-4,6-7,9,13,17,19-26,30,"));
        for n in [0, 1001, usize::MAX] {
            let err = PortList::top(n).unwrap_err();
            assert!(matches!(err, PortError::TopOutOfRange { asked, max: 1000 } if asked == n));
        }
    }

    #[test]
    fn from_ports_sorts_dedups_and_drops_zero() {
        let list = PortList::from_ports([443, 0, 22, 443, 65535, 1]);
        assert_eq!(list.as_slice(), [1, 22, 443, 65535]);
        assert!(PortList::from_ports([0]).is_empty());
        assert_eq!(PortList::from_ports([]), PortList::default());
    }

    #[test]
    fn union_merges_sorted_lists() {
        let cases: &[(&[u16], &[u16], &[u16])] = &[
            (&[], &[], &[]),
            (&[22], &[], &[22]),
            (&[], &[22], &[22]),
            (&[22, 80], &[22, 443], &[22, 80, 443]),
            (&[1, 3, 5], &[2, 4, 6, 8], &[1, 2, 3, 4, 5, 6, 8]),
        ];
        for (a, b, want) in cases {
            let a = PortList::from_ports(a.iter().copied());
            let b = PortList::from_ports(b.iter().copied());
            assert_eq!(a.union(&b).as_slice(), *want);
            assert_eq!(b.union(&a).as_slice(), *want);
        }
    }

    #[test]
    fn to_spec_compresses_runs_and_round_trips() {
        let cases: &[(&[u16], &str)] = &[
            (&[], ""),
            (&[22], "22"),
            (&[22, 23], "22-23"),
            (&[21, 22, 23, 80, 8000, 8001, 8002, 65535], "21-23,80,8000-8002,65535"),
            (&[1, 3, 5], "1,3,5"),
            (&[65534, 65535], "65534-65535"),
        ];
        for (ports, want) in cases {
            let list = PortList::from_ports(ports.iter().copied());
            assert_eq!(list.to_spec(), *want);
            if !ports.is_empty() {
                assert_eq!(PortList::parse(want).unwrap(), list);
            }
        }
        assert_eq!(PortList::parse("-").unwrap().to_spec(), "1-65535");
        let top = PortList::top(1000).unwrap();
        assert_eq!(PortList::parse(&top.to_spec()).unwrap(), top);
    }
}
