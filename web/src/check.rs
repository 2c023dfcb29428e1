//! The backend self-check: a fixed set of Backend primitives run with the same inputs on two
//! backends (the page's WebGPU backend and lowp-backend's CPU backend), compared bit for bit.
//!
//! The cases cover quantize (several formats, every rounding mode including stochastic), qgemm
//! (separate, fused, compensated, stochastic), the unary and binary ops, reductions, select,
//! expand, concat, permute, gather, scatter_add, im2col and col2im. Inputs come from Philox
//! (seeded), with zeros, infinities, NaN and tiny values mixed in.

use crate::tensor::{Distribution, generate};
use lowp_backend::{Backend, ConvGeometry};
use lowp_formats::{
    Accumulation, BinaryOp, Format, GemmSpec, Quantizer, ROUNDING_NAMES, ReduceOp, Rounding,
    UnaryOp,
};

/// Format SPECs of the quantize cases.
pub const QUANTIZE_FORMATS: [&str; 9] = [
    "e4m3",
    "e5m2",
    "bf16",
    "fp16",
    "fixed(wl=8,fl=4)",
    "block(wl=8,dim=-1)",
    "binary8(p=3)",
    "binary8(p=4,signed=false)",
    "superfp(exp=4,man=3,binades=1)",
];

/// One primitive call with its inputs.
#[derive(Debug, Clone)]
pub enum Op {
    /// `quantize(x, shape, quantizer)`.
    Quantize(Quantizer),
    /// `qgemm(a, b, spec)`.
    Gemm(GemmSpec),
    /// `unary(op, x, shape, quantizer)`.
    Unary(UnaryOp, Option<Quantizer>),
    /// `binary(op, x, y, shape, quantizer)`.
    Binary(BinaryOp, Option<Quantizer>),
    /// `reduce(op, x, shape, axis, quantizer)`.
    Reduce(ReduceOp, usize, Option<Quantizer>),
    /// `select(x > 0, x, y)`.
    Select,
    /// `expand(row, [1, n], [rows, n])`.
    Expand,
    /// `concat([x, y], axis 1)`.
    Concat,
    /// `permute(x, [4, 5, 6], axes)`.
    Permute([usize; 3]),
    /// `gather(x, [rows, cols], axis, indices)`.
    Gather(usize, Vec<u32>),
    /// `scatter_add(x, [rows, cols], axis 0, indices, extent)`.
    ScatterAdd(Vec<u32>, usize),
    /// `im2col(x, geometry)`.
    Im2col(ConvGeometry),
    /// `col2im(columns, geometry)`.
    Col2im(ConvGeometry),
}

/// A named case of the check.
#[derive(Debug, Clone)]
pub struct Case {
    /// The family: `quantize`, `qgemm`, `unary`, ...
    pub family: &'static str,
    /// What exactly: `e4m3 stochastic`, ...
    pub name: String,
    /// The primitive.
    pub op: Op,
}

/// The shape of the element-wise inputs.
const ROWS: usize = 24;
const COLS: usize = 40;

/// Seeded inputs: `count` normal values times `scale`, with special values in the first slots.
pub fn inputs(count: usize, scale: f64, seed: u64) -> Vec<f32> {
    let mut values = generate(Distribution::Normal, count, scale, seed);
    let specials = [
        0.0,
        -0.0,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
        1.0e-40,
        -3.0e-39,
        65504.0,
        1.0e30,
        -0.5,
    ];
    for (slot, special) in values.iter_mut().zip(specials) {
        *slot = special;
    }
    values
}

fn geometry() -> ConvGeometry {
    ConvGeometry {
        batch: 2,
        channels: 3,
        groups: 1,
        input: vec![7, 6],
        kernel: vec![3, 2],
        stride: vec![2, 1],
        pad_before: vec![1, 0],
        pad_after: vec![1, 1],
        dilation: vec![1, 2],
    }
}

fn parse(spec: &str) -> Format {
    spec.parse().expect("the check's SPECs are valid")
}

