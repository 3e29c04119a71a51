//! [`NewEntry`] and what the writer checks of it; its title and metadata become string
//! fields (§6.1, encoded by `format::strings`), which the writer stores as the entry's lead
//! (§6.2).

use crate::error::WriteError;
use crate::format::ctypes::MAX_CTYPE_LEN;
use crate::format::{self, strings, Date, MAX_KEY_LEN};

/// The content type entries get when none is given.
pub const DEFAULT_CONTENT_TYPE: &str = "text/plain; charset=utf-8";

/// An entry to add: the key, its body and optional fields.
#[derive(Debug, Clone, Default)]
pub struct NewEntry<'a> {
    /// Unique, non-empty key of at most 4096 bytes.
    pub key: &'a str,
    /// Title.
    pub title: Option<&'a str>,
    /// Date.
    pub date: Option<Date>,
    /// Content type; `None` means [`DEFAULT_CONTENT_TYPE`].
    pub content_type: Option<&'a str>,
    /// Extra metadata pairs.
    pub metadata: Vec<(&'a str, &'a str)>,
    /// The body (empty for [`ArchiveWriter::add_reader`](crate::ArchiveWriter::add_reader),
    /// which takes it from a reader: see [`NewEntry::streamed`]).
    pub body: &'a [u8],
}

impl<'a> NewEntry<'a> {
    /// An entry with just a key and a body.
    pub fn new(key: &'a str, body: &'a [u8]) -> Self {
        NewEntry {
            key,
            body,
            ..NewEntry::default()
        }
    }

    /// An entry whose body comes from a reader: a key, no body here; for
    /// [`ArchiveWriter::add_reader`](crate::ArchiveWriter::add_reader).
    pub fn streamed(key: &'a str) -> Self {
        NewEntry {
            key,
            ..NewEntry::default()
        }
    }
    /// Sets the title.
    pub fn title(mut self, title: &'a str) -> Self {
        self.title = Some(title);
        self
    }
    /// Sets the date.
    pub fn date(mut self, date: Date) -> Self {
        self.date = Some(date);
        self
    }
    /// Sets the content type.
    pub fn content_type(mut self, ct: &'a str) -> Self {
        self.content_type = Some(ct);
        self
    }
    /// Adds a metadata pair.
    pub fn meta(mut self, name: &'a str, value: &'a str) -> Self {
        self.metadata.push((name, value));
        self
    }
}

/// Checks the key and the lengths of the content type and metadata names.
pub(super) fn validate(e: &NewEntry<'_>) -> Result<(), WriteError> {
    if e.key.is_empty() {
        return Err(WriteError::InvalidKey {
            key: String::new(),
            reason: "keys must not be empty",
        });
    }
    if e.key.len() > MAX_KEY_LEN {
        let mut short: String = e.key.chars().take(40).collect();
        short.push('…');
        return Err(WriteError::InvalidKey {
            key: short,
            reason: "keys are at most 4096 bytes",
        });
    }
    if e.content_type
        .is_some_and(|c| c.is_empty() || c.len() > MAX_CTYPE_LEN)
    {
        return Err(invalid(e, "content type must be 1..=255 bytes"));
    }
    for (n, _) in &e.metadata {
        if n.len() > usize::from(u16::MAX) {
            return Err(invalid(e, "a metadata name is too long"));
        }
    }
    Ok(())
}

/// The entry's title and metadata as lead fields (§7.3). Fails when they exceed 16 MiB.
pub(super) fn encode_fields(e: &NewEntry<'_>) -> Result<Vec<u8>, WriteError> {
    let fields = strings::encode_fields(e.title, e.metadata.iter().copied());
    if fields.len() > format::MAX_LEAD_LEN as usize {
        return Err(invalid(e, "title and metadata together exceed 16 MiB"));
    }
    Ok(fields)
}

/// Refuses a body of 2^48 bytes or more (§7.1: bodies are below 2^48 bytes).
pub(super) fn check_body_len(key: &str, len: u64) -> Result<(), WriteError> {
    if len >= format::entries::BODY_LEN_LIMIT {
        return Err(WriteError::InvalidEntry {
            key: key.to_string(),
            reason: "the body is 2^48 bytes or longer".into(),
        });
    }
    Ok(())
}

fn invalid(e: &NewEntry<'_>, reason: &str) -> WriteError {
    WriteError::InvalidEntry {
        key: e.key.to_string(),
        reason: reason.into(),
    }
}
