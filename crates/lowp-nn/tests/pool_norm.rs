//! QAvgPool2d and QBatchNorm1d/2d in binary32 against f64 references of torch's definitions
//! (ceil_mode, padding, count_include_pad, divisor_override; train/eval modes and running
//! statistics), gradients against finite differences.

use lowp_nn::functional::{AvgPoolSpec, QuantPair, qavg_pool2d};
use lowp_nn::{Module, QAvgPool2d, QBatchNorm1d, QBatchNorm2d};
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
            "element {i}: {g} vs {e}\n{got:?}\n{expected:?}"
        );
    }
}

/// torch's avg_pool2d on [N, C, H, W] in f64, and the output size.
fn pool_reference(x: &[f32], shape: [usize; 4], spec: &AvgPoolSpec) -> (Vec<f64>, [usize; 2]) {
    let [n, c, h, w] = shape;
    let size = [h, w];
    let out: Vec<usize> = (0..2)
        .map(|a| {
            let (k, s, p) = (spec.kernel_size[a], spec.stride[a], spec.padding[a]);
            let span = size[a] + 2 * p - k;
            let mut o = if spec.ceil_mode {
                span.div_ceil(s) + 1
            } else {
                span / s + 1
            };
            if spec.ceil_mode && (o - 1) * s >= size[a] + p {
                o -= 1;
            }
            o
        })
        .collect();
    let mut y = Vec::new();
    for b in 0..n * c {
        for oh in 0..out[0] {
            for ow in 0..out[1] {
                let start = [
                    oh as i64 * spec.stride[0] as i64 - spec.padding[0] as i64,
                    ow as i64 * spec.stride[1] as i64 - spec.padding[1] as i64,
                ];
                let end: Vec<i64> = (0..2)
                    .map(|a| {
                        (start[a] + spec.kernel_size[a] as i64)
                            .min((size[a] + spec.padding[a]) as i64)
                    })
                    .collect();
                let pool_size = (end[0] - start[0]) * (end[1] - start[1]);
                let (s0, s1) = (start[0].max(0), start[1].max(0));
                let (e0, e1) = (end[0].min(h as i64), end[1].min(w as i64));
                let mut sum = 0.0;
                for i in s0..e0 {
                    for j in s1..e1 {
                        sum += x[(b * h + i as usize) * w + j as usize] as f64;
                    }
                }
                let divisor = match spec.divisor_override {
                    Some(d) => d as i64,
                    None if spec.count_include_pad => pool_size,
                    None => (e0 - s0) * (e1 - s1),
                };
                y.push(sum / divisor as f64);
            }
        }
    }
    (y, [out[0], out[1]])
}

#[test]
fn avg_pool_matches_torch_definition_in_every_mode() {
    let device = Device::cpu();
    let shape = [2, 3, 7, 6];
    let x = values(shape.iter().product(), 1);
    let pair = QuantPair::default();
    for (ceil_mode, count_include_pad, divisor_override, padding, stride) in [
        (false, true, None, [0, 0], [2, 2]),
        (true, true, None, [1, 1], [2, 3]),
        (true, false, None, [1, 0], [3, 2]),
        (false, false, Some(5), [1, 1], [1, 2]),
        (true, true, Some(3), [0, 1], [2, 2]),
    ] {
        let spec = AvgPoolSpec {
            kernel_size: [3, 2],
            stride,
            padding,
            ceil_mode,
            count_include_pad,
            divisor_override,
        };
        let input = Tensor::var(&x, &shape, &device).unwrap();
        let y = qavg_pool2d(&input, &spec, &pair).unwrap();
        let (expected, out) = pool_reference(&x, shape, &spec);
        assert_eq!(y.shape(), &[2, 3, out[0], out[1]], "{spec:?}");
        close(&y.to_vec().unwrap(), &expected, 1e-6);
        let c = values(y.len(), 2);
        y.backward_with(&Tensor::from_slice(&c, y.shape(), &device).unwrap())
            .unwrap();
        let h = 1e-3;
        let objective = |x: &[f32]| -> f64 {
            pool_reference(x, shape, &spec)
                .0
                .iter()
                .zip(&c)
                .map(|(y, c)| y * *c as f64)
                .sum()
        };
        let fd: Vec<f64> = (0..x.len())
            .map(|i| {
                let (mut up, mut down) = (x.clone(), x.clone());
                up[i] += h;
                down[i] -= h;
                (objective(&up) - objective(&down)) / (2.0 * h as f64)
            })
            .collect();
        close(&input.grad().unwrap().to_vec().unwrap(), &fd, 2e-3);
    }
}

/// mptorch bug "AvgPool construction": every constructor argument is honoured and the stride
/// defaults to the kernel size.
#[test]
fn avg_pool_construction() {
    let device = Device::cpu();
    let pool = QAvgPool2d::new([2, 3], None, None, None, [1, 1], true, false, Some(4)).unwrap();
    assert_eq!(
        pool.spec,
        AvgPoolSpec {
            kernel_size: [2, 3],
            stride: [2, 3],
            padding: [1, 1],
            ceil_mode: true,
            count_include_pad: false,
            divisor_override: Some(4)
        }
    );
    let x = Tensor::from_vec(values(5 * 7, 3), &[1, 5, 7], &device).unwrap();
    let y = pool.forward(&x).unwrap();
    let (expected, out) = pool_reference(&x.to_vec().unwrap(), [1, 1, 5, 7], &pool.spec);
    assert_eq!(y.shape(), &[1, out[0], out[1]]);
    close(&y.to_vec().unwrap(), &expected, 1e-6);
    assert!(QAvgPool2d::new([2, 2], None, None, None, [2, 0], false, true, None).is_err());
    assert!(QAvgPool2d::new([2, 2], None, None, Some([0, 1]), [0, 0], false, true, None).is_err());
    assert!(
        pool.forward(&Tensor::zeros(&[4, 4], &device).unwrap())
            .is_err()
    );
}

