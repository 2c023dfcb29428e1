//! One test body per behaviour, instantiated per backend by `backend_tests!` (`name::cpu`,
//! `name::wgpu` with `--features wgpu`, `name::cuda` with `--features cuda`). Every body compares a backend's
//! output with the backend-independent oracle of lowp-formats (scalar quantizers, the GEMM
//! reference, `apply` and `reduce_reference`) or with naive index loops written here, bit for
//! bit (any NaN equals any NaN; the sign of zero counts). A backend that cannot start prints
//! `SKIP` and passes, unless `LOWP_REQUIRE` (comma-separated) names it. Sizes are small: the
//! wgpu software rasterizer (lavapipe) is slow.

use lowp::backend::{Backend, BackendError, ConvGeometry, SliceRange};
use lowp::formats::gemm::{self, Accumulation, GemmSpec};
use lowp::formats::ops::{BinaryOp, ReduceOp, UnaryOp, reduce_reference};
use lowp::formats::{Format, Quantizer, Rounding};

/// Whether `LOWP_REQUIRE` (a comma-separated list) names `backend`.
#[cfg_attr(not(any(feature = "wgpu", feature = "cuda")), allow(dead_code))]
fn required(backend: &str) -> bool {
    std::env::var("LOWP_REQUIRE")
        .map(|list| list.split(',').any(|name| name.trim() == backend))
        .unwrap_or(false)
}

/// The shared wgpu backend (opened once per test binary), or `None` after printing
/// `SKIP: wgpu: <reason>` when no adapter is available and `LOWP_REQUIRE` does not name wgpu.
#[cfg(feature = "wgpu")]
fn wgpu_backend() -> Option<&'static lowp_wgpu::WgpuBackend> {
    static BACKEND: std::sync::OnceLock<Result<lowp_wgpu::WgpuBackend, BackendError>> =
        std::sync::OnceLock::new();
    match BACKEND.get_or_init(lowp_wgpu::WgpuBackend::new) {
        Ok(backend) => Some(backend),
        Err(BackendError::Unavailable { reason, .. }) if !required("wgpu") => {
            println!("SKIP: wgpu: {reason}");
            None
        }
        Err(error) => panic!("the wgpu backend is required (LOWP_REQUIRE) but failed: {error}"),
    }
}

/// The shared CUDA backend (opened once per test binary), or `None` after printing
/// `SKIP: cuda: <reason>` when no driver, NVRTC or device is available and `LOWP_REQUIRE` does not
/// name cuda.
#[cfg(feature = "cuda")]
fn cuda_backend() -> Option<&'static lowp_cuda::CudaBackend> {
    static BACKEND: std::sync::OnceLock<Result<lowp_cuda::CudaBackend, BackendError>> =
        std::sync::OnceLock::new();
    match BACKEND.get_or_init(lowp_cuda::CudaBackend::new) {
        Ok(backend) => Some(backend),
        Err(BackendError::Unavailable { reason, .. }) if !required("cuda") => {
            println!("SKIP: cuda: {reason}");
            None
        }
        Err(error) => panic!("the cuda backend is required (LOWP_REQUIRE) but failed: {error}"),
    }
}

/// For each test body `fn name<B: Backend>(backend: &B)`, a module `name` with one test per
/// backend.
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[test]
                fn cpu() {
                    super::$name(&lowp::CpuBackend::new());
                }

                #[cfg(feature = "wgpu")]
                #[test]
                fn wgpu() {
                    if let Some(backend) = super::wgpu_backend() {
                        super::$name(backend);
                    }
                }

                #[cfg(feature = "cuda")]
                #[test]
                fn cuda() {
                    if let Some(backend) = super::cuda_backend() {
                        super::$name(backend);
                    }
                }
            }
        )*
    };
}

backend_tests!(
    quantize_elementwise_formats_in_every_mode,
    quantize_block_formats_along_each_dim,
    qgemm_in_every_accumulation_mode,
    qgemm_accumulates_in_order,
    unary_ops,
    binary_ops,
    select,
    reduce_on_every_axis,
    permute,
    expand,
    slice,
    concat,
    gather_and_scatter_add,
    im2col_and_col2im,
    shape_errors,
);

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

const SEED: u64 = 0xDEAD_BEEF_CAFE_F00D;

