//! Tensor-view logic: seeded test data, pasted values, error statistics, log2-magnitude
//! histograms with the format's bands, and per-block summaries of block formats.

use lowp_formats::philox::elementwise_word;
use lowp_formats::{BlockFloatingPoint, FormatInfo};

/// A distribution of generated test values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Distribution {
    /// Normal with standard deviation `scale`.
    Normal,
    /// Laplace with scale `scale` (standard deviation `scale·√2`).
    Laplace,
    /// Uniform on `[-scale, scale)`.
    Uniform,
    /// Normal, with every 100th value (on average) multiplied by 100.
    NormalWithOutliers,
}

impl Distribution {
    /// Every distribution, in menu order.
    pub const ALL: [Distribution; 4] = [
        Distribution::Normal,
        Distribution::Laplace,
        Distribution::Uniform,
        Distribution::NormalWithOutliers,
    ];

    /// Menu name (also the `<option>` value).
    pub fn name(&self) -> &'static str {
        match self {
            Distribution::Normal => "normal",
            Distribution::Laplace => "laplace",
            Distribution::Uniform => "uniform",
            Distribution::NormalWithOutliers => "normal + outliers",
        }
    }

    /// The distribution called `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.name() == name)
    }
}

/// A uniform number in (0, 1) from random word `index` of stream `seed` (Philox4x32-10, the
/// generator of stochastic rounding): `(word + 0.5) / 2^32`.
fn uniform(seed: u64, index: u64) -> f64 {
    (f64::from(elementwise_word(seed, index)) + 0.5) / 4_294_967_296.0
}

/// `count` values of `distribution` with `scale`, reproducible from `seed` (element i uses
/// random words 3i, 3i+1 and 3i+2).
pub fn generate(distribution: Distribution, count: usize, scale: f64, seed: u64) -> Vec<f32> {
    (0..count as u64)
        .map(|i| {
            let (u1, u2, u3) = (
                uniform(seed, 3 * i),
                uniform(seed, 3 * i + 1),
                uniform(seed, 3 * i + 2),
            );
            let normal = || (-2.0 * u1.ln()).sqrt() * (core::f64::consts::TAU * u2).cos();
            let value = match distribution {
                Distribution::Normal => normal(),
                Distribution::Laplace => {
                    // Inverse CDF: sign from u2, magnitude -ln(u1).
                    if u2 < 0.5 { u1.ln() } else { -u1.ln() }
                }
                Distribution::Uniform => 2.0 * u1 - 1.0,
                Distribution::NormalWithOutliers => {
                    if u3 < 0.01 {
                        100.0 * normal()
                    } else {
                        normal()
                    }
                }
            };
            (value * scale) as f32
        })
        .collect()
}

/// Numbers separated by whitespace, commas or semicolons (`inf`, `-inf`, `nan` accepted).
pub fn parse_values(text: &str) -> Result<Vec<f32>, String> {
    text.split(|c: char| c.is_whitespace() || c == ',' || c == ';')
        .filter(|token| !token.is_empty())
        .enumerate()
        .map(|(i, token)| {
            token
                .parse::<f32>()
                .map_err(|_| format!("value {} (`{token}`) is not a number", i + 1))
        })
        .collect()
}

/// Error statistics of a quantized tensor against its input.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ErrorStats {
    /// Number of values.
    pub count: usize,
    /// Mean of |q - x| over finite x with finite q.
    pub mean_abs: f64,
    /// Largest |q - x| over finite x with finite q.
    pub max_abs: f64,
    /// Mean of |q - x| / |x| over finite nonzero x with finite q.
    pub mean_rel: f64,
    /// Largest |q - x| / |x| over finite nonzero x with finite q.
    pub max_rel: f64,
    /// Percentage of nonzero finite inputs that became zero.
    pub flushed_pct: f64,
    /// Percentage of finite inputs above the format's max in magnitude (they became ±max,
    /// ±Inf or NaN).
    pub saturated_pct: f64,
}

/// [`ErrorStats`] of `quantized` against `input` for a format whose largest finite value is
/// `max` (block formats: the block's largest value, so nothing counts as saturated).
pub fn error_stats(input: &[f32], quantized: &[f32], max: f32) -> ErrorStats {
    let mut stats = ErrorStats {
        count: input.len(),
        ..ErrorStats::default()
    };
    let (mut finite, mut relative, mut flushed, mut saturated) = (0usize, 0usize, 0usize, 0usize);
    for (&x, &q) in input.iter().zip(quantized) {
        if !x.is_finite() {
            continue;
        }
        if x != 0.0 && q == 0.0 {
            flushed += 1;
        }
        if x.abs() > max {
            saturated += 1;
        }
        if !q.is_finite() {
            continue;
        }
        let error = (f64::from(q) - f64::from(x)).abs();
        finite += 1;
        stats.mean_abs += error;
        stats.max_abs = stats.max_abs.max(error);
        if x != 0.0 {
            let rel = error / f64::from(x).abs();
            relative += 1;
            stats.mean_rel += rel;
            stats.max_rel = stats.max_rel.max(rel);
        }
    }
    stats.mean_abs /= finite.max(1) as f64;
    stats.mean_rel /= relative.max(1) as f64;
    let total = input.iter().filter(|x| x.is_finite()).count().max(1) as f64;
    stats.flushed_pct = 100.0 * flushed as f64 / total;
    stats.saturated_pct = 100.0 * saturated as f64 / total;
    stats
}

