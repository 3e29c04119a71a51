//! Writing entries as JSONL lines (§9).

use std::fmt;
use std::io::{self, Write};

use base64::Engine as _;
use serde_json::Value;

use super::stream::{Capture, JsonStrWriter, Utf8Check};
use super::{rfc3339_date_part, Record, DATE_TIME_FIELD, JSON_FIELDS};
use crate::{Date, Entry, ReadError, ReadResult, DEFAULT_CONTENT_TYPE};

/// The archive line, `{"archive":{NAME:VALUE,…}}` with the pairs in order (without the
/// newline). (META's names are unique, §3.)
pub fn archive_line(meta: &[(String, String)]) -> String {
    let mut out = String::from("{\"archive\":{");
    for (i, (n, v)) in meta.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        json_str(&mut out, n);
        out.push(':');
        json_str(&mut out, v);
    }
    out.push_str("}}");
    out
}

/// A string as JSON (§9's escaping: serde_json's).
fn json_str(out: &mut String, s: &str) {
    out.push_str(&Value::String(s.to_string()).to_string());
}

/// The names a `quire:json` value lists: the strings of a JSON array (other elements are
/// ignored); any other value lists none.
fn listed_names(value: &str) -> Vec<String> {
    match serde_json::from_str(value) {
        Ok(Value::Array(items)) => items
            .into_iter()
            .filter_map(|v| match v {
                Value::String(s) => Some(s),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// An entry's line up to its body: `{` and the members before the body, each followed by
/// `,`; `text` says whether the body will be written as `"body"` (else `"body_base64"`).
fn head(
    key: &str,
    title: Option<&str>,
    date: Option<Date>,
    content_type: &str,
    metadata: &[(String, String)],
    text: bool,
) -> String {
    let mut out = String::from("{\"key\":");
    json_str(&mut out, key);
    out.push(',');
    if let Some(t) = title {
        out.push_str("\"title\":");
        json_str(&mut out, t);
        out.push(',');
    }
    // The first pair named quire:json lists the pairs whose values are JSON text.
    let json_names = metadata
        .iter()
        .find(|(n, _)| n == JSON_FIELDS)
        .map_or_else(Vec::new, |(_, v)| listed_names(v));
    // The first pair named date, when it is an RFC 3339 date-time on the entry's date (as
    // `pack` keeps one): written as the date.
    let date_time = metadata
        .iter()
        .position(|(n, _)| n == DATE_TIME_FIELD)
        .filter(|&i| date.is_some() && rfc3339_date_part(&metadata[i].1) == date);
    let date = match (date_time, date) {
        (Some(i), _) => Some(metadata[i].1.clone()),
        (None, d) => d.map(|d| d.to_string()),
    };
    if let Some(d) = date {
        out.push_str("\"date\":");
        json_str(&mut out, &d);
        out.push(',');
    }
    // A binary body with the default (text) content type says so, since pack would
    // otherwise give it application/octet-stream.
    if content_type != DEFAULT_CONTENT_TYPE || !text {
        out.push_str("\"content_type\":");
        json_str(&mut out, content_type);
        out.push(',');
    }
    // Every other pair, in order, a repeated name repeated.
    let mut first = true;
    for (i, (n, v)) in metadata.iter().enumerate() {
        if Some(i) == date_time || n == JSON_FIELDS {
            continue;
        }
        out.push_str(if first { "\"meta\":{" } else { "," });
        first = false;
        json_str(&mut out, n);
        out.push(':');
        // A listed value that does not parse is written as a string.
        let parsed = json_names
            .contains(n)
            .then(|| serde_json::from_str::<Value>(v).ok())
            .flatten();
        match parsed {
            Some(value) => out.push_str(&value.to_string()),
            None => json_str(&mut out, v),
        }
    }
    if !first {
        out.push_str("},");
    }
    out
}

/// A whole line from its head and body.
fn whole_line(mut line: String, body: &[u8]) -> String {
    match std::str::from_utf8(body) {
        Ok(s) => {
            line.push_str("\"body\":");
            json_str(&mut line, s);
        }
        Err(_) => {
            line.push_str("\"body_base64\":\"");
            line.push_str(&base64::engine::general_purpose::STANDARD.encode(body));
            line.push('"');
        }
    }
    line.push('}');
    line
}

/// The line of a record (see [`Record::to_line`]).
pub(super) fn record_line(r: &Record) -> String {
    let text = std::str::from_utf8(&r.body).is_ok();
    let head = head(
        &r.key,
        r.title.as_deref(),
        r.date,
        r.content_type.as_deref().unwrap_or(DEFAULT_CONTENT_TYPE),
        &r.metadata,
        text,
    );
    whole_line(head, &r.body)
}

/// An entry's line (without the newline), the body held whole: `"key"`, then `"title"`,
/// `"date"`, `"content_type"`, `"meta"` where they apply, then `"body"` (UTF-8) or
/// `"body_base64"`. [`parse_line`](super::parse_line) reads it back to the same entry.
pub fn entry_line(e: &Entry<'_>) -> ReadResult<String> {
    let info = e.info()?;
    let body = e.body()?;
    let text = std::str::from_utf8(&body).is_ok();
    let head = head(
        e.key(),
        info.title.as_deref(),
        e.date(),
        e.content_type(),
        &info.metadata,
        text,
    );
    Ok(whole_line(head, &body))
}

/// Why [`write_entry_line`] failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum WriteLineError {
    /// The entry cannot be read (the archive is damaged where it is stored): nothing of its
    /// line was written.
    Unreadable(ReadError),
    /// The body could not be read after its line was begun (part of the line is written).
    Read(ReadError),
    /// Writing the output failed.
    Io(io::Error),
}

impl fmt::Display for WriteLineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WriteLineError::Unreadable(_) => f.write_str("the entry cannot be read"),
            WriteLineError::Read(_) => f.write_str("the body could not be read to its end"),
            WriteLineError::Io(_) => f.write_str("cannot write the line"),
        }
    }
}

