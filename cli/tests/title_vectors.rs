//! The title-index vectors in `spec/vectors/titles/` (spec §10, §14.7): archives with a
//! title index that a reader must accept, each with the suggestions it must give for a list of
//! queries, and files whose title index a reader must reject with `damaged_title_index`.
//!
//! - `titles/NAME.quire` reads back to exactly `titles/NAME.jsonl` (§9), passes full
//!   verification, and is made byte for byte by today's writer;
//! - `titles/NAME.queries.json` lists queries (`q`, `limit`) and their suggestions in order
//!   (`[key, title or null, kind]`); each is checked against the reader and against a brute
//!   force reading of §14.1–§14.2 here (folding each entry's title and scanning them all);
//! - `titles/reject/NAME.quire`, listed in `titles/reject/expected.json` with its code, the
//!   query that shows it (`when: "suggest"`) or `when: "verify"` (only full verification, §11,
//!   finds it), and what it is; each made from an accepted vector by one edit of its TITLES
//!   section, every CRC that would give it away first recomputed.
//!
//! Regenerate after an intended change with `QUIRE_BLESS=1 cargo test -p quire-cli --test
//! integration title_vectors::`.

use std::collections::BTreeSet;
use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use quire::format::header::{encode_prelude, prelude_len, Prelude, SectionRecord};
use quire::format::titles::{
    self, decode_list, decode_tops, encode_list, encode_tops, fold, fold_title, unstore,
    word_starts, Head, RecordBody, Root, TopsPage, MAX_PAGE_RAW, MAX_ROOT_RAW,
};
use quire::format::{self, Header, SectionId};
use quire::{Archive, ArchiveWriter, DictionaryMode, NewEntry, WriterOptions};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec/vectors/titles")
}

fn bless() -> bool {
    std::env::var_os("QUIRE_BLESS").is_some()
}

fn opts() -> WriterOptions {
    WriterOptions::new()
        .index(quire::IndexKind::Titles)
        .level(3)
        .dedup(false)
        .block_size(256)
        .dictionary(DictionaryMode::Off)
        .threads(1)
        .created(1_000_000_000)
        .metadata("title", "quire title vector")
        .metadata("source", "spec/vectors/titles")
        .metadata("tool", "quire test vectors")
}

/// The accepted archives.
const NAMES: [&str; 2] = ["scripts", "tops"];

/// `scripts`: titles in several scripts, and the folding cases of §14.1.
const SCRIPTS: &[(&str, Option<&str>)] = &[
    ("city/zurich", Some("Zürich")),
    ("city/zurich-upper", Some("ZÜRICH")),
    ("city/zurich-wide", Some("ＺＵＲＩＣＨ")),
    ("city/zurich-decomposed", Some("Zu\u{308}rich Hauptbahnhof")),
    ("airport/zrh", Some("Flughafen Zürich")),
    ("lake/zurich", Some("Lake Zurich shores")),
    ("street/grosse", Some("Große Straße")),
    ("street/strasse", Some("Strasse des 17. Juni")),
    ("ligature/file", Some("ﬁle under ﬂowers")),
    ("greek/athens", Some("Ἀθῆναι")),
    ("greek/sisyphus", Some("ΣΊΣΥΦΟΣ")),
    ("cyrillic/moscow", Some("Москва")),
    ("cyrillic/moscow-river", Some("Река МОСКВА")),
    ("cjk/pku", Some("北京大学")),
    ("cjk/beijing", Some("北京")),
    ("kana/gakusei", Some("がくせい")),
    ("kana/katakana", Some("トウキョウ タワー")),
    ("ny/times", Some("The New-York Times")),
    ("ny/new-york", Some("New York, 2002")),
    ("no-title/york-notes", None),
    ("empty-title", Some("")),
    ("numbers/circled", Some("① first")),
];

/// `tops`: enough titles that the empty prefix and busy one- and two-letter prefixes get
/// tops lists (§14.5) and the list spans several pages.
fn tops_entries() -> Vec<(String, Option<String>)> {
    const WORDS: [&str; 12] = [
        "berlin", "bern", "basel", "harbour", "bridge", "council", "reopens", "brief", "storm",
        "budget", "bank", "election",
    ];
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..900)
        .map(|i| {
            let mut title = Vec::new();
            for w in 0..(2 + i % 4) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                // "quay" starts no title: its prefixes' tops lists are word starts.
                title.push(if w > 0 && x.is_multiple_of(4) {
                    "quay"
                } else {
                    WORDS[((x >> 2) % 12) as usize]
                });
            }
            let mut t = title.join(" ");
            if let Some(c) = t.get_mut(0..1) {
                c.make_ascii_uppercase();
            }
            let title = (i % 50 != 7).then(|| format!("{t} {i}"));
            (format!("news/{i:04}"), title)
        })
        .collect()
}

