//! Title suggestions (spec §14): [`Archive::suggest`](crate::Archive::suggest) answers from
//! the TITLES section alone — its header, root, list pages and tops pages — never from a
//! data block or the dictionary.
//!
//! Nothing here trusts the section: the header is checked against a CRC that the prelude's
//! CRCs of INDEX and DATA seal, the root against the header's CRC, every page against the
//! root's; each is parsed whole when first read (§14.3–§14.5), and a row a word start
//! points at is checked against it when it is fetched. A query reads each page at most once
//! for its range and once per row it shows, so its work is bounded by the section's size.

use std::collections::{HashMap, VecDeque};
use std::ops::Range;
use std::sync::{Arc, Mutex, OnceLock};

use super::Ctx;
use crate::error::{DamageKind, Location, ReadError, ReadResult, Rule};
use crate::format::titles::{
    self, decode_list, decode_tops, fold, fold_title, unstore, Head, ListPage, MatchKind, PageRef,
    RecordBody, Root, TopsPage, MAX_PAGE_RAW, MAX_ROOT_RAW,
};
use crate::format::SectionId;

/// A remote title index this small is fetched whole by the first suggestion: one request,
/// after which every suggestion is answered from the range cache.
const WHOLE_REMOTE: u64 = 1 << 20;
/// The first read of a larger remote index: the header and, usually, the root.
const HEAD_REMOTE: u64 = 64 << 10;
/// List pages kept decoded (64 KiB each at most, before decoding).
const PAGE_CACHE: usize = 64;
/// Tops pages kept decoded.
const TOPS_CACHE: usize = 16;
/// Heap the decoded list pages kept may take (a page's keys may take 1 MiB decoded, §14.4).
const PAGE_CACHE_BYTES: usize = 16 << 20;
/// Heap the decoded tops pages kept may take.
const TOPS_CACHE_BYTES: usize = 4 << 20;
/// Faults full verification lists of a title index before it stops reading its pages (a
/// root may list a million damaged pages: the report stays small).
const MAX_ERRORS: usize = 64;

/// One title suggestion: the entry's key, its title, and how it matched.
///
/// Owned data, so that results outlive the archive's borrow (and cross to Python and C).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Suggestion {
    /// The entry's key (open it with [`Archive::get`](crate::Archive::get)).
    pub key: String,
    /// The entry's title, `None` when it has none (the title index then holds its key in
    /// its place, and a suggestion shows the key).
    pub title: Option<String>,
    /// Where the text matched: at the title's start, or at a word's.
    pub kind: MatchKind,
}

impl Suggestion {
    /// What to show: the title, or the key when the entry has none.
    pub fn text(&self) -> &str {
        self.title.as_deref().unwrap_or(&self.key)
    }
}

/// A small cache of decoded pages, oldest out first: at most `cap` pages and `budget` bytes
/// (as [`ListPage`]s and [`TopsPage`]s take them decoded; the newest page is always kept).
pub(super) struct PageCache<T> {
    cap: usize,
    budget: usize,
    bytes: usize,
    map: HashMap<u32, (Arc<T>, usize)>,
    order: VecDeque<u32>,
}

impl<T> PageCache<T> {
    pub(super) fn new(cap: usize, budget: usize) -> Self {
        PageCache {
            cap,
            budget,
            bytes: 0,
            map: HashMap::new(),
            order: VecDeque::new(),
        }
    }
    pub(super) fn get(&self, i: u32) -> Option<Arc<T>> {
        self.map.get(&i).map(|(v, _)| Arc::clone(v))
    }
    fn clear(&mut self) {
        self.map.clear();
        self.order.clear();
        self.bytes = 0;
    }
    pub(super) fn put(&mut self, i: u32, v: Arc<T>, weight: usize) {
        if self.map.contains_key(&i) {
            return;
        }
        self.map.insert(i, (v, weight));
        self.bytes += weight;
        self.order.push_back(i);
        while self.order.len() > self.cap || (self.bytes > self.budget && self.order.len() > 1) {
            if let Some(old) = self.order.pop_front() {
                if let Some((_, w)) = self.map.remove(&old) {
                    self.bytes -= w;
                }
            }
        }
    }
}

/// About what a decoded list page takes on the heap.
fn list_weight(p: &ListPage) -> usize {
    let text: usize = p
        .records
        .iter()
        .map(|r| {
            r.key.len()
                + match &r.body {
                    RecordBody::Start { key, title } => {
                        key.len() + title.as_ref().map_or(0, String::len)
                    }
                    RecordBody::Word { .. } => 0,
                }
        })
        .sum();
    text + p.records.len() * (std::mem::size_of::<titles::Record>() + 4)
}

/// About what a decoded tops page takes on the heap.
fn tops_weight(p: &TopsPage) -> usize {
    let rows: usize = p
        .rows
        .iter()
        .map(|(k, t)| 48 + k.len() + t.as_ref().map_or(0, String::len))
        .sum();
    rows + p.lists.iter().map(|l| 24 + 8 * l.len()).sum::<usize>()
}

/// The title index's header and root, read on first use.
struct Loaded {
    /// The section's byte range in the file.
    section: Range<u64>,
    head: Head,
    root: Root,
}

/// What an archive keeps of its title index.
pub(crate) struct TitleState {
    loaded: OnceLock<Arc<Loaded>>,
    pages: Mutex<PageCache<ListPage>>,
    tops: Mutex<PageCache<TopsPage>>,
}

