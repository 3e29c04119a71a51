//! The `quire` command-line tool's building blocks: reading pack inputs (directories,
//! JSONL) and unpacking archives safely to a directory or to JSONL. The binary (`quire`)
//! is a thin shell of argument parsing and messages over these and the `quire` library.

#![deny(missing_docs)]

pub mod error;
pub mod ingest;
pub mod output;
pub mod progress;
pub mod show;
pub mod threads;
pub mod unpack;

pub use error::Error;
