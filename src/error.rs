//! Error types: [`ReadError`] for reading archives, [`WriteError`] for writing them.
//!
//! Damage to an archive is a [`ReadError::Damaged`]: a [`Location`] (the header, a section,
//! block *n*, entry *n*, bucket *n*, …) and a [`DamageKind`] (what is wrong there), both plain
//! data that a program can match on; the messages are built from them by `Display`.

use std::fmt;
use std::io;
use std::path::PathBuf;

use crate::format::SectionId;

/// Where in an archive a problem lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Location {
    /// The archive as a whole (its length).
    File,
    /// The fixed header or its checksum (§2).
    Header,
    /// The section table (§2.1).
    SectionTable,
    /// A section known to this reader, as a whole.
    Section(SectionId),
    /// A section with an id this reader does not know (checked by `verify` only).
    UnknownSection(u32),
    /// The dictionary (§5).
    Dictionary,
    /// Block `n`: its record, its stored bytes or its decompressed bytes (§5).
    Block(u32),
    /// Entry `n`: its record, its strings or its lead (§6).
    Entry(u64),
    /// Hash bucket `n` (§7).
    Bucket(u64),
    /// Sorted-index position `n` (§8).
    SortedPosition(u64),
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::File => f.write_str("file"),
            Location::Header => f.write_str("header"),
            Location::SectionTable => f.write_str("section table"),
            Location::Section(id) => write!(f, "section '{}'", id.name()),
            Location::UnknownSection(id) => write!(f, "section #{id}"),
            Location::Dictionary => f.write_str("dictionary"),
            Location::Block(n) => write!(f, "block {n}"),
            Location::Entry(n) => write!(f, "entry {n}"),
            Location::Bucket(n) => write!(f, "hash bucket {n}"),
            Location::SortedPosition(n) => write!(f, "sorted position {n}"),
        }
    }
}

/// A consistency rule of the format that a field breaks (the spec section says more).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Rule {
    /// The DICT flag is set exactly when the DICT section is non-empty (§2.2).
    DictFlag,
    /// RAW_DICT only with a dictionary, and the dictionary's first bytes agree with it (§5).
    DictKind,
    /// `bucket_count` is 0 exactly when `entry_count` is 0 (§2).
    BucketCount,
    /// `max_probe` < `bucket_count` (§2).
    MaxProbe,
    /// `block_count ≤ stream_len ≤ block_count · max_block_len` (§2).
    StreamLength,
    /// Sections tile the file from the end of the header to `file_len` (§2.1).
    Tiling,
    /// Each known section appears once (§2.1).
    UniqueSection,
    /// Every section of this version is present (§2.1).
    RequiredSection,
    /// A section's length is its record count times the record size (§5.1–§8).
    SectionLength,
    /// A block's stored bytes lie inside DATA (§5.1).
    BlockInData,
    /// A block's `raw_len` is in `1..=max_block_len` (§5.1).
    BlockLength,
    /// A raw (stored) block's stored and raw lengths are equal (§5.1).
    RawBlockLength,
    /// Each block's `stream_offset` is where the block before it ends (§5.1).
    StreamOffset,
    /// A key is 1..=4096 bytes and lies in its strings (§6).
    KeyLength,
    /// A lead stands just before a non-empty body, inside the body's first block (§6.2).
    Lead,
    /// A body lies inside its blocks and inside the body stream (§6).
    BodyRange,
    /// An entry has at most one title (§6.1).
    OneTitle,
    /// A field's record does not run past the end of its area (§3, §4, §6.1).
    RecordBounds,
    /// Keys in the sorted index are in byte order and each entry appears once (§8).
    SortedOrder,
    /// Every entry is reachable through the hash index at its home bucket's probe (§7).
    HashReachable,
    /// A bucket's slots fill in order, each with its key's tag, within `max_probe` of the
    /// key's home, and the table holds each entry once (§7).
    BucketSlots,
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Rule::DictFlag => "the DICT flag does not agree with the dictionary section",
            Rule::DictKind => "the dictionary's kind does not agree with the RAW_DICT flag",
            Rule::BucketCount => "the bucket count does not agree with the entry count",
            Rule::MaxProbe => "max_probe is not below the bucket count",
            Rule::StreamLength => "the stream length does not fit the blocks",
            Rule::Tiling => "the sections overlap, leave a gap or run past the end",
            Rule::UniqueSection => "a section appears twice",
            Rule::RequiredSection => "a required section is missing",
            Rule::SectionLength => "the section's length does not match its record count",
            Rule::BlockInData => "the stored bytes lie outside the data section",
            Rule::BlockLength => "the raw length is not in 1..=max_block_len",
            Rule::RawBlockLength => "a stored (raw) block's lengths differ",
            Rule::StreamOffset => "the stream offset is not where the block before it ends",
            Rule::KeyLength => "the key length is not in 1..=4096 or runs past the strings",
            Rule::Lead => "the lead does not stand just before the body in its block",
            Rule::BodyRange => "the body runs past its blocks or the end of the data",
            Rule::OneTitle => "more than one title",
            Rule::RecordBounds => "a record runs past the end of its area",
            Rule::SortedOrder => "the sorted index is out of order or repeats an entry",
            Rule::HashReachable => "the entry is not found through the hash index",
            Rule::BucketSlots => "the hash slots break the table's rules",
        })
    }
}

