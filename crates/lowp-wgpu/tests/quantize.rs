//! Quantize on wgpu equals the CPU backend bit for bit (NaN == NaN) for every format family,
//! every rounding mode and inputs covering every binary32 class, on the input patterns of
//! crates/lowp-backend/tests/fast_path.rs; plus block formats along every axis, chunked and 2-D
//! dispatches, empty tensors and the error paths. Without an adapter each test prints `SKIP`
//! and passes, unless `LOWP_REQUIRE` contains `wgpu`.

mod common;

use common::{assert_same_bits, backend, backend_with, download};
use lowp_backend::{Backend, BackendError, CpuBackend};
use lowp_formats::{Format, Quantizer, Rounding};
use lowp_wgpu::WgpuOptions;
use std::time::Instant;

/// binary32 patterns: specials, both signs of every binade edge and its neighbours, and
/// pseudo-random patterns (xorshift, fixed seed); as fast_path.rs.
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

fn parse(specs: &[&str]) -> Vec<Format> {
    specs
        .iter()
        .map(|s| s.parse().unwrap_or_else(|e| panic!("{s}: {e}")))
        .collect()
}

/// The formats of fast_path.rs plus a few more superfp shapes.
fn elementwise_formats() -> Vec<Format> {
    parse(&[
        "fp32",
        "tf32",
        "bf16",
        "fp16",
        "e5m2",
        "e4m3",
        "e4m3fn",
        "e4m3fn(saturate=true)",
        "e4m3fn(subnormals=false)",
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
        "fixed(wl=24,fl=149)",
        "superfp(exp=4,man=3,binades=1)",
        "superfp(exp=5,man=2,binades=2:3,saturate=true)",
        "superfp(exp=3,man=0,binades=1)",
        "superfp(exp=8,man=1,binades=3)",
    ])
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

const SEED: u64 = 0xDEAD_BEEF_CAFE_F00D;

/// Quantizes `data` of `shape` on wgpu and on the CPU backend and asserts the same bits.
fn check<B: Backend>(
    gpu: &B,
    gpu_input: &B::Buffer,
    cpu_input: &lowp_backend::CpuBuffer,
    data: &[f32],
    shape: &[usize],
    quantizer: &Quantizer,
) {
    let cpu = CpuBackend::new();
    let expected = download(&cpu, &cpu.quantize(cpu_input, shape, quantizer).unwrap());
    let got = download(gpu, &gpu.quantize(gpu_input, shape, quantizer).unwrap());
    let context = format!(
        "{} {} seed {:#x} shape {shape:?}",
        quantizer.format(),
        quantizer.rounding(),
        quantizer.seed()
    );
    assert_same_bits(&context, data, &got, &expected);
}

#[test]
fn elementwise_formats_match_the_cpu_backend_in_every_mode() {
    let Some(gpu) = backend() else { return };
    let cpu = CpuBackend::new();
    let data = inputs();
    let shape = [data.len()];
    let gpu_input = gpu.upload(&data).unwrap();
    let cpu_input = cpu.upload(&data).unwrap();
    let start = Instant::now();
    let mut cases = 0;
    for format in elementwise_formats() {
        for mode in modes() {
            let Ok(quantizer) = Quantizer::new(format, mode, SEED) else {
                continue; // superfp: nearest only
            };
            check(&gpu, &gpu_input, &cpu_input, &data, &shape, &quantizer);
            cases += 1;
        }
    }
    println!(
        "{cases} format x mode cases of {} values each equal the CPU backend ({:.1?})",
        data.len(),
        start.elapsed()
    );
}

#[test]
fn default_stochastic_bits_and_other_seeds_match() {
    let Some(gpu) = backend() else { return };
    let cpu = CpuBackend::new();
    let data: Vec<f32> = inputs().into_iter().step_by(7).collect();
    let gpu_input = gpu.upload(&data).unwrap();
    let cpu_input = cpu.upload(&data).unwrap();
    for format in parse(&["e4m3", "bf16", "binary8(p=3)", "fixed(wl=8,fl=4)", "e5m2"]) {
        for seed in [0u64, 1, u64::MAX, 0x0000_0001_0000_0000] {
            let mode = Rounding::Stochastic {
                bits: format.default_stochastic_bits(),
            };
            let quantizer = Quantizer::new(format, mode, seed).unwrap();
            check(
                &gpu,
                &gpu_input,
                &cpu_input,
                &data,
                &[data.len()],
                &quantizer,
            );
        }
    }
}

/// Tensors for block formats: rows (blocks along dim 0) of ordinary values, zeros of both signs,
/// only non-finite values, subnormals, values near the binary32 max, and a mixture with Inf/NaN.
fn block_rows(width: usize) -> Vec<f32> {
    let patterns = inputs();
    let mut data = Vec::new();
    let mut state = 0x1234_5678u32;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        state
    };
    for row in 0..8 {
        for column in 0..width {
            let r = next();
            let sign = r & 0x8000_0000;
            let value = match row {
                0 => f32::from_bits(sign | (0x3F00_0000 + (r & 0x01FF_FFFF))),
                1 => {
                    if column % 2 == 0 {
                        0.0
                    } else {
                        -0.0
                    }
                }
                2 => [f32::INFINITY, f32::NEG_INFINITY, f32::NAN, 0.0][column % 4],
                3 => f32::from_bits(sign | (r & 0x007F_FFFF) >> (r % 23)),
                4 => f32::from_bits(sign | (0x7F00_0000 + (r & 0x007F_FFFF))),
                5 => {
                    if column % 5 == 0 {
                        [f32::INFINITY, f32::NAN, -f32::INFINITY][column % 3]
                    } else {
                        f32::from_bits(sign | (0x3000_0000 + (r & 0x0FFF_FFFF)))
                    }
                }
                6 => patterns[(r as usize) % patterns.len()],
                _ => f32::from_bits(sign | (0x0080_0000 + (r & 0x00FF_FFFF))),
            };
            data.push(value);
        }
    }
    data
}

