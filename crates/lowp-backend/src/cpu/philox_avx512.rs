//! Philox4x32-10 random words of an element-wise quantize and of the GEMM (SEMANTICS.md §3),
//! written with AVX-512 intrinsics: the hot part of stochastic rounding on the CPU.
//!
//! Each 64-bit lane carries one block's 32-bit state word in its low half; the high half holds
//! bits that are never read. That makes one round three instructions per state pair:
//! `vpmuludq` multiplies the low halves into the full 64-bit product `p`, `p >> 32` is the high
//! word, and `p` itself serves as the low word (its high half is the ignored part), so
//!
//! ```text
//! (c0, c1, c2, c3) <- (hi(M1 * c2) ^ c1 ^ k0,  lo(M1 * c2),  hi(M0 * c0) ^ c3 ^ k1,  lo(M0 * c0))
//! ```
//!
//! costs two products, two shifts and two three-way XORs (`vpternlogq`) for 8 blocks. LLVM's
//! auto-vectorised form of the same loop splits products into even and odd 32-bit lanes and
//! shuffles them back every round, about twice the instructions.

use std::arch::x86_64::{
    __m512i, _mm512_add_epi64, _mm512_mask_blend_epi32, _mm512_mul_epu32,
    _mm512_permutex2var_epi32, _mm512_set1_epi32, _mm512_set1_epi64, _mm512_setr_epi32,
    _mm512_setr_epi64, _mm512_setzero_si512, _mm512_slli_epi64, _mm512_srli_epi64,
    _mm512_storeu_si512, _mm512_ternarylogic_epi64, _mm512_unpackhi_epi64, _mm512_unpacklo_epi64,
};

/// Philox blocks per vector (64-bit lanes of a 512-bit register).
const BLOCKS_PER_VECTOR: usize = 8;

/// Vectors of blocks computed together: 4 state words × 4 vectors = 16 of the 32 registers.
const VECTORS: usize = 4;

/// Random words produced by one call of [`fill_batch`]: 4 words per block.
pub(super) const BATCH_WORDS: usize = 4 * BLOCKS_PER_VECTOR * VECTORS;

/// Fills `words` (exactly [`BATCH_WORDS`] long) with the random words of elements
/// `first .. first + BATCH_WORDS` of a quantize with `seed`: word `i` is word `(first + i) & 3` of
/// the Philox4x32-10 block with counter `((first + i) >> 2, 0, 0)` and key `(lo32(seed),
/// hi32(seed))`. `first` must be a multiple of 4.
///
/// Lane `l` of vector `v` holds block `first / 4 + 8 v + [0, 4, 1, 5, 2, 6, 3, 7][l]`: after the
/// rounds, interleaving the words of lanes `2 j` and `2 j + 1` of each 128-bit quarter
/// (`vpunpcklqdq` / `vpunpckhqdq`) then yields blocks in counter order.
#[target_feature(enable = "avx512f")]
pub(super) fn fill_batch(seed: u64, first: u64, words: &mut [u32]) {
    assert!(words.len() == BATCH_WORDS && first.is_multiple_of(4));
    let first_block = first >> 2;
    let lane_blocks = _mm512_setr_epi64(0, 4, 1, 5, 2, 6, 3, 7);
    let mut c0 = [_mm512_setzero_si512(); VECTORS];
    let mut c1 = [_mm512_setzero_si512(); VECTORS];
    let mut c2 = [_mm512_setzero_si512(); VECTORS];
    let mut c3 = [_mm512_setzero_si512(); VECTORS];
    for v in 0..VECTORS {
        let base = first_block + (BLOCKS_PER_VECTOR * v) as u64;
        let blocks = _mm512_add_epi64(_mm512_set1_epi64(base as i64), lane_blocks);
        c0[v] = blocks;
        c1[v] = _mm512_srli_epi64::<32>(blocks);
    }
    // SAFETY: this function is compiled for AVX-512F and only called where the CPU has it.
    unsafe { rounds(seed, [&mut c0, &mut c1, &mut c2, &mut c3]) };
    let out = words.as_mut_ptr().cast::<__m512i>();
    for v in 0..VECTORS {
        // Words 0 and 1 (2 and 3) of each block side by side in its 64-bit lane.
        let words01 = _mm512_mask_blend_epi32(0xAAAA, c0[v], _mm512_slli_epi64::<32>(c1[v]));
        let words23 = _mm512_mask_blend_epi32(0xAAAA, c2[v], _mm512_slli_epi64::<32>(c3[v]));
        // SAFETY: `words` holds BATCH_WORDS = 2 * VECTORS vectors of 16 words; unaligned stores.
        unsafe {
            _mm512_storeu_si512(out.add(2 * v), _mm512_unpacklo_epi64(words01, words23));
            _mm512_storeu_si512(out.add(2 * v + 1), _mm512_unpackhi_epi64(words01, words23));
        }
    }
}

