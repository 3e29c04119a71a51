//! Many threads reading one archive: through an `Arc`, through scoped threads borrowing it,
//! and from a memory-mapped file. Every answer agrees with the model, including while the
//! shared decompression contexts and the lazily checked dictionary are first being set up,
//! and while another thread runs a full verification.

use crate::common;

use std::collections::BTreeMap;
use std::sync::{Arc, Barrier};

use common::{options, pack, Item, Rng};
use quire::format::Codec;
use quire::source::ByteSource;
use quire::{Archive, DictionaryMode, Entry, ReadError, Report};

const THREADS: usize = 8;
const ROUNDS: usize = 300;

fn fixture() -> (Vec<Item>, Vec<u8>) {
    let mut items = common::sample_items(300, 21);
    // A few bodies that span several blocks.
    let mut rng = Rng::new(99);
    for (i, it) in items.iter_mut().enumerate().filter(|(i, _)| i % 50 == 3) {
        it.body = common::text(&mut rng, 5000 + i);
    }
    let bytes = pack(&items, options(3, 1024, DictionaryMode::On, 2));
    // Entries are numbered in key order.
    (common::sorted(&items), bytes)
}

fn assert_send_sync<T: Send + Sync>() {}

#[test]
fn archives_and_entries_are_send_and_sync() {
    assert_send_sync::<Archive<Vec<u8>>>();
    assert_send_sync::<Archive<&'static [u8]>>();
    assert_send_sync::<Archive<Arc<[u8]>>>();
    assert_send_sync::<Archive<memmap2::Mmap>>();
    assert_send_sync::<Entry<'static>>();
    assert_send_sync::<ReadError>();
    assert_send_sync::<Report>();
}

/// Random lookups by key, by number, misses and prefix listings, each checked against the
/// model. `seed` makes every thread's sequence different.
fn random_reads<S: ByteSource>(
    a: &Archive<S>,
    items: &[Item],
    model: &BTreeMap<String, Vec<u8>>,
    seed: u64,
) {
    let mut rng = Rng::new(seed);
    let mut buf = Vec::new();
    for _ in 0..ROUNDS {
        let i = rng.below(items.len() as u64) as usize;
        let it = &items[i];
        match rng.below(8) {
            0..=3 => {
                let e = a.get(&it.key).expect("get").expect("present");
                assert_eq!(e.index(), i as u64);
                assert_eq!(e.title().expect("title"), it.title.as_deref());
                e.read_body_into(&mut buf).expect("body");
                assert_eq!(buf, it.body, "{:?}", it.key);
            }
            4 | 5 => {
                let e = a.get_by_index(i as u64).expect("by index");
                assert_eq!(e.key(), it.key);
                assert_eq!(e.body().expect("body"), it.body);
            }
            6 => {
                let missing = format!("{}\u{0}{}", it.key, rng.below(1000));
                assert!(a.get(&missing).expect("get").is_none());
                let shorter: String = it.key.chars().take(it.key.chars().count() - 1).collect();
                let got = a.get(&shorter).expect("get").map(|e| e.key().to_string());
                assert_eq!(got.as_ref(), model.get_key_value(&shorter).map(|(k, _)| k));
            }
            _ => {
                let mut cut = rng.below(it.key.len() as u64 + 1) as usize;
                while !it.key.is_char_boundary(cut) {
                    cut -= 1;
                }
                let prefix = &it.key[..cut];
                let got: Vec<String> = a
                    .prefix(prefix)
                    .map(|e| e.expect("prefix").key().to_string())
                    .collect();
                let want: Vec<&str> = model
                    .keys()
                    .filter(|k| k.starts_with(prefix))
                    .map(String::as_str)
                    .collect();
                assert_eq!(got, want, "prefix {prefix:?}");
            }
        }
    }
}

#[test]
fn eight_threads_share_one_archive_through_an_arc() {
    let (items, bytes) = fixture();
    let model = common::model(&items);
    let archive = Arc::new(Archive::new(bytes).expect("open"));
    assert!(archive.dictionary_len() > 0);
    let items = Arc::new(items);
    let model = Arc::new(model);
    // All threads start at once so that the first uses of the dictionary and of the shared
    // decompression contexts race.
    let start = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let (a, items, model, start) = (
                Arc::clone(&archive),
                Arc::clone(&items),
                Arc::clone(&model),
                Arc::clone(&start),
            );
            std::thread::spawn(move || {
                start.wait();
                random_reads(&a, &items, &model, t as u64 + 1);
            })
        })
        .collect();
    for h in handles {
        h.join().expect("reader thread");
    }
    assert!(archive.verify().is_ok());
}

