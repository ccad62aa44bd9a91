//! cargo-fuzz target `decode_msgpack`: see `fuzz_targets::decode_msgpack`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_targets::decode_msgpack(data));
