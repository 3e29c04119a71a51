//! The test vectors in `spec/vectors/` (spec §10): archives a reader must accept, with their
//! expected contents, and files it must reject, each with the error it must give.
//!
//! Each accepted `NAME.quire` must read back to exactly `NAME.jsonl` (the `unpack --jsonl`
//! form, spec §9) and pass `verify`, and today's writer must reproduce it byte for byte —
//! plus, for the files that exercise what the writer does not make (an unknown flag or
//! section, a higher minor version, a trained dictionary), a documented edit made here — so
//! a format change cannot slip in unnoticed. Each `reject/NAME.quire` is made here, from a
//! written archive, by one deterministic edit with the checksum chain recomputed around it;
//! it must fail with the code `reject/expected.txt` gives it (the library's own
//! `ReadError::code`), at the stage (open, use, full verification) the table below says.
//!
//! After an intended format change (new version, spec updated), regenerate with
//! `QUIRE_BLESS=1 cargo test -p quire-cli --test integration vectors:: -- --skip title_vectors::
//! --skip search_vectors::` (the module filter `vectors::` matches those two modules too).

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use quire::format::chain::{reseal, reseal_sections, Reseal};
use quire::format::entries::{EntryDecoder, EntryEncoder};
use quire::format::header::{encode_prelude, prelude_len, Prelude, SectionRecord, HEADER_FIELDS};
use quire::format::nodes::{
    decode_branch, encode_branch, encode_page, unpack_node, Child, PageHead, KIND_PACKED,
    PACKED_RATIO,
};
use quire::format::{self, BlockRecord, Codec, EntryRecord, Header, SectionId};
use quire::{
    Archive, ArchiveWriter, DamageKind, Date, DictionaryMode, Location, NewEntry, ReadError, Rule,
    WriterOptions,
};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec/vectors")
}

fn bless() -> bool {
    std::env::var_os("QUIRE_BLESS").is_some()
}

fn opts(block_size: u32, dictionary: DictionaryMode) -> WriterOptions {
    // No title index (§14): these vectors test the rest of the format, byte for byte.
    WriterOptions::new()
        .index(quire::IndexKind::None)
        .level(3)
        .dedup(false)
        .block_size(block_size)
        .dictionary(dictionary)
        .dict_size(1024)
        .threads(1)
        // Raw nodes (§6.2, §6.3) in every vector but `packed`, which tests §6.5.
        .pack_nodes(false)
        .created(1_000_000_000)
        .metadata("title", "quire test vector")
        .metadata("source", "spec/vectors")
        .metadata("tool", "quire test vectors")
}

/// Deterministic article-like text.
fn text(i: usize, words: usize) -> String {
    const W: [&str; 16] = [
        "the", "council", "said", "on", "monday", "that", "harbour", "bridge", "would", "reopen",
        "after", "repairs", "to", "its", "northern", "span",
    ];
    let mut s = String::new();
    let mut x = i as u64 * 2_654_435_761 + 7;
    for n in 0..words {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        if n > 0 {
            s.push(' ');
        }
        s.push_str(W[(x % 16) as usize]);
    }
    s.push('.');
    s
}

/// The archives the writer makes, by name.
const WRITTEN: [&str; 10] = [
    "empty",
    "small",
    "dict",
    "raw",
    "shared",
    "foreign",
    "depth1",
    "depth2",
    "depth2-blocks",
    "packed",
];
/// Written archives edited in ways a reader must accept (§2.2–§2.4, §5).
const EDITED: [&str; 4] = ["optional-flag", "optional-section", "minor", "trained-dict"];

/// The long prefix of `depth2-blocks`' keys: long separators, so that a branch over a few
/// dozen pages outgrows the prelude.
fn depth2_blocks_key(i: usize) -> String {
    let prefix = "depth/two/with/blocks/".to_string() + &"a-long-shared-key-prefix/".repeat(12);
    format!("{prefix}{i:04}")
}

/// `packed`'s keys: pairs of long keys of words (which pack, even alone in a page) that
/// differ only in their last byte, so that half the separators are long and the branch over
/// the pages outgrows the prelude (a level of branches, which pack too, their separators
/// words, not one repeated string: within the ratio bound); then `short/` keys, whose pages
/// are too small to pack.
fn packed_key(i: usize) -> String {
    if i < PACKED_PAIRS * 2 {
        let words = text(500 + i / 2, 70).replace(' ', "-");
        format!("packed/{words}/{}", ["a", "b"][i % 2])
    } else {
        format!("short/{i}")
    }
}

/// Pairs of long keys in `packed`.
const PACKED_PAIRS: usize = 64;

fn build(name: &str) -> Vec<u8> {
    let o = match name {
        "empty" => opts(4096, DictionaryMode::Off),
        "small" | "raw" => opts(256, DictionaryMode::Off),
        "shared" => opts(256, DictionaryMode::Off).dedup(true),
        // Pages of a few entries and blocks of a few bodies: the repeated bodies of later
        // pages lie in the first page's block.
        "foreign" => opts(256, DictionaryMode::Off).dedup(true).page_size(128),
        // One entry per page: enough pages that their branch outgrows the prelude.
        "depth2" => opts(4096, DictionaryMode::Off).page_size(32),
        "depth2-blocks" => opts(128, DictionaryMode::Off).page_size(32),
        "depth1" => opts(512, DictionaryMode::Off).page_size(256),
        // One entry per page, the pages of long keys and their branches packed (§6.5).
        "packed" => opts(128, DictionaryMode::Off)
            .page_size(32)
            .pack_nodes(true),
        _ => opts(512, DictionaryMode::On),
    };
    let mut w = ArchiveWriter::in_memory(o).unwrap();
    match name {
        "empty" => {}
        "small" => {
            let body = text(1, 60);
            w.add(
                &NewEntry::new("news/2002/embassy", body.as_bytes())
                    .title("Asylum Seekers Break Into Embassy")
                    .date(Date::new(2002, 3, 14).unwrap())
                    .meta("lang", "en")
                    .meta("section", "world"),
            )
            .unwrap();
            w.add(&NewEntry::new("empty", b"")).unwrap();
            w.add(
                &NewEntry::new("bin/noise.bin", &[0, 1, 2, 255, 254, 0, 7])
                    .content_type("application/octet-stream"),
            )
            .unwrap();
            let long = text(2, 1000);
            w.add(&NewEntry::new("a/long-article", long.as_bytes()).title("Spans blocks"))
                .unwrap();
            w.add(&NewEntry::new("ünïcödé/ключ", "Grüße — €".as_bytes()))
                .unwrap();
        }
        "raw" => {
            // Bytes that do not compress: stored raw (codec 0).
            let mut x = 0x1234_5678_u32;
            let noise: Vec<u8> = (0..600)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    x as u8
                })
                .collect();
            w.add(&NewEntry::new("noise", &noise).content_type("application/octet-stream"))
                .unwrap();
            w.add(&NewEntry::new("text", text(3, 30).as_bytes()))
                .unwrap();
        }
        "shared" => {
            let same = text(4, 25);
            for k in ["copy/a", "copy/b", "copy/c"] {
                w.add(&NewEntry::new(k, same.as_bytes()).title(k)).unwrap();
            }
            w.add(&NewEntry::new("other", text(5, 25).as_bytes()))
                .unwrap();
        }
        "foreign" => {
            // Every eighth entry repeats entry 0's body.
            let same = text(6, 18);
            for i in 0..26 {
                let body = if i % 8 == 0 {
                    same.clone()
                } else {
                    text(100 + i, 14)
                };
                let key = format!("foreign/{i:02}");
                let title = format!("Item {i}");
                w.add(&NewEntry::new(&key, body.as_bytes()).title(&title))
                    .unwrap();
            }
        }
        "packed" => {
            for i in 0..PACKED_PAIRS * 2 + 4 {
                w.add(&NewEntry::new(&packed_key(i), text(400 + i, 7).as_bytes()))
                    .unwrap();
            }
        }
        "depth2-blocks" => {
            for i in 0..72 {
                w.add(&NewEntry::new(
                    &depth2_blocks_key(i),
                    text(200 + i, 9).as_bytes(),
                ))
                .unwrap();
            }
        }
        "depth1" | "depth2" => {
            let n = if name == "depth1" { 60 } else { 1000 };
            for i in 0..n {
                // Long shared prefixes make long separators: the branch over one page per
                // entry outgrows the prelude.
                let key = if name == "depth1" {
                    format!("k/{i:05}")
                } else {
                    format!("depth/two/a/long/shared/prefix/{i:05}")
                };
                let body = if name == "depth1" {
                    text(i, 8)
                } else {
                    String::new()
                };
                w.add(&NewEntry::new(&key, body.as_bytes())).unwrap();
            }
        }
        _ => {
            for i in 0..40 {
                let key = format!("article/{i:03}");
                let body = text(i, 20 + i % 30);
                let title = format!("Article number {i}");
                let mut e = NewEntry::new(&key, body.as_bytes()).title(&title);
                if i % 3 == 0 {
                    e = e.date(
                        Date::new(2000 + i as u16, 1 + (i % 12) as u8, 1 + (i % 28) as u8).unwrap(),
                    );
                }
                w.add(&e).unwrap();
            }
        }
    }
    w.finish_into_inner().unwrap().0.into_inner()
}

