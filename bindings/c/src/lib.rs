//! libquire: the C API of quire (`include/quire.h`, generated from this file by cbindgen).
//!
//! In the style of sqlite and the regex C API: an opaque `quire_archive*` handle; every
//! function that can fail returns an `int` status (`quire_status`), with the details in a
//! thread-local message (`quire_last_error`); bodies are copied into the caller's buffer
//! (with the size needed reported when it is too small) or into a buffer the library
//! allocates and `quire_free` releases. No panic crosses the boundary: every entry point
//! runs under `catch_unwind`. A handle may be used from several threads at once.
//!
//! Every handle holds a `quire::Archive<AnySource>`, the library's one way in: a mapped
//! file, bytes in memory, the caller's bytes, or (`quire_open_url`) an `http://`,
//! `https://` or `s3://` object read by ranges, whose failures map to the network statuses.

#![deny(missing_docs)]

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::ptr::{self, NonNull};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use quire::source::{
    remote_error_kind, AnySource, ByteSource, OpenOptions, RemoteError, RemoteErrorKind,
    RemoteOptions,
};
use quire::{DamageKind, Location, PrefixIter, ReadError};

/// Status codes. Every function that can fail returns one of these as an `int`:
/// `QUIRE_OK` (0) on success, a positive value for an expected outcome that is not a
/// success (not found, buffer too small, iteration done), a negative value for an error
/// (whose message `quire_last_error` gives).
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum quire_status {
    /// Success.
    QUIRE_OK = 0,
    /// No entry has this key (or the entry has no title, no date).
    QUIRE_NOT_FOUND = 1,
    /// The caller's buffer is too small; `*needed` holds the size required.
    QUIRE_BUFFER_TOO_SMALL = 2,
    /// The iterator has no more entries.
    QUIRE_DONE = 3,
    /// An argument is invalid: a NULL pointer, a length that does not fit, text that is not
    /// UTF-8, a search query over spec §15.2's limits (4096 bytes, 64 distinct words).
    QUIRE_ERR_ARGUMENT = -1,
    /// The operating system failed to open, map or read the file.
    QUIRE_ERR_IO = -2,
    /// The bytes are not a quire archive (bad magic number).
    QUIRE_ERR_NOT_ARCHIVE = -3,
    /// The archive's format version or a required feature is newer than this library; or
    /// (`quire_search`) its full-text index was made by a tokenizer this library does not
    /// implement.
    QUIRE_ERR_UNSUPPORTED = -4,
    /// The archive is damaged where this call looked (the message says where and what);
    /// other entries may still be readable.
    QUIRE_ERR_DAMAGED = -5,
    /// An entry number past the end of the archive.
    QUIRE_ERR_RANGE = -6,
    /// Memory could not be allocated.
    QUIRE_ERR_NOMEM = -7,
    /// A bug in libquire, caught before it could cross into the caller (please report it).
    QUIRE_ERR_INTERNAL = -8,
    /// The network failed while reading a URL: no connection (refused, unreachable, name
    /// not resolved, TLS certificate refused), a connection dropped mid-answer, an answer
    /// cut short or one that breaks the protocol, a server that ignores `Range`, or server
    /// errors (5xx, 429) through every retry. Says nothing about the archive: try again
    /// later.
    QUIRE_ERR_NETWORK = -9,
    /// No complete answer within the request or connect timeout
    /// (`quire_open_options.timeout_ms`, `connect_timeout_ms`), after every retry.
    QUIRE_ERR_TIMEOUT = -10,
    /// The server has no object at the URL (HTTP 404, S3 `NoSuchKey`). A missing local
    /// file is `QUIRE_ERR_IO`, as from `quire_open`.
    QUIRE_ERR_NOT_FOUND = -11,
    /// The server refuses access (HTTP 401 or 403): for `s3://`, credentials missing or
    /// wrong (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, ...).
    QUIRE_ERR_FORBIDDEN = -12,
    /// The object changed on the server since it was opened (its ETag, Last-Modified or
    /// size differ, or the server answered 412 to the version the handle pinned). The
    /// handle cannot read it any more: close it and open the URL again.
    QUIRE_ERR_CHANGED = -13,
    /// The archive has no title index (it was packed with `--index none`), so
    /// `quire_suggest` cannot answer; `quire_has_title_index` tells beforehand. Also: the
    /// archive has no full-text index (it was packed without `--index full`), so
    /// `quire_search` cannot answer; `quire_has_search_index` tells beforehand.
    QUIRE_ERR_NO_INDEX = -14,
}

use quire_status::*;

/// An open archive. Opaque; from `quire_open`, `quire_open_memory`,
/// `quire_open_memory_borrowed` or `quire_open_url`, released by `quire_close`.
#[allow(non_camel_case_types)]
pub struct quire_archive {
    archive: Arc<Inner>,
    /// Keys handed out by `quire_key`, by entry number. Keys are decoded from index pages
    /// (front-coded, format 3.0), so none lies whole in the archive's bytes: each one asked
    /// for is copied here once and kept until `quire_close`, which is what makes the
    /// pointer `quire_key` returns valid that long.
    keys: Mutex<HashMap<u64, Box<str>>>,
}

/// An iterator over entry numbers. Opaque; from `quire_iter_new` or `quire_iter_prefix`,
/// released by `quire_iter_free`.
#[allow(non_camel_case_types)]
pub struct quire_iter {
    state: Mutex<IterState>,
}

/// The title suggestions one `quire_suggest` found. Opaque; read with
/// `quire_suggestions_len`, `quire_suggestion_key`, `quire_suggestion_title` and
/// `quire_suggestion_kind`, released by `quire_suggestions_free`. Owns its strings: it may
/// outlive the archive's handle.
#[allow(non_camel_case_types)]
pub struct quire_suggestions {
    items: Vec<Suggested>,
}

/// One suggestion, its strings each followed by a NUL byte (not counted in their length).
struct Suggested {
    key: Box<[u8]>,
    title: Option<Box<[u8]>>,
    kind: quire_match_kind,
}

/// The results one `quire_search` found. Opaque; read with `quire_search_results_len` and
/// the `quire_search_result_*` accessors, released by `quire_search_results_free`. Owns its
/// strings: it may outlive the archive's handle.
#[allow(non_camel_case_types)]
pub struct quire_search_results {
    items: Vec<Found>,
}

/// One search result, its strings each followed by a NUL byte (not counted in their length).
struct Found {
    index: u64,
    key: Box<[u8]>,
    title: Option<Box<[u8]>>,
    score: u64,
    bm25: f64,
    snippet: Box<[u8]>,
    /// The highlights' byte ranges in the snippet, `start, end` for each.
    marks: Box<[usize]>,
}

/// Where a suggestion's text matched (`quire_suggestion_kind`).
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum quire_match_kind {
    /// At the start of the folded title (these come first).
    QUIRE_MATCH_TITLE = 0,
    /// At the start of a later word of it.
    QUIRE_MATCH_WORD = 1,
}

// Handles, iterators and suggestions are shared between C threads: the compiler checks that
// they may be.
const _: () = {
    const fn shareable<T: Send + Sync>() {}
    shareable::<quire_archive>();
    shareable::<quire_iter>();
    shareable::<quire_suggestions>();
    shareable::<quire_search_results>();
};

// ---------------------------------------------------------------------------------------
// Sources.

/// Caller memory that `quire_open_memory_borrowed` reads in place: the one source the
/// library's `AnySource` has no variant for, so it goes in as `AnySource::Other`.
struct Borrowed {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: the bytes are only read, never written, and the caller of
// `quire_open_memory_borrowed` promised they stay valid and unchanged until the last handle
// using them is released, from whichever thread that happens on.
unsafe impl Send for Borrowed {}
// SAFETY: as above; shared reads of unchanging memory are safe from any thread.
unsafe impl Sync for Borrowed {}

impl Borrowed {
    fn as_slice(&self) -> &[u8] {
        // SAFETY: `ptr` is non-null and points to `len` readable bytes that stay valid and
        // unchanged while this value lives (the contract of `quire_open_memory_borrowed`,
        // the only place a `Borrowed` is made); for an empty slice it is a dangling but
        // aligned pointer, which `from_raw_parts` allows.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl ByteSource for Borrowed {
    fn size(&self) -> u64 {
        self.len as u64
    }

    fn read_at(&self, offset: u64, len: usize) -> io::Result<Cow<'_, [u8]>> {
        let bytes = self.as_slice();
        usize::try_from(offset)
            .ok()
            .and_then(|start| Some(start..start.checked_add(len)?))
            .and_then(|r| bytes.get(r))
            .map(Cow::Borrowed)
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!(
                        "range {offset}+{len} runs past the end ({} bytes)",
                        bytes.len()
                    ),
                )
            })
    }

    fn describe(&self) -> String {
        "archive in memory".to_owned()
    }
}

/// Every handle reads through the library's `AnySource`: a mapped file (`quire_open`),
/// bytes copied into memory (`quire_open_memory`), the caller's bytes
/// (`quire_open_memory_borrowed`, as `AnySource::Other`), or whatever `quire_open_url`
/// opens (a URL, or a file read with positioned reads).
type Inner = quire::Archive<AnySource>;

// ---------------------------------------------------------------------------------------
// Errors and the boundary.

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

/// Stores `msg` as this thread's last error (a NUL inside becomes `\0`).
fn set_error(msg: &str) {
    let c = CString::new(msg.replace('\0', "\\0")).unwrap_or_default();
    // Fails only while the thread is being torn down; the message is then dropped.
    let _ = LAST_ERROR.try_with(|e| e.replace(c));
}

