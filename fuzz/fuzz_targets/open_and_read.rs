#![no_main]
//! Fuzz target `open_and_read`: the body is `quire_fuzz_harness::open_and_read`, which `cargo test` also runs
//! over the committed corpus and regressions (fuzz/harness/tests/corpus.rs).

libfuzzer_sys::fuzz_target!(|data: &[u8]| quire_fuzz_harness::open_and_read(data));
