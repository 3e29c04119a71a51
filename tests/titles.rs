//! The title index (spec §14): `Archive::suggest` against a brute-force scan of the folded
//! titles in the stated order, on generated titles in many scripts; limits; tops; entries
//! without titles; archives without the index; bounded work.

use proptest::prelude::*;
use quire::format::titles::{fold, fold_title, word_starts};
use quire::{Archive, ArchiveWriter, IndexKind, MatchKind, NewEntry, ReadError, WriterOptions};

/// Words of many scripts: Latin with diacritics, Greek, Cyrillic, CJK, kana, fullwidth,
/// expansions (ß, ﬁ), mixed case.
const WORDS: &[&str] = &[
    "Zürich",
    "ZÜRICH",
    "zurich",
    "café",
    "Café",
    "naïve",
    "Ångström",
    "São",
    "Paulo",
    "new",
    "New",
    "NEW",
    "york",
    "York",
    "Straße",
    "STRASSE",
    "ﬁnal",
    "Final",
    "ﬂow",
    "Ἀθῆναι",
    "ΣΊΣΥΦΟΣ",
    "λόγος",
    "Москва",
    "МОСКВА",
    "ёлка",
    "Ёлка",
    "北京",
    "北京大学",
    "东京",
    "東京",
    "ひらがな",
    "カタカナ",
    "ＡＢＣ",
    "ａｂｃ",
    "１２３",
    "123",
    "2002",
    "a",
    "A",
    "the",
    "The",
    "of",
    "Ωmega",
    "Ǆemal",
    "İstanbul",
    "ﬀ",
    "x",
    "xy",
    "xyz",
    "e\u{301}te",
];
const SEPS: &[&str] = &[
    " ", " ", " ", "-", ", ", " (", ") ", "—", "/", "", "・", "　",
];

/// The spec's answer, by brute force: every entry's folded title, its match kind (title
/// start, else a word start), ordered by kind, folded length, folded title, key.
/// Each entry's key, folded title and word starts.
type Folded = Vec<(String, String, Vec<usize>)>;

fn folded(entries: &[(String, Option<String>)]) -> Folded {
    entries
        .iter()
        .map(|(key, title)| {
            let f = fold_title(title.as_deref().unwrap_or(key));
            let w = word_starts(&f);
            (key.clone(), f, w)
        })
        .collect()
}

fn brute_folded(entries: &Folded, q: &str, limit: Option<usize>) -> Vec<(String, MatchKind)> {
    let fq = fold(q);
    let mut hits: Vec<(MatchKind, usize, String, String)> = Vec::new();
    for (key, f, words) in entries {
        let kind = if f.starts_with(&fq) {
            Some(MatchKind::TitleStart)
        } else if words.iter().any(|&w| f[w..].starts_with(&fq)) {
            Some(MatchKind::WordStart)
        } else {
            None
        };
        if let Some(kind) = kind {
            hits.push((kind, f.len(), f.clone(), key.clone()));
        }
    }
    hits.sort();
    hits.into_iter()
        .take(limit.unwrap_or(usize::MAX))
        .map(|(kind, _, _, key)| (key, kind))
        .collect()
}

fn pack(entries: &[(String, Option<String>)], opts: WriterOptions) -> Vec<u8> {
    let mut w = ArchiveWriter::in_memory(opts.threads(1)).unwrap();
    for (key, title) in entries {
        let mut e = NewEntry::new(key, b"body");
        if let Some(t) = title {
            e = e.title(t);
        }
        w.add(&e).unwrap();
    }
    w.finish_into_inner().unwrap().0.into_inner()
}

fn got(a: &Archive<Vec<u8>>, q: &str, limit: Option<usize>) -> Vec<(String, MatchKind)> {
    a.suggest(q, limit)
        .unwrap()
        .into_iter()
        .map(|s| (s.key, s.kind))
        .collect()
}

fn title_strategy() -> impl Strategy<Value = String> {
    prop::collection::vec((0..WORDS.len(), 0..SEPS.len()), 1..6).prop_map(|parts| {
        let mut t = String::new();
        for (i, (w, s)) in parts.iter().enumerate() {
            if i > 0 {
                t.push_str(SEPS[*s]);
            }
            t.push_str(WORDS[*w]);
        }
        t
    })
}

