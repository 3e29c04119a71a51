//! The Rust archive under every Python object of one open archive: a
//! `quire::Archive<AnySource>`, the library's one way to read a memory-mapped file, a file
//! read by positioned reads, bytes in memory or a URL (`Archive::open_any`).

use std::sync::Arc;

/// The Rust archive every Python object of one open archive shares.
pub type Inner = quire::Archive<quire::source::AnySource>;

/// A shared handle on an open archive: entries, iterators and body readers each hold one,
/// so the source stays alive (mapped, open, connected) until the last of them is gone.
pub type Shared = Arc<Inner>;
