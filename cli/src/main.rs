//! `quire`: the command-line shell over the quire library.
//!
//! Exit codes: 0 success; 1 the archive is damaged: bytes that were read are wrong (for
//! `verify`: damage found; for `unpack`, `ls`, `get`: some entries could not be read, every
//! other one was written); 2 usage error; 3 `get` did not find some key; 4 input or output
//! error (files, the network, JSONL, refused keys, existing targets). A closed output pipe
//! ends any command quietly with 0.

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::OnceLock;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use quire::source::{AnySource, OpenOptions, RemoteError, RemoteOptions};
use quire::{Archive, ArchiveWriter, DictionaryMode, DuplicatePolicy, Overwrite, WriterOptions};
use quire_cli::ingest::{Input, Packer};
use quire_cli::output;
use quire_cli::show::shown;
use quire_cli::unpack::{self, UnpackOptions};
use quire_cli::Error;

const EXIT_CODES: &str = "\
Exit codes:
  0  success (also when the output pipe is closed early, as by `| head`)
  1  the archive is damaged: bytes that were read are wrong (verify: damage found; unpack,
     ls --long, get: some entries could not be read, every other one was written)
  2  usage error (unknown option, invalid value, --meta conflict, bad SOURCE_DATE_EPOCH)
  3  get: a key was not found
  4  input/output error: missing or unreadable files; the network (a timeout, a refused
     connection or certificate, 403, 404, 5xx, an answer cut short, a server that ignores
     Range, an archive that changed on the server since it was opened); bad JSONL, refused
     keys, existing targets without --force";

const ARCHIVE_HELP: &str = "\
ARCHIVE is a path, an http:// or https:// URL (read by ranges: the server must honour
Range), or s3://BUCKET/KEY. A URL is read with as few requests as the command needs.

Reading URLs (a flag wins over its variable):
  --timeout SECONDS  QUIRE_TIMEOUT   the longest one request may take (default 30;
                                     connecting may take at most 10 of them)
  --retries N        QUIRE_RETRIES   tries again after a timeout, a lost connection or a
                                     5xx (default 3; 0 never); never after 403, 404, a
                                     refused certificate or a changed archive
  --parallel N       QUIRE_PARALLEL  requests in flight at once (default 32)
  SSL_CERT_FILE          a PEM file of CA certificates to trust for https:// (a private CA)
  AWS_ENDPOINT_URL       an S3-compatible server to ask instead of AWS (http://HOST:PORT)
  AWS_REGION             the bucket's region
  AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN
                         S3 credentials (the session token for temporary ones)
  AWS_SKIP_SIGNATURE=true  read a public bucket without credentials
  AWS_ALLOW_HTTP=true      allow a plain http:// AWS_ENDPOINT_URL";

const PACK_HELP: &str = "\
Inputs:
  DIR            every regular file under DIR is an entry; key = path relative to DIR with
                 `/`; symbolic links (not followed), FIFOs, devices and file names that are
                 not UTF-8 are skipped and counted (--strict-names: a non-UTF-8 name is an
                 error); the archive being written and its temporary files are left out
  FILE.jsonl     JSONL, one entry per line (also *.ndjson)
  FILE           any other regular file: one entry, keyed by its file name
  -              JSONL on standard input (a FIFO or other non-regular path is read as JSONL)
A text file with a headline line `Title - YYYY-MM-DD` near its top gets that title and date.

JSONL fields (one object per line):
  key or id      string or number (required)
  title          string
  date           YYYY-MM-DD, or an RFC 3339 date-time (2002-03-14T10:00:00Z): the entry's
                 date is the date part, the full value is kept and comes back from
                 unpack --jsonl
  content_type   string; default text/plain; charset=utf-8, or application/octet-stream
                 for body_base64
  body           the body as a JSON string (UTF-8 text)
  body_base64    the body in standard base64 (binary bodies)
  meta           an object of entry metadata
  anything else  entry metadata, in the order given; numbers, booleans, null, arrays and
                 objects are kept as JSON and come back from unpack --jsonl as the same values
A first line {\"archive\": {...}} (as unpack --jsonl writes) gives archive metadata the
command line does not.";

const UNPACK_HELP: &str = "\
With -o DIR each entry becomes the file DIR/KEY. Every key is checked before anything is
written: keys with `..`, absolute paths, drive letters, backslashes or NUL are refused (or
rewritten with --sanitize); symbolic links are never followed; existing files are replaced
only with --force. Entries in damaged blocks are skipped and listed (exit 1).

With --jsonl the first line is {\"archive\": {...metadata}}, then one line per entry with the
fields `quire pack` reads (key, title, date, content_type, meta, body or body_base64), so
packing it again gives the same archive. A FIFO, a device or /dev/stdout is written into; a
regular file is replaced atomically, only with --force (through a symbolic link, the file it
points to).";

#[derive(Parser)]
#[command(
    name = "quire",
    version,
    about = "Compact, versioned, read-optimised archives of articles",
    after_help = format!("{ARCHIVE_HELP}\n\n{EXIT_CODES}")
)]
struct Cli {
    #[command(flatten)]
    remote: RemoteArgs,
    #[command(subcommand)]
    command: Command,
}

/// How URLs are read: global flags, each with its environment variable.
#[derive(clap::Args)]
struct RemoteArgs {
    /// For URLs: the longest one request may take, in seconds (default 30); connecting may
    /// take at most 10 of them.
    #[arg(
        long,
        global = true,
        value_name = "SECONDS",
        env = "QUIRE_TIMEOUT",
        hide_env_values = true,
        value_parser = parse_seconds
    )]
    timeout: Option<Duration>,
    /// For URLs: how many times a request is tried again after a timeout, a lost connection
    /// or a server error (default 3).
    #[arg(
        long,
        global = true,
        value_name = "N",
        env = "QUIRE_RETRIES",
        hide_env_values = true,
        value_parser = clap::value_parser!(u32).range(0..=100)
    )]
    retries: Option<u32>,
    /// For URLs: how many requests may be in flight at once (default 32).
    #[arg(
        long,
        global = true,
        value_name = "N",
        env = "QUIRE_PARALLEL",
        hide_env_values = true,
        value_parser = clap::value_parser!(u32).range(1..=1024)
    )]
    parallel: Option<u32>,
}

impl RemoteArgs {
    fn options(&self) -> RemoteOptions {
        let mut o = RemoteOptions::new();
        if let Some(t) = self.timeout {
            // Connecting is part of a request: it may take the whole timeout when that is
            // short, and at most the default 10 s when it is long.
            o = o
                .request_timeout(t)
                .connect_timeout(t.min(Duration::from_secs(10)));
        }
        if let Some(r) = self.retries {
            o = o.retries(r as usize);
        }
        if let Some(p) = self.parallel {
            o = o.parallelism(p as usize);
        }
        o
    }
}

/// A positive number of seconds, e.g. `30` or `0.5`.
fn parse_seconds(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if !(secs > 0.0 && secs <= 86_400.0) {
        return Err(format!("{s:?} is not in 0..=86400 seconds (and not 0)"));
    }
    Ok(Duration::from_secs_f64(secs))
}

