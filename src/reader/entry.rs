//! One entry (§7): its key and fields from its page, its title and metadata (its lead,
//! §7.3), and its body, read whole or streamed block by block. Finding entries by key and by
//! number in a page.

use std::io;
use std::sync::{Arc, OnceLock};

use super::blocks::BlockBytes;
use super::nodes::PageNode;
use super::Ctx;
use crate::error::{DamageKind, Location, ReadError, ReadResult, Rule};
use crate::format::entries::RESTART_INTERVAL;
use crate::format::nodes::find_in_page;
use crate::format::strings::{self, Field, FieldError};
use crate::format::{BlockRecord, Codec, Date, EntryRecord, SectionId};

/// An entry's descriptive strings, from [`Entry::info`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EntryInfo {
    /// The title, if any.
    pub title: Option<String>,
    /// Metadata pairs, in the order they were added.
    pub metadata: Vec<(String, String)>,
}

/// Everything about one entry, body included, from [`Entry::document`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// The key.
    pub key: String,
    /// The title, if any.
    pub title: Option<String>,
    /// The date, if any.
    pub date: Option<Date>,
    /// The content type.
    pub content_type: String,
    /// Metadata pairs, in the order they were added.
    pub metadata: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

fn field_error(index: u64, e: FieldError) -> ReadError {
    let at = Location::Entry(index);
    match e {
        FieldError::Overrun => ReadError::violates(at, Rule::RecordBounds),
        FieldError::NotUtf8 => ReadError::damaged(at, DamageKind::NotUtf8),
    }
}

/// Checks a lead of entry `index` (§7.3) — every field well-formed and UTF-8, at most one
/// title — and collects its fields.
pub(crate) fn collect_fields(area: &[u8], index: u64) -> ReadResult<EntryInfo> {
    let mut out = EntryInfo::default();
    let mut info = Some(&mut out);
    let mut has_title = false;
    for field in strings::fields(area) {
        match field.map_err(|e| field_error(index, e))? {
            Field::Title(t) => {
                if std::mem::replace(&mut has_title, true) {
                    return Err(ReadError::violates(Location::Entry(index), Rule::OneTitle));
                }
                if let Some(info) = info.as_deref_mut() {
                    info.title = Some(t.to_string());
                }
            }
            Field::Meta(n, v) => {
                if let Some(info) = info.as_deref_mut() {
                    info.metadata.push((n.to_string(), v.to_string()));
                }
            }
            Field::Unknown(_) => {}
        }
    }
    Ok(out)
}

/// One entry: its key and fields, decoded from its page; its title, metadata and body read
/// on demand.
#[derive(Clone)]
pub struct Entry<'a> {
    pub(super) ctx: Ctx<'a>,
    pub(super) page: Arc<PageNode>,
    pub(super) index: u64,
    pub(super) rec: EntryRecord,
    /// Title and metadata, decoded on first use.
    pub(super) info: OnceLock<EntryInfo>,
}

impl std::fmt::Debug for Entry<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry")
            .field("index", &self.index)
            .field("key", &self.rec.key)
            .field("lead_len", &self.rec.lead_len)
            .field("date", &self.date())
            .field("content_type", &self.content_type())
            .field("body_len", &self.rec.body_len)
            .finish()
    }
}

/// Checks that stream bytes `start .. start + len` lie in consecutive blocks of `page` and
/// inside the stream.
fn check_range(ctx: &Ctx<'_>, page: &PageNode, start: u64, len: u64) -> bool {
    let Some(end) = start.checked_add(len) else {
        return false;
    };
    if len == 0 {
        return end <= ctx.header().stream_len;
    }
    if end > ctx.header().stream_len {
        return false;
    }
    let Some(mut b) = page.head.block_holding(start) else {
        return false;
    };
    loop {
        match b.stream_end() {
            Some(e) if e >= end => return true,
            Some(e) => {
                let next = b.number.checked_add(1).and_then(|n| page.head.block(n));
                match next {
                    Some(n) if n.stream_start == e => b = n,
                    _ => return false,
                }
            }
            None => return false,
        }
    }
}

