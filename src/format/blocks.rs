//! §5 DICT and DATA, §5.1 BLOCKS: the dictionary, the stored blocks and the block table.
//!
//! DATA holds the blocks' stored bytes back to back; each block record (40 bytes, with its
//! own CRC) says where a block's stored bytes lie, how it is stored and the CRC of those
//! bytes.

use byteorder::{ByteOrder, LittleEndian as LE};

use super::crc32;
use super::entries::MAX_U48;

/// Largest uncompressed block (§2, `max_block_len`).
pub const MAX_BLOCK_LEN: u32 = 1 << 28;
/// Largest dictionary (§5).
pub const MAX_DICT_LEN: u64 = 16 << 20;
/// The first four bytes of a trained zstd dictionary (§5); raw content never starts so.
pub const ZSTD_DICT_MAGIC: [u8; 4] = [0x37, 0xA4, 0x30, 0xEC];
/// Size of a block record (§5.1).
pub const BLOCK_RECORD_LEN: usize = 40;

// Field offsets in a block record (§5.1).
const OFFSET: usize = 0;
const STORED_LEN: usize = 8;
const RAW_LEN: usize = 12;
const STREAM_OFFSET: usize = 16;
const CODEC: usize = 22;
const FIRST_ENTRY: usize = 24;
const ENTRY_COUNT: usize = 28;
const DATA_CRC: usize = 32;
const RECORD_CRC: usize = 36;

/// How a block's bytes are stored (§5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// Stored as is.
    Raw = 0,
    /// One zstd frame.
    Zstd = 1,
    /// One zstd frame using the archive dictionary.
    ZstdDict = 2,
}

impl Codec {
    /// The codec for a byte, if known.
    pub fn from_u8(b: u8) -> Option<Codec> {
        match b {
            0 => Some(Codec::Raw),
            1 => Some(Codec::Zstd),
            2 => Some(Codec::ZstdDict),
            _ => None,
        }
    }
}

/// One block record (§5.1). `codec` is kept as the raw byte so that a reader can report an
/// unknown value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockRecord {
    /// Absolute file offset of the stored bytes.
    pub offset: u64,
    /// Length of the stored bytes.
    pub stored_len: u32,
    /// Uncompressed length.
    pub raw_len: u32,
    /// Offset of the block's first byte in the body stream (the sum of the `raw_len` of all
    /// blocks before it).
    pub stream_offset: u64,
    /// First entry added while this block was filled (informational).
    pub first_entry: u32,
    /// Number of entries added while this block was filled (informational).
    pub entry_count: u32,
    /// Codec byte.
    pub codec: u8,
    /// CRC32 of the stored bytes.
    pub data_crc: u32,
}

impl BlockRecord {
    /// Encodes the record, record CRC included. `stream_offset` must be below 2^48 (the
    /// writer checks).
    pub fn encode(&self) -> [u8; BLOCK_RECORD_LEN] {
        let mut b = [0u8; BLOCK_RECORD_LEN];
        LE::write_u64(&mut b[OFFSET..], self.offset);
        LE::write_u32(&mut b[STORED_LEN..], self.stored_len);
        LE::write_u32(&mut b[RAW_LEN..], self.raw_len);
        LE::write_u48(&mut b[STREAM_OFFSET..], self.stream_offset & MAX_U48);
        b[CODEC] = self.codec;
        LE::write_u32(&mut b[FIRST_ENTRY..], self.first_entry);
        LE::write_u32(&mut b[ENTRY_COUNT..], self.entry_count);
        LE::write_u32(&mut b[DATA_CRC..], self.data_crc);
        let crc = crc32(&b[..RECORD_CRC]);
        LE::write_u32(&mut b[RECORD_CRC..], crc);
        b
    }

    /// Decodes the record if its record CRC matches.
    pub fn decode(b: &[u8; BLOCK_RECORD_LEN]) -> Option<BlockRecord> {
        if crc32(&b[..RECORD_CRC]) != LE::read_u32(&b[RECORD_CRC..]) {
            return None;
        }
        Some(BlockRecord {
            offset: LE::read_u64(&b[OFFSET..]),
            stored_len: LE::read_u32(&b[STORED_LEN..]),
            raw_len: LE::read_u32(&b[RAW_LEN..]),
            stream_offset: LE::read_u48(&b[STREAM_OFFSET..]),
            codec: b[CODEC],
            first_entry: LE::read_u32(&b[FIRST_ENTRY..]),
            entry_count: LE::read_u32(&b[ENTRY_COUNT..]),
            data_crc: LE::read_u32(&b[DATA_CRC..]),
        })
    }

    /// Sets `data_crc` in an encoded record and recomputes the record CRC (for tools that
    /// rewrite a block's bytes).
    pub fn reseal(b: &mut [u8; BLOCK_RECORD_LEN], data_crc: Option<u32>) {
        if let Some(c) = data_crc {
            LE::write_u32(&mut b[DATA_CRC..], c);
        }
        let crc = crc32(&b[..RECORD_CRC]);
        LE::write_u32(&mut b[RECORD_CRC..], crc);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_round_trips_and_checks_its_crc() {
        let b = BlockRecord {
            offset: 1 << 40,
            stored_len: 7,
            raw_len: 9,
            stream_offset: 1 << 35,
            first_entry: 3,
            entry_count: 2,
            codec: 2,
            data_crc: 0xDEAD_BEEF,
        };
        assert_eq!(BlockRecord::decode(&b.encode()), Some(b));
        let mut bad = b.encode();
        bad[5] ^= 1;
        assert_eq!(BlockRecord::decode(&bad), None);
        BlockRecord::reseal(&mut bad, None);
        assert!(BlockRecord::decode(&bad).is_some());
    }
}
