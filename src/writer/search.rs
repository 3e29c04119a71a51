//! Building the full-text index (spec §15) at finish: each entry's text extracted by its
//! content type and analysed in the archive's language, postings gathered per batch of
//! documents and spilled to sorted runs, the runs merged term by term into term pages and
//! POSTINGS, then the norms, the document pages, the root and the header.
//!
//! Memory: a batch of postings (at most [`BATCH_BYTES`], then spilled to a run in a
//! temporary file), one norm byte an entry, one term's postings while merging, and the
//! root's page records; pages and lists go to spools as they are made.

use std::collections::{BinaryHeap, HashMap};
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::ops::Range;

use super::spool::Spool;
use super::Pending;
use crate::error::WriteError;
use crate::format::bytes::put_varint;
use crate::format::search::{
    self, encode_docs, encode_terms, norm_code, put_head_entry, put_postings, store, BlockEntry,
    Bm25, DocPageRef, DocRow, Head, NormsRef, Postings, Root, TermPageRef, TermRecord,
    BLOCK_POSTINGS, NORMS_CHUNK,
};
use crate::format::strings::{fields, Field};
use crate::format::titles::cut;
use crate::text::{extract, Analyzer, ExtractOptions};

/// BM25 `k1` in thousandths (§15.11).
pub(crate) const K1: u16 = 1200;
/// BM25 `b` in thousandths.
pub(crate) const B: u16 = 750;
/// Weight of a title token.
pub(crate) const TITLE_WEIGHT: u8 = 2;
/// Target size of a term page before compression.
const TERM_PAGE: usize = 16 << 10;
/// Target size of a document page before compression.
const DOC_PAGE: usize = 8 << 10;
/// A list of at most 128 postings is inline when they take at most this many bytes.
const INLINE_MAX: usize = 24;
/// zstd level of pages and the root.
const LEVEL: i32 = 15;
/// Heap a batch of postings may take (estimated) before it is spilled to a run. 4 MiB: a
/// 16 MiB batch made the index's pack peak 1.5× the RSS of a pack without it on a corpus of
/// short entries (40 against 27 MB; 32 MB at 4 MiB, at the same pack time); the runs merge
/// into the same bytes whatever their number.
const BATCH_BYTES: usize = 4 << 20;

/// The batch limit in force: [`BATCH_BYTES`], or less in tests, which check that spilled
/// runs give the same bytes as one batch.
static BATCH_LIMIT: std::sync::atomic::AtomicUsize =
    std::sync::atomic::AtomicUsize::new(BATCH_BYTES);

/// The built section, less its header (sealed once the CRCs of INDEX and DATA are known).
pub(super) struct Built {
    head: Head,
    root: Vec<u8>,
    terms: Spool,
    postings: Spool,
    norms: Vec<u8>,
    docs: Spool,
    crc: crc32fast::Hasher,
}

impl Built {
    /// The section's header and the CRC32 of the whole section.
    pub(super) fn seal(&self, index_crc: u32, data_crc: u32) -> ([u8; search::HEADER_LEN], u32) {
        let header = self.head.encode(index_crc, data_crc);
        let mut h = crc32fast::Hasher::new();
        h.update(&header);
        h.update(&self.root);
        h.combine(&self.crc);
        (header, h.finalize())
    }

    /// Length of the whole section.
    pub(super) fn len(&self) -> u64 {
        (search::HEADER_LEN + self.root.len() + self.norms.len()) as u64
            + self.terms.len()
            + self.postings.len()
            + self.docs.len()
    }

    /// Writes the section: `header` (from [`seal`](Self::seal)), the root, the term pages,
    /// POSTINGS, the norms chunks and the document pages.
    pub(super) fn write_to(&self, header: &[u8], out: &mut dyn Write) -> io::Result<()> {
        out.write_all(header)?;
        out.write_all(&self.root)?;
        self.terms.copy_to(out, self.terms.len())?;
        self.postings.copy_to(out, self.postings.len())?;
        out.write_all(&self.norms)?;
        self.docs.copy_to(out, self.docs.len())
    }
}

