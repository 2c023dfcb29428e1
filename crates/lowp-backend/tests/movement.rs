//! The data-movement operations of the CPU backend (permute, expand, slice, concat, gather,
//! scatter_add, im2col, col2im), through the `Backend` trait, against naive index-arithmetic
//! references, adjointness identities, a direct convolution, and every validation error.

use lowp_backend::{Backend, BackendError, ConvGeometry, CpuBackend, CpuBuffer, SliceRange};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// xorshift64: deterministic pseudo-random numbers for the tests.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    /// Uniform in `0..n` (n > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    /// Uniform in `[-1, 1)`, with a few exact signed zeros.
    fn value(&mut self) -> f32 {
        match self.below(50) {
            0 => 0.0,
            1 => -0.0,
            _ => (self.next() >> 40) as f32 / (1u64 << 23) as f32 - 1.0,
        }
    }
    fn values(&mut self, n: usize) -> Vec<f32> {
        (0..n).map(|_| self.value()).collect()
    }
}

fn backend() -> CpuBackend {
    CpuBackend::new()
}

fn up(backend: &CpuBackend, data: &[f32]) -> CpuBuffer {
    backend.upload(data).unwrap()
}

fn down(backend: &CpuBackend, buffer: &CpuBuffer) -> Vec<f32> {
    pollster::block_on(backend.download(buffer)).unwrap()
}

fn count(shape: &[usize]) -> usize {
    shape.iter().product()
}

/// Row-major multi-index of flat position `flat` in `shape`.
fn unravel(mut flat: usize, shape: &[usize]) -> Vec<usize> {
    let mut index = vec![0; shape.len()];
    for axis in (0..shape.len()).rev() {
        index[axis] = flat % shape[axis];
        flat /= shape[axis];
    }
    index
}

/// Row-major flat position of multi-index `index` in `shape`.
fn ravel(index: &[usize], shape: &[usize]) -> usize {
    index
        .iter()
        .zip(shape)
        .fold(0, |flat, (&i, &extent)| flat * extent + i)
}

/// Bitwise equality (distinguishes signed zeros).
fn assert_bits(actual: &[f32], expected: &[f32], what: &str) {
    assert_eq!(actual.len(), expected.len(), "{what}: lengths differ");
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        assert_eq!(
            a.to_bits(),
            e.to_bits(),
            "{what}: element {i} is {a:?}, expected {e:?}"
        );
    }
}

fn dot(a: &[f32], b: &[f32]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(&x, &y)| x as f64 * y as f64).sum()
}

fn abs_dot(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| (x as f64 * y as f64).abs())
        .sum()
}

/// Two f64 inner products agree up to the binary32 rounding of the sums one side of them took.
fn assert_close(left: f64, right: f64, scale: f64, what: &str) {
    let tolerance = 1e-5 * scale + 1e-12;
    assert!(
        (left - right).abs() <= tolerance,
        "{what}: {left} vs {right} (tolerance {tolerance})"
    );
}

fn assert_shape_error<T: std::fmt::Debug>(result: lowp_backend::Result<T>, what: &str) {
    match result {
        Err(BackendError::Shape(message)) => assert!(!message.is_empty(), "{what}"),
        other => panic!("{what}: expected a shape error, got {other:?}"),
    }
}

/// All permutations of `0..n`.
fn permutations(n: usize) -> Vec<Vec<usize>> {
    if n == 0 {
        return vec![Vec::new()];
    }
    let mut all = Vec::new();
    for smaller in permutations(n - 1) {
        for position in 0..n {
            let mut p = smaller.clone();
            p.insert(position, n - 1);
            all.push(p);
        }
    }
    all
}

/// Shapes of rank 0 to 4, with size-1 and empty axes.
fn shapes() -> Vec<Vec<usize>> {
    vec![
        vec![],
        vec![1],
        vec![7],
        vec![0],
        vec![3, 4],
        vec![1, 5],
        vec![5, 1],
        vec![2, 0],
        vec![2, 3, 4],
        vec![1, 3, 1],
        vec![4, 1, 2],
        vec![3, 0, 2],
        vec![2, 3, 1, 4],
        vec![1, 1, 1, 1],
        vec![3, 2, 5, 2],
        vec![2, 1, 3, 0],
    ]
}

// ---------------------------------------------------------------------------------------------
// permute
// ---------------------------------------------------------------------------------------------

fn permute_reference(x: &[f32], shape: &[usize], axes: &[usize]) -> Vec<f32> {
    let out_shape: Vec<usize> = axes.iter().map(|&a| shape[a]).collect();
    (0..count(&out_shape))
        .map(|flat| {
            let out_index = unravel(flat, &out_shape);
            let mut in_index = vec![0; shape.len()];
            for (i, &a) in axes.iter().enumerate() {
                in_index[a] = out_index[i];
            }
            x[ravel(&in_index, shape)]
        })
        .collect()
}

#[test]
fn permute_matches_reference_for_every_permutation() {
    let backend = backend();
    let mut rng = Rng::new(1);
    for shape in shapes() {
        let data = rng.values(count(&shape));
        let x = up(&backend, &data);
        for axes in permutations(shape.len()) {
            let out = down(&backend, &backend.permute(&x, &shape, &axes).unwrap());
            let what = format!("permute {shape:?} by {axes:?}");
            assert_bits(&out, &permute_reference(&data, &shape, &axes), &what);
        }
    }
}

