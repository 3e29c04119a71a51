//! The reader: [`Archive`] over any byte storage, with a memory-mapped [`Archive::open`].
//!
//! Opening checks the header, the section table and the two small sections (META and CTYPES):
//! constant work whatever the number of entries. Every later read checks the CRC of each record
//! it uses and the bounds of everything that record points at, because a mapped file can change
//! after it was opened and because nothing in it is trusted.

use std::ops::Range;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use byteorder::{ByteOrder, LittleEndian as LE};

use crate::error::{ReadError, ReadResult};
use crate::format::{
    self, BlockRecord, Codec, Date, EntryRecord, Header, SectionId, SectionRecord,
    BLOCK_RECORD_LEN, BUCKET_LEN, ENTRIES_PER_GROUP, ENTRY_RECORD_LEN, FIELD_META, FIELD_TITLE,
    HEADER_FIXED_LEN, MAGIC, MAX_KEY_LEN, NO_ENTRY, SECTION_RECORD_LEN, SORTED_GROUP_LEN,
};

/// `bytes[offset .. offset + len]`, or `None` when any part of it is out of range.
pub(crate) fn slice_at(bytes: &[u8], offset: u64, len: u64) -> Option<&[u8]> {
    let start = usize::try_from(offset).ok()?;
    let len = usize::try_from(len).ok()?;
    bytes.get(start..)?.get(..len)
}

/// A fixed-size array read at `offset`, or `None` when out of range.
fn array_at<const N: usize>(bytes: &[u8], offset: u64) -> Option<&[u8; N]> {
    slice_at(bytes, offset, N as u64)?.try_into().ok()
}

/// Where each section lies, as parsed and checked at open.
#[derive(Debug, Clone)]
struct Layout {
    header: Header,
    /// Byte ranges of the known sections, indexed by `SectionId as usize - 1`.
    known: [Range<u64>; 9],
    /// Every section record, known ids or not, for full verification.
    records: Vec<SectionRecord>,
}

impl Layout {
    fn range(&self, id: SectionId) -> Range<u64> {
        self.known.get(id as usize - 1).cloned().unwrap_or(0..0)
    }
}

/// Reusable decompression contexts and an output buffer.
struct Scratch {
    /// A context without dictionary, for codec 1.
    plain: Option<zstd::bulk::Decompressor<'static>>,
    /// A context with the archive dictionary loaded, for codec 2.
    with_dict: Option<zstd::bulk::Decompressor<'static>>,
    buf: Vec<u8>,
}

/// State shared by every read, independent of the byte storage.
struct Shared {
    layout: Layout,
    meta: Vec<(String, String)>,
    ctypes: Vec<String>,
    /// Decompression contexts with the dictionary loaded, kept for the archive's life.
    pool: Mutex<Vec<Scratch>>,
    /// The dictionary, checked and decompressed on first use.
    dict: OnceLock<Result<Vec<u8>, String>>,
    /// Recently decompressed blocks, most recent last (off unless asked for).
    cache: Option<Mutex<BlockCache>>,
}

/// A small most-recently-used list of decompressed blocks, for sequential readers.
struct BlockCache {
    capacity: usize,
    blocks: Vec<(u32, Arc<[u8]>)>,
}

impl BlockCache {
    fn get(&mut self, block: u32) -> Option<Arc<[u8]>> {
        let i = self.blocks.iter().position(|(b, _)| *b == block)?;
        let hit = self.blocks.remove(i);
        let data = Arc::clone(&hit.1);
        self.blocks.push(hit);
        Some(data)
    }

    fn put(&mut self, block: u32, data: Arc<[u8]>) {
        if self.blocks.len() >= self.capacity {
            self.blocks.remove(0);
        }
        self.blocks.push((block, data));
    }
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
    /// Opens an archive file by memory-mapping it.
    ///
    /// The file must not be modified or truncated while the archive is open: every read is
    /// checked, so a change made through another handle gives errors or stale data, but on Unix
    /// truncating a mapped file makes the process receive `SIGBUS` when it touches the missing
    /// pages. Archives are written once and renamed into place, so readers that only open
    /// finished archives never see this.
    pub fn open(path: impl AsRef<Path>) -> ReadResult<Self> {
        let file = std::fs::File::open(path.as_ref())?;
        let map = map_file(&file)?;
        Archive::new(map)
    }
}

/// Maps a file read-only: the crate's one use of `unsafe`.
#[allow(unsafe_code)]
fn map_file(file: &std::fs::File) -> std::io::Result<memmap2::Mmap> {
    // SAFETY: `Mmap::map` is unsafe because the mapping aliases a file that another process
    // may modify or truncate while we hold it. quire never writes to a file it has mapped,
    // reads every byte through bounds-checked slices and re-checks CRCs on each use, so
    // modified contents give errors, not undefined behaviour in our code. Truncation can
    // still raise SIGBUS; `Archive::open` documents that callers must not truncate an open
    // archive.
    let map = unsafe { memmap2::Mmap::map(file)? };
    #[cfg(unix)]
    {
        // Lookups touch an index record and one block: tell the kernel not to read ahead.
        // Failure only costs speed, so it is ignored.
        let _ = map.advise(memmap2::Advice::Random);
    }
    Ok(map)
}

