#![no_main]
//! Fuzz target `suggest`: a small archive with a title index (spec §14), mutated, and query
//! bytes from the input; `suggest` with limits 1, 10 and none on the query and its first 0–4
//! characters, then `verify`. The body is `quire_fuzz_harness::suggest`, which `cargo test`
//! also runs over the committed corpus and regressions (fuzz/harness/tests/corpus.rs).

/// Any single allocation of 64 MiB or more aborts (what `-malloc_limit_mb=64` does under a
/// sanitizer; see `quire_fuzz_harness::LimitedAlloc`).
#[global_allocator]
static ALLOC: quire_fuzz_harness::LimitedAlloc = quire_fuzz_harness::LimitedAlloc;

libfuzzer_sys::fuzz_target!(|data: &[u8]| quire_fuzz_harness::suggest(data));
