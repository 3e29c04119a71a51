//! §2 The prelude: §2.1 header, §2.2 section table, §2.3 what every version keeps, §2.4 flags.
//!
//! The prelude is the 96-byte header, the section table, META, CTYPES, the root node of the
//! index and a CRC32 of all of it, within the first 16 KiB. [`encode_prelude`] writes it;
//! [`Prelude::decode`] checks and splits it (§2.3's order: magic, length, CRC, then version).

use byteorder::{ByteOrder, LittleEndian as LE};

use super::bytes::{array_at, slice_at};
use super::crc32;
use crate::error::{DamageKind, Location, ReadError, ReadResult, Rule};

/// The magic number every archive starts with (§2.1): `\x89QUIRE\r\n\x1a\n`.
pub const MAGIC: [u8; 10] = *b"\x89QUIRE\r\n\x1a\n";
/// The format major version this crate reads and writes.
pub const VERSION_MAJOR: u16 = 3;
/// The format minor version this crate writes.
pub const VERSION_MINOR: u16 = 1;

/// Size of the fixed header (§2.1).
pub const HEADER_LEN: usize = 96;
/// Size of one section table record (§2.2).
pub const SECTION_RECORD_LEN: usize = 32;
/// Most sections a table may list (§2.1).
pub const MAX_SECTIONS: u16 = 16;
/// Fewest section records: DICT, INDEX and DATA (§2.2).
pub const MIN_SECTIONS: u16 = 3;
/// The smallest prelude of major 3 (§2.1): the header, three section records, a root of one
/// byte, the CRC.
pub const SMALLEST_PRELUDE: usize = HEADER_LEN + 3 * SECTION_RECORD_LEN + 1 + 4;
/// Largest prelude, in every major version (§2.3): a reader's first read.
pub const MAX_PRELUDE_LEN: usize = 16384;
/// Smallest prelude any major version may have (§2.3): magic, versions, length, CRC.
pub const MIN_PRELUDE_LEN: usize = 22;
/// Largest META (§2.1).
pub const MAX_META_LEN: u32 = 8192;
/// Largest CTYPES (§2.1).
pub const MAX_CTYPES_LEN: u32 = 4096;
/// Largest `index_depth` (§2.1).
pub const MAX_INDEX_DEPTH: u8 = 4;

/// Required flag DICT: blocks may use the archive dictionary (§2.4).
pub const REQUIRED_DICT: u64 = 1;
/// Required flag RAW_DICT: the dictionary is raw content, not a trained zstd dictionary
/// (§2.4, §5).
pub const REQUIRED_RAW_DICT: u64 = 2;
/// Required flag PACKED_NODES: nodes in INDEX may be stored packed, as one zstd frame
/// (§2.4, §6.5).
pub const REQUIRED_PACKED_NODES: u64 = 4;
/// Every required flag this reader understands.
pub const KNOWN_REQUIRED_FLAGS: u64 = REQUIRED_DICT | REQUIRED_RAW_DICT | REQUIRED_PACKED_NODES;
/// Optional flag SHARED_BODIES: some entries share an earlier entry's body (§2.4, §7.2).
pub const OPTIONAL_SHARED_BODIES: u64 = 1;

/// Largest number of entries (§2.1).
pub const MAX_ENTRIES: u64 = u32::MAX as u64;
/// Largest number of blocks (§2.1).
pub const MAX_BLOCKS: u64 = u32::MAX as u64;

// Field offsets in the header (§2.1).
const MAJOR: usize = 10;
const MINOR: usize = 12;
const PRELUDE_LEN: usize = 14;
const SECTION_COUNT: usize = 18;
const INDEX_DEPTH: usize = 20;
const RESERVED_A: usize = 21;
const REQUIRED_FLAGS: usize = 24;
const OPTIONAL_FLAGS: usize = 32;
const FILE_LEN: usize = 40;
const ENTRY_COUNT: usize = 48;
const BLOCK_COUNT: usize = 56;
const STREAM_LEN: usize = 64;
const MAX_BLOCK_LEN_AT: usize = 72;
const BLOCK_TARGET: usize = 76;
const META_LEN: usize = 80;
const CTYPES_LEN: usize = 84;
const ROOT_LEN: usize = 88;
const RESERVED_B: usize = 92;

