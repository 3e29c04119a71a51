//! The test vectors in `spec/vectors/`: small archives with their expected contents.
//!
//! Each `NAME.quire` must read back to exactly `NAME.jsonl` (the `unpack --jsonl` form), and
//! today's writer must reproduce each `NAME.quire` byte for byte, so a format change cannot
//! slip in unnoticed. `hash.txt` checks the key hash of spec §7.
//!
//! After an intended format change (new version, spec updated), regenerate with
//! `QUIRE_BLESS=1 cargo test --test vectors`.

use std::fs;
use std::path::{Path, PathBuf};

use quire::{Archive, ArchiveWriter, Date, DictionaryMode, NewEntry, WriterOptions};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec/vectors")
}

fn bless() -> bool {
    std::env::var_os("QUIRE_BLESS").is_some()
}

fn opts(block_size: u32, dictionary: DictionaryMode) -> WriterOptions {
    WriterOptions::new()
        .level(3)
        .block_size(block_size)
        .dictionary(dictionary)
        .dict_size(1024)
        .threads(1)
        .created(1_000_000_000)
        .metadata("title", "quire test vector")
        .metadata("source", "spec/vectors")
        .metadata("tool", "quire test vectors")
}

/// Deterministic article-like text.
fn text(i: usize, words: usize) -> String {
    const W: [&str; 16] = [
        "the", "council", "said", "on", "monday", "that", "harbour", "bridge", "would", "reopen",
        "after", "repairs", "to", "its", "northern", "span",
    ];
    let mut s = String::new();
    let mut x = i as u64 * 2_654_435_761 + 7;
    for n in 0..words {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        if n > 0 {
            s.push(' ');
        }
        s.push_str(W[(x % 16) as usize]);
    }
    s.push('.');
    s
}

fn build(name: &str) -> Vec<u8> {
    let mut w = match name {
        "empty" => ArchiveWriter::in_memory(opts(4096, DictionaryMode::Off)),
        "small" => ArchiveWriter::in_memory(opts(256, DictionaryMode::Off)),
        _ => ArchiveWriter::in_memory(opts(512, DictionaryMode::On)),
    }
    .unwrap();
    match name {
        "empty" => {}
        "small" => {
            let body = text(1, 60);
            w.add(
                &NewEntry::new("news/2002/embassy", body.as_bytes())
                    .title("Asylum Seekers Break Into Embassy")
                    .date(Date::new(2002, 3, 14).unwrap())
                    .meta("lang", "en")
                    .meta("section", "world"),
            )
            .unwrap();
            w.add(&NewEntry::new("empty", b"")).unwrap();
            w.add(
                &NewEntry::new("bin/noise.bin", &[0, 1, 2, 255, 254, 0, 7])
                    .content_type("application/octet-stream"),
            )
            .unwrap();
            let long = text(2, 120);
            w.add(&NewEntry::new("a/long-article", long.as_bytes()).title("Spans blocks"))
                .unwrap();
            w.add(&NewEntry::new("ünïcödé/ключ", "Grüße — €".as_bytes()))
                .unwrap();
        }
        _ => {
            for i in 0..40 {
                let key = format!("article/{i:03}");
                let body = text(i, 20 + i % 30);
                let title = format!("Article number {i}");
                let mut e = NewEntry::new(&key, body.as_bytes()).title(&title);
                if i % 3 == 0 {
                    e = e.date(
                        Date::new(2000 + i as u16, 1 + (i % 12) as u8, 1 + (i % 28) as u8).unwrap(),
                    );
                }
                w.add(&e).unwrap();
            }
        }
    }
    w.finish_into_inner().unwrap().0.into_inner()
}

fn expected_jsonl(bytes: &[u8]) -> String {
    let archive = Archive::new(bytes).unwrap();
    let mut out = Vec::new();
    quire_cli::unpack::unpack_jsonl(&archive, &mut out, &mut |_| {}).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn vectors_read_back_and_are_reproduced() {
    for name in ["empty", "small", "dict"] {
        let fresh = build(name);
        let qpath = dir().join(format!("{name}.quire"));
        let jpath = dir().join(format!("{name}.jsonl"));
        if bless() {
            fs::create_dir_all(dir()).unwrap();
            fs::write(&qpath, &fresh).unwrap();
            fs::write(&jpath, expected_jsonl(&fresh)).unwrap();
        }
        let stored = fs::read(&qpath).unwrap_or_else(|e| panic!("{}: {e}", qpath.display()));
        let want = fs::read_to_string(&jpath).unwrap();
        assert_eq!(
            expected_jsonl(&stored),
            want,
            "{name}.quire does not read back to {name}.jsonl"
        );
        assert!(Archive::new(&stored[..]).unwrap().verify().is_ok());
        assert!(
            stored == fresh,
            "the writer no longer reproduces {name}.quire byte for byte: if the format changed \
             on purpose, bump the version, update spec/FORMAT.md and regenerate with QUIRE_BLESS=1"
        );
    }
}

#[test]
fn dict_vector_uses_a_dictionary_and_several_blocks() {
    let bytes = fs::read(dir().join("dict.quire")).unwrap();
    let a = Archive::new(&bytes[..]).unwrap();
    assert!(a.dictionary_len() > 0);
    assert!(a.block_count() > 3);
    assert_eq!(a.header().required_flags & quire::format::REQUIRED_DICT, 1);
    let small = fs::read(dir().join("small.quire")).unwrap();
    let s = Archive::new(&small[..]).unwrap();
    // The long article spans more than one 256-byte block.
    let e = s.get("a/long-article").unwrap().unwrap();
    assert!(e.body_len() > 256);
}

#[test]
fn hash_vectors() {
    let path = dir().join("hash.txt");
    let keys: [&[u8]; 6] = [
        b"",
        b"a",
        b"article/1",
        b"news/2002/embassy",
        "ключ".as_bytes(),
        &[b'x'; 300],
    ];
    if bless() {
        let mut s =
            String::from("# seed<TAB>key as hex<TAB>XXH3_64bits_withSeed(key, seed) as hex\n");
        for seed in [0u64, 1, 0x9E37_79B9_7F4A_7C15] {
            for k in keys {
                let hex: String = k.iter().map(|b| format!("{b:02x}")).collect();
                s.push_str(&format!(
                    "{seed}\t{hex}\t{:016x}\n",
                    quire::format::key_hash(k, seed)
                ));
            }
        }
        fs::write(&path, s).unwrap();
    }
    let text = fs::read_to_string(&path).unwrap();
    let mut checked = 0;
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let f: Vec<&str> = line.split('\t').collect();
        let seed: u64 = f[0].parse().unwrap();
        let key: Vec<u8> = (0..f[1].len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&f[1][i..i + 2], 16).unwrap())
            .collect();
        let want = u64::from_str_radix(f[2], 16).unwrap();
        assert_eq!(quire::format::key_hash(&key, seed), want, "{line}");
        checked += 1;
    }
    assert_eq!(checked, 18);
    // The two values written into spec/FORMAT.md §7.
    assert_eq!(quire::format::key_hash(b"", 0), 0x2d06_8005_38d3_94c2);
    assert_eq!(quire::format::key_hash(b"a", 0), 0xe6c6_32b6_1e96_4e1f);
}
