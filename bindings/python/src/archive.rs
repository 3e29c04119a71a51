//! Reading: `quire.open`, `Archive`, `Entry`, the iterators, the body stream and the
//! verification report.
//!
//! Every Python object here holds an `Arc` of the Rust archive (never a borrow with a Rust
//! lifetime), so they can be passed between threads and outlive each other in any order.
//! Every lookup, decompression and check runs with the GIL released (`Python::detach`).

use std::collections::VecDeque;
use std::io::{self, Read};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError, RwLock, RwLockReadGuard};
use std::time::Duration;

use pyo3::exceptions::{PyKeyError, PyOverflowError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedStr;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyByteArray, PyBytes, PyDate, PyDict, PyList, PyMemoryView, PyString};
use quire::source::{AnySource, OpenOptions, RemoteOptions};
use quire::{BodyReader, Date, EntryInfo, ReadError, ReadResult};

use crate::errors::{is_remote, read_error};
use crate::storage::{Inner, Shared};

/// How many keys or entries an iterator reads each time it releases the GIL.
const BATCH: usize = 256;

/// Locks a mutex; a panic while it was held cannot leave our data half changed (every
/// critical section is a take, a put or a clone), so poisoning is ignored.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Read-locks an archive's slot (see [`lock`] on poisoning).
fn read<T>(m: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    m.read().unwrap_or_else(PoisonError::into_inner)
}

fn closed_archive() -> PyErr {
    PyValueError::new_err("I/O operation on a closed archive")
}

fn to_usize(n: u64) -> PyResult<usize> {
    usize::try_from(n).map_err(|_| PyOverflowError::new_err(format!("{n} does not fit in a size")))
}

/// A `datetime.date` for a quire date.
fn py_date(py: Python<'_>, d: Option<Date>) -> PyResult<Option<Bound<'_, PyDate>>> {
    d.map(|d| PyDate::new(py, i32::from(d.year()), d.month(), d.day()))
        .transpose()
}

/// A `dict` of string pairs (the first of a name wins, as everywhere in quire).
fn py_dict<'py>(py: Python<'py>, pairs: &[(String, String)]) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (n, v) in pairs {
        if !d.contains(n)? {
            d.set_item(n, v)?;
        }
    }
    Ok(d)
}

/// A duration in seconds from Python (`float` or `int`): finite and positive.
fn seconds(name: &str, v: Option<f64>) -> PyResult<Option<Duration>> {
    v.map(|s| {
        Duration::try_from_secs_f64(s)
            .ok()
            .filter(|d| !d.is_zero())
            .ok_or_else(|| {
                PyValueError::new_err(format!(
                    "quire.open: {name} must be a positive number of seconds, not {s}"
                ))
            })
    })
    .transpose()
}

/// A count from Python that must be at least `min`.
fn count(name: &str, v: Option<i64>, min: i64) -> PyResult<Option<usize>> {
    v.map(|n| {
        if n < min {
            return Err(PyValueError::new_err(format!(
                "quire.open: {name} must be at least {min}, not {n}"
            )));
        }
        to_usize(n.unsigned_abs())
    })
    .transpose()
}

/// How `quire.open` reads a URL: the library's defaults, overridden by what was given.
fn remote_options(
    timeout: Option<f64>,
    connect_timeout: Option<f64>,
    retries: Option<i64>,
    cache_bytes: Option<i64>,
    parallel: Option<i64>,
) -> PyResult<RemoteOptions> {
    let mut o = RemoteOptions::new();
    if let Some(d) = seconds("timeout", timeout)? {
        o = o.request_timeout(d);
    }
    if let Some(d) = seconds("connect_timeout", connect_timeout)? {
        o = o.connect_timeout(d);
    }
    if let Some(n) = count("retries", retries, 0)? {
        o = o.retries(n);
    }
    if let Some(n) = count("cache_bytes", cache_bytes, 0)? {
        o = o.cache_bytes(n);
    }
    if let Some(n) = count("parallel", parallel, 1)? {
        o = o.parallelism(n);
    }
    Ok(o)
}

