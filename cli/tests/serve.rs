//! `quire serve` over HTTP: the built binary serves a small generated website (two folders,
//! CSS, an image, a script, links between pages, a non-ASCII page) on 127.0.0.1:0, and a
//! plain HTTP/1.1 client on a TCP socket checks each behaviour: pages, entries and their
//! content types, the JSON API against the CLI's --json, ETag and 304, Range (206, 416),
//! HEAD, gzip, path traversal, an oversize header, a slow client, a connection limit, a
//! damaged entry (500, the others still served) and a graceful shutdown.

use crate::cli_common as common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use common::*;

// ------------------------------------------------------------------------------- the site

/// A tiny PNG (8×8, red): enough for a browser to decode it.
fn png() -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut c = kind.to_vec();
        c.extend_from_slice(data);
        out.extend_from_slice(&c);
        out.extend_from_slice(&crc32(&c).to_be_bytes());
    }
    fn crc32(b: &[u8]) -> u32 {
        let mut c = !0u32;
        for &x in b {
            c ^= u32::from(x);
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
        }
        !c
    }
    let mut raw = Vec::new();
    for _ in 0..8 {
        raw.extend_from_slice(&[0u8]);
        raw.extend_from_slice(&[200, 40, 40].repeat(8));
    }
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(&raw).unwrap();
    let idat = z.finish().unwrap();
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&8u32.to_be_bytes());
    ihdr.extend_from_slice(&8u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &idat);
    chunk(&mut out, b"IEND", b"");
    out
}

/// Writes the test website under `dir`: `index.html`, `style.css`, `app.js`, `logo.png`,
/// `guide/` (a start page and 23 notes that share a word, for paged results) and `blog/`
/// (an index and a page with non-ASCII text and name).
fn write_site(dir: &Path) {
    let w = |p: &str, body: &[u8]| {
        let p = dir.join(p);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, body).unwrap();
    };
    let page = |title: &str, css: &str, body: &str| {
        format!(
            "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title>\
             <link rel=\"stylesheet\" href=\"{css}\"></head>\n<body>{body}</body></html>\n"
        )
    };
    w(
        "index.html",
        page(
            "Welcome to the garden",
            "style.css",
            "<h1>Welcome to the garden</h1><p>A small site about growing tomatoes and \
             drinking coffee. Read <a href=\"guide/start.html\">the guide</a> or \
             <a href=\"blog/\">the blog</a>.</p><p><img src=\"logo.png\" alt=\"logo\" \
             width=\"64\" height=\"64\"></p><p id=\"js\">script not run</p>\
             <script src=\"app.js\"></script>",
        )
        .as_bytes(),
    );
    // Long enough to be worth compressing.
    let mut css = String::from(
        "body { font-family: Georgia, serif; max-width: 40rem; margin: 2rem auto; }\n",
    );
    for i in 0..40 {
        css.push_str(&format!(
            ".c{i} {{ color: #{:06x}; margin: {i}px; }}\n",
            i * 4111
        ));
    }
    w("style.css", css.as_bytes());
    w(
        "app.js",
        b"document.getElementById('js').textContent = 'script ran';\n",
    );
    w("logo.png", &png());
    let mut notes = String::new();
    for i in 1..=23 {
        notes.push_str(&format!(
            "<li><a href=\"note-{i:02}.html\">Note {i}</a></li>"
        ));
        w(
            &format!("guide/note-{i:02}.html"),
            page(
                &format!("Garden note {i}"),
                "../style.css",
                &format!(
                    "<h1>Garden note {i}</h1><p>Compost and watering, note number {i}: \
                     the garden likes rain.</p><p><a href=\"start.html\">Back to the guide</a></p>"
                ),
            )
            .as_bytes(),
        );
    }
    w(
        "guide/start.html",
        page(
            "Getting started with tomatoes",
            "../style.css",
            &format!(
                "<h1>Getting started with tomatoes</h1><p>Tomatoes need sunshine, patience \
                 and a garden.</p><img src=\"../logo.png\" alt=\"logo\"><ul>{notes}</ul>\
                 <p><a href=\"../index.html\">Home</a> · <a href=\"../blog/caf%C3%A9.html\">Café</a></p>"
            ),
        )
        .as_bytes(),
    );
    w(
        "blog/index.html",
        page(
            "The blog",
            "../style.css",
            "<h1>The blog</h1><p><a href=\"café.html\">Café in Zürich</a> · \
             <a href=\"../guide/start.html\">The guide</a></p>",
        )
        .as_bytes(),
    );
    w(
        "blog/café.html",
        page(
            "Café in Zürich",
            "../style.css",
            "<h1>Café in Zürich</h1><p>Grüße aus Zürich: der Kaffee ist gut. \
             東京の喫茶店も。Ελληνικός καφές.</p><p><a href=\"./\">Blog</a></p>",
        )
        .as_bytes(),
    );
}

/// The site packed with both indexes (and, with `extra`, other flags).
fn packed_site(dir: &Path, name: &str, extra: &[&str]) -> PathBuf {
    let site = dir.join(format!("{name}-src"));
    write_site(&site);
    let arc = dir.join(format!("{name}.quire"));
    let mut args = vec![
        "pack",
        s(&site),
        "-o",
        s(&arc),
        "-q",
        "--index",
        "full",
        "--language",
        "eng",
        "--title",
        "Garden site",
        "--description",
        "A small website for the server's tests",
    ];
    args.extend_from_slice(extra);
    ok(&run(&args));
    arc
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

// ----------------------------------------------------------------------------- the server

/// A `quire serve` process on 127.0.0.1 and a free port; killed when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
    log: Arc<Mutex<String>>,
}

