//! Full-text search (spec §15): [`Archive::search`](crate::Archive::search) answers from
//! the SEARCH section — its header, root, term pages, postings, norms and document pages —
//! and reads entries only to check phrases and to cut snippets.
//!
//! Nothing here trusts the section: the header is checked against a CRC that the prelude's
//! CRCs of INDEX and DATA seal, the root against the header's CRC, every page and list
//! against the root's or its term record's; each is parsed whole when first read, and a
//! block is decoded at most once per query. A query's work is bounded by the section's
//! size plus, for phrases and snippets, the text of the entries it checks.

// Without the `fulltext` feature only term lookups are built: text queries need the analyzer.
#![cfg_attr(not(feature = "fulltext"), allow(dead_code))]

use std::borrow::Cow;
use std::ops::Range;
use std::sync::{Arc, Mutex, OnceLock};

use super::suggest::PageCache;
use super::Ctx;
use crate::error::{DamageKind, Location, ReadError, ReadResult, Rule};
use crate::format::search::{
    self, decode_block_into, decode_docs, decode_head, decode_terms, unstore, Bm25, DocRow, Head,
    HeadWindows, Postings, Root, TermPage, TermPages, TermRecord, BLOCK_POSTINGS, MAX_PAGE_RAW,
    MAX_ROOT_RAW,
};
use crate::format::SectionId;

/// A remote full-text index this small is fetched whole by the first search.
const WHOLE_REMOTE: u64 = 1 << 20;
/// The first read of a larger remote index: the header and, usually, the root.
const HEAD_REMOTE: u64 = 64 << 10;
/// A remote key index this small is fetched whole with the full-text index's header, by
/// the first search with snippets (which reads entries by number): its nodes are then in
/// hand when the results are known, and their blocks are asked for with their document
/// pages. In a larger one, the level under the root is, when its branches take at most
/// this much.
const WHOLE_INDEX: u64 = 256 << 10;
/// A list this short is fetched whole (one range); a longer one block by block.
const WHOLE_LIST: u64 = 256 << 10;
/// Over a URL, a term page's lists are fetched with it when they take at most this many
/// bytes together (§15.9 step 3).
const POSTINGS_AHEAD: u64 = 64 << 10;
/// A head this short is decoded whole; a longer one is checked by a streaming pass and then
/// decoded a window at a time (§15.10's limits: 64 lists of 6 million postings would hold
/// 144 MB of whole heads).
const WHOLE_HEAD: u64 = 4 << 10;
/// The pieces a long head's streaming check reads.
const HEAD_PIECE: u64 = 16 << 10;
/// Norms chunks and document pages kept decoded, of each kind.
const PAGE_CACHE: usize = 64;
/// Heap the decoded pages of each kind may take.
const PAGE_CACHE_BYTES: usize = 8 << 20;
/// Term pages kept decoded: a dictionary of ~100 pages (news: 1.8 MB of index) read by
/// varied queries cycled through a cache of 64, oldest out first, so that a warm title
/// query decoded ~3 pages (190 µs p50 against 22 µs for a one-word query).
const TERM_CACHE: usize = 1024;
/// Heap the decoded term pages may take.
const TERM_CACHE_BYTES: usize = 16 << 20;
/// Most results a search returns (§15.10's heap bound).
pub const MAX_RESULTS: usize = 10_000;
/// Candidates a search with phrases checks against their text, at most, beyond its limit.
pub const PHRASE_BUDGET: usize = 1000;
/// Tokens in a snippet's window.
const SNIPPET_TOKENS: usize = 30;
/// Longest snippet, in bytes.
const SNIPPET_BYTES: usize = 400;

/// A snippet of a result's text with the query's words marked.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Snippet {
    /// The text: a window of the entry's text (line breaks as spaces), with `…` before
    /// and after when it is cut from a longer text.
    pub text: String,
    /// The byte ranges of `text` that hold a query's word, in order, not overlapping.
    pub marks: Vec<Range<usize>>,
}

impl Snippet {
    /// The snippet as HTML: text escaped (`&`, `<`, `>`, `"`, `'`), marks in `<b>…</b>`.
    ///
    /// ```
    /// let s = quire::Snippet { text: "a <cat> sat".into(), marks: vec![3..6] };
    /// assert_eq!(s.to_html(), "a &lt;<b>cat</b>&gt; sat");
    /// ```
    pub fn to_html(&self) -> String {
        self.marked("<b>", "</b>", true)
    }

    /// The snippet with marks between `open` and `close`, escaped for HTML or not.
    pub fn marked(&self, open: &str, close: &str, html: bool) -> String {
        let mut out = String::with_capacity(self.text.len() + 16);
        let push = |out: &mut String, s: &str| {
            if html {
                for c in s.chars() {
                    match c {
                        '&' => out.push_str("&amp;"),
                        '<' => out.push_str("&lt;"),
                        '>' => out.push_str("&gt;"),
                        '"' => out.push_str("&quot;"),
                        '\'' => out.push_str("&#39;"),
                        c => out.push(c),
                    }
                }
            } else {
                out.push_str(s);
            }
        };
        let mut at = 0;
        for m in &self.marks {
            if m.start < at || m.end > self.text.len() {
                continue;
            }
            let (Some(before), Some(word)) = (self.text.get(at..m.start), self.text.get(m.clone()))
            else {
                continue;
            };
            push(&mut out, before);
            out.push_str(open);
            push(&mut out, word);
            out.push_str(close);
            at = m.end;
        }
        push(&mut out, self.text.get(at..).unwrap_or_default());
        out
    }
}

/// One search result.
///
/// Owned data, so that results outlive the archive's borrow (and cross to Python and C).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SearchHit {
    /// The entry's number (key order): [`Archive::get_by_index`](crate::Archive::get_by_index).
    pub index: u64,
    /// The entry's key.
    pub key: String,
    /// Its title (spec §15.1's title field: the entry's title, or an HTML page's `<title>`).
    pub title: Option<String>,
    /// Its BM25 score in the integers of spec §15.2 (`score · ln 2 / 2^32` is BM25 with
    /// natural logarithms: [`bm25`](Self::bm25)).
    pub score: u64,
    /// A window of its text with the query's words marked.
    pub snippet: Snippet,
}

impl SearchHit {
    /// The score as classic BM25 (natural logarithms).
    pub fn bm25(&self) -> f64 {
        self.score as f64 * std::f64::consts::LN_2 / 4_294_967_296.0
    }
}

/// The header and root, read on first use.
pub(crate) struct Loaded {
    section: Range<u64>,
    head: Head,
    /// The root, its term pages apart (`root.terms` is empty).
    root: Root,
    pages: TermPages,
}

/// What an archive keeps of its full-text index.
pub(crate) struct SearchState {
    loaded: OnceLock<Arc<Loaded>>,
    /// Ranges of the key index asked for with the header (see [`WHOLE_INDEX`]).
    index_ahead: OnceLock<Vec<Range<u64>>>,
    terms: Mutex<PageCache<TermPage>>,
    norms: Mutex<PageCache<Vec<u8>>>,
    docs: Mutex<PageCache<Vec<Option<DocRow>>>>,
}

impl Default for SearchState {
    fn default() -> Self {
        SearchState {
            loaded: OnceLock::new(),
            index_ahead: OnceLock::new(),
            terms: Mutex::new(PageCache::new(TERM_CACHE, TERM_CACHE_BYTES)),
            norms: Mutex::new(PageCache::new(PAGE_CACHE, PAGE_CACHE_BYTES)),
            docs: Mutex::new(PageCache::new(PAGE_CACHE, PAGE_CACHE_BYTES)),
        }
    }
}

fn damaged(at: u64, kind: DamageKind) -> ReadError {
    ReadError::damaged(Location::SearchIndex(at), kind)
}

/// A block of a list: where it lies and what the reader knows of it before decoding.
#[derive(Debug, Clone, Copy)]
struct BlockMeta {
    offset: u64,
    len: u32,
    crc: u32,
    /// Postings in it.
    n: usize,
    /// Its last document, from the head (lists with one).
    last: Option<u32>,
    /// Its bound, from the head.
    bound: Option<(u32, u8)>,
}

/// A term's postings being read: the blocks, and the one decoded last.
struct List {
    /// Every block, or for a long head the window's.
    blocks: Vec<BlockMeta>,
    /// A long head, read a window at a time: its offset from the section's start, the
    /// list's `df`, its windows.
    head: Option<(u64, u32, HeadWindows)>,
    current: Option<(usize, Vec<(u32, u32)>)>,
}

