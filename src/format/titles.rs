//! §14 The title index: the optional TITLES section (id 4), its folding, word starts,
//! header, root, list pages and tops pages.
//!
//! Everything here is what the spec defines byte for byte; the writer (`writer::titles`)
//! builds these structures and the reader (`reader::suggest`) answers queries from them.
//! Decoding checks what the bytes alone can tell and returns the [`DamageKind`] the reader
//! reports, with the location it knows.

use unicode_general_category::{get_general_category, GeneralCategory};
use unicode_normalization::UnicodeNormalization;

use super::bytes::{put_varint, Cursor};
use super::crc32;
use crate::error::{DamageKind, Rule};

/// The section id of TITLES (§2.2, §14): unknown to 3.0 readers, which skip it.
pub const SECTION_ID: u32 = 4;
/// The version of the title index's layout this reader knows (§14.2).
pub const VERSION: u8 = 1;
/// Length of the section's header (§14.2).
pub const HEADER_LEN: usize = 32;
/// Largest decompressed list or tops page (§14.4, §14.5).
pub const MAX_PAGE_RAW: usize = 64 << 10;
/// Most bytes the keys of a list page take together, decoded (§14.4): front coding lets a
/// few bytes of a page stand for a key of 4096, and a reader holds a page's keys decoded.
pub const MAX_PAGE_KEYS: usize = 1 << 20;
/// Largest decompressed root (§14.3): 4 MiB, so that the root a reader holds decoded (some
/// 60 bytes a page record, 25 a prefix) stays well under 64 MiB whatever it claims.
pub const MAX_ROOT_RAW: usize = 4 << 20;
/// Longest title text and folded title the index holds, in bytes (§14.1).
pub const MAX_TEXT: usize = 4096;
/// Most bytes the root's prefixes take together, once decoded (§14.3): what a reader holds
/// of them stays small however the root front-codes them.
pub const MAX_PREFIX_BYTES: usize = 1 << 20;
/// Largest `trunc` (§14.2).
pub const MAX_TRUNC: u8 = 64;
/// The Unicode version of the folding and word starts (§14.1): case folding, general
/// categories and normalization as Unicode 16.0 defines them.
pub const UNICODE_VERSION: (u8, u8, u8) = (16, 0, 0);

/// Node kinds (the first byte of a decompressed node, §14.3–14.5).
pub const KIND_LIST: u8 = 0;
/// A tops page.
pub const KIND_TOPS: u8 = 1;
/// The root.
pub const KIND_ROOT: u8 = 2;

/// Record flag: the record is a title start and carries its row (§14.4).
pub const FLAG_START: u8 = 1;
/// Record flag: the row has a title (else the key stands for it), only with [`FLAG_START`].
pub const FLAG_HAS_TITLE: u8 = 2;

/// How a title matches a query (§14.1): the query folded is a prefix of the folded title
/// (`TitleStart`), or of its part from a word start on (`WordStart`). Title starts rank
/// first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MatchKind {
    /// At the start of the folded title.
    TitleStart = 0,
    /// At the start of a word inside it.
    WordStart = 1,
}

impl MatchKind {
    /// `"title"` or `"word"`, as `quire suggest --json` shows it.
    pub fn name(self) -> &'static str {
        match self {
            MatchKind::TitleStart => "title",
            MatchKind::WordStart => "word",
        }
    }
}

// ---------------------------------------------------------------------------------------
// §14.1 Folding and word starts
// ---------------------------------------------------------------------------------------

/// §14.1's folding: NFKD, full case folding (C + F), NFKD again, every nonspacing mark
/// (general category Mn) dropped, then NFC. So "ZÜRICH", "Zürich" and "ｚｕｒｉｃｈ" all fold
/// to "zurich", "ß" to "ss" and "ﬁ" to "fi".
///
/// ```
/// use quire::format::titles::fold;
/// assert_eq!(fold("ZÜRICH"), "zurich");
/// assert_eq!(fold("Ｚürich"), "zurich");
/// assert_eq!(fold("Straße ﬁnal"), "strasse final");
/// assert_eq!(fold("Ἀθῆναι"), "αθηναι");
/// ```
pub fn fold(s: &str) -> String {
    let decomposed: String = s.nfkd().collect();
    let cased = caseless::default_case_fold_str(&decomposed);
    cased
        .nfkd()
        .filter(|&c| !is_nonspacing_mark(c))
        .nfc()
        .collect()
}

