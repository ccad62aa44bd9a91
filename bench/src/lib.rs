//! Benchmarks of `redis-runtime`: typed access side by side with hand-written
//! redis-rs, peer crates (`redis-om`, `redis-macros`) and `redis-benchmark`.
//!
//! Every figure is a ratio measured in one run, variants interleaved in
//! shuffled order over repeated rounds (`BENCHMARKS.md`, Method: paired
//! rounds). Run everything with
//!
//! ```text
//! cargo run --release -p redis-bench -- [--quick] [--scenario NAME]   # --help for every option
//! ```
//!
//! and the codec micro-benchmarks with `cargo bench -p redis-bench`. The exact
//! counters (commands, round trips, wire bytes per operation) are gated by
//! `tests/counters.rs` in the normal test suite.

pub mod codec;
pub mod counters;
pub mod handwritten;
pub mod models;
pub mod peers;
pub mod proxy;
pub mod rb;
pub mod runner;
pub mod server;
pub mod stats;

/// Any failure of the benchmark: setup, I/O, or a variant that returned wrong data.
pub type BenchError = Box<dyn std::error::Error + Send + Sync>;