impl List {
    /// Blocks in the list.
    fn len(&self) -> usize {
        self.head
            .as_ref()
            .map_or(self.blocks.len(), |h| h.2.count())
    }

    /// The list's number of `blocks[0]`.
    fn start(&self) -> usize {
        self.head.as_ref().map_or(0, |h| h.2.first_index())
    }
}

/// Postings in block `i` of `m` of a list of `df`.
fn block_postings(df: u32, i: usize, m: usize) -> usize {
    if i + 1 < m {
        BLOCK_POSTINGS
    } else {
        (df as usize).saturating_sub(BLOCK_POSTINGS * (m - 1))
    }
}

impl<'a> Ctx<'a> {
    /// The SEARCH section's range, if the archive has exactly one; an error if it has more.
    fn search_section(&self) -> ReadResult<Option<Range<u64>>> {
        let mut found = None;
        for r in &self.st.layout.records {
            if r.id == search::SECTION_ID {
                if found.is_some() {
                    return Err(damaged(r.offset, DamageKind::Violates(Rule::UniqueSection)));
                }
                found = r.range();
            }
        }
        Ok(found)
    }

    /// Whether the section table lists a full-text index (nothing is read).
    pub(crate) fn has_search_index(&self) -> bool {
        self.st
            .layout
            .records
            .iter()
            .any(|r| r.id == search::SECTION_ID)
    }

    /// The header and root, read and checked on first use.
    fn search_index(&self) -> ReadResult<Arc<Loaded>> {
        self.search_index_for(false)
    }

    /// The header and root, read and checked on first use; over a network, when `entries`
    /// (the search will read its results' entries), asked for together with what reading
    /// entries by number needs: the dictionary, and the key index or its upper level
    /// ([`WHOLE_INDEX`]).
    fn search_index_for(&self, entries: bool) -> ReadResult<Arc<Loaded>> {
        if let Some(l) = self.st.search.loaded.get() {
            return Ok(Arc::clone(l));
        }
        let loaded = Arc::new(self.load_search(entries)?);
        Ok(Arc::clone(self.st.search.loaded.get_or_init(|| loaded)))
    }

    /// The ranges of the key index worth asking for ahead of reading entries by number:
    /// all of it when it takes at most [`WHOLE_INDEX`], else, when the root's children are
    /// branches (`index_depth ≥ 2`), those branches when they do (they lie back to back and
    /// end where INDEX does, §6.4, which opening checked).
    fn index_ahead(&self) -> Vec<Range<u64>> {
        let index = self.st.layout.range(SectionId::Index);
        if index.is_empty() {
            return Vec::new();
        }
        if index.end - index.start <= WHOLE_INDEX {
            return vec![index];
        }
        match &self.st.layout.root {
            super::nodes::Node::Branch(b) if b.level >= 1 => {
                let start = b
                    .children
                    .first()
                    .map_or(index.end, |c| index.start.saturating_add(c.offset))
                    .min(index.end);
                if start < index.end && index.end - start <= WHOLE_INDEX {
                    let whole = start..index.end;
                    vec![whole]
                } else {
                    Vec::new()
                }
            }
            _ => Vec::new(),
        }
    }

    fn load_search(&self, entries: bool) -> ReadResult<Loaded> {
        let section = self.search_section()?.ok_or(ReadError::NoSearchIndex)?;
        let len = section.end - section.start;
        if len < search::HEADER_LEN as u64 {
            return Err(damaged(
                section.start,
                DamageKind::Violates(Rule::RecordBounds),
            ));
        }
        if self.src.is_remote() {
            let first = if len <= WHOLE_REMOTE {
                len
            } else {
                len.min(HEAD_REMOTE)
            };
            let head = section.start..section.start + first;
            let mut ranges = vec![head];
            if entries {
                let ahead = self.index_ahead();
                ranges.extend(ahead.iter().cloned());
                let dict = self.st.layout.range(SectionId::Dict);
                if !dict.is_empty() && self.st.dict.get().is_none() {
                    ranges.push(dict);
                }
                let _ = self.st.search.index_ahead.set(ahead);
            }
            // One step (§15.9): the reads below join these fetches.
            self.src.prefetch(&super::nodes::coalesce(ranges));
            self.read(section.start, first as usize)?;
        }
        let crc = |id| self.st.layout.record(id).map_or(0, |r| r.crc);
        let header = self.read(section.start, search::HEADER_LEN)?;
        let head = match Head::decode(&header, crc(SectionId::Index), crc(SectionId::Data), len) {
            Err(DamageKind::ChecksumMismatch) => {
                return Err(self.checksum_failed(Location::SearchIndex(section.start)))
            }
            r => r.map_err(|k| damaged(section.start, k))?,
        };
        if u64::from(head.entries) != self.header().entry_count {
            return Err(damaged(
                section.start,
                DamageKind::Violates(Rule::EntryCount),
            ));
        }
        let at = section.start + search::HEADER_LEN as u64;
        let stored = self.read(at, head.root_len as usize)?;
        let raw =
            self.search_unstore(at, &stored, head.root_raw_len, head.root_crc, MAX_ROOT_RAW)?;
        let (root, pages) = Root::decode_compact(&raw, &head, len).map_err(|k| damaged(at, k))?;
        Ok(Loaded {
            section,
            head,
            root,
            pages,
        })
    }

    fn search_unstore(
        &self,
        at: u64,
        stored: &[u8],
        raw_len: u32,
        crc: u32,
        cap: usize,
    ) -> ReadResult<Vec<u8>> {
        match unstore(stored, raw_len, crc, cap) {
            Ok(raw) => Ok(raw),
            Err(DamageKind::ChecksumMismatch) => {
                Err(self.checksum_failed(Location::SearchIndex(at)))
            }
            Err(k) => Err(damaged(at, k)),
        }
    }

