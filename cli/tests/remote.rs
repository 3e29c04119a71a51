//! The `quire` binary reading archives over HTTP (nginx) and S3 (moto), end to end, against
//! the real servers of `tests/servers/` (see its README), with what each command cost counted
//! from the server's own access log.
//!
//! - `quire get|ls|ls --long|info|verify|unpack --jsonl -` print over `http://` and `s3://`
//!   exactly what they print for the local file.
//! - One `quire get URL KEY` process: ≤ 4 requests, ≤ 3 round trips (the block and the
//!   dictionary in parallel), and no more bytes than the prelude, the stored dictionary, one
//!   page, one block and 16 KiB.
//! - A reader kept open pays ≤ 2 requests (a page, a block) per further cold article.
//! - On an archive packed with `WriterOptions::remote()` (`--preset remote`), one `quire get
//!   URL KEY` process costs 4 requests and at most 256 KiB, the dictionary included.
//! - A file swapped for another of the same size and modification time (nginx keeps its ETag)
//!   is caught by the checksum chain: every read of the old reader fails, none returns the
//!   new file's bytes.
//! - Faults are one-line messages with their exit codes, within a time bound.
//!
//! Run: `cargo test -p quire-cli --features server-tests --test remote` (.ci/run does; about a
//! minute; `-- --nocapture` prints the
//! counts and timings). With `CI=true` a server that cannot be started fails the test;
//! otherwise the test prints `skip: …` and passes having checked nothing.

#[path = "../../tests/servers/fixture.rs"]
mod fixture;

use fixture::{Nginx, Request, S3};
use quire::format::header::Prelude;
use quire::format::nodes::{child_for_key, decode_branch, find_in_page, unpack_node, PageHead};
use quire::format::{SectionId, MAX_PRELUDE_LEN};
use quire::{Archive, ArchiveWriter, Date, DictionaryMode, NewEntry, ReadError, WriterOptions};
use std::collections::HashSet;
use std::fs;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime};

const KIB: u64 = 1024;
/// The first read of a remote archive (`RemoteSource::open`).
const PRELUDE: u64 = 16 * KIB;

// ------------------------------------------------------------------------------ the corpus

/// splitmix64: the same articles on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }
}

/// One article as packed.
#[derive(Clone)]
struct Art {
    key: String,
    title: String,
    date: String,
    body: Vec<u8>,
}

/// A vocabulary of word-like strings, the common ones short.
fn vocabulary(rng: &mut Rng) -> Vec<String> {
    const SYL: [&str; 40] = [
        "ka", "to", "ren", "mi", "sa", "lo", "ver", "an", "de", "is", "tor", "ul", "pre", "con",
        "ma", "ti", "on", "es", "ar", "ne", "li", "gra", "sto", "pe", "ba", "ri", "ch", "el", "fo",
        "un", "ber", "mo", "qui", "na", "st", "vi", "po", "ly", "te", "dor",
    ];
    (0..4000)
        .map(|i| {
            let n = 1 + (i / 400).min(3) as u64 + rng.below(2);
            (0..n).map(|_| SYL[rng.below(40) as usize]).collect()
        })
        .collect()
}

/// A word, skewed towards the start of the vocabulary (roughly Zipf-like).
fn word<'v>(rng: &mut Rng, vocab: &'v [String]) -> &'v str {
    let a = rng.below(1 << 20) as f64 / (1 << 20) as f64;
    let b = rng.below(1 << 20) as f64 / (1 << 20) as f64;
    &vocab[((a * a * b) * vocab.len() as f64) as usize]
}

fn capitalised(w: &str) -> String {
    let mut c = w.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// `n` articles: keys `YYYY/MM/DD/slug-N`, titles, dates, bodies of 1–8 KB of sentences.
fn articles(n: usize, seed: u64) -> Vec<Art> {
    let mut rng = Rng(seed);
    let vocab = vocabulary(&mut rng);
    (0..n)
        .map(|i| {
            let (y, m, d) = (2000 + i % 10, 1 + (i / 10) % 12, 1 + (i / 120) % 28);
            let slug: Vec<&str> = (0..rng.range(2, 4))
                .map(|_| word(&mut rng, &vocab))
                .collect();
            let key = format!("{y:04}/{m:02}/{d:02}/{}-{i}", slug.join("-"));
            let title: Vec<String> = (0..rng.range(4, 10))
                .map(|_| capitalised(word(&mut rng, &vocab)))
                .collect();
            let want = rng.range(1000, 8000) as usize;
            let mut body = String::with_capacity(want + 200);
            while body.len() < want {
                for s in 0..rng.range(3, 7) {
                    let words: Vec<&str> = (0..rng.range(6, 20))
                        .map(|_| word(&mut rng, &vocab))
                        .collect();
                    if s > 0 {
                        body.push(' ');
                    }
                    body.push_str(&capitalised(words[0]));
                    for w in &words[1..] {
                        body.push(' ');
                        body.push_str(w);
                    }
                    body.push('.');
                }
                body.push_str("\n\n");
            }
            body.truncate(want);
            Art {
                key,
                title: title.join(" "),
                date: format!("{y:04}-{m:02}-{d:02}"),
                body: body.into_bytes(),
            }
        })
        .collect()
}

fn pack(arts: &[Art], opts: WriterOptions) -> Vec<u8> {
    let mut w = ArchiveWriter::in_memory(opts).unwrap();
    for a in arts {
        w.add(
            &NewEntry::new(&a.key, &a.body)
                .title(&a.title)
                .date(Date::parse(&a.date).unwrap()),
        )
        .unwrap();
    }
    w.finish_into_inner().unwrap().0.into_inner()
}

/// Where a lookup lies in an archive, found from its bytes with `quire::format` alone (not
/// the reader): the sections, the pages under the root, and per key its page and block.
struct Model {
    dict: Range<u64>,
    index: Range<u64>,
    data: Range<u64>,
    depth: u8,
}

/// The byte ranges a cold lookup of one key needs besides the prelude and the dictionary.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Lookup {
    page: Range<u64>,
    block: Range<u64>,
}

impl Model {
    fn new(bytes: &[u8]) -> Model {
        let n = bytes.len().min(MAX_PRELUDE_LEN);
        let p = Prelude::decode(&bytes[..n], bytes.len() as u64).unwrap();
        let range = |id: SectionId| {
            let r = p.sections.iter().find(|s| s.id == id as u32).unwrap();
            r.offset..r.offset + r.length
        };
        Model {
            dict: range(SectionId::Dict),
            index: range(SectionId::Index),
            data: range(SectionId::Data),
            depth: p.header.index_depth,
        }
    }

    /// The dictionary's bytes as a remote source asks for them: past the first 16 KiB, which
    /// it holds from the open.
    fn dict_asked(&self) -> Range<u64> {
        self.dict.start.max(PRELUDE).min(self.dict.end)..self.dict.end
    }

    /// The page and block of `key` (an index of depth 1: the root is a branch over pages).
    fn lookup(&self, bytes: &[u8], key: &str) -> Lookup {
        assert_eq!(self.depth, 1, "the model reads an index of depth 1");
        let n = bytes.len().min(MAX_PRELUDE_LEN);
        let p = Prelude::decode(&bytes[..n], bytes.len() as u64).unwrap();
        let children = decode_branch(p.root, 0).unwrap();
        let c = child_for_key(&children, key.as_bytes()).unwrap();
        let start = self.index.start + c.offset;
        let stored = &bytes[start as usize..(start + u64::from(c.len)) as usize];
        let page = &unpack_node(stored, true).unwrap()[..];
        let head = PageHead::decode(page).unwrap();
        let (_, rec) = find_in_page(page, &head, key.as_bytes()).unwrap().unwrap();
        // The lead (title) is read with the body: both lie in one block for entries below
        // the block target.
        let b = head.block_holding(rec.lead_at).unwrap();
        assert_eq!(
            head.block_holding(rec.body_at() + rec.body_len - 1),
            Some(b)
        );
        let block = self.data.start + b.offset;
        Lookup {
            page: start..start + u64::from(c.len),
            block: block..block + u64::from(b.stored_len),
        }
    }
}

