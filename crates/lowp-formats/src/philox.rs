//! Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011),
//! the counter-based generator of SEMANTICS.md §3, written with 32-bit integer operations only
//! so that WGSL (no u64) and CUDA ports are line-for-line identical.

const MULTIPLIER_0: u32 = 0xD251_1F53;
const MULTIPLIER_1: u32 = 0xCD9E_8D57;
const WEYL_0: u32 = 0x9E37_79B9;
const WEYL_1: u32 = 0xBB67_AE85;

/// The high and low 32-bit halves of the 64-bit product `a * b`, from 16-bit partial products.
#[inline(always)]
pub fn mul_hi_lo(a: u32, b: u32) -> (u32, u32) {
    let (a_lo, a_hi) = (a & 0xFFFF, a >> 16);
    let (b_lo, b_hi) = (b & 0xFFFF, b >> 16);
    let lo_lo = a_lo * b_lo;
    let hi_lo = a_hi * b_lo;
    let lo_hi = a_lo * b_hi;
    let hi_hi = a_hi * b_hi;
    let middle = (lo_lo >> 16) + (hi_lo & 0xFFFF) + (lo_hi & 0xFFFF);
    let hi = hi_hi + (hi_lo >> 16) + (lo_hi >> 16) + (middle >> 16);
    let lo = (middle << 16) | (lo_lo & 0xFFFF);
    (hi, lo)
}

/// One Philox4x32-10 block: 10 rounds over `counter` with `key`, returning 4 random words.
///
/// Round: `(h0,l0) = M0*c0`, `(h1,l1) = M1*c2`, `c = (h1^c1^k0, l1, h0^c3^k1, l0)`;
/// the key is bumped by the Weyl constants between rounds.
#[inline(always)]
pub fn philox4x32_10(counter: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let mut c = counter;
    let mut k = key;
    for round in 0..10 {
        if round > 0 {
            k[0] = k[0].wrapping_add(WEYL_0);
            k[1] = k[1].wrapping_add(WEYL_1);
        }
        let (hi0, lo0) = mul_hi_lo(MULTIPLIER_0, c[0]);
        let (hi1, lo1) = mul_hi_lo(MULTIPLIER_1, c[2]);
        c = [hi1 ^ c[1] ^ k[0], lo1, hi0 ^ c[3] ^ k[1], lo0];
    }
    c
}

/// The Philox key of a u64 seed: `(lo32(seed), hi32(seed))`.
#[inline(always)]
pub fn seed_key(seed: u64) -> [u32; 2] {
    [seed as u32, (seed >> 32) as u32]
}

/// The random word of element `index` of an element-wise quantize (§3):
/// counter `(lo32(index >> 2), hi32(index >> 2), 0, 0)`, word `index & 3` of the output.
#[inline]
pub fn elementwise_word(seed: u64, index: u64) -> u32 {
    let block = index >> 2;
    let out = philox4x32_10([block as u32, (block >> 32) as u32, 0, 0], seed_key(seed));
    out[(index & 3) as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answers() {
        // SEMANTICS.md §3 and Random123's kat_vectors.
        assert_eq!(
            philox4x32_10([0, 0, 0, 0], [0, 0]),
            [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]
        );
        assert_eq!(
            philox4x32_10([u32::MAX; 4], [u32::MAX; 2]),
            [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]
        );
        assert_eq!(
            philox4x32_10(
                [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
                [0xa4093822, 0x299f31d0]
            ),
            [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1]
        );
    }

    #[test]
    fn mul_hi_lo_matches_u64() {
        let samples = [
            0u32,
            1,
            0xFFFF,
            0x10000,
            0xFFFF_FFFF,
            0xD251_1F53,
            0x1234_5678,
            0x8000_0000,
        ];
        for &a in &samples {
            for &b in &samples {
                let p = u64::from(a) * u64::from(b);
                assert_eq!(
                    mul_hi_lo(a, b),
                    ((p >> 32) as u32, p as u32),
                    "{a:#x} * {b:#x}"
                );
            }
        }
    }
}
