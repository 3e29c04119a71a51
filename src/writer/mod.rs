//! The writer: [`ArchiveWriter`] takes entries in any order, and at [`finish`] lays them out
//! in key order (spec §8): the stream cut into blocks and compressed (on a pool of threads
//! when asked), the index tree built over them, and the prelude written first.
//!
//! Entries are spooled to an anonymous temporary file as they are added (their lead and
//! body), so memory holds only what the index needs per entry (key and lengths), never the
//! bodies; compressed blocks are spooled too until the index, which comes before them in
//! the file, is known. Output is byte-identical whatever the thread count.
//!
//! The parts: [`options`] (settings), [`entry`] (what an entry is and what is checked of
//! it), [`dictionary`] (picking and storing the dictionary), [`compress`] (the compressor
//! pool), [`spool`] (the temporary files), [`index`] (pages and branches), [`atomic`] (the
//! file that appears whole or not at all); this module cuts the stream into blocks and
//! writes the file, whose bytes `crate::format` encodes.
//!
//! [`finish`]: ArchiveWriter::finish

mod atomic;
mod compress;
mod dictionary;
mod entry;
mod index;
mod opaque;
mod options;
#[cfg(feature = "fulltext")]
mod search;
mod slots;
mod spool;
mod titles;
#[cfg(feature = "fulltext")]
pub(crate) use search::fields_of as search_fields;
/// Without the `fulltext` feature there is no full-text index to write (the options check
/// refuses [`IndexKind::Full`]).
#[cfg(not(feature = "fulltext"))]
mod search {
    pub(super) enum Built {}
    impl Built {
        pub(super) fn seal(&self, _: u32, _: u32) -> ([u8; 64], u32) {
            match *self {}
        }
        pub(super) fn len(&self) -> u64 {
            match *self {}
        }
        pub(super) fn write_to(&self, _: &[u8], _: &mut dyn std::io::Write) -> std::io::Result<()> {
            match *self {}
        }
    }
}

pub use atomic::AtomicFile;
pub use entry::{NewEntry, DEFAULT_CONTENT_TYPE};
pub use options::{DictionaryMode, DuplicatePolicy, IndexKind, Overwrite, WriterOptions};

use std::collections::HashMap;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::Arc;

use crate::error::WriteError;
use crate::format::blocks::MAX_ENTRY_BLOCKS;
use crate::format::header::{self, MAX_CTYPES_LEN, MAX_META_LEN};
use crate::format::{
    self, ctypes, meta, BlockRecord, EntryRecord, Header, SectionId, SectionRecord,
};
use compress::{Compressors, Done, Job};
use dictionary::StoredDict;
use spool::Spool;

/// Most blocks one entry may lie in (spec §8): an entry longer than this many blocks of the
/// target size gets larger blocks.
/// Blocks of an entry longer than the target are up to this long, and up to 16 targets
/// (spec §8).
const LARGE_BLOCK: u64 = 256 << 10;
/// The block size the writer chooses for long documents (spec §8).
const LONG_TEXT_BLOCK: u32 = 128 << 10;
/// Sampled pieces of one entry are at most this long.
const SAMPLE_PIECE: u64 = 128 << 10;
/// How many times [`ArchiveWriter::fit_dictionary`] picks a smaller dictionary.
const FIT_ROUNDS: usize = 4;

/// What [`ArchiveWriter::finish`] reports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Entries written.
    pub entries: u64,
    /// Blocks written.
    pub blocks: u64,
    /// Total body bytes (uncompressed) in the archive.
    pub raw_bytes: u64,
    /// Size of the archive file.
    pub file_len: u64,
    /// Size of the dictionary (0 when none was used).
    pub dict_len: u64,
    /// Size of the dictionary as stored in the file (compressed; 0 when none was used).
    pub stored_dict_len: u64,
    /// Size of the stored blocks (DATA).
    pub data_len: u64,
    /// Size of the prelude (with META, CTYPES and the root).
    pub prelude_len: u64,
    /// Size of the index outside the prelude (INDEX).
    pub index_len: u64,
    /// Levels of branches above the pages (0: the root is a page).
    pub index_depth: u8,
    /// Size of the title index (TITLES, spec §14; 0 without one).
    pub titles_len: u64,
    /// Size of the full-text index (SEARCH, spec §15; 0 without one).
    pub search_len: u64,
    /// Entries dropped by [`DuplicatePolicy::First`] or replaced by [`DuplicatePolicy::Last`].
    pub duplicates: u64,
    /// Entries whose body was stored once for several of them ([`WriterOptions::dedup`]).
    pub shared_bodies: u64,
}

/// What [`ArchiveWriter::finish`] is doing, for a progress callback
/// ([`ArchiveWriter::on_progress`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Stage {
    /// Picking the dictionary from a sample of the entries (no counts move).
    Dictionary,
    /// Cutting the entries into blocks and compressing them: `entries` and `bytes` count
    /// what is compressed, up to `entries_total` and `bytes_total` (the uncompressed stream).
    Compressing,
    /// Writing the file: `bytes` of `bytes_total` (the file's length).
    Writing,
}

/// How far [`ArchiveWriter::finish`] has got, as given to the callback of
/// [`ArchiveWriter::on_progress`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Progress {
    /// What is being done.
    pub stage: Stage,
    /// Entries whose bytes are compressed (all of them from [`Stage::Writing`] on).
    pub entries: u64,
    /// Entries in the archive.
    pub entries_total: u64,
    /// [`Stage::Compressing`]: uncompressed bytes compressed so far (leads and bodies, a
    /// shared body once); [`Stage::Writing`]: bytes of the file written.
    pub bytes: u64,
    /// What `bytes` counts up to: the uncompressed stream's length, then the file's.
    pub bytes_total: u64,
}

/// The callback of [`ArchiveWriter::on_progress`].
type ProgressFn = Box<dyn FnMut(&Progress) + Send>;

/// Progress through the compression, for the callback.
struct Tracker {
    callback: ProgressFn,
    /// Stream positions where laid-out entries end that are not compressed yet, in order.
    ends: std::collections::VecDeque<u64>,
    entries: u64,
    entries_total: u64,
    bytes_total: u64,
    /// Compressed stream bytes at the last call.
    reported: Option<u64>,
}

