//! Bit-exactness of the CUDA port without a GPU: compiles `kernels/common.cuh`,
//! `kernels/math.cuh` and `kernels/gemm.cu` as host C++ (the driver `tests/host_emulation.cpp`
//! shims CUDA's intrinsics, and runs each thread block of the gemm kernel as 256 threads meeting
//! at a barrier) with the system C++ compiler, runs the quantizers, Philox, the portable math and
//! the tiled GEMM kernel over many inputs (every format family and rounding mode, stochastic
//! rounding with Philox words, NaN, ±Inf, subnormals, ties, overflow boundaries; every GEMM
//! accumulation mode, transposes, ragged tiles, batches) and compares each result with
//! lowp-formats' scalar oracle bit for bit (any NaN equals any NaN). The data-movement kernels run
//! through the backend's own launch plans (`lowp_cuda::movement`, on an emulated `Target`) and
//! are compared with the CPU backend; the binary16/bfloat16 storage conversions of `convert.cu`
//! (the cuBLAS fast path's) with lowp's quantizers. Prints `SKIP` and passes when no C++
//! compiler is found (`CXX`, else `c++`, else `g++`), unless `LOWP_REQUIRE` names `cxx`.

#![cfg(not(target_arch = "wasm32"))]

use lowp_backend::{Backend, ConvGeometry, CpuBackend, SliceRange};
use lowp_cuda::CudaBackend;
use lowp_cuda::gemm::{BLOCK, kernel_name, kernel_params};
use lowp_cuda::movement::{self, Target};
use lowp_cuda::ops::{ops_params, reduce_params};
use lowp_cuda::params::MoveParams;
use lowp_cuda::params::{
    BlockLayoutParams, BlockParams, KIND_GRID, QuantizeParams, QuantizerParams,
};
use lowp_cuda::params::{binary_code, unary_code};
use lowp_formats::block::BlockFloatingPoint;
use lowp_formats::gemm::{self, Accumulation, GemmSpec};
use lowp_formats::ops::{ReduceOp, UnaryOp, reduce_reference};
use lowp_formats::{Format, Quantizer, Rounding, SuperNormalFloat, math, ops::BinaryOp, philox};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const KERNELS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../kernels");
const DRIVER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/host_emulation.cpp");

/// One record for the driver (tag, a, b, c, quantizer) and the oracle's answer.
struct Case {
    what: String,
    record: [u32; 32],
    expected: u32,
}

fn record(tag: u32, a: u32, b: u32, c: u32, quantizer: &QuantizerParams) -> [u32; 32] {
    let mut record = [0u32; 32];
    record[..4].copy_from_slice(&[tag, a, b, c]);
    record[4..].copy_from_slice(bytemuck::cast_slice(bytemuck::bytes_of(quantizer)));
    record
}

/// Compiles the driver, or `None` when no C++ compiler runs.
fn compile_driver() -> Option<PathBuf> {
    let out = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("lowp_cuda_host_emulation_{}", std::process::id()));
    let candidates: Vec<String> = std::env::var("CXX")
        .into_iter()
        .chain(["c++".to_string(), "g++".to_string()])
        .collect();
    for compiler in candidates {
        let status = Command::new(&compiler)
            .args([
                "-std=c++20",
                "-pthread",
                "-O2",
                "-ffp-contract=off",
                "-Wall",
                "-Werror",
                "-Wno-unused-function",
                "-Wno-unused-variable",
                "-Wno-unknown-pragmas",
                "-D__device__=",
                "-D__forceinline__=inline",
                "-D__constant__=",
                "-I",
                KERNELS,
                DRIVER,
                "-o",
            ])
            .arg(&out)
            .status();
        match status {
            Ok(status) if status.success() => return Some(out),
            Ok(status) => panic!("{compiler} failed to compile the host emulation ({status})"),
            Err(_) => continue,
        }
    }
    None
}

fn run_driver(driver: &Path, cases: &[Case]) -> Vec<u32> {
    let mut child = Command::new(driver)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("driver starts");
    let mut input = Vec::with_capacity(cases.len() * 128);
    for case in cases {
        input.extend_from_slice(bytemuck::cast_slice(&case.record));
    }
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || stdin.write_all(&input).expect("write records"));
    let output = child.wait_with_output().expect("driver runs");
    writer.join().expect("writer");
    assert!(output.status.success(), "driver failed");
    output
        .stdout
        .chunks_exact(4)
        .map(|bytes| u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
        .collect()
}

fn same(a: u32, b: u32) -> bool {
    a == b || (f32::from_bits(a).is_nan() && f32::from_bits(b).is_nan())
}

/// A xorshift64 generator with a fixed seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn word(&mut self) -> u32 {
        (self.next() >> 32) as u32
    }
}

