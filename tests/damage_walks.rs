//! Issue 19 through the library: damage costs only what it touches.
//!
//! - A damaged index page (one byte flipped inside it, so its parent's CRC of it fails)
//!   costs `prefix()` and `iter_sorted()` that page's entries and nothing else: one
//!   `ReadError::Skipped` naming exactly the page's entries (first, count) and the key range
//!   its separators give, at the place in key order where they would be, and the walk goes
//!   on. So does a damaged branch (its whole subtree), and two damaged pages are two items.
//!   `iter()` still gives one error per lost entry.
//! - An index that is not a tree (a branch listed twice) ends the walk after one error.
//! - A copy cut short: `Archive::salvage` gives back every entry whose page (and the nodes
//!   above it) and blocks (and the dictionary, when they use it) lie before the cut,
//!   byte-identical, and no other; written into a new archive, it passes `verify`. The set
//!   expected is computed from the original's [`Anatomy`], for the cut at 2/3 of the length
//!   and for cuts all over the file. A plain open refuses the copy with `length_mismatch`.
//! - A copy with bytes appended gives back every entry.
//!
//! The fixture (`common/damaged.rs`) has dozens of index pages and hundreds of blocks.

use crate::common;
use crate::damaged;

use std::collections::BTreeSet;

use common::crafted::{branch, Builder};
use common::{Anatomy, Parts};
use damaged::*;
use quire::format::nodes::separator;
use quire::{Archive, DamageKind, Document, ReadError};

/// The separator of the child record (at any level) whose node starts at entry `first`
/// and is not a first child: the bound the tree gives from below to the keys of every node
/// that starts there (`None` for the nodes that start at entry 0, or past the end).
fn separator_at(a: &Anatomy, first: u64) -> Option<String> {
    let seps: Vec<&Vec<u8>> = a
        .branches
        .iter()
        .flat_map(|b| &b.children)
        .filter(|c| c.first_entry == first && !c.sep.is_empty())
        .map(|c| &c.sep)
        .collect();
    assert!(seps.len() <= 1, "one separator per place");
    seps.first()
        .map(|s| String::from_utf8(s.to_vec()).expect("UTF-8 separator"))
}

/// Checks that `err` is the one item a walk gives for the lost node holding entries
/// `first .. first + count`: a `Skipped` naming exactly them and the separators around
/// them, which bound their keys, caused by a checksum mismatch.
fn check_skipped(err: &ReadError, a: &Anatomy, docs: &[Document], first: u64, count: u64) {
    let ReadError::Skipped {
        first: f,
        count: c,
        from,
        to,
        cause,
    } = err
    else {
        panic!("expected Skipped for entries {first}+{count}, got {err:?}");
    };
    assert_eq!((*f, *c), (first, count), "{err}");
    assert_eq!(from, &separator_at(a, first), "lower bound: {err}");
    assert_eq!(to, &separator_at(a, first + count), "upper bound: {err}");
    let (lo, hi) = (first as usize, (first + count) as usize);
    if let Some(from) = from {
        assert!(from.as_str() <= docs[lo].key.as_str(), "{err}");
        assert!(lo > 0 && from.as_str() > docs[lo - 1].key.as_str(), "{err}");
    } else {
        assert_eq!(lo, 0, "only the first node has no lower bound: {err}");
    }
    if let Some(to) = to {
        assert!(to.as_str() > docs[hi - 1].key.as_str(), "{err}");
        assert!(
            hi < docs.len() && to.as_str() <= docs[hi].key.as_str(),
            "{err}"
        );
    } else {
        assert_eq!(
            hi,
            docs.len(),
            "only the last node has no upper bound: {err}"
        );
    }
    assert_eq!(err.code(), "damaged_node", "{err}");
    assert_eq!(err.damage(), Some(DamageKind::ChecksumMismatch), "{err}");
    assert_eq!(
        cause.damage(),
        Some(DamageKind::ChecksumMismatch),
        "{cause}"
    );
    let msg = err.to_string();
    assert!(msg.contains(&format!("{count} entries lost")), "{msg}");
}

