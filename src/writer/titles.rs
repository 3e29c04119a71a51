//! Building the title index (spec §14) at finish: every entry's title (or its key, when it
//! has none) folded, its title start and word starts sorted into list pages, the tops of the
//! busiest short prefixes, the root, and the header that ties them to the archive.
//!
//! Memory: the folded titles (one arena) and 8 bytes a record while sorting; titles and
//! keys are read back from the entry spool and the key arena as pages are written, and the
//! pages go to a spool of their own, so nothing else grows with the archive.

use std::collections::HashMap;

use super::spool::{Reader, Spool};
use super::Pending;
use crate::error::WriteError;
use crate::format::strings::{fields, Field};
use crate::format::titles::{
    self, encode_list, encode_tops, fold_title, word_starts, Head, MatchKind, PageRef, Record,
    RecordBody, Root, TopsPage, TopsRef,
};

/// The fewest bytes of a word start's suffix its record keeps (§14.4's `trunc`).
const TRUNC: u8 = 6;
/// At most this many word-start records share a key that is cut short of its suffix
/// (§14.4): longer keys where more would, so that a query longer than `trunc` checks at most
/// this many rows that do not match (§14.6).
const GROUP_MAX: usize = 16;
/// Results per tops list (§14.2's `tops_n`).
const TOPS_N: u8 = 10;
/// A prefix of one or two characters gets a tops list when more records than this start
/// with it: below that, scanning its records costs about a page.
const TOPS_MIN_RECORDS: usize = 256;
/// List pages over this many bytes are more than a remote reader fetches with the root
/// (quire's reader: 1 MiB): tops lists then also cover what would need a second request.
const LARGE: u64 = 1 << 20;
/// At most this many tops lists for prefixes of three or four characters, and of one or
/// two with fewer records than TOPS_MIN_RECORDS, in a large index.
const EXTRA_TOPS: usize = 4096;
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

/// One record while sorting (8 bytes): its row (title number) and the byte offset of its
/// word start in the folded title (0 for the title start).
#[derive(Clone, Copy)]
struct Rec {
    row: u32,
    pos: u16,
    /// The length of its key: the whole folded title for a title start ([`WHOLE`]), at
    /// least `min(TRUNC, suffix length)` bytes of the suffix for a word start.
    klen: u16,
}

/// [`Rec::klen`] of a title start: longer than any folded title, so its key is all of it.
const WHOLE: u16 = u16::MAX;

// A folded title is at most `MAX_TEXT` bytes: offsets and key lengths in it fit a u16.
const _: () = assert!(titles::MAX_TEXT < WHOLE as usize);

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
    Ok(title_in(&lead))
}

/// The title in an entry's `lead` (cut to §14's limit), if it has one.
fn title_in(lead: &[u8]) -> Option<String> {
    for f in fields(lead) {
        if let Ok(Field::Title(t)) = f {
            return Some(titles::cut(t, titles::MAX_TEXT).to_owned());
        }
    }
    None
}

/// The stored bytes of the list pages written so far.
fn pages_len_so_far(root: &Root) -> u64 {
    root.pages.iter().map(|p| u64::from(p.stored_len)).sum()
}

/// One record per row (its whole folded title) and one per word start in it, keys not yet
/// sized ([`key_lengths`]).
fn records(folded: &Folded, rows: u32) -> Vec<Rec> {
    let mut recs = Vec::new();
    for row in 0..rows {
        recs.push(Rec {
            row,
            pos: 0,
            klen: WHOLE,
        });
        for pos in word_starts(folded.get(row)) {
            recs.push(Rec {
                row,
                pos: pos as u16,
                klen: TRUNC.into(),
            });
        }
    }
    recs
}

