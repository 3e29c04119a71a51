//! [`AnySource`]: a source chosen at run time, and [`OpenOptions`], how
//! [`Archive::open_any`](crate::Archive::open_any) opens one from a path or a URL.
//!
//! The command-line tool and both bindings open archives through these two types, so a path,
//! a URL and bytes in memory are read the same way, with the same options, whichever door they
//! come in by.

use std::borrow::Cow;
use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};

use super::{ByteSource, FileSource};

/// Whether `location` is a URL that [`AnySource::open`] reads by ranges (`http://`,
/// `https://`, `s3://`, in any case) rather than a path.
///
/// ```
/// use quire::source::is_url;
///
/// assert!(is_url("https://example.org/news.quire"));
/// assert!(is_url("S3://bucket/news.quire"));
/// assert!(!is_url("news.quire"));
/// assert!(!is_url("http://")); // a scheme alone names nothing
/// ```
pub fn is_url(location: &str) -> bool {
    ["http://", "https://", "s3://"].iter().any(|p| {
        location.len() > p.len()
            && location
                .get(..p.len())
                .is_some_and(|h| h.eq_ignore_ascii_case(p))
    })
}

/// How [`Archive::open_any`](crate::Archive::open_any) opens an archive: a builder.
///
/// ```
/// use quire::source::OpenOptions;
///
/// let options = OpenOptions::new().block_cache(64);
/// # #[cfg(feature = "remote")]
/// let options = options.remote(
///     quire::source::RemoteOptions::new().retries(1).request_timeout(std::time::Duration::from_secs(5)),
/// );
/// let path = concat!(env!("CARGO_MANIFEST_DIR"), "/spec/vectors/small.quire");
/// let archive = quire::Archive::open_any(path, &options)?;
/// assert_eq!(archive.len(), 5);
/// # Ok::<(), quire::ReadError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct OpenOptions {
    map: bool,
    salvage: bool,
    block_cache: Option<usize>,
    #[cfg(feature = "remote")]
    remote: super::RemoteOptions,
}

impl OpenOptions {
    /// The defaults: a local file is read with positioned reads (no mapping), the length is
    /// checked, the default block cache, and (feature `remote`) the default
    /// `RemoteOptions`.
    #[cfg_attr(
        feature = "remote",
        doc = "",
        doc = "See [`RemoteOptions`](super::RemoteOptions)."
    )]
    pub fn new() -> Self {
        Self::default()
    }

    /// Memory-maps local files rather than reading them with positioned reads: faster for
    /// many small reads, and the page cache is shared between processes.
    ///
    /// # Safety
    ///
    /// A mapped file must not be modified or truncated, by this process or another, while
    /// the archive is open (the contract of [`Archive::open`](crate::Archive::open)). Files
    /// replaced by a rename, as `quire pack` and [`ArchiveWriter`](crate::ArchiveWriter)
    /// replace them, meet it.
    #[allow(unsafe_code)] // Only the contract is unsafe: see `AnySource::open`.
    pub unsafe fn memory_map(mut self, map: bool) -> Self {
        self.map = map;
        self
    }

    /// Opens a copy whose length differs from its header's
    /// ([`Archive::salvage`](crate::Archive::salvage)) instead of refusing it.
    pub fn salvage(mut self, salvage: bool) -> Self {
        self.salvage = salvage;
        self
    }

    /// Keeps up to `blocks` decompressed blocks
    /// ([`Archive::with_block_cache`](crate::Archive::with_block_cache)); `0` keeps none.
    pub fn block_cache(mut self, blocks: usize) -> Self {
        self.block_cache = Some(blocks);
        self
    }

    /// How URLs are read: timeouts, retries, the range cache, requests in flight.
    #[cfg(feature = "remote")]
    pub fn remote(mut self, options: super::RemoteOptions) -> Self {
        self.remote = options;
        self
    }

    /// The remote options.
    #[cfg(feature = "remote")]
    pub fn remote_options(&self) -> &super::RemoteOptions {
        &self.remote
    }

    pub(crate) fn is_salvage(&self) -> bool {
        self.salvage
    }

    pub(crate) fn block_cache_blocks(&self) -> Option<usize> {
        self.block_cache
    }
}

