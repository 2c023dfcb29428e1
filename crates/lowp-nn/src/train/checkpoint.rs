//! Checkpoints: named binary32 tensors (model parameters, optimizer state) and string metadata
//! (step, epoch, run seed, loss-scaler state...) in one safetensors file, written atomically.
//!
//! The random streams of lowp are counter-based (Philox), so "the RNG position" of a run is just
//! its counters (epoch, step), which the driver stores in the metadata.

use super::files::{read, write_atomic};
use super::{Result, TrainError};
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// One tensor of a checkpoint: row-major binary32 `data` of `shape`.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredTensor {
    /// The dimensions.
    pub shape: Vec<usize>,
    /// The values, row-major (`shape.iter().product()` of them).
    pub data: Vec<f32>,
}

/// Named tensors and string metadata, saved as one safetensors file (dtype F32, little-endian).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Checkpoint {
    /// The tensors by name (e.g. `model.0.weight`, `optim.0.momentum`).
    pub tensors: BTreeMap<String, StoredTensor>,
    /// String metadata (the safetensors `__metadata__` map).
    pub metadata: BTreeMap<String, String>,
}

impl Checkpoint {
    /// Adds tensor `name`; errors when the name is taken or `data` does not fill `shape`.
    pub fn insert(&mut self, name: &str, shape: &[usize], data: &[f32]) -> Result<()> {
        if shape.iter().product::<usize>() != data.len() {
            return Err(invalid(format!(
                "tensor {name}: {} values do not fill shape {shape:?}",
                data.len()
            )));
        }
        if self.tensors.contains_key(name) {
            return Err(invalid(format!("tensor {name} stored twice")));
        }
        self.tensors.insert(
            name.to_string(),
            StoredTensor {
                shape: shape.to_vec(),
                data: data.to_vec(),
            },
        );
        Ok(())
    }

    /// Tensor `name`, or an error naming it.
    pub fn tensor(&self, name: &str) -> Result<&StoredTensor> {
        self.tensors
            .get(name)
            .ok_or_else(|| invalid(format!("tensor {name} is missing")))
    }

    /// Metadata entry `key` parsed as `T`, or an error naming it.
    pub fn meta<T: std::str::FromStr>(&self, key: &str) -> Result<T> {
        let value = self
            .metadata
            .get(key)
            .ok_or_else(|| invalid(format!("metadata {key} is missing")))?;
        value
            .parse()
            .map_err(|_| invalid(format!("metadata {key} = {value:?} is not valid")))
    }

    /// The safetensors bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let bytes: Vec<(&String, Vec<u8>)> = self
            .tensors
            .iter()
            .map(|(name, tensor)| {
                let raw = tensor.data.iter().flat_map(|v| v.to_le_bytes()).collect();
                (name, raw)
            })
            .collect();
        let views = bytes
            .iter()
            .map(|(name, raw)| {
                let shape = self.tensors[*name].shape.clone();
                TensorView::new(Dtype::F32, shape, raw).map(|view| (name.as_str(), view))
            })
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|error| invalid(error.to_string()))?;
        let metadata: HashMap<String, String> = self.metadata.clone().into_iter().collect();
        safetensors::serialize(views, Some(metadata)).map_err(|error| invalid(error.to_string()))
    }

    /// Parses safetensors bytes; every tensor must be F32.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let (_, header) =
            SafeTensors::read_metadata(bytes).map_err(|error| invalid(error.to_string()))?;
        let file = SafeTensors::deserialize(bytes).map_err(|error| invalid(error.to_string()))?;
        let mut checkpoint = Self {
            metadata: header
                .metadata()
                .clone()
                .unwrap_or_default()
                .into_iter()
                .collect(),
            ..Self::default()
        };
        for (name, view) in file.tensors() {
            if view.dtype() != Dtype::F32 {
                return Err(invalid(format!(
                    "tensor {name} has dtype {:?}, expected F32",
                    view.dtype()
                )));
            }
            let data: Vec<f32> = view
                .data()
                .as_chunks::<4>()
                .0
                .iter()
                .map(|chunk| f32::from_le_bytes(*chunk))
                .collect();
            checkpoint.insert(&name, view.shape(), &data)?;
        }
        Ok(checkpoint)
    }

    /// Writes the checkpoint to `path` atomically (temporary file, then rename).
    pub fn save(&self, path: &Path) -> Result<()> {
        write_atomic(path, &self.to_bytes()?)
    }

    /// Reads the checkpoint at `path`.
    pub fn load(path: &Path) -> Result<Self> {
        Self::from_bytes(&read(path)?).map_err(|error| match error {
            TrainError::Checkpoint { reason, .. } => TrainError::Checkpoint {
                path: path.display().to_string(),
                reason,
            },
            other => other,
        })
    }
}

fn invalid(reason: String) -> TrainError {
    TrainError::Checkpoint {
        path: "<bytes>".into(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Checkpoint {
        let mut checkpoint = Checkpoint::default();
        checkpoint
            .insert(
                "w",
                &[2, 3],
                &[1.0, -0.0, f32::MIN_POSITIVE / 4.0, 5.0, f32::NAN, 6.5],
            )
            .unwrap();
        checkpoint.insert("b", &[3], &[0.25, 0.5, 0.75]).unwrap();
        checkpoint.metadata.insert("step".into(), "42".into());
        checkpoint
    }

    fn same_bits(a: &Checkpoint, b: &Checkpoint) -> bool {
        a.metadata == b.metadata
            && a.tensors.len() == b.tensors.len()
            && a.tensors.iter().all(|(name, x)| {
                let y = &b.tensors[name];
                x.shape == y.shape
                    && x.data
                        .iter()
                        .map(|v| v.to_bits())
                        .eq(y.data.iter().map(|v| v.to_bits()))
            })
    }

    #[test]
    fn round_trips_every_bit_through_a_file() {
        let checkpoint = sample();
        let dir = std::env::temp_dir().join(format!("lowp-ckpt-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("run.safetensors");
        checkpoint.save(&path).unwrap();
        let loaded = Checkpoint::load(&path).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(same_bits(&checkpoint, &loaded));
        assert_eq!(loaded.meta::<u64>("step").unwrap(), 42);
        assert!(loaded.meta::<u64>("epoch").is_err());
        assert!(loaded.tensor("missing").is_err());
    }

    #[test]
    fn rejects_bad_tensors_and_bytes() {
        let mut checkpoint = sample();
        assert!(checkpoint.insert("w", &[1], &[0.0]).is_err());
        assert!(checkpoint.insert("x", &[2], &[0.0]).is_err());
        assert!(Checkpoint::from_bytes(b"not a safetensors file").is_err());
        let bytes = checkpoint.to_bytes().unwrap();
        assert!(Checkpoint::from_bytes(&bytes[..bytes.len() - 1]).is_err());
        assert!(Checkpoint::load(Path::new("/nonexistent/x.safetensors")).is_err());
    }
}
