//! cargo-fuzz target `decode_json`: see `fuzz_targets::decode_json`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_targets::decode_json(data));