#[derive(Subcommand)]
enum Command {
    /// Pack directories, JSONL files, single files (or `-` for JSONL on stdin) into an archive.
    #[command(after_help = format!("{PACK_HELP}\n\n{EXIT_CODES}"))]
    Pack(PackArgs),
    /// Write every entry back out, as files under a directory or as JSONL.
    #[command(after_help = format!("{UNPACK_HELP}\n\n{ARCHIVE_HELP}\n\n{EXIT_CODES}"))]
    Unpack(UnpackArgs),
    /// List keys, in key order (the order entries are numbered in).
    #[command(after_help = format!("{ARCHIVE_HELP}\n\n{EXIT_CODES}"))]
    Ls {
        /// The archive: a path, an http(s):// URL or s3://BUCKET/KEY.
        archive: PathBuf,
        /// Only keys starting with this prefix.
        #[arg(long)]
        prefix: Option<String>,
        /// Also show size, date, content type and title; mark entries that cannot be read.
        #[arg(short, long)]
        long: bool,
        /// One JSON object per line instead: index, key, size, date, content_type (and title
        /// with --long); an unreadable entry has "error" instead.
        #[arg(long)]
        json: bool,
    },
    /// Write the bodies of the given keys to stdout.
    #[command(after_help = format!("{ARCHIVE_HELP}\n\n{EXIT_CODES}"))]
    Get {
        /// The archive: a path, an http(s):// URL or s3://BUCKET/KEY.
        archive: PathBuf,
        /// Keys to print.
        #[arg(required = true)]
        keys: Vec<String>,
    },
    /// Show the version, flags, sections, sizes and compression ratio of an archive.
    #[command(after_help = format!("{ARCHIVE_HELP}\n\n{EXIT_CODES}"))]
    Info {
        /// The archive: a path, an http(s):// URL or s3://BUCKET/KEY.
        archive: PathBuf,
        /// One JSON object instead: version, flags, counts, sizes, sections, metadata.
        #[arg(long)]
        json: bool,
    },
    /// Check every checksum; print the result (damaged blocks and their keys) on stdout.
    #[command(after_help = format!("{ARCHIVE_HELP}\n\n{EXIT_CODES}"))]
    Verify {
        /// The archive: a path, an http(s):// URL or s3://BUCKET/KEY.
        archive: PathBuf,
    },
    /// Recover what can be read of a damaged copy (cut short, bytes appended, damaged pages
    /// or blocks) into a new, valid archive; list what was lost.
    #[command(after_help = format!("{SALVAGE_HELP}\n\n{ARCHIVE_HELP}\n\n{EXIT_CODES}"))]
    Salvage {
        /// The damaged archive: a path, an http(s):// URL or s3://BUCKET/KEY.
        archive: PathBuf,
        /// The new archive.
        #[arg(short, long, value_name = "FILE")]
        output: PathBuf,
        /// Replace OUTPUT if it exists.
        #[arg(short, long)]
        force: bool,
        /// One summary line of what was lost instead of one line per lost range.
        #[arg(short, long)]
        quiet: bool,
    },
}

const SALVAGE_HELP: &str = "\
Salvage reads the archive as long as its header says, whatever the file's length: a copy cut
short gives back every entry whose index page and blocks lie before the cut, a copy with
bytes appended gives back every entry. Entries whose page or blocks are damaged are lost and
listed; every other entry is written, byte for byte, with its title, date, content type and
metadata, into OUTPUT (written whole or not at all). Exit 0 when nothing was lost, 1 when
something was.";

#[derive(clap::Args)]
struct PackArgs {
    /// Directories, JSONL files, other files, or `-` for JSONL on stdin (see below).
    #[arg(required = true)]
    inputs: Vec<String>,
    /// The archive to write: a regular file (standard output cannot take an archive).
    #[arg(short, long, value_name = "FILE")]
    output: PathBuf,
    /// Starting settings: `default` (fast lookups: 16 KiB blocks at level 16, or 128 KiB at
    /// level 19 for long documents, a 2–4 MiB dictionary) or `smallest` (4 MiB blocks, level 22: close to solid compression, slower lookups).
    #[arg(long, value_enum, default_value_t = Preset::Default)]
    preset: Preset,
    /// zstd level, 1..=22 (default 16, or 19 when the writer picks blocks over 16 KiB; 22 with
    /// --preset smallest).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(i32).range(1..=22))]
    level: Option<i32>,
    /// Target uncompressed block size, 64..=4M, e.g. 64K or 1M (default 16K; 4M with
    /// --preset smallest).
    #[arg(long, value_name = "SIZE", value_parser = parse_block_size)]
    block_size: Option<u32>,
    /// Do not use a dictionary.
    #[arg(long)]
    no_dict: bool,
    /// Largest dictionary, 256..=16M (default 4M, or 256K when the median entry is under 512
    /// bytes; at most a quarter of the sample; the writer takes half of it unless the whole
    /// makes the archive at least 1% smaller).
    #[arg(long, value_name = "SIZE", value_parser = parse_dict_size)]
    dict_size: Option<u32>,
    /// How much of the input (from the start) to pick the dictionary from, e.g. 16M
    /// (default 16M).
    #[arg(long, value_name = "SIZE", value_parser = parse_dict_sample)]
    dict_sample: Option<u32>,
    /// Store every body separately, even identical ones.
    #[arg(long)]
    no_dedup: bool,
    /// Compression threads, 0..=1024; 0 = one per idle core (measured for 0.1 s at the start;
    /// an extra thread costs CPU time, so it only pays on a free core). The archive is
    /// byte-identical whatever the count.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 0,
        value_parser = clap::value_parser!(u16).range(0..=1024)
    )]
    threads: u16,
    /// What a repeated key does: error, keep the first, or keep the last.
    #[arg(long, value_enum, default_value_t = Dups::Error)]
    duplicates: Dups,
    /// Replace OUTPUT if it exists (atomically: the old archive stays until the new is done;
    /// through a symbolic link, the file it points to).
    #[arg(short, long)]
    force: bool,
    /// Make a file name that is not UTF-8 (in a directory input) an error instead of a
    /// skipped path.
    #[arg(long)]
    strict_names: bool,
    /// Archive title.
    #[arg(long)]
    title: Option<String>,
    /// Archive description.
    #[arg(long)]
    description: Option<String>,
    /// Who made the archive.
    #[arg(long)]
    creator: Option<String>,
    /// Where the articles came from.
    #[arg(long)]
    source: Option<String>,
    /// Other archive metadata, NAME=VALUE (repeatable; each NAME once; `created` and `tool`
    /// are written by quire).
    #[arg(long = "meta", value_name = "NAME=VALUE", value_parser = parse_pair)]
    meta: Vec<(String, String)>,
    /// No progress bar and no summary.
    #[arg(short, long)]
    quiet: bool,
}

#[derive(clap::Args)]
struct UnpackArgs {
    /// The archive: a path, an http(s):// URL or s3://BUCKET/KEY.
    archive: PathBuf,
    /// Directory to write files into (created if missing).
    #[arg(
        short,
        long,
        value_name = "DIR",
        required_unless_present = "jsonl",
        conflicts_with = "jsonl"
    )]
    output: Option<PathBuf>,
    /// Write JSONL to this file (`-` for stdout; a FIFO or device is written into).
    #[arg(long, value_name = "FILE")]
    jsonl: Option<PathBuf>,
    /// Replace existing files.
    #[arg(short, long)]
    force: bool,
    /// Rewrite keys that are not safe relative paths instead of refusing them.
    #[arg(long)]
    sanitize: bool,
    /// No progress bar and no summary.
    #[arg(short, long)]
    quiet: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum Preset {
    Default,
    Smallest,
}