/// Sets the header field `name` to `value` (little-endian, its width).
fn set_field(bytes: &mut [u8], name: &str, value: u64) {
    let f = HEADER_FIELDS.iter().find(|f| f.name == name).unwrap();
    bytes[f.offset..f.offset + f.width].copy_from_slice(&value.to_le_bytes()[..f.width]);
}

// ---------------------------------------------------------------------------------------
// Taking a valid archive apart and laying it out again.

/// The prelude's parts and the sections' bytes of an archive, in table order.
#[derive(Debug, Clone)]
struct Sections {
    header: Header,
    meta: Vec<u8>,
    ctypes: Vec<u8>,
    root: Vec<u8>,
    /// (id, bytes) in table (and file) order.
    sections: Vec<(u32, Vec<u8>)>,
}

impl Sections {
    fn of(b: &[u8]) -> Sections {
        let p = Prelude::decode(b, b.len() as u64).unwrap();
        Sections {
            header: p.header.clone(),
            meta: p.meta.to_vec(),
            ctypes: p.ctypes.to_vec(),
            root: p.root.to_vec(),
            sections: p
                .sections
                .iter()
                .map(|s| {
                    (
                        s.id,
                        b[s.offset as usize..(s.offset + s.length) as usize].to_vec(),
                    )
                })
                .collect(),
        }
    }

    fn get(&self, id: SectionId) -> &Vec<u8> {
        &self.sections.iter().find(|s| s.0 == id as u32).unwrap().1
    }

    fn get_mut(&mut self, id: SectionId) -> &mut Vec<u8> {
        &mut self
            .sections
            .iter_mut()
            .find(|s| s.0 == id as u32)
            .unwrap()
            .1
    }

    /// The file: sections back to back after the prelude, every offset, length and CRC of
    /// the table, `file_len` and the prelude's lengths and CRC computed.
    fn to_bytes(&self) -> Vec<u8> {
        let mut at = prelude_len(
            self.sections.len(),
            self.meta.len(),
            self.ctypes.len(),
            self.root.len(),
        ) as u64;
        let mut records = Vec::new();
        let mut body = Vec::new();
        for (id, bytes) in &self.sections {
            records.push(SectionRecord {
                id: *id,
                offset: at,
                length: bytes.len() as u64,
                crc: format::crc32(bytes),
            });
            at += bytes.len() as u64;
            body.extend_from_slice(bytes);
        }
        let mut h = self.header.clone();
        h.file_len = at;
        let mut out = encode_prelude(&h, &records, &self.meta, &self.ctypes, &self.root);
        out.extend_from_slice(&body);
        out
    }
}

/// A page: its block records and entries.
#[derive(Debug, Clone)]
struct PageParts {
    run: Vec<BlockRecord>,
    foreign: Vec<BlockRecord>,
    entries: Vec<EntryRecord>,
}

/// A valid archive taken apart down to its entries and blocks. [`Apart::to_bytes`] lays it
/// out again as the writer does (pages, then each level of branches, in INDEX; DATA the
/// blocks back to back), every node's length and CRC in its parent recomputed, then the
/// sections and the prelude (see [`Sections::to_bytes`]). Taking a written archive apart and
/// laying it out again gives the same bytes (checked by a test below).
#[derive(Debug, Clone)]
struct Apart {
    s: Sections,
    pages: Vec<PageParts>,
    /// `levels[k - 1]`: the branches of level `k`, left to right, each as the separators of
    /// its children (the next nodes of the level below).
    levels: Vec<Vec<Vec<Vec<u8>>>>,
    /// Every block record, by number (offsets from DATA's start).
    blocks: Vec<BlockRecord>,
    /// Every block's stored bytes.
    stored: Vec<Vec<u8>>,
}

impl Apart {
    fn of(b: &[u8]) -> Apart {
        let s = Sections::of(b);
        let depth = usize::from(s.header.index_depth);
        let mut a = Apart {
            pages: Vec::new(),
            levels: vec![Vec::new(); depth],
            blocks: Vec::new(),
            stored: Vec::new(),
            s,
        };
        let (root, index) = (a.s.root.clone(), a.s.get(SectionId::Index).clone());
        a.walk(&root, &index, depth);
        for p in &a.pages {
            for r in &p.run {
                if a.blocks.last().is_none_or(|l| l.number < r.number) {
                    a.blocks.push(*r);
                }
            }
        }
        let data = a.s.get(SectionId::Data);
        a.stored = a
            .blocks
            .iter()
            .map(|r| {
                data[r.offset as usize..(r.offset + u64::from(r.stored_len)) as usize].to_vec()
            })
            .collect();
        assert_eq!(a.blocks.len() as u64, a.s.header.block_count);
        a
    }

