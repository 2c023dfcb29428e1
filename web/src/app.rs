//! The page: a header naming the compute backend, the format explorer, the tensor view, the
//! training view and the backend check.

use crate::backend::ComputeBackend;
use crate::components::check_panel::CheckPanel;
use crate::components::explorer::Explorer;
use crate::components::tensor_view::TensorView;
use crate::components::train_view::TrainView;
use leptos::prelude::*;
use leptos::task::spawn_local;
use std::rc::Rc;

/// The whole app. The compute backend is detected once at start (WebGPU, else CPU) and shown in
/// the header (`#backend`, with `data-backend` = `wgpu` / `cpu` / `detecting`).
#[component]
pub fn App() -> impl IntoView {
    let backend = RwSignal::new_local(None::<Rc<ComputeBackend>>);
    let backend_text = RwSignal::new("detecting…".to_string());
    spawn_local(async move {
        let (detected, text) = ComputeBackend::detect().await;
        backend_text.set(text);
        backend.set(Some(Rc::new(detected)));
    });
    let backend_name = move || {
        backend
            .with(|b| b.as_ref().map(|b| b.name()))
            .unwrap_or("detecting")
    };
    view! {
        <header class="top">
            <h1>"lowp"</h1>
            <span class="tagline">"low-precision number formats, bit by bit"</span>
            <span id="backend" class="backend" data-backend=backend_name title="compute backend of the tensor view">
                "backend: " {move || backend_text.get()}
            </span>
        </header>
        <main>
            <Explorer />
            <TensorView backend=backend />
            <TrainView backend=backend />
            <CheckPanel backend=backend adapter=backend_text />
        </main>
        <footer>
            "Numbers from lowp-formats (SEMANTICS.md), the same code as the lowp library and CLI. "
            "Digits: UCI Optical Recognition of Handwritten Digits (E. Alpaydin, C. Kaynak), CC BY 4.0."
        </footer>
    }
}