/// The ten Philox4x32-10 rounds with key `(lo32(seed), hi32(seed))` on counters held as
/// `state[w][v]`: state word `w` of the 8 blocks of vector `v`, in the low halves of the lanes.
///
/// Always inlined, so that the state stays in registers (a `#[target_feature]` function may not
/// be `inline(always)`, and LLVM kept this one out of line).
///
/// # Safety
/// The CPU supports AVX-512F.
#[inline(always)]
unsafe fn rounds(seed: u64, state: [&mut [__m512i; VECTORS]; 4]) {
    let [c0, c1, c2, c3] = state;
    // SAFETY: the caller guarantees AVX-512F.
    let (multiplier0, multiplier1) = unsafe {
        (
            _mm512_set1_epi64(0xD251_1F53),
            _mm512_set1_epi64(0xCD9E_8D57),
        )
    };
    let (mut k0, mut k1) = (seed as u32, (seed >> 32) as u32);
    for round in 0..10 {
        if round > 0 {
            k0 = k0.wrapping_add(0x9E37_79B9);
            k1 = k1.wrapping_add(0xBB67_AE85);
        }
        // SAFETY: the caller guarantees AVX-512F.
        unsafe {
            let key0 = _mm512_set1_epi32(k0 as i32);
            let key1 = _mm512_set1_epi32(k1 as i32);
            for v in 0..VECTORS {
                let p0 = _mm512_mul_epu32(c0[v], multiplier0);
                let p1 = _mm512_mul_epu32(c2[v], multiplier1);
                // 0x96: the truth table of a ^ b ^ c.
                c0[v] = _mm512_ternarylogic_epi64::<0x96>(_mm512_srli_epi64::<32>(p1), c1[v], key0);
                c2[v] = _mm512_ternarylogic_epi64::<0x96>(_mm512_srli_epi64::<32>(p0), c3[v], key1);
                c1[v] = p1;
                c3[v] = p0;
            }
        }
    }
}

/// Output elements per pass of [`gemm_words`]: one block each.
const GEMM_PASS: usize = BLOCKS_PER_VECTOR * VECTORS;

/// The GEMM random words of `LANES` consecutive output elements (SEMANTICS.md §3):
/// `words[w][j]` is word `w` of the block with counter `(lo32(first + j), hi32(first + j), k,
/// stream)` and key `(lo32(seed), hi32(seed))`, the bits of `fast::gemm_word_lanes`.
/// `LANES` is a multiple of 32.
#[target_feature(enable = "avx512f")]
pub(super) fn gemm_words<const LANES: usize>(
    seed: u64,
    first: u64,
    k: u32,
    stream: u32,
    words: &mut [[u32; LANES]; 4],
) {
    assert!(LANES.is_multiple_of(GEMM_PASS));
    let lanes = _mm512_setr_epi64(0, 1, 2, 3, 4, 5, 6, 7);
    // Low halves of two vectors of 64-bit lanes, in order: 16 words.
    let low_halves = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    for pass in 0..LANES / GEMM_PASS {
        let mut c0 = [_mm512_setzero_si512(); VECTORS];
        let mut c1 = [_mm512_setzero_si512(); VECTORS];
        let mut c2 = [_mm512_set1_epi64(i64::from(k)); VECTORS];
        let mut c3 = [_mm512_set1_epi64(i64::from(stream)); VECTORS];
        for v in 0..VECTORS {
            let base = first.wrapping_add((GEMM_PASS * pass + BLOCKS_PER_VECTOR * v) as u64);
            let outputs = _mm512_add_epi64(_mm512_set1_epi64(base as i64), lanes);
            c0[v] = outputs;
            c1[v] = _mm512_srli_epi64::<32>(outputs);
        }
        // SAFETY: this function is compiled for AVX-512F and only called where the CPU has it.
        unsafe { rounds(seed, [&mut c0, &mut c1, &mut c2, &mut c3]) };
        for (word, state) in words.iter_mut().zip([&c0, &c1, &c2, &c3]) {
            let out = word[GEMM_PASS * pass..].as_mut_ptr().cast::<__m512i>();
            for pair in 0..VECTORS / 2 {
                let packed =
                    _mm512_permutex2var_epi32(state[2 * pair], low_halves, state[2 * pair + 1]);
                // SAFETY: `word` holds GEMM_PASS words from `GEMM_PASS * pass` (LANES is a
                // multiple of GEMM_PASS); each store writes 16 of them, unaligned.
                unsafe { _mm512_storeu_si512(out.add(pair), packed) };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lowp_formats::philox::elementwise_word;

    #[test]
    fn batches_equal_the_scalar_words() {
        if !std::arch::is_x86_feature_detected!("avx512f") {
            println!("SKIP: no AVX-512");
            return;
        }
        let mut words = [0u32; BATCH_WORDS];
        // Counters whose high word is zero, crosses 2^32 blocks inside a batch, and is all ones.
        let firsts = [
            0u64,
            4 * 1000,
            (1u64 << 34) - 64,
            u64::MAX - 127,
            4 * 0x0012_3456_789A,
        ];
        for seed in [0u64, 1, 0xDEAD_BEEF_0123_4567, u64::MAX] {
            for first in firsts {
                // SAFETY: the CPU supports AVX-512F (checked above).
                unsafe { fill_batch(seed, first, &mut words) };
                for (i, word) in words.iter().enumerate() {
                    let index = first.wrapping_add(i as u64);
                    assert_eq!(
                        *word,
                        elementwise_word(seed, index),
                        "seed {seed} element {index}"
                    );
                }
            }
        }
    }

    #[test]
    fn gemm_words_equal_the_scalar_words() {
        if !std::arch::is_x86_feature_detected!("avx512f") {
            println!("SKIP: no AVX-512");
            return;
        }
        let mut words = [[0u32; 64]; 4];
        for (seed, first, k, stream) in [
            (0u64, 0u64, 0u32, 1u32),
            (0xDEAD_BEEF, 0xFFFF_FFF0, 17, 3),
            (u64::MAX, 123_456_789_012, u32::MAX, 1),
            (42, u64::MAX - 40, 5, 2),
        ] {
            // SAFETY: the CPU supports AVX-512F (checked above).
            unsafe { gemm_words(seed, first, k, stream, &mut words) };
            for j in 0..64 {
                let want =
                    lowp_formats::gemm::gemm_words(seed, first.wrapping_add(j as u64), k, stream);
                for (w, lane) in words.iter().enumerate() {
                    assert_eq!(
                        lane[j], want[w],
                        "{seed} {first} {k} {stream} lane {j} word {w}"
                    );
                }
            }
        }
    }
}
