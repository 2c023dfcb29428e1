//! Unquantized basics: ReLU, Flatten, Embedding, Dropout, Sequential.

use super::{Module, prefixed};
use crate::error::{NnError, Result};
use crate::seeds::SeedStream;
use lowp_formats::philox::elementwise_word;
use lowp_tensor::{Device, Tensor};
use std::sync::atomic::{AtomicBool, Ordering};

/// `max(x, 0)` element-wise (any shape). Backward: `g` where `x > 0`, else 0.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReLU;

impl Module for ReLU {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(x.relu()?)
    }
}

/// Merges axes `start_dim..=end_dim` (torch defaults 1 and -1): `[N, C, H, W] -> [N, C·H·W]`.
#[derive(Debug, Clone, Copy)]
pub struct Flatten {
    /// First merged axis.
    pub start_dim: isize,
    /// Last merged axis.
    pub end_dim: isize,
}

impl Default for Flatten {
    fn default() -> Self {
        Self {
            start_dim: 1,
            end_dim: -1,
        }
    }
}

impl Module for Flatten {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(x.flatten(self.start_dim, self.end_dim)?)
    }
}

/// A lookup table `weight [num_embeddings, embedding_dim]` (initialised `N(0, 1)` from `seed`).
/// Input: indices of any shape `S` (as binary32 integers); output `S + [embedding_dim]`.
/// Backward: the gradient rows summed into the looked-up rows.
#[derive(Debug, Clone)]
pub struct Embedding {
    /// The table (a parameter).
    pub weight: Tensor,
}

impl Embedding {
    /// A new table on `device`.
    pub fn new(
        num_embeddings: usize,
        embedding_dim: usize,
        device: &Device,
        seed: u64,
    ) -> Result<Self> {
        if num_embeddings == 0 || embedding_dim == 0 {
            return Err(NnError::layer(
                "Embedding",
                "num_embeddings and embedding_dim must be positive",
            ));
        }
        let weight =
            Tensor::randn(0.0, 1.0, &[num_embeddings, embedding_dim], seed, device)?.into_var();
        Ok(Self { weight })
    }

    /// Looks up `indices` (shape `shape`): output `shape + [embedding_dim]`.
    pub fn lookup(&self, indices: &[u32], shape: &[usize]) -> Result<Tensor> {
        let count: usize = shape.iter().product();
        if count != indices.len() {
            return Err(NnError::layer(
                "Embedding",
                format!("{} indices for shape {shape:?}", indices.len()),
            ));
        }
        let rows = self.weight.shape()[0];
        if let Some(bad) = indices.iter().find(|&&i| i as usize >= rows) {
            return Err(NnError::layer(
                "Embedding",
                format!("index {bad} out of range for {rows} embeddings"),
            ));
        }
        let mut out = shape.to_vec();
        out.push(self.weight.shape()[1]);
        Ok(self.weight.index_select(0, indices)?.reshape(&out)?)
    }
}

impl Module for Embedding {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let values = x.to_vec()?;
        let indices = values
            .iter()
            .map(|&v| {
                if v >= 0.0 && v.fract() == 0.0 && v < u32::MAX as f32 {
                    Ok(v as u32)
                } else {
                    Err(NnError::layer(
                        "Embedding",
                        format!("index {v} is not a non-negative integer"),
                    ))
                }
            })
            .collect::<Result<Vec<_>>>()?;
        self.lookup(&indices, x.shape())
    }

    fn parameters(&self) -> Vec<(String, Tensor)> {
        vec![("weight".to_string(), self.weight.clone())]
    }
}

/// Inverted dropout: in training mode `y = x · m / (1 - p)` with `m_i = 1` iff
/// `u_i >= p`, `u_i = (word_i >> 8) · 2^-24`, word i of Philox keyed by the call's seed
/// (stream from `seed`, role 0: see [`crate::seeds`]); identity in evaluation mode.
#[derive(Debug)]
pub struct Dropout {
    p: f32,
    training: AtomicBool,
    seeds: SeedStream,
}

impl Dropout {
    /// Dropout with probability `p` in `[0, 1)`, in training mode.
    pub fn new(p: f32, seed: u64) -> Result<Self> {
        if !(0.0..1.0).contains(&p) {
            return Err(NnError::layer(
                "Dropout",
                format!("p = {p} is not in [0, 1)"),
            ));
        }
        Ok(Self {
            p,
            training: AtomicBool::new(true),
            seeds: SeedStream::new(seed),
        })
    }
}

impl Module for Dropout {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        if !self.training.load(Ordering::Relaxed) || self.p == 0.0 {
            return Ok(x.clone());
        }
        let seed = self.seeds.next_call().seed(0);
        let keep = 1.0 / (1.0 - self.p);
        let mask: Vec<f32> = (0..x.len() as u64)
            .map(|i| {
                let u = (elementwise_word(seed, i) >> 8) as f32 * (1.0 / 16_777_216.0);
                if u >= self.p { keep } else { 0.0 }
            })
            .collect();
        let mask = Tensor::from_vec(mask, x.shape(), x.device())?;
        Ok(x.mul(&mask)?)
    }

    fn set_training(&self, training: bool) {
        self.training.store(training, Ordering::Relaxed);
    }
}

/// Modules applied in order; parameter names are prefixed with the module's index (`0.weight`).
#[derive(Default)]
pub struct Sequential {
    layers: Vec<Box<dyn Module>>,
}

impl Sequential {
    /// An empty sequence.
    pub fn new() -> Self {
        Self::default()
    }
    /// Appends a module (builder style).
    pub fn with(mut self, layer: impl Module + 'static) -> Self {
        self.layers.push(Box::new(layer));
        self
    }
    /// Appends a module.
    pub fn push(&mut self, layer: impl Module + 'static) {
        self.layers.push(Box::new(layer));
    }
    /// Number of modules.
    pub fn len(&self) -> usize {
        self.layers.len()
    }
    /// Whether there are no modules.
    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }
}

impl Module for Sequential {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut x = x.clone();
        for layer in &self.layers {
            x = layer.forward(&x)?;
        }
        Ok(x)
    }

    fn parameters(&self) -> Vec<(String, Tensor)> {
        self.layers
            .iter()
            .enumerate()
            .flat_map(|(i, layer)| prefixed(&i.to_string(), layer.parameters()))
            .collect()
    }

    fn buffers(&self) -> Vec<(String, Tensor)> {
        self.layers
            .iter()
            .enumerate()
            .flat_map(|(i, layer)| prefixed(&i.to_string(), layer.buffers()))
            .collect()
    }

    fn set_training(&self, training: bool) {
        for layer in &self.layers {
            layer.set_training(training);
        }
    }
}
