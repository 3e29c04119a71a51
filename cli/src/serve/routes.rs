//! Each URL's answer. A request is answered by a blocking task (the library's reads block:
//! a memory map's page faults, a URL's ranges), within the request time limit.

use std::fmt::Write as _;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use hyper::body::Incoming;
use hyper::{header, Method, Request, Response, StatusCode};
use quire::ReadError;
use serde_json::{json, Value};

use super::http::Streamed;
use super::http::{finish, Asked, GzipCache, Out, CACHE_ENTRY, CACHE_NONE, CACHE_PAGE};
use super::library::{random, Library, Opened, Served};
use super::pages::{self, crumb, enc_query, entry_url, esc, page, search_form};
use super::Body;
use crate::cmd::{chain, read_code};

/// Limits on a request's answer.
#[derive(Clone, Copy)]
pub struct Limits {
    /// The longest an answer may take (then 503).
    pub request_timeout: Duration,
}

/// Results on a search page.
const PER_PAGE: usize = 10;
/// Entries on a listing page.
const LIST_PAGE: u64 = 50;
/// Longest query taken (the library refuses longer ones too).
const MAX_QUERY: usize = 4096;
/// The most results a search gives (the library's limit).
const MAX_RESULTS: usize = 10_000;
/// The most results the JSON API gives at once.
const API_LIMIT: usize = 100;

/// Gzipped bodies, shared by every request.
fn gzip_cache() -> &'static GzipCache {
    static CACHE: OnceLock<GzipCache> = OnceLock::new();
    CACHE.get_or_init(GzipCache::default)
}

/// Answers one request.
pub async fn answer(
    library: Arc<Library>,
    req: Request<Incoming>,
    limits: Limits,
) -> Response<Body> {
    let (parts, _body) = req.into_parts();
    let task = tokio::task::spawn_blocking(move || {
        let asked = Asked {
            method: &parts.method,
            headers: &parts.headers,
        };
        let out = if parts.method == Method::GET || parts.method == Method::HEAD {
            route(&library, parts.uri.path(), parts.uri.query().unwrap_or(""))
        } else {
            let mut r = finish(
                &asked,
                problem(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "Method not allowed",
                    "This server answers GET and HEAD only.",
                ),
                gzip_cache(),
            );
            r.headers_mut()
                .insert(header::ALLOW, header::HeaderValue::from_static("GET, HEAD"));
            return r;
        };
        finish(&asked, out, gzip_cache())
    });
    let fallback = |status, text: &str| {
        let mut r = Response::new(super::http::full(bytes::Bytes::from(format!("{text}\n"))));
        *r.status_mut() = status;
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        r
    };
    match tokio::time::timeout(limits.request_timeout, task).await {
        Ok(Ok(r)) => r,
        Ok(Err(_)) => fallback(StatusCode::INTERNAL_SERVER_ERROR, "internal error"),
        Err(_) => fallback(
            StatusCode::SERVICE_UNAVAILABLE,
            "the answer took longer than the server's request time limit",
        ),
    }
}

/// The answer to GET `path?query`.
fn route(lib: &Library, raw_path: &str, query: &str) -> Out {
    let Some(path) = percent_decode(raw_path, false) else {
        return problem(
            StatusCode::BAD_REQUEST,
            "Bad request",
            "The address is not valid UTF-8 once decoded.",
        );
    };
    if path == "/" {
        return library_page(lib);
    }
    if path == "/favicon.ico" {
        return Out {
            cache: CACHE_ENTRY,
            ..Out::ok("image/svg+xml", pages::ICON)
        }
        .tagged(format!("s{:08x}", crc(pages::ICON)));
    }
    if let Some(rest) = path.strip_prefix("/-/") {
        return server_route(lib, rest, query);
    }
    let rest = path.strip_prefix('/').unwrap_or(&path);
    let (name, key) = match rest.split_once('/') {
        Some(nk) => nk,
        None => {
            if lib.get(rest).is_some() {
                return Out::redirect(
                    StatusCode::MOVED_PERMANENTLY,
                    format!("/{rest}/"),
                    CACHE_ENTRY,
                );
            }
            return not_found(None);
        }
    };
    let Some(served) = lib.get(name) else {
        return not_found(None);
    };
    if key.is_empty() {
        home(served)
    } else {
        entry(served, key)
    }
}