#[derive(Clone, Copy, ValueEnum)]
enum Dups {
    Error,
    First,
    Last,
}

fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (num, mult) = match s.char_indices().last() {
        Some((i, 'k' | 'K')) => (&s[..i], 1u64 << 10),
        Some((i, 'm' | 'M')) => (&s[..i], 1 << 20),
        Some((i, 'g' | 'G')) => (&s[..i], 1 << 30),
        _ => (s, 1),
    };
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a size like 65536, 64K or 1M"))?;
    n.checked_mul(mult)
        .ok_or_else(|| format!("{s:?} is too large"))
}

fn size_in(s: &str, lo: u64, hi: u64) -> Result<u32, String> {
    let n = parse_size(s)?;
    if n < lo || n > hi {
        return Err(format!("{s} is not in {}..={}", human(lo), human(hi)));
    }
    u32::try_from(n).map_err(|_| format!("{s:?} is too large"))
}

/// `16K`, `256M`, or the number of bytes.
fn human(n: u64) -> String {
    match n {
        n if n >= 1 << 20 && n % (1 << 20) == 0 => format!("{}M", n >> 20),
        n if n >= 1 << 10 && n % (1 << 10) == 0 => format!("{}K", n >> 10),
        n => n.to_string(),
    }
}

fn parse_block_size(s: &str) -> Result<u32, String> {
    size_in(s, 64, u64::from(quire::format::MAX_BLOCK_LEN))
}

fn parse_dict_size(s: &str) -> Result<u32, String> {
    size_in(s, 256, quire::format::MAX_DICT_LEN)
}

fn parse_dict_sample(s: &str) -> Result<u32, String> {
    size_in(s, 1, u64::from(u32::MAX))
}

fn parse_pair(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some(("", _)) => Err(format!("{s:?} has an empty NAME")),
        Some((a, b)) => Ok((a.to_string(), b.to_string())),
        None => Err(format!("{s:?} is not NAME=VALUE")),
    }
}

/// A failure with its exit code and its one-line message (`None`: end quietly, as on a
/// closed output pipe).
struct Fail(u8, Option<String>);

impl Fail {
    fn new(code: u8, msg: impl Into<String>) -> Fail {
        Fail(code, Some(msg.into()))
    }
}

/// An error and its sources, on one line: `cannot read x.quire: No such file or directory`.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(inner) = cur {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        cur = inner.source();
    }
    s
}

/// The remote error somewhere in `e`'s chain, if a remote read failed: an [`io::Error`]
/// carries it, and an [`io::Error`]'s `source()` skips the error it carries, so each one on
/// the chain is opened too.
fn remote_in<'e>(e: &'e (dyn std::error::Error + 'static)) -> Option<&'e RemoteError> {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if let Some(r) = err.downcast_ref::<RemoteError>() {
            return Some(r);
        }
        if let Some(inner) = err.downcast_ref::<io::Error>().and_then(|io| io.get_ref()) {
            if let Some(r) = remote_in(inner) {
                return Some(r);
            }
        }
        if let Some(quire::ReadError::Skipped { cause, .. }) = err.downcast_ref() {
            if let Some(r) = remote_in(&**cause) {
                return Some(r);
            }
        }
        cur = err.source();
    }
    None
}

/// Exit code 4 for I/O: a missing or unreadable file, and anything the network did (a
/// timeout, a refused connection or certificate, 403, 404, 5xx, an answer cut short, a
/// server that ignores Range, an archive that changed on the server); 1 for bytes that
/// arrived and are wrong (a damaged archive).
fn read_code(e: &quire::ReadError) -> u8 {
    match e {
        quire::ReadError::Io { .. } => 4,
        e if remote_in(e).is_some() => 4,
        _ => 1,
    }
}

/// A read error as one line that names the archive once: `URL: key "k": message` for a
/// remote failure (the library's error says `cannot read URL` around the remote error's own
/// `URL: message`), else `ARCHIVE: key "k": error: causes`; `what` is the context (`key
/// "k": `, or empty). Exit code by [`read_code`]; an error writing the output (no path)
/// is the output's (a closed pipe ends quietly).
fn read_fail(archive: &Path, what: &str, e: quire::ReadError) -> Fail {
    if let quire::ReadError::Io { path: None, source } = e {
        return source.into();
    }
    Fail::new(read_code(&e), read_line(archive, what, &e))
}

/// The one line of [`read_fail`].
fn read_line(archive: &Path, what: &str, e: &quire::ReadError) -> String {
    if let Some(r) = remote_in(e) {
        return format!("{}: {what}{}", r.url(), r.message());
    }
    match e {
        // `cannot read PATH: what the system said`, which names the path already.
        quire::ReadError::Io { .. } if what.is_empty() => chain(e),
        _ => format!("{}: {what}{}", archive.display(), chain(e)),
    }
}

impl From<Error> for Fail {
    fn from(e: Error) -> Self {
        match e {
            Error::Io(io) => io.into(),
            Error::Read(r) => r.into(),
            Error::Write(w) => w.into(),
            e => Fail::new(4, chain(&e)),
        }
    }
}

impl From<quire::ReadError> for Fail {
    fn from(e: quire::ReadError) -> Self {
        match e {
            // Writing a body to the output failed: a closed pipe ends quietly.
            quire::ReadError::Io { path: None, source } => source.into(),
            e => match remote_in(&e) {
                Some(_) => Fail::new(4, read_line(Path::new(""), "", &e)),
                None => Fail::new(read_code(&e), chain(&e)),
            },
        }
    }
}

impl From<quire::WriteError> for Fail {
    fn from(e: quire::WriteError) -> Self {
        if let quire::WriteError::TargetExists(p) = &e {
            return Fail::new(
                4,
                format!("{} already exists (use --force to replace it)", p.display()),
            );
        }
        Fail::new(4, chain(&e))
    }
}

impl From<io::Error> for Fail {
    /// A closed output pipe (`quire ... | head`) ends the command quietly with success.
    fn from(e: io::Error) -> Self {
        if e.kind() == io::ErrorKind::BrokenPipe {
            Fail(0, None)
        } else {
            Fail::new(4, format!("I/O error: {e}"))
        }
    }
}

/// Prints a message on stderr; a closed stderr is not worth failing over.
fn say(msg: std::fmt::Arguments<'_>) {
    let _ = writeln!(io::stderr().lock(), "quire: {msg}");
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let _ = REMOTE.set(cli.remote.options());
    match run(cli.command) {
        Ok(code) => ExitCode::from(code),
        Err(Fail(code, msg)) => {
            if let Some(msg) = msg {
                say(format_args!("{msg}"));
            }
            ExitCode::from(code)
        }
    }
}

/// How URLs are read, from the global flags and their variables (set once in `main`).
static REMOTE: OnceLock<RemoteOptions> = OnceLock::new();

/// Opens an archive — a file (memory-mapped) or a URL (read by ranges) — with a small block
/// cache: `ls -l` and `unpack --jsonl` read each entry's lead (title, metadata) and then its
/// body from the same block.
fn open(path: &Path) -> Result<Archive<AnySource>, Fail> {
    open_as(path, false)
}