fn build(name: &str) -> Vec<u8> {
    let mut w = ArchiveWriter::in_memory(opts()).unwrap();
    let entries: Vec<(String, Option<String>)> = match name {
        "scripts" => SCRIPTS
            .iter()
            .map(|(k, t)| (k.to_string(), t.map(str::to_string)))
            .collect(),
        _ => tops_entries(),
    };
    for (i, (k, t)) in entries.iter().enumerate() {
        let body = if i % 3 == 0 {
            format!("body {i}")
        } else {
            String::new()
        };
        let mut e = NewEntry::new(k, body.as_bytes());
        if let Some(t) = t {
            e = e.title(t);
        }
        w.add(&e).unwrap();
    }
    w.finish_into_inner().unwrap().0.into_inner()
}

/// The queries of each accepted vector: (text, limit).
fn queries(name: &str) -> Vec<(&'static str, Option<usize>)> {
    match name {
        "scripts" => vec![
            ("zurich", None),
            ("Zürich", None),
            ("ZÜRICH", None),
            ("ｚｕｒｉｃｈ", None),
            ("zurich", Some(2)),
            ("zurich h", None),
            ("zurich hauptbahnhof", None),
            ("strasse", None),
            ("straße", None),
            ("GROSSE", None),
            ("file", None),
            ("flowers", None),
            ("αθηνα", None),
            ("σισυφοσ", None),
            ("москва", None),
            ("МОСК", Some(1)),
            ("北京", None),
            ("京", None),
            ("大学", None),
            ("かくせい", None),
            ("タワー", None),
            ("york", None),
            ("new york", None),
            ("new-york", None),
            ("ork", None),
            ("times", None),
            ("2002", None),
            ("1", None),
            ("", None),
            ("", Some(3)),
            ("x", None),
        ],
        _ => vec![
            ("", Some(10)),
            ("", Some(3)),
            ("b", Some(10)),
            ("b", Some(5)),
            ("b", Some(11)),
            ("br", Some(10)),
            ("br", None),
            ("Bridge", Some(10)),
            ("bridge storm", None),
            ("bridge storm b", Some(10)),
            ("h", Some(10)),
            ("news/00", Some(10)),
            ("berlin 1", Some(10)),
            ("election 899", None),
            ("q", Some(10)),
            ("QU", Some(4)),
            ("quay 1", None),
            ("quay b", Some(10)),
            ("x", None),
        ],
    }
}

/// §14.1–§14.2 by brute force: every entry's title (or key) folded, matched at its start or
/// at a word start, ordered by kind, folded length, folded title and key.
fn brute(
    a: &Archive<Vec<u8>>,
    q: &str,
    limit: Option<usize>,
) -> Vec<(String, Option<String>, &'static str)> {
    let qf = fold(q);
    let mut hits = Vec::new();
    for e in a.iter() {
        let e = e.unwrap();
        let title = e
            .title()
            .unwrap()
            .map(|t| titles::cut(t, titles::MAX_TEXT).to_string());
        let f = fold_title(title.as_deref().unwrap_or(e.key()));
        let kind = if f.as_bytes().starts_with(qf.as_bytes()) {
            0
        } else if word_starts(&f)
            .iter()
            .any(|&i| f.as_bytes()[i..].starts_with(qf.as_bytes()))
        {
            1
        } else {
            continue;
        };
        hits.push((kind, f.len(), f, e.key().to_string(), title));
    }
    hits.sort();
    hits.into_iter()
        .take(limit.unwrap_or(usize::MAX))
        .map(|(k, _, _, key, title)| (key, title, if k == 0 { "title" } else { "word" }))
        .collect()
}

fn expected_jsonl(bytes: &[u8]) -> String {
    let archive = Archive::new(bytes).unwrap();
    let mut out = Vec::new();
    quire_cli::unpack::unpack_jsonl(&archive, &mut out, &mut |_| {}).unwrap();
    String::from_utf8(out).unwrap()
}

/// The queries file: one query per line, in a JSON array.
fn queries_json(name: &str, bytes: &[u8]) -> String {
    let a = Archive::new(bytes.to_vec()).unwrap();
    let lines: Vec<String> = queries(name)
        .into_iter()
        .map(|(q, limit)| {
            let results: Vec<Value> = a
                .suggest(q, limit)
                .unwrap()
                .into_iter()
                .map(|s| json!([s.key, s.title, s.kind.name()]))
                .collect();
            json!({"q": q, "limit": limit, "results": results}).to_string()
        })
        .collect();
    format!("[\n{}\n]\n", lines.join(",\n"))
}

fn quire_files(d: &Path) -> BTreeSet<String> {
    fs::read_dir(d)
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            name.strip_suffix(".quire").map(str::to_owned)
        })
        .collect()
}

