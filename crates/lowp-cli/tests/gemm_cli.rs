//! End-to-end tests of `lowp gemm`: hand-computed cases where the order of the sum matters,
//! bit-exact agreement with `lowp::formats::gemm::reference`, batches, `.npy` files, stochastic
//! reproducibility, and that bad input gives one `error:` line, exit status 2 and no output file.

mod common;

use common::{Scratch, assert_bad_input, f32_bytes, read_f32, success};
use lowp::formats::gemm::reference;
use lowp::formats::{Accumulation, Format, GemmSpec, Rounding};
use std::fs;
use std::path::Path;
use std::process::{Command, Output};

/// Runs `lowp gemm` in `dir` with `options` (paths relative to it) and the output `out`.
fn gemm(dir: &Scratch, options: &[&str], out: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lowp"))
        .current_dir(&dir.path)
        .arg("gemm")
        .args(options)
        .args(["--output", out])
        .output()
        .unwrap()
}

/// Checks a run succeeded silently: nothing on stdout or stderr.
fn silent_success(output: &Output) {
    assert!(success(output).is_empty());
}

/// Runs `lowp gemm` in `dir` with `options`, which must succeed silently, and reads the `.f32`
/// output.
fn gemm_values(dir: &Scratch, options: &[&str]) -> Vec<f32> {
    silent_success(&gemm(dir, options, "out.f32"));
    read_f32(&dir.file("out.f32"))
}

/// A version 1.0 `.npy` file of float32 `data` with `shape`.
fn npy(shape: &str, data: &[f32]) -> Vec<u8> {
    npy_raw("<f4", shape, &f32_bytes(data))
}

/// A version 1.0 `.npy` file of dtype `descr` with `shape` and the raw bytes `data`.
fn npy_raw(descr: &str, shape: &str, data: &[u8]) -> Vec<u8> {
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    while !(10 + header.len() + 1).is_multiple_of(64) {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(data);
    bytes
}

/// The header dict and the values of a version 1.0 `.npy` file.
fn read_npy(path: &Path) -> (String, Vec<f32>) {
    let bytes = fs::read(path).unwrap();
    assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00");
    let length = usize::from(u16::from_le_bytes([bytes[8], bytes[9]]));
    let header = String::from_utf8(bytes[10..10 + length].to_vec()).unwrap();
    let values = bytes[10 + length..]
        .chunks_exact(4)
        .map(|chunk| f32::from_le_bytes(chunk.try_into().unwrap()))
        .collect();
    (header, values)
}

/// Asserts `got` equals `expected` bit for bit (any NaN equals any NaN).
fn assert_bits(got: &[f32], expected: &[f32], what: &str) {
    assert_eq!(got.len(), expected.len(), "{what}: {got:?} vs {expected:?}");
    for (g, e) in got.iter().zip(expected) {
        assert!(
            g.to_bits() == e.to_bits() || (g.is_nan() && e.is_nan()),
            "{what}: {got:?} vs {expected:?}"
        );
    }
}

/// `len` deterministic pseudo-random values spread over several binades, both signs.
fn values(len: usize, seed: u32) -> Vec<f32> {
    let mut state = seed.wrapping_mul(2_654_435_761).wrapping_add(12345);
    (0..len)
        .map(|_| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let mantissa = f32::from(((state >> 8) & 0xFFFF) as u16) / 65536.0 + 0.5;
            let exponent = ((state >> 24) % 8) as i32 - 4;
            let sign = if state & 1 == 0 { 1.0 } else { -1.0 };
            sign * mantissa * 2f32.powi(exponent)
        })
        .collect()
}

