//! `quire`: the command-line shell over the quire library.
//!
//! Exit codes: 0 success; 1 the archive is damaged or unreadable (for `verify`: damage
//! found); 2 usage error; 3 `get` did not find some key; 4 input or output error (files,
//! JSONL, refused keys, existing targets).

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use quire::{Archive, ArchiveWriter, DictionaryMode, DuplicatePolicy, WriterOptions};
use quire_cli::ingest::{Input, Packer};
use quire_cli::unpack::{self, UnpackOptions};
use quire_cli::Error;

#[derive(Parser)]
#[command(
    name = "quire",
    version,
    about = "Compact, versioned, read-optimised archives of articles"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Pack directories and JSONL files (or `-` for JSONL on stdin) into an archive.
    Pack(PackArgs),
    /// Write every entry back out, as files under a directory or as JSONL.
    Unpack(UnpackArgs),
    /// List keys (entry order, or sorted with --prefix).
    Ls {
        /// The archive.
        archive: PathBuf,
        /// Only keys starting with this prefix, in sorted order.
        #[arg(long)]
        prefix: Option<String>,
        /// Also show size, date, content type and title.
        #[arg(short, long)]
        long: bool,
    },
    /// Write the bodies of the given keys to stdout.
    Get {
        /// The archive.
        archive: PathBuf,
        /// Keys to print.
        #[arg(required = true)]
        keys: Vec<String>,
    },
    /// Show the version, flags, sections, sizes and compression ratio of an archive.
    Info {
        /// The archive.
        archive: PathBuf,
    },
    /// Check every checksum; exit 1 and list damaged blocks and their keys on damage.
    Verify {
        /// The archive.
        archive: PathBuf,
    },
}

#[derive(clap::Args)]
struct PackArgs {
    /// Directories, JSONL files, or `-` for JSONL on stdin.
    #[arg(required = true)]
    inputs: Vec<String>,
    /// The archive to write.
    #[arg(short, long)]
    output: PathBuf,
    /// Starting settings: `default` (fast lookups: 16 KiB blocks, 2 MiB dictionary, level 19) or `smallest`
    /// (16 MiB blocks, level 22: close to solid compression, slower lookups).
    #[arg(long, value_enum, default_value_t = Preset::Default)]
    preset: Preset,
    /// zstd level (1..=22); overrides the preset.
    #[arg(long)]
    level: Option<i32>,
    /// Target uncompressed block size (e.g. 64K, 1M).
    #[arg(long, value_parser = parse_size)]
    block_size: Option<u32>,
    /// Do not use a dictionary.
    #[arg(long)]
    no_dict: bool,
    /// Largest dictionary (e.g. 1M; default 2M, at most a quarter of the sample).
    #[arg(long, value_parser = parse_size)]
    dict_size: Option<u32>,
    /// How much of the input (from the start) to pick the dictionary from (e.g. 16M).
    #[arg(long, value_parser = parse_size)]
    dict_sample: Option<u32>,
    /// Store every body separately, even identical ones.
    #[arg(long)]
    no_dedup: bool,
    /// Compression threads (default: all cores).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// What a repeated key does: error (default), keep the first, or keep the last.
    #[arg(long, value_enum, default_value_t = Dups::Error)]
    duplicates: Dups,
    /// Replace OUTPUT if it exists (atomically: the old archive stays until the new is done).
    #[arg(short, long)]
    force: bool,
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
    /// Other archive metadata, NAME=VALUE (repeatable).
    #[arg(long = "meta", value_parser = parse_pair)]
    meta: Vec<(String, String)>,
    /// No progress bar and no summary.
    #[arg(short, long)]
    quiet: bool,
}

#[derive(clap::Args)]
struct UnpackArgs {
    /// The archive.
    archive: PathBuf,
    /// Directory to write files into (created if missing).
    #[arg(
        short,
        long,
        required_unless_present = "jsonl",
        conflicts_with = "jsonl"
    )]
    output: Option<PathBuf>,
    /// Write JSONL to this file (`-` for stdout) instead of files.
    #[arg(long)]
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

#[derive(Clone, Copy, ValueEnum)]
enum Preset {
    Default,
    Smallest,
}

#[derive(Clone, Copy, ValueEnum)]
enum Dups {
    Error,
    First,
    Last,
}

