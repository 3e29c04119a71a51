//! `RemoteSource` against real servers on 127.0.0.1 — nginx from Debian and moto's S3 from
//! PyPI, started by `tests/servers/nginx.sh` and `s3.sh` — with every request counted from the
//! server's side, in its access log.
//!
//! Run: `cargo test --features remote,server-tests --test remote` (about 30 s; the first run may install
//! nginx with apt-get and moto with pip). With `CI=true` a server that cannot be installed or
//! started fails the test; otherwise the test prints `skip: …` and passes having checked
//! nothing.
#![cfg(feature = "remote")]

#[path = "servers/fixture.rs"]
mod fixture;

use fixture::{data, free_port, Nginx, S3Server, S3};
use quire::source::{remote_error_kind, ByteSource, RemoteErrorKind, RemoteOptions, RemoteSource};
use std::fs;
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

const MIB: usize = 1 << 20;

/// Short timeouts, so that no test can hang for long.
fn opts() -> RemoteOptions {
    RemoteOptions::new()
        .request_timeout(Duration::from_secs(10))
        .connect_timeout(Duration::from_secs(5))
}

/// The remote kind of `e`, checking that its message is one line that names `url`.
fn kind(e: &io::Error, url: &str) -> RemoteErrorKind {
    let msg = e.to_string();
    assert!(
        !msg.contains('\n'),
        "error message on more than one line: {msg:?}"
    );
    let name = url.split('?').next().unwrap_or(url);
    assert!(
        msg.starts_with(name),
        "error message does not start with the URL {name}: {msg}"
    );
    remote_error_kind(e).unwrap_or_else(|| panic!("not a remote error: {e:?}"))
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

#[test]
fn open_is_one_request_then_reads_are_exact_and_cached() {
    let Some(mut ng) = Nginx::start() else { return };
    let file = data(1, MIB);
    ng.put("a.bin", &file);
    let url = ng.url("/a.bin");

    let src = RemoteSource::open(&url, opts()).unwrap();
    let open = ng.log.expect(1);
    assert_eq!(open[0].method, "GET");
    assert_eq!(open[0].range.as_deref(), Some("bytes=0-16383"));
    assert_eq!((open[0].status, open[0].bytes), (206, 16384));
    assert_eq!(
        (
            open[0].if_match.as_deref(),
            open[0].if_unmodified_since.as_deref()
        ),
        (None, None)
    );
    assert_eq!(src.size(), MIB as u64);
    assert!(src.etag().is_some());
    assert_eq!(src.etag(), open[0].etag.as_deref());
    assert_eq!(src.describe(), url);
    assert_eq!(src.stats().requests, 1);

    // Inside the first 16 KiB: no request.
    assert_eq!(&*src.read_at(0, 16384).unwrap(), &file[..16384]);
    assert_eq!(&*src.read_at(100, 50).unwrap(), &file[100..150]);
    assert_eq!(
        src.read_many(&[0..10, 16000..16384]).unwrap()[1],
        &file[16000..16384]
    );
    ng.log.expect(0);

    // A new range: one request of exactly that range, pinned to the ETag.
    assert_eq!(
        &*src.read_at(500_000, 20_000).unwrap(),
        &file[500_000..520_000]
    );
    let r = ng.log.expect(1);
    assert_eq!(r[0].range.as_deref(), Some("bytes=500000-519999"));
    assert_eq!((r[0].status, r[0].bytes), (206, 20_000));
    assert_eq!(r[0].if_match, open[0].etag);

    // Cache hits: the same range, a range inside it.
    assert_eq!(
        &*src.read_at(500_000, 20_000).unwrap(),
        &file[500_000..520_000]
    );
    assert_eq!(
        &*src.read_at(510_000, 100).unwrap(),
        &file[510_000..510_100]
    );
    ng.log.expect(0);
    assert_eq!(src.stats().cache_hits, 2);

    // read_many: two new ranges are two requests, one per range, not merged.
    let many = src
        .read_many(&[100_000..116_384, 800_000..816_384])
        .unwrap();
    assert_eq!(&*many[0], &file[100_000..116_384]);
    assert_eq!(&*many[1], &file[800_000..816_384]);
    let mut ranges: Vec<_> = ng
        .log
        .expect(2)
        .into_iter()
        .map(|r| r.range.unwrap())
        .collect();
    ranges.sort();
    assert_eq!(ranges, ["bytes=100000-116383", "bytes=800000-816383"]);
    // One cached, one in the prelude, one new (asked twice): one request.
    let many = src
        .read_many(&[800_000..800_010, 900_000..900_100, 0..10, 900_000..900_100])
        .unwrap();
    let want: [&[u8]; 4] = [
        &file[800_000..800_010],
        &file[900_000..900_100],
        &file[0..10],
        &file[900_000..900_100],
    ];
    assert_eq!(many.iter().map(|c| &**c).collect::<Vec<_>>(), want);
    ng.log.expect(1);

    // Byte-exact anywhere, the last byte included.
    let offsets = data(9, 8 * 40);
    for (i, chunk) in offsets.chunks(8).enumerate() {
        let x = u64::from_le_bytes(chunk.try_into().unwrap());
        let len = 1 + (x % 40_000) as usize;
        let start = (x >> 20) as usize % (MIB - len + 1);
        let start = if i == 0 { MIB - len } else { start };
        assert_eq!(
            &*src.read_at(start as u64, len).unwrap(),
            &file[start..start + len]
        );
    }
    ng.log.mark();

    // Past the end: a plain UnexpectedEof, found without a request.
    let e = src.read_at(MIB as u64 - 10, 11).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
    assert_eq!(remote_error_kind(&e), None);
    assert!(src.read_many(&[0..10, MIB as u64..MIB as u64 + 1]).is_err());
    ng.log.expect(0);
}

#[test]
fn small_and_empty_objects_and_urls_with_a_query() {
    let Some(mut ng) = Nginx::start() else { return };
    let small = data(2, 1000);
    ng.put("small.bin", &small);
    ng.put("empty.bin", b"");

    let src = RemoteSource::open(&ng.url("/small.bin?v=1"), opts()).unwrap();
    let r = ng.log.expect(1);
    assert_eq!(r[0].path, "/small.bin?v=1");
    assert_eq!(
        (r[0].range.as_deref(), r[0].status, r[0].bytes),
        (Some("bytes=0-16383"), 206, 1000)
    );
    assert_eq!(src.size(), 1000);
    assert_eq!(
        src.describe(),
        ng.url("/small.bin"),
        "the query is left out of messages"
    );
    // The whole object came with open: nothing more to fetch.
    assert_eq!(&*src.read_at(0, 1000).unwrap(), &small[..]);
    let many = src.read_many(&[990..1000, 0..0, 5..6]).unwrap();
    assert_eq!(
        (&*many[0], &*many[1], &*many[2]),
        (&small[990..], &[][..], &small[5..6])
    );
    ng.log.expect(0);

    // nginx answers a range of an empty file with 200 and nothing (S3 says 416).
    let empty = RemoteSource::open(&ng.url("/empty.bin"), opts()).unwrap();
    assert_eq!(ng.log.expect(1)[0].status, 200);
    assert_eq!(empty.size(), 0);
    assert!(empty.read_at(0, 0).unwrap().is_empty());
    assert_eq!(
        empty.read_at(0, 1).unwrap_err().kind(),
        io::ErrorKind::UnexpectedEof
    );
    ng.log.expect(0);
}

#[test]
fn read_many_fetches_its_ranges_in_parallel() {
    let Some(mut ng) = Nginx::start() else { return };
    let file = data(3, MIB);
    ng.put("p.bin", &file);
    // /slow-ranges/: the first 16 KiB at full speed, every other range at 1 KiB/s, so each
    // 2 KiB range below takes about 2 s; one after the other they would take 4 s.
    let t = Instant::now();
    let src = RemoteSource::open(&ng.url("/slow-ranges/p.bin"), opts()).unwrap();
    assert!(
        t.elapsed() < Duration::from_secs(1),
        "open took {:?}",
        t.elapsed()
    );
    ng.log.expect(1);

    let t = Instant::now();
    let got = src
        .read_many(&[100_000..102_048, 600_000..602_048])
        .unwrap();
    let took = t.elapsed();
    assert_eq!(
        (&*got[0], &*got[1]),
        (&file[100_000..102_048], &file[600_000..602_048])
    );
    let r = ng.log.expect(2);
    println!(
        "read_many of 2 slow ranges: {:.2} s (server: {:.2} s and {:.2} s, started {:.3} s apart)",
        secs(took),
        r[0].took,
        r[1].took,
        (r[0].start() - r[1].start()).abs()
    );
    assert!(
        r.iter().all(|r| r.took >= 1.5),
        "each range took ~2 s at the server: {r:?}"
    );
    assert!(
        took < Duration::from_millis(3500),
        "2 ranges took {took:?}: not in parallel"
    );
    assert!(
        (r[0].start() - r[1].start()).abs() < 0.5,
        "started apart: {r:?}"
    );
    assert_ne!(r[0].conn, r[1].conn, "two connections at once");
}

#[test]
fn readers_of_one_range_share_one_request_and_prefetch_is_joined() {
    let Some(mut ng) = Nginx::start() else { return };
    let file = data(4, MIB);
    ng.put("d.bin", &file);
    let src = Arc::new(RemoteSource::open(&ng.url("/slow-ranges/d.bin"), opts()).unwrap());
    ng.log.expect(1);

    // A prefetch starts the fetch; the read right after it joins the same request.
    src.prefetch(&[200_000..201_024, 0..100, u64::MAX - 1..u64::MAX]);
    assert_eq!(
        &*src.read_at(200_000, 1024).unwrap(),
        &file[200_000..201_024]
    );
    let r = ng.log.expect(1);
    assert_eq!(r[0].range.as_deref(), Some("bytes=200000-201023"));

    // Four threads read one range at once: one request.
    let t = Instant::now();
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let src = Arc::clone(&src);
            std::thread::spawn(move || src.read_at(300_000, 1024).map(|c| c.into_owned()))
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap().unwrap(), &file[300_000..301_024]);
    }
    ng.log.expect(1);
    println!(
        "4 readers of one slow range: {:.2} s, 1 request",
        secs(t.elapsed())
    );
}