impl std::error::Error for WriteLineError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            WriteLineError::Unreadable(e) | WriteLineError::Read(e) => Some(e),
            WriteLineError::Io(e) => Some(e),
        }
    }
}

impl From<io::Error> for WriteLineError {
    fn from(e: io::Error) -> Self {
        WriteLineError::Io(e)
    }
}

/// Writes an entry's line and its newline into `out`, streaming the body block by block:
/// memory is bounded by the block size, not the body. The bytes are those of
/// [`entry_line`] and `\n`. The title, metadata and the whole body are read once before
/// anything is written (to learn whether the body is UTF-8), so an unreadable entry writes
/// nothing.
pub fn write_entry_line(e: &Entry<'_>, out: &mut dyn Write) -> Result<(), WriteLineError> {
    let info = e.info().map_err(WriteLineError::Unreadable)?;
    let mut check = Utf8Check::default();
    let text = match e.write_body_to(&mut check) {
        Ok(()) => check.is_utf8(),
        Err(_) if check.stopped() => false,
        Err(err) => return Err(WriteLineError::Unreadable(err)),
    };
    let head = head(
        e.key(),
        info.title.as_deref(),
        e.date(),
        e.content_type(),
        &info.metadata,
        text,
    );
    out.write_all(head.as_bytes())?;
    let mut cap = Capture { out, error: None };
    let body = if text {
        cap.write_all(b"\"body\":\"")?;
        let mut w = JsonStrWriter::new(&mut cap);
        e.write_body_to(&mut w)
            .and_then(|()| w.finish().map_err(ReadError::from))
    } else {
        cap.write_all(b"\"body_base64\":\"")?;
        let mut enc =
            base64::write::EncoderWriter::new(&mut cap, &base64::engine::general_purpose::STANDARD);
        e.write_body_to(&mut enc)
            .and_then(|()| enc.finish().map(drop).map_err(ReadError::from))
    };
    if let Err(err) = body {
        return Err(match cap.error.take() {
            Some(io) => WriteLineError::Io(io),
            None => WriteLineError::Read(err),
        });
    }
    cap.write_all(b"\"}\n")?;
    Ok(())
}
