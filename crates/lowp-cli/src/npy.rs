//! A strict reader and a writer of NumPy `.npy` files holding little-endian float32 arrays
//! (`'<f4'`) in C order. Versions 1.0, 2.0 and 3.0 are read; version 1.0 is written.
//!
//! The header is a Python dict literal with exactly the keys `descr`, `fortran_order` and
//! `shape`, terminated by a newline; anything else is rejected with a one-line message.

use anyhow::{Context, Result, bail, ensure};

/// The magic string every `.npy` file starts with.
const MAGIC: &[u8] = b"\x93NUMPY";
/// The only dtype read or written: little-endian IEEE binary32.
const DESCR: &str = "<f4";
/// Written headers are padded so that the data starts at a multiple of this many bytes (numpy's
/// alignment).
const ALIGN: usize = 64;

/// A float32 array in C (row-major) order.
#[derive(Debug, Clone, PartialEq)]
pub struct Array {
    /// The dimensions; `[]` is a scalar.
    pub shape: Vec<usize>,
    /// The values; `data.len()` is the product of `shape`.
    pub data: Vec<f32>,
}

/// Reads a `.npy` file's bytes.
pub fn parse(bytes: &[u8]) -> Result<Array> {
    let rest = bytes
        .strip_prefix(MAGIC)
        .context("not a .npy file (the magic string \\x93NUMPY is missing)")?;
    let Some((&[major, minor], rest)) = rest.split_first_chunk::<2>() else {
        bail!("truncated .npy file: no version");
    };
    let (length, rest) = match (major, minor) {
        (1, 0) => rest
            .split_first_chunk::<2>()
            .map(|(length, rest)| (usize::from(u16::from_le_bytes(*length)), rest)),
        (2 | 3, 0) => rest
            .split_first_chunk::<4>()
            .map(|(length, rest)| (u32::from_le_bytes(*length) as usize, rest)),
        _ => bail!("unsupported .npy version {major}.{minor}; expected 1.0, 2.0 or 3.0"),
    }
    .context("truncated .npy file: no header length")?;
    ensure!(
        rest.len() >= length,
        "truncated .npy file: the header should have {length} bytes, the file has {} left",
        rest.len()
    );
    let (header, data) = rest.split_at(length);
    // Versions 1.0 and 2.0 have latin-1 headers, 3.0 UTF-8; a valid float32 header is ASCII.
    ensure!(
        major == 3 || header.is_ascii(),
        "malformed .npy header: not ASCII"
    );
    let header = std::str::from_utf8(header).context("malformed .npy header: not UTF-8")?;
    let dict = header
        .strip_suffix('\n')
        .context("malformed .npy header: it does not end with a newline")?;
    let Header {
        descr,
        fortran_order,
        shape,
    } = Header::parse(dict)?;
    ensure!(
        descr == DESCR,
        "unsupported npy dtype '{descr}'; only little-endian float32 ('{DESCR}') is supported"
    );
    ensure!(
        !fortran_order,
        "unsupported .npy array: Fortran (column-major) order"
    );
    let size = shape
        .iter()
        .try_fold(4usize, |size, &dim| size.checked_mul(dim))
        .with_context(|| format!("malformed .npy header: shape {shape:?} is too large"))?;
    ensure!(
        data.len() == size,
        "the .npy data has {} bytes, shape {shape:?} needs {size}",
        data.len()
    );
    let (values, _) = data.as_chunks::<4>();
    Ok(Array {
        shape,
        data: values
            .iter()
            .map(|value| f32::from_le_bytes(*value))
            .collect(),
    })
}

/// The bytes of a version 1.0 `.npy` file holding `data` with `shape` (whose product must be
/// `data.len()`).
pub fn to_bytes(shape: &[usize], data: &[f32]) -> Result<Vec<u8>> {
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    // Python's tuple syntax: a one-element tuple needs its trailing comma.
    let tuple = match dims.as_slice() {
        [one] => format!("({one},)"),
        _ => format!("({})", dims.join(", ")),
    };
    let mut header = format!("{{'descr': '{DESCR}', 'fortran_order': False, 'shape': {tuple}, }}");
    let unpadded = MAGIC.len() + 4 + header.len() + 1;
    header.extend(std::iter::repeat_n(' ', (ALIGN - unpadded % ALIGN) % ALIGN));
    header.push('\n');
    let length = u16::try_from(header.len())
        .context("shape has too many dimensions for a .npy 1.0 header")?;
    let mut bytes = Vec::with_capacity(MAGIC.len() + 4 + header.len() + 4 * data.len());
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&[1, 0]);
    bytes.extend_from_slice(&length.to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend(data.iter().flat_map(|value| value.to_le_bytes()));
    Ok(bytes)
}