fn parse_size(s: &str) -> Result<u32, String> {
    let s = s.trim();
    let (num, mult) = match s.char_indices().last() {
        Some((i, 'k' | 'K')) => (&s[..i], 1u64 << 10),
        Some((i, 'm' | 'M')) => (&s[..i], 1 << 20),
        _ => (s, 1),
    };
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a size like 65536, 64K or 1M"))?;
    n.checked_mul(mult)
        .and_then(|v| u32::try_from(v).ok())
        .ok_or_else(|| format!("{s:?} is too large"))
}

fn parse_pair(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .ok_or_else(|| format!("{s:?} is not NAME=VALUE"))
}

/// A failure with its exit code.
struct Fail(u8, String);

impl From<Error> for Fail {
    fn from(e: Error) -> Self {
        let code = match e {
            Error::Read(_) => 1,
            _ => 4,
        };
        Fail(code, e.to_string())
    }
}

impl From<quire::ReadError> for Fail {
    fn from(e: quire::ReadError) -> Self {
        match e {
            quire::ReadError::Io(io) => Fail(4, io.to_string()),
            e => Fail(1, e.to_string()),
        }
    }
}

impl From<quire::WriteError> for Fail {
    fn from(e: quire::WriteError) -> Self {
        Fail(4, e.to_string())
    }
}

impl From<io::Error> for Fail {
    fn from(e: io::Error) -> Self {
        Fail(4, format!("I/O error: {e}"))
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(code) => ExitCode::from(code),
        Err(Fail(code, msg)) => {
            eprintln!("quire: {msg}");
            ExitCode::from(code)
        }
    }
}

/// Opens an archive with a small block cache: `ls -l` and `unpack --jsonl` read each entry's
/// lead (title, metadata) and then its body from the same block.
fn open(path: &PathBuf) -> Result<Archive<quire::Mmap>, Fail> {
    Archive::open(path)
        .map(|a| a.with_block_cache(2))
        .map_err(|e| match e {
            quire::ReadError::Io(io) => Fail(4, format!("{}: {io}", path.display())),
            e => Fail(1, format!("{}: {e}", path.display())),
        })
}

fn progress_bar(quiet: bool, total: Option<u64>, what: &str) -> indicatif::ProgressBar {
    if quiet || !io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = match total {
        Some(t) => indicatif::ProgressBar::new(t),
        None => indicatif::ProgressBar::new_spinner(),
    };
    let style = if total.is_some() {
        "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}"
    } else {
        "{msg} {spinner} {bytes} {bytes_per_sec}"
    };
    if let Ok(s) = indicatif::ProgressStyle::with_template(style) {
        bar.set_style(s.progress_chars("=> "));
    }
    bar.set_message(what.to_string());
    bar
}

fn run(cmd: Command) -> Result<u8, Fail> {
    match cmd {
        Command::Pack(a) => pack(a),
        Command::Unpack(a) => unpack_cmd(a),
        Command::Ls {
            archive,
            prefix,
            long,
        } => ls(&archive, prefix.as_deref(), long),
        Command::Get { archive, keys } => get(&archive, &keys),
        Command::Info { archive } => info(&archive),
        Command::Verify { archive } => verify(&archive),
    }
}

