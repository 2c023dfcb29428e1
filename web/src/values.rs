//! A format seen as a set of binary32 values: rounding one value with any mode and random word,
//! the neighbouring values, the ulp and the stochastic-rounding split. Block formats are seen at
//! one fixed shared exponent (the one a block holding only the context value would get).

use lowp_formats::{BlockFloatingPoint, Format, FormatError, Quantizer, Rounding};

/// Every rounding mode of SEMANTICS.md §2 except stochastic, in the spec's order, with its name.
pub const DETERMINISTIC_MODES: [Rounding; 6] = [
    Rounding::Nearest,
    Rounding::TowardZero,
    Rounding::Up,
    Rounding::Down,
    Rounding::NearestAway,
    Rounding::Odd,
];

/// The values of `format`; for a block format, the grid of one block with shared exponent
/// `shared` (`None`: a block with no finite nonzero element, which keeps its values).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ValueSet {
    format: Format,
    shared: Option<i32>,
}

impl ValueSet {
    /// The values of `format`; a block format takes the shared exponent `floor(log2 |context|)`
    /// of a block holding only `context`.
    pub fn new(format: Format, context: f32) -> Self {
        let magnitude = context.to_bits() & 0x7FFF_FFFF;
        let finite = magnitude < 0x7F80_0000;
        let shared = BlockFloatingPoint::shared_exponent(if finite { magnitude } else { 0 });
        Self { format, shared }
    }

    /// The shared exponent of a block format's grid.
    pub fn shared_exponent(&self) -> Option<i32> {
        match self.format {
            Format::Block(_) => self.shared,
            _ => None,
        }
    }

    /// `x` rounded to the set with `mode`; `word` is the random word of stochastic rounding.
    pub fn quantize(&self, x: f32, mode: Rounding, word: u32) -> Result<f32, FormatError> {
        match &self.format {
            Format::Block(block) => Ok(f32::from_bits(block.quantize_element(
                x.to_bits(),
                self.shared,
                mode,
                word,
            ))),
            format => Quantizer::new(*format, mode, 0)?
                .quantize_bits(x.to_bits(), word)
                .map(f32::from_bits),
        }
    }

    /// The smallest value of the set above `value` (a value of the set), if any.
    pub fn next_up(&self, value: f32) -> Option<f32> {
        self.step(value, true)
    }

    /// The largest value of the set below `value` (a value of the set), if any.
    pub fn next_down(&self, value: f32) -> Option<f32> {
        self.step(value, false)
    }

    fn step(&self, value: f32, up: bool) -> Option<f32> {
        if value.is_nan() || value == if up { f32::INFINITY } else { f32::NEG_INFINITY } {
            return None;
        }
        if let Format::SuperFp(_) = self.format {
            return superfp_step(&self.format, value, up);
        }
        let (probe, mode) = if up {
            (value.next_up(), Rounding::Up)
        } else {
            (value.next_down(), Rounding::Down)
        };
        let next = self.quantize(probe, mode, 0).ok()?;
        let moved = if up { next > value } else { next < value };
        (!next.is_nan() && moved).then_some(next)
    }

    /// The gap between `value` and its neighbour away from zero (toward zero at the top of the
    /// range), exactly; `None` for NaN, infinities and sets with a single value.
    pub fn ulp(&self, value: f32) -> Option<f64> {
        if !value.is_finite() {
            return None;
        }
        let magnitude = value.abs();
        let gap = |other: f32| (f64::from(other) - f64::from(magnitude)).abs();
        let (away, toward) = if value.is_sign_negative() && value != 0.0 {
            (self.next_down(value), self.next_up(value))
        } else {
            (self.next_up(magnitude), self.next_down(magnitude))
        };
        match away {
            Some(next) if next.is_finite() => Some(gap(next.abs())),
            _ => toward.filter(|v| v.is_finite()).map(|v| gap(v.abs())),
        }
    }

    /// Stochastic rounding of `x` with `bits` random bits: the two candidates and the exact
    /// probability of the one away from zero, found with the quantizer itself (a binary search
    /// over the random word). `None` when the set does not support stochastic rounding.
    pub fn stochastic_split(&self, x: f32, bits: u32) -> Option<StochasticSplit> {
        let mode = Rounding::stochastic(bits).ok()?;
        let with_random = |random: u64| -> Option<f32> {
            let word = (random << (32 - bits)) as u32;
            self.quantize(x, mode, word).ok()
        };
        let low = with_random(0)?;
        let total = 1u64 << bits;
        let high = with_random(total - 1)?;
        if same(low, high) {
            return Some(StochasticSplit {
                low,
                high,
                p_high: 0.0,
            });
        }
        // Results are monotone in the random word: the smallest word that rounds away.
        let (mut first, mut last) = (0u64, total - 1);
        while first < last {
            let middle = first + (last - first) / 2;
            if same(with_random(middle)?, low) {
                first = middle + 1;
            } else {
                last = middle;
            }
        }
        Some(StochasticSplit {
            low,
            high,
            p_high: (total - first) as f64 / total as f64,
        })
    }
}

