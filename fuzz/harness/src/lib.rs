//! Fuzz harness bodies, shared by the cargo-fuzz targets in `fuzz/` and by
//! `tests/fuzz_corpus.rs`, which replays every committed corpus and regression file through
//! them on the stable toolchain. Not part of the public API.
//!
//! Each harness takes arbitrary bytes, must never panic on them (beyond the invariants it
//! asserts, which are bugs when they fail), and keeps its work bounded by the input size.

use std::collections::HashMap;
use std::io;
use std::path::Path;

use arbitrary::{Result as AResult, Unstructured};

use quire::{Archive, ArchiveWriter, Date, WriteError};
use quire::{DictionaryMode, DuplicatePolicy, NewEntry, WriterOptions};
use quire_cli::ingest::{Line, Packer};
use quire_cli::unpack::{unpack_to_dir, UnpackOptions};
use quire_cli::Error;

mod search;
mod suggest;
mod topology;
pub use search::{reseal_search, search, seeds as search_seeds};
pub use suggest::{seeds as suggest_seeds, suggest};
pub use topology::index_topology;

/// A global allocator that aborts on any single allocation of [`LimitedAlloc::LIMIT`] bytes
/// or more, for the fuzz targets that read archives. libFuzzer's `-malloc_limit_mb` only
/// works through a sanitizer's malloc hooks, which the stable, sanitizer-free build
/// (`--sanitizer none`) lacks; this gives the same check there (the abort is a crash, and
/// libFuzzer keeps the input). The reader's whole heap stays under 64 MiB (spec §12).
pub struct LimitedAlloc;

impl LimitedAlloc {
    /// 64 MiB, as `-malloc_limit_mb=64`.
    pub const LIMIT: usize = 64 << 20;

    fn check(size: usize) {
        if size >= Self::LIMIT {
            // No allocation here: write the message with the raw stderr handle.
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr().lock(),
                "==quire-fuzz== out-of-memory (malloc({size})): over the 64 MiB limit"
            );
            std::process::abort();
        }
    }
}

// SAFETY: every call is passed on to the system allocator unchanged; only the size is read.
#[allow(unsafe_code)]
unsafe impl std::alloc::GlobalAlloc for LimitedAlloc {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        Self::check(layout.size());
        std::alloc::System.alloc(layout)
    }
    unsafe fn alloc_zeroed(&self, layout: std::alloc::Layout) -> *mut u8 {
        Self::check(layout.size());
        std::alloc::System.alloc_zeroed(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        std::alloc::System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new_size: usize) -> *mut u8 {
        Self::check(new_size);
        std::alloc::System.realloc(ptr, layout, new_size)
    }
}

/// Arbitrary bytes as an archive, as they are and again with every checksum recomputed
/// (so that mutations reach the logic behind the CRC checks).
pub fn open_and_read(data: &[u8]) {
    read_everything(data);
    let mut fixed = data.to_vec();
    fix_checksums(&mut fixed);
    read_everything(&fixed);
}

/// Recomputes, as far as the bytes allow, every CRC of the checksum chain (spec §1): each
/// block's `stored_crc` in the pages, each node's CRC in its parent, every section's CRC and
/// the prelude's. (The CRCs of decompressed bytes are left alone: those mutations are meant
/// to reach that check.)
pub fn fix_checksums(b: &mut [u8]) {
    use quire::format::chain::{reseal, Reseal};
    reseal(b, Reseal { stored_crcs: true });
}