/// The news-like archive every test shares: packed once per run.
struct Corpus {
    arts: Vec<Art>,
    bytes: Vec<u8>,
    model: Model,
    /// The archive as a local file (for the local runs of the CLI).
    path: PathBuf,
}

fn corpus() -> &'static Corpus {
    static CORPUS: OnceLock<Corpus> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let t = Instant::now();
        let arts = articles(3000, 2002);
        let bytes = pack(&arts, WriterOptions::default().created(1_700_000_000));
        let model = Model::new(&bytes);
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-remote");
        fs::create_dir_all(&dir).unwrap();
        // One file per process: two test runs at once must not replace each other's.
        let path = dir.join(format!("news-{}.quire", std::process::id()));
        fs::write(&path, &bytes).unwrap();
        println!(
            "corpus: {} articles, {} bytes packed in {:.1} s; dictionary {} bytes stored, index {} \
             bytes (depth {}), data {} bytes",
            arts.len(),
            bytes.len(),
            t.elapsed().as_secs_f64(),
            model.dict.end - model.dict.start,
            model.index.end - model.index.start,
            model.depth,
            model.data.end - model.data.start
        );
        assert!(model.dict.end > model.dict.start, "no dictionary");
        assert_eq!(model.depth, 1);
        Corpus {
            arts,
            bytes,
            model,
            path,
        }
    })
}

/// `count` distinct articles, picked at random (deterministically by `seed`).
fn pick(arts: &[Art], count: usize, seed: u64) -> Vec<&Art> {
    let mut rng = Rng(seed);
    let mut idx: Vec<usize> = (0..arts.len()).collect();
    for i in 0..count.min(idx.len()) {
        let j = i + rng.below((idx.len() - i) as u64) as usize;
        idx.swap(i, j);
    }
    idx[..count].iter().map(|&i| &arts[i]).collect()
}

// ------------------------------------------------------------------------------ helpers

/// The CLI under test: `QUIRE_TEST_CLI` when set (`.ci/run` gives the release build, the one
/// users run, whose processes start faster than the debug build's: these tests start some
/// thousands), else the debug build cargo made for these tests.
fn cli() -> std::ffi::OsString {
    std::env::var_os("QUIRE_TEST_CLI").unwrap_or_else(|| env!("CARGO_BIN_EXE_quire").into())
}

fn quire(args: &[&str]) -> Output {
    Command::new(cli()).args(args).output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Runs `quire ARGS` on the local file and on `url` (in place of `{}`), and asserts the
/// same exit code, the same stdout (`filter` applied to both), and the same stderr with the
/// URL for the path.
fn same(local: &Path, url: &str, args: &[&str], filter: fn(&str, &str) -> String) {
    let run = |archive: &str| {
        let a: Vec<&str> = args
            .iter()
            .map(|a| if *a == "{}" { archive } else { a })
            .collect();
        let t = Instant::now();
        let o = quire(&a);
        (o, t.elapsed())
    };
    let l = local.to_str().unwrap();
    let ((lo, lt), (ro, rt)) = (run(l), run(url));
    let shown = args.join(" ");
    assert_eq!(
        lo.status.code(),
        ro.status.code(),
        "quire {shown}: exit codes differ\nlocal: {}\nremote: {}",
        text(&lo.stderr),
        text(&ro.stderr)
    );
    let (ls, rs) = (filter(&text(&lo.stdout), l), filter(&text(&ro.stdout), url));
    assert!(
        ls == rs,
        "quire {shown}: stdout differs ({} and {} bytes)",
        ls.len(),
        rs.len()
    );
    assert!(
        !ls.is_empty() || args.contains(&"get"),
        "quire {shown}: no output"
    );
    assert_eq!(
        text(&lo.stderr).replace(l, url),
        text(&ro.stderr),
        "quire {shown}: stderr differs"
    );
    println!(
        "quire {shown}: {} bytes of stdout alike, exit {:?} (local {:.2} s, remote {:.2} s)",
        ls.len(),
        lo.status.code(),
        lt.as_secs_f64(),
        rt.as_secs_f64()
    );
}

fn as_is(s: &str, _archive: &str) -> String {
    s.to_owned()
}

/// `info` without its line naming the file.
fn without_file_line(s: &str, _archive: &str) -> String {
    s.lines()
        .filter(|l| !l.starts_with("file:"))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// `verify` says `ARCHIVE: report`: the report.
fn without_archive(s: &str, archive: &str) -> String {
    s.replace(archive, "ARCHIVE")
}

/// `bytes=A-B` as `A..B+1`.
fn range_of(r: &Request) -> Range<u64> {
    let spec = r
        .range
        .as_deref()
        .unwrap_or_else(|| panic!("no Range: {r:?}"));
    let (a, b) = spec
        .strip_prefix("bytes=")
        .and_then(|s| s.split_once('-'))
        .unwrap_or_else(|| panic!("unexpected Range {spec:?}"));
    a.parse().unwrap()..b.parse::<u64>().unwrap() + 1
}

fn len(r: &Range<u64>) -> u64 {
    r.end - r.start
}

/// Gets `key` from `url` in a fresh process; asserts it prints `body`.
fn remote_get(url: &str, art: &Art, envs: &[(String, String)]) {
    let mut cmd = Command::new(cli());
    cmd.args(["get", url, &art.key]);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let o = cmd.output().unwrap();
    assert!(
        o.status.success(),
        "quire get {url} {}: exit {:?}: {}",
        art.key,
        o.status.code(),
        text(&o.stderr)
    );
    assert!(
        o.stdout == art.body,
        "quire get {url} {}: other bytes",
        art.key
    );
    assert!(o.stderr.is_empty(), "{}", text(&o.stderr));
}

/// Runs `f` over `items` on `threads` threads.
fn parallel<T: Sync>(items: &[T], threads: usize, f: impl Fn(&T) + Sync) {
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(item) = items.get(i) else { break };
                f(item);
            });
        }
    });
}

// ------------------------------------------------------------------------------ the tests

#[test]
fn the_cli_reads_over_https_what_it_reads_from_the_file() {
    let c = corpus();
    let Some(ng) = Nginx::start() else { return };
    ng.put("news.quire", &c.bytes);
    let url = ng.https_url("/news.quire");
    // The server's certificate is signed by a CA of the test's own, trusted through the
    // usual variable; 1,000 random keys, each a fresh process, each body as packed.
    let ca = vec![(
        "SSL_CERT_FILE".to_string(),
        ng.ca_file().to_str().unwrap().to_string(),
    )];
    let keys = pick(&c.arts, 1000, 9);
    let t = Instant::now();
    parallel(&keys, 3, |a| remote_get(&url, a, &ca));
    println!(
        "https: 1000 x quire get URL KEY: {:.1} s",
        t.elapsed().as_secs_f64()
    );
    // Without the CA the certificate is refused: one line, exit 4, quickly.
    let t = Instant::now();
    let o = Command::new(cli())
        .args(["get", &url, &keys[0].key])
        .env("SSL_CERT_FILE", "/nonexistent")
        .output()
        .unwrap();
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(4), "{err}");
    assert!(
        err.contains("certificate") && err.trim().lines().count() == 1,
        "{err}"
    );
    assert!(o.stdout.is_empty());
    assert!(t.elapsed() < Duration::from_secs(20), "{:?}", t.elapsed());
}