/// Opens an archive once, through [`Archive::open_any`]: the prelude is read and parsed
/// once. With `salvage`, whatever the file's length ([`Archive::salvage`]), and a local file
/// is read with positioned reads (a copy that was cut short is no file to map).
fn open_as(path: &Path, salvage: bool) -> Result<Archive<AnySource>, Fail> {
    let is_url = path.to_str().is_some_and(quire::source::is_url);
    if !is_url && path.is_dir() {
        return Err(Fail::new(
            4,
            format!("{} is a directory, not a quire archive", path.display()),
        ));
    }
    let mut options = OpenOptions::new()
        .salvage(salvage)
        .block_cache(8)
        .remote(REMOTE.get().cloned().unwrap_or_default());
    if !salvage {
        // SAFETY: a mapped archive must not be modified or truncated while it is mapped.
        // This process never writes to an archive it reads, and archives are replaced by
        // rename (quire pack and ArchiveWriter write a new file and rename it over the old
        // one), which leaves this mapping on the old file. Modifying an archive in place
        // while a command reads it is outside what the CLI supports (README, "Robustness").
        #[allow(unsafe_code)]
        {
            options = unsafe { options.memory_map(true) };
        }
    }
    Archive::open_any(path, &options).map_err(|e| match e {
        e @ quire::ReadError::Io { .. } => read_fail(path, "", e),
        e if e.code() == "length_mismatch" => Fail::new(
            1,
            format!(
                "{}: {} (`quire salvage {} -o NEW.quire` recovers the entries that are intact)",
                path.display(),
                chain(&e),
                // A line names a URL once.
                if is_url {
                    "ARCHIVE".into()
                } else {
                    path.display().to_string()
                }
            ),
        ),
        e => read_fail(path, "", e),
    })
}

/// Why an entry was lost, the same words for every entry lost the same way (so that
/// neighbours group into one line): bytes past the end of a copy cut short, or the damage.
fn why_lost(e: &quire::ReadError) -> String {
    match e {
        quire::ReadError::Io { source, .. } if source.kind() == io::ErrorKind::UnexpectedEof => {
            "stored past the end of the file (the copy was cut short)".to_string()
        }
        other => chain(other),
    }
}

/// `quire salvage`: every entry that can be read, into a new archive.
fn salvage(path: &Path, output: &Path, force: bool, quiet: bool) -> Result<u8, Fail> {
    let archive = open_as(path, true)?;
    let mut opts = WriterOptions::new().overwrite(if force {
        Overwrite::Replace
    } else {
        Overwrite::Never
    });
    for (name, value) in archive.metadata() {
        if name != "created" && name != "tool" {
            opts = opts.metadata(name.clone(), value.clone());
        }
    }
    let mut w = quire::ArchiveWriter::create(output, opts).map_err(|e| {
        Fail::new(
            4,
            format!("cannot create {}: {}", output.display(), chain(&e)),
        )
    })?;
    // What was lost, one line per damaged page or run of neighbouring entries.
    let (mut kept, mut lost_entries) = (0u64, 0u64);
    let mut runs: Vec<unpack::LostRun> = Vec::new();
    for item in archive.prefix("") {
        let entry = match item {
            Ok(e) => e,
            Err(quire::ReadError::Skipped {
                first,
                count,
                from,
                to,
                cause,
            }) => {
                lost_entries += count;
                runs.push(unpack::LostRun {
                    first,
                    last: first + count.saturating_sub(1),
                    keys: (from, to),
                    why: why_lost(&cause),
                });
                continue;
            }
            Err(err) => {
                lost_entries += 1;
                let index = err.location().and_then(|l| match l {
                    quire::Location::Entry(i) => Some(i),
                    _ => None,
                });
                unpack::push_lost(
                    &mut runs,
                    &unpack::Lost {
                        index: index.unwrap_or(u64::MAX),
                        key: None,
                        why: why_lost(&err),
                    },
                    true,
                );
                continue;
            }
        };
        let copied = (|| -> Result<(), String> {
            let info = entry.info().map_err(|e| why_lost(&e))?;
            let mut ne = quire::NewEntry::new(entry.key(), b"").content_type(entry.content_type());
            if let Some(t) = &info.title {
                ne = ne.title(t);
            }
            if let Some(d) = entry.date() {
                ne = ne.date(d);
            }
            for (n, v) in &info.metadata {
                ne = ne.meta(n, v);
            }
            let body = entry.reader();
            w.add_reader(&ne, body).map(|_| ()).map_err(|e| match e {
                quire::WriteError::Io(io) | quire::WriteError::BodyRead { source: io, .. } => io
                    .get_ref()
                    .and_then(|inner| inner.downcast_ref::<quire::ReadError>())
                    .map_or_else(|| io.to_string(), why_lost),
                other => other.to_string(),
            })
        })();
        match copied {
            Ok(()) => kept += 1,
            Err(why) => {
                lost_entries += 1;
                let lost = unpack::Lost {
                    index: entry.index(),
                    key: Some(entry.key().to_string()),
                    why,
                };
                unpack::push_lost(&mut runs, &lost, true);
            }
        }
    }
    let summary = w
        .finish()
        .map_err(|e| Fail::new(4, format!("writing {}: {}", output.display(), chain(&e))))?;
    if !quiet {
        for r in &runs {
            say(format_args!("{}: {r}", path.display()));
        }
    }
    say(format_args!(
        "{}: salvaged {kept} of {} entries into {} ({} bytes){}",
        path.display(),
        archive.len(),
        output.display(),
        summary.file_len,
        match lost_entries {
            0 => String::new(),
            n => format!(
                "; {n} lost in {} place(s){}",
                runs.len(),
                if quiet {
                    " (run without -q for the list)"
                } else {
                    ""
                }
            ),
        }
    ));
    Ok(if lost_entries == 0 { 0 } else { 1 })
}

/// The progress bar's `{left}`: the time left, from [`quire_cli::progress::Eta`].
#[derive(Clone)]
struct TimeLeft(quire_cli::progress::Eta);

impl indicatif::style::ProgressTracker for TimeLeft {
    fn clone_box(&self) -> Box<dyn indicatif::style::ProgressTracker> {
        Box::new(self.clone())
    }
    fn tick(&mut self, state: &indicatif::ProgressState, _: std::time::Instant) {
        self.0.observe(state.elapsed(), state.pos());
    }
    fn reset(&mut self, _: &indicatif::ProgressState, _: std::time::Instant) {}
    fn write(&self, state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write) {
        let len = state.len().unwrap_or(0);
        let _ = match self.0.estimate(state.elapsed(), state.pos(), len) {
            Some(d) => write!(w, "{:#}", indicatif::HumanDuration(d)),
            None => write!(w, "?"),
        };
    }
}

/// A progress bar on stderr when it is a terminal; `warmup` is how many bytes the writer
/// takes in before it starts compressing (no time left is estimated before then).
fn progress_bar(
    quiet: bool,
    total: Option<u64>,
    what: &str,
    warmup: u64,
) -> indicatif::ProgressBar {
    if quiet || !io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = match total {
        Some(t) => indicatif::ProgressBar::new(t),
        None => indicatif::ProgressBar::new_spinner(),
    };
    let style = if total.is_some() {
        "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} left {left}"
    } else {
        "{msg} {spinner} {bytes} {bytes_per_sec}"
    };
    if let Ok(s) = indicatif::ProgressStyle::with_template(style) {
        let s = s.with_key("left", TimeLeft(quire_cli::progress::Eta::new(warmup)));
        bar.set_style(s.progress_chars("=> "));
    }
    bar.set_message(what.to_string());
    bar
}

