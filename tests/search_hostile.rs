//! Issue 23, "Hostile input": a crafted full-text index (spec §15) makes no query hang, crash
//! or use over 64 MiB. Each case here is a SEARCH section laid out node by node with every
//! checksum of the chain valid (the header's `head_crc` sealed to INDEX and DATA, the root's
//! CRC, every term page's, norms chunk's and document page's CRC in the root, every list's in
//! its term record, every block's in its head, the section table's and the prelude's), so that
//! what it claims reaches the logic behind the checks: huge counts, heads claiming many
//! blocks, blocks that lie about their documents, a root of 4 MiB of records, 64 query terms
//! with the longest lists, phrases over many candidates, limits of 10,000, norms of 0,
//! document pages at their limits.
//!
//! For each case, searches and term lookups and `verify` finish (on a worker thread with a
//! deadline, so that a hang is a failure), never panic, and either give exactly what a
//! brute-force reading of §15.2 gives or fail with `damaged_search_index`. The peak heap of
//! the whole case stays under 64 MiB (counting allocator), and the full-text nodes a query
//! visits (`ReadCounters::search_nodes`: term pages, heads, blocks, norms chunks, document
//! pages, cached or not) stay within `64 + 2 · (section bytes)`: a query looks up at most 64
//! terms, decodes each block at most once per list, and reads a norm per candidate and a
//! document row per result, every one of which takes at least a byte of the section. Every
//! case runs again over a source flagged remote (as a URL is), with the same bounds.
//!
//! Each test runs in a process of its own (the allocator's peak is global): `common::alloc::alone`.
#![cfg(feature = "fulltext")]

use crate::common;
use crate::common::alloc::alone;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use quire::format::header::{encode_prelude, prelude_len, Prelude, SectionRecord};
use quire::format::search::{
    self, encode_docs, encode_terms, norm_len, put_head_entry, put_postings, BlockEntry, Bm25,
    DocPageRef, DocRow, Head, NormsRef, Postings, Root, TermPageRef, TermRecord,
};
use quire::format::{self, titles, Header, SectionId};
use quire::source::ByteSource;
use quire::{Archive, ArchiveWriter, DictionaryMode, IndexKind, NewEntry, WriterOptions};

const HEAP_LIMIT: usize = 64 << 20;
const TOKENIZER: &str = "quire-text/1 lang=und stem=none cjk=bigram";

// ---------------------------------------------------------------------------------------
// A base archive without a full-text index, and a SEARCH section crafted for it.

/// An archive packed without indexes, taken apart: a SEARCH section is added to it.
struct Base {
    header: Header,
    meta: Vec<u8>,
    ctypes: Vec<u8>,
    proot: Vec<u8>,
    sections: Vec<(u32, Vec<u8>)>,
    index_crc: u32,
    data_crc: u32,
    keys: Vec<String>,
}

/// `n` entries of plain text: key `key(i)`, body `body(i)`.
fn base(n: usize, key: impl Fn(usize) -> String, body: impl Fn(usize) -> String) -> Base {
    let opts = WriterOptions::new()
        .index(IndexKind::None)
        .level(1)
        .block_size(64 << 10)
        .dictionary(DictionaryMode::Off)
        .threads(1)
        .created(0);
    let mut w = ArchiveWriter::in_memory(opts).unwrap();
    let mut keys = Vec::with_capacity(n);
    for i in 0..n {
        let k = key(i);
        w.add(&NewEntry::new(&k, body(i).as_bytes()).content_type("text/plain"))
            .unwrap();
        keys.push(k);
    }
    keys.sort();
    let b = w.finish_into_inner().unwrap().0.into_inner();
    let p = Prelude::decode(&b, b.len() as u64).unwrap();
    let sections: Vec<(u32, Vec<u8>)> = p
        .sections
        .iter()
        .map(|s| {
            (
                s.id,
                b[s.offset as usize..(s.offset + s.length) as usize].to_vec(),
            )
        })
        .collect();
    assert!(sections.iter().all(|s| s.0 != search::SECTION_ID));
    let crc = |id: SectionId| p.sections.iter().find(|s| s.id == id as u32).unwrap().crc;
    Base {
        header: p.header.clone(),
        meta: p.meta.to_vec(),
        ctypes: p.ctypes.to_vec(),
        proot: p.root.to_vec(),
        index_crc: crc(SectionId::Index),
        data_crc: crc(SectionId::Data),
        sections,
        keys,
    }
}

fn key_of(i: usize) -> String {
    format!("d/{i:05}")
}

impl Base {
    /// The file with `section` as its SEARCH (added last), every section CRC and the
    /// prelude computed.
    fn file_with(&self, section: &[u8]) -> Vec<u8> {
        let mut sections: Vec<(u32, &[u8])> =
            self.sections.iter().map(|(i, b)| (*i, &b[..])).collect();
        sections.push((search::SECTION_ID, section));
        let mut at = prelude_len(
            sections.len(),
            self.meta.len(),
            self.ctypes.len(),
            self.proot.len(),
        ) as u64;
        let mut records = Vec::new();
        for (id, bytes) in &sections {
            records.push(SectionRecord {
                id: *id,
                offset: at,
                length: bytes.len() as u64,
                crc: format::crc32(bytes),
            });
            at += bytes.len() as u64;
        }
        let mut h = self.header.clone();
        h.file_len = at;
        let mut out = encode_prelude(&h, &records, &self.meta, &self.ctypes, &self.proot);
        for (_, bytes) in &sections {
            out.extend_from_slice(bytes);
        }
        out
    }
}

/// How a term's postings are laid out.
#[derive(Clone)]
enum List {
    /// In the term record.
    Inline(Vec<(u32, u32)>),
    /// One block in POSTINGS (at most 128 postings).
    Block(Vec<(u32, u32)>),
    /// A head and its blocks of 128, bounds computed from the norms.
    Headed(Vec<(u32, u32)>),
    /// Any bytes: the record says `df` and the list is `head` then `blocks`, the head's CRC
    /// right (for `df ≤ 128` without a head: `blocks` is the block).
    Raw {
        df: u32,
        head: Vec<u8>,
        blocks: Vec<u8>,
    },
}

impl List {
    fn postings(&self) -> Option<&[(u32, u32)]> {
        match self {
            List::Inline(p) | List::Block(p) | List::Headed(p) => Some(p),
            List::Raw { .. } => None,
        }
    }
}

