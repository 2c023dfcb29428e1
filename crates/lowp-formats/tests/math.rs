//! Accuracy of lowp's portable binary32 routines (`lowp_formats::math`).
//!
//! * `fma`, `div`, `sqrt` must equal `f32::mul_add`, `/` and `f32::sqrt` bit for bit (any NaN
//!   equals any NaN) on millions of random and special inputs.
//! * `exp`, `log`, `tanh`, `erf`, `pow` are measured in ulps against f64 references (std's
//!   `exp`/`ln`/`tanh`/`powf` and an f64 `erf` written here) over dense samples of every binade,
//!   and must stay within the bounds documented in `docs/math-accuracy.md`.
//!
//! `cargo test -p lowp-formats --test math -- --nocapture` prints the measured maxima;
//! `cargo test --release -p lowp-formats --test math -- --ignored --nocapture` runs the
//! exhaustive sweeps (all 2^32 inputs of every one-argument routine).

use lowp_formats::math;

/// Asserted maximum errors (ulps of the exact result; binary32's subnormal ulp below 2^-126).
/// The exhaustive sweeps measured exp 0.5212, log 0.5006, tanh 0.5455, erf 0.5648; pow 0.5623
/// over 527M sampled pairs (docs/math-accuracy.md). All routines are faithful (< 1 ulp).
const EXP_BOUND: f64 = 0.53;
const LOG_BOUND: f64 = 0.51;
const TANH_BOUND: f64 = 0.55;
const ERF_BOUND: f64 = 0.57;
const POW_BOUND: f64 = 0.6;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// SplitMix64: a small, fixed-seed generator.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

/// Error of `y` in units of the last place of the binary32 binade of `reference` (the subnormal
/// ulp 2^-149 below 2^-126; results above the binary32 range use 2^104). An infinite `y` counts
/// as +-2^128; NaN must match NaN.
fn ulp_error(y: f32, reference: f64) -> f64 {
    if reference.is_nan() || y.is_nan() {
        return if reference.is_nan() && y.is_nan() {
            0.0
        } else {
            f64::INFINITY
        };
    }
    if reference.is_infinite() {
        return if f64::from(y) == reference {
            0.0
        } else {
            f64::INFINITY
        };
    }
    let y = if y.is_infinite() {
        if (reference as f32) == y {
            return 0.0;
        }
        2f64.powi(128).copysign(f64::from(y))
    } else {
        f64::from(y)
    };
    let exponent = ((reference.to_bits() >> 52) & 0x7FF) as i32 - 1023;
    let ulp = 2f64.powi(exponent.clamp(-126, 127) - 23);
    (y - reference).abs() / ulp
}

/// A one-argument binary32 routine.
type Unary = fn(f32) -> f32;

/// Bits equal, or both NaN.
fn same(a: f32, b: f32) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

/// Every binade (exponent field 0..=254) of both signs: its first, second, middle and last
/// patterns and `per_binade` random ones, plus the specials.
fn binade_samples(per_binade: usize, seed: u64) -> Vec<f32> {
    let mut rng = Rng(seed);
    let mut out = vec![
        0.0,
        -0.0,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
        f32::from_bits(0x7F80_0001),
        f32::from_bits(0xFFC0_0000),
    ];
    for exponent in 0..=254u32 {
        for sign in [0, 0x8000_0000u32] {
            let base = sign | (exponent << 23);
            for m in [0, 1, 0x40_0000, 0x7F_FFFF] {
                out.push(f32::from_bits(base | m));
            }
            for _ in 0..per_binade {
                out.push(f32::from_bits(base | (rng.next_u32() & 0x7F_FFFF)));
            }
        }
    }
    out
}

/// Every `step`-th binary32 pattern in `[from, to]` (bit patterns of one sign), both signs.
fn strided(from: f32, to: f32, step: u32) -> Vec<f32> {
    let (a, b) = (from.to_bits(), to.to_bits());
    let mut out = Vec::new();
    let mut bits = a;
    while bits <= b {
        out.push(f32::from_bits(bits));
        out.push(f32::from_bits(bits | 0x8000_0000));
        bits = match bits.checked_add(step) {
            Some(next) => next,
            None => break,
        };
    }
    out
}