fn pack(a: PackArgs) -> Result<u8, Fail> {
    let mut metadata = Vec::new();
    for (name, v) in [
        ("title", &a.title),
        ("description", &a.description),
        ("creator", &a.creator),
        ("source", &a.source),
    ] {
        if let Some(v) = v {
            metadata.push((name.to_string(), v.clone()));
        }
    }
    metadata.extend(a.meta.iter().cloned());
    let defaults = match a.preset {
        Preset::Default => WriterOptions::default(),
        Preset::Smallest => WriterOptions::smallest(),
    };
    let inputs: Vec<Input> = a.inputs.iter().map(|s| Input::from_arg(s)).collect();
    // Archive metadata from `unpack --jsonl` output is honoured where the command line is silent.
    for input in &inputs {
        if let Input::Jsonl(p) = input {
            if let Some(meta) = first_line_archive_meta(p) {
                for (n, v) in meta {
                    if !metadata.iter().any(|(m, _)| *m == n) {
                        metadata.push((n, v));
                    }
                }
            }
        }
    }
    let opts = WriterOptions {
        level: a.level.unwrap_or(defaults.level),
        block_size: a.block_size.unwrap_or(defaults.block_size),
        dictionary: if a.no_dict {
            DictionaryMode::Off
        } else {
            DictionaryMode::Auto
        },
        dict_size: a.dict_size.map_or(defaults.dict_size, |d| d as usize),
        dict_sample: a.dict_sample.map_or(defaults.dict_sample, |d| d as usize),
        threads: a.threads,
        duplicates: match a.duplicates {
            Dups::Error => DuplicatePolicy::Error,
            Dups::First => DuplicatePolicy::First,
            Dups::Last => DuplicatePolicy::Last,
        },
        dedup: !a.no_dedup,
        created: None,
        metadata,
    };
    let total: Option<u64> = inputs.iter().try_fold(0u64, |acc, i| match i {
        Input::Jsonl(p) => std::fs::metadata(p).ok().map(|m| acc + m.len()),
        _ => None,
    });
    let writer = ArchiveWriter::create(&a.output, opts, a.force)?;
    let mut packer = Packer::new(writer);
    let bar = progress_bar(a.quiet, total, "packing");
    let mut base = 0u64;
    for input in &inputs {
        let mut last = 0u64;
        packer.add_input(input, &mut |done| {
            last = done;
            bar.set_position(base + done);
        })?;
        base += last;
    }
    // Training the dictionary and compressing what is still held happen in finish().
    if !bar.is_hidden() {
        bar.set_style(indicatif::ProgressStyle::default_spinner());
        bar.set_message("compressing and writing the indexes");
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
    }
    let s = packer.into_writer().finish();
    bar.finish_and_clear();
    let s = s?;
    if !a.quiet {
        let ratio = if s.file_len > 0 {
            s.raw_bytes as f64 / s.file_len as f64
        } else {
            0.0
        };
        eprintln!(
            "packed {} entries ({} bytes) into {} ({} bytes, {} blocks, dictionary {} bytes, ratio {:.2}){}",
            s.entries,
            s.raw_bytes,
            a.output.display(),
            s.file_len,
            s.blocks,
            s.dict_len,
            ratio,
            match (s.duplicates, s.shared_bodies) {
                (0, 0) => String::new(),
                (d, 0) => format!(", {d} duplicate keys resolved"),
                (0, b) => format!(", {b} identical bodies stored once"),
                (d, b) => format!(", {d} duplicate keys resolved, {b} identical bodies stored once"),
            }
        );
    }
    Ok(0)
}

/// The `{"archive": ...}` line at the top of a JSONL file written by `unpack --jsonl`.
fn first_line_archive_meta(p: &std::path::Path) -> Option<Vec<(String, String)>> {
    use std::io::BufRead;
    let f = std::fs::File::open(p).ok()?;
    let mut line = String::new();
    io::BufReader::new(f).read_line(&mut line).ok()?;
    match quire_cli::ingest::parse_jsonl_line(&line, "") {
        Ok(quire_cli::ingest::Line::Archive(m)) => Some(m),
        _ => None,
    }
}

fn unpack_cmd(a: UnpackArgs) -> Result<u8, Fail> {
    let archive = open(&a.archive)?;
    let bar = progress_bar(a.quiet, Some(raw_total(&archive)), "unpacking");
    let mut progress = |b: u64| bar.set_position(b);
    let s = match (&a.output, &a.jsonl) {
        (_, Some(j)) if j.as_os_str() == "-" => {
            let stdout = io::stdout();
            let mut out = io::BufWriter::new(stdout.lock());
            unpack::unpack_jsonl(&archive, &mut out, &mut progress)?
        }
        (_, Some(j)) => {
            if j.exists() && !a.force {
                return Err(Fail(
                    4,
                    format!("{} already exists (use --force to replace it)", j.display()),
                ));
            }
            let mut f = quire::AtomicFile::create(j, a.force)?;
            let s = unpack::unpack_jsonl(&archive, &mut f, &mut progress)?;
            f.commit()?;
            s
        }
        (Some(dir), None) => unpack::unpack_to_dir(
            &archive,
            dir,
            UnpackOptions {
                force: a.force,
                sanitize: a.sanitize,
            },
            &mut progress,
        )?,
        (None, None) => return Err(Fail(2, "give -o DIR or --jsonl FILE".into())),
    };
    bar.finish_and_clear();
    if !a.quiet {
        eprintln!("unpacked {} entries ({} bytes)", s.files, s.bytes);
    }
    Ok(0)
}

fn raw_total<D: AsRef<[u8]>>(archive: &Archive<D>) -> u64 {
    archive
        .iter()
        .filter_map(Result::ok)
        .map(|e| e.body_len())
        .sum()
}