/// A full-text index as the case wants it; `section` lays it out.
#[derive(Clone)]
struct Idx {
    /// Header figures; `doc_count`, `token_sum`, `term_count`, `posting_count` and the root's
    /// fields are filled in by `section` unless `keep_counts`.
    head: Head,
    keep_counts: bool,
    tokenizer: String,
    /// Term pages: (term, list) in term order.
    pages: Vec<Vec<(String, List)>>,
    /// The norm code of each entry.
    norms: Vec<u8>,
    /// Each entry's length, when the norms are the lists' (`honest`).
    dl: Vec<u64>,
    /// Rows per document page.
    rows_per_page: usize,
    /// Row `d`'s title, if any (indexed rows only).
    titles: BTreeMap<u32, String>,
    /// The root as it is, instead of its encoding.
    root_override: Option<Vec<u8>>,
    /// Whether nodes are compressed (tiny ones are cheaper raw).
    compress: bool,
}

fn store(raw: &[u8], compress: bool) -> Vec<u8> {
    if compress {
        titles::store(raw, 1).unwrap()
    } else {
        raw.to_vec()
    }
}

impl Idx {
    fn new(entries: usize) -> Idx {
        Idx {
            head: Head {
                title_weight: 2,
                k1: 1200,
                b: 750,
                entries: entries as u32,
                ..Default::default()
            },
            keep_counts: false,
            tokenizer: TOKENIZER.to_string(),
            pages: Vec::new(),
            norms: vec![0; entries],
            dl: Vec::new(),
            rows_per_page: 256,
            titles: BTreeMap::new(),
            root_override: None,
            compress: true,
        }
    }

    fn bm25(&self) -> Bm25 {
        let mut h = self.head;
        self.fill_counts(&mut h);
        h.bm25()
    }

    fn fill_counts(&self, h: &mut Head) {
        if self.keep_counts {
            return;
        }
        h.doc_count = self.norms.iter().filter(|&&n| n != 0).count() as u32;
        h.token_sum = if self.dl.is_empty() {
            self.norms.iter().map(|&n| norm_len(n)).sum()
        } else {
            self.dl.iter().sum()
        };
        h.term_count = self.pages.iter().map(|p| p.len() as u32).sum();
        h.posting_count = self
            .pages
            .iter()
            .flatten()
            .map(|(_, l)| match l {
                List::Raw { df, .. } => u64::from(*df),
                l => l.postings().map_or(0, |p| p.len() as u64),
            })
            .sum();
    }

    /// The section's bytes, every checksum right.
    fn section(&self, base: &Base) -> Vec<u8> {
        let mut head = self.head;
        self.fill_counts(&mut head);
        let bm25 = head.bm25();
        let mut root = Root {
            tokenizer: self.tokenizer.clone(),
            ..Default::default()
        };
        let mut term_bytes = Vec::new();
        let mut postings = Vec::new();
        for page in &self.pages {
            let post_start = postings.len();
            let mut records = Vec::new();
            for (term, list) in page {
                let (df, p) = match list {
                    List::Inline(p) => (p.len() as u32, Postings::Inline(p.clone())),
                    List::Block(p) => {
                        let mut b = Vec::new();
                        put_postings(&mut b, None, p);
                        postings.extend_from_slice(&b);
                        (
                            p.len() as u32,
                            Postings::Block {
                                offset: 0,
                                len: b.len() as u32,
                                crc: format::crc32(&b),
                            },
                        )
                    }
                    List::Headed(p) => {
                        let mut head_bytes = Vec::new();
                        let mut blocks = Vec::new();
                        let mut prev: Option<u32> = None;
                        for chunk in p.chunks(search::BLOCK_POSTINGS) {
                            let mut b = Vec::new();
                            put_postings(&mut b, prev, chunk);
                            let (max_tf, max_norm) = chunk
                                .iter()
                                .map(|&(d, tf)| (tf, self.norms[d as usize].max(1)))
                                .max_by_key(|&(tf, n)| bm25.tfn(tf.into(), n))
                                .unwrap();
                            let last = chunk.last().unwrap().0;
                            put_head_entry(
                                &mut head_bytes,
                                prev,
                                &BlockEntry {
                                    last,
                                    offset: 0,
                                    len: b.len() as u32,
                                    max_tf,
                                    max_norm,
                                    crc: format::crc32(&b),
                                },
                            );
                            prev = Some(last);
                            blocks.extend_from_slice(&b);
                        }
                        let rec = Postings::Headed {
                            offset: 0,
                            head_len: head_bytes.len() as u32,
                            list_len: (head_bytes.len() + blocks.len()) as u64,
                            crc: format::crc32(&head_bytes),
                        };
                        postings.extend_from_slice(&head_bytes);
                        postings.extend_from_slice(&blocks);
                        (p.len() as u32, rec)
                    }
                    List::Raw { df, head, blocks } => {
                        let rec = if head.is_empty() {
                            Postings::Block {
                                offset: 0,
                                len: blocks.len() as u32,
                                crc: format::crc32(blocks),
                            }
                        } else {
                            Postings::Headed {
                                offset: 0,
                                head_len: head.len() as u32,
                                list_len: (head.len() + blocks.len()) as u64,
                                crc: format::crc32(head),
                            }
                        };
                        postings.extend_from_slice(head);
                        postings.extend_from_slice(blocks);
                        (*df, rec)
                    }
                };
                records.push(TermRecord {
                    term: term.as_bytes().to_vec(),
                    df,
                    postings: p,
                });
            }
            let raw = encode_terms(&records);
            let stored = store(&raw, self.compress);
            root.terms.push(TermPageRef {
                stored_len: stored.len() as u32,
                raw_len: raw.len() as u32,
                crc: format::crc32(&stored),
                terms: records.len() as u32,
                post_len: (postings.len() - post_start) as u64,
                first: records[0].term.clone(),
                ..Default::default()
            });
            term_bytes.extend_from_slice(&stored);
        }
        let mut norm_bytes = Vec::new();
        for chunk in self.norms.chunks(search::NORMS_CHUNK as usize) {
            let stored = store(chunk, true);
            root.norms.push(NormsRef {
                stored_len: stored.len() as u32,
                raw_len: chunk.len() as u32,
                crc: format::crc32(&stored),
                ..Default::default()
            });
            norm_bytes.extend_from_slice(&stored);
        }
        let mut doc_bytes = Vec::new();
        let entries = self.norms.len();
        for start in (0..entries).step_by(self.rows_per_page.max(1)) {
            let end = (start + self.rows_per_page).min(entries);
            let rows: Vec<Option<DocRow>> = (start..end)
                .map(|d| {
                    (self.norms[d] != 0).then(|| DocRow {
                        key: base.keys[d].clone(),
                        title: self.titles.get(&(d as u32)).cloned(),
                    })
                })
                .collect();
            let raw = encode_docs(&rows);
            let stored = store(&raw, true);
            root.docs.push(DocPageRef {
                stored_len: stored.len() as u32,
                raw_len: raw.len() as u32,
                crc: format::crc32(&stored),
                rows: rows.len() as u32,
                ..Default::default()
            });
            doc_bytes.extend_from_slice(&stored);
        }
        let root_raw = self.root_override.clone().unwrap_or_else(|| root.encode());
        let root_stored = titles::store(&root_raw, 1).unwrap();
        head.root_len = root_stored.len() as u32;
        head.root_raw_len = root_raw.len() as u32;
        head.root_crc = format::crc32(&root_stored);
        let mut s = head.encode(base.index_crc, base.data_crc).to_vec();
        for part in [root_stored, term_bytes, postings, norm_bytes, doc_bytes] {
            s.extend_from_slice(&part);
        }
        s
    }

