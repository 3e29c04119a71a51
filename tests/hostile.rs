//! Hostile archives: files crafted so that a lying field reaches the logic behind the CRC
//! checks (the checksum chain is recomputed after the change: node CRCs in their parents,
//! block CRCs where said, section CRCs and the prelude CRC). Each must give a clean error —
//! or, where a lie with recomputed checksums is indistinguishable from a real archive, at
//! least terminate without a panic — with bounded memory, measured by a counting global
//! allocator.
//!
//! zstd's own C allocations do not go through the Rust allocator; for the decompression bombs
//! (a data block and the dictionary frame) the process's peak resident set size is checked as
//! well (Linux, when `/proc/self/clear_refs` is writable).

use crate::common;
use crate::common::alloc::alone;

use std::io::Write;
use std::sync::{mpsc, OnceLock};
use std::time::Duration;

use common::crafted::{windowed_bomb, with_declared_size};
use common::{
    get_field, options, pack, patch_header, patch_section, put_field, reseal, sample_items,
    Anatomy, Item, Parts, Rng,
};
use quire::format::entries::{BODY_LEN_LIMIT, MAX_LEAD_LEN};
use quire::format::nodes::Child;
use quire::format::{self, Codec, SectionId};
use quire::{Archive, DamageKind, DictionaryMode, Location, ReadError, Rule};

const MIB: usize = 1 << 20;

/// What a hostile archive did to the reader.
#[derive(Debug)]
struct Outcome {
    open_error: Option<ReadError>,
    read_errors: Vec<ReadError>,
    verify: Option<quire::Report>,
    /// Peak bytes allocated above the level before opening.
    peak: usize,
}

impl Outcome {
    /// Whether the damage was reported somewhere: at open, on a read, or by verify.
    fn reported(&self) -> bool {
        self.open_error.is_some()
            || !self.read_errors.is_empty()
            || self.verify.as_ref().is_some_and(|r| !r.is_ok())
    }

    fn open_error(&self) -> &ReadError {
        self.open_error
            .as_ref()
            .unwrap_or_else(|| panic!("expected an error at open: {self:#?}"))
    }

    /// Every damage reported, with its location: at open, on reads, by verify.
    fn damage(&self) -> Vec<(Location, DamageKind)> {
        let errors = self.open_error.iter().chain(&self.read_errors);
        let from_errors = errors.filter_map(|e| Some((e.location()?, e.damage()?)));
        let from_verify = self
            .verify
            .iter()
            .flat_map(|r| &r.problems)
            .map(|p| (p.at, p.kind));
        from_errors.chain(from_verify).collect()
    }

    /// Whether some damage of this kind was reported.
    fn found(&self, kind: DamageKind) -> bool {
        self.damage().iter().any(|(_, k)| *k == kind)
    }

    /// Whether some damage was reported that `want` accepts.
    fn found_where(&self, want: impl Fn(Location, DamageKind) -> bool) -> bool {
        self.damage().into_iter().any(|(at, k)| want(at, k))
    }

    /// Verification found something.
    fn verify_failed(&self) -> bool {
        !self.verify.as_ref().expect("verified").is_ok()
    }
}

/// Opens `bytes` and does everything a reader can do with it — get every key in `keys` and
/// some that are not there, read every title and body, iterate both ways, list prefixes,
/// verify — on a worker thread with a deadline, measuring peak allocation. Panics if it
/// takes over 60 s.
fn exercise(bytes: Vec<u8>, keys: Vec<String>) -> Outcome {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let base = common::alloc::start();
        let mut out = Outcome {
            open_error: None,
            read_errors: Vec::with_capacity(1024),
            verify: None,
            peak: 0,
        };
        match Archive::new(&bytes[..]) {
            Err(e) => out.open_error = Some(e),
            Ok(a) => {
                let errs = &mut out.read_errors;
                let mut note = |e: ReadError| {
                    assert!(!e.to_string().is_empty());
                    if errs.len() < 1000 {
                        errs.push(e);
                    }
                };
                let missing = ["missing", "", "art/", "\u{1F980}"];
                for k in keys.iter().map(String::as_str).chain(missing) {
                    match a.get(k) {
                        Err(e) => note(e),
                        Ok(None) => {}
                        Ok(Some(e)) => {
                            let _ = (e.key(), e.date(), e.content_type(), e.location());
                            if let Err(e) = e.info() {
                                note(e);
                            }
                            if let Err(e) = e.body() {
                                note(e);
                            }
                            if let Err(e) = e.write_body_to(&mut std::io::sink()) {
                                note(e);
                            }
                            if let Err(e) = e.document() {
                                note(e);
                            }
                        }
                    }
                }
                for e in a.iter() {
                    match e.and_then(|e| e.body()) {
                        Ok(_) => {}
                        Err(e) => note(e),
                    }
                }
                for e in a.iter().rev().take(40) {
                    if let Err(e) = e {
                        note(e);
                    }
                }
                for i in [0, 1, a.len().saturating_sub(1), a.len(), u64::MAX] {
                    match a.get_by_index(i).and_then(|e| e.body()) {
                        Ok(_) => {}
                        // Asking past the end is the caller's mistake, not damage.
                        Err(ReadError::EntryOutOfRange { index, len }) if index >= a.len() => {
                            assert_eq!(len, a.len());
                        }
                        Err(e) => note(e),
                    }
                }
                for p in ["", "art/", "art/00", "art/049", "zzz", "\u{FFFF}"] {
                    for e in a.prefix(p) {
                        if let Err(e) = e {
                            note(e);
                        }
                    }
                }
                let report = a.verify();
                let _ = report.to_string();
                out.verify = Some(report);
            }
        }
        out.peak = common::alloc::peak_since(base);
        let _ = tx.send(out);
    });
    rx.recv_timeout(Duration::from_secs(60))
        .expect("the reader finished within 60 s (and did not panic)")
}

fn base_items() -> Vec<Item> {
    sample_items(50, 3)
}

/// The base archive most cases start from: 50 entries, several blocks, no dictionary, the
/// root a page in the prelude.
fn base() -> (Vec<Item>, Vec<u8>) {
    let items = base_items();
    let bytes = pack(&items, options(3, 512, DictionaryMode::Off, 1));
    (items, bytes)
}

/// The same entries with small pages: a root branch over pages in INDEX.
fn deep() -> (Vec<Item>, Vec<u8>) {
    let items = base_items();
    let bytes = pack(
        &items,
        options(3, 512, DictionaryMode::Off, 1).page_size(256),
    );
    (items, bytes)
}

fn keys(items: &[Item]) -> Vec<String> {
    items.iter().map(|i| i.key.clone()).collect()
}

/// Builds the base archive with `f` applied to its parts, laid out again, and runs it.
fn crafted(f: impl FnOnce(&mut Parts)) -> Outcome {
    let (items, bytes) = base();
    let mut parts = Parts::parse(&bytes);
    f(&mut parts);
    exercise(parts.to_bytes(), keys(&items))
}

/// Same for the deep archive, with a hook on the root branch's child records.
fn crafted_deep(
    f: impl FnOnce(&mut Parts),
    hook: impl FnMut(u8, usize, &mut Vec<Child>),
) -> Outcome {
    let (items, bytes) = deep();
    let mut parts = Parts::parse(&bytes);
    f(&mut parts);
    exercise(parts.to_bytes_with(hook), keys(&items))
}

/// Same, but patching the laid-out bytes (prelude CRC recomputed by the patch helpers).
fn patched(f: impl FnOnce(&mut Vec<u8>)) -> Outcome {
    let (items, mut bytes) = base();
    f(&mut bytes);
    exercise(bytes, keys(&items))
}

/// Same, editing the bytes of entry `i`'s encoding in the laid-out base (or deep) archive,
/// then resealing the chain.
fn entry_bytes_edited(deep_tree: bool, i: usize, f: impl FnOnce(&mut [u8])) -> Outcome {
    let (items, mut bytes) = if deep_tree { deep() } else { base() };
    let r = Anatomy::of(&bytes).entry_range(i);
    f(&mut bytes[r]);
    reseal(&mut bytes);
    exercise(bytes, keys(&items))
}

/// A named change to a taken-apart archive.
type Edit = Box<dyn Fn(&mut Parts)>;

fn assert_small(o: &Outcome, limit: usize) {
    assert!(
        o.peak < limit,
        "peak allocation {} bytes exceeds {limit}: {o:#?}",
        o.peak
    );
}

/// The open failed with damage that `want` accepts.
fn assert_damaged_at_open(o: &Outcome, want: impl Fn(Location, DamageKind) -> bool) {
    let e = o.open_error();
    let (at, kind) = match e {
        ReadError::Damaged { at, kind } => (*at, *kind),
        other => panic!("expected damage at open, got {other:?}"),
    };
    assert!(want(at, kind), "unexpected {at:?} {kind:?}: {e}");
    // Open is constant work: the prelude, at most 16 KiB, and what it parses into.
    assert_small(o, MIB);
}

