//! Writing: `quire.Writer`, over the Rust `ArchiveWriter` (temporary file, fsync, rename).
//! Compression, and waiting for the compression threads, run with the GIL released; a body
//! given as a file object is streamed through `ArchiveWriter::add_reader`, taking the GIL
//! back only for each call of the file's `read`.

use std::io;
use std::path::PathBuf;
use std::sync::Mutex;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedStr;
use pyo3::types::{PyByteArray, PyBytes, PyDict, PyMemoryView, PyString};
use quire::{
    ArchiveWriter, AtomicFile, Date, DictionaryMode, DuplicatePolicy, IndexKind, NewEntry,
    Overwrite, Summary, WriteError, WriterOptions,
};

use crate::archive::lock;
use crate::errors::write_error;
use crate::records;
use quire::jsonl::{self, Line};

/// String pairs from a mapping (its `items()`) of `str` to `str`.
fn string_pairs(what: &str, m: &Bound<'_, PyAny>) -> PyResult<Vec<(String, String)>> {
    let items = m
        .call_method0("items")
        .map_err(|_| PyTypeError::new_err(format!("{what} must be a mapping of str to str")))?;
    let mut out = Vec::new();
    for item in items.try_iter()? {
        let (k, v): (String, String) = item?
            .extract()
            .map_err(|_| PyTypeError::new_err(format!("{what} must be a mapping of str to str")))?;
        out.push((k, v));
    }
    Ok(out)
}

/// A date from a `datetime.date` (or anything with `year`, `month`, `day`) or a
/// `'YYYY-MM-DD'` string.
fn extract_date(d: &Bound<'_, PyAny>) -> PyResult<Date> {
    if let Ok(s) = d.cast::<PyString>() {
        let s = s.to_cow()?;
        return Date::parse(&s)
            .ok_or_else(|| PyValueError::new_err(format!("{s:?} is not a valid YYYY-MM-DD date")));
    }
    let part = |name: &str| -> PyResult<i64> {
        d.getattr(name).and_then(|v| v.extract()).map_err(|_| {
            PyTypeError::new_err("date must be a datetime.date or a 'YYYY-MM-DD' string")
        })
    };
    let (y, m, day) = (part("year")?, part("month")?, part("day")?);
    let date = match (u16::try_from(y), u8::try_from(m), u8::try_from(day)) {
        (Ok(y), Ok(m), Ok(day)) => Date::new(y, m, day),
        _ => None,
    };
    date.ok_or_else(|| {
        PyValueError::new_err(format!(
            "{y:04}-{m:02}-{day:02} is not a date quire can store"
        ))
    })
}

/// The fields of one entry, owned, so that the GIL can be released while it is added: the
/// library's record with its body kept apart (it may be streamed from a file).
struct Fields(jsonl::Record);

impl Fields {
    /// The fields of a record of the JSONL codec, and its body.
    fn of_record(mut r: jsonl::Record) -> (Fields, Vec<u8>) {
        let body = std::mem::take(&mut r.body);
        (Fields(r), body)
    }

    fn entry<'a>(&'a self, body: &'a [u8]) -> NewEntry<'a> {
        NewEntry {
            body,
            ..self.0.as_entry()
        }
    }
}

/// Bytes of a body file read before the writer is given the entry (see `Writer::add`).
const FILE_HEAD: usize = 64 << 10;

/// A Python binary file object as a `std::io::Read`: each `read` takes the GIL back and
/// calls the object's `read(n)`. A Python exception is kept to be raised in place of the
/// writer's error.
struct PyFileReader {
    file: Py<PyAny>,
    error: Option<PyErr>,
}

