//! The CUDA C sources of the backend, from the repository's top-level `kernels/` folder, and their
//! NVRTC compilation.
//!
//! Every module is `kernels/common.cuh` (the quantizers and Philox, ported line for line from
//! `shaders/common.wgsl`), then `kernels/math.cuh` for the families that need lowp's portable
//! math, then one op family's file; [`module_source`] builds it exactly as the backend compiles
//! it, so tests can compile the same text without a GPU.

/// `kernels/common.cuh`: WGSL vocabulary, parameter structs, the scalar quantizers, Philox4x32-10.
pub const COMMON: &str = include_str!("../../../kernels/common.cuh");
/// `kernels/math.cuh`: the correctly rounded fma/div/sqrt and exp/log/tanh/erf/pow.
pub const MATH: &str = include_str!("../../../kernels/math.cuh");

/// The NVRTC options of every module (SEMANTICS.md §1): no contraction into FMA, no
/// flush-to-zero, IEEE division and square root.
pub const NVRTC_OPTIONS: [&str; 4] = [
    "--fmad=false",
    "--ftz=false",
    "--prec-div=true",
    "--prec-sqrt=true",
];

/// An op family: one file of `kernels/`, compiled into one module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// `quantize.cu`: element-wise quantize.
    Quantize,
    /// `block.cu`: block floating point (per-block maxima, then rounding).
    Block,
    /// `gemm.cu`: quantized GEMM.
    Gemm,
    /// `ops.cu`: unary and binary element-wise operations and select.
    Ops,
    /// `reduce.cu`: reductions.
    Reduce,
    /// `movement.cu`: permute, expand, slice, concat, gather, scatter_add, im2col, col2im.
    Movement,
    /// `convert.cu`: binary32 to binary16/bfloat16 storage and back, for the cuBLAS fast path.
    Convert,
}

impl Family {
    /// Every family.
    pub const ALL: [Family; 7] = [
        Family::Quantize,
        Family::Block,
        Family::Gemm,
        Family::Ops,
        Family::Reduce,
        Family::Movement,
        Family::Convert,
    ];

    /// The family's file name inside `kernels/`.
    pub fn file_name(&self) -> &'static str {
        match self {
            Family::Quantize => "quantize.cu",
            Family::Block => "block.cu",
            Family::Gemm => "gemm.cu",
            Family::Ops => "ops.cu",
            Family::Reduce => "reduce.cu",
            Family::Movement => "movement.cu",
            Family::Convert => "convert.cu",
        }
    }

    /// The family's own source (without [`COMMON`] and [`MATH`]).
    pub fn source(&self) -> &'static str {
        match self {
            Family::Quantize => include_str!("../../../kernels/quantize.cu"),
            Family::Block => include_str!("../../../kernels/block.cu"),
            Family::Gemm => include_str!("../../../kernels/gemm.cu"),
            Family::Ops => include_str!("../../../kernels/ops.cu"),
            Family::Reduce => include_str!("../../../kernels/reduce.cu"),
            Family::Movement => include_str!("../../../kernels/movement.cu"),
            Family::Convert => include_str!("../../../kernels/convert.cu"),
        }
    }

    /// Whether the module includes [`MATH`].
    pub fn needs_math(&self) -> bool {
        matches!(self, Family::Ops | Family::Reduce)
    }

    /// The `extern "C"` kernels of the family's module.
    pub fn entry_points(&self) -> &'static [&'static str] {
        match self {
            Family::Quantize => &["quantize"],
            Family::Block => &["block_max", "block_apply"],
            Family::Gemm => &["gemm", "gemm_nearest_grid", "gemm_stochastic_grid"],
            Family::Ops => &["unary", "binary", "select_values"],
            Family::Reduce => &["reduce"],
            Family::Movement => &["strided_copy", "scatter_add", "im2col", "col2im"],
            Family::Convert => &["to_half", "to_bfloat16", "half_to_float"],
        }
    }
}

/// The complete module source of `family`: [`COMMON`], [`MATH`] when needed, then the file.
pub fn module_source(family: Family) -> String {
    let mut source = String::with_capacity(COMMON.len() + MATH.len() + family.source().len() + 128);
    source.push_str(COMMON);
    if family.needs_math() {
        source.push_str("\n// ---- math.cuh ----\n\n");
        source.push_str(MATH);
    }
    source.push_str("\n// ---- ");
    source.push_str(family.file_name());
    source.push_str(" ----\n\n");
    source.push_str(family.source());
    source
}

/// Compiles `family` to PTX for the virtual architecture `compute_<arch>` (e.g. `"90"`) with
/// [`NVRTC_OPTIONS`]; the error carries NVRTC's log. Needs libnvrtc at run time (loaded
/// dynamically); call [`nvrtc_available`] first, as cudarc panics when the library is missing.
#[cfg(not(target_arch = "wasm32"))]
pub fn compile_ptx(family: Family, arch: &str) -> Result<cudarc::nvrtc::Ptx, String> {
    let mut options: Vec<String> = NVRTC_OPTIONS.iter().map(|o| o.to_string()).collect();
    options.push(format!("--gpu-architecture=compute_{arch}"));
    options.push("--std=c++17".to_string());
    let opts = cudarc::nvrtc::CompileOptions {
        options,
        name: Some(family.file_name().to_string()),
        ..Default::default()
    };
    cudarc::nvrtc::compile_ptx_with_opts(module_source(family), opts).map_err(|error| match error {
        cudarc::nvrtc::CompileError::CompileError { nvrtc, log, .. } => format!(
            "NVRTC failed on {} ({nvrtc:?}):\n{}",
            family.file_name(),
            log.to_string_lossy()
        ),
        other => format!("NVRTC failed on {}: {other}", family.file_name()),
    })
}

/// Whether libnvrtc can be loaded (cudarc's dynamic loading; it searches `LD_LIBRARY_PATH`).
#[cfg(not(target_arch = "wasm32"))]
pub fn nvrtc_available() -> bool {
    // SAFETY: only tries to open the shared library.
    unsafe { cudarc::nvrtc::sys::is_culib_present() }
}