impl Server {
    fn start(archives: &[&Path], extra: &[&str]) -> Server {
        let mut cmd = quire();
        cmd.arg("serve");
        for a in archives {
            cmd.arg(a);
        }
        cmd.args(["--addr", "127.0.0.1:0"])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap());
        let mut first = String::new();
        lines.read_line(&mut first).unwrap();
        let addr: SocketAddr = first
            .split("http://")
            .nth(1)
            .and_then(|r| r.trim().trim_end_matches('/').parse().ok())
            .unwrap_or_else(|| panic!("no address in {first:?}"));
        let log = Arc::new(Mutex::new(first));
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            let mut line = String::new();
            while lines.read_line(&mut line).map(|n| n > 0).unwrap_or(false) {
                sink.lock().unwrap().push_str(&line);
                line.clear();
            }
        });
        Server { child, addr, log }
    }

    fn get(&self, path: &str) -> Resp {
        self.req("GET", path, &[])
    }

    fn req(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> Resp {
        request(self.addr, method, path, headers)
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP answer.
#[derive(Debug)]
struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.text()))
    }
}

/// One request on a new connection (`Connection: close`), read to the end.
fn request(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)]) -> Resp {
    let mut c = TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (n, v) in headers {
        req.push_str(&format!("{n}: {v}\r\n"));
    }
    req.push_str("\r\n");
    c.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    c.read_to_end(&mut raw).unwrap();
    parse(&raw, method == "HEAD")
}

fn parse(raw: &[u8], head: bool) -> Resp {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no head in {:?}", String::from_utf8_lossy(raw)));
    let head_text = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head_text.split("\r\n");
    let status: u16 = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let r = Resp {
        status,
        headers,
        body: Vec::new(),
    };
    if let Some(n) = r
        .header("content-length")
        .and_then(|v| v.parse::<usize>().ok())
    {
        if !head {
            assert_eq!(body.len(), n, "body length against Content-Length");
        }
        body.truncate(n);
    }
    Resp { body, ..r }
}

fn gunzip(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(b)
        .read_to_end(&mut out)
        .unwrap();
    out
}

/// The `href` and `src` values of an HTML page.
fn links(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for attr in ["href=\"", "src=\""] {
        let mut rest = html;
        while let Some(i) = rest.find(attr) {
            rest = &rest[i + attr.len()..];
            if let Some(end) = rest.find('"') {
                out.push(rest[..end].replace("&amp;", "&"));
                rest = &rest[end..];
            }
        }
    }
    out
}

/// `link` resolved against the page at `base` (a path), as a browser does.
fn resolve(base: &str, link: &str) -> Option<String> {
    if link.contains("://") || link.starts_with('#') || link.starts_with("mailto:") {
        return None;
    }
    let (path, _) = link
        .split_once(['?', '#'])
        .map_or((link, ""), |(p, q)| (p, q));
    let mut segs: Vec<&str> = if path.starts_with('/') {
        vec![]
    } else {
        let dir = &base[..base.rfind('/').unwrap() + 1];
        dir.split('/').filter(|s| !s.is_empty()).collect()
    };
    let parts: Vec<&str> = path.split('/').collect();
    for p in &parts {
        match *p {
            "" | "." => {}
            ".." => {
                segs.pop();
            }
            p => segs.push(p),
        }
    }
    let mut out = format!("/{}", segs.join("/"));
    let dir_link = path.ends_with('/') || path.ends_with("/.") || path == ".";
    if dir_link && !out.ends_with('/') {
        out.push('/');
    }
    if link.contains('?') {
        out.push_str(&link[link.find('?').unwrap()..]);
    }
    Some(out)
}

// ---------------------------------------------------------------------------------- tests

