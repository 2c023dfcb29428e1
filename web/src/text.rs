//! Numbers as text: the shortest decimal that reads back, the exact decimal expansion, the exact
//! binary form `±1.f₂ × 2^e` and powers of two.

use lowp_formats::bits::split;

/// The shortest text that reads back to `value`: plain decimal for magnitudes in [1e-4, 1e7)
/// (and 0, inf, NaN), scientific outside (the same rule as `lowp show`).
pub fn number(value: f32) -> String {
    if value.is_nan() {
        "NaN".to_string()
    } else if value == 0.0 || !value.is_finite() || (1e-4..1e7).contains(&value.abs()) {
        format!("{value}")
    } else {
        format!("{value:e}")
    }
}

/// An f64 figure (errors, probabilities) with `digits` significant digits, trailing zeros of a
/// plain decimal dropped.
pub fn figure(value: f64, digits: usize) -> String {
    if value == 0.0 || !value.is_finite() {
        return format!("{value}");
    }
    let magnitude = value.abs().log10().floor() as i64;
    if (-4..7).contains(&magnitude) {
        let decimals = (digits as i64 - 1 - magnitude).max(0) as usize;
        let text = format!("{value:.decimals$}");
        if text.contains('.') {
            text.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            text
        }
    } else {
        format!("{:.*e}", digits.saturating_sub(1), value)
    }
}

/// The shortest text that reads back to the f64 `value`, by the rule of [`number`].
pub fn number64(value: f64) -> String {
    if value == 0.0 || !value.is_finite() || (1e-4..1e7).contains(&value.abs()) {
        format!("{value}")
    } else {
        format!("{value:e}")
    }
}

/// `k` when `value` is exactly `±2^k`.
pub fn power_of_two(value: f64) -> Option<i32> {
    if !value.is_finite() || value == 0.0 {
        return None;
    }
    let bits = value.abs().to_bits();
    let exponent = (bits >> 52) as i32;
    let mantissa = bits & ((1 << 52) - 1);
    if exponent == 0 {
        mantissa
            .is_power_of_two()
            .then(|| mantissa.trailing_zeros() as i32 - 1074)
    } else {
        (mantissa == 0).then_some(exponent - 1023)
    }
}

/// `value` followed by ` = 2^k` when it is a power of two.
pub fn with_power(value: f64) -> String {
    match power_of_two(value) {
        Some(k) => format!("{} = 2^{k}", number64(value)),
        None => number64(value),
    }
}

/// The exact value of a binary32 number as a binary scientific form, e.g. `+1.011₂ × 2^3`
/// (`0`, `inf`, `NaN` for the specials).
pub fn binary_form(value: f32) -> String {
    let sign = if value.is_sign_negative() { "-" } else { "+" };
    if value.is_nan() {
        return "NaN".to_string();
    }
    if value.is_infinite() {
        return format!("{sign}inf");
    }
    if value == 0.0 {
        return format!("{sign}0");
    }
    let (significand, lsb) = split(value.to_bits() & 0x7FFF_FFFF);
    let length = 32 - significand.leading_zeros();
    let exponent = lsb + length as i32 - 1;
    let fraction: String = (0..length - 1)
        .rev()
        .map(|bit| {
            if significand >> bit & 1 == 1 {
                '1'
            } else {
                '0'
            }
        })
        .collect();
    let fraction = fraction.trim_end_matches('0');
    if fraction.is_empty() {
        format!("{sign}1₂ × 2^{exponent}")
    } else {
        format!("{sign}1.{fraction}₂ × 2^{exponent}")
    }
}

/// The exact decimal expansion of a binary32 value (every binary32 value is a finite decimal;
/// the smallest subnormal has 149 decimals).
pub fn exact_decimal(value: f32) -> String {
    if !value.is_finite() || value == 0.0 {
        return number(value);
    }
    let sign = if value < 0.0 { "-" } else { "" };
    let (significand, lsb) = split(value.to_bits() & 0x7FFF_FFFF);
    // Decimal digits, most significant first, of significand * 2^max(lsb, 0) * 5^max(-lsb, 0).
    let mut digits: Vec<u8> = significand
        .to_string()
        .bytes()
        .map(|digit| digit - b'0')
        .collect();
    let (factor, times) = if lsb >= 0 { (2, lsb) } else { (5, -lsb) };
    for _ in 0..times {
        let mut carry = 0u8;
        for digit in digits.iter_mut().rev() {
            let product = *digit * factor + carry;
            *digit = product % 10;
            carry = product / 10;
        }
        if carry > 0 {
            digits.insert(0, carry);
        }
    }
    let text: String = digits.iter().map(|d| char::from(b'0' + d)).collect();
    if lsb >= 0 {
        return format!("{sign}{text}");
    }
    // Divide by 10^(-lsb): place the decimal point.
    let decimals = (-lsb) as usize;
    let padded = if text.len() <= decimals {
        format!("{}{text}", "0".repeat(decimals + 1 - text.len()))
    } else {
        text
    };
    let (whole, fraction) = padded.split_at(padded.len() - decimals);
    let fraction = fraction.trim_end_matches('0');
    if fraction.is_empty() {
        format!("{sign}{whole}")
    } else {
        format!("{sign}{whole}.{fraction}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_forms() {
        assert_eq!(binary_form(1.0), "+1₂ × 2^0");
        assert_eq!(binary_form(-11.0), "-1.011₂ × 2^3");
        assert_eq!(binary_form(0.001953125), "+1₂ × 2^-9");
        assert_eq!(binary_form(f32::from_bits(3)), "+1.1₂ × 2^-148");
        assert_eq!(binary_form(-0.0), "-0");
        assert_eq!(binary_form(f32::NEG_INFINITY), "-inf");
    }

    #[test]
    fn exact_decimals() {
        assert_eq!(exact_decimal(1.0), "1");
        assert_eq!(exact_decimal(0.1), "0.100000001490116119384765625");
        assert_eq!(exact_decimal(-448.0), "-448");
        assert_eq!(exact_decimal(0.001953125), "0.001953125");
        assert_eq!(
            exact_decimal(f32::MAX),
            "340282346638528859811704183484516925440"
        );
        let tiny = exact_decimal(f32::from_bits(1));
        assert!(tiny.starts_with("0.00000000000000000000000000000000000000000000140129846"));
        assert_eq!(tiny.len(), 2 + 149);
    }

    #[test]
    fn numbers_and_figures() {
        assert_eq!(number(240.0), "240");
        assert_eq!(number(-0.0), "-0");
        assert_eq!(number(f32::NAN), "NaN");
        assert_eq!(number(1.0e-6), "1e-6");
        assert_eq!(figure(0.25, 4), "0.25");
        assert_eq!(figure(1.0 / 3.0, 4), "0.3333");
        assert_eq!(figure(12345.678, 4), "12346");
        assert_eq!(figure(3.0e-9, 3), "3.00e-9");
        assert_eq!(with_power(0.125), "0.125 = 2^-3");
        assert_eq!(power_of_two(f64::from(f32::from_bits(1))), Some(-149));
        assert_eq!(power_of_two(3.0), None);
    }
}
