//! The `quire` command line, run as a user would.

use crate::cli_common as common;

use std::fs;
use std::path::{Path, PathBuf};

use common::{err as stderr, ok, run, run_stdin, s};

fn seed_article() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/articles/seed-article.txt")
}

/// A directory with the seed article, a binary file, an empty file and a unicode name.
fn sample_dir(root: &Path) -> PathBuf {
    let d = root.join("in");
    fs::create_dir_all(d.join("sub/deeper")).unwrap();
    fs::copy(seed_article(), d.join("seed.txt")).unwrap();
    fs::write(d.join("sub/binary.bin"), [0u8, 159, 146, 150, 255, 0]).unwrap();
    fs::write(d.join("sub/deeper/empty.txt"), b"").unwrap();
    fs::write(d.join("sub/ünï cødé.txt"), "Grüße aus Köln".as_bytes()).unwrap();
    d
}

#[test]
fn directory_round_trip_with_seed_article_title_and_date() {
    let t = tempfile::tempdir().unwrap();
    let input = sample_dir(t.path());
    let arc = t.path().join("a.quire");
    ok(&run(&["pack", s(&input), "-o", s(&arc)]));

    let long = ok(&run(&["ls", "--long", s(&arc)]));
    let seed_line = long.lines().find(|l| l.contains("seed.txt")).unwrap();
    assert!(seed_line.contains("2002-03-14"), "{seed_line}");
    assert!(
        seed_line.contains("N. Korean Asylum Seekers Break Into Embassy in China"),
        "{seed_line}"
    );
    let keys = ok(&run(&["ls", s(&arc)]));
    assert_eq!(
        keys.lines().collect::<Vec<_>>(),
        [
            "seed.txt",
            "sub/binary.bin",
            "sub/deeper/empty.txt",
            "sub/ünï cødé.txt"
        ]
    );
    let prefixed = ok(&run(&["ls", "--prefix", "sub/d", s(&arc)]));
    assert_eq!(prefixed, "sub/deeper/empty.txt\n");

    let out = t.path().join("out");
    ok(&run(&["unpack", s(&arc), "-o", s(&out)]));
    for rel in [
        "seed.txt",
        "sub/binary.bin",
        "sub/deeper/empty.txt",
        "sub/ünï cødé.txt",
    ] {
        assert_eq!(
            fs::read(out.join(rel)).unwrap(),
            fs::read(input.join(rel)).unwrap(),
            "{rel}"
        );
    }
    // Existing files are not overwritten without --force.
    let again = run(&["unpack", s(&arc), "-o", s(&out)]);
    assert_eq!(again.status.code(), Some(4));
    assert!(
        stderr(&again).contains("already exists"),
        "{}",
        stderr(&again)
    );
    ok(&run(&["unpack", s(&arc), "-o", s(&out), "--force"]));

    let body = run(&["get", s(&arc), "sub/binary.bin"]);
    ok(&body);
    assert_eq!(body.stdout, [0u8, 159, 146, 150, 255, 0]);
    ok(&run(&["verify", s(&arc)]));
    let info = ok(&run(&["info", s(&arc)]));
    let version = format!(
        "format version: {}.{}",
        quire::format::VERSION_MAJOR,
        quire::format::VERSION_MINOR
    );
    for want in [
        version.as_str(),
        "entries:        4",
        "ratio:",
        "index:",
        "depth 0",
        "DATA",
        "created: 2023-11-14T22:13:20Z",
    ] {
        assert!(info.contains(want), "{want:?} not in\n{info}");
    }
}

#[test]
fn get_of_a_missing_key_exits_3_and_prints_found_ones() {
    let t = tempfile::tempdir().unwrap();
    let arc = t.path().join("a.quire");
    ok(&run_stdin(
        &["pack", "-", "-o", s(&arc)],
        b"{\"key\": \"a\", \"body\": \"alpha\"}\n{\"key\": \"b\", \"body\": \"beta\"}\n",
    ));
    let o = run(&["get", s(&arc), "a", "nope", "b"]);
    assert_eq!(o.status.code(), Some(3));
    assert_eq!(o.stdout, b"alphabeta");
    assert!(stderr(&o).contains("key not found: \"nope\""));
}