impl<D: AsRef<[u8]>> Archive<D> {
    /// Reads an archive from bytes. Checks the header, the section table and the small
    /// META and CTYPES sections; constant work, independent of the number of entries.
    pub fn new(data: D) -> ReadResult<Self> {
        let bytes = data.as_ref();
        let layout = parse_layout(bytes)?;
        let meta = parse_meta(section(bytes, &layout, SectionId::Meta)?)?;
        let ctypes = parse_ctypes(section(bytes, &layout, SectionId::Ctypes)?)?;
        let dict_len = layout.range(SectionId::Dict);
        if dict_len.end - dict_len.start > format::MAX_DICT_LEN {
            return Err(ReadError::corrupt(format!(
                "dictionary of {} bytes exceeds the limit of {} bytes",
                dict_len.end - dict_len.start,
                format::MAX_DICT_LEN
            )));
        }
        let has_dict = dict_len.end > dict_len.start;
        let flags = layout.header.required_flags;
        if has_dict != (flags & format::REQUIRED_DICT != 0) {
            return Err(ReadError::corrupt(
                "DICT flag does not agree with the dictionary section",
            ));
        }
        if flags & format::REQUIRED_RAW_DICT != 0 && !has_dict {
            return Err(ReadError::corrupt(
                "RAW_DICT flag set but the archive has no dictionary",
            ));
        }
        Ok(Archive {
            data,
            shared: Shared {
                layout,
                meta,
                ctypes,
                pool: Mutex::new(Vec::new()),
                dict: OnceLock::new(),
                cache: None,
            },
        })
    }

    /// Keeps the last `blocks` decompressed blocks in memory, so that readers that walk
    /// entries in order (or come back to the same block) decompress each block once.
    /// Off by default: random lookups gain nothing from it. `0` turns it off.
    pub fn with_block_cache(mut self, blocks: usize) -> Self {
        self.shared.cache = (blocks > 0).then(|| {
            Mutex::new(BlockCache {
                capacity: blocks,
                blocks: Vec::with_capacity(blocks),
            })
        });
        self
    }

    /// Gives the byte storage back.
    pub fn into_inner(self) -> D {
        self.data
    }

    fn view(&self) -> View<'_> {
        View {
            bytes: self.data.as_ref(),
            shared: &self.shared,
        }
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
    pub fn iter(&self) -> Entries<'_> {
        Entries {
            view: self.view(),
            next: 0,
            end: self.len(),
        }
    }

    /// Entries whose keys start with `prefix`, in byte-wise sorted key order:
    /// O(log n + k).
    pub fn keys_with_prefix<'a>(&'a self, prefix: &'a str) -> PrefixIter<'a> {
        let view = self.view();
        let start = view.lower_bound(prefix.as_bytes());
        PrefixIter {
            view,
            prefix: prefix.as_bytes(),
            pos: start,
            done: false,
        }
    }

    /// All entries in sorted key order.
    pub fn iter_sorted(&self) -> PrefixIter<'_> {
        self.keys_with_prefix("")
    }

    /// Checks every checksum and every record, decompresses every block, and reports all
    /// damage found. Reading continues past damage; the report lists what is affected.
    pub fn verify(&self) -> crate::verify::Report {
        crate::verify::verify(&self.view())
    }
}

/// The bytes of a known section.
fn section<'b>(bytes: &'b [u8], layout: &Layout, id: SectionId) -> ReadResult<&'b [u8]> {
    let r = layout.range(id);
    slice_at(bytes, r.start, r.end - r.start).ok_or(ReadError::Truncated {
        what: format!("section '{}'", id.name()),
        end: r.end,
        file_len: bytes.len() as u64,
    })
}