    fn walk(&mut self, node: &[u8], index: &[u8], level: usize) {
        let node = &unpack_node(node, true).unwrap()[..];
        if level == 0 {
            let head = PageHead::decode(node).unwrap();
            let mut d = EntryDecoder::new(node, head.entries_at, head.restarts_at, 0);
            let entries = (0..head.n).map(|_| d.next_entry().unwrap()).collect();
            self.pages.push(PageParts {
                run: head.run,
                foreign: head.foreign,
                entries,
            });
            return;
        }
        let children = decode_branch(node, 0).unwrap();
        self.levels[level - 1].push(children.iter().map(|c| c.sep.clone()).collect());
        for c in &children {
            let child = &index[c.offset as usize..(c.offset + u64::from(c.len)) as usize];
            self.walk(child, index, level - 1);
        }
    }

    /// Every entry, in order.
    fn entries(&self) -> impl Iterator<Item = &EntryRecord> {
        self.pages.iter().flat_map(|p| &p.entries)
    }

    /// Recomputes every block's offset, `stored_len`, `stored_crc` and `stream_start` from
    /// `stored` and the `raw_len`s, and copies the records into the pages that hold them.
    fn sync_blocks(&mut self) {
        let (mut offset, mut stream) = (0u64, 0u64);
        for (b, s) in self.blocks.iter_mut().zip(&self.stored) {
            b.offset = offset;
            b.stored_len = s.len() as u32;
            b.stream_start = stream;
            b.stored_crc = format::crc32(s);
            offset += s.len() as u64;
            stream += u64::from(b.raw_len);
        }
        for p in &mut self.pages {
            for r in p.run.iter_mut().chain(p.foreign.iter_mut()) {
                *r = self.blocks[r.number as usize];
            }
        }
    }

    /// Block `b`'s decompressed bytes (codec 0 or 1).
    fn raw_block(&self, b: usize) -> Vec<u8> {
        let r = &self.blocks[b];
        match Codec::from_u8(r.codec) {
            Some(Codec::Raw) => self.stored[b].clone(),
            Some(Codec::Zstd) => {
                zstd::bulk::decompress(&self.stored[b], r.raw_len as usize).unwrap()
            }
            _ => panic!("block {b} needs the dictionary"),
        }
    }

    /// INDEX and the root, each node below the root stored as `store(level, i, node)` gives
    /// it (`i`: its place in its level, from 0), its record in its parent that of the bytes
    /// stored.
    fn encode_index_with(
        &self,
        store: impl Fn(usize, usize, Vec<u8>) -> Vec<u8>,
    ) -> (Vec<u8>, Vec<u8>) {
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
            let mut placed = Vec::new();
            for (i, (node, n)) in nodes.iter().enumerate() {
                let bytes = &store(k, i, node.clone());
                placed.push(Child {
                    first_entry: 0,
                    entries: *n,
                    offset: index.len() as u64,
                    len: bytes.len() as u32,
                    crc: format::crc32(bytes),
                    sep: Vec::new(),
                });
                index.extend_from_slice(bytes);
            }
            let mut it = placed.into_iter();
            nodes = level
                .iter()
                .map(|seps| {
                    let mut cs: Vec<Child> = it.by_ref().take(seps.len()).collect();
                    for (c, s) in cs.iter_mut().zip(seps) {
                        c.sep = s.clone();
                    }
                    (encode_branch(&cs), cs.iter().map(|c| c.entries).sum())
                })
                .collect();
        }
        assert_eq!(nodes.len(), 1, "one root");
        (index, nodes.pop().unwrap().0)
    }

    fn to_bytes(&self) -> Vec<u8> {
        self.to_bytes_with(|_, _, node| node)
    }

    /// As [`to_bytes`](Self::to_bytes), each node of INDEX stored as `store` gives it (see
    /// [`encode_index_with`](Self::encode_index_with)).
    fn to_bytes_with(&self, store: impl Fn(usize, usize, Vec<u8>) -> Vec<u8>) -> Vec<u8> {
        let (index, root) = self.encode_index_with(store);
        let mut s = self.s.clone();
        s.root = root;
        *s.get_mut(SectionId::Index) = index;
        *s.get_mut(SectionId::Data) = self.stored.concat();
        s.to_bytes()
    }
}

/// `node` packed as §6.5 says, whatever it gains: the kind byte 2 and one zstd frame (content
/// size, no checksum, no dictionary id), without the writer's checks that the result is
/// shorter and within the ratio bound.
fn force_pack(node: &[u8]) -> Vec<u8> {
    let mut c = zstd::bulk::Compressor::new(19).unwrap();
    c.set_parameter(zstd::zstd_safe::CParameter::ChecksumFlag(false))
        .unwrap();
    c.set_parameter(zstd::zstd_safe::CParameter::ContentSizeFlag(true))
        .unwrap();
    c.set_parameter(zstd::zstd_safe::CParameter::DictIdFlag(false))
        .unwrap();
    let mut out = vec![KIND_PACKED];
    out.extend_from_slice(&c.compress(node).unwrap());
    out
}

/// For each node of INDEX, in file order: its level and whether it is stored packed.
fn stored_kinds(b: &[u8]) -> Vec<(u8, bool)> {
    let s = Sections::of(b);
    let mut out = Vec::new();
    let mut level = s.header.index_depth;
    let mut todo = vec![s.root.clone()];
    while level > 0 {
        let mut next = Vec::new();
        for node in &todo {
            for c in decode_branch(&unpack_node(node, true).unwrap(), 0).unwrap() {
                let child = node_bytes(&s, &c).to_vec();
                out.push((level - 1, child[0] == KIND_PACKED));
                next.push(child);
            }
        }
        todo = next;
        level -= 1;
    }
    out
}

/// A root branch's children (with their first entry numbers).
fn root_children(s: &Sections) -> Vec<Child> {
    decode_branch(&s.root, 0).unwrap()
}

/// The children of the branch `c` (a child record of a branch) of INDEX.
fn children_of(s: &Sections, c: &Child) -> Vec<Child> {
    decode_branch(node_bytes(s, c), c.first_entry).unwrap()
}

/// The bytes of the node `c` of INDEX.
fn node_bytes<'s>(s: &'s Sections, c: &Child) -> &'s [u8] {
    &s.get(SectionId::Index)[c.offset as usize..(c.offset + u64::from(c.len)) as usize]
}

/// Writes four bytes at `at` in `bytes` so that the CRC32 of `bytes` becomes `want`. CRC32
/// is affine over GF(2): the CRC of `bytes` with `x` at `at` is the CRC with zeros there
/// XOR a linear function of `x`, which four bytes can always set (Gaussian elimination).
fn force_crc(bytes: &mut [u8], at: usize, want: u32) {
    bytes[at..at + 4].fill(0);
    let base = format::crc32(bytes);
    // basis[bit]: (a combination of columns with that leading bit, which input bits make it)
    let mut basis: [Option<(u32, u32)>; 32] = [None; 32];
    for i in 0..32 {
        bytes[at + i / 8] ^= 1 << (i % 8);
        let (mut v, mut m) = (format::crc32(bytes) ^ base, 1u32 << i);
        bytes[at + i / 8] ^= 1 << (i % 8);
        for bit in (0..32).rev() {
            if v >> bit & 1 == 0 {
                continue;
            }
            match basis[bit] {
                Some((bv, bm)) => {
                    v ^= bv;
                    m ^= bm;
                }
                None => {
                    basis[bit] = Some((v, m));
                    break;
                }
            }
        }
    }
    let (mut t, mut x) = (want ^ base, 0u32);
    for bit in (0..32).rev() {
        if t >> bit & 1 == 1 {
            let (bv, bm) = basis[bit].expect("four bytes set any CRC");
            t ^= bv;
            x ^= bm;
        }
    }
    bytes[at..at + 4].copy_from_slice(&x.to_le_bytes());
    assert_eq!(format::crc32(bytes), want);
}

