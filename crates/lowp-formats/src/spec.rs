//! The SPEC grammar: parse a format from text and print it back.
//!
//! ```text
//! SPEC   := PRESET [ "(" OVERRIDES ")" ] | FAMILY "(" KEY=VALUE {"," KEY=VALUE} ")"
//! PRESET := fp32 | tf32 | bf16 | fp16 | e5m2 | e4m3 | e4m3fn        (overrides: subnormals, saturate)
//! float(exp=E, man=M, subnormals=B, saturate=B)
//! fixed(wl=W, fl=F, clamp=B, symmetric=B)
//! block(wl=W, dim=D)
//! binary8(p=P, signed=B, subnormals=B, overflow=saturate_infty|saturate_maxfloat|saturate_maxfloat2)
//! binary(k=K, p=P, signed=B, subnormals=B, overflow=...)
//! superfp(exp=E, man=M, binades=N|LO:HI, saturate=B)
//! ```
//! Defaults: subnormals=true, saturate=false, clamp=true, symmetric=false, dim=-1, signed=true,
//! overflow=saturate_maxfloat, binades=1. Sizes (exp, man, wl, fl, p, k) are required.

use crate::block::BlockFloatingPoint;
use crate::error::{FormatError, Result};
use crate::fixed::FixedPoint;
use crate::float::{FloatKind, FloatingPoint};
use crate::format::Format;
use crate::p3109::{OverflowPolicy, P3109};
use crate::superfp::SuperNormalFloat;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;
use core::str::FromStr;

/// The `key=value` pairs of one SPEC, consumed as they are read so that leftovers are reported.
struct Keys<'a> {
    input: &'a str,
    pairs: Vec<(&'a str, &'a str)>,
}

impl<'a> Keys<'a> {
    fn parse(input: &'a str, body: &'a str) -> Result<Self> {
        let mut pairs: Vec<(&str, &str)> = Vec::new();
        for item in body
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
        {
            let Some((key, value)) = item.split_once('=') else {
                return Err(parse_error(
                    input,
                    alloc::format!("`{item}` is not key=value"),
                ));
            };
            let key = key.trim();
            if pairs.iter().any(|(seen, _)| *seen == key) {
                return Err(parse_error(
                    input,
                    alloc::format!("key `{key}` given twice"),
                ));
            }
            pairs.push((key, value.trim()));
        }
        Ok(Self { input, pairs })
    }

    fn take(&mut self, key: &str) -> Option<&'a str> {
        let position = self.pairs.iter().position(|(k, _)| *k == key)?;
        Some(self.pairs.remove(position).1)
    }

    fn int<T: FromStr>(&mut self, key: &str) -> Result<Option<T>> {
        self.take(key)
            .map(|value| {
                value.parse::<T>().map_err(|_| {
                    parse_error(
                        self.input,
                        alloc::format!("{key} = `{value}` is not an integer in range"),
                    )
                })
            })
            .transpose()
    }

    fn required<T: FromStr>(&mut self, key: &str) -> Result<T> {
        self.int(key)?
            .ok_or_else(|| parse_error(self.input, alloc::format!("missing required key `{key}`")))
    }

    fn flag(&mut self, key: &str, default: bool) -> Result<bool> {
        match self.take(key) {
            None => Ok(default),
            Some("true") => Ok(true),
            Some("false") => Ok(false),
            Some(other) => Err(parse_error(
                self.input,
                alloc::format!("{key} = `{other}` must be true or false"),
            )),
        }
    }

    fn finish(self) -> Result<()> {
        match self.pairs.first() {
            None => Ok(()),
            Some((key, _)) => Err(parse_error(
                self.input,
                alloc::format!("unknown key `{key}`"),
            )),
        }
    }
}

fn parse_error(input: &str, message: String) -> FormatError {
    FormatError::Parse {
        input: input.to_string(),
        message,
    }
}

impl FromStr for Format {
    type Err = FormatError;

