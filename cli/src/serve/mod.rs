//! `quire serve`: archives read and searched in a web browser. A thin shell over the
//! library: hyper's HTTP/1.1 server on tokio accepts connections (with limits on their
//! number, on header size and on the time a request may take), and every request is
//! answered by a blocking task that reads the archive ([`routes`]), then made into an HTTP
//! response the same way for every route ([`http`]: ETag, 304, ranges, gzip, HEAD).
//!
//! URLs (an archive's NAME is its file name without `.quire`, made unique):
//!
//! - `/` the library; `/NAME/` an archive's home (its `main` entry, else its `index.html`,
//!   else a listing); `/NAME/KEY` an entry, with its stored content type (`KEY/` serves
//!   `KEY/index.html`);
//! - `/-/list/NAME?page=N`, `/-/search/NAME?q=…&page=N`, `/-/random/NAME`;
//! - `/-/api/library`, `/-/api/NAME/metadata`, `/-/api/NAME/search?q=…`,
//!   `/-/api/NAME/suggest?q=…` (JSON);
//! - `/-/static/quire.css`, `/-/static/quire.js`.

mod http;
mod library;
mod pages;
mod routes;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};

use super::cmd::{say, Fail};
use library::Library;

/// `quire serve`'s arguments.
#[derive(clap::Args)]
pub struct Args {
    /// Archives to serve: paths, http(s):// or s3:// URLs, or directories (every `*.quire`
    /// file directly in them).
    #[arg(required = true, value_name = "ARCHIVE|DIR|URL")]
    archives: Vec<PathBuf>,
    /// Where to listen. The default takes connections from this machine only; give
    /// 0.0.0.0:PORT (or `[::]:PORT`) to serve a network. Port 0 picks a free port.
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Connections open at once, at most; a connection over the limit is closed at once.
    #[arg(long, value_name = "N", default_value_t = 512,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    max_connections: u32,
    /// The longest a client may take to send a request's headers (and an idle connection
    /// may stay open), in seconds: slow clients are cut off.
    #[arg(long, value_name = "SECONDS", default_value = "10", value_parser = seconds)]
    header_timeout: Duration,
    /// How often archives read from URLs are checked for a change on their server, in
    /// seconds (one request each); one that changed is reopened. A read that finds the
    /// change first reopens it at once.
    #[arg(long, value_name = "SECONDS", default_value = "30", value_parser = seconds)]
    recheck: Duration,
    /// The longest the server may take to answer one request, in seconds (then 503).
    #[arg(long, value_name = "SECONDS", default_value = "30", value_parser = seconds)]
    request_timeout: Duration,
}

