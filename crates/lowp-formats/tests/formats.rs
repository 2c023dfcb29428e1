//! Hand-checked facts about the formats: presets, metadata, constructor errors, SPEC round trips,
//! packed codes, and small rounding examples of every mode.

use lowp_formats::{CodeClass, Format, FormatError, Quantizer, Rounding};

fn format(spec: &str) -> Format {
    spec.parse().unwrap_or_else(|e| panic!("{spec}: {e}"))
}

fn q(spec: &str, mode: Rounding, x: f32) -> f32 {
    Quantizer::new(format(spec), mode, 0)
        .unwrap()
        .quantize_value(x, 0)
        .unwrap()
}

#[test]
fn preset_metadata() {
    let cases = [
        (
            "fp32",
            f32::MAX,
            2f32.powi(-126),
            Some(f32::from_bits(1)),
            2f32.powi(-23),
        ),
        (
            "tf32",
            2f32.powi(127) * (2.0 - 2f32.powi(-10)),
            2f32.powi(-126),
            Some(f32::from_bits(1 << 13)),
            2f32.powi(-10),
        ),
        (
            "bf16",
            2f32.powi(127) * (2.0 - 2f32.powi(-7)),
            2f32.powi(-126),
            Some(f32::from_bits(1 << 16)),
            2f32.powi(-7),
        ),
        (
            "fp16",
            65504.0,
            2f32.powi(-14),
            Some(2f32.powi(-24)),
            2f32.powi(-10),
        ),
        ("e5m2", 57344.0, 2f32.powi(-14), Some(2f32.powi(-16)), 0.25),
        ("e4m3", 240.0, 2f32.powi(-6), Some(2f32.powi(-9)), 0.125),
        ("e4m3fn", 448.0, 2f32.powi(-6), Some(2f32.powi(-9)), 0.125),
    ];
    for (name, max, min_normal, min_subnormal, epsilon) in cases {
        let info = format(name).info();
        assert_eq!(info.max, max, "{name} max");
        assert_eq!(info.min_normal, min_normal, "{name} min normal");
        assert_eq!(info.min_subnormal, min_subnormal, "{name} min subnormal");
        assert_eq!(info.epsilon, epsilon, "{name} epsilon");
    }
    assert_eq!(format("fp16").info().finite_values, 63_487); // 2^16 - 2*2^10 + 1 (one zero)
    assert_eq!(format("e4m3fn").info().finite_values, 253);
    assert_eq!(format("e4m3").info().finite_values, 239);
    assert_eq!(format("e5m2").info().bias, Some(15));
}

#[test]
fn p3109_metadata() {
    let p3 = format("binary8(p=3)");
    let info = p3.info();
    assert_eq!(info.bias, Some(16));
    assert_eq!(info.max, 49152.0);
    assert_eq!(info.min_subnormal, Some(2f32.powi(-17)));
    assert_eq!(info.finite_values, 253); // 256 codes - NaN - two infinities
    assert_eq!(
        format("binary8(p=3,overflow=saturate_maxfloat2)")
            .info()
            .max,
        57344.0
    );
    assert_eq!(format("binary8(p=1)").info().max, 2f32.powi(62));
    assert_eq!(format("binary8(p=1)").info().min_normal, 2f32.powi(-63));
    assert_eq!(
        format("binary8(p=4,signed=false)").info().finite_values,
        254
    );
}

#[test]
fn invalid_parameters_are_errors() {
    for spec in [
        "float(exp=9,man=3)",
        "float(exp=1,man=3)",
        "float(exp=5,man=24)",
        "binary8(p=0)",
        "binary8(p=8)",
        "binary8(p=9,signed=false)",
        "binary(k=17,p=3)",
        "binary(k=2,p=1)",
        "binary(k=16,p=7)",
        "fixed(wl=0,fl=0)",
        "fixed(wl=33,fl=0)",
        "fixed(wl=8,fl=150)",
        "block(wl=1)",
        "block(wl=25)",
        "block(wl=8,dim=-2)",
        "superfp(exp=4,man=3,binades=0)",
        "superfp(exp=2,man=3,binades=2)",
    ] {
        match spec.parse::<Format>() {
            Err(FormatError::InvalidParameter { .. }) => {}
            other => panic!("{spec}: expected a parameter error, got {other:?}"),
        }
    }
    for spec in [
        "e4m3(bias=3)",
        "float(exp=5)",
        "float(exp=5,man=x)",
        "bogus",
        "fp16(saturate=yes)",
        "fixed(wl=8,fl=4",
        "e5m2(subnormals=true,subnormals=false)",
    ] {
        assert!(
            matches!(spec.parse::<Format>(), Err(FormatError::Parse { .. })),
            "{spec}"
        );
    }
    assert!(Quantizer::new(format("superfp(exp=4,man=3)"), Rounding::Up, 0).is_err());
    assert!(Rounding::stochastic(0).is_err());
    assert!(Rounding::stochastic(33).is_err());
    assert!(Rounding::from_name("sideways", None, 1).is_err());
    assert!(Rounding::from_name("nearest", Some(3), 1).is_err());
}

