//! Helpers shared by the robustness suites: packing a model in memory, and taking a valid
//! archive apart into its records so that a test can replace one field and put it back
//! together with every CRC recomputed (so that the hostile value reaches the logic behind
//! the checksum checks).
#![allow(dead_code)]

pub mod alloc;

use std::collections::BTreeMap;
use std::ops::Range;

use quire::format::{
    self, BlockRecord, EntryRecord, Header, SectionId, SectionRecord, Slot, BLOCK_RECORD_LEN,
    BUCKET_LEN, ENTRIES_PER_GROUP, ENTRY_RECORD_LEN, HEADER_FIXED_LEN, SECTION_RECORD_LEN,
    SLOTS_PER_BUCKET, SORTED_GROUP_LEN,
};
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
    WriterOptions::new()
        .level(level)
        .block_size(block_size)
        .dictionary(dictionary)
        .dict_size(256)
        .threads(threads)
        .created(0)
}

/// Packs `items` in order, in memory.
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

/// A small archive of `n` entries with titles, dates and metadata on some of them.
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

/// Checks that an archive holds exactly `items` (in entry order), with every field intact.
pub fn assert_matches<D: AsRef<[u8]>>(a: &Archive<D>, items: &[Item]) {
    assert_eq!(a.len(), items.len() as u64);
    for (i, it) in items.iter().enumerate() {
        let e = a.get(&it.key).expect("get").expect("present");
        assert_eq!(e.index(), i as u64);
        assert_eq!(e.key(), it.key);
        assert_eq!(e.body().expect("body"), it.body, "body of {:?}", it.key);
        assert_eq!(e.title().expect("title"), it.title.as_deref());
        assert_eq!(e.date(), it.date);
        assert_eq!(e.metadata().expect("metadata"), it.meta);
    }
}

// ---------------------------------------------------------------------------------------
// Taking archives apart and putting them back together.

/// Range of section `id` in a valid archive.
pub fn section_range(bytes: &[u8], id: u32) -> Range<usize> {
    let h = header(bytes);
    for i in 0..usize::from(h.section_count) {
        let r = section_record(bytes, i);
        if r.id == id {
            return r.offset as usize..(r.offset + r.length) as usize;
        }
    }
    panic!("no section {id}");
}

/// The fixed header of a (valid enough) archive.
pub fn header(bytes: &[u8]) -> Header {
    Header::decode(bytes[..HEADER_FIXED_LEN].try_into().expect("header"))
}

/// Section table record `i`.
pub fn section_record(bytes: &[u8], i: usize) -> SectionRecord {
    let at = section_table_offset(i);
    SectionRecord::decode(
        bytes[at..at + SECTION_RECORD_LEN]
            .try_into()
            .expect("record"),
    )
}

/// Recomputes the header CRC (which sits right after the section table); does nothing
/// when the section count puts it past the end of `bytes`.
pub fn fix_header_crc(bytes: &mut [u8]) {
    format::header::seal(bytes);
}

/// Changes fixed-header fields and recomputes the header CRC.
pub fn patch_header(bytes: &mut [u8], f: impl FnOnce(&mut Header)) {
    let mut h = header(bytes);
    f(&mut h);
    // Header::encode writes the magic and zero reserved bytes; keep the original magic so
    // that magic tests can be combined with this.
    let magic: [u8; format::MAGIC.len()] = bytes[..format::MAGIC.len()].try_into().expect("magic");
    bytes[..HEADER_FIXED_LEN].copy_from_slice(&h.encode());
    bytes[..format::MAGIC.len()].copy_from_slice(&magic);
    fix_header_crc(bytes);
}

/// Changes the section record of section `id` and recomputes the header CRC.
pub fn patch_section(bytes: &mut [u8], id: u32, f: impl FnOnce(&mut SectionRecord)) {
    let n = usize::from(header(bytes).section_count);
    let i = (0..n)
        .find(|i| section_record(bytes, *i).id == id)
        .expect("section present");
    let mut r = section_record(bytes, i);
    f(&mut r);
    let at = section_table_offset(i);
    bytes[at..at + SECTION_RECORD_LEN].copy_from_slice(&r.encode());
    fix_header_crc(bytes);
}

