//! Criterion micro benchmarks for quire.
//!
//! `cargo bench --bench micro` (a filter may follow: `cargo bench --bench micro -- open`).
//!
//! Archives of 1k, 100k and 1M synthetic entries (small word-list bodies, ~150 B) are built
//! once per run in a temporary directory, at level 3 so that building the 1M-entry one
//! takes seconds (decompression speed hardly depends on the level). Measured:
//!
//! - `open/mmap/N`, `open/bytes/N`: `Archive::open(path)` and `Archive::new(&bytes)`; must be
//!   flat in N (O(1) open);
//! - `get/hit/N` (key lookup + body into a reused `Vec`), `get/lookup/N` (key lookup only),
//!   `get/miss/N`, `get_by_index/N` (index + body), over random keys;
//! - `iter/full/1k`: every entry in entry order with its body, no block cache (each entry
//!   decompresses its block); `iter/full-cache4/N`: the same with a 4-block cache;
//! - `pack/level*/threads=T`: packing a 4 MB synthetic corpus in memory at 1 and all
//!   threads, reported in bytes of bodies per second.
//!
//! Under `cargo test --benches` (no `--bench` argument) the archives are 1k and 10k entries
//! and criterion runs each benchmark once.

use std::hint::black_box;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use criterion::{
    criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput,
};
use quire::{Archive, ArchiveWriter, Date, NewEntry, Overwrite, WriterOptions};

/// xorshift64*: deterministic and dependency-free.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const WORDS: &[&str] = &[
    "the",
    "of",
    "and",
    "to",
    "in",
    "a",
    "is",
    "that",
    "for",
    "it",
    "as",
    "was",
    "with",
    "be",
    "by",
    "on",
    "not",
    "he",
    "this",
    "are",
    "or",
    "his",
    "from",
    "at",
    "which",
    "but",
    "have",
    "an",
    "they",
    "you",
    "were",
    "her",
    "she",
    "there",
    "been",
    "one",
    "all",
    "we",
    "their",
    "has",
    "would",
    "when",
    "if",
    "so",
    "no",
    "will",
    "more",
    "can",
    "out",
    "other",
    "into",
    "year",
    "people",
    "first",
    "two",
    "may",
    "world",
    "government",
    "state",
    "city",
    "said",
    "market",
    "police",
    "report",
    "week",
    "president",
    "minister",
    "court",
    "law",
    "company",
    "school",
    "health",
    "public",
    "water",
    "house",
    "party",
    "group",
    "country",
    "council",
    "election",
    "family",
    "children",
    "number",
    "night",
    "work",
    "home",
    "money",
    "business",
    "percent",
    "million",
    "season",
    "team",
    "game",
    "player",
    "coach",
    "match",
    "league",
    "officials",
    "according",
    "statement",
    "during",
    "before",
    "against",
    "between",
    "under",
    "economy",
    "price",
    "bank",
    "trade",
    "deal",
    "plan",
    "policy",
    "vote",
    "support",
    "program",
    "energy",
    "oil",
    "climate",
    "weather",
    "storm",
    "hospital",
    "doctor",
    "tax",
    "budget",
    "growth",
    "jobs",
    "union",
    "strike",
    "protest",
    "street",
    "town",
    "region",
    "north",
    "south",
    "army",
    "security",
    "peace",
    "talks",
    "leader",
    "members",
    "announced",
    "told",
    "added",
    "called",
    "asked",
    "expected",
    "reported",
    "confirmed",
    "warned",
    "major",
    "small",
    "large",
    "long",
    "high",
    "low",
    "federal",
    "foreign",
    "recent",
    "monday",
    "friday",
    "january",
    "june",
    "today",
    "yesterday",
];

fn words(rng: &mut Rng, n: u64) -> String {
    let mut s = String::new();
    for i in 0..n {
        if i > 0 {
            s.push(if rng.below(12) == 0 { '.' } else { ' ' });
            s.push(' ');
        }
        s.push_str(WORDS[rng.below(WORDS.len() as u64) as usize]);
    }
    s.push('.');
    s
}

/// `n` entries with bodies of 8..40 words (~150 B on average).
fn small_corpus(n: usize, seed: u64) -> Vec<(String, String, String)> {
    let mut rng = Rng::new(seed);
    (0..n)
        .map(|i| {
            let body_words = 8 + rng.below(33);
            let title_words = 3 + rng.below(5);
            (
                format!("synth/{i:07}"),
                words(&mut rng, title_words),
                words(&mut rng, body_words),
            )
        })
        .collect()
}

