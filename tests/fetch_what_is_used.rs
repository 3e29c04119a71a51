//! Issue 20 through the library, without a server: over a source that says it is remote,
//! the reader fetches only what it uses, asks for what it needs together, and `verify`
//! fetches each byte once. (The same against real nginx and moto: `tests/remote.rs`, and
//! the figures on the project's corpora: `benches/remote.sh`.)
//!
//! A `Network` source is bytes in memory that say `is_remote() == true` and record every
//! range asked of them, as reads and as prefetches (what a remote source starts fetching at
//! once). A read inside a range prefetched before costs nothing more: it joins that fetch.

use crate::common;
use crate::damaged;

use std::borrow::Cow;
use std::io;
use std::ops::Range;
use std::sync::Mutex;

use quire::format::SectionId;
use quire::source::{AnySource, ByteSource, OpenOptions};
use quire::{Archive, ReadError};

/// What a `Network` source was asked, in order.
#[derive(Debug, Clone, PartialEq)]
enum Ask {
    Read(Range<u64>),
    Prefetch(Vec<Range<u64>>),
}

struct Network {
    bytes: Vec<u8>,
    asks: Mutex<Vec<Ask>>,
    /// What `revalidate` answers: `Some(message)` = "changed".
    changed: Option<&'static str>,
}

impl Network {
    fn new(bytes: Vec<u8>) -> Self {
        Network {
            bytes,
            asks: Mutex::new(Vec::new()),
            changed: None,
        }
    }

    fn asks(&self) -> Vec<Ask> {
        self.asks.lock().unwrap().clone()
    }

    fn clear(&self) {
        self.asks.lock().unwrap().clear();
    }

    /// Every range fetched after open: prefetches, and reads not inside a range fetched
    /// before (the first 16 KiB are held from open, as a remote source holds them).
    fn fetched(&self) -> Vec<Range<u64>> {
        let held: Range<u64> = 0..16384;
        let mut started: Vec<Range<u64>> = Vec::from([held]);
        for a in self.asks() {
            match a {
                Ask::Prefetch(rs) => started.extend(rs),
                Ask::Read(r) => {
                    if !started.iter().any(|s| s.start <= r.start && r.end <= s.end) {
                        started.push(r);
                    }
                }
            }
        }
        started.split_off(1)
    }
}

impl ByteSource for Network {
    fn size(&self) -> u64 {
        self.bytes.len() as u64
    }

    fn read_at(&self, offset: u64, len: usize) -> io::Result<Cow<'_, [u8]>> {
        self.asks
            .lock()
            .unwrap()
            .push(Ask::Read(offset..offset + len as u64));
        self.bytes.read_at(offset, len)
    }

    fn prefetch(&self, ranges: &[Range<u64>]) {
        self.asks
            .lock()
            .unwrap()
            .push(Ask::Prefetch(ranges.to_vec()));
    }

    fn revalidate(&self) -> io::Result<()> {
        match self.changed {
            Some(m) => Err(io::Error::other(m)),
            None => Ok(()),
        }
    }

    fn is_remote(&self) -> bool {
        true
    }
}

/// A larger fixture than issue 19's: a dictionary and an index that reach well past the
/// first 16 KiB, and an index two levels deep.
fn fixture() -> (Vec<quire::Document>, Vec<u8>) {
    let docs = damaged::docs(4000, 20);
    let bytes = damaged::pack_docs(&docs, damaged::options(true).dict_size(32 << 10));
    (docs, bytes)
}

fn open(bytes: Vec<u8>) -> Archive<Network> {
    Archive::new(Network::new(bytes)).expect("open")
}

fn section(a: &Archive<Network>, id: SectionId) -> Range<u64> {
    let s = a
        .sections()
        .iter()
        .find(|s| s.id == id as u32)
        .expect("section");
    s.offset..s.offset + s.length
}

fn overlaps(a: &Range<u64>, b: &Range<u64>) -> bool {
    a.start < b.end && b.start < a.end
}

