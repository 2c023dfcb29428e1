//! Line charts of training curves (loss, accuracy) as SVG or PNG, drawn with plotters' pure-Rust
//! backends. Text uses the embedded DejaVu Sans Mono (Bitstream Vera licence, see
//! `crates/lowp-nn/assets/README.md`) through ab_glyph, so no system font or fontconfig is needed.

use super::files::write_atomic;
use super::{Result, TrainError};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;
use std::sync::Once;

/// The embedded font.
const FONT: &[u8] = include_bytes!("../../assets/DejaVuSansMono.ttf");
/// The font family charts ask for.
const FAMILY: &str = "sans-serif";
/// Pixel size of one panel of a PNG chart.
const PANEL_SIZE: (u32, u32) = (640, 420);

/// One named series of `(x, y)` points; non-finite `y` values are skipped when drawn.
#[derive(Debug, Clone, PartialEq)]
pub struct Curve {
    /// The legend entry.
    pub label: String,
    /// The points, in drawing order.
    pub points: Vec<(f64, f64)>,
}

/// One panel: axes with a title and any number of curves.
#[derive(Debug, Clone, PartialEq)]
pub struct Panel {
    /// The panel's caption.
    pub title: String,
    /// The x axis label.
    pub x_label: String,
    /// The y axis label.
    pub y_label: String,
    /// The curves, drawn in palette order.
    pub curves: Vec<Curve>,
    /// Where the legend goes (where the curves are least likely to be).
    pub legend: LegendCorner,
}

/// The corner of a panel that holds its legend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LegendCorner {
    /// Top right (falling curves, e.g. losses).
    UpperRight,
    /// Bottom right (rising curves, e.g. accuracies).
    LowerRight,
}

/// Draws `panels` side by side into `path`: SVG or PNG by extension, written atomically.
pub fn save(panels: &[Panel], path: &Path) -> Result<()> {
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let bytes = match extension.as_deref() {
        Some("svg") => svg(panels)?.into_bytes(),
        Some("png") => png(panels)?,
        _ => {
            return Err(TrainError::Config(format!(
                "{}: unknown plot type; expected .svg or .png",
                path.display()
            )));
        }
    };
    write_atomic(path, &bytes)
}

/// The SVG text of `panels` side by side.
pub fn svg(panels: &[Panel]) -> Result<String> {
    // Text extents are measured with the embedded font, in SVG too.
    register_font();
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, size(panels)).into_drawing_area();
        draw(&root, panels)?;
        root.present().map_err(plot_error)?;
    }
    Ok(text)
}

/// The PNG bytes (8-bit RGB) of `panels` side by side.
pub fn png(panels: &[Panel]) -> Result<Vec<u8>> {
    register_font();
    let (width, height) = size(panels);
    let mut pixels = vec![0u8; width as usize * height as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (width, height)).into_drawing_area();
        draw(&root, panels)?;
        root.present().map_err(plot_error)?;
    }
    let mut bytes = Vec::new();
    let mut encoder = ::png::Encoder::new(&mut bytes, width, height);
    encoder.set_color(::png::ColorType::Rgb);
    encoder.set_depth(::png::BitDepth::Eight);
    encoder
        .write_header()
        .and_then(|mut writer| writer.write_image_data(&pixels))
        .map_err(plot_error)?;
    Ok(bytes)
}

/// Side-by-side panels; taller when a legend has more than six entries (18 px a line).
fn size(panels: &[Panel]) -> (u32, u32) {
    let most_curves = panels.iter().map(|p| p.curves.len()).max().unwrap_or(0) as u32;
    let height = PANEL_SIZE.1 + 18 * most_curves.saturating_sub(6);
    (PANEL_SIZE.0 * panels.len().max(1) as u32, height)
}

fn register_font() {
    static REGISTER: Once = Once::new();
    REGISTER.call_once(|| {
        plotters::style::register_font(FAMILY, FontStyle::Normal, FONT)
            .unwrap_or_else(|_| panic!("the embedded font is a valid TrueType font"));
    });
}

fn draw<B: DrawingBackend>(root: &DrawingArea<B, Shift>, panels: &[Panel]) -> Result<()> {
    root.fill(&WHITE).map_err(plot_error)?;
    let areas = root.split_evenly((1, panels.len().max(1)));
    for (area, panel) in areas.iter().zip(panels) {
        draw_panel(area, panel)?;
    }
    Ok(())
}