#[test]
fn the_base_archives_are_clean() {
    let Some(_g) = alone() else { return };
    for (items, bytes) in [base(), deep()] {
        let depth = get_field(&bytes, "index_depth");
        let o = exercise(bytes, keys(&items));
        assert!(!o.reported(), "depth {depth}: {o:#?}");
        // Reading everything in a 25 KB archive stays small.
        assert_small(&o, 4 * MIB);
    }
    assert_eq!(get_field(&base().1, "index_depth"), 0);
    assert_eq!(get_field(&deep().1, "index_depth"), 1);
    assert!(Anatomy::of(&deep().1).pages.len() > 3);
}

// ---------------------------------------------------------------------------------------
// Decompression bombs and frames that break §5.

/// One zstd frame that inflates to 1 GiB of zeros (about 32 KB), via the streaming encoder;
/// with `pledge_size` its header declares the 1 GiB. Made once per test binary.
fn bomb(pledge_size: bool) -> &'static [u8] {
    static BOMBS: [OnceLock<Vec<u8>>; 2] = [OnceLock::new(), OnceLock::new()];
    BOMBS[usize::from(pledge_size)].get_or_init(|| {
        let mut enc = zstd::stream::Encoder::new(Vec::new(), 1).expect("encoder");
        if pledge_size {
            enc.include_contentsize(true).expect("param");
            enc.set_pledged_src_size(Some(1 << 30)).expect("pledge");
        }
        enc.include_checksum(false).expect("param");
        let zeros = vec![0u8; MIB];
        for _ in 0..1024 {
            enc.write_all(&zeros).expect("compress");
        }
        enc.finish().expect("finish")
    })
}

/// Resets the kernel's peak-RSS counter; returns the current RSS in KiB when that worked.
fn reset_rss_peak() -> Option<u64> {
    std::fs::write("/proc/self/clear_refs", "5").ok()?;
    status_kib("VmRSS:")
}

fn status_kib(field: &str) -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// An archive of one 1024-byte entry in one block, whose stored bytes are `frame` (stored
/// CRC recomputed, raw CRC the real one).
fn bomb_archive(frame: &[u8], codec: Codec) -> (Vec<u8>, Vec<String>) {
    // A block longer than the bomb's frame: stored bytes are never longer than raw ones.
    let items = vec![Item::new("bomb", vec![7u8; 64 << 10])];
    let bytes = pack(&items, options(3, 64 << 10, DictionaryMode::Off, 1));
    let mut parts = Parts::parse(&bytes);
    assert_eq!(parts.blocks.len(), 1);
    assert_eq!(parts.blocks[0].raw_len, 64 << 10);
    parts.stored[0] = frame.to_vec();
    parts.blocks[0].codec = codec as u8;
    parts.sync_blocks(true);
    (parts.to_bytes(), keys(&items))
}

/// zstd refused the frame, or it gave another length than recorded.
fn is_decode_failure(k: DamageKind) -> bool {
    matches!(k, DamageKind::Undecodable | DamageKind::WrongLength { .. })
}

