//! The `suggest` fuzz target's body: a small archive with a title index (spec §14), mutated,
//! and query bytes, both from the input.
//!
//! Input: one byte `n`, then `n % 32` bytes of query (read as UTF-8, lossily), then the
//! archive. Each archive is read as it is and again with every checksum recomputed
//! (`fix_checksums`, which reseals the title header too), so that mutations reach the logic
//! behind the CRCs. For each: the query and its first 0–4 characters, with limits 1, 10 and
//! none, then full verification. Nothing may panic; errors must be typed
//! (`damaged_title_index`, `no_title_index`, or an I/O one); and when verification finds
//! nothing wrong, every query must succeed and give exactly what a brute-force reading of
//! §14.1–§14.2 gives.

use quire::format::titles::{self, fold, fold_title, word_starts};
use quire::{Archive, MatchKind};

/// Splits the input into query and archive bytes.
fn split(data: &[u8]) -> (String, &[u8]) {
    let Some((&n, rest)) = data.split_first() else {
        return (String::new(), data);
    };
    let n = usize::from(n % 32).min(rest.len());
    (String::from_utf8_lossy(&rest[..n]).into_owned(), &rest[n..])
}

/// The queries of one input: the first 0–4 characters of the query, and the query.
fn queries(q: &str) -> Vec<String> {
    let mut out: Vec<String> = (0..=4).map(|n| q.chars().take(n).collect()).collect();
    out.push(q.to_string());
    out.dedup();
    out
}

pub fn suggest(data: &[u8]) {
    let (q, archive) = split(data);
    let qs = queries(&q);
    suggest_one(archive, &qs);
    let mut fixed = archive.to_vec();
    crate::fix_checksums(&mut fixed);
    if fixed != archive {
        suggest_one(&fixed, &qs);
    }
}

fn suggest_one(bytes: &[u8], qs: &[String]) {
    let Ok(a) = Archive::new(bytes) else {
        return;
    };
    let mut answers = Vec::new();
    for q in qs {
        for limit in [Some(1), Some(10), None] {
            let got = a.suggest(q, limit);
            if let Err(e) = &got {
                assert!(
                    matches!(e.code(), "damaged_title_index" | "no_title_index"),
                    "suggest({q:?}, {limit:?}): untyped error {}: {e}",
                    e.code()
                );
            }
            if let Ok(s) = &got {
                assert!(s.len() <= limit.unwrap_or(usize::MAX));
            }
            answers.push((q, limit, got));
        }
    }
    let report = a.verify();
    if !report.is_ok() || !a.has_title_index() {
        return;
    }
    // A clean archive: every answer is §14.2's.
    let Ok(rows) = brute_rows(&a) else {
        panic!("verify passed but an entry fails");
    };
    for (q, limit, got) in answers {
        let got = got.unwrap_or_else(|e| panic!("verify passed but suggest({q:?}) fails: {e}"));
        let got: Vec<(String, Option<String>, MatchKind)> =
            got.into_iter().map(|s| (s.key, s.title, s.kind)).collect();
        assert_eq!(got, brute(&rows, q, limit), "suggest({q:?}, {limit:?})");
    }
}

/// Every entry's (folded title, key, title).
fn brute_rows(a: &Archive<&[u8]>) -> quire::ReadResult<Vec<(String, String, Option<String>)>> {
    let mut rows = Vec::new();
    for e in a.iter() {
        let e = e?;
        let title = e
            .title()?
            .map(|t| titles::cut(t, titles::MAX_TEXT).to_string());
        let f = fold_title(title.as_deref().unwrap_or(e.key()));
        rows.push((f, e.key().to_string(), title));
    }
    Ok(rows)
}

/// §14.1–§14.2 by brute force: ordered by kind, folded length, folded title and key.
fn brute(
    rows: &[(String, String, Option<String>)],
    q: &str,
    limit: Option<usize>,
) -> Vec<(String, Option<String>, MatchKind)> {
    let qf = fold(q);
    let mut hits = Vec::new();
    for (f, key, title) in rows {
        let kind = if f.as_bytes().starts_with(qf.as_bytes()) {
            MatchKind::TitleStart
        } else if word_starts(f)
            .iter()
            .any(|&i| f.as_bytes()[i..].starts_with(qf.as_bytes()))
        {
            MatchKind::WordStart
        } else {
            continue;
        };
        hits.push((kind, f.len(), f, key, title));
    }
    hits.sort();
    hits.into_iter()
        .take(limit.unwrap_or(usize::MAX))
        .map(|(kind, _, _, key, title)| (key.clone(), title.clone(), kind))
        .collect()
}

/// A few small archives with title indexes, as seeds: (name, input bytes).
pub fn seeds() -> Vec<(String, Vec<u8>)> {
    use quire::{ArchiveWriter, DictionaryMode, NewEntry, WriterOptions};
    type Entries<'e> = &'e [(&'e str, Option<&'e str>)];
    let sets: [(&str, &str, Entries<'_>); 4] = [
        (
            "scripts",
            "zu",
            &[
                ("city/zurich", Some("Zürich")),
                ("city/upper", Some("ZÜRICH Hauptbahnhof")),
                ("street/grosse", Some("Große Straße")),
                ("greek/athens", Some("Ἀθῆναι")),
                ("cjk/pku", Some("北京大学")),
                ("ny/times", Some("The New-York Times")),
                ("no-title", None),
                ("empty", Some("")),
            ],
        ),
        (
            "words",
            "b",
            &[
                ("a", Some("bridge storm bank")),
                ("b", Some("bank bridge")),
                ("c", Some("Berlin budget brief")),
                ("d", Some("storm over the bridge")),
                ("e", Some("b b b b b b b b")),
            ],
        ),
        (
            "long",
            "aaaaaaaab",
            &[
                ("x1", Some("aaaaaaaaaaaaaaaaaaaab one")),
                ("x2", Some("x aaaaaaaaaaaaaaaaaaaac two")),
                ("x3", Some("y aaaaaaaaaaaaaaaaaaaaaaaab")),
                ("x4", Some("aaaaaaaaaaaaaaaaaaaa")),
            ],
        ),
        ("one", "", &[("only", Some("Only One"))]),
    ];
    let mut out = Vec::new();
    for (name, q, entries) in sets {
        let opts = WriterOptions::new()
            .index(quire::IndexKind::Titles)
            .level(1)
            .block_size(256)
            .dictionary(DictionaryMode::Off)
            .threads(1)
            .created(0);
        let Ok(mut w) = ArchiveWriter::in_memory(opts) else {
            continue;
        };
        for (k, t) in entries {
            let mut e = NewEntry::new(k, b"");
            if let Some(t) = t {
                e = e.title(t);
            }
            if w.add(&e).is_err() {
                continue;
            }
        }
        let Ok((bytes, _)) = w.finish_into_inner() else {
            continue;
        };
        let mut input = vec![q.len() as u8];
        input.extend_from_slice(q.as_bytes());
        input.extend_from_slice(&bytes.into_inner());
        out.push((name.to_string(), input));
    }
    out
}
