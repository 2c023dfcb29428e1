//! The formats of a training run, from a config file (TOML or JSON) and short command-line flags.
//!
//! A config file mirrors mptorch's `QAffineFormats` per layer, plus the optimizer's quantizers.
//! Every value is a format SPEC of lowp-formats (`e4m3`, `fp16(subnormals=false)`,
//! `binary8(p=3)`, ...) or a rounding-mode name; a multiply-accumulate entry is `MUL:ADD` (or one
//! SPEC for both), or `fma(SPEC)` for fused multiply-adds rounded once to SPEC (mptorch's
//! `(fmt,)`; on CUDA the only GEMMs the optional cuBLAS fast path takes):
//!
//! ```toml
//! [layers]                 # every quantized layer
//! fwd_mac = "e4m3:fp16"    # forward GEMM: products in e4m3, sums in fp16
//! bwd_mac = "e5m2:fp16"
//! fwd_rnd = "nearest"      # rounding of the forward pass (GEMM and its quantizers)
//! bwd_rnd = "stochastic"
//! weight_quant = "e4m3"    # weights and bias before use; input_quant, output_quant too
//! grad_quant = "e5m2"      # gradients flowing backward
//!
//! [layer.2]                # overrides for layer 2 (counting quantized layers from 0)
//! fwd_mac = "fp32"
//!
//! [optimizer]
//! weight_quant = "bf16"    # the stored weights after each update
//! grad_quant = "e5m2"      # the gradients the optimizer reads
//! momentum_quant = "bf16"  # momentum / first moment; second_quant for Adam's second moment
//! acc_quant = "fp32"       # the update arithmetic
//! rounding = "stochastic"
//! compensated = true       # Kahan-compensated weight update
//! ```
//!
//! Short flags set the same fields for every layer: `--mac` sets `fwd_mac` and `bwd_mac`,
//! `--weights` the layers' and the optimizer's `weight_quant` (and `bias_quant`), `--grads` both
//! `grad_quant`s, `--acts` `input_quant` and `output_quant`, `--rounding` `fwd_rnd`, `bwd_rnd` and
//! the optimizer's `rounding`. Flags override the file.

use super::files::read;
use super::{Result, TrainError};
use lowp_formats::{Format, Rounding};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The formats of one quantized layer as text (mptorch's `QAffineFormats`); `None` = not
/// quantized (binary32).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LayerFormatsConfig {
    /// Forward GEMM, `MUL:ADD`, one SPEC for both, or `fma(SPEC)`.
    pub fwd_mac: Option<String>,
    /// Backward GEMMs, `MUL:ADD`, one SPEC for both, or `fma(SPEC)`.
    pub bwd_mac: Option<String>,
    /// Rounding of the forward pass.
    pub fwd_rnd: Option<String>,
    /// Rounding of the backward pass.
    pub bwd_rnd: Option<String>,
    /// The weights before use.
    pub weight_quant: Option<String>,
    /// The bias before use.
    pub bias_quant: Option<String>,
    /// The layer input.
    pub input_quant: Option<String>,
    /// The layer output.
    pub output_quant: Option<String>,
    /// The gradients flowing backward.
    pub grad_quant: Option<String>,
}

/// The optimizer's quantizers as text (mptorch's `QOptim` ideas); `None` = binary32.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OptimizerFormatsConfig {
    /// The stored weights after each update.
    pub weight_quant: Option<String>,
    /// The gradients the optimizer reads.
    pub grad_quant: Option<String>,
    /// Momentum (SGD) or the first moment (Adam).
    pub momentum_quant: Option<String>,
    /// Adam's second moment.
    pub second_quant: Option<String>,
    /// Every intermediate of the update arithmetic.
    pub acc_quant: Option<String>,
    /// Rounding of all of the above.
    pub rounding: Option<String>,
    /// Kahan-compensated weight update.
    pub compensated: Option<bool>,
}