#[test]
fn pages_entries_and_every_link_of_the_site() {
    let dir = tempfile::tempdir().unwrap();
    let arc = packed_site(dir.path(), "garden", &[]);
    let srv = Server::start(&[&arc], &[]);

    let lib = srv.get("/");
    assert_eq!(lib.status, 200);
    assert_eq!(lib.header("content-type"), Some("text/html; charset=utf-8"));
    let t = lib.text();
    assert!(
        t.contains("Garden site") && t.contains("A small website for the server"),
        "{t}"
    );
    assert!(t.contains("30 entries"), "{t}");
    assert!(t.contains("href=\"/-/random/garden\""), "{t}");
    assert!(t.contains("data-archive=\"garden\""), "{t}");

    // A directory packed with an index.html opens at it (pack's default `main`).
    let home = srv.get("/garden/");
    assert_eq!(home.status, 302);
    assert_eq!(home.header("location"), Some("/garden/index.html"));
    assert_eq!(srv.get("/garden").header("location"), Some("/garden/"));

    // Stored content types.
    for (path, ct) in [
        ("/garden/index.html", "text/html; charset=utf-8"),
        ("/garden/style.css", "text/css"),
        ("/garden/app.js", "text/javascript"),
        ("/garden/logo.png", "image/png"),
    ] {
        let r = srv.get(path);
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.header("content-type"), Some(ct), "{path}");
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    }
    assert_eq!(srv.get("/garden/logo.png").body, png());

    // `foo/` is `foo/index.html`; `foo` without its slash is sent to it.
    let blog = srv.get("/garden/blog/");
    assert_eq!(blog.status, 200);
    assert!(blog.text().contains("<h1>The blog</h1>"));
    let r = srv.get("/garden/blog");
    assert_eq!(
        (r.status, r.header("location")),
        (301, Some("/garden/blog/"))
    );

    // The non-ASCII page, by its percent-encoded name.
    let cafe = srv.get("/garden/blog/caf%C3%A9.html");
    assert_eq!(cafe.status, 200);
    assert!(cafe.text().contains("Grüße aus Zürich") && cafe.text().contains("東京の喫茶店"));

    // Every link of every page resolves (as a browser resolves it) to something served.
    let mut todo = vec!["/garden/index.html".to_string()];
    let mut seen = std::collections::BTreeSet::new();
    while let Some(p) = todo.pop() {
        if !seen.insert(p.clone()) {
            continue;
        }
        let mut r = srv.get(&p);
        let mut hops = 0;
        while (r.status == 301 || r.status == 302) && hops < 3 {
            r = srv.get(r.header("location").unwrap());
            hops += 1;
        }
        assert_eq!(r.status, 200, "{p}");
        if r.header("content-type")
            .is_some_and(|c| c.starts_with("text/html"))
        {
            for l in links(&r.text()) {
                if let Some(u) = resolve(&p, &l) {
                    todo.push(u);
                }
            }
        }
    }
    // The site's 28 files plus the server's CSS, script, icon and pages.
    assert!(
        seen.iter().filter(|p| p.starts_with("/garden/")).count() >= 28,
        "{seen:?}"
    );

    // The listing, paged from the index.
    let list = srv.get("/-/list/garden");
    assert_eq!(list.status, 200);
    assert!(list.text().contains("page 1 of 1"), "{}", list.text());
    assert!(list.text().contains("/garden/blog/caf%C3%A9.html"));

    // Random articles are HTML entries, never cached.
    for _ in 0..5 {
        let r = srv.get("/-/random/garden");
        assert_eq!(r.status, 302);
        assert_eq!(r.header("cache-control"), Some("no-store"));
        let to = r.header("location").unwrap();
        assert!(to.starts_with("/garden/") && to.ends_with(".html"), "{to}");
        assert_eq!(srv.get(to).status, 200);
    }

    // Unknown archives and entries: 404 pages.
    assert_eq!(srv.get("/nope/x").status, 404);
    let r = srv.get("/garden/nope.html");
    assert_eq!(r.status, 404);
    assert!(r.text().contains("Not found"));
    // Other methods: 405 with Allow.
    let r = srv.req("POST", "/garden/index.html", &[("Content-Length", "0")]);
    assert_eq!((r.status, r.header("allow")), (405, Some("GET, HEAD")));
    // The server's own files.
    let js = srv.get("/-/static/quire.js");
    assert_eq!(js.status, 200);
    assert!(js.text().contains("/suggest?"));
    assert_eq!(srv.get("/-/static/quire.css").status, 200);
    assert_eq!(srv.get("/favicon.ico").status, 200);
}

#[test]
fn search_pages_with_snippets_ten_a_page() {
    let dir = tempfile::tempdir().unwrap();
    let arc = packed_site(dir.path(), "garden", &[]);
    let srv = Server::start(&[&arc], &[]);

    let r = srv.get("/-/search/garden?q=tomatoes");
    assert_eq!(r.status, 200);
    let t = r.text();
    assert!(
        t.contains("<b>tomatoes</b>") || t.contains("<b>Tomatoes</b>"),
        "{t}"
    );
    assert!(t.contains("href=\"/garden/guide/start.html\""), "{t}");

    // "garden" is in the 23 notes, the start page and the home page: 25 results, 3 pages.
    let count = |t: &str| t.matches("<li><a class=\"title\"").count();
    let p0 = srv.get("/-/search/garden?q=garden").text();
    assert_eq!(count(&p0), 10, "{p0}");
    assert!(p0.contains("page=1\">Next"), "{p0}");
    let p2 = srv.get("/-/search/garden?q=garden&page=2").text();
    assert_eq!(count(&p2), 5, "{p2}");
    assert!(!p2.contains("Next →"));
    assert!(p2.contains("page=1\">← Previous"));

    let none = srv.get("/-/search/garden?q=zzzzqqq").text();
    assert!(none.contains("No entry holds every word"), "{none}");
    // Non-ASCII queries, folded and stemmed as packed.
    let z = srv.get("/-/search/garden?q=z%C3%BCrich").text();
    assert!(z.contains("/garden/blog/caf%C3%A9.html"), "{z}");
}