impl io::Read for PyFileReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        Python::attach(|py| {
            let r = (|| -> PyResult<usize> {
                let data = self.file.bind(py).call_method1("read", (buf.len(),))?;
                if data.is_none() {
                    return Err(PyTypeError::new_err(
                        "the body file's read() returned None (a non-blocking file?)",
                    ));
                }
                let bytes = data.cast::<PyBytes>().map_err(|_| {
                    PyTypeError::new_err(
                        "the body file's read() must return bytes: open it in binary mode",
                    )
                })?;
                let b = bytes.as_bytes();
                let dst = buf.get_mut(..b.len()).ok_or_else(|| {
                    PyValueError::new_err("the body file's read(n) returned more than n bytes")
                })?;
                dst.copy_from_slice(b);
                Ok(b.len())
            })();
            r.map_err(|e| {
                self.error = Some(e);
                io::Error::other("the body file's read() raised an exception")
            })
        })
    }
}

/// Writes a quire archive to ``path``::
///
///     with quire.Writer("news.quire", level=19) as w:
///         w.add("2002/embassy", b"China says...", title="Embassy", date="2002-03-14")
///
/// The archive is written to a temporary file beside ``path`` and renamed into place when
/// the ``with`` block ends without an exception (or :meth:`finish` is called): nothing
/// appears under ``path`` before that, and an exception (or :meth:`abort`) leaves no file.
/// When ``path`` exists, ``overwrite=False`` (the default) raises ``FileExistsError``; with
/// ``overwrite=True`` the old archive stays intact until the new one is complete.
///
/// Options (``None`` keeps the library's default): ``level`` (zstd level 1..22; default
/// 19), ``block_size`` (bytes; by default 24576, or 131072 for long documents), ``threads`` (compression threads, default
/// 0 = all cores; the bytes written are the same whatever the count), ``dictionary``
/// (``'auto'``, ``'on'``, ``'off'`` or a bool), ``dict_size`` (bytes), ``dedup`` (store
/// identical bodies once, default True), ``duplicates`` (``'error'``, ``'first'`` or
/// ``'last'``), ``metadata`` (archive metadata: ``title``, ``description``, ``creator``,
/// ``source``, ...), ``created`` (creation time in Unix seconds; default
/// ``SOURCE_DATE_EPOCH`` or now), ``index`` (``'titles'``, the default: a title index for
/// :meth:`Archive.suggest`; ``'full'``: the title index and a full-text index for
/// :meth:`Archive.search`, whose words are analysed in the language of the ``language``
/// metadata field (ISO 639-3, e.g. ``'eng'``; without it words are not stemmed); ``'none'``:
/// no index beyond the keys, the smallest archive).
///
/// Compression runs on background threads and without the GIL. One writer may be used
/// from several threads (calls are serialised).
#[pyclass(frozen, module = "quire", name = "Writer")]
pub struct Writer {
    inner: Mutex<Option<ArchiveWriter<AtomicFile>>>,
    path: PathBuf,
    summary: Mutex<Option<Summary>>,
}

/// What happened to a writer call that needed the writer.
enum Call<T> {
    Done(Result<T, WriteError>),
    Closed,
}

impl Writer {
    /// Runs `f` on the writer with the GIL released (the lock is taken after releasing it,
    /// so a thread waiting for the lock never holds the GIL that the holder may need).
    fn with_writer<T: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&mut ArchiveWriter<AtomicFile>) -> Result<T, WriteError> + Send,
    ) -> PyResult<Result<T, WriteError>> {
        let r = py.detach(|| match lock(&self.inner).as_mut() {
            Some(w) => Call::Done(f(w)),
            None => Call::Closed,
        });
        match r {
            Call::Done(r) => Ok(r),
            Call::Closed => Err(PyValueError::new_err("the writer is finished or aborted")),
        }
    }

    fn summary_dict<'py>(py: Python<'py>, s: &Summary) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("entries", s.entries)?;
        d.set_item("blocks", s.blocks)?;
        d.set_item("raw_bytes", s.raw_bytes)?;
        d.set_item("file_len", s.file_len)?;
        d.set_item("dict_len", s.dict_len)?;
        d.set_item("duplicates", s.duplicates)?;
        d.set_item("shared_bodies", s.shared_bodies)?;
        Ok(d)
    }
}

