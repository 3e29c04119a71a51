//! The Rust side of `bindings/python/bench.py`: times `archive.get(key)?.body()` — what
//! Python's `a[key]` wraps — over the same archive and the same keys, and prints JSON.
//!
//! ```sh
//! cargo run --release -p quire-python --example rust_get -- ARCHIVE KEYS_FILE [ROUNDS] [GETS_PER_THREAD]
//! ```
//!
//! `KEYS_FILE` holds one key a line. Each round walks every key once (after one warm-up
//! round, which also loads the dictionary); the JSON gives the best and median round as
//! nanoseconds per get, and the throughput of 1 and 2 threads each doing
//! `GETS_PER_THREAD` gets on one shared archive.

use std::time::Instant;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// One get as Python's `a[key]` does it: look up, read the whole body.
fn get(a: &quire::Archive<quire::source::AnySource>, key: &str) -> Result<usize> {
    let entry = a.get(key)?.ok_or_else(|| format!("no key {key:?}"))?;
    Ok(entry.body()?.len())
}

/// Gets per second of `threads` threads each doing `n` gets, walking the keys from
/// different starting points.
fn throughput(
    a: &quire::Archive<quire::source::AnySource>,
    keys: &[String],
    threads: usize,
    n: usize,
) -> Result<f64> {
    let start = Instant::now();
    let results: Vec<Result<()>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || -> Result<()> {
                    for i in 0..n {
                        get(a, &keys[(i + t * 7919) % keys.len()])?;
                    }
                    Ok(())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err("thread panicked".into())))
            .collect()
    });
    let secs = start.elapsed().as_secs_f64();
    for r in results {
        r?;
    }
    Ok((threads * n) as f64 / secs)
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(path), Some(keys_file)) = (args.first(), args.get(1)) else {
        eprintln!("usage: rust_get ARCHIVE KEYS_FILE [ROUNDS] [GETS_PER_THREAD]");
        std::process::exit(2);
    };
    let rounds: usize = args.get(2).map_or(Ok(5), |s| s.parse())?;
    let per_thread: usize = args.get(3).map_or(Ok(20_000), |s| s.parse())?;
    let keys: Vec<String> = std::fs::read_to_string(keys_file)?
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    if keys.is_empty() {
        return Err("no keys".into());
    }
    // SAFETY: the benchmark maps an archive that bench.py wrote and nothing changes.
    let archive = unsafe { quire::Archive::open(path)? };
    let mut bytes = 0usize;
    for k in &keys {
        bytes += get(&archive, k)?; // warm-up: dictionary, page cache
    }
    let mut per_get = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let start = Instant::now();
        for k in &keys {
            bytes += get(&archive, k)?;
        }
        per_get.push(start.elapsed().as_nanos() as f64 / keys.len() as f64);
    }
    per_get.sort_by(f64::total_cmp);
    let one = throughput(&archive, &keys, 1, per_thread)?;
    let two = throughput(&archive, &keys, 2, per_thread)?;
    println!(
        "{{\"keys\": {}, \"rounds\": {rounds}, \"best_ns\": {:.1}, \"median_ns\": {:.1}, \
         \"threads1_per_s\": {one:.0}, \"threads2_per_s\": {two:.0}, \"bytes\": {bytes}}}",
        keys.len(),
        per_get[0],
        per_get[per_get.len() / 2],
    );
    Ok(())
}
