//! Issue 19 through the `quire` binary, on the library tests' fixture (`tests/common/damaged.rs`:
//! 900 entries, dozens of index pages, hundreds of blocks):
//!
//! - `ls --prefix P` (and `ls`) over a copy with one damaged index page lists every other key
//!   under P, prints one line for the page (its entries and key range) and a summary, and
//!   exits 1; a prefix the page cannot hold lists everything, exit 0.
//! - `unpack -q` prints exactly one line for a damaged page (and for a damaged page and a
//!   damaged block); without `-q`, one line for the page's entries (whose keys are lost with
//!   it), not one per entry, and one line naming each entry lost to a damaged block.
//! - `quire salvage` on a copy cut at 2/3 writes every entry whose page and blocks lie before
//!   the cut, byte-identical (key, title, date, content type, metadata, body), and no other;
//!   the new archive passes `quire verify`; it exits 1 and lists what was lost. On a copy
//!   with bytes appended it gives back every entry, exit 0. Every plain command refuses
//!   either copy in one line that names `quire salvage`.

use crate::common;
use crate::damaged;

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use common::Anatomy;
use damaged::*;
use quire::{Archive, Document};

fn quire(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_quire"))
        .args(args)
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .output()
        .unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn show(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        stdout(o).chars().take(2000).collect::<String>(),
        stderr(o)
    )
}

/// Every file under `dir`, as keys (relative paths with `/`), sorted.
fn files_under(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, d: &Path, out: &mut Vec<String>) {
        for e in fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p.strip_prefix(root).unwrap();
                out.push(rel.to_str().unwrap().replace('\\', "/"));
            }
        }
    }
    let mut v = Vec::new();
    walk(dir, dir, &mut v);
    v.sort();
    v
}

/// A page all of whose keys are under `beta/`, and its number.
fn beta_page(a: &Anatomy) -> usize {
    let p = a.locate(a.len() / 2).0;
    let n = a.pages.iter().position(|q| q.range == p.range).unwrap();
    for (e, _) in &a.pages[n].entries {
        assert!(e.key.starts_with("beta/"), "{}", e.key);
    }
    n
}

/// The stderr lines that report the lost page `first ..= last`.
fn page_lines(err: &str, first: u64, count: u64) -> Vec<&str> {
    let last = first + count - 1;
    err.lines()
        .filter(|l| l.contains(&format!("{first}..={last}")))
        .collect()
}

#[test]
fn ls_prefix_loses_only_the_damaged_page() {
    let (docs, bytes) = fixture(false);
    let a = Anatomy::of(&bytes);
    let t = common::scratch();
    for p in [0, beta_page(&a), a.pages.len() - 1] {
        let lost = page_entries(&a, p);
        let count = lost.end - lost.start;
        let bad = t.path().join(format!("page{p}.quire"));
        fs::write(&bad, flip_in(&bytes, &a.pages[p].range)).unwrap();
        for prefix in ["", "alpha/", "beta/", "gamma/"] {
            let mut args = vec!["ls", s(&bad)];
            if !prefix.is_empty() {
                args.extend(["--prefix", prefix]);
            }
            let o = quire(&args);
            let want: Vec<String> = docs
                .iter()
                .enumerate()
                .filter(|(i, d)| d.key.starts_with(prefix) && !lost.contains(&(*i as u64)))
                .map(|(_, d)| d.key.clone())
                .collect();
            let got: Vec<String> = stdout(&o).lines().map(str::to_string).collect();
            assert_eq!(got, want, "ls {prefix:?} over page {p}: {}", stderr(&o));
            let holds = lost
                .clone()
                .any(|i| docs[i as usize].key.starts_with(prefix));
            let err = stderr(&o);
            if holds {
                assert_eq!(o.status.code(), Some(1), "{}", show(&o));
                let lines = page_lines(&err, lost.start, count);
                assert_eq!(lines.len(), 1, "one line for the page: {err}");
                assert!(lines[0].contains(&format!("{count} entries lost")), "{err}");
                assert!(lines[0].contains(s(&bad)), "the line names the file: {err}");
                if p > 0 {
                    assert!(lines[0].contains("keys from"), "the key range: {err}");
                }
                // The page's line, and the summary: nothing per entry.
                assert_eq!(err.lines().count(), 2, "{err}");
                assert!(
                    err.contains(&format!("{count} entries could not be read")),
                    "{err}"
                );
            } else if p == beta_page(&a) {
                // A page under beta/ cannot hold keys of alpha/ or gamma/: its separators say
                // so, and nothing is reported.
                assert_eq!(o.status.code(), Some(0), "{}", show(&o));
                assert_eq!(err, "");
            }
        }
        // ls -l shows one placeholder line for the page.
        let o = quire(&["ls", "-l", s(&bad)]);
        assert_eq!(o.status.code(), Some(1));
        let out = stdout(&o);
        assert_eq!(
            out.lines().filter(|l| l.contains("[unreadable")).count(),
            1,
            "{out}"
        );
        assert_eq!(out.lines().count(), docs.len() - count as usize + 1);
    }
}