/// Opens a quire archive and returns an :class:`Archive`.
///
/// ``source`` is one of:
///
/// - a path (``str`` or ``os.PathLike``);
/// - a URL (a ``str``): ``http://``, ``https://`` or ``s3://BUCKET/KEY``, read with range
///   requests. Opening is one request (the first 16 KiB); afterwards each lookup fetches
///   the index pages and blocks it needs (the dictionary with the first block that needs
///   it), and keeps what it fetched in a cache of ``cache_bytes``. An ``https://`` server's
///   certificate is checked against the system's roots, or the file ``SSL_CERT_FILE``
///   names. ``s3://`` takes its credentials, region and endpoint from the ``AWS_*``
///   environment variables (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``,
///   ``AWS_REGION``, ``AWS_ENDPOINT_URL``, ``AWS_ALLOW_HTTP``, ...). Every range read after
///   the open carries the version seen at open (ETag), so an archive replaced on the server
///   raises :class:`ArchiveChanged` rather than mixing two versions;
/// - the archive's bytes (``bytes``, ``bytearray``, ``memoryview``; copied, so the object
///   may change afterwards).
///
/// Opening checks the header and the section table: constant work whatever the archive's
/// size. It runs with the GIL released.
///
/// How URLs are read (``None`` keeps the default): ``timeout``, the longest one request
/// may take from sending it to the last byte of its answer, in seconds (default 30);
/// ``connect_timeout``, the longest a connection may take to establish (default 10);
/// ``retries``, how many times a request is tried again after a server error (5xx), a
/// dropped connection or a timeout, with backoff (default 3, ``0`` never); ``cache_bytes``,
/// the most bytes of fetched ranges kept (default 64 MiB); ``parallel``, the most requests
/// in flight at once (default 32), for :meth:`Archive.get_many` and :meth:`Archive.verify`.
/// These are checked (``ValueError`` for a timeout that is not a positive number, a
/// negative count, or ``parallel`` below 1) and then ignored for a path or bytes, so a
/// program can pass the same settings whatever its user gives it. ``mmap`` is ignored for
/// URLs and bytes.
///
/// A path is memory-mapped (``mmap=True``, the default): pages are read from disk as
/// lookups touch them, and many processes share them. **The contract of a memory map**,
/// the same as the Rust ``Archive::open``'s: the file must not be modified or truncated,
/// by this process or another, while the archive (or an entry, iterator or body reader
/// from it) is alive. A mapped file that changes underneath gives wrong bytes, and a
/// truncated one kills the process with ``SIGBUS`` when a missing page is touched -- not
/// an exception. Archives written by :class:`Writer`, :func:`pack` or ``quire pack`` are
/// replaced by a rename, never rewritten in place, which keeps the contract: the map keeps
/// the old file. When it cannot be kept, pass ``mmap=False``: the file is then read with
/// positioned reads through its open descriptor, so a file replaced by a rename is still
/// read whole from the old version, and one changed or truncated in place raises
/// :class:`CorruptArchive` or ``OSError`` (every byte read is checked) instead of
/// crashing.
///
/// Raises ``OSError`` (``FileNotFoundError``, ``IsADirectoryError``, ...) when the file
/// cannot be read, :class:`NotAnArchive`, :class:`UnsupportedVersion` or
/// :class:`CorruptArchive`. For a URL, the exception says the URL and what went wrong on
/// one line, and carries the URL as its ``url`` attribute: ``TimeoutError`` (no complete
/// answer within ``timeout`` or ``connect_timeout``, after the retries),
/// ``ConnectionError`` (no connection, or it broke), ``ssl.SSLCertVerificationError`` (the
/// server's certificate is not trusted: see ``SSL_CERT_FILE``; never retried),
/// ``FileNotFoundError`` (404), ``PermissionError`` (401, 403, or ``s3://`` with no
/// credentials), :class:`ArchiveChanged`, ``ValueError`` (a malformed URL) and ``OSError``
/// for anything else (a server that kept failing through the retries, that ignores ranges
/// or cuts answers short). The same exceptions come from any later read of the archive.
/// An archive opened from a URL cannot be read in a child made by ``os.fork()`` (its
/// connections belong to the parent): reading it there raises ``OSError``; open the URL
/// again in the child, which works.
#[pyfunction]
#[pyo3(signature = (
    source,
    *,
    mmap = true,
    timeout = None,
    connect_timeout = None,
    retries = None,
    cache_bytes = None,
    parallel = None
))]
#[allow(clippy::too_many_arguments)] // Python keyword arguments
pub fn open(
    py: Python<'_>,
    source: &Bound<'_, PyAny>,
    mmap: bool,
    timeout: Option<f64>,
    connect_timeout: Option<f64>,
    retries: Option<i64>,
    cache_bytes: Option<i64>,
    parallel: Option<i64>,
) -> PyResult<Archive> {
    let remote = remote_options(timeout, connect_timeout, retries, cache_bytes, parallel)?;
    let owned = if let Ok(b) = source.cast::<PyBytes>() {
        Some(b.as_bytes().to_vec())
    } else if source.is_instance_of::<PyByteArray>() || source.is_instance_of::<PyMemoryView>() {
        let b = py.get_type::<PyBytes>().call1((source,))?;
        Some(b.cast::<PyBytes>()?.as_bytes().to_vec())
    } else {
        None
    };
    if let Some(bytes) = owned {
        let name = format!("<{} bytes>", bytes.len());
        let inner = py
            .detach(|| Inner::open_source(AnySource::Memory(bytes), &OpenOptions::new()))
            .map_err(|e| read_error(py, e))?;
        return Ok(Archive::new(inner, name));
    }
    let location: PathBuf = source.extract().map_err(|_| {
        PyTypeError::new_err(format!(
            "quire.open() takes a path (str or os.PathLike), a URL (str) or bytes, not {}",
            source
                .get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_else(|_| "this".into())
        ))
    })?;
    let is_url = location.to_str().is_some_and(quire::source::is_url);
    // SAFETY: with `mmap` the file is memory-mapped, and the contract of a map is that
    // the file is not modified or truncated while the map (here: the returned archive and
    // every object sharing it) is alive. Nothing in this process can check that, so the
    // contract is passed on to the Python caller: `quire.open`'s docstring states it word
    // for word and offers `mmap=False` (positioned reads) for files that may change.
    #[allow(unsafe_code)]
    let local = unsafe { OpenOptions::new().memory_map(mmap) };
    let options = if is_url {
        OpenOptions::new().remote(remote)
    } else {
        local
    };
    let name = location.display().to_string();
    let inner = py
        .detach(|| Inner::open_any(&location, &options))
        .map_err(|e| read_error(py, e))?;
    Ok(Archive::new(inner, name))
}

/// An open quire archive, from :func:`open`.
///
/// A read-only mapping from keys (``str``) to bodies (``bytes``): ``len(a)``, ``a[key]``,
/// ``a.get(key)``, ``key in a``, ``for key in a`` (key order), plus :meth:`get_many` for
/// many keys at once (fetched together over a URL), :meth:`entry` for titles, dates and
/// metadata, :meth:`prefix` for listing under a prefix, :meth:`suggest` for title
/// suggestions, :meth:`search` for full-text search, :meth:`open_body` to stream a large body and :meth:`verify` to check every
/// byte.
///
/// Thread-safe: any number of threads may read one ``Archive`` at once, and every lookup
/// and decompression (and, for a URL, every fetch) runs without the GIL. As a context
/// manager it closes on exit; entries, iterators and body readers taken from it keep the
/// bytes (or the connection) alive until they go too.
#[pyclass(frozen, module = "quire", name = "Archive")]
pub struct Archive {
    /// `None` once closed. Lookups hold the read lock while they run; `close` takes the
    /// write lock, so it waits for them. The lock is only ever taken with the GIL released,
    /// so a thread waiting for it never holds the GIL that another needs to go on.
    inner: RwLock<Option<Shared>>,
    name: String,
}

impl Archive {
    fn new(inner: Inner, name: String) -> Self {
        Archive {
            inner: RwLock::new(Some(Arc::new(inner))),
            name,
        }
    }

    /// The shared archive, or `ValueError` once closed.
    fn shared(&self, py: Python<'_>) -> PyResult<Shared> {
        self.with_archive(py, Arc::clone)
    }

    /// Runs `f` on the archive with the GIL released, or raises `ValueError` once closed.
    /// Everything that touches the lock (shared with the other threads' lookups) happens
    /// without the GIL too, so the GIL is held only to convert arguments and results.
    fn with_archive<T: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&Shared) -> T + Send,
    ) -> PyResult<T> {
        py.detach(|| read(&self.inner).as_ref().map(f))
            .ok_or_else(closed_archive)
    }
}

/// Entries a sorted walk lost and went on after: a page that could not be read.
fn is_lost(e: &quire::ReadError) -> bool {
    matches!(e, quire::ReadError::Skipped { .. })
}

/// What a walk passed over, for Python.
struct Skip {
    first: Option<u64>,
    count: u64,
    from: Option<String>,
    to: Option<String>,
    code: &'static str,
    message: String,
}

impl Skip {
    fn of(e: &quire::ReadError) -> Skip {
        let (first, count, from, to) = match e {
            quire::ReadError::Skipped {
                first,
                count,
                from,
                to,
                ..
            } => (Some(*first), *count, from.clone(), to.clone()),
            other => {
                let first = match other.location() {
                    Some(quire::Location::Entry(i)) => Some(i),
                    _ => None,
                };
                (first, 1, None, None)
            }
        };
        Skip {
            first,
            count,
            from,
            to,
            code: e.code(),
            message: e.to_string(),
        }
    }
}

