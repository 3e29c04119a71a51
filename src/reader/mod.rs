//! The reader: [`Archive`] over any [`ByteSource`] — bytes in memory, a memory map
//! ([`Archive::open`]), positioned reads of a file ([`Archive::open_file`]), or any other
//! source of byte ranges ([`Archive::new`]).
//!
//! Opening reads the prelude (the first ≤ 16 KiB) and checks it: constant work whatever the
//! number of entries. A lookup then reads one index node per level of the tree and the block
//! it needs, each checked against the checksum its parent gives (the checksum chain, spec §1),
//! because nothing in the file is trusted.

mod blocks;
mod chunked;
mod dict_bytes;
mod entry;
mod iter;
mod layout;
mod many;
mod nodes;
mod search;
mod suggest;
mod verify;

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

pub use entry::{Body, BodyReader, Document, Entry, EntryInfo};
pub use iter::{Entries, PrefixIter};
pub use search::{SearchHit, Snippet};
pub use suggest::Suggestion;
pub use verify::{Problem, Report};

use self::blocks::{BlockCache, ScratchPool};
use self::layout::Layout;
use self::nodes::NodeCache;
use crate::error::{DamageKind, ReadError, ReadResult};
use crate::format::{Header, SectionId, SectionRecord};
use crate::source::{AnySource, ByteSource, FileSource, OpenOptions};

/// Blocks the default block cache keeps (in at most [`default_cache_budget`]'s bytes).
pub const DEFAULT_BLOCK_CACHE: usize = 4096;
/// Bytes a block cache set with [`Archive::with_block_cache`] may hold at least (as libzim's
/// default cluster cache), and the least the default cache gets.
const DEFAULT_CACHE_BUDGET: usize = 16 << 20;
/// The most the default block cache holds.
const MAX_CACHE_BUDGET: usize = 48 << 20;
/// The heap §12 promises a reader's blocks, cache and dictionary take together.
const READER_HEAP: usize = 64 << 20;
/// Kept out of the default cache's share for what else a reader holds (index nodes,
/// decompression contexts).
const HEAP_RESERVE: usize = 8 << 20;

/// The default block cache's budget (§12): what the 64 MiB a reader may take leaves after
/// the two buffers of a block being read (`max_block_len` each), the dictionary's
/// `dict_footprint` (its bytes, and zstd's copy of a trained one) and a reserve, between
/// 16 and 48 MiB. Until the dictionary is read its footprint is taken at the format's
/// limit; once read, the cache grows to what its real size leaves. A site of 25 MB
/// (sqlite.org's documentation) then fits whole, as it does in libzim's cluster cache.
fn default_cache_budget(max_block_len: u32, dict_footprint: usize) -> usize {
    READER_HEAP
        .saturating_sub(2 * max_block_len as usize)
        .saturating_sub(dict_footprint)
        .saturating_sub(HEAP_RESERVE)
        .clamp(DEFAULT_CACHE_BUDGET, MAX_CACHE_BUDGET)
}

/// The heap a dictionary of `len` bytes takes once read: its bytes, and zstd's digested copy
/// when it may be a trained one (`raw`: the archive says it is raw content, used in place).
fn dict_footprint(len: usize, raw: bool) -> usize {
    if raw {
        len
    } else {
        2 * len
    }
}
/// Index nodes kept decoded (16 KiB each at most).
const NODE_CACHE: usize = 256;

/// State parsed at open and kept for every read, independent of the byte source.
pub(crate) struct State {
    layout: Layout,
    /// Decompression contexts, kept for the archive's life.
    pool: ScratchPool,
    /// The dictionary, checked and decompressed on first use.
    dict: OnceLock<Result<dict_bytes::DictBytes, DamageKind>>,
    /// A trained dictionary's entropy tables, digested once and shared by every context (a
    /// raw-content dictionary needs none: contexts use its bytes in place).
    trained: OnceLock<Option<zstd::zstd_safe::DDict<'static>>>,
    /// Recently decompressed blocks (on by default).
    blocks: Option<Mutex<BlockCache>>,
    /// The block cache is the default one, whose budget grows once the dictionary is read
    /// ([`default_cache_budget`]).
    cache_auto: bool,
    /// Recently used index nodes.
    nodes: Mutex<NodeCache>,
    /// Work done so far.
    counters: Counters,
    /// Blocks found damaged (number, stored and raw CRC) and what was wrong.
    failed: Mutex<HashMap<(u32, u32, u32), DamageKind>>,
    /// The title index (§14), read on first use.
    titles: suggest::TitleState,
    /// The full-text index (§15), read on first use.
    search: search::SearchState,
}