/// (mean, biased variance) per channel of [N, C, *].
fn channel_stats(x: &[f32], n: usize, c: usize, rest: usize) -> Vec<(f64, f64)> {
    (0..c)
        .map(|ch| {
            let v: Vec<f64> = (0..n)
                .flat_map(|b| (0..rest).map(move |r| (b, r)))
                .map(|(b, r)| x[(b * c + ch) * rest + r] as f64)
                .collect();
            let mean = v.iter().sum::<f64>() / v.len() as f64;
            (
                mean,
                v.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / v.len() as f64,
            )
        })
        .collect()
}

/// mptorch bug "BatchNorm mode": training uses batch statistics and updates the running ones,
/// evaluation uses the running statistics.
#[test]
fn batch_norm_modes_statistics_and_gradients() {
    let device = Device::cpu();
    let (n, c, h, w) = (3, 2, 2, 3);
    let x = values(n * c * h * w, 4)
        .iter()
        .map(|v| v * 2.0 + 0.5)
        .collect::<Vec<_>>();
    let bn = QBatchNorm2d::new(c, None, None, &device).unwrap();
    bn.weight
        .set_data(&Tensor::from_slice(&[1.5, -0.5], &[2], &device).unwrap())
        .unwrap();
    bn.bias
        .set_data(&Tensor::from_slice(&[0.25, 1.0], &[2], &device).unwrap())
        .unwrap();
    let input = Tensor::var(&x, &[n, c, h, w], &device).unwrap();
    let y = bn.forward(&input).unwrap();
    let stats = channel_stats(&x, n, c, h * w);
    let (gamma, beta) = ([1.5, -0.5], [0.25, 1.0]);
    let expected: Vec<f64> = x
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let ch = (i / (h * w)) % c;
            (v as f64 - stats[ch].0) / (stats[ch].1 + 1e-5).sqrt() * gamma[ch] + beta[ch]
        })
        .collect();
    close(&y.to_vec().unwrap(), &expected, 1e-5);
    let m = (n * h * w) as f64;
    let running_mean: Vec<f64> = stats.iter().map(|s| 0.1 * s.0).collect();
    let running_var: Vec<f64> = stats
        .iter()
        .map(|s| 0.9 + 0.1 * s.1 * m / (m - 1.0))
        .collect();
    close(
        &bn.state.running_mean.to_vec().unwrap(),
        &running_mean,
        1e-6,
    );
    close(&bn.state.running_var.to_vec().unwrap(), &running_var, 1e-6);
    // gradient of sum(y * c) against finite differences of the f64 definition
    let cw = values(y.len(), 5);
    y.backward_with(&Tensor::from_slice(&cw, y.shape(), &device).unwrap())
        .unwrap();
    let objective = |x: &[f32]| -> f64 {
        let stats = channel_stats(x, n, c, h * w);
        x.iter()
            .enumerate()
            .map(|(i, &v)| {
                let ch = (i / (h * w)) % c;
                ((v as f64 - stats[ch].0) / (stats[ch].1 + 1e-5).sqrt() * gamma[ch] + beta[ch])
                    * cw[i] as f64
            })
            .sum()
    };
    let step = 1e-3;
    let fd: Vec<f64> = (0..x.len())
        .map(|i| {
            let (mut up, mut down) = (x.clone(), x.clone());
            up[i] += step;
            down[i] -= step;
            (objective(&up) - objective(&down)) / (2.0 * step as f64)
        })
        .collect();
    close(&input.grad().unwrap().to_vec().unwrap(), &fd, 5e-3);
    let gbeta: Vec<f64> = (0..c)
        .map(|ch| {
            (0..cw.len())
                .filter(|i| (i / (h * w)) % c == ch)
                .map(|i| cw[i] as f64)
                .sum()
        })
        .collect();
    close(&bn.bias.grad().unwrap().to_vec().unwrap(), &gbeta, 1e-5);
    // evaluation: running statistics, not updated
    bn.eval();
    let y_eval = bn.forward(&input).unwrap();
    let expected_eval: Vec<f64> = x
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let ch = (i / (h * w)) % c;
            (v as f64 - running_mean[ch]) / (running_var[ch] + 1e-5).sqrt() * gamma[ch] + beta[ch]
        })
        .collect();
    close(&y_eval.to_vec().unwrap(), &expected_eval, 1e-5);
    close(
        &bn.state.running_mean.to_vec().unwrap(),
        &running_mean,
        1e-6,
    );
    let names: Vec<String> = bn.buffers().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["running_mean", "running_var"]);
    // 1-d accepts [N, C] and [N, C, L], not 4-d
    let bn1 = QBatchNorm1d::new(3, None, None, &device).unwrap();
    assert_eq!(
        bn1.forward(&Tensor::from_vec(values(12, 1), &[4, 3], &device).unwrap())
            .unwrap()
            .shape(),
        &[4, 3]
    );
    assert_eq!(
        bn1.forward(&Tensor::from_vec(values(24, 1), &[4, 3, 2], &device).unwrap())
            .unwrap()
            .shape(),
        &[4, 3, 2]
    );
    let error = bn1
        .forward(&Tensor::zeros(&[4, 2], &device).unwrap())
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("QBatchNorm") && error.contains("[4, 2]"),
        "{error}"
    );
    assert!(
        bn.forward(&Tensor::zeros(&[4, 2], &device).unwrap())
            .is_err()
    );
}