impl ValueSet {
    /// The positive values of the set with log2 magnitude in `[low, high]`, found by walking
    /// the neighbours outward from `|x|` rounded to nearest, at most `limit` on each side;
    /// sorted ascending.
    pub fn positive_values_near(&self, x: f32, low: f64, high: f64, limit: usize) -> Vec<f32> {
        let inside = |v: f32| {
            let log2 = f64::from(v).log2();
            v > 0.0 && v.is_finite() && log2 >= low && log2 <= high
        };
        let Ok(start) = self.quantize(x.abs(), Rounding::Nearest, 0) else {
            return Vec::new();
        };
        let start = if start.is_nan() { 0.0 } else { start.abs() };
        let mut below = Vec::new();
        let mut value = start;
        while below.len() < limit {
            match self.next_down(value) {
                Some(next) if next > 0.0 && f64::from(next).log2() >= low => {
                    below.push(next);
                    value = next;
                }
                _ => break,
            }
        }
        below.reverse();
        if inside(start) {
            below.push(start);
        }
        let mut value = start;
        let mut above = 0;
        while above < limit {
            match self.next_up(value) {
                Some(next) if next.is_finite() && f64::from(next).log2() <= high => {
                    if inside(next) {
                        below.push(next);
                    }
                    value = next;
                    above += 1;
                }
                _ => break,
            }
        }
        below
    }
}

/// The two results of stochastic rounding and their probabilities.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StochasticSplit {
    /// The result toward zero (the only one when the value is exact).
    pub low: f32,
    /// The result away from zero.
    pub high: f32,
    /// Probability of `high`; `low` has `1 - p_high`.
    pub p_high: f64,
}

/// Bitwise equality, with every NaN equal.
fn same(a: f32, b: f32) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

/// Neighbours of a superfp value by stepping its sign-magnitude code (superfp supports nearest
/// rounding only, so the directed-rounding trick of [`ValueSet::step`] is not available).
fn superfp_step(format: &Format, value: f32, up: bool) -> Option<f32> {
    let Format::SuperFp(s) = format else {
        return None;
    };
    let width = s.exp() + s.man();
    let decode = |magnitude: u32| s.decode(magnitude);
    let top = (1u32 << width) - 1;
    let magnitude = magnitude_code(decode, top, value.abs())?;
    let away = up != (value.is_sign_negative() && value != 0.0);
    let next = if away {
        (magnitude < top).then(|| decode(magnitude + 1))?
    } else if magnitude > 0 {
        decode(magnitude - 1)
    } else {
        // From ±0 toward the other sign.
        decode(1)
    };
    let negative = if magnitude == 0 && !away {
        !up
    } else {
        value.is_sign_negative()
    };
    Some(if negative { -next } else { next })
}

