//! Damage costs only its own block (issue 13 item 1), and unpack checks every key before it
//! writes anything (item 4).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn quire() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_quire"));
    c.env("SOURCE_DATE_EPOCH", "1700000000");
    c
}

fn run(args: &[&str]) -> Output {
    quire().args(args).output().unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn text(o: &[u8]) -> String {
    String::from_utf8_lossy(o).into_owned()
}

fn body(i: usize) -> String {
    format!("entry {i} ").repeat(30)
}

/// A 31-entry archive in many 1 KiB blocks with one byte of k15's block damaged; returns
/// the archive and the keys stored in the damaged block.
fn damaged_archive(dir: &Path) -> (PathBuf, Vec<String>) {
    damaged_archive_with(dir, false)
}

/// [`damaged_archive`]; with `reseal`, every checksum of the chain is recomputed after the
/// edit (block `stored_crc`s included), as a tool that rewrote the block would, so that only
/// the page's CRC of the block's decompressed bytes can tell.
fn damaged_archive_with(dir: &Path, reseal: bool) -> (PathBuf, Vec<String>) {
    let jsonl = dir.join("in.jsonl");
    let mut lines = String::new();
    for i in 0..31 {
        lines.push_str(&format!(
            "{{\"key\": \"k{i:02}\", \"title\": \"Title {i}\", \"body\": \"{}\"}}\n",
            body(i)
        ));
    }
    fs::write(&jsonl, lines).unwrap();
    let arc = dir.join("a.quire");
    let o = run(&[
        "pack",
        s(&jsonl),
        "-o",
        s(&arc),
        "--block-size",
        "1K",
        "--no-dict",
        "--level",
        "1",
        "-q",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let bytes = fs::read(&arc).unwrap();
    let a = quire::Archive::new(&bytes[..]).unwrap();
    assert!(a.block_count() >= 4);
    let (block, _) = a.get("k15").unwrap().unwrap().location().unwrap();
    let victims: Vec<String> = a
        .iter()
        .map(|e| e.unwrap())
        .filter(|e| e.location().map(|l| l.0) == Some(block))
        .map(|e| e.key().to_string())
        .collect();
    let data = a
        .sections()
        .iter()
        .find(|s| s.id == quire::format::SectionId::Data as u32)
        .unwrap();
    let at = (data.offset..data.offset + data.length)
        .find(|&off| {
            let trial = damage(&bytes, off, reseal);
            let ta = quire::Archive::new(&trial[..]).unwrap();
            let broken = match ta.get("k15").unwrap().unwrap().body() {
                Ok(_) => false,
                // Resealed, the stored checksum passes: what fails must be the check of the
                // decompressed bytes, not the frame.
                Err(quire::ReadError::Damaged { kind, .. }) if reseal => {
                    kind == quire::DamageKind::DecodedChecksumMismatch
                }
                Err(_) => true,
            };
            broken
        })
        .unwrap();
    fs::write(&arc, damage(&bytes, at, reseal)).unwrap();
    assert!(!victims.is_empty() && victims.len() < 31);
    (arc, victims)
}

/// `bytes` with the byte at `off` flipped, and with `reseal` every checksum recomputed.
fn damage(bytes: &[u8], off: u64, reseal: bool) -> Vec<u8> {
    let mut out = bytes.to_vec();
    out[off as usize] ^= 0x55;
    if reseal {
        let opts = quire::format::chain::Reseal { stored_crcs: true };
        assert!(quire::format::chain::reseal(&mut out, opts));
    }
    out
}

#[test]
fn unpack_writes_every_entry_outside_the_damaged_block_and_lists_the_lost_keys() {
    let t = tempfile::tempdir().unwrap();
    let (arc, victims) = damaged_archive(t.path());
    let out = t.path().join("out");
    let o = run(&["unpack", s(&arc), "-o", s(&out)]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let err = text(&o.stderr);
    for i in 0..31 {
        let key = format!("k{i:02}");
        let path = out.join(&key);
        if victims.contains(&key) {
            assert!(!path.exists(), "{key} was written from a damaged block");
            let line = err
                .lines()
                .find(|l| l.contains(&format!("\"{key}\"")))
                .unwrap_or_else(|| panic!("{key} not listed: {err}"));
            assert!(line.contains(s(&arc)), "the archive is not named: {line}");
        } else {
            assert_eq!(fs::read_to_string(&path).unwrap(), body(i), "{key}");
        }
    }
    assert!(
        err.contains(&format!("{} of 31 entries", victims.len())),
        "{err}"
    );

    // The same through JSONL: every other entry is a line.
    let o = run(&["unpack", s(&arc), "--jsonl", "-"]);
    assert_eq!(o.status.code(), Some(1));
    let lines = text(&o.stdout);
    assert_eq!(lines.lines().count(), 1 + 31 - victims.len(), "{lines}");
    for v in &victims {
        assert!(!lines.contains(&format!("\"{v}\"")));
        assert!(text(&o.stderr).contains(&format!("\"{v}\"")));
    }
}

#[test]
fn ls_long_lists_every_entry_and_marks_the_unreadable_ones() {
    let t = tempfile::tempdir().unwrap();
    let (arc, victims) = damaged_archive(t.path());
    let o = run(&["ls", "--long", s(&arc)]);
    assert_eq!(o.status.code(), Some(1));
    let listing = text(&o.stdout);
    assert_eq!(listing.lines().count(), 31, "{listing}");
    for (i, line) in listing.lines().enumerate() {
        let key = format!("k{i:02}");
        assert!(line.contains(&format!(" {key} ")), "{line}");
        let marked = line.contains("[unreadable");
        assert_eq!(marked, victims.contains(&key), "{line}");
        if !marked {
            assert!(line.contains("Title"), "{line}");
        }
    }
    assert!(text(&o.stderr).contains(s(&arc)));
    // Plain ls reads no block: every key, exit 0.
    let o = run(&["ls", s(&arc)]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(text(&o.stdout).lines().count(), 31);
}

#[test]
fn get_prints_the_readable_keys_and_exits_1() {
    let t = tempfile::tempdir().unwrap();
    let (arc, victims) = damaged_archive(t.path());
    let healthy = ["k00", "k30"];
    assert!(!victims.iter().any(|v| healthy.contains(&v.as_str())));
    let o = run(&["get", s(&arc), "k00", &victims[0], "missing", "k30"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(text(&o.stdout), format!("{}{}", body(0), body(30)));
    let err = text(&o.stderr);
    let line = err.lines().find(|l| l.contains(&victims[0])).unwrap();
    assert!(
        line.contains(s(&arc)) && line.contains("checksum"),
        "{line}"
    );
    assert!(err.contains("key not found: \"missing\""), "{err}");
}

#[test]
fn unpack_checks_every_key_before_writing_anything() {
    let t = tempfile::tempdir().unwrap();
    let arc = t.path().join("a.quire");
    let jsonl = t.path().join("in.jsonl");
    fs::write(
        &jsonl,
        "{\"key\": \"a\", \"body\": \"1\"}\n{\"key\": \"b/c\", \"body\": \"2\"}\n\
         {\"key\": \"../evil\", \"body\": \"3\"}\n{\"key\": \"d\", \"body\": \"4\"}\n",
    )
    .unwrap();
    assert!(run(&["pack", s(&jsonl), "-o", s(&arc), "-q"])
        .status
        .success());
    let out = t.path().join("out");
    let o = run(&["unpack", s(&arc), "-o", s(&out)]);
    assert_eq!(o.status.code(), Some(4));
    assert!(text(&o.stderr).contains("\"../evil\""));
    assert_eq!(
        fs::read_dir(&out).unwrap().count(),
        0,
        "something was written"
    );

    // An existing file for the last key: refused before the first is written.
    fs::write(
        &jsonl,
        "{\"key\": \"a\", \"body\": \"1\"}\n{\"key\": \"z\", \"body\": \"2\"}\n",
    )
    .unwrap();
    assert!(run(&["pack", s(&jsonl), "-o", s(&arc), "-q", "--force"])
        .status
        .success());
    fs::write(out.join("z"), "mine").unwrap();
    let o = run(&["unpack", s(&arc), "-o", s(&out)]);
    assert_eq!(o.status.code(), Some(4));
    assert!(text(&o.stderr).contains("already exists"));
    assert!(!out.join("a").exists());
    assert_eq!(fs::read_to_string(out.join("z")).unwrap(), "mine");
}

/// A block rewritten with every checksum of the chain recomputed (what a tool that edits an
/// archive would leave): the CRC of the decompressed bytes in the page still catches it, and
/// it costs only the entries stored in that block.
#[test]
fn a_resealed_block_fails_its_decompressed_checksum_and_costs_only_its_entries() {
    let t = tempfile::tempdir().unwrap();
    let (arc, victims) = damaged_archive_with(t.path(), true);
    let o = run(&["get", s(&arc), "k00", &victims[0], "k30"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(text(&o.stdout), format!("{}{}", body(0), body(30)));
    let err = text(&o.stderr);
    let line = err.lines().find(|l| l.contains(&victims[0])).unwrap();
    assert!(line.contains("decompressed"), "{line}");

    let o = run(&["verify", s(&arc)]);
    assert_eq!(o.status.code(), Some(1));
    let report = text(&o.stdout);
    assert!(report.contains("decompressed"), "{report}");
    for v in &victims {
        assert!(report.contains(v.as_str()), "{v} not listed in {report}");
    }

    let out = t.path().join("out");
    let o = run(&["unpack", s(&arc), "-o", s(&out)]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    for i in 0..31 {
        let key = format!("k{i:02}");
        let written = out.join(&key).exists();
        assert_eq!(written, !victims.contains(&key), "{key}");
    }
    assert!(
        text(&o.stderr).contains(&format!("{} of 31 entries", victims.len())),
        "{}",
        text(&o.stderr)
    );
}

/// An archive of 8000 entries whose index has a level of branches over several pages, with
/// one byte of its second page damaged; returns the archive and the keys that page holds.
fn damaged_page(dir: &Path) -> (PathBuf, Vec<String>) {
    let jsonl = dir.join("in.jsonl");
    let mut lines = String::new();
    for i in 0..8000 {
        lines.push_str(&format!(
            "{{\"key\": \"page/k{i:05}\", \"body\": \"body {i}\"}}\n"
        ));
    }
    fs::write(&jsonl, lines).unwrap();
    let arc = dir.join("a.quire");
    let o = run(&["pack", s(&jsonl), "-o", s(&arc), "--no-dict", "-q"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let mut bytes = fs::read(&arc).unwrap();
    let a = quire::Archive::new(&bytes[..]).unwrap();
    let h = a.header().clone();
    assert_eq!(h.index_depth, 1, "the test needs a root branch over pages");
    // The root, last in the prelude before its CRC; its children lie in INDEX.
    let root_end = h.prelude_len as usize - 4;
    let root = &bytes[root_end - h.root_len as usize..root_end];
    let pages = quire::format::nodes::decode_branch(root, 0).unwrap();
    assert!(pages.len() >= 3, "{} pages", pages.len());
    let index = a
        .sections()
        .iter()
        .find(|s| s.id == quire::format::SectionId::Index as u32)
        .unwrap()
        .offset;
    let page = &pages[1];
    let victims: Vec<String> = (page.first_entry..page.first_entry + page.entries)
        .map(|i| format!("page/k{i:05}"))
        .collect();
    drop(a);
    let at = (index + page.offset + u64::from(page.len) / 2) as usize;
    bytes[at] ^= 0x55;
    fs::write(&arc, &bytes).unwrap();
    (arc, victims)
}

/// Damage to an index page costs only the entries of that page (spec §12): the rest are
/// listed, read and unpacked, and every command says what was lost.
#[test]
fn a_damaged_page_costs_only_its_entries() {
    let t = tempfile::tempdir().unwrap();
    let (arc, victims) = damaged_page(t.path());
    let (first, last) = ("page/k00000", "page/k07999");
    assert!(!victims.iter().any(|v| v == first || v == last));

    let o = run(&["get", s(&arc), first, &victims[0], last]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(text(&o.stdout), "body 0body 7999");
    let err = text(&o.stderr);
    let line = err.lines().find(|l| l.contains(&victims[0])).unwrap();
    assert!(
        line.contains(s(&arc)) && line.contains("index node") && line.contains("checksum"),
        "{line}"
    );

    let o = run(&["ls", s(&arc)]);
    assert_eq!(o.status.code(), Some(1));
    let listed = text(&o.stdout);
    assert_eq!(listed.lines().count(), 8000 - victims.len());
    assert!(!victims.iter().any(|v| listed.contains(v.as_str())));
    assert!(text(&o.stderr).contains(&format!("{} entries could not be read", victims.len())));

    let o = run(&["verify", s(&arc)]);
    assert_eq!(o.status.code(), Some(1));
    let report = text(&o.stdout);
    assert!(
        report.contains("index node") && report.contains("checksum mismatch"),
        "{report}"
    );

    let out = t.path().join("out");
    let o = run(&["unpack", s(&arc), "-o", s(&out)]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains(&format!("{} of 8000 entries", victims.len())),
        "{}",
        text(&o.stderr)
    );
    let written = fs::read_dir(out.join("page")).unwrap().count();
    assert_eq!(written, 8000 - victims.len());
    assert_eq!(fs::read_to_string(out.join(last)).unwrap(), "body 7999");
    assert!(!out.join(&victims[0]).exists());
}
