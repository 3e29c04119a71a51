//! The writer: [`ArchiveWriter`] streams entries into blocks, compresses full blocks (on a
//! pool of threads when asked), and writes the indexes and the header at [`finish`].
//!
//! Memory holds the entry records and keys (needed to build the indexes), a bounded sample
//! to pick the dictionary from, and a bounded number of blocks in flight; bodies are written
//! out as blocks fill, and a body given as a reader ([`ArchiveWriter::add_reader`]) is never
//! held whole. Output is byte-identical whatever the thread count.
//!
//! The parts: [`options`] (settings), [`entry`] (what an entry is and what is checked of
//! it), [`dictionary`] (picking and storing the dictionary), [`compress`]
//! (the compressor pool), [`atomic`] (the file that appears whole or not at all); this module
//! cuts the body stream into blocks and writes the sections, whose bytes `crate::format`
//! encodes.
//!
//! [`finish`]: ArchiveWriter::finish

mod atomic;
mod compress;
mod dictionary;
mod entry;
mod options;

pub use atomic::AtomicFile;
pub use entry::{NewEntry, DEFAULT_CONTENT_TYPE};
pub use options::{DictionaryMode, DuplicatePolicy, Overwrite, WriterOptions};

use std::collections::HashMap;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;

use crate::error::WriteError;
use crate::format::keyhash::{self, HashIndex};
use crate::format::{
    self, ctypes, meta, sorted, BlockRecord, Date, EntryRecord, Header, SectionId, SectionRecord,
};
use compress::{Compressors, Done, Job};
use dictionary::{Sample, StoredDict};

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
    /// Entries dropped by [`DuplicatePolicy::First`] or replaced by [`DuplicatePolicy::Last`].
    pub duplicates: u64,
    /// Entries whose body was stored once for several of them ([`WriterOptions::dedup`]).
    pub shared_bodies: u64,
}

/// The output: counts bytes, keeps a running CRC of the current section and the records of
/// the sections written.
struct Out<W: Write> {
    inner: W,
    pos: u64,
    crc: crc32fast::Hasher,
    sections: Vec<SectionRecord>,
}

impl<W: Write + Seek> Out<W> {
    fn write(&mut self, b: &[u8]) -> io::Result<()> {
        self.inner.write_all(b)?;
        self.crc.update(b);
        self.pos += b.len() as u64;
        Ok(())
    }

    /// Ends the current section, which started at `start`, and records it.
    fn end_section(&mut self, id: SectionId, start: u64) -> SectionRecord {
        let crc = std::mem::take(&mut self.crc).finalize();
        let rec = SectionRecord {
            id: id as u32,
            offset: start,
            length: self.pos - start,
            crc,
        };
        self.sections.push(rec);
        rec
    }

    /// Writes a whole section.
    fn section(&mut self, id: SectionId, bytes: &[u8]) -> io::Result<()> {
        let start = self.pos;
        self.write(bytes)?;
        self.end_section(id, start);
        Ok(())
    }

    /// Writes the header and the section table over the placeholder at offset 0, leaves the
    /// position at the end and flushes.
    fn finish(self, header: &Header) -> io::Result<W> {
        let head = format::header::encode_prelude(header, &self.sections);
        let mut inner = self.inner;
        inner.seek(SeekFrom::Start(0))?;
        inner.write_all(&head)?;
        inner.seek(SeekFrom::End(0))?;
        inner.flush()?;
        Ok(inner)
    }
}

/// Where the writer is: still sampling for the dictionary, or streaming blocks out.
enum Phase {
    Sampling(Sample),
    Streaming(Compressors),
}

/// The body stream: the block being filled, and the blocks cut, compressed and written.
struct Blocks {
    phase: Phase,
    /// Current block's uncompressed bytes.
    cur: Vec<u8>,
    cur_first_entry: u32,
    /// Number of blocks cut so far (the current one is number `cut`).
    cut: u64,
    /// Entries started in each cut block: (first entry, count).
    entries_in: Vec<(u32, u32)>,
    /// Records of the blocks written.
    records: Vec<BlockRecord>,
    /// Compressed blocks waiting to be written, in order; `next_seq` follows the last.
    ready: Vec<Done>,
    next_seq: u64,
    max_block_len: u32,
    /// Uncompressed bytes of the blocks written so far.
    stream_len: u64,
    /// Start of the data section, known once the dictionary is written.
    data_start: u64,
    dict_len: u64,
    /// The dictionary's stored (compressed) size.
    stored_dict_len: u64,
}

