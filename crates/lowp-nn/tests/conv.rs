//! Convolutions and transposed convolutions in binary32 against naive f64 loops (every
//! padding mode, stride, dilation, groups, 1-D to 3-D), gradients against finite differences,
//! and the shape rules (output_padding, output_size, 'same').

use lowp_nn::functional::{
    ConvSpec, ConvTransposeSpec, Padding, PaddingMode, qconv, qconv_transpose,
};
use lowp_nn::{
    ConvOptions, ConvTransposeOptions, Module, QAffineFormats, QConv1d, QConv2d, QConv3d,
    QConvTranspose1d, QConvTranspose2d, QConvTranspose3d,
};
use lowp_tensor::{Device, Tensor};

fn values(n: usize, seed: u32) -> Vec<f32> {
    (0..n)
        .map(|i| ((i as f32 + 1.0) * 0.731 + seed as f32).sin())
        .collect()
}

fn close(got: &[f32], expected: &[f64], tolerance: f64) {
    assert_eq!(got.len(), expected.len());
    for (i, (&g, &e)) in got.iter().zip(expected).enumerate() {
        assert!(
            (g as f64 - e).abs() <= tolerance * (1.0 + e.abs()),
            "element {i}: {g} vs {e}"
        );
    }
}

/// Lifts a spatial shape to 3 axes (leading 1s).
fn lift(v: &[usize], fill: usize) -> [usize; 3] {
    let mut out = [fill; 3];
    out[3 - v.len()..].copy_from_slice(v);
    out
}

struct Case {
    n: usize,
    c: usize,
    o: usize,
    spatial: Vec<usize>,
    kernel: Vec<usize>,
    stride: Vec<usize>,
    pad: Vec<usize>,
    dilation: Vec<usize>,
    groups: usize,
    mode: PaddingMode,
}

/// The padded source index of position p of an axis of length len.
fn source(p: i64, len: i64, mode: PaddingMode) -> Option<i64> {
    if (0..len).contains(&p) {
        return Some(p);
    }
    match mode {
        PaddingMode::Zeros => None,
        PaddingMode::Reflect => Some(if p < 0 { -p } else { 2 * (len - 1) - p }),
        PaddingMode::Replicate => Some(p.clamp(0, len - 1)),
        PaddingMode::Circular => Some(p.rem_euclid(len)),
    }
}

fn conv_reference(case: &Case, x: &[f32], w: &[f32], b: &[f32]) -> (Vec<f64>, Vec<usize>) {
    let (s, k) = (lift(&case.spatial, 1), lift(&case.kernel, 1));
    let (st, p, d) = (
        lift(&case.stride, 1),
        lift(&case.pad, 0),
        lift(&case.dilation, 1),
    );
    let out: Vec<usize> = (0..3)
        .map(|a| (s[a] + 2 * p[a] - d[a] * (k[a] - 1) - 1) / st[a] + 1)
        .collect();
    let (cg, og) = (case.c / case.groups, case.o / case.groups);
    let mut y = Vec::new();
    for n in 0..case.n {
        for oc in 0..case.o {
            let g = oc / og;
            for o0 in 0..out[0] {
                for o1 in 0..out[1] {
                    for o2 in 0..out[2] {
                        let mut acc = b[oc] as f64;
                        for ic in 0..cg {
                            for k0 in 0..k[0] {
                                for k1 in 0..k[1] {
                                    for k2 in 0..k[2] {
                                        let pos = [o0, o1, o2];
                                        let kk = [k0, k1, k2];
                                        let idx: Option<Vec<usize>> = (0..3)
                                            .map(|a| {
                                                let q = (pos[a] * st[a] + kk[a] * d[a]) as i64
                                                    - p[a] as i64;
                                                source(q, s[a] as i64, case.mode)
                                                    .map(|v| v as usize)
                                            })
                                            .collect();
                                        if let Some(i) = idx {
                                            let c = g * cg + ic;
                                            let xv = x[(((n * case.c + c) * s[0] + i[0]) * s[1]
                                                + i[1])
                                                * s[2]
                                                + i[2]];
                                            let wv = w[(((oc * cg + ic) * k[0] + k0) * k[1] + k1)
                                                * k[2]
                                                + k2];
                                            acc += xv as f64 * wv as f64;
                                        }
                                    }
                                }
                            }
                        }
                        y.push(acc);
                    }
                }
            }
        }
    }
    let mut shape = vec![case.n, case.o];
    shape.extend(&out[3 - case.spatial.len()..]);
    (y, shape)
}

