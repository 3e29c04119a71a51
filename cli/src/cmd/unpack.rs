//! `quire unpack`: every entry back out, as files under a directory or as JSONL.

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;

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
    /// What was written and lost as one JSON object on stdout instead of the summary:
    /// archive, entries, written, bytes, lost_entries, lost (first, last, count, from_key,
    /// to_key, why). Not with --jsonl - (stdout holds the JSONL).
    #[arg(long)]
    json: bool,
}

/// What unpack wrote and lost.
#[derive(serde::Serialize)]
struct Unpacked {
    archive: String,
    /// Entries the archive holds.
    entries: u64,
    /// Files (or JSONL lines) written.
    written: u64,
    /// Body bytes written.
    bytes: u64,
    lost_entries: u64,
    lost: Vec<super::LostJson>,
    #[serde(skip)]
    runs: Vec<unpack::LostRun>,
}

impl Unpacked {
    /// What unpack lost: one line per run of neighbouring entries lost for one reason (a
    /// damaged page costs one line, not one per entry), then a summary; with `quiet`, the
    /// summary alone.
    fn say_lost(&self, quiet: bool) {
        if self.runs.is_empty() {
            return;
        }
        if !quiet {
            for r in &self.runs {
                say(format_args!("{}: {r}", self.archive));
            }
        }
        let first = match self.runs.first() {
            Some(r) if quiet => format!(" (first: {r}); run without -q for the list"),
            _ => String::new(),
        };
        say(format_args!(
            "{}: {} of {} entries could not be read (the archive is damaged, {} place(s)); \
             every other entry was written{first}",
            self.archive,
            self.lost_entries,
            self.entries,
            self.runs.len(),
        ));
    }

    /// The summary line.
    fn text(&self) -> String {
        format!(
            "unpacked {} entries ({} bytes){}",
            self.written,
            self.bytes,
            match self.lost_entries {
                0 => String::new(),
                n => format!(", {n} lost to damage"),
            }
        )
    }
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
            output::JsonlTarget::Stdout if a.json => {
                return Err(Fail::new(
                    2,
                    "--json prints on stdout, where --jsonl - writes the entries: give \
                     --jsonl a file",
                ))
            }
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
    let runs = unpack::runs_of_lost(&s.lost);
    let facts = Unpacked {
        archive: a.archive.display().to_string(),
        entries: archive.len(),
        written: s.files,
        bytes: s.bytes,
        lost_entries: s.lost.len() as u64,
        lost: runs.iter().map(super::LostJson::from).collect(),
        runs,
    };
    if a.json {
        let mut out = io::stdout().lock();
        writeln!(out, "{}", serde_json::to_string(&facts).unwrap_or_default())?;
        out.flush()?;
    } else {
        facts.say_lost(a.quiet);
        if !a.quiet {
            let _ = writeln!(io::stderr(), "{}", facts.text());
        }
    }
    Ok(if s.lost.is_empty() { 0 } else { 1 })
}
