//! The writer: [`ArchiveWriter`] streams entries into blocks, compresses full blocks (on a
//! pool of threads when asked), and writes the indexes and the header at [`finish`].
//!
//! Memory holds the entry records and keys (needed to build the indexes),
//! a bounded sample to pick the dictionary from, and a bounded number of blocks in flight; bodies
//! are written out as blocks fill. Output is byte-identical whatever the thread count.
//!
//! [`finish`]: ArchiveWriter::finish

use std::collections::{BTreeMap, HashMap};
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread;

use crate::error::WriteError;
use crate::format::{
    self, BlockRecord, Codec, Date, EntryRecord, Header, SectionId, SectionRecord, Slot,
    ENTRIES_PER_GROUP, FIELD_META, FIELD_TITLE, MAX_KEY_LEN, NO_ENTRY, SLOTS_PER_BUCKET,
};
use zstd::zstd_safe::CParameter;

/// The content type entries get when none is given.
pub const DEFAULT_CONTENT_TYPE: &str = "text/plain; charset=utf-8";

/// What to do when a key is added a second time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
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
pub enum DictionaryMode {
    /// Never.
    Off,
    /// When the sample is large enough to make one worthwhile (at least 64 KiB) and a quick
    /// estimate (level 3, on up to 2 MiB of the sample) says the dictionary saves more than
    /// it costs to store.
    #[default]
    Auto,
    /// Whenever the sample has at least eight bodies, however small they are.
    On,
}

/// Writer settings. The defaults are the balance measured in `BENCHMARKS.md`.
#[derive(Debug, Clone)]
pub struct WriterOptions {
    /// zstd level, 1..=22.
    pub level: i32,
    /// Target uncompressed block size in bytes (64 ..= 256 MiB).
    pub block_size: u32,
    /// Dictionary use.
    pub dictionary: DictionaryMode,
    /// Largest dictionary, in bytes (bodies sampled from the start of the input).
    pub dict_size: usize,
    /// How many bytes of bodies (from the start of the input) to pick the dictionary from.
    pub dict_sample: usize,
    /// Compression threads; 0 means all available cores.
    pub threads: usize,
    /// What a repeated key does.
    pub duplicates: DuplicatePolicy,
    /// Store identical bodies (of 64 bytes or more) once: later entries point at the first
    /// copy (XXH3-128 of the body identifies copies). Sets the SHARED_BODIES flag when used.
    pub dedup: bool,
    /// Creation time in seconds since the Unix epoch; `None` takes `SOURCE_DATE_EPOCH` when
    /// set, else the current time.
    pub created: Option<u64>,
    /// Archive metadata: `title`, `description`, `creator`, `source`, or any other name.
    /// `created` and `tool` are filled in by the writer.
    pub metadata: Vec<(String, String)>,
}

impl Default for WriterOptions {
    fn default() -> Self {
        WriterOptions {
            level: 19,
            block_size: 16 << 10,
            dictionary: DictionaryMode::Auto,
            dict_size: 2 << 20,
            dict_sample: 16 << 20,
            threads: 0,
            duplicates: DuplicatePolicy::Error,
            dedup: true,
            created: None,
            metadata: Vec::new(),
        }
    }
}

impl WriterOptions {
    /// The smallest archives, at the cost of lookup speed: zstd level 22 and 16 MiB blocks
    /// (close to solid compression; a lookup decompresses up to a whole block).
    pub fn smallest() -> Self {
        WriterOptions {
            level: 22,
            block_size: 16 << 20,
            ..WriterOptions::default()
        }
    }

    fn check(&self) -> Result<(), WriteError> {
        let bad = |s: String| Err(WriteError::InvalidOptions(s));
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
        if self.dict_size > (format::MAX_DICT_LEN as usize) || self.dict_size < 256 {
            return bad(format!(
                "dictionary size {} is not in 256..={}",
                self.dict_size,
                format::MAX_DICT_LEN
            ));
        }
        for (name, value) in &self.metadata {
            if name.len() > usize::from(u16::MAX) || value.len() > u32::MAX as usize {
                return bad(format!("metadata {name:?} is too long"));
            }
        }
        Ok(())
    }

    fn thread_count(&self) -> usize {
        match self.threads {
            0 => thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
    }
}

/// An entry to add: the key, its body and optional fields.
#[derive(Debug, Clone, Default)]
pub struct NewEntry<'a> {
    /// Unique, non-empty key of at most 4096 bytes.
    pub key: &'a str,
    /// Title.
    pub title: Option<&'a str>,
    /// Date.
    pub date: Option<Date>,
    /// Content type; `None` means [`DEFAULT_CONTENT_TYPE`].
    pub content_type: Option<&'a str>,
    /// Extra metadata pairs.
    pub metadata: Vec<(&'a str, &'a str)>,
    /// The body.
    pub body: &'a [u8],
}

impl<'a> NewEntry<'a> {
    /// An entry with just a key and a body.
    pub fn new(key: &'a str, body: &'a [u8]) -> Self {
        NewEntry {
            key,
            body,
            ..NewEntry::default()
        }
    }
    /// Sets the title.
    pub fn title(mut self, title: &'a str) -> Self {
        self.title = Some(title);
        self
    }
    /// Sets the date.
    pub fn date(mut self, date: Date) -> Self {
        self.date = Some(date);
        self
    }
    /// Sets the content type.
    pub fn content_type(mut self, ct: &'a str) -> Self {
        self.content_type = Some(ct);
        self
    }
    /// Adds a metadata pair.
    pub fn meta(mut self, name: &'a str, value: &'a str) -> Self {
        self.metadata.push((name, value));
        self
    }
}

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
    /// Entries dropped by [`DuplicatePolicy::First`] or replaced by [`DuplicatePolicy::Last`].
    pub duplicates: u64,
    /// Entries whose body was stored once for several of them ([`WriterOptions::dedup`]).
    pub shared_bodies: u64,
}

/// A file written to a temporary name beside its target and renamed over it on
/// [`commit`](AtomicFile::commit); dropped without commit, it is deleted.
#[derive(Debug)]
pub struct AtomicFile {
    file: io::BufWriter<tempfile::NamedTempFile>,
    target: PathBuf,
    overwrite: bool,
}

