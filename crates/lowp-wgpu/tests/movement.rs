//! Data movement on the wgpu backend (permute, expand, slice, concat, gather, scatter_add, im2col,
//! col2im) against the CPU backend, bit for bit: copies keep every bit pattern (NaN payloads,
//! signalling NaNs, -0, subnormals), sums are binary32 adds in the CPU's order (NaN results may
//! differ only in payload), and bad inputs give the same errors.

mod common;

use lowp_backend::{Backend, BackendError, ConvGeometry, CpuBackend, CpuBuffer, SliceRange};
use lowp_wgpu::{WgpuBackend, WgpuBuffer, WgpuOptions};

/// xorshift64*: deterministic test data without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    /// Any bit pattern, with a good share of specials.
    fn bits(&mut self) -> u32 {
        const SPECIALS: [u32; 10] = [
            0x0000_0000, // +0
            0x8000_0000, // -0
            0x7FC1_2345, // quiet NaN with payload
            0xFF80_0001, // signalling NaN, negative
            0x7F80_0000, // +Inf
            0xFF80_0000, // -Inf
            0x0000_0001, // smallest subnormal
            0x807F_FFFF, // largest negative subnormal
            0x7F7F_FFFF, // max
            0x0080_0000, // min normal
        ];
        match self.below(4) {
            0 => SPECIALS[self.below(SPECIALS.len() as u64) as usize],
            1 => (self.next() as u32) & 0x807F_FFFF, // subnormals
            _ => self.next() as u32,
        }
    }
    /// A finite value of moderate exponent (sums stay interesting), or a subnormal / special.
    fn addend(&mut self) -> u32 {
        let sign = (self.next() as u32) & 0x8000_0000;
        match self.below(8) {
            0 => self.bits(),
            1 | 2 => sign | ((self.next() as u32) & 0x007F_FFFF), // subnormal
            3 => sign | (((1 + self.below(3)) as u32) << 23) | ((self.next() as u32) & 0x7F_FFFF),
            _ => {
                sign | (((120 + self.below(16)) as u32) << 23) | ((self.next() as u32) & 0x7F_FFFF)
            }
        }
    }
    fn data(&mut self, len: usize) -> Vec<f32> {
        (0..len).map(|_| f32::from_bits(self.bits())).collect()
    }
    fn addends(&mut self, len: usize) -> Vec<f32> {
        (0..len).map(|_| f32::from_bits(self.addend())).collect()
    }
}

/// An operation on the uploaded inputs of one backend.
type GpuOp<'a> = dyn Fn(&WgpuBackend, &[WgpuBuffer]) -> Result<WgpuBuffer, BackendError> + 'a;
/// The same on the CPU backend.
type CpuOp<'a> = dyn Fn(&CpuBackend, &[CpuBuffer]) -> Result<CpuBuffer, BackendError> + 'a;

struct Pair {
    gpu: WgpuBackend,
    cpu: CpuBackend,
}

fn pair_with(options: WgpuOptions) -> Option<Pair> {
    Some(Pair {
        gpu: common::backend_with(options)?,
        cpu: CpuBackend::new(),
    })
}

fn pair() -> Option<Pair> {
    pair_with(WgpuOptions::default())
}

/// Exact bit equality (copies).
fn assert_bits(context: &str, got: &[f32], expected: &[f32]) {
    assert_eq!(got.len(), expected.len(), "{context}: lengths");
    if let Some(i) = (0..got.len()).find(|&i| got[i].to_bits() != expected[i].to_bits()) {
        panic!(
            "{context}: element {i} is {:#010x}, the CPU gives {:#010x}",
            got[i].to_bits(),
            expected[i].to_bits()
        );
    }
}