#[test]
fn spec_display_round_trips() {
    for spec in [
        "fp32",
        "tf32",
        "bf16",
        "fp16",
        "e5m2",
        "e4m3",
        "e4m3fn",
        "e4m3fn(subnormals=true,saturate=true)",
        "float(exp=3,man=2,subnormals=false,saturate=true)",
        "fixed(wl=8,fl=4,clamp=true,symmetric=true)",
        "block(wl=8,dim=1)",
        "binary8(p=3,signed=true,subnormals=true,overflow=saturate_infty)",
        "binary(k=6,p=3,signed=false,subnormals=false,overflow=saturate_maxfloat2)",
        "superfp(exp=5,man=3,binades=1:3,saturate=false)",
    ] {
        assert_eq!(format(spec).to_string(), spec);
        assert_eq!(format(&format(spec).to_string()), format(spec));
    }
    assert_eq!(format("e4m3_ieee"), format("float(exp=4,man=3)"));
    assert_eq!(format(" float( exp = 5 , man = 10 ) "), format("fp16"));
    assert_eq!(
        format("superfp(exp=4,man=3,binades=2)").to_string(),
        "superfp(exp=4,man=3,binades=2:2,saturate=false)"
    );
}

#[test]
fn every_code_decodes_to_a_value_that_quantizes_to_itself_and_encodes_back() {
    for spec in [
        "fp16",
        "bf16(subnormals=false)",
        "e5m2",
        "e4m3",
        "e4m3fn",
        "float(exp=2,man=0)",
        "float(exp=3,man=4,subnormals=false)",
        "binary8(p=1)",
        "binary8(p=3)",
        "binary8(p=5,signed=false,overflow=saturate_maxfloat2)",
        "binary(k=3,p=2)",
        "binary(k=16,p=8,subnormals=false)",
        "fixed(wl=8,fl=4)",
        "fixed(wl=6,fl=-2,symmetric=true)",
        "superfp(exp=4,man=3,binades=1)",
        "superfp(exp=3,man=2,binades=1:2,saturate=true)",
    ] {
        let f = format(spec);
        let quantizer = Quantizer::nearest(f);
        let bits = f.info().bits;
        let mut finite = std::collections::HashSet::new();
        for code in 0..(1u32 << bits) {
            let class = f.classify(code).unwrap();
            let value = f.decode(code).unwrap();
            if class == CodeClass::NaN {
                assert!(value.is_nan(), "{spec} code {code:#x}");
                continue;
            }
            if class == CodeClass::Unused {
                continue;
            }
            let back = f.encode(value).unwrap();
            assert_eq!(
                f.decode(back).unwrap().to_bits(),
                value.to_bits(),
                "{spec} code {code:#x}"
            );
            if class == CodeClass::Infinite {
                continue; // saturating formats quantize an infinite input to max
            }
            let requantized = quantizer.quantize_value(value, 0).unwrap();
            assert_eq!(
                requantized.to_bits() & 0x7FFF_FFFF,
                value.to_bits() & 0x7FFF_FFFF,
                "{spec} code {code:#x} = {value:e}"
            );
            if value.is_finite() {
                finite.insert((
                    value.abs().to_bits(),
                    value.is_sign_negative() && value != 0.0,
                ));
            }
        }
        assert_eq!(
            finite.len() as u64,
            f.info().finite_values,
            "{spec} finite value count"
        );
        assert!(
            f.encode(f32::NAN).is_ok() || !spec.starts_with("binary"),
            "{spec}"
        );
    }
    assert!(format("fp32").decode(0).is_err());
    assert!(format("block(wl=8)").encode(1.0).is_err());
    assert!(format("e4m3").encode(1.0625).is_err());
    assert!(format("e4m3").decode(256).is_err());
}

