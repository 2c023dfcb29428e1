//! Reproducible seeds for stochastic rounding in layers (SEMANTICS.md §3).
//!
//! The rule (backend-independent, documented in docs/semantics-notes.md):
//!
//! * `mix` is SplitMix64's finaliser.
//! * A child seed of `parent` with index `i` is `derive(parent, i) = mix(parent ^ mix(i))`
//!   (e.g. layer `i` of a model built from a run seed).
//! * A [`SeedStream`] (one per config / layer, base seed `s`) counts its calls `c = 0, 1, ...`;
//!   in call `c` the rounding event of role `r` (a small constant per op, listed with each op)
//!   uses seed `mix(s ^ mix(c * 256 + r))`, which then keys the Philox words of §3 for that
//!   quantize / GEMM / reduction.
//!
//! So a training run is bit-reproducible on every backend for a given run seed and call order.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// SplitMix64's finaliser: a bijective 64-bit mix.
pub fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The child seed `mix(parent ^ mix(index))`.
pub fn derive(parent: u64, index: u64) -> u64 {
    mix(parent ^ mix(index))
}

/// A counter of calls under one base seed; clones share the counter.
#[derive(Debug, Clone, Default)]
pub struct SeedStream {
    base: u64,
    calls: Arc<AtomicU64>,
}

impl SeedStream {
    /// A stream with base seed `base`, at call 0.
    pub fn new(base: u64) -> Self {
        Self {
            base,
            calls: Arc::new(AtomicU64::new(0)),
        }
    }
    /// The base seed.
    pub fn base(&self) -> u64 {
        self.base
    }
    /// Calls made so far.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }
    /// Starts the next call: its per-role seeds.
    pub fn next_call(&self) -> CallSeeds {
        CallSeeds {
            base: self.base,
            call: self.calls.fetch_add(1, Ordering::Relaxed),
        }
    }
}

/// The seeds of one call of an op (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallSeeds {
    /// The stream's base seed.
    pub base: u64,
    /// The call number.
    pub call: u64,
}

impl CallSeeds {
    /// The seed of rounding role `role` in this call: `mix(base ^ mix(call * 256 + role))`.
    pub fn seed(&self, role: u64) -> u64 {
        mix(self.base ^ mix(self.call.wrapping_mul(256).wrapping_add(role)))
    }
}
