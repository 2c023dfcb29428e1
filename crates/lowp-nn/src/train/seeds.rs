//! Seeds of a training run. Everything random in a run (initial weights, stochastic rounding in
//! each layer and the optimizer, data order) takes its u64 seed from the one run seed by the rule
//! below, so a run is reproducible on every backend and thread count.
//!
//! Rule: `derive(run_seed, purpose, index)` is Philox4x32-10 (SEMANTICS.md §3) with key
//! `(lo32(run_seed), hi32(run_seed))` and counter `(lo32(index), hi32(index), purpose, 0x5345_4544)`
//! ("SEED"), words 0 and 1 as `w0 + 2^32 * w1`. `purpose` is one of the constants below; `index`
//! numbers the use (e.g. `step * 2^16 + parameter` for an optimizer's rounding of one parameter).

use lowp_formats::philox::{philox4x32_10, seed_key};

/// `purpose` of the initial weights of parameter `index`.
pub const INIT: u32 = 1;
/// `purpose` of the stochastic rounding in the forward and backward passes of step `index`.
pub const LAYERS: u32 = 2;
/// `purpose` of the optimizer's stochastic rounding at step `index`.
pub const OPTIMIZER: u32 = 3;
/// `purpose` of the data order (the seed handed to the loaders).
pub const DATA: u32 = 4;
/// `purpose` of the stochastic rounding in evaluation passes (`index` = epoch * 2^32 + batch).
pub const EVAL: u32 = 5;

/// The last counter word of every seed derivation ("SEED").
const SEED_STREAM: u32 = 0x5345_4544;

/// The seed for (`purpose`, `index`) of the run seeded with `run_seed` (module docs).
pub fn derive(run_seed: u64, purpose: u32, index: u64) -> u64 {
    let words = philox4x32_10(
        [index as u32, (index >> 32) as u32, purpose, SEED_STREAM],
        seed_key(run_seed),
    );
    u64::from(words[0]) | (u64::from(words[1]) << 32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_seeds_differ_by_purpose_index_and_run_seed() {
        let base = derive(1, LAYERS, 0);
        assert_eq!(base, derive(1, LAYERS, 0));
        assert_ne!(base, derive(2, LAYERS, 0));
        assert_ne!(base, derive(1, OPTIMIZER, 0));
        assert_ne!(base, derive(1, LAYERS, 1));
        assert_ne!(base, derive(1, LAYERS, 1 << 32));
    }
}
