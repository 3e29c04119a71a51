//! §4 CTYPES: the content-type table.
//!
//! A sequence of `u8 len` (1..=255), `len` bytes (UTF-8), unique, filling CTYPES (at most
//! 4 KiB, in the prelude); entries refer to a content type by its position.

use super::bytes::Cursor;
use crate::error::{DamageKind, Location, ReadError, ReadResult, Rule};

/// Longest content type in bytes (§4).
pub const MAX_CTYPE_LEN: usize = 255;

/// Encodes the table.
pub fn encode(types: &[String]) -> Vec<u8> {
    let mut b = Vec::new();
    for t in types {
        b.push(t.len() as u8);
        b.extend_from_slice(t.as_bytes());
    }
    b
}

/// The encoded size of one entry of the table.
pub fn encoded_len(t: &str) -> usize {
    1 + t.len()
}

/// Decodes the table.
pub fn decode(data: &[u8]) -> ReadResult<Vec<String>> {
    let at = Location::ContentTypes;
    let mut c = Cursor::new(data);
    let mut out = Vec::new();
    while !c.is_empty() {
        let n = c
            .u8()
            .ok_or_else(|| ReadError::violates(at, Rule::RecordBounds))?;
        let t = c
            .take(usize::from(n))
            .ok_or_else(|| ReadError::violates(at, Rule::RecordBounds))?;
        let t = std::str::from_utf8(t).map_err(|_| ReadError::damaged(at, DamageKind::NotUtf8))?;
        if n == 0 {
            return Err(ReadError::violates(at, Rule::RecordBounds));
        }
        if out.iter().any(|o: &String| o == t) {
            return Err(ReadError::violates(at, Rule::Unique));
        }
        out.push(t.to_string());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn round_trip() {
        let t = vec!["text/plain".to_string(), "application/octet-stream".into()];
        assert_eq!(super::decode(&super::encode(&t)).unwrap(), t);
        assert!(super::decode(&[5, b'a']).is_err());
        assert!(super::decode(&[1, b'a', 1, b'a']).is_err());
    }
}
