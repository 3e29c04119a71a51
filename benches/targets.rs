//! The figures of issue 10's "Done when" list, per corpus, in one run, against libzim in the
//! same run; writes `benches/results/targets-<corpus>.md` (and a `.json` beside it).
//! `benches/targets.sh` drives it; run that, not this, unless you know why:
//!
//! ```text
//! benches/targets.sh [--quick] [CORPUS...]      # news docs zh short, then the 1M synthetic
//! cargo bench -p quire-bench --bench targets -- --help
//! ```
//!
//! Modes (one per invocation):
//! - `--corpus NAME --jsonl FILE` (or `--dir DIR`, a website: every regular file is an entry):
//!   size vs the ZIM (and, for a directory, vs `zimwriterfs`'s ZIM), index bytes per entry,
//!   first article after open, warm get (no block cache) vs the dictionary-frame floor,
//!   default reader vs libzim's defaults (median, p90, mean; per content type for a
//!   directory), page-cache-cold first article vs libzim, pack throughput vs libzim;
//! - `--synth FILE`: `quire pack` of a large synthetic JSONL (1M entries) under
//!   `/usr/bin/time`: peak RSS, prelude size, index bytes per entry;
//! - `--summary DIR`: one table from the `targets-*.json` files in DIR.
//!
//! Only the stable surface is used: `Archive::open`, `get`, `body`, `len`, the `quire` CLI
//! (`pack`, `info --json`). Two reader calls depend on the format version and sit together
//! under "version-specific" below: turning the block cache off, and the archive's dictionary.

use std::fmt::Write as _;
use std::fs::File;
use std::hint::black_box;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use quire::Archive;
use serde_json::{json, Value};
use zstd::bulk::{Compressor, Decompressor};
use zstd::dict::{DecoderDictionary, EncoderDictionary};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

const USAGE: &str = "\
usage: cargo bench -p quire-bench --bench targets -- MODE [options]

modes:
  --corpus NAME --jsonl FILE   every figure of issue 10 for one corpus
  --corpus NAME --dir DIR      the same for a directory (a website), packed as `quire pack DIR`;
                               also zimwriterfs's ZIM and the figures per content type
                               (default input: corpus/data/NAME if it is a directory, else
                               corpus/data/NAME.jsonl)
  --synth FILE                 quire pack of a large synthetic JSONL: peak RSS, prelude, index
  --summary DIR                one table from DIR/targets-*.json

options:
  --quire PATH       the quire CLI (default target/release/quire)
  --out DIR          where targets-NAME.md/.json go (default benches/results)
  --work DIR         archives and ZIMs (default a temporary folder under target/)
  --synth-json FILE  the --synth result to quote in a corpus table (writer RSS row)
  --command TEXT     the command line to print in the table (default: this one)
  --quick            fewer repetitions (1 pack, 2,000 gets a round, 5 cold trials)
  --seed N           key sequences (default 1)
  --pack-arg ARG     an extra argument for `quire pack` (repeatable), for a point on a curve
                     such as `--pack-arg --block-size --pack-arg 4K`
  --label NAME       write targets-NAME.md/.json instead of the corpus's name (or synth-1m)
  --run              run even without --bench (cargo bench passes --bench)
";

// ---------------------------------------------------------------- version-specific

type Reader = Archive<quire::source::AnySource>;

/// Maps an archive the harness wrote itself.
fn open_mapped(path: &Path) -> quire::ReadResult<Reader> {
    // SAFETY: the harness wrote this file and nothing modifies it while it is mapped.
    unsafe { Archive::open(path) }
}

/// The reader without a block cache: every get decompresses its block.
fn without_block_cache(a: Reader) -> Reader {
    a.with_block_cache(0)
}

/// The archive's own zstd dictionary (decompressed), if it has one.
fn archive_dictionary(a: &Reader) -> Res<Option<Vec<u8>>> {
    Ok(a.dictionary()?.map(<[u8]>::to_vec))
}

/// The level the default writer compresses blocks at.
fn default_level() -> i32 {
    quire::WriterOptions::default().get_level()
}

/// `quire info --json`, for the format 3.0 names (`file_len`, `dict_stored_len`, `data_len`,
/// `entries`, `key_bytes`, `prelude_len`) with a fallback to 2.0's (`file_bytes`,
/// `dictionary_stored_bytes`, the `data` section, no prelude: the header and section table).
struct Info {
    version: String,
    file: u64,
    dict: u64,
    data: u64,
    entries: u64,
    key_bytes: Option<u64>,
    /// (bytes, what they are)
    prelude: (u64, &'static str),
    blocks: Option<u64>,
}

fn info(quire: &Path, archive: &Path) -> Res<Info> {
    let o = Command::new(quire)
        .args(["info", "--json"])
        .arg(archive)
        .output()?;
    if !o.status.success() {
        return Err(format!(
            "quire info --json failed: {}",
            String::from_utf8_lossy(&o.stderr)
        )
        .into());
    }
    let j: Value = serde_json::from_slice(&o.stdout)?;
    let num = |names: &[&str]| names.iter().find_map(|n| j.get(*n).and_then(Value::as_u64));
    let sections = j.get("sections").and_then(Value::as_array);
    let section = |name: &str| {
        sections.and_then(|s| {
            s.iter()
                .find(|r| {
                    r.get("name")
                        .and_then(Value::as_str)
                        .is_some_and(|n| n.eq_ignore_ascii_case(name))
                })
                .and_then(|r| r.get("length").and_then(Value::as_u64))
        })
    };
    let file = num(&["file_len", "file_bytes"]).ok_or("info: no file_len")?;
    let dict = num(&["dict_stored_len", "dictionary_stored_bytes"])
        .or_else(|| section("dict"))
        .unwrap_or(0);
    let data = num(&["data_len", "data_bytes"])
        .or_else(|| section("data"))
        .ok_or("info: no data_len (nor a data section)")?;
    let prelude = match num(&["prelude_len", "prelude_bytes"]) {
        Some(p) => (p, "prelude"),
        None => (
            sections
                .and_then(|s| {
                    s.iter()
                        .filter_map(|r| r.get("offset").and_then(Value::as_u64))
                        .min()
                })
                .unwrap_or(0),
            "no prelude in this version: header + section table",
        ),
    };
    Ok(Info {
        version: j.get("version").map_or("?".into(), |v| {
            v.as_str().map_or(v.to_string(), str::to_string)
        }),
        file,
        dict,
        data,
        entries: num(&["entries", "entry_count"]).ok_or("info: no entries")?,
        key_bytes: num(&["key_bytes"]),
        prelude,
        blocks: num(&["blocks", "block_count"]),
    })
}

impl Info {
    fn index_bytes(&self) -> u64 {
        self.file - self.dict - self.data
    }
}

// ---------------------------------------------------------------- arguments

enum Mode {
    /// `input` is a JSONL file or a directory.
    Corpus {
        name: String,
        input: PathBuf,
    },
    Synth(PathBuf),
    Summary(PathBuf),
}

struct Args {
    mode: Option<Mode>,
    quire: PathBuf,
    out: PathBuf,
    work: Option<PathBuf>,
    synth_json: Option<PathBuf>,
    command: Option<String>,
    quick: bool,
    seed: u64,
    run: bool,
    pack_args: Vec<String>,
    label: Option<String>,
}

/// Repetitions: full and `--quick`.
struct Plan {
    pack_reps: usize,
    rounds: usize,
    lookups: usize,
    /// 4c's sequence (default reader vs libzim): issue 25 measures it over 20,000 random keys.
    lookups_4c: usize,
    floor_keys: usize,
    open_runs: usize,
    open_keys: usize,
    cold_trials: usize,
    zim_nocache: usize,
}

impl Plan {
    fn new(quick: bool) -> Plan {
        if quick {
            Plan {
                pack_reps: 1,
                rounds: 5,
                lookups: 2_000,
                lookups_4c: 20_000,
                floor_keys: 300,
                open_runs: 5,
                open_keys: 20,
                cold_trials: 6,
                zim_nocache: 30,
            }
        } else {
            Plan {
                pack_reps: 3,
                rounds: 5,
                lookups: 10_000,
                lookups_4c: 20_000,
                floor_keys: 1_500,
                open_runs: 5,
                open_keys: 100,
                cold_trials: 12,
                zim_nocache: 200,
            }
        }
    }
}

fn parse_args() -> Res<Args> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut a = Args {
        mode: None,
        quire: root.join("target/release/quire"),
        out: Path::new(env!("CARGO_MANIFEST_DIR")).join("results"),
        work: None,
        synth_json: None,
        command: None,
        quick: false,
        seed: 1,
        run: false,
        pack_args: Vec::new(),
        label: None,
    };
    let mut name = None;
    let mut jsonl = None;
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut val = || it.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--bench" | "--run" => a.run = true,
            "--corpus" => name = Some(val()?),
            "--jsonl" | "--dir" => jsonl = Some(PathBuf::from(val()?)),
            "--synth" => a.mode = Some(Mode::Synth(PathBuf::from(val()?))),
            "--summary" => a.mode = Some(Mode::Summary(PathBuf::from(val()?))),
            "--quire" => a.quire = PathBuf::from(val()?),
            "--out" => a.out = PathBuf::from(val()?),
            "--work" => a.work = Some(PathBuf::from(val()?)),
            "--synth-json" => a.synth_json = Some(PathBuf::from(val()?)),
            "--command" => a.command = Some(val()?),
            "--quick" => a.quick = true,
            "--seed" => a.seed = val()?.parse()?,
            "--pack-arg" => a.pack_args.push(val()?),
            "--label" => a.label = Some(val()?),
            "-h" | "--help" => {
                print!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?}\n{USAGE}").into()),
        }
    }
    if let Some(name) = name {
        let input = jsonl.unwrap_or_else(|| {
            let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/data");
            match data.join(&name) {
                dir if dir.is_dir() => dir,
                _ => data.join(format!("{name}.jsonl")),
            }
        });
        a.mode = Some(Mode::Corpus { name, input });
    }
    a.quire = a.quire.canonicalize().unwrap_or(a.quire);
    Ok(a)
}

// ---------------------------------------------------------------- small tools

/// xorshift64*: deterministic and dependency-free (the same generator as compare.rs).
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn below(&mut self, n: usize) -> usize {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) % n as u64) as usize
    }
}

/// `count` distinct indices below `n` (all of them when `count >= n`), in random order.
fn distinct(rng: &mut Rng, n: usize, count: usize) -> Vec<usize> {
    let mut all: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        all.swap(i, rng.below(i + 1));
    }
    all.truncate(count.min(n));
    all
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    if s.is_empty() {
        return f64::NAN;
    }
    let m = s.len() / 2;
    if s.len() % 2 == 1 {
        s[m]
    } else {
        (s[m - 1] + s[m]) / 2.0
    }
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

/// The keys both readers of 4c get once before the timed rounds.
fn warmup_4c(keys: &Keys) -> &[usize] {
    &keys.seq4c[..keys.seq4c.len().min(2000)]
}

