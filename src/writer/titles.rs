//! Building the title index (spec §14) at finish: every entry's title (or its key, when it
//! has none) folded, its title start and word starts sorted into list pages, the tops of the
//! busiest short prefixes, the root, and the header that ties them to the archive.
//!
//! Memory: the folded titles (one arena) and 8 bytes a record while sorting; titles and
//! keys are read back from the entry spool and the key arena as pages are written, and the
//! pages go to a spool of their own, so nothing else grows with the archive.

use std::collections::HashMap;

use super::spool::Spool;
use super::Pending;
use crate::error::WriteError;
use crate::format::strings::{fields, Field};
use crate::format::titles::{
    self, encode_list, encode_tops, fold_title, word_starts, Head, MatchKind, PageRef, Record,
    RecordBody, Root, TopsPage, TopsRef,
};

/// Bytes of a word start's suffix its record keeps (§14.2's `trunc`).
const TRUNC: u8 = 6;
/// Results per tops list (§14.2's `tops_n`).
const TOPS_N: u8 = 10;
/// A prefix of one or two characters gets a tops list when more records than this start
/// with it: below that, scanning its records costs about a page.
const TOPS_MIN_RECORDS: usize = 256;
/// Target size of a list or tops page before compression.
const PAGE_TARGET: usize = 32 << 10;
/// zstd level of title pages and the root.
const LEVEL: i32 = 15;

/// The built section, less its header (sealed by [`Built::head`] once the CRCs of INDEX and
/// DATA are known).
pub(super) struct Built {
    /// The header's fields (its CRC is computed when it is encoded).
    pub(super) head: Head,
    /// The stored root, which follows the header.
    pub(super) root: Vec<u8>,
    /// The stored pages, which follow the root to the section's end.
    pub(super) pages: Spool,
    /// Length of `pages`.
    pub(super) pages_len: u64,
    /// CRC32 of `pages`.
    pages_crc: crc32fast::Hasher,
}

impl Built {
    /// The section's header and the CRC32 of the whole section (header and body).
    pub(super) fn seal(&self, index_crc: u32, data_crc: u32) -> ([u8; titles::HEADER_LEN], u32) {
        let header = self.head.encode(index_crc, data_crc);
        let mut h = crc32fast::Hasher::new();
        h.update(&header);
        h.update(&self.root);
        h.combine(&self.pages_crc);
        (header, h.finalize())
    }

    /// Length of the whole section.
    pub(super) fn len(&self) -> u64 {
        (titles::HEADER_LEN + self.root.len()) as u64 + self.pages_len
    }

    /// Writes the section: `header` (from [`seal`](Self::seal)), the root, the pages.
    pub(super) fn write_to(
        &self,
        header: &[u8],
        out: &mut dyn std::io::Write,
    ) -> std::io::Result<()> {
        out.write_all(header)?;
        out.write_all(&self.root)?;
        self.pages.copy_to(out, self.pages_len)
    }
}

/// One record while sorting: its row (title number) and the byte offset of its word start
/// in the folded title (0 for the title start).
#[derive(Clone, Copy)]
struct Rec {
    row: u32,
    pos: u32,
}

/// The folded titles, by row.
struct Folded {
    text: String,
    ends: Vec<usize>,
}

impl Folded {
    fn get(&self, row: u32) -> &str {
        let r = row as usize;
        let start = if r == 0 { 0 } else { self.ends[r - 1] };
        &self.text[start..self.ends[r]]
    }
}

/// The title of entry `p` (cut to §14's limit), read back from the spool; `None` when it
/// has none.
fn title_of(p: &Pending, spool: &Spool) -> Result<Option<String>, WriteError> {
    if p.lead_len == 0 {
        return Ok(None);
    }
    let mut lead = vec![0u8; p.lead_len as usize];
    spool.read_at(p.spool_at, &mut lead)?;
    for f in fields(&lead) {
        if let Ok(Field::Title(t)) = f {
            return Ok(Some(titles::cut(t, titles::MAX_TEXT).to_owned()));
        }
    }
    Ok(None)
}