#[test]
fn listing_keys_and_missing_keys_never_fetch_the_dictionary_and_the_first_block_brings_it() {
    let (docs, bytes) = fixture();
    let a = open(bytes);
    let dict = section(&a, SectionId::Dict);
    let data = section(&a, SectionId::Data);
    assert!(!dict.is_empty(), "the fixture has a dictionary");
    assert!(a.source().asks().len() <= 1, "open reads the prelude only");

    let keys: Vec<String> = a
        .prefix("")
        .map(|e| e.map(|e| e.key().to_owned()))
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(keys.len(), docs.len());
    assert!(a.get("zzz/not-there").unwrap().is_none());
    assert!(a.get("").unwrap().is_none());
    let fetched = a.source().fetched();
    let index = section(&a, SectionId::Index);
    let walked: u64 = fetched
        .iter()
        .map(|r| r.end.min(index.end) - r.start.max(index.start).min(r.end.min(index.end)))
        .sum();
    assert!(
        walked + 16384 >= index.end - index.start,
        "the walk read the index pages: {fetched:?}"
    );
    for r in &fetched {
        assert!(!overlaps(r, &dict), "{r:?} reads the dictionary {dict:?}");
        assert!(!overlaps(r, &data), "{r:?} reads a block");
    }

    // The first body: its block and the dictionary are asked for together, before either
    // is read.
    a.source().clear();
    let d = docs.iter().find(|d| d.body.len() > 100).unwrap();
    let body = a.get(&d.key).unwrap().unwrap().body().unwrap();
    assert_eq!(body, d.body);
    let asks = a.source().asks();
    let together = asks.iter().position(|x| match x {
        Ask::Prefetch(rs) => rs.contains(&dict) && rs.iter().any(|r| overlaps(r, &data)),
        _ => false,
    });
    let together = together.expect("one prefetch holds the dictionary and the block");
    let first_read = asks
        .iter()
        .position(|x| matches!(x, Ask::Read(r) if overlaps(r, &dict) || overlaps(r, &data)));
    assert!(together < first_read.expect("a read"), "{asks:?}");
}

#[test]
fn get_many_gives_what_get_gives_in_the_order_asked() {
    let (docs, bytes) = fixture();
    let mut keys: Vec<String> = docs.iter().step_by(7).map(|d| d.key.clone()).collect();
    keys.reverse();
    keys.insert(3, "nope/never".into());
    keys.push(keys[0].clone());
    keys.push(String::new());
    let local = Archive::new(bytes.clone()).unwrap();
    let remote = open(bytes);
    let got_local: Vec<Option<(String, Vec<u8>)>> = local
        .get_many(&keys)
        .into_iter()
        .map(|r| r.unwrap().map(|e| (e.key().to_owned(), e.body().unwrap())))
        .collect();
    let got_remote: Vec<Option<(String, Vec<u8>)>> = remote
        .get_many(&keys)
        .into_iter()
        .map(|r| r.unwrap().map(|e| (e.key().to_owned(), e.body().unwrap())))
        .collect();
    let one_by_one: Vec<Option<(String, Vec<u8>)>> = keys
        .iter()
        .map(|k| {
            local
                .get(k)
                .unwrap()
                .map(|e| (e.key().to_owned(), e.body().unwrap()))
        })
        .collect();
    assert_eq!(got_local, one_by_one);
    assert_eq!(got_remote, one_by_one);
    assert_eq!(got_remote[3], None);
    assert_eq!(got_remote.last().unwrap(), &None);
    for (k, g) in keys.iter().zip(&got_remote) {
        if let Some((key, body)) = g {
            assert_eq!(key, k);
            assert_eq!(body, &docs.iter().find(|d| &d.key == k).unwrap().body);
        }
    }
}

#[test]
fn get_many_asks_for_a_level_of_the_tree_at_a_time_then_for_every_block_at_once() {
    let (docs, bytes) = fixture();
    let a = open(bytes);
    let depth = a.header().index_depth as usize;
    assert!(
        depth >= 1,
        "the fixture has pages under its root: depth {depth}"
    );
    let data = section(&a, SectionId::Data);
    let dict = section(&a, SectionId::Dict);
    // 50 keys far apart: one window, on different pages and blocks.
    let keys: Vec<&str> = docs
        .iter()
        .step_by(docs.len() / 50)
        .map(|d| d.key.as_str())
        .collect();
    a.source().clear();
    let found = a.get_many(&keys);
    let asks = a.source().asks();
    let prefetches: Vec<&Vec<Range<u64>>> = asks
        .iter()
        .filter_map(|x| match x {
            Ask::Prefetch(rs) => Some(rs),
            _ => None,
        })
        .collect();
    // One prefetch per level below the root, and one for the blocks.
    assert!(
        prefetches.len() <= depth + 1,
        "{} prefetches",
        prefetches.len()
    );
    let blocks = prefetches.last().unwrap();
    assert!(blocks.iter().all(|r| overlaps(r, &data) || *r == dict));
    assert!(
        blocks.contains(&dict),
        "the dictionary comes with the first blocks"
    );
    // Every index read joins a range prefetched before it.
    let mut started: Vec<Range<u64>> = Vec::new();
    for x in &asks {
        match x {
            Ask::Prefetch(rs) => started.extend(rs.iter().cloned()),
            Ask::Read(r) => assert!(
                started.iter().any(|s| s.start <= r.start && r.end <= s.end),
                "{r:?} read without being asked for with its level"
            ),
        }
    }
    // Reading the bodies then fetches nothing new: every block was asked for at once.
    a.source().clear();
    for (k, r) in keys.iter().zip(found) {
        let e = r.unwrap().expect("present");
        assert_eq!(e.key(), *k);
        e.body().unwrap();
    }
    for r in a.source().fetched() {
        assert!(
            blocks.iter().any(|s| s.start <= r.start && r.end <= s.end),
            "{r:?} was not among the blocks fetched together"
        );
    }
}