    /// The lengths and norms that the lists give, each entry's text being its terms, each
    /// as many times as its `tf` (what the base archive holds: `bodies`).
    fn honest(&mut self) {
        let n = self.norms.len();
        let mut dl = vec![0; n];
        for (_, p) in self.lists() {
            for &(d, tf) in p {
                dl[d as usize] += u64::from(tf);
            }
        }
        self.dl = dl;
        self.norms = self.dl.iter().map(|&l| search::norm_code(l)).collect();
    }

    /// The entries' texts: each term as many times as its `tf`.
    fn bodies(&self) -> Vec<String> {
        let mut b = vec![String::new(); self.norms.len()];
        for (t, p) in self.lists() {
            for &(d, tf) in p {
                for _ in 0..tf {
                    b[d as usize].push_str(t);
                    b[d as usize].push(' ');
                }
            }
        }
        b
    }

    /// The base archive whose entries hold the texts of `bodies`, the norms made `honest`.
    fn base(&mut self) -> Base {
        self.base_with(key_of)
    }

    /// `base` with keys `key(i)` (in key order).
    fn base_with(&mut self, key: fn(usize) -> String) -> Base {
        self.honest();
        let bodies = self.bodies();
        base(bodies.len(), key, |i| bodies[i].clone())
    }

    /// The lists the case lays out honestly: (term, postings).
    fn lists(&self) -> impl Iterator<Item = (&str, &[(u32, u32)])> {
        self.pages
            .iter()
            .flatten()
            .filter_map(|(t, l)| l.postings().map(|p| (t.as_str(), p)))
    }

    /// Every term's postings, for the lists the case lays out honestly.
    fn model(&self) -> BTreeMap<String, Vec<(u32, u32)>> {
        self.pages
            .iter()
            .flatten()
            .filter_map(|(t, l)| l.postings().map(|p| (t.clone(), p.to_vec())))
            .collect()
    }
}

/// §15.2 by brute force: the documents holding every term, by score then document.
fn brute(
    idx: &Idx,
    model: &BTreeMap<String, Vec<(u32, u32)>>,
    terms: &[&str],
    limit: usize,
) -> Vec<(u64, u64)> {
    let bm25 = idx.bm25();
    let mut terms: Vec<&str> = terms.to_vec();
    terms.sort_unstable();
    terms.dedup();
    let mut scores: BTreeMap<u32, (usize, u64)> = BTreeMap::new();
    for t in &terms {
        let Some(p) = model.get(*t) else {
            return Vec::new();
        };
        let idf = bm25.idf(p.len() as u64);
        for &(d, tf) in p {
            let e = scores.entry(d).or_default();
            e.0 += 1;
            e.1 += idf * bm25.tfn(tf.into(), idx.norms[d as usize]);
        }
    }
    let mut hits: Vec<(u64, u64)> = scores
        .into_iter()
        .filter(|(_, (n, _))| *n == terms.len())
        .map(|(d, (_, s))| (s, u64::from(d)))
        .collect();
    hits.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    hits.truncate(limit.min(10_000));
    hits
}

// ---------------------------------------------------------------------------------------
// Running a case.

/// Bytes in memory that say they are remote (as a URL is) and count what is asked of them.
struct Remote {
    bytes: Arc<Vec<u8>>,
    reads: AtomicU64,
    bytes_read: AtomicU64,
}

impl ByteSource for Remote {
    fn size(&self) -> u64 {
        self.bytes.len() as u64
    }
    fn read_at(&self, offset: u64, len: usize) -> io::Result<Cow<'_, [u8]>> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        self.bytes_read.fetch_add(len as u64, Ordering::Relaxed);
        ByteSource::read_at(&*self.bytes, offset, len)
    }
    fn prefetch(&self, _ranges: &[Range<u64>]) {}
    fn is_remote(&self) -> bool {
        true
    }
}

/// What a case expects of its queries.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Expect {
    /// Every query gives §15.2's results and verification passes.
    Exact,
    /// Queries give §15.2's results or `damaged_search_index`; verification reports the
    /// damage.
    Damaged,
    /// As `Exact`, without full verification (which re-analyses every entry: too slow for
    /// the README's debug `cargo test` on the largest cases).
    ExactUnverified,
}

/// A query: its text, its limit, and its terms for the brute force (`None`: no check of
/// the results, e.g. phrases, whose answer the case states itself).
struct Query {
    text: String,
    limit: usize,
    terms: Option<Vec<String>>,
}

fn q(text: &str, limit: usize) -> Query {
    Query {
        text: text.to_string(),
        limit,
        terms: Some(text.split(' ').map(str::to_string).collect()),
    }
}

/// What a case measured.
#[derive(Debug, Default, Clone)]
struct Figures {
    peak: usize,
    max_nodes: u64,
    section_len: u64,
    errors: usize,
    remote_reads: u64,
}

