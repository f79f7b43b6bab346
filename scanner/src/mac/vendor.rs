//! The vendor lookup: the most specific registry that lists the address's prefix wins.

use super::registry::{BITS_24, BITS_28, BITS_36, NAMES};
use super::render::OFFSET_BITS;
use crate::MacAddr;

/// The organisation holding `mac`'s prefix, trying 36, then 28, then 24 bits, since the IEEE
/// carves MA-M and MA-S blocks out of MA-L blocks it holds itself.
pub(crate) fn lookup(mac: MacAddr) -> Option<&'static str> {
    let mac = mac.to_u64();
    [(BITS_36, 36), (BITS_28, 28), (BITS_24, 24)].into_iter().find_map(|(table, bits)| {
        let prefix = mac >> (48 - bits);
        let at = table.binary_search_by_key(&prefix, |entry| entry >> OFFSET_BITS).ok()?;
        let offset = usize::try_from(table[at] & ((1 << OFFSET_BITS) - 1)).ok()?;
        NAMES.get(offset..)?.split('\n').next()
    })
}

#[cfg(test)]
mod tests {
    use super::super::render::header;
    use super::*;

    fn vendor(mac: &str) -> Option<&'static str> {
        mac.parse::<MacAddr>().unwrap().vendor()
    }

    /// Assignments as listed in the IEEE files the table was generated from.
    #[test]
    fn known_assignments() {
        let cases = [
            ("00:00:0c:01:02:03", Some("Cisco Systems, Inc"), "MA-L"),
            ("00:1b:21:00:00:01", Some("Intel Corporate"), "MA-L"),
            ("52:54:00:12:34:56", None, "QEMU's locally administered default"),
            ("02:00:00:00:00:01", None, "locally administered"),
            // MA-M 741AE09 inside the MA-L 741AE0 that the IEEE holds.
            ("74:1a:e0:90:00:01", Some("Private"), "MA-M"),
            ("74:1a:e0:00:00:01", Some("Huano International Technology Limited"), "MA-M"),
            // 70B3D5 is the IEEE's own MA-L; without the MA-S table its blocks would say so.
            ("70:b3:d5:00:00:01", Some("IEEE Registration Authority"), "MA-L, no MA-S listed"),
            (
                "20:85:93:d0:00:01",
                Some("Shanghai Kenmyond Industrial Network Equipment Co.,Ltd"),
                "MA-M",
            ),
            ("70:b3:d5:f2:f0:01", Some("TELEPLATFORMS"), "MA-S"),
            ("70:b3:d5:71:90:01", Some("2M Technology"), "MA-S"),
        ];
        for (mac, expected, what) in cases {
            assert_eq!(vendor(mac), expected, "{mac} ({what})");
        }
    }

    /// The committed table is what the generator writes: its header, and tables that are
    /// sorted, free of duplicates and pointing at the start of a name.
    #[test]
    fn the_committed_table_has_the_generators_format() {
        let source = include_str!("registry.rs");
        let first_line = header("x").lines().next().unwrap_or_default().to_owned();
        assert!(source.starts_with(&first_line), "registry.rs was not written by the generator");
        assert!(NAMES.ends_with('\n'));
        let names: Vec<&str> = NAMES.trim_end_matches('\n').split('\n').collect();
        assert!(names.windows(2).all(|w| w[0] < w[1]), "names sorted and deduplicated");
        assert!(names.len() > 20_000, "{} names", names.len());
        for table in [BITS_36, BITS_28, BITS_24] {
            assert!(table.windows(2).all(|w| w[0] >> OFFSET_BITS < w[1] >> OFFSET_BITS));
            for entry in table {
                let offset = (entry & ((1 << OFFSET_BITS) - 1)) as usize;
                assert!(offset == 0 || NAMES.as_bytes()[offset - 1] == b'\n', "{entry:#x}");
            }
        }
        assert!(BITS_24.len() > 30_000 && BITS_28.len() > 4_000 && BITS_36.len() > 8_000);
    }
}
