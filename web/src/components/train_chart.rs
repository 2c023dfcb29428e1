//! SVG charts of the training view: loss per step and test accuracy per epoch of every run (one
//! coloured series each), and a layer's weight and gradient histograms over log2 |x|.

use crate::components::train_view::RunHandle;
use crate::tensor::LogHistogram;
use leptos::prelude::*;

const WIDTH: f64 = 560.0;
const HEIGHT: f64 = 240.0;
const LEFT: f64 = 44.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 34.0;

/// Maps data coordinates to the plot area of a `WIDTH × HEIGHT` chart.
#[derive(Clone, Copy)]
struct Axes {
    x_max: f64,
    y_max: f64,
}

impl Axes {
    fn x(self, x: f64) -> f64 {
        LEFT + x / self.x_max.max(1e-9) * (WIDTH - LEFT - RIGHT)
    }
    fn y(self, y: f64) -> f64 {
        let height = HEIGHT - TOP - BOTTOM;
        TOP + height - (y / self.y_max).clamp(0.0, 1.0) * height
    }
}

/// "x,y x,y …" of a series.
fn points(axes: Axes, data: impl Iterator<Item = (f64, f64)>) -> String {
    data.filter(|(_, y)| y.is_finite())
        .map(|(x, y)| format!("{:.1},{:.1}", axes.x(x), axes.y(y)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The frame of a chart: axes, `ticks` on y (value, label), the x range and the captions.
fn frame(
    axes: Axes,
    y_ticks: &[(f64, String)],
    x_label: &str,
    y_label: &str,
) -> impl IntoView + use<> {
    let bottom = HEIGHT - BOTTOM;
    let x_ticks = (0..=4)
        .map(|i| {
            let value = axes.x_max * f64::from(i) / 4.0;
            let x = axes.x(value);
            view! {
                <line class="axis" x1=x x2=x y1=bottom y2=bottom + 4.0 />
                <text x=x y=bottom + 15.0 text-anchor="middle">{format!("{value:.0}")}</text>
            }
        })
        .collect_view();
    let y_ticks = y_ticks
        .iter()
        .map(|(value, label)| {
            let y = axes.y(*value);
            view! {
                <line class="grid" x1=LEFT x2=WIDTH - RIGHT y1=y y2=y />
                <text x=LEFT - 4.0 y=y + 4.0 text-anchor="end">{label.clone()}</text>
            }
        })
        .collect_view();
    view! {
        {y_ticks}
        <line class="axis" x1=LEFT x2=WIDTH - RIGHT y1=bottom y2=bottom />
        <line class="axis" x1=LEFT x2=LEFT y1=TOP y2=bottom />
        {x_ticks}
        <text x=WIDTH - RIGHT y=HEIGHT - 2.0 text-anchor="end">{x_label.to_string()}</text>
        <text x=LEFT y=HEIGHT - 2.0>{y_label.to_string()}</text>
    }
}

/// Loss per step (left) and test accuracy per epoch (right) of every run.
#[component]
pub fn TrainChart(runs: RwSignal<Vec<RunHandle>, LocalStorage>) -> impl IntoView {
    let loss_chart = move || {
        let runs = runs.get();
        let x_max = runs
            .iter()
            .map(|r| r.total_steps as f64)
            .fold(10.0, f64::max);
        let peak = runs
            .iter()
            .flat_map(|r| {
                r.losses
                    .with(|l| l.iter().map(|(_, v)| f64::from(*v)).collect::<Vec<_>>())
            })
            .filter(|v| v.is_finite())
            .fold(1.0, f64::max);
        let y_max = (peak * 1.05).min(5.0);
        let axes = Axes { x_max, y_max };
        let ticks: Vec<(f64, String)> = (0..=4)
            .map(|i| {
                let v = y_max * f64::from(i) / 4.0;
                (v, format!("{v:.1}"))
            })
            .collect();
        let series = runs
            .iter()
            .map(|run| {
                let line = run.losses.with(|losses| {
                    points(axes, losses.iter().map(|&(s, l)| (s as f64, f64::from(l))))
                });
                let count = run.losses.with(Vec::len);
                view! {
                    <polyline class="series loss-series" data-run=run.id data-points=count
                        points=line stroke=run.colour()>
                        <title>{format!("run {}: {}", run.id + 1, run.label)}</title>
                    </polyline>
                }
            })
            .collect_view();
        view! {
            <svg class="chart-svg" id="loss-chart" viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img"
                aria-label="training loss per step of every run">
                {frame(axes, &ticks, "step", "training loss (cross-entropy)")}
                {series}
            </svg>
        }
    };
    let accuracy_chart = move || {
        let runs = runs.get();
        let x_max = runs
            .iter()
            .map(|r| r.total_steps as f64)
            .fold(10.0, f64::max);
        let axes = Axes { x_max, y_max: 1.0 };
        let ticks: Vec<(f64, String)> = (0..=4)
            .map(|i| (f64::from(i) / 4.0, format!("{}%", 25 * i)))
            .collect();
        let series = runs
            .iter()
            .map(|run| {
                let evals = run.evals.get();
                let line = points(axes, evals.iter().map(|f| (f.step as f64, f.accuracy)));
                let dots = evals
                    .iter()
                    .map(|f| {
                        view! {
                            <circle cx=axes.x(f.step as f64) cy=axes.y(f.accuracy) r="3" fill=run.colour()>
                                <title>{format!("run {}, epoch {}: {:.1}% (test loss {:.3})",
                                    run.id + 1, f.epoch, 100.0 * f.accuracy, f.test_loss)}</title>
                            </circle>
                        }
                    })
                    .collect_view();
                view! {
                    <polyline class="series accuracy-series" data-run=run.id data-points=evals.len()
                        points=line stroke=run.colour() />
                    {dots}
                }
            })
            .collect_view();
        view! {
            <svg class="chart-svg" id="accuracy-chart" viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img"
                aria-label="test accuracy after each epoch of every run">
                {frame(axes, &ticks, "step", "test accuracy (after each epoch)")}
                {series}
            </svg>
        }
    };
    view! {
        <div class="chart-pair">
            <div>{loss_chart}</div>
            <div>{accuracy_chart}</div>
        </div>
    }
}

const H_WIDTH: f64 = 380.0;
const H_HEIGHT: f64 = 150.0;

/// A layer's weight (filled) and gradient (outlined) histograms over log2 |x|.
#[component]
pub fn LayerHistogramChart(
    weight: LogHistogram,
    grad: LogHistogram,
    colour: &'static str,
) -> impl IntoView {
    let (low, high) = (weight.low, weight.high());
    let (left, right, top, bottom) = (18.0, 18.0, 8.0, 30.0);
    let plot_width = H_WIDTH - left - right;
    let plot_height = H_HEIGHT - top - bottom;
    let x_of = move |log2: f64| left + (log2 - low) / (high - low) * plot_width;
    let bars = |histogram: &LogHistogram, class: &'static str| {
        let peak = histogram.counts.iter().copied().max().unwrap_or(0).max(1) as f64;
        histogram
            .counts
            .iter()
            .enumerate()
            .filter(|(_, c)| **c > 0)
            .map(|(bin, &count)| {
                let x0 = x_of(low + bin as f64 * histogram.width);
                let x1 = x_of(low + (bin + 1) as f64 * histogram.width);
                let h = (count as f64 / peak).sqrt() * plot_height;
                view! {
                    <rect class=class x=x0 y=top + plot_height - h width=(x1 - x0 - 1.0).max(1.0) height=h>
                        <title>{format!("{count} values in [2^{:.1}, 2^{:.1})",
                            low + bin as f64 * histogram.width, low + (bin + 1) as f64 * histogram.width)}</title>
                    </rect>
                }
            })
            .collect_view()
    };
    let ticks = (low.ceil() as i64..=high.floor() as i64)
        .filter(|k| k.rem_euclid(4) == 0)
        .map(|k| {
            let x = x_of(k as f64);
            view! {
                <line class="axis" x1=x x2=x y1=top + plot_height y2=top + plot_height + 4.0 />
                <text x=x y=H_HEIGHT - 14.0 text-anchor="middle">{format!("2^{k}")}</text>
            }
        })
        .collect_view();
    let note = format!("zeros: {} weight, {} grad", weight.zeros, grad.zeros);
    view! {
        <svg class="layer-histogram-svg" viewBox=format!("0 0 {H_WIDTH} {H_HEIGHT}") role="img"
            aria-label="log2 magnitudes of the layer's weights and gradients">
            <g style=format!("--run:{colour}")>
                {bars(&weight, "weight")}
                {bars(&grad, "grad")}
            </g>
            <line class="axis" x1=left x2=H_WIDTH - right y1=top + plot_height y2=top + plot_height />
            {ticks}
            <text x=left y=H_HEIGHT - 2.0>{note}</text>
        </svg>
    }
}