/// The lines of an unpack's stderr that report a run of lost entries (not the summary).
fn run_lines(err: &str) -> Vec<&str> {
    err.lines()
        .filter(|l| !l.contains("could not be read") && !l.starts_with("unpacked"))
        .collect()
}

#[test]
fn unpack_reports_a_damaged_page_in_one_line() {
    let (docs, bytes) = fixture(false);
    let a = Anatomy::of(&bytes);
    let t = common::scratch();
    let p = beta_page(&a);
    let lost = page_entries(&a, p);
    let count = lost.end - lost.start;
    // A block under alpha/ that holds the leads and bodies of several neighbouring entries
    // (unpack -o reads bodies only, --jsonl leads too: the same entries are lost either way).
    let holders = |b: u32, f: &dyn Fn(usize) -> Vec<u32>| -> Vec<usize> {
        (0..docs.len()).filter(|&i| f(i).contains(&b)).collect()
    };
    let block = (0..a.blocks.len() as u32)
        .find(|&b| {
            let all = holders(b, &|i| a.blocks_of(i));
            all.len() >= 2
                && all == holders(b, &|i| a.body_blocks(i))
                && all.iter().all(|&i| i < 250)
                && all.windows(2).all(|w| w[1] == w[0] + 1)
        })
        .expect("a block of several alpha/ entries");
    let in_block = holders(block, &|i| a.blocks_of(i));

    let page_only = t.path().join("page.quire");
    fs::write(&page_only, flip_in(&bytes, &a.pages[p].range)).unwrap();
    let both = t.path().join("both.quire");
    fs::write(
        &both,
        flip_in(&flip_in(&bytes, &a.pages[p].range), &a.block_range(block)),
    )
    .unwrap();

    let in_block_keys: Vec<&str> = in_block.iter().map(|&i| docs[i].key.as_str()).collect();
    for (arc, lost_n, named) in [
        (&page_only, count as usize, &[][..]),
        (&both, count as usize + in_block.len(), &in_block_keys[..]),
    ] {
        let name = arc.file_stem().unwrap().to_str().unwrap();
        // -q: one line, whatever was lost.
        let dir = t.path().join(format!("{name}-q"));
        let o = quire(&["unpack", s(arc), "-o", s(&dir), "-q"]);
        assert_eq!(o.status.code(), Some(1), "{}", show(&o));
        let err = stderr(&o);
        assert_eq!(err.lines().count(), 1, "unpack -q: one line: {err}");
        assert!(
            err.contains(&format!("{lost_n} of {} entries", docs.len())),
            "{err}"
        );
        let files = files_under(&dir);
        assert_eq!(files.len(), docs.len() - lost_n);
        for f in &files {
            let i = docs.iter().position(|d| &d.key == f).expect("a key");
            assert_eq!(fs::read(dir.join(f)).unwrap(), docs[i].body, "{f}");
        }
        // The same with --jsonl.
        let jsonl = t.path().join(format!("{name}.jsonl"));
        let o = quire(&["unpack", s(arc), "--jsonl", s(&jsonl), "-q"]);
        assert_eq!(o.status.code(), Some(1), "{}", show(&o));
        assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));

        // Without -q: one line for the page, one naming each entry of the block, and the
        // summary lines.
        let dir = t.path().join(format!("{name}-v"));
        let o = quire(&["unpack", s(arc), "-o", s(&dir)]);
        assert_eq!(o.status.code(), Some(1), "{}", show(&o));
        let err = stderr(&o);
        let lines = run_lines(&err);
        assert_eq!(page_lines(&err, lost.start, count).len(), 1, "{err}");
        assert_eq!(lines.len(), 1 + named.len(), "{err}");
        for k in named {
            let n = lines
                .iter()
                .filter(|l| l.contains(&format!("{k:?}")))
                .count();
            assert_eq!(n, 1, "{k} named once: {err}");
        }
        assert!(err.lines().count() <= lines.len() + 2, "{err}");
        assert_eq!(files_under(&dir).len(), docs.len() - lost_n);
    }
}

/// The documents of an archive file, read by the library; with its metadata.
fn read_archive(path: &Path) -> (Vec<Document>, Vec<(String, String)>) {
    let a = Archive::new(fs::read(path).unwrap()).unwrap();
    (all_docs(&a), a.metadata().to_vec())
}

/// Every plain command refuses `copy` in one line that names `quire salvage`.
fn refused_everywhere(copy: &Path, key: &str, t: &Path) {
    let out = t.join("unpacked");
    let jsonl = t.join("out.jsonl");
    for args in [
        vec!["ls", s(copy)],
        vec!["ls", s(copy), "--prefix", "beta/"],
        vec!["ls", "-l", s(copy)],
        vec!["get", s(copy), key],
        vec!["info", s(copy)],
        vec!["verify", s(copy)],
        vec!["unpack", s(copy), "-o", s(&out)],
        vec!["unpack", s(copy), "--jsonl", s(&jsonl)],
    ] {
        let o = quire(&args);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", show(&o));
        let err = stderr(&o);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains("quire salvage"), "{args:?}: {err}");
        assert!(err.contains(s(copy)), "{args:?}: {err}");
        assert!(!out.exists(), "{args:?} wrote nothing");
    }
}