/// Any source the library opens, chosen at run time: what
/// [`Archive::open_any`](crate::Archive::open_any) reads through.
#[non_exhaustive]
pub enum AnySource {
    /// A memory-mapped file, and its path.
    Mapped(memmap2::Mmap, PathBuf),
    /// A file read with positioned reads.
    File(FileSource),
    /// Bytes in memory.
    Memory(Vec<u8>),
    /// An HTTP(S) or S3 object read by ranges.
    #[cfg(feature = "remote")]
    Remote(super::RemoteSource),
    /// Any other source.
    Other(Box<dyn ByteSource>),
}

impl std::fmt::Debug for AnySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self {
            AnySource::Mapped(..) => "Mapped",
            AnySource::File(_) => "File",
            AnySource::Memory(_) => "Memory",
            #[cfg(feature = "remote")]
            AnySource::Remote(_) => "Remote",
            AnySource::Other(_) => "Other",
        };
        f.debug_tuple(kind).field(&self.describe()).finish()
    }
}

impl AnySource {
    /// Opens `location`: a URL (see [`is_url`]; needs the `remote` feature) or a path, read
    /// as `options` say. Only opens: nothing of the archive is checked yet.
    pub fn open(location: impl AsRef<Path>, options: &OpenOptions) -> io::Result<AnySource> {
        let path = location.as_ref();
        if let Some(url) = path.to_str().filter(|s| is_url(s)) {
            return Self::open_url(url, options);
        }
        if path.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "is a directory, not a quire archive",
            ));
        }
        if !options.map {
            return FileSource::open(path).map(AnySource::File);
        }
        let file = std::fs::File::open(path)?;
        // SAFETY: `options.map` is set only through the unsafe `OpenOptions::memory_map`,
        // whose caller promises that the file is not modified or truncated while it is
        // mapped: what `Mmap::map` requires.
        #[allow(unsafe_code)]
        let map = unsafe { memmap2::Mmap::map(&file) }?;
        #[cfg(unix)]
        {
            // Lookups touch an index page and one block: no read-ahead. Failure only costs
            // speed.
            let _ = map.advise(memmap2::Advice::Random);
        }
        Ok(AnySource::Mapped(map, path.to_path_buf()))
    }

    #[cfg(feature = "remote")]
    fn open_url(url: &str, options: &OpenOptions) -> io::Result<AnySource> {
        super::RemoteSource::open(url, options.remote.clone()).map(AnySource::Remote)
    }

    #[cfg(not(feature = "remote"))]
    fn open_url(url: &str, _options: &OpenOptions) -> io::Result<AnySource> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            format!("{url}: this build of quire reads no URLs (the `remote` feature is off)"),
        ))
    }

    /// The remote source, when this is one.
    #[cfg(feature = "remote")]
    pub fn as_remote(&self) -> Option<&super::RemoteSource> {
        match self {
            AnySource::Remote(r) => Some(r),
            _ => None,
        }
    }

    fn inner(&self) -> &dyn ByteSource {
        match self {
            AnySource::Mapped(m, _) => m,
            AnySource::File(f) => f,
            AnySource::Memory(v) => v,
            #[cfg(feature = "remote")]
            AnySource::Remote(r) => r,
            AnySource::Other(b) => &**b,
        }
    }
}

impl ByteSource for AnySource {
    fn size(&self) -> u64 {
        self.inner().size()
    }

    fn read_at(&self, offset: u64, len: usize) -> io::Result<Cow<'_, [u8]>> {
        self.inner().read_at(offset, len)
    }

    fn read_many(&self, ranges: &[Range<u64>]) -> io::Result<Vec<Cow<'_, [u8]>>> {
        self.inner().read_many(ranges)
    }

    fn prefetch(&self, ranges: &[Range<u64>]) {
        match self {
            #[cfg(unix)]
            AnySource::Mapped(m, _) => {
                // Ask the kernel for the pages now, in one go, rather than a fault at a time.
                for r in ranges {
                    if r.end > r.start && r.end <= m.len() as u64 {
                        let _ = m.advise_range(
                            memmap2::Advice::WillNeed,
                            r.start as usize,
                            (r.end - r.start) as usize,
                        );
                    }
                }
            }
            other => other.inner().prefetch(ranges),
        }
    }

    fn revalidate(&self) -> io::Result<()> {
        self.inner().revalidate()
    }

    fn is_remote(&self) -> bool {
        self.inner().is_remote()
    }

    fn describe(&self) -> String {
        match self {
            AnySource::Mapped(_, p) => p.display().to_string(),
            AnySource::Memory(_) => "archive in memory".to_owned(),
            other => other.inner().describe(),
        }
    }
}
