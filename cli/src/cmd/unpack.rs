//! `quire unpack`: every entry back out, as files under a directory or as JSONL.

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};

use quire::Overwrite;
use quire_cli::output;
use quire_cli::unpack::{self, UnpackOptions};

use super::{chain, open, progress_bar, say, totals, Fail};

pub const HELP: &str = "\
With -o DIR each entry becomes the file DIR/KEY. Every key is checked before anything is
written: keys with `..`, absolute paths, drive letters, backslashes or NUL are refused (or
rewritten with --sanitize); symbolic links are never followed; existing files are replaced
only with --force. Entries in damaged blocks are skipped and listed (exit 1).

With --jsonl the first line is {\"archive\": {...metadata}}, then one line per entry with the
fields `quire pack` reads (key, title, date, content_type, meta, body or body_base64), so
packing it again gives the same archive. A FIFO, a device or /dev/stdout is written into; a
regular file is replaced atomically, only with --force (through a symbolic link, the file it
points to).";

/// `quire unpack`'s arguments.
#[derive(clap::Args)]
pub struct Args {
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

/// Runs `quire unpack`.
pub fn run(a: Args) -> Result<u8, Fail> {
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
                super::clean_up_on_signal(&target)?;
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