/// Edge patterns plus random patterns of every binade and random patterns near the formats'
/// grids (ties and their neighbours come from values with few significant bits).
fn inputs(rng: &mut Rng) -> Vec<u32> {
    let mut values = vec![
        0x0000_0000,
        0x8000_0000,
        0x7F80_0000,
        0xFF80_0000,
        0x7FC0_0000,
        0xFFC0_0001,
        0x7F80_0001,
        0x0000_0001,
        0x8000_0001,
        0x007F_FFFF,
        0x0080_0000,
        0x0040_0000,
        0x7F7F_FFFF,
        0xFF7F_FFFF,
        0x3F80_0000,
        0xBF80_0000,
    ];
    for e in 0..256u32 {
        for m in [0u32, 1, 0x40_0000, 0x7F_FFFF, 0x20_0000, 0x60_0000] {
            values.push((e << 23) | m);
            values.push(0x8000_0000 | (e << 23) | m);
        }
    }
    // The rounding boundaries of every quantum inside the fraction: ties with even and odd kept
    // bits, their neighbours, and carries into the next binade.
    for shift in 1..=23u32 {
        let half = 1u32 << (shift - 1);
        let kept_odd = (1u32 << shift) & 0x7F_FFFF;
        for e in [1u32, 100, 112, 117, 120, 127, 142, 254] {
            for m in [
                half,
                half - 1,
                half + 1,
                kept_odd | half,
                0x7F_FFFF - half + 1,
            ] {
                let pattern = (e << 23) | (m & 0x7F_FFFF);
                values.push(pattern);
                values.push(pattern | 0x8000_0000);
            }
        }
    }
    for _ in 0..3000 {
        values.push(rng.word());
    }
    for _ in 0..3000 {
        // Few significant bits: exact ties of coarse grids, near 1 and near the small binades.
        let e = 100 + (rng.word() % 60);
        let m = (rng.word() & 0x7F_0000) | ((rng.word() & 1) << 15);
        values.push((rng.word() & 0x8000_0000) | (e << 23) | m);
    }
    values
}

const MODES: [Rounding; 9] = [
    Rounding::Nearest,
    Rounding::TowardZero,
    Rounding::Up,
    Rounding::Down,
    Rounding::NearestAway,
    Rounding::Odd,
    Rounding::Stochastic { bits: 1 },
    Rounding::Stochastic { bits: 13 },
    Rounding::Stochastic { bits: 32 },
];

const FORMATS: [&str; 22] = [
    "float(exp=8,man=23)",
    "float(exp=8,man=23,subnormals=false)",
    "float(exp=8,man=7)",
    "float(exp=5,man=10)",
    "float(exp=5,man=2,saturate=true)",
    "float(exp=4,man=3)",
    "float(exp=4,man=3,subnormals=false)",
    "float(exp=2,man=1,subnormals=false)",
    "float(exp=3,man=0)",
    "float(exp=8,man=0,subnormals=false)",
    "e4m3fn",
    "binary8(p=3)",
    "binary8(p=1)",
    "binary8(p=4,overflow=saturate_maxfloat)",
    "binary8(p=3,signed=false,overflow=saturate_maxfloat2)",
    "binary8(p=5,subnormals=false)",
    "binary(k=12,p=4,overflow=saturate_infty)",
    "binary(k=16,p=9)",
    "fixed(wl=8,fl=4)",
    "fixed(wl=16,fl=8,symmetric=true)",
    "fixed(wl=32,fl=-3,clamp=false)",
    "fixed(wl=28,fl=30)",
];

fn quantizer_cases(rng: &mut Rng, values: &[u32]) -> Vec<Case> {
    let mut cases = Vec::new();
    let mut element_wise: Vec<(String, Quantizer)> = Vec::new();
    for spec in FORMATS {
        let format = format(spec);
        for mode in MODES {
            element_wise.push((spec.to_string(), Quantizer::new(format, mode, 7).unwrap()));
        }
    }
    for (exp, man, lo, hi, saturate) in [
        (4, 3, 1, 1, false),
        (5, 0, 2, 3, true),
        (8, 4, 3, 3, false),
        (3, 2, 1, 2, true),
    ] {
        let format = Format::SuperFp(SuperNormalFloat::new(exp, man, lo, hi, saturate).unwrap());
        element_wise.push((format.to_string(), Quantizer::nearest(format)));
    }
    for (spec, quantizer) in &element_wise {
        let params = QuantizerParams::new(quantizer);
        for &x in values {
            let word = rng.word();
            let expected = quantizer.quantize_bits(x, word).unwrap();
            cases.push(Case {
                what: format!(
                    "{spec} {:?} x={x:#010x} word={word:#010x}",
                    quantizer.rounding()
                ),
                record: record(0, x, word, 0, &params),
                expected,
            });
            // The grid GEMM kernels' inlined quantizers on the grids they take.
            if params.kind == KIND_GRID
                && matches!(
                    quantizer.rounding(),
                    Rounding::Nearest | Rounding::Stochastic { .. }
                )
            {
                cases.push(Case {
                    what: format!(
                        "{spec} gemm_quantize<{:?}> x={x:#010x} word={word:#010x}",
                        quantizer.rounding()
                    ),
                    record: record(9, x, word, 0, &params),
                    expected,
                });
            }
        }
    }
    // Block formats: one element against a block maximum.
    for wl in [2u32, 4, 8, 13, 24] {
        let block = BlockFloatingPoint::new(wl, -1).unwrap();
        for mode in MODES {
            let quantizer = Quantizer::new(Format::Block(block), mode, 3).unwrap();
            let params = QuantizerParams::new(&quantizer);
            for (i, &x) in values.iter().enumerate() {
                let max = match i % 3 {
                    0 => x & 0x7FFF_FFFF,
                    1 => values[(i * 7919) % values.len()] & 0x7FFF_FFFF,
                    _ => (x & 0x7FFF_FFFF).saturating_add(rng.word() >> 9),
                };
                let max = if max >= 0x7F80_0000 { 0 } else { max };
                let word = rng.word();
                let expected =
                    block.quantize_element(x, BlockFloatingPoint::shared_exponent(max), mode, word);
                cases.push(Case {
                    what: format!("block(wl={wl}) {mode:?} x={x:#010x} max={max:#010x}"),
                    record: record(1, x, max, word, &params),
                    expected,
                });
            }
        }
    }
    cases
}

