//! `cargo run --release -p redis-bench -- [OPTIONS]` (`-- --help` lists them):
//! see [`redis_bench::runner`] and `BENCHMARKS.md`.

use std::alloc::System;

use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};

/// Counts every allocation (and reallocation) of the process, for allocations per operation.
#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

fn allocations() -> u64 {
    let stats = GLOBAL.stats();
    (stats.allocations + stats.reallocations) as u64
}

fn main() -> std::process::ExitCode {
    redis_bench::runner::main(allocations)
}