/// Runs `queries` and `verify` on `file`, locally and over a remote-flagged source, with the
/// bounds of the module's comment; `results` (one per query, with `None` for those the
/// brute force checks) are compared where given.
fn run(
    name: &str,
    file: Vec<u8>,
    idx: Option<&Idx>,
    queries: Vec<Query>,
    expect: Expect,
) -> Figures {
    let file = Arc::new(file);
    let model = idx.map(Idx::model);
    let expected: Vec<Option<Vec<(u64, u64)>>> = queries
        .iter()
        .map(|qr| {
            let terms = qr.terms.as_ref()?;
            let (idx, model) = (idx?, model.as_ref()?);
            let t: Vec<&str> = terms.iter().map(String::as_str).collect();
            Some(brute(idx, model, &t, qr.limit))
        })
        .collect();
    drop(model);
    let section_len = {
        let p = Prelude::decode(&file, file.len() as u64).unwrap();
        p.sections
            .iter()
            .find(|s| s.id == search::SECTION_ID)
            .map_or(0, |s| s.length)
    };
    let mut figures = Figures {
        section_len,
        ..Default::default()
    };
    for remote in [false, true] {
        let what = format!("{name} ({})", if remote { "remote" } else { "local" });
        let file = Arc::clone(&file);
        let queries: Vec<(String, usize)> =
            queries.iter().map(|q| (q.text.clone(), q.limit)).collect();
        let expected = expected.clone();
        let what2 = what.clone();
        let ((max_nodes, errors, reads), peak) = common::alloc::bounded(&what, move || {
            let src = Remote {
                bytes: file,
                reads: AtomicU64::new(0),
                bytes_read: AtomicU64::new(0),
            };
            if remote {
                let a = Archive::new(src).unwrap();
                let (nodes, errors) = check(&what2, &a, &queries, &expected, expect);
                (nodes, errors, a.source().reads.load(Ordering::Relaxed))
            } else {
                let a = Archive::new(src.bytes.as_slice().to_vec()).unwrap();
                let (nodes, errors) = check(&what2, &a, &queries, &expected, expect);
                (nodes, errors, 0)
            }
        });
        assert!(
            peak <= HEAP_LIMIT,
            "{what}: peak heap {peak} bytes, over 64 MiB"
        );
        assert!(
            max_nodes <= 64 + 2 * section_len,
            "{what}: a query visited {max_nodes} nodes of a {section_len}-byte section"
        );
        figures.peak = figures.peak.max(peak);
        figures.max_nodes = figures.max_nodes.max(max_nodes);
        figures.errors = figures.errors.max(errors);
        if remote {
            figures.remote_reads = reads;
        }
    }
    eprintln!(
        "{name}: peak heap {} B; at most {} nodes visited by a query, of a {}-byte section; \
         {} queries failed; {} reads over the remote source",
        figures.peak, figures.max_nodes, figures.section_len, figures.errors, figures.remote_reads
    );
    figures
}

/// Queries, term lookups and verification on one archive: (most nodes a query visited,
/// queries that failed).
fn check<S: ByteSource>(
    what: &str,
    a: &Archive<S>,
    queries: &[(String, usize)],
    expected: &[Option<Vec<(u64, u64)>>],
    expect: Expect,
) -> (u64, usize) {
    let mut max_nodes = 0;
    let mut errors = 0;
    for ((text, limit), want) in queries.iter().zip(expected) {
        a.reset_counters();
        let got = a.search(text, *limit);
        max_nodes = max_nodes.max(a.counters().search_nodes);
        match got {
            Ok(hits) => {
                assert!(hits.len() <= (*limit).min(10_000), "{what}: {text:?}");
                if let Some(want) = want {
                    let got: Vec<(u64, u64)> = hits.iter().map(|h| (h.score, h.index)).collect();
                    assert_eq!(&got, want, "{what}: {text:?} limit {limit}");
                }
            }
            Err(e) => {
                assert_eq!(
                    e.code(),
                    "damaged_search_index",
                    "{what}: {text:?}: untyped error: {e}"
                );
                assert_eq!(expect, Expect::Damaged, "{what}: {text:?}: {e}");
                errors += 1;
            }
        }
        // The term lookup of the query's first word.
        if let Some(t) = text.split(' ').next().filter(|t| !t.starts_with('"')) {
            a.reset_counters();
            let got = a.search_postings(t);
            max_nodes = max_nodes.max(a.counters().search_nodes);
            if let Err(e) = got {
                assert_eq!(
                    e.code(),
                    "damaged_search_index",
                    "{what}: postings of {t:?}"
                );
                assert_eq!(expect, Expect::Damaged, "{what}: postings of {t:?}: {e}");
            }
        }
    }
    if expect == Expect::ExactUnverified {
        return (max_nodes, errors);
    }
    let report = a.verify();
    let search_faults = report
        .problems
        .iter()
        .filter(|d| quire::error::damage_code(d.at, d.kind) == "damaged_search_index")
        .count();
    match expect {
        Expect::Exact | Expect::ExactUnverified => {
            assert!(report.is_ok(), "{what}: verify: {:?}", report.problems)
        }
        Expect::Damaged => assert!(
            search_faults > 0 || errors > 0,
            "{what}: the damage went unreported"
        ),
    }
    (max_nodes, errors)
}

// ---------------------------------------------------------------------------------------
// Cases.

/// `n` entries, every `step`-th holding term `name` with `tf` from the document number.
fn spread(n: usize, step: usize, tf: impl Fn(usize) -> u32) -> Vec<(u32, u32)> {
    (0..n).step_by(step).map(|d| (d as u32, tf(d))).collect()
}

#[test]
fn a_crafted_index_laid_out_honestly_answers_as_the_brute_force() {
    let Some(_g) = alone() else { return };
    let n = 600;
    let mut idx = Idx::new(n);
    idx.pages = vec![
        vec![
            (
                "alpha".into(),
                List::Inline(spread(n, 97, |d| 1 + d as u32 % 3)),
            ),
            ("beta".into(), List::Block(spread(n, 5, |_| 1))),
            (
                "gamma".into(),
                List::Headed(spread(n, 1, |d| 1 + (d % 5) as u32)),
            ),
        ],
        vec![
            (
                "omega".into(),
                List::Headed(spread(n, 2, |d| 1 + (d % 11) as u32)),
            ),
            ("zeta".into(), List::Block(spread(n, 300, |_| 3000))),
        ],
    ];
    let b = idx.base();
    let file = b.file_with(&idx.section(&b));
    let queries = vec![
        q("gamma", 10),
        q("gamma omega", 10),
        q("beta gamma omega", 1000),
        q("alpha", 3),
        q("alpha gamma", 10_000),
        q("zeta", 10),
        q("missing", 10),
        q("omega", usize::MAX),
    ];
    run("honest", file, Some(&idx), queries, Expect::Exact);
}

