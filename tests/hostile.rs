//! Hostile archives: files crafted so that a lying field reaches the logic behind the CRC
//! checks (every record, section and header CRC is recomputed after the change). Each must
//! give a clean error — or, for the index cases, at least terminate without a panic — with
//! bounded memory, measured by a counting global allocator.
//!
//! zstd's own C allocations do not go through the Rust allocator; for the decompression bombs
//! (a data block and the dictionary frame) the process's peak resident set size is checked as
//! well (Linux, when `/proc/self/clear_refs` is writable).

mod common;

use std::io::Write;
use std::sync::{mpsc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use common::{options, pack, patch_header, patch_section, sample_items, Item, Parts, Rng};
use quire::format::{self, Codec, SectionId, Slot, NO_ENTRY, SLOTS_PER_BUCKET};
use quire::{Archive, DamageKind, DictionaryMode, Location, ReadError, Rule};

#[global_allocator]
static ALLOC: common::alloc::Counting = common::alloc::Counting;

/// Tests here run one at a time so that the peak of one is not another's.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

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
}

/// Opens `bytes` and does everything a reader can do with it — get every key in `keys` and
/// some that are not there, read every body, iterate, list prefixes, verify — on a worker
/// thread with a deadline, measuring peak allocation. Panics if it takes over 60 s.
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
                        }
                    }
                }
                for e in a.iter() {
                    match e.and_then(|e| e.body()) {
                        Ok(_) => {}
                        Err(e) => note(e),
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

/// The base archive most cases start from: 50 entries, several blocks, no dictionary.
fn base() -> (Vec<Item>, Vec<u8>) {
    let items = sample_items(50, 3);
    let bytes = pack(&items, options(3, 512, DictionaryMode::Off, 1));
    (items, bytes)
}

fn keys(items: &[Item]) -> Vec<String> {
    items.iter().map(|i| i.key.clone()).collect()
}

/// Builds the base archive with `f` applied to its parts, every CRC recomputed, and runs it.
fn crafted(f: impl FnOnce(&mut Parts)) -> Outcome {
    let (items, bytes) = base();
    let mut parts = Parts::parse(&bytes);
    f(&mut parts);
    exercise(parts.to_bytes(), keys(&items))
}

/// Same, but patching the laid-out bytes (header or section table, header CRC recomputed).
fn patched(f: impl FnOnce(&mut Vec<u8>)) -> Outcome {
    let (items, mut bytes) = base();
    f(&mut bytes);
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
    // Open is constant work: at most the parsed META and CTYPES (each capped at 1 MiB).
    assert_small(o, 4 * MIB);
}

#[test]
fn the_base_archive_is_clean() {
    let _g = serial();
    let (items, bytes) = base();
    let o = exercise(bytes, keys(&items));
    assert!(!o.reported(), "{o:#?}");
    // Reading everything in a 25 KB archive stays small.
    assert_small(&o, 4 * MIB);
}

// ---------------------------------------------------------------------------------------
// Decompression bombs.

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
        let zeros = vec![0u8; MIB];
        for _ in 0..1024 {
            enc.write_all(&zeros).expect("compress");
        }
        enc.finish().expect("finish")
    })
}

