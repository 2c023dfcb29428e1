//! [`Tensor`]: an immutable, contiguous, row-major array of binary32 values on a [`Device`], with
//! the autograd node that produced it.

use crate::autograd::{BackwardFn, Node, grad_enabled};
use crate::device::{Device, Kernel, Storage};
use crate::error::{Result, TensorError};
use crate::shape::elements;
use lowp_formats::philox::{philox4x32_10, seed_key};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

/// A unique tensor id (graph bookkeeping).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TensorId(u64);

impl TensorId {
    fn next() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        TensorId(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

pub(crate) struct Inner {
    pub(crate) id: TensorId,
    /// Replaced in place only by [`Tensor::set_data`] (parameter updates).
    pub(crate) storage: RwLock<Arc<Storage>>,
    pub(crate) shape: Vec<usize>,
    pub(crate) device: Device,
    /// The operation that produced this tensor (None for leaves and untracked results).
    pub(crate) node: Option<Node>,
    /// Leaves only: gradients are accumulated here by [`Tensor::backward`].
    pub(crate) requires_grad: bool,
    pub(crate) grad: RwLock<Option<Tensor>>,
}

/// A tensor: cheap to clone (shared), immutable values except through [`Tensor::set_data`].
///
/// Shapes are `&[usize]` (row-major, contiguous; a scalar has shape `[]`). Every operation
/// returns a new tensor on the same device. A tensor *tracks* gradients when it is a leaf with
/// `requires_grad` or was computed from one while gradients are enabled (see [`crate::no_grad`]).
#[derive(Clone)]
pub struct Tensor(pub(crate) Arc<Inner>);

impl std::fmt::Debug for Tensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Tensor({:?}, shape {:?}, {}{})",
            self.0.id,
            self.0.shape,
            self.0.device.name(),
            if self.tracks() { ", tracked" } else { "" }
        )
    }
}

fn read<T: Clone>(lock: &RwLock<T>) -> T {
    lock.read().unwrap_or_else(|e| e.into_inner()).clone()
}

fn write<T>(lock: &RwLock<T>, value: T) {
    *lock.write().unwrap_or_else(|e| e.into_inner()) = value;
}

impl Tensor {
    /// Wraps a storage as an untracked leaf.
    pub fn from_storage(storage: Storage, shape: &[usize], device: &Device) -> Self {
        Self::build(storage, shape.to_vec(), device.clone(), None, false)
    }

    fn build(
        storage: Storage,
        shape: Vec<usize>,
        device: Device,
        node: Option<Node>,
        requires_grad: bool,
    ) -> Self {
        Tensor(Arc::new(Inner {
            id: TensorId::next(),
            storage: RwLock::new(Arc::new(storage)),
            shape,
            device,
            node,
            requires_grad,
            grad: RwLock::new(None),
        }))
    }

    /// A tensor of `shape` holding `data` (row-major). Error if the lengths differ.
    pub fn from_vec(data: Vec<f32>, shape: &[usize], device: &Device) -> Result<Self> {
        Self::from_slice(&data, shape, device)
    }

    /// A tensor of `shape` holding a copy of `data` (row-major).
    pub fn from_slice(data: &[f32], shape: &[usize], device: &Device) -> Result<Self> {
        let n = elements(shape)?;
        if n != data.len() {
            return Err(TensorError::shape(
                "from_slice",
                format!("shape {shape:?} holds {n} values, {} given", data.len()),
            ));
        }
        Ok(Self::from_storage(device.upload(data)?, shape, device))
    }

    /// A scalar (shape `[]`).
    pub fn scalar(value: f32, device: &Device) -> Result<Self> {
        Self::from_slice(&[value], &[], device)
    }

    /// A tensor of `shape` filled with `value`.
    pub fn full(value: f32, shape: &[usize], device: &Device) -> Result<Self> {
        Self::from_vec(vec![value; elements(shape)?], shape, device)
    }

    /// Zeros of `shape`.
    pub fn zeros(shape: &[usize], device: &Device) -> Result<Self> {
        Self::full(0.0, shape, device)
    }