impl Default for TitleState {
    fn default() -> Self {
        TitleState {
            loaded: OnceLock::new(),
            pages: Mutex::new(PageCache::new(PAGE_CACHE, PAGE_CACHE_BYTES)),
            tops: Mutex::new(PageCache::new(TOPS_CACHE, TOPS_CACHE_BYTES)),
        }
    }
}

/// A match found in the list pages, before its row is known to be shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Candidate {
    kind: MatchKind,
    folded_len: u32,
    row: u32,
    /// The word start's offset (0 for a title start).
    pos: u32,
    /// The record's key was cut short of the query: the row's folded title decides.
    verify: bool,
    /// Where the record is: page, record index (title starts carry their row).
    page: u32,
    index: u32,
}

fn damaged(at: u64, kind: DamageKind) -> ReadError {
    ReadError::damaged(Location::TitleIndex(at), kind)
}

impl<'a> Ctx<'a> {
    /// The TITLES section record, if the archive has exactly one; an error if it has more.
    fn titles_section(&self) -> ReadResult<Option<Range<u64>>> {
        let mut found = None;
        for r in &self.st.layout.records {
            if r.id == titles::SECTION_ID {
                if found.is_some() {
                    return Err(damaged(r.offset, DamageKind::Violates(Rule::UniqueSection)));
                }
                found = r.range();
            }
        }
        Ok(found)
    }

    /// Whether the section table lists a title index (nothing is read).
    pub(crate) fn has_title_index(&self) -> bool {
        self.st
            .layout
            .records
            .iter()
            .any(|r| r.id == titles::SECTION_ID)
    }

    /// The header and root, read and checked on first use.
    fn titles(&self) -> ReadResult<Arc<Loaded>> {
        if let Some(l) = self.st.titles.loaded.get() {
            return Ok(Arc::clone(l));
        }
        let loaded = Arc::new(self.load_titles()?);
        Ok(Arc::clone(self.st.titles.loaded.get_or_init(|| loaded)))
    }

    /// The header and root, read and checked (§11's order), without the cache.
    fn load_titles(&self) -> ReadResult<Loaded> {
        let section = self.titles_section()?.ok_or(ReadError::NoTitleIndex)?;
        let len = section.end - section.start;
        if len < titles::HEADER_LEN as u64 {
            return Err(damaged(
                section.start,
                DamageKind::Violates(Rule::RecordBounds),
            ));
        }
        if self.src.is_remote() {
            // One request for the header and root (and, for a small index, everything).
            let first = if len <= WHOLE_REMOTE {
                len
            } else {
                len.min(HEAD_REMOTE)
            };
            self.read(section.start, first as usize)?;
        }
        let crc = |id| self.st.layout.record(id).map_or(0, |r| r.crc);
        let header = self.read(section.start, titles::HEADER_LEN)?;
        let head = match Head::decode(&header, crc(SectionId::Index), crc(SectionId::Data), len) {
            Err(DamageKind::ChecksumMismatch) => {
                return Err(self.checksum_failed(Location::TitleIndex(section.start)))
            }
            r => r.map_err(|k| damaged(section.start, k))?,
        };
        if u64::from(head.rows) != self.header().entry_count {
            return Err(damaged(
                section.start,
                DamageKind::Violates(Rule::EntryCount),
            ));
        }
        let at = section.start + head.root_offset;
        let stored = self.read(at, head.root_len as usize)?;
        let raw = self.unstore_at(at, &stored, head.root_raw_len, head.root_crc, MAX_ROOT_RAW)?;
        let root = Root::decode(&raw, &head, len).map_err(|k| damaged(at, k))?;
        Ok(Loaded {
            section,
            head,
            root,
        })
    }