/// The x and y ranges of all finite points, padded so that flat curves still get an axis.
fn ranges(panel: &Panel) -> (std::ops::Range<f64>, std::ops::Range<f64>) {
    let finite = panel
        .curves
        .iter()
        .flat_map(|curve| curve.points.iter())
        .filter(|(x, y)| x.is_finite() && y.is_finite());
    let (mut x_min, mut x_max, mut y_min, mut y_max) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in finite {
        x_min = x_min.min(x);
        x_max = x_max.max(x);
        y_min = y_min.min(y);
        y_max = y_max.max(y);
    }
    if x_min > x_max {
        return (0.0..1.0, 0.0..1.0);
    }
    let pad = |lo: f64, hi: f64| {
        let margin = if hi > lo {
            (hi - lo) * 0.05
        } else {
            lo.abs().max(1.0) * 0.05
        };
        (lo - margin)..(hi + margin)
    };
    let x = if x_max > x_min {
        x_min..x_max
    } else {
        pad(x_min, x_max)
    };
    (x, pad(y_min, y_max))
}

fn draw_panel<B: DrawingBackend>(area: &DrawingArea<B, Shift>, panel: &Panel) -> Result<()> {
    let (x_range, y_range) = ranges(panel);
    let mut chart = ChartBuilder::on(area)
        .caption(&panel.title, (FAMILY, 20))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d(x_range, y_range)
        .map_err(plot_error)?;
    chart
        .configure_mesh()
        .x_label_formatter(&|x| format!("{x}"))
        .x_desc(panel.x_label.as_str())
        .y_desc(panel.y_label.as_str())
        .label_style((FAMILY, 13))
        .draw()
        .map_err(plot_error)?;
    for (index, curve) in panel.curves.iter().enumerate() {
        let color = Palette99::pick(index).to_rgba();
        let points = curve
            .points
            .iter()
            .copied()
            .filter(|(x, y)| x.is_finite() && y.is_finite());
        chart
            .draw_series(LineSeries::new(points, color.stroke_width(2)))
            .map_err(plot_error)?
            .label(curve.label.as_str())
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], color.stroke_width(2)));
    }
    if !panel.curves.is_empty() {
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.7))
            .border_style(BLACK)
            .label_font((FAMILY, 13))
            .position(match panel.legend {
                LegendCorner::UpperRight => SeriesLabelPosition::UpperRight,
                LegendCorner::LowerRight => SeriesLabelPosition::LowerRight,
            })
            .draw()
            .map_err(plot_error)?;
    }
    Ok(())
}

fn plot_error(error: impl std::fmt::Display) -> TrainError {
    TrainError::Config(format!("cannot draw the plot: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn panels() -> Vec<Panel> {
        let curve = |label: &str, scale: f64| Curve {
            label: label.into(),
            points: (0..20)
                .map(|i| (i as f64, scale / (1.0 + i as f64)))
                .chain([(20.0, f64::NAN)])
                .collect(),
        };
        vec![
            Panel {
                title: "loss".into(),
                x_label: "epoch".into(),
                y_label: "cross-entropy".into(),
                curves: vec![curve("fp32", 2.0), curve("e4m3", 2.5)],
                legend: LegendCorner::UpperRight,
            },
            Panel {
                title: "accuracy".into(),
                x_label: "epoch".into(),
                y_label: "test accuracy".into(),
                curves: vec![Curve {
                    label: "flat".into(),
                    points: vec![(1.0, 0.5)],
                }],
                legend: LegendCorner::LowerRight,
            },
        ]
    }

    #[test]
    fn svg_holds_the_titles_and_legend() {
        let text = svg(&panels()).unwrap();
        assert!(text.starts_with("<svg"));
        for word in ["loss", "accuracy", "fp32", "e4m3", "cross-entropy"] {
            assert!(text.contains(word), "{word} missing");
        }
    }

    #[test]
    fn png_is_a_png_with_ink_and_written_atomically() {
        let bytes = png(&panels()).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        let decoder = ::png::Decoder::new(std::io::Cursor::new(&bytes));
        let mut reader = decoder.read_info().unwrap();
        let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
        reader.next_frame(&mut pixels).unwrap();
        assert_eq!(reader.info().width, 2 * PANEL_SIZE.0);
        let dark = pixels
            .chunks(3)
            .filter(|p| p.iter().all(|&c| c < 100))
            .count();
        assert!(
            dark > 1000,
            "only {dark} dark pixels: text and axes missing"
        );
        let dir = std::env::temp_dir().join(format!("lowp-plot-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        save(&panels(), &dir.join("curves.png")).unwrap();
        save(&panels(), &dir.join("curves.svg")).unwrap();
        assert!(save(&panels(), &dir.join("curves.pdf")).is_err());
        let mut names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, vec!["curves.png", "curves.svg"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