// ---------------------------------------------------------------------------------------
// Accepted vectors that the writer does not make as they are.

/// `small.quire` with one more section, of an id no reader knows, after the others.
fn with_unknown_section(small: &[u8]) -> Vec<u8> {
    let mut s = Sections::of(small);
    s.sections
        .push((99, b"an optional section a reader skips".to_vec()));
    s.to_bytes()
}

/// `dict` with its blocks compressed again with a trained zstd dictionary (RAW_DICT clear):
/// zstd trains it on the blocks' bytes; each block is stored with it (codec 2), or raw when
/// that is not smaller.
fn with_trained_dictionary(dict: &[u8]) -> Vec<u8> {
    let mut a = Apart::of(dict);
    assert_ne!(a.s.header.required_flags & format::REQUIRED_RAW_DICT, 0);
    let raw_dict =
        zstd::bulk::decompress(a.s.get(SectionId::Dict), format::MAX_DICT_LEN as usize).unwrap();
    let mut dec = zstd::bulk::Decompressor::with_dictionary(&raw_dict).unwrap();
    let raws: Vec<Vec<u8>> = (0..a.blocks.len())
        .map(|b| match Codec::from_u8(a.blocks[b].codec) {
            Some(Codec::ZstdDict) => dec
                .decompress(&a.stored[b], a.blocks[b].raw_len as usize)
                .unwrap(),
            _ => a.raw_block(b),
        })
        .collect();
    let trained = zstd::dict::from_samples(&raws, 2048).unwrap();
    assert!(trained.starts_with(&format::ZSTD_DICT_MAGIC));
    let mut c = zstd::bulk::Compressor::with_dictionary(3, &trained).unwrap();
    c.include_checksum(false).unwrap();
    c.include_dictid(false).unwrap();
    c.include_contentsize(true).unwrap();
    for (b, raw) in raws.iter().enumerate() {
        let packed = c.compress(raw).unwrap();
        let r = &mut a.blocks[b];
        if packed.len() < raw.len() {
            r.codec = Codec::ZstdDict as u8;
            a.stored[b] = packed;
        } else {
            r.codec = Codec::Raw as u8;
            a.stored[b] = raw.clone();
        }
    }
    a.sync_blocks();
    let mut c = zstd::bulk::Compressor::new(3).unwrap();
    c.include_checksum(false).unwrap();
    c.include_contentsize(true).unwrap();
    *a.s.get_mut(SectionId::Dict) = c.compress(&trained).unwrap();
    a.s.header.required_flags &= !format::REQUIRED_RAW_DICT;
    a.to_bytes()
}

fn edited(name: &str) -> Vec<u8> {
    if name == "trained-dict" {
        return with_trained_dictionary(&build("dict"));
    }
    let mut b = build("small");
    match name {
        "optional-flag" => set_field(&mut b, "optional_flags", 1 << 5),
        // A minor version above the writer's: 2, the writer writing 3.1.
        "minor" => set_field(&mut b, "minor", u64::from(format::VERSION_MINOR) + 1),
        _ => return with_unknown_section(&b),
    }
    assert!(reseal(&mut b, Reseal::default()));
    b
}

fn expected_jsonl(bytes: &[u8]) -> String {
    let archive = Archive::new(bytes).unwrap();
    let mut out = Vec::new();
    quire_cli::unpack::unpack_jsonl(&archive, &mut out, &mut |_| {}).unwrap();
    String::from_utf8(out).unwrap()
}

/// The `.quire` files of `d`, by name without the extension.
fn quire_files(d: &Path) -> BTreeSet<String> {
    fs::read_dir(d)
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            name.strip_suffix(".quire").map(str::to_owned)
        })
        .collect()
}

#[test]
fn accepted_vectors_read_back_and_are_reproduced() {
    let all = WRITTEN.iter().map(|n| (*n, build(n)));
    let all = all.chain(EDITED.iter().map(|n| (*n, edited(n))));
    for (name, fresh) in all {
        let qpath = dir().join(format!("{name}.quire"));
        let jpath = dir().join(format!("{name}.jsonl"));
        if bless() {
            fs::create_dir_all(dir()).unwrap();
            fs::write(&qpath, &fresh).unwrap();
            fs::write(&jpath, expected_jsonl(&fresh)).unwrap();
        }
        let stored = fs::read(&qpath).unwrap_or_else(|e| panic!("{}: {e}", qpath.display()));
        let want = fs::read_to_string(&jpath).unwrap();
        assert_eq!(
            expected_jsonl(&stored),
            want,
            "{name}.quire does not read back to {name}.jsonl"
        );
        let report = Archive::new(&stored[..]).unwrap().verify();
        assert!(report.is_ok(), "{name}: {report}");
        assert!(
            stored == fresh,
            "the writer no longer reproduces {name}.quire byte for byte: if the format changed \
             on purpose, bump the version, update spec/FORMAT.md and regenerate with QUIRE_BLESS=1"
        );
    }
    let listed: BTreeSet<String> = WRITTEN
        .iter()
        .chain(&EDITED)
        .map(|n| n.to_string())
        .collect();
    assert_eq!(
        quire_files(&dir()),
        listed,
        "spec/vectors/ holds other files"
    );
}

/// Taking a written archive apart and laying it out again gives its bytes: the edits of
/// the reject vectors change only what they mean to.
#[test]
fn taking_apart_and_laying_out_again_is_exact() {
    // `packed` is laid out again with raw nodes (its entries the same: its own test below).
    for name in WRITTEN.iter().filter(|n| **n != "packed") {
        let b = build(name);
        assert!(Apart::of(&b).to_bytes() == b, "{name}");
        assert!(Sections::of(&b).to_bytes() == b, "{name}");
    }
}

#[test]
fn force_crc_sets_any_crc() {
    let mut b = b"a branch that holds its own checksum".to_vec();
    for want in [0, 1, 0xDEAD_BEEF, u32::MAX] {
        force_crc(&mut b, 7, want);
    }
}