/// A copy of a zstd frame whose header declares `size` bytes of content instead (the size
/// must fit the frame's content size field, which is kept as it is).
fn with_declared_size(frame: &[u8], size: u64) -> Vec<u8> {
    let mut f = frame.to_vec();
    assert_eq!(f[..4], [0x28, 0xB5, 0x2F, 0xFD], "zstd magic");
    let fhd = f[4];
    let single_segment = fhd & 0x20 != 0;
    let dict_id = [0, 1, 2, 4][usize::from(fhd & 3)];
    let at = 5 + usize::from(!single_segment) + dict_id;
    let (width, stored) = match fhd >> 6 {
        0 if single_segment => (1, size),
        1 => (2, size - 256),
        2 => (4, size),
        3 => (8, size),
        _ => panic!("the frame has no content size field"),
    };
    assert!(
        width == 8 || stored < 1 << (8 * width),
        "{size} does not fit"
    );
    f[at..at + width].copy_from_slice(&stored.to_le_bytes()[..width]);
    assert_eq!(
        zstd::zstd_safe::get_frame_content_size(&f).ok().flatten(),
        Some(size)
    );
    f
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

fn bomb_archive(frame: &[u8], codec: Codec) -> (Vec<u8>, Vec<String>) {
    let items = vec![Item::new("bomb", vec![7u8; 1024])];
    let bytes = pack(&items, options(3, 4096, DictionaryMode::Off, 1));
    let mut parts = Parts::parse(&bytes);
    assert_eq!(parts.blocks.len(), 1);
    parts.data = frame.to_vec();
    let b = &mut parts.blocks[0];
    b.offset = 0;
    b.stored_len = frame.len() as u32;
    b.raw_len = 1024;
    b.codec = codec as u8;
    parts.header.max_block_len = 1024;
    parts.refresh_data_crcs();
    (parts.to_bytes(), keys(&items))
}

#[test]
fn decompression_bomb_is_an_error_with_bounded_memory() {
    let _g = serial();
    for pledge in [false, true] {
        let frame = bomb(pledge);
        assert!(
            frame.len() < 64 << 10,
            "the bomb is small: {} bytes",
            frame.len()
        );
        assert_eq!(
            zstd::zstd_safe::get_frame_content_size(frame)
                .ok()
                .flatten(),
            pledge.then_some(1 << 30)
        );
        let (bytes, keys) = bomb_archive(frame, Codec::Zstd);
        let rss_before = reset_rss_peak();
        let o = exercise(bytes, keys);
        if let (Some(before), Some(peak)) = (rss_before, status_kib("VmHWM:")) {
            println!(
                "bomb (content size {pledge}): RSS peak +{} KiB",
                peak.saturating_sub(before)
            );
            assert!(
                peak.saturating_sub(before) < 64 * 1024,
                "RSS grew by {} KiB",
                peak - before
            );
        }
        println!(
            "bomb (content size {pledge}): peak allocation {} bytes",
            o.peak
        );
        assert!(o.open_error.is_none(), "{o:#?}");
        assert!(!o.read_errors.is_empty(), "{o:#?}");
        assert!(
            o.found_where(|at, k| at == Location::Block(0) && is_decode_failure(k)),
            "{o:#?}"
        );
        assert!(!o.verify.as_ref().expect("verified").is_ok());
        assert_small(&o, 64 * MIB);
    }
}

#[test]
fn frame_that_yields_less_than_raw_len_is_an_error() {
    let _g = serial();
    let frame = zstd::bulk::compress(&[5u8; 100], 1).expect("compress");
    let (bytes, keys) = bomb_archive(&frame, Codec::Zstd);
    let o = exercise(bytes, keys);
    assert!(
        o.found_where(|at, k| at == Location::Block(0) && is_decode_failure(k)),
        "{o:#?}"
    );
    assert_small(&o, MIB);
}

// ---------------------------------------------------------------------------------------
// Lying counts and sizes in the header and the section table.

#[test]
fn absurd_counts_in_the_header() {
    let _g = serial();
    let o = patched(|b| patch_header(b, |h| h.entry_count = 1 << 60));
    assert_damaged_at_open(&o, |at, k| {
        at == Location::Header && matches!(k, DamageKind::OverLimit { .. })
    });
    let o = patched(|b| patch_header(b, |h| h.block_count = 1 << 60));
    assert_damaged_at_open(&o, |at, k| {
        at == Location::Header && matches!(k, DamageKind::OverLimit { .. })
    });
    // At the limit, the section lengths must still agree.
    let o = patched(|b| patch_header(b, |h| h.entry_count = format::MAX_ENTRIES));
    assert_damaged_at_open(&o, |at, k| {
        at == Location::Section(SectionId::Entries)
            && k == DamageKind::Violates(Rule::SectionLength)
    });
    let o = patched(|b| patch_header(b, |h| h.bucket_count = u64::MAX));
    assert_damaged_at_open(&o, |at, k| {
        at == Location::Section(SectionId::KeyHash)
            && k == DamageKind::Violates(Rule::SectionLength)
    });
    let o = patched(|b| patch_header(b, |h| h.bucket_count = 0));
    assert_damaged_at_open(&o, |at, k| {
        at == Location::Header && k == DamageKind::Violates(Rule::BucketCount)
    });
    let o = patched(|b| patch_header(b, |h| h.max_block_len = u32::MAX));
    assert_damaged_at_open(&o, |at, k| {
        at == Location::Header
            && matches!(k, DamageKind::OverLimit { value, .. } if value == u64::from(u32::MAX))
    });
    let o = patched(|b| patch_header(b, |h| h.max_probe = u32::MAX));
    assert_damaged_at_open(&o, |at, k| {
        at == Location::Header && k == DamageKind::Violates(Rule::MaxProbe)
    });
    let o = patched(|b| patch_header(b, |h| h.file_len = 1 << 62));
    assert!(
        matches!(o.open_error().damage(), Some(DamageKind::Truncated { .. })),
        "{o:#?}"
    );
    let o = patched(|b| patch_header(b, |h| h.file_len -= 1));
    assert_damaged_at_open(&o, |at, k| {
        at == Location::File && matches!(k, DamageKind::TrailingBytes { .. })
    });
    for n in [0u16, 65, u16::MAX] {
        let o = patched(|b| patch_header(b, |h| h.section_count = n));
        assert_damaged_at_open(&o, |at, k| {
            at == Location::SectionTable && matches!(k, DamageKind::OverLimit { .. })
        });
    }
    // 64 sections: the header would run past the sections actually there; the CRC is
    // computed over the bigger header, so the tiling check sees it.
    let o = patched(|b| patch_header(b, |h| h.section_count = 64));
    assert!(o.open_error.is_some(), "{o:#?}");
    assert_small(&o, MIB);
}

#[test]
fn section_lengths_and_offsets_that_lie() {
    let _g = serial();
    let sorted = SectionId::Sorted as u32;
    let data = SectionId::Data as u32;
    // The last section runs past the end of the file.
    let o = patched(|b| patch_section(b, sorted, |r| r.length += 1 << 40));
    assert!(
        matches!(o.open_error().damage(), Some(DamageKind::Truncated { .. })),
        "{o:#?}"
    );
    // A middle section longer than it is: the next one overlaps it.
    let o = patched(|b| patch_section(b, data, |r| r.length += 64));
    assert_damaged_at_open(&o, |_, k| k == DamageKind::Violates(Rule::Tiling));
    // Overlapping sections.
    let o = patched(|b| patch_section(b, SectionId::Entries as u32, |r| r.offset -= 8));
    assert_damaged_at_open(&o, |_, k| k == DamageKind::Violates(Rule::Tiling));
    let o = patched(|b| {
        let keys = common::section_range(b, SectionId::Strings as u32);
        patch_section(b, SectionId::KeyHash as u32, |r| {
            r.offset = keys.start as u64;
            r.length = keys.len() as u64;
        });
    });
    assert_damaged_at_open(&o, |_, k| k == DamageKind::Violates(Rule::Tiling));
    // Offsets and lengths that wrap around u64.
    let o = patched(|b| patch_section(b, sorted, |r| r.length = u64::MAX - r.offset + 1));
    assert_damaged_at_open(&o, |_, k| k == DamageKind::Violates(Rule::Tiling));
    let o = patched(|b| {
        patch_section(b, sorted, |r| {
            r.offset = u64::MAX - 3;
            r.length = 8;
        })
    });
    assert_damaged_at_open(&o, |_, k| k == DamageKind::Violates(Rule::Tiling));
    let o = patched(|b| patch_section(b, SectionId::Meta as u32, |r| r.length = u64::MAX));
    assert!(o.open_error.is_some(), "{o:#?}");
    // A required section given an unknown id: missing.
    let o = patched(|b| patch_section(b, SectionId::Blocks as u32, |r| r.id = 99));
    assert_damaged_at_open(&o, |at, k| {
        at == Location::Section(SectionId::Blocks)
            && k == DamageKind::Violates(Rule::RequiredSection)
    });
    // A section listed twice.
    let o = crafted(|p| {
        let i = p
            .order
            .iter()
            .position(|id| *id == SectionId::Ctypes as u32)
            .expect("ctypes");
        p.order.insert(i, SectionId::Ctypes as u32);
    });
    assert_damaged_at_open(&o, |at, k| {
        at == Location::Section(SectionId::Ctypes) && k == DamageKind::Violates(Rule::UniqueSection)
    });
}

#[test]
fn dictionary_sections_of_absurd_size() {
    let _g = serial();
    let dict = SectionId::Dict as u32;
    // Claimed length far past the file.
    let o = patched(|b| patch_section(b, dict, |r| r.length = 1 << 62));
    assert!(o.open_error.is_some(), "{o:#?}");
    assert_small(&o, MIB);
    // A real 17 MiB dictionary: over the 16 MiB cap, refused at open without copying it.
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
        at == Location::Header && k == DamageKind::Violates(Rule::DictFlag)
    });
    let o = crafted(|p| p.dict = b"\x37\xA4\x30\xECgarbage".to_vec());
    assert_damaged_at_open(&o, |at, k| {
        at == Location::Header && k == DamageKind::Violates(Rule::DictFlag)
    });
}

