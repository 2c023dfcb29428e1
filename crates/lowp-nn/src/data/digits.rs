//! The digits data set, embedded in the binary: 1,797 handwritten digits of 8×8 pixels with
//! values 0..16 and labels 0..9 (UCI "Optical Recognition of Handwritten Digits", E. Alpaydin and
//! C. Kaynak, CC BY 4.0, as shipped by scikit-learn; see `crates/lowp-nn/data/README.md`).

use super::{DataError, Dataset, Result};
use flate2::read::GzDecoder;
use std::io::Read;

/// The gzip-compressed CSV: one sample a row, 64 pixel values then the label.
const DIGITS_CSV_GZ: &[u8] = include_bytes!("../../data/digits.csv.gz");

/// Pixels per image side.
pub const SIDE: usize = 8;
/// The number of classes.
pub const CLASSES: usize = 10;
/// The largest pixel value of the raw data.
pub const MAX_PIXEL: u32 = 16;

/// The whole embedded set: samples of shape `[1, 8, 8]` (channel, row, column) with pixel values
/// scaled to `pixel / 16` (exact in binary32), labels 0..9.
pub fn load() -> Result<Dataset> {
    let mut text = String::new();
    GzDecoder::new(DIGITS_CSV_GZ)
        .read_to_string(&mut text)
        .map_err(|error| malformed(format!("cannot decompress: {error}")))?;
    parse_csv(&text)
}

/// Parses digits CSV text: rows of 64 integers in 0..=16 then a label in 0..9.
pub fn parse_csv(text: &str) -> Result<Dataset> {
    let pixels = SIDE * SIDE;
    let mut features = Vec::new();
    let mut labels = Vec::new();
    for (line_index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let values: Vec<u32> = line
            .split(',')
            .map(|cell| cell.trim().parse::<u32>())
            .collect::<std::result::Result<_, _>>()
            .map_err(|_| malformed(format!("line {}: not a list of integers", line_index + 1)))?;
        if values.len() != pixels + 1 {
            return Err(malformed(format!(
                "line {}: {} values, expected {}",
                line_index + 1,
                values.len(),
                pixels + 1
            )));
        }
        if values[..pixels].iter().any(|&pixel| pixel > MAX_PIXEL) {
            return Err(malformed(format!(
                "line {}: pixel above {MAX_PIXEL}",
                line_index + 1
            )));
        }
        features.extend(
            values[..pixels]
                .iter()
                .map(|&pixel| pixel as f32 / MAX_PIXEL as f32),
        );
        labels.push(values[pixels] as usize);
    }
    Dataset::new(features, labels, vec![1, SIDE, SIDE], CLASSES)
        .map_err(|error| malformed(error.to_string()))
}

fn malformed(reason: String) -> DataError {
    DataError::Malformed {
        what: "digits".into(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_set_has_1797_samples_of_every_class() {
        let data = load().unwrap();
        assert_eq!(data.len(), 1797);
        assert_eq!(data.sample_shape(), &[1, 8, 8]);
        let mut per_class = [0usize; CLASSES];
        for &label in data.labels() {
            per_class[label] += 1;
        }
        assert!(per_class.iter().all(|&count| (170..=190).contains(&count)));
        assert!(data.features().iter().all(|&v| (0.0..=1.0).contains(&v)));
        // The first row of the file: 0,0,5,13,9,1,0,0,... label 0.
        assert_eq!(&data.features()[..4], &[0.0, 0.0, 5.0 / 16.0, 13.0 / 16.0]);
        assert_eq!(data.labels()[0], 0);
    }

    #[test]
    fn bad_rows_are_rejected() {
        let row = |label: &str| format!("{}{label}\n", "1,".repeat(64));
        assert_eq!(parse_csv(&row("3")).unwrap().labels(), &[3]);
        assert!(parse_csv(&row("10")).is_err());
        assert!(parse_csv("1,2,3\n").is_err());
        assert!(parse_csv(&row("x")).is_err());
        assert!(parse_csv(&format!("17,{}1\n", "1,".repeat(63))).is_err());
    }
}
