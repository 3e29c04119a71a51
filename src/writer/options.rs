//! Writer settings: [`WriterOptions`], a builder, and the choices it takes.

use std::thread;

use crate::error::WriteError;
use crate::format;

/// What to do when a key is added a second time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum DuplicatePolicy {
    /// Fail with [`WriteError::DuplicateKey`].
    #[default]
    Error,
    /// Keep the first entry, ignore later ones.
    First,
    /// The last entry wins (it takes the first one's entry number; the first one's body
    /// bytes stay in the data, unreferenced).
    Last,
}

/// Whether blocks are compressed with a dictionary sampled from the bodies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum DictionaryMode {
    /// Never.
    Off,
    /// When the sample is large enough to make one worthwhile (at least 64 KiB) and a quick
    /// estimate (level 3, on up to 2 MiB of the sample) says the dictionary saves more than
    /// it costs to store. Its size is the largest allowed (see
    /// [`dict_size`](WriterOptions::dict_size)) or half of that, whichever the estimate
    /// prefers (the two weighed on the whole sample, each dictionary stored at the archive's
    /// level): the larger must make the archive at least 1 % smaller, as it makes the first
    /// read after open slower (the whole dictionary is decoded then).
    #[default]
    Auto,
    /// Whenever the sample has at least eight bodies, however small they are.
    On,
}

/// What [`ArchiveWriter::create`](crate::ArchiveWriter::create) does when its target exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Overwrite {
    /// Refuse: fail with [`WriteError::TargetExists`], at `create` if the target is there
    /// already, or at `finish` if it appeared meanwhile (the new archive is then discarded).
    #[default]
    Never,
    /// Replace it when the new archive is complete; until then the old one stays intact.
    Replace,
}

/// Entries with a median length under this are short entries.
const SHORT_ENTRY: u64 = 512;
/// The largest automatic dictionary for short entries.
const SHORT_ENTRY_DICT: usize = 256 << 10;
/// The automatic block target for short entries (a 24 KiB block holds 50 or more of them
/// already): a first article after open decodes a third less block, for 0.9 % more archive
/// (short entries: 2,033,277 → 2,050,772 B).
const SHORT_ENTRY_BLOCK: u32 = 16 << 10;
/// The largest automatic dictionary, for 64 MiB of text or more (an eighth of the text,
/// from 2 MiB up). On a website of 70 MB of text (the Python docs) 8 MiB make the archive
/// 6 % smaller than 4 MiB; its first article after open decodes 8 MiB (~8–13 ms instead
/// of ~3–5 ms: `docs/design/dictionaries.md`).
const AUTO_DICT_MAX: usize = 8 << 20;
/// With an automatic dictionary size, the sample is at least this many times the largest
/// dictionary.
const SAMPLE_PER_DICT: usize = 8;

/// The automatic level. Level 19 makes archives 0.7–1.9 % smaller than 16 at the same
/// read speed (decompression does not slow with the level), for a slower pack
/// (`BENCHMARKS.md`, issue 25).
const AUTO_LEVEL: i32 = 19;
/// The automatic block target (when no quarter of the text is in long entries).
const AUTO_BLOCK: u32 = 24 << 10;

/// [`WriterOptions::remote`]'s largest stored dictionary frame. With the prelude a remote
/// reader fetches first (16 KiB), an index page (at most 16 KiB) and a block, a first article
/// stays within 256 KiB.
const REMOTE_DICT_STORED: usize = REMOTE_DICT_STORED_KIB << 10;
const REMOTE_DICT_STORED_KIB: usize = 160;
// The prelude, a page and the frame leave 64 KiB of the 256 for the block.
const _: () = assert!(16 + 16 + REMOTE_DICT_STORED_KIB <= 256 - 64);
/// [`WriterOptions::remote`]'s block target: larger blocks make up in size for the smaller
/// dictionary, and a remote reader fetches a whole block per article anyway.
const REMOTE_BLOCK: u32 = 64 << 10;
/// [`WriterOptions::remote`]'s largest dictionary before its stored frame is fitted.
const REMOTE_DICT: usize = 2 << 20;
/// [`WriterOptions::remote`]'s level.
const REMOTE_LEVEL: i32 = 19;