    /// Bytes of the section, checked against a CRC32.
    fn search_bytes(
        &self,
        l: &Loaded,
        offset: u64,
        len: u64,
        crc: u32,
    ) -> ReadResult<Cow<'a, [u8]>> {
        let at = l.section.start + offset;
        let end = offset.checked_add(len);
        if end.is_none_or(|e| e > l.section.end - l.section.start) {
            return Err(damaged(at, DamageKind::Violates(Rule::RecordBounds)));
        }
        let bytes = self.read(at, len as usize)?;
        if crate::format::crc32(&bytes) != crc {
            return Err(self.checksum_failed(Location::SearchIndex(at)));
        }
        Ok(bytes)
    }

    /// Term page `i`, from the cache or read and checked whole.
    fn term_page(&self, l: &Loaded, i: usize) -> ReadResult<Arc<TermPage>> {
        self.st.counters.search_node();
        if let Some(p) = self
            .st
            .search
            .terms
            .lock()
            .ok()
            .and_then(|c| c.get(i as u32))
        {
            return Ok(p);
        }
        let bad = || damaged(l.section.start, DamageKind::Violates(Rule::RecordBounds));
        let r = l.pages.get(i).ok_or_else(bad)?;
        let at = l.section.start + r.offset;
        let stored = self.read(at, r.stored_len as usize)?;
        let raw = self.search_unstore(at, &stored, r.raw_len, r.crc, MAX_PAGE_RAW)?;
        let next = l.pages.first(i + 1);
        let page =
            Arc::new(decode_terms(&raw, &r, next.as_deref(), &l.head).map_err(|k| damaged(at, k))?);
        let weight = page
            .records
            .iter()
            .map(|r| {
                64 + r.term.len()
                    + match &r.postings {
                        Postings::Inline(p) => 8 * p.len(),
                        _ => 0,
                    }
            })
            .sum();
        if let Ok(mut c) = self.st.search.terms.lock() {
            c.put(i as u32, Arc::clone(&page), weight);
        }
        Ok(page)
    }

    /// Norms chunk `i`.
    fn norms_chunk(&self, l: &Loaded, i: usize) -> ReadResult<Arc<Vec<u8>>> {
        self.st.counters.search_node();
        if let Some(p) = self
            .st
            .search
            .norms
            .lock()
            .ok()
            .and_then(|c| c.get(i as u32))
        {
            return Ok(p);
        }
        let bad = || damaged(l.section.start, DamageKind::Violates(Rule::RecordBounds));
        let r = l.root.norms.get(i).ok_or_else(bad)?;
        let at = l.section.start + r.offset;
        let stored = self.read(at, r.stored_len as usize)?;
        let raw = Arc::new(self.search_unstore(at, &stored, r.raw_len, r.crc, MAX_PAGE_RAW)?);
        if let Ok(mut c) = self.st.search.norms.lock() {
            c.put(i as u32, Arc::clone(&raw), raw.len());
        }
        Ok(raw)
    }

    /// Document page `i`.
    fn doc_page(&self, l: &Loaded, i: usize) -> ReadResult<Arc<Vec<Option<DocRow>>>> {
        self.st.counters.search_node();
        if let Some(p) = self
            .st
            .search
            .docs
            .lock()
            .ok()
            .and_then(|c| c.get(i as u32))
        {
            return Ok(p);
        }
        let bad = || damaged(l.section.start, DamageKind::Violates(Rule::RecordBounds));
        let r = l.root.docs.get(i).ok_or_else(bad)?;
        let at = l.section.start + r.offset;
        let stored = self.read(at, r.stored_len as usize)?;
        let raw = self.search_unstore(at, &stored, r.raw_len, r.crc, MAX_PAGE_RAW)?;
        let rows = Arc::new(decode_docs(&raw, r.rows).map_err(|k| damaged(at, k))?);
        let weight = rows
            .iter()
            .map(|r| {
                48 + r
                    .as_ref()
                    .map_or(0, |r| r.key.len() + r.title.as_ref().map_or(0, String::len))
            })
            .sum();
        if let Ok(mut c) = self.st.search.docs.lock() {
            c.put(i as u32, Arc::clone(&rows), weight);
        }
        Ok(rows)
    }

    /// Tells a remote source that the document pages of `docs` not in the cache are about to
    /// be read (one range where they are neighbours).
    fn prefetch_doc_pages(&self, l: &Loaded, docs: impl Iterator<Item = u32>) {
        if !self.src.is_remote() {
            return;
        }
        let ranges = self.doc_page_ranges(l, docs);
        if !ranges.is_empty() {
            self.src.prefetch(&ranges);
        }
    }

    /// The stored ranges of the document pages of `docs` that the cache lacks (one range
    /// where they are neighbours).
    fn doc_page_ranges(&self, l: &Loaded, docs: impl Iterator<Item = u32>) -> Vec<Range<u64>> {
        let mut pages: Vec<usize> = docs.filter_map(|d| l.root.page_of_doc(d)).collect();
        pages.sort_unstable();
        pages.dedup();
        let cached = |i: usize| {
            self.st
                .search
                .docs
                .lock()
                .ok()
                .is_some_and(|c| c.get(i as u32).is_some())
        };
        let mut ranges: Vec<Range<u64>> = Vec::new();
        for i in pages.into_iter().filter(|&i| !cached(i)) {
            if let Some(r) = l.root.docs.get(i) {
                let start = l.section.start + r.offset;
                let end = start + u64::from(r.stored_len);
                match ranges.last_mut() {
                    Some(last) if last.end == start => last.end = end,
                    _ => ranges.push(start..end),
                }
            }
        }
        ranges
    }

    /// Row `d`: an indexed document's key and title.
    fn doc_row(&self, l: &Loaded, d: u32) -> ReadResult<DocRow> {
        let bad = || damaged(l.section.start, DamageKind::Violates(Rule::RecordBounds));
        let i = l.root.page_of_doc(d).ok_or_else(bad)?;
        let first = l.root.docs.get(i).ok_or_else(bad)?.first_row;
        let page = self.doc_page(l, i)?;
        match page.get((d - first) as usize) {
            Some(Some(r)) => Ok(r.clone()),
            _ => Err(damaged(
                l.section.start + l.root.docs[i].offset,
                DamageKind::Violates(Rule::EntryCount),
            )),
        }
    }

    /// The record of `term`, if the dictionary holds it.
    fn term_record(&self, l: &Loaded, term: &[u8]) -> ReadResult<Option<TermRecord>> {
        let Some(i) = l.pages.page_of_term(term) else {
            return Ok(None);
        };
        Ok(self.term_page(l, i)?.find(term).cloned())
    }

    /// A term's list, ready to read (its head read and checked, for a long one).
    fn open_list(&self, l: &Loaded, rec: &TermRecord) -> ReadResult<List> {
        let df = rec.df;
        let blocks = match &rec.postings {
            Postings::Inline(p) => {
                return Ok(List {
                    blocks: vec![BlockMeta {
                        offset: 0,
                        len: 0,
                        crc: 0,
                        n: p.len(),
                        last: None,
                        bound: None,
                    }],
                    head: None,
                    current: Some((0, p.clone())),
                })
            }
            Postings::Block { offset, len, crc } => vec![BlockMeta {
                offset: *offset,
                len: *len,
                crc: *crc,
                n: df as usize,
                last: None,
                bound: None,
            }],
            Postings::Headed {
                offset,
                head_len,
                list_len,
                crc,
            } => {
                self.st.counters.search_node();
                if *list_len <= WHOLE_LIST && self.src.is_remote() {
                    self.src.prefetch(std::slice::from_ref(
                        &(l.section.start + offset..l.section.start + offset + list_len),
                    ));
                }
                let at = offset + u64::from(*head_len);
                if u64::from(*head_len) > WHOLE_HEAD {
                    return self.open_long_head(l, df, *offset, *head_len, *list_len, *crc);
                }
                let head = self.search_bytes(l, *offset, u64::from(*head_len), *crc)?;
                let entries = decode_head(
                    &head,
                    df,
                    at,
                    list_len - u64::from(*head_len),
                    l.head.entries,
                )
                .map_err(|k| damaged(l.section.start + offset, k))?;
                let m = entries.len();
                entries
                    .iter()
                    .enumerate()
                    .map(|(i, e)| BlockMeta {
                        offset: e.offset,
                        len: e.len,
                        crc: e.crc,
                        n: block_postings(df, i, m),
                        last: Some(e.last),
                        bound: Some((e.max_tf, e.max_norm)),
                    })
                    .collect()
            }
        };
        Ok(List {
            blocks,
            head: None,
            current: None,
        })
    }

    /// A list with a long head: the head checked whole by a streaming pass (CRC and entries,
    /// §15.10), then its first window decoded.
    fn open_long_head(
        &self,
        l: &Loaded,
        df: u32,
        offset: u64,
        head_len: u32,
        list_len: u64,
        crc: u32,
    ) -> ReadResult<List> {
        let at = l.section.start + offset;
        let head_len = u64::from(head_len);
        if offset
            .checked_add(list_len)
            .is_none_or(|e| e > l.section.end - l.section.start)
        {
            return Err(damaged(at, DamageKind::Violates(Rule::RecordBounds)));
        }
        let windows = HeadWindows::new(
            df,
            head_len,
            offset + head_len,
            list_len - head_len,
            l.head.entries,
        )
        .map_err(|k| damaged(at, k))?;
        if self.src.is_remote() && list_len > WHOLE_LIST {
            self.src
                .prefetch(std::slice::from_ref(&(at..at + head_len)));
        }
        let mut scan = windows.scan();
        let mut done = 0;
        while done < head_len {
            let n = (head_len - done).min(HEAD_PIECE);
            scan.feed(&self.read(at + done, n as usize)?);
            done += n;
        }
        match scan.finish(crc) {
            Err(DamageKind::ChecksumMismatch) => {
                return Err(self.checksum_failed(Location::SearchIndex(at)))
            }
            r => r.map_err(|k| damaged(at, k))?,
        }
        let mut list = List {
            blocks: Vec::new(),
            head: Some((offset, df, windows)),
            current: None,
        };
        self.block_meta(l, &mut list, 0)?;
        Ok(list)
    }

    /// Block `i` of `list` and the last document before it, decoding the head's window that
    /// holds it (moving forward; from the head's start again to move back).
    fn block_meta(
        &self,
        l: &Loaded,
        list: &mut List,
        i: usize,
    ) -> ReadResult<(BlockMeta, Option<u32>)> {
        let bad = || damaged(l.section.start, DamageKind::Violates(Rule::RecordBounds));
        let Some((offset, df, w)) = &mut list.head else {
            let b = *list.blocks.get(i).ok_or_else(bad)?;
            let base = i.checked_sub(1).and_then(|j| list.blocks.get(j)?.last);
            return Ok((b, base));
        };
        if i >= w.count() {
            return Err(bad());
        }
        if i < w.first_index() {
            w.rewind();
        }
        while w.window().is_empty() || i >= w.first_index() + w.window().len() {
            let at = l.section.start + *offset;
            let (from, len) = w.next_bytes();
            self.st.counters.search_node();
            let bytes = self.read(at + from, len as usize)?;
            w.advance(&bytes).map_err(|k| damaged(at, k))?;
            let (first, m) = (w.first_index(), w.count());
            let df = *df;
            list.blocks = w
                .window()
                .iter()
                .enumerate()
                .map(|(k, e)| BlockMeta {
                    offset: e.offset,
                    len: e.len,
                    crc: e.crc,
                    n: block_postings(df, first + k, m),
                    last: Some(e.last),
                    bound: Some((e.max_tf, e.max_norm)),
                })
                .collect();
        }
        let k = i - w.first_index();
        let base = match k {
            0 => w.before(),
            _ => list.blocks.get(k - 1).and_then(|b| b.last),
        };
        Ok((*list.blocks.get(k).ok_or_else(bad)?, base))
    }

    /// Block `i` of `list`, decoded (and kept as the list's current block).
    fn postings_block<'l>(
        &self,
        l: &Loaded,
        list: &'l mut List,
        i: usize,
    ) -> ReadResult<&'l [(u32, u32)]> {
        if list.current.as_ref().is_none_or(|(j, _)| *j != i) {
            let (b, base) = self.block_meta(l, list, i)?;
            self.st.counters.search_node();
            let bytes = self.search_bytes(l, b.offset, b.len.into(), b.crc)?;
            let at = l.section.start + b.offset;
            // The last block's buffer, reused (taken out first: a failed decode leaves no
            // current block).
            let mut p = list.current.take().map(|c| c.1).unwrap_or_default();
            decode_block_into(&bytes, base, b.n, l.head.entries, &mut p)
                .map_err(|k| damaged(at, k))?;
            if b.last.is_some() && p.last().map(|x| x.0) != b.last {
                return Err(damaged(at, DamageKind::Violates(Rule::KeyOrder)));
            }
            list.current = Some((i, p));
        }
        Ok(list.current.as_ref().map_or(&[][..], |(_, p)| p.as_slice()))
    }

    /// The block of `list` (its place in `list.blocks`) that would hold document `d`, read
    /// from the head alone (no block decoded); `None` past the list's last document.
    /// Documents asked for must not decrease (a long head's windows move forward); `hint`
    /// is where the last answer was (the window's first block, the place), so that moving
    /// forward costs a step or two rather than a search.
    fn locate(
        &self,
        l: &Loaded,
        list: &mut List,
        d: u32,
        hint: &mut (usize, usize),
    ) -> ReadResult<Option<usize>> {
        // A long head's windows move forward until one reaches `d`.
        while list.head.as_ref().is_some_and(|h| h.2.has_more())
            && list
                .blocks
                .last()
                .is_some_and(|b| b.last.is_some_and(|x| x < d))
        {
            let next = list.start() + list.blocks.len();
            self.block_meta(l, list, next)?;
        }
        let below = |b: &BlockMeta| b.last.is_some_and(|x| x < d);
        let mut i = if hint.0 == list.start() { hint.1 } else { 0 };
        let mut steps = 0;
        while list.blocks.get(i).is_some_and(below) {
            i += 1;
            steps += 1;
            if steps == 4 {
                i += list.blocks.get(i..).map_or(0, |r| r.partition_point(below));
                break;
            }
        }
        *hint = (list.start(), i);
        Ok((i < list.blocks.len()).then_some(i))
    }

    /// The `tf` of document `d` in block `i` of `list` (as [`locate`](Self::locate) found
    /// it), decoding the block unless it is the current one.
    fn tf_in(&self, l: &Loaded, list: &mut List, i: usize, d: u32) -> ReadResult<Option<u32>> {
        let p = self.postings_block(l, list, list.start() + i)?;
        Ok(p.binary_search_by_key(&d, |x| x.0).ok().map(|j| p[j].1))
    }

    /// Every posting of `term` (document, tf), or `None` when the dictionary does not hold
    /// it: a term lookup, which needs no tokenizer (§15.5).
    pub(crate) fn search_postings(&self, term: &str) -> ReadResult<Option<Vec<(u64, u32)>>> {
        let l = self.search_index()?;
        let Some(rec) = self.term_record(&l, term.as_bytes())? else {
            return Ok(None);
        };
        let mut list = self.open_list(&l, &rec)?;
        let mut out = Vec::with_capacity(rec.df.min(1 << 16) as usize);
        for i in 0..list.len() {
            out.extend(
                self.postings_block(&l, &mut list, i)?
                    .iter()
                    .map(|&(d, t)| (u64::from(d), t)),
            );
        }
        Ok(Some(out))
    }

    /// The tokenizer string the archive's full-text index records.
    pub(crate) fn search_tokenizer(&self) -> ReadResult<String> {
        Ok(self.search_index()?.root.tokenizer.clone())
    }

    /// Candidates matching every term, best first, at most `keep`: (score, document).
    fn search_candidates(
        &self,
        l: &Loaded,
        terms: &[String],
        keep: usize,
    ) -> ReadResult<Vec<(u64, u32)>> {
        let bm25: Bm25 = l.head.bm25();
        if self.src.is_remote() {
            // The terms' pages together, with the one norms chunk of a small archive (§15.9).
            let cached = |i: usize| {
                self.st
                    .search
                    .terms
                    .lock()
                    .ok()
                    .is_some_and(|c| c.get(i as u32).is_some())
            };
            let mut pages: Vec<usize> = terms
                .iter()
                .filter_map(|t| l.pages.page_of_term(t.as_bytes()))
                .filter(|&i| !cached(i))
                .collect();
            pages.sort_unstable();
            pages.dedup();
            // With each page, its lists when they are small together (a rare word's list
            // then needs no round trip of its own).
            let mut ranges: Vec<Range<u64>> = Vec::new();
            for r in pages.iter().filter_map(|&i| l.pages.get(i)) {
                let at = l.section.start;
                ranges.push(at + r.offset..at + r.offset + u64::from(r.stored_len));
                if (1..=POSTINGS_AHEAD).contains(&r.post_len) {
                    ranges.push(at + r.post_offset..at + r.post_offset + r.post_len);
                }
            }
            if let [n] = l.root.norms.as_slice() {
                ranges.push(
                    l.section.start + n.offset
                        ..l.section.start + n.offset + u64::from(n.stored_len),
                );
            }
            if !ranges.is_empty() {
                self.src.prefetch(&ranges);
            }
        }
        let mut lists = Vec::with_capacity(terms.len());
        for t in terms {
            let Some(rec) = self.term_record(l, t.as_bytes())? else {
                return Ok(Vec::new());
            };
            lists.push(rec);
        }
        lists.sort_by_key(|r| r.df);
        if self.src.is_remote() {
            // The lists (a head, or a list of at most 256 KiB whole) together: one round of
            // requests for all of them, not one a term.
            let len = l.section.end - l.section.start;
            let ranges: Vec<Range<u64>> = lists
                .iter()
                .filter_map(|rec| {
                    let (offset, n) = match &rec.postings {
                        Postings::Inline(_) => return None,
                        Postings::Block { offset, len, .. } => (*offset, u64::from(*len)),
                        Postings::Headed {
                            offset,
                            head_len,
                            list_len,
                            ..
                        } => (
                            *offset,
                            if *list_len <= WHOLE_LIST {
                                *list_len
                            } else {
                                u64::from(*head_len)
                            },
                        ),
                    };
                    let end = offset.checked_add(n).filter(|&e| e <= len)?;
                    Some(l.section.start + offset..l.section.start + end)
                })
                .collect();
            if ranges.len() > 1 {
                self.src.prefetch(&ranges);
            }
        }
        let mut lists: Vec<(List, u64)> = lists
            .iter()
            .map(|r| Ok((self.open_list(l, r)?, bm25.idf(r.df.into()))))
            .collect::<ReadResult<_>>()?;
        let mut heap: std::collections::BinaryHeap<(std::cmp::Reverse<u64>, u32)> =
            std::collections::BinaryHeap::new();
        let Some(((first, first_idf), rest)) = lists.split_first_mut() else {
            return Ok(Vec::new());
        };
        // Per other list: where `locate` last answered, and the block it gave for this
        // document.
        let mut hints = vec![(0usize, 0usize); rest.len()];
        let mut at = vec![0usize; rest.len()];
        // The norms chunk in hand (documents come in increasing order, so it changes at most
        // once per 65,536 of them), and each list's last block bound and its tfn (a bound is
        // the same for the 128 postings of a block).
        let mut chunk: Option<(u32, Arc<Vec<u8>>)> = None;
        let mut memo: Vec<Option<((u32, u8), u64)>> = vec![None; terms.len()];
        let mut bound_tfn = |k: usize, b: (u32, u8)| -> u64 {
            match memo.get(k).copied().flatten() {
                Some((m, v)) if m == b => v,
                _ => {
                    let v = bm25.tfn(b.0.into(), b.1);
                    if let Some(slot) = memo.get_mut(k) {
                        *slot = Some((b, v));
                    }
                    v
                }
            }
        };
        let bad_bounds = || damaged(l.section.start, DamageKind::Violates(Rule::RecordBounds));
        // Block-max pruning (§15.6, §15.9 step 5): once the heap is full, a block of the
        // rarest list, or a document, whose score cannot exceed the heap's worst (ties go
        // to the lower document, already in) is passed over on the heads' bounds: its
        // blocks, and the other lists' blocks, are not decoded.
        let floor = |heap: &std::collections::BinaryHeap<(std::cmp::Reverse<u64>, u32)>| {
            (heap.len() >= keep).then(|| heap.peek().map_or(0, |t| t.0 .0))
        };
        'block: for bi in 0..first.len() {
            let (meta0, base0) = self.block_meta(l, first, bi)?;
            let bound0 = meta0.bound;
            if let (Some(floor), Some(b0), Some(last)) = (floor(&heap), bound0, meta0.last) {
                // The block holds documents `lo ..= last`; the best it can score is its
                // bound's plus, in each other list, the best bound of the blocks over them.
                let lo = base0.map_or(0, |b| b.saturating_add(1));
                let mut best = first_idf.saturating_mul(bound_tfn(0, b0));
                for (k, (list, idf)) in rest.iter_mut().enumerate() {
                    let hint = hints.get_mut(k).ok_or_else(bad_bounds)?;
                    let Some(i) = self.locate(l, list, lo, hint)? else {
                        break 'block; // past this list's end: no later document matches
                    };
                    let mut top = 0u64;
                    let mut covered = false;
                    for b in list.blocks.get(i..).unwrap_or(&[]) {
                        let Some(bound) = b.bound else { break };
                        top = top.max(bound_tfn(k + 1, bound));
                        if b.last.is_some_and(|x| x >= last) {
                            covered = true;
                            break;
                        }
                    }
                    if !covered {
                        best = u64::MAX; // past the window, or no bounds: no pruning
                        break;
                    }
                    best = best.saturating_add(idf.saturating_mul(top));
                }
                if best <= floor {
                    continue;
                }
            }
            // The block's postings, out of the list while they are walked (and put back,
            // so that its buffer is reused for the next block).
            self.postings_block(l, first, bi)?;
            let postings = first.current.take().map(|c| c.1).unwrap_or_default();
            'doc: for &(d, tf) in &postings {
                // Where `d` would be in each other list (from the heads), and the best it
                // can score: its exact part in the first list, its blocks' bounds in the
                // others.
                let mut bounded = true;
                let mut best_rest = 0u64;
                for (k, (list, idf)) in rest.iter_mut().enumerate() {
                    let hint = hints.get_mut(k).ok_or_else(bad_bounds)?;
                    let Some(i) = self.locate(l, list, d, hint)? else {
                        break 'block; // past this list's end: no later document matches
                    };
                    if let Some(slot) = at.get_mut(k) {
                        *slot = i;
                    }
                    match list.blocks.get(i).and_then(|b| b.bound) {
                        Some(bound) => {
                            best_rest = best_rest
                                .saturating_add(idf.saturating_mul(bound_tfn(k + 1, bound)))
                        }
                        None => bounded = false,
                    }
                }
                let c = d / search::NORMS_CHUNK;
                if chunk.as_ref().is_none_or(|(i, _)| *i != c) {
                    chunk = Some((c, self.norms_chunk(l, c as usize)?));
                }
                let norm = chunk
                    .as_ref()
                    .and_then(|(_, n)| n.get((d % search::NORMS_CHUNK) as usize).copied())
                    .ok_or_else(bad_bounds)?;
                let tfn0 = bm25.tfn(tf.into(), norm);
                let floor = floor(&heap);
                if bounded && norm != 0 {
                    let best = first_idf.saturating_mul(tfn0).saturating_add(best_rest);
                    if floor.is_some_and(|f| best <= f) {
                        continue;
                    }
                }
                let mut score = 0u64;
                for (k, (list, idf)) in rest.iter_mut().enumerate() {
                    let i = at.get(k).copied().ok_or_else(bad_bounds)?;
                    let bound = list.blocks.get(i).and_then(|b| b.bound);
                    let Some(tf) = self.tf_in(l, list, i, d)? else {
                        continue 'doc;
                    };
                    if norm == 0 {
                        return Err(damaged(
                            l.section.start,
                            DamageKind::Violates(Rule::EntryCount),
                        ));
                    }
                    let tfn = bm25.tfn(tf.into(), norm);
                    if bound.is_some_and(|b| tfn > bound_tfn(k + 1, b)) {
                        return Err(bad_bounds());
                    }
                    score = score.saturating_add(idf.saturating_mul(tfn));
                }
                if norm == 0 {
                    return Err(damaged(
                        l.section.start,
                        DamageKind::Violates(Rule::EntryCount),
                    ));
                }
                if bound0.is_some_and(|b| tfn0 > bound_tfn(0, b)) {
                    return Err(bad_bounds());
                }
                score = score.saturating_add(first_idf.saturating_mul(tfn0));
                // Documents come in increasing order: a full heap keeps its worst unless
                // this one scores higher (a tie goes to the lower document, already in).
                let item = (std::cmp::Reverse(score), d);
                if heap.len() >= keep && heap.peek().is_some_and(|top| item >= *top) {
                    continue;
                }
                heap.push(item);
                if heap.len() > keep {
                    heap.pop();
                }
            }
            first.current = Some((bi, postings));
        }
        let mut out: Vec<(u64, u32)> = heap.into_iter().map(|(s, d)| (s.0, d)).collect();
        out.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        Ok(out)
    }
}

