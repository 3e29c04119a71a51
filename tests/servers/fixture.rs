//! Real test servers for Rust integration tests: nginx (`nginx.sh`) and moto's S3 (`s3.sh`),
//! each on a free loopback port in its own temporary directory, stopped on drop, with its
//! access log read back as [`Request`]s — what reached the server, counted from its side.
//!
//! Used by `tests/remote.rs` as `#[path = "servers/fixture.rs"] mod fixture;`. A server that
//! cannot be installed or started is a test failure with `CI=true`, and otherwise a skip: the
//! start functions print a `skip:` line and return `None`.

#![allow(dead_code)] // each test binary uses part of it

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// `tests/servers`, where the scripts are: under the package's directory for the library's
/// tests, one level up for the CLI's (`cli/tests/remote.rs` includes this file too).
pub fn scripts() -> PathBuf {
    let package = Path::new(env!("CARGO_MANIFEST_DIR"));
    let here = package.join("tests/servers");
    if here.join("nginx.sh").is_file() {
        return here;
    }
    package.join("../tests/servers")
}

/// Whether this is a CI run (`CI=true`): a missing server fails instead of skipping.
pub fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// A server is unavailable: panics under CI, else prints why the test is skipped.
pub fn unavailable(what: &str, why: &str) {
    let why = why.trim();
    if ci() {
        panic!("{what} is needed (CI=true makes a missing server a failure): {why}");
    }
    eprintln!("skip: {what} could not be started here, so this test checks nothing ({why}); with CI=true this fails");
}

/// A free port on 127.0.0.1 (bound, then released for the server to take).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind 127.0.0.1:0")
}

/// Runs `bash SCRIPT ARGS…`; `Err` with its stderr when it fails.
fn script(name: &str, args: &[&str], envs: &[(&str, &str)]) -> Result<String, String> {
    let mut cmd = Command::new("bash");
    cmd.arg(scripts().join(name)).args(args);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {name}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "{name} {}: {}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// One request as the server logged it (the same fields `log.py` prints).
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// The request target, with its query.
    pub path: String,
    pub range: Option<String>,
    pub status: u16,
    /// Body bytes the server sent.
    pub bytes: u64,
    pub etag: Option<String>,
    pub if_match: Option<String>,
    pub if_unmodified_since: Option<String>,
    /// Connection (nginx: its serial; moto: the client's port).
    pub conn: u64,
    /// When the request ended (epoch seconds) and how long it took.
    pub end: f64,
    pub took: f64,
    /// moto only: whether the request was SigV4-signed.
    pub signed: bool,
}

impl Request {
    /// When the request started (epoch seconds).
    pub fn start(&self) -> f64 {
        self.end - self.took
    }
}

fn parse_log(path: &Path) -> Vec<Request> {
    let text = fs::read_to_string(path).unwrap_or_default();
    let text = match text.rfind('\n') {
        Some(i) => &text[..=i], // a line still being written is left for later
        None => "",
    };
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: serde_json::Value =
                serde_json::from_str(l).unwrap_or_else(|e| panic!("bad log line {l:?}: {e}"));
            let s = |k: &str| {
                v.get(k)
                    .and_then(|x| x.as_str())
                    .filter(|x| !x.is_empty() && *x != "-")
                    .map(str::to_owned)
            };
            let n = |k: &str| v.get(k).and_then(|x| x.as_f64()).unwrap_or(0.0);
            Request {
                method: s("method").unwrap_or_default(),
                path: s("uri").unwrap_or_default(),
                range: s("range"),
                status: n("status") as u16,
                bytes: n("body_bytes_sent") as u64,
                etag: s("etag"),
                if_match: s("if_match"),
                if_unmodified_since: s("if_unmodified_since"),
                conn: v
                    .get("conn")
                    .or_else(|| v.get("remote_port"))
                    .and_then(|x| x.as_u64())
                    .unwrap_or(0),
                end: n("time"),
                took: n("request_time"),
                signed: v.get("signed").and_then(|x| x.as_bool()).unwrap_or(false),
            }
        })
        .collect()
}