    /// Parses a SPEC (see the module documentation).
    fn from_str(input: &str) -> Result<Self> {
        let text = input.trim();
        let (name, body) = match text.find('(') {
            Some(open) => {
                if !text.ends_with(')') {
                    return Err(parse_error(input, "missing closing `)`".to_string()));
                }
                (text[..open].trim(), &text[open + 1..text.len() - 1])
            }
            None => (text, ""),
        };
        if body.contains('(') || body.contains(')') {
            return Err(parse_error(input, "unbalanced parentheses".to_string()));
        }
        let mut keys = Keys::parse(input, body)?;
        let format = match name {
            "float" => Format::Float(FloatingPoint::new(
                keys.required("exp")?,
                keys.required("man")?,
                keys.flag("subnormals", true)?,
                keys.flag("saturate", false)?,
            )?),
            "fixed" => Format::Fixed(FixedPoint::new(
                keys.required("wl")?,
                keys.required("fl")?,
                keys.flag("clamp", true)?,
                keys.flag("symmetric", false)?,
            )?),
            "block" => Format::Block(BlockFloatingPoint::new(
                keys.required("wl")?,
                keys.int("dim")?.unwrap_or(-1),
            )?),
            "binary8" | "binary" => {
                let k = if name == "binary8" {
                    8
                } else {
                    keys.required("k")?
                };
                let p = keys.required("p")?;
                let signed = keys.flag("signed", true)?;
                let subnormals = keys.flag("subnormals", true)?;
                let overflow = match keys.take("overflow") {
                    None => OverflowPolicy::SaturateMaxFloat,
                    Some(value) => OverflowPolicy::from_name(value).ok_or_else(|| {
                        parse_error(
                            input,
                            alloc::format!(
                                "overflow = `{value}` must be saturate_infty, saturate_maxfloat or saturate_maxfloat2"
                            ),
                        )
                    })?,
                };
                Format::P3109(P3109::new(k, p, signed, subnormals, overflow)?)
            }
            "superfp" => {
                let exp = keys.required("exp")?;
                let man = keys.required("man")?;
                let (lo, hi) = match keys.take("binades") {
                    None => (1, 1),
                    Some(value) => parse_binades(input, value)?,
                };
                Format::SuperFp(SuperNormalFloat::new(
                    exp,
                    man,
                    lo,
                    hi,
                    keys.flag("saturate", false)?,
                )?)
            }
            preset => match Format::preset(preset)? {
                Format::Float(f) => {
                    let subnormals = keys.flag("subnormals", true)?;
                    let saturate = keys.flag("saturate", false)?;
                    Format::Float(match f.kind() {
                        FloatKind::Ieee => {
                            FloatingPoint::new(f.exp(), f.man(), subnormals, saturate)?
                        }
                        FloatKind::OcpE4m3Fn => FloatingPoint::ocp_e4m3fn(subnormals, saturate),
                    })
                }
                other => other,
            },
        };
        keys.finish()?;
        Ok(format)
    }
}

fn parse_binades(input: &str, value: &str) -> Result<(u32, u32)> {
    let number = |text: &str| {
        text.trim().parse::<u32>().map_err(|_| {
            parse_error(
                input,
                alloc::format!("binades = `{value}` must be N or LO:HI"),
            )
        })
    };
    match value.split_once(':') {
        Some((lo, hi)) => Ok((number(lo)?, number(hi)?)),
        None => {
            let n = number(value)?;
            Ok((n, n))
        }
    }
}

impl fmt::Display for Format {
    /// The canonical SPEC: a preset name when the format is an unmodified preset, else the family
    /// with every key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(name) = self.preset_name() {
            return f.write_str(name);
        }
        match self {
            Format::Float(x) if x.kind() == FloatKind::OcpE4m3Fn => write!(
                f,
                "e4m3fn(subnormals={},saturate={})",
                x.subnormals(),
                x.saturate()
            ),
            Format::Float(x) => write!(
                f,
                "float(exp={},man={},subnormals={},saturate={})",
                x.exp(),
                x.man(),
                x.subnormals(),
                x.saturate()
            ),
            Format::Fixed(x) => write!(
                f,
                "fixed(wl={},fl={},clamp={},symmetric={})",
                x.wl(),
                x.fl(),
                x.clamp(),
                x.symmetric()
            ),
            Format::Block(x) => write!(f, "block(wl={},dim={})", x.wl(), x.dim()),
            Format::P3109(x) => {
                if x.k() == 8 {
                    write!(f, "binary8(p={}", x.p())?;
                } else {
                    write!(f, "binary(k={},p={}", x.k(), x.p())?;
                }
                write!(
                    f,
                    ",signed={},subnormals={},overflow={})",
                    x.signed(),
                    x.subnormals(),
                    x.overflow().name()
                )
            }
            Format::SuperFp(x) => write!(
                f,
                "superfp(exp={},man={},binades={}:{},saturate={})",
                x.exp(),
                x.man(),
                x.binades_lo(),
                x.binades_hi(),
                x.saturate()
            ),
        }
    }
}