/// Faults full verification lists of a full-text index before it stops.
const MAX_ERRORS: usize = 64;

/// A posting's 128-bit hash, for full verification: the postings of the index and those
/// the text gives are compared by the wrapping sums of their hashes (order-free, in
/// constant memory).
fn posting_hash(term: &[u8], doc: u32, tf: u32) -> u128 {
    let mix = |seed: u64| {
        let mut h = seed;
        for &b in term {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01B3);
        }
        let mut x = h ^ (u64::from(doc) << 32 | u64::from(tf)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        x ^= x >> 30;
        x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x ^= x >> 27;
        x = x.wrapping_mul(0x94D0_49BB_1331_11EB);
        x ^ (x >> 31)
    };
    u128::from(mix(0xCBF2_9CE4_8422_2325)) << 64 | u128::from(mix(0x8422_2325_CBF2_9CE4))
}

impl Ctx<'_> {
    /// Full verification of the full-text index (§15.10's full-verification rows but the
    /// re-analysis of every entry): every term page, head, block, norms chunk and document
    /// page checked whole; `Σ df = posting_count`; every posting's norm not 0 and within its
    /// block's bound, each bound attained; the number of non-zero norms `doc_count`; rows
    /// INDEXED iff their norm is not 0, their keys the entries' keys and their titles the
    /// entries' titles (where the entry has one). The section's CRC is checked with the
    /// other sections'.
    pub(crate) fn verify_search(&self) -> Vec<ReadError> {
        // Not counted with the key index's nodes (whose walk counts each node once).
        let counted = self.st.counters.node_counts();
        let errs = self.verify_search_inner();
        self.st.counters.restore(counted);
        errs
    }

    fn verify_search_inner(&self) -> Vec<ReadError> {
        match self.search_section() {
            Ok(Some(_)) => {}
            Ok(None) => return Vec::new(),
            Err(e) => return vec![e],
        }
        let l = match self.search_index() {
            Ok(l) => l,
            Err(e) => return vec![e],
        };
        let mut errs = Vec::new();
        let start = l.section.start;
        let bm25 = l.head.bm25();
        // The norms, all of them (one byte a document).
        let mut norms: Vec<u8> = Vec::new();
        for i in 0..l.root.norms.len() {
            match self.norms_chunk(&l, i) {
                Ok(c) => norms.extend_from_slice(&c),
                Err(e) => return vec![e],
            }
        }
        let nonzero = norms.iter().filter(|&&n| n != 0).count() as u64;
        if nonzero != u64::from(l.head.doc_count) {
            errs.push(damaged(start, DamageKind::Violates(Rule::EntryCount)));
        }
        let mut postings_total = 0u64;
        let mut posting_sum = 0u128;
        'pages: for i in 0..l.pages.len() {
            let page = match self.term_page(&l, i) {
                Ok(p) => p,
                Err(e) => {
                    errs.push(e);
                    continue;
                }
            };
            for rec in &page.records {
                if errs.len() >= MAX_ERRORS {
                    break 'pages;
                }
                postings_total += u64::from(rec.df);
                let mut list = match self.open_list(&l, rec) {
                    Ok(list) => list,
                    Err(e) => {
                        errs.push(e);
                        continue;
                    }
                };
                for b in 0..list.len() {
                    let meta = match self.block_meta(&l, &mut list, b) {
                        Ok(m) => m.0,
                        Err(e) => {
                            errs.push(e);
                            break;
                        }
                    };
                    let at = start + meta.offset;
                    let p = match self.postings_block(&l, &mut list, b) {
                        Ok(p) => p.to_vec(),
                        Err(e) => {
                            errs.push(e);
                            break;
                        }
                    };
                    let mut best = 0u64;
                    for &(d, tf) in &p {
                        posting_sum = posting_sum.wrapping_add(posting_hash(&rec.term, d, tf));
                        let norm = norms.get(d as usize).copied().unwrap_or(0);
                        if norm == 0 {
                            errs.push(damaged(at, DamageKind::Violates(Rule::EntryCount)));
                            break;
                        }
                        best = best.max(bm25.tfn(tf.into(), norm));
                    }
                    if let Some((btf, bnorm)) = meta.bound {
                        if best != bm25.tfn(btf.into(), bnorm) {
                            errs.push(damaged(at, DamageKind::Violates(Rule::RecordBounds)));
                        }
                    }
                }
            }
        }
        if errs.is_empty() && postings_total != l.head.posting_count {
            errs.push(damaged(start, DamageKind::Violates(Rule::EntryCount)));
        }
        #[cfg(feature = "fulltext")]
        if errs.is_empty() {
            errs.extend(self.verify_search_text(&l, &norms, posting_sum));
        }
        for (i, r) in l.root.docs.iter().enumerate() {
            if errs.len() >= MAX_ERRORS {
                break;
            }
            let at = start + r.offset;
            let rows = match self.doc_page(&l, i) {
                Ok(rows) => rows,
                Err(e) => {
                    errs.push(e);
                    continue;
                }
            };
            for (j, row) in rows.iter().enumerate() {
                let d = r.first_row + j as u32;
                let indexed = norms.get(d as usize).is_some_and(|&n| n != 0);
                let Some(row) = row else {
                    if indexed {
                        errs.push(damaged(at, DamageKind::Violates(Rule::EntryFlags)));
                        break;
                    }
                    continue;
                };
                if !indexed {
                    errs.push(damaged(at, DamageKind::Violates(Rule::EntryFlags)));
                    break;
                }
                let Ok(e) = self.entry(d.into()) else {
                    // The entry's own damage is reported by the walk of the key index.
                    continue;
                };
                // The title field (§15.1): the entry's title, cut, none when it is empty.
                let title_ok = match e.title() {
                    Ok(Some(t)) => {
                        let t = crate::format::titles::cut(t, search::MAX_TEXT);
                        row.title.as_deref() == (!t.is_empty()).then_some(t)
                    }
                    // Without one, the HTML page's title.
                    #[cfg(feature = "fulltext")]
                    Ok(None) => self.html_title_field(&e).is_none_or(|h| row.title == h),
                    _ => true,
                };
                if e.key() != row.key || !title_ok {
                    errs.push(damaged(at, DamageKind::Violates(Rule::KeyOrder)));
                    break;
                }
            }
        }
        errs
    }
}

