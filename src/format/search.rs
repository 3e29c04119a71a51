//! §15 The full-text index: the optional SEARCH section (id 5), its header, root, term
//! pages, postings lists and blocks, norms and document pages, and the integer BM25 that
//! ranks results.
//!
//! Everything here is what the spec defines byte for byte; the writer (`writer::search`)
//! builds these structures and the reader (`reader::search`) answers queries from them.
//! Decoding checks what the bytes alone can tell and returns the [`DamageKind`] the reader
//! reports; it never panics, and it allocates only what checked lengths allow.

use super::bytes::{put_varint, Cursor};
use crate::error::{DamageKind, Rule};

pub use super::titles::{store, unstore};

/// The section id of SEARCH (§2.2, §15): unknown to 3.0 readers, which skip it.
pub const SECTION_ID: u32 = 5;
/// The version of the full-text index's layout this reader knows (§15.3).
pub const VERSION: u8 = 1;
/// Length of the section's header (§15.3).
pub const HEADER_LEN: usize = 64;
/// Largest decompressed root (§15.3).
pub const MAX_ROOT_RAW: usize = 4 << 20;
/// Largest decompressed term page, norms chunk or document page (§15.3).
pub const MAX_PAGE_RAW: usize = 64 << 10;
/// Documents per norms chunk (§15.7).
pub const NORMS_CHUNK: u32 = 65536;
/// Postings per block (§15.6).
pub const BLOCK_POSTINGS: usize = 128;
/// Largest block, in bytes (§15.6).
pub const MAX_BLOCK_LEN: usize = 2048;
/// Longest term, in bytes (§15.1).
pub const MAX_TERM: usize = 64;
/// Longest key or title in a document row, in bytes (§15.8).
pub const MAX_TEXT: usize = 4096;
/// Most bytes a document page's keys take together, decoded (§15.8).
pub const MAX_PAGE_KEYS: usize = 1 << 20;
/// Longest tokenizer string (§15.4).
pub const MAX_TOKENIZER: usize = 255;
/// Largest `token_sum` (exclusive, §15.3).
pub const MAX_TOKEN_SUM: u64 = 1 << 48;
/// Longest query, in bytes (§15.2).
pub const MAX_QUERY: usize = 4096;
/// Most distinct terms of a query (§15.2).
pub const MAX_QUERY_TERMS: usize = 64;

/// Node kinds (the first byte of a decompressed node).
pub const KIND_ROOT: u8 = 16;
/// A term page.
pub const KIND_TERMS: u8 = 17;
/// A document page.
pub const KIND_DOCS: u8 = 18;

/// Document row flag: the document is indexed, and the row carries its key (§15.8).
pub const ROW_INDEXED: u8 = 1;
/// Document row flag: the row carries a title (only with [`ROW_INDEXED`]).
pub const ROW_HAS_TITLE: u8 = 2;

fn bad() -> DamageKind {
    DamageKind::Violates(Rule::RecordBounds)
}

fn over(value: u64, limit: u64) -> DamageKind {
    DamageKind::OverLimit { value, limit }
}

// ---------------------------------------------------------------------------------------
// §15.1 Norms, §15.2 BM25 in integers
// ---------------------------------------------------------------------------------------

/// The length a norm code stands for (§15.1): `c` below 16, else a 4-bit mantissa and an
/// exponent; `norm_len(255) = 507,904`.
pub fn norm_len(c: u8) -> u64 {
    if c < 16 {
        u64::from(c)
    } else {
        (16 + u64::from(c & 15)) << ((c >> 4) - 1)
    }
}

/// The norm code of a document of length `dl` (§15.1): 0 for 0, else the largest code whose
/// length is at most `dl`.
pub fn norm_code(dl: u64) -> u8 {
    if dl == 0 {
        return 0;
    }
    // norm_len increases strictly with the code.
    let mut lo = 1u8;
    let mut hi = 255u8;
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if norm_len(mid) <= dl {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    lo
}

/// §15.2's `L(x)`: `log2 x` with 16 fraction bits, exactly as the spec computes it (`x ≥ 1`;
/// `L(0)` is taken as 0).
pub fn log2_fixed(x: u64) -> u64 {
    if x == 0 {
        return 0;
    }
    let n = 63 - u64::from(x.leading_zeros());
    let mut y = if n <= 31 {
        x << (31 - n)
    } else {
        x >> (n - 31)
    };
    let mut r = n << 16;
    for i in (0..16).rev() {
        y = (y * y) >> 31;
        if y >= 1 << 32 {
            y >>= 1;
            r += 1 << i;
        }
    }
    r
}

/// The corpus figures BM25 needs (§15.2), from the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Bm25 {
    /// `D`, indexed documents.
    pub docs: u64,
    /// `T`, the sum of their lengths.
    pub tokens: u64,
    /// `k1`, in thousandths.
    pub k1: u64,
    /// `b`, in thousandths.
    pub b: u64,
}

impl Bm25 {
    /// `idf(t)` for a term in `df` documents (§15.2).
    pub fn idf(&self, df: u64) -> u64 {
        log2_fixed(2 * self.docs + 2).saturating_sub(log2_fixed(2 * df + 1))
    }

    /// `tfn(t, d)` for a term `tf` times in a document of norm code `norm` (§15.2).
    pub fn tfn(&self, tf: u64, norm: u8) -> u64 {
        let (t, d) = (u128::from(self.tokens), u128::from(self.docs));
        let (k1, b, tf) = (u128::from(self.k1), u128::from(self.b), u128::from(tf));
        let num = (1u128 << 16) * tf * (k1 + 1000) * 1000 * t;
        let den = 1_000_000 * t * tf
            + k1 * ((1000 - b.min(1000)) * t + b * u128::from(norm_len(norm)) * d);
        if den == 0 {
            return 0;
        }
        u64::try_from(num / den).unwrap_or(u64::MAX)
    }
}

// ---------------------------------------------------------------------------------------
// §15.3 Header
// ---------------------------------------------------------------------------------------

/// The section's header (§15.3), decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Head {
    /// `W`, the weight of a title token (1..=16).
    pub title_weight: u8,
    /// BM25 `k1` in thousandths.
    pub k1: u16,
    /// BM25 `b` in thousandths.
    pub b: u16,
    /// The archive's `entry_count`.
    pub entries: u32,
    /// `D`, indexed documents.
    pub doc_count: u32,
    /// Terms in the dictionary.
    pub term_count: u32,
    /// `T`, the sum of the indexed documents' lengths.
    pub token_sum: u64,
    /// The sum of every term's `df`.
    pub posting_count: u64,
    /// Stored length of the root (which follows the header).
    pub root_len: u32,
    /// Its decompressed length.
    pub root_raw_len: u32,
    /// CRC32 of its stored bytes.
    pub root_crc: u32,
}