fn full_run() -> bool {
    std::env::args().any(|a| a == "--bench")
}

struct Built {
    n: usize,
    path: PathBuf,
    bytes: Vec<u8>,
    keys: Vec<String>,
}

struct Fixture {
    _dir: tempfile::TempDir,
    archives: Vec<Built>,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let sizes: &[usize] = if full_run() {
            &[1_000, 100_000, 1_000_000]
        } else {
            &[1_000, 10_000]
        };
        let archives = sizes
            .iter()
            .map(|&n| {
                let t = std::time::Instant::now();
                let path = dir.path().join(format!("synth-{n}.quire"));
                let corpus = small_corpus(n, n as u64);
                let opts = WriterOptions::new().level(3).created(0);
                let mut w = ArchiveWriter::create(&path, opts.overwrite(Overwrite::Replace))
                    .expect("create");
                let date = Date::new(2020, 1, 1).expect("date");
                for (k, t, b) in &corpus {
                    w.add(&NewEntry::new(k, b.as_bytes()).title(t).date(date))
                        .expect("add");
                }
                let summary = w.finish().expect("finish");
                eprintln!(
                    "micro: built {n} entries, {} blocks, {} B bodies -> {} B file in {:.1?}",
                    summary.blocks,
                    summary.raw_bytes,
                    summary.file_len,
                    t.elapsed()
                );
                let bytes = std::fs::read(&path).expect("read archive");
                let keys = corpus.into_iter().map(|(k, _, _)| k).collect();
                Built {
                    n,
                    path,
                    bytes,
                    keys,
                }
            })
            .collect();
        Fixture {
            _dir: dir,
            archives,
        }
    })
}

fn label(n: usize) -> String {
    match n {
        n if n >= 1_000_000 && n % 1_000_000 == 0 => format!("{}M", n / 1_000_000),
        n if n >= 1_000 && n % 1_000 == 0 => format!("{}k", n / 1_000),
        n => n.to_string(),
    }
}

fn bench_open(c: &mut Criterion) {
    let f = fixture();
    let mut g = c.benchmark_group("open");
    for a in &f.archives {
        g.bench_with_input(BenchmarkId::new("mmap", label(a.n)), &a.path, |b, p| {
            b.iter(|| open_mapped(black_box(p)).expect("open"))
        });
        g.bench_with_input(
            BenchmarkId::new("bytes", label(a.n)),
            &a.bytes,
            |b, bytes| b.iter(|| Archive::new(black_box(&bytes[..])).expect("open")),
        );
    }
    g.finish();
}

fn random_keys(keys: &[String], count: usize, seed: u64) -> Vec<&str> {
    let mut rng = Rng::new(seed);
    (0..count)
        .map(|_| keys[rng.below(keys.len() as u64) as usize].as_str())
        .collect()
}