    /// A stored node's bytes, checked (§14.3); a CRC that fails is damage at `at` (or a
    /// source that changed).
    fn unstore_at(
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
                Err(self.checksum_failed(Location::TitleIndex(at)))
            }
            Err(k) => Err(damaged(at, k)),
        }
    }

    /// List page `i`, from the cache or read and checked whole.
    fn list_page(&self, t: &Loaded, i: u32) -> ReadResult<Arc<ListPage>> {
        self.st.counters.node_visit();
        self.st.counters.title_page();
        if let Some(p) = self.st.titles.pages.lock().ok().and_then(|c| c.get(i)) {
            return Ok(p);
        }
        self.st.counters.node_read();
        let page = Arc::new(self.read_list_page(t, i)?);
        if let Ok(mut c) = self.st.titles.pages.lock() {
            c.put(i, Arc::clone(&page), list_weight(&page));
        }
        Ok(page)
    }

    /// List page `i`, read and checked whole (not cached).
    fn read_list_page(&self, t: &Loaded, i: u32) -> ReadResult<ListPage> {
        let r =
            t.root.pages.get(i as usize).ok_or_else(|| {
                damaged(t.section.start, DamageKind::Violates(Rule::RecordBounds))
            })?;
        let at = t.section.start + r.offset;
        let stored = self.read(at, r.stored_len as usize)?;
        let raw = self.unstore_at(at, &stored, r.raw_len, r.crc, MAX_PAGE_RAW)?;
        decode_list(&raw, &t.head, r.rows_before, r.rows).map_err(|k| damaged(at, k))
    }

    /// Tops page `i`, from the cache or read and checked whole.
    fn tops_page(&self, t: &Loaded, i: u32) -> ReadResult<Arc<TopsPage>> {
        self.st.counters.node_visit();
        self.st.counters.title_page();
        if let Some(p) = self.st.titles.tops.lock().ok().and_then(|c| c.get(i)) {
            return Ok(p);
        }
        self.st.counters.node_read();
        let page = Arc::new(self.read_tops_page(t, i)?);
        if let Ok(mut c) = self.st.titles.tops.lock() {
            c.put(i, Arc::clone(&page), tops_weight(&page));
        }
        Ok(page)
    }

    /// Tops page `i`, read and checked whole (not cached).
    fn read_tops_page(&self, t: &Loaded, i: u32) -> ReadResult<TopsPage> {
        let r =
            t.root.tops.get(i as usize).ok_or_else(|| {
                damaged(t.section.start, DamageKind::Violates(Rule::RecordBounds))
            })?;
        let at = t.section.start + r.offset;
        let stored = self.read(at, r.stored_len as usize)?;
        let raw = self.unstore_at(at, &stored, r.raw_len, r.crc, MAX_PAGE_RAW)?;
        decode_tops(&raw, t.head.tops_n, r.lists).map_err(|k| damaged(at, k))
    }

    /// Tells the source that pages `ids` are about to be read (one range when they are
    /// neighbours).
    fn prefetch_pages(&self, t: &Loaded, ids: &[u32]) {
        let cached = |i: &u32| {
            self.st
                .titles
                .pages
                .lock()
                .ok()
                .is_some_and(|c| c.get(*i).is_some())
        };
        let mut ranges: Vec<Range<u64>> = Vec::new();
        for i in ids.iter().filter(|i| !cached(i)) {
            if let Some(r) = t.root.pages.get(*i as usize) {
                let start = t.section.start + r.offset;
                let end = start + u64::from(r.stored_len);
                match ranges.last_mut() {
                    Some(last) if last.end == start => last.end = end,
                    _ => ranges.push(start..end),
                }
            }
        }
        if !ranges.is_empty() {
            self.src.prefetch(&ranges);
        }
    }

    /// The list page holding row `row`.
    fn page_of_row(t: &Loaded, row: u32) -> Option<u32> {
        let i = t
            .root
            .pages
            .partition_point(|p| p.rows_before + p.rows <= row);
        (i < t.root.pages.len()).then_some(i as u32)
    }

    /// Row `row`: its folded title, key and title, from the list page that holds it.
    fn row(&self, t: &Loaded, row: u32) -> ReadResult<(Vec<u8>, String, Option<String>)> {
        let bad = || damaged(t.section.start, DamageKind::Violates(Rule::RecordBounds));
        let i = Self::page_of_row(t, row).ok_or_else(bad)?;
        let page = self.list_page(t, i)?;
        let at = row.checked_sub(page.first_row).ok_or_else(bad)?;
        let rec = page
            .starts
            .get(at as usize)
            .and_then(|&j| page.records.get(j as usize))
            .ok_or_else(bad)?;
        match &rec.body {
            RecordBody::Start { key, title } => Ok((rec.key.clone(), key.clone(), title.clone())),
            RecordBody::Word { .. } => Err(bad()),
        }
    }

    /// Rows `first .. first + count` of the title index (§14.3: every entry, in the order of
    /// its folded title, then key), each its key and title; fewer past the last row. Their
    /// list pages are asked for together.
    pub(crate) fn by_title(
        &self,
        first: u64,
        count: usize,
    ) -> ReadResult<Vec<(String, Option<String>)>> {
        let t = self.titles()?;
        let rows = u64::from(t.head.rows);
        let end = first.saturating_add(count as u64).min(rows);
        if first >= end {
            return Ok(Vec::new());
        }
        // `end ≤ rows`, a u32.
        let (first, end) = (first as u32, end as u32);
        let mut ids: Vec<u32> = Vec::new();
        for row in [first, end - 1] {
            if let Some(i) = Self::page_of_row(&t, row) {
                ids.push(i);
            }
        }
        if let [a, b] = ids[..] {
            ids = (a..=b).collect();
        }
        self.prefetch_pages(&t, &ids);
        (first..end)
            .map(|r| self.row(&t, r).map(|(_, key, title)| (key, title)))
            .collect()
    }

    /// §14.6: the suggestions for `text`, best first, at most `limit`.
    pub(crate) fn suggest(&self, text: &str, limit: Option<usize>) -> ReadResult<Vec<Suggestion>> {
        let t = self.titles()?;
        let limit = limit.unwrap_or(usize::MAX);
        if limit == 0 || t.head.rows == 0 {
            return Ok(Vec::new());
        }
        let folded = fold(text);
        let q = folded.as_bytes();
        // A tops list answers any limit it covers.
        if limit <= usize::from(t.head.tops_n) {
            if let Ok(n) = t.root.prefixes.binary_search_by(|p| p.as_slice().cmp(q)) {
                let n = n as u32;
                let i = t
                    .root
                    .tops
                    .partition_point(|r| r.lists_before + r.lists <= n);
                let page = self.tops_page(&t, i as u32)?;
                let list = t
                    .root
                    .tops
                    .get(i)
                    .and_then(|r| page.lists.get((n - r.lists_before) as usize))
                    .ok_or_else(|| {
                        damaged(t.section.start, DamageKind::Violates(Rule::EntryCount))
                    })?;
                return Ok(list
                    .iter()
                    .take(limit)
                    .filter_map(|&(j, kind)| {
                        let (key, title) = page.rows.get(j as usize)?.clone();
                        Some(Suggestion { key, title, kind })
                    })
                    .collect());
            }
        }
        self.scan(&t, q, limit)
    }

    /// The full scan of §14.6: every record whose key starts with the query (its first
    /// `trunc` bytes for a word start), ranked, then the rows of the word starts shown.
    fn scan(&self, t: &Loaded, q: &[u8], limit: usize) -> ReadResult<Vec<Suggestion>> {
        let trunc = usize::from(t.head.trunc);
        let probe = &q[..q.len().min(trunc)];
        let pages = &t.root.pages;
        let first = pages
            .partition_point(|p| p.sep.as_slice() < probe)
            .saturating_sub(1);
        let mut last = first;
        while last + 1 < pages.len() && pages[last + 1].sep.starts_with(probe) {
            last += 1;
        }
        let ids: Vec<u32> = if q.len() > trunc {
            long_query_pages(pages, q, trunc, first, last)
        } else {
            (first as u32..=last as u32).collect()
        };
        self.prefetch_pages(t, &ids);
        let mut cands: Vec<Candidate> = Vec::new();
        // With a limit, what ranks after `limit` rows that are sure to show is dropped as
        // the scan goes, so that it holds O(limit) candidates (and those to check).
        let mut prune_at = limit.saturating_mul(4).saturating_add(1024);
        for &i in &ids {
            let page = self.list_page(t, i)?;
            let mut row = page.first_row;
            for (index, rec) in page.records.iter().enumerate() {
                let start = matches!(rec.body, RecordBody::Start { .. });
                let own = row;
                if start {
                    row += 1;
                }
                if !rec.key.starts_with(probe) {
                    continue;
                }
                let c = match rec.body {
                    RecordBody::Start { .. } if rec.key.starts_with(q) => Candidate {
                        kind: MatchKind::TitleStart,
                        folded_len: rec.key.len() as u32,
                        row: own,
                        pos: 0,
                        verify: false,
                        page: i,
                        index: index as u32,
                    },
                    RecordBody::Word {
                        row: r,
                        folded_len,
                        pos,
                    } => {
                        // The key is cut short of the suffix: a query longer than it is
                        // checked against the row (keys are at least `probe` long, §14.4).
                        let rest = folded_len - pos;
                        let cut = (rec.key.len() as u32) < rest;
                        let verify = q.len() > rec.key.len();
                        if verify && (!cut || rest < q.len() as u32 || !q.starts_with(&rec.key)) {
                            continue; // the suffix is shorter than the query, or differs
                        }
                        if !verify && !rec.key.starts_with(q) {
                            continue;
                        }
                        Candidate {
                            kind: MatchKind::WordStart,
                            folded_len,
                            row: r,
                            pos,
                            verify,
                            page: i,
                            index: index as u32,
                        }
                    }
                    _ => continue,
                };
                cands.push(c);
                if cands.len() >= prune_at {
                    prune(&mut cands, limit);
                    prune_at = cands.len().saturating_mul(2).max(prune_at);
                }
            }
        }
        prune(&mut cands, limit);
        let mut shown: std::collections::HashSet<u32> = std::collections::HashSet::new();
        let mut out = Vec::new();
        let mut k = 0;
        while k < cands.len() && out.len() < limit {
            let c = cands[k];
            if shown.contains(&c.row) {
                k += 1;
                continue;
            }
            if c.kind == MatchKind::TitleStart {
                let page = self.list_page(t, c.page)?;
                if let Some(RecordBody::Start { key, title }) =
                    page.records.get(c.index as usize).map(|r| &r.body)
                {
                    out.push(Suggestion {
                        key: key.clone(),
                        title: title.clone(),
                        kind: c.kind,
                    });
                }
                shown.insert(c.row);
                k += 1;
                continue;
            }
            // Word starts: fetch the rows of the next few together: enough that need no
            // check to fill the limit, and the candidates to check among them (at most
            // 64 rows a batch).
            let want = (limit - out.len()).min(64);
            let (mut sure, mut span) = (0, 0);
            let mut batch: Vec<Candidate> = Vec::new();
            for c in &cands[k..] {
                if sure >= want || batch.len() >= 64 {
                    break;
                }
                span += 1;
                if !shown.contains(&c.row) {
                    sure += usize::from(!c.verify);
                    batch.push(*c);
                }
            }
            let mut ids: Vec<u32> = batch
                .iter()
                .filter_map(|c| Self::page_of_row(t, c.row))
                .collect();
            ids.sort_unstable();
            ids.dedup();
            self.prefetch_pages(t, &ids);
            let mut taken = 0;
            for c in &cands[k..] {
                taken += 1;
                if shown.contains(&c.row) {
                    continue;
                }
                let (folded, key, title) = self.row(t, c.row)?;
                let page = self.list_page(t, c.page)?;
                let word_key = page
                    .records
                    .get(c.index as usize)
                    .map(|r| r.key.as_slice())
                    .unwrap_or_default();
                let suffix = folded.get(c.pos as usize..).unwrap_or_default();
                if folded.len() != c.folded_len as usize || !suffix.starts_with(word_key) {
                    let at = t.section.start + pages[c.page as usize].offset;
                    return Err(damaged(at, DamageKind::Violates(Rule::KeyBounds)));
                }
                if c.verify && !suffix.starts_with(q) {
                    continue;
                }
                shown.insert(c.row);
                out.push(Suggestion {
                    key,
                    title,
                    kind: c.kind,
                });
                if out.len() >= limit || taken >= span {
                    break;
                }
            }
            k += taken;
        }
        Ok(out)
    }
}