fn quantile(v: &[f64], q: f64) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s[((s.len() - 1) as f64 * q).round() as usize]
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// A time in µs, printed with a sensible unit.
fn t(us: f64) -> String {
    if us < 10.0 {
        format!("{us:.2} µs")
    } else if us < 1000.0 {
        format!("{us:.1} µs")
    } else {
        format!("{:.2} ms", us / 1000.0)
    }
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The 1-minute load average.
fn load1() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

fn run_out(cmd: &str, args: &[&str]) -> Option<String> {
    Command::new(cmd)
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
}

/// The last commit that changed the library or the CLI (what is measured), with `+` when
/// their sources have uncommitted changes.
fn code_revision() -> String {
    let code = run_out(
        "git",
        &["log", "-1", "--format=%h", "--", "../src", "../cli"],
    )
    .unwrap_or_else(|| "?".into());
    let dirty = run_out(
        "git",
        &[
            "status",
            "--porcelain",
            "--untracked-files=no",
            "--",
            "../src",
            "../cli",
        ],
    )
    .is_some_and(|s| !s.is_empty());
    format!("{code}{}", if dirty { "+" } else { "" })
}

/// The commit checked out, and [`code_revision`].
fn revision() -> String {
    let head = run_out("git", &["rev-parse", "--short", "HEAD"]).unwrap_or_else(|| "?".into());
    let code = code_revision();
    match code.strip_suffix('+') {
        Some(c) => format!("{head} (src/ and cli/ as of {c}, plus uncommitted changes)"),
        None => format!("{head} (src/ and cli/ as of {code})"),
    }
}

fn now_utc() -> String {
    run_out("date", &["-u", "+%Y-%m-%d %H:%M:%S UTC"]).unwrap_or_else(|| "?".into())
}

fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map_or("unknown".to_string(), |s| s.trim().to_string());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!(
        "nproc {}, CPU {model}, Linux {}, libzstd {} (bench side)",
        nproc(),
        kernel.trim(),
        zstd::zstd_safe::version_string()
    )
}

fn nproc() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Decodes standard base64 (with or without padding).
fn base64(s: &str) -> Res<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() / 4 * 3);
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' | b'\n' | b'\r' => continue,
            _ => return Err(format!("bad base64 byte {c:#x}").into()),
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Ok(out)
}

struct Article {
    key: String,
    body: Vec<u8>,
}

fn load_corpus(path: &Path) -> Res<Vec<Article>> {
    let mut out = Vec::new();
    for (n, line) in BufReader::new(File::open(path)?).lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let v: Value = serde_json::from_str(&line).map_err(|e| format!("line {}: {e}", n + 1))?;
        let key = match v.get("key").or_else(|| v.get("id")) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(x)) => x.to_string(),
            _ => return Err(format!("line {}: no key", n + 1).into()),
        };
        let body = match (v.get("body"), v.get("body_base64")) {
            (_, Some(Value::String(b))) => base64(b)?,
            (Some(Value::String(b)), _) => b.clone().into_bytes(),
            _ => Vec::new(),
        };
        out.push(Article { key, body });
    }
    Ok(out)
}

/// The regular files under `root` as `quire pack DIR` finds them (cli/src/ingest.rs): key =
/// the path relative to `root` joined with `/`; symbolic links (not followed), special files
/// and names that are not UTF-8 are skipped; sorted by key.
fn walk_dir(root: &Path) -> Res<Vec<(String, PathBuf)>> {
    let mut files = Vec::new();
    let mut stack = vec![(root.to_path_buf(), String::new())];
    while let Some((dir, prefix)) = stack.pop() {
        for item in std::fs::read_dir(&dir)? {
            let item = item?;
            let ft = item.file_type()?;
            let Some(name) = item.file_name().to_str().map(str::to_string) else {
                continue;
            };
            let key = format!("{prefix}{name}");
            if ft.is_symlink() {
                continue;
            } else if ft.is_dir() {
                stack.push((item.path(), format!("{key}/")));
            } else if ft.is_file() {
                files.push((key, item.path()));
            }
        }
    }
    files.sort();
    Ok(files)
}

fn load_dir(root: &Path) -> Res<Vec<Article>> {
    walk_dir(root)?
        .into_iter()
        .map(|(key, path)| {
            Ok(Article {
                body: std::fs::read(&path)?,
                key,
            })
        })
        .collect()
}

// ---------------------------------------------------------------- page cache

#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
mod cache {
    use std::fs::File;
    use std::os::fd::AsRawFd;
    use std::path::Path;

    extern "C" {
        fn posix_fadvise(fd: i32, offset: i64, len: i64, advice: i32) -> i32;
        fn mincore(addr: *mut std::ffi::c_void, length: usize, vec: *mut u8) -> i32;
    }
    const POSIX_FADV_DONTNEED: i32 = 4;

    /// Drops the file's pages from the page cache (fsync first: dirty pages stay).
    pub fn evict(path: &Path) -> std::io::Result<()> {
        let f = File::open(path)?;
        f.sync_all()?;
        // SAFETY: a plain syscall on a descriptor we own; off_t is 64-bit on the 64-bit
        // Linux targets this harness runs on.
        let rc = unsafe { posix_fadvise(f.as_raw_fd(), 0, 0, POSIX_FADV_DONTNEED) };
        if rc != 0 {
            return Err(std::io::Error::from_raw_os_error(rc));
        }
        Ok(())
    }

    /// Pages of the file in the page cache (mapping it touches none).
    pub fn resident_pages(path: &Path) -> std::io::Result<usize> {
        let f = File::open(path)?;
        if f.metadata()?.len() == 0 {
            return Ok(0);
        }
        // SAFETY: read-only map of a file the harness wrote; never dereferenced.
        let map = unsafe { memmap2::Mmap::map(&f)? };
        let page = 4096;
        let mut v = vec![0u8; map.len().div_ceil(page)];
        // SAFETY: the range is the mapping; `v` has one byte per 4 KiB page of it.
        let rc = unsafe { mincore(map.as_ptr() as *mut _, map.len(), v.as_mut_ptr()) };
        if rc != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(v.iter().filter(|b| **b & 1 == 1).count())
    }
}

#[cfg(not(target_os = "linux"))]
mod cache {
    use std::path::Path;
    pub fn evict(_: &Path) -> std::io::Result<()> {
        Err(std::io::Error::other("page-cache eviction needs Linux"))
    }
    pub fn resident_pages(_: &Path) -> std::io::Result<usize> {
        Ok(0)
    }
}

// ---------------------------------------------------------------- subprocesses

/// Runs a command under `/usr/bin/time -f %M` when it exists: (wall, peak RSS in KiB, stdout).
fn timed_process(cmd: &mut Command) -> Res<(Duration, Option<u64>, Vec<u8>)> {
    let time_bin = Path::new("/usr/bin/time");
    let rss_file = tempfile::NamedTempFile::new()?;
    let mut full = if time_bin.exists() {
        let mut c = Command::new(time_bin);
        c.arg("-f")
            .arg("%M")
            .arg("-o")
            .arg(rss_file.path())
            .arg(cmd.get_program())
            .args(cmd.get_args());
        for (k, v) in cmd.get_envs() {
            match v {
                Some(v) => c.env(k, v),
                None => c.env_remove(k),
            };
        }
        c
    } else {
        std::mem::replace(cmd, Command::new("true"))
    };
    let t0 = Instant::now();
    let o = full.stderr(Stdio::inherit()).output()?;
    let wall = t0.elapsed();
    if !o.status.success() {
        return Err(format!("{:?} failed ({})", full, o.status).into());
    }
    let rss = std::fs::read_to_string(rss_file.path())
        .ok()
        .and_then(|s| s.lines().last().and_then(|l| l.trim().parse().ok()));
    Ok((wall, rss, o.stdout))
}

fn python() -> String {
    std::env::var("PYTHON").unwrap_or_else(|_| "python3".into())
}

fn zim_py(args: &[&std::ffi::OsStr]) -> Res<Value> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("zim/zim.py");
    let o = Command::new(python())
        .arg(script)
        .args(args)
        .stderr(Stdio::inherit())
        .output()?;
    if !o.status.success() {
        return Err(format!("zim.py {args:?} failed ({})", o.status).into());
    }
    Ok(serde_json::from_slice(&o.stdout)?)
}

// ---------------------------------------------------------------- measurements

/// One timing and the load average when it was taken.
#[derive(Clone)]
struct Timed {
    /// The figure that decides (µs, MB/s, ...).
    value: f64,
    /// Each run's figure (rounds, trials or repetitions).
    runs: Vec<f64>,
    load: String,
    /// The 99th percentile of every sample, when the runs are made of samples.
    p99: f64,
}

impl Timed {
    fn of(runs: Vec<f64>, load: String) -> Timed {
        Timed {
            value: median(&runs),
            runs,
            load,
            p99: f64::NAN,
        }
    }
    fn with_p99(mut self, samples: &[f64]) -> Timed {
        self.p99 = quantile(samples, 0.99);
        self
    }
    fn spread(&self) -> String {
        if self.runs.len() < 2 {
            return String::new();
        }
        let lo = self.runs.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = self.runs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        format!("{}–{}", t(lo), t(hi))
    }
    fn json(&self) -> Value {
        json!({"median": self.value, "runs": self.runs, "load": self.load})
    }
}

/// Times one get per key (each alone): the median of the pass, and every sample.
fn get_pass(a: &Reader, c: &Corpus, seq: &[usize]) -> Res<Vec<f64>> {
    let mut v = Vec::with_capacity(seq.len());
    for &i in seq {
        let t0 = Instant::now();
        let e = a.get(&c.articles[i].key)?.ok_or("key missing")?;
        let n = e.body()?.len();
        v.push(us(t0.elapsed()));
        black_box(n);
    }
    Ok(v)
}

/// 4c borrowed: as [`get_pass`], with `body_shared()`, the body without a copy into a fresh
/// `Vec` (a body in one block is the cached block's bytes).
fn get_pass_shared(a: &Reader, c: &Corpus, seq: &[usize]) -> Res<Vec<f64>> {
    let mut v = Vec::with_capacity(seq.len());
    for &i in seq {
        let t0 = Instant::now();
        let e = a.get(&c.articles[i].key)?.ok_or("key missing")?;
        let n = e.body_shared()?.len();
        v.push(us(t0.elapsed()));
        black_box(n);
    }
    Ok(v)
}

/// Open + first get + body, with a fresh reader per key.
fn first_pass(path: &Path, c: &Corpus, keys: &[usize]) -> Res<Vec<f64>> {
    let mut v = Vec::with_capacity(keys.len());
    for &i in keys {
        let t0 = Instant::now();
        let a = open_mapped(path)?;
        let e = a.get(&c.articles[i].key)?.ok_or("key missing")?;
        let n = e.body()?.len();
        v.push(us(t0.elapsed()));
        check(n == c.articles[i].body.len(), || {
            format!("{}: wrong body length", c.articles[i].key)
        })?;
    }
    Ok(v)
}

fn check(ok: bool, what: impl FnOnce() -> String) -> Res<()> {
    if ok {
        Ok(())
    } else {
        Err(what().into())
    }
}

struct Target {
    what: String,
    measured: String,
    against: String,
    ratio: String,
    pass: Option<bool>,
    load: String,
}