/// Entries with distinct keys; about one in eight has no title.
fn entries_strategy(max: usize) -> impl Strategy<Value = Vec<(String, Option<String>)>> {
    prop::collection::vec((title_strategy(), 0..8u8), 1..max).prop_map(|v| {
        v.into_iter()
            .enumerate()
            .map(|(i, (t, n))| (format!("k{i:04}"), (n != 0).then_some(t)))
            .collect()
    })
}

/// Queries: prefixes (in characters) of titles and words, unfolded or folded, and a few
/// that match nothing.
fn queries(entries: &[(String, Option<String>)]) -> Vec<String> {
    let mut out = vec![
        String::new(),
        "zzzz".into(),
        "Z".into(),
        "ZÜR".into(),
        "ｎｅｗ".into(),
    ];
    for (key, title) in entries.iter().take(12) {
        let t = title.as_deref().unwrap_or(key);
        for n in [1, 2, 3, 5, 9, 40] {
            out.push(t.chars().take(n).collect());
        }
        let f = fold_title(t);
        for w in word_starts(&f).into_iter().take(3) {
            out.push(f[w..].chars().take(4).collect());
            out.push(f[w..].chars().take(12).collect());
        }
    }
    for w in WORDS {
        out.push(w.chars().take(2).collect());
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn suggest_equals_a_brute_force_scan(entries in entries_strategy(120)) {
        let a = Archive::new(pack(&entries, WriterOptions::new())).unwrap();
        prop_assert!(a.has_title_index());
        let f = folded(&entries);
        for q in queries(&entries) {
            prop_assert_eq!(got(&a, &q, None), brute_folded(&f, &q, None), "query {:?}", q);
            for limit in [1, 3, 10, 11] {
                prop_assert_eq!(
                    got(&a, &q, Some(limit)),
                    brute_folded(&f, &q, Some(limit)),
                    "query {:?} limit {}", q, limit
                );
            }
        }
    }
}

/// Many entries: several list pages, tops lists for the busiest prefixes, and rows fetched
/// from other pages than their word starts'.
#[test]
fn large_archives_agree_with_the_brute_force_scan_and_use_tops() {
    let mut entries = Vec::new();
    let mut x: u64 = 7;
    for i in 0..6000 {
        let mut t = String::new();
        for j in 0..(2 + i % 6) {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            if j > 0 {
                t.push_str(SEPS[(x >> 40) as usize % SEPS.len()]);
            }
            t.push_str(WORDS[(x >> 33) as usize % WORDS.len()]);
            if x >> 60 == 3 {
                t.push_str(&format!("{}", x >> 50));
            }
        }
        entries.push((format!("e/{i:05}"), (i % 11 != 0).then_some(t)));
    }
    let a = Archive::new(pack(&entries, WriterOptions::new())).unwrap();
    let f = folded(&entries);
    let brute = |_: &Vec<(String, Option<String>)>, q: &str, limit| brute_folded(&f, q, limit);
    // (the brute-force answer of the spec, as in the property test)
    for q in [
        "", "z", "Z", "n", "ne", "new", "new y", "ΣΙ", "北", "北京", "e", "e/0", "1", "the n",
        "zzz",
    ] {
        assert_eq!(got(&a, q, Some(10)), brute(&entries, q, Some(10)), "{q:?}");
        assert_eq!(got(&a, q, None), brute(&entries, q, None), "{q:?}");
    }
    for q in queries(&entries) {
        assert_eq!(
            got(&a, &q, Some(10)),
            brute(&entries, &q, Some(10)),
            "{q:?}"
        );
    }
    // A one-letter prefix with a tops list reads one tops page, not its thousands of records.
    a.reset_counters();
    a.suggest("n", Some(10)).unwrap();
    assert!(a.counters().node_visits <= 1, "{:?}", a.counters());
    // Every entry in title order (folded title, then key), read in pages of 997 across the
    // list pages; none past the end.
    let mut by_title: Vec<&(String, Option<String>)> = entries.iter().collect();
    by_title.sort_by_cached_key(|(k, t)| (fold_title(t.as_deref().unwrap_or(k)), k.clone()));
    let mut paged = Vec::new();
    for first in (0..entries.len() as u64 + 997).step_by(997) {
        paged.extend(a.by_title(first, 997).unwrap());
    }
    assert_eq!(paged.len(), entries.len());
    assert!(paged.iter().zip(by_title).all(|(a, b)| a == b));
}

#[test]
fn entries_without_titles_are_suggested_by_their_key() {
    let entries = vec![
        ("Zebra".to_string(), None),
        ("b".to_string(), Some("Zürich".to_string())),
    ];
    let a = Archive::new(pack(&entries, WriterOptions::new())).unwrap();
    let s = a.suggest("z", None).unwrap();
    assert_eq!(s.len(), 2);
    assert_eq!((s[0].key.as_str(), s[0].title.as_deref()), ("Zebra", None));
    assert_eq!(s[0].text(), "Zebra");
    assert_eq!((s[1].key.as_str(), s[1].text()), ("b", "Zürich"));
}

#[test]
fn archives_packed_without_the_index_say_so() {
    let entries = vec![("a".to_string(), Some("Alpha".to_string()))];
    let bytes = pack(&entries, WriterOptions::new().index(IndexKind::None));
    let a = Archive::new(bytes).unwrap();
    assert!(!a.has_title_index());
    let e = a.suggest("a", None).unwrap_err();
    assert!(matches!(e, ReadError::NoTitleIndex));
    assert_eq!(e.code(), "no_title_index");
}

#[test]
fn an_empty_archive_suggests_nothing() {
    let a = Archive::new(pack(&[], WriterOptions::new())).unwrap();
    assert!(a.has_title_index());
    assert!(a.suggest("", None).unwrap().is_empty());
}

/// A title index whose list pages are over 1 MiB (more than a remote reader fetches with the
/// root), on random words: a prefix of a few letters that only starts words inside titles
/// has a tops list (one page read), queries longer than `trunc` that share a common first
/// word check at most 16 rows they do not show, and every answer is the brute force's.
#[test]
fn large_indexes_give_tops_to_word_only_prefixes_and_bound_long_queries() {
    let mut x: u64 = 11;
    let mut next = move || {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        x >> 33
    };
    // 24,000 titles of six words from 2,000 random ones of 4-9 letters (little to
    // compress); titles open only with words of the first half, a fifth of them with
    // "Storm": many word starts share the key "storm", which the writer must lengthen. 8
    // titles carry "Zqxwv" inside, never at their start.
    let vocab: Vec<String> = (0..2000)
        .map(|_| {
            let n = 4 + next() as usize % 6;
            (0..n)
                .map(|_| char::from(b'a' + (next() % 26) as u8))
                .collect()
        })
        .collect();
    let mut entries = Vec::new();
    for i in 0..24_000u32 {
        let mut words: Vec<String> = (0..6)
            .map(|j| {
                let k = next() as usize % if j == 0 { 1000 } else { 2000 };
                vocab[k].clone()
            })
            .collect();
        if i % 5 == 0 {
            words[0] = "Storm".into();
        }
        if i % 3 == 0 {
            words[2] = "storm".into();
        }
        if i % 3333 == 1 {
            words[3] = "Zqxwv".into();
        }
        entries.push((format!("w/{i:05}"), Some(words.join(" "))));
    }
    let bytes = pack(&entries, WriterOptions::new());
    let a = Archive::new(bytes).unwrap();
    assert!(a.verify().is_ok(), "{:?}", a.verify());
    let f = folded(&entries);
    // The word-only prefix: one tops page.
    for q in ["zq", "zqx", "zqxw"] {
        a.reset_counters();
        assert_eq!(got(&a, q, Some(10)), brute_folded(&f, q, Some(10)), "{q:?}");
        assert_eq!(a.counters().title_pages, 1, "{q:?}: {:?}", a.counters());
    }
    // Whole titles that open with "storm" (4,800 titles, 8,000 more word starts): each
    // reads its range (a few pages) and checks at most 16 rows besides those it shows, two
    // page visits a row (with keys of 6 bytes it checked thousands).
    for e in entries.iter().step_by(5).take(40) {
        let q = e.1.as_deref().unwrap();
        let title = q.rsplit_once(' ').map_or(q, |(head, _)| head);
        a.reset_counters();
        let answer = got(&a, title, Some(10));
        assert_eq!(answer, brute_folded(&f, title, Some(10)), "{title:?}");
        let read = a.counters().title_pages;
        assert!(read <= 100, "{title:?}: {read} page visits");
    }
}
