//! Reading input for `quire pack`: directories of files, JSONL files and JSONL on stdin.
//!
//! A file yields a [`Record`], an owned entry with its `source` (its path); a JSONL line is
//! read by the library's codec ([`quire::jsonl`], spec §9) and known by `FILE:LINE`, so that
//! errors and duplicate keys can say where they came from. [`Packer`] feeds records to an
//! [`ArchiveWriter`] one at a time, so memory stays bounded by the largest JSONL line; files
//! of a directory are streamed ([`ArchiveWriter::add_reader`]), never held whole.

use std::fs;
use std::io::{self, BufRead, Read, Seek};
use std::path::{Path, PathBuf};

use quire::WriteError;

use crate::error::Error;
use quire::Date;
use quire::{ArchiveWriter, NewEntry};

/// One entry read from an input (the library's record: key, title, date, content type,
/// metadata, body), with where it came from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Record {
    /// The entry.
    pub fields: quire::jsonl::Record,
    /// Where it came from: a file path, or `FILE:LINE` for JSONL.
    pub source: String,
}

impl Record {
    /// Borrows the record as an entry for [`ArchiveWriter::add`].
    pub fn as_entry(&self) -> NewEntry<'_> {
        self.fields.as_entry()
    }
}

/// How much of a body [`detect_headline`] looks at.
const HEADLINE_SCAN: usize = 8 << 10;

/// Finds a headline line `Title - YYYY-MM-DD` near the top of a scraped article (after page
/// chrome such as "Accessibility links" or "Breaking News"): looks at the first 20 non-empty
/// lines of the first 8 KiB.
pub fn detect_headline(body: &[u8]) -> Option<(String, Date)> {
    let head = &body[..body.len().min(HEADLINE_SCAN)];
    let text = match std::str::from_utf8(head) {
        Ok(t) => t,
        // The 8 KiB cut may split a character: use the valid prefix.
        Err(e) => std::str::from_utf8(&head[..e.valid_up_to()]).ok()?,
    };
    for line in text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .take(20)
    {
        let Some((title, date)) = line.rsplit_once(" - ") else {
            continue;
        };
        let (title, date) = (title.trim(), date.trim());
        if let Some(d) = Date::parse(date) {
            if !title.is_empty() {
                return Some((title.to_string(), d));
            }
        }
    }
    None
}

/// A content type guessed from a file name, refined by whether the bytes are UTF-8.
pub fn guess_content_type(path: &Path, body: &[u8]) -> Option<&'static str> {
    type_by_extension(path).or_else(|| binary_type(std::str::from_utf8(body).is_ok()))
}

/// The content type a file's extension names, if it names one.
fn type_by_extension(path: &Path) -> Option<&'static str> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    Some(match ext.as_deref()? {
        "html" | "htm" => "text/html; charset=utf-8",
        "md" | "markdown" => "text/markdown; charset=utf-8",
        "json" => "application/json",
        "xml" => "application/xml",
        "css" => "text/css",
        "js" => "text/javascript",
        "csv" => "text/csv; charset=utf-8",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "svg" => "image/svg+xml",
        "pdf" => "application/pdf",
        _ => return None,
    })
}

/// Without a telling extension: the default (text) type for UTF-8, else binary.
fn binary_type(text: bool) -> Option<&'static str> {
    (!text).then_some("application/octet-stream")
}

/// What [`walk_dir`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DirListing {
    /// Regular files as `(key, path)`, sorted by key.
    pub files: Vec<(String, PathBuf)>,
    /// Symbolic links: not followed and not packed.
    pub symlinks: Vec<PathBuf>,
    /// FIFOs, sockets and devices: not packed.
    pub special: Vec<PathBuf>,
    /// Files and directories whose name is not UTF-8, so cannot be part of a key: skipped.
    pub bad_names: Vec<PathBuf>,
    /// The archive being written and its temporary files, when they are inside the input.
    pub excluded: Vec<PathBuf>,
}

impl DirListing {
    /// How many paths were left out (not counting the excluded output).
    pub fn skipped(&self) -> usize {
        self.symlinks.len() + self.special.len() + self.bad_names.len()
    }
}

