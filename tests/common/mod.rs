//! Helpers shared by the robustness suites: packing a model in memory; [`Anatomy`], a view of
//! a valid archive (where its prelude, nodes, entries and blocks lie, and what reading an
//! entry depends on); and [`Parts`], a valid archive taken apart so that a test can change
//! any record and lay the archive out again with every offset, length and checksum of the
//! chain recomputed (so that a hostile value reaches the logic behind the checksum checks).
//!
//! Nothing here knows a byte offset of the format: fields are found through
//! `quire::format`'s field tables and decoders.
#![allow(dead_code)]

pub mod alloc;
pub mod crafted;
pub mod scratch;
#[allow(unused_imports)]
pub use scratch::scratch;

use std::collections::BTreeMap;
use std::ops::Range;

use quire::format::chain::{self, Reseal};
use quire::format::entries::{EntryDecoder, EntryEncoder};
use quire::format::header::SECTION_RECORD_LEN;
use quire::format::header::{self, FieldSpec, HEADER_FIELDS, HEADER_LEN, SECTION_FIELDS};
use quire::format::nodes::{decode_branch, encode_branch, encode_page, Child, PageHead};
use quire::format::{self, BlockRecord, Codec, EntryRecord, Header, Prelude, SectionId};
use quire::{Archive, ArchiveWriter, Date, DictionaryMode, NewEntry, WriterOptions};

/// One entry of a test model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub key: String,
    pub body: Vec<u8>,
    pub title: Option<String>,
    pub date: Option<Date>,
    pub meta: Vec<(String, String)>,
}

impl Item {
    pub fn new(key: impl Into<String>, body: impl Into<Vec<u8>>) -> Item {
        Item {
            key: key.into(),
            body: body.into(),
            title: None,
            date: None,
            meta: Vec::new(),
        }
    }
}

/// Writer options with the creation time pinned, so output is reproducible.
pub fn options(
    level: i32,
    block_size: u32,
    dictionary: DictionaryMode,
    threads: usize,
) -> WriterOptions {
    // No title index (§14): fixtures that craft the key index recompute INDEX's CRC, which a
    // title index's header seals. Raw nodes: the fixtures edit nodes in place, by the byte
    // ranges `ArchiveView` gives (packed nodes have their own tests, `tests/packed_nodes.rs`).
    WriterOptions::new()
        .index(quire::IndexKind::None)
        .pack_nodes(false)
        .level(level)
        .block_size(block_size)
        .dictionary(dictionary)
        .dict_size(256)
        .threads(threads)
        .created(0)
}

/// Packs `items` (in any order), in memory.
pub fn pack(items: &[Item], opts: WriterOptions) -> Vec<u8> {
    let mut w = ArchiveWriter::in_memory(opts).expect("writer");
    for it in items {
        let mut e = NewEntry::new(&it.key, &it.body);
        if let Some(t) = &it.title {
            e = e.title(t);
        }
        if let Some(d) = it.date {
            e = e.date(d);
        }
        for (n, v) in &it.meta {
            e = e.meta(n, v);
        }
        w.add(&e).expect("add");
    }
    let (out, _summary) = w.finish_into_inner().expect("finish");
    out.into_inner()
}

/// `items` in entry order: entries are numbered in key order (bytewise).
pub fn sorted(items: &[Item]) -> Vec<Item> {
    let mut v = items.to_vec();
    v.sort_by(|a, b| a.key.as_bytes().cmp(b.key.as_bytes()));
    v
}

/// A deterministic xorshift generator: tests need reproducible "random" data without
/// depending on a crate.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next_u64() % n
        }
    }
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut v = Vec::with_capacity(n);
        while v.len() < n {
            let x = self.next_u64().to_le_bytes();
            let take = (n - v.len()).min(8);
            v.extend_from_slice(&x[..take]);
        }
        v
    }
}

const WORDS: &[&str] = &[
    "the",
    "archive",
    "quire",
    "block",
    "index",
    "article",
    "news",
    "of",
    "and",
    "zstd",
    "dictionary",
    "checksum",
    "reader",
    "écrit",
    "日本語",
    "data",
    "in",
    "a",
    "to",
    "is",
];

