//! The exception hierarchy and the mapping from quire's Rust errors to Python exceptions.
//!
//! `quire.Error` is the base of every exception that is quire's own; where Python has an
//! exception that says the same thing, that one is raised instead: `KeyError` for a missing
//! key, `OSError` (and its subclasses, chosen by errno) for the operating system's errors,
//! `ValueError` for arguments the format cannot hold (a search query over spec §15.2's
//! limits among them), `IndexError` for entry numbers.

use std::io;
use std::path::Path;

use pyo3::create_exception;
use pyo3::exceptions::{
    PyConnectionError, PyException, PyFileExistsError, PyFileNotFoundError, PyIndexError,
    PyIsADirectoryError, PyOSError, PyPermissionError, PyTimeoutError, PyValueError,
};
use pyo3::prelude::*;
use quire::source::{RemoteError, RemoteErrorKind};
use quire::{ReadError, WriteError};

create_exception!(
    quire,
    Error,
    PyException,
    "Base class of quire's own exceptions.\n\n\
     Missing keys raise KeyError, the operating system's errors OSError, bad arguments\n\
     ValueError or TypeError, as Python code expects."
);
create_exception!(
    quire,
    CorruptArchive,
    Error,
    "The archive is damaged (or was made to lie).\n\n\
     Attributes:\n    location: where, e.g. 'block 17', 'entry 3', 'header', 'file'.\n    \
     kind: what, e.g. 'checksum mismatch'.\n\n\
     Damage to one block costs only the entries inside it: other lookups still work."
);
create_exception!(
    quire,
    NotAnArchive,
    Error,
    "The file does not start with quire's magic number: it is not a quire archive."
);
create_exception!(
    quire,
    UnsupportedVersion,
    Error,
    "The archive's format version (or a required feature) is newer than this reader.\n\n\
     Attributes:\n    major, minor: the version found (None for an unknown feature)."
);
create_exception!(
    quire,
    ArchiveChanged,
    Error,
    "The archive changed on the server since it was opened (a URL read by ranges).\n\n\
     The server answered a version condition with 412, or an answer's ETag, Last-Modified or\n\
     size differs from those at open, or a checksum failed and the server now has another\n\
     version: bytes of two versions are never mixed. Open the URL again to read the new one.\n\n\
     Attributes:\n    url: the URL."
);
create_exception!(
    quire,
    NoTitleIndex,
    Error,
    "The archive has no title index (it was packed with index='none', or `quire pack\n\
     --index none`), so Archive.suggest cannot answer. Archive.has_title_index says so\n\
     beforehand."
);
create_exception!(
    quire,
    NoSearchIndex,
    Error,
    "The archive has no full-text index (it was packed without index='full', or without\n\
     `quire pack --index full`), so Archive.search cannot answer. Archive.has_search_index\n\
     says so beforehand."
);
create_exception!(
    quire,
    UnsupportedTokenizer,
    Error,
    "The archive's full-text index was made by a tokenizer this reader does not implement\n\
     (spec §15.1; a newer quire may read it): Archive.search refuses text queries, since\n\
     other terms would give silently incomplete results. The bodies still read, and\n\
     Archive.search_postings still looks terms up as given.\n\n\
     Attributes:\n    tokenizer: the tokenizer string the archive records."
);
create_exception!(
    quire,
    DuplicateKey,
    Error,
    "Writer.add was given a key that is already in the archive (duplicates='error').\n\n\
     Attributes:\n    key: the key.\n    first: the entry number of its first occurrence."
);

/// An `OSError` for `e`, with errno and file name when known, so that Python picks the
/// subclass (`FileNotFoundError`, `PermissionError`, `IsADirectoryError`, ...).
pub fn os_error(py: Python<'_>, e: &io::Error, path: Option<&Path>) -> PyErr {
    // The file name as a str (as Python's own OSErrors give it), not a PosixPath.
    let name = |p: &Path| {
        p.as_os_str()
            .into_pyobject(py)
            .map(|s| s.into_any().unbind())
    };
    let text = e.to_string();
    match e.raw_os_error() {
        Some(code) => {
            // io::Error's Display ends with " (os error N)": Python shows errno itself.
            let strerror = text
                .strip_suffix(&format!(" (os error {code})"))
                .unwrap_or(&text)
                .to_string();
            match path.map(name) {
                Some(Ok(p)) => PyOSError::new_err((code, strerror, p)),
                _ => PyOSError::new_err((code, strerror)),
            }
        }
        None => match path {
            Some(p) => PyOSError::new_err(format!("{}: {text}", p.display())),
            None => PyOSError::new_err(text),
        },
    }
}