#[test]
fn the_cli_prints_over_http_what_it_prints_for_the_file() {
    let c = corpus();
    let Some(ng) = Nginx::start() else { return };
    ng.put("news.quire", &c.bytes);
    let url = ng.url("/news.quire");
    let local = c.path.as_path();

    // 1,000 random keys: the local CLI prints each body (one process for all, then one per
    // key, checked against the articles packed), and so does a fresh `quire get URL KEY`.
    let keys = pick(&c.arts, 1000, 7);
    let mut args = vec!["get", local.to_str().unwrap()];
    args.extend(keys.iter().map(|a| a.key.as_str()));
    let o = quire(&args);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let want: Vec<u8> = keys.iter().flat_map(|a| a.body.iter().copied()).collect();
    assert!(o.stdout == want, "the local get printed other bytes");
    let t = Instant::now();
    parallel(&keys, 3, |a| {
        let o = quire(&["get", local.to_str().unwrap(), &a.key]);
        assert!(
            o.status.success() && o.stdout == a.body,
            "quire get FILE {}",
            a.key
        );
        remote_get(&url, a, &[]);
    });
    println!(
        "1000 x (quire get FILE KEY, quire get URL KEY): {:.1} s ({:.1} ms per pair, 3 at a time)",
        t.elapsed().as_secs_f64(),
        t.elapsed().as_secs_f64() * 1e3 / keys.len() as f64 * 3.0
    );
    // Stderr and exit codes alike too, and a missing key (exit 3).
    for a in &keys[..10] {
        same(local, &url, &["get", "{}", &a.key], as_is);
    }
    same(local, &url, &["get", "{}", "2002/nope"], as_is);
    same(
        local,
        &url,
        &["get", "{}", &keys[0].key, "2002/nope", &keys[1].key],
        as_is,
    );

    same(local, &url, &["ls", "{}"], as_is);
    same(local, &url, &["ls", "--long", "{}"], as_is);
    same(local, &url, &["ls", "--prefix", "2003/04", "{}"], as_is);
    same(local, &url, &["ls", "--json", "--long", "{}"], as_is);
    same(local, &url, &["info", "{}"], without_file_line);
    // Title suggestions over HTTP: the same lines, one letter and two, with and without a
    // limit.
    for q in ["k", "Ka", "KA TO"] {
        same(local, &url, &["suggest", "{}", q], as_is);
        same(
            local,
            &url,
            &["suggest", "--json", "--limit", "0", "{}", q],
            as_is,
        );
    }
    same(local, &url, &["verify", "{}"], without_archive);
    same(local, &url, &["unpack", "-q", "--jsonl", "-", "{}"], as_is);
}

#[test]
fn the_cli_prints_over_s3_what_it_prints_for_the_file() {
    let c = corpus();
    let Some(s3) = S3::start() else { return };
    let mut server = s3.server.clone();
    server.put("quire-test", "dir/news.quire", &c.bytes);
    let url = "s3://quire-test/dir/news.quire";
    let mut env: Vec<(String, String)> = server.client_env();
    // Older object_store releases read AWS_ENDPOINT (README).
    if let Some((_, v)) = env.iter().find(|(k, _)| k == "AWS_ENDPOINT_URL").cloned() {
        env.push(("AWS_ENDPOINT".into(), v));
    }
    let keys = pick(&c.arts, 1000, 8);

    // One get, counted: ≤ 4 requests, each signed.
    server.log.mark();
    remote_get(url, keys[0], &env);
    let r = server.log.all();
    // (moto's own `/moto-api/` probes are not the client's.)
    let r: Vec<&Request> = r
        .iter()
        .filter(|r| r.method == "GET" && r.path.starts_with("/quire-test/"))
        .collect();
    println!(
        "s3: one quire get: {} requests: {:?}",
        r.len(),
        r.iter()
            .map(|r| r.range.as_deref().unwrap_or("-"))
            .collect::<Vec<_>>()
    );
    assert!(!r.is_empty() && r.len() <= 4, "{r:#?}");
    assert!(r.iter().all(|r| r.signed && r.status == 206), "{r:#?}");

    let t = Instant::now();
    parallel(&keys, 3, |a| remote_get(url, a, &env));
    println!(
        "s3: 1000 x quire get URL KEY: {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let run = |args: &[&str], remote: bool| {
        let mut cmd = Command::new(cli());
        cmd.args(args);
        if remote {
            cmd.envs(env.iter().map(|(k, v)| (k, v)));
        }
        cmd.output().unwrap()
    };
    let local = c.path.to_str().unwrap();
    for args in [
        &["ls", "--long", "{}"][..],
        &["info", "{}"],
        &["verify", "{}"],
        &["unpack", "-q", "--jsonl", "-", "{}"],
        &["suggest", "--json", "{}", "ka"],
    ] {
        let a = |x: &str| -> Vec<String> {
            args.iter()
                .map(|s| {
                    if *s == "{}" {
                        x.to_owned()
                    } else {
                        s.to_string()
                    }
                })
                .collect()
        };
        let (la, ra) = (a(local), a(url));
        let la: Vec<&str> = la.iter().map(String::as_str).collect();
        let ra: Vec<&str> = ra.iter().map(String::as_str).collect();
        let (lo, ro) = (run(&la, false), run(&ra, true));
        assert_eq!(lo.status.code(), ro.status.code(), "{}", text(&ro.stderr));
        let f = if args[0] == "info" {
            without_file_line
        } else {
            without_archive
        };
        assert!(
            f(&text(&lo.stdout), local) == f(&text(&ro.stdout), url),
            "s3: quire {}: stdout differs",
            args.join(" ")
        );
        println!("s3: quire {}: alike", args.join(" "));
    }
}

/// The requests of one cold lookup, as the server logged them, sorted by what they are.
#[derive(Debug, Default)]
struct Cold<'r> {
    prelude: Option<&'r Request>,
    dict: Option<&'r Request>,
    page: Option<&'r Request>,
    block: Option<&'r Request>,
}

/// Sorts `log` into the prelude, dictionary, page and block of `want`, asserting that each
/// request is one of them, asked once, with its exact range and a whole 206 answer.
fn classify<'r>(log: &'r [Request], m: &Model, want: &Lookup) -> Cold<'r> {
    let mut c = Cold::default();
    for r in log {
        let range = range_of(r);
        assert_eq!(r.status, 206, "{r:?}");
        assert_eq!(r.bytes, len(&range), "not the whole range: {r:?}");
        let slot = if range == (0..PRELUDE) {
            &mut c.prelude
        } else if range == m.dict_asked() {
            &mut c.dict
        } else if range == want.page {
            &mut c.page
        } else if range == want.block {
            &mut c.block
        } else {
            panic!("a range that is none of prelude, dictionary, page, block {want:?}: {r:?}");
        };
        assert!(slot.replace(r).is_none(), "asked twice: {log:#?}");
    }
    c
}