/// The text fields of an entry, as §15.1 defines them: its title field and its body text
/// (`None` for a binary type).
pub(crate) fn fields_of(
    title: Option<&str>,
    content_type: &str,
    body: &[u8],
) -> (Option<String>, Option<String>) {
    let extracted = extract(content_type, body, &ExtractOptions::default());
    let title = match title {
        Some(t) => Some(cut(t, search::MAX_TEXT).to_owned()),
        None => extracted.as_ref().and_then(|e| e.title.clone()),
    }
    .filter(|t| !t.is_empty());
    (title, extracted.map(|e| e.text))
}

/// A term and its postings (document, tf).
type TermPostings = (String, Vec<(u32, u32)>);

/// A run of sorted postings in a temporary file.
struct Run {
    reader: BufReader<File>,
}

fn read_varint(r: &mut impl BufRead) -> io::Result<u64> {
    let mut v = 0u64;
    for i in 0..10 {
        let mut b = [0u8];
        r.read_exact(&mut b)?;
        v |= u64::from(b[0] & 0x7F) << (7 * i);
        if b[0] & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidData,
        "run: bad varint",
    ))
}

impl Run {
    /// The next term and its postings, `None` at the end.
    fn next(&mut self) -> io::Result<Option<TermPostings>> {
        if self.reader.fill_buf()?.is_empty() {
            return Ok(None);
        }
        let len = read_varint(&mut self.reader)? as usize;
        let mut term = vec![0u8; len];
        self.reader.read_exact(&mut term)?;
        let n = read_varint(&mut self.reader)? as usize;
        let mut p = Vec::with_capacity(n);
        for _ in 0..n {
            let d = read_varint(&mut self.reader)? as u32;
            let t = read_varint(&mut self.reader)? as u32;
            p.push((d, t));
        }
        let term = String::from_utf8(term)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "run: bad term"))?;
        Ok(Some((term, p)))
    }
}

/// Postings gathered from a batch of documents.
#[derive(Default)]
struct Batch {
    map: HashMap<String, Vec<(u32, u32)>>,
    bytes: usize,
}

impl Batch {
    /// Adds a posting; `bytes` counts what the heap holds: each list's allocation as it
    /// grows (doubling), and for a new term its key, its slot in the map (key and list, 48
    /// bytes, in a table at most 7/8 full that doubles) and its list's first four postings.
    fn add(&mut self, term: &str, doc: u32, tf: u32) {
        if let Some(v) = self.map.get_mut(term) {
            let cap = v.capacity();
            v.push((doc, tf));
            self.bytes += 8 * (v.capacity() - cap);
        } else {
            self.bytes += term.len() + 112 + 32;
            let mut v = Vec::with_capacity(4);
            v.push((doc, tf));
            self.map.insert(term.to_owned(), v);
        }
    }

    fn sorted(&mut self) -> Vec<TermPostings> {
        let mut v: Vec<_> = self.map.drain().collect();
        self.bytes = 0;
        v.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        v
    }

    /// Writes the batch to a run.
    fn spill(&mut self) -> io::Result<Run> {
        let mut w = BufWriter::with_capacity(256 << 10, tempfile::tempfile()?);
        let mut buf = Vec::new();
        for (term, p) in self.sorted() {
            buf.clear();
            put_varint(&mut buf, term.len() as u64);
            buf.extend_from_slice(term.as_bytes());
            put_varint(&mut buf, p.len() as u64);
            for (d, t) in p {
                put_varint(&mut buf, d.into());
                put_varint(&mut buf, t.into());
            }
            w.write_all(&buf)?;
        }
        let mut f = w.into_inner().map_err(|e| e.into_error())?;
        f.seek(SeekFrom::Start(0))?;
        Ok(Run {
            reader: BufReader::with_capacity(64 << 10, f),
        })
    }
}

/// The term pages and POSTINGS being written.
struct TermWriter<'a> {
    bm25: Bm25,
    norms: &'a [u8],
    page: Vec<TermRecord>,
    page_bytes: usize,
    page_post_start: u64,
    terms: Spool,
    postings: Spool,
    crc_terms: crc32fast::Hasher,
    crc_postings: crc32fast::Hasher,
    refs: Vec<TermPageRef>,
    term_count: u32,
    posting_count: u64,
}