impl Tracker {
    fn call(&mut self, stage: Stage, entries: u64, bytes: u64, bytes_total: u64) {
        (self.callback)(&Progress {
            stage,
            entries,
            entries_total: self.entries_total,
            bytes,
            bytes_total,
        });
    }

    /// Reports the compressed stream's length `done`, when it moved.
    fn compressed(&mut self, done: u64) {
        if self.reported == Some(done) {
            return;
        }
        self.reported = Some(done);
        while self.ends.front().is_some_and(|&end| end <= done) {
            self.ends.pop_front();
            self.entries += 1;
        }
        let (entries, total) = (self.entries, self.bytes_total);
        self.call(Stage::Compressing, entries, done, total);
    }
}

/// One added entry, waiting in the spool: 40 bytes, plus its key in the writer's key arena.
struct Pending {
    /// Where its key lies in the key arena.
    key_at: u64,
    key_len: u16,
    /// Where its lead and body start in the spool.
    spool_at: u64,
    lead_len: u32,
    body_len: u64,
    content_type: u32,
    date: u32,
}

impl Pending {
    fn key<'k>(&self, arena: &'k str) -> &'k str {
        let at = self.key_at as usize;
        arena
            .get(at..at + usize::from(self.key_len))
            .unwrap_or_default()
    }
}

/// Where an entry went in the stream: its lead, and its body when shared ([`NOT_SHARED`]
/// otherwise; 16 bytes an entry).
#[derive(Clone, Copy)]
struct Placed {
    lead_at: u64,
    shared_body_at: u64,
}

/// [`Placed::shared_body_at`] of an entry that stores its own body.
const NOT_SHARED: u64 = u64::MAX;

/// Streams entries into a quire archive.
///
/// [`create`](ArchiveWriter::create) writes a file atomically, [`new`](ArchiveWriter::new)
/// any seekable output, [`in_memory`](ArchiveWriter::in_memory) a `Vec<u8>`. Entries are
/// added in any order with [`add`](ArchiveWriter::add) (a body in memory) or
/// [`add_reader`](ArchiveWriter::add_reader) (a body streamed from any [`Read`]), then
/// [`finish`](ArchiveWriter::finish) lays them out in key order and writes the file.
///
/// An error that leaves an entry half written (an I/O error of the spool, a body reader
/// failing part way) poisons the writer: every later call fails with
/// [`WriteError::Poisoned`], so that no archive with a partial entry can be finished. Errors
/// found before anything is written (an invalid key, a duplicate key) leave it usable.
///
/// ```
/// use quire::{Archive, ArchiveWriter, NewEntry, WriterOptions};
/// let mut w = ArchiveWriter::in_memory(WriterOptions::new())?;
/// w.add(&NewEntry::new("a", b"first"))?;
/// let (bytes, _summary) = w.finish_into_inner()?;
/// let archive = Archive::new(bytes.into_inner())?;
/// assert_eq!(archive.get("a")?.unwrap().body()?, b"first");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ArchiveWriter<W: Write + Seek> {
    out: W,
    opts: WriterOptions,
    meta: Vec<u8>,
    spool: Spool,
    entries: Vec<Pending>,
    /// Every key, back to back (entries point into it).
    keys: String,
    /// Entry slot by key (a table of entry numbers by key hash, [`slots`]).
    slots: slots::Slots,
    ctypes: Vec<String>,
    ctype_ids: HashMap<String, u32>,
    raw_bytes: u64,
    duplicates: u64,
    /// The target block size, chosen at finish unless set.
    target: u32,
    poisoned: bool,
    /// What [`finish`](ArchiveWriter::finish) does with the finished output: for
    /// [`create`](ArchiveWriter::create), sync it and rename it into place.
    commit: Option<fn(W) -> Result<(), WriteError>>,
    /// The progress callback and its counts ([`on_progress`](ArchiveWriter::on_progress)).
    progress: Option<Tracker>,
}

impl ArchiveWriter<io::Cursor<Vec<u8>>> {
    /// A writer that builds the archive in memory.
    pub fn in_memory(opts: WriterOptions) -> Result<Self, WriteError> {
        ArchiveWriter::new(io::Cursor::new(Vec::new()), opts)
    }
}

impl ArchiveWriter<AtomicFile> {
    /// A writer for the file at `path`, written to a temporary file beside it and renamed
    /// into place by [`finish`](ArchiveWriter::finish): nothing appears under `path` unless
    /// `finish` succeeds, and a writer dropped before (or an error) leaves no file behind.
    /// When `path` exists, [`WriterOptions::overwrite`] decides: [`Overwrite::Never`] (the
    /// default) fails with [`WriteError::TargetExists`]; with [`Overwrite::Replace`] the old
    /// archive stays intact until the new one is complete.
    ///
    /// ```
    /// use quire::{Archive, ArchiveWriter, NewEntry, Overwrite, WriterOptions};
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("news.quire");
    /// let mut w = ArchiveWriter::create(&path, WriterOptions::new())?;
    /// w.add(&NewEntry::new("2002/embassy", b"China says..."))?;
    /// w.finish()?; // flush, fsync, rename
    /// assert!(Archive::new(std::fs::read(&path)?)?.get("2002/embassy")?.is_some());
    ///
    /// // A second archive under the same name needs Overwrite::Replace.
    /// assert!(ArchiveWriter::create(&path, WriterOptions::new()).is_err());
    /// let w = ArchiveWriter::create(&path, WriterOptions::new().overwrite(Overwrite::Replace))?;
    /// w.finish()?;
    /// assert!(Archive::new(std::fs::read(&path)?)?.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn create(path: impl AsRef<Path>, opts: WriterOptions) -> Result<Self, WriteError> {
        opts.check()?;
        let file = AtomicFile::create(path.as_ref(), opts.get_overwrite())?;
        let mut w = ArchiveWriter::new(file, opts)?;
        w.commit = Some(AtomicFile::commit);
        Ok(w)
    }
}