impl AtomicFile {
    /// Creates the temporary file in `target`'s directory. Fails at once if `target`
    /// exists and `overwrite` is false.
    pub fn create(target: &Path, overwrite: bool) -> io::Result<AtomicFile> {
        if !overwrite && target.symlink_metadata().is_ok() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} already exists", target.display()),
            ));
        }
        let tmp = tempfile::Builder::new()
            .prefix(&temp_prefix(target))
            .suffix(TEMP_SUFFIX)
            .tempfile_in(parent_dir(target))?;
        // Held until the file is renamed or dropped: tells a later writer that this temp
        // file is in use, not left over from a killed process.
        tmp.as_file()
            .try_lock()
            .map_err(|e| io::Error::other(format!("cannot lock {}: {e}", tmp.path().display())))?;
        Ok(AtomicFile {
            file: io::BufWriter::with_capacity(1 << 20, tmp),
            target: target.to_path_buf(),
            overwrite,
        })
    }

    /// Flushes, syncs to disk and renames over the target; then removes temp files that
    /// earlier writers of the same target left when they were killed.
    pub fn commit(self) -> Result<(), WriteError> {
        let tmp = self.file.into_inner().map_err(|e| e.into_error())?;
        tmp.as_file().sync_all()?;
        let persisted = if self.overwrite {
            tmp.persist(&self.target)
        } else {
            tmp.persist_noclobber(&self.target)
        };
        let file = match persisted {
            Ok(f) => f,
            Err(e) if e.error.kind() == io::ErrorKind::AlreadyExists => {
                return Err(WriteError::TargetExists(self.target));
            }
            Err(e) => return Err(e.error.into()),
        };
        drop(file);
        let dir = parent_dir(&self.target);
        // Make the rename itself durable.
        #[cfg(unix)]
        if let Ok(d) = std::fs::File::open(&dir) {
            let _ = d.sync_all();
        }
        remove_stale_temp_files(&dir, &temp_prefix(&self.target));
        Ok(())
    }
}

const TEMP_SUFFIX: &str = ".partial";

/// `.NAME.quire-tmp-`: temp files are named after their target, so stale ones can be found.
fn temp_prefix(target: &Path) -> String {
    let name = target
        .file_name()
        .map_or_else(|| "archive".into(), |n| n.to_string_lossy());
    format!(".{name}.quire-tmp-")
}

fn parent_dir(target: &Path) -> PathBuf {
    match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Deletes `PREFIX*.partial` files in `dir` that no live writer holds locked.
fn remove_stale_temp_files(dir: &Path, prefix: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let name = name.to_string_lossy();
        let is_file = e.file_type().is_ok_and(|t| t.is_file());
        if !is_file || !name.starts_with(prefix) || !name.ends_with(TEMP_SUFFIX) {
            continue;
        }
        let path = e.path();
        let Ok(f) = std::fs::OpenOptions::new().write(true).open(&path) else {
            continue;
        };
        // Locked: another writer is still working on it.
        if f.try_lock().is_ok() {
            let _ = std::fs::remove_file(&path);
        }
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl Seek for AtomicFile {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.file.seek(pos)
    }
}

/// Counts bytes and keeps a running CRC of the current section.
struct Out<W: Write> {
    inner: W,
    pos: u64,
    crc: crc32fast::Hasher,
}

impl<W: Write> Out<W> {
    fn write(&mut self, b: &[u8]) -> io::Result<()> {
        self.inner.write_all(b)?;
        self.crc.update(b);
        self.pos += b.len() as u64;
        Ok(())
    }
    /// Ends the current section that started at `start`.
    fn end_section(&mut self, id: SectionId, start: u64) -> SectionRecord {
        let crc = std::mem::take(&mut self.crc).finalize();
        SectionRecord {
            id: id as u32,
            offset: start,
            length: self.pos - start,
            crc,
        }
    }
}

/// A block ready to compress.
struct Job {
    seq: u64,
    raw: Vec<u8>,
}

/// A compressed (or raw) block.
struct Done {
    seq: u64,
    raw_len: u32,
    codec: Codec,
    bytes: Vec<u8>,
}

fn compress_block(
    c: &mut zstd::bulk::Compressor<'static>,
    with_dict: bool,
    job: Job,
) -> io::Result<Done> {
    let raw_len = job.raw.len() as u32;
    let packed = c.compress(&job.raw)?;
    Ok(if packed.len() < job.raw.len() {
        Done {
            seq: job.seq,
            raw_len,
            codec: if with_dict {
                Codec::ZstdDict
            } else {
                Codec::Zstd
            },
            bytes: packed,
        }
    } else {
        Done {
            seq: job.seq,
            raw_len,
            codec: Codec::Raw,
            bytes: job.raw,
        }
    })
}

fn new_compressor(level: i32, dict: Option<&[u8]>) -> io::Result<zstd::bulk::Compressor<'static>> {
    let mut c = match dict {
        Some(d) => zstd::bulk::Compressor::with_dictionary(level, d)?,
        None => zstd::bulk::Compressor::new(level)?,
    };
    c.include_checksum(false)?;
    c.include_contentsize(true)?;
    c.include_dictid(false)?;
    if let Some(d) = dict {
        if level >= BT_LEVELS {
            // Every block starts from a copy of the dictionary's match-finder tables. zstd
            // sizes them for the level (at 19: 2^22-entry chain and hash tables, 32 MiB),
            // and copying them dominated packing. Tables that just cover the dictionary
            // give the same output size within bytes and pack ~1.4x faster (news corpus,
            // 1 MiB dictionary, 16 KiB blocks).
            let chain = dict_table_log(d.len());
            c.set_parameter(CParameter::ChainLog(chain))?;
            c.set_parameter(CParameter::HashLog(chain.min(18)))?;
        }
    }
    Ok(c)
}

/// From this level up zstd uses binary-tree match finders (btlazy2, btopt, btultra).
const BT_LEVELS: i32 = 13;

/// log2 of a binary-tree chain table that covers a dictionary of `len` bytes (two entries
/// per position), within zstd's bounds.
fn dict_table_log(len: usize) -> u32 {
    let positions = len.max(1).next_power_of_two().trailing_zeros();
    (positions + 1).clamp(16, 24)
}

