//! Issue 23's full-text search figures for quire, through the Rust API (`Archive::search`
//! and `Archive::search_keys`); run by `benches/search.sh`, which times libzim on the same
//! queries in the same run.
//!
//! ```text
//! search local ARCHIVE QUERIES.json [ROUNDS]
//!     warm, local: the archive opened once (memory-mapped), every query answered once by
//!     each call to warm it, then ROUNDS (default 5) passes over the queries timed alone
//!     (Instant): `search_keys(q, 10)` (10 results as keys and titles, no snippets) and
//!     `search(q, 10)` (with snippets). Also picks the rare words: the distinct words of
//!     the "words" group that the archive's analyzer makes one term and that alone find 1
//!     to 128 entries (a list of one block or inline, spec §15.5), in query order, at most
//!     50, and times them the same way. Prints JSON: per group
//!     ("title", "words", "rare") "keys" and "snippets" {n, p50_us, p99_us, mean_us}, every
//!     query's top-10 keys ("results", per group in query order) and the rare words.
//! search remote URL ACCESS_LOG QUERIES.json
//!     cold, over HTTP: per query a fresh open of URL (nothing cached) through a source that
//!     counts round trips (benches/common.rs `RoundTrips`: prefetches made synchronous,
//!     each blocking read that sends requests one round trip, requests in parallel count
//!     once), then one `search(q, 10)` with titles and snippets (and, for the group "rare",
//!     one `search_keys(q, 10)` after another fresh open); prints JSON: per group the
//!     round trips, requests and body bytes of the open and of the search (median, max,
//!     sum), and how many results each query gave. nginx's access log counts the requests
//!     of the whole run, a check on the client's count. With QUIRE_TRACE_TRIPS set, each
//!     round trip is printed to stderr with the ranges it asked for.
//! ```
//!
//! QUERIES.json: `{"GROUP": [QUERY, ...], ...}`, a query a string or `{"query": ...}`.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use common::{counts, queries, settled, stats, Cost, Result, RoundTrips};
use quire::Archive;
use serde_json::{json, Value};

/// Rare words kept, at most.
const RARE: usize = 50;
/// A word finding at most this many entries is rare (an inline list).
const RARE_DF: usize = 128;

fn time_groups(
    groups: &BTreeMap<String, Vec<String>>,
    rounds: usize,
    run: impl Fn(&str) -> quire::ReadResult<Vec<quire::SearchHit>>,
) -> Result<BTreeMap<String, Value>> {
    let mut out = BTreeMap::new();
    for (g, qs) in groups {
        for q in qs {
            std::hint::black_box(run(q)?);
        }
        let mut ns = Vec::with_capacity(qs.len() * rounds);
        for _ in 0..rounds {
            for q in qs {
                let t = Instant::now();
                let found = run(q)?;
                ns.push(t.elapsed().as_nanos() as u64);
                std::hint::black_box(found);
            }
        }
        out.insert(g.clone(), stats(ns));
    }
    Ok(out)
}

fn local(archive: &str, qfile: &str, rounds: usize) -> Result<Value> {
    let t = Instant::now();
    // SAFETY: search.sh's archive is written before this runs and not touched while it
    // does (the memory map's contract).
    #[allow(unsafe_code)]
    let a = unsafe { Archive::open(archive) }?;
    let open_us = t.elapsed().as_secs_f64() * 1e6;
    let mut groups = queries(qfile)?;
    // The rare words of the two-word queries: words that the archive's analyzer makes one
    // term (a Chinese word that jieba cuts in two is a query of two terms).
    let analyzer = quire::text::Analyzer::from_identity(&a.search_tokenizer()?);
    let one_term = |w: &str| {
        analyzer.as_ref().is_none_or(|an| {
            matches!(
                an.analyze_query(w).as_slice(),
                [quire::text::QueryPart::Term(_)]
            )
        })
    };
    let mut rare: Vec<String> = Vec::new();
    let mut df = serde_json::Map::new();
    for q in groups.get("words").into_iter().flatten() {
        for w in q.split_whitespace() {
            if rare.len() >= RARE
                || rare.iter().any(|r| r == w)
                || df.contains_key(w)
                || !one_term(w)
            {
                continue;
            }
            let n = a.search_keys(w, RARE_DF + 1)?.len();
            df.insert(w.to_owned(), n.into());
            if (1..=RARE_DF).contains(&n) {
                rare.push(w.to_owned());
            }
        }
    }
    groups.insert("rare".into(), rare.clone());
    let mut results = serde_json::Map::new();
    let mut titles = serde_json::Map::new();
    for (g, qs) in &groups {
        let mut rows = Vec::with_capacity(qs.len());
        for q in qs {
            let hits = a.search_keys(q, 10)?;
            for h in &hits {
                titles.insert(h.key.clone(), h.title.clone().into());
            }
            rows.push(Value::from(
                hits.into_iter()
                    .map(|h| Value::from(h.key))
                    .collect::<Vec<_>>(),
            ));
        }
        results.insert(g.clone(), rows.into());
    }
    let keys = time_groups(&groups, rounds, |q| a.search_keys(q, 10))?;
    let snippets = time_groups(&groups, rounds, |q| a.search(q, 10))?;
    let mut out = serde_json::Map::new();
    for g in groups.keys() {
        out.insert(
            g.clone(),
            json!({"keys": keys.get(g), "snippets": snippets.get(g)}),
        );
    }
    Ok(json!({
        "archive": archive,
        "open_us": open_us,
        "rounds": rounds,
        "tokenizer": a.search_tokenizer()?,
        "groups": out,
        "rare": rare,
        "rare_df": rare.iter().map(|w| df.get(w).cloned().unwrap_or(Value::Null)).collect::<Vec<_>>(),
        "results": results,
        "titles": titles,
    }))
}