#[test]
fn accepted_title_vectors_answer_their_queries() {
    for name in NAMES {
        let fresh = build(name);
        let q = dir().join(format!("{name}.quire"));
        let j = dir().join(format!("{name}.jsonl"));
        let qj = dir().join(format!("{name}.queries.json"));
        if bless() {
            fs::create_dir_all(dir()).unwrap();
            fs::write(&q, &fresh).unwrap();
            fs::write(&j, expected_jsonl(&fresh)).unwrap();
            fs::write(&qj, queries_json(name, &fresh)).unwrap();
        }
        let stored = fs::read(&q).unwrap_or_else(|e| panic!("{}: {e}", q.display()));
        assert_eq!(
            expected_jsonl(&stored),
            fs::read_to_string(&j).unwrap(),
            "{name}"
        );
        let a = Archive::new(stored.clone()).unwrap();
        assert!(a.has_title_index(), "{name}");
        let report = a.verify();
        assert!(report.is_ok(), "{name}: {report}");
        let listed: Value = serde_json::from_str(&fs::read_to_string(&qj).unwrap()).unwrap();
        let listed = listed.as_array().unwrap();
        assert_eq!(listed.len(), queries(name).len(), "{name}: queries");
        for (want, (q, limit)) in listed.iter().zip(queries(name)) {
            assert_eq!(want["q"], q);
            assert_eq!(want["limit"].as_u64().map(|l| l as usize), limit);
            let want: Vec<(String, Option<String>, String)> = want["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    (
                        r[0].as_str().unwrap().to_string(),
                        r[1].as_str().map(str::to_string),
                        r[2].as_str().unwrap().to_string(),
                    )
                })
                .collect();
            let got: Vec<(String, Option<String>, String)> = a
                .suggest(q, limit)
                .unwrap()
                .into_iter()
                .map(|s| (s.key, s.title, s.kind.name().to_string()))
                .collect();
            assert_eq!(got, want, "{name}: {q:?} {limit:?}");
            let brute: Vec<(String, Option<String>, String)> = brute(&a, q, limit)
                .into_iter()
                .map(|(k, t, kind)| (k, t, kind.to_string()))
                .collect();
            assert_eq!(brute, want, "{name}: {q:?} {limit:?} against brute force");
        }
        assert!(
            stored == fresh,
            "the writer no longer reproduces titles/{name}.quire byte for byte"
        );
    }
    let listed: BTreeSet<String> = NAMES.iter().map(|n| n.to_string()).collect();
    assert_eq!(
        quire_files(&dir()),
        listed,
        "spec/vectors/titles/ holds other files"
    );
}

#[test]
fn title_vectors_cover_what_the_spec_lists() {
    let t = Titles::of(&build("tops"));
    assert!(t.root.pages.len() >= 3, "{} list pages", t.root.pages.len());
    assert!(!t.root.tops.is_empty());
    assert!(t.root.prefixes.contains(&Vec::new()));
    assert!(t.root.prefixes.contains(&b"b".to_vec()));
    assert!(t.root.prefixes.iter().any(|p| p.len() == 2));
    assert!(t.root.pages[0].stored_len < t.root.pages[0].raw_len);
    // A tops list with word starts in it.
    let a = Archive::new(build("tops")).unwrap();
    let b = a.suggest("b", Some(10)).unwrap();
    assert_eq!(b.len(), 10);
    let q = a.suggest("q", Some(10)).unwrap();
    assert_eq!(q.len(), 10);
    assert!(q.iter().all(|s| s.kind == quire::MatchKind::WordStart));
    assert!(t.root.prefixes.contains(&b"qu".to_vec()));
    let s = Titles::of(&build("scripts"));
    assert_eq!(s.root.pages.len(), 1);
}

// ---------------------------------------------------------------------------------------
// Taking a title index apart and laying it out again.

/// An archive's parts (prelude and sections), and its TITLES section taken apart.
struct Titles {
    header: Header,
    meta: Vec<u8>,
    ctypes: Vec<u8>,
    proot: Vec<u8>,
    sections: Vec<(u32, Vec<u8>)>,
    index_crc: u32,
    data_crc: u32,
    head: Head,
    root: Root,
    /// Every page's stored bytes: the list pages, then the tops pages.
    pages: Vec<Vec<u8>>,
}