/// The DICT section's contents (§5): sampled bodies, compressed like a solid archive at the
/// archive's level (at level 19, 2 MiB take ~0.85 s, longer than compressing all the blocks
/// of a level-3 pack).
fn compress_dictionary(dict: &[u8], level: i32) -> io::Result<Vec<u8>> {
    let mut c = zstd::bulk::Compressor::new(level)?;
    c.include_contentsize(true)?;
    c.include_checksum(false)?;
    c.compress(dict)
}

/// Longest piece of one body that goes into a dictionary.
const DICT_PIECE: usize = 64 << 10;

/// A raw-content dictionary (§5) of at most `size` bytes: bodies of the sample (`sizes` are
/// their lengths, back to back in `sample`), each up to [`DICT_PIECE`], picked evenly over
/// the sample. On news text such a dictionary needs about twice the bytes of one trained by
/// zstd for the same gain on articles it has not seen, but it takes no training (~1 s per
/// MiB on one core, which kept packing from scaling with threads), and on the articles it
/// holds it works like solid compression (`BENCHMARKS.md`).
fn sample_dictionary(sample: &[u8], sizes: &[usize], size: usize) -> Vec<u8> {
    let total = sample.len() as u128;
    let mut dict = Vec::with_capacity(size.min(sample.len()));
    let mut start = 0usize;
    for &len in sizes {
        let body = sample.get(start..start + len).unwrap_or_default();
        start += len;
        if dict.len() >= size {
            break;
        }
        // Take a body when the dictionary has fallen behind the share of the sample passed.
        if (start - len) as u128 * size as u128 >= dict.len() as u128 * total {
            let take = len.min(DICT_PIECE).min(size - dict.len());
            dict.extend_from_slice(&body[..take]);
        }
    }
    // zstd reads a dictionary that starts with its magic as a trained one.
    if dict.starts_with(&format::ZSTD_DICT_MAGIC) {
        dict.remove(0);
    }
    dict
}

/// About how many bytes of the sample [`ArchiveWriter`]'s Auto dictionary check compresses.
const ESTIMATE_BYTES: usize = 2 << 20;

/// `packed`: the compressed size of `measured` bytes, evenly spaced over `total`.
#[derive(Default)]
struct Estimate {
    total: u64,
    measured: u64,
    packed: u64,
}

/// For [`DictionaryMode::Auto`]: the blocks, or an evenly spaced part of them of about
/// [`ESTIMATE_BYTES`], compressed quickly with or without the dictionary. Large blocks often
/// gain less from a dictionary than it costs to store.
fn estimate(dict: Option<&[u8]>, blocks: &[&[u8]]) -> io::Result<Estimate> {
    let all: Vec<&[u8]> = blocks.iter().copied().filter(|b| !b.is_empty()).collect();
    let total: usize = all.iter().map(|b| b.len()).sum();
    let step = total.div_ceil(ESTIMATE_BYTES).max(1);
    let mut c = new_compressor(3, dict)?;
    let mut e = Estimate {
        total: total as u64,
        ..Estimate::default()
    };
    for raw in all.iter().step_by(step) {
        e.measured += raw.len() as u64;
        e.packed += c.compress(raw)?.len() as u64;
    }
    Ok(e)
}

/// The DICT section's bytes: compressed already, or on their way from a helper thread.
enum StoredDict {
    Ready(Option<Vec<u8>>),
    Pending(thread::JoinHandle<io::Result<Vec<u8>>>),
}

/// Compresses blocks, inline or on worker threads, and hands them back in order.
enum Compressors {
    Inline(zstd::bulk::Compressor<'static>, bool),
    Pool {
        jobs: Option<mpsc::SyncSender<Job>>,
        done: mpsc::Receiver<io::Result<Done>>,
        workers: Vec<thread::JoinHandle<()>>,
        in_flight: usize,
        limit: usize,
        reorder: BTreeMap<u64, Done>,
    },
}

impl Compressors {
    fn start(level: i32, dict: Option<Vec<u8>>, threads: usize) -> io::Result<Compressors> {
        if threads <= 1 {
            let c = new_compressor(level, dict.as_deref())?;
            return Ok(Compressors::Inline(c, dict.is_some()));
        }
        let (job_tx, job_rx) = mpsc::sync_channel::<Job>(threads * 2);
        let job_rx = Arc::new(std::sync::Mutex::new(job_rx));
        let (done_tx, done_rx) = mpsc::channel();
        let dict = dict.map(Arc::new);
        let mut workers = Vec::new();
        for _ in 0..threads {
            let rx = Arc::clone(&job_rx);
            let tx = done_tx.clone();
            let dict = dict.clone();
            workers.push(thread::spawn(move || {
                let mut c = match new_compressor(level, dict.as_deref().map(|d| d.as_slice())) {
                    Ok(c) => c,
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return;
                    }
                };
                loop {
                    let job = match rx.lock() {
                        Ok(rx) => rx.recv(),
                        Err(_) => return,
                    };
                    let Ok(job) = job else { return };
                    if tx
                        .send(compress_block(&mut c, dict.is_some(), job))
                        .is_err()
                    {
                        return;
                    }
                }
            }));
        }
        Ok(Compressors::Pool {
            jobs: Some(job_tx),
            done: done_rx,
            workers,
            in_flight: 0,
            limit: threads * 3,
            reorder: BTreeMap::new(),
        })
    }

    /// Submits a block; returns the blocks that are now ready, in order from `next_seq`.
    fn submit(&mut self, job: Job, ready: &mut Vec<Done>, next_seq: &mut u64) -> io::Result<()> {
        match self {
            Compressors::Inline(c, with_dict) => {
                ready.push(compress_block(c, *with_dict, job)?);
                *next_seq += 1;
                Ok(())
            }
            Compressors::Pool {
                jobs, in_flight, ..
            } => {
                let Some(tx) = jobs.as_ref() else {
                    return Err(io::Error::other("compression pool closed"));
                };
                tx.send(job)
                    .map_err(|_| io::Error::other("compression worker stopped"))?;
                *in_flight += 1;
                self.collect(ready, next_seq, false)
            }
        }
    }