fn run_conv_case(case: Case) {
    let device = Device::cpu();
    let mut xs = vec![case.n, case.c];
    xs.extend(&case.spatial);
    let mut ws = vec![case.o, case.c / case.groups];
    ws.extend(&case.kernel);
    let (x, w, b) = (
        values(xs.iter().product(), 1),
        values(ws.iter().product(), 2),
        values(case.o, 3),
    );
    let spec = ConvSpec {
        stride: case.stride.clone(),
        padding: Padding::Explicit(case.pad.clone()),
        dilation: case.dilation.clone(),
        groups: case.groups,
        padding_mode: case.mode,
    };
    let xt = Tensor::var(&x, &xs, &device).unwrap();
    let wt = Tensor::var(&w, &ws, &device).unwrap();
    let bt = Tensor::var(&b, &[case.o], &device).unwrap();
    let y = qconv(&xt, &wt, Some(&bt), &spec, &QAffineFormats::fp32()).unwrap();
    let (expected, shape) = conv_reference(&case, &x, &w, &b);
    assert_eq!(y.shape(), shape.as_slice());
    close(&y.to_vec().unwrap(), &expected, 1e-5);
    // gradients: d/dθ sum(y * c) against central differences of the f64 reference
    let c = values(y.len(), 4);
    y.backward_with(&Tensor::from_slice(&c, y.shape(), &device).unwrap())
        .unwrap();
    let objective = |x: &[f32], w: &[f32], b: &[f32]| -> f64 {
        conv_reference(&case, x, w, b)
            .0
            .iter()
            .zip(&c)
            .map(|(y, c)| y * *c as f64)
            .sum()
    };
    let h = 1e-3;
    let fd = |which: usize, i: usize| {
        let mut parts = [x.clone(), w.clone(), b.clone()];
        parts[which][i] += h;
        let up = objective(&parts[0], &parts[1], &parts[2]);
        parts[which][i] -= 2.0 * h;
        let down = objective(&parts[0], &parts[1], &parts[2]);
        (up - down) / (2.0 * h as f64)
    };
    for (which, tensor, len) in [(0, &xt, x.len()), (1, &wt, w.len()), (2, &bt, b.len())] {
        let expected: Vec<f64> = (0..len).map(|i| fd(which, i)).collect();
        close(&tensor.grad().unwrap().to_vec().unwrap(), &expected, 2e-3);
    }
}

#[test]
fn conv2d_with_stride_dilation_groups_and_every_padding_mode() {
    for mode in [
        PaddingMode::Zeros,
        PaddingMode::Reflect,
        PaddingMode::Replicate,
        PaddingMode::Circular,
    ] {
        run_conv_case(Case {
            n: 2,
            c: 4,
            o: 6,
            spatial: vec![5, 6],
            kernel: vec![3, 2],
            stride: vec![2, 1],
            pad: vec![1, 2],
            dilation: vec![1, 2],
            groups: 2,
            mode,
        });
    }
}

#[test]
fn conv1d_and_conv3d() {
    run_conv_case(Case {
        n: 2,
        c: 3,
        o: 2,
        spatial: vec![7],
        kernel: vec![3],
        stride: vec![2],
        pad: vec![1],
        dilation: vec![2],
        groups: 1,
        mode: PaddingMode::Reflect,
    });
    run_conv_case(Case {
        n: 1,
        c: 2,
        o: 2,
        spatial: vec![3, 4, 3],
        kernel: vec![2, 2, 2],
        stride: vec![1, 2, 1],
        pad: vec![1, 0, 1],
        dilation: vec![1, 1, 2],
        groups: 2,
        mode: PaddingMode::Zeros,
    });
}

