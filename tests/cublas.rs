//! The CUDA backend's optional cuBLAS fast path (`lowp_cuda::cublas`, `--features cuda`), which is
//! not bit-exact: native GEMMs take it and agree with the bit-exact CPU result within a bound
//! derived from the formats; every other GEMM, and every GEMM with the fast path off, stays bit for
//! bit equal to the CPU. Shapes are non-square with batch > 1 and every transpose combination
//! (cuBLAS is column-major). Without a driver, NVRTC or device the tests print `SKIP` and pass,
//! unless `LOWP_REQUIRE` names `cuda`; with `cuda` required, libcublas must load too (a real one
//! on a GPU, the emulated one of scripts/emulated-cuda.sh otherwise).

#![cfg(feature = "cuda")]

use lowp::backend::{Backend, BackendError, CpuBackend};
use lowp::formats::gemm::{Accumulation, GemmSpec};
use lowp::formats::{Format, Quantizer, Rounding};
use lowp::nn::functional::qlinear;
use lowp::nn::{Cast, Mac, QAffineFormats};
use lowp::tensor::{Device, Tensor};
use lowp_cuda::cublas::{CublasCompute, NATIVE_ROUTES};
use lowp_cuda::{CublasAcceleration, CudaBackend, FastMode};
use std::sync::{Mutex, MutexGuard, OnceLock};

fn required() -> bool {
    std::env::var("LOWP_REQUIRE")
        .map(|list| list.split(',').any(|name| name.trim() == "cuda"))
        .unwrap_or(false)
}

/// The shared backend with the fast path set to `acceleration`, held for the test (the setting
/// is the backend's), or `None` after printing `SKIP` when CUDA is unavailable and not required.
fn backend_with(
    acceleration: CublasAcceleration,
) -> Option<(&'static CudaBackend, MutexGuard<'static, ()>)> {
    static BACKEND: OnceLock<Result<CudaBackend, BackendError>> = OnceLock::new();
    static SETTING: Mutex<()> = Mutex::new(());
    let backend = match BACKEND.get_or_init(CudaBackend::new) {
        Ok(backend) => backend,
        Err(BackendError::Unavailable { reason, .. }) if !required() => {
            println!("SKIP: cuda: {reason}");
            return None;
        }
        Err(error) => panic!("the cuda backend is required (LOWP_REQUIRE) but failed: {error}"),
    };
    let guard = SETTING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    match backend.set_cublas_acceleration(acceleration) {
        Ok(()) => Some((backend, guard)),
        Err(BackendError::Unavailable { reason, .. }) if !required() => {
            println!("SKIP: cublas: {reason}");
            None
        }
        Err(error) => panic!("cuBLAS is required with cuda (LOWP_REQUIRE) but failed: {error}"),
    }
}

fn format(name: &str) -> Format {
    name.parse().expect("a preset")
}

