//! §2 Header, §2.1 section table record, §2.2 versions and flags.
//!
//! The header is 96 fixed bytes, then `section_count` section records of 32 bytes, then a
//! CRC32 of everything before it. [`encode_prelude`] writes all three; [`Header::decode`] and
//! [`SectionRecord::decode`] read them back.

use byteorder::{ByteOrder, LittleEndian as LE};

use super::bytes::array_at;
use super::crc32;

/// The magic number every archive starts with (§2): `\x89QUIRE\r\n\x1a\n`.
pub const MAGIC: [u8; 10] = *b"\x89QUIRE\r\n\x1a\n";
/// The format major version this crate reads and writes.
pub const VERSION_MAJOR: u16 = 2;
/// The format minor version this crate writes.
pub const VERSION_MINOR: u16 = 0;

/// Size of the fixed part of the header, before the section table (§2).
pub const HEADER_FIXED_LEN: usize = 96;
/// Size of one section table record (§2.1).
pub const SECTION_RECORD_LEN: usize = 32;
/// Most sections a header may list.
pub const MAX_SECTIONS: u16 = 64;

/// Required flag: blocks may use the archive dictionary (§2.2).
pub const REQUIRED_DICT: u64 = 1;
/// Required flag: the dictionary is raw content, not a trained zstd dictionary
/// (§2.2, §5).
pub const REQUIRED_RAW_DICT: u64 = 2;
/// Every required flag this reader understands.
pub const KNOWN_REQUIRED_FLAGS: u64 = REQUIRED_DICT | REQUIRED_RAW_DICT;
/// Optional flag: several entries may share body bytes (§2.2).
pub const OPTIONAL_SHARED_BODIES: u64 = 1;

/// Largest number of entries (§2): entry numbers are u32 and `0xFFFFFFFF` marks empty slots.
pub const MAX_ENTRIES: u64 = u32::MAX as u64 - 1;
/// Largest number of blocks (§2).
pub const MAX_BLOCKS: u64 = u32::MAX as u64;
/// Largest `max_probe` a reader accepts (§2, §7): bounds the work of a lookup.
pub const MAX_PROBE: u32 = 1024;
/// Largest META or CTYPES section (§3, §4).
pub const MAX_SMALL_SECTION: u64 = 1 << 20;

// Field offsets in the fixed header (§2).
const MAJOR: usize = 10;
const MINOR: usize = 12;
const SECTION_COUNT: usize = 14;
const REQUIRED_FLAGS: usize = 16;
const OPTIONAL_FLAGS: usize = 24;
const FILE_LEN: usize = 32;
const ENTRY_COUNT: usize = 40;
const BLOCK_COUNT: usize = 48;
const HASH_SEED: usize = 56;
const BUCKET_COUNT: usize = 64;
const MAX_PROBE_AT: usize = 72;
const MAX_BLOCK_LEN_AT: usize = 76;
const BLOCK_TARGET: usize = 80;
const STREAM_LEN: usize = 84;

/// A field of a fixed record: its name in the spec, offset and width in bytes. For tools
/// and tests that set one field to a hostile value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldSpec {
    /// The field's name in the spec's table.
    pub name: &'static str,
    /// Offset from the start of the record.
    pub offset: usize,
    /// Width in bytes (little-endian).
    pub width: usize,
}

const fn field(name: &'static str, offset: usize, width: usize) -> FieldSpec {
    FieldSpec {
        name,
        offset,
        width,
    }
}

/// The numeric fields of the fixed header (§2), in order.
pub const HEADER_FIELDS: [FieldSpec; 14] = [
    field("major", MAJOR, 2),
    field("minor", MINOR, 2),
    field("section_count", SECTION_COUNT, 2),
    field("required_flags", REQUIRED_FLAGS, 8),
    field("optional_flags", OPTIONAL_FLAGS, 8),
    field("file_len", FILE_LEN, 8),
    field("entry_count", ENTRY_COUNT, 8),
    field("block_count", BLOCK_COUNT, 8),
    field("hash_seed", HASH_SEED, 8),
    field("bucket_count", BUCKET_COUNT, 8),
    field("max_probe", MAX_PROBE_AT, 4),
    field("max_block_len", MAX_BLOCK_LEN_AT, 4),
    field("block_target", BLOCK_TARGET, 4),
    field("stream_len", STREAM_LEN, 8),
];

