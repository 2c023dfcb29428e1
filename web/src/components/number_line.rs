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

/// The log2 axis of the number line: the target's magnitude and the axis ends.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Axis {
    /// |x|, finite and nonzero.
    magnitude: f32,
    /// log2 of the left end.
    low: f64,
    /// log2 of the right end.
    high: f64,
}

impl Axis {
    /// The axis around |`target`| with a half-width of 2^`zoom` binades (`None` for a target
    /// that is not a finite nonzero number).
    fn new(target: &str, zoom: f64) -> Option<Self> {
        let magnitude = target.trim().parse::<f32>().ok()?.abs();
        if !(magnitude.is_finite() && magnitude > 0.0) {
            return None;
        }
        let centre = f64::from(magnitude).log2();
        let half = zoom.exp2();
        Some(Self {
            magnitude,
            low: centre - half,
            high: centre + half,
        })
    }

    /// The x coordinate of the positive value `v`.
    fn x_of(&self, v: f64) -> f64 {
        let plot = WIDTH - LABEL - 10.0;
        LABEL + (v.log2() - self.low) / (self.high - self.low) * plot
    }
}

/// The content of one format's row (at y = 0): label, note, bins and ticks.
fn row_view(spec: &str, axis: Axis) -> AnyView {
    let Ok(format) = spec.parse::<Format>() else {
        return view! { <text x=0 y=18.0>{format!("{spec}: bad SPEC")}</text> }.into_any();
    };
    let Axis {
        magnitude,
        low,
        high,
    } = axis;
    let set = ValueSet::new(format, magnitude);
    let values = set.positive_values_near(magnitude, low, high, MAX_VALUES);
    let rounded = set.quantize(magnitude, Rounding::Nearest, 0).ok();
    // Bins: [midpoint below, midpoint above] of each value, clipped to the axis.
    let edges = |i: usize| -> (f64, f64) {
        let v = f64::from(values[i]);
        let below = if i > 0 {
            (f64::from(values[i - 1]) + v) / 2.0
        } else {
            low.exp2()
        };
        let above = if i + 1 < values.len() {
            (f64::from(values[i + 1]) + v) / 2.0
        } else {
            high.exp2()
        };
        (below.max(low.exp2()), above.min(high.exp2()))
    };
    let bins = (0..values.len())
        .map(|i| {
            let (from, to) = edges(i);
            let holds = rounded == Some(values[i]);
            let class = if holds { "bin hit" } else if i % 2 == 0 { "bin even" } else { "bin odd" };
            let tick = axis.x_of(f64::from(values[i]));
            view! {
                <rect class=class x=axis.x_of(from) y=6.0 width=(axis.x_of(to) - axis.x_of(from)).max(0.0) height=ROW - 10.0>
                    <title>{format!("rounds to {}", number(values[i]))}</title>
                </rect>
                <line class="tick" x1=tick x2=tick y1=4.0 y2=ROW - 2.0 />
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
        <text x=0 y=14.0 class="spec-label">
            <title>{spec.to_string()}</title>
            {short_label(spec)}
        </text>
        <text x=0 y=26.0 class="note-label">{format!("{note} · {} values shown", values.len())}</text>
        {bins}
    }
    .into_any()
}

/// The number line of the explorer. The rows are keyed by SPEC: a format change redraws the
/// current format's row only, and the compared rows (fp16 has hundreds of bins) stay as they
/// are; a new target or zoom redraws every row.
#[component]
pub fn NumberLine(
    state: ExplorerState,
    target: RwSignal<String>,
    compared: RwSignal<Vec<String>>,
) -> impl IntoView {
    // log2 of the half-width in binades.
    let zoom = RwSignal::new(1.0f64);
    let axis = Memo::new(move |_| target.with(|t| Axis::new(t, zoom.get())));
    // The current format first, then the compared ones.
    let specs = Memo::new(move |_| {
        let current = state.format.get().to_string();
        let mut specs = vec![current.clone()];
        compared.with(|list| specs.extend(list.iter().filter(|s| **s != current).cloned()));
        specs
    });
    let row = move |spec: String| {
        let key = spec.clone();
        let y = move || {
            specs.with(|specs| specs.iter().position(|s| *s == key).unwrap_or(0)) as f64 * ROW
        };
        let content = spec.clone();
        view! {
            <g class="line-row" data-spec=spec transform=move || format!("translate(0 {})", y())>
                {move || axis.get().map(|axis| row_view(&content, axis))}
            </g>
        }
    };
    let axis_y = move || specs.with(Vec::len) as f64 * ROW + 2.0;
    let chart = move || {
        let axis = axis.get()?;
        let Axis {
            magnitude,
            low,
            high,
        } = axis;
        let marker = axis.x_of(f64::from(magnitude));
        Some(view! {
            <line class="target" x1=marker x2=marker y1=0 y2=axis_y />
            <line class="axis" x1=LABEL x2=WIDTH - 10.0 y1=axis_y y2=axis_y />
            <text x=LABEL y=move || axis_y() + 16.0>{number(low.exp2() as f32)}</text>
            <text x=WIDTH - 10.0 y=move || axis_y() + 16.0 text-anchor="end">{number(high.exp2() as f32)}</text>
            <text x=marker y=move || axis_y() + 16.0 text-anchor="middle" class="target-label">{format!("|x| = {}", number(magnitude))}</text>
        })
    };
    let has_axis = Memo::new(move |_| axis.with(Option::is_some));
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
            <Show
                when=move || has_axis.get()
                fallback=|| view! { <p class="note">"Type a finite nonzero target value above."</p> }
            >
                <svg viewBox=move || format!("0 0 {WIDTH} {}", axis_y() + AXIS - 2.0) role="img"
                    aria-label=move || axis.get().map(|a| format!("rounding bins around |x| = {}", number(a.magnitude)))>
                    <For each=move || specs.get() key=String::clone children=row />
                    {chart}
                </svg>
            </Show>
        </div>
    }
}