impl Pair {
    /// Runs `op` on both backends with the same inputs; `exact` demands equal NaN payloads.
    fn check(
        &self,
        context: &str,
        inputs: &[&[f32]],
        exact: bool,
        gpu_op: impl FnOnce(&WgpuBackend, &[WgpuBuffer]) -> Result<WgpuBuffer, BackendError>,
        cpu_op: impl FnOnce(&CpuBackend, &[CpuBuffer]) -> Result<CpuBuffer, BackendError>,
    ) {
        let gpu_inputs: Vec<_> = inputs.iter().map(|x| self.gpu.upload(x).unwrap()).collect();
        let cpu_inputs: Vec<_> = inputs.iter().map(|x| self.cpu.upload(x).unwrap()).collect();
        let expected = cpu_op(&self.cpu, &cpu_inputs);
        let got = gpu_op(&self.gpu, &gpu_inputs);
        match (got, expected) {
            (Ok(got), Ok(expected)) => {
                let got = common::download(&self.gpu, &got);
                let expected = common::download(&self.cpu, &expected);
                if exact {
                    assert_bits(context, &got, &expected);
                } else {
                    common::assert_same_bits(context, &[], &got, &expected);
                }
            }
            (Err(got), Err(expected)) => {
                assert_eq!(got.to_string(), expected.to_string(), "{context}: errors")
            }
            (got, expected) => panic!(
                "{context}: wgpu gives {:?}, the CPU {:?}",
                got.map(|b| b.len()),
                expected.map(|b| b.len())
            ),
        }
    }

    fn permute(&self, rng: &mut Rng, shape: &[usize], axes: &[usize]) {
        let x = rng.data(shape.iter().product());
        self.check(
            &format!("permute {shape:?} {axes:?}"),
            &[&x],
            true,
            |b, i| b.permute(&i[0], shape, axes),
            |b, i| b.permute(&i[0], shape, axes),
        );
    }

    fn expand(&self, rng: &mut Rng, shape: &[usize], target: &[usize]) {
        let x = rng.data(shape.iter().product());
        self.check(
            &format!("expand {shape:?} -> {target:?}"),
            &[&x],
            true,
            |b, i| b.expand(&i[0], shape, target),
            |b, i| b.expand(&i[0], shape, target),
        );
    }

    fn slice(&self, rng: &mut Rng, shape: &[usize], ranges: &[SliceRange]) {
        let x = rng.data(shape.iter().product());
        self.check(
            &format!("slice {shape:?} {ranges:?}"),
            &[&x],
            true,
            |b, i| b.slice(&i[0], shape, ranges),
            |b, i| b.slice(&i[0], shape, ranges),
        );
    }

    fn concat(&self, rng: &mut Rng, shapes: &[&[usize]], axis: usize) {
        let data: Vec<Vec<f32>> = shapes
            .iter()
            .map(|s| rng.data(s.iter().product()))
            .collect();
        let inputs: Vec<&[f32]> = data.iter().map(Vec::as_slice).collect();
        self.check(
            &format!("concat {shapes:?} axis {axis}"),
            &inputs,
            true,
            |b, i| {
                let parts: Vec<_> = i.iter().zip(shapes).map(|(x, s)| (x, *s)).collect();
                b.concat(&parts, axis)
            },
            |b, i| {
                let parts: Vec<_> = i.iter().zip(shapes).map(|(x, s)| (x, *s)).collect();
                b.concat(&parts, axis)
            },
        );
    }

    fn gather(&self, rng: &mut Rng, shape: &[usize], axis: usize, indices: &[u32]) {
        let x = rng.data(shape.iter().product());
        self.check(
            &format!("gather {shape:?} axis {axis} {indices:?}"),
            &[&x],
            true,
            |b, i| b.gather(&i[0], shape, axis, indices),
            |b, i| b.gather(&i[0], shape, axis, indices),
        );
    }

    fn scatter_add(
        &self,
        src: &[f32],
        shape: &[usize],
        axis: usize,
        indices: &[u32],
        extent: usize,
    ) {
        self.check(
            &format!("scatter_add {shape:?} axis {axis} {indices:?} extent {extent}"),
            &[src],
            false,
            |b, i| b.scatter_add(&i[0], shape, axis, indices, extent),
            |b, i| b.scatter_add(&i[0], shape, axis, indices, extent),
        );
    }