#[test]
fn decompression_bomb_is_an_error_with_bounded_memory() {
    let Some(_g) = alone() else { return };
    // (frame, what the reader must say)
    type Case = (&'static str, Vec<u8>, fn(DamageKind) -> bool);
    use format::blocks::FrameProblem;
    // The block is 64 KiB: §5's window rule allows a window of at most 64 KiB. The 1 GiB
    // bombs are made with zstd's default window for level 1 (512 KiB), which the reader
    // refuses from the frame header before anything is decompressed.
    let cases: Vec<Case> = vec![
        ("1 GiB, no content size", bomb(false).to_vec(), |k| {
            k == DamageKind::Frame(FrameProblem::Window)
        }),
        ("1 GiB, declaring 1 GiB", bomb(true).to_vec(), |k| {
            k == DamageKind::Frame(FrameProblem::Window)
        }),
        (
            "1 GiB, declaring 64 KiB",
            with_declared_size(bomb(true), 64 << 10),
            |k| k == DamageKind::Frame(FrameProblem::Window),
        ),
        // A 64 KiB window meets the rule; the content size does not.
        (
            "128 MiB in a 64 KiB window, declaring 128 MiB",
            windowed_bomb(16, 128 << 20),
            |k| k == DamageKind::Frame(FrameProblem::ContentSize),
        ),
        // Every frame rule passes: zstd itself must stop at the 64 KiB asked for.
        (
            "128 MiB in a 64 KiB window, declaring 64 KiB",
            with_declared_size(&windowed_bomb(16, 128 << 20), 64 << 10),
            is_decode_failure,
        ),
    ];
    for (what, frame, want) in cases {
        assert!(
            frame.len() < 64 << 10,
            "the bomb is small: {} bytes",
            frame.len()
        );
        let (bytes, keys) = bomb_archive(&frame, Codec::Zstd);
        let rss_before = reset_rss_peak();
        let o = exercise(bytes, keys);
        if let (Some(before), Some(peak)) = (rss_before, status_kib("VmHWM:")) {
            println!(
                "bomb ({what}): RSS peak +{} KiB",
                peak.saturating_sub(before)
            );
            assert!(
                peak.saturating_sub(before) < 64 * 1024,
                "{what}: RSS grew by {} KiB",
                peak - before
            );
        }
        println!("bomb ({what}): peak allocation {} bytes", o.peak);
        assert!(o.open_error.is_none(), "{o:#?}");
        assert!(!o.read_errors.is_empty(), "{o:#?}");
        assert!(
            o.found_where(|at, k| at == Location::Block(0) && want(k)),
            "{what}: {o:#?}"
        );
        assert!(o.verify_failed());
        assert_small(&o, 4 * MIB);
    }
}

#[test]
fn frames_that_break_the_block_rules_are_errors() {
    let Some(_g) = alone() else { return };
    use format::blocks::FrameProblem;
    // The body of bomb_archive's entry, so that a good frame of it reads.
    let raw = vec![7u8; 64 << 10];
    let good = common::frame(&raw);
    let mut with_checksum = zstd::bulk::Compressor::new(3).expect("compressor");
    with_checksum
        .set_parameter(zstd::zstd_safe::CParameter::ChecksumFlag(true))
        .expect("param");
    let checksummed = with_checksum.compress(&raw).expect("compress");
    let mut two = common::frame(&raw[..512]);
    two.extend_from_slice(&common::frame(&raw[512..]));
    let mut skippable = vec![0x50, 0x2A, 0x4D, 0x18, 0, 0, 0, 0];
    skippable.extend_from_slice(&good);
    let mut trailing = good.clone();
    trailing.push(0);
    let cases: Vec<(&str, Vec<u8>, DamageKind)> = vec![
        (
            "fewer bytes than raw_len",
            common::frame(&raw[..100]),
            DamageKind::Frame(FrameProblem::ContentSize),
        ),
        (
            "a zstd checksum",
            checksummed,
            DamageKind::Frame(FrameProblem::ChecksumFlag),
        ),
        (
            "two frames",
            two,
            DamageKind::Frame(FrameProblem::NotOneFrame),
        ),
        (
            "a byte after the frame",
            trailing,
            DamageKind::Frame(FrameProblem::NotOneFrame),
        ),
        (
            "a skippable frame first",
            skippable,
            DamageKind::Frame(FrameProblem::NotAFrame),
        ),
        (
            "not a frame",
            vec![0xAA; 300],
            DamageKind::Frame(FrameProblem::NotAFrame),
        ),
    ];
    for (what, frame, want) in cases {
        let (bytes, keys) = bomb_archive(&frame, Codec::Zstd);
        let o = exercise(bytes, keys);
        assert!(
            o.found_where(|at, k| at == Location::Block(0) && k == want),
            "{what}: {o:#?}"
        );
        assert_small(&o, MIB);
    }
    // A frame declaring raw_len that holds fewer bytes.
    let short = with_declared_size(&common::frame(&Rng::new(4).bytes(300)), 64 << 10);
    let (bytes, keys) = bomb_archive(&short, Codec::Zstd);
    let o = exercise(bytes, keys);
    assert!(
        o.found_where(|at, k| at == Location::Block(0) && is_decode_failure(k)),
        "{o:#?}"
    );
    // The good frame reads.
    let (bytes, keys) = bomb_archive(&good, Codec::Zstd);
    let o = exercise(bytes, keys);
    assert!(!o.reported(), "{o:#?}");
}

// ---------------------------------------------------------------------------------------
// Lying counts and sizes in the header and the section table.

#[test]
fn absurd_counts_in_the_header() {
    let Some(_g) = alone() else { return };
    let prelude =
        |k: fn(DamageKind) -> bool| move |at: Location, kind| at == Location::Prelude && k(kind);
    let over = |k| matches!(k, DamageKind::OverLimit { .. });
    for (field, v) in [
        ("entry_count", 1u64 << 60),
        ("block_count", 1 << 60),
        ("max_block_len", u32::MAX.into()),
        ("section_count", 17),
        ("section_count", u16::MAX.into()),
        ("index_depth", 5),
        ("index_depth", 255),
    ] {
        let o = patched(|b| patch_header(b, field, v));
        assert_damaged_at_open(&o, prelude(over));
    }
    // One byte over the 4 MiB block limit (§2.1): damage in a 3.1 file; in a 3.0 file, an
    // archive written with blocks 3.1 no longer reads (unsupported_feature: re-pack it).
    let limit = u64::from(format::MAX_BLOCK_LEN);
    let o = patched(|b| patch_header(b, "max_block_len", limit + 1));
    assert_damaged_at_open(&o, |at, k| {
        at == Location::Prelude
            && k == DamageKind::OverLimit {
                value: limit + 1,
                limit,
            }
    });
    assert_eq!(o.open_error().code(), "damaged_prelude");
    let o = patched(|b| {
        put_field(b, "minor", 0);
        patch_header(b, "max_block_len", limit + 1)
    });
    assert!(
        matches!(
            o.open_error(),
            ReadError::BlocksOverLimit { max_block_len } if u64::from(*max_block_len) == limit + 1
        ),
        "{o:#?}"
    );
    assert_eq!(o.open_error().code(), "unsupported_feature");
    assert_small(&o, MIB);
    // Over 3.0's 256 MiB limit, a 3.0 file is damaged too.
    let o = patched(|b| {
        put_field(b, "minor", 0);
        patch_header(b, "max_block_len", (1 << 28) + 1)
    });
    assert_damaged_at_open(&o, |at, k| {
        at == Location::Prelude && matches!(k, DamageKind::OverLimit { .. })
    });
    // META and CTYPES over their limits.
    for (field, v) in [("meta_len", 8193u64), ("ctypes_len", 4097)] {
        let o = patched(|b| patch_header(b, field, v));
        assert!(o.open_error.is_some(), "{field}: {o:#?}");
        assert_small(&o, MIB);
    }
    // Over what the index has bytes for: every entry takes at least 7 bytes of its page
    // (§6.4). Under a root page this count also disagrees with the page's own, so two checks
    // of the root fail at open, both damaged_node at the root: §11's table puts the parse
    // first (entry_count), the reader makes the O(1) bound first (see the report).
    let root_count = |at: Location, k: DamageKind| {
        at == Location::Root
            && matches!(k, DamageKind::Violates(Rule::EntryBound | Rule::EntryCount))
    };
    let o = patched(|b| patch_header(b, "entry_count", format::MAX_ENTRIES));
    assert_damaged_at_open(&o, root_count);
    assert_eq!(o.open_error().code(), "damaged_node");
    // Just over the bound: 7 · entry_count = root_len + INDEX's length + 1.
    let o = patched(|b| {
        let room = get_field(b, "root_len") + Anatomy::of(b).index.len() as u64;
        patch_header(b, "entry_count", room / 7 + 1)
    });
    assert_damaged_at_open(&o, root_count);
    // Under a root branch whose records agree with the inflated count, only the bound
    // fails.
    let o = crafted_deep(
        |p| p.header.entry_count += 1_000_000,
        |level, _, c| {
            if level == 1 {
                c.last_mut().expect("child").entries += 1_000_000;
            }
        },
    );
    assert_damaged_at_open(&o, |at, k| {
        at == Location::Root && k == DamageKind::Violates(Rule::EntryBound)
    });
    assert_eq!(o.open_error().code(), "damaged_node");
    // Within the bound, the root must still agree.
    let o = patched(|b| {
        let n = get_field(b, "entry_count");
        patch_header(b, "entry_count", n + 1)
    });
    assert_damaged_at_open(&o, |at, k| {
        at == Location::Root && k == DamageKind::Violates(Rule::EntryCount)
    });
    // Counts that disagree with each other.
    for (field, v) in [
        ("stream_len", 0u64),
        ("block_count", 0),
        ("max_block_len", 0),
    ] {
        let o = patched(|b| patch_header(b, field, v));
        assert_damaged_at_open(&o, |at, k| {
            at == Location::Prelude && k == DamageKind::Violates(Rule::StreamLength)
        });
    }
    let o = patched(|b| {
        let blocks = get_field(b, "block_count");
        patch_header(b, "stream_len", blocks - 1)
    });
    assert_damaged_at_open(&o, |_, k| k == DamageKind::Violates(Rule::StreamLength));
    // Lengths of the prelude's parts that do not add up.
    for (field, d) in [
        ("section_count", 1i64),
        ("meta_len", 1),
        ("ctypes_len", -1),
        ("root_len", 2),
    ] {
        let o = patched(|b| {
            let v = get_field(b, field);
            patch_header(b, field, v.wrapping_add_signed(d))
        });
        assert_damaged_at_open(&o, |at, k| {
            at == Location::Prelude && k == DamageKind::Violates(Rule::PreludeLength)
        });
    }
    // Fewer than three sections: the count's range is checked before the parts are added
    // up (§11), so the table is known to fit before any of it is read.
    for n in [0u64, 2] {
        let o = patched(|b| patch_header(b, "section_count", n));
        assert_damaged_at_open(&o, |at, k| {
            at == Location::Prelude && k == DamageKind::Violates(Rule::RequiredSection)
        });
    }
    // The root is a page: a depth of 1 makes it a branch it is not.
    let o = patched(|b| patch_header(b, "index_depth", 1));
    assert_damaged_at_open(&o, |at, k| {
        at == Location::Root && k == DamageKind::Violates(Rule::NodeKind)
    });
    let o = patched(|b| patch_header(b, "file_len", 1 << 62));
    assert!(
        matches!(o.open_error().damage(), Some(DamageKind::Truncated { .. })),
        "{o:#?}"
    );
    let o = patched(|b| {
        let n = get_field(b, "file_len");
        patch_header(b, "file_len", n - 1)
    });
    assert_damaged_at_open(&o, |at, k| {
        at == Location::File && matches!(k, DamageKind::TrailingBytes { .. })
    });
}

#[test]
fn section_lengths_and_offsets_that_lie() {
    let Some(_g) = alone() else { return };
    let data = SectionId::Data as u32;
    let index = SectionId::Index as u32;
    let tiling = |_: Location, k| k == DamageKind::Violates(Rule::Tiling);
    // The last section runs past the end of the file.
    let o = patched(|b| patch_section(b, data, "length", |l| l + (1 << 40)));
    assert_damaged_at_open(&o, tiling);
    // A middle section longer than it is: the next one overlaps it.
    let o = patched(|b| patch_section(b, index, "length", |l| l + 64));
    assert_damaged_at_open(&o, tiling);
    // Overlapping sections, gaps.
    let o = patched(|b| patch_section(b, data, "offset", |o| o - 8));
    assert_damaged_at_open(&o, tiling);
    let o = patched(|b| patch_section(b, data, "offset", |o| o + 8));
    assert_damaged_at_open(&o, tiling);
    // Offsets and lengths that wrap around u64.
    let o = patched(|b| {
        let off = Anatomy::of(b).data.start as u64;
        patch_section(b, data, "length", |_| u64::MAX - off + 1)
    });
    assert_damaged_at_open(&o, tiling);
    let o = patched(|b| patch_section(b, data, "offset", |_| u64::MAX - 3));
    assert_damaged_at_open(&o, tiling);
    let o = patched(|b| patch_section(b, SectionId::Dict as u32, "length", |_| u64::MAX));
    assert_damaged_at_open(&o, tiling);
    // A required section given an unknown id: missing.
    let o = patched(|b| patch_section(b, index, "id", |_| 99));
    assert_damaged_at_open(&o, |at, k| {
        at == Location::Prelude && k == DamageKind::Violates(Rule::RequiredSection)
    });
    // A section listed twice.
    let o = crafted(|p| p.order.insert(0, SectionId::Dict as u32));
    assert_damaged_at_open(&o, |at, k| {
        at == Location::Prelude && k == DamageKind::Violates(Rule::UniqueSection)
    });
    // A wrong CRC of a section is found by verify, not at open (constant work).
    let o = patched(|b| patch_section(b, data, "crc", |c| c ^ 1));
    assert!(o.open_error.is_none());
    assert!(o.read_errors.is_empty(), "{o:#?}");
    assert!(
        o.found_where(
            |at, k| at == Location::Section(SectionId::Data) && k == DamageKind::ChecksumMismatch
        ),
        "{o:#?}"
    );
}

// ---------------------------------------------------------------------------------------
// The dictionary.

#[test]
fn dictionary_sections_of_absurd_size() {
    let Some(_g) = alone() else { return };
    // Claimed length far past the file.
    let o = patched(|b| patch_section(b, SectionId::Dict as u32, "length", |_| 1 << 62));
    assert!(o.open_error.is_some(), "{o:#?}");
    assert_small(&o, MIB);
    // A real 17 MiB dictionary: over the 16 MiB cap, refused at open without reading it.
    let o = crafted(|p| {
        p.dict = vec![0u8; 17 * MIB];
        p.header.required_flags |= format::REQUIRED_DICT;
    });
    assert_damaged_at_open(&o, |at, k| {
        at == Location::Dictionary && matches!(k, DamageKind::OverLimit { .. })
    });
    // DICT flag and section disagree.
    let o = crafted(|p| p.header.required_flags |= format::REQUIRED_DICT);
    assert_damaged_at_open(&o, |at, k| {
        at == Location::Prelude && k == DamageKind::Violates(Rule::DictFlag)
    });
    let o = crafted(|p| p.dict = b"\x28\xB5\x2F\xFDgarbage".to_vec());
    assert_damaged_at_open(&o, |at, k| {
        at == Location::Prelude && k == DamageKind::Violates(Rule::DictFlag)
    });
}

fn dict_items() -> Vec<Item> {
    sample_items(30, 11)
}

/// The dictionary archive with its DICT section replaced by `stored` (flags kept).
fn with_dict_section(stored: Vec<u8>) -> (Vec<u8>, Vec<String>) {
    let items = dict_items();
    let bytes = pack(&items, options(3, 256, DictionaryMode::On, 1));
    let mut parts = Parts::parse(&bytes);
    assert!(!parts.dict.is_empty());
    parts.dict = stored;
    (parts.to_bytes(), keys(&items))
}

#[test]
fn garbage_dictionary_is_an_error_on_use() {
    let Some(_g) = alone() else { return };
    for garbage in [
        b"\x37\xA4\x30\xEC\x01\x02\x03\x04garbage that is no dictionary".to_vec(),
        Rng::new(5).bytes(4096),
        vec![0xFF; 300],
    ] {
        let (bytes, keys) = with_dict_section(garbage);
        let o = exercise(bytes, keys);
        assert!(o.open_error.is_none(), "{o:#?}");
        assert!(!o.read_errors.is_empty(), "{o:#?}");
        assert!(
            o.found_where(|at, k| at == Location::Dictionary && k == DamageKind::NotAFrame),
            "{o:#?}"
        );
        assert!(o.verify_failed());
        assert_small(&o, 4 * MIB);
    }
}

#[test]
fn dictionary_frames_that_lie() {
    let Some(_g) = alone() else { return };
    // (what the DICT section holds, what the error says, allocation allowed)
    let cases: Vec<(&str, Vec<u8>, DamageKind, usize)> = vec![
        (
            "1 GiB frame declaring 1 GiB",
            bomb(true).to_vec(),
            DamageKind::OverLimit {
                value: 1 << 30,
                limit: format::MAX_DICT_LEN,
            },
            MIB,
        ),
        (
            "1 GiB frame declaring nothing",
            bomb(false).to_vec(),
            DamageKind::NotAFrame,
            MIB,
        ),
        // Its 512 KiB window is over what 1 KiB of content may declare (§5): refused from
        // the frame header, before anything is decompressed.
        (
            "1 GiB frame declaring 1 KiB",
            with_declared_size(bomb(true), 1024),
            DamageKind::Frame(format::blocks::FrameProblem::Window),
            MIB,
        ),
        // A 1 KiB window meets the rule: zstd itself must stop at the 1 KiB asked for.
        (
            "4 MiB frame in a 1 KiB window declaring 1 KiB",
            with_declared_size(&windowed_bomb(10, 4 << 20), 1024),
            DamageKind::Undecodable,
            MIB,
        ),
        // At the 16 MiB limit the reader may allocate the declared 16 MiB, no more.
        (
            "1 GiB frame declaring 16 MiB",
            with_declared_size(bomb(true), 16 << 20),
            DamageKind::Undecodable,
            20 * MIB,
        ),
        (
            "empty frame",
            zstd::bulk::compress(&[], 1).expect("compress"),
            DamageKind::NotAFrame,
            MIB,
        ),
        (
            "not a frame",
            b"\x37\xA4\x30\xEC not a zstd frame".to_vec(),
            DamageKind::NotAFrame,
            MIB,
        ),
        (
            "frame shorter than it declares",
            with_declared_size(
                &zstd::bulk::compress(&[1u8; 1000], 1).expect("compress"),
                2000,
            ),
            DamageKind::Undecodable,
            MIB,
        ),
    ];
    for (what, stored, needle, limit) in cases {
        let (bytes, keys) = with_dict_section(stored);
        let rss_before = reset_rss_peak();
        let o = exercise(bytes, keys);
        if let (Some(before), Some(peak)) = (rss_before, status_kib("VmHWM:")) {
            let grew = peak.saturating_sub(before);
            assert!(grew < 64 * 1024, "{what}: RSS grew by {grew} KiB");
        }
        println!("dictionary {what}: peak allocation {} bytes", o.peak);
        assert!(
            o.open_error.is_none(),
            "{what}: DICT is checked on first use: {o:#?}"
        );
        assert!(
            o.found_where(|at, k| at == Location::Dictionary && k == needle),
            "{what}: wanted {needle:?}: {o:#?}"
        );
        assert!(o.verify_failed(), "{what}");
        assert_small(&o, limit);
    }
    // A well-formed raw dictionary, but not the one the blocks were compressed with: the
    // blocks decode to other bytes (or not at all), which their raw CRCs catch. Entries
    // without a body in a dictionary block still read.
    let junk = zstd::bulk::compress(&Rng::new(3).bytes(3000), 1).expect("compress");
    let (bytes, keys) = with_dict_section(junk);
    let o = exercise(bytes, keys);
    assert!(o.open_error.is_none());
    assert!(!o.read_errors.is_empty());
    assert!(
        o.read_errors.iter().all(|e| matches!(
            e.damage(),
            Some(
                DamageKind::DecodedChecksumMismatch
                    | DamageKind::Undecodable
                    | DamageKind::WrongLength { .. }
            )
        ) && matches!(e.location(), Some(Location::Block(_)))),
        "{o:#?}"
    );
    assert!(o.verify_failed());
    assert_small(&o, 4 * MIB);
}

#[test]
fn dictionary_kind_must_agree_with_the_raw_flag() {
    let Some(_g) = alone() else { return };
    // RAW_DICT without a dictionary.
    let o = crafted(|p| p.header.required_flags |= format::REQUIRED_RAW_DICT);
    assert_damaged_at_open(&o, |at, k| {
        at == Location::Prelude && k == DamageKind::Violates(Rule::DictKind)
    });
    // A raw dictionary whose first bytes are the trained-dictionary magic: zstd would parse
    // it as a trained one, so the reader refuses it.
    let mut content = format::ZSTD_DICT_MAGIC.to_vec();
    content.extend_from_slice(&Rng::new(8).bytes(2000));
    let (bytes, ks) = with_dict_section(zstd::bulk::compress(&content, 1).expect("compress"));
    let o = exercise(bytes, ks);
    assert!(o.open_error.is_none(), "{o:#?}");
    assert!(
        o.found_where(
            |at, k| at == Location::Dictionary && k == DamageKind::Violates(Rule::DictKind)
        ),
        "{o:#?}"
    );
    // The writer's raw dictionary with the flag cleared: a trained dictionary that is not.
    let items = dict_items();
    let mut parts = Parts::parse(&pack(&items, options(3, 256, DictionaryMode::On, 1)));
    assert_ne!(parts.header.required_flags & format::REQUIRED_RAW_DICT, 0);
    parts.header.required_flags &= !format::REQUIRED_RAW_DICT;
    let o = exercise(parts.to_bytes(), keys(&items));
    assert!(o.open_error.is_none(), "{o:#?}");
    assert!(o.found(DamageKind::Violates(Rule::DictKind)), "{o:#?}");
    assert!(o.verify_failed());
}

// ---------------------------------------------------------------------------------------
// META and CTYPES.

#[test]
fn meta_and_ctypes_that_lie() {
    let Some(_g) = alone() else { return };
    // META: a name length past its end; a value length past it; not UTF-8; a repeated name.
    for (what, tail) in [
        ("name past the end", vec![0xFF, 0x7F, b'x']),
        (
            "value past the end",
            vec![1, 0, b'x', 0xFF, 0xFF, 0xFF, 0xFF],
        ),
        ("half a record", vec![1]),
    ] {
        let o = crafted(|p| p.meta.extend_from_slice(&tail));
        assert_damaged_at_open(&o, |at, k| {
            at == Location::Meta && k == DamageKind::Violates(Rule::RecordBounds)
        });
        println!("{what}: {}", o.open_error());
    }
    let o = crafted(|p| p.meta.extend_from_slice(&[1, 0, 0xC0, 0, 0, 0, 0]));
    assert_damaged_at_open(&o, |at, k| at == Location::Meta && k == DamageKind::NotUtf8);
    let o = crafted(|p| {
        let again = p.meta.clone();
        p.meta.extend_from_slice(&again);
    });
    assert_damaged_at_open(&o, |at, k| {
        at == Location::Meta && k == DamageKind::Violates(Rule::Unique)
    });
    // Over the 8 KiB limit, and so large the prelude passes 16 KiB.
    for n in [9000, 20_000] {
        let o = crafted(|p| {
            let big = vec![("x".to_string(), "a".repeat(n))];
            p.meta.extend_from_slice(&format::meta::encode(&big));
        });
        assert!(o.open_error.is_some(), "{o:#?}");
        assert_small(&o, MIB);
    }
    // CTYPES: a record past the end, an empty one, a repeated one, not UTF-8, over 4 KiB.
    for tail in [vec![9, b'x'], vec![0]] {
        let o = crafted(|p| p.ctypes.extend_from_slice(&tail));
        assert_damaged_at_open(&o, |at, k| {
            at == Location::ContentTypes && k == DamageKind::Violates(Rule::RecordBounds)
        });
    }
    let o = crafted(|p| {
        let again = p.ctypes.clone();
        p.ctypes.extend_from_slice(&again);
    });
    assert_damaged_at_open(&o, |at, k| {
        at == Location::ContentTypes && k == DamageKind::Violates(Rule::Unique)
    });
    let o = crafted(|p| p.ctypes.extend_from_slice(&[2, 0xC3, 0x28]));
    assert_damaged_at_open(&o, |at, k| {
        at == Location::ContentTypes && k == DamageKind::NotUtf8
    });
    let o = crafted(|p| {
        for i in 0..40u8 {
            p.ctypes.push(120);
            p.ctypes.extend(std::iter::repeat_n(b'a' + i % 26, 119));
            p.ctypes.push(b'0' + i);
        }
    });
    assert!(o.open_error.is_some(), "{o:#?}");
    // No content types at all, while entries name type 0.
    let o = crafted(|p| p.ctypes.clear());
    assert!(
        o.open_error.is_some() || o.found(DamageKind::UnknownContentType(0)),
        "{o:#?}"
    );
    assert_small(&o, 4 * MIB);
}

// ---------------------------------------------------------------------------------------
// Entries that lie.

/// Entry numbers in the base archive: items are in key order there.
const PLAIN: usize = 1; // a short body, a date, no title
const TITLED: usize = 3; // a title and a body of 40+ bytes
const TITLE_AND_META: usize = 9; // a title, metadata and a body

#[test]
fn the_chosen_entries_are_what_the_tests_assume() {
    let Some(_g) = alone() else { return };
    let items = base_items();
    assert!(items[PLAIN].title.is_none() && !items[PLAIN].body.is_empty());
    assert!(items[TITLED].title.is_some() && items[TITLED].body.len() >= 40);
    assert!(items[TITLE_AND_META].title.is_some() && !items[TITLE_AND_META].meta.is_empty());
    assert_eq!(common::sorted(&items), items);
}

#[test]
fn entry_leads_that_lie() {
    let Some(_g) = alone() else { return };
    // Over the 16 MiB limit: refused when the page is decoded.
    let o = crafted(|p| p.entry_mut(TITLED).lead_len = MAX_LEAD_LEN + 1);
    assert!(
        o.open_error.is_some() || o.found(DamageKind::Violates(Rule::Lead)),
        "{o:#?}"
    );
    assert!(
        o.found_where(|at, k| at == Location::Root && k == DamageKind::Violates(Rule::Lead))
            || o.open_error.is_some(),
        "{o:#?}"
    );
    assert_small(&o, 4 * MIB);
    // Past the stream, or out of the page's blocks: refused before anything is read.
    for lead_at in [u64::MAX - 3, 1 << 40] {
        let o = crafted(|p| p.entry_mut(TITLED).lead_at = lead_at);
        assert!(
            o.found_where(|at, k| at == Location::Entry(TITLED as u64)
                && k == DamageKind::Violates(Rule::BodyRange)),
            "{o:#?}"
        );
        assert_small(&o, 4 * MIB);
    }
    let o = crafted(|p| p.entry_mut(TITLED).lead_len = u32::MAX >> 8);
    assert!(
        o.found(DamageKind::Violates(Rule::BodyRange)) || o.found(DamageKind::Violates(Rule::Lead)),
        "{o:#?}"
    );
    assert_small(&o, 4 * MIB);
    // The lead's fields lie (stream bytes edited, block checksums recomputed): found when
    // the title is read, and by verify; nothing panics.
    let field_len_past_the_end = |p: &mut Parts| {
        let at = p.entries().nth(TITLED).expect("entry").lead_at;
        // tag, then the u32 length (§7.3).
        p.edit_stream(at + 1, |b| {
            b[..4].copy_from_slice(&0x7FFF_FFFFu32.to_le_bytes())
        });
    };
    let o = crafted(field_len_past_the_end);
    assert!(
        o.found_where(|at, k| at == Location::Entry(TITLED as u64)
            && k == DamageKind::Violates(Rule::RecordBounds)),
        "{o:#?}"
    );
    assert!(o.verify_failed());
    let title_not_utf8 = |p: &mut Parts| {
        let at = p.entries().nth(TITLED).expect("entry").lead_at;
        p.edit_stream(at + 5, |b| b[0] = 0xFF);
    };
    let o = crafted(title_not_utf8);
    assert!(
        o.found_where(|at, k| at == Location::Entry(TITLED as u64) && k == DamageKind::NotUtf8),
        "{o:#?}"
    );
    assert!(o.verify_failed());
    // Metadata turned into a second title.
    let two_titles = |p: &mut Parts| {
        let e = p.entries().nth(TITLE_AND_META).expect("entry").clone();
        let title_len = format::strings::encode_fields(Some("Title 9"), []).len() as u64;
        p.edit_stream(e.lead_at + title_len, |b| b[0] = format::FIELD_TITLE);
    };
    let o = crafted(two_titles);
    assert!(
        o.found_where(|at, k| at == Location::Entry(TITLE_AND_META as u64)
            && k == DamageKind::Violates(Rule::OneTitle)),
        "{o:#?}"
    );
    // An unknown field tag is skipped (a later minor version's field).
    let o = crafted(|p| {
        let at = p.entries().nth(TITLED).expect("entry").lead_at;
        p.edit_stream(at, |b| b[0] = 77);
    });
    assert!(!o.reported(), "{o:#?}");
}

#[test]
fn entry_body_lengths_that_lie() {
    let Some(_g) = alone() else { return };
    for len in [BODY_LEN_LIMIT - 1, 1 << 47, 1 << 32, 1 << 20] {
        let o = crafted(|p| p.entry_mut(PLAIN).body_len = len);
        assert!(o.open_error.is_none());
        assert!(
            o.found_where(|at, k| at == Location::Entry(PLAIN as u64)
                && k == DamageKind::Violates(Rule::BodyRange)),
            "{len}: {o:#?}"
        );
        // Reading never holds more than the archive's data, however long the body claims.
        assert_small(&o, 4 * MIB);
    }
    // At 2^48 the page itself is refused: the root page parses whole at open (§6.1).
    let o = crafted(|p| p.entry_mut(PLAIN).body_len = BODY_LEN_LIMIT);
    assert_damaged_at_open(&o, |at, k| {
        at == Location::Root && k == DamageKind::Violates(Rule::BodyRange)
    });
    // A shared body far ahead, inside the page's span of the stream but at no body of the
    // page: the page is refused when it is parsed (here the root, at open).
    let o = crafted(|p| p.entry_mut(PLAIN).shared_body_at = Some(u64::MAX - 1));
    assert_damaged_at_open(&o, |at, k| {
        at == Location::Root && k == DamageKind::Violates(Rule::SharedBody)
    });
    // An empty shared body (§7.1: SHARED needs body_len ≥ 1).
    let o = crafted(|p| {
        let e = p.entry_mut(PLAIN);
        e.shared_body_at = Some(0);
        e.body_len = 0;
    });
    assert_damaged_at_open(&o, |at, k| {
        at == Location::Root && k == DamageKind::Violates(Rule::SharedBody)
    });
    // In a page of INDEX, a shared body that points back before the page, outside its
    // blocks: the entry alone is damaged, on use (§7.1), and its neighbours read.
    let (items, bytes) = deep();
    let an = Anatomy::of(&bytes);
    let page = an
        .pages
        .iter()
        .find(|p| p.head.run.first().is_some_and(|b| b.number > 1))
        .expect("a page whose blocks start after block 1");
    let victim = page.first_entry as usize + 1;
    let mut parts = Parts::parse(&bytes);
    let e = parts.entry_mut(victim);
    assert!(e.lead_at > 1);
    e.shared_body_at = Some(0);
    e.body_len = 1;
    parts.header.optional_flags |= format::OPTIONAL_SHARED_BODIES;
    let o = exercise(parts.to_bytes(), keys(&items));
    assert!(o.open_error.is_none(), "{o:#?}");
    let here =
        |at, k| at == Location::Entry(victim as u64) && k == DamageKind::Violates(Rule::BodyRange);
    assert!(
        o.read_errors.iter().any(|e| e
            .location()
            .zip(e.damage())
            .is_some_and(|(at, k)| here(at, k))),
        "{o:#?}"
    );
    assert!(
        o.read_errors
            .iter()
            .all(|e| e.location() == Some(Location::Entry(victim as u64))),
        "{o:#?}"
    );
    assert!(o.found_where(here), "{o:#?}");
    assert_small(&o, 4 * MIB);
}

#[test]
fn entry_fields_that_lie() {
    let Some(_g) = alone() else { return };
    let cases: Vec<(DamageKind, Edit)> = vec![
        (
            DamageKind::UnknownContentType(999),
            Box::new(|p| p.entry_mut(PLAIN).content_type = 999),
        ),
        (
            DamageKind::UnknownContentType(u32::MAX),
            Box::new(|p| p.entry_mut(PLAIN).content_type = u32::MAX),
        ),
        (
            DamageKind::ImpossibleDate(20_021_399),
            Box::new(|p| p.entry_mut(PLAIN).date = 20_021_399),
        ),
        (
            DamageKind::ImpossibleDate(20_230_229),
            Box::new(|p| p.entry_mut(PLAIN).date = 20_230_229),
        ),
        (
            DamageKind::Violates(Rule::KeyLength),
            Box::new(|p| p.entry_mut(16).key = String::new()),
        ),
        (
            DamageKind::Violates(Rule::RecordBounds),
            Box::new(|p| p.entry_mut(16).key = "k".repeat(5000)),
        ),
    ];
    for (needle, f) in cases {
        let o = crafted(|p| f(p));
        assert!(
            o.open_error.is_some() || o.found(needle),
            "{needle:?}: {o:#?}"
        );
        assert!(o.reported());
        assert_small(&o, 4 * MIB);
    }
}

/// Edits of the bytes of one entry's encoding (as a file system would damage them, the
/// chain resealed), in the root page and in a page of INDEX.
#[test]
fn entry_encodings_that_lie() {
    let Some(_g) = alone() else { return };
    for deep_tree in [false, true] {
        // The key of PLAIN with a marker byte we can find in its encoding.
        let marker = |p: &mut Parts| {
            let e = p.entry_mut(PLAIN);
            e.key.push('Z');
        };
        let build = |f: &dyn Fn(&mut [u8], usize)| {
            let (items, bytes) = if deep_tree { deep() } else { base() };
            let mut parts = Parts::parse(&bytes);
            marker(&mut parts);
            let mut b = parts.to_bytes();
            let r = Anatomy::of(&b).entry_range(PLAIN);
            let z = b[r.clone()]
                .iter()
                .position(|&c| c == b'Z')
                .expect("marker")
                + r.start;
            f(&mut b, z);
            reseal(&mut b);
            exercise(b, keys(&items))
        };
        let page_at = |o: &Outcome, k: DamageKind| {
            o.found_where(|at, kind| kind == k && matches!(at, Location::Root | Location::Node(_)))
        };
        let o = build(&|b, z| b[z] = 0xFF);
        assert!(page_at(&o, DamageKind::NotUtf8), "deep {deep_tree}: {o:#?}");
        let o = build(&|b, z| b[z + 1] |= 0x80);
        assert!(
            page_at(&o, DamageKind::Violates(Rule::EntryFlags)),
            "deep {deep_tree}: {o:#?}"
        );
        assert_small(&o, 4 * MIB);
        // A restart entry (the first of a page) that shares bytes with the one before.
        let first = if deep_tree {
            Anatomy::of(&deep().1).pages[1].first_entry as usize
        } else {
            16
        };
        let o = entry_bytes_edited(deep_tree, first, |b| b[0] = 1);
        assert!(
            page_at(&o, DamageKind::Violates(Rule::Restart)),
            "deep {deep_tree}: {o:#?}"
        );
        assert_small(&o, 4 * MIB);
    }
}

#[test]
fn restart_offsets_that_lie() {
    let Some(_g) = alone() else { return };
    let (items, bytes) = base();
    let an = Anatomy::of(&bytes);
    let page = &an.pages[0];
    assert!(page.head.n > 32);
    for v in [0u16, 1, u16::MAX, page.head.restarts_at as u16] {
        let mut b = bytes.clone();
        // The restart array fills the page to its end (§6.2): restart 1 is its second u16.
        let at = page.range.start + page.head.restarts_at + 2;
        b[at..at + 2].copy_from_slice(&v.to_le_bytes());
        reseal(&mut b);
        let o = exercise(b, keys(&items));
        assert!(
            o.found_where(|at, k| at == Location::Root
                && matches!(k, DamageKind::Violates(Rule::Restart | Rule::RecordBounds))),
            "{v}: {o:#?}"
        );
        assert_small(&o, 4 * MIB);
    }
}

#[test]
fn keys_out_of_order_are_an_error_not_a_wrong_list() {
    let Some(_g) = alone() else { return };
    for deep_tree in [false, true] {
        let (items, bytes) = if deep_tree { deep() } else { base() };
        let an = Anatomy::of(&bytes);
        let mut parts = Parts::parse(&bytes);
        // Two neighbours in one restart group swapped.
        let (a, b) = (20, 21);
        let page = an.locate(a).0.range.clone();
        assert_eq!(an.locate(b).0.range, page, "one page holds both");
        let ka = parts.entry_mut(a).key.clone();
        let kb = std::mem::replace(&mut parts.entry_mut(b).key, ka);
        parts.entry_mut(a).key = kb;
        let crafted = parts.to_bytes();
        // A page is checked whole when it is read (§6.1, §7.1): the root page at open, a
        // page of INDEX on its first use, and the error names the page.
        let at = if deep_tree {
            Location::Node(page.start as u64)
        } else {
            Location::Root
        };
        let same = |e: &ReadError| {
            e.location() == Some(at) && e.damage() == Some(DamageKind::Violates(Rule::KeyOrder))
        };
        if !deep_tree {
            let e = Archive::new(&crafted[..]).expect_err("refused at open");
            assert!(same(&e), "{e:?}");
            assert_eq!(e.code(), "damaged_node");
            let o = exercise(crafted, keys(&items));
            assert_damaged_at_open(&o, |l, k| {
                l == at && k == DamageKind::Violates(Rule::KeyOrder)
            });
        } else {
            let ar = Archive::new(&crafted[..]).expect("open");
            let listed: Vec<_> = ar.prefix("").collect();
            let err = listed
                .iter()
                .find_map(|r| r.as_ref().err())
                .expect("the swap is noticed");
            assert!(same(err), "{err:?}");
            assert_eq!(err.code(), "damaged_node");
            // Keys listed are strictly increasing, and none of the damaged page's.
            let ks: Vec<&str> = listed
                .iter()
                .filter_map(|r| r.as_ref().ok())
                .map(|e| e.key())
                .collect();
            assert!(ks.windows(2).all(|w| w[0] < w[1]));
            assert!(!ks.contains(&items[a].key.as_str()));
            // A lookup of either key is damage too, never a wrong answer or "not found".
            for k in [&items[a].key, &items[b].key] {
                let e = ar.get(k).expect_err("the page is damaged");
                assert!(same(&e), "{k}: {e:?}");
            }
            let report = ar.verify();
            assert!(
                report
                    .problems
                    .iter()
                    .any(|p| p.at == at && p.kind == DamageKind::Violates(Rule::KeyOrder)),
                "{report}"
            );
            let o = exercise(crafted, keys(&items));
            assert_small(&o, 4 * MIB);
        }
        // A key repeated.
        let mut parts = Parts::parse(&bytes);
        let k = parts.entry_mut(5).key.clone();
        parts.entry_mut(6).key = k;
        let o = exercise(parts.to_bytes(), keys(&items));
        let page = an.locate(5).0.range.start as u64;
        assert!(
            o.found_where(|l, kind| kind == DamageKind::Violates(Rule::KeyOrder)
                && l == if deep_tree {
                    Location::Node(page)
                } else {
                    Location::Root
                }),
            "{o:#?}"
        );
        // On the intact archive the same listing is every key, in order.
        let ar = Archive::new(&bytes[..]).expect("open");
        assert_eq!(ar.prefix("").filter(|r| r.is_ok()).count() as u64, ar.len());
    }
}

// ---------------------------------------------------------------------------------------
// Block records that lie.

/// A change to the block records of page `k` of a taken-apart archive.
type PageEdit = Box<dyn Fn(&mut Parts, usize)>;

#[test]
fn block_records_that_lie() {
    let Some(_g) = alone() else { return };
    // Records that break §5 or §6.2 on their own: the page holding them is refused when it is
    // parsed (§6.1, "What a page parses") — the root page at open, a page of INDEX on its
    // first use — and the error names the page, not the block.
    let page_cases: Vec<(DamageKind, PageEdit)> = vec![
        (
            DamageKind::UnknownCodec(7),
            Box::new(|p, k| p.pages[k].run[0].codec = 7),
        ),
        (
            DamageKind::UnknownCodec(255),
            Box::new(|p, k| p.pages[k].run[0].codec = 255),
        ),
        (
            DamageKind::Violates(Rule::BlockLength),
            Box::new(|p, k| p.pages[k].run[0].raw_len = 0),
        ),
        (
            DamageKind::Violates(Rule::BlockLength),
            Box::new(|p, k| p.pages[k].run[0].raw_len = u32::MAX),
        ),
        (
            DamageKind::Violates(Rule::BlockLength),
            Box::new(|p, k| p.pages[k].run[0].raw_len = p.header.max_block_len + 1),
        ),
        (
            // Stored bytes longer than the raw ones (§5: stored_len ≤ raw_len).
            DamageKind::Violates(Rule::BlockLength),
            Box::new(|p, k| p.pages[k].run[0].stored_len = u32::MAX),
        ),
        (
            DamageKind::Violates(Rule::BlockInData),
            Box::new(|p, k| p.pages[k].run[0].offset = u64::MAX - 5),
        ),
        (
            DamageKind::Violates(Rule::BlockInData),
            Box::new(|p, k| p.pages[k].run[0].offset = 1 << 40),
        ),
        (
            DamageKind::Violates(Rule::BlockInData),
            Box::new(|p, k| p.pages[k].run[0].stream_start = u64::MAX - 5),
        ),
        (
            // The run's stream range moved past the stream's end.
            DamageKind::Violates(Rule::BlockInData),
            Box::new(|p, k| {
                let s = p.header.stream_len;
                for r in &mut p.pages[k].run {
                    r.stream_start += s;
                }
            }),
        ),
        (
            // Codec 2 without the DICT flag: damaged_node since 3.1 (§11).
            DamageKind::Violates(Rule::DictFlag),
            Box::new(|p, k| p.pages[k].run[0].codec = Codec::ZstdDict as u8),
        ),
        (
            DamageKind::Violates(Rule::RawBlockLength),
            Box::new(|p, k| {
                let b = &mut p.pages[k].run[0];
                b.codec = Codec::Raw as u8;
                b.stored_len = b.raw_len - 1;
            }),
        ),
        (
            DamageKind::NoSuchBlock(1000),
            Box::new(|p, k| {
                let first = p.pages[k].run[0].number;
                for r in &mut p.pages[k].run {
                    r.number += 1000 - first;
                }
            }),
        ),
        (
            DamageKind::Violates(Rule::BlockRun),
            Box::new(|p, k| {
                // A foreign record of a block inside the run.
                let b = p.pages[k].run[1];
                p.pages[k].foreign.push(b);
            }),
        ),
    ];
    // Records whose lie shows only when the block is read: the error names the block.
    let block_cases: Vec<(DamageKind, PageEdit)> = vec![
        (
            DamageKind::Frame(format::blocks::FrameProblem::NotAFrame),
            Box::new(|p, k| {
                // A zstd block whose bytes are not a frame.
                let b = p.pages[k].run[1].number as usize;
                let n = p.stored[b].len();
                p.stored[b] = vec![0xAA; n];
                p.blocks[b].codec = Codec::Zstd as u8;
                p.sync_blocks(true);
            }),
        ),
        (
            DamageKind::ChecksumMismatch,
            Box::new(|p, k| p.pages[k].run[1].stored_crc ^= 1),
        ),
        (
            DamageKind::DecodedChecksumMismatch,
            Box::new(|p, k| p.pages[k].run[1].raw_crc ^= 1),
        ),
    ];
    for deep_tree in [false, true] {
        let (items, bytes) = if deep_tree { deep() } else { base() };
        let an = Anatomy::of(&bytes);
        // A page with a run of its own of two blocks or more.
        let k = an
            .pages
            .iter()
            .position(|p| p.head.run.len() >= 2 && (!deep_tree || p.first_entry > 0))
            .expect("a page with a run");
        let page_at = if deep_tree {
            Location::Node(an.pages[k].range.start as u64)
        } else {
            Location::Root
        };
        for (needle, f) in &page_cases {
            let mut parts = Parts::parse(&bytes);
            f(&mut parts, k);
            let o = exercise(parts.to_bytes(), keys(&items));
            let here = |at: Location, kind: DamageKind| at == page_at && kind == *needle;
            if deep_tree {
                // Open is constant work and does not read the page.
                assert!(o.open_error.is_none(), "{needle:?}: {o:#?}");
                assert!(!o.read_errors.is_empty(), "{needle:?}: {o:#?}");
                for e in &o.read_errors {
                    let (at, kind) = (e.location(), e.damage());
                    assert!(
                        at.zip(kind).is_some_and(|(a, k)| here(a, k)),
                        "{needle:?}: only the page is damaged: {e:?}"
                    );
                    assert_eq!(e.code(), "damaged_node");
                }
                let report = o.verify.as_ref().expect("verified");
                assert!(
                    report.problems.iter().any(|p| here(p.at, p.kind)),
                    "{needle:?}: {report}"
                );
            } else {
                assert_damaged_at_open(&o, here);
                assert_eq!(o.open_error().code(), "damaged_node");
            }
            assert_small(&o, 4 * MIB);
        }
        for (needle, f) in &block_cases {
            let mut parts = Parts::parse(&bytes);
            let b = parts.pages[k].run[1].number;
            f(&mut parts, k);
            let o = exercise(parts.to_bytes(), keys(&items));
            assert!(o.open_error.is_none(), "{needle:?}: {o:#?}");
            assert!(
                o.read_errors.iter().any(
                    |e| e.location() == Some(Location::Block(b)) && e.damage() == Some(*needle)
                ),
                "{needle:?}: {o:#?}"
            );
            assert!(
                o.found_where(|at, kind| at == Location::Block(b) && kind == *needle),
                "{needle:?}: {o:#?}"
            );
            assert!(o.verify_failed());
            assert_small(&o, 4 * MIB);
        }
    }
}

#[test]
fn runs_of_blocks_that_lie() {
    let Some(_g) = alone() else { return };
    let (items, bytes) = deep();
    let parts = Parts::parse(&bytes);
    let with_run = |f: &dyn Fn(&mut Parts)| {
        let mut p = parts.clone();
        f(&mut p);
        exercise(p.to_bytes(), keys(&items))
    };
    let page = parts
        .pages
        .iter()
        .position(|p| p.run.len() >= 2 && p.run[0].number > 0)
        .expect("a page with its own run");
    // A run that skips a block, and one that repeats blocks of the page before.
    for shift in [1i64, -1] {
        let o = with_run(&|p| {
            let run = p.pages[page].run.clone();
            for (r, b) in p.pages[page].run.iter_mut().zip(&run) {
                let n = (i64::from(b.number) + shift) as usize;
                *r = p.blocks[n.min(p.blocks.len() - 1)];
            }
        });
        assert!(o.open_error.is_none());
        assert!(
            o.verify
                .as_ref()
                .expect("verified")
                .problems
                .iter()
                .any(|p| p.kind == DamageKind::Violates(Rule::BlockRun)),
            "shift {shift}: {o:#?}"
        );
        assert_small(&o, 4 * MIB);
    }
    // Two pages describing one block differently.
    let o = with_run(&|p| {
        let last = p.pages[page - 1].run.last().copied().expect("run");
        if p.pages[page].run[0].number == last.number {
            p.pages[page].run[0].raw_crc ^= 1;
        } else {
            p.pages[page]
                .foreign
                .insert(0, BlockRecordExt::with_crc(last, 1));
        }
    });
    assert!(o.reported(), "{o:#?}");
}

trait BlockRecordExt {
    fn with_crc(self, x: u32) -> Self;
}

impl BlockRecordExt for format::BlockRecord {
    fn with_crc(mut self, x: u32) -> Self {
        self.raw_crc ^= x;
        self
    }
}

// ---------------------------------------------------------------------------------------
// Index nodes that lie.

#[test]
fn branches_that_lie() {
    let Some(_g) = alone() else { return };
    let root = |k: DamageKind| move |at: Location, kind| at == Location::Root && kind == k;
    let node =
        |k: DamageKind| move |at: Location, kind| matches!(at, Location::Node(_)) && kind == k;
    type Hook = fn(&mut Vec<Child>);
    let open_cases: Vec<(&str, Hook, DamageKind)> = vec![
        (
            "entries do not add up",
            |c| c[1].entries += 1,
            DamageKind::Violates(Rule::EntryCount),
        ),
        (
            "a child of no entries",
            |c| c[1].entries = 0,
            DamageKind::Violates(Rule::EntryCount),
        ),
        (
            "a child of length 0",
            |c| c[1].len = 0,
            DamageKind::Violates(Rule::NodeLength),
        ),
        (
            "a child over 16 KiB",
            |c| c[1].len = 16385,
            DamageKind::Violates(Rule::NodeLength),
        ),
        (
            "a first separator",
            |c| c[0].sep = b"a".to_vec(),
            DamageKind::Violates(Rule::Separator),
        ),
        (
            "an empty separator",
            |c| c[2].sep.clear(),
            DamageKind::Violates(Rule::Separator),
        ),
        // §6.4: the root's children end exactly at INDEX's end, checked at open.
        (
            "a length one too long",
            |c| c[2].len += 1,
            DamageKind::Violates(Rule::NodePlace),
        ),
        (
            "children past INDEX",
            |c| c[0].offset = 1 << 40,
            DamageKind::Violates(Rule::NodePlace),
        ),
        (
            "children ending before INDEX's end",
            |c| c.last_mut().expect("child").len -= 1,
            DamageKind::Violates(Rule::NodePlace),
        ),
        (
            "separators swapped",
            |c| {
                let s = std::mem::take(&mut c[1].sep);
                c[1].sep = std::mem::replace(&mut c[2].sep, s);
            },
            DamageKind::Violates(Rule::Separator),
        ),
    ];
    for (what, hook, kind) in open_cases {
        let o = crafted_deep(
            |_| {},
            |level, _, c| {
                if level == 1 {
                    hook(c)
                }
            },
        );
        assert_damaged_at_open(&o, root(kind));
        println!("{what}: {}", o.open_error());
    }
    // Lies found when a child is read.
    let use_cases: Vec<(&str, Hook, DamageKind)> = vec![
        (
            "a wrong CRC",
            |c| c[2].crc ^= 1,
            DamageKind::ChecksumMismatch,
        ),
        (
            // The children still end at INDEX's end: each is read with a byte of the other.
            "a length one too long, the next one too short",
            |c| {
                c[2].len += 1;
                c[3].len -= 1;
            },
            DamageKind::ChecksumMismatch,
        ),
        (
            "entry counts moved between children",
            |c| {
                c[1].entries += 1;
                c[2].entries -= 1;
            },
            DamageKind::Violates(Rule::EntryCount),
        ),
    ];
    for (what, hook, kind) in use_cases {
        let o = crafted_deep(
            |_| {},
            |level, _, c| {
                if level == 1 {
                    hook(c)
                }
            },
        );
        assert!(o.open_error.is_none(), "{what}: {o:#?}");
        assert!(o.found_where(node(kind)), "{what}: {o:#?}");
        assert!(o.verify_failed(), "{what}");
        assert_small(&o, 4 * MIB);
    }
    // A separator above the first key of its child, still increasing: a lookup of that key
    // is sent to child 0, and must not answer "not found" (§6.3): the bounds the lookup
    // carries find child 1's first key below its separator. A walk stops at child 1;
    // verify names it.
    let (items, bytes) = deep();
    let crafted = Parts::parse(&bytes).to_bytes_with(|level, _, c| {
        if level == 1 {
            c[1].sep.push(0xFF);
        }
    });
    let an = Anatomy::of(&crafted);
    let child1 = an.pages[1].range.start as u64;
    let first_of_1 = an.key(an.pages[1].first_entry as usize);
    let bounds = |e: &ReadError| {
        e.location() == Some(Location::Node(child1))
            && e.damage() == Some(DamageKind::Violates(Rule::KeyBounds))
    };
    let ar = Archive::new(&crafted[..]).expect("open");
    let e = ar.get(&first_of_1).expect_err("damage, not \"not found\"");
    assert!(bounds(&e), "{e:?}");
    assert_eq!(e.code(), "damaged_node");
    let listed: Vec<_> = ar.iter().collect();
    assert!(listed.last().is_some_and(|r| r.as_ref().is_err_and(bounds)));
    assert_eq!(
        listed.len(),
        an.pages[0].entries.len() + 1,
        "the walk stops at child 1"
    );
    let report = ar.verify();
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.at == Location::Node(child1)
                && p.kind == DamageKind::Violates(Rule::KeyBounds)),
        "{report}"
    );
    let o = exercise(crafted, keys(&items));
    assert!(o.open_error.is_none());
    assert!(o.read_errors.iter().all(bounds), "{o:#?}");
    assert_small(&o, 4 * MIB);
    // Kinds that do not match the level.
    let o = crafted_deep(|p| p.header.index_depth = 0, |_, _, _| {});
    assert_damaged_at_open(&o, root(DamageKind::Violates(Rule::NodeKind)));
    let o = crafted_deep(|p| p.header.index_depth = 2, |_, _, _| {});
    assert!(
        o.found_where(node(DamageKind::Violates(Rule::NodeKind))),
        "{o:#?}"
    );
    assert_small(&o, 4 * MIB);
}