#[test]
fn garbage_dictionary_is_an_error_on_use() {
    let _g = serial();
    let items = sample_items(30, 11);
    let bytes = pack(&items, options(3, 256, DictionaryMode::On, 1));
    for garbage in [
        b"\x37\xA4\x30\xEC\x01\x02\x03\x04garbage that is no dictionary".to_vec(),
        Rng::new(5).bytes(4096),
        vec![0xFF; 300],
    ] {
        let mut parts = Parts::parse(&bytes);
        assert!(!parts.dict.is_empty());
        parts.dict = garbage;
        let o = exercise(parts.to_bytes(), keys(&items));
        assert!(o.open_error.is_none(), "{o:#?}");
        assert!(!o.read_errors.is_empty(), "{o:#?}");
        assert!(!o.verify.as_ref().expect("verified").is_ok());
        assert_small(&o, 4 * MIB);
    }
}

/// The dictionary archive with its DICT section replaced by `stored` (DICT flag kept).
fn with_dict_section(stored: Vec<u8>) -> (Vec<u8>, Vec<String>) {
    let items = sample_items(30, 11);
    let bytes = pack(&items, options(3, 256, DictionaryMode::On, 1));
    let mut parts = Parts::parse(&bytes);
    assert!(!parts.dict.is_empty());
    parts.dict = stored;
    (parts.to_bytes(), keys(&items))
}

