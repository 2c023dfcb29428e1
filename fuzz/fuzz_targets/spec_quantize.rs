//! Fuzz target `spec_quantize`: arbitrary bytes -> SPEC string + rounding name + bits + seed +
//! binary32 values; parse the SPEC, build a Quantizer, quantize, and check the invariants of
//! SEMANTICS.md that hold for every format:
//!
//! * nothing panics (parsing, metadata, codes, quantizing);
//! * the canonical SPEC (`Display`) parses back to the same format;
//! * NaN in -> quiet NaN out;
//! * deterministic modes are idempotent: Q(Q(x)) == Q(x) bit for bit (any NaN equals any NaN);
//! * stochastic rounding is reproducible for a seed and leaves representable values alone:
//!   Q_sr(Q_nearest(x)) == Q_nearest(x);
//! * element-wise formats: element i of `quantize_slice` equals `quantize_value(x_i, i)`;
//! * float formats (IEEE-like and E4M3FN): finite results are at most max in magnitude.
//!
//! Input layout. Text mode (first byte < 0x80): `SPEC '\n' MODE '\n' BITS SEED[8] SHAPE VALUES..`.
//! Structured mode (first byte >= 0x80): the SPEC is rendered from the next 6 bytes (family and
//! parameters, invalid ones included) so that mutations reach deep into valid formats, then
//! `MODE-BYTE BITS SEED[8] SHAPE VALUES..`. BITS = 0 means the format's default; VALUES are
//! little-endian f32.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lowp_formats::{Format, Quantizer, ROUNDING_NAMES, Rounding};

fn same(a: f32, b: f32) -> bool {
    (a.is_nan() && b.is_nan()) || a.to_bits() == b.to_bits()
}

/// Splits off the bytes up to the next '\n'.
fn line<'a>(data: &mut &'a [u8]) -> Option<&'a [u8]> {
    let end = data.iter().position(|&b| b == b'\n')?;
    let (head, tail) = data.split_at(end);
    *data = &tail[1..];
    Some(head)
}

fn byte(data: &mut &[u8]) -> u8 {
    match data.split_first() {
        Some((&b, rest)) => {
            *data = rest;
            b
        }
        None => 0,
    }
}

fn flag(b: u8) -> &'static str {
    if b & 1 == 1 { "true" } else { "false" }
}

/// A SPEC rendered from 6 parameter bytes (ranges slightly wider than the valid ones).
fn structured_spec(p: [u8; 6]) -> String {
    let small = |b: u8, lo: i32, span: i32| lo + (b as i32).rem_euclid(span);
    match p[0] % 7 {
        0 => format!(
            "float(exp={},man={},subnormals={},saturate={})",
            small(p[1], 1, 9),
            small(p[2], 0, 25),
            flag(p[3]),
            flag(p[3] >> 1)
        ),
        1 => format!(
            "{}(subnormals={},saturate={})",
            Format::PRESET_NAMES[p[1] as usize % Format::PRESET_NAMES.len()],
            flag(p[2]),
            flag(p[2] >> 1)
        ),
        2 => format!(
            "fixed(wl={},fl={},clamp={},symmetric={})",
            small(p[1], 0, 34),
            (p[2] as i8 as i32) + (p[4] as i8 as i32) / 2,
            flag(p[3]),
            flag(p[3] >> 1)
        ),
        3 => format!(
            "block(wl={},dim={})",
            small(p[1], 1, 25),
            small(p[2], -2, 4)
        ),
        4 | 5 => {
            let overflow =
                ["saturate_infty", "saturate_maxfloat", "saturate_maxfloat2"][p[5] as usize % 3];
            let head = if p[0] % 7 == 4 {
                "binary8(".to_string()
            } else {
                format!("binary(k={},", small(p[1], 2, 16))
            };
            format!(
                "{head}p={},signed={},subnormals={},overflow={overflow})",
                small(p[2], 0, 18),
                flag(p[3]),
                flag(p[3] >> 1)
            )
        }
        _ => format!(
            "superfp(exp={},man={},binades={}:{},saturate={})",
            small(p[1], 1, 9),
            small(p[2], 0, 25),
            small(p[4], 0, 40),
            small(p[5], 0, 40),
            flag(p[3])
        ),
    }
}