/// `len` values spread over about [-4, 4] (xorshift), rounded to nearest in `format`.
fn values(len: usize, seed: u64, format: Format) -> Vec<f32> {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let quantizer = Quantizer::nearest(format);
    (0..len)
        .map(|i| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let x = ((state >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 8.0;
            quantizer
                .quantize_value(x, i as u64)
                .expect("float quantize")
        })
        .collect()
}

fn run<B: Backend>(backend: &B, a: &[f32], b: &[f32], spec: &GemmSpec) -> Vec<f32> {
    let a = backend.upload(a).expect("upload");
    let b = backend.upload(b).expect("upload");
    let c = backend.qgemm(&a, &b, spec).expect("qgemm");
    pollster::block_on(backend.download(&c)).expect("download")
}

/// Element `(row, col)` of entry `entry` of A (`M×K`, or stored `K×M` when transposed).
fn a_at(a: &[f32], spec: &GemmSpec, entry: usize, row: usize, col: usize) -> f32 {
    let base = entry * spec.m * spec.k;
    if spec.transpose_a {
        a[base + col * spec.m + row]
    } else {
        a[base + row * spec.k + col]
    }
}

/// Element `(row, col)` of entry `entry` of B (`K×N`, or stored `N×K` when transposed).
fn b_at(b: &[f32], spec: &GemmSpec, entry: usize, row: usize, col: usize) -> f32 {
    let base = entry * spec.k * spec.n;
    if spec.transpose_b {
        b[base + col * spec.k + row]
    } else {
        b[base + row * spec.n + col]
    }
}

/// `γ_n = n·u / (1 - n·u)`: the relative bound of `n` roundings to unit roundoff `u` in a sum
/// (Higham, Accuracy and Stability of Numerical Algorithms, §3.1), for any summation order.
fn gamma(n: usize, u: f64) -> f64 {
    let nu = n as f64 * u;
    assert!(nu < 1.0, "bound undefined for n·u >= 1");
    nu / (1.0 - nu)
}

/// The bound on `|fast - exact|` for element `(i, j)`: both differ from the exact sum
/// `Σ a·b` by at most `γ_{K+1}(u)·Σ|a·b|` (K accumulation roundings and the final one) plus an
/// absolute `(K+1)·η` for roundings in the subnormal range (η = the add format's smallest
/// subnormal); the fast path's inputs may also be rounded to `input_u` first, which changes each
/// product by at most `(2·input_u + input_u²)·|a·b|`.
///
/// `u` of the bit-exact kernel: one binary32 fma rounding, then the add format's (2^-24 for fp32;
/// `u_add + 2^-24` for fp16, a double rounding). `u` of cuBLAS: one ulp of the add format,
/// `2·u_add`, as tensor cores may truncate the aligned addends instead of rounding them.
fn bound(spec: &GemmSpec, magnitude: f64, input_u: f64) -> f64 {
    let (u_add, eta) = if spec.add == format("fp16") {
        (2f64.powi(-11), 2f64.powi(-24))
    } else {
        (2f64.powi(-24), 2f64.powi(-149))
    };
    let u_exact = if spec.add == format("fp16") {
        u_add + 2f64.powi(-24)
    } else {
        u_add
    };
    let u_cublas = 2.0 * u_add;
    let steps = spec.k + 1;
    let inputs = 2.0 * input_u + input_u * input_u;
    (gamma(steps, u_exact) + gamma(steps, u_cublas) + inputs * (1.0 + gamma(steps, u_cublas)))
        * magnitude
        + 2.0 * steps as f64 * eta
}

/// The largest error of the fast path's inputs rounding under `compute`: binary16 and TF32 keep
/// 10 fraction bits, bfloat16 7; tensor cores may truncate instead of rounding, so the bound is
/// one unit in the last place (`2^-fraction_bits`) rather than half of it.
fn input_roundoff(compute: CublasCompute) -> f64 {
    match compute {
        CublasCompute::F32Fast16F | CublasCompute::F32FastTf32 => 2f64.powi(-10),
        CublasCompute::F32Fast16Bf => 2f64.powi(-7),
        CublasCompute::F32 | CublasCompute::F16 => 0.0,
    }
}

/// Every native route, with shapes M ≠ K ≠ N, batch 3 and all four transpose combinations.
#[test]
fn native_gemms_take_cublas_within_the_bound_of_their_formats() {
    let cpu = CpuBackend::new();
    for (mul, add, fast_mode, expected_route) in NATIVE_ROUTES {
        let Some((backend, _setting)) = backend_with(CublasAcceleration {
            enabled: true,
            fast_mode,
        }) else {
            return;
        };
        for (transpose_a, transpose_b) in
            [(false, false), (true, false), (false, true), (true, true)]
        {
            let mut spec = GemmSpec::new(3, 37, 53, 29, format(mul), format(add));
            spec.fma = true;
            spec.transpose_a = transpose_a;
            spec.transpose_b = transpose_b;
            assert_eq!(backend.cublas_route(&spec), Some(expected_route));
            let (a_len, b_len, _) = spec.sizes();
            // fp32 inputs of fast modes are not representable in the tensor-core type: the
            // bound covers their rounding. Other inputs are representable in the mul format
            // (tf32 ones too, so the tf32 route's input rounding changes nothing).
            let a = values(a_len, 1, spec.mul);
            let b = values(b_len, 2, spec.mul);
            let before = backend.cublas_gemms();
            let fast = run(backend, &a, &b, &spec);
            assert_eq!(
                backend.cublas_gemms(),
                before + 1,
                "{mul}/{add}: not through cuBLAS"
            );
            let exact = run(&cpu, &a, &b, &spec);
            // Inputs representable in the mul format stay as they are under any input rounding.
            let input_u = if spec.mul == format("fp32") {
                input_roundoff(expected_route.compute)
            } else {
                0.0
            };
            let mut worst = 0f64;
            for entry in 0..spec.batch {
                for i in 0..spec.m {
                    for j in 0..spec.n {
                        let magnitude: f64 = (0..spec.k)
                            .map(|l| {
                                (a_at(&a, &spec, entry, i, l) as f64
                                    * b_at(&b, &spec, entry, l, j) as f64)
                                    .abs()
                            })
                            .sum();
                        let index = (entry * spec.m + i) * spec.n + j;
                        let error = (fast[index] as f64 - exact[index] as f64).abs();
                        let limit = bound(&spec, magnitude, input_u);
                        assert!(
                            error <= limit,
                            "{mul}/{add} {fast_mode:?} transposes ({transpose_a}, {transpose_b}): \
                             C[{entry}][{i}][{j}] = {} on cuBLAS, {} bit-exact; |error| {error:e} > bound {limit:e}",
                            fast[index],
                            exact[index]
                        );
                        worst = worst.max(error / limit);
                    }
                }
            }
            println!(
                "{mul}/{add} {fast_mode:?} ({transpose_a}, {transpose_b}): worst error {worst:.3} of the bound"
            );
        }
    }
}

/// With K = 1 and B = [1], cuBLAS returns A's values as stored for it, exactly: the device's
/// binary16/bfloat16 conversions (and binary16 C widened back) must round to nearest even like
/// lowp's quantizers, at ties, in the subnormal range, at overflow and for NaN and inf. (The sign
/// of a zero result is cuBLAS's choice: a sum from +0 gives +0, a lone product -0.)
#[test]
fn inputs_are_rounded_to_nearest_even_on_the_way_to_cublas() {
    let Some((backend, _setting)) = backend_with(CublasAcceleration {
        enabled: true,
        fast_mode: None,
    }) else {
        return;
    };
    let mut a = vec![
        0.0,
        -0.0,
        1.0,
        -1.5,
        1.0 + 2f32.powi(-11),
        1.0 + 3.0 * 2f32.powi(-11),
        1.0 + 2f32.powi(-8),
        1.0 + 3.0 * 2f32.powi(-8),
        65504.0,
        65519.99,
        65520.0,
        -1e30,
        3.4e38,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
        2f32.powi(-25),
        3.0 * 2f32.powi(-25),
        -3e-8,
        1e-8,
        6.0e-5,
        2f32.powi(-14) - 2f32.powi(-25),
        f32::from_bits(1),
        f32::MIN_POSITIVE,
        2f32.powi(-133),
        3.0 * 2f32.powi(-134),
    ];
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..2000 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        a.push(f32::from_bits((state >> 32) as u32));
    }
    let m = a.len();
    for (mul, add) in [("fp16", "fp32"), ("fp16", "fp16"), ("bf16", "fp32")] {
        let mut spec = GemmSpec::new(1, m, 1, 1, format(mul), format(add));
        spec.fma = true;
        let before = backend.cublas_gemms();
        let stored = run(backend, &a, &[1.0], &spec);
        assert_eq!(backend.cublas_gemms(), before + 1);
        let quantizer = Quantizer::nearest(format(mul));
        for (x, got) in a.iter().zip(stored) {
            let expected = quantizer.quantize_value(*x, 0).expect("float quantize");
            assert!(
                got.to_bits() == expected.to_bits()
                    || (got.is_nan() && expected.is_nan())
                    || (got == 0.0 && expected == 0.0),
                "{mul}/{add}: {x:e} ({:#010x}) became {got:e} ({:#010x}), expected {expected:e}",
                x.to_bits(),
                got.to_bits()
            );
        }
    }
}