#[test]
fn dictionary_frames_that_lie() {
    let _g = serial();
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
        (
            "1 GiB frame declaring 1 KiB",
            with_declared_size(bomb(true), 1024),
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
        assert!(o.found(needle), "{what}: wanted {needle:?}: {o:#?}");
        assert!(!o.verify.as_ref().expect("verified").is_ok(), "{what}");
        assert_small(&o, limit);
    }
    // A well-formed frame whose content is not a trained dictionary: zstd may take it as a
    // raw-content dictionary, so reads fail or (CRCs being recomputed) return garbage; either
    // way nothing panics and memory stays bounded.
    let junk = zstd::bulk::compress(&Rng::new(3).bytes(3000), 1).expect("compress");
    let (bytes, keys) = with_dict_section(junk);
    let o = exercise(bytes, keys);
    assert!(o.open_error.is_none());
    assert_small(&o, 4 * MIB);
}

#[test]
fn dictionary_kind_must_agree_with_the_raw_flag() {
    let _g = serial();
    // RAW_DICT without a dictionary.
    let o = crafted(|p| p.header.required_flags |= format::REQUIRED_RAW_DICT);
    assert_damaged_at_open(&o, |at, k| {
        at == Location::Header && k == DamageKind::Violates(Rule::DictKind)
    });
    // A raw dictionary whose first bytes are the trained-dictionary magic: zstd would parse
    // it as a trained one, so the reader refuses it.
    let mut content = format::ZSTD_DICT_MAGIC.to_vec();
    content.extend_from_slice(&Rng::new(8).bytes(2000));
    let (bytes, ks) = with_dict_section(zstd::bulk::compress(&content, 1).expect("compress"));
    let o = exercise(bytes, ks);
    assert!(o.open_error.is_none(), "{o:#?}");
    assert!(o.found(DamageKind::Violates(Rule::DictKind)), "{o:#?}");
    // The writer's raw dictionary with the flag cleared: a 1.0-style archive whose
    // dictionary is not a trained one.
    let items = sample_items(30, 11);
    let mut parts = Parts::parse(&pack(&items, options(3, 256, DictionaryMode::On, 1)));
    assert_ne!(parts.header.required_flags & format::REQUIRED_RAW_DICT, 0);
    parts.header.required_flags &= !format::REQUIRED_RAW_DICT;
    let o = exercise(parts.to_bytes(), keys(&items));
    assert!(o.open_error.is_none(), "{o:#?}");
    assert!(o.found(DamageKind::Violates(Rule::DictKind)), "{o:#?}");
    assert!(!o.verify.as_ref().expect("verified").is_ok());
}