/// Maximum ulp error of `f` against `reference` over `inputs`, and the input where it occurs.
fn max_error(inputs: &[f32], f: impl Fn(f32) -> f32, reference: impl Fn(f64) -> f64) -> (f64, f32) {
    let mut worst = (0.0, f32::NAN);
    for &x in inputs {
        let error = ulp_error(f(x), reference(f64::from(x)));
        if error > worst.0 || (worst.1.is_nan() && !x.is_nan()) {
            worst = (error.max(worst.0), x);
        }
    }
    worst
}

fn report(name: &str, count: usize, (error, at): (f64, f32), bound: f64) {
    println!(
        "{name}: {count} inputs, max error {error:.4} ulp at x = {at:e} ({:#010x})",
        at.to_bits()
    );
    assert!(
        error <= bound,
        "{name}: max error {error} ulp at {at:e} ({:#010x}) exceeds {bound}",
        at.to_bits()
    );
}

/// f64 error function: `2/sqrt(pi) * e^(-x^2) * sum 2^n x^(2n+1) / (1*3*...*(2n+1))` (positive
/// terms, no cancellation) below 5, `1 - erfc` by its asymptotic series above.
fn erf64(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    let a = x.abs();
    let value = if a < 5.0 {
        let x2 = a * a;
        let mut term = a;
        let mut sum = a;
        let mut n = 0.0;
        loop {
            n += 1.0;
            term *= 2.0 * x2 / (2.0 * n + 1.0);
            sum += term;
            if term <= sum * 1e-18 {
                break;
            }
        }
        2.0 / core::f64::consts::PI.sqrt() * (-x2).exp() * sum
    } else {
        let x2 = a * a;
        let series = 1.0 - 1.0 / (2.0 * x2) + 3.0 / (4.0 * x2 * x2) - 15.0 / (8.0 * x2 * x2 * x2);
        1.0 - (-x2).exp() / (a * core::f64::consts::PI.sqrt()) * series
    };
    value.copysign(x)
}

// ---------------------------------------------------------------------------------------------
// Exact operations
// ---------------------------------------------------------------------------------------------

/// Interesting binary32 patterns: specials, binade edges, subnormals.
fn special_bits() -> Vec<u32> {
    let mut bits = vec![
        0,
        1,
        2,
        3,
        0x7F_FFFF,
        0x40_0000,
        0x80_0000,
        0x80_0001,
        0xFF_FFFF,
        0x3F80_0000,
        0x3F80_0001,
        0x3F7F_FFFF,
        0x3FC0_0000,
        0x4000_0000,
        0x4040_0000,
        0x3F00_0000,
        0x3400_0000,
        0x3380_0000,
        0x4B00_0000,
        0x4B80_0000,
        0x5F80_0000,
        0x1F80_0000,
        0x7F7F_FFFF,
        0x7F00_0000,
        0x7F80_0000,
        0x7FC0_0000,
        0x7F80_0001,
        0x0D80_0000,
        0x2000_0000,
        0x6000_0000,
    ];
    let negatives: Vec<u32> = bits.iter().map(|b| b | 0x8000_0000).collect();
    bits.extend(negatives);
    bits
}

/// A random binary32 pattern: full random bits, or a random sign/mantissa with the exponent
/// field drawn near one of the interesting regions (subnormal, around 1, near overflow).
fn random_float(rng: &mut Rng) -> f32 {
    let bits = rng.next_u32();
    match rng.next_u32() % 4 {
        0 => f32::from_bits(bits),
        1 => f32::from_bits((bits & 0x807F_FFFF) | ((rng.next_u32() % 24) << 23)),
        2 => f32::from_bits((bits & 0x807F_FFFF) | ((112 + rng.next_u32() % 32) << 23)),
        _ => f32::from_bits((bits & 0x807F_FFFF) | ((230 + rng.next_u32() % 25) << 23)),
    }
}