/// Which search indexes the writer adds (spec §14): [`WriterOptions::index`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum IndexKind {
    /// No index beyond the key index: the smallest archive; no title suggestions.
    None,
    /// The title index (the TITLES section, §14), for [`Archive::suggest`](crate::Archive::suggest):
    /// about 90 bytes an entry on news titles, 20 on short ones (`BENCHMARKS.md`).
    #[default]
    Titles,
    /// The title index and the full-text index (the SEARCH section, §15), for
    /// `Archive::search` (feature `fulltext`): BM25-ranked word searches with phrases
    /// and snippets. Needs the `fulltext` feature (without it the writer refuses the
    /// option). Text is analysed in the archive's language, the `language` metadata field
    /// (ISO 639-3, e.g. `eng`): see `quire::text::Analyzer` and spec §15.1; without one,
    /// words are not stemmed and CJK text is cut into bigrams.
    Full,
}

impl IndexKind {
    /// Whether it includes the title index (TITLES).
    pub fn titles(self) -> bool {
        matches!(self, IndexKind::Titles | IndexKind::Full)
    }

    /// Whether it includes the full-text index (SEARCH).
    pub fn full_text(self) -> bool {
        self == IndexKind::Full
    }
}

/// Writer settings, built by chaining setters on [`WriterOptions::new`] (the defaults, the
/// balance measured in `BENCHMARKS.md`), [`WriterOptions::smallest`] or
/// [`WriterOptions::remote`].
///
/// Setters take any value; [`ArchiveWriter::new`](crate::ArchiveWriter::new) and
/// [`create`](crate::ArchiveWriter::create) check them and fail with
/// [`WriteError::InvalidOptions`]. Each setter has a getter named `get_` and the setter's
/// name (as on [`std::process::Command`]).
///
/// ```
/// use quire::{DictionaryMode, DuplicatePolicy, Overwrite, WriterOptions};
/// let opts = WriterOptions::new()
///     .level(9)
///     .block_size(64 << 10)
///     .dictionary(DictionaryMode::Off)
///     .duplicates(DuplicatePolicy::Last)
///     .metadata("title", "Evening news")
///     .overwrite(Overwrite::Replace);
/// assert_eq!(opts.get_level(), 9);
/// assert_eq!(opts.get_metadata(), [("title".to_string(), "Evening news".to_string())]);
/// ```
#[derive(Debug, Clone)]
pub struct WriterOptions {
    level: i32,
    /// Whether the level is the writer's choice (no `level` call).
    auto_level: bool,
    block_size: u32,
    /// Whether the block size is the writer's choice (no `block_size` call).
    auto_block: bool,
    page_size: u32,
    pack_nodes: bool,
    dictionary: DictionaryMode,
    dict_size: usize,
    /// Whether the largest dictionary is the writer's choice (no `dict_size` call).
    auto_dict_size: bool,
    dict_sample: usize,
    /// The largest stored dictionary frame ([`WriterOptions::dict_stored_max`]).
    dict_stored_max: Option<usize>,
    threads: usize,
    duplicates: DuplicatePolicy,
    dedup: bool,
    created: Option<u64>,
    metadata: Vec<(String, String)>,
    overwrite: Overwrite,
    index: IndexKind,
}

impl Default for WriterOptions {
    fn default() -> Self {
        WriterOptions {
            level: AUTO_LEVEL,
            auto_level: true,
            block_size: AUTO_BLOCK,
            auto_block: true,
            page_size: 16 << 10,
            pack_nodes: true,
            dictionary: DictionaryMode::Auto,
            dict_size: 4 << 20,
            auto_dict_size: true,
            dict_sample: 16 << 20,
            dict_stored_max: None,
            threads: 0,
            duplicates: DuplicatePolicy::Error,
            dedup: true,
            created: None,
            metadata: Vec::new(),
            overwrite: Overwrite::Never,
            index: IndexKind::Titles,
        }
    }
}