#[test]
fn gemm_fp32_sum_order_matters() {
    let scratch = Scratch::new("gemm-cli", "order");
    // 1e8 + 1 rounds back to 1e8 in binary32, so the k-ascending sum is ((1e8 + 1) - 1e8) + 1 = 1.
    scratch.write_f32("a.f32", &[1e8, 1.0, -1e8, 1.0]);
    scratch.write_f32("b.f32", &[1.0; 4]);
    let base = [
        "--a", "a.f32", "--b", "b.f32", "--m", "1", "--k", "4", "--n", "1", "--mul", "fp32",
        "--add", "fp32",
    ];
    let run = |extra: &[&str]| gemm_values(&scratch, &[&base[..], extra].concat());
    assert_bits(&run(&[]), &[1.0], "sequential");
    assert_bits(&run(&["--fma"]), &[1.0], "fma");
    // Chunks of 2: (1e8 + 1) = 1e8 and (-1e8 + 1) = -1e8, whose sum is 0.
    assert_bits(
        &run(&["--chunk", "2", "--outer", "fp32"]),
        &[0.0],
        "blocked",
    );
    // B transposed (stored N×K = 1×4) is the same data.
    assert_bits(&run(&["--transpose-b"]), &[1.0], "transpose-b");

    // Kahan summation recovers the eight ones that a plain binary32 sum onto 1e8 loses.
    let scratch = Scratch::new("gemm-cli", "order-kahan");
    let mut a = vec![1.0f32; 9];
    a[0] = 1e8;
    scratch.write_f32("a.f32", &a);
    scratch.write_f32("b.f32", &[1.0; 9]);
    let base = [
        "--a", "a.f32", "--b", "b.f32", "--m", "1", "--k", "9", "--n", "1", "--mul", "fp32",
        "--add", "fp32",
    ];
    let run = |extra: &[&str]| gemm_values(&scratch, &[&base[..], extra].concat());
    assert_bits(&run(&[]), &[1e8], "sequential");
    assert_bits(&run(&["--compensated"]), &[100_000_008.0], "compensated");
}

#[test]
fn gemm_fp16_sums_stall_unless_blocked_into_fp32() {
    let scratch = Scratch::new("gemm-cli", "fp16-stall");
    scratch.write_f32("a.f32", &[1.0; 4096]);
    scratch.write_f32("b.f32", &[1.0; 4096]);
    let base = [
        "--a", "a.f32", "--b", "b.f32", "--m", "1", "--k", "4096", "--n", "1", "--mul", "fp16",
        "--add", "fp16",
    ];
    let run = |extra: &[&str]| gemm_values(&scratch, &[&base[..], extra].concat());
    // 2048 + 1 ties to the even 2048 in fp16.
    assert_bits(&run(&[]), &[2048.0], "sequential");
    assert_bits(
        &run(&["--chunk", "256", "--outer", "fp32"]),
        &[4096.0],
        "blocked",
    );
    // Rounding up never stalls but overshoots: past 2048 every +1 becomes +2 (1024 steps to
    // 4096), past 4096 +4 (the last 1024 steps), ending at 8192.
    assert_bits(&run(&["--rounding", "up"]), &[8192.0], "up");
}

/// The options of `lowp gemm` for one configuration and the spec the reference runs with.
struct Case {
    options: Vec<&'static str>,
    spec: GemmSpec,
}