/// Opens, iterates, reads every body, looks up every key and some made-up ones, lists
/// prefixes, verifies. If `verify` finds nothing wrong, every read must succeed and agree.
fn read_everything(data: &[u8]) {
    let Ok(archive) = Archive::new(data) else {
        return;
    };
    let report = archive.verify();
    let clean = report.is_ok();
    for (i, entry) in archive.iter().enumerate() {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                assert!(!clean, "verify passed but entry {i} fails: {e}");
                continue;
            }
        };
        let info = entry.info();
        assert!(
            !clean || info.is_ok(),
            "verify passed but the lead of {:?} fails: {info:?}",
            entry.key()
        );
        let body = entry.write_body_to(&mut io::sink());
        assert!(
            !clean || body.is_ok(),
            "verify passed but {:?} fails: {body:?}",
            entry.key()
        );
        match archive.get(entry.key()) {
            Ok(Some(found)) => {
                assert_eq!(found.key(), entry.key());
                assert!(!clean || found.index() == entry.index());
            }
            other => assert!(
                !clean,
                "verify passed but get({:?}) = {other:?}",
                entry.key()
            ),
        }
    }
    for probe in data.chunks(7).take(64) {
        if let Ok(k) = std::str::from_utf8(probe) {
            if let Ok(Some(e)) = archive.get(k) {
                assert_eq!(e.key(), k);
            }
        }
    }
    for prefix in ["", "a", "n", "article/", "\u{10FFFF}"] {
        let mut prev: Option<String> = None;
        for e in archive.prefix(prefix) {
            match e {
                Ok(e) => {
                    assert!(e.key().starts_with(prefix));
                    if clean {
                        if let Some(p) = &prev {
                            assert!(
                                p.as_str() < e.key(),
                                "sorted order broken in a clean archive"
                            );
                        }
                        prev = Some(e.key().to_string());
                    }
                }
                Err(e) => assert!(!clean, "verify passed but listing fails: {e}"),
            }
        }
    }
}

/// One entry as the model keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ModelEntry {
    key: String,
    title: Option<String>,
    date: Option<Date>,
    content_type: Option<String>,
    metadata: Vec<(String, String)>,
    body: Vec<u8>,
}

fn arbitrary_string(u: &mut Unstructured<'_>, max: usize) -> AResult<String> {
    let len = u.int_in_range(0..=max)?;
    let mut s = String::new();
    for _ in 0..len {
        let c = match u.int_in_range(0..=9u8)? {
            0..=5 => char::from(u.int_in_range(b'a'..=b'z')?),
            6 => '/',
            7 => '.',
            8 => u
                .choose(&['é', 'ж', '日', '🦀', ' ', '-', '\u{0}', '\\'])?
                .to_owned(),
            _ => char::from_u32(u.int_in_range(0x20..=0x2FFFF)?).unwrap_or('?'),
        };
        s.push(c);
    }
    Ok(s)
}

fn arbitrary_body(u: &mut Unstructured<'_>) -> AResult<Vec<u8>> {
    Ok(match u.int_in_range(0..=3u8)? {
        0 => Vec::new(),
        1 => {
            let n = u.int_in_range(0..=512)?;
            u.bytes(n)?.to_vec()
        }
        2 => {
            // Compressible: a short pattern repeated.
            let n = u.int_in_range(1..=8)?;
            let pat = u.bytes(n)?.to_vec();
            let n = u.int_in_range(1..=20_000usize)?;
            pat.iter().copied().cycle().take(n).collect()
        }
        _ => arbitrary_string(u, 300)?.into_bytes(),
    })
}

fn arbitrary_options(u: &mut Unstructured<'_>) -> AResult<WriterOptions> {
    Ok(WriterOptions::new()
        // Fast levels, and the binary-tree levels where the writer sizes zstd's tables to
        // the dictionary.
        .level(*u.choose(&[1, 2, 3, 13, 19])?)
        .block_size(u.int_in_range(64..=70_000)?)
        .dictionary(*u.choose(&[
            DictionaryMode::Off,
            DictionaryMode::Auto,
            DictionaryMode::On,
        ])?)
        .dict_size(u.int_in_range(256..=4096)?)
        .threads(u.int_in_range(1..=3)?)
        .pack_nodes(u.arbitrary()?)
        .duplicates(*u.choose(&[
            DuplicatePolicy::Error,
            DuplicatePolicy::First,
            DuplicatePolicy::Last,
        ])?)
        .created(0))
}

/// Arbitrary entries and writer options: pack in memory, read back, compare with a model;
/// pack again on one thread and compare the bytes.
pub fn roundtrip(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(opts) = arbitrary_options(&mut u) else {
        return;
    };
    let mut inputs: Vec<ModelEntry> = Vec::new();
    while let Ok(true) = u.arbitrary::<bool>() {
        if inputs.len() >= 64 {
            break;
        }
        match arbitrary_entry(&mut u) {
            Ok(e) => inputs.push(e),
            Err(_) => break,
        }
    }
    let mut model: Vec<ModelEntry> = Vec::new();
    let bytes = pack_model(&inputs, opts.clone(), Some(&mut model));
    check_against_model(&bytes, &model);
    let single = pack_model(&inputs, opts.threads(1), None);
    assert!(single == bytes, "thread count changed the output");
}