impl<W: Write + Seek> ArchiveWriter<W> {
    /// A writer over any seekable output, written from its start.
    /// [`finish`](ArchiveWriter::finish) flushes it;
    /// [`finish_into_inner`](ArchiveWriter::finish_into_inner) also gives it back.
    pub fn new(mut inner: W, opts: WriterOptions) -> Result<Self, WriteError> {
        opts.check()?;
        inner.seek(SeekFrom::Start(0))?;
        let meta = meta::encode(&opts.archive_metadata());
        if meta.len() > MAX_META_LEN as usize {
            return Err(WriteError::InvalidOptions(format!(
                "archive metadata is over {MAX_META_LEN} bytes (it lives in the prelude)"
            )));
        }
        Ok(ArchiveWriter {
            out: inner,
            opts: opts.clone(),
            meta,
            spool: Spool::new()?,
            entries: Vec::new(),
            keys: String::new(),
            slots: slots::Slots::new(),
            ctypes: vec![DEFAULT_CONTENT_TYPE.to_string()],
            ctype_ids: HashMap::from([(DEFAULT_CONTENT_TYPE.to_string(), 0)]),
            raw_bytes: 0,
            duplicates: 0,
            target: opts.get_block_size(),
            poisoned: false,
            commit: None,
            progress: None,
        })
    }