/// The magnitude code in `0..=top` whose value is `magnitude`, for a decoder whose values
/// increase with the code (binary search).
pub fn magnitude_code(decode: impl Fn(u32) -> f32, top: u32, magnitude: f32) -> Option<u32> {
    let target = magnitude.to_bits();
    let (mut low, mut high) = (0u32, top);
    while low < high {
        let middle = low + (high - low) / 2;
        if decode(middle).to_bits() < target {
            low = middle + 1;
        } else {
            high = middle;
        }
    }
    (decode(low).to_bits() == target).then_some(low)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(spec: &str, context: f32) -> ValueSet {
        ValueSet::new(spec.parse().unwrap(), context)
    }

    #[test]
    fn neighbours_of_e4m3_values() {
        let e4m3 = set("e4m3", 0.0);
        assert_eq!(e4m3.next_up(1.0), Some(1.125));
        assert_eq!(e4m3.next_down(1.0), Some(0.9375));
        assert_eq!(e4m3.next_up(0.0), Some(0.001953125));
        assert_eq!(e4m3.next_down(0.0), Some(-0.001953125));
        assert_eq!(e4m3.next_up(240.0), Some(f32::INFINITY));
        assert_eq!(e4m3.next_up(f32::INFINITY), None);
        assert_eq!(e4m3.next_down(-240.0), Some(f32::NEG_INFINITY));
        let fn_ = set("e4m3fn", 0.0);
        assert_eq!(fn_.next_up(448.0), None);
        assert_eq!(fn_.next_down(448.0), Some(416.0));
    }

    #[test]
    fn ulp_is_the_gap_away_from_zero_and_toward_zero_at_the_top() {
        let e4m3 = set("e4m3", 0.0);
        assert_eq!(e4m3.ulp(1.0), Some(0.125));
        assert_eq!(e4m3.ulp(-1.0), Some(0.125));
        assert_eq!(e4m3.ulp(0.0), Some(0.001953125));
        assert_eq!(e4m3.ulp(240.0), Some(16.0));
        assert_eq!(set("e4m3fn", 0.0).ulp(448.0), Some(32.0));
        assert_eq!(set("fixed(wl=8,fl=4)", 0.0).ulp(3.0), Some(0.0625));
        assert_eq!(set("fp32", 0.0).ulp(1.0), Some(f64::from(f32::EPSILON)));
    }

    #[test]
    fn superfp_steps_through_its_codes() {
        let s = set("superfp(exp=3,man=1,binades=1)", 0.0);
        let format: Format = "superfp(exp=3,man=1,binades=1)".parse().unwrap();
        let Format::SuperFp(sf) = format else {
            unreachable!()
        };
        let first = sf.decode(1);
        assert_eq!(s.next_up(0.0), Some(first));
        assert_eq!(s.next_down(0.0), Some(-first));
        assert_eq!(s.next_down(first), Some(0.0));
        assert_eq!(s.next_up(-first), Some(-0.0));
        let second = sf.decode(2);
        assert_eq!(s.next_up(first), Some(second));
        assert_eq!(s.next_down(-first), Some(-second));
    }

    #[test]
    fn p3109_unsigned_has_nothing_below_zero() {
        let u = set("binary8(p=3,signed=false)", 0.0);
        assert_eq!(u.next_down(0.0), None);
        assert!(u.next_up(0.0).unwrap() > 0.0);
    }

    #[test]
    fn block_grid_follows_the_context_exponent() {
        // wl = 8, e = 0: grid 2^(0 + 2 - 8) = 2^-6.
        let b = set("block(wl=8,dim=-1)", 1.5);
        assert_eq!(b.shared_exponent(), Some(0));
        assert_eq!(b.next_up(1.0), Some(1.0 + 1.0 / 64.0));
        assert_eq!(b.quantize(1.0 + 1.0 / 256.0, Rounding::Nearest, 0), Ok(1.0));
    }

    #[test]
    fn stochastic_split_gives_exact_probabilities() {
        let e4m3 = set("e4m3", 0.0);
        // 1.03125 = 1 + 1/4 ulp.
        let split = e4m3.stochastic_split(1.03125, 8).unwrap();
        assert_eq!((split.low, split.high, split.p_high), (1.0, 1.125, 0.25));
        let split = e4m3.stochastic_split(-1.09375, 2).unwrap();
        assert_eq!((split.low, split.high, split.p_high), (-1.0, -1.125, 0.75));
        let exact = e4m3.stochastic_split(1.0, 8).unwrap();
        assert_eq!(exact.p_high, 0.0);
        // Fewer random bits than discarded bits truncate v: 1 + 0.3 ulp with 1 bit is never up.
        let split = e4m3.stochastic_split(1.0375, 1).unwrap();
        assert_eq!(split.p_high, 0.0);
        assert!(
            set("superfp(exp=3,man=1,binades=1)", 0.0)
                .stochastic_split(1.1, 4)
                .is_none()
        );
    }

    #[test]
    fn positive_values_near_a_target() {
        let e4m3 = set("e4m3", 0.0);
        assert_eq!(
            e4m3.positive_values_near(-1.2, 0.0, 1.0, 100),
            [1.0, 1.125, 1.25, 1.375, 1.5, 1.625, 1.75, 1.875, 2.0]
        );
        assert_eq!(
            e4m3.positive_values_near(1.2, -1.0, 5.0, 2),
            [1.0, 1.125, 1.25, 1.375, 1.5]
        );
        let top = e4m3.positive_values_near(1e6, 7.0, 30.0, 100);
        assert_eq!(top.first(), Some(&128.0));
        assert_eq!(top.last(), Some(&240.0));
        let s = set("superfp(exp=3,man=1,binades=1)", 0.0);
        assert!(!s.positive_values_near(0.5, -10.0, 10.0, 50).is_empty());
    }

    #[test]
    fn magnitude_codes_are_found_by_binary_search() {
        let Format::Float(f) = "fp16".parse::<Format>().unwrap() else {
            unreachable!()
        };
        assert_eq!(magnitude_code(|c| f.decode(c), 0x7C00, 1.0), Some(0x3C00));
        assert_eq!(magnitude_code(|c| f.decode(c), 0x7C00, 1.0001), None);
    }
}
