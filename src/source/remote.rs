//! [`RemoteSource`]: an archive read with HTTP(S) range requests or from S3-compatible object
//! storage (the `remote` cargo feature). What it guarantees is documented on the type, since
//! this module is private (its items are re-exported by [`source`](super)).

use super::cache::RangeCache;
use super::{check_range, ByteSource};
use bytes::Bytes;
use futures_util::StreamExt;
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::client::{
    HttpClient, HttpConnector, HttpError, HttpErrorKind, HttpRequest, HttpResponse, HttpService,
    ReqwestConnector,
};
use object_store::http::HttpBuilder;
use object_store::path::Path;
use object_store::{
    BackoffConfig, ClientConfigKey, ClientOptions, GetOptions, GetRange, ObjectStore, RetryConfig,
};
use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::io;
use std::ops::Range;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The length of the first read, made by [`RemoteSource::open`]: a 3.0 prelude fits in it.
pub const PRELUDE_LEN: u64 = 16 * 1024;

// ------------------------------------------------------------------------------------ options

/// How a [`RemoteSource`] fetches and caches: a builder.
///
/// ```
/// use quire::source::RemoteOptions;
/// use std::time::Duration;
///
/// let options = RemoteOptions::new()
///     .cache_bytes(256 << 20)
///     .request_timeout(Duration::from_secs(10))
///     .retries(5);
/// assert_eq!(options.get_cache_bytes(), 256 << 20);
/// ```
#[derive(Debug, Clone)]
pub struct RemoteOptions {
    cache_bytes: usize,
    request_timeout: Duration,
    connect_timeout: Duration,
    retries: usize,
    initial_backoff: Duration,
    max_backoff: Duration,
    parallelism: usize,
}

impl Default for RemoteOptions {
    fn default() -> Self {
        RemoteOptions {
            cache_bytes: 64 << 20,
            request_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            retries: 3,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(2),
            parallelism: 32,
        }
    }
}

impl RemoteOptions {
    /// The defaults: a 64 MiB cache, a 30 s request timeout, a 10 s connect timeout, 3
    /// retries with backoff from 100 ms up to 2 s, and 32 requests in flight at most.
    pub fn new() -> Self {
        Self::default()
    }

    /// The most bytes of fetched ranges kept (default 64 MiB). The first 16 KiB, read at
    /// open, are kept besides. A range larger than the whole budget is read but not kept; 0
    /// keeps nothing.
    pub fn cache_bytes(mut self, bytes: usize) -> Self {
        self.cache_bytes = bytes;
        self
    }

    /// The longest one request may take, from sending it to the last byte of its answer
    /// (default 30 s). A request that takes longer fails with [`RemoteErrorKind::Timeout`]
    /// (after its retries): a server that trickles bytes cannot hold a read forever.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// The longest a connection may take to establish (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How many times a range read is tried again after a server error (5xx, 429), a
    /// connection failure or a timeout (default 3; 0 never retries). Range reads are
    /// idempotent; a retry carries the same version condition, so it cannot mix versions.
    /// Not retried: 403, 404, 412, 416 and answers that break the protocol.
    pub fn retries(mut self, retries: usize) -> Self {
        self.retries = retries;
        self
    }

    /// The wait before the first retry (default 100 ms); each later wait is drawn at random up
    /// to twice the one before, at most [`max_backoff`](RemoteOptions::max_backoff).
    pub fn initial_backoff(mut self, backoff: Duration) -> Self {
        self.initial_backoff = backoff;
        self
    }

    /// The longest wait between two tries (default 2 s).
    pub fn max_backoff(mut self, backoff: Duration) -> Self {
        self.max_backoff = backoff;
        self
    }

    /// The most requests of one source in flight at once (default 32; at least 1):
    /// [`Archive::get_many`](crate::Archive::get_many) and `verify` keep this many busy.
    pub fn parallelism(mut self, requests: usize) -> Self {
        self.parallelism = requests.max(1);
        self
    }

    /// The cache budget in bytes.
    pub fn get_cache_bytes(&self) -> usize {
        self.cache_bytes
    }

    /// The request timeout.
    pub fn get_request_timeout(&self) -> Duration {
        self.request_timeout
    }

    /// The connect timeout.
    pub fn get_connect_timeout(&self) -> Duration {
        self.connect_timeout
    }

    /// The number of retries.
    pub fn get_retries(&self) -> usize {
        self.retries
    }

    /// The most requests in flight.
    pub fn get_parallelism(&self) -> usize {
        self.parallelism
    }

    fn retry_config(&self) -> RetryConfig {
        RetryConfig {
            max_retries: self.retries,
            retry_timeout: self.deadline(),
            backoff: BackoffConfig {
                init_backoff: self.initial_backoff,
                max_backoff: self.max_backoff.max(self.initial_backoff),
                base: 2.0,
            },
        }
    }

    /// A bound on one fetch with all its tries: past it the fetch is abandoned even if the
    /// HTTP client's own timeouts did not fire.
    fn deadline(&self) -> Duration {
        let tries = u32::try_from(self.retries.saturating_add(1)).unwrap_or(u32::MAX);
        let one = self.request_timeout.saturating_add(self.connect_timeout);
        one.saturating_mul(tries)
            .saturating_add(self.max_backoff.saturating_mul(tries - 1))
            .saturating_add(Duration::from_secs(1))
    }
}

// ------------------------------------------------------------------------------------- errors

/// What went wrong with a remote read: each kind is one kind of fault, so that a program can
/// map it to an exit code or a retry policy. Carried by [`RemoteError`]; see
/// [`remote_error_kind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RemoteErrorKind {
    /// The URL is malformed or not `http://`, `https://` or `s3://bucket/key`
    /// (io kind `InvalidInput`).
    InvalidUrl,
    /// 404: no object at that URL (io kind `NotFound`).
    NotFound,
    /// 401 or 403: the server refuses access, e.g. missing or wrong S3 credentials
    /// (io kind `PermissionDenied`).
    Forbidden,
    /// 416: the server says the range lies outside the object (io kind `Other`).
    RangeNotSatisfiable,
    /// The object is not the one opened: 412 to the version condition, or an answer whose
    /// ETag, Last-Modified or total size differs from those at open (io kind `Other`).
    Changed,
    /// The server ignores `Range` and answers with the whole object (200): refused, and the
    /// body is not read (io kind `Unsupported`).
    IgnoredRange,
    /// The answer ended before all the bytes asked for arrived (io kind `UnexpectedEof`).
    ShortRead,
    /// An answer that breaks the protocol: a `Content-Range` other than the range asked, more
    /// bytes than asked, unparsable headers (io kind `InvalidData`).
    BadResponse,
    /// No complete answer within the request or connect timeout, after the retries
    /// (io kind `TimedOut`).
    Timeout,
    /// No connection could be made: refused, unreachable, name not resolved
    /// (io kind `ConnectionRefused`).
    Connect,
    /// The server's TLS certificate was not accepted (not trusted, expired, for another
    /// name). Never retried (io kind `ConnectionRefused`).
    Certificate,
    /// `s3://` with no credentials: none in the environment, and no instance-metadata
    /// service gave any (io kind `PermissionDenied`).
    NoCredentials,
    /// The server kept failing (5xx, 429) through all the retries (io kind `Other`).
    Server,
    /// The connection failed in another way mid-request (io kind `ConnectionAborted`).
    Network,
    /// Anything else, e.g. another HTTP status (io kind `Other`).
    Other,
}

