//! §7.3 The lead: an entry's title and metadata fields.
//!
//! An entry's lead, stored in the stream just before its body, is a sequence of fields. A field is `u8 tag, u32 len,
//! value`; a title is tag 1 (UTF-8), a metadata pair tag 2 (`u16 name_len, name, value`,
//! both UTF-8). Readers skip tags they do not know.

use super::bytes::Cursor;

/// String-field tag: title (§7.3).
pub const FIELD_TITLE: u8 = 1;
/// String-field tag: one metadata pair (§7.3).
pub const FIELD_META: u8 = 2;

/// Appends one field made of `parts` (written back to back as its value).
fn push_field(out: &mut Vec<u8>, tag: u8, parts: &[&[u8]]) {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    out.push(tag);
    out.extend_from_slice(&(len as u32).to_le_bytes());
    for p in parts {
        out.extend_from_slice(p);
    }
}

/// The fields for a title and metadata pairs, in that order. Names must be at most 65535
/// bytes and values below 4 GiB (the writer checks).
pub fn encode_fields<'s>(
    title: Option<&str>,
    metadata: impl IntoIterator<Item = (&'s str, &'s str)>,
) -> Vec<u8> {
    let mut out = Vec::new();
    if let Some(t) = title {
        push_field(&mut out, FIELD_TITLE, &[t.as_bytes()]);
    }
    for (n, v) in metadata {
        let n_len = (n.len() as u16).to_le_bytes();
        push_field(&mut out, FIELD_META, &[&n_len, n.as_bytes(), v.as_bytes()]);
    }
    out
}

/// One decoded field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field<'b> {
    /// A title.
    Title(&'b str),
    /// A metadata pair.
    Meta(&'b str, &'b str),
    /// A field with a tag this version does not know (skipped by readers).
    Unknown(u8),
}

/// What makes a field area unreadable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldError {
    /// A field runs past the end of the area.
    Overrun,
    /// A title, name or value is not UTF-8.
    NotUtf8,
}

/// The fields of an area, in order; after the first error the iterator ends.
pub fn fields(area: &[u8]) -> Fields<'_> {
    Fields {
        c: Cursor::new(area),
        failed: false,
    }
}

/// Iterator over a string-field area, from [`fields`].
pub struct Fields<'b> {
    c: Cursor<'b>,
    failed: bool,
}

impl<'b> Fields<'b> {
    fn field(&mut self) -> Result<Field<'b>, FieldError> {
        let tag = self.c.u8().ok_or(FieldError::Overrun)?;
        let len = self.c.u32().ok_or(FieldError::Overrun)?;
        let v = self.c.take(len as usize).ok_or(FieldError::Overrun)?;
        let text = |b: &'b [u8]| std::str::from_utf8(b).map_err(|_| FieldError::NotUtf8);
        Ok(match tag {
            FIELD_TITLE => Field::Title(text(v)?),
            FIELD_META => {
                let mut m = Cursor::new(v);
                let n = m.u16().ok_or(FieldError::Overrun)?;
                let name = m.take(usize::from(n)).ok_or(FieldError::Overrun)?;
                Field::Meta(text(name)?, text(m.rest())?)
            }
            other => Field::Unknown(other),
        })
    }
}

impl<'b> Iterator for Fields<'b> {
    type Item = Result<Field<'b>, FieldError>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.c.is_empty() {
            return None;
        }
        let f = self.field();
        self.failed = f.is_err();
        Some(f)
    }
}

impl std::iter::FusedIterator for Fields<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_round_trip() {
        let b = encode_fields(Some("T"), [("lang", "en"), ("x", "")]);
        let got: Vec<_> = fields(&b).collect::<Result<_, _>>().unwrap();
        assert_eq!(
            got,
            [
                Field::Title("T"),
                Field::Meta("lang", "en"),
                Field::Meta("x", "")
            ]
        );
        assert_eq!(
            fields(&b[..b.len() - 1]).last(),
            Some(Err(FieldError::Overrun))
        );
        let mut bad = encode_fields(Some("T"), []);
        *bad.last_mut().unwrap() = 0xFF;
        assert_eq!(fields(&bad).next(), Some(Err(FieldError::NotUtf8)));
    }
}
