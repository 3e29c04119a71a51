//! §3 META: archive metadata.
//!
//! A sequence of records, each `u16 name_len, name, u32 value_len, value`, UTF-8 both, to
//! the end of the section.

use super::bytes::Cursor;
use crate::error::{DamageKind, Location, ReadError, ReadResult, Rule};

/// Encodes the pairs, in order. Names longer than 65535 bytes or values of 4 GiB and more
/// cannot be encoded: the writer refuses them before.
pub fn encode(pairs: &[(String, String)]) -> Vec<u8> {
    let mut b = Vec::new();
    for (name, value) in pairs {
        b.extend_from_slice(&(name.len() as u16).to_le_bytes());
        b.extend_from_slice(name.as_bytes());
        b.extend_from_slice(&(value.len() as u32).to_le_bytes());
        b.extend_from_slice(value.as_bytes());
    }
    b
}

/// Decodes the section.
pub fn decode(data: &[u8]) -> ReadResult<Vec<(String, String)>> {
    let at = Location::Meta;
    let bad = || ReadError::violates(at, Rule::RecordBounds);
    let text = |b: &[u8]| {
        std::str::from_utf8(b)
            .map(str::to_string)
            .map_err(|_| ReadError::damaged(at, DamageKind::NotUtf8))
    };
    let mut c = Cursor::new(data);
    let mut out = Vec::new();
    while !c.is_empty() {
        let n = c.u16().ok_or_else(bad)?;
        let name = c.take(usize::from(n)).ok_or_else(bad)?;
        let v = c.u32().ok_or_else(bad)?;
        let value = c.take(v as usize).ok_or_else(bad)?;
        let name = text(name)?;
        if out.iter().any(|(n, _): &(String, String)| *n == name) {
            return Err(ReadError::violates(at, Rule::Unique));
        }
        out.push((name, text(value)?));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn round_trip_and_overrun() {
        let pairs = vec![
            ("title".to_string(), "Ünï".to_string()),
            ("x".into(), "".into()),
        ];
        let b = super::encode(&pairs);
        assert_eq!(super::decode(&b).unwrap(), pairs);
        assert!(super::decode(&b[..b.len() - 1]).is_err());
        let twice = super::encode(&[("a".into(), "1".into()), ("a".into(), "2".into())]);
        assert!(super::decode(&twice).is_err());
    }
}
