//! The on-disk layout: constants and byte-level records, mirroring `spec/FORMAT.md`.
//!
//! Every record here has a fixed size, an `encode` that produces its exact bytes and a
//! `decode` that reads them back from a slice of exactly that size. Decoding never checks a
//! CRC or a bound: that is the reader's job (`src/reader.rs`), which knows what each field
//! must lie within. Section numbers (§) refer to the spec.

use byteorder::{ByteOrder, LittleEndian as LE};

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
/// The first four bytes of a trained zstd dictionary (§5); raw content never starts so.
pub const ZSTD_DICT_MAGIC: [u8; 4] = [0x37, 0xA4, 0x30, 0xEC];
/// Optional flag: several entries may share body bytes (§2.2).
pub const OPTIONAL_SHARED_BODIES: u64 = 1;

/// Largest number of entries (§2): entry numbers are u32 and `0xFFFFFFFF` marks empty slots.
pub const MAX_ENTRIES: u64 = u32::MAX as u64 - 1;
/// Largest number of blocks (§2).
pub const MAX_BLOCKS: u64 = u32::MAX as u64;
/// Largest `max_probe` a reader accepts (§7): bounds the work of a lookup.
pub const MAX_PROBE: u32 = 1024;
/// Largest uncompressed block (§2, `max_block_len`).
pub const MAX_BLOCK_LEN: u32 = 1 << 28;
/// Largest META or CTYPES section (§3, §4).
pub const MAX_SMALL_SECTION: u64 = 1 << 20;
/// Largest dictionary (§5).
pub const MAX_DICT_LEN: u64 = 16 << 20;
/// Largest key in bytes (§6).
pub const MAX_KEY_LEN: usize = 4096;
/// Largest per-entry strings blob, and largest lead (§6).
pub const MAX_STRINGS_LEN: u32 = 16 << 20;
/// Largest value of a 48-bit field: a body's length, an offset into STRINGS, a block's
/// offset in the body stream (§5.1, §6).
pub const MAX_U48: u64 = (1 << 48) - 1;

/// Size of a block record (§5.1).
pub const BLOCK_RECORD_LEN: usize = 40;
/// Size of an entry record (§6).
pub const ENTRY_RECORD_LEN: usize = 40;
/// Size of a hash bucket (§7).
pub const BUCKET_LEN: usize = 64;
/// Slots in a hash bucket (§7).
pub const SLOTS_PER_BUCKET: usize = 7;
/// Size of a sorted-index group (§8).
pub const SORTED_GROUP_LEN: usize = 64;
/// Entry numbers in a sorted-index group (§8).
pub const ENTRIES_PER_GROUP: usize = 15;
/// Entry number that marks an empty hash slot or an unused sorted place.
pub const NO_ENTRY: u32 = u32::MAX;

/// String-field tag: title (§6.1).
pub const FIELD_TITLE: u8 = 1;
/// String-field tag: one metadata pair (§6.1).
pub const FIELD_META: u8 = 2;

/// Length of the whole header for a given number of sections.
pub fn header_len(section_count: u16) -> u64 {
    HEADER_FIXED_LEN as u64 + SECTION_RECORD_LEN as u64 * u64::from(section_count) + 4
}

/// CRC32 (zlib/PNG flavour) of a byte slice.
pub fn crc32(bytes: &[u8]) -> u32 {
    crc32fast::hash(bytes)
}

