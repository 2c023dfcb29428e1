//! Data sets and loaders: labelled samples in memory ([`Dataset`]), the embedded digits set
//! ([`digits`]), MNIST IDX files ([`mnist`]), character-level text ([`text`]), and seeded
//! shuffling and batching ([`shuffle`]).
//!
//! Every random choice (train/test split, epoch order, text windows) is drawn from
//! Philox4x32-10 (SEMANTICS.md §3) with a fixed counter layout, documented in [`shuffle`], so it is
//! the same on every machine, backend and thread count.

pub mod digits;
pub mod mnist;
pub mod shuffle;
pub mod text;

pub use shuffle::{Batch, permutation};

/// What can go wrong while loading or slicing data.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The bytes are not in the expected layout.
    #[error("{what}: {reason}")]
    Malformed {
        /// What was being read (a file name or a data set name).
        what: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A parameter is out of its range.
    #[error("{0}")]
    Invalid(String),
}

/// Results of this module.
pub type Result<T> = std::result::Result<T, DataError>;

/// Labelled samples held in memory: `len()` samples of `sample_shape` each, row-major in
/// `features` (so `features.len() == len() * sample_shape.iter().product()`), with one class
/// label in `0..classes` per sample.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    features: Vec<f32>,
    labels: Vec<usize>,
    sample_shape: Vec<usize>,
    classes: usize,
}

impl Dataset {
    /// A data set from its parts; checks that the sizes agree and every label is below `classes`.
    pub fn new(
        features: Vec<f32>,
        labels: Vec<usize>,
        sample_shape: Vec<usize>,
        classes: usize,
    ) -> Result<Self> {
        let sample_len: usize = sample_shape.iter().product();
        if sample_len == 0 {
            return Err(DataError::Invalid(format!(
                "sample shape {sample_shape:?} has no elements"
            )));
        }
        if features.len() != labels.len() * sample_len {
            return Err(DataError::Invalid(format!(
                "{} feature values do not make {} samples of shape {sample_shape:?}",
                features.len(),
                labels.len()
            )));
        }
        if let Some(label) = labels.iter().find(|&&label| label >= classes) {
            return Err(DataError::Invalid(format!(
                "label {label} is not below the class count {classes}"
            )));
        }
        Ok(Self {
            features,
            labels,
            sample_shape,
            classes,
        })
    }

    /// The number of samples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The shape of one sample, e.g. `[1, 8, 8]` for a digit image (channels, height, width).
    pub fn sample_shape(&self) -> &[usize] {
        &self.sample_shape
    }

    /// Values per sample: the product of [`Self::sample_shape`].
    pub fn sample_len(&self) -> usize {
        self.sample_shape.iter().product()
    }

    /// The number of classes; labels lie in `0..classes()`.
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// All features, row-major (`len() × sample_len()`).
    pub fn features(&self) -> &[f32] {
        &self.features
    }

    /// All labels.
    pub fn labels(&self) -> &[usize] {
        &self.labels
    }

    /// The same samples seen with another shape of the same size (e.g. `[64]` for an MLP).
    pub fn reshaped(mut self, sample_shape: Vec<usize>) -> Result<Self> {
        let sample_len: usize = sample_shape.iter().product();
        if sample_len != self.sample_len() {
            return Err(DataError::Invalid(format!(
                "cannot view samples of shape {:?} as {sample_shape:?}",
                self.sample_shape
            )));
        }
        self.sample_shape = sample_shape;
        Ok(self)
    }

    /// The samples at `indices`, in that order, as one batch of shape `[indices.len(), sample...]`.
    /// Panics if an index is out of range (indices come from this crate's own orders).
    pub fn batch(&self, indices: &[usize]) -> Batch {
        let sample_len = self.sample_len();
        let mut features = Vec::with_capacity(indices.len() * sample_len);
        for &index in indices {
            features.extend_from_slice(&self.features[index * sample_len..][..sample_len]);
        }
        let mut shape = vec![indices.len()];
        shape.extend_from_slice(&self.sample_shape);
        Batch {
            features,
            shape,
            labels: indices.iter().map(|&index| self.labels[index]).collect(),
        }
    }

    /// The samples at `indices` as a new data set.
    pub fn subset(&self, indices: &[usize]) -> Self {
        let batch = self.batch(indices);
        Self {
            features: batch.features,
            labels: batch.labels,
            sample_shape: self.sample_shape.clone(),
            classes: self.classes,
        }
    }

    /// A seeded train/test split: the samples are put in the order
    /// [`permutation`]`(len, seed, shuffle::SPLIT_STREAM, 0)`; the first
    /// `round(len * test_fraction)` of that order are the test set (in that order), the rest the
    /// training set. `test_fraction` must lie in (0, 1) and leave both parts non-empty.
    pub fn split(&self, test_fraction: f64, seed: u64) -> Result<(Self, Self)> {
        let test_len = (self.len() as f64 * test_fraction).round() as usize;
        if !(test_fraction > 0.0 && test_fraction < 1.0) || test_len == 0 || test_len >= self.len()
        {
            return Err(DataError::Invalid(format!(
                "test fraction {test_fraction} does not split {} samples into two non-empty parts",
                self.len()
            )));
        }
        let order = permutation(self.len(), seed, shuffle::SPLIT_STREAM, 0);
        let (test, train) = order.split_at(test_len);
        Ok((self.subset(train), self.subset(test)))
    }