/// Counts of values per log2-magnitude bin, zeros and non-finite values apart.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LogHistogram {
    /// log2 of the lower edge of the first bin.
    pub low: f64,
    /// Bin width in binades.
    pub width: f64,
    /// Values per bin; values below `low` go to the first bin, above the range to the last.
    pub counts: Vec<usize>,
    /// Number of ±0 values.
    pub zeros: usize,
    /// Number of ±Inf and NaN values.
    pub nonfinite: usize,
}

impl LogHistogram {
    /// Histogram of `values` over `[2^low, 2^high)` with `bins` bins of equal log2 width.
    pub fn new(values: &[f32], low: f64, high: f64, bins: usize) -> Self {
        let bins = bins.max(1);
        let width = (high - low) / bins as f64;
        let mut histogram = LogHistogram {
            low,
            width,
            counts: vec![0; bins],
            zeros: 0,
            nonfinite: 0,
        };
        for &value in values {
            if !value.is_finite() {
                histogram.nonfinite += 1;
            } else if value == 0.0 {
                histogram.zeros += 1;
            } else {
                let position = (f64::from(value.abs()).log2() - low) / width;
                let bin = (position.floor().max(0.0) as usize).min(bins - 1);
                histogram.counts[bin] += 1;
            }
        }
        histogram
    }

    /// log2 of the upper edge of the last bin.
    pub fn high(&self) -> f64 {
        self.low + self.width * self.counts.len() as f64
    }
}

/// log2-magnitude range `[low, high)` (whole binades) covering the finite nonzero values of
/// every slice, widened to at least `min_span` binades.
pub fn log2_range(slices: &[&[f32]], min_span: f64) -> (f64, f64) {
    let exponents = slices
        .iter()
        .flat_map(|values| values.iter())
        .filter(|v| v.is_finite() && **v != 0.0)
        .map(|v| f64::from(v.abs()).log2());
    let (low, high) = exponents.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), e| {
        (lo.min(e), hi.max(e))
    });
    if !low.is_finite() {
        return (-min_span / 2.0, min_span / 2.0);
    }
    let (low, high) = (low.floor(), high.floor() + 1.0);
    let missing = (min_span - (high - low)).max(0.0);
    (low - (missing / 2.0).floor(), high + (missing / 2.0).ceil())
}

/// The magnitude bands of a format on a log2 axis: subnormal `[min_subnormal, min_normal)`,
/// normal `[min_normal, max]`, overflow above `max` (log2 of each edge).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bands {
    /// log2 of the smallest subnormal (`None` without subnormals).
    pub subnormal: Option<f64>,
    /// log2 of the smallest normal.
    pub normal: f64,
    /// log2 of the largest finite value.
    pub max: f64,
}

impl Bands {
    /// The bands of a format's figures (block formats: at `shared` exponent, else 0).
    pub fn new(info: &FormatInfo, shared: Option<i32>) -> Self {
        let shift = f64::from(shared.unwrap_or(0));
        let log2 = |v: f32| f64::from(v).log2() + shift;
        Bands {
            subnormal: info.min_subnormal.map(log2),
            normal: log2(info.min_normal),
            max: log2(info.max),
        }
    }
}

/// One block of a block-format tensor.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockSummary {
    /// Indices (flat, row-major) of the block's elements.
    pub elements: Vec<usize>,
    /// Largest finite |x|.
    pub max_abs: f32,
    /// The shared exponent `floor(log2 max|x|)` (None: no finite nonzero element).
    pub shared: Option<i32>,
    /// Error statistics of the block.
    pub stats: ErrorStats,
}