/// With the fast path on, GEMMs it does not cover run the bit-exact kernel: equal to the CPU bit
/// for bit, and not counted.
#[test]
fn other_gemms_fall_back_to_the_bit_exact_kernel() {
    let Some((backend, _setting)) = backend_with(CublasAcceleration {
        enabled: true,
        fast_mode: Some(FastMode::Tf32),
    }) else {
        return;
    };
    let cpu = CpuBackend::new();
    let native = {
        let mut spec = GemmSpec::new(2, 19, 23, 11, format("fp16"), format("fp32"));
        spec.fma = true;
        spec.transpose_b = true;
        spec
    };
    let specs = [
        GemmSpec {
            fma: false,
            ..native
        },
        GemmSpec {
            rounding: Rounding::Stochastic { bits: 8 },
            ..native
        },
        GemmSpec {
            rounding: Rounding::TowardZero,
            ..native
        },
        GemmSpec {
            accumulation: Accumulation::Compensated,
            ..native
        },
        GemmSpec {
            mul: format("e4m3"),
            add: format("fp16"),
            ..native
        },
        GemmSpec {
            mul: "fp16(saturate=true)".parse().expect("a format"),
            ..native
        },
        GemmSpec {
            mul: format("bf16"),
            add: format("bf16"),
            ..native
        },
    ];
    for spec in specs {
        assert_eq!(backend.cublas_route(&spec), None, "{spec:?}");
        let (a_len, b_len, _) = spec.sizes();
        let a = values(a_len, 3, format("fp32"));
        let b = values(b_len, 4, format("fp32"));
        let before = backend.cublas_gemms();
        let got = run(backend, &a, &b, &spec);
        assert_eq!(
            backend.cublas_gemms(),
            before,
            "{spec:?} went through cuBLAS"
        );
        let expected = run(&cpu, &a, &b, &spec);
        let bits = |values: &[f32]| values.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&got), bits(&expected), "{spec:?}");
    }
}

