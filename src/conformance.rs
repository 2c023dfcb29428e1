//! The conformance runner: reads a vectors manifest (the format of the shared conformance set's
//! README) and checks every case's `expected` file bit for bit (any NaN equals any NaN, the sign
//! of zero counts) on a backend, reporting per op and per case.

use crate::backend::{Backend, CpuBackend};
use crate::formats::{
    Accumulation, BlockFloatingPoint, FixedPoint, FloatingPoint, Format, FormatError, GemmSpec,
    OverflowPolicy, P3109, Quantizer, Rounding, SuperNormalFloat,
};
use crate::nn::{Cast, Mac, QAffineFormats, functional::qlinear};
use crate::tensor::{Device, Tensor};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// Why a manifest could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConformanceError {
    /// The manifest or a vector file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The manifest is not valid JSON of the expected shape.
    #[error("malformed manifest {path}: {message}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// One case of a manifest (the fields the runner reads; others are ignored).
#[derive(Debug, Clone, Deserialize)]
pub struct Case {
    /// Unique case name.
    pub id: String,
    /// The operation, e.g. `float_quantize` or `float_mm`.
    pub op: String,
    /// The operation's keyword arguments (mptorch's names).
    #[serde(default)]
    pub params: serde_json::Map<String, Value>,
    /// Input file name, or an object of named input files.
    pub input: Value,
    /// The file holding the spec's answer (absent in error cases).
    #[serde(default)]
    pub expected: Option<String>,
    /// Tensor shape (block_quantize).
    #[serde(default)]
    pub shape: Option<Vec<usize>>,
    /// Named tensor shapes (GEMM: `a`, `b`, `out`).
    #[serde(default)]
    pub shapes: Option<BTreeMap<String, Vec<usize>>>,
    /// True when the parameters must be rejected.
    #[serde(default)]
    pub error: bool,
}

/// A loaded manifest: its cases and the folder of its vector files.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// The cases in file order.
    pub cases: Vec<Case>,
    vectors: PathBuf,
}

#[derive(Deserialize)]
struct ManifestFile {
    cases: Vec<Case>,
}

impl Manifest {
    /// Reads `path` (a manifest.json whose vectors lie in `vectors/` beside it).
    pub fn load(path: &Path) -> Result<Self, ConformanceError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConformanceError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let file: ManifestFile =
            serde_json::from_str(&text).map_err(|error| ConformanceError::Malformed {
                path: path.to_path_buf(),
                message: error.to_string(),
            })?;
        let folder = path.parent().unwrap_or(Path::new("."));
        Ok(Self {
            cases: file.cases,
            vectors: folder.join("vectors"),
        })
    }

    /// Reads one vector file (raw little-endian binary32).
    pub fn read_vector(&self, name: &str) -> Result<Vec<f32>, ConformanceError> {
        let path = self.vectors.join(name);
        let bytes = std::fs::read(&path).map_err(|source| ConformanceError::Io {
            path: path.clone(),
            source,
        })?;
        if bytes.len() % 4 != 0 {
            return Err(ConformanceError::Malformed {
                path,
                message: format!("{} bytes is not a multiple of 4", bytes.len()),
            });
        }
        Ok(bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect())
    }
}

/// The outcome of one case.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Every element matched `expected`.
    Pass {
        /// Number of elements compared.
        elements: usize,
    },
    /// An error case was refused with an error, as required.
    RejectedAsExpected {
        /// The error's message.
        message: String,
    },
    /// Some elements differ from `expected`.
    Mismatch {
        /// Number of differing elements.
        count: usize,
        /// Number of elements compared.
        elements: usize,
        /// The first differing element: index, input, got, expected (bit patterns).
        first: (usize, u32, u32, u32),
    },
    /// An error case produced output instead of an error.
    NotRejected,
    /// The case could not run (bad parameters, unreadable vectors, backend error).
    Failed {
        /// Why.
        message: String,
    },
    /// The operation is not implemented yet (GEMM and layers come with later issues).
    Unsupported {
        /// What is missing.
        reason: String,
    },
}