    /// Calls `callback` as [`finish`](ArchiveWriter::finish) goes: once when it starts
    /// picking the dictionary ([`Stage::Dictionary`]), as blocks are compressed
    /// ([`Stage::Compressing`], each time the compressed bytes move; the last call has
    /// `entries == entries_total` and `bytes == bytes_total`), and before and after it
    /// writes the file ([`Stage::Writing`]). Adding entries calls nothing: the caller knows
    /// what it adds. The callback runs on the thread that calls `finish`, between blocks:
    /// keep it quick.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use quire::{ArchiveWriter, NewEntry, Progress, Stage, WriterOptions};
    /// let seen: Arc<Mutex<Vec<Progress>>> = Arc::default();
    /// let mut w = ArchiveWriter::in_memory(WriterOptions::new().block_size(1024))?;
    /// let log = Arc::clone(&seen);
    /// w.on_progress(move |p| log.lock().unwrap().push(*p));
    /// for i in 0..100 {
    ///     w.add(&NewEntry::new(&format!("k{i:03}"), &[b'x'; 100]))?;
    /// }
    /// w.finish_into_inner()?;
    /// let seen = seen.lock().unwrap();
    /// let last = seen.iter().rev().find(|p| p.stage == Stage::Compressing).unwrap();
    /// assert_eq!((last.entries, last.entries_total), (100, 100));
    /// assert_eq!(last.bytes, last.bytes_total);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn on_progress(&mut self, callback: impl FnMut(&Progress) + Send + 'static) {
        self.progress = Some(Tracker {
            callback: Box::new(callback),
            ends: Default::default(),
            entries: 0,
            entries_total: 0,
            bytes_total: 0,
            reported: None,
        });
    }

    /// Number of entries added so far.
    pub fn len(&self) -> u64 {
        self.entries.len() as u64
    }

    /// Whether no entry has been added yet.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Body bytes added so far.
    pub fn raw_bytes(&self) -> u64 {
        self.raw_bytes
    }

    /// Adds an entry. Returns `Ok(false)` when the entry was dropped as a duplicate under
    /// [`DuplicatePolicy::First`].
    ///
    /// ```
    /// use quire::{ArchiveWriter, Date, DuplicatePolicy, NewEntry, WriterOptions};
    /// let opts = WriterOptions::new().duplicates(DuplicatePolicy::First);
    /// let mut w = ArchiveWriter::in_memory(opts)?;
    /// let date = Date::parse("2002-03-14").unwrap();
    /// assert!(w.add(&NewEntry::new("a", b"first").title("First").date(date))?);
    /// assert!(!w.add(&NewEntry::new("a", b"again"))?); // dropped: "a" is taken
    /// assert!(w.add(&NewEntry::new("", b"no key")).is_err()); // the writer stays usable
    /// assert_eq!(w.finish_into_inner()?.1.entries, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn add(&mut self, entry: &NewEntry<'_>) -> Result<bool, WriteError> {
        self.check_usable()?;
        let Some(plan) = self.plan(entry)? else {
            return Ok(false);
        };
        entry::check_body_len(entry.key, entry.body.len() as u64)?;
        self.poison_on_error(|w| {
            let at = w.spool.append(&plan.lead)?;
            w.spool.append(entry.body)?;
            w.store(entry, plan, at, entry.body.len() as u64)
        })
    }

    /// Adds an entry whose body is read from `body` to its end; `entry.body` must be empty
    /// ([`WriteError::InvalidEntry`] otherwise). Returns `Ok(false)`, without reading, when
    /// the entry was dropped as a duplicate under [`DuplicatePolicy::First`].
    ///
    /// The body is copied into the writer's spool as it is read, so memory stays small
    /// whatever its length. Bodies of 2^48 bytes or more are refused. When reading fails the
    /// error is returned as [`WriteError::BodyRead`], the entry is not added and the writer
    /// stays usable (what was read of it is dropped); should even that fail, the writer is
    /// poisoned (every later call fails, and a writer from
    /// [`create`](ArchiveWriter::create) leaves no file).
    ///
    /// ```
    /// use quire::{Archive, ArchiveWriter, NewEntry, WriterOptions};
    /// use std::io::Read;
    /// let mut w = ArchiveWriter::in_memory(WriterOptions::new().block_size(4096))?;
    /// // Any reader: a file, a socket, a decoder. This one makes 1 MiB of text.
    /// let body = std::io::repeat(b'a').take(1 << 20);
    /// w.add_reader(&NewEntry::streamed("big").title("Big"), body)?;
    /// let (out, _) = w.finish_into_inner()?;
    /// let archive = Archive::new(out.into_inner())?;
    /// assert_eq!(archive.get("big")?.unwrap().body()?.len(), 1 << 20);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn add_reader(
        &mut self,
        entry: &NewEntry<'_>,
        mut body: impl Read,
    ) -> Result<bool, WriteError> {
        self.add_from(entry, &mut body)
    }

    fn add_from(&mut self, e: &NewEntry<'_>, body: &mut dyn Read) -> Result<bool, WriteError> {
        self.check_usable()?;
        if !e.body.is_empty() {
            return Err(WriteError::InvalidEntry {
                key: e.key.to_string(),
                reason: "add_reader takes the body from its reader: the entry's own body \
                         must be empty"
                    .into(),
            });
        }
        let Some(plan) = self.plan(e)? else {
            return Ok(false);
        };
        let at = self.spool_len();
        match self.spool_from(e, &plan, body) {
            Ok(len) => self.poison_on_error(|w| w.store(e, plan, at, len)),
            // Nothing but the spool's tail changed: cut it off and stay usable.
            Err(err @ WriteError::BodyRead { .. }) if self.spool.truncate(at).is_ok() => Err(err),
            Err(err) => {
                self.poisoned = true;
                Err(err)
            }
        }
    }

    fn spool_len(&self) -> u64 {
        self.spool.len()
    }

    /// Copies an entry's lead and its body from `body` into the spool; returns the body's
    /// length.
    fn spool_from(
        &mut self,
        e: &NewEntry<'_>,
        plan: &Plan,
        body: &mut dyn Read,
    ) -> Result<u64, WriteError> {
        self.spool.append(&plan.lead)?;
        let mut len = 0u64;
        let mut buf = vec![0u8; 64 << 10];
        loop {
            let n = match body.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(body_read(e.key, err)),
            };
            len += n as u64;
            entry::check_body_len(e.key, len)?;
            self.spool.append(&buf[..n])?;
        }
        Ok(len)
    }

    fn check_usable(&self) -> Result<(), WriteError> {
        if self.poisoned {
            return Err(WriteError::Poisoned);
        }
        Ok(())
    }

    /// Runs a step that changes the archive; should it fail, the writer is poisoned.
    fn poison_on_error<T>(
        &mut self,
        step: impl FnOnce(&mut Self) -> Result<T, WriteError>,
    ) -> Result<T, WriteError> {
        let r = step(self);
        if r.is_err() {
            self.poisoned = true;
        }
        r
    }

    /// The slot holding `key`, if any.
    fn slot_of(&self, key: &str) -> Option<u32> {
        self.slots.find(key, &self.entries, &self.keys)
    }

    /// Checks an entry (and applies [`DuplicatePolicy::First`]) without adding anything.
    fn plan(&mut self, e: &NewEntry<'_>) -> Result<Option<Plan>, WriteError> {
        entry::validate(e)?;
        let replaces = self.slot_of(e.key);
        match (replaces, self.opts.get_duplicates()) {
            (None, _) if self.entries.len() as u64 >= format::MAX_ENTRIES => {
                return Err(WriteError::TooLarge(format!(
                    "more than {} entries",
                    format::MAX_ENTRIES
                )));
            }
            (None, _) | (Some(_), DuplicatePolicy::Last) => {}
            (Some(_), DuplicatePolicy::First) => {
                self.duplicates += 1;
                return Ok(None);
            }
            (Some(first), _) => {
                return Err(WriteError::DuplicateKey {
                    key: e.key.to_string(),
                    first: u64::from(first),
                })
            }
        }
        let content_type = match e.content_type {
            Some(ct) => self.content_type_id(ct, e.key)?,
            None => 0,
        };
        let lead = entry::encode_fields(e)?;
        Ok(Some(Plan {
            replaces,
            lead,
            content_type,
        }))
    }

    /// The id of `ct`, added to the table if new and there is room.
    fn content_type_id(&mut self, ct: &str, key: &str) -> Result<u32, WriteError> {
        if let Some(id) = self.ctype_ids.get(ct) {
            return Ok(*id);
        }
        let len: usize = self.ctypes.iter().map(|c| ctypes::encoded_len(c)).sum();
        if len + ctypes::encoded_len(ct) > MAX_CTYPES_LEN as usize {
            return Err(WriteError::InvalidEntry {
                key: key.to_string(),
                reason: "too many distinct content types (their table is at most 4 KiB)".into(),
            });
        }
        let id = self.ctypes.len() as u32;
        self.ctypes.push(ct.to_string());
        self.ctype_ids.insert(ct.to_string(), id);
        Ok(id)
    }

    /// Records an entry whose lead and body were spooled at `at`.
    fn store(
        &mut self,
        e: &NewEntry<'_>,
        plan: Plan,
        at: u64,
        body_len: u64,
    ) -> Result<bool, WriteError> {
        let lead_len = plan.lead.len() as u64;
        if lead_len + body_len > MAX_ENTRY_BLOCKS * u64::from(format::MAX_BLOCK_LEN) {
            return Err(WriteError::InvalidEntry {
                key: e.key.to_string(),
                reason: "the entry is over 2 GiB (512 blocks of at most 4 MiB, spec §8)".into(),
            });
        }
        let key_at = match plan.replaces {
            Some(i) => self.entries[i as usize].key_at,
            None => {
                let k = self.keys.len() as u64;
                self.keys.push_str(e.key);
                k
            }
        };
        let p = Pending {
            key_at,
            key_len: e.key.len() as u16,
            spool_at: at,
            lead_len: plan.lead.len() as u32,
            body_len,
            content_type: plan.content_type,
            date: e.date.map_or(0, |d| d.to_u32()),
        };
        self.raw_bytes += body_len;
        match plan.replaces {
            Some(i) => {
                let old = std::mem::replace(&mut self.entries[i as usize], p);
                self.raw_bytes -= old.body_len;
                self.duplicates += 1;
            }
            None => {
                self.entries.push(p);
                let i = self.entries.len() as u32 - 1;
                self.slots.insert(e.key, i, &self.entries, &self.keys);
            }
        }
        Ok(true)
    }

    /// Lays the entries out, writes the file and flushes; for a writer from
    /// [`create`](ArchiveWriter::create), also syncs the file and renames it into place.
    /// Fails if an earlier error poisoned the writer.
    ///
    /// ```
    /// use quire::{ArchiveWriter, NewEntry, WriterOptions};
    /// // Any `Write + Seek`: here a file the caller made (`create` makes one atomically).
    /// let file = tempfile::tempfile()?;
    /// let mut w = ArchiveWriter::new(file, WriterOptions::new())?;
    /// w.add(&NewEntry::new("a", b"first"))?;
    /// let summary = w.finish()?;
    /// assert_eq!((summary.entries, summary.raw_bytes), (1, 5));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn finish(mut self) -> Result<Summary, WriteError> {
        let commit = self.commit.take();
        let (inner, summary) = self.finish_into_inner()?;
        if let Some(commit) = commit {
            commit(inner)?;
        }
        Ok(summary)
    }

    /// Lays the entries out, writes the file and flushes, and returns the output (for a
    /// writer from [`create`](ArchiveWriter::create), the [`AtomicFile`], not yet
    /// committed).
    pub fn finish_into_inner(mut self) -> Result<(W, Summary), WriteError> {
        self.check_usable()?;
        self.slots = slots::Slots::new();
        let mut entries = std::mem::take(&mut self.entries);
        let keys = std::mem::take(&mut self.keys);
        entries.sort_unstable_by(|a, b| a.key(&keys).cmp(b.key(&keys)));
        self.number_content_types(&mut entries);
        self.spool.finish_writing()?;
        // The title index (§14) first, while only the entries are in memory.
        let titles = if self.opts.get_index().titles() {
            Some(titles::build(&entries, &keys, &self.spool)?)
        } else {
            None
        };
        // The full-text index (§15), from the entries' text, also before the blocks.
        #[cfg(feature = "fulltext")]
        let search = if self.opts.get_index().full_text() {
            let language = self
                .opts
                .get_metadata()
                .iter()
                .rev()
                .find(|(k, _)| k == "language")
                .map(|(_, v)| v.as_str());
            Some(search::build(
                &entries,
                &keys,
                &self.ctypes,
                &self.spool,
                language,
            )?)
        } else {
            None
        };
        #[cfg(not(feature = "fulltext"))]
        let search: Option<search::Built> = None;
        let threads = self.opts.thread_count();
        let opaque = opaque::find(&entries, &self.ctypes, &self.spool)?;
        if self.opts.get_block_size_is_auto() {
            self.target = choose_block_size(&entries, &opaque, &self.opts);
        }
        if let Some(t) = &mut self.progress {
            t.entries_total = entries.len() as u64;
            t.call(Stage::Dictionary, 0, 0, 0);
        }
        let chosen = self.pick_dictionary(&entries, &opaque, threads, None)?;
        let chosen = self.fit_dictionary(chosen, &entries, &opaque, threads)?;
        let (dict, frame, prepared) = match chosen {
            Some(c) => (Some(c.dict), c.frame, c.prepared),
            None => (None, None, None),
        };
        let dict_len = dict.as_ref().map_or(0, Vec::len) as u64;
        // One copy of the dictionary, for its own compression and for every block's.
        let dict = dict.map(Arc::new);
        let level = self.opts.get_level();
        let stored = StoredDict::start(dict.as_ref(), frame, level, threads)?;
        let mut data = DataWriter::new(Compressors::start(level, dict, prepared, threads)?)?;
        let placed = self.lay_out(&entries, &opaque, &mut data)?;
        let blocks = data.finish()?;
        if let Some(t) = &mut self.progress {
            t.entries = t.entries_total;
            t.ends.clear();
            t.compressed(blocks.stream_len);
        }
        let stored = stored.wait()?.unwrap_or_default();
        let record = |i: usize| {
            let (p, at) = (&entries[i], placed[i]);
            EntryRecord {
                key: p.key(&keys).to_owned(),
                lead_at: at.lead_at,
                lead_len: p.lead_len,
                body_len: p.body_len,
                shared_body_at: (at.shared_body_at != NOT_SHARED).then_some(at.shared_body_at),
                content_type: p.content_type,
                date: p.date,
            }
        };
        let tree = index::build(
            entries.len(),
            record,
            &blocks.records,
            self.root_budget(),
            self.opts.get_page_size() as usize,
            self.opts.get_pack_nodes(),
        )?;
        let shared = placed
            .iter()
            .filter(|r| r.shared_body_at != NOT_SHARED)
            .count() as u64;
        let h = Header {
            major: format::VERSION_MAJOR,
            minor: format::VERSION_MINOR,
            index_depth: tree.depth,
            required_flags: if dict_len > 0 {
                format::REQUIRED_DICT | format::REQUIRED_RAW_DICT
            } else {
                0
            } | if tree.packed {
                format::REQUIRED_PACKED_NODES
            } else {
                0
            },
            optional_flags: if shared > 0 {
                format::OPTIONAL_SHARED_BODIES
            } else {
                0
            },
            entry_count: entries.len() as u64,
            block_count: blocks.records.len() as u64,
            stream_len: blocks.stream_len,
            max_block_len: blocks.max_block_len,
            block_target: self.target,
            ..Header::default()
        };
        let summary = self.write_file(
            h,
            &stored,
            &tree,
            &blocks,
            dict_len,
            shared,
            titles.as_ref(),
            search.as_ref(),
        )?;
        self.out.flush()?;
        Ok((self.out, summary))
    }

    /// Numbers the content types by their first use in key order (the default stays 0), so
    /// that the same entries give the same archive in whatever order they were added: an
    /// archive unpacked and packed again is byte-identical.
    fn number_content_types(&mut self, entries: &mut [Pending]) {
        let n = self.ctypes.len();
        let mut new_of = vec![u32::MAX; n];
        let mut next = 0u32;
        let mut give = |old: usize, new_of: &mut Vec<u32>| {
            if let Some(slot) = new_of.get_mut(old).filter(|s| **s == u32::MAX) {
                *slot = next;
                next += 1;
            }
        };
        give(0, &mut new_of);
        for e in entries.iter() {
            give(e.content_type as usize, &mut new_of);
        }
        for old in 0..n {
            give(old, &mut new_of);
        }
        let mut ctypes = vec![String::new(); n];
        for (old, &new) in new_of.iter().enumerate() {
            if let (Some(slot), Some(name)) = (ctypes.get_mut(new as usize), self.ctypes.get(old)) {
                *slot = name.clone();
            }
        }
        for e in entries.iter_mut() {
            if let Some(&new) = new_of.get(e.content_type as usize) {
                e.content_type = new;
            }
        }
        self.ctype_ids = ctypes
            .iter()
            .enumerate()
            .map(|(i, c)| (c.clone(), i as u32))
            .collect();
        self.ctypes = ctypes;
    }

    /// Room for the root in the prelude, after the fixed parts.
    fn root_budget(&self) -> usize {
        let ct: usize = self.ctypes.iter().map(|c| ctypes::encoded_len(c)).sum();
        let index = self.opts.get_index();
        let sections =
            SectionId::ALL.len() + usize::from(index.titles()) + usize::from(index.full_text());
        format::MAX_PRELUDE_LEN - header::prelude_len(sections, self.meta.len(), ct, 0)
    }

    /// With [`WriterOptions::dict_stored_max`], `chosen` or a smaller dictionary whose stored
    /// frame fits: while the frame is over the bound, the dictionary is picked again with its
    /// size scaled by bound / frame (less 3 %, as smaller dictionaries store a little worse),
    /// at most [`FIT_ROUNDS`] times; `None` if none fits then. The frame kept is the one
    /// DICT stores.
    fn fit_dictionary(
        &self,
        mut chosen: Option<dictionary::Chosen>,
        entries: &[Pending],
        opaque: &[bool],
        threads: usize,
    ) -> Result<Option<dictionary::Chosen>, WriteError> {
        let Some(max) = self.opts.get_dict_stored_max() else {
            return Ok(chosen);
        };
        for round in 0..=FIT_ROUNDS {
            let Some(mut c) = chosen else {
                return Ok(None);
            };
            let frame = match c.frame.take() {
                Some(f) => f,
                None => {
                    let d = Arc::new(std::mem::take(&mut c.dict));
                    let level = self.opts.get_level();
                    let f = StoredDict::start(Some(&d), None, level, 1)?.wait()?;
                    c.dict = Arc::try_unwrap(d).unwrap_or_else(|d| d.as_ref().clone());
                    f.unwrap_or_default()
                }
            };
            if frame.len() <= max {
                c.frame = Some(frame);
                return Ok(Some(c));
            }
            let scaled = c.dict.len() as u128 * max as u128 * 97 / (frame.len() as u128 * 100);
            let size = usize::try_from(scaled).unwrap_or(usize::MAX);
            if size < 256 || round == FIT_ROUNDS {
                return Ok(None);
            }
            chosen = self.pick_dictionary(entries, opaque, threads, Some(size))?;
        }
        Ok(None)
    }

    /// The dictionary, sampled from entries spread evenly over the key order (§8), or `None`
    /// when the mode or the sample says no. `size`: the largest dictionary, in place of the
    /// options' (see [`fit_dictionary`](Self::fit_dictionary)).
    fn pick_dictionary(
        &self,
        entries: &[Pending],
        opaque: &[bool],
        threads: usize,
        size: Option<usize>,
    ) -> Result<Option<dictionary::Chosen>, WriteError> {
        let mode = self.opts.get_dictionary();
        if mode == DictionaryMode::Off {
            return Ok(None);
        }
        // Opaque entries (§8) are left out: no text block copies from them.
        let text = || {
            entries
                .iter()
                .zip(opaque)
                .filter(|(_, o)| !**o)
                .map(|(e, _)| e)
        };
        let whole: u64 = text().map(|e| u64::from(e.lead_len) + e.body_len).sum();
        let median = text_median(entries, opaque);
        let (dict_size, half) = match size {
            Some(size) => (size, size / 2),
            None => self.opts.dict_sizes_for(median, whole),
        };
        let total: u64 = text()
            .map(|e| u64::from(e.lead_len) + e.body_len.min(SAMPLE_PIECE))
            .sum();
        let budget = self.opts.dict_sample_for(dict_size) as u64;
        let step = total.div_ceil(budget.max(1)).max(1) as usize;
        let mut sample = Vec::new();
        let mut sizes = Vec::new();
        for e in text().step_by(step) {
            let len = (u64::from(e.lead_len) + e.body_len).min(SAMPLE_PIECE) as usize;
            if len == 0 {
                continue;
            }
            let from = sample.len();
            sample.resize(from + len, 0);
            self.spool.read_at(e.spool_at, &mut sample[from..])?;
            sizes.push(len);
        }
        let blocks: Vec<&[u8]> = sample.chunks(self.target as usize).collect();
        Ok(dictionary::choose(
            &self.opts,
            (dict_size, half),
            &sample,
            &sizes,
            &blocks,
            whole,
            threads,
        )?)
    }

    /// The entries whose body repeats an earlier entry's (in key order), each with that
    /// entry: bodies that fit in a block, hashed (XXH3-64 seeded with the length), sorted by
    /// hash, and compared byte for byte where hashes meet. Holds 16 bytes an entry while it
    /// runs, and only the repeats after.
    fn find_repeats(&self, entries: &[Pending]) -> Result<HashMap<u32, u32>, WriteError> {
        let mut repeats = HashMap::new();
        if !self.opts.get_dedup() {
            return Ok(repeats);
        }
        let target = u64::from(self.target);
        let mut buf = Vec::new();
        let mut other = Vec::new();
        let read_body = |p: &Pending, buf: &mut Vec<u8>| {
            buf.resize(p.body_len as usize, 0);
            self.spool.read_at(p.spool_at + u64::from(p.lead_len), buf)
        };
        let mut hashes: Vec<(u64, u32)> = Vec::new();
        let mut reader = spool::Reader::new(&self.spool);
        for (i, p) in entries.iter().enumerate() {
            if p.body_len > 0 && u64::from(p.lead_len) + p.body_len <= target {
                let body = reader.read(p.spool_at + u64::from(p.lead_len), p.body_len as usize)?;
                hashes.push((
                    xxhash_rust::xxh3::xxh3_64_with_seed(body, p.body_len),
                    i as u32,
                ));
            }
        }
        hashes.sort_unstable();
        // The entry whose body `other` holds: most runs are many copies of one body.
        let mut other_is = None;
        for run in hashes.chunk_by(|a, b| a.0 == b.0).filter(|r| r.len() > 1) {
            for &(_, later) in &run[1..] {
                // The earliest entry of the run with the same bytes: the hashes of different
                // bodies may meet.
                read_body(&entries[later as usize], &mut buf)?;
                for &(_, first) in run.iter().take_while(|(_, f)| *f < later) {
                    if repeats.contains_key(&first) {
                        continue;
                    }
                    if other_is != Some(first) {
                        read_body(&entries[first as usize], &mut other)?;
                        other_is = Some(first);
                    }
                    if other == buf {
                        repeats.insert(later, first);
                        break;
                    }
                }
            }
        }
        Ok(repeats)
    }

    /// Cuts the stream into blocks (§8) entry by entry in key order, and returns where each
    /// entry went; a body in `repeats` is shared with the earlier entry's instead of stored
    /// again.
    fn lay_out(
        &mut self,
        entries: &[Pending],
        opaque: &[bool],
        data: &mut DataWriter,
    ) -> Result<Vec<Placed>, WriteError> {
        let target = u64::from(self.target);
        let repeats = self.find_repeats(entries)?;
        if let Some(t) = &mut self.progress {
            t.bytes_total = entries
                .iter()
                .enumerate()
                .map(|(i, p)| match repeats.contains_key(&(i as u32)) {
                    true => u64::from(p.lead_len),
                    false => u64::from(p.lead_len) + p.body_len,
                })
                .sum();
            t.compressed(0);
        }
        let mut out: Vec<Placed> = Vec::with_capacity(entries.len());
        // Entries not over the target are read through a window of the spool: entries added
        // in key order are read with one read for many.
        let mut reader = spool::Reader::new(&self.spool);
        for (i, p) in entries.iter().enumerate() {
            let lead = u64::from(p.lead_len);
            let total = lead + p.body_len;
            let big = total > target;
            // An opaque body (§8) gets blocks of its own, stored as they are where compressing
            // would save little.
            let alone =
                opaque.get(i).copied().unwrap_or(false) && !repeats.contains_key(&(i as u32));
            let dup = repeats.get(&(i as u32)).map(|&f| {
                let first = &entries[f as usize];
                out[f as usize].lead_at + u64::from(first.lead_len)
            });
            let stored_len = if dup.is_some() { lead } else { total };
            if data.cur.len() as u64 + stored_len > target || big || alone {
                data.cut()?;
            }
            let lead_at = data.stream_pos();
            if let Some(t) = &mut self.progress {
                t.ends.push_back(lead_at + stored_len);
            }
            if alone {
                data.opaque = true;
                let chunk = total.min(u64::from(format::MAX_BLOCK_LEN));
                let copied = copy_big(&self.spool, &mut self.progress, p, data, chunk.max(target));
                data.opaque = false;
                copied?;
            } else if big {
                copy_big(&self.spool, &mut self.progress, p, data, target)?;
            } else {
                data.cur
                    .extend_from_slice(reader.read(p.spool_at, stored_len as usize)?);
                if data.cur.len() as u64 >= target {
                    data.cut()?;
                }
            }
            out.push(Placed {
                lead_at,
                shared_body_at: dup.unwrap_or(NOT_SHARED),
            });
            if let Some(t) = &mut self.progress {
                t.compressed(data.compressed);
            }
        }
        Ok(out)
    }

    /// Writes the prelude, DICT, INDEX, DATA (from its spool) and, when there is one, the
    /// title index (TITLES, §14).
    #[allow(clippy::too_many_arguments)]
    fn write_file(
        &mut self,
        mut h: Header,
        stored_dict: &[u8],
        tree: &index::Tree,
        blocks: &Blocks,
        dict_len: u64,
        shared: u64,
        titles: Option<&titles::Built>,
        search: Option<&search::Built>,
    ) -> Result<Summary, WriteError> {
        let ctypes = ctypes::encode(&self.ctypes);
        let sealed = titles.map(|t| t.seal(format::crc32(&tree.nodes), blocks.data_crc));
        let sealed_search = search.map(|t| t.seal(format::crc32(&tree.nodes), blocks.data_crc));
        let known = [
            (
                SectionId::Dict,
                stored_dict.len() as u64,
                format::crc32(stored_dict),
            ),
            (
                SectionId::Index,
                tree.nodes.len() as u64,
                format::crc32(&tree.nodes),
            ),
            (SectionId::Data, blocks.data_len, blocks.data_crc),
        ];
        let mut lens: Vec<(u32, u64, u32)> = known
            .iter()
            .map(|&(id, len, crc)| (id as u32, len, crc))
            .collect();
        if let (Some(t), Some((_, crc))) = (titles, &sealed) {
            lens.push((format::titles::SECTION_ID, t.len(), *crc));
        }
        if let (Some(t), Some((_, crc))) = (search, &sealed_search) {
            lens.push((format::search::SECTION_ID, t.len(), *crc));
        }
        let prelude_len =
            header::prelude_len(lens.len(), self.meta.len(), ctypes.len(), tree.root.len()) as u64;
        let mut at = prelude_len;
        let sections: Vec<SectionRecord> = lens
            .iter()
            .map(|&(id, length, crc)| {
                let r = SectionRecord {
                    id,
                    offset: at,
                    length,
                    crc,
                };
                at += length;
                r
            })
            .collect();
        h.file_len = at;
        let prelude = header::encode_prelude(&h, &sections, &self.meta, &ctypes, &tree.root);
        if let Some(t) = &mut self.progress {
            t.call(Stage::Writing, h.entry_count, 0, h.file_len);
        }
        self.out.write_all(&prelude)?;
        self.out.write_all(stored_dict)?;
        self.out.write_all(&tree.nodes)?;
        blocks.spool.copy_to(&mut self.out, blocks.data_len)?;
        if let (Some(t), Some((header, _))) = (titles, &sealed) {
            t.write_to(header, &mut self.out)?;
        }
        if let (Some(t), Some((header, _))) = (search, &sealed_search) {
            t.write_to(header, &mut self.out)?;
        }
        if let Some(t) = &mut self.progress {
            t.call(Stage::Writing, h.entry_count, h.file_len, h.file_len);
        }
        Ok(Summary {
            entries: h.entry_count,
            blocks: h.block_count,
            raw_bytes: self.raw_bytes,
            file_len: h.file_len,
            dict_len,
            stored_dict_len: stored_dict.len() as u64,
            data_len: blocks.data_len,
            prelude_len,
            index_len: tree.nodes.len() as u64,
            index_depth: tree.depth,
            titles_len: titles.map_or(0, |t| t.len()),
            search_len: search.map_or(0, |t| t.len()),
            duplicates: self.duplicates,
            shared_bodies: shared,
        })
    }
}

