//! Character-level text for language models: a vocabulary of the characters a text uses, the
//! text as token ids, and seeded random windows for next-character prediction. The
//! tiny-shakespeare corpus (public domain, ~1.1 MB) is embedded, gzip-compressed.

use super::shuffle::{TEXT_STREAM, uniform_below};
use super::{DataError, Dataset, Result};
use flate2::read::GzDecoder;
use std::io::Read;

/// tiny-shakespeare, gzip-compressed (see `crates/lowp-nn/data/README.md`).
const SHAKESPEARE_GZ: &[u8] = include_bytes!("../../data/tiny-shakespeare.txt.gz");

/// A text as token ids over its own vocabulary: the distinct characters of the text in ascending
/// code-point order, token id = position in that order.
#[derive(Debug, Clone, PartialEq)]
pub struct TextCorpus {
    vocabulary: Vec<char>,
    tokens: Vec<u32>,
}

/// A batch of windows: `inputs` and `targets` are `batch × context` token ids, row-major;
/// `targets[b][t]` is the character after `inputs[b][t]`.
#[derive(Debug, Clone, PartialEq)]
pub struct TextBatch {
    /// Token ids, `batch × context`.
    pub inputs: Vec<u32>,
    /// The next token of each input position, `batch × context`.
    pub targets: Vec<u32>,
    /// `[batch, context]`.
    pub shape: [usize; 2],
}

impl TextCorpus {
    /// The corpus of `text` (at least two characters).
    pub fn new(text: &str) -> Result<Self> {
        let mut vocabulary: Vec<char> = text.chars().collect();
        vocabulary.sort_unstable();
        vocabulary.dedup();
        let tokens: Vec<u32> = text
            .chars()
            .map(|c| vocabulary.binary_search(&c).expect("in vocabulary") as u32)
            .collect();
        if tokens.len() < 2 {
            return Err(DataError::Invalid(
                "a text corpus needs at least two characters".into(),
            ));
        }
        Ok(Self { vocabulary, tokens })
    }

    /// The embedded tiny-shakespeare text.
    pub fn shakespeare() -> Result<Self> {
        let mut text = String::new();
        GzDecoder::new(SHAKESPEARE_GZ)
            .read_to_string(&mut text)
            .map_err(|error| DataError::Malformed {
                what: "tiny-shakespeare".into(),
                reason: format!("cannot decompress: {error}"),
            })?;
        Self::new(&text)
    }

    /// The vocabulary, in token-id order.
    pub fn vocabulary(&self) -> &[char] {
        &self.vocabulary
    }

    /// The token ids of the whole text.
    pub fn tokens(&self) -> &[u32] {
        &self.tokens
    }

    /// The text of `tokens` (ids out of range are skipped).
    pub fn decode(&self, tokens: &[u32]) -> String {
        tokens
            .iter()
            .filter_map(|&token| self.vocabulary.get(token as usize))
            .collect()
    }