impl Outcome {
    /// Whether the case counts as passed.
    pub fn passed(&self) -> bool {
        matches!(
            self,
            Outcome::Pass { .. } | Outcome::RejectedAsExpected { .. }
        )
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Pass { elements } => write!(f, "pass ({elements} elements)"),
            Outcome::RejectedAsExpected { message } => write!(f, "rejected as required: {message}"),
            Outcome::Mismatch {
                count,
                elements,
                first: (index, input, got, expected),
            } => write!(
                f,
                "{count} of {elements} elements differ; first at {index}: input {input:#010x} ({:e}) gave {got:#010x} ({:e}), expected {expected:#010x} ({:e})",
                f32::from_bits(*input),
                f32::from_bits(*got),
                f32::from_bits(*expected)
            ),
            Outcome::NotRejected => {
                write!(f, "invalid parameters were accepted (an error is required)")
            }
            Outcome::Failed { message } => write!(f, "failed: {message}"),
            Outcome::Unsupported { reason } => write!(f, "not supported yet: {reason}"),
        }
    }
}

/// The result of one case.
#[derive(Debug, Clone)]
pub struct CaseResult {
    /// The case id.
    pub id: String,
    /// The case's op.
    pub op: String,
    /// What happened.
    pub outcome: Outcome,
}

/// The results of a whole manifest on one backend.
#[derive(Debug, Clone)]
pub struct Report {
    /// The backend's name.
    pub backend: String,
    /// One result per case, in manifest order.
    pub cases: Vec<CaseResult>,
}

/// Counts of one op in a [`Report`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OpCounts {
    /// Cases that passed (including error cases that were rejected).
    pub passed: usize,
    /// Cases that mismatched, were not rejected, or failed to run.
    pub failed: usize,
    /// Cases of an op the backend does not support yet.
    pub unsupported: usize,
}

impl Report {
    /// True when no case failed (unsupported cases are reported but are not failures).
    pub fn passed(&self) -> bool {
        self.failures().next().is_none()
    }

    /// The cases that failed.
    pub fn failures(&self) -> impl Iterator<Item = &CaseResult> {
        self.cases.iter().filter(|case| {
            !case.outcome.passed() && !matches!(case.outcome, Outcome::Unsupported { .. })
        })
    }

    /// Per-op counts, ops in alphabetical order.
    pub fn per_op(&self) -> BTreeMap<&str, OpCounts> {
        let mut counts: BTreeMap<&str, OpCounts> = BTreeMap::new();
        for case in &self.cases {
            let entry = counts.entry(case.op.as_str()).or_default();
            match case.outcome {
                Outcome::Pass { .. } | Outcome::RejectedAsExpected { .. } => entry.passed += 1,
                Outcome::Unsupported { .. } => entry.unsupported += 1,
                _ => entry.failed += 1,
            }
        }
        counts
    }

    /// One line: `N passed, N failed, N not supported yet`.
    pub fn summary_line(&self) -> String {
        let total = self
            .per_op()
            .values()
            .fold(OpCounts::default(), |acc, c| OpCounts {
                passed: acc.passed + c.passed,
                failed: acc.failed + c.failed,
                unsupported: acc.unsupported + c.unsupported,
            });
        format!(
            "{}: {} passed, {} failed, {} not supported yet",
            self.backend, total.passed, total.failed, total.unsupported
        )
    }
}

impl fmt::Display for Report {
    /// A per-op table followed by every failure and the summary line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<22} {:>7} {:>7} {:>14}",
            "op", "passed", "failed", "not supported"
        )?;
        for (op, counts) in self.per_op() {
            let status = if counts.failed > 0 { "FAIL" } else { "ok" };
            writeln!(
                f,
                "{op:<22} {:>7} {:>7} {:>14}  {status}",
                counts.passed, counts.failed, counts.unsupported
            )?;
        }
        for failure in self.failures() {
            writeln!(
                f,
                "FAIL {} ({}): {}",
                failure.id, failure.op, failure.outcome
            )?;
        }
        write!(f, "{}", self.summary_line())
    }
}

/// A backend whose tensors the layer cases (`qlinear_forward`) can run on.
pub trait LayerDevice: Backend {
    /// The tensor device of this backend (`None`: layer cases are reported as not supported).
    fn layer_device(&self) -> Option<Device>;
}

impl LayerDevice for CpuBackend {
    fn layer_device(&self) -> Option<Device> {
        Some(Device::from_cpu(self.clone()))
    }
}