/// Counts of the work an archive's reads did (relaxed atomics: figures, not a protocol).
#[derive(Default)]
pub(crate) struct Counters {
    node_visits: AtomicU64,
    nodes_read: AtomicU64,
    blocks_decompressed: AtomicU64,
    bytes_read: AtomicU64,
    title_pages: AtomicU64,
    search_nodes: AtomicU64,
}

impl Counters {
    pub(crate) fn node_visit(&self) {
        self.node_visits.fetch_add(1, Ordering::Relaxed);
    }
    /// The node counts, to put back with [`restore`](Self::restore).
    pub(crate) fn node_counts(&self) -> (u64, u64) {
        (
            self.node_visits.load(Ordering::Relaxed),
            self.nodes_read.load(Ordering::Relaxed),
        )
    }
    pub(crate) fn restore(&self, (visits, read): (u64, u64)) {
        self.node_visits.store(visits, Ordering::Relaxed);
        self.nodes_read.store(read, Ordering::Relaxed);
    }
    pub(crate) fn node_read(&self) {
        self.nodes_read.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn title_page(&self) {
        self.title_pages.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn search_node(&self) {
        self.search_nodes.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn block_decompressed(&self) {
        self.blocks_decompressed.fetch_add(1, Ordering::Relaxed);
    }
    fn bytes(&self, n: usize) {
        self.bytes_read.fetch_add(n as u64, Ordering::Relaxed);
    }
    fn snapshot(&self) -> ReadCounters {
        ReadCounters {
            node_visits: self.node_visits.load(Ordering::Relaxed),
            nodes_read: self.nodes_read.load(Ordering::Relaxed),
            blocks_decompressed: self.blocks_decompressed.load(Ordering::Relaxed),
            bytes_read: self.bytes_read.load(Ordering::Relaxed),
            title_pages: self.title_pages.load(Ordering::Relaxed),
            search_nodes: self.search_nodes.load(Ordering::Relaxed),
        }
    }
    fn reset(&self) {
        for c in [
            &self.node_visits,
            &self.nodes_read,
            &self.blocks_decompressed,
            &self.bytes_read,
            &self.title_pages,
            &self.search_nodes,
        ] {
            c.store(0, Ordering::Relaxed);
        }
    }
}

/// The work an archive's reads have done since it was opened (or since
/// [`Archive::reset_counters`]): what tests and benchmarks count instead of timing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadCounters {
    /// Steps from a branch into a child node, cached or not (the root is not counted).
    pub node_visits: u64,
    /// Index nodes read from the source (node cache misses).
    pub nodes_read: u64,
    /// Blocks decompressed (block cache misses).
    pub blocks_decompressed: u64,
    /// Bytes asked of the byte source after open (the prelude is not counted).
    pub bytes_read: u64,
    /// Title-index pages (list and tops pages, §14) visited, cached or not, by suggestions
    /// and by full verification.
    pub title_pages: u64,
    /// Full-text index nodes (§15: term pages, heads, blocks, norms chunks and document
    /// pages) visited, cached or not, by searches.
    pub search_nodes: u64,
}

/// A source and the state read from it: what every read works through.
#[derive(Clone, Copy)]
pub(crate) struct Ctx<'a> {
    src: &'a dyn ByteSource,
    st: &'a State,
}

impl<'a> Ctx<'a> {
    /// `len` bytes at `offset` from the source; a failed read is a [`ReadError::Io`] naming
    /// the source.
    pub(crate) fn read(&self, offset: u64, len: usize) -> ReadResult<Cow<'a, [u8]>> {
        self.st.counters.bytes(len);
        self.src
            .read_at(offset, len)
            .map_err(|source| ReadError::Io {
                path: Some(self.src.describe().into()),
                source,
            })
    }

