//! How many byte ranges a cold lookup reads (spec §1, §6.1): through a source that records
//! every range asked of it, a fresh reader reads the prelude (one range of at most 16 KiB),
//! the dictionary (once, on first use), and then, for an archive of `index_depth = d`, at most
//! `d` index nodes of at most 16 KiB and the block(s) holding the entry: prelude + 2 ranges
//! for the usual depth of 1.

use std::ops::Range;

use quire::format::MAX_PRELUDE_LEN;
use quire::source::Recording;
use quire::{Archive, ArchiveWriter, DictionaryMode, IndexKind, NewEntry, WriterOptions};

/// Word-like text, deterministic.
fn text(seed: u64, words: usize) -> String {
    const W: [&str; 12] = [
        "harbour", "council", "bridge", "monday", "reopen", "repairs", "northern", "span", "said",
        "would", "the", "after",
    ];
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..words)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            W[(x % 12) as usize]
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn archive(n: u64, words: usize, opts: WriterOptions) -> Vec<u8> {
    let mut w = ArchiveWriter::in_memory(opts).unwrap();
    for i in 0..n {
        let key = format!("syn/{i:07}");
        w.add(&NewEntry::new(&key, text(i, words).as_bytes()).title(&key))
            .unwrap();
    }
    w.finish_into_inner().unwrap().0.into_inner()
}

/// For `keys`, each read by a fresh reader: the ranges after the prelude, without the
/// dictionary's.
fn cold_reads(bytes: &[u8], keys: &[String]) -> (u8, Vec<Vec<Range<u64>>>) {
    let mut depth = 0;
    let mut all = Vec::new();
    for key in keys {
        let a = Archive::new(Recording::new(bytes)).unwrap();
        depth = a.header().index_depth;
        let opened = a.source().ranges();
        assert_eq!(opened.len(), 1, "open reads one range");
        assert_eq!(opened[0].start, 0);
        assert!(opened[0].end - opened[0].start <= MAX_PRELUDE_LEN as u64);
        let dict = a
            .sections()
            .iter()
            .find(|s| s.id == 1)
            .map(|s| s.offset..s.offset + s.length)
            .unwrap();
        let e = a.get(key).unwrap().expect("present");
        let body = e.body().unwrap();
        assert_eq!(
            body,
            text(key[4..].parse().unwrap(), body_words(&body)).as_bytes()
        );
        let after: Vec<Range<u64>> = a.source().ranges()[1..]
            .iter()
            .filter(|r| **r != dict)
            .cloned()
            .collect();
        all.push(after);
    }
    (depth, all)
}

fn body_words(body: &[u8]) -> usize {
    body.split(|b| *b == b' ').count()
}

fn check(bytes: &[u8], n: u64, expect_depth: u8) {
    let keys: Vec<String> = (0..40)
        .map(|i| format!("syn/{:07}", (i * 7919 + 13) % n))
        .collect();
    let (depth, reads) = cold_reads(bytes, &keys);
    assert_eq!(depth, expect_depth);
    for (key, ranges) in keys.iter().zip(&reads) {
        // At most `depth` nodes, then one block (these entries each lie in one block).
        assert!(
            ranges.len() <= usize::from(depth) + 1,
            "{key}: {} ranges after the prelude: {ranges:?}",
            ranges.len()
        );
        for node in &ranges[..ranges.len() - 1] {
            assert!(node.end - node.start <= 16384, "{key}: node {node:?}");
        }
    }
}

#[test]
fn a_cold_lookup_reads_the_prelude_then_a_page_and_a_block() {
    let opts = WriterOptions::new()
        .level(3)
        .dictionary(DictionaryMode::On)
        .dict_size(16 << 10)
        .threads(1);
    let bytes = archive(20_000, 40, opts);
    check(&bytes, 20_000, 1);
}

#[test]
fn a_small_archive_is_answered_from_the_prelude_and_one_block() {
    let bytes = archive(30, 40, WriterOptions::new().level(3).threads(1));
    check(&bytes, 30, 0);
}

#[test]
fn at_a_million_entries_a_lookup_still_reads_at_most_a_page_per_level_and_a_block() {
    // Short entries, quickly compressed: the index, not the data, is what is measured (and
    // no title index, which a lookup never reads: in a debug build it took half the time).
    let opts = WriterOptions::new()
        .index(IndexKind::None)
        .level(1)
        .dictionary(DictionaryMode::Off)
        .block_size(64 << 10);
    let n = 1_000_000;
    let bytes = archive(n, 3, opts);
    let a = Archive::new(&bytes[..]).unwrap();
    assert_eq!(a.len(), n);
    // The prelude holds a root over every page when it fits; it does here.
    check(&bytes, n, a.header().index_depth.max(1));
    assert!(a.header().index_depth <= 2);
}