impl RemoteErrorKind {
    fn io_kind(self) -> io::ErrorKind {
        use RemoteErrorKind::*;
        match self {
            InvalidUrl => io::ErrorKind::InvalidInput,
            NotFound => io::ErrorKind::NotFound,
            Forbidden | NoCredentials => io::ErrorKind::PermissionDenied,
            IgnoredRange => io::ErrorKind::Unsupported,
            ShortRead => io::ErrorKind::UnexpectedEof,
            BadResponse => io::ErrorKind::InvalidData,
            Timeout => io::ErrorKind::TimedOut,
            Connect | Certificate => io::ErrorKind::ConnectionRefused,
            Network => io::ErrorKind::ConnectionAborted,
            RangeNotSatisfiable | Changed | Server | Other => io::ErrorKind::Other,
        }
    }
}

/// A remote read's failure: which URL, what kind of fault, and a one-line message.
///
/// It travels inside an [`io::Error`] (whose [`kind`](io::Error::kind) is the closest
/// [`io::ErrorKind`]); [`remote_error_kind`] gets the [`RemoteErrorKind`] back. Displayed as
/// `URL: message`, on one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteError {
    kind: RemoteErrorKind,
    url: String,
    message: String,
}

impl RemoteError {
    fn new(kind: RemoteErrorKind, url: &str, message: impl Into<String>) -> Self {
        RemoteError {
            kind,
            url: url.to_owned(),
            message: one_line(&message.into()),
        }
    }

    /// The kind of fault.
    pub fn kind(&self) -> RemoteErrorKind {
        self.kind
    }

    /// The URL read (without credentials or query).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// What happened, without the URL.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for RemoteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.url, self.message)
    }
}

impl std::error::Error for RemoteError {}

impl From<RemoteError> for io::Error {
    fn from(e: RemoteError) -> io::Error {
        io::Error::new(e.kind.io_kind(), e)
    }
}

/// The [`RemoteErrorKind`] of an error from a [`RemoteSource`], or `None` for any other
/// [`io::Error`] (a range past the end, checked before any request, is a plain
/// `UnexpectedEof`).
///
/// ```
/// use quire::source::{remote_error_kind, RemoteErrorKind, RemoteOptions, RemoteSource};
///
/// let err = RemoteSource::open("ftp://example.org/a.quire", RemoteOptions::new()).unwrap_err();
/// assert_eq!(remote_error_kind(&err), Some(RemoteErrorKind::InvalidUrl));
/// assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
/// ```
pub fn remote_error_kind(e: &io::Error) -> Option<RemoteErrorKind> {
    e.get_ref()?.downcast_ref::<RemoteError>().map(|r| r.kind)
}

/// `s` with control characters (a server's text may hold newlines) replaced by spaces.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

// ------------------------------------------------------------------------------------ runtime

/// The internal runtime: two worker threads, started at the first remote open, shared by
/// every [`RemoteSource`] of the process and never shut down.
///
/// A child made by `fork()` has none of its parent's threads: a runtime inherited that way
/// would never run a task. So the runtime is per process: a child starts its own (the
/// parent's, which cannot be shut down from the child, is left alone).
fn runtime() -> Result<&'static tokio::runtime::Runtime, String> {
    static RUNTIME: Mutex<Option<(u32, &'static tokio::runtime::Runtime)>> = Mutex::new(None);
    let pid = std::process::id();
    let mut slot = RUNTIME
        .lock()
        .map_err(|_| "the I/O runtime's lock was poisoned".to_owned())?;
    if let Some((owner, rt)) = *slot {
        if owner == pid {
            return Ok(rt);
        }
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("quire-remote")
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the I/O runtime: {e}"))?;
    // Kept for the life of the process, as a static would be.
    let rt: &'static tokio::runtime::Runtime = Box::leak(Box::new(rt));
    *slot = Some((pid, rt));
    Ok(rt)
}

/// Runs `fut` on the internal runtime and blocks until it is done. Safe from any thread,
/// including another runtime's worker: the future runs on the internal runtime's threads and
/// this thread only waits on a channel.
fn block_on<T: Send + 'static>(
    url: &str,
    fut: impl Future<Output = Result<T, RemoteError>> + Send + 'static,
) -> Result<T, RemoteError> {
    let rt = runtime().map_err(|e| RemoteError::new(RemoteErrorKind::Other, url, e))?;
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    rt.spawn(async move {
        let _ = tx.send(fut.await);
    });
    rx.recv().unwrap_or_else(|_| {
        Err(RemoteError::new(
            RemoteErrorKind::Other,
            url,
            "the I/O task ended without an answer",
        ))
    })
}

// -------------------------------------------------------------------------------------- probe

/// What the last try of one request saw at the HTTP level: object_store turns statuses into
/// its own errors and drops headers, so a thin wrapper around its HTTP client records them in
/// a probe passed along in the request's extensions.
#[derive(Debug, Clone, Default)]
struct Seen {
    tries: u32,
    status: Option<u16>,
    reason: Option<&'static str>,
    etag: Option<String>,
    last_modified: Option<String>,
    content_range: Option<String>,
    content_length: Option<String>,
    transport: Option<HttpErrorKind>,
    /// A TLS certificate the client refused: what it said.
    certificate: Option<String>,
    /// The store is not one of `open`'s HTTP stores (no HTTP try was seen): what is known
    /// came from its own metadata and errors.
    direct: bool,
}

#[derive(Debug, Clone, Default)]
struct Probe(Arc<Mutex<Seen>>);

impl Probe {
    fn seen(&self) -> Seen {
        self.0.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// After a request that gave no answer within its deadline: at least one try.
    fn unanswered(&self) {
        if let Ok(mut seen) = self.0.lock() {
            seen.tries = seen.tries.max(1);
        }
    }

    /// After a request that no HTTP try recorded (a store that is not HTTP): one try, and the
    /// version from the store's metadata, when it answered.
    fn direct(&self, meta: Option<&object_store::ObjectMeta>) {
        let Ok(mut seen) = self.0.lock() else { return };
        if seen.tries > 0 {
            return;
        }
        seen.tries = 1;
        seen.direct = true;
        if let Some(meta) = meta {
            seen.etag = meta.e_tag.clone();
            seen.last_modified = Some(meta.last_modified.to_rfc2822());
        }
    }

    fn record(&self, result: &Result<HttpResponse, HttpError>) {
        let Ok(mut seen) = self.0.lock() else { return };
        let tries = seen.tries.saturating_add(1);
        *seen = Seen {
            tries,
            ..Seen::default()
        };
        match result {
            Ok(r) => {
                let header = |name: &str| {
                    r.headers()
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned)
                };
                seen.status = Some(r.status().as_u16());
                seen.reason = r.status().canonical_reason();
                seen.etag = header("etag");
                seen.last_modified = header("last-modified");
                seen.content_range = header("content-range");
                seen.content_length = header("content-length");
            }
            Err(e) => {
                seen.transport = Some(e.kind());
                seen.certificate = certificate_problem(e);
            }
        }
    }
}

