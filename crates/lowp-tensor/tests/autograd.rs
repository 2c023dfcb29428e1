//! Tensor operations and their gradients on the CPU device: values against plain f64 loops,
//! gradients against central finite differences.

use lowp_tensor::{Device, Result, Tensor, TensorError, no_grad};

fn close(got: &[f32], expected: &[f64], tolerance: f64) {
    assert_eq!(got.len(), expected.len(), "{got:?} vs {expected:?}");
    for (i, (&g, &e)) in got.iter().zip(expected).enumerate() {
        assert!(
            (g as f64 - e).abs() <= tolerance * (1.0 + e.abs()),
            "element {i}: {g} vs {e} (all: {got:?} vs {expected:?})"
        );
    }
}

/// Checks the autograd gradient of `f` (which must return a scalar) at `x` against central
/// differences in f64 over the binary32 function.
fn check_gradient(x: &[f32], shape: &[usize], f: impl Fn(&Tensor) -> Result<Tensor>) {
    let device = Device::cpu();
    let input = Tensor::var(x, shape, &device).unwrap();
    f(&input).unwrap().backward().unwrap();
    let grad = input.grad().unwrap().to_vec().unwrap();
    let h = 1e-2f32;
    let expected: Vec<f64> = (0..x.len())
        .map(|i| {
            let eval = |delta: f32| {
                let mut values = x.to_vec();
                values[i] += delta;
                let t = Tensor::from_slice(&values, shape, &device).unwrap();
                f(&t).unwrap().to_scalar().unwrap() as f64
            };
            (eval(h) - eval(-h)) / (2.0 * h as f64)
        })
        .collect();
    close(&grad, &expected, 2e-2);
}

#[test]
fn elementwise_with_broadcasting_and_gradients() {
    let device = Device::cpu();
    let a = Tensor::from_slice(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3], &device).unwrap();
    let b = Tensor::from_slice(&[10.0, 20.0, 30.0], &[3], &device).unwrap();
    close(
        &a.add(&b).unwrap().to_vec().unwrap(),
        &[11., 22., 33., 14., 25., 36.],
        0.0,
    );
    close(
        &a.div(&b).unwrap().to_vec().unwrap(),
        &[0.1, 0.1, 0.1, 0.4, 0.25, 0.2],
        1e-7,
    );
    let x = [0.3f32, -1.2, 0.7, 2.0, -0.4, 1.1];
    check_gradient(&x, &[2, 3], |t| {
        let w = Tensor::from_slice(&[0.5, -1.5, 2.0], &[3], t.device())?;
        t.mul(&w)?.add(&t.sqr()?)?.tanh()?.sum_all()
    });
    check_gradient(&x, &[2, 3], |t| {
        t.exp()?.div(&t.abs()?.add_scalar(1.0)?)?.mean_all()
    });
    check_gradient(&x, &[2, 3], |t| t.relu()?.mul(t)?.sum_all());
    check_gradient(&x, &[2, 3], |t| t.erf()?.sum_all());
    check_gradient(&[0.5, 1.5, 2.5], &[3], |t| {
        t.log()?.add(&t.sqrt()?)?.add(&t.powf(3.0)?)?.sum_all()
    });
}

#[test]
fn reductions_and_movement_gradients() {
    let x = [
        0.3f32, -1.2, 0.7, 2.0, -0.4, 1.1, 0.9, -0.8, 0.2, 1.5, -2.0, 0.6,
    ];
    check_gradient(&x, &[2, 3, 2], |t| t.sum(&[1], false)?.sqr()?.sum_all());
    check_gradient(&x, &[2, 3, 2], |t| t.mean(&[0, 2], true)?.sqr()?.sum_all());
    check_gradient(&x, &[2, 3, 2], |t| t.max(1, false)?.sqr()?.sum_all());
    check_gradient(&x, &[2, 3, 2], |t| {
        t.permute(&[2, 0, 1])?.narrow(2, 1, 2)?.sqr()?.sum_all()
    });
    check_gradient(&x, &[2, 3, 2], |t| {
        let c = Tensor::concat(&[t, &t.mul_scalar(2.0)?], 1)?;
        c.index_select(1, &[0, 5, 5, 2])?.sqr()?.sum_all()
    });
    check_gradient(&x, &[2, 3, 2], |t| {
        t.reshape(&[3, 4])?.t()?.sqr()?.mean_all()
    });
}

