//! Issue 22's title-suggestion figures for quire, through the Rust API (`Archive::suggest`);
//! run by `benches/suggest.sh`, which times libzim on the same queries in the same run.
//!
//! ```text
//! suggest local ARCHIVE QUERIES.json [ROUNDS]
//!     warm, local: the archive opened once (memory-mapped), every query answered once to
//!     warm it, then ROUNDS (default 5) passes over the queries, each `suggest(q, Some(10))`
//!     timed alone (Instant); prints JSON: per group ("prefix", "title") n, p50_us, p99_us,
//!     mean_us, and every query's top 10 ([key, title or null, kind]).
//! suggest remote URL ACCESS_LOG QUERIES.json
//!     cold, over HTTP: per query a fresh `Archive::open_any(URL)` (nothing cached), then one
//!     `suggest(q, Some(10))`; the requests are counted in nginx's access log (one line a
//!     request), after the open and after the suggestion, each once the log has stopped
//!     growing; prints JSON: per group the requests of the open and of the suggestion, and
//!     how many results each query gave.
//! ```
//!
//! QUERIES.json: `{"GROUP": ["text", ...], ...}`.

mod common;

use std::path::Path;
use std::time::Instant;

use common::{queries, settled, stats, Result};
use quire::source::OpenOptions;
use quire::{Archive, MatchKind};
use serde_json::{json, Value};

fn kind(k: MatchKind) -> &'static str {
    k.name()
}

fn local(archive: &str, qfile: &str, rounds: usize) -> Result<Value> {
    let t = Instant::now();
    // SAFETY: suggest.sh's archive is written before this runs and not touched while it
    // does (the memory map's contract).
    #[allow(unsafe_code)]
    let a = unsafe { Archive::open(archive) }?;
    let open_us = t.elapsed().as_secs_f64() * 1e6;
    let groups = queries(qfile)?;
    let mut results = serde_json::Map::new();
    // Warm-up: every query once (pages read, decoded and cached as a warm reader has them).
    for qs in groups.values() {
        for q in qs {
            let found = a.suggest(q, Some(10))?;
            let rows: Vec<Value> = found
                .iter()
                .map(|s| json!([s.key, s.title, kind(s.kind)]))
                .collect();
            results.insert(q.clone(), Value::Array(rows));
        }
    }
    let mut out = serde_json::Map::new();
    for (g, qs) in &groups {
        let mut ns = Vec::with_capacity(qs.len() * rounds);
        for _ in 0..rounds {
            for q in qs {
                let t = Instant::now();
                let found = a.suggest(q, Some(10))?;
                ns.push(t.elapsed().as_nanos() as u64);
                std::hint::black_box(found);
            }
        }
        out.insert(g.clone(), stats(ns));
    }
    Ok(json!({
        "archive": archive,
        "open_us": open_us,
        "rounds": rounds,
        "has_title_index": a.has_title_index(),
        "groups": out,
        "results": results,
    }))
}

fn remote(url: &str, log: &str, qfile: &str) -> Result<Value> {
    let log = Path::new(log);
    let groups = queries(qfile)?;
    let mut out = serde_json::Map::new();
    for (g, qs) in &groups {
        let (mut opens, mut reqs, mut found) = (Vec::new(), Vec::new(), Vec::new());
        for q in qs {
            let before = settled(log);
            let a = Archive::open_any(url, &OpenOptions::new())?;
            let opened = settled(log);
            let r = a.suggest(q, Some(10))?;
            let after = settled(log);
            opens.push(opened - before);
            reqs.push(after - opened);
            found.push(r.len());
        }
        let mut sorted = reqs.clone();
        sorted.sort_unstable();
        out.insert(
            g.clone(),
            json!({
                "n": qs.len(),
                "open_requests": opens,
                "suggest_requests": reqs,
                "median": sorted.get(sorted.len() / 2),
                "max": sorted.last(),
                "found": found,
            }),
        );
    }
    Ok(json!({ "url": url, "groups": out }))
}

fn main() -> Result<()> {
    // `cargo bench` passes --bench; suggest.sh runs the binary itself.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let out = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["local", archive, q] => local(archive, q, 5)?,
        ["local", archive, q, rounds] => local(archive, q, rounds.parse()?)?,
        ["remote", url, log, q] => remote(url, log, q)?,
        [] => {
            eprintln!("suggest: run by benches/suggest.sh (see the top of benches/suggest.rs)");
            return Ok(());
        }
        _ => return Err("usage: suggest local ARCHIVE QUERIES.json [ROUNDS] | suggest remote URL LOG QUERIES.json".into()),
    };
    println!("{}", serde_json::to_string(&out)?);
    Ok(())
}