impl<'a> Ctx<'a> {
    /// An entry from its page record: its content type, lead and body ranges checked.
    pub(crate) fn make_entry(
        &self,
        page: &Arc<PageNode>,
        i: usize,
        rec: EntryRecord,
    ) -> ReadResult<Entry<'a>> {
        let index = page.first_entry + i as u64;
        let at = Location::Entry(index);
        if rec.content_type as usize >= self.st.layout.ctypes.len() {
            return Err(ReadError::damaged(
                at,
                DamageKind::UnknownContentType(rec.content_type),
            ));
        }
        if !check_range(self, page, rec.lead_at, rec.lead_len.into())
            || !check_range(self, page, rec.body_at(), rec.body_len)
        {
            return Err(ReadError::violates(at, Rule::BodyRange));
        }
        // A shared body is an earlier entry's (§7.2): it ends before this entry's lead.
        if rec.shared_body_at.is_some()
            && rec
                .body_at()
                .checked_add(rec.body_len)
                .is_none_or(|end| end > rec.lead_at)
        {
            return Err(ReadError::violates(at, Rule::SharedBody));
        }
        Ok(Entry {
            ctx: *self,
            page: Arc::clone(page),
            index,
            rec,
            info: OnceLock::new(),
        })
    }

    /// The entry with key `key`, if present.
    pub(crate) fn get_key(&self, key: &[u8]) -> ReadResult<Option<Entry<'a>>> {
        let Some((page, bounds)) = self.page_and_bounds(key)? else {
            return Ok(None);
        };
        match find_in_page(&page.bytes, &page.head, key) {
            Ok(Some((i, rec))) => self.make_entry(&page, i, rec).map(Some),
            Ok(None) => self
                .confirm_absent(&page, key, bounds.upper())
                .map(|()| None),
            Err(kind) => Err(ReadError::damaged(page.at, kind)),
        }
    }

    /// Entries `index ..` up to the end of `index`'s restart group (at most 16), decoded
    /// from the group's restart entry.
    pub(crate) fn group_from(&self, index: u64) -> ReadResult<Vec<Entry<'a>>> {
        let h = self.header();
        if index >= h.entry_count {
            return Err(ReadError::EntryOutOfRange {
                index,
                len: h.entry_count,
            });
        }
        let page = self.page_for_entry(index)?;
        self.group_in(&page, index)
    }

    /// Entries `index ..` of `page` (which holds `index`) up to the end of its restart group;
    /// the first damaged one is the error.
    pub(crate) fn group_in(&self, page: &Arc<PageNode>, index: u64) -> ReadResult<Vec<Entry<'a>>> {
        self.group_results(page, index).into_iter().collect()
    }

    /// Entries `index ..` of `page` up to the end of its restart group, each on its own: a
    /// damaged entry is an `Err` among them, not the end of the group.
    pub(crate) fn group_results(
        &self,
        page: &Arc<PageNode>,
        index: u64,
    ) -> Vec<ReadResult<Entry<'a>>> {
        let decoded = (|| {
            let i = index
                .checked_sub(page.first_entry)
                .filter(|&i| i < page.head.n as u64)
                .ok_or(ReadError::violates(
                    Location::Entry(index),
                    Rule::EntryCount,
                ))? as usize;
            let r = i / RESTART_INTERVAL;
            let damaged = |kind| ReadError::damaged(page.at, kind);
            let mut d = page.head.decoder_at(&page.bytes, r).map_err(damaged)?;
            let end = ((r + 1) * RESTART_INTERVAL).min(page.head.n);
            let mut out = Vec::with_capacity(end - i);
            while d.index() < end {
                let j = d.index();
                let rec = d.next_entry().map_err(damaged)?;
                if j >= i {
                    out.push(self.make_entry(page, j, rec));
                }
            }
            Ok(out)
        })();
        decoded.unwrap_or_else(|e| vec![Err(e)])
    }

    /// Entry number `index`.
    pub(crate) fn entry(&self, index: u64) -> ReadResult<Entry<'a>> {
        self.group_from(index)?
            .into_iter()
            .next()
            .ok_or(ReadError::violates(
                Location::Entry(index),
                Rule::EntryCount,
            ))
    }

    /// The number of the first entry whose key is ≥ `key` (the entry count when none is).
    pub(crate) fn lower_bound(&self, key: &[u8]) -> ReadResult<u64> {
        let Some(page) = self.page_for_key(key)? else {
            return Ok(0);
        };
        let damaged = |kind| ReadError::damaged(page.at, kind);
        let groups = page.head.n.div_ceil(RESTART_INTERVAL);
        let (mut lo, mut hi) = (0usize, groups);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let k = page
                .head
                .decoder_at(&page.bytes, mid)
                .and_then(|d| d.peek_restart_key())
                .map_err(damaged)?;
            if k < key {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        // Every restart before `lo` is < key; the answer is in group lo − 1, or is entry
        // `16 lo` (possibly the first of the next page).
        if lo > 0 {
            let mut d = page.head.decoder_at(&page.bytes, lo - 1).map_err(damaged)?;
            let end = (lo * RESTART_INTERVAL).min(page.head.n);
            while d.index() < end {
                let j = d.index();
                if d.next_entry().map_err(damaged)?.key.as_bytes() >= key {
                    return Ok(page.first_entry + j as u64);
                }
            }
        }
        Ok(page.first_entry + (lo * RESTART_INTERVAL).min(page.head.n) as u64)
    }
}

