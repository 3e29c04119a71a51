//! The reader: [`Archive`] over any byte storage, with a memory-mapped [`Archive::open`].
//!
//! Opening checks the header, the section table and the two small sections (META and CTYPES):
//! constant work whatever the number of entries. Every later read checks the CRC of each record
//! it uses and the bounds of everything that record points at, because nothing in the file is
//! trusted.

mod blocks;
mod entry;
mod iter;
mod layout;
mod verify;
mod view;

use std::path::Path;
use std::sync::{Mutex, OnceLock};

pub use entry::{BodyReader, Document, Entry, EntryInfo};
pub use iter::{Entries, PrefixIter};
pub use verify::{Problem, Report};

use self::blocks::{BlockCache, ScratchPool};
use self::layout::Layout;
use self::view::View;
use crate::error::{DamageKind, ReadError, ReadResult};
use crate::format::{ctypes, meta, Header, SectionId, SectionRecord};

/// State shared by every read, independent of the byte storage.
pub(crate) struct Shared {
    layout: Layout,
    meta: Vec<(String, String)>,
    ctypes: Vec<String>,
    /// Decompression contexts with the dictionary loaded, kept for the archive's life.
    pool: ScratchPool,
    /// The dictionary, checked and decompressed on first use.
    dict: OnceLock<Result<Vec<u8>, Option<DamageKind>>>,
    /// Recently decompressed blocks, most recent last (off unless asked for).
    cache: Option<Mutex<BlockCache>>,
}

/// A quire archive, read from any byte storage: a `Vec<u8>`, a `&'static [u8]` from
/// `include_bytes!`, or a memory map ([`Archive::open`]).
///
/// `Archive` is `Send + Sync`: many threads may read one archive at once.
pub struct Archive<D: AsRef<[u8]>> {
    data: D,
    shared: Shared,
}

impl<D: AsRef<[u8]>> std::fmt::Debug for Archive<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Archive")
            .field("header", &self.shared.layout.header)
            .finish_non_exhaustive()
    }
}

impl Archive<memmap2::Mmap> {
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
    /// promised, read the file into memory and use [`Archive::new`].
    pub unsafe fn open(path: impl AsRef<Path>) -> ReadResult<Self> {
        let path = path.as_ref();
        let with_path = |source| ReadError::Io {
            path: Some(path.to_path_buf()),
            source,
        };
        let file = std::fs::File::open(path).map_err(with_path)?;
        // SAFETY: the caller promises that the file is not modified or truncated while the
        // map is alive (this function's contract), which is what `Mmap::map` requires.
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(with_path)?;
        #[cfg(unix)]
        {
            // Lookups touch an index record and one block: tell the kernel not to read
            // ahead. Failure only costs speed, so it is ignored.
            let _ = map.advise(memmap2::Advice::Random);
        }
        Archive::new(map)
    }
}

impl<D: AsRef<[u8]>> Archive<D> {
    /// Reads an archive from bytes. Checks the header, the section table and the small
    /// META and CTYPES sections; constant work, independent of the number of entries.
    ///
    /// ```
    /// let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/spec/vectors/small.quire"))?;
    /// let archive = quire::Archive::new(bytes)?;
    /// assert_eq!(archive.len(), 5);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(data: D) -> ReadResult<Self> {
        let bytes = data.as_ref();
        let layout = Layout::parse(bytes)?;
        let meta = meta::decode(layout.section(bytes, SectionId::Meta)?)?;
        let ctypes = ctypes::decode(layout.section(bytes, SectionId::Ctypes)?)?;
        Ok(Archive {
            data,
            shared: Shared {
                layout,
                meta,
                ctypes,
                pool: ScratchPool::default(),
                dict: OnceLock::new(),
                cache: None,
            },
        })
    }

    /// Keeps the last `blocks` decompressed blocks in memory, so that readers that walk
    /// entries in order (or come back to the same block) decompress each block once.
    /// Off by default. `0` turns it off.
    pub fn with_block_cache(mut self, blocks: usize) -> Self {
        self.shared.cache = (blocks > 0).then(|| Mutex::new(BlockCache::new(blocks)));
        self
    }

    /// Gives the byte storage back.
    pub fn into_inner(self) -> D {
        self.data
    }

    fn view(&self) -> View<'_> {
        View::new(self.data.as_ref(), &self.shared)
    }

    /// Number of entries.
    pub fn len(&self) -> u64 {
        self.shared.layout.header.entry_count
    }

    /// Whether the archive has no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of blocks.
    pub fn block_count(&self) -> u64 {
        self.shared.layout.header.block_count
    }

    /// The parsed fixed header.
    pub fn header(&self) -> &Header {
        &self.shared.layout.header
    }

    /// Archive metadata (`title`, `description`, `creator`, `source`, `created`, `tool`, ...).
    pub fn metadata(&self) -> &[(String, String)] {
        &self.shared.meta
    }

    /// One archive metadata value by name.
    pub fn metadata_value(&self, name: &str) -> Option<&str> {
        self.shared
            .meta
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The content types used by entries.
    pub fn content_types(&self) -> &[String] {
        &self.shared.ctypes
    }

    /// Every section record: id, offset, length, CRC.
    pub fn sections(&self) -> &[SectionRecord] {
        &self.shared.layout.records
    }

    /// Stored (compressed) size of the dictionary section in bytes (0 when there is none).
    pub fn dictionary_len(&self) -> u64 {
        let r = self.shared.layout.range(SectionId::Dict);
        r.end - r.start
    }

    /// The zstd dictionary the blocks were compressed with, checked and decompressed on
    /// first use (`None` when the archive has none).
    pub fn dictionary(&self) -> ReadResult<Option<&[u8]>> {
        self.view().dictionary()
    }

    /// Looks an entry up by key: O(1) expected, at most `max_probe + 1` buckets.
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
        self.view().get_key(key.as_bytes())
    }

    /// Entry number `index` (entries are numbered in the order they were added).
    pub fn get_by_index(&self, index: u64) -> ReadResult<Entry<'_>> {
        self.view().entry(index)
    }

    /// The entry number of a key, if present.
    pub fn index_of(&self, key: &str) -> ReadResult<Option<u64>> {
        Ok(self.get(key)?.map(|e| e.index()))
    }

    /// All entries in entry order.
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
        Entries::new(self.view())
    }

    /// Entries whose keys start with `prefix`, in byte-wise sorted key order:
    /// O(log n + k).
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
        PrefixIter::new(self.view(), prefix.as_bytes())
    }

    /// All entries in sorted key order.
    pub fn iter_sorted(&self) -> PrefixIter<'_> {
        self.prefix("")
    }

    /// Checks every checksum and every record, decompresses every block, and reports all
    /// damage found. Reading continues past damage; the report lists what is affected.
    pub fn verify(&self) -> Report {
        verify::verify(&self.view())
    }
}

impl<'a, D: AsRef<[u8]>> IntoIterator for &'a Archive<D> {
    type Item = ReadResult<Entry<'a>>;
    type IntoIter = Entries<'a>;
    fn into_iter(self) -> Entries<'a> {
        self.iter()
    }
}