/// Text-like bytes (compressible, dictionary-friendly).
pub fn text(rng: &mut Rng, n: usize) -> Vec<u8> {
    let mut s = Vec::with_capacity(n + 16);
    while s.len() < n {
        let w = WORDS[rng.below(WORDS.len() as u64) as usize];
        s.extend_from_slice(w.as_bytes());
        s.push(if rng.below(9) == 0 { b'\n' } else { b' ' });
    }
    s.truncate(n);
    s
}

/// A small archive of `n` entries with titles, dates and metadata on some of them. Keys
/// are numbered with three digits, so for `n ≤ 1000` the items are in key order.
pub fn sample_items(n: usize, seed: u64) -> Vec<Item> {
    let mut rng = Rng::new(seed);
    (0..n)
        .map(|i| {
            let len = match i % 5 {
                0 => 0,
                1 => 1 + rng.below(20) as usize,
                _ => 40 + rng.below(200) as usize,
            };
            let mut it = Item::new(
                format!("art/{:03}/{}", i, WORDS[i % WORDS.len()]),
                text(&mut rng, len),
            );
            if i % 3 == 0 {
                it.title = Some(format!("Title {i}"));
            }
            if i % 4 == 1 {
                it.date = Date::new(
                    2000 + (i as u16 % 30),
                    1 + (i as u8 % 12),
                    1 + (i as u8 % 28),
                );
            }
            if i % 7 == 2 {
                it.meta.push(("author".into(), format!("writer {i}")));
            }
            it
        })
        .collect()
}

/// The body of every key.
pub fn model(items: &[Item]) -> BTreeMap<String, Vec<u8>> {
    items
        .iter()
        .map(|i| (i.key.clone(), i.body.clone()))
        .collect()
}

/// Checks that an archive holds exactly `items` (given in any order), numbered in key
/// order, with every field intact.
pub fn assert_matches<S: quire::source::ByteSource>(a: &Archive<S>, items: &[Item]) {
    let items = sorted(items);
    assert_eq!(a.len(), items.len() as u64);
    for (i, it) in items.iter().enumerate() {
        let e = a.get(&it.key).expect("get").expect("present");
        assert_eq!(e.index(), i as u64);
        assert_eq!(e.key(), it.key);
        assert_eq!(e.body().expect("body"), it.body, "body of {:?}", it.key);
        assert_eq!(e.title().expect("title"), it.title.as_deref());
        assert_eq!(e.date(), it.date);
        assert_eq!(e.metadata().expect("metadata"), it.meta);
        let by_number = a.get_by_index(i as u64).expect("by number");
        assert_eq!(by_number.key(), it.key);
    }
    let keys: Vec<String> = a
        .iter()
        .map(|e| e.expect("iter").key().to_string())
        .collect();
    let want: Vec<String> = items.iter().map(|i| i.key.clone()).collect();
    assert_eq!(keys, want);
}

// ---------------------------------------------------------------------------------------
// Fields of the prelude, through the format's field tables.

/// The spec of a header field by name.
pub fn header_field(name: &str) -> FieldSpec {
    *HEADER_FIELDS
        .iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("no header field {name}"))
}

/// The spec of a section record field by name.
pub fn section_field(name: &str) -> FieldSpec {
    *SECTION_FIELDS
        .iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("no section field {name}"))
}

/// A little-endian unsigned integer of 1 to 8 bytes. (std only, so that the CLI's tests,
/// which include this module, need no other crate than the library and zstd.)
pub fn read_le(bytes: &[u8]) -> u64 {
    assert!(bytes.len() <= 8, "at most 8 bytes");
    let mut b = [0u8; 8];
    b[..bytes.len()].copy_from_slice(bytes);
    u64::from_le_bytes(b)
}

/// Reads a header field.
pub fn get_field(bytes: &[u8], name: &str) -> u64 {
    let f = header_field(name);
    read_le(&bytes[f.offset..f.offset + f.width])
}