/// Copies an entry longer than the target into blocks of its own: of up to 16 targets or
/// 256 KiB (no less than the target, and more if it would need over 512 blocks). A long
/// entry is read whole anyway: larger blocks compress it better at no cost to readers of
/// other entries.
fn copy_big(
    spool: &Spool,
    progress: &mut Option<Tracker>,
    p: &Pending,
    data: &mut DataWriter,
    target: u64,
) -> Result<(), WriteError> {
    let total = u64::from(p.lead_len) + p.body_len;
    let chunk = target
        .max(LARGE_BLOCK.min(16 * target).min(total))
        .max(total.div_ceil(MAX_ENTRY_BLOCKS))
        .min(u64::from(format::MAX_BLOCK_LEN));
    let mut buf = Vec::new();
    let mut left = total;
    let mut from = p.spool_at;
    while left > 0 {
        let room = chunk.saturating_sub(data.cur.len() as u64).max(1);
        let n = left.min(room).min(8 << 20) as usize;
        buf.resize(n, 0);
        spool.read_at(from, &mut buf)?;
        data.cur.extend_from_slice(&buf);
        from += n as u64;
        left -= n as u64;
        if data.cur.len() as u64 >= chunk {
            data.cut()?;
        }
        if let Some(t) = progress {
            t.compressed(data.compressed);
        }
    }
    data.cut()
}

