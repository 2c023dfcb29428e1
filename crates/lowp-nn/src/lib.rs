//! # lowp-nn
//!
//! Neural networks in simulated low precision: data sets and loaders ([`data`]) and the
//! training driver's building blocks ([`train`]).

pub mod data;
pub mod train;
