//! End-to-end tests of the `lowp` binary: output of every command, exit statuses, and that bad
//! input gives one `error:` line, exit status 2 and no output file.

mod common;

use common::{Scratch, assert_bad_input, f32_bytes, lowp, quantize_args, read_f32, success};
use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A version 1.0 `.npy` file with header dict `dict` (padded and terminated here) and `data`.
fn npy(dict: &str, data: &[u8]) -> Vec<u8> {
    let mut header = dict.to_string();
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
    assert_eq!((10 + length) % 64, 0, "the data is not 64-byte aligned");
    let header = String::from_utf8(bytes[10..10 + length].to_vec()).unwrap();
    let values = bytes[10 + length..]
        .chunks_exact(4)
        .map(|chunk| f32::from_le_bytes(chunk.try_into().unwrap()))
        .collect();
    (header, values)
}

/// Asserts `got` equals `expected` bit for bit (any NaN equals any NaN).
fn assert_bits(got: &[f32], expected: &[f32]) {
    assert_eq!(got.len(), expected.len(), "{got:?} vs {expected:?}");
    for (g, e) in got.iter().zip(expected) {
        assert!(
            g.to_bits() == e.to_bits() || (g.is_nan() && e.is_nan()),
            "{got:?} vs {expected:?}"
        );
    }
}

/// The line of `text` that starts with `start`.
fn line_starting<'a>(text: &'a str, start: &str) -> &'a str {
    text.lines()
        .find(|line| line.starts_with(start))
        .unwrap_or_else(|| panic!("no line starts with `{start}` in\n{text}"))
}

#[test]
fn formats_lists_every_preset_with_its_figures() {
    let text = success(&lowp(["formats"]));
    let header = text.lines().next().unwrap();
    for column in [
        "name",
        "bits",
        "bias",
        "max",
        "min normal",
        "min subnormal",
        "epsilon",
    ] {
        assert!(header.contains(column), "{header}");
    }
    for preset in ["fp32", "tf32", "bf16", "fp16", "e5m2", "e4m3", "e4m3fn"] {
        line_starting(&text, &format!("{preset} "));
    }
    let e4m3fn: Vec<&str> = line_starting(&text, "e4m3fn ").split_whitespace().collect();
    assert_eq!(&e4m3fn[..4], ["e4m3fn", "8", "7", "448"]);
    let e4m3: Vec<&str> = line_starting(&text, "e4m3 ").split_whitespace().collect();
    assert_eq!(&e4m3[..4], ["e4m3", "8", "7", "240"]);
    assert!(line_starting(&text, "fp16 ").contains("65504"));
    assert!(line_starting(&text, "fp32 ").contains("(2^-149)"));
    assert_eq!(text.lines().count(), 8);
}

#[test]
fn show_e4m3_prints_its_figures_and_a_16x16_code_table() {
    let text = success(&lowp(["show", "e4m3"]));
    let field = |key: &str| line_starting(&text, key)[key.len()..].trim().to_string();
    assert_eq!(field("spec"), "e4m3");
    assert_eq!(field("family"), "float");
    assert_eq!(field("bits"), "8");
    assert_eq!(field("bias"), "7");
    assert_eq!(field("max"), "240");
    assert_eq!(field("min normal"), "0.015625 (2^-6)");
    assert_eq!(field("min subnormal"), "0.001953125 (2^-9)");
    assert_eq!(field("epsilon"), "0.125 (2^-3)");
    assert_eq!(field("finite values"), "239");
    assert_eq!(field("default stochastic bits"), "20");

    let columns: Vec<String> = (0..16).map(|low| format!("_{low:X}")).collect();
    let header: Vec<&str> = line_starting(&text, "  ").split_whitespace().collect();
    assert_eq!(header, columns);
    let rows: Vec<&str> = text
        .lines()
        .filter(|line| line.len() > 2 && line[1..].starts_with("_ "))
        .collect();
    assert_eq!(rows.len(), 16);
    for (high, row) in rows.iter().enumerate() {
        assert!(row.starts_with(&format!("{high:X}_ ")), "{row}");
    }
    let cells = |row: &str| -> Vec<String> { row.split_whitespace().map(str::to_string).collect() };
    assert_eq!(
        cells(rows[0])[..5],
        ["0_", "0", "(zero)", "0.001953125", "(subnormal)"]
    );
    assert_eq!(cells(rows[3]).last().unwrap(), "1.875");
    assert_eq!(
        cells(rows[7])[8..13],
        ["240", "inf", "(inf)", "NaN", "(nan)"]
    );
    assert!(rows[15].contains("-inf (inf)"), "{}", rows[15]);
}

