//! The CLI's integration tests: each file of tests/ is a module of this one test binary, which
//! links the library and the CLI's dependencies once, not once per file. Run one suite with
//! e.g. `cargo test -p quire-cli --test integration vectors::`. The tests against real
//! servers (tests/remote.rs, feature `server-tests`) are a binary of their own.

/// Running the `quire` binary (tests/common/mod.rs).
#[path = "common/mod.rs"]
mod cli_common;
/// The library tests' helpers and damaged-archive fixture (`salvage`, `hostile_index`);
/// `damaged` reaches the helpers as `crate::common`.
#[path = "../../tests/common/mod.rs"]
mod common;
#[path = "../../tests/common/damaged.rs"]
mod damaged;

mod cli;
mod crash_safety;
mod damage;
mod edges;
mod help;
mod hostile_index;
mod json_output;
mod jsonl_stream;
mod rough_edges;
mod salvage;
mod search;
mod search_vectors;
mod serve;
mod suggest;
mod title_vectors;
mod traversal;
mod vectors;