/// Writes a header field (truncated to its width); no checksum is fixed.
pub fn put_field(bytes: &mut [u8], name: &str, v: u64) {
    let f = header_field(name);
    bytes[f.offset..f.offset + f.width].copy_from_slice(&v.to_le_bytes()[..f.width]);
}

/// Where section record `i` starts in the file.
pub fn section_record_at(i: usize) -> usize {
    HEADER_LEN + SECTION_RECORD_LEN * i
}

/// Byte positions of the header that are reserved (neither the magic nor a field).
pub fn header_reserved() -> Vec<usize> {
    (format::MAGIC.len()..HEADER_LEN)
        .filter(|&b| {
            !HEADER_FIELDS
                .iter()
                .any(|f| (f.offset..f.offset + f.width).contains(&b))
        })
        .collect()
}

/// Byte positions of a section record that are reserved.
pub fn section_reserved() -> Vec<usize> {
    (0..SECTION_RECORD_LEN)
        .filter(|&b| {
            !SECTION_FIELDS
                .iter()
                .any(|f| (f.offset..f.offset + f.width).contains(&b))
        })
        .collect()
}

/// Recomputes every checksum of the chain but the blocks' (see `format::chain::reseal`).
pub fn reseal(bytes: &mut [u8]) {
    chain::reseal(bytes, Reseal::default());
}

/// Sets a header field and recomputes the prelude CRC.
pub fn patch_header(bytes: &mut [u8], name: &str, v: u64) {
    put_field(bytes, name, v);
    header::reseal(bytes);
}

/// Changes a field of the section record of section `id` and recomputes the prelude CRC.
pub fn patch_section(bytes: &mut [u8], id: u32, name: &str, f: impl FnOnce(u64) -> u64) {
    let n = get_field(bytes, "section_count") as usize;
    let idf = section_field("id");
    let i = (0..n)
        .find(|&i| {
            let at = section_record_at(i) + idf.offset;
            read_le(&bytes[at..at + 4]) == u64::from(id)
        })
        .expect("section present");
    let fs = section_field(name);
    let at = section_record_at(i) + fs.offset;
    let old = read_le(&bytes[at..at + fs.width]);
    bytes[at..at + fs.width].copy_from_slice(&f(old).to_le_bytes()[..fs.width]);
    header::reseal(bytes);
}

// ---------------------------------------------------------------------------------------
// A view of a valid archive.

/// A page of the index, where it lies and what it holds.
#[derive(Debug, Clone)]
pub struct PageView {
    /// Absolute byte range (in the prelude for a root page).
    pub range: Range<usize>,
    pub first_entry: u64,
    pub head: PageHead,
    /// Each entry with the absolute byte range of its encoding.
    pub entries: Vec<(EntryRecord, Range<usize>)>,
    /// Absolute byte ranges of the nodes above it (the root's range included).
    pub path: Vec<Range<usize>>,
}

/// A branch of the index.
#[derive(Debug, Clone)]
pub struct BranchView {
    pub range: Range<usize>,
    pub level: u8,
    pub first_entry: u64,
    pub children: Vec<Child>,
}

/// Where everything of a valid archive lies.
#[derive(Debug, Clone)]
pub struct Anatomy {
    pub header: Header,
    pub prelude: Range<usize>,
    pub root: Range<usize>,
    pub dict: Range<usize>,
    pub index: Range<usize>,
    pub data: Range<usize>,
    /// Every section: id and absolute range, in table order.
    pub sections: Vec<(u32, Range<usize>)>,
    pub pages: Vec<PageView>,
    /// Branches, the root (if a branch) first, in depth-first order.
    pub branches: Vec<BranchView>,
    /// Every block, from the pages' runs (offsets relative to DATA).
    pub blocks: Vec<BlockRecord>,
}