/// A status that is not `QUIRE_OK`, with its message.
struct Failure {
    status: quire_status,
    message: String,
}

impl Failure {
    fn new(status: quire_status, message: impl Into<String>) -> Failure {
        Failure {
            status,
            message: message.into(),
        }
    }

    fn argument(what: &str) -> Failure {
        Failure::new(QUIRE_ERR_ARGUMENT, format!("invalid argument: {what}"))
    }
}

/// The status of a remote read's failure, and its error, when `e` is one.
fn remote_failure(e: &io::Error) -> Option<(quire_status, &RemoteError)> {
    let remote = e.get_ref()?.downcast_ref::<RemoteError>()?;
    let status = match remote_error_kind(e)? {
        RemoteErrorKind::Timeout => QUIRE_ERR_TIMEOUT,
        RemoteErrorKind::NotFound => QUIRE_ERR_NOT_FOUND,
        // No access, or no credentials to ask for it with.
        RemoteErrorKind::Forbidden | RemoteErrorKind::NoCredentials => QUIRE_ERR_FORBIDDEN,
        RemoteErrorKind::Changed => QUIRE_ERR_CHANGED,
        RemoteErrorKind::InvalidUrl => QUIRE_ERR_ARGUMENT,
        // Connect, Network, Server, ShortRead, BadResponse, IgnoredRange,
        // RangeNotSatisfiable, Other, and kinds added later: the network or the server, not
        // the archive.
        _ => QUIRE_ERR_NETWORK,
    };
    Some((status, remote))
}

impl From<ReadError> for Failure {
    fn from(e: ReadError) -> Failure {
        // A walk passes over a page it could not read as `Skipped`; one the network lost
        // stops it, but look through `Skipped` too rather than call the network damage.
        let io = match &e {
            ReadError::Io { source, .. } => Some(source),
            ReadError::Skipped { cause, .. } => match &**cause {
                ReadError::Io { source, .. } => Some(source),
                _ => None,
            },
            _ => None,
        };
        if let Some(source) = io {
            if let Some((status, remote)) = remote_failure(source) {
                // The remote error names its URL: the message gives it once.
                return Failure::new(
                    status,
                    format!("cannot read {}: {}", remote.url(), remote.message()),
                );
            }
        }
        let status = match &e {
            ReadError::Io { .. } | ReadError::Output(_) => QUIRE_ERR_IO,
            ReadError::BadMagic | ReadError::Empty => QUIRE_ERR_NOT_ARCHIVE,
            ReadError::UnsupportedVersion { .. }
            | ReadError::UnsupportedFeatures { .. }
            | ReadError::BlocksOverLimit { .. } => QUIRE_ERR_UNSUPPORTED,
            ReadError::EntryOutOfRange { .. } => QUIRE_ERR_RANGE,
            ReadError::NoTitleIndex | ReadError::NoSearchIndex => QUIRE_ERR_NO_INDEX,
            ReadError::UnsupportedTokenizer { .. } => QUIRE_ERR_UNSUPPORTED,
            ReadError::InvalidQuery { .. } => QUIRE_ERR_ARGUMENT,
            _ => QUIRE_ERR_DAMAGED,
        };
        let mut message = e.to_string();
        if let Some(source) = std::error::Error::source(&e) {
            message = format!("{message}: {source}");
        }
        Failure::new(status, message)
    }
}

type Outcome = Result<quire_status, Failure>;

/// Runs one entry point: its status, with the message stored for anything but success and
/// the end of an iteration; a panic becomes `QUIRE_ERR_INTERNAL`.
fn boundary(f: impl FnOnce() -> Outcome) -> c_int {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(status)) => status as c_int,
        Ok(Err(failure)) => {
            // Formatting and storing the message cannot panic but for a failed allocation
            // (which aborts); catch anyway so that nothing can unwind into C.
            let _ = catch_unwind(AssertUnwindSafe(|| set_error(&failure.message)));
            failure.status as c_int
        }
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown".into());
            let _ = catch_unwind(AssertUnwindSafe(|| {
                set_error(&format!(
                    "internal error in libquire (please report it): {what}"
                ))
            }));
            QUIRE_ERR_INTERNAL as c_int
        }
    }
}

/// `ptr` as a reference, or an argument error naming `what`.
///
/// # Safety
/// A non-null `ptr` must point to a live `T`, not mutated for `'a`.
unsafe fn arg<'a, T>(ptr: *const T, what: &str) -> Result<&'a T, Failure> {
    // SAFETY: the caller's contract: non-null means a valid, live `T`.
    unsafe { ptr.as_ref() }.ok_or_else(|| Failure::argument(&format!("{what} is NULL")))
}

/// `ptr` as a mutable reference for an out-parameter, or an argument error naming `what`.
///
/// # Safety
/// A non-null `ptr` must point to a writable `T` that nothing else uses for `'a`.
unsafe fn out<'a, T>(ptr: *mut T, what: &str) -> Result<&'a mut T, Failure> {
    // SAFETY: the caller's contract: non-null means a valid, exclusive `T`.
    unsafe { ptr.as_mut() }.ok_or_else(|| Failure::argument(&format!("{what} is NULL")))
}

/// `len` bytes at `ptr` (NULL is allowed when `len` is 0).
///
/// # Safety
/// A non-null `ptr` must point to `len` readable bytes that stay unchanged for `'a`.
unsafe fn bytes<'a>(ptr: *const c_char, len: usize, what: &str) -> Result<&'a [u8], Failure> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(Failure::argument(&format!("{what} is NULL")));
    }
    if len > isize::MAX as usize {
        return Err(Failure::argument(&format!("{what}'s length is too large")));
    }
    // SAFETY: non-null, at most isize::MAX bytes, and the caller promises `len` readable
    // bytes that do not change during the call.
    Ok(unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), len) })
}

/// `len` writable bytes at `ptr` (NULL is allowed when `len` is 0).
///
/// # Safety
/// A non-null `ptr` must point to `len` writable bytes that nothing else uses for `'a`.
unsafe fn buffer<'a>(ptr: *mut u8, len: usize) -> Result<&'a mut [u8], Failure> {
    if len == 0 {
        return Ok(&mut []);
    }
    if ptr.is_null() {
        return Err(Failure::argument("buf is NULL but buf_len is not 0"));
    }
    if len > isize::MAX as usize {
        return Err(Failure::argument("buf_len is too large"));
    }
    // SAFETY: non-null, at most isize::MAX bytes, and the caller promises `len` writable
    // bytes used by nothing else during the call.
    Ok(unsafe { std::slice::from_raw_parts_mut(ptr, len) })
}

/// A key argument as `&str`; `Ok(None)` when the bytes are not UTF-8 (no archive holds
/// such a key).
///
/// # Safety
/// As [`bytes`].
unsafe fn key_arg<'a>(key: *const c_char, key_len: usize) -> Result<Option<&'a str>, Failure> {
    // SAFETY: passed on to the caller's contract.
    let b = unsafe { bytes(key, key_len, "key") }?;
    Ok(std::str::from_utf8(b).ok())
}

fn not_found(key: &str) -> Failure {
    Failure::new(QUIRE_NOT_FOUND, format!("no entry with key {key:?}"))
}

fn to_size(n: u64) -> Result<usize, Failure> {
    usize::try_from(n).map_err(|_| Failure::new(QUIRE_ERR_NOMEM, "the body is larger than memory"))
}

// ---------------------------------------------------------------------------------------
// Memory the library hands out.

extern "C" {
    fn malloc(size: usize) -> *mut c_void;
    fn free(ptr: *mut c_void);
}

/// A copy of `data` in memory from the C allocator (at least one byte, so that an empty
/// body is a valid pointer too).
fn c_copy(data: &[u8]) -> Result<*mut u8, Failure> {
    // SAFETY: malloc may be called with any size; the result is checked for NULL.
    let p = unsafe { malloc(data.len().max(1)) }.cast::<u8>();
    if p.is_null() {
        return Err(Failure::new(
            QUIRE_ERR_NOMEM,
            format!("cannot allocate {} bytes", data.len()),
        ));
    }
    // SAFETY: `p` is a fresh allocation of at least `data.len()` bytes, which cannot
    // overlap `data`.
    unsafe { ptr::copy_nonoverlapping(data.as_ptr(), p, data.len()) };
    Ok(p)
}

/// A `std::io::Write` into a fixed slice.
struct SliceWriter<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl io::Write for SliceWriter<'_> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let dst = self
            .buf
            .get_mut(self.pos..)
            .and_then(|rest| rest.get_mut(..data.len()))
            .ok_or_else(|| io::Error::new(io::ErrorKind::WriteZero, "body longer than recorded"))?;
        dst.copy_from_slice(data);
        self.pos += data.len();
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Copies `e`'s body into `buf`, or reports the size needed.
fn body_into(e: &quire::Entry<'_>, buf: &mut [u8], needed: &mut usize) -> Outcome {
    let len = to_size(e.body_len())?;
    *needed = len;
    if buf.len() < len {
        return Err(Failure::new(
            QUIRE_BUFFER_TOO_SMALL,
            format!(
                "the body of {:?} needs {len} bytes, the buffer has {}",
                e.key(),
                buf.len()
            ),
        ));
    }
    let mut w = SliceWriter {
        buf: &mut buf[..len],
        pos: 0,
    };
    e.write_body_to(&mut w)?;
    if w.pos != len {
        return Err(ReadError::Damaged {
            at: Location::Entry(e.index()),
            kind: DamageKind::WrongLength {
                expected: len as u64,
                actual: w.pos as u64,
            },
        }
        .into());
    }
    Ok(QUIRE_OK)
}