fn verdict(p: Option<bool>) -> &'static str {
    match p {
        Some(true) => "pass",
        Some(false) => "**FAIL**",
        None => "—",
    }
}

// ---------------------------------------------------------------- one corpus

struct Corpus {
    name: String,
    /// A JSONL file, or a directory (`dir`).
    input: PathBuf,
    dir: bool,
    articles: Vec<Article>,
    raw: u64,
    mean_key: f64,
    median_body: usize,
}

impl Corpus {
    fn load(name: &str, input: &Path) -> Res<Corpus> {
        let dir = input.is_dir();
        let articles = if dir {
            load_dir(input)?
        } else {
            load_corpus(input)?
        };
        check(!articles.is_empty(), || "empty corpus".into())?;
        let n = articles.len();
        let mut sizes: Vec<usize> = articles.iter().map(|x| x.body.len()).collect();
        sizes.sort_unstable();
        Ok(Corpus {
            name: name.into(),
            input: input.into(),
            dir,
            raw: sizes.iter().map(|&s| s as u64).sum(),
            mean_key: articles.iter().map(|x| x.key.len() as f64).sum::<f64>() / n as f64,
            median_body: sizes[n / 2],
            articles,
        })
    }

    fn len(&self) -> usize {
        self.articles.len()
    }

    fn keys(&self, idx: &[usize]) -> Vec<&str> {
        idx.iter().map(|&i| self.articles[i].key.as_str()).collect()
    }
}

/// The key sequences of one run: random warm gets over every key (quire and libzim get the
/// same); a random subset for the floor (one frame compressed per key) and a sequence over
/// it, timed for the floor and for quire's get so that their ratio is over the same keys;
/// fresh-open and cold keys.
struct Keys {
    seq: Vec<usize>,
    /// 4c: the default reader and libzim, the same sequence (its first 2,000 warm both up).
    seq4c: Vec<usize>,
    subset: Vec<usize>,
    seq_sub: Vec<usize>,
    open: Vec<Vec<usize>>,
    cold: Vec<usize>,
}

impl Keys {
    fn new(seed: u64, n: usize, plan: &Plan) -> Keys {
        let mut rng = Rng::new(seed);
        let seq = (0..plan.lookups).map(|_| rng.below(n)).collect();
        let subset = distinct(&mut rng, n, plan.floor_keys);
        let seq_sub = (0..plan.lookups)
            .map(|_| subset[rng.below(subset.len())])
            .collect();
        let open = (0..plan.open_runs)
            .map(|_| (0..plan.open_keys).map(|_| rng.below(n)).collect())
            .collect();
        let cold = (0..plan.cold_trials).map(|_| rng.below(n)).collect();
        let seq4c = (0..plan.lookups_4c).map(|_| rng.below(n)).collect();
        Keys {
            seq,
            seq4c,
            subset,
            seq_sub,
            open,
            cold,
        }
    }
}

/// 1 + 6: `quire pack` and libzim's writer, alternating; the last repetition's files stay.
struct Packs {
    threads: String,
    quire_secs: Vec<f64>,
    zim_secs: Vec<f64>,
    quire_mbps: Timed,
    zim_mbps: Timed,
    quire_rss_kib: Option<u64>,
    zim_rss_kib: Option<u64>,
    zim_size: u64,
    zim_version: String,
    /// A directory's content types as quire recorded them (by article), which libzim's ZIM
    /// was given too; `None` for JSONL (libzim takes the JSONL's `content_type`).
    types: Option<Vec<String>>,
}

/// The content type of each article as quire recorded it (`quire ls --json`), written to
/// `out` as JSON lines for `zim.py build DIR --types`.
fn quire_types(quire: &Path, archive: &Path, c: &Corpus, out: &Path) -> Res<Vec<String>> {
    let o = Command::new(quire)
        .args(["ls", "--json"])
        .arg(archive)
        .stderr(Stdio::inherit())
        .output()?;
    check(o.status.success(), || "quire ls --json failed".into())?;
    std::fs::write(out, &o.stdout)?;
    let mut by_key = std::collections::HashMap::new();
    for line in o.stdout.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let v: Value = serde_json::from_slice(line)?;
        let key = v["key"]
            .as_str()
            .ok_or("quire ls --json: no key")?
            .to_string();
        let ty = v["content_type"]
            .as_str()
            .unwrap_or("text/plain; charset=utf-8");
        by_key.insert(key, ty.to_string());
    }
    check(by_key.len() == c.len(), || {
        format!(
            "quire ls lists {} keys, the directory has {} files",
            by_key.len(),
            c.len()
        )
    })?;
    c.articles
        .iter()
        .map(|x| {
            by_key
                .remove(&x.key)
                .ok_or_else(|| format!("{:?} is not in the archive", x.key).into())
        })
        .collect()
}

/// `--index none` when this `quire pack` takes it (the round's rule: sizes and speeds are
/// compared without search indexes, as the ZIM is built without them), unless the caller
/// passed `--index` itself.
fn no_index_args(a: &Args) -> Vec<String> {
    let takes_index = Command::new(&a.quire)
        .args(["pack", "--help"])
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("--index"));
    if takes_index && !a.pack_args.iter().any(|x| x.starts_with("--index")) {
        vec!["--index".into(), "none".into()]
    } else {
        Vec::new()
    }
}

fn pack_both(a: &Args, plan: &Plan, c: &Corpus, qpath: &Path, zpath: &Path) -> Res<Packs> {
    let threads = nproc().to_string();
    let no_index = no_index_args(a);
    let (mut quire_secs, mut quire_rss, mut zim_secs, mut zim_rss) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut quire_len = None;
    let mut build = Value::Null;
    let mut types = None;
    let types_file = qpath.with_extension("types.jsonl");
    let load = load1();
    for rep in 0..plan.pack_reps {
        eprintln!(
            "targets: {}: pack {}/{} (load {})",
            c.name,
            rep + 1,
            plan.pack_reps,
            loadavg()
        );
        let (wall, rss, _) = timed_process(
            Command::new(&a.quire)
                .env("SOURCE_DATE_EPOCH", "1700000000")
                .args(["pack", "-q", "-f", "--threads", &threads])
                .args(&no_index)
                .args(&a.pack_args)
                .arg("-o")
                .arg(qpath)
                .arg(&c.input),
        )?;
        let len = std::fs::metadata(qpath)?.len();
        check(quire_len.is_none_or(|l| l == len), || {
            "quire pack gave different sizes across repetitions".into()
        })?;
        quire_len = Some(len);
        quire_secs.push(wall.as_secs_f64());
        quire_rss.extend(rss);
        if c.dir && types.is_none() {
            types = Some(quire_types(&a.quire, qpath, c, &types_file)?);
        }
        let mut zim = Command::new(python());
        zim.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("zim/zim.py"))
            .arg("build")
            .arg(&c.input)
            .arg("-o")
            .arg(zpath)
            .args(["--force", "--no-front-articles"]);
        if c.dir {
            zim.arg("--types").arg(&types_file);
        }
        let (_, rss, out) = timed_process(&mut zim)?;
        build = serde_json::from_slice(&out)?;
        zim_secs.push(build["pack_seconds"].as_f64().ok_or("no pack_seconds")?);
        zim_rss.extend(rss);
    }
    let load = format!("{load} → {}", load1());
    let mbps = |secs: &[f64]| secs.iter().map(|s| c.raw as f64 / 1e6 / s).collect();
    Ok(Packs {
        quire_mbps: Timed::of(mbps(&quire_secs), load.clone()),
        zim_mbps: Timed::of(mbps(&zim_secs), load),
        threads,
        quire_secs,
        zim_secs,
        quire_rss_kib: quire_rss.into_iter().max(),
        zim_rss_kib: zim_rss.into_iter().max(),
        zim_size: build["file_bytes"].as_u64().ok_or("no file_bytes")?,
        zim_version: build["versions"]["libzim"]
            .as_str()
            .unwrap_or("?")
            .to_string(),
        types,
    })
}

/// 1b: Kiwix's `zimwriterfs` on the same directory (`zim.py zimwriterfs`: no full-text
/// index); its JSON, or why it did not run.
fn zimwriterfs(c: &Corpus, work: &Path) -> Result<Value, String> {
    eprintln!("targets: {}: zimwriterfs (load {})", c.name, loadavg());
    let out = work.join(format!("{}.zimwriterfs.zim", c.name));
    let r = zim_py(&[
        "zimwriterfs".as_ref(),
        c.input.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
        "--force".as_ref(),
    ])
    .map_err(|e| format!("not run: {e} (Debian: apt-get install zim-tools)"));
    let _ = std::fs::remove_file(&out);
    r
}

/// Every body comes back from the archive (this also warms the page cache).
fn check_bodies(c: &Corpus, qpath: &Path) -> Res<()> {
    let r = open_mapped(qpath)?;
    check(r.len() == c.len() as u64, || "archive.len() differs".into())?;
    for x in &c.articles {
        let e = r
            .get(&x.key)?
            .ok_or_else(|| format!("{:?} missing", x.key))?;
        check(e.body()? == x.body, || {
            format!("body of {:?} differs", x.key)
        })?;
    }
    Ok(())
}

/// 3 + 4: quire's warm gets, the dictionary-frame floor, the first article after open.
struct QuireReads {
    nocache: Timed,
    /// 4c: the default reader over `Keys::seq4c`: per-round medians, p90s and means.
    default: Timed,
    default_p90: Timed,
    default_mean: Timed,
    /// Every 4c get of every round, in `Keys::seq4c` order round after round (µs).
    default_samples: Vec<f64>,
    /// 4c borrowed: the same reader and keys with `body_shared()`, each round right after
    /// the copying pass: per-round medians, p90s and means.
    borrowed: Timed,
    borrowed_p90: Timed,
    borrowed_mean: Timed,
    /// No block cache, over the floor's key sequence.
    sub: Timed,
    floor: Timed,
    first: Timed,
    dict_len: Option<usize>,
}

/// The floor's frames (by article; `None` outside the subset) and the archive's dictionary.
struct Floor {
    frames: Vec<Option<Vec<u8>>>,
    dict: Option<Vec<u8>>,
}

/// Each article of `subset` compressed alone, with the archive's dictionary, at the default
/// level.
fn floor_frames(c: &Corpus, qpath: &Path, subset: &[usize]) -> Res<Floor> {
    let dict = archive_dictionary(&open_mapped(qpath)?)?;
    let level = default_level();
    let edict = dict.as_deref().map(|d| EncoderDictionary::copy(d, level));
    let mut comp = match &edict {
        Some(d) => Compressor::with_prepared_dictionary(d)?,
        None => Compressor::new(level)?,
    };
    let mut frames = vec![None; c.len()];
    for &i in subset {
        frames[i] = Some(comp.compress(&c.articles[i].body)?);
    }
    Ok(Floor { frames, dict })
}

