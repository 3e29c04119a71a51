#![no_main]
//! Fuzz target `search`: a small archive with a full-text index (spec §15), mutated, and
//! query bytes from the input; each archive as it is and with its SEARCH section resealed
//! (nodes raw, every CRC of the chain recomputed as far as the bytes parse), then searches
//! (the query, as a phrase, its first word; limits 1, 10 and 10,000), term lookups and
//! `verify`. The body is `quire_fuzz_harness::search`, which `cargo test` also runs over the
//! committed corpus and regressions (fuzz/harness/tests/corpus.rs).

/// Any single allocation of 64 MiB or more aborts (what `-malloc_limit_mb=64` does under a
/// sanitizer; see `quire_fuzz_harness::LimitedAlloc`).
#[global_allocator]
static ALLOC: quire_fuzz_harness::LimitedAlloc = quire_fuzz_harness::LimitedAlloc;

libfuzzer_sys::fuzz_target!(|data: &[u8]| quire_fuzz_harness::search(data));