/// The key hash of §7: XXH3-64 with the archive's seed.
pub fn key_hash(key: &[u8], seed: u64) -> u64 {
    xxhash_rust::xxh3::xxh3_64_with_seed(key, seed)
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
    /// Every section a 1.0 archive must have, in the order the writer emits them.
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

    /// The lower-case name used in messages (`section 'keys' ...`).
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
        b[0..10].copy_from_slice(&MAGIC);
        LE::write_u16(&mut b[10..], self.major);
        LE::write_u16(&mut b[12..], self.minor);
        LE::write_u16(&mut b[14..], self.section_count);
        LE::write_u64(&mut b[16..], self.required_flags);
        LE::write_u64(&mut b[24..], self.optional_flags);
        LE::write_u64(&mut b[32..], self.file_len);
        LE::write_u64(&mut b[40..], self.entry_count);
        LE::write_u64(&mut b[48..], self.block_count);
        LE::write_u64(&mut b[56..], self.hash_seed);
        LE::write_u64(&mut b[64..], self.bucket_count);
        LE::write_u32(&mut b[72..], self.max_probe);
        LE::write_u32(&mut b[76..], self.max_block_len);
        LE::write_u32(&mut b[80..], self.block_target);
        LE::write_u64(&mut b[84..], self.stream_len);
        b
    }

    /// Decodes the fixed part; the caller has checked the magic.
    pub fn decode(b: &[u8; HEADER_FIXED_LEN]) -> Header {
        Header {
            major: LE::read_u16(&b[10..]),
            minor: LE::read_u16(&b[12..]),
            section_count: LE::read_u16(&b[14..]),
            required_flags: LE::read_u64(&b[16..]),
            optional_flags: LE::read_u64(&b[24..]),
            file_len: LE::read_u64(&b[32..]),
            entry_count: LE::read_u64(&b[40..]),
            block_count: LE::read_u64(&b[48..]),
            hash_seed: LE::read_u64(&b[56..]),
            bucket_count: LE::read_u64(&b[64..]),
            max_probe: LE::read_u32(&b[72..]),
            max_block_len: LE::read_u32(&b[76..]),
            block_target: LE::read_u32(&b[80..]),
            stream_len: LE::read_u64(&b[84..]),
        }
    }
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
        LE::write_u32(&mut b[0..], self.id);
        LE::write_u64(&mut b[8..], self.offset);
        LE::write_u64(&mut b[16..], self.length);
        LE::write_u32(&mut b[24..], self.crc);
        b
    }

    /// Decodes the record.
    pub fn decode(b: &[u8; SECTION_RECORD_LEN]) -> SectionRecord {
        SectionRecord {
            id: LE::read_u32(&b[0..]),
            offset: LE::read_u64(&b[8..]),
            length: LE::read_u64(&b[16..]),
            crc: LE::read_u32(&b[24..]),
        }
    }
}

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
        LE::write_u64(&mut b[0..], self.offset);
        LE::write_u32(&mut b[8..], self.stored_len);
        LE::write_u32(&mut b[12..], self.raw_len);
        LE::write_u48(&mut b[16..], self.stream_offset & MAX_U48);
        b[22] = self.codec;
        LE::write_u32(&mut b[24..], self.first_entry);
        LE::write_u32(&mut b[28..], self.entry_count);
        LE::write_u32(&mut b[32..], self.data_crc);
        let crc = crc32(&b[..36]);
        LE::write_u32(&mut b[36..], crc);
        b
    }

    /// Decodes the record if its record CRC matches.
    pub fn decode(b: &[u8; BLOCK_RECORD_LEN]) -> Option<BlockRecord> {
        if crc32(&b[..36]) != LE::read_u32(&b[36..]) {
            return None;
        }
        Some(BlockRecord {
            offset: LE::read_u64(&b[0..]),
            stored_len: LE::read_u32(&b[8..]),
            raw_len: LE::read_u32(&b[12..]),
            stream_offset: LE::read_u48(&b[16..]),
            codec: b[22],
            first_entry: LE::read_u32(&b[24..]),
            entry_count: LE::read_u32(&b[28..]),
            data_crc: LE::read_u32(&b[32..]),
        })
    }
}

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
        LE::write_u48(&mut b[0..], self.body_len & MAX_U48);
        LE::write_u16(&mut b[6..], self.content_type);
        LE::write_u48(&mut b[8..], self.strings_offset & MAX_U48);
        LE::write_u16(&mut b[14..], self.key_len);
        LE::write_u32(&mut b[16..], self.block);
        LE::write_u32(&mut b[20..], self.offset);
        LE::write_u32(&mut b[24..], self.strings_len);
        LE::write_u32(&mut b[28..], self.lead_len);
        LE::write_u32(&mut b[32..], self.date);
        let crc = Self::crc(&b, strings);
        LE::write_u32(&mut b[36..], crc);
        b
    }

    /// The CRC an entry record with these bytes and strings must carry.
    pub fn crc(record: &[u8; ENTRY_RECORD_LEN], strings: &[u8]) -> u32 {
        let mut h = crc32fast::Hasher::new();
        h.update(&record[..36]);
        h.update(strings);
        h.finalize()
    }

    /// The CRC stored in a record.
    pub fn stored_crc(record: &[u8; ENTRY_RECORD_LEN]) -> u32 {
        LE::read_u32(&record[36..])
    }

    /// Decodes the fields; the CRC is checked separately, once the strings are located.
    pub fn decode(b: &[u8; ENTRY_RECORD_LEN]) -> EntryRecord {
        EntryRecord {
            body_len: LE::read_u48(&b[0..]),
            content_type: LE::read_u16(&b[6..]),
            strings_offset: LE::read_u48(&b[8..]),
            key_len: LE::read_u16(&b[14..]),
            block: LE::read_u32(&b[16..]),
            offset: LE::read_u32(&b[20..]),
            strings_len: LE::read_u32(&b[24..]),
            lead_len: LE::read_u32(&b[28..]),
            date: LE::read_u32(&b[32..]),
        }
    }
}

/// A hash slot (§7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    /// Entry number, or [`NO_ENTRY`].
    pub entry: u32,
    /// High 32 bits of the key hash.
    pub tag: u32,
}

impl Slot {
    /// An empty slot.
    pub const EMPTY: Slot = Slot {
        entry: NO_ENTRY,
        tag: 0,
    };
}