/// Sets each word start's key length (§14.4): `TRUNC` bytes, or more where over
/// [`GROUP_MAX`] word starts would share a key cut short of their suffixes. Leaves `recs`
/// in no particular order.
///
/// In the order of their whole suffixes, the word starts that share a prefix of `k` bytes are
/// neighbours. A record's key is made one byte longer than the longest prefix that it shares
/// with `GROUP_MAX` neighbours in a row, so that no `GROUP_MAX + 1` records share a key that
/// is a proper prefix of a query (a candidate, §14.6). The result depends on the suffix
/// only (records with the same suffix are neighbours and get the same length), not on how
/// equal suffixes are ordered. Work: a sort and `GROUP_MAX` steps a record; memory: the
/// records themselves (their `klen` holds the shared prefixes on the way) and
/// `GROUP_MAX + 1` numbers.
fn key_lengths(recs: &mut [Rec], folded: &Folded) {
    let suffix = |r: &Rec| &folded.get(r.row).as_bytes()[r.pos as usize..];
    // Word starts first, in the order of their suffixes.
    let mut n = 0;
    for i in 0..recs.len() {
        if recs[i].pos != 0 {
            recs.swap(n, i);
            n += 1;
        }
    }
    let words = &mut recs[..n];
    if n <= GROUP_MAX {
        return;
    }
    words.sort_unstable_by(|a, b| suffix(a).cmp(suffix(b)));
    // lcp[j] (in words[j].klen): bytes that suffix j shares with suffix j - 1 (lcp[0] = 0).
    // At most MAX_TEXT, so it fits.
    for j in (1..n).rev() {
        let (a, b) = (suffix(&words[j - 1]), suffix(&words[j]));
        words[j].klen = a.iter().zip(b).take_while(|(x, y)| x == y).count() as u16;
    }
    words[0].klen = 0;
    // win[a] (in words[a].klen, a < windows): the prefix shared by all of records
    // a ..= a + GROUP_MAX, the least lcp over a + 1 ..= a + GROUP_MAX (all still lcps).
    let windows = n - GROUP_MAX;
    for a in 0..windows {
        words[a].klen = words[a + 1..=a + GROUP_MAX]
            .iter()
            .map(|r| r.klen)
            .min()
            .unwrap_or(0);
    }
    // Each record's length from the windows holding it, win[j - GROUP_MAX ..= j]: the last
    // GROUP_MAX + 1 of them kept aside, as the records get their lengths in turn.
    let mut ring = [0u16; GROUP_MAX + 1];
    for j in 0..n {
        if j < windows {
            ring[j % (GROUP_MAX + 1)] = words[j].klen;
        }
        let from = j.saturating_sub(GROUP_MAX);
        let to = j.min(windows - 1);
        let shared = (from..=to)
            .map(|a| ring[a % (GROUP_MAX + 1)])
            .max()
            .unwrap_or(0);
        let len = suffix(&words[j]).len() as u16;
        words[j].klen = u16::from(TRUNC).max(shared + 1).min(len);
    }
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
    // In key order, the order entries added in key order lie in the spool.
    let mut reader = Reader::new(spool);
    for p in entries {
        let f = match title_in(reader.read(p.spool_at, p.lead_len as usize)?) {
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

    let mut recs = records(&folded, n);
    key_lengths(&mut recs, &folded);
    let key_of = |r: &Rec| -> &[u8] {
        let s = &folded.get(r.row).as_bytes()[r.pos as usize..];
        &s[..s.len().min(r.klen as usize)]
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
                pos: u32::from(r.pos),
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
    // suffix that more than TOPS_MIN_RECORDS records start with. When the list pages are too
    // large for a remote reader to fetch whole with the root (`LARGE`), also the prefixes
    // of one to four characters whose suggestions would show a word start: its row lies in
    // another page than the range the prefix reads, and a tops list saves that request
    // (§14.6). At most EXTRA_TOPS of those, those most records start with first, so that the
    // root stays small.
    let large = pages_len_so_far(&root) > LARGE;
    let suffix = |r: &Rec| &folded.get(r.row)[r.pos as usize..];
    // Per prefix: records, and title starts, that start with it.
    let mut counts: HashMap<&str, (usize, usize)> = HashMap::new();
    let chars = if large { 4 } else { 2 };
    for r in &recs {
        let s = suffix(r);
        let mut ends = s
            .char_indices()
            .map(|(i, _)| i)
            .skip(1)
            .take(chars)
            .collect::<Vec<_>>();
        if ends.len() < chars && !s.is_empty() {
            ends.push(s.len());
        }
        ends.dedup();
        let start = usize::from(r.pos == 0);
        let c = counts.entry("").or_default();
        c.0 += 1;
        c.1 += start;
        for e in ends {
            let c = counts.entry(&s[..e]).or_default();
            c.0 += 1;
            c.1 += start;
        }
    }
    let char_count = |p: &str| p.chars().count();
    let mut extra: Vec<(&str, usize)> = Vec::new();
    let mut prefixes: Vec<&str> = Vec::new();
    for (p, (all, starts)) in counts {
        if all > TOPS_MIN_RECORDS && char_count(p) <= 2 {
            prefixes.push(p);
        } else if large && !p.is_empty() && starts < usize::from(TOPS_N) && all > starts {
            extra.push((p, all));
        }
    }
    extra.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    prefixes.extend(extra.iter().take(EXTRA_TOPS).map(|&(p, _)| p));
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The key lengths as dae3399 first computed them (an index array sorted by suffix, the
    /// shared prefixes and the windows in arrays of their own), by (row, pos).
    fn reference(recs: &[Rec], folded: &Folded) -> HashMap<(u32, u16), u16> {
        let suffix = |r: &Rec| &folded.get(r.row).as_bytes()[r.pos as usize..];
        let mut out: HashMap<(u32, u16), u16> =
            recs.iter().map(|r| ((r.row, r.pos), r.klen)).collect();
        let mut words: Vec<usize> = (0..recs.len()).filter(|&i| recs[i].pos != 0).collect();
        words.sort_unstable_by(|&a, &b| suffix(&recs[a]).cmp(suffix(&recs[b])));
        let n = words.len();
        if n <= GROUP_MAX {
            return out;
        }
        let mut lcp = vec![0u32; n];
        for j in 1..n {
            let (a, b) = (suffix(&recs[words[j - 1]]), suffix(&recs[words[j]]));
            lcp[j] = a.iter().zip(b).take_while(|(x, y)| x == y).count() as u32;
        }
        let windows = n - GROUP_MAX;
        let win: Vec<u32> = (0..windows)
            .map(|a| {
                lcp[a + 1..=a + GROUP_MAX]
                    .iter()
                    .copied()
                    .min()
                    .unwrap_or(0)
            })
            .collect();
        for (j, &i) in words.iter().enumerate() {
            let from = j.saturating_sub(GROUP_MAX);
            let to = j.min(windows - 1);
            let shared = win[from..=to].iter().copied().max().unwrap_or(0);
            let len = suffix(&recs[i]).len() as u32;
            let klen = u32::from(TRUNC).max(shared + 1).min(len);
            out.insert((recs[i].row, recs[i].pos), klen as u16);
        }
        out
    }

    /// Folded titles from a small vocabulary, so that many word starts share long prefixes
    /// (and whole suffixes), with some short words and a long repeated title.
    fn sample(count: usize) -> (Folded, Vec<Rec>) {
        let words = [
            "a",
            "an",
            "anna",
            "annals",
            "annalist",
            "banana",
            "bananas",
            "band",
            "bandana",
            "x",
            "xy",
            "zzzzzzzzzzzzzzzzzzzzzzz",
            "über",
            "überall",
            "東京",
            "東京都",
        ];
        let mut folded = Folded {
            text: String::new(),
            ends: Vec::new(),
        };
        let mut state = 0x2545_f491_u64;
        for i in 0..count {
            let mut title = String::new();
            let len = 1 + i % 7;
            for _ in 0..len {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                title.push_str(words[(state % words.len() as u64) as usize]);
                title.push(' ');
            }
            if i % 50 == 0 {
                title = "zzzzzzzzzzzzzzzzzzzzzzz ".repeat(40);
            }
            folded.text.push_str(&fold_title(&title));
            folded.ends.push(folded.text.len());
        }
        let recs = records(&folded, count as u32);
        (folded, recs)
    }

    #[test]
    fn key_lengths_in_place_match_the_arrays_they_replace() {
        for count in [0, 3, 10, 200, 3_000] {
            let (folded, mut recs) = sample(count);
            let want = reference(&recs, &folded);
            key_lengths(&mut recs, &folded);
            assert_eq!(recs.len(), want.len());
            let mut longer = 0;
            for r in &recs {
                assert_eq!(
                    Some(&r.klen),
                    want.get(&(r.row, r.pos)),
                    "{count}: {}",
                    r.row
                );
                if r.pos != 0 && r.klen > u16::from(TRUNC) {
                    longer += 1;
                }
            }
            if count >= 200 {
                assert!(longer > 0, "{count}: some keys must be lengthened");
            }
        }
    }

    #[test]
    fn no_more_than_group_max_word_starts_share_a_key_cut_short() {
        let (folded, mut recs) = sample(3_000);
        key_lengths(&mut recs, &folded);
        let mut by_key: HashMap<&[u8], (usize, bool)> = HashMap::new();
        for r in recs.iter().filter(|r| r.pos != 0) {
            let s = &folded.get(r.row).as_bytes()[r.pos as usize..];
            let k = &s[..s.len().min(r.klen as usize)];
            let e = by_key.entry(k).or_default();
            e.0 += 1;
            e.1 |= k.len() < s.len();
        }
        for (k, (n, cut)) in by_key {
            assert!(!cut || n <= GROUP_MAX, "{n} records share {k:?}");
        }
    }
}