/// `s` cut to at most `max` bytes, at a character boundary.
pub fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The folded title the index holds for a title text (§14.1): the text cut to
/// [`MAX_TEXT`] bytes, folded, and the result cut to [`MAX_TEXT`] bytes.
pub fn fold_title(text: &str) -> String {
    let mut f = fold(cut(text, MAX_TEXT));
    let n = cut(&f, MAX_TEXT).len();
    f.truncate(n);
    f
}

/// General category Mn. ASCII has none, and is answered without the category tables (an
/// unoptimised build copies them onto the stack on each lookup).
fn is_nonspacing_mark(c: char) -> bool {
    !c.is_ascii() && get_general_category(c) == GeneralCategory::NonspacingMark
}

/// A word character (§14.1): general category L*, N* or M*.
pub fn is_word_char(c: char) -> bool {
    // In ASCII, the letters (Lu, Ll) and the digits (Nd) are the only L*, N* and M*.
    if c.is_ascii() {
        return c.is_ascii_alphanumeric();
    }
    is_word_category(get_general_category(c))
}

/// The general categories of word characters (§14.1): L*, N* and M*.
fn is_word_category(category: GeneralCategory) -> bool {
    use GeneralCategory as G;
    matches!(
        category,
        G::UppercaseLetter
            | G::LowercaseLetter
            | G::TitlecaseLetter
            | G::ModifierLetter
            | G::OtherLetter
            | G::DecimalNumber
            | G::LetterNumber
            | G::OtherNumber
            | G::NonspacingMark
            | G::SpacingMark
            | G::EnclosingMark
    )
}

/// A character of a script written without spaces, each of which starts a word (§14.1):
/// kana (U+3040–U+30FF) and CJK ideographs (U+3400–U+4DBF, U+4E00–U+9FFF, U+F900–U+FAFF,
/// U+20000–U+3FFFF).
pub fn is_ideographic(c: char) -> bool {
    matches!(u32::from(c),
        0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x2_0000..=0x3_FFFF)
}

/// The word starts of a folded title after its first character (§14.1), as byte offsets:
/// a word character that follows a character that is not one, or an ideographic character
/// that follows a word character.
///
/// ```
/// use quire::format::titles::word_starts;
/// assert_eq!(word_starts("new york, 2002"), [4, 10]);
/// assert_eq!(word_starts("北京大学"), [3, 6, 9]);
/// ```
pub fn word_starts(folded: &str) -> Vec<usize> {
    let mut out = Vec::new();
    let mut prev: Option<char> = None;
    for (i, c) in folded.char_indices() {
        if let Some(p) = prev {
            if is_word_char(c) && (!is_word_char(p) || is_ideographic(c)) {
                out.push(i);
            }
        }
        prev = Some(c);
    }
    out
}

// ---------------------------------------------------------------------------------------
// §14.2 Header
// ---------------------------------------------------------------------------------------

/// The section's header (§14.2), decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Head {
    /// Bytes of a word start's suffix that its record's key keeps.
    pub trunc: u8,
    /// Results in each tops list, at most.
    pub tops_n: u8,
    /// Rows: titles in the index (the archive's `entry_count`).
    pub rows: u32,
    /// Stored length of the root.
    pub root_len: u32,
    /// Decompressed length of the root.
    pub root_raw_len: u32,
    /// CRC32 of the root's stored bytes.
    pub root_crc: u32,
    /// Offset of the root from the section's start.
    pub root_offset: u64,
}

/// The CRC32 a header carries (§14.2): of its bytes 4..32, then the CRC32s of INDEX and
/// DATA as the section table gives them (4 bytes each, little-endian), which ties the title
/// index to the archive's checksum chain.
pub fn head_crc(rest: &[u8], index_crc: u32, data_crc: u32) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(rest);
    h.update(&index_crc.to_le_bytes());
    h.update(&data_crc.to_le_bytes());
    h.finalize()
}