/// The server's own URLs, under `/-/`.
fn server_route(lib: &Library, rest: &str, query: &str) -> Out {
    let file = |ct: &str, body: &'static str| {
        Out {
            cache: CACHE_ENTRY,
            ranges: true,
            ..Out::ok(ct, body)
        }
        .tagged(format!("s{:08x}", crc(body)))
    };
    match rest {
        "static/quire.css" => return file("text/css; charset=utf-8", pages::CSS),
        "static/quire.js" => return file("text/javascript; charset=utf-8", pages::JS),
        "api/library" => return api_library(lib),
        _ => {}
    }
    let (what, name) = rest.split_once('/').unwrap_or((rest, ""));
    if what == "api" {
        let (name, call) = name.split_once('/').unwrap_or((name, ""));
        let Some(s) = lib.get(name) else {
            return api_error(
                StatusCode::NOT_FOUND,
                "not_found",
                "no archive of that name",
            );
        };
        return match call {
            "metadata" => {
                Out::json(StatusCode::OK, &s.current().info).tagged(s.current().tag.clone())
            }
            "search" => api_search(s, query),
            "suggest" => api_suggest(s, query),
            _ => api_error(StatusCode::NOT_FOUND, "not_found", "no such call"),
        };
    }
    let Some(s) = lib.get(name) else {
        return not_found(None);
    };
    match what {
        "list" => {
            let page = param(query, "page")
                .and_then(|p| p.parse().ok())
                .unwrap_or(0);
            listing(s, page, false)
        }
        "search" => search_page(s, query),
        "random" => random_entry(s),
        _ => not_found(Some(s)),
    }
}

/// `/`: every archive, with its title, description, counts and size, and a search box.
fn library_page(lib: &Library) -> Out {
    let mut body = String::from(
        "<h1>Library</h1><p class=\"lead\">Archives served here: read them, search them.</p>",
    );
    for s in lib.archives() {
        let o = s.current();
        let a = &o.archive;
        let name = s.name();
        let _ = write!(
            body,
            "<section class=\"card\"><h2><a href=\"/{name}/\">{}</a></h2>",
            esc(&o.title)
        );
        if let Some(d) = &o.description {
            let _ = write!(body, "<p>{}</p>", esc(d));
        }
        let lang = a
            .metadata_value("language")
            .map(|l| format!(" · language {}", esc(l)))
            .unwrap_or_default();
        let _ = write!(
            body,
            "<p class=\"meta\">{} entries · {} · format {}.{}{lang}{}</p>",
            pages::count(a.len()),
            pages::human_bytes(a.header().file_len),
            a.header().major,
            a.header().minor,
            index_note(&o),
        );
        let _ = write!(
            body,
            "<p class=\"actions\"><a href=\"/{name}/\">Home</a><a href=\"/-/list/{name}\">All entries</a>\
             <a href=\"/-/random/{name}\">Random article</a>\
             <a href=\"/-/api/{name}/metadata\">Metadata (JSON)</a></p>{}</section>",
            search_form(name, &o.title, "", a.has_title_index())
        );
    }
    Out::html(StatusCode::OK, page("Library", "", "", &body)).tagged(format!("l{}", lib.tag()))
}

/// What indexes an archive has, for its card.
fn index_note(o: &Opened) -> &'static str {
    match (o.archive.has_title_index(), o.archive.has_search_index()) {
        (true, true) => " · title and full-text indexes",
        (true, false) => " · title index (no full-text search)",
        (false, true) => " · full-text index (no title suggestions)",
        (false, false) => " · no indexes (no suggestions, no search)",
    }
}

/// `/NAME/`: the main page (by redirect, so that its relative links resolve), else the
/// archive's `index.html`, else a listing.
fn home(s: &Served) -> Out {
    let o = s.current();
    if let Some(main) = &o.main {
        return Out::redirect(StatusCode::FOUND, entry_url(s.name(), main), CACHE_PAGE);
    }
    match o.archive.get("index.html") {
        Ok(Some(_)) => entry(s, "index.html"),
        _ => listing(s, 0, true),
    }
}

/// The top bar of an archive's pages.
fn bar(s: &Served, o: &Opened, query: &str) -> (String, String) {
    (
        crumb(&format!("/{}/", s.name()), &o.title),
        search_form(s.name(), &o.title, query, o.archive.has_title_index()),
    )
}