pub const HELP: &str = "\
Pages: the library (/), each archive's home (/NAME/: its main page, `pack --main KEY`, or
its index.html, or a listing), every entry at /NAME/KEY with its stored content type, title
suggestions as you type, full-text results with snippets (10 a page), a random article.
JSON API: /-/api/library, /-/api/NAME/metadata (as `info --json`), /-/api/NAME/search?q=
(as `search --json`), /-/api/NAME/suggest?q= (as `suggest --json`).
HTTP: strong ETags (the archive's prelude hash and the entry), 304, Range (206, 416), HEAD,
gzip for text, Cache-Control. A URL archive that changes on its server is reopened.
Memory: 16 MiB of decompressed blocks per archive and 16 MiB of gzipped answers, plus what
glibc keeps in its per-thread heaps; MALLOC_ARENA_MAX=2 keeps that small (a website archive
under load: 155 MB instead of 250).
Stop with Ctrl-C or SIGTERM: requests in flight are finished first.";

/// A positive number of seconds, e.g. `10` or `0.5`.
fn seconds(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if !(secs > 0.0 && secs <= 86_400.0) {
        return Err(format!("{s:?} is not in 0..=86400 seconds (and not 0)"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Largest request head (request line and headers) taken: a larger one gets 431.
const MAX_HEAD_BYTES: usize = 16 << 10;
/// Most header lines in a request: more gets 431.
const MAX_HEADERS: usize = 64;
/// Threads that read archives at once (each request is answered by one, and a streamed
/// entry holds one while its client reads): tokio's default of 512 let the pool grow to a
/// hundred threads under 16 connections, and with them glibc's heap arenas, whose freed
/// memory stays in the process (RSS 290 MB on a website archive; 155 MB with two arenas).
const BLOCKING_THREADS: usize = 32;
/// How long shutdown waits for requests in flight.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Runs `quire serve` until SIGINT or SIGTERM.
pub fn run(a: Args) -> Result<u8, Fail> {
    let library = Arc::new(Library::open(&a.archives)?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_io()
        .enable_time()
        .thread_name("quire-serve")
        .max_blocking_threads(BLOCKING_THREADS)
        .build()
        .map_err(|e| Fail::new(4, format!("cannot start the server: {e}")))?;
    runtime.block_on(serve(a, library))
}

/// The accept loop, then a graceful shutdown.
async fn serve(a: Args, library: Arc<Library>) -> Result<u8, Fail> {
    let listener = tokio::net::TcpListener::bind(a.addr)
        .await
        .map_err(|e| Fail::new(4, format!("cannot listen on {}: {e}", a.addr)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Fail::new(4, format!("cannot listen on {}: {e}", a.addr)))?;
    let names: Vec<&str> = library.archives().iter().map(|s| s.name()).collect();
    say(format_args!(
        "serving {} archive{} ({}) on http://{addr}/",
        names.len(),
        if names.len() == 1 { "" } else { "s" },
        names.join(", ")
    ));
    let limits = routes::Limits {
        request_timeout: a.request_timeout,
    };
    let slots = Arc::new(tokio::sync::Semaphore::new(a.max_connections as usize));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(a.header_timeout)
        .max_buf_size(MAX_HEAD_BYTES)
        .max_headers(MAX_HEADERS)
        .keep_alive(true);
    let revalidator = tokio::spawn(revalidate(Arc::clone(&library), a.recheck));
    let stop = stop_signal();
    tokio::pin!(stop);
    let signal = loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, _peer) = match accepted {
                    Ok(s) => s,
                    Err(e) => {
                        // Out of file descriptors and the like: wait, then go on.
                        say(format_args!("accept: {e}"));
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
                    drop(stream);
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let library = Arc::clone(&library);
                let service = service_fn(move |req| {
                    let library = Arc::clone(&library);
                    async move { Ok::<_, Infallible>(routes::answer(library, req, limits).await) }
                });
                let conn = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
                tokio::spawn(async move {
                    let _ = conn.await;
                    drop(slot);
                });
            }
            signal = &mut stop => break signal,
        }
    };
    drop(listener);
    revalidator.abort();
    say(format_args!(
        "{signal}: finishing the requests in flight (at most {} s)",
        SHUTDOWN_GRACE.as_secs()
    ));
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(SHUTDOWN_GRACE) => {
            say(format_args!("some connections were still open: closed"));
        }
    }
    Ok(0)
}

/// Waits for SIGINT or SIGTERM (Ctrl-C elsewhere), and names it.
async fn stop_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) {
            (Ok(mut int), Ok(mut term)) => tokio::select! {
                _ = int.recv() => "interrupted",
                _ = term.recv() => "terminated",
            },
            _ => {
                let _ = tokio::signal::ctrl_c().await;
                "interrupted"
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "interrupted"
    }
}

/// Checks URL archives for a change on their server every `every` (reads answered from
/// the range cache would not see one), reopening those that changed.
async fn revalidate(library: Arc<Library>, every: Duration) {
    if !library.archives().iter().any(|s| s.is_remote()) {
        return;
    }
    let mut tick = tokio::time::interval(every);
    tick.tick().await;
    loop {
        tick.tick().await;
        let library = Arc::clone(&library);
        let _ = tokio::task::spawn_blocking(move || {
            for s in library.archives().iter().filter(|s| s.is_remote()) {
                s.check_for_change();
            }
        })
        .await;
    }
}

/// The response body type of every route: bytes in memory, or an entry streamed from a
/// blocking task ([`http::Streamed`]).
type Body = http_body_util::Either<Full<Bytes>, http::ChanBody>;
