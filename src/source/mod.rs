//! Where an archive's bytes come from: the [`ByteSource`] trait and its local implementations.
//!
//! The reader never slices a file directly: it asks its source for byte ranges — the prelude,
//! the dictionary, an index page, a block — and checks each range against a checksum it took
//! from a range it checked before (spec §1, "the checksum chain"). That is what lets the same
//! reader work over a memory map, positioned reads of a file, or (with the `remote` feature)
//! HTTP(S) and S3 range requests.
//!
//! - Any `AsRef<[u8]>` (a `Vec<u8>`, a `&[u8]`, an [`Mmap`](memmap2::Mmap), …) is a source: its
//!   reads borrow, nothing is copied.
//! - [`FileSource`] reads a file with positioned reads (`pread`), for file systems and platforms
//!   where mapping is wrong (network file systems, files that other processes may truncate).
//! - [`Recording`] wraps any source and records every range asked of it (tests and benchmarks
//!   use it to prove how many ranges a lookup touches).

mod any;
#[cfg(feature = "remote")]
mod cache;
#[cfg(feature = "remote")]
mod remote;
#[cfg(feature = "remote")]
pub use remote::{
    remote_error_kind, RemoteError, RemoteErrorKind, RemoteOptions, RemoteSource, RemoteStats,
    PRELUDE_LEN,
};

pub use any::{is_url, AnySource, OpenOptions};

use std::borrow::Cow;
use std::fs::File;
use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// A readable, fixed-length run of bytes: the archive as the reader sees it.
///
/// Implementations must be safe to share between threads; every method takes `&self`.
/// A source returns exactly the bytes asked for or an error: a short read is an error
/// ([`io::ErrorKind::UnexpectedEof`]), never fewer bytes.
pub trait ByteSource: Send + Sync {
    /// The total length in bytes, as known when the source was opened. (Not `len`, which
    /// would shadow the slice method on arrays that are sources too.)
    fn size(&self) -> u64;

    /// The bytes `offset .. offset + len`. Fails with [`io::ErrorKind::UnexpectedEof`] when the
    /// range runs past [`size`](ByteSource::size).
    fn read_at(&self, offset: u64, len: usize) -> io::Result<Cow<'_, [u8]>>;

    /// Several ranges at once, in the order given. Remote sources fetch them in parallel; the
    /// default reads them one after another.
    fn read_many(&self, ranges: &[Range<u64>]) -> io::Result<Vec<Cow<'_, [u8]>>> {
        ranges
            .iter()
            .map(|r| self.read_at(r.start, range_len(r)?))
            .collect()
    }

    /// Tells the source that the reader will soon ask for these ranges (a remote source may
    /// start fetching them). Purely a hint; the default does nothing.
    fn prefetch(&self, _ranges: &[Range<u64>]) {}

    /// Checks that the source still holds the bytes it held when opened: the reader asks
    /// when a checksum fails, to tell a file replaced under it from damage. A remote source
    /// reads its first range again, past its cache, and fails with
    /// `RemoteErrorKind::Changed` when it differs; the default has nothing to compare and
    /// says yes.
    fn revalidate(&self) -> io::Result<()> {
        Ok(())
    }

    /// Whether each read costs a round trip (a network), so that readers should ask for
    /// large, coalesced ranges and ask for them together. `false` by default.
    fn is_remote(&self) -> bool {
        false
    }

    /// What to call the source in messages: a path or a URL.
    fn describe(&self) -> String {
        "archive".to_owned()
    }
}

/// Whether `e` came from a remote source (a [`RemoteError`](crate::source) of the `remote`
/// feature): the network failed, or the object changed on its server. Walks stop at such an
/// error rather than pass over the entries it costs, since it says nothing of the archive.
pub(crate) fn is_remote_error(e: &io::Error) -> bool {
    #[cfg(feature = "remote")]
    {
        remote_error_kind(e).is_some()
    }
    #[cfg(not(feature = "remote"))]
    {
        let _ = e;
        false
    }
}

/// A copy of `e` when it is a remote source's error (the same kind and message): what every
/// later key of a batch that stops at it is answered with.
pub(crate) fn copy_remote_error(e: &io::Error) -> Option<io::Error> {
    #[cfg(feature = "remote")]
    {
        e.get_ref()?
            .downcast_ref::<RemoteError>()
            .cloned()
            .map(io::Error::from)
    }
    #[cfg(not(feature = "remote"))]
    {
        let _ = e;
        None
    }
}

/// The length of `r` as a `usize`, or an error when it does not fit.
fn range_len(r: &Range<u64>) -> io::Result<usize> {
    usize::try_from(r.end.saturating_sub(r.start))
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "range too long"))
}

/// Checks that `offset .. offset + len` lies inside `0 .. total`.
fn check_range(offset: u64, len: usize, total: u64) -> io::Result<Range<u64>> {
    let end = u64::try_from(len)
        .ok()
        .and_then(|l| offset.checked_add(l))
        .filter(|&end| end <= total)
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("range {offset}+{len} runs past the end ({total} bytes)"),
            )
        })?;
    Ok(offset..end)
}

impl<T: AsRef<[u8]> + Send + Sync> ByteSource for T {
    fn size(&self) -> u64 {
        self.as_ref().len() as u64
    }

    fn read_at(&self, offset: u64, len: usize) -> io::Result<Cow<'_, [u8]>> {
        let bytes = self.as_ref();
        let r = check_range(offset, len, bytes.len() as u64)?;
        // Both ends are ≤ bytes.len(), which is a usize.
        Ok(Cow::Borrowed(&bytes[r.start as usize..r.end as usize]))
    }
}