/// Per-block summaries of `quantized` against `input` for `block` over a tensor of `shape`.
pub fn block_summaries(
    block: &BlockFloatingPoint,
    shape: &[usize],
    input: &[f32],
    quantized: &[f32],
) -> Result<Vec<BlockSummary>, String> {
    let (block_of, blocks) = block
        .block_layout(shape, input.len())
        .map_err(|e| e.to_string())?;
    let mut members = vec![Vec::new(); blocks];
    for (i, &b) in block_of.iter().enumerate() {
        members[b].push(i);
    }
    Ok(members
        .into_iter()
        .map(|elements| {
            let xs: Vec<f32> = elements.iter().map(|&i| input[i]).collect();
            let qs: Vec<f32> = elements.iter().map(|&i| quantized[i]).collect();
            let max_abs = xs
                .iter()
                .filter(|x| x.is_finite())
                .fold(0.0f32, |m, x| m.max(x.abs()));
            let shared = BlockFloatingPoint::shared_exponent(max_abs.to_bits());
            BlockSummary {
                stats: error_stats(&xs, &qs, f32::INFINITY),
                elements,
                max_abs,
                shared,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use lowp_formats::Format;

    #[test]
    fn generated_values_are_reproducible_and_shaped() {
        let a = generate(Distribution::Normal, 4000, 2.0, 7);
        assert_eq!(a, generate(Distribution::Normal, 4000, 2.0, 7));
        assert_ne!(a, generate(Distribution::Normal, 4000, 2.0, 8));
        let mean = a.iter().map(|&v| f64::from(v)).sum::<f64>() / 4000.0;
        let var = a
            .iter()
            .map(|&v| (f64::from(v) - mean).powi(2))
            .sum::<f64>()
            / 4000.0;
        assert!(
            mean.abs() < 0.15 && (var.sqrt() - 2.0).abs() < 0.15,
            "{mean} {var}"
        );
        let u = generate(Distribution::Uniform, 1000, 3.0, 1);
        assert!(u.iter().all(|v| (-3.0..3.0).contains(v)));
        let laplace = generate(Distribution::Laplace, 4000, 1.0, 3);
        let mean_abs = laplace.iter().map(|v| f64::from(v.abs())).sum::<f64>() / 4000.0;
        assert!((mean_abs - 1.0).abs() < 0.1, "{mean_abs}");
        let outliers = generate(Distribution::NormalWithOutliers, 10_000, 1.0, 5);
        let big = outliers.iter().filter(|v| v.abs() > 10.0).count();
        assert!((50..200).contains(&big), "{big}");
    }

    #[test]
    fn pasted_values_parse_or_name_the_bad_token() {
        assert_eq!(
            parse_values("1, 2.5;-3\n4e-3 inf"),
            Ok(vec![1.0, 2.5, -3.0, 0.004, f32::INFINITY])
        );
        assert_eq!(
            parse_values("1 x"),
            Err("value 2 (`x`) is not a number".to_string())
        );
    }

    #[test]
    fn stats_count_errors_flushes_and_saturation() {
        let input = [1.0, 0.001, 500.0, -2.0];
        let quantized = [1.0, 0.0, f32::INFINITY, -2.5];
        let stats = error_stats(&input, &quantized, 240.0);
        assert_eq!(stats.count, 4);
        assert_eq!(stats.flushed_pct, 25.0);
        assert_eq!(stats.saturated_pct, 25.0);
        assert!((stats.max_abs - 0.5).abs() < 1e-12);
        assert!((stats.mean_abs - (0.0 + 0.001 + 0.5) / 3.0).abs() < 1e-9);
        assert_eq!(stats.max_rel, 1.0);
    }

    #[test]
    fn histogram_bins_by_log2_magnitude() {
        let h = LogHistogram::new(&[0.0, 1.0, 1.5, -3.0, 1e-9, 1e9, f32::NAN], -2.0, 2.0, 4);
        assert_eq!(h.counts, [1, 0, 2, 2]);
        assert_eq!((h.zeros, h.nonfinite), (1, 1));
        assert_eq!(h.high(), 2.0);
        assert_eq!(log2_range(&[&[0.75, 3.0]], 2.0), (-1.0, 2.0));
        assert_eq!(log2_range(&[&[1.0]], 4.0), (-1.0, 3.0));
    }

    #[test]
    fn bands_of_e4m3() {
        let info = "e4m3".parse::<Format>().unwrap().info();
        let bands = Bands::new(&info, None);
        assert_eq!(bands.subnormal, Some(-9.0));
        assert_eq!(bands.normal, -6.0);
        assert!((bands.max - 240f64.log2()).abs() < 1e-12);
    }

    #[test]
    fn blocks_along_dim_zero() {
        let Format::Block(block) = "block(wl=4,dim=0)".parse::<Format>().unwrap() else {
            unreachable!()
        };
        let input = [1.0, 0.3, 8.0, 0.0];
        let quantized = [1.0, 0.25, 8.0, 0.0];
        let blocks = block_summaries(&block, &[2, 2], &input, &quantized).unwrap();
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[0].elements, [0, 1]);
        assert_eq!((blocks[0].shared, blocks[1].shared), (Some(0), Some(3)));
        assert!(block_summaries(&block, &[3], &input[..3], &quantized[..3]).is_ok());
        assert!(block_summaries(&block, &[4], &input, &quantized).is_ok());
        let Format::Block(last) = "block(wl=4,dim=1)".parse::<Format>().unwrap() else {
            unreachable!()
        };
        assert!(block_summaries(&last, &[4], &input, &quantized).is_err());
    }
}
