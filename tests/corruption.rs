//! Exhaustive damage to a small archive (a few KB, many blocks, dictionary on): every single
//! bit flip is detected and never yields wrong bytes; every truncation is rejected; a damaged
//! block is reported with its keys while every other entry still reads; a block that decodes
//! to other bytes, and bytes of two archives mixed, are errors; versions, flags and reserved
//! bytes are handled as the spec says.
//!
//! Run with `--nocapture` to see the counts.

use crate::common;

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};

use common::{
    get_field, header_reserved, model, options, pack, patch_header, put_field, sample_items,
    section_record_at, section_reserved, Anatomy, Item, Parts,
};
use quire::format::chain::{self, Reseal};
use quire::format::{header, Codec, KNOWN_REQUIRED_FLAGS};
use quire::source::ByteSource;
use quire::{Archive, DamageKind, DictionaryMode, Location, ReadError, Rule};

/// The archive every test here damages: ~4 KB, a dozen 256-byte blocks, a dictionary.
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
    // And so is resealing an untouched archive.
    let mut resealed = bytes.clone();
    assert!(chain::reseal(&mut resealed, Reseal { stored_crcs: true }));
    assert_eq!(resealed, bytes);
    println!(
        "fixture: {} bytes, {} blocks, {} entries",
        bytes.len(),
        a.block_count(),
        a.len()
    );
}