#[test]
fn block_formats_match_the_cpu_backend_along_every_axis() {
    let Some(gpu) = backend() else { return };
    let cpu = CpuBackend::new();
    let start = Instant::now();
    let mut cases = 0;
    // 8 x 60 values; every shape below has 480 elements.
    let data = block_rows(60);
    let gpu_input = gpu.upload(&data).unwrap();
    let cpu_input = cpu.upload(&data).unwrap();
    for shape in [
        vec![480],
        vec![8, 60],
        vec![8, 4, 15],
        vec![2, 4, 3, 20],
        vec![8, 1, 60],
    ] {
        for dim in -1..shape.len() as i32 {
            for wl in [2u32, 3, 4, 8, 12, 23, 24] {
                let format: Format = format!("block(wl={wl},dim={dim})").parse().unwrap();
                for mode in modes() {
                    let quantizer = Quantizer::new(format, mode, SEED).unwrap();
                    check(&gpu, &gpu_input, &cpu_input, &data, &shape, &quantizer);
                    cases += 1;
                }
            }
        }
    }
    // The fast_path patterns (83604 = 20901 * 4 values) as one block, as 4 blocks interleaved
    // along the last axis and as 20901 blocks of 4.
    let data = inputs();
    let gpu_input = gpu.upload(&data).unwrap();
    let cpu_input = cpu.upload(&data).unwrap();
    let rows = data.len() / 4;
    assert_eq!(rows * 4, data.len());
    for (shape, dim) in [
        (vec![data.len()], -1),
        (vec![rows, 2, 2], 2),
        (vec![rows, 4], 1),
        (vec![rows, 4], 0),
    ] {
        for mode in [Rounding::Nearest, Rounding::Stochastic { bits: 24 }] {
            let format: Format = format!("block(wl=8,dim={dim})").parse().unwrap();
            let quantizer = Quantizer::new(format, mode, SEED).unwrap();
            check(&gpu, &gpu_input, &cpu_input, &data, &shape, &quantizer);
            cases += 1;
        }
    }
    println!(
        "{cases} block format cases equal the CPU backend ({:.1?})",
        start.elapsed()
    );
}

