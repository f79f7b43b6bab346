//! A keyed pseudo-random permutation of `0..n`.

/// Feistel rounds: four make a strong pseudo-random permutation (Luby-Rackoff); more only
/// cost time.
const ROUNDS: usize = 4;

/// A bijection of `0..n` chosen by a seed, computed per index in O(1) expected time and O(1)
/// memory (a Feistel network over the next power of four with cycle walking).
#[derive(Debug, Clone)]
pub struct Permutation {
    n: u64,
    /// Bits in each Feistel half: the network permutes `0..2^(2 * half_bits)`, the smallest
    /// such domain (at least 4) that holds `n`, so cycle walking takes under 4 steps on
    /// average.
    half_bits: u32,
    keys: [u64; ROUNDS],
}

impl Permutation {
    /// A permutation of `0..n` keyed by `seed`; the same `(n, seed)` gives the same order.
    pub fn new(n: u64, seed: u64) -> Self {
        let domain_bits = u64::BITS - (n.max(4) - 1).leading_zeros();
        let mut state = seed;
        let keys = std::array::from_fn(|_| splitmix64(&mut state));
        Self { n, half_bits: domain_bits.div_ceil(2), keys }
    }
    /// The domain size.
    pub fn len(&self) -> u64 {
        self.n
    }
    /// True when the domain is empty.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }
    /// The image of `i` (`i < n`).
    ///
    /// # Panics
    /// When `i >= n`: from outside the domain the cycle walk need not end.
    #[inline]
    pub fn nth(&self, i: u64) -> u64 {
        assert!(i < self.n, "index {i} is outside a permutation of {}", self.n);
        // Walking the cycle of `i` until it re-enters `0..n` keeps the map a bijection of
        // `0..n`; the cycle holds `i` itself, so the walk ends.
        let mut x = self.feistel(i);
        while x >= self.n {
            x = self.feistel(x);
        }
        x
    }

    /// One pass of the balanced Feistel network over `0..2^(2 * half_bits)`.
    #[inline]
    fn feistel(&self, x: u64) -> u64 {
        let mask = (1u64 << self.half_bits) - 1;
        let (mut left, mut right) = (x >> self.half_bits, x & mask);
        for key in self.keys {
            let next = left ^ (mix(right ^ key) & mask);
            left = right;
            right = next;
        }
        (left << self.half_bits) | right
    }
}

/// The splitmix64/murmur3 finalizer: every input bit flips each output bit with probability
/// close to one half.
#[inline]
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// splitmix64's generator step: spreads one seed over independent-looking round keys.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    mix(*state)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(n: u64, seed: u64) -> Vec<u64> {
        let p = Permutation::new(n, seed);
        (0..n).map(|i| p.nth(i)).collect()
    }

    #[test]
    fn is_a_bijection_for_many_sizes() {
        let sizes =
            [1, 2, 3, 4, 5, 7, 8, 15, 16, 17, 100, 255, 256, 257, 1000, 4095, 4096, 4097, 65_537];
        for n in sizes {
            for seed in [0, 1, 0xdead_beef, u64::MAX] {
                let mut seen = vec![false; n as usize];
                for x in order(n, seed) {
                    assert!(x < n, "n {n} seed {seed}: {x} out of range");
                    assert!(!seen[x as usize], "n {n} seed {seed}: {x} twice");
                    seen[x as usize] = true;
                }
            }
        }
    }

    #[test]
    fn empty_domain() {
        let p = Permutation::new(0, 7);
        assert!(p.is_empty());
        assert_eq!(p.len(), 0);
    }

    #[test]
    #[should_panic(expected = "outside a permutation of 10")]
    fn indexes_past_the_end_panic() {
        Permutation::new(10, 7).nth(10);
    }

    #[test]
    fn domains_are_the_smallest_power_of_four() {
        let cases = [(0, 1), (1, 1), (4, 1), (5, 2), (16, 2), (17, 3), (1 << 24, 12)];
        for (n, half_bits) in cases {
            assert_eq!(Permutation::new(n, 0).half_bits, half_bits, "n {n}");
        }
        assert_eq!(Permutation::new((1 << 24) + 1, 0).half_bits, 13);
        assert_eq!(Permutation::new(u64::MAX, 0).half_bits, 32);
    }

    #[test]
    fn huge_domains_stay_in_range() {
        // A /0 times every port, and the largest domain at all.
        for n in [(1u64 << 32) * 65_535, u64::MAX] {
            let p = Permutation::new(n, 3);
            for i in [0, 1, n / 2, n - 1] {
                assert!(p.nth(i) < n);
            }
        }
    }

    #[test]
    fn the_seed_picks_the_order() {
        for n in [10, 1000, 4097] {
            assert_eq!(order(n, 42), order(n, 42));
            assert_ne!(order(n, 42), order(n, 43), "n {n}");
            assert_ne!(order(n, 0), order(n, 1 << 63), "n {n}: high seed bits matter");
        }
    }

    #[test]
    fn is_far_from_the_identity() {
        for n in [1000, 65_536, 100_003] {
            let got = order(n, 9);
            let fixed = got.iter().enumerate().filter(|&(i, &x)| i as u64 == x).count();
            // A random permutation has one fixed point on average.
            assert!(fixed < 10, "n {n}: {fixed} fixed points");
            let ascending = got.windows(2).filter(|w| w[1] == w[0] + 1).count();
            assert!(ascending < 10, "n {n}: {ascending} ascending neighbours");
        }
    }

    #[test]
    fn prefixes_spread_over_the_domain() {
        // The first 1/16 of the walk should touch every 1/16 of the domain about equally.
        let n = 1 << 16;
        let p = Permutation::new(n, 5);
        let mut buckets = [0u32; 16];
        for i in 0..n / 16 {
            buckets[(p.nth(i) * 16 / n) as usize] += 1;
        }
        for (bucket, count) in buckets.iter().enumerate() {
            assert!((200..=320).contains(count), "bucket {bucket}: {count} of 4096 / 16");
        }
    }
}
