//! Reading input for `quire pack`: directories of files, JSONL files and JSONL on stdin.
//!
//! Each input yields [`Record`]s, owned entries with a `source` (a path, or `file:line`) so
//! that errors and duplicate keys can say where they came from. [`Packer`] feeds records to an
//! [`ArchiveWriter`] one at a time, so memory stays bounded by the largest JSONL line; files
//! of a directory are streamed ([`ArchiveWriter::add_reader`]), never held whole.

use std::fs;
use std::io::{self, BufRead, Read, Seek};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde_json::{Map, Value};

use quire::WriteError;

use crate::error::Error;
use quire::Date;
use quire::{ArchiveWriter, NewEntry};

/// One entry read from an input, with where it came from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Record {
    /// The key.
    pub key: String,
    /// Title, if any.
    pub title: Option<String>,
    /// Date, if any.
    pub date: Option<Date>,
    /// Content type; `None` for the default.
    pub content_type: Option<String>,
    /// Extra metadata pairs.
    pub metadata: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
    /// Where it came from: a file path, or `FILE:LINE` for JSONL.
    pub source: String,
}

impl Record {
    /// Borrows the record as an entry for [`ArchiveWriter::add`].
    pub fn as_entry(&self) -> NewEntry<'_> {
        NewEntry {
            key: &self.key,
            title: self.title.as_deref(),
            date: self.date,
            content_type: self.content_type.as_deref(),
            metadata: self
                .metadata
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str()))
                .collect(),
            body: &self.body,
        }
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
        key,
        title,
        date,
        content_type,
        metadata: Vec::new(),
        body,
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
        key,
        title,
        date,
        content_type: content_type.map(str::to_string),
        metadata: Vec::new(),
        body: Vec::new(),
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

/// What a JSONL line held: an entry, or the archive metadata line that `unpack --jsonl`
/// writes first (`{"archive": {...}}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// An entry.
    Entry(Record),
    /// Archive metadata pairs.
    Archive(Vec<(String, String)>),
}

/// The entry metadata field that lists (as a JSON array of names) the metadata whose values
/// are JSON text rather than plain strings: JSONL numbers, booleans, null, arrays and objects
/// are stored as their JSON text, and `unpack --jsonl` gives them back as the same values.
pub const JSON_FIELDS: &str = "quire:json";

/// The metadata field that keeps an RFC 3339 date-time given as `"date"`: the entry's date
/// is its date part, and `unpack --jsonl` writes the full value back as `"date"`.
pub const DATE_TIME_FIELD: &str = "date";

/// The content type of `body_base64` entries that give none.
pub const BINARY_CONTENT_TYPE: &str = "application/octet-stream";

/// The date part of an RFC 3339 date-time (`2002-03-14T10:00:00Z`,
/// `2002-03-14t10:00:00.5+01:00`, or with a space for the `T`), when `s` is one.
pub fn rfc3339_date_part(s: &str) -> Option<Date> {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = b.get(r)?;
        if !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(part).ok()?.parse().ok()
    };
    let date = Date::parse(s.get(..10)?)?;
    if !matches!(b.get(10), Some(b'T' | b't' | b' '))
        || b.get(13) != Some(&b':')
        || b.get(16) != Some(&b':')
    {
        return None;
    }
    let (h, m, sec) = (digits(11..13)?, digits(14..16)?, digits(17..19)?);
    if h > 23 || m > 59 || sec > 60 {
        return None;
    }
    let mut i = 19;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return None;
        }
    }
    match b.get(i..)? {
        [b'Z' | b'z'] => Some(date),
        [b'+' | b'-', _, _, b':', _, _] => {
            let (oh, om) = (digits(i + 1..i + 3)?, digits(i + 4..i + 6)?);
            (oh <= 23 && om <= 59).then_some(date)
        }
        _ => None,
    }
}