/// A Python binary file object as an `io::Write`, in pieces of at most 64 KiB; each write
/// of a piece takes the GIL. A Python exception is kept, to be raised in place of the I/O
/// error that stops the writer.
struct PyWriter {
    file: Py<PyAny>,
    buf: Vec<u8>,
    error: Option<PyErr>,
}

impl PyWriter {
    const PIECE: usize = 64 << 10;

    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let r = Python::attach(|py| -> PyResult<()> {
            let mut rest = &self.buf[..];
            while !rest.is_empty() {
                let n = self
                    .file
                    .bind(py)
                    .call_method1("write", (PyBytes::new(py, rest),))?;
                // A raw file may write less than it was given (and says how much); None
                // (a non-blocking file that would block) is taken as all of it.
                let n = if n.is_none() {
                    rest.len()
                } else {
                    n.extract::<usize>()?
                };
                if n == 0 {
                    return Err(pyo3::exceptions::PyOSError::new_err(
                        "the file's write() wrote nothing",
                    ));
                }
                rest = rest.get(n..).unwrap_or_default();
            }
            Ok(())
        });
        self.buf.clear();
        r.map_err(|e| {
            self.error = Some(e);
            io::Error::other("the file's write() raised an exception")
        })
    }
}

impl io::Write for PyWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.error.is_some() {
            return Err(io::Error::other("the file's write() raised an exception"));
        }
        let room = Self::PIECE - self.buf.len();
        let take = data.len().min(room);
        self.buf.extend_from_slice(&data[..take]);
        if self.buf.len() >= Self::PIECE {
            self.send()?;
        }
        Ok(take)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}

/// Looks `key` up and reads its body.
fn body_of(a: &Inner, key: &str) -> ReadResult<Option<Vec<u8>>> {
    a.get(key)?.map(|e| e.body()).transpose()
}

#[pymethods]
impl Archive {
    /// The number of entries.
    fn __len__(&self, py: Python<'_>) -> PyResult<usize> {
        to_usize(self.with_archive(py, |a| a.len())?)
    }

