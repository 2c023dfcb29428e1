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

/// Runs a future that never waits (the CPU backend completes at once): how the native unit tests
/// drive the crate's async code.
#[cfg(test)]
pub(crate) fn run_now<F: core::future::Future>(future: F) -> F::Output {
    use core::task::{Context, Poll, Waker};
    let mut future = core::pin::pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the CPU backend does not wait"),
    }
}