/// Encodes a hash bucket, CRC included.
pub fn encode_bucket(slots: &[Slot; SLOTS_PER_BUCKET]) -> [u8; BUCKET_LEN] {
    let mut b = [0u8; BUCKET_LEN];
    for (i, s) in slots.iter().enumerate() {
        LE::write_u32(&mut b[i * 8..], s.entry);
        LE::write_u32(&mut b[i * 8 + 4..], s.tag);
    }
    let crc = crc32(&b[..60]);
    LE::write_u32(&mut b[60..], crc);
    b
}

/// Decodes a hash bucket if its CRC matches.
pub fn decode_bucket(b: &[u8; BUCKET_LEN]) -> Option<[Slot; SLOTS_PER_BUCKET]> {
    if crc32(&b[..60]) != LE::read_u32(&b[60..]) {
        return None;
    }
    let mut slots = [Slot::EMPTY; SLOTS_PER_BUCKET];
    for (i, s) in slots.iter_mut().enumerate() {
        s.entry = LE::read_u32(&b[i * 8..]);
        s.tag = LE::read_u32(&b[i * 8 + 4..]);
    }
    Some(slots)
}

/// Encodes a sorted-index group, CRC included.
pub fn encode_group(entries: &[u32; ENTRIES_PER_GROUP]) -> [u8; SORTED_GROUP_LEN] {
    let mut b = [0u8; SORTED_GROUP_LEN];
    for (i, e) in entries.iter().enumerate() {
        LE::write_u32(&mut b[i * 4..], *e);
    }
    let crc = crc32(&b[..60]);
    LE::write_u32(&mut b[60..], crc);
    b
}

/// Decodes a sorted-index group if its CRC matches.
pub fn decode_group(b: &[u8; SORTED_GROUP_LEN]) -> Option<[u32; ENTRIES_PER_GROUP]> {
    if crc32(&b[..60]) != LE::read_u32(&b[60..]) {
        return None;
    }
    let mut out = [NO_ENTRY; ENTRIES_PER_GROUP];
    for (i, e) in out.iter_mut().enumerate() {
        *e = LE::read_u32(&b[i * 4..]);
    }
    Some(out)
}

/// A calendar date as stored in an entry record (§6): `YYYYMMDD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    /// Year, 0..=9999.
    pub year: u16,
    /// Month, 1..=12.
    pub month: u8,
    /// Day, 1..=31.
    pub day: u8,
}

impl Date {
    /// Builds a date if the fields are in range (month 1..=12, day 1..=31, year ≤ 9999).
    pub fn new(year: u16, month: u8, day: u8) -> Option<Date> {
        if year <= 9999 && (1..=12).contains(&month) && (1..=31).contains(&day) {
            Some(Date { year, month, day })
        } else {
            None
        }
    }

    /// Parses `YYYY-MM-DD`.
    pub fn parse(s: &str) -> Option<Date> {
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let num = |r: std::ops::Range<usize>| -> Option<u32> {
            let part = s.get(r)?;
            if !part.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            part.parse().ok()
        };
        let year = u16::try_from(num(0..4)?).ok()?;
        let month = u8::try_from(num(5..7)?).ok()?;
        let day = u8::try_from(num(8..10)?).ok()?;
        Date::new(year, month, day)
    }

    /// The stored form `YYYYMMDD`.
    pub fn to_u32(self) -> u32 {
        u32::from(self.year) * 10_000 + u32::from(self.month) * 100 + u32::from(self.day)
    }

    /// Decodes the stored form; `Ok(None)` for 0, `Err(())` for an impossible date.
    #[allow(clippy::result_unit_err)]
    pub fn from_u32(v: u32) -> Result<Option<Date>, ()> {
        if v == 0 {
            return Ok(None);
        }
        let year = u16::try_from(v / 10_000).map_err(|_| ())?;
        let month = ((v / 100) % 100) as u8;
        let day = (v % 100) as u8;
        Date::new(year, month, day).map(Some).ok_or(())
    }
}

impl std::fmt::Display for Date {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip() {
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
        assert_eq!(
            EntryRecord::stored_crc(&enc),
            EntryRecord::crc(&enc, &strings)
        );
        assert_ne!(
            EntryRecord::stored_crc(&enc),
            EntryRecord::crc(&enc, &strings[1..])
        );

        let h = Header {
            major: 1,
            section_count: 9,
            file_len: 5 << 33,
            ..Header::default()
        };
        assert_eq!(Header::decode(&h.encode()), h);
    }

    #[test]
    fn dates() {
        let d = Date::parse("2002-03-14").unwrap();
        assert_eq!(d.to_u32(), 20020314);
        assert_eq!(Date::from_u32(20020314), Ok(Some(d)));
        assert_eq!(d.to_string(), "2002-03-14");
        assert_eq!(Date::parse("2002-13-14"), None);
        assert_eq!(Date::parse("2002-3-14"), None);
        assert_eq!(Date::from_u32(20021301), Err(()));
        assert_eq!(Date::from_u32(0), Ok(None));
    }

    #[test]
    fn crc_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }
}