#[test]
fn vectors_cover_what_the_spec_lists() {
    let read = |n: &str| fs::read(dir().join(format!("{n}.quire"))).unwrap();
    let open = |n: &str| Archive::new(read(n)).unwrap();
    let dict = open("dict");
    assert!(dict.dictionary_len() > 0 && dict.block_count() > 3);
    assert_eq!(
        dict.header().required_flags,
        format::REQUIRED_DICT | format::REQUIRED_RAW_DICT
    );
    let trained = open("trained-dict");
    assert_eq!(trained.header().required_flags, format::REQUIRED_DICT);
    assert!(trained
        .dictionary()
        .unwrap()
        .unwrap()
        .starts_with(&format::ZSTD_DICT_MAGIC));
    let codecs = |n: &str| {
        Apart::of(&read(n))
            .blocks
            .iter()
            .map(|b| b.codec)
            .collect::<Vec<_>>()
    };
    let with_dict = |n: &str| {
        codecs(n)
            .iter()
            .filter(|&&c| c == Codec::ZstdDict as u8)
            .count()
    };
    assert!(with_dict("dict") > 3);
    assert!(with_dict("trained-dict") > 3);
    let small = open("small");
    assert_eq!(small.header().index_depth, 0);
    let long = small.get("a/long-article").unwrap().unwrap();
    assert!(long.body_len() > 16 * 256, "over one block of 16 targets");
    assert!(codecs("raw").contains(&(Codec::Raw as u8)));
    assert!(codecs("raw").contains(&(Codec::Zstd as u8)));
    let shared = open("shared");
    assert_eq!(
        shared.header().optional_flags & format::OPTIONAL_SHARED_BODIES,
        1
    );
    assert!(shared.get("copy/b").unwrap().unwrap().is_shared());
    // foreign: pages after the first hold shared bodies that lie in a block of an earlier
    // page's run, described by a foreign record.
    let foreign = Apart::of(&read("foreign"));
    assert_eq!(foreign.s.header.index_depth, 1);
    let with_foreign: Vec<&PageParts> = foreign
        .pages
        .iter()
        .filter(|p| !p.foreign.is_empty())
        .collect();
    assert!(with_foreign.len() >= 2);
    for p in with_foreign {
        let run_start = p.run.first().map_or(u32::MAX, |r| r.number);
        assert!(p.foreign.iter().all(|f| f.number < run_start));
        assert!(p.entries.iter().any(|e| e.shared_body_at.is_some()));
    }
    assert_eq!(open("depth1").header().index_depth, 1);
    assert_eq!(open("depth2").header().index_depth, 2);
    assert_eq!(open("depth2").block_count(), 0);
    // depth2-blocks: depth 2, bodies in many blocks, more than one branch under the root,
    // runs that go on from page to page (pages sharing a block), and a small file.
    let d2 = Apart::of(&read("depth2-blocks"));
    assert_eq!(d2.s.header.index_depth, 2);
    assert!(d2.blocks.len() >= 20, "{} blocks", d2.blocks.len());
    assert!(d2.levels[1][0].len() >= 2, "branches under the root");
    assert!(d2.entries().all(|e| e.body_len > 0));
    let shares = |p: &PageParts, q: &PageParts| {
        p.run.last().map(|r| r.number) == q.run.first().map(|r| r.number)
    };
    assert!(d2.pages.windows(2).any(|w| shares(&w[0], &w[1])));
    // ...also the last page of the first branch and the first page of the second.
    let k = d2.levels[0][0].len();
    assert!(shares(&d2.pages[k - 1], &d2.pages[k]));
    assert!(read("depth2-blocks").len() < 100_000);
    for name in WRITTEN {
        assert_eq!(open(name).header().minor, format::VERSION_MINOR, "{name}");
    }
    // packed (§6.5): the flag; depth 2; pages packed beside raw ones, under packed branches;
    // and the same entries as the archive laid out with raw nodes.
    let packed = read("packed");
    assert_eq!(
        open("packed").header().required_flags,
        format::REQUIRED_PACKED_NODES
    );
    assert_eq!(open("packed").header().index_depth, 2);
    let kinds = stored_kinds(&packed);
    assert!(
        kinds.contains(&(0, true)) && kinds.contains(&(0, false)),
        "{kinds:?}"
    );
    assert!(kinds.contains(&(1, true)), "{kinds:?}");
    assert_eq!(
        expected_jsonl(&Apart::of(&packed).to_bytes()),
        expected_jsonl(&packed)
    );
    assert_eq!(open("minor").header().minor, format::VERSION_MINOR + 1);
    assert_eq!(open("optional-flag").header().optional_flags, 1 << 5);
    assert!(open("optional-section")
        .sections()
        .iter()
        .any(|s| s.id == 99));
}

// ---------------------------------------------------------------------------------------
// Files a reader must reject.

/// The reject vectors: name, the §11 code (as `reject/expected.txt` gives it), where the
/// error first shows (`open`; `use`: when the entries are read, by key, by number or in
/// a walk; `verify`: only at full verification), and what the file is. In §11's order.
const REJECT: &[(&str, &str, &str, &str)] = &[
    ("bad-magic", "not_quire", "open", "the magic number's second byte changed"),
    ("truncated-prelude", "truncated_prelude", "open", "the file cut to 60 bytes, inside its prelude"),
    ("damaged-prelude", "damaged_prelude", "open", "a byte of the header changed; the prelude CRC no longer matches"),
    ("wrong-major-checksum", "damaged_prelude", "open", "major version 4 without fixing the prelude CRC: damage, not a newer version"),
    ("oversize-block", "damaged_prelude", "open", "max_block_len 2^23, over the 4 MiB limit, in a file of minor 1 (prelude CRC correct)"),
    ("future-major", "unsupported_version", "open", "major version 4, prelude CRC correct"),
    ("unknown-required-flag", "unsupported_feature", "open", "required flag bit 7 set, prelude CRC correct"),
    ("length-mismatch", "length_mismatch", "open", "8 bytes appended to the file: file_len is not its length"),
    ("dictionary-garbage", "damaged_dictionary", "use", "DICT replaced by as many bytes that are not a zstd frame (DICT's CRC fixed)"),
    ("broken-chain", "damaged_node", "use", "a byte of a page changed (section CRCs fixed): the page fails the CRC its parent holds"),
    ("index-cycle", "damaged_node", "use", "a level-1 branch whose children are the branch before it and itself, its own CRC in its record (a CRC fixed point): its children do not end before it"),
    ("index-shared-child", "damaged_node", "use", "a page listed by two branches: a walk meets it a second time, not where the previous page ended"),
    ("index-trailing-bytes", "damaged_node", "open", "a copy of the first page after the last node of INDEX (CRCs fixed): the root's children do not end at INDEX's end"),
    ("packed-without-flag", "damaged_node", "use", "`packed` with PACKED_NODES cleared (prelude CRC fixed): a node whose kind byte is 2 matches no level"),
    ("packed-over-ratio", "damaged_node", "use", "a page of one 3,997-byte key packed anyway (CRCs fixed): its frame declares more than 16 × the packed node's length"),
    ("packed-twice", "damaged_node", "use", "a packed node whose frame holds a packed node (CRCs fixed): the unpacked node's kind byte is 2"),
    ("packed-wrong-size", "damaged_node", "use", "a packed page whose frame declares one byte more than it yields (CRCs fixed)"),
    ("page-keys-out-of-order", "damaged_node", "use", "two keys of a page swapped (CRCs fixed): the page does not parse whole"),
    ("separator-above-first-key", "damaged_node", "use", "a root separator set to its page's second key (CRCs fixed): above the page's first key"),
    ("stored-checksum", "damaged_block_stored", "use", "a byte of the last block changed (section CRCs fixed, the block's stored_crc not)"),
    ("frame-window", "damaged_block_frame", "use", "a block frame of 4096 bytes declaring a 128 MiB window (a Window_Descriptor, not Single_Segment), which zstd itself decodes; stored_crc fixed"),
    ("block-frame-garbage", "damaged_block_frame", "use", "a block's stored bytes replaced by as many bytes that are not a zstd frame; stored_crc fixed"),
    ("wrong-decoded-bytes", "damaged_block_raw", "use", "a byte of a raw block changed and its stored_crc fixed: the decoded bytes fail raw_crc"),
    ("wrong-dictionary", "damaged_block_raw", "use", "the raw-content dictionary replaced by other bytes of the same length (DICT's CRC fixed): blocks decode to wrong bytes"),
    ("entry-content-type", "damaged_entry", "use", "an entry's content type 9, past CTYPES' 2 (CRCs fixed)"),
    ("shared-into-lead", "damaged_entry", "verify", "a shared body pointing into the lead of an entry of an earlier page (CRCs fixed): found by full verification"),
];