impl Head {
    /// The 32 header bytes.
    pub fn encode(&self, index_crc: u32, data_crc: u32) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        b[4] = VERSION;
        b[5] = self.trunc;
        b[6] = self.tops_n;
        b[8..12].copy_from_slice(&self.rows.to_le_bytes());
        b[12..16].copy_from_slice(&self.root_len.to_le_bytes());
        b[16..20].copy_from_slice(&self.root_raw_len.to_le_bytes());
        b[20..24].copy_from_slice(&self.root_crc.to_le_bytes());
        b[24..32].copy_from_slice(&self.root_offset.to_le_bytes());
        let crc = head_crc(&b[4..], index_crc, data_crc);
        b[..4].copy_from_slice(&crc.to_le_bytes());
        b
    }

    /// Checks and decodes a header (§14.2, in §11's order): its CRC, version, reserved
    /// byte, `trunc` and `tops_n`, then the root's place in a section of `section_len` bytes
    /// and its lengths.
    pub fn decode(
        b: &[u8],
        index_crc: u32,
        data_crc: u32,
        section_len: u64,
    ) -> Result<Head, DamageKind> {
        let b: &[u8; HEADER_LEN] = b
            .get(..HEADER_LEN)
            .and_then(|h| h.try_into().ok())
            .ok_or(DamageKind::Violates(Rule::RecordBounds))?;
        let u32_at = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        if u32_at(0) != head_crc(&b[4..], index_crc, data_crc) {
            return Err(DamageKind::ChecksumMismatch);
        }
        if b[4] != VERSION {
            return Err(DamageKind::OverLimit {
                value: b[4].into(),
                limit: VERSION.into(),
            });
        }
        if b[7] != 0 {
            return Err(DamageKind::Violates(Rule::Reserved));
        }
        let mut root_offset = [0u8; 8];
        root_offset.copy_from_slice(&b[24..32]);
        let h = Head {
            trunc: b[5],
            tops_n: b[6],
            rows: u32_at(8),
            root_len: u32_at(12),
            root_raw_len: u32_at(16),
            root_crc: u32_at(20),
            root_offset: u64::from_le_bytes(root_offset),
        };
        if h.trunc == 0 || h.trunc > MAX_TRUNC {
            return Err(DamageKind::OverLimit {
                value: h.trunc.into(),
                limit: MAX_TRUNC.into(),
            });
        }
        if h.tops_n == 0 {
            return Err(DamageKind::Violates(Rule::RecordBounds));
        }
        let end = h.root_offset.checked_add(h.root_len.into());
        if h.root_offset < HEADER_LEN as u64 || end.is_none_or(|e| e > section_len) {
            return Err(DamageKind::Violates(Rule::RecordBounds));
        }
        check_lens(h.root_len, h.root_raw_len, MAX_ROOT_RAW)?;
        Ok(h)
    }
}

