//! The training driver ([`run`]: the loop, evaluation, checkpoint and resume) and its building
//! blocks: run-seed derivation ([`seeds`]), atomic file writes ([`files`]), checkpoints as
//! safetensors ([`checkpoint`]), curve plots (`plot`, feature `plots`), accuracy ([`metrics`]) and format
//! configurations from config files and short flags ([`formats`]).

pub mod checkpoint;
pub mod files;
pub mod formats;
pub mod metrics;
#[cfg(feature = "plots")]
pub mod plot;
pub mod run;
pub mod seeds;

/// What can go wrong in the training driver.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// A file could not be read or written.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// `read` or `write`.
        action: &'static str,
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A checkpoint file is not valid.
    #[error("checkpoint {path}: {reason}")]
    Checkpoint {
        /// The file (or `<bytes>`).
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A format configuration (file or flag) is not valid.
    #[error("{0}")]
    Config(String),
    /// A tensor operation failed.
    #[error(transparent)]
    Tensor(#[from] lowp_tensor::TensorError),
    /// The optimizer failed.
    #[error(transparent)]
    Optim(#[from] crate::optim::OptimError),
    /// Loading or batching data failed.
    #[error(transparent)]
    Data(#[from] crate::data::DataError),
    /// A quantized layer failed.
    #[error(transparent)]
    Nn(#[from] crate::NnError),
}

/// Results of this module.
pub type Result<T> = std::result::Result<T, TrainError>;
