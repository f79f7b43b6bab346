//! One ring's share of a range of plan indexes.
//!
//! The range is cut into chunks dealt round-robin to the rings: ring `w` of `n` takes chunks
//! `w`, `w + n`, `w + 2n`, ... Dealing is fixed, not claimed from a shared counter, so each
//! ring knows on its own the lowest index it has not taken yet, and the scan's low-water mark
//! is simply the smallest of the rings' marks: an index below it was taken by its ring and
//! is settled. Chunks are small enough that the rings stay level and large enough that the
//! plan's keyed permutation still spreads each ring's probes over every subnet.

use std::ops::Range;

/// Plan indexes per chunk.
pub(super) const CHUNK: u64 = 64;

/// The indexes of `range` that belong to one ring, in increasing order.
#[derive(Debug, Clone)]
pub(super) struct Stripe {
    end: u64,
    /// The next index this ring takes; `end` once it took all of them.
    cursor: u64,
    /// End of the chunk `cursor` lies in.
    chunk_end: u64,
    /// Distance from one of this ring's chunks to its next.
    step: u64,
    /// Indexes not taken yet.
    left: u64,
}

impl Stripe {
    /// Ring `ring`'s share of `range` among `rings` rings (`ring < rings`).
    pub(super) fn new(range: Range<u64>, ring: usize, rings: usize) -> Self {
        let (ring, rings) = (ring as u64, rings.max(1) as u64);
        let len = range.end.saturating_sub(range.start);
        let chunks = len.div_ceil(CHUNK);
        // Chunks ring, ring + rings, ...: how many exist, and whether the last, short one is
        // among them.
        let mine = if ring < chunks { (chunks - ring).div_ceil(rings) } else { 0 };
        let last_is_mine = chunks > 0 && (chunks - 1) % rings == ring;
        let short = if last_is_mine { chunks * CHUNK - len } else { 0 };
        let first = range.start.saturating_add(ring * CHUNK);
        let mut stripe = Self {
            end: range.end,
            cursor: first.min(range.end),
            chunk_end: first.saturating_add(CHUNK).min(range.end),
            step: rings * CHUNK,
            left: mine * CHUNK - short,
        };
        if stripe.left == 0 {
            stripe.cursor = range.end;
        }
        stripe
    }

    /// Takes the next index.
    pub(super) fn take(&mut self) -> Option<u64> {
        if self.left == 0 {
            return None;
        }
        let index = self.cursor;
        self.left -= 1;
        self.cursor += 1;
        if self.left == 0 {
            self.cursor = self.end;
        } else if self.cursor == self.chunk_end {
            self.cursor = self.chunk_end - CHUNK + self.step;
            self.chunk_end = (self.cursor + CHUNK).min(self.end);
        }
        Some(index)
    }

    /// Indexes not taken yet.
    pub(super) fn left(&self) -> u64 {
        self.left
    }

    /// The lowest index not taken yet (the range's end once all are taken): every index of
    /// this stripe below it has been taken.
    pub(super) fn floor(&self) -> u64 {
        self.cursor
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(range: Range<u64>, ring: usize, rings: usize) -> Vec<u64> {
        let mut stripe = Stripe::new(range, ring, rings);
        let mut taken = Vec::new();
        while let Some(index) = stripe.take() {
            assert!(stripe.floor() > index);
            taken.push(index);
        }
        assert_eq!(stripe.left(), 0);
        taken
    }

    #[test]
    fn the_stripes_cover_a_range_exactly_once() {
        for (start, len) in [(0, 0), (0, 1), (5, 63), (0, 64), (7, 65), (3, 1000), (100, 4096)] {
            for rings in 1..=5 {
                let range = start..start + len;
                let mut seen = Vec::new();
                for ring in 0..rings {
                    let stripe = Stripe::new(range.clone(), ring, rings);
                    let taken = all(range.clone(), ring, rings);
                    assert_eq!(taken.len() as u64, stripe.left(), "{range:?} {ring}/{rings}");
                    assert!(taken.windows(2).all(|w| w[0] < w[1]));
                    seen.extend(taken);
                }
                seen.sort_unstable();
                assert_eq!(seen, range.clone().collect::<Vec<_>>(), "{range:?} over {rings}");
            }
        }
    }

    #[test]
    fn rings_take_whole_chunks_in_turn() {
        let taken = all(0..300, 1, 2);
        assert_eq!(taken[..3], [64, 65, 66]);
        assert_eq!(taken[63..66], [127, 192, 193]);
        assert_eq!(*taken.last().unwrap(), 255);
        let last = all(0..300, 0, 2);
        assert_eq!(*last.last().unwrap(), 299);
    }

    #[test]
    fn the_floor_of_a_fresh_or_empty_stripe() {
        assert_eq!(Stripe::new(10..20, 0, 2).floor(), 10);
        // Ring 1 has no chunk in a range of one chunk: it is done from the start.
        assert_eq!(Stripe::new(10..20, 1, 2).floor(), 20);
        assert_eq!(Stripe::new(10..20, 1, 2).left(), 0);
        assert_eq!(Stripe::new(7..7, 0, 1).floor(), 7);
    }
}