fn run(cmd: Command) -> Result<u8, Fail> {
    match cmd {
        Command::Pack(a) => pack(a),
        Command::Unpack(a) => unpack_cmd(a),
        Command::Ls {
            archive,
            prefix,
            long,
            json,
        } => match json {
            true => ls_json(&archive, prefix.as_deref(), long),
            false => ls(&archive, prefix.as_deref(), long),
        },
        Command::Get { archive, keys } => get(&archive, &keys),
        Command::Info { archive, json } => match json {
            true => info_json(&archive),
            false => info(&archive),
        },
        Command::Verify { archive } => verify(&archive),
        Command::Salvage {
            archive,
            output,
            force,
            quiet,
        } => salvage(&archive, &output, force, quiet),
    }
}

/// Archive metadata from the command line: each name once, none that the writer sets.
fn command_line_metadata(a: &PackArgs) -> Result<Vec<(String, String)>, Fail> {
    let mut metadata: Vec<(String, String)> = Vec::new();
    let named = [
        ("title", &a.title),
        ("description", &a.description),
        ("creator", &a.creator),
        ("source", &a.source),
    ];
    let given = named
        .iter()
        .filter_map(|(n, v)| v.as_ref().map(|v| (n.to_string(), v.clone())))
        .chain(a.meta.iter().cloned());
    for (name, value) in given {
        if name == "created" || name == "tool" {
            return Err(Fail::new(
                2,
                format!("--meta {name}=...: quire writes the {name:?} field itself"),
            ));
        }
        if metadata.iter().any(|(n, _)| *n == name) {
            return Err(Fail::new(
                2,
                format!("archive metadata field {name:?} is given twice"),
            ));
        }
        metadata.push((name, value));
    }
    Ok(metadata)
}

/// The creation time from `SOURCE_DATE_EPOCH` (seconds since 1970), when it is set.
fn source_date_epoch() -> Result<Option<u64>, Fail> {
    match std::env::var_os("SOURCE_DATE_EPOCH") {
        None => Ok(None),
        Some(v) if v.is_empty() => Ok(None),
        Some(v) => v
            .to_str()
            .and_then(|t| t.trim().parse::<u64>().ok())
            .map(Some)
            .ok_or_else(|| {
                Fail::new(
                    2,
                    format!(
                        "SOURCE_DATE_EPOCH={:?} is not a whole number of seconds since 1970",
                        v.to_string_lossy()
                    ),
                )
            }),
    }
}

fn pack(a: PackArgs) -> Result<u8, Fail> {
    let created = source_date_epoch()?;
    let target = pack_target(&a)?;
    let inputs: Vec<Input> = a.inputs.iter().map(|s| Input::from_arg(s)).collect();
    let total: Option<u64> = inputs.iter().try_fold(0u64, |acc, i| match i {
        Input::Jsonl(p) | Input::File(p) => std::fs::metadata(p).ok().map(|m| acc + m.len()),
        _ => None,
    });
    let opts = pack_options(&a, &inputs, created, total)?;
    let warmup = if a.no_dict {
        0
    } else {
        opts.get_dict_sample() as u64
    };
    let writer = ArchiveWriter::create(&target, opts).map_err(|e| match e {
        quire::WriteError::InvalidOptions(m) => Fail::new(2, m),
        e => Fail::new(
            4,
            format!("cannot create {}: {}", a.output.display(), chain(&e)),
        ),
    })?;
    let mut packer = Packer::new(writer);
    packer.exclude_output(&target);
    packer.strict_names(a.strict_names);
    let bar = progress_bar(a.quiet, total, "packing", warmup);
    add_inputs(&mut packer, &inputs, &bar)?;
    // Choosing the dictionary and compressing what is still held happen in finish().
    if !bar.is_hidden() {
        bar.set_style(indicatif::ProgressStyle::default_spinner());
        bar.set_message("compressing and writing the indexes");
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
    }
    let skipped = [
        (packer.skipped.symlinks.len(), "symbolic link"),
        (packer.skipped.special.len(), "special file"),
        (packer.skipped.bad_names.len(), "non-UTF-8 name"),
    ];
    let s = packer.into_writer().finish();
    bar.finish_and_clear();
    let s = s?;
    if !a.quiet {
        say_packed(&s, &a.output, &skipped);
    }
    Ok(0)
}

/// The archive's path, after refusing standard output and targets that are not regular
/// files (or that exist, without --force).
fn pack_target(a: &PackArgs) -> Result<PathBuf, Fail> {
    if output::is_stdout_path(&a.output) {
        return Err(Fail::new(
            2,
            "-o -: an archive cannot be written to standard output (it is finished by seeking \
             back to its header); give a file name (./- for a file named -)",
        ));
    }
    let target = output::check_file_target(&a.output, a.force)?;
    if std::fs::metadata(&target).is_ok_and(|m| !m.is_file()) {
        return Err(Fail::new(
            4,
            format!(
                "{} is not a regular file (an archive is written to a temporary file and \
                 renamed into place)",
                a.output.display()
            ),
        ));
    }
    Ok(target)
}

/// The writer's options from the preset, the flags, and archive metadata from the command
/// line (or, where it is silent, from the first line of `unpack --jsonl` input).
fn pack_options(
    a: &PackArgs,
    inputs: &[Input],
    created: Option<u64>,
    total: Option<u64>,
) -> Result<WriterOptions, Fail> {
    let mut metadata = command_line_metadata(a)?;
    for input in inputs {
        if let Input::Jsonl(p) = input {
            for (n, v) in first_line_archive_meta(p).unwrap_or_default() {
                if !metadata.iter().any(|(m, _)| *m == n) {
                    metadata.push((n, v));
                }
            }
        }
    }
    let defaults = match a.preset {
        Preset::Default => WriterOptions::default(),
        Preset::Smallest => WriterOptions::smallest(),
    };
    let block_size = a.block_size;
    let dict_sample = a
        .dict_sample
        .map_or(defaults.get_dict_sample(), |d| d as usize);
    let opts = match block_size {
        Some(b) => defaults.block_size(b),
        None => defaults,
    };
    let opts = match a.level {
        Some(l) => opts.level(l),
        None => opts,
    };
    let opts = match a.dict_size {
        Some(d) => opts.dict_size(d as usize),
        None => opts,
    };
    let mut opts = opts
        .dictionary(if a.no_dict {
            DictionaryMode::Off
        } else {
            DictionaryMode::Auto
        })
        .dict_sample(dict_sample)
        .threads(match a.threads {
            0 => quire_cli::threads::default_threads(total),
            n => usize::from(n),
        })
        .duplicates(match a.duplicates {
            Dups::Error => DuplicatePolicy::Error,
            Dups::First => DuplicatePolicy::First,
            Dups::Last => DuplicatePolicy::Last,
        })
        .dedup(!a.no_dedup)
        .overwrite(if a.force {
            Overwrite::Replace
        } else {
            Overwrite::Never
        });
    if let Some(c) = created {
        opts = opts.created(c);
    }
    for (name, value) in metadata {
        opts = opts.metadata(name, value);
    }
    Ok(opts)
}

/// Adds every input, moving the progress bar and warning about skipped names as they come.
fn add_inputs(
    packer: &mut Packer<quire::AtomicFile>,
    inputs: &[Input],
    bar: &indicatif::ProgressBar,
) -> Result<(), Fail> {
    let (mut base, mut warned) = (0u64, 0);
    for input in inputs {
        let mut last = 0u64;
        let added = packer.add_input(input, &mut |done| {
            last = done;
            bar.set_position(base + done);
        });
        for bad in &packer.skipped.bad_names[warned..] {
            bar.suspend(|| {
                say(format_args!(
                    "warning: skipping {}: its name is not UTF-8, so it cannot be a key \
                     (--strict-names makes this an error)",
                    bad.display()
                ))
            });
        }
        warned = packer.skipped.bad_names.len();
        added?;
        base += last;
    }
    Ok(())
}