/// Reads `e`'s body into memory from `malloc`.
fn body_alloc(e: &quire::Entry<'_>, body: &mut *mut u8, len: &mut usize) -> Outcome {
    // The body grows with what decompresses, not with the length the record claims.
    let data = e.body()?;
    *body = c_copy(&data)?;
    *len = data.len();
    Ok(QUIRE_OK)
}

// ---------------------------------------------------------------------------------------
// The API.

/// The library's version, e.g. `"0.1.0"` (a static string).
#[no_mangle]
pub extern "C" fn quire_version() -> *const c_char {
    // Cannot fail or panic: a static string.
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// A human-readable message about the most recent call on this thread that did not return
/// `QUIRE_OK` (or `QUIRE_DONE`), e.g. `"damaged archive: block 17: checksum mismatch"`;
/// `""` if there was none. The string belongs to the library and stays valid until the
/// next such call on the same thread. Never NULL.
#[no_mangle]
pub extern "C" fn quire_last_error() -> *const c_char {
    catch_unwind(|| LAST_ERROR.try_with(|e| e.borrow().as_ptr()).ok())
        .ok()
        .flatten()
        .unwrap_or(c"".as_ptr())
}

/// Opens the archive file at `path` (a NUL-terminated path in the platform's encoding) by
/// memory-mapping it, and stores the handle in `*out` (NULL on failure). Constant time:
/// only the header and the section table are read.
///
/// The file must not be modified or truncated, by this process or another, while the
/// handle (or an iterator from it) is open: a mapped file that changes gives wrong bytes,
/// and a truncated one kills the process with SIGBUS. Archives written by quire are
/// replaced by a rename, never rewritten in place, which keeps this rule. When it cannot be
/// kept, read the file yourself and use `quire_open_memory`.
///
/// # Safety
/// `path` is NULL or a NUL-terminated string; `out` is NULL or points to writable
/// storage for a pointer.
#[no_mangle]
pub unsafe extern "C" fn quire_open(path: *const c_char, out: *mut *mut quire_archive) -> c_int {
    boundary(|| {
        // SAFETY: the caller's contract for `out`.
        let out = unsafe { self::out(out, "out") }?;
        *out = ptr::null_mut();
        if path.is_null() {
            return Err(Failure::argument("path is NULL"));
        }
        // SAFETY: non-null, and the caller promises a NUL-terminated string.
        let path = unsafe { CStr::from_ptr(path) };
        let mut path = path_of(path);
        // A path, never a URL: a relative path that looks like one (`http://x` is the file
        // `x` in the directory `http:`) is read as the path it is.
        if path.to_str().is_some_and(quire::source::is_url) {
            path = PathBuf::from(".").join(path);
        }
        // SAFETY: a mapped file must not be modified or truncated while mapped. That cannot
        // be checked here; it is this function's documented contract (in quire.h), passed on
        // to the C caller word for word.
        let options = unsafe { OpenOptions::new().memory_map(true) };
        let archive = quire::Archive::open_any(&path, &options)?;
        *out = handle(archive);
        Ok(QUIRE_OK)
    })
}

#[cfg(unix)]
fn path_of(p: &CStr) -> PathBuf {
    use std::os::unix::ffi::OsStrExt;
    PathBuf::from(std::ffi::OsStr::from_bytes(p.to_bytes()))
}

#[cfg(not(unix))]
fn path_of(p: &CStr) -> PathBuf {
    PathBuf::from(p.to_string_lossy().into_owned())
}

fn handle(archive: Inner) -> *mut quire_archive {
    Box::into_raw(Box::new(quire_archive {
        archive: Arc::new(archive),
        keys: Mutex::new(HashMap::new()),
    }))
}

/// Opens an archive from `len` bytes at `data`, which are **copied**: the caller may free
/// or change them as soon as this returns. Stores the handle in `*out` (NULL on failure).
///
/// # Safety
/// `data` is NULL (only with `len` 0) or points to `len` readable bytes; `out` is NULL or
/// points to writable storage for a pointer.
#[no_mangle]
pub unsafe extern "C" fn quire_open_memory(
    data: *const u8,
    len: usize,
    out: *mut *mut quire_archive,
) -> c_int {
    boundary(|| {
        // SAFETY: the caller's contract for `out`.
        let out = unsafe { self::out(out, "out") }?;
        *out = ptr::null_mut();
        // SAFETY: the caller's contract for `data` and `len`.
        let bytes = unsafe { bytes(data.cast(), len, "data") }?;
        let archive = Inner::open_source(AnySource::Memory(bytes.to_vec()), &OpenOptions::new())?;
        *out = handle(archive);
        Ok(QUIRE_OK)
    })
}

/// Opens an archive from `len` bytes at `data` **without copying** them (for an archive
/// compiled into the program, or memory the caller mapped). Stores the handle in `*out`
/// (NULL on failure).
///
/// The bytes must stay valid and unchanged until `quire_close` of this handle **and**
/// `quire_iter_free` of every iterator made from it have returned.
///
/// # Safety
/// As stated above; `data` is NULL only with `len` 0; `out` is NULL or points to writable
/// storage for a pointer.
#[no_mangle]
pub unsafe extern "C" fn quire_open_memory_borrowed(
    data: *const u8,
    len: usize,
    out: *mut *mut quire_archive,
) -> c_int {
    boundary(|| {
        // SAFETY: the caller's contract for `out`.
        let out = unsafe { self::out(out, "out") }?;
        *out = ptr::null_mut();
        // Checks NULL and the length; the slice itself is rebuilt by `Borrowed::as_slice`.
        // SAFETY: the caller's contract for `data` and `len`.
        let checked = unsafe { bytes(data.cast(), len, "data") }?;
        let ptr = NonNull::new(checked.as_ptr().cast_mut()).unwrap_or(NonNull::dangling());
        let source = AnySource::Other(Box::new(Borrowed { ptr, len }));
        let archive = Inner::open_source(source, &OpenOptions::new())?;
        *out = handle(archive);
        Ok(QUIRE_OK)
    })
}

/// How `quire_open_url` opens an archive. Start from `quire_open_options_default`, then
/// change the fields you need:
///
/// ```c
/// struct quire_open_options o;
/// quire_open_options_default(&o);
/// o.timeout_ms = 5000;
/// o.retries = 1;
/// int rc = quire_open_url("https://example.org/news.quire", &o, &archive);
/// ```
///
/// Fields may be added at the end in later versions, so the struct carries its size. A
/// library given a larger struct than it knows (a program built against a newer
/// `quire.h`) reads the fields it knows and refuses the struct with `QUIRE_ERR_ARGUMENT`
/// if any byte past them is not zero, so a setting it cannot honour is never dropped
/// silently.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct quire_open_options {
    /// `sizeof(struct quire_open_options)`: set by `quire_open_options_default` (a
    /// program that fills the struct itself sets it to `sizeof` the struct).
    pub struct_size: u32,
    /// `QUIRE_OPEN_*` bits (default 0); an unknown bit is `QUIRE_ERR_ARGUMENT`.
    pub flags: u32,
    /// The longest one HTTP request may take, from sending it to the last byte of its
    /// answer, in milliseconds (default 30000; 0: the default). A server that trickles
    /// bytes cannot hold a read longer than this (per try).
    pub timeout_ms: u64,
    /// The longest a connection may take to establish, in milliseconds (default 10000; 0:
    /// the default).
    pub connect_timeout_ms: u64,
    /// How many times a failed range request is tried again: after a server error (5xx,
    /// 429), a connection failure or a timeout, with a growing random wait from 100 ms up
    /// to 2 s between tries (default 3; **0 never retries**). 401, 403, 404, 412 and
    /// certificate errors are not retried.
    pub retries: u32,
    /// The most requests of one handle in flight at once (default 32; 0: the default).
    pub parallel: u32,
    /// The most bytes of fetched ranges the handle keeps in memory (default 64 MiB; **0
    /// keeps none**). The first 16 KiB, read at open, are kept besides.
    pub cache_bytes: u64,
}

/// `quire_open_options.flags`: open a copy whose length differs from what its header says
/// (cut short by a download that stopped, or padded) rather than refuse it; every entry
/// that lies within the bytes present reads as usual.
pub const QUIRE_OPEN_SALVAGE: u32 = 1;

/// `quire_open_options.flags`: memory-map a local path given to `quire_open_url` (as
/// `quire_open` does, with its rule: the file must not be modified or truncated while
/// open) rather than read it with positioned reads. No effect on URLs.
pub const QUIRE_OPEN_MEMORY_MAP: u32 = 2;

const KNOWN_FLAGS: u32 = QUIRE_OPEN_SALVAGE | QUIRE_OPEN_MEMORY_MAP;

/// The size of the first version of `quire_open_options`; a smaller `struct_size` is
/// refused.
const OPTIONS_V1: usize = std::mem::size_of::<quire_open_options>();

/// The largest `struct_size` looked at (a larger one is surely not a size).
const OPTIONS_MAX: usize = 4096;

impl quire_open_options {
    fn defaults() -> quire_open_options {
        let r = RemoteOptions::new();
        let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        quire_open_options {
            struct_size: OPTIONS_V1 as u32,
            flags: 0,
            timeout_ms: ms(r.get_request_timeout()),
            connect_timeout_ms: ms(r.get_connect_timeout()),
            retries: u32::try_from(r.get_retries()).unwrap_or(u32::MAX),
            parallel: u32::try_from(r.get_parallelism()).unwrap_or(u32::MAX),
            cache_bytes: r.get_cache_bytes() as u64,
        }
    }