// ---------------------------------------------------------------------------------------
// Lying records.

#[test]
fn entry_leads_that_lie() {
    let _g = serial();
    // Longer than the body's offset in its block, past the 16 MiB limit, or on an empty body:
    // refused from the record alone.
    for (what, f) in [
        (
            "past the block start",
            (|r| r.lead_len = r.offset + 1) as fn(&mut format::EntryRecord),
        ),
        ("over 16 MiB", |r| r.lead_len = format::MAX_STRINGS_LEN + 1),
        ("on an empty body", |r| {
            r.body_len = 0;
            r.lead_len = 1;
        }),
    ] {
        let o = crafted(|p| f(&mut p.entries[1]));
        assert!(o.open_error.is_none(), "{what}");
        assert!(o.found(DamageKind::Violates(Rule::Lead)), "{what}: {o:#?}");
        assert!(!o.verify.as_ref().expect("verified").is_ok(), "{what}");
        assert_small(&o, 4 * MIB);
    }
    // A lead over the bytes of the previous body: inside the block, but not fields. Found
    // when the title is read, and by verify; the body still reads.
    let o = crafted(|p| {
        let r = p
            .entries
            .iter_mut()
            .find(|r| r.offset >= 16 && r.lead_len == 0)
            .expect("an entry well inside its block");
        r.lead_len = r.offset;
    });
    assert!(o.found(DamageKind::Violates(Rule::RecordBounds)), "{o:#?}");
    assert!(!o.verify.as_ref().expect("verified").is_ok());
    assert_small(&o, 4 * MIB);
}

#[test]
fn entry_body_lengths_that_lie() {
    let _g = serial();
    for len in [format::MAX_U48, 1 << 47, 1 << 32] {
        let o = crafted(|p| p.entries[1].body_len = len);
        assert!(o.open_error.is_none());
        assert!(o.found(DamageKind::Violates(Rule::BodyRange)), "{o:#?}");
        // Reading never holds more than the archive's data, however long the body claims.
        assert_small(&o, 4 * MIB);
    }
    // Body offset past its block, block past the last one.
    let o = crafted(|p| p.entries[1].offset = u32::MAX);
    assert!(o.found(DamageKind::Violates(Rule::BodyRange)), "{o:#?}");
    let o = crafted(|p| p.entries[1].block = u32::MAX);
    assert!(
        o.found(DamageKind::NoSuchBlock(u64::from(u32::MAX))),
        "{o:#?}"
    );
    assert_small(&o, 4 * MIB);
}

#[test]
fn entry_strings_that_lie() {
    let _g = serial();
    let cases: Vec<(DamageKind, Edit)> = vec![
        (
            DamageKind::ChecksumMismatch,
            Box::new(|p| p.entries[1].strings_offset = u64::MAX - 2),
        ),
        (
            DamageKind::ChecksumMismatch,
            Box::new(|p| p.entries[1].strings_len = u32::MAX),
        ),
        (
            DamageKind::Violates(Rule::KeyLength),
            Box::new(|p| p.entries[1].key_len = 0),
        ),
        (
            DamageKind::Violates(Rule::KeyLength),
            Box::new(|p| p.entries[1].key_len = p.entries[1].strings_len as u16 + 1),
        ),
        (
            DamageKind::Violates(Rule::KeyLength),
            Box::new(|p| p.entries[1].key_len = 5000),
        ),
        (
            DamageKind::UnknownContentType(999),
            Box::new(|p| p.entries[1].content_type = 999),
        ),
        (
            DamageKind::ImpossibleDate(20_021_399),
            Box::new(|p| p.entries[1].date = 20_021_399),
        ),
        (
            DamageKind::Violates(Rule::RecordBounds),
            Box::new(|p| {
                // Append a field whose length runs past the entry's strings.
                let at =
                    (p.entries[1].strings_offset + u64::from(p.entries[1].strings_len)) as usize;
                let field = [1u8, 0xFF, 0xFF, 0xFF, 0x7F];
                p.strings.splice(at..at, field);
                p.entries[1].strings_len += field.len() as u32;
                for e in p.entries.iter_mut().skip(2) {
                    e.strings_offset += field.len() as u64;
                }
            }),
        ),
        (
            DamageKind::NotUtf8,
            Box::new(|p| {
                let at = p.entries[1].strings_offset as usize;
                p.strings[at] = 0xFF;
            }),
        ),
    ];
    for (needle, f) in cases {
        let o = crafted(|p| f(p));
        assert!(o.open_error.is_none(), "{needle:?}: {o:#?}");
        assert!(o.found(needle), "{needle:?}: {o:#?}");
        assert_small(&o, 4 * MIB);
    }
}