/// A whole run's formats as text: defaults for every layer, per-layer overrides, the optimizer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FormatsConfig {
    /// Formats of every quantized layer.
    pub layers: LayerFormatsConfig,
    /// Overrides by layer index (as text: TOML table keys are strings), field by field.
    pub layer: BTreeMap<String, LayerFormatsConfig>,
    /// The optimizer's quantizers.
    pub optimizer: OptimizerFormatsConfig,
}

/// The short command-line flags of the formats (module docs), as text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FormatFlags {
    /// `--mac MUL:ADD` (or `SPEC`, `fma(SPEC)`).
    pub mac: Option<String>,
    /// `--weights SPEC`.
    pub weights: Option<String>,
    /// `--grads SPEC`.
    pub grads: Option<String>,
    /// `--acts SPEC`.
    pub acts: Option<String>,
    /// `--rounding MODE`.
    pub rounding: Option<String>,
}

/// A rounding mode by name, resolved per format (stochastic rounding takes the format's default
/// random bits, SEMANTICS.md §2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoundingChoice(String);

impl RoundingChoice {
    /// The mode named `name`, checked.
    pub fn parse(name: &str) -> Result<Self> {
        Rounding::from_name(name, None, 1).map_err(|error| config(format!("rounding: {error}")))?;
        Ok(Self(name.trim().to_string()))
    }

    /// Round to nearest, ties to even.
    pub fn nearest() -> Self {
        Self("nearest".into())
    }

    /// The mode for values rounded to `format`.
    pub fn for_format(&self, format: &Format) -> Rounding {
        Rounding::from_name(&self.0, None, format.default_stochastic_bits())
            .expect("checked by parse")
    }

    /// Whether the mode is stochastic.
    pub fn is_stochastic(&self) -> bool {
        matches!(
            self.for_format(&Format::preset("fp32").expect("preset")),
            Rounding::Stochastic { .. }
        )
    }

    /// The name.
    pub fn name(&self) -> &str {
        &self.0
    }
}

/// The formats of a multiply-accumulate: products rounded to `mul`, sums to `add`
/// (`acc = Qadd(acc + Qmul(a * b))`), or, when `fused`, one rounding per fused multiply-add
/// (`acc = Qadd(fma(a, b, acc))`, `mul == add`).
#[derive(Debug, Clone, PartialEq)]
pub struct MacFormats {
    /// Format of each product (the add format when fused).
    pub mul: Format,
    /// Format of each accumulation step.
    pub add: Format,
    /// Fused multiply-adds (config text `fma(SPEC)`).
    pub fused: bool,
}

/// One layer's validated formats; `None` = binary32, no quantization.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerFormats {
    /// Forward GEMM.
    pub fwd_mac: Option<MacFormats>,
    /// Backward GEMMs.
    pub bwd_mac: Option<MacFormats>,
    /// Rounding of the forward pass.
    pub fwd_rnd: RoundingChoice,
    /// Rounding of the backward pass.
    pub bwd_rnd: RoundingChoice,
    /// Weights before use.
    pub weight_quant: Option<Format>,
    /// Bias before use.
    pub bias_quant: Option<Format>,
    /// Layer input.
    pub input_quant: Option<Format>,
    /// Layer output.
    pub output_quant: Option<Format>,
    /// Gradients flowing backward.
    pub grad_quant: Option<Format>,
}

/// The optimizer's validated quantizers; `None` = binary32.
#[derive(Debug, Clone, PartialEq)]
pub struct OptimizerFormats {
    /// The stored weights.
    pub weight_quant: Option<Format>,
    /// The gradients read.
    pub grad_quant: Option<Format>,
    /// Momentum / first moment.
    pub momentum_quant: Option<Format>,
    /// Adam's second moment.
    pub second_quant: Option<Format>,
    /// The update arithmetic.
    pub acc_quant: Option<Format>,
    /// Rounding of all of the above.
    pub rounding: RoundingChoice,
    /// Kahan-compensated weight update.
    pub compensated: bool,
}