/// The stored ranges of `page`'s blocks that hold any of the stream `spans` (start,
/// length), in the page's order, at most `budget` bytes of them (the first always), and
/// whether one of them needs the dictionary.
fn stored_ranges(
    ctx: &Ctx<'_>,
    page: &PageNode,
    spans: &[(u64, u64)],
    budget: u64,
) -> (Vec<std::ops::Range<u64>>, bool) {
    let data = ctx.st.layout.range(SectionId::Data);
    let overlaps = |b: &BlockRecord, s: u64, len: u64| {
        len > 0 && b.stream_start < s.saturating_add(len) && b.stream_end().is_some_and(|e| e > s)
    };
    let (mut out, mut dict, mut total) = (Vec::new(), false, 0u64);
    for b in page.head.run.iter().chain(&page.head.foreign) {
        if !spans.iter().any(|&(s, len)| overlaps(b, s, len)) {
            continue;
        }
        total = total.saturating_add(b.stored_len.into());
        if !out.is_empty() && total > budget {
            break;
        }
        let start = data.start.saturating_add(b.offset);
        out.push(start..start.saturating_add(b.stored_len.into()));
        dict |= b.codec == Codec::ZstdDict as u8;
    }
    (out, dict)
}

/// Stored bytes of a long body's next blocks asked for at once over a network.
const BODY_AHEAD: u64 = 8 << 20;

/// The most a whole-body read reserves before it has read anything (64 MiB): a longer
/// body grows its `Vec` past it as its pieces come.
const RESERVE_MAX: usize = 64 << 20;

/// Walks a range of the stream through a page's blocks, one piece per block, keeping the
/// last block it decompressed.
pub(crate) struct Walk<'a> {
    ctx: Ctx<'a>,
    page: Arc<PageNode>,
    index: u64,
    pos: u64,
    remaining: u64,
    last: Option<(u32, BlockBytes)>,
    use_cache: bool,
}

impl<'a> Walk<'a> {
    fn new(e: &Entry<'a>, pos: u64, len: u64) -> Self {
        Walk {
            ctx: e.ctx,
            page: Arc::clone(&e.page),
            index: e.index,
            pos,
            remaining: len,
            last: None,
            use_cache: true,
        }
    }

