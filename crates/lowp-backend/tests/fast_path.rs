//! The CPU fast path gives exactly the bits of the scalar reference, for every element-wise
//! family, every rounding mode and inputs covering every binary32 class.

use lowp_backend::{Backend, CpuBackend};
use lowp_formats::{Format, Quantizer, Rounding};

/// binary32 patterns: specials, both signs of every binade edge and its neighbours, and
/// pseudo-random patterns (xorshift, fixed seed).
fn inputs() -> Vec<f32> {
    let mut bits: Vec<u32> = vec![
        0,
        1,
        2,
        3,
        0x7F_FFFF,
        0x80_0000,
        0x7F7F_FFFF,
        0x7F80_0000,
        0x7FC0_0000,
        0x7F80_0001,
    ];
    for exponent in 0..=255u32 {
        for mantissa in [
            0u32, 1, 0x40_0000, 0x3F_FFFF, 0x7F_FFFF, 0x10_0000, 0x08_0001,
        ] {
            bits.push((exponent << 23) | mantissa);
        }
    }
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    for _ in 0..40_000 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        bits.push(state as u32 & 0x7FFF_FFFF);
    }
    let negatives: Vec<u32> = bits.iter().map(|b| b | 0x8000_0000).collect();
    bits.extend(negatives);
    bits.into_iter().map(f32::from_bits).collect()
}

fn formats() -> Vec<Format> {
    let specs = [
        "fp32",
        "tf32",
        "bf16",
        "fp16",
        "e5m2",
        "e4m3",
        "e4m3fn",
        "e4m3fn(saturate=true)",
        "e5m2(subnormals=false)",
        "bf16(subnormals=false,saturate=true)",
        "fp32(subnormals=false)",
        "float(exp=2,man=0)",
        "float(exp=2,man=1,subnormals=false)",
        "float(exp=3,man=0,subnormals=false)",
        "float(exp=8,man=0)",
        "float(exp=6,man=9,saturate=true)",
        "float(exp=7,man=23)",
        "binary8(p=3)",
        "binary8(p=1)",
        "binary8(p=4,subnormals=false)",
        "binary8(p=3,overflow=saturate_infty)",
        "binary8(p=5,signed=false,overflow=saturate_maxfloat2)",
        "binary(k=3,p=1)",
        "binary(k=16,p=8)",
        "binary(k=16,p=9,signed=false,subnormals=false)",
        "binary(k=12,p=4,overflow=saturate_infty)",
        "fixed(wl=8,fl=4)",
        "fixed(wl=16,fl=8,symmetric=true)",
        "fixed(wl=12,fl=0,clamp=false)",
        "fixed(wl=32,fl=-20)",
        "fixed(wl=32,fl=140)",
        "fixed(wl=1,fl=3)",
        "fixed(wl=30,fl=-127,clamp=false)",
        "superfp(exp=4,man=3,binades=1)",
    ];
    specs
        .iter()
        .map(|s| s.parse().unwrap_or_else(|e| panic!("{s}: {e}")))
        .collect()
}

fn modes() -> Vec<Rounding> {
    let mut modes = vec![
        Rounding::Nearest,
        Rounding::TowardZero,
        Rounding::Up,
        Rounding::Down,
        Rounding::NearestAway,
        Rounding::Odd,
    ];
    modes.extend([1, 3, 8, 13, 23, 24, 32].map(|bits| Rounding::Stochastic { bits }));
    modes
}

#[test]
fn fast_path_equals_scalar_bit_for_bit() {
    let data = inputs();
    let shape = [data.len()];
    let scalar = CpuBackend::scalar();
    let fast = CpuBackend::new();
    let single = CpuBackend::with_threads(1);
    let input = scalar.upload(&data).unwrap();
    for format in formats() {
        for mode in modes() {
            let Ok(quantizer) = Quantizer::new(format, mode, 0xDEAD_BEEF_CAFE_F00D) else {
                continue; // superfp: nearest only
            };
            let expected = pollster::block_on(
                scalar.download(&scalar.quantize(&input, &shape, &quantizer).unwrap()),
            )
            .unwrap();
            for backend in [&fast, &single] {
                let got = pollster::block_on(
                    backend.download(&backend.quantize(&input, &shape, &quantizer).unwrap()),
                )
                .unwrap();
                for (i, (g, e)) in got.iter().zip(&expected).enumerate() {
                    assert!(
                        g.to_bits() == e.to_bits() || (g.is_nan() && e.is_nan()),
                        "{format} {mode}: input {:#010x} gave {:#010x}, scalar {:#010x} (element {i})",
                        data[i].to_bits(),
                        g.to_bits(),
                        e.to_bits()
                    );
                }
            }
        }
    }
}

#[test]
fn stochastic_words_depend_on_the_flat_index_only() {
    // Splitting into chunks and threads must not change which word an element gets.
    let data: Vec<f32> = (0..100_003).map(|i| 1.0 + i as f32 * 1e-4).collect();
    let quantizer =
        Quantizer::new("e4m3".parse().unwrap(), Rounding::Stochastic { bits: 8 }, 7).unwrap();
    let reference = quantizer.quantize_slice(&data, &[data.len()]).unwrap();
    let fast = CpuBackend::new();
    let got = pollster::block_on(
        fast.download(
            &fast
                .quantize(&fast.upload(&data).unwrap(), &[data.len()], &quantizer)
                .unwrap(),
        ),
    )
    .unwrap();
    assert_eq!(
        got.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
        reference.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
    );
}

/// Every one of the 2^32 binary32 patterns, fast path against the scalar oracle, for the benchmark
/// formats under nearest, toward-zero and stochastic rounding. Minutes in release mode:
/// `cargo test -p lowp-backend --release --test fast_path -- --ignored`.
#[test]
#[ignore = "exhaustive: run in release mode on demand"]
fn fast_path_equals_scalar_on_every_binary32_pattern() {
    let fast = CpuBackend::new();
    const CHUNK: u64 = 1 << 24;
    for spec in [
        "e4m3",
        "bf16",
        "fp16",
        "e5m2",
        "e4m3fn",
        "binary8(p=3)",
        "fixed(wl=8,fl=4)",
    ] {
        let format: Format = spec.parse().unwrap();
        for mode in [
            Rounding::Nearest,
            Rounding::TowardZero,
            Rounding::Stochastic {
                bits: format.default_stochastic_bits(),
            },
        ] {
            let quantizer = Quantizer::new(format, mode, 42).unwrap();
            for chunk in 0..(1u64 << 32) / CHUNK {
                let first = chunk * CHUNK;
                let data: Vec<f32> = (first..first + CHUNK)
                    .map(|b| f32::from_bits(b as u32))
                    .collect();
                // Element i of this tensor draws word i; the oracle gets the same words.
                let got = pollster::block_on(
                    fast.download(
                        &fast
                            .quantize(&fast.upload(&data).unwrap(), &[data.len()], &quantizer)
                            .unwrap(),
                    ),
                )
                .unwrap();
                for (i, (x, g)) in data.iter().zip(&got).enumerate() {
                    let expected = quantizer
                        .quantize_bits(x.to_bits(), quantizer.word(i as u64))
                        .unwrap();
                    assert!(
                        g.to_bits() == expected
                            || (g.is_nan() && f32::from_bits(expected).is_nan()),
                        "{spec} {mode}: input {:#010x} gave {:#010x}, oracle {expected:#010x}",
                        x.to_bits(),
                        g.to_bits()
                    );
                }
            }
        }
    }
}
