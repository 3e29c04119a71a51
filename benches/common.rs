//! Pieces the bench binaries share (benches/suggest.rs and benches/search.rs): query files,
//! latency statistics, nginx's access log, and a source that counts round trips.
//!
//! Each binary includes it as `mod common;`; not every binary uses every piece.
#![allow(dead_code)]

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io;
use std::ops::Range;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use quire::source::{ByteSource, RemoteOptions, RemoteSource};
use serde_json::{json, Value};

pub type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// A query file: `{"GROUP": [QUERY, ...], ...}` where a query is a string or an object with
/// a `"query"` string (benches/results/search-CORPUS-queries.json, whose other keys, such as
/// `"rule"` or `"seed"`, are not lists and are skipped).
pub fn queries(path: &str) -> Result<BTreeMap<String, Vec<String>>> {
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path)?)?;
    let mut out = BTreeMap::new();
    let Value::Object(map) = doc else {
        return Err(format!("{path}: not a JSON object").into());
    };
    for (g, v) in map {
        let Value::Array(items) = v else { continue };
        let qs: Vec<String> = items
            .iter()
            .filter_map(|q| match q {
                Value::String(s) => Some(s.clone()),
                Value::Object(o) => o.get("query").and_then(Value::as_str).map(str::to_owned),
                _ => None,
            })
            .collect();
        if qs.len() == items.len() {
            out.insert(g, qs);
        }
    }
    Ok(out)
}

/// p50, p99 and mean of `ns` (nanoseconds) in µs.
pub fn stats(mut ns: Vec<u64>) -> Value {
    if ns.is_empty() {
        return json!({"n": 0});
    }
    ns.sort_unstable();
    let q = |p: f64| {
        let i = ((ns.len() - 1) as f64 * p).round() as usize;
        ns[i] as f64 / 1000.0
    };
    let mean = ns.iter().sum::<u64>() as f64 / ns.len() as f64 / 1000.0;
    json!({
        "n": ns.len(),
        "p50_us": (q(0.5) * 100.0).round() / 100.0,
        "p99_us": (q(0.99) * 100.0).round() / 100.0,
        "mean_us": (mean * 100.0).round() / 100.0,
    })
}

/// Median and maximum of counts, and their sum.
pub fn counts(xs: &[u64]) -> Value {
    let mut s = xs.to_vec();
    s.sort_unstable();
    json!({
        "n": s.len(),
        "median": s.get(s.len() / 2),
        "max": s.last(),
        "sum": s.iter().sum::<u64>(),
    })
}

/// Lines of nginx's access log (one a request).
pub fn log_lines(log: &Path) -> usize {
    std::fs::read(log).map_or(0, |b| b.iter().filter(|&&c| c == b'\n').count())
}

/// The access log's line count once it has not grown for 150 ms.
pub fn settled(log: &Path) -> usize {
    let mut n = log_lines(log);
    let mut still = Instant::now();
    loop {
        std::thread::sleep(Duration::from_millis(25));
        let m = log_lines(log);
        if m != n {
            n = m;
            still = Instant::now();
        } else if still.elapsed() >= Duration::from_millis(150) {
            return n;
        }
    }
}

/// A [`RemoteSource`] that counts the round trips its reader waits for. Prefetches are made
/// synchronous (a `read_many` of the ranges, fetched in parallel, then waited for), so that
/// every request is sent from a blocking call; a blocking call that sends any request is one
/// round trip, however many requests it sends in parallel. quire asks for a prefetch's
/// ranges right after it (spec §15.9: the reads of a step asked for together), so this
/// counts what an asynchronous prefetch waits for, or more where a prefetch would overlap
/// the next step's reads.
pub struct RoundTrips {
    inner: RemoteSource,
    trips: AtomicU64,
}

/// What a [`RoundTrips`] source has cost so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cost {
    /// Round trips waited for.
    pub trips: u64,
    /// HTTP requests sent (every retry counted).
    pub requests: u64,
    /// Body bytes received.
    pub bytes: u64,
}

impl Cost {
    /// What was spent from `before` to `self`.
    pub fn since(self, before: Cost) -> Cost {
        Cost {
            trips: self.trips - before.trips,
            requests: self.requests - before.requests,
            bytes: self.bytes - before.bytes,
        }
    }
}

impl RoundTrips {
    /// Opens `url` (one request, the open's round trip counted).
    pub fn open(url: &str) -> Result<Self> {
        let inner = RemoteSource::open(url, RemoteOptions::new())?;
        Ok(RoundTrips {
            inner,
            trips: AtomicU64::new(1),
        })
    }

    /// Round trips, requests and bytes so far, the open's included.
    pub fn cost(&self) -> Cost {
        let s = self.inner.stats();
        Cost {
            trips: self.trips.load(Ordering::Relaxed),
            requests: s.requests,
            bytes: s.bytes,
        }
    }

    /// Runs a blocking read of `ranges` and counts a round trip if it sent any request
    /// (with `QUIRE_TRACE_TRIPS` set, each counted one is printed to stderr, with the
    /// ranges it asked for).
    fn counted<T>(&self, ranges: &[Range<u64>], read: impl FnOnce() -> T) -> T {
        let before = self.inner.stats().requests;
        let out = read();
        let sent = self.inner.stats().requests - before;
        if sent > 0 {
            let n = self.trips.fetch_add(1, Ordering::Relaxed) + 1;
            if std::env::var_os("QUIRE_TRACE_TRIPS").is_some() {
                eprintln!("trip {n}: {sent} requests for {ranges:?}");
            }
        }
        out
    }
}

impl ByteSource for RoundTrips {
    fn size(&self) -> u64 {
        self.inner.size()
    }

    fn read_at(&self, offset: u64, len: usize) -> io::Result<Cow<'_, [u8]>> {
        let asked = offset..offset + len as u64;
        self.counted(std::slice::from_ref(&asked), || {
            self.inner.read_at(offset, len)
        })
    }

    fn read_many(&self, ranges: &[Range<u64>]) -> io::Result<Vec<Cow<'_, [u8]>>> {
        self.counted(ranges, || self.inner.read_many(ranges))
    }

    fn prefetch(&self, ranges: &[Range<u64>]) {
        // As RemoteSource::prefetch: ranges past the end are left out, errors not reported
        // (the read that needs a range sees them).
        let size = self.inner.size();
        let ok: Vec<Range<u64>> = ranges
            .iter()
            .filter(|r| r.start < r.end && r.end <= size)
            .cloned()
            .collect();
        if !ok.is_empty() {
            let _ = self.counted(&ok, || self.inner.read_many(&ok).map(|v| v.len()));
        }
    }

    fn revalidate(&self) -> io::Result<()> {
        self.inner.revalidate()
    }

    fn is_remote(&self) -> bool {
        true
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }
}
