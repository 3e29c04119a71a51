#![no_main]
//! Fuzz target `index_topology`: archives with a valid checksum chain and an arbitrary index
//! topology (cycles, shared children, depth, counts, separators, block sizes). The body is
//! `quire_fuzz_harness::index_topology`, which `cargo test` also runs over the committed
//! corpus and regressions (fuzz/harness/tests/corpus.rs). Any single allocation of 64 MiB or
//! more aborts (what `-malloc_limit_mb=64` does under a sanitizer).

#[global_allocator]
static ALLOC: quire_fuzz_harness::LimitedAlloc = quire_fuzz_harness::LimitedAlloc;

libfuzzer_sys::fuzz_target!(|data: &[u8]| quire_fuzz_harness::index_topology(data));
