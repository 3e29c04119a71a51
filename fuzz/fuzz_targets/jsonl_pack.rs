#![no_main]
//! Fuzz target `jsonl_pack`: the body is `quire_fuzz_harness::jsonl_pack`, which `cargo test` also runs
//! over the committed corpus and regressions (fuzz/harness/tests/corpus.rs).

libfuzzer_sys::fuzz_target!(|data: &[u8]| quire_fuzz_harness::jsonl_pack(data));