    /// The caller's options, checked.
    ///
    /// # Safety
    /// A non-null `p` points to a readable `quire_open_options` of at least
    /// `OPTIONS_V1` bytes, and of `struct_size` bytes when that is larger.
    unsafe fn read(p: *const quire_open_options) -> Result<quire_open_options, Failure> {
        if p.is_null() {
            return Ok(quire_open_options::defaults());
        }
        // SAFETY: the caller's contract: the first field is there whatever the version.
        let size = unsafe { ptr::addr_of!((*p).struct_size).read() } as usize;
        if !(OPTIONS_V1..=OPTIONS_MAX).contains(&size) {
            return Err(Failure::argument(&format!(
                "options->struct_size is {size}, not the size of a struct quire_open_options \
                 ({OPTIONS_V1} in this library; start from quire_open_options_default)"
            )));
        }
        // SAFETY: the caller's contract: `struct_size` readable bytes at `p`.
        let all = unsafe { std::slice::from_raw_parts(p.cast::<u8>(), size) };
        if all[OPTIONS_V1..].iter().any(|&b| b != 0) {
            return Err(Failure::argument(&format!(
                "options set fields past the {OPTIONS_V1} bytes this library (version {}) knows",
                env!("CARGO_PKG_VERSION")
            )));
        }
        // SAFETY: the caller's contract: at least `OPTIONS_V1` readable bytes, a valid
        // struct (every bit pattern of its integer fields is one).
        let o = unsafe { ptr::read(p) };
        if o.flags & !KNOWN_FLAGS != 0 {
            return Err(Failure::argument(&format!(
                "options->flags has unknown bits {:#x}",
                o.flags & !KNOWN_FLAGS
            )));
        }
        Ok(o)
    }

    /// The library's options for these.
    fn to_open_options(self) -> OpenOptions {
        let mut remote = RemoteOptions::new()
            .retries(self.retries as usize)
            .cache_bytes(usize::try_from(self.cache_bytes).unwrap_or(usize::MAX));
        if self.timeout_ms != 0 {
            remote = remote.request_timeout(Duration::from_millis(self.timeout_ms));
        }
        if self.connect_timeout_ms != 0 {
            remote = remote.connect_timeout(Duration::from_millis(self.connect_timeout_ms));
        }
        if self.parallel != 0 {
            remote = remote.parallelism(self.parallel as usize);
        }
        let mut options = OpenOptions::new()
            .salvage(self.flags & QUIRE_OPEN_SALVAGE != 0)
            .remote(remote);
        if self.flags & QUIRE_OPEN_MEMORY_MAP != 0 {
            // SAFETY: the caller set QUIRE_OPEN_MEMORY_MAP, whose documented contract (in
            // quire.h) is `quire_open`'s: the file is not modified or truncated while open.
            options = unsafe { options.memory_map(true) };
        }
        options
    }
}

/// Fills `*options` with the defaults: `struct_size` = `sizeof(struct
/// quire_open_options)`, no flags, a 30 s request timeout, a 10 s connect timeout, 3
/// retries, 32 requests in flight and a 64 MiB cache. `QUIRE_ERR_ARGUMENT` when `options`
/// is NULL.
///
/// # Safety
/// `options` is NULL or points to a writable `struct quire_open_options`.
#[no_mangle]
pub unsafe extern "C" fn quire_open_options_default(options: *mut quire_open_options) -> c_int {
    boundary(|| {
        // SAFETY: the caller's contract.
        let o = unsafe { out(options, "options") }?;
        *o = quire_open_options::defaults();
        Ok(QUIRE_OK)
    })
}

/// Opens the archive at `location` and stores the handle in `*out` (NULL on failure).
/// `location` is a NUL-terminated
///
/// - `http://…` or `https://…` URL, read with HTTP range requests (the server must honour
///   `Range`; `https` trusts the system's certificates, or the PEM file named by
///   `SSL_CERT_FILE`);
/// - `s3://BUCKET/KEY` URL, read from S3 or an S3-compatible store, configured by the usual
///   environment variables: `AWS_ENDPOINT_URL`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`,
///   `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_ALLOW_HTTP=true` for a plain-http
///   endpoint, `AWS_SKIP_SIGNATURE=true` for a public bucket (with
///   `AWS_EC2_METADATA_DISABLED=true` and no credentials, requests go unsigned);
/// - or a local path (anything else), read with positioned reads (`pread`), so a file
///   truncated while open gives `QUIRE_ERR_IO`, not a crash; `QUIRE_OPEN_MEMORY_MAP` maps
///   it as `quire_open` does.
///
/// `options` may be NULL for the defaults (see `quire_open_options_default`). Opening a URL
/// makes one request (its first 16 KiB), which pins the object's version (ETag, else
/// Last-Modified): every later read asks for that version, and the handle reports
/// `QUIRE_ERR_CHANGED` rather than mix two versions. Later reads fetch only the index pages
/// and blocks they need, and cache them (`cache_bytes`); a handle may be used from several
/// threads, whose requests then go in parallel (`parallel`). The network's failures have
/// their own statuses, so a program can tell them from a damaged archive (`QUIRE_ERR_DAMAGED`,
/// bytes that arrived and are wrong): `QUIRE_ERR_NETWORK`, `QUIRE_ERR_TIMEOUT`,
/// `QUIRE_ERR_NOT_FOUND` (404), `QUIRE_ERR_FORBIDDEN` (401, 403), `QUIRE_ERR_CHANGED`, and
/// `QUIRE_ERR_ARGUMENT` for a malformed URL. Any call on the handle may return them.
///
/// Reading URLs starts two I/O threads in the process at the first `quire_open_url` of
/// one; they stay until it exits.
///
/// # Safety
/// `location` is NULL or a NUL-terminated string; `options` is NULL or points to a
/// `struct quire_open_options` of `options->struct_size` readable bytes; `out` is NULL or
/// points to writable storage for a pointer.
#[no_mangle]
pub unsafe extern "C" fn quire_open_url(
    location: *const c_char,
    options: *const quire_open_options,
    out: *mut *mut quire_archive,
) -> c_int {
    boundary(|| {
        // SAFETY: the caller's contract for `out`.
        let out = unsafe { self::out(out, "out") }?;
        *out = ptr::null_mut();
        if location.is_null() {
            return Err(Failure::argument("location is NULL"));
        }
        // SAFETY: the caller's contract for `options`.
        let options = unsafe { quire_open_options::read(options) }?.to_open_options();
        // SAFETY: non-null, and the caller promises a NUL-terminated string.
        let location = path_of(unsafe { CStr::from_ptr(location) });
        let archive = quire::Archive::open_any(&location, &options)?;
        *out = handle(archive);
        Ok(QUIRE_OK)
    })
}

/// Releases a handle (NULL is allowed and does nothing). Pointers the handle gave out
/// (keys, content types) become invalid; iterators made from it stay usable until freed.
/// No other call may be using the handle at the same time.
///
/// # Safety
/// `a` is NULL or a handle from one of the `quire_open` functions, not yet closed.
#[no_mangle]
pub unsafe extern "C" fn quire_close(a: *mut quire_archive) -> c_int {
    boundary(|| {
        if !a.is_null() {
            // SAFETY: a live handle made by `Box::into_raw` in `handle`, released once.
            drop(unsafe { Box::from_raw(a) });
        }
        Ok(QUIRE_OK)
    })
}

/// Stores the number of entries in `*count`.
///
/// # Safety
/// `a` is a live handle (or NULL: an argument error); `count` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn quire_len(a: *const quire_archive, count: *mut u64) -> c_int {
    boundary(|| {
        // SAFETY: the caller's contract.
        let (a, count) = unsafe { (arg(a, "archive")?, out(count, "count")?) };
        *count = a.archive.len();
        Ok(QUIRE_OK)
    })
}

/// Looks up the entry with the `key_len` bytes of `key` (UTF-8, not NUL-terminated) and
/// stores its number in `*index`. `QUIRE_NOT_FOUND` when there is none.
///
/// # Safety
/// `a` is a live handle; `key` points to `key_len` readable bytes (NULL only with
/// `key_len` 0); `index` is writable.
#[no_mangle]
pub unsafe extern "C" fn quire_index_of(
    a: *const quire_archive,
    key: *const c_char,
    key_len: usize,
    index: *mut u64,
) -> c_int {
    boundary(|| {
        // SAFETY: the caller's contract.
        let (a, index, key) = unsafe {
            (
                arg(a, "archive")?,
                out(index, "index")?,
                key_arg(key, key_len)?,
            )
        };
        let Some(key) = key else {
            return Err(not_found("(not UTF-8)"));
        };
        match a.archive.get(key)? {
            Some(e) => {
                *index = e.index();
                Ok(QUIRE_OK)
            }
            None => Err(not_found(key)),
        }
    })
}