#[test]
fn fma_specials_exact() {
    let bits = special_bits();
    let mut count = 0;
    for &a in &bits {
        for &b in &bits {
            for &c in &bits {
                let (a, b, c) = (f32::from_bits(a), f32::from_bits(b), f32::from_bits(c));
                let expected = a.mul_add(b, c);
                let got = math::fma(a, b, c);
                assert!(
                    same(got, expected),
                    "fma({a:e}, {b:e}, {c:e}) = {got:e} ({:#010x}), std {expected:e} ({:#010x})",
                    got.to_bits(),
                    expected.to_bits()
                );
                count += 1;
            }
        }
    }
    assert!(count > 200_000);
}

#[test]
fn fma_random_exact() {
    let mut rng = Rng(1);
    for i in 0..3_000_000 {
        let a = random_float(&mut rng);
        let b = random_float(&mut rng);
        let c = match i % 4 {
            // c of the product's size, opposite sign: massive cancellation.
            0 => -(a * b),
            1 => {
                let p = a * b;
                f32::from_bits((p.to_bits() ^ 0x8000_0000) ^ (rng.next_u32() & 0xFF))
            }
            2 => {
                // c scaled near the product (0..=40 binades away), either sign.
                let p = (a * b).abs();
                let shift = rng.next_u32() % 48;
                let c = f32::from_bits(rng.next_u32() & 0x807F_FFFF | (p.to_bits() & 0x7F80_0000));
                let scaled = c * 2f32.powi(shift as i32 - 24);
                if scaled.is_finite() { scaled } else { c }
            }
            _ => random_float(&mut rng),
        };
        let expected = a.mul_add(b, c);
        let got = math::fma(a, b, c);
        assert!(
            same(got, expected),
            "fma({a:e}, {b:e}, {c:e}) [{:#010x} {:#010x} {:#010x}] = {:#010x}, std {:#010x}",
            a.to_bits(),
            b.to_bits(),
            c.to_bits(),
            got.to_bits(),
            expected.to_bits()
        );
    }
}

#[test]
fn fma_ties_and_underflow_exact() {
    // Exact ties: a*b + c halfway between two binary32 values, and results in the subnormal
    // range, including the boundary with the normals.
    let mut rng = Rng(2);
    for _ in 0..1_000_000 {
        let a = f32::from_bits(0x3F80_0000 | (rng.next_u32() & 0x7F_FFFF));
        let b = f32::from_bits(0x3F80_0000 | (rng.next_u32() & 0xFFF));
        let e = (rng.next_u32() % 60) as i32 - 30;
        let c = f32::from_bits(rng.next_u32() & 0x807F_FFFF | (((127 + e) as u32) << 23));
        let tiny = 2f32.powi(-((rng.next_u32() % 40) as i32) - 100);
        for (x, y, z) in [
            (a, b, c),
            (a * tiny, b, c * tiny),
            (a, b * tiny, -(a * b * tiny)),
        ] {
            let expected = x.mul_add(y, z);
            let got = math::fma(x, y, z);
            assert!(
                same(got, expected),
                "fma({x:e}, {y:e}, {z:e}) = {:#010x}, std {:#010x}",
                got.to_bits(),
                expected.to_bits()
            );
        }
    }
}

#[test]
fn div_exact() {
    let bits = special_bits();
    for &a in &bits {
        for &b in &bits {
            let (a, b) = (f32::from_bits(a), f32::from_bits(b));
            assert!(same(math::div(a, b), a / b), "{a:e} / {b:e}");
        }
    }
    let mut rng = Rng(3);
    for i in 0..4_000_000 {
        let a = random_float(&mut rng);
        let b = if i % 3 == 0 {
            // Small divisors: exact quotients and subnormal ties.
            f32::from_bits(
                0x3F80_0000 | ((rng.next_u32() % 8) << 23) | (rng.next_u32() & 0x70_0000),
            )
        } else {
            random_float(&mut rng)
        };
        let got = math::div(a, b);
        let expected = a / b;
        assert!(
            same(got, expected),
            "{a:e} / {b:e} [{:#010x} {:#010x}] = {:#010x}, std {:#010x}",
            a.to_bits(),
            b.to_bits(),
            got.to_bits(),
            expected.to_bits()
        );
    }
    // Subnormal quotients with exact ties: (k * 2^-149) / 2^j.
    for k in 0..4096u32 {
        for j in 0..30 {
            let a = f32::from_bits(k);
            let b = 2f32.powi(j);
            assert!(same(math::div(a, b), a / b), "{k} * 2^-149 / 2^{j}");
            assert!(same(math::div(-a, 3.0 * b), -a / (3.0 * b)));
        }
    }
}

