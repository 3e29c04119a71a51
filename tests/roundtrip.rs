//! Library round trips: what goes in comes out, by key, by index, in order and by prefix.

use std::collections::BTreeMap;

use crate::common;

use quire::{
    Archive, ArchiveWriter, Date, DictionaryMode, DuplicatePolicy, NewEntry, WriteError,
    WriterOptions,
};

fn opts() -> WriterOptions {
    WriterOptions::new().level(3).threads(1).created(0)
}

fn pack(opts: WriterOptions, entries: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut w = ArchiveWriter::in_memory(opts).unwrap();
    for (k, b) in entries {
        w.add(&NewEntry::new(k, b)).unwrap();
    }
    w.finish_into_inner().unwrap().0.into_inner()
}

/// Every access path agrees with the model (given in any order): entries are numbered in
/// key order.
fn check(bytes: &[u8], model: &[(String, Vec<u8>)]) {
    let a = Archive::new(bytes).unwrap();
    assert_eq!(a.len(), model.len() as u64);
    let sorted: BTreeMap<&[u8], &[u8]> = model
        .iter()
        .map(|(k, b)| (k.as_bytes(), b.as_slice()))
        .collect();
    assert_eq!(sorted.len(), model.len(), "keys are unique");
    for (i, (k, b)) in sorted.iter().enumerate() {
        let k = std::str::from_utf8(k).unwrap();
        let e = a.get(k).unwrap().unwrap_or_else(|| panic!("{k:?} missing"));
        assert_eq!(e.index(), i as u64);
        assert_eq!(&e.body().unwrap(), b, "body of {k:?}");
        assert_eq!(a.get_by_index(i as u64).unwrap().key(), k);
        assert_eq!(a.index_of(k).unwrap(), Some(i as u64));
    }
    let want: Vec<Vec<u8>> = sorted.keys().map(|k| k.to_vec()).collect();
    let iterated: Vec<Vec<u8>> = a
        .iter()
        .map(|e| e.unwrap().key().as_bytes().to_vec())
        .collect();
    assert_eq!(iterated, want);
    let backwards: Vec<Vec<u8>> = a
        .iter()
        .rev()
        .map(|e| e.unwrap().key().as_bytes().to_vec())
        .collect();
    assert!(backwards.iter().rev().eq(want.iter()));
    let listed: Vec<Vec<u8>> = a
        .prefix("")
        .map(|e| e.unwrap().key().as_bytes().to_vec())
        .collect();
    assert_eq!(listed, want);
    assert!(a.get("no such key").unwrap().is_none());
    assert!(matches!(
        a.get_by_index(model.len() as u64),
        Err(quire::ReadError::EntryOutOfRange { .. })
    ));
    assert!(a.verify().is_ok(), "{}", a.verify());
}

#[test]
fn many_thousands_of_entries_with_and_without_dictionary() {
    let model: Vec<(String, Vec<u8>)> = (0..20_000)
        .map(|i| {
            (
                format!("section-{}/article-{i:05}.txt", i % 17),
                format!(
                    "Article {i}. The council met on day {} to discuss item {}.",
                    i % 31,
                    i * 7
                )
                .into_bytes(),
            )
        })
        .collect();
    for dictionary in [DictionaryMode::Off, DictionaryMode::On] {
        let bytes = pack(opts().dictionary(dictionary).block_size(16 << 10), &model);
        let a = Archive::new(&bytes[..]).unwrap();
        assert_eq!(a.dictionary_len() > 0, dictionary == DictionaryMode::On);
        check(&bytes, &model);
        let prefixed: Vec<_> = a
            .prefix("section-3/")
            .map(|e| e.unwrap().key().to_string())
            .collect();
        let want: Vec<_> = {
            let mut v: Vec<_> = model
                .iter()
                .filter(|(k, _)| k.starts_with("section-3/"))
                .map(|(k, _)| k.clone())
                .collect();
            v.sort();
            v
        };
        assert_eq!(prefixed, want);
        assert!(a.prefix("section-99").next().is_none());
    }
}