fn math_cases(rng: &mut Rng, values: &[u32]) -> Vec<Case> {
    let none = QuantizerParams::default();
    let mut cases = Vec::new();
    type Unary = fn(f32) -> f32;
    let unary: [(&str, Unary); 5] = [
        ("sqrt", math::sqrt),
        ("exp", math::exp),
        ("log", math::log),
        ("tanh", math::tanh),
        ("erf", math::erf),
    ];
    let mut arguments = values.to_vec();
    // Dense coverage of the transcendentals' working ranges.
    for _ in 0..20_000 {
        let x = (rng.word() as f32 / u32::MAX as f32 - 0.5) * 40.0;
        arguments.push(x.to_bits());
    }
    for (code, (name, function)) in unary.iter().enumerate() {
        for &x in &arguments {
            cases.push(Case {
                what: format!("{name}({x:#010x})"),
                record: record(2, x, code as u32, 0, &none),
                expected: function(f32::from_bits(x)).to_bits(),
            });
        }
    }
    let binary: [(&str, BinaryOp); 7] = [
        ("div", BinaryOp::Div),
        ("pow", BinaryOp::Pow),
        ("add", BinaryOp::Add),
        ("sub", BinaryOp::Sub),
        ("mul", BinaryOp::Mul),
        ("max", BinaryOp::Max),
        ("min", BinaryOp::Min),
    ];
    for (code, (name, op)) in binary.iter().enumerate() {
        for (i, &x) in values.iter().enumerate() {
            let y = if i % 2 == 0 {
                values[(i * 7919 + 13) % values.len()]
            } else {
                // Nearby exponents, so sums cancel and round.
                (x ^ (rng.word() & 0x80FF_FFFF)).wrapping_add((rng.word() % 3) << 23)
            };
            let expected = op.apply(f32::from_bits(x), f32::from_bits(y)).to_bits();
            cases.push(Case {
                what: format!("{name}({x:#010x}, {y:#010x})"),
                record: record(3, x, y, code as u32, &none),
                expected,
            });
        }
    }
    for (i, &x) in values.iter().enumerate() {
        let y = values[(i * 31 + 5) % values.len()];
        let z = values[(i * 7 + 1) % values.len()] ^ (rng.word() & 0x8000_0000);
        let expected = math::fma(f32::from_bits(x), f32::from_bits(y), f32::from_bits(z));
        cases.push(Case {
            what: format!("fma({x:#010x}, {y:#010x}, {z:#010x})"),
            record: record(4, x, y, z, &none),
            expected: expected.to_bits(),
        });
    }
    // Philox against the oracle, and its known answer.
    for i in 0..4000u32 {
        let counter = [rng.word(), rng.word(), i, i % 4];
        let key = [rng.word(), rng.word()];
        let mut r = record(5, counter[0], counter[1], counter[2], &none);
        r[4..8].copy_from_slice(&[counter[3], key[0], key[1], i]);
        cases.push(Case {
            what: format!("philox({counter:?}, {key:?})[{}]", i & 3),
            record: r,
            expected: philox::philox4x32_10(counter, key)[(i & 3) as usize],
        });
    }
    let mut known = record(5, 0, 0, 0, &none);
    known[4..8].copy_from_slice(&[0, 0, 0, 1]);
    cases.push(Case {
        what: "philox known answer word 1".to_string(),
        record: known,
        expected: 0xe169c58d,
    });
    cases
}

/// The compiled driver, or `None` after printing `SKIP` (no C++ compiler, and `LOWP_REQUIRE`
/// does not name `cxx`).
fn driver() -> Option<PathBuf> {
    static DRIVER: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    let driver = DRIVER.get_or_init(compile_driver).clone();
    if driver.is_none() {
        let required = std::env::var("LOWP_REQUIRE")
            .map(|list| list.split(',').any(|name| name.trim() == "cxx"))
            .unwrap_or(false);
        assert!(!required, "a C++ compiler is required (LOWP_REQUIRE=cxx)");
        println!("SKIP: no C++ compiler (CXX, c++, g++)");
    }
    driver
}