impl WriterOptions {
    /// The defaults: zstd level 19, 24 KiB blocks or the 128 KiB blocks of long documents
    /// (chosen per archive), an automatic
    /// dictionary of an eighth of the text within 2 ..= 8 MiB, or 2 MiB (at most a quarter
    /// of the sample), sampled from at least 16 MiB of bodies spread over the archive, all cores, duplicate keys refused, identical
    /// bodies stored once, [`Overwrite::Never`].
    pub fn new() -> Self {
        WriterOptions::default()
    }

    /// The smallest archives, at the cost of lookup speed: zstd level 22 and 4 MiB blocks,
    /// the format's largest (close to solid compression; a lookup decompresses up to a whole
    /// block).
    pub fn smallest() -> Self {
        WriterOptions::new()
            .level(22)
            .block_size(format::MAX_BLOCK_LEN)
    }

    /// Archives meant to be read over a network (HTTP, S3, a browser), where the first
    /// article after open fetches the prelude (16 KiB), an index page, the article's block
    /// and the whole stored dictionary: a dictionary whose stored frame is at most 160 KiB
    /// ([`dict_stored_max`](Self::dict_stored_max), the largest of up to 2 MiB that fits),
    /// and 64 KiB blocks to make up in size for it (128 KiB for long documents, as the
    /// defaults choose them), at level 19. A first article over HTTP then costs at most
    /// 256 KiB in 4 requests for an entry whose block stores in at most 64 KiB (text blocks
    /// took 11–35 KiB; on the benchmark corpora 180–207 KiB in all, where the defaults fetch
    /// 115–1,091 KiB, 66–94 % of it dictionary; a longer entry adds its own blocks), and
    /// archives stay within 1.05× the size of libzim's ZIM (0.87–1.03×: `BENCHMARKS.md`,
    /// issue 26). Local lookups decompress larger blocks than with the defaults.
    ///
    /// ```
    /// use quire::WriterOptions;
    /// let opts = WriterOptions::remote();
    /// assert_eq!(opts.get_dict_stored_max(), Some(160 << 10));
    /// assert_eq!(opts.get_block_size(), 64 << 10);
    /// // Any setting can still be changed.
    /// let opts = WriterOptions::remote().level(22);
    /// assert_eq!(opts.get_level(), 22);
    /// ```
    pub fn remote() -> Self {
        WriterOptions {
            // Still the writer's choice: 128 KiB for long documents.
            block_size: REMOTE_BLOCK,
            ..WriterOptions::new()
        }
        .level(REMOTE_LEVEL)
        .dict_size(REMOTE_DICT)
        .dict_stored_max(REMOTE_DICT_STORED)
    }

    /// zstd level, 1..=22. Without it the writer uses 19: 0.7–1.9 % smaller than 16 on
    /// small blocks, at the same read speed, packing 1.2–1.6× slower (`BENCHMARKS.md`, the
    /// level curve).
    pub fn level(mut self, level: i32) -> Self {
        self.level = level;
        self.auto_level = false;
        self
    }

    /// Target uncompressed block size in bytes (64 ..= 4 MiB). Without it the writer
    /// chooses per archive (spec §8): 24 KiB (64 KiB with [`remote`](Self::remote)), or
    /// 128 KiB when a quarter or more of the text lies in entries longer than 16 KiB (long
    /// documents, which small blocks cut into pieces that lose each other's context).
    /// Entries longer than the target get blocks of up to 256 KiB of their own.
    pub fn block_size(mut self, bytes: u32) -> Self {
        self.block_size = bytes;
        self.auto_block = false;
        self
    }

    /// Dictionary use.
    pub fn dictionary(mut self, mode: DictionaryMode) -> Self {
        self.dictionary = mode;
        self
    }