/// What a refused TLS certificate's error says, if `e` is one: rustls' words ("invalid peer
/// certificate: UnknownIssuer") somewhere in the chain.
fn certificate_problem(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut cur = Some(e);
    while let Some(err) = cur {
        let s = err.to_string();
        if s.to_ascii_lowercase().contains("certificate") {
            return Some(s);
        }
        cur = err.source();
    }
    None
}

/// A refused certificate, as an error object_store does not retry.
#[derive(Debug)]
struct CertificateRefused(String);

impl fmt::Display for CertificateRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CertificateRefused {}

/// object_store's reqwest client, with every answer recorded in the request's [`Probe`].
#[derive(Debug)]
struct ProbingService(HttpClient);

impl HttpService for ProbingService {
    fn call<'a, 'b>(
        &'a self,
        req: HttpRequest,
    ) -> Pin<Box<dyn Future<Output = Result<HttpResponse, HttpError>> + Send + 'b>>
    where
        'a: 'b,
        Self: 'b,
    {
        Box::pin(async move {
            let probe = req.extensions().get::<Probe>().cloned();
            let result = self.0.execute(req).await;
            if let Some(p) = probe {
                p.record(&result);
            }
            match result {
                // Another try meets the same certificate: object_store retries connection
                // errors, but not `Unknown` ones.
                Err(e) => match certificate_problem(&e) {
                    Some(what) => Err(HttpError::new(
                        HttpErrorKind::Unknown,
                        CertificateRefused(what),
                    )),
                    None => Err(e),
                },
                ok => ok,
            }
        })
    }
}

#[derive(Debug, Default)]
struct ProbingConnector;

impl HttpConnector for ProbingConnector {
    fn connect(&self, options: &ClientOptions) -> object_store::Result<HttpClient> {
        let inner = ReqwestConnector::default().connect(options)?;
        Ok(HttpClient::new(ProbingService(inner)))
    }
}

// ------------------------------------------------------------------------------ the store

