//! `lowp formats` and `lowp show`: the figures and codes of number formats as text.

use crate::table::{self, Align};
use anyhow::Result;
use lowp::formats::{CodeClass, Format, FormatInfo};

/// Formats with at most this many bits get a table of all their codes in `lowp show`.
const MAX_TABLE_BITS: u32 = 8;

/// The table of `lowp formats`: one row per preset with bits, bias, max, min normal,
/// min subnormal and epsilon.
pub fn formats() -> Result<String> {
    let mut rows = Vec::new();
    for name in Format::PRESET_NAMES {
        let info = Format::preset(name)?.info();
        rows.push(vec![
            name.to_string(),
            info.bits.to_string(),
            optional(info.bias),
            exact(info.max),
            exact(info.min_normal),
            optional(info.min_subnormal.map(exact)),
            exact(info.epsilon),
        ]);
    }
    let header = [
        "name",
        "bits",
        "bias",
        "max",
        "min normal",
        "min subnormal",
        "epsilon",
    ];
    let align = [
        Align::Left,
        Align::Right,
        Align::Right,
        Align::Left,
        Align::Left,
        Align::Left,
        Align::Left,
    ];
    Ok(table::render(&header, &align, &rows))
}

/// The text of `lowp show`: the canonical SPEC, the family, every figure of [`FormatInfo`], the
/// default stochastic bits and, for formats of at most 8 bits, a 16×16 table of all codes.
pub fn show(format: &Format) -> Result<String> {
    let FormatInfo {
        bits,
        bias,
        max,
        min_normal,
        min_subnormal,
        epsilon,
        finite_values,
    } = format.info();
    let fields = [
        ("spec", format.to_string()),
        ("family", format.family().to_string()),
        ("bits", bits.to_string()),
        ("bias", optional(bias)),
        ("max", exact(max)),
        ("min normal", exact(min_normal)),
        ("min subnormal", optional(min_subnormal.map(exact))),
        ("epsilon", exact(epsilon)),
        ("finite values", finite_values.to_string()),
        (
            "default stochastic bits",
            format.default_stochastic_bits().to_string(),
        ),
    ];
    let mut text: String = fields
        .iter()
        .map(|(key, value)| format!("{key:<24} {value}\n"))
        .collect();
    text.push('\n');
    if matches!(format, Format::Block(_)) {
        text.push_str(
            "note: block formats share one exponent per block, so elements have no standalone code;\n\
             max, min normal and epsilon are relative to a shared exponent of 0\n",
        );
    } else if bits > MAX_TABLE_BITS {
        text.push_str(&format!(
            "no code table: {bits}-bit codes (tables are printed for formats of at most {MAX_TABLE_BITS} bits)\n"
        ));
    } else {
        text.push_str(
            "codes (row = high nibble, column = low nibble): decoded value, \
             with the class in parentheses unless it is normal\n",
        );
        text.push_str(&code_table(format, bits)?);
    }
    Ok(text)
}

/// All `2^bits` codes of `format` (`bits <= 8`), sixteen to a row.
fn code_table(format: &Format, bits: u32) -> Result<String> {
    let codes = 1u32 << bits;
    let columns = codes.min(16);
    let header: Vec<String> = std::iter::once(String::new())
        .chain((0..columns).map(|low| format!("_{low:X}")))
        .collect();
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let mut align = vec![Align::Right; header.len()];
    align[0] = Align::Left;
    let mut rows = Vec::new();
    for high in 0..codes / columns {
        let mut row = vec![format!("{high:X}_")];
        for low in 0..columns {
            let code = high * 16 + low;
            let value = number(format.decode(code)?);
            row.push(match format.classify(code)? {
                CodeClass::Normal => value,
                class => format!("{value} ({})", class.name()),
            });
        }
        rows.push(row);
    }
    Ok(table::render(&header, &align, &rows))
}

/// `value` as text, or `-` when there is none.
fn optional<T: ToString>(value: Option<T>) -> String {
    value.map_or_else(|| "-".to_string(), |value| value.to_string())
}

/// A binary32 value as the shortest text that reads back to it: plain decimal for magnitudes in
/// [1e-4, 1e7) (and for 0, inf and NaN), scientific notation outside.
fn number(value: f32) -> String {
    if value == 0.0 || !value.is_finite() || (1e-4..1e7).contains(&value.abs()) {
        format!("{value}")
    } else {
        format!("{value:e}")
    }
}

/// [`number`], followed by ` (2^k)` when the value is a power of two, which is then exact.
fn exact(value: f32) -> String {
    match power_of_two(value) {
        Some(k) => format!("{} (2^{k})", number(value)),
        None => number(value),
    }
}

/// `k` when `value` is exactly `2^k` (subnormal powers included).
fn power_of_two(value: f32) -> Option<i32> {
    if !value.is_finite() || value <= 0.0 {
        return None;
    }
    let bits = value.to_bits();
    let exponent = (bits >> 23) as i32;
    let mantissa = bits & 0x7F_FFFF;
    if exponent == 0 {
        mantissa
            .is_power_of_two()
            .then(|| mantissa.trailing_zeros() as i32 - 149)
    } else {
        (mantissa == 0).then_some(exponent - 127)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn powers_of_two_are_recognised_down_to_the_smallest_subnormal() {
        assert_eq!(power_of_two(1.0), Some(0));
        assert_eq!(power_of_two(448.0), None);
        assert_eq!(power_of_two(f32::MIN_POSITIVE), Some(-126));
        assert_eq!(power_of_two(f32::from_bits(1)), Some(-149));
        assert_eq!(power_of_two(f32::from_bits(3)), None);
        assert_eq!(power_of_two(-2.0), None);
    }

    #[test]
    fn numbers_are_plain_in_the_middle_range_and_scientific_outside() {
        assert_eq!(number(448.0), "448");
        assert_eq!(number(0.125), "0.125");
        assert_eq!(number(-0.0), "-0");
        assert_eq!(number(f32::MAX), "3.4028235e38");
        assert_eq!(exact(f32::from_bits(1)), "1e-45 (2^-149)");
        assert_eq!(exact(0.015625), "0.015625 (2^-6)");
    }

    #[test]
    fn small_formats_get_one_row_per_sixteen_codes() {
        let fixed: Format = "fixed(wl=3,fl=0)".parse().unwrap();
        let table = code_table(&fixed, 3).unwrap();
        assert_eq!(table.lines().count(), 2);
        let e4m3: Format = "e4m3".parse().unwrap();
        assert_eq!(code_table(&e4m3, 8).unwrap().lines().count(), 17);
    }
}