impl FormatsConfig {
    /// Reads a config file: `.toml` or `.json` by extension.
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = read(path)?;
        let text = String::from_utf8(bytes)
            .map_err(|_| config(format!("{}: not UTF-8 text", path.display())))?;
        let extension = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        let parsed = match extension.as_deref() {
            Some("toml") => toml::from_str(&text).map_err(|e| e.message().to_string()),
            Some("json") => serde_json::from_str(&text).map_err(|e| e.to_string()),
            _ => Err("unknown config type; expected a .toml or .json file".into()),
        };
        let config_file: Self =
            parsed.map_err(|reason| config(format!("{}: {reason}", path.display())))?;
        config_file.check()?;
        Ok(config_file)
    }

    /// The config of one sweep entry `SPEC[:ADD][@ROUNDING]` or `fma(SPEC)[@ROUNDING]`: weights,
    /// gradients, activations and products in SPEC, sums in ADD (default SPEC; fused
    /// multiply-adds rounded to SPEC for `fma(SPEC)`), every rounding ROUNDING (default nearest);
    /// the optimizer keeps binary32 state and stores weights in SPEC.
    pub fn from_sweep_entry(entry: &str) -> Result<Self> {
        let (formats, rounding) = match entry.rsplit_once('@') {
            Some((formats, rounding)) => (formats, Some(rounding.to_string())),
            None => (entry, None),
        };
        let storage = match fused_spec(formats) {
            Some(spec) => spec.to_string(),
            None => split_mac(formats)?.0.to_string(),
        };
        let flags = FormatFlags {
            mac: Some(formats.to_string()),
            weights: Some(storage.clone()),
            grads: Some(storage.clone()),
            acts: Some(storage),
            rounding,
        };
        let mut config = Self::default();
        config.apply_flags(&flags);
        config.check()?;
        Ok(config)
    }

    /// Overrides the fields the flags name (module docs).
    pub fn apply_flags(&mut self, flags: &FormatFlags) {
        let set = |field: &mut Option<String>, value: &Option<String>| {
            if value.is_some() {
                field.clone_from(value);
            }
        };
        let layers = &mut self.layers;
        set(&mut layers.fwd_mac, &flags.mac);
        set(&mut layers.bwd_mac, &flags.mac);
        set(&mut layers.weight_quant, &flags.weights);
        set(&mut layers.bias_quant, &flags.weights);
        set(&mut layers.grad_quant, &flags.grads);
        set(&mut layers.input_quant, &flags.acts);
        set(&mut layers.output_quant, &flags.acts);
        set(&mut layers.fwd_rnd, &flags.rounding);
        set(&mut layers.bwd_rnd, &flags.rounding);
        set(&mut self.optimizer.weight_quant, &flags.weights);
        set(&mut self.optimizer.grad_quant, &flags.grads);
        set(&mut self.optimizer.rounding, &flags.rounding);
    }

    /// Validates every SPEC and name (so bad input is reported before any work).
    pub fn check(&self) -> Result<()> {
        self.layers.resolve()?;
        for index in self.layer.keys() {
            let index = index
                .parse::<usize>()
                .map_err(|_| config(format!("[layer.{index}]: the key must be a layer index")))?;
            self.layer_formats(index)?;
        }
        self.optimizer.resolve()?;
        Ok(())
    }

    /// The text formats of layer `index`: the `[layers]` defaults with `[layer.INDEX]` on top.
    pub fn layer_config(&self, index: usize) -> LayerFormatsConfig {
        let mut merged = self.layers.clone();
        if let Some(overrides) = self.layer.get(&index.to_string()) {
            let pick = |field: &mut Option<String>, value: &Option<String>| {
                if value.is_some() {
                    field.clone_from(value);
                }
            };
            pick(&mut merged.fwd_mac, &overrides.fwd_mac);
            pick(&mut merged.bwd_mac, &overrides.bwd_mac);
            pick(&mut merged.fwd_rnd, &overrides.fwd_rnd);
            pick(&mut merged.bwd_rnd, &overrides.bwd_rnd);
            pick(&mut merged.weight_quant, &overrides.weight_quant);
            pick(&mut merged.bias_quant, &overrides.bias_quant);
            pick(&mut merged.input_quant, &overrides.input_quant);
            pick(&mut merged.output_quant, &overrides.output_quant);
            pick(&mut merged.grad_quant, &overrides.grad_quant);
        }
        merged
    }

    /// The validated formats of layer `index`.
    pub fn layer_formats(&self, index: usize) -> Result<LayerFormats> {
        self.layer_config(index).resolve()
    }

    /// The validated optimizer formats.
    pub fn optimizer_formats(&self) -> Result<OptimizerFormats> {
        self.optimizer.resolve()
    }

    /// A short label: the distinct SPECs in use, e.g. `fp32` or `e5m2:fp16@stochastic`.
    pub fn label(&self) -> String {
        let layers = &self.layers;
        let mut label = layers
            .fwd_mac
            .clone()
            .or_else(|| layers.weight_quant.clone())
            .unwrap_or_else(|| "fp32".into());
        if let Some(rounding) = &layers.fwd_rnd {
            label.push('@');
            label.push_str(rounding);
        }
        label
    }
}