impl Anatomy {
    /// Takes a valid archive apart (panics on anything invalid: the input is a fixture).
    pub fn of(bytes: &[u8]) -> Anatomy {
        let p = Prelude::decode(bytes, bytes.len() as u64).expect("valid prelude");
        let h = p.header.clone();
        let prelude_len = h.prelude_len as usize;
        let root_start = prelude_len - 4 - h.root_len as usize;
        let root = root_start..root_start + h.root_len as usize;
        let mut sections = Vec::new();
        for s in &p.sections {
            sections.push((s.id, s.offset as usize..(s.offset + s.length) as usize));
        }
        let range_of = |id: SectionId| {
            sections
                .iter()
                .find(|(i, _)| *i == id as u32)
                .map(|(_, r)| r.clone())
                .expect("section")
        };
        let mut a = Anatomy {
            dict: range_of(SectionId::Dict),
            index: range_of(SectionId::Index),
            data: range_of(SectionId::Data),
            header: h.clone(),
            prelude: 0..prelude_len,
            root: root.clone(),
            sections: sections.clone(),
            pages: Vec::new(),
            branches: Vec::new(),
            blocks: Vec::new(),
        };
        a.walk(bytes, root, h.index_depth, 0, &mut Vec::new());
        for p in &a.pages {
            for b in &p.head.run {
                if a.blocks.last().is_none_or(|l| l.number < b.number) {
                    a.blocks.push(*b);
                }
            }
        }
        assert_eq!(a.blocks.len() as u64, h.block_count);
        a
    }

    fn walk(
        &mut self,
        bytes: &[u8],
        range: Range<usize>,
        level: u8,
        first: u64,
        path: &mut Vec<Range<usize>>,
    ) {
        let node = &bytes[range.clone()];
        if level == 0 {
            let head = PageHead::decode(node).expect("page");
            let mut d = EntryDecoder::new(node, head.entries_at, head.restarts_at, 0);
            let mut entries = Vec::new();
            for _ in 0..head.n {
                let at = d.pos();
                let e = d.next_entry().expect("entry");
                entries.push((e, range.start + at..range.start + d.pos()));
            }
            self.pages.push(PageView {
                range,
                first_entry: first,
                head,
                entries,
                path: path.clone(),
            });
            return;
        }
        let children = decode_branch(node, first).expect("branch");
        self.branches.push(BranchView {
            range: range.clone(),
            level,
            first_entry: first,
            children: children.clone(),
        });
        path.push(range);
        for c in &children {
            let at = self.index.start + c.offset as usize;
            self.walk(
                bytes,
                at..at + c.len as usize,
                level - 1,
                c.first_entry,
                path,
            );
        }
        path.pop();
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.pages.iter().map(|p| p.entries.len()).sum()
    }

    /// The page holding entry `i` and `i`'s position in it.
    pub fn locate(&self, i: usize) -> (&PageView, usize) {
        let p = self
            .pages
            .iter()
            .rev()
            .find(|p| p.first_entry as usize <= i)
            .expect("page");
        (p, i - p.first_entry as usize)
    }

    /// Entry `i`'s record.
    pub fn entry(&self, i: usize) -> &EntryRecord {
        let (p, j) = self.locate(i);
        &p.entries[j].0
    }

    /// The key of entry `i`.
    pub fn key(&self, i: usize) -> String {
        self.entry(i).key.clone()
    }

    /// Where entry `i`'s encoding lies in the file.
    pub fn entry_range(&self, i: usize) -> Range<usize> {
        let (p, j) = self.locate(i);
        p.entries[j].1.clone()
    }

    /// The blocks stream bytes `s .. s + len` lie in.
    pub fn blocks_in(&self, s: u64, len: u64) -> Vec<u32> {
        let end = s.saturating_add(len);
        self.blocks
            .iter()
            .filter(|b| {
                len > 0 && b.stream_start < end && b.stream_start + u64::from(b.raw_len) > s
            })
            .map(|b| b.number)
            .collect()
    }

    /// The blocks entry `i`'s body lies in.
    pub fn body_blocks(&self, i: usize) -> Vec<u32> {
        let e = self.entry(i);
        self.blocks_in(e.body_at(), e.body_len)
    }

    /// The blocks entry `i`'s lead lies in.
    pub fn lead_blocks(&self, i: usize) -> Vec<u32> {
        let e = self.entry(i);
        self.blocks_in(e.lead_at, e.lead_len.into())
    }

