//! Every shader module, concatenated exactly as the backend compiles it (common.wgsl + family),
//! parses and validates with naga's WGSL front end and validator. Needs no adapter.

use lowp_wgpu::params::{
    BlockLayoutParams, BlockParams, DispatchParams, FixedParams, GridParams, QuantizeParams,
    QuantizerParams, SuperFpParams,
};
use lowp_wgpu::shaders::{Family, module_source};
use naga::valid::{Capabilities, ValidationFlags, Validator};

fn parse_and_validate(family: Family) -> (naga::Module, String) {
    let source = module_source(family);
    let module = naga::front::wgsl::parse_str(&source).unwrap_or_else(|error| {
        panic!(
            "{} does not parse:\n{}",
            family.file_name(),
            error.emit_to_string_with_path(&source, family.file_name())
        )
    });
    // No optional capability: the shaders must run on every WebGPU adapter (no f16, no u64).
    Validator::new(ValidationFlags::all(), Capabilities::empty())
        .validate(&module)
        .unwrap_or_else(|error| {
            panic!(
                "{} does not validate:\n{}",
                family.file_name(),
                error.emit_to_string_with_path(&source, family.file_name())
            )
        });
    (module, source)
}

#[test]
fn every_shader_module_parses_and_validates() {
    for family in Family::ALL {
        let (module, _) = parse_and_validate(family);
        let entry_points: Vec<&str> = module
            .entry_points
            .iter()
            .map(|entry| entry.name.as_str())
            .collect();
        assert_eq!(
            entry_points,
            family.entry_points(),
            "{}: entry points",
            family.file_name()
        );
        for entry in &module.entry_points {
            assert_eq!(entry.stage, naga::ShaderStage::Compute);
            assert_eq!(entry.workgroup_size, [256, 1, 1], "{}", entry.name);
        }
    }
}

/// The byte size of the WGSL struct `name` in `module`.
fn struct_size(module: &naga::Module, name: &str) -> u32 {
    module
        .types
        .iter()
        .find_map(|(_, ty)| match (&ty.name, &ty.inner) {
            (Some(n), naga::TypeInner::Struct { span, .. }) if n == name => Some(*span),
            _ => None,
        })
        .unwrap_or_else(|| panic!("struct {name} not found"))
}

#[test]
fn uniform_structs_have_the_size_of_their_rust_mirrors() {
    let (quantize, _) = parse_and_validate(Family::Quantize);
    let (block, _) = parse_and_validate(Family::Block);
    for (module, name, size) in [
        (&quantize, "Grid", size_of::<GridParams>()),
        (&quantize, "Fixed", size_of::<FixedParams>()),
        (&quantize, "SuperFp", size_of::<SuperFpParams>()),
        (&quantize, "Quantizer", size_of::<QuantizerParams>()),
        (&quantize, "Dispatch", size_of::<DispatchParams>()),
        (&quantize, "QuantizeParams", size_of::<QuantizeParams>()),
        (&block, "BlockLayout", size_of::<BlockLayoutParams>()),
        (&block, "BlockParams", size_of::<BlockParams>()),
    ] {
        assert_eq!(struct_size(module, name) as usize, size, "struct {name}");
    }
}

#[test]
fn shaders_use_32_bit_integers_only() {
    for family in Family::ALL {
        let (module, source) = parse_and_validate(family);
        for (_, ty) in module.types.iter() {
            if let naga::TypeInner::Scalar(scalar) | naga::TypeInner::Vector { scalar, .. } =
                ty.inner
            {
                if scalar.kind == naga::ScalarKind::Bool {
                    continue;
                }
                assert!(
                    scalar.width == 4 && scalar.kind != naga::ScalarKind::Float,
                    "{}: type {:?} is not a 32-bit integer",
                    family.file_name(),
                    ty.inner
                );
            }
        }
        assert!(
            !source.contains("enable f16"),
            "{} enables f16",
            family.file_name()
        );
        assert!(!source.contains("f32"), "{} uses f32", family.file_name());
    }
}

#[test]
fn a_broken_shader_is_reported_with_its_location() {
    let source = format!(
        "{}\nfn broken() -> u32 {{ return undefined_name; }}\n",
        module_source(Family::Quantize)
    );
    let error = naga::front::wgsl::parse_str(&source).expect_err("must not parse");
    let log = error.emit_to_string(&source);
    assert!(log.contains("undefined_name"), "{log}");
}