fn quire_reads(plan: &Plan, c: &Corpus, qpath: &Path, keys: &Keys) -> Res<QuireReads> {
    eprintln!(
        "targets: {}: dictionary-frame floor ({} articles at level {})",
        c.name,
        keys.subset.len(),
        default_level()
    );
    let Floor { frames, dict } = floor_frames(c, qpath, &keys.subset)?;
    let ddict = dict.as_deref().map(DecoderDictionary::copy);
    let mut dctx = match &ddict {
        Some(d) => Decompressor::with_prepared_dictionary(d)?,
        None => Decompressor::new()?,
    };
    let mut floor_pass = |seq: &[usize]| -> Res<Vec<f64>> {
        let mut v = Vec::with_capacity(seq.len());
        for &i in seq {
            let f = frames[i].as_deref().ok_or("no frame")?;
            let t0 = Instant::now();
            let out = dctx.decompress(f, c.articles[i].body.len())?;
            v.push(us(t0.elapsed()));
            check(out == c.articles[i].body, || {
                "a floor frame does not round-trip".into()
            })?;
        }
        Ok(v)
    };
    // Rounds of (no-cache gets, default-reader gets, the same borrowed, no-cache gets over
    // the floor keys, floor decompressions), interleaved so that load drifts hit all of
    // them alike.
    eprintln!(
        "targets: {}: warm gets, {} rounds × {} (load {})",
        c.name,
        plan.rounds,
        keys.seq.len(),
        loadavg()
    );
    let load = load1();
    let nocache = without_block_cache(open_mapped(qpath)?);
    let default = open_mapped(qpath)?;
    get_pass(&nocache, c, &keys.seq[..keys.seq.len().min(2000)])?;
    get_pass(&default, c, warmup_4c(keys))?;
    floor_pass(&keys.seq_sub[..keys.seq_sub.len().min(2000)])?;
    let mut r = [(); 5].map(|_| (Vec::new(), Vec::new()));
    let (mut p90s, mut means) = ([Vec::new(), Vec::new()], [Vec::new(), Vec::new()]);
    for _ in 0..plan.rounds {
        for (slot, v) in [
            get_pass(&nocache, c, &keys.seq)?,
            get_pass(&default, c, &keys.seq4c)?,
            get_pass_shared(&default, c, &keys.seq4c)?,
            get_pass(&nocache, c, &keys.seq_sub)?,
            floor_pass(&keys.seq_sub)?,
        ]
        .into_iter()
        .enumerate()
        {
            if let Some(k) = slot.checked_sub(1).filter(|&k| k < 2) {
                p90s[k].push(quantile(&v, 0.9));
                means[k].push(mean(&v));
            }
            r[slot].0.push(median(&v));
            r[slot].1.extend(v);
        }
    }
    drop((nocache, default));
    let load = format!("{load} → {}", load1());
    let default_samples = r[1].1.clone();
    let [default_p90, borrowed_p90] = p90s.map(|v| Timed::of(v, load.clone()));
    let [default_mean, borrowed_mean] = means.map(|v| Timed::of(v, load.clone()));
    let [nocache, default, borrowed, sub, floor] =
        r.map(|(runs, all)| Timed::of(runs, load.clone()).with_p99(&all));

    eprintln!(
        "targets: {}: first article after open, {} runs × {} (load {})",
        c.name,
        plan.open_runs,
        plan.open_keys,
        loadavg()
    );
    let load = load1();
    let (mut runs, mut all) = (Vec::new(), Vec::new());
    for k in &keys.open {
        let v = first_pass(qpath, c, k)?;
        runs.push(median(&v));
        all.extend(v);
    }
    let first = Timed::of(runs, format!("{load} → {}", load1())).with_p99(&all);
    Ok(QuireReads {
        nocache,
        default,
        default_p90,
        default_mean,
        default_samples,
        borrowed,
        borrowed_p90,
        borrowed_mean,
        sub,
        floor,
        first,
        dict_len: dict.map(|d| d.len()),
    })
}

/// libzim's reads on the same keys: warm gets with its default caches over 4c's sequence
/// (warmed up on the same keys as quire's default reader), and (for reference) without
/// caches and the first get after a fresh open.
struct ZimReads {
    /// Per-round medians, p90s and means over `Keys::seq4c`.
    warm: Timed,
    warm_p90: Timed,
    warm_mean: Timed,
    /// Every timed get of every round, in `Keys::seq4c` order (µs).
    samples: Vec<f64>,
    /// 4c borrowed: `item.content` (a memoryview over the cluster's blob) without the
    /// `bytes()` copy, each round right after the copying one: per-round medians, p90s, means.
    borrowed: Timed,
    borrowed_p90: Timed,
    borrowed_mean: Timed,
    first_us: f64,
    nocache_us: f64,
}

fn zim_reads(plan: &Plan, c: &Corpus, zpath: &Path, keys: &Keys, work: &Path) -> Res<ZimReads> {
    eprintln!("targets: {}: libzim reads (load {})", c.name, loadavg());
    let keys_file = work.join(format!("{}.keys.json", c.name));
    let times_file = work.join(format!("{}.libzim-times.json", c.name));
    std::fs::write(
        &keys_file,
        serde_json::to_vec(&json!({
            "warmup": c.keys(warmup_4c(keys)),
            "warm": c.keys(&keys.seq4c),
            "open": c.keys(&keys.open.concat()),
        }))?,
    )?;
    let load = load1();
    let (rounds, lookups, nocache) = (
        plan.rounds.to_string(),
        keys.seq4c.len().to_string(),
        plan.zim_nocache.to_string(),
    );
    let read = zim_py(&[
        "read".as_ref(),
        zpath.as_os_str(),
        c.input.as_os_str(),
        "--keys".as_ref(),
        keys_file.as_os_str(),
        "--rounds".as_ref(),
        rounds.as_ref(),
        "--lookups".as_ref(),
        lookups.as_ref(),
        "--nocache-lookups".as_ref(),
        nocache.as_ref(),
        "--cold-runs".as_ref(),
        "0".as_ref(),
        "--times-out".as_ref(),
        times_file.as_os_str(),
        "--borrowed".as_ref(),
    ])?;
    let load = format!("{load} → {}", load1());
    let rounds = |k: &str| -> Res<Timed> {
        let runs = read[k]
            .as_array()
            .ok_or_else(|| format!("zim.py read: no {k}"))?
            .iter()
            .filter_map(Value::as_f64)
            .collect();
        Ok(Timed::of(runs, load.clone()))
    };
    let times: Value = serde_json::from_slice(&std::fs::read(&times_file)?)?;
    let samples: Vec<f64> = times["warm_rounds_ns"]
        .as_array()
        .ok_or("no warm_rounds_ns")?
        .iter()
        .flat_map(|r| r.as_array().into_iter().flatten())
        .filter_map(Value::as_f64)
        .map(|ns| ns / 1000.0)
        .collect();
    check(samples.len() == plan.rounds * keys.seq4c.len(), || {
        "zim.py read: wrong number of timings".into()
    })?;
    Ok(ZimReads {
        warm: rounds("warm_default_rounds_p50_us")?,
        warm_p90: rounds("warm_default_rounds_p90_us")?,
        warm_mean: rounds("warm_default_rounds_mean_us")?,
        samples,
        borrowed: rounds("warm_borrowed_rounds_p50_us")?,
        borrowed_p90: rounds("warm_borrowed_rounds_p90_us")?,
        borrowed_mean: rounds("warm_borrowed_rounds_mean_us")?,
        first_us: read["first_after_open"]["p50_us"]
            .as_f64()
            .unwrap_or(f64::NAN),
        nocache_us: read["warm_nocache"]["p50_us"].as_f64().unwrap_or(f64::NAN),
    })
}

/// 5: page-cache-cold first article: evict the file, open, first get, body; quire and
/// libzim in alternating halves of the trials.
struct Cold {
    quire: Timed,
    zim: Timed,
    /// The most pages found still cached right after an eviction (0: it worked).
    quire_resident: usize,
    zim_resident: u64,
}

fn cold_both(c: &Corpus, qpath: &Path, zpath: &Path, keys: &Keys, work: &Path) -> Res<Cold> {
    eprintln!(
        "targets: {}: page-cache-cold first article, {} trials each (load {})",
        c.name,
        keys.cold.len(),
        loadavg()
    );
    let load = load1();
    let (mut q, mut z) = (Vec::new(), Vec::new());
    let (mut quire_resident, mut zim_resident) = (0, 0);
    for part in keys.cold.chunks(keys.cold.len().div_ceil(2)) {
        for &i in part {
            cache::evict(qpath)?;
            quire_resident = quire_resident.max(cache::resident_pages(qpath)?);
            let t0 = Instant::now();
            let r = open_mapped(qpath)?;
            let len = r
                .get(&c.articles[i].key)?
                .ok_or("key missing")?
                .body()?
                .len();
            q.push(us(t0.elapsed()));
            check(len == c.articles[i].body.len(), || {
                "cold body length".into()
            })?;
        }
        let part_file = work.join(format!("{}.cold-keys.json", c.name));
        std::fs::write(
            &part_file,
            serde_json::to_vec(&json!({"cold": c.keys(part)}))?,
        )?;
        let out = zim_py(&[
            "cold".as_ref(),
            zpath.as_os_str(),
            c.input.as_os_str(),
            "--keys".as_ref(),
            part_file.as_os_str(),
        ])?;
        z.extend(
            out["trials_us"]
                .as_array()
                .ok_or("no trials_us")?
                .iter()
                .filter_map(Value::as_f64),
        );
        let resident = out["resident_pages_after_evict"].as_array();
        for r in resident.into_iter().flatten() {
            zim_resident = zim_resident.max(r.as_u64().unwrap_or(0));
        }
    }
    // Leave the archive cached for whatever runs next.
    std::fs::read(qpath)?;
    let load = format!("{load} → {}", load1());
    Ok(Cold {
        quire: Timed::of(q, load.clone()),
        zim: Timed::of(z, load),
        quire_resident,
        zim_resident,
    })
}

/// Everything one corpus run measured.
struct Measured {
    inf: Info,
    packs: Packs,
    reads: QuireReads,
    zim: ZimReads,
    cold: Cold,
    /// The `--synth` result of the same script run, for the writer-RSS row.
    synth: Option<Value>,
    /// A directory: `zim.py zimwriterfs`'s JSON, or why it did not run.
    zwfs: Option<Result<Value, String>>,
    /// A directory: 4c per content type.
    kinds: Vec<Kind>,
}

/// 4c and the corpus per kind of content (a directory's files by quire's content type).
struct Kind {
    name: &'static str,
    files: usize,
    raw: u64,
    median_size: usize,
    /// How many of 4c's timed gets (every round) were of this kind.
    gets: usize,
    quire: [f64; 3],
    zim: [f64; 3],
}

const KINDS: [&str; 4] = ["HTML", "CSS+JS", "images", "other"];

fn kind_of(content_type: &str) -> &'static str {
    let t = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match t.as_str() {
        "text/html" | "application/xhtml+xml" => "HTML",
        "text/css" | "text/javascript" | "application/javascript" | "application/x-javascript" => {
            "CSS+JS"
        }
        _ if t.starts_with("image/") => "images",
        _ => "other",
    }
}

/// (median, p90, mean) of a sample (µs); NaN when empty.
fn p50_p90_mean(v: &[f64]) -> [f64; 3] {
    if v.is_empty() {
        return [f64::NAN; 3];
    }
    [median(v), quantile(v, 0.9), mean(v)]
}