/// Copies the body of the entry with key `key` (`key_len` bytes of UTF-8) into `buf`
/// (`buf_len` bytes) and stores its length in `*needed`. When the buffer is too small,
/// nothing is decompressed, `*needed` holds the size required and the result is
/// `QUIRE_BUFFER_TOO_SMALL`: call again with a large enough buffer. `QUIRE_NOT_FOUND` when
/// there is no such key.
///
/// # Safety
/// `a` is a live handle; `key` points to `key_len` readable bytes; `buf` points to
/// `buf_len` writable bytes (NULL only with `buf_len` 0); `needed` is writable.
#[no_mangle]
pub unsafe extern "C" fn quire_get(
    a: *const quire_archive,
    key: *const c_char,
    key_len: usize,
    buf: *mut u8,
    buf_len: usize,
    needed: *mut usize,
) -> c_int {
    boundary(|| {
        // SAFETY: the caller's contract.
        let (a, key, buf, needed) = unsafe {
            (
                arg(a, "archive")?,
                key_arg(key, key_len)?,
                buffer(buf, buf_len)?,
                out(needed, "needed")?,
            )
        };
        *needed = 0;
        let Some(key) = key else {
            return Err(not_found("(not UTF-8)"));
        };
        let e = a.archive.get(key)?.ok_or_else(|| not_found(key))?;
        body_into(&e, buf, needed)
    })
}

/// Reads the body of the entry with key `key` into memory the library allocates: on
/// success `*body` points to `*len` bytes, to be released with `quire_free`. On failure
/// `*body` is NULL and `*len` 0.
///
/// # Safety
/// `a` is a live handle; `key` points to `key_len` readable bytes; `body` and `len` are
/// writable.
#[no_mangle]
pub unsafe extern "C" fn quire_get_alloc(
    a: *const quire_archive,
    key: *const c_char,
    key_len: usize,
    body: *mut *mut u8,
    len: *mut usize,
) -> c_int {
    boundary(|| {
        // SAFETY: the caller's contract.
        let (a, key, body, len) = unsafe {
            (
                arg(a, "archive")?,
                key_arg(key, key_len)?,
                out(body, "body")?,
                out(len, "len")?,
            )
        };
        (*body, *len) = (ptr::null_mut(), 0);
        let Some(key) = key else {
            return Err(not_found("(not UTF-8)"));
        };
        let e = a.archive.get(key)?.ok_or_else(|| not_found(key))?;
        body_alloc(&e, body, len)
    })
}

/// Like `quire_get`, for entry number `index` (0 ≤ index < `quire_len`);
/// `QUIRE_ERR_RANGE` past the end.
///
/// # Safety
/// As `quire_get`.
#[no_mangle]
pub unsafe extern "C" fn quire_get_by_index(
    a: *const quire_archive,
    index: u64,
    buf: *mut u8,
    buf_len: usize,
    needed: *mut usize,
) -> c_int {
    boundary(|| {
        // SAFETY: the caller's contract.
        let (a, buf, needed) = unsafe {
            (
                arg(a, "archive")?,
                buffer(buf, buf_len)?,
                out(needed, "needed")?,
            )
        };
        *needed = 0;
        let e = a.archive.get_by_index(index)?;
        body_into(&e, buf, needed)
    })
}

/// Like `quire_get_alloc`, for entry number `index`.
///
/// # Safety
/// As `quire_get_alloc`.
#[no_mangle]
pub unsafe extern "C" fn quire_get_by_index_alloc(
    a: *const quire_archive,
    index: u64,
    body: *mut *mut u8,
    len: *mut usize,
) -> c_int {
    boundary(|| {
        // SAFETY: the caller's contract.
        let (a, body, len) = unsafe { (arg(a, "archive")?, out(body, "body")?, out(len, "len")?) };
        (*body, *len) = (ptr::null_mut(), 0);
        let e = a.archive.get_by_index(index)?;
        body_alloc(&e, body, len)
    })
}

/// Releases memory from `quire_get_alloc` or `quire_get_by_index_alloc` (NULL is
/// allowed).
///
/// # Safety
/// `ptr` is NULL or a pointer those functions returned, not yet freed.
#[no_mangle]
pub unsafe extern "C" fn quire_free(ptr: *mut c_void) {
    // Cannot panic: no catch_unwind needed.
    // SAFETY: the caller's contract: NULL or an allocation from `malloc` in `c_copy`.
    unsafe { free(ptr) }
}

/// Stores a pointer to entry `index`'s key in `*key` and its length in `*key_len`. The key
/// is UTF-8, **not** NUL-terminated (print it with `"%.*s"`), and belongs to the archive's
/// handle: valid until `quire_close` (the handle keeps a copy of each key asked for).
///
/// # Safety
/// `a` is a live handle; `key` and `key_len` are writable.
#[no_mangle]
pub unsafe extern "C" fn quire_key(
    a: *const quire_archive,
    index: u64,
    key: *mut *const c_char,
    key_len: *mut usize,
) -> c_int {
    boundary(|| {
        // SAFETY: the caller's contract.
        let (a, key, key_len) = unsafe {
            (
                arg(a, "archive")?,
                out(key, "key")?,
                out(key_len, "key_len")?,
            )
        };
        (*key, *key_len) = (ptr::null(), 0);
        let cached = a
            .keys
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&index)
            .map(|k| (k.as_ptr(), k.len()));
        let (p, n) = match cached {
            Some(k) => k,
            None => {
                let e = a.archive.get_by_index(index)?;
                let mut keys = a.keys.lock().unwrap_or_else(PoisonError::into_inner);
                // The copy's bytes stay where they are however the map grows, until the
                // handle is closed.
                let k = keys.entry(index).or_insert_with(|| e.key().into());
                (k.as_ptr(), k.len())
            }
        };
        *key = p.cast();
        *key_len = n;
        Ok(QUIRE_OK)
    })
}

/// Stores entry `index`'s body length (in bytes) in `*len`, without reading the body.
///
/// # Safety
/// `a` is a live handle; `len` is writable.
#[no_mangle]
pub unsafe extern "C" fn quire_body_len(
    a: *const quire_archive,
    index: u64,
    len: *mut u64,
) -> c_int {
    boundary(|| {
        // SAFETY: the caller's contract.
        let (a, len) = unsafe { (arg(a, "archive")?, out(len, "len")?) };
        *len = a.archive.get_by_index(index)?.body_len();
        Ok(QUIRE_OK)
    })
}

/// Copies entry `index`'s title, NUL-terminated, into `buf` (`buf_len` bytes) and stores
/// the size it needs, terminator included, in `*needed` (the title's length is
/// `*needed - 1`). `QUIRE_NOT_FOUND` when the entry has no title, `QUIRE_BUFFER_TOO_SMALL`
/// when it does not fit. The title is stored with the body: this decompresses the block the
/// body starts in.
///
/// # Safety
/// `a` is a live handle; `buf` points to `buf_len` writable bytes (NULL only with
/// `buf_len` 0); `needed` is writable.
#[no_mangle]
pub unsafe extern "C" fn quire_title(
    a: *const quire_archive,
    index: u64,
    buf: *mut c_char,
    buf_len: usize,
    needed: *mut usize,
) -> c_int {
    boundary(|| {
        // SAFETY: the caller's contract.
        let (a, buf, needed) = unsafe {
            (
                arg(a, "archive")?,
                buffer(buf.cast(), buf_len)?,
                out(needed, "needed")?,
            )
        };
        *needed = 0;
        let e = a.archive.get_by_index(index)?;
        let Some(title) = e.title()? else {
            return Err(Failure::new(
                QUIRE_NOT_FOUND,
                format!("{:?} has no title", e.key()),
            ));
        };
        let t = title.as_bytes();
        *needed = t.len() + 1;
        match buf.get_mut(..=t.len()) {
            Some(dst) => {
                dst[..t.len()].copy_from_slice(t);
                dst[t.len()] = 0;
                Ok(QUIRE_OK)
            }
            None => Err(Failure::new(
                QUIRE_BUFFER_TOO_SMALL,
                format!(
                    "the title needs {} bytes, the buffer has {}",
                    t.len() + 1,
                    buf.len()
                ),
            )),
        }
    })
}

/// Stores entry `index`'s date in `*year`, `*month` (1–12) and `*day` (1–31);
/// `QUIRE_NOT_FOUND` when it has none.
///
/// # Safety
/// `a` is a live handle; `year`, `month` and `day` are writable.
#[no_mangle]
pub unsafe extern "C" fn quire_date(
    a: *const quire_archive,
    index: u64,
    year: *mut c_int,
    month: *mut c_int,
    day: *mut c_int,
) -> c_int {
    boundary(|| {
        // SAFETY: the caller's contract.
        let (a, year, month, day) = unsafe {
            (
                arg(a, "archive")?,
                out(year, "year")?,
                out(month, "month")?,
                out(day, "day")?,
            )
        };
        let e = a.archive.get_by_index(index)?;
        let Some(d) = e.date() else {
            return Err(Failure::new(
                QUIRE_NOT_FOUND,
                format!("{:?} has no date", e.key()),
            ));
        };
        (*year, *month, *day) = (d.year().into(), d.month().into(), d.day().into());
        Ok(QUIRE_OK)
    })
}

/// Stores a pointer to entry `index`'s content type (e.g. `text/plain; charset=utf-8`) in
/// `*content_type` and its length in `*len`: UTF-8, **not** NUL-terminated, valid until
/// `quire_close`.
///
/// # Safety
/// `a` is a live handle; `content_type` and `len` are writable.
#[no_mangle]
pub unsafe extern "C" fn quire_content_type(
    a: *const quire_archive,
    index: u64,
    content_type: *mut *const c_char,
    len: *mut usize,
) -> c_int {
    boundary(|| {
        // SAFETY: the caller's contract.
        let (a, ct, len) = unsafe {
            (
                arg(a, "archive")?,
                out(content_type, "content_type")?,
                out(len, "len")?,
            )
        };
        (*ct, *len) = (ptr::null(), 0);
        let e = a.archive.get_by_index(index)?;
        // Borrowed from the archive's content-type table, which the handle keeps alive.
        *ct = e.content_type().as_ptr().cast();
        *len = e.content_type().len();
        Ok(QUIRE_OK)
    })
}