#[test]
fn the_cache_is_bounded_by_its_budget() {
    let Some(mut ng) = Nginx::start() else { return };
    let file = data(5, MIB);
    ng.put("c.bin", &file);
    let src = RemoteSource::open(&ng.url("/c.bin"), opts().cache_bytes(40_000)).unwrap();
    ng.log.expect(1);
    let (a, b, c) = (100_000u64, 200_000u64, 300_000u64);
    for at in [a, b, c] {
        src.read_at(at, 16_384).unwrap();
    }
    ng.log.expect(3);
    // 3 × 16 KiB > 40,000: the least recently used (a) went, c and b stayed.
    src.read_at(c, 16_384).unwrap();
    src.read_at(b + 10, 100).unwrap();
    ng.log.expect(0);
    assert_eq!(
        &*src.read_at(a, 16_384).unwrap(),
        &file[a as usize..a as usize + 16_384]
    );
    ng.log.expect(1);
    // The first 16 KiB stay whatever the budget; a range larger than the budget is read
    // every time.
    src.read_at(0, 16_384).unwrap();
    src.read_at(400_000, 50_000).unwrap();
    src.read_at(400_000, 50_000).unwrap();
    ng.log.expect(2);

    let none = RemoteSource::open(&ng.url("/c.bin"), opts().cache_bytes(0)).unwrap();
    none.read_at(20_000, 10).unwrap();
    none.read_at(20_000, 10).unwrap();
    ng.log.expect(3);
}