/// `/-/list/NAME?page=N`: the entries in title order (from the title index) or, without
/// one, in key order, [`LIST_PAGE`] a page.
fn listing(s: &Served, page_no: u64, is_home: bool) -> Out {
    let o = s.current();
    let total = o.archive.len();
    let pages_n = total.div_ceil(LIST_PAGE).max(1);
    let page_no = page_no.min(pages_n - 1);
    let first = page_no * LIST_PAGE;
    // By title from the title index when the archive has one (no entry read), else by key
    // from the key index, with each entry's content type.
    let by_title = o.archive.has_title_index();
    let rows = s.with(|o| {
        if by_title {
            let rows = o.archive.by_title(first, LIST_PAGE as usize)?;
            return Ok(rows
                .into_iter()
                .map(|(k, t)| (k, t, String::new()))
                .collect());
        }
        let mut rows = Vec::new();
        for i in first..(first + LIST_PAGE).min(o.archive.len()) {
            let e = o.archive.get_by_index(i)?;
            let title = e.title().ok().flatten().map(str::to_string);
            rows.push((e.key().to_string(), title, e.content_type().to_string()));
        }
        Ok(rows)
    });
    let rows = match rows {
        Ok(r) => r,
        Err(e) => return read_problem(s, "the index", &e),
    };
    let (crumbs, form) = bar(s, &o, "");
    let mut body = format!("<h1>{}</h1>", esc(&o.title));
    if let Some(d) = &o.description {
        let _ = write!(body, "<p class=\"lead\">{}</p>", esc(d));
    }
    let _ = write!(
        body,
        "<p class=\"meta\">{} entries, by {} · page {} of {} · <a href=\"/-/random/{}\">Random article</a></p><ul class=\"listing\">",
        pages::count(total),
        if by_title { "title" } else { "key" },
        page_no + 1,
        pages_n,
        s.name()
    );
    for (key, title, ct) in &rows {
        let ct_short = ct.split(';').next().unwrap_or("");
        let _ = write!(
            body,
            "<li><a href=\"{}\">{}</a>",
            esc(&entry_url(s.name(), key)),
            esc(title.as_deref().unwrap_or(key)),
        );
        if !ct_short.is_empty() {
            let _ = write!(body, "<span class=\"type\">{}</span>", esc(ct_short));
        }
        body.push_str("</li>");
    }
    body.push_str("</ul>");
    body.push_str(&pager(
        (page_no > 0).then(|| format!("/-/list/{}?page={}", s.name(), page_no - 1)),
        (page_no + 1 < pages_n).then(|| format!("/-/list/{}?page={}", s.name(), page_no + 1)),
    ));
    let crumbs = if is_home {
        crumbs
    } else {
        crumbs + &crumb(&format!("/-/list/{}", s.name()), "All entries")
    };
    Out::html(StatusCode::OK, page(&o.title, &crumbs, &form, &body))
        .tagged(format!("{}-l{page_no}", o.tag))
}

fn pager(prev: Option<String>, next: Option<String>) -> String {
    let link = |href: Option<String>, text: &str| {
        href.map(|h| format!("<a href=\"{}\">{text}</a>", esc(&h)))
            .unwrap_or_else(|| "<span></span>".into())
    };
    format!(
        "<nav class=\"pager\">{}{}</nav>",
        link(prev, "← Previous"),
        link(next, "Next →")
    )
}

/// Bodies longer than this are streamed, not read whole (see [`Streamed`]).
const STREAM_OVER: u64 = 8 << 20;

/// What reading an entry found.
enum Found {
    /// The entry: its number, content type and body (the cached block's bytes when the body
    /// lies in one block: no copy before the response).
    Body(u64, String, quire::Body),
    /// A long entry, to stream: its number, content type and length.
    Long(u64, String, u64),
    /// No entry, but `KEY/index.html` is one: a directory.
    Dir,
    /// Nothing.
    Missing,
}