/// `AWS_EC2_METADATA_DISABLED=true` and no credentials from the environment: object_store
/// does not read that variable and would fall back to the instance-metadata service, so the
/// requests go unsigned instead (a public bucket reads; a private one answers 403).
fn metadata_disabled_without_credentials() -> bool {
    let set = |k: &str| std::env::var_os(k).is_some_and(|v| !v.is_empty());
    std::env::var("AWS_EC2_METADATA_DISABLED").is_ok_and(|v| v.eq_ignore_ascii_case("true"))
        && !set("AWS_ACCESS_KEY_ID")
        && !set("AWS_WEB_IDENTITY_TOKEN_FILE")
        && !set("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
        && !set("AWS_CONTAINER_CREDENTIALS_FULL_URI")
}

/// Makes ring rustls's process-wide crypto provider, unless the program has installed one:
/// reqwest is built without a provider of its own (see `Cargo.toml`), and asks rustls for
/// the process default when it sets up TLS.
fn install_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // An error means another thread installed one first, which serves as well.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

/// A parsed URL: the store that serves it, the object's path there, and a printable name.
fn build_store(
    url: &str,
    options: &RemoteOptions,
) -> Result<(Arc<dyn ObjectStore>, Path, String), RemoteError> {
    let bad = |msg: String| RemoteError::new(RemoteErrorKind::InvalidUrl, url, msg);
    let parsed = url::Url::parse(url).map_err(|e| bad(format!("not a URL: {e}")))?;
    let path_of = |p: &str| {
        let path = Path::from_url_path(p).map_err(|e| bad(format!("bad object path: {e}")))?;
        if path.as_ref().is_empty() || p.ends_with('/') {
            return Err(bad("the URL names no object (it ends with '/')".into()));
        }
        Ok(path)
    };
    install_crypto_provider();
    let agent = concat!("quire/", env!("CARGO_PKG_VERSION"));
    let store_err = |e: object_store::Error| bad(format!("cannot set up the client: {e}"));
    match parsed.scheme() {
        "http" | "https" => {
            let host = parsed.host_str().ok_or_else(|| bad("no host".into()))?;
            let path = path_of(parsed.path())?;
            let mut base = parsed.clone();
            base.set_path("/");
            base.set_fragment(None);
            // The name printed in messages: no credentials, no query (it may hold a signature).
            let port = parsed.port().map(|p| format!(":{p}")).unwrap_or_default();
            let name = format!("{}://{host}{port}{}", parsed.scheme(), parsed.path());
            let client = ClientOptions::new()
                .with_allow_http(true)
                .with_timeout(options.request_timeout)
                .with_connect_timeout(options.connect_timeout)
                .with_config(ClientConfigKey::UserAgent, agent);
            let store = HttpBuilder::new()
                .with_url(base.as_str())
                .with_client_options(client)
                .with_retry(options.retry_config())
                .with_http_connector(ProbingConnector)
                .build()
                .map_err(store_err)?;
            Ok((Arc::new(store), path, name))
        }
        "s3" => {
            let bucket = parsed
                .host_str()
                .filter(|b| !b.is_empty())
                .ok_or_else(|| bad("no bucket (s3://BUCKET/KEY)".into()))?
                .to_owned();
            if parsed.query().is_some() || parsed.fragment().is_some() {
                return Err(bad("an s3:// URL takes no query or fragment".into()));
            }
            let path = path_of(parsed.path())?;
            let name = format!("s3://{bucket}/{path}");
            let ms = |d: Duration| format!("{}ms", d.as_millis().max(1));
            // Endpoint, region, credentials, AWS_ALLOW_HTTP, … from the AWS_* environment.
            let mut builder = AmazonS3Builder::from_env();
            if metadata_disabled_without_credentials() {
                // object_store would ask the instance-metadata service for credentials.
                builder = builder.with_skip_signature(true);
            }
            let store = builder
                .with_bucket_name(bucket)
                .with_config(
                    AmazonS3ConfigKey::Client(ClientConfigKey::Timeout),
                    ms(options.request_timeout),
                )
                .with_config(
                    AmazonS3ConfigKey::Client(ClientConfigKey::ConnectTimeout),
                    ms(options.connect_timeout),
                )
                .with_config(AmazonS3ConfigKey::Client(ClientConfigKey::UserAgent), agent)
                .with_retry(options.retry_config())
                .with_http_connector(ProbingConnector)
                .build()
                .map_err(store_err)?;
            Ok((Arc::new(store), path, name))
        }
        other => Err(bad(format!(
            "unsupported scheme {other:?} (http://, https:// or s3://BUCKET/KEY)"
        ))),
    }
}

// ------------------------------------------------------------------------------------ fetching

/// The version pinned at open, sent with every later request and checked in every answer.
#[derive(Debug, Clone, Default)]
struct Version {
    etag: Option<String>,
    last_modified: Option<String>,
}

impl Version {
    /// What identified the version at open, in words.
    fn describe_tag(&self) -> String {
        match (&self.etag, &self.last_modified) {
            (Some(e), _) => format!("ETag {e}"),
            (_, Some(lm)) => format!("Last-Modified {lm}"),
            _ => "size (the server gave no ETag or Last-Modified)".into(),
        }
    }

    /// The condition sent, as a header line.
    fn describe(&self) -> String {
        match (&self.etag, &self.last_modified) {
            (Some(e), _) if !e.starts_with("W/") => format!("If-Match: {e}"),
            (_, Some(lm)) => format!("If-Unmodified-Since: {lm}"),
            _ => "no condition".into(),
        }
    }
}

type Shared = Arc<tokio::sync::OnceCell<Result<Bytes, RemoteError>>>;

/// Everything a source's requests share; the futures own an `Arc` of it.
struct Inner {
    store: Arc<dyn ObjectStore>,
    path: Path,
    name: String,
    len: u64,
    version: Version,
    /// The conditions every request after the first carries.
    conditions: GetOptions,
    options: RemoteOptions,
    prelude: Bytes,
    cache: Mutex<RangeCache>,
    /// Fetches under way, by range: a second reader of the same range waits for the first.
    inflight: Mutex<HashMap<(u64, u64), Shared>>,
    permits: tokio::sync::Semaphore,
    requests: AtomicU64,
    bytes: AtomicU64,
    hits: AtomicU64,
    /// When a revalidation last found the object unchanged: another within a second is
    /// not sent (a damaged archive read block after block asks again and again).
    unchanged_at: Mutex<Option<std::time::Instant>>,
    /// The process that opened the source: its HTTP connections belong to that process's
    /// runtime, so a child made by `fork()` cannot use them.
    pid: u32,
}

/// One range's answer as object_store gave it.
struct Answer {
    bytes: Bytes,
    total: u64,
    got: Range<u64>,
    last_modified: chrono::DateTime<chrono::Utc>,
}

/// One ranged GET with `options`, its body read up to `want` bytes at most; the status,
/// headers and transport errors classified into [`RemoteError`]s.
async fn get_range(
    store: &dyn ObjectStore,
    path: &Path,
    name: &str,
    mut options: GetOptions,
    range: Range<u64>,
    deadline: Duration,
    version: Option<&Version>,
) -> (Result<Answer, RemoteError>, Seen) {
    let probe = Probe::default();
    options.range = Some(GetRange::Bounded(range.clone()));
    options.extensions.insert(probe.clone());
    let asked = format!(
        "Range: bytes={}-{}",
        range.start,
        range.end.saturating_sub(1)
    );
    let work = async {
        let result = store.get_opts(path, options).await.map_err(|e| {
            probe.direct(None);
            classify(&e, &probe.seen(), name, &asked, version)
        })?;
        probe.direct(Some(&result.meta));
        let total = result.meta.size;
        let last_modified = result.meta.last_modified;
        let got = result.range.clone();
        // Bodies are read as they come, never more than asked: a hostile server cannot make
        // this buffer more than the range.
        let want = usize::try_from(got.end - got.start)
            .map_err(|_| RemoteError::new(RemoteErrorKind::BadResponse, name, "range too long"))?;
        let mut body = Vec::with_capacity(want.min(16 << 20));
        let mut stream = result.into_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| {
                let seen = probe.seen();
                match transport_kind(&e) {
                    Some(HttpErrorKind::Timeout) => RemoteError::new(
                        RemoteErrorKind::Timeout,
                        name,
                        format!(
                            "timed out after {} of the {want} bytes of {asked} ({})",
                            body.len(),
                            root(&e)
                        ),
                    ),
                    _ if seen.status == Some(412) => classify(&e, &seen, name, &asked, version),
                    _ => RemoteError::new(
                        RemoteErrorKind::ShortRead,
                        name,
                        format!(
                            "short read: the answer to {asked} ended after {} of {want} bytes ({})",
                            body.len(),
                            root(&e)
                        ),
                    ),
                }
            })?;
            if chunk.len() > want - body.len() {
                return Err(RemoteError::new(
                    RemoteErrorKind::BadResponse,
                    name,
                    format!("the server sent more than the {want} bytes of {asked}"),
                ));
            }
            body.extend_from_slice(&chunk);
        }
        if body.len() < want {
            return Err(RemoteError::new(
                RemoteErrorKind::ShortRead,
                name,
                format!(
                    "short read: the answer to {asked} ended after {} of {want} bytes",
                    body.len()
                ),
            ));
        }
        Ok(Answer {
            bytes: Bytes::from(body),
            total,
            got,
            last_modified,
        })
    };
    let result = match tokio::time::timeout(deadline, work).await {
        Ok(r) => r,
        Err(_) => Err({
            // A request that never answered was still sent: counted.
            probe.unanswered();
            RemoteError::new(
                RemoteErrorKind::Timeout,
                name,
                format!(
                    "no complete answer to {asked} within {:.1} s",
                    deadline.as_secs_f64()
                ),
            )
        }),
    };
    (result, probe.seen())
}

/// Whether `e` is object_store failing to get S3 credentials: with none in the environment
/// it asks the instance-metadata service (169.254.169.254), whose error it returns.
fn no_credentials(e: &(dyn std::error::Error + 'static)) -> bool {
    let text = chain(e).to_ascii_lowercase();
    ["169.254.169.254", "metadata", "credential"]
        .iter()
        .any(|w| text.contains(w))
}

/// The kind of the first [`HttpError`] in `e`'s source chain.
fn transport_kind(e: &(dyn std::error::Error + 'static)) -> Option<HttpErrorKind> {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if let Some(h) = err.downcast_ref::<HttpError>() {
            return Some(h.kind());
        }
        cur = err.source();
    }
    None
}

/// The kind of the first [`io::Error`] in `e`'s source chain.
fn io_kind(e: &(dyn std::error::Error + 'static)) -> Option<io::ErrorKind> {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<io::Error>() {
            return Some(io.kind());
        }
        cur = err.source();
    }
    None
}

/// `e` and its sources, joined: object_store's own message names the request and its tries.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(err) = cur {
        let s = err.to_string();
        if !out.contains(&s) {
            out.push_str(": ");
            out.push_str(&s);
        }
        cur = err.source();
    }
    out
}