/// errno's EEXIST, the same number on Linux, macOS and Windows.
const EEXIST: i32 = 17;

/// errno's EISDIR (Linux, macOS).
const EISDIR: i32 = 21;

/// The [`RemoteError`] inside `e` (or inside an `io::Error` it wraps), if the error comes
/// from reading a URL.
fn remote_cause(e: &io::Error) -> Option<&RemoteError> {
    let inner = e.get_ref()?;
    if let Some(r) = inner.downcast_ref::<RemoteError>() {
        return Some(r);
    }
    if let Some(io) = inner.downcast_ref::<io::Error>() {
        return remote_cause(io);
    }
    match inner.downcast_ref::<ReadError>() {
        Some(ReadError::Io { source, .. }) => remote_cause(source),
        _ => None,
    }
}

/// Whether `e` is a failure to read a URL (the network, the server), not damage.
pub fn is_remote(e: &ReadError) -> bool {
    match e {
        ReadError::Io { source, .. } => remote_cause(source).is_some(),
        ReadError::Skipped { cause, .. } => is_remote(cause),
        _ => false,
    }
}

/// The Python exception for a failed read of a URL, with the library's one-line message
/// (`URL: what happened`) and the URL as its `url` attribute:
///
/// | kind | exception |
/// |---|---|
/// | Timeout | `TimeoutError` |
/// | Connect, Network | `ConnectionError` |
/// | Certificate | `ssl.SSLCertVerificationError` |
/// | NotFound | `FileNotFoundError` |
/// | Forbidden, NoCredentials | `PermissionError` |
/// | Changed | `quire.ArchiveChanged` |
/// | InvalidUrl | `ValueError` |
/// | any other (server errors after the retries, a range ignored, an answer cut short or malformed, TLS) | `OSError` |
fn remote_error(py: Python<'_>, r: &RemoteError) -> PyErr {
    let message = r.to_string();
    let err = match r.kind() {
        RemoteErrorKind::Timeout => PyTimeoutError::new_err(message),
        RemoteErrorKind::Connect | RemoteErrorKind::Network => PyConnectionError::new_err(message),
        RemoteErrorKind::Certificate => certificate_error(py, message),
        RemoteErrorKind::NotFound => PyFileNotFoundError::new_err(message),
        RemoteErrorKind::Forbidden | RemoteErrorKind::NoCredentials => {
            PyPermissionError::new_err(message)
        }
        RemoteErrorKind::Changed => ArchiveChanged::new_err(message),
        RemoteErrorKind::InvalidUrl => PyValueError::new_err(message),
        _ => PyOSError::new_err(message),
    };
    let url = pyo3::types::PyString::new(py, r.url()).into_any();
    with_attrs(py, err, &[("url", url)])
}

/// `ssl.SSLCertVerificationError(message)` (an `OSError`, as Python's own HTTPS clients raise
/// for a certificate they refuse), or `ConnectionError` if the `ssl` module cannot be had.
fn certificate_error(py: Python<'_>, message: String) -> PyErr {
    let class = py
        .import("ssl")
        .and_then(|m| m.getattr("SSLCertVerificationError"))
        .and_then(|c| c.cast_into::<pyo3::types::PyType>().map_err(PyErr::from));
    match class {
        // (1, message), as the ssl module makes them (1 is SSL_ERROR_SSL): with one argument
        // SSLError's str() would be the tuple.
        Ok(class) => PyErr::from_type(class, (1i32, message)),
        Err(_) => PyConnectionError::new_err(message),
    }
}

/// The Python exception for an I/O error of a read: a URL's failure (see [`remote_error`]),
/// a directory given as the archive (`IsADirectoryError`), or the operating system's error.
fn io_error(py: Python<'_>, e: &io::Error, path: Option<&Path>) -> PyErr {
    if let Some(r) = remote_cause(e) {
        return remote_error(py, r);
    }
    if let Some(p) = path.filter(|p| e.kind() == io::ErrorKind::InvalidInput && p.is_dir()) {
        let Ok(name) = p.as_os_str().into_pyobject(py);
        return PyIsADirectoryError::new_err((EISDIR, "Is a directory", name.unbind()));
    }
    os_error(py, e, path)
}