/// A list laid out honestly, as raw bytes: (head, blocks), with the bounds of `idx`.
fn raw_headed(b: &Base, idx: &Idx, p: &[(u32, u32)]) -> (Vec<u8>, Vec<u8>) {
    let mut one = idx.clone();
    one.pages = vec![vec![("x".into(), List::Headed(p.to_vec()))]];
    let s = one.section(b);
    // The list is POSTINGS: after the header, root and the one term page.
    let head = Head::decode(&s, b.index_crc, b.data_crc, s.len() as u64).unwrap();
    let root_raw = titles::unstore(
        &s[64..64 + head.root_len as usize],
        head.root_raw_len,
        head.root_crc,
        search::MAX_ROOT_RAW,
    )
    .unwrap();
    let root = Root::decode(&root_raw, &head, s.len() as u64).unwrap();
    let t = &root.terms[0];
    let raw = titles::unstore(
        &s[t.offset as usize..(t.offset + u64::from(t.stored_len)) as usize],
        t.raw_len,
        t.crc,
        search::MAX_PAGE_RAW,
    )
    .unwrap();
    let page = search::decode_terms(&raw, t, None, &head).unwrap();
    let Postings::Headed {
        head_len, list_len, ..
    } = page.records[0].postings
    else {
        panic!("not headed")
    };
    let at = t.post_offset as usize;
    (
        s[at..at + head_len as usize].to_vec(),
        s[at + head_len as usize..at + list_len as usize].to_vec(),
    )
}

#[test]
fn huge_claims_in_the_header_and_the_term_records() {
    let Some(_g) = alone() else { return };
    let n = 600;
    let mut idx = Idx::new(n);
    idx.pages = vec![vec![
        (
            "all".into(),
            List::Headed(spread(n, 1, |d| 1 + d as u32 % 9)),
        ),
        ("half".into(), List::Headed(spread(n, 2, |_| 2))),
        ("rare".into(), List::Inline(spread(n, 250, |_| 3))),
    ]];
    let b = &idx.base();
    let queries = || {
        vec![
            q("all", 10),
            q("all half", 100),
            q("half rare", 10),
            q("all half rare", 10_000),
        ]
    };
    run(
        "honest",
        b.file_with(&idx.section(b)),
        Some(&idx),
        queries(),
        Expect::Exact,
    );
    // The largest figures the header allows: T just under 2^48, k1 10,000, b 1,000, W 16,
    // and tf 2^32 - 1 (lies that only the analysis of the entries in full verification
    // sees).
    let mut big = idx.clone();
    big.pages[0][1].1 = List::Headed(spread(n, 2, |_| u32::MAX));
    big.head.title_weight = 16;
    big.head.k1 = 10_000;
    big.head.b = 1000;
    big.fill_counts(&mut big.head.clone());
    let mut h = big.head;
    idx.fill_counts(&mut h);
    h.token_sum = search::MAX_TOKEN_SUM - 1;
    big.head = h;
    big.keep_counts = true;
    let file = b.file_with(&big.section(b));
    run(
        "largest header figures",
        file,
        Some(&big),
        queries(),
        Expect::Damaged,
    );

    // posting_count at its largest (term_count · D): a lie only full verification sees.
    let mut lie = idx.clone();
    let mut h = lie.head;
    lie.fill_counts(&mut h);
    h.posting_count = u64::from(h.term_count) * u64::from(h.doc_count);
    lie.head = h;
    lie.keep_counts = true;
    let file = b.file_with(&lie.section(b));
    run(
        "posting_count at term_count·D",
        file,
        Some(&lie),
        queries(),
        Expect::Damaged,
    );

    // A record claiming df = D over a list of 300 postings: its head has 3 blocks, not 5.
    let (head, blocks) = raw_headed(b, &idx, &spread(n, 2, |_| 1));
    let mut df = idx.clone();
    df.pages[0][1].1 = List::Raw {
        df: 600,
        head: head.clone(),
        blocks: blocks.clone(),
    };
    let file = b.file_with(&df.section(b));
    run(
        "df claims D over 300 postings",
        file,
        Some(&df),
        queries(),
        Expect::Damaged,
    );

    // A record claiming df = D, its head 1 MiB of 0xFF (so at least 8 bytes a block).
    let mut long = idx.clone();
    long.pages[0][1].1 = List::Raw {
        df: 600,
        head: vec![0xFF; 1 << 20],
        blocks: vec![1; 600],
    };
    let file = b.file_with(&long.section(b));
    run(
        "a 1 MiB head of 0xFF",
        file,
        Some(&long),
        queries(),
        Expect::Damaged,
    );

    // The same head padded with valid-looking entries: 8,192 entries of 128 documents each
    // for a list of 600 postings (the head must have exactly ceil(df / 128)).
    let mut padded = head.clone();
    for _ in 0..8192 {
        padded.extend_from_slice(&[1, 1, 1, 1, 0, 0, 0, 0]);
    }
    let mut pad = idx.clone();
    pad.pages[0][1].1 = List::Raw {
        df: 300,
        head: padded,
        blocks,
    };
    let file = b.file_with(&pad.section(b));
    run(
        "a head with 8,192 extra entries",
        file,
        Some(&pad),
        queries(),
        Expect::Damaged,
    );

    // doc_count and token_sum that are not the norms' (only full verification sees it);
    // the scores follow the header, as the brute force does.
    let mut counts = idx.clone();
    let mut h = counts.head;
    counts.fill_counts(&mut h);
    h.doc_count = 600;
    h.token_sum = 10_000_000;
    counts.head = h;
    counts.keep_counts = true;
    counts.norms[599] = 0;
    counts.pages[0][0].1 = List::Headed(spread(599, 1, |d| 1 + d as u32 % 9));
    counts.pages[0][1].1 = List::Headed(spread(599, 2, |_| 2));
    let file = b.file_with(&counts.section(b));
    run(
        "doc_count over the norms",
        file,
        Some(&counts),
        queries(),
        Expect::Damaged,
    );
}