/// Every case of the check.
pub fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for spec in QUANTIZE_FORMATS {
        let format = parse(spec);
        for name in ROUNDING_NAMES {
            let rounding = Rounding::from_name(name, None, format.default_stochastic_bits())
                .expect("a listed rounding name");
            // superfp only rounds to nearest (SEMANTICS.md); other modes are an error there.
            if let Ok(quantizer) = Quantizer::new(format, rounding, 42) {
                cases.push(Case {
                    family: "quantize",
                    name: format!("{spec} {name}"),
                    op: Op::Quantize(quantizer),
                });
            }
        }
    }
    let (e4m3, fp16, bf16) = (parse("e4m3"), parse("fp16"), parse("bf16"));
    let stochastic = |format: Format| {
        Rounding::from_name("stochastic", None, format.default_stochastic_bits()).expect("mode")
    };
    let gemm = |name: &str, change: &dyn Fn(&mut GemmSpec)| {
        let mut spec = GemmSpec::new(2, 13, 37, 11, e4m3, fp16);
        spec.seed = 7;
        change(&mut spec);
        Case {
            family: "qgemm",
            name: name.to_string(),
            op: Op::Gemm(spec),
        }
    };
    cases.push(gemm("e4m3×, fp16+ separate, nearest", &|_| {}));
    cases.push(gemm("bf16 fma, nearest", &|s| {
        s.mul = bf16;
        s.add = bf16;
        s.fma = true;
    }));
    cases.push(gemm("fp16 compensated, nearest", &|s| {
        s.mul = fp16;
        s.accumulation = Accumulation::Compensated;
    }));
    cases.push(gemm("e4m3×, bf16+ separate, stochastic", &|s| {
        s.add = bf16;
        s.rounding = stochastic(bf16);
    }));
    cases.push(gemm("bf16 fma, stochastic, transposed", &|s| {
        s.mul = bf16;
        s.add = bf16;
        s.fma = true;
        s.rounding = stochastic(bf16);
        s.transpose_a = true;
        s.transpose_b = true;
    }));
    let bf16_nearest = Quantizer::nearest(bf16);
    for (op, name) in [
        (UnaryOp::Neg, "neg"),
        (UnaryOp::Abs, "abs"),
        (UnaryOp::Sqrt, "sqrt"),
        (UnaryOp::Exp, "exp"),
        (UnaryOp::Log, "log"),
        (UnaryOp::Tanh, "tanh"),
        (UnaryOp::Erf, "erf"),
    ] {
        for quantizer in [None, Some(bf16_nearest)] {
            cases.push(Case {
                family: "unary",
                name: format!("{name}{}", if quantizer.is_some() { " → bf16" } else { "" }),
                op: Op::Unary(op, quantizer),
            });
        }
    }
    let fp16_stochastic = Quantizer::new(fp16, stochastic(fp16), 9).expect("fp16 stochastic");
    for (op, name) in [
        (BinaryOp::Add, "add"),
        (BinaryOp::Sub, "sub"),
        (BinaryOp::Mul, "mul"),
        (BinaryOp::Div, "div"),
        (BinaryOp::Pow, "pow"),
        (BinaryOp::Max, "max"),
        (BinaryOp::Min, "min"),
        (BinaryOp::Greater, "greater"),
        (BinaryOp::LessEqual, "less-equal"),
        (BinaryOp::Equal, "equal"),
    ] {
        for (quantizer, suffix) in [(None, ""), (Some(fp16_stochastic), " → fp16 SR")] {
            cases.push(Case {
                family: "binary",
                name: format!("{name}{suffix}"),
                op: Op::Binary(op, quantizer),
            });
        }
    }
    for (op, name) in [
        (ReduceOp::Sum, "sum"),
        (ReduceOp::Mean, "mean"),
        (ReduceOp::Max, "max"),
    ] {
        for axis in [0, 1] {
            for quantizer in [None, Some(bf16_nearest)] {
                cases.push(Case {
                    family: "reduce",
                    name: format!(
                        "{name} axis {axis}{}",
                        if quantizer.is_some() { " → bf16" } else { "" }
                    ),
                    op: Op::Reduce(op, axis, quantizer),
                });
            }
        }
    }
    let layout = |name: &str, op: Op| Case {
        family: "layout",
        name: name.to_string(),
        op,
    };
    cases.push(layout("select", Op::Select));
    cases.push(layout("expand", Op::Expand));
    cases.push(layout("concat", Op::Concat));
    cases.push(layout("permute [2,0,1]", Op::Permute([2, 0, 1])));
    cases.push(layout("permute [1,2,0]", Op::Permute([1, 2, 0])));
    cases.push(layout("gather axis 0", Op::Gather(0, vec![3, 0, 23, 3, 7])));
    cases.push(layout(
        "gather axis 1",
        Op::Gather(1, vec![39, 1, 1, 0, 20, 5]),
    ));
    cases.push(layout(
        "scatter_add (duplicates)",
        Op::ScatterAdd((0..ROWS as u32).map(|i| (i * 7) % 5).collect(), 6),
    ));
    cases.push(layout("im2col 2-d", Op::Im2col(geometry())));
    cases.push(layout("col2im 2-d", Op::Col2im(geometry())));
    cases
}

