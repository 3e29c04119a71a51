//! `quire._quire`: the native half of the `quire` Python package (PyO3, stable ABI 3.9+).
//!
//! The Python package (`python/quire/`) re-exports everything here and adds the
//! `io.RawIOBase` body reader. Records (`pack`, `Writer.add_record`) are read by the
//! library's JSONL codec, `quire::jsonl`, as `quire pack` reads them. See `bindings/python/README.md` for the Python API.
//!
//! Design: every Python object that reads holds an `Arc` of one `quire::Archive` (never a
//! Rust borrow), so objects may cross threads and outlive each other; every lookup,
//! decompression and compression runs with the GIL released.

#![deny(missing_docs)]
#![deny(unsafe_code)]

mod archive;
mod errors;
mod records;
mod storage;
mod writer;

use pyo3::prelude::*;

/// Read and write quire archives (native module; use the ``quire`` package).
#[pymodule]
fn _quire(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_function(wrap_pyfunction!(archive::open, m)?)?;
    m.add_function(wrap_pyfunction!(writer::pack, m)?)?;
    m.add_class::<archive::Archive>()?;
    m.add_class::<archive::Entry>()?;
    m.add_class::<archive::KeyIterator>()?;
    m.add_class::<archive::EntryIterator>()?;
    m.add_class::<archive::BodyStream>()?;
    m.add_class::<archive::VerifyReport>()?;
    m.add_class::<archive::Problem>()?;
    m.add_class::<archive::Suggestion>()?;
    m.add_class::<archive::SearchResult>()?;
    m.add_class::<writer::Writer>()?;
    m.add("Error", py.get_type::<errors::Error>())?;
    m.add("CorruptArchive", py.get_type::<errors::CorruptArchive>())?;
    m.add("ArchiveChanged", py.get_type::<errors::ArchiveChanged>())?;
    m.add("NotAnArchive", py.get_type::<errors::NotAnArchive>())?;
    m.add(
        "UnsupportedVersion",
        py.get_type::<errors::UnsupportedVersion>(),
    )?;
    m.add("DuplicateKey", py.get_type::<errors::DuplicateKey>())?;
    m.add("NoTitleIndex", py.get_type::<errors::NoTitleIndex>())?;
    m.add("NoSearchIndex", py.get_type::<errors::NoSearchIndex>())?;
    m.add(
        "UnsupportedTokenizer",
        py.get_type::<errors::UnsupportedTokenizer>(),
    )?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
