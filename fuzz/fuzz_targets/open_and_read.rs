#![no_main]
//! Fuzz target `open_and_read`: the body is `quire::fuzzing::open_and_read`, which `cargo test` also runs
//! over the committed corpus and regressions (tests/fuzz_corpus.rs).

libfuzzer_sys::fuzz_target!(|data: &[u8]| quire::fuzzing::open_and_read(data));