/// A server's access log, read from a mark on.
#[derive(Debug, Clone)]
pub struct Log {
    path: PathBuf,
    /// Records before this index belong to earlier steps (and, for moto, `s3.sh put`).
    mark: usize,
}

impl Log {
    pub fn new(path: PathBuf) -> Self {
        Log { path, mark: 0 }
    }

    /// Every record so far.
    pub fn all(&self) -> Vec<Request> {
        parse_log(&self.path)
    }

    /// Forgets the records so far (once no new one has come for 150 ms: a server writes its
    /// line just after the answer): later calls see only what comes after.
    pub fn mark(&mut self) {
        let mut n = self.all().len();
        loop {
            std::thread::sleep(Duration::from_millis(150));
            let now = self.all().len();
            if now == n {
                break;
            }
            n = now;
        }
        self.mark = n;
    }

    /// The records since the mark, once there are `n` of them (waiting up to 10 s, since a
    /// server writes its line just after the answer), and no more: after reaching `n` it
    /// waits 150 ms more for a straggler. Panics with the records when the count is not `n`.
    pub fn expect(&mut self, n: usize) -> Vec<Request> {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut got = self.since_mark();
        while got.len() < n && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
            got = self.since_mark();
        }
        std::thread::sleep(Duration::from_millis(150));
        got = self.since_mark();
        assert_eq!(
            got.len(),
            n,
            "want {n} requests to reach the server, it logged {}: {got:#?}",
            got.len()
        );
        self.mark += got.len();
        got
    }

    fn since_mark(&self) -> Vec<Request> {
        self.all().into_iter().skip(self.mark).collect()
    }
}

/// A private nginx serving `www()` on 127.0.0.1 over HTTP and HTTPS (a certificate signed by
/// a throwaway CA, [`ca_file`](Nginx::ca_file)), stopped when dropped.
pub struct Nginx {
    pub port: u16,
    pub tls_port: u16,
    pub log: Log,
    dir: tempfile::TempDir,
}

impl Nginx {
    /// Starts one (installing nginx from Debian if needed); `None` when that is impossible
    /// outside CI.
    pub fn start() -> Option<Nginx> {
        let dir = tempfile::Builder::new()
            .prefix("quire-nginx.")
            .tempdir()
            .expect("temp dir");
        let d = dir.path().to_str().expect("utf-8 temp path").to_owned();
        let mut last = String::new();
        for _ in 0..3 {
            let (port, tls_port) = (free_port(), free_port());
            let args = ["start", &d, &port.to_string(), &tls_port.to_string()];
            match script("nginx.sh", &args, &[]) {
                Ok(_) => {
                    return Some(Nginx {
                        port,
                        tls_port,
                        log: Log::new(dir.path().join("access.log")),
                        dir,
                    })
                }
                Err(e) => last = e,
            }
        }
        unavailable("nginx", &last);
        None
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// `https://127.0.0.1:TLS_PORT{path}`.
    pub fn https_url(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}{path}", self.tls_port)
    }

    /// The CA that signed the server's certificate (for `SSL_CERT_FILE`).
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("tls/ca.crt")
    }

    /// The document root.
    pub fn www(&self) -> PathBuf {
        self.dir.path().join("www")
    }

    /// Writes `bytes` as `www/NAME`.
    pub fn put(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.www().join(name);
        fs::write(&p, bytes).expect("write into www");
        p
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        if let Some(d) = self.dir.path().to_str() {
            let _ = script("nginx.sh", &["stop", d], &[]);
        }
    }
}

/// moto's S3 server on 127.0.0.1, stopped when dropped. Its [`S3Server`] (port, log,
/// uploads) can be handed to a child process through [`S3Server::to_env`].
pub struct S3 {
    pub server: S3Server,
    _dir: tempfile::TempDir,
}

