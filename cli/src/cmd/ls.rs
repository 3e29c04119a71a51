//! `quire ls`: keys in key order (the order entries are numbered in), with `--long` their
//! size, date, content type and title; as text, or one JSON object per line.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use quire::ReadError;
use quire_cli::show::shown;

use super::{open, read_code, read_fail, say, Fail};

/// `quire ls`'s arguments.
#[derive(clap::Args)]
pub struct Args {
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
}

/// One row of the listing: what the walk gave.
enum Row<'a> {
    /// An entry; with `--long`, its title, or why the block its body starts in cannot be
    /// read.
    Entry(quire::Entry<'a>, Option<Result<Option<String>, ReadError>>),
    /// Entries that could not be read: a page's worth ([`ReadError::Skipped`]) or one.
    Unreadable(ReadError),
}

impl Row<'_> {
    /// How many entries of this row could not be read.
    fn damaged(&self) -> u64 {
        match self {
            Row::Entry(_, Some(Err(_))) => 1,
            Row::Entry(..) => 0,
            Row::Unreadable(ReadError::Skipped { count, .. }) => *count,
            Row::Unreadable(_) => 1,
        }
    }

    /// The text line (none for an unreadable row without `--long`); what could not be read
    /// is said on stderr too.
    fn text(&self, path: &Path, long: bool, widths: (usize, usize)) -> Option<String> {
        let (size_w, type_w) = widths;
        match self {
            Row::Unreadable(err) => {
                say(format_args!("{}: {err}", path.display()));
                long.then(|| {
                    format!(
                        "{:>size_w$}  {:<10}  {:<type_w$}  ?  [unreadable: {}]",
                        "?",
                        "?",
                        "?",
                        err.code()
                    )
                })
            }
            Row::Entry(e, None) => Some(shown(e.key()).into_owned()),
            Row::Entry(e, Some(title)) => {
                let title = match title {
                    Ok(t) => t
                        .as_ref()
                        .map_or_else(String::new, |t| format!("  \t{}", shown(t))),
                    Err(err) => {
                        say(format_args!("{}: key {:?}: {err}", path.display(), e.key()));
                        "  \t[unreadable: the archive is damaged here]".to_string()
                    }
                };
                Some(format!(
                    "{:>size_w$}  {:<10}  {:<type_w$}  {}{}",
                    e.body_len(),
                    e.date().map_or_else(|| "-".to_string(), |d| d.to_string()),
                    shown(e.content_type()),
                    shown(e.key()),
                    title
                ))
            }
        }
    }

    /// The JSON object: an entry; a page's lost entries and their key range; or one entry
    /// that could not be read, by position.
    fn json(&self) -> Value {
        match self {
            Row::Unreadable(ReadError::Skipped {
                first,
                count,
                from,
                to,
                cause,
            }) => json!({
                "lost": {"first": first, "count": count, "from_key": from, "to_key": to},
                "code": cause.code(),
                "error": cause.to_string(),
            }),
            Row::Unreadable(err) => {
                let index = match err.location() {
                    Some(quire::Location::Entry(i)) => Value::from(i),
                    _ => Value::Null,
                };
                json!({ "index": index, "code": err.code(), "error": err.to_string() })
            }
            Row::Entry(e, title) => {
                let mut o = json!({
                    "index": e.index(),
                    "key": e.key(),
                    "size": e.body_len(),
                    "date": e.date().map(|d| d.to_string()),
                    "content_type": e.content_type(),
                });
                match title {
                    Some(Ok(t)) => o["title"] = t.clone().map_or(Value::Null, Value::String),
                    Some(Err(err)) => o["error"] = err.to_string().into(),
                    None => {}
                }
                o
            }
        }
    }
}

/// Runs `quire ls`.
pub fn run(a: Args) -> Result<u8, Fail> {
    let path = a.archive.as_path();
    let archive = open(path)?;
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    // Column widths: the longest content type (from the archive's table of them) and the
    // longest size.
    let widths = if a.long && !a.json {
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
    // The sorted walk: a page that cannot be read is one row, and the listing goes on.
    for item in archive.prefix(a.prefix.as_deref().unwrap_or("")) {
        let row = match item {
            // The network failed, or the archive changed on its server: the walk stops
            // there, and so does the listing (what was listed stays listed).
            Err(err) if read_code(&err) == 4 => {
                out.flush()?;
                return Err(read_fail(path, "", err));
            }
            Err(err) => Row::Unreadable(err),
            Ok(e) if !a.long => Row::Entry(e, None),
            Ok(e) => match readable_title(&e) {
                Err(err) if read_code(&err) == 4 => {
                    out.flush()?;
                    return Err(read_fail(path, &format!("key {:?}: ", e.key()), err));
                }
                title => Row::Entry(e, Some(title)),
            },
        };
        damaged += row.damaged();
        if a.json {
            writeln!(out, "{}", row.json())?;
        } else if let Some(line) = row.text(path, a.long, widths) {
            writeln!(out, "{line}")?;
        }
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
        Err(err) => Err(match err.into_inner().map(|b| b.downcast::<ReadError>()) {
            Some(Ok(read)) => *read,
            Some(Err(other)) => io::Error::other(other).into(),
            None => io::Error::other("the body could not be read").into(),
        }),
    }
}