impl LayerFormatsConfig {
    /// Parses and validates every field.
    pub fn resolve(&self) -> Result<LayerFormats> {
        Ok(LayerFormats {
            fwd_mac: mac("fwd_mac", &self.fwd_mac)?,
            bwd_mac: mac("bwd_mac", &self.bwd_mac)?,
            fwd_rnd: rounding(&self.fwd_rnd)?,
            bwd_rnd: rounding(&self.bwd_rnd)?,
            weight_quant: format("weight_quant", &self.weight_quant)?,
            bias_quant: format("bias_quant", &self.bias_quant)?,
            input_quant: format("input_quant", &self.input_quant)?,
            output_quant: format("output_quant", &self.output_quant)?,
            grad_quant: format("grad_quant", &self.grad_quant)?,
        })
    }
}

impl OptimizerFormatsConfig {
    /// Parses and validates every field.
    pub fn resolve(&self) -> Result<OptimizerFormats> {
        Ok(OptimizerFormats {
            weight_quant: format("optimizer.weight_quant", &self.weight_quant)?,
            grad_quant: format("optimizer.grad_quant", &self.grad_quant)?,
            momentum_quant: format("optimizer.momentum_quant", &self.momentum_quant)?,
            second_quant: format("optimizer.second_quant", &self.second_quant)?,
            acc_quant: format("optimizer.acc_quant", &self.acc_quant)?,
            rounding: rounding(&self.rounding)?,
            compensated: self.compensated.unwrap_or(false),
        })
    }
}

/// Splits a comma-separated list at the commas outside parentheses, so that SPECs with
/// arguments (`binary8(p=3,subnormals=false)`) stay whole. Empty items are an error.
pub fn split_list(list: &str) -> Result<Vec<String>> {
    let mut items = Vec::new();
    let mut depth = 0usize;
    let mut current = String::new();
    for c in list.chars() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth = depth
                    .checked_sub(1)
                    .ok_or_else(|| config(format!("`{list}`: unbalanced `)`")))?
            }
            ',' if depth == 0 => {
                items.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    if depth != 0 {
        return Err(config(format!("`{list}`: unbalanced `(`")));
    }
    items.push(current);
    let items: Vec<String> = items
        .into_iter()
        .map(|item| item.trim().to_string())
        .collect();
    if items.iter().any(String::is_empty) {
        return Err(config(format!("`{list}`: empty entry")));
    }
    Ok(items)
}

/// `MUL:ADD` or `SPEC` (both) split at the `:` outside parentheses.
fn split_mac(text: &str) -> Result<(&str, &str)> {
    let mut depth = 0i32;
    for (position, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ':' if depth == 0 => return Ok((text[..position].trim(), text[position + 1..].trim())),
            _ => {}
        }
    }
    let text = text.trim();
    if text.is_empty() {
        return Err(config("empty format".into()));
    }
    Ok((text, text))
}