/// One arbitrary entry: key, optional title, date, content type, up to two metadata pairs,
/// a body.
fn arbitrary_entry(u: &mut Unstructured<'_>) -> AResult<ModelEntry> {
    let key = arbitrary_string(u, 24)?;
    let title = if u.arbitrary()? {
        Some(arbitrary_string(u, 40)?)
    } else {
        None
    };
    let date = if u.arbitrary()? {
        Date::new(
            u.int_in_range(0..=9999)?,
            u.int_in_range(1..=12)?,
            u.int_in_range(1..=31)?,
        )
    } else {
        None
    };
    let content_type = if u.arbitrary()? {
        Some(arbitrary_string(u, 30)?)
    } else {
        None
    };
    let mut metadata = Vec::new();
    for _ in 0..u.int_in_range(0..=2)? {
        metadata.push((arbitrary_string(u, 8)?, arbitrary_string(u, 16)?));
    }
    Ok(ModelEntry {
        key,
        title,
        date,
        content_type,
        metadata,
        body: arbitrary_body(u)?,
    })
}

/// Packs `inputs` in memory; with `model`, records what the archive must then hold (the
/// duplicate policy applied), checking each add's result against the policy.
fn pack_model(
    inputs: &[ModelEntry],
    opts: WriterOptions,
    mut model: Option<&mut Vec<ModelEntry>>,
) -> Vec<u8> {
    let mut w = match ArchiveWriter::in_memory(opts.clone()) {
        Ok(w) => w,
        Err(e) => panic!("valid options refused: {e}"),
    };
    for e in inputs {
        let new = NewEntry {
            key: &e.key,
            title: e.title.as_deref(),
            date: e.date,
            content_type: e.content_type.as_deref(),
            metadata: e
                .metadata
                .iter()
                .map(|(a, b)| (a.as_str(), b.as_str()))
                .collect(),
            body: &e.body,
        };
        let r = w.add(&new);
        let Some(model) = model.as_deref_mut() else {
            continue;
        };
        let pos = model.iter().position(|m| m.key == e.key);
        match r {
            Ok(true) => match pos {
                Some(i) => model[i] = e.clone(),
                None => model.push(e.clone()),
            },
            Ok(false) => {
                assert!(pos.is_some() && opts.get_duplicates() == DuplicatePolicy::First)
            }
            Err(WriteError::InvalidKey { .. }) => assert!(e.key.is_empty()),
            // A content type is 1..=255 bytes (spec §4): the empty one is refused.
            Err(WriteError::InvalidEntry { .. }) => assert!(e
                .content_type
                .as_deref()
                .is_some_and(|c| c.is_empty() || c.len() > 255)),
            Err(WriteError::DuplicateKey { .. }) => {
                assert!(pos.is_some() && opts.get_duplicates() == DuplicatePolicy::Error)
            }
            Err(other) => panic!("unexpected error adding {:?}: {other}", e.key),
        }
    }
    match w.finish_into_inner() {
        Ok((out, _)) => out.into_inner(),
        Err(e) => panic!("finish failed: {e}"),
    }
}

/// Every access path of a fresh archive agrees with the model: by key, by entry number
/// (entries are numbered in key order), in order, a missing key, and full verification.
fn check_against_model(bytes: &[u8], model: &[ModelEntry]) {
    let archive = match Archive::new(bytes) {
        Ok(a) => a,
        Err(e) => panic!("fresh archive does not open: {e}"),
    };
    assert_eq!(archive.len(), model.len() as u64);
    let mut sorted: Vec<&ModelEntry> = model.iter().collect();
    sorted.sort_unstable_by(|a, b| a.key.cmp(&b.key));
    for (i, m) in sorted.iter().enumerate() {
        let e = match archive.get(&m.key) {
            Ok(Some(e)) => e,
            other => panic!("get({:?}) = {other:?}", m.key),
        };
        assert_eq!(e.index(), i as u64);
        match archive.get_by_index(i as u64) {
            Ok(by_index) => assert_eq!(by_index.key(), m.key),
            Err(err) => panic!("entry {i}: {err}"),
        }
        let info = match e.info() {
            Ok(i) => i,
            Err(err) => panic!("info of {:?}: {err}", m.key),
        };
        assert_eq!(info.title.as_deref(), m.title.as_deref());
        assert_eq!(e.date(), m.date);
        assert_eq!(
            e.content_type(),
            m.content_type
                .as_deref()
                .unwrap_or(quire::DEFAULT_CONTENT_TYPE)
        );
        assert_eq!(info.metadata, m.metadata);
        match e.body() {
            Ok(b) => assert_eq!(b, m.body, "body of {:?}", m.key),
            Err(err) => panic!("body of {:?}: {err}", m.key),
        }
    }
    let keys: Vec<&str> = sorted.iter().map(|m| m.key.as_str()).collect();
    let in_order: Vec<String> = archive
        .iter()
        .map(|e| e.map(|e| e.key().to_string()).unwrap_or_default())
        .collect();
    assert_eq!(in_order, keys);
    let listed: Vec<String> = archive
        .prefix("")
        .map(|e| e.map(|e| e.key().to_string()).unwrap_or_default())
        .collect();
    assert_eq!(listed, keys);
    assert!(archive.get("\u{0}missing\u{0}").ok().flatten().is_none());
    assert!(archive.verify().is_ok());
}