/// What is wrong at a [`Location`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DamageKind {
    /// A CRC32 does not match.
    ChecksumMismatch,
    /// The file ends at `file_len` before this part, which ends at `end`.
    Truncated {
        /// Where the part ends.
        end: u64,
        /// How long the file is.
        file_len: u64,
    },
    /// The file is longer than the header says.
    TrailingBytes {
        /// The length the header gives.
        expected: u64,
        /// How long the file is.
        file_len: u64,
    },
    /// A count or length is over the format's limit.
    OverLimit {
        /// The value found.
        value: u64,
        /// The largest value allowed.
        limit: u64,
    },
    /// A consistency rule of the format is broken.
    Violates(Rule),
    /// A string is not valid UTF-8.
    NotUtf8,
    /// An entry names a content type past the end of the table.
    UnknownContentType(u16),
    /// An entry's date is not a valid `YYYYMMDD` (§6).
    ImpossibleDate(u32),
    /// A block record has a codec this reader does not know.
    UnknownCodec(u8),
    /// A record names a block that does not exist.
    NoSuchBlock(u64),
    /// A record names an entry that does not exist.
    NoSuchEntry(u64),
    /// zstd could not decompress the bytes.
    Undecodable,
    /// The bytes decompressed to another length than the one recorded.
    WrongLength {
        /// The length recorded.
        expected: u64,
        /// The length they decompressed to.
        actual: u64,
    },
    /// The dictionary is not one zstd frame that declares a non-empty size.
    NotAFrame,
}

impl fmt::Display for DamageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DamageKind::ChecksumMismatch => f.write_str("checksum mismatch"),
            DamageKind::Truncated { end, file_len } => {
                write!(f, "truncated: ends at {end}, file is {file_len} bytes")
            }
            DamageKind::TrailingBytes { expected, file_len } => write!(
                f,
                "file is {file_len} bytes but the header says {expected} (extra bytes at the end)"
            ),
            DamageKind::OverLimit { value, limit } => {
                write!(f, "{value} is over the limit of {limit}")
            }
            DamageKind::Violates(rule) => rule.fmt(f),
            DamageKind::NotUtf8 => f.write_str("a string is not UTF-8"),
            DamageKind::UnknownContentType(n) => {
                write!(f, "content type {n} is not in the table")
            }
            DamageKind::ImpossibleDate(d) => write!(f, "impossible date {d}"),
            DamageKind::UnknownCodec(c) => write!(f, "unknown codec {c}"),
            DamageKind::NoSuchBlock(n) => write!(f, "names block {n}, which does not exist"),
            DamageKind::NoSuchEntry(n) => write!(f, "names entry {n}, which does not exist"),
            DamageKind::Undecodable => f.write_str("does not decompress"),
            DamageKind::WrongLength { expected, actual } => {
                write!(f, "decompresses to {actual} bytes instead of {expected}")
            }
            DamageKind::NotAFrame => f.write_str("not a zstd frame that declares a non-empty size"),
        }
    }
}

/// Everything that can go wrong reading an archive.
#[derive(Debug)]
#[non_exhaustive]
pub enum ReadError {
    /// An I/O error opening, mapping or reading the file.
    Io {
        /// The file, when known.
        path: Option<PathBuf>,
        /// What the operating system said.
        source: io::Error,
    },
    /// The file does not start with the quire magic number.
    BadMagic,
    /// The major version is not one this reader knows.
    UnsupportedVersion {
        /// Major version found.
        major: u16,
        /// Minor version found.
        minor: u16,
    },
    /// A required feature flag this reader does not know.
    UnsupportedFeatures {
        /// The unknown bits.
        flags: u64,
    },
    /// The archive is damaged (or was made to lie): what, and where.
    Damaged {
        /// Where.
        at: Location,
        /// What.
        kind: DamageKind,
    },
    /// An entry number past the end.
    EntryOutOfRange {
        /// The entry asked for.
        index: u64,
        /// How many entries there are.
        len: u64,
    },
}

impl ReadError {
    /// `kind` at `at`.
    pub(crate) fn damaged(at: Location, kind: DamageKind) -> ReadError {
        ReadError::Damaged { at, kind }
    }