    /// Moves to another range, keeping the last block.
    fn seek(&mut self, pos: u64, len: u64) {
        self.pos = pos;
        self.remaining = len;
    }

    /// Calls `f` on the next piece; `None` at the end of the range.
    fn next<T>(&mut self, f: impl FnOnce(&[u8]) -> T) -> ReadResult<Option<T>> {
        let Some((data, piece)) = self.next_piece()? else {
            return Ok(None);
        };
        let bad = || ReadError::violates(Location::Entry(self.index), Rule::BodyRange);
        data.get(piece).map(|p| Some(f(p))).ok_or_else(bad)
    }

    /// The next piece as its block and the piece's range in it (never empty); `None` at
    /// the end of the range.
    fn next_piece(&mut self) -> ReadResult<Option<(BlockBytes, std::ops::Range<usize>)>> {
        if self.remaining == 0 {
            return Ok(None);
        }
        let bad = || ReadError::violates(Location::Entry(self.index), Rule::BodyRange);
        let rec = *self.page.head.block_holding(self.pos).ok_or_else(bad)?;
        let data = match &self.last {
            Some((n, d)) if *n == rec.number => Arc::clone(d),
            _ => {
                if self.last.is_none()
                    && self.remaining > u64::from(rec.raw_len)
                    && self.ctx.src.is_remote()
                {
                    // A range over several blocks, over a network: ask for the next ones
                    // together now, not one round trip each.
                    let spans = [(self.pos, self.remaining)];
                    let (ranges, _) = stored_ranges(&self.ctx, &self.page, &spans, BODY_AHEAD);
                    self.ctx.src.prefetch(&ranges);
                }
                let d = self.ctx.block(&rec, self.use_cache)?;
                self.last = Some((rec.number, Arc::clone(&d)));
                d
            }
        };
        let off = (self.pos - rec.stream_start) as usize;
        let take = (data.len().saturating_sub(off) as u64).min(self.remaining);
        let piece = off..off + take as usize;
        if take == 0 || data.get(piece.clone()).is_none() {
            return Err(bad());
        }
        self.pos += take;
        self.remaining -= take;
        Ok(Some((data, piece)))
    }

    /// The rest of the range, gathered (for leads: at most 16 MiB).
    fn gather(&mut self) -> ReadResult<Vec<u8>> {
        let mut out = Vec::new();
        while self.next(|p| out.extend_from_slice(p))?.is_some() {}
        Ok(out)
    }
}

impl<'a> Entry<'a> {
    /// The stored ranges of the blocks that hold this entry's lead and body, in stream
    /// order, at most `budget` bytes of them (the first block always), and whether one of
    /// them needs the dictionary.
    pub(crate) fn block_ranges(&self, budget: u64) -> (Vec<std::ops::Range<u64>>, bool) {
        let spans = [
            (self.rec.lead_at, u64::from(self.rec.lead_len)),
            (self.rec.body_at(), self.rec.body_len),
        ];
        stored_ranges(&self.ctx, &self.page, &spans, budget)
    }

    /// Entry number (position in key order).
    pub fn index(&self) -> u64 {
        self.index
    }

    /// The key.
    pub fn key(&self) -> &str {
        &self.rec.key
    }

    /// The title and metadata. They are stored compressed just before the body (the entry's
    /// lead, §7.3), so the first call decompresses the block they are in (which reading the
    /// body needs too); the result is kept, so later calls (and [`title`](Self::title),
    /// [`metadata`](Self::metadata)) cost nothing. [`document`](Self::document) reads them
    /// together with the body.
    pub fn info(&self) -> ReadResult<&EntryInfo> {
        if let Some(info) = self.info.get() {
            return Ok(info);
        }
        let mut w = Walk::new(self, self.rec.lead_at, self.rec.lead_len.into());
        let info = self.lead_from(&mut w)?;
        Ok(self.info.get_or_init(|| info))
    }

