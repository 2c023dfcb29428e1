//! A format's SPEC as editable parameters: the family and its `key=value` pairs, and back.

use lowp_formats::Format;
use lowp_formats::float::FloatKind;

/// The family name and every parameter of `format` as in its canonical SPEC; presets are
/// expanded (`e4m3` → `float(exp=4,man=3,subnormals=true,saturate=false)`; `e4m3fn` keeps its
/// own name with its two overrides).
pub fn parameters(format: &Format) -> (String, Vec<(String, String)>) {
    let text = match format {
        Format::Float(f) if format.preset_name().is_some() => match f.kind() {
            FloatKind::OcpE4m3Fn => format!(
                "e4m3fn(subnormals={},saturate={})",
                f.subnormals(),
                f.saturate()
            ),
            FloatKind::Ieee => format!(
                "float(exp={},man={},subnormals={},saturate={})",
                f.exp(),
                f.man(),
                f.subnormals(),
                f.saturate()
            ),
        },
        _ => format.to_string(),
    };
    let (family, body) = text
        .trim_end_matches(')')
        .split_once('(')
        .unwrap_or((text.as_str(), ""));
    let pairs = body
        .split(',')
        .filter_map(|pair| pair.split_once('='))
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .collect();
    (family.to_string(), pairs)
}

/// The SPEC text `family(key=value,...)`.
pub fn spec_text(family: &str, pairs: &[(String, String)]) -> String {
    let body: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{family}({})", body.join(","))
}

/// Example SPECs of every family of SEMANTICS.md, offered next to the presets.
pub const FAMILY_EXAMPLES: [&str; 7] = [
    "float(exp=5,man=2)",
    "fixed(wl=8,fl=4)",
    "block(wl=8,dim=-1)",
    "binary8(p=3)",
    "binary8(p=4,signed=false)",
    "binary(k=6,p=3)",
    "superfp(exp=4,man=3,binades=1)",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_round_trip_through_the_spec_grammar() {
        for spec in Format::PRESET_NAMES.iter().chain(FAMILY_EXAMPLES.iter()) {
            let format: Format = spec.parse().unwrap();
            let (family, pairs) = parameters(&format);
            let rebuilt: Format = spec_text(&family, &pairs).parse().unwrap();
            assert_eq!(rebuilt, format, "{spec}");
        }
        let (family, pairs) = parameters(&"e4m3".parse().unwrap());
        assert_eq!(family, "float");
        assert_eq!(pairs[0], ("exp".to_string(), "4".to_string()));
    }
}