/// What a test needs of a running moto: its port, its log, and uploads.
#[derive(Debug, Clone)]
pub struct S3Server {
    pub port: u16,
    pub log: Log,
    dir: PathBuf,
    venv: String,
}

/// The venv moto lives in: `QUIRE_S3_VENV`, else the one `smoke.sh` keeps in ~/.cache.
fn s3_venv() -> String {
    std::env::var("QUIRE_S3_VENV").unwrap_or_else(|_| {
        let cache = std::env::var("XDG_CACHE_HOME")
            .unwrap_or_else(|_| format!("{}/.cache", std::env::var("HOME").unwrap_or_default()));
        format!("{cache}/quire-test-servers/moto-venv")
    })
}

impl S3 {
    /// Starts one (installing moto into its venv if needed, ~30 s the first time); `None`
    /// when that is impossible outside CI.
    pub fn start() -> Option<S3> {
        let dir = tempfile::Builder::new()
            .prefix("quire-s3.")
            .tempdir()
            .expect("temp dir");
        let d = dir.path().to_str().expect("utf-8 temp path").to_owned();
        let venv = s3_venv();
        let mut last = String::new();
        for _ in 0..3 {
            let port = free_port();
            let env = [("QUIRE_S3_VENV", venv.as_str())];
            match script("s3.sh", &["start", &d, &port.to_string()], &env) {
                Ok(_) => {
                    let server = S3Server {
                        port,
                        log: Log::new(dir.path().join("access.log")),
                        dir: dir.path().to_path_buf(),
                        venv,
                    };
                    return Some(S3 { server, _dir: dir });
                }
                Err(e) => last = e,
            }
        }
        unavailable("moto (S3)", &last);
        None
    }
}

impl Drop for S3 {
    fn drop(&mut self) {
        if let Some(d) = self.server.dir.to_str() {
            let _ = script("s3.sh", &["stop", d], &[]);
        }
    }
}

impl S3Server {
    /// Uploads `bytes` as `s3://BUCKET/KEY` (creating the bucket); returns the ETag.
    pub fn put(&self, bucket: &str, key: &str, bytes: &[u8]) -> String {
        let file = self.dir.join("upload.bin");
        fs::write(&file, bytes).expect("write the upload");
        let d = self.dir.to_str().expect("utf-8");
        let f = file.to_str().expect("utf-8");
        let port = self.port.to_string();
        let env = [("QUIRE_S3_VENV", self.venv.as_str())];
        script("s3.sh", &["put", d, &port, bucket, key, f], &env)
            .unwrap_or_else(|e| panic!("s3.sh put: {e}"))
            .trim()
            .to_owned()
    }

    /// The client environment `s3.sh env PORT` prints (`AWS_ENDPOINT_URL`, …), as pairs.
    pub fn client_env(&self) -> Vec<(String, String)> {
        script("s3.sh", &["env", &self.port.to_string()], &[])
            .unwrap_or_else(|e| panic!("s3.sh env: {e}"))
            .lines()
            .filter_map(|l| l.strip_prefix("export ")?.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    /// This server as one environment variable's value, for a child process.
    pub fn to_env(&self) -> String {
        format!("{}\t{}\t{}", self.port, self.dir.display(), self.venv)
    }

    /// The server a parent passed in `value` ([`to_env`](S3Server::to_env)).
    pub fn from_env(value: &str) -> S3Server {
        let mut parts = value.split('\t');
        let port = parts.next().and_then(|p| p.parse().ok()).expect("port");
        let dir = PathBuf::from(parts.next().expect("dir"));
        let venv = parts.next().expect("venv").to_owned();
        S3Server {
            port,
            log: Log::new(dir.join("access.log")),
            dir,
            venv,
        }
    }
}

/// `len` bytes that differ with `seed` (splitmix64): files whose every range is distinct.
pub fn data(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        out.extend_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    out.truncate(len);
    out
}