    fn lead_from(&self, w: &mut Walk<'a>) -> ReadResult<EntryInfo> {
        if self.rec.lead_len == 0 {
            return Ok(EntryInfo::default());
        }
        w.seek(self.rec.lead_at, self.rec.lead_len.into());
        collect_fields(&w.gather()?, self.index)
    }

    /// Length of the entry's lead (its fields stored in the stream before the body).
    pub fn lead_len(&self) -> u32 {
        self.rec.lead_len
    }

    /// The title, if any (see [`Entry::info`]).
    pub fn title(&self) -> ReadResult<Option<&str>> {
        Ok(self.info()?.title.as_deref())
    }

    /// The date, if any.
    pub fn date(&self) -> Option<Date> {
        Date::from_u32(self.rec.date).ok().flatten()
    }

    /// The content type (e.g. `text/plain; charset=utf-8`).
    pub fn content_type(&self) -> &'a str {
        let st = self.ctx.st;
        st.layout
            .ctypes
            .get(self.rec.content_type as usize)
            .map_or("", String::as_str)
    }

    /// Extra metadata pairs, in the order they were added (see [`Entry::info`]).
    pub fn metadata(&self) -> ReadResult<&[(String, String)]> {
        Ok(&self.info()?.metadata)
    }

    /// Body length in bytes.
    pub fn body_len(&self) -> u64 {
        self.rec.body_len
    }

    /// Whether the body is shared with an earlier entry (§7.2).
    pub fn is_shared(&self) -> bool {
        self.rec.shared_body_at.is_some()
    }

    /// The block the body starts in, and the offset in it (`None` for an empty body).
    pub fn location(&self) -> Option<(u32, u32)> {
        let at = self.rec.body_at();
        let b = self
            .page
            .head
            .block_holding(at)
            .filter(|_| self.rec.body_len > 0)?;
        Some((b.number, (at - b.stream_start) as u32))
    }

    /// Reads the body into a fresh `Vec`. For a body of unknown size, prefer
    /// [`reader`](Self::reader), whose memory is bounded by the block size.
    pub fn body(&self) -> ReadResult<Vec<u8>> {
        let mut v = Vec::new();
        self.read_body_into(&mut v)?;
        Ok(v)
    }

    /// The body without a copy when it lies in one block: the [`Body`] shares the block's
    /// decompressed bytes with the block cache (or, with the cache off, holds the block it
    /// read), so a get that finds its block in the cache allocates nothing for the body and
    /// copies nothing. A body over several blocks is gathered into one allocation of its
    /// length, as [`body`](Self::body) does, and an empty one is empty. The checks are
    /// [`body`](Self::body)'s, with the same errors.
    ///
    /// Memory: a `Body` from one block keeps that whole block alive (up to the archive's
    /// block size, 128 KiB by default, whatever the body's length) for as long as it or a
    /// clone of it lives, even after the cache has let the block go. To keep a small body
    /// for long, take [`Body::into_vec`] or [`body`](Self::body).
    ///
    /// ```
    /// # use quire::{Archive, ArchiveWriter, NewEntry, WriterOptions};
    /// # let mut w = ArchiveWriter::in_memory(WriterOptions::default())?;
    /// # w.add(&NewEntry::new("a", b"<p>hello</p>"))?;
    /// # let (out, _) = w.finish_into_inner()?;
    /// # let archive = Archive::new(out.into_inner())?;
    /// let entry = archive.get("a")?.expect("present");
    /// let body = entry.body_shared()?;
    /// assert_eq!(&body[..], b"<p>hello</p>");
    /// // The same bytes as `body()`, and the same memory as a second shared read.
    /// assert_eq!(body.as_ref(), &entry.body()?[..]);
    /// assert_eq!(body.as_ptr(), entry.body_shared()?.as_ptr());
    /// let owned: Vec<u8> = body.into_vec();
    /// assert_eq!(owned, b"<p>hello</p>");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn body_shared(&self) -> ReadResult<Body> {
        let mut w = self.body_walk();
        let Some((block, range)) = w.next_piece()? else {
            return Ok(Body::owned(Vec::new()));
        };
        if w.remaining == 0 {
            return Ok(Body { block, range });
        }
        let mut v = Vec::new();
        self.reserve_body(&mut v);
        v.extend_from_slice(block.get(range).unwrap_or_default());
        while w.next(|piece| v.extend_from_slice(piece))?.is_some() {}
        Ok(Body::owned(v))
    }

    fn body_walk(&self) -> Walk<'a> {
        Walk::new(self, self.rec.body_at(), self.rec.body_len)
    }

    /// Reads the body into `out`, replacing its contents (its allocation is reused).
    pub fn read_body_into(&self, out: &mut Vec<u8>) -> ReadResult<()> {
        out.clear();
        self.reserve_body(out);
        let mut w = self.body_walk();
        while w.next(|piece| out.extend_from_slice(piece))?.is_some() {}
        Ok(())
    }

    /// Makes room in `out` for the whole body at once, so that a body over several blocks
    /// is one allocation and each piece one copy, not a doubling `Vec` that copies what it
    /// holds on each growth. The length was checked against the page's blocks when the
    /// entry was made (it lies in them), and the room asked for ahead is capped all the
    /// same ([`RESERVE_MAX`]): past it the `Vec` grows as the pieces come. A refusal
    /// from the allocator is not an error here (the pieces then grow it).
    fn reserve_body(&self, out: &mut Vec<u8>) {
        let want = usize::try_from(self.rec.body_len).map_or(RESERVE_MAX, |n| n.min(RESERVE_MAX));
        let _ = out.try_reserve_exact(want);
    }

    /// Writes the body to `w` block by block, without holding it whole in memory. An error
    /// of `w` is a [`ReadError::Output`]; an error reading the archive is any other variant.
    pub fn write_body_to(&self, w: &mut dyn io::Write) -> ReadResult<()> {
        let mut walk = self.body_walk();
        while let Some(r) = walk.next(|piece| w.write_all(piece))? {
            r.map_err(ReadError::Output)?;
        }
        Ok(())
    }

    /// The body as a [`std::io::Read`]: one block in memory at a time, whatever the body's
    /// length. A damaged block is an [`io::Error`] of kind `InvalidData` whose inner error
    /// (`get_ref`, `into_inner`) is the [`ReadError`].
    ///
    /// ```
    /// use std::io::Read;
    /// # use quire::{Archive, ArchiveWriter, NewEntry, WriterOptions};
    /// # let mut w = ArchiveWriter::in_memory(WriterOptions::default())?;
    /// # w.add(&NewEntry::new("big", &vec![7u8; 100_000]))?;
    /// # let (out, _) = w.finish_into_inner()?;
    /// # let archive = Archive::new(out.into_inner())?;
    /// let entry = archive.get("big")?.expect("present");
    /// let mut total = 0;
    /// let mut buf = [0u8; 8192];
    /// let mut body = entry.reader();
    /// loop {
    ///     let n = body.read(&mut buf)?;
    ///     if n == 0 { break; }
    ///     total += n;
    /// }
    /// assert_eq!(total, 100_000);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn reader(&self) -> BodyReader<'a> {
        BodyReader {
            walk: self.body_walk(),
            buf: Vec::new(),
            pos: 0,
        }
    }

    /// Key, title, date, content type, metadata and body together: the lead and the body are
    /// read in one walk, decompressing a block they share once.
    ///
    /// ```
    /// # use quire::{Archive, ArchiveWriter, NewEntry, WriterOptions};
    /// # let mut w = ArchiveWriter::in_memory(WriterOptions::default())?;
    /// # w.add(&NewEntry::new("a", b"body").title("A").meta("lang", "en"))?;
    /// # let (out, _) = w.finish_into_inner()?;
    /// # let archive = Archive::new(out.into_inner())?;
    /// let doc = archive.get("a")?.expect("present").document()?;
    /// assert_eq!((doc.title.as_deref(), &doc.body[..]), (Some("A"), &b"body"[..]));
    /// assert_eq!(doc.metadata, [("lang".to_string(), "en".to_string())]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn document(&self) -> ReadResult<Document> {
        let mut w = self.body_walk();
        let info = match self.info.get() {
            Some(i) => i.clone(),
            None => self.lead_from(&mut w)?,
        };
        w.seek(self.rec.body_at(), self.rec.body_len);
        let mut body = Vec::new();
        self.reserve_body(&mut body);
        while w.next(|piece| body.extend_from_slice(piece))?.is_some() {}
        Ok(Document {
            key: self.rec.key.clone(),
            title: info.title,
            date: self.date(),
            content_type: self.content_type().to_string(),
            metadata: info.metadata,
            body,
        })
    }
}

