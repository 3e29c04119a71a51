//! Makes the files the C test (`bindings/c/tests/test.c`) reads, in `DIR`:
//!
//! - `test.quire`: 3,000 entries of varied sizes (empty, small, many blocks, binary,
//!   duplicates), titles, dates, content types and non-ASCII keys;
//! - `expected.bin`: every entry as the Rust reader (`quire::Archive`) reads it back, in
//!   entry order (format below);
//! - `keys.txt`: the keys, one a line, in entry order;
//! - `truncated.quire`: the first 60% of `test.quire`;
//! - `flipped.quire`: one bit flipped in the middle of the data section (opens; some gets
//!   fail); `flipped-header.quire`: one bit flipped in the header (does not open);
//! - `damaged-page.quire`: the same entries as `test.quire` (so numbered the same), written
//!   with 2 KiB index pages, with one byte flipped in the middle of its second page (its
//!   parent's CRC of it fails); `damaged-page.txt`: `FIRST COUNT`, the entries that page
//!   holds;
//! - `suggest.bin`: title suggestions the Rust reader gives on `test.quire` for a few
//!   queries, with limits (format below);
//! - `titles.quire`: seven entries whose titles differ in case, diacritics and width (the C
//!   test knows their suggestions by heart); `no-index.quire`: the same without a title
//!   index (`IndexKind::None`);
//! - `search.quire`: 600 entries of English-like text with a full-text index
//!   (`IndexKind::Full`, language `eng`): plain text, HTML (with scripts, entities and
//!   page titles), binary, non-ASCII words and characters HTML escapes;
//!   `search-queries.txt`: queries for it, one a line as `LIMIT<TAB>QUERY` (test.sh asks
//!   `quire search --json` for their answers, which the C test compares with its own).
//!
//! ```sh
//! cargo run -p quire-c --example fixture -- DIR
//! ```
//!
//! `expected.bin`, all integers little-endian: `u64 count`, then per entry `u32 key_len,
//! key, u64 body_len, body, u32 title_len_plus_1 (0: no title), title, u32 date (YYYYMMDD,
//! 0: none), u32 content_type_len, content_type`.
//!
//! `suggest.bin`: `u32 count`, then per query `u32 text_len, text, u64 limit (u64::MAX: all),
//! u32 n`, then per suggestion `u32 key_len, key, u32 title_len_plus_1 (0: no title), title,
//! u32 kind (0 title start, 1 word start)`.

use std::path::Path;

use quire::{
    Archive, ArchiveWriter, Date, IndexKind, MatchKind, NewEntry, Overwrite, WriterOptions,
};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// A small deterministic generator (xorshift64*), so the fixture is the same every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn text(rng: &mut Rng, len: usize, words: &[String]) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 16);
    while out.len() < len {
        out.extend_from_slice(words[rng.below(words.len() as u64) as usize].as_bytes());
        out.push(if rng.below(12) == 0 { b'\n' } else { b' ' });
    }
    out.truncate(len);
    out
}