/// The fields of a section record (§2.1).
pub const SECTION_FIELDS: [FieldSpec; 4] = [
    field("id", SECTION_ID, 4),
    field("offset", SECTION_OFFSET, 8),
    field("length", SECTION_LENGTH, 8),
    field("crc", SECTION_CRC, 4),
];

// Field offsets in a section record (§2.1).
const SECTION_ID: usize = 0;
const SECTION_OFFSET: usize = 8;
const SECTION_LENGTH: usize = 16;
const SECTION_CRC: usize = 24;

/// Length of the whole header for a given number of sections: `100 + 32 · n`.
pub fn header_len(section_count: u16) -> u64 {
    HEADER_FIXED_LEN as u64 + SECTION_RECORD_LEN as u64 * u64::from(section_count) + 4
}

/// File offset of section record `i`.
pub fn section_record_offset(i: u16) -> u64 {
    HEADER_FIXED_LEN as u64 + SECTION_RECORD_LEN as u64 * u64::from(i)
}

/// Section ids (§2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u32)]
pub enum SectionId {
    /// Archive metadata.
    Meta = 1,
    /// zstd dictionary (may be empty).
    Dict = 2,
    /// Stored blocks.
    Data = 3,
    /// Content-type table.
    Ctypes = 4,
    /// Block table.
    Blocks = 5,
    /// Entry table.
    Entries = 6,
    /// Per-entry strings.
    Strings = 7,
    /// Hash index.
    KeyHash = 8,
    /// Sorted index.
    Sorted = 9,
}

impl SectionId {
    /// Every section a 2.0 archive must have, in the order the writer emits them.
    pub const ALL: [SectionId; 9] = [
        SectionId::Meta,
        SectionId::Dict,
        SectionId::Data,
        SectionId::Ctypes,
        SectionId::Blocks,
        SectionId::Entries,
        SectionId::Strings,
        SectionId::KeyHash,
        SectionId::Sorted,
    ];

    /// The id for a number, if this version knows it.
    pub fn from_u32(id: u32) -> Option<SectionId> {
        SectionId::ALL.into_iter().find(|s| *s as u32 == id)
    }

    /// The lower-case name used in messages (`section 'keyhash' ...`).
    pub fn name(self) -> &'static str {
        match self {
            SectionId::Meta => "meta",
            SectionId::Ctypes => "ctypes",
            SectionId::Dict => "dict",
            SectionId::Data => "data",
            SectionId::Blocks => "blocks",
            SectionId::Entries => "entries",
            SectionId::Strings => "strings",
            SectionId::KeyHash => "keyhash",
            SectionId::Sorted => "sorted",
        }
    }

    /// Position in [`SectionId::ALL`].
    pub fn index(self) -> usize {
        self as usize - 1
    }
}

/// The fixed part of the header (§2), without the section table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Header {
    /// Format major version.
    pub major: u16,
    /// Format minor version.
    pub minor: u16,
    /// Number of section table records.
    pub section_count: u16,
    /// Features a reader must understand.
    pub required_flags: u64,
    /// Features a reader may ignore.
    pub optional_flags: u64,
    /// Total file length.
    pub file_len: u64,
    /// Number of entries.
    pub entry_count: u64,
    /// Number of blocks.
    pub block_count: u64,
    /// Seed of the key hash.
    pub hash_seed: u64,
    /// Number of hash buckets.
    pub bucket_count: u64,
    /// Largest probe distance of any key.
    pub max_probe: u32,
    /// Largest uncompressed block.
    pub max_block_len: u32,
    /// The writer's target block size.
    pub block_target: u32,
    /// Total uncompressed length of all blocks: the length of the body stream.
    pub stream_len: u64,
}