    /// The ids of `text`, or an error naming the first character outside the vocabulary.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        text.chars()
            .map(|c| {
                self.vocabulary
                    .binary_search(&c)
                    .map(|id| id as u32)
                    .map_err(|_| {
                        DataError::Invalid(format!("character {c:?} is not in the vocabulary"))
                    })
            })
            .collect()
    }

    /// Splits at `round(len * (1 - validation_fraction))` tokens: the head for training, the tail
    /// for validation; both keep the whole vocabulary.
    pub fn split(&self, validation_fraction: f64) -> Result<(Self, Self)> {
        let cut = (self.tokens.len() as f64 * (1.0 - validation_fraction)).round() as usize;
        if !(validation_fraction > 0.0 && validation_fraction < 1.0)
            || cut < 2
            || self.tokens.len() - cut < 2
        {
            return Err(DataError::Invalid(format!(
                "validation fraction {validation_fraction} does not split {} tokens into two parts",
                self.tokens.len()
            )));
        }
        let part = |tokens: &[u32]| Self {
            vocabulary: self.vocabulary.clone(),
            tokens: tokens.to_vec(),
        };
        Ok((part(&self.tokens[..cut]), part(&self.tokens[cut..])))
    }

    /// The first `max_tokens` tokens cut into consecutive windows of `context + 1` tokens that
    /// overlap by one (window `i` starts at `i * context`), as a [`Dataset`] for the classifier
    /// driver: samples of shape `[context + 1]` holding the token ids (exact in binary32), label =
    /// the window's last token, classes = the vocabulary size. A language model reads tokens
    /// `0..context` and predicts tokens `1..=context` of each window.
    pub fn window_dataset(&self, context: usize, max_tokens: usize) -> Result<Dataset> {
        let tokens = &self.tokens[..max_tokens.min(self.tokens.len())];
        if context == 0 || tokens.len() < context + 1 {
            return Err(DataError::Invalid(format!(
                "cannot cut windows of {context} + 1 tokens from {} tokens",
                tokens.len()
            )));
        }
        let windows = (tokens.len() - 1) / context;
        let mut features = Vec::with_capacity(windows * (context + 1));
        let mut labels = Vec::with_capacity(windows);
        for window in 0..windows {
            let slice = &tokens[window * context..window * context + context + 1];
            features.extend(slice.iter().map(|&token| token as f32));
            labels.push(slice[context] as usize);
        }
        Dataset::new(features, labels, vec![context + 1], self.vocabulary.len())
    }

    /// The windows of training step `step`: row `b` starts at
    /// `uniform_below(seed, TEXT_STREAM, b, step, len - context)` (see [`super::shuffle`]) and
    /// holds `context` tokens; its targets are the same window shifted by one.
    pub fn windows(&self, batch: usize, context: usize, seed: u64, step: u64) -> Result<TextBatch> {
        if batch == 0 || context == 0 || context >= self.tokens.len() {
            return Err(DataError::Invalid(format!(
                "cannot cut {batch} windows of {context} tokens from {} tokens",
                self.tokens.len()
            )));
        }
        let starts = (self.tokens.len() - context) as u64;
        let mut inputs = Vec::with_capacity(batch * context);
        let mut targets = Vec::with_capacity(batch * context);
        for row in 0..batch {
            let start = uniform_below(seed, TEXT_STREAM, row as u32, step, starts) as usize;
            inputs.extend_from_slice(&self.tokens[start..start + context]);
            targets.extend_from_slice(&self.tokens[start + 1..start + context + 1]);
        }
        Ok(TextBatch {
            inputs,
            targets,
            shape: [batch, context],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vocabulary_is_sorted_and_round_trips() {
        let corpus = TextCorpus::new("hello world").unwrap();
        assert_eq!(
            corpus.vocabulary(),
            &[' ', 'd', 'e', 'h', 'l', 'o', 'r', 'w']
        );
        assert_eq!(corpus.decode(corpus.tokens()), "hello world");
        assert_eq!(corpus.encode("low").unwrap(), vec![4, 5, 7]);
        assert!(corpus.encode("z").is_err());
        assert!(TextCorpus::new("a").is_err());
    }

    #[test]
    fn windows_are_seeded_and_targets_are_shifted_by_one() {
        let corpus = TextCorpus::new("abcdefghijklmnopqrstuvwxyz").unwrap();
        let batch = corpus.windows(3, 5, 11, 0).unwrap();
        assert_eq!(batch.shape, [3, 5]);
        for row in 0..3 {
            let inputs = &batch.inputs[row * 5..][..5];
            let targets = &batch.targets[row * 5..][..5];
            assert_eq!(&inputs[1..], &targets[..4]);
            assert_eq!(targets[4], inputs[4] + 1);
        }
        assert_eq!(batch, corpus.windows(3, 5, 11, 0).unwrap());
        assert_ne!(batch, corpus.windows(3, 5, 11, 1).unwrap());
        assert!(corpus.windows(3, 26, 11, 0).is_err());
    }

    #[test]
    fn window_dataset_overlaps_windows_by_one_token() {
        let corpus = TextCorpus::new("abcdefghij").unwrap();
        let data = corpus.window_dataset(3, 100).unwrap();
        assert_eq!(data.len(), 3);
        assert_eq!(data.sample_shape(), &[4]);
        assert_eq!(
            &data.features()[..8],
            &[0.0, 1.0, 2.0, 3.0, 3.0, 4.0, 5.0, 6.0]
        );
        assert_eq!(data.labels(), &[3, 6, 9]);
        assert_eq!(data.classes(), 10);
        assert_eq!(corpus.window_dataset(3, 7).unwrap().len(), 2);
        assert!(corpus.window_dataset(10, 100).is_err());
    }

    #[test]
    fn shakespeare_is_embedded_and_splits() {
        let corpus = TextCorpus::shakespeare().unwrap();
        assert!(corpus.tokens().len() > 1_000_000);
        assert_eq!(corpus.vocabulary().len(), 65);
        assert!(
            corpus
                .decode(&corpus.tokens()[..9])
                .starts_with("First Cit")
        );
        let (train, validation) = corpus.split(0.1).unwrap();
        assert_eq!(
            train.tokens().len() + validation.tokens().len(),
            corpus.tokens().len()
        );
        assert!(corpus.split(1.0).is_err());
    }
}
