//! The fuzz targets of redis-runtime: one function per parser, each taking
//! the fuzzer's bytes and panicking when a property fails.
//!
//! The cargo-fuzz binaries in `fuzz/fuzz_targets/` call these (one binary per
//! target, libFuzzer driving), and `tests/tests/fuzz_corpus.rs` replays every
//! checked-in corpus file through them under `cargo test`. This crate never
//! links libFuzzer, so the workspace build stays plain Rust. See
//! `fuzz/README.md` for how to run each target.

mod decode;
mod glob;
mod input;
mod key_part;
mod models;
mod template;

pub use decode::{
    LIMIT, MARKER, decode_field, decode_hash, decode_json, decode_msgpack, json_float,
};
pub use glob::{glob_escape, glob_match};
pub use key_part::{key_part, spec_escape};
pub use template::key_template;

/// A fuzz target: the fuzzer's bytes in, a panic when a property fails.
pub type Target = fn(&[u8]);

/// Every target, by the name of its cargo-fuzz binary and corpus directory
/// (`fuzz/corpus/<name>/`).
pub const TARGETS: &[(&str, Target)] = &[
    ("key_template", key_template),
    ("key_part", key_part),
    ("glob_escape", glob_escape),
    ("decode_hash", decode_hash),
    ("decode_json", decode_json),
    ("decode_msgpack", decode_msgpack),
    ("decode_field", decode_field),
    ("json_float", json_float),
];