impl Blocks {
    fn new(phase: Phase) -> Self {
        Blocks {
            phase,
            cur: Vec::new(),
            cur_first_entry: 0,
            cut: 0,
            entries_in: Vec::new(),
            records: Vec::new(),
            ready: Vec::new(),
            next_seq: 0,
            max_block_len: 0,
            stream_len: 0,
            data_start: 0,
            dict_len: 0,
            stored_dict_len: 0,
        }
    }

    /// While sampling, notes `data`, found at `offset` in a body or a lead.
    fn note(&mut self, offset: u64, data: &[u8]) {
        if let Phase::Sampling(s) = &mut self.phase {
            s.note(offset, data);
        }
    }

    /// While sampling, notes the current block's bytes from `from` on.
    fn note_cur(&mut self, offset: u64, from: usize) {
        if let Phase::Sampling(s) = &mut self.phase {
            s.note(offset, &self.cur[from..]);
        }
    }

    /// The block the next byte goes into.
    fn cur_block(&self) -> Result<u32, WriteError> {
        u32::try_from(self.cut)
            .map_err(|_| WriteError::TooLarge("more than 2^32 - 1 blocks".into()))
    }
}

/// The entry table and what it refers to: records, their strings, keys and content types.
struct Table {
    entries: Vec<EntryRecord>,
    strings: Vec<u8>,
    keys: HashMap<Box<str>, u32>,
    ctypes: Vec<String>,
    ctype_ids: HashMap<String, u16>,
    /// Strings of replaced duplicates are still in `strings`.
    dead_strings: bool,
    raw_bytes: u64,
    duplicates: u64,
}

impl Table {
    fn new() -> Self {
        Table {
            entries: Vec::new(),
            strings: Vec::new(),
            keys: HashMap::new(),
            ctypes: vec![DEFAULT_CONTENT_TYPE.to_string()],
            ctype_ids: HashMap::from([(DEFAULT_CONTENT_TYPE.to_string(), 0)]),
            dead_strings: false,
            raw_bytes: 0,
            duplicates: 0,
        }
    }

    /// Fails if `ct` is new and the table has no room for it.
    fn check_content_type(&self, ct: &str, key: &str) -> Result<(), WriteError> {
        let fits = || {
            let len: usize = self.ctypes.iter().map(|c| ctypes::encoded_len(c)).sum();
            self.ctypes.len() < ctypes::MAX_CTYPES
                && len + ctypes::encoded_len(ct) <= format::MAX_SMALL_SECTION as usize
        };
        if self.ctype_ids.contains_key(ct) || fits() {
            return Ok(());
        }
        Err(WriteError::InvalidEntry {
            key: key.to_string(),
            reason: "too many distinct content types".into(),
        })
    }

    /// The id of `ct`, added to the table if new (after [`Table::check_content_type`]).
    fn content_type_id(&mut self, ct: &str) -> u16 {
        if let Some(id) = self.ctype_ids.get(ct) {
            return *id;
        }
        let id = self.ctypes.len() as u16;
        self.ctypes.push(ct.to_string());
        self.ctype_ids.insert(ct.to_string(), id);
        id
    }

    /// Drops the strings of replaced duplicates, so STRINGS holds only live entries.
    fn compact_strings(&mut self) {
        let mut fresh = Vec::with_capacity(self.strings.len());
        for r in &mut self.entries {
            let s = &self.strings[r.strings_offset as usize..][..r.strings_len as usize];
            r.strings_offset = fresh.len() as u64;
            fresh.extend_from_slice(s);
        }
        self.strings = fresh;
    }

    fn key(&self, r: &EntryRecord) -> &[u8] {
        &self.strings[r.strings_offset as usize..][..usize::from(r.key_len)]
    }
}