/// A node's lengths (§14.3): `1 ≤ stored_len ≤ raw_len ≤ cap`.
fn check_lens(stored: u32, raw: u32, cap: usize) -> Result<(), DamageKind> {
    if raw as usize > cap {
        return Err(DamageKind::OverLimit {
            value: raw.into(),
            limit: cap as u64,
        });
    }
    if stored == 0 || stored > raw {
        return Err(DamageKind::Violates(Rule::BlockLength));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Stored nodes: raw or one zstd frame (§14.3)
// ---------------------------------------------------------------------------------------

/// A node as stored: `raw` itself, or one zstd frame of it when that is smaller (§14.3).
pub fn store(raw: &[u8], level: i32) -> std::io::Result<Vec<u8>> {
    let z = super::blocks::frame_compressor(level)?.compress(raw)?;
    Ok(if z.len() < raw.len() { z } else { raw.to_vec() })
}

/// A stored node's decompressed bytes (§14.3): checks its CRC32, then, when it is shorter
/// than `raw_len`, the frame rules of §5 before decompressing into at most `raw_len` bytes
/// (at most `cap`), and that exactly `raw_len` came out.
pub fn unstore(stored: &[u8], raw_len: u32, crc: u32, cap: usize) -> Result<Vec<u8>, DamageKind> {
    let stored_len = u32::try_from(stored.len()).map_err(|_| bad())?;
    check_lens(stored_len, raw_len, cap)?;
    if crc32(stored) != crc {
        return Err(DamageKind::ChecksumMismatch);
    }
    if stored.len() == raw_len as usize {
        return Ok(stored.to_vec());
    }
    super::blocks::check_frame(stored, raw_len).map_err(DamageKind::Frame)?;
    let out =
        zstd::bulk::decompress(stored, raw_len as usize).map_err(|_| DamageKind::Undecodable)?;
    if out.len() != raw_len as usize {
        return Err(DamageKind::WrongLength {
            expected: raw_len.into(),
            actual: out.len() as u64,
        });
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// §14.3 The root
// ---------------------------------------------------------------------------------------

/// A list page as the root lists it (§14.3).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PageRef {
    /// Offset of its stored bytes from the section's start (from the root's `nodes_offset`
    /// and the lengths before it).
    pub offset: u64,
    /// Stored length.
    pub stored_len: u32,
    /// Decompressed length.
    pub raw_len: u32,
    /// CRC32 of the stored bytes.
    pub crc: u32,
    /// Title-start records (rows) in the page.
    pub rows: u32,
    /// Rows in the pages before it.
    pub rows_before: u32,
    /// The page's first key (empty for page 0).
    pub sep: Vec<u8>,
}

/// A tops page as the root lists it (§14.3).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TopsRef {
    /// Offset of its stored bytes from the section's start.
    pub offset: u64,
    /// Stored length.
    pub stored_len: u32,
    /// Decompressed length.
    pub raw_len: u32,
    /// CRC32 of the stored bytes.
    pub crc: u32,
    /// Tops lists in the page.
    pub lists: u32,
    /// Tops lists in the pages before it.
    pub lists_before: u32,
}

/// The decoded root (§14.3).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Root {
    /// Where the first list page lies, from the section's start: right after the root
    /// (not encoded: the header gives it).
    pub nodes_offset: u64,
    /// The list pages, in key order.
    pub pages: Vec<PageRef>,
    /// The tops pages, after the list pages.
    pub tops: Vec<TopsRef>,
    /// The prefixes that have a tops list, in increasing order (list `i` of the tops pages,
    /// counted across them, is prefix `i`'s).
    pub prefixes: Vec<Vec<u8>>,
}

fn bad() -> DamageKind {
    DamageKind::Violates(Rule::RecordBounds)
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_varint(out, b.len() as u64);
    out.extend_from_slice(b);
}

fn front(prev: &[u8], key: &[u8]) -> usize {
    prev.iter().zip(key).take_while(|(a, b)| a == b).count()
}

fn put_front(out: &mut Vec<u8>, prev: &[u8], key: &[u8]) {
    let shared = front(prev, key);
    put_varint(out, shared as u64);
    put_bytes(out, &key[shared..]);
}

/// Reads a front-coded key into `key` (which holds the previous one).
fn read_front(c: &mut Cursor<'_>, key: &mut Vec<u8>, max: usize) -> Result<(), DamageKind> {
    let shared = c.len_at_most(key.len()).ok_or_else(bad)?;
    let n = c.len_at_most(max).ok_or_else(bad)?;
    let suffix = c.take(n).ok_or_else(bad)?;
    key.truncate(shared);
    if key.len() + suffix.len() > max {
        return Err(bad());
    }
    key.extend_from_slice(suffix);
    Ok(())
}

impl Root {
    /// The root's bytes, before storing.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![KIND_ROOT];
        put_varint(&mut out, self.pages.len() as u64);
        put_varint(&mut out, self.tops.len() as u64);
        for p in &self.pages {
            put_varint(&mut out, p.stored_len.into());
            put_varint(&mut out, p.raw_len.into());
            out.extend_from_slice(&p.crc.to_le_bytes());
            put_varint(&mut out, p.rows.into());
            put_bytes(&mut out, &p.sep);
        }
        for t in &self.tops {
            put_varint(&mut out, t.stored_len.into());
            put_varint(&mut out, t.raw_len.into());
            out.extend_from_slice(&t.crc.to_le_bytes());
            put_varint(&mut out, t.lists.into());
        }
        let mut prev: &[u8] = &[];
        for p in &self.prefixes {
            put_front(&mut out, prev, p);
            prev = p;
        }
        out
    }

    /// Decodes and checks a root (§14.3): every field in range, pages and tops pages back to
    /// back from the root's end to the section's end (`section_len` bytes), separators non-decreasing (page 0's empty), rows
    /// adding up to `head.rows`, prefixes strictly increasing and as many as the tops pages'
    /// lists.
    pub fn decode(raw: &[u8], head: &Head, section_len: u64) -> Result<Root, DamageKind> {
        let mut c = Cursor::new(raw);
        if c.u8() != Some(KIND_ROOT) {
            return Err(DamageKind::Violates(Rule::NodeKind));
        }
        // Every page record takes at least 8 bytes and every tops record 7.
        let n_pages = c.len_at_most(raw.len() / 8).ok_or_else(bad)?;
        let n_tops = c.len_at_most(raw.len() / 7).ok_or_else(bad)?;
        let nodes_offset = head.root_offset + u64::from(head.root_len);
        let mut at = nodes_offset;
        let mut root = Root {
            nodes_offset,
            pages: Vec::with_capacity(n_pages),
            tops: Vec::with_capacity(n_tops),
            prefixes: Vec::new(),
        };
        let place = |at: &mut u64, len: u32| -> Result<u64, DamageKind> {
            let start = *at;
            let end = start.checked_add(len.into()).ok_or_else(bad)?;
            if end > section_len {
                return Err(DamageKind::Violates(Rule::NodePlace));
            }
            *at = end;
            Ok(start)
        };
        let mut rows: u64 = 0;
        for i in 0..n_pages {
            let stored_len = c.len_at_most(u32::MAX as usize).ok_or_else(bad)? as u32;
            let raw_len = c.len_at_most(MAX_PAGE_RAW).ok_or_else(bad)? as u32;
            let crc = c.u32().ok_or_else(bad)?;
            let n = c.len_at_most(u32::MAX as usize).ok_or_else(bad)? as u32;
            let sep_len = c.len_at_most(MAX_TEXT).ok_or_else(bad)?;
            let sep = c.take(sep_len).ok_or_else(bad)?.to_vec();
            check_lens(stored_len, raw_len, MAX_PAGE_RAW)?;
            if (i == 0) != sep.is_empty() {
                return Err(DamageKind::Violates(Rule::Separator));
            }
            if root.pages.last().is_some_and(|p: &PageRef| p.sep > sep) {
                return Err(DamageKind::Violates(Rule::Separator));
            }
            let offset = place(&mut at, stored_len)?;
            root.pages.push(PageRef {
                offset,
                stored_len,
                raw_len,
                crc,
                rows: n,
                rows_before: rows as u32,
                sep,
            });
            rows += u64::from(n);
            if rows > u64::from(head.rows) {
                return Err(DamageKind::Violates(Rule::EntryCount));
            }
        }
        if rows != u64::from(head.rows) {
            return Err(DamageKind::Violates(Rule::EntryCount));
        }
        let mut lists: u64 = 0;
        for _ in 0..n_tops {
            let stored_len = c.len_at_most(u32::MAX as usize).ok_or_else(bad)? as u32;
            let raw_len = c.len_at_most(MAX_PAGE_RAW).ok_or_else(bad)? as u32;
            let crc = c.u32().ok_or_else(bad)?;
            let n = c.len_at_most(raw.len()).ok_or_else(bad)? as u32;
            check_lens(stored_len, raw_len, MAX_PAGE_RAW)?;
            let offset = place(&mut at, stored_len)?;
            root.tops.push(TopsRef {
                offset,
                stored_len,
                raw_len,
                crc,
                lists: n,
                lists_before: lists as u32,
            });
            lists += u64::from(n);
        }
        // Each prefix takes at least 2 bytes of the root, and each but the empty one at
        // least one of the MAX_PREFIX_BYTES they may take together.
        if lists > raw.len() as u64 / 2 || lists > MAX_PREFIX_BYTES as u64 + 1 {
            return Err(bad());
        }
        root.prefixes.reserve_exact(lists as usize);
        let mut key = Vec::new();
        let mut total = 0usize;
        for _ in 0..lists {
            read_front(&mut c, &mut key, MAX_TEXT)?;
            total += key.len();
            if total > MAX_PREFIX_BYTES {
                return Err(DamageKind::OverLimit {
                    value: total as u64,
                    limit: MAX_PREFIX_BYTES as u64,
                });
            }
            if root.prefixes.last().is_some_and(|p| *p >= key) {
                return Err(DamageKind::Violates(Rule::KeyOrder));
            }
            root.prefixes.push(key.clone());
        }
        if !c.is_empty() {
            return Err(bad());
        }
        if at != section_len {
            return Err(DamageKind::Violates(Rule::NodePlace));
        }
        Ok(root)
    }
}