    /// The body of ``key`` as ``bytes``; ``KeyError`` when the archive has no such key.
    fn __getitem__<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let Ok(k) = key.extract::<PyBackedStr>() else {
            self.shared(py)?;
            return Err(PyKeyError::new_err(key.clone().unbind()));
        };
        match self.with_archive(py, |a| body_of(a, &k))? {
            Ok(Some(body)) => Ok(PyBytes::new(py, &body)),
            Ok(None) => Err(PyKeyError::new_err(key.clone().unbind())),
            Err(e) => Err(read_error(py, e)),
        }
    }

    /// The body of ``key`` as ``bytes``, or ``default`` when there is no such key.
    #[pyo3(signature = (key, default = None))]
    fn get<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
        default: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let default = || default.unwrap_or_else(|| py.None().into_bound(py));
        let Ok(k) = key.extract::<PyBackedStr>() else {
            self.shared(py)?;
            return Ok(default());
        };
        match self.with_archive(py, |a| body_of(a, &k))? {
            Ok(Some(body)) => Ok(PyBytes::new(py, &body).into_any()),
            Ok(None) => Ok(default()),
            Err(e) => Err(read_error(py, e)),
        }
    }

    /// The bodies of many keys at once, as a list in the order of ``keys`` (an iterable
    /// of ``str``): ``bytes``, or ``None`` for a key the archive does not have.
    ///
    /// Locally this is a loop of :meth:`get`. Over a URL the keys' index pages are fetched
    /// together (one round of requests per level of the index), then their blocks, with up
    /// to ``parallel`` requests in flight (see :func:`open`): a few round trips for the whole
    /// list instead of a few per key. The GIL is released for the whole fetch and read.
    ///
    /// The first key (in argument order) whose entry cannot be read raises, as
    /// ``a[key]`` would: :class:`CorruptArchive`, or for a URL ``TimeoutError``,
    /// ``ConnectionError``, :class:`ArchiveChanged`, ``OSError``, ... A key that is not a
    /// ``str`` raises ``TypeError``.
    fn get_many<'py>(
        &self,
        py: Python<'py>,
        keys: &Bound<'py, PyAny>,
    ) -> PyResult<Vec<Option<Bound<'py, PyBytes>>>> {
        if keys.is_instance_of::<PyString>() {
            return Err(PyTypeError::new_err(
                "get_many() takes an iterable of keys, not one str",
            ));
        }
        let mut wanted: Vec<PyBackedStr> = Vec::new();
        for key in keys.try_iter()? {
            let key = key?;
            wanted.push(key.extract().map_err(|_| {
                PyTypeError::new_err(format!(
                    "get_many(): keys are str, not {}",
                    key.get_type()
                        .name()
                        .map(|n| n.to_string())
                        .unwrap_or_else(|_| "this".into())
                ))
            })?);
        }
        let bodies = self.with_archive(py, |a| -> ReadResult<Vec<Option<Vec<u8>>>> {
            let keys: Vec<&str> = wanted.iter().map(|k| &**k).collect();
            let mut out = Vec::with_capacity(keys.len());
            // Every fetch was started by get_many; each body read joins its block's fetch.
            for found in a.get_many(&keys) {
                out.push(found?.map(|e| e.body()).transpose()?);
            }
            Ok(out)
        })?;
        match bodies {
            Ok(bodies) => Ok(bodies
                .into_iter()
                .map(|b| b.map(|b| PyBytes::new(py, &b)))
                .collect()),
            Err(e) => Err(read_error(py, e)),
        }
    }

    /// Whether the archive has an entry with this key (one index lookup, no decompression).
    fn __contains__(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<bool> {
        let Ok(k) = key.extract::<PyBackedStr>() else {
            self.shared(py)?;
            return Ok(false);
        };
        self.with_archive(py, |a| a.get(&k).map(|e| e.is_some()))?
            .map_err(|e| read_error(py, e))
    }

    /// Iterates over the keys in key order (byte-wise order of their UTF-8), which is entry
    /// order.
    fn __iter__(&self, py: Python<'_>) -> PyResult<KeyIterator> {
        self.keys(py)
    }

    /// The keys in key order (entry order), as an iterator.
    fn keys(&self, py: Python<'_>) -> PyResult<KeyIterator> {
        let a = self.shared(py)?;
        Ok(KeyIterator(Cursor::new(a)))
    }

    /// The entries in key order (entry order), as an iterator of :class:`Entry`.
    fn entries(&self, py: Python<'_>) -> PyResult<EntryIterator> {
        let a = self.shared(py)?;
        Ok(EntryIterator(Cursor::new(a)))
    }

    /// The keys that start with ``prefix``, as a sorted list (byte-wise order of their
    /// UTF-8): one descent of the archive's index, then a walk forward. ``prefix("")``
    /// lists every key.
    ///
    /// Damage raises :class:`CorruptArchive`, unless ``lost`` is a list: then each part of
    /// the index or entry that cannot be read is appended to it as a dict (``first`` and
    /// ``count`` of the entries lost, ``from_key`` and ``to_key`` bounding their keys where
    /// the index tells, ``code`` and ``message``), and the walk goes on past it. An index
    /// that is not a tree still raises, after the walk reached it.
    #[pyo3(signature = (prefix, lost=None))]
    fn prefix(
        &self,
        py: Python<'_>,
        prefix: PyBackedStr,
        lost: Option<Bound<'_, PyList>>,
    ) -> PyResult<Vec<String>> {
        let go_on = lost.is_some();
        let (keys, skipped, fatal) = self.with_archive(py, |a| {
            let (mut keys, mut skipped, mut fatal) = (Vec::new(), Vec::new(), None);
            for item in a.prefix(&prefix) {
                match item {
                    Ok(e) => keys.push(e.key().to_string()),
                    // A lost page, or one damaged entry: recorded, and the walk goes on. A
                    // node out of place (not a tree) is not passed over, nor is a failure of
                    // the network (a timeout, a server error, a changed archive).
                    Err(e)
                        if go_on
                            && !is_remote(&e)
                            && (is_lost(&e) || e.code() != "damaged_node") =>
                    {
                        skipped.push(Skip::of(&e));
                    }
                    Err(e) => {
                        fatal = Some(e);
                        break;
                    }
                }
            }
            (keys, skipped, fatal)
        })?;
        if let Some(list) = lost {
            for s in skipped {
                let d = PyDict::new(py);
                d.set_item("first", s.first)?;
                d.set_item("count", s.count)?;
                d.set_item("from_key", s.from)?;
                d.set_item("to_key", s.to)?;
                d.set_item("code", s.code)?;
                d.set_item("message", s.message)?;
                list.append(d)?;
            }
        }
        match fatal {
            Some(e) => Err(read_error(py, e)),
            None => Ok(keys),
        }
    }

    /// Title suggestions for what a reader typed: the entries whose title (or key, for an
    /// entry without a title), folded, starts with ``text`` folded, or has a word that does.
    /// Folding ignores case, diacritics and width (Unicode 16.0, spec §14.1), so ``"zurich"``
    /// finds ``"Zürich"`` and ``"ZÜRICH"``.
    ///
    /// Returns a list of :class:`Suggestion` (``key``, ``title``, ``kind``), best first:
    /// matches at the start of the title (``kind == "title"``) before matches at the start of
    /// a later word (``"word"``), then shorter titles, then by folded title and key; each
    /// entry once. At most ``limit`` of them (default 10; ``None`` for all; ``0`` for
    /// none). ``""`` matches every entry (at the title start).
    ///
    /// Reads only the archive's title index (never a data block), with the GIL released:
    /// over a URL the first suggestion fetches the index's root (a small index whole), then
    /// a page or two each. Raises :class:`NoTitleIndex` when the archive has none
    /// (:attr:`has_title_index`), :class:`CorruptArchive` for a damaged one, ``ValueError``
    /// for a negative ``limit``, and for a URL the network's exceptions (see :func:`open`).
    #[pyo3(signature = (text, limit = Some(10)), text_signature = "($self, text, limit=10)")]
    fn suggest(
        &self,
        py: Python<'_>,
        text: PyBackedStr,
        limit: Option<i64>,
    ) -> PyResult<Vec<Suggestion>> {
        let limit = match limit {
            Some(n) if n < 0 => {
                return Err(PyValueError::new_err(format!(
                    "suggest(): limit must be at least 0 (or None for all), not {n}"
                )))
            }
            Some(n) => Some(to_usize(n.unsigned_abs())?),
            None => None,
        };
        let found = self
            .with_archive(py, |a| a.suggest(&text, limit))?
            .map_err(|e| read_error(py, e))?;
        Ok(found.into_iter().map(Suggestion::from).collect())
    }

    /// Whether the archive has a title index (``True`` unless it was packed with
    /// ``index="none"``), which :meth:`suggest` needs. Reads nothing.
    #[getter]
    fn has_title_index(&self, py: Python<'_>) -> PyResult<bool> {
        self.with_archive(py, |a| a.has_title_index())
    }

    /// Full-text search (spec §15): the entries whose text holds every word of ``query``
    /// (and each ``"quoted phrase"`` word for word), ranked by BM25 (best first; equal
    /// scores by key). Words are analysed as the archive's text was, in its language
    /// (``language`` metadata): stemmed where the language has a stemmer, so ``"running"``
    /// finds ``"run"``; case and diacritics folded; Chinese segmented.
    ///
    /// Returns a list of :class:`SearchResult` (``key``, ``title``, ``score``, ``snippet``
    /// with ``highlights``), at most ``limit`` of them (default 10; at most 10,000 are
    /// returned whatever the limit; ``0`` gives none). A query without a word gives none.
    /// The results are those of ``quire search ARCHIVE QUERY --limit N``.
    ///
    /// Runs with the GIL released. Reads the full-text index (its root, a term page per
    /// word, the lists of common words, norms, document pages), then each result's entry
    /// for its snippet; over a URL these reads are asked for together, a few rounds of
    /// requests per query. Raises :class:`NoSearchIndex` when the archive has no full-text
    /// index (:attr:`has_search_index`), :class:`UnsupportedTokenizer` when it was made by a
    /// tokenizer this build does not implement, :class:`CorruptArchive` for a damaged one,
    /// ``ValueError`` for a negative ``limit`` or a query over spec §15.2's limits (4096
    /// bytes, 64 distinct words), and for a URL the network's exceptions (see :func:`open`).
    #[pyo3(signature = (query, limit = 10), text_signature = "($self, query, limit=10)")]
    fn search(
        &self,
        py: Python<'_>,
        query: PyBackedStr,
        limit: i64,
    ) -> PyResult<Vec<SearchResult>> {
        if limit < 0 {
            return Err(PyValueError::new_err(format!(
                "search(): limit must be at least 0, not {limit}"
            )));
        }
        // Past usize (32-bit) the library's own cap of 10,000 applies anyway.
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let found = self
            .with_archive(py, |a| a.search(&query, limit))?
            .map_err(|e| read_error(py, e))?;
        Ok(found.into_iter().map(SearchResult::from).collect())
    }

    /// Whether the archive has a full-text index (``True`` when it was packed with
    /// ``index="full"`` or ``quire pack --index full``), which :meth:`search` needs. Reads
    /// nothing.
    #[getter]
    fn has_search_index(&self, py: Python<'_>) -> PyResult<bool> {
        self.with_archive(py, |a| a.has_search_index())
    }

    /// The tokenizer string of the archive's full-text index (``str``, spec §15.1: which
    /// tokenizer, and which version, made its terms, e.g. ``"quire-text/1 lang=eng
    /// stem=snowball-english cjk=bigram"``), or ``None`` when the archive has no full-text
    /// index. Reads the index's header and root (once); :class:`CorruptArchive` when they
    /// are damaged.
    #[getter]
    fn search_tokenizer(&self, py: Python<'_>) -> PyResult<Option<String>> {
        match self.with_archive(py, |a| a.search_tokenizer())? {
            Ok(t) => Ok(Some(t)),
            Err(ReadError::NoSearchIndex) => Ok(None),
            Err(e) => Err(read_error(py, e)),
        }
    }

    /// The postings of one term of the full-text index (spec §15.5): a list of
    /// ``(entry_number, term_frequency)`` in entry order (:meth:`entry_at` opens an entry
    /// by its number), or ``None`` when the index does not hold the term. The term is looked up as given, already analysed (lower case, stemmed: the
    /// index holds ``"run"``, not ``"Running"``); this needs no tokenizer, so it works on
    /// an index whose tokenizer is unsupported. Raises :class:`NoSearchIndex` and
    /// :class:`CorruptArchive` as :meth:`search` does.
    fn search_postings(
        &self,
        py: Python<'_>,
        term: PyBackedStr,
    ) -> PyResult<Option<Vec<(u64, u32)>>> {
        self.with_archive(py, |a| a.search_postings(&term))?
            .map_err(|e| read_error(py, e))
    }

    /// The :class:`Entry` for ``key``; ``KeyError`` when there is none.
    fn entry(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<Entry> {
        let Ok(k) = key.extract::<PyBackedStr>() else {
            self.shared(py)?;
            return Err(PyKeyError::new_err(key.clone().unbind()));
        };
        match self.with_archive(py, |a| a.get(&k).map(|e| e.map(|e| Entry::of(a, &e))))? {
            Ok(Some(e)) => Ok(e),
            Ok(None) => Err(PyKeyError::new_err(key.clone().unbind())),
            Err(e) => Err(read_error(py, e)),
        }
    }

    /// The :class:`Entry` numbered ``index`` (entries are numbered from 0 in key order);
    /// ``IndexError`` past the end. Negative numbers count from the end.
    fn entry_at(&self, py: Python<'_>, index: i64) -> PyResult<Entry> {
        let a = self.shared(py)?;
        let len = a.len();
        let i = if index < 0 {
            len.checked_sub(index.unsigned_abs())
        } else {
            Some(index.unsigned_abs())
        };
        let Some(i) = i.filter(|i| *i < len) else {
            return Err(pyo3::exceptions::PyIndexError::new_err(format!(
                "entry {index} out of range (archive has {len} entries)"
            )));
        };
        self.with_archive(py, |a| a.get_by_index(i).map(|e| Entry::of(a, &e)))?
            .map_err(|e| read_error(py, e))
    }

    /// A binary file-like reader over the body of ``key`` (an ``io.RawIOBase``): it holds
    /// one block of the body in memory at a time, whatever the body's size. ``KeyError``
    /// when there is no such key.
    fn open_body<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let entry = self.entry(py, key)?;
        entry.open_body(py)
    }

    /// Writes the archive in the JSON Lines form of ``quire unpack --jsonl`` (spec §9) to
    /// ``file``, a binary file object: the ``{"archive": {...}}`` line, then one line per
    /// entry in key order; the same bytes as ``quire unpack --jsonl``, which
    /// :func:`quire.pack` reads back. Bodies are streamed block by block, without the GIL;
    /// ``file.write`` is called with pieces of at most 64 KiB. Returns the number of entries
    /// written. A damaged entry raises :class:`CorruptArchive` (the lines before it are
    /// written).
    fn write_jsonl(&self, py: Python<'_>, file: &Bound<'_, PyAny>) -> PyResult<u64> {
        let a = self.shared(py)?;
        let mut out = PyWriter {
            file: file.clone().unbind(),
            buf: Vec::new(),
            error: None,
        };
        let r = py.detach(|| -> ReadResult<u64> {
            let head = quire::jsonl::archive_line(a.metadata());
            io::Write::write_all(&mut out, head.as_bytes())?;
            io::Write::write_all(&mut out, b"\n")?;
            let mut n = 0;
            for e in a.prefix("") {
                match quire::jsonl::write_entry_line(&e?, &mut out) {
                    Ok(()) => n += 1,
                    Err(quire::jsonl::WriteLineError::Io(io)) => return Err(io.into()),
                    Err(
                        quire::jsonl::WriteLineError::Unreadable(e)
                        | quire::jsonl::WriteLineError::Read(e),
                    ) => return Err(e),
                    Err(other) => return Err(io::Error::other(other.to_string()).into()),
                }
            }
            io::Write::flush(&mut out)?;
            Ok(n)
        });
        if let Some(e) = out.error.take() {
            return Err(e);
        }
        r.map_err(|e| read_error(py, e))
    }

    /// Checks every checksum and every record and decompresses every block, and returns
    /// a :class:`VerifyReport` of all the damage found (``report.ok`` when there is none).
    /// Reads the whole archive, without the GIL; over a URL, each byte once, with up to
    /// ``parallel`` requests in flight. A failure of the network or the server is not
    /// damage: it stops the check, and ``report.interrupted`` says why.
    fn verify(&self, py: Python<'_>) -> PyResult<VerifyReport> {
        let report = self.with_archive(py, |a| a.verify())?;
        Ok(VerifyReport::from(&report))
    }

    /// Archive metadata (``title``, ``description``, ``creator``, ``source``, ``created``,
    /// ``tool``, ...) as a ``dict``.
    #[getter]
    fn metadata<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        py_dict(py, self.shared(py)?.metadata())
    }

    /// Whether :meth:`close` was called.
    #[getter]
    fn closed(&self, py: Python<'_>) -> bool {
        py.detach(|| read(&self.inner).is_none())
    }

    /// Closes the archive: later calls raise ``ValueError``. The memory map (or the bytes)
    /// is released once entries, iterators and body readers taken from the archive are
    /// gone too. Closing twice is allowed.
    fn close(&self, py: Python<'_>) {
        // Waits for lookups in other threads to end, and unmaps (which can take a while
        // for a large map), without the GIL.
        py.detach(|| {
            let taken = self
                .inner
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .take();
            drop(taken);
        });
    }

    /// Returns the archive itself.
    fn __enter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    /// Closes the archive; exceptions propagate.
    #[pyo3(signature = (*_args))]
    fn __exit__(&self, py: Python<'_>, _args: &Bound<'_, pyo3::types::PyTuple>) -> bool {
        self.close(py);
        false
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        match py.detach(|| read(&self.inner).as_ref().map(|a| a.len())) {
            Some(n) => format!("<quire.Archive {:?}, {n} entries>", self.name),
            None => format!("<quire.Archive {:?}, closed>", self.name),
        }
    }
}