    /// A broken rule at `at`.
    pub(crate) fn violates(at: Location, rule: Rule) -> ReadError {
        ReadError::Damaged {
            at,
            kind: DamageKind::Violates(rule),
        }
    }

    /// A checksum mismatch at `at`.
    pub(crate) fn checksum(at: Location) -> ReadError {
        ReadError::Damaged {
            at,
            kind: DamageKind::ChecksumMismatch,
        }
    }

    /// Where the damage is, for [`ReadError::Damaged`].
    pub fn location(&self) -> Option<Location> {
        match self {
            ReadError::Damaged { at, .. } => Some(*at),
            _ => None,
        }
    }

    /// What the damage is, for [`ReadError::Damaged`].
    pub fn damage(&self) -> Option<DamageKind> {
        match self {
            ReadError::Damaged { kind, .. } => Some(*kind),
            _ => None,
        }
    }
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // The source is returned by `source()`, not repeated here.
            ReadError::Io { path: Some(p), .. } => write!(f, "cannot read {}", p.display()),
            ReadError::Io { path: None, .. } => f.write_str("cannot read the archive"),
            ReadError::BadMagic => f.write_str(
                "not a quire archive (bad magic number; was it transferred in text mode?)",
            ),
            ReadError::UnsupportedVersion { major, minor } => write!(
                f,
                "unsupported format version {major}.{minor} (this reader knows {}.x)",
                crate::format::VERSION_MAJOR
            ),
            ReadError::UnsupportedFeatures { flags } => write!(
                f,
                "archive needs features this reader does not know (required flags {flags:#x})"
            ),
            ReadError::Damaged { at, kind } => write!(f, "damaged archive: {at}: {kind}"),
            ReadError::EntryOutOfRange { index, len } => {
                write!(f, "entry {index} out of range (archive has {len} entries)")
            }
        }
    }
}

impl std::error::Error for ReadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ReadError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl From<io::Error> for ReadError {
    fn from(source: io::Error) -> Self {
        ReadError::Io { path: None, source }
    }
}

/// Everything that can go wrong writing an archive.
#[derive(Debug)]
#[non_exhaustive]
pub enum WriteError {
    /// An I/O error.
    Io(io::Error),
    /// The same key was added twice (and the policy is to refuse).
    DuplicateKey {
        /// The key.
        key: String,
        /// Entry number of the first occurrence.
        first: u64,
    },
    /// The key is empty or longer than 4096 bytes.
    InvalidKey {
        /// The key (possibly shortened).
        key: String,
        /// Why.
        reason: &'static str,
    },
    /// An entry's field is outside what the format allows.
    InvalidEntry {
        /// The key of the entry.
        key: String,
        /// Why.
        reason: String,
    },
    /// Options out of range.
    InvalidOptions(String),
    /// The target exists and overwriting was not allowed.
    TargetExists(std::path::PathBuf),
    /// Reading a body given to [`ArchiveWriter::add_reader`](crate::ArchiveWriter::add_reader)
    /// failed (the I/O error is the [`source`](std::error::Error::source)).
    BodyRead {
        /// The key of the entry.
        key: String,
        /// What the reader returned.
        source: io::Error,
    },
    /// An earlier error left an entry half written; the writer refuses to go on, so that no
    /// archive with a partial entry is finished.
    Poisoned,
    /// The archive would exceed a format limit (entries, blocks, ...).
    TooLarge(String),
    /// zstd failed.
    Compression(String),
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WriteError::Io(_) => f.write_str("cannot write the archive"),
            WriteError::DuplicateKey { key, first } => {
                write!(f, "duplicate key {key:?} (first added as entry {first})")
            }
            WriteError::InvalidKey { key, reason } => write!(f, "invalid key {key:?}: {reason}"),
            WriteError::InvalidEntry { key, reason } => write!(f, "entry {key:?}: {reason}"),
            WriteError::InvalidOptions(s) => write!(f, "invalid options: {s}"),
            WriteError::TargetExists(p) => write!(f, "{} already exists", p.display()),
            WriteError::BodyRead { key, .. } => write!(f, "reading the body of {key:?} failed"),
            WriteError::Poisoned => write!(
                f,
                "the writer cannot go on: an earlier error left an entry half written"
            ),
            WriteError::TooLarge(s) => write!(f, "archive too large: {s}"),
            WriteError::Compression(s) => write!(f, "compression failed: {s}"),
        }
    }
}

impl std::error::Error for WriteError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            WriteError::Io(e) | WriteError::BodyRead { source: e, .. } => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for WriteError {
    fn from(e: io::Error) -> Self {
        WriteError::Io(e)
    }
}

/// Result of reading an archive.
pub type ReadResult<T> = Result<T, ReadError>;