/// Replaces `path` by `bytes` as a new file renamed over it, with the modification time
/// `mtime`.
fn replace(path: &std::path::Path, bytes: &[u8], mtime: SystemTime) {
    let tmp = path.with_extension("new");
    fs::write(&tmp, bytes).unwrap();
    fs::File::options()
        .write(true)
        .open(&tmp)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    fs::rename(&tmp, path).unwrap();
}

#[test]
fn a_replaced_file_is_an_error_never_its_bytes() {
    let Some(mut ng) = Nginx::start() else { return };
    let v1 = data(6, MIB);
    let path = ng.put("v.bin", &v1);
    let url = ng.url("/v.bin");
    let src = RemoteSource::open(&url, opts()).unwrap();
    let etag = ng.log.expect(1)[0].etag.clone();
    assert_eq!(&*src.read_at(100_000, 1000).unwrap(), &v1[100_000..101_000]);
    ng.log.expect(1);

    // Another archive of the same size, 10 s newer: nginx gives it another ETag.
    let mtime = fs::metadata(&path).unwrap().modified().unwrap();
    replace(&path, &data(60, MIB), mtime + Duration::from_secs(10));
    let e = src.read_at(200_000, 1000).unwrap_err();
    assert_eq!(kind(&e, &url), RemoteErrorKind::Changed);
    assert!(
        e.to_string()
            .contains("changed on the server since it was opened"),
        "{e}"
    );
    println!("replaced file: {e}");
    let r = ng.log.expect(1);
    assert_eq!((r[0].status, r[0].if_match.clone()), (412, etag.clone()));
    // read_many too; what was cached belongs to the version opened and is still served.
    let e = src
        .read_many(&[100_000..101_000, 300_000..301_000])
        .unwrap_err();
    assert_eq!(kind(&e, &url), RemoteErrorKind::Changed);
    ng.log.expect(1);
    assert_eq!(&*src.read_at(100_000, 1000).unwrap(), &v1[100_000..101_000]);
    ng.log.expect(0);

    // The limit (documented): the same size and modification time keep nginx's ETag, so the
    // source reads the new bytes. Only the format's checksum chain catches that swap.
    let same = RemoteSource::open(&url, opts()).unwrap();
    ng.log.expect(1);
    let mtime = fs::metadata(&path).unwrap().modified().unwrap();
    let v3 = data(61, MIB);
    replace(&path, &v3, mtime);
    assert_eq!(
        &*same.read_at(400_000, 1000).unwrap(),
        &v3[400_000..401_000]
    );
    assert_eq!(ng.log.expect(1)[0].status, 206);
}

