//! Writing entries as JSONL lines (§9).

use std::fmt;
use std::io::{self, Write};

use base64::Engine as _;
use serde_json::{Map, Value};

use super::stream::{Capture, JsonStrWriter, Utf8Check};
use super::{rfc3339_date_part, Record, DATE_TIME_FIELD, JSON_FIELDS};
use crate::{Date, Entry, ReadError, ReadResult, DEFAULT_CONTENT_TYPE};

/// The archive line, `{"archive":{NAME:VALUE,…}}` with the pairs in order (without the
/// newline). A name given twice keeps its first place and its last value.
pub fn archive_line(meta: &[(String, String)]) -> String {
    let m: Map<String, Value> = meta
        .iter()
        .map(|(n, v)| (n.clone(), Value::String(v.clone())))
        .collect();
    let mut obj = Map::new();
    obj.insert("archive".into(), Value::Object(m));
    Value::Object(obj).to_string()
}

/// The members of an entry's line before its body, in their order; `text` says whether the
/// body will be written as `"body"` (else `"body_base64"`).
fn head(
    key: &str,
    title: Option<&str>,
    date: Option<Date>,
    content_type: &str,
    metadata: &[(String, String)],
    text: bool,
) -> Map<String, Value> {
    let mut obj = Map::new();
    obj.insert("key".into(), Value::String(key.to_string()));
    if let Some(t) = title {
        obj.insert("title".into(), Value::String(t.to_string()));
    }
    // The first pair named quire:json, when its value is a JSON array of strings.
    let json_names: Vec<String> = metadata
        .iter()
        .find(|(n, _)| n == JSON_FIELDS)
        .and_then(|(_, v)| serde_json::from_str(v).ok())
        .unwrap_or_default();
    // An RFC 3339 date-time kept by `pack`: written back as the date.
    let date_time = metadata.iter().position(|(n, v)| {
        n == DATE_TIME_FIELD
            && !json_names.contains(n)
            && date.is_some()
            && rfc3339_date_part(v) == date
    });
    match (date_time, date) {
        (Some(i), _) => obj.insert("date".into(), Value::String(metadata[i].1.clone())),
        (None, Some(d)) => obj.insert("date".into(), Value::String(d.to_string())),
        (None, None) => None,
    };
    // A binary body with the default (text) content type says so, since pack would
    // otherwise give it application/octet-stream.
    if content_type != DEFAULT_CONTENT_TYPE || !text {
        obj.insert(
            "content_type".into(),
            Value::String(content_type.to_string()),
        );
    }
    let mut meta = Map::new();
    for (i, (n, v)) in metadata.iter().enumerate() {
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

/// A whole line from its head and body.
fn whole_line(mut obj: Map<String, Value>, body: &[u8]) -> String {
    match std::str::from_utf8(body) {
        Ok(s) => obj.insert("body".into(), Value::String(s.to_string())),
        Err(_) => obj.insert(
            "body_base64".into(),
            Value::String(base64::engine::general_purpose::STANDARD.encode(body)),
        ),
    };
    Value::Object(obj).to_string()
}

/// The line of a record (see [`Record::to_line`]).
pub(super) fn record_line(r: &Record) -> String {
    let text = std::str::from_utf8(&r.body).is_ok();
    let obj = head(
        &r.key,
        r.title.as_deref(),
        r.date,
        r.content_type.as_deref().unwrap_or(DEFAULT_CONTENT_TYPE),
        &r.metadata,
        text,
    );
    whole_line(obj, &r.body)
}

/// An entry's line (without the newline), the body held whole: `"key"`, then `"title"`,
/// `"date"`, `"content_type"`, `"meta"` where they apply, then `"body"` (UTF-8) or
/// `"body_base64"`. [`parse_line`](super::parse_line) reads it back to the same entry.
pub fn entry_line(e: &Entry<'_>) -> ReadResult<String> {
    let info = e.info()?;
    let body = e.body()?;
    let text = std::str::from_utf8(&body).is_ok();
    let obj = head(
        e.key(),
        info.title.as_deref(),
        e.date(),
        e.content_type(),
        &info.metadata,
        text,
    );
    Ok(whole_line(obj, &body))
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
    let head = Value::Object(head(
        e.key(),
        info.title.as_deref(),
        e.date(),
        e.content_type(),
        &info.metadata,
        text,
    ))
    .to_string();
    // `head` is `{...}` with at least the key: drop the `}` and add the body member.
    let open = head.strip_suffix('}').unwrap_or(&head);
    out.write_all(open.as_bytes())?;
    let mut cap = Capture { out, error: None };
    let body = if text {
        cap.write_all(b",\"body\":\"")?;
        let mut w = JsonStrWriter::new(&mut cap);
        e.write_body_to(&mut w)
            .and_then(|()| w.finish().map_err(ReadError::from))
    } else {
        cap.write_all(b",\"body_base64\":\"")?;
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
