//! A keyed pseudo-random permutation of `0..n`.

/// A bijection of `0..n` chosen by a seed, computed per index in O(1) expected time and O(1)
/// memory (a Feistel network over the next power of four with cycle walking).
#[derive(Debug, Clone)]
pub struct Permutation {
    n: u64,
}

impl Permutation {
    /// A permutation of `0..n` keyed by `seed`; the same `(n, seed)` gives the same order.
    pub fn new(n: u64, seed: u64) -> Self {
        let _ = seed;
        Self { n }
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
    pub fn nth(&self, i: u64) -> u64 {
        let _ = i;
        todo!()
    }
}