#[test]
fn show_prints_the_canonical_spec_and_explains_missing_tables() {
    let fixed = success(&lowp(["show", " fixed( wl = 4 , fl = 1 ) "]));
    assert!(
        fixed.starts_with("spec                     fixed(wl=4,fl=1,clamp=true,symmetric=false)\n")
    );
    assert!(line_starting(&fixed, "0_ ").contains("3.5"));
    assert!(!fixed.contains("1_ "));

    let block = success(&lowp(["show", "block(wl=8)"]));
    assert!(block.contains("block(wl=8,dim=-1)"));
    assert!(block.contains("note: block formats share one exponent per block"));

    let fp16 = success(&lowp(["show", "fp16"]));
    assert!(fp16.contains("no code table: 16-bit codes"));
    assert!(line_starting(&fp16, "max").ends_with("65504"));

    let unused = success(&lowp(["show", "e4m3(subnormals=false)"]));
    assert!(unused.contains("0.001953125 (unused)"));
}

#[test]
fn show_rejects_bad_specs() {
    assert_bad_input(&lowp(["show", "e4m3(foo=1)"]), "unknown key `foo`");
    assert_bad_input(&lowp(["show", "float(exp=9,man=3)"]), "exp = 9");
    assert_bad_input(&lowp(["show", "e9m9"]), "unknown preset");
}

#[test]
fn quantize_f32_to_e4m3_nearest() {
    let scratch = Scratch::new("cli", "f32-e4m3");
    let input = scratch.write_f32(
        "in.f32",
        &[1.0625, 1000.0, -1000.0, 0.3, -0.0, f32::NAN, 240.0],
    );
    let output = scratch.file("out.f32");
    success(&lowp(quantize_args("e4m3", "nearest", &input, &output)));
    assert_bits(
        &read_f32(&output),
        &[
            1.0,
            f32::INFINITY,
            f32::NEG_INFINITY,
            0.3125,
            -0.0,
            f32::NAN,
            240.0,
        ],
    );
    assert_eq!(scratch.entries(), ["in.f32", "out.f32"]);
}

#[test]
fn quantize_npy_keeps_the_shape_and_fixed_point_ties_to_even() {
    let scratch = Scratch::new("cli", "npy-fixed");
    let values = [0.03125f32, 0.09375, -0.03125, 1.0, 100.0, 0.0625];
    let input = scratch.file("in.npy");
    fs::write(
        &input,
        npy(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
            &f32_bytes(&values),
        ),
    )
    .unwrap();
    let output = scratch.file("out.npy");
    let run = |rounding: &str| lowp(quantize_args("fixed(wl=8,fl=4)", rounding, &input, &output));
    success(&run("nearest"));
    let (header, got) = read_npy(&output);
    assert!(
        header.starts_with("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"),
        "{header}"
    );
    assert!(header.ends_with('\n'));
    assert_bits(&got, &[0.0, 0.125, 0.0, 1.0, 7.9375, 0.0625]);

    success(&run("nearest-away"));
    assert_bits(
        &read_npy(&output).1,
        &[0.0625, 0.125, -0.0625, 1.0, 7.9375, 0.0625],
    );
}