#[cfg(feature = "fulltext")]
mod text_queries {
    use super::*;
    use crate::text::{Analyzer, QueryPart, Token};
    use crate::writer::search_fields;
    use std::io::Read;

    /// An entry's fields, tokenized: title tokens, body text and its tokens.
    struct Fields {
        title: Vec<Token>,
        text: String,
        body: Vec<Token>,
    }

    /// Whether `tokens` hold `phrase` at consecutive positions (offsets from the first).
    fn has_phrase(tokens: &[Token], phrase: &[crate::text::PhraseTerm]) -> bool {
        let Some(first) = phrase.first() else {
            return true;
        };
        tokens.iter().any(|t| {
            t.term == first.term
                && phrase.iter().skip(1).all(|p| {
                    let want = t.position.checked_add(p.offset);
                    tokens
                        .binary_search_by_key(&want, |x| Some(x.position))
                        .is_ok_and(|j| tokens[j].term == p.term)
                })
        })
    }

    impl Ctx<'_> {
        fn entry_fields(&self, analyzer: &Analyzer, e: &crate::Entry<'_>) -> ReadResult<Fields> {
            let (title, text) = self.entry_text(e)?;
            Ok(Fields {
                title: title.map(|t| analyzer.tokens(&t)).unwrap_or_default(),
                body: analyzer.tokens(&text),
                text,
            })
        }