/// One entry of an archive, from :meth:`Archive.entry`, :meth:`Archive.entry_at` or
/// :meth:`Archive.entries`.
///
/// ``key``, ``index``, ``date``, ``content_type`` and ``size`` come from the entry's
/// record. ``title`` and ``metadata`` are stored with the body, compressed: the first
/// access to either decompresses the block the body starts in, and both are kept. ``body``
/// reads the body each time it is accessed (and keeps the title and metadata on the way).
#[pyclass(frozen, module = "quire", name = "Entry")]
pub struct Entry {
    archive: Shared,
    index: u64,
    key: String,
    date: Option<Date>,
    content_type: String,
    size: u64,
    info: OnceLock<EntryInfo>,
}

impl Entry {
    fn of(archive: &Shared, e: &quire::Entry<'_>) -> Entry {
        Entry {
            archive: Arc::clone(archive),
            index: e.index(),
            key: e.key().to_string(),
            date: e.date(),
            content_type: e.content_type().to_string(),
            size: e.body_len(),
            info: OnceLock::new(),
        }
    }

    /// The title and metadata, read once.
    fn info(&self, py: Python<'_>) -> PyResult<&EntryInfo> {
        if let Some(info) = self.info.get() {
            return Ok(info);
        }
        let info = py
            .detach(|| -> ReadResult<EntryInfo> {
                Ok(self.archive.get_by_index(self.index)?.info()?.clone())
            })
            .map_err(|e| read_error(py, e))?;
        Ok(self.info.get_or_init(|| info))
    }
}