fn parse_layout(bytes: &[u8]) -> ReadResult<Layout> {
    let actual_len = bytes.len() as u64;
    let truncated = |what: &str, end: u64| ReadError::Truncated {
        what: what.to_string(),
        end,
        file_len: actual_len,
    };
    if bytes.len() >= MAGIC.len() && bytes[..MAGIC.len()] != MAGIC {
        return Err(ReadError::BadMagic);
    }
    let fixed: &[u8; HEADER_FIXED_LEN] =
        array_at(bytes, 0).ok_or_else(|| truncated("header", format::header_len(1)))?;
    if fixed[..MAGIC.len()] != MAGIC {
        return Err(ReadError::BadMagic);
    }
    let header = Header::decode(fixed);
    if header.major != format::VERSION_MAJOR {
        return Err(ReadError::UnsupportedVersion {
            major: header.major,
            minor: header.minor,
        });
    }
    let unknown = header.required_flags & !format::KNOWN_REQUIRED_FLAGS;
    if unknown != 0 {
        return Err(ReadError::UnsupportedFeatures { flags: unknown });
    }
    if header.section_count == 0 || header.section_count > format::MAX_SECTIONS {
        return Err(ReadError::corrupt(format!(
            "section count {} is not in 1..={}",
            header.section_count,
            format::MAX_SECTIONS
        )));
    }
    let header_len = format::header_len(header.section_count);
    let table_end = header_len - 4;
    let covered = slice_at(bytes, 0, table_end)
        .ok_or_else(|| truncated("header and section table", header_len))?;
    let stored_crc = array_at::<4>(bytes, table_end)
        .map(|b| LE::read_u32(b))
        .ok_or_else(|| truncated("header and section table", header_len))?;
    if format::crc32(covered) != stored_crc {
        return Err(ReadError::checksum("header"));
    }
    if header.file_len != actual_len {
        return Err(if header.file_len > actual_len {
            truncated("archive", header.file_len)
        } else {
            ReadError::corrupt(format!(
                "file is {actual_len} bytes but the header says {} (extra bytes at the end)",
                header.file_len
            ))
        });
    }
    if header.entry_count > format::MAX_ENTRIES || header.block_count > format::MAX_BLOCKS {
        return Err(ReadError::corrupt(format!(
            "{} entries / {} blocks exceed the format's limits",
            header.entry_count, header.block_count
        )));
    }
    if (header.bucket_count == 0) != (header.entry_count == 0) {
        return Err(ReadError::corrupt(format!(
            "{} hash buckets for {} entries",
            header.bucket_count, header.entry_count
        )));
    }
    if header.bucket_count > 0 && u64::from(header.max_probe) >= header.bucket_count {
        return Err(ReadError::corrupt(format!(
            "max_probe {} is not below the bucket count {}",
            header.max_probe, header.bucket_count
        )));
    }
    if header.max_probe > format::MAX_PROBE {
        return Err(ReadError::corrupt(format!(
            "max_probe {} exceeds the limit of {}",
            header.max_probe,
            format::MAX_PROBE
        )));
    }
    let stream_fits = u64::from(header.max_block_len)
        .checked_mul(header.block_count)
        .is_some_and(|most| header.stream_len <= most);
    if header.stream_len < header.block_count || !stream_fits {
        return Err(ReadError::corrupt(format!(
            "stream length {} does not fit {} blocks of at most {} bytes",
            header.stream_len, header.block_count, header.max_block_len
        )));
    }
    if header.max_block_len > format::MAX_BLOCK_LEN {
        return Err(ReadError::corrupt(format!(
            "max_block_len {} exceeds {}",
            header.max_block_len,
            format::MAX_BLOCK_LEN
        )));
    }

    let mut records = Vec::with_capacity(usize::from(header.section_count));
    for i in 0..u64::from(header.section_count) {
        let at = HEADER_FIXED_LEN as u64 + i * SECTION_RECORD_LEN as u64;
        let rec: &[u8; SECTION_RECORD_LEN] =
            array_at(bytes, at).ok_or_else(|| truncated("section table", header_len))?;
        records.push(SectionRecord::decode(rec));
    }

    // Tiling: sorted by offset, the sections cover header_len..file_len exactly.
    let mut sorted: Vec<SectionRecord> = records.clone();
    sorted.sort_by_key(|r| (r.offset, r.length));
    let mut pos = header_len;
    for r in &sorted {
        let end = r.offset.checked_add(r.length).ok_or_else(|| {
            ReadError::corrupt(format!(
                "section {} offset {} + length {} overflows",
                r.id, r.offset, r.length
            ))
        })?;
        if r.offset != pos {
            return Err(ReadError::corrupt(format!(
                "section {} starts at {} but the previous section ends at {pos} \
                 (sections must not overlap or leave gaps)",
                r.id, r.offset
            )));
        }
        if end > actual_len {
            let name = SectionId::from_u32(r.id).map_or("unknown", |s| s.name());
            return Err(truncated(&format!("section '{name}'"), end));
        }
        pos = end;
    }
    if pos != actual_len {
        return Err(ReadError::corrupt(format!(
            "sections end at {pos} but the file is {actual_len} bytes"
        )));
    }

    let mut known: [Option<Range<u64>>; 9] = Default::default();
    for r in &records {
        if let Some(id) = SectionId::from_u32(r.id) {
            let slot = &mut known[id as usize - 1];
            if slot.is_some() {
                return Err(ReadError::corrupt(format!(
                    "section '{}' appears twice",
                    id.name()
                )));
            }
            *slot = Some(r.offset..r.offset + r.length);
        }
    }
    let mut ranges: [Range<u64>; 9] = Default::default();
    for id in SectionId::ALL {
        ranges[id as usize - 1] = known[id as usize - 1]
            .clone()
            .ok_or_else(|| ReadError::corrupt(format!("section '{}' is missing", id.name())))?;
    }

    let expect = |id: SectionId, what: &str, count: u64, size: usize| -> ReadResult<()> {
        let r = &ranges[id as usize - 1];
        let want = count.checked_mul(size as u64);
        if want != Some(r.end - r.start) {
            return Err(ReadError::corrupt(format!(
                "section '{}' is {} bytes but {count} {what} need {}",
                id.name(),
                r.end - r.start,
                want.map_or_else(|| "more than 2^64".to_string(), |w| w.to_string())
            )));
        }
        Ok(())
    };
    expect(
        SectionId::Blocks,
        "blocks",
        header.block_count,
        BLOCK_RECORD_LEN,
    )?;
    expect(
        SectionId::Entries,
        "entries",
        header.entry_count,
        ENTRY_RECORD_LEN,
    )?;
    expect(
        SectionId::KeyHash,
        "buckets",
        header.bucket_count,
        BUCKET_LEN,
    )?;
    expect(
        SectionId::Sorted,
        "sorted groups",
        header.entry_count.div_ceil(ENTRIES_PER_GROUP as u64),
        SORTED_GROUP_LEN,
    )?;
    for id in [SectionId::Meta, SectionId::Ctypes] {
        let r = &ranges[id as usize - 1];
        if r.end - r.start > format::MAX_SMALL_SECTION {
            return Err(ReadError::corrupt(format!(
                "section '{}' is {} bytes, over the limit of {}",
                id.name(),
                r.end - r.start,
                format::MAX_SMALL_SECTION
            )));
        }
    }
    let layout = Layout {
        header,
        known: ranges,
        records,
    };
    for id in [SectionId::Meta, SectionId::Ctypes] {
        check_section_crc(bytes, &layout, id)?;
    }
    Ok(layout)
}

fn check_section_crc(bytes: &[u8], layout: &Layout, id: SectionId) -> ReadResult<()> {
    let data = section(bytes, layout, id)?;
    let want = layout
        .records
        .iter()
        .find(|r| r.id == id as u32)
        .map(|r| r.crc)
        .unwrap_or_default();
    if format::crc32(data) != want {
        return Err(ReadError::checksum(format!("section '{}'", id.name())));
    }
    Ok(())
}

