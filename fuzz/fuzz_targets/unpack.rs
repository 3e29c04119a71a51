#![no_main]
//! Fuzz target `unpack`: the body is `quire::fuzzing::unpack`, which `cargo test` also runs
//! over the committed corpus and regressions (tests/fuzz_corpus.rs).

libfuzzer_sys::fuzz_target!(|data: &[u8]| quire::fuzzing::unpack(data));