#[test]
fn gemm_e4m3_fp16_matches_the_reference() {
    let scratch = Scratch::new("gemm-cli", "reference");
    let (batch, m, k, n) = (2, 3, 37, 4);
    let a = values(batch * m * k, 1);
    let b = values(batch * k * n, 2);
    scratch.write_f32("a.f32", &a);
    scratch.write_f32("b.f32", &b);
    let e4m3: Format = "e4m3".parse().unwrap();
    let fp16: Format = "fp16".parse().unwrap();
    let bf16: Format = "bf16".parse().unwrap();
    let plain = GemmSpec::new(batch, m, k, n, e4m3, fp16);
    let case = |options: &[&'static str], change: &dyn Fn(&mut GemmSpec)| {
        let mut spec = plain;
        change(&mut spec);
        Case {
            options: options.to_vec(),
            spec,
        }
    };
    let cases = [
        case(&[], &|_| {}),
        case(&["--fma"], &|spec| spec.fma = true),
        case(&["--compensated"], &|spec| {
            spec.accumulation = Accumulation::Compensated
        }),
        case(&["--compensated", "--fma"], &|spec| {
            spec.accumulation = Accumulation::Compensated;
            spec.fma = true;
        }),
        case(&["--chunk", "8", "--outer", "bf16"], &|spec| {
            spec.accumulation = Accumulation::Blocked {
                chunk: 8,
                outer: bf16,
                outer_bits: bf16.default_stochastic_bits(),
            }
        }),
        case(&["--rounding", "toward-zero"], &|spec| {
            spec.rounding = Rounding::TowardZero
        }),
        case(&["--rounding", "nearest-away"], &|spec| {
            spec.rounding = Rounding::NearestAway
        }),
        case(&["--rounding", "odd"], &|spec| {
            spec.rounding = Rounding::Odd
        }),
        case(&["--rounding", "down", "--transpose-a"], &|spec| {
            spec.rounding = Rounding::Down;
            spec.transpose_a = true;
        }),
        case(&["--transpose-a", "--transpose-b"], &|spec| {
            spec.transpose_a = true;
            spec.transpose_b = true;
        }),
        case(&["--rounding", "stochastic", "--seed", "7"], &|spec| {
            spec.rounding = Rounding::Stochastic {
                bits: e4m3.default_stochastic_bits(),
            };
            spec.seed = 7;
        }),
        case(
            &[
                "--rounding",
                "stochastic",
                "--bits-mul",
                "4",
                "--bits-add",
                "9",
                "--seed",
                "18446744073709551615",
            ],
            &|spec| {
                spec.rounding = Rounding::Stochastic { bits: 4 };
                spec.mul_bits = 4;
                spec.add_bits = 9;
                spec.seed = u64::MAX;
            },
        ),
        case(
            &[
                "--rounding",
                "stochastic",
                "--chunk",
                "5",
                "--outer",
                "bf16",
                "--bits-outer",
                "3",
                "--fma",
            ],
            &|spec| {
                spec.rounding = Rounding::Stochastic {
                    bits: e4m3.default_stochastic_bits(),
                };
                spec.fma = true;
                spec.accumulation = Accumulation::Blocked {
                    chunk: 5,
                    outer: bf16,
                    outer_bits: 3,
                };
            },
        ),
    ];
    let sizes = [
        "--a", "a.f32", "--b", "b.f32", "--batch", "2", "--m", "3", "--k", "37", "--n", "4",
        "--mul", "e4m3", "--add", "fp16",
    ];
    let mut outputs: Vec<Vec<f32>> = Vec::new();
    for Case { options, spec } in &cases {
        let got = gemm_values(&scratch, &[&sizes[..], options].concat());
        let expected = reference(&a, &b, spec).unwrap();
        assert_bits(&got, &expected, &format!("{options:?}"));
        assert!(got.iter().all(|value| value.is_finite()), "{options:?}");
        // Every option changes the result on this data, so none of them is silently ignored.
        for (other, earlier) in cases.iter().zip(&outputs) {
            assert_ne!(&got, earlier, "{options:?} and {:?} agree", other.options);
        }
        outputs.push(got);
    }
}

#[test]
fn gemm_batches_with_npy_input_and_output() {
    let scratch = Scratch::new("gemm-cli", "npy");
    // Batch 0: A = [[1, 2, 3], [4, 5, 6]], B = [[1, 0], [0, 1], [1, 1]];
    // batch 1: A = -A of batch 0 halved, B = 2 everywhere.
    let a = [
        1.0, 2.0, 3.0, 4.0, 5.0, 6.0, -0.5, -1.0, -1.5, -2.0, -2.5, -3.0,
    ];
    let b = [1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0];
    let expected = [4.0, 5.0, 10.0, 11.0, -6.0, -6.0, -15.0, -15.0];
    fs::write(scratch.file("a.npy"), npy("(2, 2, 3)", &a)).unwrap();
    scratch.write_f32("b.f32", &b);
    let base = [
        "--a", "a.npy", "--b", "b.f32", "--m", "2", "--k", "3", "--n", "2", "--mul", "fp32",
        "--add", "fp32",
    ];
    silent_success(&gemm(
        &scratch,
        &[&base[..], &["--batch", "2"]].concat(),
        "c.npy",
    ));
    let (header, got) = read_npy(&scratch.file("c.npy"));
    assert!(header.contains("'shape': (2, 2, 2)"), "{header}");
    assert_bits(&got, &expected, "batch 2");
    assert_bits(
        &gemm_values(&scratch, &[&base[..], &["--batch", "2"]].concat()),
        &expected,
        "batch 2 .f32",
    );

    // One batch: a .npy output is [M, N] without --batch and [1, M, N] with --batch 1. The
    // first batch's B as a .npy file of another shape is read by its element count.
    fs::write(scratch.file("a1.npy"), npy("(2, 3)", &a[..6])).unwrap();
    fs::write(scratch.file("b1.npy"), npy("(6,)", &b[..6])).unwrap();
    let one = [
        "--a", "a1.npy", "--b", "b1.npy", "--m", "2", "--k", "3", "--n", "2", "--mul", "fp32",
        "--add", "fp32",
    ];
    silent_success(&gemm(&scratch, &one, "c1.npy"));
    let (header, got) = read_npy(&scratch.file("c1.npy"));
    assert!(header.contains("'shape': (2, 2)"), "{header}");
    assert_bits(&got, &expected[..4], "one batch");
    silent_success(&gemm(
        &scratch,
        &[&one[..], &["--batch", "1"]].concat(),
        "c1.npy",
    ));
    let (header, got) = read_npy(&scratch.file("c1.npy"));
    assert!(header.contains("'shape': (1, 2, 2)"), "{header}");
    assert_bits(&got, &expected[..4], "--batch 1");
}