#[pymethods]
impl Writer {
    #[new]
    #[pyo3(signature = (
        path, *, preset = None, level = None, block_size = None, threads = None,
        overwrite = false, dictionary = None, dict_size = None, dict_stored_max = None,
        dedup = None, duplicates = None, metadata = None, created = None, index = None,
        page_size = None, pack_nodes = None,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        path: PathBuf,
        preset: Option<&str>,
        level: Option<i32>,
        block_size: Option<u32>,
        threads: Option<usize>,
        overwrite: bool,
        dictionary: Option<&Bound<'_, PyAny>>,
        dict_size: Option<usize>,
        dict_stored_max: Option<usize>,
        dedup: Option<bool>,
        duplicates: Option<&str>,
        metadata: Option<&Bound<'_, PyAny>>,
        created: Option<u64>,
        index: Option<&str>,
        page_size: Option<u32>,
        pack_nodes: Option<bool>,
    ) -> PyResult<Self> {
        // The presets of `quire pack --preset`; every other argument changes one setting.
        let mut opts = match preset.unwrap_or("default") {
            "default" => WriterOptions::new(),
            "smallest" => WriterOptions::smallest(),
            "remote" => WriterOptions::remote(),
            p => {
                return Err(PyValueError::new_err(format!(
                    "preset must be 'default', 'smallest' or 'remote', not {p:?}"
                )))
            }
        };
        if let Some(d) = dict_stored_max {
            opts = opts.dict_stored_max(d);
        }
        if let Some(p) = page_size {
            opts = opts.page_size(p);
        }
        if let Some(p) = pack_nodes {
            opts = opts.pack_nodes(p);
        }
        if let Some(l) = level {
            opts = opts.level(l);
        }
        if let Some(b) = block_size {
            opts = opts.block_size(b);
        }
        if let Some(t) = threads {
            opts = opts.threads(t);
        }
        if overwrite {
            opts = opts.overwrite(Overwrite::Replace);
        }
        if let Some(d) = dictionary {
            let mode = if let Ok(on) = d.extract::<bool>() {
                if on {
                    DictionaryMode::On
                } else {
                    DictionaryMode::Off
                }
            } else {
                match d.extract::<String>().as_deref() {
                    Ok("auto") => DictionaryMode::Auto,
                    Ok("on") => DictionaryMode::On,
                    Ok("off") => DictionaryMode::Off,
                    _ => {
                        return Err(PyValueError::new_err(
                            "dictionary must be 'auto', 'on', 'off', True or False",
                        ))
                    }
                }
            };
            opts = opts.dictionary(mode);
        }
        if let Some(s) = dict_size {
            opts = opts.dict_size(s);
        }
        if let Some(d) = dedup {
            opts = opts.dedup(d);
        }
        if let Some(d) = duplicates {
            opts = opts.duplicates(match d {
                "error" => DuplicatePolicy::Error,
                "first" => DuplicatePolicy::First,
                "last" => DuplicatePolicy::Last,
                _ => {
                    return Err(PyValueError::new_err(
                        "duplicates must be 'error', 'first' or 'last'",
                    ))
                }
            });
        }
        if let Some(m) = metadata {
            for (n, v) in string_pairs("metadata", m)? {
                opts = opts.metadata(n, v);
            }
        }
        if let Some(c) = created {
            opts = opts.created(c);
        }
        if let Some(i) = index {
            opts = opts.index(match i {
                "titles" => IndexKind::Titles,
                "full" => IndexKind::Full,
                "none" => IndexKind::None,
                _ => {
                    return Err(PyValueError::new_err(format!(
                        "index must be 'titles', 'full' or 'none', not {i:?}"
                    )))
                }
            });
        }
        let w = py
            .detach(|| ArchiveWriter::create(&path, opts))
            .map_err(|e| write_error(py, e, Some(&path)))?;
        Ok(Writer {
            inner: Mutex::new(Some(w)),
            path,
            summary: Mutex::new(None),
        })
    }

    /// Adds an entry. ``body`` is ``bytes`` (or ``bytearray``, ``memoryview``), a ``str``
    /// (stored as UTF-8), or a binary file object, which is read to its end in pieces and
    /// streamed into the archive (memory bounded by the block size). ``date`` is a
    /// ``datetime.date`` or ``'YYYY-MM-DD'``; ``metadata`` a mapping of ``str`` to ``str``.
    ///
    /// Returns ``False`` when the entry was dropped as a duplicate (``duplicates='first'``),
    /// else ``True``. Raises :class:`DuplicateKey` for a repeated key (by default),
    /// ``ValueError`` for a key or field the format cannot hold, ``OSError`` when writing
    /// fails; an exception from the body file's ``read`` propagates as it is.
    #[pyo3(signature = (key, body, *, title = None, date = None, content_type = None, metadata = None))]
    #[allow(clippy::too_many_arguments)]
    fn add(
        &self,
        py: Python<'_>,
        key: PyBackedStr,
        body: &Bound<'_, PyAny>,
        title: Option<PyBackedStr>,
        date: Option<&Bound<'_, PyAny>>,
        content_type: Option<PyBackedStr>,
        metadata: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        let fields = Fields(jsonl::Record {
            key: key.to_string(),
            title: title.map(|t| t.to_string()),
            date: date.map(extract_date).transpose()?,
            content_type: content_type.map(|c| c.to_string()),
            metadata: metadata
                .map(|m| string_pairs("metadata", m))
                .transpose()?
                .unwrap_or_default(),
            body: Vec::new(),
        });
        self.add_fields(py, &fields, body)
    }

    /// Adds an entry from a record: a ``dict`` shaped like a line of ``quire pack``'s JSONL
    /// input, or such a line as ``str`` or ``bytes``, read by the same code as ``quire pack``
    /// (spec §9): ``key`` (or ``id``), ``title``, ``date`` (``'YYYY-MM-DD'``, an RFC 3339
    /// date-time, or a ``datetime.date``), ``content_type``, ``body`` (``str``; or, in a
    /// dict, ``bytes`` or a binary file object) or ``body_base64``, ``meta`` (a dict); any
    /// other field is metadata too, a value that is not a ``str`` kept as JSON (and listed in
    /// the ``quire:json`` metadata pair, so that ``quire unpack --jsonl`` gives it back).
    ///
    /// Returns what :meth:`add` returns. Raises ``ValueError`` for a record that is not
    /// shaped as §9 says (an archive line ``{"archive": {...}}`` included: give that to
    /// :func:`pack` or as ``metadata=``), ``TypeError`` for a value JSON cannot hold.
    fn add_record(&self, py: Python<'_>, record: &Bound<'_, PyAny>) -> PyResult<bool> {
        let parsed = records::parse(record)?
            .ok_or_else(|| PyValueError::new_err("the line is blank: it holds no record"))?;
        self.add_parsed(py, parsed)
    }

    /// Writes the rest of the archive, syncs it and renames it into place; returns a
    /// summary ``dict`` (``entries``, ``blocks``, ``raw_bytes``, ``file_len``, ``dict_len``,
    /// ``duplicates``, ``shared_bodies``). The writer cannot be used afterwards.
    fn finish<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let r = py.detach(|| lock(&self.inner).take().map(|w| w.finish()));
        match r {
            None => Err(PyValueError::new_err("the writer is finished or aborted")),
            Some(Err(e)) => Err(write_error(py, e, Some(&self.path))),
            Some(Ok(s)) => {
                let d = Self::summary_dict(py, &s)?;
                *lock(&self.summary) = Some(s);
                Ok(d)
            }
        }
    }

    /// Discards the archive: the temporary file is removed and nothing is written under
    /// ``path``. Does nothing after :meth:`finish` or :meth:`abort`.
    fn abort(&self, py: Python<'_>) {
        py.detach(|| drop(lock(&self.inner).take()));
    }

    /// The summary ``dict`` :meth:`finish` returned, or ``None`` before.
    #[getter]
    fn summary<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        let s = lock(&self.summary).clone();
        s.map(|s| Self::summary_dict(py, &s)).transpose()
    }

    /// Whether the writer is finished or aborted.
    #[getter]
    fn closed(&self, py: Python<'_>) -> bool {
        py.detach(|| lock(&self.inner).is_none())
    }

    /// The number of entries added so far.
    fn __len__(&self, py: Python<'_>) -> PyResult<usize> {
        let n = py.detach(|| lock(&self.inner).as_ref().map_or(0, |w| w.len()));
        usize::try_from(n).map_err(|_| PyValueError::new_err("too many entries"))
    }

    /// Returns the writer itself.
    fn __enter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    /// Finishes the archive when the block ends normally, aborts it when it raises (the
    /// exception propagates).
    #[pyo3(signature = (exc_type = None, _exc = None, _tb = None))]
    fn __exit__(
        &self,
        py: Python<'_>,
        exc_type: Option<&Bound<'_, PyAny>>,
        _exc: Option<&Bound<'_, PyAny>>,
        _tb: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        if exc_type.is_some_and(|t| !t.is_none()) {
            self.abort(py);
        } else if !self.closed(py) {
            self.finish(py)?;
        }
        Ok(false)
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let state = if self.closed(py) { "closed" } else { "open" };
        format!(
            "<quire.Writer {:?}, {state}>",
            self.path.display().to_string()
        )
    }
}