#[test]
fn permute_round_trip_with_inverse_is_identity() {
    let backend = backend();
    let mut rng = Rng::new(2);
    for shape in shapes() {
        let data = rng.values(count(&shape));
        let x = up(&backend, &data);
        for axes in permutations(shape.len()) {
            let mut inverse = vec![0; axes.len()];
            for (i, &a) in axes.iter().enumerate() {
                inverse[a] = i;
            }
            let permuted_shape: Vec<usize> = axes.iter().map(|&a| shape[a]).collect();
            let y = backend.permute(&x, &shape, &axes).unwrap();
            let back = backend.permute(&y, &permuted_shape, &inverse).unwrap();
            assert_bits(
                &down(&backend, &back),
                &data,
                &format!("round trip {shape:?} {axes:?}"),
            );
        }
    }
}

#[test]
fn permute_transposes_a_matrix() {
    let backend = backend();
    let x = up(&backend, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    let out = down(&backend, &backend.permute(&x, &[2, 3], &[1, 0]).unwrap());
    assert_eq!(out, [1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
}

#[test]
fn permute_errors() {
    let backend = backend();
    let x = up(&backend, &[0.0; 6]);
    assert_shape_error(backend.permute(&x, &[2, 3], &[0]), "too few axes");
    assert_shape_error(backend.permute(&x, &[2, 3], &[0, 1, 2]), "too many axes");
    assert_shape_error(backend.permute(&x, &[2, 3], &[1, 1]), "repeated axis");
    assert_shape_error(backend.permute(&x, &[2, 3], &[0, 2]), "axis out of range");
    assert_shape_error(backend.permute(&x, &[2, 2], &[1, 0]), "buffer too long");
    assert_shape_error(backend.permute(&x, &[7], &[0]), "buffer too short");
    assert_shape_error(
        backend.permute(&x, &[usize::MAX, 3], &[1, 0]),
        "element count overflows",
    );
}

// ---------------------------------------------------------------------------------------------
// expand
// ---------------------------------------------------------------------------------------------

fn expand_reference(x: &[f32], shape: &[usize], target: &[usize]) -> Vec<f32> {
    let lead = target.len() - shape.len();
    (0..count(target))
        .map(|flat| {
            let out_index = unravel(flat, target);
            let in_index: Vec<usize> = shape
                .iter()
                .enumerate()
                .map(|(a, &extent)| if extent == 1 { 0 } else { out_index[lead + a] })
                .collect();
            x[ravel(&in_index, shape)]
        })
        .collect()
}

#[test]
fn expand_matches_reference() {
    let backend = backend();
    let mut rng = Rng::new(3);
    let cases: [(&[usize], &[usize]); 14] = [
        (&[], &[]),
        (&[], &[2, 3]),
        (&[1], &[5]),
        (&[1], &[0]),
        (&[4], &[3, 4]),
        (&[3, 1], &[2, 3, 4]),
        (&[1, 4], &[3, 4]),
        (&[2, 1, 3], &[4, 2, 5, 3]),
        (&[1, 1, 1], &[2, 3, 4]),
        (&[2, 3], &[2, 3]),
        (&[0, 1], &[2, 0, 3]),
        (&[3, 1, 1], &[1, 3, 2, 2]),
        (&[1, 3, 1, 2], &[4, 3, 2, 2]),
        (&[5], &[1, 1, 1, 5]),
    ];
    for (shape, target) in cases {
        let data = rng.values(count(shape));
        let x = up(&backend, &data);
        let out = down(&backend, &backend.expand(&x, shape, target).unwrap());
        assert_bits(
            &out,
            &expand_reference(&data, shape, target),
            &format!("expand {shape:?} to {target:?}"),
        );
    }
}

#[test]
fn expand_column_to_three_axes() {
    let backend = backend();
    let x = up(&backend, &[1.0, 2.0, 3.0]);
    let out = down(&backend, &backend.expand(&x, &[3, 1], &[2, 3, 4]).unwrap());
    let mut expected = Vec::new();
    for _ in 0..2 {
        for value in [1.0, 2.0, 3.0] {
            expected.extend([value; 4]);
        }
    }
    assert_eq!(out, expected);
}

#[test]
fn expand_errors() {
    let backend = backend();
    let x = up(&backend, &[0.0; 6]);
    assert_shape_error(backend.expand(&x, &[2, 3], &[3]), "target of lower rank");
    assert_shape_error(backend.expand(&x, &[2, 3], &[2, 4]), "mismatched axis");
    assert_shape_error(backend.expand(&x, &[2, 3], &[3, 3]), "non-1 axis grows");
    assert_shape_error(backend.expand(&x, &[2, 3], &[1, 3]), "non-1 axis shrinks");
    assert_shape_error(backend.expand(&x, &[3, 2], &[2, 3]), "not right-aligned");
    assert_shape_error(backend.expand(&x, &[5], &[5]), "buffer length");
    assert_shape_error(
        backend.expand(&x, &[6], &[usize::MAX, 2, 6]),
        "target count overflows",
    );
}

// ---------------------------------------------------------------------------------------------
// slice
// ---------------------------------------------------------------------------------------------

fn slice_reference(x: &[f32], shape: &[usize], ranges: &[SliceRange]) -> Vec<f32> {
    let out_shape: Vec<usize> = ranges.iter().map(SliceRange::len).collect();
    (0..count(&out_shape))
        .map(|flat| {
            let out_index = unravel(flat, &out_shape);
            let in_index: Vec<usize> = out_index
                .iter()
                .zip(ranges)
                .map(|(&o, r)| r.start + o * r.step)
                .collect();
            x[ravel(&in_index, shape)]
        })
        .collect()
}

fn random_range(rng: &mut Rng, extent: usize) -> SliceRange {
    match rng.below(6) {
        0 => SliceRange::full(extent),
        1 => {
            // Empty: start == end anywhere in 0..=extent.
            let at = rng.below(extent + 1);
            SliceRange {
                start: at,
                end: at,
                step: 1 + rng.below(3),
            }
        }
        _ => {
            let start = rng.below(extent + 1);
            let end = start + rng.below(extent - start + 1);
            SliceRange {
                start,
                end,
                step: 1 + rng.below(extent + 2),
            }
        }
    }
}

#[test]
fn slice_matches_reference() {
    let backend = backend();
    let mut rng = Rng::new(4);
    for shape in shapes() {
        let data = rng.values(count(&shape));
        let x = up(&backend, &data);
        for _ in 0..40 {
            let ranges: Vec<SliceRange> =
                shape.iter().map(|&e| random_range(&mut rng, e)).collect();
            let out = down(&backend, &backend.slice(&x, &shape, &ranges).unwrap());
            assert_bits(
                &out,
                &slice_reference(&data, &shape, &ranges),
                &format!("slice {shape:?} by {ranges:?}"),
            );
        }
    }
}

#[test]
fn slice_examples() {
    let backend = backend();
    let data: Vec<f32> = (0..12).map(|i| i as f32).collect();
    let x = up(&backend, &data);
    let r = |start, end, step| SliceRange { start, end, step };
    let out = backend
        .slice(&x, &[3, 4], &[r(1, 3, 1), r(0, 4, 2)])
        .unwrap();
    assert_eq!(down(&backend, &out), [4.0, 6.0, 8.0, 10.0]);
    let out = backend
        .slice(&x, &[3, 4], &[r(0, 3, 5), r(3, 4, 1)])
        .unwrap();
    assert_eq!(down(&backend, &out), [3.0]);
    let empty = backend
        .slice(&x, &[3, 4], &[r(2, 2, 1), SliceRange::full(4)])
        .unwrap();
    assert!(down(&backend, &empty).is_empty());
    let empty = backend
        .slice(&x, &[3, 4], &[SliceRange::full(3), r(4, 4, 1)])
        .unwrap();
    assert!(down(&backend, &empty).is_empty());
}

#[test]
fn slice_errors() {
    let backend = backend();
    let x = up(&backend, &[0.0; 6]);
    let r = |start, end, step| SliceRange { start, end, step };
    let full = SliceRange::full;
    assert_shape_error(backend.slice(&x, &[2, 3], &[full(2)]), "too few ranges");
    assert_shape_error(
        backend.slice(&x, &[2, 3], &[full(2), full(3), full(1)]),
        "too many ranges",
    );
    assert_shape_error(
        backend.slice(&x, &[2, 3], &[full(2), r(0, 4, 1)]),
        "end past extent",
    );
    assert_shape_error(
        backend.slice(&x, &[2, 3], &[r(2, 1, 1), full(3)]),
        "start > end",
    );
    assert_shape_error(
        backend.slice(&x, &[2, 3], &[r(3, 3, 1), full(3)]),
        "start past extent",
    );
    assert_shape_error(backend.slice(&x, &[2, 3], &[full(2), r(0, 3, 0)]), "step 0");
    assert_shape_error(
        backend.slice(&x, &[3, 3], &[full(3), full(3)]),
        "buffer length",
    );
}

// ---------------------------------------------------------------------------------------------
// concat
// ---------------------------------------------------------------------------------------------

#[test]
fn concat_along_each_axis_matches_reference() {
    let backend = backend();
    let mut rng = Rng::new(5);
    for shape in shapes().into_iter().filter(|s| !s.is_empty()) {
        for axis in 0..shape.len() {
            for trial in 0..6 {
                let parts_count = 1 + trial % 3;
                let shapes: Vec<Vec<usize>> = (0..parts_count)
                    .map(|_| {
                        let mut s = shape.clone();
                        s[axis] = rng.below(4);
                        s
                    })
                    .collect();
                let datas: Vec<Vec<f32>> = shapes.iter().map(|s| rng.values(count(s))).collect();
                let buffers: Vec<CpuBuffer> = datas.iter().map(|d| up(&backend, d)).collect();
                let parts: Vec<(&CpuBuffer, &[usize])> = buffers
                    .iter()
                    .zip(&shapes)
                    .map(|(b, s)| (b, s.as_slice()))
                    .collect();
                let out = down(&backend, &backend.concat(&parts, axis).unwrap());

                let mut out_shape = shape.clone();
                out_shape[axis] = shapes.iter().map(|s| s[axis]).sum();
                let expected: Vec<f32> = (0..count(&out_shape))
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
                assert_bits(
                    &out,
                    &expected,
                    &format!("concat {shapes:?} on axis {axis}"),
                );
            }
        }
    }
}

#[test]
fn concat_of_slices_rebuilds_the_tensor() {
    let backend = backend();
    let mut rng = Rng::new(6);
    let shape = [3, 5, 4];
    let data = rng.values(count(&shape));
    let x = up(&backend, &data);
    for axis in 0..shape.len() {
        let cut = 2;
        let mut first = shape.map(SliceRange::full).to_vec();
        let mut second = first.clone();
        first[axis] = SliceRange {
            start: 0,
            end: cut,
            step: 1,
        };
        second[axis] = SliceRange {
            start: cut,
            end: shape[axis],
            step: 1,
        };
        let mut first_shape = shape.to_vec();
        first_shape[axis] = cut;
        let mut second_shape = shape.to_vec();
        second_shape[axis] = shape[axis] - cut;
        let a = backend.slice(&x, &shape, &first).unwrap();
        let b = backend.slice(&x, &shape, &second).unwrap();
        let out = backend
            .concat(&[(&a, &first_shape), (&b, &second_shape)], axis)
            .unwrap();
        assert_bits(&down(&backend, &out), &data, &format!("axis {axis}"));
    }
}

#[test]
fn concat_errors() {
    let backend = backend();
    let six = up(&backend, &[0.0; 6]);
    let four = up(&backend, &[0.0; 4]);
    let s23: &[usize] = &[2, 3];
    let s22: &[usize] = &[2, 2];
    let s6: &[usize] = &[6];
    let s4: &[usize] = &[4];
    let s32: &[usize] = &[3, 2];
    assert_shape_error(backend.concat(&[], 0), "no parts");
    assert_shape_error(backend.concat(&[(&six, s23)], 2), "axis out of range");
    assert_shape_error(
        backend.concat(&[(&six, s23), (&six, s6)], 0),
        "rank mismatch",
    );
    assert_shape_error(
        backend.concat(&[(&six, s23), (&four, s22)], 0),
        "other axis differs",
    );
    assert_shape_error(
        backend.concat(&[(&six, s23), (&six, s32)], 0),
        "other axis differs",
    );
    assert_shape_error(
        backend.concat(&[(&six, s6), (&six, s4)], 0),
        "buffer length",
    );
    assert_shape_error(
        backend.concat(&[(&four, s23)], 1),
        "buffer length of the only part",
    );
    // A valid case for contrast: [2, 3] ++ [2, 2] on axis 1.
    let out = backend.concat(&[(&six, s23), (&four, s22)], 1).unwrap();
    assert_eq!(down(&backend, &out).len(), 10);
}

// ---------------------------------------------------------------------------------------------
// gather / scatter_add
// ---------------------------------------------------------------------------------------------

fn gather_reference(x: &[f32], shape: &[usize], axis: usize, indices: &[u32]) -> Vec<f32> {
    let mut out_shape = shape.to_vec();
    out_shape[axis] = indices.len();
    (0..count(&out_shape))
        .map(|flat| {
            let mut index = unravel(flat, &out_shape);
            index[axis] = indices[index[axis]] as usize;
            x[ravel(&index, shape)]
        })
        .collect()
}

/// Zeros, then `out[.., indices[t], ..] += src[.., t, ..]` over the source in row-major order
/// (which, for each output element, is ascending t).
fn scatter_add_reference(
    src: &[f32],
    shape: &[usize],
    axis: usize,
    indices: &[u32],
    extent: usize,
) -> Vec<f32> {
    let mut out_shape = shape.to_vec();
    out_shape[axis] = extent;
    let mut out = vec![0f32; count(&out_shape)];
    for (flat, &value) in src.iter().enumerate() {
        let mut index = unravel(flat, shape);
        index[axis] = indices[index[axis]] as usize;
        out[ravel(&index, &out_shape)] += value;
    }
    out
}

fn random_indices(rng: &mut Rng, len: usize, extent: usize) -> Vec<u32> {
    if extent == 0 {
        return Vec::new();
    }
    (0..len).map(|_| rng.below(extent) as u32).collect()
}

#[test]
fn gather_and_scatter_add_match_reference() {
    let backend = backend();
    let mut rng = Rng::new(7);
    for shape in shapes().into_iter().filter(|s| !s.is_empty()) {
        let data = rng.values(count(&shape));
        let x = up(&backend, &data);
        for axis in 0..shape.len() {
            for _ in 0..4 {
                let extent = shape[axis];
                let len = if extent == 0 { 0 } else { rng.below(6) };
                let indices = random_indices(&mut rng, len, extent);
                let out = down(
                    &backend,
                    &backend.gather(&x, &shape, axis, &indices).unwrap(),
                );
                let what = format!("gather {shape:?} axis {axis} {indices:?}");
                assert_bits(
                    &out,
                    &gather_reference(&data, &shape, axis, &indices),
                    &what,
                );

                // scatter_add of a source whose `axis` has indices.len() entries.
                let mut src_shape = shape.clone();
                src_shape[axis] = indices.len();
                let target = extent + rng.below(3);
                let indices = random_indices(&mut rng, indices.len(), target);
                let src_shape = if indices.len() == src_shape[axis] {
                    src_shape
                } else {
                    continue;
                };
                let src = rng.values(count(&src_shape));
                let s = up(&backend, &src);
                let out = backend
                    .scatter_add(&s, &src_shape, axis, &indices, target)
                    .unwrap();
                let what =
                    format!("scatter_add {src_shape:?} axis {axis} {indices:?} into {target}");
                assert_bits(
                    &down(&backend, &out),
                    &scatter_add_reference(&src, &src_shape, axis, &indices, target),
                    &what,
                );
            }
        }
    }
}

#[test]
fn gather_scatter_add_adjointness() {
    let backend = backend();
    let mut rng = Rng::new(8);
    for shape in shapes().into_iter().filter(|s| !s.is_empty()) {
        for axis in 0..shape.len() {
            let extent = shape[axis];
            let len = if extent == 0 { 0 } else { 1 + rng.below(8) };
            let indices = random_indices(&mut rng, len, extent);
            let data = rng.values(count(&shape));
            let mut y_shape = shape.clone();
            y_shape[axis] = indices.len();
            let y_data = rng.values(count(&y_shape));
            let x = up(&backend, &data);
            let y = up(&backend, &y_data);
            let gathered = down(
                &backend,
                &backend.gather(&x, &shape, axis, &indices).unwrap(),
            );
            let scattered = down(
                &backend,
                &backend
                    .scatter_add(&y, &y_shape, axis, &indices, extent)
                    .unwrap(),
            );
            assert_close(
                dot(&gathered, &y_data),
                dot(&data, &scattered),
                abs_dot(&gathered, &y_data),
                &format!("<gather x, y> = <x, scatter_add y> for {shape:?} axis {axis}"),
            );
        }
    }
}

#[test]
fn scatter_add_accumulates_duplicates_in_ascending_order() {
    let backend = backend();
    // [2, 3] source, axis 1, indices [0, 2, 0] into extent 4.
    let src = up(&backend, &[1.0, 2.0, 3.0, 10.0, 20.0, 30.0]);
    let out = backend
        .scatter_add(&src, &[2, 3], 1, &[0, 2, 0], 4)
        .unwrap();
    assert_eq!(
        down(&backend, &out),
        [4.0, 0.0, 2.0, 0.0, 40.0, 0.0, 20.0, 0.0]
    );
    // Ascending t is observable in binary32: ((0 + 2^24) + 1) - 2^24 = 0, while descending
    // t would give 1.
    let big = 16_777_216.0f32;
    let src = up(&backend, &[big, 1.0, -big]);
    let out = backend.scatter_add(&src, &[3], 0, &[0, 0, 0], 1).unwrap();
    assert_eq!(down(&backend, &out), [0.0]);
    // Sums start from +0: a single -0 gives +0, untouched positions stay +0.
    let src = up(&backend, &[-0.0, -0.0]);
    let out = down(
        &backend,
        &backend.scatter_add(&src, &[2], 0, &[1, 1], 3).unwrap(),
    );
    assert_bits(&out, &[0.0, 0.0, 0.0], "signed zeros");
    // Gather with duplicates repeats rows.
    let x = up(&backend, &[1.0, 2.0, 3.0, 4.0]);
    let out = backend.gather(&x, &[2, 2], 0, &[1, 1, 0]).unwrap();
    assert_eq!(down(&backend, &out), [3.0, 4.0, 3.0, 4.0, 1.0, 2.0]);
}

#[test]
fn gather_and_scatter_add_errors() {
    let backend = backend();
    let x = up(&backend, &[0.0; 6]);
    assert_shape_error(
        backend.gather(&x, &[2, 3], 2, &[0]),
        "gather axis out of range",
    );
    assert_shape_error(
        backend.gather(&x, &[2, 3], 1, &[0, 3]),
        "gather index out of range",
    );
    assert_shape_error(
        backend.gather(&x, &[2, 3], 0, &[2]),
        "gather index out of range",
    );
    assert_shape_error(backend.gather(&x, &[2, 2], 0, &[0]), "gather buffer length");
    assert_shape_error(
        backend.gather(&up(&backend, &[1.0]), &[], 0, &[0]),
        "gather on a scalar",
    );
    assert_shape_error(
        backend.gather(&x, &[6], 0, &[u32::MAX]),
        "gather index u32::MAX",
    );
    assert_shape_error(
        backend.scatter_add(&x, &[2, 3], 2, &[0, 0, 0], 3),
        "scatter axis out of range",
    );
    assert_shape_error(
        backend.scatter_add(&x, &[2, 3], 1, &[0, 0], 3),
        "too few indices",
    );
    assert_shape_error(
        backend.scatter_add(&x, &[2, 3], 1, &[0, 0, 0, 0], 3),
        "too many indices",
    );
    assert_shape_error(
        backend.scatter_add(&x, &[2, 3], 1, &[0, 3, 0], 3),
        "scatter index out of range",
    );
    assert_shape_error(
        backend.scatter_add(&x, &[2, 3], 0, &[0, 0], 0),
        "scatter into an empty axis",
    );
    assert_shape_error(
        backend.scatter_add(&x, &[3, 3], 1, &[0, 0, 0], 3),
        "scatter buffer length",
    );
    assert_shape_error(
        backend.scatter_add(&x, &[6], 0, &[0; 6], usize::MAX),
        "scatter output too large",
    );
}

// ---------------------------------------------------------------------------------------------
// im2col / col2im
// ---------------------------------------------------------------------------------------------

#[allow(clippy::too_many_arguments)]
fn geometry(
    batch: usize,
    channels: usize,
    groups: usize,
    input: &[usize],
    kernel: &[usize],
    stride: &[usize],
    pad_before: &[usize],
    pad_after: &[usize],
    dilation: &[usize],
) -> ConvGeometry {
    ConvGeometry {
        batch,
        channels,
        groups,
        input: input.to_vec(),
        kernel: kernel.to_vec(),
        stride: stride.to_vec(),
        pad_before: pad_before.to_vec(),
        pad_after: pad_after.to_vec(),
        dilation: dilation.to_vec(),
    }
}

/// Fixed geometries (1-D, 2-D, 3-D; stride, padding, dilation, groups) and random ones.
fn geometries() -> Vec<ConvGeometry> {
    let mut all = vec![
        geometry(1, 1, 1, &[5], &[3], &[1], &[0], &[0], &[1]),
        geometry(2, 3, 1, &[7], &[3], &[2], &[1], &[2], &[1]),
        geometry(2, 4, 2, &[9], &[2], &[1], &[0], &[1], &[3]),
        geometry(1, 6, 3, &[4], &[4], &[3], &[2], &[2], &[1]),
        geometry(1, 1, 1, &[3], &[1], &[1], &[0], &[0], &[1]),
        geometry(1, 2, 1, &[1], &[3], &[1], &[1], &[1], &[1]),
        geometry(
            1,
            2,
            1,
            &[4, 5],
            &[3, 3],
            &[1, 1],
            &[1, 1],
            &[1, 1],
            &[1, 1],
        ),
        geometry(
            2,
            4,
            2,
            &[6, 7],
            &[2, 3],
            &[2, 1],
            &[0, 2],
            &[1, 0],
            &[2, 1],
        ),
        geometry(
            1,
            3,
            3,
            &[5, 5],
            &[3, 2],
            &[2, 3],
            &[1, 0],
            &[1, 2],
            &[1, 2],
        ),
        geometry(
            3,
            2,
            1,
            &[3, 4],
            &[1, 1],
            &[1, 1],
            &[0, 0],
            &[0, 0],
            &[1, 1],
        ),
        geometry(
            1,
            2,
            1,
            &[2, 2],
            &[3, 3],
            &[1, 1],
            &[2, 2],
            &[2, 2],
            &[1, 1],
        ),
        geometry(
            1,
            2,
            1,
            &[3, 4, 5],
            &[2, 2, 3],
            &[1, 2, 1],
            &[0, 1, 1],
            &[1, 0, 1],
            &[1, 1, 2],
        ),
        geometry(
            2,
            4,
            4,
            &[4, 3, 3],
            &[2, 1, 2],
            &[2, 1, 1],
            &[1, 0, 0],
            &[0, 0, 1],
            &[1, 1, 1],
        ),
        geometry(
            1,
            6,
            2,
            &[5, 4, 4],
            &[3, 2, 2],
            &[1, 2, 3],
            &[1, 1, 2],
            &[1, 0, 2],
            &[2, 2, 1],
        ),
        geometry(
            1,
            1,
            1,
            &[1, 1, 1],
            &[1, 1, 1],
            &[1, 1, 1],
            &[0, 0, 0],
            &[0, 0, 0],
            &[1, 1, 1],
        ),
        // No batch, no channels, or an empty input axis fully made of padding.
        geometry(
            0,
            2,
            1,
            &[4, 4],
            &[2, 2],
            &[1, 1],
            &[0, 0],
            &[0, 0],
            &[1, 1],
        ),
        geometry(2, 0, 1, &[4], &[2], &[1], &[0], &[0], &[1]),
        geometry(
            1,
            2,
            1,
            &[0, 3],
            &[2, 2],
            &[1, 1],
            &[1, 0],
            &[1, 0],
            &[1, 1],
        ),
    ];
    let mut rng = Rng::new(9);
    while all.len() < 60 {
        let rank = 1 + rng.below(3);
        let groups = 1 + rng.below(3);
        let channels = groups * (1 + rng.below(2));
        let mut g = geometry(
            1 + rng.below(2),
            channels,
            groups,
            &(0..rank).map(|_| 1 + rng.below(6)).collect::<Vec<_>>(),
            &(0..rank).map(|_| 1 + rng.below(3)).collect::<Vec<_>>(),
            &(0..rank).map(|_| 1 + rng.below(3)).collect::<Vec<_>>(),
            &(0..rank).map(|_| rng.below(3)).collect::<Vec<_>>(),
            &(0..rank).map(|_| rng.below(3)).collect::<Vec<_>>(),
            &(0..rank).map(|_| 1 + rng.below(3)).collect::<Vec<_>>(),
        );
        if g.validate().is_ok() {
            all.push(g.clone());
        } else {
            // Make it fit: no dilation, enough padding.
            g.dilation = vec![1; rank];
            g.pad_after = g.kernel.clone();
            if g.validate().is_ok() {
                all.push(g);
            }
        }
    }
    all
}

/// Input index along one axis read by output `o` at kernel tap `k`, if inside the input.
fn input_position(g: &ConvGeometry, axis: usize, o: usize, k: usize) -> Option<usize> {
    let padded = o * g.stride[axis] + k * g.dilation[axis];
    let i = padded.checked_sub(g.pad_before[axis])?;
    (i < g.input[axis]).then_some(i)
}

/// The documented patch-matrix layout, one element at a time.
fn im2col_reference(x: &[f32], g: &ConvGeometry) -> Vec<f32> {
    let cpg = g.channels / g.groups;
    let output = g.output();
    let rows = g.patch_rows();
    let columns = g.patch_columns();
    let row_shape: Vec<usize> = std::iter::once(cpg)
        .chain(g.kernel.iter().copied())
        .collect();
    let column_shape: Vec<usize> = std::iter::once(g.batch)
        .chain(output.iter().copied())
        .collect();
    let input_shape: Vec<usize> = [g.batch, g.channels]
        .into_iter()
        .chain(g.input.iter().copied())
        .collect();
    let mut out = Vec::with_capacity(g.groups * rows * columns);
    for group in 0..g.groups {
        for row in 0..rows {
            let r = unravel(row, &row_shape);
            for column in 0..columns {
                let c = unravel(column, &column_shape);
                let mut index = vec![c[0], group * cpg + r[0]];
                let inside = (0..g.input.len()).all(|axis| {
                    match input_position(g, axis, c[1 + axis], r[1 + axis]) {
                        Some(i) => {
                            index.push(i);
                            true
                        }
                        None => false,
                    }
                });
                out.push(if inside {
                    x[ravel(&index, &input_shape)]
                } else {
                    0.0
                });
            }
        }
    }
    out
}

/// col2im one input position at a time: adds from +0 in ascending kernel offset order.
fn col2im_reference(columns: &[f32], g: &ConvGeometry) -> Vec<f32> {
    let cpg = g.channels / g.groups;
    let output = g.output();
    let rows = g.patch_rows();
    let ncols = g.patch_columns();
    let rank = g.input.len();
    let input_shape: Vec<usize> = [g.batch, g.channels]
        .into_iter()
        .chain(g.input.iter().copied())
        .collect();
    let row_shape: Vec<usize> = std::iter::once(cpg)
        .chain(g.kernel.iter().copied())
        .collect();
    let column_shape: Vec<usize> = std::iter::once(g.batch)
        .chain(output.iter().copied())
        .collect();
    let taps = count(&g.kernel);
    (0..count(&input_shape))
        .map(|flat| {
            let index = unravel(flat, &input_shape);
            let (n, channel) = (index[0], index[1]);
            let (group, cig) = (channel / cpg, channel % cpg);
            let mut sum = 0.0f32;
            for tap in 0..taps {
                let k = unravel(tap, &g.kernel);
                let mut o = vec![n];
                for axis in 0..rank {
                    let shifted = index[2 + axis] + g.pad_before[axis];
                    let Some(t) = shifted.checked_sub(k[axis] * g.dilation[axis]) else {
                        break;
                    };
                    if t % g.stride[axis] != 0 || t / g.stride[axis] >= output[axis] {
                        break;
                    }
                    o.push(t / g.stride[axis]);
                }
                if o.len() == rank + 1 {
                    let row: Vec<usize> = std::iter::once(cig).chain(k).collect();
                    let at = group * rows * ncols
                        + ravel(&row, &row_shape) * ncols
                        + ravel(&o, &column_shape);
                    sum += columns[at];
                }
            }
            sum
        })
        .collect()
}

#[test]
fn im2col_matches_layout_reference() {
    let backend = backend();
    let mut rng = Rng::new(10);
    for g in geometries() {
        let data = rng.values(g.input_len());
        let x = up(&backend, &data);
        let out = down(&backend, &backend.im2col(&x, &g).unwrap());
        assert_eq!(out.len(), g.groups * g.patch_rows() * g.patch_columns());
        assert_bits(&out, &im2col_reference(&data, &g), &format!("im2col {g:?}"));
    }
}

#[test]
fn im2col_times_weights_is_a_direct_convolution() {
    let backend = backend();
    let mut rng = Rng::new(11);
    for g in geometries() {
        let out_per_group = 2;
        let rank = g.input.len();
        let cpg = g.channels / g.groups;
        let rows = g.patch_rows();
        let columns = g.patch_columns();
        let output = g.output();
        let data = rng.values(g.input_len());
        // Weights [groups, out_per_group, rows] with rows (channel_in_group, k0, k1, k2).
        let weights = rng.values(g.groups * out_per_group * rows);
        let patches = down(&backend, &backend.im2col(&up(&backend, &data), &g).unwrap());

        // weights · im2col in f64: [groups, out_per_group, columns].
        let mut via_patches = vec![0f64; g.groups * out_per_group * columns];
        for group in 0..g.groups {
            for j in 0..out_per_group {
                for r in 0..rows {
                    let w = weights[(group * out_per_group + j) * rows + r] as f64;
                    for c in 0..columns {
                        via_patches[(group * out_per_group + j) * columns + c] +=
                            w * patches[(group * rows + r) * columns + c] as f64;
                    }
                }
            }
        }

        // The direct convolution over the original input, nested loops.
        let input_shape: Vec<usize> = [g.batch, g.channels]
            .into_iter()
            .chain(g.input.iter().copied())
            .collect();
        let positions = count(&output);
        let taps = count(&g.kernel);
        for group in 0..g.groups {
            for j in 0..out_per_group {
                for n in 0..g.batch {
                    for p in 0..positions {
                        let o = unravel(p, &output);
                        let mut direct = 0f64;
                        for cig in 0..cpg {
                            for tap in 0..taps {
                                let k = unravel(tap, &g.kernel);
                                let mut index = vec![n, group * cpg + cig];
                                for axis in 0..rank {
                                    let at = (o[axis] * g.stride[axis] + k[axis] * g.dilation[axis])
                                        as isize
                                        - g.pad_before[axis] as isize;
                                    if at < 0 || at as usize >= g.input[axis] {
                                        break;
                                    }
                                    index.push(at as usize);
                                }
                                if index.len() == rank + 2 {
                                    let r = cig * taps + tap;
                                    direct += weights[(group * out_per_group + j) * rows + r]
                                        as f64
                                        * data[ravel(&index, &input_shape)] as f64;
                                }
                            }
                        }
                        let got =
                            via_patches[(group * out_per_group + j) * columns + n * positions + p];
                        assert!(
                            (got - direct).abs() <= 1e-9,
                            "{g:?}: group {group} output {j} batch {n} position {o:?}: \
                             {got} vs {direct}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn im2col_small_example() {
    // 1-D, one channel, input [1, 2, 3, 4], kernel 2, stride 2, padding 1 before and after:
    // padded [0, 1, 2, 3, 4, 0], outputs 3 with taps (0,1), (2,3), (4,0).
    let backend = backend();
    let g = geometry(1, 1, 1, &[4], &[2], &[2], &[1], &[1], &[1]);
    let x = up(&backend, &[1.0, 2.0, 3.0, 4.0]);
    let out = down(&backend, &backend.im2col(&x, &g).unwrap());
    assert_eq!(out, [0.0, 2.0, 4.0, 1.0, 3.0, 0.0]);
    let back = down(&backend, &backend.col2im(&up(&backend, &out), &g).unwrap());
    assert_eq!(back, [1.0, 2.0, 3.0, 4.0]);
}

#[test]
fn col2im_matches_reference() {
    let backend = backend();
    let mut rng = Rng::new(12);
    for g in geometries() {
        let len = g.groups * g.patch_rows() * g.patch_columns();
        let columns = rng.values(len);
        let out = down(
            &backend,
            &backend.col2im(&up(&backend, &columns), &g).unwrap(),
        );
        assert_eq!(out.len(), g.input_len());
        assert_bits(
            &out,
            &col2im_reference(&columns, &g),
            &format!("col2im {g:?}"),
        );
    }
}

#[test]
fn col2im_is_the_adjoint_of_im2col() {
    let backend = backend();
    let mut rng = Rng::new(13);
    for g in geometries() {
        let data = rng.values(g.input_len());
        let columns = rng.values(g.groups * g.patch_rows() * g.patch_columns());
        let patches = down(&backend, &backend.im2col(&up(&backend, &data), &g).unwrap());
        let back = down(
            &backend,
            &backend.col2im(&up(&backend, &columns), &g).unwrap(),
        );
        assert_close(
            dot(&patches, &columns),
            dot(&data, &back),
            abs_dot(&patches, &columns),
            &format!("<im2col x, c> = <x, col2im c> for {g:?}"),
        );
    }
}

#[test]
fn col2im_sums_overlaps_in_kernel_order_and_leaves_unread_positions_zero() {
    let backend = backend();
    // Kernel 3, stride 1, no padding on [4]: position 1 is read by taps 1 (o = 0) and 0 (o = 1).
    let g = geometry(1, 1, 1, &[4], &[3], &[1], &[0], &[0], &[1]);
    // Rows k = 0, 1, 2; columns o = 0, 1.
    let columns = up(&backend, &[1.0, 2.0, 10.0, 20.0, 100.0, 200.0]);
    let out = down(&backend, &backend.col2im(&columns, &g).unwrap());
    assert_eq!(out, [1.0, 2.0 + 10.0, 20.0 + 100.0, 200.0]);
    // Stride 3, kernel 1: positions 1 and 2 are never read and stay +0 (not -0).
    let g = geometry(1, 1, 1, &[4], &[1], &[3], &[0], &[0], &[1]);
    let columns = up(&backend, &[-0.0, 5.0]);
    let out = down(&backend, &backend.col2im(&columns, &g).unwrap());
    assert_bits(&out, &[0.0, 0.0, 0.0, 5.0], "unread positions");
    // Order is ascending kernel offset: position 2 of [5] with kernel 3 gets taps 0 (o = 2),
    // 1 (o = 1), 2 (o = 0): ((0 + big) + 1) + (-big) = 0 in binary32, not 1.
    let big = 16_777_216.0f32;
    let g = geometry(1, 1, 1, &[5], &[3], &[1], &[0], &[0], &[1]);
    let mut columns = vec![0.0f32; 9];
    columns[2] = big; // k = 0, o = 2
    columns[3 + 1] = 1.0; // k = 1, o = 1
    columns[6] = -big; // k = 2, o = 0
    let out = down(
        &backend,
        &backend.col2im(&up(&backend, &columns), &g).unwrap(),
    );
    assert_eq!(out[2], ((0.0 + big) + 1.0) + -big);
    assert_eq!(out[2], 0.0);
}

#[test]
fn im2col_and_col2im_errors() {
    let backend = backend();
    let good = geometry(
        1,
        2,
        1,
        &[4, 4],
        &[3, 3],
        &[1, 1],
        &[0, 0],
        &[0, 0],
        &[1, 1],
    );
    let x = up(&backend, &[0.0; 32]);
    assert!(backend.im2col(&x, &good).is_ok());
    let columns = up(
        &backend,
        &vec![0.0; good.patch_rows() * good.patch_columns()],
    );
    assert!(backend.col2im(&columns, &good).is_ok());

    let mut bad = Vec::new();
    let mut push = |what: &str, change: &dyn Fn(&mut ConvGeometry)| {
        let mut g = good.clone();
        change(&mut g);
        bad.push((what.to_string(), g));
    };
    push("no spatial axes", &|g| {
        g.input.clear();
        g.kernel.clear();
        g.stride.clear();
        g.pad_before.clear();
        g.pad_after.clear();
        g.dilation.clear();
    });
    push("four spatial axes", &|g| {
        g.input = vec![2; 4];
        g.kernel = vec![1; 4];
        g.stride = vec![1; 4];
        g.pad_before = vec![0; 4];
        g.pad_after = vec![0; 4];
        g.dilation = vec![1; 4];
    });
    push("kernel rank", &|g| g.kernel = vec![3]);
    push("stride rank", &|g| g.stride = vec![1, 1, 1]);
    push("pad_before rank", &|g| g.pad_before = vec![0]);
    push("pad_after rank", &|g| g.pad_after = vec![]);
    push("dilation rank", &|g| g.dilation = vec![1]);
    push("zero groups", &|g| g.groups = 0);
    push("channels not divisible", &|g| g.groups = 3);
    push("zero kernel", &|g| g.kernel = vec![0, 3]);
    push("zero stride", &|g| g.stride = vec![1, 0]);
    push("zero dilation", &|g| g.dilation = vec![0, 1]);
    push("kernel wider than input", &|g| g.kernel = vec![5, 3]);
    push("dilated kernel wider", &|g| g.dilation = vec![1, 2]);
    push("padding overflows", &|g| g.pad_before = vec![usize::MAX, 0]);
    push("span overflows", &|g| {
        g.kernel = vec![2, 3];
        g.dilation = vec![usize::MAX, 1];
    });
    push("patch matrix overflows", &|g| {
        g.pad_before = vec![usize::MAX / 4, 0];
        g.pad_after = vec![usize::MAX / 4, 0];
    });
    push("patch matrix too large", &|g| {
        g.pad_before = vec![usize::MAX / 64, 0];
    });
    push("input overflows", &|g| {
        g.batch = usize::MAX;
        g.channels = 2;
    });
    for (what, g) in &bad {
        assert_shape_error(backend.im2col(&x, g), &format!("im2col: {what}"));
        assert_shape_error(backend.col2im(&columns, g), &format!("col2im: {what}"));
    }
    assert_shape_error(
        backend.im2col(&up(&backend, &[0.0; 31]), &good),
        "short input",
    );
    assert_shape_error(
        backend.im2col(&columns, &good),
        "input buffer of patch size",
    );
    assert_shape_error(backend.col2im(&x, &good), "patch buffer of input size");
    let more = up(
        &backend,
        &vec![0.0; good.patch_rows() * good.patch_columns() + 1],
    );
    assert_shape_error(backend.col2im(&more, &good), "long patch buffer");
}