#[test]
fn json_api_gives_the_facts_of_the_cli_json() {
    let dir = tempfile::tempdir().unwrap();
    let arc = packed_site(dir.path(), "garden", &[]);
    let srv = Server::start(&[&arc], &[]);

    let r = srv.get("/-/api/garden/metadata");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let info: Value = serde_json::from_str(&ok(&run(&["info", s(&arc), "--json"]))).unwrap();
    assert_eq!(r.json(), info);
    assert_eq!(info["metadata"]["main"], "index.html");

    let lib = srv.get("/-/api/library").json();
    assert_eq!(lib["archives"][0]["name"], "garden");
    assert_eq!(lib["archives"][0]["home"], "/garden/");
    assert_eq!(lib["archives"][0]["info"], info);

    for q in ["garden", "tomatoes sunshine", "zürich"] {
        let api = srv
            .get(&format!("/-/api/garden/search?limit=30&q={}", enc(q)))
            .json();
        let cli = ok(&run(&["search", s(&arc), q, "--json", "-n", "30"]));
        let cli: Vec<Value> = cli
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let api: Vec<Value> = api["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| {
                let mut h = h.clone();
                let url = h.as_object_mut().unwrap().remove("url").unwrap();
                assert_eq!(
                    url.as_str().unwrap(),
                    format!("/garden/{}", enc_path(h["key"].as_str().unwrap()))
                );
                h
            })
            .collect();
        assert!(!cli.is_empty(), "{q}");
        assert_eq!(api, cli, "{q}");
    }
    for q in ["gar", "caf", "no"] {
        let api = srv
            .get(&format!("/-/api/garden/suggest?limit=10&q={}", enc(q)))
            .json();
        let cli = ok(&run(&["suggest", s(&arc), q, "--json", "-n", "10"]));
        let cli: Vec<Value> = cli
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let api: Vec<Value> = api["suggestions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| {
                let mut h = h.clone();
                h.as_object_mut().unwrap().remove("url");
                h
            })
            .collect();
        assert_eq!(api, cli, "{q}");
    }
    let paged = srv
        .get("/-/api/garden/search?q=garden&limit=10&offset=20")
        .json();
    assert_eq!(paged["results"].as_array().unwrap().len(), 5);
    assert_eq!(srv.get("/-/api/garden/search?q=").status, 400);
    assert_eq!(srv.get("/-/api/nope/search?q=x").status, 404);

    // Without a full-text index: the API says so, the results page lists title matches.
    let small = dir.path().join("titles.quire");
    ok(&run(&[
        "pack",
        s(&dir.path().join("garden-src")),
        "-o",
        s(&small),
        "-q",
    ]));
    let srv2 = Server::start(&[&small], &[]);
    let r = srv2.get("/-/api/titles/search?q=garden");
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["error"], "no_search_index");
    let page = srv2.get("/-/search/titles?q=note").text();
    assert!(page.contains("no full-text index"), "{page}");
}

fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn enc_path(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[test]
fn etag_304_range_206_416_and_head() {
    let dir = tempfile::tempdir().unwrap();
    let arc = packed_site(dir.path(), "garden", &[]);
    let srv = Server::start(&[&arc], &[]);

    let full = srv.get("/garden/style.css");
    let tag = full.header("etag").unwrap().to_string();
    assert!(
        tag.starts_with('"') && !tag.starts_with("W/"),
        "a strong ETag: {tag}"
    );
    assert_eq!(full.header("cache-control"), Some("public, max-age=86400"));
    assert_eq!(full.header("accept-ranges"), Some("bytes"));

    // 304 for the tag held (and for either encoding's tag).
    let r = srv.req("GET", "/garden/style.css", &[("If-None-Match", &tag)]);
    assert_eq!(r.status, 304);
    assert!(r.body.is_empty());
    assert_eq!(r.header("etag"), Some(tag.as_str()));
    let r = srv.req(
        "GET",
        "/garden/style.css",
        &[("If-None-Match", "\"other\"")],
    );
    assert_eq!(r.status, 200);
    // Each entry has its own tag; the same archive served again gives the same tags.
    assert_ne!(srv.get("/garden/app.js").header("etag"), Some(tag.as_str()));
    let again = Server::start(&[&arc], &[]);
    assert_eq!(
        again.get("/garden/style.css").header("etag"),
        Some(tag.as_str())
    );
    // Another archive (one byte of one file differs) has another identity.
    let other = dir.path().join("other-src");
    std::fs::create_dir_all(&other).unwrap();
    write_site(&other);
    std::fs::write(other.join("app.js"), b"// changed\n").unwrap();
    let other_arc = dir.path().join("garden2.quire");
    ok(&run(&[
        "pack",
        s(&other),
        "-o",
        s(&other_arc),
        "-q",
        "--index",
        "full",
    ]));
    let srv2 = Server::start(&[&other_arc], &[]);
    let tag2 = srv2
        .get("/garden2/style.css")
        .header("etag")
        .unwrap()
        .to_string();
    assert_ne!(tag2, tag);

    // Ranges.
    let len = full.body.len();
    let r = srv.req("GET", "/garden/style.css", &[("Range", "bytes=0-9")]);
    assert_eq!(r.status, 206);
    assert_eq!(r.body, full.body[..10]);
    assert_eq!(
        r.header("content-range"),
        Some(format!("bytes 0-9/{len}").as_str())
    );
    let r = srv.req("GET", "/garden/style.css", &[("Range", "bytes=-5")]);
    assert_eq!((r.status, &r.body[..]), (206, &full.body[len - 5..]));
    let r = srv.req("GET", "/garden/style.css", &[("Range", "bytes=10-")]);
    assert_eq!((r.status, &r.body[..]), (206, &full.body[10..]));
    let r = srv.req(
        "GET",
        "/garden/style.css",
        &[("Range", &format!("bytes={len}-"))],
    );
    assert_eq!(r.status, 416);
    assert_eq!(
        r.header("content-range"),
        Some(format!("bytes */{len}").as_str())
    );
    // A range with gzip accepted is still the identity bytes.
    let r = srv.req(
        "GET",
        "/garden/style.css",
        &[("Range", "bytes=0-9"), ("Accept-Encoding", "gzip")],
    );
    assert_eq!((r.status, r.header("content-encoding")), (206, None));
    // If-Range with another tag: the whole body.
    let r = srv.req(
        "GET",
        "/garden/style.css",
        &[("Range", "bytes=0-9"), ("If-Range", "\"old\"")],
    );
    assert_eq!((r.status, r.body.len()), (200, len));
    let r = srv.req("GET", "/garden/logo.png", &[("Range", "bytes=0-7")]);
    assert_eq!((r.status, &r.body[..]), (206, &b"\x89PNG\r\n\x1a\n"[..]));

    // HEAD: GET's headers, no body.
    for path in [
        "/garden/style.css",
        "/garden/logo.png",
        "/",
        "/-/api/library",
    ] {
        let g = srv.get(path);
        let h = srv.req("HEAD", path, &[]);
        assert_eq!(h.status, 200, "{path}");
        assert!(h.body.is_empty(), "{path}");
        for name in ["content-type", "content-length", "etag", "cache-control"] {
            assert_eq!(h.header(name), g.header(name), "{path}: {name}");
        }
    }
}

#[test]
fn gzip_for_text_when_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let arc = packed_site(dir.path(), "garden", &[]);
    let srv = Server::start(&[&arc], &[]);
    for path in [
        "/garden/style.css",
        "/garden/guide/start.html",
        "/",
        "/-/api/garden/metadata",
    ] {
        let plain = srv.get(path);
        assert_eq!(plain.header("content-encoding"), None, "{path}");
        assert_eq!(plain.header("vary"), Some("Accept-Encoding"), "{path}");
        let gz = srv.req("GET", path, &[("Accept-Encoding", "gzip, deflate, br")]);
        assert_eq!(gz.status, 200);
        assert_eq!(gz.header("content-encoding"), Some("gzip"), "{path}");
        assert!(gz.body.len() < plain.body.len(), "{path}");
        assert_eq!(gunzip(&gz.body), plain.body, "{path}");
        if let Some(t) = plain.header("etag") {
            // Another representation, another strong tag; either gets a 304.
            let gt = gz.header("etag").unwrap();
            assert_ne!(gt, t);
            let r = srv.req(
                "GET",
                path,
                &[("Accept-Encoding", "gzip"), ("If-None-Match", gt)],
            );
            assert_eq!(r.status, 304, "{path}");
        }
        let refused = srv.req("GET", path, &[("Accept-Encoding", "gzip;q=0")]);
        assert_eq!(refused.header("content-encoding"), None);
    }
    // Images are not compressed.
    let png = srv.req("GET", "/garden/logo.png", &[("Accept-Encoding", "gzip")]);
    assert_eq!(png.header("content-encoding"), None);
}