/// A file that directory input must leave out: the archive being written (with its
/// temporary files `.NAME.quire-tmp-*.partial` beside it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exclude {
    /// The output's directory, canonical.
    dir: PathBuf,
    /// The output's file name.
    name: std::ffi::OsString,
}

impl Exclude {
    /// Excludes `output` (which need not exist yet; its directory must).
    pub fn output(output: &Path) -> Option<Exclude> {
        let name = output.file_name()?.to_os_string();
        let dir = match output.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        Some(Exclude {
            dir: dir.canonicalize().ok()?,
            name,
        })
    }

    fn matches(&self, name: &std::ffi::OsStr) -> bool {
        if name == self.name {
            return true;
        }
        let (Some(name), Some(out)) = (name.to_str(), self.name.to_str()) else {
            return false;
        };
        name.strip_prefix(&format!(".{out}.quire-tmp-"))
            .is_some_and(|rest| rest.ends_with(".partial"))
    }
}

/// The regular files under `root`. Keys are the paths relative to `root` joined with `/`.
/// Symbolic links are not followed (and are skipped); so are other non-regular files, and
/// names that are not UTF-8.
pub fn walk_dir(root: &Path) -> Result<DirListing, Error> {
    walk_dir_excluding(root, None)
}

/// [`walk_dir`], leaving out the archive being written (`exclude`).
pub fn walk_dir_excluding(root: &Path, exclude: Option<&Exclude>) -> Result<DirListing, Error> {
    let mut l = DirListing::default();
    let mut stack = vec![(root.to_path_buf(), String::new())];
    while let Some((dir, prefix)) = stack.pop() {
        let rd = fs::read_dir(&dir)
            .map_err(|e| Error::Input(format!("cannot read directory {}: {e}", dir.display())))?;
        let here = exclude.filter(|x| dir.canonicalize().is_ok_and(|d| d == x.dir));
        for item in rd {
            let item = item.map_err(|e| {
                Error::Input(format!("cannot read directory {}: {e}", dir.display()))
            })?;
            let path = item.path();
            let name = item.file_name();
            let ft = item
                .file_type()
                .map_err(|e| Error::Input(format!("cannot read {}: {e}", path.display())))?;
            if ft.is_symlink() {
                l.symlinks.push(path);
                continue;
            }
            if here.is_some_and(|x| x.matches(&name)) && ft.is_file() {
                l.excluded.push(path);
                continue;
            }
            let Some(name) = name.to_str() else {
                l.bad_names.push(path);
                continue;
            };
            let key = format!("{prefix}{name}");
            if ft.is_dir() {
                stack.push((path, format!("{key}/")));
            } else if ft.is_file() {
                l.files.push((key, path));
            } else {
                l.special.push(path);
            }
        }
    }
    l.files.sort();
    l.symlinks.sort();
    l.special.sort();
    l.bad_names.sort();
    Ok(l)
}

/// Reads one file of a directory input as a record.
pub fn read_file_record(key: String, path: &Path) -> Result<Record, Error> {
    let body =
        fs::read(path).map_err(|e| Error::Input(format!("cannot read {}: {e}", path.display())))?;
    let content_type = guess_content_type(path, &body).map(str::to_string);
    let (title, date) = match detect_headline(&body) {
        Some((t, d)) if content_type.is_none() => (Some(t), Some(d)),
        _ => (None, None),
    };
    Ok(Record {
        fields: quire::jsonl::Record {
            key,
            title,
            date,
            content_type,
            metadata: Vec::new(),
            body,
        },
        source: path.display().to_string(),
    })
}