/// Parses one JSONL line: `{"key" or "id", "title"?, "date"?, "content_type"?, "body" or
/// "body_base64", "meta"?: {...}}`; any other field becomes entry metadata, in the order of
/// the line (a `meta` object's fields where it stands). String values are stored as they
/// are; other JSON values as their JSON text, named in [`JSON_FIELDS`]. `date` may be an
/// RFC 3339 date-time (its date part is the entry's date; the full value is kept in the
/// metadata field [`DATE_TIME_FIELD`]). A `body_base64` entry without a content type gets
/// [`BINARY_CONTENT_TYPE`].
pub fn parse_jsonl_line(line: &str, source: &str) -> Result<Line, Error> {
    let bad = |msg: String| Error::Input(format!("{source}: {msg}"));
    if line.starts_with('\u{feff}') {
        return Err(bad(
            "the line starts with a UTF-8 byte order mark (BOM, U+FEFF), which JSONL does not \
             allow: save the file without it"
                .into(),
        ));
    }
    let value: Value = serde_json::from_str(line).map_err(|e| {
        // serde_json adds "at line 1 column N": the line number is the caller's, in `source`.
        let msg = e.to_string();
        let msg = msg.rfind(" at line ").map_or(msg.as_str(), |i| &msg[..i]);
        bad(format!("invalid JSON: {msg} (column {})", e.column()))
    })?;
    let Value::Object(mut obj) = value else {
        return Err(bad("each line must be a JSON object".into()));
    };
    if !obj.contains_key("key") && !obj.contains_key("id") {
        if let Some(Value::Object(a)) = obj.shift_remove("archive") {
            if obj.is_empty() {
                return Ok(Line::Archive(string_pairs(a, &bad)?));
            }
        }
        return Err(bad("a record needs a \"key\" (or \"id\") field".into()));
    }
    // shift_remove keeps the order of the fields left, which become metadata in that order.
    let key = match obj.shift_remove("key").or_else(|| obj.shift_remove("id")) {
        Some(Value::String(s)) => s,
        Some(Value::Number(n)) => n.to_string(),
        _ => return Err(bad("\"key\" must be a string or a number".into())),
    };
    let mut text = |name: &str| -> Result<Option<String>, Error> {
        match obj.shift_remove(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(bad(format!("\"{name}\" of {key:?} must be a string"))),
        }
    };
    let title = text("title")?;
    let mut metadata: Vec<(String, Value)> = Vec::new();
    let date = match text("date")? {
        None => None,
        Some(d) if d.is_empty() => None,
        Some(d) => match Date::parse(&d) {
            Some(date) => Some(date),
            None => {
                let date = rfc3339_date_part(&d).ok_or_else(|| {
                    bad(format!(
                        "date {d:?} of {key:?} is not a valid YYYY-MM-DD date or RFC 3339 \
                         date-time"
                    ))
                })?;
                metadata.push((DATE_TIME_FIELD.to_string(), Value::String(d)));
                Some(date)
            }
        },
    };
    let content_type = text("content_type")?;
    let body = text("body")?;
    let body64 = text("body_base64")?;
    let (body, content_type) = match (body, body64) {
        (Some(b), None) => (b.into_bytes(), content_type),
        (None, Some(b)) => (
            base64::engine::general_purpose::STANDARD
                .decode(b.as_bytes())
                .map_err(|e| bad(format!("body_base64 of {key:?} is not base64: {e}")))?,
            content_type.or_else(|| Some(BINARY_CONTENT_TYPE.to_string())),
        ),
        (None, None) => (Vec::new(), content_type),
        (Some(_), Some(_)) => {
            return Err(bad(format!(
                "{key:?} has both \"body\" and \"body_base64\""
            )))
        }
    };
    for (name, v) in obj {
        if name == "meta" {
            match v {
                Value::Null => {}
                Value::Object(m) => metadata.extend(m),
                _ => return Err(bad(format!("\"meta\" of {key:?} must be an object"))),
            }
        } else {
            metadata.push((name, v));
        }
    }
    Ok(Line::Entry(Record {
        key,
        title,
        date,
        content_type,
        metadata: stored_metadata(metadata).map_err(bad)?,
        body,
        source: source.to_string(),
    }))
}

/// Metadata as stored: strings as they are; for a name with any other JSON value, every
/// value of that name as JSON text, and the name listed in [`JSON_FIELDS`].
fn stored_metadata(fields: Vec<(String, Value)>) -> Result<Vec<(String, String)>, String> {
    let mut json_names: Vec<String> = Vec::new();
    for (name, v) in &fields {
        if name == JSON_FIELDS {
            return Err(format!("the field name {JSON_FIELDS:?} is reserved"));
        }
        if !v.is_string() && !json_names.contains(name) {
            json_names.push(name.clone());
        }
    }
    let marker = (!json_names.is_empty()).then(|| {
        (
            JSON_FIELDS.to_string(),
            Value::from(json_names.clone()).to_string(),
        )
    });
    let mut out: Vec<(String, String)> = fields
        .into_iter()
        .map(|(name, v)| {
            let v = match v {
                Value::String(s) if !json_names.contains(&name) => s,
                other => other.to_string(),
            };
            (name, v)
        })
        .collect();
    out.extend(marker);
    Ok(out)
}