    /// The batches of one training epoch: the samples in the order
    /// [`permutation`]`(len, seed, shuffle::EPOCH_STREAM, epoch)`, cut into runs of `batch_size`
    /// (the last batch holds the remainder and may be smaller).
    pub fn epoch_batches(
        &self,
        batch_size: usize,
        seed: u64,
        epoch: u32,
    ) -> Result<impl Iterator<Item = Batch> + '_> {
        if batch_size == 0 {
            return Err(DataError::Invalid("batch size must be at least 1".into()));
        }
        let order = permutation(self.len(), seed, shuffle::EPOCH_STREAM, epoch);
        Ok(self.ordered_batches(order, batch_size))
    }

    /// The batches of an evaluation pass: samples in their stored order, runs of `batch_size`.
    pub fn sequential_batches(
        &self,
        batch_size: usize,
    ) -> Result<impl Iterator<Item = Batch> + '_> {
        if batch_size == 0 {
            return Err(DataError::Invalid("batch size must be at least 1".into()));
        }
        Ok(self.ordered_batches((0..self.len()).collect(), batch_size))
    }

    /// The number of batches of `batch_size` in one pass (the last may be partial).
    pub fn batch_count(&self, batch_size: usize) -> usize {
        self.len().div_ceil(batch_size.max(1))
    }

    fn ordered_batches(
        &self,
        order: Vec<usize>,
        batch_size: usize,
    ) -> impl Iterator<Item = Batch> + '_ {
        let batches = order.len().div_ceil(batch_size);
        (0..batches).map(move |index| {
            let end = ((index + 1) * batch_size).min(order.len());
            self.batch(&order[index * batch_size..end])
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counting(n: usize) -> Dataset {
        let features = (0..n * 2).map(|value| value as f32).collect();
        let labels = (0..n).map(|index| index % 3).collect();
        Dataset::new(features, labels, vec![2], 3).unwrap()
    }

    #[test]
    fn new_rejects_sizes_that_disagree_and_labels_out_of_range() {
        assert!(Dataset::new(vec![0.0; 5], vec![0, 1], vec![2], 2).is_err());
        assert!(Dataset::new(vec![0.0; 4], vec![0, 2], vec![2], 2).is_err());
        assert!(Dataset::new(vec![], vec![], vec![0], 2).is_err());
    }

    #[test]
    fn batch_gathers_samples_in_the_given_order() {
        let data = counting(4);
        let batch = data.batch(&[2, 0]);
        assert_eq!(batch.shape, vec![2, 2]);
        assert_eq!(batch.features, vec![4.0, 5.0, 0.0, 1.0]);
        assert_eq!(batch.labels, vec![2, 0]);
    }

    #[test]
    fn split_is_a_seeded_partition() {
        let data = counting(10);
        let (train, test) = data.split(0.3, 7).unwrap();
        assert_eq!((train.len(), test.len()), (7, 3));
        let mut firsts: Vec<f32> = train
            .features()
            .iter()
            .chain(test.features())
            .step_by(2)
            .copied()
            .collect();
        firsts.sort_by(f32::total_cmp);
        assert_eq!(firsts, (0..10).map(|i| (2 * i) as f32).collect::<Vec<_>>());
        assert_eq!(data.split(0.3, 7).unwrap(), (train.clone(), test));
        assert_ne!(data.split(0.3, 8).unwrap().0, train);
        assert!(data.split(0.0, 7).is_err());
        assert!(data.split(0.99, 7).is_err());
    }

    #[test]
    fn epoch_batches_cover_every_sample_once_and_change_with_the_epoch() {
        let data = counting(10);
        let batches: Vec<Batch> = data.epoch_batches(4, 1, 0).unwrap().collect();
        assert_eq!(
            batches.iter().map(|b| b.labels.len()).collect::<Vec<_>>(),
            vec![4, 4, 2]
        );
        let mut seen: Vec<f32> = batches
            .iter()
            .flat_map(|b| b.features.iter().step_by(2).copied())
            .collect();
        seen.sort_by(f32::total_cmp);
        assert_eq!(seen, (0..10).map(|i| (2 * i) as f32).collect::<Vec<_>>());
        let next: Vec<Batch> = data.epoch_batches(4, 1, 1).unwrap().collect();
        assert_ne!(batches, next);
        assert!(data.epoch_batches(0, 1, 0).is_err());
        assert_eq!(data.batch_count(4), 3);
    }

    #[test]
    fn reshaped_keeps_the_sample_size() {
        let data = counting(3);
        assert!(data.clone().reshaped(vec![3]).is_err());
        assert_eq!(data.reshaped(vec![1, 2]).unwrap().sample_shape(), &[1, 2]);
    }
}