    /// Moves finished blocks into `ready` in sequence order. With `all`, waits for every
    /// block in flight; otherwise waits only while too many are in flight.
    fn collect(&mut self, ready: &mut Vec<Done>, next_seq: &mut u64, all: bool) -> io::Result<()> {
        let Compressors::Pool {
            done,
            in_flight,
            limit,
            reorder,
            ..
        } = self
        else {
            return Ok(());
        };
        loop {
            let must_wait = if all {
                *in_flight > 0
            } else {
                *in_flight + reorder.len() > *limit
            };
            let got = if must_wait {
                Some(
                    done.recv()
                        .map_err(|_| io::Error::other("compression worker stopped"))?,
                )
            } else {
                done.try_recv().ok()
            };
            let Some(d) = got else { break };
            let d = d?;
            *in_flight -= 1;
            reorder.insert(d.seq, d);
            while let Some(d) = reorder.remove(next_seq) {
                ready.push(d);
                *next_seq += 1;
            }
        }
        Ok(())
    }

    fn stop(&mut self) {
        if let Compressors::Pool { jobs, workers, .. } = self {
            jobs.take();
            for w in workers.drain(..) {
                let _ = w.join();
            }
        }
    }
}

impl Drop for Compressors {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Where the writer is: still sampling for the dictionary, or streaming blocks out.
enum Phase {
    Sampling {
        /// Full blocks held back until the dictionary is picked.
        blocks: Vec<Vec<u8>>,
        /// Sizes of the sample pieces, in stream order (bodies cut at 128 KiB).
        sizes: Vec<usize>,
        bytes: usize,
    },
    Streaming(Compressors),
}

/// Streams entries into a quire archive.
///
/// ```
/// use quire::{Archive, ArchiveWriter, NewEntry, WriterOptions};
/// let mut w = ArchiveWriter::in_memory(WriterOptions::default())?;
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
    phase: Phase,
    /// Start of the data section, known once the dictionary is written.
    data_start: u64,
    sections: Vec<SectionRecord>,
    dict_len: u64,
    /// Current block's uncompressed bytes.
    cur: Vec<u8>,
    cur_first_entry: u32,
    /// Number of blocks cut so far (the current one is number `blocks_cut`).
    blocks_cut: u64,
    /// Entries started in each cut block: (first entry, count).
    block_entries: Vec<(u32, u32)>,
    block_records: Vec<BlockRecord>,
    next_seq: u64,
    ready: Vec<Done>,
    entries: Vec<EntryRecord>,
    strings: Vec<u8>,
    keys: HashMap<Box<str>, u32>,
    ctypes: Vec<String>,
    ctype_ids: HashMap<String, u16>,
    raw_bytes: u64,
    max_block_len: u32,
    /// Uncompressed bytes of the blocks written so far.
    stream_len: u64,
    dead_strings: bool,
    duplicates: u64,
    /// First place of each body seen (by XXH3-128 and length), for deduplication.
    bodies: HashMap<(u128, u64), (u32, u32)>,
    shared_bodies: u64,
}

impl ArchiveWriter<io::Cursor<Vec<u8>>> {
    /// A writer that builds the archive in memory.
    pub fn in_memory(opts: WriterOptions) -> Result<Self, WriteError> {
        ArchiveWriter::new(io::Cursor::new(Vec::new()), opts)
    }
}

impl ArchiveWriter<AtomicFile> {
    /// A writer for the file at `path`. Nothing appears under `path` until
    /// [`finish`](ArchiveWriter::finish) succeeds; with `overwrite`, an existing archive
    /// there stays intact until then.
    pub fn create(
        path: impl AsRef<Path>,
        opts: WriterOptions,
        overwrite: bool,
    ) -> Result<Self, WriteError> {
        let path = path.as_ref();
        let file = AtomicFile::create(path, overwrite).map_err(|e| {
            if e.kind() == io::ErrorKind::AlreadyExists {
                WriteError::TargetExists(path.to_path_buf())
            } else {
                WriteError::Io(e)
            }
        })?;
        ArchiveWriter::new(file, opts)
    }

    /// Writes the indexes and the header, syncs, and renames the file into place.
    pub fn finish(self) -> Result<Summary, WriteError> {
        let (file, summary) = self.finish_into_inner()?;
        file.commit()?;
        Ok(summary)
    }
}