/// Arbitrary bytes as an archive, unpacked (strictly, then with `--sanitize`) into a
/// directory that already holds a symlink pointing outside: nothing may appear outside it.
pub fn unpack(data: &[u8]) {
    let Ok(archive) = Archive::new(data) else {
        return;
    };
    let Ok(root) = tempfile::tempdir() else {
        return;
    };
    let outside = root.path().join("outside");
    let target = root.path().join("target");
    if std::fs::create_dir(&outside).is_err() || std::fs::create_dir(&target).is_err() {
        return;
    }
    #[cfg(unix)]
    {
        let _ = std::os::unix::fs::symlink(&outside, target.join("link"));
        let _ = std::os::unix::fs::symlink(outside.join("file"), target.join("filelink"));
    }
    for (force, sanitize) in [(false, false), (true, true)] {
        let _ = unpack_to_dir(
            &archive,
            &target,
            UnpackOptions { force, sanitize },
            &mut |_| {},
        );
        assert_only_inside(root.path(), &target, &outside);
    }
}

fn assert_only_inside(root: &Path, target: &Path, outside: &Path) {
    let Ok(listing) = std::fs::read_dir(outside) else {
        panic!("the outside directory vanished");
    };
    assert_eq!(
        listing.count(),
        0,
        "something was written outside the target"
    );
    let Ok(top) = std::fs::read_dir(root) else {
        return;
    };
    for e in top.flatten() {
        let p = e.path();
        assert!(
            p == target || p == outside,
            "{} appeared beside the target",
            p.display()
        );
    }
}