/// The three entries of a `.npy` header dict.
struct Header<'a> {
    descr: &'a str,
    fortran_order: bool,
    shape: Vec<usize>,
}

impl<'a> Header<'a> {
    /// Parses `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }` (the newline removed):
    /// each key exactly once, in any order, with an optional trailing comma.
    fn parse(text: &'a str) -> Result<Self> {
        let mut tokens = Tokens { rest: text };
        let (mut descr, mut fortran_order, mut shape) = (None, None, None);
        tokens.expect('{')?;
        while !tokens.eat('}') {
            let key = tokens.string()?;
            tokens.expect(':')?;
            let repeated = match key {
                "descr" => descr.replace(tokens.string()?).is_some(),
                "fortran_order" => fortran_order.replace(tokens.boolean()?).is_some(),
                "shape" => shape.replace(tokens.shape()?).is_some(),
                other => bail!("malformed .npy header: unexpected key '{other}'"),
            };
            ensure!(!repeated, "malformed .npy header: key '{key}' given twice");
            if !tokens.eat(',') {
                tokens.expect('}')?;
                break;
            }
        }
        ensure!(
            tokens.rest.trim().is_empty(),
            "malformed .npy header: unexpected `{}` after the dict",
            tokens.rest.trim()
        );
        let missing = |key: &str| format!("malformed .npy header: no '{key}' key");
        Ok(Header {
            descr: descr.with_context(|| missing("descr"))?,
            fortran_order: fortran_order.with_context(|| missing("fortran_order"))?,
            shape: shape.with_context(|| missing("shape"))?,
        })
    }
}

/// The not yet parsed rest of a header, read one Python token at a time.
struct Tokens<'a> {
    rest: &'a str,
}

impl<'a> Tokens<'a> {
    /// Skips whitespace, then consumes `token` if it comes next.
    fn eat(&mut self, token: char) -> bool {
        self.rest = self.rest.trim_start();
        match self.rest.strip_prefix(token) {
            Some(rest) => {
                self.rest = rest;
                true
            }
            None => false,
        }
    }

    /// Consumes `token` or fails.
    fn expect(&mut self, token: char) -> Result<()> {
        if self.eat(token) {
            Ok(())
        } else {
            Err(self.unexpected(&format!("`{token}`")))
        }
    }

    /// The error for a token that is not `wanted`.
    fn unexpected(&self, wanted: &str) -> anyhow::Error {
        let found: String = self.rest.chars().take(16).collect();
        anyhow::anyhow!("malformed .npy header: expected {wanted}, found `{found}`")
    }