/// For a query `q` longer than `trunc`, the pages of `first ..= last` (those whose keys start
/// with `q[..trunc]`) that can hold a record matching it or a candidate (§14.6 step 4): a key
/// that starts with `q`, or a key that is `q[..j]` for some `trunc ≤ j < len q`. Page `i`
/// holds keys from its separator to the next page's (inclusive), so it is needed when some
/// `q[..j]` lies in that interval, or the interval meets the keys that start with `q`. Work:
/// a few comparisons of a separator a page. With a common first word, this reads the pages
/// around the query rather than every page of the word.
fn long_query_pages(
    pages: &[PageRef],
    q: &[u8],
    trunc: usize,
    first: usize,
    last: usize,
) -> Vec<u32> {
    let probe = &q[..trunc];
    // The shortest prefix of q, at least trunc bytes, that is ≥ sep (None: none is).
    let least_prefix_at_or_above = |sep: &[u8]| -> Option<usize> {
        if probe >= sep {
            return Some(trunc);
        }
        let l = q.iter().zip(sep).take_while(|(a, b)| a == b).count();
        if l == sep.len() {
            Some(l.max(trunc)) // sep is a prefix of q
        } else if l < q.len() && q[l] > sep[l] {
            Some((l + 1).max(trunc))
        } else {
            None
        }
    };
    let mut ids = Vec::new();
    for (i, page) in pages.iter().enumerate().take(last + 1).skip(first) {
        let sep = page.sep.as_slice();
        let next = pages.get(i + 1).map(|p| p.sep.as_slice());
        let holds_prefix = least_prefix_at_or_above(sep)
            .is_some_and(|j| j <= q.len() && next.is_none_or(|n| &q[..j] <= n));
        let meets_q = next.is_none_or(|n| n >= q) && (sep < q || sep.starts_with(q));
        if holds_prefix || meets_q {
            ids.push(i as u32);
        }
    }
    ids
}