/// A valid archive taken apart: every section decoded into its records. Change anything,
/// then [`Parts::to_bytes`] lays the sections out again (in `order`), recomputing every
/// offset, record CRC, section CRC, `file_len`, `section_count` and the header CRC. Counts in
/// the header (`entry_count`, `block_count`, `bucket_count`, ...) are written as they stand.
#[derive(Debug, Clone)]
pub struct Parts {
    pub header: Header,
    /// Section ids in file order.
    pub order: Vec<u32>,
    pub meta: Vec<u8>,
    pub dict: Vec<u8>,
    pub data: Vec<u8>,
    pub ctypes: Vec<u8>,
    /// Block records, `offset` relative to the start of DATA (made absolute on output).
    pub blocks: Vec<BlockRecord>,
    pub entries: Vec<EntryRecord>,
    pub strings: Vec<u8>,
    pub buckets: Vec<[Slot; SLOTS_PER_BUCKET]>,
    pub groups: Vec<[u32; ENTRIES_PER_GROUP]>,
    /// Sections with ids this reader does not know.
    pub unknown: Vec<(u32, Vec<u8>)>,
}

impl Parts {
    /// Takes a valid archive apart (panics on anything invalid: the input is a test fixture).
    pub fn parse(bytes: &[u8]) -> Parts {
        let h = header(bytes);
        let mut recs: Vec<SectionRecord> = (0..usize::from(h.section_count))
            .map(|i| section_record(bytes, i))
            .collect();
        recs.sort_by_key(|r| r.offset);
        let sec = |id: SectionId| -> &[u8] {
            let r = recs.iter().find(|r| r.id == id as u32).expect("section");
            &bytes[r.offset as usize..(r.offset + r.length) as usize]
        };
        let data_start = recs
            .iter()
            .find(|r| r.id == SectionId::Data as u32)
            .expect("data")
            .offset;
        let blocks = sec(SectionId::Blocks)
            .chunks_exact(BLOCK_RECORD_LEN)
            .map(|c| {
                let mut b = BlockRecord::decode(c.try_into().expect("len")).expect("block crc");
                b.offset -= data_start;
                b
            })
            .collect();
        let entries = sec(SectionId::Entries)
            .chunks_exact(ENTRY_RECORD_LEN)
            .map(|c| EntryRecord::decode(c.try_into().expect("len")))
            .collect();
        let buckets = sec(SectionId::KeyHash)
            .chunks_exact(BUCKET_LEN)
            .map(|c| {
                format::keyhash::decode_bucket(c.try_into().expect("len")).expect("bucket crc")
            })
            .collect();
        let groups = sec(SectionId::Sorted)
            .chunks_exact(SORTED_GROUP_LEN)
            .map(|c| format::sorted::decode_group(c.try_into().expect("len")).expect("group crc"))
            .collect();
        let unknown = recs
            .iter()
            .filter(|r| SectionId::from_u32(r.id).is_none())
            .map(|r| {
                (
                    r.id,
                    bytes[r.offset as usize..(r.offset + r.length) as usize].to_vec(),
                )
            })
            .collect();
        Parts {
            header: h,
            order: recs.iter().map(|r| r.id).collect(),
            meta: sec(SectionId::Meta).to_vec(),
            dict: sec(SectionId::Dict).to_vec(),
            data: sec(SectionId::Data).to_vec(),
            ctypes: sec(SectionId::Ctypes).to_vec(),
            blocks,
            entries,
            strings: sec(SectionId::Strings).to_vec(),
            buckets,
            groups,
            unknown,
        }
    }

    /// The strings of entry `i` (empty when its range is out of bounds).
    pub fn entry_strings(&self, i: usize) -> &[u8] {
        let r = &self.entries[i];
        usize::try_from(r.strings_offset)
            .ok()
            .and_then(|o| self.strings.get(o..)?.get(..r.strings_len as usize))
            .unwrap_or(&[])
    }