// ---------------------------------------------------------------------------------------
// §14.4 List pages
// ---------------------------------------------------------------------------------------

/// What a record of a list page holds besides its key (§14.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordBody {
    /// A title start: the row itself. Its key is the whole folded title.
    Start {
        /// The entry's key.
        key: String,
        /// The entry's title (cut to [`MAX_TEXT`] bytes), `None` when it has none (its key
        /// stands for it).
        title: Option<String>,
    },
    /// A word start: where the title is.
    Word {
        /// The row (title start number, counted through the list pages).
        row: u32,
        /// Length in bytes of the folded title.
        folded_len: u32,
        /// Byte offset of the word start in the folded title (≥ 1).
        pos: u32,
    },
}

/// One record of a list page (§14.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The record's key: the whole folded title (title start), or the folded title from the
    /// word start on, cut to at least `trunc` bytes (word start).
    pub key: Vec<u8>,
    /// The rest.
    pub body: RecordBody,
}

impl Record {
    /// The order of records (§14.4): by key, then row, then `pos` (a title start's row is
    /// its own number and its `pos` is 0).
    pub fn order(&self, own_row: u32) -> (&[u8], u32, u32) {
        match self.body {
            RecordBody::Start { .. } => (&self.key, own_row, 0),
            RecordBody::Word { row, pos, .. } => (&self.key, row, pos),
        }
    }
}