fn check(cases: &[Case]) {
    let Some(driver) = driver() else {
        return;
    };
    let results = run_driver(&driver, cases);
    assert_eq!(results.len(), cases.len(), "one result per record");
    let failures: Vec<String> = cases
        .iter()
        .zip(&results)
        .filter(|(case, got)| !same(**got, case.expected))
        .map(|(case, got)| {
            format!(
                "{}: got {got:#010x}, expected {:#010x}",
                case.what, case.expected
            )
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases differ; first ones:\n{}",
        failures.len(),
        cases.len(),
        failures
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    println!("{} cases agree bit for bit", cases.len());
}

#[test]
fn quantizers_of_common_cuh_match_lowp_formats() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let values = inputs(&mut rng);
    check(&quantizer_cases(&mut rng, &values));
}

#[test]
fn math_and_philox_of_the_kernels_match_lowp_formats() {
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    let values = inputs(&mut rng);
    check(&math_cases(&mut rng, &values));
}

/// The storage conversions of `kernels/convert.cu` (the cuBLAS fast path's binary16 and bfloat16
/// arrays): every binary16 code decodes like lowp's fp16; binary32 values round to binary16 and
/// bfloat16 like lowp's round-to-nearest quantizers, at every midpoint between two codes (a tie)
/// and its neighbours, on every binade edge and on a sweep over all binary32 patterns.
#[test]
fn storage_conversions_match_lowp_formats() {
    let fp16 = Format::preset("fp16").unwrap();
    let bf16 = Format::preset("bf16").unwrap();
    let to_fp16 = Quantizer::nearest(fp16);
    let to_bf16 = Quantizer::nearest(bf16);
    let none = QuantizerParams::new(&to_fp16);
    let mut cases = Vec::new();
    for code in 0..1u32 << 16 {
        cases.push(Case {
            what: format!("decode binary16 {code:#06x}"),
            record: record(7, code, 0, 0, &none),
            expected: fp16.decode(code).unwrap().to_bits(),
        });
    }
    let mut values: Vec<u32> = inputs(&mut Rng(0x5851_F42D_4C95_7F2D));
    for code in 0..1u32 << 16 {
        // Midpoints above each code, in binary32: fp16's from the decoded neighbours, bf16's
        // where the 16 dropped bits are 0x8000.
        let low = fp16.decode(code).unwrap() as f64;
        let high = fp16.decode(code + 1).map_or(f64::NAN, |value| value as f64);
        if low.is_finite() && high.is_finite() && (low >= 0.0) == (high >= 0.0) {
            let midpoint = ((low + high) / 2.0) as f32;
            values.extend([
                midpoint.to_bits() - 1,
                midpoint.to_bits(),
                midpoint.to_bits() + 1,
            ]);
        }
        let tie = (code << 16) | 0x8000;
        values.extend([tie - 1, tie, tie + 1]);
    }
    values.extend((0..1u64 << 32).step_by(40_009).map(|bits| bits as u32));
    for &x in &values {
        let expected_fp16 = to_fp16.quantize_bits(x, 0).unwrap();
        cases.push(Case {
            what: format!("binary16 of {x:#010x}"),
            record: record(6, x, 0, 0, &none),
            expected: expected_fp16,
        });
        cases.push(Case {
            what: format!("bfloat16 of {x:#010x}"),
            record: record(8, x, 0, 0, &none),
            expected: to_bf16.quantize_bits(x, 0).unwrap(),
        });
    }
    check(&cases);
}

/// Runs the driver in `mode` on `input`, returning its output words.
fn run_mode(driver: &Path, mode: &str, input: Vec<u8>) -> Vec<u32> {
    let mut child = Command::new(driver)
        .arg(mode)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("driver starts");
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || stdin.write_all(&input).expect("write input"));
    let output = child.wait_with_output().expect("driver runs");
    writer.join().expect("writer");
    assert!(output.status.success(), "{mode} driver failed");
    output
        .stdout
        .chunks_exact(4)
        .map(|bytes| u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
        .collect()
}

/// Runs the gemm.cu kernel `kernel` for `spec` on the host emulation over one grid covering the
/// whole batch.
fn emulate_gemm(driver: &Path, kernel: &str, spec: &GemmSpec, a: &[f32], b: &[f32]) -> Vec<u32> {
    let params = kernel_params(spec).expect("valid spec");
    let grid = [
        (spec.n as u32).div_ceil(BLOCK),
        (spec.m as u32).div_ceil(BLOCK),
        spec.batch as u32,
    ];
    let mut input: Vec<u8> = Vec::new();
    for word in grid {
        input.extend_from_slice(&word.to_le_bytes());
    }
    input.extend_from_slice(bytemuck::bytes_of(&params));
    for value in a.iter().chain(b) {
        input.extend_from_slice(&value.to_bits().to_le_bytes());
    }
    run_mode(driver, kernel, input)
}

/// GEMM operands: magnitudes between 2^-6 and 2^3 with both signs, a few zeros, subnormals,
/// infinities and NaNs.
fn gemm_operand(rng: &mut Rng, len: usize) -> Vec<f32> {
    (0..len)
        .map(|_| {
            let word = rng.word();
            match word % 97 {
                0 => 0.0,
                1 => f32::from_bits(word >> 10),
                2 if len > 200 => f32::INFINITY,
                3 if len > 200 => f32::NAN,
                _ => f32::from_bits(
                    (word & 0x8000_0000) | ((121 + (word >> 8) % 10) << 23) | (word & 0x7F_FFFF),
                ),
            }
        })
        .collect()
}

/// The format of a SPEC that must parse.
fn format(spec: &str) -> Format {
    spec.parse().unwrap_or_else(|e| panic!("{spec}: {e}"))
}

#[test]
fn tiled_gemm_kernel_matches_the_reference_in_every_mode() {
    let Some(driver) = driver() else {
        return;
    };
    let mut rng = Rng(0x5851_F42D_4C95_7F2D);
    let shapes = [
        (2, 66, 21, 65),
        (1, 1, 130, 3),
        (3, 5, 16, 65),
        (1, 64, 1, 64),
    ];
    let formats = [
        ("e4m3", "fp16"),
        ("bf16", "fp32"),
        ("fixed(wl=12,fl=6)", "float(exp=6,man=5,subnormals=false)"),
        ("block(wl=6,dim=-1)", "binary8(p=4)"),
    ];
    let mut checked = 0;
    for (case, &(batch, m, k, n)) in shapes.iter().enumerate() {
        for (transpose_a, transpose_b) in
            [(false, false), (true, false), (false, true), (true, true)]
        {
            for mode in [
                "separate",
                "fma",
                "compensated",
                "compensated-fma",
                "blocked",
            ] {
                let (mul, add) = formats[(case + checked) % formats.len()];
                let mut spec = GemmSpec::new(batch, m, k, n, format(mul), format(add));
                spec.transpose_a = transpose_a;
                spec.transpose_b = transpose_b;
                spec.fma = mode.ends_with("fma");
                spec.accumulation = match mode {
                    "compensated" | "compensated-fma" => Accumulation::Compensated,
                    "blocked" => Accumulation::Blocked {
                        chunk: 5,
                        outer: format("fp32"),
                        outer_bits: 9,
                    },
                    _ => Accumulation::Sequential,
                };
                if checked % 2 == 1 {
                    spec.rounding = Rounding::Stochastic { bits: 10 };
                    spec.mul_bits = 7;
                    spec.add_bits = 13;
                    spec.seed = rng.next();
                }
                let a = gemm_operand(&mut rng, batch * m * k);
                let b = gemm_operand(&mut rng, batch * k * n);
                let expected = gemm::reference(&a, &b, &spec).expect("reference");
                // The general kernel, and the backend's choice where that is another one.
                let chosen = kernel_name(&kernel_params(&spec).expect("valid spec"));
                for kernel in ["gemm", chosen] {
                    check_gemm(&driver, kernel, &spec, &a, &b, &expected);
                }
                checked += 1;
            }
        }
    }
    println!("{checked} GEMM configurations agree bit for bit");
}

/// Runs the gemm.cu kernel `kernel` for `spec` and compares C with `expected` bit for bit.
fn check_gemm(
    driver: &Path,
    kernel: &str,
    spec: &GemmSpec,
    a: &[f32],
    b: &[f32],
    expected: &[f32],
) {
    let got = emulate_gemm(driver, kernel, spec, a, b);
    assert_eq!(got.len(), expected.len());
    for (i, (&got, expected)) in got.iter().zip(expected).enumerate() {
        assert!(
            same(got, expected.to_bits()),
            "{kernel} {spec:?}: element {i}: got {got:#010x}, expected {:#010x}",
            expected.to_bits()
        );
    }
}

#[test]
fn grid_gemm_kernels_match_the_reference() {
    let Some(driver) = driver() else {
        return;
    };
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    // Formats with and without subnormals, no fraction bits (grid_quantize's general path
    // only), 23 fraction bits, unsigned, saturating and e4m3fn's overflow; operands scaled by
    // 2^6 push small formats over their largest value.
    let pairs = [
        ("e4m3", "fp16"),
        ("bf16", "fp32"),
        ("fp32", "fp32"),
        ("e5m2", "bf16"),
        ("binary8(p=3)", "e4m3fn"),
        ("float(exp=3,man=0)", "float(exp=5,man=2,saturate=true)"),
        ("float(exp=4,man=3,subnormals=false)", "fp16"),
        (
            "binary8(p=3,signed=false,overflow=saturate_maxfloat2)",
            "binary8(p=5)",
        ),
        ("fixed(wl=12,fl=6)", "fp16"),
    ];
    let mut checked = 0;
    for (mul, add) in pairs {
        for (fma, stochastic) in [(false, false), (true, false), (false, true), (true, true)] {
            for (scale, (batch, m, k, n)) in [(1.0f32, (2, 66, 37, 65)), (64.0, (1, 70, 20, 9))] {
                let mut spec = GemmSpec::new(batch, m, k, n, format(mul), format(add));
                spec.fma = fma;
                spec.transpose_b = checked % 3 == 1;
                if stochastic {
                    spec.rounding = Rounding::Stochastic { bits: 9 };
                    spec.mul_bits = 5;
                    spec.add_bits = 11;
                    spec.seed = rng.next();
                }
                let kernel = kernel_name(&kernel_params(&spec).expect("valid spec"));
                if mul.starts_with("fixed") && !fma {
                    assert_eq!(kernel, "gemm", "{spec:?}");
                    continue;
                }
                let expected_kernel = if stochastic {
                    "gemm_stochastic_grid"
                } else {
                    "gemm_nearest_grid"
                };
                assert_eq!(kernel, expected_kernel, "{spec:?}");
                let a: Vec<f32> = gemm_operand(&mut rng, batch * m * k)
                    .into_iter()
                    .map(|x| x * scale)
                    .collect();
                let b = gemm_operand(&mut rng, batch * k * n);
                let expected = gemm::reference(&a, &b, &spec).expect("reference");
                check_gemm(&driver, kernel, &spec, &a, &b, &expected);
                checked += 1;
            }
        }
    }
    // The other accumulations and rounding modes take the general kernel.
    let mut spec = GemmSpec::new(1, 4, 4, 4, format("e4m3"), format("fp16"));
    spec.accumulation = Accumulation::Compensated;
    assert_eq!(kernel_name(&kernel_params(&spec).unwrap()), "gemm");
    spec.accumulation = Accumulation::Sequential;
    spec.rounding = Rounding::TowardZero;
    assert_eq!(kernel_name(&kernel_params(&spec).unwrap()), "gemm");
    println!("{checked} GEMM configurations of the grid kernels agree bit for bit");
}

/// The block kernels over `values` (shape `shape`) in chunks of `chunk` elements, launched as the
/// backend launches them (block layout per chunk from `BlockLayoutParams::for_chunk`).
fn emulate_block(
    driver: &Path,
    quantizer: &Quantizer,
    shape: &[usize],
    values: &[f32],
    chunk: usize,
) -> Vec<u32> {
    let Format::Block(block) = quantizer.format() else {
        panic!("a block format");
    };
    let (inner, extent) = block.geometry(shape).expect("a blocking axis of the shape");
    let (inner, extent) = (inner as u64, extent as u64);
    let params = QuantizerParams::new(quantizer);
    let starts: Vec<usize> = (0..values.len()).step_by(chunk).collect();
    let mut input: Vec<u8> = Vec::new();
    for word in [values.len(), extent as usize, starts.len()] {
        input.extend_from_slice(&(word as u32).to_le_bytes());
    }
    for &start in &starts {
        let count = chunk.min(values.len() - start);
        let chunk_params = BlockParams {
            dispatch: CudaBackend::dispatch(start as u64, count as u64),
            quantizer: params,
            blocks: BlockLayoutParams::for_chunk(start as u64, inner, extent),
        };
        input.extend_from_slice(bytemuck::bytes_of(&chunk_params));
    }
    for value in values {
        input.extend_from_slice(&value.to_bits().to_le_bytes());
    }
    run_mode(driver, "block", input)
}

#[test]
fn block_kernels_match_quantize_slice() {
    let Some(driver) = driver() else {
        return;
    };
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let shape = [3usize, 5, 70];
    let len: usize = shape.iter().product();
    let mut checked = 0;
    for dim in [-1, 0, 1, 2] {
        for (wl, mode) in [
            (8, Rounding::Nearest),
            (4, Rounding::Stochastic { bits: 11 }),
            (13, Rounding::TowardZero),
            (2, Rounding::Odd),
        ] {
            let mut values: Vec<f32> = (0..len)
                .map(|_| {
                    let word = rng.word();
                    f32::from_bits(
                        (word & 0x8000_0000)
                            | ((110 + (word >> 8) % 30) << 23)
                            | (word & 0x7F_FFFF),
                    )
                })
                .collect();
            // Specials: a NaN, an Inf, zeros and a subnormal; one all-zero row along the last axis.
            values[3] = f32::NAN;
            values[77] = f32::NEG_INFINITY;
            values[140] = -0.0;
            values[200] = f32::from_bits(5);
            for value in &mut values[280..350] {
                *value = 0.0;
            }
            let format = Format::Block(BlockFloatingPoint::new(wl, dim).unwrap());
            let quantizer = Quantizer::new(format, mode, rng.next()).unwrap();
            let expected = quantizer.quantize_slice(&values, &shape).unwrap();
            for chunk in [len, 333, 256] {
                let got = emulate_block(&driver, &quantizer, &shape, &values, chunk);
                for (i, (&got, expected)) in got.iter().zip(&expected).enumerate() {
                    assert!(
                        same(got, expected.to_bits()),
                        "block(wl={wl},dim={dim}) {mode:?} chunk {chunk}: element {i}: got {got:#010x}, expected {:#010x}",
                        expected.to_bits()
                    );
                }
                checked += 1;
            }
        }
    }
    println!("{checked} block quantizations agree bit for bit");
}

fn words_of(values: &[f32]) -> impl Iterator<Item = u8> + '_ {
    values
        .iter()
        .flat_map(|value| value.to_bits().to_le_bytes())
}