impl Head {
    /// The 64 header bytes, sealed with the CRCs of INDEX and DATA (§15.3).
    pub fn encode(&self, index_crc: u32, data_crc: u32) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        b[4] = VERSION;
        b[5] = self.title_weight;
        b[6..8].copy_from_slice(&self.k1.to_le_bytes());
        b[8..10].copy_from_slice(&self.b.to_le_bytes());
        b[12..16].copy_from_slice(&self.entries.to_le_bytes());
        b[16..20].copy_from_slice(&self.doc_count.to_le_bytes());
        b[20..24].copy_from_slice(&self.term_count.to_le_bytes());
        b[24..32].copy_from_slice(&self.token_sum.to_le_bytes());
        b[32..40].copy_from_slice(&self.posting_count.to_le_bytes());
        b[40..44].copy_from_slice(&self.root_len.to_le_bytes());
        b[44..48].copy_from_slice(&self.root_raw_len.to_le_bytes());
        b[48..52].copy_from_slice(&self.root_crc.to_le_bytes());
        let crc = super::titles::head_crc(&b[4..], index_crc, data_crc);
        b[..4].copy_from_slice(&crc.to_le_bytes());
        b
    }

    /// Checks and decodes a header (§15.10's second row, in its order).
    pub fn decode(
        b: &[u8],
        index_crc: u32,
        data_crc: u32,
        section_len: u64,
    ) -> Result<Head, DamageKind> {
        let b: &[u8; HEADER_LEN] = b
            .get(..HEADER_LEN)
            .and_then(|h| h.try_into().ok())
            .ok_or_else(bad)?;
        let u16_at = |i: usize| u16::from_le_bytes([b[i], b[i + 1]]);
        let u32_at = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let u64_at = |i: usize| u64::from(u32_at(i)) | (u64::from(u32_at(i + 4)) << 32);
        if u32_at(0) != super::titles::head_crc(&b[4..], index_crc, data_crc) {
            return Err(DamageKind::ChecksumMismatch);
        }
        if b[4] != VERSION {
            return Err(over(b[4].into(), VERSION.into()));
        }
        if b[10..12].iter().chain(&b[52..64]).any(|&x| x != 0) {
            return Err(DamageKind::Violates(Rule::Reserved));
        }
        let h = Head {
            title_weight: b[5],
            k1: u16_at(6),
            b: u16_at(8),
            entries: u32_at(12),
            doc_count: u32_at(16),
            term_count: u32_at(20),
            token_sum: u64_at(24),
            posting_count: u64_at(32),
            root_len: u32_at(40),
            root_raw_len: u32_at(44),
            root_crc: u32_at(48),
        };
        if !(1..=16).contains(&h.title_weight) {
            return Err(over(h.title_weight.into(), 16));
        }
        if !(1..=10_000).contains(&h.k1) {
            return Err(over(h.k1.into(), 10_000));
        }
        if h.b > 1000 {
            return Err(over(h.b.into(), 1000));
        }
        if h.doc_count > h.entries {
            return Err(DamageKind::Violates(Rule::EntryCount));
        }
        if u64::from(h.doc_count) > h.token_sum && h.doc_count > 0 || h.token_sum >= MAX_TOKEN_SUM {
            return Err(bad());
        }
        let zeros = [
            h.doc_count == 0,
            h.token_sum == 0,
            h.term_count == 0,
            h.posting_count == 0,
        ];
        if zeros.iter().any(|&z| z) && !zeros.iter().all(|&z| z) {
            return Err(bad());
        }
        let most = u64::from(h.term_count) * u64::from(h.doc_count);
        if u64::from(h.term_count) > h.posting_count || h.posting_count > most {
            return Err(bad());
        }
        if h.root_raw_len as usize > MAX_ROOT_RAW {
            return Err(over(h.root_raw_len.into(), MAX_ROOT_RAW as u64));
        }
        if h.root_len == 0 || h.root_len > h.root_raw_len {
            return Err(DamageKind::Violates(Rule::BlockLength));
        }
        if HEADER_LEN as u64 + u64::from(h.root_len) > section_len {
            return Err(bad());
        }
        Ok(h)
    }

    /// The BM25 figures of the header.
    pub fn bm25(&self) -> Bm25 {
        Bm25 {
            docs: self.doc_count.into(),
            tokens: self.token_sum,
            k1: self.k1.into(),
            b: self.b.into(),
        }
    }
}

// ---------------------------------------------------------------------------------------
// §15.4 The root
// ---------------------------------------------------------------------------------------

/// A term page as the root lists it (§15.4).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TermPageRef {
    /// Offset of its stored bytes from the section's start.
    pub offset: u64,
    /// Stored length.
    pub stored_len: u32,
    /// Decompressed length.
    pub raw_len: u32,
    /// CRC32 of the stored bytes.
    pub crc: u32,
    /// Terms in the page.
    pub terms: u32,
    /// Bytes of POSTINGS its lists take.
    pub post_len: u64,
    /// Where its lists start, from the section's start.
    pub post_offset: u64,
    /// Its first term.
    pub first: Vec<u8>,
}

/// A document page as the root lists it (§15.4).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DocPageRef {
    /// Offset of its stored bytes from the section's start.
    pub offset: u64,
    /// Stored length.
    pub stored_len: u32,
    /// Decompressed length.
    pub raw_len: u32,
    /// CRC32 of the stored bytes.
    pub crc: u32,
    /// Rows in the page.
    pub rows: u32,
    /// Its first row (document number).
    pub first_row: u32,
}

/// A norms chunk as the root lists it (§15.4).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NormsRef {
    /// Offset of its stored bytes from the section's start.
    pub offset: u64,
    /// Stored length.
    pub stored_len: u32,
    /// Decompressed length (implied: 65,536 or the rest).
    pub raw_len: u32,
    /// CRC32 of the stored bytes.
    pub crc: u32,
}

/// The root (§15.4), decoded, with every node's place worked out.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Root {
    /// The tokenizer string (§15.1).
    pub tokenizer: String,
    /// The term pages, in term order.
    pub terms: Vec<TermPageRef>,
    /// The document pages, in document order.
    pub docs: Vec<DocPageRef>,
    /// The norms chunks, in document order.
    pub norms: Vec<NormsRef>,
}

/// A term page's record as [`TermPages`] keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PageSlot {
    offset: u64,
    post_offset: u64,
    stored_len: u32,
    raw_len: u32,
    crc: u32,
    terms: u32,
    /// Where its first term's bytes end in [`TermPages`]'s buffer (they start where the
    /// previous page's end): the whole term at every [`RESTART`]th page, else the suffix
    /// after `shared` bytes of the previous page's first term.
    first_end: u32,
    shared: u8,
}

/// Every this many term pages, [`TermPages`] keeps a first term whole.
const RESTART: usize = 16;

/// The root's term pages (§15.4) as a reader keeps them: a fixed record each and their
/// first terms in one buffer, front-coded as the root has them but whole every
/// `RESTART`th, so a few times the root's bytes whatever its terms (a root of 4 MiB holds
/// up to 466,000 pages), with no allocation per page.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TermPages {
    pages: Vec<PageSlot>,
    firsts: Vec<u8>,
    /// Where the last page's lists end, from the section's start.
    post_end: u64,
}

impl TermPages {
    /// Term pages in the root.
    pub fn len(&self) -> usize {
        self.pages.len()
    }

