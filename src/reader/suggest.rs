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
    self, decode_list, decode_tops, fold, unstore, Head, ListPage, MatchKind, RecordBody, Root,
    TopsPage, MAX_PAGE_RAW, MAX_ROOT_RAW,
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

/// A small cache of decoded pages, oldest out first.
struct PageCache<T> {
    cap: usize,
    map: HashMap<u32, Arc<T>>,
    order: VecDeque<u32>,
}

impl<T> PageCache<T> {
    fn new(cap: usize) -> Self {
        PageCache {
            cap,
            map: HashMap::new(),
            order: VecDeque::new(),
        }
    }
    fn get(&self, i: u32) -> Option<Arc<T>> {
        self.map.get(&i).cloned()
    }
    fn clear(&mut self) {
        self.map.clear();
        self.order.clear();
    }
    fn put(&mut self, i: u32, v: Arc<T>) {
        if self.map.insert(i, v).is_none() {
            self.order.push_back(i);
            while self.order.len() > self.cap {
                if let Some(old) = self.order.pop_front() {
                    self.map.remove(&old);
                }
            }
        }
    }
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
            pages: Mutex::new(PageCache::new(PAGE_CACHE)),
            tops: Mutex::new(PageCache::new(TOPS_CACHE)),
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
        if let Some(p) = self.st.titles.pages.lock().ok().and_then(|c| c.get(i)) {
            return Ok(p);
        }
        self.st.counters.node_read();
        let page = Arc::new(self.read_list_page(t, i)?);
        if let Ok(mut c) = self.st.titles.pages.lock() {
            c.put(i, Arc::clone(&page));
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
        if let Some(p) = self.st.titles.tops.lock().ok().and_then(|c| c.get(i)) {
            return Ok(p);
        }
        self.st.counters.node_read();
        let page = Arc::new(self.read_tops_page(t, i)?);
        if let Ok(mut c) = self.st.titles.tops.lock() {
            c.put(i, Arc::clone(&page));
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
        let mut n = page.first_row;
        for rec in &page.records {
            if let RecordBody::Start { key, title } = &rec.body {
                if n == row {
                    return Ok((rec.key.clone(), key.clone(), title.clone()));
                }
                n += 1;
            }
        }
        Err(bad())
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
        let ids: Vec<u32> = (first as u32..=last as u32).collect();
        self.prefetch_pages(t, &ids);
        let mut cands: Vec<Candidate> = Vec::new();
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
                        let cut = rec.key.len() == trunc && folded_len - pos > trunc as u32;
                        let verify = q.len() > rec.key.len();
                        if verify && !cut {
                            continue; // the whole suffix is shorter than the query
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
            }
        }
        cands.sort_unstable();
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
            // Word starts: fetch the rows of the next few together.
            let want = (limit - out.len()).min(64);
            let batch: Vec<Candidate> = cands[k..]
                .iter()
                .filter(|c| !shown.contains(&c.row))
                .take(want)
                .copied()
                .collect();
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
                if out.len() >= limit || taken >= want {
                    break;
                }
            }
            k += taken;
        }
        Ok(out)
    }
}

/// The archive's keys as full verification sums them, to compare with the title index's
/// rows without a second walk: how many, and the wrapping sum of a 64-bit hash of each
/// (the keys of an archive, and those of a correct index, are distinct).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct KeySum {
    count: u64,
    sum: u64,
}

impl KeySum {
    pub(crate) fn add(&mut self, key: &[u8]) {
        use std::hash::{Hash, Hasher};
        let mut h = std::hash::DefaultHasher::new();
        key.hash(&mut h);
        self.count += 1;
        self.sum = self.sum.wrapping_add(h.finish());
    }
}

/// A word-start record as full verification keeps it: its row, offset, folded length, the
/// CRC32 of its key, and its page.
struct WordRec {
    row: u32,
    pos: u32,
    folded_len: u32,
    key_crc: u32,
    page: u32,
}

impl<'a> Ctx<'a> {
    /// Full verification of the title index (§11), every fault it finds: the header and the
    /// root; every list page (CRC, frame, parse), read once, in order across pages and each
    /// page's first key its separator; the rows in (folded title, key) order and their keys
    /// exactly the archive's; every word-start record agreeing with its row (length, key)
    /// and every word start of a row listed (§14.1 with Unicode 16.0); every tops page, and
    /// each tops list equal to the first suggestions of its prefix (§14.5), as a query
    /// answers them from the list pages. Memory: the folded titles and keys, 20 bytes a word
    /// start; work: the section once, the archive's keys once, and a scan per prefix.
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
        let t = match self.load_titles() {
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
        let trunc = usize::from(t.head.trunc);
        let mut errs = Vec::new();
        let mut lost = false;
        let (mut folded, mut fends): (Vec<u8>, Vec<usize>) = (Vec::new(), Vec::new());
        let (mut keys, mut kends): (String, Vec<usize>) = (String::new(), Vec::new());
        let mut words: Vec<WordRec> = Vec::new();
        let mut prev: Option<(Vec<u8>, u32, u32)> = None;
        for (i, r) in t.root.pages.iter().enumerate() {
            let at = start + r.offset;
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
                    RecordBody::Start { key, .. } => {
                        folded.extend_from_slice(&rec.key);
                        fends.push(folded.len());
                        keys.push_str(key);
                        kends.push(keys.len());
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
            }
            if !distinct || ours != want {
                errs.push(rows_at());
            }
        }
        // Word starts: each agrees with its row, and each row's are all listed.
        let page_at = |w: &WordRec| start + t.root.pages[w.page as usize].offset;
        for w in &words {
            let f = f_of(w.row as usize);
            let (pos, len) = (w.pos as usize, w.folded_len as usize);
            let end = pos.saturating_add(trunc).min(len);
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
        drop((folded, keys, words));
        // Tops lists: the first suggestions of their prefixes.
        let tops_n = usize::from(t.head.tops_n);
        for (i, r) in t.root.tops.iter().enumerate() {
            let at = start + r.offset;
            let page = match self.read_tops_page(&t, i as u32) {
                Ok(p) => p,
                Err(e) => {
                    errs.push(e);
                    continue;
                }
            };
            for (j, list) in page.lists.iter().enumerate() {
                let n = r.lists_before as usize + j;
                let Some(p) = t.root.prefixes.get(n) else {
                    errs.push(damaged(at, DamageKind::Violates(Rule::TopsList)));
                    break;
                };
                let want = match self.scan(&t, p, tops_n) {
                    Ok(w) => w,
                    Err(e) => {
                        errs.push(e);
                        return errs;
                    }
                };
                let same = want.len() == list.len()
                    && want.iter().zip(list).all(|(s, &(row, kind))| {
                        page.rows.get(row as usize).is_some_and(|(key, title)| {
                            *key == s.key && *title == s.title && kind == s.kind
                        })
                    });
                if !same {
                    errs.push(damaged(at, DamageKind::Violates(Rule::TopsList)));
                    break;
                }
            }
        }
        errs
    }
}