    /// A checksum that failed at `at`: damage, unless the source says its bytes changed
    /// since it was opened (an object replaced on its server), which is an I/O error that
    /// stops the command rather than damage to report and pass over.
    pub(crate) fn checksum_failed(&self, at: crate::error::Location) -> ReadError {
        match self.src.revalidate() {
            Ok(()) => ReadError::checksum(at),
            Err(source) => ReadError::Io {
                path: Some(self.src.describe().into()),
                source,
            },
        }
    }

    pub(crate) fn header(&self) -> &'a Header {
        &self.st.layout.header
    }
}

/// A quire archive, read from any [`ByteSource`]: a `Vec<u8>`, a `&'static [u8]` from
/// `include_bytes!`, a memory map ([`Archive::open`]), a file read with positioned reads
/// ([`Archive::open_file`]), or a remote object (the `remote` feature).
///
/// `Archive` is `Send + Sync`: many threads may read one archive at once.
pub struct Archive<S> {
    src: S,
    st: State,
}

impl<S> std::fmt::Debug for Archive<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Archive")
            .field("header", &self.st.layout.header)
            .finish_non_exhaustive()
    }
}

impl Archive<AnySource> {
    /// Opens an archive file by memory-mapping it: constant time and memory, whatever its
    /// size; pages are read from disk as lookups touch them.
    ///
    /// ```
    /// let path = concat!(env!("CARGO_MANIFEST_DIR"), "/spec/vectors/small.quire");
    /// // SAFETY: nothing modifies or truncates the file while it is open.
    /// let archive = unsafe { quire::Archive::open(path)? };
    /// assert_eq!(archive.get("empty")?.expect("present").body()?, b"");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Safety
    ///
    /// The file must not be modified or truncated, by this process or another, while the
    /// returned archive (or anything borrowed from it) is alive. A mapped file that changes
    /// underneath breaks Rust's rule that borrowed bytes do not change, and on Unix a
    /// truncated mapping raises `SIGBUS` when a missing page is touched. Files that are
    /// written once and then replaced by a rename, as [`ArchiveWriter`](crate::ArchiveWriter)
    /// and `quire pack` do, meet this: the mapping keeps the old file. When that cannot be
    /// promised, use [`Archive::open_file`], which reads without mapping.
    pub unsafe fn open(path: impl AsRef<Path>) -> ReadResult<Self> {
        // SAFETY: the caller promises what `memory_map` asks (this function's contract).
        let options = unsafe { OpenOptions::new().memory_map(true) };
        Self::open_any(path, &options)
    }
}

impl Archive<FileSource> {
    /// Opens an archive file for reading with positioned reads, without mapping it: safe
    /// whatever happens to the file (a file truncated under the reader gives an error, not a
    /// signal), at the cost of a system call and a copy per range read.
    ///
    /// ```
    /// let path = concat!(env!("CARGO_MANIFEST_DIR"), "/spec/vectors/small.quire");
    /// let archive = quire::Archive::open_file(path)?;
    /// assert_eq!(archive.get("empty")?.expect("present").body()?, b"");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open_file(path: impl AsRef<Path>) -> ReadResult<Self> {
        let path = path.as_ref();
        let src = FileSource::open(path).map_err(|source| ReadError::Io {
            path: Some(path.to_path_buf()),
            source,
        })?;
        Archive::new(src)
    }
}

#[cfg(feature = "remote")]
impl Archive<crate::source::RemoteSource> {
    /// Opens an archive where it lies: `https://…`, `http://…` or `s3://bucket/key` (the
    /// endpoint, region and credentials of S3 come from the usual `AWS_*` environment
    /// variables, so any S3-compatible store works). Reads the prelude in one request; a
    /// lookup then fetches one index page and one block, and the first block that needs the
    /// dictionary fetches it at the same time (spec §1). The version of the object seen at open is pinned: should the object change,
    /// reads fail (an [`io::Error`](std::io::Error) whose
    /// [`remote_error_kind`](crate::source::remote_error_kind) is `Changed`), and the
    /// checksum chain catches a replacement that keeps the version tag. Needs the `remote`
    /// feature.
    ///
    /// ```no_run
    /// let archive = quire::Archive::open_url("https://example.org/news.quire")?;
    /// let entry = archive.get("2002/embassy")?.expect("present");
    /// println!("{}", String::from_utf8_lossy(&entry.body()?));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open_url(url: &str) -> ReadResult<Self> {
        Self::open_url_with(url, crate::source::RemoteOptions::default())
    }

    /// [`open_url`](Self::open_url) with options: the range cache's budget, timeouts,
    /// retries.
    pub fn open_url_with(url: &str, options: crate::source::RemoteOptions) -> ReadResult<Self> {
        let src =
            crate::source::RemoteSource::open(url, options).map_err(|source| ReadError::Io {
                path: Some(url.into()),
                source,
            })?;
        Archive::new(src)
    }
}