/// The innermost cause of `e`: for a transport error, what the socket said.
fn root(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// An object_store error, read with what the probe saw of the last try.
fn classify(
    e: &object_store::Error,
    seen: &Seen,
    name: &str,
    asked: &str,
    version: Option<&Version>,
) -> RemoteError {
    use RemoteErrorKind::*;
    let status = seen.status.map(|s| {
        format!("{s} {}", seen.reason.unwrap_or(""))
            .trim_end()
            .to_owned()
    });
    let tries = match seen.tries {
        0 | 1 => String::new(),
        n => format!(" after {n} tries"),
    };
    let err = |kind, msg: String| RemoteError::new(kind, name, msg);
    match seen.status {
        Some(404) => err(NotFound, "not found (404)".into()),
        Some(401) | Some(403)
            if name.starts_with("s3://") && metadata_disabled_without_credentials() =>
        {
            err(
                NoCredentials,
                format!(
                    "no credentials for S3: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary ones), or AWS_SKIP_SIGNATURE=true for a public bucket (the server refused the unsigned request: {})",
                    status.clone().unwrap_or_default()
                ),
            )
        }
        Some(401) | Some(403) if name.starts_with("s3://") => err(
            Forbidden,
            format!(
                "access denied ({}): check the AWS_* credentials and the bucket's policy",
                status.unwrap_or_default()
            ),
        ),
        Some(401) | Some(403) => err(
            Forbidden,
            format!("access denied ({})", status.unwrap_or_default()),
        ),
        Some(412) => err(
            Changed,
            format!(
                "the archive changed on the server since it was opened (412 Precondition Failed to {asked} with {})",
                version.map(Version::describe).unwrap_or_default()
            ),
        ),
        Some(416) => err(
            RangeNotSatisfiable,
            format!(
                "416 range not satisfiable: {asked} (the object is now {})",
                seen.content_range.as_deref().unwrap_or("of unknown size")
            ),
        ),
        Some(s) if (200..300).contains(&s) && s != 206 => err(
            IgnoredRange,
            format!(
                "the server ignores Range: it answered {asked} with {} and the whole object; refused, nothing more read",
                status.unwrap_or_default()
            ),
        ),
        Some(206) => err(
            BadResponse,
            format!(
                "bad answer to {asked} (Content-Range {}): {}",
                seen.content_range.as_deref().unwrap_or("missing"),
                chain(e)
            ),
        ),
        Some(s) if s >= 500 || s == 429 || s == 408 => err(
            Server,
            format!("server error {}{tries}", status.unwrap_or_default()),
        ),
        Some(_) => err(
            Other,
            format!("unexpected status {}{tries}", status.unwrap_or_default()),
        ),
        None if seen.certificate.is_some() || certificate_problem(e).is_some() => err(
            Certificate,
            format!(
                "TLS certificate not accepted ({}); for a server whose certificate a private CA signed, set SSL_CERT_FILE to a PEM file holding that CA",
                seen.certificate.clone().or_else(|| certificate_problem(e)).unwrap_or_default()
            ),
        ),
        None if name.starts_with("s3://") && no_credentials(e) => err(
            NoCredentials,
            format!(
                "no credentials for S3: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary ones), or AWS_SKIP_SIGNATURE=true for a public bucket ({})",
                root(e)
            ),
        ),
        None => {
            let kind = seen.transport.or_else(|| transport_kind(e));
            match kind {
                Some(HttpErrorKind::Timeout) => err(
                    Timeout,
                    format!("timed out{tries}, {asked} ({})", root(e)),
                ),
                Some(HttpErrorKind::Connect) => {
                    err(Connect, format!("cannot connect{tries} ({})", root(e)))
                }
                Some(_) => err(Network, format!("connection failed{tries} ({})", root(e))),
                // No HTTP status or transport error: object_store's own variants, and the
                // io::Error in the chain of any other (a store that is not HTTP).
                None => match e {
                    object_store::Error::NotFound { .. } => err(NotFound, chain(e)),
                    object_store::Error::PermissionDenied { .. }
                    | object_store::Error::Unauthenticated { .. } => err(Forbidden, chain(e)),
                    object_store::Error::Precondition { .. } => err(
                        Changed,
                        format!(
                            "the archive changed since it was opened ({asked} with {}: {})",
                            version.map(Version::describe).unwrap_or_default(),
                            chain(e)
                        ),
                    ),
                    object_store::Error::NotModified { .. } => err(
                        BadResponse,
                        format!("'not modified' to {asked}, which asked no such condition ({})", chain(e)),
                    ),
                    object_store::Error::InvalidPath { .. } => err(InvalidUrl, chain(e)),
                    _ => match io_kind(e) {
                        Some(io::ErrorKind::TimedOut) => {
                            err(Timeout, format!("timed out{tries}, {asked} ({})", chain(e)))
                        }
                        Some(io::ErrorKind::ConnectionRefused) => {
                            err(Connect, format!("cannot connect{tries} ({})", chain(e)))
                        }
                        Some(
                            io::ErrorKind::ConnectionReset
                            | io::ErrorKind::ConnectionAborted
                            | io::ErrorKind::BrokenPipe,
                        ) => err(Network, format!("connection failed{tries} ({})", chain(e))),
                        _ => err(Other, chain(e)),
                    },
                },
            }
        }
    }
}

impl Inner {
    fn err(&self, kind: RemoteErrorKind, message: String) -> RemoteError {
        RemoteError::new(kind, &self.name, message)
    }

    /// An error when called in another process than the one that opened the source (a
    /// child made by `fork()`), whose connections it cannot use.
    fn same_process(&self) -> io::Result<()> {
        if std::process::id() == self.pid {
            return Ok(());
        }
        Err(self
            .err(
                RemoteErrorKind::Other,
                "opened in another process (before a fork): open the URL again in this one".into(),
            )
            .into())
    }

    /// One request for `range` under the pinned version, every answer checked against it.
    async fn fetch(self: Arc<Self>, range: Range<u64>) -> Result<Bytes, RemoteError> {
        let _permit =
            self.permits.acquire().await.map_err(|_| {
                self.err(RemoteErrorKind::Other, "the source is shutting down".into())
            })?;
        let (answer, seen) = get_range(
            &*self.store,
            &self.path,
            &self.name,
            self.conditions.clone(),
            range.clone(),
            self.options.deadline(),
            Some(&self.version),
        )
        .await;
        self.requests
            .fetch_add(u64::from(seen.tries), Ordering::Relaxed);
        let answer = answer?;
        self.bytes
            .fetch_add(answer.bytes.len() as u64, Ordering::Relaxed);
        let changed = |what: String| {
            self.err(
                RemoteErrorKind::Changed,
                format!("the archive changed on the server since it was opened ({what})"),
            )
        };
        if answer.total != self.len {
            return Err(changed(format!(
                "its size is now {}, was {}",
                answer.total, self.len
            )));
        }
        if self.version.etag.is_some() && seen.etag != self.version.etag {
            return Err(changed(format!(
                "ETag {} instead of {}",
                seen.etag.as_deref().unwrap_or("missing"),
                self.version.etag.as_deref().unwrap_or_default()
            )));
        }
        if self.version.last_modified.is_some() && seen.last_modified != self.version.last_modified
        {
            return Err(changed(format!(
                "Last-Modified {} instead of {}",
                seen.last_modified.as_deref().unwrap_or("missing"),
                self.version.last_modified.as_deref().unwrap_or_default()
            )));
        }
        if answer.got != range {
            return Err(self.err(
                RemoteErrorKind::BadResponse,
                format!(
                    "asked bytes {}..{}, got {}..{}",
                    range.start, range.end, answer.got.start, answer.got.end
                ),
            ));
        }
        Ok(answer.bytes)
    }

    /// Bytes of `r` from the prelude or the cache, if there.
    fn cached(&self, r: &Range<u64>) -> Option<Bytes> {
        if r.end <= self.prelude.len() as u64 {
            // r.end ≤ prelude length, a usize.
            return Some(self.prelude.slice(r.start as usize..r.end as usize));
        }
        let hit = self.cache.lock().ok()?.get(r);
        if hit.is_some() {
            self.hits.fetch_add(1, Ordering::Relaxed);
        }
        hit
    }

    /// Whether a fetch of `r` is under way.
    fn in_flight(&self, r: &Range<u64>) -> bool {
        self.inflight
            .lock()
            .is_ok_and(|m| m.contains_key(&(r.start, r.end)))
    }

    /// A fetch under way whose range holds all of `r` (a prefetch of neighbouring nodes that
    /// a read of one of them joins), if there is one: its shared answer and its start.
    fn in_flight_around(&self, r: &Range<u64>) -> Option<Range<u64>> {
        let m = self.inflight.lock().ok()?;
        m.keys()
            .find(|&&(start, end)| start <= r.start && r.end <= end)
            .map(|&(start, end)| start..end)
    }

    /// The shared fetch of `r`: joins one under way or starts one (registered at once, so a
    /// read right after a prefetch joins it). Resolves to the bytes, which are then cached.
    fn join_or_start(
        self: &Arc<Self>,
        r: Range<u64>,
    ) -> impl Future<Output = Result<Bytes, RemoteError>> + Send + 'static {
        let key = (r.start, r.end);
        let cell = match self.inflight.lock() {
            Ok(mut m) => m.entry(key).or_default().clone(),
            Err(_) => Shared::default(),
        };
        let inner = Arc::clone(self);
        async move {
            let result = cell
                .get_or_init(|| Arc::clone(&inner).fetch(r.clone()))
                .await
                .clone();
            if let Ok(bytes) = &result {
                if let Ok(mut c) = inner.cache.lock() {
                    c.insert(r.start, bytes.clone());
                }
            }
            if let Ok(mut m) = inner.inflight.lock() {
                if m.get(&key).is_some_and(|c| Arc::ptr_eq(c, &cell)) {
                    m.remove(&key);
                }
            }
            result
        }
    }
}