#[test]
fn block_records_that_lie() {
    let _g = serial();
    let cases: Vec<(DamageKind, Edit)> = vec![
        (
            DamageKind::UnknownCodec(7),
            Box::new(|p| p.blocks[0].codec = 7),
        ),
        (
            DamageKind::UnknownCodec(255),
            Box::new(|p| p.blocks[0].codec = 255),
        ),
        (
            DamageKind::Violates(Rule::BlockLength),
            Box::new(|p| p.blocks[0].raw_len = 0),
        ),
        (
            DamageKind::Violates(Rule::BlockLength),
            Box::new(|p| p.blocks[0].raw_len = u32::MAX),
        ),
        (
            DamageKind::Violates(Rule::BlockInData),
            Box::new(|p| p.blocks[0].stored_len = u32::MAX),
        ),
        (
            DamageKind::Violates(Rule::BlockInData),
            Box::new(|p| {
                let s = p.data_start();
                p.blocks[0].offset = (u64::MAX - 5).wrapping_sub(s);
            }),
        ),
        (
            DamageKind::Violates(Rule::BlockInData),
            Box::new(|p| {
                // Before DATA: inside the dictionary / header.
                let s = p.data_start();
                p.blocks[0].offset = 0u64.wrapping_sub(s);
            }),
        ),
        (
            DamageKind::Undecodable,
            Box::new(|p| {
                // A zstd block whose bytes are not a frame.
                let b = &mut p.blocks[0];
                b.codec = Codec::Zstd as u8;
                let (o, n) = (b.offset as usize, b.stored_len as usize);
                p.data[o..o + n].fill(0xAA);
            }),
        ),
        (
            DamageKind::Violates(Rule::DictFlag),
            Box::new(|p| {
                let b = &mut p.blocks[0];
                b.codec = Codec::ZstdDict as u8;
            }),
        ),
        (
            DamageKind::Violates(Rule::RawBlockLength),
            Box::new(|p| {
                let b = &mut p.blocks[0];
                b.codec = Codec::Raw as u8;
                b.raw_len = b.stored_len.saturating_sub(1).max(1);
            }),
        ),
    ];
    for (needle, f) in cases {
        let o = crafted(|p| {
            f(p);
            p.refresh_data_crcs();
        });
        assert!(o.open_error.is_none(), "{needle:?}: {o:#?}");
        assert!(o.found(needle), "{needle:?}: {o:#?}");
        assert!(!o.verify.as_ref().expect("verified").is_ok(), "{needle:?}");
        assert_small(&o, 4 * MIB);
    }
}

#[test]
fn meta_and_ctypes_that_lie() {
    let _g = serial();
    // META: a name length past the section end; a value length past it; not UTF-8; 2 MiB.
    let o = crafted(|p| p.meta.extend_from_slice(&[0xFF, 0x7F, b'x']));
    assert_damaged_at_open(&o, |at, _| at == Location::Section(SectionId::Meta));
    let o = crafted(|p| {
        p.meta
            .extend_from_slice(&[1, 0, b'x', 0xFF, 0xFF, 0xFF, 0xFF])
    });
    assert_damaged_at_open(&o, |at, _| at == Location::Section(SectionId::Meta));
    let o = crafted(|p| p.meta.extend_from_slice(&[1, 0, 0xC0, 0, 0, 0, 0]));
    assert_damaged_at_open(&o, |_, k| k == DamageKind::NotUtf8);
    let o = crafted(|p| {
        let big = vec![("x".to_string(), "a".repeat(2 * MIB))];
        p.meta.extend_from_slice(&format::meta::encode(&big));
    });
    assert_damaged_at_open(&o, |_, k| matches!(k, DamageKind::OverLimit { .. }));
    // CTYPES: 70,000 empty content types fit in 140 KB but exceed the u16 index space.
    let o = crafted(|p| p.ctypes.resize(p.ctypes.len() + 2 * 70_000, 0));
    assert_damaged_at_open(&o, |at, k| {
        at == Location::Section(SectionId::Ctypes) && matches!(k, DamageKind::OverLimit { .. })
    });
    let o = crafted(|p| p.ctypes.extend_from_slice(&[9, 0, b'x']));
    assert_damaged_at_open(&o, |at, _| at == Location::Section(SectionId::Ctypes));
}