impl Archive<AnySource> {
    /// Opens an archive wherever it lies: a path, or (feature `remote`) an `http://`,
    /// `https://` or `s3://BUCKET/KEY` URL ([`is_url`](crate::source::is_url)), read as
    /// `options` say. The one way in for programs that take a location from their user: the
    /// command-line tool and both bindings open archives with it.
    ///
    /// A local file is read with positioned reads unless
    /// [`memory_map`](OpenOptions::memory_map) is set. A URL is opened with one request (the
    /// first 16 KiB); the dictionary is fetched only when a block needs it, so listing keys,
    /// `info` and a missing key read the prelude and index pages only.
    ///
    /// ```
    /// use quire::source::OpenOptions;
    ///
    /// let path = concat!(env!("CARGO_MANIFEST_DIR"), "/spec/vectors/small.quire");
    /// let archive = quire::Archive::open_any(path, &OpenOptions::new())?;
    /// assert_eq!(archive.get("empty")?.expect("present").body()?, b"");
    /// # Ok::<(), quire::ReadError>(())
    /// ```
    pub fn open_any(location: impl AsRef<Path>, options: &OpenOptions) -> ReadResult<Self> {
        let location = location.as_ref();
        let src = AnySource::open(location, options).map_err(|source| ReadError::Io {
            path: Some(location.to_path_buf()),
            source,
        })?;
        Self::open_source(src, options)
    }

    /// Reads an archive from a source already opened ([`AnySource::Memory`] for bytes, say),
    /// with `options`' salvage and block-cache settings.
    pub fn open_source(src: AnySource, options: &OpenOptions) -> ReadResult<Self> {
        if src.size() == 0 {
            return Err(ReadError::Empty);
        }
        let archive = Self::opened(src, options.is_salvage())?;
        Ok(match options.block_cache_blocks() {
            Some(n) => archive.with_block_cache(n),
            None => archive,
        })
    }
}