    /// The key of entry `i`.
    pub fn key(&self, i: usize) -> String {
        let s = self.entry_strings(i);
        String::from_utf8(s[..usize::from(self.entries[i].key_len)].to_vec()).expect("utf-8 key")
    }

    fn section_bytes(&self, id: u32, data_start: u64) -> Vec<u8> {
        match SectionId::from_u32(id) {
            Some(SectionId::Meta) => self.meta.clone(),
            Some(SectionId::Dict) => self.dict.clone(),
            Some(SectionId::Data) => self.data.clone(),
            Some(SectionId::Ctypes) => self.ctypes.clone(),
            Some(SectionId::Blocks) => self
                .blocks
                .iter()
                .flat_map(|b| {
                    let mut b = *b;
                    b.offset = b.offset.wrapping_add(data_start);
                    b.encode()
                })
                .collect(),
            Some(SectionId::Entries) => (0..self.entries.len())
                .flat_map(|i| self.entries[i].encode(self.entry_strings(i)))
                .collect(),
            Some(SectionId::Strings) => self.strings.clone(),
            Some(SectionId::KeyHash) => self
                .buckets
                .iter()
                .flat_map(format::keyhash::encode_bucket)
                .collect(),
            Some(SectionId::Sorted) => self
                .groups
                .iter()
                .flat_map(format::sorted::encode_group)
                .collect(),
            None => self
                .unknown
                .iter()
                .find(|(u, _)| *u == id)
                .map(|(_, b)| b.clone())
                .unwrap_or_default(),
        }
    }

    /// Where DATA will start in the laid-out file (block offsets are relative to it).
    pub fn data_start(&self) -> u64 {
        // Every section's length is independent of where DATA lands, so one pass finds it.
        let mut pos = format::header_len(self.order.len() as u16);
        for id in &self.order {
            if *id == SectionId::Data as u32 {
                return pos;
            }
            pos += self.section_bytes(*id, 0).len() as u64;
        }
        pos
    }

    /// Recomputes every block's `data_crc` from `data` (where its range lies inside).
    pub fn refresh_data_crcs(&mut self) {
        for b in &mut self.blocks {
            let r = usize::try_from(b.offset)
                .ok()
                .and_then(|o| self.data.get(o..)?.get(..b.stored_len as usize));
            if let Some(r) = r {
                b.data_crc = format::crc32(r);
            }
        }
    }

    /// Lays the archive out again with every CRC, offset and length recomputed (block data
    /// CRCs excepted: see [`Parts::refresh_data_crcs`]).
    pub fn to_bytes(&self) -> Vec<u8> {
        let header_len = format::header_len(self.order.len() as u16);
        let data_start = self.data_start();
        let mut body = Vec::new();
        let mut recs = Vec::new();
        for id in &self.order {
            let b = self.section_bytes(*id, data_start);
            recs.push(SectionRecord {
                id: *id,
                offset: header_len + body.len() as u64,
                length: b.len() as u64,
                crc: format::crc32(&b),
            });
            body.extend_from_slice(&b);
        }
        let mut h = self.header;
        h.section_count = self.order.len() as u16;
        h.file_len = header_len + body.len() as u64;
        let mut out = format::header::encode_prelude(&h, &recs);
        out.extend_from_slice(&body);
        out
    }

