//! Salvage on real corpora (issue 19): each JSONL corpus given is packed at defaults, then
//! cut at several points and padded with bytes, and `quire salvage` (the release binary)
//! recovers each copy. What it must give back is worked out independently, from the intact
//! archive's layout (tests/common's `Anatomy`): every entry whose index nodes, blocks and
//! (for codec 2) dictionary lie before the cut, byte for byte; the salvaged archive must pass
//! `verify`.
//!
//! Run: `cargo bench -p quire-bench --bench salvage -- QUIRE_BINARY CORPUS.jsonl...`
//! (benches/corpus/*.sh fetch the corpora). Prints one table row per copy.

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use common::Anatomy;
use quire::{Archive, ArchiveWriter, Date, NewEntry, WriterOptions};

/// One entry as a reader sees it.
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    title: Option<String>,
    date: Option<Date>,
    content_type: String,
    metadata: Vec<(String, String)>,
    body: Vec<u8>,
}

fn entries(a: &Archive<&[u8]>) -> BTreeMap<String, Seen> {
    let mut out = BTreeMap::new();
    for e in a.iter() {
        let e = e.expect("an intact archive reads");
        let d = e.document().expect("an intact entry reads");
        out.insert(
            d.key,
            Seen {
                title: d.title,
                date: d.date,
                content_type: d.content_type,
                metadata: d.metadata,
                body: d.body,
            },
        );
    }
    out
}

/// Packs a quire JSONL file (the fields benches/corpus writes) at default settings.
fn pack(jsonl: &Path) -> Vec<u8> {
    let text = std::fs::read_to_string(jsonl).expect("read the corpus");
    let mut w =
        ArchiveWriter::in_memory(WriterOptions::new().created(1_700_000_000)).expect("a writer");
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("JSON");
        let Some(key) = v["key"].as_str() else {
            continue;
        };
        let body = v["body"].as_str().unwrap_or_default();
        let mut e = NewEntry::new(key, body.as_bytes());
        if let Some(t) = v["title"].as_str() {
            e = e.title(t);
        }
        if let Some(d) = v["date"].as_str().and_then(Date::parse) {
            e = e.date(d);
        }
        w.add(&e).expect("add");
    }
    w.finish_into_inner().expect("finish").0.into_inner()
}

/// The keys salvage must give back from the first `cut` bytes of `bytes`.
fn expected(bytes: &[u8], a: &Anatomy, cut: usize) -> Vec<String> {
    let dict_ok = a.dict.end <= cut;
    (0..a.len())
        .filter(|&i| {
            let (p, _) = a.locate(i);
            let nodes_ok = p.range.end <= cut && p.path.iter().all(|r| r.end <= cut);
            let blocks = a.blocks_of(i);
            let blocks_ok = blocks.iter().all(|&b| {
                a.block_range(b).end <= cut && (a.blocks[b as usize].codec != 2 || dict_ok)
            });
            a.prelude.end <= cut && cut <= bytes.len() && nodes_ok && blocks_ok
        })
        .map(|i| a.key(i))
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let Some((quire, corpora)) = args.split_first() else {
        eprintln!("usage: salvage QUIRE_BINARY CORPUS.jsonl...");
        std::process::exit(2);
    };
    let dir = tempfile::tempdir().expect("a temporary directory");
    println!("| corpus | entries | copy | expected | salvaged | identical | verify |");
    println!("|---|---:|---|---:|---:|---|---|");
    let mut failures = 0;
    for corpus in corpora {
        let name = Path::new(corpus)
            .file_stem()
            .map_or("corpus".into(), |s| s.to_string_lossy().into_owned());
        let bytes = pack(Path::new(corpus));
        let whole = Archive::new(&bytes[..]).expect("the packed archive opens");
        let truth = entries(&whole);
        let anatomy = Anatomy::of(&bytes);
        let n = bytes.len();
        let mut copies: Vec<(String, Vec<u8>, Vec<String>)> = Vec::new();
        for (label, frac) in [
            ("cut 25 %", 0.25),
            ("cut 50 %", 0.5),
            ("cut 2/3", 2.0 / 3.0),
        ]
        .into_iter()
        .chain([("cut 90 %", 0.9), ("cut 99 %", 0.99)])
        {
            let cut = (n as f64 * frac) as usize;
            let keys = expected(&bytes, &anatomy, cut);
            copies.push((label.to_string(), bytes[..cut].to_vec(), keys));
        }
        for (label, extra) in [("+5 bytes", 5usize), ("+1 MiB", 1 << 20)] {
            let mut b = bytes.clone();
            b.extend(std::iter::repeat_n(0x5a, extra));
            copies.push((label.to_string(), b, truth.keys().cloned().collect()));
        }
        for (label, copy, want) in copies {
            let input = dir.path().join(format!("{name}.in.quire"));
            let output = dir.path().join(format!("{name}.out.quire"));
            std::fs::write(&input, &copy).expect("write the copy");
            let _ = std::fs::remove_file(&output);
            let run = Command::new(quire)
                .args(["salvage", "-q", "--force", "-o"])
                .arg(&output)
                .arg(&input)
                .output()
                .expect("run quire salvage");
            let saved = std::fs::read(&output).unwrap_or_default();
            let (got, identical, verified) = match Archive::new(&saved[..]) {
                Ok(s) => {
                    let got = entries(&s);
                    let same = got.keys().eq(want.iter())
                        && got.iter().all(|(k, v)| truth.get(k) == Some(v));
                    (got.len(), same, s.verify().is_ok())
                }
                Err(e) => {
                    eprintln!(
                        "{name} {label}: no archive ({e}); salvage said: {}",
                        String::from_utf8_lossy(&run.stderr)
                    );
                    (0, false, false)
                }
            };
            let ok = identical && verified && got == want.len();
            failures += usize::from(!ok);
            println!(
                "| {name} | {} | {label} | {} | {got} | {} | {} |",
                truth.len(),
                want.len(),
                if identical { "yes" } else { "NO" },
                if verified { "ok" } else { "FAILED" }
            );
        }
    }
    if failures > 0 {
        eprintln!("{failures} copies were not salvaged as they must be");
        std::process::exit(1);
    }
}
