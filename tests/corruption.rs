//! Exhaustive damage to a small archive (a few KB, many blocks, dictionary on): every single
//! bit flip is detected and never yields wrong bytes; every truncation is rejected; a damaged
//! block is reported with its keys while every other entry still reads; versions and flags
//! are handled as the spec says.
//!
//! Run with `--nocapture` to see the counts.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};

use common::{
    fix_header_crc, model, options, pack, patch_header, sample_items, section_range, Item, Parts,
};
use quire::format::{Codec, SectionId};
use quire::{Archive, DamageKind, DictionaryMode, Location, ReadError};

/// The archive every test here damages: ~4 KB, a dozen 256-byte blocks, a trained dictionary.
fn small() -> (Vec<Item>, Vec<u8>) {
    let items = sample_items(24, 7);
    let bytes = pack(&items, options(3, 256, DictionaryMode::On, 1));
    (items, bytes)
}

#[test]
fn fixture_is_what_the_tests_assume() {
    let (items, bytes) = small();
    let a = Archive::new(&bytes[..]).expect("open");
    common::assert_matches(&a, &items);
    assert!(a.verify().is_ok(), "{}", a.verify());
    assert!(a.dictionary_len() > 0, "dictionary on");
    assert!(a.block_count() >= 6, "several blocks: {}", a.block_count());
    let parts = Parts::parse(&bytes);
    assert!(parts
        .blocks
        .iter()
        .any(|b| b.codec == Codec::ZstdDict as u8));
    // The take-apart helper is exact: putting an untouched archive back gives the same bytes.
    assert_eq!(parts.to_bytes(), bytes);
    println!(
        "fixture: {} bytes, {} blocks, {} entries",
        bytes.len(),
        a.block_count(),
        a.len()
    );
}

/// Reads everything it can from `a` and counts the reads that succeed with wrong content.
fn wrong_reads<D: AsRef<[u8]>>(a: &Archive<D>, model: &BTreeMap<String, Vec<u8>>) -> Vec<String> {
    let mut wrong = Vec::new();
    for (key, body) in model {
        match a.get(key) {
            Err(_) => {}
            Ok(None) => wrong.push(format!("{key:?} silently missing")),
            Ok(Some(e)) => {
                if e.key() != key {
                    wrong.push(format!("{key:?} found as {:?}", e.key()));
                }
                if let Ok(b) = e.body() {
                    if &b != body {
                        wrong.push(format!("{key:?}: wrong body"));
                    }
                }
            }
        }
    }
    // Entry-order iteration reads the same records as `get` (checked above); the sorted
    // order goes through the sorted index, which `get` does not use.
    let mut prev: Option<String> = None;
    for e in a.iter_sorted().flatten() {
        if !model.contains_key(e.key()) {
            wrong.push(format!("sorted iteration yields unknown key {:?}", e.key()));
        }
        if prev.as_deref().is_some_and(|p| p >= e.key()) {
            wrong.push("sorted iteration out of order".into());
        }
        prev = Some(e.key().to_string());
    }
    wrong
}

#[test]
fn every_bit_flip_is_detected_and_never_read_as_data() {
    let (items, bytes) = small();
    let model = model(&items);
    let total_bits = bytes.len() * 8;
    let detected = AtomicU64::new(0);
    let at_open = AtomicU64::new(0);
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(1, 4);
    let failures: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (bytes, model, detected, at_open) = (&bytes, &model, &detected, &at_open);
                s.spawn(move || {
                    let mut buf = bytes.clone();
                    let mut failures = Vec::new();
                    for bit in (t..total_bits).step_by(threads) {
                        let (byte, mask) = (bit / 8, 1u8 << (bit % 8));
                        buf[byte] ^= mask;
                        match Archive::new(&buf[..]) {
                            Err(_) => {
                                detected.fetch_add(1, Ordering::Relaxed);
                                at_open.fetch_add(1, Ordering::Relaxed);
                            }
                            Ok(a) => {
                                for w in wrong_reads(&a, model) {
                                    failures.push(format!("bit {bit} (byte {byte}): {w}"));
                                }
                                if a.verify().is_ok() {
                                    failures.push(format!("bit {bit} (byte {byte}): not detected"));
                                } else {
                                    detected.fetch_add(1, Ordering::Relaxed);
                                }
                            }
                        }
                        buf[byte] ^= mask;
                    }
                    failures
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("worker"))
            .collect()
    });
    let detected = detected.into_inner();
    let at_open = at_open.into_inner();
    println!(
        "bitflips: {detected} / {total_bits} detected ({at_open} at open, {} by verify), {} wrong reads",
        detected - at_open,
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} failures, first: {:#?}",
        failures.len(),
        &failures[..failures.len().min(20)]
    );
    assert_eq!(detected, total_bits as u64);
}