impl Titles {
    fn of(b: &[u8]) -> Titles {
        let p = Prelude::decode(b, b.len() as u64).unwrap();
        let sections: Vec<(u32, Vec<u8>)> = p
            .sections
            .iter()
            .map(|s| {
                (
                    s.id,
                    b[s.offset as usize..(s.offset + s.length) as usize].to_vec(),
                )
            })
            .collect();
        let crc = |id: SectionId| p.sections.iter().find(|s| s.id == id as u32).unwrap().crc;
        let (index_crc, data_crc) = (crc(SectionId::Index), crc(SectionId::Data));
        let t = &sections
            .iter()
            .find(|s| s.0 == titles::SECTION_ID)
            .unwrap()
            .1;
        let head = Head::decode(t, index_crc, data_crc, t.len() as u64).unwrap();
        let at = head.root_offset as usize;
        let stored = &t[at..at + head.root_len as usize];
        let raw = unstore(stored, head.root_raw_len, head.root_crc, MAX_ROOT_RAW).unwrap();
        let root = Root::decode(&raw, &head, t.len() as u64).unwrap();
        let mut pages = Vec::new();
        for (o, l) in root
            .pages
            .iter()
            .map(|p| (p.offset, p.stored_len))
            .chain(root.tops.iter().map(|p| (p.offset, p.stored_len)))
        {
            pages.push(t[o as usize..o as usize + l as usize].to_vec());
        }
        Titles {
            header: p.header.clone(),
            meta: p.meta.to_vec(),
            ctypes: p.ctypes.to_vec(),
            proot: p.root.to_vec(),
            sections,
            index_crc,
            data_crc,
            head,
            root,
            pages,
        }
    }

    /// List page `i`'s (or tops page `i - P`'s) raw bytes.
    fn raw(&self, i: usize) -> Vec<u8> {
        let (len, crc) = match self.root.pages.get(i) {
            Some(p) => (p.raw_len, p.crc),
            None => {
                let t = &self.root.tops[i - self.root.pages.len()];
                (t.raw_len, t.crc)
            }
        };
        unstore(&self.pages[i], len, crc, MAX_PAGE_RAW).unwrap()
    }

    /// Replaces page `i` by `raw`, stored, its lengths and CRC in the root.
    fn set_raw(&mut self, i: usize, raw: &[u8]) {
        let stored = titles::store(raw, 3).unwrap();
        let crc = format::crc32(&stored);
        match self.root.pages.get_mut(i) {
            Some(p) => {
                (p.stored_len, p.raw_len, p.crc) = (stored.len() as u32, raw.len() as u32, crc)
            }
            None => {
                let t = &mut self.root.tops[i - self.root.pages.len()];
                (t.stored_len, t.raw_len, t.crc) = (stored.len() as u32, raw.len() as u32, crc);
            }
        }
        self.pages[i] = stored;
    }

    /// Sets page `i`'s stored bytes as they are, its CRC in the root fixed.
    fn set_stored(&mut self, i: usize, stored: Vec<u8>) {
        let crc = format::crc32(&stored);
        match self.root.pages.get_mut(i) {
            Some(p) => (p.stored_len, p.crc) = (stored.len() as u32, crc),
            None => {
                let t = &mut self.root.tops[i - self.root.pages.len()];
                (t.stored_len, t.crc) = (stored.len() as u32, crc);
            }
        }
        self.pages[i] = stored;
    }

    /// The stored root of `self.root` (header fields set to it).
    fn root_stored(&mut self) -> Vec<u8> {
        let raw = self.root.encode();
        let stored = titles::store(&raw, 3).unwrap();
        self.head.root_len = stored.len() as u32;
        self.head.root_raw_len = raw.len() as u32;
        self.head.root_crc = format::crc32(&stored);
        stored
    }

    /// The section: header (sealed), root, pages.
    fn section(&mut self) -> Vec<u8> {
        let root = self.root_stored();
        let mut s = self.head.encode(self.index_crc, self.data_crc).to_vec();
        s.extend_from_slice(&root);
        for p in &self.pages {
            s.extend_from_slice(p);
        }
        s
    }

    fn set_section(&mut self, bytes: Vec<u8>) {
        let s = self
            .sections
            .iter_mut()
            .find(|s| s.0 == titles::SECTION_ID)
            .unwrap();
        s.1 = bytes;
    }

    /// The file: sections back to back, every section CRC and the prelude recomputed.
    fn file(&self) -> Vec<u8> {
        let mut at = prelude_len(
            self.sections.len(),
            self.meta.len(),
            self.ctypes.len(),
            self.proot.len(),
        ) as u64;
        let mut records = Vec::new();
        let mut body = Vec::new();
        for (id, bytes) in &self.sections {
            records.push(SectionRecord {
                id: *id,
                offset: at,
                length: bytes.len() as u64,
                crc: format::crc32(bytes),
            });
            at += bytes.len() as u64;
            body.extend_from_slice(bytes);
        }
        let mut h = self.header.clone();
        h.file_len = at;
        let mut out = encode_prelude(&h, &records, &self.meta, &self.ctypes, &self.proot);
        out.extend_from_slice(&body);
        out
    }

    /// The file with the section laid out again from its parts.
    fn relaid(&mut self) -> Vec<u8> {
        let s = self.section();
        self.set_section(s);
        self.file()
    }
}