fn write_archive(path: &Path, page_size: Option<u32>) -> Result<()> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let words: Vec<String> = (0..3000)
        .map(|_| {
            let n = 2 + rng.below(9) as usize;
            (0..n)
                .map(|_| (b'a' + rng.below(26) as u8) as char)
                .collect()
        })
        .collect();
    let sections = ["world", "science", "sport", "local", "caf\u{e9}/\u{fc}ber"];
    let mut opts = WriterOptions::new()
        .level(3)
        .overwrite(Overwrite::Replace)
        .created(1_000_000_000);
    if let Some(p) = page_size {
        opts = opts.page_size(p);
    }
    let mut w = ArchiveWriter::create(path, opts)?;
    let mut previous: Vec<Vec<u8>> = Vec::new();
    for i in 0..3000u32 {
        let key = format!("{}/{i:05}", sections[rng.below(5) as usize]);
        let body = match rng.below(100) {
            0..=4 => Vec::new(),
            5..=39 => {
                let n = 1 + rng.below(400) as usize;
                text(&mut rng, n, &words)
            }
            40..=84 => {
                let n = 400 + rng.below(6000) as usize;
                text(&mut rng, n, &words)
            }
            85..=94 => {
                let n = 6000 + rng.below(60_000) as usize;
                text(&mut rng, n, &words)
            }
            95..=96 => (0..(1000 + rng.below(50_000)))
                .map(|_| rng.next() as u8)
                .collect(),
            97 => {
                let n = 100_000 + rng.below(200_000) as usize;
                text(&mut rng, n, &words)
            }
            _ => match previous.len() {
                0 => b"first".to_vec(),
                n => previous[rng.below(n as u64) as usize].clone(),
            },
        };
        let title = format!("Title {i}: {}", words[i as usize % words.len()]);
        let date = Date::new(
            1990 + (i % 35) as u16,
            1 + (i % 12) as u8,
            1 + (i % 28) as u8,
        );
        let mut e = NewEntry::new(&key, &body);
        if rng.below(5) != 0 {
            e = e.title(&title);
        }
        if let (Some(d), true) = (date, rng.below(10) < 7) {
            e = e.date(d);
        }
        if body.first().is_some_and(|b| !b.is_ascii()) {
            e = e.content_type("application/octet-stream");
        } else if rng.below(4) == 0 {
            e = e.content_type("text/html; charset=utf-8");
        }
        if rng.below(3) == 0 {
            e = e.meta("section", sections[i as usize % sections.len()]);
        }
        w.add(&e)?;
        if previous.len() < 50 && body.len() > 64 {
            previous.push(body);
        }
    }
    w.finish()?;
    Ok(())
}

fn write_expected(archive: &Path, out: &Path) -> Result<()> {
    // Read back through the Rust reader: these are the bytes the C test must get.
    let a = Archive::new(std::fs::read(archive)?)?;
    let mut v = Vec::new();
    let mut keys = String::new();
    v.extend_from_slice(&a.len().to_le_bytes());
    for e in &a {
        let e = e?;
        let doc = e.document()?;
        keys.push_str(&doc.key);
        keys.push('\n');
        v.extend_from_slice(&(doc.key.len() as u32).to_le_bytes());
        v.extend_from_slice(doc.key.as_bytes());
        v.extend_from_slice(&(doc.body.len() as u64).to_le_bytes());
        v.extend_from_slice(&doc.body);
        match &doc.title {
            Some(t) => {
                v.extend_from_slice(&(t.len() as u32 + 1).to_le_bytes());
                v.extend_from_slice(t.as_bytes());
            }
            None => v.extend_from_slice(&0u32.to_le_bytes()),
        }
        v.extend_from_slice(&doc.date.map_or(0, |d| d.to_u32()).to_le_bytes());
        v.extend_from_slice(&(doc.content_type.len() as u32).to_le_bytes());
        v.extend_from_slice(doc.content_type.as_bytes());
    }
    std::fs::write(out.join("expected.bin"), v)?;
    std::fs::write(out.join("keys.txt"), keys)?;
    Ok(())
}

/// The title suggestions of the Rust reader on `archive` for a few queries (`suggest.bin`).
fn write_suggestions(archive: &Path, out: &Path) -> Result<()> {
    let a = Archive::new(std::fs::read(archive)?)?;
    let queries = [
        "t",
        "TI",
        "title 1",
        "Title 12",
        "title 2999:",
        "title 1:",
        "a",
        "zz",
        "caf",
        "",
        "x",
        "Title 7: q",
        "nothing-like-this",
    ];
    let mut v = Vec::new();
    let mut cases = 0u32;
    let mut body = Vec::new();
    for q in queries {
        for limit in [Some(10), Some(1), None] {
            let found = a.suggest(q, limit)?;
            cases += 1;
            body.extend_from_slice(&(q.len() as u32).to_le_bytes());
            body.extend_from_slice(q.as_bytes());
            body.extend_from_slice(&limit.map_or(u64::MAX, |l| l as u64).to_le_bytes());
            body.extend_from_slice(&(found.len() as u32).to_le_bytes());
            for s in &found {
                body.extend_from_slice(&(s.key.len() as u32).to_le_bytes());
                body.extend_from_slice(s.key.as_bytes());
                match &s.title {
                    Some(t) => {
                        body.extend_from_slice(&(t.len() as u32 + 1).to_le_bytes());
                        body.extend_from_slice(t.as_bytes());
                    }
                    None => body.extend_from_slice(&0u32.to_le_bytes()),
                }
                let kind: u32 = match s.kind {
                    MatchKind::TitleStart => 0,
                    _ => 1,
                };
                body.extend_from_slice(&kind.to_le_bytes());
            }
        }
    }
    v.extend_from_slice(&cases.to_le_bytes());
    v.extend_from_slice(&body);
    std::fs::write(out.join("suggest.bin"), v)?;
    Ok(())
}

