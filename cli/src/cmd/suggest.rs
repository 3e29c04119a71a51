//! `quire suggest`: title suggestions (spec §14) for what a user typed, from the archive's
//! title index alone (no data block, no dictionary), on paths and URLs.

use std::io::{self, Write};
use std::path::PathBuf;

use serde_json::json;

use quire_cli::show::shown;

use super::{open, read_fail, Fail};

/// The exit code when the archive has no title index.
pub const NO_TITLE_INDEX: u8 = 5;

/// `quire suggest`'s arguments.
#[derive(clap::Args)]
pub struct Args {
    /// The archive: a path, an http(s):// URL or s3://BUCKET/KEY.
    archive: PathBuf,
    /// What the user typed: matched, folded (case, diacritics, width), against the start of
    /// each title and of each word in it.
    text: String,
    /// At most this many suggestions (0: all of them).
    #[arg(short = 'n', long, value_name = "N", default_value_t = 10)]
    limit: usize,
    /// One JSON object per line instead: key, title (null when the entry has none) and kind
    /// ("title": the text starts the title; "word": it starts a word in it).
    #[arg(long)]
    json: bool,
}

pub const HELP: &str = "\
Output: one line per suggestion, best first: KEY, a tab, then the title (the key again when
the entry has none), escaped as `ls --long` shows them. Order: matches at the start of the
title before matches at the start of a word, then shorter titles, then by title and key.
An archive packed with --index none has no title index: suggest says so and exits 5
(re-pack it with --index titles, the default).";

/// Runs `quire suggest`.
pub fn run(a: Args) -> Result<u8, Fail> {
    let archive = open(&a.archive)?;
    let limit = (a.limit > 0).then_some(a.limit);
    let found = match archive.suggest(&a.text, limit) {
        Ok(found) => found,
        Err(quire::ReadError::NoTitleIndex) => {
            return Err(Fail::new(
                NO_TITLE_INDEX,
                format!(
                    "{}: the archive has no title index (it was packed with --index none); \
                     re-pack it with --index titles to suggest titles",
                    a.archive.display()
                ),
            ))
        }
        Err(e) => return Err(read_fail(&a.archive, "title index: ", e)),
    };
    let mut out = io::BufWriter::new(io::stdout().lock());
    for s in &found {
        if a.json {
            let o = json!({ "key": s.key, "title": s.title, "kind": s.kind.name() });
            writeln!(out, "{o}")?;
        } else {
            writeln!(out, "{}\t{}", shown(&s.key), shown(s.text()))?;
        }
    }
    out.flush()?;
    Ok(0)
}