#[test]
fn ops_and_reduce_kernels_match_lowp_formats() {
    let Some(driver) = driver() else {
        return;
    };
    let mut rng = Rng(0x6A09_E667_F3BC_C908);
    let values: Vec<f32> = inputs(&mut rng).into_iter().map(f32::from_bits).collect();
    let others: Vec<f32> = (0..values.len())
        .map(|i| values[(i * 7919 + 11) % values.len()])
        .collect();
    let count = values.len();
    let quantizers = [
        None,
        Some(
            Quantizer::new(
                "e4m3".parse().unwrap(),
                Rounding::Stochastic { bits: 5 },
                99,
            )
            .unwrap(),
        ),
        Some(Quantizer::nearest("fixed(wl=10,fl=3)".parse().unwrap())),
    ];
    let run_ops = |kernel: u32, op: u32, quantizer: Option<&Quantizer>, arrays: [&[f32]; 3]| {
        let mut input: Vec<u8> = Vec::new();
        input.extend_from_slice(&kernel.to_le_bytes());
        input.extend_from_slice(&(count as u32).to_le_bytes());
        input.extend_from_slice(bytemuck::bytes_of(&ops_params(
            op,
            quantizer,
            0,
            count as u64,
        )));
        for array in arrays {
            input.extend(words_of(array));
        }
        run_mode(&driver, "ops", input)
    };
    let finish = |value: f32, i: usize, quantizer: Option<&Quantizer>| -> u32 {
        match quantizer {
            Some(q) => q.quantize_bits(value.to_bits(), q.word(i as u64)).unwrap(),
            None => value.to_bits(),
        }
    };
    for quantizer in &quantizers {
        let quantizer = quantizer.as_ref();
        for op in UnaryOp::ALL {
            let got = run_ops(0, unary_code(op), quantizer, [&values, &values, &values]);
            for (i, &x) in values.iter().enumerate() {
                let expected = finish(op.apply(x), i, quantizer);
                assert!(
                    same(got[i], expected),
                    "{op:?} {quantizer:?} element {i}: got {:#010x}, expected {expected:#010x}",
                    got[i]
                );
            }
        }
        for op in BinaryOp::ALL {
            let got = run_ops(1, binary_code(op), quantizer, [&values, &values, &others]);
            for i in 0..count {
                let expected = finish(op.apply(values[i], others[i]), i, quantizer);
                assert!(
                    same(got[i], expected),
                    "{op:?} {quantizer:?} element {i}: got {:#010x}, expected {expected:#010x}",
                    got[i]
                );
            }
        }
    }
    let got = run_ops(
        2,
        0,
        None,
        [
            &others,
            &values,
            &values.iter().map(|x| -x).collect::<Vec<_>>(),
        ],
    );
    for i in 0..count {
        let expected = if others[i] != 0.0 || others[i].is_nan() {
            values[i]
        } else {
            -values[i]
        };
        assert!(same(got[i], expected.to_bits()), "select element {i}");
    }
    // Reductions over each axis of a [7, 13, 11] tensor.
    let shape = [7usize, 13, 11];
    let x = &values[..shape.iter().product::<usize>()];
    for op in ReduceOp::ALL {
        for quantizer in &quantizers {
            let quantizer = quantizer.as_ref();
            for axis in 0..3 {
                let expected = reduce_reference(op, x, &shape, axis, quantizer).unwrap();
                let inner: usize = shape[axis + 1..].iter().product();
                let outputs = expected.len();
                let mut input: Vec<u8> = Vec::new();
                input.extend_from_slice(&(outputs as u32).to_le_bytes());
                input.extend_from_slice(&(x.len() as u32).to_le_bytes());
                let params = reduce_params(op, shape[axis], inner, quantizer, 0, outputs as u64);
                input.extend_from_slice(bytemuck::bytes_of(&params));
                input.extend(words_of(x));
                let got = run_mode(&driver, "reduce", input);
                for (o, expected) in expected.iter().enumerate() {
                    assert!(
                        same(got[o], expected.to_bits()),
                        "{op:?} axis {axis} {quantizer:?} output {o}: got {:#010x}, expected {:#010x}",
                        got[o],
                        expected.to_bits()
                    );
                }
            }
        }
    }
    println!("ops, select and reductions agree bit for bit on {count} elements");
}

