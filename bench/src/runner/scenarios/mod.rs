//! The scenarios (`BENCHMARKS.md`, Method: scenarios): S1 codec, S2 sequential,
//! S3 batches, S4 concurrency, S7 memory, the exact counters, sequential
//! operations on the collection kinds, and the same work on a Redis Cluster.
//!
//! One file per scenario; [`common`] holds what they all share (resetting and
//! filling the server, timed loops, checks, paired rounds) and [`throughput`]
//! what the throughput scenarios S2–S4 share (redis-benchmark shapes and the
//! cells of a throughput row).

mod cluster;
mod collections;
mod common;
mod coordination;
mod exact_counters;
mod s1_codec;
mod s2_sequential;
mod s3_batches;
mod s4_concurrency;
mod s7_memory;
mod streams;
mod throughput;

pub(super) use cluster::cluster;
pub(super) use collections::collections;
pub(super) use exact_counters::counters;
pub(super) use s1_codec::codec;
pub(super) use s2_sequential::sequential;
pub(super) use s3_batches::batch;
pub(super) use s4_concurrency::concurrency;
pub(super) use s7_memory::memory;