/// Bodies stored so far (by XXH3-128 and length: where they start), for deduplication.
#[derive(Default)]
struct Dedup {
    bodies: HashMap<(u128, u64), (u32, u32)>,
    shared: u64,
}

/// What the checks of an entry found, before anything changed.
struct Plan {
    /// The entry this one replaces ([`DuplicatePolicy::Last`]).
    replaces: Option<u32>,
    /// Title and metadata as string fields.
    fields: Vec<u8>,
}

/// A body on its way into the stream.
enum Body<'a> {
    /// All of it.
    Slice(&'a [u8]),
    /// Longer than a block: what has been read, then the rest.
    Stream {
        head: Vec<u8>,
        rest: &'a mut dyn Read,
    },
}

/// Streams entries into a quire archive.
///
/// [`create`](ArchiveWriter::create) writes a file atomically, [`new`](ArchiveWriter::new)
/// any seekable output, [`in_memory`](ArchiveWriter::in_memory) a `Vec<u8>`. Entries are
/// added with [`add`](ArchiveWriter::add) (a body in memory) or
/// [`add_reader`](ArchiveWriter::add_reader) (a body streamed from any [`Read`]), then
/// [`finish`](ArchiveWriter::finish) writes the indexes and the header.
///
/// An error that leaves an entry half written (an I/O error of the output, a body reader
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
    out: Out<W>,
    opts: WriterOptions,
    threads: usize,
    blocks: Blocks,
    table: Table,
    dedup: Dedup,
    /// An error left an entry half written.
    poisoned: bool,
    /// What [`finish`](ArchiveWriter::finish) does with the finished output: for
    /// [`create`](ArchiveWriter::create), sync it and rename it into place.
    commit: Option<fn(W) -> Result<(), WriteError>>,
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
    /// A writer over any seekable output (it writes the header last, at offset 0).
    /// [`finish`](ArchiveWriter::finish) flushes it;
    /// [`finish_into_inner`](ArchiveWriter::finish_into_inner) also gives it back.
    pub fn new(mut inner: W, opts: WriterOptions) -> Result<Self, WriteError> {
        opts.check()?;
        inner.seek(SeekFrom::Start(0))?;
        let mut out = Out {
            inner,
            pos: 0,
            crc: crc32fast::Hasher::new(),
            sections: Vec::new(),
        };
        let header_len = format::header_len(SectionId::ALL.len() as u16);
        out.write(&vec![0u8; header_len as usize])?;
        out.crc = crc32fast::Hasher::new();
        write_meta(&mut out, &opts)?;
        let threads = opts.thread_count();
        let phase = if opts.get_dictionary() == DictionaryMode::Off {
            Phase::Streaming(Compressors::start(opts.get_level(), None, threads)?)
        } else {
            Phase::Sampling(Sample::default())
        };
        let mut w = ArchiveWriter {
            out,
            threads,
            blocks: Blocks::new(phase),
            table: Table::new(),
            dedup: Dedup::default(),
            poisoned: false,
            commit: None,
            opts,
        };
        if matches!(w.blocks.phase, Phase::Streaming(_)) {
            w.write_dictionary(None, 0)?;
        }
        Ok(w)
    }

    /// Number of entries added so far.
    pub fn len(&self) -> u64 {
        self.table.entries.len() as u64
    }

    /// Whether no entry has been added yet.
    pub fn is_empty(&self) -> bool {
        self.table.entries.is_empty()
    }

    /// Body bytes added so far.
    pub fn raw_bytes(&self) -> u64 {
        self.table.raw_bytes
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
        self.poison_on_error(|w| w.store(entry, plan, Body::Slice(entry.body)))
    }

    /// Adds an entry whose body is read from `body` to its end; `entry.body` must be empty
    /// ([`WriteError::InvalidEntry`] otherwise). Returns `Ok(false)`, without reading, when
    /// the entry was dropped as a duplicate under [`DuplicatePolicy::First`].
    ///
    /// The body is read into the block being filled and the blocks are cut, compressed and
    /// written as they fill, so memory is bounded by the block size and the blocks in
    /// flight whatever the body's length (and, while the writer is still sampling bodies
    /// for the dictionary, by [`WriterOptions::dict_sample`], as with [`add`]). A body that
    /// ends within the first block's worth of bytes (up to [`WriterOptions::block_size`])
    /// takes the path of [`add`], deduplication included; longer bodies are never
    /// deduplicated. The archive is the same as [`add`] makes of the same bytes, but for
    /// that. Bodies of 2^48 bytes or more are refused.
    ///
    /// When reading fails the error is returned as [`WriteError::BodyRead`]. Within the
    /// first block's worth of bytes nothing has been added yet and the writer stays usable;
    /// after that the entry is half written and the writer is poisoned (every later call
    /// fails, and a writer from [`create`](ArchiveWriter::create) leaves no file).
    ///
    /// ```
    /// use quire::{Archive, ArchiveWriter, NewEntry, WriterOptions};
    /// use std::io::Read;
    /// let mut w = ArchiveWriter::in_memory(WriterOptions::new().block_size(4096))?;
    /// // Any reader: a file, a socket, a decoder. This one makes 1 MiB of text.
    /// let body = std::io::repeat(b'a').take(1 << 20);
    /// w.add_reader(&NewEntry::new("big", b"").title("Big"), body)?;
    /// let (out, _) = w.finish_into_inner()?;
    /// let archive = Archive::new(out.into_inner())?;
    /// assert_eq!(archive.get("big")?.unwrap().body()?.len(), 1 << 20);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// [`add`]: ArchiveWriter::add
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
        let block = self.opts.get_block_size() as usize;
        let mut head = Vec::new();
        read_more(body, &mut head, block + 1).map_err(|err| body_read(e.key, err))?;
        if head.len() <= block {
            return self.poison_on_error(|w| w.store(e, plan, Body::Slice(&head)));
        }
        self.poison_on_error(|w| w.store(e, plan, Body::Stream { head, rest: body }))
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

    /// Checks an entry (and applies [`DuplicatePolicy::First`]) without adding anything.
    fn plan(&mut self, e: &NewEntry<'_>) -> Result<Option<Plan>, WriteError> {
        entry::validate(e)?;
        let replaces = self.table.keys.get(e.key).copied();
        match (replaces, self.opts.get_duplicates()) {
            (None, _) if self.table.entries.len() as u64 >= format::MAX_ENTRIES => {
                return Err(WriteError::TooLarge(format!(
                    "more than {} entries",
                    format::MAX_ENTRIES
                )));
            }
            (None, _) | (Some(_), DuplicatePolicy::Last) => {}
            (Some(_), DuplicatePolicy::First) => {
                self.table.duplicates += 1;
                return Ok(None);
            }
            (Some(first), _) => {
                return Err(WriteError::DuplicateKey {
                    key: e.key.to_string(),
                    first: u64::from(first),
                })
            }
        }
        if let Some(ct) = e.content_type {
            self.table.check_content_type(ct, e.key)?;
        }
        let fields = entry::encode_fields(e)?;
        if self.table.strings.len() as u64 > format::MAX_U48 {
            return Err(WriteError::TooLarge(
                "2^48 bytes of keys and strings".into(),
            ));
        }
        Ok(Some(Plan { replaces, fields }))
    }

    /// Adds a checked entry: its strings, its lead and body (or a reference to an identical
    /// body stored before), its record.
    fn store(&mut self, e: &NewEntry<'_>, plan: Plan, body: Body<'_>) -> Result<bool, WriteError> {
        let index = plan.replaces.unwrap_or(self.table.entries.len() as u32);
        if plan.replaces.is_some() {
            self.table.duplicates += 1;
            self.table.dead_strings = true;
        }
        let content_type = e
            .content_type
            .map_or(0, |ct| self.table.content_type_id(ct));
        let strings_offset = self.table.strings.len() as u64;
        self.table.strings.extend_from_slice(e.key.as_bytes());
        // Identical bodies (by XXH3-128 and length) are stored once when dedup is on.
        let dedup_key = match body {
            Body::Slice(b) if self.opts.get_dedup() && b.len() >= 64 => {
                Some((xxhash_rust::xxh3::xxh3_128(b), b.len() as u64))
            }
            _ => None,
        };
        let shared = dedup_key.and_then(|k| self.dedup.bodies.get(&k).copied());
        // Title and metadata: the lead, stored in the block just before the body (§6.2), or
        // in STRINGS after the key for entries with no body of their own.
        let has_body = !matches!(body, Body::Slice(b) if b.is_empty());
        let room = format::MAX_BLOCK_LEN - self.opts.get_block_size();
        let lead: &[u8] =
            if shared.is_none() && has_body && plan.fields.len() as u64 <= u64::from(room) {
                &plan.fields
            } else {
                self.table.strings.extend_from_slice(&plan.fields);
                &[]
            };
        let strings_len = self.table.strings.len() as u64 - strings_offset;
        let ((block, offset), body_len) = match (body, shared) {
            (Body::Slice(b), Some(at)) => {
                self.dedup.shared += 1;
                self.table.raw_bytes += b.len() as u64;
                (at, b.len() as u64)
            }
            (Body::Slice(b), None) => {
                let at = self.append_body(lead, b, index)?;
                if let Some(k) = dedup_key {
                    self.dedup.bodies.insert(k, at);
                }
                (at, b.len() as u64)
            }
            (Body::Stream { head, rest }, _) => {
                self.append_stream(e.key, lead, head, rest, index)?
            }
        };
        let rec = EntryRecord {
            body_len,
            content_type,
            strings_offset,
            key_len: e.key.len() as u16,
            block,
            offset,
            strings_len: strings_len as u32,
            lead_len: lead.len() as u32,
            date: e.date.map_or(0, Date::to_u32),
        };
        match plan.replaces {
            Some(i) => self.table.entries[i as usize] = rec,
            None => {
                self.table.entries.push(rec);
                self.table.keys.insert(e.key.into(), index);
            }
        }
        Ok(true)
    }

    /// Appends an entry's lead and body to the stream, the lead whole in the block the body
    /// starts in; returns where the body starts.
    fn append_body(
        &mut self,
        lead: &[u8],
        body: &[u8],
        index: u32,
    ) -> Result<(u32, u32), WriteError> {
        self.table.raw_bytes += body.len() as u64;
        if body.is_empty() {
            return Ok((0, 0));
        }
        let start = self.begin_body(lead, body.len(), index)?;
        self.blocks.note(0, body);
        self.fill(body, index)?;
        Ok(start)
    }

    /// Appends an entry's lead and a body longer than a block: `head`, then the rest of
    /// `rest`, read block by block. Returns where the body starts and its length.
    fn append_stream(
        &mut self,
        key: &str,
        lead: &[u8],
        mut head: Vec<u8>,
        rest: &mut dyn Read,
        index: u32,
    ) -> Result<((u32, u32), u64), WriteError> {
        let start = self.begin_body(lead, head.len(), index)?;
        // `add` knows the whole body's length when it decides where the dictionary is
        // picked (when the sample reaches `dict_sample`). Reading ahead that far, while
        // sampling, makes the same decision here: either the body ends within it, or the
        // sample will be full at the next cut. The sample holds that much anyway.
        if let Phase::Sampling(s) = &self.blocks.phase {
            let want = self.opts.get_dict_sample().saturating_sub(s.bytes);
            read_more(rest, &mut head, want).map_err(|err| body_read(key, err))?;
        }
        let mut len = head.len() as u64;
        entry::check_body_len(key, len)?;
        self.blocks.note(0, &head);
        self.fill(&head, index)?;
        drop(head);
        let target = self.opts.get_block_size() as usize;
        loop {
            let room = target.saturating_sub(self.blocks.cur.len()).max(1);
            let from = self.blocks.cur.len();
            self.blocks.cur.reserve_exact(room);
            let got = Read::take(&mut *rest, room as u64).read_to_end(&mut self.blocks.cur);
            let n = self.blocks.cur.len() - from;
            self.blocks.note_cur(len, from);
            len += n as u64;
            got.map_err(|err| body_read(key, err))?;
            entry::check_body_len(key, len)?;
            if self.blocks.cur.len() >= target {
                self.cut_block(self.table.entries.len() as u32 + 1)?;
                self.blocks.cur_first_entry = index;
            }
            if n < room {
                break;
            }
        }
        self.table.raw_bytes += len;
        Ok((start, len))
    }

    /// Starts an entry's bytes: cuts the block first unless its lead and a body of
    /// `body_len` bytes fit, then appends the lead. Returns where the body starts.
    fn begin_body(
        &mut self,
        lead: &[u8],
        body_len: usize,
        index: u32,
    ) -> Result<(u32, u32), WriteError> {
        let target = self.opts.get_block_size() as usize;
        let cur = self.blocks.cur.len();
        if cur > 0 && cur + lead.len() + body_len > target {
            self.cut_block(self.table.entries.len() as u32)?;
        }
        if self.blocks.cur.is_empty() {
            self.blocks.cur_first_entry = index;
        }
        let block = self.blocks.cur_block()?;
        if !lead.is_empty() {
            self.blocks.note(0, lead);
            self.blocks.cur.extend_from_slice(lead);
        }
        Ok((block, self.blocks.cur.len() as u32))
    }

    /// Appends body bytes, cutting blocks as they fill.
    fn fill(&mut self, mut rest: &[u8], index: u32) -> Result<(), WriteError> {
        let target = self.opts.get_block_size() as usize;
        while !rest.is_empty() {
            // At least one body byte joins the lead, however long the lead.
            let room = target.saturating_sub(self.blocks.cur.len()).max(1);
            let (now, later) = rest.split_at(room.min(rest.len()));
            self.blocks.cur.extend_from_slice(now);
            rest = later;
            if self.blocks.cur.len() >= target {
                self.cut_block(self.table.entries.len() as u32 + 1)?;
                self.blocks.cur_first_entry = index;
            }
        }
        Ok(())
    }

    /// Ends the current block and sends it on (or holds it while sampling). `end` is one
    /// past the last entry whose bytes went into it (for messages only).
    fn cut_block(&mut self, end: u32) -> Result<(), WriteError> {
        let b = &mut self.blocks;
        if b.cur.is_empty() {
            return Ok(());
        }
        let raw = std::mem::take(&mut b.cur);
        let first = b.cur_first_entry;
        b.entries_in.push((first, end.saturating_sub(first).max(1)));
        b.cut += 1;
        if b.cut > format::MAX_BLOCKS {
            return Err(WriteError::TooLarge("more than 2^32 - 1 blocks".into()));
        }
        let sampled_enough = match &mut b.phase {
            Phase::Sampling(s) => {
                s.blocks.push(raw);
                s.bytes >= self.opts.get_dict_sample()
            }
            Phase::Streaming(c) => {
                let job = Job {
                    seq: b.cut - 1,
                    raw,
                };
                c.submit(job, &mut b.ready, &mut b.next_seq)?;
                false
            }
        };
        if sampled_enough {
            self.pick_and_stream()
        } else {
            self.write_ready()
        }
    }

    /// Picks the dictionary from the held-back sample, writes it, and compresses the held
    /// blocks.
    fn pick_and_stream(&mut self) -> Result<(), WriteError> {
        let Phase::Sampling(sample) =
            std::mem::replace(&mut self.blocks.phase, Phase::Sampling(Sample::default()))
        else {
            return Ok(());
        };
        // The sample is the body stream so far: the held blocks and the current one.
        let (bytes, sizes) = sample.bytes_and_sizes(&self.blocks.cur);
        let picked = dictionary::pick(&self.opts, &bytes, &sizes);
        drop(bytes);
        let dict = match picked {
            Some(d) => {
                let blocks: Vec<&[u8]> = (sample.blocks.iter().map(Vec::as_slice))
                    .chain([self.blocks.cur.as_slice()])
                    .collect();
                let mode = self.opts.get_dictionary();
                dictionary::pays_off(mode, &d, &blocks, self.threads)?.then_some(d)
            }
            None => None,
        };
        // The stored dictionary is compressed beside the held blocks when there are threads
        // to spare; the blocks wait in `ready` until it is written, since DICT comes before
        // DATA.
        let dict_len = dict.as_ref().map_or(0, Vec::len);
        let level = self.opts.get_level();
        let stored = StoredDict::start(dict.as_deref(), level, self.threads)?;
        let mut c = Compressors::start(level, dict, self.threads)?;
        for (seq, raw) in sample.blocks.into_iter().enumerate() {
            let job = Job {
                seq: seq as u64,
                raw,
            };
            c.submit(job, &mut self.blocks.ready, &mut self.blocks.next_seq)?;
        }
        let stored = stored.wait()?;
        self.write_dictionary(stored.as_deref(), dict_len)?;
        self.write_ready()?;
        self.blocks.phase = Phase::Streaming(c);
        Ok(())
    }

    /// Writes the DICT section: `stored` is the compressed dictionary of `dict_len` bytes.
    fn write_dictionary(
        &mut self,
        stored: Option<&[u8]>,
        dict_len: usize,
    ) -> Result<(), WriteError> {
        let start = self.out.pos;
        if let Some(d) = stored {
            self.out.write(d)?;
            self.blocks.dict_len = dict_len as u64;
            self.blocks.stored_dict_len = d.len() as u64;
        }
        self.out.end_section(SectionId::Dict, start);
        self.blocks.data_start = self.out.pos;
        Ok(())
    }

    /// Writes the finished blocks, in order.
    fn write_ready(&mut self) -> Result<(), WriteError> {
        let b = &mut self.blocks;
        for d in std::mem::take(&mut b.ready) {
            let (first_entry, entry_count) = b
                .entries_in
                .get(d.seq as usize)
                .copied()
                .unwrap_or_default();
            if b.stream_len + u64::from(d.raw_len) > format::MAX_U48 {
                return Err(WriteError::TooLarge("2^48 bytes of bodies".into()));
            }
            let rec = BlockRecord {
                offset: self.out.pos,
                stream_offset: b.stream_len,
                stored_len: u32::try_from(d.bytes.len())
                    .map_err(|_| WriteError::TooLarge("a compressed block over 4 GiB".into()))?,
                raw_len: d.raw_len,
                first_entry,
                entry_count,
                codec: d.codec as u8,
                data_crc: format::crc32(&d.bytes),
            };
            self.out.write(&d.bytes)?;
            b.max_block_len = b.max_block_len.max(d.raw_len);
            b.stream_len += u64::from(d.raw_len);
            b.records.push(rec);
        }
        Ok(())
    }

    /// Writes the remaining blocks, the indexes and the header, and flushes; for a writer
    /// from [`create`](ArchiveWriter::create), also syncs the file and renames it into
    /// place. Fails if an earlier error poisoned the writer.
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

    /// Writes the remaining blocks, the indexes and the header, flushes, and returns the
    /// output (for a writer from [`create`](ArchiveWriter::create), the [`AtomicFile`], not
    /// yet committed).
    pub fn finish_into_inner(mut self) -> Result<(W, Summary), WriteError> {
        self.check_usable()?;
        self.end_data()?;
        if self.table.dead_strings {
            self.table.compact_strings();
        }
        self.out
            .section(SectionId::Ctypes, &ctypes::encode(&self.table.ctypes))?;
        self.write_tables()?;
        let index = self.write_indexes()?;
        let header = self.header(&index);
        let summary = Summary {
            entries: header.entry_count,
            blocks: header.block_count,
            raw_bytes: self.table.raw_bytes,
            file_len: header.file_len,
            dict_len: self.blocks.dict_len,
            stored_dict_len: self.blocks.stored_dict_len,
            duplicates: self.table.duplicates,
            shared_bodies: self.dedup.shared,
        };
        Ok((self.out.finish(&header)?, summary))
    }

    /// Picks the dictionary if still sampling, cuts the last block, writes every block and
    /// ends DATA.
    fn end_data(&mut self) -> Result<(), WriteError> {
        if matches!(self.blocks.phase, Phase::Sampling(_)) {
            // Pick from everything seen, including the partial block.
            self.pick_and_stream()?;
        }
        self.cut_block(self.table.entries.len() as u32)?;
        if let Phase::Streaming(c) = &mut self.blocks.phase {
            c.collect(&mut self.blocks.ready, &mut self.blocks.next_seq, true)?;
            c.stop();
        }
        self.write_ready()?;
        if self.blocks.records.len() as u64 != self.blocks.cut {
            return Err(WriteError::Compression("a block went missing".into()));
        }
        self.out
            .end_section(SectionId::Data, self.blocks.data_start);
        Ok(())
    }

    /// Writes BLOCKS, ENTRIES and STRINGS.
    fn write_tables(&mut self) -> Result<(), WriteError> {
        let start = self.out.pos;
        for r in std::mem::take(&mut self.blocks.records) {
            self.out.write(&r.encode())?;
        }
        self.out.end_section(SectionId::Blocks, start);

        let start = self.out.pos;
        for r in &self.table.entries {
            let s = &self.table.strings[r.strings_offset as usize..][..r.strings_len as usize];
            self.out.write(&r.encode(s))?;
        }
        self.out.end_section(SectionId::Entries, start);
        self.out.section(SectionId::Strings, &self.table.strings)?;
        Ok(())
    }

    /// Writes KEYHASH and SORTED; returns the hash index's parameters.
    fn write_indexes(&mut self) -> Result<HashIndex, WriteError> {
        let keys: Vec<&[u8]> = self
            .table
            .entries
            .iter()
            .map(|r| self.table.key(r))
            .collect();
        let index = keyhash::build(&keys);
        self.out.section(SectionId::KeyHash, &index.encode())?;

        let mut order: Vec<u32> = (0..keys.len() as u32).collect();
        order.sort_by(|a, b| keys[*a as usize].cmp(keys[*b as usize]));
        self.out
            .section(SectionId::Sorted, &sorted::encode(&order))?;
        Ok(index)
    }

    /// The header, once every section is written.
    fn header(&self, index: &HashIndex) -> Header {
        Header {
            major: format::VERSION_MAJOR,
            minor: format::VERSION_MINOR,
            section_count: self.out.sections.len() as u16,
            required_flags: if self.blocks.dict_len > 0 {
                format::REQUIRED_DICT | format::REQUIRED_RAW_DICT
            } else {
                0
            },
            optional_flags: if self.dedup.shared > 0 {
                format::OPTIONAL_SHARED_BODIES
            } else {
                0
            },
            file_len: self.out.pos,
            entry_count: self.table.entries.len() as u64,
            block_count: self.blocks.cut,
            hash_seed: index.seed,
            bucket_count: index.buckets.len() as u64,
            max_probe: index.max_probe,
            max_block_len: self.blocks.max_block_len,
            block_target: self.opts.get_block_size(),
            stream_len: self.blocks.stream_len,
        }
    }
}

/// Writes the META section (§3).
fn write_meta<W: Write + Seek>(out: &mut Out<W>, opts: &WriterOptions) -> Result<(), WriteError> {
    let bytes = meta::encode(&opts.archive_metadata());
    if bytes.len() as u64 > format::MAX_SMALL_SECTION {
        return Err(WriteError::InvalidOptions(
            "archive metadata is over 1 MiB".into(),
        ));
    }
    out.section(SectionId::Meta, &bytes)?;
    Ok(())
}

/// Reads from `r` until `buf` holds `limit` bytes or the input ends, growing `buf` by
/// doubling (never past `limit`, so a short input costs little).
fn read_more(r: &mut dyn Read, buf: &mut Vec<u8>, limit: usize) -> io::Result<()> {
    while buf.len() < limit {
        let room = buf.len().max(8 << 10).min(limit - buf.len());
        buf.reserve_exact(room);
        // Reading at most the reserved room never grows `buf` further.
        let n = Read::take(&mut *r, room as u64).read_to_end(buf)?;
        if n < room {
            break;
        }
    }
    Ok(())
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