/// Builds the title index of `entries` (in key order, their keys in `keys`, their leads in
/// `spool`).
pub(super) fn build(entries: &[Pending], keys: &str, spool: &Spool) -> Result<Built, WriteError> {
    let too_large = |what: &str| WriteError::TooLarge(format!("title index: {what}"));
    // Fold every title (or key), then number the rows by (folded title, key).
    let mut folded_by_entry = Folded {
        text: String::new(),
        ends: Vec::with_capacity(entries.len()),
    };
    for p in entries {
        let f = match title_of(p, spool)? {
            Some(t) => fold_title(&t),
            None => fold_title(p.key(keys)),
        };
        folded_by_entry.text.push_str(&f);
        folded_by_entry.ends.push(folded_by_entry.text.len());
    }
    let n = u32::try_from(entries.len()).map_err(|_| too_large("entries"))?;
    let mut order: Vec<u32> = (0..n).collect();
    order.sort_unstable_by(|&a, &b| {
        (folded_by_entry.get(a), entries[a as usize].key(keys))
            .cmp(&(folded_by_entry.get(b), entries[b as usize].key(keys)))
    });
    // Folded titles by row; `order[row]` is the row's entry.
    let mut folded = Folded {
        text: String::with_capacity(folded_by_entry.text.len()),
        ends: Vec::with_capacity(entries.len()),
    };
    for &e in &order {
        folded.text.push_str(folded_by_entry.get(e));
        folded.ends.push(folded.text.len());
    }
    drop(folded_by_entry);

    let mut recs: Vec<Rec> = Vec::new();
    for row in 0..n {
        recs.push(Rec { row, pos: 0 });
        for pos in word_starts(folded.get(row)) {
            recs.push(Rec {
                row,
                pos: pos as u32,
            });
        }
    }
    let key_of = |r: &Rec| -> &[u8] {
        let f = folded.get(r.row).as_bytes();
        let s = &f[r.pos as usize..];
        if r.pos == 0 {
            s
        } else {
            &s[..s.len().min(TRUNC as usize)]
        }
    };
    recs.sort_unstable_by(|a, b| (key_of(a), a.row, a.pos).cmp(&(key_of(b), b.row, b.pos)));

    let mut pages = Spool::new()?;
    let mut pages_crc = crc32fast::Hasher::new();
    let mut emit = |stored: &[u8]| -> Result<(), WriteError> {
        pages.append(stored)?;
        pages_crc.update(stored);
        Ok(())
    };
    let mut root = Root::default();
    let mut page: Vec<Record> = Vec::new();
    let mut page_size = 0usize;
    let mut rows_before = 0u32;
    let mut flush = |page: &mut Vec<Record>,
                     root: &mut Root,
                     rows_before: &mut u32|
     -> Result<(), WriteError> {
        if page.is_empty() {
            return Ok(());
        }
        let raw = encode_list(page);
        let stored = titles::store(&raw, LEVEL)?;
        let rows = page
            .iter()
            .filter(|r| matches!(r.body, RecordBody::Start { .. }))
            .count() as u32;
        root.pages.push(PageRef {
            offset: 0,
            stored_len: stored.len() as u32,
            raw_len: raw.len() as u32,
            crc: crate::format::crc32(&stored),
            rows,
            rows_before: *rows_before,
            sep: if root.pages.is_empty() {
                Vec::new()
            } else {
                page[0].key.clone()
            },
        });
        *rows_before += rows;
        emit(&stored)?;
        page.clear();
        Ok(())
    };
    for r in &recs {
        let key = key_of(r).to_vec();
        let body = if r.pos == 0 {
            let p = &entries[order[r.row as usize] as usize];
            RecordBody::Start {
                key: p.key(keys).to_owned(),
                title: title_of(p, spool)?,
            }
        } else {
            RecordBody::Word {
                row: r.row,
                folded_len: folded.get(r.row).len() as u32,
                pos: r.pos,
            }
        };
        let size = key.len()
            + 8
            + match &body {
                RecordBody::Start { key, title } => {
                    key.len() + title.as_ref().map_or(0, |t| t.len()) + 6
                }
                RecordBody::Word { .. } => 12,
            };
        if page_size + size > PAGE_TARGET && !page.is_empty() {
            flush(&mut page, &mut root, &mut rows_before)?;
            page_size = 0;
        }
        page_size += size;
        page.push(Record { key, body });
    }
    flush(&mut page, &mut root, &mut rows_before)?;

    // Tops: the empty prefix and the prefixes of one and two characters of every record's
    // suffix that more than TOPS_MIN_RECORDS records start with.
    let suffix = |r: &Rec| &folded.get(r.row)[r.pos as usize..];
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for r in &recs {
        let s = suffix(r);
        let mut ends = s
            .char_indices()
            .map(|(i, _)| i)
            .skip(1)
            .take(2)
            .collect::<Vec<_>>();
        if ends.len() < 2 && !s.is_empty() {
            ends.push(s.len());
        }
        ends.dedup();
        *counts.entry("").or_default() += 1;
        for e in ends {
            *counts.entry(&s[..e]).or_default() += 1;
        }
    }
    let mut prefixes: Vec<&str> = counts
        .into_iter()
        .filter(|&(_, c)| c > TOPS_MIN_RECORDS)
        .map(|(p, _)| p)
        .collect();
    prefixes.sort_unstable();
    let mut tops_page = TopsPage::default();
    let mut local: HashMap<u32, u32> = HashMap::new();
    let mut tops_size = 0usize;
    let mut flush_tops = |page: &mut TopsPage,
                          local: &mut HashMap<u32, u32>,
                          root: &mut Root|
     -> Result<(), WriteError> {
        if page.lists.is_empty() {
            return Ok(());
        }
        let raw = encode_tops(page);
        let stored = titles::store(&raw, LEVEL)?;
        let before = root.tops.last().map_or(0, |t| t.lists_before + t.lists);
        root.tops.push(TopsRef {
            offset: 0,
            stored_len: stored.len() as u32,
            raw_len: raw.len() as u32,
            crc: crate::format::crc32(&stored),
            lists: page.lists.len() as u32,
            lists_before: before,
        });
        emit(&stored)?;
        *page = TopsPage::default();
        local.clear();
        Ok(())
    };
    for p in &prefixes {
        let pb = p.as_bytes();
        let probe = &pb[..pb.len().min(TRUNC as usize)];
        let from = recs.partition_point(|r| key_of(r) < probe);
        let mut best: Vec<(MatchKind, usize, u32)> = Vec::new();
        for r in recs[from..]
            .iter()
            .take_while(|r| key_of(r).starts_with(probe))
        {
            if !suffix(r).starts_with(*p) {
                continue;
            }
            let kind = if r.pos == 0 {
                MatchKind::TitleStart
            } else {
                MatchKind::WordStart
            };
            let cand = (kind, folded.get(r.row).len(), r.row);
            if let Some(i) = best.iter().position(|b| b.2 == r.row) {
                if cand < best[i] {
                    best.remove(i);
                } else {
                    continue;
                }
            }
            if best.len() == TOPS_N as usize && best.last().is_some_and(|w| cand >= *w) {
                continue;
            }
            let at = best.partition_point(|b| *b < cand);
            best.insert(at, cand);
            best.truncate(TOPS_N as usize);
        }
        let mut list = Vec::with_capacity(best.len());
        for (kind, _, row) in best {
            let i = match local.get(&row) {
                Some(&i) => i,
                None => {
                    let e = &entries[order[row as usize] as usize];
                    let key = e.key(keys).to_owned();
                    let title = title_of(e, spool)?;
                    tops_size += key.len() + title.as_ref().map_or(0, |t| t.len()) + 4;
                    let i = tops_page.rows.len() as u32;
                    tops_page.rows.push((key, title));
                    local.insert(row, i);
                    i
                }
            };
            list.push((i, kind));
            tops_size += 2;
        }
        tops_page.lists.push(list);
        root.prefixes.push(pb.to_vec());
        if tops_size > PAGE_TARGET {
            flush_tops(&mut tops_page, &mut local, &mut root)?;
            tops_size = 0;
        }
    }
    flush_tops(&mut tops_page, &mut local, &mut root)?;
    // Lists of prefixes with no results are not possible: every prefix counted has records.
    drop(recs);

    // The root lies right after the header, the pages after it.
    let root_raw = root.encode();
    if root_raw.len() > titles::MAX_ROOT_RAW {
        return Err(too_large("its root is over 4 MiB"));
    }
    let root_stored = titles::store(&root_raw, LEVEL)?;
    pages.finish_writing()?;
    let pages_len = pages.len();
    let head = Head {
        trunc: TRUNC,
        tops_n: TOPS_N,
        rows: n,
        root_len: root_stored.len() as u32,
        root_raw_len: root_raw.len() as u32,
        root_crc: crate::format::crc32(&root_stored),
        root_offset: titles::HEADER_LEN as u64,
    };
    Ok(Built {
        head,
        root: root_stored,
        pages,
        pages_len,
        pages_crc,
    })
}
