//! cargo-fuzz target `glob_escape`: see `fuzz_targets::glob_escape`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_targets::glob_escape(data));
