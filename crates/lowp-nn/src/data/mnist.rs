//! MNIST-style IDX files (LeCun et al.): an images file (magic `0x00000803`, big-endian u32 count,
//! rows, columns, then `count × rows × columns` unsigned bytes) and a labels file (magic
//! `0x00000801`, count, then one byte a label). Files compressed with gzip (`.gz`) are read too.
//! lowp does not ship MNIST; users who have the files load them with [`load`].

use super::{DataError, Dataset, Result};
use flate2::read::GzDecoder;
use std::io::Read;
use std::path::Path;

/// Magic number of an IDX file of unsigned bytes with 3 dimensions (images).
pub const IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic number of an IDX file of unsigned bytes with 1 dimension (labels).
pub const LABELS_MAGIC: u32 = 0x0000_0801;
/// The number of classes of MNIST-style labels.
pub const CLASSES: usize = 10;

/// Loads an images file and a labels file: samples of shape `[1, rows, columns]` with pixel
/// values `byte / 255` (one correctly rounded binary32 division), labels 0..9.
pub fn load(images: &Path, labels: &Path) -> Result<Dataset> {
    parse(&read(images)?, &read(labels)?).map_err(|error| {
        with_what(
            error,
            &format!("{} + {}", images.display(), labels.display()),
        )
    })
}

/// Parses the bytes of an images file and a labels file (each raw or gzip-compressed).
pub fn parse(images: &[u8], labels: &[u8]) -> Result<Dataset> {
    let images = gunzip_if_needed(images)?;
    let labels = gunzip_if_needed(labels)?;
    let (image_dims, pixels) = parse_idx(&images, IMAGES_MAGIC, 3)?;
    let (label_dims, label_bytes) = parse_idx(&labels, LABELS_MAGIC, 1)?;
    if image_dims[0] != label_dims[0] {
        return Err(malformed(format!(
            "{} images but {} labels",
            image_dims[0], label_dims[0]
        )));
    }
    let features = pixels.iter().map(|&byte| f32::from(byte) / 255.0).collect();
    let labels = label_bytes
        .iter()
        .map(|&label| usize::from(label))
        .collect();
    Dataset::new(
        features,
        labels,
        vec![1, image_dims[1], image_dims[2]],
        CLASSES,
    )
    .map_err(|error| malformed(error.to_string()))
}

/// Writes an IDX file of unsigned bytes: `magic`, the big-endian dimensions, then `data`
/// (the inverse of the parser; used to make test files).
pub fn idx_bytes(magic: u32, dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut bytes = magic.to_be_bytes().to_vec();
    for dim in dims {
        bytes.extend_from_slice(&dim.to_be_bytes());
    }
    bytes.extend_from_slice(data);
    bytes
}

/// The dimensions and data of an IDX byte file with `rank` dimensions and magic `magic`.
fn parse_idx(bytes: &[u8], magic: u32, rank: usize) -> Result<(Vec<usize>, &[u8])> {
    let header_len = 4 + 4 * rank;
    if bytes.len() < header_len {
        return Err(malformed(format!(
            "{} bytes is shorter than the IDX header",
            bytes.len()
        )));
    }
    let word = |index: usize| {
        u32::from_be_bytes(bytes[4 * index..4 * index + 4].try_into().expect("4 bytes"))
    };
    if word(0) != magic {
        return Err(malformed(format!(
            "magic number {:#010x}, expected {magic:#010x}",
            word(0)
        )));
    }
    let dims: Vec<usize> = (1..=rank).map(|index| word(index) as usize).collect();
    let len = dims
        .iter()
        .try_fold(1usize, |product, &dim| product.checked_mul(dim))
        .ok_or_else(|| malformed("dimensions overflow".into()))?;
    let data = &bytes[header_len..];
    if data.len() != len {
        return Err(malformed(format!(
            "dimensions {dims:?} need {len} bytes of data, the file has {}",
            data.len()
        )));
    }
    Ok((dims, data))
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| DataError::Io {
        path: path.display().to_string(),
        source,
    })
}

fn gunzip_if_needed(bytes: &[u8]) -> Result<std::borrow::Cow<'_, [u8]>> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        GzDecoder::new(bytes)
            .read_to_end(&mut out)
            .map_err(|error| malformed(format!("cannot decompress: {error}")))?;
        Ok(out.into())
    } else {
        Ok(bytes.into())
    }
}

fn malformed(reason: String) -> DataError {
    DataError::Malformed {
        what: "IDX".into(),
        reason,
    }
}

fn with_what(error: DataError, what: &str) -> DataError {
    match error {
        DataError::Malformed { reason, .. } => DataError::Malformed {
            what: what.into(),
            reason,
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::Compression;
    use flate2::write::GzEncoder;
    use std::io::Write;

    fn small_files() -> (Vec<u8>, Vec<u8>) {
        let pixels: Vec<u8> = (0..3 * 2 * 2).map(|value| (value * 20) as u8).collect();
        (
            idx_bytes(IMAGES_MAGIC, &[3, 2, 2], &pixels),
            idx_bytes(LABELS_MAGIC, &[3], &[7, 0, 9]),
        )
    }

    #[test]
    fn loads_idx_files_written_to_disk_raw_and_gzipped() {
        let (images, labels) = small_files();
        let dir = std::env::temp_dir().join(format!("lowp-mnist-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut gz = GzEncoder::new(Vec::new(), Compression::default());
        gz.write_all(&images).unwrap();
        std::fs::write(dir.join("images.idx3-ubyte.gz"), gz.finish().unwrap()).unwrap();
        std::fs::write(dir.join("labels.idx1-ubyte"), &labels).unwrap();
        let data = load(
            &dir.join("images.idx3-ubyte.gz"),
            &dir.join("labels.idx1-ubyte"),
        )
        .unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(data.len(), 3);
        assert_eq!(data.sample_shape(), &[1, 2, 2]);
        assert_eq!(data.labels(), &[7, 0, 9]);
        assert_eq!(&data.features()[..2], &[0.0, 20.0 / 255.0]);
    }

    #[test]
    fn bad_files_are_rejected_with_a_reason() {
        let (images, labels) = small_files();
        let short_labels = idx_bytes(LABELS_MAGIC, &[2], &[7, 0]);
        assert!(parse(&images, &short_labels).is_err());
        assert!(parse(&labels, &images).is_err());
        assert!(parse(&images[..images.len() - 1], &labels).is_err());
        assert!(parse(&images, &idx_bytes(LABELS_MAGIC, &[3], &[7, 0, 10])).is_err());
        let missing = load(Path::new("/nonexistent/a"), Path::new("/nonexistent/b"));
        assert!(matches!(missing, Err(DataError::Io { .. })));
    }
}
