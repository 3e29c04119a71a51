//! The JSON Lines form of entries (spec/FORMAT.md §9), both directions: what `quire pack`
//! reads and `quire unpack --jsonl` writes, and what the Python package's `quire.pack`
//! takes. Behind the `jsonl` feature.
//!
//! Reading: [`parse_line`] turns one line into a [`Line`] — an entry ([`Record`], ready for
//! [`ArchiveWriter::add`](crate::ArchiveWriter::add) through [`Record::as_entry`]) or the
//! archive metadata line `{"archive":{…}}`. [`LineReader`] does it for a whole stream,
//! skipping blank lines and numbering the others, so that an [`Error`] says which line and
//! which field was wrong. [`parse_object`] takes an already parsed JSON object (for bindings
//! whose records are not text).
//!
//! Writing: [`archive_line`] gives the first line, [`entry_line`] an entry's line (body held
//! whole), [`write_entry_line`] the same bytes with the body streamed block by block, and
//! [`Record::to_line`] the line of a record that is not in an archive yet.
//!
//! ```
//! use quire::jsonl::{self, Line};
//! use quire::{Archive, ArchiveWriter, WriterOptions};
//!
//! let input = r#"{"key":"a","date":"2002-03-14T10:00:00Z","n":1.5,"ok":true,"body":"x"}"#;
//! let Line::Entry(record) = jsonl::parse_line(input)? else { unreachable!() };
//! assert_eq!(record.date.unwrap().to_string(), "2002-03-14");
//! let mut w = ArchiveWriter::in_memory(WriterOptions::default())?;
//! w.add(&record.as_entry())?;
//! let (out, _) = w.finish_into_inner()?;
//! let archive = Archive::new(out.into_inner())?;
//! let entry = archive.get("a")?.expect("present");
//! // Metadata comes back under "meta", with its numbers and booleans.
//! assert_eq!(
//!     jsonl::entry_line(&entry)?,
//!     r#"{"key":"a","date":"2002-03-14T10:00:00Z","meta":{"n":1.5,"ok":true},"body":"x"}"#
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! serde_json does the JSON: member order is kept (its `preserve_order` feature), numbers
//! are parsed to the nearest binary64 (`float_roundtrip`) and written in the shortest form
//! that reads back to the same value, which is what §9 specifies.

mod read;
mod stream;
mod write;

use std::fmt;
use std::io;

use crate::{Date, NewEntry};

pub use read::{parse_line, parse_object, rfc3339_date_part, LineReader};
pub use write::{archive_line, entry_line, write_entry_line, WriteLineError};

/// The entry metadata pair that lists (as a JSON array of names) the metadata whose values
/// are JSON text rather than plain strings: JSONL numbers, booleans, null, arrays and objects
/// are stored as their JSON text, and `unpack --jsonl` gives them back as the same values.
pub const JSON_FIELDS: &str = "quire:json";

/// The metadata pair that keeps an RFC 3339 date-time given as `"date"`: the entry's date
/// is its date part, and `unpack --jsonl` writes the full value back as `"date"`.
pub const DATE_TIME_FIELD: &str = "date";

/// The content type of a `body_base64` record that gives none.
pub const BINARY_CONTENT_TYPE: &str = "application/octet-stream";

/// One entry read from a JSONL line, owned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Record {
    /// The key (`"key"`, or `"id"`; a JSON number is written in decimal).
    pub key: String,
    /// The title, if any (an empty string is a title).
    pub title: Option<String>,
    /// The date, if any: `"date"` as `YYYY-MM-DD`, or the date part of an RFC 3339
    /// date-time (which is then also the first metadata pair, [`DATE_TIME_FIELD`]).
    pub date: Option<Date>,
    /// The content type; `None` for [`DEFAULT_CONTENT_TYPE`](crate::DEFAULT_CONTENT_TYPE).
    /// A `body_base64` record without one gets [`BINARY_CONTENT_TYPE`].
    pub content_type: Option<String>,
    /// Metadata pairs as stored, in the order of the line; names are unique. When some
    /// values are JSON text, the last pair is [`JSON_FIELDS`] listing their names.
    pub metadata: Vec<(String, String)>,
    /// The body (`"body"` as UTF-8, or `"body_base64"` decoded; empty when neither).
    pub body: Vec<u8>,
}

impl Record {
    /// Borrows the record as an entry for [`ArchiveWriter::add`](crate::ArchiveWriter::add).
    pub fn as_entry(&self) -> NewEntry<'_> {
        let mut e = NewEntry::new(&self.key, &self.body);
        if let Some(t) = &self.title {
            e = e.title(t);
        }
        if let Some(d) = self.date {
            e = e.date(d);
        }
        if let Some(c) = &self.content_type {
            e = e.content_type(c);
        }
        for (n, v) in &self.metadata {
            e = e.meta(n, v);
        }
        e
    }

    /// The §9 line of the entry this record makes (without the newline): the line
    /// [`entry_line`] gives once the record is packed.
    pub fn to_line(&self) -> String {
        write::record_line(self)
    }
}