/// `/NAME/KEY`: the entry's body with its stored content type; `KEY/` is `KEY/index.html`.
fn entry(s: &Served, key: &str) -> Out {
    let key = if key.ends_with('/') {
        format!("{key}index.html")
    } else {
        key.to_string()
    };
    let found = s.with(|o| {
        if let Some(e) = o.archive.get(&key)? {
            if e.body_len() > STREAM_OVER {
                let ct = e.content_type().to_string();
                return Ok(Found::Long(e.index(), ct, e.body_len()));
            }
            let body = e.body_shared()?;
            return Ok(Found::Body(e.index(), e.content_type().to_string(), body));
        }
        if o.archive.get(&format!("{key}/index.html"))?.is_some() {
            return Ok(Found::Dir);
        }
        Ok(Found::Missing)
    });
    match found {
        Ok(Found::Body(index, ct, body)) => Out {
            cache: CACHE_ENTRY,
            ranges: true,
            ..Out::ok(ct, bytes::Bytes::from_owner(body))
        }
        .tagged(format!("{}-{index:x}", s.current().tag)),
        Ok(Found::Long(index, ct, len)) => {
            let opened = s.current();
            let tag = format!("{}-{index:x}", opened.tag);
            Out {
                cache: CACHE_ENTRY,
                ranges: true,
                stream: Some(Streamed { opened, index, len }),
                ..Out::ok(ct, bytes::Bytes::new())
            }
            .tagged(tag)
        }
        Ok(Found::Dir) => Out::redirect(
            StatusCode::MOVED_PERMANENTLY,
            entry_url(s.name(), &format!("{key}/")),
            CACHE_ENTRY,
        ),
        Ok(Found::Missing) => not_found(Some(s)),
        Err(e) => read_problem(s, &format!("the entry {key:?}"), &e),
    }
}

/// `/-/random/NAME`: a redirect to a random entry, an HTML one when there are some.
fn random_entry(s: &Served) -> Out {
    let picked = s.with(|o| {
        let n = o.archive.len();
        if n == 0 {
            return Ok(None);
        }
        let mut any = None;
        for _ in 0..32 {
            let e = o.archive.get_by_index(random() % n)?;
            if e.content_type().starts_with("text/html") {
                return Ok(Some(e.key().to_string()));
            }
            any.get_or_insert_with(|| e.key().to_string());
        }
        Ok(any)
    });
    match picked {
        Ok(Some(key)) => Out::redirect(StatusCode::FOUND, entry_url(s.name(), &key), CACHE_NONE),
        Ok(None) => problem(
            StatusCode::NOT_FOUND,
            "Empty archive",
            "This archive has no entries.",
        ),
        Err(e) => read_problem(s, "a random entry", &e),
    }
}