#[test]
fn empty_binary_unicode_and_single_entries() {
    let model = vec![
        ("empty".to_string(), Vec::new()),
        (
            "bin".to_string(),
            (0..=255u8).cycle().take(70_000).collect(),
        ),
        ("ключ/日本語/🦀".to_string(), "Grüße".as_bytes().to_vec()),
        ("also-empty".to_string(), Vec::new()),
    ];
    check(&pack(opts(), &model), &model);
    let one = vec![("only".to_string(), b"one".to_vec())];
    check(&pack(opts(), &one), &one);
    let none: Vec<(String, Vec<u8>)> = Vec::new();
    let bytes = pack(opts(), &none);
    let a = Archive::new(&bytes[..]).unwrap();
    assert!(a.is_empty());
    assert!(a.get("x").unwrap().is_none());
    assert!(a.iter().next().is_none());
    assert!(a.verify().is_ok());
}

#[test]
fn bodies_larger_than_a_block_span_blocks() {
    let big: Vec<u8> = (0..300_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let model = vec![
        ("small-before".to_string(), b"tiny".to_vec()),
        ("big".to_string(), big),
        ("small-after".to_string(), b"also tiny".to_vec()),
    ];
    let bytes = pack(opts().block_size(4096), &model);
    let a = Archive::new(&bytes[..]).unwrap();
    let an = common::Anatomy::of(&bytes);
    let big = a.index_of("big").unwrap().unwrap() as usize;
    assert!(an.body_blocks(big).len() > 1, "{:?}", an.body_blocks(big));
    // The small entries lie in blocks of their own, of at most the target size.
    for k in ["small-before", "small-after"] {
        let i = a.index_of(k).unwrap().unwrap() as usize;
        let b = an.blocks_of(i);
        assert_eq!(b.len(), 1);
        assert!(an.blocks[b[0] as usize].raw_len <= 4096);
        assert!(!an.body_blocks(big).contains(&b[0]));
    }
    check(&bytes, &model);
    let mut streamed = Vec::new();
    a.get("big")
        .unwrap()
        .unwrap()
        .write_body_to(&mut streamed)
        .unwrap();
    assert_eq!(streamed, model[1].1);
}

#[test]
fn entry_fields_round_trip() {
    let mut w = ArchiveWriter::in_memory(opts().metadata("title", "My corpus")).unwrap();
    w.add(
        &NewEntry::new("k", b"body")
            .title("A title")
            .date(Date::parse("1999-12-31").unwrap())
            .content_type("text/html; charset=utf-8")
            .meta("author", "A. N. Other")
            .meta("lang", "en"),
    )
    .unwrap();
    w.add(&NewEntry::new("plain", b"x")).unwrap();
    let bytes = w.finish_into_inner().unwrap().0.into_inner();
    let a = Archive::new(bytes).unwrap();
    let e = a.get("k").unwrap().unwrap();
    assert_eq!(e.title().unwrap(), Some("A title"));
    assert_eq!(e.date().unwrap().to_string(), "1999-12-31");
    assert_eq!(e.content_type(), "text/html; charset=utf-8");
    let meta = e.metadata().unwrap();
    assert_eq!(
        meta,
        [("author", "A. N. Other"), ("lang", "en")].map(|(n, v)| (n.to_string(), v.to_string()))
    );
    let p = a.get("plain").unwrap().unwrap();
    assert_eq!(p.title().unwrap(), None);
    assert_eq!(p.date(), None);
    assert_eq!(p.content_type(), quire::DEFAULT_CONTENT_TYPE);
    assert_eq!(a.metadata_value("title"), Some("My corpus"));
    assert_eq!(a.metadata_value("created"), Some("1970-01-01T00:00:00Z"));
    let mut buf = vec![9u8; 100];
    e.read_body_into(&mut buf).unwrap();
    assert_eq!(buf, b"body");
}

#[test]
fn output_is_identical_whatever_the_thread_count() {
    let model: Vec<(String, Vec<u8>)> = (0..3000)
        .map(|i| {
            (
                format!("a/{i}"),
                format!("text {i} ").repeat(i % 50 + 1).into_bytes(),
            )
        })
        .collect();
    let one = pack(opts().threads(1).block_size(8192), &model);
    for threads in [2, 3, 8] {
        let n = pack(opts().threads(threads).block_size(8192), &model);
        assert!(one == n, "{threads} threads wrote different bytes");
    }
    check(&one, &model);
}

#[test]
fn duplicate_keys_follow_the_policy() {
    let mut w = ArchiveWriter::in_memory(opts()).unwrap();
    w.add(&NewEntry::new("a", b"1")).unwrap();
    match w.add(&NewEntry::new("a", b"2")) {
        Err(WriteError::DuplicateKey { key, first }) => {
            assert_eq!((key.as_str(), first), ("a", 0));
        }
        other => panic!("expected a duplicate key error, got {other:?}"),
    }
    for (policy, want) in [
        (DuplicatePolicy::First, b"1"),
        (DuplicatePolicy::Last, b"3"),
    ] {
        let mut w = ArchiveWriter::in_memory(opts().duplicates(policy)).unwrap();
        w.add(&NewEntry::new("a", b"1").title("first")).unwrap();
        w.add(&NewEntry::new("b", b"2")).unwrap();
        w.add(&NewEntry::new("a", b"3")).unwrap();
        let (out, summary) = w.finish_into_inner().unwrap();
        assert_eq!(summary.duplicates, 1);
        let a = Archive::new(out.into_inner()).unwrap();
        assert_eq!(a.len(), 2);
        let e = a.get("a").unwrap().unwrap();
        assert_eq!(e.body().unwrap(), want);
        assert_eq!(e.index(), 0);
        assert!(a.verify().is_ok(), "{}", a.verify());
    }
}

#[test]
fn invalid_keys_and_options_are_refused() {
    let mut w = ArchiveWriter::in_memory(opts()).unwrap();
    assert!(matches!(
        w.add(&NewEntry::new("", b"x")),
        Err(WriteError::InvalidKey { .. })
    ));
    let long = "k".repeat(4097);
    assert!(matches!(
        w.add(&NewEntry::new(&long, b"x")),
        Err(WriteError::InvalidKey { .. })
    ));
    let max = "k".repeat(4096);
    w.add(&NewEntry::new(&max, b"x")).unwrap();
    for bad in [opts().level(0), opts().block_size(10)] {
        assert!(matches!(
            ArchiveWriter::in_memory(bad),
            Err(WriteError::InvalidOptions(_))
        ));
    }
}

#[test]
fn open_maps_a_file_and_writer_is_atomic() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.quire");
    let mut w = ArchiveWriter::create(&path, opts()).unwrap();
    w.add(&NewEntry::new("k", b"v")).unwrap();
    // Nothing under the target name until finish.
    assert!(!path.exists());
    w.finish().unwrap();
    // SAFETY: the test wrote the file and nothing modifies it while it is mapped.
    let a = unsafe { Archive::open(&path) }.unwrap();
    assert_eq!(a.get("k").unwrap().unwrap().body().unwrap(), b"v");
    // An existing target is refused without overwrite...
    assert!(matches!(
        ArchiveWriter::create(&path, opts()),
        Err(WriteError::TargetExists(_))
    ));
    // ...and a writer dropped without finish leaves nothing behind.
    let other = dir.path().join("b.quire");
    let mut w = ArchiveWriter::create(&other, opts()).unwrap();
    w.add(&NewEntry::new("k", b"v")).unwrap();
    drop(w);
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["a.quire"]);
}