    /// Absolute byte ranges an entry lookup by key depends on in the laid-out file (used to
    /// decide which entries damage leaves untouched): the header, META and CTYPES, the hash
    /// buckets probed up to the key's slot with every tag-matching candidate's record and
    /// strings, and everything [`Parts::index_deps`] lists.
    pub fn key_deps(&self, bytes: &[u8], i: usize) -> Vec<Range<usize>> {
        let mut deps = self.index_deps(bytes, i);
        let key = self.key(i);
        let n = self.buckets.len() as u64;
        let probe = format::keyhash::Probe::new(key.as_bytes(), self.header.hash_seed, n);
        let tag = probe.tag;
        let keyhash = section_range(bytes, SectionId::KeyHash as u32);
        let entries = section_range(bytes, SectionId::Entries as u32);
        let strings = section_range(bytes, SectionId::Strings as u32);
        'probe: for p in 0..n {
            let b = probe.bucket(p) as usize;
            deps.push(keyhash.start + b * BUCKET_LEN..keyhash.start + (b + 1) * BUCKET_LEN);
            for s in &self.buckets[b] {
                if s.tag == tag && s.entry != format::NO_ENTRY {
                    let e = s.entry as usize;
                    deps.push(
                        entries.start + e * ENTRY_RECORD_LEN
                            ..entries.start + (e + 1) * ENTRY_RECORD_LEN,
                    );
                    let r = &self.entries[e];
                    let so = strings.start + r.strings_offset as usize;
                    deps.push(so..so + r.strings_len as usize);
                }
                if s.entry as usize == i {
                    break 'probe;
                }
            }
        }
        deps
    }

    /// Absolute byte ranges reading entry `i` by number depends on: the header, META, CTYPES,
    /// its record and strings, the records and stored bytes of every block its body spans,
    /// and the dictionary when one of those blocks uses it.
    pub fn index_deps(&self, bytes: &[u8], i: usize) -> Vec<Range<usize>> {
        let hl = format::header_len(self.order.len() as u16) as usize;
        let mut deps = vec![
            0..hl,
            section_range(bytes, SectionId::Meta as u32),
            section_range(bytes, SectionId::Ctypes as u32),
        ];
        let entries = section_range(bytes, SectionId::Entries as u32);
        let strings = section_range(bytes, SectionId::Strings as u32);
        let blocks = section_range(bytes, SectionId::Blocks as u32);
        let data = section_range(bytes, SectionId::Data as u32);
        deps.push(entries.start + i * ENTRY_RECORD_LEN..entries.start + (i + 1) * ENTRY_RECORD_LEN);
        let r = &self.entries[i];
        let so = strings.start + r.strings_offset as usize;
        deps.push(so..so + r.strings_len as usize);
        if r.body_len > 0 {
            let mut need = r.body_len + u64::from(r.offset);
            let mut b = r.block as usize;
            loop {
                let rec = &self.blocks[b];
                deps.push(
                    blocks.start + b * BLOCK_RECORD_LEN..blocks.start + (b + 1) * BLOCK_RECORD_LEN,
                );
                let s = data.start + rec.offset as usize;
                deps.push(s..s + rec.stored_len as usize);
                if rec.codec == 2 {
                    deps.push(section_range(bytes, SectionId::Dict as u32));
                }
                if need <= u64::from(rec.raw_len) {
                    break;
                }
                need -= u64::from(rec.raw_len);
                b += 1;
            }
        }
        deps
    }

    /// Blocks the body of entry `i` spans.
    pub fn blocks_of(&self, i: usize) -> Vec<u32> {
        let r = &self.entries[i];
        let mut out = Vec::new();
        if r.body_len == 0 {
            return out;
        }
        let mut need = r.body_len + u64::from(r.offset);
        let mut b = r.block as usize;
        loop {
            out.push(b as u32);
            let raw = u64::from(self.blocks[b].raw_len);
            if need <= raw {
                return out;
            }
            need -= raw;
            b += 1;
        }
    }
}

/// Whether any of `deps` overlaps `changed`.
pub fn touches(deps: &[Range<usize>], changed: &Range<usize>) -> bool {
    deps.iter()
        .any(|d| d.start < changed.end && changed.start < d.end)
}

/// Proptest case count: `PROPTEST_CASES` when set, else `default`.
pub fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// Section table record encoding helper for tests that add sections by hand.
pub fn section_table_offset(i: usize) -> usize {
    format::header::section_record_offset(i as u16) as usize
}