    fn im2col_col2im(&self, rng: &mut Rng, geometry: &ConvGeometry) {
        let input_len = if geometry.validate().is_ok() {
            geometry.input_len()
        } else {
            4
        };
        let x = rng.data(input_len);
        self.check(
            &format!("im2col {geometry:?}"),
            &[&x],
            true,
            |b, i| b.im2col(&i[0], geometry),
            |b, i| b.im2col(&i[0], geometry),
        );
        let patch_len = if geometry.validate().is_ok() {
            geometry.groups * geometry.patch_rows() * geometry.patch_columns()
        } else {
            4
        };
        let columns = rng.addends(patch_len);
        self.check(
            &format!("col2im {geometry:?}"),
            &[&columns],
            false,
            |b, i| b.col2im(&i[0], geometry),
            |b, i| b.col2im(&i[0], geometry),
        );
    }
}

fn permutations(rank: usize) -> Vec<Vec<usize>> {
    if rank == 0 {
        return vec![vec![]];
    }
    let mut all = Vec::new();
    for rest in permutations(rank - 1) {
        for at in 0..=rest.len() {
            let mut p = rest.clone();
            p.insert(at, rank - 1);
            all.push(p);
        }
    }
    all
}

#[test]
fn the_movement_shader_parses_and_validates() {
    let source = include_str!("../../../shaders/movement.wgsl");
    let module = naga::front::wgsl::parse_str(source)
        .unwrap_or_else(|error| panic!("{}", error.emit_to_string(source)));
    naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::empty(),
    )
    .validate(&module)
    .unwrap_or_else(|error| panic!("{}", error.emit_to_string(source)));
    let names: Vec<&str> = module
        .entry_points
        .iter()
        .map(|e| e.name.as_str())
        .collect();
    assert_eq!(names, ["strided_copy", "scatter_add", "im2col", "col2im"]);
}

#[test]
fn permute_matches_the_cpu() {
    let Some(p) = pair() else { return };
    let mut rng = Rng(1);
    for shape in [&[][..], &[7], &[3, 5], &[2, 3, 4], &[0, 3, 2]] {
        for axes in permutations(shape.len()) {
            p.permute(&mut rng, shape, &axes);
        }
    }
    p.permute(&mut rng, &[2, 1, 3, 2, 2], &[4, 2, 0, 3, 1]);
    // Nine axes, but only five of them longer than 1.
    p.permute(
        &mut rng,
        &[2, 1, 2, 1, 2, 1, 3, 1, 2],
        &[8, 7, 6, 5, 4, 3, 2, 1, 0],
    );
    // Eight axes longer than 1: the limit.
    p.permute(
        &mut rng,
        &[2, 2, 2, 2, 2, 2, 2, 3],
        &[7, 0, 6, 1, 5, 2, 4, 3],
    );
}

#[test]
fn expand_matches_the_cpu() {
    let Some(p) = pair() else { return };
    let mut rng = Rng(2);
    for (shape, target) in [
        (&[][..], &[2, 3][..]),
        (&[1], &[5]),
        (&[4], &[3, 4]),
        (&[3, 1], &[2, 3, 4]),
        (&[2, 1, 3], &[2, 5, 3]),
        (&[1, 1], &[1, 1]),
        (&[3, 1], &[0, 3, 2]),
        (&[5, 1, 2], &[3, 5, 4, 2]),
    ] {
        p.expand(&mut rng, shape, target);
    }
}

#[test]
fn slice_matches_the_cpu() {
    let Some(p) = pair() else { return };
    let mut rng = Rng(3);
    let r = |start, end, step| SliceRange { start, end, step };
    p.slice(&mut rng, &[], &[]);
    p.slice(&mut rng, &[10], &[r(1, 9, 3)]);
    p.slice(&mut rng, &[10], &[r(4, 4, 1)]);
    p.slice(&mut rng, &[4, 6], &[r(1, 4, 2), r(0, 6, 1)]);
    p.slice(&mut rng, &[3, 4, 5], &[r(2, 3, 1), r(1, 4, 2), r(0, 5, 4)]);
    for _ in 0..20 {
        let shape: Vec<usize> = (0..1 + rng.below(4))
            .map(|_| 1 + rng.below(6) as usize)
            .collect();
        let ranges: Vec<SliceRange> = shape
            .iter()
            .map(|&n| {
                let start = rng.below(n as u64 + 1) as usize;
                let end = start + rng.below((n - start) as u64 + 1) as usize;
                r(start, end, 1 + rng.below(3) as usize)
            })
            .collect();
        p.slice(&mut rng, &shape, &ranges);
    }
}

