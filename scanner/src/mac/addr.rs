//! [`MacAddr`]: an Ethernet address.

use std::fmt;
use std::str::FromStr;

/// An Ethernet address, written `02:5d:6c:00:00:02`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    /// The organisation the IEEE assigned this address's prefix to, the most specific
    /// registry first (MA-S/IAB 36 bits, MA-M 28 bits, MA-L 24 bits). `None` for locally
    /// administered addresses and unassigned prefixes.
    pub fn vendor(&self) -> Option<&'static str> {
        super::vendor::lookup(*self)
    }

    /// Whether the address was set by an administrator rather than taken from a registry
    /// (the `U/L` bit): such an address says nothing about the vendor.
    pub fn is_local(&self) -> bool {
        self.0[0] & 0x02 != 0
    }

    /// The 48 bits as a number, most significant byte first.
    pub(crate) fn to_u64(self) -> u64 {
        self.0.iter().fold(0, |v, &b| v << 8 | u64::from(b))
    }
}

impl FromStr for MacAddr {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || format!("`{s}` is not a MAC address like 02:5d:6c:00:00:02");
        let mut mac = [0u8; 6];
        let mut parts = s.split([':', '-']);
        for byte in &mut mac {
            let part = parts.next().filter(|p| p.len() == 2).ok_or_else(invalid)?;
            *byte = u8::from_str_radix(part, 16).map_err(|_| invalid())?;
        }
        if parts.next().is_some() {
            return Err(invalid());
        }
        Ok(MacAddr(mac))
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints() {
        let mac: MacAddr = "00:00:0C:12:34:56".parse().unwrap();
        assert_eq!(mac.to_string(), "00:00:0c:12:34:56");
        assert_eq!("00-00-0c-12-34-56".parse::<MacAddr>(), Ok(mac));
        assert_eq!(mac.to_u64(), 0x0000_0c12_3456);
        assert!(!mac.is_local());
        assert!("02:00:00:00:00:01".parse::<MacAddr>().unwrap().is_local());
        for bad in ["", "00:00:0c", "00:00:0c:12:34:56:78", "0:0:c:12:34:56", "zz:00:0c:12:34:56"] {
            let error = bad.parse::<MacAddr>().unwrap_err();
            assert!(error.contains("not a MAC address"), "{bad}: {error}");
        }
    }
}