/// A Python int.
fn int(py: Python<'_>, v: u64) -> Bound<'_, PyAny> {
    let Ok(v) = v.into_pyobject(py);
    v.into_any()
}

/// Sets attributes on a freshly made exception; a failure to set them (which would mean
/// Python is out of memory) is ignored, the exception is still raised.
fn with_attrs<'py>(py: Python<'py>, err: PyErr, attrs: &[(&str, Bound<'py, PyAny>)]) -> PyErr {
    let value = err.value(py);
    for (name, v) in attrs {
        let _ = value.setattr(*name, v);
    }
    err
}

/// The Python exception for a [`ReadError`].
pub fn read_error(py: Python<'_>, e: ReadError) -> PyErr {
    let message = e.to_string();
    match e {
        ReadError::Io { path, source } => io_error(py, &source, path.as_deref()),
        ReadError::BadMagic | ReadError::Empty => NotAnArchive::new_err(message),
        // The caller's output failed: the operating system's error.
        ReadError::Output(source) => io_error(py, &source, None),
        ReadError::UnsupportedVersion { major, minor } => with_attrs(
            py,
            UnsupportedVersion::new_err(message),
            &[
                ("major", int(py, u64::from(major))),
                ("minor", int(py, u64::from(minor))),
            ],
        ),
        ReadError::UnsupportedFeatures { .. } | ReadError::BlocksOverLimit { .. } => with_attrs(
            py,
            UnsupportedVersion::new_err(message),
            &[
                ("major", py.None().into_bound(py)),
                ("minor", py.None().into_bound(py)),
            ],
        ),
        ReadError::Damaged { at, kind } => corrupt(py, message, &at.to_string(), &kind.to_string()),
        // Entries a walk lost with a page: the page's damage, with the message naming them.
        ReadError::Skipped { cause, .. } => match *cause {
            ReadError::Damaged { at, kind } => {
                corrupt(py, message, &at.to_string(), &kind.to_string())
            }
            // A page the network could not bring: the network's exception.
            c @ ReadError::Io { .. } if is_remote(&c) => read_error(py, c),
            _ => Error::new_err(message),
        },
        ReadError::EntryOutOfRange { .. } => PyIndexError::new_err(message),
        ReadError::NoTitleIndex => NoTitleIndex::new_err(message),
        ReadError::NoSearchIndex => NoSearchIndex::new_err(message),
        ReadError::UnsupportedTokenizer { tokenizer } => {
            let t = pyo3::types::PyString::new(py, &tokenizer).into_any();
            with_attrs(
                py,
                UnsupportedTokenizer::new_err(message),
                &[("tokenizer", t)],
            )
        }
        // A query over spec §15.2's limits: the caller's argument, not the archive.
        ReadError::InvalidQuery { .. } => PyValueError::new_err(message),
        _ => Error::new_err(message),
    }
}

/// A `CorruptArchive` with its `location` and `kind`.
pub fn corrupt(py: Python<'_>, message: String, location: &str, kind: &str) -> PyErr {
    let location = pyo3::types::PyString::new(py, location).into_any();
    let kind = pyo3::types::PyString::new(py, kind).into_any();
    with_attrs(
        py,
        CorruptArchive::new_err(message),
        &[("location", location), ("kind", kind)],
    )
}

/// The Python exception for a [`WriteError`] (a body reader's own Python exception is
/// raised by the caller instead, see `writer.rs`).
pub fn write_error(py: Python<'_>, e: WriteError, path: Option<&Path>) -> PyErr {
    let message = e.to_string();
    match e {
        WriteError::Io(source) => os_error(py, &source, path),
        WriteError::BodyRead { source, .. } => os_error(py, &source, None),
        WriteError::TargetExists(p) => match p.as_os_str().into_pyobject(py) {
            Ok(name) => PyFileExistsError::new_err((EEXIST, "File exists", name.unbind())),
            Err(_) => PyFileExistsError::new_err(message),
        },
        WriteError::DuplicateKey { key, first } => {
            let k = pyo3::types::PyString::new(py, &key).into_any();
            let f = int(py, first);
            with_attrs(
                py,
                DuplicateKey::new_err(message),
                &[("key", k), ("first", f)],
            )
        }
        WriteError::InvalidKey { .. }
        | WriteError::InvalidEntry { .. }
        | WriteError::InvalidOptions(_) => PyValueError::new_err(message),
        _ => Error::new_err(message),
    }
}
