//! The first article after open, timed over several archives of the same entries in turn, so
//! that a noisy machine slows each of them alike: each trial opens a fresh reader (a memory
//! map), reads one key's body and drops the reader. The keys are spread evenly over the first
//! archive's entries; every round takes each key on every archive, the archives' order turned
//! by one at each key. Prints, per archive, the median of the rounds' medians and their range.
//!
//! ```sh
//! cargo run --release --example first_open -- ROUNDS KEYS A.quire B.quire …
//! ```

use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(rounds), Some(keys), paths) = (args.first(), args.get(1), args.get(2..)) else {
        eprintln!("usage: first_open ROUNDS KEYS ARCHIVE…");
        std::process::exit(2);
    };
    let (rounds, n_keys): (usize, usize) = (rounds.parse()?, keys.parse()?);
    let paths = paths.unwrap_or_default();
    if paths.is_empty() || n_keys == 0 || rounds == 0 {
        return Err("name at least one round, one key and one archive".into());
    }
    // SAFETY: the example reads archives that nothing modifies while it runs.
    let first = unsafe { quire::Archive::open(&paths[0])? };
    let all: Vec<String> = first
        .iter()
        .map(|e| e.map(|e| e.key().to_string()))
        .collect::<Result<_, _>>()?;
    drop(first);
    let step = (all.len() / n_keys).max(1);
    let keys: Vec<&str> = all
        .iter()
        .step_by(step)
        .take(n_keys)
        .map(|k| k.as_str())
        .collect();
    let mut medians = vec![Vec::new(); paths.len()];
    for _ in 0..rounds {
        let mut times = vec![Vec::new(); paths.len()];
        for (k, key) in keys.iter().enumerate() {
            for turn in 0..paths.len() {
                let i = (k + turn) % paths.len();
                let t0 = Instant::now();
                // SAFETY: as above.
                let archive = unsafe { quire::Archive::open(&paths[i])? };
                let entry = archive.get(key)?.ok_or("key missing")?;
                let n = entry.body()?.len();
                times[i].push(t0.elapsed().as_secs_f64() * 1e6);
                std::hint::black_box(n);
            }
        }
        for (m, t) in medians.iter_mut().zip(&mut times) {
            m.push(median(t));
        }
    }
    println!(
        "{rounds} rounds × {} keys; µs: median of round medians (range)",
        keys.len()
    );
    for (p, m) in paths.iter().zip(&mut medians) {
        let mid = median(m);
        let (lo, hi) = (m[0], m[m.len() - 1]);
        println!("{mid:9.1} ({lo:.1}–{hi:.1})  {p}");
    }
    Ok(())
}

/// Sorts `v` and returns its median.
fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}
