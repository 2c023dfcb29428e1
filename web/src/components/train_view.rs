//! The training view: the digits MLP trained under chosen format sets, live loss and accuracy
//! curves of every run side by side, per-layer weight and gradient histograms.
//!
//! Every run steps in a dedicated Web Worker of its own ([`crate::train_worker`]), on the CPU
//! backend or on a WebGPU device that the worker opens, so the page's thread only draws the
//! results that the worker posts back, and several runs step in parallel.
//!
//! The longest step is shown (`#train-slice`), and each run row says where it ran
//! (`data-executor` = `worker`).

use crate::backend::ComputeBackend;
use crate::components::train_chart::{LayerHistogramChart, TrainChart};
use crate::train_worker::{FromWorker, ToWorker, WorkerDevice};
use crate::training::{
    EpochFigures, LayerHistograms, MacKind, TRAIN_ROUNDINGS, TrainSettings, loss_fingerprint,
};
use leptos::prelude::*;
use std::rc::Rc;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::Closure;

/// Series colours, one per run in order (then again).
pub const COLOURS: [&str; 8] = [
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2",
];

/// What a run is doing.
#[derive(Debug, Clone, PartialEq)]
pub enum RunState {
    /// Stepping.
    Running,
    /// Stopped by the user; can resume.
    Stopped,
    /// All epochs done.
    Finished,
    /// Failed with this error.
    Failed(String),
}

impl RunState {
    fn name(&self) -> &'static str {
        match self {
            RunState::Running => "running",
            RunState::Stopped => "stopped",
            RunState::Finished => "finished",
            RunState::Failed(_) => "failed",
        }
    }
}

/// The signals a run's results go to.
#[derive(Clone, Copy)]
struct RunSignals {
    losses: RwSignal<Vec<(u64, f32)>>,
    evals: RwSignal<Vec<EpochFigures>>,
    histograms: RwSignal<Vec<LayerHistograms>>,
    state: RwSignal<RunState>,
    busy: RwSignal<bool>,
    longest_slice: RwSignal<f64>,
}

impl RunSignals {
    /// Shows one message of a run's worker.
    fn show(&self, message: FromWorker) {
        match message {
            FromWorker::Looping { on } => self.busy.set(on),
            FromWorker::Step {
                step,
                loss_bits,
                millis,
            } => {
                self.losses
                    .update(|losses| losses.push((step, f32::from_bits(loss_bits))));
                self.longest_slice
                    .update(|longest| *longest = longest.max(millis));
            }
            FromWorker::Epoch { .. } => {
                if let Some(figures) = message.figures() {
                    self.evals.update(|evals| evals.push(figures));
                }
            }
            FromWorker::Histograms { layers } => self.histograms.set(layers),
            FromWorker::Finished => self.state.set(RunState::Finished),
            FromWorker::Failed { error } => self.state.set(RunState::Failed(error)),
        }
    }
}

/// A run's dedicated worker (`train-worker.js`), seen from the page; dropping it ends the
/// worker.
struct TrainWorker {
    worker: web_sys::Worker,
    _on_message: Closure<dyn FnMut(web_sys::MessageEvent)>,
    _on_error: Closure<dyn FnMut(web_sys::ErrorEvent)>,
}

impl TrainWorker {
    /// Starts a worker that trains `settings` on `device` and shows its messages in `signals`.
    fn start(
        settings: TrainSettings,
        device: WorkerDevice,
        signals: RunSignals,
    ) -> Result<Self, String> {
        let options = web_sys::WorkerOptions::new();
        options.set_type(web_sys::WorkerType::Module);
        let worker = web_sys::Worker::new_with_options("train-worker.js", &options)
            .map_err(|error| format!("cannot start a training worker: {error:?}"))?;
        let on_message = Closure::<dyn FnMut(_)>::new(move |event: web_sys::MessageEvent| {
            let message = event
                .data()
                .as_string()
                .ok_or_else(|| "a worker message that is not text".to_string())
                .and_then(|text| FromWorker::from_json(&text));
            match message {
                Ok(message) => signals.show(message),
                Err(error) => signals.state.set(RunState::Failed(error)),
            }
        });
        let on_error = Closure::<dyn FnMut(_)>::new(move |event: web_sys::ErrorEvent| {
            signals.busy.set(false);
            signals.state.set(RunState::Failed(format!(
                "training worker: {}",
                event.message()
            )));
        });
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        let started = Self {
            worker,
            _on_message: on_message,
            _on_error: on_error,
        };
        started.post(&ToWorker::Start {
            settings: Box::new(settings),
            device,
        });
        Ok(started)
    }

