//! The parameter blocks of the GPU kernels: `#[repr(C)]` mirrors of the structs of
//! `shaders/common.wgsl` and `kernels/common.cuh` and of the op families' shaders and kernels
//! (the two are alike line for line), derived on the CPU from a [`Quantizer`]. Every field is a
//! `u32` or `i32` and every struct is a multiple of 16 bytes, so the layout is the same in a WGSL
//! uniform buffer and a CUDA kernel argument.

use crate::Result;
use bytemuck::{Pod, Zeroable};
use lowp_formats::{
    Accumulation, BinaryOp, FloatGrid, Format, GemmSpec, Quantizer, ReduceOp, Rounding, Special,
    UnaryOp,
};

/// Kind code of float, OCP e4m3fn and P3109 formats (`KIND_GRID`).
pub const KIND_GRID: u32 = 0;
/// Kind code of fixed point (`KIND_FIXED`).
pub const KIND_FIXED: u32 = 1;
/// Kind code of superfp (`KIND_SUPERFP`).
pub const KIND_SUPERFP: u32 = 2;
/// Kind code of block floating point (`KIND_BLOCK`).
pub const KIND_BLOCK: u32 = 3;

/// `Grid`: a [`FloatGrid`].
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct GridParams {
    /// `FloatGrid::emin`.
    pub emin: i32,
    /// `FloatGrid::man`.
    pub man: u32,
    /// `FloatGrid::subnormals` (0 or 1).
    pub subnormals: u32,
    /// `FloatGrid::max_bits`.
    pub max_bits: u32,
    /// `FloatGrid::overflow` as a special code (0 Inf, 1 max, 2 NaN).
    pub overflow: u32,
    /// `FloatGrid::infinity` as a special code.
    pub infinity: u32,
    /// `FloatGrid::signed_zero` (0 or 1).
    pub signed_zero: u32,
    /// `FloatGrid::unsigned` (0 or 1).
    pub is_unsigned: u32,
}

/// `Fixed`: a fixed point format with its clamp bounds precomputed.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct FixedParams {
    /// Fractional bits (the grid is `2^-fl`).
    pub fl: i32,
    /// Whether results are clamped (0 or 1).
    pub clamp: u32,
    /// `FixedPoint::upper_bits`.
    pub upper_bits: u32,
    /// `FixedPoint::lower_bits`.
    pub lower_bits: u32,
}

/// `SuperFp`: a super-normal float with its exponents precomputed.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct SuperFpParams {
    /// Mantissa bits.
    pub man: u32,
    /// `SuperNormalFloat::bias`.
    pub bias: i32,
    /// `SuperNormalFloat::min_exp`.
    pub min_exp: i32,
    /// `SuperNormalFloat::max_exp`.
    pub max_exp: i32,
    /// `SuperNormalFloat::lowest_power`.
    pub lowest_power: i32,
    /// `SuperNormalFloat::top`.
    pub top: i32,
    /// Whether overflow saturates (0 or 1).
    pub saturate: u32,
    /// Padding to 16 bytes.
    pub pad0: u32,
}

/// `Quantizer`: the format family, rounding mode, random bits, seed and the family's fields
/// (the other families' fields stay zero).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct QuantizerParams {
    /// One of [`KIND_GRID`], [`KIND_FIXED`], [`KIND_SUPERFP`], [`KIND_BLOCK`].
    pub kind: u32,
    /// [`Rounding::code`].
    pub mode: u32,
    /// [`Rounding::random_bits`] (0 for deterministic modes).
    pub bits: u32,
    /// Low 32 bits of the stochastic-rounding seed.
    pub seed_lo: u32,
    /// High 32 bits of the seed.
    pub seed_hi: u32,
    /// Block formats: the mantissa word length.
    pub block_wl: u32,
    /// Padding.
    pub pad0: u32,
    /// Padding.
    pub pad1: u32,
    /// Float, e4m3fn and P3109 formats.
    pub grid: GridParams,
    /// Fixed point formats.
    pub fixed: FixedParams,
    /// Superfp formats.
    pub superfp: SuperFpParams,
}

fn special_code(special: Special) -> u32 {
    match special {
        Special::Infinity => 0,
        Special::Max => 1,
        Special::NaN => 2,
    }
}

fn grid_params(grid: &FloatGrid) -> GridParams {
    GridParams {
        emin: grid.emin,
        man: grid.man,
        subnormals: grid.subnormals as u32,
        max_bits: grid.max_bits,
        overflow: special_code(grid.overflow),
        infinity: special_code(grid.infinity),
        signed_zero: grid.signed_zero as u32,
        is_unsigned: grid.unsigned as u32,
    }
}