#[test]
fn taking_a_title_index_apart_and_laying_it_out_again_is_exact() {
    for name in NAMES {
        let b = build(name);
        let mut t = Titles::of(&b);
        assert!(t.file() == b, "{name}");
        // Stored again at the writer's level, the nodes differ; the file still reads.
        let again = t.relaid();
        assert!(
            Archive::new(again.clone()).unwrap().verify().is_ok(),
            "{name}"
        );
        let a = Archive::new(again).unwrap();
        let orig = Archive::new(b).unwrap();
        assert_eq!(
            a.suggest("b", None).unwrap(),
            orig.suggest("b", None).unwrap()
        );
    }
}

// ---------------------------------------------------------------------------------------
// Files whose title index a reader must reject.

/// Name, when it shows (`suggest`: the query given fails; `verify`: only full verification
/// finds it), the query (text, limit), and what the file is. Every code is
/// `damaged_title_index`.
const REJECT: &[(&str, &str, &str, Option<usize>, &str)] = &[
    ("two-sections", "suggest", "", None, "a second TITLES section, a copy of the first, after DATA"),
    ("short-section", "suggest", "", None, "TITLES cut to 31 bytes, shorter than its header"),
    ("header-crc", "suggest", "", None, "a byte of the header's rows changed, head_crc not fixed"),
    ("header-other-archive", "suggest", "", None, "head_crc sealed with another CRC of INDEX (a title index from another archive)"),
    ("header-version", "suggest", "", None, "version 2, head_crc fixed"),
    ("header-trunc", "suggest", "", None, "trunc 0, head_crc fixed"),
    ("header-rows", "suggest", "", None, "rows one more than entry_count (the root's rows too), head_crc fixed"),
    ("header-root-place", "suggest", "", None, "root_offset past the section's end, head_crc fixed"),
    ("root-crc", "suggest", "", None, "a byte of the stored root changed, root_crc not fixed"),
    ("root-frame", "suggest", "", None, "the root's stored bytes replaced by as many that are not a zstd frame, root_crc fixed"),
    ("root-rows", "suggest", "", None, "the first page's rows one more in the root: they no longer add up to the header's rows"),
    ("root-prefixes-order", "suggest", "", None, "two prefixes of the root swapped: not increasing"),
    ("truncated-section", "suggest", "", None, "the last tops page cut off the section: the pages do not reach the section's end"),
    ("trailing-bytes", "suggest", "", None, "5 bytes after the last tops page: the pages end before the section's end"),
    ("page-crc", "suggest", "", None, "a byte of list page 1 changed, its CRC in the root not fixed"),
    ("page-frame", "suggest", "", None, "list page 0's stored bytes replaced by as many that are not a zstd frame, its CRC fixed"),
    ("page-order", "suggest", "", None, "the first two records of list page 0 swapped (CRCs fixed): not in order"),
    ("page-rows", "suggest", "", None, "the root gives list page 0 one row more and page 1 one fewer (the sum kept): page 0 does not hold the rows the root says"),
    ("word-length", "suggest", "berlin", None, "a word start's folded_len one more than its row's folded title (CRCs fixed): found when a query shows its row"),
    ("tops-crc", "suggest", "", Some(10), "a byte of the tops page changed, its CRC in the root not fixed"),
    ("tops-order", "verify", "", Some(10), "the first two suggestions of the empty prefix's tops list swapped (CRCs fixed): the list is not §14.2's order"),
    ("tops-short", "verify", "", Some(10), "the empty prefix's tops list cut to 9 of its 10 suggestions (CRCs fixed)"),
    ("root-over-4-mib", "suggest", "", None, "root_raw_len 4 MiB + 1 (the root's bytes, then zeros; stored as a frame, CRCs fixed): over the root's limit"),
    ("prefixes-over-1-mib", "suggest", "", None, "300 prefixes of 4,000 a's and 3 digits each (front-coded; the tops record's lists 300, CRCs fixed): 1.2 MB of prefixes, over 1 MiB together"),
    ("page-keys-over-1-mib", "suggest", "", None, "list page 0's records given keys of 4,000 a's and 6 digits (front-coded, CRCs fixed): over 1 MiB of keys decoded"),
    ("foreign-key", "verify", "", None, "a title start's key replaced by a key that is no entry of the archive (CRCs fixed)"),
    ("foreign-title", "verify", "", None, "a title start's title changed, its folded title kept (CRCs fixed): not the entry's title"),
    ("missing-word", "verify", "", None, "a word start record dropped from list page 0 (CRCs fixed): its row's word starts are not all listed"),
    ("word-key-short", "suggest", "", None, "a word start's key in list page 0 cut one byte short of min(trunc, folded_len − pos) (CRCs fixed)"),
    ("word-key-long", "suggest", "", None, "a word start's key in list page 0 given bytes past its suffix's end, longer than folded_len − pos (CRCs fixed)"),
    ("word-twice", "verify", "", None, "a word start of list page 0 listed a second time, right after itself, with a key one byte longer (its row's next byte; CRCs fixed): in order, but its row's word starts are not each listed once"),
];

