//! The library's integration tests: each file of tests/ is a module of this one test binary,
//! which compiles the library's generic code and links the dependencies once, not once per
//! file. Run one suite with e.g. `cargo test -p quire --test integration corruption::`.
//!
//! Elsewhere: the suites that measure the heap with a counting global allocator are modules
//! of tests/bounded.rs, and the tests against real servers (tests/remote.rs, features
//! `remote` and `server-tests`) a binary of their own.

mod common;
#[path = "common/damaged.rs"]
mod damaged;

mod body_shared;
mod byte_source;
mod concurrency;
mod corruption;
mod damage_walks;
mod fetch_what_is_used;
#[cfg(feature = "jsonl")]
mod jsonl;
mod packed_nodes;
mod proptest_model;
mod ranges;
mod remote_preset;
mod roundtrip;
#[cfg(feature = "fulltext")]
mod search;
#[cfg(feature = "fulltext")]
mod text;
mod titles;
mod warm_get;
mod web_shape;