impl QuantizerParams {
    /// The parameters of `quantizer` (any format, block formats included).
    pub fn new(quantizer: &Quantizer) -> Self {
        let rounding: Rounding = quantizer.rounding();
        let seed = quantizer.seed();
        let mut params = Self {
            mode: rounding.code(),
            bits: rounding.random_bits(),
            seed_lo: seed as u32,
            seed_hi: (seed >> 32) as u32,
            ..Self::default()
        };
        match quantizer.format() {
            Format::Float(f) => {
                params.kind = KIND_GRID;
                params.grid = grid_params(&f.grid());
            }
            Format::P3109(p) => {
                params.kind = KIND_GRID;
                params.grid = grid_params(&p.grid());
            }
            Format::Fixed(f) => {
                params.kind = KIND_FIXED;
                params.fixed = FixedParams {
                    fl: f.fl(),
                    clamp: f.clamp() as u32,
                    upper_bits: f.upper_bits(),
                    lower_bits: f.lower_bits(),
                };
            }
            Format::SuperFp(s) => {
                params.kind = KIND_SUPERFP;
                params.superfp = SuperFpParams {
                    man: s.man(),
                    bias: s.bias(),
                    min_exp: s.min_exp(),
                    max_exp: s.max_exp(),
                    lowest_power: s.lowest_power(),
                    top: s.top(),
                    saturate: s.saturate() as u32,
                    pad0: 0,
                };
            }
            Format::Block(b) => {
                params.kind = KIND_BLOCK;
                params.block_wl = b.wl();
            }
        }
        params
    }

    /// `(parameters, apply)` of the optional output quantizer of an element-wise kernel:
    /// `apply` is 1 when the kernel rounds its results with `quantizer`, 0 when there is none or
    /// when it is a block format (one exponent per block: applied afterwards by the block
    /// kernels, the parameters then stay zero).
    pub fn elementwise(quantizer: Option<&Quantizer>) -> (Self, u32) {
        match quantizer {
            Some(q) if !matches!(q.format(), Format::Block(_)) => (Self::new(q), 1),
            _ => (Self::default(), 0),
        }
    }
}

/// `Dispatch`: one dispatch over a chunk of a tensor.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct DispatchParams {
    /// Elements in the chunk.
    pub count: u32,
    /// Invocations per row of the 2-D grid (workgroups in x times the workgroup size).
    pub row_width: u32,
    /// Low 32 bits of the flat index of the chunk's first element.
    pub base_lo: u32,
    /// High 32 bits of that index.
    pub base_hi: u32,
}

/// `QuantizeParams` (`quantize.wgsl`, `quantize.cu`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct QuantizeParams {
    /// The chunk.
    pub dispatch: DispatchParams,
    /// The quantizer.
    pub quantizer: QuantizerParams,
}

/// `BlockLayout` (`block.wgsl`, `block.cu`): which block each element of a chunk lies in.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct BlockLayoutParams {
    /// Block of the chunk's first element.
    pub first_block: u32,
    /// Elements of the chunk before the next block starts (saturated to `u32::MAX`).
    pub until_next: u32,
    /// Elements per run of one block: the product of the axes after the block axis (saturated).
    pub inner: u32,
    /// Number of blocks (1: the whole tensor is one block).
    pub extent: u32,
}

impl BlockLayoutParams {
    /// The layout of the chunk starting at flat index `base` for blocks `(i / inner) % extent`
    /// (`inner >= 1`, `1 <= extent <= u32::MAX`).
    pub fn for_chunk(base: u64, inner: u64, extent: u64) -> Self {
        let saturate = |x: u64| u32::try_from(x).unwrap_or(u32::MAX);
        Self {
            first_block: ((base / inner) % extent) as u32,
            until_next: saturate(inner - base % inner),
            inner: saturate(inner),
            extent: extent as u32,
        }
    }
}

/// `BlockParams` (`block.wgsl`, `block.cu`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct BlockParams {
    /// The chunk.
    pub dispatch: DispatchParams,
    /// The quantizer (kind [`KIND_BLOCK`]).
    pub quantizer: QuantizerParams,
    /// The chunk's block layout.
    pub blocks: BlockLayoutParams,
}