#[test]
fn no_path_leaves_the_archives() {
    let dir = tempfile::tempdir().unwrap();
    let arc = packed_site(dir.path(), "garden", &[]);
    std::fs::write(dir.path().join("secret.txt"), b"top secret").unwrap();
    let srv = Server::start(&[&arc], &[]);
    for path in [
        "/garden/../secret.txt",
        "/garden/../../../../etc/passwd",
        "/garden/%2e%2e/secret.txt",
        "/garden/..%2f..%2f..%2fetc%2fpasswd",
        "/../etc/passwd",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/garden//etc/passwd",
        "/garden/%00",
        "/-/static/../../etc/passwd",
        "/-/api/../../etc/passwd",
    ] {
        let r = srv.get(path);
        assert!(r.status == 404 || r.status == 400, "{path}: {}", r.status);
        let t = r.text();
        assert!(!t.contains("root:") && !t.contains("top secret"), "{path}");
    }
    // A key that is not UTF-8 once decoded.
    assert_eq!(srv.get("/garden/%FF").status, 400);
}

#[test]
fn limits_oversize_header_slow_client_and_connections() {
    let dir = tempfile::tempdir().unwrap();
    let arc = packed_site(dir.path(), "garden", &[]);
    let srv = Server::start(
        &[&arc],
        &["--header-timeout", "1", "--max-connections", "3"],
    );

    // A 32 KiB header: 431, and the server goes on.
    let big = "x".repeat(32 << 10);
    let mut c = TcpStream::connect(srv.addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let _ = c.write_all(format!("GET / HTTP/1.1\r\nHost: x\r\nX-Big: {big}\r\n\r\n").as_bytes());
    let mut raw = Vec::new();
    let _ = c.read_to_end(&mut raw);
    let head = String::from_utf8_lossy(&raw);
    assert!(head.starts_with("HTTP/1.1 431"), "{head}");
    drop(c);
    assert_eq!(srv.get("/").status, 200);

    // A client that sends its headers a byte at a time is cut off after the header timeout.
    let mut slow = TcpStream::connect(srv.addr).unwrap();
    slow.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let start = Instant::now();
    let mut cut = false;
    for b in b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: "
        .iter()
        .chain(b"y".repeat(400).iter())
    {
        if slow.write_all(&[*b]).is_err() {
            cut = true;
            break;
        }
        let mut buf = [0u8; 512];
        match slow.read(&mut buf) {
            Ok(0) => {
                cut = true;
                break;
            }
            Ok(_) => {
                // 408 before closing.
                cut = true;
                break;
            }
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => {
                cut = true;
                break;
            }
        }
        if start.elapsed() > Duration::from_secs(6) {
            break;
        }
    }
    assert!(cut, "the slow client was not cut off");
    assert!(
        start.elapsed() < Duration::from_secs(4),
        "{:?}",
        start.elapsed()
    );
    // An idle connection that sends nothing is closed too.
    let mut idle = TcpStream::connect(srv.addr).unwrap();
    idle.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let start = Instant::now();
    let mut buf = [0u8; 64];
    let n = idle.read(&mut buf).unwrap_or(0);
    let _ = n;
    assert!(
        start.elapsed() < Duration::from_secs(4),
        "idle connection kept {:?}",
        start.elapsed()
    );

    // At most 3 connections: a fourth is closed at once; when one goes, a new one is served.
    let held: Vec<TcpStream> = (0..3)
        .map(|_| {
            let mut c = TcpStream::connect(srv.addr).unwrap();
            c.write_all(b"GET /garden/app.js HTTP/1.1\r\nHost: x\r\n\r\n")
                .unwrap();
            let mut buf = [0u8; 1024];
            c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            assert!(c.read(&mut buf).unwrap() > 0);
            c
        })
        .collect();
    let mut fourth = TcpStream::connect(srv.addr).unwrap();
    fourth
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let _ = fourth.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    let mut buf = [0u8; 64];
    assert!(
        matches!(fourth.read(&mut buf), Ok(0) | Err(_)),
        "a fourth connection was served"
    );
    drop(held);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(srv.get("/").status, 200);
}

#[test]
fn a_damaged_entry_is_a_500_and_the_others_are_served() {
    let dir = tempfile::tempdir().unwrap();
    // Small blocks, no dictionary: damage in one block spares the others.
    let arc = packed_site(dir.path(), "garden", &["--block-size", "512", "--no-dict"]);
    let info: Value = serde_json::from_str(&ok(&run(&["info", s(&arc), "--json"]))).unwrap();
    let data = info["sections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "DATA")
        .unwrap()
        .clone();
    let (off, len) = (
        data["offset"].as_u64().unwrap(),
        data["length"].as_u64().unwrap(),
    );
    let mut bytes = std::fs::read(&arc).unwrap();
    let at = (off + len / 2) as usize;
    bytes[at] ^= 0x55;
    std::fs::write(&arc, &bytes).unwrap();

    let keys: Vec<String> = ok(&run(&["ls", s(&arc)]))
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(keys.len(), 30);
    let srv = Server::start(&[&arc], &[]);
    let (mut good, mut bad) = (0, 0);
    for k in &keys {
        let r = srv.get(&format!("/garden/{}", enc_path(k)));
        let cli = run(&["get", s(&arc), k]);
        if r.status == 500 {
            bad += 1;
            assert_eq!(cli.status.code(), Some(1), "{k}: the CLI reads it");
            let t = r.text();
            assert!(t.contains("This entry is damaged"), "{t}");
            assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
            assert_eq!(r.header("cache-control"), Some("no-store"));
        } else {
            assert_eq!(r.status, 200, "{k}");
            assert_eq!(r.body, cli.stdout, "{k}");
            good += 1;
        }
    }
    assert!(bad >= 1 && good >= 20, "{bad} damaged, {good} served");
    // The library page and the listing still work, and the log names the damage.
    assert_eq!(srv.get("/").status, 200);
    assert_eq!(srv.get("/-/list/garden").status, 200);
    assert!(srv.log().contains("damaged"), "{}", srv.log());
}

#[test]
fn shuts_down_gracefully_on_sigterm_and_sigint() {
    let dir = tempfile::tempdir().unwrap();
    let arc = packed_site(dir.path(), "garden", &[]);
    for (signal, word) in [("-TERM", "terminated"), ("-INT", "interrupted")] {
        let mut srv = Server::start(&[&arc], &[]);
        assert_eq!(srv.get("/").status, 200);
        // A keep-alive connection that is idle: closed by the shutdown, not waited for.
        let mut idle = TcpStream::connect(srv.addr).unwrap();
        idle.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let start = Instant::now();
        let st = std::process::Command::new("kill")
            .args([signal, &srv.child.id().to_string()])
            .status()
            .unwrap();
        assert!(st.success());
        let code = loop {
            if let Some(st) = srv.child.try_wait().unwrap() {
                break st.code();
            }
            assert!(start.elapsed() < Duration::from_secs(5), "still running");
            std::thread::sleep(Duration::from_millis(20));
        };
        assert_eq!(code, Some(0));
        std::thread::sleep(Duration::from_millis(50));
        assert!(srv.log().contains(word), "{}", srv.log());
        assert!(TcpStream::connect(srv.addr).is_err(), "still listening");
    }
}

#[test]
fn serves_several_archives_a_directory_of_them_and_listens_on_localhost_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let lib = dir.path().join("lib");
    std::fs::create_dir_all(&lib).unwrap();
    let a = packed_site(&lib, "one", &[]);
    // An archive without index.html or `main`: its home is a listing.
    let two = lib.join("two.quire");
    ok(&run_stdin(
        &["pack", "-", "-o", s(&two), "-q", "--title", "Two"],
        b"{\"key\": \"b\", \"title\": \"Bee\", \"body\": \"buzz\"}\n{\"key\": \"a\", \"title\": \"Ant\", \"body\": \"walk\"}\n{\"key\": \"c\", \"title\": \"aardvark\", \"body\": \"dig\"}\n",
    ));
    let srv = Server::start(&[&lib, &a], &[]);
    let l = srv.get("/-/api/library").json();
    let names: Vec<&str> = l["archives"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["one", "two", "one-2"]);
    let home = srv.get("/two/");
    assert_eq!(home.status, 200);
    let t = home.text();
    assert!(
        t.contains("href=\"/two/a\">Ant</a>") && t.contains("href=\"/two/b\">Bee</a>"),
        "{t}"
    );
    // By title (folded: "aardvark" first), from the title index, not by key.
    let at = |k: &str| t.find(&format!("href=\"/two/{k}\"")).unwrap();
    assert!(at("c") < at("a") && at("a") < at("b"), "{t}");
    assert!(t.contains("3 entries, by title"), "{t}");
    assert_eq!(srv.get("/two/a").text(), "walk");
    // `pack --main KEY` makes the home a redirect to it.
    let three = lib.join("three.quire");
    ok(&run_stdin(
        &["pack", "-", "-o", s(&three), "-q", "--main", "b"],
        b"{\"key\": \"b\", \"body\": \"buzz\"}\n",
    ));
    let srv3 = Server::start(&[&three], &[]);
    assert_eq!(srv3.get("/three/").header("location"), Some("/three/b"));
    // The default address.
    let help = ok(&run(&["serve", "--help"]));
    assert!(help.contains("[default: 127.0.0.1:8080]"), "{help}");
    // A missing archive: exit 4 before listening.
    let o = run(&[
        "serve",
        s(&dir.path().join("nope.quire")),
        "--addr",
        "127.0.0.1:0",
    ]);
    assert_eq!(o.status.code(), Some(4));
}

// ------------------------------------------------------------------- an archive at a URL

/// A file served over HTTP/1.1 as a static file server serves it: `Range` (206), a strong
/// ETag of its bytes, `If-Match` (412 when the file changed), keep-alive; it counts requests.
struct FileServer {
    addr: SocketAddr,
    requests: Arc<std::sync::atomic::AtomicUsize>,
}

impl FileServer {
    fn start(path: PathBuf) -> FileServer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = Arc::clone(&requests);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (path, counter) = (path.clone(), Arc::clone(&counter));
                std::thread::spawn(move || {
                    let _ = serve_file(stream, &path, &counter);
                });
            }
        });
        FileServer { addr, requests }
    }

    fn count(&self) -> usize {
        self.requests.load(std::sync::atomic::Ordering::SeqCst)
    }
}