#[test]
fn sqrt_exact() {
    for bits in special_bits() {
        let x = f32::from_bits(bits);
        assert!(same(math::sqrt(x), x.sqrt()), "sqrt({x:e})");
    }
    // Every subnormal and every 97th positive pattern, plus random ones.
    let check = |x: f32| {
        let got = math::sqrt(x);
        assert!(
            same(got, x.sqrt()),
            "sqrt({x:e}) [{:#010x}] = {:#010x}, std {:#010x}",
            x.to_bits(),
            got.to_bits(),
            x.sqrt().to_bits()
        );
    };
    for bits in (0..0x0080_0000u32).step_by(7) {
        check(f32::from_bits(bits));
    }
    for bits in (0..0x7F80_0000u32).step_by(997) {
        check(f32::from_bits(bits));
    }
    let mut rng = Rng(4);
    for _ in 0..2_000_000 {
        check(f32::from_bits(rng.next_u32()));
    }
}

// ---------------------------------------------------------------------------------------------
// Transcendentals
// ---------------------------------------------------------------------------------------------

#[test]
fn erf64_reference_is_accurate() {
    let known = [
        (0.001, 0.001_128_378_790_969_236_3),
        (0.5, 0.520_499_877_813_046_5),
        (1.0, 0.842_700_792_949_714_9),
        (2.0, 0.995_322_265_018_952_7),
        (3.0, 0.999_977_909_503_001_4),
        (4.0, 0.999_999_984_582_742_1),
        (6.0, 1.0),
    ];
    for (x, value) in known {
        let got = erf64(x);
        assert!(
            (got - value).abs() <= 4e-16 * value,
            "erf64({x}) = {got}, expected {value}"
        );
        assert_eq!(erf64(-x), -got);
    }
}

#[test]
fn exp_accuracy() {
    let mut inputs = binade_samples(2048, 10);
    inputs.extend(strided(2f32.powi(-26), 104.0, 509));
    report(
        "exp",
        inputs.len(),
        max_error(&inputs, math::exp, f64::exp),
        EXP_BOUND,
    );
}

#[test]
fn log_accuracy() {
    let mut inputs = binade_samples(2048, 11);
    // Dense around 1 (the hardest region) and across the subnormals.
    inputs.extend(strided(0.5, 2.0, 61));
    inputs.extend(strided(f32::from_bits(1), f32::from_bits(0x0080_0000), 97));
    report(
        "log",
        inputs.len(),
        max_error(&inputs, math::log, f64::ln),
        LOG_BOUND,
    );
}

#[test]
fn tanh_accuracy() {
    let mut inputs = binade_samples(2048, 12);
    inputs.extend(strided(2f32.powi(-14), 10.0, 211));
    report(
        "tanh",
        inputs.len(),
        max_error(&inputs, math::tanh, f64::tanh),
        TANH_BOUND,
    );
}

#[test]
fn erf_accuracy() {
    let mut inputs = binade_samples(2048, 13);
    inputs.extend(strided(2f32.powi(-14), 4.5, 211));
    report(
        "erf",
        inputs.len(),
        max_error(&inputs, math::erf, erf64),
        ERF_BOUND,
    );
}

