//! What every answer goes through on its way out: conditional requests (`If-None-Match` →
//! 304), byte ranges (206, 416), gzip for text when the client accepts it, HEAD, and the
//! headers (content type, length, ETag, Cache-Control, Vary, nosniff).

use std::collections::{HashMap, VecDeque};
use std::io::Write;
use std::sync::Mutex;

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::{Either, Full};
use hyper::body::Frame;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Response, StatusCode};

use super::library::Opened;
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
const GZIP_CACHE_BYTES: usize = 16 << 20;
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
    /// An entry too long to hold in memory: streamed, `body` is empty.
    pub stream: Option<Streamed>,
}

/// An entry sent as it is read, block by block, from a blocking task: its body is never
/// whole in memory. Not compressed (a long body is rarely text), ranges honoured.
pub struct Streamed {
    /// The archive it is in.
    pub opened: Arc<Opened>,
    /// The entry's number.
    pub index: u64,
    /// The body's length.
    pub len: u64,
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
            stream: None,
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
pub fn finish(asked: &Asked<'_>, mut out: Out, gzip_cache: &GzipCache) -> Response<Body> {
    let stream = out.stream.take();
    let len = stream.as_ref().map_or(out.body.len() as u64, |s| s.len);
    let compressible = stream.is_none() && is_text(&out.content_type) && out.body.len() >= GZIP_MIN;
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
                        let mut b = b
                            .status(StatusCode::PARTIAL_CONTENT)
                            .header(header::CONTENT_RANGE, format!("bytes {first}-{last}/{len}"))
                            .header(header::CONTENT_LENGTH, last - first + 1);
                        // The ETag names the whole representation: the identity one.
                        if let Some(t) = &out.etag {
                            if let Some(h) = b.headers_mut() {
                                if let Ok(v) = HeaderValue::from_str(&format!("\"{t}\"")) {
                                    h.insert(header::ETAG, v);
                                }
                            }
                        }
                        if head {
                            return build(b, Bytes::new());
                        }
                        return match stream {
                            Some(st) => build_body(b, streamed(st, first, last)),
                            None => build(b, out.body.slice(first as usize..(last + 1) as usize)),
                        };
                    }
                }
            }
        }
    }

    if let Some(st) = stream {
        let b = b.status(out.status).header(header::CONTENT_LENGTH, len);
        if head || len == 0 {
            return build(b, Bytes::new());
        }
        return build_body(b, streamed(st, 0, len - 1));
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

/// A body of bytes in memory.
pub fn full(body: Bytes) -> Body {
    Either::Left(Full::new(body))
}

fn build(b: hyper::http::response::Builder, body: Bytes) -> Response<Body> {
    build_body(b, full(body))
}

fn build_body(b: hyper::http::response::Builder, body: Body) -> Response<Body> {
    b.body(body).unwrap_or_else(|_| {
        let mut r = Response::new(full(Bytes::from_static(b"bad response\n")));
        *r.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        r
    })
}

/// Pieces of a streamed body in flight at once (each about [`PIECE`] bytes).
const PIECES_IN_FLIGHT: usize = 4;
/// Bytes a streamed body is sent in.
const PIECE: usize = 64 << 10;

/// A body fed by a blocking task through a channel.
pub struct ChanBody {
    rx: tokio::sync::mpsc::Receiver<std::io::Result<Bytes>>,
}

impl hyper::body::Body for ChanBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        self.rx
            .poll_recv(cx)
            .map(|piece| piece.map(|r| r.map(Frame::data)))
    }
}

/// Bytes `first..=last` of a streamed entry, read by a blocking task as the client takes
/// them (the channel holds [`PIECES_IN_FLIGHT`] pieces); the task ends when the client goes.
/// A block found damaged midway ends the body early, which cuts the connection: the client
/// sees a body shorter than its Content-Length.
fn streamed(st: Streamed, first: u64, last: u64) -> Body {
    let (tx, rx) = tokio::sync::mpsc::channel(PIECES_IN_FLIGHT);
    tokio::task::spawn_blocking(move || {
        let entry = match st.opened.archive.get_by_index(st.index) {
            Ok(e) => e,
            Err(e) => {
                let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
                return;
            }
        };
        let mut w = RangeSink {
            tx: &tx,
            at: 0,
            first,
            last,
            buf: Vec::with_capacity(PIECE),
        };
        match entry.write_body_to(&mut w) {
            Ok(()) => {
                let _ = w.send();
            }
            // The range is done, or the client went.
            Err(quire::ReadError::Output(_)) => {}
            Err(e) => {
                crate::cmd::say(format_args!(
                    "entry {}: {}; its answer is cut short",
                    st.index,
                    crate::cmd::chain(&e)
                ));
                let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
            }
        }
    });
    Either::Right(ChanBody { rx })
}

/// Keeps the bytes of a body that lie in `first..=last` and sends them in pieces; fails
/// once past `last` (to stop the read, after sending the rest) or when the client is gone.
struct RangeSink<'t> {
    tx: &'t tokio::sync::mpsc::Sender<std::io::Result<Bytes>>,
    at: u64,
    first: u64,
    last: u64,
    buf: Vec<u8>,
}

impl RangeSink<'_> {
    fn send(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let piece = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(PIECE)));
        self.tx
            .blocking_send(Ok(piece))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "client gone"))
    }
}

impl Write for RangeSink<'_> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let start = self.at;
        let end = start + data.len() as u64; // exclusive
        self.at = end;
        let from = self.first.max(start);
        let to = (self.last + 1).min(end);
        if from < to {
            let piece = data
                .get((from - start) as usize..(to - start) as usize)
                .unwrap_or_default();
            self.buf.extend_from_slice(piece);
            if self.buf.len() >= PIECE {
                self.send()?;
            }
        }
        if self.at > self.last {
            self.send()?;
            return Err(std::io::Error::other("range done"));
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
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