#[test]
fn jsonl_round_trip_gives_identical_archive() {
    let t = tempfile::tempdir().unwrap();
    let jsonl = t.path().join("in.jsonl");
    let mut text = String::new();
    for i in 0..500 {
        text.push_str(&format!(
            "{{\"id\": {i}, \"title\": \"Title {i}\", \"date\": \"2001-02-{:02}\", \"section\": \"s{}\", \"body\": \"Body of article {i}. {}\"}}\n",
            i % 28 + 1,
            i % 5,
            "Words words words. ".repeat(i % 40)
        ));
    }
    text.push_str("{\"key\": \"bin\", \"body_base64\": \"AP8A/w==\", \"content_type\": \"application/octet-stream\"}\n");
    text.push_str("{\"key\": \"empty\", \"body\": \"\"}\n");
    fs::write(&jsonl, &text).unwrap();
    let a1 = t.path().join("a1.quire");
    ok(&run(&[
        "pack",
        s(&jsonl),
        "-o",
        s(&a1),
        "--title",
        "JSONL test",
        "--block-size",
        "8K",
    ]));
    let back = t.path().join("back.jsonl");
    ok(&run(&["unpack", s(&a1), "--jsonl", s(&back)]));
    let a2 = t.path().join("a2.quire");
    ok(&run(&[
        "pack",
        s(&back),
        "-o",
        s(&a2),
        "--block-size",
        "8K",
    ]));
    assert!(
        fs::read(&a1).unwrap() == fs::read(&a2).unwrap(),
        "JSONL round trip changed the archive"
    );
    // Metadata fields survive.
    let o = ok(&run(&["unpack", s(&a2), "--jsonl", "-"]));
    assert!(
        o.lines().nth(1).unwrap().contains("\"section\":\"s0\""),
        "{o}"
    );
    assert!(o.contains("\"title\":\"JSONL test\""));
    assert!(o.contains("\"body_base64\":\"AP8A/w==\""));
}

#[test]
fn same_input_gives_same_bytes_whatever_the_threads() {
    let t = tempfile::tempdir().unwrap();
    let input = sample_dir(t.path());
    let mut outs = Vec::new();
    for threads in ["1", "2", "4"] {
        let a = t.path().join(format!("t{threads}.quire"));
        ok(&run(&[
            "pack",
            s(&input),
            "-o",
            s(&a),
            "--threads",
            threads,
            "--block-size",
            "1K",
        ]));
        outs.push(fs::read(&a).unwrap());
    }
    assert!(outs.windows(2).all(|w| w[0] == w[1]));
}

#[test]
fn dictionary_on_and_off() {
    let t = tempfile::tempdir().unwrap();
    let jsonl = t.path().join("in.jsonl");
    let mut text = String::new();
    for i in 0..400 {
        text.push_str(&format!(
            "{{\"key\": \"n/{i}\", \"body\": \"Accessibility links. Breaking News. Story {i} - 2002-03-14. The spokesman said on {i} that the government is working to find a solution. {}\"}}\n",
            "Officials declined to comment further. ".repeat(i % 7)
        ));
    }
    fs::write(&jsonl, text).unwrap();
    let with = t.path().join("with.quire");
    let without = t.path().join("without.quire");
    ok(&run(&[
        "pack",
        s(&jsonl),
        "-o",
        s(&with),
        "--block-size",
        "2K",
    ]));
    ok(&run(&[
        "pack",
        s(&jsonl),
        "-o",
        s(&without),
        "--block-size",
        "2K",
        "--no-dict",
    ]));
    let info_with = ok(&run(&["info", s(&with)]));
    let info_without = ok(&run(&["info", s(&without)]));
    assert!(
        !info_with.contains("dictionary:     0 bytes"),
        "{info_with}"
    );
    assert!(
        info_without.contains("dictionary:     0 bytes"),
        "{info_without}"
    );
    for a in [&with, &without] {
        ok(&run(&["verify", s(a)]));
        assert!(ok(&run(&["get", s(a), "n/123"])).contains("Story 123"));
    }
}