/// The one-line summary of a pack: counts, sizes (the dictionary as stored), ratio, and
/// what was deduplicated, resolved or skipped.
fn say_packed(s: &quire::Summary, output: &Path, skipped: &[(usize, &str)]) {
    let ratio = if s.file_len > 0 {
        s.raw_bytes as f64 / s.file_len as f64
    } else {
        0.0
    };
    let mut extra = String::new();
    if s.duplicates > 0 {
        extra.push_str(&format!(", {} duplicate keys resolved", s.duplicates));
    }
    if s.shared_bodies > 0 {
        extra.push_str(&format!(
            ", {} identical bodies stored once",
            s.shared_bodies
        ));
    }
    let total: usize = skipped.iter().map(|(n, _)| n).sum();
    if total > 0 {
        let parts: Vec<String> = skipped
            .iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, what)| format!("{n} {what}{}", if *n == 1 { "" } else { "s" }))
            .collect();
        extra.push_str(&format!(", skipped {total} paths ({})", parts.join(", ")));
    }
    let _ = writeln!(
        io::stderr(),
        "packed {} entries ({} bytes) into {} ({} bytes, {} blocks, dictionary {} bytes \
         stored, ratio {:.2}){extra}",
        s.entries,
        s.raw_bytes,
        output.display(),
        s.file_len,
        s.blocks,
        s.stored_dict_len,
        ratio,
    );
}

/// The `{"archive": ...}` line at the top of a JSONL file written by `unpack --jsonl`.
fn first_line_archive_meta(p: &std::path::Path) -> Option<Vec<(String, String)>> {
    use std::io::BufRead;
    let f = std::fs::File::open(p).ok()?;
    let mut line = String::new();
    io::BufReader::new(f).read_line(&mut line).ok()?;
    match quire_cli::ingest::parse_jsonl_line(&line, "") {
        Ok(quire_cli::ingest::Line::Archive(m)) => Some(m),
        _ => None,
    }
}

fn unpack_cmd(a: UnpackArgs) -> Result<u8, Fail> {
    let archive = open(&a.archive)?;
    // The total for the bar walks the index: only when there is a bar to show.
    let shown_bar = !a.quiet && io::stderr().is_terminal();
    let total = shown_bar
        .then(|| totals(&archive).ok().map(|t| t.0))
        .flatten();
    let bar = progress_bar(a.quiet, total, "unpacking", 0);
    let mut progress = |b: u64| bar.set_position(b);
    let s = match (&a.output, &a.jsonl) {
        (_, Some(j)) => match output::jsonl_target(j, a.force)? {
            output::JsonlTarget::Stdout => {
                let stdout = io::stdout();
                let mut out = io::BufWriter::new(stdout.lock());
                unpack::unpack_jsonl(&archive, &mut out, &mut progress)?
            }
            output::JsonlTarget::Special(f) => {
                let mut out = io::BufWriter::new(f);
                unpack::unpack_jsonl(&archive, &mut out, &mut progress)?
            }
            output::JsonlTarget::File(target) => {
                let overwrite = if a.force {
                    Overwrite::Replace
                } else {
                    Overwrite::Never
                };
                let mut f = quire::AtomicFile::create(&target, overwrite).map_err(|e| {
                    Fail::new(4, format!("cannot create {}: {}", j.display(), chain(&e)))
                })?;
                let s = unpack::unpack_jsonl(&archive, &mut f, &mut progress)?;
                f.commit()?;
                s
            }
        },
        (Some(dir), None) => unpack::unpack_to_dir(
            &archive,
            dir,
            UnpackOptions {
                force: a.force,
                sanitize: a.sanitize,
            },
            &mut progress,
        )?,
        (None, None) => return Err(Fail::new(2, "give -o DIR or --jsonl FILE")),
    };
    bar.finish_and_clear();
    report_lost(&a.archive, &s.lost, archive.len(), a.quiet);
    if !a.quiet {
        let _ = writeln!(
            io::stderr(),
            "unpacked {} entries ({} bytes){}",
            s.files,
            s.bytes,
            match s.lost.len() {
                0 => String::new(),
                n => format!(", {n} lost to damage"),
            }
        );
    }
    Ok(if s.lost.is_empty() { 0 } else { 1 })
}

/// One line per entry lost to damage, then how many: each names the archive and the key.
/// What unpack lost: one line per run of neighbouring entries lost for one reason (a damaged
/// page costs one line, not one per entry), then a summary; with `quiet`, the summary alone.
fn report_lost(archive: &Path, lost: &[unpack::Lost], total: u64, quiet: bool) {
    if lost.is_empty() {
        return;
    }
    let runs = unpack::runs_of_lost(lost);
    if !quiet {
        for r in &runs {
            say(format_args!("{}: {r}", archive.display()));
        }
    }
    let first = match runs.first() {
        Some(r) if quiet => format!(" (first: {r}); run without -q for the list"),
        _ => String::new(),
    };
    say(format_args!(
        "{}: {} of {total} entries could not be read (the archive is damaged, {} place(s)); \
         every other entry was written{first}",
        archive.display(),
        lost.len(),
        runs.len(),
    ));
}

/// Body and key bytes of every entry, from the index alone (no block is read). An index that
/// cannot be walked is an error: info reports it rather than a partial sum.
fn totals<D: quire::source::ByteSource>(
    archive: &Archive<D>,
) -> Result<(u64, u64), quire::ReadError> {
    let mut sums = (0u64, 0u64);
    for e in archive.iter() {
        let e = e?;
        sums.0 += e.body_len();
        sums.1 += e.key().len() as u64;
    }
    Ok(sums)
}

/// The bytes of everything but the stored dictionary and blocks: the prelude and INDEX.
fn index_bytes<D: quire::source::ByteSource>(archive: &Archive<D>) -> u64 {
    let h = archive.header();
    h.file_len - archive.dictionary_len() - archive.data_len()
}