fn upload<B: Backend>(backend: &B, data: &[f32]) -> B::Buffer {
    backend.upload(data).expect("upload")
}

fn download<B: Backend>(backend: &B, buffer: &B::Buffer) -> Vec<f32> {
    pollster::block_on(backend.download(buffer)).expect("download")
}

/// Asserts `got == expected` bit for bit (any NaN equals any NaN), naming the first difference.
fn assert_bits(context: &str, got: &[f32], expected: &[f32]) {
    assert_eq!(got.len(), expected.len(), "{context}: lengths");
    let differing: Vec<usize> = (0..got.len())
        .filter(|&i| {
            !(got[i].to_bits() == expected[i].to_bits() || got[i].is_nan() && expected[i].is_nan())
        })
        .collect();
    if let Some(&i) = differing.first() {
        panic!(
            "{context}: {} of {} elements differ; first at {i}: got {:#010x} ({}), expected {:#010x} ({})",
            differing.len(),
            got.len(),
            got[i].to_bits(),
            got[i],
            expected[i].to_bits(),
            expected[i]
        );
    }
}

/// A xorshift64 generator with a fixed seed.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed | 1)
    }
    fn next_u32(&mut self) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 16) as u32
    }
    /// A value in [-scale, scale) with a full mantissa.
    fn value(&mut self, scale: f32) -> f32 {
        (self.next_u32() as f32 / 4_294_967_296.0 * 2.0 - 1.0) * scale
    }
    fn values(&mut self, len: usize, scale: f32) -> Vec<f32> {
        (0..len).map(|_| self.value(scale)).collect()
    }
}

/// binary32 specials, both signs of every binade edge and its neighbours, the rounding
/// boundaries of every quantum inside the fraction (ties with even and odd kept bits, their
/// neighbours, carries into the next binade), and pseudo-random patterns.
fn patterns(random: usize) -> Vec<f32> {
    let mut bits: Vec<u32> = vec![0, 1, 2, 0x7F_FFFF, 0x7F80_0000, 0x7FC0_0000, 0x7F80_0001];
    for exponent in 0..=255u32 {
        for mantissa in [0u32, 1, 0x40_0000, 0x7F_FFFF] {
            bits.push((exponent << 23) | mantissa);
        }
    }
    for shift in 1..=23u32 {
        let half = 1u32 << (shift - 1);
        let kept_odd = (1u32 << shift) & 0x7F_FFFF;
        for exponent in [1u32, 100, 112, 120, 127, 142, 254] {
            for mantissa in [
                half,
                half - 1,
                half + 1,
                kept_odd | half,
                0x7F_FFFF - half + 1,
            ] {
                bits.push((exponent << 23) | (mantissa & 0x7F_FFFF));
            }
        }
    }
    let mut rng = Rng::new(0x9E37_79B9_7F4A_7C15);
    bits.extend((0..random).map(|_| rng.next_u32() & 0x7FFF_FFFF));
    let negatives: Vec<u32> = bits.iter().map(|b| b | 0x8000_0000).collect();
    bits.extend(negatives);
    bits.into_iter().map(f32::from_bits).collect()
}

fn format(spec: &str) -> Format {
    spec.parse().unwrap_or_else(|e| panic!("{spec}: {e}"))
}

fn every_mode() -> Vec<Rounding> {
    let mut modes = vec![
        Rounding::Nearest,
        Rounding::TowardZero,
        Rounding::Up,
        Rounding::Down,
        Rounding::NearestAway,
        Rounding::Odd,
    ];
    modes.extend([1, 8, 13, 24, 32].map(|bits| Rounding::Stochastic { bits }));
    modes
}

fn e4m3_nearest() -> Quantizer {
    Quantizer::nearest(format("e4m3"))
}

fn bf16_stochastic() -> Quantizer {
    Quantizer::new(format("bf16"), Rounding::Stochastic { bits: 16 }, SEED).unwrap()
}

/// Row-major strides of `shape`.
fn strides(shape: &[usize]) -> Vec<usize> {
    let mut strides = vec![1; shape.len()];
    for axis in (0..shape.len().saturating_sub(1)).rev() {
        strides[axis] = strides[axis + 1] * shape[axis + 1];
    }
    strides
}