#[test]
fn a_damaged_page_costs_only_its_entries() {
    let Some(_g) = alone() else { return };
    let (items, bytes) = deep();
    let an = Anatomy::of(&bytes);
    let p = 2;
    let page = &an.pages[p];
    let mut b = bytes.clone();
    b[page.range.start + page.range.len() / 2] ^= 0x20;
    let a = Archive::new(&b[..]).expect("open");
    for (i, it) in common::sorted(&items).iter().enumerate() {
        let got = a.get(&it.key);
        if an.locate(i).0.range == page.range {
            let e = got.expect_err("entry of the damaged page");
            assert_eq!(
                (e.location(), e.damage()),
                (
                    Some(Location::Node(page.range.start as u64)),
                    Some(DamageKind::ChecksumMismatch)
                )
            );
        } else {
            let e = got.expect("other pages").expect("present");
            assert_eq!(e.body().expect("body"), it.body);
        }
    }
    let report = a.verify();
    assert!(
        report
            .problems
            .iter()
            .any(|q| q.at == Location::Node(page.range.start as u64)),
        "{report}"
    );
    // Iteration goes on past the damaged page.
    let ok = a.iter().filter(|e| e.is_ok()).count();
    assert_eq!(ok, an.len() - page.entries.len());
}

// ---------------------------------------------------------------------------------------
// Sweeps.