fn ls(path: &Path, prefix: Option<&str>, long: bool) -> Result<u8, Fail> {
    let archive = open(path)?;
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    // The sorted walk: a page that cannot be read is one line, and the listing goes on.
    let entries = archive.prefix(prefix.unwrap_or(""));
    // Column widths: the longest content type (from the archive's table of them) and the
    // longest size.
    let (size_w, type_w) = if long {
        let largest = archive
            .iter()
            .filter_map(Result::ok)
            .map(|e| e.body_len())
            .max()
            .unwrap_or(0);
        let types = archive.content_types().iter();
        let type_w = types.map(|t| shown(t).chars().count()).max().unwrap_or(0);
        (largest.to_string().len().max(10), type_w.max(12))
    } else {
        (0, 0)
    };
    let mut damaged = 0u64;
    for e in entries {
        let e = match e {
            Ok(e) => e,
            // The network failed, or the archive changed on its server: the walk stops
            // there, and so does the listing (what was listed stays listed).
            Err(err) if read_code(&err) == 4 => {
                out.flush()?;
                return Err(read_fail(path, "", err));
            }
            Err(err) => {
                damaged += match &err {
                    quire::ReadError::Skipped { count, .. } => *count,
                    _ => 1,
                };
                say(format_args!("{}: {err}", path.display()));
                if long {
                    writeln!(
                        out,
                        "{:>size_w$}  {:<10}  {:<type_w$}  ?  [unreadable: {}]",
                        "?",
                        "?",
                        "?",
                        err.code()
                    )?;
                }
                continue;
            }
        };
        if !long {
            writeln!(out, "{}", shown(e.key()))?;
            continue;
        }
        let title = match readable_title(&e) {
            Ok(t) => t.map_or_else(String::new, |t| format!("  \t{}", shown(&t))),
            Err(err) if read_code(&err) == 4 => {
                out.flush()?;
                return Err(read_fail(path, &format!("key {:?}: ", e.key()), err));
            }
            Err(err) => {
                damaged += 1;
                say(format_args!("{}: key {:?}: {err}", path.display(), e.key()));
                "  \t[unreadable: the archive is damaged here]".to_string()
            }
        };
        writeln!(
            out,
            "{:>size_w$}  {:<10}  {:<type_w$}  {}{}",
            e.body_len(),
            e.date().map_or_else(|| "-".to_string(), |d| d.to_string()),
            shown(e.content_type()),
            shown(e.key()),
            title
        )?;
    }
    out.flush()?;
    if damaged > 0 {
        say(format_args!(
            "{}: {damaged} entries could not be read (the archive is damaged)",
            path.display()
        ));
        return Ok(1);
    }
    Ok(0)
}

/// The title of an entry, after checking that the block its body starts in can be read:
/// `ls --long` marks entries whose block is damaged, not only those with a title in it.
fn readable_title(e: &quire::Entry<'_>) -> quire::ReadResult<Option<String>> {
    let title = e.title()?.map(str::to_string);
    // Reading one byte decompresses (and so checks) the block the body starts in.
    let mut first = [0u8; 1];
    match std::io::Read::read(&mut e.reader(), &mut first) {
        Ok(_) => Ok(title),
        Err(err) => Err(
            match err.into_inner().map(|b| b.downcast::<quire::ReadError>()) {
                Some(Ok(read)) => *read,
                Some(Err(other)) => io::Error::other(other).into(),
                None => io::Error::other("the body could not be read").into(),
            },
        ),
    }
}

/// Bodies up to this size are read whole before they are written, so a damaged one prints
/// nothing; longer ones are streamed block by block.
const GET_BUFFERED: u64 = 1 << 20;

fn get(path: &Path, keys: &[String]) -> Result<u8, Fail> {
    let archive = open(path)?;
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let (mut missing, mut damaged) = (0, 0);
    let mut buf = Vec::new();
    // Every key looked up at once: over a network their index pages come in one round per
    // level of the tree, and their blocks are asked for together while the first bodies are
    // written (in the order of the arguments).
    let found = archive.get_many(keys);
    for (k, looked_up) in keys.iter().zip(found) {
        let what = format!("key {:?}: ", k);
        let damage = |e: quire::ReadError, extra: &str| {
            say(format_args!("{}{extra}", read_line(path, &what, &e)));
        };
        // Reading the archive failed (a file, or a remote object that changed, went away or
        // timed out): stop at once, with the cause and its exit code. An error writing the
        // output (no path) is the output's: a closed pipe ends quietly.
        let e = match looked_up {
            Ok(Some(e)) => e,
            Ok(None) => {
                say(format_args!("{}: key not found: {k:?}", path.display()));
                missing += 1;
                continue;
            }
            Err(err) if read_code(&err) == 4 => return Err(read_fail(path, &what, err)),
            Err(err) => {
                damage(err, "");
                damaged += 1;
                continue;
            }
        };
        if e.body_len() <= GET_BUFFERED {
            match e.read_body_into(&mut buf) {
                Ok(()) => out.write_all(&buf)?,
                Err(err) if read_code(&err) == 4 => return Err(read_fail(path, &what, err)),
                Err(err) => {
                    damage(err, "");
                    damaged += 1;
                }
            }
            continue;
        }
        let mut counted = Counted(&mut out, 0);
        match e.write_body_to(&mut counted) {
            Ok(()) => {}
            Err(quire::ReadError::Io { path: None, source }) => return Err(source.into()),
            Err(err) if read_code(&err) == 4 => {
                // What was written of this body cannot be taken back: say so.
                let written = counted.1;
                if written == 0 {
                    return Err(read_fail(path, &what, err));
                }
                let what = format!(
                    "{what}output cut short after {written} bytes (of {}): ",
                    e.body_len()
                );
                return Err(read_fail(path, &what, err));
            }
            Err(err) => {
                let written = counted.1;
                damage(
                    err,
                    &format!(
                        " (its output is cut short: {written} of {} bytes written)",
                        e.body_len()
                    ),
                );
                damaged += 1;
            }
        }
    }
    out.flush()?;
    Ok(if damaged > 0 {
        1
    } else if missing > 0 {
        3
    } else {
        0
    })
}

/// Counts the bytes written through it.
struct Counted<'a>(&'a mut dyn Write, u64);

impl Write for Counted<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.0.write(buf)?;
        self.1 += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// The dictionary's size unpacked, from its zstd frame header when that lies in the first
/// 16 KiB (which every open reads, and a remote source keeps): `info` reads no more of the
/// dictionary than that. `None` when the header lies further on, or gives no size.
fn dictionary_size(archive: &Archive<AnySource>) -> Option<u64> {
    use quire::source::ByteSource as _;
    let dict = archive
        .sections()
        .iter()
        .find(|s| s.id == quire::format::SectionId::Dict as u32)?;
    if dict.length == 0 {
        return Some(0);
    }
    let want = dict.length.min(18);
    if dict.offset.checked_add(want)? > quire::source::PRELUDE_LEN {
        return None;
    }
    let head = archive.source().read_at(dict.offset, want as usize).ok()?;
    zstd_content_size(&head)
}

/// The content size a zstd frame header declares (RFC 8878, 3.1.1.1), if it declares one.
fn zstd_content_size(b: &[u8]) -> Option<u64> {
    if b.get(..4)? != [0x28, 0xB5, 0x2F, 0xFD] {
        return None;
    }
    let fhd = *b.get(4)?;
    let single_segment = fhd & 0x20 != 0;
    let at = 5 + usize::from(!single_segment) + [0, 1, 2, 4][usize::from(fhd & 3)];
    let len = match fhd >> 6 {
        0 if single_segment => 1,
        0 => return None,
        1 => 2,
        2 => 4,
        _ => 8,
    };
    let field = b.get(at..at + len)?;
    let mut v = [0u8; 8];
    v[..len].copy_from_slice(field);
    let n = u64::from_le_bytes(v);
    Some(if len == 2 { n + 256 } else { n })
}

