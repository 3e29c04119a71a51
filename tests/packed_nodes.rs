//! Packed index nodes (spec §6.5): the writer packs the nodes of INDEX by default when that
//! makes them shorter, and sets PACKED_NODES exactly then; archives read back the same
//! whether their nodes are packed or not; and a packed node whose bytes are damaged (every
//! byte of its frame in turn, checksums recomputed so that the damage reaches the frame) is
//! `damaged_node` at that node, costs only its own entries, and never a panic.

use quire::format::nodes::{decode_branch, unpack_node, KIND_PACKED};
use quire::format::{self, Prelude, SectionId};
use quire::{Archive, DictionaryMode};

use crate::common::{assert_matches, options, pack, reseal, sample_items, Item};

/// Entries enough for several pages, with small pages so that a page packs well and the
/// root is a branch over pages.
fn items() -> Vec<Item> {
    sample_items(400, 61)
}

fn packed_archive() -> Vec<u8> {
    pack(
        &items(),
        options(3, 1024, DictionaryMode::Off, 1)
            .pack_nodes(true)
            .page_size(1024),
    )
}

/// INDEX's range in the file.
fn index_range(bytes: &[u8]) -> std::ops::Range<usize> {
    let p = Prelude::decode(bytes, bytes.len() as u64).expect("prelude");
    let s = p
        .sections
        .iter()
        .find(|s| s.id == SectionId::Index as u32)
        .expect("INDEX");
    s.offset as usize..(s.offset + s.length) as usize
}

/// The root's children (the pages) as ranges of the file, with their entry ranges.
fn pages(bytes: &[u8]) -> Vec<(std::ops::Range<usize>, std::ops::Range<u64>)> {
    let p = Prelude::decode(bytes, bytes.len() as u64).expect("prelude");
    assert_eq!(p.header.index_depth, 1, "a root branch over pages");
    let index = index_range(bytes).start;
    decode_branch(p.root, 0)
        .expect("root")
        .iter()
        .map(|c| {
            let at = index + c.offset as usize;
            (
                at..at + c.len as usize,
                c.first_entry..c.first_entry + c.entries,
            )
        })
        .collect()
}

#[test]
fn packed_and_raw_nodes_read_back_the_same_entries() {
    let packed = packed_archive();
    let raw = pack(
        &items(),
        options(3, 1024, DictionaryMode::Off, 1)
            .pack_nodes(false)
            .page_size(1024),
    );
    let (pa, ra) = (
        Archive::new(&packed[..]).unwrap(),
        Archive::new(&raw[..]).unwrap(),
    );
    assert_eq!(
        pa.header().required_flags & format::REQUIRED_PACKED_NODES,
        format::REQUIRED_PACKED_NODES
    );
    assert_eq!(
        ra.header().required_flags & format::REQUIRED_PACKED_NODES,
        0
    );
    assert_matches(&pa, &items());
    assert_matches(&ra, &items());
    assert!(pa.verify().is_ok() && ra.verify().is_ok());
    // Every page packed (these pages shrink), and INDEX much smaller for it.
    let all = pages(&packed);
    assert!(all.len() >= 4, "{} pages", all.len());
    assert!(all.iter().all(|(r, _)| packed[r.start] == KIND_PACKED));
    let (pi, ri) = (index_range(&packed).len(), index_range(&raw).len());
    assert!(pi * 10 < ri * 7, "INDEX {pi} packed, {ri} raw");
    // The blocks are the same bytes: only INDEX (and the prelude) differ.
    let data = |b: &[u8]| {
        let p = Prelude::decode(b, b.len() as u64).unwrap();
        let s = p.sections.iter().find(|s| s.id == SectionId::Data as u32);
        b[s.unwrap().range().unwrap().start as usize..].to_vec()
    };
    assert_eq!(data(&packed), data(&raw));
}

#[test]
fn nodes_that_would_not_shrink_stay_raw_without_the_flag() {
    // Tiny pages of short, unlike keys: a zstd frame's own bytes outweigh what it saves.
    let items: Vec<Item> = (0..40)
        .map(|i| Item::new(format!("{}", (b'A' + i as u8) as char), vec![i as u8; 3]))
        .collect();
    let bytes = pack(
        &items,
        options(3, 1024, DictionaryMode::Off, 1)
            .pack_nodes(true)
            .page_size(32),
    );
    let a = Archive::new(&bytes[..]).unwrap();
    assert_eq!(a.header().required_flags & format::REQUIRED_PACKED_NODES, 0);
    assert!(pages(&bytes)
        .iter()
        .all(|(r, _)| bytes[r.start] != KIND_PACKED));
    assert_matches(&a, &items);
}

#[test]
fn every_damaged_byte_of_a_packed_page_costs_only_that_page() {
    let good = packed_archive();
    let all = pages(&good);
    let (page, lost) = all[1].clone();
    let items = crate::common::sorted(&items());
    let mut checked = 0;
    // Every byte of the frame (after the kind byte), each changed alone, every CRC of the
    // chain recomputed: what reaches the reader is a packed node whose frame is wrong.
    for at in page.start + 1..page.end {
        // Both ends of each byte of the frame header, the low bit of the rest.
        let flips: &[u8] = if at < page.start + 16 {
            &[0x01, 0x80]
        } else {
            &[0x01]
        };
        for &flip in flips {
            let mut b = good.clone();
            b[at] ^= flip;
            reseal(&mut b);
            let stored = &b[page.clone()];
            let a = Archive::new(&b[..]).expect("the root and prelude are intact");
            let unpacked = unpack_node(stored, true);
            for (i, it) in items.iter().enumerate() {
                let got = a.get(&it.key);
                if lost.contains(&(i as u64)) && unpacked.is_err() {
                    let e = got.expect_err("an entry of the damaged page");
                    assert_eq!(e.code(), "damaged_node", "byte {at}: {e}");
                } else if !lost.contains(&(i as u64)) {
                    let e = got.expect("another page's entry").expect("present");
                    assert_eq!(e.body().unwrap(), it.body);
                } else if let Err(e) = got {
                    // The frame still decodes, to other bytes (a literal changed, say, its
                    // CRC recomputed as an attacker would): the page is then checked as any
                    // page, and an entry whose fields changed is named as damaged.
                    assert!(e.code().starts_with("damaged_"), "byte {at}: {e}");
                }
            }
            let report = a.verify();
            if unpacked.is_err() {
                assert!(!report.is_ok(), "byte {at}");
                assert!(report
                    .problems
                    .iter()
                    .all(|p| matches!(p.at, quire::Location::Node(_))));
            }
            checked += 1;
        }
    }
    assert!(checked > 100, "{checked} damaged copies");
}

#[test]
fn a_packed_node_without_the_flag_is_damaged_node() {
    let mut b = packed_archive();
    crate::common::patch_header(&mut b, "required_flags", 0);
    let a = Archive::new(&b[..]).expect("opens: the root is raw");
    let e = a.get(&items()[0].key).expect_err("its page is packed");
    assert_eq!(e.code(), "damaged_node");
    assert!(e.to_string().contains("kind"), "names the kind byte: {e}");
}