/// One walk's items: `Ok` as keys, `Err` as errors, with the position of each error among
/// the keys (how many keys came before it).
fn split(
    items: Vec<quire::ReadResult<quire::Entry<'_>>>,
) -> (Vec<String>, Vec<(usize, ReadError)>) {
    let (mut keys, mut errs) = (Vec::new(), Vec::new());
    for it in items {
        match it {
            Ok(e) => keys.push(e.key().to_string()),
            Err(e) => errs.push((keys.len(), e)),
        }
    }
    (keys, errs)
}

/// `docs`' keys that start with `prefix`, but for entries in `lost`.
fn keys_but(docs: &[Document], prefix: &str, lost: &[std::ops::Range<u64>]) -> Vec<String> {
    docs.iter()
        .enumerate()
        .filter(|(i, d)| {
            d.key.starts_with(prefix) && !lost.iter().any(|r| r.contains(&(*i as u64)))
        })
        .map(|(_, d)| d.key.clone())
        .collect()
}

/// Walks `prefix` over an archive whose nodes holding `lost` (one range per node, in order)
/// cannot be read, and checks: every other key under the prefix, in order; one `Skipped`
/// per lost node that holds a key under the prefix (and none for a node that cannot: its
/// separators say so), each where its entries would be.
fn check_prefix<S: quire::source::ByteSource>(
    arch: &Archive<S>,
    a: &Anatomy,
    docs: &[Document],
    prefix: &str,
    lost: &[std::ops::Range<u64>],
) {
    let (keys, errs) = split(arch.prefix(prefix).collect());
    assert_eq!(keys, keys_but(docs, prefix, lost), "prefix {prefix:?}");
    let mut errs = errs.into_iter().peekable();
    for r in lost {
        let holds = r.clone().any(|i| docs[i as usize].key.starts_with(prefix));
        let at = keys_but(docs, prefix, lost)
            .iter()
            .filter(|k| k.as_str() < docs[r.start as usize].key.as_str())
            .count();
        let named = errs.peek().is_some_and(
            |(_, e)| matches!(e, ReadError::Skipped { first, .. } if *first == r.start),
        );
        if holds {
            assert!(named, "prefix {prefix:?}: no Skipped for entries {r:?}");
        }
        if named {
            let (pos, e) = errs.next().unwrap();
            check_skipped(&e, a, docs, r.start, r.end - r.start);
            if let ReadError::Skipped { from, to, .. } = &e {
                assert!(
                    holds || may_hold(from.as_deref(), to.as_deref(), prefix),
                    "prefix {prefix:?}: Skipped for a range its bounds keep out: {e}"
                );
            }
            assert_eq!(pos, at, "prefix {prefix:?}: Skipped out of place: {e}");
        }
    }
    let rest: Vec<String> = errs.map(|(_, e)| e.to_string()).collect();
    assert!(rest.is_empty(), "prefix {prefix:?}: more errors: {rest:?}");
}

/// Whether a key `from ≤ k < to` can start with `prefix`.
fn may_hold(from: Option<&str>, to: Option<&str>, prefix: &str) -> bool {
    let k = match from {
        Some(f) if f > prefix => f,
        _ => prefix,
    };
    k.starts_with(prefix) && to.is_none_or(|t| k < t)
}

/// Prefixes to walk over an archive whose page or branch `r` is lost: everything, each
/// section, and prefixes that begin inside the lost range (a whole key in it, the key cut
/// short) and just after it.
fn prefixes(docs: &[Document], r: &std::ops::Range<u64>) -> Vec<String> {
    let mut v: Vec<String> = vec![String::new()];
    v.extend(SECTIONS.iter().map(|s| s.to_string()));
    let mid = &docs[((r.start + r.end) / 2) as usize].key;
    v.push(mid.clone());
    v.push(mid[..mid.len() - 1].to_string());
    v.push(docs[r.start as usize].key.clone());
    if let Some(d) = docs.get(r.end as usize) {
        v.push(d.key.clone());
    }
    v
}