#[test]
fn gemm_stochastic_rounding_is_reproducible_per_seed() {
    let scratch = Scratch::new("gemm-cli", "stochastic");
    let (m, k, n) = (4, 16, 8);
    let a = values(m * k, 3);
    let b = values(k * n, 4);
    scratch.write_f32("a.f32", &a);
    scratch.write_f32("b.f32", &b);
    let run = |seed: &str| {
        gemm_values(
            &scratch,
            &[
                "--a",
                "a.f32",
                "--b",
                "b.f32",
                "--m",
                "4",
                "--k",
                "16",
                "--n",
                "8",
                "--mul",
                "e4m3",
                "--add",
                "e5m2",
                "--rounding",
                "stochastic",
                "--seed",
                seed,
            ],
        )
    };
    let first = run("42");
    assert_bits(&run("42"), &first, "same seed");
    assert_ne!(first, run("43"));
    let mut spec = GemmSpec::new(1, m, k, n, "e4m3".parse().unwrap(), "e5m2".parse().unwrap());
    spec.rounding = Rounding::Stochastic {
        bits: spec.mul_bits,
    };
    spec.seed = 42;
    assert_bits(&first, &reference(&a, &b, &spec).unwrap(), "reference");
    // The default seed is 0.
    spec.seed = 0;
    assert_bits(&run("0"), &reference(&a, &b, &spec).unwrap(), "seed 0");
}