impl<W: Write + Seek> ArchiveWriter<W> {
    /// A writer over any seekable output (it writes the header last, at offset 0).
    pub fn new(mut inner: W, opts: WriterOptions) -> Result<Self, WriteError> {
        opts.check()?;
        inner.seek(SeekFrom::Start(0))?;
        let header_len = format::header_len(SectionId::ALL.len() as u16);
        let mut out = Out {
            inner,
            pos: 0,
            crc: crc32fast::Hasher::new(),
        };
        out.write(&vec![0u8; header_len as usize])?;
        out.crc = crc32fast::Hasher::new();
        let meta_start = out.pos;
        for (name, value) in archive_metadata(&opts) {
            out.write(&(name.len() as u16).to_le_bytes())?;
            out.write(name.as_bytes())?;
            out.write(&(value.len() as u32).to_le_bytes())?;
            out.write(value.as_bytes())?;
        }
        let meta = out.end_section(SectionId::Meta, meta_start);
        if meta.length > format::MAX_SMALL_SECTION {
            return Err(WriteError::InvalidOptions(
                "archive metadata is over 1 MiB".into(),
            ));
        }
        let threads = opts.thread_count();
        let phase = if opts.dictionary == DictionaryMode::Off {
            Phase::Streaming(Compressors::start(opts.level, None, threads)?)
        } else {
            Phase::Sampling {
                blocks: Vec::new(),
                sizes: Vec::new(),
                bytes: 0,
            }
        };
        let mut w = ArchiveWriter {
            out,
            threads,
            phase,
            data_start: 0,
            sections: vec![meta],
            dict_len: 0,
            cur: Vec::new(),
            cur_first_entry: 0,
            blocks_cut: 0,
            block_entries: Vec::new(),
            block_records: Vec::new(),
            next_seq: 0,
            ready: Vec::new(),
            entries: Vec::new(),
            strings: Vec::new(),
            keys: HashMap::new(),
            ctypes: vec![DEFAULT_CONTENT_TYPE.to_string()],
            ctype_ids: HashMap::from([(DEFAULT_CONTENT_TYPE.to_string(), 0)]),
            raw_bytes: 0,
            max_block_len: 0,
            stream_len: 0,
            dead_strings: false,
            duplicates: 0,
            bodies: HashMap::new(),
            shared_bodies: 0,
            opts,
        };
        if matches!(w.phase, Phase::Streaming(_)) {
            w.write_dictionary(None, 0)?;
        }
        Ok(w)
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
    pub fn add(&mut self, e: &NewEntry<'_>) -> Result<bool, WriteError> {
        validate(e)?;
        let existing = self.keys.get(e.key).copied();
        if let Some(first) = existing {
            match self.opts.duplicates {
                DuplicatePolicy::Error => {
                    return Err(WriteError::DuplicateKey {
                        key: e.key.to_string(),
                        first: u64::from(first),
                    })
                }
                DuplicatePolicy::First => {
                    self.duplicates += 1;
                    return Ok(false);
                }
                DuplicatePolicy::Last => {
                    self.duplicates += 1;
                    self.dead_strings = true;
                }
            }
        } else if self.entries.len() as u64 >= format::MAX_ENTRIES {
            return Err(WriteError::TooLarge(format!(
                "more than {} entries",
                format::MAX_ENTRIES
            )));
        }
        let content_type = match e.content_type {
            None => 0,
            Some(ct) => self.content_type_id(ct, e.key)?,
        };
        // Title and metadata: the lead, stored in the block just before the body (§6), or
        // in STRINGS after the key for entries with no body of their own.
        let mut fields = Vec::new();
        if let Some(t) = e.title {
            push_field(&mut fields, FIELD_TITLE, &[t.as_bytes()]);
        }
        for (n, v) in &e.metadata {
            let n_len = (n.len() as u16).to_le_bytes();
            push_field(
                &mut fields,
                FIELD_META,
                &[&n_len, n.as_bytes(), v.as_bytes()],
            );
        }
        if e.key.len() + fields.len() > format::MAX_STRINGS_LEN as usize {
            return Err(WriteError::InvalidEntry {
                key: e.key.to_string(),
                reason: "key, title and metadata together exceed 16 MiB".into(),
            });
        }
        if e.body.len() as u64 > format::MAX_U48 {
            return Err(WriteError::InvalidEntry {
                key: e.key.to_string(),
                reason: "the body is 2^48 bytes or longer".into(),
            });
        }
        let strings_offset = self.strings.len() as u64;
        if strings_offset > format::MAX_U48 {
            return Err(WriteError::TooLarge(
                "2^48 bytes of keys and strings".into(),
            ));
        }
        self.strings.extend_from_slice(e.key.as_bytes());
        let index = existing.unwrap_or(self.entries.len() as u32);
        // Identical bodies (by XXH3-128 and length) are stored once when dedup is on.
        let dedup_key = (self.opts.dedup && e.body.len() >= 64)
            .then(|| (xxhash_rust::xxh3::xxh3_128(e.body), e.body.len() as u64));
        let shared = dedup_key.and_then(|k| self.bodies.get(&k).copied());
        let lead_fits =
            fields.len() as u64 <= u64::from(format::MAX_BLOCK_LEN - self.opts.block_size);
        let lead: &[u8] = if shared.is_none() && !e.body.is_empty() && lead_fits {
            &fields
        } else {
            self.strings.extend_from_slice(&fields);
            &[]
        };
        let strings_len = self.strings.len() as u64 - strings_offset;
        let (block, offset) = match shared {
            Some(at) => {
                self.shared_bodies += 1;
                self.raw_bytes += e.body.len() as u64;
                at
            }
            None => {
                let at = self.append_body(lead, e.body, index)?;
                if let Some(k) = dedup_key {
                    self.bodies.insert(k, at);
                }
                at
            }
        };
        let rec = EntryRecord {
            body_len: e.body.len() as u64,
            content_type,
            strings_offset,
            key_len: e.key.len() as u16,
            block,
            offset,
            strings_len: strings_len as u32,
            lead_len: lead.len() as u32,
            date: e.date.map_or(0, Date::to_u32),
        };
        match existing {
            Some(i) => self.entries[i as usize] = rec,
            None => {
                self.entries.push(rec);
                self.keys.insert(e.key.into(), index);
            }
        }
        Ok(true)
    }

    fn content_type_id(&mut self, ct: &str, key: &str) -> Result<u16, WriteError> {
        if let Some(id) = self.ctype_ids.get(ct) {
            return Ok(*id);
        }
        let id = u16::try_from(self.ctypes.len())
            .ok()
            .filter(|_| {
                self.ctypes.iter().map(|c| c.len() + 2).sum::<usize>() + ct.len() + 2
                    <= format::MAX_SMALL_SECTION as usize
            })
            .ok_or_else(|| WriteError::InvalidEntry {
                key: key.to_string(),
                reason: "too many distinct content types".into(),
            })?;
        self.ctypes.push(ct.to_string());
        self.ctype_ids.insert(ct.to_string(), id);
        Ok(id)
    }

    /// Appends an entry's lead and body to the stream, the lead whole in the block the body
    /// starts in; returns where the body starts.
    fn append_body(
        &mut self,
        lead: &[u8],
        body: &[u8],
        index: u32,
    ) -> Result<(u32, u32), WriteError> {
        self.raw_bytes += body.len() as u64;
        if body.is_empty() {
            return Ok((0, 0));
        }
        let target = self.opts.block_size as usize;
        if !self.cur.is_empty() && self.cur.len() + lead.len() + body.len() > target {
            self.cut_block(self.entries.len() as u32)?;
        }
        if self.cur.is_empty() {
            self.cur_first_entry = index;
        }
        let block = u32::try_from(self.blocks_cut)
            .map_err(|_| WriteError::TooLarge("more than 2^32 - 1 blocks".into()))?;
        if !lead.is_empty() {
            self.note_sample(lead);
            self.cur.extend_from_slice(lead);
        }
        let start = (block, self.cur.len() as u32);
        self.note_sample(body);
        let mut rest = body;
        while !rest.is_empty() {
            // At least one body byte joins the lead, however long the lead.
            let room = target.saturating_sub(self.cur.len()).max(1);
            let (now, later) = rest.split_at(room.min(rest.len()));
            self.cur.extend_from_slice(now);
            rest = later;
            if self.cur.len() >= target {
                self.cut_block(self.entries.len() as u32 + 1)?;
                self.cur_first_entry = index;
            }
        }
        Ok(start)
    }

    fn note_sample(&mut self, body: &[u8]) {
        if let Phase::Sampling { sizes, bytes, .. } = &mut self.phase {
            for piece in body.chunks(128 << 10) {
                sizes.push(piece.len());
            }
            *bytes += body.len();
        }
    }

    /// Ends the current block and sends it on (or holds it while sampling). `end` is one
    /// past the last entry whose bytes went into it (for messages only).
    fn cut_block(&mut self, end: u32) -> Result<(), WriteError> {
        if self.cur.is_empty() {
            return Ok(());
        }
        let raw = std::mem::take(&mut self.cur);
        let first = self.cur_first_entry;
        self.block_entries
            .push((first, end.saturating_sub(first).max(1)));
        self.blocks_cut += 1;
        if self.blocks_cut > format::MAX_BLOCKS {
            return Err(WriteError::TooLarge("more than 2^32 - 1 blocks".into()));
        }
        let mut sampled_enough = false;
        match &mut self.phase {
            Phase::Sampling { blocks, bytes, .. } => {
                blocks.push(raw);
                sampled_enough = *bytes >= self.opts.dict_sample;
            }
            Phase::Streaming(c) => {
                let seq = self.blocks_cut - 1;
                c.submit(Job { seq, raw }, &mut self.ready, &mut self.next_seq)?;
                self.write_ready()?;
            }
        }
        if sampled_enough {
            self.pick_and_stream()?;
        }
        Ok(())
    }

    /// Picks the dictionary from the held-back sample, writes it, and compresses the held
    /// blocks.
    fn pick_and_stream(&mut self) -> Result<(), WriteError> {
        let Phase::Sampling {
            blocks,
            sizes,
            bytes,
        } = std::mem::replace(
            &mut self.phase,
            Phase::Sampling {
                blocks: Vec::new(),
                sizes: Vec::new(),
                bytes: 0,
            },
        )
        else {
            return Ok(());
        };
        // The sample is the body stream so far: the held blocks and the current one.
        let mut sample: Vec<u8> = Vec::with_capacity(bytes);
        for b in &blocks {
            sample.extend_from_slice(b);
        }
        sample.extend_from_slice(&self.cur);
        // The current body may be only partly in the sample: cut the piece sizes to fit.
        let mut left = sample.len();
        let sizes: Vec<usize> = sizes
            .into_iter()
            .map(|s| {
                let t = s.min(left);
                left -= t;
                t
            })
            .filter(|s| *s > 0)
            .collect();
        let picked = self.pick_dictionary(&sample, &sizes);
        drop(sample);
        let dict = match picked {
            Some(d) if self.dictionary_pays_off(&d, &blocks)? => Some(d),
            _ => None,
        };
        // The stored dictionary (at level 19 ~0.85 s for 2 MiB) is compressed beside
        // the held blocks when there are threads to spare; the blocks wait in `ready` until
        // it is written, since DICT comes before DATA.
        let dict_len = dict.as_ref().map_or(0, Vec::len);
        let stored = match &dict {
            Some(d) if self.threads > 1 => {
                let d = d.clone();
                let level = self.opts.level;
                StoredDict::Pending(thread::spawn(move || compress_dictionary(&d, level)))
            }
            Some(d) => StoredDict::Ready(Some(compress_dictionary(d, self.opts.level)?)),
            None => StoredDict::Ready(None),
        };
        let mut c = Compressors::start(self.opts.level, dict, self.threads)?;
        for (seq, raw) in blocks.into_iter().enumerate() {
            let job = Job {
                seq: seq as u64,
                raw,
            };
            c.submit(job, &mut self.ready, &mut self.next_seq)?;
        }
        let stored = match stored {
            StoredDict::Ready(d) => d,
            StoredDict::Pending(h) => Some(
                h.join()
                    .map_err(|_| io::Error::other("dictionary compression thread panicked"))??,
            ),
        };
        self.write_dictionary(stored.as_deref(), dict_len)?;
        self.write_ready()?;
        self.phase = Phase::Streaming(c);
        Ok(())
    }

    /// The dictionary for this sample, or `None` when the mode or the sample's size says no.
    fn pick_dictionary(&self, sample: &[u8], sizes: &[usize]) -> Option<Vec<u8>> {
        let total: usize = sizes.iter().sum();
        if total != sample.len() || sizes.len() < 8 {
            return None;
        }
        let size = match self.opts.dictionary {
            DictionaryMode::Off => return None,
            DictionaryMode::Auto if total < 64 << 10 => return None,
            DictionaryMode::Auto => self.opts.dict_size.min(total / 4),
            DictionaryMode::On => self.opts.dict_size.min(total / 2).max(256),
        };
        Some(sample_dictionary(sample, sizes, size)).filter(|d| d.len() >= 8)
    }

    /// Whether to use the picked dictionary: always in [`DictionaryMode::On`]; in
    /// [`DictionaryMode::Auto`] when the estimate says it pays for itself. The dictionary's
    /// stored size is estimated by a level-3 compression (no smaller than the final frame,
    /// so the estimate errs towards no dictionary).
    fn dictionary_pays_off(&self, dict: &[u8], blocks: &[Vec<u8>]) -> io::Result<bool> {
        if self.opts.dictionary != DictionaryMode::Auto {
            return Ok(true);
        }
        let quick_stored = || -> io::Result<usize> {
            let mut c = zstd::bulk::Compressor::new(3)?;
            c.include_checksum(false)?;
            Ok(c.compress(dict)?.len())
        };
        let blocks: Vec<&[u8]> = blocks
            .iter()
            .map(Vec::as_slice)
            .chain([self.cur.as_slice()])
            .collect();
        let blocks = &blocks[..];
        let (with, without) = if self.threads > 1 {
            thread::scope(|s| -> io::Result<_> {
                let with = s.spawn(|| estimate(Some(dict), blocks));
                let without = estimate(None, blocks)?;
                let with = with
                    .join()
                    .map_err(|_| io::Error::other("estimate thread panicked"))??;
                Ok((with, without))
            })?
        } else {
            (estimate(Some(dict), blocks)?, estimate(None, blocks)?)
        };
        let stored = quick_stored()?;
        // Scale the measured part to the whole sample: stored + with · total/measured <
        // without · total/measured.
        let scale = |x: u64| u128::from(x) * u128::from(with.total);
        Ok(
            u128::from(stored as u64) * u128::from(with.measured) + scale(with.packed)
                < scale(without.packed),
        )
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
            self.dict_len = dict_len as u64;
        }
        let rec = self.out.end_section(SectionId::Dict, start);
        self.sections.push(rec);
        self.data_start = self.out.pos;
        Ok(())
    }