#[test]
fn same_and_valid_padding_and_unbatched_input() {
    let device = Device::cpu();
    let options = ConvOptions::<2> {
        padding: Padding::Same,
        dilation: [2, 1],
        ..ConvOptions::default()
    };
    let conv = QConv2d::new(3, 4, [3, 4], QAffineFormats::fp32(), options, &device).unwrap();
    let x = Tensor::from_vec(values(3 * 6 * 7, 1), &[3, 6, 7], &device).unwrap();
    assert_eq!(conv.forward(&x).unwrap().shape(), &[4, 6, 7]);
    let valid = ConvOptions::<1> {
        padding: Padding::Valid,
        ..ConvOptions::default()
    };
    let conv1 = QConv1d::new(2, 2, [3], QAffineFormats::fp32(), valid, &device).unwrap();
    assert_eq!(
        conv1
            .forward(&Tensor::zeros(&[1, 2, 9], &device).unwrap())
            .unwrap()
            .shape(),
        &[1, 2, 7]
    );
    let bad = ConvOptions::<2> {
        padding: Padding::Same,
        stride: [2, 1],
        ..ConvOptions::default()
    };
    assert!(QConv2d::new(3, 4, [3, 3], QAffineFormats::fp32(), bad, &device).is_err());
    let groups = ConvOptions::<2> {
        groups: 2,
        ..ConvOptions::default()
    };
    assert!(QConv2d::new(3, 4, [3, 3], QAffineFormats::fp32(), groups, &device).is_err());
    let error = conv
        .forward(&Tensor::zeros(&[1, 2, 6, 7], &device).unwrap())
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("qconv") && error.contains("[1, 2, 6, 7]"),
        "{error}"
    );
    let empty_kernel = Tensor::zeros(&[1, 1, 0], &device).unwrap();
    let error = qconv(
        &Tensor::zeros(&[1, 1, 3], &device).unwrap(),
        &empty_kernel,
        None,
        &ConvSpec::default(),
        &QAffineFormats::fp32(),
    )
    .unwrap_err();
    assert!(error.to_string().contains("[1, 1, 0]"), "{error}");
    let reflect = ConvSpec {
        padding: Padding::Explicit(vec![3]),
        padding_mode: PaddingMode::Reflect,
        ..ConvSpec::default()
    };
    let w = Tensor::zeros(&[1, 1, 2], &device).unwrap();
    assert!(
        qconv(
            &Tensor::zeros(&[1, 1, 3], &device).unwrap(),
            &w,
            None,
            &reflect,
            &QAffineFormats::fp32()
        )
        .is_err()
    );
}