fn bench_get(c: &mut Criterion) {
    let f = fixture();
    let mut g = c.benchmark_group("get");
    for a in &f.archives {
        let archive = open_mapped(&a.path).expect("open");
        let keys = random_keys(&a.keys, 4096, 7);
        let misses: Vec<String> = (0..4096).map(|i| format!("synth/miss/{i}")).collect();
        let mut buf = Vec::new();
        let mut i = 0usize;
        g.bench_function(BenchmarkId::new("hit", label(a.n)), |b| {
            b.iter(|| {
                i = (i + 1) % keys.len();
                let e = archive.get(black_box(keys[i])).expect("get").expect("hit");
                e.read_body_into(&mut buf).expect("body");
                buf.len()
            })
        });
        g.bench_function(BenchmarkId::new("lookup", label(a.n)), |b| {
            b.iter(|| {
                i = (i + 1) % keys.len();
                archive
                    .get(black_box(keys[i]))
                    .expect("get")
                    .expect("hit")
                    .body_len()
            })
        });
        g.bench_function(BenchmarkId::new("miss", label(a.n)), |b| {
            b.iter(|| {
                i = (i + 1) % misses.len();
                archive.get(black_box(&misses[i])).expect("get").is_none()
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("get_by_index");
    for a in &f.archives {
        let archive = open_mapped(&a.path).expect("open");
        let mut rng = Rng::new(11);
        let idx: Vec<u64> = (0..4096).map(|_| rng.below(a.n as u64)).collect();
        let mut buf = Vec::new();
        let mut i = 0usize;
        g.bench_function(BenchmarkId::from_parameter(label(a.n)), |b| {
            b.iter(|| {
                i = (i + 1) % idx.len();
                let e = archive.get_by_index(black_box(idx[i])).expect("entry");
                e.read_body_into(&mut buf).expect("body");
                buf.len()
            })
        });
    }
    g.finish();
}

fn iterate(archive: &Archive<quire::source::AnySource>, buf: &mut Vec<u8>) -> usize {
    let mut n = 0usize;
    for e in archive.iter() {
        e.expect("entry").read_body_into(buf).expect("body");
        n += buf.len();
    }
    n
}

fn bench_iter(c: &mut Criterion) {
    let f = fixture();
    let mut g = c.benchmark_group("iter");
    let mut buf = Vec::new();
    // Without a block cache, iteration decompresses one block per entry: keep it small.
    let a = &f.archives[0];
    let archive = open_mapped(&a.path).expect("open");
    let raw: u64 = archive.iter().map(|e| e.expect("entry").body_len()).sum();
    g.throughput(Throughput::Bytes(raw));
    g.bench_function(BenchmarkId::new("full", label(a.n)), |b| {
        b.iter(|| iterate(&archive, &mut buf))
    });
    // With a small block cache each block is decompressed once: the largest archive of at
    // most 100k entries.
    for a in f.archives.iter().filter(|a| a.n <= 100_000) {
        let archive = open_mapped(&a.path).expect("open").with_block_cache(4);
        let raw: u64 = archive.iter().map(|e| e.expect("entry").body_len()).sum();
        g.throughput(Throughput::Bytes(raw));
        g.bench_function(BenchmarkId::new("full-cache4", label(a.n)), |b| {
            b.iter(|| iterate(&archive, &mut buf))
        });
    }
    g.finish();
}

fn bench_pack(c: &mut Criterion) {
    // ~4 MB of bodies: 10k entries of 40..120 words.
    let mut rng = Rng::new(99);
    let corpus: Vec<(String, String)> = (0..10_000)
        .map(|i| {
            let n = 40 + rng.below(81);
            (format!("pack/{i:06}"), words(&mut rng, n))
        })
        .collect();
    let raw: u64 = corpus.iter().map(|(_, b)| b.len() as u64).sum();
    let pack = |level: i32, threads: usize| -> Vec<u8> {
        let opts = WriterOptions::new()
            .level(level)
            .threads(threads)
            .created(0);
        let mut w = ArchiveWriter::in_memory(opts).expect("writer");
        for (k, b) in &corpus {
            w.add(&NewEntry::new(k, b.as_bytes())).expect("add");
        }
        w.finish_into_inner().expect("finish").0.into_inner()
    };
    let all = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut thread_counts = vec![1];
    if all > 1 {
        thread_counts.push(all);
    }
    for level in [19, 3] {
        // Output must not depend on the thread count.
        if all > 1 {
            assert!(
                pack(level, 1) == pack(level, all),
                "level {level}: output differs between 1 and {all} threads"
            );
        }
        let mut g = c.benchmark_group(format!("pack/level{level}"));
        g.throughput(Throughput::Bytes(raw));
        g.sample_size(10);
        g.sampling_mode(SamplingMode::Flat);
        g.measurement_time(Duration::from_secs(if level >= 19 { 20 } else { 4 }));
        for &t in &thread_counts {
            g.bench_function(BenchmarkId::new("threads", t), |b| {
                b.iter(|| pack(level, t).len())
            });
        }
        g.finish();
    }
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! {
    name = benches;
    config = config();
    targets = bench_open, bench_get, bench_iter, bench_pack
}
criterion_main!(benches);

/// Maps an archive the benchmark wrote itself.
fn open_mapped(
    path: impl AsRef<std::path::Path>,
) -> quire::ReadResult<Archive<quire::source::AnySource>> {
    // SAFETY: the benchmark wrote this file and nothing modifies it while it is mapped.
    // No block cache (the reader keeps one by default): every read decompresses its block,
    // as the figures measured before format 3.0 did; benchmarks that want one ask for it.
    Ok(unsafe { Archive::open(path) }?.with_block_cache(0))
}
