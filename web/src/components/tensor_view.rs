//! The tensor view: generated (seeded), pasted or digit data quantized on the compute backend,
//! with error statistics, before/after histograms over the format's bands, the per-block
//! inspector of block formats and the digits before/after.

use crate::backend::ComputeBackend;
use crate::components::block_inspector::BlockInspector;
use crate::components::digit_image::DigitImage;
use crate::components::histogram::Histogram;
use crate::digits::embedded_digits;
use crate::tensor::{
    Bands, Distribution, ErrorStats, LogHistogram, block_summaries, error_stats, generate,
    log2_range, parse_values,
};
use crate::text::figure;
use leptos::prelude::*;
use leptos::task::spawn_local;
use lowp_formats::{Format, Quantizer, ROUNDING_NAMES, Rounding};
use std::rc::Rc;

/// Histogram bins per binade.
const BINS_PER_BINADE: f64 = 2.0;

/// A quantized tensor and how it was made.
#[derive(Debug, Clone, PartialEq)]
struct Outcome {
    input: Vec<f32>,
    shape: Vec<usize>,
    output: Vec<f32>,
    format: Format,
    backend: &'static str,
    millis: f64,
    /// Whether the data are the embedded digits (rows of 64 pixels).
    digits: bool,
}

/// Milliseconds of the page clock (0 outside a browser).
fn now() -> f64 {
    #[cfg(target_arch = "wasm32")]
    {
        web_sys::window()
            .and_then(|w| w.performance())
            .map_or(0.0, |p| p.now())
    }
    #[cfg(not(target_arch = "wasm32"))]
    0.0
}

/// `text` as a number in `range`, or an error naming `what`.
fn field<T: core::str::FromStr + PartialOrd + core::fmt::Display>(
    text: &str,
    what: &str,
    range: core::ops::RangeInclusive<T>,
) -> Result<T, String> {
    text.trim()
        .parse::<T>()
        .ok()
        .filter(|v| range.contains(v))
        .ok_or_else(|| {
            format!(
                "{what} must be a number in {}..={}",
                range.start(),
                range.end()
            )
        })
}

