//! Reading JSONL lines into records (§9).

use std::io::BufRead;

use base64::Engine as _;
use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::{Error, Line, ParseError, Record, BINARY_CONTENT_TYPE, DATE_TIME_FIELD, JSON_FIELDS};
use crate::Date;

/// The date part of an RFC 3339 date-time (`2002-03-14T10:00:00Z`,
/// `2002-03-14t10:00:00.5+01:00`, or with a space for the `T`), when `s` is one: a valid
/// `YYYY-MM-DD`, `T`/`t`/space, `hh:mm:ss` (hour ≤ 23, minute ≤ 59, second ≤ 60), an optional
/// `.` and one or more digits, then `Z`/`z` or `+hh:mm`/`-hh:mm` (≤ 23, ≤ 59).
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

/// Parses one line (a trailing `\n` or `\r\n` is allowed): `{"key" or "id", "title"?,
/// "date"?, "content_type"?, "body" or "body_base64", "meta"?: {...}}`, any other member
/// being entry metadata in the order of the line (a `meta` object's members where it
/// stands); or the archive line `{"archive":{...}}`. See [`parse_object`] for the rules; in
/// addition, a member name repeated in the line's object or in its `"meta"` is an error
/// ([`ParseError::RepeatedName`]). (Inside a metadata value that is itself an object, a
/// repeated member keeps its last value at its first place, as serde_json reads it.)
pub fn parse_line(line: &str) -> Result<Line, ParseError> {
    if line.starts_with('\u{feff}') {
        return Err(ParseError::ByteOrderMark);
    }
    let top: Top = serde_json::from_str(line).map_err(|e| {
        // serde_json adds "at line 1 column N": the line number is the caller's.
        let msg = e.to_string();
        let msg = msg.rfind(" at line ").map_or(msg.as_str(), |i| &msg[..i]);
        ParseError::Json {
            message: msg.to_string(),
            column: e.column(),
        }
    })?;
    match top {
        Top::Object(members) => from_members(members),
        Top::Other => Err(ParseError::NotAnObject),
    }
}

/// A member's value: `"meta"`'s members are kept in a list, so that a repeated name shows.
#[derive(Debug)]
enum Member {
    Value(Value),
    Meta(Meta),
}

/// What `"meta"` held.
#[derive(Debug)]
enum Meta {
    Pairs(Vec<(String, Value)>),
    Null,
    Other,
}

/// What a line held: an object's members in order, repeated names kept, or something else.
enum Top {
    Object(Vec<(String, Member)>),
    Other,
}

/// Sees any JSON value, keeping only what `T` wants of it.
struct AnyVisitor<T>(std::marker::PhantomData<T>);

/// What an [`AnyVisitor`] makes of an object, and of anything else.
trait FromAny: Sized {
    fn object<'de, A: MapAccess<'de>>(a: A) -> Result<Self, A::Error>;
    fn other() -> Self;
    fn null() -> Self {
        Self::other()
    }
}

impl FromAny for Top {
    fn object<'de, A: MapAccess<'de>>(mut a: A) -> Result<Self, A::Error> {
        let mut members = Vec::new();
        while let Some(name) = a.next_key::<String>()? {
            let value = if name == "meta" {
                Member::Meta(a.next_value::<Meta>()?)
            } else {
                Member::Value(a.next_value::<Value>()?)
            };
            members.push((name, value));
        }
        Ok(Top::Object(members))
    }
    fn other() -> Self {
        Top::Other
    }
}

impl FromAny for Meta {
    fn object<'de, A: MapAccess<'de>>(mut a: A) -> Result<Self, A::Error> {
        let mut pairs = Vec::new();
        while let Some((name, value)) = a.next_entry::<String, Value>()? {
            pairs.push((name, value));
        }
        Ok(Meta::Pairs(pairs))
    }
    fn other() -> Self {
        Meta::Other
    }
    fn null() -> Self {
        Meta::Null
    }
}

impl<'de, T: FromAny> Visitor<'de> for AnyVisitor<T> {
    type Value = T;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, a: A) -> Result<T, A::Error> {
        T::object(a)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<T, A::Error> {
        while a.next_element::<IgnoredAny>()?.is_some() {}
        Ok(T::other())
    }
    fn visit_unit<E>(self) -> Result<T, E> {
        Ok(T::null())
    }
    fn visit_bool<E>(self, _: bool) -> Result<T, E> {
        Ok(T::other())
    }
    fn visit_i64<E>(self, _: i64) -> Result<T, E> {
        Ok(T::other())
    }
    fn visit_u64<E>(self, _: u64) -> Result<T, E> {
        Ok(T::other())
    }
    fn visit_f64<E>(self, _: f64) -> Result<T, E> {
        Ok(T::other())
    }
    fn visit_str<E>(self, _: &str) -> Result<T, E> {
        Ok(T::other())
    }
}

