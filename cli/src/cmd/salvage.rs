//! `quire salvage`: what can be read of a damaged copy, into a new archive; what was lost,
//! one line per damaged page or run of neighbouring entries.

use std::io::Write;
use std::path::PathBuf;

use quire::{Overwrite, WriterOptions};
use quire_cli::unpack;

use super::{chain, open_as, say, why_lost, Fail};

pub const HELP: &str = "\
Salvage reads the archive as long as its header says, whatever the file's length: a copy cut
short gives back every entry whose index page and blocks lie before the cut, a copy with
bytes appended gives back every entry. Entries whose page or blocks are damaged are lost and
listed; every other entry is written, byte for byte, with its title, date, content type and
metadata, into OUTPUT (written whole or not at all). Exit 0 when nothing was lost, 1 when
something was.";

/// `quire salvage`'s arguments.
#[derive(clap::Args)]
pub struct Args {
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
    /// What was salvaged and lost as one JSON object on stdout instead: archive, output,
    /// entries, kept, file_bytes, lost_entries, lost (first, last, count, from_key, to_key,
    /// why).
    #[arg(long)]
    json: bool,
}

/// What salvage kept and lost.
#[derive(serde::Serialize)]
struct Salvaged {
    archive: String,
    output: String,
    /// Entries the archive's header gives.
    entries: u64,
    kept: u64,
    file_bytes: u64,
    lost_entries: u64,
    lost: Vec<super::LostJson>,
    #[serde(skip)]
    runs: Vec<unpack::LostRun>,
}

impl Salvaged {
    /// One line per lost range (unless `quiet`), then the summary: what [`run`] says on
    /// stderr.
    fn say(&self, quiet: bool) {
        if !quiet {
            for r in &self.runs {
                say(format_args!("{}: {r}", self.archive));
            }
        }
        say(format_args!(
            "{}: salvaged {} of {} entries into {} ({} bytes){}",
            self.archive,
            self.kept,
            self.entries,
            self.output,
            self.file_bytes,
            match self.lost_entries {
                0 => String::new(),
                n => format!(
                    "; {n} lost in {} place(s){}",
                    self.runs.len(),
                    if quiet {
                        " (run without -q for the list)"
                    } else {
                        ""
                    }
                ),
            }
        ));
    }
}

/// Runs `quire salvage`: every entry that can be read, into a new archive.
pub fn run(a: Args) -> Result<u8, Fail> {
    let (path, output, force, quiet) = (a.archive.as_path(), a.output.as_path(), a.force, a.quiet);
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
    super::clean_up_on_signal(output)?;
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
    let facts = Salvaged {
        archive: path.display().to_string(),
        output: output.display().to_string(),
        entries: archive.len(),
        kept,
        file_bytes: summary.file_len,
        lost_entries,
        lost: runs.iter().map(super::LostJson::from).collect(),
        runs,
    };
    if a.json {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{}", serde_json::to_string(&facts).unwrap_or_default())?;
        out.flush()?;
    } else {
        facts.say(quiet);
    }
    Ok(if lost_entries == 0 { 0 } else { 1 })
}