#[test]
fn block_cache_gives_the_same_bodies() {
    let model: Vec<(String, Vec<u8>)> = (0..500)
        .map(|i| {
            (
                format!("k{i:03}"),
                format!("body {i} ").repeat(i % 20 + 1).into_bytes(),
            )
        })
        .collect();
    let bytes = pack(opts().block_size(1024), &model);
    let cached = Archive::new(&bytes[..]).unwrap().with_block_cache(4);
    for _ in 0..2 {
        for (e, (k, b)) in cached.iter().zip(&model) {
            let e = e.unwrap();
            assert_eq!(e.key(), k);
            assert_eq!(&e.body().unwrap(), b);
        }
    }
    for (k, b) in model.iter().rev() {
        assert_eq!(&cached.get(k).unwrap().unwrap().body().unwrap(), b);
    }
    assert!(cached.verify().is_ok());
}

#[test]
fn identical_bodies_are_stored_once() {
    let article = "A long enough article body that repeats across a scraped corpus. ".repeat(40);
    let model: Vec<(String, Vec<u8>)> = (0..200)
        .map(|i| {
            let body = if i % 2 == 0 {
                article.clone().into_bytes()
            } else {
                format!("unique {i} {}", "x".repeat(i)).into_bytes()
            };
            (format!("k{i}"), body)
        })
        .collect();
    let small = opts().block_size(4096).dictionary(DictionaryMode::Off);
    let shared = pack(small.clone(), &model);
    let separate = pack(small.dedup(false), &model);
    check(&shared, &model);
    check(&separate, &model);
    let a = Archive::new(&shared[..]).unwrap();
    assert_eq!(
        a.header().optional_flags & quire::format::OPTIONAL_SHARED_BODIES,
        1
    );
    assert_eq!(
        a.get("k0").unwrap().unwrap().location(),
        a.get("k198").unwrap().unwrap().location()
    );
    let b = Archive::new(&separate[..]).unwrap();
    assert_eq!(b.header().optional_flags, 0);
    assert!(b.header().stream_len > a.header().stream_len + 99 * article.len() as u64 - 1);
}

