//! [`Quantizer`]: a format, a rounding mode and a seed; the bit-exact scalar reference of every
//! quantize operation (SEMANTICS.md §2–§8).

use crate::error::{FormatError, Result};
use crate::format::Format;
use crate::philox::elementwise_word;
use crate::rounding::Rounding;
use alloc::string::ToString;
use alloc::vec::Vec;

/// Quantize to `format` with `rounding`; stochastic rounding draws element `i`'s word from
/// Philox4x32-10 keyed by `seed` (§3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Quantizer {
    format: Format,
    rounding: Rounding,
    seed: u64,
}

impl Quantizer {
    /// Checks that `rounding` is defined for `format` (superfp: nearest only) and that stochastic
    /// rounding uses 1 to 32 random bits.
    pub fn new(format: Format, rounding: Rounding, seed: u64) -> Result<Self> {
        if let Rounding::Stochastic { bits } = rounding {
            Rounding::stochastic(bits)?;
        }
        if matches!(format, Format::SuperFp(_)) && rounding != Rounding::Nearest {
            return Err(FormatError::UnsupportedRounding {
                rounding: rounding.name(),
                format: format.to_string(),
            });
        }
        Ok(Self {
            format,
            rounding,
            seed,
        })
    }

    /// Round-to-nearest-even quantizer of `format`.
    pub fn nearest(format: Format) -> Self {
        Self {
            format,
            rounding: Rounding::Nearest,
            seed: 0,
        }
    }

    /// The target format.
    pub fn format(&self) -> &Format {
        &self.format
    }
    /// The rounding mode.
    pub fn rounding(&self) -> Rounding {
        self.rounding
    }
    /// The stochastic-rounding seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }
    /// Whether this quantizer consumes random words.
    pub fn is_stochastic(&self) -> bool {
        matches!(self.rounding, Rounding::Stochastic { .. })
    }

    /// The random word of element `index` (0 for deterministic modes).
    #[inline]
    pub fn word(&self, index: u64) -> u32 {
        if self.is_stochastic() {
            elementwise_word(self.seed, index)
        } else {
            0
        }
    }

    /// Quantizes one binary32 pattern of an element-wise format with random word `word`.
    /// Block formats need their block's exponent: use [`Quantizer::quantize_slice`].
    #[inline(always)]
    pub fn quantize_bits(&self, x: u32, word: u32) -> Result<u32> {
        match &self.format {
            Format::Float(f) => Ok(f.grid().quantize_bits(x, self.rounding, word)),
            Format::P3109(p) => Ok(p.grid().quantize_bits(x, self.rounding, word)),
            Format::Fixed(f) => Ok(f.quantize_bits(x, self.rounding, word)),
            Format::SuperFp(s) => Ok(s.quantize_bits(x)),
            Format::Block(_) => Err(FormatError::Shape(
                "block formats quantize whole tensors (quantize_slice), not single elements"
                    .to_string(),
            )),
        }
    }

    /// Quantizes element `index` of a tensor (element-wise formats).
    pub fn quantize_value(&self, x: f32, index: u64) -> Result<f32> {
        self.quantize_bits(x.to_bits(), self.word(index))
            .map(f32::from_bits)
    }

    /// The scalar reference: quantizes a row-major tensor of `shape` (its product must equal
    /// `data.len()`; only block formats look at the axes).
    pub fn quantize_slice(&self, data: &[f32], shape: &[usize]) -> Result<Vec<f32>> {
        crate::check_shape(shape, data.len())?;
        match &self.format {
            Format::Block(block) => {
                let (block_of, blocks) = block.block_layout(shape, data.len())?;
                let mut max_magnitude = alloc::vec![0u32; blocks];
                for (x, &b) in data.iter().zip(&block_of) {
                    let magnitude = x.to_bits() & 0x7FFF_FFFF;
                    if magnitude < 0x7F80_0000 {
                        max_magnitude[b] = max_magnitude[b].max(magnitude);
                    }
                }
                Ok(data
                    .iter()
                    .zip(&block_of)
                    .enumerate()
                    .map(|(i, (x, &b))| {
                        let shared =
                            crate::block::BlockFloatingPoint::shared_exponent(max_magnitude[b]);
                        f32::from_bits(block.quantize_element(
                            x.to_bits(),
                            shared,
                            self.rounding,
                            self.word(i as u64),
                        ))
                    })
                    .collect())
            }
            _ => data
                .iter()
                .enumerate()
                .map(|(i, &x)| self.quantize_value(x, i as u64))
                .collect(),
        }
    }
}