#[test]
fn bad_gemm_input_is_rejected_without_output() {
    let scratch = Scratch::new("gemm-cli", "bad");
    scratch.write_f32("a.f32", &[1.0; 6]);
    scratch.write_f32("b.f32", &[1.0; 6]);
    scratch.write_f32("b5.f32", &[1.0; 5]);
    fs::write(scratch.file("odd.f32"), [0u8; 6]).unwrap();
    fs::write(scratch.file("a.txt"), f32_bytes(&[1.0; 6])).unwrap();
    fs::write(scratch.file("f8.npy"), npy_raw("<f8", "(6,)", &[0; 48])).unwrap();
    let before = scratch.entries();
    let cases: &[(&[&str], &str)] = &[
        (
            &["--k", "2"],
            "--a a.f32 has 6 values, expected batch*M*K = 1*2*2 = 4",
        ),
        (
            &["--b", "b5.f32"],
            "--b b5.f32 has 5 values, expected batch*K*N = 1*3*2 = 6",
        ),
        (
            &["--batch", "2"],
            "--a a.f32 has 6 values, expected batch*M*K = 2*2*3 = 12",
        ),
        (&["--m", "0"], "--m must be at least 1"),
        (&["--k", "0"], "--k must be at least 1"),
        (&["--n", "0"], "--n must be at least 1"),
        (&["--batch", "0"], "--batch must be at least 1"),
        (
            &["--m", "4294967296", "--k", "4294967296"],
            "sizes too large: A would hold batch*M*K = 1*4294967296*4294967296",
        ),
        (
            &[
                "--batch",
                "4",
                "--m",
                "65536",
                "--n",
                "18446744073709551615",
            ],
            "sizes too large: B would hold",
        ),
        (
            &["--m", "268435456", "--k", "1", "--n", "268435456"],
            "sizes too large: C would hold batch*M*N = 1*268435456*268435456 values",
        ),
        (&["--mul", "e4m3(foo=1)"], "--mul e4m3(foo=1): cannot parse"),
        (&["--add", "float(exp=9,man=3)"], "--add float(exp=9,man=3)"),
        (
            &["--chunk", "2", "--outer", "e9m9"],
            "--outer e9m9: cannot parse",
        ),
        (&["--rounding", "sideways"], "unknown rounding mode"),
        (
            &["--bits-mul", "8"],
            "--bits-mul is only used by stochastic rounding",
        ),
        (
            &["--rounding", "up", "--bits-add", "8"],
            "--bits-add is only used by stochastic rounding",
        ),
        (
            &["--chunk", "2", "--outer", "fp32", "--bits-outer", "8"],
            "--bits-outer is only used by stochastic rounding",
        ),
        (
            &["--rounding", "stochastic", "--bits-outer", "8"],
            "--bits-outer is only used by blocked accumulation",
        ),
        (
            &["--rounding", "stochastic", "--bits-mul", "0"],
            "--bits-mul 0: invalid rounding parameter: stochastic bits = 0",
        ),
        (
            &["--rounding", "stochastic", "--bits-add", "33"],
            "--bits-add 33: invalid rounding parameter: stochastic bits = 33",
        ),
        (
            &[
                "--rounding",
                "stochastic",
                "--chunk",
                "2",
                "--outer",
                "fp32",
                "--bits-outer",
                "40",
            ],
            "--bits-outer 40",
        ),
        (&["--chunk", "2"], "--chunk needs --outer"),
        (&["--outer", "fp32"], "--outer needs --chunk"),
        (
            &["--compensated", "--chunk", "2", "--outer", "fp32"],
            "compensated and blocked accumulation cannot be combined",
        ),
        (
            &["--compensated", "--chunk", "2"],
            "compensated and blocked accumulation cannot be combined",
        ),
        (
            &["--chunk", "0", "--outer", "fp32"],
            "blocked accumulation needs chunk >= 1",
        ),
        (
            &["--mul", "superfp(exp=4,man=2)", "--rounding", "up"],
            "rounding mode up is not supported by superfp",
        ),
        (
            &[
                "--chunk",
                "2",
                "--outer",
                "superfp(exp=4,man=2)",
                "--rounding",
                "stochastic",
            ],
            "is not supported by superfp",
        ),
        (&["--a", "missing.f32"], "cannot read missing.f32"),
        (&["--b", "odd.f32"], "6 bytes is not a multiple of 4"),
        (&["--a", "a.txt"], "unknown file type"),
        (&["--b", "f8.npy"], "unsupported npy dtype '<f8'"),
        (&["--output", "out.txt"], "unknown file type"),
        (&["--output", "no-such-dir/out.f32"], "cannot write"),
        (
            &["--backend", "gpu"],
            "unknown backend 'gpu'; available backends: cpu",
        ),
    ];
    for (overrides, message) in cases {
        let mut options: Vec<(&str, Option<&str>)> = vec![
            ("--a", Some("a.f32")),
            ("--b", Some("b.f32")),
            ("--m", Some("2")),
            ("--k", Some("3")),
            ("--n", Some("2")),
            ("--mul", Some("e4m3")),
            ("--add", Some("fp16")),
        ];
        let mut output = "out.npy";
        let mut rest = overrides.iter();
        while let Some(&key) = rest.next() {
            if FLAGS.contains(&key) {
                options.push((key, None));
                continue;
            }
            let value = *rest.next().unwrap();
            if key == "--output" {
                output = value;
            } else if let Some(option) = options.iter_mut().find(|(k, _)| *k == key) {
                option.1 = Some(value);
            } else {
                options.push((key, Some(value)));
            }
        }
        let arguments: Vec<&str> = options
            .iter()
            .flat_map(|(key, value)| std::iter::once(*key).chain(*value))
            .collect();
        assert_bad_input(&gemm(&scratch, &arguments, output), message);
        assert_eq!(
            scratch.entries(),
            before,
            "{overrides:?} left a file behind"
        );
    }
    // The defaults themselves are valid.
    let arguments = [
        "--a", "a.f32", "--b", "b.f32", "--m", "2", "--k", "3", "--n", "2", "--mul", "e4m3",
        "--add", "fp16",
    ];
    silent_success(&gemm(&scratch, &arguments, "out.npy"));
}