/// The dictionary path at a binary-tree level (where the writer sizes zstd's tables to the
/// dictionary, trains, checks in Auto mode whether the dictionary pays, and compresses it
/// beside the held blocks): the same bytes whatever the thread count, and a dictionary used.
#[test]
fn dictionary_archives_are_identical_whatever_the_thread_count() {
    const WORDS: &[&str] = &[
        "the",
        "minister",
        "said",
        "on",
        "Tuesday",
        "that",
        "government",
        "would",
        "review",
        "policy",
        "after",
        "protests",
        "in",
        "capital",
        "officials",
        "declined",
        "comment",
        "election",
        "market",
        "shares",
        "fell",
        "rose",
        "percent",
        "report",
        "court",
    ];
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    let model: Vec<(String, Vec<u8>)> = (0..400)
        .map(|i| {
            let mut body = format!("Accessibility links. Breaking News. Story {i} - 2017-02-07. ");
            for _ in 0..(60 + i % 90) {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                body.push_str(WORDS[(seed >> 33) as usize % WORDS.len()]);
                body.push(' ');
            }
            (format!("news/{i}"), body.into_bytes())
        })
        .collect();
    let pack_with = |threads| {
        pack(
            opts()
                .threads(threads)
                .level(19)
                .block_size(4096)
                .dictionary(DictionaryMode::Auto)
                .dict_size(8192),
            &model,
        )
    };
    let one = pack_with(1);
    assert!(Archive::new(&one[..]).unwrap().dictionary_len() > 0);
    for threads in [2, 4] {
        assert!(
            one == pack_with(threads),
            "{threads} threads wrote different bytes"
        );
    }
    check(&one, &model);
}

/// Titles and metadata go in the entry's lead, in the stream just before its body (§7),
/// for every entry, including those whose body is shared with another (§7.2) and those with
/// no body; every kind reads back, through a block cache or not.
#[test]
fn titles_and_metadata_read_back_from_leads() {
    let body_a = "shared body, long enough to be deduplicated. ".repeat(3);
    let big_meta = "m".repeat(1000);
    // (key, body, title, metadata)
    type Fields<'a> = Vec<(&'a str, &'a str)>;
    let entries: Vec<(&str, Vec<u8>, Option<&str>, Fields)> = vec![
        (
            "a",
            body_a.clone().into_bytes(),
            Some("Title A"),
            vec![("lang", "en")],
        ),
        (
            "b",
            body_a.into_bytes(),
            Some("Title B"),
            vec![("lang", "de")],
        ),
        ("c", Vec::new(), Some("Title C"), vec![]),
        (
            "d",
            b"ten bytes!".to_vec(),
            None,
            vec![("big", big_meta.as_str())],
        ),
        ("e", vec![b'e'; 600], Some("Title E spans blocks"), vec![]),
        ("f", b"no fields".to_vec(), None, vec![]),
    ];
    let opts = opts().block_size(256).dictionary(DictionaryMode::Off);
    let mut w = ArchiveWriter::in_memory(opts).unwrap();
    for (k, b, t, m) in &entries {
        let mut e = NewEntry::new(k, b);
        if let Some(t) = t {
            e = e.title(t);
        }
        for (n, v) in m {
            e = e.meta(n, v);
        }
        w.add(&e).unwrap();
    }
    let bytes = w.finish_into_inner().unwrap().0.into_inner();
    for cache in [0, 2] {
        let a = Archive::new(&bytes[..]).unwrap().with_block_cache(cache);
        assert!(a.verify().is_ok(), "{}", a.verify());
        for (k, b, t, m) in &entries {
            let e = a.get(k).unwrap().unwrap();
            let info = e.info().unwrap();
            assert_eq!(info.title.as_deref(), *t, "title of {k}");
            let want: Vec<(String, String)> = m
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect();
            assert_eq!(info.metadata, want, "metadata of {k}");
            assert_eq!(&e.body().unwrap(), b, "body of {k}");
            let doc = a.get(k).unwrap().unwrap().document().unwrap();
            assert_eq!((doc.title.as_deref(), &doc.body), (*t, b));
            assert_eq!(doc.metadata, want);
        }
    }
    // Every entry with fields has a lead of its own, the deduplicated b too.
    let a = Archive::new(&bytes[..]).unwrap();
    let lead = |k: &str| a.get(k).unwrap().unwrap().lead_len();
    assert!(lead("a") > 0 && lead("b") > 0 && lead("c") > 0 && lead("e") > 0);
    assert!(lead("d") > 1000);
    assert_eq!(lead("f"), 0);
    assert!(a.get("b").unwrap().unwrap().is_shared());
    assert!(!a.get("a").unwrap().unwrap().is_shared());
}

