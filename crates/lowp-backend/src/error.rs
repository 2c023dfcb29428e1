//! The error type of lowp-backend.

use lowp_formats::FormatError;

/// Everything a backend operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// The format, rounding mode or shape was rejected.
    #[error(transparent)]
    Format(#[from] FormatError),
    /// The backend cannot run here (no adapter, no driver ...).
    #[error("backend {backend} is unavailable: {reason}")]
    Unavailable {
        /// The backend's name.
        backend: &'static str,
        /// Why.
        reason: String,
    },
    /// A buffer or shape does not fit the operation.
    #[error("shape error: {0}")]
    Shape(String),
}