impl TermWriter<'_> {
    fn append_postings(&mut self, bytes: &[u8]) -> io::Result<u64> {
        self.crc_postings.update(bytes);
        self.postings.append(bytes)
    }

    fn add(&mut self, term: String, p: Vec<(u32, u32)>) -> io::Result<()> {
        // A full page is written before this term's list goes to POSTINGS: the page's lists
        // must fill its own `post_len` (§15.4), none of the next page's.
        let size = term.len() + 12 + INLINE_MAX;
        if self.page_bytes + size > TERM_PAGE && !self.page.is_empty() {
            self.flush()?;
        }
        let df = p.len() as u32;
        self.term_count += 1;
        self.posting_count += u64::from(df);
        let postings = if p.len() <= BLOCK_POSTINGS {
            let mut b = Vec::new();
            put_postings(&mut b, None, &p);
            if b.len() <= INLINE_MAX {
                Postings::Inline(p)
            } else {
                let offset = self.append_postings(&b)?;
                Postings::Block {
                    offset,
                    len: b.len() as u32,
                    crc: crate::format::crc32(&b),
                }
            }
        } else {
            let mut head = Vec::new();
            let mut blocks = Vec::new();
            let mut prev: Option<u32> = None;
            for chunk in p.chunks(BLOCK_POSTINGS) {
                let at = blocks.len();
                put_postings(&mut blocks, prev, chunk);
                let mut best = (0u64, 1u32, 1u8);
                for &(d, tf) in chunk {
                    let norm = self.norms.get(d as usize).copied().unwrap_or(0);
                    let s = self.bm25.tfn(tf.into(), norm);
                    if s > best.0 || best.0 == 0 {
                        best = (s, tf, norm);
                    }
                }
                let last = chunk[chunk.len() - 1].0;
                let e = BlockEntry {
                    last,
                    offset: 0,
                    len: (blocks.len() - at) as u32,
                    max_tf: best.1,
                    max_norm: best.2,
                    crc: crate::format::crc32(&blocks[at..]),
                };
                put_head_entry(&mut head, prev, &e);
                prev = Some(last);
            }
            let offset = self.append_postings(&head)?;
            self.append_postings(&blocks)?;
            Postings::Headed {
                offset,
                head_len: head.len() as u32,
                list_len: (head.len() + blocks.len()) as u64,
                crc: crate::format::crc32(&head),
            }
        };
        let rec = TermRecord {
            term: term.into_bytes(),
            df,
            postings,
        };
        self.page_bytes += size;
        self.page.push(rec);
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.page.is_empty() {
            return Ok(());
        }
        let raw = encode_terms(&self.page);
        let stored = store(&raw, LEVEL)?;
        self.crc_terms.update(&stored);
        self.terms.append(&stored)?;
        let post_end = self.postings.len();
        self.refs.push(TermPageRef {
            offset: 0,
            stored_len: stored.len() as u32,
            raw_len: raw.len() as u32,
            crc: crate::format::crc32(&stored),
            terms: self.page.len() as u32,
            post_len: post_end - self.page_post_start,
            post_offset: 0,
            first: self.page[0].term.clone(),
        });
        self.page_post_start = post_end;
        self.page.clear();
        self.page_bytes = 0;
        Ok(())
    }
}

/// Documents analysed together, on all cores, before their postings are gathered in order:
/// at most this many…
const ANALYSIS_CHUNK: usize = 1024;
/// …and at most this much text (bodies up to the extraction limit; one document at least).
/// An analysed document holds a heap string for each distinct term, ~30× its text for
/// bigrams of Chinese, so a chunk of 1,024 such documents took ~30 MB.
const ANALYSIS_BYTES: u64 = 256 << 10;

/// The ends of the analysis chunks of `entries`: consecutive runs of at most
/// [`ANALYSIS_CHUNK`] documents and [`ANALYSIS_BYTES`] of text, one document at least.
fn analysis_chunks(entries: &[Pending]) -> Vec<Range<usize>> {
    let max_body = ExtractOptions::default().max_bytes as u64;
    let mut out = Vec::new();
    let (mut start, mut bytes) = (0usize, 0u64);
    for (i, p) in entries.iter().enumerate() {
        let len = p.body_len.min(max_body) + u64::from(p.lead_len);
        if i > start && (i - start >= ANALYSIS_CHUNK || bytes + len > ANALYSIS_BYTES) {
            out.push(start..i);
            (start, bytes) = (i, 0);
        }
        bytes += len;
    }
    if start < entries.len() {
        out.push(start..entries.len());
    }
    out
}

