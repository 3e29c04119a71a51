//! What every answer goes through on its way out: conditional requests (`If-None-Match` →
//! 304), byte ranges (206, 416), gzip for text when the client accepts it, HEAD, and the
//! headers (content type, length, ETag, Cache-Control, Vary, nosniff).

use std::collections::{HashMap, VecDeque};
use std::io::Write;
use std::sync::Mutex;

use bytes::Bytes;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Response, StatusCode};

use super::Body;

/// Entries and the server's files: a day in a cache, then revalidated by ETag (an
/// archive's entries never change under its identity; a new archive under the same name
/// has another identity, so a revalidation after a day finds it).
pub const CACHE_ENTRY: &str = "public, max-age=86400";
/// Pages made from the archives (library, listings, results, the API): revalidated each time.
pub const CACHE_PAGE: &str = "no-cache";
/// Redirects to a random article, and errors: never kept.
pub const CACHE_NONE: &str = "no-store";

/// Bodies shorter than this are sent as they are (gzip would save little).
const GZIP_MIN: usize = 256;
/// Gzipped bodies kept, by ETag, so that an entry asked for again is not compressed again.
const GZIP_CACHE_BYTES: usize = 32 << 20;
/// Bodies longer than this are not kept gzipped.
const GZIP_CACHE_ONE: usize = 2 << 20;

/// An answer before the request's conditions, range and encoding are applied.
pub struct Out {
    /// 200, or the error's status.
    pub status: StatusCode,
    /// The Content-Type header.
    pub content_type: String,
    /// The whole body.
    pub body: Bytes,
    /// The strong ETag's value, without quotes (`-gz` is added for the gzipped body).
    pub etag: Option<String>,
    /// The Cache-Control header.
    pub cache: &'static str,
    /// Whether a Range is honoured (entries and files; not pages made per request).
    pub ranges: bool,
    /// A Location header (redirects).
    pub location: Option<String>,
}

impl Out {
    /// A 200 answer of `content_type`.
    pub fn ok(content_type: impl Into<String>, body: impl Into<Bytes>) -> Out {
        Out {
            status: StatusCode::OK,
            content_type: content_type.into(),
            body: body.into(),
            etag: None,
            cache: CACHE_PAGE,
            ranges: false,
            location: None,
        }
    }

    /// An HTML page with `status`.
    pub fn html(status: StatusCode, page: String) -> Out {
        Out {
            status,
            cache: if status == StatusCode::OK {
                CACHE_PAGE
            } else {
                CACHE_NONE
            },
            ..Out::ok("text/html; charset=utf-8", page)
        }
    }

    /// A JSON document with `status`.
    pub fn json(status: StatusCode, value: &serde_json::Value) -> Out {
        let mut body = serde_json::to_vec(value).unwrap_or_default();
        body.push(b'\n');
        Out {
            status,
            cache: if status == StatusCode::OK {
                CACHE_PAGE
            } else {
                CACHE_NONE
            },
            ..Out::ok("application/json", body)
        }
    }

    /// A redirect to `to` (already a URL path, percent-encoded).
    pub fn redirect(status: StatusCode, to: String, cache: &'static str) -> Out {
        Out {
            status,
            cache,
            location: Some(to),
            ..Out::ok("text/plain; charset=utf-8", Bytes::new())
        }
    }

    /// With the ETag `tag`.
    pub fn tagged(mut self, tag: String) -> Out {
        self.etag = Some(tag);
        self
    }
}

/// What of the request the answer depends on.
pub struct Asked<'r> {
    /// GET or HEAD.
    pub method: &'r Method,
    /// The request's headers.
    pub headers: &'r HeaderMap,
}

/// Gzipped bodies by ETag, least recently used dropped first.
#[derive(Default)]
pub struct GzipCache {
    inner: Mutex<GzipCacheInner>,
}

#[derive(Default)]
struct GzipCacheInner {
    map: HashMap<String, Bytes>,
    order: VecDeque<String>,
    bytes: usize,
}

impl GzipCache {
    fn get(&self, tag: &str) -> Option<Bytes> {
        let g = self.inner.lock().ok()?;
        g.map.get(tag).cloned()
    }

    fn put(&self, tag: &str, gz: &Bytes) {
        if gz.len() > GZIP_CACHE_ONE {
            return;
        }
        let Ok(mut g) = self.inner.lock() else {
            return;
        };
        if g.map.contains_key(tag) {
            return;
        }
        g.bytes += gz.len();
        g.map.insert(tag.to_string(), gz.clone());
        g.order.push_back(tag.to_string());
        while g.bytes > GZIP_CACHE_BYTES {
            let Some(old) = g.order.pop_front() else {
                break;
            };
            if let Some(b) = g.map.remove(&old) {
                g.bytes -= b.len();
            }
        }
    }
}