/// Checks every checksum and record and decompresses every block. `QUIRE_OK` when the
/// archive is intact; `QUIRE_ERR_DAMAGED` otherwise, with the number of problems in
/// `*problems` (which may be NULL) and the full report, damaged keys included, as the
/// message of `quire_last_error`. Over a URL, a verify that the network stops (or the
/// object's change on its server) returns that status (`QUIRE_ERR_NETWORK`,
/// `QUIRE_ERR_TIMEOUT`, `QUIRE_ERR_CHANGED`, ...), never `QUIRE_ERR_DAMAGED`; `*problems`
/// then counts what was found before it stopped.
///
/// # Safety
/// `a` is a live handle; `problems` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn quire_verify(a: *const quire_archive, problems: *mut usize) -> c_int {
    boundary(|| {
        // SAFETY: the caller's contract.
        let a = unsafe { arg(a, "archive") }?;
        // SAFETY: the caller's contract: NULL or writable.
        let problems = unsafe { problems.as_mut() };
        let report = a.archive.verify();
        if let Some(p) = problems {
            *p = report.problems.len();
        }
        if report.is_ok() {
            return Ok(QUIRE_OK);
        }
        if let Some(why) = &report.interrupted {
            // The network (or the object changed) stopped the check: that says nothing of
            // the archive. The report gives the reason as text; its kind comes from asking
            // the server once more whether the object is there and unchanged.
            let status = match a.archive.source().revalidate() {
                Err(e) => remote_failure(&e).map_or(QUIRE_ERR_NETWORK, |(s, _)| s),
                Ok(()) => QUIRE_ERR_NETWORK,
            };
            return Err(Failure::new(
                status,
                format!(
                    "verify stopped before the end: {why} ({} problem(s) found before that)",
                    report.problems.len()
                ),
            ));
        }
        Err(Failure::new(QUIRE_ERR_DAMAGED, report.to_string()))
    })
}

// ---------------------------------------------------------------------------------------
// Title suggestions.

/// `s` followed by a NUL byte.
fn nul_terminated(s: String) -> Box<[u8]> {
    let mut v = s.into_bytes();
    v.push(0);
    v.into_boxed_slice()
}

/// Stores in `*has` whether the archive has a title index (1) or not (0): what
/// `quire_suggest` needs. Reads nothing.
///
/// # Safety
/// `a` is a live handle; `has` is writable.
#[no_mangle]
pub unsafe extern "C" fn quire_has_title_index(a: *const quire_archive, has: *mut c_int) -> c_int {
    boundary(|| {
        // SAFETY: the caller's contract.
        let (a, has) = unsafe { (arg(a, "archive")?, out(has, "has")?) };
        *has = c_int::from(a.archive.has_title_index());
        Ok(QUIRE_OK)
    })
}

/// Title suggestions for the `text_len` bytes of `text` (UTF-8; what a reader typed), as
/// spec §14 defines them: the entries whose title (or key, for an entry without one),
/// folded, starts with `text` folded, or has a word that does. Folding ignores case,
/// diacritics and width (Unicode 16.0), so `"zurich"` finds `"Zürich"` and `"ZÜRICH"`.
///
/// Stores them in `*out` (NULL on failure), best first: matches at the title's start
/// (`QUIRE_MATCH_TITLE`) before matches at a later word's (`QUIRE_MATCH_WORD`), then
/// shorter titles, then by folded title and key; each entry once; at most `limit` of them
/// (`SIZE_MAX` for all; 0 gives none). An empty `text` matches every entry. Read them with
/// `quire_suggestions_len` and the `quire_suggestion_*` accessors, and release them with
/// `quire_suggestions_free`.
///
/// Reads only the title index (no data block, no dictionary); over a URL the first
/// suggestion fetches the index's root (a small index whole), then a page or two each.
/// `QUIRE_ERR_NO_INDEX` when the archive has no title index, `QUIRE_ERR_DAMAGED` for a
/// damaged one, `QUIRE_ERR_ARGUMENT` when `text` is not UTF-8; over a URL, the network's
/// statuses.
///
/// # Safety
/// `a` is a live handle; `text` points to `text_len` readable bytes (NULL only with
/// `text_len` 0); `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn quire_suggest(
    a: *const quire_archive,
    text: *const c_char,
    text_len: usize,
    limit: usize,
    out: *mut *mut quire_suggestions,
) -> c_int {
    boundary(|| {
        // SAFETY: the caller's contract.
        let (a, out) = unsafe { (arg(a, "archive")?, self::out(out, "out")?) };
        *out = ptr::null_mut();
        // SAFETY: the caller's contract for `text` and `text_len`.
        let text = unsafe { bytes(text, text_len, "text") }?;
        let text = std::str::from_utf8(text).map_err(|_| Failure::argument("text is not UTF-8"))?;
        let found = a.archive.suggest(text, Some(limit))?;
        let items = found
            .into_iter()
            .map(|s| Suggested {
                key: nul_terminated(s.key),
                title: s.title.map(nul_terminated),
                kind: match s.kind {
                    quire::MatchKind::TitleStart => quire_match_kind::QUIRE_MATCH_TITLE,
                    quire::MatchKind::WordStart => quire_match_kind::QUIRE_MATCH_WORD,
                },
            })
            .collect();
        *out = Box::into_raw(Box::new(quire_suggestions { items }));
        Ok(QUIRE_OK)
    })
}

/// Suggestion `i` of `s`, or `QUIRE_ERR_RANGE`.
fn suggestion(s: &quire_suggestions, i: usize) -> Result<&Suggested, Failure> {
    s.items.get(i).ok_or_else(|| {
        Failure::new(
            QUIRE_ERR_RANGE,
            format!(
                "suggestion {i} out of range ({} suggestions)",
                s.items.len()
            ),
        )
    })
}

/// Stores the number of suggestions in `*n` (numbered from 0, best first).
///
/// # Safety
/// `s` is live suggestions from `quire_suggest`; `n` is writable.
#[no_mangle]
pub unsafe extern "C" fn quire_suggestions_len(
    s: *const quire_suggestions,
    n: *mut usize,
) -> c_int {
    boundary(|| {
        // SAFETY: the caller's contract.
        let (s, n) = unsafe { (arg(s, "suggestions")?, out(n, "n")?) };
        *n = s.items.len();
        Ok(QUIRE_OK)
    })
}

/// Stores a pointer to suggestion `i`'s key in `*key` and its length in `*key_len`: UTF-8,
/// followed by a NUL byte (not counted; a key may hold NUL bytes itself, so prefer the
/// length), valid until `quire_suggestions_free`. Open the entry with `quire_get` or
/// `quire_index_of`. `QUIRE_ERR_RANGE` when `i` is not below `quire_suggestions_len`.
///
/// # Safety
/// `s` is live suggestions; `key` and `key_len` are writable.
#[no_mangle]
pub unsafe extern "C" fn quire_suggestion_key(
    s: *const quire_suggestions,
    i: usize,
    key: *mut *const c_char,
    key_len: *mut usize,
) -> c_int {
    boundary(|| {
        // SAFETY: the caller's contract.
        let (s, key, key_len) = unsafe {
            (
                arg(s, "suggestions")?,
                out(key, "key")?,
                out(key_len, "key_len")?,
            )
        };
        (*key, *key_len) = (ptr::null(), 0);
        let k = &suggestion(s, i)?.key;
        *key = k.as_ptr().cast();
        *key_len = k.len() - 1;
        Ok(QUIRE_OK)
    })
}

/// Stores a pointer to suggestion `i`'s title in `*title` and its length in `*title_len`,
/// as `quire_suggestion_key` does; `QUIRE_NOT_FOUND` (with NULL and 0) when the entry has no
/// title: it was suggested by its key, which is then what to show.
///
/// # Safety
/// `s` is live suggestions; `title` and `title_len` are writable.
#[no_mangle]
pub unsafe extern "C" fn quire_suggestion_title(
    s: *const quire_suggestions,
    i: usize,
    title: *mut *const c_char,
    title_len: *mut usize,
) -> c_int {
    boundary(|| {
        // SAFETY: the caller's contract.
        let (s, title, title_len) = unsafe {
            (
                arg(s, "suggestions")?,
                out(title, "title")?,
                out(title_len, "title_len")?,
            )
        };
        (*title, *title_len) = (ptr::null(), 0);
        let item = suggestion(s, i)?;
        let Some(t) = &item.title else {
            return Err(Failure::new(
                QUIRE_NOT_FOUND,
                format!("suggestion {i} has no title"),
            ));
        };
        *title = t.as_ptr().cast();
        *title_len = t.len() - 1;
        Ok(QUIRE_OK)
    })
}

/// Stores where suggestion `i` matched in `*kind`: `QUIRE_MATCH_TITLE` (at the start of
/// the title) or `QUIRE_MATCH_WORD` (at the start of a later word).
///
/// # Safety
/// `s` is live suggestions; `kind` is writable.
#[no_mangle]
pub unsafe extern "C" fn quire_suggestion_kind(
    s: *const quire_suggestions,
    i: usize,
    kind: *mut c_int,
) -> c_int {
    boundary(|| {
        // SAFETY: the caller's contract.
        let (s, kind) = unsafe { (arg(s, "suggestions")?, out(kind, "kind")?) };
        *kind = suggestion(s, i)?.kind as c_int;
        Ok(QUIRE_OK)
    })
}