#[test]
fn a_damaged_page_costs_prefix_only_its_entries() {
    for dict in [false, true] {
        let (docs, bytes) = fixture(dict);
        let a = Anatomy::of(&bytes);
        assert_eq!(a.header.index_depth, 1);
        let n = a.pages.len();
        for p in [0, 1, n / 2, n - 2, n - 1] {
            let bad = flip_in(&bytes, &a.pages[p].range);
            let arch = Archive::new(&bad[..]).expect("opens: a page is read when used");
            let lost = page_entries(&a, p);
            for prefix in prefixes(&docs, &lost) {
                check_prefix(&arch, &a, &docs, &prefix, std::slice::from_ref(&lost));
            }
            // iter_sorted is the same walk.
            let (keys, errs) = split(arch.prefix("").collect());
            assert_eq!(keys, keys_but(&docs, "", std::slice::from_ref(&lost)));
            assert_eq!(errs.len(), 1);
            check_skipped(&errs[0].1, &a, &docs, lost.start, lost.end - lost.start);
            // iter (entry order) gives one error per lost entry and goes on.
            let (keys, errs) = split(arch.iter().collect());
            assert_eq!(keys, keys_but(&docs, "", std::slice::from_ref(&lost)));
            assert_eq!(errs.len() as u64, lost.end - lost.start, "page {p}");
            // The others read back whole.
            for e in arch.prefix("").flatten() {
                assert_eq!(e.document().unwrap(), docs[e.index() as usize]);
            }
        }
    }
}

#[test]
fn two_damaged_pages_are_two_items_and_the_walk_goes_on() {
    let (docs, bytes) = fixture(false);
    let a = Anatomy::of(&bytes);
    let n = a.pages.len();
    for (p, q) in [(1, n - 2), (n / 2, n / 2 + 1), (0, n - 1)] {
        let bad = flip_in(&flip_in(&bytes, &a.pages[p].range), &a.pages[q].range);
        let arch = Archive::new(&bad[..]).unwrap();
        let lost = [page_entries(&a, p), page_entries(&a, q)];
        for prefix in ["", SECTIONS[0], SECTIONS[1], SECTIONS[2]] {
            check_prefix(&arch, &a, &docs, prefix, &lost);
        }
    }
}

/// The fixture's pages under two levels of branches, four pages a branch, laid out as the
/// writer lays a tree out.
fn deep(bytes: &[u8]) -> Vec<u8> {
    let parts = Parts::parse(bytes);
    let mut b = Builder::new(&parts);
    let pages = b.pages();
    let l1 = b.level(&pages, 4);
    let (root, n, ..) = branch(&l1, None);
    b.finish(&root, 2, n)
}

#[test]
fn a_damaged_branch_costs_its_subtree_once() {
    let (docs, bytes) = fixture(false);
    let deep = deep(&bytes);
    let a = Anatomy::of(&deep);
    assert_eq!(a.header.index_depth, 2);
    let arch = Archive::new(&deep[..]).unwrap();
    assert!(arch.verify().is_ok(), "{}", arch.verify());
    assert_eq!(all_docs(&arch), docs);
    // a.branches: the root, then the level-1 branches left to right.
    let l1 = &a.branches[1..];
    assert!(l1.len() >= 3);
    for j in [0, 1, l1.len() / 2, l1.len() - 1] {
        let b = &l1[j];
        let count: u64 = b.children.iter().map(|c| c.entries).sum();
        let lost = b.first_entry..b.first_entry + count;
        let bad = flip_in(&deep, &b.range);
        let arch = Archive::new(&bad[..]).unwrap();
        for prefix in prefixes(&docs, &lost) {
            check_prefix(&arch, &a, &docs, &prefix, std::slice::from_ref(&lost));
        }
    }
    // A page under a branch that is not the first: its bounds come from both levels.
    for p in [4, 5, 7, a.pages.len() - 1] {
        let lost = page_entries(&a, p);
        let bad = flip_in(&deep, &a.pages[p].range);
        let arch = Archive::new(&bad[..]).unwrap();
        for prefix in prefixes(&docs, &lost) {
            check_prefix(&arch, &a, &docs, &prefix, std::slice::from_ref(&lost));
        }
    }
}

