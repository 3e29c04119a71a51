//! `quire search`: full-text search (spec §15) of the archive's words, ranked by BM25, with
//! a snippet of each result's text, on paths and URLs.

use std::io::{self, Write};
use std::path::PathBuf;

use serde_json::json;

use quire_cli::show::shown;

use super::{open, read_fail, Fail};

/// The exit code when the archive has no full-text index (as `suggest` without a title
/// index).
pub const NO_SEARCH_INDEX: u8 = 5;

/// `quire search`'s arguments.
#[derive(clap::Args)]
pub struct Args {
    /// The archive: a path, an http(s):// URL or s3://BUCKET/KEY.
    archive: PathBuf,
    /// The words to find (every one of them), analysed as the archive's text was; words
    /// between double quotes must stand together as a phrase.
    query: String,
    /// At most this many results (at most 10000).
    #[arg(short = 'n', long, value_name = "N", default_value_t = 10)]
    limit: usize,
    /// One JSON object per line instead: key, title (null when the entry has none), score
    /// (the integer BM25 score of spec §15.2) and snippet (HTML: text escaped, the query's
    /// words in <b>…</b>).
    #[arg(long)]
    json: bool,
}

pub const HELP: &str = "\
Output: one line per result, best first: KEY, a tab, the title (the key again when the entry
has none), a tab, the BM25 score, a tab, and a snippet of the text with the query's words
between [ and ]; escaped as `ls --long` shows them. A result holds every word of the query
(stemmed in the archive's language: `running` finds `run`), and every \"quoted phrase\" word
for word; results are ranked by BM25, ties by key. An archive packed without --index full
has no full-text index: search says so and exits 5.";

/// Runs `quire search`.
pub fn run(a: Args) -> Result<u8, Fail> {
    let archive = open(&a.archive)?;
    let found = match archive.search(&a.query, a.limit) {
        Ok(found) => found,
        Err(quire::ReadError::NoSearchIndex) => {
            return Err(Fail::new(
                NO_SEARCH_INDEX,
                format!(
                    "{}: the archive has no full-text index; re-pack it with --index full to \
                     search it",
                    a.archive.display()
                ),
            ))
        }
        Err(e @ quire::ReadError::InvalidQuery { .. }) => {
            return Err(Fail::new(2, format!("{e}")));
        }
        Err(e) => return Err(read_fail(&a.archive, "full-text index: ", e)),
    };
    let mut out = io::BufWriter::new(io::stdout().lock());
    for h in &found {
        if a.json {
            let o = json!({
                "key": h.key,
                "title": h.title,
                "score": h.score,
                "snippet": h.snippet.to_html(),
            });
            writeln!(out, "{o}")?;
        } else {
            writeln!(
                out,
                "{}\t{}\t{:.3}\t{}",
                shown(&h.key),
                shown(h.title.as_deref().unwrap_or(&h.key)),
                h.bm25(),
                shown(&h.snippet.marked("[", "]", false))
            )?;
        }
    }
    out.flush()?;
    Ok(0)
}
