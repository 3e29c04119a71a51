//! The `ByteSource` contract (documented on the trait, `src/source/mod.rs`), checked by one
//! suite over every source the library has, in-process: no server, no network, nothing
//! installed (the way object_store's `integration.rs` runs one set of checks over every store,
//! with `memory.rs` and `throttle.rs` standing in for servers).
//!
//! The sources: bytes in memory (`Vec<u8>`), `FileSource`, a memory map and the other
//! `AnySource` variants, and (feature `remote`) `RemoteSource` over object_store's
//! `InMemory`, over a `ThrottledStore` (latency injected, deterministic), and over object_store's
//! HTTP store talking to an HTTP service in this process (no socket).
//!
//! - The contract: exact bytes or an error, never fewer; `UnexpectedEof` past the end, before
//!   any request; `read_many` in the order asked; `prefetch` only a hint; `describe`,
//!   `revalidate`, `is_remote`; safe to share between threads. Every source must also agree
//!   with the plain byte slice on a table of reads.
//! - The archive: one archive read through every source gives the same `get`, `prefix`,
//!   `get_many` and `verify`; with a byte flipped, the same damage report and the same errors.
//! - Faults (feature `remote`): a store of this file's own wraps `InMemory` and, at its Nth
//!   get, fails with a chosen error, cuts the body short, sends too much or the wrong range,
//!   answers for another version (ETag, size), or never answers. Each gives its
//!   `RemoteErrorKind`; gets are counted to show what is retried and what is not. Retries
//!   themselves are the store's (object_store's HTTP client retries; `RemoteSource` adds none):
//!   the in-process HTTP service counts them.

use std::borrow::Cow;
use std::io;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use quire::source::{AnySource, ByteSource, FileSource, OpenOptions};
use quire::{Archive, ArchiveWriter, Entry, NewEntry, ReadError, Report, WriterOptions};

// ----------------------------------------------------------------------------------- helpers

/// A directory under the system's temporary directory, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(what: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!(
            "quire-byte-source-{what}-{}-{n}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `len` deterministic bytes that no two offsets share by accident (a slice at the wrong
/// offset differs).
fn pattern(len: usize) -> Vec<u8> {
    let mut x: u32 = 0x9e37_79b9;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// One source under test, named for messages.
struct Case {
    name: String,
    source: Box<dyn ByteSource>,
    remote: bool,
}

/// Every local source over `bytes`, the files in `dir`.
fn local_cases(bytes: &[u8], dir: &TempDir) -> Vec<Case> {
    let path = dir.file("archive.quire", bytes);
    let case = |name: &str, source: Box<dyn ByteSource>| Case {
        name: name.to_owned(),
        source,
        remote: false,
    };
    // SAFETY: the file is written above and nothing modifies or truncates it while mapped
    // (the directory is this test's own and is removed only after the sources are dropped).
    let map = unsafe { OpenOptions::new().memory_map(true) };
    vec![
        case("Vec<u8>", Box::new(bytes.to_vec())),
        case("FileSource", Box::new(FileSource::open(&path).unwrap())),
        case(
            "AnySource::Mapped (memory map)",
            Box::new(AnySource::open(&path, &map).unwrap()),
        ),
        case(
            "AnySource::File",
            Box::new(AnySource::File(FileSource::open(&path).unwrap())),
        ),
        case(
            "AnySource::Memory",
            Box::new(AnySource::Memory(bytes.to_vec())),
        ),
        case(
            "AnySource::open (positioned reads)",
            Box::new(AnySource::open(&path, &OpenOptions::new()).unwrap()),
        ),
    ]
}

/// Every source over `bytes`: the local ones and (feature `remote`) the remote ones.
fn all_cases(bytes: &[u8], dir: &TempDir) -> Vec<Case> {
    let local = local_cases(bytes, dir);
    #[cfg(feature = "remote")]
    let local = local.into_iter().chain(remote::cases(bytes)).collect();
    local
}

// ------------------------------------------------------------------------------ the contract

/// The ranges every source is asked for, chosen around the edges that matter: the ends, the
/// 16 KiB a remote source holds from its open, and lengths of 0 and 1.
fn probe_ranges(len: u64) -> Vec<Range<u64>> {
    let mut out = vec![0..0, 0..len.min(1), 0..len, len..len];
    for (a, b) in [
        (1, 7),
        (100, 4096),
        (16_380, 16_390),
        (16_383, 16_384),
        (16_384, 16_385),
        (16_384, 20_000),
        (20_000, 20_001),
        (30_000, 65_536),
        (12_345, 54_321),
    ] {
        if b <= len {
            out.push(a..b);
        }
    }
    if len > 0 {
        out.push(len - 1..len);
        out.push(len / 2..len);
    }
    out
}

/// Ranges that run past the end (or overflow): each read must fail with `UnexpectedEof`.
fn past_end_ranges(len: u64) -> Vec<(u64, usize)> {
    vec![
        (len, 1),
        (len + 1, 0),
        (len.saturating_sub(1), 2),
        (0, len as usize + 1),
        (u64::MAX, 1),
        (u64::MAX - 1, 0),
        (u64::MAX, usize::MAX),
    ]
}

/// The bytes of `r` in `bytes`.
fn slice(bytes: &[u8], r: &Range<u64>) -> Vec<u8> {
    bytes[r.start as usize..r.end as usize].to_vec()
}

/// Checks the whole documented contract of `case` over the bytes `want`.
fn check_contract(case: &Case, want: &[u8]) {
    let (name, src) = (&case.name, &*case.source);
    let len = want.len() as u64;
    assert_eq!(src.size(), len, "{name}: size");

    // Exact bytes, never fewer.
    for r in probe_ranges(len) {
        let got = src
            .read_at(r.start, (r.end - r.start) as usize)
            .unwrap_or_else(|e| panic!("{name}: read_at {r:?}: {e}"));
        assert_eq!(got.len() as u64, r.end - r.start, "{name}: length of {r:?}");
        assert!(*got == *slice(want, &r), "{name}: bytes of {r:?}");
    }

    // Past the end: UnexpectedEof, checked before anything is asked of a server (so it is
    // a plain io error, not a remote one).
    for (offset, n) in past_end_ranges(len) {
        let e = src
            .read_at(offset, n)
            .err()
            .unwrap_or_else(|| panic!("{name}: read_at({offset}, {n}) past the end succeeded"));
        assert_eq!(
            e.kind(),
            io::ErrorKind::UnexpectedEof,
            "{name}: read_at({offset}, {n}): {e}"
        );
        #[cfg(feature = "remote")]
        assert_eq!(quire::source::remote_error_kind(&e), None, "{name}: {e}");
    }

    // read_many: in the order given, duplicates and overlaps included.
    let mut ranges = probe_ranges(len);
    ranges.reverse();
    ranges.extend(probe_ranges(len));
    let got = src
        .read_many(&ranges)
        .unwrap_or_else(|e| panic!("{name}: read_many: {e}"));
    assert_eq!(got.len(), ranges.len(), "{name}: read_many count");
    for (r, g) in ranges.iter().zip(&got) {
        assert!(**g == *slice(want, r), "{name}: read_many bytes of {r:?}");
    }
    assert!(
        src.read_many(&[]).unwrap().is_empty(),
        "{name}: read_many of nothing"
    );
    // One range past the end fails the whole call.
    let mut bad = probe_ranges(len);
    bad.insert(1, len..len + 1);
    let e = src.read_many(&bad).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof, "{name}: {e}");

    // prefetch: a hint, whatever it is given, and the reads after it are the same.
    src.prefetch(&[]);
    src.prefetch(&probe_ranges(len));
    src.prefetch(&[len..len + 10, u64::MAX - 1..u64::MAX, 0..u64::MAX]);
    for r in probe_ranges(len) {
        let got = src.read_at(r.start, (r.end - r.start) as usize).unwrap();
        assert!(
            *got == *slice(want, &r),
            "{name}: bytes of {r:?} after prefetch"
        );
    }

    // revalidate: the bytes are the ones opened.
    src.revalidate()
        .unwrap_or_else(|e| panic!("{name}: revalidate: {e}"));
    assert_eq!(src.is_remote(), case.remote, "{name}: is_remote");
    let described = src.describe();
    assert!(
        !described.is_empty() && !described.contains('\n'),
        "{name}: describe gives {described:?}"
    );

    // Shared between threads: the same bytes from each.
    std::thread::scope(|s| {
        for t in 0..4u64 {
            s.spawn(move || {
                let mut ranges = probe_ranges(len);
                let n = ranges.len().max(1);
                ranges.rotate_left(t as usize % n);
                for r in &ranges {
                    let got = src.read_at(r.start, (r.end - r.start) as usize).unwrap();
                    assert!(*got == *slice(want, r), "{name}: thread {t}, {r:?}");
                }
                let many = src.read_many(&ranges).unwrap();
                assert!(ranges
                    .iter()
                    .zip(&many)
                    .all(|(r, g)| **g == *slice(want, r)));
            });
        }
    });
}