/// The DICT section is one zstd frame (§5) that declares its content size, at most
/// `MAX_DICT_LEN`; its content is the dictionary: raw content when `raw` (the RAW_DICT
/// flag), else a trained dictionary. Which one it is shows in its first four bytes, and
/// zstd goes by them, so they must agree with the flag.
fn unpack_dictionary(stored: &[u8], raw: bool) -> Result<Vec<u8>, String> {
    let declared = zstd::zstd_safe::get_frame_content_size(stored)
        .map_err(|_| "the dictionary section is not a zstd frame".to_string())?
        .ok_or_else(|| "the dictionary frame does not declare its size".to_string())?;
    if declared == 0 || declared > format::MAX_DICT_LEN {
        return Err(format!(
            "the dictionary claims {declared} bytes (limit {})",
            format::MAX_DICT_LEN
        ));
    }
    let dict = zstd::bulk::decompress(stored, declared as usize)
        .map_err(|e| format!("the dictionary does not decompress: {e}"))?;
    if dict.len() as u64 != declared {
        return Err(format!(
            "the dictionary decompressed to {} bytes, not the {declared} it declares",
            dict.len()
        ));
    }
    let trained = dict.starts_with(&format::ZSTD_DICT_MAGIC);
    if raw == trained {
        return Err(if raw {
            "the dictionary is marked raw but starts with the zstd dictionary magic".to_string()
        } else {
            "the dictionary does not start with the zstd dictionary magic".to_string()
        });
    }
    Ok(dict)
}

/// A little cursor for the variable-length sections; every read is bounds-checked.
pub(crate) struct Cursor<'b> {
    bytes: &'b [u8],
    pos: usize,
}

impl<'b> Cursor<'b> {
    pub(crate) fn new(bytes: &'b [u8]) -> Self {
        Cursor { bytes, pos: 0 }
    }
    pub(crate) fn is_empty(&self) -> bool {
        self.pos >= self.bytes.len()
    }
    pub(crate) fn take(&mut self, n: usize) -> Option<&'b [u8]> {
        let s = self.bytes.get(self.pos..)?.get(..n)?;
        self.pos += n;
        Some(s)
    }
    pub(crate) fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    pub(crate) fn u16(&mut self) -> Option<u16> {
        self.take(2).map(LE::read_u16)
    }
    pub(crate) fn u32(&mut self) -> Option<u32> {
        self.take(4).map(LE::read_u32)
    }
    pub(crate) fn rest(&mut self) -> &'b [u8] {
        let s = self.bytes.get(self.pos..).unwrap_or_default();
        self.pos = self.bytes.len();
        s
    }
}

fn utf8<'b>(b: &'b [u8], what: &dyn Fn() -> String) -> ReadResult<&'b str> {
    std::str::from_utf8(b).map_err(|_| ReadError::corrupt(format!("{} is not UTF-8", what())))
}

fn parse_meta(data: &[u8]) -> ReadResult<Vec<(String, String)>> {
    let mut c = Cursor::new(data);
    let mut out = Vec::new();
    let bad = || ReadError::corrupt("section 'meta': record runs past the section end");
    while !c.is_empty() {
        let n = c.u16().ok_or_else(bad)?;
        let name = c.take(usize::from(n)).ok_or_else(bad)?;
        let v = c.u32().ok_or_else(bad)?;
        let value = c.take(v as usize).ok_or_else(bad)?;
        let name = utf8(name, &|| "a metadata name".into())?;
        let value = utf8(value, &|| format!("metadata value {name:?}"))?;
        out.push((name.to_string(), value.to_string()));
    }
    Ok(out)
}

fn parse_ctypes(data: &[u8]) -> ReadResult<Vec<String>> {
    let mut c = Cursor::new(data);
    let mut out = Vec::new();
    let bad = || ReadError::corrupt("section 'ctypes': record runs past the section end");
    while !c.is_empty() {
        let n = c.u16().ok_or_else(bad)?;
        let t = c.take(usize::from(n)).ok_or_else(bad)?;
        out.push(utf8(t, &|| format!("content type {}", out.len()))?.to_string());
        if out.len() > usize::from(u16::MAX) {
            return Err(ReadError::corrupt("more than 65535 content types"));
        }
    }
    Ok(out)
}

/// The storage-independent part of a reader: bytes plus parsed layout.
#[derive(Clone, Copy)]
pub(crate) struct View<'a> {
    pub(crate) bytes: &'a [u8],
    shared: &'a Shared,
}