/// Layer cases on wgpu run on a tensor device of their own on the default adapter (opened once
/// per process: the backend handle itself cannot be shared by tensors); `None` when no adapter
/// opens.
#[cfg(feature = "wgpu")]
impl LayerDevice for lowp_wgpu::WgpuBackend {
    fn layer_device(&self) -> Option<Device> {
        static DEVICE: std::sync::OnceLock<Option<Device>> = std::sync::OnceLock::new();
        DEVICE.get_or_init(|| Device::wgpu().ok()).clone()
    }
}

/// Runs every case of `manifest` on `backend`.
pub fn run<B: LayerDevice>(manifest: &Manifest, backend: &B) -> Report {
    Report {
        backend: backend.name().to_string(),
        cases: manifest
            .cases
            .iter()
            .map(|case| CaseResult {
                id: case.id.clone(),
                op: case.op.clone(),
                outcome: run_case(manifest, backend, case),
            })
            .collect(),
    }
}

/// Runs one case.
pub fn run_case<B: LayerDevice>(manifest: &Manifest, backend: &B, case: &Case) -> Outcome {
    if case.op == "qlinear_forward" {
        let Some(device) = backend.layer_device() else {
            return Outcome::Unsupported {
                reason: format!("layer cases are not wired for {} here", backend.name()),
            };
        };
        return match qlinear_and_compare(manifest, &device, case) {
            Ok(outcome) => outcome,
            Err(message) => Outcome::Failed { message },
        };
    }
    let elementwise = matches!(
        case.op.as_str(),
        "float_quantize"
            | "fixed_point_quantize"
            | "block_quantize"
            | "binary8_quantize"
            | "binaryK_quantize"
            | "superfp_quantize"
    );
    let gemm = matches!(
        case.op.as_str(),
        "float_mm" | "float_bmm" | "fxp_mm" | "superfp_mm"
    );
    if gemm {
        return match gemm_spec_of(case)
            .and_then(|spec| gemm_and_compare(manifest, backend, case, &spec))
        {
            Ok(outcome) => outcome,
            Err(message) => Outcome::Failed { message },
        };
    }
    if !elementwise {
        return Outcome::Unsupported {
            reason: format!("op {} (no runner for this op)", case.op),
        };
    }
    let quantizer = match quantizer_of(case) {
        Ok(quantizer) => quantizer,
        Err(error) if case.error => {
            return Outcome::RejectedAsExpected {
                message: error.to_string(),
            };
        }
        Err(error) => return Outcome::Failed { message: error },
    };
    if case.error {
        return Outcome::NotRejected;
    }
    match quantize_and_compare(manifest, backend, case, &quantizer) {
        Ok(outcome) => outcome,
        Err(message) => Outcome::Failed { message },
    }
}

fn quantize_and_compare<B: Backend>(
    manifest: &Manifest,
    backend: &B,
    case: &Case,
    quantizer: &Quantizer,
) -> Result<Outcome, String> {
    let input_name = case
        .input
        .as_str()
        .ok_or("element-wise case without a single input file")?;
    let input = manifest
        .read_vector(input_name)
        .map_err(|e| e.to_string())?;
    let expected_name = case
        .expected
        .as_deref()
        .ok_or("case without an expected file")?;
    let expected = manifest
        .read_vector(expected_name)
        .map_err(|e| e.to_string())?;
    let shape = case.shape.clone().unwrap_or_else(|| vec![input.len()]);
    let buffer = backend.upload(&input).map_err(|e| e.to_string())?;
    let output = backend
        .quantize(&buffer, &shape, quantizer)
        .map_err(|e| e.to_string())?;
    let got = pollster::block_on(backend.download(&output)).map_err(|e| e.to_string())?;
    Ok(compare(&input, &got, &expected))
}

fn gemm_and_compare<B: Backend>(
    manifest: &Manifest,
    backend: &B,
    case: &Case,
    spec: &GemmSpec,
) -> Result<Outcome, String> {
    let input = |name: &str| -> Result<Vec<f32>, String> {
        let file = case
            .input
            .get(name)
            .and_then(Value::as_str)
            .ok_or_else(|| format!("GEMM case without input `{name}`"))?;
        manifest.read_vector(file).map_err(|e| e.to_string())
    };
    let (a, b) = (input("a")?, input("b")?);
    let expected_name = case
        .expected
        .as_deref()
        .ok_or("case without an expected file")?;
    let expected = manifest
        .read_vector(expected_name)
        .map_err(|e| e.to_string())?;
    let a_buffer = backend.upload(&a).map_err(|e| e.to_string())?;
    let b_buffer = backend.upload(&b).map_err(|e| e.to_string())?;
    let output = backend
        .qgemm(&a_buffer, &b_buffer, spec)
        .map_err(|e| e.to_string())?;
    let got = pollster::block_on(backend.download(&output)).map_err(|e| e.to_string())?;
    Ok(compare(&[], &got, &expected))
}