/// `/-/search/NAME?q=…&page=N`: full-text results with snippets, [`PER_PAGE`] a page; title
/// matches where the archive has no full-text index.
fn search_page(s: &Served, query: &str) -> Out {
    let q = param(query, "q").unwrap_or_default();
    let q = q.trim();
    let page_no: usize = param(query, "page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(0)
        .min(MAX_RESULTS / PER_PAGE - 1);
    let o = s.current();
    let (crumbs, form) = bar(s, &o, q);
    let crumbs = crumbs
        + &crumb(
            &format!("/-/search/{}?q={}", s.name(), enc_query(q)),
            "Search",
        );
    let mut body = String::new();
    if q.is_empty() {
        body.push_str("<h1>Search</h1><p class=\"lead\">Type words to find in the box above.</p>");
        return Out::html(StatusCode::OK, page("Search", &crumbs, &form, &body));
    }
    if q.len() > MAX_QUERY {
        return problem(
            StatusCode::BAD_REQUEST,
            "Query too long",
            "A query may hold up to 4096 bytes.",
        );
    }
    let _ = write!(body, "<h1>Results for “{}”</h1>", esc(q));
    if !o.archive.has_search_index() {
        body.push_str(
            "<p class=\"note\">This archive has no full-text index (it was packed without \
             <code>--index full</code>): below are the entries whose title matches.</p>",
        );
        let found = s.with(|o| match o.archive.suggest(q, Some(50)) {
            Err(ReadError::NoTitleIndex) => Ok(Vec::new()),
            other => other,
        });
        match found {
            Ok(found) if found.is_empty() => body.push_str("<p>No entry matches.</p>"),
            Ok(found) => {
                body.push_str("<ol class=\"results\">");
                for f in &found {
                    let _ = write!(
                        body,
                        "<li><a class=\"title\" href=\"{}\">{}</a><div class=\"key\">{}</div></li>",
                        esc(&entry_url(s.name(), &f.key)),
                        esc(f.text()),
                        esc(&f.key)
                    );
                }
                body.push_str("</ol>");
            }
            Err(e) => return read_problem(s, "the title index", &e),
        }
        return Out::html(StatusCode::OK, page(q, &crumbs, &form, &body));
    }
    // The results up to this page with snippets, and whether there is a next page from the
    // index alone (one more result, no entry read for it).
    let want = ((page_no + 1) * PER_PAGE + 1).min(MAX_RESULTS);
    let hits = s.with(|o| {
        let hits = o.archive.search(q, want - 1)?;
        let more = hits.len() == want - 1 && o.archive.search_keys(q, want)?.len() == want;
        Ok((hits, more))
    });
    let (hits, more) = match hits {
        Ok(h) => h,
        Err(e @ ReadError::InvalidQuery { .. }) => {
            return problem(StatusCode::BAD_REQUEST, "Query not taken", &e.to_string())
        }
        Err(e) => return read_problem(s, "the full-text index", &e),
    };
    let shown: Vec<_> = hits
        .iter()
        .skip(page_no * PER_PAGE)
        .take(PER_PAGE)
        .collect();
    if shown.is_empty() {
        body.push_str("<p>No entry holds every word of the query.</p>");
    } else {
        let _ = write!(
            body,
            "<p class=\"meta\">Results {}–{}{}</p><ol class=\"results\">",
            page_no * PER_PAGE + 1,
            page_no * PER_PAGE + shown.len(),
            if more { "" } else { " (all)" },
        );
        for h in shown {
            let _ = write!(
                body,
                "<li><a class=\"title\" href=\"{}\">{}</a><p class=\"snippet\">{}</p><div class=\"key\">{}</div></li>",
                esc(&entry_url(s.name(), &h.key)),
                esc(h.title.as_deref().unwrap_or(&h.key)),
                h.snippet.to_html(),
                esc(&h.key)
            );
        }
        body.push_str("</ol>");
    }
    let link = |p: usize| format!("/-/search/{}?q={}&page={p}", s.name(), enc_query(q));
    body.push_str(&pager(
        (page_no > 0).then(|| link(page_no - 1)),
        more.then(|| link(page_no + 1)),
    ));
    Out::html(StatusCode::OK, page(q, &crumbs, &form, &body))
}

/// `/-/api/library`: every archive's name, home and `info --json` object.
fn api_library(lib: &Library) -> Out {
    let archives: Vec<Value> = lib
        .archives()
        .iter()
        .map(|s| {
            let o = s.current();
            json!({
                "name": s.name(),
                "home": format!("/{}/", s.name()),
                "title": o.title,
                "description": o.description,
                "main": o.main,
                "info": o.info,
            })
        })
        .collect();
    Out::json(StatusCode::OK, &json!({ "archives": archives })).tagged(format!("l{}", lib.tag()))
}

/// `/-/api/NAME/search?q=…&limit=N&offset=N`: results as `search --json` gives them (key,
/// title, score, snippet), with each entry's URL.
fn api_search(s: &Served, query: &str) -> Out {
    let q = param(query, "q").unwrap_or_default();
    let limit = param(query, "limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(PER_PAGE)
        .min(API_LIMIT);
    let offset = param(query, "offset")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(0)
        .min(MAX_RESULTS);
    if q.trim().is_empty() {
        return api_error(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            "the q parameter is empty",
        );
    }
    let want = (offset + limit).min(MAX_RESULTS);
    match s.with(|o| o.archive.search(&q, want)) {
        Ok(hits) => {
            let results: Vec<Value> = hits
                .iter()
                .skip(offset)
                .map(|h| {
                    json!({
                        "key": h.key,
                        "title": h.title,
                        "score": h.score,
                        "snippet": h.snippet.to_html(),
                        "url": entry_url(s.name(), &h.key),
                    })
                })
                .collect();
            Out::json(
                StatusCode::OK,
                &json!({ "query": q, "offset": offset, "results": results }),
            )
        }
        Err(ReadError::NoSearchIndex) => api_error(
            StatusCode::NOT_FOUND,
            "no_search_index",
            "the archive has no full-text index (packed without --index full)",
        ),
        Err(e @ ReadError::InvalidQuery { .. }) => {
            api_error(StatusCode::BAD_REQUEST, "invalid_query", &e.to_string())
        }
        Err(e) => api_read_error(&e),
    }
}

/// `/-/api/NAME/suggest?q=…&limit=N`: suggestions as `suggest --json` gives them (key,
/// title, kind), with each entry's URL.
fn api_suggest(s: &Served, query: &str) -> Out {
    let q = param(query, "q").unwrap_or_default();
    let limit = param(query, "limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(10)
        .clamp(1, API_LIMIT);
    if q.len() > MAX_QUERY {
        return api_error(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            "the query is over 4096 bytes",
        );
    }
    match s.with(|o| o.archive.suggest(&q, Some(limit))) {
        Ok(found) => {
            let list: Vec<Value> = found
                .iter()
                .map(|f| {
                    json!({
                        "key": f.key,
                        "title": f.title,
                        "kind": f.kind.name(),
                        "url": entry_url(s.name(), &f.key),
                    })
                })
                .collect();
            Out::json(StatusCode::OK, &json!({ "query": q, "suggestions": list }))
        }
        Err(ReadError::NoTitleIndex) => api_error(
            StatusCode::NOT_FOUND,
            "no_title_index",
            "the archive has no title index (packed with --index none)",
        ),
        Err(e) => api_read_error(&e),
    }
}

fn api_error(status: StatusCode, code: &str, message: &str) -> Out {
    Out::json(status, &json!({ "error": code, "message": message }))
}

fn api_read_error(e: &ReadError) -> Out {
    if read_code(e) == 4 {
        api_error(StatusCode::BAD_GATEWAY, "io", &chain(e))
    } else {
        api_error(StatusCode::INTERNAL_SERVER_ERROR, e.code(), &chain(e))
    }
}

/// An error page.
fn problem(status: StatusCode, title: &str, text: &str) -> Out {
    let body = format!(
        "<h1>{}</h1><p class=\"problem\">{}</p><p><a href=\"/\">Back to the library</a></p>",
        esc(title),
        esc(text)
    );
    Out::html(status, page(title, "", "", &body))
}

/// 404, with the archive's search box when the address is in one.
fn not_found(s: Option<&Served>) -> Out {
    let Some(s) = s else {
        return problem(
            StatusCode::NOT_FOUND,
            "Not found",
            "Nothing is served at this address.",
        );
    };
    let o = s.current();
    let (crumbs, form) = bar(s, &o, "");
    let body = format!(
        "<h1>Not found</h1><p class=\"problem\">{} has no entry at this address.</p>\
         <p><a href=\"/{}/\">Home</a> · <a href=\"/-/random/{}\">Random article</a></p>",
        esc(&o.title),
        s.name(),
        s.name()
    );
    Out::html(
        StatusCode::NOT_FOUND,
        page("Not found", &crumbs, &form, &body),
    )
}

/// A read that failed: 500 for damage (what is damaged, clearly), 502 when the archive's
/// server failed. Every other entry is still served.
fn read_problem(s: &Served, what: &str, e: &ReadError) -> Out {
    let (status, title, text) = if read_code(e) == 4 {
        (
            StatusCode::BAD_GATEWAY,
            "The archive could not be read",
            format!("Reading {what} failed: {}", chain(e)),
        )
    } else {
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            "This entry is damaged",
            format!(
                "The archive's bytes for {what} are damaged ({}), so it cannot be shown. \
                 Every other entry is still served; `quire verify` lists the damage.",
                chain(e)
            ),
        )
    };
    crate::cmd::say(format_args!("{}: {text}", s.name()));
    let o = s.current();
    let (crumbs, form) = bar(s, &o, "");
    let body = format!(
        "<h1>{}</h1><p class=\"problem\">{}</p><p><a href=\"/{}/\">Home</a></p>",
        esc(title),
        esc(&text),
        s.name()
    );
    Out::html(status, page(title, &crumbs, &form, &body))
}

/// A query parameter's value, decoded (`+` is a space).
fn param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (n, v) = pair.split_once('=').unwrap_or((pair, ""));
        (n == name).then(|| percent_decode(v, true)).flatten()
    })
}

/// `%XX` decoded (and `+` as a space in a query), as UTF-8; `None` when it is not.
fn percent_decode(s: &str, plus: bool) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        match c {
            b'%' => {
                let hex = b
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok());
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(v) => {
                        out.push(v);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b'+' if plus => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

fn crc(s: &str) -> u32 {
    xxhash_rust::xxh3::xxh3_64(s.as_bytes()) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoding() {
        assert_eq!(
            percent_decode("/a%20b/%C3%A7", false).as_deref(),
            Some("/a b/ç")
        );
        assert_eq!(percent_decode("a+b%2", true).as_deref(), Some("a b%2"));
        assert_eq!(percent_decode("%FF", false), None);
        assert_eq!(
            param("x=1&q=caf%C3%A9+au+lait&page=2", "q").as_deref(),
            Some("café au lait")
        );
        assert_eq!(param("q", "q").as_deref(), Some(""));
        assert_eq!(param("x=1", "q"), None);
    }
}