/// One document, analysed: its title field, length and term frequencies.
struct Analysed {
    title: Option<String>,
    dl: u64,
    counts: Vec<(String, u32)>,
}

/// Reads entry `p`'s title and text back from the spool and analyses them (§15.1); `bufs`
/// are the lead and body buffers, reused.
fn analyse(
    p: &Pending,
    ctypes: &[String],
    spool: &Spool,
    analyzer: &Analyzer,
    bufs: &mut (Vec<u8>, Vec<u8>),
) -> io::Result<Analysed> {
    let (lead, body) = bufs;
    lead.resize(p.lead_len as usize, 0);
    spool.read_at(p.spool_at, lead)?;
    let title = fields(lead).find_map(|f| match f {
        Ok(Field::Title(t)) => Some(t),
        _ => None,
    });
    let ctype = ctypes
        .get(p.content_type as usize)
        .map_or("", String::as_str);
    let max_body = ExtractOptions::default().max_bytes as u64 + 1;
    body.resize(p.body_len.min(max_body) as usize, 0);
    if crate::text::text_kind(ctype) == crate::text::TextKind::Binary {
        body.clear();
    } else {
        spool.read_at(p.spool_at + u64::from(p.lead_len), body)?;
    }
    let (title, text) = fields_of(title, ctype, body);
    let mut counts: HashMap<String, u32> = HashMap::new();
    let mut dl = 0u64;
    if let Some(text) = &text {
        if let Some(t) = &title {
            analyzer.for_each_token(t, |tok| {
                dl += u64::from(TITLE_WEIGHT);
                *counts.entry_ref_or_insert(tok.term) += u32::from(TITLE_WEIGHT);
            });
        }
        analyzer.for_each_token(text, |tok| {
            dl += 1;
            *counts.entry_ref_or_insert(tok.term) += 1;
        });
    }
    Ok(Analysed {
        title,
        dl,
        counts: counts.into_iter().collect(),
    })
}

