//! cargo-fuzz target `key_part`: see `fuzz_targets::key_part`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_targets::key_part(data));