#[test]
fn without_an_etag_last_modified_or_the_size_is_pinned() {
    let Some(mut ng) = Nginx::start() else { return };
    let file = data(7, MIB);
    let path = ng.put("n.bin", &file);

    // Last-Modified only: pinned with If-Unmodified-Since.
    let url = ng.url("/lastmodified/n.bin");
    let src = RemoteSource::open(&url, opts()).unwrap();
    let open = ng.log.expect(1);
    assert_eq!((src.etag(), open[0].etag.as_deref()), (None, None));
    assert!(src.last_modified().is_some());
    src.read_at(100_000, 1000).unwrap();
    let r = ng.log.expect(1);
    assert_eq!(r[0].if_match, None);
    assert_eq!(r[0].if_unmodified_since.as_deref(), src.last_modified());
    let mtime = fs::metadata(&path).unwrap().modified().unwrap();
    replace(&path, &data(70, MIB), mtime + Duration::from_secs(10));
    let e = src.read_at(200_000, 1000).unwrap_err();
    assert_eq!(kind(&e, &url), RemoteErrorKind::Changed);
    assert_eq!(ng.log.expect(1)[0].status, 412);

    // Neither ETag nor Last-Modified: no condition is sent (nginx would answer 412 to
    // If-Match), but the total size in every Content-Range is checked.
    let file = data(71, MIB);
    replace(&path, &file, mtime);
    let url = ng.url("/noetag/n.bin");
    let src = RemoteSource::open(&url, opts()).unwrap();
    ng.log.expect(1);
    assert_eq!((src.etag(), src.last_modified()), (None, None));
    assert_eq!(
        &*src.read_at(100_000, 1000).unwrap(),
        &file[100_000..101_000]
    );
    let r = ng.log.expect(1);
    assert_eq!(
        (
            r[0].if_match.as_deref(),
            r[0].if_unmodified_since.as_deref()
        ),
        (None, None)
    );
    fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(MIB as u64 / 2)
        .unwrap();
    let e = src.read_at(200_000, 1000).unwrap_err();
    assert_eq!(kind(&e, &url), RemoteErrorKind::Changed);
    assert!(
        e.to_string().contains("size is now 524288, was 1048576"),
        "{e}"
    );
    assert_eq!(ng.log.expect(1)[0].status, 206);
    // Past the new end: the server's 416.
    let e = src.read_at(700_000, 1000).unwrap_err();
    assert_eq!(kind(&e, &url), RemoteErrorKind::RangeNotSatisfiable);
    assert_eq!(ng.log.expect(1)[0].status, 416);
    println!("416: {e}");
}