#[pymethods]
impl Entry {
    /// The key (``str``).
    #[getter]
    fn key(&self) -> &str {
        &self.key
    }

    /// The entry number (``int``): its position in key order.
    #[getter]
    fn index(&self) -> u64 {
        self.index
    }

    /// The title (``str``), or ``None``.
    #[getter]
    fn title(&self, py: Python<'_>) -> PyResult<Option<String>> {
        Ok(self.info(py)?.title.clone())
    }

    /// The date (``datetime.date``), or ``None``.
    #[getter]
    fn date<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDate>>> {
        py_date(py, self.date)
    }

    /// The content type (``str``), e.g. ``'text/plain; charset=utf-8'``.
    #[getter]
    fn content_type(&self) -> &str {
        &self.content_type
    }

    /// The entry's metadata as a ``dict`` of ``str`` to ``str``.
    #[getter]
    fn metadata<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let info = self.info(py)?;
        py_dict(py, &info.metadata)
    }

    /// The body's length in bytes, without reading it.
    #[getter]
    fn size(&self) -> u64 {
        self.size
    }

    /// The body (``bytes``), read and checked on each access.
    #[getter]
    fn body<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let doc = py
            .detach(|| self.archive.get_by_index(self.index)?.document())
            .map_err(|e| read_error(py, e))?;
        let body = PyBytes::new(py, &doc.body);
        let _ = self.info.set(EntryInfo {
            title: doc.title,
            metadata: doc.metadata,
        });
        Ok(body)
    }

    /// A binary file-like reader over the body (see :meth:`Archive.open_body`).
    fn open_body<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let index = self.index;
        let cell = py
            .detach(|| {
                ReaderCell::try_new(Arc::clone(&self.archive), |a| {
                    a.get_by_index(index).map(|e| e.reader())
                })
            })
            .map_err(|e| read_error(py, e))?;
        let stream = BodyStream {
            cell: Mutex::new(Some(cell)),
            key: self.key.clone(),
            size: self.size,
        };
        static BODY_READER: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
        let class = BODY_READER.get_or_try_init(py, || -> PyResult<Py<PyAny>> {
            Ok(py.import("quire._io")?.getattr("BodyReader")?.unbind())
        })?;
        class.bind(py).call1((Bound::new(py, stream)?,))
    }

    /// The entry as its line of ``quire unpack --jsonl`` (spec §9), without the newline: a
    /// ``str`` that :func:`quire.pack` (and ``quire pack``) read back to the same entry.
    /// Written by the library's JSONL codec, the one the command-line tool uses; reads the
    /// body whole.
    fn to_jsonl(&self, py: Python<'_>) -> PyResult<String> {
        py.detach(|| -> ReadResult<String> {
            quire::jsonl::entry_line(&self.archive.get_by_index(self.index)?)
        })
        .map_err(|e| read_error(py, e))
    }

    fn __repr__(&self) -> String {
        format!(
            "<quire.Entry {:?}, index {}, {} bytes>",
            self.key, self.index, self.size
        )
    }
}

/// A walk over entry numbers that reads a batch of entries each time it releases the GIL,
/// and reports a damaged entry in its place (iteration can go on past it).
struct Cursor<T> {
    archive: Shared,
    next: u64,
    end: u64,
    buf: VecDeque<T>,
    pending: Option<ReadError>,
}

impl<T: Send> Cursor<T> {
    fn new(archive: Shared) -> Self {
        let end = archive.len();
        Cursor {
            archive,
            next: 0,
            end,
            buf: VecDeque::new(),
            pending: None,
        }
    }

    /// The next item, made by `f` from the next entry; `None` at the end. A damaged entry
    /// ends a batch and is raised once the items before it have been taken.
    fn next(
        &mut self,
        py: Python<'_>,
        f: impl Fn(&Shared, &quire::Entry<'_>) -> T + Send + Sync,
    ) -> PyResult<Option<T>> {
        if let Some(item) = self.buf.pop_front() {
            return Ok(Some(item));
        }
        if let Some(e) = self.pending.take() {
            return Err(read_error(py, e));
        }
        if self.next >= self.end {
            return Ok(None);
        }
        let (archive, start, end) = (&self.archive, self.next, self.end);
        let (items, next, err) = py.detach(|| {
            let mut items = VecDeque::new();
            // Entries decodes a restart group of a page at a time; nth seeks to `start`.
            let mut entries = archive.iter();
            let mut r = entries.nth(usize::try_from(start).unwrap_or(usize::MAX));
            let mut i = start;
            while let Some(entry) = r {
                i += 1;
                match entry {
                    Ok(e) => items.push_back(f(archive, &e)),
                    Err(e) => return (items, i, Some(e)),
                }
                if i >= end || items.len() >= BATCH {
                    break;
                }
                r = entries.next();
            }
            (items, i, None)
        });
        self.next = next;
        self.buf = items;
        self.pending = err;
        match self.buf.pop_front() {
            Some(item) => Ok(Some(item)),
            None => match self.pending.take() {
                Some(e) => Err(read_error(py, e)),
                None => Ok(None),
            },
        }
    }
}

/// An iterator over an archive's keys in key order, from ``iter(archive)`` or
/// :meth:`Archive.keys`. It reads keys in batches without the GIL; a damaged entry raises
/// :class:`CorruptArchive` in its place, and iteration may go on after it.
#[pyclass(module = "quire", name = "KeyIterator")]
pub struct KeyIterator(Cursor<String>);

#[pymethods]
impl KeyIterator {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&mut self, py: Python<'_>) -> PyResult<Option<String>> {
        self.0.next(py, |_, e| e.key().to_string())
    }
}