/// Sorts `cands` and drops those ranked after the first `limit` distinct rows of candidates
/// that need no check against their row (those rows show, whatever the others give).
fn prune(cands: &mut Vec<Candidate>, limit: usize) {
    cands.sort_unstable();
    if limit == usize::MAX {
        return;
    }
    let mut sure: std::collections::HashSet<u32> = std::collections::HashSet::new();
    let mut cut = cands.len();
    for (i, c) in cands.iter().enumerate() {
        if !c.verify {
            sure.insert(c.row);
            if sure.len() >= limit {
                cut = i + 1;
                break;
            }
        }
    }
    cands.truncate(cut);
}

/// The archive's keys as full verification sums them, to compare with the title index's
/// rows without a second walk: how many, and the wrapping sum of a 64-bit hash of each
/// (the keys of an archive, and those of a correct index, are distinct).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct KeySum {
    count: u64,
    sum: u64,
    /// The wrapping sum of a hash of each (key, title as the index holds it).
    titles: u64,
    /// Some entry's title could not be read: `titles` is not to be compared.
    partial: bool,
}

impl KeySum {
    pub(crate) fn add(&mut self, key: &[u8]) {
        use std::hash::{Hash, Hasher};
        let mut h = std::hash::DefaultHasher::new();
        key.hash(&mut h);
        self.count += 1;
        self.sum = self.sum.wrapping_add(h.finish());
    }

    /// An entry's title (`Some(None)`: it has none), or `None` when it could not be read.
    pub(crate) fn add_title(&mut self, key: &[u8], title: Option<Option<&str>>) {
        use std::hash::{Hash, Hasher};
        let Some(title) = title else {
            self.partial = true;
            return;
        };
        let mut h = std::hash::DefaultHasher::new();
        key.hash(&mut h);
        title.map(|t| titles::cut(t, titles::MAX_TEXT)).hash(&mut h);
        self.titles = self.titles.wrapping_add(h.finish());
    }
}

/// A word-start record as full verification keeps it: its row, offset, folded length, the
/// CRC32 of its key, and its page.
struct WordRec {
    row: u32,
    pos: u32,
    folded_len: u32,
    /// The key's length and CRC32 (keys are 1 to 4096 bytes: a few bytes where a CRC
    /// does).
    key_len: u32,
    key_crc: u32,
    page: u32,
}

impl<'a> Ctx<'a> {
    /// Full verification of the title index (§11), every fault it finds: the header and the
    /// root; every list page (CRC, frame, parse), read once, in order across pages and each
    /// page's first key its separator; the rows in (folded title, key) order and their keys
    /// exactly the archive's; every word-start record agreeing with its row (length, key)
    /// and every word start of a row listed (§14.1 with Unicode 16.0); every tops page, and
    /// each tops list equal to the first suggestions of its prefix (§14.5) as the rows and
    /// word starts give them (and each of its rows one of them, by key and title). Memory: the folded titles, keys and titles, 20 bytes a
    /// word start; work: the section once (each tops page twice), the archive's keys once,
    /// and the tops lists in one pass over the prefixes (`check_tops`).
    pub(crate) fn verify_titles(&self, archive_keys: Option<KeySum>) -> Vec<ReadError> {
        // The title index's nodes are not counted with the key index's (whose walk counts
        // each node once).
        let counted = self.st.counters.node_counts();
        let errs = self.verify_titles_inner(archive_keys);
        self.st.counters.restore(counted);
        errs
    }