impl Header {
    /// Encodes the fixed part (magic included).
    pub fn encode(&self) -> [u8; HEADER_FIXED_LEN] {
        let mut b = [0u8; HEADER_FIXED_LEN];
        b[..MAGIC.len()].copy_from_slice(&MAGIC);
        LE::write_u16(&mut b[MAJOR..], self.major);
        LE::write_u16(&mut b[MINOR..], self.minor);
        LE::write_u16(&mut b[SECTION_COUNT..], self.section_count);
        LE::write_u64(&mut b[REQUIRED_FLAGS..], self.required_flags);
        LE::write_u64(&mut b[OPTIONAL_FLAGS..], self.optional_flags);
        LE::write_u64(&mut b[FILE_LEN..], self.file_len);
        LE::write_u64(&mut b[ENTRY_COUNT..], self.entry_count);
        LE::write_u64(&mut b[BLOCK_COUNT..], self.block_count);
        LE::write_u64(&mut b[HASH_SEED..], self.hash_seed);
        LE::write_u64(&mut b[BUCKET_COUNT..], self.bucket_count);
        LE::write_u32(&mut b[MAX_PROBE_AT..], self.max_probe);
        LE::write_u32(&mut b[MAX_BLOCK_LEN_AT..], self.max_block_len);
        LE::write_u32(&mut b[BLOCK_TARGET..], self.block_target);
        LE::write_u64(&mut b[STREAM_LEN..], self.stream_len);
        b
    }

    /// Decodes the fixed part; the caller checks the magic ([`has_magic`]).
    pub fn decode(b: &[u8; HEADER_FIXED_LEN]) -> Header {
        Header {
            major: LE::read_u16(&b[MAJOR..]),
            minor: LE::read_u16(&b[MINOR..]),
            section_count: LE::read_u16(&b[SECTION_COUNT..]),
            required_flags: LE::read_u64(&b[REQUIRED_FLAGS..]),
            optional_flags: LE::read_u64(&b[OPTIONAL_FLAGS..]),
            file_len: LE::read_u64(&b[FILE_LEN..]),
            entry_count: LE::read_u64(&b[ENTRY_COUNT..]),
            block_count: LE::read_u64(&b[BLOCK_COUNT..]),
            hash_seed: LE::read_u64(&b[HASH_SEED..]),
            bucket_count: LE::read_u64(&b[BUCKET_COUNT..]),
            max_probe: LE::read_u32(&b[MAX_PROBE_AT..]),
            max_block_len: LE::read_u32(&b[MAX_BLOCK_LEN_AT..]),
            block_target: LE::read_u32(&b[BLOCK_TARGET..]),
            stream_len: LE::read_u64(&b[STREAM_LEN..]),
        }
    }
}

/// Whether `bytes` starts with [`MAGIC`] (as far as it is long enough to tell: a prefix of
/// the magic also counts, so that a truncated file is told apart from a foreign one).
pub fn has_magic(bytes: &[u8]) -> bool {
    let n = bytes.len().min(MAGIC.len());
    bytes[..n] == MAGIC[..n]
}

/// One section table record (§2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SectionRecord {
    /// Section id (known or not).
    pub id: u32,
    /// Absolute file offset.
    pub offset: u64,
    /// Length in bytes.
    pub length: u64,
    /// CRC32 of the section's bytes.
    pub crc: u32,
}

impl SectionRecord {
    /// Encodes the record.
    pub fn encode(&self) -> [u8; SECTION_RECORD_LEN] {
        let mut b = [0u8; SECTION_RECORD_LEN];
        LE::write_u32(&mut b[SECTION_ID..], self.id);
        LE::write_u64(&mut b[SECTION_OFFSET..], self.offset);
        LE::write_u64(&mut b[SECTION_LENGTH..], self.length);
        LE::write_u32(&mut b[SECTION_CRC..], self.crc);
        b
    }