// Field offsets in a section record (§2.2).
const SECTION_ID: usize = 0;
const SECTION_OFFSET: usize = 8;
const SECTION_LENGTH: usize = 16;
const SECTION_CRC: usize = 24;

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

/// The numeric fields of the header (§2.1), in order.
pub const HEADER_FIELDS: [FieldSpec; 16] = [
    field("major", MAJOR, 2),
    field("minor", MINOR, 2),
    field("prelude_len", PRELUDE_LEN, 4),
    field("section_count", SECTION_COUNT, 2),
    field("index_depth", INDEX_DEPTH, 1),
    field("required_flags", REQUIRED_FLAGS, 8),
    field("optional_flags", OPTIONAL_FLAGS, 8),
    field("file_len", FILE_LEN, 8),
    field("entry_count", ENTRY_COUNT, 8),
    field("block_count", BLOCK_COUNT, 8),
    field("stream_len", STREAM_LEN, 8),
    field("max_block_len", MAX_BLOCK_LEN_AT, 4),
    field("block_target", BLOCK_TARGET, 4),
    field("meta_len", META_LEN, 4),
    field("ctypes_len", CTYPES_LEN, 4),
    field("root_len", ROOT_LEN, 4),
];

/// The fields of a section record (§2.2).
pub const SECTION_FIELDS: [FieldSpec; 4] = [
    field("id", SECTION_ID, 4),
    field("offset", SECTION_OFFSET, 8),
    field("length", SECTION_LENGTH, 8),
    field("crc", SECTION_CRC, 4),
];

/// Known section ids (§2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SectionId {
    /// The dictionary (§5).
    Dict = 1,
    /// Index nodes other than the root (§6).
    Index = 2,
    /// Stored blocks (§5).
    Data = 3,
}

impl SectionId {
    /// Every known id, in the order the quire writer lays them out.
    pub const ALL: [SectionId; 3] = [SectionId::Dict, SectionId::Index, SectionId::Data];

    /// The id for a number, if known.
    pub fn from_u32(id: u32) -> Option<SectionId> {
        SectionId::ALL.into_iter().find(|s| *s as u32 == id)
    }

    /// The spec's name of the section.
    pub fn name(self) -> &'static str {
        match self {
            SectionId::Dict => "DICT",
            SectionId::Index => "INDEX",
            SectionId::Data => "DATA",
        }
    }
}

/// The fixed header (§2.1), decoded. Lengths of the prelude's parts are filled in by
/// [`encode_prelude`] when writing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Header {
    /// Format major version.
    pub major: u16,
    /// Format minor version.
    pub minor: u16,
    /// Length of the prelude, CRC included.
    pub prelude_len: u32,
    /// Number of section records.
    pub section_count: u16,
    /// Branch levels above the pages (0: the root is a page).
    pub index_depth: u8,
    /// Required feature flags.
    pub required_flags: u64,
    /// Optional feature flags.
    pub optional_flags: u64,
    /// Length of the whole file.
    pub file_len: u64,
    /// Number of entries.
    pub entry_count: u64,
    /// Number of blocks.
    pub block_count: u64,
    /// Length of the stream (sum of the blocks' `raw_len`).
    pub stream_len: u64,
    /// Largest `raw_len` of any block.
    pub max_block_len: u32,
    /// The writer's target block size (informational).
    pub block_target: u32,
    /// Length of META.
    pub meta_len: u32,
    /// Length of CTYPES.
    pub ctypes_len: u32,
    /// Length of the root node.
    pub root_len: u32,
}

/// The kind of dictionary an archive's blocks are compressed with, as its required flags
/// say (§2.4, §5): DICT alone is a trained zstd dictionary, DICT with RAW_DICT raw content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DictionaryKind {
    /// A trained zstd dictionary (DICT without RAW_DICT).
    Trained,
    /// Raw content used as a dictionary (DICT and RAW_DICT).
    Raw,
}

impl DictionaryKind {
    /// `"trained"` or `"raw"`, as `quire info` shows it.
    pub fn name(self) -> &'static str {
        match self {
            DictionaryKind::Trained => "trained",
            DictionaryKind::Raw => "raw",
        }
    }
}