impl Writer {
    /// Adds a parsed record (not an archive line).
    fn add_parsed(&self, py: Python<'_>, parsed: records::Parsed<'_>) -> PyResult<bool> {
        let record =
            match parsed.line {
                Line::Entry(r) => r,
                Line::Archive(_) => return Err(PyValueError::new_err(
                    "an archive line ({\"archive\": {...}}) gives archive metadata, not an entry",
                )),
            };
        let (fields, body) = Fields::of_record(record);
        match parsed.body {
            Some(b) => self.add_fields(py, &fields, &b),
            None => self.add_bytes(py, &fields, &body),
        }
    }

    /// Adds an entry whose body is in memory.
    fn add_bytes(&self, py: Python<'_>, fields: &Fields, body: &[u8]) -> PyResult<bool> {
        let path = self.path.clone();
        self.with_writer(py, |w| w.add(&fields.entry(body)))?
            .map_err(|e| write_error(py, e, Some(&path)))
    }

    /// Adds an entry whose body is a Python object: bytes-like, `str` or a binary file.
    fn add_fields(
        &self,
        py: Python<'_>,
        fields: &Fields,
        body: &Bound<'_, PyAny>,
    ) -> PyResult<bool> {
        let path = self.path.clone();
        let in_memory = |bytes: &[u8]| self.add_bytes(py, fields, bytes);
        if let Ok(b) = body.cast::<PyBytes>() {
            return in_memory(b.as_bytes());
        }
        if let Ok(s) = body.cast::<PyString>() {
            let s: PyBackedStr = s.extract()?;
            return in_memory(s.as_bytes());
        }
        if body.is_instance_of::<PyByteArray>() || body.is_instance_of::<PyMemoryView>() {
            let b = py.get_type::<PyBytes>().call1((body,))?;
            return in_memory(b.cast::<PyBytes>()?.as_bytes());
        }
        if !body.hasattr("read")? {
            return Err(PyTypeError::new_err(format!(
                "body must be bytes, str or a binary file object, not {}",
                body.get_type().name()?
            )));
        }
        let mut reader = PyFileReader {
            file: body.clone().unbind(),
            error: None,
        };
        // The first bytes are read before the writer sees the entry, so that a file that
        // fails at once (opened in text mode, say) raises without spoiling the writer: a
        // body read that fails once the writer has begun the entry leaves it unusable.
        let mut head = vec![0u8; FILE_HEAD];
        let mut got = 0;
        while got < FILE_HEAD {
            match io::Read::read(&mut reader, &mut head[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(reader.error.take().unwrap_or_else(|| e.into())),
            }
        }
        head.truncate(got);
        if got < FILE_HEAD {
            return in_memory(&head);
        }
        let mut rest = io::Read::chain(io::Cursor::new(head), &mut reader);
        let r = self.with_writer(py, |w| w.add_reader(&fields.entry(b""), &mut rest))?;
        match (r, reader.error.take()) {
            (Ok(added), _) => Ok(added),
            (Err(_), Some(py_err)) => Err(py_err),
            (Err(e), None) => Err(write_error(py, e, Some(&path))),
        }
    }
}

/// Writes an archive at ``path`` from an iterable of records; returns the summary dict of
/// :meth:`Writer.finish`.
///
/// Each record is a dict shaped like a line of ``quire pack``'s JSONL input, or such a line
/// itself (``str`` or ``bytes``; blank lines are skipped), and is read by the same code as
/// ``quire pack`` (the library's JSONL codec, spec §9): ``key`` (or ``id``; ``str`` or a
/// number), and optionally ``title``, ``date`` (``'YYYY-MM-DD'``, an RFC 3339 date-time such
/// as ``'2002-03-14T10:00:00Z'``, kept whole as the ``date`` metadata, or a
/// ``datetime.date``), ``content_type``, ``body`` (``str``; in a dict also ``bytes`` or a
/// binary file object) or ``body_base64`` (whose content type is then
/// ``application/octet-stream`` unless given), and ``meta``: a dict of metadata. Any other
/// field is metadata too. Metadata values that are not ``str`` (numbers, booleans, ``None``,
/// lists, dicts) are kept as JSON and listed in the ``quire:json`` metadata pair, so that
/// ``quire unpack --jsonl`` gives them back as the same values. A first record of the form
/// ``{"archive": {...}}`` -- the first line of ``quire unpack --jsonl`` -- gives archive
/// metadata (``metadata=`` wins over it; later ones are ignored), so that::
///
///     quire.pack(open("dump.jsonl", encoding="utf-8"), "copy.quire")
///
/// re-packs an unpacked archive, as ``quire pack dump.jsonl`` does, to the same bytes with
/// the same options and ``created``. ``options`` are :class:`Writer`'s (``level``,
/// ``block_size``, ``threads``, ``overwrite``, ``metadata``, ``created``, ``index``, ...).
/// Records are read one at a time: memory does not grow with their number. Nothing is written under
/// ``path`` unless every record is added. A record that is not as §9 says raises
/// ``ValueError`` (``TypeError`` for a value JSON cannot hold), naming the record by its
/// number from 1.
#[pyfunction]
#[pyo3(signature = (records, path, **options))]
pub fn pack<'py>(
    py: Python<'py>,
    records: &Bound<'py, PyAny>,
    path: &Bound<'py, PyAny>,
    options: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyDict>> {
    let options = match options {
        Some(o) => o.copy()?,
        None => PyDict::new(py),
    };
    let mut it = records.try_iter()?;
    let mut n = 0u64;
    let mut first = None;
    for item in it.by_ref() {
        n += 1;
        if let Some(p) = records::parse(&item?).map_err(|e| records::at_record(py, n, e))? {
            first = Some(p);
            break;
        }
    }
    if let Some(records::Parsed {
        line: Line::Archive(meta),
        ..
    }) = &first
    {
        let merged = PyDict::new(py);
        for (k, v) in meta {
            merged.set_item(k, v)?;
        }
        if let Some(given) = options.get_item("metadata")? {
            if !given.is_none() {
                merged.call_method1("update", (given,))?;
            }
        }
        options.set_item("metadata", merged)?;
        first = None;
    }
    let writer = py
        .get_type::<Writer>()
        .call((path,), Some(&options))?
        .cast_into::<Writer>()?;
    let w = writer.get();
    let added = (|| -> PyResult<()> {
        if let Some(p) = first {
            w.add_parsed(py, p)
                .map_err(|e| records::at_record(py, n, e))?;
        }
        for item in it {
            n += 1;
            match records::parse(&item?).map_err(|e| records::at_record(py, n, e))? {
                // Later archive lines are ignored, as `quire pack` ignores them.
                None
                | Some(records::Parsed {
                    line: Line::Archive(_),
                    ..
                }) => {}
                Some(p) => {
                    w.add_parsed(py, p)
                        .map_err(|e| records::at_record(py, n, e))?;
                }
            }
        }
        Ok(())
    })();
    match added {
        Ok(()) => w.finish(py),
        Err(e) => {
            w.abort(py);
            Err(e)
        }
    }
}
