//! `quire info`: what the prelude and the index say of an archive — version, flags,
//! counts, sizes, sections, metadata — as text or as one JSON object. It reads the prelude
//! and the index pages, never a block (ROUND-3.1: `info` does not read the data).

use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::PathBuf;

use serde::Serialize;
use serde_json::{Map, Value};

use quire_cli::show::shown;

use super::{index_bytes, open, totals, Fail};

/// `quire info`'s arguments.
#[derive(clap::Args)]
pub struct Args {
    /// The archive: a path, an http(s):// URL or s3://BUCKET/KEY.
    archive: PathBuf,
    /// One JSON object instead: version, flags, counts, sizes, sections, metadata.
    #[arg(long)]
    json: bool,
}

/// The facts `info` shows; serialised as they are for `--json` (the README lists the keys,
/// and a test holds the two to each other).
#[derive(Serialize)]
pub struct Info {
    file: String,
    version: String,
    major: u16,
    minor: u16,
    required_flags: u64,
    optional_flags: u64,
    /// The spec's names of the required flags that are set (`DICT`, `RAW_DICT`).
    required_flag_names: Vec<String>,
    /// The spec's names of the optional flags that are set (`SHARED_BODIES`).
    optional_flag_names: Vec<String>,
    /// `trained`, `raw`, or null without a dictionary.
    dictionary_kind: Option<&'static str>,
    entries: u64,
    blocks: u64,
    block_target: u32,
    max_block_len: u32,
    /// Unpacked, from the dictionary's frame header when it lies in the first 16 KiB.
    dictionary_bytes: Option<u64>,
    dictionary_stored_bytes: u64,
    index_depth: u8,
    prelude_bytes: u32,
    index_bytes: u64,
    key_bytes: u64,
    data_bytes: u64,
    raw_bytes: u64,
    file_bytes: u64,
    /// Whether the archive has a title index (the TITLES section, for `quire suggest`).
    title_index: bool,
    /// Its size in bytes, from the section table (0 without one).
    title_index_bytes: u64,
    /// Whether the archive has a full-text index (the SEARCH section, for `quire search`).
    search_index: bool,
    /// Its size in bytes, from the section table (0 without one).
    search_index_bytes: u64,
    sections: Vec<Section>,
    metadata: Map<String, Value>,
    content_types: Vec<String>,
}

/// A section record.
#[derive(Serialize)]
struct Section {
    id: u32,
    name: Option<&'static str>,
    offset: u64,
    length: u64,
    crc: u32,
}

impl Info {
    /// Gathers the facts: the prelude, and a walk of the index for the sums.
    pub(crate) fn gather(
        path: &std::path::Path,
        archive: &quire::Archive<quire::source::AnySource>,
    ) -> Result<Info, Fail> {
        let h = archive.header();
        let (raw, keys) = totals(archive)?;
        let title_index_bytes: u64 = archive
            .sections()
            .iter()
            .filter(|s| s.id == quire::format::titles::SECTION_ID)
            .map(|s| s.length)
            .sum();
        let search_index_bytes: u64 = archive
            .sections()
            .iter()
            .filter(|s| s.id == quire::format::search::SECTION_ID)
            .map(|s| s.length)
            .sum();
        Ok(Info {
            file: path.display().to_string(),
            version: format!("{}.{}", h.major, h.minor),
            major: h.major,
            minor: h.minor,
            required_flags: h.required_flags,
            optional_flags: h.optional_flags,
            required_flag_names: h
                .required_flag_names()
                .into_iter()
                .map(|n| n.into_owned())
                .collect(),
            optional_flag_names: h
                .optional_flag_names()
                .into_iter()
                .map(|n| n.into_owned())
                .collect(),
            dictionary_kind: h.dictionary_kind().map(|k| k.name()),
            entries: h.entry_count,
            blocks: h.block_count,
            block_target: h.block_target,
            max_block_len: h.max_block_len,
            dictionary_bytes: archive.dictionary_declared_len(),
            dictionary_stored_bytes: archive.dictionary_len(),
            index_depth: h.index_depth,
            prelude_bytes: h.prelude_len,
            index_bytes: index_bytes(archive) - title_index_bytes - search_index_bytes,
            key_bytes: keys,
            data_bytes: archive.data_len(),
            raw_bytes: raw,
            file_bytes: h.file_len,
            title_index: archive.has_title_index(),
            title_index_bytes,
            search_index: archive.has_search_index(),
            search_index_bytes,
            sections: archive
                .sections()
                .iter()
                .map(|s| Section {
                    id: s.id,
                    name: section_name(s.id),
                    offset: s.offset,
                    length: s.length,
                    crc: s.crc,
                })
                .collect(),
            metadata: archive
                .metadata()
                .iter()
                .map(|(n, v)| (n.clone(), Value::String(v.clone())))
                .collect(),
            content_types: archive.content_types().to_vec(),
        })
    }