#[test]
fn rounding_modes_on_e4m3() {
    use Rounding::*;
    // 1.0625 lies halfway between 1 and 1.125; 1.1 is above the midpoint.
    assert_eq!(q("e4m3", Nearest, 1.0625), 1.0);
    assert_eq!(q("e4m3", Nearest, 1.1875), 1.25);
    assert_eq!(q("e4m3", NearestAway, 1.0625), 1.125);
    assert_eq!(q("e4m3", NearestAway, -1.0625), -1.125);
    assert_eq!(q("e4m3", TowardZero, 1.12), 1.0);
    assert_eq!(q("e4m3", Up, 1.01), 1.125);
    assert_eq!(q("e4m3", Up, -1.01), -1.0);
    assert_eq!(q("e4m3", Down, 1.01), 1.0);
    assert_eq!(q("e4m3", Down, -1.01), -1.125);
    assert_eq!(q("e4m3", Odd, 1.01), 1.125);
    assert_eq!(q("e4m3", Odd, 1.13), 1.125);
    assert_eq!(q("e4m3", Odd, 1.0), 1.0);
    // Overflow: 248 is the tie between max 240 and 256.
    assert_eq!(q("e4m3", Nearest, 247.0), 240.0);
    assert_eq!(q("e4m3", Nearest, 248.0), f32::INFINITY);
    assert_eq!(q("e4m3(saturate=true)", Nearest, 1e9), 240.0);
    assert_eq!(q("e4m3", TowardZero, 1e9), 240.0);
    assert_eq!(q("e4m3", Up, -1e9), -240.0);
    assert_eq!(q("e4m3", Down, -1e9), f32::NEG_INFINITY);
    // 464 is the tie between 448 (mantissa 110, even) and 480 (not a value: overflow).
    assert_eq!(q("e4m3fn", Nearest, 464.0), 448.0);
    assert!(q("e4m3fn", Nearest, 465.0).is_nan());
    assert_eq!(q("e4m3fn", Nearest, 463.0), 448.0);
    assert_eq!(q("e4m3fn(saturate=true)", Nearest, f32::INFINITY), 448.0);
    assert!(q("e4m3fn", Nearest, f32::NEG_INFINITY).is_nan());
    // Signed zero is kept for floats, dropped for P3109 and fixed point.
    assert_eq!(q("e4m3", Nearest, -1e-9).to_bits(), (-0.0f32).to_bits());
    assert_eq!(q("binary8(p=3)", Nearest, -1e-9).to_bits(), 0);
    assert_eq!(q("fixed(wl=8,fl=4)", Nearest, -0.01).to_bits(), 0);
    // Without subnormals, values round between 0 and the smallest normal (2^-6 for e4m3).
    assert_eq!(
        q("e4m3(subnormals=false)", Nearest, 2f32.powi(-7) * 1.01),
        2f32.powi(-6)
    );
    assert_eq!(q("e4m3(subnormals=false)", Nearest, 2f32.powi(-7)), 0.0);
    // man = 0: ties go to the even exponent field (fields of 2^0 and 2^1 are 3 and 4 in (3,0)).
    assert_eq!(q("float(exp=3,man=0)", Nearest, 1.5), 2.0);
    assert_eq!(q("float(exp=3,man=0)", Nearest, 3.0), 2.0);
}

