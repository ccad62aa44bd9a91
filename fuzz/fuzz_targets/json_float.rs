//! cargo-fuzz target `json_float`: see `fuzz_targets::json_float`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_targets::json_float(data));