/// Each source gives what the plain slice gives for a table of reads, errors included (the
/// same `io::ErrorKind`): one behaviour, whatever the storage.
fn check_agrees_with_slice(case: &Case, want: &[u8]) {
    fn outcome(r: io::Result<Cow<'_, [u8]>>) -> Result<Vec<u8>, io::ErrorKind> {
        r.map(|c| c.into_owned()).map_err(|e| e.kind())
    }
    let reference: &[u8] = want;
    let len = want.len() as u64;
    let mut reads: Vec<(u64, usize)> = probe_ranges(len)
        .iter()
        .map(|r| (r.start, (r.end - r.start) as usize))
        .collect();
    reads.extend(past_end_ranges(len));
    for (offset, n) in reads {
        assert_eq!(
            outcome(case.source.read_at(offset, n)),
            outcome(reference.read_at(offset, n)),
            "{}: read_at({offset}, {n})",
            case.name
        );
    }
    // A range given backwards reads as empty, as the slice reads it.
    let backwards = Range { start: 5, end: 3 };
    let odd = [backwards, len..len, 0..1];
    let got = case.source.read_many(&odd).map(|v| {
        v.into_iter()
            .map(|c| c.into_owned())
            .collect::<Vec<Vec<u8>>>()
    });
    let expected = reference.read_many(&odd).map(|v| {
        v.into_iter()
            .map(|c| c.into_owned())
            .collect::<Vec<Vec<u8>>>()
    });
    assert_eq!(
        got.map_err(|e| e.kind()),
        expected.map_err(|e| e.kind()),
        "{}",
        case.name
    );
}

#[test]
fn every_source_keeps_the_contract() {
    // Larger than the 16 KiB a remote source reads at open, and not a round number.
    let bytes = pattern(70_001);
    let dir = TempDir::new("contract");
    let cases = all_cases(&bytes, &dir);
    assert!(cases.len() >= 6);
    for case in &cases {
        check_contract(case, &bytes);
        check_agrees_with_slice(case, &bytes);
    }
}

#[test]
fn every_source_keeps_the_contract_when_small_or_empty() {
    for len in [0, 1, 100, 16_384, 16_385] {
        let bytes = pattern(len);
        let dir = TempDir::new("small");
        for case in &all_cases(&bytes, &dir) {
            check_contract(case, &bytes);
            check_agrees_with_slice(case, &bytes);
        }
    }
}

#[test]
fn file_sources_name_their_path_and_memory_says_so() {
    let bytes = pattern(1000);
    let dir = TempDir::new("describe");
    let path = dir.file("named.quire", &bytes);
    let shown = path.display().to_string();
    // SAFETY: the file is this test's own and stays as written while mapped.
    let map = unsafe { OpenOptions::new().memory_map(true) };
    assert_eq!(FileSource::open(&path).unwrap().describe(), shown);
    assert_eq!(AnySource::open(&path, &map).unwrap().describe(), shown);
    assert_eq!(
        AnySource::open(&path, &OpenOptions::new())
            .unwrap()
            .describe(),
        shown
    );
    assert_eq!(
        AnySource::Memory(bytes).describe(),
        "archive in memory".to_owned()
    );
}

