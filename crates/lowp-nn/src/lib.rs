//! # lowp-nn
//!
//! The mptorch API on lowp tensors: number-format configs, quantized functional ops and
//! modules, losses. (Filled in by the following commits.)

pub mod data;
pub mod optim;
pub mod train;
