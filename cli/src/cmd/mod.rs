//! The commands, one module each. A command gathers its facts (what it read, what it
//! wrote, what was lost) in a struct of its own and renders them as text, or as JSON where
//! it has `--json`; this module holds what they share: opening an archive, failures with
//! their exit codes and one-line messages, and the progress bar.

pub mod get;
pub mod info;
pub mod ls;
pub mod pack;
pub mod salvage;
pub mod search;
pub mod suggest;
pub mod unpack;
pub mod verify;

use std::io::{self, IsTerminal, Write};
use std::path::Path;
use std::sync::OnceLock;

use quire::source::{AnySource, OpenOptions, RemoteError, RemoteOptions};
use quire::Archive;
use quire_cli::Error;

pub const EXIT_CODES: &str = "\
Exit codes:
  0  success (also when the output pipe is closed early, as by `| head`)
  1  the archive is damaged: bytes that were read are wrong (verify: damage found; unpack,
     ls --long, get: some entries could not be read, every other one was written)
  2  usage error (unknown option, invalid value, --meta conflict, bad SOURCE_DATE_EPOCH)
  3  get: a key was not found
  4  input/output error: missing or unreadable files; the network (a timeout, a refused
     connection or certificate, 403, 404, 5xx, an answer cut short, a server that ignores
     Range, an archive that changed on the server since it was opened); bad JSONL, refused
     keys, existing targets without --force
  5  suggest: the archive has no title index (packed with --index none); search: it has no
     full-text index (packed without --index full)
  130, 143, 129  pack, salvage or unpack --jsonl FILE stopped by Ctrl-C (SIGINT), SIGTERM or
     SIGHUP (128 + the signal): the target is not written and no temporary file is left";

pub const ARCHIVE_HELP: &str = "\
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

pub struct Fail(pub u8, pub Option<String>);

impl Fail {
    pub fn new(code: u8, msg: impl Into<String>) -> Fail {
        Fail(code, Some(msg.into()))
    }
}

