//! §4 CTYPES: the content-type table.
//!
//! A sequence of `u16 len, bytes` (UTF-8), at most 65536 of them; entries refer to a content
//! type by its position.

use super::bytes::Cursor;
use super::header::SectionId;
use crate::error::{DamageKind, Location, ReadError, ReadResult, Rule};

/// Most content types a table may hold (entries refer to them by a u16).
pub const MAX_CTYPES: usize = u16::MAX as usize + 1;

/// Encodes the table.
pub fn encode(types: &[String]) -> Vec<u8> {
    let mut b = Vec::new();
    for t in types {
        b.extend_from_slice(&(t.len() as u16).to_le_bytes());
        b.extend_from_slice(t.as_bytes());
    }
    b
}

/// The encoded size of one entry of the table.
pub fn encoded_len(t: &str) -> usize {
    2 + t.len()
}

/// Decodes the table.
pub fn decode(data: &[u8]) -> ReadResult<Vec<String>> {
    let at = Location::Section(SectionId::Ctypes);
    let mut c = Cursor::new(data);
    let mut out = Vec::new();
    while !c.is_empty() {
        let n = c
            .u16()
            .ok_or_else(|| ReadError::violates(at, Rule::RecordBounds))?;
        let t = c
            .take(usize::from(n))
            .ok_or_else(|| ReadError::violates(at, Rule::RecordBounds))?;
        let t = std::str::from_utf8(t).map_err(|_| ReadError::damaged(at, DamageKind::NotUtf8))?;
        if out.len() >= MAX_CTYPES {
            return Err(ReadError::damaged(
                at,
                DamageKind::OverLimit {
                    value: out.len() as u64 + 1,
                    limit: MAX_CTYPES as u64,
                },
            ));
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
        assert!(super::decode(&[5, 0, b'a']).is_err());
    }
}