    /// Whether the root lists no term page.
    pub fn is_empty(&self) -> bool {
        self.pages.is_empty()
    }

    /// The bytes page `i` keeps of its first term, and how many it shares with the previous.
    fn stored_first(&self, i: usize) -> Option<(usize, &[u8])> {
        let p = self.pages.get(i)?;
        let start = match i {
            0 => 0,
            _ => self.pages.get(i - 1)?.first_end as usize,
        };
        Some((
            p.shared.into(),
            self.firsts.get(start..p.first_end as usize)?,
        ))
    }

    /// Page `i`'s first term.
    pub fn first(&self, i: usize) -> Option<Vec<u8>> {
        let r = i - i % RESTART;
        let mut t = self.stored_first(r)?.1.to_vec();
        for j in r + 1..=i {
            let (shared, suffix) = self.stored_first(j)?;
            t.truncate(shared);
            t.extend_from_slice(suffix);
        }
        Some(t)
    }

    /// Page `i`'s record, whole (its first term copied).
    pub fn get(&self, i: usize) -> Option<TermPageRef> {
        let p = self.pages.get(i)?;
        let post_end = self
            .pages
            .get(i + 1)
            .map_or(self.post_end, |n| n.post_offset);
        Some(TermPageRef {
            offset: p.offset,
            stored_len: p.stored_len,
            raw_len: p.raw_len,
            crc: p.crc,
            terms: p.terms,
            post_len: post_end - p.post_offset,
            post_offset: p.post_offset,
            first: self.first(i)?,
        })
    }

    /// The page that may hold `term`: the last whose first term is `≤ term`.
    pub fn page_of_term(&self, term: &[u8]) -> Option<usize> {
        // The last restart whose (whole) first term is `≤ term`, then the pages after it.
        let (mut lo, mut hi) = (0, self.pages.len().div_ceil(RESTART));
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self
                .stored_first(mid * RESTART)
                .is_some_and(|f| f.1 <= term)
            {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        let r = lo.checked_sub(1)? * RESTART;
        let mut t = self.stored_first(r)?.1.to_vec();
        let mut found = r;
        for j in r + 1..(r + RESTART).min(self.pages.len()) {
            let (shared, suffix) = self.stored_first(j)?;
            t.truncate(shared);
            t.extend_from_slice(suffix);
            if t.as_slice() > term {
                break;
            }
            found = j;
        }
        Some(found)
    }
}

/// The number of norms chunks for `entries` documents.
pub fn norms_chunks(entries: u32) -> u32 {
    entries.div_ceil(NORMS_CHUNK)
}

/// The implied decompressed length of norms chunk `i` of `n`.
fn norms_raw_len(entries: u32, i: usize, n: usize) -> u32 {
    if i + 1 < n {
        NORMS_CHUNK
    } else {
        entries - NORMS_CHUNK * (n as u32 - 1)
    }
}

impl Root {
    /// The root's bytes, decompressed (offsets, `post_offset` and `first_row` are implied
    /// and not written).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![KIND_ROOT];
        put_varint(&mut out, self.tokenizer.len() as u64);
        out.extend_from_slice(self.tokenizer.as_bytes());
        put_varint(&mut out, self.terms.len() as u64);
        put_varint(&mut out, self.docs.len() as u64);
        put_varint(&mut out, self.norms.len() as u64);
        let mut prev: &[u8] = &[];
        for p in &self.terms {
            put_varint(&mut out, p.stored_len.into());
            put_varint(&mut out, p.raw_len.into());
            out.extend_from_slice(&p.crc.to_le_bytes());
            put_varint(&mut out, p.terms.into());
            put_varint(&mut out, p.post_len);
            put_front_coded(&mut out, prev, &p.first);
            prev = &p.first;
        }
        for p in &self.docs {
            put_varint(&mut out, p.stored_len.into());
            put_varint(&mut out, p.raw_len.into());
            out.extend_from_slice(&p.crc.to_le_bytes());
            put_varint(&mut out, p.rows.into());
        }
        for p in &self.norms {
            put_varint(&mut out, p.stored_len.into());
            out.extend_from_slice(&p.crc.to_le_bytes());
        }
        out
    }

    /// Checks and decodes a root (§15.10's third row) of a section of `section_len` bytes.
    pub fn decode(raw: &[u8], head: &Head, section_len: u64) -> Result<Root, DamageKind> {
        let (mut root, pages) = Root::decode_compact(raw, head, section_len)?;
        root.terms = (0..pages.len()).filter_map(|i| pages.get(i)).collect();
        Ok(root)
    }