/// The names of the required flags (§2.4), bit by bit from the lowest.
const REQUIRED_FLAG_NAMES: [(u64, &str); 3] = [
    (REQUIRED_DICT, "DICT"),
    (REQUIRED_RAW_DICT, "RAW_DICT"),
    (REQUIRED_PACKED_NODES, "PACKED_NODES"),
];
/// The names of the optional flags (§2.4), bit by bit from the lowest.
const OPTIONAL_FLAG_NAMES: [(u64, &str); 1] = [(OPTIONAL_SHARED_BODIES, "SHARED_BODIES")];

/// The spec's names of the bits set in `flags`, lowest first; a bit without a name is
/// `0x…` (its value in hexadecimal).
fn flag_names(flags: u64, names: &[(u64, &'static str)]) -> Vec<std::borrow::Cow<'static, str>> {
    (0..64)
        .map(|bit| 1u64 << bit)
        .filter(|b| flags & b != 0)
        .map(|b| match names.iter().find(|(v, _)| *v == b) {
            Some((_, n)) => std::borrow::Cow::Borrowed(*n),
            None => std::borrow::Cow::Owned(format!("{b:#x}")),
        })
        .collect()
}

impl Header {
    /// The dictionary's kind from the required flags: `None` when DICT is not set (the
    /// blocks use no dictionary).
    ///
    /// ```
    /// use quire::format::{header::DictionaryKind, Header, REQUIRED_DICT, REQUIRED_RAW_DICT};
    /// let h = Header { required_flags: REQUIRED_DICT | REQUIRED_RAW_DICT, ..Header::default() };
    /// assert_eq!(h.dictionary_kind(), Some(DictionaryKind::Raw));
    /// assert_eq!(Header::default().dictionary_kind(), None);
    /// ```
    pub fn dictionary_kind(&self) -> Option<DictionaryKind> {
        if self.required_flags & REQUIRED_DICT == 0 {
            None
        } else if self.required_flags & REQUIRED_RAW_DICT != 0 {
            Some(DictionaryKind::Raw)
        } else {
            Some(DictionaryKind::Trained)
        }
    }

    /// The spec's names of the required flags that are set (`DICT`, `RAW_DICT`), lowest
    /// bit first; a bit this reader does not know is shown as `0x…`.
    ///
    /// ```
    /// use quire::format::{Header, REQUIRED_DICT, REQUIRED_RAW_DICT};
    /// let h = Header { required_flags: REQUIRED_DICT | REQUIRED_RAW_DICT | 0x80, ..Header::default() };
    /// assert_eq!(h.required_flag_names(), ["DICT", "RAW_DICT", "0x80"]);
    /// ```
    pub fn required_flag_names(&self) -> Vec<std::borrow::Cow<'static, str>> {
        flag_names(self.required_flags, &REQUIRED_FLAG_NAMES)
    }

    /// The spec's names of the optional flags that are set (`SHARED_BODIES`), lowest bit
    /// first; a bit this reader does not know is shown as `0x…`.
    pub fn optional_flag_names(&self) -> Vec<std::borrow::Cow<'static, str>> {
        flag_names(self.optional_flags, &OPTIONAL_FLAG_NAMES)
    }
}

impl Header {
    fn encode(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        b[..MAGIC.len()].copy_from_slice(&MAGIC);
        LE::write_u16(&mut b[MAJOR..], self.major);
        LE::write_u16(&mut b[MINOR..], self.minor);
        LE::write_u32(&mut b[PRELUDE_LEN..], self.prelude_len);
        LE::write_u16(&mut b[SECTION_COUNT..], self.section_count);
        b[INDEX_DEPTH] = self.index_depth;
        LE::write_u64(&mut b[REQUIRED_FLAGS..], self.required_flags);
        LE::write_u64(&mut b[OPTIONAL_FLAGS..], self.optional_flags);
        LE::write_u64(&mut b[FILE_LEN..], self.file_len);
        LE::write_u64(&mut b[ENTRY_COUNT..], self.entry_count);
        LE::write_u64(&mut b[BLOCK_COUNT..], self.block_count);
        LE::write_u64(&mut b[STREAM_LEN..], self.stream_len);
        LE::write_u32(&mut b[MAX_BLOCK_LEN_AT..], self.max_block_len);
        LE::write_u32(&mut b[BLOCK_TARGET..], self.block_target);
        LE::write_u32(&mut b[META_LEN..], self.meta_len);
        LE::write_u32(&mut b[CTYPES_LEN..], self.ctypes_len);
        LE::write_u32(&mut b[ROOT_LEN..], self.root_len);
        b
    }

    fn decode(b: &[u8; HEADER_LEN]) -> Header {
        Header {
            major: LE::read_u16(&b[MAJOR..]),
            minor: LE::read_u16(&b[MINOR..]),
            prelude_len: LE::read_u32(&b[PRELUDE_LEN..]),
            section_count: LE::read_u16(&b[SECTION_COUNT..]),
            index_depth: b[INDEX_DEPTH],
            required_flags: LE::read_u64(&b[REQUIRED_FLAGS..]),
            optional_flags: LE::read_u64(&b[OPTIONAL_FLAGS..]),
            file_len: LE::read_u64(&b[FILE_LEN..]),
            entry_count: LE::read_u64(&b[ENTRY_COUNT..]),
            block_count: LE::read_u64(&b[BLOCK_COUNT..]),
            stream_len: LE::read_u64(&b[STREAM_LEN..]),
            max_block_len: LE::read_u32(&b[MAX_BLOCK_LEN_AT..]),
            block_target: LE::read_u32(&b[BLOCK_TARGET..]),
            meta_len: LE::read_u32(&b[META_LEN..]),
            ctypes_len: LE::read_u32(&b[CTYPES_LEN..]),
            root_len: LE::read_u32(&b[ROOT_LEN..]),
        }
    }
}

/// One section table record (§2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SectionRecord {
    /// Section id (known or not).
    pub id: u32,
    /// Absolute offset.
    pub offset: u64,
    /// Length in bytes.
    pub length: u64,
    /// CRC32 of the section's bytes.
    pub crc: u32,
}