/// Bytes fetched after open, and the problems `verify` reports.
fn remote_verify(bytes: Vec<u8>) -> (u64, Vec<Range<u64>>, quire::Report) {
    let a = open(bytes);
    a.source().clear();
    let report = a.verify();
    let fetched = a.source().fetched();
    (
        fetched.iter().map(|r| r.end - r.start).sum(),
        fetched,
        report,
    )
}

#[test]
fn verify_over_a_network_fetches_each_byte_once_and_reports_what_a_local_verify_does() {
    let (_, bytes) = fixture();
    let len = bytes.len() as u64;
    let local = Archive::new(bytes.clone()).unwrap().verify();
    assert!(local.is_ok(), "{local}");
    let (total, mut fetched, report) = remote_verify(bytes.clone());
    assert_eq!(report, local);
    assert!(total <= len, "{total} bytes fetched for a {len}-byte file");
    fetched.sort_by_key(|r| r.start);
    for w in fetched.windows(2) {
        assert!(w[0].end <= w[1].start, "{:?} and {:?} overlap", w[0], w[1]);
    }

    // Damage in a block, in a page and in the dictionary: the same report, in the same
    // order, still each byte once.
    let a = Archive::new(bytes.clone()).unwrap();
    let data = a.sections()[2];
    let index = a.sections()[1];
    for at in [
        data.offset + data.length / 2,
        index.offset + index.length / 3,
        a.sections()[0].offset + 5,
    ] {
        let mut bad = bytes.clone();
        bad[at as usize] ^= 0x5a;
        let local = Archive::new(bad.clone()).unwrap().verify();
        assert!(!local.is_ok(), "a flip at {at} is found");
        let (total, _, report) = remote_verify(bad);
        assert_eq!(report, local, "flip at {at}");
        assert!(total <= len, "{total} bytes fetched for a {len}-byte file");
    }
}