    /// [`decode`](Self::decode) with the term pages apart, in the compact form a reader
    /// keeps ([`TermPages`]: 40 bytes a page and its first term's bytes, where a
    /// [`TermPageRef`] takes 64 and an allocation); the root's `terms` is left empty.
    pub fn decode_compact(
        raw: &[u8],
        head: &Head,
        section_len: u64,
    ) -> Result<(Root, TermPages), DamageKind> {
        let mut c = Cursor::new(raw);
        if c.u8().ok_or_else(bad)? != KIND_ROOT {
            return Err(DamageKind::Violates(Rule::NodeKind));
        }
        let tlen = c.len_at_most(MAX_TOKENIZER).ok_or_else(bad)?;
        let tok = c.take(tlen).ok_or_else(bad)?;
        if tlen == 0 || !tok.iter().all(|b| (0x20..=0x7E).contains(b)) {
            return Err(bad());
        }
        let tokenizer = String::from_utf8_lossy(tok).into_owned();
        // Each record takes at least 7 bytes (term pages 9, document pages 7, chunks 5): the
        // counts are bounded by the root's length before anything is allocated for them.
        let tp = c.len_at_most(raw.len() / 9).ok_or_else(bad)?;
        let dp = c.len_at_most(raw.len() / 7).ok_or_else(bad)?;
        let nc = c.len_at_most(raw.len() / 5).ok_or_else(bad)?;
        if (tp == 0) != (head.term_count == 0)
            || (dp == 0) != (head.entries == 0)
            || nc != norms_chunks(head.entries) as usize
        {
            return Err(DamageKind::Violates(Rule::EntryCount));
        }
        let mut at = HEADER_LEN as u64 + u64::from(head.root_len);
        let mut root = Root {
            tokenizer,
            terms: Vec::new(),
            docs: Vec::with_capacity(dp),
            norms: Vec::with_capacity(nc),
        };
        let mut pages = TermPages {
            pages: Vec::with_capacity(tp),
            firsts: Vec::new(),
            post_end: 0,
        };
        let mut terms_total = 0u64;
        let mut prev: Vec<u8> = Vec::new();
        for _ in 0..tp {
            let (stored_len, raw_len) = node_lens(&mut c, MAX_PAGE_RAW)?;
            let crc = c.u32().ok_or_else(bad)?;
            let terms = c.varint().ok_or_else(bad)?;
            let terms = u32::try_from(terms)
                .ok()
                .filter(|&t| t >= 1)
                .ok_or_else(bad)?;
            let post_len = c.varint().ok_or_else(bad)?;
            let n = pages.pages.len();
            let first = front_coded(&mut c, &prev)?;
            if n > 0 && prev >= first {
                return Err(DamageKind::Violates(Rule::KeyOrder));
            }
            terms_total += u64::from(terms);
            let shared = match n % RESTART {
                0 => 0,
                _ => prev.iter().zip(&first).take_while(|(a, b)| a == b).count(),
            };
            pages.firsts.extend_from_slice(&first[shared..]);
            prev = first;
            pages.pages.push(PageSlot {
                offset: at,
                // The POSTINGS bytes of the pages before, until they are placed below.
                post_offset: post_len,
                stored_len,
                raw_len,
                crc,
                terms,
                first_end: u32::try_from(pages.firsts.len()).map_err(|_| bad())?,
                shared: shared as u8,
            });
            at = at.checked_add(stored_len.into()).ok_or_else(bad)?;
        }
        if terms_total != u64::from(head.term_count) {
            return Err(DamageKind::Violates(Rule::EntryCount));
        }
        for p in &mut pages.pages {
            let len = p.post_offset;
            p.post_offset = at;
            at = at.checked_add(len).ok_or_else(bad)?;
        }
        pages.post_end = at;
        pages.firsts.shrink_to_fit();
        let mut rows_total = 0u64;
        let mut doc_refs = Vec::with_capacity(dp);
        for _ in 0..dp {
            let (stored_len, raw_len) = node_lens(&mut c, MAX_PAGE_RAW)?;
            let crc = c.u32().ok_or_else(bad)?;
            let rows = c.varint().ok_or_else(bad)?;
            let rows = u32::try_from(rows)
                .ok()
                .filter(|&r| r >= 1)
                .ok_or_else(bad)?;
            let first_row = u32::try_from(rows_total).map_err(|_| bad())?;
            rows_total += u64::from(rows);
            doc_refs.push(DocPageRef {
                offset: 0,
                stored_len,
                raw_len,
                crc,
                rows,
                first_row,
            });
        }
        if rows_total != u64::from(head.entries) {
            return Err(DamageKind::Violates(Rule::EntryCount));
        }
        for i in 0..nc {
            let raw_len = norms_raw_len(head.entries, i, nc);
            let stored_len = c.varint().ok_or_else(bad)?;
            let stored_len = u32::try_from(stored_len)
                .ok()
                .filter(|&s| s >= 1 && s <= raw_len)
                .ok_or(DamageKind::Violates(Rule::BlockLength))?;
            let crc = c.u32().ok_or_else(bad)?;
            root.norms.push(NormsRef {
                offset: at,
                stored_len,
                raw_len,
                crc,
            });
            at = at.checked_add(stored_len.into()).ok_or_else(bad)?;
        }
        for mut d in doc_refs {
            d.offset = at;
            at = at.checked_add(d.stored_len.into()).ok_or_else(bad)?;
            root.docs.push(d);
        }
        if !c.is_empty() || at != section_len {
            return Err(bad());
        }
        Ok((root, pages))
    }

    /// The term page that may hold `term`: the last whose first term is `≤ term`.
    pub fn page_of_term(&self, term: &[u8]) -> Option<usize> {
        let i = self.terms.partition_point(|p| p.first.as_slice() <= term);
        i.checked_sub(1)
    }

    /// The document page that holds row `d`.
    pub fn page_of_doc(&self, d: u32) -> Option<usize> {
        let i = self.docs.partition_point(|p| p.first_row + p.rows <= d);
        (i < self.docs.len()).then_some(i)
    }
}

/// A node's `stored_len` and `raw_len` varints: `1 ≤ stored_len ≤ raw_len ≤ cap`.
fn node_lens(c: &mut Cursor<'_>, cap: usize) -> Result<(u32, u32), DamageKind> {
    let stored = c.varint().ok_or_else(bad)?;
    let raw = c.varint().ok_or_else(bad)?;
    if raw > cap as u64 {
        return Err(over(raw, cap as u64));
    }
    if stored == 0 || stored > raw {
        return Err(DamageKind::Violates(Rule::BlockLength));
    }
    Ok((stored as u32, raw as u32))
}

fn put_front_coded(out: &mut Vec<u8>, prev: &[u8], s: &[u8]) {
    let shared = prev.iter().zip(s).take_while(|(a, b)| a == b).count();
    put_varint(out, shared as u64);
    put_varint(out, (s.len() - shared) as u64);
    out.extend_from_slice(&s[shared..]);
}

/// A term front-coded on `prev`: `shared ≤ prev.len()`, 1..=64 bytes of UTF-8.
fn front_coded(c: &mut Cursor<'_>, prev: &[u8]) -> Result<Vec<u8>, DamageKind> {
    let shared = c.len_at_most(prev.len()).ok_or_else(bad)?;
    let suffix_len = c.len_at_most(MAX_TERM).ok_or_else(bad)?;
    let suffix = c.take(suffix_len).ok_or_else(bad)?;
    let mut t = Vec::with_capacity(shared + suffix_len);
    t.extend_from_slice(&prev[..shared]);
    t.extend_from_slice(suffix);
    if t.is_empty() || t.len() > MAX_TERM || std::str::from_utf8(&t).is_err() {
        return Err(bad());
    }
    Ok(t)
}

// ---------------------------------------------------------------------------------------
// §15.5 Term pages, §15.6 postings
// ---------------------------------------------------------------------------------------

/// Where a term's postings are (§15.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Postings {
    /// In the term record: (document, tf) pairs.
    Inline(Vec<(u32, u32)>),
    /// One block in POSTINGS, at this offset from the section's start.
    Block {
        /// Offset from the section's start.
        offset: u64,
        /// Its length.
        len: u32,
        /// Its CRC32.
        crc: u32,
    },
    /// A head and its blocks in POSTINGS.
    Headed {
        /// Offset of the head from the section's start.
        offset: u64,
        /// The head's length.
        head_len: u32,
        /// The whole list's length.
        list_len: u64,
        /// The head's CRC32.
        crc: u32,
    },
}

/// A term record (§15.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TermRecord {
    /// The term.
    pub term: Vec<u8>,
    /// Documents holding it.
    pub df: u32,
    /// Where its postings are.
    pub postings: Postings,
}

/// Postings inline in a record or a block (§15.5, §15.6): varint `p` (gap `p >> 1`, bit 0
/// set for `tf = 1`), else varint `tf − 2`.
pub fn put_postings(out: &mut Vec<u8>, base: Option<u32>, postings: &[(u32, u32)]) {
    let mut prev = base;
    for &(doc, tf) in postings {
        let gap = match prev {
            Some(p) => u64::from(doc - p - 1),
            None => u64::from(doc),
        };
        put_varint(out, gap << 1 | u64::from(tf == 1));
        if tf != 1 {
            put_varint(out, u64::from(tf) - 2);
        }
        prev = Some(doc);
    }
}

/// Decodes `n` postings after `base` (`None`: before document 0), each document `< entries`
/// and `tf ≥ 1` (§15.5, §15.6). `n` is at most 128 or the record's `df`, so the vector is
/// bounded by the bytes there are: each posting takes at least one byte.
pub(crate) fn read_postings(
    c: &mut Cursor<'_>,
    base: Option<u32>,
    n: usize,
    entries: u32,
) -> Result<Vec<(u32, u32)>, DamageKind> {
    let mut out = Vec::new();
    read_postings_into(c, base, n, entries, &mut out)?;
    Ok(out)
}