#[test]
fn a_file_cut_short_after_open_is_an_error_not_fewer_bytes() {
    let bytes = pattern(50_000);
    let dir = TempDir::new("shrink");
    let path = dir.file("shrinks.quire", &bytes);
    let sources: Vec<Box<dyn ByteSource>> = vec![
        Box::new(FileSource::open(&path).unwrap()),
        Box::new(AnySource::open(&path, &OpenOptions::new()).unwrap()),
    ];
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(30_000)
        .unwrap();
    for src in &sources {
        assert_eq!(src.size(), 50_000, "the length is the one at open");
        assert!(*src.read_at(29_000, 1000).unwrap() == bytes[29_000..30_000]);
        let e = src.read_at(29_000, 2000).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof, "{e}");
        assert!(src.read_many(&[0..10, 40_000..40_010]).is_err());
    }
}

// ------------------------------------------------------------------------------ the archive

/// An archive of a few hundred entries over many blocks and several index pages, with
/// titles, metadata and content types, packed in memory.
fn sample_archive() -> Vec<u8> {
    let opts = WriterOptions::new()
        .block_size(4096)
        .page_size(1024)
        .created(0);
    let mut w = ArchiveWriter::in_memory(opts).unwrap();
    let noise = pattern(64 << 10);
    let mut keys: Vec<String> = Vec::new();
    for i in 0..400usize {
        let section = ["alpha", "beta", "gamma", "delta"][i % 4];
        keys.push(format!("{section}/{i:04}"));
    }
    for (i, key) in keys.iter().enumerate() {
        let mut body = format!("{key}: article {i}, ")
            .repeat(1 + i % 23)
            .into_bytes();
        // Some bodies compress badly, so the blocks differ in size.
        if i % 3 == 0 {
            let at = (i * 131) % 60_000;
            body.extend_from_slice(&noise[at..at + 1500]);
        }
        let title = format!("Title {i}");
        let value = (i * 3).to_string();
        let mut e = NewEntry::new(key, &body).meta("n", &value);
        if i % 2 == 0 {
            e = e.title(&title);
        }
        if i % 5 == 0 {
            e = e.content_type("application/octet-stream");
        }
        w.add(&e).unwrap();
    }
    let (out, _) = w.finish_into_inner().unwrap();
    out.into_inner()
}

/// What a read gave, as data every source can be compared on: an entry's fields, or an
/// error's code.
#[derive(Debug, PartialEq)]
struct Seen {
    key: String,
    body: Result<Vec<u8>, &'static str>,
    title: Result<Option<String>, &'static str>,
    content_type: String,
    metadata: Result<Vec<(String, String)>, &'static str>,
    date: String,
}

fn code(e: &ReadError) -> &'static str {
    e.code()
}

fn seen(e: &Entry<'_>) -> Seen {
    Seen {
        key: e.key().to_owned(),
        body: e.body().map_err(|e| code(&e)),
        title: e
            .title()
            .map(|t| t.map(str::to_owned))
            .map_err(|e| code(&e)),
        content_type: e.content_type().to_owned(),
        metadata: e.metadata().map(|m| m.to_vec()).map_err(|e| code(&e)),
        date: format!("{:?}", e.date()),
    }
}

type Lookup = Result<Option<Seen>, &'static str>;

/// Everything the archive API gives over `src`.
#[derive(Debug, PartialEq)]
struct Observed {
    len: u64,
    gets: Vec<Lookup>,
    many: Vec<Lookup>,
    prefixes: Vec<Vec<Result<Seen, &'static str>>>,
    walk: Vec<Result<Seen, &'static str>>,
    report: Report,
}

fn keys_to_ask() -> Vec<String> {
    let mut keys: Vec<String> = (0..400usize)
        .step_by(3)
        .map(|i| format!("{}/{i:04}", ["alpha", "beta", "gamma", "delta"][i % 4]))
        .collect();
    keys.extend(
        ["", "alpha", "alpha/", "zzz", "beta/0001x", "alpha/0000"]
            .iter()
            .map(|s| s.to_string()),
    );
    keys
}

fn observe<S: ByteSource>(archive: &Archive<S>) -> Observed {
    let keys = keys_to_ask();
    let lookup = |r: quire::ReadResult<Option<Entry<'_>>>| -> Lookup {
        r.map(|e| e.map(|e| seen(&e))).map_err(|e| code(&e))
    };
    Observed {
        len: archive.len(),
        gets: keys.iter().map(|k| lookup(archive.get(k))).collect(),
        many: archive.get_many(&keys).into_iter().map(lookup).collect(),
        prefixes: ["", "alpha/", "beta/00", "gamma/0399", "nothing/"]
            .iter()
            .map(|p| {
                archive
                    .prefix(p)
                    .map(|r| r.map(|e| seen(&e)).map_err(|e| code(&e)))
                    .collect()
            })
            .collect(),
        walk: archive
            .iter()
            .map(|r| r.map(|e| seen(&e)).map_err(|e| code(&e)))
            .collect(),
        report: archive.verify(),
    }
}

#[test]
fn one_archive_reads_the_same_through_every_source() {
    let bytes = sample_archive();
    assert!(bytes.len() > 3 * 16_384, "an archive past the first 16 KiB");
    let dir = TempDir::new("archive");
    let reference = observe(&Archive::new(bytes.clone()).unwrap());
    assert!(reference.report.is_ok(), "{}", reference.report);
    assert!(reference.report.blocks > 10, "{:?}", reference.report);
    assert_eq!(reference.len, 400);
    assert_eq!(reference.prefixes[1].len(), 100);
    assert!(
        reference
            .gets
            .iter()
            .filter(|g| matches!(g, Ok(Some(_))))
            .count()
            >= 134
    );
    for case in all_cases(&bytes, &dir) {
        let archive =
            Archive::new(case.source).unwrap_or_else(|e| panic!("{}: open: {e}", case.name));
        let got = observe(&archive);
        assert!(
            got == reference,
            "{}: differs from the bytes in memory",
            case.name
        );
        // The source still keeps its contract after the archive's reads and verify.
        archive.source().revalidate().unwrap();
    }
}