// ---------------------------------------------------------------------------------------
// Lying indexes: no panic, terminates, verify notices.

#[test]
fn max_probe_at_its_limit_with_full_buckets_terminates() {
    let _g = serial();
    let o = crafted(|p| {
        let n = p.buckets.len();
        assert!(n > 2);
        p.header.max_probe = n as u32 - 1;
        // Every slot taken, by tags that match nothing: a miss scans every bucket.
        for b in &mut p.buckets {
            *b = [Slot {
                entry: 3,
                tag: 0xDEAD_BEEF,
            }; SLOTS_PER_BUCKET];
        }
    });
    assert!(o.open_error.is_none());
    let report = o.verify.as_ref().expect("verified");
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.kind == DamageKind::Violates(Rule::HashReachable)),
        "{report}"
    );
    assert_small(&o, 4 * MIB);
}

#[test]
fn hash_buckets_all_pointing_at_entry_0_terminate() {
    let _g = serial();
    let (items, bytes) = base();
    let mut parts = Parts::parse(&bytes);
    let key0 = parts.key(0);
    let n = parts.buckets.len() as u64;
    let tag0 = format::keyhash::Probe::new(key0.as_bytes(), parts.header.hash_seed, n).tag;
    for (i, b) in parts.buckets.iter_mut().enumerate() {
        // Half the buckets with entry 0's tag (so every probe compares keys), half random.
        let tag = if i % 2 == 0 { tag0 } else { i as u32 };
        *b = [Slot { entry: 0, tag }; SLOTS_PER_BUCKET];
    }
    parts.header.max_probe = parts.buckets.len() as u32 - 1;
    let o = exercise(parts.to_bytes(), keys(&items));
    assert!(o.open_error.is_none());
    assert!(!o.verify.as_ref().expect("verified").is_ok());
    assert_small(&o, 4 * MIB);
    // Entry 0 itself is still found; the others are not (the index says so, and the CRCs
    // were recomputed: this is the "attacker" case of spec §10).
    let a = Archive::new(parts.to_bytes()).expect("open");
    assert_eq!(a.get(&key0).expect("get").expect("found").index(), 0);
    assert!(a.get(&items[7].key).expect("get").is_none());
}

#[test]
fn hash_slots_naming_missing_entries_are_errors() {
    let _g = serial();
    let o = crafted(|p| {
        for b in &mut p.buckets {
            for s in b.iter_mut() {
                if s.entry != NO_ENTRY {
                    s.entry = 4_000_000_000;
                }
            }
        }
    });
    assert!(o.found(DamageKind::NoSuchEntry(4_000_000_000)), "{o:#?}");
    assert_small(&o, 4 * MIB);
}

#[test]
fn sorted_index_that_lies_terminates() {
    let _g = serial();
    // Reversed.
    let o = crafted(|p| {
        let n = p.entries.len();
        let mut order: Vec<u32> = p
            .groups
            .iter()
            .flatten()
            .copied()
            .filter(|e| *e != NO_ENTRY)
            .collect();
        assert_eq!(order.len(), n);
        order.reverse();
        for (g, chunk) in p
            .groups
            .iter_mut()
            .zip(order.chunks(format::ENTRIES_PER_GROUP))
        {
            g[..chunk.len()].copy_from_slice(chunk);
        }
    });
    assert!(o.open_error.is_none());
    assert!(o.found(DamageKind::Violates(Rule::SortedOrder)), "{o:#?}");
    // Every position naming entry 0.
    let o = crafted(|p| {
        for g in &mut p.groups {
            *g = [0; format::ENTRIES_PER_GROUP];
        }
    });
    assert!(o.found(DamageKind::Violates(Rule::SortedOrder)), "{o:#?}");
    // Positions naming entries that do not exist.
    let o = crafted(|p| {
        for g in &mut p.groups {
            *g = [NO_ENTRY; format::ENTRIES_PER_GROUP];
        }
    });
    assert!(
        o.found(DamageKind::NoSuchEntry(u64::from(NO_ENTRY))),
        "{o:#?}"
    );
    assert_small(&o, 4 * MIB);
}