/// `MoveParams` (`movement.wgsl`, `movement.cu`): one dispatch of a data-movement kernel.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct MoveParams {
    /// Elements of the dispatch.
    pub count: u32,
    /// Invocations per row of the 2-D grid.
    pub row_width: u32,
    /// Flat index of the dispatch's first element.
    pub base: u32,
    /// `strided_copy`: axes of the domain.
    pub rank: u32,
    /// `strided_copy`: source offset of the domain's first element.
    pub src_base: u32,
    /// `strided_copy`: destination offset of the domain's first element.
    pub dst_base: u32,
    /// `strided_copy`: the axis indexed through the table (`u32::MAX`: none).
    pub table_axis: u32,
    /// Padding to 16 bytes.
    pub pad0: u32,
}

/// `GemmShape` (`gemm.wgsl`, `gemm.cu`): the shape, mode and this dispatch's place in the batch
/// and the grid.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct GemmShapeParams {
    /// Rows of A and C.
    pub m: u32,
    /// The reduction length.
    pub k: u32,
    /// Columns of B and C.
    pub n: u32,
    /// A is stored K×M (0 or 1).
    pub transpose_a: u32,
    /// B is stored N×K (0 or 1).
    pub transpose_b: u32,
    /// FMA mode (0 or 1).
    pub fma: u32,
    /// 0 sequential, 1 compensated, 2 blocked.
    pub accumulation: u32,
    /// Blocked: steps of k per chunk (clamped to k).
    pub chunk: u32,
    /// Stochastic rounding (0 or 1).
    pub stochastic: u32,
    /// Low 32 bits of the seed.
    pub seed_lo: u32,
    /// High 32 bits of the seed.
    pub seed_hi: u32,
    /// Offset of the dispatch's first batch entry in the bound range of A.
    pub a_base: u32,
    /// Same for B.
    pub b_base: u32,
    /// Same for C.
    pub c_base: u32,
    /// First row tile of the dispatch.
    pub row_tile0: u32,
    /// First column tile of the dispatch.
    pub col_tile0: u32,
    /// Low 32 bits of the flat index of the dispatch's first output element.
    pub o_lo: u32,
    /// High 32 bits of that index.
    pub o_hi: u32,
    /// Distance between the flat indices of two rows of C (N: a piece of C keeps the flat
    /// indices, and so the random words, of the whole product; WGSL only, CUDA never splits C).
    pub o_row: u32,
    /// Always 0: WGSL's contraction barrier (`math_opaque`; unused on CUDA).
    pub opaque: u32,
}

/// `GemmParams` (`gemm.wgsl`, `gemm.cu`): the mul, add and outer (blocked) quantizers and the shape.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct GemmParams {
    /// Rounds each product (separate mode).
    pub mul: QuantizerParams,
    /// Rounds each accumulation step.
    pub add: QuantizerParams,
    /// Rounds the outer accumulator of blocked accumulation.
    pub outer: QuantizerParams,
    /// Shape and mode.
    pub shape: GemmShapeParams,
}

/// Accumulation code of sequential accumulation (`ACC_SEQUENTIAL` in gemm.wgsl and gemm.cu).
pub const ACC_SEQUENTIAL: u32 = 0;
/// Accumulation code of compensated (Kahan) accumulation (`ACC_COMPENSATED`).
pub const ACC_COMPENSATED: u32 = 1;
/// Accumulation code of blocked accumulation (`ACC_BLOCKED`).
pub const ACC_BLOCKED: u32 = 2;

/// The parameters of a GEMM quantizer: `format` rounded with `rounding`, a stochastic mode
/// taking `bits` random bits (the GEMM draws its own words: the seed stays 0).
fn gemm_quantizer(format: &Format, rounding: Rounding, bits: u32) -> Result<QuantizerParams> {
    let rounding = match rounding {
        Rounding::Stochastic { .. } => Rounding::Stochastic { bits },
        other => other,
    };
    Ok(QuantizerParams::new(&Quantizer::new(*format, rounding, 0)?))
}