#[test]
fn one_quire_get_is_four_requests_in_three_round_trips() {
    let c = corpus();
    let Some(mut ng) = Nginx::start() else { return };
    ng.put("news.quire", &c.bytes);
    let url = ng.url("/news.quire");
    let m = &c.model;
    let dict = len(&m.dict);
    for (n, a) in pick(&c.arts, 5, 9).into_iter().enumerate() {
        let want = m.lookup(&c.bytes, &a.key);
        ng.log.mark();
        let t = Instant::now();
        remote_get(&url, a, &[]);
        let took = t.elapsed();
        let log = ng.log.expect(4);
        let cold = classify(&log, m, &want);
        let (Some(p), Some(d), Some(g), Some(b)) = (cold.prelude, cold.dict, cold.page, cold.block)
        else {
            panic!("want the prelude, dictionary, page and block: {log:#?}");
        };
        let bytes: u64 = log.iter().map(|r| r.bytes).sum();
        let bound = PRELUDE + dict + len(&want.page) + len(&want.block) + PRELUDE;
        assert!(bytes <= bound, "{bytes} bytes > {bound}: {log:#?}");
        // Round trips: the prelude first; then the page; then the block and the dictionary
        // (the dictionary is fetched with the first block that needs it, no longer at open).
        assert!(p.end <= g.start() + 0.0005, "{log:#?}");
        assert!(b.start() + 0.0005 >= g.end, "{log:#?}");
        assert!(d.start() + 0.0005 >= g.end, "{log:#?}");
        println!(
            "get #{n}: 4 requests on {} connections, {bytes} bytes (prelude 16384 + dictionary \
             {dict} + page {} + block {}; bound {bound}), {:.0} ms",
            log.iter().map(|r| r.conn).collect::<HashSet<_>>().len(),
            len(&want.page),
            len(&want.block),
            took.as_secs_f64() * 1e3
        );
    }
    // Whether the block and the dictionary are asked together, loopback cannot say: both
    // answers can come within the log's millisecond, and the second request then goes out on
    // the connection the first has just freed. Behind a proxy that holds each answer for
    // 0.3 s it can: asked together, the two are in flight at once, and the get takes three
    // round trips, not four.
    let proxy = Proxy::start(&ng, &["--delay", "0.3"]);
    for a in pick(&c.arts, 2, 10) {
        let want = m.lookup(&c.bytes, &a.key);
        let before = proxy.hops().len();
        remote_get(&proxy.url("/news.quire"), a, &[]);
        let all = proxy.wait_for(before + 4, Duration::from_secs(10));
        let hops = &all[before..];
        assert_eq!(hops.len(), 4, "{hops:#?}");
        let find = |r: Range<u64>| {
            hops.iter()
                .find(|h| h.range() == r)
                .unwrap_or_else(|| panic!("no request for {r:?}: {hops:#?}"))
        };
        let (d, b) = (find(m.dict_asked()), find(want.block.clone()));
        assert!(
            d.start < b.end && b.start < d.end,
            "the block and the dictionary one after the other: {hops:#?}"
        );
        assert_eq!(most_in_flight(hops), 2, "{hops:#?}");
    }
}

#[test]
fn a_remote_preset_archive_s_first_get_is_four_requests_and_at_most_256_kib() {
    // News-shaped text (4.5 MB): the preset's dictionary candidates store at over 160 KiB
    // on it, so the writer fits a smaller one (tests/remote_preset.rs checks the fit).
    let arts = articles(1000, 2026);
    let bytes = pack(&arts, WriterOptions::remote().created(1_700_000_000));
    let m = Model::new(&bytes);
    let dict = len(&m.dict);
    assert!(dict > 0 && dict <= 160 * KIB, "stored dictionary {dict} B");
    let Some(mut ng) = Nginx::start() else { return };
    ng.put("remote.quire", &bytes);
    let url = ng.url("/remote.quire");
    for a in pick(&arts, 5, 26) {
        ng.log.mark();
        remote_get(&url, a, &[]);
        // The prelude, the page, then the block and the dictionary.
        let log = ng.log.expect(4);
        assert!(
            log.iter().any(|r| range_of(r) == m.dict_asked()),
            "the dictionary was not fetched: {log:#?}"
        );
        let bytes: u64 = log.iter().map(|r| r.bytes).sum();
        println!(
            "remote preset: get {}: 4 requests, {bytes} bytes (dictionary {dict} stored)",
            a.key
        );
        assert!(bytes <= 256 * KIB, "{bytes} bytes > 256 KiB: {log:#?}");
    }
}

#[test]
fn an_open_reader_pays_a_page_and_a_block_per_cold_article() {
    let c = corpus();
    let Some(mut ng) = Nginx::start() else { return };
    ng.put("news.quire", &c.bytes);
    let url = ng.url("/news.quire");
    let m = &c.model;

    let archive = Archive::open_url(&url).unwrap();
    archive.dictionary().unwrap().expect("a dictionary");
    let log = ng.log.expect(2);
    assert_eq!(range_of(&log[0]), 0..PRELUDE);
    assert_eq!(range_of(&log[1]), m.dict_asked());

    // One article per page, in an order of their own: each a page and a block (a block
    // read before, for a neighbour on the previous page, costs nothing).
    let mut pages = HashSet::new();
    let mut blocks = HashSet::new();
    let mut cold = 0;
    for a in pick(&c.arts, c.arts.len(), 10) {
        let want = m.lookup(&c.bytes, &a.key);
        if !pages.insert(want.page.clone()) {
            continue;
        }
        let new_block = blocks.insert(want.block.clone());
        let t = Instant::now();
        let body = archive
            .get(&a.key)
            .unwrap()
            .expect("present")
            .body()
            .unwrap();
        let took = t.elapsed();
        assert!(body == a.body, "{}: other bytes", a.key);
        let log = ng.log.expect(1 + usize::from(new_block));
        let got = classify(&log, m, &want);
        assert!(got.prelude.is_none() && got.dict.is_none() && got.page.is_some());
        assert_eq!(got.block.is_some(), new_block);
        let bytes: u64 = log.iter().map(|r| r.bytes).sum();
        assert!(
            bytes <= len(&want.block) + PRELUDE,
            "{bytes} bytes: {log:#?}"
        );
        println!(
            "cold article {}: {} requests, {bytes} bytes (page {}, block {}), {:.1} ms",
            a.key,
            log.len(),
            len(&want.page),
            len(&want.block),
            took.as_secs_f64() * 1e3
        );
        cold += 1;
    }
    assert!(cold >= 3, "only {cold} pages");

    // A warm article (its page read before, its block not): the block alone.
    let a = c
        .arts
        .iter()
        .find(|a| !blocks.contains(&m.lookup(&c.bytes, &a.key).block))
        .unwrap();
    let want = m.lookup(&c.bytes, &a.key);
    assert!(archive.get(&a.key).unwrap().unwrap().body().unwrap() == a.body);
    let log = ng.log.expect(1);
    assert_eq!(range_of(&log[0]), want.block);
}

