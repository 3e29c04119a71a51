//! One entry (§6): its key and fixed fields, its title and metadata (in STRINGS or in the
//! lead, §6.1–§6.2), and its body, read whole or streamed block by block.

use std::io;
use std::sync::OnceLock;

use super::view::View;
use crate::error::{DamageKind, Location, ReadError, ReadResult, Rule};
use crate::format::bytes::slice_at;
use crate::format::strings::{self, Field, FieldError};
use crate::format::{Date, EntryRecord};

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

/// Checks a string-field area of entry `index` (§6.1) — every field well-formed and UTF-8,
/// at most one title — and, given `info`, collects the fields into it (a title already in
/// `info` counts). Without `info` nothing is allocated: that is the check of every lookup.
pub(crate) fn check_fields(area: &[u8], index: u64) -> ReadResult<()> {
    collect_fields(area, index, None)
}

fn collect_fields(area: &[u8], index: u64, mut info: Option<&mut EntryInfo>) -> ReadResult<()> {
    let mut has_title = info.as_ref().is_some_and(|i| i.title.is_some());
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
    Ok(())
}

/// One entry: its key and fixed fields borrowed from the archive, its title, metadata and
/// body read on demand.
#[derive(Clone)]
pub struct Entry<'a> {
    pub(super) view: View<'a>,
    pub(super) index: u64,
    pub(super) key: &'a str,
    pub(super) date: Option<Date>,
    pub(super) content_type: &'a str,
    /// The string fields after the key in STRINGS.
    pub(super) fields: &'a [u8],
    pub(super) rec: EntryRecord,
    /// Title and metadata, decoded on first use.
    pub(super) info: OnceLock<EntryInfo>,
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
    /// entry's lead, §6.2), so the first call decompresses the block the body starts in;
    /// the result is kept, so later calls (and [`title`](Self::title),
    /// [`metadata`](Self::metadata)) cost nothing. [`document`](Self::document) reads them
    /// together with the body in one decompression.
    pub fn info(&self) -> ReadResult<&EntryInfo> {
        if let Some(info) = self.info.get() {
            return Ok(info);
        }
        let info = if self.rec.lead_len == 0 {
            self.info_in_block(&[])?
        } else {
            self.view
                .with_block(self.rec.block, |raw| self.info_in_block(raw))??
        };
        Ok(self.info.get_or_init(|| info))
    }

    /// [`Entry::info`] given the uncompressed bytes of the block the body starts in (not
    /// looked at when the entry has no lead).
    pub(crate) fn info_in_block(&self, raw: &[u8]) -> ReadResult<EntryInfo> {
        let mut info = EntryInfo::default();
        collect_fields(self.fields, self.index, Some(&mut info))?;
        let (lead_len, offset) = (self.rec.lead_len, self.rec.offset);
        if lead_len == 0 {
            return Ok(info);
        }
        let lead = offset
            .checked_sub(lead_len)
            .and_then(|start| slice_at(raw, u64::from(start), u64::from(lead_len)))
            .ok_or(ReadError::violates(Location::Entry(self.index), Rule::Lead))?;
        collect_fields(lead, self.index, Some(&mut info))?;
        Ok(info)
    }

    /// Length of the entry's lead (its fields stored in the block before the body).
    pub(crate) fn lead_len(&self) -> u32 {
        self.rec.lead_len
    }

    /// The title, if any (see [`Entry::info`]).
    pub fn title(&self) -> ReadResult<Option<&str>> {
        Ok(self.info()?.title.as_deref())
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
    pub fn metadata(&self) -> ReadResult<&[(String, String)]> {
        Ok(&self.info()?.metadata)
    }

    /// Body length in bytes.
    pub fn body_len(&self) -> u64 {
        self.rec.body_len
    }

    /// The block the body starts in, and the offset in it (`None` for an empty body).
    pub fn location(&self) -> Option<(u32, u32)> {
        (self.rec.body_len > 0).then_some((self.rec.block, self.rec.offset))
    }

    /// Reads the body into a fresh `Vec`. For a body of unknown size, prefer
    /// [`reader`](Self::reader), whose memory is bounded by the block size.
    pub fn body(&self) -> ReadResult<Vec<u8>> {
        let mut v = Vec::new();
        self.read_body_into(&mut v)?;
        Ok(v)
    }

    /// Reads the body into `out`, replacing its contents (its allocation is reused).
    pub fn read_body_into(&self, out: &mut Vec<u8>) -> ReadResult<()> {
        out.clear();
        let mut chunks = self.chunks()?;
        while chunks
            .next(|_, piece| out.extend_from_slice(piece))?
            .is_some()
        {}
        Ok(())
    }

    /// Writes the body to `w` block by block, without holding it whole in memory. An error
    /// of `w` is a [`ReadError::Io`].
    pub fn write_body_to(&self, w: &mut dyn io::Write) -> ReadResult<()> {
        let mut chunks = self.chunks()?;
        while let Some(r) = chunks.next(|_, piece| w.write_all(piece))? {
            r?;
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
    /// let mut body = entry.reader()?;
    /// loop {
    ///     let n = body.read(&mut buf)?;
    ///     if n == 0 { break; }
    ///     total += n;
    /// }
    /// assert_eq!(total, 100_000);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn reader(&self) -> ReadResult<BodyReader<'a>> {
        Ok(BodyReader {
            chunks: self.chunks()?,
            buf: Vec::new(),
            pos: 0,
        })
    }

    /// Key, title, date, content type, metadata and body together, decompressing the
    /// block the body starts in once.
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
        let mut body = Vec::new();
        let mut info = self.info.get().cloned();
        if self.rec.lead_len == 0 && info.is_none() {
            info = Some(self.info_in_block(&[])?);
        }
        let mut chunks = self.chunks()?;
        let mut first = true;
        while let Some(lead) = chunks.next(|block, piece| {
            body.extend_from_slice(piece);
            let lead = (first && info.is_none()).then(|| self.info_in_block(block));
            first = false;
            lead
        })? {
            if let Some(i) = lead {
                info = Some(i?);
            }
        }
        let info = match info {
            Some(i) => i,
            None => self.info()?.clone(),
        };
        Ok(Document {
            key: self.key.to_string(),
            title: info.title,
            date: self.date,
            content_type: self.content_type.to_string(),
            metadata: info.metadata,
            body,
        })
    }

    /// A walk over the body's pieces, one block at a time, with every check done up front
    /// that can be.
    fn chunks(&self) -> ReadResult<Chunks<'a>> {
        let mut c = Chunks {
            view: self.view,
            index: self.index,
            remaining: self.rec.body_len,
            block: self.rec.block,
            offset: u64::from(self.rec.offset),
            expected_start: 0,
        };
        if c.remaining == 0 {
            return Ok(c);
        }
        // The whole body must lie inside the stream, so that a lying length fails before any
        // block is decompressed.
        let first = self.view.block(c.block)?;
        let end = first
            .stream_offset
            .checked_add(c.offset)
            .and_then(|s| s.checked_add(c.remaining));
        if end.is_none_or(|e| e > self.view.header().stream_len) {
            return Err(ReadError::violates(
                Location::Entry(self.index),
                Rule::BodyRange,
            ));
        }
        c.expected_start = first.stream_offset;
        Ok(c)
    }
}