impl GemmParams {
    /// The parameters of `spec` for a dispatch at the start of the product (the backends set
    /// the batch, tile and output offsets per dispatch): the mul, add and outer quantizers with
    /// their stochastic bits, the shape (narrowed to 32 bits: the backends check M, K and N
    /// first) and the mode. The outer quantizer is the add quantizer except under blocked
    /// accumulation; a blocked chunk is clamped to `1 ..= K`.
    pub fn new(spec: &GemmSpec) -> Result<Self> {
        let (accumulation, chunk, outer) = match spec.accumulation {
            Accumulation::Sequential => (ACC_SEQUENTIAL, 1, spec.add),
            Accumulation::Compensated => (ACC_COMPENSATED, 1, spec.add),
            Accumulation::Blocked { chunk, outer, .. } => {
                (ACC_BLOCKED, chunk.clamp(1, spec.k.max(1)) as u32, outer)
            }
        };
        let outer_bits = match spec.accumulation {
            Accumulation::Blocked { outer_bits, .. } => outer_bits,
            _ => spec.add_bits,
        };
        Ok(Self {
            mul: gemm_quantizer(&spec.mul, spec.rounding, spec.mul_bits)?,
            add: gemm_quantizer(&spec.add, spec.rounding, spec.add_bits)?,
            outer: gemm_quantizer(&outer, spec.rounding, outer_bits)?,
            shape: GemmShapeParams {
                m: spec.m as u32,
                k: spec.k as u32,
                n: spec.n as u32,
                transpose_a: spec.transpose_a as u32,
                transpose_b: spec.transpose_b as u32,
                fma: spec.fma as u32,
                accumulation,
                chunk,
                stochastic: matches!(spec.rounding, Rounding::Stochastic { .. }) as u32,
                seed_lo: spec.seed as u32,
                seed_hi: (spec.seed >> 32) as u32,
                ..GemmShapeParams::default()
            },
        })
    }
}

/// `OpsParams` (`ops.wgsl`, `ops.cu`): element-wise operations and select.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct OpsParams {
    /// The chunk.
    pub dispatch: DispatchParams,
    /// The output quantizer (used when `apply_quantizer` is 1).
    pub quantizer: QuantizerParams,
    /// The operation's code (the order of `UnaryOp` / `BinaryOp`).
    pub op: u32,
    /// Whether the kernel applies `quantizer` (0 or 1; block formats are applied afterwards).
    pub apply_quantizer: u32,
    /// Always 0: the operand of WGSL's contraction barrier (unused by CUDA).
    pub opaque: u32,
    /// Padding.
    pub pad0: u32,
}

/// The code of `op` in ops.wgsl and ops.cu (`OP_NEG` 0 ... `OP_ERF` 6: the order of
/// [`UnaryOp`]).
pub fn unary_code(op: UnaryOp) -> u32 {
    match op {
        UnaryOp::Neg => 0,
        UnaryOp::Abs => 1,
        UnaryOp::Sqrt => 2,
        UnaryOp::Exp => 3,
        UnaryOp::Log => 4,
        UnaryOp::Tanh => 5,
        UnaryOp::Erf => 6,
    }
}

/// The code of `op` in ops.wgsl and ops.cu (`OP_ADD` 0 ... `OP_EQUAL` 11: the order of
/// [`BinaryOp`]).
pub fn binary_code(op: BinaryOp) -> u32 {
    match op {
        BinaryOp::Add => 0,
        BinaryOp::Sub => 1,
        BinaryOp::Mul => 2,
        BinaryOp::Div => 3,
        BinaryOp::Pow => 4,
        BinaryOp::Max => 5,
        BinaryOp::Min => 6,
        BinaryOp::Greater => 7,
        BinaryOp::GreaterEqual => 8,
        BinaryOp::Less => 9,
        BinaryOp::LessEqual => 10,
        BinaryOp::Equal => 11,
    }
}

/// The code of `op` in reduce.wgsl and reduce.cu (`REDUCE_SUM` 0, `REDUCE_MEAN` 1,
/// `REDUCE_MAX` 2).
pub fn reduce_code(op: ReduceOp) -> u32 {
    match op {
        ReduceOp::Sum => 0,
        ReduceOp::Mean => 1,
        ReduceOp::Max => 2,
    }
}

impl OpsParams {
    /// One dispatch of operation code `op` ([`unary_code`], [`binary_code`]; 0 for select)
    /// with the optional output quantizer ([`QuantizerParams::elementwise`]).
    pub fn new(dispatch: DispatchParams, op: u32, quantizer: Option<&Quantizer>) -> Self {
        let (quantizer, apply_quantizer) = QuantizerParams::elementwise(quantizer);
        Self {
            dispatch,
            quantizer,
            op,
            apply_quantizer,
            opaque: 0,
            pad0: 0,
        }
    }
}