    /// Largest dictionary, in bytes (256 ..= 16 MiB). With [`DictionaryMode::Auto`] the
    /// writer may take half of it (see there). Without it: an eighth of the text within
    /// 2 ..= 8 MiB (8 MiB from 64 MiB of text: a website of 70 MB of text is 6 % smaller than
    /// with 4 MiB, and its first article after open decodes 8 MiB, ~8–13 ms; 28.6 MB of
    /// technical docs take 3.6 MB, not the 4 MiB that made their first article 14 % slower
    /// for 0.4 % of archive), weighed against 2 MiB, and taken only for at least 8 × 2 MiB
    /// of text; or 256 KiB for short entries
    /// (median entry under 512 bytes), where a lookup's block costs a few µs and the
    /// dictionary decoded at the first lookup after open would be all of its time (short
    /// corpus: 256 KiB give 0.927× the ZIM and a 250 µs first article, 1.4 MB 0.867× and
    /// 1 ms).
    pub fn dict_size(mut self, bytes: usize) -> Self {
        self.dict_size = bytes;
        self.auto_dict_size = false;
        self
    }

    /// How many bytes of bodies (spread over the input) to pick the dictionary from: 16 MiB
    /// by default, and, while the writer chooses the dictionary's size, at least 8 × that
    /// size (32 MiB for 4 MiB, 64 MiB for 8 MiB). The writer holds the sample in memory
    /// until it has picked.
    pub fn dict_sample(mut self, bytes: usize) -> Self {
        self.dict_sample = bytes;
        self
    }

    /// The largest stored dictionary (the DICT section: its zstd frame), in bytes, at least
    /// 256. The writer picks its dictionary as without it, then, while the stored frame is
    /// larger, picks again with a size scaled down by the frame's overshoot (a few rounds);
    /// without a dictionary that fits, it uses none. A remote reader fetches the whole frame
    /// with the first article after open, so this bounds that article's cost (see
    /// [`remote`](Self::remote)). Without it: no bound.
    pub fn dict_stored_max(mut self, bytes: usize) -> Self {
        self.dict_stored_max = Some(bytes);
        self
    }

