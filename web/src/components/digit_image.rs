//! An 8×8 greyscale digit as SVG squares (intensity 0 = white, 1 = black; values outside
//! [0, 1] are clamped, NaN is drawn red).

use leptos::prelude::*;

/// Side of one pixel square in SVG units.
const PIXEL: f64 = 8.0;

/// One 8×8 image of `pixels` (row-major), with a caption.
#[component]
pub fn DigitImage(pixels: Vec<f32>, caption: String) -> impl IntoView {
    let squares = pixels
        .iter()
        .enumerate()
        .map(|(i, &p)| {
            let fill = if p.is_nan() {
                "rgb(220,40,40)".to_string()
            } else {
                let level = (255.0 * (1.0 - p.clamp(0.0, 1.0))).round() as u8;
                format!("rgb({level},{level},{level})")
            };
            let (x, y) = ((i % 8) as f64 * PIXEL, (i / 8) as f64 * PIXEL);
            view! { <rect x=x y=y width=PIXEL height=PIXEL fill=fill><title>{p.to_string()}</title></rect> }
        })
        .collect_view();
    view! {
        <figure>
            <svg viewBox=format!("0 0 {} {}", 8.0 * PIXEL, 8.0 * PIXEL) width="72" height="72" role="img"
                aria-label=caption.clone()>
                {squares}
            </svg>
            <figcaption>{caption}</figcaption>
        </figure>
    }
}
