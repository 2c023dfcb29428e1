//! End-to-end tests of `lowp train` and `lowp sweep`: outputs, resume bit-identical to an
//! uninterrupted run, and bad input (one `error:` line, exit status 2, no output written).

mod common;

use common::{Scratch, entries, lowp};
use lowp_nn::train::checkpoint::Checkpoint;
use std::fs;
use std::path::Path;
use std::process::Output;

fn succeed(output: Output) -> String {
    assert!(
        output.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// A small, fast run: 16 hidden units, batch 64.
const SMALL: [&str; 5] = ["--hidden", "16", "--batch-size", "64", "--quiet"];

/// The bits of the model parameters and step losses of a checkpoint.
fn trained_bits(path: &Path) -> Vec<(String, Vec<u32>)> {
    let checkpoint = Checkpoint::load(path).unwrap();
    checkpoint
        .tensors
        .iter()
        .filter(|(name, _)| !name.starts_with("optim."))
        .map(|(name, tensor)| {
            let bits = tensor.data.iter().map(|v| v.to_bits()).collect();
            (name.clone(), bits)
        })
        .collect()
}

#[test]
fn train_writes_the_table_plots_config_and_checkpoint() {
    let scratch = Scratch::new("train-cli", "outputs");
    let out = scratch.file("run");
    let stdout = succeed(lowp(
        [
            &["train", "--epochs", "2", "--out"],
            &[out.to_str().unwrap()][..],
            &SMALL[..],
        ]
        .concat(),
    ));
    assert!(
        stdout.contains("epoch  train loss  test loss  test acc"),
        "{stdout}"
    );
    assert!(stdout.contains("mlp on digits (1438 train / 359 test samples, backend cpu)"));
    assert_eq!(
        entries(&out),
        [
            "checkpoint.safetensors",
            "config.json",
            "curves.png",
            "curves.svg",
            "history.json"
        ]
    );
    let history: serde_json::Value =
        serde_json::from_slice(&fs::read(out.join("history.json")).unwrap()).unwrap();
    assert_eq!(history.as_array().unwrap().len(), 2);
    let config: serde_json::Value =
        serde_json::from_slice(&fs::read(out.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["model"]["hidden"], serde_json::json!([16]));
    assert!(
        fs::read(out.join("curves.png"))
            .unwrap()
            .starts_with(b"\x89PNG")
    );
}

#[test]
fn resume_continues_bit_identically() {
    let scratch = Scratch::new("train-cli", "resume");
    let formats = [
        "--epochs",
        "3",
        "--mac",
        "e5m2:fp16",
        "--weights",
        "bf16",
        "--grads",
        "e5m2",
        "--rounding",
        "stochastic",
        "--compensated",
        "--loss-scale",
        "1024",
    ];
    let whole = scratch.file("whole");
    let part = scratch.file("part");
    let resumed = scratch.file("resumed");
    succeed(lowp(
        [
            &["train", "--out", whole.to_str().unwrap()][..],
            &formats[..],
            &SMALL[..],
        ]
        .concat(),
    ));
    let stopped = succeed(lowp(
        [
            &[
                "train",
                "--stop-after",
                "1",
                "--out",
                part.to_str().unwrap(),
            ][..],
            &formats[..],
            &SMALL[..],
        ]
        .concat(),
    ));
    assert!(stopped.contains("after 1 epochs"), "{stopped}");
    let checkpoint = part.join("checkpoint.safetensors");
    let finished = succeed(lowp([
        "train",
        "--quiet",
        "--resume",
        checkpoint.to_str().unwrap(),
        "--out",
        resumed.to_str().unwrap(),
    ]));
    assert!(finished.contains("after 3 epochs"), "{finished}");
    let expected = trained_bits(&whole.join("checkpoint.safetensors"));
    assert!(
        expected
            .iter()
            .any(|(name, _)| name == "history.step_losses")
    );
    assert_eq!(
        trained_bits(&resumed.join("checkpoint.safetensors")),
        expected
    );
}

#[test]
fn sweep_compares_format_sets() {
    let scratch = Scratch::new("train-cli", "sweep");
    let out = scratch.file("sweep");
    let stdout = succeed(lowp(
        [
            &[
                "sweep",
                "--formats",
                "fp32,e5m2:fp16@stochastic,binary8(p=3)",
                "--epochs",
                "1",
                "--out",
                out.to_str().unwrap(),
            ][..],
            &SMALL[..],
        ]
        .concat(),
    ));
    for row in ["fp32", "e5m2:fp16@stochastic", "binary8(p=3)", "test acc"] {
        assert!(stdout.contains(row), "{row} missing: {stdout}");
    }
    assert_eq!(
        entries(&out),
        ["sweep.json", "sweep.md", "sweep.png", "sweep.svg"]
    );
}

#[test]
fn bad_input_is_one_line_exit_2_and_no_output() {
    let scratch = Scratch::new("train-cli", "bad");
    let out = scratch.file("never");
    let bad_config = scratch.file("bad.toml");
    fs::write(
        &bad_config,
        "[layers]\nfwd_mac = \"e4m3\"\nweight_qaunt = \"e4m3\"\n",
    )
    .unwrap();
    let out_arg = out.to_str().unwrap();
    let cases: Vec<Vec<&str>> = vec![
        vec!["train", "--mac", "e9m2", "--out", out_arg],
        vec!["train", "--rounding", "sideways", "--out", out_arg],
        vec![
            "train",
            "--formats-config",
            "/nonexistent/f.toml",
            "--out",
            out_arg,
        ],
        vec![
            "train",
            "--formats-config",
            bad_config.to_str().unwrap(),
            "--out",
            out_arg,
        ],
        vec!["train", "--optimizer", "lion", "--out", out_arg],
        vec!["train", "--model", "resnet", "--out", out_arg],
        vec!["train", "--data", "mnist", "--out", out_arg],
        vec!["train", "--epochs", "0", "--out", out_arg],
        vec![
            "train",
            "--resume",
            "/nonexistent/c.safetensors",
            "--out",
            out_arg,
        ],
        vec![
            "train",
            "--resume",
            bad_config.to_str().unwrap(),
            "--epochs",
            "2",
            "--out",
            out_arg,
        ],
        vec!["train", "--epochs", "many", "--out", out_arg],
        vec!["train", "--stop-after", "0", "--out", out_arg],
        vec!["sweep", "--formats", "fp32,,bf16", "--out", out_arg],
        vec!["sweep", "--formats", "fp32,e4m3@often", "--out", out_arg],
        vec![
            "sweep",
            "--formats",
            "fp32",
            "--mac",
            "fp16",
            "--out",
            out_arg,
        ],
    ];
    for args in cases {
        let output = lowp(&args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8(output.stderr).unwrap();
        if !args.contains(&"many") {
            assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
            assert!(stderr.starts_with("error: "), "{args:?}: {stderr}");
        }
        assert!(!out.exists(), "{args:?} left output");
    }
}

/// Writes a tiny MNIST-style set into `dir`: 40 training and 20 test images of 4×4 pixels.
fn write_tiny_mnist(dir: &Path) {
    use lowp_nn::data::mnist::{IMAGES_MAGIC, LABELS_MAGIC, idx_bytes};
    fs::create_dir_all(dir).unwrap();
    for (prefix, count) in [("train", 40u32), ("t10k", 20)] {
        let pixels: Vec<u8> = (0..count * 16).map(|i| (i * 37 % 256) as u8).collect();
        let labels: Vec<u8> = (0..count).map(|i| (i % 10) as u8).collect();
        fs::write(
            dir.join(format!("{prefix}-images-idx3-ubyte")),
            idx_bytes(IMAGES_MAGIC, &[count, 4, 4], &pixels),
        )
        .unwrap();
        fs::write(
            dir.join(format!("{prefix}-labels-idx1-ubyte")),
            idx_bytes(LABELS_MAGIC, &[count], &labels),
        )
        .unwrap();
    }
}

#[test]
fn train_reads_mnist_idx_files() {
    let scratch = Scratch::new("train-cli", "mnist");
    let dir = scratch.file("mnist");
    write_tiny_mnist(&dir);
    let out = scratch.file("out");
    let stdout = succeed(lowp([
        "train",
        "--data",
        "mnist",
        "--mnist-dir",
        dir.to_str().unwrap(),
        "--epochs",
        "1",
        "--hidden",
        "8",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]));
    assert!(
        stdout.contains("mlp on mnist (40 train / 20 test samples"),
        "{stdout}"
    );
}

#[test]
fn train_runs_the_character_gpt_on_shakespeare() {
    let scratch = Scratch::new("train-cli", "gpt");
    let out = scratch.file("gpt");
    let stdout = succeed(lowp([
        "train",
        "--data",
        "shakespeare",
        "--text-chars",
        "3000",
        "--context",
        "16",
        "--hidden",
        "16,2,1",
        "--epochs",
        "1",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]));
    assert!(
        stdout.contains("gpt on shakespeare (150 train / 37 test samples"),
        "{stdout}"
    );
    let config: serde_json::Value =
        serde_json::from_slice(&fs::read(out.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["run"]["optimizer"]["kind"], "adamw");
}

/// Whether a wgpu adapter exists here. Without one, prints `SKIP` and returns false, or panics
/// when `LOWP_REQUIRE` contains `wgpu`.
fn wgpu_available(test: &str) -> bool {
    #[cfg(feature = "wgpu")]
    let reason = match lowp_wgpu::WgpuBackend::new() {
        Ok(_) => return true,
        Err(error) => error.to_string(),
    };
    #[cfg(not(feature = "wgpu"))]
    let reason = "lowp-cli was built without the `wgpu` feature".to_string();
    let required = std::env::var("LOWP_REQUIRE").is_ok_and(|value| value.contains("wgpu"));
    assert!(!required, "LOWP_REQUIRE contains wgpu, but: {reason}");
    println!("SKIP {test}: {reason}");
    false
}

#[test]
fn train_on_wgpu_writes_the_same_checkpoint_as_on_cpu() {
    if !wgpu_available("train_on_wgpu_writes_the_same_checkpoint_as_on_cpu") {
        return;
    }
    let scratch = Scratch::new("train-cli", "wgpu");
    let dir = scratch.file("mnist");
    write_tiny_mnist(&dir);
    let run = |backend: &str| {
        let out = scratch.file(backend);
        succeed(lowp([
            "--backend",
            backend,
            "train",
            "--data",
            "mnist",
            "--mnist-dir",
            dir.to_str().unwrap(),
            "--epochs",
            "2",
            "--hidden",
            "8",
            "--batch-size",
            "16",
            "--optimizer",
            "adamw",
            "--mac",
            "e4m3:fp16",
            "--weights",
            "bf16",
            "--grads",
            "e5m2",
            "--rounding",
            "stochastic",
            "--compensated",
            "--loss-scale",
            "64",
            "--quiet",
            "--out",
            out.to_str().unwrap(),
        ]));
        let checkpoint = Checkpoint::load(&out.join("checkpoint.safetensors")).unwrap();
        checkpoint
            .tensors
            .into_iter()
            .map(|(name, tensor)| {
                let bits: Vec<u32> = tensor
                    .data
                    .iter()
                    .map(|v| {
                        if v.is_nan() {
                            f32::NAN.to_bits()
                        } else {
                            v.to_bits()
                        }
                    })
                    .collect();
                (name, bits)
            })
            .collect::<Vec<_>>()
    };
    let cpu = run("cpu");
    assert!(cpu.iter().any(|(name, _)| name.starts_with("optim.")));
    assert_eq!(run("wgpu"), cpu);
}