/// Seven entries for the C test's folding checks, with or without a title index.
fn write_titles(path: &Path, index: IndexKind) -> Result<()> {
    let opts = WriterOptions::new()
        .overwrite(Overwrite::Replace)
        .created(1_000_000_000)
        .index(index);
    let mut w = ArchiveWriter::create(path, opts)?;
    let entries: [(&str, Option<&str>); 7] = [
        ("air", Some("Flughafen Zürich")),
        ("lake", Some("Lake Geneva")),
        ("notitle/zurich", None),
        ("street", Some("Straße")),
        ("wide", Some("ｚｕｒｉｃｈ")),
        ("zh", Some("Zürich")),
        ("zh-upper", Some("ZÜRICH")),
    ];
    for (key, title) in entries {
        let mut e = NewEntry::new(key, b"body");
        if let Some(t) = title {
            e = e.title(t);
        }
        w.add(&e)?;
    }
    w.finish()?;
    Ok(())
}

/// Words of the search fixture: English (stemmed: `running`, `runs`), non-ASCII (so that
/// highlights' byte offsets differ from characters') and characters HTML escapes.
const SEARCH_WORDS: &[&str] = &[
    "river",
    "bridge",
    "council",
    "library",
    "school",
    "storm",
    "harbour",
    "market",
    "festival",
    "railway",
    "museum",
    "garden",
    "winter",
    "summer",
    "election",
    "running",
    "runs",
    "runner",
    "café",
    "Zürich",
    "naïve",
    "Straße",
    "Москва",
    "北京",
    "大学",
    "<tag>",
    "&",
    "\"quoted\"",
    "it's",
    "the",
    "of",
    "and",
];

/// Queries for `search.quire`: `LIMIT<TAB>QUERY` lines.
const SEARCH_QUERIES: &[(usize, &str)] = &[
    (10, "river"),
    (3, "river"),
    (1, "river"),
    (100, "river bridge"),
    (10, "\"river bridge\""),
    (10, "run"),
    (10, "running festival"),
    (20, "café"),
    (10, "CAFE zurich"),
    (10, "Москва"),
    (10, "北京"),
    (10, "tag"),
    (10, "quoted"),
    (10, "its"),
    (10, "the"),
    (0, "river"),
    (10, "nothing-like-this"),
    (10, ""),
    (10, "secretword"),
    (10, "page"),
    (10000, "museum winter"),
];

