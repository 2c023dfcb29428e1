//! End-to-end tests of `--backend`: `--backend wgpu` and `--backend cuda` give the same output
//! files as `--backend cpu` for quantize and gemm, pass a small conformance manifest and bench
//! their rows; unknown and unavailable backends are bad input (one `error:` line, exit status 2,
//! no output file).
//!
//! The wgpu tests need an adapter (lavapipe will do), the cuda tests a CUDA device (and the
//! `cuda` feature). Without one they print `SKIP` and pass, unless the environment variable
//! `LOWP_REQUIRE` names the backend.

mod common;

use common::{Scratch, assert_bad_input, f32_bytes, lowp, quantize_args, success};
use std::ffi::OsStr;
use std::fs;
use std::process::Command;

/// Whether `backend` (`wgpu` or `cuda`) can run here (the test process opens it, as the binary
/// would). Otherwise prints `SKIP` and returns false, or panics when `LOWP_REQUIRE` names it.
fn backend_available(backend: &str, test: &str) -> bool {
    let reason = match backend {
        #[cfg(feature = "wgpu")]
        "wgpu" => match lowp_wgpu::WgpuBackend::new() {
            Ok(_) => return true,
            Err(error) => error.to_string(),
        },
        #[cfg(feature = "cuda")]
        "cuda" => match lowp_cuda::CudaBackend::new() {
            Ok(_) => return true,
            Err(error) => error.to_string(),
        },
        _ => format!("lowp-cli was built without the `{backend}` feature"),
    };
    let required = std::env::var("LOWP_REQUIRE")
        .is_ok_and(|value| value.split(',').any(|name| name.trim() == backend));
    assert!(!required, "LOWP_REQUIRE names {backend}, but: {reason}");
    println!("SKIP {test}: {reason}");
    false
}

/// Deterministic values over many binades, with zeros, infinities, NaN, ties and subnormals.
fn values(n: usize) -> Vec<f32> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut values: Vec<f32> = (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let exponent = (state >> 40) % 48;
            let mantissa = (state as u32) & 0x007F_FFFF;
            let sign = ((state >> 63) as u32) << 31;
            f32::from_bits(sign | ((100 + exponent as u32) << 23) | mantissa)
        })
        .collect();
    let specials = [
        0.0,
        -0.0,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
        1.0625,
        1000.0,
        448.0,
        465.0,
        f32::from_bits(1),
        1e-9,
    ];
    values[..specials.len()].copy_from_slice(&specials);
    values
}

/// Runs `args` followed by `--output out-BACKEND.EXTENSION` (in the scratch directory) on cpu and
/// on `device` and asserts the two output files are byte-identical.
fn assert_same_file_as_cpu(device: &str, scratch: &Scratch, args: &[&OsStr], extension: &str) {
    let mut outputs = Vec::new();
    for backend in ["cpu", device] {
        let output = scratch.file(&format!("out-{backend}.{extension}"));
        let mut full: Vec<&OsStr> = vec!["--backend".as_ref(), backend.as_ref()];
        full.extend_from_slice(args);
        full.extend_from_slice(&["--output".as_ref(), output.as_os_str()]);
        success(&lowp(&full));
        outputs.push(fs::read(&output).unwrap());
    }
    assert!(!outputs[0].is_empty());
    assert!(
        outputs[0] == outputs[1],
        "cpu and {device} outputs differ for {args:?}"
    );
}

#[test]
fn quantize_on_wgpu_writes_the_same_file_as_on_cpu() {
    quantize_writes_the_same_file_as_on_cpu("wgpu");
}

#[test]
fn quantize_on_cuda_writes_the_same_file_as_on_cpu() {
    quantize_writes_the_same_file_as_on_cpu("cuda");
}

fn quantize_writes_the_same_file_as_on_cpu(backend: &str) {
    if !backend_available(backend, "quantize_writes_the_same_file_as_on_cpu") {
        return;
    }
    let scratch = Scratch::new("backend-cli", &format!("quantize-{backend}"));
    let input = scratch.write_f32("in.f32", &values(1000));
    for (format, rounding, extension) in [
        ("e4m3", "nearest", "f32"),
        ("bf16", "toward-zero", "f32"),
        ("fp16", "stochastic", "npy"),
        ("binary8(p=3)", "nearest-away", "f32"),
        ("fixed(wl=8,fl=4)", "stochastic", "npy"),
    ] {
        let args: Vec<&OsStr> = vec![
            "quantize".as_ref(),
            "--format".as_ref(),
            format.as_ref(),
            "--rounding".as_ref(),
            rounding.as_ref(),
            "--seed".as_ref(),
            "7".as_ref(),
            "--shape".as_ref(),
            "10,100".as_ref(),
            "--input".as_ref(),
            input.as_os_str(),
        ];
        assert_same_file_as_cpu(backend, &scratch, &args, extension);
    }
}