fn serve_file(
    stream: TcpStream,
    path: &Path,
    counter: &std::sync::atomic::AtomicUsize,
) -> std::io::Result<()> {
    use std::hash::{Hash, Hasher};
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut out = stream;
    loop {
        let mut head = Vec::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line)? == 0 {
                return Ok(());
            }
            if line == "\r\n" {
                break;
            }
            head.push(line.trim_end().to_string());
        }
        counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let header = |name: &str| {
            head.iter().skip(1).find_map(|l| {
                let (n, v) = l.split_once(':')?;
                n.trim()
                    .eq_ignore_ascii_case(name)
                    .then(|| v.trim().to_string())
            })
        };
        let bytes = std::fs::read(path)?;
        let mut h = std::collections::hash_map::DefaultHasher::new();
        bytes.hash(&mut h);
        let etag = format!("\"{:016x}\"", h.finish());
        let lm = "Wed, 02 Dec 2026 10:00:00 GMT";
        let head_only = head[0].starts_with("HEAD ");
        if header("if-match").is_some_and(|m| m != etag) {
            out.write_all(b"HTTP/1.1 412 Precondition Failed\r\nContent-Length: 0\r\n\r\n")?;
            continue;
        }
        let len = bytes.len();
        let (status, first, last) = match header("range")
            .and_then(|r| r.strip_prefix("bytes=").map(str::to_string))
            .and_then(|r| {
                let (a, b) = r.split_once('-')?;
                let a: usize = a.parse().ok()?;
                let b: usize = if b.is_empty() {
                    len - 1
                } else {
                    b.parse().ok()?
                };
                Some((a, b.min(len - 1)))
            }) {
            Some((a, b)) => ("206 Partial Content", a, b),
            None => ("200 OK", 0, len - 1),
        };
        let body = &bytes[first..=last];
        let mut resp = format!(
            "HTTP/1.1 {status}\r\nContent-Length: {}\r\nETag: {etag}\r\nLast-Modified: {lm}\r\nAccept-Ranges: bytes\r\n",
            body.len()
        );
        if status.starts_with("206") {
            resp.push_str(&format!("Content-Range: bytes {first}-{last}/{len}\r\n"));
        }
        resp.push_str("\r\n");
        out.write_all(resp.as_bytes())?;
        if !head_only {
            out.write_all(body)?;
        }
    }
}