    /// Writes the finished blocks, in order.
    fn write_ready(&mut self) -> Result<(), WriteError> {
        for d in std::mem::take(&mut self.ready) {
            let (first_entry, entry_count) = self
                .block_entries
                .get(d.seq as usize)
                .copied()
                .unwrap_or_default();
            if self.stream_len + u64::from(d.raw_len) > format::MAX_U48 {
                return Err(WriteError::TooLarge("2^48 bytes of bodies".into()));
            }
            let rec = BlockRecord {
                offset: self.out.pos,
                stream_offset: self.stream_len,
                stored_len: u32::try_from(d.bytes.len())
                    .map_err(|_| WriteError::TooLarge("a compressed block over 4 GiB".into()))?,
                raw_len: d.raw_len,
                first_entry,
                entry_count,
                codec: d.codec as u8,
                data_crc: format::crc32(&d.bytes),
            };
            self.out.write(&d.bytes)?;
            self.max_block_len = self.max_block_len.max(d.raw_len);
            self.stream_len += u64::from(d.raw_len);
            self.block_records.push(rec);
        }
        Ok(())
    }

    /// Writes the remaining blocks, the indexes and the header; returns the output.
    pub fn finish_into_inner(mut self) -> Result<(W, Summary), WriteError> {
        if matches!(self.phase, Phase::Sampling { .. }) {
            // Pick from everything seen, including the partial block.
            self.pick_and_stream()?;
        }
        self.cut_block(self.entries.len() as u32)?;
        if let Phase::Streaming(c) = &mut self.phase {
            c.collect(&mut self.ready, &mut self.next_seq, true)?;
            c.stop();
        }
        self.write_ready()?;
        if self.block_records.len() as u64 != self.blocks_cut {
            return Err(WriteError::Compression("a block went missing".into()));
        }
        let data = self.out.end_section(SectionId::Data, self.data_start);
        self.sections.push(data);

        if self.dead_strings {
            self.compact_strings();
        }
        self.write_section(SectionId::Ctypes, |w| {
            let mut b = Vec::new();
            for ct in &w.ctypes {
                b.extend_from_slice(&(ct.len() as u16).to_le_bytes());
                b.extend_from_slice(ct.as_bytes());
            }
            b
        })?;
        let start = self.out.pos;
        for r in std::mem::take(&mut self.block_records) {
            self.out.write(&r.encode())?;
        }
        let rec = self.out.end_section(SectionId::Blocks, start);
        self.sections.push(rec);

        let start = self.out.pos;
        for r in &self.entries {
            let s = &self.strings[r.strings_offset as usize..][..r.strings_len as usize];
            let bytes = r.encode(s);
            self.out.write(&bytes)?;
        }
        let rec = self.out.end_section(SectionId::Entries, start);
        self.sections.push(rec);

        let start = self.out.pos;
        let strings = std::mem::take(&mut self.strings);
        self.out.write(&strings)?;
        let rec = self.out.end_section(SectionId::Strings, start);
        self.sections.push(rec);

        let keys: Vec<&[u8]> = self
            .entries
            .iter()
            .map(|r| &strings[r.strings_offset as usize..][..usize::from(r.key_len)])
            .collect();
        let index = build_hash_index(&keys);
        let start = self.out.pos;
        for bucket in &index.buckets {
            self.out.write(&format::encode_bucket(bucket))?;
        }
        let rec = self.out.end_section(SectionId::KeyHash, start);
        self.sections.push(rec);

        let mut order: Vec<u32> = (0..keys.len() as u32).collect();
        order.sort_by(|a, b| keys[*a as usize].cmp(keys[*b as usize]));
        let start = self.out.pos;
        for chunk in order.chunks(ENTRIES_PER_GROUP) {
            let mut g = [NO_ENTRY; ENTRIES_PER_GROUP];
            g[..chunk.len()].copy_from_slice(chunk);
            self.out.write(&format::encode_group(&g))?;
        }
        let rec = self.out.end_section(SectionId::Sorted, start);
        self.sections.push(rec);

        let file_len = self.out.pos;
        let header = Header {
            major: format::VERSION_MAJOR,
            minor: format::VERSION_MINOR,
            section_count: self.sections.len() as u16,
            required_flags: if self.dict_len > 0 {
                format::REQUIRED_DICT | format::REQUIRED_RAW_DICT
            } else {
                0
            },
            optional_flags: if self.shared_bodies > 0 {
                format::OPTIONAL_SHARED_BODIES
            } else {
                0
            },
            file_len,
            entry_count: self.entries.len() as u64,
            block_count: self.blocks_cut,
            hash_seed: index.seed,
            bucket_count: index.buckets.len() as u64,
            max_probe: index.max_probe,
            max_block_len: self.max_block_len,
            block_target: self.opts.block_size,
            stream_len: self.stream_len,
        };
        let mut head = header.encode().to_vec();
        for s in &self.sections {
            head.extend_from_slice(&s.encode());
        }
        let crc = format::crc32(&head);
        head.extend_from_slice(&crc.to_le_bytes());
        let mut inner = self.out.inner;
        inner.seek(SeekFrom::Start(0))?;
        inner.write_all(&head)?;
        inner.seek(SeekFrom::End(0))?;
        inner.flush()?;
        Ok((
            inner,
            Summary {
                entries: header.entry_count,
                blocks: header.block_count,
                raw_bytes: self.raw_bytes,
                file_len,
                dict_len: self.dict_len,
                duplicates: self.duplicates,
                shared_bodies: self.shared_bodies,
            },
        ))
    }