/// [`read_postings`] into `out` (cleared first), reusing its allocation.
fn read_postings_into(
    c: &mut Cursor<'_>,
    base: Option<u32>,
    n: usize,
    entries: u32,
    out: &mut Vec<(u32, u32)>,
) -> Result<(), DamageKind> {
    out.clear();
    out.reserve(n.min(BLOCK_POSTINGS));
    // The least document the next posting can have: after `base`, or 0.
    let mut next = base.map_or(0, |d| u64::from(d) + 1);
    let entries = u64::from(entries);
    for _ in 0..n {
        let p = c.varint().ok_or_else(bad)?;
        let tf = if p & 1 == 1 {
            1
        } else {
            let t = c.varint().ok_or_else(bad)?;
            t.checked_add(2)
                .filter(|&t| t <= u64::from(u32::MAX))
                .ok_or_else(bad)?
        };
        // `next ≤ 2^32` and `p >> 1 < 2^63`: no overflow.
        let doc = next + (p >> 1);
        if doc >= entries {
            return Err(DamageKind::Violates(Rule::EntryCount));
        }
        out.push((doc as u32, tf as u32));
        next = doc + 1;
    }
    Ok(())
}

/// Decodes a block (§15.6) of `n` postings after `base`: exactly its bytes.
pub fn decode_block(
    bytes: &[u8],
    base: Option<u32>,
    n: usize,
    entries: u32,
) -> Result<Vec<(u32, u32)>, DamageKind> {
    let mut out = Vec::new();
    decode_block_into(bytes, base, n, entries, &mut out)?;
    Ok(out)
}

/// [`decode_block`] into `out` (cleared first), reusing its allocation.
pub fn decode_block_into(
    bytes: &[u8],
    base: Option<u32>,
    n: usize,
    entries: u32,
    out: &mut Vec<(u32, u32)>,
) -> Result<(), DamageKind> {
    if bytes.is_empty() || bytes.len() > MAX_BLOCK_LEN || n == 0 || n > BLOCK_POSTINGS {
        return Err(bad());
    }
    let mut c = Cursor::new(bytes);
    read_postings_into(&mut c, base, n, entries, out)?;
    if !c.is_empty() {
        return Err(bad());
    }
    Ok(())
}

/// A term page (§15.5), decoded.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TermPage {
    /// Its records, in term order.
    pub records: Vec<TermRecord>,
    /// Each record's first 8 term bytes, big-endian and zero-padded, side by side: a lookup
    /// bisects these (one cache line holds 8) before it compares whole terms.
    prefixes: Vec<u64>,
}

/// A term's first 8 bytes as a big-endian number (zero-padded): prefixes order as the
/// terms do, equal prefixes leaving the order to the rest.
fn term_prefix(term: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    let n = term.len().min(8);
    b[..n].copy_from_slice(&term[..n]);
    u64::from_be_bytes(b)
}

impl TermPage {
    /// A page of `records` (in strictly increasing term order).
    pub fn new(records: Vec<TermRecord>) -> Self {
        let prefixes = records.iter().map(|r| term_prefix(&r.term)).collect();
        TermPage { records, prefixes }
    }

    /// The record of `term`, if the page holds it.
    pub fn find(&self, term: &[u8]) -> Option<&TermRecord> {
        let p = term_prefix(term);
        let lo = self.prefixes.partition_point(|&x| x < p);
        let n = self.prefixes.get(lo..)?.partition_point(|&x| x == p);
        let run = self.records.get(lo..lo + n)?;
        let j = run.binary_search_by(|r| r.term.as_slice().cmp(term)).ok()?;
        run.get(j)
    }
}

/// Encodes a term page from records whose non-inline lists lie from `post_offset` (their
/// offsets are implied, not written).
pub fn encode_terms(records: &[TermRecord]) -> Vec<u8> {
    let mut out = vec![KIND_TERMS];
    put_varint(&mut out, records.len() as u64);
    let mut prev: &[u8] = &[];
    for r in records {
        put_front_coded(&mut out, prev, &r.term);
        prev = &r.term;
        let df = u64::from(r.df);
        match &r.postings {
            Postings::Inline(p) => {
                put_varint(&mut out, df << 1 | 1);
                put_postings(&mut out, None, p);
            }
            Postings::Block { len, crc, .. } => {
                put_varint(&mut out, df << 1);
                put_varint(&mut out, u64::from(*len));
                out.extend_from_slice(&crc.to_le_bytes());
            }
            Postings::Headed {
                head_len,
                list_len,
                crc,
                ..
            } => {
                put_varint(&mut out, df << 1);
                put_varint(&mut out, u64::from(*head_len));
                put_varint(&mut out, *list_len);
                out.extend_from_slice(&crc.to_le_bytes());
            }
        }
    }
    out
}

/// Checks and decodes term page `page` (§15.10's fifth row): `r` is its root record,
/// `next_first` the next page's first term.
pub fn decode_terms(
    raw: &[u8],
    r: &TermPageRef,
    next_first: Option<&[u8]>,
    head: &Head,
) -> Result<TermPage, DamageKind> {
    let mut c = Cursor::new(raw);
    if c.u8().ok_or_else(bad)? != KIND_TERMS {
        return Err(DamageKind::Violates(Rule::NodeKind));
    }
    let n = c.varint().ok_or_else(bad)?;
    if n != u64::from(r.terms) || n as usize > raw.len() / 3 {
        return Err(DamageKind::Violates(Rule::EntryCount));
    }
    let mut records: Vec<TermRecord> = Vec::with_capacity(n as usize);
    let mut post = r.post_offset;
    let post_end = r.post_offset + r.post_len;
    for i in 0..n as usize {
        let prev = records.last().map_or(&[][..], |p| p.term.as_slice());
        let term = front_coded(&mut c, prev)?;
        if i == 0 && term != r.first || records.last().is_some_and(|p| p.term >= term) {
            return Err(DamageKind::Violates(Rule::KeyOrder));
        }
        let x = c.varint().ok_or_else(bad)?;
        let df = x >> 1;
        if df == 0 || df > u64::from(head.doc_count) {
            return Err(bad());
        }
        let df32 = df as u32;
        let postings = if x & 1 == 1 {
            if df > BLOCK_POSTINGS as u64 {
                return Err(over(df, BLOCK_POSTINGS as u64));
            }
            Postings::Inline(read_postings(&mut c, None, df as usize, head.entries)?)
        } else if df <= BLOCK_POSTINGS as u64 {
            let len = c.varint().ok_or_else(bad)?;
            if len == 0 || len > MAX_BLOCK_LEN as u64 {
                return Err(over(len, MAX_BLOCK_LEN as u64));
            }
            let crc = c.u32().ok_or_else(bad)?;
            let p = Postings::Block {
                offset: post,
                len: len as u32,
                crc,
            };
            post += len;
            p
        } else {
            let head_len = c.varint().ok_or_else(bad)?;
            let list_len = c.varint().ok_or_else(bad)?;
            let blocks = df.div_ceil(BLOCK_POSTINGS as u64);
            // A head entry takes at least 8 bytes, a block at least one per posting.
            if head_len < 8 * blocks || head_len > u64::from(u32::MAX) || list_len < head_len + df {
                return Err(bad());
            }
            let crc = c.u32().ok_or_else(bad)?;
            let p = Postings::Headed {
                offset: post,
                head_len: head_len as u32,
                list_len,
                crc,
            };
            post = post.checked_add(list_len).ok_or_else(bad)?;
            p
        };
        if post > post_end {
            return Err(bad());
        }
        records.push(TermRecord {
            term,
            df: df32,
            postings,
        });
    }
    if !c.is_empty() || post != post_end {
        return Err(bad());
    }
    if let (Some(last), Some(next)) = (records.last(), next_first) {
        if last.term.as_slice() >= next {
            return Err(DamageKind::Violates(Rule::KeyOrder));
        }
    }
    Ok(TermPage::new(records))
}