    fn verify_titles_inner(&self, archive_keys: Option<KeySum>) -> Vec<ReadError> {
        match self.titles_section() {
            Ok(Some(_)) => {}
            Ok(None) => return Vec::new(),
            Err(e) => return vec![e],
        }
        // The header and root as a suggestion read them (checked whole on load): one copy.
        let t = match self.titles() {
            Ok(t) => t,
            Err(e) => return vec![e],
        };
        if let Ok(mut c) = self.st.titles.pages.lock() {
            c.clear();
        }
        if let Ok(mut c) = self.st.titles.tops.lock() {
            c.clear();
        }
        let start = t.section.start;
        let mut errs = Vec::new();
        let mut lost = false;
        let (mut folded, mut fends): (Vec<u8>, Vec<usize>) = (Vec::new(), Vec::new());
        let (mut keys, mut kends): (String, Vec<usize>) = (String::new(), Vec::new());
        let (mut texts, mut tends): (String, Vec<(usize, bool)>) = (String::new(), Vec::new());
        let mut words: Vec<WordRec> = Vec::new();
        let mut prev: Option<(Vec<u8>, u32, u32)> = None;
        for (i, r) in t.root.pages.iter().enumerate() {
            if errs.len() >= MAX_ERRORS {
                break;
            }
            let at = start + r.offset;
            self.st.counters.title_page();
            let page = match self.read_list_page(&t, i as u32) {
                Ok(p) => p,
                Err(e) => {
                    errs.push(e);
                    lost = true;
                    prev = None;
                    continue;
                }
            };
            if i > 0 && page.records.first().map(|r| r.key.as_slice()) != Some(r.sep.as_slice()) {
                errs.push(damaged(at, DamageKind::Violates(Rule::Separator)));
            }
            let mut row = page.first_row;
            for (j, rec) in page.records.iter().enumerate() {
                let (k, own, pos) = rec.order(row);
                if j == 0
                    && prev
                        .as_ref()
                        .is_some_and(|p| (p.0.as_slice(), p.1, p.2) >= (k, own, pos))
                {
                    errs.push(damaged(at, DamageKind::Violates(Rule::KeyOrder)));
                }
                match &rec.body {
                    RecordBody::Start { key, title } => {
                        folded.extend_from_slice(&rec.key);
                        fends.push(folded.len());
                        keys.push_str(key);
                        kends.push(keys.len());
                        texts.push_str(title.as_deref().unwrap_or_default());
                        tends.push((texts.len(), title.is_some()));
                        row += 1;
                    }
                    RecordBody::Word {
                        row: r,
                        folded_len,
                        pos,
                    } => words.push(WordRec {
                        row: *r,
                        pos: *pos,
                        folded_len: *folded_len,
                        key_len: rec.key.len() as u32,
                        key_crc: crate::format::crc32(&rec.key),
                        page: i as u32,
                    }),
                }
            }
            if let Some(last) = page.records.last() {
                let (k, own, pos) = last.order(row.saturating_sub(1));
                prev = Some((k.to_vec(), own, pos));
            }
        }
        for i in 0..t.root.tops.len() {
            if errs.len() >= MAX_ERRORS {
                break;
            }
            self.st.counters.title_page();
            if let Err(e) = self.read_tops_page(&t, i as u32) {
                errs.push(e);
            }
        }
        if lost || !errs.is_empty() {
            return errs;
        }
        let span = |ends: &[usize], r: usize| (if r == 0 { 0 } else { ends[r - 1] })..ends[r];
        let f_of = |r: usize| &folded[span(&fends, r)];
        let k_of = |r: usize| &keys[span(&kends, r)];
        let rows_at = || damaged(start, DamageKind::Violates(Rule::TitleRows));
        let title_of = |r: usize| {
            let from = if r == 0 { 0 } else { tends[r - 1].0 };
            tends[r].1.then(|| &texts[from..tends[r].0])
        };
        // Rows in (folded title, key) order.
        if (1..fends.len()).any(|r| (f_of(r - 1), k_of(r - 1)) >= (f_of(r), k_of(r))) {
            errs.push(rows_at());
        }
        // Their keys exactly the archive's (each once: the archive's keys are distinct).
        let mut by_key: Vec<u32> = (0..kends.len() as u32).collect();
        by_key.sort_unstable_by(|&a, &b| k_of(a as usize).cmp(k_of(b as usize)));
        if let Some(want) = archive_keys {
            let mut ours = KeySum::default();
            let mut distinct = true;
            for w in by_key.windows(2) {
                distinct &= k_of(w[0] as usize) != k_of(w[1] as usize);
            }
            for r in 0..kends.len() {
                ours.add(k_of(r).as_bytes());
                ours.add_title(k_of(r).as_bytes(), Some(title_of(r)));
            }
            let same_titles = want.partial || ours.titles == want.titles;
            if !distinct || (ours.count, ours.sum) != (want.count, want.sum) || !same_titles {
                errs.push(rows_at());
            }
        }
        // Each row's folded title is its title's (or key's) fold (§14.1).
        if (0..fends.len())
            .any(|r| fold_title(title_of(r).unwrap_or(k_of(r))).as_bytes() != f_of(r))
        {
            errs.push(rows_at());
        }
        // Word starts: each agrees with its row, and each row's are all listed.
        let page_at = |w: &WordRec| start + t.root.pages[w.page as usize].offset;
        for w in &words {
            let f = f_of(w.row as usize);
            let (pos, len) = (w.pos as usize, w.folded_len as usize);
            let end = pos.saturating_add(w.key_len as usize);
            if f.len() != len
                || crate::format::crc32(&f[pos.min(f.len())..end.min(f.len())]) != w.key_crc
            {
                errs.push(damaged(page_at(w), DamageKind::Violates(Rule::KeyBounds)));
                return errs;
            }
        }
        words.sort_unstable_by_key(|w| (w.row, w.pos));
        let mut k = 0;
        for r in 0..fends.len() {
            let f = std::str::from_utf8(f_of(r)).unwrap_or_default();
            let from = k;
            while k < words.len() && words[k].row as usize == r {
                k += 1;
            }
            let listed = words[from..k].iter().map(|w| w.pos as usize);
            if !listed.eq(titles::word_starts(f)) {
                errs.push(rows_at());
                return errs;
            }
        }
        // Tops lists: the first suggestions of their prefixes, all found in one pass over
        // the prefixes (their ranges nest, §14.5), in work linear in the rows, the word
        // starts and the tops lists, however many prefixes there are and however nested.
        let held = Held {
            folded: &folded,
            fends: &fends,
            keys: &keys,
            kends: &kends,
            texts: &texts,
            tends: &tends,
            by_key: &by_key,
            words: &words,
        };
        if let Some(e) = self.check_tops(&t, &held) {
            errs.push(e);
        }
        errs
    }

