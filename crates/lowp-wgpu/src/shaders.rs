//! The WGSL sources of the backend, from the repository's top-level `shaders/` folder.
//!
//! Every pipeline's module is [`COMMON`] (the quantizers and Philox, ported line for line from
//! lowp-formats) followed by one op family's file; [`module_source`] builds it exactly as the
//! backend compiles it, so tests can validate the same text without an adapter.

/// `shaders/common.wgsl`: constants, parameter structs, the scalar quantizers and Philox4x32-10.
pub const COMMON: &str = include_str!("../../../shaders/common.wgsl");

/// An op family: one WGSL file compiled together with [`COMMON`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// `shaders/quantize.wgsl`: element-wise quantize (entry point `quantize`).
    Quantize,
    /// `shaders/block.wgsl`: block floating point (entry points `block_max`, `block_apply`).
    Block,
}

impl Family {
    /// Every family, in the order the backend creates their pipelines.
    pub const ALL: [Family; 2] = [Family::Quantize, Family::Block];

    /// The family's file name inside `shaders/`.
    pub fn file_name(&self) -> &'static str {
        match self {
            Family::Quantize => "quantize.wgsl",
            Family::Block => "block.wgsl",
        }
    }

    /// The family's own source (without [`COMMON`]).
    pub fn source(&self) -> &'static str {
        match self {
            Family::Quantize => include_str!("../../../shaders/quantize.wgsl"),
            Family::Block => include_str!("../../../shaders/block.wgsl"),
        }
    }

    /// The compute entry points of the family's module.
    pub fn entry_points(&self) -> &'static [&'static str] {
        match self {
            Family::Quantize => &["quantize"],
            Family::Block => &["block_max", "block_apply"],
        }
    }
}

/// The complete module source of `family`: [`COMMON`], then the family's file.
pub fn module_source(family: Family) -> String {
    let mut source = String::with_capacity(COMMON.len() + family.source().len() + 64);
    source.push_str(COMMON);
    source.push_str("\n// ---- ");
    source.push_str(family.file_name());
    source.push_str(" ----\n\n");
    source.push_str(family.source());
    source
}
