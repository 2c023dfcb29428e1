//! The rounding-bin number line: the target value |x| on a log2 axis with, for each compared
//! format (and the current one), its values as ticks and the round-to-nearest bins between the
//! midpoints of neighbouring values; the bin holding |x| is highlighted. A slider zooms the
//! axis from 8 binades down to 1/64 of a binade on each side.

use crate::components::explorer::ExplorerState;
use crate::text::number;
use crate::values::ValueSet;
use leptos::prelude::*;
use lowp_formats::{Format, Rounding};

const WIDTH: f64 = 760.0;
const LABEL: f64 = 190.0;
const ROW: f64 = 30.0;
const AXIS: f64 = 26.0;
/// Values drawn at most on each side of the target, per format.
const MAX_VALUES: usize = 400;

/// Characters of a row label that fit left of the axis.
const LABEL_CHARS: usize = 24;

/// `spec`, cut to [`LABEL_CHARS`] characters with an ellipsis.
fn short_label(spec: &str) -> String {
    if spec.chars().count() <= LABEL_CHARS {
        spec.to_string()
    } else {
        let head: String = spec.chars().take(LABEL_CHARS - 1).collect();
        format!("{head}…")
    }
}

/// The number line of the explorer.
#[component]
pub fn NumberLine(
    state: ExplorerState,
    target: RwSignal<String>,
    compared: RwSignal<Vec<String>>,
) -> impl IntoView {
    // log2 of the half-width in binades.
    let zoom = RwSignal::new(1.0f64);
    let chart = move || {
        let x = target.with(|t| t.trim().parse::<f32>().ok())?;
        let magnitude = x.abs();
        if !(magnitude.is_finite() && magnitude > 0.0) {
            return None;
        }
        let centre = f64::from(magnitude).log2();
        let half = zoom.get().exp2();
        let (low, high) = (centre - half, centre + half);
        let plot = WIDTH - LABEL - 10.0;
        let x_of = move |v: f64| LABEL + (v.log2() - low) / (high - low) * plot;
        let current = state.format.get().to_string();
        let mut specs = vec![current.clone()];
        specs.extend(compared.get().into_iter().filter(|s| *s != current));
        let rows = specs
            .iter()
            .enumerate()
            .map(|(row, spec)| {
                let y = row as f64 * ROW;
                let Ok(format) = spec.parse::<Format>() else {
                    return view! { <text x=0 y=y + 18.0>{format!("{spec}: bad SPEC")}</text> }.into_any();
                };
                let set = ValueSet::new(format, magnitude);
                let values = set.positive_values_near(magnitude, low, high, MAX_VALUES);
                let rounded = set.quantize(magnitude, Rounding::Nearest, 0).ok();
                // Bins: [midpoint below, midpoint above] of each value, clipped to the axis.
                let edges = |i: usize| -> (f64, f64) {
                    let v = f64::from(values[i]);
                    let below = if i > 0 { (f64::from(values[i - 1]) + v) / 2.0 } else { low.exp2() };
                    let above = if i + 1 < values.len() { (f64::from(values[i + 1]) + v) / 2.0 } else { high.exp2() };
                    (below.max(low.exp2()), above.min(high.exp2()))
                };
                let bins = (0..values.len())
                    .map(|i| {
                        let (from, to) = edges(i);
                        let holds = rounded == Some(values[i]);
                        let class = if holds { "bin hit" } else if i % 2 == 0 { "bin even" } else { "bin odd" };
                        view! {
                            <rect class=class x=x_of(from) y=y + 6.0 width=(x_of(to) - x_of(from)).max(0.0) height=ROW - 10.0>
                                <title>{format!("rounds to {}", number(values[i]))}</title>
                            </rect>
                            <line class="tick" x1=x_of(f64::from(values[i])) x2=x_of(f64::from(values[i])) y1=y + 4.0 y2=y + ROW - 2.0 />
                        }
                    })
                    .collect_view();
                let mut note = match rounded {
                    Some(q) => format!("→ {}", number(q)),
                    None => String::new(),
                };
                if let Some(e) = set.shared_exponent() {
                    note.push_str(&format!(" · shared e = {e}"));
                }
                view! {
                    <g class="line-row" data-spec=spec.clone()>
                        <text x=0 y=y + 14.0 class="spec-label">
                            <title>{spec.clone()}</title>
                            {short_label(spec)}
                        </text>
                        <text x=0 y=y + 26.0 class="note-label">{format!("{note} · {} values shown", values.len())}</text>
                        {bins}
                    </g>
                }
                .into_any()
            })
            .collect_view();
        let height = specs.len() as f64 * ROW + AXIS;
        let axis_y = specs.len() as f64 * ROW + 2.0;
        let marker = x_of(f64::from(magnitude));
        Some(view! {
            <svg viewBox=format!("0 0 {WIDTH} {height}") role="img"
                aria-label=format!("rounding bins around |x| = {}", number(magnitude))>
                {rows}
                <line class="target" x1=marker x2=marker y1=0 y2=axis_y />
                <line class="axis" x1=LABEL x2=WIDTH - 10.0 y1=axis_y y2=axis_y />
                <text x=LABEL y=axis_y + 16.0>{number(low.exp2() as f32)}</text>
                <text x=WIDTH - 10.0 y=axis_y + 16.0 text-anchor="end">{number(high.exp2() as f32)}</text>
                <text x=marker y=axis_y + 16.0 text-anchor="middle" class="target-label">{format!("|x| = {}", number(magnitude))}</text>
            </svg>
        })
    };
    view! {
        <div class="numberline">
            <h3>"Rounding bins around |x| (log scale)"</h3>
            <label>
                "zoom "
                <input id="zoom" type="range" min="-6" max="3" step="0.25"
                    prop:value=move || zoom.get().to_string()
                    on:input=move |ev| zoom.set(event_target_value(&ev).parse().unwrap_or(1.0))
                />
                {move || format!(" ±{} binades", crate::text::figure(zoom.get().exp2(), 3))}
            </label>
            {move || chart().map(IntoAny::into_any).unwrap_or_else(|| {
                view! { <p class="note">"Type a finite nonzero target value above."</p> }.into_any()
            })}
        </div>
    }
}