#[test]
fn faults_are_one_line_errors_of_their_own_kind() {
    let Some(mut ng) = Nginx::start() else { return };
    ng.put("a.bin", &data(8, 100_000));

    // 404 and 403: not retried.
    let url = ng.url("/missing.bin");
    let e = RemoteSource::open(&url, opts()).unwrap_err();
    assert_eq!(
        (kind(&e, &url), e.kind()),
        (RemoteErrorKind::NotFound, io::ErrorKind::NotFound)
    );
    assert_eq!(ng.log.expect(1)[0].status, 404);
    println!("404: {e}");
    let url = ng.url("/forbidden/a.bin");
    let e = RemoteSource::open(&url, opts()).unwrap_err();
    assert_eq!(
        (kind(&e, &url), e.kind()),
        (RemoteErrorKind::Forbidden, io::ErrorKind::PermissionDenied)
    );
    assert_eq!(ng.log.expect(1)[0].status, 403);
    println!("403: {e}");

    // A server that ignores Range and sends a 256 MiB object whole: refused at the headers,
    // the body left unread.
    let big = ng.www().join("big.bin");
    fs::File::create(&big)
        .unwrap()
        .set_len(256 * MIB as u64)
        .unwrap();
    let url = ng.url("/norange/big.bin");
    let t = Instant::now();
    let e = RemoteSource::open(&url, opts()).unwrap_err();
    let took = t.elapsed();
    assert_eq!(
        (kind(&e, &url), e.kind()),
        (RemoteErrorKind::IgnoredRange, io::ErrorKind::Unsupported)
    );
    let r = ng.log.expect(1);
    println!(
        "200 for a range: {e} ({:.2} s, the server sent {} bytes)",
        secs(took),
        r[0].bytes
    );
    assert_eq!(r[0].status, 200);
    assert!(r[0].bytes < 64 * MIB as u64, "the body was read: {r:?}");
    assert!(took < Duration::from_secs(3), "took {took:?}");

    // 503 on every try: retried with backoff, then a server error.
    let url = ng.url("/unavailable/a.bin");
    let t = Instant::now();
    let o = opts()
        .retries(2)
        .initial_backoff(Duration::from_millis(200));
    let e = RemoteSource::open(&url, o).unwrap_err();
    let took = t.elapsed();
    assert_eq!(kind(&e, &url), RemoteErrorKind::Server);
    assert!(
        e.to_string().contains("503") && e.to_string().contains("after 3 tries"),
        "{e}"
    );
    let r = ng.log.expect(3);
    assert!(r.iter().all(|r| r.status == 503));
    // Backoff: 200 ms, then 200–400 ms.
    assert!(
        r[1].start() - r[0].end >= 0.15 && r[2].start() - r[1].end >= 0.15,
        "{r:?}"
    );
    assert!(
        took >= Duration::from_millis(380) && took < Duration::from_secs(3),
        "{took:?}"
    );
    println!("503: {e} ({:.2} s)", secs(took));

    // Nothing listening: a connection error, retried, fast.
    let url = format!("http://127.0.0.1:{}/a.bin", free_port());
    let t = Instant::now();
    let o = opts().retries(1).initial_backoff(Duration::from_millis(50));
    let e = RemoteSource::open(&url, o).unwrap_err();
    assert_eq!(kind(&e, &url), RemoteErrorKind::Connect);
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    println!("refused: {e}");

    // URLs that name nothing readable.
    for url in [
        "ftp://127.0.0.1/a.bin",
        "http://127.0.0.1/dir/",
        "s3://bucket",
        "s3://bucket/",
        "not a url",
    ] {
        let e = RemoteSource::open(url, opts()).unwrap_err();
        assert_eq!(
            remote_error_kind(&e),
            Some(RemoteErrorKind::InvalidUrl),
            "{url}: {e}"
        );
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
    }
    ng.log.expect(0);
}