fn transpose_reference(
    x: &[f32],
    xs: &[usize],
    w: &[f32],
    ws: &[usize],
    b: &[f32],
    spec: &ConvTransposeSpec,
    out: &[usize],
) -> Vec<f64> {
    let (n, c) = (xs[0], xs[1]);
    let (s, k, o) = (lift(&xs[2..], 1), lift(&ws[2..], 1), lift(out, 1));
    let rank = xs.len() - 2;
    let pick = |v: &[usize], fill| {
        lift(
            &if v.len() == 1 {
                vec![v[0]; rank]
            } else {
                v.to_vec()
            },
            fill,
        )
    };
    let (st, p, d) = (
        pick(&spec.stride, 1),
        pick(&spec.padding, 0),
        pick(&spec.dilation, 1),
    );
    let (cg, og) = (c / spec.groups, ws[1]);
    let oc_total = og * spec.groups;
    let mut y = vec![0f64; n * oc_total * o.iter().product::<usize>()];
    for (i, v) in y.iter_mut().enumerate() {
        *v = b[(i / o.iter().product::<usize>()) % oc_total] as f64;
    }
    for bn in 0..n {
        for ic in 0..c {
            let g = ic / cg;
            for i0 in 0..s[0] {
                for i1 in 0..s[1] {
                    for i2 in 0..s[2] {
                        let xv = x[(((bn * c + ic) * s[0] + i0) * s[1] + i1) * s[2] + i2] as f64;
                        for ol in 0..og {
                            for k0 in 0..k[0] {
                                for k1 in 0..k[1] {
                                    for k2 in 0..k[2] {
                                        let pos: Vec<i64> = (0..3)
                                            .map(|a| {
                                                ([i0, i1, i2][a] * st[a] + [k0, k1, k2][a] * d[a])
                                                    as i64
                                                    - p[a] as i64
                                            })
                                            .collect();
                                        if (0..3).all(|a| (0..o[a] as i64).contains(&pos[a])) {
                                            let oc = g * og + ol;
                                            let wv = w[(((ic * og + ol) * k[0] + k0) * k[1] + k1)
                                                * k[2]
                                                + k2]
                                                as f64;
                                            let idx = (((bn * oc_total + oc) * o[0]
                                                + pos[0] as usize)
                                                * o[1]
                                                + pos[1] as usize)
                                                * o[2]
                                                + pos[2] as usize;
                                            y[idx] += xv * wv;
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    y
}

/// mptorch bug "ConvTranspose output_padding": the output grows by output_padding on the far
/// side and the values there are the taps that reach it.
#[test]
fn conv_transpose_values_output_padding_and_output_size() {
    let device = Device::cpu();
    let options = ConvTransposeOptions::<2> {
        stride: [2, 3],
        padding: [1, 0],
        output_padding: [1, 2],
        groups: 2,
        dilation: [1, 2],
        ..ConvTransposeOptions::default()
    };
    let layer =
        QConvTranspose2d::new(4, 6, [3, 2], QAffineFormats::fp32(), options, &device).unwrap();
    let xs = [2, 4, 3, 4];
    let x = values(xs.iter().product(), 1);
    let xt = Tensor::var(&x, &xs, &device).unwrap();
    let y = layer.forward(&xt).unwrap();
    // H: (3-1)*2 - 2 + 1*(3-1) + 1 + 1 = 6 ; W: (4-1)*3 - 0 + 2*(2-1) + 2 + 1 = 14
    assert_eq!(y.shape(), &[2, 6, 6, 14]);
    let w = layer.weight.to_vec().unwrap();
    let b = layer.bias.as_ref().unwrap().to_vec().unwrap();
    let expected =
        transpose_reference(&x, &xs, &w, layer.weight.shape(), &b, &layer.spec, &[6, 14]);
    close(&y.to_vec().unwrap(), &expected, 1e-5);
    // gradient of sum(y * c) with respect to x: finite differences of the reference (linear)
    let c = values(y.len(), 5);
    y.backward_with(&Tensor::from_slice(&c, y.shape(), &device).unwrap())
        .unwrap();
    let objective = |x: &[f32], w: &[f32]| -> f64 {
        transpose_reference(x, &xs, w, layer.weight.shape(), &b, &layer.spec, &[6, 14])
            .iter()
            .zip(&c)
            .map(|(y, c)| y * *c as f64)
            .sum()
    };
    let h = 1e-3;
    let gx: Vec<f64> = (0..x.len())
        .map(|i| {
            let (mut up, mut down) = (x.clone(), x.clone());
            up[i] += h;
            down[i] -= h;
            (objective(&up, &w) - objective(&down, &w)) / (2.0 * h as f64)
        })
        .collect();
    close(&xt.grad().unwrap().to_vec().unwrap(), &gx, 2e-3);
    let gw: Vec<f64> = (0..w.len())
        .map(|i| {
            let (mut up, mut down) = (w.clone(), w.clone());
            up[i] += h;
            down[i] -= h;
            (objective(&x, &up) - objective(&x, &down)) / (2.0 * h as f64)
        })
        .collect();
    close(&layer.weight.grad().unwrap().to_vec().unwrap(), &gw, 2e-3);
    // output_size picks the output padding; out-of-range sizes are errors
    let plain = QConvTranspose2d::new(
        4,
        6,
        [3, 2],
        QAffineFormats::fp32(),
        ConvTransposeOptions {
            stride: [2, 3],
            padding: [1, 0],
            groups: 2,
            dilation: [1, 2],
            ..ConvTransposeOptions::default()
        },
        &device,
    )
    .unwrap();
    assert_eq!(plain.forward(&xt).unwrap().shape(), &[2, 6, 5, 12]);
    let sized = plain.forward_with_output_size(&xt, &[6, 14]).unwrap();
    let explicit = layer.forward(&xt).unwrap();
    plain.weight.set_data(&layer.weight).unwrap();
    plain
        .bias
        .as_ref()
        .unwrap()
        .set_data(layer.bias.as_ref().unwrap())
        .unwrap();
    assert_eq!(
        plain
            .forward_with_output_size(&xt, &[2, 6, 6, 14])
            .unwrap()
            .to_vec()
            .unwrap(),
        explicit.to_vec().unwrap()
    );
    assert_eq!(sized.shape(), &[2, 6, 6, 14]);
    assert!(plain.forward_with_output_size(&xt, &[8, 14]).is_err());
    assert!(plain.forward_with_output_size(&xt, &[4, 14]).is_err());
    let bad = ConvTransposeOptions::<2> {
        stride: [2, 2],
        output_padding: [2, 0],
        ..ConvTransposeOptions::default()
    };
    assert!(QConvTranspose2d::new(2, 2, [3, 3], QAffineFormats::fp32(), bad, &device).is_err());
}

/// output_padding >= stride is allowed when dilation is larger: the extra positions are real.
#[test]
fn conv_transpose_output_padding_beyond_stride_and_3d() {
    let device = Device::cpu();
    let x = values(2 * 4, 2);
    let xt = Tensor::from_slice(&x, &[1, 2, 4], &device).unwrap();
    let w = values(2 * 3 * 2, 3);
    let wt = Tensor::from_slice(&w, &[2, 3, 2], &device).unwrap();
    let b = [0.0f32; 3];
    let spec = ConvTransposeSpec {
        stride: vec![1],
        padding: vec![0],
        output_padding: vec![2],
        dilation: vec![3],
        groups: 1,
    };
    let y = qconv_transpose(&xt, &wt, None, &spec, None, &QAffineFormats::fp32()).unwrap();
    // (4-1)*1 + 3*(2-1) + 2 + 1 = 9
    assert_eq!(y.shape(), &[1, 3, 9]);
    close(
        &y.to_vec().unwrap(),
        &transpose_reference(&x, &[1, 2, 4], &w, &[2, 3, 2], &b, &spec, &[9]),
        1e-6,
    );
    let t1 = QConvTranspose1d::new(
        2,
        4,
        [3],
        QAffineFormats::fp32(),
        ConvTransposeOptions {
            stride: [3],
            padding: [1],
            output_padding: [2],
            ..ConvTransposeOptions::default()
        },
        &device,
    )
    .unwrap();
    // (5-1)*3 - 2 + 2 + 2 + 1 = 15, unbatched input
    assert_eq!(
        t1.forward(&Tensor::zeros(&[2, 5], &device).unwrap())
            .unwrap()
            .shape(),
        &[4, 15]
    );
    let c3 = QConv3d::new(
        2,
        4,
        [1, 2, 3],
        QAffineFormats::fp32(),
        ConvOptions {
            padding: Padding::Same,
            ..ConvOptions::default()
        },
        &device,
    )
    .unwrap();
    assert_eq!(
        c3.forward(&Tensor::zeros(&[1, 2, 3, 4, 5], &device).unwrap())
            .unwrap()
            .shape(),
        &[1, 4, 3, 4, 5]
    );
    let layer = QConvTranspose3d::new(
        2,
        2,
        [2, 2, 2],
        QAffineFormats::fp32(),
        ConvTransposeOptions {
            stride: [2, 1, 2],
            ..ConvTransposeOptions::default()
        },
        &device,
    )
    .unwrap();
    assert_eq!(
        layer
            .forward(&Tensor::zeros(&[2, 3, 2, 2], &device).unwrap())
            .unwrap()
            .shape(),
        &[2, 6, 3, 4]
    );
}

/// Power-of-two scaling with binary32 formats changes nothing: every GEMM result is unscaled,
/// in the backward passes too.
#[test]
fn scaled_convolutions_are_unscaled() {
    use lowp_formats::Format;
    use lowp_nn::Cast;
    let device = Device::cpu();
    let (fp32, e4m3) = (
        Format::preset("fp32").unwrap(),
        Format::preset("e4m3").unwrap(),
    );
    let scaled = QAffineFormats {
        use_scaling: true,
        input_scaled_format: Some(e4m3),
        weight_scaled_format: Some(e4m3),
        grad_scaled_format: Some(e4m3),
        input_quant: Some(Cast::nearest(fp32)),
        weight_quant: Some(Cast::nearest(fp32)),
        grad_quant: Some(Cast::nearest(fp32)),
        scale_margin: 2,
        ..QAffineFormats::default()
    };
    let x: Vec<f32> = values(2 * 2 * 5 * 5, 1).iter().map(|v| v * 1e-3).collect();
    let w: Vec<f32> = values(4 * 3 * 3, 2).iter().map(|v| v * 50.0).collect();
    let spec = ConvSpec {
        groups: 2,
        padding: Padding::Explicit(vec![1]),
        ..ConvSpec::default()
    };
    let tspec = ConvTransposeSpec {
        stride: vec![2],
        groups: 2,
        ..ConvTransposeSpec::default()
    };
    let run = |formats: &QAffineFormats| {
        let xt = Tensor::var(&x, &[2, 2, 5, 5], &device).unwrap();
        let wt = Tensor::var(&w, &[4, 1, 3, 3], &device).unwrap();
        let tw = Tensor::var(&w, &[4, 1, 3, 3], &device).unwrap();
        let y = qconv(&xt, &wt, None, &spec, formats).unwrap();
        let z = qconv_transpose(&y, &tw, None, &tspec, None, formats).unwrap();
        z.backward_with(
            &Tensor::from_vec(
                values(z.len(), 3).iter().map(|v| v * 1e-4).collect(),
                z.shape(),
                &device,
            )
            .unwrap(),
        )
        .unwrap();
        [
            z.to_vec().unwrap(),
            xt.grad().unwrap().to_vec().unwrap(),
            wt.grad().unwrap().to_vec().unwrap(),
            tw.grad().unwrap().to_vec().unwrap(),
        ]
    };
    assert_eq!(run(&scaled), run(&QAffineFormats::fp32()));
}