#[test]
fn gemm_on_wgpu_writes_the_same_file_as_on_cpu() {
    gemm_writes_the_same_file_as_on_cpu("wgpu");
}

#[test]
fn gemm_on_cuda_writes_the_same_file_as_on_cpu() {
    gemm_writes_the_same_file_as_on_cpu("cuda");
}

fn gemm_writes_the_same_file_as_on_cpu(backend: &str) {
    if !backend_available(backend, "gemm_writes_the_same_file_as_on_cpu") {
        return;
    }
    let scratch = Scratch::new("backend-cli", &format!("gemm-{backend}"));
    let (batch, m, k, n) = (2, 5, 7, 3);
    // Finite operands between 2^-4 and 2^2 in magnitude, so that sums stay mostly finite.
    let small: Vec<f32> = values(batch * (m * k + k * n))
        .iter()
        .map(|value| {
            let bits = value.to_bits();
            f32::from_bits(
                (bits & 0x8000_0000) | ((123 + (bits >> 23) % 6) << 23) | (bits & 0x7F_FFFF),
            )
        })
        .collect();
    let a = scratch.write_f32("a.f32", &small[..batch * m * k]);
    let b = scratch.write_f32("b.f32", &small[batch * m * k..]);
    let sizes = ["--batch", "2", "--m", "5", "--k", "7", "--n", "3"];
    let variants: [&[&str]; 4] = [
        &["--mul", "e4m3", "--add", "fp16"],
        &["--mul", "e4m3", "--add", "fp16", "--fma", "--transpose-b"],
        &[
            "--mul",
            "bf16",
            "--add",
            "bf16",
            "--rounding",
            "stochastic",
            "--seed",
            "3",
        ],
        &[
            "--mul", "fp16", "--add", "e5m2", "--chunk", "2", "--outer", "fp32",
        ],
    ];
    for (variant, extension) in variants.into_iter().zip(["f32", "npy", "f32", "npy"]) {
        let mut args: Vec<&OsStr> = vec![
            "gemm".as_ref(),
            "--a".as_ref(),
            a.as_os_str(),
            "--b".as_ref(),
            b.as_os_str(),
        ];
        args.extend(sizes.iter().map(OsStr::new));
        args.extend(variant.iter().map(OsStr::new));
        assert_same_file_as_cpu(backend, &scratch, &args, extension);
    }
}

#[test]
fn conformance_passes_on_wgpu() {
    conformance_passes_on("wgpu");
}

#[test]
fn conformance_passes_on_cuda() {
    conformance_passes_on("cuda");
}

fn conformance_passes_on(backend: &str) {
    if !backend_available(backend, "conformance_passes_on") {
        return;
    }
    let scratch = Scratch::new("backend-cli", &format!("conformance-{backend}"));
    let vectors = scratch.file("vectors");
    fs::create_dir_all(&vectors).unwrap();
    fs::write(vectors.join("in.f32"), f32_bytes(&[1.0625, 1000.0, 0.3])).unwrap();
    fs::write(
        vectors.join("expected.f32"),
        f32_bytes(&[1.0, f32::INFINITY, 0.3125]),
    )
    .unwrap();
    let path = scratch.file("manifest.json");
    fs::write(
        &path,
        r#"{"cases": [
            {"id": "e4m3_nearest", "op": "float_quantize",
             "params": {"exp": 4, "man": 3, "rounding": "nearest", "subnormals": true,
                        "saturate": false},
             "input": "in.f32", "expected": "expected.f32"},
            {"id": "exp9", "op": "float_quantize", "params": {"exp": 9, "man": 3},
             "input": "in.f32", "error": true}
        ]}"#,
    )
    .unwrap();
    let text = success(&lowp([
        OsStr::new("--backend"),
        backend.as_ref(),
        "conformance".as_ref(),
        "--verbose".as_ref(),
        "--manifest".as_ref(),
        path.as_os_str(),
    ]));
    assert!(
        text.contains("ok   e4m3_nearest (float_quantize): pass (3 elements)"),
        "{text}"
    );
    assert!(
        text.ends_with(&format!(
            "{backend}: 2 passed, 0 failed, 0 not supported yet\n"
        )),
        "{text}"
    );
}