/// Arbitrary bytes as JSONL input to the pack front end: either a clean error, or an archive
/// that holds exactly what the lines said.
pub fn jsonl_pack(data: &[u8]) {
    let (policy, rest) = match data.split_first() {
        Some((b, rest)) => (
            match b % 3 {
                0 => DuplicatePolicy::Error,
                1 => DuplicatePolicy::First,
                _ => DuplicatePolicy::Last,
            },
            rest,
        ),
        None => (DuplicatePolicy::Error, data),
    };
    // Raw index nodes: packing them (at level 19) is not what this target tests, and would
    // take most of an input's time.
    let opts = WriterOptions::new()
        .level(1)
        .threads(1)
        .block_size(4096)
        .pack_nodes(false)
        .duplicates(policy)
        .created(0);
    let Ok(w) = ArchiveWriter::in_memory(opts) else {
        return;
    };
    let mut packer = Packer::new(w);
    let result = packer.add_jsonl(rest, "fuzz", &mut |_| {});
    // The model: what the lines say, under the same policy.
    let mut model: HashMap<String, Vec<u8>> = HashMap::new();
    let text = String::from_utf8_lossy(rest);
    if let Err(e) = result {
        assert!(
            matches!(e, Error::Input(_) | Error::Io(_)),
            "unexpected error kind: {e}"
        );
        return;
    }
    let Ok(text) = std::str::from_utf8(rest) else {
        panic!("non-UTF-8 input was accepted: {text}");
    };
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        if let Ok(Line::Entry(r)) = quire_cli::ingest::parse_jsonl_line(line, &n.to_string()) {
            match policy {
                DuplicatePolicy::First => {
                    model.entry(r.key).or_insert(r.body);
                }
                _ => {
                    model.insert(r.key, r.body);
                }
            }
        }
    }
    let (out, _) = match packer.into_writer().finish_into_inner() {
        Ok(x) => x,
        Err(e) => panic!("finish failed after accepted input: {e}"),
    };
    let bytes = out.into_inner();
    let archive = match Archive::new(&bytes[..]) {
        Ok(a) => a,
        Err(e) => panic!("packed JSONL does not open: {e}"),
    };
    assert_eq!(archive.len(), model.len() as u64);
    for (k, body) in &model {
        match archive.get(k) {
            Ok(Some(e)) => assert_eq!(e.body().ok().as_ref(), Some(body)),
            other => panic!("get({k:?}) = {other:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use quire::format::header::{HEADER_LEN, SECTION_RECORD_LEN};
    use quire::format::{nodes, varint_len, PageHead, SectionId};
    use quire::Archive;

    /// Breaks, in a copy of the vector `name`, every section CRC, the prelude's CRC, the CRC
    /// of the first node on each level of the index (in its parent) and the stored CRC of
    /// the first block of the first page that has one; `fix_checksums` must repair them all.
    fn repairs(name: &str, depth: u8) {
        let path = format!("{}/../../spec/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
        let good = std::fs::read(path).expect("vector");
        let a = Archive::new(&good[..]).expect("the vector opens");
        let h = a.header().clone();
        assert_eq!(h.index_depth, depth, "{name}");
        let index = a
            .sections()
            .iter()
            .find(|s| s.id == SectionId::Index as u32)
            .expect("INDEX")
            .offset as usize;
        drop(a);
        let mut b = good.clone();
        for i in 0..usize::from(h.section_count) {
            b[HEADER_LEN + SECTION_RECORD_LEN * i + 24] ^= 0xFF;
        }
        let root_end = h.prelude_len as usize - 4;
        b[root_end] ^= 1;
        // Down the tree: in each branch, break its first child's CRC and keep its children
        // to look for a page with blocks among them.
        let mut node = (root_end - h.root_len as usize)..root_end;
        let mut pages = Vec::new();
        for level in (1..=depth).rev() {
            let mut children = nodes::decode_branch(&b[node.clone()], 0).expect("branch");
            let first = index + children[0].offset as usize;
            children[0].crc ^= 0xFFFF;
            b[node.clone()].copy_from_slice(&nodes::encode_branch(&children));
            if level == 1 {
                pages = children
                    .iter()
                    .map(|c| {
                        index + c.offset as usize..index + (c.offset + u64::from(c.len)) as usize
                    })
                    .collect();
            }
            node = first..first + children[0].len as usize;
        }
        if depth == 0 {
            pages.push(node);
        }
        let with_blocks = pages.into_iter().find_map(|p| {
            let head = PageHead::decode(&b[p.clone()]).expect("page");
            (!head.run.is_empty()).then_some((p.start, head))
        });
        if let Some((at, head)) = with_blocks {
            let first = head.run[0];
            let vl = varint_len;
            let crc_at = at
                + 1
                + vl(head.n as u64)
                + vl(head.run.len() as u64)
                + vl(first.number.into())
                + vl(first.offset)
                + vl(first.stream_start)
                + vl(first.stored_len.into())
                + vl(first.raw_len.into())
                + 1;
            assert_eq!(b[crc_at..crc_at + 4], first.stored_crc.to_le_bytes());
            b[crc_at] ^= 0xFF;
        } else {
            assert_eq!(h.block_count, 0, "{name}: no page has blocks");
        }

        assert!(Archive::new(&b[..]).is_err());
        super::fix_checksums(&mut b);
        // Only checksums were broken, so recomputing them gives the original back.
        assert!(b == good, "{name}: fix_checksums left a checksum wrong");
    }

    #[test]
    fn fix_checksums_repairs_every_crc() {
        repairs("small.quire", 0);
        repairs("depth1.quire", 1);
        repairs("depth2.quire", 2);
    }

    #[test]
    fn fix_checksums_takes_any_bytes() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../spec/vectors/depth1.quire"
        );
        let good = std::fs::read(path).expect("vector");
        for len in [0, 1, 21, 95, 96, 200, good.len() / 2, good.len() - 1] {
            let mut b = good[..len].to_vec();
            super::fix_checksums(&mut b);
        }
        let mut b = good.clone();
        for i in (0..b.len()).step_by(97) {
            b[i] ^= 0xA5;
        }
        super::fix_checksums(&mut b);
    }
}
