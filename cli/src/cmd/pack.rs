//! `quire pack`: directories, JSONL files and single files into an archive.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use clap::ValueEnum;
use quire::{ArchiveWriter, DictionaryMode, DuplicatePolicy, IndexKind, Overwrite, WriterOptions};
use quire_cli::ingest::{Input, Packer};
use quire_cli::output;

use super::{chain, progress_bar, say, Fail};

pub const HELP: &str = "\
Inputs:
  DIR            every regular file under DIR is an entry; key = path relative to DIR with
                 `/`; symbolic links (not followed), FIFOs, devices and file names that are
                 not UTF-8 are skipped and counted (--strict-names: a non-UTF-8 name is an
                 error); the archive being written and its temporary files are left out;
                 only the bytes and the name are kept: file modes, owners and
                 modification times are not (unpack writes files with the default mode
                 and the current time)
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

/// `quire pack`'s arguments.
#[derive(clap::Args)]
pub struct Args {
    /// Directories, JSONL files, other files, or `-` for JSONL on stdin (see below).
    #[arg(required = true)]
    inputs: Vec<String>,
    /// The archive to write: a regular file (standard output cannot take an archive).
    #[arg(short, long, value_name = "FILE")]
    output: PathBuf,
    /// Starting settings: `default` (local files, fast lookups: 24 KiB blocks, 128 KiB for
    /// long documents or 16 KiB for short entries, at level 19, a 256 KiB–8 MiB dictionary), `smallest` (archival: 4 MiB
    /// blocks, level 22: close to solid compression, slower lookups) or `remote` (read over
    /// HTTP, S3 or from a browser: a dictionary of at most 160 KiB stored, 64 KiB blocks or
    /// 128 KiB for long documents, so the first article after open fetches at most 256 KiB
    /// for an entry whose block stores in 64 KiB).
    #[arg(long, value_enum, default_value_t = Preset::Default)]
    preset: Preset,
    /// zstd level, 1..=22 (default 19; 22 with --preset smallest).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(i32).range(1..=22))]
    level: Option<i32>,
    /// Target uncompressed block size, 64..=4M, e.g. 64K or 1M (default 24K, 128K when a
    /// quarter of the text is in entries over 16 KiB, 16K when the median entry is under 512
    /// bytes; 4M with --preset smallest; 64K, or 128K for such text, with --preset remote).
    #[arg(long, value_name = "SIZE", value_parser = parse_block_size)]
    block_size: Option<u32>,
    /// Do not use a dictionary.
    #[arg(long)]
    no_dict: bool,
    /// Largest dictionary, 256..=16M (default an eighth of the text, between 2M and 8M, or
    /// 256K when the median entry is under 512 bytes; the writer takes 2M, 128K for short
    /// entries, half of a size given, unless the larger makes the archive at least 1%
    /// smaller; 2M with --preset remote). A larger one
    /// slows the first read after open: 4M for an archive opened often.
    #[arg(long, value_name = "SIZE", value_parser = parse_dict_size)]
    dict_size: Option<u32>,
    /// Largest stored dictionary (its compressed frame, which a remote reader fetches whole
    /// with the first article), 256..=16M, e.g. 160K: the writer picks smaller dictionaries
    /// until one fits, or uses none (default no bound; 160K with --preset remote).
    #[arg(long, value_name = "SIZE", value_parser = parse_dict_size)]
    dict_stored_max: Option<u32>,
    /// How much of the input (from the start) to pick the dictionary from, e.g. 16M
    /// (default 16M; when the writer chooses the dictionary's size, at least 8 times it).
    #[arg(long, value_name = "SIZE", value_parser = parse_dict_sample)]
    dict_sample: Option<u32>,
    /// Store every body separately, even identical ones.
    #[arg(long)]
    no_dedup: bool,
    /// Store the index's pages uncompressed. By default each is packed (one zstd frame,
    /// spec §6.5) when that is shorter, which makes the index 35-45% smaller and sets the
    /// required flag PACKED_NODES; readers made before that flag refuse such an archive.
    #[arg(long)]
    raw_index: bool,
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
    /// Search indexes to add: `titles` (the default) adds a title index for `quire suggest`
    /// (folded title and word-start lookups; about 20-90 bytes an entry, 90 on news titles,
    /// so a few percent of a news archive); `full` adds the title index and a full-text
    /// index for `quire search` (words of titles and text, by content type: HTML as text,
    /// binary types not at all; analysed in the --language); `none` adds nothing (the
    /// smallest archive; no suggestions, no search).
    #[arg(long, value_enum, value_name = "KIND", default_value_t = Index::Titles)]
    index: Index,
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
    /// The archive's language, ISO 639-3 (`eng`, `fra`, `deu`, `zho`, …): the `language`
    /// metadata field, from which --index full analyses words (Snowball stemming for 34
    /// languages, jieba's words for Chinese). Without it words are not stemmed and CJK
    /// text is cut into overlapping pairs of characters.
    #[arg(long, value_name = "CODE")]
    language: Option<String>,
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
    /// The key of the archive's main page (the `main` metadata field): what `quire serve`
    /// shows as the archive's home. Default: `index.html` when a directory input has one
    /// at its top.
    #[arg(long, value_name = "KEY")]
    main: Option<String>,
    /// Other archive metadata, NAME=VALUE (repeatable; each NAME once; `created` and `tool`
    /// are written by quire).
    #[arg(long = "meta", value_name = "NAME=VALUE", value_parser = parse_pair)]
    meta: Vec<(String, String)>,
    /// No progress bar and no summary.
    #[arg(short, long)]
    quiet: bool,
    /// The summary as one JSON object on stdout instead: output, entries, raw_bytes,
    /// file_bytes, blocks, dictionary_bytes, dictionary_stored_bytes, ratio,
    /// duplicates_resolved, shared_bodies, skipped (symlinks, special, bad_names).
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum Preset {
    Default,
    Smallest,
    Remote,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Index {
    Titles,
    Full,
    None,
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

/// Archive metadata from the command line: each name once, none that the writer sets.
fn command_line_metadata(a: &Args) -> Result<Vec<(String, String)>, Fail> {
    let mut metadata: Vec<(String, String)> = Vec::new();
    let named = [
        ("title", &a.title),
        ("description", &a.description),
        ("creator", &a.creator),
        ("source", &a.source),
        ("language", &a.language),
        ("main", &a.main),
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

/// Runs `quire pack`.
pub fn run(a: Args) -> Result<u8, Fail> {
    let created = source_date_epoch()?;
    let target = pack_target(&a)?;
    let inputs: Vec<Input> = a.inputs.iter().map(|s| Input::from_arg(s)).collect();
    let total: Option<u64> = inputs.iter().try_fold(0u64, |acc, i| match i {
        Input::Jsonl(p) | Input::File(p) => std::fs::metadata(p).ok().map(|m| acc + m.len()),
        _ => None,
    });
    let opts = pack_options(&a, &inputs, created, total)?;
    super::clean_up_on_signal(&target)?;
    let mut writer = ArchiveWriter::create(&target, opts).map_err(|e| match e {
        quire::WriteError::InvalidOptions(m) => Fail::new(2, m),
        e => Fail::new(
            4,
            format!("cannot create {}: {}", a.output.display(), chain(&e)),
        ),
    })?;
    // Reading the inputs only spools them; choosing the dictionary, compressing and
    // writing happen in finish(), which moves the same bar through its stages.
    let bar = progress_bar(a.quiet, total, "reading", 0);
    if !bar.is_hidden() {
        writer.on_progress(finish_progress(bar.clone()));
    }
    let mut packer = Packer::new(writer);
    packer.exclude_output(&target);
    packer.strict_names(a.strict_names);
    add_inputs(&mut packer, &inputs, &bar)?;
    let skipped = Skipped {
        symlinks: packer.skipped.symlinks.len(),
        special: packer.skipped.special.len(),
        bad_names: packer.skipped.bad_names.len(),
    };
    let s = packer.into_writer().finish();
    bar.finish_and_clear();
    if let (Ok(_), Some(main)) = (&s, &a.main) {
        warn_if_missing(&a.output, main);
    }
    let packed = Packed::new(&s?, &a.output, skipped);
    if a.json {
        let mut out = io::stdout().lock();
        writeln!(
            out,
            "{}",
            serde_json::to_string(&packed).unwrap_or_default()
        )?;
        out.flush()?;
    } else if !a.quiet {
        let _ = writeln!(io::stderr(), "{}", packed.text());
    }
    Ok(0)
}

/// Warns when `--main KEY` names no entry of the archive written (the server then shows a
/// listing as the archive's home).
fn warn_if_missing(output: &Path, main: &str) {
    if let Ok(archive) = quire::Archive::open_file(output) {
        if matches!(archive.get(main), Ok(None)) {
            say(format_args!(
                "warning: --main {main:?}: the archive has no entry with that key"
            ));
        }
    }
}

/// What a pack wrote.
#[derive(serde::Serialize)]
struct Packed {
    output: String,
    entries: u64,
    raw_bytes: u64,
    file_bytes: u64,
    blocks: u64,
    dictionary_bytes: u64,
    dictionary_stored_bytes: u64,
    ratio: f64,
    duplicates_resolved: u64,
    shared_bodies: u64,
    skipped: Skipped,
}

/// What directory inputs left out.
#[derive(serde::Serialize)]
struct Skipped {
    symlinks: usize,
    special: usize,
    bad_names: usize,
}

impl Packed {
    fn new(s: &quire::Summary, output: &Path, skipped: Skipped) -> Packed {
        Packed {
            output: output.display().to_string(),
            entries: s.entries,
            raw_bytes: s.raw_bytes,
            file_bytes: s.file_len,
            blocks: s.blocks,
            dictionary_bytes: s.dict_len,
            dictionary_stored_bytes: s.stored_dict_len,
            ratio: if s.file_len > 0 {
                s.raw_bytes as f64 / s.file_len as f64
            } else {
                0.0
            },
            duplicates_resolved: s.duplicates,
            shared_bodies: s.shared_bodies,
            skipped,
        }
    }

    /// The one-line summary: counts, sizes (the dictionary as stored), ratio, and what was
    /// deduplicated, resolved or skipped.
    fn text(&self) -> String {
        let mut extra = String::new();
        if self.duplicates_resolved > 0 {
            extra.push_str(&format!(
                ", {} duplicate keys resolved",
                self.duplicates_resolved
            ));
        }
        if self.shared_bodies > 0 {
            extra.push_str(&format!(
                ", {} identical bodies stored once",
                self.shared_bodies
            ));
        }
        let sk = &self.skipped;
        let parts: Vec<String> = [
            (sk.symlinks, "symbolic link"),
            (sk.special, "special file"),
            (sk.bad_names, "non-UTF-8 name"),
        ]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}{}", if *n == 1 { "" } else { "s" }))
        .collect();
        let total = sk.symlinks + sk.special + sk.bad_names;
        if total > 0 {
            extra.push_str(&format!(", skipped {total} paths ({})", parts.join(", ")));
        }
        format!(
            "packed {} entries ({} bytes) into {} ({} bytes, {} blocks, dictionary {} bytes \
             stored, ratio {:.2}){extra}",
            self.entries,
            self.raw_bytes,
            self.output,
            self.file_bytes,
            self.blocks,
            self.dictionary_stored_bytes,
            self.ratio,
        )
    }
}

/// The progress display of [`ArchiveWriter::finish`] on `bar`: a spinner while the
/// dictionary is chosen, then a bar of the bytes compressed with the entries done, the rate
/// and the time left, then the file being written.
fn finish_progress(bar: indicatif::ProgressBar) -> impl FnMut(&quire::Progress) + Send {
    let mut stage = None;
    move |p: &quire::Progress| {
        if stage != Some(p.stage) {
            stage = Some(p.stage);
            bar.set_length(p.bytes_total);
            super::restyle(&bar, p.stage);
        }
        match p.stage {
            quire::Stage::Compressing => {
                bar.set_length(p.bytes_total);
                bar.set_position(p.bytes);
                bar.set_message(format!("compressing {}/{}", p.entries, p.entries_total));
            }
            quire::Stage::Writing => {
                bar.set_length(p.bytes_total);
                bar.set_position(p.bytes);
            }
            _ => {}
        }
    }
}

/// The archive's path, after refusing standard output and targets that are not regular
/// files (or that exist, without --force).
fn pack_target(a: &Args) -> Result<PathBuf, Fail> {
    if output::is_stdout_path(&a.output) {
        return Err(Fail::new(
            2,
            "-o -: an archive cannot be written to standard output (it is finished by seeking \
             back to its header); give a file name (./- for a file named -)",
        ));
    }
    // Before the check for an existing target, which would suggest --force: no flag makes a
    // FIFO or a device a place for an archive.
    if std::fs::metadata(&a.output).is_ok_and(|m| !m.is_file()) {
        return Err(Fail::new(
            4,
            format!(
                "{} is not a regular file (an archive is written to a temporary file and \
                 renamed into place)",
                a.output.display()
            ),
        ));
    }
    Ok(output::check_file_target(&a.output, a.force)?)
}

/// The writer's options from the preset, the flags, and archive metadata from the command
/// line (or, where it is silent, from the first line of `unpack --jsonl` input).
fn pack_options(
    a: &Args,
    inputs: &[Input],
    created: Option<u64>,
    total: Option<u64>,
) -> Result<WriterOptions, Fail> {
    let mut metadata = command_line_metadata(a)?;
    // A website packed from its directory opens at its index.html.
    let has_index = inputs
        .iter()
        .any(|i| matches!(i, Input::Dir(d) if d.join("index.html").is_file()));
    if has_index && !metadata.iter().any(|(n, _)| n == "main") {
        metadata.push(("main".to_string(), "index.html".to_string()));
    }
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
        Preset::Remote => WriterOptions::remote(),
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
    let opts = match a.dict_stored_max {
        Some(d) => opts.dict_stored_max(d as usize),
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
        .pack_nodes(!a.raw_index)
        .index(match a.index {
            Index::None => IndexKind::None,
            Index::Titles => IndexKind::Titles,
            Index::Full => IndexKind::Full,
        })
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

/// The `{"archive": ...}` line at the top of a JSONL file written by `unpack --jsonl`.
fn first_line_archive_meta(p: &std::path::Path) -> Option<Vec<(String, String)>> {
    use std::io::BufRead;
    let f = std::fs::File::open(p).ok()?;
    let mut line = String::new();
    io::BufReader::new(f).read_line(&mut line).ok()?;
    match quire::jsonl::parse_line(&line) {
        Ok(quire::jsonl::Line::Archive(m)) => Some(m),
        _ => None,
    }
}