/// What one JSONL line holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// An entry.
    Entry(Record),
    /// Archive metadata pairs (`{"archive":{NAME:VALUE,…}}`, the first line `unpack --jsonl`
    /// writes), in order.
    Archive(Vec<(String, String)>),
}

/// Why one line is not a record (without the line number: see [`Error`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseError {
    /// The line starts with a UTF-8 byte order mark.
    ByteOrderMark,
    /// The line is not JSON (serde_json's message, and the 1-based column it names).
    Json {
        /// What serde_json said, without its position.
        message: String,
        /// The column (1-based) where it stopped.
        column: usize,
    },
    /// The line is JSON but not an object.
    NotAnObject,
    /// Neither `"key"` nor `"id"` (and not an archive line).
    NoKey,
    /// `"key"` (or `"id"`) is neither a string nor a number.
    KeyType,
    /// A field that must be a string (or null) is not: `title`, `date`, `content_type`,
    /// `body`, `body_base64`.
    NotAString {
        /// The record's key.
        key: String,
        /// The field.
        field: &'static str,
    },
    /// `"meta"` is not an object (or null).
    MetaNotAnObject {
        /// The record's key.
        key: String,
    },
    /// `"date"` is neither `YYYY-MM-DD` nor an RFC 3339 date-time.
    Date {
        /// The record's key.
        key: String,
        /// The value given.
        value: String,
    },
    /// `"body_base64"` is not standard base64 with padding.
    Base64 {
        /// The record's key.
        key: String,
        /// What the decoder said.
        message: String,
    },
    /// Both `"body"` and `"body_base64"`.
    BothBodies {
        /// The record's key.
        key: String,
    },
    /// A metadata name that a record cannot give ([`JSON_FIELDS`]).
    ReservedName {
        /// The record's key.
        key: String,
        /// The name.
        name: String,
    },
    /// Two metadata pairs of one record with the same name (a member repeated, a member and
    /// a member of `meta` of one name, or a metadata pair `date` beside a date-time `"date"`).
    RepeatedName {
        /// The record's key.
        key: String,
        /// The name.
        name: String,
    },
    /// A member of the line that is not metadata (`key`, `id`, `title`, `date`,
    /// `content_type`, `body`, `body_base64`, `meta`) given twice.
    RepeatedField {
        /// The member's name.
        field: String,
    },
    /// An archive line whose value is not a string.
    ArchiveValue {
        /// The metadata name.
        name: String,
        /// The value given, as JSON.
        value: String,
    },
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::ByteOrderMark => f.write_str(
                "the line starts with a UTF-8 byte order mark (BOM, U+FEFF), which JSONL does \
                 not allow: save the file without it",
            ),
            ParseError::Json { message, column } => {
                write!(f, "invalid JSON: {message} (column {column})")
            }
            ParseError::NotAnObject => f.write_str("each line must be a JSON object"),
            ParseError::NoKey => f.write_str("a record needs a \"key\" (or \"id\") field"),
            ParseError::KeyType => f.write_str("\"key\" must be a string or a number"),
            ParseError::NotAString { key, field } => {
                write!(f, "\"{field}\" of {key:?} must be a string")
            }
            ParseError::MetaNotAnObject { key } => {
                write!(f, "\"meta\" of {key:?} must be an object")
            }
            ParseError::Date { key, value } => write!(
                f,
                "date {value:?} of {key:?} is not a valid YYYY-MM-DD date or RFC 3339 date-time"
            ),
            ParseError::Base64 { key, message } => {
                write!(f, "body_base64 of {key:?} is not base64: {message}")
            }
            ParseError::BothBodies { key } => {
                write!(f, "{key:?} has both \"body\" and \"body_base64\"")
            }
            ParseError::ReservedName { key, name } => {
                write!(f, "the field name {name:?} of {key:?} is reserved")
            }
            ParseError::RepeatedName { key, name } => write!(
                f,
                "metadata {name:?} of {key:?} is given twice (a metadata name appears once \
                 per record; an RFC 3339 \"date\" is kept as metadata \"date\")"
            ),
            ParseError::RepeatedField { field } => write!(f, "\"{field}\" is given twice"),
            ParseError::ArchiveValue { name, value } => {
                write!(f, "metadata {name:?} must be a string, not {value}")
            }
        }
    }
}

impl std::error::Error for ParseError {}

/// An error of [`LineReader`]: the line (1-based) and what went wrong there.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// Reading the input failed (or it is not UTF-8).
    Io {
        /// The line being read.
        line: u64,
        /// What the reader said.
        source: io::Error,
    },
    /// The line is not a record.
    Parse {
        /// The line.
        line: u64,
        /// Why.
        error: ParseError,
    },
}

impl Error {
    /// The line (1-based) the error is about.
    pub fn line(&self) -> u64 {
        match self {
            Error::Io { line, .. } | Error::Parse { line, .. } => *line,
        }
    }

    /// What is wrong with the line, when it was read.
    pub fn parse_error(&self) -> Option<&ParseError> {
        match self {
            Error::Parse { error, .. } => Some(error),
            Error::Io { .. } => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { line, source } => write!(f, "line {line}: {source}"),
            Error::Parse { line, error } => write!(f, "line {line}: {error}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            Error::Parse { .. } => None,
        }
    }
}
