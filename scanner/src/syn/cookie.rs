//! The keyed hash that makes probes self-validating.
//!
//! A probe's sequence number is SipHash-1-3 of its 4-tuple under a key drawn at random per
//! scan. A genuine SYN-ACK or reset acknowledges that number plus one; someone who sees no
//! probe cannot compute it without the key (a blind forger guesses right once in 2^32), and a
//! reply to another scan or another tool does not match. So the engine keeps no table of
//! outstanding probes and its memory does not grow with the target count.

use std::net::Ipv4Addr;

/// A per-scan secret key for probe cookies.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ReplyKey {
    k0: u64,
    k1: u64,
}

impl std::fmt::Debug for ReplyKey {
    // The key is a secret of the scan: keep it out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReplyKey(..)")
    }
}

impl ReplyKey {
    /// A key from 16 bytes, which should come from a random source.
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        let (k0, k1) = bytes.split_at(8);
        Self {
            k0: u64::from_le_bytes(k0.try_into().unwrap_or_default()),
            k1: u64::from_le_bytes(k1.try_into().unwrap_or_default()),
        }
    }

    /// The cookie of the probe from `src:src_port` to `dst:dst_port`.
    #[inline]
    pub fn cookie(&self, src: Ipv4Addr, dst: Ipv4Addr, src_port: u16, dst_port: u16) -> u32 {
        let message = tuple_bytes(src, dst, src_port, dst_port);
        // SipHash's output is uniform; any 32 of its bits are as good as the others.
        siphash::<1, 3>(self.k0, self.k1, &message) as u32
    }
}

/// The 4-tuple as the 12 bytes hashed.
#[inline]
fn tuple_bytes(src: Ipv4Addr, dst: Ipv4Addr, src_port: u16, dst_port: u16) -> [u8; 12] {
    let mut m = [0u8; 12];
    m[0..4].copy_from_slice(&src.octets());
    m[4..8].copy_from_slice(&dst.octets());
    m[8..10].copy_from_slice(&src_port.to_be_bytes());
    m[10..12].copy_from_slice(&dst_port.to_be_bytes());
    m
}

/// SipHash-C-D of a 12-byte message (Aumasson and Bernstein): one full block, then the last
/// four bytes with the length in the top byte.
#[inline]
fn siphash<const C: usize, const D: usize>(k0: u64, k1: u64, m: &[u8; 12]) -> u64 {
    let mut v = [
        k0 ^ 0x736f_6d65_7073_6575,
        k1 ^ 0x646f_7261_6e64_6f6d,
        k0 ^ 0x6c79_6765_6e65_7261,
        k1 ^ 0x7465_6462_7974_6573,
    ];
    let first = u64::from_le_bytes([m[0], m[1], m[2], m[3], m[4], m[5], m[6], m[7]]);
    let last = u64::from(u32::from_le_bytes([m[8], m[9], m[10], m[11]])) | (12u64 << 56);
    for block in [first, last] {
        v[3] ^= block;
        for _ in 0..C {
            round(&mut v);
        }
        v[0] ^= block;
    }
    v[2] ^= 0xff;
    for _ in 0..D {
        round(&mut v);
    }
    v[0] ^ v[1] ^ v[2] ^ v[3]
}

#[inline(always)]
fn round(v: &mut [u64; 4]) {
    v[0] = v[0].wrapping_add(v[1]);
    v[1] = v[1].rotate_left(13) ^ v[0];
    v[0] = v[0].rotate_left(32);
    v[2] = v[2].wrapping_add(v[3]);
    v[3] = v[3].rotate_left(16) ^ v[2];
    v[0] = v[0].wrapping_add(v[3]);
    v[3] = v[3].rotate_left(21) ^ v[0];
    v[2] = v[2].wrapping_add(v[1]);
    v[1] = v[1].rotate_left(17) ^ v[2];
    v[2] = v[2].rotate_left(32);
}

#[cfg(test)]
mod tests {
    use std::hash::Hasher;

    use super::*;

    #[test]
    #[allow(deprecated, reason = "std's SipHasher is SipHash-2-4, the reference to check against")]
    fn the_round_function_is_siphash() {
        let keys = [(0, 0), (0x0706_0504_0302_0100, 0x0f0e_0d0c_0b0a_0908), (u64::MAX, 42)];
        for (k0, k1) in keys {
            for i in 0..500u32 {
                let m = tuple_bytes(
                    Ipv4Addr::from(i.wrapping_mul(0x9e37_79b9)),
                    Ipv4Addr::from(!i),
                    i as u16,
                    (i >> 3) as u16,
                );
                let mut reference = std::hash::SipHasher::new_with_keys(k0, k1);
                reference.write(&m);
                assert_eq!(siphash::<2, 4>(k0, k1, &m), reference.finish(), "message {m:?}");
            }
        }
    }

    #[test]
    fn cookies_depend_on_the_key_and_every_part_of_the_tuple() {
        let key = ReplyKey::from_bytes(*b"0123456789abcdef");
        let other = ReplyKey::from_bytes(*b"0123456789abcdeF");
        let (a, b) = (Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2));
        let base = key.cookie(a, b, 61_000, 80);
        assert_eq!(base, key.cookie(a, b, 61_000, 80), "deterministic");
        assert_ne!(base, other.cookie(a, b, 61_000, 80));
        assert_ne!(base, key.cookie(b, b, 61_000, 80));
        assert_ne!(base, key.cookie(a, a, 61_000, 80));
        assert_ne!(base, key.cookie(a, b, 61_001, 80));
        assert_ne!(base, key.cookie(a, b, 61_000, 81));
        assert_eq!(format!("{key:?}"), "ReplyKey(..)", "the key stays out of logs");
    }
}