#[test]
fn quantize_f32_input_to_npy_output_with_a_shape() {
    let scratch = Scratch::new("cli", "shape");
    let input = scratch.write_f32("in.f32", &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    let output = scratch.file("out.npy");
    let run = |shape: Option<&str>| {
        let mut args = vec![
            OsStr::new("quantize"),
            "--format".as_ref(),
            "bf16".as_ref(),
            "--rounding".as_ref(),
            "toward-zero".as_ref(),
            "--input".as_ref(),
            input.as_os_str(),
            "--output".as_ref(),
            output.as_os_str(),
        ];
        if let Some(shape) = shape {
            args.extend([OsStr::new("--shape"), shape.as_ref()]);
        }
        lowp(args)
    };
    success(&run(Some("3,1,2")));
    let (header, got) = read_npy(&output);
    assert!(header.contains("'shape': (3, 1, 2)"), "{header}");
    assert_bits(&got, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    success(&run(None));
    assert!(read_npy(&output).0.contains("'shape': (6,)"));
}

#[test]
fn stochastic_rounding_is_reproducible_per_seed() {
    let scratch = Scratch::new("cli", "stochastic");
    let input = scratch.write_f32("in.f32", &[1.03f32; 512]);
    let run = |seed: &str, bits: &str, name: &str| {
        let output = scratch.file(name);
        success(&lowp([
            OsStr::new("quantize"),
            "--format".as_ref(),
            "e4m3".as_ref(),
            "--rounding".as_ref(),
            "stochastic".as_ref(),
            "--bits".as_ref(),
            bits.as_ref(),
            "--seed".as_ref(),
            seed.as_ref(),
            "--input".as_ref(),
            input.as_os_str(),
            "--output".as_ref(),
            output.as_os_str(),
        ]));
        read_f32(&output)
    };
    let first = run("42", "20", "a.f32");
    assert!(first.iter().all(|&value| value == 1.0 || value == 1.125));
    // 1.03 lies 24% of the way from 1 to 1.125.
    let ups = first.iter().filter(|&&value| value == 1.125).count();
    assert!((60..190).contains(&ups), "{ups} of 512 rounded up");
    assert_eq!(first, run("42", "20", "b.f32"));
    assert_ne!(first, run("43", "20", "c.f32"));
    assert_ne!(first, run("18446744073709551615", "20", "d.f32"));
}

#[test]
fn bad_quantize_input_is_rejected_without_output() {
    let scratch = Scratch::new("cli", "bad");
    scratch.write_f32("in.f32", &[1.0, 2.0, 3.0]);
    fs::write(scratch.file("odd.f32"), [0u8; 6]).unwrap();
    let dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
    let data = f32_bytes(&[1.0, 2.0]);
    let npy_files = [
        ("f8.npy", npy(&dict.replace("<f4", "<f8"), &[0; 16])),
        ("be.npy", npy(&dict.replace("<f4", ">f4"), &data)),
        ("fortran.npy", npy(&dict.replace("False", "True"), &data)),
        ("short.npy", npy(dict, &data[..6])),
        ("magic.npy", b"NUMPY not really".to_vec()),
        ("key.npy", npy(&dict.replace("'shape'", "'shapes'"), &data)),
    ];
    for (name, bytes) in &npy_files {
        fs::write(scratch.file(name), bytes).unwrap();
    }
    let before = scratch.entries();
    let cases: &[(&[&str], &str)] = &[
        (&["--format", "e4m3(foo=1)"], "unknown key `foo`"),
        (
            &["--format", "fixed(wl=40,fl=4)"],
            "invalid fixed parameter",
        ),
        (&["--format", "float(exp=4,man=x)"], "man = `x`"),
        (&["--rounding", "sideways"], "unknown rounding mode"),
        (
            &["--rounding", "stochastic", "--bits", "0"],
            "stochastic bits = 0",
        ),
        (
            &["--rounding", "stochastic", "--bits", "33"],
            "stochastic bits = 33",
        ),
        (&["--bits", "8"], "only used by stochastic rounding"),
        (
            &["--format", "superfp(exp=4,man=2)", "--rounding", "up"],
            "not supported",
        ),
        (&["--shape", "2,2"], "--shape 2,2 does not fit"),
        (&["--input", "odd.f32"], "6 bytes is not a multiple of 4"),
        (&["--input", "missing.f32"], "cannot read"),
        (&["--input", "in.txt"], "unknown file type"),
        (&["--output", "out.txt"], "unknown file type"),
        (&["--output", "no-such-dir/out.npy"], "cannot write"),
        (&["--input", "f8.npy"], "unsupported npy dtype '<f8'"),
        (&["--input", "be.npy"], "unsupported npy dtype '>f4'"),
        (&["--input", "fortran.npy"], "Fortran"),
        (&["--input", "short.npy"], "the .npy data has 6 bytes"),
        (&["--input", "magic.npy"], "not a .npy file"),
        (&["--input", "key.npy"], "unexpected key 'shapes'"),
        (
            &["--backend", "gpu"],
            "unknown backend 'gpu'; available backends: cpu",
        ),
    ];
    for (overrides, message) in cases {
        let mut options = vec![
            ("--format", "e4m3"),
            ("--rounding", "nearest"),
            ("--input", "in.f32"),
            ("--output", "out.npy"),
        ];
        for pair in overrides.chunks(2) {
            match options.iter_mut().find(|(key, _)| *key == pair[0]) {
                Some(option) => option.1 = pair[1],
                None => options.push((pair[0], pair[1])),
            }
        }
        let mut command = Command::new(env!("CARGO_BIN_EXE_lowp"));
        command.current_dir(&scratch.path).arg("quantize");
        for (key, value) in options {
            command.args([key, value]);
        }
        assert_bad_input(&command.output().unwrap(), message);
        assert_eq!(
            scratch.entries(),
            before,
            "{overrides:?} left a file behind"
        );
    }
}

#[test]
fn failed_quantize_keeps_an_existing_output() {
    let scratch = Scratch::new("cli", "keep");
    let input = scratch.write_f32("in.f32", &[1.0]);
    let output = scratch.file("out.f32");
    fs::write(&output, b"keep").unwrap();
    let run = lowp([
        OsStr::new("quantize"),
        "--format".as_ref(),
        "e4m3".as_ref(),
        "--rounding".as_ref(),
        "nearest".as_ref(),
        "--shape".as_ref(),
        "2".as_ref(),
        "--input".as_ref(),
        input.as_os_str(),
        "--output".as_ref(),
        output.as_os_str(),
    ]);
    assert_bad_input(&run, "does not fit");
    assert_eq!(fs::read(&output).unwrap(), b"keep");
    assert_eq!(scratch.entries(), ["in.f32", "out.f32"]);
}

#[test]
fn usage_errors_and_unknown_backends_exit_2() {
    let missing_format = lowp([
        "quantize",
        "--rounding",
        "nearest",
        "--input",
        "a.f32",
        "--output",
        "b.f32",
    ]);
    assert_eq!(missing_format.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing_format.stderr).starts_with("error: "));
    assert_eq!(lowp(["frobnicate"]).status.code(), Some(2));
    assert_eq!(lowp(["quantize", "--seed", "-1"]).status.code(), Some(2));
    assert_bad_input(
        &lowp(["--backend", "tpu", "formats"]),
        "unknown backend 'tpu'; available backends: cpu",
    );
    assert_bad_input(
        &lowp(["show", "e4m3", "--backend", "x"]),
        "unknown backend 'x'; available backends: cpu",
    );
    success(&lowp(["formats", "--backend", "cpu"]));
    success(&lowp(["--help"]));
}

/// Writes a manifest with one float_quantize case of e4m3 on [1.0625, 1000, 0.3] whose expected
/// output is `expected`, an error case and an unsupported op; returns its path.
fn manifest(scratch: &Scratch, expected: &[f32]) -> PathBuf {
    let vectors = scratch.file("vectors");
    fs::create_dir_all(&vectors).unwrap();
    fs::write(vectors.join("in.f32"), f32_bytes(&[1.0625, 1000.0, 0.3])).unwrap();
    fs::write(vectors.join("expected.f32"), f32_bytes(expected)).unwrap();
    let path = scratch.file("manifest.json");
    let params =
        r#""exp": 4, "man": 3, "rounding": "nearest", "subnormals": true, "saturate": false"#;
    fs::write(
        &path,
        format!(
            r#"{{"cases": [
                {{"id": "e4m3_nearest", "op": "float_quantize", "params": {{{params}}},
                  "input": "in.f32", "expected": "expected.f32"}},
                {{"id": "exp9", "op": "float_quantize", "params": {{"exp": 9, "man": 3}},
                  "input": "in.f32", "error": true}},
                {{"id": "sm", "op": "qsoftmax_forward", "params": {{}}, "input": {{"a": "in.f32"}}}}
            ]}}"#
        ),
    )
    .unwrap();
    path
}