#[test]
fn blocks_that_lie_about_their_documents() {
    let Some(_g) = alone() else { return };
    let n = 600;
    let mut idx = Idx::new(n);
    let all = spread(n, 1, |d| 1 + d as u32 % 4);
    idx.pages = vec![vec![
        ("all".into(), List::Headed(all.clone())),
        ("some".into(), List::Block(spread(n, 7, |_| 2))),
    ]];
    let b = &idx.base();
    let queries = || vec![q("all", 10), q("all some", 10), q("some all", 1000)];
    let (head, blocks) = raw_headed(b, &idx, &all);
    let block0_len = {
        let mut x = Vec::new();
        put_postings(&mut x, None, &all[..128]);
        x.len()
    };
    // Every block the same bytes as block 0 (so the same documents, again and again), the
    // head's CRCs and lengths made to match.
    let mut same = Vec::new();
    let mut same_head = Vec::new();
    let b0 = &blocks[..block0_len];
    let mut prev = None;
    for (i, chunk) in all.chunks(128).enumerate() {
        let last = chunk.last().unwrap().0;
        put_head_entry(
            &mut same_head,
            prev,
            &BlockEntry {
                last,
                offset: 0,
                len: b0.len() as u32,
                max_tf: 4,
                max_norm: 1,
                crc: format::crc32(b0),
            },
        );
        let _ = i;
        prev = Some(last);
        same.extend_from_slice(b0);
    }
    let mut rep = idx.clone();
    rep.pages[0][0].1 = List::Raw {
        df: all.len() as u32,
        head: same_head,
        blocks: same,
    };
    let file = b.file_with(&rep.section(b));
    run(
        "blocks repeating block 0",
        file,
        Some(&rep),
        queries(),
        Expect::Damaged,
    );

    // The head's last documents shifted by one: block 0 says it ends at 128, not 127.
    let mut shifted = Vec::new();
    let mut c = 0;
    let mut first = true;
    while c < head.len() {
        // Entries: last_delta, blen (2 bytes at most), max_tf, max_norm, crc.
        let entry_len = {
            let mut k = c;
            for _ in 0..3 {
                while head[k] & 0x80 != 0 {
                    k += 1;
                }
                k += 1;
            }
            k + 5 - c
        };
        let mut e = head[c..c + entry_len].to_vec();
        if first {
            e[0] += 1;
            first = false;
        }
        shifted.extend_from_slice(&e);
        c += entry_len;
    }
    let mut sh = idx.clone();
    sh.pages[0][0].1 = List::Raw {
        df: all.len() as u32,
        head: shifted,
        blocks: blocks.clone(),
    };
    let file = b.file_with(&sh.section(b));
    run(
        "a head whose lasts are off by one",
        file,
        Some(&sh),
        queries(),
        Expect::Damaged,
    );

    // A block whose documents run past the entries.
    let mut past = idx.clone();
    let mut pb = Vec::new();
    put_postings(&mut pb, None, &[(10, 1), (599, 1)]);
    pb.push(0x03); // one more posting: document 600
    past.pages[0][1].1 = List::Raw {
        df: 3,
        head: Vec::new(),
        blocks: pb,
    };
    let file = b.file_with(&past.section(b));
    run(
        "a block past the last entry",
        file,
        Some(&past),
        queries(),
        Expect::Damaged,
    );

    // Bounds that lie: every block's max_tf 1, max_norm 255 (below its postings' tfn).
    let mut low = Vec::new();
    let mut prev = None;
    let mut at = 0;
    for chunk in all.chunks(128) {
        let mut x = Vec::new();
        put_postings(&mut x, prev, chunk);
        let last = chunk.last().unwrap().0;
        put_head_entry(
            &mut low,
            prev,
            &BlockEntry {
                last,
                offset: 0,
                len: x.len() as u32,
                max_tf: 1,
                max_norm: 255,
                crc: format::crc32(&blocks[at..at + x.len()]),
            },
        );
        at += x.len();
        prev = Some(last);
    }
    let mut lb = idx.clone();
    lb.pages[0][0].1 = List::Raw {
        df: all.len() as u32,
        head: low,
        blocks,
    };
    let file = b.file_with(&lb.section(b));
    run(
        "bounds below the postings",
        file,
        Some(&lb),
        queries(),
        Expect::Damaged,
    );
}

#[test]
fn norms_of_zero() {
    let Some(_g) = alone() else { return };
    let n = 600;
    let mut idx = Idx::new(n);
    idx.pages = vec![vec![
        ("all".into(), List::Headed(spread(n, 1, |_| 1))),
        ("few".into(), List::Inline(spread(n, 60, |_| 1))),
    ]];
    let b = &idx.base();
    idx.keep_counts = false;
    // Document 120 (in both lists) has norm 0.
    let mut zero = idx.clone();
    let mut h = zero.head;
    zero.fill_counts(&mut h);
    zero.head = h;
    zero.keep_counts = true;
    zero.norms[120] = 0;
    let file = b.file_with(&zero.section(b));
    let queries = vec![q("few", 10), q("all few", 10), q("all", 700)];
    run(
        "a posting of a norm-0 document",
        file,
        None,
        queries,
        Expect::Damaged,
    );

    // Every norm 0, the header's counts kept: doc_count without a document.
    let mut none = idx.clone();
    let mut h = none.head;
    none.fill_counts(&mut h);
    none.head = h;
    none.keep_counts = true;
    none.norms = vec![0; n];
    let file = b.file_with(&none.section(b));
    run(
        "every norm 0",
        file,
        None,
        vec![q("all", 10), q("few", 10)],
        Expect::Damaged,
    );
}

#[test]
fn a_root_of_4_mib_of_term_page_records() {
    let Some(_g) = alone() else { return };
    let n = 600;
    let mut idx = Idx::new(n);
    idx.compress = false;
    let pages = 375_000;
    idx.pages = (0..pages)
        .map(|i| {
            vec![(
                format!("t{i:06}"),
                List::Inline(vec![((i % n) as u32, 1 + (i % 3) as u32)]),
            )]
        })
        .collect();
    let b = &idx.base();
    let section = idx.section(b);
    let head = Head::decode(&section, b.index_crc, b.data_crc, section.len() as u64).unwrap();
    assert!(
        head.root_raw_len as usize > search::MAX_ROOT_RAW - (64 << 10)
            && head.root_raw_len as usize <= search::MAX_ROOT_RAW,
        "root of {} bytes",
        head.root_raw_len
    );
    let file = b.file_with(&section);
    drop(section);
    // Doc 5 holds t000005, t000605, …: 64 of them make a query of 64 terms with one result.
    let many: Vec<String> = (0..64).map(|k| format!("t{:06}", 5 + 600 * k)).collect();
    let queries = vec![
        q("t000123", 10),
        q("t374999 t000001", 10),
        q(&many.join(" "), 10),
        q("t000005 t000605", 10_000),
        q("zzz", 10),
    ];
    let f = run(
        "a root of 4 MiB",
        file,
        Some(&idx),
        queries,
        Expect::ExactUnverified,
    );
    assert!(f.peak > 4 << 20, "the root was not read whole");
    // The file's copy (7 MB), the root's bytes and the root decoded compactly (40 bytes a
    // page and the first terms front-coded in one buffer): 28 MB, where a record and an
    // allocation a page took 38.6 MB.
    assert!(f.peak < 30 << 20, "peak heap {} B", f.peak);
}