#[test]
fn bench_on_wgpu_prints_wgpu_rows() {
    if !backend_available("wgpu", "bench_on_wgpu_prints_wgpu_rows") {
        return;
    }
    let json = success(&lowp([
        "bench",
        "--backend",
        "wgpu",
        "--json",
        "--n",
        "1024",
        "--gemm-sizes",
        "8",
    ]));
    let rows: serde_json::Value = serde_json::from_str(&json).unwrap();
    let rows = rows.as_array().unwrap();
    let mut ops = std::collections::BTreeMap::<String, usize>::new();
    for row in rows {
        assert_eq!(row["backend"], "wgpu", "{row}");
        assert_eq!(row["threads"], 0, "{row}");
        *ops.entry(row["op"].as_str().unwrap().to_string())
            .or_default() += 1;
        if row["op"] == "quantize" || row["op"] == "add" {
            assert_eq!(row["n"], 1024);
            assert!(row["ns_per_element"].as_f64().unwrap() > 0.0);
        } else {
            assert_eq!(
                (row["m"].as_u64(), row["k"].as_u64(), row["n"].as_u64()),
                (Some(8), Some(8), Some(8))
            );
            assert!(row["ns_per_mac"].as_f64().unwrap() > 0.0);
        }
    }
    // Five formats times two roundings, e4m3 additions rounded to nearest and stochastically;
    // five qgemm configurations, no CPU matmul_f32 reference.
    assert_eq!(
        ops.into_iter().collect::<Vec<_>>(),
        [
            ("add".to_string(), 2),
            ("qgemm".to_string(), 5),
            ("quantize".to_string(), 10)
        ]
    );

    let table = success(&lowp([
        "--backend",
        "wgpu",
        "bench",
        "--ops",
        "quantize",
        "--n",
        "64",
    ]));
    let first = table.lines().nth(1).unwrap();
    assert!(first.starts_with("quantize  wgpu"), "{table}");
    assert!(!table.contains("ns/MAC"), "{table}");
}

#[test]
fn unknown_backends_are_bad_input_and_leave_no_output() {
    let scratch = Scratch::new("backend-cli", "unknown");
    let input = scratch.write_f32("in.f32", &[1.0, 2.0]);
    let output = scratch.file("out.f32");
    let available = match (cfg!(feature = "wgpu"), cfg!(feature = "cuda")) {
        (true, true) => "available backends: cpu, wgpu, cuda",
        (true, false) => "available backends: cpu, wgpu",
        (false, true) => "available backends: cpu, cuda",
        (false, false) => "available backends: cpu",
    };
    assert_bad_input(
        &lowp(
            [
                &[OsStr::new("--backend"), "tpu".as_ref()][..],
                &quantize_args("e4m3", "nearest", &input, &output),
            ]
            .concat(),
        ),
        &format!("unknown backend 'tpu'; {available}"),
    );
    assert_eq!(scratch.entries(), ["in.f32"]);
    for args in [
        &["bench", "--backend", "WGPU", "--n", "4"][..],
        &["--backend", "", "formats"],
        &["conformance", "--manifest", "m.json", "--backend", "gpu"],
    ] {
        assert_bad_input(&lowp(args), available);
    }
}

/// wgpu with no adapter to choose from (`WGPU_BACKEND` naming no known wgpu backend) is bad
/// input: `backend wgpu is unavailable: ...`, exit status 2, and no output file.
#[cfg(feature = "wgpu")]
#[test]
fn wgpu_without_an_adapter_is_bad_input_and_leaves_no_output() {
    let scratch = Scratch::new("backend-cli", "unavailable");
    let input = scratch.write_f32("in.f32", &[1.0, 2.0]);
    let output = scratch.file("out.f32");
    let run = |args: &[&OsStr]| {
        Command::new(env!("CARGO_BIN_EXE_lowp"))
            .args(args)
            .env("WGPU_BACKEND", "none")
            .output()
            .unwrap()
    };
    let quantize = run(&[
        &[OsStr::new("--backend"), "wgpu".as_ref()][..],
        &quantize_args("e4m3", "nearest", &input, &output),
    ]
    .concat());
    assert_bad_input(&quantize, "backend wgpu is unavailable: ");
    assert_eq!(scratch.entries(), ["in.f32"]);
    assert_bad_input(
        &run(&["--backend".as_ref(), "wgpu".as_ref(), "bench".as_ref()]),
        "backend wgpu is unavailable: ",
    );
    // Commands that compute nothing do not open the backend.
    let formats = run(&["--backend".as_ref(), "wgpu".as_ref(), "formats".as_ref()]);
    assert!(success(&formats).contains("e4m3"));
}