/// An iterator over an archive's entries (:class:`Entry`) in key order, from
/// :meth:`Archive.entries`; batched and resumable after damage like :class:`KeyIterator`.
#[pyclass(module = "quire", name = "EntryIterator")]
pub struct EntryIterator(Cursor<Entry>);

#[pymethods]
impl EntryIterator {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&mut self, py: Python<'_>) -> PyResult<Option<Entry>> {
        self.0.next(py, Entry::of)
    }
}

/// The body reader a stream holds beside the archive it borrows from.
type Reader<'a> = BodyReader<'a>;

self_cell::self_cell!(
    /// An `Arc` of the archive and a body reader borrowing from it.
    struct ReaderCell {
        owner: Shared,
        #[covariant]
        dependent: Reader,
    }
);

/// The ReadError inside an io::Error from a [`BodyReader`], or the io::Error itself.
fn unwrap_io(e: io::Error) -> ReadError {
    if e.get_ref().is_some_and(|inner| inner.is::<ReadError>()) {
        if let Some(Ok(inner)) = e.into_inner().map(|b| b.downcast::<ReadError>()) {
            return *inner;
        }
        return ReadError::Io {
            path: None,
            source: io::Error::other("body reader failed"),
        };
    }
    ReadError::Io {
        path: None,
        source: e,
    }
}

/// Reads up to `size` bytes (all that is left when `None`), growing the buffer with what
/// actually arrives rather than with what the entry claims.
fn read_up_to(r: &mut Reader<'_>, size: Option<u64>) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    match size {
        None => {
            r.read_to_end(&mut out)?;
        }
        Some(n) => {
            let hint = n.min(r.remaining()).min(1 << 20);
            out.reserve(usize::try_from(hint).unwrap_or(0));
            r.take(n).read_to_end(&mut out)?;
        }
    }
    Ok(out)
}

/// The native half of :class:`BodyReader` (``quire._io``), which wraps it in an
/// ``io.RawIOBase``: reads with the GIL released, one block of the body held at a time.
#[pyclass(frozen, module = "quire", name = "_BodyStream")]
pub struct BodyStream {
    cell: Mutex<Option<ReaderCell>>,
    key: String,
    size: u64,
}

#[pymethods]
impl BodyStream {
    /// Reads up to ``size`` bytes (to the end when ``size`` is negative or ``None``);
    /// returns fewer only at the end of the body, ``b""`` after it.
    #[pyo3(signature = (size = -1))]
    fn read<'py>(&self, py: Python<'py>, size: Option<i64>) -> PyResult<Bound<'py, PyBytes>> {
        let size = size.filter(|n| *n >= 0).map(i64::unsigned_abs);
        let r = py.detach(|| {
            let mut guard = lock(&self.cell);
            let cell = guard.as_mut()?;
            Some(cell.with_dependent_mut(|_, reader| read_up_to(reader, size)))
        });
        match r {
            None => Err(PyValueError::new_err(
                "I/O operation on a closed body reader",
            )),
            Some(Ok(bytes)) => Ok(PyBytes::new(py, &bytes)),
            Some(Err(e)) => Err(read_error(py, unwrap_io(e))),
        }
    }

    /// Drops the block held and the archive reference. Closing twice is allowed.
    fn close(&self, py: Python<'_>) {
        // The lock may be held by a read in another thread: wait for it without the GIL.
        py.detach(|| drop(lock(&self.cell).take()));
    }

    /// Whether :meth:`close` was called.
    #[getter]
    fn closed(&self, py: Python<'_>) -> bool {
        py.detach(|| lock(&self.cell).is_none())
    }

    /// The body's length in bytes.
    #[getter]
    fn size(&self) -> u64 {
        self.size
    }

    /// Bytes not read yet (0 once closed).
    #[getter]
    fn remaining(&self, py: Python<'_>) -> u64 {
        py.detach(|| {
            lock(&self.cell)
                .as_ref()
                .map_or(0, |c| c.borrow_dependent().remaining())
        })
    }

    /// The key of the entry.
    #[getter]
    fn key(&self) -> &str {
        &self.key
    }
}

/// One problem :meth:`Archive.verify` found.
#[pyclass(frozen, module = "quire", name = "Problem")]
#[derive(Clone)]
pub struct Problem {
    /// Where (``str``), e.g. ``'block 17'``, ``'entry 3'``, ``"section 'KEYS'"``.
    #[pyo3(get)]
    location: String,
    /// What (``str``), e.g. ``'checksum mismatch'``.
    #[pyo3(get)]
    kind: String,
    /// The keys of the entries affected (for a damaged block: those whose bodies lie in
    /// it), as a list.
    #[pyo3(get)]
    keys: Vec<String>,
}

#[pymethods]
impl Problem {
    fn __str__(&self) -> String {
        format!("{}: {}", self.location, self.kind)
    }

    fn __repr__(&self) -> String {
        format!(
            "<quire.Problem {:?}: {:?}, {} key(s)>",
            self.location,
            self.kind,
            self.keys.len()
        )
    }
}

/// One title suggestion, from :meth:`Archive.suggest`: ``key`` (open it with
/// ``archive[key]`` or :meth:`Archive.entry`), ``title`` (``str``, or ``None`` for an entry
/// without a title, which is suggested by its key), ``kind`` (``"title"`` when the text
/// matched at the start of the title, ``"word"`` at the start of a later word) and ``text``
/// (what to show: the title, or the key). Suggestions compare equal when all three are
/// equal, and unpack as a tuple: ``key, title, kind = s``.
#[pyclass(frozen, eq, hash, module = "quire", name = "Suggestion")]
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Suggestion {
    key: String,
    title: Option<String>,
    kind: &'static str,
}

impl From<quire::Suggestion> for Suggestion {
    fn from(s: quire::Suggestion) -> Self {
        Suggestion {
            kind: s.kind.name(),
            key: s.key,
            title: s.title,
        }
    }
}

#[pymethods]
impl Suggestion {
    /// The entry's key (``str``).
    #[getter]
    fn key(&self) -> &str {
        &self.key
    }

    /// The entry's title (``str``), or ``None`` when it has none.
    #[getter]
    fn title(&self) -> Option<&str> {
        self.title.as_deref()
    }