#[test]
fn concat_matches_the_cpu() {
    let Some(p) = pair() else { return };
    let mut rng = Rng(4);
    p.concat(&mut rng, &[&[3], &[0], &[5]], 0);
    p.concat(&mut rng, &[&[2, 3], &[4, 3]], 0);
    p.concat(&mut rng, &[&[2, 3], &[2, 1], &[2, 4]], 1);
    p.concat(&mut rng, &[&[2, 3, 4], &[2, 2, 4], &[2, 0, 4]], 1);
    p.concat(&mut rng, &[&[2, 3, 4], &[2, 3, 1]], 2);
    p.concat(&mut rng, &[&[1, 3, 4]], 0);
    p.concat(&mut rng, &[&[0, 3], &[0, 2]], 1);
}

#[test]
fn gather_matches_the_cpu() {
    let Some(p) = pair() else { return };
    let mut rng = Rng(5);
    p.gather(&mut rng, &[6], 0, &[5, 0, 0, 3]);
    p.gather(&mut rng, &[4, 3], 0, &[3, 1, 1]);
    p.gather(&mut rng, &[4, 3], 1, &[2, 0, 2, 2, 1]);
    p.gather(&mut rng, &[2, 5, 3], 1, &[4]);
    p.gather(&mut rng, &[2, 5, 3], 1, &[]);
    p.gather(&mut rng, &[2, 5, 3], 2, &[0, 2, 1, 0]);
    p.gather(&mut rng, &[2, 1, 3], 1, &[0, 0, 0]);
}

#[test]
fn scatter_add_matches_the_cpu() {
    let Some(p) = pair() else { return };
    let mut rng = Rng(6);
    for (shape, axis, indices, extent) in [
        (&[4][..], 0, &[1u32, 1, 3, 1][..], 5),
        (&[4, 3], 0, &[0, 2, 0, 0], 3),
        (&[3, 6], 1, &[5, 5, 0, 2, 5, 2], 7),
        (&[2, 5, 3], 1, &[1, 1, 1, 1, 1], 2),
        (&[2, 0, 3], 1, &[], 4),
        (&[2, 3, 2], 1, &[0, 1, 2], 3),
        (&[2, 3, 2], 2, &[3, 3], 4),
    ] {
        let src = rng.addends(shape.iter().product());
        p.scatter_add(&src, shape, axis, indices, extent);
    }
    // Each output sums three addends (t ascending), with many duplicates.
    let indices: Vec<u32> = (0..96).map(|t| t % 32).collect();
    let src = rng.addends(5 * 96);
    p.scatter_add(&src, &[5, 96], 1, &indices, 40);
}

#[test]
fn scatter_add_adds_binary32_exactly() {
    // out[i] = (+0 + a[i]) + b[i] over every kind of operand pair: the integer adder against the
    // CPU's hardware adds (subnormals, cancellation, carries, overflow, signed zeros, NaNs).
    let Some(p) = pair() else { return };
    let mut rng = Rng(7);
    let n = 40_000;
    let mut src = rng.addends(2 * n);
    // Same-binade and near-cancelling pairs.
    for i in 0..n / 4 {
        let a = src[i].to_bits();
        let b = (a ^ 0x8000_0000) ^ ((rng.next() as u32) & 0x1F);
        src[n + i] = f32::from_bits(b);
    }
    // Fully random bit patterns.
    for value in src.iter_mut().skip(n / 4).take(n / 4) {
        *value = f32::from_bits(rng.next() as u32);
    }
    for value in src.iter_mut().skip(n + n / 4).take(n / 4) {
        *value = f32::from_bits(rng.next() as u32);
    }
    p.scatter_add(&src, &[2, n], 0, &[0, 0], 1);
}