        /// An entry's title field and body text (§15.1), not analysed.
        fn entry_text(&self, e: &crate::Entry<'_>) -> ReadResult<(Option<String>, String)> {
            let title = e.title()?.map(str::to_owned);
            let ctype = e.content_type().to_owned();
            let max = crate::text::ExtractOptions::default().max_bytes as u64 + 1;
            let mut body = Vec::new();
            if crate::text::text_kind(&ctype) != crate::text::TextKind::Binary {
                e.reader()
                    .take(max)
                    .read_to_end(&mut body)
                    .map_err(|source| match source.into_inner() {
                        Some(inner) => match inner.downcast::<ReadError>() {
                            Ok(r) => *r,
                            Err(other) => ReadError::Io {
                                path: None,
                                source: std::io::Error::other(other),
                            },
                        },
                        None => ReadError::Io {
                            path: None,
                            source: std::io::Error::other("body read failed"),
                        },
                    })?;
            }
            let (title, text) = search_fields(title.as_deref(), &ctype, &body);
            Ok((title, text.unwrap_or_default()))
        }

        /// §15.2 and §15.9: the results of `query`, best first, at most `limit`.
        pub(crate) fn search(&self, query: &str, limit: usize) -> ReadResult<Vec<SearchHit>> {
            self.search_with(query, limit, true)
        }