/// An archive whose blocks use a trained zstd dictionary (RAW_DICT clear; the quire writer
/// only writes raw ones, other writers may not): every entry reads back, from several
/// threads sharing the digested dictionary, and `verify` passes.
#[test]
fn a_trained_dictionary_reads_back_from_several_threads() {
    use common::{options, pack, sample_items, Parts};
    use quire::format::{self, Codec};
    let items = sample_items(300, 7);
    let mut parts = Parts::parse(&pack(&items, options(3, 1024, DictionaryMode::On, 1)));
    assert_ne!(parts.header.required_flags & format::REQUIRED_RAW_DICT, 0);
    let raw_dict = zstd::bulk::decompress(&parts.dict, format::MAX_DICT_LEN as usize).unwrap();
    let mut dec = zstd::bulk::Decompressor::with_dictionary(&raw_dict).unwrap();
    let raws: Vec<Vec<u8>> = (0..parts.blocks.len())
        .map(|b| match Codec::from_u8(parts.blocks[b].codec) {
            Some(Codec::ZstdDict) => dec
                .decompress(&parts.stored[b], parts.blocks[b].raw_len as usize)
                .unwrap(),
            _ => parts.raw_block(b),
        })
        .collect();
    let trained = zstd::dict::from_samples(&raws, 4096).unwrap();
    assert!(trained.starts_with(&format::ZSTD_DICT_MAGIC));
    let mut c = zstd::bulk::Compressor::with_dictionary(3, &trained).unwrap();
    c.include_checksum(false).unwrap();
    c.include_dictid(false).unwrap();
    c.include_contentsize(true).unwrap();
    let mut with_dict = 0;
    for (b, raw) in raws.iter().enumerate() {
        let packed = c.compress(raw).unwrap();
        if packed.len() < raw.len() {
            parts.blocks[b].codec = Codec::ZstdDict as u8;
            parts.stored[b] = packed;
            with_dict += 1;
        } else {
            parts.blocks[b].codec = Codec::Raw as u8;
            parts.stored[b] = raw.clone();
        }
    }
    assert!(with_dict > raws.len() / 2, "{with_dict} of {}", raws.len());
    parts.dict = zstd::bulk::compress(&trained, 3).unwrap();
    parts.header.required_flags &= !format::REQUIRED_RAW_DICT;
    parts.sync_blocks(true);
    let a = Archive::new(parts.to_bytes()).unwrap();
    assert_eq!(a.dictionary().unwrap(), Some(trained.as_slice()));
    std::thread::scope(|s| {
        for t in 0..4 {
            let (a, items) = (&a, &items);
            s.spawn(move || {
                for item in items.iter().skip(t).step_by(2) {
                    let e = a.get(&item.key).unwrap().expect("present");
                    assert_eq!(e.body().unwrap(), item.body, "{}", item.key);
                }
            });
        }
    });
    assert!(a.verify().is_ok());
}