    /// A string literal in single or double quotes (without escapes).
    fn string(&mut self) -> Result<&'a str> {
        self.rest = self.rest.trim_start();
        let Some(quote) = self.rest.chars().next().filter(|c| matches!(c, '\'' | '"')) else {
            return Err(self.unexpected("a string"));
        };
        let body = &self.rest[1..];
        let end = body
            .find(quote)
            .context("malformed .npy header: unterminated string")?;
        self.rest = &body[end + 1..];
        Ok(&body[..end])
    }

    /// `True` or `False`.
    fn boolean(&mut self) -> Result<bool> {
        self.rest = self.rest.trim_start();
        for (word, value) in [("True", true), ("False", false)] {
            if let Some(rest) = self.rest.strip_prefix(word) {
                self.rest = rest;
                return Ok(value);
            }
        }
        Err(self.unexpected("True or False"))
    }

    /// A tuple of non-negative integers: `()`, `(3,)`, `(2, 3)`, `(2, 3,)`.
    fn shape(&mut self) -> Result<Vec<usize>> {
        self.expect('(')?;
        let mut dims = Vec::new();
        while !self.eat(')') {
            dims.push(self.integer()?);
            if !self.eat(',') {
                self.expect(')')?;
                ensure!(
                    dims.len() != 1,
                    "malformed .npy header: shape ({}) is not a tuple (a one-element tuple needs a trailing comma)",
                    dims[0]
                );
                break;
            }
        }
        Ok(dims)
    }

    /// A decimal integer.
    fn integer(&mut self) -> Result<usize> {
        self.rest = self.rest.trim_start();
        let end = self
            .rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(self.rest.len());
        if end == 0 {
            return Err(self.unexpected("a dimension"));
        }
        let (digits, rest) = self.rest.split_at(end);
        self.rest = rest;
        digits
            .parse()
            .with_context(|| format!("malformed .npy header: dimension {digits} is too large"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `.npy` file of `version` (1, 2 or 3) with `header` (newline included) and `data`.
    fn file(version: u8, header: &str, data: &[f32]) -> Vec<u8> {
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&[version, 0]);
        match version {
            1 => bytes.extend_from_slice(&(header.len() as u16).to_le_bytes()),
            _ => bytes.extend_from_slice(&(header.len() as u32).to_le_bytes()),
        }
        bytes.extend_from_slice(header.as_bytes());
        bytes.extend(data.iter().flat_map(|value| value.to_le_bytes()));
        bytes
    }

    /// The error message of parsing `bytes`.
    fn error(bytes: &[u8]) -> String {
        format!("{:#}", parse(bytes).unwrap_err())
    }

    #[test]
    fn written_files_read_back_and_are_aligned() {
        for shape in [vec![], vec![3], vec![2, 3], vec![1, 0, 4]] {
            let data: Vec<f32> = (0..shape.iter().product::<usize>())
                .map(|i| i as f32 - 1.5)
                .collect();
            let bytes = to_bytes(&shape, &data).unwrap();
            assert_eq!((bytes.len() - 4 * data.len()) % ALIGN, 0);
            assert_eq!(parse(&bytes).unwrap(), Array { shape, data });
        }
    }

    #[test]
    fn header_is_what_numpy_writes() {
        let bytes = to_bytes(&[2, 3], &[0.0; 6]).unwrap();
        let header = std::str::from_utf8(&bytes[10..bytes.len() - 24]).unwrap();
        assert!(header.starts_with("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"));
        assert!(header.ends_with(" \n"));
    }

    #[test]
    fn versions_2_and_3_and_other_spellings_are_read() {
        let header = "{\"shape\": (2,), \"fortran_order\": False, \"descr\": \"<f4\"}\n";
        for version in [1, 2, 3] {
            let array = parse(&file(version, header, &[1.0, -2.0])).unwrap();
            assert_eq!(array.shape, [2]);
            assert_eq!(array.data, [1.0, -2.0]);
        }
    }

    #[test]
    fn malformed_files_are_rejected() {
        let valid = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n";
        let cases = [
            (b"NUMPY".to_vec(), "not a .npy file"),
            (file(4, valid, &[1.0, 2.0]), "unsupported .npy version 4.0"),
            (
                file(1, valid, &[1.0]),
                "the .npy data has 4 bytes, shape [2] needs 8",
            ),
            (file(1, valid, &[1.0, 2.0, 3.0]), "needs 8"),
            (
                file(1, &valid.replace("<f4", "<f8"), &[1.0, 2.0]),
                "unsupported npy dtype '<f8'",
            ),
            (
                file(1, &valid.replace("<f4", ">f4"), &[1.0, 2.0]),
                "unsupported npy dtype '>f4'",
            ),
            (
                file(1, &valid.replace("False", "True"), &[1.0, 2.0]),
                "Fortran",
            ),
            (
                file(1, &valid.replace("(2,)", "(2)"), &[1.0, 2.0]),
                "not a tuple",
            ),
            (
                file(1, &valid.replace("(2,)", "(2,-1)"), &[1.0, 2.0]),
                "expected a dimension",
            ),
            (
                file(1, &valid.replace("'shape'", "'shape', 'x'"), &[1.0, 2.0]),
                "expected `:`",
            ),
            (
                file(1, &valid.replace(", }", ", 'x': 1}"), &[1.0, 2.0]),
                "unexpected key 'x'",
            ),
            (
                file(1, &valid.replace("'descr': '<f4', ", ""), &[1.0, 2.0]),
                "no 'descr' key",
            ),
            (
                file(1, &valid.replace(", }", ", 'shape': (2,)}"), &[1.0, 2.0]),
                "given twice",
            ),
            (
                file(1, &valid.replace("}", "} x"), &[1.0, 2.0]),
                "unexpected `x`",
            ),
            (file(1, valid.trim_end(), &[1.0, 2.0]), "newline"),
            (file(1, "{'descr': '<f4\n", &[]), "unterminated string"),
            (
                file(1, &valid.replace("(2,)", "(99999999999999999999,)"), &[]),
                "too large",
            ),
            (
                file(1, &valid.replace("(2,)", "(4611686018427387904,)"), &[]),
                "too large",
            ),
        ];
        for (bytes, message) in cases {
            let error = error(&bytes);
            assert!(
                error.contains(message),
                "`{error}` does not contain `{message}`"
            );
            assert!(!error.contains('\n'));
        }
        let mut truncated = file(1, valid, &[1.0, 2.0]);
        truncated.truncate(20);
        assert!(error(&truncated).contains("truncated"));
    }
}