fn failed(error: impl core::fmt::Display) -> String {
    error.to_string()
}

/// Runs `case` on `backend` and downloads the result.
pub async fn run_case<B: Backend>(backend: &B, case: &Case) -> Result<Vec<f32>, String> {
    let shape = [ROWS, COLS];
    let x_values = inputs(ROWS * COLS, 3.0, 11);
    let x = backend.upload(&x_values).map_err(failed)?;
    let y = backend
        .upload(&inputs(ROWS * COLS, 2.0, 12))
        .map_err(failed)?;
    let output = match &case.op {
        Op::Quantize(quantizer) => backend.quantize(&x, &shape, quantizer),
        Op::Gemm(spec) => {
            let (a_len, b_len, _) = spec.sizes();
            let a = backend.upload(&inputs(a_len, 1.0, 21)).map_err(failed)?;
            let b = backend.upload(&inputs(b_len, 1.0, 22)).map_err(failed)?;
            backend.qgemm(&a, &b, spec)
        }
        Op::Unary(op, quantizer) => backend.unary(*op, &x, &shape, quantizer.as_ref()),
        Op::Binary(op, quantizer) => backend.binary(*op, &x, &y, &shape, quantizer.as_ref()),
        Op::Reduce(op, axis, quantizer) => {
            backend.reduce(*op, &x, &shape, *axis, quantizer.as_ref())
        }
        Op::Select => {
            let condition = backend
                .binary(BinaryOp::Greater, &x, &y, &shape, None)
                .map_err(failed)?;
            backend.select(&condition, &x, &y)
        }
        Op::Expand => {
            let row = backend.upload(&x_values[..COLS]).map_err(failed)?;
            backend.expand(&row, &[1, COLS], &shape)
        }
        Op::Concat => backend.concat(&[(&x, &shape[..]), (&y, &shape[..])], 1),
        Op::Permute(axes) => {
            let x = backend.upload(&x_values[..120]).map_err(failed)?;
            backend.permute(&x, &[4, 5, 6], axes)
        }
        Op::Gather(axis, indices) => backend.gather(&x, &shape, *axis, indices),
        Op::ScatterAdd(indices, extent) => backend.scatter_add(&x, &shape, 0, indices, *extent),
        Op::Im2col(geometry) => {
            let len = geometry.batch * geometry.channels * geometry.input.iter().product::<usize>();
            let x = backend.upload(&inputs(len, 1.0, 31)).map_err(failed)?;
            backend.im2col(&x, geometry)
        }
        Op::Col2im(geometry) => {
            let x = backend
                .upload(&inputs(2 * 3 * 7 * 6, 1.0, 31))
                .map_err(failed)?;
            let columns = backend.im2col(&x, geometry).map_err(failed)?;
            backend.col2im(&columns, geometry)
        }
    }
    .map_err(failed)?;
    backend.download(&output).await.map_err(failed)
}

/// How one case compared.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseResult {
    /// The case's family.
    pub family: &'static str,
    /// The case's name.
    pub name: String,
    /// Output elements compared.
    pub elements: usize,
    /// Elements whose bits differ (NaN equals NaN; all of them when the lengths differ).
    pub mismatches: usize,
    /// The first differing element: `(index, reference bits, tested bits)`.
    pub first_mismatch: Option<(usize, u32, u32)>,
    /// An error of either backend.
    pub error: Option<String>,
}