/// Off (the default, and after switching it off), a native GEMM runs the bit-exact kernel.
#[test]
fn the_fast_path_is_off_unless_enabled() {
    let Some((backend, _setting)) = backend_with(CublasAcceleration::default()) else {
        return;
    };
    assert_eq!(backend.cublas_acceleration(), CublasAcceleration::default());
    let mut spec = GemmSpec::new(2, 17, 31, 13, format("fp16"), format("fp16"));
    spec.fma = true;
    assert_eq!(backend.cublas_route(&spec), None);
    let (a_len, b_len, _) = spec.sizes();
    let a = values(a_len, 5, format("fp16"));
    let b = values(b_len, 6, format("fp16"));
    let before = backend.cublas_gemms();
    let got = run(backend, &a, &b, &spec);
    assert_eq!(backend.cublas_gemms(), before);
    let expected = run(&CpuBackend::new(), &a, &b, &spec);
    let bits = |values: &[f32]| values.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&got), bits(&expected));
}

/// A Q-layer on a CUDA device opened with the fast path on (`Device::cuda_with_cublas`):
/// `qlinear` with fused fp16 GEMMs runs its forward GEMM and both backward GEMMs through cuBLAS,
/// and its output stays within the bound of the fp16 formats from the CPU's.
#[test]
fn q_layers_on_a_cuda_device_use_the_fast_path() {
    let device = match Device::cuda_with_cublas(CublasAcceleration {
        enabled: true,
        fast_mode: None,
    }) {
        Ok(device) => device,
        Err(error) if !required() => {
            println!("SKIP: cuda with cuBLAS: {error}");
            return;
        }
        Err(error) => panic!("cuda with cuBLAS is required (LOWP_REQUIRE) but failed: {error}"),
    };
    let Device::Cuda(backend) = &device else {
        panic!("Device::cuda_with_cublas opened {}", device.name());
    };
    let formats = QAffineFormats {
        fwd_mac: Some(Mac::Fma(format("fp16"))),
        bwd_mac: Some(Mac::Fma(format("fp16"))),
        fwd_rnd: Rounding::Nearest,
        bwd_rnd: Rounding::Nearest,
        input_quant: Some(Cast::nearest(format("fp16"))),
        weight_quant: Some(Cast::nearest(format("fp16"))),
        ..QAffineFormats::default()
    };
    let (batch, inputs, outputs) = (6, 41, 9);
    let x_values = values(batch * inputs, 7, format("fp16"));
    let w_values = values(outputs * inputs, 8, format("fp16"));
    let forward = |device: &Device| {
        let x = Tensor::var(&x_values, &[batch, inputs], device).expect("x");
        let w = Tensor::var(&w_values, &[outputs, inputs], device).expect("w");
        let y = qlinear(&x, &w, None, &formats).expect("qlinear");
        y.sum_all().expect("sum").backward().expect("backward");
        y.to_vec().expect("y")
    };
    let before = backend.cublas_gemms();
    let fast = forward(&device);
    assert!(
        backend.cublas_gemms() >= before + 3,
        "forward and backward GEMMs did not all run through cuBLAS ({} of 3)",
        backend.cublas_gemms() - before
    );
    let exact = forward(&Device::cpu());
    let mut spec = GemmSpec::new(1, batch, inputs, outputs, format("fp16"), format("fp16"));
    spec.fma = true;
    for i in 0..batch {
        for j in 0..outputs {
            let magnitude: f64 = (0..inputs)
                .map(|l| (x_values[i * inputs + l] as f64 * w_values[j * inputs + l] as f64).abs())
                .sum();
            let (got, expected) = (fast[i * outputs + j], exact[i * outputs + j]);
            let error = (got as f64 - expected as f64).abs();
            let limit = bound(&spec, magnitude, 0.0);
            assert!(
                error <= limit,
                "y[{i}][{j}] = {got} on cuBLAS, {expected} bit-exact: |error| {error:e} > {limit:e}"
            );
        }
    }
}

