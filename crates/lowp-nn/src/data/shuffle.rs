//! Seeded, backend-independent random choices of the data pipeline.
//!
//! The rule: every draw is one Philox4x32-10 block (SEMANTICS.md §3) with key
//! `(lo32(seed), hi32(seed))` and counter `(lo32(i), hi32(i), sub, stream)`, where `i` is the
//! draw's index, `sub` a secondary index (the epoch, or the text batch row) and `stream` one of the
//! constants below, so that no two purposes ever share a random word. A draw uses its block's
//! words 0 and 1 as the 64-bit number `r = w0 + 2^32 * w1`, and a uniform integer below `m` is
//! `floor(r * m / 2^64)` (multiply-shift; its bias is below `m / 2^64`).
//!
//! A permutation of `n` items is Fisher–Yates: start from `0, 1, ..., n-1`; for `i` from `n-1`
//! down to 1 swap positions `i` and `j = uniform below i+1` drawn with index `i`.

use lowp_formats::philox::{philox4x32_10, seed_key};

/// `stream` of the train/test split ("SPLT").
pub const SPLIT_STREAM: u32 = 0x5350_4c54;
/// `stream` of the per-epoch sample order ("SHUF"); `sub` is the epoch.
pub const EPOCH_STREAM: u32 = 0x5348_5546;
/// `stream` of the text windows ("TEXT"); `i` is the training step, `sub` the batch row.
pub const TEXT_STREAM: u32 = 0x5445_5854;

/// One batch: `shape[0]` samples of `shape[1..]`, row-major in `features`, with their labels.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// The samples, row-major.
    pub features: Vec<f32>,
    /// `[batch, sample...]`.
    pub shape: Vec<usize>,
    /// One class label per sample.
    pub labels: Vec<usize>,
}

/// The 64-bit random number of draw `index` in (`sub`, `stream`) under `seed`: Philox words 0 and 1
/// of counter `(lo32(index), hi32(index), sub, stream)` as `w0 + 2^32 * w1`.
pub fn random_u64(seed: u64, stream: u32, sub: u32, index: u64) -> u64 {
    let words = philox4x32_10(
        [index as u32, (index >> 32) as u32, sub, stream],
        seed_key(seed),
    );
    u64::from(words[0]) | (u64::from(words[1]) << 32)
}

/// A uniform integer in `0..bound` from draw `index`: `floor(random_u64 * bound / 2^64)`.
/// `bound` must be at least 1.
pub fn uniform_below(seed: u64, stream: u32, sub: u32, index: u64, bound: u64) -> u64 {
    ((u128::from(random_u64(seed, stream, sub, index)) * u128::from(bound)) >> 64) as u64
}

/// The Fisher–Yates permutation of `0..n` under `seed` in (`stream`, `sub`) (module docs).
pub fn permutation(n: usize, seed: u64, stream: u32, sub: u32) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = uniform_below(seed, stream, sub, i as u64, i as u64 + 1) as usize;
        order.swap(i, j);
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permutation_is_a_permutation_and_depends_on_every_input() {
        let order = permutation(100, 5, EPOCH_STREAM, 0);
        let mut sorted = order.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..100).collect::<Vec<_>>());
        assert_ne!(order, (0..100).collect::<Vec<_>>());
        assert_eq!(order, permutation(100, 5, EPOCH_STREAM, 0));
        assert_ne!(order, permutation(100, 6, EPOCH_STREAM, 0));
        assert_ne!(order, permutation(100, 5, EPOCH_STREAM, 1));
        assert_ne!(order, permutation(100, 5, SPLIT_STREAM, 0));
        assert!(permutation(0, 5, EPOCH_STREAM, 0).is_empty());
        assert_eq!(permutation(1, 5, EPOCH_STREAM, 0), vec![0]);
    }

    /// The rule written out by hand for n = 3: two draws, i = 2 then i = 1.
    #[test]
    fn permutation_follows_the_documented_rule() {
        let seed = 0x0123_4567_89ab_cdef;
        let draw = |i: u64| {
            let w = philox4x32_10([i as u32, 0, 4, SPLIT_STREAM], [0x89ab_cdef, 0x0123_4567]);
            let r = u64::from(w[0]) | (u64::from(w[1]) << 32);
            ((u128::from(r) * u128::from(i + 1)) >> 64) as usize
        };
        let mut expected = vec![0, 1, 2];
        expected.swap(2, draw(2));
        expected.swap(1, draw(1));
        assert_eq!(permutation(3, seed, SPLIT_STREAM, 4), expected);
    }

    #[test]
    fn uniform_below_is_roughly_uniform() {
        let mut counts = [0u32; 4];
        for index in 0..4000 {
            counts[uniform_below(9, TEXT_STREAM, 0, index, 4) as usize] += 1;
        }
        assert!(
            counts.iter().all(|&count| (900..1100).contains(&count)),
            "{counts:?}"
        );
    }
}