    /// Where the text matched: ``"title"`` (at the title's start) or ``"word"`` (at the
    /// start of a later word).
    #[getter]
    fn kind(&self) -> &'static str {
        self.kind
    }

    /// What to show (``str``): the title, or the key when the entry has no title.
    #[getter]
    fn text(&self) -> &str {
        self.title.as_deref().unwrap_or(&self.key)
    }

    /// ``(key, title, kind)``, so that ``key, title, kind = s`` works.
    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let t = (self.key.as_str(), self.title.as_deref(), self.kind).into_pyobject(py)?;
        t.try_iter().map(Bound::into_any)
    }

    fn __repr__(&self) -> String {
        let title = match &self.title {
            Some(t) => format!("{t:?}"),
            None => "None".into(),
        };
        format!(
            "<quire.Suggestion {:?}, title {title}, kind {:?}>",
            self.key, self.kind
        )
    }
}

/// One full-text search result, from :meth:`Archive.search`.
///
/// ``key`` (open it with ``archive[key]`` or :meth:`Archive.entry`), ``index`` (its entry
/// number, for :meth:`Archive.entry_at`), ``title`` (``str``, or ``None`` for an entry
/// without one; an HTML page's ``<title>`` when the entry has no title of its own),
/// ``score`` (``int``: the BM25 score in spec §15.2's integers, which rank the results and
/// are what ``quire search --json`` prints) and ``bm25`` (``float``: the same score as
/// classic BM25 with natural logarithms, ``score * ln 2 / 2**32``).
///
/// ``snippet`` is a window of the entry's text (line breaks as spaces; ``…`` before and
/// after when cut from a longer text) and ``highlights`` the ``(start, end)`` character
/// offsets in it of the query's words, in order and not overlapping:
/// ``snippet[start:end]`` is a marked word. :meth:`html` gives the snippet as
/// ``quire search --json`` does (escaped, marks in ``<b>…</b>``), :meth:`marked` with
/// marks of one's choosing.
///
/// Results compare equal when every field is equal.
#[pyclass(frozen, eq, hash, module = "quire", name = "SearchResult")]
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SearchResult {
    hit: quire::SearchHit,
}

impl From<quire::SearchHit> for SearchResult {
    fn from(hit: quire::SearchHit) -> Self {
        SearchResult { hit }
    }
}

#[pymethods]
impl SearchResult {
    /// The entry's key (``str``).
    #[getter]
    fn key(&self) -> &str {
        &self.hit.key
    }

    /// The entry's number (``int``, key order), for :meth:`Archive.entry_at`.
    #[getter]
    fn index(&self) -> u64 {
        self.hit.index
    }

    /// The entry's title (``str``), or ``None`` when it has none.
    #[getter]
    fn title(&self) -> Option<&str> {
        self.hit.title.as_deref()
    }

    /// The BM25 score in spec §15.2's integers (``int``): what ranks the results, and what
    /// ``quire search --json`` prints.
    #[getter]
    fn score(&self) -> u64 {
        self.hit.score
    }

    /// The score as classic BM25 with natural logarithms (``float``): ``score * ln 2 /
    /// 2**32``, what ``quire search`` prints without ``--json``.
    #[getter]
    fn bm25(&self) -> f64 {
        self.hit.bm25()
    }

    /// The snippet's text (``str``), without marks.
    #[getter]
    fn snippet(&self) -> &str {
        &self.hit.snippet.text
    }

    /// Where the query's words are in :attr:`snippet`: a list of ``(start, end)``
    /// character offsets (``snippet[start:end]``), in order, not overlapping.
    #[getter]
    fn highlights(&self) -> Vec<(usize, usize)> {
        let text = &self.hit.snippet.text;
        // The library's ranges are in UTF-8 bytes; Python indexes characters.
        let chars = |at: usize| text.get(..at).map(|s| s.chars().count());
        self.hit
            .snippet
            .marks
            .iter()
            .filter_map(|m| Some((chars(m.start)?, chars(m.end)?)))
            .collect()
    }

    /// The snippet with each highlight between ``open`` and ``close``; with ``escape``,
    /// the text (not the marks) is escaped for HTML (``&``, ``<``, ``>``, ``"``, ``'``).
    /// ``r.marked("[", "]")`` is the snippet as ``quire search`` prints it.
    #[pyo3(signature = (open, close, *, escape = false))]
    fn marked(&self, open: &str, close: &str, escape: bool) -> String {
        self.hit.snippet.marked(open, close, escape)
    }

    /// The snippet as HTML: text escaped, highlights in ``<b>…</b>``; the ``snippet`` of
    /// ``quire search --json``.
    fn html(&self) -> String {
        self.hit.snippet.to_html()
    }

    fn __repr__(&self) -> String {
        let title = match &self.hit.title {
            Some(t) => format!("{t:?}"),
            None => "None".into(),
        };
        format!(
            "<quire.SearchResult {:?}, title {title}, score {}>",
            self.hit.key, self.hit.score
        )
    }
}

/// What :meth:`Archive.verify` found: ``ok`` is true when nothing is wrong and everything
/// was checked; ``problems`` lists the damage with the keys it affects; ``interrupted`` says
/// why a check over a URL stopped early; ``str(report)`` is the text ``quire verify``
/// prints.
#[pyclass(frozen, module = "quire", name = "VerifyReport")]
pub struct VerifyReport {
    /// Whether no problem was found.
    #[pyo3(get)]
    ok: bool,
    /// Sections checked.
    #[pyo3(get)]
    sections: usize,
    /// Blocks checked.
    #[pyo3(get)]
    blocks: u64,
    /// Entries checked.
    #[pyo3(get)]
    entries: u64,
    /// The problems found (a list of :class:`Problem`).
    #[pyo3(get)]
    problems: Vec<Problem>,
    /// Why the check stopped before the end (``str``), or ``None`` when it went through:
    /// a URL's server or network failed, or the archive changed on the server. That says
    /// nothing of the archive (it is no problem), but what came after was not checked, so
    /// ``ok`` is false.
    #[pyo3(get)]
    interrupted: Option<String>,
    text: String,
}

impl From<&quire::Report> for VerifyReport {
    fn from(r: &quire::Report) -> Self {
        VerifyReport {
            ok: r.is_ok(),
            sections: r.sections,
            blocks: r.blocks,
            entries: r.entries,
            problems: r
                .problems
                .iter()
                .map(|p| Problem {
                    location: p.at.to_string(),
                    kind: p.kind.to_string(),
                    keys: p.keys.clone(),
                })
                .collect(),
            interrupted: r.interrupted.clone(),
            text: r.to_string(),
        }
    }
}

#[pymethods]
impl VerifyReport {
    fn __str__(&self) -> String {
        self.text.clone()
    }

    fn __repr__(&self) -> String {
        format!(
            "<quire.VerifyReport ok={}, {} problem(s)>",
            if self.ok { "True" } else { "False" },
            self.problems.len()
        )
    }
}