/// The multi-index of flat index `flat` in `shape`.
fn unravel(mut flat: usize, shape: &[usize]) -> Vec<usize> {
    let mut index = vec![0; shape.len()];
    for axis in (0..shape.len()).rev() {
        index[axis] = flat % shape[axis];
        flat /= shape[axis];
    }
    index
}

fn ravel(index: &[usize], shape: &[usize]) -> usize {
    index.iter().zip(strides(shape)).map(|(i, s)| i * s).sum()
}

/// Distinct values (exact small integers with a fraction) so misplaced elements show.
fn iota(len: usize) -> Vec<f32> {
    (0..len).map(|i| i as f32 + 0.25).collect()
}

// ---------------------------------------------------------------------------------------------
// Quantize
// ---------------------------------------------------------------------------------------------

fn quantize_elementwise_formats_in_every_mode<B: Backend>(backend: &B) {
    let data = patterns(400);
    let shape = [data.len()];
    let input = upload(backend, &data);
    let mut cases = 0;
    for spec in [
        "fp32",
        "bf16",
        "fp16",
        "e5m2",
        "e4m3",
        "e4m3fn(saturate=true)",
        "e5m2(subnormals=false)",
        "float(exp=2,man=1,subnormals=false)",
        "binary8(p=3)",
        "binary(k=12,p=4,overflow=saturate_infty)",
        "fixed(wl=8,fl=4)",
        "fixed(wl=16,fl=8,symmetric=true)",
        "superfp(exp=4,man=3,binades=1)",
    ] {
        for mode in every_mode() {
            let Ok(quantizer) = Quantizer::new(format(spec), mode, SEED) else {
                continue; // superfp rounds to nearest only
            };
            let expected = quantizer.quantize_slice(&data, &shape).unwrap();
            let got = download(
                backend,
                &backend.quantize(&input, &shape, &quantizer).unwrap(),
            );
            assert_bits(&format!("{spec} {mode}"), &got, &expected);
            cases += 1;
        }
    }
    assert!(cases > 100, "{cases} cases");
}