#[test]
fn a_shared_branch_ends_the_walk_after_one_error() {
    let (docs, bytes) = fixture(false);
    let parts = Parts::parse(&bytes);
    let mut b = Builder::new(&parts);
    let pages = b.pages();
    let groups: Vec<&[common::crafted::Placed]> = pages.chunks(4).collect();
    // Level 1 as the writer lays it out, but the third branch lists the pages of the second:
    // those pages have two places in the tree, every checksum valid. The root keeps the
    // writer's separators, increasing.
    let seps: Vec<Vec<u8>> = (0..groups.len())
        .map(|j| match j {
            0 => Vec::new(),
            _ => separator(&groups[j - 1].last().unwrap().last, &groups[j][0].first),
        })
        .collect();
    let l1: Vec<_> = (0..groups.len())
        .map(|j| b.branch(groups[if j == 2 { 1 } else { j }], None))
        .collect();
    let (root, n, ..) = branch(&l1, Some(&seps));
    let bad = b.finish(&root, 2, n);
    let arch = Archive::new(&bad[..]).unwrap();
    let before: u64 = l1[0].entries + l1[1].entries;
    let items: Vec<_> = arch.prefix("").collect();
    let (keys, errs) = split(items);
    assert_eq!(keys, keys_but(&docs[..before as usize], "", &[]));
    assert_eq!(errs.len(), 1, "{errs:?}");
    let (pos, e) = &errs[0];
    assert_eq!(*pos, before as usize);
    assert!(
        !matches!(e, ReadError::Skipped { .. }),
        "a shared node is not skipped: {e}"
    );
    assert_eq!(e.code(), "damaged_node", "{e}");
    // Nothing after it.
    let mut it = arch.prefix("");
    for _ in 0..=before {
        let _ = it.next().unwrap();
    }
    assert!(it.next().is_none());
    assert!(it.next().is_none());
}

/// Salvages the first `cut` bytes of `bytes` (or `bytes` with `extra` appended) and checks
/// it against `want`: every document, byte-identical, and no other; the entries lost add up;
/// written into a new archive, they read back the same and it passes `verify`.
fn check_salvage(copy: &[u8], total: usize, want: &[Document]) -> Walked {
    let plain = Archive::new(copy).expect_err("a plain open refuses the copy");
    assert_eq!(plain.code(), "length_mismatch", "{plain}");
    let arch = Archive::salvage(copy).expect("salvage opens");
    assert_eq!(arch.len() as usize, total);
    let w = salvage_walk(&arch);
    assert_eq!(keys(&w.docs), keys(want), "the entries given back");
    assert_eq!(w.docs, want, "byte-identical");
    assert_eq!(
        w.lost as usize + w.docs.len(),
        total,
        "every entry is given back or lost"
    );
    // Each lost page is one item.
    let skipped: BTreeSet<u64> = w.skipped.iter().map(|s| s.0).collect();
    assert_eq!(skipped.len(), w.skipped.len());
    // Written into a new archive (level 1, no dictionary: what is checked is that the
    // entries given back pack and read back, not how small they pack).
    let out = pack_docs(
        &w.docs,
        quire::WriterOptions::new()
            .index(quire::IndexKind::None)
            .level(1)
            .dictionary(quire::DictionaryMode::Off)
            .created(0)
            .threads(1),
    );
    let new = Archive::new(&out[..]).expect("the salvaged archive opens");
    let report = new.verify();
    assert!(report.is_ok(), "{report}");
    assert_eq!(all_docs(&new), want);
    w
}

/// The first entries of the pages that a copy cut to `cut` bytes lost: one `Skipped` each.
fn pages_lost(a: &Anatomy, cut: usize) -> Vec<u64> {
    a.pages
        .iter()
        .filter(|p| p.range.end > cut)
        .map(|p| p.first_entry)
        .collect()
}

#[test]
fn a_copy_cut_at_two_thirds_gives_back_every_entry_before_the_cut() {
    for dict in [false, true] {
        let (docs, bytes) = fixture(dict);
        let a = Anatomy::of(&bytes);
        let cut = bytes.len() * 2 / 3;
        let want = expected_after_cut(&a, &docs, cut);
        eprintln!(
            "dictionary {dict}: {} bytes, {} pages, {} blocks; the cut at {cut} keeps {} of {} entries",
            bytes.len(),
            a.pages.len(),
            a.blocks.len(),
            want.len(),
            docs.len()
        );
        assert!(
            want.len() > docs.len() / 3 && want.len() < docs.len(),
            "the cut at 2/3 keeps {} of {}",
            want.len(),
            docs.len()
        );
        // Independently of the reader: the entries kept are those whose blocks end before
        // the cut (INDEX lies before DATA here).
        for (i, d) in docs.iter().enumerate() {
            let kept = want.iter().any(|w| w.key == d.key);
            let blocks_before = a.blocks_of(i).iter().all(|&b| a.block_range(b).end <= cut);
            assert_eq!(kept, blocks_before, "entry {i}");
        }
        let w = check_salvage(&bytes[..cut], docs.len(), &want);
        assert!(w.skipped.is_empty(), "no page is lost: {:?}", w.skipped);
        assert_eq!(
            w.errors.len(),
            docs.len() - want.len(),
            "one error per entry lost"
        );
    }
}