/// Opens one file of a directory input for [`ArchiveWriter::add_reader`]: the record
/// [`read_file_record`] would give, with an empty body, and a reader of the body. Only the
/// first 8 KiB are read to find the headline; a file whose extension does not name its type
/// is read through once more to see whether it is UTF-8.
pub fn open_file_record(key: String, path: &Path) -> Result<(Record, impl Read), Error> {
    let cannot = |e: io::Error| Error::Input(format!("cannot read {}: {e}", path.display()));
    let mut file = fs::File::open(path).map_err(cannot)?;
    let mut head = Vec::new();
    (&mut file)
        .take(HEADLINE_SCAN as u64)
        .read_to_end(&mut head)
        .map_err(cannot)?;
    let content_type = match type_by_extension(path) {
        Some(t) => Some(t),
        None => {
            let text = is_utf8(&head, &mut file).map_err(cannot)?;
            file.seek(io::SeekFrom::Start(head.len() as u64))
                .map_err(cannot)?;
            binary_type(text)
        }
    };
    let (title, date) = match detect_headline(&head) {
        Some((t, d)) if content_type.is_none() => (Some(t), Some(d)),
        _ => (None, None),
    };
    let record = Record {
        fields: quire::jsonl::Record {
            key,
            title,
            date,
            content_type: content_type.map(str::to_string),
            metadata: Vec::new(),
            body: Vec::new(),
        },
        source: path.display().to_string(),
    };
    Ok((record, io::Cursor::new(head).chain(file)))
}

/// Whether `head` followed by the rest of `r` is UTF-8, read in 64 KiB pieces.
fn is_utf8(head: &[u8], mut r: impl Read) -> io::Result<bool> {
    let mut buf = vec![0u8; 64 << 10];
    let mut pending = head.to_vec();
    loop {
        match std::str::from_utf8(&pending) {
            Ok(_) => pending.clear(),
            Err(e) if e.error_len().is_some() => return Ok(false),
            // A character cut at the end of the piece: keep its start for the next one.
            Err(e) => {
                pending.drain(..e.valid_up_to());
            }
        }
        let n = match r.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if n == 0 {
            return Ok(pending.is_empty());
        }
        pending.extend_from_slice(&buf[..n]);
    }
}

/// What a JSONL line holds: the library's §9 codec ([`quire::jsonl`]) reads and writes
/// JSONL; the CLI holds no record handling of its own.
pub use quire::jsonl::Line;

/// Parses one JSONL line with [`quire::jsonl::parse_line`]; an error names `source`
/// (`FILE:LINE`).
pub fn parse_jsonl_line(line: &str, source: &str) -> Result<Line, Error> {
    quire::jsonl::parse_line(line).map_err(|e| Error::Input(format!("{source}: {e}")))
}

/// One pack input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A directory: every regular file is an entry.
    Dir(PathBuf),
    /// A JSONL file.
    Jsonl(PathBuf),
    /// One regular file that is not JSONL: one entry, keyed by its file name.
    File(PathBuf),
    /// JSONL on standard input.
    Stdin,
}

/// Whether a file name says JSONL (`.jsonl` or `.ndjson`, any case).
pub fn is_jsonl_name(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("jsonl") || e.eq_ignore_ascii_case("ndjson"))
}

impl Input {
    /// Classifies a command-line argument: `-` is JSONL on stdin, a directory is a directory,
    /// a regular file named `*.jsonl` (or `*.ndjson`) is JSONL, any other regular file is one
    /// entry; anything else (a FIFO such as `<(zcat x.jsonl.gz)`, a missing path) is read as
    /// JSONL.
    pub fn from_arg(arg: &str) -> Input {
        let p = Path::new(arg);
        if arg == "-" {
            Input::Stdin
        } else if p.is_dir() {
            Input::Dir(p.to_path_buf())
        } else if p.is_file() && !is_jsonl_name(p) {
            Input::File(p.to_path_buf())
        } else {
            Input::Jsonl(p.to_path_buf())
        }
    }
}

/// Where each entry came from, in 8 bytes an entry for JSONL lines (`FILE:LINE`, the file
/// kept once) and a string for other sources (files of a directory).
#[derive(Default)]
struct Sources {
    /// Distinct files of JSONL lines, and other sources whole.
    names: Vec<String>,
    /// Per entry: index into `names`, and the line number (`u32::MAX`: the name alone).
    entries: Vec<(u32, u32)>,
}

impl Sources {
    fn push(&mut self, source: &str) {
        let split = source
            .rsplit_once(':')
            .and_then(|(file, line)| Some((file, line.parse::<u32>().ok()?)))
            .filter(|(_, line)| *line != u32::MAX);
        let (name, line) = split.unwrap_or((source, u32::MAX));
        let id = match self.names.last() {
            Some(last) if split.is_some() && last == name => self.names.len() - 1,
            _ => {
                self.names.push(name.to_string());
                self.names.len() - 1
            }
        };
        self.entries.push((id as u32, line));
    }