impl<'de> Deserialize<'de> for Top {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(AnyVisitor(std::marker::PhantomData))
    }
}

impl<'de> Deserialize<'de> for Meta {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(AnyVisitor(std::marker::PhantomData))
    }
}

/// Makes a [`Line`] of a JSON object (what [`parse_line`] does once the JSON is parsed; for
/// records that come as objects, such as the Python package's dicts).
///
/// An object without `"key"`/`"id"` whose only member is `"archive"` holding an object of
/// strings is the archive line. Otherwise: `key` (or `id`, when there is no `key`) is a
/// string or a number (written in decimal as serde_json writes it); `title`, `date`,
/// `content_type`, `body` and `body_base64` are strings or null (null is absent); `date` is
/// `YYYY-MM-DD` or an RFC 3339 date-time ([`rfc3339_date_part`]), whose full value is kept as
/// the first metadata pair ([`DATE_TIME_FIELD`]); an empty `date` is no date. A `body_base64`
/// record without a content type gets [`BINARY_CONTENT_TYPE`]. `meta` is an object or null.
/// Metadata values that are strings are stored as they are, any other JSON value as its
/// compact JSON text, and then the names of those pairs are listed in a last pair
/// [`JSON_FIELDS`] (a JSON array of strings). A record may not name a pair [`JSON_FIELDS`],
/// nor give one metadata name twice.
pub fn parse_object(obj: Map<String, Value>) -> Result<Line, ParseError> {
    from_members(
        obj.into_iter()
            .map(|(name, v)| {
                let m = if name == "meta" {
                    Member::Meta(match v {
                        Value::Object(m) => Meta::Pairs(m.into_iter().collect()),
                        Value::Null => Meta::Null,
                        _ => Meta::Other,
                    })
                } else {
                    Member::Value(v)
                };
                (name, m)
            })
            .collect(),
    )
}

fn from_members(mut members: Vec<(String, Member)>) -> Result<Line, ParseError> {
    let has = |members: &[(String, Member)], name: &str| members.iter().any(|(n, _)| n == name);
    if !has(&members, "key") && !has(&members, "id") {
        if let [(name, Member::Value(Value::Object(a)))] = &mut members[..] {
            if name == "archive" {
                return std::mem::take(a)
                    .into_iter()
                    .map(|(name, v)| match v {
                        Value::String(s) => Ok((name, s)),
                        other => Err(ParseError::ArchiveValue {
                            name,
                            value: other.to_string(),
                        }),
                    })
                    .collect::<Result<_, _>>()
                    .map(Line::Archive);
            }
        }
        return Err(ParseError::NoKey);
    }
    // Taking members out keeps the order of those left, which become metadata in that order.
    let mut take = |name: &str| -> Result<Option<Member>, ParseError> {
        let Some(i) = members.iter().position(|(n, _)| n == name) else {
            return Ok(None);
        };
        let (n, m) = members.remove(i);
        if members.iter().any(|(other, _)| *other == n) {
            return Err(ParseError::RepeatedField { field: n });
        }
        Ok(Some(m))
    };
    let key = match take("key")? {
        Some(k) => Some(k),
        None => take("id")?,
    };
    let key = match key {
        Some(Member::Value(Value::String(s))) => s,
        Some(Member::Value(Value::Number(n))) => n.to_string(),
        _ => return Err(ParseError::KeyType),
    };
    let mut text = |field: &'static str| -> Result<Option<String>, ParseError> {
        match take(field)? {
            None | Some(Member::Value(Value::Null)) => Ok(None),
            Some(Member::Value(Value::String(s))) => Ok(Some(s)),
            Some(_) => Err(ParseError::NotAString {
                key: key.clone(),
                field,
            }),
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
                let Some(date) = rfc3339_date_part(&d) else {
                    return Err(ParseError::Date { key, value: d });
                };
                metadata.push((DATE_TIME_FIELD.to_string(), Value::String(d)));
                Some(date)
            }
        },
    };
    let content_type = text("content_type")?;
    let body = text("body")?;
    let body64 = text("body_base64")?;
    let meta_count = members.iter().filter(|(n, _)| n == "meta").count();
    if meta_count > 1 {
        return Err(ParseError::RepeatedField {
            field: "meta".into(),
        });
    }
    let (body, content_type) = match (body, body64) {
        (Some(b), None) => (b.into_bytes(), content_type),
        (None, Some(b)) => (
            base64::engine::general_purpose::STANDARD
                .decode(b.as_bytes())
                .map_err(|e| ParseError::Base64 {
                    key: key.clone(),
                    message: e.to_string(),
                })?,
            content_type.or_else(|| Some(BINARY_CONTENT_TYPE.to_string())),
        ),
        (None, None) => (Vec::new(), content_type),
        (Some(_), Some(_)) => return Err(ParseError::BothBodies { key }),
    };
    for (name, m) in members {
        match m {
            Member::Meta(Meta::Pairs(pairs)) => metadata.extend(pairs),
            Member::Meta(Meta::Null) => {}
            Member::Meta(Meta::Other) => return Err(ParseError::MetaNotAnObject { key }),
            Member::Value(v) => metadata.push((name, v)),
        }
    }
    let metadata = stored_metadata(&key, metadata)?;
    Ok(Line::Entry(Record {
        key,
        title,
        date,
        content_type,
        metadata,
        body,
    }))
}