/// Runs a `qlinear_forward` case through lowp-nn's `qlinear` on `device`.
fn qlinear_and_compare(
    manifest: &Manifest,
    device: &Device,
    case: &Case,
) -> Result<Outcome, String> {
    let formats = affine_formats_of(case)?;
    let shapes = case.shapes.as_ref().ok_or("qlinear case without shapes")?;
    let tensor = |name: &str| -> Result<Tensor, String> {
        let file = case
            .input
            .get(name)
            .and_then(Value::as_str)
            .ok_or_else(|| format!("qlinear case without input `{name}`"))?;
        let shape = shapes
            .get(name)
            .ok_or_else(|| format!("qlinear case without the shape of `{name}`"))?;
        let values = manifest.read_vector(file).map_err(|e| e.to_string())?;
        Tensor::from_vec(values, shape, device).map_err(|e| e.to_string())
    };
    let (x, weight) = (tensor("x")?, tensor("weight")?);
    let with_bias = case
        .params
        .get("bias")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let bias = if with_bias {
        Some(tensor("bias")?)
    } else {
        None
    };
    let expected_name = case
        .expected
        .as_deref()
        .ok_or("case without an expected file")?;
    let expected = manifest
        .read_vector(expected_name)
        .map_err(|e| e.to_string())?;
    let y = qlinear(&x, &weight, bias.as_ref(), &formats).map_err(|e| e.to_string())?;
    let got = y.to_vec().map_err(|e| e.to_string())?;
    Ok(compare(&[], &got, &expected))
}

/// The [`QAffineFormats`] of a `qlinear_forward` case: `fwd_add` / `fwd_mul` float formats
/// (`{exp, man, subnormals, saturate}`), `fwd_fma`, `fwd_rnd`, and the signal quantizers written
/// as `float_quantize(exp=E, man=M, ROUNDING, subnormals=B, saturate=B)`.
pub fn affine_formats_of(case: &Case) -> Result<QAffineFormats, String> {
    let params = &case.params;
    let float = |key: &str| -> Result<Option<Format>, String> {
        let Some(spec) = params.get(key).filter(|v| !v.is_null()) else {
            return Ok(None);
        };
        let field = |name: &str| {
            spec.get(name)
                .and_then(Value::as_u64)
                .and_then(|v| u32::try_from(v).ok())
                .ok_or_else(|| format!("`{key}` without `{name}`"))
        };
        let flag =
            |name: &str, default: bool| spec.get(name).and_then(Value::as_bool).unwrap_or(default);
        FloatingPoint::new(
            field("exp")?,
            field("man")?,
            flag("subnormals", true),
            flag("saturate", false),
        )
        .map(|f| Some(Format::Float(f)))
        .map_err(|e| e.to_string())
    };
    let rounding = |key: &str| -> Result<Rounding, String> {
        let name = params.get(key).and_then(Value::as_str).unwrap_or("nearest");
        Rounding::from_name(name, None, 1).map_err(|e| e.to_string())
    };
    let cast = |key: &str| -> Result<Option<Cast>, String> {
        match params.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) => parse_float_quantize(text).map(Some),
            Some(other) => Err(format!("`{key}` = {other} is not a quantizer description")),
        }
    };
    let fma = params
        .get("fwd_fma")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let fwd_mac = match (float("fwd_add")?, float("fwd_mul")?) {
        (Some(add), _) if fma => Some(Mac::Fma(add)),
        (Some(add), Some(mul)) => Some(Mac::Separate { add, mul }),
        (Some(add), None) => Some(Mac::same(add)),
        (None, _) => None,
    };
    Ok(QAffineFormats {
        fwd_mac,
        fwd_rnd: rounding("fwd_rnd")?,
        weight_quant: cast("weight_quant")?,
        bias_quant: cast("bias_quant")?,
        input_quant: cast("input_quant")?,
        output_quant: cast("output_quant")?,
        ..QAffineFormats::default()
    })
}

