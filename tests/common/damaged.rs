//! Issue 19's fixture, shared by `tests/damage_walks.rs` and `cli/tests/salvage.rs` (each
//! includes it with `#[path]`, beside `mod common`): an archive of 900 documents under three
//! prefixes, written by `quire::ArchiveWriter` in memory with 1 KiB pages and 1 KiB blocks
//! (so dozens of index pages and hundreds of blocks), with titles, dates, content types,
//! metadata, empty bodies, bodies over several blocks and incompressible ones; and what a
//! damaged or cut copy of it must give back, computed from the archive's [`Anatomy`] (where
//! its pages and blocks lie), never from the reader under test.
#![allow(dead_code)]

use std::ops::Range;

use crate::common::{text, Anatomy, Rng};
use quire::format::Codec;
use quire::source::ByteSource;
use quire::{
    Archive, ArchiveWriter, Date, DictionaryMode, Document, NewEntry, ReadError, WriterOptions,
};

/// The three key prefixes, each over a third of the entries.
pub const SECTIONS: [&str; 3] = ["alpha/", "beta/", "gamma/"];

const CTYPES: [&str; 3] = [
    "text/plain; charset=utf-8",
    "text/html; charset=utf-8",
    "application/json",
];

/// `n` documents in key order. Every tenth has an empty body, and those without a title or
/// metadata lie in no block at all.
pub fn docs(n: usize, seed: u64) -> Vec<Document> {
    let mut rng = Rng::new(seed);
    let mut v: Vec<Document> = (0..n)
        .map(|i| {
            let body = match i % 10 {
                0 => Vec::new(),
                1..=6 => {
                    let len = 50 + rng.below(750) as usize;
                    text(&mut rng, len)
                }
                7 | 8 => {
                    let len = 800 + rng.below(2200) as usize;
                    text(&mut rng, len)
                }
                _ if i % 20 == 9 => {
                    let len = 2000 + rng.below(3000) as usize;
                    rng.bytes(len)
                }
                _ => {
                    let len = 3000 + rng.below(5000) as usize;
                    text(&mut rng, len)
                }
            };
            let mut metadata = Vec::new();
            if i % 7 == 2 {
                metadata.push(("author".to_string(), format!("writer {i}")));
                metadata.push(("lang".to_string(), "fr".to_string()));
            }
            Document {
                key: format!("{}{i:04}", SECTIONS[i * SECTIONS.len() / n]),
                title: (i % 3 == 0).then(|| format!("Title {i} \u{2014} \u{e9}t\u{e9}")),
                date: if i % 4 == 1 {
                    Date::new(
                        1990 + (i % 30) as u16,
                        1 + (i % 12) as u8,
                        1 + (i % 28) as u8,
                    )
                } else {
                    None
                },
                content_type: CTYPES[(i / 2) % CTYPES.len()].to_string(),
                metadata,
                body,
            }
        })
        .collect();
    v.sort_by(|a, b| a.key.as_bytes().cmp(b.key.as_bytes()));
    v
}

/// The fixture's writer options: 1 KiB pages and blocks, a dictionary when `dict`.
pub fn options(dict: bool) -> WriterOptions {
    // No title index (§14): these fixtures craft the key index, and a title index's header
    // seals INDEX's CRC. Raw nodes, which the crafting edits in place (damage to packed
    // nodes: `tests/packed_nodes.rs`).
    WriterOptions::new()
        .index(quire::IndexKind::None)
        .pack_nodes(false)
        .level(3)
        .block_size(1024)
        .page_size(1024)
        .dictionary(if dict {
            DictionaryMode::On
        } else {
            DictionaryMode::Off
        })
        .dict_size(4096)
        .threads(1)
        .created(0)
        .metadata("title", "Issue 19 fixture")
}

/// `docs` written in memory.
pub fn pack_docs(docs: &[Document], opts: WriterOptions) -> Vec<u8> {
    let mut w = ArchiveWriter::in_memory(opts).expect("writer");
    for d in docs {
        let mut e = NewEntry::new(&d.key, &d.body).content_type(&d.content_type);
        if let Some(t) = &d.title {
            e = e.title(t);
        }
        if let Some(date) = d.date {
            e = e.date(date);
        }
        for (n, v) in &d.metadata {
            e = e.meta(n, v);
        }
        w.add(&e).expect("add");
    }
    let (out, _) = w.finish_into_inner().expect("finish");
    out.into_inner()
}

