//! §6 ENTRIES: the entry table.
//!
//! One 40-byte record per entry, in entry order, so entry *i* is at `40 · i`. Its CRC covers
//! the record and the entry's strings (§6.1), so one check covers both.

use byteorder::{ByteOrder, LittleEndian as LE};

/// Size of an entry record (§6).
pub const ENTRY_RECORD_LEN: usize = 40;
/// Largest key in bytes (§6).
pub const MAX_KEY_LEN: usize = 4096;
/// Largest per-entry strings blob, and largest lead (§6).
pub const MAX_STRINGS_LEN: u32 = 16 << 20;
/// Largest value of a 48-bit field: a body's length, an offset into STRINGS, a block's
/// offset in the body stream (§5.1, §6).
pub const MAX_U48: u64 = (1 << 48) - 1;

// Field offsets in an entry record (§6).
const BODY_LEN: usize = 0;
const CONTENT_TYPE: usize = 6;
const STRINGS_OFFSET: usize = 8;
const KEY_LEN: usize = 14;
const BLOCK: usize = 16;
const BODY_OFFSET: usize = 20;
const STRINGS_LEN: usize = 24;
const LEAD_LEN: usize = 28;
const DATE: usize = 32;
const CRC: usize = 36;

/// One entry record (§6), without its CRC (which also covers the strings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EntryRecord {
    /// Body length, below 2^48.
    pub body_len: u64,
    /// Index into the content-type table.
    pub content_type: u16,
    /// Offset of the strings inside STRINGS, below 2^48.
    pub strings_offset: u64,
    /// Length of the key (the first bytes of the strings).
    pub key_len: u16,
    /// Block in which the body starts.
    pub block: u32,
    /// Offset of the body in that block.
    pub offset: u32,
    /// Length of the strings.
    pub strings_len: u32,
    /// Length of the lead: string fields stored in the block just before the body.
    pub lead_len: u32,
    /// `YYYYMMDD` or 0.
    pub date: u32,
}

impl EntryRecord {
    /// Encodes the record; the CRC covers the record and `strings`. `body_len` and
    /// `strings_offset` must be below 2^48 (the writer checks).
    pub fn encode(&self, strings: &[u8]) -> [u8; ENTRY_RECORD_LEN] {
        let mut b = [0u8; ENTRY_RECORD_LEN];
        LE::write_u48(&mut b[BODY_LEN..], self.body_len & MAX_U48);
        LE::write_u16(&mut b[CONTENT_TYPE..], self.content_type);
        LE::write_u48(&mut b[STRINGS_OFFSET..], self.strings_offset & MAX_U48);
        LE::write_u16(&mut b[KEY_LEN..], self.key_len);
        LE::write_u32(&mut b[BLOCK..], self.block);
        LE::write_u32(&mut b[BODY_OFFSET..], self.offset);
        LE::write_u32(&mut b[STRINGS_LEN..], self.strings_len);
        LE::write_u32(&mut b[LEAD_LEN..], self.lead_len);
        LE::write_u32(&mut b[DATE..], self.date);
        let crc = Self::crc(&b, strings);
        LE::write_u32(&mut b[CRC..], crc);
        b
    }

    /// The CRC an entry record with these bytes and strings must carry.
    pub fn crc(record: &[u8; ENTRY_RECORD_LEN], strings: &[u8]) -> u32 {
        let mut h = crc32fast::Hasher::new();
        h.update(&record[..CRC]);
        h.update(strings);
        h.finalize()
    }

    /// The CRC stored in a record.
    pub fn stored_crc(record: &[u8; ENTRY_RECORD_LEN]) -> u32 {
        LE::read_u32(&record[CRC..])
    }

    /// Whether the record's CRC matches it and `strings`.
    pub fn crc_matches(record: &[u8; ENTRY_RECORD_LEN], strings: &[u8]) -> bool {
        Self::crc(record, strings) == Self::stored_crc(record)
    }

    /// Recomputes the CRC of an encoded record for `strings` (for tools that rewrite one).
    pub fn reseal(record: &mut [u8; ENTRY_RECORD_LEN], strings: &[u8]) {
        let crc = Self::crc(record, strings);
        LE::write_u32(&mut record[CRC..], crc);
    }

    /// Decodes the fields; the CRC is checked separately, once the strings are located.
    pub fn decode(b: &[u8; ENTRY_RECORD_LEN]) -> EntryRecord {
        EntryRecord {
            body_len: LE::read_u48(&b[BODY_LEN..]),
            content_type: LE::read_u16(&b[CONTENT_TYPE..]),
            strings_offset: LE::read_u48(&b[STRINGS_OFFSET..]),
            key_len: LE::read_u16(&b[KEY_LEN..]),
            block: LE::read_u32(&b[BLOCK..]),
            offset: LE::read_u32(&b[BODY_OFFSET..]),
            strings_len: LE::read_u32(&b[STRINGS_LEN..]),
            lead_len: LE::read_u32(&b[LEAD_LEN..]),
            date: LE::read_u32(&b[DATE..]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_round_trips_with_u48_fields() {
        let e = EntryRecord {
            body_len: MAX_U48,
            content_type: 3,
            strings_offset: (1 << 40) + 5,
            key_len: 4096,
            block: 7,
            offset: 99,
            strings_len: 4100,
            lead_len: 60,
            date: 20020314,
        };
        let strings = [7u8; 4100];
        let enc = e.encode(&strings);
        assert_eq!(EntryRecord::decode(&enc), e);
        assert!(EntryRecord::crc_matches(&enc, &strings));
        assert!(!EntryRecord::crc_matches(&enc, &strings[1..]));
    }
}
