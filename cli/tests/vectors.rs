//! The test vectors in `spec/vectors/` (spec §10): archives a reader must accept, with their
//! expected contents, and files it must reject, each with the error it must give.
//!
//! Each accepted `NAME.quire` must read back to exactly `NAME.jsonl` (the `unpack --jsonl`
//! form, spec §9) and pass `verify`, and today's writer (plus, for the files that exercise a
//! reader's tolerance, a documented edit) must reproduce it byte for byte, so a format change
//! cannot slip in unnoticed. Each `reject/NAME.quire` must fail with the kind of error
//! `reject/expected.txt` gives it.
//!
//! After an intended format change (new version, spec updated), regenerate with
//! `QUIRE_BLESS=1 cargo test -p quire-cli --test vectors`.

use std::fs;
use std::path::{Path, PathBuf};

use quire::format::chain::{reseal, reseal_sections, Reseal};
use quire::format::header::{Prelude, SectionRecord, HEADER_FIELDS};
use quire::{
    Archive, ArchiveWriter, DamageKind, Date, DictionaryMode, Location, NewEntry, ReadError,
    WriterOptions,
};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec/vectors")
}

fn bless() -> bool {
    std::env::var_os("QUIRE_BLESS").is_some()
}

fn opts(block_size: u32, dictionary: DictionaryMode) -> WriterOptions {
    WriterOptions::new()
        .level(3)
        .dedup(false)
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

/// The archives the writer makes, by name.
const WRITTEN: [&str; 7] = [
    "empty", "small", "dict", "raw", "shared", "depth1", "depth2",
];
/// Written archives edited in ways a reader must accept (§2.2–§2.4).
const EDITED: [&str; 3] = ["optional-flag", "optional-section", "minor"];

fn build(name: &str) -> Vec<u8> {
    let o = match name {
        "empty" => opts(4096, DictionaryMode::Off),
        "small" | "raw" => opts(256, DictionaryMode::Off),
        "shared" => opts(256, DictionaryMode::Off).dedup(true),
        // One entry per page: enough pages that their branch outgrows the prelude.
        "depth2" => opts(4096, DictionaryMode::Off).page_size(32),
        "depth1" => opts(512, DictionaryMode::Off).page_size(256),
        _ => opts(512, DictionaryMode::On),
    };
    let mut w = ArchiveWriter::in_memory(o).unwrap();
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
            let long = text(2, 1000);
            w.add(&NewEntry::new("a/long-article", long.as_bytes()).title("Spans blocks"))
                .unwrap();
            w.add(&NewEntry::new("ünïcödé/ключ", "Grüße — €".as_bytes()))
                .unwrap();
        }
        "raw" => {
            // Bytes that do not compress: stored raw (codec 0).
            let mut x = 0x1234_5678_u32;
            let noise: Vec<u8> = (0..600)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    x as u8
                })
                .collect();
            w.add(&NewEntry::new("noise", &noise).content_type("application/octet-stream"))
                .unwrap();
            w.add(&NewEntry::new("text", text(3, 30).as_bytes()))
                .unwrap();
        }
        "shared" => {
            let same = text(4, 25);
            for k in ["copy/a", "copy/b", "copy/c"] {
                w.add(&NewEntry::new(k, same.as_bytes()).title(k)).unwrap();
            }
            w.add(&NewEntry::new("other", text(5, 25).as_bytes()))
                .unwrap();
        }
        "depth1" | "depth2" => {
            let n = if name == "depth1" { 60 } else { 1000 };
            for i in 0..n {
                // Long shared prefixes make long separators: the branch over one page per
                // entry outgrows the prelude.
                let key = if name == "depth1" {
                    format!("k/{i:05}")
                } else {
                    format!("depth/two/a/long/shared/prefix/{i:05}")
                };
                let body = if name == "depth1" {
                    text(i, 8)
                } else {
                    String::new()
                };
                w.add(&NewEntry::new(&key, body.as_bytes())).unwrap();
            }
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

/// Sets the header field `name` to `value` (little-endian, its width).
fn set_field(bytes: &mut [u8], name: &str, value: u64) {
    let f = HEADER_FIELDS.iter().find(|f| f.name == name).unwrap();
    bytes[f.offset..f.offset + f.width].copy_from_slice(&value.to_le_bytes()[..f.width]);
}

/// `small.quire` with one more section, of an id no reader knows, after the others.
fn with_unknown_section(small: &[u8]) -> Vec<u8> {
    let p = Prelude::decode(small, small.len() as u64).unwrap();
    let extra = b"an optional section a reader skips";
    let shift = 32;
    let mut sections: Vec<SectionRecord> = p
        .sections
        .iter()
        .map(|s| SectionRecord {
            offset: s.offset + shift,
            ..*s
        })
        .collect();
    let end = small.len() as u64 + shift;
    sections.push(SectionRecord {
        id: 99,
        offset: end,
        length: extra.len() as u64,
        crc: quire::format::crc32(extra),
    });
    let mut h = p.header.clone();
    h.file_len = end + extra.len() as u64;
    let mut out = quire::format::header::encode_prelude(&h, &sections, p.meta, p.ctypes, p.root);
    out.extend_from_slice(&small[p.header.prelude_len as usize..]);
    out.extend_from_slice(extra);
    out
}

fn edited(name: &str) -> Vec<u8> {
    let mut b = build("small");
    match name {
        "optional-flag" => set_field(&mut b, "optional_flags", 1 << 5),
        "minor" => set_field(&mut b, "minor", 1),
        _ => return with_unknown_section(&b),
    }
    assert!(reseal(&mut b, Reseal::default()));
    b
}

fn expected_jsonl(bytes: &[u8]) -> String {
    let archive = Archive::new(bytes).unwrap();
    let mut out = Vec::new();
    quire_cli::unpack::unpack_jsonl(&archive, &mut out, &mut |_| {}).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn accepted_vectors_read_back_and_are_reproduced() {
    let all = WRITTEN.iter().map(|n| (*n, build(n)));
    let all = all.chain(EDITED.iter().map(|n| (*n, edited(n))));
    for (name, fresh) in all {
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
        let report = Archive::new(&stored[..]).unwrap().verify();
        assert!(report.is_ok(), "{name}: {report}");
        assert!(
            stored == fresh,
            "the writer no longer reproduces {name}.quire byte for byte: if the format changed \
             on purpose, bump the version, update spec/FORMAT.md and regenerate with QUIRE_BLESS=1"
        );
    }
}

#[test]
fn vectors_cover_what_the_spec_lists() {
    let open = |n: &str| Archive::new(fs::read(dir().join(format!("{n}.quire"))).unwrap()).unwrap();
    let dict = open("dict");
    assert!(dict.dictionary_len() > 0 && dict.block_count() > 3);
    assert_eq!(
        dict.header().required_flags & quire::format::REQUIRED_DICT,
        1
    );
    let small = open("small");
    assert_eq!(small.header().index_depth, 0);
    let long = small.get("a/long-article").unwrap().unwrap();
    assert!(long.body_len() > 16 * 256, "over one block of 16 targets");
    let raw = fs::read(dir().join("raw.quire")).unwrap();
    assert!(root_blocks(&raw).1.iter().any(|b| b.codec == 0));
    assert!(root_blocks(&raw).1.iter().any(|b| b.codec == 1));
    let shared = open("shared");
    assert_eq!(
        shared.header().optional_flags & quire::format::OPTIONAL_SHARED_BODIES,
        1
    );
    assert!(shared.get("copy/b").unwrap().unwrap().is_shared());
    assert_eq!(open("depth1").header().index_depth, 1);
    assert_eq!(open("depth2").header().index_depth, 2);
    assert_eq!(open("minor").header().minor, 1);
    assert_eq!(open("optional-flag").header().optional_flags, 1 << 5);
    assert!(open("optional-section")
        .sections()
        .iter()
        .any(|s| s.id == 99));
}

/// The files a reader must reject, how each is made, and the error kind it must give (the
/// names of `reject/expected.txt`).
fn reject(name: &str) -> Vec<u8> {
    let mut b = build(if name == "broken-chain" {
        "depth1"
    } else {
        "small"
    });
    match name {
        "bad-magic" => b[1] = b'q',
        "future-major" => {
            set_field(&mut b, "major", 4);
            reseal(&mut b, Reseal::default());
        }
        "unknown-required-flag" => {
            set_field(&mut b, "required_flags", 1 << 7);
            reseal(&mut b, Reseal::default());
        }
        "truncated-prelude" => b.truncate(60),
        "damaged-prelude" => {
            let at = HEADER_FIELDS
                .iter()
                .find(|f| f.name == "entry_count")
                .unwrap();
            b[at.offset] ^= 0x01;
        }
        "stored-checksum" => {
            let last = b.len() - 3;
            b[last] ^= 0x55;
            reseal_sections(&mut b);
        }
        "wrong-decoded-bytes" => {
            // A byte of a raw (codec 0) block changed and the block's stored CRC made to
            // match: only the CRC of the decoded bytes can tell.
            b = build("raw");
            let (data, blocks) = root_blocks(&b);
            let raw = blocks.iter().find(|r| r.codec == 0).expect("a raw block");
            b[(data + raw.offset + 10) as usize] ^= 0x01;
            assert!(reseal(&mut b, Reseal { stored_crcs: true }));
        }
        "wrong-dictionary" => {
            // Another dictionary of the same length: the blocks decode, to other bytes.
            b = with_other_dictionary(&build("dict"));
        }
        "broken-chain" => {
            // A byte of a page changed: the page no longer matches the CRC its parent holds.
            let p = Prelude::decode(&b, b.len() as u64).unwrap();
            let index = p.sections.iter().find(|s| s.id == 2).unwrap();
            assert!(index.length > 0);
            let at = (index.offset + index.length / 2) as usize;
            b[at] ^= 0x20;
            reseal_sections(&mut b);
        }
        _ => unreachable!("{name}"),
    }
    b
}

/// DATA's offset and the block records of the root page (of an archive of depth 0).
fn root_blocks(b: &[u8]) -> (u64, Vec<quire::format::BlockRecord>) {
    let p = Prelude::decode(b, b.len() as u64).unwrap();
    let data = p.sections.iter().find(|s| s.id == 3).unwrap().offset;
    let head = quire::format::PageHead::decode(p.root).unwrap();
    (data, head.run)
}

/// `dict` with its dictionary replaced by other bytes of the same length.
fn with_other_dictionary(b: &[u8]) -> Vec<u8> {
    let p = Prelude::decode(b, b.len() as u64).unwrap();
    let d = p.sections.iter().find(|s| s.id == 1).unwrap();
    let stored = &b[d.offset as usize..(d.offset + d.length) as usize];
    let dict = zstd::bulk::decompress(stored, 1 << 24).unwrap();
    let other: Vec<u8> = dict.iter().rev().map(|c| c ^ 0x20).collect();
    let mut c = zstd::bulk::Compressor::new(3).unwrap();
    c.include_contentsize(true).unwrap();
    let frame = c.compress(&other).unwrap();
    let shift = frame.len() as i64 - d.length as i64;
    let mut sections = p.sections.clone();
    for s in &mut sections {
        if s.offset > d.offset {
            s.offset = (s.offset as i64 + shift) as u64;
        }
        if s.id == 1 {
            s.length = frame.len() as u64;
            s.crc = quire::format::crc32(&frame);
        }
    }
    let mut h = p.header.clone();
    h.file_len = (b.len() as i64 + shift) as u64;
    let mut out = quire::format::header::encode_prelude(&h, &sections, p.meta, p.ctypes, p.root);
    out.extend_from_slice(&b[p.header.prelude_len as usize..d.offset as usize]);
    out.extend_from_slice(&frame);
    out.extend_from_slice(&b[(d.offset + d.length) as usize..]);
    out
}

/// The reject vectors: name, the error kind (as `reject/expected.txt` names it), and what
/// the file is.
const REJECT: [(&str, &str, &str); 10] = [
    ("bad-magic", "not_quire", "the magic number's second byte changed"),
    ("truncated-prelude", "truncated_prelude", "the file cut to 60 bytes, inside its prelude"),
    ("damaged-prelude", "damaged_prelude", "a byte of the header changed; the prelude CRC no longer matches"),
    ("future-major", "unsupported_version", "major version 4, prelude CRC correct"),
    ("unknown-required-flag", "unsupported_feature", "required flag bit 7 set, prelude CRC correct"),
    ("stored-checksum", "damaged_block_stored", "a byte of the last block changed (section CRCs fixed, the block's stored_crc not)"),
    ("wrong-decoded-bytes", "damaged_block_raw", "a byte of a raw block changed and its stored_crc fixed: the decoded bytes fail raw_crc"),
    ("wrong-dictionary", "damaged_block_raw", "the dictionary replaced by other bytes of the same length (DICT's CRC fixed): blocks decode to wrong bytes"),
    ("broken-chain", "damaged_node", "a byte of a page changed (section CRCs fixed): the page fails the CRC its parent holds"),
    ("wrong-major-checksum", "damaged_prelude", "major version 4 without fixing the prelude CRC: damage, not a newer version"),
];

/// The kind of error a reader gives for `bytes`: at open, else at the first problem
/// `verify` finds.
fn kind_of_error(bytes: &[u8]) -> &'static str {
    let from = |e: &ReadError| match e {
        ReadError::BadMagic => "not_quire",
        ReadError::TruncatedPrelude { .. } => "truncated_prelude",
        ReadError::UnsupportedVersion { .. } => "unsupported_version",
        ReadError::UnsupportedFeatures { .. } => "unsupported_feature",
        ReadError::Damaged { at, kind } => match (at, kind) {
            (Location::Prelude, _) => "damaged_prelude",
            (Location::Block(_), DamageKind::ChecksumMismatch) => "damaged_block_stored",
            (Location::Block(_), DamageKind::DecodedChecksumMismatch) => "damaged_block_raw",
            (Location::Block(_), _) => "damaged_block_frame",
            (Location::Node(_) | Location::Root, _) => "damaged_node",
            (Location::Dictionary, _) => "damaged_dictionary",
            (Location::Entry(_), _) => "damaged_entry",
            _ => "other",
        },
        _ => "other",
    };
    match Archive::new(bytes) {
        Err(e) => from(&e),
        Ok(a) => {
            let report = a.verify();
            let Some(p) = report.problems.first() else {
                return "accepted";
            };
            from(&ReadError::Damaged {
                at: p.at,
                kind: p.kind,
            })
        }
    }
}

#[test]
fn rejected_vectors_fail_with_their_error() {
    let rdir = dir().join("reject");
    if bless() {
        fs::create_dir_all(&rdir).unwrap();
        let mut list = String::from("# file<TAB>error kind<TAB>what it is (spec §10, §11)\n");
        for (name, kind, what) in REJECT {
            fs::write(rdir.join(format!("{name}.quire")), reject_bytes(name)).unwrap();
            list.push_str(&format!("{name}.quire\t{kind}\t{what}\n"));
        }
        fs::write(rdir.join("expected.txt"), list).unwrap();
    }
    let listed = fs::read_to_string(rdir.join("expected.txt")).unwrap();
    let mut checked = 0;
    for line in listed.lines().filter(|l| !l.starts_with('#')) {
        let f: Vec<&str> = line.split('\t').collect();
        let bytes = fs::read(rdir.join(f[0])).unwrap();
        assert_eq!(kind_of_error(&bytes), f[1], "{}", f[0]);
        let name = f[0].trim_end_matches(".quire");
        assert!(
            bytes == reject_bytes(name),
            "{name} is no longer reproduced"
        );
        checked += 1;
    }
    assert_eq!(checked, REJECT.len());
}

fn reject_bytes(name: &str) -> Vec<u8> {
    if name == "wrong-major-checksum" {
        let mut b = build("small");
        set_field(&mut b, "major", 4);
        return b;
    }
    reject(name)
}