    /// The blocks entry `i`'s lead or body lies in.
    pub fn blocks_of(&self, i: usize) -> Vec<u32> {
        let mut v = self.lead_blocks(i);
        v.extend(self.body_blocks(i));
        v.sort_unstable();
        v.dedup();
        v
    }

    /// Absolute range of block `b`'s stored bytes.
    pub fn block_range(&self, b: u32) -> Range<usize> {
        let r = &self.blocks[b as usize];
        let s = self.data.start + r.offset as usize;
        s..s + r.stored_len as usize
    }

    /// Absolute byte ranges that finding entry `i` (by key or by number) and reading its
    /// body depend on: the prelude, the nodes down to its page, the stored bytes of the
    /// blocks its body lies in and the dictionary when one of them uses it.
    pub fn body_deps(&self, i: usize) -> Vec<Range<usize>> {
        let (p, _) = self.locate(i);
        let mut deps = vec![self.prelude.clone(), p.range.clone()];
        deps.extend(p.path.iter().cloned());
        for b in self.body_blocks(i) {
            deps.push(self.block_range(b));
            if self.blocks[b as usize].codec == Codec::ZstdDict as u8 {
                deps.push(self.dict.clone());
            }
        }
        deps
    }
}

/// Whether any of `deps` overlaps `changed`.
pub fn touches(deps: &[Range<usize>], changed: &Range<usize>) -> bool {
    deps.iter()
        .any(|d| d.start < changed.end && changed.start < d.end)
}

// ---------------------------------------------------------------------------------------
// Taking archives apart and putting them back together.

/// A page: its block records and its entries.
#[derive(Debug, Clone)]
pub struct Page {
    pub run: Vec<BlockRecord>,
    pub foreign: Vec<BlockRecord>,
    pub entries: Vec<EntryRecord>,
}

/// A valid archive taken apart. Change anything, then [`Parts::to_bytes`] lays it out again:
/// pages and branches re-encoded (pages first, then each level of branches, as the writer
/// does), every node's length, offset, entry count and CRC in its parent recomputed,
/// sections placed in `order` with their CRCs, `file_len` and the prelude's lengths and CRC
/// recomputed. Other header fields (counts, `index_depth`, flags) are written as they
/// stand, and so are block records: [`Parts::sync_blocks`] recomputes them from `stored`.
#[derive(Debug, Clone)]
pub struct Parts {
    pub header: Header,
    /// Section ids in table (and file) order.
    pub order: Vec<u32>,
    pub meta: Vec<u8>,
    pub ctypes: Vec<u8>,
    pub dict: Vec<u8>,
    /// Sections with ids this reader does not know.
    pub unknown: Vec<(u32, Vec<u8>)>,
    pub pages: Vec<Page>,
    /// `levels[k - 1]`: the branches at level `k`, left to right, each as the separators of
    /// its children (which are the next nodes of the level below).
    pub levels: Vec<Vec<Vec<Vec<u8>>>>,
    /// Every block record (offsets relative to DATA).
    pub blocks: Vec<BlockRecord>,
    /// Every block's stored bytes; DATA is their concatenation.
    pub stored: Vec<Vec<u8>>,
}

impl Parts {
    /// Takes a valid archive apart.
    pub fn parse(bytes: &[u8]) -> Parts {
        let a = Anatomy::of(bytes);
        let p = Prelude::decode(bytes, bytes.len() as u64).expect("prelude");
        let depth = a.header.index_depth as usize;
        let mut levels = vec![Vec::new(); depth];
        // Depth-first order visits each level left to right.
        for b in &a.branches {
            levels[b.level as usize - 1].push(b.children.iter().map(|c| c.sep.clone()).collect());
        }
        let stored = a
            .blocks
            .iter()
            .map(|b| bytes[a.block_range(b.number)].to_vec())
            .collect();
        Parts {
            header: a.header.clone(),
            order: a.sections.iter().map(|(id, _)| *id).collect(),
            meta: p.meta.to_vec(),
            ctypes: p.ctypes.to_vec(),
            dict: bytes[a.dict.clone()].to_vec(),
            unknown: a
                .sections
                .iter()
                .filter(|(id, _)| SectionId::from_u32(*id).is_none())
                .map(|(id, r)| (*id, bytes[r.clone()].to_vec()))
                .collect(),
            pages: a
                .pages
                .iter()
                .map(|p| Page {
                    run: p.head.run.clone(),
                    foreign: p.head.foreign.clone(),
                    entries: p.entries.iter().map(|e| e.0.clone()).collect(),
                })
                .collect(),
            levels,
            blocks: a.blocks.clone(),
            stored,
        }
    }