/// `ReduceParams` (`reduce.wgsl`, `reduce.cu`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct ReduceParams {
    /// The chunk of output elements.
    pub dispatch: DispatchParams,
    /// The quantizer of every step (used when `apply_quantizer` is 1).
    pub quantizer: QuantizerParams,
    /// 0 Sum, 1 Mean, 2 Max.
    pub op: u32,
    /// Whether a quantizer applies (0 or 1).
    pub apply_quantizer: u32,
    /// Always 0: the operand of WGSL's contraction barrier (unused by CUDA).
    pub opaque: u32,
    /// Length of the reduced axis.
    pub len: u32,
    /// That length as binary32 bits (`len as f32`, rounded on the CPU).
    pub len_bits: u32,
    /// Source distance between steps k and k + 1 (the product of the axes after the reduced one).
    pub inner: u32,
    /// Outputs of the piece per row of the axes before the reduced one.
    pub columns: u32,
    /// Source distance between two such rows (`len · inner`, wrapping: one row when larger).
    pub row_step: u32,
    /// Source offset, in the bound window, of the piece's first output at its first step.
    pub source_base: u32,
    /// The piece's first step: when above 0 the piece continues the partial results already in
    /// the output.
    pub first_step: u32,
    /// Steps of the piece.
    pub steps: u32,
    /// The piece's index of the dispatch's first output.
    pub local_base: u32,
    /// Offset of the dispatch's first output in the bound result window.
    pub result_base: u32,
    /// Padding.
    pub pad0: u32,
    /// Padding.
    pub pad1: u32,
    /// Padding.
    pub pad2: u32,
}