/// Releases suggestions from `quire_suggest` (NULL is allowed).
///
/// # Safety
/// `s` is NULL or suggestions from `quire_suggest`, not yet freed and not in use by
/// another thread.
#[no_mangle]
pub unsafe extern "C" fn quire_suggestions_free(s: *mut quire_suggestions) -> c_int {
    boundary(|| {
        if !s.is_null() {
            // SAFETY: live suggestions made by `Box::into_raw` in `quire_suggest`, released
            // once.
            drop(unsafe { Box::from_raw(s) });
        }
        Ok(QUIRE_OK)
    })
}

// ---------------------------------------------------------------------------------------
// Full-text search.

/// Stores in `*has` whether the archive has a full-text index (1) or not (0): what
/// `quire_search` needs. Reads nothing.
///
/// # Safety
/// `a` is a live handle; `has` is writable.
#[no_mangle]
pub unsafe extern "C" fn quire_has_search_index(a: *const quire_archive, has: *mut c_int) -> c_int {
    boundary(|| {
        // SAFETY: the caller's contract.
        let (a, has) = unsafe { (arg(a, "archive")?, out(has, "has")?) };
        *has = c_int::from(a.archive.has_search_index());
        Ok(QUIRE_OK)
    })
}

/// Copies the tokenizer string of the archive's full-text index (spec §15.1: which
/// tokenizer, and which version, made its terms, e.g. `quire-text/1 lang=eng
/// stem=snowball-english cjk=bigram`), NUL-terminated, into `buf` (`buf_len` bytes) and
/// stores the size it needs, terminator included, in `*needed`. `QUIRE_BUFFER_TOO_SMALL`
/// when it does not fit, `QUIRE_ERR_NO_INDEX` without a full-text index,
/// `QUIRE_ERR_DAMAGED` when the index's header or root is damaged.
///
/// # Safety
/// `a` is a live handle; `buf` points to `buf_len` writable bytes (NULL only with
/// `buf_len` 0); `needed` is writable.
#[no_mangle]
pub unsafe extern "C" fn quire_search_tokenizer(
    a: *const quire_archive,
    buf: *mut c_char,
    buf_len: usize,
    needed: *mut usize,
) -> c_int {
    boundary(|| {
        // SAFETY: the caller's contract.
        let (a, buf, needed) = unsafe {
            (
                arg(a, "archive")?,
                buffer(buf.cast(), buf_len)?,
                out(needed, "needed")?,
            )
        };
        *needed = 0;
        let tokenizer = a.archive.search_tokenizer()?;
        let t = tokenizer.as_bytes();
        *needed = t.len() + 1;
        match buf.get_mut(..=t.len()) {
            Some(dst) => {
                dst[..t.len()].copy_from_slice(t);
                dst[t.len()] = 0;
                Ok(QUIRE_OK)
            }
            None => Err(Failure::new(
                QUIRE_BUFFER_TOO_SMALL,
                format!(
                    "the tokenizer string needs {} bytes, the buffer has {}",
                    t.len() + 1,
                    buf.len()
                ),
            )),
        }
    })
}

/// Full-text search (spec §15) for the `query_len` bytes of `query` (UTF-8): the entries
/// whose text holds every word of the query (and each `"quoted phrase"` word for word),
/// ranked by BM25, best first (equal scores by key), at most `limit` of them (at most
/// 10,000 whatever the limit; 0 gives none). Words are analysed as the archive's text was,
/// in its language: stemmed where the language has a stemmer (`running` finds `run`), case
/// and diacritics folded, Chinese segmented. A query without a word finds nothing. The
/// results are those of `quire search ARCHIVE QUERY --limit N`.
///
/// Stores them in `*out` (NULL on failure): read them with `quire_search_results_len` and
/// the `quire_search_result_*` accessors (key, title, entry number, score, snippet and its
/// highlights), and release them with `quire_search_results_free`.
///
/// Reads the full-text index (its root, a term page per word, the lists of common words,
/// norms, document pages), then each result's entry for its snippet; over a URL these
/// reads are asked for together. `QUIRE_ERR_NO_INDEX` when the archive has no full-text
/// index, `QUIRE_ERR_UNSUPPORTED` when it was made by a tokenizer this library does not
/// implement (`quire_search_tokenizer` names it), `QUIRE_ERR_DAMAGED` for a damaged one,
/// `QUIRE_ERR_ARGUMENT` when `query` is not UTF-8 or is over spec §15.2's limits (4096
/// bytes, 64 distinct words); over a URL, the network's statuses.
///
/// # Safety
/// `a` is a live handle; `query` points to `query_len` readable bytes (NULL only with
/// `query_len` 0); `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn quire_search(
    a: *const quire_archive,
    query: *const c_char,
    query_len: usize,
    limit: usize,
    out: *mut *mut quire_search_results,
) -> c_int {
    boundary(|| {
        // SAFETY: the caller's contract.
        let (a, out) = unsafe { (arg(a, "archive")?, self::out(out, "out")?) };
        *out = ptr::null_mut();
        // SAFETY: the caller's contract for `query` and `query_len`.
        let query = unsafe { bytes(query, query_len, "query") }?;
        let query =
            std::str::from_utf8(query).map_err(|_| Failure::argument("query is not UTF-8"))?;
        let found = a.archive.search(query, limit)?;
        let items = found
            .into_iter()
            .map(|h| Found {
                index: h.index,
                score: h.score,
                bm25: h.bm25(),
                marks: h
                    .snippet
                    .marks
                    .iter()
                    .flat_map(|m| [m.start, m.end])
                    .collect(),
                key: nul_terminated(h.key),
                title: h.title.map(nul_terminated),
                snippet: nul_terminated(h.snippet.text),
            })
            .collect();
        *out = Box::into_raw(Box::new(quire_search_results { items }));
        Ok(QUIRE_OK)
    })
}

/// Result `i` of `r`, or `QUIRE_ERR_RANGE`.
fn search_result(r: &quire_search_results, i: usize) -> Result<&Found, Failure> {
    r.items.get(i).ok_or_else(|| {
        Failure::new(
            QUIRE_ERR_RANGE,
            format!("search result {i} out of range ({} results)", r.items.len()),
        )
    })
}

/// Stores the number of results in `*n` (numbered from 0, best first).
///
/// # Safety
/// `r` is live results from `quire_search`; `n` is writable.
#[no_mangle]
pub unsafe extern "C" fn quire_search_results_len(
    r: *const quire_search_results,
    n: *mut usize,
) -> c_int {
    boundary(|| {
        // SAFETY: the caller's contract.
        let (r, n) = unsafe { (arg(r, "results")?, out(n, "n")?) };
        *n = r.items.len();
        Ok(QUIRE_OK)
    })
}

/// Stores a pointer to result `i`'s key in `*key` and its length in `*key_len`: UTF-8,
/// followed by a NUL byte (not counted; a key may hold NUL bytes itself, so prefer the
/// length), valid until `quire_search_results_free`. Open the entry with `quire_get` (or
/// by its number, `quire_search_result_index`). `QUIRE_ERR_RANGE` when `i` is not below
/// `quire_search_results_len`.
///
/// # Safety
/// `r` is live results; `key` and `key_len` are writable.
#[no_mangle]
pub unsafe extern "C" fn quire_search_result_key(
    r: *const quire_search_results,
    i: usize,
    key: *mut *const c_char,
    key_len: *mut usize,
) -> c_int {
    boundary(|| {
        // SAFETY: the caller's contract.
        let (r, key, key_len) = unsafe {
            (
                arg(r, "results")?,
                out(key, "key")?,
                out(key_len, "key_len")?,
            )
        };
        (*key, *key_len) = (ptr::null(), 0);
        let k = &search_result(r, i)?.key;
        *key = k.as_ptr().cast();
        *key_len = k.len() - 1;
        Ok(QUIRE_OK)
    })
}

/// Stores a pointer to result `i`'s title in `*title` and its length in `*title_len`, as
/// `quire_search_result_key` does (an HTML page without a title of its own has its
/// `<title>`); `QUIRE_NOT_FOUND` (with NULL and 0) when the entry has none.
///
/// # Safety
/// `r` is live results; `title` and `title_len` are writable.
#[no_mangle]
pub unsafe extern "C" fn quire_search_result_title(
    r: *const quire_search_results,
    i: usize,
    title: *mut *const c_char,
    title_len: *mut usize,
) -> c_int {
    boundary(|| {
        // SAFETY: the caller's contract.
        let (r, title, title_len) = unsafe {
            (
                arg(r, "results")?,
                out(title, "title")?,
                out(title_len, "title_len")?,
            )
        };
        (*title, *title_len) = (ptr::null(), 0);
        let Some(t) = &search_result(r, i)?.title else {
            return Err(Failure::new(
                QUIRE_NOT_FOUND,
                format!("search result {i} has no title"),
            ));
        };
        *title = t.as_ptr().cast();
        *title_len = t.len() - 1;
        Ok(QUIRE_OK)
    })
}

/// Stores result `i`'s entry number (key order) in `*index`, for `quire_get_by_index`,
/// `quire_title` and the other accessors by number.
///
/// # Safety
/// `r` is live results; `index` is writable.
#[no_mangle]
pub unsafe extern "C" fn quire_search_result_index(
    r: *const quire_search_results,
    i: usize,
    index: *mut u64,
) -> c_int {
    boundary(|| {
        // SAFETY: the caller's contract.
        let (r, index) = unsafe { (arg(r, "results")?, out(index, "index")?) };
        *index = search_result(r, i)?.index;
        Ok(QUIRE_OK)
    })
}

