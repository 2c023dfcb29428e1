//! # lowp-web
//!
//! The lowp web app: a format explorer and a tensor view, a Leptos client-side app built for
//! wasm32 on the same crates as the library (lowp-formats for the numbers, lowp-backend and
//! lowp-wgpu for quantizing tensors). The pure logic lives in plain modules with native unit
//! tests (`cargo test` in web/); the components under [`components`] only render it.

pub mod app;
pub mod backend;
pub mod browser;
pub mod check;
pub mod codes;
pub mod components;
pub mod digits;
pub mod spec_params;
pub mod tensor;
pub mod text;
pub mod train_worker;
pub mod training;
pub mod values;