#[test]
fn every_field_of_the_prelude_set_to_extremes_is_handled() {
    let Some(_g) = alone() else { return };
    // Each numeric field of the header and the section table through extreme values,
    // prelude CRC fixed afterwards: whatever happens, no panic, bounded time and memory,
    // and every change noticed except the harmless ones (a newer minor version, unknown
    // optional flags, the informational block target, a larger max_block_len).
    let (items, bytes) = base();
    let keys = keys(&items);
    let extremes = [
        0u64,
        1,
        0x7F,
        0xFF,
        0xFFFF,
        0xFFFF_FFFF,
        1 << 32,
        1 << 62,
        u64::MAX,
    ];
    let harmless = ["minor", "optional_flags", "block_target", "max_block_len"];
    let mut variants: Vec<(Vec<u8>, bool)> = Vec::new();
    for f in format::header::HEADER_FIELDS {
        for v in extremes {
            let mut b = bytes.clone();
            b[f.offset..f.offset + f.width].copy_from_slice(&v.to_le_bytes()[..f.width]);
            format::header::reseal(&mut b);
            variants.push((b, !harmless.contains(&f.name)));
        }
    }
    let sections = get_field(&bytes, "section_count") as usize;
    for i in 0..sections {
        // The title index (§14) is optional: giving it another id unknown to this reader
        // leaves a valid archive without one.
        let rec = common::section_record_at(i);
        let titles = bytes[rec..rec + 4] == format::titles::SECTION_ID.to_le_bytes();
        for f in format::header::SECTION_FIELDS {
            for v in extremes {
                let mut b = bytes.clone();
                let at = common::section_record_at(i) + f.offset;
                b[at..at + f.width].copy_from_slice(&v.to_le_bytes()[..f.width]);
                format::header::reseal(&mut b);
                variants.push((b, !(titles && f.name == "id")));
            }
        }
    }
    let (mut cases, mut rejected) = (0, 0);
    for (b, must) in variants {
        let changed = b != bytes;
        let o = exercise(b, keys.clone());
        cases += 1;
        if o.reported() {
            rejected += 1;
        } else {
            assert!(
                !(changed && must),
                "a changed prelude went unnoticed: {o:#?}"
            );
        }
        assert_small(&o, 4 * MIB);
    }
    println!("prelude extremes: {rejected} / {cases} reported (the rest unchanged or harmless)");
}

