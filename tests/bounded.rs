//! The suites that measure the heap, as modules of one test binary with one counting global
//! allocator (`common::alloc`). Its peak is the whole process's, so every test here runs in a
//! process of its own (`common::alloc::alone()`: libtest's process starts the binary again for
//! each test), as many side by side as libtest has threads. Run one suite with e.g.
//! `cargo test -p quire --test bounded hostile::`.
//!
//! The other suites are modules of tests/integration.rs.

mod common;

#[global_allocator]
static ALLOC: common::alloc::Counting = common::alloc::Counting;

mod hostile;
mod hostile_index;
#[cfg(feature = "fulltext")]
mod search_hostile;
mod titles_hostile;
mod writer_api;
