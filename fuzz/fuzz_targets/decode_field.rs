//! cargo-fuzz target `decode_field`: see `fuzz_targets::decode_field`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_targets::decode_field(data));
