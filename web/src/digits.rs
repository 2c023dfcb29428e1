//! The embedded handwritten digits (web/assets/digits.csv: one 8×8 digit per label, from the
//! UCI optical digits data set, CC BY 4.0; attribution in web/README.md).

/// The digits as CSV: comment lines start with `#`, then 64 pixel values 0..16 and the label.
const DIGITS_CSV: &str = include_str!("../assets/digits.csv");

/// One 8×8 greyscale digit.
#[derive(Debug, Clone, PartialEq)]
pub struct Digit {
    /// The digit it shows, 0..9.
    pub label: u8,
    /// Row-major pixel intensities scaled to [0, 1] (value / 16).
    pub pixels: Vec<f32>,
}

/// Parses digit rows (`#` lines skipped).
pub fn parse_digits(csv: &str) -> Result<Vec<Digit>, String> {
    csv.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .enumerate()
        .map(|(row, line)| {
            let fields: Vec<u8> = line
                .split(',')
                .map(|field| field.trim().parse::<u8>())
                .collect::<Result<_, _>>()
                .map_err(|e| format!("digit row {}: {e}", row + 1))?;
            if fields.len() != 65 || fields[..64].iter().any(|&p| p > 16) || fields[64] > 9 {
                return Err(format!(
                    "digit row {}: expected 64 pixels 0..16 and a label 0..9",
                    row + 1
                ));
            }
            Ok(Digit {
                label: fields[64],
                pixels: fields[..64].iter().map(|&p| f32::from(p) / 16.0).collect(),
            })
        })
        .collect()
}

/// The embedded digits, one per label in label order.
pub fn embedded_digits() -> Vec<Digit> {
    parse_digits(DIGITS_CSV).expect("the embedded digits asset is valid")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_asset_has_one_digit_per_label() {
        let digits = embedded_digits();
        assert_eq!(digits.len(), 10);
        for (i, digit) in digits.iter().enumerate() {
            assert_eq!(usize::from(digit.label), i);
            assert_eq!(digit.pixels.len(), 64);
            assert!(digit.pixels.iter().all(|p| (0.0..=1.0).contains(p)));
        }
    }

    #[test]
    fn bad_rows_are_reported() {
        assert!(parse_digits("1,2,3").is_err());
        let too_bright = format!("{}17,1", "0,".repeat(63));
        assert!(parse_digits(&too_bright).is_err());
    }
}