/// `search.quire`: 600 entries with a full-text index in English, and its queries.
fn write_search(dir: &Path) -> Result<()> {
    let mut rng = Rng(0x5EA2_C4F1_7E57_0001);
    let opts = WriterOptions::new()
        .overwrite(Overwrite::Replace)
        .created(1_000_000_000)
        .index(IndexKind::Full)
        .metadata("language", "eng");
    let mut w = ArchiveWriter::create(dir.join("search.quire"), opts)?;
    for i in 0..600u32 {
        let n = [3, 12, 40, 200, 1500][rng.below(5) as usize];
        let words: Vec<&str> = (0..n)
            .map(|_| SEARCH_WORDS[rng.below(SEARCH_WORDS.len() as u64) as usize])
            .collect();
        let text = words.join(if i % 3 == 0 { "\n" } else { " " });
        let key = format!("doc/{i:04}");
        let title = format!(
            "{} {}",
            SEARCH_WORDS[rng.below(12) as usize],
            SEARCH_WORDS[rng.below(SEARCH_WORDS.len() as u64) as usize]
        );
        let body;
        let mut e = if i % 7 == 0 {
            let esc = text
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;");
            body = format!(
                "<html><head><title>Page {i}</title><script>var secretword = 1;</script>\
                 </head><body><p>{esc}</p></body></html>"
            );
            NewEntry::new(&key, body.as_bytes()).content_type("text/html")
        } else if i % 50 == 1 {
            body = format!("\u{0}\u{1} secretword {text}");
            NewEntry::new(&key, body.as_bytes()).content_type("application/octet-stream")
        } else {
            body = text;
            NewEntry::new(&key, body.as_bytes())
        };
        if i % 5 != 0 {
            e = e.title(&title);
        }
        w.add(&e)?;
    }
    w.finish()?;
    let mut queries = String::new();
    for (limit, q) in SEARCH_QUERIES {
        queries.push_str(&format!("{limit}\t{q}\n"));
    }
    std::fs::write(dir.join("search-queries.txt"), queries)?;
    Ok(())
}

/// Flips a byte in the middle of the second index page of the archive at `path` (whose
/// root is a branch over pages); returns the file and the page's first entry and count.
fn damage_second_page(path: &Path) -> Result<(Vec<u8>, u64, u64)> {
    let mut bytes = std::fs::read(path)?;
    let p = quire::format::Prelude::decode(&bytes, bytes.len() as u64)?;
    let h = &p.header;
    if h.index_depth != 1 {
        return Err(format!("index_depth {}, not 1", h.index_depth).into());
    }
    let root_end = h.prelude_len as usize - 4;
    let root = &bytes[root_end - h.root_len as usize..root_end];
    let pages = quire::format::nodes::decode_branch(root, 0).map_err(|e| e.to_string())?;
    if pages.len() < 3 {
        return Err(format!("{} index pages, not 3 or more", pages.len()).into());
    }
    let index = p
        .sections
        .iter()
        .find(|s| s.id == quire::format::SectionId::Index as u32)
        .ok_or("no index section")?;
    let page = &pages[1];
    let at = usize::try_from(index.offset + page.offset)? + page.len as usize / 2;
    let (first, count) = (page.first_entry, page.entries);
    bytes[at] ^= 0x20;
    Ok((bytes, first, count))
}

fn main() -> Result<()> {
    let Some(dir) = std::env::args().nth(1) else {
        eprintln!("usage: fixture DIR");
        std::process::exit(2);
    };
    let dir = Path::new(&dir);
    std::fs::create_dir_all(dir)?;
    let archive = dir.join("test.quire");
    write_archive(&archive, None)?;
    write_expected(&archive, dir)?;
    write_suggestions(&archive, dir)?;
    write_titles(&dir.join("titles.quire"), IndexKind::Titles)?;
    write_titles(&dir.join("no-index.quire"), IndexKind::None)?;
    write_search(dir)?;

    let paged = dir.join("damaged-page.quire");
    write_archive(&paged, Some(2048))?;
    let (damaged, first, count) = damage_second_page(&paged)?;
    std::fs::write(&paged, damaged)?;
    std::fs::write(dir.join("damaged-page.txt"), format!("{first} {count}\n"))?;

    let bytes = std::fs::read(&archive)?;
    std::fs::write(dir.join("truncated.quire"), &bytes[..bytes.len() * 6 / 10])?;
    let a = Archive::new(bytes.clone())?;
    let data = a
        .sections()
        .iter()
        .find(|s| s.id == quire::format::SectionId::Data as u32)
        .ok_or("no data section")?;
    let mut flipped = bytes.clone();
    let at = usize::try_from(data.offset + data.length / 2)?;
    flipped[at] ^= 0x04;
    std::fs::write(dir.join("flipped.quire"), flipped)?;
    let mut header = bytes;
    header[20] ^= 0x01;
    std::fs::write(dir.join("flipped-header.quire"), header)?;
    println!("{}", dir.display());
    Ok(())
}