fuzz_target!(|input: &[u8]| {
    let mut data = input;
    let structured = data.first().is_some_and(|&b| b >= 0x80);
    let (spec, mode_name) = if structured {
        byte(&mut data);
        let mut p = [0u8; 6];
        for b in &mut p {
            *b = byte(&mut data);
        }
        let mode = ROUNDING_NAMES[byte(&mut data) as usize % ROUNDING_NAMES.len()].to_string();
        (structured_spec(p), mode)
    } else {
        let Some(spec) = line(&mut data) else { return };
        let Some(mode) = line(&mut data) else { return };
        let (Ok(spec), Ok(mode)) = (std::str::from_utf8(spec), std::str::from_utf8(mode)) else {
            return;
        };
        (spec.to_string(), mode.to_string())
    };
    let bits = match byte(&mut data) {
        0 => None,
        b => Some(u32::from(b) % 40),
    };
    let mut seed = [0u8; 8];
    for b in &mut seed {
        *b = byte(&mut data);
    }
    let seed = u64::from_le_bytes(seed);
    let shape_byte = byte(&mut data);
    let values: Vec<f32> = data
        .chunks_exact(4)
        .take(256)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();

    // Parse (must never panic); invalid SPECs are errors.
    let Ok(format) = spec.parse::<Format>() else {
        return;
    };
    let canonical = format.to_string();
    assert_eq!(
        canonical.parse::<Format>().ok(),
        Some(format),
        "SPEC round trip: {spec} -> {canonical}"
    );
    let info = format.info();
    let _ = format.default_stochastic_bits();
    if info.bits <= 16 {
        // Codes: decode/classify of the first and last codes must not panic.
        for code in [
            0u32,
            1,
            (1 << info.bits) - 1,
            1 << (info.bits - 1),
            1 << info.bits,
        ] {
            let _ = format.decode(code);
            let _ = format.classify(code);
        }
    }

    let Ok(mode) = Rounding::from_name(
        &mode_name,
        bits.filter(|_| mode_name.contains("stoch")),
        format.default_stochastic_bits(),
    ) else {
        return;
    };
    let Ok(quantizer) = Quantizer::new(format, mode, seed) else {
        return;
    };

    let n = values.len();
    let rows = 1 + usize::from(shape_byte % 4);
    let shape: Vec<usize> = if n > 0 && n.is_multiple_of(rows) && shape_byte & 0x10 != 0 {
        vec![rows, n / rows]
    } else {
        vec![n]
    };
    let Ok(out) = quantizer.quantize_slice(&values, &shape) else {
        // Only block formats with an axis beyond the shape may refuse a tensor.
        assert!(
            matches!(format, Format::Block(b) if b.dim() as usize >= shape.len()),
            "{canonical}: refused {shape:?}"
        );
        return;
    };
    assert_eq!(out.len(), n);

    for (i, (&x, &r)) in values.iter().zip(&out).enumerate() {
        if x.is_nan() {
            assert!(
                r.is_nan() && r.to_bits() & 0x0040_0000 != 0,
                "{canonical} {mode}: NaN {:#010x} -> {:#010x}",
                x.to_bits(),
                r.to_bits()
            );
        }
        if matches!(format, Format::Float(_)) && r.is_finite() {
            assert!(
                r.abs() <= info.max,
                "{canonical} {mode}: {x:e} -> {r:e} beyond max {:e}",
                info.max
            );
        }
        if !matches!(format, Format::Block(_)) {
            let scalar = quantizer.quantize_value(x, i as u64).unwrap();
            assert!(
                same(scalar, r),
                "{canonical} {mode}: slice and scalar differ at {i}: {x:e}"
            );
        }
    }

    if quantizer.is_stochastic() {
        let again = quantizer.quantize_slice(&values, &shape).unwrap();
        assert!(
            again.iter().zip(&out).all(|(a, b)| same(*a, *b)),
            "{canonical} {mode}: not reproducible"
        );
        let nearest = Quantizer::nearest(format)
            .quantize_slice(&values, &shape)
            .unwrap();
        let moved = quantizer.quantize_slice(&nearest, &shape).unwrap();
        for (i, (&a, &b)) in nearest.iter().zip(&moved).enumerate() {
            assert!(
                same(a, b),
                "{canonical} {mode}: stochastic moved representable {a:e} ({:#010x}) to {b:e} at {i}",
                a.to_bits()
            );
        }
    } else {
        let twice = quantizer.quantize_slice(&out, &shape).unwrap();
        for (i, (&a, &b)) in out.iter().zip(&twice).enumerate() {
            assert!(
                same(a, b),
                "{canonical} {mode}: not idempotent at {i}: {:e} ({:#010x}) -> {a:e} ({:#010x}) -> {b:e} ({:#010x})",
                values[i],
                values[i].to_bits(),
                a.to_bits(),
                b.to_bits()
            );
        }
    }
});