#[test]
fn a_flipped_byte_gives_the_same_damage_through_every_source() {
    let good = sample_archive();
    let archive = Archive::new(good.clone()).unwrap();
    // The middle of the data section: a block, whose checksum catches it.
    let data = archive
        .sections()
        .iter()
        .find(|s| s.length == archive.data_len())
        .expect("the data section");
    let at = (data.offset + data.length / 2) as usize;
    drop(archive);
    let mut bad = good;
    bad[at] ^= 0x40;

    let dir = TempDir::new("damage");
    let reference = observe(&Archive::new(bad.clone()).unwrap());
    assert!(!reference.report.problems.is_empty(), "the flip is found");
    assert_eq!(reference.report.interrupted, None);
    assert!(
        reference.walk.iter().any(|r| r.is_err())
            || reference
                .walk
                .iter()
                .any(|r| matches!(r, Ok(s) if s.body.is_err())),
        "some entry reads as damaged"
    );
    for case in all_cases(&bad, &dir) {
        let archive = Archive::new(case.source).unwrap();
        let got = observe(&archive);
        assert_eq!(got.report, reference.report, "{}: damage report", case.name);
        assert!(
            got == reference,
            "{}: reads of the damaged archive",
            case.name
        );
    }
}

// ------------------------------------------------------------------------------- remote

#[cfg(feature = "remote")]
mod remote {
    //! `RemoteSource` over in-process object stores, and the faults.

    use super::*;

    use std::collections::{HashMap, VecDeque};
    use std::fmt;
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    use bytes::Bytes;
    use futures_util::stream::{BoxStream, StreamExt};
    use object_store::client::{
        HttpClient, HttpConnector, HttpError, HttpRequest, HttpResponse, HttpResponseBody,
        HttpService,
    };
    use object_store::http::HttpBuilder;
    use object_store::memory::InMemory;
    use object_store::path::Path as ObjectPath;
    use object_store::throttle::{ThrottleConfig, ThrottledStore};
    use object_store::{
        BackoffConfig, ClientOptions, GetOptions, GetResult, GetResultPayload, HeaderValue,
        ListResult, MultipartUpload, ObjectMeta, ObjectStore, ObjectStoreExt, PutMultipartOptions,
        PutOptions, PutPayload, PutResult, RetryConfig,
    };
    use quire::source::{remote_error_kind, RemoteErrorKind, RemoteOptions, RemoteSource};

    /// Runs `fut` to its end on a runtime of the test's own (for puts into stores).
    fn run<T>(fut: impl Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(fut)
    }

    fn object() -> ObjectPath {
        ObjectPath::from("archives/the.quire")
    }

    fn in_memory(bytes: &[u8]) -> Arc<InMemory> {
        let store = Arc::new(InMemory::new());
        run(store.put(&object(), PutPayload::from(bytes.to_vec()))).unwrap();
        store
    }

    fn open(store: Arc<dyn ObjectStore>, options: RemoteOptions) -> io::Result<RemoteSource> {
        RemoteSource::from_store(store, object(), "mem://archives/the.quire", options)
    }

    /// 1 ms a request and 10 ns a byte: latency that orders nothing by chance.
    fn throttle() -> ThrottleConfig {
        ThrottleConfig {
            wait_get_per_call: Duration::from_millis(1),
            wait_get_per_byte: Duration::from_nanos(10),
            ..ThrottleConfig::default()
        }
    }

    pub(super) fn cases(bytes: &[u8]) -> Vec<Case> {
        let case = |name: &str, source: Box<dyn ByteSource>| Case {
            name: name.to_owned(),
            source,
            remote: true,
        };
        let throttled = Arc::new(ThrottledStore::new(in_memory(bytes).fork(), throttle()));
        let small_cache = RemoteOptions::new().cache_bytes(8 << 10).parallelism(2);
        vec![
            case(
                "RemoteSource over InMemory",
                Box::new(open(in_memory(bytes), RemoteOptions::new()).unwrap()),
            ),
            case(
                "RemoteSource over ThrottledStore",
                Box::new(open(throttled, RemoteOptions::new()).unwrap()),
            ),
            case(
                "RemoteSource over InMemory, 8 KiB cache, 2 in flight",
                Box::new(open(in_memory(bytes), small_cache).unwrap()),
            ),
            case(
                "AnySource::Remote over InMemory",
                Box::new(AnySource::Remote(
                    open(in_memory(bytes), RemoteOptions::new()).unwrap(),
                )),
            ),
            case(
                "RemoteSource over object_store's HTTP store (in-process service)",
                Box::new(Http::serve(bytes, 0).open().unwrap()),
            ),
        ]
    }

    // ---------------------------------------------------------------- a store that fails

    /// What [`Faulty`] does to one get.
    #[derive(Debug, Clone, Copy)]
    enum Fault {
        /// Fails with this error.
        Fail(fn() -> object_store::Error),
        /// Half the body, then the stream ends.
        Short,
        /// Half the body, then the stream fails (the connection reset).
        Broken,
        /// The body and one byte more.
        Long,
        /// The bytes asked for, said to be one byte further on.
        WrongRange,
        /// The same bytes under another ETag.
        OtherETag,
        /// The object said to be one byte longer.
        OtherSize,
        /// No answer, ever.
        Hang,
    }

    /// A store around another that applies a fault to chosen gets (numbered from 1; the
    /// open is get 1) and counts them.
    #[derive(Debug)]
    struct Faulty {
        inner: Arc<dyn ObjectStore>,
        gets: AtomicUsize,
        faults: Mutex<HashMap<usize, Fault>>,
        /// Gets under way now, and the most there ever were at once.
        busy: AtomicUsize,
        most: AtomicUsize,
    }