#[test]
fn corrupted_block_is_reported_and_other_entries_still_read() {
    let t = tempfile::tempdir().unwrap();
    let jsonl = t.path().join("in.jsonl");
    let mut text = String::new();
    for i in 0..60 {
        text.push_str(&format!(
            "{{\"key\": \"k{i:02}\", \"body\": \"{}\"}}\n",
            format!("entry {i} ").repeat(30)
        ));
    }
    fs::write(&jsonl, text).unwrap();
    let arc = t.path().join("a.quire");
    ok(&run(&[
        "pack",
        s(&jsonl),
        "-o",
        s(&arc),
        "--block-size",
        "1K",
        "--no-dict",
        "--level",
        "1",
    ]));
    // SAFETY: the test wrote the file and nothing modifies it while it is mapped.
    let archive = unsafe { quire::Archive::open(&arc) }.unwrap();
    assert!(archive.block_count() >= 10);
    let (block, _) = archive.get("k30").unwrap().unwrap().location().unwrap();
    let sections = archive.sections().to_vec();
    drop(archive);
    // Damage one byte in the middle of block `block`'s stored bytes.
    let mut bytes = fs::read(&arc).unwrap();
    let bytes_copy = bytes.clone();
    let a = quire::Archive::new(&bytes_copy[..]).unwrap();
    let victims: Vec<String> = a
        .iter()
        .map(|e| e.unwrap())
        .filter(|e| e.location().map(|l| l.0) == Some(block))
        .map(|e| e.key().to_string())
        .collect();
    let data = sections
        .iter()
        .find(|s| s.id == quire::format::SectionId::Data as u32)
        .unwrap();
    // Find the first data byte whose damage makes k30 unreadable: it is in k30's block.
    let mut at = None;
    for off in data.offset..data.offset + data.length {
        let mut trial = bytes.clone();
        trial[off as usize] ^= 0x55;
        let ta = quire::Archive::new(&trial[..]).unwrap();
        let r = ta.get("k30").unwrap().unwrap().body();
        if r.is_err() {
            at = Some(off);
            break;
        }
    }
    let at = at.unwrap();
    bytes[at as usize] ^= 0x55;
    fs::write(&arc, &bytes).unwrap();

    let o = run(&["verify", s(&arc)]);
    assert_eq!(o.status.code(), Some(1));
    // The damage report is verify's output, on stdout like its success line.
    let err = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        err.contains(&format!("block {block}: checksum mismatch")),
        "{err}"
    );
    assert!(err.contains("k30"), "{err}");
    for v in &victims {
        assert!(err.contains(v.as_str()), "{v} not listed in {err}");
    }
    let g = run(&["get", s(&arc), "k30"]);
    assert_eq!(g.status.code(), Some(1));
    assert!(stderr(&g).contains(&format!("block {block}: checksum mismatch")));
    // Every entry outside the damaged block still reads.
    let readable = ["k00", "k59"];
    for k in readable {
        assert!(!victims.iter().any(|v| v == k));
        let o = ok(&run(&["get", s(&arc), k]));
        assert!(o.starts_with("entry "));
    }
}