#[test]
fn a_checksum_that_fails_on_a_source_that_changed_is_its_error_not_damage() {
    let docs = damaged::docs(900, 19);
    let bytes = damaged::pack_docs(&docs, damaged::options(false));
    let d = docs.iter().find(|d| d.body.len() > 500).unwrap();
    let a = Archive::new(bytes.clone()).unwrap();
    // Flip a byte in the entry's block: as if the file had been swapped under the reader.
    let data = a.sections()[2];
    let mut swapped = bytes.clone();
    let rec_block = {
        // The stored range of the entry's block: the bytes between this block's and the
        // next one's offsets, found by flipping each candidate until the body fails.
        let mut hit = None;
        for at in (data.offset..data.offset + data.length).step_by(97) {
            let mut b = bytes.clone();
            b[at as usize] ^= 0xff;
            let a = Archive::new(b).unwrap();
            if a.get(&d.key).unwrap().unwrap().body().is_err() {
                hit = Some(at);
                break;
            }
        }
        hit.expect("a byte of the entry's block")
    };
    swapped[rec_block as usize] ^= 0xff;
    let mut src = Network::new(swapped.clone());
    src.changed = Some("changed on the server since it was opened");
    let a = Archive::new(src).unwrap();
    match a.get(&d.key).unwrap().unwrap().body() {
        Err(ReadError::Io { source, .. }) => {
            assert!(source.to_string().contains("changed on the server"));
        }
        other => panic!("expected the source's error, got {other:?}"),
    }
    // A source with nothing to compare: the same bytes are damage.
    let a = Archive::new(Network::new(swapped)).unwrap();
    let e = a.get(&d.key).unwrap().unwrap().body().unwrap_err();
    assert!(
        matches!(
            e,
            ReadError::Damaged {
                kind: quire::DamageKind::ChecksumMismatch,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn open_any_opens_paths_mapped_or_not_and_refuses_a_directory() {
    let (docs, bytes) = fixture();
    let dir = std::env::temp_dir().join(format!("quire-open-any-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("a.quire");
    std::fs::write(&path, &bytes).unwrap();
    let plain = Archive::open_any(&path, &OpenOptions::new()).unwrap();
    assert!(matches!(plain.source(), AnySource::File(_)));
    // SAFETY: the file is not modified while the archive is open.
    let mapped = Archive::open_any(&path, &unsafe { OpenOptions::new().memory_map(true) }).unwrap();
    assert!(matches!(mapped.source(), AnySource::Mapped(..)));
    let in_memory =
        Archive::open_source(AnySource::Memory(bytes.clone()), &OpenOptions::new()).unwrap();
    for a in [&plain, &mapped, &in_memory] {
        let d = &docs[docs.len() / 2];
        assert_eq!(a.get(&d.key).unwrap().unwrap().body().unwrap(), d.body);
        assert!(a.verify().is_ok());
    }
    match Archive::open_any(&dir, &OpenOptions::new()) {
        Err(ReadError::Io { source, .. }) => {
            assert!(source.to_string().contains("directory"), "{source}")
        }
        other => panic!("a directory opened: {other:?}"),
    }
    let e = Archive::open_any(dir.join("missing"), &OpenOptions::new()).unwrap_err();
    assert!(matches!(e, ReadError::Io { .. }), "{e}");
    // Salvage through the options: a copy with bytes appended.
    let mut padded = bytes.clone();
    padded.extend_from_slice(b"trailing");
    std::fs::write(&path, &padded).unwrap();
    assert_eq!(
        Archive::open_any(&path, &OpenOptions::new())
            .unwrap_err()
            .code(),
        "length_mismatch"
    );
    let a = Archive::open_any(&path, &OpenOptions::new().salvage(true)).unwrap();
    assert_eq!(a.len(), docs.len() as u64);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_body_over_many_blocks_asks_for_them_together() {
    let mut docs = damaged::docs(50, 21);
    let mut rng = common::Rng::new(5);
    docs[10].body = common::text(&mut rng, 60_000);
    let bytes = damaged::pack_docs(&docs, damaged::options(true));
    let a = open(bytes);
    let data = section(&a, SectionId::Data);
    a.source().clear();
    let e = a.get(&docs[10].key).unwrap().unwrap();
    assert_eq!(e.body().unwrap(), docs[10].body);
    let asks = a.source().asks();
    let first = asks
        .iter()
        .find_map(|x| match x {
            Ask::Prefetch(rs) if rs.iter().filter(|r| overlaps(r, &data)).count() >= 3 => {
                Some(rs.clone())
            }
            _ => None,
        })
        .unwrap_or_else(|| panic!("one prefetch of the body's blocks: {asks:?}"));
    // Every block read was in that one prefetch: a round trip for the body, not one a block.
    for x in &asks {
        if let Ask::Read(r) = x {
            if overlaps(r, &data) {
                assert!(first.contains(r), "{r:?} not asked for with the others");
            }
        }
    }
}

#[test]
fn a_walk_over_a_network_asks_for_pages_many_at_a_time_and_a_short_one_few() {
    let (docs, bytes) = fixture();
    let a = open(bytes);
    a.source().clear();
    assert_eq!(a.prefix("").count(), docs.len());
    let asks = a.source().asks();
    let reads = asks.iter().filter(|x| matches!(x, Ask::Read(_))).count();
    // Round trips: each prefetch, and each read that no prefetch before it covered.
    let held: Range<u64> = 0..16384;
    let mut started: Vec<Range<u64>> = Vec::from([held]);
    let mut trips = 0;
    for x in &asks {
        match x {
            Ask::Prefetch(rs) => {
                trips += 1;
                started.extend(rs.iter().cloned());
            }
            Ask::Read(r) => {
                if !started.iter().any(|s| s.start <= r.start && r.end <= s.end) {
                    trips += 1;
                    started.push(r.clone());
                }
            }
        }
    }
    assert!(reads > 64, "{reads} pages read");
    assert!(trips * 8 < reads, "{trips} round trips for {reads} pages");
    assert!(
        a.source()
            .fetched()
            .iter()
            .map(|r| r.end - r.start)
            .sum::<u64>()
            <= a.source().size()
    );

    // A prefix of a few entries reads a few pages, not 32.
    a.source().clear();
    let some = &docs[docs.len() / 2].key[..6];
    let n = a.prefix(some).count();
    assert!(n > 0);
    let fetched = a.source().fetched().len();
    assert!(
        fetched <= 2 * n.div_ceil(10) + 4,
        "{fetched} ranges for {n} entries"
    );
}
