#![no_main]
//! Fuzz target `jsonl_pack`: the body is `quire::fuzzing::jsonl_pack`, which `cargo test` also runs
//! over the committed corpus and regressions (tests/fuzz_corpus.rs).

libfuzzer_sys::fuzz_target!(|data: &[u8]| quire::fuzzing::jsonl_pack(data));