impl ReduceParams {
    /// One dispatch of reduction `op` over `[outer, len, inner]` (an axis of `len` steps with
    /// `inner` elements after it) taking the whole tensor as one piece: every output from step 0
    /// to `len`, source offsets from 0, result offsets from the dispatch's own. A per-step
    /// quantizer applies when given (element-wise formats: [`QuantizerParams::elementwise`]).
    /// WGSL's bounded bindings split a large reduction into pieces by overriding the piece
    /// fields.
    pub fn new(
        dispatch: DispatchParams,
        op: ReduceOp,
        len: usize,
        inner: usize,
        quantizer: Option<&Quantizer>,
    ) -> Self {
        let (quantizer, apply_quantizer) = QuantizerParams::elementwise(quantizer);
        Self {
            dispatch,
            quantizer,
            op: reduce_code(op),
            apply_quantizer,
            opaque: 0,
            len: len as u32,
            len_bits: (len as f32).to_bits(),
            inner: inner as u32,
            columns: inner.max(1) as u32,
            row_step: (len as u64 * inner as u64) as u32,
            source_base: 0,
            first_step: 0,
            steps: len as u32,
            ..Self::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lowp_formats::{BlockFloatingPoint, FloatingPoint};

    #[test]
    fn gemm_params_are_multiples_of_16() {
        assert_eq!(size_of::<GemmShapeParams>(), 80);
        assert_eq!(size_of::<GemmParams>(), 3 * 112 + 80);
    }

    #[test]
    fn sizes_are_multiples_of_16() {
        assert_eq!(size_of::<GridParams>(), 32);
        assert_eq!(size_of::<FixedParams>(), 16);
        assert_eq!(size_of::<SuperFpParams>(), 32);
        assert_eq!(size_of::<QuantizerParams>(), 112);
        assert_eq!(size_of::<QuantizeParams>(), 128);
        assert_eq!(size_of::<BlockParams>(), 144);
    }

    #[test]
    fn block_layout_matches_the_flat_formula() {
        for (inner, extent) in [(1u64, 5u64), (3, 4), (7, 1), (12, 3)] {
            for base in [0u64, 1, 2, 5, 11, 36, 37, 100] {
                let layout = BlockLayoutParams::for_chunk(base, inner, extent);
                for j in 0..50u32 {
                    let expected = ((base + u64::from(j)) / inner) % extent;
                    // The kernels' block_of, in Rust.
                    let got = if layout.extent <= 1 {
                        0
                    } else if j < layout.until_next {
                        layout.first_block
                    } else {
                        let steps = ((j - layout.until_next) / layout.inner) % layout.extent;
                        let mut next = layout.first_block + 1;
                        if next == layout.extent {
                            next = 0;
                        }
                        let sum = next.wrapping_add(steps);
                        if sum >= layout.extent || sum < next {
                            sum.wrapping_sub(layout.extent)
                        } else {
                            sum
                        }
                    };
                    assert_eq!(
                        u64::from(got),
                        expected,
                        "inner {inner} extent {extent} base {base} j {j}"
                    );
                }
            }
        }
    }

    #[test]
    fn op_codes_follow_the_order_of_the_op_enums() {
        for (i, op) in UnaryOp::ALL.into_iter().enumerate() {
            assert_eq!(unary_code(op) as usize, i, "{op:?}");
        }
        for (i, op) in BinaryOp::ALL.into_iter().enumerate() {
            assert_eq!(binary_code(op) as usize, i, "{op:?}");
        }
        for (i, op) in ReduceOp::ALL.into_iter().enumerate() {
            assert_eq!(reduce_code(op) as usize, i, "{op:?}");
        }
    }

    #[test]
    fn kernels_apply_element_wise_quantizers_and_leave_block_formats() {
        let dispatch = DispatchParams {
            count: 5,
            row_width: 256,
            base_lo: 7,
            base_hi: 0,
        };
        let e4m3 = Quantizer::new(
            Format::Float(FloatingPoint::new(4, 3, true, false).unwrap()),
            Rounding::Nearest,
            0,
        )
        .unwrap();
        let block = Quantizer::new(
            Format::Block(BlockFloatingPoint::new(8, 0).unwrap()),
            Rounding::Nearest,
            0,
        )
        .unwrap();
        let ops = OpsParams::new(dispatch, 3, Some(&e4m3));
        assert_eq!(
            (ops.dispatch, ops.op, ops.apply_quantizer),
            (dispatch, 3, 1)
        );
        assert_eq!(ops.quantizer, QuantizerParams::new(&e4m3));
        for quantizer in [None, Some(&block)] {
            let ops = OpsParams::new(dispatch, 3, quantizer);
            assert_eq!(ops.apply_quantizer, 0);
            assert_eq!(ops.quantizer, QuantizerParams::default());
        }
        let reduce = ReduceParams::new(dispatch, ReduceOp::Mean, 6, 4, Some(&e4m3));
        assert_eq!((reduce.op, reduce.apply_quantizer), (1, 1));
        assert_eq!((reduce.len, reduce.len_bits), (6, 6.0f32.to_bits()));
        assert_eq!((reduce.inner, reduce.columns, reduce.row_step), (4, 4, 24));
        assert_eq!((reduce.first_step, reduce.steps), (0, 6));
        let scalar_rows = ReduceParams::new(dispatch, ReduceOp::Sum, 6, 0, None);
        assert_eq!((scalar_rows.columns, scalar_rows.apply_quantizer), (1, 0));
    }

    #[test]
    fn gemm_params_carry_the_spec_with_each_steps_random_bits() {
        let fp = |exp, man| Format::Float(FloatingPoint::new(exp, man, true, false).unwrap());
        let mut spec = GemmSpec::new(2, 3, 10, 5, fp(4, 3), fp(5, 10));
        spec.rounding = Rounding::Stochastic { bits: 13 };
        spec.mul_bits = 9;
        spec.add_bits = 11;
        spec.seed = 0x1234_5678_9ABC_DEF0;
        spec.transpose_b = true;
        spec.accumulation = Accumulation::Blocked {
            chunk: 64,
            outer: fp(8, 23),
            outer_bits: 7,
        };
        let params = GemmParams::new(&spec).unwrap();
        assert_eq!(
            (params.mul.bits, params.add.bits, params.outer.bits),
            (9, 11, 7)
        );
        assert_eq!((params.mul.grid.man, params.outer.grid.man), (3, 23));
        assert_eq!((params.mul.seed_lo, params.mul.seed_hi), (0, 0));
        let shape = params.shape;
        assert_eq!((shape.m, shape.k, shape.n), (3, 10, 5));
        assert_eq!((shape.transpose_a, shape.transpose_b, shape.fma), (0, 1, 0));
        assert_eq!((shape.accumulation, shape.chunk), (ACC_BLOCKED, 10));
        assert_eq!(shape.stochastic, 1);
        assert_eq!((shape.seed_lo, shape.seed_hi), (0x9ABC_DEF0, 0x1234_5678));
        spec.accumulation = Accumulation::Compensated;
        spec.rounding = Rounding::Nearest;
        let params = GemmParams::new(&spec).unwrap();
        assert_eq!(params.outer, params.add);
        assert_eq!(
            (params.shape.accumulation, params.shape.chunk),
            (ACC_COMPENSATED, 1)
        );
        assert_eq!((params.shape.stochastic, params.add.bits), (0, 0));
    }
}