fn edit_list(t: &mut Titles, page: usize, f: impl FnOnce(&mut Vec<titles::Record>)) {
    let p = &t.root.pages[page];
    let mut list = decode_list(&t.raw(page), &t.head, p.rows_before, p.rows)
        .unwrap()
        .records;
    f(&mut list);
    let raw = encode_list(&list);
    t.set_raw(page, &raw);
}

fn edit_tops(t: &mut Titles, f: impl FnOnce(&mut TopsPage)) {
    let i = t.root.pages.len();
    let mut page = decode_tops(&t.raw(i), t.head.tops_n, t.root.tops[0].lists).unwrap();
    f(&mut page);
    t.set_raw(i, &encode_tops(&page));
}

/// The empty prefix's list in the first tops page.
fn empty_list(t: &Titles) -> usize {
    assert!(t.root.prefixes[0].is_empty());
    0
}

fn not_a_frame(len: usize) -> Vec<u8> {
    b"not a zstd frame: "
        .iter()
        .cycle()
        .take(len)
        .copied()
        .collect()
}

fn reject_bytes(name: &str) -> Vec<u8> {
    // The header's and the root's on the small archive; those of pages on the large one.
    let small = name.starts_with("header-")
        || matches!(
            name,
            "two-sections" | "short-section" | "root-crc" | "root-frame" | "root-rows"
        );
    let base = if small { "scripts" } else { "tops" };
    let b = build(base);
    let mut t = Titles::of(&b);
    match name {
        "two-sections" => {
            let s = t
                .sections
                .iter()
                .find(|s| s.0 == titles::SECTION_ID)
                .unwrap()
                .clone();
            t.sections.push(s);
            t.file()
        }
        "short-section" => {
            let mut s = t.section();
            s.truncate(31);
            t.set_section(s);
            t.file()
        }
        "header-crc" => {
            let mut s = t.section();
            s[8] ^= 1;
            t.set_section(s);
            t.file()
        }
        "header-other-archive" => {
            let mut s = t.section();
            let h = t.head.encode(t.index_crc ^ 1, t.data_crc);
            s[..titles::HEADER_LEN].copy_from_slice(&h);
            t.set_section(s);
            t.file()
        }
        "header-version" | "header-trunc" | "header-root-place" => {
            let mut s = t.section();
            match name {
                "header-version" => s[4] = 2,
                "header-trunc" => s[5] = 0,
                _ => {
                    let past = s.len() as u64;
                    s[24..32].copy_from_slice(&past.to_le_bytes())
                }
            }
            let crc = titles::head_crc(&s[4..32], t.index_crc, t.data_crc);
            s[..4].copy_from_slice(&crc.to_le_bytes());
            t.set_section(s);
            t.file()
        }
        "header-rows" => {
            t.head.rows += 1;
            t.root.pages[0].rows += 1;
            t.relaid()
        }
        "root-crc" => {
            let mut s = t.section();
            s[titles::HEADER_LEN + 3] ^= 0x10;
            t.set_section(s);
            t.file()
        }
        "root-frame" => {
            // The root is small and stored as it is: stored as a "frame" one byte shorter
            // than its raw length, of bytes that are not one.
            let raw = t.root.encode();
            let garbage = not_a_frame(raw.len() - 1);
            t.head.root_len = garbage.len() as u32;
            t.head.root_raw_len = raw.len() as u32;
            t.head.root_crc = format::crc32(&garbage);
            let mut s = t.head.encode(t.index_crc, t.data_crc).to_vec();
            s.extend_from_slice(&garbage);
            for p in &t.pages {
                s.extend_from_slice(p);
            }
            t.set_section(s);
            t.file()
        }
        "root-rows" => {
            t.root.pages[0].rows += 1;
            t.relaid()
        }
        "root-prefixes-order" => {
            t.root.prefixes.swap(1, 2);
            t.relaid()
        }
        "truncated-section" | "trailing-bytes" => {
            let mut s = t.section();
            if name == "trailing-bytes" {
                s.extend_from_slice(b"extra");
            } else {
                let last = t.pages.last().unwrap().len();
                s.truncate(s.len() - last);
            }
            t.set_section(s);
            t.file()
        }
        "page-crc" => {
            let mut s = t.section();
            let at = t.root.pages[1].offset as usize + 5;
            s[at] ^= 0x04;
            t.set_section(s);
            t.file()
        }
        "page-frame" => {
            let n = t.pages[0].len();
            t.set_stored(0, not_a_frame(n));
            t.relaid()
        }
        "page-order" => {
            edit_list(&mut t, 0, |l| l.swap(0, 1));
            t.relaid()
        }
        "page-rows" => {
            t.root.pages[0].rows += 1;
            t.root.pages[1].rows -= 1;
            t.relaid()
        }
        "word-length" => {
            // A word start "berlin" of a row whose title does not start with it and that has
            // no other: a query "berlin" fetches that row to show it.
            let mut all = Vec::new();
            for i in 0..t.root.pages.len() {
                let p = &t.root.pages[i];
                let list = decode_list(&t.raw(i), &t.head, p.rows_before, p.rows).unwrap();
                let mut row = p.rows_before;
                for (j, r) in list.records.into_iter().enumerate() {
                    if matches!(r.body, RecordBody::Start { .. }) {
                        row += 1;
                        all.push((i, j, row - 1, r));
                    } else {
                        all.push((i, j, u32::MAX, r));
                    }
                }
            }
            let starts_berlin = |row: u32| {
                all.iter()
                    .any(|(_, _, own, r)| *own == row && r.key.starts_with(b"berlin"))
            };
            let berlins = |row: u32| {
                all.iter()
                    .filter(|(_, _, _, r)| {
                        r.key.starts_with(b"berlin")
                            && matches!(r.body, RecordBody::Word { row: w, .. } if w == row)
                    })
                    .count()
            };
            let (page, index) = all
                .iter()
                .find_map(|(i, j, _, r)| match r.body {
                    RecordBody::Word {
                        row,
                        folded_len,
                        pos,
                    } if r.key.starts_with(b"berlin")
                        && folded_len - pos > 7
                        && !starts_berlin(row)
                        && berlins(row) == 1 =>
                    {
                        Some((*i, *j))
                    }
                    _ => None,
                })
                .unwrap();
            edit_list(&mut t, page, |l| {
                if let RecordBody::Word { folded_len, .. } = &mut l[index].body {
                    *folded_len += 1;
                }
            });
            t.relaid()
        }
        "tops-crc" => {
            let mut s = t.section();
            let at = t.root.tops[0].offset as usize + 3;
            s[at] ^= 0x01;
            t.set_section(s);
            t.file()
        }
        "tops-order" | "tops-short" => {
            let j = empty_list(&t);
            edit_tops(&mut t, |p| {
                let l = &mut p.lists[j];
                assert_eq!(l.len(), 10);
                if name == "tops-order" {
                    l.swap(0, 1);
                } else {
                    l.truncate(9);
                }
            });
            t.relaid()
        }
        "root-over-4-mib" => {
            let mut raw = t.root.encode();
            raw.resize(MAX_ROOT_RAW + 1, 0);
            let stored = titles::store(&raw, 3).unwrap();
            t.head.root_len = stored.len() as u32;
            t.head.root_raw_len = raw.len() as u32;
            t.head.root_crc = format::crc32(&stored);
            let mut s = t.head.encode(t.index_crc, t.data_crc).to_vec();
            s.extend_from_slice(&stored);
            for p in &t.pages {
                s.extend_from_slice(p);
            }
            t.set_section(s);
            t.file()
        }
        "prefixes-over-1-mib" => {
            let long = "a".repeat(4000);
            t.root.prefixes = (0..300)
                .map(|j| format!("{long}{j:03}").into_bytes())
                .collect();
            t.root.tops.truncate(1);
            t.root.tops[0].lists = 300;
            let keep = t.root.pages.len() + 1;
            t.pages.truncate(keep);
            t.relaid()
        }
        "page-keys-over-1-mib" => {
            let long = "a".repeat(4000);
            edit_list(&mut t, 0, |l| {
                for (i, r) in l.iter_mut().enumerate() {
                    r.key = format!("{long}{i:06}").into_bytes();
                }
            });
            t.relaid()
        }
        "foreign-title" => {
            edit_list(&mut t, 0, |l| {
                for r in l.iter_mut() {
                    if let RecordBody::Start {
                        title: Some(title), ..
                    } = &mut r.body
                    {
                        title.push_str(" (changed)");
                        return;
                    }
                }
            });
            t.relaid()
        }
        "foreign-key" => {
            edit_list(&mut t, 0, |l| {
                for r in l.iter_mut() {
                    if let RecordBody::Start { key, .. } = &mut r.body {
                        *key = "news/not-an-entry".to_string();
                        return;
                    }
                }
            });
            t.relaid()
        }
        "missing-word" => {
            edit_list(&mut t, 0, |l| {
                let i = l
                    .iter()
                    .position(|r| matches!(r.body, RecordBody::Word { .. }))
                    .unwrap();
                l.remove(i);
            });
            t.relaid()
        }
        "word-key-short" | "word-key-long" | "word-twice" => {
            // Rows' folded titles, from the title starts of every page.
            let mut folded: HashMap<u32, Vec<u8>> = HashMap::new();
            for i in 0..t.root.pages.len() {
                let p = &t.root.pages[i];
                let list = decode_list(&t.raw(i), &t.head, p.rows_before, p.rows).unwrap();
                for (k, &j) in list.starts.iter().enumerate() {
                    folded.insert(
                        p.rows_before + k as u32,
                        list.records[j as usize].key.clone(),
                    );
                }
            }
            let trunc = t.head.trunc as usize;
            edit_list(&mut t, 0, |l| {
                let word = |r: &titles::Record| match r.body {
                    RecordBody::Word {
                        row,
                        folded_len,
                        pos,
                    } => Some((row, (folded_len - pos) as usize, pos as usize)),
                    _ => None,
                };
                match name {
                    "word-key-short" => {
                        let r = l
                            .iter_mut()
                            .find(|r| word(r).is_some_and(|(_, rest, _)| rest.min(trunc) >= 2))
                            .unwrap();
                        let least = word(r).unwrap().1.min(trunc);
                        r.key.truncate(least - 1);
                    }
                    "word-key-long" => {
                        let r = l.iter_mut().find(|r| word(r).is_some()).unwrap();
                        let rest = word(r).unwrap().1;
                        r.key.resize(rest + 1, b'z');
                    }
                    _ => {
                        // A cut key whose one-byte-longer copy still sorts before the next
                        // record.
                        let at = (0..l.len() - 1)
                            .find_map(|i| {
                                let (row, rest, pos) = word(&l[i])?;
                                let k = l[i].key.len();
                                if k >= rest {
                                    return None;
                                }
                                let longer = folded[&row][pos..pos + k + 1].to_vec();
                                let next = l[i + 1].order(u32::MAX);
                                ((longer.as_slice(), row, pos as u32) < next).then_some((i, longer))
                            })
                            .unwrap();
                        let mut twin = l[at.0].clone();
                        twin.key = at.1;
                        l.insert(at.0 + 1, twin);
                    }
                }
            });
            t.relaid()
        }
        _ => panic!("no reject vector {name}"),
    }
}