/// Set in the child process of [`enabling_without_libcublas_is_a_clean_error`].
const WITHOUT_CUBLAS: &str = "LOWP_CUBLAS_HIDDEN_CHILD";

/// Without libcublas, enabling the fast path is a clean `Unavailable` that names libcublas (no
/// panic), the setting stays off and a native GEMM runs the bit-exact kernel. The test runs
/// itself again with `LD_LIBRARY_PATH` minus every folder holding a `libcublas.so*`; where the
/// library stays loadable all the same (the loader's cache lists it), the child prints SKIP.
#[test]
fn enabling_without_libcublas_is_a_clean_error() {
    if std::env::var_os(WITHOUT_CUBLAS).is_some() {
        let backend = CudaBackend::new().expect("the child's CUDA backend");
        let acceleration = CublasAcceleration {
            enabled: true,
            fast_mode: None,
        };
        match backend.set_cublas_acceleration(acceleration) {
            Ok(()) => println!("CHILD-SKIP: libcublas is still loadable"),
            Err(BackendError::Unavailable {
                backend: name,
                reason,
            }) => {
                assert_eq!(name, "cuda");
                assert!(reason.contains("libcublas"), "{reason}");
                assert_eq!(backend.cublas_acceleration(), CublasAcceleration::default());
                let mut spec = GemmSpec::new(2, 5, 7, 3, format("fp16"), format("fp32"));
                spec.fma = true;
                assert_eq!(backend.cublas_route(&spec), None);
                let (a_len, b_len, _) = spec.sizes();
                let a = values(a_len, 9, format("fp16"));
                let b = values(b_len, 10, format("fp16"));
                let got = run(&backend, &a, &b, &spec);
                let expected = run(&CpuBackend::new(), &a, &b, &spec);
                let bits = |values: &[f32]| values.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&got), bits(&expected));
                assert_eq!(backend.cublas_gemms(), 0);
                println!("CHILD-OK: {reason}");
            }
            Err(error) => panic!("expected Unavailable, got {error}"),
        }
        return;
    }
    if let Err(error) = CudaBackend::new() {
        assert!(
            !required(),
            "the cuda backend is required (LOWP_REQUIRE) but failed: {error}"
        );
        println!("SKIP: cuda: {error}");
        return;
    }
    let path = std::env::var_os("LD_LIBRARY_PATH").unwrap_or_default();
    let holds_cublas = |dir: &std::path::Path| {
        std::fs::read_dir(dir).is_ok_and(|entries| {
            entries.flatten().any(|entry| {
                entry
                    .file_name()
                    .to_string_lossy()
                    .starts_with("libcublas.so")
            })
        })
    };
    let kept: Vec<_> = std::env::split_paths(&path)
        .filter(|dir| !holds_cublas(dir))
        .collect();
    let output = std::process::Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "enabling_without_libcublas_is_a_clean_error",
            "--nocapture",
        ])
        .env(WITHOUT_CUBLAS, "1")
        .env(
            "LD_LIBRARY_PATH",
            std::env::join_paths(kept).expect("a path list"),
        )
        .output()
        .expect("the child runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "child failed:\n{stdout}\n{stderr}");
    let cached = std::process::Command::new("ldconfig")
        .arg("-p")
        .output()
        .is_ok_and(|listing| String::from_utf8_lossy(&listing.stdout).contains("libcublas.so"));
    if cached {
        assert!(
            stdout.contains("CHILD-OK") || stdout.contains("CHILD-SKIP"),
            "{stdout}"
        );
    } else {
        assert!(stdout.contains("CHILD-OK"), "{stdout}");
    }
    println!("{stdout}");
}