#[test]
fn truncated_and_foreign_files_give_clean_errors() {
    let t = tempfile::tempdir().unwrap();
    let input = sample_dir(t.path());
    let arc = t.path().join("a.quire");
    ok(&run(&["pack", s(&input), "-o", s(&arc)]));
    let bytes = fs::read(&arc).unwrap();

    let cut = t.path().join("cut.quire");
    fs::write(&cut, &bytes[..bytes.len() - 100]).unwrap();
    let o = run(&["ls", s(&cut)]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(
        e.contains(&format!(
            "file: truncated: ends at {}, file is {} bytes",
            bytes.len(),
            bytes.len() - 100
        )),
        "{e}"
    );
    assert_eq!(e.lines().count(), 1, "one line, no backtrace: {e}");

    let foreign = t.path().join("foreign.quire");
    fs::write(
        &foreign,
        b"PK\x03\x04 this is a zip file, not an archive of ours",
    )
    .unwrap();
    let o = run(&["verify", s(&foreign)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("not a quire archive"), "{}", stderr(&o));

    let text_mode = t.path().join("crlf.quire");
    let mut mangled = bytes.clone();
    mangled.remove(6); // "\r\n" -> "\n", as a text-mode transfer does
    fs::write(&text_mode, &mangled).unwrap();
    assert!(stderr(&run(&["info", s(&text_mode)])).contains("bad magic"));

    let o = run(&["info", s(&t.path().join("missing.quire"))]);
    assert_eq!(o.status.code(), Some(4));
}

#[test]
fn unpack_refuses_traversal_and_absolute_keys() {
    let t = tempfile::tempdir().unwrap();
    for key in ["../x", "a/../../x", "/etc/x", "C:\\x", "a\\..\\x", "a/./b"] {
        let arc = t.path().join("evil.quire");
        let line = format!(
            "{{\"key\": {}, \"body\": \"pwned\"}}\n",
            serde_json::to_string(key).unwrap()
        );
        ok(&run_stdin(
            &["pack", "-", "-o", s(&arc), "--force"],
            line.as_bytes(),
        ));
        let out = t.path().join("out");
        let o = run(&["unpack", s(&arc), "-o", s(&out)]);
        assert_eq!(o.status.code(), Some(4), "{key}");
        let e = stderr(&o);
        assert!(
            e.contains(&format!("{key:?}")),
            "error does not name {key:?}: {e}"
        );
        assert!(!t.path().join("x").exists());
        assert!(
            fs::read_dir(&out).unwrap().next().is_none(),
            "{key}: something was written"
        );
        // With --sanitize it lands inside the target.
        let o = run(&["unpack", s(&arc), "-o", s(&out), "--sanitize", "--force"]);
        ok(&o);
        assert!(!t.path().join("x").exists());
        fs::remove_dir_all(&out).unwrap();
    }
}

#[test]
fn duplicates_name_both_sources_unless_a_policy_is_given() {
    let t = tempfile::tempdir().unwrap();
    let j1 = t.path().join("one.jsonl");
    let j2 = t.path().join("two.jsonl");
    fs::write(
        &j1,
        "{\"key\": \"a\", \"body\": \"first\"}\n{\"key\": \"b\", \"body\": \"b\"}\n",
    )
    .unwrap();
    fs::write(&j2, "\n{\"key\": \"a\", \"body\": \"second\"}\n").unwrap();
    let arc = t.path().join("a.quire");
    let o = run(&["pack", s(&j1), s(&j2), "-o", s(&arc)]);
    assert_eq!(o.status.code(), Some(4));
    let e = stderr(&o);
    assert!(e.contains("duplicate key \"a\""), "{e}");
    assert!(
        e.contains("one.jsonl:1") && e.contains("two.jsonl:2"),
        "{e}"
    );
    assert!(!arc.exists(), "a failed pack left an archive");
    assert!(fs::read_dir(t.path()).unwrap().all(|e| !e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .contains("quire-tmp")));
    for (policy, want) in [("first", "first"), ("last", "second")] {
        ok(&run(&[
            "pack",
            s(&j1),
            s(&j2),
            "-o",
            s(&arc),
            "--duplicates",
            policy,
            "--force",
        ]));
        assert_eq!(ok(&run(&["get", s(&arc), "a"])), want);
    }
}

#[test]
fn existing_output_is_replaced_only_with_force() {
    let t = tempfile::tempdir().unwrap();
    let arc = t.path().join("a.quire");
    ok(&run_stdin(
        &["pack", "-", "-o", s(&arc)],
        b"{\"key\": \"v1\", \"body\": \"1\"}\n",
    ));
    let o = run_stdin(
        &["pack", "-", "-o", s(&arc)],
        b"{\"key\": \"v2\", \"body\": \"2\"}\n",
    );
    assert_eq!(o.status.code(), Some(4));
    assert!(stderr(&o).contains("already exists"));
    assert_eq!(ok(&run(&["ls", s(&arc)])), "v1\n");
    // A failing pack with --force leaves the old archive intact.
    let o = run_stdin(
        &["pack", "-", "-o", s(&arc), "--force"],
        b"{\"key\": \"v2\", \"body\": \"2\"}\nnot json\n",
    );
    assert_eq!(o.status.code(), Some(4));
    assert!(
        stderr(&o).contains("<stdin>:2: invalid JSON"),
        "{}",
        stderr(&o)
    );
    assert_eq!(ok(&run(&["ls", s(&arc)])), "v1\n");
    ok(&run_stdin(
        &["pack", "-", "-o", s(&arc), "--force"],
        b"{\"key\": \"v2\", \"body\": \"2\"}\n",
    ));
    assert_eq!(ok(&run(&["ls", s(&arc)])), "v2\n");
}

#[test]
fn shipped_samples_pack_and_read_back() {
    let t = tempfile::tempdir().unwrap();
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples");
    let arc = t.path().join("samples.quire");
    ok(&run(&[
        "pack",
        s(&samples.join("articles")),
        s(&samples.join("articles.jsonl")),
        "-o",
        s(&arc),
    ]));
    let listing = ok(&run(&["ls", "--long", s(&arc)]));
    let n = listing.lines().count();
    assert!(n >= 25, "{listing}");
    // Every shipped .txt article has its headline found.
    for line in listing.lines().filter(|l| l.contains(".txt")) {
        let date = line.split_whitespace().nth(1).unwrap();
        assert!(quire::Date::parse(date).is_some(), "no date found: {line}");
    }
    ok(&run(&["verify", s(&arc)]));
}