    /// Ones of `shape`.
    pub fn ones(shape: &[usize], device: &Device) -> Result<Self> {
        Self::full(1.0, shape, device)
    }

    /// Values uniform in `[lo, hi)`: `lo + (hi - lo) * u` with `u = (word >> 8) * 2^-24`, word `i`
    /// of Philox4x32-10 keyed by `seed` (counter `(i >> 2, 0, 0, 0)` word `i & 3`, computed on
    /// the host in binary32, so the values do not depend on the device).
    pub fn rand_uniform(
        lo: f32,
        hi: f32,
        shape: &[usize],
        seed: u64,
        device: &Device,
    ) -> Result<Self> {
        let n = elements(shape)?;
        let data: Vec<f32> = (0..n as u64)
            .map(|i| {
                let u = (random_word(seed, i, 0) >> 8) as f32 * (1.0 / 16_777_216.0);
                lo + (hi - lo) * u
            })
            .collect();
        Self::from_vec(data, shape, device)
    }

    /// Standard normal values (Box–Muller in f64 on the host from two Philox words per element:
    /// counter streams 0 and 1), times `std` plus `mean`, rounded to binary32.
    pub fn randn(mean: f32, std: f32, shape: &[usize], seed: u64, device: &Device) -> Result<Self> {
        let n = elements(shape)?;
        let data: Vec<f32> = (0..n as u64)
            .map(|i| {
                let u1 = ((random_word(seed, i, 0) as f64) + 1.0) / 4_294_967_297.0;
                let u2 = (random_word(seed, i, 1) as f64) / 4_294_967_296.0;
                let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
                (mean as f64 + std as f64 * z) as f32
            })
            .collect();
        Self::from_vec(data, shape, device)
    }

    /// A new leaf that requires gradients (a parameter), holding `data`.
    pub fn var(data: &[f32], shape: &[usize], device: &Device) -> Result<Self> {
        Ok(Self::from_slice(data, shape, device)?.into_var())
    }

    /// This tensor's values as a new leaf that requires gradients.
    pub fn into_var(self) -> Self {
        Self::build(
            (*self.storage()).clone(),
            self.0.shape.clone(),
            self.0.device.clone(),
            None,
            true,
        )
    }

    /// The same values as an untracked leaf (no gradient flows through it).
    pub fn detach(&self) -> Self {
        Self::build(
            (*self.storage()).clone(),
            self.0.shape.clone(),
            self.0.device.clone(),
            None,
            false,
        )
    }