    /// Compression threads; 0 means all available cores. The output is the same whatever
    /// the count.
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads;
        self
    }

    /// What a repeated key does.
    pub fn duplicates(mut self, policy: DuplicatePolicy) -> Self {
        self.duplicates = policy;
        self
    }

    /// Store identical bodies (of 64 bytes or more) once: later entries point at the first
    /// copy (XXH3-128 of the body identifies copies). Sets the SHARED_BODIES flag when used.
    /// Bodies streamed by [`add_reader`](crate::ArchiveWriter::add_reader) take part only
    /// when they are no longer than one block.
    pub fn dedup(mut self, on: bool) -> Self {
        self.dedup = on;
        self
    }

    /// Creation time in seconds since the Unix epoch. Without it the writer takes
    /// `SOURCE_DATE_EPOCH` when set, else the current time.
    pub fn created(mut self, unix_seconds: u64) -> Self {
        self.created = Some(unix_seconds);
        self
    }

    /// Appends an archive metadata pair: `title`, `description`, `creator`, `source`, or any
    /// other name. The first pair of a name wins; `created` and `tool` are filled in by the
    /// writer unless given.
    pub fn metadata(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.push((name.into(), value.into()));
        self
    }

    /// The largest index page, 32..=16384 bytes (default 16384, the format's limit). Smaller
    /// pages mean fewer bytes to fetch for a cold lookup over a network, at the cost of a
    /// larger index and, for big archives, one more level in the tree (spec §6.1).
    pub fn page_size(mut self, bytes: u32) -> Self {
        self.page_size = bytes;
        self
    }

    /// Whether index nodes may be stored packed, each as one zstd frame (spec §6.5; default
    /// on). A node is packed only when that makes it shorter, and the archive then carries
    /// the required flag PACKED_NODES, which readers written before it refuse
    /// (`unsupported_feature`); off, the index is stored as format 3.1 first defined it. On
    /// the benchmark corpora packing makes INDEX 35–45 % smaller: 0.5–3 % of the archive.
    pub fn pack_nodes(mut self, on: bool) -> Self {
        self.pack_nodes = on;
        self
    }

    /// What [`ArchiveWriter::create`](crate::ArchiveWriter::create) does when the target
    /// exists (other writers ignore it).
    pub fn overwrite(mut self, overwrite: Overwrite) -> Self {
        self.overwrite = overwrite;
        self
    }

    /// Which search indexes to add: [`IndexKind::Titles`] (the default: title suggestions,
    /// [`Archive::suggest`](crate::Archive::suggest), for about 90 bytes an entry on news
    /// titles), [`IndexKind::Full`] (titles and full-text search) or [`IndexKind::None`].
    pub fn index(mut self, kind: IndexKind) -> Self {
        self.index = kind;
        self
    }

    /// The search indexes the writer adds.
    pub fn get_index(&self) -> IndexKind {
        self.index
    }

    /// The zstd level: the one set, or without [`level`](WriterOptions::level) the one the
    /// writer uses (19).
    pub fn get_level(&self) -> i32 {
        self.level
    }

    /// The two dictionary sizes [`DictionaryMode::Auto`] weighs for entries of this median
    /// length in bytes and `text` bytes of text in all: the largest, and the smaller one
    /// (half the size set or the default's). Without [`dict_size`](WriterOptions::dict_size):
    /// 256 KiB and 128 KiB for short entries, else an eighth of the text within 2 ..= 8 MiB
    /// (half the default's 4 MiB, up to twice it) and 2 MiB.
    pub(crate) fn dict_sizes_for(&self, median_entry: u64, text: u64) -> (usize, usize) {
        if !self.auto_dict_size {
            (self.dict_size, self.dict_size / 2)
        } else if median_entry < SHORT_ENTRY {
            let size = self.dict_size.min(SHORT_ENTRY_DICT);
            (size, size / 2)
        } else {
            let eighth = usize::try_from(text / 8).unwrap_or(usize::MAX);
            let half = self.dict_size / 2;
            (eighth.clamp(half, AUTO_DICT_MAX.max(self.dict_size)), half)
        }
    }

    /// The block target for entries of this median length, from `default` (the one the
    /// writer starts from, or long text's): [`SHORT_ENTRY_BLOCK`] for short entries
    /// (median under 512 bytes) when the writer starts from its local default (24 KiB; the
    /// remote preset keeps its 64 KiB, since a remote reader fetches whole blocks).
    pub(crate) fn block_size_for(&self, median_entry: u64, default: u32) -> u32 {
        match median_entry < SHORT_ENTRY && default == AUTO_BLOCK {
            true => SHORT_ENTRY_BLOCK,
            false => default,
        }
    }

    /// The sample the dictionary is picked from, for a largest dictionary of `dict_size`:
    /// the one set, or at least [`SAMPLE_PER_DICT`] times the dictionary when the writer
    /// chooses its size (a raw-content dictionary takes a quarter of its sample at most).
    pub(crate) fn dict_sample_for(&self, dict_size: usize) -> usize {
        if self.auto_dict_size {
            self.dict_sample
                .max(dict_size.saturating_mul(SAMPLE_PER_DICT))
        } else {
            self.dict_sample
        }
    }

    /// Whether the writer chooses the largest dictionary (no
    /// [`dict_size`](WriterOptions::dict_size) call).
    pub fn get_dict_size_is_auto(&self) -> bool {
        self.auto_dict_size
    }

    /// Whether the writer chooses the level per archive (no [`level`](WriterOptions::level)
    /// call).
    pub fn get_level_is_auto(&self) -> bool {
        self.auto_level
    }

    /// The target block size: as set, or when the writer chooses (see
    /// [`block_size`](Self::block_size)) the size it starts from: 24 KiB, 64 KiB with
    /// [`remote`](Self::remote).
    pub fn get_block_size(&self) -> u32 {
        self.block_size
    }

    /// Whether the writer chooses the block size.
    pub fn get_block_size_is_auto(&self) -> bool {
        self.auto_block
    }

    /// The largest index page.
    pub fn get_page_size(&self) -> u32 {
        self.page_size
    }

    /// Whether index nodes may be stored packed.
    pub fn get_pack_nodes(&self) -> bool {
        self.pack_nodes
    }

    /// The dictionary mode.
    pub fn get_dictionary(&self) -> DictionaryMode {
        self.dictionary
    }

    /// The largest dictionary.
    pub fn get_dict_size(&self) -> usize {
        self.dict_size
    }

    /// The sample the dictionary is picked from.
    pub fn get_dict_sample(&self) -> usize {
        self.dict_sample
    }

    /// The largest stored dictionary frame, if bounded.
    pub fn get_dict_stored_max(&self) -> Option<usize> {
        self.dict_stored_max
    }

    /// The thread count as set (0: all cores).
    pub fn get_threads(&self) -> usize {
        self.threads
    }

    /// The duplicate-key policy.
    pub fn get_duplicates(&self) -> DuplicatePolicy {
        self.duplicates
    }

    /// Whether identical bodies are stored once.
    pub fn get_dedup(&self) -> bool {
        self.dedup
    }

    /// The creation time, if set.
    pub fn get_created(&self) -> Option<u64> {
        self.created
    }

    /// The archive metadata pairs, in the order given.
    pub fn get_metadata(&self) -> &[(String, String)] {
        &self.metadata
    }

    /// The overwrite policy.
    pub fn get_overwrite(&self) -> Overwrite {
        self.overwrite
    }

    /// Checks every setting against the format's limits.
    pub(crate) fn check(&self) -> Result<(), WriteError> {
        let bad = |s: String| Err(WriteError::InvalidOptions(s));
        if self.index.full_text() && !cfg!(feature = "fulltext") {
            return bad("a full-text index needs quire's `fulltext` feature".into());
        }
        if !(1..=22).contains(&self.level) {
            return bad(format!("level {} is not in 1..=22", self.level));
        }
        if !(64..=format::MAX_BLOCK_LEN).contains(&self.block_size) {
            return bad(format!(
                "block size {} is not in 64..={}",
                self.block_size,
                format::MAX_BLOCK_LEN
            ));
        }
        if !(32..=format::MAX_NODE_LEN as u32).contains(&self.page_size) {
            return bad(format!(
                "page size {} is not in 32..={}",
                self.page_size,
                format::MAX_NODE_LEN
            ));
        }
        if self.dict_size > (format::MAX_DICT_LEN as usize) || self.dict_size < 256 {
            return bad(format!(
                "dictionary size {} is not in 256..={}",
                self.dict_size,
                format::MAX_DICT_LEN
            ));
        }
        if let Some(max) = self.dict_stored_max.filter(|m| *m < 256) {
            return bad(format!("largest stored dictionary {max} is under 256"));
        }
        for (name, value) in &self.metadata {
            if name.len() > usize::from(u16::MAX) || value.len() > u32::MAX as usize {
                return bad(format!("metadata {name:?} is too long"));
            }
        }
        Ok(())
    }

    /// Compression threads to start.
    pub(crate) fn thread_count(&self) -> usize {
        match self.threads {
            0 => thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
    }

    /// Archive metadata as written: the user's pairs (first occurrence wins), then `created`
    /// and `tool` unless given.
    pub(crate) fn archive_metadata(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        for (n, v) in &self.metadata {
            if !out.iter().any(|(m, _)| m == n) {
                out.push((n.clone(), v.clone()));
            }
        }
        if !out.iter().any(|(n, _)| n == "created") {
            let secs = self.created.unwrap_or_else(creation_time);
            out.push(("created".into(), super::rfc3339(secs)));
        }
        if !out.iter().any(|(n, _)| n == "tool") {
            out.push((
                "tool".into(),
                format!("quire {}", env!("CARGO_PKG_VERSION")),
            ));
        }
        out
    }
}