/// A list page's bytes (§14.4), before storing: the records' keys front-coded, their
/// flags, the rows of the title starts, then the rows, folded lengths and positions of the
/// word starts, each part in record order.
pub fn encode_list(records: &[Record]) -> Vec<u8> {
    let mut out = vec![KIND_LIST];
    put_varint(&mut out, records.len() as u64);
    let mut prev: &[u8] = &[];
    for r in records {
        put_front(&mut out, prev, &r.key);
        prev = &r.key;
    }
    for r in records {
        out.push(match &r.body {
            RecordBody::Start { title: Some(_), .. } => FLAG_START | FLAG_HAS_TITLE,
            RecordBody::Start { title: None, .. } => FLAG_START,
            RecordBody::Word { .. } => 0,
        });
    }
    for r in records {
        if let RecordBody::Start { key, title } = &r.body {
            put_bytes(&mut out, key.as_bytes());
            if let Some(t) = title {
                put_bytes(&mut out, t.as_bytes());
            }
        }
    }
    for pass in 0..3 {
        for r in records {
            if let RecordBody::Word {
                row,
                folded_len,
                pos,
            } = r.body
            {
                put_varint(&mut out, [row, folded_len, pos][pass].into());
            }
        }
    }
    out
}

/// A decoded list page.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListPage {
    /// Its records, in order.
    pub records: Vec<Record>,
    /// The row of its first title start (the root's count of rows before it).
    pub first_row: u32,
    /// Where each of its title starts is in `records`, in row order: row `first_row + i`
    /// is `records[starts[i]]`.
    pub starts: Vec<u32>,
}

/// Decodes and checks a list page (§14.4): kind, every field, keys at most
/// [`MAX_TEXT`] bytes, a title start's key valid UTF-8 and its key and title UTF-8 (key
/// `1 ..= 4096` bytes, title at most [`MAX_TEXT`]), a word start's `row < rows`, `1 ≤ pos <
/// folded_len ≤ MAX_TEXT` and key `min(trunc, folded_len − pos) ..= folded_len − pos` bytes long, records in
/// strictly increasing order, as many title starts as the root says, and nothing left
/// over.
pub fn decode_list(
    raw: &[u8],
    head: &Head,
    first_row: u32,
    expect_rows: u32,
) -> Result<ListPage, DamageKind> {
    let mut c = Cursor::new(raw);
    if c.u8() != Some(KIND_LIST) {
        return Err(DamageKind::Violates(Rule::NodeKind));
    }
    // Every record takes at least 3 bytes: shared, suffix length, flags.
    let n = c.len_at_most(raw.len() / 3).ok_or_else(bad)?;
    if n == 0 {
        return Err(DamageKind::Violates(Rule::EntryCount));
    }
    let mut keys = Vec::with_capacity(n);
    let mut key = Vec::new();
    let mut total = 0usize;
    for _ in 0..n {
        read_front(&mut c, &mut key, MAX_TEXT)?;
        total += key.len();
        if total > MAX_PAGE_KEYS {
            return Err(DamageKind::OverLimit {
                value: total as u64,
                limit: MAX_PAGE_KEYS as u64,
            });
        }
        keys.push(key.clone());
    }
    let flags = c.take(n).ok_or_else(bad)?.to_vec();
    let starts = flags.iter().filter(|f| **f & FLAG_START != 0).count();
    if starts != expect_rows as usize {
        return Err(DamageKind::Violates(Rule::EntryCount));
    }
    let text = |c: &mut Cursor<'_>, max: usize| -> Result<String, DamageKind> {
        let len = c.len_at_most(max).ok_or_else(bad)?;
        let b = c.take(len).ok_or_else(bad)?;
        String::from_utf8(b.to_vec()).map_err(|_| DamageKind::NotUtf8)
    };
    let mut bodies: Vec<Option<RecordBody>> = Vec::with_capacity(n);
    for (k, &f) in keys.iter().zip(&flags) {
        if f & !(FLAG_START | FLAG_HAS_TITLE) != 0 || f == FLAG_HAS_TITLE {
            return Err(DamageKind::Violates(Rule::EntryFlags));
        }
        if f & FLAG_START == 0 {
            bodies.push(None);
            continue;
        }
        if std::str::from_utf8(k).is_err() {
            return Err(DamageKind::NotUtf8);
        }
        let key = text(&mut c, super::MAX_KEY_LEN)?;
        if key.is_empty() {
            return Err(DamageKind::Violates(Rule::KeyLength));
        }
        let title = match f & FLAG_HAS_TITLE {
            0 => None,
            _ => Some(text(&mut c, MAX_TEXT)?),
        };
        bodies.push(Some(RecordBody::Start { key, title }));
    }
    let words = n - starts;
    let mut cols = [
        Vec::with_capacity(words),
        Vec::with_capacity(words),
        Vec::with_capacity(words),
    ];
    for col in &mut cols {
        for _ in 0..words {
            col.push(c.len_at_most(u32::MAX as usize).ok_or_else(bad)? as u32);
        }
    }
    if !c.is_empty() {
        return Err(bad());
    }
    let mut records = Vec::with_capacity(n);
    let mut starts = Vec::with_capacity(starts);
    let (mut w, mut row) = (0usize, first_row);
    let mut prev: Option<(Vec<u8>, u32, u32)> = None;
    for (key, body) in keys.into_iter().zip(bodies) {
        let body = match body {
            Some(b) => b,
            None => {
                let (r, len, pos) = (cols[0][w], cols[1][w], cols[2][w]);
                w += 1;
                let rest = len.saturating_sub(pos);
                let least = (head.trunc as u32).min(rest);
                if r >= head.rows
                    || pos == 0
                    || pos >= len
                    || len as usize > MAX_TEXT
                    || (key.len() as u32) < least
                    || key.len() as u32 > rest
                {
                    return Err(DamageKind::Violates(Rule::RecordBounds));
                }
                RecordBody::Word {
                    row: r,
                    folded_len: len,
                    pos,
                }
            }
        };
        let rec = Record { key, body };
        let ord = {
            let (k, r, p) = rec.order(row);
            (k.to_vec(), r, p)
        };
        if prev.as_ref().is_some_and(|p| *p >= ord) {
            return Err(DamageKind::Violates(Rule::KeyOrder));
        }
        prev = Some(ord);
        if matches!(rec.body, RecordBody::Start { .. }) {
            row += 1;
            starts.push(records.len() as u32);
        }
        records.push(rec);
    }
    Ok(ListPage {
        records,
        first_row,
        starts,
    })
}