#[test]
fn quantize_kernel_draws_the_words_of_64_bit_indices() {
    let Some(driver) = driver() else {
        return;
    };
    let mut rng = Rng(0xBB67_AE85_84CA_A73B);
    let values: Vec<f32> = inputs(&mut rng)
        .into_iter()
        .take(3000)
        .map(f32::from_bits)
        .collect();
    let quantizers = [
        Quantizer::new(
            "bf16".parse().unwrap(),
            Rounding::Stochastic { bits: 16 },
            0x1234_5678_9ABC_DEF0,
        )
        .unwrap(),
        Quantizer::new("binary8(p=3)".parse().unwrap(), Rounding::Nearest, 0).unwrap(),
        Quantizer::new(
            "fixed(wl=8,fl=4)".parse().unwrap(),
            Rounding::Stochastic { bits: 24 },
            5,
        )
        .unwrap(),
    ];
    // Chunks as the backend launches them (one thread per Philox block of four elements), the
    // last ones far beyond 2^32 elements; chunks that start and end inside a block, and whose
    // leading elements take one more thread block of 256 threads (3 + 1022 = 4 * 256 + 1).
    for quantizer in &quantizers {
        for (start, len) in [
            (0u64, values.len()),
            (1000, values.len()),
            (1001, values.len() - 2),
            (7, 1),
            (6, 3),
            (3, 1022),
            ((1 << 32) - 1002, values.len()),
            ((5 << 32) + 3, 2046),
        ] {
            let values = &values[..len];
            let (dispatch, threads) = CudaBackend::quantize_dispatch(start, len as u64);
            let params = QuantizeParams {
                dispatch,
                quantizer: QuantizerParams::new(quantizer),
            };
            let mut input: Vec<u8> = Vec::new();
            input.extend_from_slice(&(len as u32).to_le_bytes());
            input.extend_from_slice(&(threads as u32).to_le_bytes());
            input.extend_from_slice(bytemuck::bytes_of(&params));
            input.extend(words_of(values));
            let got = run_mode(&driver, "quantize", input);
            for (j, &x) in values.iter().enumerate() {
                let expected = quantizer
                    .quantize_bits(x.to_bits(), quantizer.word(start + j as u64))
                    .unwrap();
                assert!(
                    same(got[j], expected),
                    "{quantizer:?} chunk at {start}: element {j}: got {:#010x}, expected {expected:#010x}",
                    got[j]
                );
            }
        }
    }
}