    /// The text form: one fact per line, strings from the archive escaped.
    fn text(&self) -> String {
        let mut o = String::new();
        let _ = writeln!(o, "file:           {}", self.file);
        let _ = writeln!(o, "format version: {}", self.version);
        // `required 0x3 (DICT, RAW_DICT: raw dictionary), optional 0x1 (SHARED_BODIES)`
        let required = match (self.required_flag_names.join(", "), self.dictionary_kind) {
            (n, _) if n.is_empty() => String::new(),
            (n, Some(kind)) => format!(" ({n}: {kind} dictionary)"),
            (n, None) => format!(" ({n})"),
        };
        let optional = match self.optional_flag_names.join(", ") {
            n if n.is_empty() => String::new(),
            n => format!(" ({n})"),
        };
        let _ = writeln!(
            o,
            "flags:          required {:#x}{required}, optional {:#x}{optional}",
            self.required_flags, self.optional_flags
        );
        let _ = writeln!(o, "entries:        {}", self.entries);
        let _ = writeln!(
            o,
            "blocks:         {} (target {} bytes, largest {} bytes)",
            self.blocks, self.block_target, self.max_block_len
        );
        let _ = match self.dictionary_bytes {
            Some(dict) => writeln!(
                o,
                "dictionary:     {dict} bytes ({} stored)",
                self.dictionary_stored_bytes
            ),
            None => writeln!(
                o,
                "dictionary:     {} bytes stored",
                self.dictionary_stored_bytes
            ),
        };
        let per_entry = |b: u64| b as f64 / self.entries.max(1) as f64;
        let _ = writeln!(
            o,
            "index:          {} bytes ({:.1} per entry, keys {:.1} of them), depth {}, prelude {} bytes",
            self.index_bytes,
            per_entry(self.index_bytes),
            per_entry(self.key_bytes),
            self.index_depth,
            self.prelude_bytes
        );
        let _ = if self.title_index {
            writeln!(
                o,
                "title index:    {} bytes ({:.1} per entry)",
                self.title_index_bytes,
                per_entry(self.title_index_bytes)
            )
        } else {
            writeln!(
                o,
                "title index:    none (packed with --index none: no suggestions)"
            )
        };
        let _ = if self.search_index {
            writeln!(
                o,
                "search index:   {} bytes ({:.1} per entry)",
                self.search_index_bytes,
                per_entry(self.search_index_bytes)
            )
        } else {
            writeln!(
                o,
                "search index:   none (packed without --index full: no full-text search)"
            )
        };
        let _ = writeln!(o, "raw size:       {} bytes (bodies)", self.raw_bytes);
        let _ = writeln!(o, "packed size:    {} bytes", self.file_bytes);
        let ratio = if self.file_bytes > 0 {
            self.raw_bytes as f64 / self.file_bytes as f64
        } else {
            0.0
        };
        let _ = writeln!(o, "ratio:          {ratio:.3}");
        let _ = writeln!(o, "sections:");
        for s in &self.sections {
            let _ = writeln!(
                o,
                "  {:<8} {:>12} bytes at {:>12}  crc {:08x}",
                s.name.unwrap_or("unknown"),
                s.length,
                s.offset,
                s.crc
            );
        }
        let _ = writeln!(o, "metadata:");
        for (n, v) in &self.metadata {
            let v = v.as_str().unwrap_or_default();
            let _ = writeln!(o, "  {}: {}", shown(n), shown(v));
        }
        let types: Vec<_> = self.content_types.iter().map(|t| shown(t)).collect();
        let _ = writeln!(o, "content types:  {}", types.join(", "));
        o
    }

    /// The `--json` form: one object on one line.
    fn json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default() + "\n"
    }
}

/// The spec's name of a section id (§2.2), if it is one this reader knows.
fn section_name(id: u32) -> Option<&'static str> {
    match id {
        quire::format::titles::SECTION_ID => Some("TITLES"),
        quire::format::search::SECTION_ID => Some("SEARCH"),
        id => quire::format::SectionId::from_u32(id).map(|i| i.name()),
    }
}

/// Runs `quire info`.
pub fn run(a: Args) -> Result<u8, Fail> {
    let archive = open(&a.archive)?;
    let info = Info::gather(&a.archive, &archive)?;
    let mut out = io::stdout().lock();
    out.write_all(if a.json { info.json() } else { info.text() }.as_bytes())?;
    out.flush()?;
    Ok(0)
}