#[allow(clippy::too_many_arguments)]
fn geometry(
    batch: usize,
    channels: usize,
    groups: usize,
    input: &[usize],
    kernel: &[usize],
    stride: &[usize],
    pad: (&[usize], &[usize]),
    dilation: &[usize],
) -> ConvGeometry {
    ConvGeometry {
        batch,
        channels,
        groups,
        input: input.to_vec(),
        kernel: kernel.to_vec(),
        stride: stride.to_vec(),
        pad_before: pad.0.to_vec(),
        pad_after: pad.1.to_vec(),
        dilation: dilation.to_vec(),
    }
}

#[test]
fn im2col_and_col2im_match_the_cpu() {
    let Some(p) = pair() else { return };
    let mut rng = Rng(8);
    for g in [
        geometry(1, 1, 1, &[5], &[3], &[1], (&[0], &[0]), &[1]),
        geometry(2, 4, 2, &[9], &[3], &[2], (&[1], &[2]), &[2]),
        geometry(1, 3, 1, &[7], &[1], &[3], (&[0], &[0]), &[1]),
        geometry(
            2,
            2,
            1,
            &[5, 4],
            &[3, 2],
            &[1, 1],
            (&[1, 1], &[1, 0]),
            &[1, 1],
        ),
        geometry(
            1,
            6,
            3,
            &[6, 7],
            &[3, 3],
            &[2, 1],
            (&[2, 0], &[1, 3]),
            &[1, 2],
        ),
        geometry(
            3,
            2,
            2,
            &[4, 4],
            &[2, 2],
            &[2, 2],
            (&[0, 0], &[0, 0]),
            &[1, 1],
        ),
        geometry(
            1,
            2,
            1,
            &[4, 5, 3],
            &[2, 3, 2],
            &[1, 2, 1],
            (&[1, 1, 0], &[0, 1, 1]),
            &[1, 1, 2],
        ),
        geometry(
            2,
            4,
            4,
            &[3, 3, 3],
            &[3, 1, 2],
            &[2, 1, 1],
            (&[1, 0, 1], &[1, 0, 0]),
            &[1, 1, 1],
        ),
        // Strides and dilations far beyond the input (clamped on the device).
        geometry(1, 1, 1, &[5], &[2], &[1 << 40], (&[0], &[0]), &[3]),
        geometry(2, 2, 1, &[4], &[1], &[2], (&[1], &[0]), &[1 << 40]),
        // Padding only: every input position is outside some taps.
        geometry(
            1,
            1,
            1,
            &[1, 1],
            &[3, 3],
            &[1, 1],
            (&[1, 1], &[1, 1]),
            &[1, 1],
        ),
        geometry(0, 2, 1, &[4], &[2], &[1], (&[0], &[0]), &[1]),
    ] {
        p.im2col_col2im(&mut rng, &g);
    }
}