    /// Every entry, in order, with its page and position.
    pub fn entries(&self) -> impl Iterator<Item = &EntryRecord> {
        self.pages.iter().flat_map(|p| &p.entries)
    }

    /// Entry `i`, mutably.
    pub fn entry_mut(&mut self, mut i: usize) -> &mut EntryRecord {
        for p in &mut self.pages {
            if i < p.entries.len() {
                return &mut p.entries[i];
            }
            i -= p.entries.len();
        }
        panic!("no entry {i}")
    }

    /// Recomputes every block's offset, `stored_len`, `stored_crc` and `stream_start` from
    /// `stored` and the `raw_len`s (with `crcs` false, the stored CRCs are kept), and copies
    /// the records into the pages that describe them.
    pub fn sync_blocks(&mut self, crcs: bool) {
        let (mut offset, mut stream) = (0u64, 0u64);
        for (b, s) in self.blocks.iter_mut().zip(&self.stored) {
            b.offset = offset;
            b.stored_len = s.len() as u32;
            b.stream_start = stream;
            if crcs {
                b.stored_crc = format::crc32(s);
            }
            offset += s.len() as u64;
            stream += u64::from(b.raw_len);
        }
        for p in &mut self.pages {
            for r in p.run.iter_mut().chain(p.foreign.iter_mut()) {
                if let Some(b) = self.blocks.get(r.number as usize) {
                    *r = *b;
                }
            }
        }
    }

    /// Decompresses block `b` (codec 0 or 1).
    pub fn raw_block(&self, b: usize) -> Vec<u8> {
        let r = &self.blocks[b];
        match Codec::from_u8(r.codec) {
            Some(Codec::Raw) => self.stored[b].clone(),
            Some(Codec::Zstd) => {
                zstd::bulk::decompress(&self.stored[b], r.raw_len as usize).expect("block")
            }
            _ => panic!("block {b} needs the dictionary"),
        }
    }

    /// Replaces block `b`'s raw bytes (same length), storing them raw (codec 0), with every
    /// block checksum recomputed: an edit of the stream that only the reader's own checks
    /// can catch.
    pub fn set_raw_block(&mut self, b: usize, raw: Vec<u8>) {
        let r = &mut self.blocks[b];
        assert_eq!(raw.len(), r.raw_len as usize);
        r.codec = Codec::Raw as u8;
        r.raw_crc = format::crc32(&raw);
        self.stored[b] = raw;
        self.sync_blocks(true);
    }

    /// Edits the stream bytes `s .. s + f's slice` in place (they must lie in one block).
    pub fn edit_stream(&mut self, s: u64, f: impl FnOnce(&mut [u8])) {
        let b = self
            .blocks
            .iter()
            .position(|b| b.stream_start <= s && s < b.stream_start + u64::from(b.raw_len))
            .expect("block");
        let mut raw = self.raw_block(b);
        let off = (s - self.blocks[b].stream_start) as usize;
        f(&mut raw[off..]);
        self.set_raw_block(b, raw);
    }

    /// Where DATA will start in the laid-out file.
    pub fn data_start(&self) -> u64 {
        let (index, _, root) = self.encode_index(&mut |_, _, _| {});
        let mut at = header::prelude_len(
            self.order.len(),
            self.meta.len(),
            self.ctypes.len(),
            root.len(),
        ) as u64;
        for id in &self.order {
            if *id == SectionId::Data as u32 {
                return at;
            }
            at += self.section_len(*id, &index) as u64;
        }
        at
    }

