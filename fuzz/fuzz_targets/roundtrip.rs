#![no_main]
//! Fuzz target `roundtrip`: the body is `quire::fuzzing::roundtrip`, which `cargo test` also runs
//! over the committed corpus and regressions (tests/fuzz_corpus.rs).

libfuzzer_sys::fuzz_target!(|data: &[u8]| quire::fuzzing::roundtrip(data));