fn info(path: &Path) -> Result<u8, Fail> {
    let archive = open(path)?;
    let h = archive.header();
    let file_len = h.file_len;
    let (raw, keys) = totals(&archive)?;
    let mut o = String::new();
    use std::fmt::Write as _;
    let _ = writeln!(o, "file:           {}", path.display());
    let _ = writeln!(o, "format version: {}.{}", h.major, h.minor);
    let _ = writeln!(
        o,
        "flags:          required {:#x}{}, optional {:#x}",
        h.required_flags,
        match h.required_flags & (quire::format::REQUIRED_DICT | quire::format::REQUIRED_RAW_DICT) {
            0 => "",
            quire::format::REQUIRED_DICT => " (trained dictionary)",
            _ => " (raw dictionary)",
        },
        h.optional_flags
    );
    let _ = writeln!(o, "entries:        {}", h.entry_count);
    let _ = writeln!(
        o,
        "blocks:         {} (target {} bytes, largest {} bytes)",
        h.block_count, h.block_target, h.max_block_len
    );
    // The dictionary's size from its frame header alone: info reads no block and no more
    // of the dictionary than the first 16 KiB hold.
    let _ = match dictionary_size(&archive) {
        Some(dict) => writeln!(
            o,
            "dictionary:     {dict} bytes ({} stored)",
            archive.dictionary_len()
        ),
        None => writeln!(
            o,
            "dictionary:     {} bytes stored",
            archive.dictionary_len()
        ),
    };
    let index = index_bytes(&archive);
    let per_entry = |b: u64| b as f64 / h.entry_count.max(1) as f64;
    let _ = writeln!(
        o,
        "index:          {index} bytes ({:.1} per entry, keys {:.1} of them), depth {}, prelude {} bytes",
        per_entry(index),
        per_entry(keys),
        h.index_depth,
        h.prelude_len
    );
    let _ = writeln!(o, "raw size:       {raw} bytes (bodies)");
    let _ = writeln!(o, "packed size:    {file_len} bytes");
    let ratio = if file_len > 0 {
        raw as f64 / file_len as f64
    } else {
        0.0
    };
    let _ = writeln!(o, "ratio:          {ratio:.3}");
    let _ = writeln!(o, "sections:");
    for s in archive.sections() {
        let name = quire::format::SectionId::from_u32(s.id).map_or("unknown", |i| i.name());
        let _ = writeln!(
            o,
            "  {:<8} {:>12} bytes at {:>12}  crc {:08x}",
            name, s.length, s.offset, s.crc
        );
    }
    let _ = writeln!(o, "metadata:");
    for (n, v) in archive.metadata() {
        let _ = writeln!(o, "  {}: {}", shown(n), shown(v));
    }
    let types: Vec<_> = archive.content_types().iter().map(|t| shown(t)).collect();
    let _ = writeln!(o, "content types:  {}", types.join(", "));
    let mut out = io::stdout().lock();
    out.write_all(o.as_bytes())?;
    out.flush()?;
    Ok(0)
}

/// `quire info --json`: the same facts as `info`, as one JSON object.
fn info_json(path: &Path) -> Result<u8, Fail> {
    use serde_json::{json, Map, Value};
    let archive = open(path)?;
    let h = archive.header();
    let flags =
        h.required_flags & (quire::format::REQUIRED_DICT | quire::format::REQUIRED_RAW_DICT);
    let sections: Vec<Value> = archive
        .sections()
        .iter()
        .map(|s| {
            let name = quire::format::SectionId::from_u32(s.id).map(|i| i.name());
            json!({"id": s.id, "name": name, "offset": s.offset, "length": s.length, "crc": s.crc})
        })
        .collect();
    let metadata: Map<String, Value> = archive
        .metadata()
        .iter()
        .map(|(n, v)| (n.clone(), Value::String(v.clone())))
        .collect();
    let (raw, keys) = totals(&archive)?;
    let o = json!({
        "file": path.display().to_string(),
        "version": format!("{}.{}", h.major, h.minor),
        "major": h.major,
        "minor": h.minor,
        "required_flags": h.required_flags,
        "optional_flags": h.optional_flags,
        "dictionary_kind": match flags {
            0 => Value::Null,
            quire::format::REQUIRED_DICT => "trained".into(),
            _ => "raw".into(),
        },
        "entries": h.entry_count,
        "blocks": h.block_count,
        "block_target": h.block_target,
        "max_block_len": h.max_block_len,
        "dictionary_bytes": dictionary_size(&archive),
        "dictionary_stored_bytes": archive.dictionary_len(),
        "index_depth": h.index_depth,
        "prelude_bytes": h.prelude_len,
        "index_bytes": index_bytes(&archive),
        "key_bytes": keys,
        "data_bytes": archive.data_len(),
        "raw_bytes": raw,
        "file_bytes": h.file_len,
        "sections": sections,
        "metadata": metadata,
        "content_types": archive.content_types(),
    });
    let mut out = io::stdout().lock();
    writeln!(out, "{o}")?;
    out.flush()?;
    Ok(0)
}

/// `quire ls --json`: one object per entry, in key order (which is entry order), all of them
/// or those under a prefix. An entry that cannot be read is an object with its position and
/// "error".
fn ls_json(path: &Path, prefix: Option<&str>, long: bool) -> Result<u8, Fail> {
    use serde_json::{json, Value};
    let archive = open(path)?;
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    // The sorted walk: a page that cannot be read is one line, and the listing goes on.
    let entries = archive.prefix(prefix.unwrap_or(""));
    let mut damaged = 0u64;
    for e in entries {
        let line = match e {
            // The network failed, or the archive changed on its server: stop there.
            Err(err) if read_code(&err) == 4 => {
                out.flush()?;
                return Err(read_fail(path, "", err));
            }
            // A page that could not be read: the entries it held and their key range.
            Err(quire::ReadError::Skipped {
                first,
                count,
                from,
                to,
                cause,
            }) => {
                damaged += count;
                json!({
                    "lost": {"first": first, "count": count, "from_key": from, "to_key": to},
                    "code": cause.code(),
                    "error": cause.to_string(),
                })
            }
            Err(err) => {
                damaged += 1;
                let index = match err.location() {
                    Some(quire::Location::Entry(i)) => Value::from(i),
                    _ => Value::Null,
                };
                json!({ "index": index, "code": err.code(), "error": err.to_string() })
            }
            Ok(e) => {
                let mut o = json!({
                    "index": e.index(),
                    "key": e.key(),
                    "size": e.body_len(),
                    "date": e.date().map(|d| d.to_string()),
                    "content_type": e.content_type(),
                });
                if long {
                    match readable_title(&e) {
                        Ok(t) => o["title"] = t.map_or(Value::Null, Value::String),
                        Err(err) if read_code(&err) == 4 => {
                            out.flush()?;
                            return Err(read_fail(path, &format!("key {:?}: ", e.key()), err));
                        }
                        Err(err) => {
                            damaged += 1;
                            o["error"] = err.to_string().into();
                        }
                    }
                }
                o
            }
        };
        writeln!(out, "{line}")?;
    }
    out.flush()?;
    if damaged > 0 {
        say(format_args!(
            "{}: {damaged} entries could not be read (the archive is damaged)",
            path.display()
        ));
        return Ok(1);
    }
    Ok(0)
}

fn verify(path: &Path) -> Result<u8, Fail> {
    let archive = open(path)?;
    let report = archive.verify();
    // Success and damage alike go to stdout: the report is the command's output; the exit
    // code says which it is.
    let mut out = io::stdout().lock();
    if report.is_ok() {
        writeln!(out, "{}: {report}", path.display())?;
    } else {
        write!(out, "{}: {report}", path.display())?;
    }
    out.flush()?;
    // Stopped by the network (or an archive that changed on its server): that says nothing
    // of the archive, and is an I/O error.
    if let Some(why) = &report.interrupted {
        say(format_args!("{why}"));
        return Ok(4);
    }
    Ok(if report.is_ok() { 0 } else { 1 })
}