fn kinds(c: &Corpus, types: &[String], keys: &Keys, r: &QuireReads, z: &ZimReads) -> Vec<Kind> {
    let kind: Vec<&str> = types.iter().map(|t| kind_of(t)).collect();
    KINDS
        .iter()
        .map(|&name| {
            let of: Vec<usize> = (0..c.len()).filter(|&i| kind[i] == name).collect();
            let mut sizes: Vec<usize> = of.iter().map(|&i| c.articles[i].body.len()).collect();
            sizes.sort_unstable();
            let pick = |samples: &[f64]| -> Vec<f64> {
                samples
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| kind[keys.seq4c[j % keys.seq4c.len()]] == name)
                    .map(|(_, &x)| x)
                    .collect()
            };
            let q = pick(&r.default_samples);
            Kind {
                name,
                files: of.len(),
                raw: sizes.iter().map(|&s| s as u64).sum(),
                median_size: sizes.get(sizes.len() / 2).copied().unwrap_or(0),
                gets: q.len(),
                quire: p50_p90_mean(&q),
                zim: p50_p90_mean(&pick(&z.samples)),
            }
        })
        .collect()
}

impl Measured {
    fn index_per_entry(&self) -> f64 {
        self.inf.index_bytes() as f64 / self.inf.entries as f64
    }
}

/// Size targets (issue 25): every corpus ≤ 0.94× its libzim ZIM; a website also ≤ 0.90×
/// zimwriterfs's ZIM of the same directory.
const SIZE_TARGET: f64 = 0.94;
const ZWFS_TARGET: f64 = 0.90;

fn target_rows(plan: &Plan, c: &Corpus, m: &Measured) -> Vec<Target> {
    let (inf, p, r, z, cold) = (&m.inf, &m.packs, &m.reads, &m.zim, &m.cold);
    let zim_ratio = inf.file as f64 / p.zim_size as f64;
    let index_per_entry = m.index_per_entry();
    let first_warm = r.first.value / r.nocache.value;
    let get_floor = r.sub.value / r.floor.value;
    let default_vs_zim = r.default.value / z.warm.value;
    let p90_vs_zim = r.default_p90.value / z.warm_p90.value;
    let mean_vs_zim = r.default_mean.value / z.warm_mean.value;
    let borrowed = [
        ("median", &r.borrowed, &z.borrowed, 1.0),
        ("p90", &r.borrowed_p90, &z.borrowed_p90, 0.25),
        ("mean", &r.borrowed_mean, &z.borrowed_mean, 0.25),
    ];
    let cold_ratio = cold.quire.value / cold.zim.value;
    let pack_ratio = p.quire_mbps.value / p.zim_mbps.value;
    let rss = m.synth.as_ref().map(|s| {
        (
            s["peak_rss_kib"].as_f64().unwrap_or(f64::NAN) / 1024.0,
            s["load"].as_str().unwrap_or("?").to_string(),
        )
    });
    let mut rows = vec![Target {
        what: format!(
            "1. archive size ≤ {SIZE_TARGET}× the ZIM (2 MiB clusters, zstd 19{})",
            if c.dir {
                "; from the directory, quire's mimetypes"
            } else {
                ""
            }
        ),
        measured: format!("{} B", thousands(inf.file)),
        against: format!("ZIM {} B", thousands(p.zim_size)),
        ratio: format!("{zim_ratio:.3}×"),
        pass: Some(zim_ratio <= SIZE_TARGET),
        load: "(sizes are exact)".into(),
    }];
    match &m.zwfs {
        None => {}
        Some(Ok(w)) => {
            let size = w["file_bytes"].as_u64().unwrap_or(0);
            let ratio = inf.file as f64 / size as f64;
            rows.push(Target {
                what: format!(
                    "1b. archive size ≤ {ZWFS_TARGET}× zimwriterfs's ZIM of the same directory (`-j`: no full-text index)"
                ),
                measured: format!("{} B", thousands(inf.file)),
                against: format!(
                    "{} {} B (its title index {} B of it)",
                    w["version"][0].as_str().unwrap_or("zimwriterfs"),
                    thousands(size),
                    thousands(w["title_xapian_bytes"].as_u64().unwrap_or(0))
                ),
                ratio: format!("{ratio:.3}×"),
                pass: Some(ratio <= ZWFS_TARGET),
                load: "(sizes are exact)".into(),
            });
        }
        Some(Err(e)) => rows.push(Target {
            what: format!(
                "1b. archive size ≤ {ZWFS_TARGET}× zimwriterfs's ZIM of the same directory"
            ),
            measured: format!("{} B", thousands(inf.file)),
            against: e.clone(),
            ratio: "—".into(),
            pass: None,
            load: String::new(),
        }),
    }
    rows.extend([
        Target {
            what: format!(
                "2. index bytes per entry ≤ 16 + mean key ({:.1} B)",
                c.mean_key
            ),
            measured: format!(
                "{index_per_entry:.1} B/entry ({} B = file − dict {} − blocks {})",
                thousands(inf.index_bytes()),
                thousands(inf.dict),
                thousands(inf.data)
            ),
            against: format!("≤ {:.1} B", 16.0 + c.mean_key),
            ratio: format!("key + {:.1} B", index_per_entry - c.mean_key),
            pass: Some(index_per_entry <= 16.0 + c.mean_key),
            load: "(sizes are exact)".into(),
        },
        Target {
            what: "3a. first article after open ≤ 300 µs (median; OS cache warm)".into(),
            measured: format!("{} (runs {})", t(r.first.value), r.first.spread()),
            against: "300 µs".into(),
            ratio: format!("{:.2}×", r.first.value / 300.0),
            pass: Some(r.first.value <= 300.0),
            load: r.first.load.clone(),
        },
        Target {
            what: "3b. first article after open ≤ 5× a warm get (no block cache)".into(),
            measured: t(r.first.value),
            against: format!("warm get {}", t(r.nocache.value)),
            ratio: format!("{first_warm:.1}×"),
            pass: Some(first_warm <= 5.0),
            load: r.first.load.clone(),
        },
        Target {
            what: "4a. warm get p50 (no block cache) ≤ 4× the dictionary-frame floor (same keys)"
                .into(),
            measured: format!(
                "{} (rounds {}; over the {} floor keys)",
                t(r.sub.value),
                r.sub.spread(),
                plan.floor_keys.min(c.len())
            ),
            against: format!(
                "floor {} (rounds {}; level {}, {})",
                t(r.floor.value),
                r.floor.spread(),
                default_level(),
                r.dict_len.map_or("no dictionary".into(), |d| format!(
                    "{} B dictionary",
                    thousands(d as u64)
                ))
            ),
            ratio: format!("{get_floor:.2}×"),
            pass: Some(get_floor <= 4.0),
            load: r.sub.load.clone(),
        },
        Target {
            what: "4b. warm get p50 (no block cache) ≤ 25 µs".into(),
            measured: format!("{} (rounds {})", t(r.nocache.value), r.nocache.spread()),
            against: "25 µs".into(),
            ratio: format!("{:.2}×", r.nocache.value / 25.0),
            pass: Some(r.nocache.value <= 25.0),
            load: r.nocache.load.clone(),
        },
        Target {
            what: format!(
                "4c. default reader's warm get median ≤ 1.0× libzim's defaults ({} rounds × {} random keys, the same for both)",
                plan.rounds,
                thousands(plan.lookups_4c as u64)
            ),
            measured: format!("{} (rounds {})", t(r.default.value), r.default.spread()),
            against: format!(
                "libzim {} (rounds {}; 16 MiB cluster cache, Python binding included)",
                t(z.warm.value),
                z.warm.spread()
            ),
            ratio: format!("{default_vs_zim:.2}×"),
            pass: Some(default_vs_zim <= 1.0),
            load: format!("{}; libzim {}", r.default.load, z.warm.load),
        },
        Target {
            what: "4c. … its p90 ≤ 0.25× libzim's (median of the rounds' p90s)".into(),
            measured: format!(
                "{} (rounds {})",
                t(r.default_p90.value),
                r.default_p90.spread()
            ),
            against: format!(
                "libzim {} (rounds {})",
                t(z.warm_p90.value),
                z.warm_p90.spread()
            ),
            ratio: format!("{p90_vs_zim:.2}×"),
            pass: Some(p90_vs_zim <= 0.25),
            load: format!("{}; libzim {}", r.default.load, z.warm.load),
        },
        Target {
            what: "4c. … its mean ≤ 0.25× libzim's (median of the rounds' means)".into(),
            measured: format!(
                "{} (rounds {})",
                t(r.default_mean.value),
                r.default_mean.spread()
            ),
            against: format!(
                "libzim {} (rounds {})",
                t(z.warm_mean.value),
                z.warm_mean.spread()
            ),
            ratio: format!("{mean_vs_zim:.2}×"),
            pass: Some(mean_vs_zim <= 0.25),
            load: format!("{}; libzim {}", r.default.load, z.warm.load),
        },
    ]);
    // 4c borrowed: no target of its own (the copying rows above are the headline); the
    // ratio beside the copying row's target for comparison.
    rows.extend(borrowed.map(|(what, q, zz, line)| Target {
        what: format!(
            "4c borrowed … {what} (quire `body_shared()`, libzim `item.content` without `bytes()`; \
             the copying row's line: ≤ {line}×)"
        ),
        measured: format!("{} (rounds {})", t(q.value), q.spread()),
        against: format!("libzim {} (rounds {})", t(zz.value), zz.spread()),
        ratio: format!("{:.2}×", q.value / zz.value),
        pass: None,
        load: format!("{}; libzim {}", q.load, zz.load),
    }));
    rows.extend([
        Target {
            what: "5. page-cache-cold first article ≤ 0.5× libzim's".into(),
            measured: format!(
                "{} ({} trials, {})",
                t(cold.quire.value),
                cold.quire.runs.len(),
                cold.quire.spread()
            ),
            against: format!(
                "libzim {} ({} trials, {})",
                t(cold.zim.value),
                cold.zim.runs.len(),
                cold.zim.spread()
            ),
            ratio: format!("{cold_ratio:.2}×"),
            pass: Some(cold_ratio <= 0.5),
            load: cold.quire.load.clone(),
        },
        Target {
            what: format!(
                "6. pack throughput ≥ libzim's (MB of text/s, wall, median of {})",
                plan.pack_reps
            ),
            measured: format!("{:.2} MB/s ({} threads)", p.quire_mbps.value, p.threads),
            against: format!("libzim {:.2} MB/s (4 workers)", p.zim_mbps.value),
            ratio: format!("{pack_ratio:.2}×"),
            pass: Some(pack_ratio >= 1.0),
            load: p.quire_mbps.load.clone(),
        },
        match rss {
            Some((rss, load)) => Target {
                what: "7. writer peak RSS at 1M synthetic entries ≤ 200 MiB".into(),
                measured: format!("{rss:.0} MiB"),
                against: "200 MiB".into(),
                ratio: format!("{:.2}×", rss / 200.0),
                pass: Some(rss <= 200.0),
                load: format!("{load} (once per script run: targets-synth-1m.md)"),
            },
            None => Target {
                what: "7. writer peak RSS at 1M synthetic entries ≤ 200 MiB".into(),
                measured: "not run (`benches/targets.sh` runs it once)".into(),
                against: "200 MiB".into(),
                ratio: "—".into(),
                pass: None,
                load: String::new(),
            },
        },
    ]);
    rows
}