#[test]
fn fixed_point_examples() {
    use Rounding::*;
    assert_eq!(q("fixed(wl=8,fl=4)", Nearest, 0.03125), 0.0);
    assert_eq!(q("fixed(wl=8,fl=4)", Nearest, 0.09375), 0.125);
    assert_eq!(q("fixed(wl=8,fl=4)", Nearest, 100.0), 7.9375);
    assert_eq!(q("fixed(wl=8,fl=4)", Nearest, -100.0), -8.0);
    assert_eq!(
        q("fixed(wl=8,fl=4,symmetric=true)", Nearest, -100.0),
        -7.9375
    );
    assert_eq!(q("fixed(wl=8,fl=4,clamp=false)", Nearest, 100.03), 100.0);
    assert_eq!(q("fixed(wl=8,fl=4)", Nearest, f32::INFINITY), 7.9375);
    assert_eq!(
        q("fixed(wl=8,fl=4,clamp=false)", Nearest, f32::NEG_INFINITY),
        f32::NEG_INFINITY
    );
    assert_eq!(q("fixed(wl=8,fl=4)", Up, 0.001), 0.0625);
    assert_eq!(q("fixed(wl=8,fl=4)", Down, -0.001), -0.0625);
    // wl = 32: the upper end 2^31 - 1 quanta is not a binary32 value, it rounds toward zero.
    assert_eq!(q("fixed(wl=32,fl=0)", Nearest, 3e9), 2147483520.0);
    assert_eq!(q("fixed(wl=32,fl=0)", Nearest, -3e9), -2147483648.0);
}

#[test]
fn block_examples() {
    let block = |spec: &str, data: &[f32], shape: &[usize]| {
        Quantizer::nearest(format(spec))
            .quantize_slice(data, shape)
            .unwrap()
    };
    // One block: e = floor(log2 6) = 2, wl = 4: grid 2^(2+2-4) = 1, clamp ±7.
    assert_eq!(
        block("block(wl=4)", &[6.0, 0.5, 1.5, -2.5, 7.9], &[5]),
        vec![6.0, 0.0, 2.0, -2.0, 7.0]
    );
    // Per row (dim 0) and per column (dim 1) of a 2x2 matrix.
    assert_eq!(
        block("block(wl=4,dim=0)", &[8.0, 1.3, 0.5, 0.126], &[2, 2]),
        vec![8.0, 2.0, 0.5, 0.125]
    );
    assert_eq!(
        block("block(wl=4,dim=1)", &[8.0, 1.3, 0.5, 0.126], &[2, 2]),
        vec![8.0, 1.25, 0.0, 0.25]
    );
    // Inf saturates to the block's bound, NaN is kept and ignored for e.
    let out = block("block(wl=4)", &[f32::INFINITY, 3.0, f32::NAN], &[3]);
    assert_eq!(out[0], 3.5);
    assert!(out[2].is_nan());
    // No finite nonzero element: values are kept.
    assert_eq!(
        block("block(wl=4)", &[0.0, -0.0, f32::INFINITY], &[3])[2],
        f32::INFINITY
    );
    assert!(
        Quantizer::nearest(format("block(wl=4,dim=2)"))
            .quantize_slice(&[1.0; 4], &[2, 2])
            .is_err()
    );
    assert!(
        Quantizer::nearest(format("block(wl=4)"))
            .quantize_slice(&[1.0; 4], &[3])
            .is_err()
    );
}

#[test]
fn superfp_examples() {
    // (4,3) with one log binade at each end: bias 8, linear exponents [-7, 6],
    // powers from 2^(-7-8+1) = 2^-14 up to 2^top, top = 6 + 8 - 1 = 13.
    let f = format("superfp(exp=4,man=3,binades=1)");
    let Format::SuperFp(s) = f else {
        unreachable!()
    };
    assert_eq!(
        (s.min_exp(), s.max_exp(), s.lowest_power(), s.top()),
        (-7, 6, -14, 13)
    );
    let n = |x: f32| q("superfp(exp=4,man=3,binades=1)", Rounding::Nearest, x);
    assert_eq!(n(1.0625), 1.0);
    assert_eq!(n(1.5 * 2f32.powi(8)), 2f32.powi(9));
    assert_eq!(n(1.49 * 2f32.powi(8)), 2f32.powi(8));
    assert_eq!(n(1.49 * 2f32.powi(13)), 2f32.powi(13));
    assert_eq!(n(1.5 * 2f32.powi(13)), f32::INFINITY);
    assert_eq!(
        q(
            "superfp(exp=4,man=3,binades=1,saturate=true)",
            Rounding::Nearest,
            1e30
        ),
        2f32.powi(13)
    );
    assert_eq!(n(2f32.powi(-15)), 2f32.powi(-14));
    assert_eq!(n(0.99 * 2f32.powi(-15)), 0.0);
    assert_eq!(n(-0.99 * 2f32.powi(-15)).to_bits(), (-0.0f32).to_bits());
}