/// Parses `float_quantize(exp=E, man=M, ROUNDING, subnormals=True|False, saturate=True|False)`.
fn parse_float_quantize(text: &str) -> Result<Cast, String> {
    let body = text
        .trim()
        .strip_prefix("float_quantize(")
        .and_then(|rest| rest.strip_suffix(')'))
        .ok_or_else(|| format!("`{text}` is not float_quantize(...)"))?;
    let (mut exp, mut man, mut subnormals, mut saturate, mut rounding) =
        (None, None, true, false, "nearest");
    for item in body.split(',').map(str::trim) {
        match item.split_once('=') {
            Some((key, value)) => {
                let (key, value) = (key.trim(), value.trim());
                let number = || {
                    value
                        .parse::<u32>()
                        .map_err(|_| format!("`{item}` in `{text}`"))
                };
                let truth = || match value {
                    "True" | "true" => Ok(true),
                    "False" | "false" => Ok(false),
                    _ => Err(format!("`{item}` in `{text}`")),
                };
                match key {
                    "exp" => exp = Some(number()?),
                    "man" => man = Some(number()?),
                    "subnormals" => subnormals = truth()?,
                    "saturate" => saturate = truth()?,
                    "rounding" => rounding = value.trim_matches(['"', '\'']),
                    _ => return Err(format!("unknown key `{key}` in `{text}`")),
                }
            }
            None => rounding = item,
        }
    }
    let format = FloatingPoint::new(
        exp.ok_or_else(|| format!("`{text}` without exp"))?,
        man.ok_or_else(|| format!("`{text}` without man"))?,
        subnormals,
        saturate,
    )
    .map_err(|e| e.to_string())?;
    let format = Format::Float(format);
    let rounding = Rounding::from_name(rounding, None, format.default_stochastic_bits())
        .map_err(|e| e.to_string())?;
    Cast::new(format, rounding).map_err(|e| e.to_string())
}