/// Reads everything it can from `a` and lists the reads that succeed with wrong content.
fn wrong_reads<S: ByteSource>(a: &Archive<S>, model: &BTreeMap<String, Vec<u8>>) -> Vec<String> {
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
    // Iteration and prefix listing walk the pages rather than searching them.
    let mut prev: Option<String> = None;
    for e in a.iter().flatten() {
        if !model.contains_key(e.key()) {
            wrong.push(format!("iteration yields unknown key {:?}", e.key()));
        }
        if prev.as_deref().is_some_and(|p| p >= e.key()) {
            wrong.push("iteration out of order".into());
        }
        if let Ok(b) = e.body() {
            if model.get(e.key()).is_some_and(|m| *m != b) {
                wrong.push(format!("{:?}: wrong body when iterating", e.key()));
            }
        }
        prev = Some(e.key().to_string());
    }
    let mut prev: Option<String> = None;
    for e in a.prefix("art/0").flatten() {
        if !model.contains_key(e.key()) {
            wrong.push(format!("prefix listing yields unknown key {:?}", e.key()));
        }
        if prev.as_deref().is_some_and(|p| p >= e.key()) {
            wrong.push("prefix listing out of order".into());
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
    let prelude_len = get_field(&bytes, "prelude_len") as usize;
    let mut rejected = 0;
    for len in 0..bytes.len() {
        let cut = &bytes[..len];
        match Archive::new(cut) {
            Err(e) => {
                assert!(!e.to_string().is_empty());
                // Shorter than the magic: not an archive; shorter than the prelude: a
                // truncated prelude; longer: a truncated file.
                if len < <[u8]>::len(&quire::format::MAGIC) {
                    assert!(matches!(e, ReadError::BadMagic), "{len}: {e:?}");
                } else if len < prelude_len {
                    assert!(
                        matches!(e, ReadError::TruncatedPrelude { .. }),
                        "{len}: {e:?}"
                    );
                } else {
                    assert!(
                        matches!(
                            e,
                            ReadError::Damaged {
                                at: Location::File,
                                kind: DamageKind::Truncated { .. }
                            }
                        ),
                        "{len}: {e:?}"
                    );
                }
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
    assert!(matches!(
        Archive::new(&bytes[..50]),
        Err(ReadError::TruncatedPrelude {
            prelude_len: Some(_),
            file_len: 50
        })
    ));
    assert!(matches!(
        Archive::new(&bytes[..12]),
        Err(ReadError::TruncatedPrelude {
            prelude_len: None,
            file_len: 12
        })
    ));
    assert!(matches!(
        Archive::new(&bytes[..bytes.len() - 1]).map_err(|e| e.damage()),
        Err(Some(DamageKind::Truncated { .. }))
    ));
    let mut extended = 0;
    for extra in [1usize, 7, 100] {
        let mut longer = bytes.clone();
        longer.resize(bytes.len() + extra, 0);
        if let Err(e) = Archive::new(&longer[..]) {
            assert!(matches!(e.damage(), Some(DamageKind::TrailingBytes { .. })));
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
    let items = common::sorted(&items);
    let an = Anatomy::of(&bytes);
    // A compressed block in the middle.
    let victim = (an.blocks.len() / 2..an.blocks.len())
        .find(|b| an.blocks[*b].codec != Codec::Raw as u8)
        .expect("a compressed block") as u32;
    let range = an.block_range(victim);
    let mut damaged = bytes.clone();
    damaged[range.start + range.len() / 2] ^= 0x10;

    // The entries stored in the block: its lead or its body lies there.
    let in_victim: BTreeSet<String> = (0..an.len())
        .filter(|i| an.blocks_of(*i).contains(&victim))
        .map(|i| an.key(i))
        .collect();
    assert!(!in_victim.is_empty());

    let a = Archive::new(&damaged[..])
        .expect("data damage does not stop open")
        .with_block_cache(0);
    let report = a.verify();
    assert!(!report.is_ok());
    let p = report
        .problems
        .iter()
        .find(|p| p.at == Location::Block(victim))
        .unwrap_or_else(|| panic!("block {victim} not reported: {report}"));
    assert_eq!(p.kind, DamageKind::ChecksumMismatch);
    let keys: BTreeSet<String> = p.keys.iter().cloned().collect();
    assert_eq!(keys, in_victim, "{report}");
    // The damaged block is the only problem.
    assert_eq!(report.problems.len(), 2, "block and DATA's CRC: {report}");

    for (i, it) in items.iter().enumerate() {
        let e = a.get(&it.key).expect("index intact").expect("present");
        let is_victim = |r: &ReadError| {
            matches!(
                r,
                ReadError::Damaged {
                    at: Location::Block(b),
                    kind: DamageKind::ChecksumMismatch,
                } if *b == victim
            )
        };
        if an.body_blocks(i).contains(&victim) {
            let err = e.body().expect_err("body in the damaged block");
            assert!(is_victim(&err), "{:?}: {err:?}", it.key);
        } else {
            assert_eq!(
                e.body().expect("other blocks read"),
                it.body,
                "{:?}",
                it.key
            );
        }
        if an.lead_blocks(i).contains(&victim) {
            let err = e.info().expect_err("lead in the damaged block");
            assert!(is_victim(&err), "{:?}: {err:?}", it.key);
        } else {
            assert_eq!(e.title().expect("title"), it.title.as_deref());
        }
    }
}

#[test]
fn damaged_dictionary_is_an_error_and_raw_blocks_still_read() {
    let (items, bytes) = small();
    let items = common::sorted(&items);
    let an = Anatomy::of(&bytes);
    let mut damaged = bytes.clone();
    damaged[an.dict.start + an.dict.len() / 2] ^= 1;
    let a = Archive::new(&damaged[..]).expect("open is constant work and does not read DICT");
    let report = a.verify();
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.at == Location::Dictionary && p.kind == DamageKind::ChecksumMismatch),
        "{report}"
    );
    let mut some_without = false;
    for (i, it) in items.iter().enumerate() {
        let uses_dict = an
            .body_blocks(i)
            .iter()
            .any(|b| an.blocks[*b as usize].codec == Codec::ZstdDict as u8);
        let got = a.get(&it.key).expect("get").expect("present").body();
        if uses_dict {
            let err = got.expect_err("read through a damaged dictionary");
            assert_eq!(err.location(), Some(Location::Dictionary), "{err:?}");
        } else {
            some_without = true;
            assert_eq!(got.expect("no dictionary needed"), it.body);
        }
    }
    assert!(some_without, "empty bodies need no dictionary");
}

/// A block that decodes to other bytes than the ones written: its stored bytes replaced by
/// another valid frame of the same length, its stored CRC recomputed, its raw CRC kept.
#[test]
fn a_block_that_decodes_to_the_wrong_bytes_is_caught_by_its_raw_crc() {
    let (items, bytes) = small();
    let items = common::sorted(&items);
    let an = Anatomy::of(&bytes);
    let mut parts = Parts::parse(&bytes);
    let victim = (1..parts.blocks.len())
        .find(|&b| parts.blocks[b].codec == Codec::ZstdDict as u8)
        .expect("a dictionary block");
    let raw_len = parts.blocks[victim].raw_len as usize;
    let wrong = vec![b'x'; raw_len];
    parts.stored[victim] = common::frame(&wrong);
    parts.blocks[victim].codec = Codec::Zstd as u8;
    // Offsets and lengths follow; the stored CRC is left for reseal to fix.
    parts.sync_blocks(false);
    let mut b = parts.to_bytes();
    assert!(chain::reseal(&mut b, Reseal { stored_crcs: true }));
    let a = Archive::new(&b[..]).expect("open").with_block_cache(0);
    let victim = victim as u32;
    let want = |e: &ReadError| {
        matches!(
            e,
            ReadError::Damaged {
                at: Location::Block(n),
                kind: DamageKind::DecodedChecksumMismatch
            } if *n == victim
        )
    };
    let mut hit = 0;
    for (i, it) in items.iter().enumerate() {
        let e = a.get(&it.key).expect("index intact").expect("present");
        if an.body_blocks(i).contains(&victim) {
            let err = e.body().expect_err("wrong bytes are never returned");
            assert!(want(&err), "{err:?}");
            hit += 1;
        } else {
            assert_eq!(e.body().expect("other blocks"), it.body);
        }
    }
    assert!(hit > 0);
    let report = a.verify();
    let p = report
        .problems
        .iter()
        .find(|p| p.at == Location::Block(victim))
        .unwrap_or_else(|| panic!("{report}"));
    assert_eq!(p.kind, DamageKind::DecodedChecksumMismatch, "{report}");
    assert!(!p.keys.is_empty());
    // Only that block is wrong: DATA's CRC was recomputed.
    assert_eq!(report.problems.len(), 1, "{report}");

    // The same with another archive's dictionary: blocks decoded with the wrong dictionary.
    let other = pack(
        &sample_items(24, 99),
        options(3, 256, DictionaryMode::On, 1),
    );
    let mut parts = Parts::parse(&bytes);
    let donor = Parts::parse(&other);
    assert_ne!(parts.dict, donor.dict);
    parts.dict = donor.dict.clone();
    let b = parts.to_bytes();
    let a = Archive::new(&b[..]).expect("open").with_block_cache(0);
    for (i, it) in items.iter().enumerate() {
        let e = a.get(&it.key).expect("index intact").expect("present");
        match e.body() {
            Ok(body) => assert_eq!(body, it.body, "{:?}", it.key),
            Err(ReadError::Damaged {
                at: Location::Block(n),
                kind,
            }) => {
                assert!(an.body_blocks(i).contains(&n));
                assert!(
                    matches!(
                        kind,
                        DamageKind::DecodedChecksumMismatch
                            | DamageKind::Undecodable
                            | DamageKind::WrongLength { .. }
                    ),
                    "{kind:?}"
                );
            }
            Err(e) => panic!("{e:?}"),
        }
    }
    assert!(!a.verify().is_ok());
}

/// A source that serves the prelude of one archive and every other range from another
/// (a file replaced under a remote reader between two reads).
struct Mixed {
    prelude_from: Vec<u8>,
    rest_from: Vec<u8>,
}

impl ByteSource for Mixed {
    fn size(&self) -> u64 {
        self.prelude_from.len() as u64
    }
    fn read_at(&self, offset: u64, len: usize) -> io::Result<Cow<'_, [u8]>> {
        let src = if offset == 0 {
            &self.prelude_from
        } else {
            &self.rest_from
        };
        let o = offset as usize;
        src.get(o..o + len)
            .map(Cow::Borrowed)
            .ok_or_else(|| io::ErrorKind::UnexpectedEof.into())
    }
}

#[test]
fn bytes_of_two_archives_mixed_are_never_an_answer() {
    // Two archives with the same keys, titles and body lengths, but other bodies.
    let items = sample_items(60, 3);
    let mut other = items.clone();
    for (i, it) in other.iter_mut().enumerate() {
        it.body = common::text(&mut common::Rng::new(1000 + i as u64), it.body.len());
    }
    for page_size in [16384u32, 256] {
        let o = options(3, 512, DictionaryMode::Off, 1).page_size(page_size);
        let a_bytes = pack(&items, o.clone());
        let b_bytes = pack(&other, o);
        assert_ne!(a_bytes, b_bytes);
        let depth = get_field(&a_bytes, "index_depth");
        assert_eq!(depth > 0, page_size < 16384, "page size {page_size}");
        for (prelude, rest) in [(&a_bytes, &b_bytes), (&b_bytes, &a_bytes)] {
            let src = Mixed {
                prelude_from: prelude.clone(),
                rest_from: rest.clone(),
            };
            let a = Archive::new(src).expect("the prelude is whole");
            let a = a.with_block_cache(0);
            for it in &items {
                if it.body.is_empty() && it.title.is_none() && it.meta.is_empty() {
                    // Nothing of its own in any block: with the root in the prelude, such an
                    // entry is all in the checked prelude.
                    continue;
                }
                let got = a.get(&it.key).and_then(|e| {
                    let e = e.expect("same keys");
                    e.document()
                });
                assert!(
                    got.is_err(),
                    "{:?} read from two archives (depth {depth}): {got:?}",
                    it.key
                );
            }
            let report = a.verify();
            assert!(!report.is_ok());
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
fn other_major_versions_are_refused_with_their_number() {
    let (_, bytes) = small();
    for major in [4u16, 0, 1, 2, 0xFFFF] {
        let mut b = bytes.clone();
        patch_header(&mut b, "major", major.into());
        match Archive::new(&b[..]) {
            Err(ReadError::UnsupportedVersion { major: m, minor }) => {
                assert_eq!((m, minor), (major, quire::format::VERSION_MINOR))
            }
            other => panic!("major {major}: {other:?}"),
        }
    }
    // A future major version may change everything after the fields every version keeps:
    // the reader says "unsupported version", not "damaged".
    let mut b = bytes.clone();
    put_field(&mut b, "major", 9);
    for f in quire::format::header::HEADER_FIELDS
        .iter()
        .filter(|f| !["major", "minor", "prelude_len"].contains(&f.name))
    {
        b[f.offset..f.offset + f.width].fill(0xEE);
    }
    header::reseal(&mut b);
    assert!(matches!(
        Archive::new(&b[..]),
        Err(ReadError::UnsupportedVersion { major: 9, .. })
    ));
}

#[test]
fn newer_minor_version_reads() {
    let (items, bytes) = small();
    let mut b = bytes.clone();
    patch_header(&mut b, "minor", 7);
    let a = Archive::new(&b[..]).expect("3.7 is readable by a 3.0 reader");
    common::assert_matches(&a, &items);
    assert!(a.verify().is_ok());
}

#[test]
fn unknown_required_flags_are_refused() {
    let (_, bytes) = small();
    let flags = get_field(&bytes, "required_flags");
    for bit in 0..64 {
        let flag = 1u64 << bit;
        if flag & KNOWN_REQUIRED_FLAGS != 0 {
            continue;
        }
        let mut b = bytes.clone();
        patch_header(&mut b, "required_flags", flags | flag);
        match Archive::new(&b[..]) {
            Err(ReadError::UnsupportedFeatures { flags: f }) => assert_eq!(f, flag),
            other => panic!("bit {bit}: {other:?}"),
        }
    }
}

#[test]
fn unknown_optional_flag_is_ignored() {
    let (items, bytes) = small();
    let mut b = bytes.clone();
    let flags = get_field(&b, "optional_flags");
    patch_header(&mut b, "optional_flags", flags | (1 << 5) | (1 << 63));
    let a = Archive::new(&b[..]).expect("optional flags are ignored");
    common::assert_matches(&a, &items);
    assert!(a.verify().is_ok());
}

#[test]
fn reserved_bytes_must_be_zero() {
    let (_, bytes) = small();
    let reserved = header_reserved();
    assert_eq!(
        reserved.len(),
        7,
        "3 + 4 reserved header bytes: {reserved:?}"
    );
    let expect_reserved = |b: &[u8], what: &str| match Archive::new(b) {
        Err(ReadError::Damaged {
            at: Location::Prelude,
            kind: DamageKind::Violates(Rule::Reserved),
        }) => {}
        other => panic!("{what}: {other:?}"),
    };
    for &at in &reserved {
        for v in [1u8, 0x80, 0xFF] {
            let mut b = bytes.clone();
            b[at] = v;
            header::reseal(&mut b);
            expect_reserved(&b, &format!("header byte {at} = {v}"));
        }
    }
    let sections = get_field(&bytes, "section_count") as usize;
    let in_record = section_reserved();
    assert_eq!(in_record.len(), 8, "{in_record:?}");
    for i in 0..sections {
        for &r in &in_record {
            let mut b = bytes.clone();
            b[section_record_at(i) + r] = 0x01;
            header::reseal(&mut b);
            expect_reserved(&b, &format!("section {i} byte {r}"));
        }
    }
}

#[test]
fn prelude_lengths_out_of_range_are_a_truncated_prelude() {
    let (_, bytes) = small();
    for len in [0u64, 1, 21, 16385, u32::MAX.into(), bytes.len() as u64 + 1] {
        let mut b = bytes.clone();
        put_field(&mut b, "prelude_len", len);
        match Archive::new(&b[..]) {
            Err(ReadError::TruncatedPrelude {
                prelude_len: Some(p),
                file_len,
            }) => {
                assert_eq!((p, file_len), (len, bytes.len() as u64));
            }
            other => panic!("prelude_len {len}: {other:?}"),
        }
    }
    // A file that ends inside its prelude, at every length from the field on.
    let prelude_len = get_field(&bytes, "prelude_len") as usize;
    let f = common::header_field("prelude_len");
    for cut in <[u8]>::len(&quire::format::MAGIC)..prelude_len {
        match Archive::new(&bytes[..cut]) {
            Err(ReadError::TruncatedPrelude {
                prelude_len: p,
                file_len,
            }) => {
                assert_eq!(file_len, cut as u64);
                assert_eq!(p.is_some(), cut >= f.offset + f.width, "{cut}");
            }
            other => panic!("cut at {cut}: {other:?}"),
        }
    }
}

#[test]
fn unknown_section_is_ignored_but_verified() {
    let (items, bytes) = small();
    let mut parts = Parts::parse(&bytes);
    parts.order.insert(1, 77);
    parts
        .unknown
        .push((77, b"a section from a future minor version".to_vec()));
    let b = parts.to_bytes();
    let a = Archive::new(&b[..]).expect("unknown sections are ignored");
    common::assert_matches(&a, &items);
    assert!(a.verify().is_ok(), "{}", a.verify());
    // Its CRC is still checked by full verification.
    let r = Anatomy::of(&b)
        .sections
        .iter()
        .find(|(id, _)| *id == 77)
        .expect("there")
        .1
        .clone();
    let mut damaged = b.clone();
    damaged[r.start] ^= 4;
    let a = Archive::new(&damaged[..]).expect("open does not read unknown sections");
    common::assert_matches(&a, &items);
    let report = a.verify();
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.at == Location::UnknownSection(77) && p.kind == DamageKind::ChecksumMismatch),
        "{report}"
    );
    assert_eq!(report.problems.len(), 1, "{report}");
    // Sections are found by id, not position: the known ones in another order read too.
    let mut parts = Parts::parse(&bytes);
    parts.order.reverse();
    let b = parts.to_bytes();
    let a = Archive::new(&b[..]).expect("any order");
    common::assert_matches(&a, &items);
    assert!(a.verify().is_ok(), "{}", a.verify());
}

#[test]
fn prelude_crc_is_checked_before_anything_it_covers() {
    let (_, bytes) = small();
    // Any change to the prelude without fixing the CRC is a checksum error.
    let f = common::header_field("entry_count");
    let mut b = bytes.clone();
    b[f.offset] ^= 1;
    assert!(matches!(
        Archive::new(&b[..]),
        Err(ReadError::Damaged {
            at: Location::Prelude,
            kind: DamageKind::ChecksumMismatch
        })
    ));
    // With the CRC fixed it reaches the consistency checks.
    header::reseal(&mut b);
    assert!(matches!(
        Archive::new(&b[..]),
        Err(ReadError::Damaged {
            kind: DamageKind::Violates(Rule::EntryCount),
            ..
        })
    ));
}

#[test]
fn a_flipped_bit_in_the_version_or_flags_is_damage_not_a_newer_version() {
    // The prelude CRC is checked before the version and the flags are interpreted, so a
    // damaged prelude never reads as "upgrade quire".
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
                        at: Location::Prelude,
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

#[test]
fn a_node_from_another_archive_breaks_the_chain() {
    // Two archives of the same shape; one page of A replaced by B's page at the same place
    // (only the sections' and the prelude's CRCs recomputed, as a file system mixing blocks
    // of two files would not even do that): the page's CRC in its parent fails.
    let items = sample_items(60, 3);
    let mut other = items.clone();
    for it in &mut other {
        if let Some(t) = &mut it.title {
            t.push('!');
        }
    }
    let o = options(3, 512, DictionaryMode::Off, 1).page_size(256);
    let a_bytes = pack(&items, o.clone());
    let b_bytes = pack(&other, o);
    let (an, bn) = (Anatomy::of(&a_bytes), Anatomy::of(&b_bytes));
    assert!(an.pages.len() > 2);
    let p = an
        .pages
        .iter()
        .zip(&bn.pages)
        .position(|(x, y)| {
            x.range == y.range && a_bytes[x.range.clone()] != b_bytes[y.range.clone()]
        })
        .expect("a page at the same place with other bytes");
    let r = an.pages[p].range.clone();
    let mut mixed = a_bytes.clone();
    mixed[r.clone()].copy_from_slice(&b_bytes[r.clone()]);
    chain::reseal_sections(&mut mixed);
    let a = Archive::new(&mixed[..]).expect("open");
    let first = an.pages[p].first_entry as usize;
    let e = a
        .get(&an.key(first))
        .expect_err("the page is from another archive");
    assert_eq!(
        (e.location(), e.damage()),
        (
            Some(Location::Node(r.start as u64)),
            Some(DamageKind::ChecksumMismatch)
        )
    );
    // Entries of other pages read.
    let elsewhere = (0..an.len())
        .find(|&i| an.locate(i).0.range != r)
        .expect("another page");
    assert!(a.get(&an.key(elsewhere)).expect("other pages").is_some());
    assert!(!a.verify().is_ok());
}
