//! Reverse-mode automatic differentiation over the graph recorded by tracked operations.
//!
//! Every tracked result holds a [`Node`]: its inputs and a backward function mapping the
//! output gradient to one optional gradient per input. [`Tensor::backward`] visits the graph in
//! reverse topological order. Gradients reaching a tensor along several paths are summed with
//! plain binary32 additions in the order the paths are visited (documented in
//! docs/semantics-notes.md); quantized ops quantize their own gradients inside their backward.

use crate::error::{Result, TensorError};
use crate::tensor::{Tensor, TensorId};
use std::cell::Cell;
use std::collections::{HashMap, HashSet};

/// `Send + Sync` natively; no bound on wasm32 (WebGPU handles are not `Send` there).
#[cfg(not(target_arch = "wasm32"))]
pub trait MaybeSendSync: Send + Sync {}
#[cfg(not(target_arch = "wasm32"))]
impl<T: Send + Sync> MaybeSendSync for T {}
/// `Send + Sync` natively; no bound on wasm32 (WebGPU handles are not `Send` there).
#[cfg(target_arch = "wasm32")]
pub trait MaybeSendSync {}
#[cfg(target_arch = "wasm32")]
impl<T> MaybeSendSync for T {}

/// The backward function of one recorded operation: output gradient (the output's shape) to
/// one optional gradient per input (each of its input's shape; `None`: no gradient).
pub trait BackwardFn: MaybeSendSync {
    /// Computes the input gradients.
    fn backward(&self, grad: &Tensor) -> Result<Vec<Option<Tensor>>>;
}

impl<F> BackwardFn for F
where
    F: Fn(&Tensor) -> Result<Vec<Option<Tensor>>> + MaybeSendSync,
{
    fn backward(&self, grad: &Tensor) -> Result<Vec<Option<Tensor>>> {
        self(grad)
    }
}

/// One recorded operation.
pub(crate) struct Node {
    pub(crate) name: &'static str,
    pub(crate) inputs: Vec<Tensor>,
    pub(crate) backward: Box<dyn BackwardFn>,
}

thread_local! {
    static GRAD_ENABLED: Cell<bool> = const { Cell::new(true) };
}

/// Whether operations on this thread currently record the graph.
pub fn grad_enabled() -> bool {
    GRAD_ENABLED.with(Cell::get)
}

/// Disables graph recording on this thread until the guard is dropped (evaluation, optimizer
/// steps). Guards nest.
pub fn no_grad() -> NoGradGuard {
    let previous = GRAD_ENABLED.with(|flag| flag.replace(false));
    NoGradGuard { previous }
}

/// Restores the previous recording state when dropped (see [`no_grad`]).
#[must_use = "gradients are re-enabled as soon as the guard is dropped"]
pub struct NoGradGuard {
    previous: bool,
}

impl Drop for NoGradGuard {
    fn drop(&mut self) {
        GRAD_ENABLED.with(|flag| flag.set(self.previous));
    }
}

/// The tracked tensors reachable from `root`, inputs before the tensors computed from them.
fn topological_order(root: &Tensor) -> Vec<Tensor> {
    let mut order = Vec::new();
    let mut visited: HashSet<TensorId> = HashSet::new();
    // Iterative depth-first search: (tensor, children pushed?)
    let mut stack = vec![(root.clone(), false)];
    while let Some((tensor, expanded)) = stack.pop() {
        if expanded {
            order.push(tensor);
            continue;
        }
        if !visited.insert(tensor.id()) {
            continue;
        }
        stack.push((tensor.clone(), true));
        if let Some(node) = &tensor.0.node {
            for input in node.inputs.iter().rev() {
                if input.tracks() && !visited.contains(&input.id()) {
                    stack.push((input.clone(), false));
                }
            }
        }
    }
    order
}

impl Tensor {
    /// Back-propagates from this one-element tensor (seed gradient 1) and adds the gradients of
    /// every reachable leaf that requires gradients into its [`Tensor::grad`].
    pub fn backward(&self) -> Result<()> {
        if self.len() != 1 {
            return Err(TensorError::Autograd(format!(
                "backward() needs a one-element tensor, this one has shape {:?}; use backward_with",
                self.shape()
            )));
        }
        let seed = Tensor::ones(self.shape(), self.device())?;
        self.backward_with(&seed)
    }

    /// Back-propagates the gradient `grad` (this tensor's shape) and adds the gradients of every
    /// reachable leaf that requires gradients into its [`Tensor::grad`].
    pub fn backward_with(&self, grad: &Tensor) -> Result<()> {
        if grad.shape() != self.shape() {
            return Err(TensorError::Autograd(format!(
                "seed gradient of shape {:?} for a tensor of shape {:?}",
                grad.shape(),
                self.shape()
            )));
        }
        if !self.tracks() {
            return Err(TensorError::Autograd(
                "backward() on a tensor that does not depend on any parameter".to_string(),
            ));
        }
        let _guard = no_grad();
        let mut grads: HashMap<TensorId, Tensor> = HashMap::new();
        grads.insert(self.id(), grad.detach());
        for tensor in topological_order(self).into_iter().rev() {
            let Some(grad) = grads.remove(&tensor.id()) else {
                continue;
            };
            match &tensor.0.node {
                Some(node) => {
                    let input_grads = node.backward.backward(&grad)?;
                    if input_grads.len() != node.inputs.len() {
                        return Err(TensorError::Autograd(format!(
                            "{}: backward gave {} gradients for {} inputs",
                            node.name,
                            input_grads.len(),
                            node.inputs.len()
                        )));
                    }
                    for (input, input_grad) in node.inputs.iter().zip(input_grads) {
                        let Some(input_grad) = input_grad else {
                            continue;
                        };
                        if !input.tracks() {
                            continue;
                        }
                        if input_grad.shape() != input.shape() {
                            return Err(TensorError::Autograd(format!(
                                "{}: gradient of shape {:?} for an input of shape {:?}",
                                node.name,
                                input_grad.shape(),
                                input.shape()
                            )));
                        }
                        let sum = match grads.remove(&input.id()) {
                            Some(previous) => previous.add(&input_grad)?,
                            None => input_grad,
                        };
                        grads.insert(input.id(), sum);
                    }
                }
                None if tensor.requires_grad() => {
                    let total = match tensor.grad() {
                        Some(previous) => previous.add(&grad)?,
                        None => grad,
                    };
                    tensor.set_grad(Some(total));
                }
                None => {}
            }
        }
        Ok(())
    }
}