/// Builds the SEARCH section for `entries` (in key order), with `ctypes` their content
/// types and `language` the archive's `language` metadata.
pub(super) fn build(
    entries: &[Pending],
    keys: &str,
    ctypes: &[String],
    spool: &Spool,
    language: Option<&str>,
) -> Result<Built, WriteError> {
    let analyzer = Analyzer::new(language);
    let n = u32::try_from(entries.len())
        .map_err(|_| WriteError::InvalidOptions("too many entries for a full-text index".into()))?;
    let mut norms = vec![0u8; entries.len()];
    let mut batch = Batch::default();
    let mut runs: Vec<Run> = Vec::new();
    let mut docs = Spool::new()?;
    let mut crc_docs = crc32fast::Hasher::new();
    let mut doc_refs: Vec<DocPageRef> = Vec::new();
    let mut page: Vec<Option<DocRow>> = Vec::new();
    let mut page_bytes = 0usize;
    let (mut doc_count, mut token_sum) = (0u32, 0u64);
    let mut flush_docs = |page: &mut Vec<Option<DocRow>>,
                          docs: &mut Spool,
                          doc_refs: &mut Vec<DocPageRef>|
     -> io::Result<()> {
        if page.is_empty() {
            return Ok(());
        }
        let raw = encode_docs(page);
        let stored = store(&raw, LEVEL)?;
        crc_docs.update(&stored);
        docs.append(&stored)?;
        doc_refs.push(DocPageRef {
            offset: 0,
            stored_len: stored.len() as u32,
            raw_len: raw.len() as u32,
            crc: crate::format::crc32(&stored),
            rows: page.len() as u32,
            first_row: 0,
        });
        page.clear();
        Ok(())
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    for range in analysis_chunks(entries) {
        let first = range.start;
        let chunk = &entries[range];
        // Each chunk's documents analysed on all cores, then taken in document order: the
        // index does not depend on the number of threads.
        let per = chunk.len().div_ceil(threads).max(1);
        let analysed: Vec<io::Result<Vec<Analysed>>> = std::thread::scope(|scope| {
            let handles: Vec<_> = chunk
                .chunks(per)
                .map(|part| {
                    let analyzer = &analyzer;
                    scope.spawn(move || {
                        let mut bufs = (Vec::new(), Vec::new());
                        part.iter()
                            .map(|p| analyse(p, ctypes, spool, analyzer, &mut bufs))
                            .collect::<io::Result<Vec<_>>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(io::Error::other("text analysis panicked")))
                })
                .collect()
        });
        let mut i = first;
        for part in analysed {
            for a in part? {
                let (d, p) = (i, &entries[i]);
                i += 1;
                let Analysed { title, dl, counts } = a;
                let row = if dl > 0 {
                    norms[d] = norm_code(dl);
                    doc_count += 1;
                    token_sum += dl;
                    for (term, tf) in &counts {
                        batch.add(term, d as u32, *tf);
                    }
                    if batch.bytes > BATCH_LIMIT.load(std::sync::atomic::Ordering::Relaxed) {
                        runs.push(batch.spill()?);
                    }
                    Some(DocRow {
                        key: p.key(keys).to_owned(),
                        title,
                    })
                } else {
                    None
                };
                let size = 2 + row.as_ref().map_or(0, |r| {
                    r.key.len() + r.title.as_ref().map_or(0, |t| t.len() + 2) + 4
                });
                if page_bytes + size > DOC_PAGE && !page.is_empty() {
                    flush_docs(&mut page, &mut docs, &mut doc_refs)?;
                    page_bytes = 0;
                }
                page_bytes += size;
                page.push(row);
            }
        }
    }
    flush_docs(&mut page, &mut docs, &mut doc_refs)?;
    docs.finish_writing()?;

    let bm25 = Bm25 {
        docs: doc_count.into(),
        tokens: token_sum,
        k1: K1.into(),
        b: B.into(),
    };
    let mut tw = TermWriter {
        bm25,
        norms: &norms,
        page: Vec::new(),
        page_bytes: 0,
        page_post_start: 0,
        terms: Spool::new()?,
        postings: Spool::new()?,
        crc_terms: crc32fast::Hasher::new(),
        crc_postings: crc32fast::Hasher::new(),
        refs: Vec::new(),
        term_count: 0,
        posting_count: 0,
    };
    if runs.is_empty() {
        for (term, p) in batch.sorted() {
            tw.add(term, p)?;
        }
    } else {
        if !batch.map.is_empty() {
            runs.push(batch.spill()?);
        }
        drop(batch);
        merge(&mut runs, &mut tw)?;
    }
    tw.flush()?;
    tw.terms.finish_writing()?;
    tw.postings.finish_writing()?;

    let mut norms_stored = Vec::new();
    let mut norm_refs = Vec::new();
    for chunk in norms.chunks(NORMS_CHUNK as usize) {
        let stored = store(chunk, LEVEL)?;
        norm_refs.push(NormsRef {
            offset: 0,
            stored_len: stored.len() as u32,
            raw_len: chunk.len() as u32,
            crc: crate::format::crc32(&stored),
        });
        norms_stored.extend_from_slice(&stored);
    }
    let root = Root {
        tokenizer: analyzer.identity().to_owned(),
        terms: std::mem::take(&mut tw.refs),
        docs: doc_refs,
        norms: norm_refs,
    };
    let root_raw = root.encode();
    let root_stored = store(&root_raw, LEVEL)?;
    let head = Head {
        title_weight: TITLE_WEIGHT,
        k1: K1,
        b: B,
        entries: n,
        doc_count,
        term_count: tw.term_count,
        token_sum,
        posting_count: tw.posting_count,
        root_len: root_stored.len() as u32,
        root_raw_len: root_raw.len() as u32,
        root_crc: crate::format::crc32(&root_stored),
    };
    let mut crc = tw.crc_terms.clone();
    crc.combine(&tw.crc_postings);
    let mut nh = crc32fast::Hasher::new();
    nh.update(&norms_stored);
    crc.combine(&nh);
    crc.combine(&crc_docs);
    Ok(Built {
        head,
        root: root_stored,
        terms: tw.terms,
        postings: tw.postings,
        norms: norms_stored,
        docs,
        crc,
    })
}

/// Merges sorted runs (documents increase from run to run) term by term.
fn merge(runs: &mut [Run], tw: &mut TermWriter<'_>) -> io::Result<()> {
    let mut heads: Vec<Option<TermPostings>> = Vec::with_capacity(runs.len());
    let mut heap = BinaryHeap::new();
    for (i, r) in runs.iter_mut().enumerate() {
        let h = r.next()?;
        if let Some((t, _)) = &h {
            heap.push(std::cmp::Reverse((t.clone(), i)));
        }
        heads.push(h);
    }
    while let Some(std::cmp::Reverse((term, i))) = heap.pop() {
        let mut postings = Vec::new();
        let mut take = |i: usize,
                        heads: &mut [Option<TermPostings>],
                        heap: &mut BinaryHeap<std::cmp::Reverse<(String, usize)>>|
         -> io::Result<()> {
            if let Some((_, p)) = heads[i].take() {
                postings.extend(p);
            }
            heads[i] = runs[i].next()?;
            if let Some((t, _)) = &heads[i] {
                heap.push(std::cmp::Reverse((t.clone(), i)));
            }
            Ok(())
        };
        take(i, &mut heads, &mut heap)?;
        while heap.peek().is_some_and(|r| r.0 .0 == term) {
            if let Some(std::cmp::Reverse((_, j))) = heap.pop() {
                take(j, &mut heads, &mut heap)?;
            }
        }
        tw.add(term, postings)?;
    }
    Ok(())
}

/// `HashMap<String, u32>` counting without allocating for a term already there.
trait EntryRef {
    fn entry_ref_or_insert(&mut self, k: &str) -> &mut u32;
}

impl EntryRef for HashMap<String, u32> {
    fn entry_ref_or_insert(&mut self, k: &str) -> &mut u32 {
        if !self.contains_key(k) {
            self.insert(k.to_owned(), 0);
        }
        self.get_mut(k).expect("inserted")
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use super::BATCH_LIMIT;
    use crate::{Archive, ArchiveWriter, IndexKind, NewEntry, WriterOptions};

    fn pack() -> Vec<u8> {
        let opts = WriterOptions::new()
            .level(1)
            .created(1)
            .index(IndexKind::Full)
            .metadata("language", "eng");
        let mut w = ArchiveWriter::in_memory(opts).unwrap();
        let words = [
            "river", "bank", "runs", "cat", "dog", "the", "north", "sea", "blue",
        ];
        for i in 0..400usize {
            let body: Vec<&str> = (0..20)
                .map(|j| words[(i * 7 + j * j) % words.len()])
                .collect();
            // 1,000 terms in about 40 documents each: lists in POSTINGS, over several term pages.
            let spread: Vec<String> = (0..100)
                .map(|k| format!("v{}", (i + 13 * k) % 1000))
                .collect();
            let body = format!("{} w{i} w{} {}", body.join(" "), i % 13, spread.join(" "));
            w.add(&NewEntry::new(&format!("k{i:04}"), body.as_bytes()))
                .unwrap();
        }
        w.finish_into_inner().unwrap().0.into_inner()
    }

    #[test]
    fn spilled_runs_give_the_same_archive_as_one_batch() {
        let whole = pack();
        // Runs of a few documents each: the merge must give the same bytes.
        BATCH_LIMIT.store(2048, Ordering::Relaxed);
        let spilled = pack();
        BATCH_LIMIT.store(super::BATCH_BYTES, Ordering::Relaxed);
        assert!(whole == spilled, "spilling changed the index");
        let a = Archive::new(spilled).unwrap();
        assert_eq!(a.search("w399", 10).unwrap().len(), 1);
        // Every document holds a term of its residue mod 13: over 128 documents, with a head.
        let total: usize = (0..13)
            .map(|r| a.search_postings(&format!("w{r}")).unwrap().unwrap().len())
            .sum();
        assert!(total >= 400);
        assert!(a
            .search_postings("the")
            .unwrap()
            .is_some_and(|p| p.len() > 128));
        for v in 0..1000 {
            let p = a.search_postings(&format!("v{v}")).unwrap().unwrap();
            let want = (0..400usize)
                .filter(|i| (0..100).any(|k| (i + 13 * k) % 1000 == v))
                .count();
            assert_eq!(p.len(), want, "v{v}");
        }
        let report = a.verify();
        assert!(report.is_ok(), "{report}");
    }
}