    /// One get under way, counted in [`Faulty`] until dropped.
    struct Busy<'a>(&'a Faulty);

    impl<'a> Busy<'a> {
        fn enter(store: &'a Faulty) -> Busy<'a> {
            let now = store.busy.fetch_add(1, Ordering::SeqCst) + 1;
            store.most.fetch_max(now, Ordering::SeqCst);
            Busy(store)
        }
    }

    impl Drop for Busy<'_> {
        fn drop(&mut self) {
            self.0.busy.fetch_sub(1, Ordering::SeqCst);
        }
    }

    impl Faulty {
        fn new(inner: Arc<dyn ObjectStore>, faults: &[(usize, Fault)]) -> Arc<Faulty> {
            Arc::new(Faulty {
                inner,
                gets: AtomicUsize::new(0),
                faults: Mutex::new(faults.iter().copied().collect()),
                busy: AtomicUsize::new(0),
                most: AtomicUsize::new(0),
            })
        }

        fn gets(&self) -> usize {
            self.gets.load(Ordering::SeqCst)
        }

        /// The most gets that were under way at once.
        fn most(&self) -> usize {
            self.most.load(Ordering::SeqCst)
        }
    }

    impl fmt::Display for Faulty {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "Faulty({})", self.inner)
        }
    }

    fn generic(kind: io::ErrorKind) -> object_store::Error {
        object_store::Error::Generic {
            store: "Faulty",
            source: Box::new(io::Error::new(kind, "injected")),
        }
    }

    #[async_trait::async_trait]
    impl ObjectStore for Faulty {
        async fn get_opts(
            &self,
            location: &ObjectPath,
            options: GetOptions,
        ) -> object_store::Result<GetResult> {
            let n = self.gets.fetch_add(1, Ordering::SeqCst) + 1;
            let _busy = Busy::enter(self);
            let fault = self.faults.lock().unwrap().get(&n).copied();
            let fault = match fault {
                None => return self.inner.get_opts(location, options).await,
                Some(Fault::Fail(make)) => return Err(make()),
                Some(Fault::Hang) => return std::future::pending().await,
                Some(f) => f,
            };
            let answer = self.inner.get_opts(location, options).await?;
            let (mut meta, mut range, attributes) = (
                answer.meta.clone(),
                answer.range.clone(),
                answer.attributes.clone(),
            );
            let body = answer.bytes().await?;
            let half = body.slice(..body.len() / 2);
            let chunks: Vec<object_store::Result<Bytes>> = match fault {
                Fault::Short => vec![Ok(half)],
                Fault::Broken => vec![Ok(half), Err(generic(io::ErrorKind::ConnectionReset))],
                Fault::Long => vec![Ok(body), Ok(Bytes::from_static(b"!"))],
                Fault::WrongRange => {
                    range = range.start + 1..range.end + 1;
                    vec![Ok(body)]
                }
                Fault::OtherETag => {
                    meta.e_tag = Some("\"another\"".into());
                    vec![Ok(body)]
                }
                Fault::OtherSize => {
                    meta.size += 1;
                    vec![Ok(body)]
                }
                Fault::Fail(_) | Fault::Hang => unreachable!(),
            };
            let stream: BoxStream<'static, object_store::Result<Bytes>> =
                futures_util::stream::iter(chunks).boxed();
            Ok(GetResult {
                payload: GetResultPayload::Stream(stream),
                meta,
                range,
                attributes,
                extensions: Default::default(),
            })
        }

        async fn put_opts(
            &self,
            location: &ObjectPath,
            payload: PutPayload,
            opts: PutOptions,
        ) -> object_store::Result<PutResult> {
            self.inner.put_opts(location, payload, opts).await
        }

        async fn put_multipart_opts(
            &self,
            location: &ObjectPath,
            opts: PutMultipartOptions,
        ) -> object_store::Result<Box<dyn MultipartUpload>> {
            self.inner.put_multipart_opts(location, opts).await
        }

        fn delete_stream(
            &self,
            locations: BoxStream<'static, object_store::Result<ObjectPath>>,
        ) -> BoxStream<'static, object_store::Result<ObjectPath>> {
            self.inner.delete_stream(locations)
        }

        fn list(
            &self,
            prefix: Option<&ObjectPath>,
        ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
            self.inner.list(prefix)
        }

        async fn list_with_delimiter(
            &self,
            prefix: Option<&ObjectPath>,
        ) -> object_store::Result<ListResult> {
            self.inner.list_with_delimiter(prefix).await
        }

        async fn copy_opts(
            &self,
            from: &ObjectPath,
            to: &ObjectPath,
            options: object_store::CopyOptions,
        ) -> object_store::Result<()> {
            self.inner.copy_opts(from, to, options).await
        }
    }

    /// Short timeouts and no retries: a hang costs about a second (the source's bound on
    /// one fetch with its tries is the request and connect timeouts plus a second).
    fn quick() -> RemoteOptions {
        RemoteOptions::new()
            .request_timeout(Duration::from_millis(50))
            .connect_timeout(Duration::from_millis(50))
            .retries(0)
            .initial_backoff(Duration::from_millis(1))
            .max_backoff(Duration::from_millis(1))
    }

    fn kind_of(e: &io::Error) -> Option<RemoteErrorKind> {
        remote_error_kind(e)
    }

    /// A range past the 16 KiB held from the open: a read of it is a get.
    const FAR: (u64, usize) = (40_000, 5_000);

    #[test]
    fn each_fault_after_the_open_is_its_kind_and_the_next_read_asks_again() {
        use RemoteErrorKind as K;
        let bytes = pattern(70_000);
        let cases: Vec<(&str, Fault, RemoteErrorKind, io::ErrorKind)> = vec![
            (
                "not found",
                Fault::Fail(|| object_store::Error::NotFound {
                    path: "archives/the.quire".into(),
                    source: "gone".into(),
                }),
                K::NotFound,
                io::ErrorKind::NotFound,
            ),
            (
                "precondition",
                Fault::Fail(|| object_store::Error::Precondition {
                    path: "archives/the.quire".into(),
                    source: "etag".into(),
                }),
                K::Changed,
                io::ErrorKind::Other,
            ),
            (
                "not modified",
                Fault::Fail(|| object_store::Error::NotModified {
                    path: "archives/the.quire".into(),
                    source: "etag".into(),
                }),
                K::BadResponse,
                io::ErrorKind::InvalidData,
            ),
            (
                "permission denied",
                Fault::Fail(|| object_store::Error::PermissionDenied {
                    path: "archives/the.quire".into(),
                    source: "no".into(),
                }),
                K::Forbidden,
                io::ErrorKind::PermissionDenied,
            ),
            (
                "generic, timed out",
                Fault::Fail(|| generic(io::ErrorKind::TimedOut)),
                K::Timeout,
                io::ErrorKind::TimedOut,
            ),
            (
                "generic, refused",
                Fault::Fail(|| generic(io::ErrorKind::ConnectionRefused)),
                K::Connect,
                io::ErrorKind::ConnectionRefused,
            ),
            (
                "generic, reset",
                Fault::Fail(|| generic(io::ErrorKind::ConnectionReset)),
                K::Network,
                io::ErrorKind::ConnectionAborted,
            ),
            (
                "generic",
                Fault::Fail(|| object_store::Error::Generic {
                    store: "Faulty",
                    source: "something else".into(),
                }),
                K::Other,
                io::ErrorKind::Other,
            ),
            (
                "short body",
                Fault::Short,
                K::ShortRead,
                io::ErrorKind::UnexpectedEof,
            ),
            (
                "body cut by an error",
                Fault::Broken,
                K::ShortRead,
                io::ErrorKind::UnexpectedEof,
            ),
            (
                "too much",
                Fault::Long,
                K::BadResponse,
                io::ErrorKind::InvalidData,
            ),
            (
                "wrong range",
                Fault::WrongRange,
                K::BadResponse,
                io::ErrorKind::InvalidData,
            ),
            (
                "another ETag",
                Fault::OtherETag,
                K::Changed,
                io::ErrorKind::Other,
            ),
            (
                "another size",
                Fault::OtherSize,
                K::Changed,
                io::ErrorKind::Other,
            ),
            (
                "no answer",
                Fault::Hang,
                K::Timeout,
                io::ErrorKind::TimedOut,
            ),
        ];
        for (what, fault, kind, io_kind) in cases {
            let store = Faulty::new(in_memory(&bytes), &[(2, fault)]);
            let src = open(store.clone(), quick()).unwrap();
            assert_eq!(store.gets(), 1, "{what}: the open is one get");
            let started = Instant::now();
            let e = src.read_at(FAR.0, FAR.1).unwrap_err();
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "{what}: took {:?}",
                started.elapsed()
            );
            assert_eq!(kind_of(&e), Some(kind), "{what}: {e}");
            assert_eq!(e.kind(), io_kind, "{what}: {e}");
            let line = e.to_string();
            assert!(
                line.starts_with("mem://archives/the.quire: ") && !line.contains('\n'),
                "{what}: {line}"
            );
            // Not retried by the source (the store's own client retries, if any)...
            assert_eq!(store.gets(), 2, "{what}: one get for the failed read");
            assert_eq!(src.stats().requests, 2, "{what}: {:?}", src.stats());
            // ...and not remembered: the next read asks again and gets the bytes.
            let again = src.read_at(FAR.0, FAR.1).unwrap();
            assert!(*again == bytes[40_000..45_000], "{what}");
            assert_eq!(store.gets(), 3, "{what}");
            // Reads of what is held (the first 16 KiB) never fail.
            assert!(*src.read_at(0, 100).unwrap() == bytes[..100]);
        }
    }

    #[test]
    fn each_fault_at_the_open_is_its_kind() {
        use RemoteErrorKind as K;
        let bytes = pattern(70_000);
        let cases: Vec<(&str, Fault, RemoteErrorKind)> = vec![
            (
                "not found",
                Fault::Fail(|| object_store::Error::NotFound {
                    path: "archives/the.quire".into(),
                    source: "gone".into(),
                }),
                K::NotFound,
            ),
            (
                "unauthenticated",
                Fault::Fail(|| object_store::Error::Unauthenticated {
                    path: "archives/the.quire".into(),
                    source: "who".into(),
                }),
                K::Forbidden,
            ),
            (
                "refused",
                Fault::Fail(|| generic(io::ErrorKind::ConnectionRefused)),
                K::Connect,
            ),
            ("short body", Fault::Short, K::ShortRead),
            ("too much", Fault::Long, K::BadResponse),
            ("wrong range", Fault::WrongRange, K::BadResponse),
            ("no answer", Fault::Hang, K::Timeout),
        ];
        for (what, fault, kind) in cases {
            let store = Faulty::new(in_memory(&bytes), &[(1, fault)]);
            let e = open(store.clone(), quick()).unwrap_err();
            assert_eq!(kind_of(&e), Some(kind), "{what}: {e}");
            assert_eq!(store.gets(), 1, "{what}: one get, not retried");
        }
        // A missing object in a store that has none.
        let e = open(Arc::new(InMemory::new()), quick()).unwrap_err();
        assert_eq!(kind_of(&e), Some(K::NotFound), "{e}");
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
    }

    #[test]
    fn a_fault_in_one_of_many_ranges_fails_read_many_and_spares_the_others() {
        let bytes = pattern(100_000);
        // Gets 2.. are the parallel fetches of read_many; one of them (which one depends
        // on scheduling, so every one in turn) fails.
        for nth in 2..=4 {
            let store = Faulty::new(in_memory(&bytes), &[(nth, Fault::Short)]);
            let src = open(store.clone(), quick()).unwrap();
            let ranges = [20_000..21_000, 50_000..51_000, 90_000..91_000];
            let e = src.read_many(&ranges).unwrap_err();
            assert_eq!(kind_of(&e), Some(RemoteErrorKind::ShortRead), "{e}");
            assert_eq!(store.gets(), 4, "one get per range");
            // The ranges that arrived are cached: asking again fetches only the lost one.
            let got = src.read_many(&ranges).unwrap();
            assert!(ranges
                .iter()
                .zip(&got)
                .all(|(r, g)| **g == *slice(&bytes, r)));
            assert_eq!(store.gets(), 5, "only the failed range again");
        }
    }

    #[test]
    fn an_object_replaced_after_the_open_is_changed_never_other_bytes() {
        let bytes = pattern(60_000);
        let store = in_memory(&bytes);
        let src = open(store.clone(), RemoteOptions::new()).unwrap();
        assert!(src.etag().is_some(), "the store's ETag is pinned");
        assert!(*src.read_at(30_000, 10).unwrap() == bytes[30_000..30_010]);
        let mut other = bytes.clone();
        other[50_000] ^= 1;
        run(store.put(&object(), PutPayload::from(other))).unwrap();
        // Cached: the same bytes as before.
        assert!(*src.read_at(30_000, 10).unwrap() == bytes[30_000..30_010]);
        // Not cached: the store refuses the pinned version.
        let e = src.read_at(49_000, 2_000).unwrap_err();
        assert_eq!(kind_of(&e), Some(RemoteErrorKind::Changed), "{e}");
        let e = src.revalidate().unwrap_err();
        assert_eq!(kind_of(&e), Some(RemoteErrorKind::Changed), "{e}");
        // An archive read from a replaced object stops with the network's error, not damage.
        let good = sample_archive();
        let store = in_memory(&good);
        let archive = Archive::new(open(store.clone(), RemoteOptions::new()).unwrap()).unwrap();
        let later = Archive::new(open(store.clone(), RemoteOptions::new()).unwrap()).unwrap();
        run(store.put(&object(), PutPayload::from(pattern(good.len())))).unwrap();
        let report = archive.verify();
        assert!(report.problems.is_empty(), "{report}");
        let why = report.interrupted.expect("verify stops");
        assert!(why.contains("changed"), "{why}");
        // A key whose block lies past the 16 KiB read at open: an I/O error, not damage.
        let e = later.get("delta/0399").unwrap_err();
        assert_eq!(e.code(), "io", "{e}");
        let e = later.get_many(&["alpha/0000", "delta/0399"]);
        assert!(
            e.iter().any(|r| matches!(r, Err(e) if e.code() == "io")),
            "{e:?}"
        );
    }

    #[test]
    fn ranges_asked_together_are_fetched_together_up_to_the_parallelism() {
        // 100 ms a get (ThrottledStore): gets that overlap are counted, not timed.
        let bytes = pattern(200_000);
        let slow = || -> Arc<dyn ObjectStore> {
            Arc::new(ThrottledStore::new(
                in_memory(&bytes).fork(),
                ThrottleConfig {
                    wait_get_per_call: Duration::from_millis(100),
                    ..ThrottleConfig::default()
                },
            ))
        };
        let ranges: Vec<Range<u64>> = (2..=17).map(|i| i * 10_000..i * 10_000 + 500).collect();
        for (parallelism, at_least, at_most) in [(32, 12, 16), (4, 2, 4), (1, 1, 1)] {
            let store = Faulty::new(slow(), &[]);
            let options = RemoteOptions::new().parallelism(parallelism);
            let src = open(store.clone(), options).unwrap();
            // Inside the 16 KiB held from the open: no get.
            assert!(*src.read_at(100, 1000).unwrap() == bytes[100..1100]);
            assert_eq!(store.gets(), 1);
            let got = src.read_many(&ranges).unwrap();
            assert!(ranges
                .iter()
                .zip(&got)
                .all(|(r, g)| **g == *slice(&bytes, r)));
            assert_eq!(store.gets(), 17, "one get per range");
            assert_eq!(src.stats().requests, 17);
            let most = store.most();
            assert!(
                (at_least..=at_most).contains(&most),
                "parallelism {parallelism}: {most} gets at once"
            );
            // All cached now: asked again, nothing is fetched.
            src.read_many(&ranges).unwrap();
            assert_eq!(store.gets(), 17);
        }
    }

    // ------------------------------------------------- object_store's HTTP store, in-process

    /// An HTTP server in this process: object_store's HTTP store sends its requests here
    /// (an `HttpConnector`), no socket involved. It serves one object with ranges, an ETag
    /// and If-Match, and answers the next requests with the statuses queued in `fail`.
    #[derive(Debug)]
    struct Server {
        bytes: Mutex<(Bytes, String)>,
        calls: AtomicUsize,
        fail: Mutex<VecDeque<u16>>,
    }

    #[derive(Debug, Clone)]
    struct Http(Arc<Server>, usize);

    impl Http {
        /// Serves `bytes`; the client retries `retries` times.
        fn serve(bytes: &[u8], retries: usize) -> Http {
            Http(
                Arc::new(Server {
                    bytes: Mutex::new((Bytes::from(bytes.to_vec()), "\"v1\"".into())),
                    calls: AtomicUsize::new(0),
                    fail: Mutex::new(VecDeque::new()),
                }),
                retries,
            )
        }

        fn store(&self) -> Arc<dyn ObjectStore> {
            let retry = RetryConfig {
                max_retries: self.1,
                retry_timeout: Duration::from_secs(60),
                backoff: BackoffConfig {
                    init_backoff: Duration::from_millis(1),
                    max_backoff: Duration::from_millis(2),
                    base: 2.0,
                },
            };
            Arc::new(
                HttpBuilder::new()
                    .with_url("http://in-process.invalid/")
                    .with_client_options(ClientOptions::new().with_allow_http(true))
                    .with_retry(retry)
                    .with_http_connector(self.clone())
                    .build()
                    .unwrap(),
            )
        }

        fn open(&self) -> io::Result<RemoteSource> {
            self.open_with(quick())
        }

        fn open_with(&self, options: RemoteOptions) -> io::Result<RemoteSource> {
            RemoteSource::from_store(
                self.store(),
                object(),
                "http://in-process.invalid/archives/the.quire",
                options,
            )
        }

        fn calls(&self) -> usize {
            self.0.calls.load(Ordering::SeqCst)
        }

        fn fail_next(&self, statuses: &[u16]) {
            self.0.fail.lock().unwrap().extend(statuses);
        }

        fn replace(&self, bytes: &[u8], etag: &str) {
            *self.0.bytes.lock().unwrap() = (Bytes::from(bytes.to_vec()), etag.into());
        }
    }

    fn response(status: u16, body: Bytes, headers: &[(&'static str, String)]) -> HttpResponse {
        let length = body.len().to_string();
        let mut r = HttpResponse::new(HttpResponseBody::from(body));
        *r.status_mut() = status.try_into().unwrap();
        r.headers_mut()
            .insert("content-length", HeaderValue::from_str(&length).unwrap());
        for (name, value) in headers {
            r.headers_mut()
                .insert(*name, HeaderValue::from_str(value).unwrap());
        }
        r
    }

    impl Server {
        fn answer(&self, req: &HttpRequest) -> HttpResponse {
            self.calls.fetch_add(1, Ordering::SeqCst);
            if let Some(status) = self.fail.lock().unwrap().pop_front() {
                return response(status, Bytes::new(), &[]);
            }
            let (bytes, etag) = self.bytes.lock().unwrap().clone();
            let len = bytes.len() as u64;
            let header = |name: &str| {
                req.headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
            };
            if header("if-match").is_some_and(|m| m != etag) {
                return response(412, Bytes::new(), &[]);
            }
            let Some(range) = header("range") else {
                return response(200, bytes, &[("etag", etag)]);
            };
            let (a, b) = range
                .strip_prefix("bytes=")
                .and_then(|r| r.split_once('-'))
                .and_then(|(a, b)| Some((a.parse::<u64>().ok()?, b.parse::<u64>().ok()?)))
                .expect("a bounded range");
            if a >= len {
                return response(
                    416,
                    Bytes::new(),
                    &[("content-range", format!("bytes */{len}"))],
                );
            }
            let end = (b + 1).min(len);
            response(
                206,
                bytes.slice(a as usize..end as usize),
                &[
                    ("etag", etag),
                    ("content-range", format!("bytes {a}-{}/{len}", end - 1)),
                ],
            )
        }
    }

    impl HttpService for Http {
        fn call<'a, 'b>(
            &'a self,
            req: HttpRequest,
        ) -> Pin<Box<dyn Future<Output = Result<HttpResponse, HttpError>> + Send + 'b>>
        where
            'a: 'b,
            Self: 'b,
        {
            let answer = self.0.answer(&req);
            Box::pin(async move { Ok(answer) })
        }
    }

    impl HttpConnector for Http {
        fn connect(&self, _options: &ClientOptions) -> object_store::Result<HttpClient> {
            Ok(HttpClient::new(self.clone()))
        }
    }

    #[test]
    fn the_http_store_retries_server_errors_and_the_source_counts_on_it() {
        let bytes = pattern(70_000);
        let http = Http::serve(&bytes, 2);
        // Two 503s, then the answer: the open succeeds on the third call.
        http.fail_next(&[503, 503]);
        let src = http.open().unwrap();
        assert_eq!(http.calls(), 3);
        assert_eq!(src.etag(), Some("\"v1\""));
        // A read through a 500: retried, then the bytes.
        http.fail_next(&[500]);
        assert!(*src.read_at(FAR.0, FAR.1).unwrap() == bytes[40_000..45_000]);
        assert_eq!(http.calls(), 5);
        // Three 503s with two retries: the read fails after three calls, and names the URL.
        http.fail_next(&[503, 503, 503]);
        let e = src.read_at(50_000, 100).unwrap_err();
        assert_eq!(http.calls(), 8, "{e}");
        assert!(kind_of(&e).is_some(), "{e}");
        assert!(
            e.to_string()
                .starts_with("http://in-process.invalid/archives/the.quire: "),
            "{e}"
        );
        // The next read asks again.
        assert!(*src.read_at(50_000, 100).unwrap() == bytes[50_000..50_100]);
        assert_eq!(http.calls(), 9);
    }

    #[test]
    fn the_http_store_does_not_retry_what_another_try_cannot_mend() {
        let bytes = pattern(70_000);
        let http = Http::serve(&bytes, 3);
        http.fail_next(&[404]);
        let e = http.open().unwrap_err();
        assert_eq!(kind_of(&e), Some(RemoteErrorKind::NotFound), "{e}");
        assert_eq!(http.calls(), 1);

        let src = http.open().unwrap();
        assert_eq!(http.calls(), 2);
        // Replaced on the server: 412 to the pinned ETag, not retried.
        let mut other = bytes.clone();
        other[45_000] ^= 1;
        http.replace(&other, "\"v2\"");
        let e = src.read_at(FAR.0, FAR.1).unwrap_err();
        assert_eq!(kind_of(&e), Some(RemoteErrorKind::Changed), "{e}");
        assert_eq!(http.calls(), 3);
        let e = src.revalidate().unwrap_err();
        assert_eq!(kind_of(&e), Some(RemoteErrorKind::Changed), "{e}");
    }

    #[test]
    fn an_empty_object_opens_as_an_empty_source() {
        for store in [
            in_memory(&[]) as Arc<dyn ObjectStore>,
            Arc::new(ThrottledStore::new(in_memory(&[]).fork(), throttle())),
        ] {
            let src = open(store, quick()).unwrap();
            assert_eq!(src.size(), 0);
            assert!(src.read_at(0, 0).unwrap().is_empty());
            assert_eq!(
                src.read_at(0, 1).unwrap_err().kind(),
                io::ErrorKind::UnexpectedEof
            );
        }
    }
}

/// Sources are shared between threads: the trait demands `Send + Sync`, and so do the
/// concrete types.
#[allow(dead_code)]
fn sources_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<FileSource>();
    check::<AnySource>();
    check::<Box<dyn ByteSource>>();
    #[cfg(feature = "remote")]
    check::<quire::source::RemoteSource>();
}