fn ls(path: &PathBuf, prefix: Option<&str>, long: bool) -> Result<u8, Fail> {
    let archive = open(path)?;
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let entries: Box<dyn Iterator<Item = quire::ReadResult<quire::Entry<'_>>>> = match prefix {
        Some(p) => Box::new(archive.keys_with_prefix(p)),
        None => Box::new(archive.iter()),
    };
    for e in entries {
        let e = e?;
        let written = if long {
            writeln!(
                out,
                "{:>10}  {:<10}  {:<26}  {}{}",
                e.body_len(),
                e.date().map_or_else(|| "-".to_string(), |d| d.to_string()),
                e.content_type(),
                e.key(),
                e.title()?.map_or_else(String::new, |t| format!("  \t{t}"))
            )
        } else {
            writeln!(out, "{}", e.key())
        };
        if let Err(err) = written {
            return broken_pipe_ok(err);
        }
    }
    match out.flush() {
        Ok(()) => Ok(0),
        Err(e) => broken_pipe_ok(e),
    }
}

/// A closed stdout (e.g. piped into `head`) ends the listing quietly.
fn broken_pipe_ok(e: io::Error) -> Result<u8, Fail> {
    if e.kind() == io::ErrorKind::BrokenPipe {
        Ok(0)
    } else {
        Err(e.into())
    }
}

fn get(path: &PathBuf, keys: &[String]) -> Result<u8, Fail> {
    let archive = open(path)?;
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let mut missing = 0;
    for k in keys {
        match archive.get(k)? {
            Some(e) => match e.write_body_to(&mut out) {
                Ok(()) => {}
                Err(quire::ReadError::Io(err)) => return broken_pipe_ok(err),
                Err(err) => return Err(err.into()),
            },
            None => {
                eprintln!("quire: key not found: {k:?}");
                missing += 1;
            }
        }
    }
    if let Err(e) = out.flush() {
        return broken_pipe_ok(e);
    }
    Ok(if missing > 0 { 3 } else { 0 })
}

fn info(path: &PathBuf) -> Result<u8, Fail> {
    let archive = open(path)?;
    let h = archive.header();
    let file_len = h.file_len;
    let raw = raw_total(&archive);
    let mut o = String::new();
    use std::fmt::Write as _;
    let _ = writeln!(o, "file:           {}", path.display());
    let _ = writeln!(o, "format version: {}.{}", h.major, h.minor);
    let _ = writeln!(
        o,
        "flags:          required {:#x}{}, optional {:#x}",
        h.required_flags,
        match h.required_flags & (quire::format::REQUIRED_DICT | quire::format::REQUIRED_RAW_DICT) {
            0 => "",
            quire::format::REQUIRED_DICT => " (trained dictionary)",
            _ => " (raw dictionary)",
        },
        h.optional_flags
    );
    let _ = writeln!(o, "entries:        {}", h.entry_count);
    let _ = writeln!(
        o,
        "blocks:         {} (target {} bytes, largest {} bytes)",
        h.block_count, h.block_target, h.max_block_len
    );
    let dict = archive.dictionary()?.map_or(0, <[u8]>::len);
    let _ = writeln!(
        o,
        "dictionary:     {dict} bytes ({} stored)",
        archive.dictionary_len()
    );
    let _ = writeln!(
        o,
        "key index:      {} buckets, seed {}, max probe {}",
        h.bucket_count, h.hash_seed, h.max_probe
    );
    let _ = writeln!(o, "raw size:       {raw} bytes (bodies)");
    let _ = writeln!(o, "packed size:    {file_len} bytes");
    let ratio = if file_len > 0 {
        raw as f64 / file_len as f64
    } else {
        0.0
    };
    let _ = writeln!(o, "ratio:          {ratio:.3}");
    let _ = writeln!(o, "sections:");
    for s in archive.sections() {
        let name = quire::format::SectionId::from_u32(s.id).map_or("unknown", |i| i.name());
        let _ = writeln!(
            o,
            "  {:<8} {:>12} bytes at {:>12}  crc {:08x}",
            name, s.length, s.offset, s.crc
        );
    }
    let _ = writeln!(o, "metadata:");
    for (n, v) in archive.metadata() {
        let _ = writeln!(o, "  {n}: {v}");
    }
    let _ = writeln!(o, "content types:  {}", archive.content_types().join(", "));
    io::stdout()
        .write_all(o.as_bytes())
        .or_else(|e| broken_pipe_ok(e).map(|_| ()))?;
    Ok(0)
}

fn verify(path: &PathBuf) -> Result<u8, Fail> {
    let archive = open(path)?;
    let report = archive.verify();
    if report.is_ok() {
        println!("{}: {report}", path.display());
        Ok(0)
    } else {
        eprint!("{}: {report}", path.display());
        Ok(1)
    }
}