/// An entry's body from [`Entry::body_shared`]: bytes that deref to `[u8]`, shared without
/// a copy with the decompressed block they lie in when the body is in one block, owned when
/// it is gathered from several (or empty). Cloning one is cheap (a reference count), never a
/// copy of the bytes.
///
/// A `Body` from one block keeps the whole block in memory while it lives (see
/// [`Entry::body_shared`]).
#[derive(Clone)]
pub struct Body {
    /// The block's decompressed bytes (or the gathered body).
    block: BlockBytes,
    /// The body's bytes in `block`; in bounds (checked when made).
    range: std::ops::Range<usize>,
}

impl Body {
    fn owned(v: Vec<u8>) -> Self {
        Body {
            range: 0..v.len(),
            block: Arc::new(v),
        }
    }

    /// The bytes as a `Vec`: without a copy when this `Body` owns them alone (a body
    /// gathered from several blocks, not cloned), else a copy of the body's bytes (never of
    /// the rest of the block).
    pub fn into_vec(self) -> Vec<u8> {
        if self.range.start == 0 && self.range.end == self.block.len() {
            match Arc::try_unwrap(self.block) {
                Ok(v) => v,
                Err(block) => block.to_vec(),
            }
        } else {
            self.as_ref().to_vec()
        }
    }
}