#[test]
fn several_dispatches_and_2d_grids_match_the_cpu() {
    let Some(p) = pair_with(WgpuOptions {
        max_binding_bytes: Some(1024),
        max_workgroups_per_dimension: Some(2),
    }) else {
        return;
    };
    assert!(p.gpu.chunk_values() <= 256);
    let mut rng = Rng(9);
    p.permute(&mut rng, &[13, 11, 7], &[2, 0, 1]);
    p.expand(&mut rng, &[7, 1], &[3, 7, 100]);
    p.gather(&mut rng, &[50, 20], 1, &[3, 19, 3, 0, 7]);
    // Operands far larger than one binding: the strided copies are split into pieces.
    p.permute(&mut rng, &[40, 30, 9], &[2, 0, 1]);
    p.permute(&mut rng, &[70, 60], &[1, 0]);
    p.expand(&mut rng, &[300, 1], &[4, 300, 9]);
    let r = |start, end, step| SliceRange { start, end, step };
    p.slice(
        &mut rng,
        &[30, 40, 5],
        &[r(1, 29, 3), r(0, 40, 1), r(2, 5, 2)],
    );
    p.concat(&mut rng, &[&[20, 30], &[20, 1], &[20, 45]], 1);
    p.concat(&mut rng, &[&[30, 20], &[40, 20]], 0);
    let picks: Vec<u32> = (0..600).map(|t| (t * 37 + 5) % 500).collect();
    p.gather(&mut rng, &[500, 3], 0, &picks);
    p.gather(&mut rng, &[4, 500], 1, &picks);
    let indices: Vec<u32> = (0..30).map(|t| (t * 7) % 11).collect();
    let src = rng.addends(30 * 40);
    p.scatter_add(&src, &[30, 40], 0, &indices, 11);
    // Blocks of columns of the inner axis (one row of 30 × 40 exceeds the binding) and of rows.
    let src = rng.addends(3 * 30 * 40);
    p.scatter_add(&src, &[3, 30, 40], 1, &indices, 11);
    let src = rng.addends(40 * 30);
    p.scatter_add(&src, &[40, 30], 1, &indices, 11);
    // Blocks of samples, then channels within each group.
    p.im2col_col2im(
        &mut rng,
        &geometry(
            5,
            6,
            3,
            &[7, 6],
            &[2, 3],
            &[1, 1],
            (&[1, 0], &[0, 1]),
            &[1, 2],
        ),
    );
    p.im2col_col2im(
        &mut rng,
        &geometry(3, 8, 1, &[40], &[3], &[2], (&[1], &[1]), &[1]),
    );
    p.im2col_col2im(
        &mut rng,
        &geometry(
            2,
            4,
            2,
            &[9, 8],
            &[3, 3],
            &[1, 2],
            (&[1, 1], &[1, 0]),
            &[1, 1],
        ),
    );
}