#[test]
fn conformance_passes_a_matching_manifest() {
    let scratch = Scratch::new("cli", "conformance-pass");
    let path = manifest(&scratch, &[1.0, f32::INFINITY, 0.3125]);
    let text = success(&lowp([
        OsStr::new("conformance"),
        "--manifest".as_ref(),
        path.as_os_str(),
    ]));
    assert!(
        line_starting(&text, "float_quantize").contains("ok"),
        "{text}"
    );
    assert!(
        text.ends_with("cpu: 2 passed, 0 failed, 1 not supported yet\n"),
        "{text}"
    );

    let verbose = success(&lowp([
        OsStr::new("conformance"),
        "--verbose".as_ref(),
        "--manifest".as_ref(),
        path.as_os_str(),
    ]));
    assert!(
        verbose.contains("ok   e4m3_nearest (float_quantize): pass (3 elements)"),
        "{verbose}"
    );
    assert!(
        verbose.contains("ok   exp9 (float_quantize): rejected as required"),
        "{verbose}"
    );
    assert!(verbose.contains("skip sm (qsoftmax_forward)"), "{verbose}");
}

#[test]
fn conformance_mismatches_exit_1() {
    let scratch = Scratch::new("cli", "conformance-fail");
    let path = manifest(&scratch, &[1.0, f32::INFINITY, 0.25]);
    let output = lowp([
        OsStr::new("conformance"),
        "--manifest".as_ref(),
        path.as_os_str(),
    ]);
    assert_eq!(output.status.code(), Some(1));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("FAIL e4m3_nearest (float_quantize): 1 of 3 elements differ"),
        "{text}"
    );
    assert!(
        text.ends_with("cpu: 1 passed, 1 failed, 1 not supported yet\n"),
        "{text}"
    );
}

