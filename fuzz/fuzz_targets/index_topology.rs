#![no_main]
//! Fuzz target `index_topology`: archives with a valid checksum chain and an arbitrary index
//! topology (cycles, shared children, depth, counts, separators, block sizes). The body is
//! `quire_fuzz_harness::index_topology`, which `cargo test` also runs over the committed
//! corpus and regressions (fuzz/harness/tests/corpus.rs).

libfuzzer_sys::fuzz_target!(|data: &[u8]| quire_fuzz_harness::index_topology(data));