impl<S: ByteSource> Archive<S> {
    /// Reads an archive through any byte source: bytes in memory (anything that is
    /// `AsRef<[u8]>`), a [`FileSource`], a remote source, or your own. Reads the prelude (one
    /// range of at most 16 KiB) and checks it: constant work, independent of the number of
    /// entries. The dictionary is read when the first block that needs it is.
    ///
    /// ```
    /// let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/spec/vectors/small.quire"))?;
    /// let archive = quire::Archive::new(bytes)?;
    /// assert_eq!(archive.len(), 5);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(source: S) -> ReadResult<Self> {
        Self::opened(source, false)
    }

    /// Opens a copy that was cut short (a download that stopped) or has bytes appended (a
    /// copy tool that padded it), which [`new`](Self::new) refuses with
    /// `length_mismatch`. Every check but the file's length is made as usual; the archive is
    /// read as the length its header gives, so every entry whose prelude, index page and
    /// blocks lie before the cut reads back intact, and the others fail with an I/O error
    /// (a sorted walk, [`prefix`](Self::prefix), reports each lost page once and goes on).
    /// `quire salvage` writes what can be read into a new archive.
    ///
    /// ```
    /// let mut bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/spec/vectors/small.quire"))?;
    /// bytes.extend_from_slice(b"padding");
    /// assert_eq!(quire::Archive::new(&bytes[..]).unwrap_err().code(), "length_mismatch");
    /// let archive = quire::Archive::salvage(&bytes[..])?;
    /// assert!(archive.iter().all(|e| e.is_ok()));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn salvage(src: S) -> ReadResult<Self> {
        Self::opened(src, true)
    }

    fn opened(src: S, salvage: bool) -> ReadResult<Self> {
        // The dictionary is not fetched here: the first block that needs it asks for it,
        // together with the block (listing keys and missing keys never need it).
        let layout = Layout::open(&src, salvage)?;
        let header = &layout.header;
        let raw = header.required_flags & crate::format::REQUIRED_RAW_DICT != 0;
        let dict = match layout.range(SectionId::Dict).is_empty() {
            true => 0,
            false => dict_footprint(crate::format::MAX_DICT_LEN as usize, raw),
        };
        let budget = default_cache_budget(header.max_block_len, dict);
        Ok(Archive {
            src,
            st: State {
                layout,
                pool: ScratchPool::default(),
                dict: OnceLock::new(),
                trained: OnceLock::new(),
                blocks: Some(Mutex::new(BlockCache::new(DEFAULT_BLOCK_CACHE, budget))),
                cache_auto: true,
                nodes: Mutex::new(NodeCache::new(NODE_CACHE)),
                counters: Counters::default(),
                failed: Mutex::new(HashMap::new()),
                titles: suggest::TitleState::default(),
                search: search::SearchState::default(),
            },
        })
    }

    /// Keeps up to `blocks` decompressed blocks in memory (and at most 16 MiB, or `blocks`
    /// × 64 KiB when that is more), so that reads that come back to a block decompress it
    /// once. On by default: up to 4096 blocks in 16–48 MiB, what the 64 MiB of §12 leave after
    /// the dictionary and the block buffers; `0` turns it off.
    pub fn with_block_cache(mut self, blocks: usize) -> Self {
        let budget = DEFAULT_CACHE_BUDGET.max(blocks.saturating_mul(64 << 10));
        self.st.blocks = (blocks > 0).then(|| Mutex::new(BlockCache::new(blocks, budget)));
        self.st.cache_auto = false;
        self
    }

    /// The work this archive's reads have done so far: index nodes visited and read, blocks
    /// decompressed, bytes read.
    ///
    /// ```
    /// let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/spec/vectors/depth1.quire"))?;
    /// let archive = quire::Archive::new(bytes)?;
    /// let n = archive.iter().filter(|e| e.is_ok()).count() as u64;
    /// assert_eq!(n, archive.len());
    /// // A walk visits each page once.
    /// assert!(archive.counters().node_visits <= 1 + archive.len() / 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn counters(&self) -> ReadCounters {
        self.st.counters.snapshot()
    }

    /// Sets every [`counters`](Self::counters) figure back to zero.
    pub fn reset_counters(&self) {
        self.st.counters.reset();
    }

    /// Gives the byte source back.
    pub fn into_inner(self) -> S {
        self.src
    }

    /// The byte source.
    pub fn source(&self) -> &S {
        &self.src
    }

    fn ctx(&self) -> Ctx<'_> {
        Ctx {
            src: &self.src,
            st: &self.st,
        }
    }

    /// Number of entries.
    pub fn len(&self) -> u64 {
        self.st.layout.header.entry_count
    }

    /// Whether the archive has no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of blocks.
    pub fn block_count(&self) -> u64 {
        self.st.layout.header.block_count
    }

    /// The parsed header.
    pub fn header(&self) -> &Header {
        &self.st.layout.header
    }

    /// Archive metadata (`title`, `description`, `creator`, `source`, `created`, `tool`, ...).
    pub fn metadata(&self) -> &[(String, String)] {
        &self.st.layout.meta
    }

    /// One archive metadata value by name.
    pub fn metadata_value(&self, name: &str) -> Option<&str> {
        self.st
            .layout
            .meta
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The content types used by entries.
    pub fn content_types(&self) -> &[String] {
        &self.st.layout.ctypes
    }

    /// Every section record: id, offset, length, CRC, in file order.
    pub fn sections(&self) -> &[SectionRecord] {
        &self.st.layout.records
    }

    /// Stored (compressed) size of the dictionary in bytes (0 when there is none).
    pub fn dictionary_len(&self) -> u64 {
        let r = self.st.layout.range(SectionId::Dict);
        r.end - r.start
    }

    /// The dictionary's size unpacked, as its zstd frame header declares it, read only when
    /// that header lies in the first 16 KiB of the file (which opening reads, and a remote
    /// source keeps): no more of the dictionary is read or checked. `Some(0)` when there is
    /// no dictionary; `None` when the header lies further on or declares no size.
    pub fn dictionary_declared_len(&self) -> Option<u64> {
        let r = self.st.layout.range(SectionId::Dict);
        if r.end == r.start {
            return Some(0);
        }
        let want = (r.end - r.start).min(18);
        if r.start.checked_add(want)? > crate::format::MAX_PRELUDE_LEN as u64 {
            return None;
        }
        let head = self.source().read_at(r.start, want as usize).ok()?;
        zstd_content_size(&head)
    }

    /// Stored size of all blocks (the DATA section) in bytes.
    pub fn data_len(&self) -> u64 {
        let r = self.st.layout.range(SectionId::Data);
        r.end - r.start
    }

    /// The zstd dictionary the blocks were compressed with, checked and decompressed on
    /// first use (`None` when the archive has none).
    pub fn dictionary(&self) -> ReadResult<Option<&[u8]>> {
        self.ctx().dictionary()
    }

    /// Looks an entry up by key: one index node per level of the tree (one page for most
    /// archives), each at most 16 KiB, searched by bisection.
    ///
    /// ```
    /// # let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/spec/vectors/small.quire"))?;
    /// # let archive = quire::Archive::new(bytes)?;
    /// let entry = archive.get("news/2002/embassy")?.expect("present");
    /// assert_eq!(entry.title()?, Some("Asylum Seekers Break Into Embassy"));
    /// assert_eq!(entry.date().map(|d| d.to_string()).as_deref(), Some("2002-03-14"));
    /// assert!(archive.get("news/2002/nope")?.is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn get(&self, key: &str) -> ReadResult<Option<Entry<'_>>> {
        self.ctx().get_key(key.as_bytes())
    }

    /// Looks up many keys at once: the results in the order of `keys`, each as
    /// [`get`](Self::get) gives it.
    ///
    /// Over a network (a remote source) the keys' index nodes are fetched together, one
    /// round of requests per level of the tree, and their blocks (with the dictionary, the
    /// first time) are then asked for together, so that they arrive while the first bodies
    /// are read: a few round trips for many keys instead of a few per key. How many requests
    /// are in flight at once is the source's setting
    /// ([`RemoteOptions::parallelism`](crate::source)). Locally it is the same as a loop of
    /// `get`.
    ///
    /// ```
    /// # let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/spec/vectors/small.quire"))?;
    /// # let archive = quire::Archive::new(bytes)?;
    /// let found = archive.get_many(&["news/2002/embassy", "nope", "empty"]);
    /// let keys: Vec<Option<String>> = found
    ///     .into_iter()
    ///     .map(|r| r.map(|e| e.map(|e| e.key().to_owned())))
    ///     .collect::<Result<_, _>>()?;
    /// assert_eq!(keys, [Some("news/2002/embassy".into()), None, Some("empty".into())]);
    /// # Ok::<(), quire::ReadError>(())
    /// ```
    pub fn get_many<K: AsRef<str>>(&self, keys: &[K]) -> Vec<ReadResult<Option<Entry<'_>>>> {
        let keys: Vec<&[u8]> = keys.iter().map(|k| k.as_ref().as_bytes()).collect();
        self.ctx().get_many(&keys)
    }

    /// Entry number `index`: entries are numbered in key order.
    pub fn get_by_index(&self, index: u64) -> ReadResult<Entry<'_>> {
        self.ctx().entry(index)
    }

    /// The entry number of a key, if present.
    pub fn index_of(&self, key: &str) -> ReadResult<Option<u64>> {
        Ok(self.get(key)?.map(|e| e.index()))
    }

    /// All entries, in key order.
    ///
    /// ```
    /// # let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/spec/vectors/small.quire"))?;
    /// # let archive = quire::Archive::new(bytes)?;
    /// let mut bodies = 0;
    /// for entry in &archive {
    ///     bodies += entry?.body_len();
    /// }
    /// assert_eq!(archive.iter().len(), 5);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn iter(&self) -> Entries<'_> {
        Entries::new(self.ctx())
    }

    /// Entries whose keys start with `prefix`, in key order: one descent of the tree, then a
    /// walk forward.
    ///
    /// ```
    /// # let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/spec/vectors/dict.quire"))?;
    /// # let archive = quire::Archive::new(bytes)?;
    /// let keys: Vec<String> = archive
    ///     .prefix("article/00")
    ///     .map(|e| e.map(|e| e.key().to_string()))
    ///     .collect::<Result<_, _>>()?;
    /// assert_eq!(keys.len(), 10);
    /// assert!(keys.windows(2).all(|w| w[0] < w[1]));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn prefix<'a>(&'a self, prefix: &'a str) -> PrefixIter<'a> {
        PrefixIter::new(self.ctx(), prefix.as_bytes())
    }

    /// Title suggestions (spec §14) for what a user typed: the entries whose title, folded
    /// (case, diacritics, width and compatibility forms: "zurich" finds "Zürich" and
    /// "ＺÜＲＩＣＨ"), starts with `text` folded, or has a word that does; title starts
    /// first, then shorter titles, then by folded title and key; each entry once. At most
    /// `limit` of them (`None`: all). Reads the title index only (no data block, no
    /// dictionary): over a network, the first suggestion fetches its root (and a small index
    /// whole), then a page or two. An entry without a title is suggested by its key.
    ///
    /// ```
    /// use quire::{Archive, ArchiveWriter, MatchKind, NewEntry, WriterOptions};
    /// let mut w = ArchiveWriter::in_memory(WriterOptions::new())?;
    /// w.add(&NewEntry::new("zh", b"").title("Zürich"))?;
    /// w.add(&NewEntry::new("air", b"").title("Flughafen ZÜRICH"))?;
    /// w.add(&NewEntry::new("lake", b"").title("Lake Geneva"))?;
    /// let archive = Archive::new(w.finish_into_inner()?.0.into_inner())?;
    /// let found = archive.suggest("zur", Some(10))?;
    /// let keys: Vec<&str> = found.iter().map(|s| s.key.as_str()).collect();
    /// assert_eq!(keys, ["zh", "air"]);
    /// assert_eq!(found[0].kind, MatchKind::TitleStart);
    /// assert_eq!(found[1].kind, MatchKind::WordStart);
    /// assert_eq!(found[1].title.as_deref(), Some("Flughafen ZÜRICH"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn suggest(&self, text: &str, limit: Option<usize>) -> ReadResult<Vec<Suggestion>> {
        self.ctx().suggest(text, limit)
    }

    /// The entries in title order, from the title index (spec §14): entries
    /// `first .. first + count` of them sorted by folded title (case, diacritics and width
    /// set aside), then key, each as its key and title (`None` for an entry without one,
    /// listed by its key). Fewer past the end; [`len`](Self::len) entries in all. Reads the
    /// list pages that hold them (together, over a network), no data block: a paged
    /// listing by title, such as `quire serve`'s home page.
    ///
    /// ```
    /// use quire::{Archive, ArchiveWriter, NewEntry, WriterOptions};
    /// let mut w = ArchiveWriter::in_memory(WriterOptions::new())?;
    /// w.add(&NewEntry::new("c", b"").title("Zürich"))?;
    /// w.add(&NewEntry::new("a", b"").title("lake Geneva"))?;
    /// w.add(&NewEntry::new("b", b"").title("Bern"))?;
    /// let archive = Archive::new(w.finish_into_inner()?.0.into_inner())?;
    /// let rows = archive.by_title(0, 10)?;
    /// let keys: Vec<&str> = rows.iter().map(|(k, _)| k.as_str()).collect();
    /// assert_eq!(keys, ["b", "a", "c"]);
    /// assert_eq!(archive.by_title(1, 1)?, [("a".to_string(), Some("lake Geneva".to_string()))]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn by_title(&self, first: u64, count: usize) -> ReadResult<Vec<(String, Option<String>)>> {
        self.ctx().by_title(first, count)
    }

    /// Whether the archive has a title index (spec §14), as its section table says: what
    /// [`suggest`](Self::suggest) needs. Reads nothing.
    pub fn has_title_index(&self) -> bool {
        self.ctx().has_title_index()
    }

    /// Full-text search (spec §15): the entries that hold every word of `query` (and its
    /// quoted phrases, `"new york"`), ranked by BM25 (integer scores, ties by key), at most
    /// `limit` (at most 10,000), each with its key, title, score and a snippet of
    /// its text with the query's words marked. Words are analysed as the archive's text
    /// was (its language: stemming, so `running` finds `run`; CJK segmentation).
    ///
    /// Reads the full-text index (its root, a term page per word, the lists of common
    /// words, norms, document pages), then each result's entry for its snippet (and each
    /// candidate's, up to 1,000 more, to check phrases). Errors:
    /// [`ReadError::NoSearchIndex`] without an index, [`ReadError::UnsupportedTokenizer`]
    /// when the index was made by a tokenizer this build does not implement,
    /// [`ReadError::InvalidQuery`] over 4096 bytes or 64 distinct words, and damage
    /// (`damaged_search_index`).
    ///
    /// ```
    /// use quire::{Archive, ArchiveWriter, IndexKind, NewEntry, WriterOptions};
    /// let opts = WriterOptions::new().index(IndexKind::Full).metadata("language", "eng");
    /// let mut w = ArchiveWriter::in_memory(opts)?;
    /// w.add(&NewEntry::new("a", b"Cats are running in the garden.").title("Cats"))?;
    /// w.add(&NewEntry::new("b", b"A dog runs.").title("Dogs"))?;
    /// let archive = Archive::new(w.finish_into_inner()?.0.into_inner())?;
    /// let hits = archive.search("run", 10)?;
    /// let keys: Vec<&str> = hits.iter().map(|h| h.key.as_str()).collect();
    /// assert_eq!(keys.len(), 2);
    /// let hits = archive.search("running cats", 10)?;
    /// assert_eq!(hits[0].key, "a");
    /// assert_eq!(hits[0].snippet.to_html(), "<b>Cats</b> are <b>running</b> in the garden.");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[cfg(feature = "fulltext")]
    pub fn search(&self, query: &str, limit: usize) -> ReadResult<Vec<SearchHit>> {
        self.ctx().search(query, limit)
    }

    /// Whether the archive has a full-text index (spec §15), as its section table says:
    /// what `search` (feature `fulltext`) needs. Reads nothing.
    pub fn has_search_index(&self) -> bool {
        self.ctx().has_search_index()
    }

    /// A term's postings in the full-text index (spec §15.5): (entry number, term
    /// frequency) in entry order, or `None` when the dictionary does not hold the term.
    /// The term is looked up as given (already analysed); this needs no tokenizer.
    pub fn search_postings(&self, term: &str) -> ReadResult<Option<Vec<(u64, u32)>>> {
        self.ctx().search_postings(term)
    }

    /// The tokenizer string of the archive's full-text index (spec §15.1, e.g.
    /// `quire-text/1 lang=eng stem=snowball-english cjk=bigram`).
    pub fn search_tokenizer(&self) -> ReadResult<String> {
        self.ctx().search_tokenizer()
    }

    /// Checks every checksum, every node, record and entry, decompresses every block, and
    /// reports all damage found. Reading continues past damage; the report lists what is
    /// affected.
    pub fn verify(&self) -> Report {
        verify::verify(self.ctx())
    }
}

impl<'a, S: ByteSource> IntoIterator for &'a Archive<S> {
    type Item = ReadResult<Entry<'a>>;
    type IntoIter = Entries<'a>;
    fn into_iter(self) -> Entries<'a> {
        self.iter()
    }
}

/// The content size a zstd frame header declares (RFC 8878, 3.1.1.1), if it declares one.
fn zstd_content_size(b: &[u8]) -> Option<u64> {
    if b.get(..4)? != [0x28, 0xB5, 0x2F, 0xFD] {
        return None;
    }
    let fhd = *b.get(4)?;
    let single_segment = fhd & 0x20 != 0;
    let at = 5 + usize::from(!single_segment) + [0, 1, 2, 4][usize::from(fhd & 3)];
    let len = match fhd >> 6 {
        0 if single_segment => 1,
        0 => return None,
        1 => 2,
        2 => 4,
        _ => 8,
    };
    let field = b.get(at..at + len)?;
    let mut v = [0u8; 8];
    v[..len].copy_from_slice(field);
    let n = u64::from_le_bytes(v);
    Some(if len == 2 { n + 256 } else { n })
}
