#![no_main]
//! Fuzz target `open_and_read`: the body is `quire_fuzz_harness::open_and_read`, which `cargo test` also runs
//! over the committed corpus and regressions (fuzz/harness/tests/corpus.rs).

/// Any single allocation of 64 MiB or more aborts (what `-malloc_limit_mb=64` does under a
/// sanitizer; see `quire_fuzz_harness::LimitedAlloc`).
#[global_allocator]
static ALLOC: quire_fuzz_harness::LimitedAlloc = quire_fuzz_harness::LimitedAlloc;

libfuzzer_sys::fuzz_target!(|data: &[u8]| quire_fuzz_harness::open_and_read(data));