#[test]
fn conformance_rejects_unreadable_manifests() {
    let scratch = Scratch::new("cli", "conformance-bad");
    let missing = scratch.file("missing.json");
    assert_bad_input(
        &lowp([
            OsStr::new("conformance"),
            "--manifest".as_ref(),
            missing.as_os_str(),
        ]),
        "cannot read",
    );
    let malformed = scratch.file("manifest.json");
    fs::write(&malformed, "{\"cases\": [\n{\"id\": 1}\n]}").unwrap();
    assert_bad_input(
        &lowp([
            OsStr::new("conformance"),
            "--manifest".as_ref(),
            malformed.as_os_str(),
        ]),
        "malformed manifest",
    );
}

#[test]
fn bench_prints_a_table_or_json_rows() {
    let table = success(&lowp(["bench", "--n", "256", "--gemm-sizes", "8"]));
    let header: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        [
            "op",
            "backend",
            "format",
            "rounding",
            "threads",
            "n",
            "ns/element"
        ]
    );
    assert!(line_starting(&table, "quantize").contains("256"), "{table}");
    assert!(table.contains("ns/MAC"), "{table}");
    assert!(line_starting(&table, "qgemm").contains("e4m3"), "{table}");

    let json = success(&lowp([
        "bench",
        "--json",
        "--n",
        "256",
        "--gemm-sizes",
        "8",
        "--backend",
        "cpu",
    ]));
    let rows: serde_json::Value = serde_json::from_str(&json).unwrap();
    let rows = rows.as_array().unwrap();
    assert!(!rows.is_empty());
    let mut ops = std::collections::BTreeSet::new();
    for row in rows {
        assert_eq!(row["backend"], "cpu");
        assert!(row["threads"].as_u64().unwrap() >= 1);
        ops.insert(row["op"].as_str().unwrap().to_string());
        if row["op"] == "quantize" || row["op"] == "add" {
            assert_eq!(row["n"], 256);
            assert!(row["format"].is_string() && row["rounding"].is_string());
            assert!(row["ns_per_element"].as_f64().unwrap() > 0.0);
        } else {
            assert_eq!(
                (row["m"].as_u64(), row["k"].as_u64(), row["n"].as_u64()),
                (Some(8), Some(8), Some(8))
            );
            assert!(row["ns_per_mac"].as_f64().unwrap() > 0.0);
        }
    }
    assert_eq!(
        ops.into_iter().collect::<Vec<_>>(),
        ["add", "matmul_f32", "qgemm", "quantize"]
    );
    let only = success(&lowp([
        "bench",
        "--json",
        "--ops",
        "qgemm",
        "--gemm-sizes",
        "4",
    ]));
    assert!(!only.contains("ns_per_element"), "{only}");
    assert_bad_input(&lowp(["bench", "--n", "0"]), "--n must be at least 1");
    assert_bad_input(&lowp(["bench", "--gemm-sizes", "0"]), "--gemm-sizes");
}