    /// Sends `message` to the worker.
    fn post(&self, message: &ToWorker) {
        let _ = self.worker.post_message(&message.to_json().into());
    }
}

impl Drop for TrainWorker {
    fn drop(&mut self) {
        self.worker.terminate();
    }
}

/// One run as the page sees it: its signals and its worker.
#[derive(Clone)]
pub struct RunHandle {
    /// Run number from 0 (its colour).
    pub id: usize,
    /// The format set, as a label.
    pub label: String,
    /// `wgpu` or `cpu`.
    pub device: &'static str,
    /// Steps of the whole run.
    pub total_steps: u64,
    /// `(step, loss)` of every step so far.
    pub losses: RwSignal<Vec<(u64, f32)>>,
    /// Test figures after each epoch.
    pub evals: RwSignal<Vec<EpochFigures>>,
    /// Latest weight and gradient histograms.
    pub histograms: RwSignal<Vec<LayerHistograms>>,
    /// What it is doing.
    pub state: RwSignal<RunState>,
    /// Whether its stepping loop is alive (a stopped run's loop ends after the step in flight).
    pub busy: RwSignal<bool>,
    worker: Rc<TrainWorker>,
}

impl RunHandle {
    /// The run's series colour.
    pub fn colour(&self) -> &'static str {
        COLOURS[self.id % COLOURS.len()]
    }

    /// Stops the run after the step in flight (if it is running).
    fn stop(&self) {
        if self.state.get_untracked() == RunState::Running {
            self.state.set(RunState::Stopped);
            self.worker.post(&ToWorker::Stop);
        }
    }

    /// Ends the run for good: its worker is terminated.
    fn end(&self) {
        self.stop();
        self.worker.worker.terminate();
    }

    /// Sets the run running again: its worker is told to resume.
    fn resume(&self) {
        self.state.set(RunState::Running);
        self.worker.post(&ToWorker::Resume);
    }
}

/// A labelled text field bound to `value`.
fn text_field(
    id: &'static str,
    label: &'static str,
    value: RwSignal<String>,
    class: &'static str,
) -> impl IntoView {
    view! {
        <label>
            {label} " "
            <input id=id type="text" class=class spellcheck="false"
                prop:value=move || value.get()
                on:change=move |ev| value.set(event_target_value(&ev))
            />
        </label>
    }
}