#[test]
fn matmul_values_and_gradients() {
    let device = Device::cpu();
    let a = Tensor::from_slice(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3], &device).unwrap();
    let b = Tensor::from_slice(&[1.0, 0.0, 0.0, 1.0, 1.0, 1.0], &[3, 2], &device).unwrap();
    close(
        &a.matmul(&b).unwrap().to_vec().unwrap(),
        &[4., 5., 10., 11.],
        0.0,
    );
    let v = Tensor::from_slice(&[1.0, 1.0, 1.0], &[3], &device).unwrap();
    assert_eq!(a.matmul(&v).unwrap().shape(), &[2]);
    assert!(matches!(
        a.matmul(&a),
        Err(TensorError::Shape { op: "matmul", .. })
    ));
    let x: Vec<f32> = (0..12).map(|i| (i as f32 * 0.37).sin()).collect();
    // batch broadcast: [2, 2, 3] @ [3, 2]
    check_gradient(&x, &[2, 2, 3], |t| {
        let w = Tensor::from_slice(&[0.5, -1.0, 0.25, 2.0, -0.75, 1.5], &[3, 2], t.device())?;
        t.matmul(&w)?.sqr()?.sum_all()
    });
    check_gradient(&x[..6], &[3, 2], |w| {
        let t = Tensor::from_slice(&x, &[2, 2, 3], w.device())?;
        t.matmul(w)?.tanh()?.sum_all()
    });
}

#[test]
fn gradients_accumulate_and_no_grad_stops_recording() {
    let device = Device::cpu();
    let w = Tensor::var(&[2.0], &[1], &device).unwrap();
    w.mul(&w).unwrap().sum_all().unwrap().backward().unwrap();
    w.mul_scalar(3.0)
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap();
    assert_eq!(w.grad().unwrap().to_vec().unwrap(), [7.0]);
    w.zero_grad();
    assert!(w.grad().is_none());
    let untracked = {
        let _guard = no_grad();
        w.mul(&w).unwrap()
    };
    assert!(!untracked.tracks());
    assert!(matches!(
        untracked.backward(),
        Err(TensorError::Autograd(_))
    ));
    w.set_data(&Tensor::from_slice(&[5.0], &[1], &device).unwrap())
        .unwrap();
    assert_eq!(w.to_vec().unwrap(), [5.0]);
    assert!(w.set_data(&Tensor::zeros(&[2], &device).unwrap()).is_err());
}

#[test]
fn bad_shapes_are_errors() {
    let device = Device::cpu();
    let a = Tensor::zeros(&[2, 3], &device).unwrap();
    let b = Tensor::zeros(&[4], &device).unwrap();
    let message = a.add(&b).unwrap_err().to_string();
    assert!(
        message.contains("add") && message.contains("[2, 3]") && message.contains("[4]"),
        "{message}"
    );
    assert!(a.reshape(&[5]).is_err());
    assert!(a.permute(&[0, 0]).is_err());
    assert!(a.narrow(1, 2, 2).is_err());
    assert!(a.index_select(0, &[2]).is_err());
    assert!(Tensor::from_slice(&[1.0], &[2], &device).is_err());
    // More elements than a buffer can hold, or than usize can count: errors, not panics.
    assert!(Tensor::zeros(&[1 << 62], &device).is_err());
    assert!(Tensor::rand_uniform(0.0, 1.0, &[usize::MAX, 2], 0, &device).is_err());
    assert!(a.reshape(&[1 << 40, 1 << 40]).is_err());
}