    fn get(&self, i: usize) -> Option<String> {
        let &(id, line) = self.entries.get(i)?;
        let name = self.names.get(id as usize)?;
        Some(if line == u32::MAX {
            name.clone()
        } else {
            format!("{name}:{line}")
        })
    }
}

/// Feeds records to a writer, remembering where each key came from so that a duplicate key
/// error names both sources.
pub struct Packer<W: io::Write + io::Seek> {
    writer: ArchiveWriter<W>,
    sources: Sources,
    /// Archive metadata lines met in JSONL input (`{"archive": ...}`).
    pub archive_lines: Vec<Vec<(String, String)>>,
    /// Left out of directory input: the archive being written.
    exclude: Option<Exclude>,
    /// Names that are not UTF-8 are errors instead of being skipped.
    strict_names: bool,
    /// What directory inputs left out so far.
    pub skipped: DirListing,
}

impl<W: io::Write + io::Seek> Packer<W> {
    /// Wraps a writer.
    pub fn new(writer: ArchiveWriter<W>) -> Self {
        Packer {
            writer,
            sources: Sources::default(),
            archive_lines: Vec::new(),
            exclude: None,
            strict_names: false,
            skipped: DirListing::default(),
        }
    }

    /// Leaves the archive being written (and its temporary files) out of directory input.
    pub fn exclude_output(&mut self, output: &Path) {
        self.exclude = Exclude::output(output);
    }

    /// Makes a file name that is not UTF-8 an error instead of a skipped path.
    pub fn strict_names(&mut self, strict: bool) {
        self.strict_names = strict;
    }

    /// The writer (for progress figures).
    pub fn writer(&self) -> &ArchiveWriter<W> {
        &self.writer
    }

    /// Adds one record.
    pub fn add(&mut self, r: &Record) -> Result<(), Error> {
        let before = self.writer.len();
        let result = self.writer.add(&r.as_entry());
        self.added(result, before, &r.source)
    }

    /// Adds one file of a directory input, streaming its body; returns its length.
    pub fn add_file(&mut self, key: String, path: &Path) -> Result<u64, Error> {
        let (r, body) = open_file_record(key, path)?;
        let before = self.writer.len();
        let result = self.writer.add_reader(&r.as_entry(), body);
        self.added(result, before, &r.source)?;
        Ok(fs::metadata(path).map_or(0, |m| m.len()))
    }

    /// Remembers where a new entry came from, or says where a refused one did.
    fn added(
        &mut self,
        result: Result<bool, WriteError>,
        before: u64,
        source: &str,
    ) -> Result<(), Error> {
        match result {
            Ok(_) => {
                if self.writer.len() > before {
                    self.sources.push(source);
                }
                Ok(())
            }
            Err(WriteError::DuplicateKey { key, first }) => {
                let first_src = self
                    .sources
                    .get(first as usize)
                    .unwrap_or_else(|| "an earlier entry".into());
                Err(Error::Input(format!(
                    "duplicate key {key:?}: in {first_src} and in {source} \
                     (use --duplicates first|last to keep one)"
                )))
            }
            Err(e) => {
                let mut msg = format!("{source}: {e}");
                let mut cause = std::error::Error::source(&e);
                while let Some(c) = cause {
                    msg.push_str(&format!(": {c}"));
                    cause = c.source();
                }
                Err(Error::Input(msg))
            }
        }
    }

