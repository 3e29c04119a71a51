//! Warm gets in one process, as benchmark 4c takes them: the same random keys read again and
//! again through the default reader (block cache on), timing `body()` (a copy into a fresh
//! `Vec`) and `body_shared()` (the block's bytes, no copy) on alternate passes. Prints p50,
//! p90 and mean per pass kind, and the process's minor page faults during the timed passes.
//!
//! ```sh
//! cargo run --release --example warm_gets -- ARCHIVE [KEYS] [ROUNDS]
//! ```

use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = args.first() else {
        eprintln!("usage: warm_gets ARCHIVE [KEYS] [ROUNDS]");
        std::process::exit(2);
    };
    let n: usize = args.get(1).map_or(Ok(20_000), |s| s.parse())?;
    let rounds: usize = args.get(2).map_or(Ok(5), |s| s.parse())?;
    if n == 0 || rounds == 0 {
        return Err("name at least one key and one round".into());
    }
    // SAFETY: the example reads an archive that nothing modifies while it runs.
    let archive = unsafe { quire::Archive::open(path)? };
    let all: Vec<String> = archive
        .iter()
        .map(|e| e.map(|e| e.key().to_string()))
        .collect::<Result<_, _>>()?;
    // xorshift: the same keys on every run.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let keys: Vec<&str> = (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            all[(x % all.len() as u64) as usize].as_str()
        })
        .collect();
    // Warm up: every key once each way.
    for k in &keys {
        let e = archive.get(k)?.ok_or("key missing")?;
        std::hint::black_box(e.body()?.len() + e.body_shared()?.len());
    }
    let faults0 = minor_faults();
    let (mut copy, mut shared) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        for k in &keys {
            let t = Instant::now();
            let e = archive.get(k)?.ok_or("key missing")?;
            std::hint::black_box(e.body()?.len());
            copy.push(t.elapsed().as_secs_f64() * 1e6);
        }
        for k in &keys {
            let t = Instant::now();
            let e = archive.get(k)?.ok_or("key missing")?;
            std::hint::black_box(e.body_shared()?.len());
            shared.push(t.elapsed().as_secs_f64() * 1e6);
        }
    }
    let faults = minor_faults() - faults0;
    for (name, v) in [("body()", &mut copy), ("body_shared()", &mut shared)] {
        v.sort_by(f64::total_cmp);
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        println!(
            "{name:14} p50 {:.2} µs  p90 {:.2} µs  mean {mean:.2} µs  ({} gets)",
            v[v.len() / 2],
            v[v.len() * 9 / 10],
            v.len()
        );
    }
    println!("minor page faults during the timed passes: {faults}");
    Ok(())
}

/// The process's minor page faults so far (field 10 of /proc/self/stat), 0 elsewhere.
fn minor_faults() -> i64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let after = s.rsplit_once(')')?.1;
            after.split_whitespace().nth(7)?.parse().ok()
        })
        .unwrap_or(0)
}