fn rejects() -> impl Iterator<Item = (&'static str, &'static str, &'static str, &'static str)> {
    REJECT.iter().copied()
}

fn reject_bytes(name: &str) -> Vec<u8> {
    match name {
        "bad-magic" => {
            let mut b = build("small");
            b[1] = b'q';
            b
        }
        "truncated-prelude" => {
            let mut b = build("small");
            b.truncate(60);
            b
        }
        "damaged-prelude" => {
            let mut b = build("small");
            let at = HEADER_FIELDS
                .iter()
                .find(|f| f.name == "entry_count")
                .unwrap();
            b[at.offset] ^= 0x01;
            b
        }
        "wrong-major-checksum" => {
            let mut b = build("small");
            set_field(&mut b, "major", 4);
            b
        }
        "oversize-block" | "future-major" | "unknown-required-flag" => {
            let mut b = build("small");
            match name {
                "oversize-block" => {
                    assert_eq!(Prelude::decode(&b, b.len() as u64).unwrap().header.minor, 1);
                    set_field(&mut b, "max_block_len", 1 << 23);
                }
                "future-major" => set_field(&mut b, "major", 4),
                _ => set_field(&mut b, "required_flags", 1 << 7),
            }
            assert!(reseal(&mut b, Reseal::default()));
            b
        }
        "length-mismatch" => {
            let mut b = build("small");
            b.extend_from_slice(b"trailing");
            b
        }
        "dictionary-garbage" => {
            let mut s = Sections::of(&build("dict"));
            let d = s.get_mut(SectionId::Dict);
            let garbage = b"not a zstd frame: "
                .iter()
                .cycle()
                .take(d.len())
                .copied()
                .collect();
            *d = garbage;
            s.to_bytes()
        }
        "broken-chain" => {
            // A byte of a page changed: the page no longer matches the CRC its parent holds.
            let mut b = build("depth1");
            let p = Prelude::decode(&b, b.len() as u64).unwrap();
            let index = p.sections.iter().find(|s| s.id == 2).unwrap();
            assert!(index.length > 0);
            let at = (index.offset + index.length / 2) as usize;
            b[at] ^= 0x20;
            reseal_sections(&mut b);
            b
        }
        "packed-without-flag" => {
            let mut b = build("packed");
            set_field(&mut b, "required_flags", 0);
            assert!(reseal(&mut b, Reseal::default()));
            b
        }
        "packed-over-ratio" | "packed-twice" | "packed-wrong-size" => packed_reject(name),
        "index-cycle" => index_cycle(),
        "index-shared-child" => index_shared_child(),
        "index-trailing-bytes" => {
            // A well-formed page that no branch lists, after the last node.
            let mut s = Sections::of(&build("depth1"));
            let first = node_bytes(&s, &root_children(&s)[0]).to_vec();
            s.get_mut(SectionId::Index).extend_from_slice(&first);
            s.to_bytes()
        }
        "page-keys-out-of-order" => {
            // Two keys in the middle of the second page swapped, the rest as it was.
            let mut a = Apart::of(&build("depth1"));
            let p = &mut a.pages[1];
            assert!(p.entries.len() >= 4);
            let k1 = p.entries[1].key.clone();
            p.entries[1].key = std::mem::replace(&mut p.entries[2].key, k1);
            a.to_bytes()
        }
        "separator-above-first-key" => {
            let mut a = Apart::of(&build("depth1"));
            assert_eq!(a.levels.len(), 1);
            let second = a.pages[2].entries[1].key.clone().into_bytes();
            a.levels[0][0][2] = second;
            a.to_bytes()
        }
        "stored-checksum" => {
            let mut b = build("small");
            let last = b.len() - 3;
            b[last] ^= 0x55;
            reseal_sections(&mut b);
            b
        }
        "frame-window" | "block-frame-garbage" => {
            let mut a = Apart::of(&build("small"));
            // A block compressed with room to spare: the new frame is 3 bytes longer.
            let b = (0..a.blocks.len())
                .find(|&b| {
                    let r = &a.blocks[b];
                    r.codec == Codec::Zstd as u8 && r.stored_len + 8 < r.raw_len
                })
                .unwrap();
            a.stored[b] = if name == "frame-window" {
                with_window_descriptor(&a.stored[b], 27)
            } else {
                let n = a.stored[b].len();
                b"these bytes are not a zstd frame. "
                    .iter()
                    .cycle()
                    .take(n)
                    .copied()
                    .collect()
            };
            a.sync_blocks();
            a.to_bytes()
        }
        "wrong-decoded-bytes" => {
            // A byte of a raw (codec 0) block changed and the block's stored CRC made to
            // match: only the CRC of the decoded bytes can tell.
            let mut a = Apart::of(&build("raw"));
            let b = a
                .blocks
                .iter()
                .position(|r| r.codec == Codec::Raw as u8)
                .unwrap();
            a.stored[b][10] ^= 0x01;
            a.sync_blocks();
            a.to_bytes()
        }
        "wrong-dictionary" => with_other_dictionary(&build("dict")),
        "entry-content-type" => {
            let mut a = Apart::of(&build("small"));
            assert_eq!(
                Archive::new(build("small")).unwrap().content_types().len(),
                2
            );
            a.pages[0].entries[1].content_type = 9;
            a.to_bytes()
        }
        "shared-into-lead" => {
            // A shared entry of a later page now points at its body's first entry's lead
            // (one byte into it): inside a block its page describes, and back before its own
            // lead, so using it shows nothing; the shared body rule does.
            let mut a = Apart::of(&build("foreign"));
            let first_lead: Vec<u64> = a.pages.iter().map(|p| p.entries[0].lead_at).collect();
            let all: Vec<EntryRecord> = a.entries().cloned().collect();
            let (p, i) = (1..a.pages.len())
                .find_map(|p| {
                    let i = a.pages[p]
                        .entries
                        .iter()
                        .position(|e| e.shared_body_at.is_some_and(|s| s < first_lead[p]))?;
                    Some((p, i))
                })
                .unwrap();
            let e = &mut a.pages[p].entries[i];
            let target = all
                .iter()
                .find(|t| t.shared_body_at.is_none() && Some(t.body_at()) == e.shared_body_at)
                .unwrap();
            assert!(target.lead_len > 2);
            e.shared_body_at = Some(target.lead_at + 1);
            a.to_bytes()
        }
        _ => unreachable!("{name}"),
    }
}