        /// [`search`](Self::search), with snippets or without: without them and without
        /// phrases, no entry is read (keys and titles come from the document pages).
        pub(crate) fn search_with(
            &self,
            query: &str,
            limit: usize,
            snippets: bool,
        ) -> ReadResult<Vec<SearchHit>> {
            let l = self.search_index_for(snippets)?;
            if query.len() > search::MAX_QUERY {
                return Err(ReadError::InvalidQuery {
                    reason: "a query is at most 4096 bytes",
                });
            }
            let analyzer = Analyzer::from_identity(&l.root.tokenizer).ok_or_else(|| {
                ReadError::UnsupportedTokenizer {
                    tokenizer: l.root.tokenizer.clone(),
                }
            })?;
            let limit = limit.min(MAX_RESULTS);
            let parts = analyzer.analyze_query(query);
            let mut terms: Vec<String> = Vec::new();
            let mut phrases = Vec::new();
            for p in parts {
                match p {
                    QueryPart::Term(t) => terms.push(t),
                    QueryPart::Phrase(p) => {
                        terms.extend(p.iter().map(|t| t.term.clone()));
                        phrases.push(p);
                    }
                }
            }
            terms.sort();
            terms.dedup();
            if terms.len() > search::MAX_QUERY_TERMS {
                return Err(ReadError::InvalidQuery {
                    reason: "a query has at most 64 distinct terms",
                });
            }
            if terms.is_empty() || limit == 0 || l.head.doc_count == 0 {
                return Ok(Vec::new());
            }
            let keep = if phrases.is_empty() {
                limit
            } else {
                limit + PHRASE_BUDGET
            };
            let candidates = self.search_candidates(&l, &terms, keep)?;
            if !snippets && phrases.is_empty() {
                return self.search_rows(&l, &candidates);
            }
            let mut hits = Vec::new();
            let budget = candidates.len().min(limit + PHRASE_BUDGET);
            let mut next = 0;
            // In rounds: the rows and entries of as many candidates as results are still
            // wanted (entry `d` is document `d`: over a network their document pages, index
            // nodes and blocks asked for together, §15.9), each checked for its phrases.
            while hits.len() < limit && next < budget {
                let n = (limit - hits.len()).clamp(1, 64).min(budget - next);
                let round = &candidates[next..next + n];
                next += n;
                let docs: Vec<u32> = round.iter().map(|c| c.1).collect();
                let entries = self.search_entries(&l, &docs)?;
                let rows = docs
                    .iter()
                    .map(|&d| self.doc_row(&l, d))
                    .collect::<ReadResult<Vec<_>>>()?;
                for ((&(score, d), row), entry) in round.iter().zip(rows).zip(entries) {
                    let bad = || damaged(l.section.start, DamageKind::Violates(Rule::KeyOrder));
                    // The row's key must be the key of entry `d` (§15.8).
                    let e = entry?;
                    if e.index() != u64::from(d) || e.key() != row.key {
                        return Err(bad());
                    }
                    let snippet = if phrases.is_empty() {
                        // No phrase to check on the whole text: only as much of it is
                        // analysed as the snippet needs.
                        let (_, text) = self.entry_text(&e)?;
                        snippet_of(&analyzer, &text, &terms)
                    } else {
                        let fields = self.entry_fields(&analyzer, &e)?;
                        if !phrases
                            .iter()
                            .all(|p| has_phrase(&fields.title, p) || has_phrase(&fields.body, p))
                        {
                            continue;
                        }
                        if snippets {
                            snippet(&fields.text, &fields.body, &terms)
                        } else {
                            Snippet::default()
                        }
                    };
                    hits.push(SearchHit {
                        index: d.into(),
                        key: row.key,
                        title: row.title,
                        score,
                        snippet,
                    });
                    if hits.len() >= limit {
                        break;
                    }
                }
            }
            Ok(hits)
        }
    }

    impl<'a> Ctx<'a> {
        /// Entries `docs` (document `d` is entry `d`). Over a network, what they need is
        /// asked for in as few steps as the key index allows: their document pages with the
        /// first level of index nodes not in hand (one step per level, §15.9), then their
        /// blocks, with the dictionary the first time; when every node is in hand (a small
        /// key index, fetched with the search's header), the pages and the blocks together.
        fn search_entries(
            &self,
            l: &Loaded,
            docs: &[u32],
        ) -> ReadResult<Vec<ReadResult<crate::Entry<'a>>>> {
            let nums: Vec<u64> = docs.iter().map(|&d| u64::from(d)).collect();
            if !self.src.is_remote() {
                return Ok(nums.iter().map(|&d| self.entry(d)).collect());
            }
            let mut ranges = self.doc_page_ranges(l, docs.iter().copied());
            let ahead = self
                .st
                .search
                .index_ahead
                .get()
                .map_or(&[][..], Vec::as_slice);
            if let Some(e) = self.warm_entries(&nums, &mut ranges, ahead) {
                return Err(e);
            }
            let entries: Vec<_> = nums.iter().map(|&d| self.entry(d)).collect();
            let mut budget = super::super::many::PREFETCH_BUDGET;
            ranges.extend(self.block_ranges_of(entries.iter().flatten(), &mut budget));
            let ranges = super::super::nodes::coalesce(ranges);
            if !ranges.is_empty() {
                // Fetched while the first bodies are read; each read joins its fetch.
                self.src.prefetch(&ranges);
            }
            Ok(entries)
        }

        /// Results without snippets: the candidates' document rows (their pages asked for
        /// together), checked as §15.10 checks a result's row at search time (INDEXED);
        /// full verification checks the rows against the entries' keys.
        fn search_rows(&self, l: &Loaded, candidates: &[(u64, u32)]) -> ReadResult<Vec<SearchHit>> {
            self.prefetch_doc_pages(l, candidates.iter().map(|c| c.1));
            candidates
                .iter()
                .map(|&(score, d)| {
                    let row = self.doc_row(l, d)?;
                    Ok(SearchHit {
                        index: d.into(),
                        key: row.key,
                        title: row.title,
                        score,
                        snippet: Snippet::default(),
                    })
                })
                .collect()
        }
    }

    impl<S: crate::source::ByteSource> crate::Archive<S> {
        /// [`search`](crate::Archive::search) without snippets: the same results (key,
        /// title, score), each with an empty [`Snippet`]. Without quoted phrases only the
        /// full-text index is read (its document pages give keys and titles), no entry, so
        /// this is the cheaper call for a list of keys or titles (over a network, no key
        /// index and no data blocks). With phrases, candidates' texts are read to check
        /// them, as `search` does.
        ///
        /// ```
        /// use quire::{Archive, ArchiveWriter, IndexKind, NewEntry, WriterOptions};
        /// let opts = WriterOptions::new().index(IndexKind::Full).metadata("language", "eng");
        /// let mut w = ArchiveWriter::in_memory(opts)?;
        /// w.add(&NewEntry::new("a", b"Cats are running in the garden.").title("Cats"))?;
        /// w.add(&NewEntry::new("b", b"A dog runs.").title("Dogs"))?;
        /// let archive = Archive::new(w.finish_into_inner()?.0.into_inner())?;
        /// let hits = archive.search_keys("running cats", 10)?;
        /// assert_eq!(hits.len(), 1);
        /// assert_eq!((hits[0].key.as_str(), hits[0].title.as_deref()), ("a", Some("Cats")));
        /// assert!(hits[0].snippet.text.is_empty());
        /// assert_eq!(hits[0].score, archive.search("running cats", 10)?[0].score);
        /// # Ok::<(), Box<dyn std::error::Error>>(())
        /// ```
        pub fn search_keys(&self, query: &str, limit: usize) -> ReadResult<Vec<SearchHit>> {
            self.ctx().search_with(query, limit, false)
        }
    }

    impl Ctx<'_> {
        /// The title field (§15.1) of an entry without a title: its HTML page's title, if
        /// any. `None` when its body cannot be read (the walk of the key index reports it).
        pub(super) fn html_title_field(&self, e: &crate::Entry<'_>) -> Option<Option<String>> {
            if crate::text::text_kind(e.content_type()) != crate::text::TextKind::Html {
                return Some(None);
            }
            let max = crate::text::ExtractOptions::default().max_bytes as u64 + 1;
            let mut body = Vec::new();
            e.reader().take(max).read_to_end(&mut body).ok()?;
            Some(search_fields(None, e.content_type(), &body).0)
        }

        /// Full verification's analysis of the text (§15.10): each entry's fields analysed
        /// with the archive's tokenizer give its norm code, `token_sum`, and every posting
        /// (their hashes summed, to compare with `sum`, the index's). `None` when they
        /// agree, when the reader does not implement the tokenizer (not an error), or when
        /// an entry cannot be read (the walk of the key index reports that).
        pub(super) fn verify_search_text(
            &self,
            l: &Loaded,
            norms: &[u8],
            sum: u128,
        ) -> Option<ReadError> {
            let analyzer = Analyzer::from_identity(&l.root.tokenizer)?;
            let w = u32::from(l.head.title_weight);
            let bad = || damaged(l.section.start, DamageKind::Violates(Rule::RecordBounds));
            let (mut text_sum, mut tokens) = (0u128, 0u64);
            for d in 0..l.head.entries {
                let e = self.entry(d.into()).ok()?;
                let mut counts: std::collections::HashMap<String, u32> = Default::default();
                let mut dl = 0u64;
                // A type without text is not indexed, whatever its title (§15.1).
                if crate::text::text_kind(e.content_type()) != crate::text::TextKind::Binary {
                    let f = self.entry_fields(&analyzer, &e).ok()?;
                    for t in &f.title {
                        *counts.entry(t.term.clone()).or_insert(0) += w;
                        dl += u64::from(w);
                    }
                    for t in f.body {
                        *counts.entry(t.term).or_insert(0) += 1;
                        dl += 1;
                    }
                }
                if norms.get(d as usize) != Some(&search::norm_code(dl)) {
                    return Some(bad());
                }
                tokens += dl;
                for (t, tf) in counts {
                    text_sum = text_sum.wrapping_add(posting_hash(t.as_bytes(), d, tf));
                }
            }
            (tokens != l.head.token_sum || text_sum != sum).then(bad)
        }
    }

    /// A snippet's text is analysed a piece at a time, each ending at the first ASCII
    /// whitespace this many bytes or more into it.
    const SNIPPET_PIECE: usize = 2 << 10;

    /// [`snippet`] of `text`, analysing no more of it than it needs: a piece at a time,
    /// each ending at an ASCII whitespace (no word, CJK run or elision spans one, so the
    /// pieces' tokens are the whole text's), stopping at the first window that holds every
    /// query term and has two more tokens after it (the window `snippet` picks: it takes
    /// the earliest of those holding the most terms). Without one (a term that only the
    /// title holds, say), every piece is analysed once. The same snippet either way.
    fn snippet_of(analyzer: &Analyzer, text: &str, terms: &[String]) -> Snippet {
        let mut tokens: Vec<Token> = Vec::new();
        let mut hit: Vec<Option<usize>> = Vec::new();
        // Bytes analysed; the next window's first token.
        let (mut done, mut next) = (0usize, 0usize);
        let mut seen: Vec<usize> = Vec::with_capacity(SNIPPET_TOKENS);
        while done < text.len() {
            let from = done.saturating_add(SNIPPET_PIECE);
            let end = text
                .as_bytes()
                .get(from..)
                .and_then(|t| t.iter().position(u8::is_ascii_whitespace))
                .map_or(text.len(), |i| from + i);
            let Some(piece) = text.get(done..end) else {
                break;
            };
            for mut t in analyzer.tokens(piece) {
                t.range = t.range.start + done..t.range.end + done;
                hit.push(terms.iter().position(|q| *q == t.term));
                tokens.push(t);
            }
            done = end;
            while next + SNIPPET_TOKENS + 1 < tokens.len() {
                if next == 0 || hit[next].is_some() {
                    seen.clear();
                    seen.extend(hit[next..next + SNIPPET_TOKENS].iter().flatten().copied());
                    seen.sort_unstable();
                    seen.dedup();
                    if seen.len() == terms.len() {
                        return window(text, &tokens, &hit, next);
                    }
                }
                next += 1;
            }
        }
        if done < text.len() {
            // Not reached: `done` and `end` are 0, the text's length or an ASCII byte's.
            return snippet(text, &analyzer.tokens(text), terms);
        }
        snippet(text, &tokens, terms)
    }

    /// [`snippet_of`] and [`snippet`] of the whole text's tokens, to compare.
    #[cfg(test)]
    pub(super) fn snippet_pair(
        analyzer: &Analyzer,
        text: &str,
        terms: &[String],
    ) -> (Snippet, Snippet) {
        (
            snippet_of(analyzer, text, terms),
            snippet(text, &analyzer.tokens(text), terms),
        )
    }

    /// For each token, the query term it is (its number in `terms`).
    fn hits(tokens: &[Token], terms: &[String]) -> Vec<Option<usize>> {
        tokens
            .iter()
            .map(|t| terms.iter().position(|q| *q == t.term))
            .collect()
    }

    /// The first token of the window of [`SNIPPET_TOKENS`] tokens that holds the most
    /// distinct query terms (of `n`), the earliest of equals, and how many it holds.
    fn best_window(hit: &[Option<usize>], n: usize) -> (usize, usize) {
        let mut best = (0usize, 0usize);
        for start in 0..hit.len() {
            if start > 0 && hit[start].is_none() {
                continue;
            }
            let end = (start + SNIPPET_TOKENS).min(hit.len());
            let mut seen: Vec<usize> = hit[start..end].iter().flatten().copied().collect();
            seen.sort_unstable();
            seen.dedup();
            if seen.len() > best.1 {
                best = (start, seen.len());
            }
            if best.1 == n {
                break;
            }
        }
        best
    }

    /// The window of [`SNIPPET_TOKENS`] tokens that holds the most distinct query terms
    /// (the earliest of equals), cut to [`SNIPPET_BYTES`], with the matched words marked.
    fn snippet(text: &str, tokens: &[Token], terms: &[String]) -> Snippet {
        if tokens.is_empty() {
            let t = crate::format::titles::cut(text, SNIPPET_BYTES);
            return Snippet {
                text: t.replace(['\n', '\r', '\t'], " "),
                marks: Vec::new(),
            };
        }
        let hit = hits(tokens, terms);
        let start = best_window(&hit, terms.len()).0;
        window(text, tokens, &hit, start)
    }

    /// The snippet of the window of `tokens` (the text's, or its first ones when they reach
    /// two past the window) from token `start`, `hit` their query terms.
    fn window(text: &str, tokens: &[Token], hit: &[Option<usize>], start: usize) -> Snippet {
        let end = (start + SNIPPET_TOKENS).min(tokens.len());
        // The whole text's head and tail when the window reaches them (punctuation too).
        let from = if start == 0 {
            0
        } else {
            tokens[start].range.start
        };
        let mut to = if end == tokens.len() {
            text.len()
        } else {
            tokens[end - 1].range.end
        }
        .max(from);
        if to - from > SNIPPET_BYTES {
            to = from + crate::format::titles::cut(&text[from..], SNIPPET_BYTES).len();
        }
        let mut out = String::new();
        let lead = if from > 0 { "… " } else { "" };
        out.push_str(lead);
        let body = text.get(from..to).unwrap_or_default();
        out.push_str(&body.replace(['\n', '\r', '\t'], " "));
        let mut marks = Vec::new();
        for (t, h) in tokens[start..end].iter().zip(&hit[start..end]) {
            if h.is_some() && t.range.end <= to {
                marks.push(lead.len() + t.range.start - from..lead.len() + t.range.end - from);
            }
        }
        if to < text.len() {
            out.push_str(" …");
        }
        Snippet { text: out, marks }
    }
}