/// The SPEC of a fused MAC entry `fma(SPEC)`, or None for other entries.
fn fused_spec(text: &str) -> Option<&str> {
    text.trim()
        .strip_prefix("fma(")
        .and_then(|rest| rest.strip_suffix(')'))
}

/// `MUL:ADD`, `SPEC` (both) or `fma(SPEC)`.
fn mac(field: &str, text: &Option<String>) -> Result<Option<MacFormats>> {
    text.as_deref()
        .map(|text| {
            if let Some(spec) = fused_spec(text) {
                let format = parse_format(field, spec)?;
                return Ok(MacFormats {
                    mul: format,
                    add: format,
                    fused: true,
                });
            }
            let (mul, add) = split_mac(text)?;
            Ok(MacFormats {
                mul: parse_format(field, mul)?,
                add: parse_format(field, add)?,
                fused: false,
            })
        })
        .transpose()
}

fn format(field: &str, text: &Option<String>) -> Result<Option<Format>> {
    text.as_deref()
        .map(|text| parse_format(field, text))
        .transpose()
}

fn parse_format(field: &str, text: &str) -> Result<Format> {
    text.trim()
        .parse::<Format>()
        .map_err(|error| config(format!("{field}: {error}")))
}

fn rounding(text: &Option<String>) -> Result<RoundingChoice> {
    text.as_deref()
        .map_or_else(|| Ok(RoundingChoice::nearest()), RoundingChoice::parse)
}