#[test]
fn duplicate_keys_in_the_entry_table() {
    let _g = serial();
    // Entry 2 given entry 1's strings: two entries with one key.
    let o = crafted(|p| {
        p.entries[2].strings_offset = p.entries[1].strings_offset;
        p.entries[2].strings_len = p.entries[1].strings_len;
        p.entries[2].key_len = p.entries[1].key_len;
    });
    assert!(o.open_error.is_none());
    assert!(!o.verify.as_ref().expect("verified").is_ok(), "{o:#?}");
}

#[test]
fn every_field_of_a_record_set_to_extremes_is_handled() {
    let _g = serial();
    // Sweep each u64/u32 field of the header, the section table and the first records
    // through extreme values: whatever happens, no panic, bounded time and memory.
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
    let mut cases = 0;
    let mut rejected = 0;
    // Every numeric header field, header CRC fixed afterwards; whether any change must be
    // noticed: a newer minor version, unknown optional flags, the informational block
    // target, a larger max_block_len or max_probe are legitimately harmless.
    let harmless = [
        "minor",
        "optional_flags",
        "max_probe",
        "max_block_len",
        "block_target",
    ];
    let mut variants: Vec<(Vec<u8>, bool)> = Vec::new();
    for f in format::header::HEADER_FIELDS {
        let (at, width, must) = (f.offset, f.width, !harmless.contains(&f.name));
        for v in extremes {
            let mut b = bytes.clone();
            b[at..at + width].copy_from_slice(&v.to_le_bytes()[..width]);
            common::fix_header_crc(&mut b);
            variants.push((b, must));
        }
    }
    // Section table fields: id, offset, length.
    for i in 0..9 {
        for f in &format::header::SECTION_FIELDS[..3] {
            let (off, width) = (f.offset, f.width);
            for v in extremes {
                let mut b = bytes.clone();
                let at = common::section_table_offset(i) + off;
                b[at..at + width].copy_from_slice(&v.to_le_bytes()[..width]);
                common::fix_header_crc(&mut b);
                variants.push((b, true));
            }
        }
    }
    for (b, must) in variants {
        let changed = b != bytes;
        let o = exercise(b, keys.clone());
        cases += 1;
        if o.reported() {
            rejected += 1;
        } else {
            assert!(
                !(changed && must),
                "a changed header went unnoticed: {o:#?}"
            );
        }
        assert_small(&o, 4 * MIB);
    }
    println!("header/section-table extremes: {rejected} / {cases} reported (the rest unchanged or harmless)");
}

/// zstd refused the frame, or it gave another length than recorded.
fn is_decode_failure(k: DamageKind) -> bool {
    matches!(k, DamageKind::Undecodable | DamageKind::WrongLength { .. })
}

#[test]
fn prefix_listing_of_an_out_of_order_index_is_an_error_not_a_wrong_list() {
    // Issue 13, item 3: two sorted positions swapped (CRCs recomputed) — a listing that
    // passes them fails instead of listing a key twice or leaving one out.
    let _g = serial();
    let (_, bytes) = base();
    let mut parts = Parts::parse(&bytes);
    let g = &mut parts.groups[1];
    g.swap(3, 4);
    let a = Archive::new(parts.to_bytes()).expect("open");
    let listed: Vec<_> = a.prefix("").collect();
    let err = listed
        .iter()
        .find_map(|r| r.as_ref().err())
        .expect("the swap is noticed");
    assert!(
        matches!(
            err,
            ReadError::Damaged {
                at: Location::SortedPosition(_),
                kind: DamageKind::Violates(Rule::SortedOrder)
            }
        ),
        "{err:?}"
    );
    // Keys listed before the error are strictly increasing.
    let keys: Vec<&str> = listed
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .map(|e| e.key())
        .collect();
    assert!(keys.windows(2).all(|w| w[0] < w[1]));
    // On the intact archive the same listing is every key, in order.
    let a = Archive::new(bytes).expect("open");
    assert_eq!(a.prefix("").filter(|r| r.is_ok()).count() as u64, a.len());
}