impl<'a> View<'a> {
    pub(crate) fn header(&self) -> &'a Header {
        &self.shared.layout.header
    }

    pub(crate) fn section(&self, id: SectionId) -> ReadResult<&'a [u8]> {
        section(self.bytes, &self.shared.layout, id)
    }

    pub(crate) fn section_records(&self) -> &'a [SectionRecord] {
        &self.shared.layout.records
    }

    /// Entry `index`, its record and strings checked.
    pub(crate) fn entry(&self, index: u64) -> ReadResult<Entry<'a>> {
        let h = self.header();
        if index >= h.entry_count {
            return Err(ReadError::EntryOutOfRange {
                index,
                len: h.entry_count,
            });
        }
        let table = self.section(SectionId::Entries)?;
        let raw: &[u8; ENTRY_RECORD_LEN] = array_at(table, index * ENTRY_RECORD_LEN as u64)
            .ok_or_else(|| ReadError::corrupt(format!("entry {index} is outside its table")))?;
        let rec = EntryRecord::decode(raw);
        let strings_section = self.section(SectionId::Strings)?;
        let strings = slice_at(
            strings_section,
            rec.strings_offset,
            u64::from(rec.strings_len),
        )
        .filter(|s| EntryRecord::crc(raw, s) == EntryRecord::stored_crc(raw))
        .ok_or_else(|| ReadError::checksum(format!("entry {index}")))?;
        let key_len = usize::from(rec.key_len);
        if key_len == 0 || key_len > MAX_KEY_LEN {
            return Err(ReadError::corrupt(format!(
                "entry {index}: key length {key_len} is not in 1..={MAX_KEY_LEN}"
            )));
        }
        let mut c = Cursor::new(strings);
        let key = c.take(key_len).ok_or_else(|| {
            ReadError::corrupt(format!("entry {index}: key runs past its strings"))
        })?;
        let key = utf8(key, &|| format!("entry {index}'s key"))?;
        let fields = c.rest();
        // The fields in the strings are checked here; those of the lead when they are read.
        parse_fields(fields, key, None)?;
        if rec.lead_len > format::MAX_STRINGS_LEN
            || (rec.lead_len > 0 && (rec.body_len == 0 || rec.offset < rec.lead_len))
        {
            return Err(ReadError::corrupt(format!(
                "entry {key:?}: a lead of {} bytes cannot stand before a body of {} bytes at \
                 offset {}",
                rec.lead_len, rec.body_len, rec.offset
            )));
        }
        let content_type = self
            .shared
            .ctypes
            .get(usize::from(rec.content_type))
            .ok_or_else(|| {
                ReadError::corrupt(format!(
                    "entry {key:?}: content type {} is not in the table",
                    rec.content_type
                ))
            })?;
        let date = Date::from_u32(rec.date).map_err(|()| {
            ReadError::corrupt(format!("entry {key:?}: impossible date {}", rec.date))
        })?;
        if rec.body_len > 0 && u64::from(rec.block) >= h.block_count {
            return Err(ReadError::corrupt(format!(
                "entry {key:?}: body starts in block {} of {}",
                rec.block, h.block_count
            )));
        }
        Ok(Entry {
            view: *self,
            index,
            key,
            date,
            content_type,
            fields,
            rec,
        })
    }

    /// Entry number at sorted position `pos`.
    pub(crate) fn sorted_at(&self, pos: u64) -> ReadResult<u64> {
        let table = self.section(SectionId::Sorted)?;
        let group = pos / ENTRIES_PER_GROUP as u64;
        let raw: &[u8; SORTED_GROUP_LEN] = array_at(table, group * SORTED_GROUP_LEN as u64)
            .ok_or_else(|| ReadError::corrupt(format!("sorted group {group} is missing")))?;
        let entries = format::decode_group(raw)
            .ok_or_else(|| ReadError::checksum(format!("sorted index group {group}")))?;
        let e = entries
            .get((pos % ENTRIES_PER_GROUP as u64) as usize)
            .copied()
            .unwrap_or(NO_ENTRY);
        if u64::from(e) >= self.header().entry_count {
            return Err(ReadError::corrupt(format!(
                "sorted position {pos} names entry {e}, past the last entry"
            )));
        }
        Ok(u64::from(e))
    }

    /// First sorted position whose key is ≥ `prefix`. Errors end the search early; the
    /// iterator then reports them.
    fn lower_bound(&self, prefix: &[u8]) -> u64 {
        let (mut lo, mut hi) = (0u64, self.header().entry_count);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let key_less = self
                .sorted_at(mid)
                .and_then(|e| self.entry(e))
                .map(|e| e.key.as_bytes() < prefix);
            match key_less {
                Ok(true) => lo = mid + 1,
                Ok(false) => hi = mid,
                // Leave the damaged position in range so the iterator reports it.
                Err(_) => return mid,
            }
        }
        lo
    }

    pub(crate) fn get_key(&self, key: &[u8]) -> ReadResult<Option<Entry<'a>>> {
        let h = self.header();
        if h.bucket_count == 0 || key.is_empty() || key.len() > MAX_KEY_LEN {
            return Ok(None);
        }
        let table = self.section(SectionId::KeyHash)?;
        let hash = format::key_hash(key, h.hash_seed);
        let home = hash % h.bucket_count;
        let tag = (hash >> 32) as u32;
        for p in 0..=u64::from(h.max_probe) {
            let b = (home + p) % h.bucket_count;
            let raw: &[u8; BUCKET_LEN] = array_at(table, b * BUCKET_LEN as u64)
                .ok_or_else(|| ReadError::corrupt(format!("hash bucket {b} is missing")))?;
            let slots = format::decode_bucket(raw)
                .ok_or_else(|| ReadError::checksum(format!("hash bucket {b}")))?;
            for slot in slots {
                if slot.entry == NO_ENTRY {
                    return Ok(None);
                }
                if slot.tag == tag {
                    let e = self.entry(u64::from(slot.entry))?;
                    if e.key.as_bytes() == key {
                        return Ok(Some(e));
                    }
                }
            }
        }
        Ok(None)
    }

    /// The block record `block`, checked.
    pub(crate) fn block(&self, block: u32) -> ReadResult<BlockRecord> {
        let h = self.header();
        if u64::from(block) >= h.block_count {
            return Err(ReadError::corrupt(format!(
                "block {block} does not exist ({} blocks)",
                h.block_count
            )));
        }
        let table = self.section(SectionId::Blocks)?;
        let raw: &[u8; BLOCK_RECORD_LEN] =
            array_at(table, u64::from(block) * BLOCK_RECORD_LEN as u64)
                .ok_or_else(|| ReadError::corrupt(format!("block record {block} is missing")))?;
        let rec = BlockRecord::decode(raw)
            .ok_or_else(|| ReadError::checksum(format!("block record {block}")))?;
        if rec.raw_len == 0 || rec.raw_len > h.max_block_len {
            return Err(ReadError::corrupt(format!(
                "block {block}: raw length {} is not in 1..={}",
                rec.raw_len, h.max_block_len
            )));
        }
        let stream_end = rec.stream_offset.checked_add(u64::from(rec.raw_len));
        if stream_end.is_none_or(|e| e > h.stream_len) {
            return Err(ReadError::corrupt(format!(
                "block {block}: stream range {}+{} runs past the stream length {}",
                rec.stream_offset, rec.raw_len, h.stream_len
            )));
        }
        let data = self.shared.layout.range(SectionId::Data);
        let end = rec.offset.checked_add(u64::from(rec.stored_len));
        if rec.offset < data.start || end.is_none_or(|e| e > data.end) {
            return Err(ReadError::corrupt(format!(
                "block {block}: stored bytes {}+{} lie outside the data section {}..{}",
                rec.offset, rec.stored_len, data.start, data.end
            )));
        }
        match Codec::from_u8(rec.codec) {
            None => {
                return Err(ReadError::corrupt(format!(
                    "block {block}: unknown codec {}",
                    rec.codec
                )))
            }
            Some(Codec::Raw) if rec.stored_len != rec.raw_len => {
                return Err(ReadError::corrupt(format!(
                    "block {block}: raw block of {} bytes claims {} uncompressed",
                    rec.stored_len, rec.raw_len
                )))
            }
            _ => {}
        }
        Ok(rec)
    }

    /// The dictionary bytes, CRC-checked once (`None` when the archive has none).
    fn dictionary(&self) -> ReadResult<Option<&'a [u8]>> {
        let d = self.section(SectionId::Dict)?;
        if d.is_empty() {
            return Ok(None);
        }
        let dict = self.shared.dict.get_or_init(|| {
            check_section_crc(self.bytes, &self.shared.layout, SectionId::Dict)
                .map_err(|e| e.to_string())?;
            let raw = self.shared.layout.header.required_flags & format::REQUIRED_RAW_DICT != 0;
            unpack_dictionary(d, raw)
        });
        match dict {
            Ok(d) => Ok(Some(d.as_slice())),
            Err(e) => Err(ReadError::corrupt(e.clone())),
        }
    }

    fn take_scratch(&self) -> Scratch {
        self.shared
            .pool
            .lock()
            .ok()
            .and_then(|mut p| p.pop())
            .unwrap_or(Scratch {
                plain: None,
                with_dict: None,
                buf: Vec::new(),
            })
    }

    fn put_scratch(&self, mut s: Scratch) {
        if s.buf.capacity() > 4 << 20 {
            s.buf = Vec::new();
        }
        if let Ok(mut p) = self.shared.pool.lock() {
            if p.len() < 64 {
                p.push(s);
            }
        }
    }

    /// Decompresses `stored` into `s.buf` with the context its codec needs.
    fn decompress(
        &self,
        s: &mut Scratch,
        codec: Codec,
        block: u32,
        stored: &[u8],
        raw_len: u32,
    ) -> ReadResult<()> {
        let failed = |reason: String| ReadError::Decompress { block, reason };
        let ctx = match codec {
            Codec::ZstdDict => {
                if s.with_dict.is_none() {
                    let dict = self.dictionary()?.ok_or_else(|| {
                        ReadError::corrupt(format!(
                            "block {block} needs a dictionary but the archive has none"
                        ))
                    })?;
                    let d = zstd::bulk::Decompressor::with_dictionary(dict).map_err(|e| {
                        ReadError::corrupt(format!("the dictionary does not load: {e}"))
                    })?;
                    s.with_dict = Some(d);
                }
                &mut s.with_dict
            }
            _ => {
                if s.plain.is_none() {
                    s.plain =
                        Some(zstd::bulk::Decompressor::new().map_err(|e| failed(e.to_string()))?);
                }
                &mut s.plain
            }
        };
        let Some(ctx) = ctx.as_mut() else {
            return Err(failed("no decompression context".into()));
        };
        s.buf.clear();
        s.buf.reserve_exact(raw_len as usize);
        match ctx.decompress_to_buffer(stored, &mut s.buf) {
            Ok(n) if n == raw_len as usize && s.buf.len() == n => Ok(()),
            Ok(n) => Err(failed(format!("{n} bytes instead of {raw_len}"))),
            Err(e) => Err(failed(e.to_string())),
        }
    }

    /// Runs `f` over block `block`'s uncompressed bytes, after checking its data CRC
    /// (or from the block cache, when one is on).
    pub(crate) fn with_block<T>(&self, block: u32, f: impl FnOnce(&[u8]) -> T) -> ReadResult<T> {
        self.with_block_from(block, true, f)
    }

    /// Like [`with_block`](Self::with_block); `use_cache: false` always reads and checks
    /// the stored bytes (for verification).
    pub(crate) fn with_block_from<T>(
        &self,
        block: u32,
        use_cache: bool,
        f: impl FnOnce(&[u8]) -> T,
    ) -> ReadResult<T> {
        let rec = self.block(block)?;
        let stored = slice_at(self.bytes, rec.offset, u64::from(rec.stored_len))
            .ok_or_else(|| ReadError::corrupt(format!("block {block} is out of bounds")))?;
        if format::crc32(stored) != rec.data_crc {
            return Err(ReadError::BlockDamaged {
                block,
                entries: rec.first_entry..rec.first_entry.saturating_add(rec.entry_count),
            });
        }
        let codec = Codec::from_u8(rec.codec).unwrap_or(Codec::Raw);
        if codec == Codec::Raw {
            return Ok(f(stored));
        }
        let cache = self.shared.cache.as_ref().filter(|_| use_cache);
        if let Some(hit) = cache.and_then(|c| c.lock().ok()?.get(block)) {
            return Ok(f(&hit));
        }
        let mut s = self.take_scratch();
        let done = self.decompress(&mut s, codec, block, stored, rec.raw_len);
        if let (Ok(()), Some(c)) = (&done, cache) {
            if let Ok(mut c) = c.lock() {
                c.put(block, Arc::from(&s.buf[..]));
            }
        }
        let out = done.map(|()| f(&s.buf));
        self.put_scratch(s);
        out
    }
}