/// Metadata as stored: strings as they are, any other JSON value as its JSON text, and the
/// names of the latter listed in a last [`JSON_FIELDS`] pair.
fn stored_metadata(
    key: &str,
    fields: Vec<(String, Value)>,
) -> Result<Vec<(String, String)>, ParseError> {
    let mut json_names: Vec<String> = Vec::new();
    for (i, (name, v)) in fields.iter().enumerate() {
        if name == JSON_FIELDS {
            return Err(ParseError::ReservedName {
                key: key.to_string(),
                name: name.clone(),
            });
        }
        if fields[..i].iter().any(|(n, _)| n == name) {
            return Err(ParseError::RepeatedName {
                key: key.to_string(),
                name: name.clone(),
            });
        }
        if !v.is_string() {
            json_names.push(name.clone());
        }
    }
    let marker = (!json_names.is_empty())
        .then(|| (JSON_FIELDS.to_string(), Value::from(json_names).to_string()));
    let mut out: Vec<(String, String)> = fields
        .into_iter()
        .map(|(name, v)| match v {
            Value::String(s) => (name, s),
            other => (name, other.to_string()),
        })
        .collect();
    out.extend(marker);
    Ok(out)
}

/// Reads JSONL records from a stream, one line at a time (memory bounded by the longest
/// line), skipping lines that are empty or all whitespace, and numbering lines from 1 for
/// its errors.
///
/// ```
/// use quire::jsonl::{Line, LineReader};
///
/// let input = "{\"archive\":{\"title\":\"T\"}}\n\n{\"key\":\"a\",\"body\":\"x\"}\n{\"body\":1}\n";
/// let mut lines = LineReader::new(input.as_bytes());
/// assert!(matches!(lines.next(), Some(Ok(Line::Archive(_)))));
/// assert!(matches!(lines.next(), Some(Ok(Line::Entry(r))) if r.key == "a"));
/// let err = lines.next().unwrap().unwrap_err();
/// assert_eq!(err.line(), 4);
/// assert_eq!(err.to_string(), "line 4: a record needs a \"key\" (or \"id\") field");
/// assert!(lines.next().is_none());
/// ```
#[derive(Debug)]
pub struct LineReader<R> {
    input: R,
    buf: String,
    line: u64,
    bytes: u64,
}

impl<R: BufRead> LineReader<R> {
    /// Reads from `input`.
    pub fn new(input: R) -> Self {
        LineReader {
            input,
            buf: String::new(),
            line: 0,
            bytes: 0,
        }
    }

    /// The number of the last line read (0 before the first).
    pub fn line_number(&self) -> u64 {
        self.line
    }

    /// Bytes of input consumed so far (for progress).
    pub fn bytes_read(&self) -> u64 {
        self.bytes
    }

    /// Gives the input back.
    pub fn into_inner(self) -> R {
        self.input
    }
}

impl<R: BufRead> Iterator for LineReader<R> {
    type Item = Result<Line, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            self.buf.clear();
            let got = match self.input.read_line(&mut self.buf) {
                Ok(n) => n,
                Err(source) => {
                    return Some(Err(Error::Io {
                        line: self.line + 1,
                        source,
                    }))
                }
            };
            if got == 0 {
                return None;
            }
            self.line += 1;
            self.bytes += got as u64;
            if self.buf.trim().is_empty() {
                continue;
            }
            return Some(parse_line(&self.buf).map_err(|error| Error::Parse {
                line: self.line,
                error,
            }));
        }
    }
}