/// The response for `out` as `asked` wants it.
pub fn finish(asked: &Asked<'_>, out: Out, gzip_cache: &GzipCache) -> Response<Body> {
    let len = out.body.len() as u64;
    let compressible = is_text(&out.content_type) && out.body.len() >= GZIP_MIN;
    let gzip = compressible && accepts_gzip(asked.headers);
    let tag = out.etag.as_ref().map(|t| {
        if gzip {
            format!("\"{t}-gz\"")
        } else {
            format!("\"{t}\"")
        }
    });

    let mut b = Response::builder()
        .header(header::CACHE_CONTROL, out.cache)
        .header("x-content-type-options", "nosniff");
    if let Some(t) = &tag {
        b = b.header(header::ETAG, t);
    }
    if compressible {
        b = b.header(header::VARY, "Accept-Encoding");
    }
    if let Some(l) = &out.location {
        b = b.header(header::LOCATION, l);
    }

    // 304: the client holds this representation (or the other encoding of it).
    if out.status == StatusCode::OK {
        if let (Some(t), Some(inm)) = (&out.etag, asked.headers.get(header::IF_NONE_MATCH)) {
            if none_match_hits(inm, t) {
                return build(b.status(StatusCode::NOT_MODIFIED), Bytes::new());
            }
        }
    }

    b = b.header(header::CONTENT_TYPE, &out.content_type);
    let head = asked.method == Method::HEAD;

    // Ranges: of the identity encoding only.
    if out.status == StatusCode::OK && out.ranges {
        b = b.header(header::ACCEPT_RANGES, "bytes");
        if let Some(range) = asked.headers.get(header::RANGE) {
            let if_range_ok = match asked.headers.get(header::IF_RANGE) {
                None => true,
                Some(v) => out
                    .etag
                    .as_ref()
                    .is_some_and(|t| v.to_str().ok() == Some(&format!("\"{t}\""))),
            };
            if if_range_ok {
                match parse_range(range, len) {
                    RangeAsk::Whole => {}
                    RangeAsk::Unsatisfiable => {
                        let b = b
                            .status(StatusCode::RANGE_NOT_SATISFIABLE)
                            .header(header::CONTENT_RANGE, format!("bytes */{len}"));
                        return build(b, Bytes::new());
                    }
                    RangeAsk::Part(first, last) => {
                        let part = out.body.slice(first as usize..(last + 1) as usize);
                        let mut b = b
                            .status(StatusCode::PARTIAL_CONTENT)
                            .header(header::CONTENT_RANGE, format!("bytes {first}-{last}/{len}"))
                            .header(header::CONTENT_LENGTH, part.len());
                        // The ETag names the whole representation: the identity one.
                        if let Some(t) = &out.etag {
                            if let Some(h) = b.headers_mut() {
                                if let Ok(v) = HeaderValue::from_str(&format!("\"{t}\"")) {
                                    h.insert(header::ETAG, v);
                                }
                            }
                        }
                        return build(b, if head { Bytes::new() } else { part });
                    }
                }
            }
        }
    }

    let body = if gzip {
        let cached = out.etag.as_ref().and_then(|t| gzip_cache.get(t));
        match cached {
            Some(gz) => gz,
            None => {
                let gz = gzip_bytes(&out.body);
                if let Some(t) = &out.etag {
                    gzip_cache.put(t, &gz);
                }
                gz
            }
        }
    } else {
        out.body
    };
    if gzip {
        b = b.header(header::CONTENT_ENCODING, "gzip");
    }
    b = b
        .status(out.status)
        .header(header::CONTENT_LENGTH, body.len());
    build(b, if head { Bytes::new() } else { body })
}

fn build(b: hyper::http::response::Builder, body: Bytes) -> Response<Body> {
    b.body(Body::new(body)).unwrap_or_else(|_| {
        let mut r = Response::new(Body::new(Bytes::from_static(b"bad response\n")));
        *r.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        r
    })
}

/// Whether a content type is text that gzip shrinks.
fn is_text(ct: &str) -> bool {
    let ct = ct.trim_start().to_ascii_lowercase();
    ct.starts_with("text/")
        || ct.starts_with("application/json")
        || ct.starts_with("application/javascript")
        || ct.starts_with("application/xml")
        || ct.starts_with("image/svg+xml")
        || ct.contains("+json")
        || ct.contains("+xml")
}

/// Whether `Accept-Encoding` takes gzip: listed (or `*`) with a quality above 0.
fn accepts_gzip(h: &HeaderMap) -> bool {
    let mut star = false;
    for v in h.get_all(header::ACCEPT_ENCODING) {
        let Ok(v) = v.to_str() else { continue };
        for item in v.split(',') {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .filter_map(|q| q.trim().parse::<f32>().ok())
                .next()
                .unwrap_or(1.0);
            match coding.as_str() {
                "gzip" | "x-gzip" => return q > 0.0,
                "*" => star = q > 0.0,
                _ => {}
            }
        }
    }
    star
}

fn gzip_bytes(body: &[u8]) -> Bytes {
    let mut enc = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 3 + 64),
        flate2::Compression::new(6),
    );
    // Writing to a Vec cannot fail.
    let _ = enc.write_all(body);
    Bytes::from(enc.finish().unwrap_or_default())
}