#[test]
fn sixty_four_terms_each_in_every_document() {
    let Some(_g) = alone() else { return };
    let n = 2500;
    let mut idx = Idx::new(n);
    let terms: Vec<String> = (0..64).map(|k| format!("w{k:02}")).collect();
    idx.pages = terms
        .chunks(16)
        .map(|c| {
            c.iter()
                .enumerate()
                .map(|(k, t)| {
                    let p = spread(n, 1, |d| 1 + u32::from((d * (k + 1)) % 97 == 0));
                    (t.clone(), List::Headed(p))
                })
                .collect()
        })
        .collect();
    let b = &idx.base();
    let file = b.file_with(&idx.section(b));
    let all = terms.join(" ");
    let queries = vec![q(&all, 10), q(&all, 100), q("w07 w63", 20)];
    run(
        "64 terms in every document",
        file,
        Some(&idx),
        queries,
        Expect::Exact,
    );
}

/// Block-max pruning (§15.9 step 5): once the heap is full, blocks whose bounds cannot beat
/// its worst are passed over undecoded, and the answer is still the brute force's.
#[test]
fn a_full_heap_passes_over_blocks_by_their_bounds() {
    let Some(_g) = alone() else { return };
    let n = 4096;
    let mut idx = Idx::new(n);
    // Both terms in every document, once; 9 times in every 1,000th.
    let tf = |d: usize| if d.is_multiple_of(1000) { 9 } else { 1 };
    idx.pages = vec![vec![
        ("a".into(), List::Headed(spread(n, 1, tf))),
        ("b".into(), List::Headed(spread(n, 1, tf))),
    ]];
    let b = &idx.base();
    let file = b.file_with(&idx.section(b));
    let a = Archive::new(file.clone()).unwrap();
    a.reset_counters();
    let hits = a.search_keys("a b", 4).unwrap();
    let nodes = a.counters().search_nodes;
    let top: Vec<u64> = hits.iter().map(|h| h.index).collect();
    assert_eq!(top, [0, 1000, 2000, 3000]);
    // 32 blocks a list: decoding them all would visit over 64 nodes; the four blocks that
    // hold a document with tf 9, in each list, and the first (which fills the heap) suffice.
    assert!(
        nodes <= 24,
        "{nodes} nodes visited: the blocks were not passed over"
    );
    let queries = vec![q("a b", 1), q("a b", 4), q("a b", 10), q("b a", 5)];
    run("block bounds", file, Some(&idx), queries, Expect::Exact);
}

#[test]
fn limits_of_10_000() {
    let Some(_g) = alone() else { return };
    let n = 12_000;
    let mut idx = Idx::new(n);
    idx.pages = vec![vec![
        (
            "w".into(),
            List::Headed(spread(n, 1, |d| 1 + (d % 3) as u32)),
        ),
        (
            "x".into(),
            List::Headed(spread(n, 1, |d| 1 + u32::from(d % 7 == 0))),
        ),
    ]];
    let b = &idx.base();
    let file = b.file_with(&idx.section(b));
    let queries = vec![q("w", 10_000), q("w x", usize::MAX)];
    run("limits of 10,000", file, Some(&idx), queries, Expect::Exact);
}

#[test]
fn document_pages_at_their_limits() {
    let Some(_g) = alone() else { return };
    // Keys of 4,007 bytes: 256 of them a page are 1,025,792 bytes decoded (§15.8: at most
    // 1 MiB), from about 10 bytes a row front-coded.
    fn long_key(i: usize) -> String {
        format!("k/{}{i:05}", "a".repeat(4000))
    }
    let n = 1200;
    let mut idx = Idx::new(n);
    idx.rows_per_page = 256;
    idx.pages = vec![vec![
        (
            "w".into(),
            List::Headed(spread(n, 1, |d| 1 + (d % 3) as u32)),
        ),
        ("x".into(), List::Block(spread(n, 11, |_| 1))),
    ]];
    let b = &idx.base_with(long_key);
    let file = b.file_with(&idx.section(b));
    let queries = || vec![q("w", 10_000), q("x w", 10), q("x", 50)];
    run(
        "document pages of 1 MiB of keys",
        file,
        Some(&idx),
        queries(),
        Expect::Exact,
    );
    // 262 rows a page: 1,049,834 bytes of keys, over the limit.
    let mut over = idx.clone();
    over.rows_per_page = 262;
    let file = b.file_with(&over.section(b));
    run(
        "document pages over 1 MiB of keys",
        file,
        Some(&over),
        queries(),
        Expect::Damaged,
    );
}

/// A writer's archive whose every document holds `beta alpha` but only the last `alpha
/// beta`: the phrase query checks `limit + 1000` candidates (all with the same score, so in
/// document order) and stops, so with limit 10 it finds nothing and with 10,000 the last.
#[test]
fn phrases_over_many_candidates() {
    let Some(_g) = alone() else { return };
    let n = 1500;
    let opts = WriterOptions::new()
        .index(IndexKind::Full)
        .level(1)
        .dictionary(DictionaryMode::Off)
        .threads(1)
        .created(0);
    let mut w = ArchiveWriter::in_memory(opts).unwrap();
    for i in 0..n {
        let body = if i + 1 == n {
            "alpha beta"
        } else {
            "beta alpha"
        };
        w.add(&NewEntry::new(&key_of(i), body.as_bytes()).content_type("text/plain"))
            .unwrap();
    }
    let file = Arc::new(w.finish_into_inner().unwrap().0.into_inner());
    for remote in [false, true] {
        let what = format!("phrases ({})", if remote { "remote" } else { "local" });
        let file = Arc::clone(&file);
        let (got, peak) = common::alloc::bounded(&what, move || {
            let src = Remote {
                bytes: file,
                reads: AtomicU64::new(0),
                bytes_read: AtomicU64::new(0),
            };
            let mut out = Vec::new();
            if remote {
                let a = Archive::new(src).unwrap();
                for limit in [10, 10_000] {
                    a.reset_counters();
                    let hits = a.search("\"alpha beta\"", limit).unwrap();
                    out.push((
                        hits.iter().map(|h| h.index).collect::<Vec<_>>(),
                        a.counters(),
                    ));
                }
            } else {
                let a = Archive::new(src.bytes.as_slice().to_vec()).unwrap();
                for limit in [10, 10_000] {
                    a.reset_counters();
                    let hits = a.search("\"alpha beta\"", limit).unwrap();
                    out.push((
                        hits.iter().map(|h| h.index).collect::<Vec<_>>(),
                        a.counters(),
                    ));
                }
            }
            out
        });
        assert!(peak <= HEAP_LIMIT, "{what}: peak heap {peak}");
        assert_eq!(got[0].0, Vec::<u64>::new(), "{what}: limit 10");
        assert_eq!(got[1].0, vec![n as u64 - 1], "{what}: limit 10,000");
        // Every posting of the rarest list is scored (a norm each: n), and each candidate
        // checked takes a document row (at most limit + 1000), besides the term pages, the
        // lists' heads and blocks (12 blocks of 128).
        let (ten, all) = (got[0].1.search_nodes, got[1].1.search_nodes);
        let n = n as u64;
        assert!(
            ten <= n + 1010 + 64 + 32 && all <= 2 * n + 64 + 32,
            "{what}: {ten} {all} nodes"
        );
        eprintln!(
            "{what}: peak heap {peak} B; limit 10: {ten} nodes, {} bytes read; \
             limit 10,000: {all} nodes, {} bytes read",
            got[0].1.bytes_read, got[1].1.bytes_read
        );
    }
}

