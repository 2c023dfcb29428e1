//! # lowp-formats
//!
//! The numeric core of lowp and its oracle: number formats (IEEE-like floats with the named
//! presets, OCP E4M3FN, fixed point, block floating point, P3109 Binary8/BinaryK, super-normal
//! floats), the rounding modes, Philox4x32-10 random words, and bit-exact scalar quantizers that
//! work on the binary32 bit pattern with integer operations only (no f64), so that the WGSL and
//! CUDA ports read line for line the same. `SEMANTICS.md` is the specification.
//!
//! ```
//! use lowp_formats::{Format, Quantizer, Rounding};
//! let e4m3: Format = "e4m3".parse().unwrap();
//! let q = Quantizer::new(e4m3, Rounding::Nearest, 0).unwrap();
//! assert_eq!(q.quantize_value(1.0625, 0).unwrap(), 1.0);
//! assert_eq!(q.quantize_value(1000.0, 0).unwrap(), f32::INFINITY);
//! ```
#![cfg_attr(not(feature = "std"), no_std)]
#![warn(missing_docs)]

extern crate alloc;

pub mod bits;
pub mod block;
pub mod error;
pub mod fixed;
pub mod float;
pub mod format;
pub mod gemm;
pub mod grid;
pub mod math;
pub mod ops;
pub mod p3109;
pub mod philox;
pub mod quantizer;
pub mod rounding;
pub mod spec;
pub mod superfp;

pub use block::BlockFloatingPoint;
pub use error::{FormatError, Result, check_shape};
pub use fixed::FixedPoint;
pub use float::{FloatKind, FloatingPoint};
pub use format::{CodeClass, Format, FormatInfo};
pub use gemm::{Accumulation, GemmSpec};
pub use grid::{FloatGrid, Special};
pub use ops::{BinaryOp, ReduceOp, UnaryOp};
pub use p3109::{OverflowPolicy, P3109};
pub use quantizer::Quantizer;
pub use rounding::{ROUNDING_NAMES, Rounding};
pub use superfp::SuperNormalFloat;