/// An error and its sources, on one line: `cannot read x.quire: No such file or directory`.
pub fn chain(e: &dyn std::error::Error) -> String {
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
pub fn remote_in<'e>(e: &'e (dyn std::error::Error + 'static)) -> Option<&'e RemoteError> {
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
pub fn read_code(e: &quire::ReadError) -> u8 {
    match e {
        quire::ReadError::Io { .. } => 4,
        e if remote_in(e).is_some() => 4,
        _ => 1,
    }
}

/// A read error as one line that names the archive once: `URL: key "k": message` for a
/// remote failure (the library's error says `cannot read URL` around the remote error's own
/// `URL: message`), else `ARCHIVE: key "k": error: causes`; `what` is the context (`key
/// "k": `, or empty). Exit code by [`read_code`]; an error writing the output
/// ([`quire::ReadError::Output`]) is the output's (a closed pipe ends quietly).
pub fn read_fail(archive: &Path, what: &str, e: quire::ReadError) -> Fail {
    if let quire::ReadError::Output(source) = e {
        return source.into();
    }
    Fail::new(read_code(&e), read_line(archive, what, &e))
}

/// The one line of [`read_fail`].
pub fn read_line(archive: &Path, what: &str, e: &quire::ReadError) -> String {
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
            quire::ReadError::Output(source) => source.into(),
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
pub fn say(msg: std::fmt::Arguments<'_>) {
    let _ = writeln!(io::stderr().lock(), "quire: {msg}");
}

/// How URLs are read, from the global flags and their variables (set once in `main`).
static REMOTE: OnceLock<RemoteOptions> = OnceLock::new();

/// Sets how URLs are read, once, before any command runs.
pub fn set_remote_options(o: RemoteOptions) {
    let _ = REMOTE.set(o);
}

/// clap's rendered error (`error: …`, the arguments, a tip, then `Usage:` and a pointer to
/// `--help`) as one line: the error's paragraph and any tip, joined, and where to read more.
pub fn usage_line(rendered: &str) -> String {
    let mut parts: Vec<String> = Vec::new();
    for para in rendered.split("\n\n") {
        let para = para.trim();
        if para.is_empty() || para.starts_with("Usage:") || para.starts_with("For more information")
        {
            continue;
        }
        let words: Vec<&str> = para.split_whitespace().collect();
        let line = words.join(" ");
        let line = line.strip_prefix("error: ").unwrap_or(&line).to_string();
        parts.push(line);
    }
    let command = rendered
        .lines()
        .find_map(|l| l.trim().strip_prefix("Usage: "))
        .and_then(|u| {
            let mut w = u
                .split_whitespace()
                .take_while(|w| !w.starts_with(['[', '<', '-']));
            let first = w.next()?;
            Some(
                std::iter::once(first)
                    .chain(w)
                    .collect::<Vec<_>>()
                    .join(" "),
            )
        })
        .unwrap_or_else(|| "quire".to_string());
    format!("{} (see `{command} --help`)", parts.join("; "))
}

/// Opens an archive — a file (memory-mapped) or a URL (read by ranges) — with a small block
/// cache: `ls -l` and `unpack --jsonl` read each entry's lead (title, metadata) and then its
/// body from the same block.
pub fn open(path: &Path) -> Result<Archive<AnySource>, Fail> {
    open_as(path, false)
}

/// Opens an archive once, through [`Archive::open_any`]: the prelude is read and parsed
/// once. With `salvage`, whatever the file's length ([`Archive::salvage`]), and a local file
/// is read with positioned reads (a copy that was cut short is no file to map).
pub fn open_as(path: &Path, salvage: bool) -> Result<Archive<AnySource>, Fail> {
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
        // An empty file has no magic number, but nothing mangled it either.
        quire::ReadError::BadMagic
            if !is_url && std::fs::metadata(path).is_ok_and(|m| m.len() == 0) =>
        {
            Fail::new(
                1,
                format!(
                    "{}: not a quire archive: the file is empty (0 bytes)",
                    path.display()
                ),
            )
        }
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
pub fn why_lost(e: &quire::ReadError) -> String {
    match e {
        quire::ReadError::Io { source, .. } if source.kind() == io::ErrorKind::UnexpectedEof => {
            "stored past the end of the file (the copy was cut short)".to_string()
        }
        other => chain(other),
    }
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
pub fn progress_bar(
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

/// Sets `bar` up for a stage of [`quire::ArchiveWriter::finish`].
pub fn restyle(bar: &indicatif::ProgressBar, stage: quire::Stage) {
    let (template, message) = match stage {
        quire::Stage::Dictionary => ("{msg} {spinner} {elapsed}", "choosing the dictionary"),
        quire::Stage::Compressing => (
            "{msg} [{bar:20}] {percent:>3}% {bytes_per_sec} left {left}",
            "compressing",
        ),
        _ => ("{msg} [{bar:20}] {bytes}/{total_bytes}", "writing"),
    };
    if let Ok(s) = indicatif::ProgressStyle::with_template(template) {
        let s = s.with_key("left", TimeLeft(quire_cli::progress::Eta::new(0)));
        bar.set_style(s.progress_chars("=> "));
    }
    // The rate and the time left count from the start of this stage.
    bar.reset();
    bar.set_message(message);
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
}

/// Body and key bytes of every entry, from the index alone (no block is read). An index that
/// cannot be walked is an error: info reports it rather than a partial sum.
pub fn totals<D: quire::source::ByteSource>(
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
/// The bytes of everything but the stored dictionary and blocks: the prelude and INDEX.
pub fn index_bytes<D: quire::source::ByteSource>(archive: &Archive<D>) -> u64 {
    let h = archive.header();
    h.file_len - archive.dictionary_len() - archive.data_len()
}

/// On Ctrl-C (SIGINT), SIGTERM or SIGHUP while `target` is being written, removes this
/// process's temporary files beside it (`.NAME.quire-tmp-PID-….partial`, which
/// [`quire::AtomicFile`] would remove on drop, but a signal ends the process without drops)
/// and ends the process with 128 + the signal's number, as a shell reports it. The writer's
/// spools are anonymous temporary files, which the system removes anyway.
///
/// A thread waits for the signal: removing files is no work for a signal handler.
pub fn clean_up_on_signal(target: &Path) -> Result<(), Fail> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])
        .map_err(|e| Fail::new(4, format!("cannot watch for signals: {e}")))?;
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => Path::new(".").to_path_buf(),
    };
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let prefix = format!(".{name}.quire-tmp-{}-", std::process::id());
    let shown = target.display().to_string();
    std::thread::spawn(move || {
        let Some(signal) = signals.forever().next() else {
            return;
        };
        let mut removed = 0;
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for e in entries.flatten() {
                let n = e.file_name();
                let n = n.to_string_lossy();
                if n.starts_with(&prefix)
                    && n.ends_with(".partial")
                    && std::fs::remove_file(e.path()).is_ok()
                {
                    removed += 1;
                }
            }
        }
        let what = match signal {
            SIGINT => "interrupted",
            SIGTERM => "terminated",
            _ => "hung up",
        };
        let mut err = io::stderr().lock();
        if err.is_terminal() {
            // Over the progress bar's line.
            let _ = write!(err, "\r\x1b[2K");
        }
        let _ = writeln!(
            err,
            "quire: {what}: {shown} was not written{}",
            if removed > 0 {
                " (its temporary file is removed)"
            } else {
                ""
            }
        );
        drop(err);
        std::process::exit(128 + signal);
    });
    Ok(())
}

/// A run of lost entries in `--json` output.
#[derive(serde::Serialize)]
pub struct LostJson {
    first: u64,
    last: u64,
    count: u64,
    from_key: Option<String>,
    to_key: Option<String>,
    why: String,
}

impl From<&quire_cli::unpack::LostRun> for LostJson {
    fn from(r: &quire_cli::unpack::LostRun) -> LostJson {
        LostJson {
            first: r.first,
            last: r.last,
            count: r.last - r.first + 1,
            from_key: r.keys.0.clone(),
            to_key: r.keys.1.clone(),
            why: r.why.clone(),
        }
    }
}
