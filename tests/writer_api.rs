//! The writer's API: bodies streamed from readers (`add_reader`), what a failing reader
//! leaves behind, overwrite policies, file modes, and the memory a streamed body costs
//! (measured by a counting global allocator).

use crate::common;
use crate::common::alloc::alone;

use std::fs;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;

use quire::{
    Archive, ArchiveWriter, DictionaryMode, NewEntry, Overwrite, WriteError, WriterOptions,
};

const MIB: usize = 1 << 20;

// ---------------------------------------------------------------------------------------
// Helpers.

fn opts() -> WriterOptions {
    WriterOptions::new().level(3).threads(1).created(0)
}

/// Deterministic article-like text of `n` bytes.
fn text(seed: u64, n: usize) -> Vec<u8> {
    const WORDS: [&str; 12] = [
        "the ", "council ", "said ", "on ", "Tuesday ", "that ", "harbour ", "fees ", "will ",
        "rise ", "again. ", "Rain ",
    ];
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(n + 16);
    while out.len() < n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(WORDS[(x % WORDS.len() as u64) as usize].as_bytes());
        if x.is_multiple_of(7) {
            out.extend_from_slice((x % 10_000).to_string().as_bytes());
            out.push(b' ');
        }
    }
    out.truncate(n);
    out
}

/// Bodies around the block size and far past it, plus small ones in between.
fn bodies(block: usize) -> Vec<(String, Vec<u8>)> {
    let sizes = [
        0,
        10,
        block - 1,
        block,
        block + 1,
        3 * block + 17,
        200,
        40 * block + 5,
        64,
        2 * block,
    ];
    sizes
        .iter()
        .enumerate()
        .map(|(i, &n)| (format!("k{i:02}"), text(i as u64 + 1, n)))
        .collect()
}

/// Reads a body out of `data` in pieces of at most `piece` bytes, as sockets and pipes do.
struct Trickle<'a> {
    data: &'a [u8],
    piece: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(self.piece).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// Gives `ok` bytes of text, then fails.
struct FailsAfter {
    ok: usize,
    given: usize,
}

impl Read for FailsAfter {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.given >= self.ok {
            return Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "peer went away",
            ));
        }
        let n = buf.len().min(self.ok - self.given);
        buf[..n].fill(b'x');
        self.given += n;
        Ok(n)
    }
}

/// A seekable output that keeps nothing.
#[derive(Default)]
struct Discard {
    pos: u64,
    len: u64,
}