#[test]
fn every_truncation_is_rejected() {
    let (items, bytes) = small();
    let first = &items[1].key;
    let mut rejected = 0;
    for len in 0..bytes.len() {
        let cut = &bytes[..len];
        match Archive::new(cut) {
            Err(e) => {
                assert!(!e.to_string().is_empty());
                rejected += 1;
            }
            Ok(a) => {
                // Not expected (file_len catches it), but a clean error on first read would do.
                if a.get(first)
                    .and_then(|e| e.map(|e| e.body()).transpose())
                    .is_err()
                {
                    rejected += 1;
                }
            }
        }
    }
    // Too short for a header, say so; cut inside the archive, say truncated.
    assert!(matches!(
        Archive::new(&bytes[..50]).map_err(|e| e.damage()),
        Err(Some(DamageKind::Truncated { .. }))
    ));
    assert!(matches!(
        Archive::new(&bytes[..bytes.len() - 1]).map_err(|e| e.damage()),
        Err(Some(DamageKind::Truncated { .. }))
    ));
    let mut extended = 0;
    for extra in [1usize, 7, 100] {
        let mut longer = bytes.clone();
        longer.resize(bytes.len() + extra, 0);
        if Archive::new(&longer[..]).is_err() {
            extended += 1;
        }
    }
    println!(
        "truncations: {rejected} / {} rejected; extensions: {extended} / 3 rejected",
        bytes.len()
    );
    assert_eq!(rejected, bytes.len());
    assert_eq!(extended, 3);
}

#[test]
fn damaged_block_is_reported_with_its_keys_and_other_entries_read() {
    let (items, bytes) = small();
    let parts = Parts::parse(&bytes);
    // A compressed block in the middle.
    let victim = (parts.blocks.len() / 2..parts.blocks.len())
        .find(|b| parts.blocks[*b].codec != Codec::Raw as u8)
        .expect("a compressed block") as u32;
    let data = section_range(&bytes, SectionId::Data as u32);
    let rec = parts.blocks[victim as usize];
    let mut damaged = bytes.clone();
    damaged[data.start + rec.offset as usize + rec.stored_len as usize / 2] ^= 0x10;

    let in_victim: BTreeSet<String> = (0..parts.entries.len())
        .filter(|i| parts.blocks_of(*i).contains(&victim))
        .map(|i| parts.key(i))
        .collect();
    assert!(!in_victim.is_empty());

    let a = Archive::new(&damaged[..]).expect("data damage does not stop open");
    let report = a.verify();
    assert!(!report.is_ok());
    let p = report
        .problems
        .iter()
        .find(|p| p.at == Location::Block(victim))
        .unwrap_or_else(|| panic!("block {victim} not reported: {report}"));
    let keys: BTreeSet<String> = p.keys.iter().cloned().collect();
    assert_eq!(keys, in_victim, "{report}");

    for it in &items {
        let e = a.get(&it.key).expect("index intact").expect("present");
        if in_victim.contains(&it.key) {
            match e.body() {
                Err(ReadError::Damaged {
                    at: Location::Block(block),
                    kind: DamageKind::ChecksumMismatch,
                }) => assert_eq!(block, victim),
                other => panic!("{:?}: expected a damaged block, got {other:?}", it.key),
            }
        } else {
            assert_eq!(
                e.body().expect("other blocks read"),
                it.body,
                "{:?}",
                it.key
            );
        }
    }
}

#[test]
fn damaged_dictionary_is_an_error_and_raw_blocks_still_read() {
    let (items, bytes) = small();
    let parts = Parts::parse(&bytes);
    let dict = section_range(&bytes, SectionId::Dict as u32);
    let mut damaged = bytes.clone();
    damaged[dict.start + dict.len() / 2] ^= 1;
    let a = Archive::new(&damaged[..]).expect("open is constant work and does not read DICT");
    assert!(!a.verify().is_ok());
    for (i, it) in items.iter().enumerate() {
        let uses_dict = parts
            .blocks_of(i)
            .iter()
            .any(|b| parts.blocks[*b as usize].codec == Codec::ZstdDict as u8);
        let got = a.get(&it.key).expect("get").expect("present").body();
        if uses_dict {
            assert!(
                got.is_err(),
                "{:?} read through a damaged dictionary",
                it.key
            );
        } else {
            assert_eq!(got.expect("no dictionary needed"), it.body);
        }
    }
}

#[test]
fn wrong_magic_is_bad_magic() {
    let (_, bytes) = small();
    let mut b = bytes.clone();
    b[1] = b'q';
    assert!(matches!(Archive::new(&b[..]), Err(ReadError::BadMagic)));
    // A text-mode transfer turning CRLF into LF.
    let mut b = bytes.clone();
    b.remove(6);
    assert!(matches!(Archive::new(&b[..]), Err(ReadError::BadMagic)));
    assert!(matches!(
        Archive::new(&b"not an archive at all"[..]),
        Err(ReadError::BadMagic)
    ));
}