/// The block size the writer chooses (spec §8): the options' default, or
/// [`LONG_TEXT_BLOCK`] when a quarter or more of the text lies in entries longer than
/// 16 KiB, or short entries' ([`WriterOptions::block_size_for`]). Opaque entries, which lie
/// in blocks of their own, do not count.
fn choose_block_size(entries: &[Pending], opaque: &[bool], opts: &WriterOptions) -> u32 {
    let default = opts.get_block_size();
    let len = |(e, _): (&Pending, &bool)| u64::from(e.lead_len) + e.body_len;
    let text = || entries.iter().zip(opaque).filter(|(_, o)| !**o);
    let total: u64 = text().map(len).sum();
    let long: u64 = text().map(len).filter(|&l| l > 16 << 10).sum();
    if total > 0 && long * 4 >= total {
        return LONG_TEXT_BLOCK.max(default);
    }
    opts.block_size_for(text_median(entries, opaque), default)
}

/// The median length (lead and body) of the entries that are not opaque, 0 when there are
/// none: what tells short entries (§8's choices of block and dictionary size).
fn text_median(entries: &[Pending], opaque: &[bool]) -> u64 {
    let mut lens: Vec<u64> = entries
        .iter()
        .zip(opaque)
        .filter(|(_, o)| !**o)
        .map(|(e, _)| u64::from(e.lead_len) + e.body_len)
        .collect();
    let mid = lens.len() / 2;
    match lens.get(mid) {
        Some(_) => *lens.select_nth_unstable(mid).1,
        None => 0,
    }
}