/// Sixteen full term pages (about 10,000 terms each, 64 KiB decoded), a query with a term
/// in each: the term pages kept decoded stay within the cache's weight.
#[test]
fn a_query_over_sixteen_full_term_pages() {
    let Some(_g) = alone() else { return };
    let n = 600;
    let per = 10_000;
    let mut idx = Idx::new(n);
    idx.pages = (0..16)
        .map(|p| {
            (0..per)
                .map(|i| {
                    let d = ((p * per + i) % n) as u32;
                    (format!("p{p:02}{i:05}"), List::Inline(vec![(d, 1)]))
                })
                .collect()
        })
        .collect();
    let b = &idx.base();
    let file = b.file_with(&idx.section(b));
    // Document 7 holds p00 00007, p01 (10,000 + i ≡ 7 mod 600: i = 207), …
    let words: Vec<String> = (0..16)
        .map(|p| {
            let i = (7 + n * per - (p * per) % n) % n;
            format!("p{p:02}{i:05}")
        })
        .collect();
    let queries = vec![
        q(&words.join(" "), 10),
        q(&words[..8].join(" "), 10),
        q("p1509999", 10),
    ];
    run(
        "sixteen full term pages",
        file,
        Some(&idx),
        queries,
        Expect::ExactUnverified,
    );
}

#[test]
fn sixty_four_long_heads_are_read_in_windows() {
    let Some(_g) = alone() else { return };
    // 63 lists of 1024 blocks (every document, tf 1), each head ~10 KB, and one short list
    // of three documents: the intersection seeks those three in every long list.
    let n = 1024 * search::BLOCK_POSTINGS;
    let mut idx = Idx::new(n);
    idx.compress = false;
    idx.norms = vec![1; n];
    let (mut head, mut blocks) = (Vec::new(), Vec::new());
    let mut prev: Option<u32> = None;
    let every: Vec<(u32, u32)> = (0..n as u32).map(|d| (d, 1)).collect();
    for chunk in every.chunks(search::BLOCK_POSTINGS) {
        let mut b = Vec::new();
        put_postings(&mut b, prev, chunk);
        let last = chunk.last().unwrap().0;
        let e = BlockEntry {
            last,
            offset: 0,
            len: b.len() as u32,
            max_tf: 1,
            max_norm: 1,
            crc: format::crc32(&b),
        };
        put_head_entry(&mut head, prev, &e);
        prev = Some(last);
        blocks.extend_from_slice(&b);
    }
    let m = n / search::BLOCK_POSTINGS;
    assert!(head.len() > 4 << 10, "a head of {} bytes", head.len());
    let short = vec![(5, 1), (40_000, 1), (n as u32 - 1, 1)];
    let long: Vec<String> = (0..63).map(|k| format!("h{k:02}")).collect();
    let mut page = Vec::new();
    for t in &long {
        let raw = List::Raw {
            df: n as u32,
            head: head.clone(),
            blocks: blocks.clone(),
        };
        page.push((t.clone(), raw));
    }
    page.push(("short".to_string(), List::Inline(short)));
    idx.pages = vec![page];
    let b = base(n, key_of, |_| String::new());
    let file = Arc::new(b.file_with(&idx.section(&b)));
    let query = format!("short {}", long.join(" "));
    // The heads decoded whole: 48 bytes a block (the reader's record of a block), 63 lists.
    let whole = long.len() * m * 48;
    for remote in [false, true] {
        let src = Remote {
            bytes: Arc::clone(&file),
            reads: AtomicU64::new(0),
            bytes_read: AtomicU64::new(0),
        };
        let query = query.clone();
        let (hits, peak) = common::alloc::bounded("long heads", move || {
            struct Local(Remote);
            impl ByteSource for Local {
                fn size(&self) -> u64 {
                    self.0.size()
                }
                fn read_at(&self, offset: u64, len: usize) -> io::Result<Cow<'_, [u8]>> {
                    self.0.read_at(offset, len)
                }
            }
            let hits = if remote {
                let a = Archive::new(src).unwrap();
                a.search(&query, 10).unwrap()
            } else {
                let a = Archive::new(Local(src)).unwrap();
                a.search(&query, 10).unwrap()
            };
            hits.iter().map(|h| (h.index, h.score)).collect::<Vec<_>>()
        });
        let docs: Vec<u64> = hits.iter().map(|h| h.0).collect();
        assert_eq!(docs, [5, 40_000, n as u64 - 1], "remote {remote}");
        assert!(hits.iter().all(|h| h.1 == hits[0].1 && h.1 > 0));
        eprintln!(
            "64 terms, 63 heads of {} blocks ({} B each): peak heap {peak} B (remote {remote}); \
             the heads decoded whole would take {whole} B",
            m,
            head.len()
        );
        assert!(
            peak < whole / 3,
            "peak heap {peak} B, not well below the {whole} B of whole heads"
        );
    }
    // A long head that does not parse whole is damage, found by the streaming check before
    // any window: a byte after its last entry, or its last entry cut (CRCs right).
    let cut = head.len() - 3;
    for bad_head in [[&head[..], &[0]].concat(), head[..cut].to_vec()] {
        let mut bad = idx.clone();
        bad.pages = vec![vec![
            (
                "h00".to_string(),
                List::Raw {
                    df: n as u32,
                    head: bad_head,
                    blocks: blocks.clone(),
                },
            ),
            ("short".to_string(), List::Inline(vec![(5, 1)])),
        ]];
        let a = Archive::new(b.file_with(&bad.section(&b))).unwrap();
        for got in [
            a.search("h00 short", 10).map(|_| ()),
            a.search_postings("h00").map(|_| ()),
        ] {
            assert_eq!(got.unwrap_err().code(), "damaged_search_index");
        }
    }
}