#[test]
fn newer_major_version_is_refused_with_its_number() {
    let (_, bytes) = small();
    let mut b = bytes.clone();
    patch_header(&mut b, |h| {
        h.major = 3;
        h.minor = 0;
    });
    assert!(matches!(
        Archive::new(&b[..]),
        Err(ReadError::UnsupportedVersion { major: 3, minor: 0 })
    ));
    // Version 0 is not readable either.
    let mut b = bytes.clone();
    patch_header(&mut b, |h| h.major = 0);
    assert!(matches!(
        Archive::new(&b[..]),
        Err(ReadError::UnsupportedVersion { major: 0, .. })
    ));
}

#[test]
fn newer_minor_version_reads() {
    let (items, bytes) = small();
    let mut b = bytes.clone();
    patch_header(&mut b, |h| h.minor = 7);
    let a = Archive::new(&b[..]).expect("1.7 is readable by a 1.0 reader");
    common::assert_matches(&a, &items);
    assert!(a.verify().is_ok());
}

#[test]
fn unknown_required_flag_is_refused() {
    let (_, bytes) = small();
    let mut b = bytes.clone();
    patch_header(&mut b, |h| h.required_flags |= 1 << 9);
    assert!(matches!(
        Archive::new(&b[..]),
        Err(ReadError::UnsupportedFeatures { flags: 0x200 })
    ));
}

#[test]
fn unknown_optional_flag_is_ignored() {
    let (items, bytes) = small();
    let mut b = bytes.clone();
    patch_header(&mut b, |h| h.optional_flags |= (1 << 5) | (1 << 63));
    let a = Archive::new(&b[..]).expect("optional flags are ignored");
    common::assert_matches(&a, &items);
    assert!(a.verify().is_ok());
}

#[test]
fn unknown_section_is_ignored_but_verified() {
    let (items, bytes) = small();
    let mut parts = Parts::parse(&bytes);
    parts.order.insert(3, 77);
    parts
        .unknown
        .push((77, b"a section from a future minor version".to_vec()));
    let b = parts.to_bytes();
    let a = Archive::new(&b[..]).expect("unknown sections are ignored");
    common::assert_matches(&a, &items);
    assert!(a.verify().is_ok(), "{}", a.verify());
    // Its CRC is still checked by full verification.
    let r = section_range(&b, 77);
    let mut damaged = b.clone();
    damaged[r.start] ^= 4;
    let a = Archive::new(&damaged[..]).expect("open does not read unknown sections");
    let report = a.verify();
    assert!(!report.is_ok());
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.at == Location::UnknownSection(77) && p.kind == DamageKind::ChecksumMismatch),
        "{report}"
    );
}

#[test]
fn header_crc_is_checked_before_anything_it_covers() {
    let (_, bytes) = small();
    // Any change to the header without fixing the CRC is a checksum error.
    let mut b = bytes.clone();
    b[40] ^= 1; // entry_count
    assert!(matches!(
        Archive::new(&b[..]),
        Err(ReadError::Damaged {
            at: Location::Header,
            kind: DamageKind::ChecksumMismatch
        })
    ));
    // With the CRC fixed it reaches the consistency checks.
    fix_header_crc(&mut b);
    assert!(matches!(
        Archive::new(&b[..]),
        Err(ReadError::Damaged {
            kind: DamageKind::Violates(_),
            ..
        })
    ));
}

#[test]
fn a_flipped_bit_in_the_version_or_flags_is_damage_not_a_newer_version() {
    // Issue 13, item 10: the header CRC is checked before the version and the flags are
    // interpreted, so a damaged header never reads as "upgrade quire".
    let (_, bytes) = small();
    let fields = quire::format::header::HEADER_FIELDS;
    let mut flips = 0;
    for f in fields
        .iter()
        .filter(|f| ["major", "minor", "required_flags", "optional_flags"].contains(&f.name))
    {
        for bit in 0..f.width * 8 {
            let mut b = bytes.clone();
            b[f.offset + bit / 8] ^= 1 << (bit % 8);
            let e = Archive::new(&b[..]).expect_err("a flipped header bit is noticed");
            assert!(
                matches!(
                    e,
                    ReadError::Damaged {
                        at: Location::Header,
                        kind: DamageKind::ChecksumMismatch
                    }
                ),
                "{} bit {bit}: {e:?}",
                f.name
            );
            flips += 1;
        }
    }
    assert_eq!(flips, (2 + 2 + 8 + 8) * 8);
}