    /// Decodes the record.
    pub fn decode(b: &[u8; SECTION_RECORD_LEN]) -> SectionRecord {
        SectionRecord {
            id: LE::read_u32(&b[SECTION_ID..]),
            offset: LE::read_u64(&b[SECTION_OFFSET..]),
            length: LE::read_u64(&b[SECTION_LENGTH..]),
            crc: LE::read_u32(&b[SECTION_CRC..]),
        }
    }

    /// The section's byte range, `None` when `offset + length` overflows.
    pub fn range(&self) -> Option<std::ops::Range<u64>> {
        Some(self.offset..self.offset.checked_add(self.length)?)
    }
}

/// The whole header: the fixed part, the section table and the CRC of both.
/// `header.section_count` must equal `sections.len()`.
pub fn encode_prelude(header: &Header, sections: &[SectionRecord]) -> Vec<u8> {
    let mut b = header.encode().to_vec();
    for s in sections {
        b.extend_from_slice(&s.encode());
    }
    let crc = crc32(&b);
    b.extend_from_slice(&crc.to_le_bytes());
    b
}

/// The header CRC stored in `bytes` and the CRC of the bytes it covers, for a header of
/// `section_count` records; `None` when `bytes` is too short to hold them.
pub fn header_crcs(bytes: &[u8], section_count: u16) -> Option<(u32, u32)> {
    let covered = super::bytes::slice_at(bytes, 0, header_len(section_count) - 4)?;
    let stored = array_at::<4>(bytes, header_len(section_count) - 4)?;
    Some((LE::read_u32(stored), crc32(covered)))
}

/// The fixed header and the section records as they are in `bytes`, unchecked (no CRC, no
/// bound); `None` when `bytes` is too short to hold them. For tools that take an archive
/// apart: the reader checks everything (`src/reader/layout.rs`).
pub fn read_prelude(bytes: &[u8]) -> Option<(Header, Vec<SectionRecord>)> {
    let header = Header::decode(array_at(bytes, 0)?);
    let sections = (0..header.section_count.min(MAX_SECTIONS))
        .map(|i| array_at(bytes, section_record_offset(i)).map(SectionRecord::decode))
        .collect::<Option<Vec<_>>>()?;
    Some((header, sections))
}

/// Recomputes the header CRC in place, for the section count `bytes` holds; `false` when
/// `bytes` is too short to hold that header.
pub fn seal(bytes: &mut [u8]) -> bool {
    let Some(fixed) = array_at::<HEADER_FIXED_LEN>(bytes, 0) else {
        return false;
    };
    let end = header_len(Header::decode(fixed).section_count) as usize - 4;
    let crc = match bytes.get(..end) {
        Some(covered) => crc32(covered),
        None => return false,
    };
    match bytes.get_mut(end..end + 4) {
        Some(dst) => {
            dst.copy_from_slice(&crc.to_le_bytes());
            true
        }
        None => false,
    }
}

/// Rewrites the header and the section table at the start of `bytes` (which must already
/// have room for them) with a fresh CRC.
pub fn write_prelude(bytes: &mut [u8], header: &Header, sections: &[SectionRecord]) -> bool {
    let p = encode_prelude(header, sections);
    match bytes.get_mut(..p.len()) {
        Some(dst) => {
            dst.copy_from_slice(&p);
            true
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips() {
        let h = Header {
            major: 2,
            section_count: 9,
            file_len: 5 << 33,
            stream_len: 77,
            ..Header::default()
        };
        assert_eq!(Header::decode(&h.encode()), h);
        let s = SectionRecord {
            id: 7,
            offset: 1 << 40,
            length: 3,
            crc: 0xDEAD_BEEF,
        };
        assert_eq!(SectionRecord::decode(&s.encode()), s);
        let p = encode_prelude(
            &Header {
                section_count: 1,
                ..h
            },
            &[s],
        );
        assert_eq!(p.len() as u64, header_len(1));
        let (stored, actual) = header_crcs(&p, 1).unwrap();
        assert_eq!(stored, actual);
        assert_eq!(read_prelude(&p).unwrap().1, vec![s]);
    }
}