#[test]
fn timeouts_fire_and_nothing_hangs() {
    let Some(mut ng) = Nginx::start() else { return };
    ng.put("t.bin", &data(9, MIB));
    let url = ng.url("/slow-ranges/t.bin");
    let one = Duration::from_secs(1);

    // 8 KiB at 1 KiB/s with a 1 s timeout and no retry.
    let src = RemoteSource::open(&url, opts().request_timeout(one).retries(0)).unwrap();
    ng.log.expect(1);
    let t = Instant::now();
    let e = src.read_at(100_000, 8192).unwrap_err();
    let took = t.elapsed();
    assert_eq!(
        (kind(&e, &url), e.kind()),
        (RemoteErrorKind::Timeout, io::ErrorKind::TimedOut)
    );
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_millis(2500),
        "{took:?}"
    );
    let r = ng.log.expect(1);
    assert!(r[0].bytes < 8192, "{r:?}");
    println!("timeout: {e} ({:.2} s)", secs(took));

    // One retry: two tries of 1 s.
    let o = opts()
        .request_timeout(one)
        .retries(1)
        .initial_backoff(Duration::from_millis(100));
    let src = RemoteSource::open(&url, o).unwrap();
    ng.log.expect(1);
    let t = Instant::now();
    let e = src.read_at(100_000, 8192).unwrap_err();
    let took = t.elapsed();
    assert_eq!(kind(&e, &url), RemoteErrorKind::Timeout);
    assert!(
        took >= Duration::from_millis(1900) && took < Duration::from_secs(4),
        "{took:?}"
    );
    ng.log.expect(2);
    println!("timeout after a retry: {:.2} s", secs(took));

    // Open itself: the first 16 KiB at 1 KiB/s would take 16 s.
    let url = ng.url("/slow/t.bin");
    let t = Instant::now();
    let e = RemoteSource::open(&url, opts().request_timeout(one).retries(0)).unwrap_err();
    assert_eq!(kind(&e, &url), RemoteErrorKind::Timeout);
    assert!(
        t.elapsed() < Duration::from_millis(2500),
        "{:?}",
        t.elapsed()
    );
    ng.log.expect(1);
}

#[test]
fn an_answer_cut_short_is_a_short_read_or_a_change() {
    let Some(mut ng) = Nginx::start() else { return };
    let url = ng.url("/slow-ranges/s.bin");
    for retries in [0, 2] {
        let path = ng.put("s.bin", &data(10, MIB));
        let o = opts()
            .retries(retries)
            .request_timeout(Duration::from_secs(20));
        let src = Arc::new(RemoteSource::open(&url, o).unwrap());
        ng.log.expect(1);
        // 10,000 bytes at 1 KiB/s; the file is cut to 100 bytes while nginx sends them, and
        // nginx closes the connection early.
        let t = Instant::now();
        let reader = {
            let src = Arc::clone(&src);
            std::thread::spawn(move || src.read_at(24_000, 10_000).map(|c| c.len()))
        };
        std::thread::sleep(Duration::from_millis(300));
        fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(100)
            .unwrap();
        let e = reader.join().unwrap().unwrap_err();
        let took = t.elapsed();
        assert!(took < Duration::from_secs(8), "{took:?}");
        if retries == 0 {
            assert_eq!(
                (kind(&e, &url), e.kind()),
                (RemoteErrorKind::ShortRead, io::ErrorKind::UnexpectedEof)
            );
            let r = ng.log.expect(1);
            assert!(r[0].status == 206 && r[0].bytes < 10_000, "{r:?}");
            println!("cut short: {e} ({:.2} s)", secs(took));
        } else {
            // The retry for the rest carries If-Match: the cut file has another ETag.
            assert_eq!(kind(&e, &url), RemoteErrorKind::Changed);
            let r = ng.log.expect(2);
            assert_eq!((r[0].status, r[1].status), (206, 412), "{r:?}");
            println!("cut short, retried: {e} ({:.2} s)", secs(took));
        }
    }
}

const BUCKET: &str = "quire-test";
const CHILD: &str = "QUIRE_REMOTE_TEST_S3";

/// moto's S3 through the AWS_* environment variables. They are process-wide, so the checks
/// run in a child process (this test binary again, running `s3_child_process` alone) with
/// the variables `s3.sh env` prints: no other test's threads see them change.
#[test]
fn s3_through_moto_with_the_aws_environment() {
    if std::env::var_os(CHILD).is_some() {
        return;
    }
    let Some(s3) = S3::start() else { return };
    s3.server.put(BUCKET, "dir/a.bin", &data(11, MIB));
    for mode in ["signed", "unsigned"] {
        let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
        cmd.args([
            "s3_child_process",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ]);
        for (k, _) in std::env::vars() {
            if k.starts_with("AWS_") {
                cmd.env_remove(k);
            }
        }
        cmd.envs(s3.server.client_env());
        if mode == "unsigned" {
            // No credentials, metadata service disabled (s3.sh env sets that): unsigned.
            cmd.env_remove("AWS_ACCESS_KEY_ID")
                .env_remove("AWS_SECRET_ACCESS_KEY");
        }
        cmd.env(CHILD, format!("{mode}\t{}", s3.server.to_env()));
        let out = cmd.output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        println!("--- child ({mode}) ---\n{text}");
        assert!(out.status.success(), "the S3 checks ({mode}) failed");
        assert!(text.contains("1 passed"), "the child ran no test");
    }
}

