//! cargo-fuzz target `key_template`: see `fuzz_targets::key_template`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_targets::key_template(data));