fn quantize_block_formats_along_each_dim<B: Backend>(backend: &B) {
    let mut rng = Rng::new(7);
    let shape = [4usize, 6, 5];
    let mut data: Vec<f32> = (0..120)
        .map(|_| {
            f32::from_bits(
                rng.next_u32() & 0x8000_0000 | (0x3000_0000 + (rng.next_u32() & 0x1FFF_FFFF)),
            )
        })
        .collect();
    // Specials, zeros of both signs and subnormals in a few places.
    for (i, value) in [
        (3, f32::INFINITY),
        (17, f32::NAN),
        (18, -0.0),
        (40, f32::NEG_INFINITY),
        (41, f32::from_bits(5)),
        (77, f32::MAX),
        (99, 0.0),
    ] {
        data[i] = value;
    }
    let input = upload(backend, &data);
    for dim in -1..shape.len() as i32 {
        for wl in [3u32, 8, 24] {
            let spec = format!("block(wl={wl},dim={dim})");
            for mode in [
                Rounding::Nearest,
                Rounding::Down,
                Rounding::Stochastic { bits: 24 },
            ] {
                let quantizer = Quantizer::new(format(&spec), mode, SEED).unwrap();
                let expected = quantizer.quantize_slice(&data, &shape).unwrap();
                let got = download(
                    backend,
                    &backend.quantize(&input, &shape, &quantizer).unwrap(),
                );
                assert_bits(&format!("{spec} {mode}"), &got, &expected);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// GEMM
// ---------------------------------------------------------------------------------------------

fn qgemm_in_every_accumulation_mode<B: Backend>(backend: &B) {
    let mut rng = Rng::new(11);
    for (batch, m, k, n) in [(1, 1, 1, 1), (2, 3, 5, 4), (1, 7, 13, 3), (3, 1, 9, 2)] {
        let a_data = rng.values(batch * m * k, 3.0);
        let b_data = rng.values(batch * k * n, 3.0);
        let a = upload(backend, &a_data);
        let b = upload(backend, &b_data);
        for (transpose_a, transpose_b) in
            [(false, false), (true, false), (false, true), (true, true)]
        {
            for mode in ["separate", "fma", "compensated", "blocked"] {
                for rounding in [Rounding::Nearest, Rounding::Stochastic { bits: 8 }] {
                    let mut spec = GemmSpec::new(batch, m, k, n, format("e4m3"), format("bf16"));
                    spec.transpose_a = transpose_a;
                    spec.transpose_b = transpose_b;
                    spec.rounding = rounding;
                    spec.seed = SEED;
                    match mode {
                        "fma" => spec.fma = true,
                        "compensated" => spec.accumulation = Accumulation::Compensated,
                        "blocked" => {
                            spec.accumulation = Accumulation::Blocked {
                                chunk: 4,
                                outer: format("fp16"),
                                outer_bits: 12,
                            }
                        }
                        _ => {}
                    }
                    let expected = gemm::reference(&a_data, &b_data, &spec).unwrap();
                    let got = download(backend, &backend.qgemm(&a, &b, &spec).unwrap());
                    assert_bits(
                        &format!(
                            "{batch}x{m}x{k}x{n} t=({transpose_a},{transpose_b}) {mode} {rounding}"
                        ),
                        &got,
                        &expected,
                    );
                }
            }
        }
    }
}

fn qgemm_accumulates_in_order<B: Backend>(backend: &B) {
    // ((1e8 + 1) - 1e8) + 1 = 1 in binary32 when summed in ascending k; any other order or a
    // wider accumulator gives 0 or 2.
    let a_data = [1e8f32, 1.0, -1e8, 1.0];
    let b_data = [1f32; 4];
    let spec = GemmSpec::new(1, 1, 4, 1, format("fp32"), format("fp32"));
    assert_eq!(gemm::reference(&a_data, &b_data, &spec).unwrap(), [1.0]);
    let a = upload(backend, &a_data);
    let b = upload(backend, &b_data);
    let got = download(backend, &backend.qgemm(&a, &b, &spec).unwrap());
    assert_bits("[1e8, 1, -1e8, 1] . ones", &got, &[1.0]);
}

// ---------------------------------------------------------------------------------------------
// Element-wise ops and reductions
// ---------------------------------------------------------------------------------------------

/// The output quantizers of the element-wise tests (`None`: binary32 result only).
fn output_quantizers() -> Vec<Option<Quantizer>> {
    vec![
        None,
        Some(e4m3_nearest()),
        Some(bf16_stochastic()),
        Some(Quantizer::new(format("block(wl=6,dim=1)"), Rounding::Nearest, SEED).unwrap()),
    ]
}

fn expected_with(quantizer: Option<&Quantizer>, values: Vec<f32>, shape: &[usize]) -> Vec<f32> {
    match quantizer {
        Some(q) => q.quantize_slice(&values, shape).unwrap(),
        None => values,
    }
}

fn unary_ops<B: Backend>(backend: &B) {
    let mut data: Vec<f32> = patterns(100).into_iter().step_by(3).take(300).collect();
    let mut rng = Rng::new(3);
    data.extend(rng.values(100, 12.0));
    data.truncate(400);
    let shape = [20usize, 20];
    assert_eq!(data.len(), 400);
    let x = upload(backend, &data);
    for op in UnaryOp::ALL {
        for quantizer in output_quantizers() {
            let applied = data.iter().map(|&v| op.apply(v)).collect();
            let expected = expected_with(quantizer.as_ref(), applied, &shape);
            let got = download(
                backend,
                &backend.unary(op, &x, &shape, quantizer.as_ref()).unwrap(),
            );
            assert_bits(&format!("{op:?} {quantizer:?}"), &got, &expected);
        }
    }
}

fn binary_ops<B: Backend>(backend: &B) {
    let specials = [
        0.0f32,
        -0.0,
        1.0,
        -1.0,
        0.5,
        2.0,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
        f32::MAX,
        f32::from_bits(1),
        -3.0,
    ];
    let mut xs = Vec::new();
    let mut ys = Vec::new();
    for &x in &specials {
        for &y in &specials {
            xs.push(x);
            ys.push(y);
        }
    }
    let mut rng = Rng::new(5);
    while xs.len() < 200 {
        xs.push(rng.value(8.0));
        ys.push(rng.value(8.0));
    }
    let shape = [10usize, 20];
    let x = upload(backend, &xs);
    let y = upload(backend, &ys);
    for op in BinaryOp::ALL {
        for quantizer in output_quantizers() {
            let applied = xs.iter().zip(&ys).map(|(&a, &b)| op.apply(a, b)).collect();
            let expected = expected_with(quantizer.as_ref(), applied, &shape);
            let got = download(
                backend,
                &backend
                    .binary(op, &x, &y, &shape, quantizer.as_ref())
                    .unwrap(),
            );
            assert_bits(&format!("{op:?} {quantizer:?}"), &got, &expected);
        }
    }
}

fn select<B: Backend>(backend: &B) {
    let condition = [1.0f32, 0.0, -0.0, f32::NAN, -2.0, f32::INFINITY, 0.0, 1e-45];
    let xs = [1.0f32, 2.0, 3.0, 4.0, -0.0, f32::NAN, 7.0, 8.0];
    let ys = [-1.0f32, -0.0, -3.0, -4.0, -5.0, -6.0, f32::NAN, -8.0];
    let expected: Vec<f32> = (0..8)
        .map(|i| {
            if condition[i] != 0.0 || condition[i].is_nan() {
                xs[i]
            } else {
                ys[i]
            }
        })
        .collect();
    let got = download(
        backend,
        &backend
            .select(
                &upload(backend, &condition),
                &upload(backend, &xs),
                &upload(backend, &ys),
            )
            .unwrap(),
    );
    assert_bits("select", &got, &expected);
}

fn reduce_on_every_axis<B: Backend>(backend: &B) {
    let shape = [2usize, 3, 5];
    let mut rng = Rng::new(13);
    let mut data = rng.values(30, 40.0);
    data[7] = -0.0;
    data[8] = 0.0;
    data[21] = f32::NAN;
    let x = upload(backend, &data);
    for op in ReduceOp::ALL {
        for quantizer in [None, Some(e4m3_nearest()), Some(bf16_stochastic())] {
            for axis in 0..shape.len() {
                let expected =
                    reduce_reference(op, &data, &shape, axis, quantizer.as_ref()).unwrap();
                let got = download(
                    backend,
                    &backend
                        .reduce(op, &x, &shape, axis, quantizer.as_ref())
                        .unwrap(),
                );
                assert_bits(
                    &format!("{op:?} axis {axis} {quantizer:?}"),
                    &got,
                    &expected,
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Data movement
// ---------------------------------------------------------------------------------------------

fn permute<B: Backend>(backend: &B) {
    let shape = [2usize, 3, 4];
    let data = iota(24);
    let x = upload(backend, &data);
    for axes in [
        [0usize, 1, 2],
        [0, 2, 1],
        [1, 0, 2],
        [1, 2, 0],
        [2, 0, 1],
        [2, 1, 0],
    ] {
        let out_shape: Vec<usize> = axes.iter().map(|&a| shape[a]).collect();
        let expected: Vec<f32> = (0..24)
            .map(|flat| {
                let out_index = unravel(flat, &out_shape);
                let mut in_index = [0; 3];
                for (i, &a) in axes.iter().enumerate() {
                    in_index[a] = out_index[i];
                }
                data[ravel(&in_index, &shape)]
            })
            .collect();
        let got = download(backend, &backend.permute(&x, &shape, &axes).unwrap());
        assert_bits(&format!("permute {axes:?}"), &got, &expected);
    }
}

fn expand<B: Backend>(backend: &B) {
    for (shape, target) in [
        (vec![3usize, 1], vec![2usize, 3, 4]),
        (vec![4], vec![2, 3, 4]),
        (vec![1], vec![5]),
        (vec![2, 1, 4], vec![2, 3, 4]),
    ] {
        let len: usize = shape.iter().product();
        let data = iota(len);
        let offset = target.len() - shape.len();
        let total: usize = target.iter().product();
        let expected: Vec<f32> = (0..total)
            .map(|flat| {
                let out_index = unravel(flat, &target);
                let in_index: Vec<usize> = shape
                    .iter()
                    .enumerate()
                    .map(|(a, &extent)| {
                        if extent == 1 {
                            0
                        } else {
                            out_index[a + offset]
                        }
                    })
                    .collect();
                data[ravel(&in_index, &shape)]
            })
            .collect();
        let got = download(
            backend,
            &backend
                .expand(&upload(backend, &data), &shape, &target)
                .unwrap(),
        );
        assert_bits(&format!("expand {shape:?} -> {target:?}"), &got, &expected);
    }
}

fn slice<B: Backend>(backend: &B) {
    let shape = [4usize, 5, 6];
    let data = iota(120);
    let x = upload(backend, &data);
    let range = |start, end, step| SliceRange { start, end, step };
    for ranges in [
        [range(0, 4, 1), range(0, 5, 1), range(0, 6, 1)],
        [range(1, 3, 1), range(0, 5, 2), range(5, 6, 1)],
        [range(0, 4, 3), range(1, 5, 3), range(0, 6, 4)],
        [range(2, 2, 1), range(0, 5, 1), range(0, 6, 1)],
    ] {
        let out_shape: Vec<usize> = ranges.iter().map(SliceRange::len).collect();
        let total: usize = out_shape.iter().product();
        let expected: Vec<f32> = (0..total)
            .map(|flat| {
                let out_index = unravel(flat, &out_shape);
                let in_index: Vec<usize> = out_index
                    .iter()
                    .zip(&ranges)
                    .map(|(&i, r)| r.start + i * r.step)
                    .collect();
                data[ravel(&in_index, &shape)]
            })
            .collect();
        let got = download(backend, &backend.slice(&x, &shape, &ranges).unwrap());
        assert_bits(&format!("slice {ranges:?}"), &got, &expected);
    }
}

fn concat<B: Backend>(backend: &B) {
    for axis in 0..3 {
        let mut shapes = vec![[2usize, 3, 4]; 3];
        shapes[1][axis] = 1;
        shapes[2][axis] = 3;
        let datas: Vec<Vec<f32>> = shapes
            .iter()
            .enumerate()
            .map(|(p, s)| {
                iota(s.iter().product())
                    .iter()
                    .map(|v| v + 100.0 * p as f32)
                    .collect()
            })
            .collect();
        let buffers: Vec<B::Buffer> = datas.iter().map(|d| upload(backend, d)).collect();
        let parts: Vec<(&B::Buffer, &[usize])> = buffers
            .iter()
            .zip(&shapes)
            .map(|(b, s)| (b, s.as_slice()))
            .collect();
        let mut out_shape = shapes[0];
        out_shape[axis] = shapes.iter().map(|s| s[axis]).sum();
        let total: usize = out_shape.iter().product();
        let expected: Vec<f32> = (0..total)
            .map(|flat| {
                let mut index = unravel(flat, &out_shape);
                let mut part = 0;
                while index[axis] >= shapes[part][axis] {
                    index[axis] -= shapes[part][axis];
                    part += 1;
                }
                datas[part][ravel(&index, &shapes[part])]
            })
            .collect();
        let got = download(backend, &backend.concat(&parts, axis).unwrap());
        assert_bits(&format!("concat axis {axis}"), &got, &expected);
    }
}

fn gather_and_scatter_add<B: Backend>(backend: &B) {
    let shape = [3usize, 4, 2];
    let data = iota(24);
    let x = upload(backend, &data);
    let mut rng = Rng::new(17);
    for axis in 0..3 {
        let extent = shape[axis];
        let indices: Vec<u32> = (0..5).map(|_| rng.next_u32() % extent as u32).collect();
        let mut out_shape = shape.to_vec();
        out_shape[axis] = indices.len();
        let total: usize = out_shape.iter().product();
        let expected: Vec<f32> = (0..total)
            .map(|flat| {
                let mut index = unravel(flat, &out_shape);
                index[axis] = indices[index[axis]] as usize;
                data[ravel(&index, &shape)]
            })
            .collect();
        let got = download(
            backend,
            &backend.gather(&x, &shape, axis, &indices).unwrap(),
        );
        assert_bits(&format!("gather axis {axis} {indices:?}"), &got, &expected);

        // scatter_add of values whose sums round: binary32 adds from +0, ascending t.
        let src_data: Vec<f32> = (0..total)
            .map(|i| if i % 7 == 3 { -0.0 } else { rng.value(1e4) })
            .collect();
        let mut expected = vec![0f32; shape.iter().product()];
        for (flat, &value) in src_data.iter().enumerate() {
            let mut index = unravel(flat, &out_shape);
            index[axis] = indices[index[axis]] as usize;
            // Ascending flat order is ascending t for each output element.
            expected[ravel(&index, &shape)] += value;
        }
        let got = download(
            backend,
            &backend
                .scatter_add(
                    &upload(backend, &src_data),
                    &out_shape,
                    axis,
                    &indices,
                    extent,
                )
                .unwrap(),
        );
        assert_bits(
            &format!("scatter_add axis {axis} {indices:?}"),
            &got,
            &expected,
        );
    }
}

/// Naive im2col: `[groups, (C/groups) * prod(kernel), batch * prod(output)]`.
fn naive_im2col(x: &[f32], g: &ConvGeometry) -> Vec<f32> {
    let output = g.output();
    let rows = g.patch_rows();
    let columns = g.patch_columns();
    let per_group = g.channels / g.groups;
    let taps: usize = g.kernel.iter().product();
    let positions: usize = output.iter().product();
    let spatial: usize = g.input.iter().product();
    let mut out = vec![0f32; g.groups * rows * columns];
    for group in 0..g.groups {
        for row in 0..rows {
            let (c, tap) = (row / taps, row % taps);
            let k = unravel(tap, &g.kernel);
            let channel = group * per_group + c;
            for column in 0..columns {
                let (n, position) = (column / positions, column % positions);
                let o = unravel(position, &output);
                let mut inside = true;
                let mut index = Vec::new();
                for axis in 0..g.input.len() {
                    let i = (o[axis] * g.stride[axis] + k[axis] * g.dilation[axis]) as isize
                        - g.pad_before[axis] as isize;
                    inside &= i >= 0 && (i as usize) < g.input[axis];
                    index.push(i.max(0) as usize);
                }
                if inside {
                    out[(group * rows + row) * columns + column] =
                        x[(n * g.channels + channel) * spatial + ravel(&index, &g.input)];
                }
            }
        }
    }
    out
}

/// Naive col2im: every patch entry added back into its input position; rows ascend, so each
/// input element receives its taps in ascending kernel offset order.
fn naive_col2im(columns_data: &[f32], g: &ConvGeometry) -> Vec<f32> {
    let output = g.output();
    let rows = g.patch_rows();
    let columns = g.patch_columns();
    let per_group = g.channels / g.groups;
    let taps: usize = g.kernel.iter().product();
    let positions: usize = output.iter().product();
    let spatial: usize = g.input.iter().product();
    let mut x = vec![0f32; g.input_len()];
    for group in 0..g.groups {
        for row in 0..rows {
            let (c, tap) = (row / taps, row % taps);
            let k = unravel(tap, &g.kernel);
            let channel = group * per_group + c;
            for column in 0..columns {
                let (n, position) = (column / positions, column % positions);
                let o = unravel(position, &output);
                let mut inside = true;
                let mut index = Vec::new();
                for axis in 0..g.input.len() {
                    let i = (o[axis] * g.stride[axis] + k[axis] * g.dilation[axis]) as isize
                        - g.pad_before[axis] as isize;
                    inside &= i >= 0 && (i as usize) < g.input[axis];
                    index.push(i.max(0) as usize);
                }
                if inside {
                    x[(n * g.channels + channel) * spatial + ravel(&index, &g.input)] +=
                        columns_data[(group * rows + row) * columns + column];
                }
            }
        }
    }
    x
}

fn im2col_and_col2im<B: Backend>(backend: &B) {
    let geometries = [
        ConvGeometry {
            batch: 2,
            channels: 4,
            groups: 2,
            input: vec![5, 4],
            kernel: vec![3, 2],
            stride: vec![2, 1],
            pad_before: vec![1, 0],
            pad_after: vec![1, 1],
            dilation: vec![1, 2],
        },
        ConvGeometry {
            batch: 1,
            channels: 3,
            groups: 1,
            input: vec![9],
            kernel: vec![3],
            stride: vec![1],
            pad_before: vec![2],
            pad_after: vec![0],
            dilation: vec![2],
        },
        ConvGeometry {
            batch: 1,
            channels: 2,
            groups: 1,
            input: vec![3, 3, 2],
            kernel: vec![2, 2, 1],
            stride: vec![1, 2, 1],
            pad_before: vec![0, 1, 0],
            pad_after: vec![1, 0, 0],
            dilation: vec![1, 1, 1],
        },
    ];
    let mut rng = Rng::new(19);
    for geometry in &geometries {
        let data = rng.values(geometry.input_len(), 1e3);
        let expected = naive_im2col(&data, geometry);
        let columns = backend.im2col(&upload(backend, &data), geometry).unwrap();
        assert_bits(
            &format!("im2col {geometry:?}"),
            &download(backend, &columns),
            &expected,
        );
        let patch = rng.values(expected.len(), 1e3);
        let expected = naive_col2im(&patch, geometry);
        let got = download(
            backend,
            &backend.col2im(&upload(backend, &patch), geometry).unwrap(),
        );
        assert_bits(&format!("col2im {geometry:?}"), &got, &expected);
    }
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

fn shape_errors<B: Backend>(backend: &B) {
    let six = upload(backend, &iota(6));
    let four = upload(backend, &iota(4));
    let e4m3 = e4m3_nearest();
    let mut failures = Vec::new();
    let mut expect_err = |what: &str, result: Result<B::Buffer, BackendError>| {
        if result.is_ok() {
            failures.push(what.to_string());
        }
    };
    expect_err("quantize shape", backend.quantize(&six, &[2, 2], &e4m3));
    expect_err(
        "quantize overflowing shape",
        backend.quantize(&six, &[usize::MAX, 2], &e4m3),
    );
    expect_err(
        "quantize block overflowing shape",
        backend.quantize(
            &six,
            &[usize::MAX, 3],
            &Quantizer::nearest(format("block(wl=8,dim=1)")),
        ),
    );
    expect_err(
        "quantize block dim",
        backend.quantize(
            &six,
            &[2, 3],
            &Quantizer::nearest(format("block(wl=8,dim=2)")),
        ),
    );
    let spec = GemmSpec::new(1, 2, 3, 2, format("fp32"), format("fp32"));
    expect_err("qgemm a size", backend.qgemm(&four, &six, &spec));
    expect_err("qgemm b size", backend.qgemm(&six, &four, &spec));
    expect_err("unary shape", backend.unary(UnaryOp::Neg, &six, &[7], None));
    expect_err(
        "binary lengths",
        backend.binary(BinaryOp::Add, &six, &four, &[6], None),
    );
    expect_err("select lengths", backend.select(&six, &six, &four));
    expect_err(
        "reduce axis",
        backend.reduce(ReduceOp::Sum, &six, &[2, 3], 2, None),
    );
    expect_err(
        "reduce shape",
        backend.reduce(ReduceOp::Sum, &six, &[2, 2], 0, None),
    );
    expect_err(
        "reduce block quantizer",
        backend.reduce(
            ReduceOp::Sum,
            &six,
            &[2, 3],
            0,
            Some(&Quantizer::nearest(format("block(wl=8,dim=0)"))),
        ),
    );
    expect_err(
        "permute repeated axis",
        backend.permute(&six, &[2, 3], &[0, 0]),
    );
    expect_err("permute rank", backend.permute(&six, &[2, 3], &[0]));
    expect_err(
        "expand incompatible",
        backend.expand(&six, &[2, 3], &[2, 4]),
    );
    expect_err(
        "slice past the end",
        backend.slice(
            &six,
            &[2, 3],
            &[
                SliceRange::full(2),
                SliceRange {
                    start: 0,
                    end: 4,
                    step: 1,
                },
            ],
        ),
    );
    expect_err(
        "concat mismatch",
        backend.concat(&[(&six, &[2, 3]), (&four, &[2, 2])], 0),
    );
    expect_err("gather index", backend.gather(&six, &[2, 3], 1, &[0, 3]));
    expect_err(
        "scatter_add index",
        backend.scatter_add(&six, &[2, 3], 1, &[0, 1, 5], 4),
    );
    let geometry = ConvGeometry {
        batch: 1,
        channels: 1,
        groups: 1,
        input: vec![5],
        kernel: vec![2],
        stride: vec![1],
        pad_before: vec![0],
        pad_after: vec![0],
        dilation: vec![1],
    };
    expect_err("im2col input size", backend.im2col(&six, &geometry));
    expect_err("col2im columns size", backend.col2im(&six, &geometry));
    assert!(
        failures.is_empty(),
        "{}: accepted {failures:?}",
        backend.name()
    );
}