impl Write for Discard {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.pos += buf.len() as u64;
        self.len = self.len.max(self.pos);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Seek for Discard {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.pos = match pos {
            SeekFrom::Start(p) => p,
            SeekFrom::End(d) => self.len.saturating_add_signed(d),
            SeekFrom::Current(d) => self.pos.saturating_add_signed(d),
        };
        Ok(self.pos)
    }
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

// ---------------------------------------------------------------------------------------
// Streamed bodies.

#[test]
fn add_reader_round_trips_across_many_blocks() {
    let Some(_g) = alone() else { return };
    let block = 1024;
    let model = bodies(block);
    for dictionary in [
        DictionaryMode::Off,
        DictionaryMode::On,
        DictionaryMode::Auto,
    ] {
        for threads in [1, 3] {
            let o = opts()
                .block_size(block as u32)
                .dictionary(dictionary)
                .dict_size(4096)
                .threads(threads)
                .dedup(false);
            let mut streamed = ArchiveWriter::in_memory(o.clone()).unwrap();
            let mut whole = ArchiveWriter::in_memory(o).unwrap();
            for (i, (k, b)) in model.iter().enumerate() {
                let title = format!("Title {i}");
                let e = NewEntry::new(k, b"").title(&title).meta("n", k);
                let r = Trickle {
                    data: b,
                    piece: 1 + 97 * i,
                };
                assert!(streamed.add_reader(&e, r).unwrap());
                whole.add(&NewEntry { body: b, ..e }).unwrap();
            }
            let (out, summary) = streamed.finish_into_inner().unwrap();
            let bytes = out.into_inner();
            let want = whole.finish_into_inner().unwrap().0.into_inner();
            // Without deduplication, streaming changes nothing in the output.
            assert!(bytes == want, "{dictionary:?}, {threads} threads");
            let a = Archive::new(&bytes[..]).unwrap();
            assert!(a.block_count() > 5, "{}", a.block_count());
            match dictionary {
                DictionaryMode::Off => assert_eq!(a.dictionary_len(), 0),
                DictionaryMode::On => assert!(a.dictionary_len() > 0),
                _ => {}
            }
            assert_eq!(summary.entries, model.len() as u64);
            let raw: usize = model.iter().map(|(_, b)| b.len()).sum();
            assert_eq!(summary.raw_bytes, raw as u64);
            for (i, (k, b)) in model.iter().enumerate() {
                let e = a.get(k).unwrap().expect("present");
                assert_eq!(e.body().unwrap(), *b, "{k}");
                let info = e.info().unwrap();
                assert_eq!(info.title, Some(format!("Title {i}")));
                assert_eq!(info.metadata, [("n".to_string(), k.clone())]);
            }
            assert!(a.verify().is_ok());
        }
    }
}

#[test]
fn add_reader_picks_the_dictionary_where_add_does() {
    let Some(_g) = alone() else { return };
    // A small sample, so that long bodies reach it in the middle: the dictionary must be
    // picked from the same bytes either way.
    let o = opts()
        .block_size(2048)
        .dictionary(DictionaryMode::On)
        .dict_size(2048)
        .dict_sample(50_000)
        .dedup(false);
    let mut model: Vec<(String, Vec<u8>)> = (0..20)
        .map(|i| (format!("small{i}"), text(100 + i, 700)))
        .collect();
    model.push(("long".into(), text(7, 120_000)));
    model.extend((0..20).map(|i| (format!("after{i}"), text(200 + i, 900))));
    let mut streamed = ArchiveWriter::in_memory(o.clone()).unwrap();
    let mut whole = ArchiveWriter::in_memory(o).unwrap();
    for (k, b) in &model {
        streamed.add_reader(&NewEntry::streamed(k), &b[..]).unwrap();
        whole.add(&NewEntry::new(k, b)).unwrap();
    }
    let a = streamed.finish_into_inner().unwrap();
    let b = whole.finish_into_inner().unwrap();
    assert!(a.1.dict_len > 0);
    assert_eq!(a.1, b.1);
    assert!(a.0.into_inner() == b.0.into_inner());
}

#[test]
fn add_reader_deduplicates_bodies_up_to_a_block() {
    let Some(_g) = alone() else { return };
    let small = text(1, 500);
    let long = text(2, 5000);
    let mut w = ArchiveWriter::in_memory(opts().block_size(1024)).unwrap();
    w.add(&NewEntry::new("a", &small)).unwrap();
    w.add_reader(&NewEntry::streamed("b"), &small[..]).unwrap();
    w.add_reader(
        &NewEntry::new("c", b""),
        Trickle {
            data: &small,
            piece: 3,
        },
    )
    .unwrap();
    // Longer than a block: streamed, stored twice.
    w.add_reader(&NewEntry::streamed("d"), &long[..]).unwrap();
    w.add_reader(&NewEntry::streamed("e"), &long[..]).unwrap();
    let (out, summary) = w.finish_into_inner().unwrap();
    assert_eq!(summary.shared_bodies, 2);
    let a = Archive::new(out.into_inner()).unwrap();
    for (k, b) in [
        ("a", &small),
        ("b", &small),
        ("c", &small),
        ("d", &long),
        ("e", &long),
    ] {
        assert_eq!(a.get(k).unwrap().unwrap().body().unwrap(), *b, "{k}");
    }
    let loc = |k: &str| a.get(k).unwrap().unwrap().location();
    assert_eq!(loc("a"), loc("b"));
    assert_eq!(loc("a"), loc("c"));
    assert_ne!(loc("d"), loc("e"));
}

#[test]
fn add_reader_wants_the_body_in_one_place() {
    let Some(_g) = alone() else { return };
    let mut w = ArchiveWriter::in_memory(opts()).unwrap();
    let e = NewEntry::new("k", b"inline body");
    assert!(matches!(
        w.add_reader(&e, &b"and a reader"[..]),
        Err(WriteError::InvalidEntry { .. })
    ));
    // Refused before anything was written: the writer goes on.
    w.add_reader(&NewEntry::streamed("k"), &b"body"[..])
        .unwrap();
    assert_eq!(w.finish_into_inner().unwrap().1.entries, 1);
}

// ---------------------------------------------------------------------------------------
// A reader that fails.

#[test]
fn a_reader_failing_midway_adds_nothing_and_the_writer_goes_on() {
    let Some(_g) = alone() else { return };
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("out.quire");
    let mut w = ArchiveWriter::create(&target, opts().block_size(1024)).unwrap();
    w.add(&NewEntry::new("before", &text(1, 3000))).unwrap();
    let err = w
        .add_reader(
            &NewEntry::new("broken", b"").title("Half"),
            FailsAfter {
                ok: 10_000,
                given: 0,
            },
        )
        .unwrap_err();
    let WriteError::BodyRead { key, source } = &err else {
        panic!("not a body read error: {err:?}");
    };
    assert_eq!(key, "broken");
    assert_eq!(source.kind(), io::ErrorKind::ConnectionReset);
    let src = std::error::Error::source(&err).expect("the I/O error is the source");
    assert_eq!(src.to_string(), "peer went away");
    assert!(!err.to_string().contains("peer went away"), "{err}");
    // The half entry is dropped from the spool; the writer goes on without it.
    w.add_reader(&NewEntry::streamed("after"), &b"x"[..])
        .unwrap();
    w.finish().unwrap();
    let a = quire::Archive::new(fs::read(&target).unwrap()).unwrap();
    let keys: Vec<String> = a.iter().map(|e| e.unwrap().key().to_string()).collect();
    assert_eq!(keys, ["after", "before"]);
    assert!(a.verify().is_ok());
    assert_eq!(files_in(dir.path()), vec!["out.quire".to_string()]);
}

/// A body reader failing at any point adds nothing: what the spool took of it is cut off.
#[test]
fn a_failing_body_reader_adds_nothing_and_leaves_the_writer_usable() {
    let Some(_g) = alone() else { return };
    for ok in [0, 100, 200_000] {
        let mut w = ArchiveWriter::in_memory(opts().block_size(4096)).unwrap();
        w.add(&NewEntry::new("a", b"first")).unwrap();
        let err = w
            .add_reader(
                &NewEntry::new("b", b"").title("B"),
                FailsAfter { ok, given: 0 },
            )
            .unwrap_err();
        assert!(matches!(err, WriteError::BodyRead { .. }), "{err:?}");
        w.add(&NewEntry::new("b", b"second try")).unwrap();
        w.add(&NewEntry::new("c", b"third")).unwrap();
        let (out, summary) = w.finish_into_inner().unwrap();
        assert_eq!(summary.entries, 3);
        let a = quire::Archive::new(out.into_inner()).unwrap();
        assert_eq!(a.get("b").unwrap().unwrap().body().unwrap(), b"second try");
        assert_eq!(a.get("b").unwrap().unwrap().title().unwrap(), None);
        assert_eq!(a.get("c").unwrap().unwrap().body().unwrap(), b"third");
        assert!(a.verify().is_ok());
    }
}

// ---------------------------------------------------------------------------------------
// Files: overwrite policies and modes.

#[test]
fn overwrite_never_leaves_an_existing_target_intact() {
    let Some(_g) = alone() else { return };
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("a.quire");
    fs::write(&target, b"precious").unwrap();
    let err = ArchiveWriter::create(&target, opts())
        .err()
        .expect("refused");
    assert!(matches!(&err, WriteError::TargetExists(p) if *p == target));
    assert!(err.to_string().ends_with("already exists"), "{err}");
    assert!(!err.to_string().contains("--"), "{err}");
    assert_eq!(fs::read(&target).unwrap(), b"precious");

    // A target that appears while the archive is written is not replaced either.
    let late = dir.path().join("b.quire");
    let mut w = ArchiveWriter::create(&late, opts()).unwrap();
    w.add(&NewEntry::new("k", b"v")).unwrap();
    fs::write(&late, b"got here first").unwrap();
    assert!(matches!(w.finish(), Err(WriteError::TargetExists(_))));
    assert_eq!(fs::read(&late).unwrap(), b"got here first");
    assert_eq!(files_in(dir.path()), ["a.quire", "b.quire"]);
}

#[test]
fn overwrite_replace_replaces_the_target() {
    let Some(_g) = alone() else { return };
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("a.quire");
    fs::write(&target, b"old").unwrap();
    let mut w = ArchiveWriter::create(&target, opts().overwrite(Overwrite::Replace)).unwrap();
    w.add(&NewEntry::new("k", b"new")).unwrap();
    // Until finish, the old file is untouched.
    assert_eq!(fs::read(&target).unwrap(), b"old");
    let summary = w.finish().unwrap();
    assert_eq!(fs::metadata(&target).unwrap().len(), summary.file_len);
    let a = Archive::new(fs::read(&target).unwrap()).unwrap();
    assert_eq!(a.get("k").unwrap().unwrap().body().unwrap(), b"new");
    assert_eq!(files_in(dir.path()), ["a.quire"]);
}

#[test]
fn finish_works_for_any_writer() {
    let Some(_g) = alone() else { return };
    let mut file = tempfile::tempfile().unwrap();
    let mut w = ArchiveWriter::new(file.try_clone().unwrap(), opts()).unwrap();
    w.add(&NewEntry::new("k", b"v")).unwrap();
    let summary = w.finish().unwrap();
    let mut bytes = Vec::new();
    file.seek(SeekFrom::Start(0)).unwrap();
    file.read_to_end(&mut bytes).unwrap();
    assert_eq!(bytes.len() as u64, summary.file_len);
    let a = Archive::new(bytes).unwrap();
    assert_eq!(a.get("k").unwrap().unwrap().body().unwrap(), b"v");
}

/// Archives get the mode `File::create` gives (0o666 less the umask), not a temp file's
/// 0o600: run again in a child process under umask 022, where that is 0o644.
#[cfg(unix)]
#[test]
fn archives_get_the_usual_file_mode() {
    use std::os::unix::fs::PermissionsExt;
    const CHILD: &str = "QUIRE_WRITER_API_MODE_DIR";
    if let Some(dir) = std::env::var_os(CHILD) {
        let target = Path::new(&dir).join("mode.quire");
        let mut w = ArchiveWriter::create(&target, opts()).unwrap();
        w.add(&NewEntry::new("k", b"v")).unwrap();
        w.finish().unwrap();
        return;
    }
    let Some(_g) = alone() else { return };
    let dir = tempfile::tempdir().unwrap();
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg("umask 022 && exec \"$0\" \"$@\"")
        .arg(std::env::current_exe().unwrap())
        .args([
            "writer_api::archives_get_the_usual_file_mode",
            "--exact",
            "--quiet",
        ])
        .env(CHILD, dir.path())
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stdout)
    );
    let meta = fs::metadata(dir.path().join("mode.quire")).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o644);
}

// ---------------------------------------------------------------------------------------
// Memory.

#[test]
fn a_256_mib_body_streams_in_bounded_memory() {
    let Some(_g) = alone() else { return };
    let len = 256 * MIB as u64;
    let base = common::alloc::start();
    // Default options (a dictionary sampled from the first 16 MiB, all cores) but a fast
    // level.
    let mut w = ArchiveWriter::new(Discard::default(), WriterOptions::new().level(3)).unwrap();
    w.add(&NewEntry::new("small", b"a small body first"))
        .unwrap();
    let zeros = io::repeat(0).take(len);
    w.add_reader(&NewEntry::streamed("zeros").title("Nothing"), zeros)
        .unwrap();
    let (out, summary) = w.finish_into_inner().unwrap();
    let peak = common::alloc::peak_since(base);
    assert_eq!(summary.raw_bytes, len + 18);
    // At most 512 blocks per entry (spec §8), and no fewer: no block over 512 KiB.
    assert!(summary.blocks >= 512, "{}", summary.blocks);
    assert_eq!(out.len, summary.file_len);
    eprintln!("peak allocation streaming {len} bytes: {peak} bytes");
    assert!(peak < 64 * MIB, "peak allocation {} MiB", peak / MIB);
}