    /// Adds every entry of an input; `progress` is called with bytes consumed so far.
    pub fn add_input(&mut self, input: &Input, progress: &mut dyn FnMut(u64)) -> Result<(), Error> {
        match input {
            Input::Dir(root) => {
                let mut listing = walk_dir_excluding(root, self.exclude.as_ref())?;
                if let (true, Some(bad)) = (self.strict_names, listing.bad_names.first()) {
                    return Err(Error::Input(format!(
                        "{}: file name is not UTF-8, so it cannot be a key",
                        bad.display()
                    )));
                }
                let files = std::mem::take(&mut listing.files);
                self.skipped.symlinks.append(&mut listing.symlinks);
                self.skipped.special.append(&mut listing.special);
                self.skipped.bad_names.append(&mut listing.bad_names);
                self.skipped.excluded.append(&mut listing.excluded);
                let mut done = 0u64;
                for (key, path) in files {
                    done += self.add_file(key, &path)?;
                    progress(done);
                }
                Ok(())
            }
            Input::File(path) => {
                let key = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .ok_or_else(|| {
                        Error::Input(format!(
                            "{}: file name is not UTF-8, so it cannot be a key",
                            path.display()
                        ))
                    })?
                    .to_string();
                progress(self.add_file(key, path)?);
                Ok(())
            }
            Input::Jsonl(path) => {
                let f = fs::File::open(path)
                    .map_err(|e| Error::Input(format!("cannot open {}: {e}", path.display())))?;
                self.add_jsonl(
                    io::BufReader::with_capacity(1 << 20, f),
                    &path.display().to_string(),
                    progress,
                )
            }
            Input::Stdin => self.add_jsonl(io::stdin().lock(), "<stdin>", progress),
        }
    }

    /// Adds every line of a JSONL stream (blank lines are skipped), read by the library's
    /// [`quire::jsonl::LineReader`]; an error names `NAME:LINE`.
    pub fn add_jsonl(
        &mut self,
        r: impl BufRead,
        name: &str,
        progress: &mut dyn FnMut(u64),
    ) -> Result<(), Error> {
        let mut lines = quire::jsonl::LineReader::new(r);
        while let Some(line) = lines.next() {
            let at = lines.line_number();
            let line = line.map_err(|e| match e {
                quire::jsonl::Error::Io { line, source } => {
                    Error::Input(format!("{name}:{line}: {source}"))
                }
                e => Error::Input(format!(
                    "{name}:{at}: {}",
                    e.parse_error()
                        .map_or_else(|| e.to_string(), |p| p.to_string())
                )),
            })?;
            match line {
                Line::Entry(rec) => {
                    let before = self.writer.len();
                    let result = self.writer.add(&rec.as_entry());
                    self.added(result, before, &format!("{name}:{at}"))?;
                }
                Line::Archive(meta) => self.archive_lines.push(meta),
            }
            progress(lines.bytes_read());
        }
        Ok(())
    }

    /// Gives the writer back, to finish it.
    pub fn into_writer(self) -> ArchiveWriter<W> {
        self.writer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headline_detection() {
        let body =
            b"Accessibility links\n\nBreaking News\n\nSome Title - Here - 2002-03-14\n\nBody.";
        let (t, d) = detect_headline(body).unwrap();
        assert_eq!(t, "Some Title - Here");
        assert_eq!(d.to_string(), "2002-03-14");
        assert_eq!(detect_headline(b"no headline here\nat all"), None);
        assert_eq!(detect_headline(b"Bad date - 2002-13-40"), None);
    }

    #[test]
    fn opened_files_match_read_files() {
        let dir = tempfile::tempdir().unwrap();
        let mut long_text = "é".repeat(20_000).into_bytes(); // 2-byte chars across 8 KiB
        long_text.splice(0..0, b"Chrome\nA Headline - 2002-03-14\n".iter().copied());
        let mut late_binary = b"x".repeat(100_000);
        late_binary[70_000] = 0xFF;
        let cases: [(&str, &[u8]); 6] = [
            (
                "news.txt",
                b"Breaking News\n\nSome Title - 2002-03-14\n\nBody.",
            ),
            ("empty", b""),
            ("blob", &[0, 159, 146, 150, 255, 0]),
            ("page.html", b"<p>Title - 2002-03-14</p>"),
            ("long", &long_text),
            ("late-binary", &late_binary),
        ];
        for (name, bytes) in cases {
            let path = dir.path().join(name);
            fs::write(&path, bytes).unwrap();
            let want = read_file_record(name.into(), &path).unwrap();
            let (got, mut body) = open_file_record(name.into(), &path).unwrap();
            let mut read = Vec::new();
            body.read_to_end(&mut read).unwrap();
            assert_eq!(read, want.fields.body, "{name}");
            let mut want = want;
            want.fields.body = Vec::new();
            assert_eq!(got, want, "{name}");
        }
    }
}