impl ByteSource for Box<dyn ByteSource> {
    fn size(&self) -> u64 {
        (**self).size()
    }
    fn read_at(&self, offset: u64, len: usize) -> io::Result<Cow<'_, [u8]>> {
        (**self).read_at(offset, len)
    }
    fn read_many(&self, ranges: &[Range<u64>]) -> io::Result<Vec<Cow<'_, [u8]>>> {
        (**self).read_many(ranges)
    }
    fn prefetch(&self, ranges: &[Range<u64>]) {
        (**self).prefetch(ranges)
    }
    fn revalidate(&self) -> io::Result<()> {
        (**self).revalidate()
    }
    fn is_remote(&self) -> bool {
        (**self).is_remote()
    }
    fn describe(&self) -> String {
        (**self).describe()
    }
}

/// A local file read with positioned reads, without mapping it.
///
/// The length is taken once, at [`open`](FileSource::open); a file that shrinks later makes
/// reads fail with [`io::ErrorKind::UnexpectedEof`] (where a mapping would raise `SIGBUS`).
#[derive(Debug)]
pub struct FileSource {
    file: File,
    len: u64,
    path: PathBuf,
}

impl FileSource {
    /// Opens `path` for reading.
    pub fn open(path: impl AsRef<Path>) -> io::Result<FileSource> {
        let path = path.as_ref().to_path_buf();
        let file = File::open(&path)?;
        let len = file.metadata()?.len();
        Ok(FileSource { file, len, path })
    }

    /// The path the source was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl ByteSource for FileSource {
    fn size(&self) -> u64 {
        self.len
    }

    fn read_at(&self, offset: u64, len: usize) -> io::Result<Cow<'_, [u8]>> {
        check_range(offset, len, self.len)?;
        let mut buf = vec![0; len];
        read_exact_at(&self.file, &mut buf, offset)?;
        Ok(Cow::Owned(buf))
    }

    fn describe(&self) -> String {
        self.path.display().to_string()
    }
}

#[cfg(unix)]
pub(crate) fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(windows)]
pub(crate) fn read_exact_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> io::Result<()> {
    use std::os::windows::fs::FileExt;
    while !buf.is_empty() {
        match file.seek_read(buf, offset) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => {
                buf = &mut buf[n..];
                offset += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// A source that records every range asked of it, in order.
///
/// ```
/// use quire::source::{ByteSource, Recording};
///
/// let source = Recording::new(vec![7u8; 100]);
/// source.read_at(10, 5)?;
/// assert_eq!(source.ranges(), [10..15]);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct Recording<S> {
    inner: S,
    ranges: Mutex<Vec<Range<u64>>>,
}

impl<S: ByteSource> Recording<S> {
    /// Wraps `inner`.
    pub fn new(inner: S) -> Self {
        Recording {
            inner,
            ranges: Mutex::new(Vec::new()),
        }
    }

    /// Every range read so far, in the order asked.
    pub fn ranges(&self) -> Vec<Range<u64>> {
        self.ranges.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// Forgets the ranges recorded so far.
    pub fn clear(&self) {
        if let Ok(mut r) = self.ranges.lock() {
            r.clear();
        }
    }

    fn note(&self, r: Range<u64>) {
        if let Ok(mut all) = self.ranges.lock() {
            all.push(r);
        }
    }
}

impl<S: ByteSource> ByteSource for Recording<S> {
    fn size(&self) -> u64 {
        self.inner.size()
    }

    fn read_at(&self, offset: u64, len: usize) -> io::Result<Cow<'_, [u8]>> {
        self.note(offset..offset.saturating_add(len as u64));
        self.inner.read_at(offset, len)
    }

    fn read_many(&self, ranges: &[Range<u64>]) -> io::Result<Vec<Cow<'_, [u8]>>> {
        for r in ranges {
            self.note(r.clone());
        }
        self.inner.read_many(ranges)
    }

    fn prefetch(&self, ranges: &[Range<u64>]) {
        self.inner.prefetch(ranges)
    }

    fn revalidate(&self) -> io::Result<()> {
        self.inner.revalidate()
    }

    fn is_remote(&self) -> bool {
        self.inner.is_remote()
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_reads_borrow_and_refuse_ranges_past_the_end() {
        let data = vec![1u8, 2, 3, 4];
        assert!(matches!(data.read_at(1, 2).unwrap(), Cow::Borrowed([2, 3])));
        assert_eq!(
            data.read_at(3, 2).unwrap_err().kind(),
            io::ErrorKind::UnexpectedEof
        );
        assert_eq!(
            data.read_at(u64::MAX, 1).unwrap_err().kind(),
            io::ErrorKind::UnexpectedEof
        );
    }

    #[test]
    fn file_source_reads_ranges_and_fails_past_the_end() {
        let dir = std::env::temp_dir().join(format!("quire-src-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f");
        std::fs::write(&path, b"hello, world").unwrap();
        let s = FileSource::open(&path).unwrap();
        assert_eq!(s.size(), 12);
        assert_eq!(&*s.read_at(7, 5).unwrap(), b"world");
        assert_eq!(
            s.read_at(8, 5).unwrap_err().kind(),
            io::ErrorKind::UnexpectedEof
        );
        let many = s.read_many(&[0..5, 7..12]).unwrap();
        assert_eq!((&*many[0], &*many[1]), (&b"hello"[..], &b"world"[..]));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn boxed_sources_and_recording_forward_reads() {
        let boxed: Box<dyn ByteSource> = Box::new(vec![9u8; 10]);
        let rec = Recording::new(boxed);
        rec.read_many(&[0..2, 4..6]).unwrap();
        rec.read_at(8, 2).unwrap();
        assert_eq!(rec.ranges(), [0..2, 4..6, 8..10]);
        rec.clear();
        assert!(rec.ranges().is_empty());
    }
}