/// What a reader meets in `bytes`: it opens, every entry reads; then the query fails with
/// `damaged_title_index` (`suggest`), or it succeeds and only full verification finds the
/// damage (`verify`). Verification finds it in both cases.
fn check_reject(name: &str, bytes: &[u8], when: &str, q: &str, limit: Option<usize>) {
    let a = Archive::new(bytes.to_vec()).unwrap_or_else(|e| panic!("{name}: open: {e}"));
    for e in a.iter() {
        let e = e.unwrap_or_else(|e| panic!("{name}: an entry fails: {e}"));
        e.body().unwrap();
    }
    let got = a.suggest(q, limit);
    if let Err(e) = &got {
        eprintln!("{name}: suggest: {e}");
    }
    match when {
        "suggest" => {
            let e = got.expect_err(name);
            assert_eq!(e.code(), "damaged_title_index", "{name}: {e}");
        }
        _ => {
            got.unwrap_or_else(|e| panic!("{name}: the query fails: {e}"));
        }
    }
    let report = Archive::new(bytes.to_vec()).unwrap().verify();
    let first = report
        .problems
        .first()
        .unwrap_or_else(|| panic!("{name}: verify finds nothing"));
    eprintln!("{name}: verify: {first}");
    assert_eq!(
        quire::error::damage_code(first.at, first.kind),
        "damaged_title_index",
        "{name}: {report}"
    );
}