/// What the checks of an entry found, before anything changed.
struct Plan {
    /// The slot of the entry this one replaces ([`DuplicatePolicy::Last`]).
    replaces: Option<u32>,
    /// Title and metadata as lead fields.
    lead: Vec<u8>,
    content_type: u32,
}

/// The blocks once all are written.
struct Blocks {
    records: Vec<BlockRecord>,
    spool: Spool,
    data_len: u64,
    data_crc: u32,
    stream_len: u64,
    max_block_len: u32,
}

/// Cuts blocks, has them compressed in order, and spools the stored bytes.
struct DataWriter {
    comp: Compressors,
    cur: Vec<u8>,
    /// The blocks cut now hold an opaque entry (§8).
    opaque: bool,
    cut: u64,
    /// Stream offset where each cut block starts, by number.
    starts: Vec<u64>,
    cut_stream: u64,
    ready: Vec<Done>,
    next_seq: u64,
    records: Vec<BlockRecord>,
    spool: Spool,
    data_len: u64,
    crc: crc32fast::Hasher,
    max_block_len: u32,
    /// Uncompressed bytes of the blocks compressed and spooled so far.
    compressed: u64,
}

impl DataWriter {
    fn new(comp: Compressors) -> Result<Self, WriteError> {
        Ok(DataWriter {
            comp,
            cur: Vec::new(),
            opaque: false,
            cut: 0,
            starts: Vec::new(),
            cut_stream: 0,
            ready: Vec::new(),
            next_seq: 0,
            records: Vec::new(),
            spool: Spool::new()?,
            data_len: 0,
            crc: crc32fast::Hasher::new(),
            max_block_len: 0,
            compressed: 0,
        })
    }

