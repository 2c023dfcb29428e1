//! The backend check panel: runs the cases of [`crate::check`] on the page's WebGPU backend and
//! on the CPU backend with the same inputs and shows a pass/fail table with counts.

use crate::backend::ComputeBackend;
use crate::check::{CaseResult, cases};
#[cfg(target_arch = "wasm32")]
use crate::check::{compare, run_case};
use leptos::prelude::*;
use leptos::task::spawn_local;
#[cfg(target_arch = "wasm32")]
use lowp_backend::CpuBackend;
use std::rc::Rc;

/// Runs every case, WebGPU against CPU, reporting each result as it comes.
#[cfg(target_arch = "wasm32")]
async fn run_all(backend: Rc<ComputeBackend>, results: RwSignal<Vec<CaseResult>>) {
    let ComputeBackend::Wgpu(gpu) = backend.as_ref() else {
        return;
    };
    let cpu = CpuBackend::new();
    for case in cases() {
        let reference = run_case(&cpu, &case).await;
        let tested = run_case(gpu.as_ref(), &case).await;
        results.update(|r| r.push(compare(&case, reference, tested)));
    }
}

/// Native builds have no WebGPU backend: nothing to compare (the cases are unit-tested on the
/// CPU backend in `check`).
#[cfg(not(target_arch = "wasm32"))]
async fn run_all(_backend: Rc<ComputeBackend>, _results: RwSignal<Vec<CaseResult>>) {}

/// The panel; `backend` is the detected compute backend and `adapter` its description.
#[component]
pub fn CheckPanel(
    backend: RwSignal<Option<Rc<ComputeBackend>>, LocalStorage>,
    adapter: RwSignal<String>,
) -> impl IntoView {
    let results = RwSignal::new(Vec::<CaseResult>::new());
    let running = RwSignal::new(false);
    let total = cases().len();
    let has_gpu = move || backend.with(|b| b.as_ref().is_some_and(|b| b.name() == "wgpu"));
    let start = move |_| {
        let Some(backend) = backend.get_untracked() else {
            return;
        };
        results.set(Vec::new());
        running.set(true);
        spawn_local(async move {
            run_all(backend, results).await;
            running.set(false);
        });
    };
    let summary = move || {
        results.with(|r| {
            let passed = r.iter().filter(|c| c.passed()).count();
            (passed, r.len() - passed, r.len())
        })
    };
    let rows = move || {
        results
            .get()
            .into_iter()
            .map(|result| {
                let passed = result.passed();
                let detail = match (&result.error, result.first_mismatch) {
                    (Some(e), _) => e.clone(),
                    (None, Some((index, expected, got))) => {
                        format!("first at {index}: CPU {expected:#010x}, WebGPU {got:#010x}")
                    }
                    (None, None) => String::new(),
                };
                view! {
                    <tr class="check-row" data-passed=passed.to_string()>
                        <td>{result.family}</td>
                        <td class="mono">{result.name.clone()}</td>
                        <td class="num">{result.elements}</td>
                        <td class="num">{result.mismatches}</td>
                        <td class=if passed { "pass" } else { "fail" }>{if passed { "pass" } else { "FAIL" }}</td>
                        <td class="small wrap">{detail}</td>
                    </tr>
                }
            })
            .collect_view()
    };
    view! {
        <section class="check" aria-labelledby="check-title">
            <h2 id="check-title">"Backend check"</h2>
            <p class="note">
                {format!("{total} cases of the Backend primitives (quantize in 9 formats × every rounding mode, \
                qgemm separate/fma/compensated/stochastic, unary and binary ops, reductions, layout ops, \
                im2col/col2im) on the page's WebGPU backend and on the CPU backend with the same inputs; \
                outputs compared bit for bit (any NaN equals any NaN, SEMANTICS.md).")}
            </p>
            <div class="check-controls">
                <button id="check-run" type="button" on:click=start
                    disabled=move || running.get() || !has_gpu()
                >"Run the check"</button>
                <span id="check-adapter" class="note" data-backend=move || backend.with(|b| b.as_ref().map_or("detecting", |b| b.name()))>
                    {move || if has_gpu() { adapter.get() } else { format!("No WebGPU: nothing to compare. {}", adapter.get()) }}
                </span>
            </div>
            <p id="check-summary" data-done=move || (!running.get() && summary().2 == total).to_string()
                data-passed=move || summary().0 data-failed=move || summary().1>
                {move || {
                    let (passed, failed, done) = summary();
                    format!("{done}/{total} cases run: {passed} pass, {failed} fail{}",
                        if running.get() { " (running…)" } else { "" })
                }}
            </p>
            <div class="check-table-wrap">
                <table class="check-table" id="check-table">
                    <thead><tr>
                        <th scope="col">"family"</th><th scope="col">"case"</th><th scope="col">"elements"</th>
                        <th scope="col">"differing"</th><th scope="col">"result"</th><th scope="col">"first difference"</th>
                    </tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        </section>
    }
}
