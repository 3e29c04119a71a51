//! `Entry::body_shared`: the same bytes and the same errors as `body()`, for every entry of
//! a generated archive (small entries that share blocks, bodies over several blocks, empty
//! bodies, stored (opaque) blocks), with the block cache on and off; a body in one block is
//! the block's own memory (no copy), one gathered from several is one `Vec`.

use crate::common;

use common::{text, Anatomy, Rng};
use quire::format::Codec;
use quire::{Archive, ArchiveWriter, Body, NewEntry, ReadError, WriterOptions};

/// `n` bytes no compressor can shrink (xorshift).
fn noise(n: usize, mut seed: u64) -> Vec<u8> {
    (0..n)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as u8
        })
        .collect()
}

/// The model: (key, content type, body) in key order, with small pages, empty bodies,
/// pages longer than a 4 KiB block, pages over several blocks and images (opaque, in stored
/// blocks of their own).
fn model() -> Vec<(String, &'static str, Vec<u8>)> {
    let mut rng = Rng::new(25);
    (0..300)
        .map(|i| {
            let key = format!("page/{i:04}");
            match i % 10 {
                0 => (key, "text/html", Vec::new()),
                // Longer than the 256 KiB a long entry's own blocks hold: several blocks.
                7 if i % 100 == 7 => {
                    let len = 300_000 + rng.below(300_000) as usize;
                    (key, "text/html", text(&mut rng, len))
                }
                9 if i % 100 == 99 => (key, "image/png", noise(400_000, i as u64)),
                1..=6 => {
                    let len = 20 + rng.below(600) as usize;
                    (key, "text/html", text(&mut rng, len))
                }
                7 => {
                    let len = 9000 + rng.below(12_000) as usize;
                    (key, "text/html", text(&mut rng, len))
                }
                8 => (key, "image/png", noise(700 + i * 7, i as u64 + 1)),
                _ => (key, "image/png", noise(9000 + i * 11, i as u64 + 1)),
            }
        })
        .collect()
}

/// Packs `model` in memory with 4 KiB blocks and no title index.
fn pack(model: &[(String, &str, Vec<u8>)]) -> Vec<u8> {
    let opts = WriterOptions::new()
        .block_size(4096)
        .index(quire::IndexKind::None)
        .threads(1);
    let mut w = ArchiveWriter::in_memory(opts).unwrap();
    for (key, ct, body) in model {
        w.add(&NewEntry::new(key, body).content_type(ct)).unwrap();
    }
    w.finish_into_inner().unwrap().0.into_inner()
}

/// Whether the body of `key` lies in one block (its start and its last byte in the same
/// block), from the archive's anatomy, not from the reader under test.
fn in_one_block(a: &Archive<Vec<u8>>, blocks: &[quire::format::BlockRecord], key: &str) -> bool {
    let e = a.get(key).unwrap().unwrap();
    let Some((n, off)) = e.location() else {
        return false;
    };
    let b = blocks.iter().find(|b| b.number == n).unwrap();
    u64::from(off) + e.body_len() <= u64::from(b.raw_len)
}

#[test]
fn the_same_bytes_as_body_for_every_entry_cache_on_and_off() {
    let model = model();
    let bytes = pack(&model);
    let anatomy = Anatomy::of(&bytes);
    // The model has what the test is about: stored blocks, compressed blocks, bodies over
    // several blocks.
    assert!(anatomy.blocks.iter().any(|b| b.codec == Codec::Raw as u8));
    assert!(anatomy.blocks.iter().any(|b| b.codec != Codec::Raw as u8));
    for cache in [None, Some(0), Some(1)] {
        let a = Archive::new(bytes.clone()).unwrap();
        let a = match cache {
            Some(n) => a.with_block_cache(n),
            None => a,
        };
        let (mut several, mut one, mut empty) = (0, 0, 0);
        for (key, _, want) in &model {
            let e = a.get(key).unwrap().unwrap();
            let shared = e.body_shared().unwrap();
            assert_eq!(&shared[..], &want[..], "{key}, cache {cache:?}");
            assert_eq!(shared.as_ref(), &e.body().unwrap()[..], "{key}");
            assert_eq!(shared.len(), want.len());
            let clone = shared.clone();
            assert_eq!(clone.as_ptr(), shared.as_ptr(), "a clone copies nothing");
            assert_eq!(clone, shared);
            assert_eq!(shared.into_vec(), *want);
            if want.is_empty() {
                empty += 1;
            } else if in_one_block(&a, &anatomy.blocks, key) {
                one += 1;
            } else {
                several += 1;
            }
        }
        assert!(
            empty > 0 && one > 0 && several > 0,
            "{empty} {one} {several}"
        );
    }
}