fn string_pairs(
    m: Map<String, Value>,
    bad: &dyn Fn(String) -> Error,
) -> Result<Vec<(String, String)>, Error> {
    m.into_iter()
        .map(|(k, v)| match v {
            Value::String(s) => Ok((k, s)),
            other => Err(bad(format!("metadata {k:?} must be a string, not {other}"))),
        })
        .collect()
}

/// The fields of an entry's JSONL line before its body, in their order; `text` says whether
/// the body will be written as `"body"` (else `"body_base64"`).
fn entry_head(e: &quire::Entry<'_>, info: &quire::EntryInfo, text: bool) -> Map<String, Value> {
    let mut obj = Map::new();
    obj.insert("key".into(), Value::String(e.key().to_string()));
    if let Some(t) = &info.title {
        obj.insert("title".into(), Value::String(t.clone()));
    }
    let json_names: Vec<String> = info
        .metadata
        .iter()
        .find(|(n, _)| n == JSON_FIELDS)
        .and_then(|(_, v)| serde_json::from_str(v).ok())
        .unwrap_or_default();
    // An RFC 3339 date-time kept by `pack`: written back as the date.
    let date_time = info.metadata.iter().position(|(n, v)| {
        n == DATE_TIME_FIELD
            && !json_names.contains(n)
            && e.date().is_some()
            && rfc3339_date_part(v) == e.date()
    });
    match (date_time, e.date()) {
        (Some(i), _) => obj.insert("date".into(), Value::String(info.metadata[i].1.clone())),
        (None, Some(d)) => obj.insert("date".into(), Value::String(d.to_string())),
        (None, None) => None,
    };
    // A binary body with the default (text) content type says so, since pack would
    // otherwise give it application/octet-stream.
    if e.content_type() != quire::DEFAULT_CONTENT_TYPE || !text {
        obj.insert(
            "content_type".into(),
            Value::String(e.content_type().to_string()),
        );
    }
    let mut meta = Map::new();
    for (i, (n, v)) in info.metadata.iter().enumerate() {
        if Some(i) == date_time || n == JSON_FIELDS {
            continue;
        }
        let value = if json_names.contains(n) {
            serde_json::from_str(v).unwrap_or_else(|_| Value::String(v.clone()))
        } else {
            Value::String(v.clone())
        };
        meta.insert(n.clone(), value);
    }
    if !meta.is_empty() {
        obj.insert("meta".into(), Value::Object(meta));
    }
    obj
}

/// Writes one entry (with its [`Entry::info`](quire::Entry::info) and body) as a JSONL line
/// that [`parse_jsonl_line`] reads back to the same entry. Holds the whole body; `unpack
/// --jsonl` uses [`write_entry_jsonl`], which streams it and writes the same bytes.
pub fn entry_to_jsonl(e: &quire::Entry<'_>, info: &quire::EntryInfo, body: &[u8]) -> String {
    let text = std::str::from_utf8(body).is_ok();
    let mut obj = entry_head(e, info, text);
    match std::str::from_utf8(body) {
        Ok(s) => obj.insert("body".into(), Value::String(s.to_string())),
        Err(_) => obj.insert(
            "body_base64".into(),
            Value::String(base64::engine::general_purpose::STANDARD.encode(body)),
        ),
    };
    Value::Object(obj).to_string()
}

/// Why [`write_entry_jsonl`] failed.
#[derive(Debug)]
pub enum EntryLineError {
    /// The entry cannot be read (the archive is damaged where it is stored); nothing of its
    /// line was written.
    Unreadable(quire::ReadError),
    /// Writing the output failed, or the body could not be read after its line was begun.
    Failed(Error),
}

impl From<io::Error> for EntryLineError {
    fn from(e: io::Error) -> Self {
        EntryLineError::Failed(Error::Io(e))
    }
}

/// Writes one entry as its JSONL line (with the newline), streaming the body block by block:
/// memory is bounded by the block size, not the body. The bytes are those of
/// [`entry_to_jsonl`]. The title, metadata and the whole body are read once before anything
/// is written, so an unreadable entry writes nothing.
pub fn write_entry_jsonl(
    e: &quire::Entry<'_>,
    out: &mut dyn io::Write,
) -> Result<(), EntryLineError> {
    let info = e.info().map_err(EntryLineError::Unreadable)?;
    let text =
        crate::stream::is_utf8(|w| e.write_body_to(w)).map_err(EntryLineError::Unreadable)?;
    let head = Value::Object(entry_head(e, info, text)).to_string();
    // `head` is `{...}` with at least the key: drop the `}` and add the body field.
    let open = head.strip_suffix('}').unwrap_or(&head);
    out.write_all(open.as_bytes())?;
    // A failed write into `out` comes back from the body reader as `ReadError::Output`.
    let body_err = |err| {
        EntryLineError::Failed(match err {
            // Writing the output failed; a failed read of the archive keeps its path.
            quire::ReadError::Output(io) => Error::Io(io),
            other => Error::Read(other),
        })
    };
    if text {
        out.write_all(b",\"body\":\"")?;
        crate::stream::write_json_str_body(out, |w| e.write_body_to(w)).map_err(body_err)?;
    } else {
        out.write_all(b",\"body_base64\":\"")?;
        crate::stream::write_base64_body(out, |w| e.write_body_to(w)).map_err(body_err)?;
    }
    out.write_all(b"\"}\n")?;
    Ok(())
}