#[test]
fn copies_cut_anywhere_give_back_every_entry_before_the_cut() {
    for dict in [false, true] {
        let (docs, bytes) = fixture(dict);
        let a = Anatomy::of(&bytes);
        let mut cuts: BTreeSet<usize> = BTreeSet::new();
        // In the dictionary, in INDEX (pages lost, and with them entries of no block),
        // at the ends of pages and blocks, and every 1/20 of the file.
        for r in [&a.dict, &a.index] {
            if !r.is_empty() {
                cuts.extend([r.start + 1, (r.start + r.end) / 2, r.end - 1, r.end]);
            }
        }
        for p in [1, a.pages.len() / 2, a.pages.len() - 1] {
            let r = &a.pages[p].range;
            cuts.extend([r.start, r.start + 1, r.end - 1, r.end]);
        }
        for b in [0, 1, a.blocks.len() / 3, a.blocks.len() - 1] {
            let r = a.block_range(b as u32);
            cuts.extend([r.start, r.end - 1, r.end]);
        }
        cuts.extend((1..20).map(|k| bytes.len() * k / 20));
        cuts.retain(|&c| c >= a.prelude.end && c < bytes.len());
        let (mut in_index_kept, mut pages_seen) = (0, 0);
        for cut in cuts {
            let want = expected_after_cut(&a, &docs, cut);
            if a.index.contains(&cut) {
                in_index_kept += want.len();
            }
            let w = check_salvage(&bytes[..cut], docs.len(), &want);
            let firsts: Vec<u64> = w.skipped.iter().map(|s| s.0).collect();
            assert_eq!(
                firsts,
                pages_lost(&a, cut),
                "cut at {cut}: one item per lost page"
            );
            pages_seen += firsts.len();
        }
        assert!(pages_seen > 0);
        if !dict {
            assert!(
                in_index_kept > 0,
                "a cut in INDEX keeps the entries of no block"
            );
        }
        // Inside the prelude nothing can be read.
        for cut in [0, 10, a.prelude.end - 1] {
            assert!(Archive::salvage(&bytes[..cut]).is_err(), "cut at {cut}");
        }
    }
}

#[test]
fn a_copy_with_bytes_appended_gives_back_every_entry() {
    for dict in [false, true] {
        let (docs, bytes) = fixture(dict);
        let mut rng = common::Rng::new(7);
        for extra in [
            vec![0u8; 1],
            vec![0u8; 5],
            rng.bytes(4096),
            bytes[..1000].to_vec(),
        ] {
            let mut copy = bytes.clone();
            copy.extend_from_slice(&extra);
            check_salvage(&copy, docs.len(), &docs);
            let e = Archive::new(&copy[..]).unwrap_err();
            assert_eq!(
                e.damage()
                    .map(|d| matches!(d, DamageKind::TrailingBytes { .. })),
                Some(true)
            );
        }
        // The intact archive opens either way, alike.
        let arch = Archive::salvage(&bytes[..]).unwrap();
        assert_eq!(all_docs(&arch), docs);
        assert!(arch.verify().is_ok());
    }
}

#[test]
fn a_damaged_entry_is_one_error_and_the_walk_goes_on() {
    let (docs, bytes) = fixture(false);
    let mut parts = Parts::parse(&bytes);
    // Entry 100 names a content type past the end of the table; every checksum is valid.
    let bad_at = 100;
    parts.entry_mut(bad_at).content_type = 77;
    let bad = parts.to_bytes();
    let arch = Archive::new(&bad[..]).unwrap();
    let (keys, errs) = split(arch.prefix("").collect());
    let lost = bad_at as u64..bad_at as u64 + 1;
    let want: Vec<String> = keys_but(&docs, "", std::slice::from_ref(&lost));
    assert_eq!(keys, want);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].0, bad_at);
    assert_eq!(errs[0].1.code(), "damaged_entry", "{}", errs[0].1);
}
