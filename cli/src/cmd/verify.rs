//! `quire verify`: check every checksum; the report goes to stdout, damage or not, and the
//! exit code says which.

use std::io::{self, Write};
use std::path::PathBuf;

use serde::Serialize;

use super::{open, say, Fail};

/// `quire verify`'s arguments.
#[derive(clap::Args)]
pub struct Args {
    /// The archive: a path, an http(s):// URL or s3://BUCKET/KEY.
    archive: PathBuf,
    /// One JSON object instead: file, ok, sections, blocks, entries, problems (each with
    /// code, at, what and the keys it affects) and interrupted.
    #[arg(long)]
    json: bool,
}

/// What `verify` found.
#[derive(Serialize)]
struct Verified {
    file: String,
    ok: bool,
    sections: usize,
    blocks: u64,
    entries: u64,
    problems: Vec<Problem>,
    /// Why the check stopped before the end (the network), when it did.
    interrupted: Option<String>,
    #[serde(skip)]
    report: quire::Report,
}

/// One problem: its §11 code, where, what, and the keys of the entries it affects.
#[derive(Serialize)]
struct Problem {
    code: &'static str,
    at: String,
    what: String,
    keys: Vec<String>,
}

impl Verified {
    fn text(&self) -> String {
        if self.report.is_ok() {
            format!("{}: {}\n", self.file, self.report)
        } else {
            format!("{}: {}", self.file, self.report)
        }
    }

    fn json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default() + "\n"
    }
}

/// Runs `quire verify`.
pub fn run(a: Args) -> Result<u8, Fail> {
    let archive = open(&a.archive)?;
    let report = archive.verify();
    let facts = Verified {
        file: a.archive.display().to_string(),
        ok: report.is_ok(),
        sections: report.sections,
        blocks: report.blocks,
        entries: report.entries,
        problems: report
            .problems
            .iter()
            .map(|p| Problem {
                code: quire::error::damage_code(p.at, p.kind),
                at: p.at.to_string(),
                what: p.kind.to_string(),
                keys: p.keys.clone(),
            })
            .collect(),
        interrupted: report.interrupted.clone(),
        report,
    };
    // Success and damage alike go to stdout: the report is the command's output; the exit
    // code says which it is.
    let mut out = io::stdout().lock();
    out.write_all(if a.json { facts.json() } else { facts.text() }.as_bytes())?;
    out.flush()?;
    // Stopped by the network (or an archive that changed on its server): that says nothing
    // of the archive, and is an I/O error.
    if let Some(why) = &facts.interrupted {
        say(format_args!("{why}"));
        return Ok(4);
    }
    Ok(if facts.ok { 0 } else { 1 })
}
