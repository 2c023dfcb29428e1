//! The error type of lowp-nn.

use lowp_formats::FormatError;
use lowp_tensor::TensorError;

/// Everything a layer, functional op or config can fail with. Never a panic on user input.
#[derive(Debug, thiserror::Error)]
pub enum NnError {
    /// A tensor operation failed (its message names the op and the shapes).
    #[error(transparent)]
    Tensor(#[from] TensorError),
    /// A format or rounding mode was rejected.
    #[error(transparent)]
    Format(#[from] FormatError),
    /// A layer or functional op got inputs it cannot take.
    #[error("{layer}: {message}")]
    Layer {
        /// The layer or function (`QLinear`, `qlayernorm`, ...).
        layer: &'static str,
        /// What is wrong, with the shapes involved.
        message: String,
    },
    /// A configuration is invalid.
    #[error("{config}: {message}")]
    Config {
        /// The configuration type.
        config: &'static str,
        /// What is wrong.
        message: String,
    },
}

impl NnError {
    /// A [`NnError::Layer`].
    pub fn layer(layer: &'static str, message: impl Into<String>) -> Self {
        NnError::Layer {
            layer,
            message: message.into(),
        }
    }
    /// A [`NnError::Config`].
    pub fn config(config: &'static str, message: impl Into<String>) -> Self {
        NnError::Config {
            config,
            message: message.into(),
        }
    }
}

/// Result alias of lowp-nn.
pub type Result<T> = core::result::Result<T, NnError>;