#[test]
fn transcendental_specials() {
    let inf = f32::INFINITY;
    let cases: [(Unary, f32, f32); 24] = [
        (math::exp, 0.0, 1.0),
        (math::exp, -0.0, 1.0),
        (math::exp, inf, inf),
        (math::exp, -inf, 0.0),
        (math::exp, 89.0, inf),
        (math::exp, -104.0, 0.0),
        (math::exp, f32::MAX, inf),
        (math::exp, f32::MIN, 0.0),
        (math::log, 1.0, 0.0),
        (math::log, 0.0, -inf),
        (math::log, -0.0, -inf),
        (math::log, inf, inf),
        (math::tanh, 0.0, 0.0),
        (math::tanh, -0.0, -0.0),
        (math::tanh, inf, 1.0),
        (math::tanh, -inf, -1.0),
        (math::tanh, f32::from_bits(1), f32::from_bits(1)),
        (math::tanh, 20.0, 1.0),
        (math::erf, 0.0, 0.0),
        (math::erf, -0.0, -0.0),
        (math::erf, inf, 1.0),
        (math::erf, -inf, -1.0),
        (
            math::erf,
            f32::from_bits(0x8000_0001),
            f32::from_bits(0x8000_0001),
        ),
        (math::erf, 10.0, 1.0),
    ];
    for (i, (f, x, expected)) in cases.into_iter().enumerate() {
        let got = f(x);
        assert_eq!(
            got.to_bits(),
            expected.to_bits(),
            "case {i}: f({x:e}) = {got:e}"
        );
    }
    for f in [math::exp, math::log, math::tanh, math::erf] {
        for nan in [f32::NAN, -f32::NAN, f32::from_bits(0x7F80_0001)] {
            let y = f(nan);
            assert!(
                y.is_nan() && y.to_bits() & 0x0040_0000 != 0,
                "NaN in, quiet NaN out"
            );
        }
    }
    for x in [-1.0f32, -f32::from_bits(1), -inf, f32::MIN] {
        assert!(math::log(x).is_nan());
    }
    // Exact values.
    assert_eq!(math::exp(1.0), core::f32::consts::E);
    assert_eq!(math::log(core::f32::consts::E), 1.0 - f32::EPSILON / 2.0);
    assert_eq!(math::log(2.0), core::f32::consts::LN_2);
    assert_eq!(math::log(f32::from_bits(1)), -103.278_93);
}

#[test]
fn pow_specials_follow_c99() {
    let values = [
        0.0f32,
        -0.0,
        1.0,
        -1.0,
        0.5,
        -0.5,
        2.0,
        -2.0,
        3.0,
        -3.0,
        2.5,
        -2.5,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
        f32::from_bits(1),
        -f32::from_bits(1),
        f32::MAX,
        -f32::MAX,
        1.0 + f32::EPSILON,
        1.0 - f32::EPSILON / 2.0,
        1e10,
        -1e10,
        16_777_216.0,
        16_777_215.0,
        -16_777_215.0,
    ];
    for &x in &values {
        for &y in &values {
            let got = math::pow(x, y);
            let expected = x.powf(y);
            assert!(
                same(got, expected)
                    || (ulp_error(got, f64::from(x).powf(f64::from(y))) <= POW_BOUND
                        && expected.is_finite()
                        && expected != 0.0),
                "pow({x:e}, {y:e}) = {got:e}, C99 {expected:e}"
            );
        }
    }
}

#[test]
fn pow_accuracy() {
    let mut rng = Rng(14);
    let mut worst = (0.0f64, 0.0f32, 0.0f32);
    let mut check = |x: f32, y: f32| {
        let error = ulp_error(math::pow(x, y), f64::from(x).powf(f64::from(y)));
        if error > worst.0 {
            worst = (error, x, y);
        }
    };
    for i in 0..2_000_000 {
        // x from any binade, y so that x^y spans the whole binary32 range (and a bit beyond).
        let x = f32::from_bits(rng.next_u32() & 0x7FFF_FFFF);
        if x.is_nan() || x == 0.0 || x.is_infinite() || x == 1.0 {
            continue;
        }
        let target = -160.0 + 300.0 * rng.unit(); // log2 of the result
        let y = match i % 4 {
            0 => (target / f64::from(x).log2()) as f32,
            1 => (rng.next_u32() % 64) as f32 - 32.0,
            2 => f32::from_bits(rng.next_u32()),
            _ => (target / f64::from(x).log2()).round() as f32,
        };
        check(x, y);
        if y.fract() == 0.0 {
            check(-x, y);
        }
    }
    // x near 1 with large exponents: the extended precision of ln x matters most here.
    for _ in 0..500_000 {
        let x = f32::from_bits(0x3F80_0000 + (rng.next_u32() % 0x20_0000) - 0x10_0000);
        let y = ((-120.0 + 240.0 * rng.unit()) / f64::from(x).log2()) as f32;
        check(x, y);
    }
    let (error, x, y) = worst;
    println!("pow: max error {error:.4} ulp at x = {x:e}, y = {y:e}");
    assert!(error <= POW_BOUND, "pow({x:e}, {y:e}): {error} ulp");
}