#[test]
fn every_field_of_an_entry_and_a_block_record_set_to_extremes_is_handled() {
    let Some(_g) = alone() else { return };
    // With every checksum recomputed, some of these are indistinguishable from another
    // valid archive (an attacker's, spec §12); none may panic, hang or allocate much.
    let (items, bytes) = deep();
    let keys = keys(&items);
    let extremes = [0u64, 1, 0x7F, 0xFFFF, 0xFFFF_FFFF, 1 << 40, u64::MAX];
    let parts = Parts::parse(&bytes);
    let mut cases = 0;
    let mut reported = 0;
    for v in extremes {
        let entry_edits: Vec<Edit> = vec![
            Box::new(move |p| p.entry_mut(TITLED).lead_at = v),
            Box::new(move |p| p.entry_mut(TITLED).lead_len = v as u32),
            Box::new(move |p| p.entry_mut(TITLED).body_len = v.min(BODY_LEN_LIMIT)),
            Box::new(move |p| p.entry_mut(TITLED).shared_body_at = Some(v)),
            Box::new(move |p| p.entry_mut(TITLED).content_type = v as u32),
            Box::new(move |p| p.entry_mut(TITLED).date = v as u32),
        ];
        let page = parts
            .pages
            .iter()
            .position(|p| p.run.len() >= 2)
            .expect("page");
        let block_edits: Vec<Edit> = vec![
            Box::new(move |p| p.pages[page].run[0].number = v as u32),
            Box::new(move |p| p.pages[page].run[0].offset = v),
            Box::new(move |p| p.pages[page].run[0].stream_start = v),
            Box::new(move |p| p.pages[page].run[1].stored_len = v as u32),
            Box::new(move |p| p.pages[page].run[1].raw_len = v as u32),
            Box::new(move |p| p.pages[page].run[1].codec = v as u8),
            Box::new(move |p| p.pages[page].run[1].stored_crc = v as u32),
            Box::new(move |p| p.pages[page].run[1].raw_crc = v as u32),
        ];
        for f in entry_edits.iter().chain(&block_edits) {
            let mut p = parts.clone();
            f(&mut p);
            let b = p.to_bytes();
            if b == bytes {
                continue;
            }
            let o = exercise(b, keys.clone());
            cases += 1;
            reported += usize::from(o.reported());
            assert_small(&o, 4 * MIB);
        }
    }
    println!("record extremes: {reported} / {cases} reported");
}