#[test]
fn rejected_title_vectors_fail_with_damaged_title_index() {
    let rdir = dir().join("reject");
    if bless() {
        fs::create_dir_all(&rdir).unwrap();
        let mut lines = Vec::new();
        for &(name, when, q, limit, what) in REJECT {
            fs::write(rdir.join(format!("{name}.quire")), reject_bytes(name)).unwrap();
            let query = (when == "suggest").then(|| json!({"q": q, "limit": limit}));
            lines.push(
                json!({"file": format!("{name}.quire"), "code": "damaged_title_index",
                       "when": when, "query": query, "what": what})
                .to_string(),
            );
        }
        fs::write(
            rdir.join("expected.json"),
            format!("[\n{}\n]\n", lines.join(",\n")),
        )
        .unwrap();
    }
    let listed: Value =
        serde_json::from_str(&fs::read_to_string(rdir.join("expected.json")).unwrap()).unwrap();
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), REJECT.len(), "expected.json is out of date");
    for (l, &(name, when, q, limit, what)) in listed.iter().zip(REJECT) {
        assert_eq!(l["file"], format!("{name}.quire"));
        assert_eq!(l["code"], "damaged_title_index");
        assert_eq!(l["when"], when);
        assert_eq!(l["what"], what);
        if when == "suggest" {
            assert_eq!(l["query"], json!({"q": q, "limit": limit}), "{name}");
        } else {
            assert!(l["query"].is_null(), "{name}");
        }
        let bytes = fs::read(rdir.join(format!("{name}.quire"))).unwrap();
        check_reject(name, &bytes, when, q, limit);
        assert!(
            bytes == reject_bytes(name),
            "{name} is no longer reproduced"
        );
    }
    let all: BTreeSet<String> = REJECT.iter().map(|r| r.0.to_string()).collect();
    assert_eq!(quire_files(&rdir), all, "titles/reject/ holds other files");
}