// ------------------------------------------------------------------------------- the source

/// An archive on an HTTP(S) server or in S3-compatible object storage, read by ranges
/// (the `remote` cargo feature).
///
/// [object_store](https://docs.rs/object_store) does the HTTP, the S3 signing, endpoints and
/// credentials; a small internal tokio runtime drives it, and the [`ByteSource`] methods block
/// until their bytes are there. What this type adds on top:
///
/// - **One request to open.** [`RemoteSource::open`] sends a single ranged GET for the first
///   `min(16 KiB, size)` bytes (the 3.0 prelude) and learns the object's size and version from
///   that answer — there is no separate HEAD.
/// - **A pinned version.** Every later request carries `If-Match: <ETag>` (or, when the server
///   gave no strong ETag, `If-Unmodified-Since: <Last-Modified>`), and every answer's ETag,
///   Last-Modified and total size are compared with those seen at open. A replaced object is an
///   error of kind [`RemoteErrorKind::Changed`], never bytes of another version. Retries carry
///   the same condition.
/// - **A bounded cache** of fetched ranges ([`RemoteOptions::cache_bytes`], least recently used
///   evicted first, by bytes); the first 16 KiB are kept for the life of the source. A read is
///   served from the cache when its range lies inside one cached range.
/// - **Parallel reads.** [`read_many`](ByteSource::read_many) fetches the ranges it misses in
///   parallel, one request per distinct range (distant ranges are never merged);
///   [`prefetch`](ByteSource::prefetch) starts fetches in the background; concurrent reads of
///   one range share one request.
/// - **Faults as kinds.** Every error is an [`io::Error`] carrying a [`RemoteError`]: one line
///   that names the URL and says what happened, and a [`RemoteErrorKind`] that
///   [`remote_error_kind`] extracts so that a program (the CLI) can map it to an exit code. No
///   answer is buffered past the range asked: a server that ignores `Range` is refused at its
///   headers, one that sends too much is cut off.
///
/// What it cannot see: a server without ETag and Last-Modified gives nothing to pin but the
/// size, and a file swapped for another of the same size and modification time keeps its ETag
/// on servers that derive the ETag from those two (nginx, Apache; likewise `If-Unmodified-Since`
/// has a resolution of one second). Such a swap is caught by the format's checksum chain in the
/// reader, not here.
///
/// # Calling from async code
///
/// The methods block the calling thread while the internal runtime does the I/O. That is safe
/// from any thread, including a worker of the caller's own tokio runtime (nothing panics, as a
/// nested `Runtime::block_on` would), but it stalls that worker for the duration: from async
/// code, call them through `tokio::task::spawn_blocking`.
///
/// A `RemoteSource` is `Send + Sync`: share one behind an `Arc` (its cache with it).
pub struct RemoteSource {
    inner: Arc<Inner>,
}

impl fmt::Debug for RemoteSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteSource")
            .field("url", &self.inner.name)
            .field("len", &self.inner.len)
            .field("version", &self.inner.version)
            .finish_non_exhaustive()
    }
}

/// What a [`RemoteSource`] has cost so far, as the client counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct RemoteStats {
    /// HTTP requests sent, open's included, every retry counted.
    pub requests: u64,
    /// Body bytes received.
    pub bytes: u64,
    /// Reads served from the cache (the first 16 KiB not counted).
    pub cache_hits: u64,
}