#[test]
fn scoped_threads_borrow_one_archive() {
    let (items, bytes) = fixture();
    let model = common::model(&items);
    let archive = Archive::new(&bytes[..]).expect("open");
    let start = Barrier::new(THREADS + 1);
    let report = std::thread::scope(|s| {
        for t in 0..THREADS {
            let (a, items, model, start) = (&archive, &items, &model, &start);
            s.spawn(move || {
                start.wait();
                random_reads(a, items, model, 100 + t as u64);
            });
        }
        // A full verification running alongside the readers.
        let v = s.spawn(|| {
            start.wait();
            archive.verify()
        });
        v.join().expect("verify thread")
    });
    assert!(report.is_ok(), "{report}");
}

#[test]
fn eight_threads_share_a_block_cache() {
    let (items, bytes) = fixture();
    let model = common::model(&items);
    // A cache much smaller than the archive, so that threads evict each other's blocks.
    for capacity in [1, 3] {
        let archive = Archive::new(&bytes[..])
            .expect("open")
            .with_block_cache(capacity);
        let start = Barrier::new(THREADS);
        std::thread::scope(|s| {
            for t in 0..THREADS {
                let (a, items, model, start) = (&archive, &items, &model, &start);
                s.spawn(move || {
                    start.wait();
                    random_reads(a, items, model, 500 + t as u64);
                });
            }
        });
        assert!(archive.verify().is_ok());
    }
}

#[test]
#[cfg_attr(miri, ignore)]
fn eight_threads_share_a_memory_mapped_archive() {
    let (items, bytes) = fixture();
    let model = common::model(&items);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("shared.quire");
    std::fs::write(&path, &bytes).expect("write");
    // SAFETY: the test wrote the file and nothing modifies it while it is mapped.
    let archive: Archive<quire::source::AnySource> =
        unsafe { Archive::open(&path) }.expect("open mapped");
    assert_eq!(archive.len(), items.len() as u64);
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let (a, items, model) = (&archive, &items, &model);
            s.spawn(move || random_reads(a, items, model, 200 + t as u64));
        }
    });
    // An Arc of a mapped archive moves between threads as well.
    let shared = Arc::new(archive);
    let handles: Vec<_> = (0..2)
        .map(|t| {
            let a = Arc::clone(&shared);
            let (items, model) = (items.clone(), model.clone());
            std::thread::spawn(move || random_reads(&a, &items, &model, 300 + t))
        })
        .collect();
    for h in handles {
        h.join().expect("reader thread");
    }
}

#[test]
fn threads_agree_on_a_damaged_block() {
    let (items, mut bytes) = fixture();
    let an = common::Anatomy::of(&bytes);
    let victim = (1..an.blocks.len())
        .find(|b| an.blocks[*b].codec == Codec::ZstdDict as u8)
        .expect("a dictionary block");
    bytes[an.block_range(victim as u32).start + 3] ^= 0x40;
    // Reading a body touches the blocks the body lies in.
    let hit: Vec<bool> = (0..items.len())
        .map(|i| an.body_blocks(i).contains(&(victim as u32)))
        .collect();
    assert!(hit.iter().any(|h| *h));
    for cache in [0, 2] {
        let archive = Archive::new(&bytes[..])
            .expect("open")
            .with_block_cache(cache);
        agree_on_damage(&archive, &items, &hit, victim);
    }
}

fn agree_on_damage(archive: &Archive<&[u8]>, items: &[Item], hit: &[bool], victim: usize) {
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let (a, items, hit) = (archive, items, hit);
            s.spawn(move || {
                let mut rng = Rng::new(400 + t as u64);
                for _ in 0..ROUNDS {
                    let i = rng.below(items.len() as u64) as usize;
                    let e = a
                        .get(&items[i].key)
                        .expect("index intact")
                        .expect("present");
                    match e.body() {
                        Ok(b) => {
                            assert!(!hit[i], "{:?} read through a damaged block", items[i].key);
                            assert_eq!(b, items[i].body);
                        }
                        Err(ReadError::Damaged {
                            at: quire::Location::Block(block),
                            ..
                        }) => {
                            assert!(hit[i]);
                            assert_eq!(block as usize, victim);
                        }
                        Err(e) => panic!("unexpected error {e}"),
                    }
                }
            });
        }
    });
}