    fn section_len(&self, id: u32, index: &[u8]) -> usize {
        match SectionId::from_u32(id) {
            Some(SectionId::Dict) => self.dict.len(),
            Some(SectionId::Index) => index.len(),
            Some(SectionId::Data) => self.stored.iter().map(Vec::len).sum(),
            None => self
                .unknown
                .iter()
                .find(|(u, _)| *u == id)
                .map_or(0, |(_, b)| b.len()),
        }
    }

    /// Encodes the tree: (INDEX, number of entries, root). `hook(level, branch, children)`
    /// may change a branch's child records before it is encoded.
    fn encode_index(
        &self,
        hook: &mut dyn FnMut(u8, usize, &mut Vec<Child>),
    ) -> (Vec<u8>, u64, Vec<u8>) {
        let mut index = Vec::new();
        let mut nodes: Vec<(Vec<u8>, u64)> = self
            .pages
            .iter()
            .map(|p| {
                let mut enc = EntryEncoder::new();
                for e in &p.entries {
                    enc.push(e);
                }
                (encode_page(&p.run, &p.foreign, enc), p.entries.len() as u64)
            })
            .collect();
        for (k, level) in self.levels.iter().enumerate() {
            // Place the level below in INDEX.
            let mut children: Vec<Child> = Vec::new();
            for (bytes, n) in &nodes {
                children.push(Child {
                    first_entry: 0,
                    entries: *n,
                    offset: index.len() as u64,
                    len: bytes.len() as u32,
                    crc: format::crc32(bytes),
                    sep: Vec::new(),
                });
                index.extend_from_slice(bytes);
            }
            let mut it = children.into_iter();
            let mut next = Vec::new();
            for (j, seps) in level.iter().enumerate() {
                let mut cs: Vec<Child> = it.by_ref().take(seps.len()).collect();
                for (c, s) in cs.iter_mut().zip(seps) {
                    c.sep = s.clone();
                }
                let n = cs.iter().map(|c| c.entries).sum();
                hook(k as u8 + 1, j, &mut cs);
                next.push((encode_branch(&cs), n));
            }
            nodes = next;
        }
        assert_eq!(nodes.len(), 1, "one root");
        let (root, n) = nodes.pop().expect("root");
        (index, n, root)
    }

    /// Lays the archive out again (see [`Parts`]).
    pub fn to_bytes(&self) -> Vec<u8> {
        self.to_bytes_with(|_, _, _| {})
    }

    /// Same, letting `hook(level, branch, children)` change the child records of a branch
    /// (level ≥ 1, left to right) just before it is encoded.
    pub fn to_bytes_with(&self, mut hook: impl FnMut(u8, usize, &mut Vec<Child>)) -> Vec<u8> {
        let (index, _, root) = self.encode_index(&mut hook);
        let data: Vec<u8> = self.stored.concat();
        let mut at = header::prelude_len(
            self.order.len(),
            self.meta.len(),
            self.ctypes.len(),
            root.len(),
        ) as u64;
        let mut body = Vec::new();
        let mut recs = Vec::new();
        for id in &self.order {
            let b: &[u8] = match SectionId::from_u32(*id) {
                Some(SectionId::Dict) => &self.dict,
                Some(SectionId::Index) => &index,
                Some(SectionId::Data) => &data,
                None => self
                    .unknown
                    .iter()
                    .find(|(u, _)| u == id)
                    .map_or(&[][..], |(_, b)| b),
            };
            recs.push(format::SectionRecord {
                id: *id,
                offset: at,
                length: b.len() as u64,
                crc: format::crc32(b),
            });
            at += b.len() as u64;
            body.extend_from_slice(b);
        }
        let mut h = self.header.clone();
        h.file_len = at;
        let mut out = header::encode_prelude(&h, &recs, &self.meta, &self.ctypes, &root);
        out.extend_from_slice(&body);
        out
    }
}

/// Proptest case count: `PROPTEST_CASES` when set, else `default`.
pub fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// One zstd frame of `raw` as §5 wants it: content size, no checksum.
pub fn frame(raw: &[u8]) -> Vec<u8> {
    zstd::bulk::compress(raw, 3).expect("compress")
}