fn command_line(a: &Args) -> String {
    a.command.clone().unwrap_or_else(|| {
        std::env::args()
            .filter(|x| x != "--bench")
            .collect::<Vec<_>>()
            .join(" ")
    })
}

fn corpus_page(
    a: &Args,
    plan: &Plan,
    c: &Corpus,
    m: &Measured,
    rows: &[Target],
    (date, start_load): (&str, &str),
) -> Res<String> {
    let (inf, p, r, z, cold) = (&m.inf, &m.packs, &m.reads, &m.zim, &m.cold);
    let mut md = String::new();
    writeln!(md, "# Issue 10 targets: {}\n", c.name)?;
    writeln!(md, "- command: `{}`", command_line(a))?;
    writeln!(md, "- date: {date}")?;
    writeln!(
        md,
        "- quire: {} (format {} as `quire info` reports it)",
        revision(),
        inf.version,
    )?;
    writeln!(
        md,
        "- libzim {} (benches/zim/zim.py, `--no-front-articles`{})",
        p.zim_version,
        if c.dir {
            "; built from the directory with the content type quire recorded for each file"
        } else {
            ""
        }
    )?;
    if let Some(Ok(w)) = &m.zwfs {
        writeln!(
            md,
            "- zimwriterfs: {} (`zim.py zimwriterfs`: `{}`)",
            w["version"]
                .as_array()
                .map(|v| v
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(", "))
                .unwrap_or_default(),
            w["command"].as_str().unwrap_or("?")
        )?;
    }
    writeln!(md, "- machine: {}", machine())?;
    writeln!(
        md,
        "- load average (1/5/15 min): {start_load} at start, {} at end",
        loadavg()
    )?;
    writeln!(
        md,
        "- corpus: {}{} — {} entries, {} B of bodies ({:.2} MB), median body {} B, mean key {:.1} B{}",
        c.input.file_name().map_or("?".into(), |f| f.to_string_lossy()),
        if c.dir { "/ (a directory: `quire pack DIR`)" } else { "" },
        thousands(c.len() as u64),
        thousands(c.raw),
        c.raw as f64 / 1e6,
        thousands(c.median_body as u64),
        c.mean_key,
        inf.key_bytes.map_or(String::new(), |k| format!(
            " (archive key_bytes: {:.1} B)",
            k as f64 / c.len() as f64
        ))
    )?;
    writeln!(
        md,
        "- mode: {} ({} pack repetitions; {} rounds × {} random warm gets (4c: × {}), and × {} over {} \
         keys for the floor; {} × {} first-article trials; {} page-cache-cold trials each)\n",
        if a.quick { "--quick" } else { "full" },
        plan.pack_reps,
        plan.rounds,
        plan.lookups,
        plan.lookups_4c,
        plan.lookups,
        plan.floor_keys.min(c.len()),
        plan.open_runs,
        plan.open_keys,
        plan.cold_trials
    )?;
    writeln!(
        md,
        "| target (issue 10, \"Done when\") | quire | against (same run) | ratio | verdict | \
         1-min load avg before → after |"
    )?;
    writeln!(md, "|---|---:|---:|---:|---|---|")?;
    for row in rows {
        writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} |",
            row.what,
            row.measured,
            row.against,
            row.ratio,
            verdict(row.pass),
            row.load
        )?;
    }
    writeln!(
        md,
        "\nNot measured here (tests prove them): a block decoded to wrong bytes is detected; a \
         cold lookup reads the prelude plus ≤ 2 ranges; the spec points and vectors.\n"
    )?;
    if !m.kinds.is_empty() {
        kinds_table(&mut md, plan, m)?;
    }
    writeln!(md, "### Details\n")?;
    writeln!(
        md,
        "- archive: {} B = dictionary {} B + blocks {} B + index {} B; {} blocks; {}: {} B",
        thousands(inf.file),
        thousands(inf.dict),
        thousands(inf.data),
        thousands(inf.index_bytes()),
        inf.blocks.map_or("?".into(), thousands),
        inf.prelude.1,
        thousands(inf.prelude.0)
    )?;
    writeln!(
        md,
        "- blocks + dictionary alone: {} B = {:.3}× the ZIM",
        thousands(inf.dict + inf.data),
        (inf.dict + inf.data) as f64 / p.zim_size as f64
    )?;
    let secs = |v: &[f64]| {
        v.iter()
            .map(|x| format!("{x:.2}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mib = |k: Option<u64>| k.map_or("?".into(), |k| (k / 1024).to_string());
    writeln!(
        md,
        "- pack: quire {} s wall (peak RSS {} MiB); libzim's writer {} s by its own timer, \
         from opening the {} (peak RSS {} MiB)",
        secs(&p.quire_secs),
        mib(p.quire_rss_kib),
        secs(&p.zim_secs),
        if c.dir { "directory" } else { "JSONL" },
        mib(p.zim_rss_kib)
    )?;
    writeln!(
        md,
        "- warm get, no block cache: p50 {} (per round {}), p99 {}",
        t(r.nocache.value),
        fmt_runs(&r.nocache.runs),
        t(r.nocache.p99)
    )?;
    writeln!(
        md,
        "- warm get, default reader (4c's {} keys): p50 {} (per round {}), p90 {} (per round {}), \
         mean {} (per round {}), p99 {}",
        thousands(plan.lookups_4c as u64),
        t(r.default.value),
        fmt_runs(&r.default.runs),
        t(r.default_p90.value),
        fmt_runs(&r.default_p90.runs),
        t(r.default_mean.value),
        fmt_runs(&r.default_mean.runs),
        t(r.default.p99)
    )?;
    writeln!(
        md,
        "- the same, borrowed (`body_shared()`, right after each copying round): p50 {} (per \
         round {}), p90 {} (per round {}), mean {} (per round {})",
        t(r.borrowed.value),
        fmt_runs(&r.borrowed.runs),
        t(r.borrowed_p90.value),
        fmt_runs(&r.borrowed_p90.runs),
        t(r.borrowed_mean.value),
        fmt_runs(&r.borrowed_mean.runs)
    )?;
    writeln!(
        md,
        "- dictionary-frame floor (each of {} articles compressed alone at level {} with the \
         archive's dictionary; decompressed with a prepared context into a new Vec): p50 {} \
         (per round {}), p99 {}; quire's get over the same key sequence: p50 {} (per round {})",
        plan.floor_keys.min(c.len()),
        default_level(),
        t(r.floor.value),
        fmt_runs(&r.floor.runs),
        t(r.floor.p99),
        t(r.sub.value),
        fmt_runs(&r.sub.runs)
    )?;
    writeln!(
        md,
        "- first article after open: median of run medians {} (per run {}), p99 {}",
        t(r.first.value),
        fmt_runs(&r.first.runs),
        t(r.first.p99)
    )?;
    writeln!(
        md,
        "- libzim warm get, default caches (the same keys, warmed up on the same 2,000): p50 {} \
         (per round {}), p90 {} (per round {}), mean {} (per round {}); no caches: p50 {} \
         ({} gets); first get after a fresh open (cache warm): p50 {}",
        t(z.warm.value),
        fmt_runs(&z.warm.runs),
        t(z.warm_p90.value),
        fmt_runs(&z.warm_p90.runs),
        t(z.warm_mean.value),
        fmt_runs(&z.warm_mean.runs),
        t(z.nocache_us),
        plan.zim_nocache,
        t(z.first_us)
    )?;
    writeln!(
        md,
        "- libzim borrowed (`item.content`, no `bytes()`; right after each copying round): p50 \
         {} (per round {}), p90 {} (per round {}), mean {} (per round {})",
        t(z.borrowed.value),
        fmt_runs(&z.borrowed.runs),
        t(z.borrowed_p90.value),
        fmt_runs(&z.borrowed_p90.runs),
        t(z.borrowed_mean.value),
        fmt_runs(&z.borrowed_mean.runs)
    )?;
    writeln!(
        md,
        "- page-cache-cold trials, quire: {}; libzim: {}; pages still cached right after \
         eviction (max): quire {}, ZIM {}",
        fmt_runs(&cold.quire.runs),
        fmt_runs(&cold.zim.runs),
        cold.quire_resident,
        cold.zim_resident
    )?;
    writeln!(
        md,
        "- quire pack ran with `--threads {}` (the CLI's default counts idle cores) and \
         `SOURCE_DATE_EPOCH=1700000000`; every body was read back and compared before timing",
        p.threads
    )?;
    writeln!(
        md,
        "- libzim is timed in Python (`perf_counter_ns`), its binding's call overhead \
         (~1–2 µs a get) included"
    )?;
    if let Some(Ok(w)) = &m.zwfs {
        let n = |k: &str| w[k].as_u64().unwrap_or(0);
        writeln!(
            md,
            "- zimwriterfs's ZIM: {} B, of which its title index (X/title/xapian, which it has no \
             option against) {} B: without it {} B, quire {:.3}× that; {} entries ({} redirects) \
             for {} files; packed in {:.1} s wall ({} MB/s)",
            thousands(n("file_bytes")),
            thousands(n("title_xapian_bytes")),
            thousands(n("file_bytes_without_title_xapian")),
            inf.file as f64 / n("file_bytes_without_title_xapian") as f64,
            n("archive_entry_count"),
            n("redirects"),
            n("files"),
            w["pack_seconds"].as_f64().unwrap_or(f64::NAN),
            w["pack_mb_per_s"]
        )?;
    }
    if let Some(s) = &m.synth {
        writeln!(
            md,
            "- 1M synthetic (targets-synth-1m.md): peak RSS {} KiB, {:.1} index bytes/entry, {}: {} B",
            s["peak_rss_kib"],
            s["index_per_entry"].as_f64().unwrap_or(f64::NAN),
            s["prelude_what"].as_str().unwrap_or("prelude"),
            s["prelude_bytes"]
        )?;
    }
    Ok(md)
}

/// 4c by content type: where the default reader wins or loses against libzim.
fn kinds_table(md: &mut String, plan: &Plan, m: &Measured) -> Res<()> {
    writeln!(
        md,
        "### By content type (quire's content type of each file; 4c's gets of that kind, every round)\n"
    )?;
    writeln!(
        md,
        "| kind | files | raw bytes | median file | 4c gets | quire p50 / p90 / mean | libzim p50 / p90 / mean | ratio p50 / p90 / mean |"
    )?;
    writeln!(md, "|---|---:|---:|---:|---:|---:|---:|---:|")?;
    let all = [
        &m.reads.default,
        &m.reads.default_p90,
        &m.reads.default_mean,
    ]
    .map(|x| x.value);
    let zall = [&m.zim.warm, &m.zim.warm_p90, &m.zim.warm_mean].map(|x| x.value);
    let three = |v: [f64; 3]| {
        if v[0].is_nan() {
            "—".to_string()
        } else {
            format!("{} / {} / {}", t(v[0]), t(v[1]), t(v[2]))
        }
    };
    let ratios = |q: [f64; 3], z: [f64; 3]| {
        if q[0].is_nan() {
            "—".to_string()
        } else {
            format!(
                "{:.2}× / {:.2}× / {:.2}×",
                q[0] / z[0],
                q[1] / z[1],
                q[2] / z[2]
            )
        }
    };
    for k in &m.kinds {
        writeln!(
            md,
            "| {} | {} | {} | {} B | {} | {} | {} | {} |",
            k.name,
            thousands(k.files as u64),
            thousands(k.raw),
            thousands(k.median_size as u64),
            thousands(k.gets as u64),
            three(k.quire),
            three(k.zim),
            ratios(k.quire, k.zim)
        )?;
    }
    writeln!(
        md,
        "| all (4c) | {} | {} | | {} | {} | {} | {} |\n",
        thousands(m.kinds.iter().map(|k| k.files as u64).sum()),
        thousands(m.kinds.iter().map(|k| k.raw).sum()),
        thousands((plan.rounds * plan.lookups_4c) as u64),
        three(all),
        three(zall),
        ratios(all, zall)
    )?;
    writeln!(
        md,
        "Per kind: pooled over the rounds; the \"all\" row is 4c's (median over the rounds of each \
         round's figure). HTML = text/html; CSS+JS = text/css, text/javascript; images = image/* \
         (SVG included); other = the rest (text/plain, application/octet-stream, ...).\n"
    )?;
    Ok(())
}

fn corpus_json(
    a: &Args,
    c: &Corpus,
    m: &Measured,
    rows: &[Target],
    (date, start_load): (&str, &str),
) -> Value {
    let (inf, p, r, z, cold) = (&m.inf, &m.packs, &m.reads, &m.zim, &m.cold);
    let keys_4c = Plan::new(a.quick).lookups_4c;
    // 4c borrowed: quire's body_shared() and libzim's uncopied item.content.
    let borrowed = json!({
        "warm_get_borrowed_us": r.borrowed.json(),
        "warm_get_borrowed_p90_us": r.borrowed_p90.json(),
        "warm_get_borrowed_mean_us": r.borrowed_mean.json(),
        "libzim_warm_borrowed_us": z.borrowed.json(),
        "libzim_warm_borrowed_p90_us": z.borrowed_p90.json(),
        "libzim_warm_borrowed_mean_us": z.borrowed_mean.json(),
    });
    let mut out = json!({
        "corpus": c.name,
        "date": date,
        "revision": code_revision(),
        "format": inf.version,
        "quick": a.quick,
        "entries": c.len(),
        "raw_bytes": c.raw,
        "median_body": c.median_body,
        "mean_key": c.mean_key,
        "file_bytes": inf.file,
        "dict_bytes": inf.dict,
        "data_bytes": inf.data,
        "index_bytes": inf.index_bytes(),
        "index_per_entry": m.index_per_entry(),
        "zim_bytes": p.zim_size,
        "zim_ratio": inf.file as f64 / p.zim_size as f64,
        "first_after_open_us": r.first.json(),
        "warm_get_nocache_us": r.nocache.json(),
        "warm_get_default_us": r.default.json(),
        "warm_get_floor_keys_us": r.sub.json(),
        "floor_us": r.floor.json(),
        "libzim_warm_default_us": z.warm.json(),
        "warm_get_default_p90_us": r.default_p90.json(),
        "warm_get_default_mean_us": r.default_mean.json(),
        "libzim_warm_default_p90_us": z.warm_p90.json(),
        "libzim_warm_default_mean_us": z.warm_mean.json(),
        "lookups_4c": keys_4c,
        "input": if c.dir { "dir" } else { "jsonl" },
        "zimwriterfs": match &m.zwfs {
            Some(Ok(w)) => json!({
                "file_bytes": w["file_bytes"],
                "title_xapian_bytes": w["title_xapian_bytes"],
                "file_bytes_without_title_xapian": w["file_bytes_without_title_xapian"],
                "version": w["version"],
                "pack_seconds": w["pack_seconds"],
                "ratio": inf.file as f64 / w["file_bytes"].as_f64().unwrap_or(f64::NAN),
            }),
            Some(Err(e)) => json!({"error": e}),
            None => Value::Null,
        },
        "kinds": m.kinds.iter().map(|k| json!({
            "kind": k.name,
            "files": k.files,
            "raw_bytes": k.raw,
            "median_size": k.median_size,
            "gets": k.gets,
            "quire_p50_p90_mean_us": k.quire,
            "libzim_p50_p90_mean_us": k.zim,
        })).collect::<Vec<_>>(),
        "libzim_first_after_open_us": z.first_us,
        "libzim_warm_nocache_us": z.nocache_us,
        "cold_first_us": cold.quire.json(),
        "libzim_cold_first_us": cold.zim.json(),
        "pack_mbps": p.quire_mbps.json(),
        "libzim_pack_mbps": p.zim_mbps.json(),
        "targets": rows
            .iter()
            .map(|r| json!({"what": r.what, "ratio": r.ratio, "pass": r.pass}))
            .collect::<Vec<_>>(),
        "load_start": start_load,
        "load_end": loadavg(),
    });
    out["borrowed_4c"] = borrowed;
    out
}

fn corpus_mode(a: &Args, name: &str, input: &Path, work: &Path) -> Res<()> {
    let plan = Plan::new(a.quick);
    let start_load = loadavg();
    let date = now_utc();
    eprintln!(
        "targets: {name}: loading {} (load {start_load})",
        input.display()
    );
    let c = Corpus::load(name, input)?;
    let qpath = work.join(format!("{name}.quire"));
    let zpath = work.join(format!("{name}.zim"));

    let packs = pack_both(a, &plan, &c, &qpath, &zpath)?;
    let inf = info(&a.quire, &qpath)?;
    check(inf.file == std::fs::metadata(&qpath)?.len(), || {
        "info's file length is not the file's".into()
    })?;
    check(inf.entries == c.len() as u64, || {
        format!(
            "{} entries in the archive, {} in the corpus",
            inf.entries,
            c.len()
        )
    })?;
    eprintln!("targets: {name}: checking every body");
    check_bodies(&c, &qpath)?;
    let keys = Keys::new(a.seed, c.len(), &plan);
    let reads = quire_reads(&plan, &c, &qpath, &keys)?;
    let zim = zim_reads(&plan, &c, &zpath, &keys, work)?;
    let cold = cold_both(&c, &qpath, &zpath, &keys, work)?;
    let zwfs = c.dir.then(|| zimwriterfs(&c, work));
    let kinds = match &packs.types {
        Some(types) => kinds(&c, types, &keys, &reads, &zim),
        None => Vec::new(),
    };
    let synth = a
        .synth_json
        .as_ref()
        .and_then(|p| std::fs::read(p).ok())
        .and_then(|b| serde_json::from_slice(&b).ok());
    let m = Measured {
        inf,
        packs,
        reads,
        zim,
        cold,
        synth,
        zwfs,
        kinds,
    };

    let rows = target_rows(&plan, &c, &m);
    let md = corpus_page(a, &plan, &c, &m, &rows, (&date, &start_load))?;
    std::fs::create_dir_all(&a.out)?;
    let label = a.label.as_deref().unwrap_or(name);
    let md_path = a.out.join(format!("targets-{label}.md"));
    std::fs::write(&md_path, &md)?;
    std::fs::write(
        a.out.join(format!("targets-{label}.json")),
        serde_json::to_string_pretty(&corpus_json(a, &c, &m, &rows, (&date, &start_load)))?,
    )?;
    print!("{md}");
    eprintln!("targets: {name}: wrote {}", md_path.display());
    Ok(())
}

fn fmt_runs(v: &[f64]) -> String {
    v.iter().map(|&x| t(x)).collect::<Vec<_>>().join(", ")
}

// ---------------------------------------------------------------- 1M synthetic

fn synth_mode(a: &Args, jsonl: &Path, work: &Path) -> Res<()> {
    let start_load = loadavg();
    let date = now_utc();
    let qpath = work.join("synth.quire");
    let threads = nproc().to_string();
    eprintln!(
        "targets: synth: quire pack {} (load {start_load})",
        jsonl.display()
    );
    let (wall, rss, _) = timed_process(
        Command::new(&a.quire)
            .env("SOURCE_DATE_EPOCH", "1700000000")
            .args(["pack", "-q", "-f", "--threads", &threads, "-o"])
            .arg(&qpath)
            .arg(jsonl),
    )?;
    let pack_load = format!("{start_load} → {}", loadavg());
    let rss = rss.ok_or("/usr/bin/time is needed for the peak RSS")?;
    let inf = info(&a.quire, &qpath)?;

    // Keys and body sizes, streamed (the JSONL is ~0.5 GB).
    eprintln!("targets: synth: reading keys");
    let mut keys = Vec::new();
    let mut lens = Vec::new();
    let mut raw = 0u64;
    for line in BufReader::new(File::open(jsonl)?).lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let v: Value = serde_json::from_str(&line)?;
        let body = v.get("body").and_then(Value::as_str).unwrap_or("");
        raw += body.len() as u64;
        lens.push(body.len());
        keys.push(v["key"].as_str().ok_or("no key")?.to_string());
    }
    let n = keys.len();
    check(inf.entries == n as u64, || "entry count differs".into())?;
    let key_sum: u64 = keys.iter().map(|k| k.len() as u64).sum();
    let mean_key = key_sum as f64 / n as f64;
    let index = inf.index_bytes();
    let per_entry = index as f64 / n as f64;

    // A few reads at this scale: first article after open, warm get without a block cache.
    let mut rng = Rng::new(a.seed);
    let read_load = loadavg();
    std::fs::read(&qpath)?;
    let mut runs = Vec::new();
    for _ in 0..5 {
        let mut v = Vec::new();
        for _ in 0..20 {
            let i = rng.below(n);
            let t0 = Instant::now();
            let r = open_mapped(&qpath)?;
            let len = r.get(&keys[i])?.ok_or("key missing")?.body()?.len();
            v.push(us(t0.elapsed()));
            check(len == lens[i], || "body length".into())?;
        }
        runs.push(median(&v));
    }
    let first = Timed::of(runs, String::new());
    let r = without_block_cache(open_mapped(&qpath)?);
    let mut rounds = Vec::new();
    for _ in 0..5 {
        let mut v = Vec::new();
        for _ in 0..2000 {
            let i = rng.below(n);
            let t0 = Instant::now();
            let len = r.get(&keys[i])?.ok_or("key missing")?.body()?.len();
            v.push(us(t0.elapsed()));
            black_box(len);
        }
        rounds.push(median(&v));
    }
    drop(r);
    let get = Timed::of(rounds, String::new());
    let read_load = format!("{read_load} → {}", loadavg());
    let rss_mib = rss as f64 / 1024.0;

    let mut md = String::new();
    writeln!(md, "# Issue 10 targets: 1M synthetic entries\n")?;
    writeln!(
        md,
        "- command: `{}`",
        a.command.clone().unwrap_or_else(|| std::env::args()
            .filter(|x| x != "--bench")
            .collect::<Vec<_>>()
            .join(" "))
    )?;
    writeln!(md, "- date: {date}")?;
    writeln!(
        md,
        "- quire: {} (format {}), {}",
        revision(),
        inf.version,
        a.quire.display()
    )?;
    writeln!(md, "- machine: {}", machine())?;
    writeln!(
        md,
        "- load average (1/5/15 min): {start_load} at start, {} at end",
        loadavg()
    )?;
    writeln!(
        md,
        "- corpus: {} — {} entries, {} B of bodies, mean key {mean_key:.1} B (benches/corpus/synth.py, seed 42)",
        jsonl.file_name().map_or("?".into(), |f| f.to_string_lossy()),
        thousands(n as u64),
        thousands(raw),
    )?;
    writeln!(
        md,
        "- packed with `SOURCE_DATE_EPOCH=1700000000 /usr/bin/time -f %M quire pack -q -f --threads {threads}` \
         (JSONL front end included, as users run it)\n"
    )?;
    writeln!(
        md,
        "| figure | measured | target | verdict | load avg during |"
    )?;
    writeln!(md, "|---|---:|---:|---|---|")?;
    writeln!(
        md,
        "| 7. writer peak RSS | {rss_mib:.0} MiB ({} KiB) | ≤ 200 MiB ({:.2}×) | {} | {pack_load} |",
        thousands(rss),
        rss_mib / 200.0,
        verdict(Some(rss_mib <= 200.0))
    )?;
    writeln!(
        md,
        "| index bytes per entry | {per_entry:.1} B ({} B) | ≤ 16 + mean key = {:.1} B | {} | (exact) |",
        thousands(index),
        16.0 + mean_key,
        verdict(Some(per_entry <= 16.0 + mean_key))
    )?;
    let is_prelude = inf.prelude.1 == "prelude";
    writeln!(
        md,
        "| {} | {} B | {} | {} | (exact) |",
        inf.prelude.1,
        thousands(inf.prelude.0),
        if is_prelude { "≤ 16 KiB" } else { "—" },
        verdict(is_prelude.then_some(inf.prelude.0 <= 16384))
    )?;
    writeln!(
        md,
        "| pack throughput | {:.2} MB/s ({:.1} s wall) | (no libzim run at this scale) | — | {pack_load} |",
        raw as f64 / 1e6 / wall.as_secs_f64(),
        wall.as_secs_f64()
    )?;
    writeln!(
        md,
        "| first article after open (5 × 20, cache warm) | {} (runs {}) | ≤ 300 µs | {} | {read_load} |",
        t(first.value),
        first.spread(),
        verdict(Some(first.value <= 300.0))
    )?;
    writeln!(
        md,
        "| warm get p50, no block cache (5 × 2,000) | {} (rounds {}) | ≤ 25 µs | {} | {read_load} |",
        t(get.value),
        get.spread(),
        verdict(Some(get.value <= 25.0))
    )?;
    writeln!(
        md,
        "\n- archive: {} B = dictionary {} B + blocks {} B + index {} B; {} blocks",
        thousands(inf.file),
        thousands(inf.dict),
        thousands(inf.data),
        thousands(index),
        inf.blocks.map_or("?".into(), thousands)
    )?;

    std::fs::create_dir_all(&a.out)?;
    let label = a.label.as_deref().unwrap_or("synth-1m");
    std::fs::write(a.out.join(format!("targets-{label}.md")), &md)?;
    let out = json!({
        "corpus": "synth-1m",
        "date": date,
        "revision": code_revision(),
        "format": inf.version,
        "entries": n,
        "raw_bytes": raw,
        "mean_key": mean_key,
        "peak_rss_kib": rss,
        "pack_seconds": wall.as_secs_f64(),
        "file_bytes": inf.file,
        "index_bytes": index,
        "index_per_entry": per_entry,
        "prelude_bytes": inf.prelude.0,
        "prelude_what": inf.prelude.1,
        "first_after_open_us": first.json(),
        "warm_get_nocache_us": get.json(),
        "load": pack_load,
    });
    std::fs::write(
        a.out.join(format!("targets-{label}.json")),
        serde_json::to_string_pretty(&out)?,
    )?;
    print!("{md}");
    Ok(())
}

// ---------------------------------------------------------------- summary

fn summary_mode(dir: &Path) -> Res<()> {
    let mut md = String::new();
    writeln!(md, "# Issue 10 targets: summary\n")?;
    writeln!(
        md,
        "From the `targets-*.json` beside this file (`benches/targets.sh`); each corpus's page \
         has the command, load averages and the per-run figures.\n"
    )?;
    writeln!(
        md,
        "| corpus | format (commit) | entries | quire / ZIM | quire / zimwriterfs | index B/entry (mean key) | first article | ×warm get | warm get (no cache) | ÷ floor | default get / libzim: p50, p90, mean | cold first / libzim | pack MB/s / libzim | load at start → end |"
    )?;
    writeln!(
        md,
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    )?;
    let mut synth = None;
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|f| f.to_str())
                .is_some_and(|f| f.starts_with("targets-") && f.ends_with(".json"))
        })
        .collect();
    names.sort();
    let order = ["news", "docs", "zh", "short", "web", "web2"];
    names.sort_by_key(|p| {
        let s = p.to_string_lossy();
        order
            .iter()
            .position(|o| s.ends_with(&format!("targets-{o}.json")))
            .unwrap_or(order.len())
    });
    let mark = |ok: bool| if ok { "" } else { " ✗" };
    for p in names {
        let j: Value = serde_json::from_slice(&std::fs::read(&p)?)?;
        if j["corpus"] == "synth-1m" {
            synth = Some(j);
            continue;
        }
        // The file's name: the corpus, or the --label of a point on a curve.
        let name = p
            .file_stem()
            .and_then(|f| f.to_str())
            .and_then(|f| f.strip_prefix("targets-"))
            .unwrap_or("?")
            .to_string();
        let f = |k: &str| j[k].as_f64().unwrap_or(f64::NAN);
        let m = |k: &str| j[k]["median"].as_f64().unwrap_or(f64::NAN);
        let first = m("first_after_open_us");
        let get = m("warm_get_nocache_us");
        let zwfs = j["zimwriterfs"]["ratio"].as_f64().map_or("—".into(), |r| {
            format!("{r:.3}{}", mark(r <= ZWFS_TARGET))
        });
        let ratio4c = |q: &str, z: &str| m(q) / m(z);
        let (p90, avg) = (
            ratio4c("warm_get_default_p90_us", "libzim_warm_default_p90_us"),
            ratio4c("warm_get_default_mean_us", "libzim_warm_default_mean_us"),
        );
        let tail = if p90.is_nan() {
            String::new()
        } else {
            format!(
                ", {p90:.2}×{}, {avg:.2}×{}",
                mark(p90 <= 0.25),
                mark(avg <= 0.25)
            )
        };
        writeln!(
            md,
            "| {}{} | {} ({}) | {} | {:.3}{} | {zwfs} | {:.1} ({:.1}){} | {}{} | {:.1}×{} | {}{} | {:.2}×{} | {:.2}×{}{tail} | {:.2}×{} | {:.2} / {:.2} = {:.2}×{} | {} → {} |",
            name,
            if j["quick"] == true { " (--quick)" } else { "" },
            j["format"].as_str().unwrap_or("?"),
            j["revision"].as_str().unwrap_or("?"),
            thousands(j["entries"].as_u64().unwrap_or(0)),
            f("zim_ratio"),
            mark(f("zim_ratio") <= SIZE_TARGET),
            f("index_per_entry"),
            f("mean_key"),
            mark(f("index_per_entry") <= 16.0 + f("mean_key")),
            t(first),
            mark(first <= 300.0),
            first / get,
            mark(first / get <= 5.0),
            t(get),
            mark(get <= 25.0),
            get / m("floor_us"),
            mark(get / m("floor_us") <= 4.0),
            m("warm_get_default_us") / m("libzim_warm_default_us"),
            mark(m("warm_get_default_us") <= m("libzim_warm_default_us")),
            m("cold_first_us") / m("libzim_cold_first_us"),
            mark(m("cold_first_us") / m("libzim_cold_first_us") <= 0.5),
            m("pack_mbps"),
            m("libzim_pack_mbps"),
            m("pack_mbps") / m("libzim_pack_mbps"),
            mark(m("pack_mbps") >= m("libzim_pack_mbps")),
            j["load_start"].as_str().unwrap_or("?"),
            j["load_end"].as_str().unwrap_or("?"),
        )?;
    }
    writeln!(
        md,
        "\n✗ = misses the target (≤ 0.94×; ≤ 0.90×; ≤ 16 B + mean key; ≤ 300 µs; ≤ 5×; ≤ 25 µs; ≤ 4×; \
         ≤ 1× the median, ≤ 0.25× the p90 and the mean; ≤ 0.5×; ≥ 1×)."
    )?;
    if let Some(s) = synth {
        let rss = s["peak_rss_kib"].as_f64().unwrap_or(f64::NAN) / 1024.0;
        writeln!(
            md,
            "\n1M synthetic entries (format {}): writer peak RSS **{rss:.0} MiB** (target ≤ 200){}; \
             {:.1} index bytes/entry (mean key {:.1} B); {}: {} B; load {}.",
            s["format"].as_str().unwrap_or("?"),
            mark(rss <= 200.0),
            s["index_per_entry"].as_f64().unwrap_or(f64::NAN),
            s["mean_key"].as_f64().unwrap_or(f64::NAN),
            s["prelude_what"].as_str().unwrap_or("prelude"),
            s["prelude_bytes"],
            s["load"].as_str().unwrap_or("?")
        )?;
    }
    std::fs::write(dir.join("targets-summary.md"), &md)?;
    print!("{md}");
    Ok(())
}