/// Builds the GEMM of a `float_mm`, `float_bmm`, `fxp_mm` or `superfp_mm` case from its
/// mptorch-style parameters and shapes.
pub fn gemm_spec_of(case: &Case) -> Result<GemmSpec, String> {
    let params = &case.params;
    let int = |key: &str| -> Result<u32, String> {
        params
            .get(key)
            .and_then(Value::as_u64)
            .and_then(|v| u32::try_from(v).ok())
            .ok_or_else(|| format!("parameter `{key}` missing or not a small integer"))
    };
    let flag =
        |key: &str, default: bool| params.get(key).and_then(Value::as_bool).unwrap_or(default);
    let fmt_err = |e: FormatError| e.to_string();
    let float = |exp: u32, man: u32, subnormals: bool, saturate: bool| {
        FloatingPoint::new(exp, man, subnormals, saturate)
            .map(Format::Float)
            .map_err(fmt_err)
    };
    let binades = |key: &str| -> Result<(u32, u32), String> {
        match params.get(key) {
            Some(Value::Array(ends)) if ends.len() == 2 => {
                let end = |v: &Value| {
                    v.as_u64()
                        .and_then(|x| u32::try_from(x).ok())
                        .ok_or(format!("bad `{key}`"))
                };
                Ok((end(&ends[0])?, end(&ends[1])?))
            }
            _ => int(key).map(|b| (b, b)),
        }
    };
    let (subnormals, saturate) = (flag("subnormals", true), flag("saturate", false));
    let (mul, add) = match case.op.as_str() {
        "float_mm" | "float_bmm" => (
            float(int("exp_mul")?, int("man_mul")?, subnormals, saturate)?,
            float(int("exp_add")?, int("man_add")?, subnormals, saturate)?,
        ),
        "fxp_mm" => {
            let fixed = |wl: &str, fl: &str| -> Result<Format, String> {
                let fl = i32::try_from(int(fl)?).map_err(|_| "fl out of range".to_string())?;
                FixedPoint::new(int(wl)?, fl, true, flag("symmetric", false))
                    .map(Format::Fixed)
                    .map_err(fmt_err)
            };
            (fixed("wl_mul", "fl_mul")?, fixed("wl_add", "fl_add")?)
        }
        "superfp_mm" => {
            let superfp = |exp: &str, man: &str, binades_key: &str| -> Result<Format, String> {
                let (lo, hi) = binades(binades_key)?;
                SuperNormalFloat::new(int(exp)?, int(man)?, lo, hi, saturate)
                    .map(Format::SuperFp)
                    .map_err(fmt_err)
            };
            (
                superfp("exp_mul", "man_mul", "binades_mul")?,
                superfp("exp_add", "man_add", "binades_add")?,
            )
        }
        other => return Err(format!("op {other} is not a GEMM")),
    };
    let shapes = case.shapes.as_ref().ok_or("GEMM case without shapes")?;
    let (a_shape, b_shape) = match (shapes.get("a"), shapes.get("b")) {
        (Some(a), Some(b)) => (a, b),
        _ => return Err("GEMM case without shapes of a and b".to_string()),
    };
    let (batch, m, k, n) = match (a_shape.as_slice(), b_shape.as_slice()) {
        ([m, k], [k2, n]) if k == k2 => (1, *m, *k, *n),
        ([batch, m, k], [batch2, k2, n]) if k == k2 && batch == batch2 => (*batch, *m, *k, *n),
        _ => {
            return Err(format!(
                "incompatible GEMM shapes {a_shape:?} and {b_shape:?}"
            ));
        }
    };
    let mut spec = GemmSpec::new(batch, m, k, n, mul, add);
    let bits = match params.get("bits") {
        None | Some(Value::Null) => None,
        Some(value) => Some(
            value
                .as_u64()
                .and_then(|b| u32::try_from(b).ok())
                .ok_or("bad bits")?,
        ),
    };
    let name = params
        .get("rounding")
        .and_then(Value::as_str)
        .unwrap_or("nearest");
    spec.rounding = Rounding::from_name(name, bits, 1).map_err(fmt_err)?;
    if let Some(bits) = bits {
        (spec.mul_bits, spec.add_bits) = (bits, bits);
    }
    spec.fma = flag("fma", false);
    spec.seed = seed_of(params)?;
    if flag("compensated", false) {
        spec.accumulation = Accumulation::Compensated;
    }
    if let Some(blocked) = params.get("blocked").filter(|b| !b.is_null()) {
        let chunk = blocked
            .get("chunk")
            .and_then(Value::as_u64)
            .ok_or("blocked without chunk")? as usize;
        let outer = blocked.get("outer").ok_or("blocked without outer")?;
        let field = |key: &str| {
            outer
                .get(key)
                .and_then(Value::as_u64)
                .and_then(|v| u32::try_from(v).ok())
        };
        let outer_flag =
            |key: &str, default: bool| outer.get(key).and_then(Value::as_bool).unwrap_or(default);
        let outer = float(
            field("exp").ok_or("outer without exp")?,
            field("man").ok_or("outer without man")?,
            outer_flag("subnormals", true),
            outer_flag("saturate", false),
        )?;
        let outer_bits = bits.unwrap_or(outer.default_stochastic_bits());
        spec.accumulation = Accumulation::Blocked {
            chunk,
            outer,
            outer_bits,
        };
    }
    spec.validate().map_err(fmt_err)?;
    Ok(spec)
}

fn seed_of(params: &serde_json::Map<String, Value>) -> Result<u64, String> {
    match params.get("seed") {
        None | Some(Value::Null) => Ok(0),
        Some(Value::String(text)) => text
            .parse::<u64>()
            .map_err(|_| format!("seed `{text}` is not a u64")),
        Some(value) => value
            .as_u64()
            .ok_or_else(|| format!("seed {value} is not a u64")),
    }
}

/// Compares `got` with `expected` bit for bit (any NaN equals any NaN).
pub fn compare(input: &[f32], got: &[f32], expected: &[f32]) -> Outcome {
    if got.len() != expected.len() {
        return Outcome::Failed {
            message: format!(
                "{} outputs for {} expected values",
                got.len(),
                expected.len()
            ),
        };
    }
    let same = |a: f32, b: f32| a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan());
    let mut mismatches = got
        .iter()
        .zip(expected)
        .enumerate()
        .filter(|(_, (g, e))| !same(**g, **e));
    match mismatches.next() {
        None => Outcome::Pass {
            elements: expected.len(),
        },
        Some((index, (g, e))) => Outcome::Mismatch {
            count: 1 + mismatches.count(),
            elements: expected.len(),
            first: (
                index,
                input.get(index).map_or(0, |x| x.to_bits()),
                g.to_bits(),
                e.to_bits(),
            ),
        },
    }
}