/// Whether `If-None-Match` names `tag` (either encoding of it) or is `*` (weak comparison,
/// as RFC 9110 §13.1.2 says for this header).
fn none_match_hits(v: &HeaderValue, tag: &str) -> bool {
    let Ok(v) = v.to_str() else { return false };
    v.split(',').any(|t| {
        let t = t.trim();
        if t == "*" {
            return true;
        }
        let t = t.strip_prefix("W/").unwrap_or(t);
        let t = t.trim_matches('"');
        t == tag || t.strip_suffix("-gz") == Some(tag)
    })
}

/// What a Range header asks of a body of `len` bytes.
#[derive(Debug, PartialEq, Eq)]
enum RangeAsk {
    /// The whole body: no range we serve (several ranges, another unit, bad syntax).
    Whole,
    /// Bytes `first..=last`.
    Part(u64, u64),
    /// A range that lies past the end (416).
    Unsatisfiable,
}

/// One `bytes=` range (RFC 9110 §14.1.2); several ranges are answered with the whole body,
/// which the RFC allows.
fn parse_range(v: &HeaderValue, len: u64) -> RangeAsk {
    let Some(spec) = v
        .to_str()
        .ok()
        .and_then(|s| s.trim().strip_prefix("bytes="))
    else {
        return RangeAsk::Whole;
    };
    if spec.contains(',') {
        return RangeAsk::Whole;
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return RangeAsk::Whole;
    };
    let num = |s: &str| -> Option<u64> {
        (!s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    match (a.trim(), b.trim()) {
        ("", n) => match num(n) {
            Some(0) => RangeAsk::Unsatisfiable,
            Some(_) if len == 0 => RangeAsk::Unsatisfiable,
            Some(n) => RangeAsk::Part(len.saturating_sub(n), len - 1),
            None => RangeAsk::Whole,
        },
        (a, "") => match num(a) {
            Some(first) if first < len => RangeAsk::Part(first, len - 1),
            Some(_) => RangeAsk::Unsatisfiable,
            None => RangeAsk::Whole,
        },
        (a, b) => match (num(a), num(b)) {
            (Some(first), Some(last)) if first > last => RangeAsk::Whole,
            (Some(first), Some(_)) if first >= len => RangeAsk::Unsatisfiable,
            (Some(first), Some(last)) => RangeAsk::Part(first, last.min(len - 1)),
            _ => RangeAsk::Whole,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(s: &str, len: u64) -> RangeAsk {
        parse_range(&HeaderValue::from_str(s).expect("header"), len)
    }

    #[test]
    fn ranges_as_rfc_9110_says() {
        assert_eq!(range("bytes=0-9", 100), RangeAsk::Part(0, 9));
        assert_eq!(range("bytes=90-200", 100), RangeAsk::Part(90, 99));
        assert_eq!(range("bytes=10-", 100), RangeAsk::Part(10, 99));
        assert_eq!(range("bytes=-10", 100), RangeAsk::Part(90, 99));
        assert_eq!(range("bytes=-1000", 100), RangeAsk::Part(0, 99));
        assert_eq!(range("bytes=100-", 100), RangeAsk::Unsatisfiable);
        assert_eq!(range("bytes=100-200", 100), RangeAsk::Unsatisfiable);
        assert_eq!(range("bytes=-0", 100), RangeAsk::Unsatisfiable);
        assert_eq!(range("bytes=0-0", 0), RangeAsk::Unsatisfiable);
        assert_eq!(range("bytes=5-1", 100), RangeAsk::Whole);
        assert_eq!(range("bytes=0-1,5-6", 100), RangeAsk::Whole);
        assert_eq!(range("items=0-1", 100), RangeAsk::Whole);
        assert_eq!(range("bytes=x-1", 100), RangeAsk::Whole);
        assert_eq!(range("bytes=+1-2", 100), RangeAsk::Whole);
    }

    #[test]
    fn gzip_only_when_accepted() {
        let mut h = HeaderMap::new();
        assert!(!accepts_gzip(&h));
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("br, gzip"),
        );
        assert!(accepts_gzip(&h));
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("gzip;q=0"),
        );
        assert!(!accepts_gzip(&h));
        h.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("*;q=0.5"));
        assert!(accepts_gzip(&h));
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("identity"),
        );
        assert!(!accepts_gzip(&h));
    }

    #[test]
    fn if_none_match_compares_weakly_and_across_encodings() {
        let v = |s: &str| HeaderValue::from_str(s).expect("header");
        assert!(none_match_hits(&v("\"abc\""), "abc"));
        assert!(none_match_hits(&v("W/\"abc\""), "abc"));
        assert!(none_match_hits(&v("\"x\", \"abc-gz\""), "abc"));
        assert!(none_match_hits(&v("*"), "abc"));
        assert!(!none_match_hits(&v("\"abd\""), "abc"));
    }
}