/// The packed-node reject vectors (§6.5) but `packed-without-flag`: from an archive of two
/// one-entry pages under a root branch, a key of 4,000 bytes that repeats itself and a short
/// one, laid out again with one page packed by hand and PACKED_NODES set.
fn packed_reject(name: &str) -> Vec<u8> {
    let o = opts(256, DictionaryMode::Off).page_size(32);
    let mut w = ArchiveWriter::in_memory(o).unwrap();
    let long = format!("{}1", "ratio/".repeat(666));
    w.add(&NewEntry::new(&long, b"the long key's body"))
        .unwrap();
    w.add(&NewEntry::new("short", b"the short key's body"))
        .unwrap();
    let mut a = Apart::of(&w.finish_into_inner().unwrap().0.into_inner());
    assert_eq!((a.s.header.index_depth, a.pages.len()), (1, 2));
    a.s.header.required_flags |= format::REQUIRED_PACKED_NODES;
    a.to_bytes_with(|_, i, node| match (name, i) {
        ("packed-over-ratio", 0) => {
            let packed = force_pack(&node);
            assert!(node.len() > PACKED_RATIO * packed.len());
            packed
        }
        ("packed-twice", 1) => force_pack(&force_pack(&node)),
        ("packed-wrong-size", 1) => {
            // Single_Segment with a 1-byte content size: the byte after the descriptor.
            let mut packed = force_pack(&node);
            assert_eq!(packed[5] & 0xE0, 0x20, "single segment, 1-byte size");
            packed[6] += 1;
            packed
        }
        _ => node,
    })
}

/// `frame` (a single-segment zstd frame) with a header that declares a window of
/// `2^window_log` bytes instead (a `Window_Descriptor`, the content size in 2 or 4 bytes):
/// the same blocks, which any window at least that of the content decodes.
fn with_window_descriptor(frame: &[u8], window_log: u8) -> Vec<u8> {
    let fhd = frame[4];
    assert_eq!(fhd & 0x20, 0x20, "single segment");
    assert_eq!(fhd & 0x07, 0, "no checksum, no dictionary id");
    let fcs_len = [1, 2, 4, 8][usize::from(fhd >> 6)];
    let blocks = &frame[5 + fcs_len..];
    let content = zstd::zstd_safe::get_frame_content_size(frame)
        .unwrap()
        .unwrap();
    let mut out = frame[..4].to_vec();
    if (256..256 + 65536).contains(&content) {
        out.push(0x40);
        out.push((window_log - 10) << 3);
        out.extend_from_slice(&((content - 256) as u16).to_le_bytes());
    } else {
        out.push(0x80);
        out.push((window_log - 10) << 3);
        out.extend_from_slice(&(content as u32).to_le_bytes());
    }
    out.extend_from_slice(blocks);
    assert_eq!(
        zstd::bulk::decompress(&out, content as usize).unwrap(),
        zstd::bulk::decompress(frame, content as usize).unwrap()
    );
    out
}

/// `depth2-blocks` with its last level-1 branch (the last node of INDEX) made to list, as
/// its children, the branch before it and itself, the second with its own CRC: a reader
/// that followed child records would descend for ever; a reader of 3.1 finds its children
/// not before it (§6.4).
fn index_cycle() -> Vec<u8> {
    let mut s = Sections::of(&build("depth2-blocks"));
    let mut root = root_children(&s);
    let n = root.len();
    assert!(n >= 2);
    let (before, last) = (root[n - 2].clone(), root[n - 1].clone());
    let index_len = s.get(SectionId::Index).len() as u64;
    assert_eq!(
        last.offset + u64::from(last.len),
        index_len,
        "the last node of INDEX"
    );
    assert_eq!(before.offset + u64::from(before.len), last.offset);
    assert!(last.entries >= 2);
    // The separator of the second child: above the branch's own lower bound, and four
    // bytes that make the branch's CRC what its own record says.
    let mut sep = last.sep.clone();
    sep.extend_from_slice(b"~....");
    let own_crc = 0x5155_4952; // "RIUQ"
    let mut len = 0u32;
    let node = loop {
        let kids = [
            Child {
                entries: 1,
                sep: Vec::new(),
                ..before.clone()
            },
            Child {
                first_entry: 0,
                entries: last.entries - 1,
                offset: last.offset,
                len,
                crc: own_crc,
                sep: sep.clone(),
            },
        ];
        let node = encode_branch(&kids);
        if node.len() as u32 == len {
            break node;
        }
        len = node.len() as u32;
    };
    let mut node = node;
    let at = node.len() - 4;
    force_crc(&mut node, at, own_crc);
    let decoded = decode_branch(&node, 0).unwrap();
    assert_eq!(
        (decoded[1].offset, decoded[1].len, decoded[1].crc),
        (last.offset, len, own_crc)
    );
    let index = s.get_mut(SectionId::Index);
    index.truncate(last.offset as usize);
    index.extend_from_slice(&node);
    root[n - 1].len = len;
    root[n - 1].crc = own_crc;
    s.root = encode_branch(&root);
    s.to_bytes()
}

/// `depth2-blocks` with its last level-1 branch listing, first, the last page of the branch
/// before it (the page just before its own first page in INDEX), and no longer its own last
/// page: every node is one of the tree's, with its CRC, every count adds up, and the
/// separators keep their order.
fn index_shared_child() -> Vec<u8> {
    let mut s = Sections::of(&build("depth2-blocks"));
    let mut root = root_children(&s);
    let n = root.len();
    let (before, last) = (root[n - 2].clone(), root[n - 1].clone());
    let index_len = s.get(SectionId::Index).len() as u64;
    assert_eq!(
        last.offset + u64::from(last.len),
        index_len,
        "the last node of INDEX"
    );
    let shared = children_of(&s, &before).pop().unwrap();
    let mut kids = children_of(&s, &last);
    assert_eq!(shared.offset + u64::from(shared.len), kids[0].offset);
    let dropped = kids.pop().unwrap();
    assert!(!kids.is_empty());
    assert_eq!(shared.entries, dropped.entries);
    // The separator between the shared page and the branch's old first page is the one
    // the root holds for the branch.
    kids[0].sep = last.sep.clone();
    kids.insert(
        0,
        Child {
            sep: Vec::new(),
            ..shared
        },
    );
    let node = encode_branch(&kids);
    let index = s.get_mut(SectionId::Index);
    index.truncate(last.offset as usize);
    index.extend_from_slice(&node);
    root[n - 1].len = node.len() as u32;
    root[n - 1].crc = format::crc32(&node);
    s.root = encode_branch(&root);
    s.to_bytes()
}