/// The movement kernels on the host: buffers are vectors of bit patterns, each launch runs the
/// driver. Buffers that the plan overwrites start as a non-NaN sentinel, so an element no launch
/// writes shows up as a difference.
struct Emulator {
    driver: PathBuf,
}

const UNWRITTEN: u32 = 0x1234_5678;

impl Target for Emulator {
    type Buffer = Vec<u32>;

    fn buffer_len(&self, buffer: &Vec<u32>) -> usize {
        buffer.len()
    }

    fn alloc(&self, len: usize, zeroed: bool) -> lowp_backend::Result<Vec<u32>> {
        Ok(vec![if zeroed { 0 } else { UNWRITTEN }; len])
    }

    fn launch(
        &self,
        kernel: &'static str,
        src: &Vec<u32>,
        dst: &mut Vec<u32>,
        tables: &[u32],
        template: MoveParams,
        count: usize,
    ) -> lowp_backend::Result<()> {
        let id: u32 = match kernel {
            "strided_copy" => 0,
            "scatter_add" => 1,
            "im2col" => 2,
            "col2im" => 3,
            other => panic!("unknown movement kernel {other}"),
        };
        let mut input: Vec<u8> = Vec::new();
        for word in [
            id,
            count as u32,
            src.len() as u32,
            dst.len() as u32,
            tables.len() as u32,
        ] {
            input.extend_from_slice(&word.to_le_bytes());
        }
        input.extend_from_slice(bytemuck::bytes_of(&template));
        for word in src.iter().chain(dst.iter()).chain(tables) {
            input.extend_from_slice(&word.to_le_bytes());
        }
        *dst = run_mode(&self.driver, "movement", input);
        Ok(())
    }
}

fn bits(values: &[f32]) -> Vec<u32> {
    values.iter().map(|x| x.to_bits()).collect()
}

fn cpu_bits(result: lowp_backend::Result<Vec<f32>>) -> Vec<u32> {
    bits(&result.expect("cpu op"))
}

fn assert_same_bits(what: &str, got: &[u32], expected: &[u32]) {
    assert_eq!(got.len(), expected.len(), "{what}: lengths");
    for (i, (&got, &expected)) in got.iter().zip(expected).enumerate() {
        assert!(
            same(got, expected),
            "{what}: element {i}: got {got:#010x}, expected {expected:#010x}"
        );
    }
}