/// A block of a list with a head (§15.6): the head's entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockEntry {
    /// Its last document.
    pub last: u32,
    /// Offset of its bytes from the section's start.
    pub offset: u64,
    /// Its length.
    pub len: u32,
    /// The `tf` of its bound.
    pub max_tf: u32,
    /// The norm code of its bound.
    pub max_norm: u8,
    /// CRC32 of its bytes.
    pub crc: u32,
}

/// Encodes a head's entry (§15.6); `prev_last` is the previous block's last document.
pub fn put_head_entry(out: &mut Vec<u8>, prev_last: Option<u32>, e: &BlockEntry) {
    let delta = match prev_last {
        Some(p) => u64::from(e.last - p),
        None => u64::from(e.last) + 1,
    };
    put_varint(out, delta);
    put_varint(out, u64::from(e.len));
    put_varint(out, u64::from(e.max_tf));
    out.push(e.max_norm);
    out.extend_from_slice(&e.crc.to_le_bytes());
}

/// One head entry (§15.6) after the block whose last document is `prev`, its block at `at`.
fn head_entry(
    c: &mut Cursor<'_>,
    prev: Option<u32>,
    at: u64,
    entries: u32,
) -> Result<BlockEntry, DamageKind> {
    let delta = c.varint().ok_or_else(bad)?;
    if delta == 0 {
        return Err(bad());
    }
    let last = match prev {
        Some(p) => u64::from(p) + delta,
        None => delta - 1,
    };
    if last >= u64::from(entries) {
        return Err(DamageKind::Violates(Rule::EntryCount));
    }
    let len = c.varint().ok_or_else(bad)?;
    if len == 0 || len > MAX_BLOCK_LEN as u64 {
        return Err(over(len, MAX_BLOCK_LEN as u64));
    }
    let max_tf = c.varint().ok_or_else(bad)?;
    let max_tf = u32::try_from(max_tf)
        .ok()
        .filter(|&t| t >= 1)
        .ok_or_else(bad)?;
    let max_norm = c.u8().ok_or_else(bad)?;
    if max_norm == 0 {
        return Err(bad());
    }
    let crc = c.u32().ok_or_else(bad)?;
    Ok(BlockEntry {
        last: last as u32,
        offset: at,
        len: len as u32,
        max_tf,
        max_norm,
        crc,
    })
}

/// Checks and decodes a head (§15.10's sixth row) of a list of `df` postings whose blocks
/// start at `blocks_at` (from the section's start) and take `blocks_len` bytes.
pub fn decode_head(
    raw: &[u8],
    df: u32,
    blocks_at: u64,
    blocks_len: u64,
    entries: u32,
) -> Result<Vec<BlockEntry>, DamageKind> {
    let m = (df as usize).div_ceil(BLOCK_POSTINGS);
    if m > raw.len() / 8 {
        return Err(bad());
    }
    let mut c = Cursor::new(raw);
    let mut out: Vec<BlockEntry> = Vec::with_capacity(m);
    let mut at = blocks_at;
    let mut prev: Option<u32> = None;
    for _ in 0..m {
        let e = head_entry(&mut c, prev, at, entries)?;
        at += u64::from(e.len);
        prev = Some(e.last);
        out.push(e);
    }
    if !c.is_empty() || at - blocks_at != blocks_len {
        return Err(bad());
    }
    Ok(out)
}

/// Longest head entry, in bytes: three varints of at most 10 bytes, the norm code, the CRC.
pub const MAX_HEAD_ENTRY: usize = 35;
/// Entries of a long head decoded at a time by [`HeadWindows`].
pub const HEAD_WINDOW: usize = 64;

/// A place in a head between two entries: what decoding from there needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct HeadPos {
    /// Bytes of the head before the entry.
    byte: u64,
    /// Entries before it.
    index: usize,
    /// The last document of the entry before it.
    last: Option<u32>,
    /// Where its block starts, from the section's start.
    block_at: u64,
}

/// A long head (§15.6) read in windows of [`HEAD_WINDOW`] entries, so that a list holds a
/// window decoded, not its whole head (48 bytes a block: 2.2 MB for a list of 6 million
/// postings). The head is first checked whole by a streaming pass ([`HeadScan`], from
/// [`scan`](Self::scan)): its CRC and every entry as [`decode_head`] checks them. A window
/// is then decoded from the byte where the previous one ended (entries are varint-coded)
/// as a query's seek moves forward: [`next_bytes`](Self::next_bytes) says which bytes of
/// the head to read, [`advance`](Self::advance) decodes them.
#[derive(Debug, Clone)]
pub struct HeadWindows {
    head_len: u64,
    blocks_len: u64,
    entries: u32,
    count: usize,
    origin: HeadPos,
    start: HeadPos,
    next: HeadPos,
    window: Vec<BlockEntry>,
}

impl HeadWindows {
    /// The windows of a head of `head_len` bytes of a list of `df` postings whose blocks
    /// start at `blocks_at` and take `blocks_len` bytes, documents below `entries`.
    pub fn new(
        df: u32,
        head_len: u64,
        blocks_at: u64,
        blocks_len: u64,
        entries: u32,
    ) -> Result<HeadWindows, DamageKind> {
        let count = (df as usize).div_ceil(BLOCK_POSTINGS);
        if count == 0 || count as u64 > head_len / 8 {
            return Err(bad());
        }
        let origin = HeadPos {
            byte: 0,
            index: 0,
            last: None,
            block_at: blocks_at,
        };
        Ok(HeadWindows {
            head_len,
            blocks_len,
            entries,
            count,
            origin,
            start: origin,
            next: origin,
            window: Vec::new(),
        })
    }

    /// The streaming check of the whole head, to be fed its bytes in order.
    pub fn scan(&self) -> HeadScan {
        HeadScan {
            windows: HeadWindows {
                window: Vec::new(),
                ..self.clone()
            },
            hasher: crc32fast::Hasher::new(),
            carry: Vec::new(),
            fed: 0,
            err: None,
        }
    }