/// The archive metadata line written first by `unpack --jsonl`.
pub fn archive_to_jsonl(meta: &[(String, String)]) -> String {
    let m: Map<String, Value> = meta
        .iter()
        .map(|(n, v)| (n.clone(), Value::String(v.clone())))
        .collect();
    let mut obj = Map::new();
    obj.insert("archive".into(), Value::Object(m));
    Value::Object(obj).to_string()
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

    /// Adds every line of a JSONL stream (blank lines are skipped).
    pub fn add_jsonl(
        &mut self,
        mut r: impl BufRead,
        name: &str,
        progress: &mut dyn FnMut(u64),
    ) -> Result<(), Error> {
        let mut line = String::new();
        let mut n = 0u64;
        let mut done = 0u64;
        loop {
            line.clear();
            let got = r
                .read_line(&mut line)
                .map_err(|e| Error::Input(format!("{name}:{}: {e}", n + 1)))?;
            if got == 0 {
                return Ok(());
            }
            n += 1;
            done += got as u64;
            if line.trim().is_empty() {
                continue;
            }
            match parse_jsonl_line(&line, &format!("{name}:{n}"))? {
                Line::Entry(rec) => self.add(&rec)?,
                Line::Archive(meta) => self.archive_lines.push(meta),
            }
            progress(done);
        }
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
            assert_eq!(read, want.body, "{name}");
            assert_eq!(
                got,
                Record {
                    body: Vec::new(),
                    ..want
                },
                "{name}"
            );
        }
    }

    #[test]
    fn jsonl_fields() {
        let l =
            r#"{"id": 7, "title": "T", "date": "2020-01-02", "lang": "en", "n": 3, "body": "x"}"#;
        let Line::Entry(r) = parse_jsonl_line(l, "f:1").unwrap() else {
            panic!("not an entry")
        };
        assert_eq!(r.key, "7");
        assert_eq!(r.title.as_deref(), Some("T"));
        assert_eq!(
            r.metadata,
            vec![
                ("lang".into(), "en".into()),
                ("n".into(), "3".into()),
                (JSON_FIELDS.into(), "[\"n\"]".into())
            ]
        );
        assert_eq!(r.body, b"x");
        let err = parse_jsonl_line(r#"{"body": "x"}"#, "f:2").unwrap_err();
        assert!(err.to_string().starts_with("f:2:"), "{err}");
        let err = parse_jsonl_line(r#"{"key": "k", "date": "2020-02-30x"}"#, "f:3").unwrap_err();
        assert!(err.to_string().contains("not a valid"), "{err}");
        let b64 = r#"{"key": "b", "body_base64": "AAH/"}"#;
        let Line::Entry(r) = parse_jsonl_line(b64, "f:4").unwrap() else {
            panic!("not an entry")
        };
        assert_eq!(r.body, [0, 1, 255]);
        assert_eq!(r.content_type.as_deref(), Some(BINARY_CONTENT_TYPE));
    }

    #[test]
    fn rfc3339_date_times() {
        for ok in [
            "2002-03-14T10:00:00Z",
            "2002-03-14t10:00:00z",
            "2002-03-14 23:59:60.123+01:00",
            "2002-03-14T00:00:00-23:59",
        ] {
            assert_eq!(
                rfc3339_date_part(ok).map(|d| d.to_string()).as_deref(),
                Some("2002-03-14"),
                "{ok}"
            );
        }
        for bad in [
            "2002-03-14",
            "2002-03-14T10:00:00",
            "2002-03-14T24:00:00Z",
            "2002-03-14T10:00Z",
            "2002-03-14T10:00:00.Z",
            "2002-03-14T10:00:00+0100",
            "2002-03-14T10:00:00ZZ",
            "2002-03-14T10:00:00+01:00:00",
        ] {
            assert_eq!(rfc3339_date_part(bad), None, "{bad}");
        }
    }
}