    /// Where the next byte goes in the stream.
    fn stream_pos(&self) -> u64 {
        self.cut_stream + self.cur.len() as u64
    }

    /// Ends the current block (if it holds anything) and sends it to be compressed.
    fn cut(&mut self) -> Result<(), WriteError> {
        if self.cur.is_empty() {
            return Ok(());
        }
        let raw = std::mem::take(&mut self.cur);
        self.starts.push(self.cut_stream);
        self.cut_stream += raw.len() as u64;
        self.cut += 1;
        if self.cut > format::MAX_BLOCKS {
            return Err(WriteError::TooLarge("more than 2^32 - 1 blocks".into()));
        }
        let job = Job {
            seq: self.cut - 1,
            raw,
            opaque: self.opaque,
        };
        self.comp.submit(job, &mut self.ready, &mut self.next_seq)?;
        self.write_ready()
    }

    /// Spools the compressed blocks that are ready, in order.
    fn write_ready(&mut self) -> Result<(), WriteError> {
        for d in std::mem::take(&mut self.ready) {
            let number = u32::try_from(d.seq).map_err(|_| WriteError::TooLarge("blocks".into()))?;
            let rec = BlockRecord {
                number,
                offset: self.data_len,
                stored_len: u32::try_from(d.bytes.len())
                    .map_err(|_| WriteError::TooLarge("a compressed block over 4 GiB".into()))?,
                raw_len: d.raw_len,
                stream_start: self.starts.get(d.seq as usize).copied().unwrap_or_default(),
                codec: d.codec as u8,
                stored_crc: format::crc32(&d.bytes),
                raw_crc: d.raw_crc,
            };
            self.spool.append(&d.bytes)?;
            self.crc.update(&d.bytes);
            self.data_len += d.bytes.len() as u64;
            self.max_block_len = self.max_block_len.max(d.raw_len);
            self.compressed += u64::from(d.raw_len);
            self.records.push(rec);
        }
        Ok(())
    }

    /// Cuts the last block and waits for every block.
    fn finish(mut self) -> Result<Blocks, WriteError> {
        self.cut()?;
        self.comp
            .collect(&mut self.ready, &mut self.next_seq, true)?;
        self.comp.stop();
        self.write_ready()?;
        if self.records.len() as u64 != self.cut {
            return Err(WriteError::Compression("a block went missing".into()));
        }
        self.spool.finish_writing()?;
        Ok(Blocks {
            records: self.records,
            spool: self.spool,
            data_len: self.data_len,
            data_crc: self.crc.finalize(),
            stream_len: self.cut_stream,
            max_block_len: self.max_block_len,
        })
    }
}

fn body_read(key: &str, source: io::Error) -> WriteError {
    WriteError::BodyRead {
        key: key.to_string(),
        source,
    }
}

/// Seconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ`.
pub(crate) fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_known_values() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
    }
}