/// A fresh open of `url`, and the cost of `run` on it after the open.
fn cold(
    url: &str,
    run: impl Fn(&Archive<RoundTrips>) -> quire::ReadResult<Vec<quire::SearchHit>>,
) -> Result<(Cost, Cost, usize)> {
    let a = Archive::new(RoundTrips::open(url)?)?;
    let opened = a.source().cost();
    let hits = run(&a)?;
    Ok((opened, a.source().cost().since(opened), hits.len()))
}

fn summary(costs: &[(Cost, Cost, usize)]) -> Value {
    let pick =
        |f: fn(&(Cost, Cost, usize)) -> u64| counts(&costs.iter().map(f).collect::<Vec<_>>());
    json!({
        "n": costs.len(),
        "open": {
            "trips": pick(|c| c.0.trips),
            "requests": pick(|c| c.0.requests),
            "bytes": pick(|c| c.0.bytes),
        },
        "search": {
            "trips": pick(|c| c.1.trips),
            "requests": pick(|c| c.1.requests),
            "bytes": pick(|c| c.1.bytes),
        },
        "results": pick(|c| c.2 as u64),
        "trips_each": costs.iter().map(|c| c.1.trips).collect::<Vec<_>>(),
    })
}

fn remote(url: &str, log: &str, qfile: &str) -> Result<Value> {
    let log = Path::new(log);
    let groups = queries(qfile)?;
    let before = settled(log);
    let mut out = serde_json::Map::new();
    let mut requests = 0;
    for (g, qs) in &groups {
        let mut costs = Vec::with_capacity(qs.len());
        for q in qs {
            costs.push(cold(url, |a| a.search(q, 10))?);
        }
        requests += costs
            .iter()
            .map(|c| c.0.requests + c.1.requests)
            .sum::<u64>();
        out.insert(g.clone(), summary(&costs));
        if g == "rare" {
            let mut costs = Vec::with_capacity(qs.len());
            for q in qs {
                costs.push(cold(url, |a| a.search_keys(q, 10))?);
            }
            requests += costs
                .iter()
                .map(|c| c.0.requests + c.1.requests)
                .sum::<u64>();
            out.insert("rare-keys".into(), summary(&costs));
        }
    }
    let logged = settled(log) - before;
    Ok(json!({
        "url": url,
        "groups": out,
        "requests_counted": requests,
        "requests_logged": logged,
    }))
}

fn main() -> Result<()> {
    // `cargo bench` passes --bench; search.sh runs the binary itself.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let out = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["local", archive, q] => local(archive, q, 5)?,
        ["local", archive, q, rounds] => local(archive, q, rounds.parse()?)?,
        ["remote", url, log, q] => remote(url, log, q)?,
        [] => {
            eprintln!("search: run by benches/search.sh (see the top of benches/search.rs)");
            return Ok(());
        }
        _ => return Err("usage: search local ARCHIVE QUERIES.json [ROUNDS] | search remote URL LOG QUERIES.json".into()),
    };
    println!("{}", serde_json::to_string(&out)?);
    Ok(())
}