#[test]
fn salvage_of_a_copy_cut_at_two_thirds() {
    for dict in [false, true] {
        let (docs, bytes) = fixture(dict);
        let a = Anatomy::of(&bytes);
        let t = common::scratch();
        let cut = bytes.len() * 2 / 3;
        let want = expected_after_cut(&a, &docs, cut);
        assert!(!want.is_empty() && want.len() < docs.len());
        let copy = t.path().join("cut.quire");
        fs::write(&copy, &bytes[..cut]).unwrap();
        refused_everywhere(&copy, &docs[0].key, t.path());
        let err = stderr(&quire(&["ls", s(&copy)]));
        assert!(err.contains("truncated"), "{err}");

        let out = t.path().join("out.quire");
        let o = quire(&["salvage", s(&copy), "-o", s(&out)]);
        assert_eq!(o.status.code(), Some(1), "something was lost: {}", show(&o));
        let err = stderr(&o);
        assert!(
            err.contains(&format!("salvaged {} of {}", want.len(), docs.len())),
            "{err}"
        );
        let err_full = err.clone();
        let v = quire(&["verify", s(&out)]);
        assert_eq!(v.status.code(), Some(0), "{}", show(&v));
        let (got, meta) = read_archive(&out);
        assert_eq!(keys(&got), keys(&want));
        assert_eq!(got, want, "byte-identical");
        assert!(
            meta.iter()
                .any(|(n, v)| n == "title" && v == "Issue 19 fixture"),
            "the archive's metadata is kept: {meta:?}"
        );

        // -q: one line. An existing output is not replaced without --force.
        let before = fs::read(&out).unwrap();
        let o = quire(&["salvage", s(&copy), "-o", s(&out), "-q"]);
        assert_ne!(o.status.code(), Some(0), "{}", show(&o));
        assert_eq!(fs::read(&out).unwrap(), before);
        fs::write(&out, b"old").unwrap();
        let o = quire(&["salvage", s(&copy), "-o", s(&out), "-q", "--force"]);
        assert_eq!(o.status.code(), Some(1), "{}", show(&o));
        assert_eq!(stderr(&o).lines().count(), 1, "salvage -q: {}", stderr(&o));
        assert_eq!(read_archive(&out).0, want);

        // What was lost is listed by runs of neighbouring entries (all lost for one reason:
        // their blocks lie past the cut), then the summary: not one line per entry.
        let kept: Vec<String> = keys(&want);
        let lost: Vec<usize> = (0..docs.len())
            .filter(|&i| !kept.contains(&docs[i].key))
            .collect();
        let runs = 1 + lost.windows(2).filter(|w| w[1] != w[0] + 1).count();
        assert_eq!(
            err_full.lines().count(),
            runs + 1,
            "dictionary {dict}: {} entries lost in {runs} runs: {} lines: {}",
            lost.len(),
            err_full.lines().count(),
            err_full.lines().take(12).collect::<Vec<_>>().join("\n")
        );
    }
}

#[test]
fn salvage_of_a_copy_with_bytes_appended() {
    let (docs, bytes) = fixture(true);
    let t = common::scratch();
    for extra in [5usize, 4096] {
        let mut b = bytes.clone();
        b.extend(std::iter::repeat_n(0xA5u8, extra));
        let copy = t.path().join(format!("extended{extra}.quire"));
        fs::write(&copy, &b).unwrap();
        refused_everywhere(&copy, &docs[1].key, t.path());
        let err = stderr(&quire(&["ls", s(&copy)]));
        assert!(err.contains("extra bytes"), "{err}");

        let out = t.path().join(format!("out{extra}.quire"));
        let o = quire(&["salvage", s(&copy), "-o", s(&out)]);
        assert_eq!(o.status.code(), Some(0), "nothing lost: {}", show(&o));
        assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
        let v = quire(&["verify", s(&out)]);
        assert_eq!(v.status.code(), Some(0), "{}", show(&v));
        assert_eq!(read_archive(&out).0, docs);
    }
}

#[test]
fn salvage_of_a_damaged_page() {
    let (docs, bytes) = fixture(false);
    let a = Anatomy::of(&bytes);
    let t = common::scratch();
    let p = beta_page(&a);
    let lost = page_entries(&a, p);
    let count = lost.end - lost.start;
    let bad = t.path().join("bad.quire");
    fs::write(&bad, flip_in(&bytes, &a.pages[p].range)).unwrap();
    let out = t.path().join("out.quire");
    let o = quire(&["salvage", s(&bad), "-o", s(&out)]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    let err = stderr(&o);
    assert_eq!(page_lines(&err, lost.start, count).len(), 1, "{err}");
    assert_eq!(err.lines().count(), 2, "the page, and the summary: {err}");
    let want: Vec<Document> = docs
        .iter()
        .enumerate()
        .filter(|(i, _)| !lost.contains(&(*i as u64)))
        .map(|(_, d)| d.clone())
        .collect();
    assert_eq!(read_archive(&out).0, want);
    let v = quire(&["verify", s(&out)]);
    assert_eq!(v.status.code(), Some(0), "{}", show(&v));
}