    fn write_section(
        &mut self,
        id: SectionId,
        make: impl FnOnce(&Self) -> Vec<u8>,
    ) -> Result<(), WriteError> {
        let bytes = make(self);
        let start = self.out.pos;
        self.out.write(&bytes)?;
        let rec = self.out.end_section(id, start);
        self.sections.push(rec);
        Ok(())
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
}

fn push_field(strings: &mut Vec<u8>, tag: u8, parts: &[&[u8]]) {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    strings.push(tag);
    strings.extend_from_slice(&(len as u32).to_le_bytes());
    for p in parts {
        strings.extend_from_slice(p);
    }
}

fn validate(e: &NewEntry<'_>) -> Result<(), WriteError> {
    if e.key.is_empty() {
        return Err(WriteError::InvalidKey {
            key: String::new(),
            reason: "keys must not be empty",
        });
    }
    if e.key.len() > MAX_KEY_LEN {
        let mut short: String = e.key.chars().take(40).collect();
        short.push('…');
        return Err(WriteError::InvalidKey {
            key: short,
            reason: "keys are at most 4096 bytes",
        });
    }
    let too_long = |what: &str| WriteError::InvalidEntry {
        key: e.key.to_string(),
        reason: format!("{what} is too long"),
    };
    if e.content_type.is_some_and(|c| c.len() > 1024) {
        return Err(too_long("content type"));
    }
    for (n, _) in &e.metadata {
        if n.len() > usize::from(u16::MAX) {
            return Err(too_long("a metadata name"));
        }
    }
    Ok(())
}

/// Archive metadata as written: the user's pairs (first occurrence wins), then `created`
/// and `tool` unless given.
fn archive_metadata(opts: &WriterOptions) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (n, v) in &opts.metadata {
        if !out.iter().any(|(m, _)| m == n) {
            out.push((n.clone(), v.clone()));
        }
    }
    if !out.iter().any(|(n, _)| n == "created") {
        let secs = opts.created.unwrap_or_else(creation_time);
        out.push(("created".into(), rfc3339(secs)));
    }
    if !out.iter().any(|(n, _)| n == "tool") {
        out.push((
            "tool".into(),
            format!("quire {}", env!("CARGO_PKG_VERSION")),
        ));
    }
    out
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

/// The hash index as built: buckets, seed and largest probe distance.
pub(crate) struct HashIndex {
    pub(crate) buckets: Vec<[Slot; SLOTS_PER_BUCKET]>,
    pub(crate) seed: u64,
    pub(crate) max_probe: u32,
}

/// Builds the hash index of §7: load at most 6 of 7 slots; seeds tried from 0 while the
/// longest probe exceeds 8 buckets (keeping the best); should even the best exceed the
/// format's limit (hostile keys), twice the buckets and again.
pub(crate) fn build_hash_index(keys: &[&[u8]]) -> HashIndex {
    let mut bucket_count = (keys.len() as u64).div_ceil(6);
    if bucket_count == 0 {
        return HashIndex {
            buckets: Vec::new(),
            seed: 0,
            max_probe: 0,
        };
    }
    loop {
        let mut best: Option<HashIndex> = None;
        for seed in 0..16u64 {
            let index = fill_buckets(keys, seed, bucket_count);
            let good = index.max_probe <= 8;
            if best.as_ref().is_none_or(|b| index.max_probe < b.max_probe) {
                best = Some(index);
            }
            if good {
                break;
            }
        }
        match best {
            Some(b) if b.max_probe <= format::MAX_PROBE => return b,
            _ => bucket_count *= 2,
        }
    }
}

/// Linear probing over buckets with one seed.
fn fill_buckets(keys: &[&[u8]], seed: u64, bucket_count: u64) -> HashIndex {
    let mut buckets = vec![[Slot::EMPTY; SLOTS_PER_BUCKET]; bucket_count as usize];
    let mut fill = vec![0u8; bucket_count as usize];
    let mut max_probe = 0u64;
    for (i, k) in keys.iter().enumerate() {
        let h = format::key_hash(k, seed);
        let home = h % bucket_count;
        let mut p = 0u64;
        loop {
            let b = ((home + p) % bucket_count) as usize;
            if usize::from(fill[b]) < SLOTS_PER_BUCKET {
                buckets[b][usize::from(fill[b])] = Slot {
                    entry: i as u32,
                    tag: (h >> 32) as u32,
                };
                fill[b] += 1;
                break;
            }
            p += 1;
        }
        max_probe = max_probe.max(p);
    }
    HashIndex {
        buckets,
        seed,
        max_probe: u32::try_from(max_probe).unwrap_or(u32::MAX),
    }
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

    #[test]
    fn sample_dictionary_picks_evenly_and_never_starts_with_the_magic() {
        // 100 bodies of 100 bytes, body i filled with byte i; the first starts with the
        // trained-dictionary magic.
        let mut sample: Vec<u8> = (0..100u8).flat_map(|i| [i; 100]).collect();
        sample[..4].copy_from_slice(&format::ZSTD_DICT_MAGIC);
        let sizes = vec![100; 100];
        let dict = sample_dictionary(&sample, &sizes, 1000);
        assert!(!dict.starts_with(&format::ZSTD_DICT_MAGIC));
        assert_eq!(
            dict.len(),
            999,
            "ten whole bodies, less the magic's first byte"
        );
        // Bodies 0, 10, 20, ..., 90: one in ten, spread over the whole sample.
        let mut picked: Vec<u8> = dict[99..].chunks(100).map(|c| c[0]).collect();
        picked.insert(0, 0);
        assert_eq!(picked, (0..10).map(|i| i * 10).collect::<Vec<u8>>());
        // Never more than asked for, cutting the last body short.
        assert_eq!(sample_dictionary(&sample, &sizes, 250).len(), 249);
    }
}