#[cfg(all(test, feature = "fulltext"))]
mod tests {
    use super::text_queries::snippet_pair;
    use crate::text::Analyzer;

    /// A text of `n` words cycling through `words`, with line breaks now and then.
    fn text(words: &[&str], n: usize, seed: usize) -> String {
        let mut out = String::new();
        for i in 0..n {
            let w = words[(i * 7 + seed + i / 13) % words.len()];
            out.push_str(w);
            out.push(if i % 17 == 16 { '\n' } else { ' ' });
        }
        out
    }

    #[test]
    fn a_snippet_from_pieces_is_the_snippet_of_the_whole_text() {
        let eng = Analyzer::new(Some("eng"));
        let zho = Analyzer::new(Some("zho"));
        let words = [
            "the",
            "cats",
            "were",
            "running",
            "l'homme",
            "Zürich",
            "café,",
            "U.S.A.",
            "3.14",
            "北京大学的学生",
            "東京",
            "don't",
            "x",
            "—",
            "rivers.",
        ];
        let mut checked = 0;
        for (analyzer, lang) in [(&eng, "eng"), (&zho, "zho")] {
            for n in [5, 40, 700, 3000, 20000] {
                for seed in 0..3 {
                    let mut t = text(&words, n, seed);
                    // Rare words late in a long text, and once only.
                    if n > 1000 {
                        t.push_str(" aardvark zebra ");
                        t.push_str(&text(&words, 500, seed + 1));
                    }
                    for q in [
                        "cats",
                        "running cats",
                        "zurich cafe",
                        "aardvark",
                        "zebra aardvark",
                        "北京大学",
                        "东京 rivers",
                        "nowhere",
                        "cats nowhere",
                    ] {
                        let terms: Vec<String> = {
                            let mut v: Vec<String> =
                                analyzer.tokens(q).into_iter().map(|t| t.term).collect();
                            v.sort();
                            v.dedup();
                            v
                        };
                        if terms.is_empty() {
                            continue;
                        }
                        let (pieces, whole) = snippet_pair(analyzer, &t, &terms);
                        assert_eq!(pieces, whole, "{lang}, {n} words, seed {seed}, {q:?}");
                        checked += 1;
                    }
                }
            }
        }
        assert!(checked > 200);
    }
}