// ---------------------------------------------------------------------------------------
// §14.5 Tops pages
// ---------------------------------------------------------------------------------------

/// A decoded tops page (§14.5): the rows its lists show, and the lists.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TopsPage {
    /// Rows: (key, title).
    pub rows: Vec<(String, Option<String>)>,
    /// Lists, one per prefix: (index into `rows`, how it matches), in result order.
    pub lists: Vec<Vec<(u32, MatchKind)>>,
}

/// A tops page's bytes, before storing.
pub fn encode_tops(page: &TopsPage) -> Vec<u8> {
    let mut out = vec![KIND_TOPS];
    put_varint(&mut out, page.rows.len() as u64);
    for (key, title) in &page.rows {
        put_bytes(&mut out, key.as_bytes());
        match title {
            Some(t) => {
                out.push(1);
                put_bytes(&mut out, t.as_bytes());
            }
            None => out.push(0),
        }
    }
    put_varint(&mut out, page.lists.len() as u64);
    for list in &page.lists {
        put_varint(&mut out, list.len() as u64);
        for &(i, kind) in list {
            put_varint(&mut out, u64::from(i) << 1 | kind as u64);
        }
    }
    out
}

/// Decodes and checks a tops page (§14.5): kind, rows (key `1 ..= 4096` bytes of UTF-8,
/// title flag 0 or 1, title UTF-8 of at most [`MAX_TEXT`] bytes), `expect` lists of `1 ..=
/// tops_n` entries each naming a row of the page, no row twice in one list, and nothing
/// left over.
pub fn decode_tops(raw: &[u8], tops_n: u8, expect: u32) -> Result<TopsPage, DamageKind> {
    let mut c = Cursor::new(raw);
    if c.u8() != Some(KIND_TOPS) {
        return Err(DamageKind::Violates(Rule::NodeKind));
    }
    let m = c.len_at_most(raw.len() / 3).ok_or_else(bad)?;
    let text = |c: &mut Cursor<'_>, max: usize| -> Result<String, DamageKind> {
        let len = c.len_at_most(max).ok_or_else(bad)?;
        let b = c.take(len).ok_or_else(bad)?;
        String::from_utf8(b.to_vec()).map_err(|_| DamageKind::NotUtf8)
    };
    let mut page = TopsPage::default();
    for _ in 0..m {
        let key = text(&mut c, super::MAX_KEY_LEN)?;
        if key.is_empty() {
            return Err(DamageKind::Violates(Rule::KeyLength));
        }
        let title = match c.u8() {
            Some(0) => None,
            Some(1) => Some(text(&mut c, MAX_TEXT)?),
            _ => return Err(DamageKind::Violates(Rule::EntryFlags)),
        };
        page.rows.push((key, title));
    }
    let lists = c.len_at_most(raw.len()).ok_or_else(bad)?;
    if lists != expect as usize {
        return Err(DamageKind::Violates(Rule::EntryCount));
    }
    for _ in 0..lists {
        let k = c.len_at_most(tops_n.into()).ok_or_else(bad)?;
        if k == 0 {
            return Err(DamageKind::Violates(Rule::EntryCount));
        }
        let mut list: Vec<(u32, MatchKind)> = Vec::with_capacity(k);
        for _ in 0..k {
            let v = c.varint().ok_or_else(bad)?;
            let i = v >> 1;
            if i >= m as u64 || list.iter().any(|(j, _)| u64::from(*j) == i) {
                return Err(bad());
            }
            let kind = if v & 1 == 0 {
                MatchKind::TitleStart
            } else {
                MatchKind::WordStart
            };
            list.push((i as u32, kind));
        }
        page.lists.push(list);
    }
    if !c.is_empty() {
        return Err(bad());
    }
    Ok(page)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_answers_as_the_category_tables_do() {
        for b in 0u8..128 {
            let c = char::from(b);
            let category = get_general_category(c);
            let word = is_word_category(category);
            assert_eq!(is_word_char(c), word, "{c:?}: {category:?}");
            assert_eq!(
                is_nonspacing_mark(c),
                category == GeneralCategory::NonspacingMark,
                "{c:?}"
            );
        }
        // Past ASCII the tables answer: a combining acute accent is Mn and a word character.
        assert!(is_nonspacing_mark('\u{301}') && is_word_char('\u{301}'));
        assert!(is_word_char('é') && !is_word_char('\u{a0}'));
    }

    #[test]
    fn folding_matches_the_spec_examples() {
        assert_eq!(fold("ZÜRICH"), "zurich");
        assert_eq!(fold("Zu\u{308}rich"), "zurich");
        assert_eq!(fold("ＺＵＲＩＣＨ"), "zurich");
        assert_eq!(fold("Maße"), "masse");
        assert_eq!(fold("ﬁle"), "file");
        assert_eq!(fold("ΣΊΣΥΦΟΣ"), "σισυφοσ");
        assert_eq!(fold("МОСКВА"), "москва");
        assert_eq!(fold("（附图片１张）"), "(附图片1张)");
        assert_eq!(fold("がくせい"), "かくせい");
        assert_eq!(fold("한국"), "한국");
    }

    #[test]
    fn word_starts_follow_non_word_characters_and_ideographs() {
        assert_eq!(word_starts("the new-york times"), [4, 8, 13]);
        assert_eq!(word_starts("a  b"), [3]);
        assert_eq!(word_starts("(北京)"), [1, 4]);
        assert!(word_starts("").is_empty());
        assert!(word_starts("x").is_empty());
    }

    #[test]
    fn header_round_trips_and_checks_its_crc() {
        let h = Head {
            trunc: 6,
            tops_n: 10,
            rows: 3,
            root_len: 10,
            root_raw_len: 20,
            root_crc: 7,
            root_offset: 32,
        };
        let b = h.encode(1, 2);
        assert_eq!(Head::decode(&b, 1, 2, 100), Ok(h));
        assert_eq!(
            Head::decode(&b, 1, 3, 100),
            Err(DamageKind::ChecksumMismatch)
        );
        assert!(Head::decode(&b, 1, 2, 41).is_err());
    }

    #[test]
    fn pages_round_trip() {
        let head = Head {
            trunc: 4,
            tops_n: 10,
            rows: 2,
            ..Head::default()
        };
        let recs = vec![
            Record {
                key: b"new york".to_vec(),
                body: RecordBody::Start {
                    key: "k1".into(),
                    title: Some("New York".into()),
                },
            },
            Record {
                key: b"york".to_vec(),
                body: RecordBody::Word {
                    row: 0,
                    folded_len: 8,
                    pos: 4,
                },
            },
        ];
        let raw = encode_list(&recs);
        let page = decode_list(&raw, &head, 0, 1).unwrap();
        assert_eq!(page.records, recs);
        assert!(decode_list(&raw, &head, 0, 2).is_err());
        let tops = TopsPage {
            rows: vec![("k".into(), None)],
            lists: vec![vec![(0, MatchKind::WordStart)]],
        };
        assert_eq!(decode_tops(&encode_tops(&tops), 10, 1), Ok(tops));
    }
}