/// The fixture: its documents (in key order, so document `i` is entry `i`) and the archive.
pub fn fixture(dict: bool) -> (Vec<Document>, Vec<u8>) {
    let d = docs(900, 19);
    let bytes = pack_docs(&d, options(dict));
    let a = Anatomy::of(&bytes);
    assert!(a.pages.len() >= 3, "{} pages", a.pages.len());
    assert!(a.blocks.len() >= 100, "{} blocks", a.blocks.len());
    assert_eq!(a.len(), d.len());
    assert_eq!(
        a.dict.is_empty(),
        !dict,
        "the fixture has a dictionary when asked"
    );
    (d, bytes)
}

/// `bytes` with the byte at `at` flipped.
pub fn flip(bytes: &[u8], at: usize) -> Vec<u8> {
    let mut b = bytes.to_vec();
    b[at] ^= 0x5a;
    b
}

/// `bytes` with a byte in the middle of range `r` flipped.
pub fn flip_in(bytes: &[u8], r: &Range<usize>) -> Vec<u8> {
    flip(bytes, r.start + (r.end - r.start) / 2)
}

/// The entry numbers of page `p`.
pub fn page_entries(a: &Anatomy, p: usize) -> Range<u64> {
    let pv = &a.pages[p];
    pv.first_entry..pv.first_entry + pv.entries.len() as u64
}

/// Whether entry `i` of `a` can be read back whole from the first `cut` bytes: the prelude,
/// every node on its path and its page lie before the cut, and so does every block its lead
/// or body lies in, and the dictionary when one of those blocks uses it.
pub fn survives_cut(a: &Anatomy, i: usize, cut: usize) -> bool {
    let (page, _) = a.locate(i);
    let before = |r: &Range<usize>| r.end <= cut;
    if !before(&a.prelude) || !before(&page.range) || !page.path.iter().all(before) {
        return false;
    }
    a.blocks_of(i).into_iter().all(|b| {
        before(&a.block_range(b))
            && (a.blocks[b as usize].codec != Codec::ZstdDict as u8 || before(&a.dict))
    })
}

/// The documents a copy of the archive cut to `cut` bytes must give back.
pub fn expected_after_cut(a: &Anatomy, docs: &[Document], cut: usize) -> Vec<Document> {
    (0..docs.len())
        .filter(|&i| survives_cut(a, i, cut))
        .map(|i| docs[i].clone())
        .collect()
}

/// What a sorted walk of a damaged archive gave: the documents read whole, the `Skipped`
/// ranges (first, count, from, to), the other errors (entries lost one by one), and how
/// many entries were lost in all.
#[derive(Debug, Default)]
pub struct Walked {
    pub docs: Vec<Document>,
    pub skipped: Vec<(u64, u64, Option<String>, Option<String>)>,
    pub errors: Vec<ReadError>,
    pub lost: u64,
}

/// Walks `a` with `prefix("")` as a salvage does: every entry it yields is read whole
/// (title, metadata, body); a `Skipped` costs its count; any other error one entry.
pub fn salvage_walk<S: ByteSource>(a: &Archive<S>) -> Walked {
    let mut w = Walked::default();
    for item in a.prefix("") {
        match item {
            Ok(e) => match e.document() {
                Ok(d) => w.docs.push(d),
                Err(err) => {
                    w.lost += 1;
                    w.errors.push(err);
                }
            },
            Err(ReadError::Skipped {
                first,
                count,
                from,
                to,
                ..
            }) => {
                w.lost += count;
                w.skipped.push((first, count, from, to));
            }
            Err(err) => {
                w.lost += 1;
                w.errors.push(err);
            }
        }
    }
    w
}

/// Every document of an intact archive, in entry order.
pub fn all_docs<S: ByteSource>(a: &Archive<S>) -> Vec<Document> {
    a.iter()
        .map(|e| e.expect("entry").document().expect("document"))
        .collect()
}

/// Keys of `docs`.
pub fn keys(docs: &[Document]) -> Vec<String> {
    docs.iter().map(|d| d.key.clone()).collect()
}