/// Iterates over a string-field area: `(tag, value)`, or `None` for a malformed field.
pub(crate) struct Fields<'b> {
    c: Cursor<'b>,
    failed: bool,
}

impl<'b> Fields<'b> {
    pub(crate) fn new(b: &'b [u8]) -> Self {
        Fields {
            c: Cursor::new(b),
            failed: false,
        }
    }
}

impl<'b> Iterator for Fields<'b> {
    type Item = Option<(u8, &'b [u8])>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.c.is_empty() {
            return None;
        }
        let f = (|| {
            let tag = self.c.u8()?;
            let len = self.c.u32()?;
            let v = self.c.take(len as usize)?;
            Some((tag, v))
        })();
        if f.is_none() {
            self.failed = true;
        }
        Some(f)
    }
}

fn split_meta(v: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut c = Cursor::new(v);
    let n = c.u16()?;
    let name = c.take(usize::from(n))?;
    Some((name, c.rest()))
}

/// Checks a string-field area (§6.1) — every field well-formed and UTF-8, at most one title
/// (counting one already in `info`) — and, given `info`, collects the fields into it. Without
/// `info` nothing is allocated: that is the check of every lookup.
fn parse_fields(area: &[u8], key: &str, mut info: Option<&mut EntryInfo>) -> ReadResult<()> {
    let mut has_title = info.as_ref().is_some_and(|i| i.title.is_some());
    for field in Fields::new(area) {
        let (tag, value) = field
            .ok_or_else(|| ReadError::corrupt(format!("entry {key:?}: malformed string field")))?;
        match tag {
            FIELD_TITLE => {
                let t = utf8(value, &|| format!("title of {key:?}"))?;
                if std::mem::replace(&mut has_title, true) {
                    return Err(ReadError::corrupt(format!("entry {key:?} has two titles")));
                }
                if let Some(info) = info.as_deref_mut() {
                    info.title = Some(t.to_string());
                }
            }
            FIELD_META => {
                let (n, v) = split_meta(value).ok_or_else(|| {
                    ReadError::corrupt(format!("entry {key:?}: malformed metadata field"))
                })?;
                let n = utf8(n, &|| format!("metadata name of {key:?}"))?;
                let v = utf8(v, &|| format!("metadata value of {key:?}"))?;
                if let Some(info) = info.as_deref_mut() {
                    info.metadata.push((n.to_string(), v.to_string()));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// An entry's descriptive strings, from [`Entry::info`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EntryInfo {
    /// The title, if any.
    pub title: Option<String>,
    /// Metadata pairs, in the order they were added.
    pub metadata: Vec<(String, String)>,
}

/// One entry: its strings borrowed from the archive, its body read on demand.
#[derive(Clone, Copy)]
pub struct Entry<'a> {
    view: View<'a>,
    index: u64,
    key: &'a str,
    date: Option<Date>,
    content_type: &'a str,
    fields: &'a [u8],
    rec: EntryRecord,
}

impl std::fmt::Debug for Entry<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry")
            .field("index", &self.index)
            .field("key", &self.key)
            .field("lead_len", &self.rec.lead_len)
            .field("date", &self.date)
            .field("content_type", &self.content_type)
            .field("body_len", &self.rec.body_len)
            .finish()
    }
}

impl<'a> Entry<'a> {
    /// Entry number (position in entry order).
    pub fn index(&self) -> u64 {
        self.index
    }
    /// The key.
    pub fn key(&self) -> &'a str {
        self.key
    }
    /// The title and metadata. Most are stored compressed just before the body (the
    /// entry's lead, §6), so this decompresses the block the body starts in, as reading the
    /// body does; with [`Archive::with_block_cache`] the two share one decompression.
    pub fn info(&self) -> ReadResult<EntryInfo> {
        if self.rec.lead_len == 0 {
            return self.info_in_block(&[]);
        }
        self.view
            .with_block(self.rec.block, |raw| self.info_in_block(raw))?
    }

    /// [`Entry::info`] given the uncompressed bytes of the block the body starts in (not
    /// looked at when the entry has no lead).
    pub(crate) fn info_in_block(&self, raw: &[u8]) -> ReadResult<EntryInfo> {
        let mut info = EntryInfo::default();
        parse_fields(self.fields, self.key, Some(&mut info))?;
        let (lead_len, block, offset) = (self.rec.lead_len, self.rec.block, self.rec.offset);
        if lead_len == 0 {
            return Ok(info);
        }
        let lead = offset
            .checked_sub(lead_len)
            .and_then(|start| slice_at(raw, u64::from(start), u64::from(lead_len)))
            .ok_or_else(|| {
                ReadError::corrupt(format!(
                    "entry {:?}: lead of {lead_len} bytes before offset {offset} is not inside \
                     block {block}",
                    self.key
                ))
            })?;
        parse_fields(lead, self.key, Some(&mut info))?;
        Ok(info)
    }

    /// Length of the entry's lead (its fields stored in the block before the body).
    pub(crate) fn lead_len(&self) -> u32 {
        self.rec.lead_len
    }
    /// The title, if any (see [`Entry::info`]).
    pub fn title(&self) -> ReadResult<Option<String>> {
        Ok(self.info()?.title)
    }
    /// The date, if any.
    pub fn date(&self) -> Option<Date> {
        self.date
    }
    /// The content type (e.g. `text/plain; charset=utf-8`).
    pub fn content_type(&self) -> &'a str {
        self.content_type
    }
    /// Extra metadata pairs, in the order they were added (see [`Entry::info`]).
    pub fn metadata(&self) -> ReadResult<Vec<(String, String)>> {
        Ok(self.info()?.metadata)
    }
    /// Body length in bytes.
    pub fn body_len(&self) -> u64 {
        self.rec.body_len
    }
    /// The block the body starts in, and the offset in it (`None` for an empty body).
    pub fn location(&self) -> Option<(u32, u32)> {
        (self.rec.body_len > 0).then_some((self.rec.block, self.rec.offset))
    }

    /// Reads the body into a fresh `Vec`.
    pub fn body(&self) -> ReadResult<Vec<u8>> {
        let mut v = Vec::new();
        self.read_body_into(&mut v)?;
        Ok(v)
    }

    /// Reads the body into `out`, replacing its contents (its allocation is reused).
    pub fn read_body_into(&self, out: &mut Vec<u8>) -> ReadResult<()> {
        out.clear();
        self.for_each_body_chunk(|chunk| {
            out.extend_from_slice(chunk);
            Ok(())
        })
    }

    /// Writes the body to `w` block by block, without holding it whole in memory.
    pub fn write_body_to(&self, w: &mut dyn std::io::Write) -> ReadResult<()> {
        self.for_each_body_chunk(|chunk| w.write_all(chunk).map_err(ReadError::Io))
    }

    /// Calls `f` on consecutive pieces of the body, one block at a time.
    fn for_each_body_chunk(&self, mut f: impl FnMut(&[u8]) -> ReadResult<()>) -> ReadResult<()> {
        let mut remaining = self.rec.body_len;
        if remaining == 0 {
            return Ok(());
        }
        let mut block = self.rec.block;
        let mut offset = u64::from(self.rec.offset);
        // Check up front that the whole body lies inside the stream, so that a lying length
        // fails before any block is decompressed.
        let first = self.view.block(block)?;
        let end = first
            .stream_offset
            .checked_add(offset)
            .and_then(|s| s.checked_add(remaining));
        if end.is_none_or(|e| e > self.view.header().stream_len) {
            return Err(ReadError::corrupt(format!(
                "entry {:?}: body of {remaining} bytes at block {block} offset {offset} runs past \
                 the end of the data ({} bytes)",
                self.key,
                self.view.header().stream_len
            )));
        }
        let mut expected_start = first.stream_offset;
        while remaining > 0 {
            if u64::from(block) >= self.view.header().block_count {
                return Err(ReadError::corrupt(format!(
                    "entry {:?}: body runs past the last block",
                    self.key
                )));
            }
            let rec = self.view.block(block)?;
            if rec.stream_offset != expected_start {
                return Err(ReadError::corrupt(format!(
                    "block {block} starts at stream offset {} but the block before it ends at \
                     {expected_start}",
                    rec.stream_offset
                )));
            }
            expected_start = rec.stream_offset.saturating_add(u64::from(rec.raw_len));
            let key = self.key;
            let taken = self.view.with_block(block, |raw| {
                let avail = (raw.len() as u64).checked_sub(offset).filter(|a| *a > 0);
                let Some(avail) = avail else {
                    return Err(ReadError::corrupt(format!(
                        "entry {key:?}: body offset {offset} is past the end of block {block} \
                         ({} bytes)",
                        raw.len()
                    )));
                };
                let take = avail.min(remaining);
                let piece = slice_at(raw, offset, take).ok_or_else(|| {
                    ReadError::corrupt(format!("entry {key:?}: body out of block bounds"))
                })?;
                f(piece)?;
                Ok(take)
            })??;
            remaining -= taken;
            offset = 0;
            block = match block.checked_add(1) {
                Some(b) => b,
                None if remaining == 0 => block,
                None => {
                    return Err(ReadError::corrupt(format!(
                        "entry {:?}: body runs past the last block",
                        self.key
                    )))
                }
            };
        }
        Ok(())
    }
}

/// Entries in entry order, from [`Archive::iter`].
pub struct Entries<'a> {
    view: View<'a>,
    next: u64,
    end: u64,
}

impl<'a> Iterator for Entries<'a> {
    type Item = ReadResult<Entry<'a>>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.next >= self.end {
            return None;
        }
        let i = self.next;
        self.next += 1;
        Some(self.view.entry(i))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = usize::try_from(self.end - self.next).unwrap_or(usize::MAX);
        (n, Some(n))
    }
}

/// Entries with a key prefix, in sorted key order, from [`Archive::keys_with_prefix`].
/// After an error the iterator ends.
pub struct PrefixIter<'a> {
    view: View<'a>,
    prefix: &'a [u8],
    pos: u64,
    done: bool,
}

impl<'a> Iterator for PrefixIter<'a> {
    type Item = ReadResult<Entry<'a>>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.done || self.pos >= self.view.header().entry_count {
            return None;
        }
        let r = self
            .view
            .sorted_at(self.pos)
            .and_then(|e| self.view.entry(e));
        self.pos += 1;
        match r {
            Ok(e) if e.key.as_bytes().starts_with(self.prefix) => Some(Ok(e)),
            Ok(_) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}
