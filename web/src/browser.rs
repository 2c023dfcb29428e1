//! The two browser services that the page and the training worker share: a clock and a way to
//! let the event loop run. Both work in a window and in a dedicated worker; on native builds
//! (the unit tests) the clock reads 0 and yielding returns at once.

/// Milliseconds of the global `performance` clock (0 outside a browser).
pub fn now() -> f64 {
    #[cfg(target_arch = "wasm32")]
    {
        use wasm_bindgen::JsCast;
        js_sys::Reflect::get(&js_sys::global(), &"performance".into())
            .ok()
            .and_then(|performance| performance.dyn_into::<web_sys::Performance>().ok())
            .map_or(0.0, |performance| performance.now())
    }
    #[cfg(not(target_arch = "wasm32"))]
    0.0
}

/// Resolves in a later task (`setTimeout(0)` of the window or of the worker), so that the
/// event loop runs in between: rendering and input on the page, messages in a worker.
pub async fn next_task() {
    #[cfg(target_arch = "wasm32")]
    {
        use wasm_bindgen::JsCast;
        let promise = js_sys::Promise::new(&mut |resolve, _| {
            let global = js_sys::global();
            if let Some(window) = global.dyn_ref::<web_sys::Window>() {
                let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 0);
            } else if let Some(worker) = global.dyn_ref::<web_sys::WorkerGlobalScope>() {
                let _ = worker.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 0);
            } else {
                let _ = resolve.call0(&wasm_bindgen::JsValue::UNDEFINED);
            }
        });
        let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
    }
}