#[test]
fn bad_inputs_give_the_cpus_errors() {
    let Some(p) = pair() else { return };
    let mut rng = Rng(10);
    let r = |start, end, step| SliceRange { start, end, step };
    // Length mismatches: the data has 6 values.
    let x = rng.data(6);
    let check = |context: &str, gpu: &GpuOp, cpu: &CpuOp| {
        let g = p.gpu.upload(&x).unwrap();
        let c = p.cpu.upload(&x).unwrap();
        let got = gpu(&p.gpu, std::slice::from_ref(&g)).map(|b| b.len());
        let expected = cpu(&p.cpu, std::slice::from_ref(&c)).map(|b| b.len());
        match (got, expected) {
            (Err(got), Err(expected)) => {
                assert!(matches!(got, BackendError::Shape(_)), "{context}: {got}");
                assert_eq!(got.to_string(), expected.to_string(), "{context}");
            }
            (got, expected) => panic!("{context}: wgpu {got:?}, CPU {expected:?}"),
        }
    };
    macro_rules! both {
        ($context:expr, |$b:ident, $i:ident| $call:expr) => {
            check($context, &|$b, $i| $call, &|$b, $i| $call)
        };
    }
    both!("permute length", |b, i| b.permute(&i[0], &[2, 2], &[1, 0]));
    both!("permute axes", |b, i| b.permute(&i[0], &[2, 3], &[0, 0]));
    both!("permute rank", |b, i| b.permute(&i[0], &[2, 3], &[0]));
    both!("permute range", |b, i| b.permute(&i[0], &[2, 3], &[0, 2]));
    both!("expand", |b, i| b.expand(&i[0], &[2, 3], &[4, 3]));
    both!("expand rank", |b, i| b.expand(&i[0], &[2, 3], &[3]));
    both!("expand huge", |b, i| b.expand(
        &i[0],
        &[2, 3],
        &[usize::MAX, 2, 3]
    ));
    both!("slice ranges", |b, i| b.slice(
        &i[0],
        &[2, 3],
        &[r(0, 2, 1)]
    ));
    both!("slice end", |b, i| b.slice(
        &i[0],
        &[2, 3],
        &[r(0, 2, 1), r(0, 4, 1)]
    ));
    both!("slice step", |b, i| b.slice(
        &i[0],
        &[2, 3],
        &[r(0, 2, 0), r(0, 3, 1)]
    ));
    both!("slice start", |b, i| b.slice(
        &i[0],
        &[2, 3],
        &[r(2, 1, 1), r(0, 3, 1)]
    ));
    both!("concat none", |b, _i| b.concat(&[], 0));
    both!("concat axis", |b, i| b.concat(&[(&i[0], &[2, 3])], 2));
    both!("concat shapes", |b, i| b
        .concat(&[(&i[0], &[2, 3]), (&i[0], &[3, 2])], 0));
    both!("concat length", |b, i| b
        .concat(&[(&i[0], &[2, 3]), (&i[0], &[1, 3])], 0));
    both!("gather axis", |b, i| b.gather(&i[0], &[2, 3], 2, &[0]));
    both!("gather index", |b, i| b.gather(&i[0], &[2, 3], 1, &[0, 3]));
    both!("gather length", |b, i| b.gather(&i[0], &[7], 0, &[0]));
    both!("scatter_add axis", |b, i| b.scatter_add(
        &i[0],
        &[2, 3],
        2,
        &[0],
        4
    ));
    both!("scatter_add index", |b, i| b.scatter_add(
        &i[0],
        &[2, 3],
        1,
        &[0, 1, 4],
        4
    ));
    both!("scatter_add count", |b, i| b.scatter_add(
        &i[0],
        &[2, 3],
        1,
        &[0, 1],
        4
    ));
    both!("scatter_add length", |b, i| b.scatter_add(
        &i[0],
        &[2, 2],
        1,
        &[0, 1],
        4
    ));
    let bad = [
        geometry(1, 1, 1, &[6], &[3], &[1], (&[0], &[0]), &[1]),
        geometry(1, 3, 2, &[2], &[1], &[1], (&[0], &[0]), &[1]),
        geometry(1, 1, 1, &[2], &[4], &[1], (&[0], &[0]), &[1]),
        geometry(1, 1, 1, &[6], &[0], &[1], (&[0], &[0]), &[1]),
        geometry(1, 1, 1, &[6], &[2], &[0], (&[0], &[0]), &[1]),
        geometry(1, 1, 1, &[6], &[2, 1], &[1], (&[0], &[0]), &[1]),
        geometry(
            1,
            1,
            1,
            &[1, 1, 1, 6],
            &[1, 1, 1, 1],
            &[1; 4],
            (&[0; 4], &[0; 4]),
            &[1; 4],
        ),
        geometry(usize::MAX, 2, 1, &[3], &[1], &[1], (&[0], &[0]), &[1]),
    ];
    // The first geometry is valid for 6 inputs, but its patch matrix has 12 entries, so col2im
    // rejects the 6-value buffer; im2col gets 6 values for 6 (valid), the rest are invalid.
    for (k, g) in bad.iter().enumerate() {
        if k > 0 {
            both!(&format!("im2col {g:?}"), |b, i| b.im2col(&i[0], g));
        }
        both!(&format!("col2im {g:?}"), |b, i| b.col2im(&i[0], g));
    }
    both!("im2col length", |b, i| b.im2col(
        &i[0],
        &geometry(1, 1, 1, &[5], &[3], &[1], (&[0], &[0]), &[1])
    ));
    // Padded extents of 2^31 or more: valid, but beyond the wgpu backend's u32 indexing.
    let far = geometry(1, 1, 1, &[1], &[1], &[1 << 32], (&[1 << 31], &[0]), &[1]);
    assert!(far.validate().is_ok());
    let one = p.gpu.upload(&[1.0]).unwrap();
    match p.gpu.im2col(&one, &far) {
        Err(BackendError::Shape(message)) => assert!(message.contains("2^31"), "{message}"),
        other => panic!("far padding: {:?}", other.map(|b| b.len())),
    }
    // More than eight axes longer than 1: the CPU permutes, the wgpu backend reports a shape error.
    let shape = [2usize; 9];
    let axes: Vec<usize> = (0..9).rev().collect();
    let big = p.gpu.upload(&rng.data(512)).unwrap();
    match p.gpu.permute(&big, &shape, &axes) {
        Err(BackendError::Shape(message)) => assert!(message.contains("limit of 8"), "{message}"),
        other => panic!("rank 9: {:?}", other.map(|b| b.len())),
    }
}
