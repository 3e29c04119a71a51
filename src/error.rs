//! Error types: one for reading archives, one for writing them, and an umbrella [`Error`].

use std::fmt;
use std::io;
use std::ops::Range;

/// Everything that can go wrong reading an archive. Messages say what and where.
#[derive(Debug)]
#[non_exhaustive]
pub enum ReadError {
    /// An I/O error opening or mapping the file.
    Io(io::Error),
    /// The file does not start with the quire magic number.
    BadMagic,
    /// The file is shorter than something it must contain.
    Truncated {
        /// What was being read.
        what: String,
        /// Where it ends.
        end: u64,
        /// How long the file is.
        file_len: u64,
    },
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
    /// A CRC32 did not match.
    ChecksumMismatch {
        /// What was checked, e.g. `block 17 (entries 4096..4351)`.
        what: String,
    },
    /// A checksum mismatch in a block's data, with the entries the block holds.
    BlockDamaged {
        /// Block number.
        block: u32,
        /// Entries whose bodies start in the block.
        entries: Range<u32>,
    },
    /// A field holds a value the format does not allow.
    Corrupt {
        /// What is wrong, and where.
        what: String,
    },
    /// A block failed to decompress.
    Decompress {
        /// Block number.
        block: u32,
        /// What zstd said.
        reason: String,
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
    pub(crate) fn corrupt(what: impl Into<String>) -> ReadError {
        ReadError::Corrupt { what: what.into() }
    }

    pub(crate) fn checksum(what: impl Into<String>) -> ReadError {
        ReadError::ChecksumMismatch { what: what.into() }
    }
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Io(e) => write!(f, "I/O error: {e}"),
            ReadError::BadMagic => write!(
                f,
                "not a quire archive (bad magic number; was it transferred in text mode?)"
            ),
            ReadError::Truncated {
                what,
                end,
                file_len,
            } => write!(
                f,
                "truncated: {what} ends at {end}, file is {file_len} bytes"
            ),
            ReadError::UnsupportedVersion { major, minor } => write!(
                f,
                "unsupported format version {major}.{minor} (this reader knows {}.x); \
                 upgrade quire to read it",
                crate::format::VERSION_MAJOR
            ),
            ReadError::UnsupportedFeatures { flags } => write!(
                f,
                "archive needs features this reader does not know (required flags {flags:#x}); \
                 upgrade quire to read it"
            ),
            ReadError::ChecksumMismatch { what } => write!(f, "checksum mismatch in {what}"),
            ReadError::BlockDamaged { block, entries } => write!(
                f,
                "checksum mismatch in block {block} (entries {}..{})",
                entries.start, entries.end
            ),
            ReadError::Corrupt { what } => write!(f, "corrupt archive: {what}"),
            ReadError::Decompress { block, reason } => {
                write!(f, "block {block} does not decompress: {reason}")
            }
            ReadError::EntryOutOfRange { index, len } => {
                write!(f, "entry {index} out of range (archive has {len} entries)")
            }
        }
    }
}

impl std::error::Error for ReadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ReadError::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for ReadError {
    fn from(e: io::Error) -> Self {
        ReadError::Io(e)
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
    /// The archive would exceed a format limit (entries, blocks, ...).
    TooLarge(String),
    /// zstd failed.
    Compression(String),
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WriteError::Io(e) => write!(f, "I/O error: {e}"),
            WriteError::DuplicateKey { key, first } => {
                write!(f, "duplicate key {key:?} (first added as entry {first})")
            }
            WriteError::InvalidKey { key, reason } => write!(f, "invalid key {key:?}: {reason}"),
            WriteError::InvalidEntry { key, reason } => write!(f, "entry {key:?}: {reason}"),
            WriteError::InvalidOptions(s) => write!(f, "invalid options: {s}"),
            WriteError::TargetExists(p) => write!(
                f,
                "{} already exists (use --force to replace it)",
                p.display()
            ),
            WriteError::TooLarge(s) => write!(f, "archive too large: {s}"),
            WriteError::Compression(s) => write!(f, "compression failed: {s}"),
        }
    }
}

impl std::error::Error for WriteError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            WriteError::Io(e) => Some(e),
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