    /// §14.5 for every tops list, against the rows and word starts that full verification
    /// holds (already checked against each other): the first `tops_n` suggestions of a
    /// prefix are the best distinct rows of the title starts whose folded title starts with
    /// it, then of the word starts whose suffix does. Rows are in folded-title order and the
    /// word starts are sorted by suffix, so each prefix's matches are a range of each, and
    /// the ranges of the (sorted) prefixes nest: a stack of the open prefixes takes each item
    /// once, into the innermost prefix whose range holds it, and hands each prefix's best on
    /// to its parent when it closes. Each tops page is read once, in order. The first wrong
    /// list is reported.
    fn check_tops(&self, t: &Loaded, w: &Held<'_>) -> Option<ReadError> {
        let prefixes = &t.root.prefixes;
        if prefixes.is_empty() {
            return None;
        }
        let k = usize::from(t.head.tops_n);
        let start = t.section.start;
        let suffix = |i: u32| {
            let wr = &w.words[i as usize];
            w.folded(wr.row as usize)
                .get(wr.pos as usize..)
                .unwrap_or_default()
        };
        let mut order: Vec<u32> = (0..w.words.len() as u32).collect();
        order.sort_unstable_by(|&a, &b| {
            let (x, y) = (&w.words[a as usize], &w.words[b as usize]);
            suffix(a)
                .cmp(suffix(b))
                .then((x.row, x.pos).cmp(&(y.row, y.pos)))
        });
        // Items: title starts (rank (0, folded length, row)) and word starts (1, ...).
        let t_rank = |r: usize| Rank(0, w.folded(r).len() as u32, r as u32);
        let w_rank = |i: usize| {
            let wr = &w.words[order[i] as usize];
            Rank(1, wr.folded_len, wr.row)
        };
        let t_str = |r: usize| w.folded(r);
        let w_str = |i: usize| suffix(order[i]);
        // The tops page holding list j, read once each, in order.
        let mut page: Option<(usize, Arc<TopsPage>)> = None;
        let mut stack: Vec<Frame> = Vec::new();
        let wrong = |j: usize| {
            let i = t
                .root
                .tops
                .partition_point(|r| (r.lists_before as usize) + (r.lists as usize) <= j);
            let at = t.root.tops.get(i).map_or(start, |r| start + r.offset);
            damaged(at, DamageKind::Violates(Rule::TopsList))
        };
        // Closes the top frame: its last items, its list checked, its best to its parent.
        let close = |stack: &mut Vec<Frame>| -> Result<(), usize> {
            let Some(mut f) = stack.pop() else {
                return Ok(());
            };
            f.t_acc.extend((f.t_next..f.t_hi).map(t_rank));
            f.w_acc.extend((f.w_next..f.w_hi).map(w_rank));
            best(&mut f.t_acc, k);
            best(&mut f.w_acc, 2 * k);
            let mut expect: Vec<(u32, MatchKind)> = f
                .t_acc
                .iter()
                .map(|r| (r.2, MatchKind::TitleStart))
                .collect();
            for r in &f.w_acc {
                if expect.len() >= k {
                    break;
                }
                if !f.t_acc.iter().any(|x| x.2 == r.2) {
                    expect.push((r.2, MatchKind::WordStart));
                }
            }
            if f.actual.as_ref() != Some(&expect) {
                return Err(f.j);
            }
            if let Some(parent) = stack.last_mut() {
                parent.t_acc.append(&mut f.t_acc);
                parent.w_acc.append(&mut f.w_acc);
                parent.compact(k);
            }
            Ok(())
        };
        for (j, p) in prefixes.iter().enumerate() {
            // The list as stored: rows by key, each with its title.
            let i = t
                .root
                .tops
                .partition_point(|r| (r.lists_before as usize) + (r.lists as usize) <= j);
            let Some(r) = t.root.tops.get(i) else {
                return Some(wrong(j));
            };
            if page.as_ref().is_none_or(|(pi, _)| *pi != i) {
                self.st.counters.title_page();
                match self.read_tops_page(t, i as u32) {
                    Ok(pg) => page = Some((i, Arc::new(pg))),
                    Err(e) => return Some(e),
                }
            }
            let pg = &page.as_ref()?.1;
            let actual = pg.lists.get(j - r.lists_before as usize).and_then(|list| {
                list.iter()
                    .map(|&(ri, kind)| {
                        let (key, title) = pg.rows.get(ri as usize)?;
                        let row = w.row_of_key(key)?;
                        (w.title(row as usize) == title.as_deref()).then_some((row, kind))
                    })
                    .collect::<Option<Vec<_>>>()
            });
            while stack.last().is_some_and(|f| !p.starts_with(&prefixes[f.j])) {
                if let Err(j) = close(&mut stack) {
                    return Some(wrong(j));
                }
            }
            let (t_lo, t_hi) = range(w.fends.len(), t_str, p);
            let (w_lo, w_hi) = range(order.len(), w_str, p);
            if let Some(parent) = stack.last_mut() {
                parent.t_acc.extend((parent.t_next..t_lo).map(t_rank));
                parent.w_acc.extend((parent.w_next..w_lo).map(w_rank));
                (parent.t_next, parent.w_next) = (t_hi, w_hi);
                parent.compact(k);
            }
            stack.push(Frame {
                j,
                t_next: t_lo,
                t_hi,
                w_next: w_lo,
                w_hi,
                t_acc: Vec::new(),
                w_acc: Vec::new(),
                actual,
            });
        }
        while !stack.is_empty() {
            if let Err(j) = close(&mut stack) {
                return Some(wrong(j));
            }
        }
        None
    }
}