impl SectionRecord {
    fn encode(&self) -> [u8; SECTION_RECORD_LEN] {
        let mut b = [0u8; SECTION_RECORD_LEN];
        LE::write_u32(&mut b[SECTION_ID..], self.id);
        LE::write_u64(&mut b[SECTION_OFFSET..], self.offset);
        LE::write_u64(&mut b[SECTION_LENGTH..], self.length);
        LE::write_u32(&mut b[SECTION_CRC..], self.crc);
        b
    }

    fn decode(b: &[u8; SECTION_RECORD_LEN]) -> SectionRecord {
        SectionRecord {
            id: LE::read_u32(&b[SECTION_ID..]),
            offset: LE::read_u64(&b[SECTION_OFFSET..]),
            length: LE::read_u64(&b[SECTION_LENGTH..]),
            crc: LE::read_u32(&b[SECTION_CRC..]),
        }
    }

    /// The section's byte range, or `None` when `offset + length` overflows.
    pub fn range(&self) -> Option<std::ops::Range<u64>> {
        Some(self.offset..self.offset.checked_add(self.length)?)
    }
}

/// Whether `bytes` start with the magic.
pub fn has_magic(bytes: &[u8]) -> bool {
    bytes.starts_with(&MAGIC)
}

/// The prelude of §2 as parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prelude<'b> {
    /// The header.
    pub header: Header,
    /// The section table, in file order.
    pub sections: Vec<SectionRecord>,
    /// META's bytes (§3).
    pub meta: &'b [u8],
    /// CTYPES' bytes (§4).
    pub ctypes: &'b [u8],
    /// The root node's bytes (§6).
    pub root: &'b [u8],
}

/// The length of a prelude with these parts.
pub fn prelude_len(sections: usize, meta: usize, ctypes: usize, root: usize) -> usize {
    HEADER_LEN + SECTION_RECORD_LEN * sections + meta + ctypes + root + 4
}

/// Encodes a prelude: `header`'s `prelude_len`, `section_count`, `meta_len`, `ctypes_len` and
/// `root_len` are set from the parts given; the CRC is computed last.
pub fn encode_prelude(
    header: &Header,
    sections: &[SectionRecord],
    meta: &[u8],
    ctypes: &[u8],
    root: &[u8],
) -> Vec<u8> {
    let mut h = header.clone();
    h.section_count = sections.len() as u16;
    h.meta_len = meta.len() as u32;
    h.ctypes_len = ctypes.len() as u32;
    h.root_len = root.len() as u32;
    h.prelude_len = prelude_len(sections.len(), meta.len(), ctypes.len(), root.len()) as u32;
    let mut b = Vec::with_capacity(h.prelude_len as usize);
    b.extend_from_slice(&h.encode());
    for s in sections {
        b.extend_from_slice(&s.encode());
    }
    b.extend_from_slice(meta);
    b.extend_from_slice(ctypes);
    b.extend_from_slice(root);
    let crc = crc32(&b);
    b.extend_from_slice(&crc.to_le_bytes());
    b
}