/// Runs only in the child process of `s3_through_moto_with_the_aws_environment`; elsewhere it
/// returns at once.
#[test]
fn s3_child_process() {
    let Ok(arg) = std::env::var(CHILD) else {
        return;
    };
    let (mode, server) = arg.split_once('\t').unwrap();
    let mut s3 = S3Server::from_env(server);
    s3.log.mark();
    let url = format!("s3://{BUCKET}/dir/a.bin");

    if mode == "unsigned" {
        // moto's objects are private: an unsigned request is refused, for want of the
        // credentials that the environment does not give.
        let e = RemoteSource::open(&url, opts()).unwrap_err();
        assert_eq!(kind(&e, &url), RemoteErrorKind::NoCredentials);
        assert!(e.to_string().contains("no credentials for S3"), "{e}");
        let r = s3.log.expect(1);
        assert_eq!((r[0].status, r[0].signed), (403, false));
        println!("unsigned: {e}");
        return;
    }

    let file = data(11, MIB);
    let src = RemoteSource::open(&url, opts()).unwrap();
    let open = s3.log.expect(1);
    assert_eq!(open[0].path, "/quire-test/dir/a.bin");
    assert_eq!(open[0].range.as_deref(), Some("bytes=0-16383"));
    assert_eq!(
        (open[0].status, open[0].bytes, open[0].signed),
        (206, 16384, true)
    );
    assert_eq!(src.size(), MIB as u64);
    assert_eq!(src.etag(), open[0].etag.as_deref());
    assert_eq!(src.describe(), url);

    assert_eq!(
        &*src.read_at(300_000, 50_000).unwrap(),
        &file[300_000..350_000]
    );
    let r = s3.log.expect(1);
    assert_eq!(r[0].range.as_deref(), Some("bytes=300000-349999"));
    assert_eq!(r[0].if_match, open[0].etag);

    let many = src
        .read_many(&[100_000..116_384, 900_000..916_384])
        .unwrap();
    assert_eq!(
        (&*many[0], &*many[1]),
        (&file[100_000..116_384], &file[900_000..916_384])
    );
    s3.log.expect(2);
    src.read_at(310_000, 100).unwrap();
    src.read_many(&[100_000..100_001, 0..16_384]).unwrap();
    s3.log.expect(0);

    let missing = format!("s3://{BUCKET}/dir/missing.bin");
    let e = RemoteSource::open(&missing, opts()).unwrap_err();
    assert_eq!(kind(&e, &missing), RemoteErrorKind::NotFound);
    assert_eq!(s3.log.expect(1)[0].status, 404);

    // Overwritten: moto's ETag is the MD5 of the content, If-Match with the old one is 412.
    s3.put(BUCKET, "dir/a.bin", &data(12, MIB));
    s3.log.mark(); // the upload's own requests
    let e = src.read_at(500_000, 1000).unwrap_err();
    assert_eq!(kind(&e, &url), RemoteErrorKind::Changed);
    let r = s3.log.expect(1);
    assert_eq!(
        (r[0].status, r[0].if_match.clone()),
        (412, open[0].etag.clone())
    );
    println!("overwritten: {e}");
}

#[test]
fn reads_from_inside_an_async_runtime_do_not_panic() {
    let Some(mut ng) = Nginx::start() else { return };
    let file = data(13, 100_000);
    ng.put("r.bin", &file);
    let url = ng.url("/r.bin");
    // A current-thread runtime's only thread calls the blocking API: the internal runtime
    // does the I/O, nothing panics ("cannot start a runtime from within a runtime").
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let got = rt.block_on(async {
        let src = RemoteSource::open(&url, opts()).unwrap();
        let got = src.read_at(50_000, 1000).unwrap().into_owned();
        drop(src); // dropped inside the runtime too
        got
    });
    assert_eq!(got, &file[50_000..51_000]);
    ng.log.expect(2);
}