/// `SOURCE_DATE_EPOCH` when set (reproducible builds), else now.
fn creation_time() -> u64 {
    std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_automatic_level_is_19_and_a_set_level_wins() {
        let auto = WriterOptions::new();
        assert!(auto.get_level_is_auto());
        assert_eq!(auto.get_level(), 19);
        let set = WriterOptions::new().level(19);
        assert!(!set.get_level_is_auto());
        assert_eq!(set.get_level(), 19);
        assert_eq!(WriterOptions::new().level(3).get_level(), 3);
        assert_eq!(WriterOptions::smallest().get_level(), 22);
    }

    #[test]
    fn the_remote_preset_bounds_the_stored_dictionary_and_is_checked() {
        let r = WriterOptions::remote();
        assert_eq!(r.get_dict_stored_max(), Some(REMOTE_DICT_STORED));
        assert!(r.get_block_size_is_auto() && !r.get_dict_size_is_auto());
        assert_eq!(WriterOptions::new().get_dict_stored_max(), None);
        assert!(r.check().is_ok());
        let small = WriterOptions::new().dict_stored_max(255).check();
        assert!(matches!(small, Err(WriteError::InvalidOptions(m)) if m.contains("255")));
    }

    #[test]
    fn short_entries_get_a_smaller_automatic_dictionary_unless_one_is_set() {
        let auto = WriterOptions::new();
        assert_eq!(auto.dict_sizes_for(300, 1 << 30), (256 << 10, 128 << 10));
        assert_eq!(auto.dict_sizes_for(2_700, 1 << 20), (2 << 20, 2 << 20));
        assert_eq!(
            WriterOptions::new()
                .dict_size(1 << 20)
                .dict_sizes_for(300, 1 << 30),
            (1 << 20, 512 << 10)
        );
    }

    #[test]
    fn short_entries_get_smaller_blocks_unless_remote_or_set() {
        let auto = WriterOptions::new();
        let local = auto.get_block_size();
        assert_eq!(auto.block_size_for(300, local), 16 << 10);
        assert_eq!(auto.block_size_for(512, local), local);
        // Long text's target, and the remote preset's, are kept.
        assert_eq!(auto.block_size_for(300, 128 << 10), 128 << 10);
        let remote = WriterOptions::remote();
        assert_eq!(
            remote.block_size_for(300, remote.get_block_size()),
            64 << 10
        );
    }

    #[test]
    fn the_automatic_dictionary_grows_with_the_text_and_its_sample_with_it() {
        let auto = WriterOptions::new();
        let mib = 1u64 << 20;
        // An eighth of the text, within 2 ..= 8 MiB: news (12.5 MB) 2 MiB, docs (28.6 MB) an
        // eighth, 40 MiB of text 5 MiB, the Python docs as a website (71 MB) and more 8 MiB.
        assert_eq!(auto.dict_sizes_for(2_700, 12_529_548).0, 2 << 20);
        assert_eq!(
            auto.dict_sizes_for(2_132, 28_568_907),
            (28_568_907 / 8, 2 << 20)
        );
        assert_eq!(auto.dict_sizes_for(2_700, 40 * mib).0, 5 << 20);
        assert_eq!(auto.dict_sizes_for(28_130, 71_363_910), (8 << 20, 2 << 20));
        assert_eq!(auto.dict_sizes_for(28_130, 1 << 40).0, 8 << 20);
        // Short entries keep 256 KiB however much text; a size set is kept as set.
        assert_eq!(auto.dict_sizes_for(300, 1 << 40).0, 256 << 10);
        let set = WriterOptions::new().dict_size(2 << 20);
        assert!(!set.get_dict_size_is_auto());
        assert_eq!(set.dict_sizes_for(28_130, 1 << 40), (2 << 20, 1 << 20));
        // The sample: eight times the dictionary, never under the one set (16 MiB by default).
        assert_eq!(auto.dict_sample_for(256 << 10), 16 << 20);
        assert_eq!(auto.dict_sample_for(4 << 20), 32 << 20);
        assert_eq!(auto.dict_sample_for(8 << 20), 64 << 20);
        assert_eq!(
            WriterOptions::new()
                .dict_sample(100 << 20)
                .dict_sample_for(8 << 20),
            100 << 20
        );
        assert_eq!(set.dict_sample(4 << 20).dict_sample_for(8 << 20), 4 << 20);
    }
}