impl RemoteSource {
    /// Opens the object at `url`: `http://…`, `https://…` or `s3://BUCKET/KEY`.
    ///
    /// This makes **one request**: a GET of the first `min(16 KiB, size)` bytes, whose answer
    /// gives the object's size (`Content-Range`) and version (ETag, else Last-Modified), which
    /// every later request then pins. For `s3://` the endpoint, region and credentials come
    /// from the usual environment variables (`AWS_ENDPOINT_URL`, `AWS_REGION`,
    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_ALLOW_HTTP`
    /// for a plain-http endpoint, `AWS_SKIP_SIGNATURE=true` for a public bucket, …), so MinIO
    /// and other S3-compatible stores work; with `AWS_EC2_METADATA_DISABLED=true` and no
    /// credentials the requests go unsigned rather than to the instance-metadata service.
    /// Errors carry a [`RemoteErrorKind`] ([`remote_error_kind`]).
    ///
    /// ```no_run
    /// use quire::source::{ByteSource, RemoteOptions, RemoteSource};
    ///
    /// let source = RemoteSource::open(
    ///     "https://example.org/news.quire",
    ///     RemoteOptions::new().cache_bytes(128 << 20),
    /// )?;
    /// println!("{} bytes, {:?}", source.size(), source.etag());
    /// let head = source.read_at(0, 16)?; // from the first 16 KiB: no request
    /// let parts = source.read_many(&[100_000..116_384, 900_000..916_384])?; // 2 in parallel
    /// assert_eq!((head.len(), parts.len()), (16, 2));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn open(url: &str, options: RemoteOptions) -> io::Result<RemoteSource> {
        let (store, path, name) = build_store(url, &options)?;
        Self::from_store(store, path, &name, options)
    }

    /// Opens the object at `path` in `store`, as [`open`](Self::open) does once it has built
    /// the store for a URL (`open` calls it): one request for the first `min(16 KiB, size)`
    /// bytes, which gives the size and the version (ETag, else Last-Modified) that every later
    /// request then pins, and the same checks, cache, parallelism and errors. `name` is what
    /// messages and [`describe`](ByteSource::describe) call the object.
    ///
    /// For a store that is not one `open` builds (object_store's in-memory store, a
    /// throttled or fault-injecting wrapper, a local directory):
    /// - the version comes from the store's own metadata (`ObjectMeta::e_tag` and
    ///   `last_modified`), since there are no HTTP headers to read;
    /// - errors are classified from object_store's own error variants (`NotFound`,
    ///   `Precondition`, `NotModified`, …) and the `io::Error`s in their chain, since the HTTP
    ///   statuses that `open`'s stores let it see are not there;
    /// - the store's own retry policy applies: `options`' timeouts and retries configure the
    ///   HTTP clients that `open` builds, and here only bound a fetch as a whole.
    ///
    /// Hidden from the docs: it puts object_store's types (`ObjectStore`, its `Path`) into
    /// quire's API, which would tie quire's semver to that 0.x crate's. It is there so that
    /// tests can run the [`ByteSource`] contract over in-process stores
    /// (`tests/byte_source.rs`), with no server and no network.
    #[doc(hidden)]
    pub fn from_store(
        store: Arc<dyn ObjectStore>,
        path: Path,
        name: &str,
        options: RemoteOptions,
    ) -> io::Result<RemoteSource> {
        let name = name.to_owned();
        let deadline = options.deadline();
        let (s, p, n) = (Arc::clone(&store), path.clone(), name.clone());
        let (answer, seen) = block_on(&name, async move {
            let r = get_range(
                &*s,
                &p,
                &n,
                GetOptions::default(),
                0..PRELUDE_LEN,
                deadline,
                None,
            );
            Ok(r.await)
        })?;
        let answer = match answer {
            Ok(a) => a,
            // `bytes=0-16383` of an empty object is 416 with `Content-Range: bytes */0`
            // (S3) or 200 with an empty body (nginx: no range of nothing to satisfy): an
            // empty source, with nothing to pin and nothing to read.
            Err(e)
                if (e.kind == RemoteErrorKind::RangeNotSatisfiable
                    && seen.content_range.as_deref().map(str::trim) == Some("bytes */0"))
                    || (e.kind == RemoteErrorKind::IgnoredRange
                        && seen.status == Some(200)
                        && seen.content_length.as_deref().map(str::trim) == Some("0")) =>
            {
                Answer {
                    bytes: Bytes::new(),
                    total: 0,
                    got: 0..0,
                    last_modified: chrono::DateTime::UNIX_EPOCH,
                }
            }
            // A store that is not HTTP refuses a range of an empty object in its own words
            // (object_store: "wanted range starting at 0, but object was only 0 bytes long"):
            // its size, asked once, tells.
            Err(e) if seen.direct && e.kind == RemoteErrorKind::Other => {
                let (s, p) = (Arc::clone(&store), path.clone());
                let empty = block_on(&name, async move {
                    let head = GetOptions {
                        head: true,
                        ..GetOptions::default()
                    };
                    Ok(s.get_opts(&p, head).await.is_ok_and(|r| r.meta.size == 0))
                })?;
                if !empty {
                    return Err(e.into());
                }
                Answer {
                    bytes: Bytes::new(),
                    total: 0,
                    got: 0..0,
                    last_modified: chrono::DateTime::UNIX_EPOCH,
                }
            }
            Err(e) => return Err(e.into()),
        };
        let want = answer.total.min(PRELUDE_LEN);
        if answer.got != (0..want) || answer.bytes.len() as u64 != want {
            return Err(RemoteError::new(
                RemoteErrorKind::BadResponse,
                &name,
                format!(
                    "asked the first {want} bytes, got bytes {}..{}",
                    answer.got.start, answer.got.end
                ),
            )
            .into());
        }
        // Pin the version: a strong ETag with If-Match, else Last-Modified with
        // If-Unmodified-Since (a weak ETag never matches If-Match, but is still compared).
        let mut conditions = GetOptions::default();
        match (&seen.etag, &seen.last_modified) {
            (Some(etag), _) if !etag.starts_with("W/") => conditions.if_match = Some(etag.clone()),
            // object_store parsed the header (it sends it back in the same format).
            (_, Some(_)) => conditions.if_unmodified_since = Some(answer.last_modified),
            _ => {}
        }
        let version = Version {
            etag: seen.etag.clone(),
            last_modified: seen.last_modified.clone(),
        };
        let inner = Inner {
            store,
            path,
            name,
            len: answer.total,
            version,
            conditions,
            prelude: answer.bytes,
            cache: Mutex::new(RangeCache::new(options.cache_bytes)),
            inflight: Mutex::new(HashMap::new()),
            permits: tokio::sync::Semaphore::new(options.parallelism),
            requests: AtomicU64::new(u64::from(seen.tries.max(1))),
            bytes: AtomicU64::new(want),
            hits: AtomicU64::new(0),
            unchanged_at: Mutex::new(None),
            pid: std::process::id(),
            options,
        };
        Ok(RemoteSource {
            inner: Arc::new(inner),
        })
    }

    /// The ETag the object had at open, if the server gave one.
    pub fn etag(&self) -> Option<&str> {
        self.inner.version.etag.as_deref()
    }

    /// The `Last-Modified` the object had at open, if the server gave one.
    pub fn last_modified(&self) -> Option<&str> {
        self.inner.version.last_modified.as_deref()
    }

    /// Requests, bytes and cache hits so far.
    pub fn stats(&self) -> RemoteStats {
        RemoteStats {
            requests: self.inner.requests.load(Ordering::Relaxed),
            bytes: self.inner.bytes.load(Ordering::Relaxed),
            cache_hits: self.inner.hits.load(Ordering::Relaxed),
        }
    }

    /// The options the source was opened with.
    pub fn options(&self) -> &RemoteOptions {
        &self.inner.options
    }
}