impl CaseResult {
    /// Whether the outputs agree bit for bit.
    pub fn passed(&self) -> bool {
        self.error.is_none() && self.mismatches == 0
    }
}

/// Whether two outputs agree: the same bits, or both NaN (SEMANTICS.md: any NaN equals any NaN;
/// the payload and sign of a NaN are not part of the contract).
pub fn same_bits(a: f32, b: f32) -> bool {
    a.to_bits() == b.to_bits() || a.is_nan() && b.is_nan()
}

/// Compares the outputs of `case` on the `reference` and the `tested` backend, bit for bit.
pub fn compare(
    case: &Case,
    reference: Result<Vec<f32>, String>,
    tested: Result<Vec<f32>, String>,
) -> CaseResult {
    let mut result = CaseResult {
        family: case.family,
        name: case.name.clone(),
        elements: 0,
        mismatches: 0,
        first_mismatch: None,
        error: None,
    };
    match (reference, tested) {
        (Err(e), _) => result.error = Some(format!("reference: {e}")),
        (_, Err(e)) => result.error = Some(format!("tested: {e}")),
        (Ok(expected), Ok(got)) => {
            result.elements = expected.len();
            if expected.len() != got.len() {
                result.mismatches = expected.len().max(got.len());
                result.error = Some(format!(
                    "{} elements, expected {}",
                    got.len(),
                    expected.len()
                ));
            }
            for (index, (e, g)) in expected.iter().zip(&got).enumerate() {
                if !same_bits(*e, *g) {
                    result.mismatches += 1;
                    result
                        .first_mismatch
                        .get_or_insert((index, e.to_bits(), g.to_bits()));
                }
            }
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run_now;
    use lowp_backend::CpuBackend;

    #[test]
    fn every_case_runs_on_the_cpu_backend() {
        let cpu = CpuBackend::new();
        let cases = cases();
        let families = ["quantize", "qgemm", "unary", "binary", "reduce", "layout"];
        for family in families {
            assert!(cases.iter().any(|c| c.family == family), "{family}");
        }
        // superfp has only round-to-nearest; the other 8 formats have all 7 modes.
        assert_eq!(
            cases.iter().filter(|c| c.family == "quantize").count(),
            8 * 7 + 1
        );
        for case in &cases {
            let out =
                run_now(run_case(&cpu, case)).unwrap_or_else(|e| panic!("{}: {e}", case.name));
            assert!(!out.is_empty(), "{}", case.name);
        }
    }

    #[test]
    fn the_cases_agree_with_the_scalar_reference() {
        let cpu = CpuBackend::new();
        for case in cases() {
            let expected = match &case.op {
                Op::Quantize(q) => q.quantize_slice(&inputs(ROWS * COLS, 3.0, 11), &[ROWS, COLS]),
                Op::Gemm(spec) => {
                    let (a, b, _) = spec.sizes();
                    lowp_formats::gemm::reference(&inputs(a, 1.0, 21), &inputs(b, 1.0, 22), spec)
                }
                _ => continue,
            }
            .unwrap();
            let result = compare(&case, Ok(expected), run_now(run_case(&cpu, &case)));
            assert!(result.passed(), "{result:?}");
            assert_eq!(
                result.elements,
                run_now(run_case(&cpu, &case)).unwrap().len()
            );
        }
    }

    #[test]
    fn compare_counts_differing_bits_and_lengths() {
        let case = &cases()[0];
        let same = compare(case, Ok(vec![1.0, f32::NAN]), Ok(vec![1.0, -f32::NAN]));
        assert!(same.passed());
        assert!(!compare(case, Ok(vec![f32::NAN]), Ok(vec![f32::INFINITY])).passed());
        let signed_zero = compare(case, Ok(vec![0.0, 1.0, 2.0]), Ok(vec![-0.0, 1.0, 3.0]));
        assert_eq!(signed_zero.mismatches, 2);
        assert_eq!(signed_zero.first_mismatch, Some((0, 0, 0x8000_0000)));
        assert!(!compare(case, Ok(vec![1.0]), Ok(vec![1.0, 2.0])).passed());
        assert!(!compare(case, Ok(vec![1.0]), Err("lost".into())).passed());
    }
}