/// Replaces `path` by `bytes` (a new file renamed over it) with the modification time
/// `mtime`: for nginx the same ETag when the size is the same too.
fn replace(path: &Path, bytes: &[u8], mtime: SystemTime) {
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

/// The same keys, titles and dates as `arts`, bodies of the same lengths of random bytes.
fn incompressible(arts: &[Art], seed: u64) -> Vec<Art> {
    arts.iter()
        .enumerate()
        .map(|(i, a)| Art {
            body: fixture::data(seed * 1_000_003 + i as u64, a.body.len()),
            ..a.clone()
        })
        .collect()
}

#[test]
fn a_file_swapped_under_its_etag_fails_every_read_and_never_gives_its_bytes() {
    let base = articles(600, 77);
    let (arts_a, arts_b) = (incompressible(&base, 1), incompressible(&base, 2));
    // Raw nodes: a packed page's length depends on the CRCs of the blocks it records.
    let opts = || {
        WriterOptions::default()
            .dictionary(DictionaryMode::Off)
            .pack_nodes(false)
            .created(1_700_000_000)
    };
    let (a, b) = (pack(&arts_a, opts()), pack(&arts_b, opts()));
    assert_eq!(a.len(), b.len(), "two archives of the same size");
    assert_ne!(a, b);
    let m = Model::new(&a);
    let Some(mut ng) = Nginx::start() else { return };
    let path = ng.put("swap.quire", &a);
    let url = ng.url("/swap.quire");

    let archive = Archive::open_url(&url).unwrap();
    let first = &arts_a[0];
    let seen = m.lookup(&a, &first.key);
    assert!(archive.get(&first.key).unwrap().unwrap().body().unwrap() == first.body);
    let etag = ng.log.expect(3)[0].etag.clone();

    let mtime = fs::metadata(&path).unwrap().modified().unwrap();
    replace(&path, &b, mtime);

    // Entries in other blocks, on the page read before and on others.
    let mut failed = 0;
    for (i, x) in arts_b.iter().enumerate().step_by(7) {
        let at = m.lookup(&a, &x.key);
        if at.block == seen.block {
            continue;
        }
        let got = archive.get(&x.key).and_then(|e| e.expect("present").body());
        match got {
            Ok(body) => {
                assert!(
                    body != x.body,
                    "entry {i}: the swapped file's bytes were returned"
                );
                panic!("entry {i}: a read after the swap succeeded");
            }
            Err(e @ ReadError::Damaged { .. }) => {
                let msg = e.to_string();
                assert!(
                    msg.contains("block ") || msg.contains("index node"),
                    "entry {i}: the error names no block or node: {msg}"
                );
                if failed == 0 || at.page == seen.page {
                    println!("after the swap, entry {i}: {msg}");
                }
            }
            // The checksum failed, the source was asked whether the object changed, and
            // its first 16 KiB say so: an I/O error (`Changed`), not damage.
            Err(ReadError::Io { source, .. })
                if quire::source::remote_error_kind(&source)
                    == Some(quire::source::RemoteErrorKind::Changed) =>
            {
                if failed == 0 {
                    println!("after the swap, entry {i}: {source}");
                }
            }
            Err(e) => panic!("entry {i}: neither damage nor a change: {e:?}"),
        }
        failed += 1;
    }
    assert!(failed > 50, "{failed}");
    // The server answered every request 206, the ETag unchanged: only the checksums told.
    let log = ng.log.all();
    assert!(
        log.iter().all(|r| r.status == 206 && r.etag == etag),
        "{log:#?}"
    );

    // A fresh process reads the new file, and correctly.
    for x in &arts_b[..5] {
        remote_get(&url, x, &[]);
    }
}

#[test]
fn faults_are_one_line_messages_with_their_exit_codes() {
    let c = corpus();
    let Some(ng) = Nginx::start() else { return };
    ng.put("news.quire", &c.bytes);
    ng.put("not-quire.bin", &fixture::data(5, 100_000));
    ng.put("truncated.quire", &c.bytes[..c.bytes.len() / 2]);
    let key = &c.arts[0].key;
    for (path, code, says) in [
        ("/missing.quire", 4, "404"),
        ("/forbidden/news.quire", 4, "403"),
        ("/norange/news.quire", 4, "ignores range"),
        ("/not-quire.bin", 1, "not a quire archive"),
        ("/truncated.quire", 1, "truncated"),
    ] {
        let url = ng.url(path);
        let t = Instant::now();
        let o = quire(&["get", &url, key]);
        let took = t.elapsed();
        let err = text(&o.stderr);
        println!(
            "{path}: exit {:?} in {:.2} s: {}",
            o.status.code(),
            took.as_secs_f64(),
            err.trim_end()
        );
        assert_eq!(o.status.code(), Some(code), "{path}: {err}");
        assert!(o.stdout.is_empty());
        assert_eq!(err.lines().count(), 1, "{path}: not one line: {err:?}");
        assert!(err.starts_with("quire: "), "{err}");
        assert_eq!(
            err.matches(&url).count(),
            1,
            "{path}: the message does not name the URL once: {err}"
        );
        assert!(
            err.to_lowercase().contains(says),
            "{path}: the message does not say {says:?}: {err}"
        );
        assert!(took < Duration::from_secs(5), "{path}: took {took:?}");
        // Any command: the same message and code.
        let o = quire(&["info", &url]);
        assert_eq!(o.status.code(), Some(code), "info {path}");
        assert_eq!(text(&o.stderr), err, "info {path}");
    }
}

// ------------------------------------------------------------- once known bugs, now fixed

/// Once a library bug (found by this file): an I/O error while fetching the dictionary (here
/// a timeout) was turned into `Damaged { Dictionary, Undecodable }` and kept for the
/// archive's life. It is an I/O error now, and not kept.
#[test]
fn a_dictionary_fetch_that_times_out_is_an_io_error_not_damage() {
    let c = corpus();
    let Some(ng) = Nginx::start() else { return };
    ng.put("news.quire", &c.bytes);
    // From byte 0 at full speed (the open), everything else at 1 KiB/s.
    let url = ng.url("/slow-ranges/news.quire");
    let opts = quire::source::RemoteOptions::new()
        .request_timeout(Duration::from_secs(1))
        .retries(0);
    let archive = Archive::open_url_with(&url, opts).unwrap();
    let e = archive.dictionary().unwrap_err();
    println!("dictionary over a trickle: {e:?}");
    assert!(
        matches!(&e, ReadError::Io { source, .. }
            if quire::source::remote_error_kind(source)
                == Some(quire::source::RemoteErrorKind::Timeout)),
        "want a timeout (an I/O error), got: {e}"
    );
}

/// Once a CLI bug (found by this file): a body whose read failed with an I/O error (here the
/// archive changed on the server: `Changed`) was counted as damage, exit 1, without the
/// cause. Now it stops `get` with the cause on one line, and exit 4: the network's doing.
#[test]
fn an_archive_changed_while_get_reads_it_is_one_line_and_exit_4() {
    // Enough keys for an index of pages (not a root page in the prelude), short bodies.
    let mut arts = incompressible(&articles(1500, 5), 3);
    for a in &mut arts {
        a.body.truncate(200);
    }
    let opts = WriterOptions::default()
        .dictionary(DictionaryMode::Off)
        .page_size(4096)
        .created(1_700_000_000);
    let a = pack(&arts, opts);
    let Some(ng) = Nginx::start() else { return };
    let path = ng.put("changing.quire", &a);
    // The open at full speed, the page at 1 KiB/s: time to replace the file meanwhile.
    let url = ng.url("/slow-ranges/changing.quire");
    let key = arts[arts.len() - 1].key.clone();
    let child = Command::new(cli())
        .args(["get", &url, &key])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    let mtime = fs::metadata(&path).unwrap().modified().unwrap();
    replace(&path, &a, mtime + Duration::from_secs(10)); // a new ETag
    let o = child.wait_with_output().unwrap();
    let err = text(&o.stderr);
    println!(
        "get while the archive changes: exit {:?}: {err}",
        o.status.code()
    );
    one_line(&o, &url, "changed on the server since it was opened");
    assert!(o.stdout.is_empty());
}

// ------------------------------------------------------------------------ behind proxy.py

/// One request as `tests/servers/proxy.py` logged it (when it ended).
#[derive(Debug, Clone)]
struct Hop {
    start: f64,
    end: f64,
    range: Option<String>,
    status: u16,
    bytes: u64,
    fault: Option<String>,
}

impl Hop {
    /// `bytes=A-B` as `A..B+1`.
    fn range(&self) -> Range<u64> {
        let spec = self.range.as_deref().unwrap_or_else(|| panic!("{self:?}"));
        let (a, b) = spec
            .strip_prefix("bytes=")
            .and_then(|s| s.split_once('-'))
            .unwrap_or_else(|| panic!("{self:?}"));
        a.parse().unwrap()..b.parse::<u64>().unwrap() + 1
    }
}

/// `tests/servers/proxy.py` in front of an nginx, with its own log; killed (by its pid) when
/// dropped.
struct Proxy {
    port: u16,
    child: std::process::Child,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Proxy {
    /// Starts the proxy in front of `upstream` with `args` (`--delay 1`, `--fault stall`, …)
    /// and waits for its `ready`.
    fn start(upstream: &Nginx, args: &[&str]) -> Proxy {
        use std::io::BufRead;
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("proxy.log");
        let mut last = String::new();
        for _ in 0..3 {
            let port = fixture::free_port();
            let mut child = Command::new("python3")
                .arg(fixture::scripts().join("proxy.py"))
                .args(["--port", &port.to_string(), "--upstream", &upstream.url("")])
                .args(["--log", log.to_str().unwrap()])
                .args(args)
                .stdout(std::process::Stdio::piped())
                .spawn()
                .expect("python3 runs proxy.py");
            let mut line = String::new();
            let stdout = child.stdout.take().unwrap();
            let _ = std::io::BufReader::new(stdout).read_line(&mut line);
            if line.trim() == "ready" {
                return Proxy {
                    port,
                    child,
                    log,
                    _dir: dir,
                };
            }
            last = line;
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("proxy.py did not start: {last:?}");
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Every request logged so far, in the order they ended.
    fn hops(&self) -> Vec<Hop> {
        let text = fs::read_to_string(&self.log).unwrap_or_default();
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                Hop {
                    start: v["start"].as_f64().unwrap(),
                    end: v["end"].as_f64().unwrap(),
                    range: v["range"].as_str().map(str::to_owned),
                    status: v["status"].as_u64().unwrap() as u16,
                    bytes: v["bytes"].as_u64().unwrap(),
                    fault: v["fault"].as_str().map(str::to_owned),
                }
            })
            .collect()
    }

    /// Waits (at most `limit`, a guard against a hang) until `n` requests are logged.
    fn wait_for(&self, n: usize, limit: Duration) -> Vec<Hop> {
        let t = Instant::now();
        loop {
            let h = self.hops();
            if h.len() >= n || t.elapsed() > limit {
                return h;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The most requests in flight at once, as `proxy.py --in-flight` computes it.
    fn in_flight(&self) -> usize {
        let o = Command::new("python3")
            .arg(fixture::scripts().join("proxy.py"))
            .args(["--in-flight", self.log.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", text(&o.stderr));
        text(&o.stdout).trim().parse().unwrap()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The most of `hops` whose [start, end] overlap (an end and a start at the same instant do
/// not).
fn most_in_flight(hops: &[Hop]) -> usize {
    let mut events: Vec<(f64, i32)> = hops
        .iter()
        .flat_map(|h| [(h.start, 1), (h.end, -1)])
        .collect();
    events.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let (mut now, mut best) = (0i32, 0i32);
    for (_, d) in events {
        now += d;
        best = best.max(now);
    }
    best as usize
}

/// `quire ARGS` with `envs` set, and AWS_* and QUIRE_* removed from what it inherits.
fn quire_env(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(cli());
    for (k, _) in std::env::vars() {
        if k.starts_with("AWS_") || k.starts_with("QUIRE_") {
            cmd.env_remove(k);
        }
    }
    cmd.args(args).envs(envs.iter().copied()).output().unwrap()
}

/// Asserts that `o` failed with exit 4 and one stderr line `quire: URL: …` naming `url`
/// once and containing `says`; returns the line.
fn one_line(o: &Output, url: &str, says: &str) -> String {
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(4), "{err}");
    assert_eq!(err.lines().count(), 1, "not one line: {err:?}");
    assert!(
        err.starts_with(&format!("quire: {url}: ")),
        "not `quire: URL: …`: {err}"
    );
    assert_eq!(err.matches(url).count(), 1, "the URL more than once: {err}");
    assert!(err.contains(says), "does not say {says:?}: {err}");
    err.trim_end().to_owned()
}

/// An archive of 1,500 articles with a dictionary and 2 KiB index pages (dozens of them),
/// and 20 of its keys spread over the key order, so each lies on a page of its own.
fn paged() -> &'static (Vec<u8>, Vec<Art>) {
    static PAGED: OnceLock<(Vec<u8>, Vec<Art>)> = OnceLock::new();
    PAGED.get_or_init(|| {
        let arts = articles(1500, 2020);
        let opts = WriterOptions::default()
            .page_size(2048)
            .level(3)
            .created(1_700_000_000);
        let bytes = pack(&arts, opts);
        let mut sorted = arts.clone();
        sorted.sort_by(|a, b| a.key.cmp(&b.key));
        let step = sorted.len() / 20;
        let mut picked: Vec<Art> = (0..20)
            .map(|i| sorted[i * step + step / 2].clone())
            .collect();
        // Not in key order: the output follows the arguments.
        let mut rng = Rng(20);
        for i in (1..picked.len()).rev() {
            picked.swap(i, rng.below(i as u64 + 1) as usize);
        }
        (bytes, picked)
    })
}

#[test]
fn twenty_keys_behind_a_one_second_proxy_take_at_most_five_seconds() {
    let (bytes, keys) = paged();
    let m = Model::new(bytes);
    assert!(m.dict.end > m.dict.start, "no dictionary");
    let Some(ng) = Nginx::start() else { return };
    ng.put("paged.quire", bytes);
    let proxy = Proxy::start(&ng, &["--delay", "1"]);
    let url = proxy.url("/paged.quire");
    let mut args = vec!["get", url.as_str()];
    args.extend(keys.iter().map(|a| a.key.as_str()));
    let t = Instant::now();
    let o = quire_env(&args, &[]);
    let took = t.elapsed();
    assert!(o.status.success(), "{}", text(&o.stderr));
    let want: Vec<u8> = keys.iter().flat_map(|a| a.body.iter().copied()).collect();
    assert!(o.stdout == want, "other bytes, or another order");
    let hops = proxy.wait_for(1, Duration::from_secs(5));
    let in_flight = proxy.in_flight();
    assert_eq!(in_flight, most_in_flight(&hops));
    let pages = hops
        .iter()
        .filter(|h| m.index.contains(&h.range().start))
        .count();
    println!(
        "quire get URL K1..K20 behind a 1 s proxy: {:.2} s, {} requests ({pages} of index \
         pages, depth {}), {in_flight} in flight at once",
        took.as_secs_f64(),
        hops.len(),
        m.depth
    );
    let t0 = hops.iter().map(|h| h.start).fold(f64::MAX, f64::min);
    let mut rounds: Vec<(i64, usize)> = Vec::new();
    for h in &hops {
        let at = ((h.start - t0) * 10.0).round() as i64;
        match rounds.iter_mut().find(|(t, _)| (*t - at).abs() <= 3) {
            Some(r) => r.1 += 1,
            None => rounds.push((at, 1)),
        }
    }
    rounds.sort();
    println!(
        "requests by when they were asked (s after the first: count): {:?}",
        rounds
            .iter()
            .map(|(t, n)| format!("{:.1}: {n}", *t as f64 / 10.0))
            .collect::<Vec<_>>()
    );
    assert!(pages >= 20, "the keys are not on 20 pages: {hops:#?}");
    assert!(in_flight >= 16, "{in_flight} in flight: {hops:#?}");
    assert!(took <= Duration::from_secs(5), "took {took:?}: {hops:#?}");

    // --parallel (here from QUIRE_PARALLEL) bounds the requests in flight.
    let proxy = Proxy::start(&ng, &["--delay", "0.3"]);
    let url = proxy.url("/paged.quire");
    args[1] = url.as_str();
    let o = quire_env(&args, &[("QUIRE_PARALLEL", "4")]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(o.stdout == want);
    let hops = proxy.hops();
    let most = most_in_flight(&hops);
    println!(
        "QUIRE_PARALLEL=4: {} requests, {most} in flight at most",
        hops.len()
    );
    assert!((2..=4).contains(&most), "{most} in flight: {hops:#?}");
}

#[test]
fn a_stalled_server_fails_as_soon_as_the_timeout_says() {
    let c = corpus();
    let Some(ng) = Nginx::start() else { return };
    ng.put("news.quire", &c.bytes);
    let proxy = Proxy::start(&ng, &["--fault", "stall"]);
    let url = proxy.url("/news.quire");
    let key = c.arts[0].key.as_str();

    // --timeout 1 --retries 0: one request, given up after a second.
    let t = Instant::now();
    let o = quire_env(&["--timeout", "1", "--retries", "0", "get", &url, key], &[]);
    let took = t.elapsed();
    let line = one_line(&o, &url, "timed out");
    println!(
        "stall, --timeout 1 --retries 0: {:.2} s: {line}",
        took.as_secs_f64()
    );
    // (a guard against the default 30 s per try: "within a few seconds")
    assert!(took < Duration::from_secs(10), "{took:?}");
    let hops = proxy.wait_for(1, Duration::from_secs(5));
    assert_eq!(hops.len(), 1, "{hops:#?}");

    // The same from the environment, with 2 retries: three requests, each given up.
    let o = quire_env(
        &["info", &url],
        &[("QUIRE_TIMEOUT", "1"), ("QUIRE_RETRIES", "2")],
    );
    let line = one_line(&o, &url, "timed out after 3 tries");
    println!("stall, QUIRE_TIMEOUT=1 QUIRE_RETRIES=2: {line}");
    let hops = proxy.wait_for(4, Duration::from_secs(5));
    assert_eq!(hops.len(), 4, "{hops:#?}");
    assert!(hops
        .iter()
        .all(|h| h.status == 0 && h.fault.as_deref() == Some("stall")));

    // The flag wins over the variable.
    let o = quire_env(
        &["--retries", "0", "info", &url],
        &[("QUIRE_TIMEOUT", "1"), ("QUIRE_RETRIES", "5")],
    );
    one_line(&o, &url, "timed out");
    let hops = proxy.wait_for(5, Duration::from_secs(5));
    assert_eq!(hops.len(), 5, "{hops:#?}");

    // A server that answers the open and then stalls: ls, unpack, info and verify stop with
    // the timeout (exit 4), not with damage.
    for cmd in [
        &["ls"][..],
        &["info"],
        &["verify"],
        &["unpack", "-q", "--jsonl", "-"],
        &["get"],
    ] {
        // (the fault's count of requests is the proxy's: one proxy per command)
        let proxy = Proxy::start(&ng, &["--fault", "stall", "--fault-after", "1"]);
        let url = proxy.url("/news.quire");
        let mut args = vec!["--timeout", "1", "--retries", "0"];
        args.extend(cmd);
        args.push(&url);
        if cmd[0] == "get" {
            args.push(key);
        }
        let o = quire_env(&args, &[]);
        let line = one_line(&o, &url, "timed out");
        println!("stall after the open, {}: {line}", cmd[0]);
        if cmd[0] == "verify" {
            assert!(
                text(&o.stdout).contains("not finished"),
                "{}",
                text(&o.stdout)
            );
        }
    }
}

#[test]
fn a_403_over_http_says_access_denied_without_aws_advice() {
    let c = corpus();
    let Some(ng) = Nginx::start() else { return };
    ng.put("news.quire", &c.bytes);
    let url = ng.url("/forbidden/news.quire");
    for args in [
        &["get", &url, &c.arts[0].key][..],
        &["ls", &url],
        &["info", "--json", &url],
    ] {
        let o = quire_env(args, &[]);
        let line = one_line(&o, &url, "403");
        println!("{}: {line}", args[0]);
        assert!(o.stdout.is_empty());
        assert!(line.contains("access denied"), "{line}");
        assert!(!line.contains("AWS"), "AWS advice for an http URL: {line}");
    }
}

#[test]
fn a_body_cut_short_mid_stream_says_how_much_was_written() {
    // One 6 MiB body of random bytes in 1 MiB blocks; the proxy cuts every answer for a
    // range from 2.5 MiB into the body on after 64 KiB.
    let body = fixture::data(66, 6 << 20);
    let mut w = ArchiveWriter::in_memory(
        WriterOptions::default()
            .dictionary(DictionaryMode::Off)
            .block_size(1 << 20)
            .created(1_700_000_000),
    )
    .unwrap();
    w.add(&NewEntry::new("big", &body)).unwrap();
    w.add(&NewEntry::new("small", b"hello")).unwrap();
    let bytes = w.finish_into_inner().unwrap().0.into_inner();
    let m = Model::new(&bytes);
    let Some(ng) = Nginx::start() else { return };
    ng.put("big.quire", &bytes);
    let from = (m.data.start + (5 << 19)).to_string();
    let proxy = Proxy::start(&ng, &["--fault", "cut-after=65536", "--fault-from", &from]);
    let url = proxy.url("/big.quire");
    let o = quire_env(
        &["--retries", "1", "get", &url, "small", "big", "small"],
        &[],
    );
    let line = one_line(&o, &url, "output cut short after ");
    println!("cut short: {} bytes on stdout: {line}", o.stdout.len());
    // The first body whole, then a prefix of the second: as many bytes as the line says,
    // and the right ones; the third key is never written.
    let written: u64 = line
        .split("output cut short after ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no byte count: {line}"));
    assert!(written > 0 && written < body.len() as u64, "{line}");
    assert_eq!(o.stdout.len() as u64, 5 + written, "{line}");
    assert!(o.stdout[..5] == *b"hello");
    assert!(
        o.stdout[5..] == body[..written as usize],
        "other bytes than the body's"
    );
    assert!(line.contains("key \"big\""), "{line}");
    // The cause follows: the answer ended early.
    let cause = line.split("): ").nth(1).unwrap_or_default();
    assert!(cause.contains("short") || cause.contains("ended"), "{line}");
    let hops = proxy.hops();
    assert!(
        hops.iter().any(|h| h.fault.is_some() && h.bytes == 65536),
        "{hops:#?}"
    );
}

#[test]
fn an_archive_whose_etag_changed_stops_get_at_once() {
    let (bytes, keys) = paged();
    let m = Model::new(bytes);
    let Some(ng) = Nginx::start() else { return };
    let path = ng.put("changing.quire", bytes);
    let proxy = Proxy::start(&ng, &["--delay", "0.5"]);
    let url = proxy.url("/changing.quire");
    let mut args = vec!["get", url.as_str()];
    args.extend(keys.iter().map(|a| a.key.as_str()));
    let child = Command::new(cli())
        .args(&args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Once the open's request is answered, and while the next ones wait in the proxy, the
    // same bytes get a new modification time: a new ETag.
    let opened = proxy.wait_for(1, Duration::from_secs(20));
    assert_eq!(opened.len(), 1, "{opened:#?}");
    let mtime = fs::metadata(&path).unwrap().modified().unwrap();
    replace(&path, bytes, mtime + Duration::from_secs(10));
    let o = child.wait_with_output().unwrap();
    let line = one_line(&o, &url, "changed on the server since it was opened");
    println!("ETag changed after the open: {line}");
    assert!(o.stdout.is_empty());
    // Everything after the open was refused (412), and no block was asked for: no key was
    // fetched once the change was known.
    let hops = proxy.hops();
    let refused: Vec<&Hop> = hops.iter().filter(|h| h.status == 412).collect();
    assert!(!refused.is_empty(), "{hops:#?}");
    assert!(hops[1..].iter().all(|h| h.status == 412), "{hops:#?}");
    let first = refused.iter().map(|h| h.end).fold(f64::MAX, f64::min);
    let later: Vec<&Hop> = hops.iter().filter(|h| h.start > first).collect();
    let blocks: Vec<&Hop> = hops
        .iter()
        .filter(|h| m.data.contains(&h.range().start) || m.dict.contains(&h.range().start))
        .collect();
    println!(
        "{} requests: the open, {} refused; {} (index pages) asked after the first refusal, \
         {} for blocks",
        hops.len(),
        refused.len(),
        later.len(),
        blocks.len()
    );
    assert!(blocks.is_empty(), "blocks asked for: {blocks:#?}");
    // What was asked together with the first refused request is refused with it; nothing is
    // asked after.
    assert!(
        later.is_empty(),
        "asked after the first refusal: {later:#?}"
    );
}

#[test]
fn an_archive_swapped_under_its_etag_stops_get_at_once() {
    // Two archives of the same size, keys and layout, other bytes: nginx gives the swapped
    // file the same ETag, so only the checksums, and the revalidation they trigger, tell.
    let base = articles(600, 78);
    let (arts_a, arts_b) = (incompressible(&base, 4), incompressible(&base, 5));
    // Raw nodes: a packed page's length depends on the CRCs of the blocks it records.
    let opts = || {
        WriterOptions::default()
            .dictionary(DictionaryMode::Off)
            .pack_nodes(false)
            .created(1_700_000_000)
    };
    let (a, b) = (pack(&arts_a, opts()), pack(&arts_b, opts()));
    assert_eq!(a.len(), b.len());
    let m = Model::new(&a);
    let Some(ng) = Nginx::start() else { return };
    let path = ng.put("swap.quire", &a);
    let proxy = Proxy::start(&ng, &["--delay", "1"]);
    let url = proxy.url("/swap.quire");
    let keys: Vec<&str> = arts_a.iter().step_by(30).map(|x| x.key.as_str()).collect();
    let mut args = vec!["get", url.as_str()];
    args.extend(keys.iter().copied());
    let child = Command::new(cli())
        .args(&args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Once the index pages are read (the open, then the pages, 1 s each), while the blocks
    // wait in the proxy: the other file, same size and modification time.
    let opened = proxy.wait_for(2, Duration::from_secs(20));
    assert!(opened.len() >= 2, "{opened:#?}");
    let mtime = fs::metadata(&path).unwrap().modified().unwrap();
    replace(&path, &b, mtime);
    let o = child.wait_with_output().unwrap();
    let line = one_line(&o, &url, "changed on the server since it was opened");
    println!("swapped under the same ETag: {line}");
    assert!(o.stdout.is_empty(), "{} bytes written", o.stdout.len());
    // Every answer was 206 (the ETag never changed). The second read of the first 16 KiB
    // (the revalidation) found the change; nothing was asked after it.
    let hops = proxy.hops();
    assert!(hops.iter().all(|h| h.status == 206), "{hops:#?}");
    let firsts: Vec<&Hop> = hops.iter().filter(|h| h.range() == (0..PRELUDE)).collect();
    assert!(firsts.len() >= 2, "no revalidation: {hops:#?}");
    let revalidated =
        firsts.iter().map(|h| h.end).fold(
            f64::MAX,
            |a, e| {
                if e > firsts[0].end {
                    a.min(e)
                } else {
                    a
                }
            },
        );
    let later: Vec<&Hop> = hops.iter().filter(|h| h.start > revalidated).collect();
    let blocks = hops
        .iter()
        .filter(|h| m.data.contains(&h.range().start))
        .count();
    println!(
        "{} requests ({blocks} for blocks); {} asked after the revalidation",
        hops.len(),
        later.len()
    );
    assert!(
        later.is_empty(),
        "requests after the change was known: {later:#?}"
    );
}

/// A TCP forwarder to `to` on 127.0.0.1 that counts the connections made to it.
struct Counter {
    port: u16,
    connections: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Counter {
    fn start(to: u16) -> Counter {
        use std::net::{TcpListener, TcpStream};
        use std::sync::atomic::{AtomicUsize, Ordering};
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections = std::sync::Arc::new(AtomicUsize::new(0));
        let n = connections.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                n.fetch_add(1, Ordering::SeqCst);
                let Ok(server) = TcpStream::connect(("127.0.0.1", to)) else {
                    continue;
                };
                let pipe = |mut a: TcpStream, mut b: TcpStream| {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut a, &mut b);
                        let _ = b.shutdown(std::net::Shutdown::Write);
                    });
                };
                pipe(client.try_clone().unwrap(), server.try_clone().unwrap());
                pipe(server, client);
            }
        });
        Counter { port, connections }
    }

    fn count(&self) -> usize {
        self.connections.load(std::sync::atomic::Ordering::SeqCst)
    }
}

#[test]
fn a_refused_certificate_is_one_line_and_never_retried() {
    let c = corpus();
    let Some(ng) = Nginx::start() else { return };
    ng.put("news.quire", &c.bytes);
    let counter = Counter::start(ng.tls_port);
    let url = format!("https://127.0.0.1:{}/news.quire", counter.port);
    // Trusting nothing but an empty set of CAs, with 3 retries allowed.
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("none.pem");
    fs::write(&empty, "").unwrap();
    let t = Instant::now();
    let o = quire_env(
        &["--retries", "3", "get", &url, &c.arts[0].key],
        &[("SSL_CERT_FILE", empty.to_str().unwrap())],
    );
    let took = t.elapsed();
    let line = one_line(&o, &url, "certificate");
    println!(
        "refused certificate: {} connection(s), {:.2} s: {line}",
        counter.count(),
        took.as_secs_f64()
    );
    assert!(o.stdout.is_empty());
    assert!(line.contains("SSL_CERT_FILE"), "{line}");
    // One handshake: not tried again (3 retries would be 4 connections, with backoff).
    assert_eq!(counter.count(), 1, "{line}");
    // With the CA, the same URL through the same forwarder reads.
    let ca = ng.ca_file();
    let o = quire_env(
        &["get", &url, &c.arts[0].key],
        &[("SSL_CERT_FILE", ca.to_str().unwrap())],
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(o.stdout == c.arts[0].body);
}

#[test]
fn s3_without_credentials_says_which_variables_to_set() {
    let c = corpus();
    let Some(s3) = S3::start() else { return };
    let server = s3.server.clone();
    server.put("quire-test", "nocred/news.quire", &c.bytes);
    let url = "s3://quire-test/nocred/news.quire";
    // The endpoint and region, no keys; no instance-metadata service to ask.
    let endpoint = format!("http://127.0.0.1:{}", server.port);
    let env = [
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
        ("AWS_ENDPOINT", endpoint.as_str()),
        ("AWS_ALLOW_HTTP", "true"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ];
    let t = Instant::now();
    let o = quire_env(&["get", url, &c.arts[0].key], &env);
    let line = one_line(&o, url, "no credentials for S3: set ");
    println!(
        "s3 without credentials ({:.2} s): {line}",
        t.elapsed().as_secs_f64()
    );
    for var in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SKIP_SIGNATURE",
    ] {
        assert!(line.contains(var), "{var} not named: {line}");
    }
    assert!(o.stdout.is_empty());
}

#[test]
fn info_and_ls_read_the_prelude_and_index_pages_only() {
    let c = corpus();
    let m = &c.model;
    let Some(mut ng) = Nginx::start() else { return };
    ng.put("news.quire", &c.bytes);
    let url = ng.url("/news.quire");
    let local: &'static str = c.path.to_str().unwrap();
    let url: &'static str = url.leak();
    for args in [
        &["info", "{}"][..],
        &["info", "--json", "{}"],
        &["ls", "{}"],
        &["ls", "--json", "{}"],
        &["ls", "--prefix", "2003/04", "{}"],
    ] {
        let with = |a: &'static str| -> Vec<&'static str> {
            args.iter()
                .map(|x| if *x == "{}" { a } else { *x })
                .collect()
        };
        let l = quire(&with(local));
        ng.log.mark();
        let before = ng.log.all().len();
        let r = quire_env(&with(url), &[]);
        assert!(r.status.success(), "{}", text(&r.stderr));
        // The same output as the file's (info names its file).
        let f = |s: &str| -> String {
            match serde_json::from_str::<serde_json::Value>(s) {
                Ok(mut v) if args[0] == "info" => {
                    v.as_object_mut().unwrap().remove("file");
                    v.to_string()
                }
                _ => without_file_line(s, ""),
            }
        };
        assert_eq!(f(&text(&l.stdout)), f(&text(&r.stdout)), "{args:?}");
        // What reached the server: the first 16 KiB, then index pages only (each request
        // logged just after its answer: a moment for the last line).
        std::thread::sleep(Duration::from_millis(300));
        let log = ng.log.all()[before..].to_vec();
        let index_bytes: u64 = log[1..].iter().map(|r| r.bytes).sum();
        assert_eq!(range_of(&log[0]), 0..PRELUDE, "{log:#?}");
        for r in &log[1..] {
            let got = range_of(r);
            assert!(
                got.start >= m.index.start && got.end <= m.index.end,
                "{args:?}: a request outside the index: {r:?}"
            );
        }
        let bound = PRELUDE + len(&m.index) + 16 * KIB;
        let total = PRELUDE + index_bytes;
        println!(
            "quire {}: {} requests, {total} bytes (prelude {PRELUDE} + index {}; bound {bound})",
            args.join(" "),
            log.len(),
            len(&m.index)
        );
        assert!(total <= bound, "{total} > {bound}");
    }
}