/// Builds the quantizer of an element-wise case from its mptorch-style parameters.
pub fn quantizer_of(case: &Case) -> Result<Quantizer, String> {
    let params = &case.params;
    let int = |key: &str| -> Result<i64, String> {
        params
            .get(key)
            .and_then(Value::as_i64)
            .ok_or_else(|| format!("parameter `{key}` missing or not an integer"))
    };
    let unsigned = |key: &str| -> Result<u32, String> {
        u32::try_from(int(key)?).map_err(|_| format!("parameter `{key}` out of range"))
    };
    let flag =
        |key: &str, default: bool| params.get(key).and_then(Value::as_bool).unwrap_or(default);
    let fmt_err = |e: FormatError| e.to_string();
    let format = match case.op.as_str() {
        "float_quantize" => {
            if params.get("preset").and_then(Value::as_str) == Some("e4m3fn") {
                Format::Float(FloatingPoint::ocp_e4m3fn(
                    flag("subnormals", true),
                    flag("saturate", false),
                ))
            } else {
                Format::Float(
                    FloatingPoint::new(
                        unsigned("exp")?,
                        unsigned("man")?,
                        flag("subnormals", true),
                        flag("saturate", false),
                    )
                    .map_err(fmt_err)?,
                )
            }
        }
        "fixed_point_quantize" => Format::Fixed(
            FixedPoint::new(
                unsigned("wl")?,
                i32::try_from(int("fl")?).map_err(|_| "fl out of range".to_string())?,
                flag("clamp", true),
                flag("symmetric", false),
            )
            .map_err(fmt_err)?,
        ),
        "block_quantize" => Format::Block(
            BlockFloatingPoint::new(
                unsigned("wl")?,
                i32::try_from(int("dim")?).map_err(|_| "dim out of range".to_string())?,
            )
            .map_err(fmt_err)?,
        ),
        "binary8_quantize" | "binaryK_quantize" => {
            let k = if case.op == "binary8_quantize" {
                8
            } else {
                unsigned("K")?
            };
            let policy = params
                .get("overflow_policy")
                .and_then(Value::as_str)
                .unwrap_or("saturate_maxfloat");
            let overflow = OverflowPolicy::from_name(policy)
                .ok_or_else(|| format!("unknown overflow_policy `{policy}`"))?;
            Format::P3109(
                P3109::new(
                    k,
                    unsigned("P")?,
                    flag("is_signed", true),
                    flag("subnormals", true),
                    overflow,
                )
                .map_err(fmt_err)?,
            )
        }
        "superfp_quantize" => {
            let lo = unsigned("binades_l").or_else(|_| unsigned("binades"))?;
            let hi = unsigned("binades_u").or_else(|_| unsigned("binades"))?;
            Format::SuperFp(
                SuperNormalFloat::new(
                    unsigned("exp")?,
                    unsigned("man")?,
                    lo,
                    hi,
                    flag("saturate", false),
                )
                .map_err(fmt_err)?,
            )
        }
        other => return Err(format!("op {other} is not element-wise")),
    };
    let name = params
        .get("rounding")
        .and_then(Value::as_str)
        .unwrap_or("nearest");
    let bits = match params.get("bits") {
        None | Some(Value::Null) => None,
        Some(value) => Some(
            value
                .as_u64()
                .and_then(|b| u32::try_from(b).ok())
                .ok_or_else(|| format!("bits = {value} is not a small integer"))?,
        ),
    };
    let rounding =
        Rounding::from_name(name, bits, format.default_stochastic_bits()).map_err(fmt_err)?;
    let seed = match params.get("seed") {
        None | Some(Value::Null) => 0,
        Some(Value::String(text)) => text
            .parse::<u64>()
            .map_err(|_| format!("seed `{text}` is not a u64"))?,
        Some(value) => value
            .as_u64()
            .ok_or_else(|| format!("seed {value} is not a u64"))?,
    };
    Quantizer::new(format, rounding, seed).map_err(fmt_err)
}
