#![no_main]
//! Fuzz target `unpack`: the body is `quire_fuzz_harness::unpack`, which `cargo test` also runs
//! over the committed corpus and regressions (fuzz/harness/tests/corpus.rs).

libfuzzer_sys::fuzz_target!(|data: &[u8]| quire_fuzz_harness::unpack(data));