impl ByteSource for RemoteSource {
    fn size(&self) -> u64 {
        self.inner.len
    }

    fn read_at(&self, offset: u64, len: usize) -> io::Result<Cow<'_, [u8]>> {
        let r = check_range(offset, len, self.inner.len)?;
        self.inner.same_process()?;
        if len == 0 {
            return Ok(Cow::Borrowed(&[]));
        }
        if r.end <= self.inner.prelude.len() as u64 {
            // Both ends ≤ the prelude's length, a usize.
            return Ok(Cow::Borrowed(
                &self.inner.prelude[r.start as usize..r.end as usize],
            ));
        }
        if let Some(bytes) = self.inner.cached(&r) {
            return Ok(Cow::Owned(bytes.to_vec()));
        }
        // A range that starts in the first 16 KiB: only the rest is fetched (and looked for
        // in the cache, where a prefetch of it put it), so that a reader going through the
        // whole file (verify) gets each byte once.
        let held = (self.inner.prelude.len() as u64).min(r.end);
        let rest = r.start.max(held)..r.end;
        let tail = match self.inner.cached(&rest) {
            Some(bytes) => bytes,
            None => match self.inner.in_flight_around(&rest) {
                // A wider fetch under way (a prefetch): wait for it rather than ask again.
                Some(outer) => {
                    let start = outer.start;
                    let b = block_on(&self.inner.name, self.inner.join_or_start(outer))?;
                    // rest lies inside outer, whose bytes (checked by fetch) are a usize long.
                    let (a, z) = ((rest.start - start) as usize, (rest.end - start) as usize);
                    if z <= b.len() {
                        b.slice(a..z)
                    } else {
                        block_on(&self.inner.name, self.inner.join_or_start(rest))?
                    }
                }
                None => block_on(&self.inner.name, self.inner.join_or_start(rest))?,
            },
        };
        if r.start >= held {
            return Ok(Cow::Owned(Vec::from(tail)));
        }
        let mut out = Vec::with_capacity(len);
        // r.start < held ≤ the prelude's length, a usize.
        out.extend_from_slice(&self.inner.prelude[r.start as usize..held as usize]);
        out.extend_from_slice(&tail);
        Ok(Cow::Owned(out))
    }

    fn read_many(&self, ranges: &[Range<u64>]) -> io::Result<Vec<Cow<'_, [u8]>>> {
        self.inner.same_process()?;
        let mut checked = Vec::with_capacity(ranges.len());
        for r in ranges {
            checked.push(check_range(r.start, super::range_len(r)?, self.inner.len)?);
        }
        // What the prelude and the cache hold now; the rest fetched in parallel, each
        // distinct range once.
        let mut have: HashMap<(u64, u64), Bytes> = HashMap::new();
        let mut missing: Vec<Range<u64>> = Vec::new();
        for r in &checked {
            let key = (r.start, r.end);
            if r.start == r.end || have.contains_key(&key) || missing.contains(r) {
                continue;
            }
            match self.inner.cached(r) {
                Some(b) => {
                    have.insert(key, b);
                }
                None => missing.push(r.clone()),
            }
        }
        if !missing.is_empty() {
            let futures: Vec<_> = missing
                .iter()
                .map(|r| self.inner.join_or_start(r.clone()))
                .collect();
            let name = self.inner.name.clone();
            let fetched = block_on(&self.inner.name, async move {
                let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
                let mut out = Vec::with_capacity(handles.len());
                for h in handles {
                    out.push(h.await.unwrap_or_else(|e| {
                        Err(RemoteError::new(
                            RemoteErrorKind::Other,
                            &name,
                            format!("a fetch task failed: {e}"),
                        ))
                    }));
                }
                Ok(out)
            })?;
            // The first failure in the order asked.
            for (r, result) in missing.iter().zip(fetched) {
                have.insert((r.start, r.end), result.map_err(io::Error::from)?);
            }
        }
        let prelude = &self.inner.prelude;
        let mut out = Vec::with_capacity(checked.len());
        for r in &checked {
            if r.start == r.end {
                out.push(Cow::Borrowed(&[][..]));
            } else if r.end <= prelude.len() as u64 {
                // Both ends ≤ the prelude's length, a usize.
                out.push(Cow::Borrowed(&prelude[r.start as usize..r.end as usize]));
            } else {
                let bytes = have.get(&(r.start, r.end)).ok_or_else(|| {
                    self.inner
                        .err(RemoteErrorKind::Other, "a range went missing".into())
                })?;
                out.push(Cow::Owned(bytes.to_vec()));
            }
        }
        Ok(out)
    }

    /// Starts fetching the ranges not cached yet, in the background, without waiting; a
    /// later read of one of them joins its fetch. Ranges past the end or larger than the
    /// cache are ignored; errors are not reported (the read that needs the range will see
    /// them).
    fn prefetch(&self, ranges: &[Range<u64>]) {
        if self.inner.same_process().is_err() {
            return;
        }
        let Ok(rt) = runtime() else { return };
        for r in ranges {
            let Ok(len) = super::range_len(r) else {
                continue;
            };
            let Ok(mut r) = check_range(r.start, len, self.inner.len) else {
                continue;
            };
            // As read_at asks for it: past the first 16 KiB, which are held.
            r.start = r.start.max((self.inner.prelude.len() as u64).min(r.end));
            let len = (r.end - r.start) as usize;
            if len == 0
                || len > self.inner.options.cache_bytes
                || self.inner.in_flight(&r)
                || self.inner.cached(&r).is_some()
            {
                continue;
            }
            let fut = self.inner.join_or_start(r);
            rt.spawn(fut);
        }
    }

    /// Reads the first range again (the one read at open), past the cache, and compares:
    /// a different version tag or size, or the same tag over different bytes, is
    /// [`RemoteErrorKind::Changed`]. Not sent again within a second of finding it unchanged.
    fn revalidate(&self) -> io::Result<()> {
        let inner = &self.inner;
        inner.same_process()?;
        let recent = inner
            .unchanged_at
            .lock()
            .ok()
            .and_then(|t| *t)
            .is_some_and(|t| t.elapsed() < Duration::from_secs(1));
        if recent || inner.prelude.is_empty() {
            return Ok(());
        }
        let fut = Arc::clone(inner).fetch(0..inner.prelude.len() as u64);
        let now = block_on(&inner.name, fut)?;
        if now != inner.prelude {
            return Err(inner
                .err(
                    RemoteErrorKind::Changed,
                    format!(
                        "the archive changed on the server since it was opened (its first {} bytes differ under the same {})",
                        now.len(),
                        inner.version.describe_tag()
                    ),
                )
                .into());
        }
        if let Ok(mut t) = inner.unchanged_at.lock() {
            *t = Some(std::time::Instant::now());
        }
        Ok(())
    }

    fn is_remote(&self) -> bool {
        true
    }

    fn describe(&self) -> String {
        self.inner.name.clone()
    }
}
