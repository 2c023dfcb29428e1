//! A histogram of |x| on a log2 axis before and after quantization (SVG), over the format's
//! bands: flushed to zero, subnormal, normal, overflow.

use crate::tensor::{Bands, LogHistogram};
use leptos::prelude::*;

const WIDTH: f64 = 760.0;
const HEIGHT: f64 = 230.0;
const LEFT: f64 = 40.0;
const RIGHT: f64 = 10.0;
const TOP: f64 = 10.0;
const BOTTOM: f64 = 34.0;

/// Before/after histograms of the same bins, drawn over the bands of the format.
#[component]
pub fn Histogram(before: LogHistogram, after: LogHistogram, bands: Bands) -> impl IntoView {
    let (low, high) = (before.low, before.high());
    let plot_width = WIDTH - LEFT - RIGHT;
    let plot_height = HEIGHT - TOP - BOTTOM;
    let x_of = move |log2: f64| LEFT + (log2.clamp(low, high) - low) / (high - low) * plot_width;
    let peak = before
        .counts
        .iter()
        .chain(&after.counts)
        .copied()
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let bar_height = move |count: usize| (count as f64 / peak).sqrt() * plot_height;
    let band = |from: f64, to: f64, class: &'static str, label: &'static str| {
        let (x0, x1) = (x_of(from), x_of(to));
        (x1 > x0).then(|| {
            view! {
                <g class=format!("band {class}")>
                    <rect x=x0 y=TOP width=x1 - x0 height=plot_height>
                        <title>{label}</title>
                    </rect>
                </g>
            }
        })
    };
    let underflow_top = bands.subnormal.unwrap_or(bands.normal) - 1.0;
    let bars = |histogram: &LogHistogram, class: &'static str| {
        histogram
            .counts
            .iter()
            .enumerate()
            .filter(|(_, count)| **count > 0)
            .map(|(bin, &count)| {
                let x0 = x_of(low + bin as f64 * histogram.width);
                let x1 = x_of(low + (bin + 1) as f64 * histogram.width);
                let h = bar_height(count);
                view! {
                    <rect class=class x=x0 y=TOP + plot_height - h width=(x1 - x0 - 1.0).max(1.0) height=h>
                        <title>{format!("{count} values")}</title>
                    </rect>
                }
            })
            .collect_view()
    };
    let step = ((high - low) / 12.0).ceil().max(1.0) as i64;
    let ticks = (low.ceil() as i64..=high.floor() as i64)
        .filter(|k| k.rem_euclid(step) == 0)
        .map(|k| {
            let x = x_of(k as f64);
            view! {
                <line class="axis" x1=x x2=x y1=TOP + plot_height y2=TOP + plot_height + 4.0 />
                <text x=x y=HEIGHT - 16.0 text-anchor="middle">{format!("2^{k}")}</text>
            }
        })
        .collect_view();
    view! {
        <svg class="histogram-svg" viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img"
            aria-label="histogram of log2 magnitudes before and after quantization">
            {band(low, underflow_top, "underflow", "rounds to zero")}
            {bands.subnormal.and_then(|s| band(s - 1.0, bands.normal, "subnormal", "subnormal range"))}
            {band(bands.normal, bands.max, "normal", "normal range")}
            {band(bands.max, high, "overflow", "above max: overflow or saturation")}
            {bars(&before, "before")}
            {bars(&after, "after")}
            <line class="axis" x1=LEFT x2=WIDTH - RIGHT y1=TOP + plot_height y2=TOP + plot_height />
            {ticks}
            <text x=LEFT y=HEIGHT - 2.0>"|x|, log2 scale (bar height: √count)"</text>
        </svg>
        <p class="legend">
            <span class="key before">"before"</span>
            <span class="key after">"after"</span>
            <span class="key underflow">"→ 0"</span>
            <span class="key subnormal">"subnormal"</span>
            <span class="key normal">"normal"</span>
            <span class="key overflow">"overflow"</span>
            <span>{format!("zeros: {} before, {} after; non-finite: {} before, {} after",
                before.zeros, after.zeros, before.nonfinite, after.nonfinite)}</span>
        </p>
    }
}