/// What full verification holds of the rows: folded titles, keys and titles (each
/// concatenated, with their ends), the rows in key order, the word starts.
struct Held<'v> {
    folded: &'v [u8],
    fends: &'v [usize],
    keys: &'v str,
    kends: &'v [usize],
    texts: &'v str,
    tends: &'v [(usize, bool)],
    by_key: &'v [u32],
    words: &'v [WordRec],
}

impl<'v> Held<'v> {
    fn folded(&self, r: usize) -> &'v [u8] {
        let from = if r == 0 { 0 } else { self.fends[r - 1] };
        &self.folded[from..self.fends[r]]
    }
    fn key(&self, r: usize) -> &'v str {
        let from = if r == 0 { 0 } else { self.kends[r - 1] };
        &self.keys[from..self.kends[r]]
    }
    fn title(&self, r: usize) -> Option<&'v str> {
        let from = if r == 0 { 0 } else { self.tends[r - 1].0 };
        self.tends[r].1.then(|| &self.texts[from..self.tends[r].0])
    }
    fn row_of_key(&self, key: &str) -> Option<u32> {
        let i = self
            .by_key
            .binary_search_by(|&r| self.key(r as usize).cmp(key))
            .ok()?;
        Some(self.by_key[i])
    }
}

/// The items of `0..n` (sorted by `s`) whose string starts with `p`.
fn range<'s>(n: usize, s: impl Fn(usize) -> &'s [u8], p: &[u8]) -> (usize, usize) {
    let lo = partition(n, |i| s(i) < p);
    let hi = partition(n, |i| s(i) < p || s(i).starts_with(p));
    (lo, hi)
}

/// A suggestion's rank (§14.2): kind, folded length, row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Rank(u8, u32, u32);

/// An open prefix of the tops check: its ranges (what is left of them), the best items
/// taken so far, and its list as stored (`None` when it names a row that is not one).
struct Frame {
    j: usize,
    t_next: usize,
    t_hi: usize,
    w_next: usize,
    w_hi: usize,
    t_acc: Vec<Rank>,
    w_acc: Vec<Rank>,
    actual: Option<Vec<(u32, MatchKind)>>,
}

impl Frame {
    /// Keeps the accumulators short: a few times `k` items at most.
    fn compact(&mut self, k: usize) {
        if self.t_acc.len() > 4 * k + 64 {
            best(&mut self.t_acc, k);
        }
        if self.w_acc.len() > 8 * k + 64 {
            best(&mut self.w_acc, 2 * k);
        }
    }
}

/// The best `k` distinct rows of `v`, in rank order.
fn best(v: &mut Vec<Rank>, k: usize) {
    v.sort_unstable_by_key(|r| (r.2, *r));
    v.dedup_by_key(|r| r.2);
    v.sort_unstable();
    v.truncate(k);
}

/// The first `i` in `0..n` for which `pred` is false (`pred` true then false).
fn partition(n: usize, pred: impl Fn(usize) -> bool) -> usize {
    let (mut lo, mut hi) = (0, n);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if pred(mid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}