/// The training section; `backend` is the detected compute backend (WebGPU or CPU).
#[component]
pub fn TrainView(backend: RwSignal<Option<Rc<ComputeBackend>>, LocalStorage>) -> impl IntoView {
    let defaults = TrainSettings::default();
    let mac = RwSignal::new(defaults.mac.name().to_string());
    let mac_mul = RwSignal::new(defaults.mac_mul.clone());
    let mac_add = RwSignal::new(defaults.mac_add.clone());
    let weight_quant = RwSignal::new(defaults.weight_quant.clone());
    let input_quant = RwSignal::new(defaults.input_quant.clone());
    let grad_quant = RwSignal::new(defaults.grad_quant.clone());
    let output_quant = RwSignal::new(defaults.output_quant.clone());
    let master_weights = RwSignal::new(defaults.master_weights.clone());
    let rounding = RwSignal::new(defaults.rounding.clone());
    let optimizer = RwSignal::new(defaults.optimizer.clone());
    let lr = RwSignal::new(defaults.lr.to_string());
    let hidden = RwSignal::new(defaults.hidden.to_string());
    let batch_size = RwSignal::new(defaults.batch_size.to_string());
    let train_samples = RwSignal::new(defaults.train_samples.to_string());
    let epochs = RwSignal::new(defaults.epochs.to_string());
    let seed = RwSignal::new(defaults.seed.to_string());
    let device_choice = RwSignal::new("auto".to_string());

    let settings = Memo::new(move |_| -> Result<TrainSettings, String> {
        let number = |text: String, what: &str| -> Result<f64, String> {
            text.trim()
                .parse::<f64>()
                .map_err(|_| format!("{what} must be a number"))
        };
        let whole = |text: String, what: &str| -> Result<u64, String> {
            text.trim()
                .parse::<u64>()
                .map_err(|_| format!("{what} must be a whole number"))
        };
        let settings = TrainSettings {
            mac: MacKind::from_name(&mac.get()).unwrap_or(MacKind::Fp32),
            mac_mul: mac_mul.get(),
            mac_add: mac_add.get(),
            weight_quant: weight_quant.get(),
            input_quant: input_quant.get(),
            grad_quant: grad_quant.get(),
            output_quant: output_quant.get(),
            rounding: rounding.get(),
            optimizer: optimizer.get(),
            master_weights: master_weights.get(),
            lr: number(lr.get(), "learning rate")? as f32,
            hidden: whole(hidden.get(), "hidden width")? as usize,
            batch_size: whole(batch_size.get(), "batch size")? as usize,
            train_samples: whole(train_samples.get(), "training samples")? as usize,
            epochs: u32::try_from(whole(epochs.get(), "epochs")?)
                .map_err(|_| "epochs: too many".to_string())?,
            seed: whole(seed.get(), "seed")?,
        };
        settings.validate()?;
        Ok(settings)
    });

    let runs = RwSignal::new_local(Vec::<RunHandle>::new());
    let start_error = RwSignal::new(String::new());
    let longest_slice = RwSignal::new(0.0f64);
    let shown = RwSignal::new(0usize);

    let device_name = move || {
        let detected = backend.with(|b| b.as_ref().map_or("cpu", |b| b.name()));
        if device_choice.get() == "cpu" {
            "cpu"
        } else {
            detected
        }
    };

    let add_run = move |_| {
        let Ok(settings) = settings.get_untracked() else {
            return;
        };
        let Some(detected) = backend.get_untracked() else {
            start_error.set("the compute backend is still being detected".into());
            return;
        };
        let (device, device_label) =
            if device_choice.get_untracked() == "cpu" || detected.name() == "cpu" {
                (WorkerDevice::Cpu, "cpu")
            } else {
                (WorkerDevice::Wgpu, "wgpu")
            };
        let signals = RunSignals {
            losses: RwSignal::new(Vec::new()),
            evals: RwSignal::new(Vec::new()),
            histograms: RwSignal::new(Vec::new()),
            state: RwSignal::new(RunState::Running),
            busy: RwSignal::new(false),
            longest_slice,
        };
        match TrainWorker::start(settings.clone(), device, signals) {
            Ok(worker) => {
                start_error.set(String::new());
                let id = runs.with_untracked(Vec::len);
                let run = RunHandle {
                    id,
                    label: settings.label(),
                    device: device_label,
                    total_steps: settings.total_steps(),
                    losses: signals.losses,
                    evals: signals.evals,
                    histograms: signals.histograms,
                    state: signals.state,
                    busy: signals.busy,
                    worker: Rc::new(worker),
                };
                runs.update(|runs| runs.push(run));
                shown.set(id);
            }
            Err(e) => start_error.set(e),
        }
    };
    let stop_all = move |_| runs.with_untracked(|runs| runs.iter().for_each(RunHandle::stop));
    let resume_all = move |_| {
        runs.with_untracked(|runs| {
            for run in runs {
                if run.state.get_untracked() == RunState::Stopped {
                    run.resume();
                }
            }
        })
    };
    let clear = move |_| {
        runs.with_untracked(|runs| runs.iter().for_each(RunHandle::end));
        runs.set(Vec::new());
        longest_slice.set(0.0);
        shown.set(0);
    };

    let settings_error = move || settings.get().err().unwrap_or_default();
    let any_running =
        move || runs.with(|runs| runs.iter().any(|r| r.state.get() == RunState::Running));
    let any_stopped =
        move || runs.with(|runs| runs.iter().any(|r| r.state.get() == RunState::Stopped));

    let run_rows = move || {
        runs.get()
            .into_iter()
            .map(|run| {
                let (losses, evals, state, busy) = (run.losses, run.evals, run.state, run.busy);
                let summary = move || {
                    losses.with(|losses| {
                        let mean = |part: &[(u64, f32)]| {
                            part.iter().map(|(_, l)| f64::from(*l)).sum::<f64>()
                                / part.len().max(1) as f64
                        };
                        // Mean losses of the first and the last (up to) 10 steps, the two
                        // windows never overlapping.
                        let n = (losses.len() / 2).clamp(1, 10).min(losses.len());
                        (mean(&losses[..n]), mean(&losses[losses.len() - n..]), losses.len())
                    })
                };
                let accuracy = move || {
                    evals.with(|e| {
                        e.last()
                            .map_or("–".to_string(), |f| format!("{:.1}%", 100.0 * f.accuracy))
                    })
                };
                let toggle_run = run.clone();
                let toggle = move |_| {
                    if toggle_run.state.get_untracked() == RunState::Running {
                        toggle_run.stop();
                    } else if toggle_run.state.get_untracked() == RunState::Stopped {
                        toggle_run.resume();
                    }
                };
                let (id, total) = (run.id, run.total_steps);
                view! {
                    <tr class="run-row" data-run=id data-device=run.device data-executor="worker"
                        data-state=move || state.get().name()
                        data-busy=move || busy.get().to_string()
                        data-steps=move || summary().2
                        data-first-loss=move || format!("{:.5}", summary().0)
                        data-last-loss=move || format!("{:.5}", summary().1)
                        data-epochs=move || evals.with(Vec::len)
                        data-loss-fingerprint=move || losses.with(|l| format!("{:016x}", loss_fingerprint(l.iter().map(|(_, v)| *v))))
                    >
                        <td><span class="swatch" style=format!("background:{}", run.colour())></span></td>
                        <td class="mono small wrap">{run.label.clone()}</td>
                        <td>{format!("{} · worker", run.device)}</td>
                        <td class="num">{move || format!("{}/{total}", summary().2)}</td>
                        <td class="num">{move || format!("{:.3}", summary().1)}</td>
                        <td class="num">{accuracy}</td>
                        <td title=move || match state.get() { RunState::Failed(e) => e, _ => String::new() }>
                            {move || state.get().name()}
                        </td>
                        <td>
                            <button class="run-toggle" type="button"
                                disabled=move || matches!(state.get(), RunState::Finished | RunState::Failed(_))
                                on:click=toggle
                            >
                                {move || if state.get() == RunState::Running { "stop" } else { "resume" }}
                            </button>
                            <button class="run-show" type="button"
                                aria-pressed=move || (shown.get() == id).to_string()
                                on:click=move |_| shown.set(id)
                            >"histograms"</button>
                        </td>
                    </tr>
                }
            })
            .collect_view()
    };

    let histograms = move || {
        let run = runs.with(|runs| runs.get(shown.get()).cloned())?;
        let layers = run.histograms.get();
        Some(view! {
            <p class="note">
                {format!("Run {}: {}. Filled bars: weights; outlined: the last weight gradients; bar height √count.", run.id + 1, run.label)}
            </p>
            <div class="layer-histograms">
                {layers
                    .into_iter()
                    .map(|layer| view! {
                        <figure class="layer-histogram">
                            <figcaption>{layer.name.clone()}</figcaption>
                            <LayerHistogramChart weight=layer.weight grad=layer.grad colour=run.colour() />
                        </figure>
                    })
                    .collect_view()}
            </div>
        })
    };

    view! {
        <section class="train" aria-labelledby="train-title">
            <h2 id="train-title">"Training"</h2>
            <p class="note">
                "The digits MLP (64 → hidden → 10, lowp-nn QLinear and QOptimizer) on the embedded "
                "digits (up to 1,437 training samples, 360 test samples). Each run adds a coloured series."
            </p>
            <div class="train-controls">
                <fieldset>
                    <legend>"MAC"</legend>
                    <label>
                        "kind "
                        <select id="train-mac" on:change=move |ev| mac.set(event_target_value(&ev))>
                            {[MacKind::Fp32, MacKind::Separate, MacKind::Fma]
                                .map(|k| view! { <option value=k.name() selected=k == MacKind::Separate>{k.name()}</option> })
                                .collect_view()}
                        </select>
                    </label>
                    {text_field("train-mac-mul", "mul", mac_mul, "mono spec")}
                    {text_field("train-mac-add", "add / fma", mac_add, "mono spec")}
                </fieldset>
                <fieldset>
                    <legend>"Quantizers (empty: none)"</legend>
                    {text_field("train-weight", "weight", weight_quant, "mono spec")}
                    {text_field("train-input", "input", input_quant, "mono spec")}
                    {text_field("train-grad", "grad", grad_quant, "mono spec")}
                    {text_field("train-output", "output", output_quant, "mono spec")}
                    <label>
                        "rounding "
                        <select id="train-rounding" on:change=move |ev| rounding.set(event_target_value(&ev))>
                            {TRAIN_ROUNDINGS
                                .map(|r| view! { <option value=r selected=r == "stochastic">{r}</option> })
                                .collect_view()}
                        </select>
                    </label>
                </fieldset>
                <fieldset>
                    <legend>"Optimizer and run"</legend>
                    <label>
                        "optimizer "
                        <select id="train-optimizer" on:change=move |ev| optimizer.set(event_target_value(&ev))>
                            <option value="adam" selected=true>"Adam"</option>
                            <option value="sgd">"SGD (momentum 0.9)"</option>
                        </select>
                    </label>
                    {text_field("train-lr", "lr", lr, "num")}
                    {text_field("train-master", "master weights", master_weights, "mono spec")}
                    {text_field("train-hidden", "hidden", hidden, "num")}
                    {text_field("train-samples", "samples", train_samples, "num")}
                    {text_field("train-batch", "batch", batch_size, "num")}
                    {text_field("train-epochs", "epochs", epochs, "num")}
                    {text_field("train-seed", "seed", seed, "num")}
                    <label>
                        "device "
                        <select id="train-device" on:change=move |ev| device_choice.set(event_target_value(&ev))>
                            <option value="auto">"WebGPU if present"</option>
                            <option value="cpu">"CPU"</option>
                        </select>
                    </label>
                </fieldset>
            </div>
            <div class="train-buttons">
                <button id="train-add" type="button" on:click=add_run
                    disabled=move || settings.with(Result::is_err) || backend.with(Option::is_none)
                >{move || format!("Train on {}", device_name())}</button>
                <button id="train-stop" type="button" on:click=move |_| stop_all(()) disabled=move || !any_running()>"Stop all"</button>
                <button id="train-resume" type="button" on:click=resume_all disabled=move || !any_stopped()>"Resume all"</button>
                <button id="train-clear" type="button" on:click=move |_| clear(()) disabled=move || runs.with(Vec::is_empty)>"Clear"</button>
                <span class="note" id="train-slice"
                    title="CPU: one step in the run's worker; WebGPU: wall clock of a step, the page runs while the GPU works">
                    {move || format!("longest step: {:.0} ms", longest_slice.get())}
                </span>
            </div>
            <p class="error" role="alert" id="train-error">
                {move || { let e = start_error.get(); if e.is_empty() { settings_error() } else { e } }}
            </p>
            <div class="train-chart"><TrainChart runs=runs /></div>
            <table class="runs" id="train-runs">
                <thead><tr>
                    <th scope="col"><span class="sr-only">"colour"</span></th>
                    <th scope="col">"format set"</th><th scope="col">"device"</th>
                    <th scope="col">"steps"</th><th scope="col" title="mean of the last (up to) 10 steps">"recent loss"</th>
                    <th scope="col">"test acc."</th><th scope="col">"state"</th><th scope="col">"actions"</th>
                </tr></thead>
                <tbody>{run_rows}</tbody>
            </table>
            <h3>"Weights and gradients, log2 |x|"</h3>
            <div id="train-histograms" class="train-histograms">{histograms}</div>
        </section>
    }
}