    /// The tensor's id.
    pub fn id(&self) -> TensorId {
        self.0.id
    }
    /// The shape.
    pub fn shape(&self) -> &[usize] {
        &self.0.shape
    }
    /// Number of axes.
    pub fn rank(&self) -> usize {
        self.0.shape.len()
    }
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.0.shape.iter().product()
    }
    /// Whether the tensor has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The device.
    pub fn device(&self) -> &Device {
        &self.0.device
    }
    /// The current storage.
    pub fn storage(&self) -> Arc<Storage> {
        read(&self.0.storage)
    }
    /// Whether this is a leaf that requires gradients (a parameter).
    pub fn requires_grad(&self) -> bool {
        self.0.requires_grad
    }
    /// Whether gradients flow into this tensor (a parameter, or computed from one with
    /// gradients enabled).
    pub fn tracks(&self) -> bool {
        self.0.requires_grad || self.0.node.is_some()
    }
    /// The gradient accumulated by [`Tensor::backward`] (leaves that require gradients).
    pub fn grad(&self) -> Option<Tensor> {
        read(&self.0.grad)
    }
    /// Forgets the accumulated gradient.
    pub fn zero_grad(&self) {
        write(&self.0.grad, None);
    }
    /// Replaces the accumulated gradient (used by gradient clipping and tests).
    pub fn set_grad(&self, grad: Option<Tensor>) {
        write(&self.0.grad, grad);
    }

    /// Replaces this tensor's values in place (optimizer steps): `values` must have the same
    /// shape and device. Other holders of this tensor see the new values.
    pub fn set_data(&self, values: &Tensor) -> Result<()> {
        if values.shape() != self.shape() {
            return Err(TensorError::shape(
                "set_data",
                format!(
                    "shape {:?} cannot take values of shape {:?}",
                    self.shape(),
                    values.shape()
                ),
            ));
        }
        self.same_device("set_data", values)?;
        write(&self.0.storage, values.storage());
        Ok(())
    }

    /// Copies the values to the host, blocking until they are ready (natively: pollster; in a
    /// browser only CPU tensors can be read this way, use [`Tensor::to_vec_async`]).
    pub fn to_vec(&self) -> Result<Vec<f32>> {
        let storage = self.storage();
        if let Some(values) = Device::host_values(&storage) {
            return Ok(values.to_vec());
        }
        #[cfg(not(target_arch = "wasm32"))]
        {
            pollster::block_on(self.0.device.download(&storage))
        }
        #[cfg(target_arch = "wasm32")]
        {
            Err(TensorError::Blocking(format!(
                "to_vec cannot block on a {} tensor in the browser: use to_vec_async",
                self.0.device.name()
            )))
        }
    }

    /// Copies the values to the host (asynchronous; works everywhere).
    pub async fn to_vec_async(&self) -> Result<Vec<f32>> {
        let storage = self.storage();
        self.0.device.download(&storage).await
    }

    /// The single value of a one-element tensor.
    pub fn to_scalar(&self) -> Result<f32> {
        if self.len() != 1 {
            return Err(TensorError::shape(
                "to_scalar",
                format!("tensor of shape {:?} is not one value", self.shape()),
            ));
        }
        Ok(self.to_vec()?[0])
    }

    /// Copies the tensor to `device` (through the host; untracked).
    pub fn to_device(&self, device: &Device) -> Result<Tensor> {
        Tensor::from_vec(self.to_vec()?, self.shape(), device)
    }

    /// Errors unless `other` lives on the same device.
    pub(crate) fn same_device(&self, op: &'static str, other: &Tensor) -> Result<()> {
        if self.0.device.same(&other.0.device) {
            Ok(())
        } else {
            Err(TensorError::DeviceMismatch {
                op,
                left: self.0.device.name(),
                right: other.0.device.name(),
            })
        }
    }

    /// Runs a kernel on the storages of `inputs` (all on `self`'s device) giving an untracked
    /// tensor of `shape`.
    pub fn run_kernel(
        &self,
        kernel: &Kernel<'_>,
        others: &[&Tensor],
        shape: &[usize],
    ) -> Result<Tensor> {
        let mut storages = vec![self.storage()];
        for other in others {
            self.same_device("kernel", other)?;
            storages.push(other.storage());
        }
        let refs: Vec<&Storage> = storages.iter().map(|s| s.as_ref()).collect();
        let out = self.0.device.run(kernel, &refs)?;
        Ok(Tensor::from_storage(out, shape, &self.0.device))
    }

    /// Attaches a backward function to an untracked result `value` computed from `inputs`:
    /// when gradients are enabled and any input tracks, returns a tracked tensor whose
    /// backward maps the output gradient to one optional gradient per input (same shapes as
    /// the inputs). Otherwise returns `value` unchanged. This is how ops with their own
    /// (quantized) backward are written; `backward` runs with gradients disabled.
    pub fn with_backward(
        value: Tensor,
        name: &'static str,
        inputs: &[&Tensor],
        backward: impl BackwardFn + 'static,
    ) -> Tensor {
        if !grad_enabled() || !inputs.iter().any(|t| t.tracks()) {
            return value;
        }
        let node = Node {
            name,
            inputs: inputs.iter().map(|t| (*t).clone()).collect(),
            backward: Box::new(backward),
        };
        Self::build(
            (*value.storage()).clone(),
            value.0.shape.clone(),
            value.0.device.clone(),
            Some(node),
            false,
        )
    }
}

/// Word `(i & 3)` of Philox4x32-10 keyed by `seed`, counter `(lo32(i >> 2), hi32(i >> 2), stream, 0)`.
fn random_word(seed: u64, i: u64, stream: u32) -> u32 {
    let block = i >> 2;
    philox4x32_10(
        [block as u32, (block >> 32) as u32, stream, 0],
        seed_key(seed),
    )[(i & 3) as usize]
}