#[test]
fn chunked_and_two_dimensional_dispatches_match() {
    // 1 KiB bindings (256 values per dispatch, one workgroup each) force many dispatches; 64 KiB
    // bindings with at most 8 workgroups per grid dimension force 8 x 8 and 8 x 2 grids with a
    // partial last row, even on small tensors.
    let options = WgpuOptions {
        max_binding_bytes: Some(1024),
        max_workgroups_per_dimension: Some(1),
    };
    let Some(gpu) = backend_with(options) else {
        return;
    };
    assert_eq!(gpu.chunk_values(), 256);
    let small_grid = WgpuOptions {
        max_binding_bytes: Some(1 << 16),
        max_workgroups_per_dimension: Some(8),
    };
    let gpu_2d = backend_with(small_grid).expect("second device");
    assert_eq!(gpu_2d.chunk_values(), 1 << 14);
    let cpu = CpuBackend::new();
    let data: Vec<f32> = inputs().into_iter().take(19_783).collect();
    let cpu_input = cpu.upload(&data).unwrap();
    for backend in [&gpu, &gpu_2d] {
        let gpu_input = backend.upload(&data).unwrap();
        for spec in ["e4m3", "fixed(wl=8,fl=4)", "superfp(exp=4,man=3,binades=1)"] {
            let format: Format = spec.parse().unwrap();
            for mode in [Rounding::Nearest, Rounding::Stochastic { bits: 13 }] {
                let Ok(quantizer) = Quantizer::new(format, mode, SEED) else {
                    continue;
                };
                check(
                    backend,
                    &gpu_input,
                    &cpu_input,
                    &data,
                    &[data.len()],
                    &quantizer,
                );
            }
        }
        // 19783 = 271 * 73 values (blocks straddle dispatch boundaries both ways).
        for (shape, dim) in [
            (vec![19_783], -1),
            (vec![271, 73], 0),
            (vec![271, 73], 1),
            (vec![19_783, 1], 0),
        ] {
            let format: Format = format!("block(wl=6,dim={dim})").parse().unwrap();
            for mode in [Rounding::Nearest, Rounding::Stochastic { bits: 24 }] {
                let quantizer = Quantizer::new(format, mode, SEED).unwrap();
                check(backend, &gpu_input, &cpu_input, &data, &shape, &quantizer);
            }
        }
    }
}

/// Checks `got` against the scalar oracle on the first and last values, a window around every
/// dispatch boundary and every 331st value (the whole tensor on the CPU is slow in debug builds).
fn check_sampled(
    context: &str,
    data: &[f32],
    got: &[f32],
    chunk: usize,
    expected: impl Fn(usize) -> u32,
) {
    assert_eq!(got.len(), data.len(), "{context}");
    let window = 4096;
    let mut indices: Vec<usize> = (0..window.min(data.len())).collect();
    for boundary in (chunk..data.len()).step_by(chunk) {
        indices.extend(boundary.saturating_sub(window)..(boundary + window).min(data.len()));
    }
    indices.extend(data.len().saturating_sub(window)..data.len());
    indices.extend((0..data.len()).step_by(331));
    for i in indices {
        let e = f32::from_bits(expected(i));
        let g = got[i];
        assert!(
            g.to_bits() == e.to_bits() || (g.is_nan() && e.is_nan()),
            "{context}: element {i}: input {:#010x} gave {:#010x}, oracle {:#010x}",
            data[i].to_bits(),
            g.to_bits(),
            e.to_bits()
        );
    }
}

#[test]
fn a_tensor_larger_than_one_storage_binding_is_split() {
    let Some(gpu) = backend() else { return };
    let chunk = gpu.chunk_values() as usize;
    let len = chunk + 4099;
    if (len as u64) * 4 > gpu.limits().max_buffer_size || chunk > 1 << 26 {
        println!("SKIP: one binding holds {chunk} values; a larger tensor does not fit this test");
        return;
    }
    let start = Instant::now();
    let data: Vec<f32> = (0..len as u32)
        .map(|i| f32::from_bits(0x3E00_0000 ^ i.wrapping_mul(0x9E37_79B9) >> 4))
        .collect();
    let input = gpu.upload(&data).unwrap();
    let stochastic = Quantizer::new(
        "e4m3".parse().unwrap(),
        Rounding::Stochastic { bits: 8 },
        SEED,
    )
    .unwrap();
    let got = download(&gpu, &gpu.quantize(&input, &[len], &stochastic).unwrap());
    check_sampled("e4m3 stochastic", &data, &got, chunk, |i| {
        stochastic
            .quantize_bits(data[i].to_bits(), stochastic.word(i as u64))
            .unwrap()
    });
    let format: Format = "block(wl=8,dim=-1)".parse().unwrap();
    let Format::Block(block) = format else {
        unreachable!()
    };
    let block_quantizer = Quantizer::new(format, Rounding::Stochastic { bits: 24 }, SEED).unwrap();
    let got = download(
        &gpu,
        &gpu.quantize(&input, &[len], &block_quantizer).unwrap(),
    );
    let max_magnitude = data
        .iter()
        .map(|x| x.to_bits() & 0x7FFF_FFFF)
        .filter(|m| *m < 0x7F80_0000)
        .max()
        .unwrap();
    let shared = lowp_formats::BlockFloatingPoint::shared_exponent(max_magnitude);
    check_sampled("block(wl=8,dim=-1)", &data, &got, chunk, |i| {
        block.quantize_element(
            data[i].to_bits(),
            shared,
            block_quantizer.rounding(),
            block_quantizer.word(i as u64),
        )
    });
    println!(
        "{len} values ({} dispatches of at most {chunk}) match the oracle on samples ({:.1?})",
        len.div_ceil(chunk),
        start.elapsed()
    );
}