fn config(message: String) -> TrainError {
    TrainError::Config(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, text: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("lowp-formats-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn toml_and_json_configs_give_the_same_formats() {
        let toml_path = write(
            "run.toml",
            "[layers]\nfwd_mac = \"e4m3:fp16\"\nweight_quant = \"e4m3\"\nbwd_rnd = \"stochastic\"\n\
             [layer.1]\nfwd_mac = \"fp32\"\n[optimizer]\nmomentum_quant = \"bf16\"\ncompensated = true\n",
        );
        let json_path = write(
            "run.json",
            r#"{"layers": {"fwd_mac": "e4m3:fp16", "weight_quant": "e4m3", "bwd_rnd": "stochastic"},
                "layer": {"1": {"fwd_mac": "fp32"}},
                "optimizer": {"momentum_quant": "bf16", "compensated": true}}"#,
        );
        let from_toml = FormatsConfig::load(&toml_path).unwrap();
        assert_eq!(from_toml, FormatsConfig::load(&json_path).unwrap());
        let first = from_toml.layer_formats(0).unwrap();
        let mac = first.fwd_mac.unwrap();
        assert_eq!(
            (mac.mul.to_string(), mac.add.to_string()),
            ("e4m3".into(), "fp16".into())
        );
        assert!(first.bwd_rnd.is_stochastic());
        assert!(!first.fwd_rnd.is_stochastic());
        assert_eq!(
            from_toml
                .layer_formats(1)
                .unwrap()
                .fwd_mac
                .unwrap()
                .add
                .to_string(),
            "fp32"
        );
        assert_eq!(
            from_toml
                .layer_formats(1)
                .unwrap()
                .weight_quant
                .unwrap()
                .to_string(),
            "e4m3"
        );
        let optimizer = from_toml.optimizer_formats().unwrap();
        assert!(optimizer.compensated);
        assert_eq!(optimizer.momentum_quant.unwrap().to_string(), "bf16");
    }

    #[test]
    fn bad_configs_name_the_problem() {
        let cases = [
            ("bad-spec.toml", "[layers]\nfwd_mac = \"e9m3\"\n", "fwd_mac"),
            (
                "bad-key.toml",
                "[layers]\nfwd_macc = \"fp16\"\n",
                "fwd_macc",
            ),
            (
                "bad-round.json",
                r#"{"optimizer": {"rounding": "sideways"}}"#,
                "rounding",
            ),
            (
                "bad-layer.toml",
                "[layer.first]\nfwd_mac = \"fp16\"\n",
                "layer index",
            ),
            ("bad-syntax.toml", "[layers\n", ""),
            ("config.yaml", "layers: {}\n", ".toml or .json"),
        ];
        for (name, text, expected) in cases {
            let error = FormatsConfig::load(&write(name, text))
                .unwrap_err()
                .to_string();
            assert!(error.contains(expected), "{name}: {error}");
        }
        assert!(FormatsConfig::load(Path::new("/nonexistent.toml")).is_err());
    }

    #[test]
    fn fused_macs_are_fma_of_one_spec() {
        let fused = mac("fwd_mac", &Some(" fma(fp16(subnormals=false)) ".into()))
            .unwrap()
            .unwrap();
        assert!(fused.fused);
        assert_eq!(fused.add, "fp16(subnormals=false)".parse().unwrap());
        assert_eq!(fused.mul, fused.add);
        let separate = mac("fwd_mac", &Some("e4m3:fp16".into())).unwrap().unwrap();
        assert!(!separate.fused);
        let same = mac("fwd_mac", &Some("bf16".into())).unwrap().unwrap();
        assert!(!same.fused);
        for bad in ["fma(e9m9)", "fma(fp16):fp32", "fma()"] {
            assert!(mac("fwd_mac", &Some(bad.into())).is_err(), "{bad}");
        }
    }

    #[test]
    fn flags_override_the_file_fields_they_name() {
        let mut config = FormatsConfig::default();
        config.layers.grad_quant = Some("bf16".into());
        config.apply_flags(&FormatFlags {
            mac: Some("e5m2:fp16".into()),
            weights: Some("e4m3".into()),
            rounding: Some("stochastic".into()),
            ..FormatFlags::default()
        });
        let layer = config.layer_formats(0).unwrap();
        assert_eq!(layer.bwd_mac.unwrap().mul.to_string(), "e5m2");
        assert_eq!(layer.grad_quant.unwrap().to_string(), "bf16");
        assert_eq!(layer.bias_quant.unwrap().to_string(), "e4m3");
        let optimizer = config.optimizer_formats().unwrap();
        assert_eq!(optimizer.weight_quant.unwrap().to_string(), "e4m3");
        assert!(optimizer.rounding.is_stochastic());
    }

    #[test]
    fn sweep_entries_and_lists() {
        assert_eq!(
            split_list("fp32, binary8(p=3,subnormals=false),e5m2:fp16@stochastic").unwrap(),
            vec![
                "fp32",
                "binary8(p=3,subnormals=false)",
                "e5m2:fp16@stochastic"
            ]
        );
        assert!(split_list("fp32,,bf16").is_err());
        assert!(split_list("binary8(p=3").is_err());
        let entry = FormatsConfig::from_sweep_entry("e5m2:fp16@stochastic").unwrap();
        let layer = entry.layer_formats(0).unwrap();
        let mac = layer.fwd_mac.unwrap();
        assert_eq!(
            (mac.mul.to_string(), mac.add.to_string()),
            ("e5m2".into(), "fp16".into())
        );
        assert_eq!(layer.input_quant.unwrap().to_string(), "e5m2");
        assert!(layer.fwd_rnd.is_stochastic());
        assert_eq!(entry.label(), "e5m2:fp16@stochastic");
        let fused = FormatsConfig::from_sweep_entry("fma(bf16)@stochastic").unwrap();
        let layer = fused.layer_formats(0).unwrap();
        assert!(layer.fwd_mac.unwrap().fused);
        assert_eq!(layer.weight_quant.unwrap().to_string(), "bf16");
        assert!(layer.bwd_rnd.is_stochastic());
        let p3 = FormatsConfig::from_sweep_entry("binary8(p=3)").unwrap();
        assert!(p3.layer_formats(0).unwrap().weight_quant.is_some());
        assert!(FormatsConfig::from_sweep_entry("e4m3@often").is_err());
        assert!(FormatsConfig::from_sweep_entry("e4m7").is_err());
    }
}