    /// Blocks in the list.
    pub fn count(&self) -> usize {
        self.count
    }

    /// The list's number of the window's first block.
    pub fn first_index(&self) -> usize {
        self.start.index
    }

    /// The entries of the window (empty before the first [`advance`](Self::advance)).
    pub fn window(&self) -> &[BlockEntry] {
        &self.window
    }

    /// The last document of the block before the window's first (`None` for the first).
    pub fn before(&self) -> Option<u32> {
        self.start.last
    }

    /// Whether blocks follow the window.
    pub fn has_more(&self) -> bool {
        self.next.index < self.count
    }

    /// Back to before the first window.
    pub fn rewind(&mut self) {
        self.start = self.origin;
        self.next = self.origin;
        self.window.clear();
    }

    /// The bytes of the head the next window is decoded from: (offset in the head, length).
    pub fn next_bytes(&self) -> (u64, u64) {
        let room = (HEAD_WINDOW * MAX_HEAD_ENTRY) as u64;
        let from = self.next.byte.min(self.head_len);
        (from, (self.head_len - from).min(room))
    }

    /// Decodes the next window from `bytes`, the head's bytes from where
    /// [`next_bytes`](Self::next_bytes) says (fewer at its end): at most [`HEAD_WINDOW`]
    /// entries, at least one.
    pub fn advance(&mut self, bytes: &[u8]) -> Result<(), DamageKind> {
        let end = self.next.byte + bytes.len() as u64 >= self.head_len;
        self.window.clear();
        self.start = self.next;
        let mut pos = self.next;
        let mut c = Cursor::new(bytes);
        while pos.index < self.count
            && self.window.len() < HEAD_WINDOW
            && (end || bytes.len() - c.pos() >= MAX_HEAD_ENTRY)
        {
            let e = head_entry(&mut c, pos.last, pos.block_at, self.entries)?;
            pos.index += 1;
            pos.last = Some(e.last);
            pos.block_at += u64::from(e.len);
            self.window.push(e);
        }
        pos.byte += c.pos() as u64;
        if self.window.is_empty() || pos.byte > self.head_len {
            return Err(bad());
        }
        self.next = pos;
        Ok(())
    }
}

/// The streaming check of a long head (from [`HeadWindows::scan`]): fed the head's bytes in
/// order, in pieces of any size, it keeps only an entry's worth of them between pieces.
#[derive(Clone)]
pub struct HeadScan {
    windows: HeadWindows,
    hasher: crc32fast::Hasher,
    carry: Vec<u8>,
    fed: u64,
    err: Option<DamageKind>,
}

impl std::fmt::Debug for HeadScan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HeadScan")
            .field("fed", &self.fed)
            .field("next", &self.windows.next)
            .field("err", &self.err)
            .finish()
    }
}

impl HeadScan {
    /// The head's next bytes.
    pub fn feed(&mut self, piece: &[u8]) {
        self.hasher.update(piece);
        self.fed += piece.len() as u64;
        if self.err.is_some() {
            return;
        }
        let w = &mut self.windows;
        let end = self.fed >= w.head_len;
        self.carry.extend_from_slice(piece);
        let mut c = Cursor::new(&self.carry);
        let mut pos = w.next;
        while pos.index < w.count && (end || self.carry.len() - c.pos() >= MAX_HEAD_ENTRY) {
            match head_entry(&mut c, pos.last, pos.block_at, w.entries) {
                Ok(e) => {
                    pos.index += 1;
                    pos.last = Some(e.last);
                    pos.block_at += u64::from(e.len);
                }
                Err(k) => {
                    self.err = Some(k);
                    self.carry = Vec::new();
                    return;
                }
            }
        }
        let used = c.pos();
        pos.byte += used as u64;
        w.next = pos;
        if pos.index == w.count && used < self.carry.len() {
            // Bytes after the last entry: the head does not parse whole.
            self.err = Some(bad());
            self.carry = Vec::new();
            return;
        }
        self.carry.drain(..used);
    }

