//! cargo-fuzz target `decode_hash`: see `fuzz_targets::decode_hash`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_targets::decode_hash(data));
