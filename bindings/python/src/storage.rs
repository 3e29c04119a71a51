//! Where an open archive's bytes live: a memory map of a file, or bytes owned in memory.

use std::sync::Arc;

/// The byte storage under an [`Inner`] archive.
pub enum Storage {
    /// A memory-mapped file (from `quire.open(path)`).
    Mapped(quire::Mmap),
    /// Bytes read into memory (from `quire.open(bytes)` or `open(path, mmap=False)`).
    Owned(Vec<u8>),
}

impl AsRef<[u8]> for Storage {
    fn as_ref(&self) -> &[u8] {
        match self {
            Storage::Mapped(m) => m,
            Storage::Owned(v) => v,
        }
    }
}

/// The Rust archive every Python object of one open archive shares.
pub type Inner = quire::Archive<Storage>;

/// A shared handle on an open archive: entries, iterators and body readers each hold one,
/// so the bytes stay alive (and mapped) until the last of them is gone.
pub type Shared = Arc<Inner>;