/// Stores result `i`'s score in `*score`, the integer BM25 score of spec §15.2 (what
/// ranks the results, and what `quire search --json` prints), and in `*bm25` the same as
/// classic BM25 with natural logarithms (`score · ln 2 / 2^32`, what `quire search` prints
/// without `--json`). Either pointer may be NULL when that form is not wanted.
///
/// # Safety
/// `r` is live results; `score` and `bm25` are NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn quire_search_result_score(
    r: *const quire_search_results,
    i: usize,
    score: *mut u64,
    bm25: *mut f64,
) -> c_int {
    boundary(|| {
        // SAFETY: the caller's contract.
        let r = unsafe { arg(r, "results")? };
        let found = search_result(r, i)?;
        // SAFETY: the caller's contract: NULL or writable.
        if let Some(s) = unsafe { score.as_mut() } {
            *s = found.score;
        }
        // SAFETY: as above.
        if let Some(b) = unsafe { bm25.as_mut() } {
            *b = found.bm25;
        }
        Ok(QUIRE_OK)
    })
}

/// Stores a pointer to result `i`'s snippet in `*text` and its length in `*text_len`: a
/// window of the entry's text (line breaks as spaces; `…` before and after when cut from a
/// longer text), UTF-8 followed by a NUL byte (not counted), valid until
/// `quire_search_results_free`. `quire_search_result_highlights` says where the query's
/// words are in it.
///
/// # Safety
/// `r` is live results; `text` and `text_len` are writable.
#[no_mangle]
pub unsafe extern "C" fn quire_search_result_snippet(
    r: *const quire_search_results,
    i: usize,
    text: *mut *const c_char,
    text_len: *mut usize,
) -> c_int {
    boundary(|| {
        // SAFETY: the caller's contract.
        let (r, text, text_len) = unsafe {
            (
                arg(r, "results")?,
                out(text, "text")?,
                out(text_len, "text_len")?,
            )
        };
        (*text, *text_len) = (ptr::null(), 0);
        let t = &search_result(r, i)?.snippet;
        *text = t.as_ptr().cast();
        *text_len = t.len() - 1;
        Ok(QUIRE_OK)
    })
}

/// Stores in `*count` how many of the query's words are marked in result `i`'s snippet,
/// and in `*ranges` a pointer to `2 * count` byte offsets into the snippet: `ranges[2k]`
/// and `ranges[2k + 1]` are the start and end of the `k`-th mark (end excluded), in order
/// and not overlapping, each on a UTF-8 character boundary. `*ranges` is NULL when `count`
/// is 0, and otherwise valid until `quire_search_results_free`. To show the snippet as
/// `quire search --json` does, escape the text between the marks for HTML and put each
/// mark in `<b>…</b>`.
///
/// # Safety
/// `r` is live results; `ranges` and `count` are writable.
#[no_mangle]
pub unsafe extern "C" fn quire_search_result_highlights(
    r: *const quire_search_results,
    i: usize,
    ranges: *mut *const usize,
    count: *mut usize,
) -> c_int {
    boundary(|| {
        // SAFETY: the caller's contract.
        let (r, ranges, count) = unsafe {
            (
                arg(r, "results")?,
                out(ranges, "ranges")?,
                out(count, "count")?,
            )
        };
        (*ranges, *count) = (ptr::null(), 0);
        let marks = &search_result(r, i)?.marks;
        if !marks.is_empty() {
            *ranges = marks.as_ptr();
            *count = marks.len() / 2;
        }
        Ok(QUIRE_OK)
    })
}

/// Releases results from `quire_search` (NULL is allowed).
///
/// # Safety
/// `r` is NULL or results from `quire_search`, not yet freed and not in use by another
/// thread.
#[no_mangle]
pub unsafe extern "C" fn quire_search_results_free(r: *mut quire_search_results) -> c_int {
    boundary(|| {
        if !r.is_null() {
            // SAFETY: live results made by `Box::into_raw` in `quire_search`, released once.
            drop(unsafe { Box::from_raw(r) });
        }
        Ok(QUIRE_OK)
    })
}

// ---------------------------------------------------------------------------------------
// Iterators.

/// What a prefix iterator owns: the archive and the prefix its walk borrows.
struct PrefixOwner {
    archive: Arc<Inner>,
    prefix: String,
}

type Walk<'a> = PrefixIter<'a>;

self_cell::self_cell!(
    /// A prefix walk beside the archive and prefix it borrows.
    struct PrefixCell {
        owner: PrefixOwner,
        #[covariant]
        dependent: Walk,
    }
);

enum IterState {
    /// Entry order: the next entry number and the end.
    Order {
        archive: Arc<Inner>,
        next: u64,
        end: u64,
    },
    /// Sorted key order under a prefix.
    Prefix(PrefixCell),
}

fn new_iter(state: IterState) -> *mut quire_iter {
    Box::into_raw(Box::new(quire_iter {
        state: Mutex::new(state),
    }))
}

/// Makes an iterator over every entry in entry order (which is key order) and
/// stores it in `*it`. The iterator keeps the archive's data alive: it may outlive
/// `quire_close` of `a`, and is released by `quire_iter_free`.
///
/// # Safety
/// `a` is a live handle; `it` is writable.
#[no_mangle]
pub unsafe extern "C" fn quire_iter_new(
    a: *const quire_archive,
    it: *mut *mut quire_iter,
) -> c_int {
    boundary(|| {
        // SAFETY: the caller's contract.
        let (a, it) = unsafe { (arg(a, "archive")?, out(it, "it")?) };
        *it = new_iter(IterState::Order {
            archive: Arc::clone(&a.archive),
            next: 0,
            end: a.archive.len(),
        });
        Ok(QUIRE_OK)
    })
}

/// Makes an iterator over the entries whose keys start with the `prefix_len` bytes of
/// `prefix` (UTF-8), in byte-wise sorted key order, and stores it in `*it` (O(log n) to
/// start, O(1) a step). A prefix of length 0 walks every entry in key order.
///
/// # Safety
/// `a` is a live handle; `prefix` points to `prefix_len` readable bytes (NULL only with
/// `prefix_len` 0); `it` is writable.
#[no_mangle]
pub unsafe extern "C" fn quire_iter_prefix(
    a: *const quire_archive,
    prefix: *const c_char,
    prefix_len: usize,
    it: *mut *mut quire_iter,
) -> c_int {
    boundary(|| {
        // SAFETY: the caller's contract.
        let (a, it, prefix) = unsafe {
            (
                arg(a, "archive")?,
                out(it, "it")?,
                bytes(prefix, prefix_len, "prefix")?,
            )
        };
        *it = ptr::null_mut();
        let prefix = std::str::from_utf8(prefix)
            .map_err(|_| Failure::argument("prefix is not UTF-8"))?
            .to_string();
        let owner = PrefixOwner {
            archive: Arc::clone(&a.archive),
            prefix,
        };
        let cell = PrefixCell::new(owner, |o| o.archive.prefix(&o.prefix));
        *it = new_iter(IterState::Prefix(cell));
        Ok(QUIRE_OK)
    })
}

/// Advances the iterator: stores the next entry's number in `*index` and returns
/// `QUIRE_OK`, or returns `QUIRE_DONE` at the end. A damaged entry returns
/// `QUIRE_ERR_DAMAGED`, and so does, once, an index page of a prefix walk that cannot be
/// read (`quire_last_error` names the entries it held and their key range); either iterator
/// can be advanced past it. A prefix walk that meets an index that is not a tree (a shared
/// or misplaced node) returns `QUIRE_ERR_DAMAGED` and then ends. Use the number with `quire_key`, `quire_get_by_index`, ... on the archive's
/// handle.
///
/// # Safety
/// `it` is a live iterator; `index` is writable.
#[no_mangle]
pub unsafe extern "C" fn quire_iter_next(it: *mut quire_iter, index: *mut u64) -> c_int {
    boundary(|| {
        // SAFETY: the caller's contract.
        let (it, index) = unsafe { (arg(it.cast_const(), "it")?, out(index, "index")?) };
        let mut state = it.state.lock().unwrap_or_else(PoisonError::into_inner);
        match &mut *state {
            IterState::Order { archive, next, end } => {
                if *next >= *end {
                    return Ok(QUIRE_DONE);
                }
                let i = *next;
                *next += 1;
                // Checks the entry's record, so damage shows here as in a prefix walk.
                archive.get_by_index(i)?;
                *index = i;
                Ok(QUIRE_OK)
            }
            IterState::Prefix(cell) => {
                match cell.with_dependent_mut(|_, walk| walk.next().map(|r| r.map(|e| e.index()))) {
                    None => Ok(QUIRE_DONE),
                    Some(Ok(i)) => {
                        *index = i;
                        Ok(QUIRE_OK)
                    }
                    Some(Err(e)) => Err(e.into()),
                }
            }
        }
    })
}

/// Releases an iterator (NULL is allowed).
///
/// # Safety
/// `it` is NULL or an iterator from `quire_iter_new` or `quire_iter_prefix`, not yet
/// freed and not in use by another thread.
#[no_mangle]
pub unsafe extern "C" fn quire_iter_free(it: *mut quire_iter) -> c_int {
    boundary(|| {
        if !it.is_null() {
            // SAFETY: a live iterator made by `Box::into_raw` in `new_iter`, released once.
            drop(unsafe { Box::from_raw(it) });
        }
        Ok(QUIRE_OK)
    })
}
