//! Modules (mptorch's `mptorch.quant.modules` and the plain torch layers a model needs): the
//! [`Module`] trait and its implementations.

mod activation;
mod basic;
mod conv;
mod linear;
mod pool;

pub use activation::{QGELU, QLayerNorm, QSoftmax};
pub use basic::{Dropout, Embedding, Flatten, ReLU, Sequential};
pub use conv::{
    ConvOptions, ConvTransposeOptions, QConv, QConv1d, QConv2d, QConv3d, QConvTranspose,
    QConvTranspose1d, QConvTranspose2d, QConvTranspose3d,
};
pub use linear::{QLazyLinear, QLinear};
pub use pool::{QAvgPool2d, QBatchNorm, QBatchNorm1d, QBatchNorm2d};

use crate::error::Result;
use lowp_tensor::{MaybeSendSync, Tensor};

/// A layer: a forward function, named parameters and buffers, and a train/eval mode.
///
/// Parameter names follow torch's state-dict convention (`weight`, `bias`; containers prefix
/// the child's index: `0.weight`), so checkpoints can be keyed by them.
pub trait Module: MaybeSendSync {
    /// Applies the layer (shapes are documented per module).
    fn forward(&self, x: &Tensor) -> Result<Tensor>;

    /// The trainable tensors (leaves that require gradients), named.
    fn parameters(&self) -> Vec<(String, Tensor)> {
        Vec::new()
    }

    /// Non-trainable state (running statistics), named.
    fn buffers(&self) -> Vec<(String, Tensor)> {
        Vec::new()
    }

    /// Switches between training (`true`) and evaluation mode (affects Dropout and BatchNorm).
    fn set_training(&self, _training: bool) {}

    /// Training mode.
    fn train(&self) {
        self.set_training(true);
    }

    /// Evaluation mode.
    fn eval(&self) {
        self.set_training(false);
    }
}

/// Prefixes every name with `prefix.`.
pub(crate) fn prefixed(prefix: &str, named: Vec<(String, Tensor)>) -> Vec<(String, Tensor)> {
    named
        .into_iter()
        .map(|(name, tensor)| (format!("{prefix}.{name}"), tensor))
        .collect()
}

/// A boxed module is a module (so `Sequential::with(Box<dyn Module>)` works).
impl<M: Module + ?Sized> Module for Box<M> {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        (**self).forward(x)
    }
    fn parameters(&self) -> Vec<(String, Tensor)> {
        (**self).parameters()
    }
    fn buffers(&self) -> Vec<(String, Tensor)> {
        (**self).buffers()
    }
    fn set_training(&self, training: bool) {
        (**self).set_training(training);
    }
}