/// The body's pieces, block by block: where the next piece starts and how much is left.
struct Chunks<'a> {
    view: View<'a>,
    index: u64,
    remaining: u64,
    block: u32,
    offset: u64,
    /// The stream offset the next block must start at.
    expected_start: u64,
}

impl Chunks<'_> {
    /// Calls `f(whole block, piece of the body in it)` for the next piece; `None` at the
    /// end of the body.
    fn next<T>(&mut self, f: impl FnOnce(&[u8], &[u8]) -> T) -> ReadResult<Option<T>> {
        if self.remaining == 0 {
            return Ok(None);
        }
        let at = Location::Entry(self.index);
        let (block, offset, remaining) = (self.block, self.offset, self.remaining);
        let rec = self.view.block(block)?;
        if rec.stream_offset != self.expected_start {
            return Err(ReadError::violates(
                Location::Block(block),
                Rule::StreamOffset,
            ));
        }
        let (taken, out) = self.view.with_block(block, |raw| {
            let take = (raw.len() as u64)
                .checked_sub(offset)
                .filter(|a| *a > 0)
                .map(|avail| avail.min(remaining));
            let piece = take.and_then(|t| slice_at(raw, offset, t));
            match (take, piece) {
                (Some(t), Some(p)) => Ok((t, f(raw, p))),
                _ => Err(ReadError::violates(at, Rule::BodyRange)),
            }
        })??;
        self.remaining -= taken;
        self.offset = 0;
        self.expected_start = rec.stream_offset.saturating_add(u64::from(rec.raw_len));
        if self.remaining > 0 {
            self.block = block
                .checked_add(1)
                .filter(|b| u64::from(*b) < self.view.header().block_count)
                .ok_or(ReadError::violates(at, Rule::BodyRange))?;
        }
        Ok(Some(out))
    }
}

/// An entry's body as a [`std::io::Read`], from [`Entry::reader`]: holds one block's worth
/// of the body at a time.
pub struct BodyReader<'a> {
    chunks: Chunks<'a>,
    buf: Vec<u8>,
    pos: usize,
}

impl BodyReader<'_> {
    /// Bytes of the body not read yet.
    pub fn remaining(&self) -> u64 {
        self.chunks.remaining + (self.buf.len() - self.pos) as u64
    }
}

impl std::fmt::Debug for BodyReader<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BodyReader")
            .field("entry", &self.chunks.index)
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
                .chunks
                .next(|_, piece| buf.extend_from_slice(piece))
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