impl std::ops::Deref for Body {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.block.get(self.range.clone()).unwrap_or_default()
    }
}

impl AsRef<[u8]> for Body {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl PartialEq for Body {
    fn eq(&self, other: &Self) -> bool {
        self[..] == other[..]
    }
}

impl Eq for Body {}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Body")
            .field("len", &self.len())
            .field("block_len", &self.block.len())
            .finish()
    }
}

/// An entry's body as a [`std::io::Read`], from [`Entry::reader`]: holds one block's worth
/// of the body at a time.
pub struct BodyReader<'a> {
    walk: Walk<'a>,
    buf: Vec<u8>,
    pos: usize,
}

impl BodyReader<'_> {
    /// Bytes of the body not read yet.
    pub fn remaining(&self) -> u64 {
        self.walk.remaining + (self.buf.len() - self.pos) as u64
    }
}

impl std::fmt::Debug for BodyReader<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BodyReader")
            .field("entry", &self.walk.index)
            .field("remaining", &self.remaining())
            .finish()
    }
}

impl io::Read for BodyReader<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
            let buf = &mut self.buf;
            let got = self
                .walk
                .next(|piece| buf.extend_from_slice(piece))
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            if got.is_none() {
                return Ok(0);
            }
        }
        let avail = self.buf.get(self.pos..).unwrap_or_default();
        let n = avail.len().min(out.len());
        out[..n].copy_from_slice(&avail[..n]);
        self.pos += n;
        Ok(n)
    }
}