#[test]
fn empty_tensors_round_trip() {
    let Some(gpu) = backend() else { return };
    let empty = gpu.upload(&[]).unwrap();
    assert!(empty.is_empty());
    assert_eq!(download(&gpu, &empty), Vec::<f32>::new());
    for (spec, shape) in [
        ("e4m3", vec![0]),
        ("fixed(wl=8,fl=4)", vec![3, 0]),
        ("block(wl=8,dim=-1)", vec![0]),
        ("block(wl=8,dim=1)", vec![4, 0, 2]),
    ] {
        let quantizer = Quantizer::nearest(spec.parse().unwrap());
        let out = gpu.quantize(&empty, &shape, &quantizer).unwrap();
        assert_eq!(download(&gpu, &out), Vec::<f32>::new(), "{spec} {shape:?}");
    }
    // One value, and a length that is not a multiple of the workgroup size.
    let one = gpu.upload(&[1.0625]).unwrap();
    let e4m3 = Quantizer::nearest("e4m3".parse().unwrap());
    assert_eq!(
        download(&gpu, &gpu.quantize(&one, &[1], &e4m3).unwrap()),
        [1.0]
    );
    assert_eq!(download(&gpu, &one), [1.0625]);
}

#[test]
fn upload_and_download_keep_every_bit() {
    let Some(gpu) = backend() else { return };
    // NaN payloads, signalling NaNs and subnormals must survive the round trip.
    let bits = [
        0x7F80_0001u32,
        0xFFC0_1234,
        0x0000_0001,
        0x8000_0001,
        0x007F_FFFF,
        0x8000_0000,
    ];
    let data: Vec<f32> = bits.iter().map(|&b| f32::from_bits(b)).collect();
    let got: Vec<u32> = download(&gpu, &gpu.upload(&data).unwrap())
        .iter()
        .map(|x| x.to_bits())
        .collect();
    assert_eq!(got, bits);
}

#[test]
fn bad_shapes_are_errors() {
    let Some(gpu) = backend() else { return };
    let input = gpu.upload(&[1.0, 2.0, 3.0]).unwrap();
    let e4m3 = Quantizer::nearest("e4m3".parse().unwrap());
    assert!(matches!(
        gpu.quantize(&input, &[2, 2], &e4m3),
        Err(BackendError::Shape(_))
    ));
    let block = Quantizer::nearest("block(wl=8,dim=2)".parse().unwrap());
    let error = gpu.quantize(&input, &[3, 1], &block).unwrap_err();
    assert!(matches!(error, BackendError::Format(_)), "{error}");
    // The CPU backend refuses the same way.
    let cpu = CpuBackend::new();
    let cpu_input = cpu.upload(&[1.0, 2.0, 3.0]).unwrap();
    assert_eq!(
        cpu.quantize(&cpu_input, &[3, 1], &block)
            .unwrap_err()
            .to_string(),
        error.to_string()
    );
}

#[test]
fn shader_compile_errors_carry_the_log() {
    let Some(gpu) = backend() else { return };
    let error = pollster::block_on(gpu.check_shader(
        "broken.wgsl",
        "@compute @workgroup_size(1) fn main() { let x: u32 = undefined_name; }",
    ))
    .unwrap_err();
    let message = error.to_string();
    assert!(
        matches!(error, BackendError::Unavailable { .. }),
        "{message}"
    );
    assert!(message.contains("undefined_name"), "{message}");
    assert!(
        pollster::block_on(gpu.check_shader("ok.wgsl", "@compute @workgroup_size(1) fn main() {}"))
            .is_ok()
    );
}