#[test]
fn pow_exact_cases() {
    assert_eq!(math::pow(2.0, 10.0), 1024.0);
    assert_eq!(math::pow(-2.0, 3.0), -8.0);
    assert_eq!(math::pow(-2.0, -3.0), -0.125);
    assert_eq!(math::pow(3.0, 2.0), 9.0);
    assert_eq!(math::pow(10.0, 3.0), 1000.0);
    assert_eq!(math::pow(4.0, 0.5), 2.0);
    assert_eq!(math::pow(2.0, -149.0), f32::from_bits(1));
    assert_eq!(math::pow(2.0, -150.0), 0.0);
    assert_eq!(math::pow(2.0, 127.0), 2f32.powi(127));
    assert_eq!(math::pow(2.0, 128.0), f32::INFINITY);
    assert_eq!(math::pow(-2.0, 129.0), f32::NEG_INFINITY);
    assert_eq!(math::pow(-1.0, 1e30), 1.0);
    assert_eq!(math::pow(-1.0, 3.0), -1.0);
    assert!(math::pow(-2.0, 0.5).is_nan());
    assert_eq!(math::pow(1.5, 1e30), f32::INFINITY);
    assert_eq!(math::pow(1.5, -1e30), 0.0);
    assert_eq!(math::pow(0.75, 1e30), 0.0);
    let x = 1.234_567f32;
    assert_eq!(math::pow(x, 1.0), x);
}

// ---------------------------------------------------------------------------------------------
// Exhaustive sweeps (release mode, --ignored)
// ---------------------------------------------------------------------------------------------

/// Runs `body` over all 2^32 patterns on all threads, returning the worst (error, x).
fn sweep(body: impl Fn(f32) -> f64 + Sync) -> (f64, f32) {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;
    let total = 1u64 << 32;
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let body = &body;
                scope.spawn(move || {
                    let mut worst = (0.0f64, 0.0f32);
                    let (from, to) = (total * t / threads, total * (t + 1) / threads);
                    for bits in from..to {
                        let x = f32::from_bits(bits as u32);
                        let error = body(x);
                        if error > worst.0 {
                            worst = (error, x);
                        }
                    }
                    worst
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .fold((0.0, 0.0), |a, b| if b.0 > a.0 { b } else { a })
    })
}

/// Sweeps all 2^32 inputs of `f` against `reference` and asserts `bound`.
fn exhaustive(name: &str, f: Unary, reference: fn(f64) -> f64, bound: f64) {
    let (error, x) = sweep(|x| ulp_error(f(x), reference(f64::from(x))));
    report(name, 1 << 32, (error, x), bound);
}

#[test]
#[ignore = "exhaustive: run in release mode"]
fn exhaustive_exp() {
    exhaustive("exp", math::exp, f64::exp, EXP_BOUND);
}

#[test]
#[ignore = "exhaustive: run in release mode"]
fn exhaustive_log() {
    exhaustive("log", math::log, f64::ln, LOG_BOUND);
}

#[test]
#[ignore = "exhaustive: run in release mode"]
fn exhaustive_tanh() {
    exhaustive("tanh", math::tanh, f64::tanh, TANH_BOUND);
}

#[test]
#[ignore = "exhaustive: run in release mode"]
fn exhaustive_erf() {
    exhaustive("erf", math::erf, erf64, ERF_BOUND);
}

#[test]
#[ignore = "exhaustive: run in release mode"]
fn exhaustive_sqrt() {
    let (mismatch, x) = sweep(|x| {
        if same(math::sqrt(x), x.sqrt()) {
            0.0
        } else {
            1.0
        }
    });
    assert_eq!(mismatch, 0.0, "sqrt({x:e}) differs from std");
}