#[test]
fn bench_on_cuda_prints_cuda_rows_and_a_copy_row() {
    if !backend_available("cuda", "bench_on_cuda_prints_cuda_rows_and_a_copy_row") {
        return;
    }
    let json = success(&lowp([
        "bench",
        "--backend",
        "cuda",
        "--json",
        "--n",
        "4096",
        "--gemm-sizes",
        "8",
    ]));
    let rows: serde_json::Value = serde_json::from_str(&json).unwrap();
    let mut ops = std::collections::BTreeMap::<String, usize>::new();
    for row in rows.as_array().unwrap() {
        assert_eq!(row["backend"], "cuda", "{row}");
        assert_eq!(row["threads"], 0, "{row}");
        *ops.entry(row["op"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    assert_eq!(
        ops.into_iter().collect::<Vec<_>>(),
        [
            ("add".to_string(), 2),
            ("copy".to_string(), 1),
            ("qgemm".to_string(), 5),
            ("quantize".to_string(), 10)
        ]
    );
}

/// `--backend cuda` where CUDA cannot run (no driver library here) is bad input that names the
/// backends of the build, and leaves no output file.
#[cfg(feature = "cuda")]
#[test]
fn cuda_without_a_device_is_bad_input_and_leaves_no_output() {
    if lowp_cuda::CudaBackend::new().is_ok() {
        println!("SKIP cuda_without_a_device_is_bad_input_and_leaves_no_output: CUDA runs here");
        return;
    }
    let scratch = Scratch::new("backend-cli", "cuda-unavailable");
    let input = scratch.write_f32("in.f32", &[1.0, 2.0]);
    let output = scratch.file("out.f32");
    let quantize = lowp(
        [
            &[OsStr::new("--backend"), "cuda".as_ref()][..],
            &quantize_args("e4m3", "nearest", &input, &output),
        ]
        .concat(),
    );
    assert_bad_input(&quantize, "backend cuda is unavailable: ");
    assert_bad_input(&quantize, "(backends in this build: cpu");
    assert_eq!(scratch.entries(), ["in.f32"]);
    assert_bad_input(
        &lowp(["--backend", "cuda", "bench", "--n", "4"]),
        "backend cuda is unavailable: ",
    );
}

/// `--cublas` on a backend without the cuBLAS fast path is bad input (no output file), and
/// `--fast-mode` needs `--cublas`.
#[test]
fn cublas_on_other_backends_is_bad_input() {
    let scratch = Scratch::new("backend-cli", "cublas-elsewhere");
    let input = scratch.write_f32("in.f32", &[1.0, 2.0]);
    let output = scratch.file("out.f32");
    assert_bad_input(
        &lowp(
            [
                &[OsStr::new("--cublas")][..],
                &quantize_args("e4m3", "nearest", &input, &output),
            ]
            .concat(),
        ),
        "--cublas needs --backend cuda (backend cpu has no cuBLAS fast path)",
    );
    assert_eq!(scratch.entries(), ["in.f32"]);
    assert_bad_input(
        &lowp(["bench", "--cublas", "--n", "4"]),
        "--cublas needs --backend cuda",
    );
    assert_bad_input(
        &lowp(["--cublas", "train", "--epochs", "1"]),
        "--cublas needs --backend cuda (backend cpu",
    );
    let without_cublas = lowp(["--fast-mode", "tf32", "bench", "--n", "4"]);
    assert_eq!(without_cublas.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&without_cublas.stderr).contains("--cublas"));
}

/// `lowp --backend cuda --cublas`: a GEMM cuBLAS covers whose sums are exact (small integers) and
/// one it does not cover (bit-exact kernel) both write the CPU's file; `bench` adds a
/// `qgemm_cublas` and a `cublas_native` row per cuBLAS configuration.
#[test]
fn cublas_on_cuda_writes_exact_gemms_and_benches_against_native_cublas() {
    if !backend_available("cuda", "cublas_on_cuda_writes_exact_gemms_and_benches") {
        return;
    }
    let scratch = Scratch::new("backend-cli", "cublas-cuda");
    let (batch, m, k, n) = (2, 5, 7, 3);
    let integers: Vec<f32> = (0..batch * (m * k + k * n))
        .map(|i| ((i * 7919) % 9) as f32 - 4.0)
        .collect();
    let a = scratch.write_f32("a.f32", &integers[..batch * m * k]);
    let b = scratch.write_f32("b.f32", &integers[batch * m * k..]);
    let variants: [&[&str]; 2] = [
        &["--mul", "fp16", "--add", "fp32", "--fma", "--transpose-b"],
        &["--mul", "e4m3", "--add", "fp16"],
    ];
    for variant in variants {
        let mut outputs = Vec::new();
        for backend in [
            &["--backend", "cpu"][..],
            &["--backend", "cuda", "--cublas"],
        ] {
            let output = scratch.file(&format!("out-{}.f32", backend.len()));
            let mut args: Vec<&OsStr> = backend.iter().map(OsStr::new).collect();
            args.extend(["gemm".as_ref(), "--a".as_ref(), a.as_os_str()]);
            args.extend(["--b".as_ref(), b.as_os_str()]);
            args.extend(
                ["--batch", "2", "--m", "5", "--k", "7", "--n", "3"]
                    .iter()
                    .map(OsStr::new),
            );
            args.extend(variant.iter().map(OsStr::new));
            args.extend(["--output".as_ref(), output.as_os_str()]);
            success(&lowp(&args));
            outputs.push(fs::read(&output).unwrap());
        }
        assert_eq!(outputs[0], outputs[1], "{variant:?}");
    }
    let json = success(&lowp([
        "--backend",
        "cuda",
        "--cublas",
        "--fast-mode",
        "bf16",
        "bench",
        "--json",
        "--ops",
        "qgemm",
        "--gemm-sizes",
        "8",
    ]));
    let rows: serde_json::Value = serde_json::from_str(&json).unwrap();
    let mut ops = std::collections::BTreeMap::<String, usize>::new();
    let mut modes = std::collections::BTreeSet::new();
    for row in rows.as_array().unwrap() {
        *ops.entry(row["op"].as_str().unwrap().to_string())
            .or_default() += 1;
        if row["op"] == "cublas_native" {
            modes.insert(row["mode"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(
        ops.into_iter().collect::<Vec<_>>(),
        [
            ("cublas_native".to_string(), 7),
            ("qgemm".to_string(), 5),
            ("qgemm_cublas".to_string(), 7)
        ]
    );
    assert_eq!(
        modes.into_iter().collect::<Vec<_>>(),
        ["fma", "fma fast-bf16", "fma fast-f16", "fma fast-tf32"]
    );
}

/// `lowp --backend cuda --cublas train --mac 'fma(fp16)'`: the layers' fused fp16 GEMMs take the
/// cuBLAS fast path (the summary counts them), and training still learns.
#[test]
fn cublas_training_on_cuda_with_fused_macs_uses_the_fast_path() {
    if !backend_available(
        "cuda",
        "cublas_training_on_cuda_with_fused_macs_uses_the_fast_path",
    ) {
        return;
    }
    let scratch = Scratch::new("backend-cli", "cublas-train");
    let out = scratch.file("run");
    let stdout = success(&lowp([
        OsStr::new("--backend"),
        OsStr::new("cuda"),
        OsStr::new("--cublas"),
        OsStr::new("train"),
        OsStr::new("--quiet"),
        OsStr::new("--epochs"),
        OsStr::new("1"),
        OsStr::new("--mac"),
        OsStr::new("fma(fp16)"),
        OsStr::new("--out"),
        out.as_os_str(),
    ]));
    let count: u64 = stdout
        .split("cuBLAS fast path: ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|count| count.parse().ok())
        .unwrap_or_else(|| panic!("no cuBLAS summary in {stdout}"));
    assert!(count > 0, "{stdout}");
    let accuracy: f64 = stdout
        .split("test accuracy ")
        .nth(1)
        .and_then(|rest| rest.split('%').next())
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("no accuracy in {stdout}"));
    assert!(accuracy > 80.0, "{stdout}");
}