#[test]
fn a_body_in_one_block_is_the_blocks_memory_not_a_copy() {
    let model = model();
    let bytes = pack(&model);
    let anatomy = Anatomy::of(&bytes);
    let a = Archive::new(bytes.clone()).unwrap();
    let (mut text_blocks, mut stored_blocks) = (0, 0);
    for (key, _, want) in model.iter().filter(|m| !m.2.is_empty()) {
        if !in_one_block(&a, &anatomy.blocks, key) {
            continue;
        }
        let e = a.get(key).unwrap().unwrap();
        let (n, _) = e.location().unwrap();
        let b = anatomy.blocks.iter().find(|b| b.number == n).unwrap();
        // Two shared reads of a cached block point into the same memory; a third, after the
        // counters are reset, decodes nothing.
        let first = e.body_shared().unwrap();
        a.reset_counters();
        let second = a.get(key).unwrap().unwrap().body_shared().unwrap();
        assert_eq!(a.counters().blocks_decompressed, 0, "{key}: a cache hit");
        assert_eq!(first.as_ptr(), second.as_ptr(), "{key}");
        assert_eq!(&second[..], &want[..]);
        // `body()` copies: its bytes are elsewhere.
        let copy = e.body().unwrap();
        assert_ne!(copy.as_ptr(), first.as_ptr());
        if b.codec == Codec::Raw as u8 {
            stored_blocks += 1;
        } else {
            text_blocks += 1;
        }
    }
    assert!(text_blocks > 0 && stored_blocks > 0);

    // Small entries that share a block point into it: their bodies are at their distances
    // in the block, so the two pointers are as far apart as their offsets.
    let mut by_block = std::collections::HashMap::new();
    for (key, _, want) in model.iter().filter(|m| !m.2.is_empty()) {
        if !in_one_block(&a, &anatomy.blocks, key) {
            continue;
        }
        let e = a.get(key).unwrap().unwrap();
        let (n, off) = e.location().unwrap();
        let body = e.body_shared().unwrap();
        assert_eq!(&body[..], &want[..]);
        by_block
            .entry(n)
            .or_insert_with(Vec::new)
            .push((off as usize, body));
    }
    let shared: Vec<&Vec<(usize, Body)>> = by_block.values().filter(|v| v.len() > 1).collect();
    assert!(!shared.is_empty());
    for v in shared {
        let (off0, b0) = &v[0];
        for (off, b) in &v[1..] {
            assert_eq!(b.as_ptr() as usize - b0.as_ptr() as usize, off - off0);
        }
    }

    // With the cache off, a body in one block still comes without a copy of its own: it
    // shares the block read for it, which it keeps alive.
    let a = Archive::new(bytes).unwrap().with_block_cache(0);
    for (key, _, want) in model.iter().filter(|m| !m.2.is_empty()) {
        if in_one_block(&a, &anatomy.blocks, key) {
            let body = a.get(key).unwrap().unwrap().body_shared().unwrap();
            assert_eq!(&body[..], &want[..]);
            assert!(format!("{body:?}").contains(&format!("len: {}", want.len())));
        }
    }
}

#[test]
fn a_damaged_block_gives_the_error_body_gives() {
    let model = model();
    let bytes = pack(&model);
    let anatomy = Anatomy::of(&bytes);
    let mut checked = (0, 0);
    for b in &anatomy.blocks {
        // One byte in the middle of the block's stored bytes flipped.
        let mut bad = bytes.clone();
        let at = anatomy.data.start + b.offset as usize + b.stored_len as usize / 2;
        bad[at] ^= 0x5a;
        for cache in [true, false] {
            let open = || {
                let a = Archive::new(bad.clone()).unwrap();
                if cache {
                    a
                } else {
                    a.with_block_cache(0)
                }
            };
            // Each read on an archive of its own: a damaged block is remembered, and the
            // second read must not be answered from that memory.
            let (shared, copied) = (open(), open());
            for (key, _, _) in &model {
                let (Some(s), Some(c)) = (shared.get(key).unwrap(), copied.get(key).unwrap())
                else {
                    panic!("{key} missing");
                };
                match (s.body_shared(), c.body()) {
                    (Ok(s), Ok(c)) => assert_eq!(&s[..], &c[..], "{key}"),
                    (Err(se), Err(ce)) => {
                        assert_eq!(format!("{se:?}"), format!("{ce:?}"), "{key}");
                        assert!(
                            matches!(
                                se,
                                ReadError::Damaged {
                                    at: quire::Location::Block(n),
                                    ..
                                } if n == b.number
                            ),
                            "{key}: {se:?}"
                        );
                        if b.codec == Codec::Raw as u8 {
                            checked.0 += 1;
                        } else {
                            checked.1 += 1;
                        }
                    }
                    (s, c) => panic!("{key}: body_shared {s:?}, body {:?}", c.map(|v| v.len())),
                }
            }
        }
    }
    assert!(checked.0 > 0 && checked.1 > 0, "{checked:?}");
}