/// The tensor view section; `backend` is the detected compute backend.
#[component]
pub fn TensorView(backend: RwSignal<Option<Rc<ComputeBackend>>, LocalStorage>) -> impl IntoView {
    let spec = RwSignal::new("e4m3".to_string());
    let mode = RwSignal::new("nearest".to_string());
    let sr_seed = RwSignal::new("0".to_string());
    let source = RwSignal::new("generate".to_string());
    let distribution = RwSignal::new(Distribution::Normal.name().to_string());
    let count = RwSignal::new("4096".to_string());
    let scale = RwSignal::new("1".to_string());
    let seed = RwSignal::new("1".to_string());
    let rows = RwSignal::new("16".to_string());
    let pasted = RwSignal::new("0.1 -0.2 0.3 1e-5 300 -0.007 2.5e-3 1000".to_string());
    let selected_block = RwSignal::new(0usize);

    let data = Memo::new(move |_| -> Result<(Vec<f32>, Vec<usize>), String> {
        let values = match source.get().as_str() {
            "digits" => {
                let digits = embedded_digits();
                let values: Vec<f32> = digits.iter().flat_map(|d| d.pixels.clone()).collect();
                return Ok((values, vec![digits.len(), 64]));
            }
            "paste" => pasted.with(|t| parse_values(t))?,
            _ => {
                let distribution = distribution
                    .with(|d| Distribution::from_name(d))
                    .unwrap_or(Distribution::Normal);
                let count = field(&count.get(), "count", 1usize..=1 << 20)?;
                let scale = field(&scale.get(), "scale", 0.0f64..=1e38)?;
                let seed = field(&seed.get(), "seed", 0u64..=u64::MAX)?;
                generate(distribution, count, scale, seed)
            }
        };
        let rows = field(&rows.get(), "rows", 1usize..=values.len().max(1))?;
        if values.len() % rows != 0 {
            return Err(format!(
                "{} values do not split into {rows} rows",
                values.len()
            ));
        }
        let shape = vec![rows, values.len() / rows];
        Ok((values, shape))
    });
    let quantizer = Memo::new(move |_| -> Result<Quantizer, String> {
        let format = spec
            .with(|s| s.trim().parse::<Format>())
            .map_err(|e| e.to_string())?;
        let rounding = Rounding::from_name(&mode.get(), None, format.default_stochastic_bits())
            .map_err(|e| e.to_string())?;
        let seed = field(&sr_seed.get(), "rounding seed", 0u64..=u64::MAX)?;
        Quantizer::new(format, rounding, seed).map_err(|e| e.to_string())
    });

    let outcome = RwSignal::new(None::<Result<Outcome, String>>);
    let running = RwSignal::new(0u64);
    Effect::new(move |_| {
        let (data, quantizer) = (data.get(), quantizer.get());
        let Some(backend) = backend.get() else {
            return;
        };
        let job = running.get_untracked() + 1;
        running.set(job);
        let (Ok((input, shape)), Ok(quantizer)) = (data, quantizer) else {
            outcome.set(None);
            return;
        };
        selected_block.set(0);
        let digits = source.get_untracked() == "digits";
        spawn_local(async move {
            let start = now();
            let result = backend.quantize(&input, &shape, &quantizer).await;
            let millis = now() - start;
            if running.get_untracked() != job {
                return;
            }
            outcome.set(Some(result.map(|output| Outcome {
                input,
                shape,
                output,
                format: *quantizer.format(),
                backend: backend.name(),
                millis,
                digits,
            })));
        });
    });

    let error = move || {
        let mut errors = Vec::new();
        if let Err(e) = data.get() {
            errors.push(e);
        }
        if let Err(e) = quantizer.get() {
            errors.push(e);
        }
        if let Some(Err(e)) = outcome.get() {
            errors.push(e);
        }
        errors.join("; ")
    };

    let results = move || {
        let Some(Ok(outcome)) = outcome.get() else {
            return None;
        };
        let info = outcome.format.info();
        let block = match outcome.format {
            Format::Block(b) => Some(b),
            _ => None,
        };
        let max = if block.is_some() {
            f32::INFINITY
        } else {
            info.max
        };
        let stats = error_stats(&outcome.input, &outcome.output, max);
        let blocks =
            block.map(|b| block_summaries(&b, &outcome.shape, &outcome.input, &outcome.output));
        let shared = match &blocks {
            Some(Ok(blocks)) => blocks
                .get(
                    selected_block
                        .get_untracked()
                        .min(blocks.len().saturating_sub(1)),
                )
                .and_then(|b| b.shared),
            _ => None,
        };
        let (low, high) = log2_range(&[&outcome.input, &outcome.output], 16.0);
        let bins = ((high - low) * BINS_PER_BINADE) as usize;
        let before = LogHistogram::new(&outcome.input, low, high, bins);
        let after = LogHistogram::new(&outcome.output, low, high, bins);
        let bands = Bands::new(&info, shared);
        let digits = outcome.digits.then(|| {
            let pairs = outcome
                .input
                .chunks_exact(64)
                .zip(outcome.output.chunks_exact(64));
            pairs
                .enumerate()
                .map(|(d, (before, after))| {
                    view! {
                        <div class="digit-pair">
                            <DigitImage pixels=before.to_vec() caption=format!("{d} before") />
                            <DigitImage pixels=after.to_vec() caption=format!("{d} after") />
                        </div>
                    }
                })
                .collect_view()
        });
        let inspector = blocks.map(|blocks| match blocks {
            Ok(blocks) => view! {
                <BlockInspector blocks=blocks input=outcome.input.clone() output=outcome.output.clone() selected=selected_block />
            }
            .into_any(),
            Err(e) => view! { <p class="error">{e}</p> }.into_any(),
        });
        Some(view! {
            <p class="note" id="tensor-run" data-backend=outcome.backend>
                {format!(
                    "{} values, shape {:?}, quantized on {} in {:.1} ms",
                    outcome.input.len(),
                    outcome.shape,
                    outcome.backend,
                    outcome.millis
                )}
            </p>
            <StatsGrid stats=stats />
            <div class="histogram"><Histogram before=before after=after bands=bands /></div>
            {block.map(|_| view! { <p class="note">"Bands drawn at the shared exponent of block 0."</p> })}
            {inspector}
            {digits.map(|d| view! { <h4>"Digits before / after"</h4><div class="digits" id="digits">{d}</div> })}
        })
    };

    let generate_fields = move || {
        (source.get() == "generate").then(|| {
            view! {
                <label>
                    "distribution "
                    <select id="distribution" on:change=move |ev| distribution.set(event_target_value(&ev))>
                        {Distribution::ALL
                            .map(|d| view! { <option value=d.name() selected=d == Distribution::Normal>{d.name()}</option> })
                            .collect_view()}
                    </select>
                </label>
                <label>"count " <input id="count" type="text" class="num" prop:value=move || count.get() on:change=move |ev| count.set(event_target_value(&ev)) /></label>
                <label>"scale " <input id="scale" type="text" class="num" prop:value=move || scale.get() on:change=move |ev| scale.set(event_target_value(&ev)) /></label>
                <label>"seed " <input id="seed" type="text" class="num" prop:value=move || seed.get() on:change=move |ev| seed.set(event_target_value(&ev)) /></label>
            }
        })
    };

    view! {
        <section class="tensor" aria-labelledby="tensor-title">
            <h2 id="tensor-title">"Tensor view"</h2>
            <div class="tensor-controls">
                <label>
                    "format "
                    <input id="tensor-spec" type="text" class="mono" size="22" spellcheck="false"
                        prop:value=move || spec.get()
                        on:change=move |ev| spec.set(event_target_value(&ev))
                    />
                </label>
                <label>
                    "rounding "
                    <select id="tensor-rounding" on:change=move |ev| mode.set(event_target_value(&ev))>
                        {ROUNDING_NAMES.map(|name| view! { <option value=name>{name}</option> }).collect_view()}
                    </select>
                </label>
                <label>"rounding seed " <input id="tensor-sr-seed" type="text" class="num" prop:value=move || sr_seed.get() on:change=move |ev| sr_seed.set(event_target_value(&ev)) /></label>
                <label>
                    "data "
                    <select id="tensor-source" on:change=move |ev| {
                        let value = event_target_value(&ev);
                        rows.set(match value.as_str() { "generate" => "16", "digits" => "10", _ => "1" }.to_string());
                        source.set(value);
                    }>
                        <option value="generate">"generated"</option>
                        <option value="paste">"pasted"</option>
                        <option value="digits">"digits (8×8)"</option>
                    </select>
                </label>
                <label>"rows " <input id="rows" type="text" class="num" prop:value=move || rows.get() on:change=move |ev| rows.set(event_target_value(&ev)) /></label>
                {generate_fields}
            </div>
            {move || (source.get() == "paste").then(|| view! {
                <label class="block-label">
                    "values (separated by spaces, commas or new lines)"
                    <textarea id="pasted" prop:value=move || pasted.get() on:change=move |ev| pasted.set(event_target_value(&ev))></textarea>
                </label>
            })}
            <p class="error" role="alert" id="tensor-error">{error}</p>
            <div id="tensor-results">{results}</div>
        </section>
    }
}

/// The error statistics as a grid of labelled figures.
#[component]
fn StatsGrid(stats: ErrorStats) -> impl IntoView {
    let items = [
        ("mean abs error", figure(stats.mean_abs, 4), "stat-mean-abs"),
        ("max abs error", figure(stats.max_abs, 4), "stat-max-abs"),
        ("mean rel error", figure(stats.mean_rel, 4), "stat-mean-rel"),
        ("max rel error", figure(stats.max_rel, 4), "stat-max-rel"),
        (
            "flushed to zero",
            format!("{:.2}%", stats.flushed_pct),
            "stat-flushed",
        ),
        (
            "saturated",
            format!("{:.2}%", stats.saturated_pct),
            "stat-saturated",
        ),
    ];
    view! {
        <div class="stats" id="stats">
            {items
                .map(|(label, value, id)| view! { <div>{label} ": " <b id=id>{value}</b></div> })
                .collect_view()}
        </div>
    }
}