// ---------------------------------------------------------------- main

fn main() {
    if let Err(e) = run() {
        eprintln!("targets: error: {e}");
        std::process::exit(1);
    }
}

fn run() -> Res<()> {
    let a = parse_args()?;
    if !a.run {
        println!("targets: not run (benches/targets.sh runs it; or pass --run)");
        return Ok(());
    }
    let Some(mode) = &a.mode else {
        // `cargo bench -p quire-bench` runs every bench with no arguments: nothing to do.
        println!("targets: no mode given (benches/targets.sh runs it; --help lists the modes)");
        return Ok(());
    };
    if let Mode::Summary(dir) = mode {
        return summary_mode(dir);
    }
    if !a.quire.exists() {
        return Err(format!(
            "{} not found: cargo build --release -p quire-cli",
            a.quire.display()
        )
        .into());
    }
    // Archives go on a real disk (page-cache eviction means nothing on tmpfs).
    let tmp;
    let work = match &a.work {
        Some(w) => {
            std::fs::create_dir_all(w)?;
            w.clone()
        }
        None => {
            let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target");
            std::fs::create_dir_all(&base)?;
            tmp = tempfile::tempdir_in(base)?;
            tmp.path().to_path_buf()
        }
    };
    match mode {
        Mode::Corpus { name, input } => {
            if !input.exists() {
                return Err(
                    format!("{} missing: run benches/corpus/{name}.sh", input.display()).into(),
                );
            }
            corpus_mode(&a, name, input, &work)
        }
        Mode::Synth(jsonl) => synth_mode(&a, jsonl, &work),
        Mode::Summary(_) => unreachable!(),
    }
}