#[test]
fn movement_plans_and_kernels_match_the_cpu_backend() {
    let Some(driver) = driver() else {
        return;
    };
    let emulator = Emulator { driver };
    let cpu = CpuBackend::new();
    let mut rng = Rng(0x3C6E_F372_FE94_F82B);
    let mut data = |len: usize| -> Vec<f32> {
        (0..len)
            .map(|i| match i % 41 {
                7 => -0.0,
                13 => f32::from_bits(0x7FC0_1234),
                19 => f32::from_bits(3),
                _ => f32::from_bits(rng.word() >> 2),
            })
            .collect()
    };
    let on_cpu = |x: &[f32],
                  op: &dyn Fn(
        &<CpuBackend as Backend>::Buffer,
    ) -> lowp_backend::Result<<CpuBackend as Backend>::Buffer>| {
        let input = cpu.upload(x).unwrap();
        let output = op(&input).expect("cpu op");
        cpu_bits(pollster::block_on(cpu.download(&output)))
    };

    let shape = [2usize, 3, 1, 4];
    let x = data(24);
    for axes in [[3usize, 0, 2, 1], [0, 1, 2, 3], [2, 3, 1, 0]] {
        let got = movement::permute(&emulator, &bits(&x), &shape, &axes).unwrap();
        let expected = on_cpu(&x, &|b| cpu.permute(b, &shape, &axes));
        assert_same_bits(&format!("permute {axes:?}"), &got, &expected);
    }
    let small = data(6);
    for (from, to) in [
        (&[3usize, 1][..], &[2usize, 3, 5][..]),
        (&[1, 6], &[4, 1, 6]),
        (&[6], &[6]),
    ] {
        let got = movement::expand(
            &emulator,
            &bits(&small[..from.iter().product::<usize>()]),
            from,
            to,
        )
        .unwrap();
        let expected = on_cpu(&small[..from.iter().product::<usize>()], &|b| {
            cpu.expand(b, from, to)
        });
        assert_same_bits(&format!("expand {from:?} -> {to:?}"), &got, &expected);
    }
    let ranges = [
        SliceRange {
            start: 1,
            end: 2,
            step: 1,
        },
        SliceRange {
            start: 0,
            end: 3,
            step: 2,
        },
        SliceRange::full(1),
        SliceRange {
            start: 1,
            end: 4,
            step: 2,
        },
    ];
    let got = movement::slice(&emulator, &bits(&x), &shape, &ranges).unwrap();
    let expected = on_cpu(&x, &|b| cpu.slice(b, &shape, &ranges));
    assert_same_bits("slice", &got, &expected);

    let a = data(2 * 3 * 4);
    let b = data(2 * 5 * 4);
    let (a_bits, b_bits) = (bits(&a), bits(&b));
    let got = movement::concat(
        &emulator,
        &[(&a_bits, &[2, 3, 4][..]), (&b_bits, &[2, 5, 4][..])],
        1,
    )
    .unwrap();
    let expected = {
        let (ca, cb) = (cpu.upload(&a).unwrap(), cpu.upload(&b).unwrap());
        let out = cpu
            .concat(&[(&ca, &[2, 3, 4][..]), (&cb, &[2, 5, 4][..])], 1)
            .unwrap();
        cpu_bits(pollster::block_on(cpu.download(&out)))
    };
    assert_same_bits("concat", &got, &expected);

    let indices = [2u32, 0, 2, 1, 2];
    let got = movement::gather(&emulator, &bits(&x), &shape, 1, &indices).unwrap();
    let expected = on_cpu(&x, &|b| cpu.gather(b, &shape, 1, &indices));
    assert_same_bits("gather", &got, &expected);
    let src_shape = [2usize, 5, 1, 4];
    let src = data(40);
    let got = movement::scatter_add(&emulator, &bits(&src), &src_shape, 1, &indices, 4).unwrap();
    let expected = on_cpu(&src, &|b| cpu.scatter_add(b, &src_shape, 1, &indices, 4));
    assert_same_bits("scatter_add", &got, &expected);

    let geometries = [
        ConvGeometry {
            batch: 2,
            channels: 4,
            groups: 2,
            input: vec![5, 4],
            kernel: vec![3, 2],
            stride: vec![2, 1],
            pad_before: vec![1, 0],
            pad_after: vec![1, 1],
            dilation: vec![1, 2],
        },
        ConvGeometry {
            batch: 1,
            channels: 3,
            groups: 1,
            input: vec![9],
            kernel: vec![3],
            stride: vec![1],
            pad_before: vec![2],
            pad_after: vec![0],
            dilation: vec![2],
        },
        ConvGeometry {
            batch: 1,
            channels: 2,
            groups: 1,
            input: vec![3, 3, 2],
            kernel: vec![2, 2, 1],
            stride: vec![1, 2, 1],
            pad_before: vec![0, 1, 0],
            pad_after: vec![1, 0, 0],
            dilation: vec![1, 1, 1],
        },
    ];
    for geometry in &geometries {
        let input = data(geometry.input_len());
        let got = movement::im2col(&emulator, &bits(&input), geometry).unwrap();
        let expected = on_cpu(&input, &|b| cpu.im2col(b, geometry));
        assert_same_bits(&format!("im2col {geometry:?}"), &got, &expected);
        let columns = data(expected.len());
        let got = movement::col2im(&emulator, &bits(&columns), geometry).unwrap();
        let expected = on_cpu(&columns, &|b| cpu.col2im(b, geometry));
        assert_same_bits(&format!("col2im {geometry:?}"), &got, &expected);
    }
}