/// `dict` with its raw-content dictionary replaced by other bytes of the same length (not
/// starting with the trained-dictionary magic): every block still decodes, to other bytes.
fn with_other_dictionary(b: &[u8]) -> Vec<u8> {
    let mut s = Sections::of(b);
    assert_ne!(
        s.header.required_flags & format::REQUIRED_RAW_DICT,
        0,
        "raw content"
    );
    let dict = zstd::bulk::decompress(s.get(SectionId::Dict), 1 << 24).unwrap();
    let other: Vec<u8> = dict.iter().rev().map(|c| c ^ 0x20).collect();
    assert_eq!(other.len(), dict.len());
    assert!(other != dict && !other.starts_with(&format::ZSTD_DICT_MAGIC));
    let mut c = zstd::bulk::Compressor::new(3).unwrap();
    c.include_checksum(false).unwrap();
    c.include_contentsize(true).unwrap();
    *s.get_mut(SectionId::Dict) = c.compress(&other).unwrap();
    s.to_bytes()
}

/// Where a reader first meets the error of `bytes`, and its §11 code (the library's
/// `ReadError::code`): on `open`; else on `use`, reading every entry (by number, by key,
/// and in a walk, each with its lead and body); else at full verification (`verify`, its
/// first problem). Every error met while using the entries must have the code of
/// verification's first problem: the file has one right answer, whatever a reader does
/// first.
fn first_error(bytes: &[u8]) -> (&'static str, &'static str) {
    let a = match Archive::new(bytes) {
        Err(e) => return ("open", e.code()),
        Ok(a) => a,
    };
    let report = a.verify();
    let verified = report
        .problems
        .first()
        .map(|p| quire::error::damage_code(p.at, p.kind));
    let mut met: Vec<ReadError> = Vec::new();
    let use_entry = |e: &quire::Entry<'_>| -> Result<(), ReadError> {
        e.info()?;
        e.body()?;
        Ok(())
    };
    for e in a.iter() {
        match e.and_then(|e| use_entry(&e)) {
            Ok(()) => {}
            Err(err) => {
                met.push(err);
                break;
            }
        }
    }
    for i in 0..a.len() {
        let by_number = a.get_by_index(i).and_then(|e| {
            use_entry(&e)?;
            match a.get(e.key())? {
                Some(again) => use_entry(&again),
                None => Ok(()),
            }
        });
        if let Err(err) = by_number {
            met.push(err);
        }
    }
    if let Some(first) = met.first() {
        for e in &met {
            assert_eq!(Some(e.code()), verified, "{e} (verification: {report})");
        }
        return ("use", first.code());
    }
    match verified {
        Some(code) => ("verify", code),
        None => ("accepted", "accepted"),
    }
}

#[test]
fn rejected_vectors_fail_with_their_error() {
    let rdir = dir().join("reject");
    if bless() {
        fs::create_dir_all(&rdir).unwrap();
        let mut list = String::from("# file<TAB>error code (spec §11)<TAB>what it is (spec §10)\n");
        for (name, code, _, what) in rejects() {
            fs::write(rdir.join(format!("{name}.quire")), reject_bytes(name)).unwrap();
            list.push_str(&format!("{name}.quire\t{code}\t{what}\n"));
        }
        fs::write(rdir.join("expected.txt"), list).unwrap();
    }
    let listed = fs::read_to_string(rdir.join("expected.txt")).unwrap();
    let mut checked = BTreeSet::new();
    for line in listed.lines().filter(|l| !l.starts_with('#')) {
        let f: Vec<&str> = line.split('\t').collect();
        let name = f[0].trim_end_matches(".quire");
        let (_, code, when, what) = rejects()
            .find(|r| r.0 == name)
            .unwrap_or_else(|| panic!("{name} is not in REJECT"));
        assert_eq!(
            (f[1], f[2]),
            (code, what),
            "{name}: expected.txt is out of date"
        );
        let bytes = fs::read(rdir.join(f[0])).unwrap();
        assert_eq!(first_error(&bytes), (when, code), "{name}");
        assert!(
            bytes == reject_bytes(name),
            "{name} is no longer reproduced"
        );
        checked.insert(name.to_string());
    }
    let all: BTreeSet<String> = rejects().map(|r| r.0.to_string()).collect();
    assert_eq!(checked, all, "expected.txt lists other files");
    assert_eq!(
        quire_files(&rdir),
        all,
        "spec/vectors/reject/ holds other files"
    );
}

/// The errors behind the reject vectors of the index and the shared body rule are the ones
/// their descriptions name, not another check that happens to give the same code.
#[test]
fn index_reject_vectors_fail_for_the_reason_they_name() {
    let first = |name: &str| -> (Location, DamageKind) {
        let b = reject_bytes(name);
        match Archive::new(&b[..]) {
            Err(ReadError::Damaged { at, kind }) => (at, kind),
            Err(e) => panic!("{name}: {e}"),
            Ok(a) => {
                let p = a.verify().problems.first().cloned().expect("a problem");
                (p.at, p.kind)
            }
        }
    };
    let place = DamageKind::Violates(Rule::NodePlace);
    let (at, kind) = first("index-cycle");
    assert!(
        matches!(at, Location::Node(_)) && kind == place,
        "{at}: {kind}"
    );
    let (at, kind) = first("index-shared-child");
    assert!(
        matches!(at, Location::Node(_)) && kind == place,
        "{at}: {kind}"
    );
    assert_eq!(first("index-trailing-bytes"), (Location::Root, place));
    let (at, kind) = first("page-keys-out-of-order");
    assert!(matches!(at, Location::Node(_)), "{at}");
    assert_eq!(kind, DamageKind::Violates(Rule::KeyOrder));
    let (at, kind) = first("separator-above-first-key");
    assert!(matches!(at, Location::Node(_)), "{at}");
    assert!(
        matches!(
            kind,
            DamageKind::Violates(Rule::KeyBounds | Rule::Separator)
        ),
        "{kind}"
    );
    for (name, want) in [
        ("packed-without-flag", DamageKind::Violates(Rule::NodeKind)),
        ("packed-over-ratio", DamageKind::Violates(Rule::PackedNode)),
        ("packed-twice", DamageKind::Violates(Rule::NodeKind)),
    ] {
        let (at, kind) = first(name);
        assert!(matches!(at, Location::Node(_)), "{name}: {at}");
        assert_eq!(kind, want, "{name}");
    }
    let (at, kind) = first("packed-wrong-size");
    assert!(matches!(at, Location::Node(_)), "{at}");
    assert!(
        matches!(
            kind,
            DamageKind::Undecodable | DamageKind::WrongLength { .. }
        ),
        "{kind}"
    );
    let (at, kind) = first("shared-into-lead");
    assert!(matches!(at, Location::Entry(_)), "{at}");
    assert_eq!(kind, DamageKind::Violates(Rule::SharedBody));
    let (at, kind) = first("frame-window");
    assert!(matches!(at, Location::Block(_)), "{at}");
    assert_eq!(
        kind,
        DamageKind::Frame(format::blocks::FrameProblem::Window)
    );
    let (at, kind) = first("entry-content-type");
    assert!(matches!(at, Location::Entry(_)), "{at}");
    assert_eq!(kind, DamageKind::UnknownContentType(9));
    // A lookup of a key under the separator that lies is an error, never "not found".
    let b = reject_bytes("separator-above-first-key");
    let a = Archive::new(&b[..]).unwrap();
    let key = Apart::of(&build("depth1")).pages[2].entries[0].key.clone();
    assert_eq!(a.get(&key).err().map(|e| e.code()), Some("damaged_node"));
}