/// The options of `lowp gemm` that take no value.
const FLAGS: [&str; 4] = ["--fma", "--compensated", "--transpose-a", "--transpose-b"];

#[test]
fn failed_gemm_keeps_an_existing_output() {
    let scratch = Scratch::new("gemm-cli", "keep");
    scratch.write_f32("a.f32", &[1.0; 6]);
    scratch.write_f32("b.f32", &[1.0; 5]);
    fs::write(scratch.file("out.f32"), b"keep").unwrap();
    let run = gemm(
        &scratch,
        &[
            "--a", "a.f32", "--b", "b.f32", "--m", "2", "--k", "3", "--n", "2", "--mul", "fp32",
            "--add", "fp32",
        ],
        "out.f32",
    );
    assert_bad_input(&run, "--b b.f32 has 5 values");
    assert_eq!(fs::read(scratch.file("out.f32")).unwrap(), b"keep");
    assert_eq!(scratch.entries(), ["a.f32", "b.f32", "out.f32"]);
}

#[test]
fn gemm_usage_errors_exit_2_without_output() {
    let scratch = Scratch::new("gemm-cli", "usage");
    scratch.write_f32("a.f32", &[1.0; 6]);
    scratch.write_f32("b.f32", &[1.0; 6]);
    let before = scratch.entries();
    let base = [
        "--a", "a.f32", "--b", "b.f32", "--m", "2", "--k", "3", "--n", "2", "--mul", "e4m3",
        "--add", "fp16",
    ];
    let cases: [&[&str]; 6] = [
        &["--m", "-1"],
        &["--n", "x"],
        &["--k", "18446744073709551616"],
        &["--seed", "-1"],
        &["--bits-mul", "x"],
        &["--frobnicate"],
    ];
    for extra in cases {
        let output = gemm(&scratch, &[&base[..], extra].concat(), "out.f32");
        assert_eq!(output.status.code(), Some(2), "{extra:?}");
        assert!(
            String::from_utf8_lossy(&output.stderr).starts_with("error: "),
            "{extra:?}"
        );
        assert_eq!(scratch.entries(), before, "{extra:?} left a file behind");
    }
    // Required options.
    for missing in ["--a", "--b", "--m", "--k", "--n", "--mul", "--add"] {
        let position = base.iter().position(|option| *option == missing).unwrap();
        let arguments = [&base[..position], &base[position + 2..]].concat();
        let output = gemm(&scratch, &arguments, "out.f32");
        assert_eq!(output.status.code(), Some(2), "without {missing}");
        assert!(String::from_utf8_lossy(&output.stderr).contains(missing));
    }
    let output = Command::new(env!("CARGO_BIN_EXE_lowp"))
        .current_dir(&scratch.path)
        .args(["gemm", "--a", "a.f32"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--output"));
    assert_eq!(scratch.entries(), before);
}

#[test]
fn gemm_help_describes_the_options() {
    let output = Command::new(env!("CARGO_BIN_EXE_lowp"))
        .args(["gemm", "--help"])
        .output()
        .unwrap();
    success_with_stdout(&output);
    let text = String::from_utf8_lossy(&output.stdout);
    for option in [
        "--a <A>",
        "--b <B>",
        "--m <M>",
        "--k <K>",
        "--n <N>",
        "--batch <NB>",
        "--transpose-a",
        "--transpose-b",
        "--mul <SPEC>",
        "--add <SPEC>",
        "--fma",
        "--compensated",
        "--chunk <C>",
        "--outer <SPEC>",
        "--rounding <MODE>",
        "--bits-mul <R>",
        "--bits-add <R>",
        "--bits-outer <R>",
        "--seed <S>",
        "--output <OUT>",
    ] {
        assert!(text.contains(option), "no {option} in\n{text}");
    }
    let output = Command::new(env!("CARGO_BIN_EXE_lowp"))
        .arg("--help")
        .output()
        .unwrap();
    success_with_stdout(&output);
    assert!(String::from_utf8_lossy(&output.stdout).contains("gemm "));
}

/// Checks a run succeeded with output on stdout only.
fn success_with_stdout(output: &Output) {
    assert_eq!(output.status.code(), Some(0));
    assert!(output.stderr.is_empty());
    assert!(!output.stdout.is_empty());
}