/// `n` entries of varied text (about 1 KiB each), as JSONL.
fn many_entries(n: usize, seed: u64) -> String {
    let words = [
        "garden", "tomato", "basil", "river", "stone", "coffee", "window", "market", "letter",
        "winter", "summer", "bridge", "lantern", "harbour", "orchard", "meadow",
    ];
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut out = String::new();
    for i in 0..n {
        let mut body = String::new();
        while body.len() < 1000 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            body.push_str(words[(x >> 33) as usize % words.len()]);
            body.push_str(&format!("{} ", (x >> 40) % 1000));
        }
        out.push_str(&format!(
            "{{\"key\": \"a/{i:04}.html\", \"title\": \"Article {i}\", \"content_type\": \"text/html\", \"body\": \"<p>{body}</p>\"}}\n"
        ));
    }
    out
}

#[test]
fn a_url_archive_costs_at_most_two_requests_an_article_and_is_reopened_when_it_changes() {
    let dir = tempfile::tempdir().unwrap();
    let arc = dir.path().join("remote.quire");
    ok(&run_stdin(
        &[
            "pack",
            "-",
            "-o",
            s(&arc),
            "-q",
            "--title",
            "Remote",
            "--block-size",
            "8K",
        ],
        many_entries(400, 1).as_bytes(),
    ));
    assert!(std::fs::metadata(&arc).unwrap().len() > 64 << 10);
    let files = FileServer::start(arc.clone());
    let url = format!("http://{}/remote.quire", files.addr);
    let srv = Server::start(&[Path::new(&url)], &["--recheck", "0.3"]);

    assert_eq!(
        srv.get("/-/api/library").json()["archives"][0]["info"]["entries"],
        400
    );
    let first = files.count();
    let r = srv.get("/remote/a/0000.html");
    assert_eq!(r.status, 200);
    let after_first = files.count();
    for i in [17, 399, 200, 201, 55, 340, 123, 7, 288, 391] {
        let before = files.count();
        let r = srv.get(&format!("/remote/a/{i:04}.html"));
        assert_eq!(r.status, 200);
        assert!(r.text().starts_with("<p>"));
        let cost = files.count() - before;
        assert!(cost <= 2, "article {i}: {cost} requests");
    }
    eprintln!(
        "opening and the library: {first} requests; the first article {}; the next ten {}",
        after_first - first,
        files.count() - after_first
    );

    // The archive changes on the server: replaced by rename, as pack does.
    let new = dir.path().join("new.quire");
    ok(&run_stdin(
        &["pack", "-", "-o", s(&new), "-q", "--title", "Remote v2"],
        many_entries(401, 2).as_bytes(),
    ));
    std::fs::rename(&new, &arc).unwrap();
    let start = Instant::now();
    loop {
        let l = srv.get("/-/api/library").json();
        if l["archives"][0]["info"]["entries"] == 401 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(8),
            "not reopened: {}",
            srv.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(srv.get("/remote/a/0400.html").status, 200);
    std::thread::sleep(Duration::from_millis(100));
    let log = srv.log();
    assert!(log.contains("reopened") && log.contains("changed"), "{log}");
}

#[test]
fn a_long_entry_is_streamed_with_ranges_and_etag() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("big-src");
    std::fs::create_dir_all(&src).unwrap();
    // 9 MiB of text (over the 8 MiB the server reads whole): streamed, not held.
    let mut big = Vec::with_capacity(9 << 20);
    let mut i = 0u64;
    while big.len() < 9 << 20 {
        big.extend_from_slice(format!("line {i} of a long text file\n").as_bytes());
        i += 1;
    }
    big.truncate(9 << 20);
    std::fs::write(src.join("big.txt"), &big).unwrap();
    std::fs::write(src.join("small.txt"), b"small").unwrap();
    let arc = dir.path().join("big.quire");
    ok(&run(&[
        "pack",
        s(&src),
        "-o",
        s(&arc),
        "-q",
        "--level",
        "1",
        "--index",
        "none",
    ]));
    let srv = Server::start(&[&arc], &[]);

    let r = srv.req("GET", "/big/big.txt", &[("Accept-Encoding", "gzip")]);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-encoding"), None);
    assert_eq!(r.header("content-length"), Some("9437184"));
    assert!(r.body == big, "the streamed body differs");
    let tag = r.header("etag").unwrap().to_string();
    let r = srv.req("GET", "/big/big.txt", &[("If-None-Match", &tag)]);
    assert_eq!((r.status, r.body.len()), (304, 0));
    for (range, from, to) in [
        ("bytes=5000000-5000099", 5_000_000usize, 5_000_100usize),
        ("bytes=-10", big.len() - 10, big.len()),
        ("bytes=0-0", 0, 1),
        ("bytes=9000000-", 9_000_000, big.len()),
    ] {
        let r = srv.req("GET", "/big/big.txt", &[("Range", range)]);
        assert_eq!(r.status, 206, "{range}");
        assert!(r.body == big[from..to], "{range}");
        let want = format!("bytes {from}-{}/{}", to - 1, big.len());
        assert_eq!(r.header("content-range"), Some(want.as_str()));
    }
    let r = srv.req("GET", "/big/big.txt", &[("Range", "bytes=9437184-")]);
    assert_eq!(r.status, 416);
    let h = srv.req("HEAD", "/big/big.txt", &[]);
    assert_eq!(
        (h.status, h.header("content-length")),
        (200, Some("9437184"))
    );
    assert!(h.body.is_empty());
    // A client that goes midway does not stop the server.
    let mut c = TcpStream::connect(srv.addr).unwrap();
    c.write_all(b"GET /big/big.txt HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut buf = [0u8; 4096];
    assert!(c.read(&mut buf).unwrap() > 0);
    drop(c);
    assert_eq!(srv.get("/big/small.txt").text(), "small");
}
