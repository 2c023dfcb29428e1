//! Benchmark rows of `lowp bench` (placeholder until the bench lands).