/// Recomputes the CRC of the prelude at the start of `bytes` (for tools and tests that edit a
/// field): false when `bytes` holds no whole prelude.
pub fn reseal(bytes: &mut [u8]) -> bool {
    let Some(len) = array_at::<4>(bytes, PRELUDE_LEN as u64).map(|b| LE::read_u32(b) as usize)
    else {
        return false;
    };
    if !(MIN_PRELUDE_LEN..=bytes.len()).contains(&len) {
        return false;
    }
    let crc = crc32(&bytes[..len - 4]);
    bytes[len - 4..len].copy_from_slice(&crc.to_le_bytes());
    true
}

fn damaged(kind: DamageKind) -> ReadError {
    ReadError::damaged(Location::Prelude, kind)
}

impl<'b> Prelude<'b> {
    /// Checks and splits the prelude at the start of `bytes` (the first `min(16 KiB, file
    /// length)` bytes of a file of `file_len` bytes), in §2.3's order: the magic, the
    /// prelude's length, its CRC, then the version and required flags, then that the parts'
    /// lengths add up and the reserved bytes are zero.
    pub fn decode(bytes: &'b [u8], file_len: u64) -> ReadResult<Prelude<'b>> {
        if !has_magic(bytes) {
            return Err(ReadError::BadMagic);
        }
        let len = array_at::<4>(bytes, PRELUDE_LEN as u64)
            .map(|b| LE::read_u32(b) as usize)
            .ok_or(ReadError::TruncatedPrelude {
                prelude_len: None,
                file_len,
            })?;
        if !(MIN_PRELUDE_LEN..=MAX_PRELUDE_LEN).contains(&len) || len > bytes.len() {
            return Err(ReadError::TruncatedPrelude {
                prelude_len: Some(len as u64),
                file_len,
            });
        }
        let body = &bytes[..len - 4];
        let stored = LE::read_u32(&bytes[len - 4..len]);
        if crc32(body) != stored {
            return Err(ReadError::checksum(Location::Prelude));
        }
        let major = LE::read_u16(&bytes[MAJOR..]);
        let minor = LE::read_u16(&bytes[MINOR..]);
        if major != VERSION_MAJOR {
            return Err(ReadError::UnsupportedVersion { major, minor });
        }
        // The smallest prelude of major 3: the header, three section records, a root of one
        // byte and the CRC (96 + 3 · 32 + 1 + 4).
        let fixed = array_at::<HEADER_LEN>(body, 0)
            .filter(|_| len >= SMALLEST_PRELUDE)
            .ok_or_else(|| {
                damaged(DamageKind::OverLimit {
                    value: len as u64,
                    limit: SMALLEST_PRELUDE as u64,
                })
            })?;
        let header = Header::decode(fixed);
        let unknown = header.required_flags & !KNOWN_REQUIRED_FLAGS;
        if unknown != 0 {
            return Err(ReadError::UnsupportedFeatures { flags: unknown });
        }
        // The table must be known to fit before any of it is read: its count, then the parts
        // adding up, then the reserved bytes (§11).
        if header.section_count < MIN_SECTIONS {
            return Err(ReadError::violates(
                Location::Prelude,
                Rule::RequiredSection,
            ));
        }
        if header.section_count > MAX_SECTIONS {
            return Err(damaged(DamageKind::OverLimit {
                value: header.section_count.into(),
                limit: MAX_SECTIONS.into(),
            }));
        }
        let over = |value: u64, limit: u64| {
            if value > limit {
                Err(damaged(DamageKind::OverLimit { value, limit }))
            } else {
                Ok(())
            }
        };
        let expect = prelude_len(
            header.section_count.into(),
            header.meta_len as usize,
            header.ctypes_len as usize,
            header.root_len as usize,
        );
        if expect != len || header.root_len == 0 {
            return Err(ReadError::violates(Location::Prelude, Rule::PreludeLength));
        }
        if fixed[RESERVED_A..RESERVED_A + 3] != [0; 3] || fixed[RESERVED_B..] != [0; 4] {
            return Err(ReadError::violates(Location::Prelude, Rule::Reserved));
        }
        over(header.meta_len.into(), MAX_META_LEN.into())?;
        over(header.ctypes_len.into(), MAX_CTYPES_LEN.into())?;
        over(header.index_depth.into(), MAX_INDEX_DEPTH.into())?;
        let mut at = HEADER_LEN as u64;
        let mut sections = Vec::with_capacity(header.section_count.into());
        for _ in 0..header.section_count {
            let r = array_at::<SECTION_RECORD_LEN>(body, at)
                .ok_or_else(|| ReadError::violates(Location::Prelude, Rule::PreludeLength))?;
            if r[4..8] != [0; 4] || r[28..32] != [0; 4] {
                return Err(ReadError::violates(Location::Prelude, Rule::Reserved));
            }
            let record = SectionRecord::decode(r);
            if record.length == 0 && record.crc != 0 {
                // The CRC32 of no bytes is 0 (§2.2).
                return Err(ReadError::violates(Location::Prelude, Rule::Tiling));
            }
            sections.push(record);
            at += SECTION_RECORD_LEN as u64;
        }
        let mut part = |n: u32| {
            let s = slice_at(body, at, n.into());
            at += u64::from(n);
            s.ok_or_else(|| ReadError::violates(Location::Prelude, Rule::PreludeLength))
        };
        let meta = part(header.meta_len)?;
        let ctypes = part(header.ctypes_len)?;
        let root = part(header.root_len)?;
        Ok(Prelude {
            header,
            sections,
            meta,
            ctypes,
            root,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let h = Header {
            major: VERSION_MAJOR,
            minor: VERSION_MINOR,
            file_len: 200,
            ..Header::default()
        };
        let s = [1, 2, 3].map(|id| SectionRecord {
            id,
            offset: 150,
            length: 50,
            crc: 7,
        });
        encode_prelude(&h, &s, b"m", b"c", b"\x00\x00\x00\x00")
    }

    #[test]
    fn round_trip() {
        let b = sample();
        let p = Prelude::decode(&b, 200).unwrap();
        assert_eq!(p.header.prelude_len as usize, b.len());
        assert_eq!(p.sections.len(), 3);
        assert_eq!((p.meta, p.ctypes), (&b"m"[..], &b"c"[..]));
        assert_eq!(p.root, [0, 0, 0, 0]);
    }

    #[test]
    fn checks_in_order_magic_length_crc_version() {
        let b = sample();
        let mut bad = b.clone();
        bad[0] ^= 1;
        assert!(matches!(
            Prelude::decode(&bad, 200),
            Err(ReadError::BadMagic)
        ));
        assert!(matches!(
            Prelude::decode(&b[..b.len() - 1], 200),
            Err(ReadError::TruncatedPrelude { .. })
        ));
        // A future major version with a broken CRC is damage, not a version.
        let mut future = b.clone();
        future[MAJOR] = 9;
        assert!(matches!(
            Prelude::decode(&future, 200),
            Err(ReadError::Damaged {
                at: Location::Prelude,
                kind: DamageKind::ChecksumMismatch
            })
        ));
        assert!(reseal(&mut future));
        assert!(matches!(
            Prelude::decode(&future, 200),
            Err(ReadError::UnsupportedVersion { major: 9, .. })
        ));
        let mut flag = b.clone();
        flag[REQUIRED_FLAGS] = 0x80;
        reseal(&mut flag);
        assert!(matches!(
            Prelude::decode(&flag, 200),
            Err(ReadError::UnsupportedFeatures { flags: 0x80 })
        ));
        // The smallest prelude of major 3 is 197 bytes: a shorter one with a good CRC is
        // damage, reported before any other field is read.
        let mut short = b.clone();
        short[SECTION_COUNT] = 1;
        let keep = b.len() - 64;
        let mut short = short[..keep].to_vec();
        short[PRELUDE_LEN..PRELUDE_LEN + 4].copy_from_slice(&(keep as u32).to_le_bytes());
        reseal(&mut short);
        assert!(matches!(
            Prelude::decode(&short, 200),
            Err(ReadError::Damaged {
                at: Location::Prelude,
                kind: DamageKind::OverLimit { limit: 197, .. }
            })
        ));
    }
}