    /// The verdict once every byte is fed: `ChecksumMismatch` when the CRC is not `crc`,
    /// else the first fault of the entries, else whether they are all there and their
    /// blocks take the list's bytes after the head.
    pub fn finish(self, crc: u32) -> Result<(), DamageKind> {
        if self.hasher.finalize() != crc {
            return Err(DamageKind::ChecksumMismatch);
        }
        if let Some(k) = self.err {
            return Err(k);
        }
        let w = &self.windows;
        if self.fed != w.head_len
            || !self.carry.is_empty()
            || w.next.index != w.count
            || w.next.block_at - w.origin.block_at != w.blocks_len
        {
            return Err(bad());
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// §15.8 Document pages
// ---------------------------------------------------------------------------------------

/// A document row (§15.8): `None` for a document that is not indexed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocRow {
    /// The entry's key.
    pub key: String,
    /// Its title field (§15.1), if any.
    pub title: Option<String>,
}

/// Encodes a document page.
pub fn encode_docs(rows: &[Option<DocRow>]) -> Vec<u8> {
    let mut out = vec![KIND_DOCS];
    put_varint(&mut out, rows.len() as u64);
    let mut prev: &[u8] = &[];
    for r in rows {
        match r {
            None => out.push(0),
            Some(r) => {
                out.push(ROW_INDEXED | if r.title.is_some() { ROW_HAS_TITLE } else { 0 });
                put_front_coded(&mut out, prev, r.key.as_bytes());
                prev = r.key.as_bytes();
                if let Some(t) = &r.title {
                    put_varint(&mut out, t.len() as u64);
                    out.extend_from_slice(t.as_bytes());
                }
            }
        }
    }
    out
}

/// Checks and decodes a document page of `rows` rows (§15.10's eighth row).
pub fn decode_docs(raw: &[u8], rows: u32) -> Result<Vec<Option<DocRow>>, DamageKind> {
    let mut c = Cursor::new(raw);
    if c.u8().ok_or_else(bad)? != KIND_DOCS {
        return Err(DamageKind::Violates(Rule::NodeKind));
    }
    let n = c.varint().ok_or_else(bad)?;
    if n != u64::from(rows) || n as usize > raw.len() {
        return Err(DamageKind::Violates(Rule::EntryCount));
    }
    let mut out: Vec<Option<DocRow>> = Vec::with_capacity(n as usize);
    let mut prev: Vec<u8> = Vec::new();
    let mut key_bytes = 0usize;
    for _ in 0..n {
        let flags = c.u8().ok_or_else(bad)?;
        if flags & !(ROW_INDEXED | ROW_HAS_TITLE) != 0 || flags == ROW_HAS_TITLE {
            return Err(DamageKind::Violates(Rule::Reserved));
        }
        if flags & ROW_INDEXED == 0 {
            out.push(None);
            continue;
        }
        let shared = c.len_at_most(prev.len()).ok_or_else(bad)?;
        let suffix_len = c.len_at_most(MAX_TEXT).ok_or_else(bad)?;
        let suffix = c.take(suffix_len).ok_or_else(bad)?;
        let mut key = Vec::with_capacity(shared + suffix_len);
        key.extend_from_slice(&prev[..shared]);
        key.extend_from_slice(suffix);
        if key.is_empty() || key.len() > MAX_TEXT || (!prev.is_empty() && key <= prev) {
            return Err(DamageKind::Violates(Rule::KeyOrder));
        }
        key_bytes += key.len();
        if key_bytes > MAX_PAGE_KEYS {
            return Err(over(key_bytes as u64, MAX_PAGE_KEYS as u64));
        }
        let key_s = std::str::from_utf8(&key).map_err(|_| bad())?.to_owned();
        let title = if flags & ROW_HAS_TITLE != 0 {
            let tl = c.len_at_most(MAX_TEXT).ok_or_else(bad)?;
            let t = c.take(tl).ok_or_else(bad)?;
            Some(std::str::from_utf8(t).map_err(|_| bad())?.to_owned())
        } else {
            None
        };
        prev = key;
        out.push(Some(DocRow { key: key_s, title }));
    }
    if !c.is_empty() {
        return Err(bad());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log2_matches_the_spec_examples() {
        assert_eq!(log2_fixed(1), 0);
        assert_eq!(log2_fixed(2), 65536);
        assert_eq!(log2_fixed(3), 103872);
        assert_eq!(log2_fixed(10), 217705);
        assert_eq!(log2_fixed(7578), 844601);
        let b = Bm25 {
            docs: 3788,
            tokens: 2_139_774,
            k1: 1200,
            b: 750,
        };
        assert_eq!(b.idf(5), 617_884);
        assert_eq!(norm_code(565), 97);
        assert_eq!(norm_len(97), 544);
        assert_eq!(b.tfn(1, 97), 66_542);
        assert_eq!(b.idf(5) * b.tfn(1, 97), 41_115_237_128);
    }

    #[test]
    fn norm_codes() {
        assert_eq!(norm_code(0), 0);
        assert_eq!(norm_code(31), 31);
        assert_eq!(norm_code(33), 32);
        assert_eq!(norm_code(1_000_000), 255);
        assert_eq!(norm_len(255), 507_904);
        for c in 1..=255u8 {
            assert_eq!(norm_code(norm_len(c)), c);
        }
    }

    #[test]
    fn long_heads_scanned_in_pieces_and_read_in_windows() {
        let m = 300usize;
        let df = (m * BLOCK_POSTINGS - 5) as u32;
        let mut head = Vec::new();
        let mut prev = None;
        for i in 0..m as u32 {
            let e = BlockEntry {
                last: i * 1000 + i % 7,
                offset: 0,
                len: 100 + i % 50,
                max_tf: 1 + i * 977,
                max_norm: 1 + (i % 200) as u8,
                crc: i.wrapping_mul(0x9E37_79B9),
            };
            put_head_entry(&mut head, prev, &e);
            prev = Some(e.last);
        }
        let at = 5000u64;
        let want = decode_head(&head, df, at, (100..150).cycle().take(m).sum(), 400_000).unwrap();
        let blocks_len = want.iter().map(|e| u64::from(e.len)).sum();
        let crc = crate::format::crc32(&head);
        let w = HeadWindows::new(df, head.len() as u64, at, blocks_len, 400_000).unwrap();
        for piece in [1, 7, 35, 36, 1000, head.len()] {
            let mut s = w.scan();
            head.chunks(piece).for_each(|p| s.feed(p));
            s.finish(crc).unwrap();
            // A byte too many, a byte too few, a wrong CRC, a wrong length of blocks.
            let mut s = w.scan();
            head.chunks(piece).for_each(|p| s.feed(p));
            s.feed(&[0]);
            assert!(s
                .finish(crate::format::crc32(&[&head[..], &[0]].concat()))
                .is_err());
            let mut s = w.scan();
            head[..head.len() - 1].chunks(piece).for_each(|p| s.feed(p));
            assert!(s
                .finish(crate::format::crc32(&head[..head.len() - 1]))
                .is_err());
            let mut s = w.scan();
            head.chunks(piece).for_each(|p| s.feed(p));
            assert_eq!(s.finish(crc ^ 1), Err(DamageKind::ChecksumMismatch));
        }
        let w2 = HeadWindows::new(df, head.len() as u64, at, blocks_len + 1, 400_000).unwrap();
        let mut s = w2.scan();
        s.feed(&head);
        assert!(s.finish(crc).is_err());
        let mut w = w;
        for _round in 0..2 {
            let mut got = Vec::new();
            let mut befores = Vec::new();
            while w.has_more() {
                let (from, len) = w.next_bytes();
                w.advance(&head[from as usize..(from + len) as usize])
                    .unwrap();
                assert_eq!(w.first_index(), got.len());
                befores.push(w.before());
                got.extend_from_slice(w.window());
                assert!(w.window().len() <= HEAD_WINDOW);
            }
            assert_eq!(got, want);
            assert_eq!(befores[1], Some(want[HEAD_WINDOW - 1].last));
            w.rewind();
        }
    }

    #[test]
    fn term_pages_front_coded_with_restarts() {
        let mut firsts: Vec<Vec<u8>> = (0..50u32)
            .map(|i| format!("{}{}", "ab".repeat((i % 7) as usize), i * 37 % 101).into_bytes())
            .collect();
        firsts.sort();
        firsts.dedup();
        let root = Root {
            tokenizer: "t".into(),
            terms: firsts
                .iter()
                .map(|f| TermPageRef {
                    stored_len: 10,
                    raw_len: 20,
                    terms: 2,
                    post_len: 3,
                    first: f.clone(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        };
        let n = firsts.len() as u64;
        let head = Head {
            term_count: 2 * n as u32,
            root_len: 100,
            ..Default::default()
        };
        let len = HEADER_LEN as u64 + 100 + 13 * n;
        let raw = root.encode();
        let (_, pages) = Root::decode_compact(&raw, &head, len).unwrap();
        assert_eq!(
            Root::decode(&raw, &head, len).unwrap().terms[7].first,
            firsts[7]
        );
        assert!(pages.firsts.len() < firsts.iter().map(Vec::len).sum::<usize>());
        for (i, f) in firsts.iter().enumerate() {
            assert_eq!(pages.first(i).as_ref(), Some(f));
            let mut probes = vec![
                f.clone(),
                [&f[..], b"0"].concat(),
                f[..f.len() - 1].to_vec(),
            ];
            probes.push(b"a".to_vec());
            for t in probes {
                let want = firsts.partition_point(|x| *x <= t).checked_sub(1);
                assert_eq!(
                    pages.page_of_term(&t),
                    want,
                    "{:?}",
                    String::from_utf8_lossy(&t)
                );
            }
        }
        assert_eq!(pages.page_of_term(b"zzz"), Some(firsts.len() - 1));
    }

    #[test]
    fn postings_round_trip() {
        let p = [(3, 1), (5, 2), (6, 1), (1000, 70000)];
        let mut b = Vec::new();
        put_postings(&mut b, None, &p);
        assert_eq!(decode_block(&b, None, 4, 1001).unwrap(), p);
        assert!(decode_block(&b, None, 4, 1000).is_err());
        assert!(decode_block(&b, None, 3, 1001).is_err());
    }
}
